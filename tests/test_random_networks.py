"""Networks nobody chose: the rule-based methods explain them right or refuse.

Twenty small networks drawn from fixed seeds (``tests/random_networks.py``)
go through every method with propagation rules. Each either raises a
ValueError naming the layer or operation it has no rule for, or its map passes
an invariant checked against a reference written here, independently of
mne_xai's rules: DeepLIFT's summation to delta and, where every nonlinearity
is an activation module, the rescale rule; guided backprop and deconvolution
against rectifiers whose backward pass is replaced; LRP-0 against gradient ×
input, or its conservation without biases; z+, αβ and the composite, on plain
stacks, against the rules applied layer by layer (Montavon et al. 2019,
section 10.2.2). A method that runs on a network holding an operation no rule
follows fails, whatever its map. A short version of an audit on a few
hundred random networks, which found LRP's composite losing the relevance of
the samples a ReLU on the input zeroes (seed 24 draws one).
"""

import copy
import re

import pytest
import torch
from random_networks import SMOOTH_MODULES, random_network
from torch import nn

from mne_xai import list_methods
from mne_xai.attribution._registry import get_method, methods_without_rules
from mne_xai.attribution.pattern import NetworkPatterns, prepare_network

pytestmark = [
    pytest.mark.filterwarnings("ignore:Setting forward, backward hooks"),
    # Without max pooling the deconvnet's map is the same for every epoch, as
    # it warns; the map is checked all the same.
    pytest.mark.filterwarnings("ignore:deconvolution's maps do not depend"),
]

N_CHANNELS, N_TIMES, N_CLASSES = 3, 32, 2
SEEDS = range(10, 30)
# Guided Grad-CAM's CAM half needs a time grid: tests/test_random_cam_networks.py
# checks the grid it shares with Grad-CAM, on networks drawn for it.
RULE_METHODS = sorted(
    set(list_methods()) - set(methods_without_rules()) - {"guided_grad_cam"}
)
# A refusal names what it has no rule for: a layer, module or operation by its
# name, or an autograd node.
NAMES_AN_OPERATION = re.compile(
    r"(layer|module|operation|step function|[Bb]atch norm) '[\w.]+'"
    r"|'[\w.]+' \(\w+\)|\w+Backward\d"
)
TARGET = torch.tensor([0, 1, 1, 0])
ZEROS = torch.zeros(1, N_CHANNELS, N_TIMES, dtype=torch.float64)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, *(m for m in SMOOTH_MODULES.values()))
PIECEWISE_LINEAR = (nn.ReLU, nn.LeakyReLU)


def _data():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(len(TARGET), N_CHANNELS, N_TIMES, generator=generator).double()


def _logits(network, data):
    with torch.no_grad():
        return network(data).gather(1, TARGET[:, None])[:, 0]


def _attribute(method, network, **params):
    """Call the method's class on the network, as explain does."""
    data = _data()
    if "baseline" in get_method(method).parameters():
        params["baseline"] = ZEROS
    if method.startswith("pattern"):
        params["patterns"] = _random_patterns(network, data, method)
    return (
        get_method(method)(network)
        .attribute(data.requires_grad_(), TARGET, **params)
        .detach()
    )


def _random_patterns(network, data, method):
    """Patterns of any value: the rules, not the patterns, are checked."""
    _, layers, estimators = prepare_network(network, data, method)
    generator = torch.Generator().manual_seed(0)
    return NetworkPatterns(
        {
            name: torch.randn(layer.weight.shape, generator=generator).numpy()
            for name, layer in layers.items()
        },
        estimators,
        {name: layer.weight.detach().numpy() for name, layer in layers.items()},
        n_epochs=1,
    )


def _modules(network, kinds):
    return [layer for layer in network.modules() if isinstance(layer, kinds)]


def _input_gradient(network, data, hook=None):
    """Gradient of the target logits, ``hook`` replacing activation outputs."""
    handles = [
        layer.register_forward_hook(hook)
        for layer in (_modules(network, ACTIVATIONS) if hook else [])
    ]
    try:
        data = data.clone().requires_grad_()
        (gradient,) = torch.autograd.grad(
            network(data).gather(1, TARGET[:, None]).sum(), data
        )
    finally:
        for handle in handles:
            handle.remove()
    return gradient


class _Rectified(torch.autograd.Function):
    """An activation's output whose backward is a rectifier rule of ours."""

    @staticmethod
    def forward(ctx, x, output, guided):
        ctx.save_for_backward(x)
        ctx.guided = guided
        return output.detach().clone()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        passed = grad.clamp(min=0)
        return (passed * (x > 0) if ctx.guided else passed), None, None


class _Rescaled(torch.autograd.Function):
    """DeepLIFT's rescale multiplier on a batch of epochs then baselines."""

    @staticmethod
    def forward(ctx, x, output, activation):
        half = len(x) // 2
        dx, dy = x[:half] - x[half:], output[:half] - output[half:]
        # Where input and baseline meet, the multiplier is the derivative.
        with torch.enable_grad():
            probe = x[:half].detach().requires_grad_()
            (slope,) = torch.autograd.grad(activation.forward(probe).sum(), probe)
        multiplier = torch.where(dx.abs() > 1e-9, dy / dx.where(dx != 0, 1.0), slope)
        ctx.save_for_backward(torch.cat([multiplier, multiplier]))
        return output.detach().clone()

    @staticmethod
    def backward(ctx, grad):
        (multiplier,) = ctx.saved_tensors
        return grad * multiplier, None, None


def _rescale_reference(network, data):
    both = torch.cat([data, ZEROS.expand_as(data)]).requires_grad_()

    def rescale(layer, inputs, output):
        return _Rescaled.apply(inputs[0], output, layer)

    handles = [
        layer.register_forward_hook(rescale) for layer in _modules(network, ACTIVATIONS)
    ]
    try:
        logits = network(both).gather(1, torch.cat([TARGET, TARGET])[:, None])[:, 0]
        half = len(data)
        (gradient,) = torch.autograd.grad((logits[:half] - logits[half:]).sum(), both)
    finally:
        for handle in handles:
            handle.remove()
    return gradient[: len(data)] * data


# -- the LRP rules, layer by layer on a plain stack ------------------------------
def _lrp_layer(layer, x, relevance, rule):
    """Relevance of ``x`` from that of ``layer(x)``, by the gradient trick."""
    weight, bias = layer.weight, layer.bias
    if isinstance(layer, nn.Linear):
        apply = lambda inputs, w, b: nn.functional.linear(inputs, w, b)  # noqa: E731
    else:
        apply = layer._conv_forward
    if rule == "wsquare":
        ones = torch.ones_like(x).requires_grad_()
        z = apply(ones, weight**2, None)
        (share,) = torch.autograd.grad(z, ones, relevance / z)
        return share
    if rule == "epsilon":  # the composite's default ε, 0.01
        z = apply(x.requires_grad_(), weight, bias)
        stabilized = z + 0.01 * torch.where(z >= 0, 1.0, -1.0)
        (gradient,) = torch.autograd.grad(z, x, relevance / stabilized)
        return x * gradient
    alpha, beta, with_bias = {
        "zplus": (1, 0, False),
        "alpha1_beta0": (1, 0, True),
        "alpha2_beta1": (2, 1, True),
    }[rule]
    positive_x = x.clamp(min=0).requires_grad_()
    negative_x = x.clamp(max=0).requires_grad_()
    result = 0
    for factor, sign in ((alpha, 1), (-beta, -1)):
        if not factor:
            continue
        # Contributions x w of this sign: x+ w+ and x- w- are positive.
        w_same, w_other = weight.clamp(min=0), weight.clamp(max=0)
        if sign < 0:
            w_same, w_other = w_other, w_same
        z = apply(positive_x, w_same, None) + apply(negative_x, w_other, None)
        if with_bias and bias is not None:
            part = bias.clamp(min=0) if sign > 0 else bias.clamp(max=0)
            z = z + part.reshape(-1, *(1,) * (z.ndim - 2))
        share = factor * relevance / torch.where(z == 0, 1.0, z)
        gradients = torch.autograd.grad(z, (positive_x, negative_x), share)
        result = result + positive_x * gradients[0] + negative_x * gradients[1]
    return result.detach()


def _lrp_reference(network, data, first, conv, dense):
    """LRP of a plain stack: ReLU and dropout keep relevance, pooling LRP-0."""
    activations = [data]
    for layer in network:
        activations.append(layer(activations[-1]).detach())
    relevance = torch.zeros_like(activations[-1])
    rows = torch.arange(len(data))
    relevance[rows, TARGET] = activations[-1][rows, TARGET]
    weighted = [i for i, layer in enumerate(network) if hasattr(layer, "weight")]
    for i in reversed(range(len(network))):
        layer, x = network[i], activations[i].clone()
        if hasattr(layer, "weight"):
            rule = (
                first if i == weighted[0] else dense if layer is network[-1] else conv
            )
            relevance = _lrp_layer(layer, x, relevance, rule)
        elif isinstance(layer, nn.Flatten):
            relevance = relevance.reshape(x.shape)
        elif isinstance(layer, nn.MaxPool1d | nn.AvgPool1d):
            z = layer(x.requires_grad_())
            (gradient,) = torch.autograd.grad(
                z, x, relevance / torch.where(z == 0, 1.0, z)
            )
            relevance = x * gradient
    return relevance.detach()


LRP_RULES = {
    "lrp_zplus": ("zplus", "zplus", "zplus"),
    "lrp_alpha1_beta0": ("alpha1_beta0",) * 3,
    "lrp_alpha2_beta1": ("alpha2_beta1",) * 3,
    "lrp_composite": ("wsquare", "zplus", "epsilon"),
}


# -- the invariants ----------------------------------------------------------------
def _assert_close(actual, expected, rtol=1e-6):
    scale = expected.abs().max().clamp(min=1e-12)
    torch.testing.assert_close(actual, expected, rtol=0, atol=rtol * scale)


def _deeplift_invariant(network, method, relevance):
    delta = _logits(network, _data()) - _logits(network, ZEROS.expand_as(_data()))
    _assert_close(relevance.sum(dim=(1, 2)), delta)
    if not _modules(network, nn.MaxPool1d):
        _assert_close(relevance, _rescale_reference(network, _data()))


def _rectifier_invariant(network, method, relevance):
    def rule(layer, inputs, output):
        return _Rectified.apply(inputs[0], output, method == "guided_backprop")

    _assert_close(relevance, _input_gradient(network, _data(), rule))


def _lrp_epsilon_invariant(network, method, relevance):
    """LRP-0 is gradient × input where every activation is piecewise linear;
    with ELU, it conserves the logit without biases."""
    if len(_modules(network, ACTIVATIONS)) == len(_modules(network, PIECEWISE_LINEAR)):
        lrp_zero = _attribute(method, network, epsilon=1e-12)
        _assert_close(lrp_zero, _input_gradient(network, _data()) * _data())
        return
    unbiased = copy.deepcopy(network)
    with torch.no_grad():
        for name, parameter in unbiased.named_parameters():
            if name.endswith("bias"):
                parameter.zero_()
        for layer in _modules(unbiased, nn.BatchNorm1d):
            layer.running_mean.zero_()
    lrp_zero = _attribute(method, unbiased, epsilon=1e-12)
    _assert_close(lrp_zero.sum(dim=(1, 2)), _logits(unbiased, _data()))


def _lrp_rules_invariant(network, method, relevance):
    if network.plain:
        _assert_close(relevance, _lrp_reference(network, _data(), *LRP_RULES[method]))


INVARIANTS = {
    "deeplift": _deeplift_invariant,
    "deeplift_shap": _deeplift_invariant,
    "guided_backprop": _rectifier_invariant,
    "deconvolution": _rectifier_invariant,
    "lrp_epsilon": _lrp_epsilon_invariant,
    "lrp": _lrp_epsilon_invariant,
    **dict.fromkeys(LRP_RULES, _lrp_rules_invariant),
}


def _has_a_rule_for_everything(network, method):
    """Whether the network holds only what the method's rules follow.

    DeepLIFT's rescale rule holds at smooth activation modules too.
    """
    unruled = network.unruled
    if method.startswith("deeplift"):
        unruled = unruled - set(SMOOTH_MODULES)
    return not unruled


@pytest.mark.parametrize("seed", SEEDS)
def test_rule_methods_explain_a_random_network_right_or_refuse(seed):
    network = random_network(seed, N_CHANNELS, N_CLASSES, N_TIMES)
    for method in RULE_METHODS:
        try:
            relevance = _attribute(method, network)
        except ValueError as error:
            assert NAMES_AN_OPERATION.search(str(error)), (method, str(error))
            continue
        assert _has_a_rule_for_everything(network, method), (method, network)
        assert torch.isfinite(relevance).all(), method
        try:
            INVARIANTS.get(method, lambda *args: None)(network, method, relevance)
        except AssertionError as error:
            raise AssertionError(f"{method}'s map is wrong") from error


def test_random_networks_reach_every_outcome():
    """The seeds draw networks each method explains and networks it refuses,
    plain stacks among them: the test above checks both sides."""
    networks = [random_network(seed, N_CHANNELS, N_CLASSES, N_TIMES) for seed in SEEDS]
    assert sum(network.plain for network in networks) >= 5
    assert sum(bool(network.unruled) for network in networks) >= 5
    explained = [
        network for network in networks if _has_a_rule_for_everything(network, "lrp")
    ]
    assert len(explained) >= 10
    assert any(_modules(network, nn.BatchNorm1d) for network in explained)
