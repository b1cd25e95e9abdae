"""Plain torch modules: EEGNet and InterpretableCNN."""

from ._base import EEGModule, ScaledInput
from .eegnet import EEGNet, SpatialFirstEEGNet
from .interpretable_cnn import InterpretableCNN

__all__ = [
    "EEGModule",
    "EEGNet",
    "InterpretableCNN",
    "ScaledInput",
    "SpatialFirstEEGNet",
]
