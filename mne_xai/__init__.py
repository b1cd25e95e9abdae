"""mne_xai: explainable deep learning on EEG, built on MNE-Python."""

from .estimators import EEGNetClassifier, InterpretableCNNClassifier
from .explain import explain, list_methods

__version__ = "0.1.0.dev0"

__all__ = [
    "EEGNetClassifier",
    "InterpretableCNNClassifier",
    "__version__",
    "explain",
    "list_methods",
]
