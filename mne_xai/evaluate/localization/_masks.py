"""Measures of how much relevance, or how many top-ranked features, a mask holds."""

import numpy as np
from mne.utils import _validate_type
from scipy.stats import rankdata

from ..._docs import fill_doc
from ._maps import _binary_mask, _fraction_inside, _pair


def _relevance_and_mask(attribution, ground_truth, threshold, sign):
    """Return each epoch's relevance and ground truth mask, both flattened."""
    relevance, truth = _pair(attribution, ground_truth, sign=sign)
    return relevance.reshape(len(relevance), -1), _binary_mask(truth, threshold)


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


@fill_doc
def relevance_mass_accuracy(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the relevance that falls inside the ground truth mask.

    Relevance mass accuracy of Arras et al. [1]_: the relevance summed over the
    features inside the ground truth mask, divided by the relevance summed over
    all features.

    Parameters
    ----------
    %(attribution_maps)s
    %(ground_truth_maps)s
    %(mask_threshold)s
    %(relevance_sign)s

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
    %(ref_arras2022)s
    """
    relevance, inside = _relevance_and_mask(attribution, ground_truth, threshold, sign)
    return _fraction_inside(relevance, inside)


@fill_doc
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
    %(attribution_maps)s
    %(ground_truth_maps)s
    %(mask_threshold)s
    %(relevance_sign)s

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
    %(ref_arras2022)s
    """
    relevance, inside = _relevance_and_mask(attribution, ground_truth, threshold, sign)
    mask_size = inside.sum(axis=1)
    return _expected_hits(relevance, inside, mask_size) / mask_size


def _count_top(k, n_features):
    """Return how many features ``k`` asks for: a count, or a fraction of all."""
    _validate_type(k, "numeric", "k")
    if isinstance(k, int | np.integer):  # booleans were refused as not numeric
        if not 1 <= k <= n_features:
            raise ValueError(f"k must be between 1 and {n_features} features, got {k}.")
        return int(k)
    if not 0 < k < 1:
        raise ValueError(
            f"A fractional k must be in (0, 1), got {k}; give an int to count features."
        )
    return max(1, int(round(k * n_features)))


@fill_doc
def top_k_precision(
    attribution, ground_truth, k=0.1, *, threshold=0.5, sign="absolute_value"
):
    """Fraction of the k most relevant features that lie in the ground truth mask.

    Parameters
    ----------
    %(attribution_maps)s
    %(ground_truth_maps)s
    k : int | float
        How many features to take: an int counts them, a float in (0, 1) is a
        fraction of all features of a map (rounded, at least 1).
    %(mask_threshold)s
    %(relevance_sign)s

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
    %(ref_arras2022)s
    """
    relevance, inside = _relevance_and_mask(attribution, ground_truth, threshold, sign)
    n_top = np.full(len(relevance), _count_top(k, relevance.shape[1]))
    return _expected_hits(relevance, inside, n_top) / n_top


@fill_doc
def roc_auc(attribution, ground_truth, *, threshold=0.5, sign="absolute_value"):
    """Area under the ROC curve of relevance as a detector of the ground truth.

    Each feature is a sample, the mask gives its label and the relevance its
    score: the AUC is the probability that a feature inside the mask is more
    relevant than one outside (ties count one half), i.e. the Mann-Whitney
    statistic, as computed by :func:`sklearn.metrics.roc_auc_score`.

    Parameters
    ----------
    %(attribution_maps)s
    %(ground_truth_maps)s
    %(mask_threshold)s
    %(relevance_sign)s

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
    relevance, inside = _relevance_and_mask(attribution, ground_truth, threshold, sign)
    n_inside = inside.sum(axis=1)
    n_outside = inside.shape[1] - n_inside
    # Average ranks make ties count one half, as in the Mann-Whitney U statistic.
    ranks = rankdata(relevance, axis=1)
    rank_sum_inside = (ranks * inside).sum(axis=1)
    return (rank_sum_inside - n_inside * (n_inside + 1) / 2) / (n_inside * n_outside)
