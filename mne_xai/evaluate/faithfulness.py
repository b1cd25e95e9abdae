"""Whether attribution maps reflect what the network does: perturb, and watch the score.

Every measure replaces the parts of each epoch that an attribution map ranks
as relevant (or random parts) and records how the class score (the logit of
the explained class) changes. Attributions come from :func:`mne_xai.explain`,
called batch by batch, or from an attribution :class:`mne.EpochsArray` the user
computed already; the evaluation never computes attributions itself.

All measures stream over batches of epochs (memory grows with ``batch_size``,
not with the number of epochs), evaluate the perturbed variants of a batch in
large forward passes, show a progress bar, and are reproducible with
``random_state``.

Removed samples are replaced by a baseline:

- ``"zero"``: zeros, as in Cui et al. :footcite:`CuiEtAl2023`;
- ``"mean"``: the mean training epoch (``estimator.data_mean_``);
- ``"noise"``: Gaussian noise with each channel's standard deviation in the
  epoch;
- ``"interpolate"``: each removed channel is replaced by spherical-spline
  interpolation :footcite:`PerrinEtAl1989` from the channels still present, as
  :meth:`mne.Epochs.interpolate_bads` does, so perturbed epochs stay close to
  the data manifold. It replaces whole channels, so it is available where
  whole channels (or patches of single channels) are removed.

References
----------
.. footbibliography::
"""

import weakref
from collections import OrderedDict

import mne
import numpy as np
import torch
import torch.nn.functional as F
from mne.channels.interpolation import _make_interpolation_matrix
from mne.utils import ProgressBar, _check_option, _validate_type, logger, verbose
from scipy.ndimage import uniform_filter1d
from sklearn.utils import Bunch

from .._convert import describe, iter_batches
from ..explain import explain
from ..explain._core import _evaluation_mode, _module_on, _resolve_target
from ..explain.postprocess import _per_map_zscore

BASELINES = ("zero", "mean", "noise", "interpolate")
_ORDERS = ("most_relevant_first", "least_relevant_first")
_UNITS = ("feature", "channel")
# Perturbed variants are scored in forward passes of at least this many epochs
# (or ``batch_size`` if larger): one large pass costs far less than many small
# ones, and memory stays bounded whatever the number of steps or patches.
_MIN_VARIANTS_PER_PASS = 256
_MAX_INTERPOLATION_OPERATORS = 4096
_N_EPOCHS_CHECKED = 8  # epochs on which the factored first block must match
# Layers that act on the input as a linear, time-invariant filter bank in
# evaluation mode (see ``_FactoredFrontEnd``).
_FILTER_BANK_LAYERS = (
    torch.nn.Conv1d,
    torch.nn.Conv2d,
    torch.nn.BatchNorm1d,
    torch.nn.BatchNorm2d,
    torch.nn.Dropout,
    torch.nn.Identity,
)


# -- scoring perturbed epochs ---------------------------------------------------
def _leaf_modules_in_call_order(module, example):
    """Leaf modules in the order a forward pass calls them."""
    order, handles = [], []
    for leaf in module.modules():
        if not any(True for _ in leaf.children()):
            handles.append(
                leaf.register_forward_pre_hook(
                    lambda layer, inputs: order.append(layer)
                )
            )
    try:
        module(example)
    finally:
        for handle in handles:
            handle.remove()
    return order


def _is_filter_bank_layer(layer):
    if isinstance(layer, torch.nn.Conv1d | torch.nn.Conv2d):
        return all(step == 1 for step in layer.stride)
    return isinstance(layer, _FILTER_BANK_LAYERS)


class _FactoredFrontEnd:
    """Exact shortcut through a network that starts with a spatio-temporal filter bank.

    EEG networks (EEGNet, InterpretableCNN, ShallowConvNet) begin with
    convolutions and batch norm up to their first nonlinearity: in evaluation
    mode, a linear time-invariant filter bank ``z[g, t'] = b[g] + sum_c
    (k[g, c] * x[c])(t')``. Its kernels ``k[g, c, :]`` are measured once, from
    the response to an impulse on each channel, and factored by SVD into a few
    spatial filters each followed by a temporal filter. For EEGNet, whose
    kernels are a temporal filter times a spatial filter, this evaluates the
    first block for the cost of its spatial filters, far less than the
    convolution of every channel; the layers from the first nonlinearity on
    then run as usual. Perturbation measures evaluate hundreds of variants of
    each epoch, so this is where most of their time goes.

    The shortcut is used only when it reproduces the network's scores on real
    data (checked by :meth:`matches`); otherwise the network runs as it is.
    """

    def __init__(self, module, example):
        self.module = module
        layers = _leaf_modules_in_call_order(module, example[:1])
        split = next(
            (layer for layer in layers if not _is_filter_bank_layer(layer)), None
        )
        self.usable = split is not None and split is not layers[0]
        if not self.usable:
            return
        self.split = split
        n_channels, n_times = example.shape[1:]
        impulse_time = n_times // 2
        impulses = torch.zeros(
            n_channels + 1, n_channels, n_times, device=example.device
        )
        impulses[torch.arange(n_channels), torch.arange(n_channels), impulse_time] = 1
        responses = self._front(impulses)
        self.out_shape = responses.shape[1:]
        offset = responses[-1].reshape(-1, self.out_shape[-1])
        # kernels: (n_maps, n_channels, n_times_out), the response at t' to a
        # unit impulse at ``impulse_time``.
        kernels = (responses[:-1] - responses[-1]).reshape(
            n_channels, -1, self.out_shape[-1]
        )
        kernels = kernels.transpose(0, 1).double()
        support = kernels.abs().amax(dim=(0, 1)).nonzero().flatten()
        if support.numel() == 0:
            self.usable = False
            return
        first, last = int(support[0]), int(support[-1])
        kernels = kernels[..., first : last + 1]
        u, s, vh = torch.linalg.svd(kernels, full_matrices=False)
        rank = int((s > 1e-6 * s.amax()).sum(dim=1).max())
        # Keep the factorization only when it is cheaper than a convolution of
        # every channel (a rank close to n_channels means no spatial structure).
        self.usable = rank <= max(1, n_channels // 4)
        if not self.usable:
            return
        n_maps = kernels.shape[0]
        self.spatial = (u[..., :rank] * s[:, None, :rank]).transpose(1, 2)
        self.spatial = self.spatial.reshape(n_maps * rank, n_channels).float()
        # conv1d correlates; flipping the kernels makes it the convolution above.
        self.temporal = vh[:, :rank].flip(-1).reshape(n_maps * rank, 1, -1).float()
        self.rank = rank
        self.offset = offset
        pad_left = last - impulse_time
        pad_right = self.out_shape[-1] - n_times - pad_left + (last - first)
        self.padding = (pad_left, pad_right)

    def _front(self, inputs):
        """Input of the first nonlinearity, from the network itself."""
        captured = {}

        def capture(layer, args):
            captured["input"] = args[0]
            raise _FrontEndReached

        handle = self.split.register_forward_pre_hook(capture)
        try:
            self.module(inputs)
        except _FrontEndReached:
            pass
        finally:
            handle.remove()
        return captured["input"]

    def _factored_front(self, inputs):
        spatial = torch.einsum("fc,bct->bft", self.spatial, inputs)
        temporal = F.conv1d(
            F.pad(spatial, self.padding), self.temporal, groups=len(self.temporal)
        )
        n_maps = len(self.offset)
        summed = temporal.reshape(len(inputs), n_maps, self.rank, -1).sum(dim=2)
        return (summed + self.offset).reshape(len(inputs), *self.out_shape)

    def __call__(self, inputs):
        """Logits of ``inputs``, through the factored first block."""
        front = self._factored_front(inputs)

        def substitute(layer, args):
            return (front,)

        handle = self.split.register_forward_pre_hook(substitute)
        try:
            # The layers before the split see one epoch only; their output is
            # replaced by the whole batch's.
            return self.module(inputs[:1])
        finally:
            handle.remove()

    def matches(self, inputs):
        """Whether the shortcut reproduces the network's logits on ``inputs``."""
        if not self.usable:
            return False
        expected = self.module(inputs)
        scale = expected.abs().amax().clamp_min(1e-6)
        error = float((self(inputs) - expected).abs().amax() / scale)
        logger.debug(
            f"Factored first block: rank {self.rank}, relative error {error:.1e}"
        )
        return error < 1e-3


class _FrontEndReached(Exception):
    """Stops a forward pass once the first nonlinearity's input is known."""


class _ClassScorer:
    """The logit of one class per epoch, for many perturbed epochs at once."""

    # Measuring the first block costs about n_channels forward passes: keep it
    # per module while its parameters are unchanged.
    _shortcuts = weakref.WeakKeyDictionary()

    def __init__(self, module, example, pass_size):
        self.pass_size = pass_size
        self.forward = module
        versions = tuple(parameter._version for parameter in module.parameters())
        cached = self._shortcuts.get(module)
        if cached is not None and cached[0] == versions:
            shortcut = cached[1]
        else:
            shortcut = _FactoredFrontEnd(module, example)
            self._shortcuts[module] = (versions, shortcut)
        if shortcut.matches(example[:_N_EPOCHS_CHECKED]):
            self.forward = shortcut

    def __call__(self, variants, target):
        """Scores of ``variants`` (n, n_channels, n_times) for ``target`` (n,)."""
        scores = [
            self.forward(variants[start : start + self.pass_size])
            .gather(1, target[start : start + self.pass_size, None])
            .squeeze(1)
            for start in range(0, len(variants), self.pass_size)
        ]
        return torch.cat(scores)


# -- batches of epochs with their attributions ----------------------------------
def _check_inputs(estimator, epochs, method, attribution, batch_size, params):
    _validate_type(batch_size, "int-like", "batch_size")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if (method is None) == (attribution is None):
        raise ValueError(
            "Pass either method (a name from mne_xai.list_methods(), computed "
            "batch by batch with mne_xai.explain) or attribution (maps you "
            "computed already), not both and not neither."
        )
    shape, info, events = estimator._check_prediction_input(epochs)
    if attribution is not None:
        if params:
            raise TypeError(
                f"Method parameters {sorted(params)} are only used with method=; "
                "attribution was given already."
            )
        _validate_type(
            attribution, (mne.BaseEpochs, np.ndarray), "attribution", "Epochs or array"
        )
        attribution_shape = describe(attribution, name="attribution")[0]
        if attribution_shape != shape:
            raise ValueError(
                f"attribution has shape {attribution_shape} but epochs have shape "
                f"{shape}; pass one map per epoch, on the same channels and times."
            )
    return shape, info, events


def _evaluation_batches(
    estimator,
    epochs,
    method,
    attribution,
    target,
    batch_size,
    device,
    random_state,
    params,
    mesg,
):
    """Yield, per batch, data, attributions, targets and random generators.

    Each item is a Bunch with ``data`` (tensor, (batch, n_channels, n_times)),
    ``attribution`` (tensor, same shape), ``target`` (int64 tensor of class
    indices), ``score`` (the target logit of the unperturbed epochs) and
    ``rngs`` (one numpy Generator per epoch, so draws do not depend on how
    epochs are batched).
    """
    shape, info, events = _check_inputs(
        estimator, epochs, method, attribution, batch_size, params
    )
    event_id = getattr(epochs, "event_id", None)
    target_index, description = _resolve_target(
        estimator, target, shape[0], events, event_id
    )
    device = torch.device(device if device is not None else estimator.device)
    module = _module_on(estimator, device)
    seeds = np.random.SeedSequence(random_state)
    pass_size = max(batch_size, _MIN_VARIANTS_PER_PASS)
    logger.info(f"Evaluating {shape[0]} epochs ({description}).")
    data_batches = iter_batches(epochs, batch_size)
    attribution_batches = (
        None if attribution is None else iter_batches(attribution, batch_size)
    )
    n_batches = -(-shape[0] // batch_size)
    start = 0
    with _evaluation_mode(module), torch.inference_mode():
        scorer = None
        for batch in ProgressBar(data_batches, max_value=n_batches, mesg=mesg):
            data = torch.from_numpy(batch).to(device)
            stop = start + len(data)
            if scorer is None:
                scorer = _ClassScorer(module, data, pass_size)
            logits = scorer.forward(data)
            if target_index is None:
                batch_target = logits.argmax(dim=1)
            else:
                batch_target = torch.from_numpy(target_index[start:stop]).to(device)
            batch_seeds = seeds.spawn(len(data))
            if attribution_batches is None:
                maps = _explain_batch(
                    estimator, batch, batch_target, method, batch_seeds, device, params
                )
            else:
                maps = next(attribution_batches)
            yield Bunch(
                data=data,
                attribution=torch.as_tensor(maps, dtype=torch.float32, device=device),
                target=batch_target,
                score=logits.gather(1, batch_target[:, None]).squeeze(1),
                rngs=[np.random.default_rng(seed) for seed in batch_seeds],
                scorer=scorer,
                info=info if info is not None else estimator.info_,
                module=module,
            )
            start = stop


def _explain_batch(estimator, batch, target, method, seeds, device, params):
    """Attributions of a batch through mne_xai.explain, one call per target class."""
    maps = np.empty(batch.shape, np.float32)
    target = target.cpu().numpy()
    # Enabling gradients again inside the evaluation's inference mode.
    with torch.inference_mode(False), torch.enable_grad():
        for class_index in np.unique(target):
            members = np.flatnonzero(target == class_index)
            maps[members] = explain(
                estimator,
                batch[members],
                method,
                target=estimator.classes_[class_index],
                batch_size=len(members),
                device=device,
                random_state=int(seeds[members[0]].generate_state(1)[0]),
                verbose=False,
                **params,
            ).get_data()
    return maps


# -- baselines ------------------------------------------------------------------
def _check_baseline(baseline, *, interpolate=True):
    allowed = BASELINES if interpolate else BASELINES[:3]
    _check_option("baseline", baseline, allowed)


def _baseline_values(baseline, item, estimator):
    """Return what replaces each removed sample, shape (batch, n_channels, n_times).

    For ``"interpolate"`` each channel is interpolated from all the others,
    which is what removing one channel at a time needs.
    """
    data = item.data
    if baseline == "zero":
        return torch.zeros_like(data)
    if baseline == "mean":
        mean = torch.as_tensor(estimator.data_mean_, dtype=data.dtype)
        return mean.to(data.device).expand_as(data)
    if baseline == "noise":
        std = data.std(dim=2, keepdim=True).cpu().numpy()
        noise = np.stack(
            [rng.standard_normal(data.shape[1:]) for rng in item.rngs]
        ).astype(np.float32)
        return torch.from_numpy(noise * std).to(data.device)
    leave_one_out = _Interpolator.for_info(item.info).leave_one_out(data.device)
    return torch.einsum("cd,bdt->bct", leave_one_out, data)


class _Interpolator:
    """Spherical-spline interpolation operators for sets of removed channels.

    ``interpolate_bads`` computes one matrix per set of bad channels; here
    each matrix is computed once per set and kept, so perturbed epochs are
    interpolated with a matrix product and no MNE object per epoch.
    """

    _cache = {}

    @classmethod
    def for_info(cls, info):
        if info is None:
            raise ValueError(
                'baseline="interpolate" needs channel positions: pass Epochs with '
                "a montage, or fit the estimator on them."
            )
        eeg = mne.pick_types(info, meg=False, eeg=True, exclude=())
        if len(eeg) != len(info.ch_names):
            others = [name for i, name in enumerate(info.ch_names) if i not in eeg]
            raise ValueError(
                'baseline="interpolate" interpolates EEG channels from EEG channels; '
                f"the data also hold {others[:5]}. Pick EEG channels only."
            )
        positions = info._get_channel_positions()
        if not np.isfinite(positions).all() or np.allclose(positions, 0):
            raise ValueError(
                'baseline="interpolate" needs channel positions; set a montage '
                "(e.g. epochs.set_montage('standard_1005'))."
            )
        origin = mne.bem._check_origin("auto", info)
        key = (tuple(info.ch_names), positions.round(6).tobytes())
        if key not in cls._cache:
            cls._cache[key] = cls(positions - origin)
        return cls._cache[key]

    def __init__(self, positions):
        self.positions = positions
        self.operators = OrderedDict()

    def operator(self, removed):
        """Return the (n_channels, n_channels) matrix that removes ``removed``.

        Kept channels stay as they are; removed ones are interpolated from the
        kept ones (zeros when nothing is kept).
        """
        key = removed.tobytes()
        if key not in self.operators:
            n_channels = len(removed)
            matrix = np.zeros((n_channels, n_channels))
            kept = ~removed
            matrix[kept, kept] = 1
            if kept.any() and removed.any():
                matrix[np.ix_(removed, kept)] = _make_interpolation_matrix(
                    self.positions[kept], self.positions[removed]
                )
            self.operators[key] = torch.as_tensor(matrix, dtype=torch.float32)
            # Orders differ per epoch, so most sets are seen once: keep memory
            # bounded rather than every set ever met.
            if len(self.operators) > _MAX_INTERPOLATION_OPERATORS:
                self.operators.popitem(last=False)
        else:
            self.operators.move_to_end(key)
        return self.operators[key]

    def leave_one_out(self, device):
        """Each channel interpolated from all the others (zero diagonal)."""
        rows = []
        for channel in range(len(self.positions)):
            removed = np.zeros(len(self.positions), bool)
            removed[channel] = True
            rows.append(self.operator(removed)[channel])
        return torch.stack(rows).to(device)


# -- public measures ------------------------------------------------------------
_COMMON_PARAMETERS = """estimator : EEGNetClassifier | InterpretableCNNClassifier
        A fitted estimator of mne_xai.
    epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data, matching the training data in channels, rate and length.
    method : str | None
        The attribution method to evaluate (see :func:`mne_xai.list_methods`);
        its maps are computed batch by batch with :func:`mne_xai.explain`.
    attribution : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | None
        Attribution maps computed already, one per epoch (e.g. the output of
        :func:`mne_xai.explain`), instead of ``method``.
    target : None | "true" | int | str
        The class whose logit is perturbed and explained, as in
        :func:`mne_xai.explain`: None is each epoch's predicted class.
    """
_RUN_PARAMETERS = """batch_size : int
        Number of epochs evaluated at once; memory grows with it, not with the
        number of epochs.
    device : str | torch.device | None
        Where to compute; None uses the estimator's device.
    random_state : int | None
        Seed for the random draws. Patches, noise and random deletions are
        drawn per epoch, so they do not depend on ``batch_size``; a stochastic
        ``method`` is seeded per batch (reproducible for a given
        ``batch_size``).
    %(verbose)s
    **params
        Parameters of ``method``, passed to :func:`mne_xai.explain`."""


def _fill_parameters(function):
    """Share the parameter descriptions every measure has in common."""
    function.__doc__ = function.__doc__.replace(
        "COMMON_PARAMETERS\n    ", _COMMON_PARAMETERS
    ).replace("RUN_PARAMETERS", _RUN_PARAMETERS)
    return function


def _positive_int(value, name):
    _validate_type(value, "int-like", name)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}.")
    return int(value)


def _pearson(relevance, drop):
    """Pearson correlation along the last axis; NaN where either side is constant."""
    relevance = relevance - relevance.mean(axis=-1, keepdims=True)
    drop = drop - drop.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(relevance, axis=-1) * np.linalg.norm(drop, axis=-1)
    products = (relevance * drop).sum(axis=-1)
    return np.divide(products, norms, out=np.full(norms.shape, np.nan), where=norms > 0)


def _replace(data, removed, replacement):
    """Variants of each epoch with ``removed`` samples replaced.

    ``data`` and ``replacement`` are (batch, n_channels, n_times); ``removed``
    is a boolean (batch, n_variants, n_channels, n_times or 1). Returns
    (batch * n_variants, n_channels, n_times).
    """
    variants = torch.where(removed, replacement[:, None], data[:, None])
    return variants.reshape(-1, *data.shape[1:])


def _curve(
    kind,
    estimator,
    epochs,
    method,
    attribution,
    target,
    order,
    unit,
    n_steps,
    baseline,
    batch_size,
    device,
    random_state,
    params,
):
    _check_option("order", order, _ORDERS)
    _check_option("unit", unit, _UNITS)
    _check_baseline(baseline)
    if baseline == "interpolate" and unit != "channel":
        raise ValueError(
            'baseline="interpolate" replaces whole channels; use it with '
            'unit="channel", or choose "zero", "mean" or "noise".'
        )
    n_steps = _positive_int(n_steps, "n_steps")
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        f"{kind} curve",
    )
    curves, targets = [], []
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        relevance = item.attribution
        relevance = relevance.sum(dim=2) if unit == "channel" else relevance.flatten(1)
        n_units = relevance.shape[1]
        if n_steps > n_units:
            raise ValueError(
                f"n_steps={n_steps} exceeds the {n_units} {unit}s of an epoch."
            )
        counts = np.round(np.linspace(0, n_units, n_steps + 1)).astype(int)
        ranking = relevance if order == "least_relevant_first" else -relevance
        # rank 0 is the unit perturbed first
        order_of_units = ranking.argsort(dim=1)
        rank = torch.empty_like(order_of_units).scatter_(
            1,
            order_of_units,
            torch.arange(n_units, device=order_of_units.device).expand_as(
                order_of_units
            ),
        )
        replacement = (
            None
            if baseline == "interpolate"
            else _baseline_values(baseline, item, estimator)
        )
        steps_per_pass = max(1, item.scorer.pass_size // n_epochs)
        scores = []
        for first in range(0, n_steps + 1, steps_per_pass):
            chunk = torch.as_tensor(
                counts[first : first + steps_per_pass], device=rank.device
            )
            removed = rank[:, None, :] < chunk[None, :, None]
            if kind == "insertion":
                removed = ~removed
            if baseline == "interpolate":
                variants = _interpolated_variants(item, removed)
            elif unit == "channel":
                variants = _replace(item.data, removed[..., None], replacement)
            else:
                removed = removed.reshape(n_epochs, -1, n_channels, n_times)
                variants = _replace(item.data, removed, replacement)
            step_target = item.target.repeat_interleave(len(chunk))
            scores.append(item.scorer(variants, step_target).reshape(n_epochs, -1))
        curves.append(torch.cat(scores, dim=1).cpu().numpy())
        targets.append(item.target.cpu().numpy())
    curves = np.concatenate(curves).astype(np.float64)
    change = curves[:, :1] - curves if kind == "deletion" else curves - curves[:, :1]
    return Bunch(
        fractions=counts / n_units,
        scores=curves,
        aopc=change.mean(axis=1),
        target=np.concatenate(targets),
    )


def _interpolated_variants(item, removed):
    """Epochs whose removed channels are interpolated from the kept ones."""
    interpolator = _Interpolator.for_info(item.info)
    masks = removed.cpu().numpy()
    operators = torch.stack(
        [interpolator.operator(mask) for mask in masks.reshape(-1, masks.shape[-1])]
    ).to(item.data.device)
    operators = operators.reshape(*masks.shape, masks.shape[-1])
    variants = torch.einsum("bscd,bdt->bsct", operators, item.data)
    return variants.reshape(-1, *item.data.shape[1:])


_CURVE_NOTES = """
    Returns
    -------
    curve : sklearn.utils.Bunch
        ``fractions`` (n_steps + 1,): the fraction of features (or channels)
        {what} at each step; ``scores`` (n_epochs, n_steps + 1): the target
        logit at each step; ``aopc`` (n_epochs,): the area over the
        perturbation curve {aopc}; ``target`` (n_epochs,): the index in
        ``estimator.classes_`` of the class scored.

    See Also
    --------
    deletion_curve, insertion_curve, perturbation_test

    Notes
    -----
    Features are ranked per epoch by their signed attribution (relevance for
    the target class), or channels by their attribution summed over time.
    Step ``k`` perturbs the first ``round(k * n / n_steps)`` of the ``n``
    ranked units, so a curve costs ``n_steps + 1`` evaluations of the network
    per epoch, evaluated together. With ``"most_relevant_first"`` a faithful
    attribution gives a large AOPC; ``"least_relevant_first"`` gives the
    complementary test, where a faithful attribution gives a small one.

    References
    ----------
    .. footbibliography::
"""


@verbose
@_fill_parameters
def deletion_curve(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    order="most_relevant_first",
    unit="feature",
    n_steps=64,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Class score as the most (or least) relevant parts of each epoch are removed.

    The deletion curve (pixel flipping) :footcite:`BachEtAl2015,SamekEtAl2017`:
    features (channel × time samples) or whole channels are replaced by a
    baseline in order of relevance, and the target logit is recorded after
    each step. A faithful attribution makes the score fall fast.

    Parameters
    ----------
    COMMON_PARAMETERS
    order : "most_relevant_first" | "least_relevant_first"
        Which end of the ranking is removed first.
    unit : "feature" | "channel"
        Remove channel × time samples, or whole channels ranked by their
        relevance summed over time.
    n_steps : int
        Number of steps from the intact to the fully removed epoch.
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces removed samples (see :mod:`mne_xai.evaluate.faithfulness`);
        ``"interpolate"`` needs ``unit="channel"``.
    RUN_PARAMETERS
    """
    return _curve(
        "deletion",
        estimator,
        epochs,
        method,
        attribution,
        target,
        order,
        unit,
        n_steps,
        baseline,
        batch_size,
        device,
        random_state,
        params,
    )


@verbose
@_fill_parameters
def insertion_curve(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    order="most_relevant_first",
    unit="feature",
    n_steps=64,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Class score as the most (or least) relevant parts are restored to a baseline.

    The insertion curve :footcite:`PetsiukEtAl2018`: starting from the
    baseline, features (channel × time samples) or whole channels of the epoch
    are put back in order of relevance, and the target logit is recorded after
    each step. A faithful attribution makes the score rise fast.

    Parameters
    ----------
    COMMON_PARAMETERS
    order : "most_relevant_first" | "least_relevant_first"
        Which end of the ranking is inserted first.
    unit : "feature" | "channel"
        Insert channel × time samples, or whole channels ranked by their
        relevance summed over time.
    n_steps : int
        Number of steps from the baseline to the intact epoch.
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What stands for samples not yet inserted (see
        :mod:`mne_xai.evaluate.faithfulness`); ``"interpolate"`` needs
        ``unit="channel"`` and fills missing channels from the inserted ones
        (zeros before any is inserted).
    RUN_PARAMETERS
    """
    return _curve(
        "insertion",
        estimator,
        epochs,
        method,
        attribution,
        target,
        order,
        unit,
        n_steps,
        baseline,
        batch_size,
        device,
        random_state,
        params,
    )


deletion_curve.__doc__ += _CURVE_NOTES.format(
    what="removed",
    aopc="(mean over steps of the score's drop from the intact epoch)",
)
insertion_curve.__doc__ += _CURVE_NOTES.format(
    what="inserted",
    aopc="(mean over steps of the score's rise from the baseline)",
)


@verbose
@_fill_parameters
def perturbation_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    patch_fractions=(0.1, 0.2, 0.3, 0.4, 0.5),
    n_patches=100,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Correlate the relevance of random patches with the score drop they cause.

    The perturbation test of Cui et al. :footcite:`CuiEtAl2023`: for each
    epoch and patch length, ``n_patches`` patches are drawn, each on a random
    channel at a random time, and replaced by the baseline one at a time. The
    attribution summed inside a patch should predict how much the target logit
    drops when the patch is removed; the test reports their Pearson
    correlation.

    Parameters
    ----------
    COMMON_PARAMETERS
    patch_fractions : sequence of float
        Patch lengths as fractions of the epoch length, in (0, 1]; Cui et al.
        use 0.1 to 0.5.
    n_patches : int
        Number of random patches per epoch and patch length (100 in Cui et al.).
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces the patch; ``"interpolate"`` fills it with the channel
        interpolated from all other channels.
    RUN_PARAMETERS

    Returns
    -------
    result : sklearn.utils.Bunch
        ``correlation`` (n_epochs, n_fractions): per epoch and patch length,
        the correlation between summed relevance and score drop (NaN where
        either is constant); ``mean_correlation`` (n_fractions,): its mean
        over epochs; ``relevance`` and ``score_drop`` (n_epochs, n_fractions,
        n_patches): the raw pairs; ``channel`` and ``start`` (same shape):
        where each patch was; ``patch_length`` (n_fractions,): in samples;
        ``target`` (n_epochs,): the class index scored.

    See Also
    --------
    channel_perturbation_test, deletion_curve

    Notes
    -----
    A patch's drop is the logit of the intact epoch minus that of the epoch
    with the patch removed. Perturbed epochs are scored together, so the test
    costs ``n_fractions * n_patches`` network evaluations per epoch in a few
    large passes (Cui et al. evaluate them one patch length at a time).

    References
    ----------
    .. footbibliography::
    """
    _check_baseline(baseline)
    n_patches = _positive_int(n_patches, "n_patches")
    fractions = np.atleast_1d(np.asarray(patch_fractions, dtype=float))
    if fractions.ndim != 1 or not ((fractions > 0) & (fractions <= 1)).all():
        raise ValueError(
            f"patch_fractions must be fractions of the epoch length in (0, 1], got "
            f"{patch_fractions!r}."
        )
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        "perturbation test",
    )
    results = dict(relevance=[], score_drop=[], channel=[], start=[], target=[])
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        lengths = np.maximum(1, np.round(fractions * n_times).astype(int))
        # Each epoch draws from its own generator: the same patches whatever
        # the batch it falls in.
        channel = np.stack(
            [
                rng.integers(n_channels, size=(len(lengths), n_patches))
                for rng in item.rngs
            ]
        )
        start = np.stack(
            [
                rng.integers(
                    n_times - lengths[:, None] + 1, size=(len(lengths), n_patches)
                )
                for rng in item.rngs
            ]
        )
        stop = start + lengths[:, None]
        cumulative = (
            F.pad(item.attribution.double().cumsum(dim=2), (1, 0)).cpu().numpy()
        )
        epoch = np.arange(n_epochs)[:, None, None]
        relevance = cumulative[epoch, channel, stop] - cumulative[epoch, channel, start]
        replacement = _baseline_values(baseline, item, estimator)
        flat = [
            torch.as_tensor(a.reshape(n_epochs, -1), device=item.data.device)
            for a in (channel, start, stop)
        ]
        times = torch.arange(n_times, device=item.data.device)
        channels = torch.arange(n_channels, device=item.data.device)
        per_pass = max(1, item.scorer.pass_size // n_epochs)
        scores = []
        for first in range(0, flat[0].shape[1], per_pass):
            ch, begin, end = (a[:, first : first + per_pass, None, None] for a in flat)
            removed = (channels[:, None] == ch) & (times >= begin) & (times < end)
            variants = _replace(item.data, removed, replacement)
            patch_target = item.target.repeat_interleave(ch.shape[1])
            scores.append(item.scorer(variants, patch_target).reshape(n_epochs, -1))
        drop = item.score[:, None] - torch.cat(scores, dim=1)
        results["relevance"].append(relevance)
        results["score_drop"].append(
            drop.cpu().double().numpy().reshape(relevance.shape)
        )
        results["channel"].append(channel)
        results["start"].append(start)
        results["target"].append(item.target.cpu().numpy())
    result = Bunch(**{key: np.concatenate(value) for key, value in results.items()})
    result.correlation = _pearson(result.relevance, result.score_drop)
    result.mean_correlation = np.nanmean(result.correlation, axis=0)
    result.patch_length = lengths
    return result


@verbose
@_fill_parameters
def channel_perturbation_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Correlate each channel's relevance with the score drop its removal causes.

    The channel-level perturbation test of Cui et al. :footcite:`CuiEtAl2023`:
    each channel in turn is replaced by the baseline, and the drop of the
    target logit is correlated, over channels, with the channel's attribution
    summed over time.

    Parameters
    ----------
    COMMON_PARAMETERS
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces the channel; ``"interpolate"`` interpolates it from all
        other channels, which asks whether the channel carries information its
        neighbours do not.
    RUN_PARAMETERS

    Returns
    -------
    result : sklearn.utils.Bunch
        ``correlation`` (n_epochs,): the Pearson correlation over channels
        (NaN where either side is constant); ``mean_correlation``: its mean
        over epochs; ``relevance`` and ``score_drop`` (n_epochs, n_channels):
        the raw pairs; ``target`` (n_epochs,): the class index scored.

    See Also
    --------
    perturbation_test

    References
    ----------
    .. footbibliography::
    """
    _check_baseline(baseline)
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        "channel perturbation test",
    )
    relevance, drops, targets = [], [], []
    for item in items:
        n_channels = item.data.shape[1]
        removed = torch.eye(n_channels, dtype=torch.bool, device=item.data.device)
        removed = removed[None, :, :, None]
        variants = _replace(
            item.data, removed, _baseline_values(baseline, item, estimator)
        )
        scores = item.scorer(variants, item.target.repeat_interleave(n_channels))
        drops.append(
            (item.score[:, None] - scores.reshape(-1, n_channels)).cpu().numpy()
        )
        relevance.append(item.attribution.sum(dim=2).cpu().numpy())
        targets.append(item.target.cpu().numpy())
    result = Bunch(
        relevance=np.concatenate(relevance).astype(np.float64),
        score_drop=np.concatenate(drops).astype(np.float64),
        target=np.concatenate(targets),
    )
    result.correlation = _pearson(result.relevance, result.score_drop)
    result.mean_correlation = float(np.nanmean(result.correlation))
    return result


@verbose
@_fill_parameters
def deletion_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    threshold=1.0,
    channel_threshold=1.0,
    smoothing=0.08,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Remove what the attribution calls relevant, and compare with removing at random.

    The deletion test of Cui et al. :footcite:`CuiEtAl2023`: each map is
    z-scored over channels and times and smoothed over time, and the samples
    above ``threshold`` are removed; at channel level, channels whose
    time-averaged relevance has a z-score above ``channel_threshold`` are
    removed. As a chance reference, the same number of samples (or channels)
    chosen at random is removed too. A faithful attribution lowers the target
    logit more than the random removal does.

    Parameters
    ----------
    COMMON_PARAMETERS
    threshold : float
        Z-score above which a (smoothed) sample is removed.
    channel_threshold : float
        Z-score, over channels, above which a channel is removed.
    smoothing : float
        Width in seconds of the moving average applied to the z-scored maps
        (Cui et al.: 10 samples at 128 Hz); 0 disables it.
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces removed samples; ``"interpolate"`` applies to the
        channel-level test only (the sample-level test then uses zeros).
    RUN_PARAMETERS

    Returns
    -------
    result : sklearn.utils.Bunch
        Per epoch: ``score`` (the target logit of the intact epoch),
        ``score_deleted`` and ``score_random`` (after removing the relevant and
        as many random samples), ``fraction_deleted``; and
        ``channel_score_deleted``, ``channel_score_random``,
        ``n_channels_deleted`` for the channel-level test; ``target``, the
        class index scored.

    See Also
    --------
    deletion_curve, mne_xai.explain.zscore_attribution, mne_xai.explain.smooth_attribution

    Notes
    -----
    Cui et al. report the softmax probability after deletion; the logit is
    reported here, consistently with the other measures (the probability is
    its softmax with the other logits).

    References
    ----------
    .. footbibliography::
    """
    _check_baseline(baseline)
    _validate_type(threshold, "numeric", "threshold")
    _validate_type(channel_threshold, "numeric", "channel_threshold")
    _validate_type(smoothing, "numeric", "smoothing")
    if smoothing < 0:
        raise ValueError(f"smoothing must be a duration >= 0 s, got {smoothing}.")
    sfreq = estimator._sfreq
    window = 2 * int(round(smoothing * sfreq / 2)) + 1
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        "deletion test",
    )
    keys = (
        "score",
        "score_deleted",
        "score_random",
        "fraction_deleted",
        "channel_score_deleted",
        "channel_score_random",
        "n_channels_deleted",
        "target",
    )
    results = {key: [] for key in keys}
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        maps = item.attribution.double().cpu().numpy()
        smoothed = uniform_filter1d(
            _per_map_zscore(maps), window, axis=-1, mode="nearest"
        )
        relevant = smoothed > threshold
        channel_relevance = maps.mean(axis=2)[..., None]
        channel_relevant = (
            _per_map_zscore(channel_relevance)[..., 0] > channel_threshold
        )
        random_features = _same_count_at_random(
            relevant.reshape(n_epochs, -1), item.rngs
        )
        random_channels = _same_count_at_random(channel_relevant, item.rngs)
        removed = np.stack([relevant, random_features.reshape(relevant.shape)], axis=1)
        channels_removed = np.stack([channel_relevant, random_channels], axis=1)
        sample_baseline = "zero" if baseline == "interpolate" else baseline
        variants = _replace(
            item.data,
            torch.as_tensor(removed, device=item.data.device),
            _baseline_values(sample_baseline, item, estimator),
        )
        channels_removed_tensor = torch.as_tensor(
            channels_removed, device=item.data.device
        )
        if baseline == "interpolate":
            channel_variants = _interpolated_variants(item, channels_removed_tensor)
        else:
            channel_variants = _replace(
                item.data,
                channels_removed_tensor[..., None],
                _baseline_values(baseline, item, estimator),
            )
        scores = (
            item.scorer(
                torch.cat([variants, channel_variants]),
                item.target.repeat_interleave(2).repeat(2),
            )
            .reshape(2, n_epochs, 2)
            .cpu()
            .double()
            .numpy()
        )
        results["score"].append(item.score.cpu().double().numpy())
        results["score_deleted"].append(scores[0, :, 0])
        results["score_random"].append(scores[0, :, 1])
        results["fraction_deleted"].append(relevant.mean(axis=(1, 2)))
        results["channel_score_deleted"].append(scores[1, :, 0])
        results["channel_score_random"].append(scores[1, :, 1])
        results["n_channels_deleted"].append(channel_relevant.sum(axis=1))
        results["target"].append(item.target.cpu().numpy())
    return Bunch(**{key: np.concatenate(value) for key, value in results.items()})


def _same_count_at_random(selected, rngs):
    """Boolean masks selecting, per row, as many random entries as ``selected``."""
    shuffled = np.zeros_like(selected)
    for row, (chosen, rng) in enumerate(zip(selected, rngs, strict=True)):
        shuffled[row, rng.permutation(len(chosen))[: chosen.sum()]] = True
    return shuffled
