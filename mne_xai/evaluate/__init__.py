"""Measures of how far attribution maps can be trusted."""

from .faithfulness import (
    ChannelPerturbationTestResult,
    CurveResult,
    DeletionTestResult,
    PerturbationTestResult,
    channel_perturbation_test,
    deletion_curve,
    deletion_test,
    insertion_curve,
    perturbation_test,
)
from .group import RelevanceClusterTestResult, relevance_cluster_test
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
from .sanity import (
    SanityCheckResult,
    data_randomization_check,
    map_similarity,
    parameter_randomization_check,
    plot_sanity_check,
    structural_similarity,
    target_randomization_check,
)
from .trust import TrustSummary, trust_summary

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
__all__ += [
    "ChannelPerturbationTestResult",
    "CurveResult",
    "DeletionTestResult",
    "PerturbationTestResult",
    "channel_perturbation_test",
    "deletion_curve",
    "deletion_test",
    "insertion_curve",
    "perturbation_test",
]
__all__ += [
    "SanityCheckResult",
    "data_randomization_check",
    "map_similarity",
    "parameter_randomization_check",
    "plot_sanity_check",
    "structural_similarity",
    "target_randomization_check",
]
__all__ += ["RelevanceClusterTestResult", "relevance_cluster_test"]
__all__ += ["TrustSummary", "trust_summary"]
