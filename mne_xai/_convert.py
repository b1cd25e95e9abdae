"""The one place where MNE objects become arrays (and arrays get an MNE info).

The data read are checked against the training data in :mod:`mne_xai._matching`
and on their own in :mod:`mne_xai._data_checks`; their labels are read in
:mod:`mne_xai._labels`. Results become MNE objects in :mod:`mne_xai._outputs`.
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


def as_float(data, dtype=np.float32, *, copy=False):
    """Return ``data`` as ``dtype``, values beyond its range as infinite.

    The finite check that follows refuses them clearly; NumPy's "overflow
    encountered in cast" warning came before it and said less. With
    ``copy=True`` the result never shares memory with ``data``.
    """
    with np.errstate(over="ignore"):
        return np.asarray(data).astype(dtype, copy=copy)


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
        They are float32, as networks take them, unless ``dtype`` says otherwise,
        and copies: a network may change its input in place (``x -= x.mean()``
        in its forward), which changed a user's float32 array, and the data
        of preloaded float32 Epochs, wherever it ran.
        """
        for start in range(0, self.shape[0], batch_size):
            batch = as_float(
                self._read_range(start, start + batch_size), dtype, copy=True
            )
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
        unit="batches",
    )
