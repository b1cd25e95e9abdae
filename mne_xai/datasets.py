"""Loaders that return mne.Epochs for the recordings used in examples and benchmarks."""

import zipfile
from pathlib import Path

import mne
import numpy as np
from mne.datasets.utils import _get_path
from mne.utils import _check_option, _validate_type, logger, verbose

__all__ = ["load_drowsiness", "load_eegbci"]

_EEGBCI_TASKS = {
    "hands_vs_feet": {"runs": (6, 10, 14), "labels": {"T1": "hands", "T2": "feet"}},
    "left_vs_right": {"runs": (4, 8, 12), "labels": {"T1": "left", "T2": "right"}},
}


def _builtin_montage(system):
    """Name of MNE's template montage for "1020" or "1005" in this MNE version."""
    # MNE 1.13 renamed standard_10xx to colin27_10xx (same positions).
    renamed = f"colin27_{system}"
    return (
        renamed
        if renamed in mne.channels.get_builtin_montages()
        else f"standard_{system}"
    )


@verbose
def load_eegbci(
    subject=1,
    task="hands_vs_feet",
    runs=None,
    *,
    tmin=-1.0,
    tmax=4.0,
    l_freq=7.0,
    h_freq=30.0,
    path=None,
    verbose=None,
):
    """Load EEGBCI motor imagery as Epochs, through MNE's own fetcher.

    Parameters
    ----------
    subject : int
        Subject number (1 to 109).
    task : "hands_vs_feet" | "left_vs_right"
        Imagined movement of both fists vs both feet (runs 6, 10, 14) or of the
        left vs right fist (runs 4, 8, 12).
    runs : int | list of int | None
        A subset of the task's runs, as integers; None means all three.
    tmin, tmax : float
        Epoch limits in seconds around the cue.
    l_freq, h_freq : float | None
        Band-pass edges in Hz applied to the continuous data (MNE's CSP example
        uses 7–30 Hz); None skips that edge. Given both, ``l_freq`` must be
        below ``h_freq``.
    path : path-like | None
        Where the ``MNE-eegbci-data`` folder lives. None uses MNE's configuration
        (``MNE_DATASETS_EEGBCI_PATH``, then ``MNE_DATA``, then ``~/mne_data``,
        which MNE creates); files missing there are downloaded by MNE.
    %(verbose)s

    Returns
    -------
    epochs : mne.Epochs
        Preloaded EEG epochs with the 10-05 montage and event_id mapping the
        task's two classes (e.g. ``{"feet": 2, "hands": 3}``).

    Notes
    -----
    Cite Schalk et al. 2004 (BCI2000) and Goldberger et al. 2000 (PhysioNet).
    """
    _validate_type(subject, "int-like", "subject")
    if not 1 <= subject <= 109:  # MNE's registry error named a file S000R06.edf
        raise ValueError(f"subject must be from 1 to 109, got {subject}.")
    _check_option("task", task, tuple(_EEGBCI_TASKS))
    # Unchecked, a string edge failed in the comparison below ("'>=' not
    # supported between instances of 'str' and 'float'"), naming no argument.
    for name, edge in (("l_freq", l_freq), ("h_freq", h_freq)):
        _validate_type(edge, (None, "numeric"), name, "a frequency in Hz or None")
    if l_freq is not None and h_freq is not None and l_freq >= h_freq:
        # MNE reads such edges as a band-stop, which removed the very band.
        raise ValueError(
            f"l_freq must be below h_freq, the edges of the band-pass; got "
            f"l_freq={l_freq}, h_freq={h_freq}."
        )
    task_runs = _EEGBCI_TASKS[task]["runs"]
    runs = task_runs if runs is None else runs
    runs = list(runs) if np.iterable(runs) else [runs]
    for run in runs:  # a float run (6.0) passed the subset check, then broke MNE
        _validate_type(run, "int-like", "runs", "int or list of int")
    runs = [int(run) for run in runs]
    wrong = sorted(set(runs) - set(task_runs))
    if wrong or not runs or len(set(runs)) < len(runs):
        # A run given twice gives each of its epochs twice, which then fall on
        # both sides of a cross-validation split.
        raise ValueError(
            f"runs must be a subset of the {task} runs {task_runs}, each once; "
            f"got {runs}."
        )
    # MNE's own choice of folder, as load_data makes it, so that an error names
    # the folder searched: with neither variable set, it is ~/mne_data.
    root = _get_path(path, "MNE_DATASETS_EEGBCI_PATH", "EEGBCI")
    try:
        files = mne.datasets.eegbci.load_data(
            subject, runs, path=root, update_path=False, verbose=verbose
        )
    except OSError as error:  # requests' errors: offline, or no such file online
        chosen = (
            ""
            if path is not None
            else " (MNE_DATASETS_EEGBCI_PATH, else MNE_DATA, else ~/mne_data)"
        )
        raise OSError(
            f"EEGBCI subject {subject}, runs {runs} are not under {root}{chosen}, "
            f"and downloading them failed: {error}"
        ) from error
    raw = mne.concatenate_raws(
        [mne.io.read_raw_edf(f, preload=True, verbose=verbose) for f in files]
    )
    mne.datasets.eegbci.standardize(raw)
    raw.set_montage(_builtin_montage("1005"), verbose=verbose)
    raw.annotations.rename(_EEGBCI_TASKS[task]["labels"])
    if l_freq is not None or h_freq is not None:
        raw.filter(l_freq, h_freq, skip_by_annotation="edge", verbose=verbose)
    epochs = mne.Epochs(
        raw,
        event_id=list(_EEGBCI_TASKS[task]["labels"].values()),
        tmin=tmin,
        tmax=tmax,
        baseline=None,
        picks="eeg",
        preload=True,
        verbose=verbose,
    )
    # MNE builds the names from a set, whose order changes from run to run
    # (PYTHONHASHSEED); ordered by code, legends and loops over event_id agree.
    epochs.event_id = dict(sorted(epochs.event_id.items(), key=lambda item: item[1]))
    return epochs


_DROWSINESS = Path("drowsiness") / "drowsiness_oz.npz"


def _drowsiness_file(path):
    """Return the drowsiness npz file that ``path``, else MNE_DATA, names.

    ``path`` is the file, its folder, or the folder holding
    ``drowsiness/drowsiness_oz.npz`` (as MNE_DATA does, and as
    :func:`load_eegbci`'s ``path`` holds its data set's folder): the refusal
    of a missing MNE_DATA named that folder, which ``path`` then refused.
    """
    if path is None:
        path = mne.get_config("MNE_DATA")
        if path is None:
            raise FileNotFoundError(
                "Set MNE_DATA (environment or mne.set_config) to the folder that "
                f"holds {_DROWSINESS.as_posix()}, or pass that folder (or the file) "
                "as path=."
            )
    path = Path(path).expanduser()
    if path.is_file() or path.suffix == ".npz":
        candidates = [path]
    else:  # a folder: the file's own, or the data sets' (MNE_DATA)
        candidates = [path / _DROWSINESS.name, path / _DROWSINESS]
    for file in candidates:
        if file.is_file():
            return file
    raise FileNotFoundError(
        f"No drowsiness data at {' or '.join(map(str, candidates))}."
    )


@verbose
def load_drowsiness(path=None, subjects=None, *, verbose=None):
    """Load the driver-drowsiness Oz recordings of Cui et al. as EpochsArray.

    Parameters
    ----------
    path : path-like | None
        The ``drowsiness_oz.npz`` file, its folder, or the folder holding
        ``drowsiness/drowsiness_oz.npz`` (as ``MNE_DATA`` does, and as
        :func:`load_eegbci`'s ``path`` holds its data). None means
        ``MNE_DATA``. Another file is refused with a ValueError.
    subjects : list of int | None
        Subjects to keep (1 to 11); None keeps all.
    %(verbose)s

    Returns
    -------
    epochs : mne.EpochsArray
        3-s epochs of channel Oz at 128 Hz in volts, low-passed at 50 Hz by
        the data set's authors (recorded in ``info["lowpass"]``), event_id
        ``{"alert": 1, "drowsy": 2}``, and ``metadata`` with a ``subject`` column
        (use it as ``groups`` for leave-one-subject-out cross-validation).

    Notes
    -----
    Derived from the EEG driver drowsiness dataset (figshare 14273687,
    CC BY 4.0; Cao et al. 2019), channel Oz only. The file holds ``X``, the
    2022 epochs of channel Oz in microvolts, shape (2022, 1, 384); ``y``, 0
    (alert) or 1 (drowsy); and ``subject``, 1 to 11. To build it from the
    data set's ``dataset.mat``, whose ``EEGsample`` holds the 30 channels,
    ``substate`` the labels and ``subindex`` the subjects, keep channel Oz,
    the 29th::

        import numpy as np
        from scipy.io import loadmat

        mat = loadmat("dataset.mat")
        np.savez(
            "drowsiness/drowsiness_oz.npz",
            X=mat["EEGsample"][:, [28]].astype(np.float32),
            y=mat["substate"].ravel(),
            subject=mat["subindex"].ravel(),
        )
    """
    import pandas as pd

    _validate_type(path, ("path-like", None), "path")
    file = _drowsiness_file(path)
    try:
        with np.load(file) as archive:
            data, labels, subject = archive["X"], archive["y"], archive["subject"]
    except (ValueError, TypeError, KeyError, zipfile.BadZipFile) as error:
        # numpy's own messages are about unpickling a file of another format,
        # or a missing key, not about which file was expected.
        raise ValueError(
            f"{file} is not the drowsiness npz file, which holds the arrays X, y "
            "and subject (the Notes of load_drowsiness say how to build it)."
        ) from error
    if subjects is not None:
        _validate_type(subjects, (list, tuple, np.ndarray), "subjects")
        missing = sorted(set(subjects) - set(subject.tolist()))
        if missing or not len(subjects):
            raise ValueError(f"subjects must be among 1 to 11, got {list(subjects)}.")
        keep = np.isin(subject, subjects)
        data, labels, subject = data[keep], labels[keep], subject[keep]
    logger.info(f"Loaded {len(data)} drowsiness epochs from {file}.")
    info = mne.create_info(["Oz"], 128.0, "eeg")
    events = np.column_stack(
        [np.arange(len(data)) * data.shape[-1], np.zeros(len(data), int), labels + 1]
    ).astype(int)
    epochs = mne.EpochsArray(
        data.astype(np.float64) * 1e-6,
        info,
        events=events,
        event_id={"alert": 1, "drowsy": 2},
        metadata=pd.DataFrame({"subject": subject}),
        verbose=verbose,
    )
    with epochs.info._unlock():
        # The data set was low-passed at 50 Hz (its power from 52 to 64 Hz is
        # 1e-8 of the alpha band's); recorded, the preparation check does not
        # take 0 to 64 Hz for the training band.
        epochs.info["lowpass"] = 50.0
    return epochs.set_montage(_builtin_montage("1020"), verbose=verbose)
