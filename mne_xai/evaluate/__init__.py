"""Measures of how far attribution maps can be trusted."""

from .localization import (
    cosine_similarity,
    localization_scores,
    pearson_correlation,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    spatial_precision,
    spectral_precision,
    temporal_precision,
    top_k_precision,
)

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
