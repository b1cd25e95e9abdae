"""How mne_xai warns: at the user's line, and once however often a block warns."""

import warnings
from contextlib import contextmanager

from mne.utils import warn as _mne_warn

#: Packages whose frames a warning's location passes over: the user calls
#: mne_xai directly, or through scikit-learn (cross-validation), and mne_xai
#: reads the data through skorch's and torch's iterators and MNE's progress
#: bars (tqdm's).
_LIBRARIES = ("mne_xai", "mne", "skorch", "torch", "sklearn", "tqdm")


def warn(message, category=RuntimeWarning):
    """Warn at the first line of the call stack outside mne_xai and its libraries.

    Checks run deep in a call (on each batch, inside skorch's iterators) by
    paths of several depths; a fixed ``stacklevel`` pointed inside mne_xai on
    all but one, and MNE's default location stops at mne_xai's first frame.
    As MNE's own warnings, these follow the log level (``verbose``).

    Parameters
    ----------
    message : str
        The warning.
    category : type of Warning
        Its class.
    """
    _mne_warn(message, category, module="mne_xai", ignore_namespaces=_LIBRARIES)


@contextmanager
def warnings_once():
    """Pass on each distinct warning of the block once, when it ends.

    A check run on every batch, or by a classifier and again by the network
    it wraps, would otherwise say the same thing several times. Warnings are
    distinct by category and text (whitespace aside); the caller's filters
    still decide what is shown.

    Yields
    ------
    passed_on : list of warnings.WarningMessage
        Filled when the block ends: the distinct warnings, in order.
    """
    passed_on = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield passed_on
    said = set()
    for warning in caught:
        key = (warning.category, " ".join(str(warning.message).split()))
        if key in said:
            continue
        said.add(key)
        passed_on.append(warning)
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
