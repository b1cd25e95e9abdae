"""What a trained network has learned: its units, filters and prototypes.

Attributions explain one decision; these tools look at the network as a
whole, on the model contract of :func:`mne_xai.as_network`, and return MNE
objects where the result lives on channels, times or frequencies.
"""

from ._activations import LayerActivations, find_layer, layer_activations

__all__ = ["LayerActivations", "find_layer", "layer_activations"]
