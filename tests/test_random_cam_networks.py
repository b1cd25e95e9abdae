"""Class activation maps of random networks, against receptive fields measured apart.

Each network of :mod:`random_cam_networks` is explained at the last layer of
its feature stack. A CAM method either refuses it with a ValueError naming a
layer, or returns the map of the paper (Grad-CAM: ``ReLU(sum_k alpha_k A_k)``,
``alpha_k`` the mean gradient on map ``k``; LayerCAM: ``ReLU(sum_k ReLU(g_k)
A_k)``) placed on the input's samples by linear interpolation between the
centers of the layer samples' receptive fields. Here the fields are measured,
not derived from the layers' shapes: the input samples the gradient of each
layer sample reaches, on a few noise epochs, in float64.
"""

import re

import numpy as np
import pytest
import torch
from random_cam_networks import N_CHANNELS, N_TIMES, random_cam_network

from mne_xai.attribution._registry import get_method

SEEDS = range(20)
METHODS = ["grad_cam", "layer_cam"]


def _layer_output(network, layer, inputs):
    """Logits and the output of ``layer`` (a module of ``network``)."""
    captured = {}
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.update(out=out))
    try:
        logits = network(inputs)
    finally:
        handle.remove()
    return logits, captured["out"]


def _measured_centers(network, layer):
    """The center of each layer sample's receptive field, from its input gradient.

    The extent of the input samples a sample's gradient reaches on six noise
    epochs (the winners of max pooling vary); samples whose field the
    epoch's edges clip (narrower than the widest) are None.
    """
    inputs = torch.randn(6, N_CHANNELS, N_TIMES, dtype=torch.float64)
    inputs.requires_grad_()
    _, output = _layer_output(network, layer, inputs)
    weights = torch.rand(output.shape[:-1], dtype=torch.float64) + 0.5
    extents = []
    for sample in range(output.shape[-1]):
        (gradient,) = torch.autograd.grad(
            (output[..., sample] * weights).sum(), inputs, retain_graph=True
        )
        read = torch.nonzero(gradient.abs().sum(dim=(0, 1)) > 0).ravel()
        extents.append((int(read[0]), int(read[-1])) if len(read) else None)
    widest = max(last - first for first, last in filter(None, extents))
    return [
        None
        if extent is None
        or extent[1] - extent[0] < widest
        or extent[0] == 0
        or extent[1] == N_TIMES - 1
        else (extent[0] + extent[1]) / 2
        for extent in extents
    ]


def _reference_map(network, layer, inputs, target, method):
    """The CAM on the layer's samples, (batch, height, n_layer_times)."""
    # The input requires grad: a layer may come before any parameter.
    logits, maps = _layer_output(network, layer, inputs.requires_grad_())
    (gradients,) = torch.autograd.grad(
        logits[torch.arange(len(target)), target].sum(), maps
    )
    if maps.ndim == 3:  # (batch, maps, time): height 1
        maps, gradients = maps[:, :, None], gradients[:, :, None]
    if method == "grad_cam":
        weighed = gradients.mean(dim=(2, 3), keepdim=True) * maps
    else:
        weighed = gradients.relu() * maps
    return weighed.sum(dim=1).relu().detach().numpy()


def _placed(layer_map, centers):
    """Linear interpolation between the centers, the nearest value beyond them."""
    times = np.arange(N_TIMES)
    flat = layer_map.reshape(-1, layer_map.shape[-1])
    return np.stack([np.interp(times, centers, row) for row in flat]).reshape(
        *layer_map.shape[:-1], N_TIMES
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", SEEDS)
def test_cam_is_refused_or_placed_on_measured_receptive_fields(seed, method):
    """A random network's CAM is refused naming a layer, or is the paper's map
    placed on the receptive fields its layer samples have."""
    network, name = random_cam_network(seed)
    torch.manual_seed(seed)
    inputs = torch.randn(3, N_CHANNELS, N_TIMES)
    target = torch.tensor([0, 1, 1])
    try:
        maps = get_method(method)(network).attribute(inputs, target, layer=name)
    except ValueError as error:
        assert re.search(r"(layer|module) '[^']+'", str(error)), str(error)
        return
    double = network.double()
    layer = double.get_submodule(name)
    centers = _measured_centers(double, layer)
    inner = [(sample, c) for sample, c in enumerate(centers) if c is not None]
    if len(inner) < 2:
        return  # every field clipped: no line of centers to measure
    # The centers lie on a line (a step per sample), extended to the edges.
    samples, measured = np.array(inner).T
    step, first = np.polyfit(samples, measured, 1)
    np.testing.assert_allclose(first + step * samples, measured, atol=0.5)
    layer_map = _reference_map(double, layer, inputs.double(), target, method)
    line = first + step * np.arange(layer_map.shape[-1])
    expected = _placed(layer_map, line)
    if expected.shape[1] == 1:  # after the spatial convolution: every channel
        expected = np.repeat(expected, N_CHANNELS, axis=1)
    np.testing.assert_allclose(
        maps.numpy(), expected, atol=1e-4 * np.abs(expected).max() + 1e-7, rtol=1e-3
    )
