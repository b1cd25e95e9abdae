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
"""

import copy
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_FOLD_TARGETS = (nn.Conv1d, nn.Conv2d, nn.Linear)
#: Layers that are linear maps of their input and keep channels apart, through
#: which batch norm can be folded into the next dense layer.
_CHANNELWISE_LINEAR = (
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Dropout,
    nn.Identity,
)


@dataclass
class LayerCall:
    """One call of a leaf module in a forward pass."""

    name: str
    module: nn.Module
    input: torch.Tensor
    output: torch.Tensor


def _leaf_modules(module):
    """Name and module of every module without children."""
    return [
        (name or type(module).__name__, child)
        for name, child in module.named_modules()
        if next(child.children(), None) is None
    ]


def trace_layers(module, inputs):
    """Run ``module`` once and list its leaf-module calls in execution order.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        A batch it accepts (one epoch is enough).

    Returns
    -------
    calls : list of LayerCall
        The leaf modules called, with the tensors they received and returned.
    """
    calls = []
    names = {child: name for name, child in _leaf_modules(module)}

    def record(layer, layer_inputs, output):
        if not (len(layer_inputs) == 1 and isinstance(output, torch.Tensor)):
            raise ValueError(
                f"Layer {names[layer]!r} ({type(layer).__name__}) does not map one "
                "tensor to one tensor; propagation methods cannot pass it."
            )
        calls.append(LayerCall(names[layer], layer, layer_inputs[0], output))

    handles = [layer.register_forward_hook(record) for layer in names]
    try:
        with torch.no_grad():
            module(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return calls


def check_layers(module, calls, supported, method):
    """Refuse a network with a layer the method has no rule for.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    calls : list of LayerCall
        Its leaf-module calls (from :func:`trace_layers`).
    supported : tuple of type
        Layer types the method handles (subclasses included).
    method : str
        Name of the method, for the error message.
    """
    for call in calls:
        if not isinstance(call.module, supported):
            allowed = ", ".join(sorted({kind.__name__ for kind in supported}))
            raise ValueError(
                f"{method} has no rule for layer {call.name!r} "
                f"({type(call.module).__name__}); it handles {allowed}. Use a "
                "gradient-based method (e.g. 'saliency') for this network."
            )
    # Parameters of a container are used by its own forward, out of our sight.
    for name, child in module.named_modules():
        if next(child.children(), None) is not None and any(
            True for _ in child.parameters(recurse=False)
        ):
            raise ValueError(
                f"{method} cannot see how module {name or type(child).__name__!r} "
                "uses its own parameters; build the network from layer modules."
            )


class _ModifiedBackward(torch.autograd.Function):
    """Identity on a layer's output whose backward is a propagation rule."""

    @staticmethod
    def forward(ctx, layer_input, layer_output, rule):
        ctx.save_for_backward(layer_input, layer_output)
        ctx.rule = rule
        return layer_output.view_as(layer_output)

    @staticmethod
    def backward(ctx, grad_output):
        layer_input, layer_output = ctx.saved_tensors
        return ctx.rule(layer_input, layer_output, grad_output), None, None


@contextmanager
def _rules_in_forward(rules):
    """Route each layer's output through its rule while the context is open."""

    def hook(layer, layer_inputs, output):
        # The output is detached so that only the rule carries the gradient.
        return _ModifiedBackward.apply(layer_inputs[0], output.detach(), rules[layer])

    handles = [layer.register_forward_hook(hook) for layer in rules]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


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
    with torch.enable_grad():
        with _rules_in_forward(rules or {}):
            logits = module(inputs)
        if logits.ndim != 2:
            raise ValueError(
                "The network must return logits of shape (batch, n_classes), got "
                f"{tuple(logits.shape)}."
            )
        selected = logits.gather(1, target.reshape(-1, 1).to(logits.device))
        (gradient,) = torch.autograd.grad(selected.sum(), inputs)
    return gradient


def _batch_norm_affine(batch_norm, name):
    """Scale and shift of a batch norm in evaluation mode: ``y = scale * x + shift``."""
    if batch_norm.running_var is None:
        raise ValueError(
            f"Batch norm {name!r} keeps no running statistics, so its output depends "
            "on the batch and it cannot be folded; use track_running_stats=True."
        )
    scale = torch.rsqrt(batch_norm.running_var + batch_norm.eps)
    shift = -batch_norm.running_mean * scale
    if batch_norm.affine:
        scale = scale * batch_norm.weight
        shift = shift * batch_norm.weight + batch_norm.bias
    return scale.detach(), shift.detach()


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


def fold_batch_norms(module, inputs):
    """Copy ``module`` with every batch norm folded into a neighbouring layer.

    In evaluation mode batch norm is the affine map ``scale * x + shift`` per
    channel. It is folded into the convolution or dense layer that produces its
    input; or, where a nonlinearity comes first (InterpretableCNN's
    ReLU → batch norm → pooling → dense), into the next dense layer through the
    pooling and flatten layers in between. Folded batch norms become
    :class:`torch.nn.Identity`, so the copy computes the same function in
    evaluation mode with fewer layers; the original module is not touched.

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
    folded = copy.deepcopy(module).eval().requires_grad_(False)
    calls = trace_layers(folded, inputs[:1])
    producer = {id(call.output): call for call in calls}
    consumers = {}
    for call in calls:
        consumers.setdefault(id(call.input), []).append(call)
    for call in calls:
        if not isinstance(call.module, _BATCH_NORMS):
            continue
        scale, shift = _batch_norm_affine(call.module, call.name)
        previous = producer.get(id(call.input))
        if isinstance(previous, LayerCall) and isinstance(
            previous.module, _FOLD_TARGETS
        ):
            _fold_into_previous(previous.module, scale, shift)
        else:
            between, following = [], consumers.get(id(call.output), [])
            while len(following) == 1 and isinstance(
                following[0].module, _CHANNELWISE_LINEAR
            ):
                between.append(following[0].module)
                following = consumers.get(id(following[0].output), [])
            if not (len(following) == 1 and isinstance(following[0].module, nn.Linear)):
                raise ValueError(
                    f"Batch norm {call.name!r} follows no convolution or dense "
                    "layer and feeds no dense layer through pooling, so it cannot "
                    "be folded for relevance propagation."
                )
            _fold_into_next(following[0].module, between, scale, shift, call.output)
        parent_name, _, attribute = call.name.rpartition(".")
        setattr(folded.get_submodule(parent_name), attribute, nn.Identity())
    return folded
