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
from cam_references import (
    full_grad,
    gradient_cam,
    measured_centers,
    measured_line,
    placed,
    score_cam,
)
from random_cam_networks import N_CHANNELS, N_TIMES, random_cam_network
from torch import nn

from mne_xai.attribution._registry import get_method

#: And 24: a delay of 2 samples, then a dropout before the layer explained.
SEEDS = [*range(20), 24]
#: Networks every method explains: batch norm of the input's channels (8),
#: a two-dimensional block (5, 19, 27), max pooling, GELU, Tanh and ELU; biases
#: before a delay (10, FullGrad only).
REFERENCE_SEEDS = [0, 5, 6, 8, 10, 19, 27]
METHODS = ["grad_cam", "layer_cam"]


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
    centers = measured_centers(double, layer, (N_CHANNELS, N_TIMES))
    inner = [(sample, c) for sample, c in enumerate(centers) if c is not None]
    if len(inner) < 2:
        return  # every field clipped: no line of centers to measure
    # The centers lie on a line (a step per sample), extended to the edges.
    samples, measured = np.array(inner).T
    step, first = np.polyfit(samples, measured, 1)
    np.testing.assert_allclose(first + step * samples, measured, atol=0.5)
    layer_map = gradient_cam(double, layer, inputs.double(), target, method)
    expected = placed(layer_map.numpy(), (first, step), N_TIMES)
    if expected.shape[1] == 1:  # after the spatial convolution: every channel
        expected = np.repeat(expected, N_CHANNELS, axis=1)
    np.testing.assert_allclose(
        maps.numpy(), expected, atol=1e-4 * np.abs(expected).max() + 1e-7, rtol=1e-3
    )


def _channel_rows(network):
    """Batch norms of (batch, channels, time) before any convolution mixes them."""
    rows = []
    for name, layer in network.named_children():
        if isinstance(layer, nn.Conv1d | nn.Conv2d):
            return rows
        if isinstance(layer, nn.BatchNorm1d):
            rows.append(name)
    return rows


@pytest.mark.parametrize("method", ["grad_cam_plus_plus", "score_cam", "full_grad"])
@pytest.mark.parametrize("seed", REFERENCE_SEEDS)
def test_weights_are_their_papers_on_random_networks(seed, method):
    """Grad-CAM++'s and Score-CAM's weights, and FullGrad's terms, on a random
    network: refused naming a layer, or the maps of their papers (computed in
    :mod:`cam_references`) placed on the measured receptive fields. The CAMs
    are compared without their ReLU, which leaves nothing of some maps."""
    network, name = random_cam_network(seed)
    torch.manual_seed(seed)
    inputs = torch.randn(3, N_CHANNELS, N_TIMES)
    target = torch.tensor([0, 1, 1])
    explainer = get_method(method)(network)
    try:
        if method == "full_grad":
            maps = explainer.attribute(inputs, target)
        else:
            maps = explainer.attribute(inputs, target, layer=name, relu=False)
    except ValueError as error:
        assert re.search(r"(layer|module) '[^']+'", str(error)), str(error)
        return
    double = network.double()
    shape = (N_CHANNELS, N_TIMES)
    if method == "full_grad":
        lines = {
            name: measured_line(double, layer, shape, n_samples=N_TIMES)
            for name, layer in double.named_modules()
            if isinstance(layer, nn.Conv1d | nn.Conv2d | nn.BatchNorm1d)
        }
        if None in lines.values():
            return  # a layer whose every field is clipped
        expected = full_grad(
            double, inputs.double(), target, lines, _channel_rows(double)
        )
    else:
        layer = double.get_submodule(name)
        line = measured_line(double, layer, shape, n_samples=N_TIMES)
        if line is None:
            return
        if method == "score_cam":
            layer_map = score_cam(
                double, layer, inputs.double(), target, line, relu=False
            )
        else:
            layer_map = gradient_cam(
                double, layer, inputs.double(), target, method, relu=False
            )
        expected = np.broadcast_to(placed(layer_map.numpy(), line, N_TIMES), maps.shape)
    np.testing.assert_allclose(
        maps.numpy(), expected, atol=1e-4 * np.abs(expected).max() + 1e-7, rtol=1e-3
    )
