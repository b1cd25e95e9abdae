"""What a trained network has learned: its units, filters and prototypes.

Attributions explain one decision; these tools look at the network as a
whole, on the model contract of :func:`mne_xai.as_network`, and return MNE
objects where the result lives on channels, times or frequencies.
"""

from ..attribution.pattern import NetworkPatterns
from ..spectral_input import LogPowerSpectrum
from ._activations import LayerActivations, find_layer, layer_activations
from ._attribution_patterns import attribution_patterns, learn_patterns
from ._maximization import ActivationMaximization, maximize_activation
from ._pruning import PruningCurve, pruning_curve
from ._samples import BestSamples, best_samples
from ._sensitivity import UnitSensitivity, unit_sensitivity
from ._spatial import SpatialPatterns, spatial_patterns
from ._spectral_input import SpectralClassifier, explain_spectral_classifier
from ._temporal import TemporalFilters, plot_temporal_filters, temporal_filters
from ._voting import GroupScorer, group_predictions, make_group_scorer

__all__ = [
    "ActivationMaximization",
    "BestSamples",
    "GroupScorer",
    "LayerActivations",
    "LogPowerSpectrum",
    "NetworkPatterns",
    "PruningCurve",
    "SpatialPatterns",
    "SpectralClassifier",
    "TemporalFilters",
    "UnitSensitivity",
    "attribution_patterns",
    "best_samples",
    "explain_spectral_classifier",
    "find_layer",
    "group_predictions",
    "layer_activations",
    "learn_patterns",
    "make_group_scorer",
    "maximize_activation",
    "plot_temporal_filters",
    "pruning_curve",
    "spatial_patterns",
    "temporal_filters",
    "unit_sensitivity",
]
