"""Checks of the data's values alone, and the statistics they read.

Finite values (of the data and of the network's outputs), units, copies of
epochs, offsets, loud channels and flat epochs, none of which needs the
training data; the scale of each channel type, which the estimators also scale
by. Comparisons with the training data are in :mod:`mne_xai._matching`.
"""

import hashlib
from typing import NamedTuple

import numpy as np
import torch

from ._warnings import warn, warn_data_mismatch

#: The variance of the epochs' mean values across epochs (drifting offsets) may
#: reach this many times the variance within epochs, in the median channel,
#: before a warning says they drown the EEG (real epochs, raw or filtered, stay
#: below 2 in the median channel; single channels of unfiltered EEGBCI reach 6).
OFFSET_RATIO = 10.0
#: How many times the signal's standard deviation within epochs an offset that
#: stays the same in every epoch may reach, in the median channel, before a
#: warning: on simulated epochs with a 10 Hz burst, both networks learned it
#: at 50 times (EEGNet 1.00, InterpretableCNN 0.95) and were at chance at 500
#: times (a DC-coupled amplifier's tens of millivolts are thousands of times).
STEADY_OFFSET_RATIO = 100.0
#: Epochs converted at once where all the data are read (to float32 for the
#: network, to float64 for statistics): a copy of the whole data at once
#: doubles or triples the memory of a large data set.
EPOCHS_PER_CHUNK = 256


def _check_finite(data, name, ch_names=None):
    """Raise naming the epochs and channels of ``data`` that are not finite.

    ``data`` must be all the data: see :func:`_raise_not_finite`.
    """
    finite = np.isfinite(data)
    if not finite.all():
        _raise_not_finite(finite.all(axis=2), name, ch_names, ~finite.all(axis=(0, 1)))


def _raise_not_finite(finite, name, ch_names=None, nonfinite_samples=None):
    """Raise naming the epochs that are not finite, and the channels never finite.

    A channel that holds NaN in every epoch (a disconnected electrode) is
    named, to be marked bad rather than every epoch dropped, which leaves it
    out of training only: a fitted network reads its channels, bad or not
    (marked bad, the same error came again), and needs them repaired.

    Parameters
    ----------
    finite : ndarray of bool, shape (n_epochs, n_channels)
        Whether each channel of each epoch is finite, for all the data: a
        batch alone showed NaN of one epoch "in every epoch".
    name : str
        The data's name in the message.
    ch_names : list of str | None
        The channel names (None for arrays).
    nonfinite_samples : ndarray of bool, shape (n_times,) | None
        Whether each time sample is not finite in some epoch and channel: NaN
        at the same samples of every channel and epoch (a gap) are named, to
        be cropped or repaired rather than every channel marked bad.
    """
    bad = np.flatnonzero(~finite.all(axis=1))
    fix = _REPAIR_EPOCHS
    everywhere = np.flatnonzero(~finite.any(axis=0)).tolist()
    samples = (
        np.array([], int)
        if nonfinite_samples is None
        else np.flatnonzero(nonfinite_samples)
    )
    if len(everywhere) == finite.shape[1] and len(samples) == len(nonfinite_samples):
        # No channel to mark bad, no span to crop, no epoch left to drop.
        fix = (
            "every channel holds them in every epoch and at every time sample, "
            "so no channel, epoch or span of time holds data to keep: check how "
            "the data were read or computed"
        )
    elif len(everywhere) == finite.shape[1] and 0 < len(samples):
        fix = (
            f"every channel holds them in every epoch, at sample(s) "
            f"{_listed(samples.tolist())} of "
            f"{len(nonfinite_samples)}: crop them out of the epochs "
            "(epochs.crop) or repair them"
        )
    elif everywhere and ch_names is None:
        fix = (
            f"the channel(s) at index {everywhere} hold them in every epoch: "
            "repair them, or leave them out of the data (a network fitted on "
            "them needs them)"
        )
    elif everywhere:
        channels = [ch_names[index] for index in everywhere]
        fix = (
            f"channel(s) {channels} hold them in every epoch: repair them "
            f"(epochs.info['bads'] += {channels}, then epochs.interpolate_bads()), "
            "or, to train without them, mark them bad, which picks=None leaves "
            "out (a network fitted on them reads them, bad or not)"
        )
    raise ValueError(
        f"{name} contains NaN or infinite values in epoch(s) {_listed(bad)}; {fix}."
    )


_REPAIR_EPOCHS = (
    "drop or repair those epochs (e.g. with epochs.drop or interpolate_bads) "
    "before using them"
)


def _listed(indices):
    """Return the first items, as the messages list epochs: "3, 7 and 2 more"."""
    more = f" and {len(indices) - 5} more" if len(indices) > 5 else ""
    return f"{', '.join(map(str, indices[:5]))}{more}"


def check_outputs_finite(outputs, name, start=0):
    """Refuse NaN or infinite outputs of the network for finite data.

    Finite data can still overflow float32 inside the network (a sample of
    1e36, which float32 holds): its outputs are then NaN or infinite, which
    ``predict_proba`` returned as NaN probabilities, ``predict`` as a class,
    and the checks of the network's determinism read as randomness (NaN
    differs from NaN).

    Parameters
    ----------
    outputs : torch.Tensor, shape (n_epochs, ...)
        The network's outputs for consecutive epochs of finite data.
    name : str
        The data's name in the message.
    start : int
        Index of the first of these epochs in the data.
    """
    finite = torch.isfinite(outputs).flatten(1).all(dim=1)
    if bool(finite.all()):
        return
    bad = start + np.flatnonzero(~finite.cpu().numpy())
    raise ValueError(
        f"{name} overflows the network: its outputs for epoch(s) {_listed(bad)} "
        "are NaN or infinite, although the data are finite. Values far beyond "
        "the others (an artefact, or data in another unit than the training "
        f"data) do this; {_REPAIR_EPOCHS}."
    )


def type_groups(info):
    """Group the channels by their channel type, as MNE's decoders scale them.

    Types, not units: MNE stores EEG, EOG, ECG, EMG and fNIRS CW amplitude all
    in volts, at amplitudes from about 1e-5 (EEG) to 1 (fNIRS), and a scale
    shared by the types of one unit drowned the EEG beside them (cross-validated
    accuracy fell from 0.98 to chance with an EOG of 300 µV or an ECG of 1 mV).

    Parameters
    ----------
    info : mne.Info | None
        The channels; None means one group.

    Returns
    -------
    groups : dict of str -> ndarray of bool | None
        For each channel type (``"eeg"``, ``"eog"``, ``"mag"``, ...), a mask of
        its channels; None when every channel is of one type.
    """
    if info is None:
        return None
    types = np.array(info.get_channel_types())
    if len(set(types)) == 1:
        return None
    return {kind: types == kind for kind in dict.fromkeys(types)}


def std_per_type(array, info):
    """Return the standard deviation of the data, the channels of each type their own.

    Parameters
    ----------
    array : ndarray, shape (n_epochs, n_channels, n_times)
        The data.
    info : mne.Info | None
        Their channels; None means one type.

    Returns
    -------
    std : float | ndarray, shape (n_channels,)
        The standard deviation over all epochs, times and channels when the
        channels share one type; otherwise, for each channel, that of the
        channels of its type (see :func:`type_groups`).
    """
    groups = type_groups(info)
    if groups is None:
        return _std_in_chunks(array, slice(None))
    std = np.empty(array.shape[1])
    for channels in groups.values():
        std[channels] = _std_in_chunks(array, channels)
    return std


def _std_in_chunks(array, channels):
    """``np.std(array[:, channels], dtype=np.float64)``, a chunk of epochs at a time.

    Two passes, the mean and then the squares about it, as NumPy computes it;
    NumPy's own would copy all the data to float64 at once.
    """

    def chunks():
        for start in range(0, len(array), EPOCHS_PER_CHUNK):
            yield array[start : start + EPOCHS_PER_CHUNK, channels].astype(np.float64)

    n_epochs, n_channels, n_times = array.shape
    count = n_epochs * np.arange(n_channels)[channels].size * n_times
    mean = sum(chunk.sum() for chunk in chunks()) / count
    return float(
        np.sqrt(sum(np.square(chunk - mean).sum() for chunk in chunks()) / count)
    )


def channel_moments(array):
    """Return each epoch's channel means and each channel's mean square.

    Parameters
    ----------
    array : ndarray, shape (n_epochs, n_channels, n_times)
        The data.

    Returns
    -------
    epoch_means : ndarray, shape (n_epochs, n_channels)
        The mean over time of each channel in each epoch.
    mean_square : ndarray, shape (n_channels,)
        The mean of each channel's squared values over epochs and times.
    """
    epoch_means, square_sums = [], 0.0
    # In chunks of epochs: a float64 copy of a large array at once would
    # double its memory.
    for chunk in np.array_split(array, -(-len(array) // EPOCHS_PER_CHUNK)):
        chunk = chunk.astype(np.float64)
        epoch_means.append(chunk.mean(axis=2))
        square_sums = square_sums + np.square(chunk).sum(axis=(0, 2))
    return np.concatenate(epoch_means), square_sums / (array.shape[0] * array.shape[2])


def within_epoch_variance(moments):
    """Return each channel's variance within epochs, from :func:`channel_moments`.

    The mean square less that of the epochs' means: offsets that differ from
    epoch to epoch (DC-coupled amplifiers) do not count.
    """
    epoch_means, mean_square = moments
    return mean_square - np.mean(np.square(epoch_means), axis=0)


class _UnitSlip(NamedTuple):
    """A unit MNE keeps a channel type in, and one such data are given in by mistake."""

    unit: str  # the SI unit, as in "keeps them in volts"
    one_unit: str  # singular, as in "per volt"
    symbol: str
    #: A standard deviation that no signal of the type reaches, in ``symbol``.
    limit: float
    slip: str  # the mistaken unit, as in "are they in microvolts?"
    one_slip: str
    factor: str  # the mistaken unit in SI units, as the advice multiplies


# EEG is tens of microvolts, even ECG and EMG a few millivolts; MEG in a
# shielded room picotesla (magnetometers) and nanotesla per metre
# (gradiometers), where MNE's figures show femtotesla and femtotesla per
# centimetre.
_MICROVOLTS = _UnitSlip("volts", "volt", "V", 1e-2, "microvolts", "microvolt", "1e-6")
_IMPLAUSIBLE_AMPLITUDES = {
    **dict.fromkeys(("eeg", "eog", "ecg", "emg", "seeg", "ecog", "dbs"), _MICROVOLTS),
    "mag": _UnitSlip("tesla", "tesla", "T", 1e-6, "femtotesla", "femtotesla", "1e-15"),
    "grad": _UnitSlip(
        "tesla per metre",
        "tesla per metre",
        "T/m",
        1e-4,
        "femtotesla per centimetre",
        "femtotesla per centimetre",
        "1e-13",
    ),
}


def check_channel_amplitudes(moments, info, name="X"):
    """Warn of channel amplitudes that no signal of their type has.

    Two slips train without an error and give maps that mislead: a channel
    type in another unit than MNE's (see :func:`_warn_if_in_another_unit`),
    and one channel far louder than the others of its type, a broken
    electrode not marked bad (see :func:`_warn_of_loud_channels`). The
    amplitude is that within epochs, of each channel: the offsets of
    DC-coupled amplifiers, tens of millivolts, are no signal (and
    :func:`check_offsets` warns of them). Only Epochs say their unit and
    channel types; arrays are not checked.

    Parameters
    ----------
    moments : tuple
        :func:`channel_moments` of the data.
    info : mne.Info | None
        Their channels (None: arrays, not checked).
    name : str
        The data's name in the warning.
    """
    if info is None:
        return
    std = np.sqrt(np.maximum(within_epoch_variance(moments), 0.0))
    types = np.array(info.get_channel_types())
    _warn_if_in_another_unit(std, types, name)
    _warn_of_loud_channels(std, types, info.ch_names, name)


def _warn_if_in_another_unit(std, types, name):
    """Warn of each channel type that holds far more than any signal in MNE's unit.

    Data in microvolts (a common slip with ``mne.EpochsArray``), or MEG in
    femtotesla as MNE's figures show it, train well, as the input is scaled
    to unit variance, but the maps are then per microvolt though labelled per
    volt, and later data given in volts read as flat. Each type is named with
    its own advice: named alone, EEG in microvolts hid MEG in femtotesla
    beside it until the next fit.
    """
    for ch_type, units in _IMPLAUSIBLE_AMPLITUDES.items():
        chosen = types == ch_type
        if chosen.any() and np.median(std[chosen]) > units.limit:
            warn(
                f"The {ch_type.upper()} channels of {name} have a standard deviation "
                f"of {np.median(std[chosen]):.3g} {units.symbol} within epochs, "
                f"where MNE keeps them in {units.unit} and no such signal exceeds "
                f"{units.limit:g} {units.symbol}: are they in {units.slip}? The "
                "network would learn from them, but its maps would be per "
                f"{units.one_slip} though labelled per {units.one_unit}, and data "
                f"later given in {units.unit} would read as flat. Give the epochs "
                f"in {units.unit}, e.g. epochs = epochs.copy().load_data()"
                f".apply_function(lambda data: data * {units.factor}, "
                f"picks={ch_type!r}, channel_wise=False), which keeps their "
                "events and other channels."
            )


#: The words of :func:`check_copies`'s warning, for callers that answer it.
COPIES = "are exact copies of others"


def first_copies(array):
    """Return, for each epoch, the index of the first epoch holding the same values.

    Parameters
    ----------
    array : ndarray, shape (n_epochs, n_channels, n_times)
        The data.

    Returns
    -------
    first : ndarray of int, shape (n_epochs,)
        The index of the first epoch equal to each, value for value; the
        epoch's own index when it is the first of its values.
    """
    seen = {}
    first = np.empty(len(array), dtype=int)
    # A 128-bit digest per epoch: no copy of the data, and no collision in
    # any number of epochs a recording holds.
    for index, epoch in enumerate(array):
        digest = hashlib.blake2b(np.ascontiguousarray(epoch), digest_size=16)
        first[index] = seen.setdefault(digest.digest(), index)
    return first


def check_copies(array, targets, name="X"):
    """Warn when epochs are exact copies of others (the same trials loaded twice).

    Training on them does little harm, but cross-validation that holds out a
    copy of a training epoch scores the network on what it was trained on:
    on simulated epochs without any signal, each given twice, the network
    scored 0.64 against 0.38 without the copies (chance 0.5), and
    ``make_report`` said it beat chance.

    Parameters
    ----------
    array : ndarray, shape (n_epochs, n_channels, n_times)
        The training data.
    targets : ndarray, shape (n_epochs,)
        Their labels.
    name : str
        The data's name in the warning.
    """
    first = first_copies(array)
    copies = np.flatnonzero(first != np.arange(len(array)))
    if not len(copies):
        return
    conflicting = int(np.sum(targets[copies] != targets[first[copies]]))
    labels = (
        f"; {conflicting} of them with another label than their original, which "
        "no classifier can tell apart"
        if conflicting
        else ""
    )
    warn(
        f"{len(copies)} epoch(s) of {name} {COPIES} (epoch "
        f"{copies[0]} of epoch {first[copies[0]]}){labels}. The same trials loaded "
        "twice? Cross-validation that holds out a copy of a training epoch scores "
        "the network on data it was trained on, and reads too high. Keep one of "
        "each, or keep the copies of an epoch in one fold (groups)."
    )


#: How many times the median channel of its type a channel's standard
#: deviation within epochs may reach before it is named: the channels of one
#: type in a healthy recording differ by a few times at most (frontal EEG with
#: blinks), while a loose or broken electrode not marked bad is orders of
#: magnitude off.
LOUD_CHANNEL_RATIO = 10.0


def _warn_of_loud_channels(std, types, ch_names, name):
    """Warn of channels far louder than the others of their type.

    Each type is scaled to unit variance as a whole, so one broken electrode
    sets the scale: with one EEG channel of 32 at 1,000 times the others
    (noise only), the others reached the network 160 times too small,
    accuracy fell from 0.95 to 0.73, and integrated gradients ranked that
    channel first, without a word.
    """
    loud = []
    for kind in dict.fromkeys(types):
        channels = np.flatnonzero(types == kind)
        typical = np.median(std[channels])
        # A median of two is their mean: one loud channel would hide in it.
        if len(channels) < 3 or kind == "stim" or typical == 0:
            continue
        loud += [
            f"{ch_names[channel]} ({std[channel] / typical:.3g} times)"
            for channel in channels
            if std[channel] > LOUD_CHANNEL_RATIO * typical
        ]
    if loud:
        warn(
            f"Channel(s) of {name} vary far more within epochs than the median "
            f"channel of their type: {_listed(loud)}. A loose or broken electrode "
            "not marked bad? Each channel type is scaled to unit variance as a "
            "whole, so these channels set the scale, the others reach the network "
            "smaller, and the network and its maps may follow their noise. Mark "
            "them bad (epochs.info['bads']) to leave them out, or repair them "
            "(epochs.interpolate_bads())."
        )


def check_offsets(array, ch_names=None, name="X", moments=None, fix=None):
    """Warn when offsets drifting from epoch to epoch drown the signal.

    Unfiltered recordings (DC-coupled amplifiers) carry offsets far larger than
    the EEG that drift between epochs. Scaled to unit variance, the network
    then sees the drift and an EEG too small to learn from: on simulated
    epochs whose offsets drifted 50 times the signal, both networks were at
    chance (0.95 without them). Offsets that stay the same in every epoch did
    little harm up to 50 times the signal (0.94), as in log-power spectra,
    whose mean is large but steady; at hundreds of times, as DC-coupled
    amplifiers give, the networks learned nothing, and a warning starts at
    ``STEADY_OFFSET_RATIO`` times the standard deviation within epochs (in
    the median channel). In real epochs, raw or filtered, the variance
    of the means across epochs stays below twice the variance within epochs
    in the median channel (1 s windows of unfiltered EEGBCI: at most 1.23;
    single channels reach 6, so no channel alone decides); the warning
    starts when it exceeds ``OFFSET_RATIO`` times it in most channels (the
    median over channels).

    Parameters
    ----------
    array : ndarray, shape (n_epochs, n_channels, n_times)
        The data.
    ch_names : list of str | None
        Their channel names, to name the channels in the warning.
    name : str
        The data's name in the warning.
    moments : tuple | None
        :func:`channel_moments` of ``array``, when already computed.
    fix : str | None
        How to remove the offsets from data given to a fitted network
        (:func:`_offset_fix`); None advises for training data.

    Returns
    -------
    warned : bool
        Whether it warned.
    """
    moments = channel_moments(array) if moments is None else moments
    fitted = fix is not None
    epoch_means = moments[0]
    within = within_epoch_variance(moments)
    drift = np.var(epoch_means, axis=0)  # of the offsets across epochs
    with np.errstate(over="ignore"):  # constant channels (a stimulus channel)
        ratio = drift / np.maximum(within, np.finfo(float).tiny)  # 0 when flat
    # The median: one drifting channel barely changes the scale of the others.
    if np.median(ratio) <= OFFSET_RATIO:
        steady = np.square(epoch_means.mean(axis=0))
        with np.errstate(over="ignore"):
            steady_ratio = steady / np.maximum(within, np.finfo(float).tiny)
        if np.median(steady_ratio) <= STEADY_OFFSET_RATIO**2:
            return False
        warn_data_mismatch(
            f"{name}'s channels carry a steady offset (DC) over "
            f"{STEADY_OFFSET_RATIO:g} times the signal's standard deviation within "
            "epochs, in "
            f"{_channels_named(steady_ratio > STEADY_OFFSET_RATIO**2, ch_names)}: "
            "the EEG is a small ripple on it, and "
            + (
                f"the network reads the offset rather than the EEG. {fix}"
                if fitted
                else "networks trained on such data learned nothing. Baseline-"
                "correct the epochs (epochs.apply_baseline()) or high-pass filter "
                "the continuous data (raw.filter(l_freq=0.5, h_freq=None)) first."
            ),
        )
        return True
    warn_data_mismatch(
        f"The mean values of {name}'s epochs (DC offsets) drift from epoch to "
        f"epoch with over {OFFSET_RATIO:g} times the variance of the signal "
        f"within epochs, in {_channels_named(ratio > OFFSET_RATIO, ch_names)}: "
        "the network sees the drift rather than the "
        + (
            f"EEG. {fix}"
            if fitted
            else "EEG (trained on it, it may learn nothing). High-pass filter the "
            "continuous data (raw.filter(l_freq=0.5, h_freq=None)) or baseline-"
            "correct the epochs (epochs.apply_baseline()) first."
        ),
    )
    return True


def _channels_named(chosen, ch_names):
    """Count the ``chosen`` channels (a mask), naming the first five if named."""
    indices = np.flatnonzero(chosen)
    where = f"{len(indices)} of {len(chosen)} channels"
    if ch_names is None:
        return where
    return f"{where} ({_listed([ch_names[index] for index in indices])})"


def _flat_epochs(batch):
    """Return the positions of the batch's epochs constant in every channel."""
    return np.flatnonzero((batch == batch[..., :1]).all(axis=(1, 2)))


def _warn_of_flat_epochs(flat, name):
    """Warn of epochs constant in every channel (their positions in ``flat``).

    An amplifier switched off, or epochs padded with zeros, hold no EEG, and
    the network answers them as it answers anything: among 20 epochs, an
    all-zero one was predicted [0.47, 0.53] without a word.
    """
    if not flat:
        return
    warn_data_mismatch(
        f"Epoch(s) {_listed(flat)} of {name} are constant in every channel (an "
        "amplifier off, or padding): they hold no EEG, and what the network "
        "answers for them, and its maps of them, read none. Drop them "
        "(epochs.drop)."
    )
