"""Shared fixtures: the real recordings under MNE_DATA, and small trained networks."""

import os
import pickle
from pathlib import Path

import matplotlib.pyplot as plt
import mne
import numpy as np
import pytest


def pytest_configure(config):
    """Give each pytest-xdist worker its share of the cores for torch's threads."""
    # torch defaults to one thread per core in every process: two workers on
    # two cores would each run two threads and contend for them.
    n_workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if n_workers:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(n_workers)))


def _require_data(relative):
    """Return MNE_DATA/relative, failing in CI and skipping elsewhere when missing."""
    root = mne.get_config("MNE_DATA")
    path = None if root is None else Path(root) / relative
    if path is None or not path.exists():
        message = (
            f"Real EEG data not found ({relative}); set MNE_DATA to the folder holding "
            "MNE-eegbci-data and drowsiness (see shared/data/README.md)."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every test's figures, so no test sees another's on the same worker."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def mne_data():
    """The MNE_DATA folder, checked to hold the EEGBCI recordings."""
    _require_data("MNE-eegbci-data")
    return Path(mne.get_config("MNE_DATA"))


@pytest.fixture(scope="session")
def drowsiness_path():
    """The driver-drowsiness Oz file."""
    return _require_data(Path("drowsiness") / "drowsiness_oz.npz")


@pytest.fixture(scope="session")
def eegbci_epochs(mne_data):
    """EEGBCI subject 1 hands vs feet, 7-30 Hz, -1..4 s (read once per session)."""
    from mne_xai.datasets import load_eegbci

    return load_eegbci(1, "hands_vs_feet", path=mne_data, verbose=False)


IMAGERY_WINDOW = (0.5, 2.5)


@pytest.fixture
def imagery_epochs(eegbci_epochs):
    """The motor imagery period (0.5-2.5 s) of EEGBCI hands vs feet, a fresh copy."""
    return eegbci_epochs.copy().crop(*IMAGERY_WINDOW)


def _trained_once(tmp_path_factory, worker_id, estimator, epochs):
    """``estimator`` fitted to ``epochs`` by one pytest-xdist worker, read by all.

    The shared networks train at the defaults, as a user's would (a network
    that has barely learned says little about what attributions show of a
    trained one); a minute or two of training is paid once, not per worker.
    """
    if worker_id == "master":  # not under pytest-xdist
        return estimator.fit(epochs)
    from filelock import FileLock

    path = tmp_path_factory.getbasetemp().parent / f"{type(estimator).__name__}.pkl"
    with FileLock(f"{path}.lock"):
        if not path.is_file():
            path.write_bytes(pickle.dumps(estimator.fit(epochs)))
        return pickle.loads(path.read_bytes())


@pytest.fixture(scope="session")
def fitted_eegnet(tmp_path_factory, worker_id, eegbci_epochs):
    """EEGNetClassifier at its defaults, trained on all EEGBCI imagery epochs
    (shared; do not modify it)."""
    from mne_xai import EEGNetClassifier

    estimator = EEGNetClassifier(random_state=0, verbose=False)
    epochs = eegbci_epochs.copy().crop(*IMAGERY_WINDOW)
    return _trained_once(tmp_path_factory, worker_id, estimator, epochs)


@pytest.fixture(scope="session")
def fitted_icnn(tmp_path_factory, worker_id, eegbci_epochs):
    """InterpretableCNNClassifier at its defaults, trained on all EEGBCI imagery
    epochs (shared; do not modify it)."""
    from mne_xai import InterpretableCNNClassifier

    estimator = InterpretableCNNClassifier(random_state=0, verbose=False)
    epochs = eegbci_epochs.copy().crop(*IMAGERY_WINDOW)
    return _trained_once(tmp_path_factory, worker_id, estimator, epochs)


@pytest.fixture
def synthetic_arrays():
    """Small two-class arrays whose classes differ in channel 0's amplitude."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4, 64)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    X[y == 1, 0] *= 3
    return X, y


@pytest.fixture(scope="session")
def spatial_epochs():
    """Simulated two-class EEG (40 epochs, 1 s at 64 Hz) with a spatial feature."""
    from mne_xai.simulation import simulate_epochs

    epochs, _ = simulate_epochs(
        "spatial",
        n_epochs=40,
        sfreq=64.0,
        duration=1.0,
        snr=2.0,
        random_state=0,
        verbose=False,
    )
    return epochs


@pytest.fixture(scope="session")
def spatial_epochs_with_eog(spatial_epochs):
    """The simulated spatial epochs plus an EOG channel (Fp1's signal, tripled)."""
    eog = mne.EpochsArray(
        spatial_epochs.get_data(picks=["Fp1"]) * 3,
        mne.create_info(["EOG"], spatial_epochs.info["sfreq"], "eog"),
        events=spatial_epochs.events,
        event_id=spatial_epochs.event_id,
        tmin=spatial_epochs.tmin,
        verbose=False,
    )
    return spatial_epochs.copy().add_channels([eog], force_update_info=True)


@pytest.fixture
def epochs_reads(monkeypatch):
    """The number of epochs each ``get_data`` call reads, while the test runs."""
    reads = []
    get_data = mne.BaseEpochs.get_data

    def spy(self, *args, **kwargs):
        data = get_data(self, *args, **kwargs)
        reads.append(len(data))
        return data

    monkeypatch.setattr(mne.BaseEpochs, "get_data", spy)
    return reads
