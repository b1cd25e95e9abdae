"""mne_xai: explainable deep learning on EEG, built on MNE-Python."""

import sys
from types import ModuleType

from . import (
    attribution,
    datasets,
    evaluate,
    inspect,
    models,
    recordings,
    report,
    simulation,
    viz,
)
from ._network import as_network
from .attribution import explain, list_methods
from .cropping import CroppedClassifier
from .estimators import EEGNetClassifier, InterpretableCNNClassifier

__version__ = "0.1.0.dev0"


class _Package(ModuleType):
    """The package module, keeping the function ``explain`` under its name.

    Importing the deprecated module ``mne_xai.explain`` (the old name of
    :mod:`mne_xai.attribution`) would otherwise replace the function with the
    module, as Python binds every imported submodule to its parent.
    """

    def __setattr__(self, name, value):
        if name == "explain" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "CroppedClassifier",
    "EEGNetClassifier",
    "InterpretableCNNClassifier",
    "__version__",
    "as_network",
    "attribution",
    "datasets",
    "evaluate",
    "explain",
    "inspect",
    "list_methods",
    "models",
    "recordings",
    "report",
    "simulation",
    "viz",
]
