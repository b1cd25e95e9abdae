"""Precision in time, space and frequency: the share of relevance where the feature is."""

import mne
import numpy as np
from mne.utils import _check_option, _validate_type
from scipy.signal import periodogram

from ..._docs import fill_doc
from ..._matching import check_same_epochs
from ...attribution.postprocess import _warn_if_units_differ
from ...simulation import FREQUENCY_BANDS
from ._maps import (
    _binary_mask,
    _check_same_grid,
    _check_same_shape,
    _check_time_courses,
    _fraction_inside,
    _map_data,
    _pair,
)

#: Spectral relevance (explain_spectrum's), of epochs or averaged.
_SPECTRA = mne.time_frequency.EpochsSpectrum | mne.time_frequency.Spectrum


def _precision_along(attribution, ground_truth, threshold, sign, axis):
    """Share of the relevance, summed over ``axis``, inside the mask along the other.

    The mask is where the ground truth, at its maximum over ``axis``, reaches
    ``threshold`` times its peak.
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign, time_courses=True)
    feature = {1: "sample", 2: "channel"}[axis]
    mask = _binary_mask(truth.max(axis=axis), threshold, feature)
    return _fraction_inside(relevance.sum(axis=axis), mask)


@fill_doc
def temporal_precision(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the relevance that falls in the true time window.

    Temporal precision of Sujatha Ravindran & Contreras-Vidal [1]_: relevance
    summed over channels gives a time course; the measure is its share inside
    the samples where the ground truth (its maximum over channels) reaches
    ``threshold`` times its peak.

    Parameters
    ----------
    %(attribution_time_courses)s
    %(ground_truth_time_courses)s
    threshold : float
        In (0, 1]. For the simulated data 0.5 keeps the central half of the
        feature's Hann window (its full width at half maximum). A window
        covering every sample of an epoch is refused.
    %(relevance_sign)s

    Returns
    -------
    precision : ndarray, shape (n_epochs,)
        In [0, 1]; a map spreading relevance evenly over time scores the
        fraction of samples in the window. NaN (with a warning) for maps
        without relevance.

    See Also
    --------
    spatial_precision, spectral_precision

    References
    ----------
    %(ref_sujatha_ravindran2023)s
    """
    return _precision_along(attribution, ground_truth, threshold, sign, axis=1)


@fill_doc
def spatial_precision(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the relevance that falls on the true channels.

    Spatial precision of Sujatha Ravindran & Contreras-Vidal [1]_: relevance
    summed over time gives a topography; the measure is its share on the
    channels where the ground truth (its maximum over time) reaches
    ``threshold`` times its peak.

    Parameters
    ----------
    %(attribution_time_courses)s
    %(ground_truth_time_courses)s
    threshold : float
        In (0, 1]. For the simulated data 0.5 keeps the channels that receive
        at least half the peak projection of the feature's dipole. A mask
        covering every channel of an epoch is refused.
    %(relevance_sign)s

    Returns
    -------
    precision : ndarray, shape (n_epochs,)
        In [0, 1]; a map spreading relevance evenly over channels scores the
        fraction of true channels. NaN (with a warning) for maps without
        relevance.

    See Also
    --------
    temporal_precision, spectral_precision

    References
    ----------
    %(ref_sujatha_ravindran2023)s
    """
    return _precision_along(attribution, ground_truth, threshold, sign, axis=2)


def _has_band(epochs):
    """Whether ``epochs`` has metadata giving every epoch a band."""
    metadata = getattr(epochs, "metadata", None)
    return (
        metadata is not None
        and {"fmin", "fmax"} <= set(metadata.columns)
        and bool(metadata[["fmin", "fmax"]].notna().all(axis=None))
    )


def _band_edges(band, ground_truth, attribution, n_epochs, sfreq):
    """(n_epochs, 2) band edges from ``band``, else from the objects' metadata."""
    if band is None:
        for source in (ground_truth, attribution):
            if _has_band(source):
                return source.metadata[["fmin", "fmax"]].to_numpy(dtype=float)
        raise ValueError(
            "No band to score: pass band= (a name or (fmin, fmax)), or Epochs whose "
            "metadata gives every epoch fmin and fmax (as simulate_epochs does for "
            "kind='spectral')."
        )
    names = [band] if isinstance(band, str) else band
    if all(isinstance(name, str) for name in names):  # a name, or one per epoch
        for name in names:
            _check_option("band", name, tuple(FREQUENCY_BANDS))
        band = [FREQUENCY_BANDS[name] for name in names]
    edges = np.asarray(band, dtype=float)
    if edges.shape in ((2,), (1, 2)):
        edges = np.tile(edges.reshape(2), (n_epochs, 1))
    if edges.shape != (n_epochs, 2):
        raise ValueError(
            "band must be a name, (fmin, fmax), a name per epoch or an array of "
            f"shape ({n_epochs}, 2), got shape {edges.shape}."
        )
    # A band outside (0, Nyquist] or reversed scores 0 or 1 whatever the map.
    nyquist = sfreq / 2
    valid = (edges[:, 0] >= 0) & (edges[:, 0] < edges[:, 1]) & (edges[:, 1] <= nyquist)
    if not valid.all():
        fmin, fmax = edges[np.flatnonzero(~valid)[0]]
        raise ValueError(
            f"band ({fmin:g}, {fmax:g}) Hz is not a band of these maps: bands need "
            f"0 <= fmin < fmax <= {nyquist:g} Hz (the Nyquist frequency at "
            f"{sfreq:g} Hz)."
        )
    return edges


def _sampling_rate(sfreq, attribution, ground_truth):
    """``sfreq``, else the rate of the first of the maps that is an MNE object."""
    rates = {
        obj.info["sfreq"]
        for obj in (attribution, ground_truth)
        if isinstance(obj, mne.BaseEpochs | mne.Evoked | _SPECTRA)
    }
    if sfreq is None:
        if not rates:
            raise ValueError("Pass sfreq= (Hz) when attribution is an array.")
        if len(rates) > 1:
            raise ValueError(
                f"attribution and ground_truth have different sampling rates "
                f"({sorted(rates)} Hz); resample them alike."
            )
        return rates.pop()
    _validate_type(sfreq, "numeric", "sfreq")
    # Else refused by the band check, as bands up to a negative Nyquist frequency.
    if not 0 < sfreq < np.inf:
        raise ValueError(f"sfreq must be a positive number of Hz, got {sfreq}.")
    if rates and rates != {sfreq}:
        raise ValueError(
            f"sfreq={sfreq:g} contradicts the maps' own rate ({rates.pop():g} Hz), "
            "which is used when sfreq is None; leave it out."
        )
    return sfreq


@fill_doc
def spectral_precision(attribution, ground_truth=None, *, band=None, sfreq=None):
    """Fraction of the relevance's power that lies in the true frequency band.

    Spectral precision of Sujatha Ravindran & Contreras-Vidal [1]_: the power
    spectrum of each channel's relevance time course (signed, as rectifying
    would move power to other frequencies), summed over channels; the measure
    is its share between ``fmin`` and ``fmax``. Given the spectral relevance
    of :func:`~mne_xai.attribution.explain_spectrum` (relevance of each
    frequency bin), the share of its magnitude in the band.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_channels, n_times) | mne.time_frequency.EpochsSpectrum
        Attribution maps in time, or the spectral relevance of
        :func:`~mne_xai.attribution.explain_spectrum` (``average=False``),
        which the Notes say when to prefer.
    ground_truth : mne.Epochs | array | None
        Only used for its metadata columns ``fmin`` and ``fmax`` (per epoch, as
        :func:`mne_xai.simulation.simulate_epochs` gives) when ``band`` is None;
        the attribution's metadata is tried next.
    band : str | (float, float) | list of str | array, shape (n_epochs, 2) | None
        The true band: a name in :data:`mne_xai.simulation.FREQUENCY_BANDS`,
        edges in Hz, or a name or edges per epoch; within
        ``0 <= fmin < fmax <= sfreq / 2``.
    sfreq : float | None
        Sampling rate in Hz; None takes it from ``attribution`` or
        ``ground_truth`` when either is an MNE object (given, it must agree).

    Returns
    -------
    precision : ndarray, shape (n_epochs,)
        In [0, 1]; relevance that is white noise scores about the share of
        the frequency bins from 0 Hz to the Nyquist frequency that lie in the
        band (edges included), with the Nyquist bin at half weight and none at
        0 Hz (the periodogram is one-sided and detrended): 6 of 63.5 for 8-13
        Hz in 1 s at 128 Hz, 0.0945 measured. NaN (with a warning) for maps
        without power.

    See Also
    --------
    temporal_precision, spatial_precision

    Notes
    -----
    Spectra are Hann-windowed periodograms of each whole epoch with its mean
    removed, so their resolution is one over the epoch length: bands narrower
    than a few frequency bins are measured coarsely.

    The spectrum of a map in time is that of the map, not of the evidence:
    maps that multiply a gradient by the input (gradient x input, integrated
    gradients, DeepLIFT, and LRP on piecewise-linear networks) multiply two
    signals that oscillate at the band's frequency ``f``, and so hold their
    power at 0 Hz and ``2 f``;
    rectified maps (``|gradient|``) do too. On a network whose logit is the 10 Hz
    power of its input, gradient x input scored 0.05 for 8-13 Hz, below a map
    of white noise (0.10), where all its relevance was at 10 Hz. In time,
    compare only signed gradient maps (saliency with ``absolute=False``,
    guided backprop); to ask which frequencies a method's relevance is on,
    score :func:`~mne_xai.attribution.explain_spectrum`'s output, where
    gradient x input scored 1.0 (LRP's rules have no spectral form there:
    its time maps have no frequency score).

    References
    ----------
    %(ref_sujatha_ravindran2023)s
    """
    if isinstance(attribution, _SPECTRA):
        return _spectral_relevance_precision(attribution, ground_truth, band, sfreq)
    relevance = _map_data(attribution, "attribution")
    _check_time_courses(relevance, "attribution")
    if isinstance(attribution, mne.BaseEpochs | mne.Evoked):
        _warn_if_units_differ(attribution.info, "summing the power of all channels")
    if ground_truth is not None:
        _check_same_grid(attribution, ground_truth)
        _check_same_shape(
            relevance,
            _map_data(ground_truth, "ground_truth"),
            attribution,
            ground_truth,
        )
    sfreq = _sampling_rate(sfreq, attribution, ground_truth)
    edges = _band_edges(band, ground_truth, attribution, len(relevance), sfreq)
    freqs, power = periodogram(relevance, fs=sfreq, window="hann", axis=-1)
    power = power.sum(axis=1)
    in_band = (freqs >= edges[:, :1]) & (freqs <= edges[:, 1:])
    return _fraction_inside(power, in_band)


def _spectral_relevance_precision(spectrum, ground_truth, band, sfreq):
    """Share of spectral relevance's magnitude in the band, per epoch."""
    relevance, freqs = spectrum.get_data(exclude=(), return_freqs=True)
    if relevance.ndim == 2:  # an average: one map
        relevance = relevance[np.newaxis]
    _warn_if_units_differ(spectrum.info, "summing the relevance of all channels")
    if ground_truth is not None:
        if len(_map_data(ground_truth, "ground_truth")) != len(relevance):
            raise ValueError(
                "attribution and ground_truth hold different numbers of epochs."
            )
        check_same_epochs(spectrum, ground_truth, ("attribution", "ground_truth"))
    sfreq = _sampling_rate(sfreq, spectrum, ground_truth)
    edges = _band_edges(band, ground_truth, spectrum, len(relevance), sfreq)
    in_band = (freqs >= edges[:, :1]) & (freqs <= edges[:, 1:])
    return _fraction_inside(np.abs(relevance).sum(axis=1), in_band)
