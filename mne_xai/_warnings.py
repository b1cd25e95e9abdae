"""How mne_xai warns: at the user's line, and once however often a block warns."""

import contextlib
import functools
import importlib
import logging
import os
import sys
import warnings
from contextlib import contextmanager

from mne.utils import logger

#: Packages whose frames a warning's location passes over: the user calls
#: mne_xai directly, or through scikit-learn (cross-validation, which runs
#: folds through joblib even on one core), and mne_xai reads the data through
#: skorch's and torch's iterators and MNE's progress bars (tqdm's).
_LIBRARIES = ("mne_xai", "mne", "skorch", "torch", "sklearn", "joblib", "tqdm")


def warn(message, category=RuntimeWarning):
    """Warn at the first line of the call stack outside mne_xai and its libraries.

    Checks run deep in a call (on each batch, inside skorch's iterators) by
    paths of several depths; a fixed ``stacklevel`` pointed inside mne_xai on
    all but one, and MNE's ``warn`` stops at mne_xai's first frame. As MNE's
    own warnings, these follow the log level (``verbose``). Python's filters
    see them as mne_xai's (``module="mne_xai"``), and show a warning once per
    line of the user's code, as :func:`warnings.warn` does.

    Parameters
    ----------
    message : str
        The warning.
    category : type of Warning
        Its class.
    """
    if logger.level <= logging.WARNING:
        _warn_at_users_line(message, category)


def warn_data_mismatch(message):
    """Warn that data differ from the training data, whatever the log level.

    A network given data unlike its training data (another unit, start time,
    filter, reference) returns outputs that mean nothing, without failing; a
    log level chosen to quiet MNE's messages must not hide that. Otherwise as
    :func:`warn`.

    Parameters
    ----------
    message : str
        The warning.
    """
    _warn_at_users_line(message, RuntimeWarning)


def warn_again(message, category):
    """Warn at the user's line of a warning that passed the filters elsewhere.

    For the warnings recorded where a task ran (a worker process), each
    shown there once: raised again with Python's once-per-line memory, those
    of one call hid the same ones at the next call from that line (another
    method, the next condition of a loop). They are shown at every call; the
    caller's filters (``"ignore"``, ``"error"``, ``"once"``) still apply.
    Whatever the log level, as the task ran at the caller's.

    Parameters
    ----------
    message : str
        The warning.
    category : type of Warning
        Its class.
    """
    _warn_at_users_line(message, category, once_per_line=False)


def _warn_at_users_line(message, category, once_per_line=True):
    frame = _users_frame()
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module="mne_xai",
        # None: no memory of warnings shown (the "once" filter keeps its own).
        registry=(
            frame.f_globals.setdefault("__warningregistry__", {})
            if once_per_line
            else None
        ),
    )


@functools.cache
def _library_folders():
    return tuple(
        os.path.join(os.path.dirname(importlib.import_module(name).__file__), "")
        for name in _LIBRARIES
    )


#: Frames of the standard library's decorators, which run a function decorated
#: with a context manager (``@contextmanager`` objects used as decorators):
#: not the user's line.
_DECORATOR_FILES = (contextlib.__file__,)


def _users_frame():
    """Return the innermost frame outside the libraries (the warning's caller if none)."""
    folders = _library_folders()
    frame = caller = sys._getframe(3)  # the caller of warn()
    while frame is not None:
        filename = frame.f_code.co_filename
        # MNE's verbose decorator runs functions in frames of its own.
        if not (
            filename.startswith(folders)
            or filename.startswith("<decorator-gen")
            or filename in _DECORATOR_FILES
        ):
            return frame
        frame = frame.f_back
    return caller


@contextmanager
def warnings_once():
    """Pass on each distinct warning of the block once, when it ends (or fails).

    A check run on every batch, or by a classifier and again by the network
    it wraps, would otherwise say the same thing several times: a sanity check
    checks its arguments as explain does, then explains each variant's maps
    anew, batch by batch, each explanation checking the data and the method
    again. Warnings are distinct by category and text (whitespace aside); the
    caller's filters still decide what is shown.

    Yields
    ------
    passed_on : list of warnings.WarningMessage
        Filled when the block ends: the distinct warnings, in order.
    """
    passed_on, caught = [], []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield passed_on
    finally:
        # Also when the block fails: a warning of data in another unit may
        # explain the error, and was lost.
        said = set()
        for warning in caught:
            key = (warning.category, " ".join(str(warning.message).split()))
            if key in said:
                continue
            said.add(key)
            passed_on.append(warning)
            # As mne_xai's, whose call the block is, so that filters on the
            # module see them.
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
                module="mne_xai",
            )
