"""How similar two attribution maps of each epoch are: rank correlations, SSIM."""

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from mne.utils import _check_option, _validate_type
from scipy.ndimage import gaussian_filter
from scipy.stats import rankdata

from ..._samples_read import filtered_within_runs, runs_read
from ..._warnings import warn
from ..localization import _map_data
from ..localization._maps import _check_same_grid

#: Similarity measures between two maps of an epoch, by name.
SIMILARITY_METRICS = ("spearman_abs", "spearman", "ssim", "pearson")

# SSIM constants of Wang et al. for data in [0, 1], and their Gaussian window:
# 11 x 11 samples of standard deviation 1.5, which a truncation at 3.5
# deviations gives (scipy's default of 4 made it 13 x 13), as skimage's.
_SSIM_C1 = 0.01**2
_SSIM_C2 = 0.03**2
_SSIM_SIGMA = 1.5
_SSIM_TRUNCATE = 3.5


def _row_correlation(first, second):
    """Pearson correlation of each row of two (n_epochs, n_features) arrays.

    Rows without variance give NaN: a constant map has no pattern to compare.
    """
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    norms = np.sqrt((first**2).sum(axis=1) * (second**2).sum(axis=1))
    products = (first * second).sum(axis=1)
    correlation = np.divide(
        products, norms, out=np.full(len(norms), np.nan), where=norms > 0
    )
    # Rounding can take the correlation of a map with itself just past 1.
    return correlation.clip(-1, 1)


def _flat(maps):
    return maps.reshape(len(maps), -1)


def _ranks_of_magnitude(maps):
    return rankdata(np.abs(_flat(maps)), axis=1)


def _ranks(maps):
    return rankdata(_flat(maps), axis=1)


def _unit_magnitude(maps):
    """Magnitude of each map divided by its peak, in [0, 1]; empty maps stay 0."""
    magnitude = np.abs(maps)
    peak = magnitude.max(axis=(1, 2), keepdims=True)
    return np.divide(magnitude, peak, out=np.zeros_like(magnitude), where=peak > 0)


def _ssim_of_unit_maps(first, second, sigma=_SSIM_SIGMA, runs=(slice(None),)):
    """Mean SSIM of each epoch's maps, already scaled to [0, 1]; shape (n_epochs,).

    ``runs`` are the slices of the time axis whose samples are consecutive
    (see :func:`~mne_xai._samples_read.runs_read`): the window
    slides within each, its borders reflected.
    """

    def local_mean(maps):
        # The window slides over channels and times of each epoch, never across
        # epochs nor gaps in time; "reflect" keeps the borders (single-channel
        # data included).
        return filtered_within_runs(
            functools.partial(
                gaussian_filter,
                sigma=(0, sigma, sigma),
                mode="reflect",
                truncate=_SSIM_TRUNCATE,
            ),
            maps,
            runs,
        )

    mean_first, mean_second = local_mean(first), local_mean(second)
    variance_first = local_mean(first * first) - mean_first**2
    variance_second = local_mean(second * second) - mean_second**2
    covariance = local_mean(first * second) - mean_first * mean_second
    luminance = (2 * mean_first * mean_second + _SSIM_C1) / (
        mean_first**2 + mean_second**2 + _SSIM_C1
    )
    structure = (2 * covariance + _SSIM_C2) / (
        variance_first + variance_second + _SSIM_C2
    )
    return (luminance * structure).mean(axis=(1, 2))


class _Measure(NamedTuple):
    """A similarity as ``compare(prepare(maps), prepare(other_maps))``.

    The checks compare one original map with many randomized ones, so the
    original is prepared (ranked, scaled) once per batch.
    """

    prepare: Callable
    compare: Callable


_MEASURES = {
    "spearman_abs": _Measure(_ranks_of_magnitude, _row_correlation),
    "spearman": _Measure(_ranks, _row_correlation),
    "ssim": _Measure(_unit_magnitude, _ssim_of_unit_maps),
    "pearson": _Measure(_flat, _row_correlation),
}


def measures_of_samples(read):
    """Return the measures of maps of the samples ``read`` alone.

    Parameters
    ----------
    read : ndarray of bool, shape (n_times,) | None
        The samples kept of each map (None: all of them).

    Returns
    -------
    measures : dict
        As ``_MEASURES``; SSIM, whose window slides along time, slides within
        each run of consecutive samples read, not across the gaps between
        the windows of a CroppedClassifier.
    """
    runs = [slice(None)] if read is None else runs_read(read)
    if len(runs) == 1:
        return _MEASURES
    ssim = _MEASURES["ssim"]._replace(
        compare=functools.partial(_ssim_of_unit_maps, runs=runs)
    )
    return {**_MEASURES, "ssim": ssim}


def _map_pair(maps, other_maps):
    """Return both maps as validated float arrays (n_epochs, n_channels, n_times)."""
    # MNE maps are compared sample by sample: same channels and times, in order.
    _check_same_grid(maps, other_maps, names=("maps", "other_maps"))
    first = _map_data(maps, "maps")
    second = _map_data(other_maps, "other_maps")
    if first.shape != second.shape:
        raise ValueError(
            f"maps has shape {first.shape} but other_maps has shape {second.shape}; "
            "compare maps of the same epochs, channels and times."
        )
    if first.ndim != 3:
        raise ValueError(
            "maps must have shape (n_epochs, n_channels, n_times), got shape "
            f"{first.shape}."
        )
    return first, second


def _warn_undefined(similarity, what):
    undefined = int(np.isnan(similarity).sum())
    if undefined:
        warn(
            f"{undefined} {what} compared a constant map (e.g. all zero), for which "
            "a correlation is undefined; those similarities are NaN."
        )


def map_similarity(maps, other_maps, *, metric: str = "spearman_abs") -> np.ndarray:
    """Similarity of two attribution maps of each epoch.

    Parameters
    ----------
    maps, other_maps : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_channels, n_times)
        Two maps of the same epochs, e.g. two results of
        :func:`mne_xai.explain`.
    metric : "spearman_abs" | "spearman" | "ssim" | "pearson"
        ``"spearman_abs"``: Spearman rank correlation of the absolute values
        (do the same samples matter most?); ``"spearman"``: of the signed
        values; ``"ssim"``: :func:`structural_similarity` of the magnitude
        maps; ``"pearson"``: Pearson correlation of the signed values. The
        channel x time map of each epoch is compared as a whole.

    Returns
    -------
    similarity : ndarray, shape (n_epochs,)
        One value per epoch, 1 for identical maps (at most 1; correlations go
        down to -1). Correlations are NaN, with a warning, where a map is
        constant.

    See Also
    --------
    parameter_randomization_check, structural_similarity

    Notes
    -----
    These are the measures of Adebayo et al. :footcite:`AdebayoEtAl2018`, who
    also compare histograms of oriented gradients; that image descriptor has no
    natural meaning on a channel x time map and is left out.

    References
    ----------
    .. footbibliography::
    """
    _check_option("metric", metric, SIMILARITY_METRICS)
    prepare, compare = _MEASURES[metric]
    first, second = _map_pair(maps, other_maps)
    similarity = compare(prepare(first), prepare(second))
    _warn_undefined(similarity, "epoch(s)")
    return similarity


def structural_similarity(
    maps, other_maps, *, sigma: float = _SSIM_SIGMA
) -> np.ndarray:
    r"""Structural similarity (SSIM) of two attribution maps of each epoch.

    The SSIM of Wang et al. :footcite:`WangEtAl2004` on the channel x time map
    of each epoch, with a Gaussian window, as Adebayo et al. use it to compare
    saliency maps :footcite:`AdebayoEtAl2018`. Each map is first reduced to its
    magnitude divided by its peak, so that maps in different units (a trained
    and a random network) compare on one scale of [0, 1]:

    .. math::

        \mathrm{SSIM} = \frac{(2\mu_a\mu_b + C_1)(2\sigma_{ab} + C_2)}
        {(\mu_a^2 + \mu_b^2 + C_1)(\sigma_a^2 + \sigma_b^2 + C_2)},

    with local means, variances and covariance under the window,
    :math:`C_1 = 0.01^2` and :math:`C_2 = 0.03^2`, averaged over the map.

    Parameters
    ----------
    maps, other_maps : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_channels, n_times)
        Two maps of the same epochs.
    sigma : float
        Standard deviation of the Gaussian window, in samples along time and
        in channels along the channel axis.

    Returns
    -------
    similarity : ndarray, shape (n_epochs,)
        Mean SSIM of each epoch: 1 for maps equal up to a positive factor,
        near 0 for unrelated maps.

    See Also
    --------
    map_similarity

    Notes
    -----
    The window also spans neighbouring channels in the order of the data, which
    are neighbours on the head only for some montages; for most EEG the
    measure is therefore mostly about temporal structure. Borders are handled
    by reflection, which keeps single-channel maps well defined.

    References
    ----------
    .. footbibliography::
    """
    _validate_type(sigma, "numeric", "sigma")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}.")
    first, second = _map_pair(maps, other_maps)
    return _ssim_of_unit_maps(
        _unit_magnitude(first), _unit_magnitude(second), sigma=sigma
    )
