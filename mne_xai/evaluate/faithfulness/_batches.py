"""Checking inputs, and the batches of epochs with their attributions."""

import mne
import numpy as np
import torch
from mne.utils import _validate_type, logger
from sklearn.utils import Bunch

from ..._checks import check_positive_int, check_seed, compute_device
from ..._convert import InputData, network_batches, refuse_array_of_either_order
from ..._data_checks import check_outputs_finite
from ..._graph import full_float32
from ..._matching import check_same_epochs
from ..._network import reading_channels
from ..._samples_read import PROBE_EPOCHS, samples_read
from ..._warnings import quietly
from ...attribution import explain
from ...attribution._core import (
    NOT_RECORDED,
    _check_outputs,
    _resolve_target,
    check_method_parameters,
    private_module,
    recorded_target,
)
from ...attribution._registry import check_comparable_across_channels
from ...attribution.postprocess import _warn_if_units_differ
from ._baselines import _Interpolator
from ._shortcuts import _ClassScorer

# Perturbed variants are scored in forward passes of at least this many epochs
# (or ``batch_size`` if larger): one large pass costs far less than many small
# ones, and memory stays bounded whatever the number of steps or patches.
_MIN_VARIANTS_PER_PASS = 256


def _check_inputs(estimator, epochs, method, attribution, batch_size, params):
    batch_size = check_positive_int(batch_size, "batch_size")
    if (method is None) == (attribution is None):
        raise ValueError(
            "Pass either method (a name from mne_xai.list_methods(), computed "
            "batch by batch with mne_xai.explain) or attribution (maps you "
            "computed already), not both and not neither."
        )
    if method is not None:
        # As the sanity checks do: explain's own arguments (average) are no
        # parameters of the method, and crashed inside torch or NumPy.
        check_method_parameters(method, params)
    data = estimator._check_prediction_input(epochs, "epochs")
    if method is not None:
        check_comparable_across_channels(
            method,
            data.info if data.info is not None else estimator.info_,
            "ordering the samples of all channels by relevance",
            params,
        )
    if attribution is not None:
        if params:
            raise TypeError(
                f"Method parameters {sorted(params)} are only used with method=; "
                "attribution was given already."
            )
        _validate_type(
            attribution, (mne.BaseEpochs, np.ndarray), "attribution", "Epochs or array"
        )
        check_same_epochs(attribution, epochs, ("attribution", "epochs"))
        info = data.info if data.info is not None else estimator.info_
        if info is not None:
            _warn_if_units_differ(
                info, "ordering the samples of all channels by relevance"
            )
        # Maps as Epochs are read by channel name, as the epochs are: maps of
        # the same epochs in another channel order scored as chance.
        ch_names = None if data.info is None else list(data.info.ch_names)
        if isinstance(attribution, np.ndarray) and ch_names is not None:
            refuse_array_of_either_order(
                data,
                "an array of maps",
                "the maps as Epochs (as explain returns them; read by channel name)",
            )
        attribution = InputData(attribution, ch_names=ch_names, name="attribution")
        if None not in (attribution.tmin, data.tmin) and not np.isclose(
            attribution.tmin, data.tmin
        ):
            raise ValueError(
                f"attribution starts at {attribution.tmin:g} s but epochs at "
                f"{data.tmin:g} s; pass maps of these epochs' times."
            )
        if attribution.shape != data.shape:
            raise ValueError(
                f"attribution has shape {attribution.shape} but epochs have shape "
                f"{data.shape}; pass one map per epoch, on the network's channels "
                "and times."
            )
    return data, attribution


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
    shortcuts,
    mesg,
):
    """Yield, per batch, data, attributions, targets and random generators.

    Each item is a Bunch with ``data`` (tensor, (batch, n_channels, n_times)),
    ``attribution`` (tensor, same shape), ``target`` (int64 tensor of class
    indices), ``score`` (the target logit of the unperturbed epochs) and
    ``rngs`` (one numpy Generator per epoch, so draws do not depend on how
    epochs are batched), ``read`` (the samples the network reads, None for
    all; see :func:`~mne_xai._samples_read.samples_read`) and
    ``epoch`` (the epochs' numbers, see
    :attr:`~mne_xai._convert.InputData.selection`), ``given_order`` (the
    channels in the order of the Epochs given, None where it is the network's; see
    :attr:`~mne_xai._convert.InputData.given_order`), ``interpolator`` (the
    call's ``_Interpolator``, the same for every batch).
    """
    # A string such as "False" is true: it took the shortcuts it meant to avoid.
    _validate_type(shortcuts, bool, "shortcuts")
    random_state = check_seed(random_state)
    maps_target = recorded_target(attribution)
    inputs, attribution = _check_inputs(
        estimator, epochs, method, attribution, batch_size, params
    )
    shape, info = inputs.shape, inputs.info
    # The batches are explained as arrays, which a network wrapped without info
    # reads only once told the channels of the Epochs given.
    estimator = reading_channels(estimator, info)
    channels = info if info is not None else estimator.info_
    # The operators of baseline="interpolate" live as long as the call.
    interpolator = _Interpolator(channels)
    if target is None and maps_target is not NOT_RECORDED:
        target = maps_target
    target_index, description = _resolve_target(estimator, target, inputs)
    maps_class = _MapsClass(estimator, maps_target, target, description, inputs)
    device = compute_device(device, estimator)
    module = private_module(estimator, device)
    seeds = np.random.SeedSequence(random_state)
    # explain draws per epoch from this seed and the epoch's data, so maps do
    # not depend on how the epochs are batched.
    explain_seed = int(seeds.generate_state(1)[0])
    pass_size = max(batch_size, _MIN_VARIANTS_PER_PASS)
    # Named as explain and the sanity checks name theirs: several measures may
    # log one after another.
    maps = "the maps given" if method is None else method
    logger.info(
        f"{mesg[0].upper()}{mesg[1:]} of {maps} on {shape[0]} epochs ({description})."
    )
    attribution_batches = (
        None if attribution is None else attribution.batches(batch_size)
    )
    start = 0
    # Scored as explain explains: in full float32 whatever the caller's matmul
    # precision (bfloat16 on some CPUs under "medium"), shortcuts or not.
    with torch.inference_mode(), full_float32():
        scorer = None
        for batch in network_batches(estimator, inputs, batch_size, mesg):
            data = torch.from_numpy(batch).to(device)
            stop = start + len(data)
            if scorer is None:
                # A few epochs show what the check looks for, as in explain;
                # the whole first batch made it a quarter of a deletion test.
                _check_outputs(
                    module,
                    data[:PROBE_EPOCHS],
                    mesg,
                    differentiates=False,
                    n_classes=len(estimator.classes_),
                )
                read = samples_read(module, data)
                scorer = _ClassScorer(module, data, pass_size, shortcuts=shortcuts)
            logits = scorer.forward(data)
            # Before explain, which would name the epochs within this batch.
            check_outputs_finite(logits, inputs.name, start)
            batch_target = _classes_of_batch(target_index, logits, start)
            maps_class.check(batch_target, logits, start)
            batch_seeds = seeds.spawn(len(data))
            if attribution_batches is None:
                maps = _explain_batch(
                    estimator, batch, batch_target, method, explain_seed, device, params
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
                info=channels,
                module=module,
                read=read,
                given_order=inputs.given_order,
                epoch=inputs.selection[start:stop],
                interpolator=interpolator,
            )
            start = stop


class _MapsClass:
    """Refuse to score maps of :func:`explain` against a class they do not explain.

    Maps explained for ``target="true"`` and scored against the predicted
    class (the measures' default) lose the true class's relevance from
    another logit on each misclassified epoch: 11 of 60 epochs scored -0.05
    for +0.14, and the mean AOPC 0.099 for 0.134, without a word.
    """

    def __init__(self, estimator, maps_target, target, description, inputs):
        self.maps_target = maps_target
        self.target = target
        self.description = description
        self.index = None
        self.checks = maps_target is not NOT_RECORDED and not _same_target(
            maps_target, target
        )
        if self.checks:
            self.index, self.maps_description = _resolve_target(
                estimator, maps_target, inputs
            )

    def check(self, scored, logits, start):
        """Refuse the batch from ``start`` if its maps explain other classes."""
        if not self.checks:
            return
        explained = _classes_of_batch(self.index, logits, start)
        other = torch.nonzero(explained != scored).flatten().tolist()
        if other:
            raise ValueError(
                f"The maps given explain the {self.maps_description} "
                f"(target={self.maps_target!r}, as explain recorded in their "
                f"info['description']), and target={self.target!r} scores the "
                f"{self.description}, another class for epoch {start + other[0]}: "
                "the relevance of one class would be removed from another's "
                f"logit. Pass target={self.maps_target!r} (or leave it None), "
                f"or explain the maps for target={self.target!r}."
            )


def _classes_of_batch(target_index, logits, start):
    """Return the class index of each epoch of the batch from ``start``.

    Its target's, or its highest logit's where ``target_index`` is None.
    """
    if target_index is None:
        return logits.argmax(dim=1)
    stop = start + len(logits)
    return torch.from_numpy(target_index[start:stop]).to(logits.device)


def _same_target(first, second):
    """Whether two targets are the same scalar (sequences are never compared)."""
    scalars = all(
        value is None or isinstance(value, str) or np.ndim(value) == 0
        for value in (first, second)
    )
    return scalars and (
        first is second or (None not in (first, second) and first == second)
    )


def _explain_batch(estimator, batch, target, method, random_state, device, params):
    """Attributions of a batch through mne_xai.explain, each for its own class.

    explain turns autograd on again inside the evaluation's inference mode.
    """
    return explain(
        estimator,
        batch,
        method,
        target=estimator.classes_[target.cpu().numpy()],
        batch_size=len(batch),
        device=device,
        random_state=random_state,
        verbose=quietly(),
        **params,
    ).get_data()
