"""mne_xai: explainable deep learning on EEG, built on MNE-Python."""

from . import datasets, evaluate, models, simulation
from ._network import as_network
from .cropping import CroppedClassifier
from .estimators import EEGNetClassifier, InterpretableCNNClassifier
from .explain import explain, list_methods

__version__ = "0.1.0.dev0"

__all__ = [
    "CroppedClassifier",
    "EEGNetClassifier",
    "InterpretableCNNClassifier",
    "__version__",
    "as_network",
    "datasets",
    "evaluate",
    "explain",
    "list_methods",
    "models",
    "simulation",
]
