"""The kinds of feature that :func:`mne_xai.simulation.simulate_epochs` simulates.

A kind is one entry of ``_KINDS``: how it lays out the default windows, which
source and event name each class gets, and the waveform under the window.
Everything else (head model, background, jitter, scaling, ground truth) is
shared by the kinds.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from mne.utils import _check_option, _validate_type

FREQUENCY_BANDS = {
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}
"""Named frequency bands (Hz) for :func:`~mne_xai.simulation.simulate_epochs`."""

_DEFAULT_BAND_ORDER = ("alpha", "beta", "theta", "gamma")
_FEATURE_RADIUS = 0.065  # m from the sphere centre to a feature dipole
_FEATURE_WIDTH = 0.2  # s, width of an ERP window


def _feature_pattern(head, azimuth, elevation):
    """Scalp pattern of a radial dipole in the direction (azimuth, elevation).

    Angles are in radians in head coordinates: azimuth 0 points right (+x),
    pi / 2 to the nose (+y); elevation pi / 2 points up (+z).
    """
    direction = np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )
    target = head["centre"] + _FEATURE_RADIUS * direction
    index = np.argmin(np.linalg.norm(head["source_pos"] - target, axis=1))
    position = head["source_pos"][index]
    radial = position - head["centre"]
    orientation = radial / np.linalg.norm(radial)
    pattern = head["gain"][:, index] @ orientation
    # Unit peak, positive where the projection is strongest.
    pattern = pattern / pattern[np.argmax(np.abs(pattern))]
    return pattern, position


def _post_stimulus(tmin, tmax):
    """Return the start and length of the post-stimulus interval, or of the epoch."""
    start = max(tmin, 0.0) if tmax > 0 else tmin
    return start, tmax - start


def _erp_windows(n_classes, start, length, n_slots):
    """ERP windows centred in ``n_slots`` equal parts, repeated over the classes."""
    slot = length / n_slots
    # At most half a part: windows of two classes stay apart by half a part
    # (simulate_epochs warns when the jitter can close that gap).
    width = min(_FEATURE_WIDTH, slot / 2)
    centres = start + slot * (np.arange(n_slots) + 0.5)
    windows = np.column_stack([centres - width / 2, centres + width / 2])
    return np.tile(windows, (n_classes // n_slots, 1))


def _window_per_class(n_classes, start, length):
    """One ERP window per class, each in its own part of the interval."""
    return _erp_windows(n_classes, start, length, n_slots=n_classes)


def _shared_erp_window(n_classes, start, length):
    """One ERP window in the middle of the interval, shared by the classes."""
    return _erp_windows(n_classes, start, length, n_slots=1)


def _shared_long_window(n_classes, start, length):
    """One window over the central 80 % of the interval, long enough for bursts."""
    return np.tile([start + 0.1 * length, start + 0.9 * length], (n_classes, 1))


def _check_bands(bands, n_classes, sfreq):
    if bands is None:
        if n_classes > len(_DEFAULT_BAND_ORDER):
            raise ValueError(
                f"Only {len(_DEFAULT_BAND_ORDER)} named bands exist; give bands= "
                f"with one (fmin, fmax) per class for {n_classes} classes."
            )
        bands = list(_DEFAULT_BAND_ORDER[:n_classes])
    _validate_type(bands, (list, tuple), "bands")
    if len(bands) != n_classes:
        raise ValueError(
            f"bands must hold one band per class ({n_classes}), got {len(bands)}."
        )
    names, edges = [], []
    for band in bands:
        _validate_type(band, (str, list, tuple), "each band")
        if isinstance(band, str):
            _check_option("band", band, tuple(FREQUENCY_BANDS))
            names.append(band)
            edges.append(FREQUENCY_BANDS[band])
        else:
            fmin, fmax = (float(edge) for edge in band)
            names.append(f"{fmin:g}-{fmax:g}Hz")
            edges.append((fmin, fmax))
    edges = np.array(edges)
    if (
        (edges[:, 0] <= 0) | (edges[:, 0] >= edges[:, 1]) | (edges[:, 1] >= sfreq / 2)
    ).any():
        raise ValueError(
            f"Each band needs 0 < fmin < fmax < sfreq / 2 = {sfreq / 2:g} Hz, got "
            f"{edges.tolist()} Hz."
        )
    if len(set(names)) != n_classes:
        raise ValueError(f"Each class needs its own band, got {names}.")
    return names, edges


def _band_limited_noise(n_epochs, n_times, sfreq, fmins, fmaxs, rng):
    """Gaussian noise restricted to [fmin, fmax] per epoch, unit variance."""
    n_fft = 2 * n_times
    spectrum = np.fft.rfft(rng.standard_normal((n_epochs, n_fft)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sfreq)
    in_band = (freqs >= fmins[:, np.newaxis]) & (freqs <= fmaxs[:, np.newaxis])
    if not in_band.any(axis=1).all():
        raise ValueError(
            f"A band holds no frequency of {n_times} samples at {sfreq:g} Hz (bins "
            f"{freqs[1]:g} Hz apart); widen it, or lengthen the epochs."
        )
    noise = np.fft.irfft(spectrum * in_band, n=n_fft)[:, :n_times]
    return noise / noise.std(axis=1, keepdims=True)


class _Classes(NamedTuple):
    """The feature of each class: its event name, source and band."""

    names: list  # event names, one per class
    patterns: np.ndarray  # (n_classes, n_channels) scalp patterns, unit peak
    positions: np.ndarray  # (n_classes, 3) dipole positions, head coordinates (m)
    band_names: list  # name of each class's band, None without one
    band_edges: np.ndarray  # (n_classes, 2) band edges in Hz, NaN without a band


def _midline_source(head, n_classes):
    """Return the pattern and position of one parietal midline source, per class."""
    pattern, position = _feature_pattern(head, -np.pi / 2, np.deg2rad(55))
    return np.tile(pattern, (n_classes, 1)), np.tile(position, (n_classes, 1))


def _no_bands(n_classes):
    """Return the band names and edges of classes that have no band."""
    return [None] * n_classes, np.full((n_classes, 2), np.nan)


def _classes_by_window(head, n_classes, *, windows, bands, sfreq):
    """Temporal: one source; each class is named after its own ERP window."""
    milliseconds = np.round(windows * 1e3).astype(int)
    names = [f"erp_{start}-{stop}ms" for start, stop in milliseconds]
    if len(set(names)) != n_classes:
        raise ValueError(f"Each class needs its own window, got {windows.tolist()}.")
    return _Classes(names, *_midline_source(head, n_classes), *_no_bands(n_classes))


def _classes_by_band(head, n_classes, *, windows, bands, sfreq):
    """Spectral: one source; each class is named after its own band."""
    band_names, band_edges = _check_bands(bands, n_classes, sfreq)
    return _Classes(
        list(band_names), *_midline_source(head, n_classes), band_names, band_edges
    )


def _classes_by_source(head, n_classes, *, windows, bands, sfreq):
    """Spatial: sources spread evenly in azimuth, from the left (pi) round."""
    azimuths = np.pi - 2 * np.pi * np.arange(n_classes) / n_classes
    features = [_feature_pattern(head, azimuth, np.deg2rad(40)) for azimuth in azimuths]
    if n_classes == 2:
        names = ["left", "right"]
    else:
        degrees = np.rad2deg(np.angle(np.exp(1j * azimuths))).round().astype(int)
        names = [f"azimuth_{degree}" for degree in degrees]
    patterns = np.array([pattern for pattern, _ in features])
    positions = np.array([position for _, position in features])
    return _Classes(names, patterns, positions, *_no_bands(n_classes))


def _erp(envelopes, band_edges, sfreq, rng):
    """Return the envelopes: an ERP is a positive Hann-shaped deflection."""
    return envelopes


def _burst(envelopes, band_edges, sfreq, rng):
    """Band-limited noise in each epoch's band, under its envelope."""
    n_epochs, n_times = envelopes.shape
    return envelopes * _band_limited_noise(
        n_epochs, n_times, sfreq, band_edges[:, 0], band_edges[:, 1], rng
    )


@dataclass(frozen=True)
class _Kind:
    """What one kind of simulation does its own way; the rest is shared.

    Attributes
    ----------
    default_windows : callable
        ``(n_classes, start, length) -> array, shape (n_classes, 2)``: the
        class windows when ``windows`` is None, given the post-stimulus
        interval.
    classes : callable
        ``(head, n_classes, *, windows, bands, sfreq) -> _Classes``: each
        class's feature, checking the parameters it depends on.
    waveforms : callable
        ``(envelopes, band_edges, sfreq, rng) -> array``: the feature's time
        course in each epoch, given its Hann envelope and its band (NaN
        without one). It draws from ``rng`` after the background and jitter.
    """

    default_windows: Callable
    classes: Callable
    waveforms: Callable


# The ground truth is the same for every kind: each epoch's feature magnitude.
_KINDS = {
    "temporal": _Kind(_window_per_class, _classes_by_window, _erp),
    "spectral": _Kind(_shared_long_window, _classes_by_band, _burst),
    "spatial": _Kind(_shared_erp_window, _classes_by_source, _erp),
}
