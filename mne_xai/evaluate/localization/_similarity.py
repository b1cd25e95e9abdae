"""Measures of how closely relevance follows the graded ground truth, without a mask."""

import numpy as np

from ..._docs import fill_doc
from ..._warnings import warn
from ._maps import _pair


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


@fill_doc
def cosine_similarity(attribution, ground_truth, *, sign="absolute_value"):
    """Cosine of the angle between relevance and ground truth maps.

    Parameters
    ----------
    %(attribution_maps)s
    %(ground_truth_maps)s
        Its graded values count, not a mask.
    %(relevance_sign)s

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


@fill_doc
def pearson_correlation(attribution, ground_truth, *, sign="absolute_value"):
    """Pearson correlation between relevance and ground truth maps.

    Parameters
    ----------
    %(attribution_maps)s
    %(ground_truth_maps)s
        Its graded values count, not a mask.
    %(relevance_sign)s

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
