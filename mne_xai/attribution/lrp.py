"""Layer-wise relevance propagation (LRP): the ε, z+ and αβ rules and a composite.

The network is copied with batch norm folded into its neighbouring layers,
then one forward and one backward pass carry the target logit down to the
input, each layer redistributing the relevance of its outputs to its inputs
by its rule (see :mod:`mne_xai.attribution._propagation` for the machinery).
"""

from functools import partial

import torch
import torch.nn.functional as F
from mne.utils import _check_option, _validate_type
from torch import nn

from .._docs import fill_doc
from .._graph import (
    AVERAGE_POOLING,
    CONVOLUTIONS,
    DENSE,
    MAX_POOLING,
    RECTIFIERS,
    SHAPE_ONLY,
    input_gradient,
    outputs_held,
    trace_layers,
)
from ._propagation import (
    MAX_POOL_OPS,
    MOVING_OPS,
    _consumers,
    _depending_on,
    _operation_name,
    _walk_depending,
    check_computation,
    check_layers,
    fold_batch_norms,
    node_kind,
    target_gradient,
)
from ._registry import AttributionMethod, register_method

# Only keeps denominators away from zero; relevance that would be divided by
# an exact zero has no contributions to go to and is dropped.
_STABILIZER = 1e-9
# Reshapes, dropout (identity in evaluation mode), max pooling and upsampling,
# whose ordinary gradient already passes relevance on unchanged (max pooling
# gives it all to the winning input) or in proportion to the contributions of
# the samples upsampling interpolates (LRP-0, as average pooling has).
_GRADIENT_LAYERS = SHAPE_ONLY + MAX_POOLING + (nn.Upsample,)
_SUPPORTED = DENSE + CONVOLUTIONS + AVERAGE_POOLING + RECTIFIERS + _GRADIENT_LAYERS
_CONV_RULES = ("zplus", "alpha1_beta0", "alpha2_beta1", "epsilon")
# First-layer rules whose relevance does not depend on the input's values.
_INPUT_FREE_RULES = ("wsquare", "flat")
_FIRST_RULES = _INPUT_FREE_RULES + _CONV_RULES
#: Autograd operations each of whose output values is one value of their input,
#: moved, copied, scaled, rectified without zeroing it or picked by max pooling:
#: through them a relevance per unit of the first layer's input goes back to one
#: EEG sample. (Adding a constant, or multiplying two tensors of the input, is
#: refused by :func:`~mne_xai.attribution._propagation.check_computation`.)
_ONE_TO_ONE_OPS = MOVING_OPS | MAX_POOL_OPS | {"Mul", "Div", "LeakyRelu", "Elu"}
#: Operations that set values of their input to zero: the input-free rules give
#: the zeros relevance, which divided by zero is lost on the way to the EEG.
_ZEROING_OPS = {"Relu"}


def _stabilize(denominator, epsilon):
    """Move ``denominator`` away from zero by ``epsilon``, keeping its sign."""
    return denominator + epsilon * (2.0 * (denominator >= 0) - 1.0)


def _linear_map(layer, weight):
    """Return the layer's map with ``weight`` and no bias, as a function."""
    if isinstance(layer, nn.Linear):
        return partial(F.linear, weight=weight)
    return partial(layer._conv_forward, weight=weight, bias=None)


def _calls_reading_the_input(network, inputs, calls):
    """Say of each call of a weighted layer what its input comes from.

    Its input comes from the EEG through no other convolution or dense layer
    (scaling and padding may come between): it gets the composite's
    first-layer rule. Parallel branches on the input (inception modules) have
    several such calls; counting only the first called gave the others the
    rule of the deep layers, z+ on the raw EEG. An input that mixes the EEG
    with deeper features (a skip connection from the input, or the EEG
    concatenated to them) is neither: one rule cannot be both.

    With every weighted layer's output held constant (a leaf of its own), a
    call's input depends on the network's input only through no weighted
    layer, and on the held outputs only through a weighted layer.

    Returns
    -------
    reads : dict of torch.nn.Module to list of (str, str | None)
        For each weighted layer, per call in the order of calls, one of
        "input", "features" or "both", and for "input" the kind and name of
        an operation by which the call's input mixes or zeroes samples of the
        EEG (see :func:`_operation_not_one_to_one`), else None.
    """
    weighted = {
        call.module for call in calls if isinstance(call.module, DENSE + CONVOLUTIONS)
    }
    received = {layer: [] for layer in weighted}

    def record(layer, args):
        received[layer].append(args[0])

    def source(tensor, example, held_outputs):
        from_input = input_gradient(tensor, example) is not None
        from_features = tensor.requires_grad and any(
            gradient is not None
            for gradient in torch.autograd.grad(
                tensor.sum(), held_outputs, retain_graph=True, allow_unused=True
            )
        )
        if from_input and from_features:
            return "both", None
        if from_input:
            return "input", _operation_not_one_to_one(tensor, example)
        return "features", None

    handles = [layer.register_forward_pre_hook(record) for layer in weighted]
    example = inputs[:1].detach().requires_grad_()
    try:
        with outputs_held(weighted) as held_outputs, torch.enable_grad():
            network(example)
            return {
                layer: [source(tensor, example, held_outputs) for tensor in tensors]
                for layer, tensors in received.items()
            }
    finally:
        for handle in handles:
            handle.remove()


def _operation_not_one_to_one(tensor, example):
    """Name an operation by which values of ``tensor`` mix or zero samples of ``example``.

    The input-free first-layer rules (w², flat) hand a relevance per unit of
    the first layer's input down as a gradient, for the EEG sample to
    multiply back. That holds where each value of that input is one EEG
    sample, moved or scaled (:data:`_ONE_TO_ONE_OPS`). A sum of samples
    (centering ``x - x.mean(-1, keepdim=True)``, a common average reference,
    average pooling, a linear interpolation) passes the relevance on by
    LRP-0, divided by the mixed value, which is near zero where the samples
    are not: the map then follows that division, not the rule. A rectifier
    (ReLU) passes its relevance on unchanged, but divided by the zeros it
    makes, the relevance the rule gives them is lost.

    Returns
    -------
    operation : tuple of (str, str) | None
        The kind (``"Relu"``) and the name of the first such operation found
        walking down from ``tensor``, or None.
    """
    if tensor.grad_fn is None:
        return None
    depending = _depending_on(_consumers(tensor.grad_fn), example)
    for node in _walk_depending(tensor.grad_fn, depending):
        kind = node_kind(node)
        if kind not in _ONE_TO_ONE_OPS:
            return kind, f"{_operation_name(kind)!r} ({type(node).__name__})"
    return None


def _transpose(linear_map, signal, like):
    """Apply the transpose of ``linear_map`` to ``signal``, giving ``like``'s shape."""
    probe = torch.zeros_like(like, requires_grad=True)
    with torch.enable_grad():
        (transposed,) = torch.autograd.grad(linear_map(probe), probe, signal)
    return transposed


# Every rule maps (layer input x, layer output z, incoming gradient c) to the
# gradient at the input, so that the relevance of the outputs, z * c, is
# redistributed as the relevance of the inputs, x * c_input.


def _epsilon_rule(layer, *, epsilon):
    weights = (
        layer
        if isinstance(layer, AVERAGE_POOLING)
        else _linear_map(layer, layer.weight)
    )

    def rule(x, z, grad):
        return _transpose(weights, z * grad / _stabilize(z, epsilon), x)

    return rule


def _alpha_beta_rule(layer, *, alpha, beta, with_bias):
    positive = _linear_map(layer, layer.weight.clamp(min=0))
    negative = _linear_map(layer, layer.weight.clamp(max=0))
    bias = torch.zeros((), device=layer.weight.device)
    if with_bias and layer.bias is not None:
        bias = layer.bias.reshape((-1,) + (1,) * (layer.weight.ndim - 2))

    def rule(x, z, grad):
        relevance = z * grad
        x_positive, x_negative = x.clamp(min=0), x.clamp(max=0)
        # Positive contributions are x+ w+ and x- w-; negative ones x+ w- and x- w+.
        excitation = positive(x_positive) + negative(x_negative) + bias.clamp(min=0)
        excited = alpha * relevance / _stabilize(excitation, _STABILIZER)
        from_positive = _transpose(positive, excited, x)
        from_negative = _transpose(negative, excited, x)
        if beta:
            inhibition = negative(x_positive) + positive(x_negative) + bias.clamp(max=0)
            inhibited = beta * relevance / _stabilize(inhibition, _STABILIZER)
            from_positive = from_positive - _transpose(negative, inhibited, x)
            from_negative = from_negative - _transpose(positive, inhibited, x)
        return torch.where(x > 0, from_positive, from_negative)

    return rule


def _input_free_rule(layer, *, transform):
    # Relevance follows transform(weight) alone: the input does not enter.
    weights = _linear_map(layer, transform(layer.weight))

    def rule(x, z, grad):
        ones = torch.ones_like(x)
        share = z * grad / _stabilize(weights(ones), _STABILIZER)
        relevance = _transpose(weights, share, x)
        # In the gradient convention the input multiplies this back; an input
        # sample that is exactly zero cannot carry relevance.
        return torch.where(x == 0, 0.0, relevance / x)

    return rule


def _pass_rule(x, z, grad):
    # The activation's output keeps its input's relevance: in the gradient
    # convention the gradient is scaled by f(x) / x rather than f'(x).
    return grad * torch.where(x == 0, 0.0, z / x)


def _rule(name, epsilon):
    """Return the factory (layer -> backward rule) of the rule called ``name``."""
    if name == "epsilon":
        return partial(_epsilon_rule, epsilon=epsilon)
    return {
        "zplus": partial(_alpha_beta_rule, alpha=1.0, beta=0.0, with_bias=False),
        "alpha1_beta0": partial(_alpha_beta_rule, alpha=1.0, beta=0.0, with_bias=True),
        "alpha2_beta1": partial(_alpha_beta_rule, alpha=2.0, beta=1.0, with_bias=True),
        "wsquare": partial(_input_free_rule, transform=torch.square),
        "flat": partial(_input_free_rule, transform=torch.ones_like),
    }[name]


def _check_epsilon(epsilon):
    _validate_type(epsilon, "numeric", "epsilon")
    if not 0 < epsilon < float("inf"):  # inf gave maps of zeros
        raise ValueError(
            f"epsilon must be a finite positive number, got {epsilon!r}; use a "
            "tiny value such as 1e-9 for LRP-0."
        )


class _RelevancePropagation(AttributionMethod):
    """Base of the LRP methods: prepares the network once, then propagates."""

    unit = "logit"
    layerwise = True
    propagation_rules = True
    from_zero = True

    def __init__(self, module):
        super().__init__(module)
        self._network = None

    def _prepare(self, inputs):
        """Fold batch norm into a copy of the module and name each layer's role."""
        network = fold_batch_norms(self.module, inputs)
        calls = trace_layers(network, inputs[:1])
        ruled = check_layers(network, inputs, calls, _SUPPORTED, self.name)
        check_computation(
            network,
            inputs,
            ruled,
            self.name,
            functional_ops=MAX_POOL_OPS,
            refuse_shifts=True,
        )
        roles, reading_both, reading_altered = {}, {}, {}
        reads = _calls_reading_the_input(network, inputs, calls)
        for call in calls:
            if isinstance(call.module, DENSE + CONVOLUTIONS):
                dense = isinstance(call.module, DENSE)
                source, altering = reads[call.module].pop(0)
                role = "first" if source == "input" else "dense" if dense else "conv"
                if source == "both":
                    reading_both[call.module] = call.shown_name
                if altering is not None:
                    reading_altered[call.shown_name] = altering
            elif isinstance(call.module, AVERAGE_POOLING):
                role = "pool"
            elif isinstance(call.module, RECTIFIERS):
                role = "activation"
            else:
                continue
            # Rules are attached to modules: one called as the first layer and
            # again deeper would get a single rule for both places.
            if roles.setdefault(call.module, role) != role:
                raise ValueError(
                    f"{self.name} applies one rule per layer, but layer "
                    f"{call.shown_name!r} is called both as the network's first layer "
                    "and deeper in it; give each call its own module."
                )
        return network, roles, reading_both, reading_altered

    def _propagate(self, inputs, target, *, first, conv, dense, epsilon):
        """Relevance of each input sample for the target logit, by rule names."""
        if self._network is None:
            self._network = self._prepare(inputs)
        network, roles, reading_both, reading_altered = self._network
        if first in _INPUT_FREE_RULES and reading_altered:
            name, (kind, operation) = next(iter(reading_altered.items()))
            rule_text = (
                f"{self.name}'s first-layer rule {first!r} gives each value of the "
                "first layer's input a relevance that does not depend on it, for "
                "the EEG sample it comes from to multiply back; but layer "
                f"{name!r} reads the EEG"
            )
            if kind in _ZEROING_OPS:
                raise ValueError(
                    f"{rule_text} rectified by the operation {operation} in "
                    "forward, so the relevance the rule gives the values it set "
                    "to zero would be divided by zero and lost, and the map would "
                    "hold only part of the logit. Use first_rule='epsilon' or "
                    "'zplus', which give the zeroed values no relevance."
                )
            raise ValueError(
                f"{rule_text} mixed by the operation {operation} in "
                "forward (e.g. centering or re-referencing, x - x.mean(...), or "
                "average pooling), so the relevance would be divided by mixed "
                "values that can be near zero, and the map would follow that "
                "division rather than the rule. Center or re-reference the data "
                "before the network, or use first_rule='epsilon' or 'zplus'."
            )
        rule_names = {"first": first, "conv": conv, "dense": dense}
        for layer, name in reading_both.items():
            if rule_names[roles[layer]] != first:
                raise ValueError(
                    f"{self.name} gives the layers reading the EEG the rule "
                    f"{first!r} and the deeper {roles[layer]} layers "
                    f"{rule_names[roles[layer]]!r}, but layer {name!r} reads both "
                    "the EEG and deeper features (a skip connection from the "
                    "input, or the input concatenated to features). Use one rule "
                    "for both (e.g. first_rule equal to the other rules, or "
                    "'lrp_epsilon'), or a gradient method such as "
                    "integrated_gradients."
                )
        factories = {
            "first": _rule(first, epsilon),
            "conv": _rule(conv, epsilon),
            "dense": _rule(dense, epsilon),
            # Pooling has no learned weights to denoise, and under z+ or αβ it
            # would lose (or, without negative inputs, double) relevance: it
            # splits relevance in proportion to its inputs (ε as stabilizer).
            "pool": _rule("epsilon", _STABILIZER),
            "activation": lambda layer: _pass_rule,
        }
        rules = {layer: factories[role](layer) for layer, role in roles.items()}
        return inputs.detach() * target_gradient(network, inputs, target, rules)


_DOCS = {
    "notes": """Notes
    -----
    The network is explained in evaluation mode through a copy in which batch
    norm is folded into the preceding convolution or dense layer (or, after a
    nonlinearity, into the next dense layer through pooling), so no relevance
    is spent on it. ReLU, LeakyReLU and ELU pass relevance through unchanged,
    the standard treatment of pointwise monotonic activations (they neither
    mix units nor change which inputs drove a unit), including ELU's negative
    branch, whose units keep the relevance they receive; dropout,
    reshapes and the networks' input scaling pass it through too, as do
    modules of other libraries or of the user that hold no parameters and
    only reshape (braindecode's ``Ensure4d``, einops' ``Rearrange``). Padding,
    as a module or as ``torch.nn.functional.pad``, passes relevance on as its
    gradient: reflected or replicated samples give theirs back to the samples
    they copy; padding with a constant other than zero acts as a bias, whose
    relevance is absorbed. Upsampling (``nn.Upsample`` or
    ``torch.nn.functional.interpolate``, nearest or linear) gives each sample
    the relevance of the samples copied or interpolated from it, in proportion
    to its share of them. Average
    pooling, a linear layer with fixed weights, splits relevance in proportion
    to its inputs under every rule (z+ and αβ would drop or double it there);
    max pooling gives it to the winning input. The logit is explained, not a
    softmax. Other layers are refused with an error, and so are nonlinear
    operations and layers with weights that ``forward`` calls as functions
    (``torch.nn.functional.elu``, ``torch.nn.functional.conv2d``): the rules
    apply to modules.""",
    "alpha_beta": """Each layer splits its output relevance into α times along
    the positive contributions ``x_j w_jk > 0`` and -β times along the negative
    ones, each in proportion within its group, as Bach et al. define it: a
    positive bias counts among the positive contributions and a negative one
    among the negative, so biases absorb part of the relevance. Without biases
    it is conserved (α - β = 1) wherever a unit has contributions of both
    signs; a unit with one kind only passes on α or -β times its relevance.
    Values are in units of the logit.""",
}


def _fill_doc(cls):
    """Fill the ``%(key)s`` placeholders of a class docstring from ``_DOCS``."""
    cls.__doc__ = cls.__doc__ % _DOCS
    return cls


@register_method
@_fill_doc
class LRPEpsilon(_RelevancePropagation):
    """LRP with the ε rule at every layer :footcite:`BachEtAl2015,MontavonEtAl2019`.

    Each convolution and dense layer gives its output relevance back to its
    inputs in proportion to their contributions ``x_j w_jk`` to the output
    ``z_k``, with ``ε`` added to the denominator's magnitude: the part ``ε /
    (|z_k| + ε)`` of the relevance, and whatever a bias contributed, is
    absorbed, which damps the relevance of weak, noisy outputs. Values are in
    units of the logit; without biases they sum over channels and times to the
    logit minus the absorbed part. With ``ε → 0`` this is LRP-0, equal to
    gradient × input on bias-free ReLU networks.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "lrp_epsilon"

    @fill_doc
    def attribute(self, inputs, target, *, epsilon=0.01):
        """Return the LRP-ε relevance.

        Parameters
        ----------
        %(inputs_target)s
        epsilon : float
            The stabilizer, in the unit of the layers' outputs (batch norm keeps
            them of order one in these networks). Positive.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Relevance of each sample, in units of the logit.
        """
        _check_epsilon(epsilon)
        return self._propagate(
            inputs,
            target,
            first="epsilon",
            conv="epsilon",
            dense="epsilon",
            epsilon=epsilon,
        )


@register_method
class LRP(LRPEpsilon):
    """LRP, by default the ε rule: the same as ``"lrp_epsilon"``.

    The LRP of Cui et al. and of Sujatha Ravindran & Contreras-Vidal is
    captum's default, the ε rule at every layer; this keeps their results
    comparable, and signed relevance suits EEG, where a sample can argue for
    or against a class. captum's ε is 1e-9, this one's 0.01, which absorbs a
    share of the relevance that varies from epoch to epoch: EEGNet's and
    InterpretableCNN's maps of EEGBCI imagery (subject 1, hands vs feet),
    trained at their defaults, hold about a fifth less relevance (summed
    magnitudes) than with ε = 1e-9 on the median epoch, and 5 to 35 percent
    less on single epochs (the share varies with the training). Pass
    ``epsilon=1e-9`` to reproduce their maps. See :class:`LRPEpsilon`, and
    ``"lrp_composite"`` for the composite rules recommended for deeper image
    networks.
    """

    name = "lrp"


@register_method
@_fill_doc
class LRPZPlus(_RelevancePropagation):
    """LRP with the z+ rule at every layer :footcite:`MontavonEtAl2017`.

    Each layer gives its output relevance back only along positive
    contributions (``x_j w_jk > 0``, i.e. positive inputs through positive
    weights and negative inputs through negative weights), in proportion to
    them; biases are ignored, so relevance is conserved from the logit to the
    input. Values are in units of the logit and, on ReLU networks, share its
    sign: a positive logit yields a non-negative map (a CroppedClassifier's
    windows each keep the sign of their own logit). This is αβ with α=1,
    β=0 without biases. Relevance is lost only where a unit receives no
    positive contribution at all (negative inputs through negative weights
    count as positive). Units reading many inputs rarely do: on EEGBCI
    imagery (subject 1, hands vs feet), EEGNet's maps lose up to about 1
    percent of the largest logit (0.1 to 1.3 percent, with the training),
    and InterpretableCNN's conserve it. InterpretableCNN
    of one channel, whose pointwise convolution feeds the depthwise one
    without a rectifier between them, one input per unit, loses about half
    the logit; the map then sums to less than the logit.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "lrp_zplus"

    @fill_doc
    def attribute(self, inputs, target):
        """Return the LRP-z+ relevance.

        Parameters
        ----------
        %(inputs_target)s

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Relevance of each sample, in units of the logit.
        """
        return self._propagate(
            inputs, target, first="zplus", conv="zplus", dense="zplus", epsilon=None
        )


class _AlphaBeta(_RelevancePropagation):
    """Base of the αβ methods, whose rule name is ``name`` without ``lrp_``."""

    @fill_doc
    def attribute(self, inputs, target):
        """Return the LRP-αβ relevance.

        Parameters
        ----------
        %(inputs_target)s

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Relevance of each sample, in units of the logit.
        """
        rule = self.name.removeprefix("lrp_")
        return self._propagate(
            inputs, target, first=rule, conv=rule, dense=rule, epsilon=None
        )


@register_method
@_fill_doc
class LRPAlpha2Beta1(_AlphaBeta):
    """LRP with the αβ rule, α=2 and β=1, at every layer :footcite:`BachEtAl2015`.

    %(alpha_beta)s Samples that argue against the class get negative relevance,
    so the map shows both sides.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "lrp_alpha2_beta1"


@register_method
@_fill_doc
class LRPAlpha1Beta0(_AlphaBeta):
    """LRP with the αβ rule, α=1 and β=0, at every layer :footcite:`BachEtAl2015`.

    %(alpha_beta)s Only positive contributions receive relevance; this differs
    from ``"lrp_zplus"`` only by the relevance positive biases absorb.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "lrp_alpha1_beta0"


@register_method
@_fill_doc
class LRPComposite(_RelevancePropagation):
    """LRP with a rule per kind of layer :footcite:`KohlbrennerEtAl2020`.

    Dense layers use the ε rule, which keeps the signed, class-specific
    relevance of the top layers; convolutions use ``conv_rule`` (z+ or αβ,
    which give smoother maps resting on positive evidence); the first layer,
    which sees the EEG, uses ``first_rule`` (every layer that reads it, in
    parallel branches on the input). A layer reading both the EEG and deeper
    features (a skip connection from the input) is refused unless its two
    rules are one. The default w² rule
    :footcite:`MontavonEtAl2017` suits inputs that are real-valued and
    unbounded, as EEG is: a sample's relevance then follows the squared
    weights of the first layer (its bias is left out, as in the published
    rule; zennit's ``WSquare`` squares it too) and not the sign of the data.
    With ``first_rule="flat"``, ``conv_rule="alpha1_beta0"`` and
    ``epsilon=1e-6`` (zennit's default, where this one is 0.01) this is
    zennit's ``EpsilonPlusFlat`` (its ``ZPlus`` counts positive biases, which
    ``conv_rule="zplus"`` leaves out). Values are in
    units of the logit. Under ``first_rule="wsquare"`` or ``"flat"``, a
    sample exactly equal to zero gets no relevance (the rule's relevance is
    handed down as a gradient, to be multiplied by the sample again), and a
    network that mixes the EEG's samples in ``forward`` before the first
    layer (centering, a common average reference, average pooling) is
    refused: the relevance would be divided by the mixed values. So is one
    that rectifies them there (a ReLU), whose zeros would lose the relevance
    the rule gives them. Mix the data before the network, or use
    ``first_rule="epsilon"`` or ``"zplus"``.

    %(notes)s

    References
    ----------
    .. footbibliography::
    """

    name = "lrp_composite"

    @fill_doc
    def attribute(
        self, inputs, target, *, epsilon=0.01, conv_rule="zplus", first_rule="wsquare"
    ):
        """Return the composite LRP relevance.

        Parameters
        ----------
        %(inputs_target)s
        epsilon : float
            The stabilizer of the ε rule on dense layers (and wherever
            ``"epsilon"`` is chosen). Positive.
        conv_rule : "zplus" | "alpha1_beta0" | "alpha2_beta1" | "epsilon"
            The rule of the convolutions after the first layer.
        first_rule : "wsquare" | "flat" | "zplus" | "alpha1_beta0" | "alpha2_beta1" | "epsilon"
            The rule of the first convolution or dense layer. ``"flat"``
            spreads relevance evenly over the samples each output sees.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Relevance of each sample, in units of the logit.
        """  # noqa: E501
        _check_epsilon(epsilon)
        _check_option("conv_rule", conv_rule, _CONV_RULES)
        _check_option("first_rule", first_rule, _FIRST_RULES)
        return self._propagate(
            inputs,
            target,
            first=first_rule,
            conv=conv_rule,
            dense="epsilon",
            epsilon=epsilon,
        )
