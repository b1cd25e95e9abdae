"""How well attribution maps find the ground truth of simulated EEG.

Every measure compares, epoch by epoch, an attribution map with a ground truth
map of the same shape, such as the pair returned by :func:`mne_xai.explain`
and :func:`mne_xai.simulation.simulate_epochs`, and returns one number per
epoch.

Ground truth is a non-negative map. Measures that need a binary mask take the
features whose ground truth is at least ``threshold`` times the epoch's peak
(0.5 keeps, for the simulated data, the channels and samples where the feature
is at least half its peak). Attributions are signed; measures of localization
use their magnitude (``sign="absolute_value"``) or their positive part
(``sign="positive"``), as in captum's visualizations.
"""

import mne
import numpy as np
import pandas as pd
from mne.utils import _check_option, _validate_type, warn
from scipy.signal import periodogram
from scipy.stats import rankdata

from ..simulation import FREQUENCY_BANDS

_MAP_TYPES = (np.ndarray, mne.BaseEpochs, mne.Evoked)
_MAP_DESCRIPTION = "array, Epochs or Evoked"
_SIGNS = ("absolute_value", "positive")


def _map_data(maps, name):
    """Return one map per epoch, shape (n_epochs, ...), from an array or MNE object."""
    _validate_type(maps, _MAP_TYPES, name, _MAP_DESCRIPTION)
    if isinstance(maps, mne.BaseEpochs):
        data = maps.get_data()  # every channel: MNE's "all" leaves out bads
    elif isinstance(maps, mne.Evoked):
        data = maps.data[np.newaxis]
    else:
        data = np.asarray(maps)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {data.dtype}.")
        if data.ndim < 2:
            raise ValueError(
                f"{name} must have one map per epoch, shape (n_epochs, n_channels, "
                f"n_times) or (n_epochs, n_features), got shape {data.shape}."
            )
    data = data.astype(np.float64, copy=False)
    if not np.isfinite(data).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return data


def _check_same_grid(attribution, ground_truth):
    """Both MNE objects must share channels and times, not just shapes."""
    mne_types = (mne.BaseEpochs, mne.Evoked)
    if not (isinstance(attribution, mne_types) and isinstance(ground_truth, mne_types)):
        return
    if attribution.ch_names != ground_truth.ch_names:
        raise ValueError(
            "attribution and ground_truth have different channels; pick the same "
            f"channels in the same order (got {attribution.ch_names[:4]}... and "
            f"{ground_truth.ch_names[:4]}...)."
        )
    if not np.allclose(attribution.times, ground_truth.times):
        raise ValueError(
            "attribution and ground_truth have different time samples "
            f"({attribution.times[0]:g} to {attribution.times[-1]:g} s and "
            f"{ground_truth.times[0]:g} to {ground_truth.times[-1]:g} s); crop them "
            "alike."
        )


def _pair(attribution, ground_truth, *, sign, n_dims=None):
    """Return validated (relevance, ground truth) arrays of one shape.

    ``relevance`` is the attribution after ``sign``; ``ground_truth`` is
    non-negative with a positive peak in every epoch.
    """
    _check_option("sign", sign, _SIGNS)
    relevance = _map_data(attribution, "attribution")
    truth = _map_data(ground_truth, "ground_truth")
    if relevance.shape != truth.shape:
        raise ValueError(
            f"attribution has shape {relevance.shape} but ground_truth has shape "
            f"{truth.shape}; they need one map each for the same epochs, channels "
            "and times."
        )
    if n_dims is not None and relevance.ndim != n_dims:
        raise ValueError(
            f"This measure needs maps of shape (n_epochs, n_channels, n_times), got "
            f"shape {relevance.shape}."
        )
    _check_same_grid(attribution, ground_truth)
    if (truth < 0).any():
        raise ValueError(
            "ground_truth must be non-negative (a magnitude or a 0/1 mask), got "
            f"values down to {truth.min():g}."
        )
    empty = np.flatnonzero(truth.reshape(len(truth), -1).max(axis=1) == 0)
    if empty.size:
        raise ValueError(
            f"ground_truth is all zero in epoch(s) {empty[:10].tolist()}; there is "
            "nothing to localize there. Drop those epochs."
        )
    relevance = np.abs(relevance) if sign == "absolute_value" else relevance.clip(0)
    return relevance, truth


def _check_threshold(threshold):
    _validate_type(threshold, "numeric", "threshold")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}.")


def _binary_mask(truth, threshold):
    """Features at or above ``threshold`` times each epoch's peak, flattened."""
    _check_threshold(threshold)
    flat = truth.reshape(len(truth), -1)
    return flat >= threshold * flat.max(axis=1, keepdims=True)


def _fraction_inside(relevance, inside):
    """Sum of relevance inside the mask over all relevance, per epoch.

    Epochs without relevance give NaN, with a warning, rather than a number
    that would look like a (bad) score.
    """
    total = relevance.sum(axis=1)
    within = (relevance * inside).sum(axis=1)
    no_relevance = total == 0
    if no_relevance.any():
        warn(
            f"{int(no_relevance.sum())} attribution map(s) hold no relevance of the "
            "requested sign; their score is NaN."
        )
    return np.divide(
        within, total, out=np.full(len(total), np.nan), where=~no_relevance
    )


def _expected_hits(scores, inside, n_top):
    """Return how many of the ``n_top`` highest scores fall inside the mask, expected.

    Ties at the cut-off are broken at random, so the expectation shares the
    remaining places among the tied features in proportion (a constant map
    scores at chance rather than by the order of the features).
    """
    descending = -np.sort(-scores, axis=1)
    cutoff = np.take_along_axis(descending, (n_top - 1)[:, np.newaxis], axis=1)
    above, tied = scores > cutoff, scores == cutoff
    places_left = n_top - above.sum(axis=1)
    return (above & inside).sum(axis=1) + places_left * (tied & inside).sum(
        axis=1
    ) / tied.sum(axis=1)


def relevance_mass_accuracy(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the relevance that falls inside the ground truth mask.

    Relevance mass accuracy of Arras et al. [1]_: the relevance summed over the
    features inside the ground truth mask, divided by the relevance summed over
    all features.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Non-negative ground truth of the same shape, e.g. from
        :func:`mne_xai.simulation.simulate_epochs`.
    threshold : float
        The mask holds the features whose ground truth is at least
        ``threshold`` times its epoch's maximum; in (0, 1].
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    accuracy : ndarray, shape (n_epochs,)
        In [0, 1]: 1 when all relevance is inside the mask, 0 when all of it is
        outside; a map spreading relevance evenly scores the fraction of
        features inside the mask. NaN (with a warning) for maps without
        relevance.

    See Also
    --------
    relevance_rank_accuracy, roc_auc

    References
    ----------
    .. [1] Arras L, Osman A, Samek W (2022). CLEVR-XAI: A benchmark dataset for
           the ground truth evaluation of neural network explanations.
           Information Fusion 81, 14-40.
           https://doi.org/10.1016/j.inffus.2021.11.008
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    inside = _binary_mask(truth, threshold)
    return _fraction_inside(relevance.reshape(len(relevance), -1), inside)


def relevance_rank_accuracy(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the K most relevant features that lie in the mask of size K.

    Relevance rank accuracy of Arras et al. [1]_: with K the number of features
    in the ground truth mask of an epoch, the fraction of its K most relevant
    features that are inside the mask. It is :func:`top_k_precision` with k
    set, per epoch, to the size of the mask.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Non-negative ground truth of the same shape.
    threshold : float
        The mask holds the features whose ground truth is at least
        ``threshold`` times its epoch's maximum; in (0, 1].
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    accuracy : ndarray, shape (n_epochs,)
        In [0, 1]: 1 when the mask holds the K most relevant features, 0 when
        none of them; a random map scores, on average, the fraction of features
        inside the mask. Ties are broken at random, in expectation.

    See Also
    --------
    relevance_mass_accuracy, top_k_precision

    References
    ----------
    .. [1] Arras L, Osman A, Samek W (2022). CLEVR-XAI: A benchmark dataset for
           the ground truth evaluation of neural network explanations.
           Information Fusion 81, 14-40.
           https://doi.org/10.1016/j.inffus.2021.11.008
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    inside = _binary_mask(truth, threshold)
    mask_size = inside.sum(axis=1)
    scores = relevance.reshape(len(relevance), -1)
    return _expected_hits(scores, inside, mask_size) / mask_size


def top_k_precision(
    attribution, ground_truth, k=0.1, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the k most relevant features that lie in the ground truth mask.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Non-negative ground truth of the same shape.
    k : int | float
        How many features to take: an int counts them, a float in (0, 1) is a
        fraction of all features of a map (rounded, at least 1).
    threshold : float
        The mask holds the features whose ground truth is at least
        ``threshold`` times its epoch's maximum; in (0, 1].
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    precision : ndarray, shape (n_epochs,)
        In [0, 1]. When k exceeds the mask, even a perfect map scores below 1
        (at most mask size / k); a random map scores, on average, the fraction
        of features inside the mask. Ties are broken at random, in
        expectation.

    See Also
    --------
    relevance_rank_accuracy

    Notes
    -----
    Top-k precision is the precision at k of information retrieval, used for
    attribution maps by, e.g., Arras et al. [1]_ (with k the size of the mask,
    see :func:`relevance_rank_accuracy`).

    References
    ----------
    .. [1] Arras L, Osman A, Samek W (2022). CLEVR-XAI: A benchmark dataset for
           the ground truth evaluation of neural network explanations.
           Information Fusion 81, 14-40.
           https://doi.org/10.1016/j.inffus.2021.11.008
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    inside = _binary_mask(truth, threshold)
    scores = relevance.reshape(len(relevance), -1)
    n_features = scores.shape[1]
    _validate_type(k, "numeric", "k")
    if isinstance(k, int | np.integer) and not isinstance(k, bool):
        if not 1 <= k <= n_features:
            raise ValueError(f"k must be between 1 and {n_features} features, got {k}.")
        n_top = int(k)
    else:
        if not 0 < k < 1:
            raise ValueError(
                f"A fractional k must be in (0, 1), got {k}; give an int to count "
                "features."
            )
        n_top = max(1, int(round(k * n_features)))
    n_top = np.full(len(scores), n_top)
    return _expected_hits(scores, inside, n_top) / n_top


def roc_auc(attribution, ground_truth, *, threshold=0.5, sign="absolute_value"):
    """Area under the ROC curve of relevance as a detector of the ground truth.

    Each feature is a sample, the mask gives its label and the relevance its
    score: the AUC is the probability that a feature inside the mask is more
    relevant than one outside (ties count one half), i.e. the Mann-Whitney
    statistic, as computed by :func:`sklearn.metrics.roc_auc_score`.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Non-negative ground truth of the same shape.
    threshold : float
        The mask holds the features whose ground truth is at least
        ``threshold`` times its epoch's maximum; in (0, 1]. The mask may not
        cover a whole map.
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    auc : ndarray, shape (n_epochs,)
        In [0, 1]: 1 when every feature in the mask is more relevant than every
        feature outside it, 0.5 for random or constant maps, 0 when the order is
        inverted.

    See Also
    --------
    relevance_rank_accuracy

    References
    ----------
    .. [1] Hanley JA, McNeil BJ (1982). The meaning and use of the area under a
           receiver operating characteristic (ROC) curve. Radiology 143(1),
           29-36. https://doi.org/10.1148/radiology.143.1.7063747
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    inside = _binary_mask(truth, threshold)
    n_inside = inside.sum(axis=1)
    n_outside = inside.shape[1] - n_inside
    full = np.flatnonzero(n_outside == 0)
    if full.size:
        raise ValueError(
            f"The ground truth mask covers every feature of epoch(s) "
            f"{full[:10].tolist()}, so there is nothing to tell it from; raise "
            "threshold."
        )
    # Average ranks make ties count one half, as in the Mann-Whitney U statistic.
    ranks = rankdata(relevance.reshape(len(relevance), -1), axis=1)
    rank_sum_inside = (ranks * inside).sum(axis=1)
    return (rank_sum_inside - n_inside * (n_inside + 1) / 2) / (n_inside * n_outside)


def _centred_or_not_cosine(relevance, truth, *, centre):
    relevance = relevance.reshape(len(relevance), -1)
    truth = truth.reshape(len(truth), -1)
    if centre:
        relevance = relevance - relevance.mean(axis=1, keepdims=True)
        truth = truth - truth.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(relevance, axis=1) * np.linalg.norm(truth, axis=1)
    undefined = norms == 0
    if undefined.any():
        what = "constant" if centre else "all zero"
        warn(
            f"{int(undefined.sum())} map(s) are {what}; their similarity is "
            "undefined and set to NaN."
        )
    products = np.einsum("ef,ef->e", relevance, truth)
    return np.divide(products, norms, out=np.full(len(norms), np.nan), where=~undefined)


def cosine_similarity(attribution, ground_truth, *, sign="absolute_value"):
    """Cosine of the angle between relevance and ground truth maps.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Non-negative ground truth of the same shape; its graded values count,
        not a mask.
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    similarity : ndarray, shape (n_epochs,)
        In [0, 1] (both maps are non-negative): 1 when relevance is
        proportional to the ground truth, 0 when it lies only where the
        ground truth is zero. It is scale-free but, unlike
        :func:`pearson_correlation`, not offset-free: a constant map scores
        above 0. NaN (with a warning) for all-zero relevance.

    See Also
    --------
    pearson_correlation
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    return _centred_or_not_cosine(relevance, truth, centre=False)


def pearson_correlation(attribution, ground_truth, *, sign="absolute_value"):
    """Pearson correlation between relevance and ground truth maps.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
        Non-negative ground truth of the same shape; its graded values count,
        not a mask.
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    correlation : ndarray, shape (n_epochs,)
        In [-1, 1] over all features of each epoch's map: 1 when relevance is
        an increasing linear function of the ground truth, about 0 for random
        maps, -1 for a decreasing one. NaN (with a warning) for constant
        relevance.

    See Also
    --------
    cosine_similarity, scipy.stats.pearsonr
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    return _centred_or_not_cosine(relevance, truth, centre=True)


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
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
        Non-negative ground truth of the same shape.
    threshold : float
        In (0, 1]. For the simulated data 0.5 keeps the central half of the
        feature's Hann window (its full width at half maximum).
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

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
    .. [1] Sujatha Ravindran A, Contreras-Vidal J (2023). An empirical
           comparison of deep learning explainability approaches for EEG using
           simulated ground truth. Scientific Reports 13, 17709.
           https://doi.org/10.1038/s41598-023-43871-8
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign, n_dims=3)
    in_window = _binary_mask(truth.max(axis=1), threshold)
    return _fraction_inside(relevance.sum(axis=1), in_window)


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
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
        Non-negative ground truth of the same shape.
    threshold : float
        In (0, 1]. For the simulated data 0.5 keeps the channels that receive
        at least half the peak projection of the feature's dipole.
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

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
    .. [1] Sujatha Ravindran A, Contreras-Vidal J (2023). An empirical
           comparison of deep learning explainability approaches for EEG using
           simulated ground truth. Scientific Reports 13, 17709.
           https://doi.org/10.1038/s41598-023-43871-8
    """
    relevance, truth = _pair(attribution, ground_truth, sign=sign, n_dims=3)
    on_channels = _binary_mask(truth.max(axis=2), threshold)
    return _fraction_inside(relevance.sum(axis=2), on_channels)


def _band_edges(band, ground_truth, attribution, n_epochs):
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
    if isinstance(band, str):
        _check_option("band", band, tuple(FREQUENCY_BANDS))
        band = FREQUENCY_BANDS[band]
    edges = np.asarray(band, dtype=float)
    if edges.shape == (2,):
        edges = np.tile(edges, (n_epochs, 1))
    if edges.shape != (n_epochs, 2):
        raise ValueError(
            f"band must be a name, (fmin, fmax) or an array of shape ({n_epochs}, 2), "
            f"got shape {edges.shape}."
        )
    return edges


def _has_band(epochs):
    """Whether ``epochs`` has metadata giving every epoch a band."""
    metadata = getattr(epochs, "metadata", None)
    return (
        metadata is not None
        and {"fmin", "fmax"} <= set(metadata.columns)
        and bool(metadata[["fmin", "fmax"]].notna().all(axis=None))
    )


def spectral_precision(attribution, ground_truth=None, *, band=None, sfreq=None):
    """Fraction of the relevance's power that lies in the true frequency band.

    Spectral precision of Sujatha Ravindran & Contreras-Vidal [1]_: the power
    spectrum of each channel's relevance time course (signed, as rectifying
    would move power to other frequencies), summed over channels; the measure
    is its share between ``fmin`` and ``fmax``.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | array | None
        Only used for its metadata columns ``fmin`` and ``fmax`` (per epoch, as
        :func:`mne_xai.simulation.simulate_epochs` gives) when ``band`` is None;
        the attribution's metadata is tried next.
    band : str | (float, float) | array, shape (n_epochs, 2) | None
        The true band: a name in :data:`mne_xai.simulation.FREQUENCY_BANDS`,
        edges in Hz, or edges per epoch.
    sfreq : float | None
        Sampling rate in Hz; None takes it from ``attribution`` or
        ``ground_truth`` when either is an MNE object.

    Returns
    -------
    precision : ndarray, shape (n_epochs,)
        In [0, 1]; relevance that is white noise scores about the band's width
        over the Nyquist frequency. NaN (with a warning) for maps without
        power.

    See Also
    --------
    temporal_precision, spatial_precision

    Notes
    -----
    Spectra are Hann-windowed periodograms of each whole epoch with its mean
    removed, so their resolution is one over the epoch length: bands narrower
    than a few frequency bins are measured coarsely.

    References
    ----------
    .. [1] Sujatha Ravindran A, Contreras-Vidal J (2023). An empirical
           comparison of deep learning explainability approaches for EEG using
           simulated ground truth. Scientific Reports 13, 17709.
           https://doi.org/10.1038/s41598-023-43871-8
    """
    relevance = _map_data(attribution, "attribution")
    if relevance.ndim != 3:
        raise ValueError(
            "attribution must have shape (n_epochs, n_channels, n_times), got shape "
            f"{relevance.shape}."
        )
    if ground_truth is not None:
        truth_shape = _map_data(ground_truth, "ground_truth").shape
        if truth_shape != relevance.shape:
            raise ValueError(
                f"attribution has shape {relevance.shape} but ground_truth has "
                f"shape {truth_shape}."
            )
    if sfreq is None:
        with_info = [
            obj
            for obj in (attribution, ground_truth)
            if isinstance(obj, mne.BaseEpochs | mne.Evoked)
        ]
        if not with_info:
            raise ValueError("Pass sfreq= (Hz) when attribution is an array.")
        sfreq = with_info[0].info["sfreq"]
    _validate_type(sfreq, "numeric", "sfreq")
    edges = _band_edges(band, ground_truth, attribution, len(relevance))
    freqs, power = periodogram(relevance, fs=sfreq, window="hann", axis=-1)
    power = power.sum(axis=1)
    in_band = (freqs >= edges[:, :1]) & (freqs <= edges[:, 1:])
    return _fraction_inside(power, in_band)


_MASK_MEASURES = (
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    temporal_precision,
    spatial_precision,
)
_GRADED_MEASURES = (cosine_similarity, pearson_correlation)


def localization_scores(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Every localization measure of each epoch, in one table.

    Parameters
    ----------
    attribution : mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    ground_truth : mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        Non-negative ground truth of the same shape, e.g. from
        :func:`mne_xai.simulation.simulate_epochs`.
    threshold : float
        Threshold of the binary masks, relative to each epoch's peak; in
        (0, 1].
    sign : "absolute_value" | "positive"
        Relevance is the attribution's magnitude, or its positive part.

    Returns
    -------
    scores : pandas.DataFrame
        One row per epoch and one column per measure, named after its function:
        relevance mass and rank accuracy, ROC-AUC, temporal and spatial
        precision, cosine similarity and Pearson correlation, and spectral
        precision when the metadata of ``ground_truth`` or ``attribution``
        gives every epoch a band (``fmin``, ``fmax``). When ``ground_truth`` is
        Epochs, an ``event`` column names each epoch's condition and the index
        is its ``selection``.
    """
    scores = {
        measure.__name__: measure(
            attribution, ground_truth, threshold=threshold, sign=sign
        )
        for measure in _MASK_MEASURES
    }
    for measure in _GRADED_MEASURES:
        scores[measure.__name__] = measure(attribution, ground_truth, sign=sign)
    if _has_band(ground_truth) or _has_band(attribution):
        scores["spectral_precision"] = spectral_precision(attribution, ground_truth)
    table = pd.DataFrame(scores)
    if isinstance(ground_truth, mne.BaseEpochs):
        names = {code: name for name, code in ground_truth.event_id.items()}
        table.insert(0, "event", [names[code] for code in ground_truth.events[:, 2]])
        table.index = ground_truth.selection
    return table
