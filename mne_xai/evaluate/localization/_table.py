"""Every localization measure of each epoch, in one table."""

import mne
import pandas as pd

from ..._docs import fill_doc
from ._masks import relevance_mass_accuracy, relevance_rank_accuracy, roc_auc
from ._precision import (
    _has_band,
    spatial_precision,
    spectral_precision,
    temporal_precision,
)
from ._similarity import cosine_similarity, pearson_correlation

_MASK_MEASURES = (
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    temporal_precision,
    spatial_precision,
)
_GRADED_MEASURES = (cosine_similarity, pearson_correlation)


@fill_doc
def localization_scores(
    attribution, ground_truth, *, threshold=0.5, sign="absolute_value"
):
    """Every localization measure of each epoch, in one table.

    Parameters
    ----------
    %(attribution_time_courses)s
    %(ground_truth_time_courses)s
    threshold : float
        Threshold of the binary masks, relative to each epoch's peak; in
        (0, 1].
    %(relevance_sign)s

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
