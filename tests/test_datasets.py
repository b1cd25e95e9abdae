"""Loaders: real recordings as mne.Epochs, the same in every run."""

import os
import subprocess
import sys

import mne
import numpy as np
import pytest
import requests

from mne_xai.datasets import load_drowsiness, load_eegbci


@pytest.fixture
def offline(monkeypatch):
    """MNE's EEGBCI fetcher, failing as it does offline."""

    def load_data(*args, **kwargs):
        raise requests.ConnectionError("Failed to resolve 'physionet.org'")

    monkeypatch.setattr(mne.datasets.eegbci, "load_data", load_data)


def test_eegbci_event_names_keep_one_order_whatever_the_hash_seed(mne_data):
    """MNE builds the event names from a set; the loader orders them by code.

    Hash seeds 0 and 2 give the set's two orders (seed 1 repeats seed 0's):
    without the loader's ordering, the two runs differ.
    """
    script = (
        "from mne_xai.datasets import load_eegbci;"
        f"print(list(load_eegbci(1, 'hands_vs_feet', path={str(mne_data)!r},"
        " verbose=False).event_id.items()))"
    )
    orders = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (0, 2)
    }
    assert orders == {"[('feet', 2), ('hands', 3)]\n"}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(runs=[6, 6]), ValueError, "each once"),  # each epoch given twice
        (dict(runs=[]), ValueError, "each once"),  # an IndexError
        (dict(runs=[4]), ValueError, "subset of the hands_vs_feet runs"),
        (dict(subject="1"), TypeError, "subject must be"),  # a format error
        (dict(subject=0), ValueError, "from 1 to 109, got 0"),  # "S000R06.edf"
        (dict(subject=110), ValueError, "from 1 to 109, got 110"),
        (dict(runs="6"), TypeError, "runs must be"),
        # MNE's "Unknown format code 'd' for object of type 'float'".
        (dict(runs=[6.0]), TypeError, "runs must be .*int.*float"),
        (dict(runs=np.array([6.0, 10.0])), TypeError, "runs must be .*int.*float"),
        # MNE's band-stop, which removed the 7-30 Hz band the edges name.
        (dict(l_freq=30.0, h_freq=7.0), ValueError, "l_freq must be below h_freq"),
        (dict(l_freq=8.0, h_freq=8.0), ValueError, "l_freq=8.0, h_freq=8.0"),
        # Python's "'>=' not supported between instances of 'str' and 'float'".
        (dict(l_freq="7"), TypeError, "l_freq must be an instance of a frequency"),
        (dict(h_freq="30"), TypeError, "h_freq must be an instance of a frequency"),
    ],
)
def test_eegbci_arguments_are_checked(mne_data, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_eegbci(**{"subject": 1, **kwargs}, path=mne_data, verbose=False)


def test_eegbci_takes_one_run_as_an_int(mne_data):
    """``runs=6`` failed as "'int' object is not iterable"."""
    one = load_eegbci(1, runs=6, path=mne_data, verbose=False)
    listed = load_eegbci(1, runs=[6], path=mne_data, verbose=False)
    np.testing.assert_array_equal(one.get_data(), listed.get_data())
    ranged = load_eegbci(1, runs=range(6, 11, 4), path=mne_data, verbose=False)
    assert len(ranged) == 30
    from_array = load_eegbci(1, runs=np.array([6]), path=mne_data, verbose=False)
    np.testing.assert_array_equal(from_array.get_data(), one.get_data())


def test_eegbci_files_that_cannot_be_downloaded_are_named(offline, tmp_path):
    """Offline, a subject missing on disk failed as requests' NameResolutionError.
    The folder named is path's, where MNE looked, not MNE_DATA's (which the
    tests set)."""
    with pytest.raises(
        OSError, match=r"subject 2, runs \[6\] are not under .*resolve"
    ) as err:
        load_eegbci(2, runs=[6], path=tmp_path, verbose=False)
    assert f"not under {tmp_path}, and downloading" in str(err.value)


def test_eegbci_takes_the_last_subject(offline, tmp_path):
    """Subjects run from 1 to 109: the last one is fetched, not refused."""
    with pytest.raises(OSError, match=r"subject 109, runs \[6\] are not under"):
        load_eegbci(109, runs=[6], path=tmp_path, verbose=False)


@pytest.mark.parametrize(
    "task, runs, cues",
    [
        ("hands_vs_feet", [6, 10, 14], {"T1": "hands", "T2": "feet"}),
        ("left_vs_right", [4, 8, 12], {"T1": "left", "T2": "right"}),
    ],
)
def test_eegbci_tasks_are_physionets_runs_and_cues(
    monkeypatch, mne_data, task, runs, cues
):
    """The runs of each imagery task, and its cues as PhysioNet codes them: T1
    both fists or the left fist, T2 both feet or the right fist (MNE's CSP
    example names them so). Names swapped keep event_id as it is, since MNE
    codes the names in alphabetical order, and call every epoch the other
    class."""
    fetched = {}  # runs: files
    load_data = mne.datasets.eegbci.load_data

    def record(subject, runs, **kwargs):
        fetched[tuple(runs)] = load_data(subject, runs, **kwargs)
        return fetched[tuple(runs)]

    monkeypatch.setattr(mne.datasets.eegbci, "load_data", record)
    epochs = load_eegbci(1, task, path=mne_data, verbose=False)
    [(fetched_runs, files)] = fetched.items()
    assert fetched_runs == tuple(runs)
    # The cue at each epoch's onset in the first run, read from its own file.
    raw = mne.io.read_raw_edf(files[0], verbose=False)
    cue_at = {
        round(onset * raw.info["sfreq"]): cue
        for onset, cue in zip(
            raw.annotations.onset, raw.annotations.description, strict=True
        )
    }
    name_of = {code: name for name, code in epochs.event_id.items()}
    first_run = epochs.events[epochs.events[:, 0] < raw.n_times]
    named = [(cues[cue_at[sample]], name_of[code]) for sample, _, code in first_run]
    assert {name for name, _ in named} == set(cues.values())
    assert all(cue == name for cue, name in named)


@pytest.mark.parametrize(
    "l_freq, h_freq, band", [(7.0, None, (7.0, 80.0)), (None, 30.0, (0.0, 30.0))]
)
def test_eegbci_filters_with_one_edge(mne_data, l_freq, h_freq, band):
    """None skips that edge only: a high-pass alone, or a low-pass alone."""
    epochs = load_eegbci(
        1, runs=6, l_freq=l_freq, h_freq=h_freq, path=mne_data, verbose=False
    )
    assert (epochs.info["highpass"], epochs.info["lowpass"]) == band


def test_eegbci_runs_are_filtered_each_on_its_own(mne_data):
    """The runs are recorded apart and band-passed apart: filtered across the
    joins of the concatenated runs, the last epoch of run 6 took in 0.4 uV of
    the start of run 10, so that it differed from the same epoch loaded alone."""
    both = load_eegbci(1, runs=[6, 10], path=mne_data, verbose=False)
    alone = [load_eegbci(1, runs=run, path=mne_data, verbose=False) for run in (6, 10)]
    expected = np.concatenate([epochs.get_data() for epochs in alone])
    np.testing.assert_allclose(both.get_data(), expected, rtol=0, atol=1e-12)


def test_eegbci_defaults_are_the_documented_epochs(eegbci_epochs):
    """-1 to 4 s around the cue, band-passed 7-30 Hz as in MNE's CSP example,
    of the EEG channels, the classes coded as the docstring says, and no
    baseline correction (as in that example)."""
    assert (eegbci_epochs.tmin, eegbci_epochs.tmax) == (-1.0, 4.0)
    assert eegbci_epochs.baseline is None
    assert len(eegbci_epochs) == 45  # 15 cues in each of the three runs
    info = eegbci_epochs.info
    assert (info["highpass"], info["lowpass"]) == (7.0, 30.0)
    assert set(eegbci_epochs.get_channel_types()) == {"eeg"}
    assert eegbci_epochs.event_id == {"feet": 2, "hands": 3}


def test_eegbci_error_names_the_folder_mne_searched(offline, monkeypatch, tmp_path):
    """With neither MNE_DATASETS_EEGBCI_PATH nor MNE_DATA set, the error named
    them as the folder searched; MNE looked in ~/mne_data."""
    for key in ("MNE_DATASETS_EEGBCI_PATH", "MNE_DATA"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("_MNE_FAKE_HOME_DIR", str(tmp_path))  # MNE's home in tests
    with pytest.raises(OSError, match="not under .*mne_data .*else ~/mne_data") as info:
        load_eegbci(2, runs=[6], verbose=False)
    assert str(tmp_path / "mne_data") in str(info.value)


@pytest.mark.parametrize(
    "write",
    [
        lambda path: path.write_text("# Data\n"),  # numpy: "contains pickled data"
        lambda path: np.savez(path, X=np.zeros((2, 1, 384))),  # KeyError "y"
        lambda path: path.write_bytes(b"PK\x03\x04 not a zip"),  # BadZipFile
    ],
    ids=["text", "other-arrays", "broken-zip"],
)
def test_drowsiness_file_of_another_kind_is_named(tmp_path, write):
    path = tmp_path / "drowsiness_oz.npz"
    write(path)
    with pytest.raises(ValueError, match="is not the drowsiness npz file.*X, y"):
        load_drowsiness(path, verbose=False)


def test_drowsiness_events_are_the_files_labels(tmp_path):
    """y 0 (alert) and 1 (drowsy) become the codes of event_id, the data and
    subjects kept with them: swapped codes would name every epoch the other
    class, though each subject keeps as many of each."""
    path = tmp_path / "drowsiness_oz.npz"
    y = np.array([0, 1, 1, 0, 1, 0])
    # Each epoch's samples hold its index, to find it in what was selected.
    data = np.broadcast_to(np.arange(6.0)[:, None, None], (6, 1, 384))
    np.savez(path, X=data, y=y, subject=np.array([1, 1, 1, 2, 2, 2]))
    epochs = load_drowsiness(path, verbose=False)
    assert epochs.event_id == {"alert": 1, "drowsy": 2}
    np.testing.assert_array_equal(epochs.events[:, 2], [1, 2, 2, 1, 2, 1])
    drowsy = epochs["drowsy"].get_data()[:, 0, 0] * 1e6  # in microvolts
    np.testing.assert_allclose(drowsy, [1.0, 2.0, 4.0])
    second = load_drowsiness(path, subjects=[2], verbose=False)
    np.testing.assert_array_equal(second.events[:, 2], [1, 2, 1])


def test_drowsiness_epochs_follow_one_another_in_time(tmp_path):
    """Each 3-s window is a separate stretch of recording: the events place
    each one epoch after the previous (no two overlap), as simulated epochs are
    placed; at one sample apart, every window overlapped the next by all but
    one sample."""
    path = tmp_path / "drowsiness_oz.npz"
    np.savez(path, X=np.zeros((4, 1, 384)), y=np.arange(4) % 2, subject=np.ones(4, int))
    epochs = load_drowsiness(path, verbose=False)
    np.testing.assert_array_equal(np.diff(epochs.events[:, 0]), [384] * 3)
    assert len(epochs.times) == 384


def test_drowsiness_path_takes_the_folder_mne_data_would_name(
    monkeypatch, tmp_path, drowsiness_path
):
    """With MNE_DATA unset, the refusal said to set it "to the folder that holds
    drowsiness/drowsiness_oz.npz, or pass path="; that folder as path failed with
    "No drowsiness data at <folder>/drowsiness_oz.npz", where load_eegbci takes
    it."""
    root = drowsiness_path.parent.parent
    monkeypatch.delenv("MNE_DATA", raising=False)
    monkeypatch.setenv("_MNE_FAKE_HOME_DIR", str(tmp_path))  # no config file
    with pytest.raises(FileNotFoundError, match="pass that folder .* as path=") as err:
        load_drowsiness(subjects=[1], verbose=False)
    assert "holds drowsiness/drowsiness_oz.npz" in str(err.value)
    # As advised, and as the file or its folder.
    expected = load_drowsiness(drowsiness_path, subjects=[1], verbose=False)
    for path in (root, str(root), drowsiness_path.parent):
        epochs = load_drowsiness(path, subjects=[1], verbose=False)
        np.testing.assert_array_equal(epochs.get_data(), expected.get_data())
    with pytest.raises(FileNotFoundError, match="at .*drowsiness_oz.npz or .*"):
        load_drowsiness(tmp_path, verbose=False)
    # A file that is not there is named, not taken for a folder.
    missing = tmp_path / "other.npz"
    with pytest.raises(FileNotFoundError, match=f"^No drowsiness data at {missing}.$"):
        load_drowsiness(missing, verbose=False)
    # MNE_DATA, as the refusal said to set it.
    monkeypatch.setenv("MNE_DATA", str(root))
    epochs = load_drowsiness(subjects=[1], verbose=False)
    np.testing.assert_array_equal(epochs.get_data(), expected.get_data())
