"""How mne_xai warns: at the user's line, and once however often a block warns."""

import contextlib
import functools
import importlib
import logging
import os
import re
import sys
import threading
import warnings
from contextlib import contextmanager

from mne.utils import logger

from ._held import HeldWhileUsed

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


def quietly():
    """Return the ``verbose`` of a call made inside another: WARNING or stricter.

    ``verbose=False`` (WARNING) keeps an inner call's progress (INFO) out of
    the log of the call around it, but also lowered a stricter level that the
    user chose (``verbose="error"``, ``mne.set_log_level("ERROR")``), so that
    the inner call's warnings showed. The stricter of WARNING and the current
    level is kept, as MNE does for its own inner calls.

    Returns
    -------
    level : int
        The log level, for ``verbose=``.
    """
    return max(logging.WARNING, logger.level)


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
    if _this_thread.records and not _IGNORED_ON_THIS_THREAD.match(str(message)):
        # Past the filters: the block passes it on through them when it ends,
        # and their once-per-line memory would keep it from the next call's
        # block made from the same line.
        _this_thread.records[-1].append(
            warnings.WarningMessage(
                category(message), category, frame.f_code.co_filename, frame.f_lineno
            )
        )
        return
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


class _ThreadState(threading.local):
    """What the blocks open on one thread do with its warnings."""

    def __init__(self):
        #: The lists of the open recording blocks, innermost last.
        self.records = []
        #: The patterns of the open ignoring blocks.
        self.ignored = []


_this_thread = _ThreadState()


class _IgnoredOnThisThread:
    """A warnings filter's message pattern that matches what this thread ignores.

    Python's filters apply to the whole process; the filter holding this
    pattern ignores a warning on the threads inside :func:`ignoring` only.
    """

    def match(self, text):  # noqa: D102 (as a compiled pattern's, for the filters)
        return any(pattern.match(text) for pattern in _this_thread.ignored)

    @property
    def pattern(self):
        """The patterns of the calling thread as one (none: a pattern that matches nothing).

        For code that copies the filters by their patterns' text, as
        scikit-learn's ``Parallel`` does into its workers.
        """
        patterns = [f"(?:{pattern.pattern})" for pattern in _this_thread.ignored]
        return "|".join(patterns) or "(?!)"

    def __reduce__(self):
        # Pickled into a worker process, which runs none of this thread's
        # blocks: what this thread ignores, as a plain pattern.
        return re.compile, (self.pattern, re.IGNORECASE)


_IGNORED_ON_THIS_THREAD = _IgnoredOnThisThread()


class _ThreadDispatch(HeldWhileUsed):
    """Make the warnings state of one thread's blocks the thread's own.

    ``warnings.catch_warnings`` swaps the process's filters and
    ``showwarning``: two blocks on two threads, not ending in the order they
    began, left a finished block's recorder and filters in place, and every
    later warning of the process went into a list nobody read (or stayed
    ignored). Instead, while any block is open on any thread, one filter (of
    :class:`_IgnoredOnThisThread`, first, so it holds even where warnings are
    errors) and one ``showwarning`` are installed: they ignore what the
    thread's blocks ignore, record the warnings of a thread inside a
    recording block, and show the others as before.
    """

    def __init__(self):
        super().__init__()
        self._show = None
        self._filter = ("ignore", _IGNORED_ON_THIS_THREAD, Warning, None, 0)

    def _make(self):
        # Left in place by another's catch_warnings that restored a copy of
        # the state, they stay: both work with no block open.
        if warnings.showwarning != self._showwarning:
            self._show = warnings.showwarning
            warnings.showwarning = self._showwarning
        if self._filter not in warnings.filters:
            warnings.filters.insert(0, self._filter)

    def _undo(self):
        # A showwarning set meanwhile by someone else is theirs to restore.
        if warnings.showwarning == self._showwarning:
            warnings.showwarning = self._show
        if self._filter in warnings.filters:
            warnings.filters.remove(self._filter)

    def _showwarning(self, message, category, filename, lineno, file=None, line=None):
        if _this_thread.records:
            _this_thread.records[-1].append(
                warnings.WarningMessage(message, category, filename, lineno, file, line)
            )
        else:
            self._show(message, category, filename, lineno, file, line)


_dispatch = _ThreadDispatch()


@contextmanager
def recording(into):
    """Record the warnings of this thread in the block, without showing them.

    Thread-safe where ``warnings.catch_warnings(record=True)`` is not. The
    warnings are those the filters let through: mne_xai's own all, other
    libraries' by default once per line of their code.

    Parameters
    ----------
    into : list
        Where the :class:`warnings.WarningMessage` are appended.
    """
    with _dispatch():
        _this_thread.records.append(into)
        try:
            yield into
        finally:
            _this_thread.records.pop()


@contextmanager
def ignoring(*messages):
    """Ignore the warnings of this thread in the block whose text starts so.

    Thread-safe where ``warnings.catch_warnings()`` with a filter is not;
    other threads' warnings are left to their filters.

    Parameters
    ----------
    *messages : str
        Regular expressions, each matching the start of a text (case
        ignored), as for :func:`warnings.filterwarnings`.
    """
    patterns = [re.compile(message, re.IGNORECASE) for message in messages]
    with _dispatch():
        outer = len(_this_thread.ignored)
        _this_thread.ignored.extend(patterns)
        try:
            yield
        finally:
            del _this_thread.ignored[outer:]


@contextmanager
def warnings_once():
    """Pass on each distinct warning of the block once, when it ends (or fails).

    A check run on every batch, or by a classifier and again by the network
    it wraps, would otherwise say the same thing several times: a sanity check
    checks its arguments as explain does, then explains each variant's maps
    anew, batch by batch, each explanation checking the data and the method
    again. Warnings are distinct by category and text (whitespace aside); the
    caller's filters still decide what is shown. mne_xai's own warnings are
    all recorded; other libraries' are those their filters let through (by
    default once per line of their code). Blocks on several threads record
    each their own thread's warnings.

    Yields
    ------
    passed_on : list of warnings.WarningMessage
        Filled when the block ends: the distinct warnings, in order.
    """
    passed_on, caught = [], []
    try:
        with recording(caught):
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
