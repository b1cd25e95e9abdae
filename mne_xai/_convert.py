"""The one place where MNE objects become arrays (and arrays get an MNE info).

Results become MNE objects in :mod:`mne_xai._outputs`.
"""

import functools

import mne
import numpy as np
import torch
from mne.io.pick import _picks_to_idx
from mne.utils import _validate_type, logger

from ._data_checks import (
    EPOCHS_PER_CHUNK,
    _check_finite,
    _flat_epochs,
    _raise_not_finite,
    _warn_of_flat_epochs,
)
from ._matching import BASELINE_UNKNOWN, _check_same_recording, check_amplitudes
from ._outputs import trials_of
from ._progress import progress_bar
from ._warnings import quietly, warn


def _epochs_list(X):
    """Return X as a non-empty list of Epochs, or None when X is an array."""
    if isinstance(X, mne.BaseEpochs):
        return [X]
    if isinstance(X, list | tuple) and len(X) and isinstance(X[0], mne.BaseEpochs):
        for index, item in enumerate(X):
            _validate_type(item, mne.BaseEpochs, f"X[{index}]")
        return list(X)
    return None


def as_float(data, dtype=np.float32):
    """Return ``data`` as ``dtype``, values beyond its range as infinite.

    The finite check that follows refuses them clearly; NumPy's "overflow
    encountered in cast" warning came before it and said less.
    """
    with np.errstate(over="ignore"):
        return np.asarray(data, dtype=dtype)


def training_channels(info, picks):
    """Names of the channels a network is trained on, chosen as MNE's decoders do.

    Parameters
    ----------
    info : mne.Info
        The training data's info.
    picks : str | list | slice | None
        Channels to use, as in MNE (names, types such as ``["eeg", "eog"]``,
        indices, ``"all"``). None means the good data channels: EEG, MEG, sEEG,
        ECoG, DBS and fNIRS, without stimulus, EOG, ECG, EMG or misc channels
        and without the channels in ``info["bads"]``. Types and ``"all"``
        leave bad channels out too (with a log line); names and indices keep
        them. Picking a stimulus channel warns: it holds the event codes,
        which are the labels.

    Returns
    -------
    ch_names : list of str
        The picked channel names: in the order given for names and indices
        (the network reads them so), in the info's order for types.
    """
    if picks is None:
        _check_some_data_channels(info)
    indices = _picks_to_idx(info, picks, none="data", exclude="bads")
    # MNE picks them twice, and its pick_info then named no channel ("Found 2
    # / 3 unique names, sel is not unique").
    unique, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        repeated = [info.ch_names[index] for index in unique[counts > 1]]
        raise ValueError(
            f"picks={picks!r} names {', '.join(repeated)} more than once; give "
            "each channel to train on once."
        )
    stimulus = [
        info.ch_names[index]
        for index in indices
        if mne.channel_type(info, index) == "stim"
    ]
    if stimulus:
        warn(
            f"picks={picks!r} trains on the stimulus channel(s) "
            f"{', '.join(stimulus)}, which hold the event codes: the network can "
            "read the labels there. "
            "Leave them out of picks, as picks=None does."
        )
    # As in MNE, channel types and "all" leave bad channels out; names and
    # indices keep them.
    left_out = np.setdiff1d(
        _picks_to_idx(info, picks, none="data", exclude=()), indices
    )
    if len(left_out):
        bads = [info.ch_names[index] for index in left_out]
        logger.info(
            f"Leaving out {len(bads)} channel(s) marked bad: {', '.join(bads)} "
            "(pass their names in picks to train on them)."
        )
    return [info.ch_names[index] for index in indices]


def _check_some_data_channels(info):
    """Refuse an info of no good data channel, which ``picks=None`` picks from.

    MNE's error spoke of "data" picks; ``mne.create_info`` without
    ``ch_types`` types every channel misc, which is not data.
    """
    data = _picks_to_idx(info, None, none="data", exclude=(), allow_empty=True)
    if not len(data):
        types = sorted(set(info.get_channel_types()))
        raise ValueError(
            f"None of the {len(info.ch_names)} channels is a data channel (EEG, "
            f"MEG, sEEG, ECoG, DBS, fNIRS): they are of type {', '.join(types)}, "
            "and picks=None trains on data channels. Set their types (e.g. "
            "epochs.set_channel_types(dict.fromkeys(epochs.ch_names, 'eeg')), or "
            "mne.create_info(..., ch_types='eeg')), or pass picks."
        )
    if all(info.ch_names[index] in info["bads"] for index in data):
        raise ValueError(
            f"Every data channel is marked bad ({len(data)} in info['bads']), and "
            "picks=None leaves bad channels out. Repair them "
            "(interpolate_bads), or pass picks naming those to train on."
        )


def array_info(n_channels, sfreq):
    """Return the info of arrays read without one: made-up EEG channels.

    Data channels, so that MNE's averages and spectra take them (they leave
    misc channels out); without positions, nothing maps them on a scalp.
    """
    names = [f"ch{index:03d}" for index in range(n_channels)]
    return mne.create_info(names, float(sfreq), "eeg")


def map_info(info):
    """Return the info for maps computed on data as the network read them.

    Maps are no potentials, and projectors are for potentials: MNE applies an
    inactive one (an average reference added with ``projection=True``) on
    ``apply_proj`` and by default when reading from disk
    (:func:`mne.read_evokeds`, :func:`mne.read_epochs`), and
    :func:`mne.read_epochs` applies an active one again, as data read back are
    taken to be projected. Either would re-reference relevance, filters and
    optimized inputs (a map read back lost 7 percent of its peak, and sums of
    magnitudes turned negative). So maps carry no projector.

    Nor bad channels: the network read them as they are, and their maps are
    its relevance there, which MNE's figures would hide and
    :func:`mne.grand_average` would replace by an interpolation of the
    neighbours' (65 percent off at C3).

    Parameters
    ----------
    info : mne.Info
        The info of the data (or of the training data).

    Returns
    -------
    info : mne.Info
        The same info, or a copy without its projectors and bad channels.
    """
    if not info["projs"] and not info["bads"]:
        return info
    info = info.copy()
    with info._unlock():
        info["projs"] = []
    info["bads"] = []
    return info


def _merged_event_id(parts, name):
    """Return the event names of several Epochs, and why they conflict (or None).

    Each part names only the events it holds (scikit-learn hands over one
    Epochs per epoch); the first part's names alone would leave the others'
    events unnamed. Parts that code events differently have no common names:
    their codes mean different things, which matters only where events are
    read as labels.
    """
    merged = {}
    for index, part in enumerate(parts):
        for event, code in part.event_id.items():
            if merged.setdefault(event, code) != code:
                return None, (
                    f"{name}[{index}] codes event {event!r} as {code}, an earlier "
                    f"part as {merged[event]}"
                )
    codes = list(merged.values())
    if len(set(codes)) < len(codes):
        shared = sorted({code for code in codes if codes.count(code) > 1})
        return None, f"the parts of {name} give event codes {shared} different names"
    return merged, None


def _concatenated_events(parts):
    """Return the events of several Epochs, shifted apart where their samples meet.

    Separate recordings repeat sample numbers, which one Epochs object refuses;
    each part then moves past the previous one, as in
    :func:`mne.concatenate_epochs`. Parts of one recording keep their samples.
    """
    events = np.concatenate([part.events for part in parts])
    if len(np.unique(events[:, 0])) == len(events):
        return events
    shifted, end = [], None
    for part in parts:
        part_events = part.events.copy()
        if end is not None:
            part_events[:, 0] += max(0, end + 1 - part_events[:, 0].min())
        end = part_events[:, 0].max()
        shifted.append(part_events)
    return np.concatenate(shifted)


class InputData:
    """Data given to a fitted network, as the network takes it, read lazily.

    Picks the network's channels (by name) from Epochs, keeps what MNE outputs
    need (info, events, event_id, tmin, metadata) and reads the data in
    batches, so that memory grows with the batch size, not with the number of
    epochs. Arrays are taken as they are: they hold the network's channels.

    Parameters
    ----------
    X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data. A list of Epochs is what scikit-learn's cross-validation hands
        over when it indexes an Epochs object.
    ch_names : list of str | None
        The channels to take from Epochs, in this order; None takes all.
    name : str
        The argument's name, for error messages.

    Attributes
    ----------
    shape : tuple of int
        ``(n_epochs, n_channels, n_times)`` of the picked data.
    info : mne.Info | None
        Measurement info of the picked channels (None for arrays).
    events : ndarray of int, shape (n_epochs, 3) | None
        The epochs' events (None for arrays).
    event_id : dict | None
        The epochs' event names (None for arrays).
    tmin : float | None
        Time of the first sample (None for arrays).
    baseline : tuple of float | None | "unknown"
        The epochs' ``baseline`` (``"unknown"`` for arrays).
    metadata : pandas.DataFrame | None
        The epochs' metadata.
    name : str
        The argument's name, for error messages.
    n_rejected : int
        The epochs that Epochs not preloaded dropped by their rejection when
        read here first (0 for arrays).
    """

    def __init__(self, X, *, ch_names=None, name="X"):
        self.name = name
        self._epochs = _epochs_list(X)
        self.info = self.events = self.event_id = self.tmin = None
        self._event_conflict = None
        self._picks = None
        self.n_rejected = 0
        if self._epochs is None:
            # An array does not say whether it was baseline-corrected; None
            # would say that it was not.
            self.baseline = BASELINE_UNKNOWN
            self._array = _as_array(X, name)
            self.shape = self._array.shape
            return
        first = self._epochs[0]
        for index, epochs in enumerate(self._epochs[1:], 1):
            _check_same_recording(first, epochs, f"{name}[{index}]", f"{name}[0]")
        for epochs in self._epochs:
            if not epochs.preload and not epochs._bad_dropped:
                # Rejection decides which epochs exist; MNE reads every epoch once
                # (without keeping it) to apply it, as its own get_data would.
                n_before = len(epochs.events)
                epochs.drop_bad(verbose=quietly())
                self.n_rejected += n_before - len(epochs.events)
            if len(epochs) and np.iscomplexobj(_first_epoch_or_data(epochs)):
                # Read as float32, complex values lost their imaginary part.
                raise TypeError(
                    f"{name} must hold real numbers, got complex Epochs (an "
                    "analytic signal?); pass e.g. its envelope: "
                    "mne.EpochsArray(np.abs(epochs.get_data()), epochs.info, "
                    "epochs.events, epochs.tmin, epochs.event_id)."
                )
        self.info, self.tmin = first.info, first.tmin
        self.baseline = first.baseline
        # No copies of one Epochs' events: memory of averaged explanations must
        # not grow with the number of epochs. The names are copied: fitted
        # estimators keep them, and combine_event_ids changes them in place.
        self.event_id, self.events = dict(first.event_id), first.events
        if len(self._epochs) > 1:
            self.event_id, self._event_conflict = _merged_event_id(self._epochs, name)
            self.events = _concatenated_events(self._epochs)
        self.shape = (len(self.events), len(self.info.ch_names), len(first.times))
        if self.shape[0] == 0:
            raise ValueError(
                f"{name} holds no epochs"
                + (
                    f": {self.rejection_dropped()} (epochs.plot_drop_log() says why)."
                    if self.n_rejected
                    else "."
                )
            )
        if ch_names is not None:
            self.pick(ch_names)

    def rejection_dropped(self):
        """Say how many epochs the rejection applied on reading dropped."""
        n_given = self.shape[0] + self.n_rejected
        how_many = (
            f"all its {n_given}"
            if self.n_rejected == n_given
            else f"{self.n_rejected} of its {n_given}"
        )
        return (
            f"its rejection (reject, flat or annotations), applied as it was "
            f"first read, dropped {how_many} epochs"
        )

    def pick(self, ch_names):
        """Read only the channels ``ch_names`` of Epochs, in that order.

        Parameters
        ----------
        ch_names : list of str
            Channel names of the Epochs.

        Returns
        -------
        self : InputData
            The data, picked in place.
        """
        if self._epochs is None:
            return self
        full_info = self._epochs[0].info
        picks = _channel_indices(full_info, ch_names, self.name)
        self._picks = None
        self.info = full_info
        if not np.array_equal(picks, np.arange(len(full_info.ch_names))):
            self._picks = picks
            self.info = mne.pick_info(full_info, picks)
        self.shape = (self.shape[0], len(picks), self.shape[2])
        return self

    @property
    def given_order(self):
        """The channels read, in the order of the Epochs given, as their positions.

        The network reads its channels in its own order; results on them go
        back in the user's order, as MNE's tools keep it (a ground truth
        indexed as the Epochs was otherwise compared with other channels).
        None when both orders agree, and for arrays, read as they are.
        """
        if self._picks is None:
            return None
        order = np.argsort(self._picks)
        return None if np.array_equal(order, np.arange(len(order))) else order

    @property
    def given_info(self):
        """The info of the channels read, in the order of the Epochs given."""
        if self.given_order is None:
            return self.info
        return mne.pick_info(self._epochs[0].info, np.sort(self._picks))

    def in_given_order(self, maps):
        """Return maps of the channels read (axis -2) in the order of the Epochs given.

        Parameters
        ----------
        maps : ndarray, shape (..., n_channels, n_times)
            Maps of the channels read, in the network's order.

        Returns
        -------
        maps : ndarray, shape (..., n_channels, n_times)
            The same maps, in the order of ``given_info``.
        """
        order = self.given_order
        return maps if order is None else maps[..., order, :]

    @property
    def metadata(self):
        """The epochs' metadata (None for arrays, or when an Epochs has none)."""
        if self._epochs is None:
            return None
        if len(self._epochs) == 1:
            return self._epochs[0].metadata
        if any(e.metadata is None for e in self._epochs):
            return None
        import pandas as pd

        return pd.concat([e.metadata for e in self._epochs], ignore_index=True)

    @property
    def selection(self):
        """Each epoch's number: MNE's ``selection`` of one Epochs, else its position.

        The numbers :meth:`mne.Epochs.to_data_frame` gives the epochs (and the
        maps of :func:`mne_xai.explain`), which tables of results share so
        that they join on them. Lists of Epochs have no one selection.
        """
        if self._epochs is not None and len(self._epochs) == 1:
            return self._epochs[0].selection
        return np.arange(self.shape[0])

    @property
    def trials(self):
        """What ties each epoch to its trial (see :func:`mne_xai._outputs.trials_of`).

        Lists of Epochs have no one selection and drop log (each part has its
        own); arrays have none of it.
        """
        if self._epochs is not None and len(self._epochs) == 1:
            return trials_of(self._epochs[0])
        return dict(events=self.events, event_id=self.event_id, metadata=self.metadata)

    @property
    def event_codes(self):
        """The event code of each epoch (``events[:, 2]``), None for arrays.

        Raises when the parts of a list code their events differently: the
        codes are then no labels.
        """
        if self.events is None:
            return None
        if self._event_conflict is not None:
            raise ValueError(
                f"{self._event_conflict}: their events cannot be read as labels. "
                "Give the labels explicitly (y, or target), or Epochs that code "
                "their events alike (see mne.epochs.combine_event_ids)."
            )
        return self.events[:, 2]

    def _read(self, epochs, item):
        if epochs.preload:
            data = epochs._data[item]
            return data if self._picks is None else data[:, self._picks]
        # Indices, not "all": MNE leaves the bad channels out of "all".
        picks = np.arange(len(epochs.ch_names)) if self._picks is None else self._picks
        return epochs.get_data(picks=picks, item=item, verbose=quietly())

    def array(self):
        """Return all the data as one float32 array (checked to be finite)."""
        if self._epochs is None:
            return self._array
        # Filled a chunk of epochs at a time: MNE's float64 data (read from
        # disk when not preloaded) are never copied whole, which doubled and
        # tripled the memory of a fit on 100,000 epochs.
        return self._filled(EPOCHS_PER_CHUNK)

    def _filled(self, batch_size):
        """Return one float32 array filled with :meth:`batches` of ``batch_size``."""
        data = np.empty(self.shape, np.float32)
        starts = range(0, self.shape[0], batch_size)
        for start, batch in zip(starts, self.batches(batch_size), strict=True):
            data[start : start + len(batch)] = batch
        return data

    @functools.cached_property
    def _part_starts(self):
        """The first epoch of each part of the list, and the number of epochs."""
        return np.cumsum([0, *map(len, self._epochs)])

    def _read_range(self, start, stop):
        """Read epochs ``start`` to ``stop`` (excluded), across the parts of a list."""
        if self._epochs is None:
            return self._array[start:stop]
        # The parts found by bisection: scikit-learn's cross-validation gives
        # a list of one-epoch Epochs, and walking it for each batch made
        # predictions quadratic in the number of epochs (8,000: 10.7 s, 3.2 s
        # on the same epochs as one Epochs).
        starts = self._part_starts
        first_part = np.searchsorted(starts, start, side="right") - 1
        stop_part = min(np.searchsorted(starts, stop), len(self._epochs))
        pieces = []
        for part in range(first_part, stop_part):
            first = starts[part]
            item = slice(max(start - first, 0), min(stop, starts[part + 1]) - first)
            pieces.append(self._read(self._epochs[part], item))
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def n_batches(self, batch_size):
        """Return the number of batches :meth:`batches` yields."""
        return -(-self.shape[0] // batch_size)

    def batches(self, batch_size, dtype=np.float32):
        """Yield consecutive batches, reading one batch at a time.

        Batches of a list of Epochs may span its parts; each part is read only
        where a batch needs it, so that non-preloaded parts are never read whole.
        They are float32, as networks take them, unless ``dtype`` says otherwise.
        """
        for start in range(0, self.shape[0], batch_size):
            batch = as_float(self._read_range(start, start + batch_size), dtype)
            if not np.isfinite(batch).all():
                self._raise_not_finite(batch_size, dtype)
            yield batch

    def _raise_not_finite(self, batch_size, dtype):
        """Raise naming every epoch, and channel, that is not finite.

        Read whole, batch by batch: one batch (often of one epoch) named only
        its own epochs, and called a channel of NaN in that epoch alone one
        of NaN in every epoch. Read as the batches are (values beyond float32
        become infinite).
        """
        finite, nonfinite_samples = [], np.zeros(self.shape[2], bool)
        for start in range(0, self.shape[0], batch_size):
            batch = np.isfinite(
                as_float(self._read_range(start, start + batch_size), dtype)
            )
            finite.append(batch.all(axis=2))
            nonfinite_samples |= ~batch.all(axis=(0, 1))
        ch_names = None if self.info is None else self.info.ch_names
        _raise_not_finite(
            np.concatenate(finite), self.name, ch_names, nonfinite_samples
        )


def refuse_array_of_either_order(data, what, by_name, array=None):
    """Refuse an array of the channels read when it could follow two orders.

    An array holds no channel names: it is read on the network's channels, in
    the network's order. Epochs holding those channels in another order
    (beside others or not) give arrays in theirs (``epochs.get_data()``, and
    :func:`mne_xai.explain`'s maps), so an array could follow either, and one
    read in the wrong order gives a confident wrong answer (AOPC 0.74 of maps
    became -0.01).

    Parameters
    ----------
    data : InputData
        The Epochs given, picked on the network's channels.
    what : str
        The array, for the message, e.g. ``"an array of maps"``.
    by_name : str
        How to give it by channel name instead, for the message.
    array : ndarray, shape (..., n_channels, n_times) | None
        The array, if one that reads the same in both orders (a constant
        level) is to be read.
    """
    order = data.given_order
    if order is None or (
        array is not None and np.array_equal(array, array[..., order, :])
    ):
        return
    given, read = data.given_info.ch_names, data.info.ch_names
    raise ValueError(
        "The epochs hold the network's channels in another order than the "
        f"network (theirs: {list(given)}), so {what} could follow either. Pass "
        f"{by_name}. Or put the epochs in the network's order, epochs = "
        "epochs.copy().reorder_channels(ch_names), with ch_names the channels "
        f"the network was trained on (estimator.info_.ch_names): {list(read)}; "
        "then compute the array again from those epochs: one computed before "
        "still follows their former order, and would be read against other "
        "channels."
    )


def named_events(trained_event_id, event_id):
    """Return the training epochs' event names, completed by those of other epochs.

    The training names decide (another file may code the same names
    otherwise); the other epochs add names only for codes training did not
    name.

    Parameters
    ----------
    trained_event_id : dict | None
        The event names of the training epochs (the estimator's ``event_id_``).
    event_id : dict | None
        The event names of the epochs given.

    Returns
    -------
    event_id : dict
        The merged names (empty when neither names its events).
    """
    trained = trained_event_id or {}
    named = set(trained.values())
    own = {name: code for name, code in (event_id or {}).items() if code not in named}
    return {**own, **trained}


def events_as_trained(codes, event_id, trained_event_id):
    """Return event codes in the coding of the training epochs, matched by name.

    Files code the same events differently (EEGLAB numbers them from 1, a FIF
    keeps the recording's codes): "hands" may be 2 in the epochs given and 3 in
    the training epochs, where 2 was "feet". When the epochs' events are all
    named as in training, the names decide. When none is (events renamed for
    display, or another task), the codes are taken as they are, with a warning
    naming both; when only some are, the classes cannot be matched and the
    labels must be given.

    Parameters
    ----------
    codes : ndarray of int, shape (n_epochs,) | None
        The epochs' event codes.
    event_id : dict | None
        The epochs' event names.
    trained_event_id : dict | None
        The event names of the training epochs (the estimator's ``event_id_``).

    Returns
    -------
    codes : ndarray of int, shape (n_epochs,) | None
        The codes the training epochs give the same events.
    """
    if codes is None or not event_id or not trained_event_id:
        return codes
    names = {code: name for name, code in event_id.items()}
    present = {int(code): names.get(int(code)) for code in np.unique(codes)}
    known = {code: name for code, name in present.items() if name in trained_event_id}
    if not known:
        # Codes that no training event had cannot be taken for a trained class:
        # they are events the network never saw (a cross-validation fold of
        # one class), which the callers name as such.
        if set(present) & set(trained_event_id.values()):
            warn(
                "None of the events of these epochs "
                f"({', '.join(map(str, present.values()))}) is named as in "
                f"training ({', '.join(trained_event_id)}); their codes are taken "
                "as the training codes. If they mean other classes, name the "
                "epochs' events as the training epochs' (epochs.event_id), or "
                "give the labels explicitly (y, or target)."
            )
        return codes
    if len(known) < len(present):
        unknown = sorted(
            str(name) for name in present.values() if name not in known.values()
        )
        # Its own class: callers that take no labels give their own advice.
        raise EventsAreNotClasses(
            f"The events {unknown} of these epochs are not among those the network "
            f"was trained on ({', '.join(trained_event_id)}), so their classes cannot "
            f"be matched by name. Keep the epochs of the trained events "
            f"(epochs[{sorted(known.values())}]).",
            "Or, to use the codes as they are, give the labels explicitly: "
            "y=epochs.events[:, 2] (or target=...).",
        )
    recoded = {code: trained_event_id[name] for code, name in known.items()}
    if any(code != new for code, new in recoded.items()):
        logger.info(
            "Matched the epochs' events to the training events by name: "
            + ", ".join(
                f"{present[code]} {code} -> {new}" for code, new in recoded.items()
            )
        )
    return np.array([recoded[int(code)] for code in codes])


class EventsAreNotClasses(ValueError):
    """The events of Epochs cannot be read as the classes of an estimator.

    ``reason`` says why; the message adds who read the events (``asked``)
    and what to do (``fix``), which depend on the caller: the functions take
    labels as ``y``, the command line takes none.
    """

    def __init__(self, reason, fix, asked=""):
        super().__init__(f"{asked}{reason} {fix}")
        self.reason = reason


def labels_required():
    """Refuse an array given without labels: it carries no events to read.

    In a Pipeline the user gives Epochs, which the steps before the estimator
    turn into arrays; "y is required when X is an array" did not say so.
    """
    return ValueError(
        "y is required when X is an array: arrays carry no events to read the "
        "labels from. (In a Pipeline, the steps before this estimator turned "
        "the Epochs into arrays: pass y, e.g. epochs.events[:, 2].)"
    )


def events_are_not_labels():
    """Refuse to read events as the classes of a network trained on other labels."""
    return EventsAreNotClasses(
        "The estimator was trained on labels y that are not the events of its "
        "training Epochs (neither their codes nor their names), so the events "
        "of X cannot be read as its classes.",
        "Pass the labels as y.",
    )


def check_events_are_classes(
    event_id, codes, classes, trained_event_id, *, asked="", fix=""
):
    """Refuse event codes of Epochs that cannot be read as an estimator's classes.

    An estimator trained on Epochs knows their events (``trained_event_id``).
    One trained on arrays, or a skorch network fitted elsewhere, learned
    labels of unknown meaning: ``LabelEncoder`` gives classes 0 to K-1,
    which share codes with MNE's events 1 to K and mean others (code 2,
    "left", read as class 2, "right"), also on every selection of epochs
    whose codes happen to be classes. Its classes are matched to events by
    name only (a network trained on event names).

    Parameters
    ----------
    event_id : dict | None
        The event names and codes of the Epochs.
    codes : array-like of int
        The codes to read (of the epochs at hand).
    classes : array-like
        The estimator's classes.
    trained_event_id : dict | None
        The event names of the training Epochs, if the estimator knows them.
    asked, fix : str
        What read the events, and what else to do, around the message.
    """
    if trained_event_id:
        return
    names = {code: name for name, code in (event_id or {}).items()}
    known = set(np.asarray(classes).tolist())
    unreadable = sorted({int(code) for code in codes if names.get(code) not in known})
    if unreadable:
        raise EventsAreNotClasses(
            "The estimator was not fitted on Epochs, so its classes "
            f"{np.asarray(classes).tolist()} say nothing of what the events of "
            f"Epochs are: events {event_id} are matched to classes by name only, "
            f"and codes {unreadable} name none (labels renumbered, e.g. by "
            "LabelEncoder, would be read as other events).",
            "Give the classes themselves (labels of classes_, or indices), fit "
            "on the Epochs, or, for a skorch network fitted elsewhere, name its "
            f"classes: as_network(net, event_id={{name: class}}).{fix}",
            asked,
        )


def labels_match_events(data, y):
    """Whether training labels are the events of the training data.

    ``y`` is taken for the events when it holds their codes or their names,
    as ``fit`` without ``y``, or scikit-learn's cross-validation passing
    ``y[train]`` with ``epochs[train]``, gives them. Other labels (e.g. codes
    renumbered from 0) say nothing of what the events of other epochs are.

    Parameters
    ----------
    data : InputData
        The training data.
    y : array-like, shape (n_epochs,)
        The training labels.

    Returns
    -------
    match : bool
        False when the labels are not the events; True also for arrays, whose
        labels no events contradict.
    """
    if data.events is None:
        return True
    if data._event_conflict is not None:  # parts coding events otherwise
        return False
    labels = np.asarray(y).tolist()
    codes = data.events[:, 2].tolist()
    names = {code: name for name, code in (data.event_id or {}).items()}
    return labels in (codes, [names.get(code) for code in codes])


def start_time(data, estimator):
    """Return when the epochs of ``data`` start, in seconds.

    Epochs say it; arrays are read as the training epochs were, sample for
    sample, so their results start at the training start (0 s for a network
    trained on arrays): at 0 s, maps of the epochs of a network trained from
    -0.5 s put every peak half a second late.

    Parameters
    ----------
    data : InputData
        The data, as ``_check_prediction_input`` returns them.
    estimator : object
        The fitted classifier, as :func:`mne_xai.as_network` presents it.

    Returns
    -------
    tmin : float
        The time of the first sample.
    """
    if data.tmin is not None:
        return data.tmin
    trained = getattr(estimator, "tmin_", None)
    return 0.0 if trained is None else float(trained)


def events_unseen_in_training(labels, classes, trained_event_id, event_id=None):
    """Return the events, among labels that are no class, the network saw no epoch of.

    MNE keeps the name of an event whose epochs were all dropped in
    ``event_id`` (``epochs.drop``), and a cross-validation fold may hold an
    event that its training folds lack. Such labels are events, not labels
    coded otherwise: scikit-learn counts their epochs as wrong, as it counts
    any label that is not a class. A label naming an event whose training code
    (or name) is a class is coded otherwise, and is not returned.

    Parameters
    ----------
    labels : iterable
        Labels (event codes or names) that are not classes.
    classes : array-like
        The estimator's classes.
    trained_event_id : dict | None
        The events of the training Epochs, when they are the labels the
        estimator learned (None or empty otherwise: nothing is returned).
    event_id : dict | None
        The events of the epochs at hand, which may name codes that training
        did not (see :func:`named_events`).

    Returns
    -------
    unseen : dict
        The event name of each such label.
    """
    if not trained_event_id:
        return {}
    known = set(np.asarray(classes).tolist())
    events = named_events(trained_event_id, event_id)
    names = {code: name for name, code in events.items()}
    unseen = {}
    for label in labels:
        name = label if label in events else names.get(label)
        if name is None or name in known or trained_event_id.get(name) in known:
            continue
        unseen[label] = name
    return unseen


def _warn_unseen_events(unseen, classes, holder):
    """Warn that the epochs of events the network never saw count as wrong."""
    events = ", ".join(
        repr(name) if name == label else f"{name!r} ({label})"
        for label, name in unseen.items()
    )
    warn(
        f"{holder} the events {events}, of which the network saw no epoch in "
        f"training (its classes are {np.asarray(classes).tolist()}): their epochs "
        "count as wrong predictions, as scikit-learn counts labels that are not "
        "classes."
    )


def _check_some_labels_are_classes(X, y, classes, trained_event_id=None):
    """Refuse labels that share no class with the estimator: they would score 0.

    Labels that are events the network saw no epoch of (see
    :func:`events_unseen_in_training`) are scored, with a warning: they are
    not coded otherwise, and 0 is their accuracy.
    """
    labels = set(np.asarray(y).ravel().tolist())
    known = set(np.asarray(classes).tolist())
    # An event name scored beside classes that are codes (or a code beside
    # names) fails in scikit-learn ("Mix of label input types"): such a label
    # is coded otherwise, not an event whose epochs count as wrong.
    names_are_classes = isinstance(next(iter(known)), str)
    others = {
        label for label in labels - known if isinstance(label, str) is names_are_classes
    }
    # Epochs, or a list or tuple of them (as _epochs_list reads X).
    are_epochs = _epochs_list(X) is not None
    if trained_event_id and others:
        event_id = InputData(X).event_id if are_epochs else None
        unseen = events_unseen_in_training(others, classes, trained_event_id, event_id)
        if unseen:
            _warn_unseen_events(unseen, classes, "y holds")
            if labels - known <= set(unseen):
                return
    if labels & known:
        return
    by_events = (
        " Without y, the events of Epochs are read as the classes, by name where "
        "their codes differ from training."
        if are_epochs
        else ""
    )
    raise ValueError(
        f"y holds the labels {sorted(labels, key=str)[:5]}, none of them a class "
        f"of the estimator ({sorted(known, key=str)}): every prediction would "
        f"count as wrong.{by_events}"
    )


def labels_or_events(X, y, trained_event_id=None, classes=None, events_are_labels=True):
    """Return ``y``, or the labels of Epochs' events when ``y`` is None.

    With Epochs, scikit-learn's ``y=None`` means the events' codes, as in
    ``fit``, in the coding of the training epochs (see
    :func:`events_as_trained`); arrays carry none, so they need ``y``. Given
    the ``classes`` of a fitted estimator, a code that is not a class is read
    as its event name (a network trained on names); labels of which none is a
    class are refused, as they would score 0. An estimator trained on labels
    other than the events (``events_are_labels=False``, see
    :func:`labels_match_events`) needs ``y``: its classes may share the
    events' codes and mean other events. Given ``y`` of which no label is a
    class is refused too. Events that the network saw no epoch of in training
    (see :func:`events_unseen_in_training`) are no labels coded otherwise:
    they are returned, with a warning, and their epochs count as wrong; without
    ``y``, only those that the training Epochs named (with no epoch) are, as
    events that training never named may be those of another task.
    """
    if y is not None:
        if classes is not None:
            _check_some_labels_are_classes(
                X, y, classes, trained_event_id if events_are_labels else None
            )
        return y
    if not events_are_labels:
        raise events_are_not_labels()
    data = InputData(X)
    if data.event_codes is None:
        raise labels_required()
    codes = events_as_trained(data.event_codes, data.event_id, trained_event_id)
    if classes is None:
        return codes
    check_events_are_classes(
        data.event_id, data.event_codes, classes, trained_event_id, fix=" Or pass y."
    )
    known = set(np.asarray(classes).tolist())
    if set(codes.tolist()) <= known:
        return codes
    event_id = named_events(trained_event_id, data.event_id)
    names = {code: name for name, code in event_id.items()}
    labels = [names.get(code, code) for code in codes.tolist()]
    if set(labels) <= known:  # a network trained on event names
        return np.asarray(labels)
    if not isinstance(np.asarray(classes).tolist()[0], str):
        labels = codes.tolist()  # a network trained on event codes
    others = set(labels) - known
    # Events of the training Epochs, whose epochs were all dropped, are known
    # events. Events that training never named may be those of a file of
    # another task, read without labels: they are scored only as y.
    unseen = events_unseen_in_training(others, classes, trained_event_id)
    if others <= set(unseen):
        _warn_unseen_events(unseen, classes, "X holds")
        return np.asarray(labels)
    # As X names them: its codes may have been read as training codes above.
    own_names = {code: name for name, code in (data.event_id or {}).items()}
    events = ", ".join(
        f"{own_names[code]} ({code})" if code in own_names else str(code)
        for code in np.unique(data.event_codes).tolist()
    )
    never_named = events_unseen_in_training(others, classes, trained_event_id, event_id)
    if others <= set(never_named):
        raise EventsAreNotClasses(
            f"The events of X ({events}) are not all classes of the estimator "
            f"({sorted(known, key=str)}): the network saw no epoch of "
            f"{sorted(never_named.values())} in training (its training events: "
            f"{', '.join(trained_event_id)}).",
            "Give the labels as y to score their epochs as wrong, or keep the "
            "epochs of its classes.",
        )
    raise EventsAreNotClasses(
        f"The events of X ({events}) are not all classes of the estimator "
        f"({sorted(known, key=str)}): it was trained on other labels.",
        "Give them as y.",
    )


def _refuse_other_mne_objects(X, name):
    """Refuse MNE objects that are not Epochs, saying what to give instead.

    Read as arrays they failed with "must be an instance of ... array" (Raw,
    spectra) or "got dtype object" (a list of Evoked).
    """
    if isinstance(X, list | tuple):
        # Items only: nested lists of numbers are arrays.
        for index, item in enumerate(X):
            if not isinstance(item, list | tuple):
                _refuse_other_mne_objects(item, f"{name}[{index}]")
        return
    if isinstance(X, mne.Evoked):
        raise TypeError(
            f"{name} is an Evoked, an average the network was not trained on and "
            "whose decision is not that of its epochs. Give the epochs; for the "
            "average of their maps, use explain(..., average=True)."
        )
    if isinstance(X, mne.io.BaseRaw):
        raise TypeError(
            f"{name} is a continuous recording (Raw), and the networks classify "
            "epochs: cut it into epochs first, e.g. mne.Epochs(raw, events) or "
            "mne.make_fixed_length_epochs(raw)."
        )
    # Public classes of every MNE version supported (and their arrays).
    if isinstance(X, mne.time_frequency.Spectrum | mne.time_frequency.EpochsSpectrum):
        raise TypeError(
            f"{name} is a spectrum ({type(X).__name__}), and the networks read "
            "epochs in time. Give the epochs; to train a network on their "
            "spectra, use mne_xai.inspect.SpectralClassifier."
        )
    if isinstance(X, mne.time_frequency.AverageTFR | mne.time_frequency.EpochsTFR):
        raise TypeError(
            f"{name} is a time-frequency representation ({type(X).__name__}), "
            "and the networks read epochs in time: give the epochs."
        )


def _as_array(X, name):
    _refuse_other_mne_objects(X, name)
    if isinstance(X, torch.utils.data.Dataset):
        # Predicting, one was taken for skorch's own (see is_fit_dataset):
        # unchecked, and labels came as indices of classes_.
        raise TypeError(
            f"{name} is a torch Dataset ({type(X).__name__}), which cannot be "
            "checked against the training data (channels, rate, unit) nor read "
            "as epochs: give its data as an array of shape (n_epochs, "
            "n_channels, n_times), or as Epochs."
        )
    if hasattr(X, "__array__") and not isinstance(X, np.ndarray | torch.Tensor):
        X = np.asarray(X)  # array-likes: xarray, dask, zarr
    _validate_type(
        X,
        (np.ndarray, list, tuple, torch.Tensor),
        name,
        "Epochs, list of Epochs, array or torch tensor",
    )
    if isinstance(X, torch.Tensor):  # skorch takes tensors; so do we, on any device
        X = X.detach().cpu().numpy()
    data = np.asarray(X)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {data.dtype}.")
    if data.ndim != 3:
        hint = ""
        if data.ndim == 2 and name == "X":  # an estimator's own
            # mne.decoding.SlidingEstimator and GeneralizingEstimator fit one
            # estimator per time sample: users never passed a 2-D array.
            hint = (
                " A 2-D X is one time sample per epoch, as "
                "mne.decoding.SlidingEstimator hands over; these networks read "
                "whole epochs. For windows over time, use "
                "mne_xai.CroppedClassifier."
            )
        raise ValueError(
            f"{name} must have shape (n_epochs, n_channels, n_times), got an "
            f"array of shape {data.shape}.{hint}"
        )
    # The one check of every estimator, and of what wraps one: on no channels
    # or no samples, the windows of CroppedClassifier and the spectra of
    # SpectralClassifier failed inside NumPy.
    for axis, what in enumerate(("epochs", "channels", "samples")):
        if data.shape[axis] == 0:
            raise ValueError(
                f"{name} holds no {what}: its shape (n_epochs, n_channels, "
                f"n_times) is {data.shape}."
            )
    data = as_float(data)
    _check_finite(data, name)
    return data


def _first_epoch_or_data(epochs):
    """Return data of ``epochs`` that give their type, reading at most one epoch.

    Preloaded data say it without a read, which would cost a call per part:
    cross-validation splits Epochs into parts of one epoch.
    """
    if epochs.preload:
        return epochs._data
    return epochs.get_data(item=[0], copy=False, verbose=quietly())


def _channel_indices(info, ch_names, name):
    """Return the indices in ``info`` of the channels ``ch_names``, in order."""
    missing = [ch for ch in ch_names if ch not in info.ch_names]
    if missing:
        raise ValueError(
            f"{name} lacks {len(missing)} channel(s) the estimator was fitted on: "
            f"{missing[:5]}; give epochs with the training channels "
            "(estimator.info_.ch_names)."
        )
    return np.array([info.ch_names.index(ch) for ch in ch_names])


def checked_batches(
    data, batch_size, train_std, info=None, train_baseline=BASELINE_UNKNOWN
):
    """Yield ``data.batches(batch_size)``, warning if a batch is in another unit.

    Every batch is checked until one warns: the parts of a list of Epochs
    (e.g. two subjects) may be in different units. One warning is enough.
    Epochs flat in every channel are gathered from every batch and named in
    one warning once the last batch is read (Epochs not preloaded are read
    once, batch by batch): warned at the first batch holding any, the flat
    epochs of later batches went unnamed.

    Parameters
    ----------
    data : InputData
        The data.
    batch_size : int
        Epochs per batch.
    train_std, info, train_baseline
        As for :func:`check_amplitudes`.
    """
    warned = False
    flat = []
    start = 0
    for batch in data.batches(batch_size):
        if not warned:
            warned = check_amplitudes(batch, train_std, info, data.name, train_baseline)
        flat.extend((start + _flat_epochs(batch)).tolist())
        start += len(batch)
        yield batch
    _warn_of_flat_epochs(flat, data.name)


def network_batches(network, data, batch_size, mesg):
    """Yield the batches of ``data`` under a progress bar, warning if in another unit.

    Parameters
    ----------
    network : estimator
        The fitted classifier, as :func:`mne_xai.as_network` presents it
        (its ``data_std_`` and ``info_``).
    data : InputData
        The data, or an object that reads like it (``batches``, ``n_batches``,
        ``name``).
    batch_size : int
        Epochs per batch.
    mesg : str
        The progress bar's label.

    Returns
    -------
    batches : iterable of ndarray
        The batches, as :meth:`InputData.batches` yields them.
    """
    return progress_bar(
        checked_batches(
            data,
            batch_size,
            network.data_std_,
            network.info_,
            getattr(network, "baseline_", BASELINE_UNKNOWN),
        ),
        max_value=data.n_batches(batch_size),
        mesg=mesg,
    )
