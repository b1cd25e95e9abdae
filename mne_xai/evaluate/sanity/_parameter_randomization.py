"""Model parameter randomization: re-initialize layers from the output down."""

import torch
from mne.utils import _check_option, verbose

from ..._docs import fill_doc
from ..._graph import autograd_on, copy_module, trace_layers, without_parametrizations
from ..._network import as_network
from ..._random import seeded_torch
from ...attribution._core import private_module
from ._compare import _compare_to_variants, _random_seeds, _set_up
from ._result import SanityCheckResult


def _parameterized_layers(estimator, epoch_shape):
    """Names of the layers that hold parameters, in the order the forward pass runs.

    Registration order need not be the order of ``forward``, so the order is
    traced during one forward pass of an epoch of ``epoch_shape`` (n_channels,
    n_times), on a copy of the network.
    """
    device = next(estimator.module_.parameters()).device
    module = without_parametrizations(private_module(estimator, device))
    calls = trace_layers(
        module,
        torch.zeros(1, *epoch_shape, device=device),
        "parameterized",
        keep_tensors=False,
    )
    # Names as get_submodule takes them, in which the network itself is "".
    paths = {layer: name for name, layer in module.named_modules()}
    layers = list(dict.fromkeys(paths[call.module] for call in calls))
    for name in layers:
        layer = module.get_submodule(name)
        if not hasattr(layer, "reset_parameters"):
            raise ValueError(
                f"Layer {name!r} ({type(layer).__name__}) holds parameters but has "
                "no reset_parameters() method, so it cannot be re-initialized; "
                "give it one that draws the layer's initial parameters."
            )
    # Weights used in a function (e.g. a convolution with the product of two
    # layers' kernels) belong to layers that are never called: re-drawing the
    # called ones would leave them trained, and the check would pass unearned.
    uncalled = [
        name
        for name, layer in module.named_modules()
        if next(layer.parameters(recurse=False), None) is not None
        and name not in layers
    ]
    if uncalled:
        raise ValueError(
            f"Layers {uncalled} hold parameters that the network uses without "
            "calling the layers (in a function of its forward), so randomizing "
            "layers in the order they run cannot reach them; call them as modules "
            "or use the data or target randomization checks."
        )
    return layers


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


def _randomized_estimators(estimator, layers, seeds, *, cascading):
    """Yield copies of the estimator with layers re-initialized, from the output down.

    Each layer is re-initialized with its own seed, so a layer gets the same
    random parameters in cascading and independent randomization.
    """
    device = next(estimator.module_.parameters()).device
    # Weights that parametrizations compute (braindecode's max-norm) become
    # plain parameters, which the layers' reset_parameters re-draws.
    trained = without_parametrizations(estimator.module_)
    module = trained
    for name, seed in reversed(list(zip(layers, seeds, strict=True))):
        module = copy_module(module if cascading else trained)
        with seeded_torch(seed, device):
            module.get_submodule(name).reset_parameters()
        yield name, _with_module(estimator, module)


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
    %(method)s
    mode : "cascading" | "independent"
        ``"cascading"`` re-initializes the layers one after another from the
        output down, keeping the earlier randomizations, so step ``k`` has the
        top ``k`` layers random; ``"independent"`` re-initializes one layer at a
        time in the otherwise trained network.
    target : None | "true" | int | str
        The class explained, as in :func:`mne_xai.explain`. With None, each
        epoch's class predicted by the fitted estimator is explained for the
        randomized networks too, so that only the parameters differ.
    %(sanity_verdict)s
    %(batch_size)s
    %(device)s
    random_state : int | None
        Seed of the re-initialization (and of stochastic methods, which draw
        the same noise for the original and randomized networks).
    %(verbose)s
    %(method_params)s

    Returns
    -------
    result : SanityCheckResult
        Similarity per epoch at each step (``result.steps`` names the layer
        re-initialized at that step), the curves ``result.mean`` and the
        verdict ``result.passes``.

    See Also
    --------
    target_randomization_check, data_randomization_check, map_similarity

    Notes
    -----
    The layers are the modules that hold parameters (convolutions, batch norm,
    linear layers), in the order the forward pass runs them. Re-initializing a
    layer calls its ``reset_parameters``, as when the network is built: random
    weights for convolutions and linear layers. Batch norm returns to scale 1,
    shift 0, running mean 0 and running variance 1, so in evaluation mode it
    passes its input through. Batch norm layers that are not re-initialized
    keep the running statistics learned in training, even when layers before
    them changed, so that each randomized network is the trained one with
    exactly the chosen layers replaced.

    Each randomized network is a copy of the fitted one, all of which are kept
    while the epochs are streamed in batches: memory grows with the number of
    layers times the size of the network, which is small for EEG networks.

    References
    ----------
    .. footbibliography::
    """
    _check_option("mode", mode, ("cascading", "independent"))
    estimator = as_network(estimator)
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
        params=params,
    )
    layers = _parameterized_layers(estimator, setup.request.shape[1:])
    steps, variants = zip(
        *_randomized_estimators(
            estimator,
            layers,
            _random_seeds(setup.rng, len(layers)),
            cascading=mode == "cascading",
        ),
        strict=True,
    )
    return _compare_to_variants(
        estimator, method, setup, check=mode, steps=steps, variants=variants
    )
