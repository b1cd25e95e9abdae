"""Checks that data match the data they go with: the training data, or each other.

Data given to a fitted network must match what it was trained on (channels,
rate, samples, start time, preparation, EEG reference, baseline, channel types,
scale); the parts of a list of Epochs must come from one recording alike; maps
and the epochs they are scored against must hold the same epochs in the same
order. Checks of the data's values alone are in :mod:`mne_xai._data_checks`.
"""

import re

import mne
import numpy as np
from mne.io.constants import FIFF

from ._data_checks import EPOCHS_PER_CHUNK, channel_moments, check_offsets
from ._warnings import warn_data_mismatch

#: The input's standard deviation may differ from the training data's by this
#: factor before a warning says the units probably differ. Subjects and sessions
#: differ by a few times; volts and microvolts by a million.
SCALE_TOLERANCE = 100.0


def _positions_in_original(first, second):
    """Both objects' ``selection``, as positions in the Epochs they come from.

    :func:`mne.concatenate_epochs` numbers each part after the first on from
    the drop logs before it, so maps of the folds of one Epochs, explained
    apart and concatenated, number their epochs from ``n`` (the original's
    drop log length), ``2 n``, ...: taken modulo ``n`` they are the original's
    numbers again. None when the two are numbered on scales of no common
    original (drop logs whose lengths are not multiples).
    """
    lengths = len(first.drop_log), len(second.drop_log)
    original = min(lengths)
    if max(lengths) % max(original, 1):
        return None
    if original == 0:
        return first.selection, second.selection
    return first.selection % original, second.selection % original


def check_same_epochs(attribution, epochs, names):
    """Epochs are paired by position: refuse two that hold them in another order.

    Maps explained class by class and concatenated pair each epoch with
    another's ground truth or data (a perfect map then scored at chance). MNE's
    ``selection`` names each epoch of the original; events are compared where
    both objects name their classes alike (maps built with ``EpochsArray``
    and no events carry placeholder ones).
    """
    # Spectral relevance (explain_spectrum) keeps the epochs' selection too.
    of_epochs = mne.BaseEpochs | mne.time_frequency.EpochsSpectrum
    both = isinstance(attribution, of_epochs) and isinstance(epochs, of_epochs)
    if not both or len(attribution) != len(epochs):
        return
    selections = _positions_in_original(attribution, epochs)
    if selections is None:
        selections = (np.arange(len(attribution)),) * 2  # nothing to compare
    reordered = not np.array_equal(*selections) and np.array_equal(
        *map(np.sort, selections)
    )
    # A selection of 0, 1, 2, ... is also that of maps built with EpochsArray,
    # which says nothing of where they come from; two others must agree (maps
    # of epochs 0, 2, 3 paired with the truth of epochs 2, 3, 4 of one class
    # share their events, and scored 0.09 where 0.16 was due).
    known = [
        selection
        for selection in selections
        if not np.array_equal(selection, np.arange(len(selection)))
    ]
    other_epochs = len(known) == 2 and not np.array_equal(*known)
    relabelled = attribution.event_id == epochs.event_id and not np.array_equal(
        attribution.events[:, 2], epochs.events[:, 2]
    )
    if reordered or other_epochs or relabelled:
        first, second = names
        raise ValueError(
            f"{first} and {second} hold other epochs, or the same epochs in "
            f"another order (their {'events' if relabelled else 'selection'} "
            "differ), and maps are paired by position: each would be compared "
            f"with another epoch's. Give {first} in the order of {second}, e.g. "
            "explain the whole Epochs at once, or index both alike."
        )


def _check_same_recording(first, other, where, first_name):
    if other.ch_names != first.ch_names:
        # Read by the first one's channel indices, all parts need its order;
        # the first five names alone showed no difference where the order
        # differed further on.
        missing = [ch for ch in first.ch_names if ch not in other.ch_names]
        extra = [ch for ch in other.ch_names if ch not in first.ch_names]
        if missing or extra:
            differ = (
                "has other channels than the first Epochs ("
                + "; ".join(
                    f"{verb} {names[:5]}{' ...' * (len(names) > 5)}"
                    for verb, names in (("without", missing), ("with", extra))
                    if names
                )
                + ")"
            )
            fix = "pick the same channels in every part"
        else:
            differ = "has the channels of the first Epochs in another order"
            fix = f"reorder them ({where}.reorder_channels({first_name}.ch_names))"
        raise ValueError(
            f"{where} {differ}; all Epochs must share the same channels, in the "
            f"same order: {fix}."
        )
    if other.info["sfreq"] != first.info["sfreq"]:
        raise ValueError(
            f"{where} is sampled at {other.info['sfreq']} Hz but the first Epochs at "
            f"{first.info['sfreq']} Hz; resample them to one rate "
            f"({where}.resample({first.info['sfreq']:g}))."
        )
    # One time axis: a network reads sample k of every epoch as the same time.
    if len(other.times) != len(first.times) or not np.isclose(
        other.tmin, first.tmin, atol=0.5 / first.info["sfreq"]
    ):
        raise ValueError(
            f"{where} spans {other.tmin:g} to {other.times[-1]:g} s but the first "
            f"Epochs {first.tmin:g} to {first.times[-1]:g} s; crop them to a common "
            "time axis."
        )
    # The parts are read as one data set and checked against training through
    # the first one's info: another reference or bad channels in a later part
    # went unseen (a re-referenced part scored 0.74 instead of 0.91).
    prepared, first_prepared = _preparation(other.info), _preparation(first.info)
    differences = [key for key in prepared if prepared[key] != first_prepared[key]]
    if differences:
        raise ValueError(
            f"{where} was prepared otherwise than the first Epochs: "
            + "; ".join(
                f"{key}: {prepared[key]}, against {first_prepared[key]}"
                for key in differences
            )
            + "; prepare them alike (filter, reference, projectors, gradient "
            "compensation)."
        )
    if not _same_baseline(other.baseline, first.baseline, first.info["sfreq"]):
        raise ValueError(
            f"{where} was baseline-corrected over {_baseline_text(other.baseline)} "
            f"but the first Epochs over {_baseline_text(first.baseline)}; correct "
            "them alike (epochs.apply_baseline)."
        )
    if sorted(other.info["bads"]) != sorted(first.info["bads"]):
        raise ValueError(
            f"{where} marks {sorted(other.info['bads'])} bad but the first Epochs "
            f"{sorted(first.info['bads'])}; mark the same channels bad in every "
            "part, or repair them with interpolate_bads(), as "
            "mne.concatenate_epochs requires."
        )


def _same_baseline(baseline, other, sfreq):
    """Whether two ``epochs.baseline`` values are the same, to half a sample."""
    if baseline is None or other is None:
        return baseline is other
    return np.allclose(baseline, other, atol=0.5 / sfreq, rtol=0)


def _baseline_text(baseline):
    if baseline is None:
        return "nothing (baseline=None)"
    return f"{baseline[0]:g} to {baseline[1]:g} s"


def _check_same_baseline(data, train_baseline, name):
    """Warn when Epochs were baseline-corrected otherwise than in training.

    Subtracting another period's mean shifts every channel by its own offset,
    which the network cannot tell from signal: on unfiltered EEGBCI, a network
    trained with ``baseline=(0, 0.5)`` scored 0.87 instead of 0.93 on the same
    trials without it.
    """
    if _same_baseline(data.baseline, train_baseline, data.info["sfreq"]):
        return
    fix = (
        "read the epochs without baseline correction (baseline=None)"
        if train_baseline is None
        else f"epochs.apply_baseline(({train_baseline[0]:g}, {train_baseline[1]:g}))"
    )
    warn_data_mismatch(
        f"{name} was baseline-corrected over {_baseline_text(data.baseline)}, "
        f"the training epochs over {_baseline_text(train_baseline)} "
        f"(epochs.baseline): the network reads other offsets than it learned "
        f"from; {fix}, as for the training data.",
    )


_REFERENCES = {
    FIFF.FIFFV_MNE_CUSTOM_REF_OFF: "the recording's reference",
    FIFF.FIFFV_MNE_CUSTOM_REF_ON: "a custom reference (e.g. average)",
    FIFF.FIFFV_MNE_CUSTOM_REF_CSD: "current source density",
}


#: Where MNE records each step of :func:`_preparation`.
_RECORDED_IN = {
    "pass band": "info['highpass'], info['lowpass']",
    "reference": "info['custom_ref_applied']",
    "projectors applied": "info['projs']",
    "gradient compensation": "info.compensation_grade",
}


def _is_average_reference(proj):
    """Whether a projector is an average reference, as MNE tells one."""
    return proj["kind"] == FIFF.FIFFV_PROJ_ITEM_EEG_AVREF or bool(
        re.match("^Average .* reference$", proj["desc"])
    )


def _preparation(info):
    """Return what an info records of how its data were prepared, as phrases.

    Phrases are compared as text (``:g`` keeps six significant digits), so a
    filter edge rounded differently on the way through a file does not count
    as another. Only active projectors changed the data; inactive ones are not
    applied to what the network reads.
    """
    active = [proj for proj in info["projs"] if proj["active"]]
    # An applied average-reference projector is an average reference, as
    # set_eeg_reference("average") sets one: the same data, and MNE records
    # one as a projector, the other as a custom reference.
    average = [proj for proj in active if _is_average_reference(proj)]
    applied = sorted(proj["desc"] for proj in active if proj not in average)
    reference = int(info["custom_ref_applied"])
    if average and reference == FIFF.FIFFV_MNE_CUSTOM_REF_OFF:
        reference = FIFF.FIFFV_MNE_CUSTOM_REF_ON
    # CTF MEG: each channel holds the field less, by grade, the reference
    # sensors' estimate of the noise; None without MEG channels.
    grade = info.compensation_grade
    return {
        "pass band": f"{info['highpass']:g}-{info['lowpass']:g} Hz",
        "reference": _REFERENCES[reference],
        "projectors applied": ", ".join(applied) or "none",
        "gradient compensation": "none" if grade is None else f"grade {grade}",
    }


def _check_same_preparation(info, train_info, name):
    """Warn when data were prepared (filtered, referenced...) otherwise than in training.

    Each changes what every channel holds, and the network cannot tell: on
    EEGBCI, a network trained on average-referenced epochs scored 0.58 on
    held-out trials as recorded instead of 0.91 on them average-referenced
    (see the training guide).

    Returns
    -------
    alike : bool
        Whether the infos record the same preparation (no warning).
    """
    given, trained = _preparation(info), _preparation(train_info)
    differences = [key for key in given if given[key] != trained[key]]
    if not differences:
        return True
    # MNE takes None for no edge: 0 Hz and Nyquist are no filter, and
    # filter(0, nyquist) fails.
    low = train_info["highpass"] or None
    high = train_info["lowpass"] if train_info["lowpass"] < info["sfreq"] / 2 else None
    fixes = {
        "pass band": (
            "the epochs unfiltered, as in training"
            if low is None and high is None
            else f"epochs.filter({low if low is None else f'{low:g}'}, "
            f"{high if high is None else f'{high:g}'})"
        ),
        "reference": (
            "the epochs as recorded, without a custom or average reference, as in "
            "training"
            if trained["reference"] == _REFERENCES[FIFF.FIFFV_MNE_CUSTOM_REF_OFF]
            else "epochs.set_eeg_reference() as for the training data"
        ),
        "projectors applied": "epochs.add_proj(...).apply_proj() as for the "
        "training data",
        "gradient compensation": "raw.apply_gradient_compensation("
        f"{train_info.compensation_grade or 0}) before epoching, as for the "
        "training data",
    }
    warn_data_mismatch(
        f"{name} was prepared otherwise than the training data, as their infos "
        "record it: "
        + "; ".join(
            f"{key}: {given[key]}, against {trained[key]} in training "
            f"({_RECORDED_IN[key]})"
            for key in differences
        )
        + ". The network reads other signals than it learned from; prepare the "
        "data like the training data ("
        + "; ".join(fixes[key] for key in differences)
        + ").",
    )
    return False


#: How far from zero, relative to the data, a reference leaves its zeros.
_REFERENCE_TOLERANCE = 1e-4


def eeg_reference(array, info):
    """Say which reference the EEG channels of ``array`` show, where they show one.

    ``info["custom_ref_applied"]`` says only whether a custom reference was
    set, not which: a network trained on average-referenced EEGBCI epochs
    scored 0.64 on them referenced to Iz, with no word from the infos. The
    data show two references: an average reference makes the EEG channels
    sum to zero at every sample, and a reference to one channel makes that
    channel zero.

    Each channel's mean over each epoch is removed first, and the sum is
    read at most samples, not all: a DC offset (a reference of its own) or
    an electrode pop at one sample, of one channel, left average-referenced
    epochs read as "neither", and the advice was to reference them again.

    Parameters
    ----------
    array : ndarray, shape (n_epochs, n_channels, n_times)
        Epochs of the channels of ``info``.
    info : mne.Info
        Their info.

    Returns
    -------
    reference : str | None
        ``"average"``, the name of the channel referenced to, or None when
        the data show neither (or hold fewer than two EEG channels).
    """
    eeg = mne.pick_types(info, meg=False, eeg=True, exclude=())
    if len(eeg) < 2 or not array.size:
        return None
    channel_spread, balance = [], []
    # Epochs a few at a time: a float64 copy of all would double the memory.
    for start in range(0, len(array), EPOCHS_PER_CHUNK):
        data = array[start : start + EPOCHS_PER_CHUNK, eeg].astype(np.float64)
        data -= data.mean(axis=-1, keepdims=True)
        channel_spread.append(np.abs(data).max(axis=-1))
        # Float32 sums of zero-sum channels miss zero by about 1e-7 of the
        # samples' norm across channels.
        norm = np.linalg.norm(data, axis=1)
        balance.append(
            np.abs(data.sum(axis=1)) / np.maximum(norm, np.finfo(float).tiny)
        )
    spread = np.concatenate(channel_spread).max(axis=0)
    scale = np.median(spread)
    if scale == 0:
        return None
    zero = np.flatnonzero(spread <= _REFERENCE_TOLERANCE * scale)
    if len(zero) == 1:
        return info.ch_names[eeg[zero[0]]]
    if np.median(np.concatenate(balance)) <= _REFERENCE_TOLERANCE:
        return "average"
    return None


def _reference_text(reference):
    if reference is None:
        return "neither an average reference nor a reference to one channel"
    if reference == "average":
        return "an average reference (the EEG channels sum to zero)"
    return f"a reference to {reference} (which holds zeros)"


def _check_same_eeg_reference(data, train_reference, name):
    """Warn when the EEG shows another reference than the training EEG did."""
    # One epoch shows it (and keeps the reading of lazy epochs batch by batch).
    reference = eeg_reference(next(data.batches(1)), data.info)
    if reference == train_reference:
        return
    dead = (
        f" If {train_reference} was a dead electrode instead, flat in training, "
        "mark it bad (info['bads']) and fit again."
        if train_reference not in (None, "average")
        else ""
    )
    warn_data_mismatch(
        f"{name}'s EEG shows {_reference_text(reference)}, the training EEG "
        f"{_reference_text(train_reference)}: every channel holds another signal "
        "than the network learned from. Reference the epochs as the training "
        f"epochs were (epochs.set_eeg_reference).{dead}",
    )


def _check_same_channel_types(info, train_info, name):
    """Warn when channels the network reads have another type than in training.

    The network reads them as it learned them, but what is made of its maps
    follows the types given: with C3 typed EOG, ``maps.average()`` and the
    topomaps left its relevance out, silently.
    """
    trained = dict(
        zip(train_info.ch_names, train_info.get_channel_types(), strict=True)
    )
    changed = [
        f"{ch} ({kind} here, {trained[ch]} in training)"
        for ch, kind in zip(info.ch_names, info.get_channel_types(), strict=True)
        if ch in trained and kind != trained[ch]
    ]
    if changed:
        warn_data_mismatch(
            f"Channel(s) of {name} have another type than in training: "
            f"{', '.join(changed)}. The network reads them as before, but maps "
            "carry the types given, and MNE's averages and topomaps leave out "
            "channels that are not data channels; set the types as in training "
            "(epochs.set_channel_types).",
        )


#: ``train_baseline`` of an estimator that did not record it (fitted on
#: arrays, or pickled before it was recorded): nothing to compare.
BASELINE_UNKNOWN = "unknown"
#: ``train_reference`` of an estimator that did not record it.
REFERENCE_UNKNOWN = "unknown"


def check_matches_training(
    data,
    *,
    train_info,
    n_channels,
    n_times,
    train_tmin=None,
    train_sfreq=None,
    train_baseline=BASELINE_UNKNOWN,
    train_reference=REFERENCE_UNKNOWN,
):
    """Raise a clear error when data differ from what the network was trained on.

    Parameters
    ----------
    data : InputData
        The data, with the training channels picked.
    train_info : mne.Info | None
        The training info.
    n_channels, n_times : int
        Shape of a training epoch.
    train_tmin : float | None
        Start time of the training epochs; a different start only warns, as
        the network cannot tell.
    train_sfreq : float | None
        The training rate where no training info gives it (arrays fitted
        with a rate), checked against the rate of Epochs.
    train_baseline : tuple of float | None | "unknown"
        The training epochs' ``baseline``; a different one only warns.
    train_reference : str | None
        The reference the training EEG showed (see :func:`eeg_reference`),
        or ``"unknown"``; a different one only warns.

    Warns
    -----
    RuntimeWarning
        When the epochs start at another time than the training epochs, were
        baseline-corrected otherwise, filtered to another pass band
        (``info["highpass"]``, ``info["lowpass"]``), referenced otherwise
        (``info["custom_ref_applied"]``, or the reference the EEG shows), with
        other projectors applied (``info["projs"]``), or MEG at another gradient
        compensation grade (``info.compensation_grade``), when channels the network reads
        have another type, or are marked bad in the data but were good in
        training (a broken electrode of a new recording).
    """
    name, shape, info = data.name, data.shape, data.info
    if shape[1] != n_channels:
        # Fitted on an array without info, Epochs are read whole, their
        # stimulus and other non-data channels too.
        by_position = ""
        if info is not None and train_info is None:
            by_position = (
                " It was fitted on an array, without channel names, and reads "
                "every channel of Epochs: give an array of the training channels "
                "(e.g. epochs.get_data(picks='eeg')), or fit on Epochs, whose "
                "channels are then read by name."
            )
        elif info is None and train_info is not None:
            # epochs.get_data() holds the channels picks left out (stimulus,
            # EOG, bad ones).
            by_position = (
                f" It was fitted on Epochs, of the channels {train_info.ch_names[:3]}"
                f"{' ...' * (n_channels > 3)}, and reads an array by position: give "
                "the Epochs, which are read by name, or the array of the training "
                "channels in their order, epochs.get_data(picks=estimator.info_"
                ".ch_names)."
            )
        raise ValueError(
            f"{name} has {shape[1]} channels but the estimator was fitted on "
            f"{n_channels}.{by_position}"
        )
    if train_info is not None:
        train_sfreq = train_info["sfreq"]
    # The rate first: epochs resampled otherwise also have another number of
    # samples, and the rate says what to do about it.
    if info is not None and train_sfreq is not None and info["sfreq"] != train_sfreq:
        raise ValueError(
            f"{name} is sampled at {info['sfreq']} Hz but the estimator was fitted at "
            f"{train_sfreq} Hz; resample the epochs."
        )
    if shape[2] != n_times:
        raise ValueError(
            f"{name} has {shape[2]} time samples but the estimator was fitted on "
            f"{n_times}; crop or resample the epochs like the training data."
        )
    if info is None or train_info is None:
        return
    if train_tmin is not None and not np.isclose(data.tmin, train_tmin):
        warn_data_mismatch(
            f"{name} starts at {data.tmin:g} s but the training epochs started at "
            f"{train_tmin:g} s; the network sees other times of the trial than it "
            "was trained on. Crop the epochs like the training data.",
        )
    prepared_alike = _check_same_preparation(info, train_info, name)
    # Where the infos differ already, their warning says it.
    if prepared_alike and train_reference != REFERENCE_UNKNOWN:
        _check_same_eeg_reference(data, train_reference, name)
    if not isinstance(train_baseline, str):  # recorded
        _check_same_baseline(data, train_baseline, name)
    _check_same_channel_types(info, train_info, name)
    newly_bad = [
        ch
        for ch in info.ch_names
        if ch in info["bads"] and ch not in train_info["bads"]
    ]
    if newly_bad:
        warn_data_mismatch(
            f"Channel(s) {', '.join(newly_bad)} of {name} are marked bad but were "
            "good in the training data; the network reads them as they are. "
            "Repair them first (epochs.interpolate_bads()) or train without them "
            "(picks).",
        )


def _offset_fix(train_baseline, train_info):
    """Say how to remove offsets from data given to a fitted network, as in training.

    Baseline correction advised where the training epochs had none was undone
    by the next warning, which asks for the training epochs' baseline.

    Parameters
    ----------
    train_baseline : tuple of float | None | "unknown"
        The training epochs' baseline (the estimator's ``baseline_``).
    train_info : mne.Info | None
        The training channels, whose high-pass edge the filter advised takes.
    """
    highpass = 0.0 if train_info is None else train_info["highpass"]
    filtered = "high-pass filter the continuous data " + (
        f"(raw.filter(l_freq={highpass:g}, h_freq=None), the training data's edge)"
        if highpass > 0
        else "(raw.filter(l_freq=0.5, h_freq=None))"
    )
    if train_baseline is None:
        return (
            f"Prepare them as the training data were: {filtered}, and epoch it "
            "without baseline correction (baseline=None); baseline-corrected, "
            "these epochs would differ from the training epochs, which were not."
        )
    if isinstance(train_baseline, str):  # not recorded
        return (
            f"Prepare them as the training data were: {filtered}, or, if the "
            "training epochs were baseline-corrected, correct these over the "
            "same period (epochs.apply_baseline((tmin, tmax)))."
        )
    return (
        "Prepare them as the training epochs were: baseline-correct them over "
        f"the same period, epochs.apply_baseline(({train_baseline[0]:g}, "
        f"{train_baseline[1]:g}))."
    )


def check_amplitudes(
    batch, train_std, info=None, name="X", train_baseline=BASELINE_UNKNOWN
):
    """Warn when data are orders of magnitude from the training data's scale, or drift.

    A network trained on microvolts and given volts (or the reverse) sees an
    almost constant input and returns one answer for every epoch, silently.
    Each group of channels scaled together in training is compared with its
    own training scale: one median over all channels missed EEG given in
    microvolts beside more MEG channels. Epochs whose offsets drift
    (unfiltered data, when training had filtered ones) stay within that
    scale, and are found by :func:`check_offsets`.

    Parameters
    ----------
    batch : ndarray, shape (n_epochs, n_channels, n_times)
        The data.
    train_std : float | ndarray, shape (n_channels,) | None
        :func:`std_per_type` of the training data; None checks only offsets.
    info : mne.Info | None
        The training channels, to name the type of those in another unit and
        the channels whose offsets drift.
    name : str
        The data's name in the warning.
    train_baseline : tuple of float | None | "unknown"
        The training epochs' baseline, to advise removing offsets as in
        training.

    Returns
    -------
    warned : bool
        Whether it warned, so that callers checking batch after batch can stop.
    """
    # One pass over the data gives both checks what they read.
    moments = channel_moments(batch)
    fix = _offset_fix(train_baseline, info)
    ch_names = None if info is None else info.ch_names
    warned = check_offsets(batch, ch_names, name=name, moments=moments, fix=fix)
    if train_std is None:
        return warned
    epoch_means, mean_square = moments
    channel_means = epoch_means.mean(axis=0)
    train_std = np.broadcast_to(np.asarray(train_std, np.float64), channel_means.shape)
    # Training gave each channel its group's std: channels sharing a value
    # were scaled together, by type (or by unit, in models fitted before).
    groups = [train_std == value for value in dict.fromkeys(train_std.tolist())]
    types = None if info is None else np.array(info.get_channel_types())
    found = []
    for channels in groups:
        expected = train_std[channels][0]
        if expected == 0:  # a constant type, scaled by the user's number
            continue
        if types is not None and set(types[channels]) == {"stim"}:
            # Event codes, not amplitudes: their spread is the batch's mix of
            # classes, zero in a batch of one class.
            continue
        variance = mean_square[channels].mean() - channel_means[channels].mean() ** 2
        std = np.sqrt(max(variance, 0.0))
        ratio = std / expected
        if 1 / SCALE_TOLERANCE <= ratio <= SCALE_TOLERANCE:
            continue
        where = ""
        if len(groups) > 1:
            where = (
                f" in {channels.sum()} of its channels"
                if types is None
                else f" in its {'+'.join(dict.fromkeys(types[channels]))} channels"
            )
        found.append(
            f"a standard deviation of {std:.3g}{where}, {ratio:.3g} times that of "
            f"the training data ({expected:.3g})"
        )
    if found:
        warn_data_mismatch(
            f"{name} has {'; and '.join(found)}: are they in different units "
            "(e.g. volts and microvolts)? The network's outputs are meaningless "
            "unless the data are given in the training unit.",
        )
    return warned or bool(found)
