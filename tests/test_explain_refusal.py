"""Methods with per-layer rules refuse what their rules do not handle, by name."""

import re
import warnings
from functools import cache, partial

import mne
import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier
from torch import nn
from torch.ao.quantization import (
    DeQuantStub,
    FusedMovingAvgObsFakeQuantize,
    QuantStub,
)
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from mne_xai import EEGNetClassifier, as_network, explain, list_methods
from mne_xai._graph import without_parametrizations
from mne_xai.attribution import AttributionMethod, _cam_layers, _registry
from mne_xai.attribution._cam_layers import gating_layers
from mne_xai.attribution._core import _check_baseline_scale
from mne_xai.attribution._registry import (
    get_method,
    methods_without_gradient,
    needs_patterns,
)
from mne_xai.attribution.deeplift import CAPTUM_RULES, _CaptumRescale
from mne_xai.attribution.pattern import NetworkPatterns, prepare_network
from mne_xai.attribution.spectral import FourierInput
from mne_xai.evaluate import deletion_curve
from mne_xai.inspect import learn_patterns, maximize_activation, pruning_curve
from mne_xai.models import ScaledInput

N_CHANNELS, N_TIMES = 4, 32
RULE_METHODS = [
    "guided_backprop",
    "deconvolution",
    "guided_grad_cam",
    "lrp",
    "lrp_epsilon",
    "lrp_zplus",
    "lrp_alpha1_beta0",
    "lrp_alpha2_beta1",
    "lrp_composite",
    "deeplift",
    "deeplift_shap",
    "pattern_net",
    "pattern_attribution",
]
# Methods whose rules need patterns learned from data: they are refused like the
# others, and run, with patterns, in tests/test_attribution_patterns.py.
LEARNED_RULES = ["pattern_net", "pattern_attribution"]
FIXED_RULES = [method for method in RULE_METHODS if method not in LEARNED_RULES]
pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks")


class _Swish(torch.autograd.Function):
    """x * sigmoid(x) with its derivative written out, as memory-saving code does."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        sigmoid = torch.sigmoid(x)
        return grad_output * sigmoid * (1 + x * (1 - sigmoid))


class _StraightThrough(torch.autograd.Function):
    """Rounding to half units, its gradient passed through as the identity's."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(2 * x) / 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class _GradientReversal(torch.autograd.Function):
    """The identity, its gradient reversed (domain-adversarial training)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return -grad_output


def _in_float32_only(function):
    """The Function class ``function`` running in float32 alone, as a kernel
    written for one type does; named ``function``'s name + ``InFloat32``."""

    def forward(ctx, x):
        if x.dtype != torch.float32:
            raise RuntimeError(f"expected float32, got {x.dtype}")
        return function.forward(ctx, x)

    name = f"{function.__name__}InFloat32"
    return type(name, (function,), {"forward": staticmethod(forward)})


_GradientReversalInFloat32 = _in_float32_only(_GradientReversal)


@torch.jit.script
def _scripted_rectifier(x):
    """x * (x > 0) in TorchScript, whose operations no Python-level mode sees."""
    return x * (x > 0).to(x.dtype)


@torch.jit.script
def _scripted_top_half(rows):
    """The positions of the larger half of each row's values, in order."""
    return torch.topk(rows, rows.shape[-1] // 2, dim=-1).indices.sort(dim=-1).values


@torch.jit.script
def _scripted_channel_gate(x):
    """The feature maps of more than their mean power kept, in TorchScript.

    A hard gate that scaling, negating or reversing the epoch leaves as it is.
    """
    power = x.pow(2).mean(-1, keepdim=True)
    return x * (power > power.mean(1, keepdim=True)).to(x.dtype)


@torch.jit.script
def _scripted_polarity_gate(x):
    """Each epoch kept where its mean is positive, in TorchScript.

    A hard gate that scaling the epoch, reversing it in time or rolling its
    channels leaves as it is: only negating it changes the gate.
    """
    return x * (x.mean(dim=[1, 2], keepdim=True) > 0).to(x.dtype)


@torch.jit.script
def _scripted_peak(x):
    """Each epoch's peak amplitude, without gradient, in TorchScript."""
    return x.abs().amax(dim=[1, 2], keepdim=True).detach()


@torch.jit.script
def _scripted_loud_times(x):
    """The times at which an epoch's maps have a power above 0.05, in TorchScript.

    Their number changes with the epoch, and with its scale.
    """
    return (x.pow(2).mean(dim=[0, 1]) > 0.05).nonzero().flatten()


@torch.jit.script
def _scripted_flat_epochs_zeroed(x):
    """Epochs of little variance zeroed, the others rectified below -1, in TorchScript."""
    if bool(x.std() < 0.75):
        return torch.zeros_like(x)
    return x * (x > -1.0).to(x.dtype)


def _k_max_pooling_in_script(x):
    """Each map's larger half of samples, picked at positions TorchScript computes."""
    rows = x.reshape(-1, x.shape[-1])
    kept = rows[torch.arange(len(rows))[:, None], _scripted_top_half(rows)]
    return kept.repeat(1, 2).reshape(x.shape)


def _first_map_zeroed_in_place(x):
    """The maps, the first of them zeroed by assigning to part of the tensor."""
    x = x.clone()
    x[:, 0] = 0
    return x


def _k_winners_take_all(x):
    """The larger half of each map's samples kept: a mask scattered at top-k indices."""
    winners = x.topk(x.shape[-1] // 2, dim=-1).indices
    return x * torch.zeros_like(x).scatter(-1, winners, 1.0)


class SmallNet(nn.Module):
    """A small EEGNet: spatial and temporal convolutions, batch norm, ELU, pooling.

    ``activation`` is ``"module"`` for an ``nn.ELU`` layer; otherwise the named
    function is called in ``forward`` in its place, as many hand-written networks do.
    """

    FUNCTIONS = {
        "elu": F.elu,
        "relu": F.relu,
        "leaky_relu": F.leaky_relu,
        "tanh": torch.tanh,
        "abs": torch.abs,
        "clamp": lambda x: x.clamp(-1, 1),
        "square": lambda x: x * x,
        # Each map weighted by its covariances with the others (maps x maps x time).
        "covariance_weighted": lambda x: (
            x.squeeze(2) @ x.squeeze(2).mT @ x.squeeze(2)
        ).unsqueeze(2),
        "rectifier_by_hand": lambda x: x * (x > 0),
        "rectifier_by_detached_mask": lambda x: x * (x.detach() > 0),
        "rectifier_by_float_mask": lambda x: x * (x > 0).to(x.dtype),
        "rectifier_by_round": lambda x: x * torch.round(torch.sigmoid(x.detach())),
        "rectifier_by_floor": lambda x: (
            x * torch.floor(torch.sigmoid(x.detach()) + 0.5)
        ),
        "rectifier_by_sign": lambda x: x * (torch.sign(x.detach()) + 1) / 2,
        "rectifier_by_heaviside": lambda x: (
            x * torch.heaviside(x.detach(), x.new_zeros(()))
        ),
        "rectifier_by_round_in_place": lambda x: x * torch.sigmoid(x.detach()).round_(),
        "rectifier_by_ceil": lambda x: x * torch.ceil(torch.sigmoid(x.detach()) - 0.5),
        "rectifier_by_trunc": lambda x: (
            x * torch.trunc(torch.sigmoid(x.detach()) + 0.5)
        ),
        # The sign activations of binary neural networks: no gradient at all.
        "binarized": lambda x: (x > 0).to(x.dtype),
        # Quantization to quarter units: a step function, of zero gradient.
        "floor_division": lambda x: torch.div(x, 0.25, rounding_mode="floor") * 0.25,
        "k_winners_take_all": _k_winners_take_all,
        "first_map_zeroed_in_place": _first_map_zeroed_in_place,
        "scripted_rectifier": _scripted_rectifier,
        "vmapped_rectifier": lambda x: torch.vmap(lambda epoch: epoch * (epoch > 0))(x),
        "k_max_pooling_in_script": _k_max_pooling_in_script,
        "peak_over_time": lambda x: x.max(dim=-1, keepdim=True).values.expand_as(x),
        "peak_over_time_by_amax": lambda x: x.amax(dim=-1, keepdim=True).expand_as(x),
        # Its positions read out to Python, as a network keeping its peaks to show.
        "peak_over_time_listing_positions": lambda x: (
            x.max(dim=-1, keepdim=True).indices.tolist(),
            x.amax(dim=-1, keepdim=True).expand_as(x),
        )[1],
        "reflected": lambda x: 1.0 - x,
        # A division of a constant by the maps (ones_like reads only their shape).
        "inverse": lambda x: torch.ones_like(x) / (x + 10.0),
        "swish_function": _Swish.apply,
        "swish_function_in_float32": _in_float32_only(_Swish).apply,
        "straight_through": lambda x: F.elu(_StraightThrough.apply(x)),
        "gradient_reversal": lambda x: F.elu(_GradientReversal.apply(x)),
        "gradient_reversal_in_float32": lambda x: F.elu(
            _GradientReversalInFloat32.apply(x)
        ),
        # Quantization-aware training: rounding to 16 levels, its gradient
        # passed straight through by torch's own backward.
        "fake_quantized": lambda x: F.elu(
            torch.fake_quantize_per_tensor_affine(x, 0.25, 0, -8, 7)
        ),
    }

    def __init__(
        self,
        n_channels,
        n_classes,
        n_times,
        sfreq=128.0,
        input_scale=1.0,
        *,
        activation="module",
        bias=True,
    ):
        super().__init__()
        self.spatial = nn.Conv2d(1, 4, (n_channels, 1), bias=False)
        self.temporal = nn.Conv2d(4, 4, (1, 5), padding=(0, 2), bias=False)
        self.batch_norm = nn.BatchNorm2d(4)
        self.activation = activation
        if activation == "module":
            self.elu = nn.ELU()
        self.pool = nn.AvgPool2d((1, 4))
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(4 * (n_times // 4), n_classes, bias=bias)
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))

    def forward(self, x):
        x = (x * self.input_scale).unsqueeze(1)
        x = self.batch_norm(self.temporal(self.spatial(x)))
        if self.activation == "module":
            x = self.elu(x)
        else:
            x = self.FUNCTIONS[self.activation](x)
        return self.classifier(self.flatten(self.pool(x)))


def _arrays():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, N_CHANNELS, N_TIMES)).astype(np.float32)
    y = np.repeat([0, 1], 8)
    X[y == 1, 0] *= 3
    return X, y


def _fit(activation):
    return _fit_module(SmallNet, activation=activation)


def _fit_module(module, **module_params):
    """``module`` trained one pass on the small arrays."""
    X, y = _arrays()
    return EEGNetClassifier(
        module=module,
        **{f"module__{name}": value for name, value in module_params.items()},
        max_epochs=1,
        batch_size=8,
        random_state=0,
        verbose=False,
    ).fit(X, y)


@pytest.fixture(scope="module")
def functional_elu():
    return _fit("elu")


@pytest.fixture(scope="module")
def module_elu():
    return _fit("module")


def _explain(estimator, method, **params):
    X, _ = _arrays()
    return explain(estimator, X[:4], method, target=0, verbose=False, **params)


def _valid_methods(message):
    """The methods an error message names as valid for the network."""
    listed = re.search(
        r"may apply to this network \(each checks it in turn\): ([^.]*)\.", message
    ).group(1)
    return set(listed.split(", "))


def test_registry_marks_the_methods_with_rules():
    marked = {name for name in list_methods() if get_method(name).propagation_rules}
    assert marked == set(RULE_METHODS)


# -- (1) the same network with F.elu in forward ----------------------------------
@pytest.mark.parametrize("method", RULE_METHODS)
def test_functional_elu_is_refused(functional_elu, method):
    with pytest.raises(ValueError, match=f"{method} has no rule for .*'elu'") as error:
        _explain(functional_elu, method)
    # (4) The message lists the methods without per-layer rules, and only them.
    assert _valid_methods(str(error.value)) == set(list_methods()) - set(RULE_METHODS)


@pytest.mark.parametrize(
    "method, params",
    [
        ("saliency", {}),
        ("gradient_x_input", {}),
        ("integrated_gradients", {}),
        ("smoothgrad", {"n_samples": 2}),
        ("gradient_shap", {}),
        ("occlusion", {}),
        ("grad_cam", {}),
    ],
)
def test_functional_elu_is_explained_by_gradient_methods(
    functional_elu, method, params
):
    attribution = _explain(functional_elu, method, **params).get_data()
    assert np.isfinite(attribution).all() and np.abs(attribution).max() > 0


def _assert_saliency_is_the_gradient(estimator):
    """Saliency of class 0 is the absolute gradient of its logit, as autograd gives it."""
    X, _ = _arrays()
    saliency = explain(estimator, X[:4], "saliency", target=0, verbose=False)
    inputs = torch.from_numpy(X[:4]).requires_grad_()
    (gradient,) = torch.autograd.grad(estimator.module_(inputs)[:, 0].sum(), inputs)
    np.testing.assert_allclose(saliency.get_data(), gradient.abs(), rtol=1e-5)


def test_autograd_function_is_explained_by_its_own_gradient():
    """torch runs a Function's forward without grad: every gradient method
    refused the network as computing its output "without gradient"."""
    swish = _fit("swish_function")
    _assert_saliency_is_the_gradient(swish)
    X, _ = _arrays()
    with pytest.raises(ValueError, match="lrp_epsilon has no rule for .*'_swish'"):
        explain(swish, X[:4], "lrp_epsilon", target=0, verbose=False)


def test_an_autograd_function_running_in_float32_only_is_judged_in_float32():
    """Its derivative cannot be checked in float64, as others are; judged in
    the network's own precision, a backward that is its derivative passes."""
    _assert_saliency_is_the_gradient(_fit("swish_function_in_float32"))


def test_a_rectifier_by_a_mask_of_floats_is_explained_by_its_gradient():
    """The mask (x > 0) converted to floats is a step function of the input,
    whose derivative autograd takes as zero, as it is: no computation "without
    gradient" that would make the gradient another function's."""
    _assert_saliency_is_the_gradient(_fit("rectifier_by_float_mask"))


class FusedFakeQuantized(SmallNet):
    """SmallNet fake-quantizing its maps to quarter units before the ELU with
    the fused quantizer of torch's default quantization-aware training (its
    observer disabled, its scale fixed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quantize = FusedMovingAvgObsFakeQuantize(
            quant_min=-8, quant_max=7, dtype=torch.qint8
        )
        self.quantize.scale.fill_(0.25)
        self.quantize.disable_observer()

    def forward(self, x):  # noqa: D102
        x = (x * self.input_scale).unsqueeze(1)
        x = self.quantize(self.batch_norm(self.temporal(self.spatial(x))))
        return self.classifier(self.flatten(self.pool(self.elu(x))))


@pytest.mark.parametrize(
    "fit, name",
    [
        (
            partial(_fit, "straight_through"),
            "torch.autograd.Function _StraightThrough",
        ),
        (
            partial(_fit, "gradient_reversal"),
            "torch.autograd.Function _GradientReversal",
        ),
        (
            partial(_fit, "gradient_reversal_in_float32"),
            "torch.autograd.Function _GradientReversalInFloat32",
        ),
        (
            partial(_fit, "fake_quantized"),
            r"'fake_quantize_per_tensor_affine_cachemask' \(fake quantization\)",
        ),
        (
            partial(_fit_module, FusedFakeQuantized),
            r"'fused_moving_avg_obs_fq_helper' \(fake quantization\)",
        ),
    ],
    ids=[
        "straight_through",
        "gradient_reversal",
        "gradient_reversal_in_float32",
        "fake_quantized",
        "fused",
    ],
)
@pytest.mark.parametrize("method", ["saliency", "integrated_gradients"])
def test_autograd_function_of_another_gradient_is_refused(fit, name, method):
    """A Function whose backward is not its forward's derivative gave its own
    gradient as the network's: saliency of reversed sign, integrated gradients
    summing to -0.25 where the logit changes by 0.25 (with only a warning of an
    integral not converged). torch's fake quantization passes its gradient
    straight through the rounding as well, and saliency gave that. A Function
    that runs in float32 only went unjudged: the check ran in float64."""
    X, _ = _arrays()
    with pytest.raises(ValueError, match=f"{name}, whose backward is not"):
        explain(fit(), X[:4], method, target=0, verbose=False)


def test_smoothgrad_refuses_a_base_method_with_rules(functional_elu):
    with pytest.raises(ValueError, match="guided_backprop has no rule for .*'elu'"):
        _explain(
            functional_elu, "smoothgrad", base_method="guided_backprop", n_samples=2
        )


# -- (2) the same network with nn.ELU modules --------------------------------------
@pytest.mark.parametrize("method", FIXED_RULES)
def test_module_elu_is_explained(module_elu, method):
    attribution = _explain(module_elu, method).get_data()
    assert np.isfinite(attribution).all() and np.abs(attribution).max() > 0


def _untrained(network=SmallNet, **params):
    torch.manual_seed(0)
    return network(N_CHANNELS, 2, N_TIMES, **params).double().eval()


def _data():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(5, N_CHANNELS, N_TIMES, generator=generator).double()


TARGET = torch.tensor([0, 1, 1, 0, 1])
ZEROS = torch.zeros(1, N_CHANNELS, N_TIMES, dtype=torch.float64)


def _attribute(method, module, **params):
    """Call the method's class directly, with a zero baseline if it takes one."""
    if "baseline" in get_method(method).parameters():
        params["baseline"] = ZEROS
    inputs = _data().requires_grad_()  # as explain() passes them
    return get_method(method)(module).attribute(inputs, TARGET, **params).detach()


def _logits(module, data):
    return module(data).gather(1, TARGET[:, None])[:, 0]


def test_module_elu_deeplift_sums_to_delta():
    module = _untrained()
    with torch.no_grad():
        delta = _logits(module, _data()) - _logits(module, ZEROS.expand(5, -1, -1))
    attribution = _attribute("deeplift", module)
    np.testing.assert_allclose(attribution.sum(dim=(1, 2)), delta, atol=1e-10)


class NamedElu(nn.ELU):
    """An ELU under a name of the user's, computing as nn.ELU."""


class CenteredElu(nn.ELU):
    """An nn.ELU subclass whose outputs depend on several inputs each."""

    def forward(self, x):  # noqa: D102
        return super().forward(x - x.mean(dim=-1, keepdim=True))


def _with_backward_hook(hook, layer="elu", register="register_full_backward_hook"):
    """A SmallNet trained a step, with ``hook`` on a layer's backward pass (its
    ELU's, or the network's own for ``""``), registered by ``register``."""
    estimator = _fit("module")
    getattr(estimator.module_.get_submodule(layer), register)(hook)
    return estimator


def test_backward_hooks_change_no_explanation():
    """A backward hook changes a network's gradients, not the function it
    computes: saliency gave a hook's halved gradient as the network's, and the
    rule methods refused a hook that only records ("no rule for the operation
    'backward_hook_function'"), which every method's passes ran."""
    X, _ = _arrays()
    plain = _fit("module")
    inputs = torch.from_numpy(X[:4]).requires_grad_()
    (gradient,) = torch.autograd.grad(plain.module_(inputs)[:, 0].sum(), inputs)
    halving = _with_backward_hook(lambda layer, grad_in, grad_out: (grad_in[0] / 2,))
    saliency = explain(halving, X[:4], "saliency", target=0, verbose=False)
    np.testing.assert_allclose(saliency.get_data(), gradient.abs(), rtol=1e-5)
    recorded = []
    recording = _with_backward_hook(lambda *args: recorded.append(args))
    torch.testing.assert_close(
        explain(recording, X[:4], "deeplift", target=0, verbose=False).get_data(),
        explain(plain, X[:4], "deeplift", target=0, verbose=False).get_data(),
    )
    assert not recorded
    assert recording.module_.elu._backward_hooks  # the network keeps its hook


@pytest.mark.parametrize(
    "layer, register",
    [
        ("elu", "register_full_backward_pre_hook"),
        ("", "register_full_backward_hook"),
        ("", "register_full_backward_pre_hook"),
    ],
    ids=[
        "pre_hook_of_a_layer",
        "hook_of_the_network_itself",
        "pre_hook_of_the_network",
    ],
)
def test_backward_hooks_of_each_kind_and_module_change_no_saliency(layer, register):
    """A backward pre-hook changes the gradient a layer passes on as a backward
    hook does, and a hook on the network itself the gradient of its input:
    both are removed from the copy explained, so saliency is the plain
    network's gradient, not its half."""
    X, _ = _arrays()
    inputs = torch.from_numpy(X[:4]).requires_grad_()
    plain = _fit("module").module_
    (gradient,) = torch.autograd.grad(plain(inputs)[:, 0].sum(), inputs)
    halving = _with_backward_hook(
        lambda _layer, *grads: (grads[0][0] / 2,), layer, register
    )
    saliency = explain(halving, X[:4], "saliency", target=0, verbose=False)
    np.testing.assert_allclose(saliency.get_data(), gradient.abs(), rtol=1e-5)


@pytest.mark.parametrize(
    "register",
    [
        torch.nn.modules.module.register_module_full_backward_hook,
        torch.nn.modules.module.register_module_full_backward_pre_hook,
    ],
)
def test_backward_hooks_of_every_module_are_refused_by_name(module_elu, register):
    """The network's own backward hooks are removed from the copy explained;
    torch's hooks of every module cannot be, and every method differentiating
    the network was refused as reading "torch.Tensor.view_as under
    torch.no_grad()", which torch's hook machinery calls."""
    handle = register(lambda *args: None)
    try:
        for method in ("saliency", "lrp_epsilon"):
            with pytest.raises(ValueError, match="backward hooks on every module"):
                _explain(module_elu, method)
        # Methods that do not differentiate the network are not concerned.
        assert np.isfinite(_explain(module_elu, "occlusion").get_data()).all()
    finally:
        handle.remove()
    assert np.isfinite(_explain(module_elu, "saliency").get_data()).all()


class Upsampled(SmallNet):
    """SmallNet upsampling its pooled maps in time, as braindecode's USleep does
    (with nn.Upsample), or with ``torch.nn.functional.interpolate``; ``"linear"``
    interpolates the maps as time series (maps x time)."""

    def __init__(self, *args, mode="nearest", module=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.mode = mode
        scale = 2 if mode == "linear" else (1, 2)
        self.upsample = partial(F.interpolate, scale_factor=scale, mode=mode)
        if module:
            self.upsample = nn.Upsample(scale_factor=scale, mode=mode)
        self.classifier = nn.Linear(4 * 2 * (N_TIMES // 4), 2)

    def forward(self, x):  # noqa: D102
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x.unsqueeze(1)))))
        x = self.pool(x)
        x = x.squeeze(2) if self.mode == "linear" else x
        return self.classifier(self.upsample(x).flatten(1))


@pytest.mark.parametrize("module", [False, True], ids=["function", "module"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "linear"])
@pytest.mark.parametrize("method", ["deeplift", "lrp_epsilon"])
def test_upsampling_is_passed_as_a_linear_map(method, mode, module):
    """Upsampling copies or interpolates samples, a fixed linear map whose rule
    is its gradient (as for average pooling); it was refused by name."""
    module = _untrained(Upsampled, mode=mode, module=module)
    with torch.no_grad():  # no bias anywhere: LRP-0 conserves the logit
        for bias in (module.batch_norm.bias, module.batch_norm.running_mean):
            bias.zero_()
        module.classifier.bias.zero_()
    if method == "deeplift":
        assert _summation_error(module, _attribute(method, module)) < 1e-10
    else:
        relevance = _attribute(method, module, epsilon=1e-9)
        with torch.no_grad():
            logits = _logits(module, _data())
        np.testing.assert_allclose(relevance.sum(dim=(1, 2)), logits, rtol=1e-6)


class CircularlyPadded(SmallNet):
    """SmallNet whose temporal convolution pads circularly, by torch's
    ``padding_mode="circular"`` or, ``by_hand``, by concatenating each epoch's
    ends before a convolution without padding: the same function."""

    def __init__(self, *args, by_hand=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.by_hand = by_hand
        self.temporal.padding_mode = "zeros" if by_hand else "circular"
        if by_hand:
            self.temporal.padding = (0, 0)

    def forward(self, x):  # noqa: D102
        x = self.spatial(x.unsqueeze(1))
        if self.by_hand:
            x = torch.cat([x[..., -2:], x, x[..., :2]], dim=-1)
        x = self.elu(self.batch_norm(self.temporal(x)))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["deeplift", "deeplift_shap"])
def test_deeplift_explains_a_convolution_padding_circularly(method):
    """torch's circular padding copies the epoch's ends in place (CopySlices),
    which DeepLIFT refused inside the convolution; a linear map, its rescale
    rule is its gradient: the map is that of the padding written by hand (LRP
    and guided backprop explained both; found on random networks)."""
    torch.testing.assert_close(
        _attribute(method, _untrained(CircularlyPadded)),
        _attribute(method, _untrained(CircularlyPadded, by_hand=True)),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.parametrize("method", ["deeplift", "deeplift_shap"])
def test_deeplift_rescales_at_subclasses_of_its_activations(method):
    """captum matches its activations by exact type: DeepLIFT refused an nn.ELU
    subclass ("no rule for the operation 'elu'"), whose map is the ELU's."""
    plain, named = _untrained(), _untrained()
    named.elu = NamedElu()
    torch.testing.assert_close(
        _attribute(method, named), _attribute(method, plain), rtol=1e-10, atol=1e-12
    )
    centered = _untrained()
    centered.elu = CenteredElu()
    with pytest.raises(ValueError, match=r"layer 'elu' \(CenteredElu\) computes"):
        _attribute(method, centered)


def test_module_elu_lrp_epsilon_conserves_without_biases():
    module = _untrained(bias=False)
    relevance = _attribute("lrp_epsilon", module, epsilon=1e-9)
    with torch.no_grad():
        logits = _logits(module, _data())
    np.testing.assert_allclose(relevance.sum(dim=(1, 2)), logits, atol=1e-10)


def test_module_elu_guided_backprop_is_not_the_gradient():
    module, inputs = _untrained(), _data().requires_grad_()
    (gradient,) = torch.autograd.grad(_logits(module, inputs).sum(), inputs)
    guided = _attribute("guided_backprop", module)
    assert not torch.allclose(guided, gradient, rtol=0.1)


# -- (3) operations no rule handles ----------------------------------------------
class Normalized(SmallNet):
    """Each epoch divided by its own norm: a division by the input."""

    def forward(self, x):
        return super().forward(x / x.norm(dim=(1, 2), keepdim=True))


class InstanceNormalized(SmallNet):
    """Each channel of each epoch standardized: a division by statistics of the input."""

    def forward(self, x):
        return super().forward(F.instance_norm(x))


class RectifiedInput(SmallNet):
    """The input rectified by hand, before anything else reads it."""

    def forward(self, x):
        return super().forward(x * (x > 0))


class ArtifactsZeroed(SmallNet):
    """Samples of large amplitude zeroed: the step function reads ``x.abs()``,
    a tensor that the output's autograd graph does not hold."""

    def forward(self, x):
        return super().forward(x * (x.abs() < 2))


class ArtifactsZeroedWithoutGradient(SmallNet):
    """Samples of large amplitude zeroed by a mask computed without gradient:
    the comparison reads a tensor with no autograd path to the input."""

    def forward(self, x):
        with torch.no_grad():
            amplitude = x.abs()
        return super().forward(x * (amplitude < 2))


class DeadZoneByCast(SmallNet):
    """Samples of small amplitude zeroed through an integer conversion: a step
    function that no comparison, sign or rounding names."""

    def forward(self, x):
        return super().forward(x * (x.abs() * 4).long().clamp(max=1).to(x.dtype))


class FiniteSamplesKept(SmallNet):
    """Non-finite samples zeroed: a boolean mask constant on finite data."""

    def forward(self, x):
        return super().forward(x * torch.isfinite(x))


class EdgeSamplesZeroed(SmallNet):
    """The first samples of each epoch zeroed by a mask made from the input's
    shape (``torch.ones_like``, ``x.new_ones``), or by a fixed mask expanded to
    it (``expand_as``) or converted to its type (``type_as``)."""

    def __init__(self, *args, mask="ones_like", **kwargs):
        super().__init__(*args, **kwargs)
        self.mask = mask

    def forward(self, x):  # noqa: D102
        if self.mask in ("ones_like", "new_ones"):
            keep = (
                torch.ones_like(x, dtype=torch.bool)
                if self.mask == "ones_like"
                else x.new_ones(x.shape, dtype=torch.bool)
            )
            keep[..., :2] = False
        else:
            keep = torch.arange(x.shape[-1]) >= 2
            keep = keep.expand_as(x) if self.mask == "expand_as" else keep.type_as(x)
        return super().forward(x * keep)


class PolarityGatedInScript(SmallNet):
    """Epochs of negative mean zeroed before the network, in TorchScript."""

    def forward(self, x):  # noqa: D102
        return super().forward(_scripted_polarity_gate(x))


class PeakNormalizedInScript(SmallNet):
    """Each epoch divided by its peak amplitude, computed in TorchScript."""

    def forward(self, x):  # noqa: D102
        return super().forward(x / _scripted_peak(x))


class FlatEpochsZeroedInScript(SmallNet):
    """Flat epochs zeroed (a rejection of flat signals) and the others rectified,
    in TorchScript."""

    def forward(self, x):  # noqa: D102
        return super().forward(_scripted_flat_epochs_zeroed(x))


class LoudTimesAveragedInScript(SmallNet):
    """The ELU's maps averaged over the times TorchScript finds loud (an
    artifact rejection by amplitude), then classified."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.classifier = nn.Linear(4, self.classifier.out_features)

    def forward(self, x):  # noqa: D102
        x = (x * self.input_scale).unsqueeze(1)
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x))))
        loud = [maps[..., _scripted_loud_times(maps)].mean(-1) for maps in x]
        return self.classifier(torch.stack(loud).flatten(1))


class ChannelsGatedInScript(SmallNet):
    """The ELU's feature maps of more than their mean power kept, in TorchScript."""

    def forward(self, x):  # noqa: D102
        x = (x * self.input_scale).unsqueeze(1)
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x))))
        return self.classifier(self.flatten(self.pool(_scripted_channel_gate(x))))


@pytest.mark.parametrize("method", RULE_METHODS)
@pytest.mark.parametrize(
    "module, match",
    [
        (_untrained(activation="tanh"), "the operation 'tanh'"),
        # Each of their outputs is one of the input's values, but not linearly.
        (_untrained(activation="abs"), "the operation 'abs'"),
        (_untrained(activation="clamp"), "the operation 'clamp'"),
        (
            _untrained(activation="square"),
            r"MulBackward0 \(a product of two tensors that both depend on the input",
        ),
        (_untrained(Normalized), r"DivBackward0 \(a division by a tensor that depends"),
        (
            _untrained(activation="inverse"),
            r"DivBackward0 \(a division by a tensor that depends",
        ),
        (
            _untrained(activation="first_map_zeroed_in_place"),
            r"CopySlices \(an in-place operation on part of a tensor",
        ),
        (
            _untrained(activation="covariance_weighted"),
            r"BmmBackward0 \(a product of two tensors that both depend on the input",
        ),
        (_untrained(activation="rectifier_by_hand"), "the step function 'gt'"),
        (_untrained(RectifiedInput), "the step function 'gt'"),
        (_untrained(ArtifactsZeroed), "the step function 'lt'"),
        (
            _untrained(activation="rectifier_by_detached_mask"),
            "the step function 'gt'",
        ),
        (_untrained(ArtifactsZeroedWithoutGradient), "the step function 'lt'"),
        (
            _untrained(activation="k_winners_take_all"),
            r"the step function 'topk' \(its torch.int64 output\)",
        ),
        (
            _untrained(activation="scripted_rectifier"),
            r"MulBackward0 \(a product, division or indexing by a tensor computed "
            "from the input out of sight",
        ),
        (
            _untrained(activation="vmapped_rectifier"),
            r"MulBackward0 \(a product, division or indexing by a tensor computed "
            "from the input out of sight",
        ),
        (
            _untrained(activation="k_max_pooling_in_script"),
            r"IndexBackward0 \(a product, division or indexing by a tensor computed "
            "from the input out of sight",
        ),
        (
            _untrained(ChannelsGatedInScript),
            r"MulBackward0 \(a product, division or indexing by a tensor computed "
            "from the input out of sight",
        ),
        (
            _untrained(PolarityGatedInScript),
            r"MulBackward0 \(a product, division or indexing by a tensor computed "
            "from the input out of sight",
        ),
        (
            _untrained(DeadZoneByCast),
            r"the step function 'long' \(to torch.int64\)",
        ),
        (
            _untrained(InstanceNormalized),
            r"BatchNormBackward0 \(a normalization by statistics of the batch",
        ),
        (
            _untrained(activation="floor_division"),
            r"DivBackward2 \(a division rounded to an integer, rounding_mode='floor'",
        ),
    ],
    ids=[
        "tanh",
        "abs",
        "clamp",
        "square",
        "division",
        "inverse",
        "first_map_zeroed_in_place",
        "covariance_weighted",
        "rectifier_by_hand",
        "rectified_input",
        "artifacts_zeroed",
        "rectifier_by_detached_mask",
        "artifacts_zeroed_without_gradient",
        "k_winners_take_all",
        "scripted_rectifier",
        "vmapped_rectifier",
        "k_max_pooling_in_script",
        "channels_gated_in_script",
        "polarity_gated_in_script",
        "dead_zone_by_cast",
        "instance_norm",
        "floor_division",
    ],
)
def test_unhandled_operation_is_refused(method, module, match):
    with pytest.raises(ValueError, match=f"{method} has no rule for .*{match}"):
        _attribute(method, module)


@pytest.mark.parametrize("method", ["guided_backprop", "lrp_epsilon"])
def test_a_scale_computed_out_of_sight_is_refused_on_eeg_in_volts(method):
    """The constant factors of two passes are compared exactly: the peak of
    an epoch in volts changes by microvolts from one epoch to another."""
    inputs = 1e-5 * _data()
    with pytest.raises(ValueError, match=f"{method} has no rule for DivBackward0"):
        get_method(method)(_untrained(PeakNormalizedInScript)).attribute(
            inputs.requires_grad_(), TARGET
        )


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution", "lrp_epsilon"])
def test_indices_whose_number_changes_with_the_epoch_are_refused(method):
    """The indices of a pass were compared with those of other epochs only
    where they had the same shape: a selection of loud times in TorchScript,
    of another number of times on every epoch compared, was explained with
    the plain gradient through it."""
    with pytest.raises(ValueError, match=f"{method} has no rule for IndexBackward0"):
        _attribute(method, _untrained(LoudTimesAveragedInScript))


@pytest.mark.parametrize(
    "step", ["round", "round_in_place", "floor", "ceil", "trunc", "sign", "heaviside"]
)
def test_a_rectifier_by_rounding_or_sign_is_refused_naming_the_step(step):
    """round, floor, ceil, trunc, sign and heaviside give real values, not a
    comparison's booleans: the refusal names the step function the network
    calls (x.round_() as round)."""
    name = step.removesuffix("_in_place")
    with pytest.raises(ValueError, match=f"the step function '{name}' of a tensor"):
        _attribute("guided_backprop", _untrained(activation=f"rectifier_by_{step}"))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_a_hidden_rectifier_passing_all_of_a_quiet_first_epoch_is_refused(method):
    """Shifted up by the batch norm, the rectifier passed every unit of the
    quiet first epoch and of its reversed, halved copy, the only other epoch
    its factors were compared on; on the loud epochs after it, guided
    backprop and deconvolution missed the maps of the same network with
    nn.ReLU by more than their scale."""
    module = _untrained(activation="scripted_rectifier")
    with torch.no_grad():
        module.batch_norm.bias.fill_(1.0)
    inputs = _data()
    inputs[1:] *= 6
    with pytest.raises(ValueError, match=f"{method} has no rule for MulBackward0"):
        get_method(method)(module).attribute(inputs.requires_grad_(), TARGET)


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_a_hidden_rectifier_is_refused_past_an_epoch_the_network_zeroes(method):
    """The frozen network (its parameters without gradient, as for inference)
    zeroed the halved copy of the quiet epoch, and returned no autograd graph
    for it: its factors were compared on no other epoch, and the maps followed
    the plain gradient through the hidden rectifier."""
    module = _untrained(FlatEpochsZeroedInScript).requires_grad_(False)
    with pytest.raises(ValueError, match=f"{method} has no rule for MulBackward0"):
        _attribute(method, module)


class CompiledRectifier(SmallNet):
    """A rectifier written x * (x > 0) in a function torch.compile compiles."""

    def __init__(self, *args, rectifier, **kwargs):
        super().__init__(*args, **kwargs)
        self.rectifier = rectifier

    def forward(self, x):  # noqa: D102
        x = (x * self.input_scale).unsqueeze(1)
        x = self.rectifier(self.batch_norm(self.temporal(self.spatial(x))))
        return self.classifier(self.flatten(self.pool(x)))


def test_a_compiled_function_is_recorded_as_written_without_recompiling(caplog):
    """torch.compile traced the record's __torch_function__ into the function,
    guarding on the id of each tensor: it compiled again at every check, and
    torch printed its recompile_limit warnings to the user."""
    rectifier = torch.compile(lambda x: x * (x > 0).to(x.dtype), backend="eager")
    for _ in range(3):
        with pytest.raises(ValueError, match="the step function 'gt'"):
            _attribute(
                "lrp_epsilon", _untrained(CompiledRectifier, rectifier=rectifier)
            )
    assert not [r for r in caplog.records if "recompile_limit" in r.getMessage()]


def test_compiled_functions_compile_again_after_the_record():
    """The record runs compiled functions as their Python by torch's global
    stance, for its pass only: a stance left forced would have every function
    the user compiles afterwards run uncompiled."""
    _attribute("guided_backprop", _untrained())
    compiled = []

    def backend(graph, _example_inputs):
        compiled.append(graph)
        return graph.forward

    torch.compile(lambda x: x * 2, backend=backend)(torch.ones(3))
    assert compiled


def test_the_record_runs_where_torch_has_no_compiler_stance(monkeypatch):
    """torch.compiler.set_stance came with torch 2.6, and mne_xai supports 2.1
    on: the record's entry failed with an AttributeError there."""
    monkeypatch.delattr(torch.compiler, "set_stance")
    with pytest.raises(ValueError, match="the step function 'gt'"):
        _attribute("lrp_epsilon", _untrained(activation="rectifier_by_hand"))


@pytest.mark.parametrize("peak", ["peak_over_time", "peak_over_time_by_amax"])
@pytest.mark.parametrize("method", ["guided_backprop", "lrp_epsilon"])
def test_a_maximum_over_an_axis_is_max_pooling_whatever_its_indices(method, peak):
    """x.max(dim) also returns the positions of the maxima, as topk does; left
    unread, they gate nothing, and the maximum is max pooling, which guided
    backprop and LRP explain (as x.amax(dim), which returns none)."""
    assert torch.isfinite(_attribute(method, _untrained(activation=peak))).all()


@pytest.mark.parametrize("method", ["guided_backprop", "lrp_epsilon"])
def test_positions_read_out_of_torch_and_not_used_gate_nothing(method):
    """Positions of the maxima read as Python numbers make no tensor the
    logits could depend on: the maximum is max pooling still, explained as
    without them (a step recorded for every read of positions refused it)."""
    listing = _untrained(activation="peak_over_time_listing_positions")
    expected = _attribute(method, _untrained(activation="peak_over_time_by_amax"))
    torch.testing.assert_close(_attribute(method, listing), expected)


@pytest.mark.parametrize("method", ["guided_backprop", "deeplift"])
def test_a_number_minus_a_tensor_is_linear(method):
    """1 - x (torch's rsub) is linear in x, as x - 1 is: the rules pass it."""
    assert torch.isfinite(_attribute(method, _untrained(activation="reflected"))).all()


def test_mask_constant_on_finite_data_is_no_step_function():
    """x * isfinite(x) is x on EEG: DeepLIFT explains it, summing to the delta."""
    module = _untrained(FiniteSamplesKept)
    with torch.no_grad():
        delta = _logits(module, _data()) - _logits(module, ZEROS.expand(5, -1, -1))
    attribution = _attribute("deeplift", module)
    np.testing.assert_allclose(attribution.sum(dim=(1, 2)), delta, atol=1e-10)


@pytest.mark.parametrize("mask", ["ones_like", "new_ones", "expand_as", "type_as"])
def test_mask_made_from_the_shape_of_the_input_is_no_step_function(mask):
    """torch.ones_like(x, dtype=torch.bool) reads no value of x, nor do
    x.new_ones or a fixed mask's expand_as(x) and type_as(x), yet the first was
    refused as a step function (a conversion of x to booleans): DeepLIFT
    explains the masked input, summing to the delta, and saliency gives its
    gradient (nothing of x is computed without gradient)."""
    module = _untrained(EdgeSamplesZeroed, mask=mask)
    with torch.no_grad():
        delta = _logits(module, _data()) - _logits(module, ZEROS.expand(5, -1, -1))
    attribution = _attribute("deeplift", module)
    np.testing.assert_allclose(attribution.sum(dim=(1, 2)), delta, atol=1e-10)
    assert (attribution[..., :2] == 0).all()
    _assert_saliency_is_the_gradient(_fit_module(EdgeSamplesZeroed, mask=mask))


@pytest.mark.parametrize(
    "function, module", [("elu", "ELU"), ("relu", "ReLU"), ("leaky_relu", "LeakyReLU")]
)
@pytest.mark.parametrize("method", ["deeplift", "lrp_epsilon"])
def test_a_function_with_a_module_rule_is_refused_naming_the_module(
    method, function, module
):
    """F.elu in forward read as "no rule for elu", where the rules cover nn.ELU
    (and nn.ReLU, nn.LeakyReLU for F.relu, F.leaky_relu)."""
    with pytest.raises(ValueError, match=rf"Call it as a module \(torch.nn.{module}\)"):
        _attribute(method, _untrained(activation=function))
    assert _attribute(method, _untrained()).abs().sum() > 0  # nn.ELU


class _GatedBlock(nn.Module):
    """A convolution whose output its own forward gates, as swish or F.elu."""

    def __init__(self, n_channels, gate):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.gate = gate

    def forward(self, x):
        h = self.conv(x)
        return h * torch.sigmoid(h) if self.gate == "swish" else F.elu(h)


class Gated(nn.Module):
    """A gated block, then a dense classifier."""

    def __init__(self, n_channels, n_classes, n_times, gate="swish"):
        super().__init__()
        self.block = _GatedBlock(n_channels, gate)
        self.classifier = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):
        return self.classifier(self.block(x).flatten(1))


@pytest.mark.parametrize("method", ["deeplift", "lrp_epsilon", "guided_backprop"])
def test_an_operation_in_a_block_is_refused_naming_the_block(method):
    """A gate h * sigmoid(h) in a block's forward was "called in forward", as if
    in the network's own: the block that computes it is named, and a function
    the rules cover as a module is still advised to be called as one."""
    match = r"MulBackward0 \(a product of .* in module 'block' \(_GatedBlock\)"
    with pytest.raises(ValueError, match=match):
        _attribute(method, _untrained(Gated))
    with pytest.raises(ValueError, match=r"in module 'block' .* \(torch.nn.ELU\)"):
        _attribute(method, _untrained(Gated, gate="elu"))


class _PositionsAdded(nn.Module):
    """A block adding an embedding of each sample's position to the maps it is given."""

    def __init__(self, n_times):
        super().__init__()
        self.position = nn.Embedding(n_times, 1)
        self.register_buffer("times", torch.arange(n_times))

    def forward(self, x):  # noqa: D102
        return x + self.position(self.times)[:, 0]


class GatedBeforeABlock(nn.Module):
    """A gate h * sigmoid(h) in the network's own forward, given to a block by keyword."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.block = _PositionsAdded(n_times)
        self.classifier = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        h = self.conv(x)
        return self.classifier(self.block(x=h * torch.sigmoid(h)).flatten(1))


@pytest.mark.parametrize("method", ["deeplift", "guided_backprop"])
def test_an_operation_given_to_a_block_by_keyword_is_the_networks_own(method):
    """A block's call ends at the tensors it is given, by position or by
    keyword: a gate computed before block(x=...) was named as the block's."""
    match = r"MulBackward0 \(a product of .*\) called in forward"
    with pytest.raises(ValueError, match=match):
        _attribute(method, _untrained(GatedBeforeABlock))


def _halved(_layer, _inputs, output):
    return output / 2


class _UsersBlock(nn.Module):
    """A block of a network of one's own, holding the layer a refusal names."""

    def __init__(self, n_channels, n_times, kind):
        super().__init__()
        self.kind = kind
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.elu = nn.ELU()
        if kind == "layer_norm":
            self.norm = nn.LayerNorm(n_times)
        elif kind == "batch_norm":
            self.norm = nn.BatchNorm1d(4)
            self.mix = nn.Conv1d(4, 4, 1)
        elif kind == "lstm":
            self.lstm = nn.LSTM(4, 2, batch_first=True, bidirectional=True)
        elif kind == "masked":
            self.conv.register_forward_hook(_halved)

    def forward(self, x):  # noqa: D102
        h = self.conv(x)
        if self.kind == "layer_norm":
            return self.elu(self.norm(h))
        if self.kind == "batch_norm":  # after the ELU: no layer to fold it into
            return self.mix(self.norm(self.elu(h)))
        if self.kind == "lstm":
            return self.lstm(self.elu(h).transpose(1, 2))[0].transpose(1, 2)
        if self.kind == "reused_elu":
            return self.elu(self.elu(h))
        return self.elu(h)


class UsersNetwork(nn.Module):
    """A network of one's own without input_scale: the estimator wraps it."""

    def __init__(self, n_channels, n_classes, n_times, kind="layer_norm"):
        super().__init__()
        self.kind = kind
        self.block = _UsersBlock(n_channels, n_times, kind)
        self.classifier = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        logits = self.classifier(self.block(x).flatten(1))
        # After its last layer: made by the network's own call, not a layer's.
        return logits * logits if self.kind == "squared" else logits


@cache
def _fitted_users_network(kind):
    clf = _fit_module(UsersNetwork, kind=kind)
    assert isinstance(clf.module_, ScaledInput)  # the layers are module.block...
    return clf


@pytest.mark.parametrize(
    "kind, method, params, match",
    [
        ("layer_norm", "lrp_epsilon", {}, r"no rule for layer 'block\.norm' \(Layer"),
        ("layer_norm", "guided_backprop", {}, r"no rule for layer 'block\.norm' "),
        ("layer_norm", "deeplift", {}, r"in module 'block\.norm' \(LayerNorm\)"),
        ("lstm", "deeplift", {}, r"in module 'block\.lstm' \(LSTM\)"),
        ("lstm", "grad_cam", {}, r"Layer 'block\.lstm' \(LSTM\) does not map one"),
        ("reused_elu", "deeplift", {}, r"in forward: 'block\.elu' \(2 times\)"),
        (
            "reused_elu",
            "grad_cam",
            {"layer": "block.elu"},
            r"Layer 'block\.elu' is called 2 times",
        ),
        ("layer_norm", "grad_cam", {"layer": "nothing"}, r"'block\.conv', 'block"),
        ("masked", "lrp_epsilon", {}, r"layer 'block\.conv' \(Conv1d\) computes"),
        (
            "batch_norm",
            "lrp_epsilon",
            {},
            r"Batch norm 'block\.norm' is applied to the output of layer 'block\.elu'",
        ),
        ("squared", "deeplift", {}, r"\(a product of .* x \* x\) called in forward"),
    ],
)
def test_refusals_name_the_layers_of_a_network_of_ones_own(kind, method, params, match):
    """Behind the estimator's input scaling, the refusals named the wrapper's
    paths ('module.block.norm'), which the user's network does not have, and an
    operation in its own forward was "in module 'module'"."""
    with pytest.raises(ValueError, match=match) as error:
        _explain(_fitted_users_network(kind), method, **params)
    assert not re.search(r"'module[.']", str(error.value))


class FunctionalConvolution(SmallNet):
    """The spatial convolution called as a function on the layer's weight."""

    def forward(self, x):
        x = F.conv2d((x * self.input_scale).unsqueeze(1), self.spatial.weight)
        x = self.elu(self.batch_norm(self.temporal(x)))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", FIXED_RULES)
def test_functional_linear_layer_needs_a_module_for_lrp_only(method):
    """A convolution outside a module is linear: the rules that keep the gradient
    of linear layers pass it, LRP's rules for convolutions need a module."""
    module = _untrained(FunctionalConvolution)
    if method.startswith("lrp"):
        with pytest.raises(
            ValueError, match=f"{method} has no rule for .*'convolution'"
        ):
            _attribute(method, module)
    else:
        assert torch.isfinite(_attribute(method, module)).all()


def test_a_network_reading_its_input_only_through_a_step_is_fitted_and_refused():
    """Binarized features leave the logits no gradient with respect to the
    input: fit failed with torch's "appears to not have been used in the graph"
    looking for the samples the network reads, and each method differentiating
    the network (or a layer of it) with the same error from inside captum. The
    network trains, those methods refuse saying why, and occlusion explains it."""
    binarized = _fit("binarized")
    X, _ = _arrays()
    for method in sorted(set(list_methods()) - set(methods_without_gradient())):
        params = (
            {"patterns": learn_patterns(binarized, X, verbose=False)}
            if needs_patterns(method)
            else {}
        )
        with pytest.raises(ValueError, match="only through operations without grad"):
            explain(binarized, X[:2], method, target=0, verbose=False, **params)
    occlusion = explain(binarized, X[:2], "occlusion", target=0, verbose=False)
    assert np.isfinite(occlusion.get_data()).all()


def test_a_frozen_network_reading_its_input_only_through_a_step_is_refused():
    """With its weights frozen, such a network's logits need no gradient at
    all: saliency still refuses it saying why, where a gradient of zeros
    passed the check and captum failed with torch's "does not require grad"."""
    binarized = _fit("binarized")
    binarized.module_.requires_grad_(False)
    X, _ = _arrays()
    with pytest.raises(ValueError, match="only through operations without grad"):
        explain(binarized, X[:2], "saliency", target=0, verbose=False)


class WeightsOfTheInput(SmallNet):
    """The dense layer called as a function, on weights scaled by the batch's
    features: a product of two tensors of the input, in one ``addmm``."""

    def forward(self, x):  # noqa: D102
        x = self.spatial((x * self.input_scale).unsqueeze(1))
        features = self.flatten(self.pool(self.elu(self.batch_norm(self.temporal(x)))))
        weight = self.classifier.weight * features.mean()
        return F.linear(features, weight, self.classifier.bias)


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_a_functional_dense_layer_of_weights_of_the_input_is_refused(method):
    """Only the input factor of a dense layer's matrix product may depend on
    the input: kept as the gradient of a linear layer, the product of two
    tensors of the input would be explained as one."""
    with pytest.raises(
        ValueError,
        match=r"AddmmBackward0 \(a product of two tensors that both depend on",
    ):
        _attribute(method, _untrained(WeightsOfTheInput))


class FunctionalMaxPool(SmallNet):
    """Max pooling called as a function in place of the average pooling layer."""

    def forward(self, x):
        x = self.spatial((x * self.input_scale).unsqueeze(1))
        x = self.elu(self.batch_norm(self.temporal(x)))
        return self.classifier(self.flatten(F.max_pool2d(x, (1, 4))))


@pytest.mark.parametrize("method", FIXED_RULES)
def test_functional_max_pooling_needs_a_module_for_deeplift_only(method):
    """Guided backprop and LRP keep the gradient of max pooling; DeepLIFT's rule
    for it (captum's) applies to nn.MaxPool modules. The refusal names the
    operation as torch's function is named."""
    module = _untrained(FunctionalMaxPool)
    if method.startswith("deeplift"):
        match = f"{method} has no rule for .*'max_pool2d_with_indices'"
        with pytest.raises(ValueError, match=match):
            _attribute(method, module)
    else:
        assert torch.isfinite(_attribute(method, module)).all()


# -- (4) modules of other libraries that only reshape --------------------------------
class Ensure4d(nn.Module):
    """braindecode's Ensure4d: trailing axes added to a 4-d tensor."""

    def forward(self, x):
        while x.ndim < 4:
            x = x.unsqueeze(-1)
        return x


class Rearrange(nn.Module):
    """Axes reordered as einops' Rearrange does: a permutation, then a reshape,
    which autograd records as ReshapeAliasBackward0 when it cannot be a view."""

    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        permuted = x.permute(*self.dims)
        return permuted.reshape(permuted.shape)


class Square(nn.Module):
    """A nonlinearity in a module of the user's, without parameters."""

    def forward(self, x):
        return x * x


class WithOwnModules(SmallNet):
    """SmallNet with its reshapes (and, optionally, its nonlinearity) in modules
    of the user's: (batch, chans, time) -> (batch, chans, time, 1) -> (batch, 1,
    chans, time), as braindecode's networks begin."""

    def __init__(self, *args, square=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensure4d = Ensure4d()
        # Through braindecode's (batch, 1, time, chans) to (batch, 1, chans, time).
        self.channels_first = nn.Sequential(
            Rearrange(0, 3, 2, 1), Rearrange(0, 1, 3, 2)
        )
        if square:
            self.elu = Square()

    def forward(self, x):
        x = self.channels_first(self.ensure4d(x * self.input_scale))
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x))))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", FIXED_RULES)
def test_reshaping_modules_of_other_libraries_are_explained(method):
    """Their operations are checked in the graph, and the maps are those of the
    same network with the reshapes written in forward. Guided Grad-CAM's class
    activation map finds time back on the last axis after them (it refused
    them as moving time away)."""
    own_modules, plain = _untrained(WithOwnModules), _untrained()
    torch.testing.assert_close(
        _attribute(method, own_modules), _attribute(method, plain)
    )


class TorchEEGRearrange(Rearrange):
    """Rearrange as defined in a package whose name begins with torch (TorchEEG's
    torcheeg) but that is another library."""

    __module__ = "torcheeg.transforms"


def test_modules_of_a_library_named_after_torch_are_another_librarys():
    """A library's package named torch-something is not PyTorch: its reshapes
    are read by their graph and explained, not refused as PyTorch layers
    without a rule."""
    own_modules, plain = _untrained(WithOwnModules), _untrained()
    own_modules.channels_first = nn.Sequential(
        TorchEEGRearrange(0, 3, 2, 1), TorchEEGRearrange(0, 1, 3, 2)
    )
    torch.testing.assert_close(
        _attribute("lrp_epsilon", own_modules), _attribute("lrp_epsilon", plain)
    )


def test_rearrange_reshapes_by_alias():
    """The operation einops leaves in the graph, which the check must know."""
    x = torch.randn(2, 3, 5, 1, requires_grad=True)
    assert type(Rearrange(0, 3, 2, 1)(x).grad_fn).__name__ == "ReshapeAliasBackward0"


@pytest.mark.parametrize("method", FIXED_RULES)
def test_nonlinear_module_of_the_user_is_refused(method):
    module = _untrained(WithOwnModules, square=True)
    match = f"{method} has no rule for .*(module 'elu' \\(Square\\)|layer 'elu')"
    with pytest.raises(ValueError, match=match):
        _attribute(method, module)


class QuantizationReady(SmallNet):
    """SmallNet between torch.ao's quantization stubs, parameter-free layers of
    PyTorch's that are defined outside torch.nn (the identity until converted)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quant, self.dequant = QuantStub(), DeQuantStub()

    def forward(self, x):  # noqa: D102
        return self.dequant(super().forward(self.quant(x)))


@pytest.mark.parametrize(
    "method", [method for method in FIXED_RULES if not method.startswith("deeplift")]
)
def test_parameter_free_layers_of_pytorch_outside_torch_nn_are_known_by_class(method):
    """PyTorch's layers are judged by their class wherever torch defines them
    (torch.ao too), not by their graph as modules of other libraries are:
    read by its graph, a stub that quantizes once converted would pass."""
    module = _untrained(QuantizationReady)
    with pytest.raises(ValueError, match=f"{method} has no rule for layer 'quant'"):
        _attribute(method, module)
    # Gradient methods see the stubs as what they compute now.
    torch.testing.assert_close(
        _attribute("saliency", module), _attribute("saliency", _untrained())
    )


@pytest.mark.parametrize("method", FIXED_RULES)
def test_fourier_input_is_linear(method):
    """explain_spectrum's inverse Fourier transform in front of the network is
    linear, so it does not stand in the way of any method; but it mixes the
    coefficients, which the composite's first-layer rule w² cannot hand back
    (see test_explain_lrp), and Guided Grad-CAM's maps, in the network's time,
    have no place on the coefficients."""
    module = FourierInput(_untrained(), N_TIMES)
    params = {}
    if method == "guided_grad_cam":
        with pytest.raises(ValueError, match="mixes time .* a Fourier transform"):
            _attribute(method, module)
        return
    if method == "lrp_composite":
        with pytest.raises(ValueError, match="mixed by the operation 'fft_c2r'"):
            _attribute(method, module)
        params = {"first_rule": "epsilon"}
    assert torch.isfinite(_attribute(method, module, **params)).all()


# -- (5) DeepLIFT where captum's rules do not hold ------------------------------------
DEEPLIFT_METHODS = ["deeplift", "deeplift_shap"]


class MaxPooled(SmallNet):
    """SmallNet with max pooling (windows of 4 every ``stride``) after its ELU,
    as braindecode's EEGInceptionMI max-pools (windows of 3 every 1)."""

    def __init__(self, n_channels, n_classes, n_times, *, stride=4):
        super().__init__(n_channels, n_classes, n_times)
        self.pool = nn.MaxPool2d((1, 4), stride=(1, stride))
        n_pooled = (n_times - 4) // stride + 1
        self.classifier = nn.Linear(4 * n_pooled, n_classes)


class MapSoftmax(SmallNet):
    """SmallNet weighing its four feature maps by a softmax across them (as
    attention weighs its values), an nn.Softmax module. Centred across the
    maps, as the softmax ignores: captum's rule then sums to the delta."""

    def __init__(self, n_channels, n_classes, n_times, *, centred=True):
        super().__init__(n_channels, n_classes, n_times)
        self.softmax = nn.Softmax(dim=1)
        self.centred = centred

    def forward(self, x):
        x = self.batch_norm(self.temporal(self.spatial(x.unsqueeze(1))))
        if self.centred:
            x = x - x.mean(dim=1, keepdim=True)
        x = self.softmax(x)
        return self.classifier(self.flatten(self.pool(x)))


class LogVariance(SmallNet):
    """The log-variance of spatially filtered EEG, as CSP reads it: undefined
    (log 0) at the zero epoch."""

    def __init__(self, n_channels, n_classes, n_times, sfreq=128.0, input_scale=1.0):
        super().__init__(n_channels, n_classes, n_times, sfreq, input_scale)
        self.classifier = nn.Linear(4, n_classes)

    def forward(self, x):
        x = self.spatial((x * self.input_scale).unsqueeze(1))[:, :, 0]
        return self.classifier(torch.log(x.var(dim=-1)))


class ReusedElu(SmallNet):
    """SmallNet applying its one ELU module twice, as braindecode's EEGTCNet does."""

    def forward(self, x):
        x = (x * self.input_scale).unsqueeze(1)
        x = self.elu(self.spatial(x))
        x = self.elu(self.batch_norm(self.temporal(x)))
        return self.classifier(self.flatten(self.pool(x)))


class TimeMajorElu(SmallNet):
    """SmallNet applying its ELU to a (time, batch, features) tensor, as
    recurrent and transformer layers take them."""

    def forward(self, x):
        x = self.batch_norm(self.temporal(self.spatial(x.unsqueeze(1))))
        x = self.elu(x.flatten(1, 2).permute(2, 0, 1)).permute(1, 2, 0)
        return self.classifier(self.flatten(self.pool(x.unsqueeze(2))))


class FoldedElu(SmallNet):
    """SmallNet applying its ELU to the epochs' feature maps folded into the
    batch, epoch-major ((batch * maps, time)), which splits as captum needs."""

    def forward(self, x):
        x = self.batch_norm(self.temporal(self.spatial(x.unsqueeze(1))))
        x = self.elu(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        return self.classifier(self.flatten(self.pool(x)))


def _summation_error(module, attribution):
    delta = _logits(module, _data()) - _logits(module, ZEROS.expand_as(_data()))
    return (attribution.sum(dim=(1, 2)) - delta).abs().max()


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient_shap"])
def test_a_baseline_where_the_network_is_undefined_is_refused(method):
    """At the zero epoch the log-variance is -inf and the logits NaN: integrated
    gradients and GradientSHAP returned maps of no reference (GradientSHAP's
    summing to anything from -44 to -4, without a warning)."""
    X, y = _arrays()
    clf = EEGNetClassifier(
        module=LogVariance, max_epochs=1, batch_size=8, random_state=0, verbose=False
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"output at the baseline is not a number"):
        explain(clf, X[:2], method, target=0, verbose=False)
    # Also as SmoothGrad's base method, which passes its baseline on.
    with pytest.raises(ValueError, match=r"output at the baseline is not a number"):
        explain(clf, X[:2], "smoothgrad", target=0, base_method=method, verbose=False)
    baseline = X[:4] if method == "gradient_shap" else X.mean(axis=0)
    maps = explain(clf, X[:2], method, target=0, baseline=baseline, verbose=False)
    assert np.isfinite(maps.get_data()).all()
    if method == "gradient_shap":
        # One baseline of several where the network is undefined is one too many.
        several = np.concatenate([X[:3], np.zeros_like(X[:1])])
        with pytest.raises(ValueError, match=r"output at the baseline is not a number"):
            explain(clf, X[:2], method, target=0, baseline=several, verbose=False)
        # Checked in chunks of batch_size baselines: every chunk, not the first.
        with pytest.raises(ValueError, match=r"output at the baseline is not a number"):
            explain(clf, X[:2], method, target=0, baseline=several, batch_size=2)


class LogVarianceBesideMean(LogVariance):
    """Logits: the mean of the spatially filtered EEG, and the log-variance of
    its first filter, minus infinity (not NaN) at the zero epoch."""

    def forward(self, x):  # noqa: D102
        x = self.spatial((x * self.input_scale).unsqueeze(1))[:, :, 0]
        return torch.stack([x.mean(dim=(1, 2)), torch.log(x[:, 0].var(dim=-1))], 1)


def test_a_baseline_where_a_logit_is_infinite_is_refused_naming_it():
    """An infinite logit is no number either: f(x) - f(baseline) is infinite.
    The refusal names the value that is not a number, not a finite logit."""
    clf = _fit_module(LogVarianceBesideMean)
    with pytest.raises(ValueError, match=r"at the baseline is not a number \(-inf\)"):
        explain(clf, _arrays()[0][:2], "integrated_gradients", target=0, verbose=False)


class ChannelLogVariance(SmallNet):
    """The log-variance of each channel: undefined (log 0) for a zeroed channel."""

    def __init__(self, n_channels, n_classes, n_times, sfreq=128.0, input_scale=1.0):
        super().__init__(n_channels, n_classes, n_times, sfreq, input_scale)
        self.classifier = nn.Linear(n_channels, n_classes)

    def forward(self, x):
        return self.classifier(torch.log((x * self.input_scale).var(dim=-1)))


def test_occlusion_where_the_network_is_undefined_is_refused():
    """Occluding a channel of zeros made its log-variance -inf: every map was
    NaN, returned without a word."""
    X, _ = _arrays()
    clf = _fit_module(ChannelLogVariance)
    with pytest.raises(
        ValueError, match=r"not a finite number \(nan\) at channel index 0"
    ):
        explain(clf, X[:2], "occlusion", target=0, verbose=False)
    # Patches that leave every channel some variance are defined.
    maps = explain(clf, X[:2], "occlusion", mode="time", window=8, verbose=False)
    assert np.isfinite(maps.get_data()).all()


class _LogVarianceOfChannel(nn.Module):
    """Logits log(var) and var of one channel: the first infinite once it is zeroed."""

    def __init__(self, channel):
        super().__init__()
        self.channel = channel

    def forward(self, x):
        variance = x[:, self.channel].var(dim=-1)
        return torch.stack([torch.log(variance), variance], dim=1)


@pytest.mark.parametrize("n_channels, channel", [(4, 2), (1, 0)])
def test_occlusion_of_an_infinite_logit_is_refused_naming_its_channel(
    n_channels, channel
):
    """An infinite logit drop is no measure either: the refusal caught it only
    where captum's sum over the patches made NaN of it elsewhere (inf * 0), and
    named the first NaN, channel 0, for a drop infinite on channel 2."""
    occlusion = get_method("occlusion")(_LogVarianceOfChannel(channel).eval())
    inputs, target = torch.randn(2, n_channels, 16), torch.tensor([0, 0])
    match = rf"not a finite number \(inf\) at channel index {channel}, sample 0:"
    with pytest.raises(ValueError, match=match):
        occlusion.attribute(inputs, target, baseline=torch.zeros(1, n_channels, 16))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_pools_windows_that_do_not_overlap(method):
    module = _untrained(MaxPooled)
    assert _summation_error(module, _attribute(method, module)) < 1e-10


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_overlapping_max_pooling(method):
    with pytest.raises(ValueError, match=r"windows of \(1, 4\) every \(1, 1\)"):
        _attribute(method, _untrained(MaxPooled, stride=1))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
@pytest.mark.parametrize("dilation", [2, 3])
def test_deeplift_refuses_dilated_max_pooling(method, dilation):
    """captum's rule un-pools without the dilation: torch's "invalid output_size"."""
    module = _untrained(MaxPooled)
    module.pool = nn.MaxPool2d((1, 2), stride=(1, 4), dilation=(1, dilation))
    match = rf"pools windows spaced by \(1, {dilation}\)"
    with pytest.raises(ValueError, match=match):
        _attribute(method, module)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_softmax(method):
    """captum's softmax rule rescales each output by its own input's change,
    though every output depends on every input: maps summed to the delta and
    credited a map that barely moved (+443 against Shapley's 0 on three)."""
    match = (
        r"no rule for the operation 'softmax' \(SoftmaxBackward0\) in module 'softmax'"
    )
    with pytest.raises(ValueError, match=match):
        _attribute(method, _untrained(MapSoftmax))


class Recurrent(nn.Module):
    """A temporal convolution, then a bidirectional LSTM over time, as
    braindecode's DeepSleepNet: the LSTM returns its outputs and its states."""

    def __init__(self, n_channels, n_classes, n_times, sfreq=128.0):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.elu = nn.ELU()
        self.bilstm = nn.LSTM(4, 4, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(8, n_classes)

    def forward(self, x):
        tokens, _ = self.bilstm(self.elu(self.conv(x)).transpose(1, 2))
        return self.classifier(tokens.mean(dim=1))


def test_full_grad_refusing_an_lstm_sends_to_methods_that_apply():
    """FullGrad's refusal said "Grad-CAM and integrated gradients need no such
    decomposition", and Grad-CAM refuses the LSTM too."""
    module = _untrained(Recurrent)
    with pytest.raises(ValueError, match="decomposition does not hold") as error:
        _attribute("full_grad", module)
    advice = str(error.value).split("(e.g. a log). ")[1]
    assert advice.startswith("Integrated gradients and saliency need no such")
    for method in ("integrated_gradients", "saliency"):
        assert torch.isfinite(_attribute(method, module)).all()
    with pytest.raises(ValueError, match="does not map one tensor to one tensor"):
        _attribute("grad_cam", module)


class _Patcher(nn.Module):
    """braindecode's PBT patcher: the epoch cut into tokens, with their positions
    (integers, which carry no gradient)."""

    def forward(self, x):  # noqa: D102
        patches = x.reshape(len(x), -1, 8)
        return patches, torch.arange(patches.shape[1], device=x.device)


class Patched(nn.Module):
    """Tokens of 8 samples embedded, with a learned embedding of their position."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.patcher = _Patcher()
        self.embed = nn.Linear(8, 6)
        self.position = nn.Embedding(n_channels * n_times // 8, 6)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(6, n_classes)

    def forward(self, x):  # noqa: D102
        patches, positions = self.patcher(x)
        tokens = self.relu(self.embed(patches) + self.position(positions))
        return self.classifier(tokens.mean(dim=1))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_passes_a_layer_returning_positions(method):
    """A layer's integer output has no autograd node: walking the nodes a call
    made, DeepLIFT failed with "'NoneType' object has no attribute
    'next_functions'" on braindecode's PBT, scaled as the estimators scale it."""
    module = ScaledInput(_untrained(Patched), 2.0)
    attribution = _attribute(method, module)
    with torch.no_grad():
        delta = _logits(module, _data()) - _logits(module, ZEROS.expand(5, -1, -1))
    torch.testing.assert_close(attribution.sum(dim=(1, 2)), delta)


class _Sum(nn.Module):
    """A module of two inputs: a skip connection's sum."""

    def forward(self, main, skip):  # noqa: D102
        return main + skip


class SkipSum(nn.Module):
    """A convolution summed with a pointwise one by a module, then ReLU."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.skip = nn.Conv1d(n_channels, 4, 1)
        self.sum = _Sum()
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        hidden = self.relu(self.sum(self.conv(x), self.skip(x)))
        return self.classifier(hidden.flatten(1))


@pytest.mark.parametrize(
    "method", ["grad_cam", "full_grad", "lrp_epsilon", "guided_backprop"]
)
def test_a_layer_of_two_inputs_is_refused_by_the_layerwise_methods(method):
    """Followed layer by layer, a module of two inputs passed on its first
    alone: the skip connection's share would be lost."""
    with pytest.raises(ValueError, match=r"'sum' \(_Sum\) does not map one tensor"):
        _attribute(method, _untrained(SkipSum))


def test_a_layer_of_two_inputs_is_explained_by_the_methods_of_the_whole_network():
    """The refusal of the layerwise methods sends the user to saliency, which
    must then explain the network: the layers traced to find combined
    convolutions keep no tensors, and a module of two inputs is no failure
    there."""
    _assert_saliency_is_the_gradient(_skorch_network(SkipSum))


class _Product(nn.Module):
    """A module of two inputs: a gate."""

    def forward(self, main, gate):  # noqa: D102
        return main * gate


class SkipGated(SkipSum):
    """SkipSum whose module of two inputs multiplies its branches."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__(n_channels, n_classes, n_times)
        self.sum = _Product()


class EluBeforeDropout(nn.Module):
    """A convolution, F.elu called in forward, then dropout."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.dropout = nn.Dropout(0.25)
        self.classifier = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        return self.classifier(self.dropout(F.elu(self.conv(x))).flatten(1))


@pytest.mark.parametrize("method", ["guided_backprop", "lrp_epsilon"])
def test_a_function_before_a_layer_returning_its_input_is_refused(method):
    """Dropout in evaluation returns its input, whose autograd node is the ELU's:
    that node is no call of the dropout, and the ELU is refused as called in
    forward."""
    with pytest.raises(ValueError, match=r"'elu' \(EluBackward0\) called in forward"):
        _attribute(method, _untrained(EluBeforeDropout))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_a_refusal_in_a_layer_of_two_inputs_names_no_layerwise_method(method):
    """The methods that follow the network layer by layer refuse a module of two
    inputs: a refusal of an operation in one sends the user to the methods of
    the whole network only."""
    module = _untrained(SkipGated)
    with pytest.raises(ValueError, match=r"in module 'sum' \(_Product\)") as error:
        _attribute(method, module)
    assert "grad_cam" not in _valid_methods(str(error.value))
    with pytest.raises(ValueError, match="does not map one tensor"):
        _attribute("grad_cam", module)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_names_the_lstm_it_has_no_rule_for(method):
    """DeepLIFT refused the LSTM's recurrence as "the operation 'mkldnn_rnn_layer'
    (MkldnnRnnLayerBackward0) called in forward", and listed the class activation
    maps and full_grad as methods that may apply, which refuse the LSTM too."""
    module = _untrained(Recurrent)
    with pytest.raises(ValueError, match=r"in module 'bilstm' \(LSTM\)") as error:
        _attribute(method, module)
    message = str(error.value)
    assert "called in forward" not in message
    # What the message says of every method without rules holds.
    valid = _valid_methods(message)
    assert {"saliency", "integrated_gradients", "occlusion"} <= valid
    for other in valid:
        assert torch.isfinite(_attribute(other, module)).all(), other
    excluded = re.search(r"layer by layer \(([^)]*)\) cannot", message).group(1)
    assert {"full_grad", "grad_cam"} <= set(excluded.split(", "))
    for other in excluded.split(", "):
        with pytest.raises(ValueError, match="one tensor to one tensor|FullGrad"):
            _attribute(other, module)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_maps_that_miss_summation_to_delta(method, monkeypatch):
    """The last guard, for a rule that no check foresaw: here the overlapping
    pooling with its check switched off. captum's map misses the delta by far."""
    module = _untrained(MaxPooled, stride=1)
    monkeypatch.setattr(
        "mne_xai.attribution.deeplift._check_pooling_windows", lambda *args: None
    )
    with pytest.raises(
        ValueError, match=r"sum to .*, not to f\(x\) - f\(baseline\)"
    ) as error:
        _attribute(method, module)
    # The message gives the true difference of logits, of one of the epochs.
    stated = float(re.search(r"f\(baseline\) = (\S+):", str(error.value)).group(1))
    delta = _logits(module, _data()) - _logits(module, ZEROS.expand_as(_data()))
    assert np.isclose(delta.detach().numpy(), stated, rtol=1e-3).any()


def _scale_captum_maps(monkeypatch, factor):
    """Multiply captum's DeepLIFT maps by ``factor``: a rule slightly off."""
    exact = _CaptumRescale.attribute
    monkeypatch.setattr(
        _CaptumRescale,
        "attribute",
        lambda self, *args, **kwargs: factor * exact(self, *args, **kwargs),
    )


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_maps_that_miss_the_delta_by_a_percent(method, monkeypatch):
    """Summation-to-delta is exact up to float32 rounding, and a thousandth of the
    delta is allowed: a rule a percent off is refused too, not only one far off
    (a tenth of the delta allowed passed every other test)."""
    _scale_captum_maps(monkeypatch, 1.01)
    with pytest.raises(ValueError, match=r"sum to .*, not to f\(x\) - f\(baseline\)"):
        _attribute(method, _untrained(MaxPooled))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refusal_quotes_an_epoch_that_misses_the_delta(method, monkeypatch):
    """The refusal quotes the sum and delta of an epoch that misses, not of the
    epoch of largest error: here epoch 3, 0.09 percent off a large delta, is
    within the tolerance and has a larger error for its logits than epoch 1,
    a percent off a small one."""
    off = torch.tensor([1.0, 1.01, 1.0, 1.0009, 1.0], dtype=torch.float64)
    _scale_captum_maps(monkeypatch, off[:, None, None])
    module = _untrained(MaxPooled)
    with pytest.raises(ValueError, match="not to f") as error:
        _attribute(method, module)
    delta = (_logits(module, _data()) - _logits(module, ZEROS.expand_as(_data())))[1]
    stated = re.search(
        r"sum to (\S+), not to f\(x\) - f\(baseline\) = (\S+):", str(error.value)
    )
    assert np.isclose(float(stated.group(2)), float(delta), rtol=1e-3)
    assert np.isclose(float(stated.group(1)), 1.01 * float(delta), rtol=1e-3)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_judges_summation_against_the_delta_explained(method, monkeypatch):
    """A rule no check foresaw (captum's softmax rule, let through here) missed
    the small delta from a baseline near the epoch by a large share of it, but
    by less than 1e-3 of the logits, the old tolerance: the maps were given."""
    monkeypatch.setattr(
        "mne_xai.attribution.deeplift.CAPTUM_RULES",
        CAPTUM_RULES + (nn.Softmax,),
    )
    module = _untrained(MapSoftmax, centred=False)
    inputs = _data().requires_grad_()
    explainer = get_method(method)(module)
    baseline = 0.9 * inputs[:1].detach()
    with pytest.raises(ValueError, match=r"sum to .*, not to f\(x\) - f\(baseline\)"):
        explainer.attribute(inputs[:1], TARGET[:1], baseline=baseline)
    # Where every rule holds, the same small delta is explained.
    module = _untrained(MaxPooled)
    explained = get_method(method)(module).attribute(
        inputs[:1], TARGET[:1], baseline=baseline
    )
    delta = module(inputs[:1]) - module(baseline)
    assert torch.isclose(explained.sum(), delta[0, TARGET[0]], rtol=1e-6)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_a_nonlinearity_called_twice(method):
    with pytest.raises(ValueError, match=r"called more often in forward: 'elu' \(2"):
        _attribute(method, _untrained(ReusedElu))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
@pytest.mark.parametrize("n_times", [N_TIMES, N_TIMES + 1])
@pytest.mark.parametrize("scale", [1.0, 1e-6])
def test_deeplift_refuses_a_nonlinearity_of_time_major_tensors(method, n_times, scale):
    """captum splits the epochs from their baselines along the first dimension:
    torch's "size of tensor a must match" on an odd number of samples. The
    check is relative to the values the layer receives: with an absolute
    tolerance, values near 1e-6 (small spatial weights) passed as the epochs'."""
    torch.manual_seed(0)
    module = TimeMajorElu(N_CHANNELS, 2, n_times).double().eval()
    with torch.no_grad():
        module.spatial.weight.mul_(scale)
    inputs = torch.randn(5, N_CHANNELS, n_times, dtype=torch.float64)
    match = r"otherwise: 'elu' \(shape \(\d+, 2, 4\) for 2 epochs\)"
    with pytest.raises(ValueError, match=match):
        get_method(method)(module).attribute(
            inputs.requires_grad_(), TARGET, baseline=torch.zeros_like(inputs[:1])
        )


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_explains_a_nonlinearity_of_epochs_folded_into_the_batch(method):
    module = _untrained(FoldedElu)
    assert _summation_error(module, _attribute(method, module)) < 1e-10


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_time_major_tensors_whatever_the_first_epoch(method):
    """The batch layout is probed with the first epoch and another made of it:
    where the first epoch is zero (a flat recording), the other must still
    differ from it, or the time-major tensor passed as the epochs'."""
    torch.manual_seed(0)
    module = TimeMajorElu(N_CHANNELS, 2, N_TIMES).double().eval()
    inputs = _data()
    inputs[0] = 0.0
    with pytest.raises(ValueError, match=r"otherwise: 'elu' \(shape \(\d+, 2, 4\)"):
        get_method(method)(module).attribute(
            inputs.requires_grad_(), TARGET, baseline=ZEROS
        )


class MapMajorElu(SmallNet):
    """SmallNet applying its ELU to the feature maps folded into the batch map
    by map ((maps * batch, time)): the first half of the rows holds the first
    maps of every epoch, which captum's split pairs with the last maps."""

    def forward(self, x):  # noqa: D102
        x = self.batch_norm(self.temporal(self.spatial(x.unsqueeze(1))))
        folded = x.transpose(0, 1).reshape(-1, x.shape[-1])
        x = self.elu(folded).reshape(x.shape[1], x.shape[0], *x.shape[2:])
        return self.classifier(self.flatten(self.pool(x.transpose(0, 1))))


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_a_nonlinearity_of_epochs_folded_map_by_map(method):
    """The whole first half of what the layer receives must be the epochs', not
    only its first row (here the first map of the first epoch)."""
    with pytest.raises(ValueError, match=r"otherwise: 'elu' \(shape \(8, 32\)"):
        _attribute(method, _untrained(MapMajorElu))


class _OverlappingMaxPool(nn.MaxPool2d):
    """A subclass of max pooling, computing as its class."""


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_overlapping_max_pooling_of_a_subclass(method):
    """A subclass gets its class's rule, which misses the delta on overlapping
    windows as the class's does: refused naming the windows, as the class is."""
    module = _untrained(MaxPooled, stride=1)
    module.pool = _OverlappingMaxPool((1, 4), stride=(1, 1))
    with pytest.raises(ValueError, match=r"windows of \(1, 4\) every \(1, 1\)"):
        _attribute(method, module)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_a_nonlinearity_called_twice_inside_a_block(method):
    """Networks hold their layers in blocks (EEGTCNet reuses an ELU in one):
    the layers with a rule are looked for at every depth."""
    module = nn.Sequential(_untrained(ReusedElu))
    with pytest.raises(ValueError, match=r"called more often in forward: '0.elu' \(2"):
        _attribute(method, module)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_refuses_a_network_again_when_asked_again(method):
    """The checks run once per explainer: a network they refuse stays refused
    when asked again after the error is caught, rather than explained unchecked."""
    explainer = get_method(method)(_untrained(ReusedElu))
    for _ in range(2):
        with pytest.raises(ValueError, match="called more often in forward"):
            explainer.attribute(_data().requires_grad_(), TARGET, baseline=ZEROS)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_leaves_the_network_as_it_found_it(method):
    """captum keeps each layer's input and output on the layer for its rule:
    they are removed once used, so that the user's network holds no tensors of
    the explained batch, and DeepLIFT warns of nothing."""
    module = _untrained(MaxPooled)
    attributes = {name: set(vars(layer)) for name, layer in module.named_modules()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _attribute(method, module)
    assert {name: set(vars(layer)) for name, layer in module.named_modules()} == (
        attributes
    )


class Tempered(SmallNet):
    """SmallNet dividing its logits by a learned temperature, kept positive by
    an ``nn.Softplus`` module of a scalar parameter (or, ``of_the_batch``, of
    the batch's mean, which mixes the epochs)."""

    def __init__(self, n_channels, n_classes, n_times, *, of_the_batch=False):
        super().__init__(n_channels, n_classes, n_times)
        self.log_temperature = nn.Parameter(torch.tensor(0.3))
        self.positive = nn.Softplus()
        self.of_the_batch = of_the_batch

    def forward(self, x):  # noqa: D102
        temperature = x.mean() if self.of_the_batch else self.log_temperature
        return super().forward(x) / self.positive(temperature)


@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
def test_deeplift_explains_a_nonlinearity_of_a_parameter_alone(method):
    """A nonlinearity of a scalar that no epoch changes lies on no path from
    the epochs, where captum applies its rules: it was refused as receiving
    the epochs otherwise than along its first dimension (shape ()), and the
    refusal advised putting the batch first. A scalar of the batch mixes the
    epochs and is still refused."""
    module = _untrained(Tempered)
    assert _summation_error(module, _attribute(method, module)) < 1e-10
    with pytest.raises(ValueError, match=r"otherwise: 'positive' \(shape \(\)"):
        _attribute(method, _untrained(Tempered, of_the_batch=True))


# -- (6) weights computed by torch parametrizations ---------------------------------
class MaxNorm(nn.Module):
    """A max-norm constraint as braindecode writes it: a torch parametrization."""

    def forward(self, weight):
        return torch.renorm(weight, p=2, dim=0, maxnorm=0.5)


PARAMETRIZATIONS = {
    "max_norm": lambda layer: torch.nn.utils.parametrize.register_parametrization(
        layer, "weight", MaxNorm()
    ),
    # weight_norm's weight comes from two parameters (original0, original1).
    "weight_norm": torch.nn.utils.parametrizations.weight_norm,
}


def _parametrized(kind, network=SmallNet):
    module = _untrained(network)
    for layer in (module.spatial, module.classifier):
        PARAMETRIZATIONS[kind](layer)
    return module


class _ItsOwnInferenceGraph(SmallNet):
    """A network whose inference graph is itself, as mne_xai's in training mode."""

    def inference_graph(self):
        return self


@pytest.mark.parametrize("network", [SmallNet, _ItsOwnInferenceGraph])
@pytest.mark.parametrize("kind", PARAMETRIZATIONS)
@pytest.mark.parametrize("method", FIXED_RULES)
def test_parametrized_weights_are_explained_as_their_values(method, kind, network):
    """braindecode's EEGNet, EEGNeX and ATCNet constrain weights this way (TIDNet
    normalizes them); rule methods refused them ("cannot see how module ...
    uses its own parameters"). The maps are those of the network holding the
    weights' values, and the network keeps its parametrizations, also where
    the network is its own inference graph."""
    module, plain = _parametrized(kind, network), _untrained()
    with torch.no_grad():
        for name in ("spatial", "classifier"):
            getattr(plain, name).weight.copy_(getattr(module, name).weight)
    torch.testing.assert_close(_attribute(method, module), _attribute(method, plain))
    assert torch.nn.utils.parametrize.is_parametrized(module.spatial, "weight")
    torch.testing.assert_close(module(_data()), plain(_data()))


# torch's older hooks, still common in hand-written TCNs: a forward pre-hook
# sets the weight from other parameters at every call.
LEGACY_NORMS = {
    "weight_norm": torch.nn.utils.weight_norm,
    "spectral_norm": torch.nn.utils.spectral_norm,
}


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated")
@pytest.mark.parametrize("kind", LEGACY_NORMS)
@pytest.mark.parametrize("method", FIXED_RULES)
def test_weights_of_older_norm_hooks_are_explained_as_their_values(method, kind):
    """LRP folded the batch norm into a weight-normed convolution, whose hook
    then failed in torch's "cannot assign 'torch.DoubleTensor' as parameter
    'weight'"; the maps are those of the network holding the weights' values."""
    module, plain = _untrained().eval(), _untrained()
    for name in ("spatial", "temporal", "classifier"):
        LEGACY_NORMS[kind](getattr(module, name))
    with torch.no_grad():
        module(_data())  # the hooks set the weights in evaluation mode
        for name in ("spatial", "temporal", "classifier"):
            getattr(plain, name).weight.copy_(getattr(module, name).weight)
    torch.testing.assert_close(_attribute(method, module), _attribute(method, plain))
    assert hasattr(
        module.temporal, "weight_orig" if kind == "spectral_norm" else "weight_g"
    )


@pytest.mark.parametrize("method", FIXED_RULES)
def test_pruned_weights_are_explained_as_their_values(method):
    """Pruning (torch.nn.utils.prune) computes a weight as weight_orig times
    weight_mask in a forward pre-hook, which LRP's copy kept: folding the batch
    norm into the pruned temporal convolution then failed in that hook with
    torch's "cannot assign 'torch.DoubleTensor' as parameter 'weight'", in all
    six LRP methods. The maps are those of the network holding the pruned
    weights (half of them zero), and the network stays pruned."""
    module, plain = _untrained(), _untrained()
    for name in ("spatial", "temporal", "classifier"):
        torch.nn.utils.prune.l1_unstructured(getattr(module, name), "weight", 0.5)
        with torch.no_grad():
            getattr(plain, name).weight.copy_(getattr(module, name).weight)
    torch.testing.assert_close(module(_data()), plain(_data()))
    torch.testing.assert_close(_attribute(method, module), _attribute(method, plain))
    assert torch.nn.utils.prune.is_pruned(module)
    assert hasattr(module.temporal, "weight_orig")


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated")
@pytest.mark.parametrize(
    "change",
    [
        *PARAMETRIZATIONS.values(),
        *LEGACY_NORMS.values(),
        partial(torch.nn.utils.prune.l1_unstructured, name="weight", amount=0.5),
    ],
    ids=[*PARAMETRIZATIONS, *(f"legacy_{kind}" for kind in LEGACY_NORMS), "pruned"],
)
def test_plain_weights_are_trained_where_the_networks_are(change):
    """The copy holding computed weights as plain ones (which LRP folds and
    parameter randomization redraws) trains what the network trains: a weight
    computed from frozen parameters stays frozen, one computed from trained
    parameters stays trainable. Its layers are plain ones, of the classes the
    network's were built of (not torch's parametrized classes, which it
    shares with the network)."""
    module = _untrained()
    for name in ("spatial", "classifier"):
        change(getattr(module, name))
    module.spatial.requires_grad_(False)
    with torch.no_grad():
        module(_data())  # the older hooks set the weights
    plain = without_parametrizations(module)
    for name, trained in (("spatial", False), ("classifier", True)):
        weight = getattr(plain, name).weight
        assert isinstance(weight, nn.Parameter)
        assert weight.requires_grad is trained, name
        torch.testing.assert_close(weight, getattr(module, name).weight)
        assert type(getattr(plain, name)) is type(getattr(_untrained(), name))


class WithDropout(SmallNet):
    """SmallNet with dropout of whole feature maps (Dropout2d, as ATCNet and
    EEGInception use), or of its flattened features before the classifier
    (Dropout1d, or the plain Dropout of most networks' heads)."""

    def __init__(self, *args, dropout=nn.Dropout2d, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_features = dropout is not nn.Dropout2d
        self.dropout = dropout(0.5)

    def forward(self, x):
        x = (x * self.input_scale).unsqueeze(1)
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x))))
        if self.on_features:
            return self.classifier(self.dropout(self.flatten(self.pool(x))))
        return self.classifier(self.flatten(self.pool(self.dropout(x))))


@pytest.mark.parametrize(
    "dropout", [nn.Dropout2d, nn.Dropout1d, nn.Dropout], ids=lambda kind: kind.__name__
)
@pytest.mark.parametrize("method", FIXED_RULES)
def test_every_dropout_is_the_identity_in_evaluation(method, dropout):
    """Dropout2d was refused by name ("no rule for layer"), as it is not nn.Dropout;
    Dropout1d is not either."""
    torch.testing.assert_close(
        _attribute(method, _untrained(WithDropout, dropout=dropout)),
        _attribute(method, _untrained()),
    )


@pytest.mark.parametrize(
    "method", ["grad_cam", "grad_cam_plus_plus", "layer_cam", "score_cam", "full_grad"]
)
def test_class_activation_maps_find_time_after_reshaping_modules(method):
    """braindecode's EEGNet begins (batch, chans, time) -> (batch, chans, time, 1)
    -> (batch, 1, chans, time); its CAMs were refused at the first reshape."""
    torch.testing.assert_close(
        _attribute(method, _untrained(WithOwnModules)), _attribute(method, _untrained())
    )


class TimeOnThirdAxis(SmallNet):
    """Feature maps (batch, maps, time, 1), as braindecode's Deep4Net has them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ensure4d = Ensure4d()
        self.spatial = nn.Conv2d(1, 4, (1, N_CHANNELS), bias=False)
        self.temporal = nn.Conv2d(4, 4, (5, 1), padding=(2, 0), bias=False)
        self.pool = nn.AvgPool2d((4, 1))

    def forward(self, x):
        x = Rearrange(0, 3, 2, 1)(self.ensure4d(x * self.input_scale))
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x))))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["grad_cam", "full_grad"])
def test_class_activation_maps_refuse_time_off_the_last_axis(method):
    with pytest.raises(ValueError, match=r"one sample on the last axis"):
        _attribute(method, _untrained(TimeOnThirdAxis))


class TimeOffTheLastAxisInTheLastBlock(SmallNet):
    """SmallNet's time-last block, then a block with time on the third axis."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.second = nn.Conv2d(4, 4, (5, 1), padding=(2, 0))
        self.second_elu = nn.ELU()

    def forward(self, x):
        x = (x * self.input_scale).unsqueeze(1)
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x))))
        x = self.second_elu(self.second(x.transpose(2, 3)))  # (batch, 4, time, 1)
        return self.classifier(self.flatten(self.pool(x.transpose(2, 3))))


@pytest.mark.parametrize("method", ["grad_cam", "layer_cam"])
def test_the_default_layer_is_the_last_block_or_a_refusal(method):
    """The last block's maps have time on the third axis: the first block was
    explained in its place, in silence."""
    with pytest.raises(ValueError, match=r"last convolution .*'second'"):
        _attribute(method, _untrained(TimeOffTheLastAxisInTheLastBlock))


class GlobalPoolingThenReLU(SmallNet):
    """The last convolution's maps are pooled over time before the network's ReLU."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.relu = nn.ReLU()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = self.temporal(self.spatial((x * self.input_scale).unsqueeze(1)))
        return self.head(self.relu(self.global_pool(x)).flatten(1))


def test_the_default_layer_stops_where_time_is_pooled_away():
    """The ReLU after global pooling was chosen, then refused for having no time."""
    network = _untrained(GlobalPoolingThenReLU)
    default = _attribute("grad_cam", network)
    assert default.shape == _data().shape and default.abs().max() > 0
    np.testing.assert_array_equal(
        default, _attribute("grad_cam", network, layer="temporal")
    )


def test_the_default_layer_is_a_prelu_ending_the_last_block():
    """A PReLU (a slope learned per map) ends the last block as an ELU does:
    the default layer is its output, not the last convolution's before the
    batch norm and the PReLU."""
    network = _untrained()
    network.elu = nn.PReLU(4, init=0.1).double()
    default = _attribute("grad_cam", network)
    np.testing.assert_array_equal(default, _attribute("grad_cam", network, layer="elu"))
    assert not torch.equal(default, _attribute("grad_cam", network, layer="temporal"))


class DenseHiddenLayer(SmallNet):
    """The last convolution's block has no nonlinearity; a dense hidden layer
    and its ReLU come after the maps are flattened."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hidden = nn.Linear(self.classifier.in_features, 8)
        self.relu = nn.ReLU()
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        x = self.temporal(self.spatial((x * self.input_scale).unsqueeze(1)))
        return self.head(self.relu(self.hidden(self.flatten(self.pool(x)))))


def test_the_default_layer_stops_where_the_maps_are_flattened():
    """The ReLU of a dense layer on the flattened maps has no time to map: the
    default is the last convolution, its block having no nonlinearity, not
    that ReLU, which the method then refuses for its shape."""
    network = _untrained(DenseHiddenLayer)
    np.testing.assert_array_equal(
        _attribute("grad_cam", network),
        _attribute("grad_cam", network, layer="temporal"),
    )


class SqueezeAndExcitation(SmallNet):
    """A squeeze-and-excitation gate on the last block: 1x1 convolutions on the
    globally pooled maps, with a weighted layer (the classifier) after them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.squeeze = nn.AdaptiveAvgPool2d((1, 1))
        self.reduce = nn.Conv2d(4, 2, 1)
        self.expand = nn.Conv2d(2, 4, 1)

    def forward(self, x):
        x = self.elu(self.temporal(self.spatial((x * self.input_scale).unsqueeze(1))))
        gate = torch.sigmoid(self.expand(F.relu(self.reduce(self.squeeze(x)))))
        return self.classifier(self.flatten(self.pool(x * gate)))


def test_the_default_layer_passes_over_convolutions_of_pooled_maps():
    """The gate's (batch, 4, 1, 1) convolution was read as the last block's
    feature maps, and Grad-CAM refused the network."""
    network = _untrained(SqueezeAndExcitation)
    np.testing.assert_array_equal(
        _attribute("grad_cam", network), _attribute("grad_cam", network, layer="elu")
    )


class GatedBeforeTheLastBlock(SmallNet):
    """A squeeze-and-excitation gate on the first block's maps (``placement``
    "between blocks", a second block after it) or inside the last block,
    before its ELU (``"in block"``). ``gated=False`` scales the maps by 0.5
    in its place, as the gate does once its last convolution is zeroed."""

    def __init__(self, *args, placement, gated=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.squeeze = nn.AdaptiveAvgPool2d((1, 1))
        self.reduce = nn.Conv2d(4, 2, 1)
        self.expand = nn.Conv2d(2, 4, 1)
        self.second = nn.Conv2d(4, 4, (1, 3), padding=(0, 1))
        self.placement, self.gated = placement, gated

    def _gate(self, x):
        if not self.gated:
            return 0.5 * x
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(self.squeeze(x)))))

    def forward(self, x):  # noqa: D102
        x = self.temporal(self.spatial((x * self.input_scale).unsqueeze(1)))
        if self.placement == "in block":
            x = self.elu(self._gate(x))
        else:
            x = self.elu(self.second(self._gate(F.elu(x))))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["grad_cam", "score_cam"])
@pytest.mark.parametrize("placement", ["between blocks", "in block"])
def test_the_layers_after_an_attention_gate_are_placed_on_the_input_times(
    method, placement
):
    """The gate's global pooling left one time sample on the time grid, and
    every layer after it was refused ("'elu' receives shape (1, 4, 1, 32)
    where the layers before it leave 1 time samples"). A gate of 0.5
    everywhere gives the maps of the same network scaled by 0.5 in its place."""
    gated = _untrained(GatedBeforeTheLastBlock, placement=placement)
    with torch.no_grad():
        gated.expand.weight.zero_()
        gated.expand.bias.zero_()
    scaled = _untrained(GatedBeforeTheLastBlock, placement=placement, gated=False)
    expected = _attribute(method, scaled, layer="elu")
    np.testing.assert_allclose(_attribute(method, gated), expected, rtol=1e-10)
    np.testing.assert_allclose(
        _attribute(method, gated, layer="elu"), expected, rtol=1e-10
    )


def _last_block(network, x):
    """SmallNet's block up to its ELU: maps (batch, 4, 1, time)."""
    x = network.temporal(network.spatial((x * network.input_scale).unsqueeze(1)))
    return network.elu(network.batch_norm(x))


class EfficientChannelAttention(SmallNet):
    """ECA's gate on the last block: a convolution across the maps' means,
    which it takes on the last axis, where the maps have time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.squeeze = nn.AdaptiveAvgPool2d((1, 1))
        self.across_maps = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x):
        x = _last_block(self, x)
        means = self.squeeze(x).flatten(1).unsqueeze(1)  # (batch, 1, maps)
        gate = torch.sigmoid(self.across_maps(means)).reshape(len(x), -1, 1, 1)
        return self.classifier(self.flatten(self.pool(x * gate)))


class ConvolutionalBlockAttention(SmallNet):
    """CBAM's two gates on the last block: of the maps, by 1x1 convolutions of
    their means and maxima; then of time, by a convolution (and a Sigmoid
    module) of the mean and maximum over the maps."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.average = nn.AdaptiveAvgPool2d(1)
        self.maximum = nn.AdaptiveMaxPool2d(1)
        self.reduce = nn.Conv2d(4, 2, 1)
        self.expand = nn.Conv2d(2, 4, 1)
        self.over_time = nn.Conv2d(2, 1, (1, 3), padding=(0, 1))
        self.time_gate = nn.Sigmoid()

    def forward(self, x):
        x = _last_block(self, x)
        excited = [
            self.expand(F.relu(self.reduce(pool(x))))
            for pool in (self.average, self.maximum)
        ]
        x = x * torch.sigmoid(sum(excited))
        over_maps = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        x = x * self.time_gate(self.over_time(over_maps))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["grad_cam", "score_cam"])
@pytest.mark.parametrize(
    "network", [EfficientChannelAttention, ConvolutionalBlockAttention]
)
def test_the_default_layer_passes_over_the_layers_of_attention_gates(method, network):
    """The gate's convolution (of the maps' means, or of time pooled over the
    maps) was taken as the last block's, and Grad-CAM refused the network."""
    network = _untrained(network)
    np.testing.assert_array_equal(
        _attribute(method, network), _attribute(method, network, layer="elu")
    )


def test_a_gates_own_layer_is_refused_for_the_maps_it_scales():
    """A gate's layer chosen by name is on the time grid, passed over only on
    the way to the layers after it: the map of CBAM's convolution over time
    leaves out the maps it scales, which the refusal says. Passed over as
    well, it had no grid, and 'flatten' was blamed for moving time."""
    with pytest.raises(ValueError, match="other paths than layer 'over_time'"):
        _attribute(
            "grad_cam", _untrained(ConvolutionalBlockAttention), layer="over_time"
        )


def test_the_default_layer_is_chosen_once_per_explainer(monkeypatch):
    """Choosing it runs the network over every layer with gradient: run for
    every batch, it cost braindecode's EEGPT 1.3 s a batch."""
    choices = []

    def counted(*args):
        choices.append(args)
        return gating_layers(*args)

    monkeypatch.setattr(_cam_layers, "gating_layers", counted)
    explainer = get_method("grad_cam")(_untrained(EfficientChannelAttention))
    first, second = (explainer.attribute(_data(), TARGET) for _ in range(2))
    assert len(choices) == 1
    np.testing.assert_array_equal(first, second)


class Bilinear(SmallNet):
    """The product of two convolutions of the last block's maps: neither reads
    the other, so neither gates the other."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.left = nn.Conv2d(4, 4, (1, 3), padding=(0, 1))
        self.right = nn.Conv2d(4, 4, (1, 3), padding=(0, 1))

    def forward(self, x):
        x = _last_block(self, x)
        return self.classifier(self.flatten(self.pool(self.left(x) * self.right(x))))


def test_the_default_layer_takes_a_product_of_branches_for_no_gate():
    """A product of branches is no gate: its last convolution stays the
    default, refused because the other branch bypasses it."""
    with pytest.raises(ValueError, match="other paths than layer 'right'"):
        _attribute("grad_cam", _untrained(Bilinear))


class AuxiliaryConvolutionHead(SmallNet):
    """The last block read by the classifier and, in forward, by an auxiliary
    head (a convolution and its ReLU) whose output the network does not
    return, as heads trained beside the classifier."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auxiliary = nn.Conv2d(4, 2, (1, 3), padding=(0, 1))
        self.auxiliary_relu = nn.ReLU()

    def forward(self, x):
        x = _last_block(self, x)
        self.auxiliary_relu(self.auxiliary(x))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["grad_cam", "score_cam"])
def test_the_default_layer_passes_over_a_head_off_the_way_to_the_logits(method):
    """The auxiliary head's ReLU, called last, was taken as the last block
    and refused, "the logits depend on the input through other paths": the
    logits depend on it through none, and the last block is the ELU's."""
    network = _untrained(AuxiliaryConvolutionHead)
    np.testing.assert_array_equal(
        _attribute(method, network), _attribute(method, network, layer="elu")
    )


class MapEmbedding(SmallNet):
    """An embedding of the maps' numbers added to the temporal convolution's
    output (its batch norm folded into it), as BIOT and EEGPT add one of the
    channels' numbers to theirs.

    ``indices`` "fixed" embeds the numbers 0 to 3, a constant; "folded" adds
    the embedding's weight itself, a parameter, which the rules took for a
    constant already; "from_data" embeds numbers computed from the epoch.
    """

    def __init__(self, *args, indices="fixed", **kwargs):
        super().__init__(*args, **kwargs)
        self.indices = indices
        self.embedding = nn.Embedding(4, 1)
        self.register_buffer("numbers", torch.arange(4))

    def forward(self, x):
        x = self.batch_norm(
            self.temporal(self.spatial((x * self.input_scale).unsqueeze(1)))
        )
        if self.indices == "folded":
            embedded = self.embedding.weight
        elif self.indices == "fixed":
            embedded = self.embedding(self.numbers)
        else:  # numbers of 0 to 3 for each epoch and map, from the epoch
            numbers = x.abs().mean(dim=(2, 3)).mul(4).long().clamp(max=3)
            embedded = self.embedding(numbers)
        x = self.elu(x + embedded.reshape(-1, 4, 1, 1))
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize(
    "method",
    [
        "guided_backprop",
        pytest.param(
            "deconvolution",
            marks=pytest.mark.filterwarnings("ignore:deconvolution's maps do not"),
        ),
        "deeplift",
    ],
)
def test_an_embedding_of_fixed_indices_is_a_constant_to_the_rules(method):
    """An embedding of fixed indices was refused as a layer without a rule;
    its output is a constant, and the map is that of its weight added as a
    parameter (DeepLIFT, which judges operations only, ran already)."""
    embedded = _untrained(MapEmbedding)
    np.testing.assert_allclose(
        _attribute(method, embedded),
        _attribute(method, _untrained(MapEmbedding, indices="folded")),
        rtol=1e-12,
        atol=1e-12,
    )
    if method == "deeplift":
        with torch.no_grad():
            delta = _logits(embedded, _data()) - _logits(
                embedded, ZEROS.expand(5, -1, -1)
            )
        np.testing.assert_allclose(
            _attribute(method, embedded).sum(dim=(1, 2)), delta, atol=1e-10
        )


def test_patterns_are_learned_past_an_embedding_of_fixed_indices():
    """learn_patterns refused the network for its embedding of fixed indices."""
    X, _ = _arrays()
    patterns = learn_patterns(_skorch_network(MapEmbedding), X)
    assert set(patterns.weights) == {"spatial", "temporal", "classifier"}


@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus"])
def test_lrp_refuses_adding_an_embedding_of_fixed_indices_as_a_shift(method):
    """LRP passes relevance through a sum in proportion to its terms, so the
    constant would take a share that a bias of the convolution does not (z+
    ignores biases); it is refused as the added constant it is, no longer as a
    layer without a rule."""
    with pytest.raises(ValueError, match=r"no rule for a constant .* embedding"):
        _attribute(method, _untrained(MapEmbedding))


@pytest.mark.parametrize("method", ["guided_backprop", "lrp_epsilon"])
def test_an_embedding_of_indices_computed_from_the_data_is_refused(method):
    """Indices computed from the epoch (here by x.long(), a step function
    whose gradient autograd does not see) make the embedding depend on the
    data: it stays a layer without a rule."""
    network = _untrained(MapEmbedding, indices="from_data")
    with pytest.raises(
        ValueError, match=r"no rule for layer 'embedding' \(Embedding\)"
    ):
        _attribute(method, network)


class Checkpointed(SmallNet):
    """SmallNet recomputing its first block in backward (torch.utils.checkpoint)."""

    def forward(self, x):
        def block(inputs):
            return self.elu(self.batch_norm(self.temporal(self.spatial(inputs))))

        x = checkpoint(block, (x * self.input_scale).unsqueeze(1), use_reentrant=False)
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["guided_backprop", "lrp_epsilon"])
def test_rules_on_a_checkpointed_network_are_refused_by_name(method):
    """torch's CheckpointError ("A different number of tensors was saved")
    said nothing of the method or what to do."""
    X, y = _arrays()
    estimator = EEGNetClassifier(
        module=Checkpointed, max_epochs=1, random_state=0, verbose=False
    ).fit(X, y)
    with pytest.raises(ValueError, match="recomputes part of its forward pass"):
        explain(estimator, X[:2], method, verbose=False)
    assert np.isfinite(
        explain(estimator, X[:2], "saliency", verbose=False).get_data()
    ).all()


class _RandomInEvaluation(SmallNet):
    """``F.dropout`` keeps ``training=True`` by default, in evaluation mode too."""

    def forward(self, x):  # noqa: D102
        return super().forward(F.dropout(x, 0.3))


class _ScaleUpdatedAtEachPass(SmallNet):
    """The input divided by a moving average of its scale, updated in every pass."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("scale", torch.ones(()))

    def forward(self, x):  # noqa: D102
        with torch.no_grad():
            self.scale.mul_(0.9).add_(0.1 * x.std())
        return super().forward(x / self.scale)


class _BatchStatistics(SmallNet):
    """Batch norm without running statistics normalizes by the batch's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch_norm = nn.BatchNorm2d(4, track_running_stats=False)


@pytest.mark.parametrize(
    "module, match",
    [
        (_RandomInEvaluation, "other outputs for the same epochs in a second pass"),
        # Was told it "stays random", which it does not.
        (_ScaleUpdatedAtEachPass, "or changes at each pass .a weight or buffer"),
        (_BatchStatistics, "depends on the other epochs in its batch"),
    ],
)
@pytest.mark.parametrize("method", ["saliency", "guided_backprop", "grad_cam"])
def test_a_network_that_is_not_a_function_of_each_epoch_is_refused(
    module, match, method
):
    X, y = _arrays()
    clf = EEGNetClassifier(
        module=module, max_epochs=1, batch_size=8, random_state=0, verbose=False
    ).fit(X, y)
    with pytest.raises(ValueError, match=match):
        _explain(clf, method)


class _DriftingInEvaluation(SmallNet):
    """Outputs that grow by 0.1 % from one pass to the next (a forgotten counter)."""

    passes = 0

    def forward(self, x):  # noqa: D102
        self.passes += 1
        return super().forward(x) * (1 + 1e-3 * self.passes)


def test_outputs_that_change_slightly_between_passes_are_refused():
    """Two passes agree within float32 rounding (1e-4 of the outputs' largest
    value), not within a change ten times as large: the maps would depend on
    the pass."""
    network = _skorch_network(_DriftingInEvaluation)
    with pytest.raises(ValueError, match="other outputs for the same epochs"):
        _explain(network, "saliency")


def test_patterns_are_not_learned_from_outputs_that_change_between_passes():
    """learn_patterns refused such a network for changing its logits when its
    batch norm was folded ("a layer next to a batch norm is also used
    elsewhere"), which named no cause of the network's."""
    X, _ = _arrays()
    with pytest.raises(ValueError, match="other outputs for the same epochs"):
        learn_patterns(_skorch_network(_DriftingInEvaluation), X)


def _skorch_net(module, **module_params):
    """``module`` in an initialized skorch classifier of two classes."""
    module_params = {f"module__{name}": value for name, value in module_params.items()}
    return NeuralNetClassifier(module, classes=[0, 1], **module_params).initialize()


def _with_channels(net):
    """``net`` wrapped for explain, reading EEG channels at 128 Hz."""
    return as_network(net, info=mne.create_info(N_CHANNELS, 128.0, "eeg"))


def _skorch_network(module):
    """A skorch classifier of ``module`` (a SmallNet), as mne_xai presents it."""
    return _with_channels(
        _skorch_net(module, n_channels=N_CHANNELS, n_classes=2, n_times=N_TIMES)
    )


def test_a_network_returning_a_tuple_is_refused_clearly():
    class WithFeatures(SmallNet):
        def forward(self, x):
            return super().forward(x), x

    match = (
        r"returns a tuple; saliency explains .* \(e\.g\. the first element of a tuple\)"
    )
    with pytest.raises(ValueError, match=match):
        _explain(_skorch_network(WithFeatures), "saliency")


class _ClampedAfterUse(SmallNet):
    """Its classifier's weights clamped in place after their use in forward."""

    def forward(self, x):  # noqa: D102
        logits = super().forward(x)
        with torch.no_grad():
            self.classifier.weight.clamp_(-0.05, 0.05)
        return logits


class _ScaleClampedAfterUse(SmallNet):
    """Its input scale, a buffer, clamped in place after its use in forward (to
    a bound it is within: it computes the same function at every pass)."""

    def forward(self, x):  # noqa: D102
        logits = super().forward(x)
        with torch.no_grad():
            self.input_scale.clamp_(min=1e-3)
        return logits


@pytest.mark.parametrize(
    "network, changed",
    [(_ClampedAfterUse, "classifier.weight"), (_ScaleClampedAfterUse, "input_scale")],
)
@pytest.mark.parametrize(
    "method", ["saliency", "integrated_gradients", "guided_backprop", "deeplift"]
)
def test_a_weight_changed_in_place_after_its_use_is_named(method, network, changed):
    """Every method differentiating the network failed deep in its backward
    pass with torch's "modified by an inplace operation"; a buffer is named as
    a parameter is."""
    with pytest.raises(ValueError, match=f"changes '{changed}' in place in forward"):
        _explain(_skorch_network(network), method)


class _DemeansInPlace(SmallNet):
    """Each channel's mean over time subtracted from the input in place."""

    def forward(self, x):  # noqa: D102
        x -= x.mean(-1, keepdim=True)
        return super().forward(x)


@pytest.mark.parametrize("scale", [1.0, 1e-6], ids=["unit", "volts"])
@pytest.mark.parametrize(
    "method", ["saliency", "guided_backprop", "deeplift", "occlusion", "random"]
)
def test_a_network_changing_its_input_in_place_is_refused(method, scale):
    """Every method that differentiates the network failed with torch's "a
    leaf Variable that requires grad is being used in an in-place operation";
    the others explained epochs the network had changed, and changed the
    user's float32 array with them. Changes of epochs in volts (of a few
    microvolts) are changes too."""
    X = (_arrays()[0][:4] * scale).astype(np.float32)
    given = X.copy()
    with pytest.raises(ValueError, match="changes its input in place in forward"):
        explain(_skorch_network(_DemeansInPlace), X, method, target=0, verbose=False)
    np.testing.assert_array_equal(X, given)


def test_a_network_changing_its_input_in_place_is_refused_by_fit_and_deletion():
    """Training changed the training epochs at every pass (fit failed in the
    check of the samples read, with torch's message); deletion curves read
    epochs the network had changed."""
    X, y = _arrays()
    X = X.astype(np.float32)
    given = X.copy()
    estimator = EEGNetClassifier(
        module=_DemeansInPlace,
        module__n_channels=N_CHANNELS,
        module__n_classes=2,
        module__n_times=N_TIMES,
        info=mne.create_info(N_CHANNELS, 128.0, "eeg"),
        max_epochs=1,
        verbose=False,
    )
    with pytest.raises(ValueError, match="changes its input in place in forward"):
        estimator.fit(X, y)
    with pytest.raises(ValueError, match="changes its input in place in forward"):
        deletion_curve(
            _skorch_network(_DemeansInPlace), X[:4], "random", target=0, verbose=False
        )
    np.testing.assert_array_equal(X, given)


class _ClippedWithoutGradient(SmallNet):
    """Its activations clipped when gradient is disabled, as when it predicts."""

    def forward(self, x):  # noqa: D102
        x = self.elu(self.batch_norm(self.temporal(self.spatial(x.unsqueeze(1)))))
        if not torch.is_grad_enabled():
            x = x.clamp(max=0.5)
        return self.classifier(self.flatten(self.pool(x)))


@pytest.mark.parametrize("method", ["saliency", "lrp_epsilon", "guided_backprop"])
def test_a_network_computing_otherwise_with_gradient_is_refused(method):
    """The maps explained the unclipped function, whose logits were not those
    the network predicts."""
    with pytest.raises(ValueError, match="other outputs with gradient enabled than"):
        _explain(_skorch_network(_ClippedWithoutGradient), method)


class _InBfloat16(SmallNet):
    """Computed under torch.autocast in bfloat16, its logits returned in float32."""

    def forward(self, x):  # noqa: D102
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = super().forward(x)
        return logits.float()


@pytest.mark.parametrize("method", ["lrp_epsilon", "lrp_zplus"])
def test_layers_computing_in_another_type_than_their_weights_are_refused(method):
    """LRP computed the layers again outside autocast, and failed with torch's
    "expected m1 and m2 to have the same dtype"."""
    with pytest.raises(
        ValueError, match=r"'spatial' \(Conv2d\) computes in bfloat16, not in the"
    ):
        _explain(_skorch_network(_InBfloat16), method)


class _ReentrantCheckpoint(SmallNet):
    """Its convolutions recomputed in the backward pass by torch's older checkpoint."""

    def forward(self, x):  # noqa: D102
        x = (x * self.input_scale).unsqueeze(1)
        x = checkpoint(self.temporal, self.spatial(x), use_reentrant=True)
        return self.classifier(self.flatten(self.pool(self.elu(self.batch_norm(x)))))


class _CountingReentrantCheckpoint(_ReentrantCheckpoint):
    """Counting its passes in a buffer, which forward changes in place."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("n_passes", torch.zeros((), dtype=torch.long))

    def forward(self, x):  # noqa: D102
        self.n_passes += 1
        return super().forward(x)


@pytest.mark.parametrize(
    "network", [_ReentrantCheckpoint, _CountingReentrantCheckpoint]
)
@pytest.mark.parametrize("method", ["saliency", "integrated_gradients"])
def test_a_network_autograd_cannot_differentiate_is_refused_with_torchs_reason(
    method, network
):
    """Reentrant checkpointing does not support torch.autograd.grad: saliency
    and integrated gradients failed with its RuntimeError in captum. A buffer
    forward updates (a counter, a running mean) is no weight changed after its
    use: torch's reason is given, not that change."""
    with pytest.raises(
        ValueError, match=r"fails to be differentiated by autograd \(When use_reentr"
    ):
        _explain(_skorch_network(network), method)


class _ThreeLogits(SmallNet):
    """Three logits, whatever the number of classes."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__(n_channels, 3, n_times)


def test_a_network_of_other_logits_than_classes_is_refused():
    """Three logits for classes [0, 1] cannot tell which logit is whose: a
    target index would pick one of them without a word."""
    with pytest.raises(ValueError, match=r"returns 3 logit\(s\) per epoch for a "):
        _explain(_skorch_network(_ThreeLogits), "saliency")


class _SqueezesEveryAxis(SmallNet):
    """``squeeze()`` without dim: logits (2,) for a batch of one epoch."""

    def forward(self, x):  # noqa: D102
        return super().forward(x).unsqueeze(-1).squeeze()


@pytest.mark.parametrize("n_epochs", [1, 4])
def test_a_network_dropping_the_axis_of_a_batch_of_one_is_told_so(n_epochs):
    """It was refused as depending on the other epochs in its batch (batch
    norm...), and for one epoch as returning no logits."""
    network = _skorch_network(_SqueezesEveryAxis)
    X, _ = _arrays()
    with pytest.raises(ValueError, match=r"shape \(2,\) for one epoch.*squeeze\(\)"):
        explain(network, X[:n_epochs], "saliency", target=0, verbose=False)


class _LogitsPerTime(nn.Module):
    """A cropped decoding network: logits for each time, (batch, 2, n_times - 7)."""

    def __init__(self):
        super().__init__()
        self.spatial = nn.Conv1d(N_CHANNELS, 3, 1)
        self.classifier = nn.Conv1d(3, 2, 8)

    def forward(self, x):
        return self.classifier(torch.tanh(self.spatial(x)))


class _MeanOverTime(nn.Module):
    """The wrapping the refusal advises."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, x):
        return self.network(x).mean(dim=-1)


def test_logits_for_each_time_are_refused_with_the_wrapping_that_explains_them():
    """The hint spoke of a tuple to a cropped network; its advice, applied,
    gives the gradient of the epoch's mean logit."""
    torch.manual_seed(0)
    net = _skorch_net(_LogitsPerTime)
    with pytest.raises(ValueError, match=r"their mean over time, network\(x\)\.mean"):
        _explain(_with_channels(net), "saliency")

    per_time = net.module_
    net.module_ = _MeanOverTime(per_time).eval()
    maps = _explain(_with_channels(net), "saliency")
    inputs = torch.as_tensor(_arrays()[0][:4], dtype=torch.float32).requires_grad_()
    per_time(inputs).mean(dim=-1)[:, 0].sum().backward()
    np.testing.assert_allclose(maps.get_data(), inputs.grad.abs().numpy(), atol=1e-6)


class _LogitsPerTimeOfOneRow(_LogitsPerTime):
    """Logits for each time laid out as an image row, (batch, 2, 1, n_times - 7)."""

    def forward(self, x):  # noqa: D102
        return super().forward(x).unsqueeze(2)


def test_outputs_of_four_axes_are_not_advised_the_mean_over_time():
    """The mean over time, advised for logits for each time (three axes),
    leaves three axes of four: the refusal asks for the logits alone."""
    network = _with_channels(_skorch_net(_LogitsPerTimeOfOneRow))
    match = r"returns shape \(\d+, 2, 1, \d+\); .* returns only the logits\.$"
    with pytest.raises(ValueError, match=match):
        _explain(network, "saliency")


def test_baselines_are_read_on_the_network_channels_and_unit(synthetic_arrays):
    """An Epochs baseline was read by position (a map 17 % off when its channels
    were in another order), an Evoked one failed in NumPy, and a baseline in
    microvolts beside volts, or built in the order of reordered Epochs, was
    used without a word."""
    X, y = synthetic_arrays
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-5, info, verbose=False)
    clf = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0).fit(epochs, y)
    reordered = epochs.copy().reorder_channels(["Cz", "C4", "Pz", "C3"])  # a cycle
    reference = epochs[:1].get_data()[0]
    expected = explain(clf, epochs, "deeplift", baseline=reference, verbose=False)
    for baseline in (reordered[:1], reordered[:1].average()):
        maps = explain(clf, reordered, "deeplift", baseline=baseline, verbose=False)
        np.testing.assert_allclose(
            maps.get_data(picks=info.ch_names), expected.get_data(), rtol=1e-5
        )
    # An array holds no names: with Epochs in another order than the network's,
    # it was read in the network's with a warning, whichever it followed (a
    # confident map of another baseline), where the evaluations refuse maps.
    # Given arrays, an Evoked in another order was read by position (a map
    # 0.0031 off for a largest value of 0.0052), though the network knows its
    # channels' names.
    for baseline in (reordered[:1], reordered[:1].average()):
        maps = explain(clf, X * 1e-5, "deeplift", baseline=baseline, verbose=False)
        np.testing.assert_allclose(maps.get_data(), expected.get_data(), rtol=1e-5)
    # Naming none of them (names made up for arrays), it is read by position.
    renamed = (
        epochs[:1]
        .average()
        .rename_channels(dict(zip(info.ch_names, "ABCD", strict=True)))
    )
    maps = explain(clf, X * 1e-5, "deeplift", baseline=renamed, verbose=False)
    np.testing.assert_allclose(maps.get_data(), expected.get_data(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"baseline could follow either.*Evoked"):
        explain(clf, reordered, "deeplift", baseline=reordered.get_data()[0])
    # Beside a channel the network does not read, the baseline of the EEG
    # channels in the Epochs' order was read in the network's without a word.
    stim = mne.EpochsArray(
        np.zeros((len(epochs), 1, X.shape[2])),
        mne.create_info(["STI"], 64.0, "stim"),
        verbose=False,
    )
    with_stim = reordered.copy().add_channels([stim], force_update_info=True)
    with pytest.raises(ValueError, match=r"\['Cz', 'C4', 'Pz', 'C3'\]"):
        explain(clf, with_stim, "deeplift", baseline=with_stim.get_data(picks="eeg")[0])
    # The same in both orders (a constant level), an array is not ambiguous.
    level = np.full(X.shape[1:], 1e-6)
    maps = explain(clf, with_stim, "deeplift", baseline=level, verbose=False)
    as_evoked = mne.EvokedArray(level, info, verbose=False)
    np.testing.assert_array_equal(
        maps.get_data(),
        explain(
            clf, with_stim, "deeplift", baseline=as_evoked, verbose=False
        ).get_data(),
    )
    with pytest.warns(RuntimeWarning, match="another unit"):
        explain(clf, epochs, "deeplift", baseline=reference * 1e6, verbose=False)
    one_channel = reference.copy()
    one_channel[0] *= 1e6  # the others in volts
    with pytest.warns(RuntimeWarning, match="another unit"):
        explain(clf, epochs, "deeplift", baseline=one_channel, verbose=False)
    # An Evoked baseline lacking a channel failed in MNE's pick ("could not be
    # picked"); one in microvolts, or cut at another time, passed unseen.
    evoked = epochs.average()
    with pytest.raises(ValueError, match=r"baseline lacks channel\(s\) \['Cz'\]"):
        explain(clf, epochs, "deeplift", baseline=evoked.copy().drop_channels(["Cz"]))
    # Given arrays, one naming some of the network's channels is read by name too.
    partly = evoked.copy().rename_channels({"Cz": "Fz"})
    with pytest.raises(ValueError, match=r"baseline lacks channel\(s\) \['Cz'\]"):
        explain(clf, X * 1e-5, "deeplift", baseline=partly)
    in_microvolts = mne.EvokedArray(evoked.data * 1e6, evoked.info, verbose=False)
    with pytest.warns(RuntimeWarning, match="another unit"):
        explain(clf, epochs, "deeplift", baseline=in_microvolts, verbose=False)
    with pytest.warns(RuntimeWarning, match=r"starts at 0.5 s and the epochs at 0 s"):
        explain(clf, epochs, "deeplift", baseline=evoked.copy().shift_time(0.5))
    # One sample apart is apart (at 64 Hz).
    with pytest.warns(RuntimeWarning, match=r"starts at 0.015625 s and the epochs"):
        explain(clf, epochs, "deeplift", baseline=evoked.copy().shift_time(1 / 64))


def test_the_baseline_scale_is_checked_channel_by_channel():
    """One channel 150 times the training data's standard deviation is warned of
    beside channels of zeros (the root mean square of all four is 75 times),
    each channel against its own type's deviation: an EOG channel at its own
    scale, ten times the EEG's, is not."""
    baseline = np.zeros((4, 64))
    baseline[0] = 150e-5
    with pytest.warns(RuntimeWarning, match="baseline is 150 times"):
        _check_baseline_scale(baseline, 1e-5)
    per_type = np.array([1e-5, 1e-5, 1e-5, 1e-4])  # three EEG channels, one EOG
    eog_at_its_scale = np.zeros((2, 4, 64))
    eog_at_its_scale[:, 3] = 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_baseline_scale(eog_at_its_scale, per_type)
        # A network recording no statistics of its data (skorch's) has no scale.
        _check_baseline_scale(baseline, None)
    # Over both baselines, channel 0 is 150 / sqrt(2) = 106 times.
    with pytest.warns(RuntimeWarning, match="baseline is 106 times"):
        _check_baseline_scale(np.stack([eog_at_its_scale[0], baseline]), per_type)


def test_array_baseline_of_either_order_advice_gives_the_right_map(synthetic_arrays):
    """The refusal of an array baseline offered "the epochs in the network's
    order: epochs.copy().reorder_channels(ch_names)"; reordering the epochs and
    keeping the baseline read it against other channels without a word (maps
    25 % off on EEGBCI), and the channels were named "['C3', 'Cz', 'C4', 'Pz']."
    on four channels, "[...] ...." on more.
    """
    X, y = synthetic_arrays
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-5, info, verbose=False)
    clf = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0).fit(epochs, y)
    reordered = epochs.copy().reorder_channels(["Cz", "C4", "Pz", "C3"])  # a cycle
    mean = reordered.average()
    expected = explain(clf, reordered, "deeplift", baseline=mean, verbose=False)
    with pytest.raises(ValueError, match="could follow either") as refusal:
        explain(clf, reordered, "deeplift", baseline=mean.get_data())
    assert f"(estimator.info_.ch_names): {clf.info_.ch_names}" in str(refusal.value)
    # As advised: the epochs in the network's order, the array computed again.
    in_order = reordered.copy().reorder_channels(clf.info_.ch_names)
    baseline = in_order.get_data().mean(axis=0)
    maps = explain(clf, in_order, "deeplift", baseline=baseline, verbose=False)
    np.testing.assert_allclose(
        maps.get_data(),
        expected.get_data(picks=clf.info_.ch_names),
        rtol=1e-5,
        atol=1e-12,
    )
    # A constant level reads the same in either order: it is read, as the
    # Epochs in the network's order read it.
    level = np.full(baseline.shape, 1e-6)
    of_level = explain(clf, reordered, "deeplift", baseline=level, verbose=False)
    np.testing.assert_allclose(
        of_level.get_data(picks=clf.info_.ch_names),
        explain(clf, in_order, "deeplift", baseline=level, verbose=False).get_data(),
        rtol=1e-5,
        atol=1e-12,
    )


def test_baselines_of_no_shape_are_named(fitted_icnn, imagery_epochs):
    """baseline=0.0 raised NumPy's "axis 2 is out of bounds" from the unit check,
    which ran before the shape check; baseline=None, a float conversion error."""
    clf, X = fitted_icnn, imagery_epochs[:2]
    with pytest.raises(ValueError, match=r"got \(\); for a constant level c, np.full"):
        explain(clf, X, "integrated_gradients", baseline=0.0)
    with pytest.raises(ValueError, match=r"baseline must have shape .* got \(3,\)\."):
        explain(clf, X, "integrated_gradients", baseline=[0.0, 1.0, 2.0])
    # Baselines stack on one axis only: a 4-D array is not read as a set.
    stacked = np.zeros((2, 2, *X.get_data().shape[1:]))
    with pytest.raises(ValueError, match=r"baseline must have shape .* got \(2, 2,"):
        explain(clf, X, "deeplift_shap", baseline=stacked)
    with pytest.raises(TypeError, match='baseline must be "zeros", "mean", an array'):
        explain(clf, X, "integrated_gradients", baseline=None)
    # A baseline holding NaN is named, not the network's output at it.
    baseline = np.zeros(X.get_data().shape[1:])
    baseline[0, 0] = np.nan
    with pytest.raises(ValueError, match="^baseline contains NaN or infinite values"):
        explain(clf, X, "integrated_gradients", baseline=baseline)


def test_a_list_of_evoked_baselines_says_how_to_give_them(fitted_icnn, imagery_epochs):
    """A list of Evoked for deeplift_shap failed in NumPy ("float() argument
    must be a string or a real number, not 'EvokedArray'"); one Epochs of the
    same baselines is the way to give them, read by channel name."""
    clf, X = fitted_icnn, imagery_epochs[:2]
    evokeds = [imagery_epochs[[index]].average() for index in (2, 3)]
    with pytest.raises(TypeError, match="baseline is a list holding Evoked"):
        explain(clf, X, "deeplift_shap", baseline=evokeds)
    with pytest.raises(TypeError, match="mne.concatenate_epochs of Epochs"):
        explain(clf, X, "deeplift_shap", baseline=(X[:1], X[1:]))
    # The advice of the message works.
    advised = mne.EpochsArray(
        np.stack([evoked.data for evoked in evokeds]),
        evokeds[0].info,
        tmin=evokeds[0].tmin,
        verbose=False,
    )
    maps = explain(clf, X, "deeplift_shap", baseline=advised, verbose=False)
    expected = explain(
        clf, X, "deeplift_shap", baseline=imagery_epochs[2:4], verbose=False
    )
    np.testing.assert_allclose(maps.get_data(), expected.get_data(), rtol=1e-6)


def test_event_codes_read_as_indices_of_other_classes_warn(synthetic_arrays):
    """A network trained on event names read epochs.events[:, 2] as indices:
    with {"right": 0, "left": 1} every epoch explained the other class."""
    X, _ = synthetic_arrays
    y = np.repeat(["right", "left"], len(X) // 2)
    events = np.c_[np.arange(len(X)), np.zeros(len(X), int), (y == "left").astype(int)]
    epochs = mne.EpochsArray(
        X * 1e-5,
        mne.create_info(4, 64.0, "eeg"),
        events=events,
        event_id={"right": 0, "left": 1},
        verbose=False,
    )
    clf = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0).fit(epochs, y)
    with pytest.warns(RuntimeWarning, match=r"0 -> 'left' \(event 'right'\)"):
        explain(clf, epochs, "saliency", target=epochs.events[:, 2], verbose=False)
    # Indices that agree with the events, and target="true", say nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(clf, epochs, "saliency", target="true", verbose=False)


@pytest.mark.parametrize("method", LEARNED_RULES)
def test_pattern_methods_explain_reshaping_modules_of_other_libraries(method):
    """Reshapes carry the signal on unchanged: with the same patterns, the maps
    are those of the same network with the reshapes written in forward (the
    modules were refused)."""
    own_modules, plain = _untrained(WithOwnModules), _untrained()
    _, layers, estimators = prepare_network(plain, _data(), method)
    assert prepare_network(own_modules, _data(), method)[2] == estimators
    rng = np.random.default_rng(0)
    weights = {name: layer.weight.detach().numpy() for name, layer in layers.items()}
    patterns = NetworkPatterns(
        {name: rng.standard_normal(weight.shape) for name, weight in weights.items()},
        estimators,
        weights,
        n_epochs=1,
    )
    torch.testing.assert_close(
        _attribute(method, own_modules, patterns=patterns),
        _attribute(method, plain, patterns=patterns),
    )


def test_unfoldable_batch_norm_names_the_layer_it_follows():
    """It said the batch norm followed no convolution, also where a crop came
    in between; it names what it follows instead."""
    module = nn.Sequential(
        nn.Conv1d(N_CHANNELS, 2, 3), nn.ReLU(), nn.BatchNorm1d(2), nn.Conv1d(2, 2, 1)
    )
    module = nn.Sequential(*module, nn.Flatten(), nn.Linear(2 * (N_TIMES - 2), 2))
    match = r"Batch norm '2' is applied to the output of layer '1' \(ReLU\)"
    with pytest.raises(ValueError, match=match):
        _attribute("lrp_epsilon", module.double().eval())


# -- computations from the input out of autograd's sight ------------------------------
class ScaledOutOfAutograd(SmallNet):
    """SmallNet on each epoch divided by its standard deviation, computed as
    written, or without gradient (``scale``), as "preprocessing in the model" often
    is; ``"max_norm"`` renormalizes a weight in forward under no_grad instead."""

    def __init__(
        self,
        n_channels,
        n_classes,
        n_times,
        sfreq=128.0,
        input_scale=1.0,
        *,
        scale="no_grad",
    ):
        super().__init__(n_channels, n_classes, n_times, sfreq, input_scale)
        self.scale = scale

    def forward(self, x):
        if self.scale == "no_grad":
            with torch.no_grad():
                scale = x.std(dim=(1, 2), keepdim=True)
            x = x / scale
        elif self.scale == "detach":
            x = x / x.std(dim=(1, 2), keepdim=True).detach()
        elif self.scale == "detach_then_shift":
            x = x / (x.std(dim=(1, 2), keepdim=True).detach() + 1e-6)
        elif self.scale == "detach_of_joined":
            joined = torch.cat([x, x], dim=-1)
            x = x / joined.std(dim=(1, 2), keepdim=True).detach()
        elif self.scale == "detach_in_place":
            x = x / x.std(dim=(1, 2), keepdim=True).detach_()
        elif self.scale == "new_tensor":
            x = x / x.new_tensor(x.std(dim=(1, 2), keepdim=True))
        elif self.scale == "no_grad_in_float64":
            with torch.no_grad():
                scale = x.to(torch.float64).std(dim=(1, 2), keepdim=True)
            x = x / scale.to(x.dtype)
        elif self.scale == "no_grad_without_artifacts":
            with torch.no_grad():
                scale = torch.where(x.abs() < 3, x, 0).std(dim=(1, 2), keepdim=True)
            x = x / scale
        elif self.scale == "item":
            x = torch.stack([epoch / epoch.std().item() for epoch in x])
        elif self.scale == "float":
            x = torch.stack([epoch / float(epoch.std()) for epoch in x])
        elif self.scale == "tolist":
            scale = torch.tensor(x.std(dim=(1, 2)).tolist(), dtype=x.dtype)
            x = x / scale[:, None, None]
        elif self.scale == "numpy":
            scale = np.abs(x.detach().numpy()).mean(axis=(1, 2), keepdims=True)
            x = x / torch.as_tensor(scale, dtype=x.dtype)
        elif self.scale == "array":
            scale = np.asarray(x.detach()).std(axis=(1, 2), keepdims=True)
            x = x / torch.as_tensor(scale, dtype=x.dtype)
        elif self.scale == "clipped_by_keywords":
            with torch.no_grad():
                bound = 2 * x.std(dim=(1, 2), keepdim=True)
            x = x.clamp(min=-bound, max=bound)
        elif self.scale == "with_gradient":
            x = x / x.std(dim=(1, 2), keepdim=True)
        else:
            with torch.no_grad():
                weight = self.classifier.weight
                weight.copy_(torch.renorm(weight, p=2, dim=0, maxnorm=0.25))
        return super().forward(x)


GRADIENT_FREE = ["occlusion", "random", "score_cam"]


def test_registry_marks_the_methods_that_differentiate():
    assert methods_without_gradient() == GRADIENT_FREE


def test_a_method_with_rules_is_checked_for_gradients_whatever_it_declares(
    monkeypatch,
):
    """Rules replace a backward pass: a new method with rules that declares no
    gradient (differentiates=False) is still checked for a gradient path."""

    class RulesDeclaredGradientFree(get_method("guided_backprop")):
        name = "rules_declared_gradient_free"
        differentiates = False

    name = RulesDeclaredGradientFree.name
    monkeypatch.setitem(_registry._METHODS, name, RulesDeclaredGradientFree)
    assert _registry.method_differentiates(name)
    assert name not in _registry.methods_without_gradient()


def test_a_method_taking_patterns_needs_them_whatever_its_name(monkeypatch):
    """Patterns belong to one network's weights (the report and the sanity
    checks learn them anew per network): a method is known to need them by its
    ``patterns`` parameter, not by a name starting with "pattern"."""

    class LearnedSignal(get_method("pattern_net")):
        name = "learned_signal"

    monkeypatch.setitem(_registry._METHODS, LearnedSignal.name, LearnedSignal)
    assert _registry.needs_patterns(LearnedSignal.name)
    assert not _registry.needs_patterns("saliency")


def test_a_second_method_of_a_registered_name_is_refused(monkeypatch):
    """A new class registered as "saliency" would replace saliency for every
    caller; registering a method again is harmless."""
    monkeypatch.setattr(_registry, "_METHODS", dict(_registry._METHODS))
    saliency = get_method("saliency")
    assert _registry.register_method(saliency) is saliency

    class Other(saliency):
        name = "saliency"

    with pytest.raises(ValueError, match="named 'saliency' exists already"):
        _registry.register_method(Other)
    assert get_method("saliency") is saliency


def test_smoothgrad_asks_its_base_method_with_the_base_params(monkeypatch):
    """A base method whose values weigh the input from zero, or share out a
    change from a baseline, for some of its parameters only is asked with the
    base_params SmoothGrad passes it, not read from its class's default."""
    monkeypatch.setattr(_registry, "_METHODS", dict(_registry._METHODS))

    class TimesInputOrNot(get_method("saliency")):
        name = "times_input_or_not"

        @classmethod
        def from_zero_of(cls, params=None):
            return bool((params or {}).get("times_input"))

        from_baseline_of = from_zero_of

    _registry.register_method(TimesInputOrNot)
    smoothgrad = get_method("smoothgrad")
    for times_input in (False, True):
        params = dict(
            base_method=TimesInputOrNot.name,
            base_params=dict(times_input=times_input),
        )
        assert smoothgrad.from_zero_of(params) is times_input
        assert smoothgrad.from_baseline_of(params) is times_input


def test_smoothgrad_of_itself_is_not_read_through_to_an_inner_base_method():
    """SmoothGrad refuses itself as base method: its properties stay its own,
    not those of a base method nested in its base_params, which would have
    explain_spectral_classifier refuse SmoothGrad of SmoothGrad of gradient x
    input as measuring from 0 dB (advising other methods) rather than name the
    base method it refuses."""
    smoothgrad = get_method("smoothgrad")
    nested = dict(
        base_method="smoothgrad", base_params=dict(base_method="gradient_x_input")
    )
    assert smoothgrad.from_zero_of(nested) is smoothgrad.from_zero is False
    assert smoothgrad.unit_of(nested) == smoothgrad.unit


class _NotAMethod:
    name = "not_a_method"

    def attribute(self, inputs, target):
        return inputs


@pytest.mark.parametrize(
    ("cls", "error", "match"),
    [
        (_NotAMethod, TypeError, "Only AttributionMethod subclasses"),
        (type("Unnamed", (AttributionMethod,), {}), ValueError, "needs a name"),
        (type("Blank", (AttributionMethod,), {"name": ""}), ValueError, "needs a name"),
    ],
)
def test_only_a_named_attribution_method_is_registered(monkeypatch, cls, error, match):
    """A class without ``attribute``'s contract, or without a name to be asked
    for by, would be listed among the methods (a name None broke the sorting of
    every list of them) and fail only when run."""
    methods = dict(_registry._METHODS)
    monkeypatch.setattr(_registry, "_METHODS", dict(methods))
    with pytest.raises(error, match=match):
        _registry.register_method(cls)
    assert _registry._METHODS == methods


@pytest.mark.parametrize(
    ("scale", "cause"),
    [
        ("no_grad", r"'torch\.Tensor\.std under torch\.no_grad\(\)'"),
        ("detach", r"'torch\.Tensor\.detach'"),
        # The cut is followed through what is computed of the cut tensor alone.
        ("detach_then_shift", r"'torch\.Tensor\.detach'"),
        # Of a tensor joined from the input's, in a list.
        ("detach_of_joined", r"'torch\.Tensor\.detach'"),
        ("detach_in_place", r"'torch\.Tensor\.detach_'"),
        # A copy of the values, as torch.tensor(x) is.
        ("new_tensor", r"'torch\.Tensor\.new_tensor'"),
        # Computed in another type, or of a tensor and a mask of it.
        ("no_grad_in_float64", r"'torch\.Tensor\.to under torch\.no_grad\(\)'"),
        ("no_grad_without_artifacts", r"'torch\.where under torch\.no_grad\(\)'"),
        ("item", r"as Python numbers or NumPy arrays, with 'torch\.Tensor\.item'"),
        ("float", r"NumPy arrays, with 'torch\.Tensor\.__float__'"),
        ("tolist", r"NumPy arrays, with 'torch\.Tensor\.tolist'"),
        # The cut tensor left torch; torch.as_tensor started a new one.
        ("numpy", r"NumPy arrays, with 'torch\.Tensor\.numpy'"),
        # NumPy's functions read a tensor through its __array__.
        ("array", r"NumPy arrays, with 'torch\.Tensor\.__array__'"),
        # Statistics given as keyword arguments (clipping at a multiple of the
        # standard deviation) are read as positional ones are.
        ("clipped_by_keywords", r"'torch\.Tensor\.std under torch\.no_grad\(\)'"),
    ],
)
@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
def test_statistics_of_the_input_without_gradient_are_refused(scale, cause):
    """The network is scale-invariant: its derivative along the epoch is 0, but
    the gradient of its logit without the division's dependence on the input
    gave 80% of the logit there, and every gradient method returned its maps
    without a word. Methods that only run the network forward still run."""
    clf = _fit_module(ScaledOutOfAutograd, scale=scale)
    for method in list_methods():
        if method in GRADIENT_FREE:
            _explain(clf, method)
            continue
        with pytest.raises(ValueError, match=cause) as error:
            _explain(clf, method)
        assert "is not the derivative of the network" in str(error.value)
        assert str(error.value).endswith(f"{', '.join(GRADIENT_FREE)}.")


@pytest.mark.parametrize(
    ("scale", "methods"),
    [
        # Rule methods refuse the division itself.
        ("with_gradient", ["saliency", "integrated_gradients", "grad_cam"]),
        ("max_norm", ["saliency", "integrated_gradients", "lrp_epsilon", "deeplift"]),
    ],
)
def test_statistics_with_gradient_and_max_norm_in_forward_run(scale, methods):
    """The same division with gradient, and no_grad on parameters only (a max-norm
    constraint applied in forward), derive nothing out of autograd's sight."""
    clf = _fit_module(ScaledOutOfAutograd, scale=scale)
    for method in methods:
        # The division is 0 / 0 at the zero epoch: from the mean epoch.
        params = {"baseline": "mean"} if method == "integrated_gradients" else {}
        _explain(clf, method, **params)
    if scale == "with_gradient":
        with pytest.raises(ValueError, match="output at the baseline is not a number"):
            _explain(clf, "integrated_gradients")


class OwnGain(SmallNet):
    """SmallNet multiplying its maps by a parameter of its own, in forward."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return super().forward(x) * self.gain


def test_module_using_its_own_parameters_is_named_with_its_class():
    """The refusal named the module by its attribute only ('module', the
    name the estimators' input scaling gives the user's network)."""
    with pytest.raises(ValueError, match=r"\(OwnGain\) uses its own parameters"):
        _attribute("lrp_epsilon", _untrained(OwnGain))
    # It names the methods that may apply (it advised layer modules, which an
    # attention built of nn.Linear follows and is still refused for its products).
    with pytest.raises(ValueError, match=r"may apply to this network.*saliency"):
        _attribute("lrp_epsilon", _untrained(OwnGain))


@pytest.mark.parametrize("scale", ["no_grad", "with_gradient"])
def test_inspect_functions_following_gradients_refuse_them_too(scale):
    """Pruning's ranking of units (decision gradients) and activation
    maximization follow autograd's gradient, which is not the network's
    derivative when its input statistics are computed without gradient."""
    X, y = _arrays()
    epochs = mne.EpochsArray(X * 1e-5, mne.create_info(N_CHANNELS, 128.0, "eeg"))
    estimator = EEGNetClassifier(
        module=ScaledOutOfAutograd,
        module__scale=scale,
        max_epochs=1,
        random_state=0,
        verbose=False,
    ).fit(epochs, y)
    calls = [
        lambda: pruning_curve(
            estimator, epochs, "temporal", y, n_random=1, verbose=False
        ),
        lambda: maximize_activation(estimator, 0, n_steps=2, verbose=False),
    ]
    for call in calls:
        if scale == "no_grad":
            with pytest.raises(ValueError, match="without gradient"):
                call()
        else:
            call()


# -- (7) DeepLIFT's rescale rule on element-wise activations captum does not list -----
@pytest.mark.parametrize("method", DEEPLIFT_METHODS)
@pytest.mark.parametrize(
    "activation",
    [
        nn.GELU(),
        nn.SiLU(),
        nn.Mish(),
        nn.PReLU(4),
        nn.Hardswish(),
        nn.SELU(),
        nn.CELU(),
        nn.RReLU(),
        nn.Softsign(),
        nn.LogSigmoid(),
        nn.Tanhshrink(),
    ],
    ids=lambda activation: type(activation).__name__,
)
def test_deeplift_rescales_other_elementwise_activations(method, activation):
    """Where captum would pass their plain gradient (and the map was refused),
    the rescale rule applies and maps sum to the delta. From a zero reference,
    through batch norm still at zero mean, the rescale of PReLU (linear on each
    side of 0) is its slope, and in evaluation that of RReLU too, so the map is
    the gradient x input; that of the curved activations is not."""
    module = _untrained()
    module.elu = activation.double().eval()  # RReLU's slope is random in training
    attribution = _attribute(method, module)
    assert _summation_error(module, attribution) < 1e-10
    inputs = _data().requires_grad_()
    (gradient,) = torch.autograd.grad(_logits(module, inputs).sum(), inputs)
    piecewise_linear = isinstance(activation, nn.PReLU | nn.RReLU)
    assert piecewise_linear == torch.allclose(
        attribution, gradient * inputs.detach(), atol=1e-12
    )
