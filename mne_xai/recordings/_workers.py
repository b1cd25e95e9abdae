"""What runs in a worker: the task, the estimator it receives, its torch threads."""

import logging
import os
import pickle
import sys
import threading
import traceback
import warnings
from contextlib import contextmanager, nullcontext
from typing import NamedTuple

import joblib
import torch
from joblib.parallel import LokyBackend, MultiprocessingBackend, ThreadingBackend
from mne.utils import logger, use_log_level

from .._warnings import warn
from ._sources import _metadata_id, _read_recording

try:  # a dependency of joblib since 1.6; bundled with it before
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle


# The estimator: a copy per task


class _Shipped:
    """A pickled object, sent to the workers and unpickled by each task.

    Backends pickle a task's arguments with each task: the pickle of the
    estimator is then copied per task (a few hundred kB for the networks of
    mne_xai). Without ``__weakref__`` (``__slots__``), joblib's Dask backend
    sends it with each task rather than scattering it to one worker, whose
    death would lose it.
    """

    __slots__ = ("data", "pid")

    def __init__(self, value):
        self.data = cloudpickle.dumps(value)
        self.pid = os.getpid()  # of the caller

    def __getstate__(self):
        return self.data, self.pid

    def __setstate__(self, state):
        self.data, self.pid = state

    def in_a_worker_process(self):
        """Whether this task runs in another process than the caller."""
        return os.getpid() != self.pid

    def load(self):
        """Return the task's own copy of the object."""
        return cloudpickle.loads(self.data)


def _ship(estimator, how):
    """Return ``estimator`` pickled once for the tasks, each of which unpickles a copy.

    A function given to map_recordings may change its estimator (train it on
    the recording): on one shared object, every recording's result was the
    model of the last one, and the caller's object was trained. So serial
    runs ship it too, and one that does not pickle is refused, not shared.
    """
    try:
        return _Shipped(estimator)
    except Exception as err:
        raise TypeError(
            f"The estimator ({type(estimator).__name__}) could not be {how} "
            f"({type(err).__name__}: {err}), and each recording's call needs a "
            "copy of its own, so that what one call does to it (training) stays "
            "out of the others and out of the object given. Leave out of it what "
            "holds a lock, an open file or a connection, or give its class a "
            "__getstate__ that drops them, so that it pickles."
        ) from err


# Torch threads, so that workers do not oversubscribe their machine's cores


class _ThreadShare(NamedTuple):
    """What a task needs to set its torch threads, decided by the caller.

    ``concurrency`` is how many tasks run at once on a worker's machine: an
    int for workers on this machine; for Dask, a dict from worker address to
    the number of threads of all workers on that worker's host. ``most`` is
    the caller's number of torch threads, which no task exceeds, so that a
    limit the user set (``OMP_NUM_THREADS``, ``torch.set_num_threads``) holds
    in the tasks too.
    """

    concurrency: int | dict
    most: int


def _thread_share(backend, n_workers, n_tasks):
    """How a task of ``backend`` sets its torch threads (its share of the cores).

    Returns None (leave torch's threads alone) for threads of one process,
    where torch's setting is shared.
    """
    if isinstance(backend, LokyBackend | MultiprocessingBackend):
        return _ThreadShare(max(1, min(n_workers, n_tasks)), torch.get_num_threads())
    client = _dask_client(backend)
    if client is None:
        return None
    from distributed.comm import get_address_host

    threads = client.nthreads()  # worker address -> threads
    hosts = {address: get_address_host(address) for address in threads}
    per_host = {}
    for address, n_threads in threads.items():
        per_host[hosts[address]] = per_host.get(hosts[address], 0) + n_threads
    return _ThreadShare(
        {address: per_host[host] for address, host in hosts.items()},
        torch.get_num_threads(),
    )


def _one_task_per_process(backend):
    """Whether each worker process runs one task at a time (so it records warnings).

    loky and multiprocessing workers do; threads of this process do not (see
    :func:`_warnings_of_task_threads`); Dask workers do when each has one
    thread and a process of its own (otherwise their warnings stay in the
    workers' logs). Workers of a ``LocalCluster(processes=False)`` are threads
    of this process: recording there as a worker process does swapped one
    process-wide ``showwarning`` from two threads at once, which gave one
    recording's warnings to another, lost them, and left the caller's warnings
    silenced.
    """
    if isinstance(backend, LokyBackend | MultiprocessingBackend):
        return True
    client = _dask_client(backend)
    if client is None or set(client.nthreads().values()) != {1}:
        return False
    worker_pids = list(client.run(os.getpid).values())
    return os.getpid() not in worker_pids and len(set(worker_pids)) == len(worker_pids)


def _say_warnings_stay_with_dask_workers(backend):
    """Warn that Dask workers keep the tasks' warnings, where they cannot be recorded.

    They went to the workers' output and logs (a notebook's caller never sees
    them), without their recording, and nothing said they were kept from the
    caller.
    """
    client = _dask_client(backend)
    if client is None:
        return
    threads = max(client.nthreads().values())
    why = (
        f"each runs up to {threads} threads, which share their process's warnings"
        if threads > 1
        else "they share processes, whose warnings they share"
    )
    warn(
        "The warnings of the recordings stay with the Dask workers (their "
        f"output and logs), without their recording's id: {why}. Start workers "
        "of one thread and process each (LocalCluster(threads_per_worker=1), "
        "dask worker --nthreads 1) to receive them here, each named by its "
        "recording."
    )


def _threads_of_this_process(backend):
    """Whether the tasks run as threads of this process.

    They do with joblib's threading backend, and as the workers of a Dask
    ``LocalCluster(processes=False)``. MNE's log level is one for the process: tasks that each set it and put it
    back, overlapping, left the caller at WARNING (A saves INFO, B saves
    WARNING, A restores INFO, B restores WARNING).
    """
    if isinstance(backend, ThreadingBackend):
        return True
    client = _dask_client(backend)
    return client is not None and os.getpid() in client.run(os.getpid).values()


def _torch_threads_for(share):
    """Torch threads for a task: its machine's cores shared by its tasks.

    Never more than the caller's threads: the share of one task alone on two
    cores was 2 threads where the user had limited them to 1.
    """
    if share is None:
        return None
    concurrency = share.concurrency
    if isinstance(concurrency, dict):
        from distributed import get_worker

        worker = get_worker()
        concurrency = concurrency.get(worker.address, worker.state.nthreads)
    return max(1, min(share.most, joblib.cpu_count() // concurrency))


@contextmanager
def _torch_threads(share):
    """Set torch's intra-op threads for one task, and restore them after."""
    threads = _torch_threads_for(share)
    if threads is None:
        yield None
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(previous)


# The task


#: The warnings of the task that a thread of the caller runs, for
#: :func:`_warnings_of_task_threads`.
_task_thread = threading.local()


def _keeper(caught, show):
    """Return a ``showwarning`` that appends to ``caught``, or ``show``s if None.

    ``caught`` is a list, or a callable returning the list of the running task
    (None outside a task). Deprecation warnings are meant for developers and
    are shown where they were raised, as before.
    """

    def keep(message, category, *args, **kwargs):
        kept = caught() if callable(caught) else caught
        if kept is None or issubclass(
            category, DeprecationWarning | PendingDeprecationWarning
        ):
            show(message, category, *args, **kwargs)
        else:
            kept.append((category, str(message)))

    return keep


@contextmanager
def _warnings_of_task_threads():
    """Record the warnings of the tasks that run as threads of this process.

    Entered by the caller around the whole run: the tasks share the process's
    ``showwarning``, which one task swapping it for its own duration, while
    others did too, gave one recording's warnings to another, lost them and
    left the caller's silenced. Each task thread says where its warnings go
    (see :func:`_recorded_warnings`); other threads' warnings are shown as
    before.
    """
    with warnings.catch_warnings():
        warnings.showwarning = _keeper(
            lambda: getattr(_task_thread, "caught", None), warnings.showwarning
        )
        yield


@contextmanager
def _recorded_warnings(record):
    """Record a task's warnings, to be raised again by the calling process.

    A worker process's warnings would otherwise go to its own stderr (or a
    Dask worker's log), out of the caller's reach, and a thread's would
    arrive without their recording. The process's filters still decide what
    is shown (an "error" filter still raises in the task). Alone in its
    process (``record="alone"``: this process serially, or a worker process
    of one thread), the task replaces the process's ``showwarning`` for its
    duration, and entering ``catch_warnings`` resets the once-per-location
    memory, so each recording reports its own warnings. As a thread of the
    caller (``record="thread"``), it registers where its warnings go with
    :func:`_warnings_of_task_threads`, which the caller entered; the
    once-per-location memory is then shared by the threads.
    """
    caught = []
    if record is None:
        yield caught
    elif record == "thread":
        _task_thread.caught = caught
        try:
            yield caught
        finally:
            del _task_thread.caught
    else:
        with warnings.catch_warnings():
            warnings.showwarning = _keeper(caught, warnings.showwarning)
            yield caught


def _run_recording(
    function,
    estimator,
    source,
    position,
    label,
    id_column,
    params,
    thread_share,
    level,
    record_warnings,
):
    """Process one recording: read it, call ``function``, return its result.

    ``estimator`` is a :class:`_Shipped` pickle that the task unpickles into
    a copy of its own. Returns the position, the recording's id, the result
    and the distinct warnings the call raised, as ``(category, message)`` in
    order. An error raised carries the position,
    the id and the warnings as ``_mne_xai_failed``.
    """
    in_a_worker_process = estimator.in_a_worker_process()
    with (
        # None: the caller set it for all the tasks, threads of its process.
        nullcontext() if level is None else use_log_level(level),
        _torch_threads(thread_share),
        _recorded_warnings(record_warnings) as caught,
    ):
        recording_id, unsendable = label, None
        try:
            epochs = _read_recording(source, label, copy=not in_a_worker_process)
            if id_column is not None:
                recording_id = _metadata_id(epochs, id_column, label)
            result = function(estimator.load(), epochs, **params)
            if in_a_worker_process and not _sendable(result):
                # Refused here, where the recording is known: failing on its
                # way back, it was reported as a worker that died.
                raise TypeError(
                    f"The result of recording {recording_id!r} "
                    f"({type(result).__name__}) cannot be sent from the worker "
                    "process: it does not pickle. Return what pickles (numbers, "
                    "arrays, tables, MNE objects), or use n_jobs=1."
                )
        except Exception as err:
            # The error is the function's own (a user may catch its type);
            # the note says which recording raised it, in any worker. The
            # warnings it raised first travel with it: they may say why.
            _name_the_recording(err, recording_id)
            failed = position, recording_id, list(dict.fromkeys(caught))
            try:
                err._mne_xai_failed = failed
            except AttributeError:  # pragma: no cover (an exception with slots)
                pass
            if not in_a_worker_process or _pickles(err):
                raise
            unsendable = _error_that_pickles(err, failed)
        if unsendable is not None:
            # Raised outside the handler, so that it carries no context: Dask
            # pickles the context of an error too.
            raise unsendable
    return position, recording_id, result, list(dict.fromkeys(caught))


#: Whether Python shows an error's notes (3.11 and later) under its message.
_NOTES_SHOWN = hasattr(BaseException, "add_note")


def _name_the_recording(err, recording_id):
    """Add a note to ``err`` saying which recording raised it.

    Python 3.10 has no notes: its traceback shows the message only, so the
    note also ends the message there (a message in the first argument, as
    most errors keep it), and ``__notes__`` holds it as on 3.11.
    """
    note = f"Raised by recording {recording_id!r}."
    if _NOTES_SHOWN:
        err.add_note(note)
        return
    try:
        err.__notes__ = [*getattr(err, "__notes__", ()), note]
    except AttributeError:  # pragma: no cover (an exception with slots)
        pass
    if err.args and isinstance(err.args[0], str):
        err.args = (f"{err.args[0]}\n{note}", *err.args[1:])


class _Discard:
    """A file that keeps nothing: pickling into it tests, without the memory."""

    def write(self, data):
        """Drop ``data`` (bytes, or a buffer of an array's memory)."""


def _sendable(value):
    """Whether ``value`` pickles, as it must to go to or come from a worker process."""
    try:
        cloudpickle.dump(value, _Discard(), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True


def _pickles(err):
    """Whether ``err`` survives the pickling that takes it to the caller."""
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return False
    return True


def _error_that_pickles(err, failed):
    """Return a RuntimeError telling all that ``err`` says, for a worker to raise.

    A worker's error reaches the caller pickled. One whose class cannot be
    rebuilt from its arguments (an ``__init__`` taking others) broke the
    loky pool, whose message blamed a worker that died, without the
    recording or the error; Dask waited for ever. ``failed`` is the
    recording's position, id and warnings, as the error would have carried.
    """
    _, recording_id, _ = failed
    trace = "".join(traceback.format_exception(err))
    error = RuntimeError(
        f"Recording {recording_id!r} raised {type(err).__name__}: {err} (its "
        "error cannot be sent from the worker process as it is). The worker's "
        f"traceback:\n{trace}"
    )
    error._mne_xai_failed = failed
    return error


def _task_log_level():
    """Return the log level of the tasks: warnings only, unless debugging.

    A task's own progress bars and log lines would interleave, one set per
    recording (and per worker); the bar or joblib's messages over recordings
    say how far the call is.
    """
    level = logger.level
    return level if level <= logging.DEBUG else max(level, logging.WARNING)


def _dask_client(backend):
    """Return the client of joblib's Dask backend; None for other backends."""
    dask_module = sys.modules.get("joblib._dask")  # imported by the Dask backend
    if dask_module is None or not isinstance(
        backend, dask_module.DaskDistributedBackend
    ):
        return None
    return backend.client
