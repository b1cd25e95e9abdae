"""The code paths of the oldest supported releases, simulated where possible."""

import pickle
import re

import mne
import numpy as np
import pytest
import torch

from mne_xai import EEGNetClassifier
from mne_xai.attribution import explain_spectrum
from mne_xai.datasets import _builtin_montage
from mne_xai.viz import plot_band_topomaps

FAST = dict(max_epochs=3, batch_size=8, verbose=False, random_state=0)


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
