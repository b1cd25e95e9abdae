"""Epochs for ``mne-xai report``: files MNE reads as epochs, or a built-in data set."""

import warnings
from pathlib import Path

import mne

from .._warnings import quietly
from ..datasets import load_drowsiness, load_eegbci

#: Formats read as epochs from a single file, by name: reader and extensions.
FORMATS = {
    "fif": (mne.read_epochs, (".fif", ".fif.gz")),
    "eeglab": (mne.read_epochs_eeglab, (".set",)),
}

#: The built-in data sets, as ``mne-xai report`` names them.
DATASETS = {
    "eegbci": "eegbci:SUBJECT[:TASK]: EEGBCI motor imagery through "
    "mne.datasets.eegbci (TASK hands_vs_feet, the default, or left_vs_right), "
    "cropped to the motor imagery period, 0.5-2.5 s after the cue",
    "drowsiness": "drowsiness[:SUBJECTS]: the driver-drowsiness Oz recordings "
    "under MNE_DATA (SUBJECTS such as 1,2,3; all 11 by default)",
}

# The motor imagery period, after the cue's evoked response; it also halves
# the training time of the full 0-4 s.
_EEGBCI_WINDOW = (0.5, 2.5)


class InputError(ValueError):
    """The input cannot be read as epochs; the message says why."""


def _spec_form(name):
    """How a data set is named, as in :data:`DATASETS`: ``eegbci:SUBJECT[:TASK]``."""
    return DATASETS[name].partition(": ")[0]


def _dataset(spec):
    """Load a built-in data set from a spec such as ``eegbci:1:hands_vs_feet``."""
    name, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    try:
        if name == "eegbci":
            if not 1 <= len(parts) <= 2 or not parts[0].isdigit():
                raise ValueError(f"expected {_spec_form(name)}, such as eegbci:1")
            epochs = load_eegbci(int(parts[0]), *parts[1:], verbose=quietly())
            return epochs.crop(*_EEGBCI_WINDOW)
        subjects = parts[0].split(",") if parts else []
        if len(parts) > 1 or not all(map(str.isdigit, subjects)):
            raise ValueError(
                f"expected {_spec_form(name)}, such as drowsiness or drowsiness:1,2,3"
            )
        return load_drowsiness(
            subjects=list(map(int, subjects)) or None, verbose=quietly()
        )
    except (ValueError, FileNotFoundError, OSError) as err:
        raise InputError(f"cannot load the data set {spec!r}: {err}") from None


def is_dataset(source):
    """Whether ``source`` names a built-in data set rather than a file."""
    name = str(source).partition(":")[0]
    return name in DATASETS and not Path(source).exists()


def _format_of(path, format):
    if format is not None:
        if format not in FORMATS:
            raise InputError(
                f"unknown format {format!r}; formats read as epochs: {sorted(FORMATS)}."
            )
        return format
    for name, (_, extensions) in FORMATS.items():
        if path.name.endswith(extensions):
            return name
    known = ", ".join(ext for _, exts in FORMATS.values() for ext in exts)
    raise InputError(
        f"cannot tell the format of {path.name!r} from its extension ({known}); give "
        "--format, or read it with MNE and save it with epochs.save('name-epo.fif')."
    )


def _other_kind(path, format):
    """Say what a file the epochs reader refused holds instead, when it can tell.

    Returns None when the file is no other kind of file this knows of.
    """
    if format == "eeglab":
        with path.open("rb") as file:
            # Every MAT file EEGLAB writes (v5 or v7.3) starts with this text.
            if file.read(6) != b"MATLAB":
                return "it is not an EEGLAB .set file (those are MATLAB files)."
        return None
    if not path.name.endswith(".gz"):
        with path.open("rb") as file:
            # Every FIF file starts with the tag of its file ID (kind 100).
            if file.read(4) != (100).to_bytes(4, "big"):
                return "it is not a FIF file (it is empty, or of another format)."
    kinds = {
        "continuous data (a Raw file, as mne.io.read_raw reads it), and the report "
        "needs epochs: cut it into epochs in Python and save them, e.g. "
        "mne.Epochs(raw, events, event_id, tmin, tmax).save('name-epo.fif').": (
            mne.io.read_raw_fif
        ),
        "averages (an Evoked file, as mne.read_evokeds reads it), and the report "
        "needs the single epochs they average.": mne.read_evokeds,
    }
    for kind, reader in kinds.items():
        try:
            # A Raw file is read as its header only, and warns when not named
            # *raw.fif; an Evoked file likewise.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read = reader(path, verbose=quietly())
        except Exception:
            continue
        # mne.read_evokeds returns no averages, without an error, from a FIF
        # file holding none (epochs it cannot read, measurement info alone).
        if isinstance(read, list) and not read:
            continue
        return f"it holds {kind}"
    return None


def read_input(source, format=None):
    """Read epochs from a file or a built-in data set.

    Parameters
    ----------
    source : str | path-like
        An epochs file, or a data set spec (see :data:`DATASETS`).
    format : str | None
        A key of :data:`FORMATS`; None tells the format from the extension.

    Returns
    -------
    epochs : mne.Epochs
        Preloaded epochs.
    """
    if is_dataset(source):
        return _dataset(str(source))
    path = Path(source).expanduser()
    if path.is_dir():
        raise InputError(f"{str(source)!r} is a folder, not an epochs file.")
    if not path.is_file():
        raise InputError(
            f"{str(source)!r}: no such file, and no data set "
            f"({' or '.join(map(_spec_form, DATASETS))}; see mne-xai report --help)."
        )
    format = _format_of(path, format)
    reader = FORMATS[format][0]
    try:
        # A file that fails to read also warns about what broke; the error
        # says it once.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            epochs = reader(path, verbose=quietly())
            epochs.load_data()
    except Exception as err:
        # Readers fail on bad files in many ways (ValueError, OSError,
        # KeyError, struct and zlib errors ...); each means the same here.
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise InputError(
            f"cannot read {path.name!r} as {format} epochs: "
            f"{_other_kind(path, format) or message or type(err).__name__}"
        ) from None
    for warning in caught:
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    return epochs
