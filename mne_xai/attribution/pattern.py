"""PatternNet and PatternAttribution: backward passes through learned signal patterns.

The weights of a linear layer are a filter, and a filter is not where the
signal is :footcite:`HaufeEtAl2014`: it also cancels the noise that shares
the signal's inputs. Kindermans et al. :footcite:`KindermansEtAl2018` learn,
for every unit of every convolution and dense layer, the *pattern* ``a`` of the
signal its weights ``w`` pick up, from the data's statistics, and explain a
decision by passing the target logit back through the patterns (PatternNet:
the signal in the input) or through ``w ⊙ a`` (PatternAttribution: how much
each input sample contributed). Patterns are learned once, from data, with
:func:`mne_xai.inspect.learn_patterns`, and handed to :func:`mne_xai.explain`
as the methods' ``patterns`` parameter.
"""

import re
from dataclasses import dataclass

import torch
from mne.utils import _validate_type
from torch import nn

from .._graph import (
    AVERAGE_POOLING,
    CONVOLUTIONS,
    DENSE,
    MAX_POOLING,
    RECTIFIERS,
    SHAPE_ONLY,
    trace_layers,
)
from .._network import WindowAverage
from ._propagation import (
    MAX_POOL_OPS,
    _consumers,
    _forward_with_layer_nodes,
    check_computation,
    check_layers,
    check_same_function_out_of_place,
    fold_batch_norms,
    target_gradient,
)
from ._registry import AttributionMethod, register_method
from .lrp import _linear_map, _transpose

#: Layers that get a pattern: their weights are what the patterns replace.
PATTERN_LAYERS = CONVOLUTIONS + DENSE
# Pooling, reshapes and dropout pass the backward signal as their gradient, as
# in Kindermans et al.; batch norm is folded into its neighbours first.
_SUPPORTED = PATTERN_LAYERS + RECTIFIERS + AVERAGE_POOLING + MAX_POOLING + SHAPE_ONLY
# Operations scaling one input by a constant, whose backward pass is replaced
# (see _ScalingsInverted): products and quotients, negations, and sums with a
# constant, which scale the input by 1 or, subtracted, by -1 (by ±alpha in
# torch.add and torch.sub). The numbered variants are tensor (0) and scalar (1)
# operands.
_SCALINGS = re.compile(r"(Mul|Div|Neg|Add|Sub|Rsub)Backward[01]")
# Autograd operations that carry each value of their input on unchanged:
# reshapes, selections (a crop) and copies.
_CARRYING = re.compile(
    r"(View|UnsafeView|ReshapeAlias|AsStrided|Permute|Transpose|T|Squeeze|"
    r"Unsqueeze|Slice|Select|Clone|ToCopy)Backward\d*"
)


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class NetworkPatterns:
    """Signal patterns of a network's layers, learned from data.

    Returned by :func:`mne_xai.inspect.learn_patterns`; pass it as the
    ``patterns`` parameter of the methods ``"pattern_net"`` and
    ``"pattern_attribution"``.

    Attributes
    ----------
    patterns : dict of str -> ndarray of float64
        For each convolution and dense layer, by its name in the network, the
        pattern of each output unit, shaped like the layer's weight (batch
        norm folded in): the direction of the input that varies with the
        unit's output, in input units per unit of output.
    estimators : dict of str -> str
        How each layer's pattern was estimated: ``"two_component"`` for layers
        feeding a rectifier (statistics of the samples where the unit is
        active), ``"linear"`` for the others.
    weights : dict of str -> ndarray of float32
        The weights, batch norm folded in, that the patterns belong to; the
        methods refuse a network whose weights differ.
    n_epochs : int
        Number of epochs the statistics were computed from.
    """

    patterns: dict
    estimators: dict
    weights: dict
    n_epochs: int

    def __repr__(self):
        return (
            f"<NetworkPatterns | {len(self.patterns)} layer(s), learned from "
            f"{self.n_epochs} epochs>"
        )


def _feeding_rectifiers(network, inputs, layers):
    """Return the ``layers`` whose output a rectifier reads, at most reshaped.

    One forward pass records the autograd nodes of the layers' outputs and of
    the rectifiers' inputs; from each rectifier's input, the graph is walked
    down through operations that carry values unchanged (reshapes and crops,
    in ``forward`` or in modules such as braindecode's ``Ensure4d`` and
    ``Chomp1d``, copies included).
    """
    rectifiers = {layer for layer in network.modules() if isinstance(layer, RECTIFIERS)}
    _, calls, _, _ = _forward_with_layer_nodes(
        network, inputs[:1].detach().requires_grad_(), set(layers) | rectifiers
    )
    outputs = {node: layer for node, (layer, _) in calls.items() if layer in layers}
    fed = set()
    for layer, sources in calls.values():
        if layer not in rectifiers:
            continue
        for node in sources:
            while node is not None and node not in outputs:
                carrying = _CARRYING.fullmatch(type(node).__name__)
                node = node.next_functions[0][0] if carrying else None
            if node is not None:
                fed.add(outputs[node])
    return fed


def _user_network(network):
    """Return the user's network in ``network``: itself, or the one it feeds signals.

    :func:`~mne_xai.attribution.explain_spectrum` puts an inverse Fourier
    transform in front of the network (``FourierInput``), whose products by
    constants belong to the transform, not to the network.
    """
    # Imported here: the spectral module imports the methods it refuses.
    from .spectral import FourierInput

    return network.module if isinstance(network, FourierInput) else network


def prepare_network(module, inputs, method):
    """Copy ``module`` with batch norm folded, check it, and find its pattern layers.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is traced).
    method : str
        Name of the method, for error messages.

    Returns
    -------
    network : torch.nn.Module
        The copy, in evaluation mode, with parameters that do not require grad.
    layers : dict of str -> torch.nn.Module
        The convolution and dense layers of the copy, in call order, named as
        in the user's network (also behind explain_spectrum's inverse Fourier
        transform).
    estimators : dict of str -> str
        ``"two_component"`` for the layers whose output feeds a rectifier
        (directly, or through reshapes, crops and layers that return their
        input), ``"linear"`` for the others.
    """
    network = fold_batch_norms(module, inputs)
    # An in-place rectifier would overwrite the output the statistics need.
    in_place = [
        layer
        for layer in network.modules()
        if isinstance(layer, RECTIFIERS) and layer.inplace
    ]
    for layer in in_place:
        layer.inplace = False
    if in_place:
        with torch.no_grad():
            check_same_function_out_of_place(module(inputs), network(inputs))
    calls = trace_layers(network, inputs[:1])
    # Parameter-free modules of other libraries are judged by their
    # operations, as functions in forward are: reshapes carry the signal on
    # unchanged, as their gradient does.
    ruled = check_layers(network, inputs, calls, _SUPPORTED, method)
    check_computation(
        network,
        inputs,
        ruled,
        method,
        functional_ops=MAX_POOL_OPS,
    )
    pattern_calls = [call for call in calls if isinstance(call.module, PATTERN_LAYERS)]
    # The names the patterns are learned and looked up by: the user's, shown
    # in NetworkPatterns and in messages, the same behind any wrapper
    # (explain_spectrum's inverse Fourier transform, the input scaling).
    layers = [call.module for call in pattern_calls]
    named = {call.module: call.shown_name for call in pattern_calls}
    names = [named[call.module] for call in pattern_calls]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"{method} learns one pattern per layer, but layer(s) {repeated} are "
            "called more than once in a forward pass; give each call its own module."
        )
    fed = _feeding_rectifiers(network, inputs, set(layers))
    estimators = {
        named[call.module]: "two_component" if call.module in fed else "linear"
        for call in pattern_calls
    }
    return (
        network,
        {named[call.module]: call.module for call in pattern_calls},
        estimators,
    )


def _check_patterns(patterns, layers, method):
    """Refuse patterns that were not learned for these layers and weights."""
    if patterns is None:
        raise ValueError(
            f"{method} needs the patterns of the network's layers, learned from "
            "data: patterns = mne_xai.inspect.learn_patterns(estimator, epochs), "
            f"then explain(estimator, epochs, {method!r}, patterns=patterns) (as "
            "the base method of smoothgrad: base_params=dict(patterns=patterns))."
        )
    _validate_type(
        patterns, NetworkPatterns, "patterns", "NetworkPatterns (from learn_patterns)"
    )
    for name, layer in layers.items():
        learned = patterns.weights.get(name)
        weight = layer.weight.detach().cpu()
        if learned is None or learned.shape != tuple(weight.shape):
            problem = "has no pattern" if learned is None else "has another shape"
        elif not torch.allclose(torch.from_numpy(learned), weight, rtol=1e-4):
            problem = "had other weights"
        else:
            continue
        raise ValueError(
            f"The patterns were not learned for this network: layer {name!r} "
            f"{problem} when they were. Learn them for this estimator with "
            "mne_xai.inspect.learn_patterns(estimator, epochs)."
        )


def _backward_through(layer, weight):
    """Rule passing the backward signal through ``layer`` with ``weight`` in place of its own."""
    linear_map = _linear_map(layer, weight)

    def rule(x, z, grad):
        return _transpose(linear_map, grad, x)

    return rule


def _where_active(x, z, grad):
    # The two-component model puts the signal in the active regime only.
    return grad * (x > 0)


def _scale(node, index):
    """Return the constant ``c`` by which ``node`` scales its input at ``index``.

    Returns
    -------
    c : float | torch.Tensor
        The constant.
    dividing : bool
        Whether the input is divided by ``c`` rather than multiplied.
    """
    kind = type(node).__name__
    if kind.startswith("Div"):
        return node._saved_other, True
    if kind.startswith("Mul"):
        # The constant is the factor that does not depend on the input.
        return (node._saved_self if index == 1 else node._saved_other), False
    if kind.startswith("Neg"):
        return -1.0, False
    # self + alpha other, self - alpha other, other - alpha self (rsub): alpha
    # scales the second operand (the first in rsub), negated but in a sum.
    if index != (0 if kind.startswith("Rsub") else 1):
        return 1.0, False
    alpha = node._saved_alpha
    return (alpha if kind.startswith("Add") else -alpha), False


class _ScalingsInverted(nn.Module):
    """The network, with the backward pass of its scalings by constants inverted.

    A product ``x * c`` with a constant ``c`` (the estimators' input scaling)
    is a layer with one input per unit and weight ``c``, whose pattern is
    ``1 / c`` whatever the data; likewise ``d`` for ``x / d``, and ``-1`` for
    ``-x`` or ``b - x``. The gradient would multiply by ``c`` instead:
    PatternNet's signal would come back ``c²`` times too large, and
    PatternAttribution's relevance with the sign of ``c``. After each forward
    pass, hooks on these autograd nodes pass ``grad / c`` (PatternNet) or
    ``grad`` (PatternAttribution, ``c · 1/c``) to the operand that depends on
    the input.

    Parameters
    ----------
    network : torch.nn.Module
        The network.
    signal : bool
        Pass the signal (PatternNet) rather than the relevance.
    """

    def __init__(self, network, signal):
        super().__init__()
        self.network, self.signal = network, signal
        self.logits = None

    def forward(self, x):  # noqa: D102
        logits = self.network(x)
        # Kept to scale the backward pass without a second forward pass.
        self.logits = logits.detach()
        if logits.grad_fn is not None:
            nodes = _consumers(logits.grad_fn).keys()
            if x.grad_fn is not None:
                # What computed the input (explain_spectrum's inverse Fourier
                # transform, orthogonal as a whole) passes the signal as its
                # gradient, which is its inverse: its products are not the
                # network's.
                nodes -= _consumers(x.grad_fn).keys()
            for node in nodes:
                if _SCALINGS.fullmatch(type(node).__name__):
                    node.register_hook(self._inverse(node))
        return logits

    def _inverse(self, node):
        depends = [child is not None for child, _ in node.next_functions]
        if sum(depends) != 1:
            # A sum of two tensors of the input merges them, and passes the
            # backward signal on as its gradient.
            return lambda grad_inputs, grad_outputs: None
        index = depends.index(True)
        constant, dividing = _scale(node, index)

        def hook(grad_inputs, grad_outputs):
            (grad,) = grad_outputs
            factor = torch.as_tensor(constant, dtype=grad.dtype, device=grad.device)
            if not self.signal:
                passed = grad if dividing else grad * (factor != 0)
            elif dividing:
                passed = grad * factor
            else:
                passed = torch.where(factor != 0, grad / factor, 0.0)
            passed = passed.sum_to_size(grad_inputs[index].shape)
            return tuple(
                passed if position == index else value
                for position, value in enumerate(grad_inputs)
            )

        return hook


class _PatternPropagation(AttributionMethod):
    """Base of the pattern methods: the logit passed back through patterns."""

    layerwise = True
    propagation_rules = True
    signal = None
    _prepared = None

    def _prepare(self, inputs, patterns):
        if isinstance(self.module, WindowAverage):
            # The backward pass through the mean of the windows would start
            # every window from the epoch's mean logit: maps of the wrong sign
            # where that mean and a window's logit differ in sign.
            raise ValueError(
                f"{self.name} passes each window's own logit back through the "
                "patterns, and a CroppedClassifier explains the mean of the "
                "windows' logits, which is not what passes back. Use a gradient "
                "or relevance method (e.g. integrated_gradients or lrp_epsilon), "
                "or explain the window network (cropped.estimator_) on epochs "
                "cropped to one window."
            )
        network, layers, _ = prepare_network(self.module, inputs, self.name)
        _check_patterns(patterns, layers, self.name)
        rules = {}
        for name, layer in layers.items():
            pattern = torch.as_tensor(patterns.patterns[name]).to(layer.weight)
            # PatternNet passes the signal through the patterns,
            # PatternAttribution the relevance through weights times patterns.
            weight = pattern if self.signal else layer.weight * pattern
            rules[layer] = _backward_through(layer, weight)
        rules.update(
            (layer, _where_active)
            for layer in network.modules()
            if isinstance(layer, RECTIFIERS)
        )
        # Behind explain_spectrum's inverse Fourier transform, the network's
        # own products by constants are inverted, not the transform's.
        scalings = _ScalingsInverted(_user_network(network), self.signal)
        if scalings.network is network:
            return scalings, scalings, rules
        network.module = scalings
        return network, scalings, rules

    def attribute(self, inputs, target, *, patterns=None):
        """Pass each epoch's target logit back through the patterns.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        patterns : NetworkPatterns
            The patterns of the network's layers, from
            :func:`mne_xai.inspect.learn_patterns`. Required.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The map (see the class for its unit).
        """
        # One preparation (fold, check, rules) per patterns, shared by batches.
        if self._prepared is None or self._prepared[0] is not patterns:
            self._prepared = (patterns, *self._prepare(inputs, patterns))
        _, network, scalings, rules = self._prepared
        backward = target_gradient(network, inputs, target, rules)
        logit = scalings.logits.gather(1, target.reshape(-1, 1).to(inputs.device))
        return backward * logit.reshape((-1,) + (1,) * (inputs.ndim - 1))


_NOTES = """Notes
    -----
    Patterns come from data, not from the network alone: learn them with
    :func:`mne_xai.inspect.learn_patterns` on the training epochs (as
    Kindermans et al. do), or on any representative set, and pass them as
    ``patterns``; both methods refuse to run without them, and refuse
    patterns learned for other weights. Learned on the explained epochs
    themselves, the maps describe those epochs' statistics, and each epoch's
    map still does not depend on ``batch_size``. Conclusions hold for the
    distribution the patterns were learned on: patterns from a few dozen
    epochs are noisy for dense layers, whose units see every sample of an
    epoch (a convolution's units pool statistics over positions).

    The network is explained in evaluation mode through a copy with batch
    norm folded into its neighbouring layers. Each convolution and dense
    layer passes the backward signal through its patterns; a layer feeding a
    ReLU, LeakyReLU or ELU gets the two-component estimator, the others
    (e.g. EEGNet's temporal convolution, which feeds the spatial one) the
    linear estimator. At the rectifiers the signal passes where the unit was
    active (input above zero), as the two-component model puts no signal in
    the negative branch (also ELU's). Pooling, dropout, padding and reshapes
    (also in parameter-free modules of other libraries, such as braindecode's
    ``Ensure4d``) pass it as their gradient, as in the original method;
    products with a constant (the estimators' input scaling), and negations
    or differences with one (``-x``, ``b - x``), pass it through their exact
    pattern, the inverse of the constant. Other layers, and
    nonlinear operations or layers with weights called as functions in
    ``forward``, are refused."""


@register_method
class PatternNet(_PatternPropagation):
    """PatternNet: the signal behind the decision :footcite:`KindermansEtAl2018`.

    The target logit ``y`` is passed back through the network with each
    layer's weights replaced by its patterns: for a network ``y = wᵀx + b``
    the map is ``a y``, the part of the epoch along the pattern ``a`` that
    the network's filter ``w`` reads out, and what the network took as the
    signal. Values are in the unit of the input (volts for MNE data), up to
    the gain of average pooling, which passes the signal back as its
    gradient (divided by the pool size). Unlike gradients, the map does not
    show how the network cancels noise; unlike gradient × input, it is not a
    contribution and does not add up to the logit.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "pattern_net"
    unit = "{input}"
    signal = True


@register_method
class PatternAttribution(_PatternPropagation):
    """PatternAttribution: contributions relative to the estimated noise :footcite:`KindermansEtAl2018`.

    The target logit ``y`` is passed back with each layer's weights replaced
    by ``w ⊙ a``, weights times patterns. This is LRP whose root point is the
    epoch minus its estimated signal (``x₀ = x − a wᵀx`` per unit): the
    contribution of each input sample, through its signal only, to the
    logit. For a network ``y = wᵀx + b`` the map is ``w ⊙ a y``, and it adds
    up to ``y`` since ``wᵀa = 1``. Values are in logit units.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "pattern_attribution"
    unit = "logit"
    signal = False


for _method in (PatternNet, PatternAttribution):
    _method.__doc__ = _method.__doc__ % {"notes": _NOTES}
