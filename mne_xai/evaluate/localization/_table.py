"""Every localization measure of each epoch, in one table."""

import mne
import pandas as pd

from ..._docs import fill_doc
from ._masks import relevance_mass_accuracy, relevance_rank_accuracy, roc_auc
from ._precision import spatial_precision, temporal_precision
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
        precision, cosine similarity and Pearson correlation. When
        ``ground_truth`` is Epochs, an ``event`` column names each epoch's
        condition and the index is its ``selection``.

    Notes
    -----
    Spectral precision is not in the table: of maps in time, it scores the
    spectrum of the map, not of the evidence, and so ranks methods by how
    their maps are computed (see :func:`spectral_precision`). Score
    :func:`~mne_xai.attribution.explain_spectrum`'s output with
    :func:`spectral_precision` instead.
    """
    scores = {
        measure.__name__: measure(
            attribution, ground_truth, threshold=threshold, sign=sign
        )
        for measure in _MASK_MEASURES
    }
    for measure in _GRADED_MEASURES:
        scores[measure.__name__] = measure(attribution, ground_truth, sign=sign)
    table = pd.DataFrame(scores)
    if isinstance(ground_truth, mne.BaseEpochs):
        names = {code: name for name, code in ground_truth.event_id.items()}
        table.insert(0, "event", [names[code] for code in ground_truth.events[:, 2]])
        table.index = ground_truth.selection
    return table
