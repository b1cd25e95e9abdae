"""Model parameter randomization: re-initialize layers from the output down."""

import torch
from mne.utils import _check_option, logger, verbose
from torch import nn

from ..._docs import fill_doc
from ..._graph import (
    EagerFunctionMode,
    autograd_on,
    copy_module,
    pruning_masks,
    shown_layer_name,
    tensors_in,
    trace_layers,
    without_parametrizations,
)
from ..._network import as_network
from ..._random import seeded_torch
from ..._warnings import warnings_once
from ...attribution._core import _check_outputs, method_parameters, private_module
from ...attribution._registry import get_method, list_methods
from ._compare import (
    _compare_to_variants,
    _random_seeds,
    _set_up,
    refuse_learned_patterns,
)
from ._result import SanityCheckResult

_MODES = ("cascading", "independent")


def _check_mode(mode, method):
    """Refuse a mode the check has not, naming the method's own ``mode`` if it has one.

    ``mode="time"``, asked of occlusion, was refused with the check's modes
    alone.
    """
    if (
        isinstance(mode, str)
        and mode not in _MODES
        and method in list_methods()
        and "mode" in get_method(method).parameters()
    ):
        raise ValueError(
            f"mode={mode!r}: mode is the check's own, 'cascading' or 'independent'. "
            f"To set {method}'s mode, pass method_params=dict(mode={mode!r})."
        )
    _check_option("mode", mode, _MODES)


def _initializer(layer):
    """Return the method that draws ``layer``'s initial parameters, or None.

    torch's own ``nn.MultiheadAttention`` calls it ``_reset_parameters``.
    """
    return getattr(layer, "reset_parameters", None) or getattr(
        layer, "_reset_parameters", None
    )


def _check_initializer_draws_every_parameter(layer, name, device):
    """Refuse a layer whose initializer leaves some of its parameters as they are.

    torch's older ``torch.nn.utils.weight_norm`` computes ``weight`` from
    ``weight_g`` and ``weight_v`` before every forward pass, so that
    ``reset_parameters`` re-draws a weight the next pass overwrites; a layer
    adding a parameter to an inherited ``reset_parameters`` keeps it trained.
    Either left the network trained: maps unchanged at every step, and saliency
    reported as failing. Each parameter of ``layer`` (a copy) is set to NaN
    first; one still NaN afterwards was not drawn. The layer is restored
    after.
    """
    parameters = dict(layer.named_parameters(recurse=False))
    tensors = [*parameters.values(), *layer.buffers(recurse=False)]
    saved = [tensor.detach().clone() for tensor in tensors]
    with torch.no_grad(), seeded_torch(0, device):
        for parameter in parameters.values():
            parameter.fill_(float("nan"))
        _initializer(layer)()
        kept = [key for key, value in parameters.items() if torch.isnan(value).any()]
        for tensor, value in zip(tensors, saved, strict=True):
            tensor.copy_(value)
    if kept:
        raise ValueError(
            f"Layer {name!r} ({type(layer).__name__}): its reset_parameters() "
            f"leaves parameter(s) {kept} as they are, so randomizing it would "
            "leave it trained. Draw every parameter in reset_parameters (for "
            "weight normalization, use torch.nn.utils.parametrizations."
            "weight_norm, whose weight is re-drawn, rather than the older "
            "torch.nn.utils.weight_norm), or use the data or target "
            "randomization checks."
        )


def _parameters_reaching_the_logits(module, example):
    """Return the parameters of ``module`` on which its logits depend.

    Frozen parameters count too: they are made to require gradients for one
    pass, then restored.
    """
    parameters = list(module.parameters())
    frozen = [parameter for parameter in parameters if not parameter.requires_grad]
    try:
        for parameter in frozen:
            parameter.requires_grad_(True)
        with torch.enable_grad():
            gradients = torch.autograd.grad(
                module(example).sum(), parameters, allow_unused=True
            )
    finally:
        for parameter in frozen:
            parameter.requires_grad_(False)
    return {
        parameter
        for parameter, gradient in zip(parameters, gradients, strict=True)
        if gradient is not None
    }


def _randomization_units(estimator, epoch_shape):
    """Return the units re-initialized one at a time, in the order they run.

    A layer holding parameters is a unit when the forward pass calls it, as
    the methods run the network (see :func:`private_module`: braindecode's
    ``CombinedConv`` calls its ``conv_time`` and ``conv_spat`` there, two
    units). Parameters that a module uses in a function of its forward,
    without calling the layers holding them, act where that module runs: the
    nearest module called above those layers is their unit. A unit runs where
    the forward pass first reads its parameters: a module's own parameters
    may act before the layers it calls (a learned positional embedding added
    to the input of a network) or after them (a gain on their output).
    Registration order need not be the order of ``forward``, so the order is
    traced during one forward pass of an epoch of ``epoch_shape``
    (n_channels, n_times), on a copy of the network.

    Returns
    -------
    units : list of (str, list of str)
        The name of each unit (as the steps show it) and the names of the
        layers it re-initializes, as ``get_submodule`` takes them.
    """
    device = next(estimator.module_.parameters()).device
    example = torch.zeros(1, *epoch_shape, device=device, dtype=torch.float32)
    module = without_parametrizations(private_module(estimator, device, example))
    _check_outputs(
        module,
        example,
        "parameter randomization",
        differentiates=False,
        name="An epoch of zeros",
    )
    calls = trace_layers(module, example, list(module.modules()), keep_tensors=False)
    # Names as get_submodule takes them, in which the network itself is "".
    paths = {layer: name for name, layer in module.named_modules()}
    # A module is recorded when it returns, so a container follows the layers
    # it calls; the network itself comes last.
    called = list(dict.fromkeys(paths[call.module] for call in calls))
    reaching = _parameters_reaching_the_logits(module, example)
    units = {}
    holders = {}  # each parameter's (layer as shown, name in the layer, unit)
    unit_of = {}  # each parameter's unit, by the parameter's id
    for name, layer in module.named_modules():
        shown = shown_layer_name(name, module)  # for messages
        own = list(layer.parameters(recurse=False))
        if not own:
            continue
        if not any(parameter in reaching for parameter in own):
            # An auxiliary head the forward pass never uses changes no map.
            logger.info(f"Layer {shown!r} does not reach the logits: not randomized.")
            continue
        if _initializer(layer) is None:
            # torch's containers are no class of the user's to give one.
            container = isinstance(layer, nn.ParameterList | nn.ParameterDict)
            advice = (
                "hold its parameters in a module of your own whose "
                "reset_parameters() draws them"
                if container
                else "give it one that draws the layer's initial parameters"
            )
            raise ValueError(
                f"Layer {shown!r} ({type(layer).__name__}) holds parameters but has "
                "no reset_parameters() method, so it cannot be re-initialized; "
                f"{advice}."
            )
        _check_initializer_draws_every_parameter(layer, shown, device)
        owner = name
        while owner not in called:
            owner = owner.rpartition(".")[0]
        units.setdefault(owner, []).append(name)
        for key, parameter in layer.named_parameters(recurse=False):
            holders.setdefault(parameter, []).append((shown, key, owner))
            unit_of[id(parameter)] = owner
    _refuse_parameters_shared_across_units(holders)
    for owner, layers in units.items():
        uncalled = [name for name in layers if name != owner]
        # Layers with parameters that the owner calls run before or after the
        # function, which has no single place among them; re-drawing only
        # them would leave the others trained, and the check pass unearned.
        prefix = f"{owner}." if owner else ""
        mixed = [
            prefix + name
            for name, layer in module.get_submodule(owner).named_modules()
            if name
            and prefix + name in called
            and next(layer.parameters(), None) is not None
        ]
        if uncalled and mixed:
            uncalled, mixed = (
                [shown_layer_name(name, module) for name in names]
                for names in (uncalled, mixed)
            )
            raise ValueError(
                f"Layers {uncalled} hold parameters that the network uses without "
                "calling the layers, in a function of the forward of "
                f"{shown_layer_name(owner, module)!r}, which also calls layers with "
                f"parameters ({mixed}): where those parameters act among the "
                "layers is unknown, so they cannot be randomized in the order the "
                "layers run. Call them as modules, or use them in a module of their "
                "own (as braindecode's CombinedConv does), or use the data or "
                "target randomization checks."
            )
    with _ParameterReads(unit_of) as record, torch.enable_grad():
        module(example.clone().requires_grad_())
    # A unit read at more than one place takes its first, as a layer called
    # more than once does.
    order = list(dict.fromkeys(record.units_read))
    if set(order) != set(units):
        # Some read where the mode cannot see (inside a TorchScript
        # function): each unit is placed where its module returns instead.
        order = [owner for owner in called if owner in units]
    return [(shown_layer_name(owner, module), units[owner]) for owner in order]


class _ParameterReads(EagerFunctionMode):
    """Record which units' parameters each function of a forward pass reads.

    Only reads whose result autograd follows count, in a pass whose input
    requires grad: a constraint a network applies to a later layer's weight
    under ``torch.no_grad()`` (or through ``.data``) at the start of its
    forward does not place that layer there.

    Parameters
    ----------
    unit_of : dict of int -> str
        The unit of each parameter followed, by the parameter's id.

    Attributes
    ----------
    units_read : list of str
        The unit of each parameter read, call by call, in the order read.
    """

    def __init__(self, unit_of):
        super().__init__()
        self.unit_of = unit_of
        self.units_read = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        # Under no_grad, an in-place update returns the parameter itself,
        # which requires grad: the grad mode says it is not followed.
        followed = torch.is_grad_enabled() and any(
            tensor.requires_grad for tensor in tensors_in(result)
        )
        if followed:
            for tensor in tensors_in((*args, *kwargs.values())):
                if id(tensor) in self.unit_of:
                    self.units_read.append(self.unit_of[id(tensor)])
        return result


def _refuse_parameters_shared_across_units(holders):
    """Refuse a parameter held by layers that are re-initialized at different steps.

    Tied weights: re-initializing one layer re-draws the other's weight too, so
    a step said to randomize one layer randomized both.
    """
    for held in holders.values():
        if len({unit for _, _, unit in held}) > 1:
            layers = " and ".join(repr(layer) for layer, _, _ in held)
            names = sorted({key for _, key, _ in held})
            raise ValueError(
                f"Layers {layers} share the parameter(s) {names} (tied weights): "
                "re-initializing one re-draws the other's, so no step can "
                "re-initialize one of them alone in the otherwise trained network. "
                "Use the data or target randomization checks."
            )


def _with_module(estimator, module):
    """Return a shallow copy of the fitted estimator that runs ``module``.

    ``copy.copy`` would go through skorch's pickling, which copies every tensor
    of the network and its optimizer; only the network differs here, and
    :func:`mne_xai.explain` touches nothing else.
    """
    shallow = type(estimator).__new__(type(estimator))
    shallow.__dict__.update(vars(estimator))
    shallow.module_ = module
    return shallow


def _randomized_estimators(estimator, units, seeds, *, cascading):
    """Yield copies of the estimator with units re-initialized, from the output down.

    Each unit is re-initialized with its own seed, so a unit gets the same
    random parameters in cascading and independent randomization.
    """
    # Weights that parametrizations compute (braindecode's max-norm) or
    # pruning masks become plain parameters, which the layers'
    # reset_parameters re-draws; pruned weights are masked again.
    trained = without_parametrizations(estimator.module_)
    masks = pruning_masks(estimator.module_)
    module = trained
    for (name, layers), seed in reversed(list(zip(units, seeds, strict=True))):
        # Drawn on the CPU, so that a seed gives the same network on every
        # device (a GPU's generator draws other numbers); explain moves it.
        module = copy_module(module if cascading else trained).cpu()
        with seeded_torch(seed, "cpu"):
            for layer in layers:
                _initializer(module.get_submodule(layer))()
        with torch.no_grad():
            for (layer, weight), mask in masks.items():
                if layer in layers:
                    getattr(module.get_submodule(layer), weight).mul_(mask.cpu())
        yield name, _with_module(estimator, module)


@warnings_once()
@autograd_on
@verbose
@fill_doc
def parameter_randomization_check(
    estimator,
    epochs,
    method: str = "saliency",
    *,
    mode: str = "cascading",
    target=None,
    metric: str = "spearman_abs",
    threshold: float = 0.4,
    batch_size: int = 64,
    device=None,
    random_state: int | None = None,
    method_params: dict | None = None,
    verbose=None,
    **params,
) -> SanityCheckResult:
    """Model parameter randomization test of Adebayo et al.

    Re-initializes the layers of the fitted network and compares the maps of
    :func:`mne_xai.explain` before and after :footcite:`AdebayoEtAl2018`. A
    method whose maps explain the model must change when the model does; maps
    that stay the same describe the input instead.

    Parameters
    ----------
    %(estimator)s
        It is not modified: randomization happens on copies.
    %(epochs)s
    %(method_checked)s
    mode : "cascading" | "independent"
        ``"cascading"`` re-initializes the layers one after another from the
        output down, keeping the earlier randomizations, so step ``k`` has the
        top ``k`` layers random; ``"independent"`` re-initializes one layer at a
        time in the otherwise trained network. The method's own ``mode``
        (occlusion's) goes in ``method_params``.
    %(target)s
        With None, each epoch's class predicted by the fitted estimator is
        explained for the randomized networks too, so that only the
        parameters differ.
    %(sanity_verdict)s
    %(batch_size)s
    %(device)s
    %(random_state_type)s
        Seed of the re-initialization (and of stochastic methods, which draw
        the same noise for the original and randomized networks).
    %(method_params_dict)s
    %(verbose)s
    %(method_params)s

    Returns
    -------
    result : SanityCheckResult
        Similarity per epoch at each step (``result.steps`` names the layer,
        or the module using its layers' parameters, re-initialized at that
        step), the curves ``result.mean`` and the verdict ``result.passes``.

    See Also
    --------
    target_randomization_check, data_randomization_check, map_similarity

    Notes
    -----
    The layers are the modules that hold parameters (convolutions, batch norm,
    linear layers), in the order the forward pass runs them; a layer called
    more than once takes its place at its first call. A module's own
    parameters (a learned offset of the input, a gain) take theirs where the
    forward pass first reads them. Re-initializing a
    layer calls its ``reset_parameters`` (``_reset_parameters`` for torch's
    ``nn.MultiheadAttention``), as when the network is built: random
    weights for convolutions and linear layers (a weight pruned with
    :mod:`torch.nn.utils.prune` keeps its mask: its pruned entries stay
    zero). Batch norm returns to scale 1, shift 0, running mean 0 and running
    variance 1, so in evaluation mode it passes its input through. Batch norm
    layers that are not re-initialized keep the running statistics learned in
    training, even when layers before them changed, so that each randomized
    network is the trained one with exactly the chosen layers replaced.

    braindecode's ShallowFBCSPNet and Deep4Net convolve once with the product
    of the kernels of ``conv_time`` and ``conv_spat``, in their
    ``CombinedConv`` module, which computes what calling the two layers in
    order computes: the network is run as those layers, as the methods run it,
    and each is a step (``conv_time_spat.conv_spat``, then
    ``conv_time_spat.conv_time``). Other parameters that a module uses in a
    function of its forward, without calling the layers holding them, are
    re-initialized where that module runs, in one step named after it. Such
    parameters used by a module that also calls layers with parameters (in
    the network's own forward, say) have no place in the order and are
    refused, as are layers re-initialized at different steps that share a
    parameter (tied weights), which no step could re-initialize alone.

    Each randomized network is a copy of the fitted one, all of which are kept
    while the epochs are streamed in batches: memory grows with the number of
    layers times the size of the network, which is small for EEG networks.

    References
    ----------
    .. footbibliography::
    """
    _check_mode(mode, method)
    estimator = as_network(estimator)
    refuse_learned_patterns(method, "parameter randomization")
    setup = _set_up(
        estimator,
        epochs,
        method,
        target=target,
        metric=metric,
        threshold=threshold,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        params=method_parameters(params, method_params),
    )
    units = _randomization_units(estimator, setup.request.shape[1:])
    steps, variants = zip(
        *_randomized_estimators(
            estimator,
            units,
            _random_seeds(setup.rng, len(units)),
            cascading=mode == "cascading",
        ),
        strict=True,
    )
    return _compare_to_variants(
        estimator, method, setup, check=mode, steps=steps, variants=variants
    )
