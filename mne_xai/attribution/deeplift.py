"""DeepLIFT (rescale rule) and DeepLIFT-SHAP, computed with captum.

captum's DeepLift replaces the gradient of every ``nn.ReLU`` and ``nn.ELU``
module (and of the other element-wise activations of torch, see
:data:`RESCALED_ACTIVATIONS`) by the rescale multiplier ``Δoutput / Δinput``
and back-propagates through everything else with ordinary gradients. That is the rescale rule for
EEGNet and InterpretableCNN: their other operations (the ``input_scale``
product, convolutions, batch norm in evaluation mode, average pooling, dropout
in evaluation mode, flattening, the linear layer) are affine, for which the
multiplier equals the gradient. Each nonlinearity is a module used once, as
captum requires. The tests check summation-to-delta on both networks. A
network computing any other nonlinear operation, e.g. ``torch.nn.functional.elu``
called in ``forward`` rather than an ``nn.ELU`` module, would get its plain
gradient there and lose summation-to-delta, and is refused; so is a
nonlinearity module called more than once (captum keeps one input per module)
and max pooling with overlapping windows (captum's rule then misses the
delta, as on braindecode's EEGInceptionMI). Last, every map is checked to sum
to ``f(x) - f(baseline)``, and refused where it does not.
"""

from collections import Counter
from contextlib import contextmanager

import numpy as np
import torch
from captum.attr import DeepLift as _CaptumDeepLift

# captum's table of the module types its DeepLift has rules for, matched by exact
# type, and its rescale rule: private, but the one list that says what captum
# handles and the rule it applies to activations.
from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR, nonlinear
from torch import nn

from .._docs import fill_doc
from .._graph import ANY_CONVOLUTION, MAX_POOLING, shown_layer_name, trace_layers
from .._warnings import ignoring
from ._propagation import LINEAR_LAYER_OPS, check_computation, torch_class
from ._registry import AttributionMethod, other_methods_note, register_method
from .gradient import _mean_over, _single_baseline, misses_delta, summation_error

#: Largest error of summation-to-delta, relative to the delta explained (see
#: :func:`~mne_xai.attribution.gradient.misses_delta`).
SUMMATION_TOLERANCE = 1e-3

#: Element-wise activations of torch missing from captum's table (which has
#: ReLU, ELU, LeakyReLU, sigmoid, tanh and softplus). The rescale rule needs
#: nothing but that each output sample is a function of the input sample at the
#: same place, so captum's rule for those holds for these too (PReLU's learned
#: slopes included); without them captum would pass their plain gradient and
#: the maps of transformer-style networks (GELU, SiLU) would be refused.
RESCALED_ACTIVATIONS = (
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.SELU,
    nn.CELU,
    nn.PReLU,
    nn.RReLU,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.ReLU6,
    nn.Softsign,
    nn.LogSigmoid,
    nn.Tanhshrink,
)


#: The module types of captum's table whose rule is exact here: its element-wise
#: activations and max pooling. Not ``nn.Softmax``: captum rescales each of its
#: outputs by its own input's change, but every output depends on every input,
#: so a map could sum to the delta and credit a sample that barely moved
#: (+443 against Shapley's 0 on three channels); softmax is refused by name.
CAPTUM_RULES = tuple(
    layer for layer in SUPPORTED_NON_LINEAR if not issubclass(layer, nn.Softmax)
)


class _CaptumRescale(_CaptumDeepLift):
    """captum's DeepLift, its rescale rule also on :data:`RESCALED_ACTIVATIONS`.

    Layers are known by their PyTorch class, not their exact type (captum's
    test), so that a subclass (checked to compute as its class) gets the
    class's rule rather than its plain gradient.
    """

    def _is_non_linear(self, module):
        return _has_rule(module)

    def _backward_hook(self, module, grad_input, grad_output):
        rule = SUPPORTED_NON_LINEAR.get(torch_class(module), nonlinear)
        # The inputs and outputs captum's forward hooks kept for this call; the
        # module is called once (checked), as in captum's own hook.
        multipliers = rule(
            module, module.input, module.output, grad_input, grad_output, eps=self.eps
        )
        del module.input, module.output
        return multipliers


def _has_rule(module):
    """Whether captum's DeepLift, as run here, applies a rule at ``module``."""
    return torch_class(module) in CAPTUM_RULES + RESCALED_ACTIVATIONS


def _check_layer_calls(module, inputs, layers, method):
    """Refuse layers that captum's rules cannot follow, as they are called.

    captum keeps one input and output per module for its rule, so a module
    reused (one ``nn.ELU()`` applied after several layers) breaks it. It also
    runs the epochs and their baselines as one batch and splits what each
    hooked layer receives in two along the first dimension, which must then
    be the epochs: on a time-major ``(time, batch, features)`` tensor it paired
    the first half of the samples with the second (torch's "size of tensor a
    (30) must match the size of tensor b (29)" on an odd number of samples).
    """
    # Two probes sharing their first epoch: where a layer's first half of
    # rows changes with the second epoch, captum's split mixes the epochs.
    first = inputs[:1]
    probes = [torch.cat([first, first]), torch.cat([first, 2 * first + 1])]
    calls, other_calls = (trace_layers(module, probe, layers) for probe in probes)
    counts = Counter(call.shown_name for call in calls)
    reused = [
        f"{name!r} ({count} times)" for name, count in counts.items() if count > 1
    ]
    if reused:
        raise ValueError(
            f"{method} needs each nonlinearity to be a module called once; these "
            f"are called more often in forward: {', '.join(reused)}. Give each "
            f"call its own module. {other_methods_note()}"
        )
    mixed = [
        f"{call.shown_name!r} (shape {tuple(call.input.shape)} for 2 epochs)"
        for call, other in zip(calls, other_calls, strict=True)
        if not _halves_are_the_epochs(call.input, other.input)
    ]
    if mixed:
        raise ValueError(
            f"{method} runs the epochs beside their baselines in one batch and "
            "splits what each nonlinearity and pooling receives in two halves "
            "along its first dimension, which must be those of the epochs and of "
            f"the baselines; these layers receive the epochs otherwise: "
            f"{', '.join(mixed)}. Put the batch first around them (e.g. permute "
            "a (time, batch, features) tensor). "
            f"{other_methods_note()}"
        )


def _halves_are_the_epochs(received, received_otherwise):
    """Whether a layer's input splits in halves of the first and second epoch.

    ``received`` and ``received_otherwise`` are what the layer got from two
    epochs, the second of which differs between them: the first half must not
    change, as it does where the first dimension is time (time-major tensors).
    A first dimension folding the epochs with other axes, epoch-major
    (``(batch * channels, ...)``), splits as captum needs. A scalar has no
    halves: one that no epoch changes (a nonlinearity of a parameter, such as
    a learned temperature) lies on no path from the epochs, where captum
    applies its rules; one that an epoch changes mixes them.
    """
    if received.ndim == 0:
        return torch.equal(received, received_otherwise)
    half, odd = divmod(received.shape[0], 2)
    if odd:
        return False
    # Not bit-equal: kernels may round one epoch otherwise beside another.
    # A float: a layer reading the network's input gets a tensor that requires
    # grad, and allclose takes no tensor for atol.
    scale = received.detach().abs().max().item()
    return torch.allclose(
        received[:half], received_otherwise[:half], rtol=1e-4, atol=1e-5 * scale
    )


def _check_pooling_windows(module, method):
    """Refuse max pooling where captum's rule fails: overlapping or dilated windows.

    captum's max-pooling multipliers sum to the change of the pooled output
    only when each input sample belongs to one window (stride >= kernel), and
    its rule un-pools without the dilation (torch's "invalid output_size").
    """
    for name, layer in module.named_modules():
        if not isinstance(layer, MAX_POOLING):
            continue
        # Sizes are ints or one per axis; numpy broadcasts an int to every axis.
        if np.any(np.not_equal(layer.dilation, 1)):
            problem = f"windows spaced by {layer.dilation}"
        elif np.any(np.less(layer.stride or layer.kernel_size, layer.kernel_size)):
            problem = f"windows of {layer.kernel_size} every {layer.stride}"
        else:
            continue
        raise ValueError(
            f"{method}'s rule for max pooling holds for windows that do not "
            f"overlap, with no dilation, but {shown_layer_name(name, module)!r} "
            f"({type(layer).__name__}) "
            f"pools {problem}, so its maps would not sum to f(x) - f(baseline). "
            f"{other_methods_note()}"
        )


@contextmanager
def _running_captum(module):
    """Run captum's DeepLift on ``module``: quiet, and each layer with a rule fed a copy.

    captum hooks the tensors a layer with a rule receives and returns; where
    one such layer's output is the next one's input (ReLU then max pooling,
    ELU then ELU, ELU then dropout, an identity in evaluation, then ELU), the
    first layer's hook receives the plain gradient instead of the second's
    multipliers, and the map no longer sums to ``f(x) - f(baseline)``: such
    networks were refused. A copy of each such layer's input (an identity in
    the forward pass) keeps the hooks apart. captum also warns about its hooks
    at every call.
    """
    handles = [
        layer.register_forward_pre_hook(
            lambda _, args: tuple(arg.clone() for arg in args)
        )
        for layer in module.modules()
        if _has_rule(layer)
    ]
    try:
        with ignoring("Setting forward, backward hooks"):
            yield
    finally:
        for handle in handles:
            handle.remove()


class _Rescale(AttributionMethod):
    """Base of the DeepLIFT methods: captum's DeepLift, the network checked once."""

    unit = "logit"
    from_baseline = True
    propagation_rules = True
    _checked = False

    def _explainer(self, inputs):
        """Return captum's DeepLift on the module, checked to handle it."""
        if not self._checked:
            layers = [layer for layer in self.module.modules() if _has_rule(layer)]
            _check_layer_calls(self.module, inputs, layers, self.name)
            _check_pooling_windows(self.module, self.name)
            # torch's padding_mode="circular" copies the epoch's ends in place
            # (CopySlices, refused as a function): a convolution padding so is
            # a linear map, whose gradient is its multiplier, once checked to
            # compute as its class.
            circular = [
                layer
                for layer in self.module.modules()
                if isinstance(layer, ANY_CONVOLUTION)
                and layer.padding_mode == "circular"
            ]
            check_computation(
                self.module,
                inputs,
                layers + circular,
                self.name,
                functional_ops=LINEAR_LAYER_OPS,
            )
            self._checked = True
        return _CaptumRescale(self.module)

    def _attribute(self, explainer, inputs, baseline, target):
        """Return captum's DeepLift map, refused where it does not sum to the delta.

        Summation-to-delta holds whenever every rule applies. A map that misses
        it comes from a rule that does not hold on this network and that the
        checks of layers and operations did not foresee (overlapping max
        pooling was found this way, on braindecode's EEGInceptionMI), and is
        not given.
        """
        attribution = explainer.attribute(inputs, baselines=baseline, target=target)
        error, total, difference = summation_error(
            self.module, inputs, baseline, target, attribution
        )
        wrong = misses_delta(error, total, difference, SUMMATION_TOLERANCE)
        if wrong.any():
            worst = int(torch.argmax(torch.where(wrong, error, 0)))
            raise ValueError(
                f"{self.name}'s contributions of an epoch sum to "
                f"{float(total[worst]):.4g}, not to f(x) - f(baseline) = "
                f"{float(difference[worst]):.4g}: one of captum's rules does not "
                "hold on this network (look for in-place operations on tensors "
                "read again, and for layers whose outputs each depend on several "
                "of their inputs), so its maps would be wrong. "
                f"{other_methods_note()}"
            )
        return attribution


@register_method
class DeepLift(_Rescale):
    """DeepLIFT with the rescale rule :footcite:`ShrikumarEtAl2017`.

    Explains the difference between the target logit of an epoch and that of
    a baseline by propagating multipliers: at each activation (ELU, ReLU,
    GELU, ...) the ratio of the change of its output to the change of its
    input (instead of the local gradient), elsewhere the gradient. Values are in logit units and add up
    exactly to ``f(x) - f(baseline)`` (summation-to-delta). Cui et al. list it
    among the methods to use on EEG networks :footcite:`CuiEtAl2023`.

    References
    ----------
    .. footbibliography::
    """

    name = "deeplift"

    @fill_doc
    def attribute(self, inputs, target, *, baseline="zeros"):
        """Return DeepLIFT contributions with respect to the baseline.

        Parameters
        ----------
        %(inputs_target)s
        baseline : "zeros" | "mean" | array, shape (n_channels, n_times)
            The reference epoch (resolved by :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Contribution of each sample to ``f(x) - f(baseline)``, in logit units.
        """
        baseline = _single_baseline(baseline, self.name)
        with _running_captum(self.module):
            return self._attribute(self._explainer(inputs), inputs, baseline, target)


@register_method
class DeepLiftShap(_Rescale):
    """DeepLIFT-SHAP: DeepLIFT averaged over a distribution of baselines.

    The mean of the DeepLIFT maps of an epoch with respect to each baseline
    approximates its SHAP values :footcite:`LundbergLee2017`. Values are in
    logit units and add up to the logit of the epoch minus the mean logit of
    the baselines. Pass an array of reference epochs (e.g. a sample of training
    epochs) as ``baseline``; with a single baseline this equals ``deeplift``.

    References
    ----------
    .. footbibliography::
    """

    name = "deeplift_shap"

    @fill_doc
    def attribute(self, inputs, target, *, baseline="zeros"):
        """Return DeepLIFT contributions averaged over the baselines.

        Parameters
        ----------
        %(inputs_target)s
        baseline : "zeros" | "mean" | array, shape ([n_baselines,] n_channels, n_times)
            The baseline distribution (resolved by :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Mean contribution of each sample to ``f(x) - f(baseline)``.
        """
        # The mean over baselines of DeepLift is what captum's DeepLiftShap
        # computes, but it evaluates every epoch against every baseline at
        # once (memory of batch x baselines x 2); one baseline per pass keeps
        # memory to the batch and is as fast on CPUs.
        explainer = self._explainer(inputs)

        def attribute_baseline(index):
            return self._attribute(
                explainer, inputs, baseline[index : index + 1], target
            )

        with _running_captum(self.module):
            return _mean_over(len(baseline), attribute_baseline)
