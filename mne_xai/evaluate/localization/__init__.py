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

# Other measures read maps as these do (the sanity checks, for one).
from ._maps import _map_data as _map_data
from ._masks import (
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    top_k_precision,
)
from ._precision import spatial_precision, spectral_precision, temporal_precision
from ._similarity import cosine_similarity, pearson_correlation
from ._table import localization_scores

__all__ = [
    "cosine_similarity",
    "localization_scores",
    "pearson_correlation",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "roc_auc",
    "spatial_precision",
    "spectral_precision",
    "temporal_precision",
    "top_k_precision",
]
