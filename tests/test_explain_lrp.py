"""Invariants of LRP: conservation, LRP-0 = gradient x input, signs, captum, folding."""

import copy
import re

import mne
import numpy as np
import pytest
import torch
from captum.attr import LRP as CaptumLRP
from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule
from torch import nn
from torch.func import functional_call

from mne_xai import explain
from mne_xai.attribution._propagation import (
    fold_batch_norms,
    layers_computing_otherwise,
)
from mne_xai.attribution._registry import get_method
from mne_xai.attribution.lrp import _STABILIZER
from mne_xai.attribution.pattern import prepare_network
from mne_xai.models import EEGNet, InterpretableCNN

N_CHANNELS, N_TIMES = 3, 16
LRP_METHODS = [
    "lrp",
    "lrp_epsilon",
    "lrp_zplus",
    "lrp_alpha1_beta0",
    "lrp_alpha2_beta1",
    "lrp_composite",
]


class _ReLUNetwork(nn.Module):
    """A small ReLU network of layers captum's LRP supports (reshapes in forward)."""

    def __init__(self, convolutional, bias):
        super().__init__()
        self.convolutional = convolutional
        if convolutional:
            self.features = nn.Sequential(
                nn.Conv2d(1, 4, (1, 5), padding=(0, 2), bias=bias),
                nn.ReLU(),
                nn.AvgPool2d((1, 2)),
                nn.Conv2d(4, 6, (N_CHANNELS, 1), bias=bias),
                nn.ReLU(),
            )
            n_features = 6 * N_TIMES // 2
        else:
            self.features = nn.Sequential(
                nn.Linear(N_CHANNELS * N_TIMES, 32, bias=bias),
                nn.ReLU(),
                nn.Linear(32, 32, bias=bias),
                nn.ReLU(),
            )
            n_features = 32
        self.classifier = nn.Linear(n_features, 2, bias=bias)

    def forward(self, x):
        x = x.unsqueeze(1) if self.convolutional else x.flatten(1)
        return self.classifier(self.features(x).flatten(1))


def _data(n_epochs=5, positive=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    data = torch.randn(n_epochs, N_CHANNELS, N_TIMES, generator=generator)
    return (data.abs() if positive else data).double()


def _network(name, bias=True):
    torch.manual_seed(0)
    module = _ReLUNetwork(name == "convnet", bias).double().eval()
    if not bias:
        # Opposite class scores, so that one of them is positive.
        with torch.no_grad():
            module.classifier.weight[1] = -module.classifier.weight[0]
    return module


def _lrp(method, module, data, target, **params):
    return get_method(method)(module).attribute(data, target, **params)


def _target_logits(module, data, target):
    with torch.no_grad():
        return module(data).gather(1, target[:, None])[:, 0]


def _randomize_batch_norms(module, shift=True):
    """Give batch norms trained-looking statistics (zero shift if not ``shift``)."""
    generator = torch.Generator().manual_seed(1)
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
            size = layer.num_features
            layer.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            layer.weight.data.copy_(torch.rand(size, generator=generator) + 0.5)
            if shift:
                layer.running_mean.copy_(torch.randn(size, generator=generator))
                layer.bias.data.copy_(torch.randn(size, generator=generator))
    return module.eval()


def _small_eegnet(bias=True):
    torch.manual_seed(0)
    module = EEGNet(4, 2, 64, 64.0, F1=4, D=2, input_scale=2.0).double()
    if not bias:
        nn.init.zeros_(module.classifier.bias)
    return _randomize_batch_norms(module, shift=bias)


TARGET = torch.tensor([0, 1, 1, 0, 1])


def _positive_class(module, data):
    """The predicted classes, checked to have positive logits."""
    with torch.no_grad():
        logits, target = module(data).max(dim=1)
    assert (logits > 0).all()
    return target


# -- conservation and LRP-0 ------------------------------------------------------
@pytest.mark.parametrize(
    "method, network",
    [
        ("lrp_epsilon", "mlp"),
        ("lrp_epsilon", "convnet"),
        ("lrp_zplus", "mlp"),
        ("lrp_zplus", "convnet"),
        ("lrp_alpha1_beta0", "convnet"),
        # Dense units see inputs of both signs of contribution, as αβ needs.
        ("lrp_alpha2_beta1", "mlp"),
    ],
)
def test_relevance_is_conserved_without_biases(method, network):
    """Without biases the input relevance sums to the explained logit.

    The logit is positive so that z+ and αβ find positive contributions to
    give it to (a negative logit may have none).
    """
    module, data = _network(network, bias=False), _data()
    target = _positive_class(module, data)
    params = {"epsilon": 1e-9} if method == "lrp_epsilon" else {}
    relevance = _lrp(method, module, data, target, **params)
    np.testing.assert_allclose(
        relevance.sum(dim=(1, 2)), _target_logits(module, data, target), atol=1e-8
    )


@pytest.mark.parametrize("bias", [False, True])
def test_epsilon_conserves_through_eegnet_elu_and_pooling(bias):
    """On EEGNet (ELU, pooling, folded batch norm), relevance is conserved when
    no layer has a bias, and absorbed by the biases otherwise."""
    module = _small_eegnet(bias)
    data = torch.randn(5, 4, 64, dtype=torch.float64)
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-9)
    total, logits = relevance.sum(dim=(1, 2)), _target_logits(module, data, TARGET)
    if bias:
        assert not torch.allclose(total, logits, rtol=1e-2)
    else:
        np.testing.assert_allclose(total, logits, rtol=1e-5, atol=1e-8)


def test_large_epsilon_absorbs_relevance():
    """ε takes its share: the relevance shrinks as ε grows."""
    module, data = _network("mlp", bias=False), _data()
    totals = [
        _lrp("lrp_epsilon", module, data, TARGET, epsilon=epsilon).abs().sum()
        for epsilon in (1e-9, 1.0, 100.0)
    ]
    assert totals[0] > totals[1] > totals[2]


@pytest.mark.parametrize("network", ["mlp", "convnet"])
def test_lrp_zero_is_gradient_times_input_on_relu_networks(network):
    module, data = _network(network), _data()
    inputs = data.clone().requires_grad_()
    logits = module(inputs).gather(1, TARGET[:, None]).sum()
    (gradient,) = torch.autograd.grad(logits, inputs)
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    np.testing.assert_allclose(relevance, gradient * data, rtol=1e-5, atol=1e-8)


def test_lrp_zero_is_gradient_times_input_where_upsampling_gives_an_exact_zero():
    """Linear upsampling of samples 1 and -3 gives 0.75 - 0.75, an exact zero,
    which ReLU passes as zero with no relevance to hand down (its gradient is
    zero there too): the samples it was interpolated from get none from it."""
    torch.manual_seed(0)
    module = (
        nn.Sequential(
            nn.Upsample(scale_factor=2, mode="linear"),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(N_CHANNELS * 2 * N_TIMES, 2, bias=False),
        )
        .double()
        .eval()
    )
    data = _data()
    data[:, :, :2] = torch.tensor([1.0, -3.0], dtype=torch.float64)
    assert (module[1](module[0](data)) == 0).any()
    inputs = data.clone().requires_grad_()
    logits = module(inputs).gather(1, TARGET[:, None]).sum()
    (gradient,) = torch.autograd.grad(logits, inputs)
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    np.testing.assert_allclose(relevance, gradient * data, rtol=1e-5, atol=1e-8)


class _KeepsAnOffset(_ReLUNetwork):
    """The convolutional _ReLUNetwork also computing, in forward, offsets of
    fixed positions that only a penalty of training reads: a dense layer off
    the way to the logits, reading no input."""

    def __init__(self):
        super().__init__(convolutional=True, bias=True)
        self.register_buffer("positions", torch.linspace(-1, 1, N_TIMES)[:, None])
        self.offset = nn.Linear(1, 3)

    def forward(self, x):  # noqa: D102
        self.offsets = self.offset(self.positions)
        return super().forward(x)


@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus"])
def test_a_layer_reading_only_constants_off_the_logits_changes_nothing(method):
    """A layer's call reading neither the EEG nor another layer's output (its
    input needs no gradient) is no layer of the explanation: the maps are
    those of the network without it."""
    torch.manual_seed(0)  # the weights of _network("convnet")
    module = _KeepsAnOffset().double().eval()
    data, target = _data(), torch.tensor([0, 1, 1, 0, 1])
    torch.testing.assert_close(
        _lrp(method, module, data, target),
        _lrp(method, _network("convnet"), data, target),
    )


class _InPlaceResidual(nn.Module):
    """torchvision's residual block: the batch norm's output is added to in place."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, N_CHANNELS, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm1d(N_CHANNELS)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(N_CHANNELS * N_TIMES, 2, bias=False)

    def forward(self, x):
        out = self.bn(self.conv(x))
        out += x
        return self.classifier(self.relu(out).flatten(1))


def test_lrp_zero_is_gradient_times_input_through_an_in_place_residual():
    torch.manual_seed(0)
    module = _randomize_batch_norms(_InPlaceResidual().double(), shift=False)
    data = _data()
    inputs = data.clone().requires_grad_()
    logits = module(inputs).gather(1, TARGET[:, None]).sum()
    (gradient,) = torch.autograd.grad(logits, inputs)
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    np.testing.assert_allclose(relevance, gradient * data, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("activation", [nn.ELU, nn.LeakyReLU])
def test_a_hook_recording_an_in_place_activation_is_no_change(activation):
    """The hook saw the in-place layer's input already overwritten by its
    output, so a hook that only records made the rules refuse the network."""
    torch.manual_seed(0)
    layer = activation(inplace=True)
    module = nn.Sequential(
        nn.Conv1d(N_CHANNELS, 4, 3, padding=1), layer, nn.Flatten(), nn.Linear(64, 2)
    ).eval()
    recorded = []
    layer.register_forward_hook(lambda m, i, out: recorded.append(out.clone()))
    assert layers_computing_otherwise(module, _data().float(), list(module)) == []
    layer.register_forward_hook(lambda m, i, out: out * 2)
    assert layers_computing_otherwise(module, _data().float(), list(module)) == [
        f"'1' ({activation.__name__})"
    ]
    assert recorded


class _NormalizesAfterRectifying(nn.Module):
    """InterpretableCNN's ReLU -> batch norm -> dense, flattened in forward."""

    def __init__(self, flatten, in_place=False):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 3, padding=1)
        self.relu = nn.ReLU(inplace=in_place)
        self.bn = nn.BatchNorm1d(4)
        self.pool = nn.AvgPool1d(2)
        self.classifier = nn.Linear(4 * N_TIMES // 2, 2)
        self.flatten = flatten

    def forward(self, x):  # noqa: D102
        return self.classifier(
            self.flatten(self.pool(self.bn(self.relu(self.conv(x)))))
        )


@pytest.mark.parametrize(
    "flatten",
    [lambda x: x.flatten(1), lambda x: x.view(len(x), -1), nn.Flatten()],
    ids=["flatten(1)", "view", "nn.Flatten"],
)
def test_batch_norm_folds_into_a_dense_layer_reading_it_flattened_in_forward(flatten):
    """With x.flatten(1) in forward, LRP refused: "feeds no dense layer"."""
    torch.manual_seed(0)
    module = _randomize_batch_norms(
        _NormalizesAfterRectifying(flatten).double(), shift=False
    )
    # Without biases, LRP-0 of a piecewise-linear network is gradient x input.
    module.conv.bias.data.zero_()
    module.classifier.bias.data.zero_()
    data = _data()
    inputs = data.clone().requires_grad_()
    (gradient,) = torch.autograd.grad(
        module(inputs).gather(1, TARGET[:, None]).sum(), inputs
    )
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    np.testing.assert_allclose(relevance, gradient * data, rtol=1e-5, atol=1e-10)


class _BranchesFlattenedInForward(nn.Module):
    """Two _NormalizesAfterRectifying branches, each flattened in forward and read
    by a dense layer of its own, of the same size."""

    def __init__(self):
        super().__init__()
        self.branches = nn.ModuleList(
            _NormalizesAfterRectifying(lambda x: x.flatten(1)) for _ in range(2)
        )

    def forward(self, x):  # noqa: D102
        return self.branches[0](x) + self.branches[1](x)


def test_batch_norm_folds_into_the_dense_layer_reading_its_own_flattened_output():
    """A tensor flattened in forward is tied to the dense layer reading its
    memory, not to any dense layer of its size."""
    torch.manual_seed(0)
    module = _randomize_batch_norms(_BranchesFlattenedInForward().double())
    data = _data()
    folded = fold_batch_norms(module, data)
    assert all(isinstance(branch.bn, nn.Identity) for branch in folded.branches)
    with torch.no_grad():
        np.testing.assert_allclose(folded(data), module(data), rtol=1e-10)


def test_batch_norm_folds_through_a_pooling_counting_its_padding():
    """An average pooling over zero padding scales the edge features by their
    share of real samples (1/2 here), which the shift must not get."""
    torch.manual_seed(0)
    module = _NormalizesAfterRectifying(nn.Flatten()).double()
    module.pool = nn.AvgPool1d(2, padding=1)  # count_include_pad=True
    module.classifier = nn.Linear(4 * (N_TIMES // 2 + 1), 2).double()
    module = _randomize_batch_norms(module)
    data = _data()
    folded = fold_batch_norms(module, data)
    assert isinstance(folded.bn, nn.Identity)
    with torch.no_grad():
        np.testing.assert_allclose(folded(data), module(data), rtol=1e-10)


def test_batch_norm_after_a_dense_layer_folds_into_it():
    """Dense, batch norm, ReLU, dense: the batch norm scales and shifts the
    first dense layer's units."""
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Flatten(),
        nn.Linear(N_CHANNELS * N_TIMES, 4),
        nn.BatchNorm1d(4),
        nn.ReLU(),
        nn.Linear(4, 2),
    )
    module = _randomize_batch_norms(module.double())
    data = _data()
    folded = fold_batch_norms(module, data)
    assert isinstance(folded[2], nn.Identity)
    norm = module[2]
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    expected = (module[1].bias - norm.running_mean) * scale + norm.bias
    torch.testing.assert_close(folded[1].bias, expected.detach())
    torch.testing.assert_close(folded[4].weight, module[4].weight.detach())


class _Square(nn.Module):
    """A parameter-free layer of the user's that mixes nothing but is not affine."""

    def forward(self, x):  # noqa: D102
        return x * x


class _FirstChannels(nn.Module):
    """A parameter-free layer of the user's keeping the first four channels."""

    def forward(self, x):  # noqa: D102
        return x[:, :4]


@pytest.mark.parametrize(
    "layer, n_maps", [(_Square(), 4), (_FirstChannels(), 8)], ids=["square", "crop"]
)
def test_batch_norm_after_a_nonlinear_layer_of_the_users_folds_forward(layer, n_maps):
    """Convolution, square, batch norm, pooling, dense: the square does not
    commute with the batch norm, which folds into the dense layer. Nor does a
    layer keeping some of the convolution's maps, whose input the batch norm's
    channels do not match (scaling it by them failed to broadcast)."""
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv1d(N_CHANNELS, n_maps, 3, padding=1),
        layer,
        nn.BatchNorm1d(4),
        nn.AvgPool1d(2),
        nn.Flatten(),
        nn.Linear(4 * N_TIMES // 2, 2),
    )
    module = _randomize_batch_norms(module.double())
    data = _data()
    folded = fold_batch_norms(module, data)
    assert isinstance(folded[2], nn.Identity)
    torch.testing.assert_close(folded[0].bias, module[0].bias.detach())
    with torch.no_grad():
        np.testing.assert_allclose(folded(data), module(data), rtol=1e-10)


@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus"])
def test_batch_norm_is_not_folded_across_an_in_place_rectifier(method):
    """An in-place ReLU returns its input, and was skipped as dropout is: the
    batch norm after it was folded into the convolution before it. The folded
    copy was checked on the first batch only, so after a batch where the ReLU
    was active everywhere the next was explained with another network (LRP-ε's
    map off by a fifth of its scale); otherwise the network was refused as one
    with a layer used elsewhere."""
    torch.manual_seed(0)
    out_of_place, in_place = (
        _randomize_batch_norms(
            _NormalizesAfterRectifying(nn.Flatten(), in_place).double()
        )
        for in_place in (False, True)
    )
    with torch.no_grad():
        out_of_place.conv.bias.fill_(10.0)
    in_place.load_state_dict(out_of_place.state_dict())
    quiet, loud = 0.01 * _data(seed=1), 10 * _data(seed=2)
    explainer = get_method(method)(in_place)
    explainer.attribute(quiet, TARGET)  # every unit active: the ReLU shows nothing
    expected = _lrp(method, out_of_place, loud, TARGET)
    torch.testing.assert_close(explainer.attribute(loud, TARGET), expected)
    torch.testing.assert_close(_lrp(method, in_place, loud, TARGET), expected)


class _StandardizedConv(nn.Conv1d):
    """Weight standardization: the forward convolves with another weight."""

    def forward(self, x):  # noqa: D102
        weight = self.weight - self.weight.mean(dim=(1, 2), keepdim=True)
        return self._conv_forward(x, weight / weight.std(), self.bias)


class _StandardizedInItsConvolution(nn.Conv1d):
    """Weight standardization in the convolution its class's forward calls."""

    def _conv_forward(self, x, weight, bias):
        weight = weight - weight.mean(dim=(1, 2), keepdim=True)
        return super()._conv_forward(x, weight / weight.std(), bias)


class _RectifyingConv(nn.Conv1d):
    """A convolution with its activation inside its forward."""

    def forward(self, x):  # noqa: D102
        return torch.relu(super().forward(x))


class _LoggingConv(nn.Conv1d):
    """A forward of its own that computes what its class does."""

    def forward(self, x):  # noqa: D102
        self.calls = getattr(self, "calls", 0) + 1
        return super().forward(x)


class _ReusesInPlaceOutput(nn.Module):
    """``a = relu_(h); a + h``: 2 relu(h), but relu(h) + h out of place."""

    def __init__(self, conv=nn.Conv1d, in_place=True):
        super().__init__()
        self.conv = conv(N_CHANNELS, 4, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=in_place)
        self.classifier = nn.Linear(4 * N_TIMES, 2, bias=False)

    def forward(self, x):  # noqa: D102
        hidden = self.conv(x)
        return self.classifier((self.relu(hidden) + hidden).flatten(1))


class _AveragedWeights(_ReusesInPlaceOutput):
    """The convolution run with weights it does not hold (a moving average kept
    as a buffer), by ``torch.func.functional_call``."""

    def __init__(self):
        super().__init__(in_place=False)
        self.register_buffer("average_weight", torch.randn_like(self.conv.weight))

    def forward(self, x):  # noqa: D102
        hidden = functional_call(self.conv, {"weight": self.average_weight}, (x,))
        return self.classifier((self.relu(hidden) + hidden).flatten(1))


@pytest.mark.parametrize(
    "network, methods, match",
    [
        (
            _ReusesInPlaceOutput(conv=_StandardizedConv, in_place=False),
            ["lrp_epsilon", "lrp_zplus", "lrp_composite"],
            r"layer 'conv' \(_StandardizedConv\) computes otherwise",
        ),
        (
            # Its forward is its class's: z+ and PatternNet read the weight it
            # does not convolve with, and missed the maps of the same network
            # with the standardized weight by several times their scale.
            _ReusesInPlaceOutput(conv=_StandardizedInItsConvolution, in_place=False),
            ["lrp_zplus", "lrp_alpha2_beta1", "pattern_net"],
            r"layer 'conv' \(_StandardizedInItsConvolution\) computes otherwise",
        ),
        (
            # Guided backprop gave the plain gradient through the hidden ReLU.
            _ReusesInPlaceOutput(conv=_RectifyingConv, in_place=False),
            ["guided_backprop", "deconvolution", "lrp_epsilon", "pattern_net"],
            r"layer 'conv' \(_RectifyingConv\) computes otherwise",
        ),
        (
            # LRP read the weight the layer holds, and missed the maps of the
            # same network holding the average by more than their own scale.
            _AveragedWeights(),
            ["lrp_epsilon", "lrp_zplus", "pattern_net"],
            r"layer 'conv' \(Conv1d, called with other weights than it holds\) "
            "computes otherwise",
        ),
        (
            # The pattern methods too: their rules read each layer's input.
            _ReusesInPlaceOutput(),
            [
                "lrp_epsilon",
                "lrp_zplus",
                "guided_backprop",
                "deconvolution",
                "pattern_net",
                "pattern_attribution",
            ],
            "changes a tensor in place.*that it reads again",
        ),
    ],
)
def test_networks_the_rules_would_misread_are_refused(network, methods, match):
    """LRP-0 of a standardized convolution kept 1 percent of the logit; with
    the in-place ReLU run out of place, z+ summed to half the logits."""
    torch.manual_seed(0)
    module = network.double().eval()
    for method in methods:
        with pytest.raises(ValueError, match=match):
            _lrp(method, module, _data(), TARGET)
    # Out of place and with its own weights, the network is explained, also
    # where a layer's forward of its own computes what its class does.
    for conv in (nn.Conv1d, _LoggingConv):
        torch.manual_seed(0)
        plain = _ReusesInPlaceOutput(conv=conv, in_place=False).double().eval()
        relevance = _lrp("lrp_epsilon", plain, _data(), TARGET, epsilon=1e-12)
        np.testing.assert_allclose(
            relevance.sum(dim=(1, 2)),
            _target_logits(plain, _data(), TARGET),
            rtol=1e-6,
        )
        guided = _lrp("guided_backprop", plain, _data(), TARGET)
        if conv is nn.Conv1d:
            expected = guided
        np.testing.assert_array_equal(guided, expected)


#: A gain per channel of a layer's output, as ablation studies apply by hooks.
_ABLATING_GAIN = torch.tensor([0.0, 3.0, 1.0, 0.0], dtype=torch.float64)[:, None]


@pytest.mark.parametrize("layer", ["conv", "relu"])
def test_forward_hooks_that_change_an_output_are_refused(layer):
    """A hook masking and scaling a layer's output (as in ablation studies) was
    unseen by the rules: LRP-0 missed gradient x input by 60 percent of the
    map's scale, and guided backprop missed its hand-written self by half."""
    torch.manual_seed(0)
    module = _ReusesInPlaceOutput(in_place=False).double().eval()
    methods = ["lrp_epsilon", "lrp_zplus", "guided_backprop", "deconvolution"]
    handle = getattr(module, layer).register_forward_hook(
        lambda m, i, out: out * _ABLATING_GAIN
    )
    refused = f"layer '{layer}'.*or a forward hook"
    for method in methods:
        with pytest.raises(ValueError, match=refused):
            _lrp(method, module, _data(), TARGET)
    if layer == "relu":  # DeepLIFT's rule is at the nonlinearities
        with pytest.raises(ValueError, match=refused):
            _lrp("deeplift", module, _data(), TARGET, baseline=torch.zeros(1))
    handle.remove()
    # So does a forward set on the instance.
    hooked = getattr(module, layer)
    hooked.forward = lambda x: type(hooked).forward(hooked, x) * _ABLATING_GAIN
    for method in methods:
        with pytest.raises(ValueError, match=refused):
            _lrp(method, module, _data(), TARGET)
    del hooked.forward
    # Every module's hooks (torch.nn.modules.module.register_module_forward_hook).
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda m, i, out: out * _ABLATING_GAIN if isinstance(m, nn.Conv1d) else None
    )
    try:
        with pytest.raises(ValueError, match="layer 'conv'.*or a forward hook"):
            _lrp("lrp_epsilon", module, _data(), TARGET)
    finally:
        handle.remove()
    # Hooks that only record leave the computation alone: LRP-0 stays exact.
    recorded = []
    getattr(module, layer).register_forward_hook(lambda m, i, out: recorded.append(1))
    relevance = _lrp("lrp_epsilon", module, _data(), TARGET, epsilon=1e-12)
    np.testing.assert_allclose(
        relevance.sum(dim=(1, 2)), _target_logits(module, _data(), TARGET), rtol=1e-6
    )
    assert recorded


@pytest.mark.parametrize("method", ["lrp_epsilon", "guided_backprop"])
def test_a_hook_masking_an_output_is_refused_on_eeg_in_volts(method):
    """A layer's output is compared with its class's relative to its scale: a
    mask changes outputs of microvolts by microvolts."""
    torch.manual_seed(0)
    module = _ReusesInPlaceOutput(in_place=False).double().eval()
    module.conv.register_forward_hook(lambda m, i, out: out * _ABLATING_GAIN)
    with pytest.raises(ValueError, match="layer 'conv'.*or a forward hook"):
        _lrp(method, module, 1e-5 * _data(), TARGET)


def test_a_hook_masking_an_in_place_layer_in_place_is_refused():
    """By the time a forward hook runs, an in-place ELU has overwritten its
    input with its output: compared with the ELU of a copy of its input, the
    output a hook masks in place (as in ablation studies) differs."""
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv1d(N_CHANNELS, 4, 3, padding=1, bias=False),
        nn.ELU(inplace=True),
        nn.Flatten(),
        nn.Linear(4 * N_TIMES, 2, bias=False),
    ).double()
    module[1].register_forward_hook(lambda m, i, out: out.mul_(_ABLATING_GAIN))
    for method in ("lrp_epsilon", "guided_backprop"):
        with pytest.raises(ValueError, match="layer '1'.*or a forward hook"):
            _lrp(method, module.eval(), _data(), TARGET)


class _CentresItsInput(nn.Module):
    """Subtracts a stored mean before the first layer (an affine, not linear, map),
    or centres the input as ``centre(x, mean)`` computes."""

    def __init__(self, centre=lambda x, mean: x - mean):
        super().__init__()
        self.register_buffer("mean", torch.randn(N_CHANNELS, 1))
        self.conv = nn.Conv1d(N_CHANNELS, 4, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(4 * N_TIMES, 2, bias=False)
        self.centre = centre

    def forward(self, x):  # noqa: D102
        centred = self.centre(x, self.mean)
        return self.classifier(self.relu(self.conv(centred)).flatten(1))


@pytest.mark.parametrize(
    "centre",
    # A number minus the input is torch's rsub, whose node reads one tensor.
    [lambda x, mean: x - mean, lambda x, mean: 0.5 - x],
    ids=["x - mean", "0.5 - x"],
)
@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus", "lrp_composite"])
def test_a_constant_added_outside_the_layers_is_refused(method, centre):
    """Relevance was divided by the centred input, x / (x - mean): LRP-0 summed
    to 0.23 for a logit of 0.19, and the composite flipped two signs in three."""
    torch.manual_seed(0)
    module = _CentresItsInput(centre).double().eval()
    with pytest.raises(ValueError, match="a constant .* added to a tensor"):
        _lrp(method, module, _data(), TARGET)


# -- signs ---------------------------------------------------------------------
def test_an_average_pooled_to_exactly_zero_passes_on_no_relevance():
    """Average pooling gives its inputs shares of its output's relevance, z * c,
    which is none where the inputs cancel: the samples of that window get what
    zeros would get, though the gradient reaches them."""
    torch.manual_seed(0)
    network = nn.Sequential(nn.AvgPool1d(2), nn.Flatten(), nn.Linear(2, 2, bias=False))
    network = network.double().eval()
    cancelling = torch.tensor([[[1.0, -1.0, 2.0, 3.0]]], dtype=torch.float64)
    zeros = torch.tensor([[[0.0, 0.0, 2.0, 3.0]]], dtype=torch.float64)
    target = torch.tensor([0])
    for method in ("lrp_epsilon", "lrp_zplus"):
        torch.testing.assert_close(
            _lrp(method, network, cancelling, target),
            _lrp(method, network, zeros, target),
        )


@pytest.mark.parametrize("method", ["lrp_zplus", "lrp_alpha1_beta0"])
def test_positive_rules_give_non_negative_relevance(method):
    """z+ and α1β0 pass a positive logit down as non-negative relevance, through
    signed EEG-like input, biases, ReLU and pooling."""
    module, data = _network("convnet"), _data()
    target = _positive_class(module, data)
    relevance = _lrp(method, module, data, target)
    assert (relevance >= 0).all()
    assert (relevance > 0).any()


@pytest.mark.parametrize(
    "method, alpha, beta", [("lrp_alpha1_beta0", 1, 0), ("lrp_alpha2_beta1", 2, 1)]
)
def test_alpha_beta_splits_relevance_by_contribution_sign(method, alpha, beta):
    """On one dense layer, positive contributions share α times the logit and
    negative ones -β times, each input keeping its contribution's sign."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(N_CHANNELS * N_TIMES, 2, bias=False))
    module = module.double().eval()
    data, target = _data(), torch.zeros(5, dtype=torch.int64)
    contribution = data.flatten(1) * module[1].weight[0]
    logits = _target_logits(module, data, target)
    relevance = _lrp(method, module, data, target).flatten(1)
    assert ((relevance * contribution * logits[:, None]) >= 0).all()
    positive = torch.where(contribution > 0, relevance, 0).sum(dim=1)
    negative = torch.where(contribution < 0, relevance, 0).sum(dim=1)
    np.testing.assert_allclose(positive, alpha * logits, atol=1e-8)
    np.testing.assert_allclose(negative, -beta * logits, atol=1e-8)


@pytest.mark.parametrize(
    "method, alpha, beta", [("lrp_alpha1_beta0", 1, 0), ("lrp_alpha2_beta1", 2, 1)]
)
def test_alpha_beta_with_bias_matches_the_formula(method, alpha, beta):
    """Bach et al.'s α-β rule counts a positive bias with the excitation and a
    negative one with the inhibition:
    R_i = (α z_i⁺ / (Σz⁺ + b⁺) - β z_i⁻ / (Σz⁻ + b⁻)) f(x).
    The other α-β tests have no bias: leaving b⁺ out of the excitation, or
    putting b⁺ for b⁻ in the inhibition, passed them (the maps of EEGNet, whose
    batch norms fold into biases, moved by up to 9% of their peak)."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(N_CHANNELS * N_TIMES, 2))
    module = module.double().eval()
    with torch.no_grad():  # one class with a positive bias, one with a negative
        module[1].bias.copy_(torch.tensor([0.7, -0.4]))
    data = _data()
    contribution = data.flatten(1) * module[1].weight[TARGET]
    bias = module[1].bias[TARGET, None].detach()
    positive, negative = contribution.clamp(min=0), contribution.clamp(max=0)
    excitation = positive.sum(dim=1, keepdim=True) + bias.clamp(min=0)
    inhibition = negative.sum(dim=1, keepdim=True) + bias.clamp(max=0)
    logits = _target_logits(module, data, TARGET)[:, None]
    expected = (alpha * positive / excitation - beta * negative / inhibition) * logits
    relevance = _lrp(method, module, data, TARGET).flatten(1)
    torch.testing.assert_close(relevance, expected.detach(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("delta", [1e-6, 1.5e-9, 1.01e-9, 5e-10])
def test_alpha_beta_stabilizes_a_small_inhibition_away_from_zero(delta):
    """Contributions [1, 1, -δ]: α2β1 gives the positive ones α times the logit
    between them and the negative one -β times it (Bach et al.), [2, 2, -2]
    but for the stabilizer's share ε / (δ + ε). The stabilizer moved the
    inhibition towards zero: -202 for δ = 1.01e-9, +2 for δ = 5e-10."""
    module = nn.Sequential(nn.Flatten(), nn.Linear(3, 2, bias=False)).double()
    with torch.no_grad():
        module[1].weight.copy_(torch.tensor([[1.0, 1.0, -1.0], [0.0, 0.0, 0.0]]))
    data = torch.tensor([[[1.0, 1.0, delta]]], dtype=torch.float64)
    target = torch.tensor([0])
    logit = _target_logits(module, data, target)[0]
    relevance = _lrp("lrp_alpha2_beta1", module.eval(), data, target)[0, 0]
    expected = [2 * logit / (2 + _STABILIZER)] * 2 + [
        -logit * delta / (delta + _STABILIZER)
    ]
    torch.testing.assert_close(relevance, torch.stack(expected))


# -- the composite's first-layer rules -----------------------------------------
def _dense_relu_network(first, top):
    """The network ``top(relu(first(x)))`` on the flattened EEG."""
    return nn.Sequential(nn.Flatten(), first, nn.ReLU(), top).double().eval()


@pytest.mark.parametrize(
    "first_rule, transform", [("wsquare", torch.square), ("flat", torch.ones_like)]
)
def test_first_layer_rules_follow_the_weights_alone(first_rule, transform):
    """w² and flat split each first-layer output's relevance by w² or evenly;
    a sample exactly zero gets none (it was 0 / 0, NaN, without the guard)."""
    torch.manual_seed(0)
    first = nn.Linear(N_CHANNELS * N_TIMES, 5, bias=False)
    top = nn.Linear(5, 2, bias=False)
    module = _dense_relu_network(first, top)
    hidden = module[2]
    data = _data()
    data[0, 0, 0] = 0.0
    relevance = _lrp(
        "lrp_composite", module, data, TARGET, epsilon=1e-12, first_rule=first_rule
    )
    # LRP-0 on the top layer leaves hidden unit k with h_k w_tk.
    hidden_relevance = hidden(first(data.flatten(1))) * top.weight[TARGET]
    shares = transform(first.weight) / transform(first.weight).sum(dim=1, keepdim=True)
    expected = (hidden_relevance @ shares).detach()
    expected[0, 0] = 0.0
    np.testing.assert_allclose(relevance.flatten(1), expected, atol=1e-8)


@pytest.mark.parametrize("first_rule", ["wsquare", "flat"])
def test_first_layer_rules_pass_over_a_unit_without_weights(first_rule):
    """A first-layer unit whose weights are all zero (a pruned filter) adds
    nothing to the logit: the map is that of the network without it. Under w²
    its squared weights sum to zero, and its share of relevance is 0 / 0 but
    for the stabilizer (NaN over the whole map)."""
    torch.manual_seed(0)
    first = nn.Linear(N_CHANNELS * N_TIMES, 5, bias=False)
    top = nn.Linear(5, 2, bias=False)
    kept = [0, 1, 3, 4]
    pruned_first = nn.Linear(N_CHANNELS * N_TIMES, len(kept), bias=False)
    pruned_top = nn.Linear(len(kept), 2, bias=False)
    with torch.no_grad():
        first.weight[2] = 0.0
        pruned_first.weight.copy_(first.weight[kept])
        pruned_top.weight.copy_(top.weight[:, kept])
    data = _data()
    maps = [
        _lrp("lrp_composite", network, data, TARGET, first_rule=first_rule)
        for network in (
            _dense_relu_network(first, top),
            _dense_relu_network(pruned_first, pruned_top),
        )
    ]
    torch.testing.assert_close(maps[0], maps[1])


def test_composite_of_epsilon_rules_is_lrp_epsilon():
    module, data = _small_eegnet(), torch.randn(5, 4, 64, dtype=torch.float64)
    composite = _lrp(
        "lrp_composite",
        module,
        data,
        TARGET,
        epsilon=0.1,
        conv_rule="epsilon",
        first_rule="epsilon",
    )
    epsilon = _lrp("lrp_epsilon", module, data, TARGET, epsilon=0.1)
    np.testing.assert_allclose(composite, epsilon)


def test_composite_defaults_are_the_documented_rules():
    """Called without rules, the composite is w² on the first layer, z+ on the
    other convolutions and ε = 0.01 on dense layers, as its docstring says.
    The network's convolutions have positive biases, which z+ leaves out and
    α1β0 counts, so each default shows in the map."""
    module, data = _network("convnet"), _data()
    documented = {"epsilon": 0.01, "conv_rule": "zplus", "first_rule": "wsquare"}
    torch.testing.assert_close(
        _lrp("lrp_composite", module, data, TARGET),
        _lrp("lrp_composite", module, data, TARGET, **documented),
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"conv_rule": "flat"}, "conv_rule"),
        ({"first_rule": "gamma"}, "first_rule"),
        ({"epsilon": 0.0}, "epsilon must be a finite positive"),
        # Infinite: maps of zeros, without a word.
        ({"epsilon": float("inf")}, "epsilon must be a finite positive"),
    ],
)
def test_composite_rejects_bad_parameters(params, match):
    module, data = _network("mlp"), _data()
    with pytest.raises(ValueError, match=match):
        _lrp("lrp_composite", module, data, TARGET, **params)


@pytest.mark.parametrize("method", ["lrp", "lrp_epsilon"])
@pytest.mark.parametrize("epsilon", [0.0, -0.01, float("inf")])
def test_epsilon_rule_rejects_an_epsilon_not_finite_and_positive(method, epsilon):
    """ε = 0 divides by outputs exactly zero (NaN), a negative ε moves outputs
    towards zero rather than away, and an infinite one gives maps of zeros."""
    module, data = _network("mlp"), _data()
    with pytest.raises(ValueError, match="epsilon must be a finite positive"):
        _lrp(method, module, data, TARGET, epsilon=epsilon)


# -- agreement with captum -------------------------------------------------------
def _captum_lrp(module, data, target, rule):
    module = copy.deepcopy(module)
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            layer.rule = rule()
    inputs = data.clone().requires_grad_()
    return CaptumLRP(module).attribute(inputs, target=target).detach()


@pytest.mark.parametrize("network", ["mlp", "convnet"])
@pytest.mark.parametrize(
    "method, params, captum_rule, positive_input",
    [
        ("lrp_epsilon", {"epsilon": 0.5}, lambda: EpsilonRule(epsilon=0.5), False),
        # captum's α1β0 clamps weights only, which is z+ for non-negative inputs.
        (
            "lrp_zplus",
            {},
            lambda: Alpha1_Beta0_Rule(set_bias_to_zero=True),
            True,
        ),
    ],
)
def test_agrees_with_captum_on_relu_networks(
    network, method, params, captum_rule, positive_input
):
    module, data = _network(network), _data(positive=positive_input)
    ours = _lrp(method, module, data, TARGET, **params)
    theirs = _captum_lrp(module, data, TARGET, captum_rule)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)


# -- batch-norm folding and the supported layers -------------------------------
@pytest.mark.parametrize("network_class", [EEGNet, InterpretableCNN])
def test_folding_batch_norm_keeps_the_output(network_class):
    torch.manual_seed(0)
    module = _randomize_batch_norms(network_class(4, 2, 64, 64.0).double())
    with torch.no_grad():  # training may leave scales of either sign
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.weight[::2] *= -1
    state = copy.deepcopy(module.state_dict())
    data = torch.randn(5, 4, 64, dtype=torch.float64)
    folded = fold_batch_norms(module, data)
    assert not any(isinstance(layer, nn.BatchNorm2d) for layer in folded.modules())
    with torch.no_grad():
        np.testing.assert_allclose(folded(data), module(data), rtol=1e-10)
    # The estimator's module is left as it was.
    assert any(isinstance(layer, nn.BatchNorm2d) for layer in module.modules())
    for name, value in module.state_dict().items():
        assert torch.equal(value, state[name]), name


@pytest.mark.parametrize(
    "layers, match",
    [
        (
            [nn.Conv2d(1, 2, (1, 3)), nn.ReLU(), nn.BatchNorm2d(2), nn.Conv2d(2, 2, 1)],
            "cannot be folded",
        ),
        (
            [nn.Conv2d(1, 2, (1, 3)), nn.BatchNorm2d(2, track_running_stats=False)],
            "running statistics",
        ),
        (
            # A dense layer over time after it: folding its scale per channel
            # into that layer's weights failed in torch ("The size of tensor a").
            [nn.Conv2d(1, 2, (1, 3)), nn.ReLU(), nn.BatchNorm2d(2), nn.Linear(14, 5)],
            "feeds no dense layer reading its channels flattened",
        ),
    ],
)
def test_unfoldable_batch_norm_is_refused(layers, match):
    """A batch norm folds into a convolution or dense layer beside it, or not at all."""
    module = nn.Sequential(nn.Unflatten(1, (1, N_CHANNELS)), *layers, nn.Flatten())
    module = nn.Sequential(*module, nn.LazyLinear(2)).double()
    module(_data())  # materialize the lazy layer
    with pytest.raises(ValueError, match=match):
        _lrp("lrp_epsilon", module.eval(), _data(), TARGET)


class _SkipAroundBatchNorm(nn.Module):
    """relu(bn(h)) + relu(h): folding bn into the convolution also rescales h."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 5, padding=2, bias=False)
        self.bn = nn.BatchNorm1d(4)
        self.relu, self.skip_relu = nn.ReLU(), nn.ReLU()
        self.classifier = nn.Linear(4 * N_TIMES, 2)

    def forward(self, x):
        h = self.conv(x)
        return self.classifier((self.relu(self.bn(h)) + self.skip_relu(h)).flatten(1))


class _SharedConvolution(nn.Module):
    """One convolution read by two batch norms: folding rescales it twice."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 5, padding=2, bias=False)
        self.bn_a, self.bn_b = nn.BatchNorm1d(4), nn.BatchNorm1d(4)
        self.relu_a, self.relu_b = nn.ReLU(), nn.ReLU()
        self.classifier = nn.Linear(8 * N_TIMES, 2)

    def forward(self, x):
        a = self.relu_a(self.bn_a(self.conv(x)))
        b = self.relu_b(self.bn_b(self.conv(-x)))
        return self.classifier(torch.cat([a, b], 1).flatten(1))


@pytest.mark.parametrize("network_class", [_SkipAroundBatchNorm, _SharedConvolution])
def test_batch_norm_next_to_a_shared_layer_is_not_folded(network_class):
    torch.manual_seed(0)
    module = _randomize_batch_norms(network_class().double())
    match = "changes this network's logits"
    with pytest.raises(ValueError, match=match):
        _lrp("lrp_epsilon", module, _data(), TARGET)
    with pytest.raises(ValueError, match=match):
        prepare_network(module, _data(), "learn_patterns")


class _WeakSkipAroundBatchNorm(_SkipAroundBatchNorm):
    """relu(bn(h)) + weight * relu(h), the skip weighted as a layer scale is."""

    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, x):
        h = self.conv(x)
        skip = self.weight * self.skip_relu(h)
        return self.classifier((self.relu(self.bn(h)) + skip).flatten(1))


def test_batch_norm_next_to_a_weakly_shared_layer_is_not_folded():
    """A fold changing the logits by a small share of them (under 1e-3) is
    refused as one changing them by far is: its relevance is not the network's."""
    torch.manual_seed(0)
    module = _randomize_batch_norms(_WeakSkipAroundBatchNorm(6e-4).double())
    with pytest.raises(ValueError, match="changes this network's logits") as error:
        _lrp("lrp_epsilon", module, _data(), TARGET)
    changed = float(re.search(r"by up to (\S+)\)", str(error.value)).group(1))
    logits = module(_data()).abs().max().item()
    assert 1e-4 < changed / logits < 1e-3
    # Without the skip, the same network folds.
    module.weight = 0.0
    _lrp("lrp_epsilon", module, _data(), TARGET)


class _TwinBranches(nn.Module):
    """Two copies of one convolution on the input, as inception modules have."""

    def __init__(self, n_branches):
        super().__init__()
        torch.manual_seed(0)
        convolution = nn.Conv1d(N_CHANNELS, 2, 5, padding=2)
        self.branches = nn.ModuleList(
            [copy.deepcopy(convolution) for _ in range(n_branches)]
        )
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(2 * N_TIMES, 2)

    def forward(self, x):
        features = self.relu(self.branches[0](x))
        for branch in self.branches[1:]:
            features = features + self.relu(branch(x))
        return self.classifier(features.flatten(1))


@pytest.mark.parametrize("first_rule", ["wsquare", "flat", "epsilon"])
def test_composite_gives_every_convolution_on_the_input_its_first_rule(first_rule):
    """Only the first called got it: the second of two input branches was
    explained with the deep layers' z+ on the raw EEG."""
    one = _TwinBranches(1).double().eval()
    two = _TwinBranches(2).double().eval()
    with torch.no_grad():  # the same function: two halves of one branch
        two.classifier.weight.copy_(one.classifier.weight / 2)
        two.classifier.bias.copy_(one.classifier.bias)
    data = _data()
    torch.testing.assert_close(two(data), one(data))
    maps = [
        _lrp("lrp_composite", network, data, TARGET, first_rule=first_rule)
        for network in (one, two)
    ]
    torch.testing.assert_close(maps[1], maps[0])


class _InputAlsoDeeper(nn.Module):
    """The EEG reaches a deeper layer too: by a skip connection or concatenated."""

    def __init__(self, join):
        super().__init__()
        torch.manual_seed(0)
        self.join = join
        self.temporal = nn.Conv1d(N_CHANNELS, N_CHANNELS, 5, padding=2)
        self.relu = nn.ReLU()
        self.spatial = nn.Conv1d(N_CHANNELS, 2, 1)
        width = 2 * N_TIMES + (N_CHANNELS * N_TIMES if join == "concatenated" else 0)
        self.classifier = nn.Linear(width, 2)

    def forward(self, x):
        features = self.relu(self.temporal(x))
        if self.join == "skip":
            features = features + x
        features = self.relu(self.spatial(features)).flatten(1)
        if self.join == "concatenated":
            features = torch.cat([features, x.flatten(1)], dim=1)
        return self.classifier(features)


@pytest.mark.parametrize("join", ["skip", "concatenated"])
def test_a_layer_reading_the_eeg_and_features_takes_no_first_rule(join):
    """It took the first layer's w² as a whole: a map 28 times off the
    documented rules on a trained network, or 27 percent of the logit lost."""
    network, data = _InputAlsoDeeper(join).double().eval(), _data()
    layer = "spatial" if join == "skip" else "classifier"
    with pytest.raises(ValueError, match=f"layer '{layer}' reads both the EEG"):
        _lrp("lrp_composite", network, data, TARGET)
    # One rule for both is still explained.
    torch.testing.assert_close(
        _lrp(
            "lrp_composite",
            network,
            data,
            TARGET,
            first_rule="epsilon",
            conv_rule="epsilon",
        ),
        _lrp("lrp_epsilon", network, data, TARGET),
    )
    if join == "concatenated":
        # The classifier is dense, whose deeper rule is ε: a first rule ε is
        # one rule for both, whatever the convolutions' rule.
        relevance = _lrp("lrp_composite", network, data, TARGET, first_rule="epsilon")
        assert torch.isfinite(relevance).all()


class _MixedBeforeTheFirstLayer(nn.Module):
    """The EEG centered, re-referenced or pooled in forward before the first layer."""

    def __init__(self, mixing):
        super().__init__()
        torch.manual_seed(0)
        self.mixing = mixing
        self.pool = nn.AvgPool1d(2) if mixing == "pool" else nn.Identity()
        self.temporal = nn.Conv1d(N_CHANNELS, 4, 5, padding=2, bias=False)
        self.relu = nn.ReLU()
        n_times = N_TIMES // 2 if mixing == "pool" else N_TIMES
        self.classifier = nn.Linear(4 * n_times, 2, bias=False)

    def forward(self, x):
        if self.mixing == "center":
            x = x - x.mean(-1, keepdim=True)
        elif self.mixing == "reference":
            x = x - x.mean(1, keepdim=True)
        return self.classifier(self.relu(self.temporal(self.pool(x))).flatten(1))


@pytest.mark.parametrize("first_rule", ["wsquare", "flat"])
@pytest.mark.parametrize(
    "mixing, operation", [("center", "sub"), ("reference", "sub"), ("pool", "avg")]
)
def test_input_free_first_rules_refuse_an_eeg_mixed_before_the_first_layer(
    mixing, operation, first_rule
):
    """w² and flat hand a relevance that does not depend on the first layer's
    input down divided by that input, for the EEG sample to multiply back.
    Mixed in forward, that input was near zero where the samples were not: on
    40 epochs of noise a map's largest relevance reached 29 to 93 times the
    logit (1.4 times without the mixing), and 250 to 1000 times with an
    offset common to the samples."""
    network = _MixedBeforeTheFirstLayer(mixing).double().eval()
    data = _data()
    with pytest.raises(ValueError, match=f"reads the EEG mixed by the .*'{operation}"):
        _lrp("lrp_composite", network, data, TARGET, first_rule=first_rule)
    # Rules that weigh the first layer's input by its values still explain it.
    relevance = _lrp("lrp_composite", network, data, TARGET, first_rule="epsilon")
    assert torch.isfinite(relevance).all()


class _RectifiedBeforeTheFirstLayer(_MixedBeforeTheFirstLayer):
    """The EEG rectified by an ``nn.ReLU`` before the first layer."""

    def __init__(self):
        super().__init__(mixing=None)
        self.rectifier = nn.ReLU()

    def forward(self, x):  # noqa: D102
        return super().forward(self.rectifier(x))


@pytest.mark.parametrize("first_rule", ["wsquare", "flat"])
def test_input_free_first_rules_refuse_an_eeg_rectified_before_the_first_layer(
    first_rule,
):
    """w² and flat give every value of the first layer's input relevance, the
    zeros of a rectifier too, and the rectifier passes relevance on unchanged;
    but handed down divided by the zero value, it was lost: the map of a random
    network missed the relevance of every negative sample and summed to a
    fraction of the logit, without an error (found on random networks)."""
    network = _RectifiedBeforeTheFirstLayer().double().eval()
    data = _data()
    with pytest.raises(ValueError, match="reads the EEG rectified by .*'relu'"):
        _lrp("lrp_composite", network, data, TARGET, first_rule=first_rule)
    # Rules that weigh the first layer's input by its values give the zeroed
    # samples no relevance, and conserve it without biases.
    relevance = _lrp(
        "lrp_composite", network, data, TARGET, first_rule="zplus", epsilon=1e-12
    )
    np.testing.assert_allclose(
        relevance.sum(dim=(1, 2)), _target_logits(network, data, TARGET), rtol=1e-6
    )


class _ScaledBeforeTheFirstLayer(_MixedBeforeTheFirstLayer):
    """The EEG multiplied or divided by a constant in forward, as networks scale
    volts, before the unmixed first layer."""

    def __init__(self, operation):
        super().__init__(mixing=None)
        self.operation = operation

    def forward(self, x):  # noqa: D102
        return super().forward(x * 4.0 if self.operation == "mul" else x / 0.25)


@pytest.mark.parametrize("first_rule", ["wsquare", "flat"])
@pytest.mark.parametrize("operation", ["mul", "div"])
def test_input_free_first_rules_explain_an_eeg_scaled_before_the_first_layer(
    operation, first_rule
):
    """Scaling mixes no samples: each sample gets back the relevance of the value
    it became, the map of the unscaled network on the scaled EEG."""
    data = _data()
    relevance = _lrp(
        "lrp_composite",
        _ScaledBeforeTheFirstLayer(operation).double().eval(),
        data,
        TARGET,
        first_rule=first_rule,
    )
    unscaled = _MixedBeforeTheFirstLayer(mixing=None).double().eval()
    expected = _lrp(
        "lrp_composite", unscaled, 4.0 * data, TARGET, first_rule=first_rule
    )
    torch.testing.assert_close(relevance, expected)


@pytest.mark.parametrize("first_rule", ["wsquare", "flat"])
@pytest.mark.parametrize(
    "before, window",
    [(nn.ELU(), 1), (nn.MaxPool1d(2), 2)],
    ids=["elu", "max_pool"],
)
def test_input_free_first_rules_give_a_rectified_or_pooled_eeg_back_to_its_samples(
    before, window, first_rule
):
    """An ELU or max pooling before the first layer mixes no samples: each
    value the first layer reads comes from one EEG sample, which gets back that
    value's relevance (max pooling's losers none), the map of the layers above
    on the rectified or pooled EEG. (A ReLU zeroes values, whose relevance
    would be lost: refused, see
    test_input_free_first_rules_refuse_an_eeg_rectified_before_the_first_layer.)"""
    torch.manual_seed(0)
    network = nn.Sequential(
        before,
        nn.Conv1d(N_CHANNELS, 4, 5, padding=2, bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * N_TIMES // window, 2, bias=False),
    )
    network = network.double().eval()
    data = _data()
    relevance = _lrp("lrp_composite", network, data, TARGET, first_rule=first_rule)
    above = _lrp(
        "lrp_composite", network[1:], before(data), TARGET, first_rule=first_rule
    )
    windows = relevance.unflatten(-1, (-1, window))
    torch.testing.assert_close(windows.sum(dim=-1), above)
    assert ((windows != 0).sum(dim=-1) <= 1).all()


def test_first_layer_called_again_deeper_is_refused():
    class Reused(nn.Module):
        """One convolution reads the input, then its own (rectified) output."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(N_CHANNELS, N_CHANNELS, 3, padding=1, bias=False)
            self.relu = nn.ReLU()
            self.classifier = nn.Linear(N_CHANNELS * N_TIMES, 2, bias=False)

        def forward(self, x):
            x = self.conv(self.relu(self.conv(x)))
            return self.classifier(x.flatten(1))

    torch.manual_seed(0)
    with pytest.raises(ValueError, match="'conv' is called both as the network's"):
        _lrp("lrp_composite", Reused().double().eval(), _data(), TARGET)


@pytest.mark.parametrize(
    "layer", [nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.LogSoftmax(dim=1)]
)
@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus", "lrp_composite"])
def test_unsupported_layer_is_refused(method, layer):
    module = nn.Sequential(
        nn.Flatten(), nn.Linear(N_CHANNELS * N_TIMES, 4), layer, nn.Linear(4, 2)
    )
    if isinstance(layer, nn.LogSoftmax):
        module = module[:-1]
    with pytest.raises(
        ValueError, match=f"no rule for layer '2' .{type(layer).__name__}"
    ):
        _lrp(method, module.double().eval(), _data(), TARGET)


def test_recurrent_layer_is_refused():
    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(N_TIMES, 4, batch_first=True)
            self.classifier = nn.Linear(4, 2)

        def forward(self, x):
            return self.classifier(self.lstm(x)[0][:, -1])

    with pytest.raises(ValueError, match="'lstm' .LSTM"):
        _lrp("lrp_epsilon", Recurrent().double().eval(), _data(), TARGET)


# -- through mne_xai.explain on the real networks -------------------------------
@pytest.fixture
def some_imagery_epochs(imagery_epochs):
    return imagery_epochs[:6]


@pytest.mark.parametrize("method", LRP_METHODS)
def test_explain_eegnet_with_lrp(fitted_eegnet, some_imagery_epochs, method):
    state = copy.deepcopy(fitted_eegnet.module_.state_dict())
    attribution = explain(fitted_eegnet, some_imagery_epochs, method, verbose=False)
    assert isinstance(attribution, mne.EpochsArray)
    data = attribution.get_data()
    assert data.shape == some_imagery_epochs.get_data().shape
    assert np.isfinite(data).all() and np.abs(data).max() > 0
    for name, value in fitted_eegnet.module_.state_dict().items():
        assert torch.equal(value, state[name]), name


@pytest.mark.parametrize("fitted", ["fitted_eegnet", "fitted_icnn"])
def test_explain_is_batch_independent_and_lrp_is_epsilon(
    request, some_imagery_epochs, fitted
):
    estimator = request.getfixturevalue(fitted)
    one_by_one = explain(
        estimator, some_imagery_epochs, "lrp", batch_size=1, verbose=False
    ).get_data()
    together = explain(
        estimator, some_imagery_epochs, "lrp_epsilon", batch_size=6, verbose=False
    ).get_data()
    np.testing.assert_allclose(
        one_by_one, together, rtol=1e-4, atol=1e-6 * np.abs(together).max()
    )


@pytest.mark.parametrize("network, lost", [("icnn", 1e-5), ("eegnet", 2e-2)])
def test_explain_zplus_conserves_the_logit(request, network, lost, imagery_epochs):
    """On InterpretableCNN (ReLU, biases, batch norm after the ReLU), z+ ignores
    biases and so conserves the logit; through EEGNet's ELU, units without
    positive contributions lose up to about 1 percent of the largest logit
    (as the docstring says: "under a thousandth", it said, of the first six
    epochs, where all 45 reached 7.3e-3 with one training, 1.3e-2 with
    another)."""
    estimator = request.getfixturevalue(f"fitted_{network}")
    attribution = explain(estimator, imagery_epochs, "lrp_zplus", verbose=False)
    module = estimator.module_.eval()
    data = torch.as_tensor(imagery_epochs.get_data(), dtype=torch.float32)
    with torch.no_grad():
        logits = module(data).max(dim=1).values.numpy()
    np.testing.assert_allclose(
        attribution.get_data().sum(axis=(1, 2)),
        logits,
        atol=lost * np.abs(logits).max(),
    )


@pytest.mark.parametrize("network", ["icnn", "eegnet"])
def test_epsilon_absorbs_about_a_quarter_of_the_relevance(
    request, network, imagery_epochs
):
    """LRP's docstring, to within rounding across platforms: ε = 0.01 leaves
    EEGNet's and InterpretableCNN's maps about a fifth less relevance than
    ε = 1e-9 on the median epoch, 5 to 35 percent on single epochs ("9 to
    15 percent", it said)."""
    estimator = request.getfixturevalue(f"fitted_{network}")
    magnitudes = [
        np.abs(
            explain(
                estimator, imagery_epochs, "lrp", epsilon=epsilon, verbose=False
            ).get_data()
        ).sum(axis=(1, 2))
        for epsilon in (0.01, 1e-9)
    ]
    absorbed = 1 - magnitudes[0] / magnitudes[1]
    assert 0.14 < np.median(absorbed) < 0.25
    assert 0.03 < absorbed.min() and absorbed.max() < 0.4


class _Padded(nn.Module):
    """A bias-free ReLU network whose convolution reads a padded input, padded
    by ``pad`` (a module) or, if ``functional``, by the same torch.nn.functional.pad
    call in forward."""

    def __init__(self, pad, functional=False):
        super().__init__()
        self.pad, self.functional = pad, functional
        self.conv = nn.Conv1d(N_CHANNELS, 4, 5, bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.AvgPool1d(2)
        self.classifier = nn.Linear(4 * N_TIMES // 2, 2, bias=False)

    def forward(self, x):
        if self.functional:
            x = nn.functional.pad(x, self.pad.padding, **self._pad_mode())
        else:
            x = self.pad(x)
        return self.classifier(self.pool(self.relu(self.conv(x))).flatten(1))

    def _pad_mode(self):
        if isinstance(self.pad, nn.ReflectionPad1d):
            return {"mode": "reflect"}
        if isinstance(self.pad, nn.ReplicationPad1d):
            return {"mode": "replicate"}
        return {"value": self.pad.value}


@pytest.mark.parametrize(
    "pad",
    [
        nn.ZeroPad1d(2),
        nn.ConstantPad1d(2, 0.0),
        nn.ReflectionPad1d(2),
        nn.ReplicationPad1d(2),
        nn.ConstantPad1d(2, 1.0),
    ],
    ids=lambda pad: f"{type(pad).__name__}({getattr(pad, 'value', '')})",
)
def test_padding_modules_are_explained_as_functional_pad(pad):
    """Padding modules were refused while the same F.pad in forward was not.
    Padding is linear (up to a constant): LRP-0 is gradient x input, and on a
    bias-free network it conserves the logit unless the padding constant, like
    a bias, absorbs relevance."""
    data = _data()
    torch.manual_seed(0)
    module = _Padded(pad).double().eval()
    functional = copy.deepcopy(module)
    functional.functional = True
    inputs = data.clone().requires_grad_()
    logits = module(inputs).gather(1, TARGET[:, None])[:, 0]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    torch.testing.assert_close(relevance, gradient * data)
    torch.testing.assert_close(
        relevance, _lrp("lrp_epsilon", functional, data, TARGET, epsilon=1e-12)
    )
    for method in ("lrp_zplus", "guided_backprop", "deconvolution"):
        torch.testing.assert_close(
            _lrp(method, module, data, TARGET), _lrp(method, functional, data, TARGET)
        )
    # DeepLIFT refuses maps that miss summation-to-delta.
    zeros = torch.zeros_like(data[:1])
    torch.testing.assert_close(
        _lrp("deeplift", module, inputs, TARGET, baseline=zeros),
        _lrp("deeplift", functional, inputs, TARGET, baseline=zeros),
    )
    conserved = torch.allclose(relevance.sum(dim=(1, 2)), logits.detach())
    assert conserved == (getattr(pad, "value", 0.0) == 0.0)


class _Crop(nn.Module):
    """braindecode's Chomp1d: the last samples cropped, as a copy."""

    def forward(self, x):
        return x[:, :, :-2].contiguous()


class _CroppedBeforeBatchNorm(nn.Module):
    """Convolution, crop, batch norm, ReLU, dense: a block of braindecode's TCN."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 3, padding=2, bias=False)
        self.crop = _Crop()
        self.bn = nn.BatchNorm1d(4)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(4 * N_TIMES, 2, bias=False)

    def forward(self, x):
        return self.classifier(self.relu(self.bn(self.crop(self.conv(x)))).flatten(1))


class _CroppedTwiceBeforeBatchNorm(_CroppedBeforeBatchNorm):
    """Two crops between the convolution and its batch norm."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 3, padding=3, bias=False)
        self.crop_again = _Crop()

    def forward(self, x):
        cropped = self.crop_again(self.crop(self.conv(x)))
        return self.classifier(self.relu(self.bn(cropped)).flatten(1))


class _DropoutBetween(nn.Module):
    """Convolution, dropout, batch norm, ReLU, dropout, dense: braindecode's TIDNet
    puts dropout between a convolution and its batch norm."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 3, padding=1, bias=False)
        self.dropout = nn.Dropout1d(0.5)
        self.bn = nn.BatchNorm1d(4)
        self.relu = nn.ReLU()
        self.last_dropout = nn.Dropout(0.5)
        self.classifier = nn.Linear(4 * N_TIMES, 2, bias=False)

    def forward(self, x):
        hidden = self.relu(self.bn(self.dropout(self.conv(x))))
        return self.classifier(self.last_dropout(hidden).flatten(1))


@pytest.mark.parametrize(
    "network_class",
    [_CroppedBeforeBatchNorm, _CroppedTwiceBeforeBatchNorm, _DropoutBetween],
)
def test_batch_norm_is_folded_into_the_convolution_through(network_class):
    """A per-channel affine map commutes with cropping time, and dropout
    returns its input in evaluation mode: the batch norm is folded into the
    convolution before them (it was refused, as following no convolution),
    and the convolution feeds the ReLU through them, for the patterns'
    two-component estimator."""
    torch.manual_seed(0)
    module = _randomize_batch_norms(network_class().double()).eval()
    data = _data()
    folded = fold_batch_norms(module, data)
    assert isinstance(folded.bn, nn.Identity) and folded.conv.bias is not None
    inputs = data.clone().requires_grad_()
    logits = module(inputs).gather(1, TARGET[:, None])[:, 0]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    torch.testing.assert_close(relevance, gradient * data)
    _, _, estimators = prepare_network(module, data, "learn_patterns")
    assert estimators == {"conv": "two_component", "classifier": "linear"}


class _MaxNormConv(nn.Conv1d):
    """braindecode's Conv2dWithConstraint: the weight renormed in each forward."""

    def forward(self, x):  # noqa: D102
        self.weight.data = torch.renorm(self.weight.data, p=2, dim=0, maxnorm=1.0)
        return super().forward(x)


class _MaxNormLinear(nn.Linear):
    """braindecode's LinearWithConstraint."""

    def forward(self, x):  # noqa: D102
        self.weight.data = torch.renorm(self.weight.data, p=2, dim=0, maxnorm=1.0)
        return super().forward(x)


def _batch_norm_between(conv, classifier, rectified):
    """Convolution, batch norm and dense layer, with the batch norm folded into
    the convolution, or after a ReLU (``rectified``) into the dense layer."""
    torch.manual_seed(0)
    conv = conv(N_CHANNELS, 4, 3, padding=1)
    batch_norm = nn.BatchNorm1d(4)
    classifier = classifier(4 * N_TIMES // 2, 2)
    layers = [nn.ReLU(), batch_norm] if rectified else [batch_norm, nn.ELU()]
    module = nn.Sequential(conv, *layers, nn.AvgPool1d(2), nn.Flatten(), classifier)
    module = module.double()
    _randomize_batch_norms(module)
    with torch.no_grad():
        for layer in (conv, classifier):
            layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=1.0))
        # Scales of about 3: folded, the weights' norms exceed the maximum.
        batch_norm.running_var.fill_(0.1)
    return module


@pytest.mark.parametrize(
    "rectified", [False, True], ids=["into the convolution", "into the dense layer"]
)
def test_batch_norm_folds_into_a_max_norm_layer(rectified):
    """The folded weight was renormed at the next call, and the network
    refused as one with a layer used elsewhere."""
    plain = _batch_norm_between(nn.Conv1d, nn.Linear, rectified)
    constrained = _batch_norm_between(
        nn.Conv1d if rectified else _MaxNormConv,
        _MaxNormLinear if rectified else nn.Linear,
        rectified,
    )
    data = _data()
    torch.testing.assert_close(constrained(data), plain(data))
    for method in ("lrp_epsilon", "lrp_zplus"):
        torch.testing.assert_close(
            _lrp(method, constrained, data, TARGET), _lrp(method, plain, data, TARGET)
        )


class _ConstrainsInItsForward(nn.Sequential):
    """The max-norm constraint applied to its convolution by the network's forward."""

    def forward(self, x):  # noqa: D102
        conv = self[0]
        conv.weight.data = torch.renorm(conv.weight.data, p=2, dim=0, maxnorm=1.0)
        return super().forward(x)


@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus"])
def test_a_constraint_in_the_networks_forward_undoing_the_fold_is_named(method):
    """Its forward renormed the folded weight, and the network was refused as
    one with a layer used elsewhere, which named nothing it has."""
    module = _ConstrainsInItsForward(*_batch_norm_between(nn.Conv1d, nn.Linear, False))
    with pytest.raises(ValueError, match="overwrites the folded weight '0.weight'"):
        _lrp(method, module, _data(), TARGET)


class _MaxOverTime(nn.Module):
    """Convolution, ReLU, then a maximum over time written in one of five ways
    (over windows of a quarter of it for ``"windows"``)."""

    def __init__(self, pool):
        super().__init__()
        self.pool = pool
        self.conv = nn.Conv1d(N_CHANNELS, 4, 5, padding=2, bias=False)
        self.relu = nn.ReLU()
        self.adaptive = nn.AdaptiveMaxPool1d(4)
        self.windows = nn.MaxPool1d(N_TIMES // 4)
        self.classifier = nn.Linear(4 if pool in ("max", "amax") else 16, 2, bias=False)

    def forward(self, x):
        x = self.relu(self.conv(x))
        if self.pool == "module":
            x = self.adaptive(x)
        elif self.pool == "windows":
            x = self.windows(x)
        elif self.pool == "function":
            x = nn.functional.adaptive_max_pool1d(x, 4)
        elif self.pool == "max":
            x = x.max(-1).values
        else:
            x = x.amax(-1)
        return self.classifier(x.flatten(1))


def _gradient_x_input(module, data, target):
    inputs = data.clone().requires_grad_()
    logits = module(inputs).gather(1, target[:, None])
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return gradient * data


@pytest.mark.parametrize("pool", ["module", "function", "max", "amax", "windows"])
def test_max_over_time_is_max_pooling(pool):
    """nn.AdaptiveMaxPool1d and x.max(-1) / x.amax(-1) route relevance as
    F.adaptive_max_pool1d does (they were refused), and so does nn.MaxPool1d:
    LRP-0 is gradient x input on this bias-free ReLU network, and relevance is
    conserved."""
    torch.manual_seed(0)
    module, data = _MaxOverTime(pool).double().eval(), _data()
    target = _positive_class(module, data)
    relevance = _lrp("lrp_epsilon", module, data, target, epsilon=1e-12)
    np.testing.assert_allclose(
        relevance, _gradient_x_input(module, data, target), rtol=1e-5, atol=1e-10
    )
    np.testing.assert_allclose(
        relevance.sum(dim=(1, 2)), _target_logits(module, data, target), rtol=1e-6
    )


class _DenseOverEachTime(nn.Module):
    """A dense layer applied to the features of each time (a 3-D input), as in
    the feed-forward blocks of transformers."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(N_CHANNELS, 4, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.per_time = nn.Linear(4, 3, bias=False)
        self.per_time_relu = nn.ReLU()
        self.classifier = nn.Linear(3 * N_TIMES, 2, bias=False)

    def forward(self, x):  # noqa: D102
        features = self.relu(self.conv(x)).transpose(1, 2)
        return self.classifier(self.per_time_relu(self.per_time(features)).flatten(1))


def test_a_dense_layer_over_each_time_is_explained_by_its_rule():
    """On a 3-D input nn.Linear computes through several autograd nodes (a
    batched product among them), which its rule handles as one call: none is
    judged as an operation of the forward. LRP-0 is gradient x input on this
    bias-free ReLU network."""
    torch.manual_seed(0)
    module, data = _DenseOverEachTime().double().eval(), _data()
    relevance = _lrp("lrp_epsilon", module, data, TARGET, epsilon=1e-12)
    np.testing.assert_allclose(
        relevance, _gradient_x_input(module, data, TARGET), rtol=1e-5, atol=1e-10
    )
