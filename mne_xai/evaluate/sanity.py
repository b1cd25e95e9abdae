"""Sanity checks: whether attribution maps change when the model or labels do.

Adebayo et al. :footcite:`AdebayoEtAl2018` showed that some attribution methods
produce nearly the same maps for a trained network and for a network whose
weights are random, or trained on random labels: such maps describe the input
(edges, amplitude) rather than what the network learned. The checks here
explain the same epochs with the fitted estimator and with a randomized
variant of it, always through :func:`mne_xai.explain`, and measure, epoch by
epoch, how similar the two maps are:

- :func:`parameter_randomization_check`: re-initialize the network's layers,
  from the output down, all at once up to each layer (``"cascading"``) or one
  at a time (``"independent"``);
- :func:`target_randomization_check`: explain a random other class;
- :func:`data_randomization_check`: a copy of the estimator trained on shuffled
  labels.

A method passes a check when its maps change, i.e. when their similarity drops
below a threshold (see :class:`SanityCheckResult`). Passing is necessary, not
sufficient: random maps pass every check; the faithfulness and localization
measures of :mod:`mne_xai.evaluate` tell whether the maps are right.

References
----------
.. footbibliography::
"""

import copy
import logging
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from mne.utils import _check_option, _validate_type, logger, verbose, warn
from mne.viz.utils import plt_show
from scipy.ndimage import gaussian_filter
from scipy.stats import rankdata
from sklearn.base import clone

from .._convert import InputData
from .._graph import trace_layers
from .._progress import progress_bar
from .._random import seeded_torch
from ..attribution import explain
from ..attribution._core import (
    Request,
    _evaluation_mode,
    _module_on,
    prepare_request,
)
from ..estimators import _EEGClassifier
from .localization import _map_data

#: Similarity measures between two maps of an epoch, by name.
SIMILARITY_METRICS = ("spearman_abs", "spearman", "ssim", "pearson")

# SSIM constants of Wang et al. for data in [0, 1], and their Gaussian window.
_SSIM_C1 = 0.01**2
_SSIM_C2 = 0.03**2
_SSIM_SIGMA = 1.5


# -- similarity of maps --------------------------------------------------------
def _row_correlation(first, second):
    """Pearson correlation of each row of two (n_epochs, n_features) arrays.

    Rows without variance give NaN: a constant map has no pattern to compare.
    """
    first = first - first.mean(axis=1, keepdims=True)
    second = second - second.mean(axis=1, keepdims=True)
    norms = np.sqrt((first**2).sum(axis=1) * (second**2).sum(axis=1))
    products = (first * second).sum(axis=1)
    correlation = np.divide(
        products, norms, out=np.full(len(norms), np.nan), where=norms > 0
    )
    # Rounding can take the correlation of a map with itself just past 1.
    return correlation.clip(-1, 1)


def _flat(maps):
    return maps.reshape(len(maps), -1)


def _ranks_of_magnitude(maps):
    return rankdata(np.abs(_flat(maps)), axis=1)


def _ranks(maps):
    return rankdata(_flat(maps), axis=1)


def _unit_magnitude(maps):
    """Magnitude of each map divided by its peak, in [0, 1]; empty maps stay 0."""
    magnitude = np.abs(maps)
    peak = magnitude.max(axis=(1, 2), keepdims=True)
    return np.divide(magnitude, peak, out=np.zeros_like(magnitude), where=peak > 0)


def _ssim_of_unit_maps(first, second, sigma=_SSIM_SIGMA):
    """Mean SSIM of each epoch's maps, already scaled to [0, 1]; shape (n_epochs,)."""

    def local_mean(maps):
        # The window slides over channels and times of each epoch, never across
        # epochs; "reflect" keeps the borders (single-channel data included).
        return gaussian_filter(maps, sigma=(0, sigma, sigma), mode="reflect")

    mean_first, mean_second = local_mean(first), local_mean(second)
    variance_first = local_mean(first * first) - mean_first**2
    variance_second = local_mean(second * second) - mean_second**2
    covariance = local_mean(first * second) - mean_first * mean_second
    luminance = (2 * mean_first * mean_second + _SSIM_C1) / (
        mean_first**2 + mean_second**2 + _SSIM_C1
    )
    structure = (2 * covariance + _SSIM_C2) / (
        variance_first + variance_second + _SSIM_C2
    )
    return (luminance * structure).mean(axis=(1, 2))


class _Measure(NamedTuple):
    """A similarity as ``compare(prepare(maps), prepare(other_maps))``.

    The checks compare one original map with many randomized ones, so the
    original is prepared (ranked, scaled) once per batch.
    """

    prepare: Callable
    compare: Callable


_MEASURES = {
    "spearman_abs": _Measure(_ranks_of_magnitude, _row_correlation),
    "spearman": _Measure(_ranks, _row_correlation),
    "ssim": _Measure(_unit_magnitude, _ssim_of_unit_maps),
    "pearson": _Measure(_flat, _row_correlation),
}


def _map_pair(maps, other_maps):
    """Return both maps as validated float arrays (n_epochs, n_channels, n_times)."""
    first = _map_data(maps, "maps")
    second = _map_data(other_maps, "other_maps")
    if first.shape != second.shape:
        raise ValueError(
            f"maps has shape {first.shape} but other_maps has shape {second.shape}; "
            "compare maps of the same epochs, channels and times."
        )
    if first.ndim != 3:
        raise ValueError(
            "maps must have shape (n_epochs, n_channels, n_times), got shape "
            f"{first.shape}."
        )
    return first, second


def _warn_undefined(similarity, what):
    undefined = int(np.isnan(similarity).sum())
    if undefined:
        warn(
            f"{undefined} {what} compared a constant map (e.g. all zero), for which "
            "a correlation is undefined; those similarities are NaN."
        )


def map_similarity(maps, other_maps, *, metric: str = "spearman_abs") -> np.ndarray:
    """Similarity of two attribution maps of each epoch.

    Parameters
    ----------
    maps, other_maps : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_channels, n_times)
        Two maps of the same epochs, e.g. two results of
        :func:`mne_xai.explain`.
    metric : "spearman_abs" | "spearman" | "ssim" | "pearson"
        ``"spearman_abs"``: Spearman rank correlation of the absolute values
        (do the same samples matter most?); ``"spearman"``: of the signed
        values; ``"ssim"``: :func:`structural_similarity` of the magnitude
        maps; ``"pearson"``: Pearson correlation of the signed values. The
        channel x time map of each epoch is compared as a whole.

    Returns
    -------
    similarity : ndarray, shape (n_epochs,)
        One value per epoch, 1 for identical maps (at most 1; correlations go
        down to -1). Correlations are NaN, with a warning, where a map is
        constant.

    See Also
    --------
    parameter_randomization_check, structural_similarity

    Notes
    -----
    These are the measures of Adebayo et al. :footcite:`AdebayoEtAl2018`, who
    also compare histograms of oriented gradients; that image descriptor has no
    natural meaning on a channel x time map and is left out.

    References
    ----------
    .. footbibliography::
    """
    _check_option("metric", metric, SIMILARITY_METRICS)
    prepare, compare = _MEASURES[metric]
    first, second = _map_pair(maps, other_maps)
    similarity = compare(prepare(first), prepare(second))
    _warn_undefined(similarity, "epoch(s)")
    return similarity


def structural_similarity(
    maps, other_maps, *, sigma: float = _SSIM_SIGMA
) -> np.ndarray:
    r"""Structural similarity (SSIM) of two attribution maps of each epoch.

    The SSIM of Wang et al. :footcite:`WangEtAl2004` on the channel x time map
    of each epoch, with a Gaussian window, as Adebayo et al. use it to compare
    saliency maps :footcite:`AdebayoEtAl2018`. Each map is first reduced to its
    magnitude divided by its peak, so that maps in different units (a trained
    and a random network) compare on one scale of [0, 1]:

    .. math::

        \mathrm{SSIM} = \frac{(2\mu_a\mu_b + C_1)(2\sigma_{ab} + C_2)}
        {(\mu_a^2 + \mu_b^2 + C_1)(\sigma_a^2 + \sigma_b^2 + C_2)},

    with local means, variances and covariance under the window,
    :math:`C_1 = 0.01^2` and :math:`C_2 = 0.03^2`, averaged over the map.

    Parameters
    ----------
    maps, other_maps : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_channels, n_times)
        Two maps of the same epochs.
    sigma : float
        Standard deviation of the Gaussian window, in samples along time and
        in channels along the channel axis.

    Returns
    -------
    similarity : ndarray, shape (n_epochs,)
        Mean SSIM of each epoch: 1 for maps equal up to a positive factor,
        near 0 for unrelated maps.

    See Also
    --------
    map_similarity

    Notes
    -----
    The window also spans neighbouring channels in the order of the data, which
    are neighbours on the head only for some montages; for most EEG the
    measure is therefore mostly about temporal structure. Borders are handled
    by reflection, which keeps single-channel maps well defined.

    References
    ----------
    .. footbibliography::
    """
    _validate_type(sigma, "numeric", "sigma")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}.")
    first, second = _map_pair(maps, other_maps)
    return _ssim_of_unit_maps(
        _unit_magnitude(first), _unit_magnitude(second), sigma=sigma
    )


# -- results -------------------------------------------------------------------
def _mean_over_epochs(values):
    """Mean of each row without its NaNs; NaN (silently) when all are NaN."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=1)
    total = np.where(defined, values, 0).sum(axis=1)
    return np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0)


class SanityCheckResult:
    """How much a method's maps change under one randomization.

    Returned by the checks of :mod:`mne_xai.evaluate.sanity`; not meant to be
    built by hand.

    Parameters
    ----------
    check : "cascading" | "independent" | "target" | "data"
        The randomization.
    method : str
        The attribution method.
    steps : list of str
        The randomized variants, in order: for parameter randomization the
        layer re-initialized at each step, from the output down; otherwise
        ``["target"]`` or ``["data"]``.
    similarity : dict of str to ndarray, shape (n_steps, n_epochs)
        For each measure of :func:`map_similarity`, the similarity of every
        epoch's original and randomized maps at each step.
    metric : str
        The measure the verdict rests on.
    threshold : float
        The method passes when ``metric`` falls below this value.

    Attributes
    ----------
    check, method, steps, similarity, metric, threshold
        As given.
    mean : pandas.DataFrame
        The curves: mean similarity over epochs (NaN ignored), one row per
        step and one column per measure.
    passes : bool
        Whether the maps changed: the mean of ``metric`` over epochs is below
        ``threshold`` after re-initializing every layer (``"cascading"``),
        after re-initializing at least one layer (``"independent"``), or for
        the random class or labels (``"target"``, ``"data"``). NaN (every map
        constant) does not pass.
    """

    def __init__(self, check, method, steps, similarity, *, metric, threshold):
        self.check = check
        self.method = method
        self.steps = list(steps)
        self.similarity = similarity
        self.metric = metric
        self.threshold = threshold

    @property
    def mean(self):
        """Mean similarity over epochs: one row per step, one column per measure."""
        means = {
            metric: _mean_over_epochs(values)
            for metric, values in self.similarity.items()
        }
        return pd.DataFrame(means, index=pd.Index(self.steps, name="step"))

    @property
    def _verdict_similarity(self):
        curve = self.mean[self.metric]
        return curve.min() if self.check == "independent" else curve.iloc[-1]

    @property
    def passes(self):
        """Whether the maps changed enough (see the class description)."""
        return bool(self._verdict_similarity < self.threshold)

    def to_frame(self):
        """Return every similarity as a long table.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``check``, ``method``, ``step``, ``metric``, ``epoch``
            (position of the epoch in the data) and ``similarity``, one row per
            epoch, step and measure.
        """
        n_steps, n_epochs = self.similarity[self.metric].shape
        tables = [
            pd.DataFrame(
                dict(
                    check=self.check,
                    method=self.method,
                    step=np.repeat(self.steps, n_epochs),
                    metric=metric,
                    epoch=np.tile(np.arange(n_epochs), n_steps),
                    similarity=values.ravel(),
                )
            )
            for metric, values in self.similarity.items()
        ]
        return pd.concat(tables, ignore_index=True)

    def __repr__(self):
        n_epochs = self.similarity[self.metric].shape[1]
        verdict = "passes" if self.passes else "fails"
        return (
            f"<SanityCheckResult | {self.check} randomization of {self.method}, "
            f"{len(self.steps)} step(s), {n_epochs} epochs: {verdict} "
            f"({self.metric} {self._verdict_similarity:.2f}, threshold "
            f"{self.threshold:g})>"
        )


# -- the shared path: original maps against randomized variants, batch by batch --
_DOCS = dict(
    estimator="""estimator : EEGNetClassifier | InterpretableCNNClassifier
        A fitted estimator. It is not modified: randomization happens on
        copies.""",
    epochs="""epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data to explain, matching the training data.""",
    method="""method : str
        The attribution method; :func:`mne_xai.list_methods` lists them.""",
    verdict="""metric : "spearman_abs" | "spearman" | "ssim" | "pearson"
        The measure of :func:`map_similarity` the verdict rests on. The
        default, Spearman rank correlation of absolute values, asks whether
        the same samples still matter most, whatever their sign.
    threshold : float
        The method passes when the mean of ``metric`` over epochs falls below
        this value (see :class:`SanityCheckResult`). The default 0.4 lies
        below what the input alone gives: maps that multiply a gradient by
        the input (gradient x input, integrated gradients, DeepLIFT, LRP)
        keep a rank correlation of absolute values of about 0.5 even with a
        random network and fail, as Adebayo et al. noted for gradient x
        input, whose maps stay dominated by the input; their signed
        correlations (``metric="spearman"``) fall to about 0.""",
    computing="""batch_size : int
        Number of epochs explained at once; memory grows with it, not with the
        number of epochs.
    device : str | torch.device | None
        Where to compute; None uses the estimator's device.""",
    params="""**params
        Parameters of the method, passed to :func:`mne_xai.explain`.""",
    verbose="%(verbose)s",  # filled by mne.utils.verbose
)


def _fill_doc(function):
    """Fill the parameter descriptions shared by the checks into a docstring."""
    function.__doc__ = function.__doc__ % _DOCS
    return function


class _Setup(NamedTuple):
    """What every check needs, validated once."""

    n_epochs: int
    request: Request  # the data, read in batches with the network's channels
    target_index: np.ndarray | None  # class index per epoch; None = predicted
    description: str
    rng: np.random.Generator
    explain_params: dict


def _set_up(
    estimator,
    epochs,
    method,
    *,
    target,
    metric,
    threshold,
    batch_size,
    device,
    random_state,
    params,
):
    """Check the arguments every sanity check takes, before any costly work."""
    _validate_type(
        estimator, _EEGClassifier, "estimator", "a fitted mne_xai classifier"
    )
    _check_option("metric", metric, SIMILARITY_METRICS)
    _validate_type(threshold, "numeric", "threshold")
    if not -1 < threshold <= 1:
        raise ValueError(f"threshold must be in (-1, 1], got {threshold}.")
    _validate_type(random_state, (None, "int-like"), "random_state")
    # explain's own validation: method, its parameters, batch size, target and
    # data are checked now rather than after copying or training networks.
    request = prepare_request(
        estimator,
        epochs,
        method,
        target=target,
        batch_size=batch_size,
        device=device,
        params=params,
    )
    rng = np.random.default_rng(random_state)
    # One seed for the original and every variant, so that a stochastic method
    # draws the same noise for both and only the model differs.
    explain_params = dict(
        batch_size=batch_size,
        device=request.device,
        random_state=int(_random_seeds(rng, 1)[0]),
        **params,
    )
    return _Setup(
        request.shape[0],
        request,
        request.target_index,
        request.description,
        rng,
        explain_params,
    )


def _random_seeds(rng, size):
    return rng.integers(np.iinfo(np.int32).max, size=size)


def _explain_classes(estimator, batch, class_index, method, explain_params):
    """Explain each epoch of ``batch`` for its own class (an index into classes_).

    Targets are passed as class labels, which explain never confuses with
    indices.
    """
    return explain(
        estimator,
        batch,
        method,
        target=estimator.classes_[class_index],
        verbose=False,
        **explain_params,
    ).get_data()


def _predicted_classes(estimator, batch, device):
    """Index of each epoch's predicted class, leaving the estimator's mode alone."""
    module = _module_on(estimator, device)
    with _evaluation_mode(module), torch.no_grad():
        logits = module(torch.from_numpy(batch).to(device))
    return logits.argmax(dim=1).cpu().numpy()


def _similarity_to_variants(
    estimator, epochs, method, variants, setup, *, check, class_offsets=None
):
    """Similarity of the original and each variant's maps, per epoch.

    Parameters
    ----------
    variants : list of estimator
        Randomized copies of ``estimator``, or ``estimator`` itself.
    setup : _Setup
        The validated arguments.
    check : str
        The check's name, for messages.
    class_offsets : ndarray of int, shape (n_epochs,) | None
        Added (modulo the number of classes) to the class explained for the
        original when explaining the variants; None explains the same class.

    Returns
    -------
    similarity : dict of str to ndarray, shape (n_variants, n_epochs)
    """
    n_epochs, batch_size = setup.n_epochs, setup.explain_params["batch_size"]
    n_classes = len(estimator.classes_)
    similarity = {
        metric: np.empty((len(variants), n_epochs)) for metric in SIMILARITY_METRICS
    }
    logger.info(
        f"{check.capitalize()} randomization of {method} on {n_epochs} epochs "
        f"({setup.description}), {len(variants)} variant(s)."
    )
    starts = range(0, n_epochs, batch_size)
    batches = setup.request.batches()
    # Progress counts explained batches, original and variants alike; the bar is
    # not a context manager, which MNE reserves for parallel updates.
    bar = progress_bar(len(starts) * (1 + len(variants)), mesg=f"{check} check")
    for start, batch in zip(starts, batches, strict=True):
        stop = start + len(batch)
        if setup.target_index is None:
            classes = _predicted_classes(
                estimator, batch, setup.explain_params["device"]
            )
        else:
            classes = setup.target_index[start:stop]
        original = _explain_classes(
            estimator, batch, classes, method, setup.explain_params
        )
        prepared = {
            metric: measure.prepare(original) for metric, measure in _MEASURES.items()
        }
        bar.update_with_increment_value(1)
        if class_offsets is not None:
            classes = (classes + class_offsets[start:stop]) % n_classes
        for row, variant in enumerate(variants):
            randomized = _explain_classes(
                variant, batch, classes, method, setup.explain_params
            )
            for metric, measure in _MEASURES.items():
                similarity[metric][row, start:stop] = measure.compare(
                    prepared[metric], measure.prepare(randomized)
                )
            bar.update_with_increment_value(1)
    _warn_undefined(
        similarity["spearman_abs"], "comparison(s) of original and randomized maps"
    )
    return similarity


# -- parameter randomization ----------------------------------------------------
def _parameterized_layers(estimator):
    """Names of the layers that hold parameters, in the order the forward pass runs.

    Registration order need not be the order of ``forward``, so the order is
    traced during one forward pass, on a copy of the network.
    """
    module = copy.deepcopy(estimator.module_)
    device = next(module.parameters()).device
    with _evaluation_mode(module):
        calls = trace_layers(
            module,
            torch.zeros(1, estimator.n_channels_, estimator.n_times_, device=device),
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
    module = estimator.module_
    for name, seed in reversed(list(zip(layers, seeds, strict=True))):
        module = copy.deepcopy(module if cascading else estimator.module_)
        with seeded_torch(seed, device):
            module.get_submodule(name).reset_parameters()
        yield name, _with_module(estimator, module)


@verbose
@_fill_doc
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
    %(verdict)s
    %(computing)s
    random_state : int | None
        Seed of the re-initialization (and of stochastic methods, which draw
        the same noise for the original and randomized networks).
    %(verbose)s
    %(params)s

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
    layers = _parameterized_layers(estimator)
    steps, variants = zip(
        *_randomized_estimators(
            estimator,
            layers,
            _random_seeds(setup.rng, len(layers)),
            cascading=mode == "cascading",
        ),
        strict=True,
    )
    similarity = _similarity_to_variants(
        estimator, epochs, method, list(variants), setup, check=mode
    )
    return SanityCheckResult(
        mode, method, steps, similarity, metric=metric, threshold=threshold
    )


# -- target (label) randomization ------------------------------------------------
@verbose
@_fill_doc
def target_randomization_check(
    estimator,
    epochs,
    method: str = "saliency",
    *,
    target=None,
    metric: str = "spearman",
    threshold: float = 0.4,
    batch_size: int = 64,
    device=None,
    random_state: int | None = None,
    verbose=None,
    **params,
) -> SanityCheckResult:
    """Compare the maps of the explained class with those of a random other class.

    A class-specific method gives different maps when asked why the network
    would decide for another class; a method whose maps are the same for every
    class does not explain the decision :footcite:`AdebayoEtAl2018`,
    :footcite:`SujathaRavindranContrerasVidal2023`.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(method)s
    target : None | "true" | int | str
        The class explained for the original maps, as in
        :func:`mne_xai.explain`; the randomized maps explain, for each epoch, a
        class drawn at random among the others.
    metric : "spearman" | "spearman_abs" | "ssim" | "pearson"
        The measure of :func:`map_similarity` the verdict rests on. The
        default is the signed Spearman rank correlation: a class-specific map
        may differ from the other class's mostly in sign (see Notes), which the
        correlation of absolute values cannot see.
    threshold : float
        The method passes when the mean of ``metric`` over epochs falls below
        this value (see :class:`SanityCheckResult`).
    %(computing)s
    random_state : int | None
        Seed of the random classes (and of stochastic methods).
    %(verbose)s
    %(params)s

    Returns
    -------
    result : SanityCheckResult
        One step, ``"target"``.

    See Also
    --------
    parameter_randomization_check, data_randomization_check

    Notes
    -----
    With two classes whose logits move in opposite directions, the other
    class's map of a signed method is the original one with the sign flipped:
    the signed Spearman correlation is then near -1, while the correlation of
    absolute values stays near 1: the verdict rests on the signed one. Maps
    that are absolute values by construction (saliency) cannot change sign and
    are the same for every class of such a network, which is why Sujatha
    Ravindran & Contreras-Vidal found saliency not class-specific.

    References
    ----------
    .. footbibliography::
    """
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
    # An offset in 1..n_classes-1 picks each other class with equal probability.
    class_offsets = setup.rng.integers(1, len(estimator.classes_), size=setup.n_epochs)
    similarity = _similarity_to_variants(
        estimator,
        epochs,
        method,
        [estimator],
        setup,
        check="target",
        class_offsets=class_offsets,
    )
    return SanityCheckResult(
        "target", method, ["target"], similarity, metric=metric, threshold=threshold
    )


# -- data randomization ----------------------------------------------------------
@verbose
@_fill_doc
def data_randomization_check(
    estimator,
    epochs,
    method: str = "saliency",
    *,
    X_train=None,
    y_train=None,
    training_params: dict | None = None,
    randomized_estimator=None,
    target=None,
    metric: str = "spearman_abs",
    threshold: float = 0.4,
    batch_size: int = 64,
    device=None,
    random_state: int | None = None,
    verbose=None,
    **params,
) -> SanityCheckResult:
    """Compare the maps with those of the same network trained on shuffled labels.

    The data randomization test of Adebayo et al. :footcite:`AdebayoEtAl2018`:
    an unfitted clone of the estimator, with the same parameters (and
    ``random_state``), is trained on the training data with permuted labels.
    Whatever it learned cannot be the relation between data and classes, so a
    method that explains that relation must give different maps.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(method)s
    X_train : mne.Epochs | list of mne.Epochs | array | None
        The data to train the clone on; None uses ``epochs``.
    y_train : array-like, shape (n_epochs,) | None
        The labels of ``X_train``, shuffled before training; None uses the
        event codes of ``X_train`` (Epochs only).
    training_params : dict | None
        Parameters set on the clone before fitting, e.g.
        ``dict(max_epochs=300)`` so that it can fit the random labels, as
        Adebayo et al. require.
    randomized_estimator : estimator | None
        A clone already trained on shuffled labels, e.g.
        ``result.randomized_estimator`` of an earlier check with another
        method, so that several methods are compared on one randomized
        network; then ``X_train``, ``y_train`` and ``training_params`` are not
        used. None trains one.
    target : None | "true" | int | str
        The class explained, as in :func:`mne_xai.explain`; with None, the
        class predicted by the fitted estimator is explained for both networks.
    %(verdict)s
    %(computing)s
    random_state : int | None
        Seed of the permutation (and of stochastic methods). The clone trains
        with the estimator's own ``random_state``.
    %(verbose)s
    %(params)s

    Returns
    -------
    result : SanityCheckResult
        One step, ``"data"``; its attribute ``randomized_estimator`` is the
        clone trained on shuffled labels.

    See Also
    --------
    parameter_randomization_check, target_randomization_check

    Notes
    -----
    The clone's accuracy on the shuffled training labels is logged: the maps
    of a network that has not fitted the random labels are close to those of
    an untrained one, an easier check to pass. With ``verbose=False`` the
    clone trains silently, whatever the estimator's own ``verbose``.

    References
    ----------
    .. footbibliography::
    """
    _validate_type(training_params, (dict, None), "training_params")
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
    if randomized_estimator is None:
        randomized = _train_on_shuffled_labels(
            estimator, epochs, X_train, y_train, training_params, setup.rng
        )
    else:
        _validate_type(
            randomized_estimator, _EEGClassifier, "randomized_estimator", "estimator"
        )
        randomized_estimator.check_is_fitted()
        randomized = randomized_estimator
    if not np.array_equal(randomized.classes_, estimator.classes_):
        raise ValueError(
            f"The randomized network has the classes {list(randomized.classes_)}, "
            f"but the estimator was fitted on {list(estimator.classes_)}; give the "
            "labels of the training data."
        )
    similarity = _similarity_to_variants(
        estimator, epochs, method, [randomized], setup, check="data"
    )
    result = SanityCheckResult(
        "data", method, ["data"], similarity, metric=metric, threshold=threshold
    )
    result.randomized_estimator = randomized
    return result


def _train_on_shuffled_labels(estimator, epochs, X_train, y_train, params, rng):
    """Fit an unfitted clone of ``estimator`` on permuted training labels."""
    X_train = epochs if X_train is None else X_train
    if y_train is None:
        y_train = InputData(X_train, name="X_train").event_codes
        if y_train is None:
            raise ValueError("y_train is required when X_train is an array.")
    shuffled = rng.permutation(np.asarray(y_train))
    randomized = clone(estimator)
    if logger.level > logging.INFO:
        randomized.set_params(verbose=False)
    randomized.set_params(**(params or {}))
    logger.info(f"Training a {type(estimator).__name__} on shuffled labels.")
    randomized.fit(X_train, shuffled)
    logger.info(
        "Accuracy on the shuffled training labels: "
        f"{randomized.score(X_train, shuffled):.2f}."
    )
    return randomized


# -- figure ------------------------------------------------------------------------
def plot_sanity_check(
    results, *, metric: str | None = None, axes=None, show: bool = True
):
    """Plot similarity curves of one or several sanity checks.

    Parameters
    ----------
    results : SanityCheckResult | list of SanityCheckResult
        Results of one check, e.g. for several methods, one line each.
    metric : "spearman_abs" | "spearman" | "ssim" | "pearson" | None
        The measure plotted; None plots the one the verdict rests on.
    axes : matplotlib.axes.Axes | None
        Where to draw; None makes a new figure.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Mean similarity per step (one point for checks with one step), with a
        band from the 25th to the 75th percentile over epochs, and the
        verdict's threshold as a dashed line.
    """
    import matplotlib.pyplot as plt

    if isinstance(results, SanityCheckResult):
        results = [results]
    _validate_type(results, (list, tuple), "results", "SanityCheckResult or list")
    if not results:
        raise ValueError("results is empty; give at least one SanityCheckResult.")
    for index, result in enumerate(results):
        _validate_type(result, SanityCheckResult, f"results[{index}]")
    first = results[0]
    metric = first.metric if metric is None else metric
    _check_option("metric", metric, SIMILARITY_METRICS)
    if axes is None:
        _, axes = plt.subplots(figsize=(6, 3.5), layout="constrained")
    positions = np.arange(len(first.steps))
    for result in results:
        if result.steps != first.steps:
            raise ValueError(
                f"results[{results.index(result)}] has steps {result.steps}, "
                f"results[0] has {first.steps}; plot results of one check on "
                "one network together."
            )
        (line,) = axes.plot(
            positions, result.mean[metric], marker="o", label=result.method
        )
        low, high = np.nanpercentile(result.similarity[metric], [25, 75], axis=1)
        axes.fill_between(positions, low, high, color=line.get_color(), alpha=0.2)
    axes.set_xticks(positions, first.steps, rotation=45, ha="right")
    if metric == first.metric:
        axes.axhline(first.threshold, color="k", linestyle="--", linewidth=1)
    axes.axhline(0, color="0.7", linewidth=0.5)
    axes.set(
        xlabel=f"{first.check} randomization",
        ylabel=f"similarity ({metric})",
        ylim=(-1.05, 1.05),
    )
    axes.legend(loc="best")
    plt_show(show)
    return axes.figure
