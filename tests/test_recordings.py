"""Explanation and evaluation over many recordings: serial, loky and Dask.

Workers are started once: loky's executor is reused by every call with
``n_jobs=2``, and the Dask cluster is a module fixture. The test that kills a
loky worker runs after the other loky tests, and the one that kills a Dask
worker last.
"""

import gc
import logging
import os
import threading
import time
import tracemalloc
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import joblib
import mne
import numpy as np
import pandas as pd
import pytest
import torch
from mne.utils import catch_logging, logger
from own_process import in_own_process
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from mne_xai import EEGNetClassifier
from mne_xai._warnings import warn as mne_xai_warn
from mne_xai.evaluate import CurveResult, deletion_curve
from mne_xai.inspect import group_predictions
from mne_xai.recordings import (
    RecordingResults,
    _workers,
    evaluate_recordings,
    explain_recordings,
    map_recordings,
)
from mne_xai.recordings._sources import _file_id
from mne_xai.recordings._workers import (
    _Shipped,
    _thread_share,
    _ThreadShare,
    _torch_threads,
    _torch_threads_for,
)
from mne_xai.simulation import simulate_epochs

N_RECORDINGS, N_EPOCHS = 4, 8
SUBJECTS = [f"S{index}" for index in range(N_RECORDINGS)]


def _simulate(seed, n_epochs=N_EPOCHS):
    epochs, _ = simulate_epochs(
        "temporal", n_epochs=n_epochs, snr=2.0, random_state=seed, verbose=False
    )
    epochs.metadata["subject"] = SUBJECTS[seed % N_RECORDINGS]
    return epochs


@pytest.fixture(scope="module")
def recording_files(tmp_path_factory):
    """Simulated recordings, one subject per file, as MNE names epochs files."""
    folder = tmp_path_factory.mktemp("recordings")
    paths = []
    for seed in range(N_RECORDINGS):
        path = folder / f"sub-{seed:02d}_epo.fif"
        _simulate(seed).save(path, verbose=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def fitted():
    """A network trained briefly on simulated epochs of the recordings' kind."""
    return EEGNetClassifier(
        max_epochs=2, batch_size=16, random_state=0, verbose=False
    ).fit(_simulate(10, n_epochs=32))


@pytest.fixture(scope="module")
def serial_maps(fitted, recording_files):
    return explain_recordings(
        fitted, recording_files, "deeplift", random_state=0, verbose=False
    )


@pytest.fixture(scope="module")
def serial_curves(fitted, recording_files):
    return evaluate_recordings(
        fitted,
        recording_files,
        "deletion_curve",
        method="saliency",
        n_steps=4,
        random_state=0,
        verbose=False,
    )


def _assert_same_maps(results, expected):
    assert list(results) == list(expected)
    for recording_id, evoked in expected.items():
        np.testing.assert_array_equal(results[recording_id].data, evoked.data)
        assert results[recording_id].nave == evoked.nave


# Functions run in the workers: module-level, so that workers can import them.


def _import_package():
    import mne_xai.recordings  # noqa: F401


def _process_and_estimator(estimator, epochs):
    return os.getpid(), id(estimator)


def _torch_thread_count(estimator, epochs):
    return torch.get_num_threads()


def _n_epochs(estimator, epochs):
    return len(epochs)


def _warn_for_subject(estimator, epochs, subject):
    """Warn twice about ``subject``'s recording, as explain warns about data."""
    if epochs.metadata["subject"].iloc[0] == subject:
        for _ in range(2):
            warnings.warn(f"odd data of {subject}", RuntimeWarning, stacklevel=2)
    return len(epochs)


def _warnings_by_recording(recording_files, **backend):
    """Run ``_warn_for_subject``; return the warnings that reached this process."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with joblib.parallel_backend(**backend) if backend else nullcontext():
            map_recordings(
                _warn_for_subject, None, recording_files, subject="S1", n_jobs=2
            )
    return [str(w.message) for w in caught if "odd data" in str(w.message)]


def _warn_as_mne_xai_does(estimator, epochs):
    """Warn through mne_xai's helper, as fit does of a class it never predicts."""
    mne_xai_warn(f"the network predicts no epoch of class 2 of {len(epochs)}")
    return len(epochs)


def _warn_then_fail(estimator, epochs):
    """Warn about S1's recording, fail on S2's."""
    if epochs.metadata["subject"].iloc[0] == "S2":
        raise ValueError("S2 fails")
    return _warn_for_subject(estimator, epochs, "S1")


class _TwoPartError(Exception):
    """An error whose class cannot be rebuilt from its message, as pickle does."""

    def __init__(self, what, why):
        super().__init__(f"{what}: {why}")


def _fail_unpicklably_on_s2(estimator, epochs):
    if epochs.metadata["subject"].iloc[0] == "S2":
        raise _TwoPartError("S2", "a bad channel")
    return len(epochs)


def _warn_each_fail_on_s2(estimator, epochs, pickles):
    """Warn about every recording, then fail on S2's (with an error that pickles
    or one that does not)."""
    subject = epochs.metadata["subject"].iloc[0]
    warnings.warn(
        f"data of {subject} look like microvolts", RuntimeWarning, stacklevel=2
    )
    if subject == "S2":
        raise ValueError("S2 fails") if pickles else _TwoPartError("S2", "fails")
    return len(epochs)


def _drop_first_then_count(estimator, epochs):
    epochs.drop([0], verbose=False)  # e.g. a warm-up trial
    return len(epochs)


def _exit_for_subject(estimator, epochs, subject):
    """Kill the worker when processing ``subject``'s recording."""
    if epochs.metadata["subject"].iloc[0] == subject:
        os._exit(1)
    return len(epochs)


def _exit_once_for_subject(estimator, epochs, subject, marker):
    """Kill the worker the first time ``subject``'s recording is processed."""
    if epochs.metadata["subject"].iloc[0] == subject and not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)
    return len(epochs)


# Serial: ids, tables, errors


def test_ids_from_file_names_metadata_positions_and_given(fitted, recording_files):
    """Ids come from the file name, a metadata column, the position or ids=."""
    stems = [f"sub-{seed:02d}" for seed in range(N_RECORDINGS)]
    by_file = map_recordings(_n_epochs, fitted, recording_files)
    assert by_file.ids == stems and list(by_file.values()) == [N_EPOCHS] * 4
    by_column = map_recordings(_n_epochs, fitted, recording_files, id_column="subject")
    assert by_column.ids == SUBJECTS and by_column.id_name == "subject"
    epochs = [_simulate(seed) for seed in range(2)]
    assert map_recordings(_n_epochs, fitted, epochs).ids == [0, 1]
    given = map_recordings(_n_epochs, fitted, epochs, ids=["a", "b"])
    assert given == {"a": N_EPOCHS, "b": N_EPOCHS}
    table = given.to_frame()
    assert list(table.columns) == ["recording", "value"]
    assert table["recording"].tolist() == ["a", "b"]


def test_ids_keep_the_order_of_the_recordings(recording_files):
    """Results are in input order, not sorted by id: ids and table alike."""
    results = map_recordings(_n_epochs, None, recording_files[:2], ids=["b", "a"])
    assert results.ids == ["b", "a"]
    assert results.to_frame()["recording"].tolist() == ["b", "a"]


def test_a_file_named_only_by_its_suffix_keeps_it_as_its_id():
    """A file named "-epo.fif" is named "-epo", not by an empty id."""
    assert _file_id("/data/-epo.fif") == "-epo"
    assert _file_id("/data/sub-01_epo.fif.gz") == "sub-01"


def test_paths_from_the_home_folder(monkeypatch, fitted, recording_files):
    """ "~/sub-00_epo.fif", which mne.read_epochs reads, was no such file."""
    monkeypatch.setenv("HOME", str(recording_files[0].parent))
    at_home = [f"~/{path.name}" for path in recording_files[:2]]
    assert map_recordings(_n_epochs, fitted, at_home).ids == ["sub-00", "sub-01"]


def test_ids_given_as_an_array_are_python_values(fitted):
    """NumPy's scalars named the recordings as np.str_('a') in the results'
    keys and in every warning and error note."""
    epochs = [_simulate(seed) for seed in range(2)]
    given = map_recordings(_n_epochs, fitted, epochs, ids=np.array(["a", "b"]))
    assert [type(recording_id) for recording_id in given.ids] == [str, str]
    with pytest.raises(RuntimeError) as info:
        map_recordings(_fail, fitted, epochs, ids=np.array([10, 20]))
    assert info.value.__notes__ == ["Raised by recording 10."]
    for session, recording in zip((7, 8), epochs, strict=True):
        recording.metadata["session"] = session  # int64 in the metadata
    by_column = map_recordings(_n_epochs, fitted, epochs, id_column="session")
    assert [type(recording_id) for recording_id in by_column.ids] == [int, int]


@pytest.mark.parametrize("backend", ["sequential", "threading"])
def test_a_recording_error_names_the_recording_without_notes(
    fitted, monkeypatch, backend
):
    """Python 3.10, which the package supports, has no BaseException.add_note:
    the error said nothing of its recording."""
    monkeypatch.setattr(_workers, "_NOTES_SHOWN", False)
    epochs = [_simulate(seed) for seed in range(2)]
    with (
        joblib.parallel_backend(backend, n_jobs=2),
        pytest.raises(RuntimeError) as info,
    ):
        map_recordings(_fail, fitted, epochs, ids=["a", "b"], n_jobs=2)
    # On threads, either recording may fail first.
    (note,) = info.value.__notes__
    assert note in ("Raised by recording 'a'.", "Raised by recording 'b'.")
    assert str(info.value) == f"the function ran\n{note}"


def test_the_note_without_notes_keeps_the_other_arguments_and_notes(monkeypatch):
    """On Python 3.10 the note ends the message; the error's other arguments
    and the notes it had stay."""
    monkeypatch.setattr(_workers, "_NOTES_SHOWN", False)
    error = ValueError("bad value", 3)
    error.__notes__ = ["an earlier note"]
    _workers._name_the_recording(error, "a")
    assert error.args == ("bad value\nRaised by recording 'a'.", 3)
    assert error.__notes__ == ["an earlier note", "Raised by recording 'a'."]


def test_explain_recordings_gives_evokeds_and_a_table(serial_maps, fitted):
    assert isinstance(serial_maps, RecordingResults)
    assert serial_maps.ids == [f"sub-{seed:02d}" for seed in range(N_RECORDINGS)]
    for evoked in serial_maps.values():
        assert isinstance(evoked, mne.EvokedArray)
        assert evoked.nave == N_EPOCHS
    table = serial_maps.to_frame()
    n_times = len(serial_maps["sub-00"].times)
    assert table.shape[0] == N_RECORDINGS * n_times
    assert list(table.columns[:2]) == ["recording", "time"]
    # Attributions keep their true values: no scaling of EEG to µV.
    first = table[table["recording"] == "sub-00"]
    np.testing.assert_allclose(
        first[serial_maps["sub-00"].ch_names].to_numpy(), serial_maps["sub-00"].data.T
    )
    assert len(mne.grand_average(list(serial_maps.values())).times) == n_times


def test_evaluate_recordings_table_has_recording_ids(serial_curves, recording_files):
    assert all(isinstance(r, CurveResult) for r in serial_curves.values())
    table = serial_curves.to_frame()
    assert table.columns[0] == "recording"
    # Each recording's rows are its own result's table, in input order.
    for recording_id, result in serial_curves.items():
        rows = table[table["recording"] == recording_id].drop(columns="recording")
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), result.to_frame())
    assert table["recording"].unique().tolist() == serial_curves.ids


def test_evaluate_recordings_takes_the_measure_itself(fitted, recording_files):
    results = evaluate_recordings(
        fitted,
        recording_files[:1],
        deletion_curve,
        method="saliency",
        n_steps=4,
        random_state=0,
    )
    expected = deletion_curve(
        fitted,
        mne.read_epochs(recording_files[0], verbose=False),
        "saliency",
        n_steps=4,
        random_state=0,
        verbose=False,
    )
    np.testing.assert_array_equal(results["sub-00"].scores, expected.scores)


def _method_named(estimator, epochs, method):
    return method


def test_a_measure_of_the_users_names_its_methods_its_own_way(fitted, recording_files):
    """Only the measures of mne_xai pass method to an attribution method: a
    user's measure may take method names of its own."""
    results = evaluate_recordings(
        fitted, recording_files[:1], _method_named, method="my own"
    )
    assert results == {"sub-00": "my own"}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(measure="relevance_mass_accuracy"), ValueError, "deletion_curve"),
        (dict(measure="deletion_curve", method="nope"), ValueError, "nope"),
        (
            dict(measure="deletion_curve", method="saliency", attribution=np.ones(3)),
            ValueError,
            "each recording needs its own maps",
        ),
    ],
)
def test_evaluate_recordings_refuses_at_the_door(
    fitted, recording_files, kwargs, error, match
):
    with pytest.raises(error, match=match):
        evaluate_recordings(fitted, recording_files, **kwargs)


def test_parameters_the_method_does_not_take_are_refused_at_the_door(
    fitted, recording_files, monkeypatch
):
    """They failed once the workers ran, blamed on a recording."""
    monkeypatch.setattr(
        "mne_xai.recordings._calls.map_recordings",
        lambda *args, **kwargs: pytest.fail("the recordings were run"),
    )
    with pytest.raises(TypeError, match="average must be an instance of bool"):
        explain_recordings(fitted, recording_files, "saliency", average="yes")
    match = r"'integrated_gradients' got unknown parameter\(s\) \['(n_steps|stepz)'\]"
    with pytest.raises(TypeError, match=match):
        explain_recordings(
            fitted, recording_files, "integrated_gradients", n_steps=8, batch_size=4
        )
    with pytest.raises(TypeError, match=match):
        evaluate_recordings(
            fitted,
            recording_files,
            "deletion_curve",
            method="integrated_gradients",
            n_steps=3,  # the curve's own parameter
            stepz=8,
        )
    with pytest.raises(TypeError, match=match):
        evaluate_recordings(
            fitted,
            recording_files,
            "parameter_randomization_check",
            method="integrated_gradients",
            method_params=dict(stepz=8),
        )


def test_unfitted_estimator_fails_before_any_recording(recording_files):
    with pytest.raises(Exception, match="(?i)not initialized|fit"):
        explain_recordings(EEGNetClassifier(), recording_files)


@pytest.mark.filterwarnings("ignore:This filename .* does not conform")
def test_missing_and_unreadable_files_are_named(fitted, recording_files, tmp_path):
    missing = tmp_path / "sub-99_epo.fif"
    with pytest.raises(FileNotFoundError, match="sub-99_epo.fif"):
        explain_recordings(fitted, [*recording_files, missing])
    # Ten are named in full; of eleven, the last is counted.
    many = [tmp_path / f"sub-{index}_epo.fif" for index in range(11)]
    with pytest.raises(FileNotFoundError, match=r"sub-9_epo.fif \(no such file\)\. "):
        map_recordings(_n_epochs, fitted, many[:10])
    with pytest.raises(
        FileNotFoundError, match=r"sub-9_epo.fif \(no such file\) and 1 "
    ):
        map_recordings(_n_epochs, fitted, many)
    # A folder was said not to exist.
    with pytest.raises(FileNotFoundError, match=r"recordings\[1\]: .* \(a folder\)"):
        map_recordings(_n_epochs, fitted, [recording_files[0], tmp_path])
    with pytest.raises(TypeError, match=r"recordings\[1\]"):
        explain_recordings(fitted, [recording_files[0], 3])
    # A raw file is no Epochs: the error names the recording and its file.
    raw_path = tmp_path / "sub-98_raw.fif"
    epochs = _simulate(0)
    mne.io.RawArray(epochs.get_data()[0], epochs.info, verbose=False).save(
        raw_path, verbose=False
    )
    with pytest.raises(
        ValueError, match=r"Recording 'sub-98_raw' \(.*could not be read as mne.Epochs"
    ):
        explain_recordings(fitted, [recording_files[0], raw_path])
    with pytest.raises(ValueError, match="recordings is empty"):
        map_recordings(_n_epochs, fitted, [])


def test_ids_must_be_unique(fitted, recording_files, tmp_path):
    copy = tmp_path / recording_files[0].name
    copy.write_bytes(recording_files[0].read_bytes())
    with pytest.raises(ValueError, match="the file names give sub-00 more than once"):
        map_recordings(_n_epochs, fitted, [recording_files[0], copy])
    with pytest.raises(ValueError, match="the ids give a more than once.*ids="):
        map_recordings(_n_epochs, fitted, [recording_files[0], copy], ids=["a", "a"])
    # An id given three times is named once.
    three = [recording_files[0], copy, recording_files[1]]
    with pytest.raises(ValueError, match="the ids give a more than once"):
        map_recordings(_n_epochs, fitted, three, ids=["a"] * 3)
    with pytest.raises(ValueError, match="ids holds 1 ids for 2"):
        map_recordings(_n_epochs, fitted, [recording_files[0], copy], ids=["a"])
    # More ids than recordings, or ids beside id_column, were ignored in part.
    with pytest.raises(ValueError, match="ids holds 3 ids for 2"):
        map_recordings(_n_epochs, fitted, recording_files[:2], ids=["a", "b", "c"])
    with pytest.raises(ValueError, match="either as ids or as id_column, not both"):
        map_recordings(
            _n_epochs, fitted, recording_files[:2], ids=["a", "b"], id_column="subject"
        )
    mixed = _simulate(0)
    mixed.metadata["subject"] = ["S0", "S1"] * (N_EPOCHS // 2)
    with pytest.raises(ValueError, match="2 values.*same in every epoch"):
        map_recordings(_n_epochs, fitted, [mixed], id_column="subject")
    with pytest.raises(ValueError, match="no metadata column.*'session'"):
        map_recordings(_n_epochs, fitted, [mixed], id_column="session")


def _fail(estimator, epochs):
    raise RuntimeError("the function ran")


def test_ids_of_a_metadata_column_are_checked_before_any_work(recording_files):
    """A subject id in two recordings was found once all had been processed,
    and the call raised then, discarding every result."""
    twice = [recording_files[0], _simulate(0)]  # both of subject S0
    with pytest.raises(ValueError, match="'subject' give S0 more than once"):
        map_recordings(_fail, None, twice, id_column="subject")
    with pytest.raises(ValueError, match="no metadata column id_column='session'"):
        map_recordings(_fail, None, recording_files, id_column="session")


def test_a_recording_without_epochs_has_no_metadata_id(recording_files):
    """A recording whose epochs were all dropped holds no value of id_column:
    the refusal names it and says why, where it said it "holds 0 values"."""
    empty = _simulate(1).drop(range(N_EPOCHS), verbose=False)
    with pytest.raises(ValueError, match="Recording 1 has no epochs.*leave it out"):
        map_recordings(_fail, None, [recording_files[0], empty], id_column="subject")


def test_ids_that_cannot_key_the_results_are_named(recording_files):
    """A list per recording failed as Python's "unhashable type: 'list'"."""
    ids = [("sub-00", "ses-01"), ["sub-01", "ses-01"]]
    with pytest.raises(TypeError, match=r"ids\[1\] is a list .*'sub-01'.*hashable"):
        map_recordings(_n_epochs, None, recording_files[:2], ids=ids)
    ids[1] = tuple(ids[1])
    counts = map_recordings(_n_epochs, None, recording_files[:2], ids=ids)
    assert list(counts) == ids


def test_a_recording_error_names_the_recording(fitted, recording_files):
    """The function's own error keeps its type, with a note naming the recording."""
    with pytest.raises(ValueError, match="baseline") as info:
        explain_recordings(
            fitted, recording_files, "integrated_gradients", baseline="nope"
        )
    assert "Raised by recording 'sub-00'." in info.value.__notes__


def test_a_recording_error_names_the_recording_by_its_metadata_id(recording_files):
    """With id_column, the note names the recording by the id its results
    would have had, not by its file name."""
    with pytest.raises(RuntimeError, match="the function ran") as info:
        map_recordings(_fail, None, recording_files[1:2], id_column="subject")
    assert info.value.__notes__ == ["Raised by recording 'S1'."]


def _warn_twice_then_fail(estimator, epochs):
    _warn_for_subject(estimator, epochs, epochs.metadata["subject"].iloc[0])
    raise ValueError("fails after warning")


def test_a_failing_recording_warning_twice_is_heard_once(recording_files):
    """As those of the recordings done, the failing recording's warnings
    reach the caller once each, not once per time the task raised them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="fails after warning"):
            map_recordings(_warn_twice_then_fail, None, recording_files[:1])
    assert [str(w.message) for w in caught if "odd data" in str(w.message)] == [
        "odd data of S0 (recording 'sub-00')"
    ]


def _warn_of_units(estimator, epochs):
    warnings.warn("units look odd", UserWarning, stacklevel=1)
    return len(epochs)


def test_warnings_keep_their_category(recording_files):
    """Raised again in the caller as the category raised, which filters and
    pytest.warns select by."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        map_recordings(_warn_of_units, None, recording_files[:1])
    assert [
        (w.category, str(w.message)) for w in caught if "units" in str(w.message)
    ] == [(UserWarning, "units look odd (recording 'sub-00')")]


def _warn_from_a_thread_of_its_own(estimator, epochs):
    helper = threading.Thread(
        target=warnings.warn, args=("a helper thread warned", RuntimeWarning)
    )
    helper.start()
    helper.join()
    return len(epochs)


def test_warnings_of_threads_no_task_runs_are_shown_as_raised(recording_files):
    """While tasks run on threads of this process, a thread that is no task's
    (one a task started) warns as anywhere, unnamed, not lost."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with joblib.parallel_backend("threading", n_jobs=2):
            map_recordings(_warn_from_a_thread_of_its_own, None, recording_files[:2])
    assert [str(w.message) for w in caught if "helper" in str(w.message)] == 2 * [
        "a helper thread warned"
    ]


def _warn_of_deprecation(estimator, epochs, category):
    warnings.warn("an old argument", category, stacklevel=1)
    return len(epochs)


@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning])
def test_deprecation_warnings_are_shown_where_raised(recording_files, category):
    """They are meant for developers: shown as raised, not raised again by the
    caller in the name of a recording."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        map_recordings(
            _warn_of_deprecation, None, recording_files[:1], category=category
        )
    assert [
        (w.category, str(w.message)) for w in caught if "old argument" in str(w.message)
    ] == [(category, "an old argument")]


def _memory_of_explaining(estimator, paths, counts):
    """Memory of explaining the first ``n`` recordings, for each ``n`` of ``counts``.

    Returns the working memory (the peak less the results) and the memory left
    once the results are freed, of each call.
    """
    explain_recordings(estimator, paths[:1], "saliency", batch_size=4)  # warm up
    working, left = [], []
    for n_recordings in counts:
        # What earlier calls left to the garbage collector goes first: freed
        # during the measured call, it would count as working memory.
        gc.collect()
        tracemalloc.start()
        results = explain_recordings(
            estimator, paths[:n_recordings], "saliency", batch_size=4
        )
        held, peak = tracemalloc.get_traced_memory()
        del results
        gc.collect()
        working.append(peak - held)
        left.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
    return working, left


def test_memory_does_not_grow_with_recordings(fitted, tmp_path):
    """Recordings are read one at a time and none is kept: the working memory
    is one recording's, whatever their number."""
    big = tmp_path / "big_epo.fif"
    _simulate(0, n_epochs=32).save(big, verbose=False)
    recording_bytes = 32 * 32 * 128 * 8
    paths = []
    for index in range(6):
        paths.append(tmp_path / f"r{index}_epo.fif")
        paths[-1].write_bytes(big.read_bytes())
    working, left = in_own_process(_memory_of_explaining, fitted, paths, (2, 6))
    assert working[1] < 1.2 * working[0]
    assert working[1] < recording_bytes
    # An Epochs kept per recording, its data unread, left 0.1 MB each.
    assert left[1] < left[0] + recording_bytes / 20


def test_torch_threads_are_restored():
    """Two threads before, so that restoring them differs from keeping the
    task's one (OMP_NUM_THREADS=1 in CI made them alike)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        # More tasks than cores: one thread each.
        with _torch_threads(_ThreadShare(10**6, 2)) as threads:
            assert threads == 1 == torch.get_num_threads()
        assert torch.get_num_threads() == 2
        with _torch_threads(None) as threads:  # threads of one process: untouched
            assert threads is None and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize(
    "concurrency, most, threads",
    [(2, 64, 4), (3, 64, 2), (16, 64, 1), (1, 2, 2)],
)
def test_each_task_gets_its_share_of_the_cores(monkeypatch, concurrency, most, threads):
    """On 8 cores: cores // tasks at once, at least one, never more than the
    caller's threads. On the 2 cores of CI under OMP_NUM_THREADS=1, the
    caller's one thread hid whether the cores were shared at all."""
    monkeypatch.setattr(joblib, "cpu_count", lambda: 8)
    assert _torch_threads_for(_ThreadShare(concurrency, most)) == threads


def test_dask_workers_of_one_host_share_its_cores(monkeypatch):
    """Each worker's share is of its host's cores among all workers' threads on
    that host, not among its own alone."""
    pytest.importorskip("distributed")

    class _ThreeWorkersOnTwoHosts:
        def nthreads(self):
            return {"tcp://10.0.0.1:1": 1, "tcp://10.0.0.1:2": 2, "tcp://10.0.0.2:1": 4}

    monkeypatch.setattr(
        _workers, "_dask_client", lambda backend: _ThreeWorkersOnTwoHosts()
    )
    share = _thread_share(object(), n_workers=3, n_tasks=10)
    assert share.concurrency == {
        "tcp://10.0.0.1:1": 3,
        "tcp://10.0.0.1:2": 3,
        "tcp://10.0.0.2:1": 4,
    }


# loky: joblib's default backend


def test_loky_results_equal_serial(fitted, recording_files, serial_maps, serial_curves):
    maps = explain_recordings(
        fitted, recording_files, "deeplift", random_state=0, n_jobs=2
    )
    _assert_same_maps(maps, serial_maps)
    curves = evaluate_recordings(
        fitted,
        recording_files,
        "deletion_curve",
        method="saliency",
        n_steps=4,
        random_state=0,
        n_jobs=2,
    )
    pd.testing.assert_frame_equal(curves.to_frame(), serial_curves.to_frame())
    # In-memory Epochs are sent to the workers, with the same results.
    epochs = [mne.read_epochs(path, verbose=False) for path in recording_files]
    in_memory = explain_recordings(
        fitted, epochs, "deeplift", random_state=0, n_jobs=2, ids=serial_maps.ids
    )
    _assert_same_maps(in_memory, serial_maps)


def test_warnings_of_a_recording_reach_the_caller_with_its_id(recording_files):
    # Serial and from loky's worker processes: once per recording (the
    # worker raised it twice), named, and catchable by the caller.
    expected = ["odd data of S1 (recording 'sub-01')"]
    assert _warnings_by_recording(recording_files, backend="sequential") == expected
    assert _warnings_by_recording(recording_files) == expected
    # A recording that fails after one that warned: the warning still arrives.
    with pytest.warns(RuntimeWarning, match=r"odd data of S1 \(recording 'sub-01'\)"):
        with pytest.raises(ValueError, match="S2 fails"):
            map_recordings(_warn_then_fail, None, recording_files)
    # From threads of this process too: they arrived as raised, unnamed.
    showwarning = warnings.showwarning
    threaded = _warnings_by_recording(recording_files, backend="threading")
    assert threaded == expected
    assert warnings.showwarning is showwarning
    # Python's warnings, unlike MNE's, do not follow MNE's log level: above
    # WARNING, they were lost in the task's record.
    with mne.utils.use_log_level("error"):
        assert _warnings_by_recording(recording_files) == expected


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_warnings_of_the_recordings_reach_the_callers_line_at_every_call(
    recording_files, n_jobs
):
    """Under Python's default filters. Raised again at a line of mne_xai, a
    parallel call's warnings were remembered there: a second call (another
    method, the next condition of a loop) said nothing of them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(2):
            map_recordings(
                _warn_as_mne_xai_does, None, recording_files[:2], n_jobs=n_jobs
            )
    ours = [w for w in caught if "predicts no epoch" in str(w.message)]
    assert [str(w.message) for w in ours] == 2 * [
        f"the network predicts no epoch of class 2 of {N_EPOCHS} "
        f"(recording 'sub-0{index}')"
        for index in range(2)
    ]
    assert {w.filename for w in ours} == {__file__}  # the caller's line


def _warnings_of_the_failure(recording_files, n_jobs, pickles, error, match):
    """Run ``_warn_each_fail_on_s2``; return the error and the warnings that arrived."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(error, match=match) as info:
            map_recordings(
                _warn_each_fail_on_s2,
                None,
                recording_files,
                n_jobs=n_jobs,
                pickles=pickles,
            )
    messages = [str(w.message) for w in caught if "microvolts" in str(w.message)]
    assert "data of S2 look like microvolts (recording 'sub-02')" in messages
    assert messages == sorted(messages)  # in the recordings' order
    return info.value, messages


# joblib kills loky's workers at a task's error, and the next call starts new
# ones, each importing torch: every loky error here costs seconds, so the one
# that does not pickle is test_an_error_that_does_not_pickle_names_its_recording's.
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_warnings_of_the_failing_recording_reach_the_caller(recording_files, n_jobs):
    """They may say why it failed; they were dropped, serially and from workers,
    and only those of the recordings done arrived. The error keeps its type, with
    a note naming its recording."""
    error, messages = _warnings_of_the_failure(
        recording_files, n_jobs, True, ValueError, "S2 fails"
    )
    assert "Raised by recording 'sub-02'." in error.__notes__
    if n_jobs == 1:
        assert len(messages) == 3


def _fit_on_recording(estimator, epochs):
    data = epochs.get_data().reshape(len(epochs), -1)
    return estimator.fit(data, epochs.events[:, 2])


@pytest.mark.parametrize("backend", ["sequential", "threading", "loky"])
def test_each_recording_gets_its_own_estimator(recording_files, backend):
    """One shared estimator, trained per recording, left every result holding
    the model of the last recording (serial) or of another on its thread."""
    given = LogisticRegression()
    with joblib.parallel_config(backend=backend, n_jobs=2):
        models = map_recordings(_fit_on_recording, given, recording_files, n_jobs=2)
    assert not hasattr(given, "coef_")  # the caller's estimator is untouched
    for path, model in zip(recording_files, models.values(), strict=True):
        alone = _fit_on_recording(LogisticRegression(), mne.read_epochs(path))
        np.testing.assert_array_equal(model.coef_, alone.coef_)


class _CountingModel:
    """A model that counts the epochs it was trained on, as a function trains it."""

    def __init__(self, state):
        self.n_seen = 0
        self.state = state


def _train_and_count(estimator, epochs):
    estimator.n_seen += len(epochs)
    return estimator.n_seen


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_an_estimator_that_cannot_be_copied_is_refused(recording_files, n_jobs):
    """Serially, it was shared: each recording's model counted the epochs of the
    ones before (8, 16, 24, 32) and the caller's was trained; with n_jobs=2 the
    error advised n_jobs=1, which led there."""
    given = _CountingModel(threading.Lock())  # neither deepcopy nor pickle copies
    with pytest.raises(
        TypeError, match=r"\(_CountingModel\) could not be .* a copy of its own"
    ) as info:
        map_recordings(_train_and_count, given, recording_files, n_jobs=n_jobs)
    assert "n_jobs=1" not in str(info.value)
    assert given.n_seen == 0


def test_an_estimator_deepcopy_refuses_is_copied_by_pickling(recording_files):
    """A tensor computed from others (as weight_norm keeps) refuses deepcopy but
    pickles: the serial run used the caller's object for every recording."""
    given = _CountingModel(torch.ones(2, requires_grad=True) * 2)
    counts = map_recordings(_train_and_count, given, recording_files)
    assert list(counts.values()) == [N_EPOCHS] * N_RECORDINGS
    assert given.n_seen == 0


@pytest.mark.parametrize("backend", ["sequential", "threading", "loky"])
def test_each_recording_gets_its_own_epochs(backend):
    """Serially and on threads, the function was given the caller's Epochs:
    dropping one changed the caller's recordings and the next call's results,
    unlike in worker processes."""
    recordings = [_simulate(seed) for seed in range(2)]
    with joblib.parallel_config(backend=backend, n_jobs=2):
        for _ in range(2):
            counts = map_recordings(_drop_first_then_count, None, recordings, n_jobs=2)
            assert list(counts.values()) == [N_EPOCHS - 1] * 2
    assert [len(epochs) for epochs in recordings] == [N_EPOCHS] * 2


def test_no_more_worker_processes_than_recordings(recording_files):
    """Each worker process starts by importing torch (seconds, hundreds of MB):
    one recording with n_jobs=2 waited for a pool of 2, and n_jobs=-1 on a
    machine of many cores started one per core for a few recordings."""
    (process,) = {
        pid
        for pid, _ in map_recordings(
            _process_and_estimator, None, recording_files[:1], n_jobs=2
        ).values()
    }
    assert process == os.getpid()
    with catch_logging() as log:
        map_recordings(_n_epochs, None, recording_files[:2], n_jobs=4, verbose=True)
    assert "with 2 workers of joblib's LokyBackend" in log.getvalue()


def test_loky_sets_torch_threads(fitted, recording_files):
    results = map_recordings(_process_and_estimator, fitted, recording_files, n_jobs=2)
    assert os.getpid() not in {pid for pid, _ in results.values()}
    threads = map_recordings(_torch_thread_count, fitted, recording_files, n_jobs=2)
    expected = max(1, min(torch.get_num_threads(), joblib.cpu_count() // 2))
    assert set(threads.values()) == {expected}
    serial = map_recordings(_torch_thread_count, fitted, recording_files[:1])
    assert serial["sub-00"] == torch.get_num_threads()  # serial: torch's own


def test_tasks_use_no_more_torch_threads_than_the_caller(recording_files):
    """A task alone on its machine took all its cores where the user had
    limited torch's threads (OMP_NUM_THREADS=1): 2 threads on 2 cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        threads = map_recordings(
            _torch_thread_count, None, recording_files[:1], n_jobs=2
        )
    finally:
        torch.set_num_threads(previous)
    assert threads == {"sub-00": 1}


def _finish_second_first(estimator, epochs, marker):
    """Warn; S0's recording then waits until S1's is done, and a second more."""
    subject = epochs.metadata["subject"].iloc[0]
    warnings.warn(f"data of {subject} warned", RuntimeWarning, stacklevel=2)
    if subject == "S1":
        Path(marker).touch()
        return subject
    deadline = time.monotonic() + 60
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)
    return subject


def test_recordings_are_reported_when_done_and_returned_in_input_order(
    recording_files, tmp_path
):
    """Each recording is reported as soon as it is done, whichever it is;
    its result and its warnings still come in the order of the input."""
    with (
        warnings.catch_warnings(record=True) as caught,
        catch_logging() as log,
    ):
        warnings.simplefilter("always")
        results = map_recordings(
            _finish_second_first,
            None,
            recording_files[:2],
            n_jobs=2,
            verbose=True,
            marker=tmp_path / "S1 done",
        )
    done = [
        line.split(" (")[0]
        for line in log.getvalue().splitlines()
        if line.startswith("Recording ")
    ]
    assert done == ["Recording 'sub-01' done", "Recording 'sub-00' done"]
    assert list(results.items()) == [("sub-00", "S0"), ("sub-01", "S1")]
    assert [str(w.message) for w in caught if "warned" in str(w.message)] == [
        "data of S0 warned (recording 'sub-00')",
        "data of S1 warned (recording 'sub-01')",
    ]


def test_n_jobs_of_a_joblib_context_is_used(recording_files):
    """As in MNE, n_jobs=None inside a joblib context takes the context's
    n_jobs: the recordings run in its workers, not one at a time here."""
    with joblib.parallel_config(backend="loky", n_jobs=2):
        results = map_recordings(_process_and_estimator, None, recording_files[:2])
    assert os.getpid() not in {pid for pid, _ in results.values()}


@pytest.mark.parametrize("value", ["true", "True"])
def test_mne_force_serial_runs_the_recordings_here(monkeypatch, recording_files, value):
    """MNE_FORCE_SERIAL, which makes MNE's parallel functions run serially
    (to debug, or where worker processes cannot start), holds here too, in
    any case as MNE reads it."""
    monkeypatch.setenv("MNE_FORCE_SERIAL", value)
    results = map_recordings(
        _process_and_estimator, None, recording_files[:2], n_jobs=2
    )
    assert {pid for pid, _ in results.values()} == {os.getpid()}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_progress_is_logged_per_recording(fitted, recording_files, capfd, n_jobs):
    """Outside a terminal (a log file, CI), where bars are off: a serial run
    said nothing between its first line and its end, a parallel one wrote
    joblib's messages to stderr, out of MNE's log, every few recordings."""
    with catch_logging() as log:
        map_recordings(_n_epochs, fitted, recording_files, n_jobs=n_jobs, verbose=True)
    logged = log.getvalue()
    lines = logged.splitlines()
    assert lines[0].startswith("Running _n_epochs on 4 recordings")
    done = [line for line in lines if line.startswith("Recording ")]
    assert sorted(line.split(" done")[0] for line in done) == [
        f"Recording 'sub-0{index}'" for index in range(N_RECORDINGS)
    ]
    assert [line.split("(")[1].split(",")[0] for line in done] == [
        f"{count} of {N_RECORDINGS}" for count in range(1, N_RECORDINGS + 1)
    ]
    assert "\r" not in logged + "".join(capfd.readouterr())
    with catch_logging() as log:
        map_recordings(_n_epochs, fitted, recording_files, n_jobs=n_jobs, verbose=False)
    quiet = log.getvalue() + "".join(capfd.readouterr())
    assert "Recording" not in quiet and "Parallel" not in quiet


def test_threads_of_this_process_report_progress_unless_quiet(recording_files, capfd):
    """Their tasks' log level hides log lines per recording: joblib's messages
    say how far the call is, and nothing is said under verbose=False."""
    with joblib.parallel_backend("threading", n_jobs=2):
        map_recordings(_n_epochs, None, recording_files, verbose=True)
        assert "Parallel" in "".join(capfd.readouterr())
        map_recordings(_n_epochs, None, recording_files, verbose=False)
        assert "Parallel" not in "".join(capfd.readouterr())


def test_an_error_that_does_not_pickle_names_its_recording(fitted, recording_files):
    """An error whose class takes other arguments than its message could not be
    sent back from a loky worker: the call blamed a worker that died, without
    the recording or the error (and Dask waited for ever). The warnings of the
    recordings, the failing one's too, still arrive."""
    _warnings_of_the_failure(
        recording_files,
        2,
        False,
        RuntimeError,
        "Recording 'sub-02' raised _TwoPartError",
    )
    with pytest.raises(_TwoPartError, match="S2: a bad channel"):  # its own type
        map_recordings(_fail_unpicklably_on_s2, fitted, recording_files)


def _lock(estimator, epochs):
    return threading.Lock()


def test_a_result_that_does_not_pickle_names_its_recording(recording_files):
    """It could not be sent back from a loky worker: the call blamed a worker
    that died, and named every recording as not done."""
    with pytest.raises(TypeError, match=r"The result of recording 'sub-0\d' \(lock\)"):
        map_recordings(_lock, None, recording_files, n_jobs=2)
    assert len(map_recordings(_lock, None, recording_files)) == N_RECORDINGS


def _count_under(estimator, epochs, lock):
    with lock:
        return len(epochs)


class _CountUnderItsLock:
    """A function that holds a lock, and so does not pickle."""

    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, estimator, epochs):
        return _count_under(estimator, epochs, self.lock)


def test_arguments_that_do_not_pickle_are_refused_for_worker_processes(
    recording_files,
):
    """A task that joblib could not pickle was reported as a worker that died,
    naming every recording as not done. Serially they are used as they are."""
    lock = threading.Lock()
    with pytest.raises(TypeError, match=r"does not pickle: lock=<.*lock.*> \(lock\)\."):
        map_recordings(_count_under, None, recording_files, n_jobs=2, lock=lock)
    with pytest.raises(TypeError, match=r"does not pickle: function=<.*\(_CountUnder"):
        map_recordings(_CountUnderItsLock(), None, recording_files, n_jobs=2)
    assert len(map_recordings(_count_under, None, recording_files, lock=lock)) == 4
    # One recording runs here whatever n_jobs: nothing is sent, nothing refused.
    alone = map_recordings(_count_under, None, recording_files[:1], n_jobs=2, lock=lock)
    assert len(alone) == 1


def test_epochs_read_without_preload_are_refused_for_worker_processes(
    fitted, recording_files
):
    """Their open file cannot be pickled: loky blamed a worker that died, and
    Dask waited for ever. Threads and the serial run read them as they are."""
    lazy = [mne.read_epochs(path, preload=False) for path in recording_files]
    with pytest.raises(ValueError, match=r"recordings\[0\], .* without preload"):
        map_recordings(_n_epochs, fitted, lazy, n_jobs=2)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        counts = map_recordings(_n_epochs, fitted, lazy)
    assert list(counts.values()) == [len(epochs) for epochs in lazy]


def _data_sum(estimator, epochs):
    return epochs.get_data().sum()


def test_epochs_cut_from_raw_without_preload_go_to_worker_processes(tmp_path):
    """mne.Epochs(raw, events) are not loaded by default, yet pickle (with their
    Raw, or its file name): they were refused as Epochs read from a file."""
    epochs = _simulate(0)
    raw = mne.io.RawArray(np.hstack(epochs.get_data()), epochs.info, verbose=False)
    raw.save(tmp_path / "recording_raw.fif", verbose=False)
    raw_from_file = mne.io.read_raw_fif(tmp_path / "recording_raw.fif", verbose=False)
    lazy = [
        mne.Epochs(
            source, epochs.events, tmin=0.0, tmax=0.5, baseline=None, verbose=False
        )
        for source in (raw, raw_from_file)
    ]
    assert not any(recording.preload for recording in lazy)
    serial = map_recordings(_data_sum, None, lazy)
    assert map_recordings(_data_sum, None, lazy, n_jobs=2) == serial


def _simulated_cv_data():
    epochs = _simulate(20, n_epochs=24)
    return epochs, epochs.events[:, 2]


def _cross_val(n_jobs):
    epochs, y = _simulated_cv_data()
    classifier = EEGNetClassifier(
        max_epochs=2, batch_size=8, random_state=0, verbose=False
    )
    return cross_val_score(
        classifier,
        epochs,
        y,
        cv=StratifiedKFold(2),
        scoring="neg_log_loss",
        n_jobs=n_jobs,
    )


@pytest.fixture(scope="module")
def serial_cv_scores():
    return _cross_val(None)


def test_cross_val_score_on_loky(serial_cv_scores):
    # Training sums gradients over torch threads, whose number differs in the
    # workers: the last bits of the weights may differ, nothing more.
    np.testing.assert_allclose(_cross_val(2), serial_cv_scores, rtol=1e-5)


def test_dead_loky_worker_fails_the_call_naming_recordings_not_done(
    fitted, recording_files
):
    with pytest.raises(RuntimeError, match="Not done: .*S2.*No results") as info:
        map_recordings(
            _exit_for_subject,
            fitted,
            recording_files,
            ids=SUBJECTS,
            n_jobs=2,
            subject="S2",
        )
    assert "TerminatedWorkerError" in str(info.value)


# Dask: the same calls on a local cluster


@contextmanager
def _local_dask_client(
    n_workers=2, threads_per_worker=1, *, processes=True, set_as_default=False
):
    """A client of a quiet local Dask cluster (its processes on the loopback)."""
    distributed = pytest.importorskip("distributed")
    where = dict(host="127.0.0.1") if processes else {}
    with (
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            **where,
        ) as cluster,
        distributed.Client(cluster, set_as_default=set_as_default) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def dask_client():
    with _local_dask_client(set_as_default=True) as client:
        # Workers import the package once, here, rather than in the first test.
        client.run(_import_package)
        yield client


def test_dask_results_equal_serial(
    dask_client, fitted, recording_files, serial_maps, serial_curves
):
    with joblib.parallel_backend("dask"):
        maps = explain_recordings(fitted, recording_files, "deeplift", random_state=0)
        curves = evaluate_recordings(
            fitted,
            recording_files,
            "deletion_curve",
            method="saliency",
            n_steps=4,
            random_state=0,
        )
        where = map_recordings(_process_and_estimator, fitted, recording_files)
    _assert_same_maps(maps, serial_maps)
    pd.testing.assert_frame_equal(curves.to_frame(), serial_curves.to_frame())
    assert os.getpid() not in {pid for pid, _ in where.values()}


def test_dask_recording_error_keeps_its_type_and_names_it(
    dask_client, fitted, recording_files, tmp_path
):
    not_epochs = tmp_path / "sub-97_epo.fif"
    not_epochs.write_bytes(b"not a fif file")
    with joblib.parallel_backend("dask"):
        with pytest.raises(ValueError, match="sub-97.*could not be read") as info:
            explain_recordings(fitted, [*recording_files, not_epochs])
    assert "Raised by recording 'sub-97'." in info.value.__notes__


def test_dask_error_that_does_not_pickle_names_its_recording(
    dask_client, fitted, recording_files
):
    with joblib.parallel_backend("dask"):
        with pytest.raises(RuntimeError, match="Recording 'sub-02' raised _TwoPart"):
            map_recordings(_fail_unpicklably_on_s2, fitted, recording_files)


def test_dask_warnings_reach_the_caller_with_the_recording_id(
    dask_client, recording_files
):
    messages = _warnings_by_recording(recording_files, backend="dask")
    assert messages == ["odd data of S1 (recording 'sub-01')"]


def test_dask_sets_torch_threads_per_host(dask_client, fitted, recording_files):
    with joblib.parallel_backend("dask"):
        threads = map_recordings(_torch_thread_count, fitted, recording_files)
    # Two single-threaded workers on this machine share its cores.
    expected = max(1, min(torch.get_num_threads(), joblib.cpu_count() // 2))
    assert set(threads.values()) == {expected}


def test_cross_val_score_on_dask(dask_client, serial_cv_scores):
    with joblib.parallel_backend("dask"):
        scores = _cross_val(2)
    np.testing.assert_allclose(scores, serial_cv_scores, rtol=1e-5)


def test_dask_sends_the_estimator_with_each_task():
    """joblib's Dask backend scatters weak-referenceable arguments to one worker,
    whose death loses them; the estimator's pickle must travel with the task."""
    dask_backend = pytest.importorskip("joblib._dask")
    assert not dask_backend.is_weakrefable(_Shipped(object()))


def test_dask_retries_a_recording_whose_worker_died(
    dask_client, fitted, recording_files, tmp_path
):
    marker = tmp_path / "died-once"
    with joblib.parallel_backend("dask"):
        results = map_recordings(
            _exit_once_for_subject,
            fitted,
            recording_files,
            id_column="subject",
            subject="S1",
            marker=str(marker),
        )
    assert marker.exists()  # a worker did die
    assert results == dict.fromkeys(SUBJECTS, N_EPOCHS)


def _trained_weights(estimator, epochs):
    return estimator.fit(epochs).module_.temporal_conv.weight.detach().clone()


def test_seeded_training_on_threads_equals_serial(recording_files):
    """torch's one default generator is shared by the threads of a process: two
    seeded fits on threads interleaved their draws and restored each other's
    states, so the networks changed from run to run and the caller's random
    state was lost."""
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=8, random_state=0, verbose=False
    )
    serial = map_recordings(_trained_weights, estimator, recording_files)
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    with joblib.parallel_backend("threading", n_jobs=2):
        threaded = map_recordings(_trained_weights, estimator, recording_files)
    assert torch.equal(torch.rand(3), expected_draw)
    for recording_id, weights in serial.items():
        torch.testing.assert_close(threaded[recording_id], weights, rtol=0, atol=0)


def _seed_received(estimator, epochs, random_state):
    return random_state


def test_a_generator_seed_becomes_one_seed_for_every_recording(fitted, recording_files):
    """Copied to each worker, a Generator drew the same seed for every recording
    there and other seeds in series (random maps 1.4 times apart with loky);
    threads drew in the order they ran. One seed is drawn before dispatch."""
    seeds = map_recordings(
        _seed_received, fitted, recording_files, random_state=np.random.default_rng(0)
    )
    expected = int(np.random.default_rng(0).integers(np.iinfo(np.int32).max))
    assert set(seeds.values()) == {expected}


def test_a_random_state_seed_becomes_one_seed_for_every_recording(recording_files):
    """A RandomState stands for a seed as a Generator does: one int drawn before
    dispatch, the same for every recording and from one call to the next."""
    seeds = [
        map_recordings(
            _seed_received,
            None,
            recording_files,
            random_state=np.random.RandomState(0),
        )
        for _ in range(2)
    ]
    (seed,) = set(seeds[0].values())
    assert isinstance(seed, int) and seeds[1] == seeds[0]


def test_tasks_on_threads_of_this_process_leave_the_log_level_alone(
    fitted, recording_files
):
    """Each task set MNE's one log level and put it back; overlapping, they left
    the caller at WARNING (A saves INFO, B saves WARNING, A restores INFO, B
    restores WARNING), and tasks logged at the caller's INFO meanwhile."""
    previous = mne.set_log_level("INFO", return_old_level=True)
    try:
        with joblib.parallel_backend("threading", n_jobs=2):
            levels = map_recordings(_slow_log_level, fitted, recording_files)
        assert logger.level == logging.INFO
        assert set(levels.values()) == {logging.WARNING}  # the tasks' own
    finally:
        mne.set_log_level(previous)


@pytest.mark.parametrize("level", ["DEBUG", "ERROR"])
def test_tasks_log_at_the_callers_level_when_debugging_or_quieter(
    recording_files, level
):
    """Tasks log warnings only, unless the caller debugs (their debug lines
    are wanted) or asked for less than warnings (errors only)."""
    with mne.utils.use_log_level(level):
        levels = map_recordings(_slow_log_level, None, recording_files[:1])
    assert levels == {"sub-00": getattr(logging, level)}


def test_recordings_read_by_position_must_share_the_channel_order(
    fitted, recording_files, tmp_path
):
    """A network fitted on arrays read a recording exported in another channel
    order against the wrong weights, and its map was averaged by name."""
    epochs = mne.read_epochs(recording_files[0], verbose=False)
    reordered = epochs.copy().reorder_channels(epochs.ch_names[::-1])
    on_arrays = EEGNetClassifier(
        max_epochs=1, batch_size=8, random_state=0, verbose=False
    ).fit(epochs.get_data(), epochs.events[:, 2])
    with pytest.raises(
        ValueError,
        match=r"Recording 1 holds .* than recording 0 .* channels by position",
    ):
        explain_recordings(on_arrays, [epochs, reordered], "saliency")
    maps = explain_recordings(on_arrays, [epochs, epochs.copy()], "saliency")
    assert len(maps) == 2
    # A network fitted on Epochs reads each recording's channels by name.
    assert len(explain_recordings(fitted, [epochs, reordered], "saliency")) == 2
    # A function of the user's may read the channels its own way.
    counts = map_recordings(_n_epochs, on_arrays, [epochs, reordered])
    assert list(counts.values()) == [len(epochs)] * 2
    # A file that is not FIF is named by its task, as for any network.
    not_fif = tmp_path / "sub-97-epo.fif"
    not_fif.write_text("not a fif file")
    with pytest.raises(ValueError, match="sub-97.*could not be read as mne.Epochs"):
        explain_recordings(on_arrays, [epochs, not_fif], "saliency")


def _slow_log_level(estimator, epochs):
    """Return the log level a task sees, after long enough for tasks to overlap."""
    time.sleep(0.2)
    return logger.level


def test_dask_workers_on_threads_of_this_process_leave_warnings_alone(
    recording_files,
):
    """Workers of a LocalCluster without processes are threads of the caller:
    recording their warnings swapped one process-wide showwarning from two
    threads at once, which lost the warnings and left the caller's silenced."""
    showwarning = warnings.showwarning
    with _local_dask_client(processes=False) as client:
        messages = _warnings_by_recording(
            recording_files, backend="dask", client=client
        )
    assert warnings.showwarning is showwarning
    # As from joblib's threads, named by their recording.
    assert messages == ["odd data of S1 (recording 'sub-01')"]


@pytest.mark.parametrize("n_workers, n_jobs", [(1, None), (2, 1)])
def test_one_dask_worker_runs_the_recordings_here(recording_files, n_workers, n_jobs):
    """joblib runs one job in the calling process, whatever its backend: with
    one Dask worker, or n_jobs=1 under Dask, the tasks looked for their Dask
    worker there and failed ("No worker found"), after a log line of "1
    workers"."""
    with (
        _local_dask_client(n_workers, processes=False) as client,
        joblib.parallel_backend("dask", client=client),
        catch_logging() as log,
    ):
        counts = map_recordings(
            _n_epochs, None, recording_files[:2], n_jobs=n_jobs, verbose=True
        )
    assert list(counts.values()) == [N_EPOCHS] * 2
    assert "on 2 recordings, one at a time" in log.getvalue()


def test_dask_workers_of_several_threads_say_their_warnings_stay_there(
    recording_files,
):
    """Threads of one worker share its process's warnings, which cannot be
    told apart by recording: they stayed in the workers' output, and the
    caller heard nothing of them, nor that they were kept from it."""
    with (
        _local_dask_client(1, 2) as client,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        with joblib.parallel_backend("dask", client=client):
            map_recordings(_n_epochs, None, recording_files, verbose=False)
    (said,) = [str(w.message) for w in caught if "stay with" in str(w.message)]
    assert "2 threads" in said and "threads_per_worker=1" in said


def test_stacked_tables_keep_the_labels_of_their_rows(fitted, recording_files):
    """Stacking dropped every table's index, the method of a trust summary and
    the group of group_predictions: rows told apart by position only."""

    def halves(estimator, epochs):
        epochs.metadata = pd.DataFrame(
            {"block": np.where(np.arange(len(epochs)) < len(epochs) // 2, "A", "B")}
        )
        return group_predictions(estimator, epochs, "block")

    results = map_recordings(halves, fitted, recording_files[:2], verbose=False)
    table = results.to_frame()
    assert table.columns[:2].tolist() == ["recording", "block"]
    for recording, result in results.items():
        rows = table[table["recording"] == recording].drop(columns="recording")
        pd.testing.assert_frame_equal(rows.reset_index(drop=True), result.reset_index())


def test_a_copy_of_the_results_is_results():
    """dict's copy gave a dict, without the id name or the table view."""
    results = RecordingResults([("a", 1.0), ("b", 2.0)], id_name="subject")
    copied = results.copy()
    assert isinstance(copied, RecordingResults) and copied == results
    pd.testing.assert_frame_equal(copied.to_frame(), results.to_frame())
    copied["c"] = 3.0
    assert "c" not in results


def test_the_summary_names_the_first_three_recordings():
    """The repr shows the first three ids, then says there are more."""
    results = RecordingResults([(f"s{index}", 1.0) for index in range(4)])
    assert repr(results) == (
        "<RecordingResults | 4 recordings ('s0', 's1', 's2', ...) of float>"
    )
    # Three are all there are: no "...".
    three = RecordingResults([(f"s{index}", 1.0) for index in range(3)])
    assert (
        repr(three) == "<RecordingResults | 3 recordings ('s0', 's1', 's2') of float>"
    )
    assert repr(RecordingResults()) == "<RecordingResults | 0 recordings () of nothing>"


def test_numbers_of_numpy_are_one_row_tables():
    """NumPy's bool (a test's decision, ``p < 0.05``) was refused as "a bool,
    which has no table view", where Python's bool made a row."""
    results = RecordingResults([("a", np.bool_(True)), ("b", np.float32(0.5))])
    assert results.to_frame()["value"].tolist() == [True, 0.5]


def test_stacked_tables_are_numbered_as_one():
    """The table of all recordings numbers its rows once, not once per
    recording, so that a row label names one row."""
    tables = [pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [3.0]})]
    table = RecordingResults(zip("ab", tables, strict=True)).to_frame()
    pd.testing.assert_index_equal(table.index, pd.RangeIndex(3))


def test_no_results_make_a_table_of_the_id_column_alone():
    """pandas cannot stack no tables: the table of no recordings is empty, with
    its id column."""
    table = RecordingResults(id_name="subject").to_frame()
    assert table.columns.tolist() == ["subject"] and table.empty


def test_a_result_with_a_column_of_the_id_name_asks_for_another():
    """pandas refused to insert the id column, saying nothing of id_name."""
    results = RecordingResults([("a", pd.DataFrame({"recording": [1.0]}))])
    with pytest.raises(ValueError, match="column 'recording' already; set results.id_"):
        results.to_frame()
    results.id_name = "subject"
    assert results.to_frame().columns.tolist() == ["subject", "recording"]


def test_multiprocessing_backend_runs_the_recordings(fitted, recording_files):
    """Its workers cannot yield results as they finish, which every run asked
    of them: it failed whatever the recordings."""
    with joblib.parallel_config(backend="multiprocessing", n_jobs=2):
        maps = explain_recordings(fitted, recording_files[:2], "saliency", n_jobs=2)
    serial = explain_recordings(fitted, recording_files[:2], "saliency")
    _assert_same_maps(maps, serial)
