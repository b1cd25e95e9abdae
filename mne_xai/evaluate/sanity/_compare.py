"""The path every check shares: validate, then compare maps batch by batch."""

from typing import NamedTuple

import numpy as np
import torch
from mne.utils import _check_option, _validate_type, logger

from ..._checks import check_seed
from ..._data_checks import std_per_type
from ..._network import reading_channels
from ..._progress import progress_bar
from ..._samples_read import PROBE_EPOCHS, samples_read
from ..._warnings import quietly
from ...attribution import explain
from ...attribution._core import (
    Request,
    _check_outputs,
    prepare_request,
    private_module,
)
from ...attribution._registry import check_comparable_across_channels, needs_patterns
from ..localization import _map_data
from ._result import SanityCheckResult
from ._similarity import SIMILARITY_METRICS, _warn_undefined, measures_of_samples


class _Setup(NamedTuple):
    """What every check needs, validated once."""

    n_epochs: int
    request: Request  # the data, read in batches with the network's channels
    target_index: np.ndarray | None  # class index per epoch; None = predicted
    description: str
    rng: np.random.Generator
    explain_params: dict
    metric: str
    threshold: float


def refuse_learned_patterns(method, check):
    """Refuse PatternNet and PatternAttribution in a check that changes the network.

    Their patterns belong to the trained weights; explain refused them for
    every randomized copy as "not learned for this network", though they
    were, which the user could not act on.
    """
    if needs_patterns(method):
        raise ValueError(
            f"The {check} check explains networks with other weights than the "
            f"fitted one, and {method}'s patterns are learned for one network's "
            "weights: they would have to be learned again for every such network, "
            "which the check does not do. Check the method with "
            "target_randomization_check, which keeps the network."
        )


def check_threshold(threshold):
    """Refuse a verdict's threshold that no similarity (in [-1, 1]) is below."""
    _validate_type(threshold, "numeric", "threshold")
    if not -1 < threshold <= 1:
        raise ValueError(f"threshold must be in (-1, 1], got {threshold}.")


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
    _check_option("metric", metric, SIMILARITY_METRICS)
    check_threshold(threshold)
    random_state = check_seed(random_state)
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
    check_comparable_across_channels(
        method, request.info, "the similarity of maps over their channels", params
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
        metric,
        threshold,
    )


def _random_seeds(rng, size):
    return rng.integers(np.iinfo(np.int32).max, size=size)


def _explained_batches(estimator, setup):
    """Yield each batch of the request with its position and the classes to explain.

    Yields
    ------
    start, stop : int
        The batch's epochs in the data.
    batch : torch.Tensor
        The batch.
    classes : array of int
        The class index explained in each epoch: the target's, or the class
        the estimator predicts.
    """
    start = 0
    for batch in setup.request.batches():
        stop = start + len(batch)
        if setup.target_index is None:
            classes = _predicted_classes(
                estimator, batch, setup.explain_params["device"]
            )
        else:
            classes = setup.target_index[start:stop]
        yield start, stop, batch, classes
        start = stop


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
        verbose=quietly(),
        **explain_params,
    ).get_data()


def _predicted_classes(estimator, batch, device):
    """Index of each epoch's predicted class."""
    module = private_module(estimator, device)
    with torch.no_grad():
        logits = module(torch.from_numpy(batch).to(device))
    return logits.argmax(dim=1).cpu().numpy()


def _channel_positions(variant, ch_names):
    """Positions in ``ch_names`` of the channels ``variant`` reads, in its order.

    A network trained again on Epochs in another channel order than the
    estimator's (the clone of data randomization, fitted on the epochs
    given) reads its channels in that order: given the data in the
    estimator's, it read each channel as another (a twin computing the same
    function of each channel, by name, scored -0.47 where its maps were the
    estimator's). None where the orders agree, or where either does not know
    its channels. A variant of other channels was refused before
    (``_check_same_channels``).
    """
    read = None if variant.info_ is None else variant.info_.ch_names
    if ch_names is None or read is None or read == ch_names:
        return None
    return np.array([ch_names.index(name) for name in read])


def _in_type_units(data, info, data_std):
    """Express the data in units of each channel type's standard deviation.

    In raw SI units every EEG sample (1e-5 V) outranks every gradiometer's
    (1e-11 T/m). The training data's deviation where the network records it,
    else each epoch's own, type by type.
    """
    if data_std is None:
        data_std = np.array([std_per_type(epoch[np.newaxis], info) for epoch in data])
        data_std = np.where(data_std > 0, data_std, 1.0)
        return data / data_std.reshape(len(data), -1, 1)
    return data / np.reshape(data_std, (-1, 1))


def _compare_to_variants(
    estimator, method, setup, *, check, steps, variants, class_offsets=None
):
    """Compare, epoch by epoch, the original maps with those of each variant.

    Parameters
    ----------
    estimator : estimator
        The fitted estimator, which explains the original maps.
    method : str
        The attribution method.
    setup : _Setup
        The validated arguments.
    check : str
        The check's name, for messages and the result.
    steps : sequence of str
        The name of each variant, for the result.
    variants : sequence of estimator
        Randomized copies of ``estimator``, or ``estimator`` itself.
    class_offsets : ndarray of int, shape (n_epochs,) | None
        Added (modulo the number of classes) to the class explained for the
        original when explaining the variants; None explains the same class.

    Returns
    -------
    result : SanityCheckResult
        The similarity of each variant's maps to the original ones, for every
        measure, and the verdict on ``setup.metric``.
    """
    n_epochs, batch_size = setup.n_epochs, setup.explain_params["batch_size"]
    n_classes = len(estimator.classes_)
    # The batches are explained as arrays, which a network wrapped without info
    # reads only once told the channels of the Epochs given.
    info = setup.request.data.info
    data_std = getattr(estimator, "data_std_", None)
    estimator = reading_channels(estimator, info)
    variants = [reading_channels(variant, info) for variant in variants]
    # The batches hold the estimator's channels in its order.
    ch_names = None if estimator.info_ is None else estimator.info_.ch_names
    orders = [_channel_positions(variant, ch_names) for variant in variants]
    probe = torch.from_numpy(next(setup.request.data.batches(PROBE_EPOCHS)))
    module = private_module(estimator, setup.request.device)
    probe = probe.to(setup.request.device)
    # Before the predicted classes are read as indices into classes_.
    _check_outputs(module, probe, method, differentiates=False, n_classes=n_classes)
    read = samples_read(module, probe)
    measures = measures_of_samples(read)

    def explained(network, batch, classes, order=None):
        if order is None:
            maps = _explain_classes(
                network, batch, classes, method, setup.explain_params
            )
        else:  # read in the network's order, compared in the estimator's
            maps = _explain_classes(
                network, batch[:, order], classes, method, setup.explain_params
            )[:, np.argsort(order)]
        return maps if read is None else maps[..., read]

    similarity = {
        metric: np.empty((len(variants), n_epochs)) for metric in SIMILARITY_METRICS
    }
    # Each map against the input's magnitude: whether a map that survives
    # randomization merely mirrors the data (ranks of |x|, as spearman_abs).
    magnitude = measures["spearman_abs"]
    input_similarity = np.empty((1 + len(variants), n_epochs))
    logger.info(
        f"{check.capitalize()} randomization of {method} on {n_epochs} epochs "
        f"({setup.description}), {len(variants)} variant(s)."
    )
    n_batches = len(range(0, n_epochs, batch_size))
    # Progress counts explained batches, original and variants alike; the bar is
    # not a context manager, which MNE reserves for parallel updates.
    bar = progress_bar(
        n_batches * (1 + len(variants)), mesg=f"{check} check", unit="batches"
    )
    for start, stop, batch, classes in _explained_batches(estimator, setup):
        original = explained(estimator, batch, classes)
        prepared = {
            metric: measure.prepare(original) for metric, measure in measures.items()
        }
        batch_data = _in_type_units(_map_data(batch, "epochs"), info, data_std)
        prepared_input = magnitude.prepare(
            batch_data if read is None else batch_data[..., read]
        )
        input_similarity[0, start:stop] = magnitude.compare(
            prepared_input, prepared["spearman_abs"]
        )
        bar.update_with_increment_value(1)
        if class_offsets is not None:
            classes = (classes + class_offsets[start:stop]) % n_classes
        for row, (variant, order) in enumerate(zip(variants, orders, strict=True)):
            randomized = explained(variant, batch, classes, order)
            prepared_randomized = {
                metric: measure.prepare(randomized)
                for metric, measure in measures.items()
            }
            for metric, measure in measures.items():
                similarity[metric][row, start:stop] = measure.compare(
                    prepared[metric], prepared_randomized[metric]
                )
            input_similarity[1 + row, start:stop] = magnitude.compare(
                prepared_input, prepared_randomized["spearman_abs"]
            )
            bar.update_with_increment_value(1)
    # The verdict's measure: SSIM is defined on constant maps where the
    # correlations are not.
    _warn_undefined(
        similarity[setup.metric], "comparison(s) of original and randomized maps"
    )
    return SanityCheckResult(
        check,
        method,
        steps,
        similarity,
        metric=setup.metric,
        threshold=setup.threshold,
        input_similarity=input_similarity,
        epoch=setup.request.data.selection,
    )
