"""Deletion and insertion curves, and the area over them (AOPC)."""

import numpy as np
import torch
from mne.utils import _check_option, logger, verbose

from ..._checks import check_positive_int
from ..._docs import fill_doc
from ..._graph import autograd_on
from ..._network import as_network
from ...attribution._core import method_parameters
from ._baselines import _baseline_values, _check_baseline, _interpolated_variants
from ._batches import _evaluation_batches
from ._results import CurveResult

_ORDERS = ("most_relevant_first", "least_relevant_first")
_UNITS = ("feature", "channel")


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
    shortcuts,
):
    _check_option("order", order, _ORDERS)
    _check_option("unit", unit, _UNITS)
    baseline = _check_baseline(baseline)
    estimator = as_network(estimator)
    if baseline == "interpolate" and unit != "channel":
        raise ValueError(
            'baseline="interpolate" replaces whole channels; use it with '
            'unit="channel", or choose "zeros", "mean" or "noise".'
        )
    n_steps = check_positive_int(n_steps, "n_steps")
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
        shortcuts,
        f"{kind} curve",
    )
    curves, targets, numbers = [], [], []
    for item in items:
        rank, n_units = _unit_ranks(item, unit, order)
        if n_steps > n_units:
            # The finest curve there is: more steps would repeat counts.
            logger.info(
                f"n_steps={n_steps} exceeds the {n_units} {unit}s of an epoch: one "
                f"{unit} per step."
            )
            n_steps = n_units
        counts = np.round(np.linspace(0, n_units, n_steps + 1)).astype(int)
        if baseline == "interpolate":
            curve = _interpolated_curve(kind, item, rank, counts)
        else:
            curve = _replaced_curve(kind, item, rank, counts, baseline, estimator)
        curves.append(curve.cpu().numpy())
        targets.append(item.target.cpu().numpy())
        numbers.append(item.epoch)
    curves = np.concatenate(curves).astype(np.float64)
    change = curves[:, :1] - curves if kind == "deletion" else curves - curves[:, :1]
    return CurveResult(
        fractions=counts / n_units,
        scores=curves,
        aopc=change.mean(axis=1),
        target=np.concatenate(targets),
        epoch=np.concatenate(numbers),
    )


def _read_samples(item):
    """Return the mask of the time samples the network reads, on the batch's device."""
    if item.read is None:
        return torch.ones(
            item.data.shape[-1], dtype=torch.bool, device=item.data.device
        )
    return torch.as_tensor(item.read, device=item.data.device)


def _unit_ranks(item, unit, order):
    """Rank the units (channels or samples) of each epoch of a batch.

    Returns the rank of every unit, shape (n_epochs, n_channels) or
    (n_epochs, n_channels * n_times), rank 0 perturbed first, and the number of
    units the network reads, which are ranked before those it does not.
    """
    _, n_channels, n_times = item.data.shape
    # Samples the network does not read are never removed, and fractions
    # count the samples it reads: removed at random, unread samples would
    # change nothing and make the random anchor easy to beat.
    read = _read_samples(item)
    relevance = item.attribution
    if unit == "channel":
        relevance = relevance[..., read].sum(dim=2)
        unread = torch.zeros(n_channels, dtype=torch.bool, device=read.device)
    else:
        relevance = relevance.flatten(1)
        unread = ~read.expand(n_channels, n_times).flatten()
    ranking = relevance if order == "least_relevant_first" else -relevance
    ranking = ranking.masked_fill(unread, torch.inf)
    # Ties (channels of a class activation map, equal on every channel; zeros
    # of a ReLU network) go in random order, from each epoch's own generator:
    # by position, a map that cannot rank them would score by which channel
    # the network reads. The sort is stable on every device (GPUs sort short
    # rows unstably).
    shuffled = torch.as_tensor(
        np.stack([rng.permutation(len(unread)) for rng in item.rngs]),
        device=ranking.device,
    )
    order_of_units = shuffled.gather(
        1, torch.argsort(ranking.gather(1, shuffled), dim=1, stable=True)
    )
    rank = torch.empty_like(order_of_units).scatter_(
        1,
        order_of_units,
        torch.arange(len(unread), device=order_of_units.device).expand_as(
            order_of_units
        ),
    )
    return rank, int((~unread).sum())


def _replaced_curve(kind, item, rank, counts, baseline, estimator):
    """Scores along a curve whose removed units take the baseline's values."""
    n_epochs, n_channels, n_times = item.data.shape
    n_steps = len(counts) - 1
    # A unit is removed from the first step whose count exceeds its rank.
    steps = torch.as_tensor(counts, device=rank.device)
    first_step = torch.searchsorted(steps, rank, right=True)
    first_step = first_step.clamp(max=n_steps).view(n_epochs, n_channels, -1)
    first_step = first_step.expand(n_epochs, n_channels, n_times)
    replacement = _baseline_values(baseline, item, estimator)
    replacement = torch.where(_read_samples(item), replacement, item.data)
    # Deletion removes units from the intact epoch; insertion puts them back
    # into the baseline.
    base, other = (
        (item.data, replacement) if kind == "deletion" else (replacement, item.data)
    )
    return item.scorer.step_scores(base, other - base, first_step, n_steps, item.target)


def _interpolated_curve(kind, item, rank, counts):
    """Scores along a curve whose removed channels are interpolated from the rest."""
    n_epochs = len(item.data)
    steps_per_pass = max(1, item.scorer.pass_size // n_epochs)
    scores = []
    for first in range(0, len(counts), steps_per_pass):
        chunk = torch.as_tensor(
            counts[first : first + steps_per_pass], device=rank.device
        )
        removed = rank[:, None, :] < chunk[None, :, None]
        if kind == "insertion":
            removed = ~removed
        variants = _interpolated_variants(item, removed)
        step_target = item.target.repeat_interleave(len(chunk))
        scores.append(item.scorer(variants, step_target).reshape(n_epochs, -1))
    return torch.cat(scores, dim=1)


_CURVE_NOTES = """
    Returns
    -------
    curve : CurveResult
        ``fractions`` (n_steps + 1,): the fraction of features (or channels)
        {what} at each step, of those the network reads; ``scores`` (n_epochs, n_steps + 1): the target
        logit at each step; ``aopc`` (n_epochs,): the area over the
        perturbation curve (see Notes); ``target`` (n_epochs,): the index in
        ``estimator.classes_`` of the class scored. ``to_frame()`` gives one
        row per epoch and step.

    See Also
    --------
    deletion_curve, insertion_curve, perturbation_test

    Notes
    -----
    Features are ranked per epoch by their signed attribution (relevance for
    the target class), or channels by their attribution summed over time;
    units of equal attribution are perturbed in random order
    (``random_state``).
    Step ``k`` perturbs the first ``round(k * n / n_steps)`` of the ``n``
    ranked units, so a curve costs ``n_steps + 1`` evaluations of the network
    per epoch, evaluated together. With ``"most_relevant_first"`` a faithful
    attribution gives a large AOPC; ``"least_relevant_first"`` gives the
    complementary test, where a faithful attribution gives a small one.

{aopc}

    Samples the network never reads (outside the windows of a
    :class:`~mne_xai.CroppedClassifier` with ``tmin``/``tmax``, the end of an
    epoch that pooling drops) are never perturbed and not counted: found from
    the first epochs (by their input gradient, and by whether replacing the
    outer samples moves the logits, as the randomization checks find them),
    they change nothing, so removing them at random made the
    ``"random"`` anchor easy to beat (a map of noise inside the windows scored
    an AOPC of 0.57 against the anchor's 0.42). Channels are ranked by their
    attribution summed over the samples read.

    References
    ----------
    .. footbibliography::
"""


@autograd_on
@verbose
@fill_doc
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
    baseline="zeros",
    batch_size=64,
    device=None,
    random_state=None,
    shortcuts=True,
    method_params=None,
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
    %(estimator)s
    %(epochs)s
    %(method_evaluated)s
    %(attribution_given)s
    %(target_scored)s
    order : "most_relevant_first" | "least_relevant_first"
        Which end of the ranking is removed first.
    unit : "feature" | "channel"
        Remove channel × time samples, or whole channels ranked by their
        relevance summed over time.
    n_steps : int
        Number of steps from the intact to the fully removed epoch; at most
        one per unit (the default 64 gives 8 steps of one channel each for
        ``unit="channel"`` on 8 channels).
    baseline : "zeros" | "mean" | "noise" | "interpolate"
        What replaces removed samples (see :ref:`trust-faithfulness`);
        ``"interpolate"`` needs ``unit="channel"``.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(shortcuts)s
    %(method_params_dict)s
    %(verbose)s
    %(removal_method_params)s
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
        method_parameters(params, method_params),
        shortcuts,
    )


@autograd_on
@verbose
@fill_doc
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
    baseline="zeros",
    batch_size=64,
    device=None,
    random_state=None,
    shortcuts=True,
    method_params=None,
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
    %(estimator)s
    %(epochs)s
    %(method_evaluated)s
    %(attribution_given)s
    %(target_scored)s
    order : "most_relevant_first" | "least_relevant_first"
        Which end of the ranking is inserted first.
    unit : "feature" | "channel"
        Insert channel × time samples, or whole channels ranked by their
        relevance summed over time.
    n_steps : int
        Number of steps from the baseline to the intact epoch; at most one
        per unit (the default 64 gives 8 steps of one channel each for
        ``unit="channel"`` on 8 channels).
    baseline : "zeros" | "mean" | "noise" | "interpolate"
        What stands for samples not yet inserted (see
        :ref:`trust-faithfulness`); ``"interpolate"`` needs
        ``unit="channel"`` and fills missing channels from the inserted ones
        (zeros before any is inserted).
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(shortcuts)s
    %(method_params_dict)s
    %(verbose)s
    %(removal_method_params)s
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
        method_parameters(params, method_params),
        shortcuts,
    )


deletion_curve.__doc__ += _CURVE_NOTES.format(
    what="removed",
    aopc="""\
    The AOPC is the score's drop from the intact epoch averaged over the
    ``n_steps + 1`` points of the curve, the intact epoch's (zero) included,
    as Samek et al. define it: :math:`\\frac{1}{L+1}\\sum_{k=0}^{L} f(x_0) -
    f(x_k)` with :math:`L` = ``n_steps``. Averaged over the removals alone
    (Quantus' ``PixelFlipping`` gives the curve without its first point), it
    is ``(n_steps + 1) / n_steps`` times larger.""",
)
insertion_curve.__doc__ += _CURVE_NOTES.format(
    what="inserted",
    aopc="""\
    The AOPC is the score's rise from the baseline averaged over the
    ``n_steps + 1`` points of the curve, the baseline's (zero) included: not
    the area under the curve of probabilities of Petsiuk et al.""",
)
