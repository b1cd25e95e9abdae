"""The one place where MNE objects become arrays (and arrays become MNE objects)."""

import mne
import numpy as np
from mne.utils import _validate_type


def _epochs_list(X):
    """Return X as a non-empty list of Epochs, or None when X is an array."""
    if isinstance(X, mne.BaseEpochs):
        return [X]
    if isinstance(X, list | tuple) and len(X) and isinstance(X[0], mne.BaseEpochs):
        for index, item in enumerate(X):
            _validate_type(item, mne.BaseEpochs, f"X[{index}]")
        return list(X)
    return None


def _check_same_recording(first, other, where):
    if other.ch_names != first.ch_names:
        raise ValueError(
            f"{where} has channels {other.ch_names[:5]}... but the first Epochs has "
            f"{first.ch_names[:5]}...; all Epochs must share the same channels."
        )
    if other.info["sfreq"] != first.info["sfreq"]:
        raise ValueError(
            f"{where} is sampled at {other.info['sfreq']} Hz but the first Epochs at "
            f"{first.info['sfreq']} Hz."
        )


def epochs_to_array(X, *, name="X"):
    """Turn Epochs, a list of Epochs or an array into a float32 array.

    Parameters
    ----------
    X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data. A list of Epochs is what scikit-learn's cross-validation hands
        over when it indexes an Epochs object; it is concatenated cheaply.
    name : str
        The argument's name, for error messages.

    Returns
    -------
    data : ndarray of float32, shape (n_epochs, n_channels, n_times)
        The data in the unit it was given (volts for MNE objects).
    info : mne.Info | None
        The measurement info of the Epochs, None for arrays.
    events : ndarray of int, shape (n_epochs,) | None
        The event codes (``epochs.events[:, 2]``), None for arrays.
    """
    epochs_list = _epochs_list(X)
    if epochs_list is None:
        _validate_type(
            X, (np.ndarray, list, tuple), name, "Epochs, list of Epochs or array"
        )
        data = np.asarray(X)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {data.dtype}.")
        if data.ndim != 3:
            raise ValueError(
                f"{name} must have shape (n_epochs, n_channels, n_times), got an "
                f"array of shape {data.shape}."
            )
        info, events = None, None
    else:
        first = epochs_list[0]
        for index, epochs in enumerate(epochs_list[1:], 1):
            _check_same_recording(first, epochs, f"{name}[{index}]")
        # Reading ``_data`` of preloaded epochs avoids a copy per one-epoch object,
        # which is what makes cross-validation on Epochs cost what arrays cost.
        data = np.concatenate(
            [e._data if e.preload else e.get_data() for e in epochs_list]
        )
        info = first.info
        events = np.concatenate([e.events[:, 2] for e in epochs_list])
    if data.shape[0] == 0:
        raise ValueError(f"{name} holds no epochs.")
    data = data.astype(np.float32, copy=False)
    if not np.isfinite(data).all():
        raise ValueError(
            f"{name} contains NaN or infinite values; drop or repair those epochs "
            "(e.g. with epochs.drop or interpolate_bads) before using them."
        )
    return data, info, events


def check_matches_training(shape, info, *, train_info, n_channels, n_times, name="X"):
    """Raise a clear error when data differ from what the network was trained on.

    ``shape`` is the data's ``(n_epochs, n_channels, n_times)``.
    """
    if shape[1] != n_channels:
        raise ValueError(
            f"{name} has {shape[1]} channels but the estimator was fitted on "
            f"{n_channels}."
        )
    if shape[2] != n_times:
        raise ValueError(
            f"{name} has {shape[2]} time samples but the estimator was fitted on "
            f"{n_times}; crop or resample the epochs like the training data."
        )
    if info is None or train_info is None:
        return
    if info.ch_names != train_info.ch_names:
        differing = [
            (new, old)
            for new, old in zip(info.ch_names, train_info.ch_names, strict=True)
            if new != old
        ]
        raise ValueError(
            f"{name} has channels that differ from training (given, trained): "
            f"{differing[:5]}; use epochs.reorder_channels(estimator.info_.ch_names)."
        )
    if info["sfreq"] != train_info["sfreq"]:
        raise ValueError(
            f"{name} is sampled at {info['sfreq']} Hz but the estimator was fitted at "
            f"{train_info['sfreq']} Hz; resample the epochs."
        )


def describe(X, *, name="X"):
    """Shape, info and event codes of X without reading all of its data.

    Returns
    -------
    shape : tuple of int
        ``(n_epochs, n_channels, n_times)``.
    info : mne.Info | None
        Measurement info (None for arrays).
    events : ndarray of int | None
        Event codes (None for arrays).
    """
    epochs_list = _epochs_list(X)
    if epochs_list is None or len(epochs_list) > 1:
        # Arrays are in memory already; a list of Epochs comes from
        # scikit-learn's indexing and is small.
        data, info, events = epochs_to_array(X, name=name)
        return data.shape, info, events
    epochs = epochs_list[0]
    shape = (len(epochs.events), len(epochs.ch_names), len(epochs.times))
    if shape[0] == 0:
        raise ValueError(f"{name} holds no epochs.")
    return shape, epochs.info, epochs.events[:, 2]


def iter_batches(X, batch_size, *, name="X"):
    """Yield consecutive float32 batches of X, reading one batch at a time.

    Memory grows with ``batch_size``, not with the number of epochs, which is
    what lets averaged explanations and evaluations stream over large data.
    """
    epochs_list = _epochs_list(X)
    if epochs_list is None or len(epochs_list) > 1:
        data = epochs_to_array(X, name=name)[0]
        n_epochs = len(data)

        def read(start, stop):
            return data[start:stop]
    else:
        epochs = epochs_list[0]
        n_epochs = len(epochs.events)

        def read(start, stop):
            if epochs.preload:
                return epochs._data[start:stop]
            return epochs.get_data(item=slice(start, stop))

    for start in range(0, n_epochs, batch_size):
        batch = np.asarray(read(start, start + batch_size), dtype=np.float32)
        if not np.isfinite(batch).all():
            raise ValueError(
                f"{name} contains NaN or infinite values in epochs {start} to "
                f"{start + len(batch) - 1}; drop or repair them first."
            )
        yield batch
