import pickle
import warnings

import mne
import numpy as np
import pytest
import sklearn
import torch
from mne.utils import catch_logging, use_log_level
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.metadata_routing import get_routing_for_object
from skorch import NeuralNetClassifier

import mne_xai
from mne_xai import EEGNetClassifier, InterpretableCNNClassifier
from mne_xai._convert import InputData
from mne_xai._network import as_network
from mne_xai.attribution._core import _resolve_target
from mne_xai.cropping import CroppedClassifier
from mne_xai.datasets import _builtin_montage
from mne_xai.evaluate import (
    data_randomization_check,
    deletion_curve,
    deletion_test,
    map_similarity,
    perturbation_test,
    target_randomization_check,
)
from mne_xai.evaluate.sanity._similarity import _ssim_of_unit_maps, _unit_magnitude
from mne_xai.inspect import (
    best_samples,
    learn_patterns,
    pruning_curve,
    spatial_patterns,
    temporal_filters,
)
from mne_xai.report._context import _Context

SFREQ = 100.0


class MeanClassifier(ClassifierMixin, BaseEstimator):
    """Records what it was trained on; P(class 1) is the window's mean value."""

    def fit(self, X, y):
        self.X_fit_, self.y_fit_ = X, np.asarray(y)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        data = X.get_data() if isinstance(X, mne.BaseEpochs) else X
        positive = data.mean(axis=(1, 2))
        return np.column_stack([1 - positive, positive])


class _RecordedGroupKFold(GroupKFold):
    """GroupKFold that records the groups of the folds it splits."""

    def __init__(self, n_splits=5):
        super().__init__(n_splits)
        self.splits = []

    def split(self, X, y=None, groups=None):
        for train, test in super().split(X, y, groups):
            self.splits.append((groups[train], groups[test]))
            yield train, test

    def assert_whole_epochs_held_out(self):
        """Check that it split, and no group lies on both sides of a split."""
        assert len(self.splits) == self.n_splits
        for train_groups, test_groups in self.splits:
            assert not set(train_groups) & set(test_groups)


class _WeightedMeanClassifier(MeanClassifier):
    """MeanClassifier whose fit takes sample weights, and no groups."""

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, y)


class _FirstChannelClassifier(MeanClassifier):
    """Reads the first channel of the windows alone, as its ch_names_ says."""

    picked = slice(None, 1)

    def fit(self, X, y):
        self.ch_names_ = X.ch_names[self.picked]
        return super().fit(X.copy().pick(self.ch_names_), y)

    def predict_proba(self, X):
        return super().predict_proba(X.copy().pick(self.ch_names_))


class _LastChannelsClassifier(_FirstChannelClassifier):
    """Reads the last two channels of the windows."""

    picked = slice(-2, None)


def _ramp_epochs(n_epochs=4, n_channels=2, n_times=101):
    """Arrays whose value is the time in seconds, so a window shows where it was cut."""
    times = np.arange(n_times) / SFREQ
    data = np.broadcast_to(times, (n_epochs, n_channels, n_times)).copy()
    return data, np.arange(n_epochs) % 2


def _ramp_epochs_with_events(tmin=0.0):
    """Ramps as Epochs on C3 and C4 whose events "a" (1) and "b" (2) are the labels."""
    data, y = _ramp_epochs()
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    events = np.column_stack([np.arange(4) * 200, np.zeros(4, int), y + 1])
    return mne.EpochsArray(
        data, info, events=events, tmin=tmin, event_id={"a": 1, "b": 2}, verbose=False
    )


@pytest.mark.parametrize(
    "params, starts",
    [
        # A last window ends on the last sample of the span (100, or 90).
        (dict(window_length=0.5, window_step=0.25), [0, 25, 50, 51]),
        (dict(window_length=0.5, window_step=0.2), [0, 20, 40, 51]),
        (dict(window_length=0.5, window_step=0.25, tmin=0.01), [1, 26, 51]),
        (
            dict(window_length=0.2, window_step=0.1, tmin=0.5, tmax=0.9),
            [50, 60, 70, 71],
        ),
        (dict(window_length=1.01, window_step=0.5), [0]),
        # 0.29 * 100 is 28.999...: rounded to 29 samples, not cut to 28.
        (dict(window_length=0.29, window_step=0.29), [0, 29, 58, 72]),
    ],
)
def test_window_positions(params, starts):
    data, y = _ramp_epochs()
    clf = CroppedClassifier(MeanClassifier(), sfreq=SFREQ, **params).fit(data, y)
    assert_array_equal(clf.window_starts_, starts)
    windows = clf.estimator_.X_fit_
    n_windows = len(starts)
    assert windows.shape == (len(data) * n_windows, 2, clf.window_samples_)
    # Epoch-major order; every window holds the samples it was cut from.
    for index, start in enumerate(starts * len(data)):
        assert_allclose(windows[index, 0, 0], start / SFREQ)
    assert_array_equal(clf.estimator_.y_fit_, np.repeat(y, n_windows))


@pytest.mark.parametrize(
    "n_times, window_samples, n_windows",
    # 91 samples span 0.91 s: windows of 0.455 s, 45.5 samples rounded to 46.
    [(101, 50, 10), (91, 46, 9), (401, 200, 10), (1001, 200, 34)],
)
def test_auto_windows_are_half_the_span_up_to_2_s_an_eighth_apart(
    n_times, window_samples, n_windows
):
    data, y = _ramp_epochs(n_times=n_times)
    clf = CroppedClassifier(MeanClassifier(), sfreq=SFREQ).fit(data, y)
    assert clf.window_samples_ == window_samples
    steps = np.diff(clf.window_starts_[:-1])  # the last window ends on tmax
    assert_array_equal(steps, round(window_samples / 8))
    assert len(clf.window_starts_) == n_windows


def test_auto_windows_are_half_the_span_between_tmin_and_tmax():
    """ "auto" halves the span windows are cut from, not the whole epoch: 0.2 to
    0.59 s is 40 samples, so windows of 20, the first at 0.2 s, the last
    ending at 0.59 s (half the 101-sample epoch would not even fit)."""
    data, y = _ramp_epochs()
    clf = CroppedClassifier(MeanClassifier(), sfreq=SFREQ, tmin=0.2, tmax=0.59)
    clf.fit(data, y)
    assert clf.window_samples_ == 20
    assert clf.window_starts_[0] == 20 and clf.window_starts_[-1] == 40


def test_auto_step_is_an_eighth_of_window_length_rounded_once():
    """The "auto" step is an eighth of window_length as given, then rounded: an
    eighth of 0.436 s is 5.45 samples, so 5 (not an eighth of the 44-sample
    window, 5.5, rounded to 6)."""
    data, y = _ramp_epochs()
    clf = CroppedClassifier(MeanClassifier(), sfreq=SFREQ, window_length=0.436)
    clf.fit(data, y)
    assert clf.window_samples_ == 44
    assert_array_equal(np.diff(clf.window_starts_[:-1]), 5)


def test_predict_averages_windows():
    data, y = _ramp_epochs()
    data[1] *= 0.5
    clf = CroppedClassifier(
        MeanClassifier(), window_length=0.5, window_step=0.25, sfreq=SFREQ
    ).fit(data, y)
    # Window means are 0.245, 0.495, 0.745, 0.755 s; epoch 1 is scaled by a half.
    expected = np.mean([0.245, 0.495, 0.745, 0.755]) * np.array([1, 0.5, 1, 1])
    proba = clf.predict_proba(data)
    assert_allclose(proba[:, 1], expected)
    assert_allclose(proba.sum(axis=1), 1)
    assert_array_equal(clf.predict(data), [1, 0, 1, 1])
    assert clf.score(data, [1, 0, 1, 1]) == 1.0


def test_epochs_input():
    epochs = _ramp_epochs_with_events(tmin=-0.2)
    clf = CroppedClassifier(
        MeanClassifier(), window_length=0.5, window_step=0.25, tmin=0.0
    ).fit(epochs)
    # tmin is on the epochs' time axis: 0 s is sample 20.
    assert_array_equal(clf.window_starts_, [20, 45, 51])
    windows = clf.estimator_.X_fit_
    assert isinstance(windows, mne.EpochsArray)
    assert windows.ch_names == ["C3", "C4"]
    assert windows.info["sfreq"] == SFREQ
    assert_array_equal(clf.classes_, [1, 2])
    assert_array_equal(clf.estimator_.y_fit_, np.repeat(epochs.events[:, 2], 3))
    assert clf.info_["sfreq"] == SFREQ
    # A list of Epochs (what scikit-learn's indexing gives) works like Epochs.
    assert_allclose(
        clf.predict_proba([epochs[:2], epochs[2:]]), clf.predict_proba(epochs)
    )
    assert 0 <= clf.score(epochs) <= 1


def test_a_column_of_labels_is_read_as_one_label_per_epoch():
    """y of shape (n_epochs, 1) is raveled with scikit-learn's warning, as its
    estimators do; unraveled, a column of the event codes was not read as the
    events, and score then needed y."""
    epochs = _ramp_epochs_with_events()
    codes = epochs.events[:, 2]
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        clf.fit(epochs, codes[:, None])
    assert clf.events_are_labels_
    assert_array_equal(clf.estimator_.y_fit_, np.repeat(codes, len(clf.window_starts_)))


def test_windows_of_epochs_cover_them_from_their_first_sample():
    """Without tmin, windows start at the epochs' first sample (-0.2 s here),
    not at 0 s, and the last one ends on their last sample."""
    data, y = _ramp_epochs()
    epochs = mne.EpochsArray(data, mne.create_info(2, SFREQ, "eeg"), tmin=-0.2)
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5, window_step=0.25)
    assert_array_equal(clf.fit(epochs, y).window_starts_, [0, 25, 50, 51])


def test_the_rate_of_epochs_overrides_sfreq():
    """sfreq is for arrays: Epochs are cut at the rate of their info (0.5 s is
    50 samples at 100 Hz), not at a conflicting sfreq."""
    data, y = _ramp_epochs()
    epochs = mne.EpochsArray(data, mne.create_info(2, SFREQ, "eeg"))
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5, sfreq=2 * SFREQ)
    clf.fit(epochs, y)
    assert clf.sfreq_ == SFREQ and clf.window_samples_ == 50


@pytest.mark.parametrize("nested", [False, True])
def test_new_epochs_need_only_the_channels_the_estimator_reads(nested):
    """An estimator reading fewer channels than its windows hold (ch_names_)
    needs only those of new epochs, and the classifier counts only those; also
    as the last step of a Pipeline that is the last step of another."""
    data, y = _ramp_epochs()
    epochs = mne.EpochsArray(data, mne.create_info(["C3", "C4"], SFREQ, "eeg"))
    estimator = _FirstChannelClassifier()
    if nested:
        inner = make_pipeline(FunctionTransformer(), estimator)
        estimator = make_pipeline(FunctionTransformer(), inner)
    clf = CroppedClassifier(estimator, window_length=0.5)
    clf.fit(epochs, y)
    assert clf.info_.ch_names == ["C3"] and clf.n_channels_ == 1
    only_c3 = epochs.copy().pick(["C3"])
    assert_allclose(clf.predict_proba(only_c3), clf.predict_proba(epochs))


@pytest.mark.parametrize(
    ("estimator", "reference"),
    [(_FirstChannelClassifier(), "average"), (_LastChannelsClassifier(), "C3")],
)
def test_the_training_reference_is_that_of_the_channels_the_estimator_reads(
    estimator, reference
):
    """Average-referenced C3, Cz and C4 sum to zero, C3 alone shows no
    reference: read on every channel cut, the training reference was "average",
    and predicting the training epochs warned that C3 showed another. Cz and C4
    of data referenced to C3 show none either: C3's zeros, read as Cz's, would
    say otherwise."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4"], SFREQ, "eeg")
    data = rng.standard_normal((4, 3, 101)) * 1e-5
    subtracted = data.mean(axis=1) if reference == "average" else data[:, 0]
    epochs = mne.EpochsArray(data - subtracted[:, None], info)
    clf = CroppedClassifier(estimator, window_length=0.5)
    clf.fit(epochs, np.arange(4) % 2)
    assert clf.eeg_reference_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict_proba(epochs)


def test_the_training_info_is_kept_apart_from_the_epochs():
    """info_ is a copy: channels of the training Epochs renamed in place after
    fit renamed those the classifier was trained on, and checks new data by."""
    data, y = _ramp_epochs()
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    epochs = mne.EpochsArray(data, info, verbose=False)
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5).fit(epochs, y)
    epochs.rename_channels({"C3": "FC3"})
    assert clf.info_.ch_names == ["C3", "C4"]


def test_epochs_not_preloaded_are_read_a_few_at_a_time(
    tmp_path, epochs_reads, monkeypatch
):
    """predict_proba read all the epochs at once and cut all their windows."""
    data, y = _ramp_epochs(n_epochs=12)
    data *= 1e-5 * np.arange(1, 13)[:, None, None]  # volts, one scale per epoch
    events = np.column_stack([np.arange(12) * 200, np.zeros(12, int), y + 1])
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    epochs = mne.EpochsArray(data, info, events=events, verbose=False)
    epochs.save(tmp_path / "ramps-epo.fif", verbose=False)
    lazy = mne.read_epochs(tmp_path / "ramps-epo.fif", preload=False, verbose=False)
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5, window_step=0.25)
    clf.fit(epochs)
    monkeypatch.setattr(mne_xai.cropping, "EPOCHS_PER_PREDICTION", 5, raising=False)
    epochs_reads.clear()
    assert_allclose(clf.predict_proba(lazy), clf.predict_proba(epochs), rtol=1e-6)
    # MeanClassifier reads the windows too: 4 per epoch.
    n_windows = len(clf.window_starts_)
    assert epochs_reads and max(epochs_reads) <= 5 * n_windows < 12 * n_windows


def test_sklearn_api():
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False), window_length=0.5, sfreq=SFREQ
    )
    params = clf.get_params(deep=True)
    assert params["estimator__max_epochs"] == 1
    assert params["window_length"] == 0.5
    clf.set_params(estimator__max_epochs=2, window_step=0.1)
    assert clf.estimator.max_epochs == 2
    copy = clone(clf)
    assert copy.get_params()["estimator__max_epochs"] == 2
    assert copy.window_step == 0.1
    assert not hasattr(copy, "estimator_")
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 2, 101)))


def test_cross_val_score_and_pickle():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((16, 3, 100)) * 1e-5
    y = np.arange(16) % 2
    # Class 1 carries a 10 Hz rhythm on the first channel.
    data[y == 1, 0] += 3e-5 * np.sin(2 * np.pi * 10 * np.arange(100) / SFREQ)
    info = mne.create_info(3, SFREQ, "eeg")
    epochs = mne.EpochsArray(data, info, verbose=False)
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=2, batch_size=16, random_state=0, verbose=False),
        window_length=0.5,
        window_step=0.25,
    )
    scores = cross_val_score(clf, epochs, y, cv=StratifiedKFold(2))
    assert scores.shape == (2,)
    fitted = clf.fit(epochs, y)
    # The windows are shifts of the epochs already; the user's network is kept.
    assert fitted.estimator_.time_shift == 0 and clf.estimator.time_shift == 0.05
    restored = pickle.loads(pickle.dumps(fitted))
    assert_allclose(restored.predict_proba(epochs), fitted.predict_proba(epochs))
    # Reproducible with a fixed random_state.
    assert_allclose(
        clone(clf).fit(epochs, y).predict_proba(epochs), fitted.predict_proba(epochs)
    )


@pytest.mark.parametrize(
    "params, fit_kwargs, match",
    [
        (dict(), dict(), "sfreq is required"),
        (dict(sfreq=SFREQ, window_length=2.0), dict(), "No window of 2.0 s fits"),
        (dict(sfreq=SFREQ, tmin=0.5, tmax=0.6), dict(), "No window"),
        (dict(sfreq=SFREQ, tmin=-0.1), dict(), "must lie within the epochs"),
        (dict(sfreq=SFREQ, tmax=1.5), dict(), "must lie within the epochs"),
        # The last sample is at 1 s: 1.011 s is more than half a sample after.
        (dict(sfreq=SFREQ, tmax=1.011), dict(), "which span 0 to 1 s"),
        # 0.8 sample after: past the half sample that would round to the last.
        (dict(sfreq=SFREQ, tmax=1.008), dict(), "which span 0 to 1 s"),
        (dict(sfreq=SFREQ, window_step=0.001), dict(), "shorter than one sample"),
        (dict(sfreq=SFREQ, window_length=-1.0), dict(), "window_length must be"),
        (dict(sfreq=SFREQ, window_length=0), dict(), "window_length must be positive"),
        (dict(sfreq=SFREQ, window_length=0.001), dict(), "shorter than one sample"),
        # A rate of 0 failed in Python's "float division by zero"; a negative
        # one blamed tmin and tmax.
        (dict(sfreq=0), dict(), r"sfreq must be a positive rate in Hz, got 0"),
        (dict(sfreq=-100.0), dict(), r"sfreq must be a positive rate in Hz, got -100"),
        (dict(sfreq=SFREQ), dict(y=None), "y is required"),
        (dict(sfreq=SFREQ), dict(y=[0, 1]), "one label per epoch"),
    ],
)
def test_fit_errors(params, fit_kwargs, match):
    data, y = _ramp_epochs()
    params = dict(dict(window_length=0.5), **params)
    clf = CroppedClassifier(MeanClassifier(), **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(data, fit_kwargs.get("y", y))


def test_class_weight_keyed_by_event_names_is_told_how_to_key_them():
    """The windows carry no event names: inside a CroppedClassifier, the weights
    of a class keyed by its event name got no hint that the classes are codes."""
    data, y = _ramp_epochs()
    info = mne.create_info(2, SFREQ, "eeg")
    events = np.column_stack([np.arange(4) * 200, np.zeros(4, int), y + 1])
    epochs = mne.EpochsArray(
        data * 1e-5, info, events, event_id={"rest": 1, "move": 2}, verbose=False
    )
    network = EEGNetClassifier(max_epochs=1, class_weight={"move": 2.0}, verbose=False)
    with pytest.raises(ValueError, match=r"events' codes \({'move': 2}\): key the"):
        CroppedClassifier(network, window_length=0.5).fit(epochs)


def test_the_window_estimator_knows_the_events_of_the_epochs():
    """The windows carried one made-up event ('1'): the window estimator refused
    its own labels, in explain(target="move") and score(windows)."""
    data, y = _ramp_epochs(n_epochs=8)
    info = mne.create_info(2, SFREQ, "eeg")
    events = np.column_stack([np.arange(8) * 200, np.zeros(8, int), y + 1])
    epochs = mne.EpochsArray(
        data * 1e-5, info, events, event_id={"rest": 1, "move": 2}, verbose=False
    )
    network = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0)
    cropped = CroppedClassifier(network, window_length=0.5).fit(epochs)
    inner = cropped.estimator_
    assert inner.event_id_ == {"rest": 1, "move": 2} and inner.events_are_labels_
    windows = cropped._windows(data * 1e-5, cropped.info_, InputData(epochs))
    mne_xai.explain(inner, windows, "saliency", target="move", verbose=False)
    assert 0 <= inner.score(windows) <= 1


def test_arrays_take_the_rate_of_the_estimators_info():
    """Given info=epochs.info, the estimator still asked for sfreq."""
    data, y = _ramp_epochs()
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    network = EEGNetClassifier(info=info, max_epochs=1, random_state=0, verbose=False)
    clf = CroppedClassifier(network, window_length=0.5).fit(data, y)
    assert clf.sfreq_ == SFREQ
    assert clf.window_samples_ == 50
    with pytest.raises(ValueError, match=r"sfreq is required.*or an info parameter"):
        CroppedClassifier(clone(network).set_params(info=None)).fit(data, y)
    # Only an mne.Info gives a rate: a channel's name in its place failed as
    # "string indices must be integers".
    with pytest.raises(ValueError, match=r"sfreq is required"):
        CroppedClassifier(clone(network).set_params(info="C3")).fit(data, y)


@pytest.mark.parametrize("name", ["window_length", "tmin", "tmax"])
def test_times_that_are_no_numbers_are_named(name):
    """A tmin given as text failed comparing it with tmax, naming neither."""
    data, y = _ramp_epochs()
    clf = CroppedClassifier(MeanClassifier(), sfreq=SFREQ, **{name: "0.5"})
    with pytest.raises(TypeError, match=f"{name} must be an instance of"):
        clf.fit(data, y)


def test_a_span_within_half_a_sample_of_the_epochs_reads_them_to_their_ends():
    """Up to half a sample outside the epochs, tmin and tmax round to their
    first and last samples: -4 ms and 1.004 s at 100 Hz read all 101."""
    data, y = _ramp_epochs()
    clf = CroppedClassifier(
        MeanClassifier(), window_length=0.5, sfreq=SFREQ, tmin=-0.004, tmax=1.004
    ).fit(data, y)
    assert clf.window_starts_[0] == 0 and clf.window_starts_[-1] == 51


@pytest.mark.parametrize("estimator", ["EEGNetClassifier", None])
def test_an_estimator_that_is_no_estimator_is_refused_by_name(estimator):
    """A class's name, or None, failed as "'str' object has no attribute
    'get_params'"."""
    data, y = _ramp_epochs()
    with pytest.raises(TypeError, match="estimator must be a scikit-learn classifier"):
        CroppedClassifier(estimator, window_length=0.5, sfreq=SFREQ).fit(data, y)


def test_predict_errors():
    data, y = _ramp_epochs()
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    epochs = mne.EpochsArray(data, info, tmin=-0.2, verbose=False)
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5).fit(epochs, y)
    with pytest.raises(ValueError, match="time samples"):
        clf.predict(epochs.copy().crop(0, 0.6))
    shifted = mne.EpochsArray(data, info, tmin=0.0, verbose=False)
    with pytest.raises(ValueError, match="starts at 0 s"):
        clf.predict(shifted)
    with pytest.raises(ValueError, match="channels"):
        clf.predict(epochs.copy().rename_channels({"C3": "Cz"}))
    with pytest.raises(ValueError, match="crop them to a common time axis"):
        clf.predict([epochs[:2], shifted[2:]])


def test_epochs_prepared_otherwise_than_in_training_are_warned_of():
    """Epochs are checked against the training epochs' baseline and EEG
    reference, as by the estimators: the same preparation passes silently,
    another baseline period or reference is said."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], SFREQ, "eeg")
    data = rng.standard_normal((4, 4, 101)) * 1e-5
    # Referenced before MNE saw them: only the EEG shows it, not the info.
    referenced = data - data.mean(axis=1, keepdims=True)
    epochs = mne.EpochsArray(referenced, info, tmin=-0.2).apply_baseline((None, 0))
    raw = mne.EpochsArray(data, info, tmin=-0.2)
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5)
    clf.fit(epochs, np.arange(4) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict_proba(epochs)
    with pytest.warns(RuntimeWarning, match="baseline-corrected over -0.1 to 0 s"):
        clf.predict_proba(epochs.copy().apply_baseline((-0.1, 0)))
    with pytest.warns(RuntimeWarning, match="the training EEG an average reference"):
        clf.predict_proba(raw.copy().apply_baseline((None, 0)))


def test_epochs_at_another_rate_than_the_training_arrays_are_refused():
    """Fitted on arrays with ``sfreq``, the classifier knows its windows in
    seconds at that rate only: Epochs of as many samples at twice the rate
    span half the time, and their windows would cut other periods."""
    data, y = _ramp_epochs()
    clf = CroppedClassifier(MeanClassifier(), window_length=0.5, sfreq=SFREQ)
    clf.fit(data, y)
    faster = mne.EpochsArray(
        data, mne.create_info(["C3", "C4"], 2 * SFREQ, "eeg"), verbose=False
    )
    with pytest.raises(ValueError, match="sampled at 200.0 Hz but the estimator"):
        clf.predict(faster)


def test_only_the_channels_the_network_reads_are_needed():
    """Trained on epochs with EOG, which EEGNet leaves out by default, it refused
    to predict epochs without EOG (explain accepted them)."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "EOG"], SFREQ, ["eeg"] * 3 + ["eog"])
    with_eog = mne.EpochsArray(rng.standard_normal((8, 4, 101)) * 1e-5, info)
    y = np.arange(8) % 2
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=0.5,
    ).fit(with_eog, y)
    without_eog = with_eog.copy().drop_channels(["EOG"])
    assert_allclose(clf.predict_proba(without_eog), clf.predict_proba(with_eog))
    assert clf.info_.ch_names == ["C3", "Cz", "C4"] and clf.n_channels_ == 3


@pytest.mark.parametrize("picks", [None, "eeg"])
def test_only_the_channels_the_estimator_reads_are_cut(picks):
    """Every channel was read and cut into windows: a bad channel holding NaN
    failed the fit, though the estimator leaves bad channels out (by default,
    or by picks named by type)."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "STI"], SFREQ, ["eeg"] * 3 + ["stim"])
    data = rng.standard_normal((8, 4, 101)) * 1e-5
    data[:, 1] = np.nan
    epochs = mne.EpochsArray(data, info, verbose=False)
    epochs.info["bads"] = ["Cz"]
    clf = CroppedClassifier(
        EEGNetClassifier(picks=picks, max_epochs=1, random_state=0, verbose=False),
        window_length=0.5,
    ).fit(epochs, np.arange(8) % 2)
    assert clf.info_.ch_names == clf.estimator_.ch_names_ == ["C3", "C4"]
    assert np.isfinite(clf.predict_proba(epochs)).all()


@pytest.mark.parametrize("in_pipeline", [False, True])
@pytest.mark.filterwarnings("ignore:After training, the network predicts none")
def test_the_network_picks_channels_of_the_epochs_once(in_pipeline):
    """picks=[0, 2] chooses C3 and C4 of the Epochs; the windows hold those
    alone, among which the network must not pick [0, 2] again. The network
    is the last step of a Pipeline, and its time_shift is set to 0 there too."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4"], SFREQ, "eeg")
    epochs = mne.EpochsArray(rng.standard_normal((8, 3, 101)) * 1e-5, info)
    y = np.arange(8) % 2
    network = EEGNetClassifier(
        picks=[0, 2], max_epochs=1, random_state=0, verbose=False
    )
    estimator = (
        make_pipeline(FunctionTransformer(), network) if in_pipeline else network
    )
    clf = CroppedClassifier(estimator, window_length=0.5).fit(epochs, y)
    fitted = clf.estimator_[-1] if in_pipeline else clf.estimator_
    assert clf.info_.ch_names == fitted.ch_names_ == ["C3", "C4"]
    assert fitted.time_shift == 0 and network.picks == [0, 2]
    # An array has no channel names to pick by: refused as the network does.
    with pytest.raises(ValueError, match=r"picks=\[0, 2\] chooses channels of Epochs"):
        CroppedClassifier(estimator, window_length=0.5, sfreq=SFREQ).fit(
            epochs.get_data(), y
        )


@pytest.mark.filterwarnings("ignore:After training, the network predicts none")
def test_arrays_named_by_the_estimators_info_may_be_picked():
    """picks are refused for bare arrays only: the estimator's info names the
    channels of arrays, which picks of them all then read whole."""
    X = np.random.default_rng(0).standard_normal((8, 2, 101)) * 1e-5
    info = mne.create_info(["C3", "C4"], SFREQ, "eeg")
    network = EEGNetClassifier(
        info=info, picks=["C3", "C4"], max_epochs=1, random_state=0, verbose=False
    )
    clf = CroppedClassifier(network, window_length=0.5).fit(X, np.arange(8) % 2)
    assert clf.estimator_.ch_names_ == ["C3", "C4"]


def test_windows_of_arrays_are_read_at_the_given_rate():
    """On arrays, the inner network sized its kernels for 128 Hz whatever sfreq
    said, and its filters were reported at 128 Hz."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3, 512)).astype(np.float32)
    y = np.arange(8) % 2
    inner = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    on_arrays = CroppedClassifier(inner, sfreq=256).fit(X, y)
    info = mne.create_info(3, 256.0, "eeg")
    on_epochs = CroppedClassifier(inner).fit(mne.EpochsArray(X, info), y)
    kernel = on_epochs.estimator_.module_.temporal_conv.kernel_size
    assert kernel == (1, 129)  # EEGNet's 0.5 s kernel at 256 Hz
    assert on_arrays.estimator_.module_.temporal_conv.kernel_size == kernel
    # Also for the network inside a Pipeline.
    in_pipeline = CroppedClassifier(make_pipeline(inner), sfreq=256).fit(X, y)
    assert in_pipeline.estimator_[-1].module_.temporal_conv.kernel_size == kernel
    assert on_arrays.info_ is None and clone(on_arrays).estimator.info is None
    # Epochs are read as arrays are, by position, as the estimator reads them.
    epochs = mne.EpochsArray(X, mne.create_info(["C3", "Cz", "C4"], 256.0, "eeg"))
    assert_allclose(on_arrays.predict_proba(epochs), on_arrays.predict_proba(X))
    filtered = epochs.copy()  # as if filtered: a pass band is recorded
    with filtered.info._unlock():
        filtered.info["lowpass"] = 40.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pass band of made-up windows compared
        explained = [
            mne_xai.explain(on_arrays, data, "saliency", target=1, verbose=False)
            for data in (X, filtered)
        ]
    assert_allclose(explained[1].get_data(), explained[0].get_data())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no rate is assumed
        filters = temporal_filters(on_arrays, verbose=False)
    assert filters.sfreq == 256
    # An info of another rate, however close, would build the network for it:
    # 128 Hz kernels on windows cut at 256 Hz, silently.
    for other in (128.0, 255.5):
        slower = EEGNetClassifier(info=mne.create_info(3, other, "eeg"), max_epochs=1)
        with pytest.raises(
            ValueError, match=f"256 Hz, but the estimator's info says {other:g}"
        ):
            CroppedClassifier(slower, sfreq=256).fit(X, y)


def test_adapt_batch_norm_adapts_to_the_windows_of_new_epochs():
    """AdaBN on a cropped classifier: statistics of all windows the network reads."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3, 200)).astype(np.float32)
    y = np.arange(8) % 2
    clf = CroppedClassifier(
        InterpretableCNNClassifier(max_epochs=1, random_state=0, verbose=False),
        sfreq=SFREQ,
    ).fit(X, y)
    shifted = X * 2.5 + 0.5
    windows = clf._windows(shifted, None)
    module = clf.estimator_.module_
    module.train()  # batch norm on all windows at once is the reference
    with torch.no_grad():
        expected = torch.softmax(module(torch.from_numpy(windows)), dim=1).numpy()
    expected = expected.reshape(8, len(clf.window_starts_), 2).mean(axis=1)
    assert not np.allclose(clf.predict_proba(shifted), expected, atol=1e-3)
    assert clf.adapt_batch_norm(shifted) is clf
    assert_allclose(clf.predict_proba(shifted), expected, atol=1e-5)
    with pytest.raises(TypeError, match="MeanClassifier has no adapt_batch_norm"):
        CroppedClassifier(MeanClassifier(), sfreq=SFREQ).fit(X, y).adapt_batch_norm(X)
    # Unfitted, it said "object has no attribute 'estimator_'".
    with pytest.raises(
        NotFittedError, match="CroppedClassifier instance is not fitted"
    ):
        CroppedClassifier(MeanClassifier(), sfreq=SFREQ).adapt_batch_norm(X)


def test_windows_keep_the_projectors_of_the_epochs_unapplied():
    """An average reference added with projection=True was applied to every
    window, in training and prediction, unlike the estimators on epochs."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], SFREQ, "eeg")
    info.set_montage(_builtin_montage("1020"))
    plain = mne.EpochsArray(rng.standard_normal((8, 4, 101)) * 1e-5, info)
    with_projector = plain.copy().set_eeg_reference(projection=True)
    y = np.arange(8) % 2
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=0.5,
    )
    fitted = clf.fit(with_projector, y)
    assert_allclose(
        fitted.predict_proba(with_projector), fitted.predict_proba(plain.get_data())
    )
    assert_allclose(
        fitted.predict_proba(with_projector),
        clone(clf).fit(plain, y).predict_proba(plain),
    )


def test_windows_match_mne_crop(eegbci_epochs):
    """Windows are exactly what Epochs.crop cuts on real EEG."""
    epochs = eegbci_epochs[:3]
    clf = CroppedClassifier(
        MeanClassifier(), window_length=1.0, window_step=0.5, tmin=0.0, tmax=4.0
    ).fit(epochs, [0, 1, 0])
    sfreq = epochs.info["sfreq"]
    windows = clf.estimator_.X_fit_.get_data()
    assert len(clf.window_starts_) == 8  # every 0.5 s, and one ending at 4 s
    for index, start in enumerate(clf.window_starts_):
        tmin = epochs.times[start]
        expected = (
            epochs[0]
            .copy()
            .crop(tmin, tmin + (clf.window_samples_ - 1) / sfreq)
            .get_data()
        )
        assert_allclose(windows[index], expected[0], rtol=1e-6)


@pytest.mark.parametrize("tmin, tmax", [(0.125, 1.0), (0.005, 0.985), (-0.215, 0.5)])
def test_span_between_samples_is_read_as_mne_crop_reads_it(tmin, tmax):
    """Half a sample off the grid, tmin was rounded from the first sample, not
    from 0 s as MNE rounds it: the windows began at 0.13 s where crop(0.125, 1)
    begins at 0.12 s."""
    epochs = mne.EpochsArray(
        np.zeros((2, 1, 176)), mne.create_info(1, 100.0, "eeg"), tmin=-0.25
    )
    clf = CroppedClassifier(
        MeanClassifier(), window_length=0.2, window_step=0.1, tmin=tmin, tmax=tmax
    ).fit(epochs, [0, 1])
    cropped = epochs.copy().crop(tmin, tmax).times
    starts = epochs.times[clf.window_starts_]
    assert_allclose(starts[0], cropped[0])
    assert_allclose(starts[-1] + (clf.window_samples_ - 1) / 100.0, cropped[-1])


def test_windows_that_leave_samples_unread_are_said():
    """A step longer than the window read 30 of 64 samples without a word (the
    docstring said that the windows read every sample), and a too short "auto"
    step blamed a window_step the user never set."""
    data, y = _ramp_epochs(n_epochs=2, n_times=64)
    with pytest.warns(RuntimeWarning, match="34 of the 64 samples .* in no window"):
        clf = CroppedClassifier(
            MeanClassifier(), window_length=0.1, window_step=0.3, sfreq=SFREQ
        ).fit(data, y)
    assert_array_equal(clf.window_starts_, [0, 30, 54])
    # A step longer than the window that leaves nothing unread (one window of
    # the whole span; a last window ending on tmax) was said to leave "0 of
    # the 64 samples" unread.
    for length, starts in [(0.64, [0]), (0.32, [0, 32])]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clf = CroppedClassifier(
                MeanClassifier(), window_length=length, window_step=1.0, sfreq=SFREQ
            ).fit(data, y)
        assert_array_equal(clf.window_starts_, starts)
    with pytest.raises(ValueError, match=r'window_step="auto" \(an eighth\)=0.00'):
        CroppedClassifier(MeanClassifier(), window_length=0.03, sfreq=SFREQ).fit(
            data, y
        )


@pytest.mark.parametrize("wrapped_in", [None, "search", "pipeline"])
def test_a_window_pipeline_that_transforms_is_refused_in_its_own_terms(wrapped_in):
    """It was told to explain pipeline[-1] on pipeline[:-1].transform(epochs),
    which no window network reads; inside a search, or as the last step of a
    Pipeline passing the windows on, it still was."""
    data, y = _ramp_epochs(n_epochs=4)
    inner = make_pipeline(
        FunctionTransformer(lambda x: 2 * x),
        EEGNetClassifier(max_epochs=1, verbose=False),
    )
    if wrapped_in == "search":
        inner = GridSearchCV(inner, {"eegnetclassifier__lr": [0.01]}, cv=2)
    elif wrapped_in == "pipeline":
        inner = make_pipeline("passthrough", inner)
    clf = CroppedClassifier(inner, window_length=0.4, sfreq=SFREQ).fit(data, y)
    with pytest.raises(ValueError, match="transforms each window before the network"):
        mne_xai.explain(clf, data, "saliency")


def _eegnet_on_ramps():
    """Cropped EEGNet fitted briefly on 8 ramp epochs, five windows each."""
    data, y = _ramp_epochs(n_epochs=8)
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False),
        window_length=0.4,
        window_step=0.2,
        sfreq=SFREQ,
    ).fit(data, y)
    return clf, data, y


def test_a_failed_fit_leaves_no_fitted_state():
    """A refit that failed in the estimator's fit kept the old estimator_ with
    the new windows: CSP+LDA then predicted on windows of another length."""
    clf, data, y = _eegnet_on_ramps()
    clf.set_params(window_length=0.3)
    with pytest.raises(ValueError, match="class"):
        clf.fit(data, np.zeros(len(y)))  # one class: the network refuses it
    with pytest.raises(NotFittedError):
        clf.predict(data)


def test_windows_of_an_epoch_share_a_group():
    """Estimators whose fit takes groups get each window's epoch as its group."""
    clf, data, y = _eegnet_on_ramps()
    n_windows = len(clf.window_starts_)
    assert n_windows == 5
    assert_array_equal(
        clf.estimator_.validation_groups_, np.repeat(np.arange(8), n_windows)
    )
    # Estimators without a groups parameter are fitted as before.
    plain = CroppedClassifier(
        MeanClassifier(), window_length=0.4, window_step=0.2, sfreq=SFREQ
    ).fit(data, y)
    assert plain.estimator_.y_fit_.shape == (8 * n_windows,)
    # A search gets them for its folds: GroupKFold raised "The 'groups'
    # parameter should not be None", and no search could hold out whole epochs.
    search = GridSearchCV(  # only the folds matter here, not their scores
        MeanClassifier(),
        {},
        cv=_RecordedGroupKFold(2),
        scoring=lambda estimator, X, y: 0.0,
        error_score="raise",
    )
    clf = CroppedClassifier(search, window_length=0.4, window_step=0.2, sfreq=SFREQ)
    # The splits are recorded by the cv of the search fitted, a copy.
    clf.fit(data, y).estimator_.cv.assert_whole_epochs_held_out()


@pytest.mark.parametrize("routing", [False, True])
@pytest.mark.parametrize("wrapper", ["pipeline", "search"])
def test_windows_of_an_epoch_share_a_group_with_metadata_routing(routing, wrapper):
    """With scikit-learn's metadata routing enabled, a Pipeline refused the
    groups as 'eegnetclassifier__groups', "not routed to any object", and a
    search because the network had not requested them, though the user had
    passed none."""
    data, _ = _ramp_epochs(n_epochs=8)
    y = np.arange(8) // 2 % 2  # both classes in each fold of GroupKFold(2)
    network = EEGNetClassifier(max_epochs=1, verbose=False)
    estimator = (
        make_pipeline(network)
        if wrapper == "pipeline"
        else GridSearchCV(
            network, {"lr": [1e-3]}, cv=_RecordedGroupKFold(2), error_score="raise"
        )
    )
    with sklearn.config_context(enable_metadata_routing=routing):
        clf = CroppedClassifier(
            estimator, window_length=0.4, window_step=0.2, sfreq=SFREQ
        ).fit(data, y)
        # The clone fitted requested them, not the user's network.
        assert not get_routing_for_object(network).consumes("fit", ["groups"])
    windows_of_epochs = np.repeat(np.arange(8), len(clf.window_starts_))
    if wrapper == "pipeline":
        assert_array_equal(clf.estimator_[-1].validation_groups_, windows_of_epochs)
        return
    clf.estimator_.cv.assert_whole_epochs_held_out()
    if routing:  # routed on to the network too, as it requested them
        assert_array_equal(
            clf.estimator_.best_estimator_.validation_groups_, windows_of_epochs
        )


@pytest.mark.parametrize("routing", [False, True])
def test_a_pipeline_whose_classifier_takes_no_groups_is_fitted(routing):
    """Groups go only where a fit takes them: a Pipeline whose last step takes
    none (its fit takes sample weights) is fitted as that step alone, with
    and without metadata routing."""
    data, y = _ramp_epochs()
    params = dict(window_length=0.5, window_step=0.25, sfreq=SFREQ)
    pipeline = make_pipeline(_WeightedMeanClassifier())
    with sklearn.config_context(enable_metadata_routing=routing):
        clf = CroppedClassifier(pipeline, **params).fit(data, y)
    bare = CroppedClassifier(MeanClassifier(), **params).fit(data, y)
    assert_allclose(clf.predict_proba(data), bare.predict_proba(data))


@pytest.mark.slow
def test_cropped_eegnet_learns_motor_imagery(eegbci_epochs):
    """Cropped EEGNet separates hands from feet on held-out EEGBCI trials."""
    y = eegbci_epochs.events[:, 2]
    train, test = next(StratifiedKFold(3, shuffle=True, random_state=0).split(y, y))
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=20, batch_size=32, random_state=0, verbose=False),
        window_length=1.0,
        window_step=0.25,
        tmin=0.0,
        tmax=4.0,
    ).fit(eegbci_epochs[train])
    chance = np.mean(y[test] == np.bincount(y[test]).argmax())
    assert clf.score(eegbci_epochs[test]) > chance + 0.15


def test_the_windows_are_logged_at_the_estimator_level(capsys):
    """The number of windows was logged at MNE's level whatever the estimator's
    verbose, so silent fits (and every GridSearchCV worker) printed it."""
    data, y = _ramp_epochs()
    with use_log_level("info"):
        for verbose, logged in ((False, False), (True, True)):
            estimator = EEGNetClassifier(max_epochs=1, verbose=verbose)
            with catch_logging() as log:
                CroppedClassifier(estimator, window_length=0.5, sfreq=SFREQ).fit(
                    data.astype(np.float32), y
                )
            assert ("windows of 50 samples" in log.getvalue()) is logged


class _WindowNet(torch.nn.Module):
    """A network of the user's own, reading 2 channels x 50 samples."""

    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(2 * 50, 2)

    def forward(self, x):
        return self.dense(x.flatten(1))


def _window_classifier(skorch_class, module=None):
    """A skorch classifier of ``module`` (``_WindowNet``), trained for one pass."""
    return skorch_class(
        _WindowNet if module is None else module,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=1,
        train_split=None,
        verbose=0,
    )


@pytest.mark.parametrize(
    "window_length, said",
    [
        ("auto", r'80 samples \(0.8 s, window_length="auto"'),
        (0.4, r"40 samples \(0.4 s\)"),
    ],
)
@pytest.mark.filterwarnings("ignore:After training, the network predicts none")
def test_a_network_of_a_fixed_length_is_told_the_windows_it_read(window_length, said):
    """A network of the user's own reading 50 samples (a Linear layer after
    Flatten) failed on windows of another length: the refusal spoke of
    "epochs of shape (2, 2, 80)" alone, which the epochs of 161 samples are
    not, and said nothing of the windows or of window_length."""
    data = np.random.default_rng(0).standard_normal((4, 2, 161)).astype(np.float32)
    y = np.arange(4) % 2
    clf = CroppedClassifier(
        EEGNetClassifier(module=_WindowNet, max_epochs=1, verbose=False),
        window_length=window_length,
        sfreq=SFREQ,
    )
    with pytest.raises(
        ValueError,
        match=rf"cannot be multiplied.* the windows the CroppedClassifier cuts: "
        rf"{said}.* of the epochs' 161\. .*needs window_length of that many",
    ):
        clf.fit(data, y)
    # Windows of the length it reads are fine.
    clf.set_params(window_length=0.5).fit(data, y)
    assert clf.window_samples_ == 50


def test_a_window_network_reading_microvolts_is_explained_with_scaling():
    """A braindecode-like window network (its get_dataset multiplies Epochs by
    1e6) was refused, advised to take scaling=1e6, which as_network dropped."""

    class MicrovoltNet(NeuralNetClassifier):  # what braindecode's EEGClassifier does
        def get_dataset(self, X, y=None):
            if isinstance(X, mne.BaseEpochs):
                X = (X.get_data() * 1e6).astype(np.float32)
            return super().get_dataset(X, y)

    epochs = mne.EpochsArray(
        np.random.default_rng(0).standard_normal((6, 2, 101)) * 1e-5,
        mne.create_info(["C3", "C4"], SFREQ, "eeg"),
        tmin=-0.2,
        verbose=False,
    )
    y = np.array([0, 1] * 3)
    net = _window_classifier(MicrovoltNet)
    cropped = CroppedClassifier(net, window_length=0.5, window_step=0.25).fit(epochs, y)
    with pytest.raises(ValueError, match="multiplies Epochs by 1e"):
        mne_xai.as_network(cropped)
    network = mne_xai.as_network(cropped, scaling=1e6)
    # The network explained predicts as the classifier, on the data in volts.
    data = network._check_prediction_input(epochs)
    assert_allclose(
        network.class_probabilities(data), cropped.predict_proba(epochs), rtol=1e-5
    )
    maps = mne_xai.explain(network, epochs, "saliency", verbose=False)
    assert maps.ch_names == ["C3", "C4"] and np.isfinite(maps.get_data()).all()
    # Arrays of those Epochs are read on the channels the classifier was
    # fitted on, which the window network was not told of itself, and at the
    # times of its training epochs.
    on_arrays = mne_xai.explain(network, epochs.get_data(), "saliency", verbose=False)
    assert on_arrays.ch_names == ["C3", "C4"] and on_arrays.tmin == -0.2
    assert_allclose(on_arrays.get_data(), maps.get_data())


def test_a_classifier_fitted_on_arrays_keeps_their_rate():
    """Fitted on arrays at 100 Hz, it explained them with a network of the
    user's own only through a TypeError, and took Epochs at 200 Hz (windows of
    half the trained duration) without a word."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 2, 200)).astype(np.float32), np.arange(8) % 2
    net = _window_classifier(NeuralNetClassifier)
    clf = CroppedClassifier(net, window_length=0.5, window_step=0.25, sfreq=SFREQ)
    clf.fit(X, y)
    maps = mne_xai.explain(clf, X, "gradient_x_input", target=1, verbose=False)
    assert maps.info["sfreq"] == SFREQ and maps.get_data().shape == X.shape
    fast = mne.EpochsArray(X, mne.create_info(2, 2 * SFREQ, "eeg"), verbose=False)
    for use in (clf.predict, lambda X: mne_xai.explain(clf, X, verbose=False)):
        with pytest.raises(ValueError, match="sampled at 200.0 Hz .* fitted at 100.0"):
            use(fast)


def test_a_pipeline_reads_the_windows_as_its_network_would(synthetic_arrays):
    """Inside a Pipeline, early stopping split windows of one trial between
    training and validation (all 41 validation trials of EEGBCI had training
    windows), and the network's picks were ignored (EOG cut into windows)."""
    X, y = synthetic_arrays
    info = mne.create_info(["C3", "Cz", "C4", "EOG"], 64.0, ["eeg"] * 3 + ["eog"])
    epochs = mne.EpochsArray(X, info, verbose=False)
    network = EEGNetClassifier(
        max_epochs=1, early_stopping=True, verbose=False, random_state=0
    )
    clf = CroppedClassifier(make_pipeline(network), window_length=0.5).fit(epochs, y)
    fitted = clf.estimator_[-1]
    windows_per_trial = len(clf.window_starts_)
    assert len(fitted.validation_groups_) == len(X) * windows_per_trial
    assert clf.info_.ch_names == ["C3", "Cz", "C4"]
    assert clf.predict(epochs.copy().pick(["C3", "Cz", "C4"])).shape == (len(X),)


@pytest.mark.parametrize("tmin, tmax", [(1.0, 0.0), (0.5, 0.5)])
def test_tmin_above_tmax_is_named(tmin, tmax):
    """A span of one sample (tmin equal to tmax) is refused in the same terms."""
    data, y = _ramp_epochs()
    with pytest.raises(ValueError, match=f"tmin={tmin} must be below tmax={tmax}"):
        CroppedClassifier(MeanClassifier(), sfreq=SFREQ, tmin=tmin, tmax=tmax).fit(
            data, y
        )


def test_windows_read_the_span_up_to_tmax():
    """A step that did not divide the span left its end unread: 0.5 s windows
    every 0.2 s of 101 samples never read the last 11 (0.11 s)."""
    data, y = _ramp_epochs()
    data[1] *= 0.5
    for params, n_windows, last_sample in [
        (dict(window_length=0.5, window_step=0.2), 4, 100),
        (dict(window_length=0.3, window_step=0.2, tmin=0.1, tmax=0.85), 4, 85),
        (dict(window_length=0.5, window_step=0.25, tmin=0.01), 3, 100),  # aligned
    ]:
        clf = CroppedClassifier(MeanClassifier(), sfreq=SFREQ, **params).fit(data, y)
        starts, n_samples = clf.window_starts_, clf.window_samples_
        assert len(starts) == n_windows
        assert len(np.unique(starts)) == n_windows
        assert starts[-1] + n_samples - 1 == last_sample
        read = np.zeros(data.shape[2], bool)
        for start in starts:
            read[start : start + n_samples] = True
        assert read[starts[0] : last_sample + 1].all()
        # The last window of every epoch holds the last sample of the span.
        windows = clf.estimator_.X_fit_
        assert_allclose(
            windows[n_windows - 1 :: n_windows, :, -1], data[..., last_sample]
        )
        # Predictions are still the mean over the unevenly spaced windows.
        expected = np.mean(
            [
                clf.estimator_.predict_proba(data[..., start : start + n_samples])
                for start in starts
            ],
            axis=0,
        )
        assert_allclose(clf.predict_proba(data), expected, rtol=1e-6)


def test_arrays_are_read_on_the_training_time_axis():
    """Trained on Epochs starting at -0.2 s, predict refused their data given as
    an array ("X starts at 0 s"), which explain and the estimators read."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4"], SFREQ, "eeg")
    epochs = mne.EpochsArray(
        rng.standard_normal((8, 3, 101)) * 1e-5, info, tmin=-0.2, verbose=False
    )
    y = np.arange(8) % 2
    network = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    clf = CroppedClassifier(network, window_length=0.5).fit(epochs, y)
    plain = clone(network).fit(epochs, y)
    array = epochs.get_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_allclose(clf.predict_proba(array), clf.predict_proba(epochs))
        assert_array_equal(clf.predict(array), clf.predict(epochs))
        maps = mne_xai.explain(clf, array, "saliency", verbose=False)
        plain.predict(array)  # as an estimator fitted on these epochs reads it
    assert_allclose(
        maps.get_data(),
        mne_xai.explain(clf, epochs, "saliency", verbose=False).get_data(),
    )
    # At the training times: the array holds the epochs, from -0.2 s.
    assert_allclose(maps.times, epochs.times)


class _FirstSampleVote(torch.nn.Module):
    """Logits (10 v, 2 - 2 v) of a window whose first sample is v."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([10.0, -2.0]))
        self.bias = torch.nn.Parameter(torch.tensor([0.0, 2.0]))

    def forward(self, x):  # noqa: D102
        return x[:, 0, :1] * self.weight + self.bias


def test_target_none_explains_the_class_cropped_predicts():
    """explain(target=None) explained the class of the highest mean window logit,
    not the highest mean window probability that predict returns: with one
    window sure of class 0 and three leaning to class 1, maps of class 0 for
    an epoch predicted as class 1."""
    # Windows start at samples 0, 25, 50 and 51 (the last ending on the last
    # sample); only the first window of epoch 0 starts on a 1.
    X = np.zeros((2, 1, 101), np.float32)
    X[0, 0, 0] = 1.0
    net = NeuralNetClassifier(
        _FirstSampleVote,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=0,
        train_split=None,
    )
    cropped = CroppedClassifier(
        net, window_length=0.5, window_step=0.25, sfreq=SFREQ
    ).fit(X, np.array([0, 1]))
    assert_array_equal(cropped.window_starts_, [0, 25, 50, 51])
    network = as_network(cropped)
    with torch.no_grad():
        mean_logits = network.module_(torch.from_numpy(X)).numpy()
    # The explained function is the mean of the window logits, uneven starts too.
    assert_allclose(mean_logits, [[2.5, 1.5], [0.0, 2.0]], rtol=1e-6)
    assert_array_equal(mean_logits.argmax(axis=1), [0, 1])
    assert_array_equal(cropped.predict(X), [1, 1])
    maps = mne_xai.explain(cropped, X, "saliency", verbose=False).get_data()
    predicted = mne_xai.explain(
        cropped, X, "saliency", target=cropped.predict(X), verbose=False
    ).get_data()
    other = mne_xai.explain(cropped, X, "saliency", target=0, verbose=False)
    assert_allclose(maps, predicted)
    assert not np.allclose(maps[0], other.get_data()[0])
    # The evaluations resolve target=None on the same path.
    data = network._check_prediction_input(X)
    target_index, _ = _resolve_target(network, None, data)
    assert_array_equal(cropped.classes_[target_index], cropped.predict(X))


def test_epochs_in_another_unit_are_warned_of_once_per_explain(spatial_epochs):
    """Finding the predicted classes checked the data's unit batch by batch, then
    explain checked it again: two or more warnings of one mismatch."""
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=0.75,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch of training, at chance
        cropped.fit(spatial_epochs)
    microvolts = spatial_epochs.copy().apply_function(lambda x: x * 1e6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = mne_xai.explain(cropped, microvolts[:20], "saliency", batch_size=8)
    units = [w for w in caught if "in different units" in str(w.message)]
    assert len(units) == 1, [str(w.message) for w in caught]
    # The explained classes are still those the classifier predicts.
    predicted = mne_xai.explain(
        cropped, microvolts[:20], "saliency", target=cropped.predict(microvolts[:20])
    )
    assert_allclose(maps.get_data(), predicted.get_data())


@pytest.mark.parametrize("window_step", [1.0, 0.5, 0.25])  # 2, 3 and 5 windows
def test_deeplift_sums_to_delta_whatever_the_number_of_windows(window_step):
    """Windows stacked window-major broke DeepLIFT's pairing of inputs with
    baselines: refused for an even number of windows (10 on EEGBCI's 2 s
    epochs since the last window ends on tmax)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 4, 256)) * 1e-5
    y = np.arange(12) % 2
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=1.0,
        window_step=window_step,
        sfreq=128.0,
    ).fit(X, y)
    maps = mne_xai.explain(cropped, X[:3], "deeplift", target=1, verbose=False)
    module = mne_xai._network.as_network(cropped).module_.eval()
    with torch.no_grad():
        logits = module(torch.as_tensor(X[:3], dtype=torch.float32))[:, 1]
        delta = logits - module(torch.zeros(3, 4, 256))[:, 1]
    assert_allclose(maps.get_data().sum(axis=(1, 2)), delta.numpy(), rtol=1e-3)


def test_unit_contributions_are_taken_per_epoch_over_its_windows(spatial_epochs):
    """An epoch's decision is the mean of its windows' logits, so a unit changes
    it by its changes summed over the windows; their magnitudes were summed
    instead (up to 2.5 times the contribution, and another pruning order).
    So for pruning, temporal filters and spatial components."""
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=3, random_state=0, verbose=False),
        window_length=0.5,
        window_step=0.125,
    ).fit(spatial_epochs)
    module = mne_xai.as_network(cropped).module_.eval()
    n_windows = len(cropped.window_starts_)
    data = torch.as_tensor(spatial_epochs.get_data(), dtype=torch.float32)

    def per_window_changes(layer, reference):
        """First-order change of each epoch's decision per window and unit."""
        captured = {}

        def keep(module, inputs, output):
            captured["output"] = output.detach().requires_grad_()
            return captured["output"]

        handle = layer.register_forward_hook(keep)
        logits = module(data)
        handle.remove()
        decision = logits.gather(1, logits.argmax(1, keepdim=True))[:, 0]
        (gradient,) = torch.autograd.grad(
            (decision - logits.mean(1)).sum(), captured["output"]
        )
        output = captured["output"].detach()
        changes = ((output - reference(output)) * gradient).sum(dim=(2, 3))
        return changes.reshape(len(data), n_windows, -1).double().numpy()

    network = module.module
    changes = per_window_changes(network.spatial_elu, lambda a: a.mean(0))
    pruning = pruning_curve(
        cropped, spatial_epochs, "spatial_elu", n_random=1, random_state=0
    )
    expected = np.abs(changes.sum(axis=1)).mean(axis=0)
    assert not np.allclose(np.abs(changes).sum(axis=1).mean(axis=0), expected)
    assert_allclose(pruning.importance["sensitivity"], expected, rtol=1e-4)
    changes = per_window_changes(network.temporal_conv, lambda a: 0.0)
    assert_allclose(
        temporal_filters(cropped, spatial_epochs).passbands.contribution,
        np.abs(changes.sum(axis=1)).mean(axis=0),
        rtol=1e-4,
    )
    # EEGNet's spatial units read one map each, without bias: a component's
    # signal is its unit's output.
    changes = per_window_changes(network.spatial_conv, lambda a: 0.0)
    ranking = spatial_patterns(cropped, spatial_epochs).ranking.sort_values("unit")
    assert_allclose(
        ranking.contribution, np.abs(changes.sum(axis=1)).mean(axis=0), rtol=1e-4
    )


@pytest.fixture(scope="module")
def cropped_on_a_span(spatial_epochs):
    """A CroppedClassifier whose windows read 0 to 0.75 s, and those samples."""
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=2, random_state=0, verbose=False),
        window_length=0.5,
        window_step=0.25,
        tmin=0.0,
        tmax=0.75,
    ).fit(spatial_epochs)
    read = np.zeros(len(spatial_epochs.times), bool)
    for start in cropped.window_starts_:
        read[start : start + cropped.window_samples_] = True
    assert 0 < read.sum() < len(read)
    return cropped, read


def test_spatial_patterns_are_those_of_the_windows_the_network_reads(
    cropped_on_a_span, spatial_epochs
):
    """The covariance of the patterns is that of the windows the spatial
    filters read: samples of two overlapping windows count twice, as the
    network reads them twice (once per window, with the padding of each) and
    its decision, the mean over windows, weighs them so; samples no window
    reads do not count."""
    cropped, _ = cropped_on_a_span
    # Windows of 32 samples from 13, 29 and 30: most samples are read twice.
    assert_array_equal(cropped.window_starts_, [13, 29, 30])
    epochs = spatial_epochs[:10]
    data = epochs.get_data(picks=cropped.info_.ch_names)
    windows = mne.EpochsArray(
        np.concatenate(
            [
                data[..., start : start + cropped.window_samples_]
                for start in cropped.window_starts_
            ]
        ),
        cropped.info_,
        verbose=False,
    )

    def by_component(spatial):
        order = np.lexsort((spatial.ranking.input_map, spatial.ranking.unit))
        return spatial.filters.data[:, order], spatial.patterns.data[:, order]

    of_epochs = by_component(spatial_patterns(cropped, epochs, verbose=False))
    of_windows = by_component(
        spatial_patterns(cropped.estimator_, windows, verbose=False)
    )
    for cropped_maps, window_maps in zip(of_epochs, of_windows, strict=True):
        assert_allclose(cropped_maps, window_maps, rtol=1e-4, atol=1e-6)


def test_sanity_checks_compare_the_samples_the_windows_read(
    cropped_on_a_span, spatial_epochs
):
    """Windows leaving part of the epoch out give every map zeros there, under
    any weights or class: compared on whole epochs, maps of independent noise
    agreed (Spearman of magnitudes 0.68), and every method failed the checks."""
    cropped, read = cropped_on_a_span
    epochs = spatial_epochs[:6]
    check = target_randomization_check(
        cropped,
        epochs,
        "saliency",
        target=cropped.classes_[0],
        metric="spearman_abs",
        random_state=0,
    )
    # Two classes: the other class is class 1 for every epoch.
    maps = [
        mne_xai.explain(cropped, epochs, "saliency", target=label).get_data()
        for label in cropped.classes_
    ]
    expected = map_similarity(maps[0][..., read], maps[1][..., read])
    assert_allclose(check.similarity["spearman_abs"][0], expected, rtol=1e-6)


def test_ssim_of_the_sanity_checks_compares_each_run_of_windows_alone():
    """The SSIM of the samples read took them as one run: its Gaussian window
    met the last samples of one window with the first of the next, across the
    gap (0.119 against 0.123 for saliency's class maps of a cropped EEGNet)."""
    clf, X, read = _windows_leaving_gaps()
    check = target_randomization_check(
        clf, X, "saliency", target=0, metric="ssim", random_state=0, verbose=False
    )
    # Two classes: the other class is class 1 for every epoch.
    first, second = (
        _unit_magnitude(
            mne_xai.explain(clf, X, "saliency", target=label, verbose=False).get_data()[
                ..., read
            ]
        )
        for label in clf.classes_
    )
    # The SSIM of each window's samples alone (its borders reflected), in
    # proportion to their number.
    runs = [slice(0, 50), slice(50, 100), slice(100, 150)]
    expected = sum(
        _ssim_of_unit_maps(first[..., run], second[..., run]) for run in runs
    ) / len(runs)
    assert_allclose(check.similarity["ssim"][0], expected, rtol=1e-6)


def test_removal_at_random_draws_among_the_samples_the_windows_read(
    cropped_on_a_span, spatial_epochs
):
    """Samples outside the windows change nothing when removed: drawn there,
    the random anchor and the random removal were easy to beat by a map that
    knows nothing but where the windows are (AOPC 0.139 against 0.109)."""
    cropped, read = cropped_on_a_span
    epochs = spatial_epochs[:20]
    noise = np.random.default_rng(0).standard_normal(epochs.get_data().shape)
    windows_only = read + 1e-3 * noise
    kwargs = dict(target="true", random_state=0)
    curve = deletion_curve(cropped, epochs, attribution=windows_only, **kwargs)
    anchor = deletion_curve(cropped, epochs, "random", **kwargs)
    assert abs(curve.aopc.mean() - anchor.aopc.mean()) < 0.1 * anchor.aopc.mean()
    test = deletion_test(
        cropped, epochs, attribution=windows_only, threshold=0.5, **kwargs
    )
    random_drop = test.score.mean() - test.score_random.mean()
    assert random_drop > 0
    assert test.score_deleted.mean() > test.score_random.mean() - 0.25 * random_drop
    # Patches were drawn on samples no window reads too, where nothing drops.
    patches = perturbation_test(cropped, epochs, attribution=windows_only, **kwargs)
    first, last = np.flatnonzero(read)[[0, -1]]
    assert patches.start.min() >= first
    assert (patches.start + patches.patch_length[:, None]).max() <= last + 1
    # Their lengths are fractions of that span, not of the whole epoch.
    assert_array_equal(
        patches.patch_length, np.round(np.array([0.1, 0.2, 0.3, 0.4, 0.5]) * read.sum())
    )


def _windows_leaving_gaps():
    """A linear window network on arrays, its windows and the samples they read.

    Windows of 50 samples every 55 of 160 read 0-49, 55-104 and 110-159: two
    gaps of 5 samples that no window reads.
    """
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 2, 160)).astype(np.float32), np.arange(6) % 2
    with pytest.warns(RuntimeWarning, match="10 of the 160 samples"):
        clf = CroppedClassifier(
            _window_classifier(NeuralNetClassifier),
            window_length=0.5,
            window_step=0.55,
            sfreq=SFREQ,
        ).fit(X, y)
    read = np.ones(X.shape[-1], bool)
    read[50:55] = read[105:110] = False
    return clf, X, read


@pytest.mark.parametrize(
    "method, params",
    [
        ("occlusion", dict(mode="channel")),
        ("occlusion", dict(mode="time", window=8)),
        ("random", {}),
    ],
)
def test_samples_no_window_reads_have_no_relevance_whatever_the_method(method, params):
    """Gradients are zero where no window reads, but occlusion gave those
    samples the drop of the patch around them (a channel's drop all along
    it, the drop of 48-55 to the gap 50-54) and random maps drew there."""
    clf, X, read = _windows_leaving_gaps()
    maps = mne_xai.explain(
        clf, X, method, target=1, random_state=0, verbose=False, **params
    ).get_data()
    assert (maps[..., ~read] == 0).all()
    # The samples read keep their values.
    assert (maps[..., read] != 0).all()


def test_a_foreign_window_network_on_arrays_is_explained_at_the_rate_given():
    """A skorch window network fitted on arrays knows no rate, but the
    classifier cut its windows at sfreq: given, not assumed, so no warning
    that the rate was taken as the one the network's kernels were sized for."""
    clf, X, _ = _windows_leaving_gaps()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = mne_xai.explain(clf, X, "saliency", target=1, verbose=False)
    assert not [w for w in caught if "without info" in str(w.message)]
    assert maps.info["sfreq"] == SFREQ


def test_the_report_says_that_windows_leave_samples_unread_between_them():
    """It said the windows read "together 0 to 1.59 s", and that outside them
    relevance is zero, though 10 samples between them were read by none."""
    clf, X, _ = _windows_leaving_gaps()
    epochs = mne.EpochsArray(X, mne.create_info(2, SFREQ, "eeg"), verbose=False)
    context = _Context(
        report=None,
        epochs=epochs,
        y=None,
        plan=None,
        methods=[],
        random_state=0,
        estimator=clf,
    )
    assert context.windows_read() == (
        "3 window(s) of 0.5 s, together 0 to 1.59 s but for the 10 samples of "
        "2 gap(s) between them"
    )


def test_deletion_test_smooths_no_relevance_across_the_gaps_between_windows():
    """The z-scores of the samples read were smoothed as one run, so the
    relevance of the last sample of a window spread to the first samples of
    the next, 6 samples later: 5 samples were removed for a peak at sample
    49, two of them (55, 56) where the map held nothing."""
    clf, X, read = _windows_leaving_gaps()
    attribution = np.zeros_like(X)
    attribution[:, 0, 49] = 1.0  # the last sample of the first window
    test = deletion_test(
        clf, X, attribution=attribution, smoothing=0.05, target=1, random_state=0
    )
    # Smoothed within its window (edge value repeated), the peak reaches 47
    # and 48 alone, of the 2 x 150 samples read.
    assert_allclose(test.fraction_deleted, 3 / (2 * read.sum()))
    # The network is linear: removing samples (to zeros) drops the logit by
    # their gradient x input, here that of 47, 48 and 49.
    contributions = mne_xai.explain(
        clf, X, "gradient_x_input", target=1, verbose=False
    ).get_data()
    assert_allclose(
        test.score - test.score_deleted,
        contributions[:, 0, 47:50].sum(axis=1),
        rtol=1e-4,
        atol=1e-5,
    )


def test_deletion_curve_of_windows_removes_the_samples_read_in_order():
    """Samples no window reads rank after those read and are not counted:
    ranked first, the first steps removed nothing and the least relevant
    samples read were never removed. The network is linear: the curve is
    the intact score minus the ranked gradient x input, summed."""
    clf, X, read = _windows_leaving_gaps()
    kwargs = dict(target=1, verbose=False)
    curve = deletion_curve(clf, X, "gradient_x_input", n_steps=30, **kwargs)
    contributions = mne_xai.explain(clf, X, "gradient_x_input", **kwargs).get_data()
    ranked = -np.sort(-contributions[..., read].reshape(len(X), -1), axis=1)
    counts = np.round(np.linspace(0, ranked.shape[1], 31)).astype(int)
    removed = np.column_stack([np.zeros(len(X)), np.cumsum(ranked, axis=1)])
    assert_allclose(curve.fractions, counts / ranked.shape[1])
    assert_allclose(
        curve.scores, curve.scores[:, :1] - removed[:, counts], rtol=1e-4, atol=1e-5
    )


def test_channels_of_windows_are_ranked_by_the_relevance_of_the_samples_read():
    """Relevance given on samples no window reads, which removing changes
    nothing, does not rank a channel first."""
    clf, X, read = _windows_leaving_gaps()
    attribution = np.zeros_like(X)
    attribution[:, 0, ~read] = 10.0  # in the gaps alone
    attribution[:, 1, read] = 0.01  # less, but where the windows read
    curve = deletion_curve(
        clf, X, attribution=attribution, unit="channel", target=1, verbose=False
    )
    contributions = mne_xai.explain(
        clf, X, "gradient_x_input", target=1, verbose=False
    ).get_data()
    assert_allclose(
        curve.scores[:, 0] - curve.scores[:, 1],
        contributions[:, 1].sum(axis=1),
        rtol=1e-4,
        atol=1e-5,
    )


def test_mean_baseline_refusal_names_no_private_class(synthetic_arrays):
    """The refusal said "which this _CroppedNetwork does not know"."""
    X, y = synthetic_arrays
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False), window_length=0.375, sfreq=128.0
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"a CroppedClassifier learns windows\); use"):
        mne_xai.explain(cropped, X[:2], "integrated_gradients", baseline="mean")
    # The evaluations' refusal said neither why nor where "interpolate" applies.
    with pytest.raises(ValueError, match=r"windows\); use \"zeros\" or \"noise\" \(or"):
        mne_xai.evaluate.insertion_curve(
            cropped, X[:2], "saliency", baseline="mean", n_steps=2
        )


@pytest.mark.parametrize("method", ["grad_cam", "score_cam", "full_grad"])
def test_class_activation_maps_name_the_windows_as_their_refusal(
    synthetic_arrays, method
):
    """The refusal blamed the network's first layer for a layout it has not."""
    X, y = synthetic_arrays
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False), window_length=0.375, sfreq=128.0
    ).fit(X, y)
    with pytest.raises(ValueError, match="CroppedClassifier's feature maps .* window"):
        mne_xai.explain(cropped, X[:2], method)


@pytest.mark.parametrize("method", ["pattern_net", "pattern_attribution"])
def test_pattern_methods_refuse_the_mean_of_windows(synthetic_arrays, method):
    """Every window was passed back from the epoch's mean logit: against the
    mean of the windows' own maps, the map of an epoch had a correlation of
    -0.89 and 0.03 of its magnitude."""
    X, y = synthetic_arrays
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False), window_length=0.375, sfreq=128.0
    ).fit(X, y)
    # Learned through the average, the patterns were keyed by layers that the
    # window network, which the advice names, does not have.
    with pytest.raises(ValueError, match="learn the patterns of that network"):
        learn_patterns(cropped, X)
    windows = X[..., : cropped.window_samples_]
    patterns = learn_patterns(cropped.estimator_, windows)
    with pytest.raises(ValueError, match="passes each window's own logit back"):
        mne_xai.explain(cropped, X[:2], method, patterns=patterns)
    maps = mne_xai.explain(cropped.estimator_, windows[:2], method, patterns=patterns)
    assert np.isfinite(maps.get_data()).all() and np.abs(maps.get_data()).max() > 0


def test_best_samples_score_epochs_as_the_classifier_predicts(spatial_epochs):
    """Scores were the log-odds of the mean window logit, up to 0.48 from the
    classifier's own probabilities (the mean of its windows'), and ranked
    epochs otherwise where windows disagree."""
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=2, random_state=0, verbose=False),
        window_length=0.5,
        window_step=0.125,
    ).fit(spatial_epochs)
    proba = cropped.predict_proba(spatial_epochs).astype(np.float64)
    samples = best_samples(cropped, spatial_epochs, k=3)
    assert_allclose(samples.scores, np.log(proba / (1 - proba)), rtol=1e-5, atol=1e-6)
    # Confident windows: float32 probabilities round to 1, and their log-odds
    # tied at the top (13 epochs), ranked by index.
    classifier = cropped.estimator_.module_.classifier
    with torch.no_grad():
        classifier.weight.mul_(64)
        classifier.bias.mul_(64)
    data = torch.from_numpy(spatial_epochs.get_data()).float()
    with torch.no_grad():
        windows = mne_xai.as_network(cropped).module_.eval().window_logits(data)
    log_mean = torch.logsumexp(windows.double().log_softmax(-1), dim=1) - np.log(
        windows.shape[1]
    )
    exact = (log_mean - torch.log(-torch.expm1(log_mean))).numpy()
    assert (cropped.predict_proba(spatial_epochs) == 1).any()  # saturated
    scores = best_samples(cropped, spatial_epochs, k=3).scores
    assert_allclose(scores, exact, rtol=1e-6)


@pytest.mark.parametrize("trained_on", ["epochs", "arrays"])
def test_explain_refuses_epochs_starting_elsewhere_as_predict_does(trained_on):
    """Epochs starting at 0.2 s were explained on windows at other times of the
    trial: without a word when trained on arrays (read as starting at 0 s),
    with a warning when trained on Epochs, where predict refused both."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4"], SFREQ, "eeg")
    data = rng.standard_normal((8, 3, 101)) * 1e-5
    epochs = mne.EpochsArray(data, info, tmin=-0.2, verbose=False)
    y = np.arange(8) % 2
    network = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    X = epochs if trained_on == "epochs" else data
    clf = CroppedClassifier(network, window_length=0.5, sfreq=SFREQ).fit(X, y)
    later = mne.EpochsArray(data, info, tmin=0.2, verbose=False)
    # Trained on arrays, the error says how to read Epochs sample by sample.
    match = "starts at 0.2 s" + ".*give them as an array" * (trained_on == "arrays")
    for call in (clf.predict, lambda X: mne_xai.explain(clf, X, verbose=False)):
        with pytest.raises(ValueError, match=match):
            call(later)
    clf.predict(later.get_data())


def test_a_data_warning_is_given_once_for_the_epochs_and_their_windows():
    """The classifier checks the epochs, its network the windows: one warning."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["Cz", "C3", "C4"], SFREQ, "eeg")
    epochs = mne.EpochsArray(rng.standard_normal((6, 3, 200)) * 1e-5, info)
    clf = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    ).fit(epochs, np.arange(6) % 2)
    epochs.info["bads"] = ["C3"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.predict_proba(epochs)
    bad_channel = [w for w in caught if "marked bad" in str(w.message)]
    assert len(bad_channel) == 1


def test_a_search_reads_the_channels_of_its_network():
    """Read on the search, the network's picks were not found: the stimulus
    channel was cut into the windows, required at predict, and explain failed
    with "X has 9 channels but the estimator was fitted on 8"."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "STI 014"], SFREQ, ["eeg"] * 3 + ["stim"])
    codes = np.arange(8) % 2 + 1
    data = rng.standard_normal((8, 4, 200)) * 1e-5
    data[:, 3] = codes[:, None]
    events = np.column_stack([np.arange(8), np.zeros(8, int), codes])
    epochs = mne.EpochsArray(data, info, events, verbose=False)
    search = GridSearchCV(
        EEGNetClassifier(max_epochs=1, verbose=False), {"lr": [1e-3]}, cv=2
    )
    clf = CroppedClassifier(search, window_length=1.0).fit(epochs)
    assert clf.info_.ch_names == ["C3", "Cz", "C4"]
    without_stim = epochs.copy().pick(["C3", "Cz", "C4"])
    assert_array_equal(clf.predict(without_stim), clf.predict(epochs))
    maps = mne_xai.explain(clf, epochs[:2], "saliency", verbose=False)
    assert maps.ch_names == ["C3", "Cz", "C4"]


@pytest.mark.parametrize("first_class", [0, 1])  # labels are no indices at 1
def test_classes_never_predicted_are_counted_in_epochs(first_class):
    """The warning came from the network, which counts windows: a class of 2
    epochs read as 20 "training epochs", and it judged windows, not the
    epochs the classifier predicts."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((42, 4, 100)).astype(np.float32)
    y = np.r_[np.zeros(40, int), np.ones(2, int)] + first_class
    network = EEGNetClassifier(
        max_epochs=3, batch_size=8, random_state=0, verbose=False
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = CroppedClassifier(network, window_length=0.5, sfreq=SFREQ).fit(data, y)
    messages = [str(w.message) for w in caught if "After training" in str(w.message)]
    assert len(messages) == 1
    classes = [first_class, first_class + 1]
    assert f"classes_ {classes}: [40, 2]; it predicts [42, 0]" in messages[0]
    assert (clf.predict(data) == first_class).all()


class _WindowMeanEEGNet(EEGNetClassifier):
    """A trained EEGNetClassifier whose P(class 1) is the window's mean value."""

    predict_proba = MeanClassifier.predict_proba


@pytest.mark.filterwarnings("ignore:.*exact copies of others")
def test_classes_never_predicted_are_those_of_the_mean_over_windows():
    """The windows of a ramp lean to class 0 at first (mean 0.245), class 1 later:
    their mean, 0.56, predicts class 1 for every epoch, and it is what the
    warning counts, not the first window of each epoch."""
    data, y = _ramp_epochs()
    network = _WindowMeanEEGNet(max_epochs=1, random_state=0, verbose=False)
    clf = CroppedClassifier(network, window_length=0.5, window_step=0.25, sfreq=SFREQ)
    with pytest.warns(RuntimeWarning, match="predicts none") as caught:
        clf.fit(data, y)
    assert_array_equal(clf.predict(data), [1, 1, 1, 1])
    assert any("it predicts [0, 4]" in str(w.message) for w in caught)


def test_a_network_built_but_not_trained_is_not_said_to_predict_too_few_classes():
    """max_epochs=0 builds the network without training it, which the
    estimators do not judge by what it predicts: neither does the classifier."""
    data = np.random.default_rng(0).standard_normal((8, 3, 101)) * 1e-5
    y = np.arange(8) % 2
    network = EEGNetClassifier(max_epochs=0, random_state=0, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = CroppedClassifier(network, window_length=0.5, sfreq=SFREQ).fit(data, y)
    # One class for every epoch: judged, it would have been warned of.
    assert len(np.unique(clf.predict(data))) == 1


def test_perturbation_test_draws_no_patch_wholly_between_windows():
    """Patches were drawn between windows too, where no sample is read: 6 of
    the 158 starts of a patch of 3 samples lay in a gap, with no relevance
    and no drop whatever the map."""
    clf, X, read = _windows_leaving_gaps()
    result = perturbation_test(
        clf,
        X,
        "saliency",
        target=1,
        patch_fractions=(0.02, 0.1),
        n_patches=200,
        random_state=0,
        verbose=False,
    )
    reads_per_patch = np.array(
        [
            [read[start : start + length].sum() for start in starts]
            for fraction_starts, length in zip(
                result.start.transpose(1, 0, 2), result.patch_length, strict=True
            )
            for starts in fraction_starts
        ]
    )
    assert (reads_per_patch > 0).all()
    # Patches still start anywhere they touch a sample read: the edges, and
    # in a gap where they reach one sample of the window beyond it.
    for starts, length in zip(
        result.start.transpose(1, 0, 2), result.patch_length, strict=True
    ):
        touching = [s for s in range(160 - length + 1) if read[s : s + length].any()]
        assert set(starts.ravel()) == set(touching)


def test_data_randomization_check_says_once_that_windows_leave_gaps():
    """The copy trained on shuffled labels cut the same windows, and warned
    again that they leave 10 of the 160 samples unread, which the fit of the
    classifier checked had said; windows that other training_params cut are
    still told."""
    clf, X, _ = _windows_leaving_gaps()
    y = np.arange(len(X)) % 2
    kwargs = dict(X_train=X, y_train=y, random_state=0, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data_randomization_check(clf, X, **kwargs)
    assert not [w for w in caught if "samples from tmin to tmax" in str(w.message)]
    with pytest.warns(RuntimeWarning, match="20 of the 160 samples"):
        data_randomization_check(
            clf, X, training_params=dict(window_step=0.7), **kwargs
        )


class _AnyLengthNet(torch.nn.Module):
    """A window network reading windows of any length: a dense layer on means."""

    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.dense(x.mean(dim=-1))


def test_data_randomization_check_tells_the_gaps_of_windows_of_another_length():
    """Windows from the same starts but shorter (tmax moved with them) leave
    other gaps than those the estimator's fit told: the copy's are told."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 2, 160)).astype(np.float32), np.arange(6) % 2
    network = _window_classifier(NeuralNetClassifier, _AnyLengthNet)
    with pytest.warns(RuntimeWarning, match="10 of the 160 samples"):
        clf = CroppedClassifier(
            network, window_length=0.5, window_step=0.55, sfreq=SFREQ
        ).fit(X, y)
    with pytest.warns(RuntimeWarning, match="20 of the 155 samples"):
        result = data_randomization_check(
            clf,
            X,
            X_train=X,
            y_train=y,
            training_params=dict(window_length=0.45, tmax=1.54),
            random_state=0,
            verbose=False,
        )
    copy = result.randomized_estimator
    assert_array_equal(copy.window_starts_, clf.window_starts_)
    assert (copy.window_samples_, clf.window_samples_) == (45, 50)
