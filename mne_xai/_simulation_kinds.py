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


def _feature_patterns(head, azimuths, elevation):
    """Scalp patterns of radial dipoles in the directions (azimuth, elevation).

    Angles are in radians in head coordinates: azimuth 0 points right (+x),
    pi / 2 to the nose (+y); elevation pi / 2 points up (+z). Each direction
    gets the source nearest its point ``_FEATURE_RADIUS`` from the centre that
    no earlier direction took: sources are 10 mm apart, so directions closer
    than that would otherwise share a dipole, and their classes be the same.
    """
    azimuths = np.atleast_1d(azimuths)
    directions = np.column_stack(
        [
            np.cos(elevation) * np.cos(azimuths),
            np.cos(elevation) * np.sin(azimuths),
            np.full(len(azimuths), np.sin(elevation)),
        ]
    )
    targets = head["centre"] + _FEATURE_RADIUS * directions
    distances = np.linalg.norm(head["source_pos"] - targets[:, np.newaxis], axis=2)
    indices = []
    for distance in distances:
        distance[indices] = np.inf
        indices.append(np.argmin(distance))
    positions = head["source_pos"][indices]
    radial = positions - head["centre"]
    orientations = radial / np.linalg.norm(radial, axis=1, keepdims=True)
    patterns = np.einsum("cdo,do->dc", head["gain"][:, indices], orientations)
    # Unit peak, positive where the projection is strongest.
    peaks = np.abs(patterns).argmax(axis=1)
    patterns /= patterns[np.arange(len(patterns)), peaks, np.newaxis]
    return patterns, positions


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
    _validate_type(bands, (list, tuple, np.ndarray), "bands")
    if len(bands) != n_classes:
        raise ValueError(
            f"bands must hold one band per class ({n_classes}), got {len(bands)}."
        )
    names, edges = [], []
    for band in bands:
        _validate_type(band, (str, list, tuple, np.ndarray), "each band")
        if isinstance(band, str):
            _check_option("band", band, tuple(FREQUENCY_BANDS))
            names.append(str(band))  # not numpy.str_
            edges.append(FREQUENCY_BANDS[band])
        else:
            fmin, fmax = (float(edge) for edge in band)
            names.append(f"{fmin:g}-{fmax:g}Hz")
            edges.append((fmin, fmax))
    edges = np.array(edges)
    # What a band must satisfy, negated: NaN fails every comparison.
    if not (
        (edges[:, 0] > 0) & (edges[:, 0] < edges[:, 1]) & (edges[:, 1] < sfreq / 2)
    ).all():
        raise ValueError(
            f"Each band needs 0 < fmin < fmax < sfreq / 2 = {sfreq / 2:g} Hz, got "
            f"{edges.tolist()} Hz."
        )
    # Compare edges, not names: "alpha" and (8, 13) are one band.
    if len(np.unique(edges, axis=0)) != n_classes:
        raise ValueError(
            f"Each class needs its own band, got {names}, i.e. {edges.tolist()} Hz; "
            "give the classes bands with different edges."
        )
    if len(set(names)) != n_classes:  # events named alike: MNE kept one of them
        raise ValueError(
            f"The classes are named after their bands, and {names} name "
            f"{edges.tolist()} Hz alike (6 significant digits); give edges that "
            "differ in those digits."
        )
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
    patterns, positions = _feature_patterns(head, -np.pi / 2, np.deg2rad(55))
    return np.tile(patterns, (n_classes, 1)), np.tile(positions, (n_classes, 1))


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
    if n_classes == 2:
        names = ["left", "right"]
    else:
        degrees = np.rad2deg(np.angle(np.exp(1j * azimuths))).round().astype(int)
        names = [f"azimuth_{degree}" for degree in degrees]
    if len(set(names)) != n_classes:
        raise ValueError(
            f"Spatial classes are named after their azimuth in whole degrees, so "
            f"{n_classes} classes would share names; simulate at most 360."
        )
    patterns, positions = _feature_patterns(head, azimuths, np.deg2rad(40))
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
