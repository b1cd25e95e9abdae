"""Plain torch modules: EEGNet and InterpretableCNN."""

from ._base import EEGModule
from .eegnet import EEGNet
from .interpretable_cnn import InterpretableCNN

__all__ = ["EEGModule", "EEGNet", "InterpretableCNN"]
