"""The recordings: checked in the calling process, read in the worker."""

import os
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from mne.utils import _validate_type

from .._warnings import quietly

#: Suffixes MNE gives epochs files, left out of the id taken from a file name.
_EPOCHS_SUFFIXES = ("-epo", "_epo")
#: How many recordings an error message names before summarising the rest.
_N_NAMED = 10


def _file_id(path):
    """Return the id of an epochs file: its name without ``.fif`` and ``-epo``."""
    name = Path(path).name
    for extension in (".fif.gz", ".fif"):
        if name.endswith(extension):
            name = name[: -len(extension)]
            break
    for suffix in _EPOCHS_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _check_recordings(recordings, ids, id_column):
    """Validate the recordings and return what the tasks need to find them.

    Returns
    -------
    sources : list of mne.BaseEpochs | str
        Each recording, as Epochs or as the path of its file.
    labels : list of hashable
        Each recording's id, or (with ``id_column``, whose values are only
        known once the file is read) how error messages name it.
    """
    _validate_type(recordings, (list, tuple), "recordings", "list of Epochs or paths")
    if not recordings:
        raise ValueError("recordings is empty; give at least one Epochs or file.")
    _validate_type(id_column, (None, str), "id_column")
    if ids is not None and id_column is not None:
        raise ValueError(
            "Give the recording ids either as ids or as id_column, not both."
        )
    sources, labels, not_files = [], [], []
    for position, recording in enumerate(recordings):
        _validate_type(
            recording,
            (mne.BaseEpochs, "path-like"),
            f"recordings[{position}]",
            "mne.Epochs or the path of an epochs .fif file",
        )
        if isinstance(recording, mne.BaseEpochs):
            sources.append(recording)
            labels.append(position)
        else:
            path = os.fspath(Path(recording).expanduser())
            if not Path(path).is_file():
                # A folder (e.g. a BIDS subject's) was said not to exist.
                what = "a folder" if Path(path).is_dir() else "no such file"
                not_files.append(f"recordings[{position}]: {path} ({what})")
            sources.append(path)
            labels.append(_file_id(path))
    if not_files:
        raise FileNotFoundError(
            f"{len(not_files)} recording(s) are not files: {_named(not_files)}. "
            "Give each recording as Epochs or the path of its epochs .fif file."
        )
    if ids is not None:
        _validate_type(ids, (list, tuple, np.ndarray, pd.Index), "ids")
        ids = [_python_value(recording_id) for recording_id in ids]
        if len(ids) != len(sources):
            raise ValueError(
                f"ids holds {len(ids)} ids for {len(sources)} recordings; give one "
                "per recording."
            )
        for position, recording_id in enumerate(ids):
            try:
                hash(recording_id)
            except TypeError:  # _check_unique's set said only "unhashable type"
                raise TypeError(
                    f"ids[{position}] is a {type(recording_id).__name__} "
                    f"({recording_id!r}), which cannot key the results; give "
                    'hashable ids, e.g. a str or a tuple ("sub-01", "ses-01").'
                ) from None
        labels = ids
    if id_column is None:
        _check_unique(labels, "ids" if ids is not None else "file names")
    return sources, labels


def _check_unique(ids, where):
    """Raise if two recordings share an id."""
    seen, repeated = set(), []
    for recording_id in ids:
        if recording_id in seen and recording_id not in repeated:
            repeated.append(recording_id)
        seen.add(recording_id)
    if repeated:
        raise ValueError(
            f"Recording ids must be unique; the {where} give {_named(repeated)} "
            "more than once. Pass ids=[...] or id_column= (a metadata column)."
        )


def _named(items):
    """Return the first few items of a list as text, then how many more there are."""
    shown = ", ".join(str(item) for item in items[:_N_NAMED])
    if len(items) > _N_NAMED:
        shown += f" and {len(items) - _N_NAMED} more"
    return shown


def _check_channel_order(sources, labels, network):
    """Refuse recordings whose channels differ in order, read by position.

    A fitted network that does not know its channels (fitted on arrays, or a
    skorch network wrapped without ``info``) reads each recording's channels
    in their order: one exported in another order was read against the wrong
    weights, and its map, named by its own channels, averaged by name with the
    others'. Networks that know their channels read them by name.
    """
    if network.info_ is not None:
        return
    first_label, first = None, None
    for source, label in zip(sources, labels, strict=True):
        if isinstance(source, mne.BaseEpochs):
            ch_names = source.ch_names
        else:
            try:
                ch_names = mne.io.read_info(source, verbose=quietly()).ch_names
            except Exception:  # its task says why it cannot be read, naming it
                continue
        if first is None:
            first_label, first = label, ch_names
        elif ch_names != first:
            raise ValueError(
                f"Recording {label!r} holds other channels, or the same in another "
                f"order, than recording {first_label!r} ({ch_names[:3]}... against "
                f"{first[:3]}...), and the network does not know its channels, so "
                "it reads each recording's channels by position. Fit it on Epochs "
                "(or wrap a skorch network with as_network(net, info=...)) to read "
                "them by name, or reorder the recordings alike "
                "(epochs.reorder_channels)."
            )


def _read_recording(source, label, copy):
    """Return the recording's Epochs: read without their data, or those given.

    With ``copy``, Epochs given are copied for the task: one in the caller's
    process (serial, threads) handed the function the caller's own, so that
    what it did to them (dropping an epoch, cropping) changed the caller's
    recordings and the results of the next call. Worker processes receive a
    copy already.
    """
    if isinstance(source, mne.BaseEpochs):
        return source.copy() if copy else source
    try:
        return mne.read_epochs(source, preload=False, verbose=quietly())
    except Exception as err:
        raise ValueError(
            f"Recording {label!r} ({source}) could not be read as mne.Epochs: "
            f"{type(err).__name__}: {err}"
        ) from err


def _check_metadata_ids(sources, labels, id_column):
    """Refuse, before any work, recordings whose ``id_column`` gives no single id.

    Each recording is read as the tasks read it (a file without its data).
    Ids repeated across recordings were found once all of them had been
    processed, and the call raised then, discarding every result.
    """
    ids = [
        _metadata_id(_read_recording(source, label, copy=False), id_column, label)
        for source, label in zip(sources, labels, strict=True)
    ]
    _check_unique(ids, f"values of {id_column!r}")


def _metadata_id(epochs, id_column, label):
    """Return the single value of ``id_column`` in the recording's metadata."""
    metadata = epochs.metadata
    if metadata is None or id_column not in metadata.columns:
        columns = [] if metadata is None else list(metadata.columns)
        raise ValueError(
            f"Recording {label!r} has no metadata column id_column={id_column!r} "
            f"(its columns: {columns or 'no metadata'})."
        )
    values = pd.unique(metadata[id_column])
    if not len(values):
        # Its epochs were all dropped: "holds 0 values" told not why, nor what to do.
        raise ValueError(
            f"Recording {label!r} has no epochs, so its metadata column "
            f"{id_column!r} gives no id; leave it out of the recordings."
        )
    if len(values) != 1:
        raise ValueError(
            f"The metadata column {id_column!r} of recording {label!r} holds "
            f"{len(values)} values ({_named(list(values))}); a recording id must "
            "be the same in every epoch."
        )
    return _python_value(values[0])


def _python_value(recording_id):
    """Return an id of NumPy's type as Python's, which messages show as it is.

    ``np.str_('sub-01')`` named the recording in the results' keys and in
    every warning and error.
    """
    return recording_id.item() if isinstance(recording_id, np.generic) else recording_id
