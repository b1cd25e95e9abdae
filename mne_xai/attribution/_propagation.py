"""Machinery of propagation methods: modified backward passes, batch-norm folding.

Guided backprop, deconvolution and LRP replace the backward pass of some layers
while leaving the forward pass untouched. Here every such layer call gets a
forward hook that routes its output through :class:`_ModifiedBackward`, an
autograd function with the layer's own output and a backward given by the
method. Everything else (reshapes, the input scaling of the networks) keeps
its ordinary gradient, so one forward and one backward pass explain a batch.

The backward functions work in the *gradient convention* of captum and zennit:
the tensor flowing backward is a relevance per unit of activation, ``c``, and
the relevance of an activation ``a`` is ``a * c``. The input's relevance is
therefore ``inputs * gradient``, and elementwise scalings (``x *
input_scale``) and reshapes between layers pass relevance through unchanged.

Rules are attached to modules, so an operation a network applies as a
function in its ``forward`` (``torch.nn.functional.elu(x)``) would keep its
plain gradient. :func:`check_computation` walks the autograd graph of one
forward pass and refuses such operations, for every method with rules.
"""

import copy
import re
import types
from contextlib import contextmanager

import torch
from torch import nn
from torch.overrides import resolve_name

from .._data_checks import check_outputs_finite
from .._graph import (
    ADAPTIVE_MAX_POOLING,
    AVERAGE_POOLING,
    BATCH_NORMS,
    COMPUTING_METHODS,
    CONVOLUTIONS,
    DENSE,
    PADDING,
    PASS_THROUGH,
    EagerFunctionMode,
    batch_norm_affine,
    copy_module,
    foreign_parameter_free,
    full_float32,
    has_own_forward,
    input_gradient,
    layer_kinds_text,
    named_layers,
    outputs_agree,
    runs_hooks,
    shown_layer_name,
    shown_layer_names,
    tensors_in,
    trace_layers,
    without_parametrizations,
    wrapped_network,
)
from ._registry import methods_without_gradient, other_methods_note

#: Layers that are linear maps of their input and keep channels apart, through
#: which batch norm can be folded into the next dense layer. Flatten, but not
#: Unflatten: the dense layer must read the features as one axis.
_CHANNELWISE_LINEAR = AVERAGE_POOLING + PASS_THROUGH + (nn.Flatten,)


def check_layers(module, inputs, calls, supported, method):
    """Refuse a network with a layer the method has no rule for.

    Layers without parameters that are not PyTorch's (braindecode's
    ``Ensure4d``, einops' ``Rearrange``, a user's ``Squeeze``) need no rule:
    their operations are left to :func:`check_computation`, which accepts
    reshapes and other linear operations and refuses the rest by name (the
    rules pass the gradient through such operations unchanged). So are padding
    layers and adaptive max pooling: each is a call of one function
    (``torch.nn.functional.pad``, ``torch.nn.functional.adaptive_max_pool1d``),
    judged as that call is in ``forward``. Nor does a layer whose output is
    computed without the input (see :func:`_computed_without_input`): an
    embedding of fixed indices (braindecode's ``BIOT`` and ``EEGPT`` embed
    the channels' numbers) is a constant, as a buffer or parameter is, and
    what the network does with it is judged by :func:`check_computation`
    (adding it is a shift, which LRP refuses).

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is run if a layer has no rule).
    calls : list of LayerCall
        Its leaf-module calls (from :func:`~mne_xai._graph.trace_layers`).
    supported : tuple of type
        Layer types the method handles (subclasses included).
    method : str
        Name of the method, for the error message.

    Returns
    -------
    layers : list of torch.nn.Module
        The layers of ``calls`` that the method's rules handle, for
        :func:`check_computation`.
    """
    handled = [call.module for call in calls if isinstance(call.module, supported)]
    unhandled = [
        call
        for call in calls
        if not isinstance(call.module, supported + PADDING + ADAPTIVE_MAX_POOLING)
        and not foreign_parameter_free(call.module)
    ]
    if unhandled:
        constant = _computed_without_input(
            module, inputs, {call.module for call in unhandled}
        )
        for call in unhandled:
            if call.module not in constant:
                allowed = layer_kinds_text(supported)
                raise ValueError(
                    f"{method} has no rule for layer {call.shown_name!r} "
                    f"({type(call.module).__name__}); it handles {allowed}. "
                    f"{other_methods_note()}"
                )
    # Parameters of a container are used by its own forward, out of our sight.
    leaves = {layer for _, layer in named_layers(module)}
    for name, child in named_layers(module, "parameterized"):
        if child not in leaves:
            raise ValueError(
                f"{method} cannot see how module {shown_layer_name(name, module)!r} "
                f"({type(child).__name__}) "
                "uses its own parameters (its rules need layer modules whose "
                f"computation they know). {other_methods_note()}"
            )
    return handled


#: Autograd operations each of whose output values is one value of their input,
#: moved, copied or negated (or a padding constant): reshapes, selections,
#: joins, copies, padding and nearest upsampling.
MOVING_OPS = frozenset(
    {
        "AccumulateGrad",
        "View",
        "UnsafeView",
        "ReshapeAlias",
        "AsStrided",
        "Unfold",
        "Permute",
        "Transpose",
        "T",
        "Squeeze",
        "Unsqueeze",
        "Expand",
        "Repeat",
        "Flip",
        "Roll",
        "Slice",
        "Select",
        "Index",
        "IndexSelect",
        "Cat",
        "Stack",
        "Split",
        "SplitWithSizes",
        "Unbind",
        "Clone",
        "ToCopy",
        "ConstantPadNd",
        "ReflectionPad1D",
        "ReflectionPad2D",
        "ReplicationPad1D",
        "ReplicationPad2D",
        "Neg",
        "UpsampleNearest1D",
        "UpsampleNearest2D",
        "UpsampleNearest3D",
        "UpsampleNearestExact1D",
        "UpsampleNearestExact2D",
        "UpsampleNearestExact3D",
    }
)
#: Autograd operations linear in the input and without weights of their own:
#: they move, select, copy, add, negate or average values. Their ordinary
#: gradient is what every method's rules do there (LRP's rules for sums and
#: average pooling included: relevance in proportion to the values).
#: ``AccumulateGrad`` is the input itself. Indexing is taken to use fixed
#: indices: indices computed from the input (an argmax) carry no gradient and
#: cannot be seen. The Fourier transforms and complex packing of
#: :func:`~mne_xai.attribution.explain_spectrum` are fixed orthogonal maps, through
#: which LRP passes relevance by LRP-0, as DFT-LRP does.
_PLAIN_LINEAR_OPS = MOVING_OPS | {
    "Add",
    "Sub",
    "Rsub",
    "Sum",
    "Mean",
    "AvgPool2D",
    "AvgPool3D",
    "AdaptiveAvgPool2D",
    "AdaptiveAvgPool3D",
    # Linear upsampling interpolates samples with fixed weights.
    "UpsampleLinear1D",
    "UpsampleBilinear2D",
    "UpsampleTrilinear3D",
    "FftR2C",
    "FftC2R",
    "FftC2C",
    "Complex",
    "ViewAsReal",
    "ViewAsComplex",
}
#: Products, with the positions in ``next_functions`` of their factors: linear
#: in the input while at most one factor depends on it.
_PRODUCTS = {
    "Mul": (0, 1),
    "Mm": (0, 1),
    "Bmm": (0, 1),
    "Mv": (0, 1),
    "Addmm": (1, 2),
    "Baddbmm": (1, 2),
    "Convolution": (0, 1),
}
_BATCH_NORM_OPS = frozenset({"NativeBatchNorm", "CudnnBatchNorm", "MiopenBatchNorm"})
#: Linear layers with weights: all products but the elementwise one, and batch
#: norm in evaluation mode. Rules that keep the gradient of linear layers
#: handle them anywhere; LRP's rules for them apply to layer modules only.
LINEAR_LAYER_OPS = (frozenset(_PRODUCTS) - {"Mul"}) | _BATCH_NORM_OPS
#: Max pooling, whose gradient routes everything to the winning input: the
#: rule of guided backpropagation and LRP; DeepLIFT's rule needs the module.
#: A maximum over an axis (``x.max(-1)``, ``x.amax(-1)``) is max pooling with
#: one window spanning it (``amax`` shares the gradient between tied inputs,
#: whose values are equal, so relevance is conserved as well).
MAX_POOL_OPS = frozenset(
    {
        "MaxPool2DWithIndices",
        "MaxPool3DWithIndices",
        "AdaptiveMaxPool2D",
        "AdaptiveMaxPool3D",
        "Max",
        "Amax",
    }
)


#: Step functions of their input: their outputs carry no gradient, so the
#: autograd graph does not show them (a rectifier written ``x * (x > 0)`` looks
#: like a product with a constant there).
_STEP_FUNCTIONS = frozenset(
    {
        "gt",
        "lt",
        "ge",
        "le",
        "eq",
        "ne",
        "greater",
        "less",
        "greater_equal",
        "less_equal",
        "sign",
        "sgn",
        "signbit",
        "heaviside",
        "argmax",
        "argmin",
        "round",
        "floor",
        "ceil",
        "trunc",
    }
)


#: Functions of real values whose boolean output is constant on finite data:
#: a mask of them (``torch.where(torch.isnan(x), 0, x)``) steps nowhere.
_CONSTANT_ON_FINITE_DATA = frozenset(
    {"isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal"}
)


def _discretized(arguments, result):
    """Name the dtype of ``result`` if a call made only integers or booleans of real values."""
    outputs = tensors_in(result)
    if (
        outputs
        and any(_real_valued(tensor) for tensor in arguments)
        and not any(_real_valued(tensor) for tensor in outputs)
    ):
        return str(outputs[0].dtype)
    return None


#: Functions whose output's values do not depend on their arguments' values,
#: only on their shape, type and device: ``torch.zeros_like(x)``,
#: ``x.new_zeros(n)``. Not ``x.new_tensor(data)``, a copy of ``data``'s values
#: without gradient.
_VALUE_FREE = re.compile(r"(_like|^new_(?!tensor$)\w+)$")
#: Functions whose arguments after the first are such templates:
#: ``mask.expand_as(x)``, ``weight.to(x)``.
_TEMPLATE_ARGUMENTS = frozenset(
    {"type_as", "expand_as", "view_as", "reshape_as", "to", "broadcast_to"}
)
#: Reads of a tensor's values as Python numbers or NumPy arrays, out of
#: autograd's sight (``torch.as_tensor`` of them starts a new tensor).
_READ_OUT_OF_TORCH = frozenset(
    {"item", "tolist", "__float__", "__complex__", "numpy", "__array__"}
)


def _real_valued(tensor):
    # Booleans and integers (masks, indices) are step functions of the input:
    # their derivative is zero almost everywhere, as autograd takes it.
    return tensor.is_floating_point() or tensor.is_complex()


def _function_name(func):
    """Name a function as called: ``torch.Tensor.detach``, ``torch.Tensor.data``."""
    name = resolve_name(func) or getattr(func, "__name__", repr(func))
    return name.removesuffix(".__get__")


def _by_custom_function(tensor):
    """Whether ``tensor`` is the output of a ``torch.autograd.Function``.

    torch runs the function's ``forward`` without grad, and its output has
    the gradient the function's ``backward`` gives: the recorder saw the
    operations inside as cut from the input, and autograd does not.
    """
    return isinstance(tensor.grad_fn, torch.autograd.function.BackwardCFunction)


class _GradientCutRecorder(EagerFunctionMode):
    """Follow what a forward pass computes from its input, and where autograd loses it.

    Every function called in the pass whose arguments include a tensor
    computed from ``inputs`` makes its outputs *derived* too. A real-valued
    derived output is *cut* when autograd does not see how it depends on the
    input: computed from a derived tensor that requires grad, it does not
    require grad itself (``x.detach()``, ``x.data``) or was computed with
    grad disabled (inside ``torch.no_grad()``, in place or not); or it is
    computed from a cut tensor. Values read as Python numbers (``.item()``)
    or NumPy arrays (``.numpy()``, ``np.abs(x)``) are lost the same way.
    Functions of parameters and buffers alone (a
    max-norm constraint applied in ``forward`` under ``torch.no_grad()``)
    derive nothing from the input.

    Parameters
    ----------
    inputs : torch.Tensor | None
        The input of the pass, requiring grad (None to follow tensors given
        later to :meth:`follow` only).

    Attributes
    ----------
    cuts : dict of int -> str
        For each cut tensor's ``id``, the function that first cut its path.
    numbers : list of str
        The functions that read derived values as Python numbers or NumPy
        arrays.
    """

    def __init__(self, inputs):
        super().__init__()
        # Strong references: the ids stay those of the recorded tensors.
        self.derived = {}
        self.cuts = {}
        self.numbers = []
        if inputs is not None:
            self.follow(inputs)

    def follow(self, tensor):
        """Follow what the pass computes from ``tensor`` too (a leaf started in it)."""
        self.derived[id(tensor)] = tensor

    def _derived_sources(self, func, args, kwargs):
        """Return the arguments computed from the input whose values ``func`` reads."""
        name = getattr(func, "__name__", "")
        if _VALUE_FREE.search(name):
            return []
        sources = args[:1] if name in _TEMPLATE_ARGUMENTS else (*args, *kwargs.values())
        return [tensor for tensor in tensors_in(sources) if id(tensor) in self.derived]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return self._call(func, args, kwargs or {})[0]

    def _call(self, func, args, kwargs):
        """Call ``func``, recording what it computes from the input.

        Returns its result and the arguments computed from the input that it
        read.
        """
        derived = self._derived_sources(func, args, kwargs)
        # Before the call: in place, x.detach_() stops x requiring grad.
        tracked = any(tensor.requires_grad for tensor in derived)
        result = func(*args, **kwargs)
        if derived:
            self._record(func, args, result, derived, tracked)
        return result, derived

    def _record(self, func, args, result, derived, tracked):
        """Follow what a call computed from ``derived``, and where autograd lost it.

        ``tracked`` is whether a tensor of ``derived`` required grad before the
        call.
        """
        name = getattr(func, "__name__", "")
        cut = next(
            (
                self.cuts[id(t)]
                for t in derived
                if id(t) in self.cuts and not _by_custom_function(t)
            ),
            None,
        )
        if name in _READ_OUT_OF_TORCH and _real_valued(derived[0]):
            if cut is not None or derived[0].requires_grad:
                self.numbers.append(_function_name(func))
            return
        outputs = tensors_in(result)
        if result is None or name.endswith("_"):
            # In place (x[:, 0] = y, x.div_(y)): the first argument is the output.
            outputs += tensors_in(args[:1])
        for output in outputs:
            self.derived[id(output)] = output
            if not _real_valued(output):
                continue
            if cut is None and tracked:
                if not torch.is_grad_enabled():
                    cut = f"{_function_name(func)} under torch.no_grad()"
                elif not output.requires_grad:
                    cut = _function_name(func)
            if cut is not None:
                self.cuts[id(output)] = cut


class _StepFunctionRecorder(_GradientCutRecorder):
    """Record the step functions a forward pass calls on what it computes from its input.

    Those of :data:`_STEP_FUNCTIONS`, and every conversion of real values to
    integers or booleans only (``x.long()``, ``x.to(torch.int64)``,
    ``x.bool()``, ``torch.bucketize``), a step function however it is
    written: a gate ``h * (h.abs() * 4).long().clamp(max=1)`` was explained
    by guided backprop and LRP as a product with a constant. Each call is
    named as written (``'floor'``, ``'long' (to torch.int64)``).

    What a call reads of the input is followed through every function called
    (see :class:`_GradientCutRecorder`), not through autograd: a mask of a
    detached copy, or of values computed under ``torch.no_grad()`` (``h *
    (h.detach() > 0)``), has no autograd path to the input, and guided
    backprop explained it as a product with a constant.

    Parameters
    ----------
    inputs : torch.Tensor | None
        The input of the pass, or None to follow tensors given later to
        :meth:`follow` only.

    Attributes
    ----------
    calls : list of str
        The step functions called on tensors computed from the input, named.
    """

    def __init__(self, inputs=None):
        super().__init__(inputs)
        self.calls = []
        # Integers or booleans made beside real values (the indices of
        # torch.topk, torch.sort, x.max(dim)), named by id: a step function of
        # the input once a call reads them (a mask scattered at the top-k
        # indices gates as x * (x >= kth) does), nothing while unread (the
        # maximum of x.max(dim) is max pooling).
        self.positions = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        arguments = tensors_in((*args, *kwargs.values()))
        # A mask made from the input's shape alone (torch.ones_like(x,
        # dtype=torch.bool)) reads no value of it.
        result, derived = self._call(func, args, kwargs)
        if not derived:
            return result
        name = getattr(func, "__name__", "").strip("_")
        read = [self.positions[id(t)] for t in arguments if id(t) in self.positions]
        if name in _STEP_FUNCTIONS:
            self.calls.append(repr(name))
        elif name in _CONSTANT_ON_FINITE_DATA:
            pass
        elif discrete := _discretized(arguments, result):
            self.calls.append(f"{name!r} (to {discrete})")
        elif read and tensors_in(result):
            self.calls.append(read[0])
        elif any(_real_valued(tensor) for tensor in arguments):
            for output in tensors_in(result):
                if not _real_valued(output):
                    self.positions[id(output)] = f"{name!r} (its {output.dtype} output)"
        return result


def _computed_without_input(module, inputs, layers):
    """Return those of ``layers`` whose every output is computed without the input.

    Such a layer computes a constant of the network (an embedding of fixed
    indices, a dense layer of a learned token), through which no gradient
    reaches the input. What a call computes from the input is followed
    through every function called in the pass (see
    :class:`_GradientCutRecorder`), integer tensors included: an embedding of
    indices computed from the input (``x.long()``, ``x.argmax(-1)``), whose
    gradient autograd does not see, depends on it.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is run).
    layers : set of torch.nn.Module
        The layers to judge.

    Returns
    -------
    constant : set of torch.nn.Module
        The layers of ``layers`` called in the pass whose outputs never
        depend on the input.
    """
    example = inputs[:1].detach()
    called, depending = set(), set()

    def record(layer, _inputs, output):
        called.add(layer)
        if any(id(tensor) in recorder.derived for tensor in tensors_in(output)):
            depending.add(layer)

    handles = [layer.register_forward_hook(record) for layer in layers]
    try:
        with torch.no_grad(), _GradientCutRecorder(example) as recorder:
            module(example)
    finally:
        for handle in handles:
            handle.remove()
    return called - depending


def _check_no_global_backward_hooks(method):
    """Refuse to differentiate while torch runs backward hooks on every module.

    The network's own backward hooks are removed from the copy that is
    explained (they change its gradient, not its function), but those
    registered for every module (``register_module_full_backward_hook``)
    cannot be: a hook halving each convolution's gradient halved the maps.
    They were refused as a computation "without gradient" of
    ``torch.Tensor.view_as``, which torch's hook machinery calls.
    """
    # A new module has no hooks of its own: those it runs are every module's.
    if runs_hooks(nn.Identity(), ("backward_hooks", "backward_pre_hooks")):
        raise ValueError(
            f"{method} differentiates the network, but torch runs backward hooks "
            "on every module (registered with torch.nn.modules.module."
            "register_module_full_backward_hook or "
            "register_module_full_backward_pre_hook), which change the gradients "
            "of the network and cannot be removed from the copy that is "
            "explained, as its own backward hooks are. Remove them (their "
            "handle's remove()) while explaining. Methods that do not "
            f"differentiate the network: {', '.join(methods_without_gradient())}."
        )


def check_gradient_path(module, inputs, method):
    """Refuse a network part of whose computation from the input autograd does not see.

    A ``forward`` that computes statistics of its input without gradient
    (``with torch.no_grad(): scale = x.std()``, ``x.std().detach()``,
    ``x.std().item()``, or through NumPy) and uses them on the way to the
    logits has an autograd gradient that is not the derivative of the
    function it computes: dividing by that scale makes the network scale-invariant,
    whose derivative along the epoch is zero, but the gradient gives most of
    the logit there. Every map built from the gradient (saliency, integrated
    gradients, relevance propagation) would explain another function.
    One forward pass on one epoch, recorded by
    :class:`_GradientCutRecorder`, finds such paths.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is used).
    method : str
        Name of the method, for the error message.
    """
    _check_no_global_backward_hooks(method)
    inputs = inputs[:1].detach().requires_grad_()
    versions = _weight_versions(module)
    with torch.enable_grad(), _GradientCutRecorder(inputs) as recorder:
        logits = module(inputs)
    gradient = _check_differentiable(module, inputs, logits, versions, method)
    _check_same_function_without_gradient(module, inputs, logits, method)
    cut = recorder.cuts.get(id(logits))
    if cut is not None:
        problem = (
            "computes part of its output from the input without gradient, in "
            f"{cut!r} called in forward (e.g. statistics of the epoch computed in "
            "torch.no_grad() or detached)"
        )
    elif recorder.numbers:
        problem = (
            "reads values computed from the input as Python numbers or NumPy "
            "arrays, with "
            f"{recorder.numbers[0]!r} called in forward"
        )
    elif gradient is None:
        # torch's own error ("appears to not have been used in the graph")
        # came from deep inside captum.
        problem = (
            "computes its output from the input only through operations "
            "without gradient (e.g. a comparison binarizing the input, x > 0)"
        )
    else:
        _check_custom_functions(module, inputs, logits, method)
        return
    raise ValueError(
        f"The network {problem}: autograd does not see how those values depend on "
        "the input, so its gradient is not the derivative of the network and "
        f"{method}, built on that gradient, would explain another function. "
        "Compute them with gradient (without torch.no_grad(), .detach() or "
        ".item()), or preprocess the data outside the network. Methods that do "
        f"not differentiate the network: {', '.join(methods_without_gradient())}."
    )


def _weight_versions(module):
    """Map the name of each parameter and buffer of ``module`` to its version.

    torch counts the in-place changes of every tensor: a weight whose version
    moves during a forward pass was changed in it.
    """
    return {
        name: tensor._version
        for name, tensor in (*module.named_parameters(), *module.named_buffers())
    }


def _check_differentiable(module, inputs, logits, versions, method):
    """Refuse a network that autograd fails to differentiate, naming what it changed.

    A ``forward`` that changes a weight in place after using it (a max-norm
    constraint or a clamp applied after the layer's call, under
    ``torch.no_grad()``) leaves autograd without the values the gradient
    needs, and every method that differentiates the network failed with
    torch's "modified by an inplace operation" deep in its backward pass.
    So did a forward that ``torch.autograd.grad`` cannot differentiate at all
    (``torch.utils.checkpoint`` with ``use_reentrant=True``), whose refusal
    gives torch's reason.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        The epoch ``logits`` were computed from, requiring grad.
    logits : torch.Tensor
        Its output.
    versions : dict of str -> int
        :func:`_weight_versions` of ``module`` before the pass.
    method : str
        Name of the method, for the error message.

    Returns
    -------
    gradient : torch.Tensor | None
        The gradient of the summed logits with respect to ``inputs``; None
        where they do not depend on ``inputs`` through autograd.
    """
    try:
        gradient = input_gradient(logits, inputs)
    except RuntimeError as error:
        # A buffer updated in forward (a running mean) changes version too,
        # harmlessly: weights are named only where torch missed a value.
        changed = [
            shown_layer_name(name, module)
            for name, version in _weight_versions(module).items()
            if versions.get(name) != version
        ]
        if changed and "modified by an inplace operation" in str(error):
            problem = (
                f"changes {', '.join(map(repr, changed))} in place in forward, "
                "after using it"
            )
            remedy = (
                " Change weights before their use in forward (as braindecode's "
                "max-norm layers do) or outside it (after the optimizer's step)."
            )
        else:  # torch's message says what failed, and how to avoid it
            problem, remedy = f"fails to be differentiated by autograd ({error})", ""
        raise ValueError(
            f"The network {problem}, so {method}, which differentiates it, cannot "
            f"run.{remedy} Methods that do not differentiate the network: "
            f"{', '.join(methods_without_gradient())}."
        ) from error
    return gradient


def _check_same_function_without_gradient(module, inputs, logits, method):
    """Refuse a network that computes otherwise with gradient enabled than without.

    Predictions are made without gradient, and the methods differentiate a
    pass with it: a ``forward`` branching on ``torch.is_grad_enabled()`` (a
    clip applied for deployment only) had saliency, LRP and guided backprop
    explain the unclipped function, whose logits were not those predicted.
    """
    with torch.no_grad():
        predicted = module(inputs)
    if not outputs_agree(logits.detach(), predicted, atol=1e-6):
        error = float((logits.detach() - predicted).abs().max())
        raise ValueError(
            "The network computes other outputs with gradient enabled than "
            f"without (by up to {error:.3g}; e.g. its forward branches on "
            "torch.is_grad_enabled()), so "
            f"{method}, which differentiates a pass with gradient, would explain "
            "another function than the one that predicts. Make forward compute "
            "the same function either way. Methods that do not differentiate the "
            f"network: {', '.join(methods_without_gradient())}."
        )


#: Autograd operations of torch whose backward is a straight-through estimator:
#: fake quantization (quantization-aware training, torch.ao.quantization)
#: rounds in forward and passes the gradient unchanged within its range.
_STRAIGHT_THROUGH_OPS = re.compile(r"^(FakeQuantize|FusedMovingAvgObsFq)")


def _custom_functions(output):
    """Name the operations of their own gradient that ``output``'s gradient passes.

    The ``torch.autograd.Function`` classes, whose backward is the user's, and
    the operations of :data:`_STRAIGHT_THROUGH_OPS`.
    """
    names, stack, seen = set(), [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            names.add(
                f"torch.autograd.Function {type(node).__name__.removesuffix('Backward')}"
            )
        elif _STRAIGHT_THROUGH_OPS.match(node_kind(node)):
            names.add(f"{_operation_name(node_kind(node))!r} (fake quantization)")
        stack.extend(child for child, _ in node.next_functions)
    return sorted(names)


#: Share of a directional derivative by which autograd may miss its central
#: difference (in float64, where they agree to about 1e-9 on smooth networks).
_DERIVATIVE_RTOL = 1e-3
#: The same in float32, for a network judged in its own precision: its central
#: difference, over a step of about float32's cube-root epsilon, misses by a
#: few percent where rectifiers bend within the step; a reversed gradient
#: misses by 200 %.
_DERIVATIVE_RTOL_FLOAT32 = 0.25


def _derivatives_along(network, epoch, relative_step):
    """Autograd's and the central difference's derivative of ``network`` at ``epoch``.

    Both along one random direction, of the outputs weighted at random
    (seeded), the step ``relative_step`` times the epoch's largest value.
    """
    generator = torch.Generator().manual_seed(0)
    epoch = epoch.detach().requires_grad_()
    direction = torch.randn(epoch.shape, generator=generator, dtype=epoch.dtype)
    direction = direction.to(epoch.device)
    outputs = network(epoch)
    weights = torch.randn(outputs.shape, generator=generator, dtype=epoch.dtype)
    weights = weights.to(epoch.device)
    (gradient,) = torch.autograd.grad((outputs * weights).sum(), epoch)
    step = relative_step * (float(epoch.abs().max()) or 1.0)
    with torch.no_grad():
        ahead, behind = (
            float((network(epoch + sign * step * direction) * weights).sum())
            for sign in (1, -1)
        )
    return float((gradient * direction).sum()), (ahead - behind) / (2 * step)


def _check_custom_functions(module, inputs, logits, method):
    """Refuse a ``torch.autograd.Function`` whose backward is not its derivative.

    Its backward is the user's: a straight-through estimator (rounding, with
    the identity's gradient) or a gradient reversal gives autograd a gradient
    of another function than the network's, and saliency gave that gradient
    (of reversed sign) as the network's. torch's fake quantization (see
    :data:`_STRAIGHT_THROUGH_OPS`) is such an estimator too. Along a random
    direction from the first epoch, autograd's derivative is compared with
    the central difference of the outputs, in float64 on a copy of the
    network on the CPU. A network that does not run so (a Function written
    for one device or type, a network that cannot be copied) is judged as it
    is, in its own precision, where only a gross difference (a reversed or
    passed-through gradient) tells.
    """
    names = _custom_functions(logits)
    if not names:
        return
    try:
        along, difference = _derivatives_along(
            copy_module(module).cpu().double(), inputs[:1].cpu().double(), 1e-6
        )
        rtol = _DERIVATIVE_RTOL
    except (RuntimeError, TypeError):
        along, difference = _derivatives_along(module, inputs[:1], 5e-3)
        rtol = _DERIVATIVE_RTOL_FLOAT32
    if abs(along - difference) <= rtol * max(abs(along), abs(difference)):
        return
    raise ValueError(
        f"The network computes with {', '.join(names)}, "
        "whose backward is not the derivative of its forward here (e.g. a "
        "straight-through estimator, or a gradient reversal): along a random "
        f"direction from an epoch its gradient gives {along:.3g} where the output "
        f"changes by {difference:.3g} per unit, so {method}, built on that "
        "gradient, would explain another function. Methods that do not "
        f"differentiate the network: {', '.join(methods_without_gradient())}."
    )


def node_kind(node):
    """Name the operation of an autograd node: ``MulBackward0`` -> ``Mul``."""
    return re.sub(r"Backward\d*$", "", type(node).__name__)


def _operation_name(kind):
    """Write an autograd node's kind as a function name: ``LogSoftmax`` -> ``log_softmax``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", kind).lower()


#: Activations called as functions in forward whose module the rules cover, by
#: autograd node. (Pooling is left out: max_pool1d and max_pool2d share a node,
#: and the rules hold for some windows only.)
_MODULE_OF_FUNCTION = {
    "Elu": "torch.nn.ELU",
    "Relu": "torch.nn.ReLU",
    "LeakyRelu": "torch.nn.LeakyReLU",
}


def _unhandled(node, depending, functional_ops):
    """Describe ``node`` if the rules do not handle it, else return None.

    Parameters
    ----------
    node : torch.autograd.graph.Node
        A node whose output depends on the input.
    depending : set of Node
        The nodes whose outputs depend on the input.
    functional_ops : set of str
        Further kinds of operations the rules handle (see
        :func:`check_computation`).
    """
    name = type(node).__name__
    kind = node_kind(node)
    depends = [child in depending for child, _ in node.next_functions]
    if kind in _PLAIN_LINEAR_OPS:
        return None
    if kind == "Div":
        rounding = getattr(node, "_saved_rounding_mode", None)
        if rounding is not None:
            # torch.div(x, y, rounding_mode="floor") is a step function of x,
            # whose gradient autograd takes as zero: the maps were zero there.
            return (
                f"{name} (a division rounded to an integer, rounding_mode="
                f"{rounding!r}: a step function of the input)"
            )
        if any(depends[1:]):
            return (
                f"{name} (a division by a tensor that depends on the input, e.g. "
                "x / x.std())"
            )
        return None
    factors = [depends[i] for i in _PRODUCTS.get(kind, ()) if i < len(depends)]
    if sum(factors) > 1:
        return (
            f"{name} (a product of two tensors that both depend on the input, e.g. "
            "x * x)"
        )
    # In training mode, or without running statistics, batch norm divides by
    # statistics of its input (and instance norm runs as such a batch norm).
    if kind in _BATCH_NORM_OPS and getattr(node, "_saved_training", True):
        return (
            f"{name} (a normalization by statistics of the batch: batch norm "
            "without running statistics, or instance norm)"
        )
    if kind == "Mul" or kind in functional_ops:
        return None
    if kind in LINEAR_LAYER_OPS:
        return (
            f"the linear layer {_operation_name(kind)!r} ({name}) outside a layer "
            "module; its rule needs nn.Conv1d, nn.Conv2d, nn.Linear or batch norm "
            "modules"
        )
    if kind == "CopySlices":
        return (
            f"{name} (an in-place operation on part of a tensor, e.g. x[:, 0] = y, "
            "which hides the operation; torch's own padding_mode='circular' of "
            "a convolution computes so)"
        )
    return f"the operation {_operation_name(kind)!r} ({name})"


def _consumers(root):
    """Map every node of the autograd graph under ``root`` to the nodes using it."""
    consumers, stack = {root: []}, [root]
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            if child not in consumers:
                consumers[child] = []
                stack.append(child)
            consumers[child].append(node)
    return consumers


def _depending_on(consumers, inputs):
    """Return the nodes of the graph whose outputs depend on the leaf ``inputs``."""
    depending = {
        node for node in consumers if getattr(node, "variable", None) is inputs
    }
    stack = list(depending)
    while stack:
        for consumer in consumers[stack.pop()]:
            if consumer not in depending:
                depending.add(consumer)
                stack.append(consumer)
    return depending


def _children(node):
    """Return the nodes of ``node``'s inputs in the autograd graph."""
    return [child for child, _ in node.next_functions if child is not None]


def _walk_depending(root, depending, next_nodes=_children):
    """Yield, once each, the nodes from ``root`` down that are in ``depending``.

    ``next_nodes(node)`` gives the nodes to visit after ``node``: its inputs by
    default, or e.g. a layer call's inputs, to step over the layer.
    """
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node in seen or node not in depending:
            continue
        seen.add(node)
        yield node
        stack.extend(next_nodes(node))


def _forward_with_layer_nodes(module, inputs, layers):
    """Run ``module`` with grad, recording the autograd nodes of ``layers``' calls.

    Returns
    -------
    logits : torch.Tensor
        The output.
    calls : dict of Node -> (torch.nn.Module, list of Node | None)
        For each call, the node of its output, mapped to the layer and the
        nodes of its inputs.
    steps : list of str
        The step functions called on tensors computed from ``inputs`` (see
        :class:`_StepFunctionRecorder`).
    made : dict of Node -> (torch.nn.Module, bool)
        For each node a call made, the innermost layer that made it, and
        whether that call mapped one tensor to one tensor.
    """
    calls, made, pending = {}, {}, []

    def before(layer, layer_inputs, layer_kwargs):
        # Taken before the call: an in-place layer gives its input its own node.
        sources = [getattr(tensor, "grad_fn", None) for tensor in layer_inputs]
        # Keyword arguments bound the call's nodes too: a layer called as
        # attention(query=x, key=x, value=x) would claim the graph below it.
        given = {tensor.grad_fn for tensor in tensors_in(layer_kwargs)}
        pending.append((sources, given.union(sources)))

    def after(layer, layer_inputs, output):
        sources, given = pending.pop()
        node = getattr(output, "grad_fn", None)
        # A layer returning its input (dropout in evaluation mode) adds no node;
        # a container returning its last layer's output keeps that layer's call.
        if node is not None and node not in sources and node not in calls:
            calls[node] = (layer, sources)
        # Every node the call made, down to what it was given, so that an
        # operation refused inside a layer is named by it: nn.LSTM's
        # recurrence lies under its output's own node, and as an operation
        # "called in forward" it named nothing the user wrote. Inner layers
        # return first, so a node keeps the innermost one.
        one_to_one = len(layer_inputs) == 1 and isinstance(output, torch.Tensor)
        # An output without a node was made of no tensor that needs grad (the
        # positions of braindecode's PBT patches, integers beside the patches).
        stack = [
            tensor.grad_fn
            for tensor in tensors_in(output)
            if tensor.grad_fn is not None
        ]
        while stack:
            inner = stack.pop()
            # Leaves (parameters, the input) were not made by the call.
            if inner in given or inner in made or hasattr(inner, "variable"):
                continue
            made[inner] = (layer, one_to_one)
            stack.extend(_children(inner))

    handles = [
        layer.register_forward_pre_hook(before, with_kwargs=True) for layer in layers
    ]
    handles += [layer.register_forward_hook(after) for layer in layers]
    try:
        with torch.enable_grad(), _StepFunctionRecorder(inputs) as steps:
            logits = module(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return logits, calls, steps.calls, made


#: Products and divisions, with the names under which their autograd nodes
#: save each operand.
_SAVED_OPERANDS = {
    "Mul": ("_saved_self", "_saved_other"),
    "Div": ("_saved_self", "_saved_other"),
}


def _constant_factors(logits, inputs):
    """List the factors and indices that ``logits``' graph takes as constants.

    Those of the products and divisions with one operand computed from
    ``inputs`` (as autograd sees it), and the indices of indexing, each with
    its node, in the order of the graph's walk.
    """
    depending = _depending_on(_consumers(logits.grad_fn), inputs)
    factors = []
    for node in _walk_depending(logits.grad_fn, depending):
        names = _SAVED_OPERANDS.get(node_kind(node))
        depends = [child in depending for child, _ in node.next_functions]
        if names is not None and len(depends) == 2 and depends.count(True) == 1:
            factors.append((node, getattr(node, names[depends.index(False)])))
        elif node_kind(node) == "Index":
            # Indices carry no gradient: computed from the input, they select by it.
            factors += [
                (node, index) for index in node._saved_indices if index is not None
            ]
    return factors


def _probe_epochs(epoch):
    """Return other epochs than ``epoch`` on which to compare a pass's constant factors.

    The epoch reversed in time, negated and halved, its channels rolled by
    one (a mask of its sign, amplitude, order or spatial pattern changes);
    and the epoch four times larger: on a quiet first epoch, a rectifier
    shifted up by a batch norm passed every unit of both the epoch and its
    halved copy, but cut some on the louder epochs after it, where guided
    backprop then missed the maps of the network written with ``nn.ReLU`` by
    more than their scale.
    """
    return -0.5 * epoch.flip(-1).roll(1, dims=-2), 4.0 * epoch


def _factor_varying_with_the_input(module, logits, inputs):
    """Return the node of a constant factor or index that takes other values for another epoch.

    A factor computed from the input where neither autograd nor the functions
    recorded in Python see it (a mask computed in a TorchScript function or
    under ``torch.vmap``) is a constant to the graph, but not to the
    network. The pass is run again on each of :func:`_probe_epochs`, and the
    factors of the graphs are compared in order; a factor of another shape
    varies too (the indices of the samples a hidden mask selects, whose number
    changes with the epoch). A probe whose output has no graph (a frozen
    network that zeroes it) tells nothing, and the next one is compared.
    """
    factors = _constant_factors(logits, inputs)
    for other in _probe_epochs(inputs.detach()):
        other.requires_grad_()
        with torch.enable_grad():
            other_logits = module(other)
        if other_logits.grad_fn is None:
            continue
        pairs = zip(factors, _constant_factors(other_logits, other), strict=False)
        for (node, factor), (_, other_factor) in pairs:
            # torch.equal is False for tensors of different shapes.
            if not torch.equal(factor, other_factor):
                return node
    return None


def _adds_a_constant(node, depending):
    """Whether ``node`` adds a constant to a tensor (or subtracts one).

    A constant is what does not depend on the input: a number, a buffer or a
    parameter.
    """
    if node_kind(node) not in ("Add", "Sub", "Rsub"):
        return False
    operands = [child for child, _ in node.next_functions]
    return len(operands) < 2 or any(child not in depending for child in operands)


def torch_class(layer):
    """Return the first of PyTorch's layer classes among those of ``layer``.

    Not the class that ``torch.nn.utils.parametrize`` makes of a parametrized
    layer's own: that one keeps the ``forward`` it is given.
    """
    return next(
        kind
        for kind in type(layer).__mro__
        if kind.__module__.startswith("torch.nn.modules.")
    )


def layers_computing_otherwise(module, inputs, layers):
    """Return the names of ``layers`` whose calls compute otherwise than their class.

    Rules, and readings of a layer's weights, take a layer to compute its
    PyTorch class's function. A subclass whose ``forward`` does more (a
    convolution that rectifies its output, or standardizes its weight) would
    have its call passed with the class's rule, its own operations unseen:
    guided backprop then gave the plain gradient through the rectification,
    and LRP-0 of a standardized convolution kept 1 percent of the logit. A
    layer whose ``forward`` only constrains its stored weight in place
    (braindecode's max-norm convolutions) computes as its class, and passes.
    A ``forward`` set on the instance and forward hooks are checked alike: one
    that masks or scales a layer's output (as in ablation studies) changes
    what the layer computes (LRP-0 of a masked convolution missed gradient x
    input by 60 percent of the map's scale), while one that only records
    passes. Each output is compared as the layer returns it, hooks applied,
    before any in-place layer after it changes it. A layer called with other
    weights than it holds (``torch.func.functional_call(conv, {"weight":
    ema_weight}, x)``) computes otherwise too: LRP read its stored weights,
    and missed the maps of the same network holding the weights it was called
    with by more than their own scale.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is run).
    layers : iterable of torch.nn.Module
        The layers to check.

    Returns
    -------
    differing : list of str
        The name and class of each layer that computes otherwise.
    """
    names = shown_layer_names(module)
    layers = set(layers)
    checked = {
        layer: torch_class(layer)
        for layer in layers
        if has_own_forward(layer, torch_class(layer))
        or runs_hooks(layer, ("forward_hooks",))
    }
    differing, given = [], {}
    held = {layer: _held_tensor_ids(layer) for layer in layers}

    def check_weights(layer, _layer_inputs):
        # torch.func.functional_call swaps a layer's parameters and buffers for
        # the call: it computes with tensors the layer does not hold after it.
        if _held_tensor_ids(layer) != held[layer]:
            differing.append(
                f"{names[layer]!r} ({type(layer).__name__}, called with other "
                "weights than it holds)"
            )

    def keep_input(layer, layer_inputs):
        # A copy, kept before the call: an in-place layer (ELU(inplace=True))
        # has overwritten its input with its output by the time hooks see it.
        # The class's function below may change the copy; nothing reads it after.
        given[layer] = layer_inputs[0].clone()

    def compare(layer, layer_inputs, output):
        expected = _class_output(layer, checked[layer], given.pop(layer))
        if not outputs_agree(output, expected):
            differing.append(f"{names[layer]!r} ({type(layer).__name__})")

    handles = [layer.register_forward_pre_hook(check_weights) for layer in layers]
    handles += [layer.register_forward_pre_hook(keep_input) for layer in checked]
    handles += [layer.register_forward_hook(compare) for layer in checked]
    try:
        with torch.no_grad():
            module(inputs[:1])
    finally:
        for handle in handles:
            handle.remove()
    return differing


def _held_tensor_ids(layer):
    """Return the ids of the parameters and buffers ``layer`` holds itself, in order."""
    return [
        id(tensor) for tensor in (*layer._parameters.values(), *layer._buffers.values())
    ]


def _class_output(layer, kind, layer_input):
    """Return what the class ``kind``'s own code computes of ``layer_input`` with ``layer``'s weights.

    On a shallow copy of the layer whose methods of :data:`COMPUTING_METHODS`
    are ``kind``'s: ``kind.forward`` alone would call a subclass's
    ``_conv_forward``, and a weight it standardizes there would go unseen.
    """
    plain = copy.copy(layer)
    for name in COMPUTING_METHODS[1:]:
        if hasattr(kind, name):
            vars(plain)[name] = types.MethodType(getattr(kind, name), plain)
    return kind.forward(plain, layer_input)


def check_layers_compute_as_their_class(module, inputs, layers, method):
    """Refuse ``layers`` (those the rules of ``method`` handle) that compute otherwise.

    The arguments are those of :func:`layers_computing_otherwise`, and the
    method's name for the error message.
    """
    differing = layers_computing_otherwise(module, inputs, layers)
    if differing:
        raise ValueError(
            f"{method} applies its rule for each layer's class, but layer "
            f"{differing[0]} computes otherwise (its forward or a forward hook "
            "changes its weight or its output: weight standardization, a mask, a "
            "crop, an activation; or torch.func.functional_call gives it other "
            "weights). Store the weight it uses (e.g. with "
            "torch.nn.utils.parametrize) and apply other operations as layers of "
            "their own, or explain it with a gradient method."
        )


def check_computation(
    module, inputs, layers, method, *, functional_ops, refuse_shifts=False
):
    """Refuse a network that computes, outside ``layers``, what ``method`` has no rule for.

    Rules are attached to layer modules, but a ``forward`` may compute with
    functions too (``torch.nn.functional.elu(x)``, ``x * x``), whose plain
    gradient would silently stand in for the rule. One forward pass on one
    epoch records the autograd nodes of the calls of ``layers``; walking the
    autograd graph from the output to the input, skipping the inside of those
    calls, every other node whose output depends on the input must be on an
    allow-list of linear operations: reshapes, selections, sums, average
    pooling, products with at most one factor depending on the input and
    division by a constant; linear layers (batch norm in evaluation mode among
    them) and max pooling only where ``functional_ops`` lists them. Anything
    else, unknown operations included, is refused by name. So is a step
    function (``x > 0``) of anything computed from the input, on the output's
    graph or off it (``h * (x.abs() < 2)`` gates by a tensor that only the
    comparison reads), through autograd or not (``h * (h.detach() > 0)``).
    Last, what products and divisions take as constant factors must not change
    with the input (see :func:`_factor_varying_with_the_input`): code that no
    Python-level record sees (TorchScript, ``torch.vmap``) can compute a mask.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is used).
    layers : iterable of torch.nn.Module
        The modules whose calls the method's rules handle.
    method : str
        Name of the method, for the error message.
    functional_ops : set of str
        Kinds of autograd operations beyond the plain linear ones (node names
        without ``Backward0``) that the rules handle outside ``layers``, as
        functions called in ``forward``: :data:`LINEAR_LAYER_OPS` where the
        rules keep the gradient of linear layers, :data:`MAX_POOL_OPS` where
        they keep that of max pooling.
    refuse_shifts : bool
        Also refuse adding a constant outside ``layers`` (``x - self.mean``,
        ``h + self.offset``), for rules that pass relevance through sums in
        proportion to the values: the share of the constant goes nowhere, and
        the rest is divided by the shifted values (with ``x - mu`` before the
        first layer, relevance by ``x / (x - mu)``, which flipped the sign of
        LRP maps).
    """
    layers = set(layers)
    check_layers_compute_as_their_class(module, inputs, layers, method)
    # Every module is recorded too, to say which one computes a refused node:
    # the innermost, down to a container's own operations (a gate
    # h * torch.sigmoid(h) in a block's forward was "called in forward").
    # The network's own forward (and the user's inside our wrappers) is
    # "forward", not a module: named alike whether the estimator wraps it.
    network = wrapped_network(module)
    names = {
        layer: name
        for layer, name in shown_layer_names(module).items()
        if layer not in (module, network) or next(layer.children(), None) is None
    }
    inputs = inputs[:1].detach().requires_grad_()
    logits, calls, steps, made = _forward_with_layer_nodes(
        module, inputs, layers | set(names)
    )
    if logits.grad_fn is None:
        return
    depending = _depending_on(_consumers(logits.grad_fn), inputs)
    if steps:
        raise ValueError(
            f"{method} has no rule for the step function {steps[0]} of a tensor "
            "that depends on the input, called in forward (e.g. a rectifier "
            "written x * (x > 0)): its output carries no gradient, so the "
            "map would follow the plain gradient there. "
            f"{other_methods_note()}"
        )

    def next_nodes(node):
        layer, sources = calls.get(node, (None, []))
        if layer in layers:  # handled by the rules: continue from its inputs
            return [source for source in sources if source is not None]
        return _children(node)

    for node in _walk_depending(logits.grad_fn, depending, next_nodes):
        layer, _ = calls.get(node, (None, []))
        if layer in layers:
            continue
        problem = _unhandled(node, depending, functional_ops)
        if problem is None and refuse_shifts and _adds_a_constant(node, depending):
            problem = (
                "a constant (a number, buffer or parameter, or the output of a "
                "layer computed without the input, such as an embedding of fixed "
                "indices; fold it into the next layer's bias) added to a tensor "
                "that depends on the input"
            )
        if problem is not None:
            layer, one_to_one = made.get(node, (None, True))
            where = (
                " called in forward"
                if layer is None
                else f" in module {names[layer]!r} ({type(layer).__name__})"
            )
            module_class_name = _MODULE_OF_FUNCTION.get(node_kind(node))
            # A function called in a forward the user can edit: the network's
            # own, or a block's (a layer's computation is the layer's).
            in_a_forward = layer is None or next(layer.children(), None) is not None
            as_module = (
                f" Call it as a module ({module_class_name}), which the rules cover."
                if module_class_name is not None and in_a_forward
                else ""
            )
            raise ValueError(
                f"{method} has no rule for {problem}{where}, so it cannot explain "
                f"this network (its map would follow the plain gradient there).{as_module} "
                f"{other_methods_note(layerwise=one_to_one)}"
            )

    varying = _factor_varying_with_the_input(module, logits, inputs)
    if varying is not None:
        raise ValueError(
            f"{method} has no rule for {type(varying).__name__} (a product, "
            "division or indexing by a tensor computed from the input out of sight "
            "of autograd and of the functions called in forward, e.g. a mask or "
            "indices computed in a TorchScript function or under torch.vmap): its "
            "map would follow the "
            f"plain gradient there. {other_methods_note()}"
        )


class _ModifiedBackward(torch.autograd.Function):
    """Identity on a layer's output whose backward is a propagation rule."""

    @staticmethod
    def forward(ctx, layer_input, layer_output, rule):
        ctx.save_for_backward(layer_input, layer_output)
        ctx.rule = rule
        # A copy, not a view: networks may add to a layer's output in place
        # (torchvision's ``out += identity``), which autograd forbids on views.
        return layer_output.clone()

    @staticmethod
    def backward(ctx, grad_output):
        layer_input, layer_output = ctx.saved_tensors
        return ctx.rule(layer_input, layer_output, grad_output), None, None


@contextmanager
def _out_of_place(layers):
    """Run ``layers`` built with ``inplace=True`` out of place while the context is open."""
    in_place = [layer for layer in layers if getattr(layer, "inplace", False)]
    for layer in in_place:
        layer.inplace = False
    try:
        yield
    finally:
        for layer in in_place:
            layer.inplace = True


@contextmanager
def _rules_in_forward(rules):
    """Route each layer's output through its rule while the context is open."""

    def hook(layer, layer_inputs, output):
        # The output is detached so that only the rule carries the gradient.
        return _ModifiedBackward.apply(layer_inputs[0], output.detach(), rules[layer])

    handles = [layer.register_forward_hook(hook) for layer in rules]
    try:
        # An in-place layer's input is its output: the rule would read the
        # activated values, and the gradient it returns would flow back through
        # the layer's own backward (deconvolution became guided backprop).
        with _out_of_place(rules):
            yield
    finally:
        for handle in handles:
            handle.remove()


def check_same_function_out_of_place(plain, out_of_place):
    """Refuse a network whose in-place layers change a tensor it reads again.

    The rules need each layer's input intact, so in-place layers run out of
    place while they apply. For ``a = relu_(h); a + h`` that computes
    ``relu(h) + h`` instead of ``2 relu(h)``: the maps explained another
    function (z+ summed to half the logits).

    Parameters
    ----------
    plain, out_of_place : torch.Tensor
        The network's logits as it is, and with its layers out of place.
    """
    if not outputs_agree(out_of_place, plain):
        raise ValueError(
            "The network changes a tensor in place (a layer with inplace=True) "
            "that it reads again afterwards; the propagation rules need each "
            "layer's input intact, and run out of place, the network computes "
            "another function. Build it with inplace=False."
        )


def target_gradient(module, inputs, target, rules=None):
    """Gradient of each epoch's target logit, with some layers' backward replaced.

    Parameters
    ----------
    module : torch.nn.Module
        The network, mapping ``inputs`` to logits of shape (batch, n_classes).
    inputs : torch.Tensor, shape (batch, ...)
        The data.
    target : torch.Tensor of int64, shape (batch,)
        The class explained for each epoch.
    rules : dict of torch.nn.Module -> callable | None
        For each layer whose backward pass is replaced, ``rule(layer_input,
        layer_output, grad_output)`` returning the tensor to propagate to the
        layer's input. Rules may call layers: they run after the forward pass,
        when the layers are plain again.

    Returns
    -------
    gradient : torch.Tensor
        Shaped like ``inputs``.
    """
    inputs = inputs.detach().requires_grad_()
    in_place = [layer for layer in rules or {} if getattr(layer, "inplace", False)]
    if in_place:
        with torch.no_grad():
            plain = module(inputs)
    with torch.enable_grad():
        with _rules_in_forward(rules or {}):
            logits = module(inputs)
        if logits.ndim != 2:
            raise ValueError(
                "The network must return logits of shape (batch, n_classes), got "
                f"{tuple(logits.shape)}."
            )
        if in_place:
            check_same_function_out_of_place(plain, logits.detach())
        selected = logits.gather(1, target.reshape(-1, 1).to(logits.device))
        (gradient,) = torch.autograd.grad(selected.sum(), inputs)
    return gradient


def _fold_into_previous(layer, scale, shift):
    """Make ``layer`` compute ``scale * layer(x) + shift`` (per output channel)."""
    broadcast = (-1,) + (1,) * (layer.weight.ndim - 1)
    bias = torch.zeros_like(shift) if layer.bias is None else layer.bias.detach()
    layer.weight = nn.Parameter(layer.weight.detach() * scale.reshape(broadcast))
    layer.bias = nn.Parameter(bias * scale + shift)


def _fold_into_next(dense, between, scale, shift, example):
    """Fold ``scale * x + shift`` through channel-wise linear layers into ``dense``.

    The layers in between (pooling, flatten) act on each channel alone and
    linearly, so ``between(scale * x + shift) = s * between(x) + between(shift)``
    with ``s`` the channel scale laid out as ``between``'s output, obtained as
    ``between(scale) / between(1)``.
    """

    def run(tensor):
        for layer in between:
            tensor = layer(tensor)
        return tensor

    channels = (1, -1) + (1,) * (example.ndim - 2)
    ones = torch.ones_like(example[:1])
    with torch.no_grad():
        layout = run(ones)
        feature_scale = run(ones * scale.reshape(channels)) / layout
        feature_shift = run(ones * shift.reshape(channels))
        bias = dense(feature_shift)[0]
    dense.weight = nn.Parameter(dense.weight.detach() * feature_scale)
    dense.bias = nn.Parameter(bias)


def _dense_reading_flattened(tensor, calls):
    """Return the dense layer that reads ``tensor`` flattened in forward, in a list.

    ``x.flatten(1)`` or ``x.view(len(x), -1)`` written in ``forward`` makes a
    new tensor, which the traced calls do not tie to ``x``; it is a view of
    ``x``'s memory in its order, which ties it. Empty if no one dense layer
    reads it so (the folded network's logits are checked after).
    """
    if not tensor.is_contiguous():
        return []
    reading = [
        call
        for call in calls
        if isinstance(call.module, DENSE)
        and call.input.ndim == 2
        and call.input.shape == (len(tensor), tensor[0].numel())
        and call.input.data_ptr() == tensor.data_ptr()
    ]
    return reading if len(reading) == 1 else []


def _commutes_with_affine(call, scale, shift):
    """Whether ``call``'s layer maps ``scale * x + shift`` to ``scale * layer(x) + shift``.

    Layers of other libraries that only crop or reshape within channels
    (braindecode's ``Chomp1d`` between a convolution and its batch norm) move
    values without mixing channels or adding new ones, so a per-channel
    affine map passes through them. It is checked on the traced input, and
    the folded network's logits are checked later.
    """
    layer_input, layer_output = call.input, call.output
    if not (
        foreign_parameter_free(call.module)
        # A layer returning its input shows nothing of what produced it.
        and layer_output is not layer_input
        and layer_input.ndim >= 2
        and layer_output.ndim >= 2
        and layer_input.shape[1] == layer_output.shape[1] == len(scale)
    ):
        return False

    def affine(tensor):
        channels = (1, -1) + (1,) * (tensor.ndim - 2)
        return tensor * scale.reshape(channels) + shift.reshape(channels)

    with torch.no_grad():
        moved = call.module(affine(layer_input))
    return moved.shape == layer_output.shape and torch.allclose(
        moved, affine(layer_output)
    )


@full_float32()  # its copy is compared with the network
def fold_batch_norms(module, inputs):
    """Copy ``module`` with every batch norm folded into a neighbouring layer.

    In evaluation mode batch norm is the affine map ``scale * x + shift`` per
    channel. It is folded into the convolution or dense layer that produces its
    input, also through layers that only crop or reshape within channels
    (braindecode's ``Chomp1d``); or, where a nonlinearity comes first
    (InterpretableCNN's ReLU → batch norm → pooling → dense, the ReLU in
    place or not), into the next dense layer through the pooling and flatten
    layers in between (or a flatten written in ``forward``, ``x.flatten(1)``).
    Folded batch norms become :class:`torch.nn.Identity`, so the copy computes
    the same function in evaluation mode with fewer layers; the original
    module is not touched. Convolution and dense layers whose ``forward``
    computes as their PyTorch class but constrains their weight first
    (braindecode's max-norm layers) are that class in the copy, whose folded
    weights they would otherwise constrain again.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        A batch it accepts, to trace which layer feeds which.

    Returns
    -------
    folded : torch.nn.Module
        The copy, in evaluation mode, with parameters that do not require grad.
    """
    folded = copy_module(without_parametrizations(module))
    folded.eval().requires_grad_(False)
    # A layer returning its input (dropout in evaluation mode) neither makes
    # nor reads anything of its own: a batch norm after convolution and
    # dropout (braindecode's TIDNet) folds into the convolution. An in-place
    # activation returns its input too, but changed: traced out of place, it
    # is the batch norm's producer, and nothing is folded across it.
    with _out_of_place(folded.modules()):
        calls = [
            call
            for call in trace_layers(folded, inputs[:1])
            if call.output is not call.input
        ]
    _check_weights_precision(calls)
    # A forward of its own that constrains the stored weight before computing
    # as its class (braindecode's max-norm layers renorm it in place) would
    # undo a fold at its next call. Such layers compute as their class, as the
    # rules take them to, in the copy.
    for layer in {call.module for call in calls}:
        if (
            isinstance(layer, CONVOLUTIONS + DENSE)
            and has_own_forward(layer, torch_class(layer))
            and not layers_computing_otherwise(folded, inputs, [layer])
        ):
            layer.__class__ = torch_class(layer)
    producer = {id(call.output): call for call in calls}
    consumers = {}
    for call in calls:
        consumers.setdefault(id(call.input), []).append(call)
    for call in calls:
        if not isinstance(call.module, BATCH_NORMS):
            continue
        scale, shift = batch_norm_affine(call.module, call.shown_name)
        previous = producer.get(id(call.input))
        while previous is not None and _commutes_with_affine(previous, scale, shift):
            previous = producer.get(id(previous.input))
        if previous is not None and isinstance(previous.module, CONVOLUTIONS + DENSE):
            _fold_into_previous(previous.module, scale, shift)
        else:
            between, following = [], consumers.get(id(call.output), [])
            last = call.output
            while len(following) == 1 and isinstance(
                following[0].module, _CHANNELWISE_LINEAR
            ):
                between.append(following[0].module)
                last = following[0].output
                following = consumers.get(id(last), [])
            if not following:
                following = _dense_reading_flattened(last, calls)
                between += [nn.Flatten()] * bool(following)
            # The dense layer must read the channels as features, flattened: one
            # reading another axis (time) cannot take a scale per channel.
            if not (
                len(following) == 1
                and isinstance(following[0].module, DENSE)
                and following[0].input.ndim == 2
            ):
                source = (
                    "an operation called in forward, or the input"
                    if previous is None
                    else f"layer {previous.shown_name!r} "
                    f"({type(previous.module).__name__})"
                )
                raise ValueError(
                    f"Batch norm {call.shown_name!r} is applied to the output of {source}, "
                    "not to that of a convolution or dense layer (directly or "
                    "through layers that only crop or reshape it), and feeds no "
                    "dense layer reading its channels flattened (through pooling), "
                    "so it cannot be folded for relevance propagation. "
                    f"{other_methods_note()}"
                )
            _fold_into_next(following[0].module, between, scale, shift, call.output)
        parent_name, _, attribute = call.name.rpartition(".")
        setattr(folded.get_submodule(parent_name), attribute, nn.Identity())
    _check_same_function(module, folded, inputs)
    return folded


def _check_weights_precision(calls):
    """Refuse a convolution or dense layer that computes in another type than its weight's.

    The rules compute each layer again from its input, in the backward pass,
    with its weight: a layer run under ``torch.autocast`` in ``forward``
    (bfloat16 on the CPU) received bfloat16 inputs there, and LRP failed
    with torch's "expected m1 and m2 to have the same dtype".

    Parameters
    ----------
    calls : list of LayerCall
        The network's layer calls, their outputs kept.
    """
    for call in calls:
        layer = call.module
        if isinstance(layer, CONVOLUTIONS + DENSE) and (
            call.output.dtype != layer.weight.dtype
        ):
            raise ValueError(
                f"Layer {call.shown_name!r} ({type(layer).__name__}) computes in "
                f"{str(call.output.dtype).removeprefix('torch.')}, not in the "
                f"type of its weight ({str(layer.weight.dtype).removeprefix('torch.')}"
                "; e.g. under torch.autocast in forward), and relevance "
                "propagation computes each layer again with its weight. Explain "
                "the network without autocast, or with a gradient method (e.g. "
                "integrated_gradients)."
            )


def _check_same_function(module, folded, inputs):
    """Refuse a folded copy whose logits differ from the network's.

    Folding rescales the layer next to each batch norm, which is right only if
    nothing else reads that layer's output or calls it: a skip connection
    around the batch norm, a convolution shared by two branches or a second
    head reading the batch norm's output go through functions that the traced
    module calls do not show, and the copy would compute another function,
    whose relevance would be returned as the network's. Outputs that are not
    finite (data overflowing the network) tell nothing of that. A network
    whose forward constrains a layer's weight (``w.data = torch.renorm(w.data,
    ...)``) undoes the folded weight, and is told so by the weight's name.
    """
    folds = {name: weight.clone() for name, weight in folded.named_parameters()}
    with torch.no_grad():
        expected = module(inputs)
        obtained = folded(inputs)
    check_outputs_finite(expected, "epochs")
    if not outputs_agree(obtained, expected, atol=1e-6):
        error = float((obtained - expected).abs().max())
        overwritten = [
            shown_layer_name(name, folded)
            for name, weight in folded.named_parameters()
            if not torch.equal(weight, folds[name])
        ]
        if overwritten:
            raise ValueError(
                "Relevance propagation folds batch norm into the layer next to "
                "it, and the network's forward overwrites the folded weight "
                f"{', '.join(map(repr, overwritten))} (a constraint such as "
                "torch.renorm of weight.data applied to a layer in the "
                "network's forward), which changes its logits by up to "
                f"{error:.3g}. Apply the constraint in the layer's own forward, "
                "as braindecode's max-norm layers do, which the folding "
                "recognizes; or use a gradient method (e.g. integrated_gradients)."
            )
        raise ValueError(
            "Folding batch norm into its neighbouring layers changes this "
            f"network's logits (by up to {error:.3g}): a layer next to a batch "
            "norm is also used elsewhere (a skip connection around the batch "
            "norm, a layer shared by several branches, or a batch norm output "
            "read twice), or a forward hook or a forward of its own changes its "
            "output. Relevance propagation cannot explain it; use a gradient "
            "method (e.g. integrated_gradients)."
        )
