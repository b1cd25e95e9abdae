"""How a network is built: layers in call order, batch norms as affine maps, layer families.

Methods read a network through the modules its forward pass calls. Here are the
one tracer of those calls, the affine map of a batch norm in evaluation mode
(which the propagation rules fold into the layer beside it, in
:mod:`mne_xai.attribution._propagation`), and named families of layer types
from which each method composes the layers it handles.
"""

import copy
import functools
import gc
import types
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
from mne.utils import logger
from torch import nn
from torch.jit import ScriptModule
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.padding import (
    _CircularPadNd,
    _ConstantPadNd,
    _ReflectionPadNd,
    _ReplicationPadNd,
)
from torch.nn.modules.pooling import (
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _MaxPoolNd,
)
from torch.nn.utils import parametrize, prune, remove_spectral_norm, remove_weight_norm
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm
from torch.overrides import TorchFunctionMode

from ._held import HeldWhileUsed
from ._random import fixed_noise

# -- families of layer types ------------------------------------------------------
# The concrete classes are those the methods' arithmetic is written for; a
# method composes the tuple it handles from these families.
CONVOLUTIONS = (nn.Conv1d, nn.Conv2d)
DENSE = (nn.Linear,)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
AVERAGE_POOLING = (
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
)
MAX_POOLING = (nn.MaxPool1d, nn.MaxPool2d)
#: Max pooling whose windows follow from the output size: each is one call of
#: ``torch.nn.functional.adaptive_max_pool1d`` or ``2d``, with no kernel or
#: stride to read.
ADAPTIVE_MAX_POOLING = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
#: Nonlinearities that are the identity for positive inputs.
RECTIFIERS = (nn.ReLU, nn.LeakyReLU, nn.ELU)
#: Nonlinearities that act on each value alone, whatever the shape of the input.
ELEMENTWISE_NONLINEARITIES = RECTIFIERS + (
    nn.CELU,
    nn.SELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Softplus,
    nn.Tanh,
    nn.Sigmoid,
    nn.Hardtanh,
    nn.Hardswish,
)
# PReLU may learn a slope per channel: it acts on each value alone only in the
# layout of channels it was built for.
NONLINEARITIES = ELEMENTWISE_NONLINEARITIES + (nn.PReLU,)
#: Layers that return their input unchanged in evaluation mode: the identity
#: and every dropout (Dropout, Dropout1d/2d/3d, AlphaDropout, ...).
PASS_THROUGH = (
    nn.Identity,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
#: Layers that pass values on unchanged in evaluation mode, at most reshaped.
SHAPE_ONLY = PASS_THROUGH + (nn.Flatten, nn.Unflatten)
#: Layers that pad their input with a constant (ZeroPad1d, ...), with copies
#: of its edge samples (reflection, replication) or of its other end
#: (circular): each is one call of ``torch.nn.functional.pad``.
PADDING = (_ConstantPadNd, _ReflectionPadNd, _ReplicationPadNd, _CircularPadNd)
#: Layers that are linear maps of their input (up to a bias) in evaluation mode.
LINEAR_LAYERS = CONVOLUTIONS + DENSE + BATCH_NORMS + AVERAGE_POOLING + SHAPE_ONLY
# Every convolution and batch norm, whatever its number of dimensions
# (transposed and lazy ones included): for code that reads a layer's window or
# bias, not the arithmetic of its class.
ANY_CONVOLUTION = (_ConvNd,)
ANY_BATCH_NORM = (_BatchNorm,)
#: Every layer that is a linear map of its input (up to a bias) in evaluation
#: mode, of any number of dimensions (EEGSym's Conv3d, transposed convolutions,
#: USleep's upsampling): for rules that keep the gradient of linear layers.
ANY_LINEAR_LAYER = (
    LINEAR_LAYERS
    + ANY_CONVOLUTION
    + ANY_BATCH_NORM
    + (_AvgPoolNd, _AdaptiveAvgPoolNd, nn.Upsample)
)
#: Every max pooling, of any number of dimensions.
ANY_MAX_POOLING = (_MaxPoolNd, _AdaptiveMaxPoolNd)
#: What torch's private bases of those families stand for, in messages.
_FAMILY_NAMES = {
    _ConvNd: "any convolution",
    _BatchNorm: "any batch norm",
    _AvgPoolNd: "any average pooling",
    _AdaptiveAvgPoolNd: "any adaptive average pooling",
    _MaxPoolNd: "any max pooling",
    _AdaptiveMaxPoolNd: "any adaptive max pooling",
}


def layer_kinds_text(kinds):
    """Name the layer types ``kinds`` for a message, leaving out those a family covers."""
    named = {
        _FAMILY_NAMES.get(kind, kind.__name__)
        for kind in kinds
        if not any(kind is not other and issubclass(kind, other) for other in kinds)
    }
    return ", ".join(sorted(named))


#: Modules that slide a window along their input's last axis.
SLIDING_WINDOWS = ANY_CONVOLUTION + (_AvgPoolNd, _MaxPoolNd)
#: Poolings whose windows follow from the output size.
ADAPTIVE_POOLING = (_AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd)


def time_entry(size):
    """Return the time (last) entry of a kernel size, stride, dilation or padding."""
    return size[-1] if isinstance(size, tuple | list) else size


def regular_window(call):
    """Return the module of ``call``, an adaptive pooling as its fixed windows.

    An adaptive pooling to a length that divides the length it receives
    (``AdaptiveAvgPool1d(n_times // 4)``) pools windows of one size, each
    starting where the last ended: a pooling with that kernel and stride.
    Other lengths give windows of unequal sizes (32 to 7: 4 and 5 samples)
    or overlapping ones (10 to 3: 4 samples, 3 apart), which no such pooling
    gives.
    """
    if not isinstance(call.module, ADAPTIVE_POOLING):
        return call.module
    n_received, n_returned = call.input.shape[-1], call.output.shape[-1]
    if n_received % n_returned:
        return call.module
    pooling = nn.MaxPool1d if isinstance(call.module, ANY_MAX_POOLING) else nn.AvgPool1d
    return pooling(n_received // n_returned)


def padding_along_time(module):
    """Return the samples a padding layer adds before and after the last axis."""
    # (left, right, ...): the last axis first, as torch.nn.functional.pad.
    return module.padding[:2]


def window_along_time(module, n_received):
    """Return how a sliding window ``module`` moves along the last axis.

    Shared by the class activation maps' time grid and
    :func:`~mne_xai.inspect.layer_activations`' times, so that both follow
    the same windows.

    Parameters
    ----------
    module : instance of SLIDING_WINDOWS
        The convolution or pooling (adaptive poolings through
        :func:`regular_window`).
    n_received : int
        Length of the last axis it receives.

    Returns
    -------
    left_padding : int
        Samples padded before the first.
    span : int
        Input samples from the first to the last a window reads, less one.
    stride : int
        Step between windows, in received samples.
    n_returned : int
        Length of the last axis it returns.
    """
    kernel = time_entry(module.kernel_size)
    stride = time_entry(module.stride)
    span = time_entry(getattr(module, "dilation", 1)) * (kernel - 1)
    if module.padding == "same":
        left_padding, total_padding = span // 2, span
    elif module.padding == "valid":
        left_padding = total_padding = 0
    else:
        left_padding = time_entry(module.padding)
        total_padding = 2 * left_padding
    reach = n_received + total_padding - span - 1
    if not getattr(module, "ceil_mode", False):
        return left_padding, span, stride, reach // stride + 1
    # A last, partial window, unless it would start in the right padding
    # (torch's rule).
    n_windows = -(-reach // stride) + 1
    if (n_windows - 1) * stride >= n_received + left_padding:
        n_windows -= 1
    return left_padding, span, stride, n_windows


def autograd_on(function):
    """Decorate a function that trains or differentiates a network: autograd is on.

    Training, attribution methods and inspections differentiate the network
    and trace its autograd graph, whatever grad mode the caller is in; a
    caller's ``torch.inference_mode()`` (common around inference code) made
    them fail with torch's "does not require grad", and ``torch.no_grad()``
    made activation maximization fail.
    """

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with torch.inference_mode(False), torch.enable_grad():
            return function(*args, **kwargs)

    return wrapper


#: The operations whose float32 torch may compute in lower precision (TF32 on
#: NVIDIA GPUs, bfloat16 or TF32 through oneDNN on some CPUs), by backend, and
#: the backend whose setting each follows while its own is "none" (CUDA's is
#: read at ``torch.backends.cudnn``; each backend's follows
#: ``torch.backends.fp32_precision``).
_REDUCED_PRECISION_OPERATIONS = (
    ("cuda", "matmul", "cudnn"),
    ("cudnn", "conv", "cudnn"),
    ("cudnn", "rnn", "cudnn"),
    ("mkldnn", "matmul", "mkldnn"),
    ("mkldnn", "conv", "mkldnn"),
    ("mkldnn", "rnn", "mkldnn"),
)


def _precision_settings():
    """Return ``(holder, attribute, full-precision value, followed)`` of torch's settings.

    ``followed`` is the holder of the setting that this one follows while it
    is ``"none"``, or None for settings that follow none.
    """
    if hasattr(torch.backends.cudnn, "conv"):
        # torch >= 2.9 sets precision per operation (fp32_precision), and
        # reading the older allow_tf32 once a user has set these raises.
        holders = (
            (
                getattr(getattr(torch.backends, backend, None), operation, None),
                getattr(torch.backends, followed),
            )
            for backend, operation, followed in _REDUCED_PRECISION_OPERATIONS
        )
        return [
            (holder, "fp32_precision", "ieee", followed)
            for holder, followed in holders
            if hasattr(holder, "fp32_precision")
        ]
    return [
        (torch.backends.cudnn, "allow_tf32", False, None),
        (torch.backends.cuda.matmul, "allow_tf32", False, None),
    ]


def _setting_to_restore(holder, attribute, followed):
    """Return the value that gives the caller back ``holder``'s setting.

    torch reads a setting of ``"none"`` as the one it follows, and does not
    say which it holds: one that reads as what it follows is restored as
    following it. Restored as read, it kept that value when the caller then
    changed ``torch.backends.fp32_precision`` (asking for full precision, a
    caller kept TF32 in cuBLAS's and oneDNN's products).
    """
    value = getattr(holder, attribute)
    if followed is not None and value == getattr(followed, attribute):
        return "none"
    return value


class _FullFloat32(HeldWhileUsed):
    """Compute float32 in full precision while any thread needs it.

    On Ampere and later NVIDIA GPUs, torch runs cuDNN convolutions in TF32 by
    default (10-bit mantissas): DeepLIFT's sums then missed the change of the
    logit by about 1e-3 instead of 1e-7, and its check refused maps that are
    right; checks that two computations of a network agree (folded batch
    norms, combined convolutions) failed alike. Attributions and those checks
    are computed in full precision; training keeps torch's settings.

    torch's settings are global, so they are changed by the first caller to
    enter and restored by the last to leave: with the save and restore of each
    call, two overlapping calls on threads (recordings explained on threads)
    ended each other's full precision and left the caller's settings changed.
    Meanwhile, other threads' work (training) runs in full precision too.
    """

    def _make(self):
        settings = _precision_settings()
        # The settings before the first caller entered.
        self._outside = [
            (holder, attribute, _setting_to_restore(holder, attribute, followed))
            for holder, attribute, _, followed in settings
        ]
        for holder, attribute, full, _ in settings:
            setattr(holder, attribute, full)

    def _undo(self):
        for holder, attribute, value in self._outside:
            setattr(holder, attribute, value)


full_float32 = _FullFloat32()


def layer_name(name, shown_names):
    """Return the name, among the wrapper's, of the layer the user calls ``name``.

    A wrapper (a CroppedClassifier's window average, a binary classifier's
    log-odds, the input scaling of a network of one's own) prefixes the names
    of the network it wraps. ``name`` is first read as the user's network
    names its layers (see :func:`shown_layer_name`): a network holding its
    own child at ``module`` has its ``"module"`` there, not the wrapper's
    ``"module"``, which is the whole network. Else it is a name in the
    wrapper, or the end of one: ``"separable_pool"`` means
    ``"module.separable_pool"`` when only one name ends with it, or when one
    is it behind the wrappers' prefixes alone (``"conv"`` is
    ``"module.conv"``, not ``"module.block.conv"``). Otherwise the name is
    returned as given, for the caller to refuse.

    Parameters
    ----------
    name : str
        The layer's name as the user gives it.
    shown_names : dict
        The wrapper's layer names (as ``named_modules`` gives them, or as
        layer calls repeat them), each to its name in the user's network.

    Returns
    -------
    name : str
        The layer's name in the wrapper, or ``name`` if no layer is it.
    """
    internal = {shown: wrapper for wrapper, shown in shown_names.items()}
    if name in internal:
        return internal[name]
    if name in shown_names:
        return name
    inside = [c for c in shown_names if c.endswith(f".{name}")]
    if len(inside) > 1:
        inside = [
            candidate
            for candidate in inside
            if set(candidate.removesuffix(f".{name}").split(".")) == {"module"}
        ]
    return inside[0] if len(inside) == 1 else name


def shown_layer_name(name, module):
    """Name a layer of ``module`` as its user knows it, without our wrappers' prefix.

    The input scaling of a network of one's own, a CroppedClassifier's window
    average, a binary classifier's log-odds and explain_spectrum's inverse
    Fourier transform hold the user's network at ``module`` (they say so by a
    true ``wraps_network``): its layer ``fc`` is ``module.fc`` in the wrapper
    (see :func:`layer_name` for the other way). Every message, and every
    result, naming a layer goes through here, so that one network's layers
    are never named two ways (a layer refusal said ``'module.block.norm'``
    where an operation refusal said ``'block.norm'``). The wrapped network
    itself is named by its class.

    Parameters
    ----------
    name : str
        The layer's name in ``module``, as ``module.named_modules()`` gives it
        (``""`` for ``module`` itself).
    module : torch.nn.Module
        The network as the methods run it.

    Returns
    -------
    name : str
        The name in the user's network.
    """
    while getattr(module, "wraps_network", False):
        if name == "module":
            return type(module.module).__name__
        if not name.startswith("module."):
            break
        name, module = name.removeprefix("module."), module.module
    return name or type(module).__name__


def wrapped_network(module):
    """Return the user's network inside our wrappers (see :func:`shown_layer_name`)."""
    while getattr(module, "wraps_network", False):
        module = module.module
    return module


def shown_layer_names(module):
    """Map each module of ``module`` to its :func:`shown_layer_name`.

    For the messages of code that walks ``module.named_modules()`` itself
    rather than recorded calls (which carry the name, see :class:`LayerCall`).
    """
    return {
        layer: shown_layer_name(name, module) for name, layer in module.named_modules()
    }


def foreign_parameter_free(layer):
    """Whether ``layer`` is defined outside PyTorch and holds no parameters.

    PyTorch's own layers are known by their class (a ``Tanh`` is refused as
    such); another library's or the user's module is known only by what it
    computes, which the autograd graph shows.
    """
    defined_in_torch = type(layer).__module__.split(".")[0] == "torch"
    return not defined_in_torch and next(layer.parameters(), None) is None


# -- copies -----------------------------------------------------------------------
def copy_module(module):
    """Return a deep copy of ``module``, whatever its last forward pass left on it.

    A tensor that a forward pass computes and keeps (torch's legacy
    ``weight_norm`` keeps the weight so, a layer may keep a list of its
    outputs) carries its graph, and ``copy.deepcopy`` refuses such tensors.
    The copy gets their values; its own forward passes compute them again.
    An attribute that cannot be copied at all (a lock, an open file, a
    logging writer) is shared with the copy, and said so, unless it reaches
    the network's own layers or tensors: the copy would then compute with
    the network itself, and randomizing or folding the copy's weights would
    change nothing it computes.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    copy : torch.nn.Module
        The copy, sharing with ``module`` only what cannot be copied.

    Raises
    ------
    TypeError
        If the network cannot be copied even so, saying so, where
        ``copy.deepcopy`` names only the object.
    """
    memo = {
        id(tensor): tensor.detach().clone()
        for layer in module.modules()
        for tensor in _graph_tensors(vars(layer).values())
    }
    try:
        copied = copy.deepcopy(module, memo=dict(memo))
    except Exception:  # deepcopy fails in as many ways as objects
        copied = None
    if copied is not None:
        return _repoint_weak_references(module, copied)
    shared = _uncopyable_attributes(module)
    own = {
        id(value)
        for value in (*module.modules(), *module.parameters(), *module.buffers())
    }
    reaching = [name for name, value in shared.items() if _reaches(value, own)]
    error = None
    if not reaching:
        try:
            copied = copy.deepcopy(
                module, memo={**memo, **{id(v): v for v in shared.values()}}
            )
        except Exception as caught:
            error = caught
    if reaching or error is not None:
        cause = (
            f"{', '.join(reaching)} cannot be copied and reach(es) the network's own "
            "layers or weights, which a copy sharing it would compute with"
            if reaching
            else f"{type(error).__name__}: {error}"
        )
        raise TypeError(
            f"The network cannot be copied ({cause}), and this works on a copy "
            "(the network as the caller has it is left alone). Give the class of "
            "what cannot be copied a __deepcopy__, or keep it outside the network "
            "(layers in the network's own attributes)."
        ) from error
    logger.info(
        "The network holds what cannot be copied "
        f"({', '.join(sorted(shared))}); its copy shares it with the network."
    )
    return _repoint_weak_references(module, copied)


def _repoint_weak_references(module, copied):
    """Point the copy's weak references to the network's own parts at the copy's.

    ``copy.deepcopy`` keeps a weak reference as it is, so a layer holding one
    to another layer or weight (a child's reference to its parent, say)
    would compute with the network rather than with the copy.
    """
    counterparts = {}
    for named in ("named_modules", "named_parameters", "named_buffers"):
        copies = dict(getattr(copied, named)(remove_duplicate=False))
        counterparts.update(
            (id(value), copies[name])
            for name, value in getattr(module, named)(remove_duplicate=False)
        )

    # What the copy shares with the network (what deepcopy returns as it is)
    # must not change; if it points at the network's parts, the copy would
    # compute with them.
    shared = {}
    for layer in module.modules():
        for name, value in vars(layer).items():
            if name not in _OWN_PARTS:
                _holds_weak_reference_to(value, counterparts, shared)
    done = {}

    def repointed(value):
        if isinstance(value, weakref.ref):
            counterpart = counterparts.get(id(value()))
            return value if counterpart is None else weakref.ref(counterpart)
        if isinstance(value, nn.Module | torch.Tensor):
            return value
        # A tuple is replaced, not changed: deepcopy returns one of weak
        # references as it is, and the copy's holder then takes a new one.
        if shared.get(id(value)) and not isinstance(value, tuple):
            raise TypeError(
                f"The network holds a {type(value).__name__} that its copies share "
                "with it (copy.deepcopy returns it as it is) and that refers weakly "
                "to the network's own layers or weights, so a copy would compute "
                "with the network itself; this works on a copy (the network as "
                "the caller has it is left alone). Let it be copied (no "
                "__deepcopy__ returning itself), or hold the layers otherwise."
            )
        if id(value) in done or (id(value) in shared and not isinstance(value, tuple)):
            return done.get(id(value), value)
        done[id(value)] = value  # a container holding itself
        if isinstance(value, weakref.WeakValueDictionary):
            update(value, list(value.keys()), lambda part: counterparts.get(id(part)))
        elif isinstance(value, weakref.WeakKeyDictionary):
            for key in [key for key in value.keys() if id(key) in counterparts]:
                value[counterparts[id(key)]] = value.pop(key)
        elif isinstance(value, list | dict):
            update(
                value, value.keys() if isinstance(value, dict) else range(len(value))
            )
        elif isinstance(value, tuple):
            parts = [repointed(part) for part in value]
            if any(new is not old for new, old in zip(parts, value, strict=True)):
                done[id(value)] = (
                    type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
                )
        elif _is_plain_object(value):
            for name, part in _state(value).items():
                new = repointed(part)
                if new is not part:
                    object.__setattr__(value, name, new)
        return done[id(value)]

    def update(holder, keys, repoint=repointed):
        # Written only where changed: some dicts refuse writes (mne.Info).
        for key in list(keys):
            new = repoint(holder[key])
            if new is not None and new is not holder[key]:
                holder[key] = new

    for layer in copied.modules():
        update(vars(layer), [k for k in vars(layer) if k not in _OWN_PARTS])
    return copied


def _holds_weak_reference_to(value, targets, held):
    """Whether ``value`` refers weakly to any of ``targets`` (ids to objects).

    Follows what :func:`_repoint_weak_references` follows (containers, plain
    objects, weak dictionaries), recording in ``held`` the answer for each
    container and object met, by id.
    """
    if isinstance(value, weakref.ref):
        return id(value()) in targets
    if isinstance(value, nn.Module | torch.Tensor) or id(value) in held:
        return held.get(id(value), False)
    if isinstance(value, weakref.WeakValueDictionary):
        parts, weak = list(value.values()), True
    elif isinstance(value, weakref.WeakKeyDictionary):
        parts, weak = list(value.keys()), True
    elif isinstance(value, dict):
        parts, weak = list(value.values()), False
    elif isinstance(value, list | tuple):
        parts, weak = list(value), False
    elif _is_plain_object(value):
        parts, weak = list(_state(value).values()), False
    else:
        return False
    held[id(value)] = False  # a container holding itself
    held[id(value)] = any(
        [
            id(part) in targets
            if weak
            else _holds_weak_reference_to(part, targets, held)
            for part in parts
        ]
    )
    return held[id(value)]


#: The attributes in which a module keeps its parameters, buffers and layers.
_OWN_PARTS = ("_parameters", "_buffers", "_modules")


def _graph_tensors(values, seen=None):
    """Yield the tensors with a graph among ``values``, in lists, tuples and dicts too."""
    seen = set() if seen is None else seen  # containers may hold themselves
    for value in values:
        if isinstance(value, torch.Tensor):
            if value.grad_fn is not None:
                yield value
        elif isinstance(value, list | tuple | dict) and id(value) not in seen:
            seen.add(id(value))
            parts = value.values() if isinstance(value, dict) else value
            yield from _graph_tensors(parts, seen)


def _uncopyable_attributes(module):
    """Return {"layer.attribute...": value} of the parts ``copy.deepcopy`` refuses.

    Parameters, buffers and sub-layers are left out: the copy must own them.
    Containers and plain objects that fail are searched for the parts that
    fail (the lock in a dict of statistics, in an object that also holds a
    layer), so that only those are shared and the rest is copied.
    """
    shared = {}

    def search(path, value):
        try:
            copy.deepcopy(value, memo={id(t): t for t in _graph_tensors([value])})
            return
        except Exception:
            pass
        if isinstance(value, dict):
            parts = value.items()
        elif isinstance(value, list | tuple):
            parts = enumerate(value)
        elif _is_plain_object(value):
            parts = _state(value).items()
        else:
            shared[path] = value
            return
        for key, part in parts:
            search(f"{path}[{key!r}]", part)

    for path, layer in module.named_modules():
        # Named in the user's network: this lists what it cannot copy.
        where = f"{shown_layer_name(path, module)}." if path else ""
        for name, value in vars(layer).items():
            if name not in _OWN_PARTS and not isinstance(value, torch.Tensor):
                search(f"{where}{name}", value)
    return shared


def _is_plain_object(value):
    """Whether ``value`` is an instance whose attributes are its state."""
    return bool(_state(value)) and not isinstance(
        value,
        type | types.ModuleType | types.FunctionType | types.MethodType | nn.Module,
    )


def _state(value):
    """Return the attributes of ``value``: its ``__dict__`` and its slots."""
    state = dict(getattr(value, "__dict__", None) or {})
    for kind in type(value).__mro__:
        slots = kind.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(value, name):
                state[name] = getattr(value, name)
    return state


#: How many objects :func:`_reaches` follows before it gives up (and says yes).
_MAX_REACHED = 100_000


def _reaches(value, targets):
    """Whether ``value`` refers, through attributes and containers, to any of ``targets``.

    Objects too many to follow count as reaching: sharing is safe only
    where it is known to be.
    """
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(
            item, str | bytes | int | float | complex | type | types.ModuleType
        ):
            continue
        if id(item) in targets:
            return True
        seen.add(id(item))
        if len(seen) > _MAX_REACHED:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, types.MethodType):
            stack.append(item.__self__)
        elif _is_plain_object(item):
            stack.extend(_state(item).values())
        elif not isinstance(item, types.FunctionType):
            # What a generator's frame or a C object holds.
            stack.extend(gc.get_referents(item))
    return False


# -- parametrized weights ---------------------------------------------------------
#: torch's forward pre-hooks that set a layer's weight from other tensors at
#: every call (the older weight_norm and spectral_norm, and pruning's mask), the
#: function removing each, and the hook's attribute naming the weight.
_WEIGHT_HOOKS = {
    WeightNorm: (remove_weight_norm, "name"),
    SpectralNorm: (remove_spectral_norm, "name"),
    prune.BasePruningMethod: (prune.remove, "_tensor_name"),
}


def _weight_hooks(layer):
    """Return the name and the remover of each weight a hook of ``layer`` computes."""
    return [
        (getattr(hook, attribute), remove)
        for hook in layer._forward_pre_hooks.values()
        for kind, (remove, attribute) in _WEIGHT_HOOKS.items()
        if isinstance(hook, kind)
    ]


def without_parametrizations(module):
    """Return ``module``, or a copy whose parametrized weights are plain parameters.

    torch's parametrizations (braindecode's max-norm constraints) compute a
    weight from other parameters at every access, in modules hidden inside the
    layer; torch's older ``weight_norm`` and ``spectral_norm``, and pruning
    (:mod:`torch.nn.utils.prune`, ``weight_orig`` times ``weight_mask``),
    compute it in a forward pre-hook at every call, which would overwrite a
    weight folded with a batch norm (torch failed with "cannot assign ... as
    parameter 'weight'"). In evaluation mode the weight is fixed: the copy
    holds its current value, computes the same function, and is a plain layer
    that rules and layer checks can see. The original module is not touched.

    Parameters
    ----------
    module : torch.nn.Module
        The network (spectral norm's weight is taken as evaluation mode
        computes it).

    Returns
    -------
    module : torch.nn.Module
        ``module`` itself if nothing in it is parametrized, else the copy.
    """
    if not any(
        parametrize.is_parametrized(layer) or _weight_hooks(layer)
        for layer in module.modules()
    ):
        return module
    plain = copy_module(module)
    for layer in plain.modules():
        for name, remove in _weight_hooks(layer):
            trainable = any(
                parameter.requires_grad
                for key, parameter in layer.named_parameters(recurse=False)
                if key.startswith(name)
            )
            remove(layer, name)
            getattr(layer, name).requires_grad_(trainable)
    parametrized = [
        layer for layer in plain.modules() if parametrize.is_parametrized(layer)
    ]
    for layer in parametrized:
        weights = {
            name: nn.Parameter(
                getattr(layer, name).detach().clone(),
                requires_grad=any(
                    parameter.requires_grad
                    for parameter in layer.parametrizations[name].parameters()
                ),
            )
            for name in layer.parametrizations
        }
        # torch's remove_parametrizations would delete the weight's property
        # from the parametrized class, which the copy shares with the
        # original: the copy gets back the layer's own class instead.
        layer.__class__ = type(layer).__bases__[0]
        del layer._modules["parametrizations"]
        for name, weight in weights.items():
            layer.register_parameter(name, weight)
    return plain


def pruning_masks(module):
    """Return the masks of the weights pruned with :mod:`torch.nn.utils.prune`.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    masks : dict of (str, str) -> torch.Tensor
        Each pruned weight's mask of zeros and ones, keyed by the layer's name
        (as ``get_submodule`` takes it) and the weight's.
    """
    return {
        (path, hook._tensor_name): getattr(layer, f"{hook._tensor_name}_mask")
        for path, layer in module.named_modules()
        for hook in layer._forward_pre_hooks.values()
        if isinstance(hook, prune.BasePruningMethod)
    }


# -- layers in call order ---------------------------------------------------------
@dataclass
class LayerCall:
    """One call of a layer in a forward pass.

    Attributes
    ----------
    name : str
        The layer's name in the network (the network's class name when the
        network itself is the layer), as ``get_submodule`` and ``layer=``
        take it.
    module : torch.nn.Module
        The layer.
    shown_name : str
        Its name in the user's network (see :func:`shown_layer_name`), for
        messages and results.
    input : torch.Tensor | None
        The tensor it received, if the tensors were kept.
    output : torch.Tensor | None
        The tensor it returned, if the tensors were kept.
    """

    name: str
    module: nn.Module
    shown_name: str
    input: torch.Tensor | None = None
    output: torch.Tensor | None = None


def check_hookable(module):
    """Refuse a compiled network (TorchScript, torch.compile), whose layers take no hooks.

    mne_xai checks what a network computes, explains it and inspects it
    through hooks on its layers; torch fails inside them with
    "register_forward_hook is not supported on ScriptModules", and copying or
    training a compiled network fails as obscurely. A ``torch.compile``
    network failed in dynamo's words ("is already tracked for mutation"),
    and training one in "has no attribute 'training_std'".

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    """
    network = wrapped_network(module)
    for name, layer in module.named_modules():
        # The user's network inside our wrappers is "the network" too.
        whole = name == "" or layer is network
        where = (
            "The network"
            if whole
            else f"The network's layer {shown_layer_name(name, module)!r}"
        )
        if isinstance(layer, ScriptModule):
            raise TypeError(
                f"{where} is TorchScript (compiled by torch.jit.script or "
                "torch.jit.trace), whose layers cannot be hooked: mne_xai reaches "
                "into a network's layers to check, explain and inspect what it "
                "computes. Give the torch.nn.Module it was compiled from."
            )
        # torch.compile's wrapper, whose class torch keeps private.
        if type(layer).__name__ == "OptimizedModule" and hasattr(layer, "_orig_mod"):
            advice = (
                "Give the module it was compiled from, compiled._orig_mod (it "
                "shares the compiled network's parameters)."
                if whole
                else "Build the network with that layer as it is, uncompiled (a "
                "network class that compiles its layers in __init__ cannot be "
                "given)."
            )
            raise TypeError(
                f"{where} is compiled by torch.compile, whose traced graph breaks "
                "on the hooks mne_xai puts on a network's layers to check, explain "
                f"and inspect what it computes. {advice}"
            )


#: The methods by which a layer computes: its ``forward``, and the convolution
#: that a convolution's ``forward`` calls (a subclass standardizing its
#: weight may override that alone).
COMPUTING_METHODS = ("forward", "_conv_forward")


def has_own_forward(module, kind):
    """Whether ``module`` computes by another ``forward`` than the class ``kind``'s.

    A subclass's ``forward`` or ``_conv_forward``, or one set on the instance
    (found in its ``__dict__``, as a mask of an ablation may be).
    """
    return any(
        getattr(type(module), name) is not getattr(kind, name) or name in vars(module)
        for name in COMPUTING_METHODS
        if hasattr(kind, name)
    )


#: The hooks torch runs around a module's forward and backward passes.
HOOK_KINDS = (
    "forward_hooks",
    "forward_pre_hooks",
    "backward_hooks",
    "backward_pre_hooks",
)


def runs_hooks(module, kinds=HOOK_KINDS):
    """Whether calling ``module`` runs hooks of ``kinds``: its own or every module's.

    A user's hook (an ablation's mask on a layer's output, a changed
    gradient) is part of what the network computes, which a rearranged copy
    of its layers would not run, nor a rule chosen by the layer's class
    apply.

    Parameters
    ----------
    module : torch.nn.Module
        The layer.
    kinds : tuple of str
        Kinds of hooks, among :data:`HOOK_KINDS`.

    Returns
    -------
    runs : bool
        Whether it runs any.
    """
    # Registered for every module by torch.nn.modules.module.register_module_*.
    every_module = torch.nn.modules.module
    return any(
        getattr(module, f"_{kind}", None)
        or getattr(every_module, f"_global_{kind}", None)
        for kind in kinds
    )


def remove_backward_hooks(module):
    """Remove the backward hooks of ``module``'s layers, in place (on a copy).

    A backward hook (``register_full_backward_hook``) changes the gradient
    torch computes, not the function the network computes, which is what is
    explained and inspected: a hook halving a layer's gradient halved the
    saliency maps, and one that only records (a user's own Grad-CAM) was
    called by every pass and refused by the rule methods as an operation
    they have no rule for. Forward hooks stay: they change the function.

    Parameters
    ----------
    module : torch.nn.Module
        A private copy of the network.
    """
    for layer in module.modules():
        for kind in ("_backward_hooks", "_backward_pre_hooks"):
            # New dicts, not cleared ones: a copy may share what it holds with
            # the network (see copy_module), whose hooks stay.
            if hasattr(layer, kind):
                setattr(layer, kind, type(getattr(layer, kind))())
        layer._is_full_backward_hook = None


def check_float32(module):
    """Refuse a network whose weights are of another type than float32.

    mne_xai gives every network its epochs in float32, and torch fails on
    float64 weights with "Input type (float) and bias type (double) should
    be the same", deep in the first layer.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    """
    kinds = {
        parameter.dtype
        for parameter in module.parameters()
        if parameter.is_floating_point()
    }
    if kinds - {torch.float32}:
        other = ", ".join(sorted(str(kind).removeprefix("torch.") for kind in kinds))
        raise TypeError(
            f"The network's weights are {other}, and mne_xai gives networks their "
            "epochs in float32. Convert it with module.float()."
        )


def _is_leaf(layer):
    return next(layer.children(), None) is None


def _holds_parameters(layer):
    return next(layer.parameters(recurse=False), None) is not None


_LAYER_KINDS = {"leaves": _is_leaf, "parameterized": _holds_parameters}


def named_layers(module, layers="leaves"):
    """Name and module of each layer of ``module``, in registration order.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    layers : "leaves" | "parameterized" | iterable of torch.nn.Module
        Which modules are layers: those without children, those holding
        parameters of their own (containers included), or the given modules.

    Returns
    -------
    layers : list of (str, torch.nn.Module)
        Each layer once, named as by ``module.named_modules()``; the network
        itself, when it is a layer, is named after its class.
    """
    if isinstance(layers, str):
        is_layer = _LAYER_KINDS[layers]
    else:
        is_layer = set(layers).__contains__
    return [
        (name or type(layer).__name__, layer)
        for name, layer in module.named_modules()
        if is_layer(layer)
    ]


@contextmanager
def record_calls(module, layers="leaves", *, keep_tensors=True, intact=False):
    """Record the calls of ``module``'s layers, in call order, while the context is open.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    layers : "leaves" | "parameterized" | iterable of torch.nn.Module
        Which modules to record (see :func:`named_layers`).
    keep_tensors : bool
        Keep the tensor each call received and returned; every recorded call
        must then map one tensor to one tensor.
    intact : bool
        Keep those tensors as the call received and returned them, which a
        layer working in place (``nn.ELU(inplace=True)``) would otherwise
        overwrite: its input is copied before the call, and the layers after
        it get a copy of its output (so the gradient on the output is that
        of the output). Only with ``keep_tensors``. The input is then the one
        the layer is called with, before its forward pre-hooks, which calling
        it again on that input runs again.

    Yields
    ------
    calls : list of LayerCall
        Filled as forward passes run; a call is recorded when it returns, so a
        container holding parameters comes after the layers it calls.
    """
    calls = []
    names = {layer: name for name, layer in named_layers(module, layers)}
    # Named for messages once here, where every method's calls are recorded.
    shown = {layer: shown_layer_name(name, module) for layer, name in names.items()}
    received = {}  # per layer, copies of the inputs of its calls under way

    def keep_inputs(layer, layer_inputs):
        received.setdefault(layer, []).append(
            [v.clone() if isinstance(v, torch.Tensor) else v for v in layer_inputs]
        )

    def record(layer, layer_inputs, output):
        if intact:
            layer_inputs = received[layer].pop()
        if not keep_tensors:
            calls.append(LayerCall(names[layer], layer, shown[layer]))
            return
        if not (len(layer_inputs) == 1 and isinstance(output, torch.Tensor)):
            raise ValueError(
                f"Layer {shown[layer]!r} ({type(layer).__name__}) does not map one "
                "tensor to one tensor, so methods that follow the network layer "
                "by layer (propagation rules, class activation maps) cannot pass "
                "it. Methods of the whole network's gradient or output, such as "
                "saliency, integrated_gradients or occlusion, can."
            )
        calls.append(
            LayerCall(names[layer], layer, shown[layer], layer_inputs[0], output)
        )
        return output.clone() if intact else None

    handles = [layer.register_forward_hook(record) for layer in names]
    if intact:
        # Before the user's pre-hooks: FullGrad calls the layer again on the
        # input kept, which runs them again (a hook scaling an ELU's input
        # scaled it twice, and its decomposition did not hold).
        handles += [
            layer.register_forward_pre_hook(keep_inputs, prepend=True)
            for layer in names
        ]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


# Probes of a network (impulses, scaled copies of an epoch), which shortcuts and
# checks build one per channel or per test, go through it in passes of at most
# this many input values (4 MiB in float32, whatever the batch size): their
# memory then grows with neither n_channels² nor the number of probes.
PROBE_VALUES_PER_PASS = 2**20


def probes_per_pass(probe_size):
    """Return how many probes of ``probe_size`` values each to pass at once.

    As many as ``PROBE_VALUES_PER_PASS`` values hold, at least one. Several
    where they fit, even at a batch size of 1: single-epoch passes of a long
    temporal convolution take a slow path of torch on the CPU (7 times slower
    per epoch than 8 at once, for EEGNet at 512 Hz).
    """
    return max(1, PROBE_VALUES_PER_PASS // probe_size)


def trace_layers(module, inputs, layers="leaves", *, keep_tensors=True):
    """Run ``module`` once, without gradients, and list its layers' calls in order.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in the mode (training or evaluation) to trace.
    inputs : torch.Tensor
        A batch it accepts (one epoch is enough).
    layers : "leaves" | "parameterized" | iterable of torch.nn.Module
        Which modules to list (see :func:`named_layers`).
    keep_tensors : bool
        Keep the tensors each call received and returned (see
        :func:`record_calls`).

    Returns
    -------
    calls : list of LayerCall
        The layers called, as often as they are called.
    """
    with record_calls(module, layers, keep_tensors=keep_tensors) as calls:
        with torch.no_grad():
            module(inputs)
    return calls


def tensors_in(value):
    """List the tensors in ``value`` and the lists, tuples and dicts in it."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [tensor for item in value for tensor in tensors_in(item)]
    if isinstance(value, dict):
        return tensors_in(list(value.values()))
    return []


class EagerFunctionMode(TorchFunctionMode):
    """A function mode under which compiled functions run as the Python they compile.

    torch.compile traces a mode's ``__torch_function__`` into the code it
    compiles, guarding on the id of every tensor the mode reads: a compiled
    function was compiled again at every call (a minute with inductor), and
    torch printed its recompile_limit warnings to the user. While the mode is
    on, compiled functions run as the Python they compile, every call in them
    seen as written (torch 2.6 and later; before, what the mode sees is the
    same, only slower and with the warnings).
    """

    def __enter__(self):
        set_stance = getattr(torch.compiler, "set_stance", None)
        self._eager = set_stance("force_eager") if set_stance else nullcontext()
        self._eager.__enter__()
        return super().__enter__()

    def __exit__(self, *exception):
        try:
            return super().__exit__(*exception)
        finally:
            self._eager.__exit__(*exception)


@contextmanager
def outputs_held(layers):
    """Hold the outputs of ``layers`` constant (detached) while the context is open.

    Whether the input still reaches a tensor of a forward pass run inside
    (see :func:`input_gradient`) then says whether it does so through other
    paths than these layers. The held outputs are leaves of their own, listed
    in the yielded list as they are computed, so whether a tensor depends on
    them can be asked too.
    """
    held_outputs = []

    def held(_layer, _inputs, output):
        held_outputs.append(output.detach().requires_grad_())
        # A copy, which the network may change in place (a leaf may not be).
        return held_outputs[-1].clone()

    handles = [layer.register_forward_hook(held) for layer in layers]
    try:
        yield held_outputs
    finally:
        for handle in handles:
            handle.remove()


def input_gradient(tensor, inputs):
    """Return the gradient of ``tensor``'s sum with respect to ``inputs``.

    ``None`` when no differentiable path joins them.
    """
    if not tensor.requires_grad:
        return None
    return torch.autograd.grad(
        tensor.sum(), inputs, retain_graph=True, allow_unused=True
    )[0]


#: Below this fraction of the largest, an input sample's gradient on a layer
#: sample is no reading of that time.
READ_FRACTION = 1e-2
#: Nor is a gradient below this many times its median over the epoch's times:
#: a statistic of the whole epoch (each epoch divided by its standard deviation
#: in forward, a normalization over time, a gate) reaches every time, at a
#: level the median gives, which passed 1 % of the largest.
READ_ABOVE_MEDIAN = 10.0


def input_samples_read(module, layer, inputs, samples, held=()):
    """Return the first and last input time each of ``samples`` of ``layer`` reads.

    The samples are indices on the last axis of the output of ``layer``'s
    last call. An input time is read where the gradient of the sample (its
    maps weighed by fixed noise) on it, summed over ``inputs``' epochs and
    channels, is at least :data:`READ_FRACTION` of its largest and
    :data:`READ_ABOVE_MEDIAN` times its median: the receptive field the
    sample actually has, whatever the layers' shapes say.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    layer : torch.nn.Module
        One of its layers.
    inputs : torch.Tensor, shape (batch, n_channels, n_times)
        Epochs it accepts (several give the winners of max pooling more
        chances to cover their windows).
    samples : list of int
        Indices on the last axis of the layer's output.
    held : list of torch.nn.Module
        Layers whose outputs are held constant (see :func:`outputs_held`),
        such as attention gates, which read the whole epoch to scale maps.

    Returns
    -------
    reads : list of (int, int) | None
        Per sample, the first and last input time it reads; None where the
        input does not reach it.
    """
    captured = {}

    def keep(_layer, _inputs, output):
        captured["output"] = output

    inputs = inputs.detach().clone().requires_grad_()
    handle = layer.register_forward_hook(keep)
    # Under enable_grad throughout: callers may run under no_grad.
    with torch.enable_grad():
        try:
            with outputs_held(held):
                module(inputs)
        finally:
            handle.remove()
        output = captured["output"]
        weights = fixed_noise(output.shape[:-1], output)
        gradients = [
            input_gradient(output[..., sample] * weights, inputs) for sample in samples
        ]
    reads = []
    for gradient in gradients:
        spread = None if gradient is None else gradient.abs().flatten(0, -2).sum(0)
        if spread is None or not bool(spread.max() > 0):
            reads.append(None)
            continue
        # At most the largest: a gradient even over the epoch (time pooled
        # whole) reads at least where it is largest.
        level = torch.maximum(
            READ_FRACTION * spread.max(), READ_ABOVE_MEDIAN * spread.median()
        ).clamp(max=spread.max())
        read = torch.nonzero(spread >= level).ravel()
        reads.append((int(read[0]), int(read[-1])))
    return reads


def sample_reading_outside_its_field(
    module, layer, inputs, *, first_center, step, width, n_samples, held=()
):
    """Find a sample of ``layer`` that reads input times outside its receptive field.

    The grids of times follow the lengths that convolutions and poolings
    leave, so a delay that keeps the length (padding before, cropping after)
    or a ``torch.roll`` goes unseen by them: the samples after it were placed
    2 to 9 samples off. The input times read by the samples nearest a quarter,
    half and three quarters into the epoch, whose fields lie inside it (see
    :func:`input_samples_read`), must lie within the field the grid gives
    them, give or take a sample.

    Parameters
    ----------
    module, layer, inputs, held
        As for :func:`input_samples_read`.
    first_center, step : float
        The input time of the layer's first sample and the step between its
        samples, in input samples.
    width : float
        The width of a sample's receptive field, in input samples.
    n_samples : int
        The number of samples on the last axis of the layer's output.

    Returns
    -------
    outside : tuple of (int, float, (int, int)) | None
        The first sample reading outside its field, its center and the first
        and last input time it reads; None when every sample checked reads
        within its field.
    """
    n_times, half = inputs.shape[-1], (width - 1) / 2
    samples = {
        min(max(round((moment - first_center) / step), 0), n_samples - 1)
        for moment in (n_times // 4, n_times // 2, (3 * n_times) // 4)
    }
    centers = {sample: first_center + sample * step for sample in samples}
    inside = [s for s, c in centers.items() if c - half >= 0 and c + half < n_times]
    reads = input_samples_read(module, layer, inputs, inside, held)
    for sample, read in zip(inside, reads, strict=True):
        center = centers[sample]
        if read is not None and not (
            read[0] >= center - half - 1 and read[1] <= center + half + 1
        ):
            return sample, center, read
    return None


# -- layers combined in a function ------------------------------------------------
def _call_children(self, x):
    """Forward of a module that calls its children in order."""
    for child in self.children():
        x = child(x)
    return x


@torch.no_grad()
@full_float32()
def call_combined_layers(module, example):
    """Make ``module`` call the layers whose parameters a module combines.

    braindecode's CombinedConv convolves once with the product of the kernels
    of its ``conv_time`` and ``conv_spat`` layers and calls neither, so rules,
    hooks and randomization meet one module whose arithmetic nothing knows,
    and the output of a temporal filter is never computed. A module that
    calls none of the modules inside it but uses its children's parameters,
    and computes what calling its children in order computes (checked on
    ``example`` and on noise), is made to call them: ``module`` then computes
    the same function through its layers.

    Parameters
    ----------
    module : torch.nn.Module
        A private copy of the network, in evaluation mode, changed in place.
    example : torch.Tensor, shape (1, n_channels, n_times)
        One epoch it accepts. A network failing on it is left as it is, for
        the caller's checks of the output to name the failure.
    """
    modules = list(module.modules())
    try:
        called = {
            call.module
            for call in trace_layers(module, example, modules, keep_tensors=False)
        }
    except (IndexError, RuntimeError):  # written for another input shape
        return
    combining = [
        layer
        for layer in called
        if not any(inner in called for inner in list(layer.modules())[1:])
        and any(
            next(child.parameters(), None) is not None for child in layer.children()
        )
    ]
    if not combining:
        return
    # Noise beside the epoch, which may be zeros: the function is compared on
    # an input that every weight affects. Drawn on the CPU, so that a GPU
    # compares on the same noise.
    noise = fixed_noise(example.shape, example, dtype=example.dtype)
    try:
        calls = trace_layers(module, torch.cat([example, noise]), combining)
    except ValueError:  # a module that does not map one tensor to one tensor
        return
    for layer in combining:
        if all(_calls_its_children(call) for call in calls if call.module is layer):
            layer.forward = types.MethodType(_call_children, layer)


#: Two computations of one output may differ by this part of its range: float32
#: sums in another order.
OUTPUT_RTOL = 1e-4


def call_keeping_input(module, inputs):
    """Return ``module(inputs)``, refusing a network that changes its input in place.

    mne_xai reads the epochs it passed to a network again after the pass:
    training at every pass over the training epochs, the methods and the
    evaluations wherever they compare. A network whose ``forward`` changes
    its input in place (a scaling applied again at every pass) had them all
    read other epochs than they passed, silently; methods that differentiate
    the network failed with torch's "a leaf Variable that requires grad is
    being used in an in-place operation".

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    inputs : torch.Tensor
        Its input; not a leaf that requires grad (torch refuses to change
        one in place before this can say why).

    Returns
    -------
    outputs : torch.Tensor
        The network's output.
    """
    # Compared by value: the tensors of torch.inference_mode count no versions.
    kept = inputs.detach().clone()
    outputs = module(inputs)
    if not torch.equal(inputs.detach(), kept):
        raise ValueError(
            "The network changes its input in place in forward (e.g. x -= "
            "x.mean(-1, keepdim=True), or x *= scale), so the epochs mne_xai "
            "passes to it are changed by each pass, and training, the methods "
            "and the evaluations would read other epochs than they gave it. "
            "Compute on a copy in forward (x = x - x.mean(-1, keepdim=True), "
            "x = x * scale)."
        )
    return outputs


def outputs_agree(obtained, expected, atol=0.0):
    """Whether ``obtained`` is ``expected`` computed another way.

    They may differ by float32 rounding: ``OUTPUT_RTOL`` of the range of
    ``expected``, plus ``atol`` (for outputs that may all be near zero).
    """
    return (
        obtained.shape == expected.shape
        and float((obtained - expected).abs().max())
        <= OUTPUT_RTOL * float(expected.abs().max()) + atol
    )


def _calls_its_children(call):
    """Whether ``call`` returned what its module's children, called in order, do."""
    try:
        chained = _call_children(call.module, call.input)
    except RuntimeError:  # the children do not chain (their shapes)
        return False
    return outputs_agree(chained, call.output)


# -- batch norm -------------------------------------------------------------------
def batch_norm_affine(batch_norm, name):
    """Scale and shift of a batch norm in evaluation mode: ``y = scale * x + shift``.

    Parameters
    ----------
    batch_norm : torch.nn.modules.batchnorm._BatchNorm
        The layer.
    name : str
        Its name, for the error message.

    Returns
    -------
    scale, shift : torch.Tensor, shape (num_features,)
        Detached from the layer's parameters.
    """
    if batch_norm.running_var is None:
        raise ValueError(
            f"Batch norm {name!r} keeps no running statistics, so its output depends "
            "on the batch and it cannot be folded; use track_running_stats=True."
        )
    scale, shift = normalization_affine(
        batch_norm, batch_norm.running_mean, batch_norm.running_var
    )
    return scale.detach(), shift.detach()


def normalization_affine(batch_norm, mean, var):
    """Scale and shift of a batch norm normalizing by ``mean`` and ``var``.

    ``y = scale * x + shift``: evaluation mode normalizes by the running
    statistics, training mode by the batch's (biased variance).

    Parameters
    ----------
    batch_norm : torch.nn.modules.batchnorm._BatchNorm
        The layer (its ``eps`` and affine weight and bias).
    mean, var : torch.Tensor, shape (num_features,)
        The statistics it normalizes by.

    Returns
    -------
    scale, shift : torch.Tensor, shape (num_features,)
        Differentiable in ``mean``, ``var`` and the layer's parameters.
    """
    scale = torch.rsqrt(var + batch_norm.eps)
    shift = -mean * scale
    if batch_norm.affine:
        scale = scale * batch_norm.weight
        shift = shift * batch_norm.weight + batch_norm.bias
    return scale, shift
