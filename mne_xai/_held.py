"""Process-wide settings held while any caller, on any thread, needs them."""

import threading
from contextlib import contextmanager


class HeldWhileUsed:
    """A change to process-wide state, made by the first caller and undone by the last.

    torch's precision, Python's warnings machinery and environment variables
    are the process's. Calls that each saved, changed and restored them, when
    overlapping on threads, ended each other's change (the first to end
    restored the state under the others) and left the caller's changed (the
    last to end restored a state another had made). Here the first caller to
    enter makes the change, the others join it, and the last to leave undoes
    it. Subclasses define :meth:`_make` and :meth:`_undo`, and may refuse a
    first caller that does not need the change (:meth:`_wanted`).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0

    def _wanted(self):
        """Whether a first caller needs the change (asked with no other caller in)."""
        return True

    def _make(self):
        raise NotImplementedError

    def _undo(self):
        raise NotImplementedError

    @contextmanager
    def __call__(self):
        """Hold the change for the block (where wanted)."""
        with self._lock:
            joined = bool(self._users) or self._wanted()
            if joined and not self._users:
                self._make()
            self._users += joined
        try:
            yield
        finally:
            if joined:
                with self._lock:
                    self._users -= 1
                    if not self._users:
                        self._undo()
