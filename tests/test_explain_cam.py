"""Class activation maps and FullGrad: captum, hand-computed values, invariants."""

import copy
import math
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
from cam_references import (
    full_grad,
    gradient_cam,
    guided_backprop,
    measured_line,
    placed,
    score_cam,
)
from captum.attr import LayerGradCam
from torch import nn
from torch.nn import functional as F

from mne_xai import explain, list_methods
from mne_xai._graph import (
    layer_name,
    shown_layer_name,
    shown_layer_names,
    trace_layers,
    wrapped_network,
)
from mne_xai._network import BinaryLogOdds
from mne_xai.attribution._cam_layers import time_grid
from mne_xai.attribution._registry import get_method
from mne_xai.attribution.cam import _full_gradient_decomposition, _min_max_scale
from mne_xai.attribution.spectral import FourierInput
from mne_xai.models import ScaledInput

N_EPOCHS = 3
CAM_METHODS = ["grad_cam", "grad_cam_plus_plus", "layer_cam", "score_cam"]
CHANNEL_VARYING_METHODS = ["guided_grad_cam", "full_grad"]


class TinyCamNet(nn.Module):
    """Two channels -> two maps (map k is channel k), ReLU, time average, linear.

    The gradient of a logit on map k is ``class_weights[c, k] / n_times`` at every
    sample, which makes every CAM computable by hand.
    """

    def __init__(self, class_weights):
        super().__init__()
        self.spatial = nn.Conv2d(1, 2, (2, 1), bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.spatial.weight.copy_(torch.eye(2).reshape(2, 1, 2, 1))
            self.classifier.weight.copy_(torch.tensor(class_weights))

    def forward(self, x):
        x = self.relu(self.spatial(x.unsqueeze(1)))
        return self.classifier(self.flatten(self.pool(x)))


class TinyReLUNet(nn.Module):
    """Spatial and temporal convolutions, ReLU, batch norm, pooling, dense layer."""

    def __init__(self, bias):
        super().__init__()
        self.spatial = nn.Conv2d(1, 3, (2, 1), bias=bias)
        self.temporal = nn.Conv2d(3, 3, (1, 3), padding=(0, 1), bias=bias)
        self.relu = nn.ReLU()
        self.batch_norm = nn.BatchNorm2d(3) if bias else nn.Identity()
        self.pool = nn.AvgPool2d((1, 2))
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(12, 2, bias=bias)
        if bias:
            generator = torch.Generator().manual_seed(0)
            with torch.no_grad():
                for name in ("running_mean", "running_var", "weight", "bias"):
                    value = torch.rand(3, generator=generator) + 0.5
                    getattr(self.batch_norm, name).copy_(value)

    def forward(self, x):
        x = self.relu(self.temporal(self.spatial(x.unsqueeze(1))))
        return self.classifier(self.flatten(self.pool(self.batch_norm(x))))


# Channel 0 feeds map 0, channel 1 map 1: activations [1, 2, 3, 0] and [0, 4, 2, 2].
TINY_INPUT = torch.tensor([[[1.0, 2.0, 3.0, -1.0], [0.0, 4.0, 2.0, 2.0]]])
TINY_ACTIVATIONS = torch.tensor([[1.0, 2.0, 3.0, 0.0], [0.0, 4.0, 2.0, 2.0]])
CLASS_0 = torch.tensor([0])


def _tiny_attribution(
    method, class_weights, inputs=TINY_INPUT, network=TinyCamNet, **params
):
    module = network(class_weights).eval()
    attribution = get_method(method)(module).attribute(inputs, CLASS_0, **params)
    assert attribution.shape == inputs.shape
    # Maps after the spatial convolution are the same on both channels.
    torch.testing.assert_close(attribution[:, 0], attribution[:, 1])
    return attribution[0, 0]


def _as_tensor(epochs):
    return torch.as_tensor(epochs.get_data(), dtype=torch.float32)


def test_methods_are_registered():
    assert set(CAM_METHODS + CHANNEL_VARYING_METHODS) <= set(list_methods())


@pytest.mark.parametrize(
    ("fixture", "layer", "default_layer"),
    [
        ("fitted_eegnet", None, "separable_elu"),
        ("fitted_eegnet", "temporal_bn", "temporal_bn"),
        ("fitted_icnn", None, "relu"),
    ],
)
def test_grad_cam_equals_captum(request, imagery_epochs, fixture, layer, default_layer):
    estimator = request.getfixturevalue(fixture)
    epochs = imagery_epochs[:N_EPOCHS]
    module = estimator.module_.eval()
    inputs, target = _as_tensor(epochs), torch.zeros(N_EPOCHS, dtype=torch.int64)
    grad_cam = get_method("grad_cam")(module)
    ours, resolved = grad_cam._layer_map(inputs, target, layer, relu=True)
    assert resolved.name == default_layer
    theirs = (
        LayerGradCam(module, getattr(module, default_layer))
        .attribute(inputs, target, relu_attributions=True)[:, 0]
        .detach()
    )
    torch.testing.assert_close(ours, theirs)  # before upsampling
    assert theirs.abs().max() > 0
    attribution = explain(
        estimator,
        epochs,
        "grad_cam",
        target=estimator.classes_[0],
        layer=layer,
        verbose=False,
    )
    expected = grad_cam._on_inputs(theirs, resolved.grid, inputs)  # after upsampling
    np.testing.assert_allclose(attribution.get_data(), expected.numpy(), rtol=1e-5)
    # Before the spatial convolution (one row per channel) the map tells where.
    varies = np.ptp(attribution.get_data(), axis=1).max() > 0
    assert varies == (default_layer == "temporal_bn")


def test_grad_cam_sums_to_the_logit_on_icnn(fitted_icnn, imagery_epochs):
    # InterpretableCNN averages its ReLU maps over time (through batch norm)
    # before a linear read-out, so unrectified Grad-CAM summed over the layer's
    # samples is the target logit up to a constant shared by all epochs.
    module = fitted_icnn.module_.eval()
    inputs = _as_tensor(imagery_epochs[:N_EPOCHS])
    target = torch.zeros(N_EPOCHS, dtype=torch.int64)
    layer_map, _ = get_method("grad_cam")(module)._layer_map(
        inputs, target, None, relu=False
    )
    with torch.no_grad():
        logits = module(inputs)[:, 0]
    sums = layer_map.sum(dim=(1, 2))
    assert (logits - logits[0]).abs().max() > 1e-3
    torch.testing.assert_close(sums - sums[0], logits - logits[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("fixture", "layer", "first_center", "step"),
    [
        # "same" convolutions, then pooling by 4: centers at 4 j + 1.5.
        ("fitted_eegnet", "separable_elu", 1.5, 4.0),
        ("fitted_eegnet", "temporal_bn", 0.0, 1.0),
        # An unpadded kernel of 80 samples: center of sample j at j + 39.5.
        ("fitted_icnn", "relu", 39.5, 1.0),
    ],
)
def test_upsampling_aligns_receptive_field_centers(
    request, imagery_epochs, fixture, layer, first_center, step
):
    module = request.getfixturevalue(fixture).module_.eval()
    inputs = _as_tensor(imagery_epochs[:1])
    n_times = inputs.shape[-1]
    layer_map, resolved = get_method("grad_cam")(module)._layer_map(
        inputs, CLASS_0, layer, relu=False
    )
    grid = resolved.grid
    assert (grid.first_center, grid.step) == (first_center, step)
    ramp = torch.arange(layer_map.shape[-1], dtype=torch.float32)
    expected = ((torch.arange(n_times) - first_center) / step).clamp(0, ramp[-1])
    torch.testing.assert_close(grid.upsample(ramp, n_times), expected)
    if layer == "separable_elu":  # here the alignment is torch's linear resampling
        resampled = F.interpolate(
            ramp[None, None], size=4 * len(ramp), mode="linear", align_corners=False
        )
        torch.testing.assert_close(grid.upsample(ramp, 4 * len(ramp)), resampled[0, 0])


@pytest.mark.parametrize("method", CAM_METHODS + CHANNEL_VARYING_METHODS)
@pytest.mark.parametrize("fixture", ["fitted_eegnet", "fitted_icnn"])
def test_maps_on_channels_and_batches(request, imagery_epochs, fixture, method):
    estimator = request.getfixturevalue(fixture)
    epochs = imagery_epochs[:N_EPOCHS]
    attribution = explain(estimator, epochs, method, batch_size=N_EPOCHS, verbose=False)
    data = attribution.get_data()
    assert data.shape == epochs.get_data().shape
    assert attribution.ch_names == epochs.ch_names
    assert np.isfinite(data).all()
    if method != "guided_grad_cam":  # rectified maps, or FullGrad's absolute terms
        assert data.min() >= 0
    assert np.abs(data).max() > 0
    varies_across_channels = np.ptp(data, axis=1).max() > 1e-6 * np.abs(data).max()
    assert varies_across_channels == (method in CHANNEL_VARYING_METHODS)
    # Eval mode: an epoch's map does not depend on the other epochs of its batch.
    alone = explain(estimator, epochs[1:2], method, verbose=False).get_data()
    np.testing.assert_allclose(alone[0], data[1], rtol=1e-4, atol=1e-6 * data.max())


def test_guided_grad_cam_is_grad_cam_times_guided_backprop(
    fitted_eegnet, imagery_epochs
):
    epochs = imagery_epochs[:N_EPOCHS]
    guided_grad_cam, grad_cam, guided_backprop = (
        explain(fitted_eegnet, epochs, method, target=1, verbose=False).get_data()
        for method in ("guided_grad_cam", "grad_cam", "guided_backprop")
    )
    # guided_backprop runs on EEGNet's spatial-first inference graph: equal
    # up to float32 rounding of differently ordered sums.
    expected = grad_cam * guided_backprop
    np.testing.assert_allclose(
        guided_grad_cam, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max()
    )


#: The layer each fitted network's CAMs pick.
PICKED_LAYERS = [("fitted_eegnet", "separable_elu"), ("fitted_icnn", "relu")]


def _assert_close_to_reference(ours, reference):
    """float32 maps against float64 references, relative to the reference's size."""
    reference = np.asarray(reference)
    assert np.abs(reference).max() > 0
    np.testing.assert_allclose(
        ours, reference, rtol=1e-3, atol=1e-4 * np.abs(reference).max()
    )


def _fixture_network(request, imagery_epochs, fixture):
    """A fitted network, its float64 twin, three epochs and targets of both classes."""
    module = request.getfixturevalue(fixture).module_.eval()
    double = copy.deepcopy(module).double()
    inputs = _as_tensor(imagery_epochs[:N_EPOCHS])
    return module, double, inputs, torch.tensor([0, 1, 0])


@pytest.fixture(scope="module")
def fixture_lines():
    """Measure the field centers of a fitted network's layer once per module."""
    lines = {}

    def line(fixture, network, name, shape):
        if (fixture, name) not in lines:
            layer = network.get_submodule(name)
            # No max pooling in them: two noise epochs reach every field.
            lines[fixture, name] = measured_line(network, layer, shape, n_epochs=2)
        return lines[fixture, name]

    return line


@pytest.mark.parametrize(
    ("fixture", "layer", "picked", "method"),
    [
        (fixture, None, picked, method)
        for fixture, picked in PICKED_LAYERS
        for method in CAM_METHODS + ["guided_grad_cam"]
    ]
    # A row per channel: Grad-CAM++ sums, and Score-CAM masks, over the rows.
    + [
        ("fitted_eegnet", "temporal_bn", "temporal_bn", method)
        for method in ["grad_cam_plus_plus", "layer_cam", "score_cam"]
    ],
)
def test_cams_equal_their_papers_on_fitted_networks(
    request, imagery_epochs, fixture_lines, fixture, layer, picked, method
):
    """Each CAM, at the layer it picks (and at EEGNet's rows of channels), is the
    map of its paper computed with plain autograd, placed on the receptive
    fields' centers measured from input gradients."""
    module, double, inputs, target = _fixture_network(request, imagery_epochs, fixture)
    ours = get_method(method)(module).attribute(inputs, target, layer=layer)
    at = double.get_submodule(picked)
    line = fixture_lines(fixture, double, picked, inputs.shape[1:])
    if method == "score_cam":
        layer_map = score_cam(double, at, inputs.double(), target, line)
    else:
        cam_method = "grad_cam" if method == "guided_grad_cam" else method
        layer_map = gradient_cam(double, at, inputs.double(), target, cam_method)
    expected = placed(layer_map.numpy(), line, inputs.shape[-1])
    expected = np.broadcast_to(expected, inputs.shape)
    if method == "guided_grad_cam":
        expected = expected * guided_backprop(double, inputs.double(), target).numpy()
    _assert_close_to_reference(ours.numpy(), expected)


@pytest.mark.parametrize("fixture", ["fitted_eegnet", "fitted_icnn"])
def test_full_grad_equals_its_paper_on_fitted_networks(
    request, imagery_epochs, fixture_lines, fixture
):
    """FullGrad is psi(input gradient x input) plus, for each convolution and batch
    norm, psi(bias gradient x bias) summed over maps and placed on the measured
    receptive fields' centers (dense layers left out)."""
    module, double, inputs, target = _fixture_network(request, imagery_epochs, fixture)
    ours = get_method("full_grad")(module).attribute(inputs, target)
    lines = {
        name: fixture_lines(fixture, double, name, inputs.shape[1:])
        for name, layer in double.named_modules()
        if isinstance(layer, nn.Conv2d | nn.BatchNorm2d) and layer.bias is not None
    }
    expected = full_grad(double, inputs.double(), target, lines)
    _assert_close_to_reference(ours.numpy(), expected)


@pytest.mark.parametrize(
    ("method", "map_1_weight", "relu", "expected"),
    [
        # Gradients 2/4 on map 0 and -1/4 on map 1 at every sample.
        ("grad_cam", -1.0, True, [0.5, 0.0, 1.0, 0.0]),
        ("grad_cam", -1.0, False, [0.5, 0.0, 1.0, -0.5]),
        # a_t = 1 / (2 + sum(A_k) g_k): 1 / 5 on map 0, w_0 = 4 * a_t * 0.5;
        # on map 1, 1 / (2 - 8 / 4) has no denominator, so a_t = 0 and w_1 = 0.
        ("grad_cam_plus_plus", -1.0, True, [0.4, 0.8, 1.2, 0.0]),
        # Map 1's a_t = 1 / (2 - 8 / 2) = -1/2, times its gradient -1/2, would
        # weigh evidence against the class for it (w_1 = 1): ReLU(g) makes w_1 0.
        ("grad_cam_plus_plus", -2.0, True, [0.4, 0.8, 1.2, 0.0]),
        # Only map 0 has positive gradients: 0.5 * A_0.
        ("layer_cam", -1.0, True, [0.5, 1.0, 1.5, 0.0]),
    ],
)
def test_gradient_cams_by_hand(method, map_1_weight, relu, expected):
    class_weights = [[2.0, map_1_weight], [0.0, 1.0]]
    attribution = _tiny_attribution(method, class_weights, relu=relu)
    torch.testing.assert_close(attribution, torch.tensor(expected))


def test_grad_cam_plus_plus_gives_no_weight_where_its_denominator_vanishes():
    """At the spatial convolution, before the ReLU, map 0 (channel 0) sums to
    -8 and its gradient is 1/4 where it is positive: a_t's denominator
    g^2 (2 - 8 g) vanishes there, and a_t is 0, not g^2 over a stand-in
    denominator of 1 (w_0 = 1/32). Map 1 sums to 8, a_t = 1/4 where g = 1/4:
    w_1 = 3/16."""
    inputs = torch.tensor([[[1.0, 1.0, -5.0, -5.0], [0.0, 4.0, 2.0, 2.0]]])
    attribution = _tiny_attribution(
        "grad_cam_plus_plus", [[1.0, 1.0], [0.0, 1.0]], inputs, layer="spatial"
    )
    torch.testing.assert_close(attribution, 3 / 16 * inputs[0, 1])


def test_a_cam_weighs_the_output_a_users_hook_leaves():
    """A forward hook of the user's changes what the network goes on with (by
    an offset of 1 here): the CAM weighs that output, not the layer's before
    the hook. Gradients 2/4 on map 0 and -1/4 on map 1, as above."""
    module = TinyCamNet([[2.0, -1.0], [0.0, 1.0]]).eval()
    module.relu.register_forward_hook(lambda _layer, _inputs, output: output + 1)
    cam = get_method("grad_cam")(module).attribute(
        TINY_INPUT, CLASS_0, layer="relu", relu=False
    )
    expected = 0.5 * (TINY_ACTIVATIONS[0] + 1) - 0.25 * (TINY_ACTIVATIONS[1] + 1)
    torch.testing.assert_close(cam[0, 0], expected)


def test_layer_cam_equals_grad_cam_for_constant_positive_gradients():
    class_weights = [[2.0, 1.0], [0.0, 1.0]]
    layer_cam = _tiny_attribution("layer_cam", class_weights)
    grad_cam = _tiny_attribution("grad_cam", class_weights)
    torch.testing.assert_close(layer_cam, grad_cam)
    torch.testing.assert_close(
        layer_cam, 0.5 * TINY_ACTIVATIONS[0] + 0.25 * TINY_ACTIVATIONS[1]
    )


class TinyLinearCamNet(TinyCamNet):
    """TinyCamNet without its ReLU: map k is channel k, negative samples too."""

    def __init__(self, class_weights):
        super().__init__(class_weights)
        self.relu = nn.Identity()


def test_layer_cam_weighs_each_activation_by_its_positive_gradient():
    """LayerCAM's map before its ReLU is sum_k ReLU(g_k) A_k: a negative
    activation under a positive gradient (map 0 at the last sample) speaks
    against the class, and one under a negative gradient (map 1 at the third
    sample) is left out, where ReLU(g_k A_k) would drop the first and count the
    second as evidence for the class."""
    inputs = torch.tensor([[[1.0, 2.0, 3.0, -1.0], [0.0, 4.0, -2.0, 2.0]]])
    attribution = _tiny_attribution(
        "layer_cam", [[2.0, -1.0], [0.0, 1.0]], inputs, TinyLinearCamNet, relu=False
    )
    # Gradients 2/4 on map 0 and -1/4 on map 1 at every sample.
    torch.testing.assert_close(attribution, 0.5 * inputs[0, 0])


# Channel 1 constant, so map 1 is too.
CONSTANT_MAP_INPUT = torch.tensor([[[1.0, 2.0, 3.0, -1.0], [2.0, 2.0, 2.0, 2.0]]])


@pytest.mark.parametrize(
    ("inputs", "softmax", "weights"),
    [
        # Masks [1/3, 2/3, 1, 0] and [0, 1, 1/2, 1/2] give logits (7/6, 7/6) and
        # (1/4, 3/2): probabilities 1/2 and 1 / (1 + e^1.25) for class 0.
        (TINY_INPUT, True, [0.5, 1 / (1 + math.exp(1.25))]),
        (TINY_INPUT, False, [7 / 6, 0.25]),
        # Mask 0 gives logits (4/3, 1). Map 1 scales to an all-zero mask, which
        # tests nothing: weight 0, not the probability of a zero input (1/2).
        (CONSTANT_MAP_INPUT, True, [1 / (1 + math.exp(-1 / 3)), 0.0]),
        # Maps [2, 3, 4, 1] and [1, 5, 3, 3], never 0: the masks are still
        # [1/3, 2/3, 1, 0] and [0, 1, 1/2, 1/2] (each map less its minimum),
        # with logits 5/3 and 3/4 for class 0; divided by their maxima alone
        # the masks would keep a floor of a quarter and a fifth of the input.
        (TINY_ACTIVATIONS[None] + 1, False, [5 / 3, 3 / 4]),
    ],
    ids=["softmax", "logits", "constant map", "maps above zero"],
)
def test_score_cam_weights_by_hand(inputs, softmax, weights):
    attribution = _tiny_attribution(
        "score_cam", [[2.0, -1.0], [0.0, 1.0]], inputs, softmax=softmax
    )
    activations = inputs[0].clamp(min=0)  # map k is ReLU(channel k)
    expected = weights[0] * activations[0] + weights[1] * activations[1]
    torch.testing.assert_close(attribution, expected)


class TinyRowsNet(nn.Module):
    """A 1x1 convolution keeps one row per channel: map row c is ReLU(channel c).

    The map is averaged over its rows and times before a linear read-out of
    weight 4 for class 0, so the gradient is 4 / 8 = 1/2 at every sample.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 1, bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.fill_(1.0)
            self.classifier.weight.copy_(torch.tensor([[4.0], [0.0]]))

    def forward(self, x):
        maps = self.relu(self.conv(x.unsqueeze(1)))
        return self.classifier(self.flatten(self.pool(maps)))


class TinyRowsReadOut(TinyRowsNet):
    """TinyRowsNet read per row: each row averaged over time, row 0 weighed 8 and
    row 1 not at all for class 0, so the gradient is 8 / 4 = 2 on row 0 and 0
    on row 1."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((None, 1))
        self.classifier = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.classifier.weight.copy_(torch.tensor([[8.0, 0.0], [0.0, 0.0]]))


def test_grad_cam_weighs_a_map_by_its_gradient_over_all_rows():
    """Grad-CAM's weight is the gradient averaged over the map's rows and
    times (1 here), as over an image's height and width: averaged per row,
    it would weigh row 0 twice and row 1 not at all, a map of the read-out's
    weights rather than of the layer's evidence."""
    attribution = get_method("grad_cam")(TinyRowsReadOut().eval()).attribute(
        TINY_INPUT, CLASS_0
    )
    torch.testing.assert_close(attribution[0], TINY_ACTIVATIONS)


@pytest.mark.parametrize(
    ("method", "params", "weight"),
    [
        ("grad_cam", {}, 0.5),
        # a_t = 1 / (2 + sum(A) g) = 1 / (2 + 14 / 2) over both rows, so
        # w = 8 * a_t * g = 4 / 9.
        ("grad_cam_plus_plus", {}, 4 / 9),
        # The mask is A / 4, scaled over both rows: the masked input's maps sum
        # to 9.5, a logit of 4 * 9.5 / 8.
        ("score_cam", {"softmax": False}, 4.75),
    ],
)
def test_cams_of_a_layer_with_a_row_per_channel_by_hand(method, params, weight):
    """A map's sums and scaling are over all its rows and times, and each row
    lands on its own channel: per row, Grad-CAM++'s sums and Score-CAM's masks
    weighed the two channels apart, and no map of height 1 could tell."""
    module = TinyRowsNet().eval()
    attribution = get_method(method)(module).attribute(TINY_INPUT, CLASS_0, **params)
    torch.testing.assert_close(attribution[0], weight * TINY_ACTIVATIONS)


@pytest.mark.parametrize("network", ["relu_without_bias", "relu_with_bias", "icnn"])
def test_full_gradient_decomposition_is_complete(request, imagery_epochs, network):
    if network == "icnn":
        module = request.getfixturevalue("fitted_icnn").module_.eval()
        inputs = _as_tensor(imagery_epochs[:N_EPOCHS])
    else:
        module = TinyReLUNet(bias=network == "relu_with_bias").eval()
        inputs = torch.randn(N_EPOCHS, 2, 8, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 1, 1])
    input_term, bias_terms = _full_gradient_decomposition(module, inputs, target)
    assert input_term.shape == inputs.shape
    assert (len(bias_terms) == 0) == (network == "relu_without_bias")
    total = input_term.double().sum(dim=(1, 2))
    for term in bias_terms.values():
        total = total + term.double().flatten(1).sum(dim=1)
    with torch.no_grad():
        logits = module(inputs).double()
    expected = logits.gather(1, target[:, None])[:, 0]
    torch.testing.assert_close(total, expected, rtol=1e-4, atol=1e-5)


class TwoMapNet(nn.Module):
    """Conv1d to two maps (biases 1/2 and 1), ReLU, time average, linear.

    Map 0 reads both channels, map 1 channel 0 alone; the read-out of weight
    4 over 4 samples makes the gradient on each map 1 where it is positive.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 2, 1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[[1.0], [1.0]], [[1.0], [0.0]]]))
            self.conv.bias.copy_(torch.tensor([0.5, 1.0]))
            self.classifier.weight.copy_(torch.tensor([[4.0, 4.0], [0.0, 0.0]]))

    def forward(self, x):
        return self.classifier(self.flatten(self.pool(self.relu(self.conv(x)))))


def test_full_grad_by_hand():
    """FullGrad's psi: |input term| scaled over channels and times together, each
    bias term scaled over all its maps, the maps summed. Map 0 is off at the last
    sample (4 - 5 + 1/2 < 0); the input term is negative at one sample."""
    inputs = torch.tensor([[[1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 1.0, -5.0]]])
    attribution = get_method("full_grad")(TwoMapNet().eval()).attribute(inputs, CLASS_0)
    # Input gradients [2, 2, 2, 1] on channel 0 and [1, 1, 1, 0] on channel 1:
    # |gradient x input| [[2, 4, 6, 4], [1, |-1|, 1, 0]], divided by its maximum.
    input_term = torch.tensor([[2.0, 4.0, 6.0, 4.0], [1.0, 1.0, 1.0, 0.0]]) / 6
    # Bias terms [1/2, 1/2, 1/2, 0] (map 0) and [1, 1, 1, 1] (map 1), scaled
    # together (maximum 1, minimum 0), then summed over the maps.
    bias_term = torch.tensor([1.5, 1.5, 1.5, 1.0])
    torch.testing.assert_close(attribution[0], input_term + bias_term)


@pytest.mark.parametrize(
    ("fixture", "layer", "match"),
    [
        ("fitted_eegnet", "no_such_layer", "Invalid value for the 'layer'"),
        ("fitted_eegnet", "classifier", "feature maps"),
        ("fitted_icnn", "global_pool", "one sample on the last axis"),
    ],
)
def test_layer_errors(request, imagery_epochs, fixture, layer, match):
    estimator = request.getfixturevalue(fixture)
    with pytest.raises(ValueError, match=match):
        explain(estimator, imagery_epochs[:1], "grad_cam", layer=layer, verbose=False)


def test_network_without_convolution_needs_a_layer():
    module = nn.Sequential(nn.Flatten(), nn.Linear(8, 2)).eval()
    with pytest.raises(ValueError, match="no convolution"):
        get_method("layer_cam")(module).attribute(torch.ones(1, 2, 4), CLASS_0)


class ReusedReLUNet(nn.Module):
    """One nn.ReLU called before and after pooling: two time resolutions."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(2, 3, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool1d(2)
        self.conv2 = nn.Conv1d(3, 3, 3, padding=1)
        self.classifier = nn.Linear(6, 2)

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        return self.classifier(self.relu(self.conv2(x)).flatten(1))


@pytest.mark.parametrize("method", ["grad_cam", "layer_cam", "score_cam"])
def test_a_layer_called_twice_is_refused(method):
    torch.manual_seed(0)
    module = ReusedReLUNet().eval()
    with pytest.raises(ValueError, match="'relu' is called 2 times"):
        get_method(method)(module).attribute(
            torch.randn(1, 2, 4), CLASS_0, layer="relu"
        )


class TwoBranchNet(nn.Module):
    """Two same-padded convolution branches joined by concatenation."""

    def __init__(self, n_channels=2, n_times=32):
        super().__init__()
        self.conv_a = nn.Conv1d(n_channels, 2, 5, padding=2)
        self.relu_a = nn.ReLU()
        self.conv_b = nn.Conv1d(n_channels, 2, 5, padding=2)
        self.relu_b = nn.ReLU()
        self.pool = nn.AvgPool1d(4)
        self.classifier = nn.Linear(4 * (n_times // 4), 2)

    def forward(self, x):
        branches = torch.cat(
            [self.relu_a(self.conv_a(x)), self.relu_b(self.conv_b(x))], 1
        )
        return self.classifier(self.pool(branches).flatten(1))


@pytest.mark.parametrize(
    "method", ["grad_cam", "layer_cam", "score_cam", "guided_grad_cam"]
)
def test_a_layer_that_other_paths_bypass_is_refused(method):
    """The default layer, in the branch called last, left out the other's
    evidence: maps at a bump every epoch held, zero where the classes differ."""
    torch.manual_seed(0)
    module = TwoBranchNet().eval()
    inputs = torch.randn(N_EPOCHS, 2, 32)
    explainer = get_method(method)(module)
    for layer in (None, "relu_a"):
        with pytest.raises(ValueError, match="other paths than layer 'relu_"):
            explainer.attribute(inputs, CLASS_0.expand(N_EPOCHS), layer=layer)
    maps = explainer.attribute(inputs, CLASS_0.expand(N_EPOCHS), layer="pool")
    assert maps.shape == inputs.shape


def test_a_layer_that_a_faint_path_bypasses_is_refused():
    """A path past the layer is refused however little it weighs: with branch
    a's weights scaled by 1e-4, its evidence on the logits is small, not absent
    from them, and still left out of relu_b's map."""
    torch.manual_seed(0)
    module = TwoBranchNet().eval()
    with torch.no_grad():
        module.conv_a.weight.mul_(1e-4)
        module.conv_a.bias.zero_()
    inputs = torch.randn(N_EPOCHS, 2, 32)
    with pytest.raises(ValueError, match="other paths than layer 'relu_b'"):
        get_method("grad_cam")(module).attribute(
            inputs, CLASS_0.expand(N_EPOCHS), layer="relu_b"
        )


class Conv1dNet(nn.Module):
    """Spatial then depthwise temporal Conv1d, ReLU, pooling, dense."""

    def __init__(self, n_channels=5, n_times=32):
        super().__init__()
        self.spatial = nn.Conv1d(n_channels, 4, 1)
        self.temporal = nn.Conv1d(4, 4, 9, padding=4, groups=4)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool1d(4)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(4 * (n_times // 4), 2)

    def forward(self, x):
        hidden = self.relu(self.temporal(self.spatial(x)))
        return self.classifier(self.flatten(self.pool(hidden)))


class LogVarianceNet(nn.Module):
    """A convolution read through its log-variance over time (FBCSP-like)."""

    def __init__(self, n_channels=5):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 9, padding=4)
        self.classifier = nn.Linear(4, 2)

    def forward(self, x):
        return self.classifier(torch.log(self.conv(x).var(dim=-1) + 1e-3))


def test_grad_cam_refuses_weights_that_cancel_out():
    """The gradient of a variance averages to zero over time: Grad-CAM's
    weights were float32 residue (1e-8 of the gradient), and the map rounding
    noise, drawn as a confident map."""
    torch.manual_seed(0)
    net = LogVarianceNet().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match="weights.*cancel out.*Use layer_cam"):
        get_method("grad_cam")(net).attribute(inputs, target)
    maps = get_method("layer_cam")(net).attribute(inputs, target)
    assert maps.abs().amax() > 0


def test_grad_cam_of_a_class_the_layer_does_not_reach_is_zero():
    """A logit with no gradient on the layer (class 0 reads no map) has the map 0:
    weights of a zero gradient are no rounding residue to refuse."""
    attribution = _tiny_attribution("grad_cam", [[0.0, 0.0], [1.0, 1.0]])
    torch.testing.assert_close(attribution, torch.zeros(4))


class TinyReadOutNet(TinyCamNet):
    """TinyCamNet read sample by sample: a dense layer over the maps' 8 samples,
    whose weights are the gradient on them."""

    def __init__(self, read_out):
        super().__init__([[0.0, 0.0], [0.0, 0.0]])
        self.pool = nn.Identity()
        self.classifier = nn.Linear(8, 2, bias=False)
        with torch.no_grad():
            self.classifier.weight.copy_(torch.tensor(read_out))


def test_grad_cam_weighs_rounding_residue_against_the_mean_gradient():
    """Weights are residue at 1e-5 of the gradient's mean magnitude, as the
    refusal says, not of its largest value: map 0's gradient [1, -1, 0, 0]
    cancels out, map 1's weight of 5e-6 is 2e-5 of the mean magnitude (about
    1/4) and weighs the map, though only 5e-6 of the largest gradient."""
    weight = 5e-6
    net = TinyReadOutNet([[1.0, -1.0, 0.0, 0.0] + [weight] * 4, [0.0] * 8]).eval()
    attribution = get_method("grad_cam")(net).attribute(TINY_INPUT, CLASS_0, relu=False)
    torch.testing.assert_close(attribution[0, 0], weight * TINY_ACTIVATIONS[1])


class Wrapped(nn.Module):
    """A wrapper, as a CroppedClassifier's or ScaledInput's: names get "module."."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x)


def test_a_wrapped_networks_layer_is_found_without_the_prefix():
    torch.manual_seed(0)
    net = Conv1dNet().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    expected = get_method("grad_cam")(net).attribute(inputs, target, layer="relu")
    for name in ("module.relu", "relu"):
        maps = get_method("grad_cam")(Wrapped(net)).attribute(
            inputs, target, layer=name
        )
        torch.testing.assert_close(maps, expected)


def test_a_layer_held_under_two_names_goes_by_its_first():
    """A layer also assigned to a second attribute (an alias) is one layer,
    named as named_modules names it, by its first name, which every message
    shows: layer= takes that name and gives the maps of the network without
    the alias."""
    module = TinyCamNet([[1.0, 2.0], [0.5, -1.0]]).eval()
    grad_cam = get_method("grad_cam")
    expected = grad_cam(module).attribute(TINY_INPUT, CLASS_0, layer="spatial")
    module.features = module.spatial
    maps = grad_cam(module).attribute(TINY_INPUT, CLASS_0, layer="spatial")
    torch.testing.assert_close(maps, expected)
    assert shown_layer_names(module)[module.spatial] == "spatial"


class _ConvBlock(nn.Module):
    """A convolution and its ReLU."""

    def __init__(self, n_in):
        super().__init__()
        self.conv = nn.Conv1d(n_in, 4, 5, padding=2)
        self.relu = nn.ReLU()

    def forward(self, x):  # noqa: D102
        return self.relu(self.conv(x))


class _TwoBlocks(nn.Module):
    """Two blocks whose layers share their names: first.relu, second.relu."""

    def __init__(self):
        super().__init__()
        self.first, self.second = _ConvBlock(5), _ConvBlock(4)
        self.classifier = nn.Linear(4 * 32, 2)

    def forward(self, x):  # noqa: D102
        return self.classifier(self.second(self.first(x)).flatten(1))


def test_a_layer_name_that_ends_several_names_is_refused():
    """ "relu" ends first.relu and second.relu: no block is taken for the user."""
    torch.manual_seed(0)
    net = _TwoBlocks().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    grad_cam = get_method("grad_cam")(net)
    with pytest.raises(
        ValueError, match=r"'first.relu', .*'second.relu', .*got 'relu'"
    ):
        grad_cam.attribute(inputs, target, layer="relu")
    assert grad_cam.attribute(inputs, target, layer="second.relu").abs().sum() > 0


class _BlockThenConv(_ConvBlock):
    """A block, then a convolution and ReLU of its own: relu and block.relu."""

    def __init__(self):
        super().__init__(4)
        self.block = _ConvBlock(5)
        self.classifier = nn.Linear(4 * 32, 2)

    def forward(self, x):  # noqa: D102
        return self.classifier(super().forward(self.block(x)).flatten(1))


def test_a_wrapped_networks_own_layer_is_the_name_without_the_prefix():
    """Behind a wrapper, "relu" ended module.relu and module.block.relu and was
    refused, though it is the network's own relu, as every message names it."""
    torch.manual_seed(0)
    net = _BlockThenConv().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    expected = get_method("grad_cam")(net).attribute(inputs, target, layer="relu")
    maps = get_method("grad_cam")(Wrapped(net)).attribute(inputs, target, layer="relu")
    torch.testing.assert_close(maps, expected)


class _HoldsItsBlockAtModule(nn.Module):
    """A network of one's own whose block is its attribute ``module``, as a
    network built around another often names it."""

    def __init__(self):
        super().__init__()
        self.module = _ConvBlock(5)
        self.classifier = nn.Linear(4 * 32, 2)

    def forward(self, x):  # noqa: D102
        return self.classifier(self.module(x).flatten(1))


def test_layers_are_named_in_the_users_network_behind_every_wrapper():
    """explain_spectrum's Fourier input wraps the input scaling, which wraps a
    network of one's own: each name leaves out both wrappers' prefixes and no
    more (the network's own 'module' is its block), the network is named by
    its class whatever holds it, and a name ending one layer's alone is that
    layer, however deep (as a part of the name: 'conv' is not the end of
    'pointwise_conv')."""
    net = _HoldsItsBlockAtModule()
    wrapped = FourierInput(ScaledInput(net, 1.0), 32)
    shown = shown_layer_names(wrapped)
    assert wrapped_network(wrapped) is net
    assert shown[net] == shown_layer_names(net)[net] == "_HoldsItsBlockAtModule"
    assert shown[net.module] == "module"
    assert shown[net.module.conv] == "module.conv"
    assert shown[net.classifier] == "classifier"
    assert shown[wrapped] == "FourierInput"
    layers = OrderedDict(block=_ConvBlock(5), pointwise_conv=nn.Conv1d(4, 4, 1))
    in_a_block = ScaledInput(nn.Sequential(layers), 1.0)
    names = {name: name for name, _ in in_a_block.named_modules()}
    assert layer_name("conv", names) == "module.block.conv"


def test_a_name_in_the_wrapper_is_read_before_the_ends_of_names():
    """A wrapper's own path to a layer (as the wrapper's messages gave them)
    is that layer, though it also ends a deeper name of the user's network
    ('module.conv', the network's conv behind the input scaling, ends
    'module.block.module.conv')."""
    block = nn.Sequential(OrderedDict(module=_ConvBlock(4)))
    net = nn.Sequential(OrderedDict(conv=nn.Conv1d(5, 4, 1), block=block))
    wrapped = ScaledInput(net, 1.0)
    names = {
        name: shown_layer_name(name, wrapped) for name, _ in wrapped.named_modules()
    }
    assert layer_name("module.conv", names) == "module.conv"
    assert layer_name("block.module.conv", names) == "module.block.module.conv"


class _OwnReluBesideItsModule(nn.Module):
    """A network with its own relu after a block it holds at ``module``, so
    that behind a wrapper both relus are "module" prefixes and a relu."""

    def __init__(self):
        super().__init__()
        self.module = _ConvBlock(5)
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(4 * 32, 2)

    def forward(self, x):  # noqa: D102
        return self.classifier(self.relu(self.conv(self.module(x))).flatten(1))


@pytest.mark.parametrize("layer", ["relu", "module.relu"])
def test_a_layer_is_named_as_its_network_names_it_beside_a_child_named_module(layer):
    """Behind the input scaling, "relu" was refused as ambiguous (module.relu,
    module.module.relu), though the network names one relu so, as every
    message shows it; and "module.relu" gave the maps of the network's own
    relu, not of its block's. Each name is the layer the network calls by it."""
    torch.manual_seed(0)
    net = _OwnReluBesideItsModule().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    expected = get_method("grad_cam")(net).attribute(inputs, target, layer=layer)
    wrapped = ScaledInput(net, 1.0)
    maps = get_method("grad_cam")(wrapped).attribute(inputs, target, layer=layer)
    torch.testing.assert_close(maps, expected)


class Conv2dTwin(nn.Module):
    """The same computation as Conv1dNet with Conv2d layers (weights copied)."""

    def __init__(self, net, n_channels=5):
        super().__init__()
        self.spatial = nn.Conv2d(1, 4, (n_channels, 1))
        self.temporal = nn.Conv2d(4, 4, (1, 9), padding=(0, 4), groups=4)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool2d((1, 4))
        self.flatten = nn.Flatten()
        self.classifier = net.classifier
        with torch.no_grad():
            self.spatial.weight.copy_(net.spatial.weight.reshape(4, 1, n_channels, 1))
            self.spatial.bias.copy_(net.spatial.bias)
            self.temporal.weight.copy_(net.temporal.weight.unsqueeze(2))
            self.temporal.bias.copy_(net.temporal.bias)

    def forward(self, x):
        hidden = self.relu(self.temporal(self.spatial(x.unsqueeze(1))))
        return self.classifier(self.flatten(self.pool(hidden)))


@pytest.mark.parametrize("method", CAM_METHODS + ["full_grad"])
def test_cams_on_conv1d_feature_maps_equal_their_conv2d_twin(method):
    torch.manual_seed(0)
    net = Conv1dNet().eval()
    twin = Conv2dTwin(net).eval()
    inputs = torch.randn(N_EPOCHS, 5, 32)
    target = torch.tensor([0, 1, 1])
    with torch.no_grad():
        torch.testing.assert_close(net(inputs), twin(inputs))
    params = {} if method == "full_grad" else {"layer": "relu"}
    one_d = get_method(method)(net).attribute(inputs, target, **params)
    two_d = get_method(method)(twin).attribute(inputs, target, **params)
    assert one_d.abs().amax() > 0
    torch.testing.assert_close(one_d, two_d, rtol=1e-4, atol=1e-5)


def _overwritten_in_place(in_place, batch_norm):
    """A convolution (and batch norm) whose output the activation after it
    overwrites when ``in_place``: ELU after the batch norm, else ReLU."""
    torch.manual_seed(0)
    block = [nn.Conv1d(3, 4, 5, padding=2)]
    if batch_norm:
        block += [nn.BatchNorm1d(4), nn.ELU(inplace=in_place)]
    else:
        block += [nn.ReLU(inplace=in_place)]
    net = nn.Sequential(*block, nn.AvgPool1d(2), nn.Flatten(), nn.Linear(64, 2))
    if batch_norm:
        with torch.no_grad():
            net[1].running_mean.uniform_(-1, 1)
            net[1].bias.uniform_(-1, 1)
    return net.eval()


@pytest.mark.parametrize("method", CAM_METHODS)
@pytest.mark.parametrize("batch_norm", [True, False], ids=["bn-elu", "conv-relu"])
def test_cams_of_a_layer_overwritten_in_place_are_its_own(method, batch_norm):
    """The maps of the layer before ELU(inplace=True) or ReLU(inplace=True) were
    the activation's: its output, recorded as the layer's, was overwritten."""
    layer = "1" if batch_norm else "0"
    inputs = torch.randn(4, 3, 32, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([0, 1, 0, 1])
    maps = [
        get_method(method)(_overwritten_in_place(in_place, batch_norm)).attribute(
            inputs, target, layer=layer, relu=False
        )
        for in_place in (False, True)
    ]
    assert maps[0].abs().amax() > 0
    torch.testing.assert_close(maps[1], maps[0])


class SharedTemporalFilter(nn.Module):
    """One temporal filter for every channel: its batch is epochs x channels."""

    def __init__(self, n_channels=3, n_times=32):
        super().__init__()
        self.temporal = nn.Conv1d(1, 4, 5, padding=2)
        self.relu = nn.ReLU()
        self.spatial = nn.Conv1d(4 * n_channels, 6, 1)
        self.spatial_relu = nn.ReLU()
        self.classifier = nn.Linear(6 * n_times, 2)

    def forward(self, x):
        n_epochs, n_channels, n_times = x.shape
        filtered = self.relu(self.temporal(x.reshape(-1, 1, n_times)))
        maps = self.spatial(filtered.reshape(n_epochs, -1, n_times))
        return self.classifier(self.spatial_relu(maps).flatten(1))


@pytest.mark.parametrize(
    "method, layer",
    [(method, layer) for method in CAM_METHODS for layer in ("temporal", "relu")]
    + [("full_grad", None)],
)
def test_a_layer_whose_batch_is_not_the_epochs_is_refused(method, layer):
    """Maps of a layer whose batch is epochs x channels had a map per channel
    row: averaged as epochs they were a wrong Evoked, else numpy's broadcast
    error."""
    torch.manual_seed(0)
    net = SharedTemporalFilter().eval()
    inputs, target = torch.randn(N_EPOCHS, 3, 32), torch.tensor([0, 1, 1])
    params = {} if layer is None else {"layer": layer}
    refused = layer or "temporal"  # FullGrad's first layer with a bias
    with pytest.raises(ValueError, match=f"'{refused}' returns a batch of 3 for one"):
        get_method(method)(net).attribute(inputs, target, **params)
    if layer is not None:  # after the batch holds the epochs again
        maps = get_method(method)(net).attribute(inputs, target, layer="spatial")
        assert maps.shape == inputs.shape


class ConvolutionHead(nn.Module):
    """Conv1dNet with its dense classifier as a convolution spanning all pooled
    times, as braindecode's conv_classifier: logits of shape (batch, 2, 1)."""

    def __init__(self, net):
        super().__init__()
        self.spatial, self.temporal = net.spatial, net.temporal
        self.relu, self.pool = net.relu, net.pool
        n_pooled = net.classifier.in_features // 4
        self.classifier = nn.Conv1d(4, 2, n_pooled)
        self.flatten = nn.Flatten()
        with torch.no_grad():
            self.classifier.weight.copy_(net.classifier.weight.reshape(2, 4, -1))
            self.classifier.bias.copy_(net.classifier.bias)

    def forward(self, x):
        hidden = self.pool(self.relu(self.temporal(self.spatial(x))))
        return self.flatten(self.classifier(hidden))


class _SpatialFilterFirst(nn.Module):
    """A spatial filter to as many virtual channels as electrodes (if ``mix``),
    then temporal filters whose maps keep one row per virtual channel."""

    def __init__(self, mix, n_channels=4, n_times=32):
        super().__init__()
        torch.manual_seed(0)
        self.mix = mix
        self.spatial = nn.Conv1d(n_channels, n_channels, 1, bias=False)
        self.temporal = nn.Conv2d(1, 3, (1, 5), padding=(0, 2))
        self.elu = nn.ELU()
        self.depthwise = nn.Conv2d(3, 6, (n_channels, 1))
        self.depthwise_elu = nn.ELU()
        self.classifier = nn.Linear(6 * n_times, 2)

    def forward(self, x):
        if self.mix:
            x = self.spatial(x)
        x = self.elu(self.temporal(x.unsqueeze(1)))
        return self.classifier(self.depthwise_elu(self.depthwise(x)).flatten(1))


@pytest.mark.parametrize("method", CAM_METHODS + ["full_grad"])
def test_a_layer_whose_rows_are_not_the_channels_is_refused(method):
    """Rows of virtual channels were placed on the electrodes: with activity on
    channel 0 alone, Score-CAM's map of the temporal block put 72 percent of
    its mass on channel 3 and none on channel 0 (all of it there, unmixed)."""
    inputs = torch.zeros(2, 4, 32)
    inputs[:, 0, 10:14] = 5.0
    target = torch.tensor([0, 1])
    params = {} if method == "full_grad" else {"layer": "elu"}
    mixed = get_method(method)(_SpatialFilterFirst(mix=True).eval())
    with pytest.raises(ValueError, match="its rows are not the channels"):
        mixed.attribute(inputs, target, **params)
    unmixed = get_method(method)(_SpatialFilterFirst(mix=False).eval())
    assert torch.isfinite(unmixed.attribute(inputs, target, **params)).all()


class _Doubled(nn.Module):
    """A parameter-free layer of one's own: twice its input."""

    def forward(self, x):  # noqa: D102
        return 2 * x


class _OwnLayerAfterReLU(Conv1dNet):
    """Conv1dNet with its ReLU's maps doubled by a layer of one's own."""

    def __init__(self):
        super().__init__()
        self.doubled = _Doubled()

    def forward(self, x):  # noqa: D102
        hidden = self.doubled(self.relu(self.temporal(self.spatial(x))))
        return self.classifier(self.flatten(self.pool(hidden)))


def test_a_parameter_free_layer_of_ones_own_is_a_layer_to_explain():
    """The time grid passes over parameter-free modules of other libraries
    before the layer, not the layer itself: taken as one of them, it would
    have no grid. Its maps are the ReLU's doubled, and its gradient half the ReLU's:
    the same Grad-CAM."""
    torch.manual_seed(0)
    net = _OwnLayerAfterReLU().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    grad_cam = get_method("grad_cam")(net)
    torch.testing.assert_close(
        grad_cam.attribute(inputs, target, layer="doubled"),
        grad_cam.attribute(inputs, target, layer="relu"),
    )


class _TimeReordered(Conv1dNet):
    """Conv1dNet after a reordering of time that keeps its length."""

    def __init__(self, reorder):
        super().__init__()
        self.reorder = reorder
        self.dense_over_time = nn.Linear(32, 32, bias=False)
        with torch.no_grad():
            self.dense_over_time.weight.copy_(torch.eye(32).flip(0))

    def forward(self, x):
        if self.reorder == "flip":
            x = torch.flip(x, dims=[-1])
        elif self.reorder == "roll":
            x = torch.roll(x, 12, dims=-1)
        elif self.reorder == "dense":
            x = self.dense_over_time(x)
        return super().forward(x)


@pytest.mark.parametrize("method", CAM_METHODS + ["full_grad"])
@pytest.mark.parametrize("reorder", ["flip", "roll", "dense"])
def test_a_layer_whose_times_are_reordered_is_refused(method, reorder):
    """The grid follows the lengths the windows leave: time mirrored or shifted
    before the layer passed, and Grad-CAM put evidence of samples 48-55 at 8-15."""
    torch.manual_seed(0)
    inputs, target = torch.randn(2, 5, 32), torch.tensor([0, 1])
    params = {} if method == "full_grad" else {"layer": "relu"}
    reordered = get_method(method)(_TimeReordered(reorder).eval())
    with pytest.raises(ValueError, match="The network reorders or mixes time"):
        reordered.attribute(inputs, target, **params)
    torch.manual_seed(0)
    kept = get_method(method)(_TimeReordered(None).eval())
    assert torch.isfinite(kept.attribute(inputs, target, **params)).all()


class _ShiftedTime(nn.Module):
    """Time rolled by ``shift`` samples before a convolution whose kernel of 9
    samples peaks at its center, so that a change of the input at sample t
    changes the layer most at sample t + shift."""

    def __init__(self, shift):
        super().__init__()
        self.shift = shift
        self.conv = nn.Conv1d(2, 1, 9, padding=4, bias=False)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(32, 2)
        tent = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 1.0])
        with torch.no_grad():
            self.conv.weight.copy_(tent.expand(1, 2, 9))

    def forward(self, x):
        x = torch.roll(x, self.shift, dims=-1)
        return self.classifier(self.relu(self.conv(x)).flatten(1))


def test_a_shift_of_time_past_half_the_receptive_field_is_refused():
    """A layer sample answers to the input times within half its receptive field
    of 9 samples, and a step: a shift of 7 samples, which put the maps 7 samples
    off, was refused only past the whole field."""
    torch.manual_seed(0)
    inputs, target = torch.randn(2, 2, 32), torch.tensor([0, 1])
    # The refusal says how far a sample may answer: the field, and a step.
    message = (
        r"at its sample 15, .*"
        r"\(9 samples around 8, give or take the layer's step of 1\)"
    )
    with pytest.raises(ValueError, match=message):
        get_method("grad_cam")(_ShiftedTime(7).eval()).attribute(
            inputs, target, layer="conv"
        )


@pytest.mark.parametrize("method", CAM_METHODS)
@pytest.mark.parametrize("shift", [2, 4])
def test_a_shift_of_time_within_the_receptive_field_is_refused(method, shift):
    """Time rolled by 2 or 4 samples kept its length, which is all the grid
    follows, and changed the layer most within its receptive field of 9: the
    maps were placed 2 or 4 samples off without a word. Each layer sample must
    read input times within the receptive field the grid gives it."""
    torch.manual_seed(0)
    inputs, target = torch.randn(2, 2, 32), torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"reads input samples \d+ to \d+"):
        get_method(method)(_ShiftedTime(shift).eval()).attribute(
            inputs, target, layer="conv"
        )


@pytest.mark.parametrize("method", CAM_METHODS)
@pytest.mark.parametrize("returning_its_input", [nn.Dropout(0.5), nn.Identity()])
def test_a_shift_is_refused_after_a_layer_returning_its_input(
    method, returning_its_input
):
    """A layer returning its input (dropout in evaluation mode) adds no node
    to the graph, so it was taken for an attention gate and held constant in
    the check above: the layer after it read no input, and a shift of 2
    samples went unseen at the ReLU after the convolution."""
    network = _ShiftedTime(2)
    network.conv = nn.Sequential(network.conv, returning_its_input)
    torch.manual_seed(0)
    inputs, target = torch.randn(2, 2, 32), torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"layer 'relu'.*reads input samples"):
        get_method(method)(network.eval()).attribute(inputs, target, layer="relu")


def test_a_layer_reading_its_receptive_field_is_placed():
    """Unshifted, the same layer is explained, on the conv's own samples."""
    torch.manual_seed(0)
    inputs, target = torch.randn(2, 2, 32), torch.tensor([0, 1])
    maps = get_method("grad_cam")(_ShiftedTime(0).eval()).attribute(
        inputs, target, layer="conv", relu=False
    )
    assert maps.abs().amax() > 0


@pytest.mark.parametrize("n_times", range(9, 24))
@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(3, 2, 1), (2, 2, 0), (4, 3, 1), (2, 2, 1)]
)
def test_the_time_grid_follows_ceil_mode_pooling(n_times, kernel, stride, padding):
    """ceil_mode's last, partial window was refused as time changed in another
    way, saying the layers before the pooling left the samples it should return."""
    pool = nn.MaxPool1d(kernel, stride=stride, padding=padding, ceil_mode=True)
    net = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), pool)
    calls = trace_layers(net, torch.randn(1, 2, n_times))
    grid = time_grid(calls, "1")
    assert grid.step == stride and grid.first_center == (kernel - 1) / 2 - padding


@pytest.mark.parametrize(
    ("kernel", "padding", "first_center"),
    [(5, 0, 4.5), (3, 0, 2.5), (5, 1, 2.5), (5, 2, 0.5)],
)
def test_the_time_grid_of_a_window_after_pooling(kernel, padding, first_center):
    """As Deep4Net's blocks: pooling by 2 centers its sample j on input sample
    2 j + 0.5, so a window of `kernel` pooled samples, `padding` of them
    padding, centers its first on 0.5 + 2 ((kernel - 1) / 2 - padding): the
    offset within the window counts in pooled samples, 2 input samples each."""
    net = nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1),
        nn.MaxPool1d(2, 2),
        nn.Conv1d(3, 3, kernel, padding=padding),
    )
    calls = trace_layers(net, torch.randn(1, 2, 32))
    grid = time_grid(calls, "2")
    assert (grid.first_center, grid.step) == (first_center, 2.0)


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [nn.Conv1d(1, 1, 4, padding="same")],
        lambda: [nn.Conv1d(1, 1, 3, padding=1), nn.AvgPool1d(2), nn.Conv1d(1, 1, 3)],
        lambda: [
            nn.Conv1d(1, 1, 3, dilation=2),
            nn.AvgPool1d(3, stride=2),
            nn.Conv1d(1, 1, 4, padding="same"),
        ],
        lambda: [nn.ConstantPad1d((3, 1), 0.0), nn.Conv1d(1, 1, 5)],
        lambda: [nn.Conv1d(1, 1, 3), nn.ZeroPad2d((2, 0, 0, 0)), nn.Conv1d(1, 1, 4)],
        lambda: [nn.AvgPool1d(2), nn.ConstantPad1d((-1, 2), 0.0), nn.Conv1d(1, 1, 3)],
    ],
    ids=[
        "same, even kernel",
        "conv after pooling",
        "dilated, pooled, same",
        "padded",
        "padded 2d",
        "cropped after pooling",
    ],
)
def test_the_time_grid_is_the_receptive_field_of_each_sample(layers):
    """A layer sample's center and span on the grid are those of the input samples
    it reads (its gradient's support). Torch pads an even kernel's "same" one
    sample less on the left, and a window after pooling spans pooled samples:
    other centers misplaced the maps, other spans the check of their times. A
    padding layer (USleep's ConstantPad1d) was refused, though the activations
    of the layers after it were dated."""
    net = nn.Sequential(*layers())
    with torch.no_grad():
        for conv in net:
            if isinstance(conv, nn.Conv1d):
                conv.weight.fill_(1.0)
    inputs = torch.zeros(1, 1, 40, requires_grad=True)
    grid = time_grid(trace_layers(net, inputs), str(len(net) - 1))
    outputs = net(inputs)
    sample = outputs.shape[-1] // 2  # away from the padding
    (gradient,) = torch.autograd.grad(outputs[0, 0, sample], inputs)
    read = torch.nonzero(gradient[0, 0])[:, 0].double()
    assert grid.first_center + sample * grid.step == (read[0] + read[-1]) / 2
    assert grid.span == read[-1] - read[0] + 1


def _pooled_twice(pooling):
    """A convolution, ``pooling`` by 4 over time, a second block and a head."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(5, 4, 5, padding=2),
        pooling,
        nn.Conv1d(4, 3, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 6, 2),
    ).eval()


@pytest.mark.parametrize("method", CAM_METHODS + ["full_grad"])
@pytest.mark.parametrize(
    ("adaptive", "fixed"),
    [
        (nn.AdaptiveAvgPool1d(8), nn.AvgPool1d(4)),
        (nn.AdaptiveMaxPool1d(8), nn.MaxPool1d(4)),
    ],
)
def test_an_adaptive_pooling_that_divides_time_is_its_fixed_windows(
    method, adaptive, fixed
):
    """AdaptiveAvgPool1d(n_times // 4) pools the windows of AvgPool1d(4); it was
    refused as time "changed in a way other than a convolution or pooling
    window". The maps are those of the fixed pooling, the same weights."""
    inputs = torch.randn(3, 5, 32, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 1, 1])
    params = {} if method == "full_grad" else {"layer": "3"}
    maps = get_method(method)(_pooled_twice(adaptive)).attribute(
        inputs, target, **params
    )
    expected = get_method(method)(_pooled_twice(fixed)).attribute(
        inputs, target, **params
    )
    assert maps.abs().amax() > 0
    torch.testing.assert_close(maps, expected)
    grid = time_grid(trace_layers(_pooled_twice(adaptive), inputs[:1]), "3")
    assert (grid.first_center, grid.step) == (1.5 + 4.0, 4.0)


@pytest.mark.parametrize(("n_times", "n_pooled"), [(32, 7), (10, 3)])
def test_an_adaptive_pooling_of_unequal_windows_is_refused(n_times, n_pooled):
    """32 samples pooled to 7 take windows of 4 and 5 samples: no single step.
    10 pooled to 3 take overlapping windows of 4 samples, 3 apart: taken for
    AvgPool1d(3)'s, which give as many samples, they would be placed half a
    sample early."""
    net = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.AdaptiveAvgPool1d(n_pooled))
    calls = trace_layers(net, torch.randn(1, 2, n_times))
    with pytest.raises(ValueError, match="adaptive pooling is placed on the grid"):
        time_grid(calls, "1")


class _Chomp(nn.Module):
    """braindecode's Chomp1d: the padding's last samples cropped."""

    def forward(self, x):
        return x[:, :, :-2].contiguous()


def test_a_crop_by_another_library_is_named_in_the_refusal():
    """The grid passes over other libraries' parameter-free modules (they may
    move time and back); braindecode's Chomp1d crops it, and the refusal named
    only the ReLU after it, as if the ReLU had received the wrong length."""
    net = nn.Sequential(nn.Conv1d(2, 3, 3, padding=2), _Chomp(), nn.ReLU())
    calls = trace_layers(net, torch.randn(1, 2, 32))
    with pytest.raises(ValueError, match=re.escape("'2' (ReLU) receives")) as error:
        time_grid(calls, "2")
    assert "34 time samples, on the last axis: '1' (_Chomp) before it" in str(
        error.value
    )


class _TimeFirst(nn.Module):
    """einops' Rearrange "batch maps time -> batch time maps" (MSVTNet's)."""

    def forward(self, x):
        return x.transpose(1, 2)


class _BranchesEndingInRearrange(nn.Module):
    """MSVTNet's layout: parallel pooled branches, each ending with a Rearrange."""

    def __init__(self):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.MaxPool1d(4), _TimeFirst())
            for _ in range(2)
        )

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=2)


def test_a_module_of_another_library_ending_a_branch_is_not_blamed():
    """The second branch's convolution reads the input, not the first branch's
    Rearrange; it was refused as if that Rearrange had cropped time to 8."""
    calls = trace_layers(_BranchesEndingInRearrange(), torch.randn(1, 2, 32))
    with pytest.raises(ValueError, match="runs through parallel branches") as error:
        time_grid(calls, "branches.1.0")
    assert "_TimeFirst" not in str(error.value)


class _PooledBesideAnUnpooledBranch(nn.Module):
    """Time moved away and back by another library's modules, then pooled on
    one branch and convolved on another that reads the unpooled maps."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, padding=1)
        self.time_first, self.time_last = _TimeFirst(), _TimeFirst()
        self.pool = nn.MaxPool1d(4)
        self.unpooled = nn.Conv1d(3, 3, 3, padding=1)

    def forward(self, x):
        x = self.time_last(self.time_first(self.conv(x)))
        return torch.cat([self.pool(x), self.unpooled(x)], dim=2)


def test_a_module_of_another_library_placed_on_the_grid_is_not_blamed_later():
    """The Rearrange's output reached the pooling with all its time samples;
    the branch refused after the pooling is no crop of it."""
    calls = trace_layers(_PooledBesideAnUnpooledBranch(), torch.randn(1, 2, 32))
    with pytest.raises(ValueError, match="runs through parallel branches") as error:
        time_grid(calls, "unpooled")
    assert "_TimeFirst" not in str(error.value)


class _RowsOfFrequency(nn.Module):
    """A 2-D convolution whose maps have rows that are neither one nor the
    channels (ContraWR's convolutions of spectrograms: rows of frequency)."""

    def __init__(self, n_channels=5, n_times=32):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, (3, 5), padding=(0, 2))
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(3 * (n_channels - 2) * n_times, 2)

    def forward(self, x):
        return self.classifier(self.relu(self.conv(x.unsqueeze(1))).flatten(1))


@pytest.mark.parametrize("method", CAM_METHODS + ["full_grad"])
def test_a_refused_layer_is_advised_as_the_method_allows(method):
    """FullGrad draws the bias term of every layer with a bias and takes no
    layer; on ContraWR it was told to "Choose a convolution block's layer"."""
    torch.manual_seed(0)
    explainer = get_method(method)(_RowsOfFrequency().eval())
    params = {} if method == "full_grad" else {"layer": "conv"}
    refused = re.escape("'conv' returns shape (1, 3, 3, 32)")
    with pytest.raises(ValueError, match=refused) as error:
        explainer.attribute(torch.randn(2, 5, 32), torch.tensor([0, 1]), **params)
    message = str(error.value)
    if method == "full_grad":
        assert "Choose" not in message
        assert "FullGrad's bias terms need feature maps" in message
        assert "it takes no layer: use a gradient method" in message
    else:
        assert "class activation maps need feature maps" in message
        assert "Choose a convolution block's layer, or a gradient method" in message


def test_full_grad_leaves_out_a_convolution_head_as_a_dense_one():
    """The head's bias term has one value per map, no time to draw; the
    decomposition still adds up to the logit, and the map is that of the same
    network with a dense head (it refused the network)."""
    torch.manual_seed(0)
    net = Conv1dNet().eval()
    head = ConvolutionHead(net).eval()
    inputs = torch.randn(N_EPOCHS, 5, 32)
    target = torch.tensor([0, 1, 1])
    with torch.no_grad():
        logits = head(inputs)
    torch.testing.assert_close(logits, net(inputs))
    input_term, bias_terms = _full_gradient_decomposition(head, inputs, target)
    assert bias_terms["classifier"].shape == (N_EPOCHS, 2, 1)
    total = input_term.sum(dim=(1, 2)) + sum(
        term.flatten(1).sum(dim=1) for term in bias_terms.values()
    )
    torch.testing.assert_close(total, logits.gather(1, target[:, None])[:, 0])
    expected = get_method("full_grad")(net).attribute(inputs, target)
    maps = get_method("full_grad")(head).attribute(inputs, target)
    torch.testing.assert_close(maps, expected)


def test_the_default_layer_is_the_block_before_a_convolution_head():
    """A convolution spanning all pooled times (braindecode's conv_classifier)
    is no block's last convolution, though it reads a block's maps: taken for
    one, it would be refused for its single sample. The default is the ReLU before
    it, as before a dense head."""
    torch.manual_seed(0)
    net = Conv1dNet().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    maps = get_method("grad_cam")(ConvolutionHead(net).eval()).attribute(inputs, target)
    expected = get_method("grad_cam")(net).attribute(inputs, target, layer="relu")
    torch.testing.assert_close(maps, expected)


class AuxiliaryHead(nn.Module):
    """Conv1dNet with a second head computed in forward and not returned in
    evaluation (braindecode's MSVTNet trains its branch heads so)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.auxiliary = nn.Linear(4 * 32, 2)

    def forward(self, x):
        hidden = self.net.relu(self.net.temporal(self.net.spatial(x)))
        self.auxiliary(hidden.flatten(1))
        return self.net.classifier(self.net.flatten(self.net.pool(hidden)))


def test_full_grad_leaves_out_a_biased_layer_off_the_way_to_the_logits():
    """Its output has no gradient; torch's "appears to not have been used in
    the graph" ended the call. It adds nothing to the logits, so the map is
    that of the network without it."""
    torch.manual_seed(0)
    net = Conv1dNet().eval()
    inputs = torch.randn(N_EPOCHS, 5, 32)
    target = torch.tensor([0, 1, 1])
    expected = get_method("full_grad")(net).attribute(inputs, target)
    maps = get_method("full_grad")(AuxiliaryHead(net).eval()).attribute(inputs, target)
    torch.testing.assert_close(maps, expected)


class PerChannelFrontNet(nn.Module):
    """A batch norm of the input and a depthwise convolution keep the channels
    apart on axis 1 of (batch, channels, time); a 1x1 convolution mixes them."""

    def __init__(self):
        super().__init__()
        self.input_bn = nn.BatchNorm1d(4)
        self.depthwise = nn.Conv1d(4, 4, 5, padding=2, groups=4, bias=False)
        self.spatial = nn.Conv1d(4, 3, 1, bias=False)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(3 * 32, 2)

    def forward(self, x):
        maps = self.spatial(self.depthwise(self.input_bn(x)))
        return self.classifier(self.relu(maps).flatten(1))


def test_full_grad_keeps_a_bias_of_one_channel_on_that_channel():
    """A batch norm's bias on channel 2 alone was spread over all channels, the
    (batch, channels, time) rows summed as if they were maps."""
    torch.manual_seed(0)
    net = PerChannelFrontNet().eval()
    with torch.no_grad():
        net.input_bn.bias.zero_()
        net.input_bn.bias[2] = 1.0
    inputs = torch.randn(N_EPOCHS, 4, 32)
    target = torch.tensor([0, 1, 1])
    method = get_method("full_grad")(net)
    _, bias_terms = _full_gradient_decomposition(net, inputs, target)
    assert bias_terms["input_bn"].abs().sum(dim=-1)[:, [0, 1, 3]].max() == 0
    input_only = _min_max_scale(
        _full_gradient_decomposition(net, inputs, target)[0].abs(), dims=(1, 2)
    )
    from_bias = method.attribute(inputs, target) - input_only
    per_channel = from_bias.abs().sum(dim=-1)
    assert per_channel[:, [0, 1, 3]].max() < 1e-6 < per_channel[:, 2].min()


def test_full_grad_maps_of_an_epoch_do_not_depend_on_the_first_one():
    """Whether a bias term has one row per channel was probed with the first
    epoch explained: with a flat channel there, every later epoch's map of the
    input batch norm's bias was spread over all channels."""
    torch.manual_seed(0)
    net = PerChannelFrontNet().eval()
    with torch.no_grad():
        net.input_bn.bias.uniform_(-1, 1)
    inputs, target = torch.randn(N_EPOCHS, 4, 32), torch.tensor([0, 1, 1])
    inputs[0, 2] = 0.0
    together = get_method("full_grad")(net).attribute(inputs, target)
    alone = get_method("full_grad")(net).attribute(inputs[1:], target[1:])
    torch.testing.assert_close(together[1:], alone)


class TokenwiseLinearNet(nn.Module):
    """A strided convolution makes tokens, a dense layer runs on each of them
    (batch, tokens, features), as in transformer-style networks."""

    def __init__(self, n_tokens, n_features):
        super().__init__()
        self.conv = nn.Conv1d(3, n_features, 32 // n_tokens, stride=32 // n_tokens)
        self.token_linear = nn.Linear(n_features, n_features)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(n_tokens * n_features, 2)

    def forward(self, x):
        tokens = self.conv(x).transpose(1, 2)
        return self.classifier(self.relu(self.token_linear(tokens)).flatten(1))


@pytest.mark.parametrize("n_tokens", [4, 8])
def test_full_grad_adds_a_tokenwise_dense_bias_on_the_features(n_tokens):
    """A dense layer's bias is added along the last axis, not axis 1: with it
    the decomposition adds up to the logit (it missed it, or crashed when tokens
    and features differ in number), and the term, with no time axis, is left out
    of the map like any dense layer's."""
    torch.manual_seed(0)
    net = TokenwiseLinearNet(n_tokens, n_features=8).eval()
    inputs = torch.randn(N_EPOCHS, 3, 32)
    target = torch.tensor([0, 1, 1])
    input_term, bias_terms = _full_gradient_decomposition(net, inputs, target)
    hidden = net.token_linear(net.conv(inputs).transpose(1, 2))
    logits = net.classifier(net.relu(hidden).flatten(1))
    (gradient,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), hidden)
    torch.testing.assert_close(
        bias_terms["token_linear"], gradient * net.token_linear.bias
    )
    total = input_term.sum(dim=(1, 2)) + sum(
        term.flatten(1).sum(dim=1) for term in bias_terms.values()
    )
    torch.testing.assert_close(total, logits.gather(1, target[:, None])[:, 0])
    method = get_method("full_grad")(net)
    conv_term = _min_max_scale(bias_terms["conv"].abs(), dims=(1, 2))
    expected = _min_max_scale(input_term.abs(), dims=(1, 2)) + method._on_inputs(
        conv_term.sum(dim=1, keepdim=True),
        method._feature_layer(inputs, "conv").grid,
        inputs,
    )
    torch.testing.assert_close(method.attribute(inputs, target), expected)


class RecurrentNet(nn.Module):
    """A convolution, then an LSTM or attention over time: biases that are no
    ``bias`` tensor of a module called in forward."""

    def __init__(self, kind):
        super().__init__()
        self.conv = nn.Conv1d(3, 8, 5, padding=2)
        if kind == "lstm":
            self.sequence = nn.LSTM(8, 8, batch_first=True)
        else:
            self.sequence = nn.MultiheadAttention(8, 2, batch_first=True)
        self.classifier = nn.Linear(8, 2)

    def forward(self, x):
        tokens = self.conv(x).transpose(1, 2)
        if isinstance(self.sequence, nn.LSTM):
            tokens, _ = self.sequence(tokens)
        else:
            tokens, _ = self.sequence(tokens, tokens, tokens)
        return self.classifier(tokens.mean(dim=1))


@pytest.mark.parametrize("kind", ["lstm", "attention"])
def test_full_grad_refuses_biases_it_cannot_count(kind):
    """An LSTM's bias_ih_l0 and attention's in_proj_bias were left out of the
    decomposition without a word: it then missed the logit by 116 percent on
    an LSTM network."""
    torch.manual_seed(0)
    net = RecurrentNet(kind).eval()
    with torch.no_grad():  # attention's start at zero; trained, they are not
        for name, parameter in net.sequence.named_parameters():
            if "bias" in name:
                parameter.uniform_(-0.5, 0.5)
    inputs = torch.randn(N_EPOCHS, 3, 32)
    with pytest.raises(ValueError, match="FullGrad's decomposition does not hold"):
        get_method("full_grad")(net).attribute(inputs, torch.tensor([0, 1, 1]))


class _BufferBias(nn.Module):
    """A fixed bias, a buffer rather than a parameter."""

    def __init__(self):
        super().__init__()
        self.register_buffer("bias", torch.ones(8, 1))

    def forward(self, x):
        return x + self.bias


def test_full_grad_refuses_a_bias_held_as_a_buffer():
    """Found by its parameters' names only, a buffer bias was left out of the
    decomposition (sums of -0.26 for logits of -1.11)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(3, 8, 5, padding=2), _BufferBias(), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 32, 2),
    ).eval()  # fmt: skip
    with pytest.raises(ValueError, match="FullGrad's decomposition does not hold"):
        get_method("full_grad")(net).attribute(
            torch.randn(N_EPOCHS, 3, 32), torch.tensor([0, 1, 1])
        )


class _Offset(nn.Module):
    """A learned offset per map, under a name other than ``bias``."""

    def __init__(self, value):
        super().__init__()
        self.offset = nn.Parameter(torch.full((8, 1), value))

    def forward(self, x):
        return x + self.offset


class _CombinedConv(nn.Module):
    """Two convolutions applied as one, as braindecode's ``CombinedConv``: the
    parent runs ``F.conv1d`` with its children's weights, so the children are
    never called and their biases reach the output unseen by hooks."""

    def __init__(self):
        super().__init__()
        self.first = nn.Conv1d(3, 8, 5, padding=2)
        self.second = nn.Conv1d(8, 8, 1)
        with torch.no_grad():  # negative: ReLU zeroes it at a zero input
            self.second.bias.fill_(-0.3)

    def forward(self, x):
        weight = torch.einsum(
            "om,mik->oik", self.second.weight[..., 0], self.first.weight
        )
        bias = self.second.weight[..., 0] @ self.first.bias + self.second.bias
        return nn.functional.conv1d(x, weight, bias, padding=2)


def _relu_net():
    return nn.Sequential(
        nn.Conv1d(3, 8, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 32, 2)
    )  # fmt: skip


class _Gain(nn.Module):
    """A learned gain per channel and a temperature: they multiply, no bias."""

    def __init__(self):
        super().__init__()
        self.net = _relu_net()
        self.gain = nn.Parameter(torch.tensor([[1.5], [0.0], [-2.0]]))
        self.temperature = nn.Parameter(torch.tensor(1.5))
        self.tied = nn.Module()  # an uncalled holder of a tied weight
        self.tied.weight = self.net[0].weight

    def forward(self, x):
        return self.net(x * self.gain) / self.temperature


class _ShiftedConv(nn.Conv1d):
    """A convolution adding a parameter of its own after its bias."""

    def __init__(self):
        super().__init__(3, 8, 5, padding=2)
        self.shift = nn.Parameter(torch.full((8, 1), 0.7))

    def forward(self, x):
        return super().forward(x) + self.shift


class _PlainOffset(nn.Module):
    """An offset kept as a plain tensor attribute, not registered."""

    def __init__(self, value=0.9):
        super().__init__()
        self.net = _relu_net()
        self.offset = torch.full((3, 1), value)

    def forward(self, x):
        return self.net(x + self.offset)


class _LayerNormNet(nn.Module):
    """A convolution, a layer norm without bias, ReLU, a dense layer."""

    def __init__(self):
        super().__init__()
        self.net = _relu_net()
        self.norm = nn.LayerNorm(32, bias=False)

    def forward(self, x):
        return self.net[3](self.net[2](self.net[1](self.norm(self.net[0](x)))))


@pytest.mark.parametrize(
    "first",
    [
        lambda: nn.Sequential(nn.Conv1d(3, 8, 5, padding=2), _Offset(0.5)),
        # Negative, after which ReLU is zero at a zero input: a probe there
        # saw no offset.
        lambda: nn.Sequential(nn.Conv1d(3, 8, 5, padding=2), _Offset(-0.5)),
        _CombinedConv,
        _ShiftedConv,
    ],
    ids=["offset", "negative offset", "parent applies children", "shifted conv"],
)
def test_full_grad_refuses_offsets_of_any_kind(first):
    """A bias under another name, one applied by a parent through
    torch.nn.functional, or a counted layer adding more than its bias, was
    left out of the decomposition without a word: off the logit of a ReLU
    network, where it is exact, by about its size."""
    torch.manual_seed(0)
    net = nn.Sequential(first(), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 32, 2))
    inputs, target = torch.randn(N_EPOCHS, 3, 32), torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match="FullGrad's decomposition does not hold"):
        get_method("full_grad")(net.eval()).attribute(inputs, target)


@pytest.mark.parametrize(
    "network",
    [
        _PlainOffset,
        lambda: _PlainOffset(0.01),
        lambda: _PlainOffset(1e-3),
        _LayerNormNet,
    ],
    ids=["offset", "small offset", "smaller offset", "layer norm"],
)
def test_full_grad_refuses_what_no_layer_it_counts_adds(network):
    """An offset held by no layer, and a layer norm (even without bias: it
    divides by each epoch's spread), were left out of the decomposition. The
    terms must sum to the logit to float32's precision: an offset of 0.01
    misses 0.1% to 5% of them, and changes every term's share as well; one of
    0.001 misses 0.02% to 0.4%, past the tolerance of 0.01% but within 1%."""
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="FullGrad's decomposition does not hold"):
        get_method("full_grad")(network().eval()).attribute(
            torch.randn(N_EPOCHS, 3, 32), torch.tensor([0, 1, 1])
        )


def test_full_grad_quotes_the_epoch_its_decomposition_misses_most():
    """The refusal quotes the sums of the epoch furthest from its logit: an
    epoch of zeros, whose layer norm gives zero maps, is decomposed exactly,
    and quoting it would say that the terms sum to the logit."""
    torch.manual_seed(0)
    net = _LayerNormNet().eval()
    inputs = torch.cat([torch.zeros(1, 3, 32), torch.randn(1, 3, 32)])
    logit = float(net(inputs)[1, 0])
    with pytest.raises(ValueError, match=re.escape(f"the logit is {logit:.4g}.")):
        get_method("full_grad")(net).attribute(inputs, torch.tensor([0, 0]))


def _with_unused_tensors():
    net = TinyReLUNet(bias=True)
    net.register_buffer("seen", torch.zeros(1))
    net.unused = nn.Conv1d(2, 2, 1)
    return net


def _relu_in_place():
    net = _relu_net()
    net[1] = nn.ReLU(inplace=True)
    return net


@pytest.mark.parametrize(
    "network, shape",
    [(_Gain, (3, 32)), (_with_unused_tensors, (2, 8)), (_relu_in_place, (3, 32))],
    ids=["what multiplies", "what the logit does not depend on", "ReLU in place"],
)
def test_full_grad_keeps_exact_decompositions(network, shape):
    """Refused by their tensors reaching the logit (or by their names), a
    gain, a temperature and a tied weight, or a counter and a layer never
    called, were turned away though the decomposition stays exact. A ReLU in
    place overwrote the convolution's output, whose gradient then weighed its
    bias without the ReLU's mask: the terms missed the logit, silently."""
    torch.manual_seed(0)
    net = network().eval()
    inputs, target = torch.randn(N_EPOCHS, *shape), torch.tensor([0, 1, 1])
    input_term, bias_terms = _full_gradient_decomposition(net, inputs, target)
    total = input_term.sum(dim=(1, 2)) + sum(
        term.flatten(1).sum(dim=1) for term in bias_terms.values()
    )
    torch.testing.assert_close(total, net(inputs).gather(1, target[:, None])[:, 0])


def test_full_grad_takes_the_implicit_bias_of_each_call_at_its_input():
    """An ELU called twice adds ``elu(z) - elu'(z) z`` at each call's own
    input ``z``: the two differ, here in length (the second follows a
    pooling), and the decomposition holds only with each."""
    torch.manual_seed(0)
    net = ReusedReLUNet()
    net.relu = nn.ELU()  # whose implicit bias, unlike a ReLU's, is not zero
    inputs, target = torch.randn(N_EPOCHS, 2, 4), torch.tensor([0, 1, 1])
    maps = get_method("full_grad")(net.eval()).attribute(inputs, target)
    assert maps.shape == inputs.shape


class _TanhNet(Conv1dNet):
    """Conv1dNet with a tanh where its ReLU was."""

    def __init__(self):
        super().__init__()
        self.relu = nn.Tanh()


def test_a_tanh_is_a_nonlinearity_of_the_cams_and_of_full_grad():
    """A tanh after the last convolution is the block's output that the CAMs
    read by default, and what it adds (tanh(z) - z tanh'(z)) one of the terms
    that FullGrad checks sum to the logit: without it FullGrad refuses."""
    torch.manual_seed(0)
    net = _TanhNet().eval()
    inputs, target = torch.randn(N_EPOCHS, 5, 32), torch.tensor([0, 1, 1])
    grad_cam = get_method("grad_cam")(net)
    torch.testing.assert_close(
        grad_cam.attribute(inputs, target),
        grad_cam.attribute(inputs, target, layer="relu"),
    )
    assert not torch.allclose(
        grad_cam.attribute(inputs, target),
        grad_cam.attribute(inputs, target, layer="temporal"),
    )
    maps = get_method("full_grad")(net).attribute(inputs, target)
    assert maps.shape == inputs.shape
    assert torch.isfinite(maps).all()


def _elu_net(in_place):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(3, 4, 5, padding=2),
        nn.ELU(inplace=in_place),
        nn.AvgPool1d(2),
        nn.Conv1d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64, 2),
    ).eval()


def test_full_grad_explains_an_elu_in_place_as_out_of_place():
    """ELU(inplace=True) was refused ("decomposition does not hold"): its
    implicit bias was taken at its input, which it had overwritten."""
    inputs, target = torch.randn(4, 3, 32), torch.tensor([0, 1, 0, 1])
    maps = [
        get_method("full_grad")(_elu_net(in_place)).attribute(inputs, target)
        for in_place in (False, True)
    ]
    torch.testing.assert_close(maps[1], maps[0])


def test_full_grad_takes_an_implicit_bias_through_a_users_pre_hook():
    """A user's forward pre-hook scaling a layer's input is part of the
    network. FullGrad takes the ELU's implicit bias by calling the layer
    again, which runs the hook again: given the input the hook had already
    scaled, it scaled it twice, the decomposition did not hold, and the
    network was refused."""
    inputs, target = torch.randn(4, 3, 32), torch.tensor([0, 1, 0, 1])
    net = _elu_net(in_place=True)
    net[1].register_forward_pre_hook(lambda _layer, args: (2 * args[0],))
    maps = get_method("full_grad")(net).attribute(inputs, target)
    assert torch.isfinite(maps).all()


class OneScoreNet(nn.Module):
    """A convolution, a ReLU and one score per epoch: a binary classifier."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(5, 3, 5, padding=2)
        self.relu = nn.ReLU()
        self.score = nn.Linear(3 * 32, 1)

    def forward(self, x):
        return self.score(self.relu(self.conv(x)).flatten(1))


class ZeroAndScore(nn.Module):
    """The same score as the logits (0, z): their softmax is (1 - p, p)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        score = self.net(x)
        return torch.cat([torch.zeros_like(score), score], dim=1)


def test_score_cam_weighs_a_binary_classifier_by_its_probability():
    """The softmax of the two log-odds (-z, z) is sigmoid(2 z), not the
    classifier's probability sigmoid(z): the maps were off by 6.5 percent."""
    net = OneScoreNet().eval()
    inputs = torch.randn(N_EPOCHS, 5, 32)
    target = torch.tensor([0, 1, 1])
    method = get_method("score_cam")
    maps = method(BinaryLogOdds(net)).attribute(inputs, target, layer="relu")
    expected = method(ZeroAndScore(net)).attribute(inputs, target, layer="net.relu")
    torch.testing.assert_close(maps, expected)
