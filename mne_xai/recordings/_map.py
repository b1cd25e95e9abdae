"""One task per recording, serially or with joblib: :func:`~mne_xai.recordings.map_recordings`."""

import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import NamedTuple

import joblib
import mne
import numpy as np
from joblib.parallel import (
    LokyBackend,
    MultiprocessingBackend,
    ThreadingBackend,
    get_active_backend,
)
from mne.utils import _validate_type, logger, use_log_level, verbose

from .._checks import check_n_jobs, check_seed
from .._docs import fill_doc
from .._progress import bars_drawn, progress_bar
from .._warnings import warn_again
from ._results import RecordingResults
from ._sources import _check_metadata_ids, _check_recordings, _named
from ._workers import (
    _one_task_per_process,
    _run_recording,
    _say_warnings_stay_with_dask_workers,
    _sendable,
    _ship,
    _task_log_level,
    _thread_share,
    _threads_of_this_process,
    _warnings_of_task_threads,
)


def _parallel_setup(n_jobs, n_recordings):
    """Return joblib's backend and its number of workers; (None, 1) to run serially."""
    n_jobs = check_n_jobs(n_jobs)
    backend, context_n_jobs = get_active_backend()
    if n_jobs is None and context_n_jobs is None:
        return None, 1  # MNE's meaning: None is 1 outside a joblib context
    if os.getenv("MNE_FORCE_SERIAL", "").lower() in ("true", "1"):
        return None, 1
    n_workers = joblib.effective_n_jobs(n_jobs)
    this_machine = LokyBackend | MultiprocessingBackend | ThreadingBackend
    if isinstance(backend, this_machine):
        # Their workers start at once, each process importing torch (seconds,
        # hundreds of MB): none for no recording.
        n_workers = min(n_workers, n_recordings)
    if n_workers == 1:
        # joblib runs one job in this process, whatever its backend (one Dask
        # worker, or n_jobs=1 under Dask): run it as the serial run does.
        return None, 1
    return backend, n_workers


class _Call(NamedTuple):
    """A function applied to each recording: what its tasks share."""

    function: Callable
    sources: list
    labels: list
    id_column: str | None
    params: dict

    @property
    def name(self):
        """The function's name, for log lines."""
        return getattr(self.function, "__name__", type(self.function).__name__)

    def task_args(self, position, estimator, thread_share, level, record_warnings):
        """Return the arguments of :func:`_run_recording` for one recording."""
        return (
            self.function,
            estimator,
            self.sources[position],
            position,
            self.labels[position],
            self.id_column,
            self.params,
            thread_share,
            level,
            record_warnings,
        )


def _reported(outcomes, n_recordings):
    """Return the outcomes of the tasks, reporting each recording when it is done.

    A progress bar where it is redrawn in place, made now: a bar made under
    the tasks' log level (threads of this process) is hidden. Elsewhere (a
    log file, CI), where bars are off, a log line per recording: a serial run
    said nothing between its first line and its end.
    """
    if bars_drawn():
        return progress_bar(
            outcomes, max_value=n_recordings, mesg="Recordings", unit="recordings"
        )
    return _logged(outcomes, n_recordings)


def _logged(outcomes, n_recordings):
    """Yield the outcomes, with a log line per recording done."""
    start = time.monotonic()
    for n_done, outcome in enumerate(outcomes, 1):
        _, recording_id, *_ = outcome
        logger.info(
            f"Recording {recording_id!r} done ({n_done} of {n_recordings}, "
            f"{time.monotonic() - start:.1f} s elapsed)."
        )
        yield outcome


def _serial(call, estimator, done):
    """Run the tasks one after the other in this process."""
    level = _task_log_level()
    n_recordings = len(call.sources)
    logger.info(f"Running {call.name} on {n_recordings} recordings, one at a time.")
    shipped = _ship(estimator, "copied")
    outcomes = (
        _run_recording(*call.task_args(position, shipped, None, level, "alone"))
        for position in range(n_recordings)
    )
    for position, *outcome in _reported(outcomes, n_recordings):
        done[position] = outcome


def _raise_recorded_warnings(done, failed):
    """Raise the warnings the recordings raised, in their order, with their id.

    Those of the recordings ``done``, and of the one ``failed`` (its position,
    id and warnings; None if none did).
    """
    raised_by = {position: (rid, raised) for position, (rid, _, raised) in done.items()}
    if failed is not None:
        position, recording_id, raised = failed
        raised_by[position] = recording_id, raised
    for position in sorted(raised_by):
        recording_id, raised = raised_by[position]
        for category, message in raised:
            # The id last, so that filters on the message's start still match.
            warn_again(f"{message} (recording {recording_id!r})", category)


@verbose
@fill_doc
def map_recordings(
    function: Callable,
    estimator,
    recordings: Sequence,
    *,
    ids: Sequence | None = None,
    id_column: str | None = None,
    n_jobs: int | None = None,
    verbose=None,
    **params,
) -> RecordingResults:
    """Call a function of an estimator and Epochs on each of many recordings.

    ``function(estimator, epochs, **params)`` runs once per recording, in
    parallel with ``n_jobs``: the calling convention of :func:`mne_xai.explain`
    and of the measures of :mod:`mne_xai.evaluate`, which
    :func:`~mne_xai.recordings.explain_recordings` and :func:`~mne_xai.recordings.evaluate_recordings` use.

    Parameters
    ----------
    function : callable
        Called as ``function(estimator, epochs, **params)`` for each
        recording, with Epochs of its own, which it may change. With
        ``n_jobs`` other than 1 it must be picklable: a function defined at
        the top level of a module.
    estimator : object
        Usually a fitted classifier; an unfitted one if ``function`` trains a
        model per recording. Each call gets a copy of its own, so what one
        recording's call does to it (training) stays out of the others and
        out of the object given: it is pickled once, and each call gets it
        unpickled, whatever the backend (serial too). An estimator that cannot
        be copied so (one holding a lock or an open file) is refused with a
        TypeError.
    %(recordings)s
    %(recording_ids)s
    %(n_jobs_recordings)s
    %(verbose)s
    **params
        Keyword arguments of ``function``.

    Returns
    -------
    %(recording_results)s

    Notes
    -----
    %(recordings_notes)s
    """
    _validate_type(function, "callable", "function")
    sources, labels = _check_recordings(recordings, ids, id_column)
    if id_column is not None:
        _check_metadata_ids(sources, labels, id_column)
    if isinstance(
        params.get("random_state"), np.random.Generator | np.random.RandomState
    ):
        # Copied to each worker, a generator drew the same seed for every
        # recording there, and other seeds in series: one seed for all.
        params["random_state"] = check_seed(params["random_state"])
    call = _Call(function, sources, labels, id_column, params)
    backend, n_workers = _parallel_setup(n_jobs, len(sources))
    done = {}  # position -> (recording id, result, warnings raised)
    failed = None  # (position, recording id, warnings raised) of one that failed
    try:
        if backend is None:
            _serial(call, estimator, done)
        else:
            _parallel(call, estimator, backend, n_workers, done)
    except Exception as err:
        failed = getattr(err, "_mne_xai_failed", None)
        raise
    finally:
        # Also when a recording failed: those done, and it, had their say.
        _raise_recorded_warnings(done, failed)
    n_recordings = len(sources)
    if len(done) != n_recordings:  # joblib raised; this only guards against a bug
        raise RuntimeError(
            f"Only {len(done)} of {n_recordings} recordings were processed; no "
            "results are returned."
        )
    ordered = [done[position] for position in range(n_recordings)]
    return RecordingResults(
        [(rid, result) for rid, result, _ in ordered],
        id_name=id_column or "recording",
    )


def _check_sendable(call):
    """Refuse what worker processes cannot receive: what does not pickle.

    A task that joblib cannot pickle was reported as a worker that died
    (loky), naming every recording as not done; Dask waited for ever.
    Epochs read from a file with ``preload=False`` hold their open file,
    which cannot be pickled. Epochs cut from a Raw without preload
    (``mne.Epochs``'s default) pickle with their Raw, or its file name, and
    are sent. Loaded Epochs pickle.
    """
    unsendable = [
        f"{name}={value!r} ({type(value).__name__})"
        for name, value in {"function": call.function, **call.params}.items()
        if not _sendable(value)
    ]
    if unsendable:
        raise TypeError(
            "The worker processes cannot receive what does not pickle: "
            f"{_named(unsendable)}. Pass what pickles (a function defined at "
            "the top level of a module; numbers, arrays, MNE objects), or use "
            "n_jobs=1."
        )
    lazy = [
        f"recordings[{position}]"
        for position, source in enumerate(call.sources)
        if isinstance(source, mne.BaseEpochs)
        and not source.preload
        and not _sendable(source)
    ]
    if lazy:
        raise ValueError(
            f"{_named(lazy)} are Epochs read from a file without preload, which "
            "worker processes cannot receive (their open file does not pickle); "
            "give their file paths (each worker then reads its recording), load "
            "them (epochs.load_data()), or use n_jobs=1."
        )


def _parallel(call, estimator, backend, n_workers, done):
    """Run the tasks with joblib into ``done``, or raise naming the missing."""
    n_recordings = len(call.sources)
    in_process = _threads_of_this_process(backend)
    if not in_process:  # before pickling the estimator for nothing
        _check_sendable(call)
    thread_share = _thread_share(backend, n_workers, n_recordings)
    threads = "" if thread_share is None else " (torch threads set per worker)"
    logger.info(
        f"Running {call.name} on {n_recordings} recordings with {n_workers} "
        f"workers of joblib's {type(backend).__name__}{threads}."
    )
    shipped = _ship(estimator, "pickled for the workers")
    # Each task carries the pickle (a _Shipped is not weak-referenceable, so
    # joblib's Dask backend does not scatter it): the scheduler keeps it with
    # the task, so Dask can retry a dead worker's recordings. Scattered data
    # can be lost with a worker, and Dask's memory manager drops extra
    # replicas, so a broadcast scatter did not survive a worker's death.
    level = _task_log_level()
    if in_process:
        record_warnings = "thread"
    elif _one_task_per_process(backend):
        record_warnings = "alone"
    else:
        record_warnings = None
        _say_warnings_stay_with_dask_workers(backend)
    # Results as they finish where the backend can yield them (loky, threads,
    # Dask), all at the end otherwise (multiprocessing): each says its
    # position. Where they come at the end, or log lines are silenced by the
    # tasks' level (threads of this process) and no bar is drawn, joblib's
    # messages say how far the call is.
    streamed = backend.supports_return_generator
    joblib_reports = not streamed or (in_process and not bars_drawn())
    parallel = joblib.Parallel(
        n_jobs=n_workers,
        return_as="generator_unordered" if streamed else "list",
        verbose=5 if joblib_reports and logger.level <= logging.INFO else 0,
    )
    task = joblib.delayed(_run_recording)
    task_level = None if in_process else level
    tasks = (
        task(
            *call.task_args(
                position, shipped, thread_share, task_level, record_warnings
            )
        )
        for position in range(n_recordings)
    )
    try:
        # Before the first tasks start, which joblib does as it is called.
        with _warnings_of_task_threads() if in_process else nullcontext():
            outcomes = parallel(tasks)
            if not joblib_reports:
                outcomes = _reported(outcomes, n_recordings)
            with use_log_level(level) if in_process else nullcontext():
                for position, *outcome in outcomes:
                    done[position] = outcome
    except Exception as err:
        if hasattr(err, "_mne_xai_failed"):
            raise  # a recording's own error, which names it
        not_done = [call.labels[p] for p in range(n_recordings) if p not in done]
        raise RuntimeError(
            f"The parallel run stopped after {len(done)} of {n_recordings} "
            f"recordings ({type(err).__name__}: {err}). Not done: "
            f"{_named(not_done)}. No results are returned. A worker may have died "
            "(e.g. out of memory, or a crash in native code); run those "
            "recordings with n_jobs=1 to see what happens."
        ) from err
