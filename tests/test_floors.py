"""The oldest supported releases: requirements/floors.txt, and their code paths.

``make test-floors`` runs this file, with a few tests of other files, in an
environment holding the floors; the simulations below run in every environment.
"""

import os
import pickle
import re
from importlib import metadata
from pathlib import Path

import mne
import numpy as np
import pytest
import torch
from packaging.version import Version

from mne_xai import EEGNetClassifier
from mne_xai.attribution import explain_spectrum
from mne_xai.datasets import _builtin_montage
from mne_xai.viz import plot_band_topomaps

ROOT = Path(__file__).parents[1]
FAST = dict(max_epochs=3, batch_size=8, verbose=False, random_state=0)


def _pyproject_floors():
    """``{name: version}`` of pyproject.toml's dependencies, each ``name>=version``."""
    text = (ROOT / "pyproject.toml").read_text()
    # tomllib is Python 3.11+; the package supports 3.10.
    listed = re.search(r"^dependencies = \[(.*?)^\]", text, re.M | re.S).group(1)
    requirements = re.findall(r'"([^"]+)"', listed)
    floors = dict(
        re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement).groups()
        for requirement in requirements
    )
    assert len(floors) == len(requirements)
    return floors


def _pinned_floors():
    """``{name: version}`` of requirements/floors.txt, each ``name==version``."""
    lines = (ROOT / "requirements" / "floors.txt").read_text().splitlines()
    lines = [line.split("#")[0].strip() for line in lines]
    pins = [
        re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9.]+)", line) for line in lines if line
    ]
    assert all(pins), "requirements/floors.txt holds name==version lines only"
    return dict(pin.groups() for pin in pins)


def test_the_constraints_pin_the_floors_of_pyproject():
    """A floor raised in one of the two files only would test another floor."""
    assert _pinned_floors() == _pyproject_floors()


def test_the_environment_holds_the_floors():
    """make test-floors runs on the floors, not on newer releases."""
    if not os.environ.get("MNE_XAI_FLOORS"):
        pytest.skip("make test-floors sets MNE_XAI_FLOORS")
    # torch is TORCH_SPEC's, the build the machines hold (see the Makefile).
    floors = {
        name: Version(version)
        for name, version in _pinned_floors().items()
        if name != "torch"
    }
    assert {name: Version(metadata.version(name)) for name in floors} == floors


def _epochs(other="eog", n_epochs=40, seed=0):
    """4 EEG channels of std 1e-5 beside 2 of type ``other`` (EOG: 3e-4).

    The first two channels are three times louder in class 2.
    """
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 2], n_epochs // 2)
    X = rng.standard_normal((n_epochs, 6, 64)) * 1e-5
    X[y == 2, :2] *= 3
    if other == "eog":
        X[:, 4:] *= 30
    names = ["C3", "C4", "Cz", "Pz"] + (
        ["Fz", "Oz"] if other == "eeg" else ["E1", "E2"]
    )
    info = mne.create_info(names, 64.0, ["eeg"] * 4 + [other] * 2)
    info.set_montage(_builtin_montage("1020"), on_missing="ignore")
    events = np.column_stack([np.arange(n_epochs) * 100, np.zeros(n_epochs, int), y])
    return mne.EpochsArray(X, info, events=events, verbose=False)


def test_older_checkpoints_load_with_the_pre_hooks_of_torch_before_2_5(
    monkeypatch, tmp_path
):
    """torch 2.1-2.4 have no public Module.register_load_state_dict_pre_hook
    (torch 2.5 added it): every fit, initialize and load_params failed there with
    "'EEGNet' object has no attribute 'register_load_state_dict_pre_hook'". The
    private method's hooks let parameters saved by earlier versions load: without
    a digest, and with one scale for EEG and EOG."""
    monkeypatch.delattr(torch.nn.Module, "register_load_state_dict_pre_hook")
    epochs = _epochs("eog")
    clf = EEGNetClassifier(picks="all", **FAST).fit(epochs)
    expected = clf.predict_proba(epochs)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(epochs), expected
    )
    clf.save_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(picks="all", **FAST).initialize(epochs)
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(restored.predict_proba(epochs), expected)

    older = torch.load(tmp_path / "params.pt", weights_only=True)
    del older["training_channels"]
    scale = 1 / np.std(epochs.get_data())
    older["input_scale"] = torch.tensor(scale)
    older["training_std"] = torch.tensor(1 / scale, dtype=torch.float64)
    torch.save(older, tmp_path / "older.pt")
    restored = EEGNetClassifier(picks="all", **FAST).initialize(epochs)
    with pytest.warns(RuntimeWarning, match="saved without the digest of their chan"):
        restored.load_params(f_params=tmp_path / "older.pt")
    assert restored.input_scale_ == pytest.approx(scale)
    assert restored.data_std_ == pytest.approx(1 / scale)
    clf.module_.input_scale.fill_(scale)
    np.testing.assert_array_equal(
        restored.predict_proba(epochs), clf.predict_proba(epochs)
    )


@pytest.fixture(scope="module")
def fitted():
    """EEGNet fitted on EEG epochs."""
    epochs = _epochs("eeg")
    return EEGNetClassifier(**dict(FAST, max_epochs=20)).fit(epochs), epochs


@pytest.mark.parametrize("setter", [True, False])
def test_averaged_spectra_say_how_many_epochs_they_average(fitted, monkeypatch, setter):
    """Before mne 1.11 a spectrum's nave had no setter: explain_spectrum with
    average=True (and maximize_activation, the inspections' summaries, the
    report's figures) failed with "property 'nave' of 'SpectrumArray' object has
    no setter"."""
    from mne.time_frequency.spectrum import BaseSpectrum

    if not setter:
        monkeypatch.setattr(BaseSpectrum, "nave", property(lambda self: self._nave))
    clf, epochs = fitted
    spectrum = explain_spectrum(
        clf, epochs[:10], "saliency", target=2, average=True, verbose=False
    )
    assert isinstance(spectrum, mne.time_frequency.SpectrumArray)
    assert spectrum.nave == 10
    # spectrum.copy() failed on mne 1.7 (the reason for the mne 1.8 floor).
    assert spectrum.copy().nave == 10
    plot_band_topomaps(spectrum, {"alpha": (8, 13), "beta": (13, 30)}, show=False)


def _use_log_level_before_mne_1_13(self):
    """mne<1.13's use_log_level.__enter__: None reset the level."""
    self._old_level = mne.set_log_level(
        self._level, return_old_level=True, add_frames=self._add_frames
    )


@pytest.mark.parametrize("mne_before_1_13", [False, True])
def test_verbose_none_keeps_the_level_mne_was_set_to(
    fitted, monkeypatch, capsys, mne_before_1_13
):
    """Until mne 1.13, use_log_level(None) reset MNE's level (to INFO unless
    MNE_LOGGING_LEVEL said otherwise): fit and partial_fit with verbose=None
    printed the training after mne.set_log_level("warning")."""
    if mne_before_1_13:
        monkeypatch.setattr(
            mne.utils.use_log_level, "__enter__", _use_log_level_before_mne_1_13
        )
    monkeypatch.delenv("MNE_LOGGING_LEVEL", raising=False)
    _, epochs = fitted
    clf = EEGNetClassifier(**dict(FAST, max_epochs=20, verbose=None))
    previous = mne.set_log_level("warning", return_old_level=True)
    try:
        clf.fit(epochs).partial_fit(epochs)
        assert mne.utils.logger.level == 30
    finally:
        mne.set_log_level(previous)
    assert "train_loss" not in capsys.readouterr().out
    with mne.utils.use_log_level("info"):
        clf.fit(epochs)
    assert "train_loss" in capsys.readouterr().out


def test_the_reports_trust_table_formats_its_numbers(fitted):
    """The table of make_report's trust section (DataFrame.map: pandas 2.1)."""
    from mne_xai.evaluate import trust_summary
    from mne_xai.report._trust_section import _trust_table

    clf, epochs = fitted
    summary = trust_summary(
        clf, epochs, ["saliency"], n_steps=4, random_state=0, verbose=False
    )
    table = _trust_table(summary)
    assert sorted(table.index) == ["random", "saliency"]
    assert re.fullmatch(r"-?\d\.\d\d", table.loc["saliency", "AOPC"])
    assert table.loc["random", "randomization"] == ""
