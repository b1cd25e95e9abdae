import contextlib
import copy
import io
import logging
import pickle
import threading
import warnings
from types import SimpleNamespace

import mne
import numpy as np
import pytest
import torch
from mne.utils import catch_logging
from pretend_cuda import on_gpu, pretend_cuda
from scipy.special import softmax
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, EpochScoring, EpochTimer, LRScheduler
from skorch.dataset import ValidSplit
from skorch.exceptions import NotInitializedError
from test_user_data import _named
from torch.utils.data import SequentialSampler

import mne_xai
from mne_xai import (
    CroppedClassifier,
    EEGNetClassifier,
    InterpretableCNNClassifier,
    inspect,
)
from mne_xai._convert import InputData
from mne_xai._data_checks import check_outputs_finite
from mne_xai._random import fixed_noise, seeded_torch
from mne_xai._training import (
    MIN_TRAINING_STEPS,
    NoBatchOfOne,
    StopOnDivergence,
    at_log_level,
    shifted_in_time,
)
from mne_xai.attribution._core import _resolve_target, prepare_request
from mne_xai.estimators import classes_never_predicted, warn_if_classes_unpredicted
from mne_xai.evaluate import deletion_curve, parameter_randomization_check
from mne_xai.evaluate.trust._summary import _class_names
from mne_xai.inspect import SpectralClassifier
from mne_xai.inspect._samples import class_names
from mne_xai.models import EEGNet, InterpretableCNN, SpatialFirstEEGNet
from mne_xai.spectral_input import LogPowerSpectrum

ESTIMATORS = [EEGNetClassifier, InterpretableCNNClassifier]
FAST = dict(max_epochs=3, batch_size=8, verbose=False, random_state=0)


def _arrays_info(n_channels, sfreq=64.0):
    return mne.create_info([f"EEG{i}" for i in range(n_channels)], sfreq, "eeg")


def _synthetic_epochs(X, y, sfreq=64.0):
    events = np.column_stack([np.arange(len(y)) * 100, np.zeros(len(y), int), y + 1])
    return mne.EpochsArray(
        X.astype(np.float64) * 1e-5,
        _arrays_info(X.shape[1], sfreq),
        events=events,
        event_id={"rest": 1, "move": 2},
        verbose=False,
    )


# -- mechanics on small synthetic tensors -------------------------------------
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_learns_separable_arrays_and_keeps_label_coding(
    estimator_class, synthetic_arrays
):
    X, y = synthetic_arrays
    labels = np.array(["left", "right"])[y]
    clf = estimator_class(
        max_epochs=60, batch_size=8, lr=5e-3, verbose=False, random_state=0
    )
    clf.fit(X, labels)
    assert list(clf.classes_) == ["left", "right"]
    assert clf.info_ is None
    assert clf.predict(X).dtype == labels.dtype
    assert set(clf.predict(X)) <= {"left", "right"}
    proba = clf.predict_proba(X)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(
        proba, torch.softmax(torch.from_numpy(clf._logits(X)), 1), rtol=1e-4
    )
    assert clf.score(X, labels) >= 0.9


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_decision_function_is_shaped_for_scikit_learn_scorers(
    estimator_class, synthetic_arrays
):
    X, y = synthetic_arrays
    clf = estimator_class(**FAST).fit(X, y)
    # Two classes: one score per epoch, the log-odds of classes_[1].
    scores = clf.decision_function(X)
    proba = clf.predict_proba(X)
    assert scores.shape == (40,)
    np.testing.assert_allclose(
        scores, np.log(proba[:, 1] / proba[:, 0]), rtol=1e-3, atol=1e-4
    )
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(scores > 0) * 1])
    folds = StratifiedKFold(2)
    auc = cross_val_score(clone(clf), X, y, cv=folds, scoring="roc_auc")
    expected = [
        roc_auc_score(
            y[test], clone(clf).fit(X[train], y[train]).decision_function(X[test])
        )
        for train, test in folds.split(X, y)
    ]
    np.testing.assert_allclose(auc, expected)
    # More classes: one logit per class, as predict_proba.
    three = np.arange(40) % 3
    clf.fit(X, three)
    assert clf.decision_function(X).shape == (40, 3)
    np.testing.assert_array_equal(
        clf.predict(X), clf.decision_function(X).argmax(axis=1)
    )


def test_epochs_labels_default_to_event_codes(synthetic_arrays):
    X, y = synthetic_arrays
    epochs = _synthetic_epochs(X, y)
    clf = InterpretableCNNClassifier(**FAST).fit(epochs)
    assert list(clf.classes_) == [1, 2]
    assert clf.info_["ch_names"] == epochs.ch_names
    assert set(clf.predict(epochs)) <= {1, 2}
    assert clf.score(epochs) == clf.score(epochs, epochs.events[:, 2])


def test_scaling_gives_the_network_unit_variance(synthetic_arrays):
    X, y = synthetic_arrays
    epochs = _synthetic_epochs(X, y)
    clf = InterpretableCNNClassifier(**FAST).fit(epochs)
    scaled = epochs.get_data() * clf.input_scale_
    assert np.std(scaled) == pytest.approx(1, rel=1e-3)
    assert float(clf.module_.input_scale) == pytest.approx(clf.input_scale_)
    fixed = InterpretableCNNClassifier(scaling=1e5, **FAST).fit(epochs)
    assert fixed.input_scale_ == 1e5


@pytest.mark.parametrize(
    "ch_types, match",
    [
        ("eeg", "X is constant; cannot scale it"),
        (["eeg"] * 3 + ["eog"], "The eog channels of X are constant; cannot scale"),
    ],
)
def test_constant_data_are_refused_rather_than_scaled(
    synthetic_arrays, ch_types, match
):
    """Scaling a constant channel type to unit variance multiplies it by 1 / 0."""
    X, y = synthetic_arrays
    X = X.copy()
    X[:, 3 if isinstance(ch_types, list) else slice(None)] = 0
    info = mne.create_info([f"EEG{i}" for i in range(4)], 64.0, ch_types)
    clf = EEGNetClassifier(info=info, picks=info.ch_names, **FAST)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_data_mean_is_the_mean_training_epoch(synthetic_arrays):
    """``baseline="mean"`` (explain, the faithfulness curves) starts from
    ``data_mean_``; each channel's mean over epochs and times in its place
    passed every test, which took the estimator's own value for reference."""
    X, y = synthetic_arrays
    epochs = _synthetic_epochs(X, y)
    clf = InterpretableCNNClassifier(**FAST).fit(epochs)
    expected = epochs.get_data().mean(axis=0)
    assert clf.data_mean_.shape == expected.shape
    np.testing.assert_allclose(
        clf.data_mean_, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max()
    )


def test_info_parameter_sets_kernel_lengths(synthetic_arrays):
    X, y = synthetic_arrays
    info = _arrays_info(4, sfreq=256.0)
    clf = EEGNetClassifier(info=info, **FAST).fit(X, y)
    assert clf.info_.ch_names == info.ch_names and clf.info_["sfreq"] == 256.0
    assert clf.module_.temporal_conv.kernel_size == (1, 129)
    assert EEGNetClassifier(**FAST).fit(X, y).module_.temporal_conv.kernel_size == (
        1,
        65,
    )
    # Its channels name those of X, one by one.
    with pytest.raises(ValueError, match="info has 3 channels but X has 4"):
        EEGNetClassifier(info=_arrays_info(3), **FAST).fit(X, y)


def test_sklearn_contract(synthetic_arrays):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(module__F1=4, module__D=1, lr=0.01, **FAST)
    params = clf.get_params()
    assert params["module__F1"] == 4 and params["lr"] == 0.01
    assert params["random_state"] == 0 and params["scaling"] == "auto"
    clf.set_params(module__dropout=0.25, max_epochs=2)
    unfitted = clone(clf)
    assert unfitted.get_params()["module__dropout"] == 0.25
    assert not hasattr(unfitted, "module_")
    clf.fit(X, y)
    check_is_fitted(clf)
    assert clf.module_.temporal_conv.out_channels == 4
    assert clf.module_.spatial_dropout.p == 0.25
    assert len(clf.history) == 2
    refit_clone = clone(clf)
    assert not hasattr(refit_clone, "module_")
    assert refit_clone.get_params()["module__F1"] == 4


def test_grid_search_and_pipeline_on_module_parameters(synthetic_arrays):
    X, y = synthetic_arrays
    search = GridSearchCV(
        EEGNetClassifier(**FAST), {"module__F1": [2, 4]}, cv=StratifiedKFold(2)
    )
    search.fit(X, y)
    assert search.best_params_["module__F1"] in (2, 4)
    assert (
        search.best_estimator_.module_.temporal_conv.out_channels
        == (search.best_params_["module__F1"])
    )
    pipeline = make_pipeline(InterpretableCNNClassifier(**FAST))
    pipeline.fit(X, y)
    assert pipeline.predict(X).shape == (40,)


def test_a_numpy_integer_batch_size_trains_and_predicts(synthetic_arrays):
    """A grid of np.arange values gives NumPy integers, which the parameter
    check accepts; torch's DataLoader took only Python ints ("batch_size
    should be a positive integer value, but got batch_size=8")."""
    X, y = synthetic_arrays
    search = GridSearchCV(
        EEGNetClassifier(**FAST), {"batch_size": np.array([8, 16])}, cv=2
    ).fit(X, y)
    assert search.best_estimator_.batch_size_ in (8, 16)
    clf = EEGNetClassifier(**{**FAST, "batch_size": np.int64(8)}).fit(X, y)
    assert clf.set_params(batch_size=np.int32(16)).predict_proba(X).shape == (40, 2)


def test_a_batch_size_set_after_fit_applies_to_prediction(synthetic_arrays):
    """set_params(batch_size=...) on a fitted estimator (to fit a GPU's memory,
    say) reads the epochs to predict in batches of that size."""
    X, y = synthetic_arrays
    clf = InterpretableCNNClassifier(**FAST).fit(X, y)
    sizes = []
    clf.module_.register_forward_pre_hook(
        lambda module, inputs: sizes.append(len(inputs[0]))
    )
    clf.set_params(batch_size=16).predict_proba(X)
    assert sizes == [16, 16, 8]


def test_iterator_batch_size_minus_one_reads_all_epochs_at_once(synthetic_arrays):
    """skorch's iterator_*__batch_size=-1 means one batch of every epoch (torch's
    DataLoader refuses -1)."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        **FAST, iterator_train__batch_size=-1, iterator_valid__batch_size=-1
    ).fit(X, y)
    assert [batch["train_batch_size"] for batch in clf.history[0, "batches"]] == [40]
    assert clf.predict_proba(X).shape == (40, 2)


def test_seeded_training_leaves_the_gpus_generators_alone(
    synthetic_arrays, monkeypatch
):
    """Seeding went through torch.manual_seed, which reseeds every GPU's
    generator where it restores those of the training's device only: on a CUDA
    machine a CPU fit (or a randomization check) reset the caller's GPU random
    streams to the estimator's seed for good."""
    X, y = synthetic_arrays
    reseeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", reseeded.append)
    EEGNetClassifier(**{**FAST, "device": "cpu"}).fit(X, y)
    assert reseeded == []


def _two_gpus(monkeypatch):
    """Two pretended GPUs, the second current, whose generators hold a state
    that seeding replaces; return their states by index."""
    states, current = {0: "first's", 1: "second's"}, [1]

    @contextlib.contextmanager
    def device(index):
        before, current[0] = current[0], index
        yield
        current[0] = before

    for name, value in {
        "device_count": lambda: 2,
        "current_device": lambda: current[0],
        "device": device,
        "manual_seed": lambda seed: states.update({current[0]: f"seed {seed}"}),
        "get_rng_state": lambda index: states[index],
        "set_rng_state": lambda state, index: states.update({index: state}),
    }.items():
        monkeypatch.setattr(torch.cuda, name, value)
    return states


@pytest.mark.parametrize(
    "device, seeded",
    [("cuda:0", [0]), ("cuda", [1]), (None, [0, 1]), ("cpu", [])],
)
def test_seeding_reaches_the_gpus_of_the_device_and_restores_them(
    monkeypatch, device, seeded
):
    """A training on a GPU must draw from its own GPU's seeded generator (not
    the current GPU's), None (skorch's "leave the module where it is") from
    any GPU's, a CPU training from none; and each is left as it was."""
    states = _two_gpus(monkeypatch)
    before = dict(states)
    with seeded_torch(7, device):
        assert [index for index in states if states[index] == "seed 7"] == seeded
        drawn = torch.randn(3)
    assert states == before
    torch.testing.assert_close(
        drawn, torch.randn(3, generator=torch.Generator().manual_seed(7))
    )


def test_seeded_work_on_threads_draws_as_when_run_alone():
    """torch's CPU generator is the process's: a seeded training on another
    thread reseeded it in the middle of this one, whose draws then changed
    from run to run. The other waits until this one ends."""
    alone = torch.randn(4, generator=torch.Generator().manual_seed(0))
    halfway, other_drew, done = (threading.Event() for _ in range(3))
    drawn = []

    def other():
        halfway.wait(timeout=10)
        with seeded_torch(1, "cpu"):
            torch.randn(4)
            other_drew.set()
            done.wait(timeout=10)  # holds its seed until this one has drawn

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    with seeded_torch(0, "cpu"):
        drawn.append(torch.randn(2))
        halfway.set()
        other_drew.wait(timeout=0.5)  # it does not: it waits for this one
        drawn.append(torch.randn(2))
        done.set()
    thread.join()
    torch.testing.assert_close(torch.cat(drawn), alone)


def test_fixed_noise_is_the_same_on_each_call_and_leaves_torch_alone():
    """Checks that probe a network with noise must see the same numbers on
    every call, in the dtype and on the device of the tensor given, without
    moving the caller's random stream."""
    state = torch.get_rng_state()
    first = fixed_noise((2, 3), dtype=torch.float64)
    assert first.dtype == torch.float64
    torch.testing.assert_close(fixed_noise((2, 3), dtype=torch.float64), first)
    like = torch.zeros(1, dtype=torch.float64)
    assert fixed_noise((2, 3), like).dtype == torch.float64
    assert torch.equal(torch.get_rng_state(), state)


def test_random_state_reproduces_training_and_spares_global_rng(synthetic_arrays):
    X, y = synthetic_arrays
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = EEGNetClassifier(**FAST).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    second = EEGNetClassifier(**FAST).fit(X, y)
    other = EEGNetClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(
        first.decision_function(X), second.decision_function(X)
    )
    assert not np.allclose(first.decision_function(X), other.decision_function(X))


def test_initialize_builds_the_network_of_its_random_state(synthetic_arrays):
    """initialize(X, y) built the network from torch's global random state: the
    same random_state gave other weights at each call, and another network after
    partial_fit or a warm fit (logits 0.1 apart), and it drew from the user's
    torch."""
    X, y = synthetic_arrays
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first, second, other = (
        EEGNetClassifier(**{**FAST, "random_state": seed}).initialize(X, y)
        for seed in (0, 0, 1)
    )
    assert torch.equal(torch.get_rng_state(), before)
    for name, value in first.module_.state_dict().items():
        torch.testing.assert_close(second.module_.state_dict()[name], value)
    trained = [clf.partial_fit(X, y).decision_function(X) for clf in (first, second)]
    np.testing.assert_array_equal(*trained)
    assert not np.allclose(trained[0], other.partial_fit(X, y).decision_function(X))


def test_pickle_and_saved_params_give_identical_predictions(synthetic_arrays, tmp_path):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    expected = clf.decision_function(X)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.decision_function(X), expected)

    clf.save_params(f_params=tmp_path / "params.pt")
    # Different data statistics: the saved input scale must win over them.
    fresh = EEGNetClassifier(**FAST).initialize(X * 3, y)
    fresh.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(fresh.decision_function(X), expected)
    # Weights-only loading: a file that pickles arbitrary objects is refused.
    torch.save({"payload": object()}, tmp_path / "unsafe.pt")
    with pytest.raises(pickle.UnpicklingError):
        fresh.load_params(f_params=tmp_path / "unsafe.pt")


@pytest.mark.filterwarnings("ignore:After training")  # not trained at all
def test_a_learning_rate_of_zero_keeps_the_network_as_built(synthetic_arrays):
    """lr=0 is allowed, as in torch: the network trains on with its weights as built."""
    X, y = synthetic_arrays
    built = InterpretableCNNClassifier(**{**FAST, "max_epochs": 0}).fit(X, y)
    still = InterpretableCNNClassifier(**{**FAST, "lr": 0}).fit(X, y)
    assert len(still.history) == FAST["max_epochs"]
    for name, weight in built.module_.named_parameters():
        torch.testing.assert_close(still.module_.get_parameter(name), weight)


class _NormsAfterEachStep(Callback):
    """Record the largest norm of EEGNet's spatial filters after each training step."""

    def initialize(self):
        self.norms = []
        return self

    def on_batch_end(self, net, training=None, **kwargs):
        if training:
            norm = net.module_.spatial_conv.weight.flatten(1).norm(dim=1).max()
            self.norms.append(norm.item())


def test_max_norm_holds_after_training(synthetic_arrays):
    """As Keras' max_norm, the constraint holds after every optimizer step (the
    next step's gradients are those of the constrained weights), not only at
    the end."""
    X, y = synthetic_arrays
    recorder = _NormsAfterEachStep()
    clf = EEGNetClassifier(
        max_epochs=5, lr=0.1, batch_size=8, verbose=False, callbacks=[recorder]
    ).fit(X * 50, y)
    assert clf.module_.spatial_conv.weight.flatten(1).norm(dim=1).max() <= 1 + 1e-5
    assert clf.module_.classifier.weight.norm(dim=1).max() <= 0.25 + 1e-5
    norms = dict(clf.callbacks_)["_NormsAfterEachStep"].norms
    assert len(norms) == 5 * 5  # 5 batches of 8 in each of 5 epochs
    assert max(norms) <= 1 + 1e-5


@pytest.mark.parametrize("name", [None, "lr_scheduler"])
def test_a_schedule_of_the_users_callbacks_replaces_the_cosine(synthetic_arrays, name):
    """Both set the learning rate: StepLR's 0.01, 0.005 became 0.0094, 0.0038;
    named "lr_scheduler", it failed as a duplicate name the user never gave.
    The log names the schedule by its policy's name, not its class's repr."""
    X, y = synthetic_arrays
    step = LRScheduler(torch.optim.lr_scheduler.StepLR, step_size=2, gamma=0.5)
    with catch_logging() as log:
        clf = EEGNetClassifier(
            **dict(FAST, max_epochs=6, lr=0.01, verbose=True),
            callbacks=[step if name is None else (name, step)],
        ).fit(X, y)
    assert "callbacks (StepLR) replaces the default cosine" in log.getvalue()
    used = [group["lr"] for group in clf.optimizer_.param_groups]
    assert used == pytest.approx([0.01 * 0.5**3])
    np.testing.assert_allclose(
        clf.history[:, "event_lr"], [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]
    )


def test_a_schedule_class_among_the_callbacks_replaces_the_cosine(synthetic_arrays):
    """skorch builds a callback given as a class with its defaults: a scheduler
    so given ran beside the cosine unless recognized, and the log named its
    schedule "None" where skorch runs WarmRestartLR."""
    X, y = synthetic_arrays
    with mne.utils.catch_logging() as log:
        clf = EEGNetClassifier(
            **dict(FAST, max_epochs=2, verbose=True), callbacks=[LRScheduler]
        ).fit(X, y)
    assert "lr_scheduler" not in dict(clf.callbacks_)
    assert "callbacks (WarmRestartLR) replaces" in log.getvalue()
    # Without the cosine, there is nothing to replace nor to say.
    with mne.utils.catch_logging() as log:
        EEGNetClassifier(
            **dict(FAST, max_epochs=1, verbose=True),
            lr_schedule=None,
            callbacks=[LRScheduler],
        ).fit(X, y)
    assert "replaces" not in log.getvalue()


class _WeightsAfterEachEpoch(Callback):
    """Records a copy of the network's weights at the end of each epoch."""

    def initialize(self):
        self.weights = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights.append(copy.deepcopy(net.module_.state_dict()))


def test_cosine_schedule_and_early_stopping(synthetic_arrays, capsys):
    X, y = synthetic_arrays
    clf = InterpretableCNNClassifier(max_epochs=10, verbose=False, random_state=0).fit(
        X, y
    )
    # The cosine spans the epochs trained: lr * (1 + cos(pi * e / 10)) / 2 in
    # epoch e, 0 only after the last (one twice as long ends at half the lr).
    np.testing.assert_allclose(
        clf.history[:, "event_lr"], 1e-3 * (1 + np.cos(np.pi * np.arange(10) / 10)) / 2
    )
    constant = InterpretableCNNClassifier(
        max_epochs=3, lr_schedule=None, verbose=False
    ).fit(X, y)
    assert "event_lr" not in constant.history[-1]

    recorder = _WeightsAfterEachEpoch()
    stopping = InterpretableCNNClassifier(
        max_epochs=200,
        lr=0.05,
        lr_schedule=None,
        early_stopping=True,
        n_iter_no_change=3,
        validation_fraction=0.25,
        verbose="warning",
        random_state=0,
        callbacks=[recorder],
    ).fit(X, y)
    n_epochs = len(stopping.history)
    assert n_epochs < 200
    # Why it stopped is logged at info, as the progress table: skorch printed
    # "Stopping since valid_loss has not improved" at verbose="warning".
    assert capsys.readouterr().out == ""
    valid_losses = stopping.history[:, "valid_loss"]
    assert np.argmin(valid_losses) == n_epochs - 1 - 3
    # The network returned is the one of that best epoch, not of the last.
    weights = dict(stopping.callbacks_)["_WeightsAfterEachEpoch"].weights
    best = weights[np.argmin(valid_losses)]
    for name, weight in stopping.module_.state_dict().items():
        torch.testing.assert_close(weight, best[name])
    assert stopping.train_split is None  # the parameter is left as given


@pytest.mark.filterwarnings("ignore:After training")  # noise labels
def test_the_cosine_spans_the_epochs_of_the_automatic_schedule(synthetic_arrays):
    """max_epochs="auto" is a number once fit has counted the epochs it trains
    on: the cosine spans that number, max_epochs_ (stopped early here, so that
    few of them are trained)."""
    X, y = synthetic_arrays
    noise_labels = np.random.default_rng(0).permutation(y)  # nothing to learn
    clf = EEGNetClassifier(
        early_stopping=True, n_iter_no_change=1, random_state=0, verbose=False
    ).fit(X, noise_labels)
    assert clf.max_epochs_ == 250  # 4 steps per pass over the 32 trained on
    assert dict(clf.callbacks_)["lr_scheduler"].lr_scheduler_.T_max == 250
    epochs = np.arange(len(clf.history))
    np.testing.assert_allclose(
        clf.history[:, "event_lr"], 1e-3 * (1 + np.cos(np.pi * epochs / 250)) / 2
    )


@pytest.mark.parametrize(
    "estimator_class", [EEGNetClassifier, InterpretableCNNClassifier]
)
def test_training_that_diverges_stops_with_an_error(synthetic_arrays, estimator_class):
    """At lr=1000 the loss became NaN in epoch 3, and the network returned gave one
    class to every epoch, without a word."""
    X, y = synthetic_arrays
    diverging = estimator_class(max_epochs=20, lr=1e3, random_state=0, verbose=False)
    with pytest.raises(
        RuntimeError, match=r"diverged: the training loss was (nan|-?inf) "
    ):
        diverging.fit(X, y)


@pytest.mark.parametrize("loss", [float("nan"), float("inf"), -float("inf")])
def test_a_loss_that_is_not_finite_stops_training_at_once(loss):
    """An infinite loss drives an update that makes the weights NaN, as a NaN does."""
    net = SimpleNamespace(history=[{}, {}], lr=0.1)
    with pytest.raises(RuntimeError, match=rf"validation loss was {loss} in epoch 2"):
        StopOnDivergence().on_batch_end(net, training=False, loss=torch.tensor(loss))
    StopOnDivergence().on_batch_end(net, training=True, loss=torch.tensor(1.0))


def test_module_parameters_set_after_fit_apply_at_the_next_fit(synthetic_arrays):
    """skorch rebuilt the network untrained: predictions went from 1.0 to chance."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=5, random_state=0, verbose=False).fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(module__dropout=0.25)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert clf.get_params()["module__dropout"] == 0.25
    assert clone(clf).get_params()["module__dropout"] == 0.25
    assert clf.module_.spatial_dropout.p == 0.5
    assert clf.fit(X, y).module_.spatial_dropout.p == 0.25
    # So is the network itself.
    clf = EEGNetClassifier(max_epochs=5, random_state=0, verbose=False).fit(X, y)
    proba = clf.predict_proba(X)
    clf.set_params(module=InterpretableCNN)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert isinstance(clf.module_, EEGNet)
    assert isinstance(clf.fit(X, y).module_, InterpretableCNN)
    # The data iterators' parameters apply at the next pass (skorch failed).
    clf.set_params(iterator_train__shuffle=False)
    assert clf.get_params_for("iterator_train")["shuffle"] is False


def test_a_fitted_estimator_takes_its_own_parameters_back(synthetic_arrays):
    """set_params(**get_params()) rebuilt the network untrained, as compile=False
    (the value it had) did on its own: training accuracy went from 1.0 to 0.5.
    optimizer, iterator_train, iterator_valid and dataset failed with skorch's
    "Something went wrong"."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=5, random_state=0, verbose=False).fit(X, y)
    proba = clf.predict_proba(X)
    for deep in (False, True):
        clf.set_params(**clf.get_params(deep=deep))
        np.testing.assert_array_equal(clf.predict_proba(X), proba)
    # A new optimizer trains from the next step on, as a new loss does in skorch.
    clf.set_params(optimizer=torch.optim.SGD)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert isinstance(clf.partial_fit(X, y).optimizer_, torch.optim.SGD)


def test_optimizer_parameters_set_after_fit_are_kept(synthetic_arrays):
    """skorch applied them to the optimizer it had and kept them nowhere else:
    get_params and clone lost weight_decay=0.3, and the next fit used AdamW's
    0.01."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    clf.set_params(optimizer__weight_decay=0.3)
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 0.3
    assert clf.get_params()["optimizer__weight_decay"] == 0.3
    assert clone(clf).get_params()["optimizer__weight_decay"] == 0.3
    assert clf.fit(X, y).optimizer_.param_groups[0]["weight_decay"] == 0.3
    # With a new optimizer, they are its options.
    clf.set_params(optimizer=torch.optim.SGD, optimizer__momentum=0.9)
    assert clf.optimizer_.param_groups[0]["momentum"] == 0.9
    # An option of one parameter group (skorch's optimizer__param_groups__0__lr)
    # is the optimizer's now, not an option the next optimizer is built with.
    clf.set_params(optimizer__param_groups__0__lr=0.5)
    assert clf.optimizer_.param_groups[0]["lr"] == 0.5
    assert "optimizer__param_groups__0__lr" not in clf.get_params()
    clone(clf).fit(X, y)


def test_warm_start_refuses_data_its_network_was_not_built_for(synthetic_arrays):
    """A new class failed in torch ("Target 2 is out of bounds") after classes_
    had been replaced, leaving predictions relabelled."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(warm_start=True, **FAST).fit(X, y)
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"labels \[2\] the network was not built for"):
        clf.fit(X, np.where(y == 1, 2, y))
    with pytest.raises(ValueError, match="channel"):
        clf.fit(X[:, :3], y)
    assert list(clf.classes_) == [0, 1]
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert len(clf.fit(X, y).history) == 2 * FAST["max_epochs"]  # training goes on
    # Epochs coded otherwise are matched by name, as in partial_fit: their raw
    # codes retrained the kept network on swapped labels.
    original = _named(X, y + 2, {"feet": 2, "hands": 3})
    named = EEGNetClassifier(warm_start=True, **FAST).fit(original)
    swapped = _named(X, 3 - y, {"feet": 3, "hands": 2})
    named.fit(swapped)
    assert named.event_id_ == {"feet": 2, "hands": 3}  # was the file's coding
    assert named.score(swapped) == named.score(original)


def test_scikit_learn_tags_say_the_input_is_three_dimensional():
    """The tags said 2-D tables, which scikit-learn's checks then fed them."""
    for estimator in (
        EEGNetClassifier(),
        InterpretableCNNClassifier(),
        CroppedClassifier(EEGNetClassifier()),
        SpectralClassifier(),
    ):
        tags = get_tags(estimator)
        assert tags.estimator_type == "classifier"
        assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array


def test_a_network_instance_is_left_as_given(synthetic_arrays):
    """The instance was trained in place: a clone of the fitted estimator, each
    fold of a cross-validation, started from weights trained on its test data."""
    X, y = synthetic_arrays
    instance = EEGNet(n_channels=4, n_classes=2, n_times=64)
    weights = copy.deepcopy(instance.state_dict())
    kwargs = dict(max_epochs=5, random_state=0, verbose=False)
    clf = EEGNetClassifier(module=instance, **kwargs).fit(X, y)
    assert clf.module_ is not instance
    assert set(instance.state_dict()) == set(weights)  # no buffer added
    for name, values in instance.state_dict().items():
        torch.testing.assert_close(values, weights[name])
    refitted = clone(clf).fit(X, y)
    np.testing.assert_array_equal(refitted.predict_proba(X), clf.predict_proba(X))


def test_callback_parameters_are_set_before_fit_and_kept(synthetic_arrays):
    """Setting any callbacks__ parameter failed with "no attribute 'incremental_'"."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=4, verbose=False)
    clf.set_params(callbacks__print_log__floatfmt=".2f")
    clf.set_params(callbacks__lr_scheduler__T_max=2).fit(X, y)
    assert dict(clf.callbacks_)["print_log"].floatfmt == ".2f"
    np.testing.assert_allclose(clf.history[:, "event_lr"][:3], [1e-3, 5e-4, 0])


@pytest.mark.parametrize(
    "estimator_class", [EEGNetClassifier, InterpretableCNNClassifier]
)
def test_fitting_adds_no_parameter(synthetic_arrays, estimator_class):
    """The training statistics were a parameter, which clone carried along."""
    X, y = synthetic_arrays
    clf = estimator_class(max_epochs=1, verbose=False)
    parameters = set(clf.get_params(deep=False))
    clf.fit(X, y)
    assert set(clf.get_params(deep=False)) == parameters
    assert not set(vars(clone(clf))) - set(vars(estimator_class()))


def test_verbose_shows_progress_and_is_silent_otherwise(synthetic_arrays, capsys):
    """verbose has MNE's meaning: a level, None following mne.set_log_level."""
    X, y = synthetic_arrays
    # Arrays with their rate, as fitting without it warns (on stdout too).
    info = mne.create_info(X.shape[1], 128.0, "eeg")
    InterpretableCNNClassifier(info=info, max_epochs=2, verbose=False).fit(X, y)
    assert capsys.readouterr().out == ""
    InterpretableCNNClassifier(info=info, max_epochs=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 4
    with mne.utils.use_log_level("warning"):
        InterpretableCNNClassifier(info=info, max_epochs=2).fit(X, y)
    assert capsys.readouterr().out == ""
    with mne.utils.use_log_level("info"):
        InterpretableCNNClassifier(info=info, max_epochs=2).fit(X, y)
    assert "train_loss" in capsys.readouterr().out
    # skorch's old meaning of 0 (silent) keeps working, with a warning.
    with pytest.warns(FutureWarning, match="verbose=False"):
        InterpretableCNNClassifier(info=info, max_epochs=2, verbose=0).fit(X, y)
    assert "train_loss" not in capsys.readouterr().out
    # skorch's 1 (show progress) is MNE's True, info; not logging's level 1,
    # which shows every debug message too.
    with pytest.warns(FutureWarning, match="verbose=True"), at_log_level(1):
        assert mne.utils.logger.level == logging.INFO
    # So is NumPy's 0 (a grid over verbose), not logging's NOTSET.
    with pytest.warns(FutureWarning, match="verbose=False"), at_log_level(np.int64(0)):
        assert mne.utils.logger.level == logging.WARNING
    # A refit is as quiet: skorch printed "Re-initializing module." (and the
    # criterion, and the optimizer) at any level but False and None.
    clf = InterpretableCNNClassifier(info=info, max_epochs=2, verbose="warning")
    clf.fit(X, y).fit(X, y)
    assert capsys.readouterr().out == ""


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self):
        return True


@pytest.mark.parametrize(
    "streams, coloured",
    [
        ([io.StringIO()], False),
        ([_Terminal()], True),
        ([_Terminal(), io.StringIO()], False),
    ],
)
def test_the_progress_table_is_coloured_only_when_logged_to_terminals(
    synthetic_arrays, streams, coloured
):
    """skorch colours the best values with ANSI codes, which a log file (or a
    notebook's saved output) holds as escape sequences: they are left out
    unless every stream the log goes to is a terminal."""
    X, y = synthetic_arrays
    handlers = mne.utils.logger.handlers
    mne.utils.logger.handlers = [logging.StreamHandler(stream) for stream in streams]
    try:
        # The first epoch's losses are the best so far: skorch colours them.
        EEGNetClassifier(**{**FAST, "max_epochs": 1, "verbose": True}).fit(X, y)
    finally:
        mne.utils.logger.handlers = handlers
    for stream in streams:
        assert "train_loss" in stream.getvalue()
        assert ("\x1b[" in stream.getvalue()) is coloured


@pytest.mark.parametrize(
    "rebuild",
    [
        lambda clf, X, y: clf.set_params(criterion=torch.nn.MultiMarginLoss),
        lambda clf, X, y: clf.set_params(criterion__reduction="sum"),
        lambda clf, X, y: clf.set_params(optimizer=torch.optim.SGD),
        lambda clf, X, y: clf.initialize(X, y),
    ],
)
def test_rebuilding_a_part_of_a_fitted_network_follows_verbose(
    synthetic_arrays, capsys, rebuild
):
    """skorch printed "Re-initializing criterion." at verbose="warning"."""
    X, y = synthetic_arrays
    info = mne.create_info(X.shape[1], 128.0, "eeg")
    clf = EEGNetClassifier(info=info, max_epochs=0, lr_schedule=None, verbose=False)
    clf.fit(X, y)
    for verbose in ("warning", False):
        rebuild(clf.set_params(verbose=verbose), X, y)
        assert capsys.readouterr().out == ""
    rebuild(clf.set_params(verbose="info"), X, y)
    assert "Re-initializing" in capsys.readouterr().out


def test_a_network_built_not_trained_with_early_stopping(synthetic_arrays):
    """max_epochs=0 with early_stopping=True failed in skorch (IndexError)."""
    built = EEGNetClassifier(**{**FAST, "max_epochs": 0}, early_stopping=True)
    with warnings.catch_warnings():
        # The network is not trained: nothing to say of what it learned.
        warnings.filterwarnings("error", "After training")
        built.fit(*synthetic_arrays)
    assert len(built.history) == 0
    assert built.predict(synthetic_arrays[0]).shape == synthetic_arrays[1].shape


# -- clear errors --------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_refused(synthetic_arrays, bad):
    X, y = synthetic_arrays
    X = X.copy()
    X[3, 1, 10] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        EEGNetClassifier(**FAST).fit(X, y)
    clf = EEGNetClassifier(**FAST).fit(synthetic_arrays[0], y)
    with pytest.raises(ValueError, match="NaN or infinite"):
        clf.predict(X)


def test_data_overflowing_the_network_are_refused(synthetic_arrays):
    """Finite data overflowing float32 in the network gave NaN probabilities, a class."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    X = X.copy()
    X[11] = 3e38  # finite in float32; in the second batch
    for predict in (clf.predict, clf.predict_proba, clf.decision_function):
        with (
            pytest.warns(RuntimeWarning, match="different units"),
            pytest.raises(
                ValueError, match=r"overflows the network: .* epoch\(s\) 11 "
            ),
        ):
            predict(X)


def test_outputs_infinite_in_one_class_only_are_refused():
    """Each epoch's outputs are checked in every class, not the first alone: one
    logit overflowing to infinity makes every probability of the epoch NaN."""
    outputs = torch.zeros((4, 3))
    outputs[2, 1] = float("inf")
    assert torch.softmax(outputs, dim=1)[2].isnan().all()
    with pytest.raises(ValueError, match=r"outputs for epoch\(s\) 12 are NaN"):
        check_outputs_finite(outputs, "X", start=10)


@pytest.mark.parametrize("as_epochs", [False, True])
def test_data_beyond_float32_are_refused_without_numpy_warning(
    synthetic_arrays, as_epochs
):
    """NumPy's "overflow encountered in cast" came before the clear error."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    X = X.astype(np.float64)
    X[3, 1, 10] = 1e39  # finite in float64, beyond float32
    if as_epochs:
        X = mne.EpochsArray(X, mne.create_info(X.shape[1], 128.0, "eeg"), verbose=False)
    for call in (lambda: EEGNetClassifier(**FAST).fit(X, y), lambda: clf.predict(X)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            with pytest.raises(ValueError, match=r"infinite values in epoch\(s\) 3;"):
                call()


def test_a_channel_of_nan_in_every_epoch_is_named_to_be_marked_bad(synthetic_arrays):
    """Every epoch was named, to be dropped, for one disconnected electrode."""
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X, mne.create_info(4, 128.0, "eeg"), verbose=False)
    epochs._data[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"epoch\(s\) 0, 1, 2, 3, 4 and 35 more; "):
        EEGNetClassifier(**FAST).fit(epochs, y)
    with pytest.raises(
        ValueError, match=r"\['2'\] hold them in every epoch: .* mark them bad"
    ):
        EEGNetClassifier(**FAST).fit(epochs, y)
    epochs.info["bads"] = ["2"]
    assert EEGNetClassifier(**FAST).fit(epochs, y).ch_names_ == ["0", "1", "3"]


def test_nan_at_the_same_samples_of_every_channel_are_named(synthetic_arrays):
    """A gap at the same samples of every epoch was advised to be repaired by
    marking every channel bad, then interpolate_bads(), with no channel left;
    at fit (whole data) and at prediction (read in batches)."""
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X * 1e-6, mne.create_info(4, 128.0, "eeg"), verbose=False)
    clf = EEGNetClassifier(**FAST).fit(epochs, y)
    epochs._data[:, :, 40:48] = np.nan
    match = (
        r"every channel holds them in every epoch, at sample\(s\) "
        r"40, 41, 42, 43, 44 and 3 more of 64"
    )
    with pytest.raises(ValueError, match=match):
        EEGNetClassifier(**FAST).fit(epochs, y)
    with pytest.raises(ValueError, match=match + r".*epochs\.crop"):
        clf.set_params(batch_size=7).predict(epochs)


@pytest.mark.parametrize(
    "n_samples, listed", [(1, "40"), (5, "40, 41, 42, 43, 44")], ids=["one", "five"]
)
def test_nan_at_a_few_samples_of_every_channel_are_named(
    synthetic_arrays, n_samples, listed
):
    """A gap of one sample is advised to be cropped, as a gap of several is,
    not to leave every channel out; five samples are listed with no "and 0
    more"."""
    X, y = synthetic_arrays
    X = X.copy()
    X[:, :, 40 : 40 + n_samples] = np.nan
    with pytest.raises(ValueError, match=rf"at sample\(s\) {listed} of 64: crop"):
        EEGNetClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize("as_epochs", [True, False])
def test_nan_at_other_samples_in_other_epochs_are_named_together(
    synthetic_arrays, as_epochs
):
    """Every channel holds NaN in every epoch, at sample 40 of some epochs and
    50 of the others: cropping both out leaves the data whole, where marking
    every channel bad leaves nothing; the samples NaN in some epoch are named,
    not only those NaN in all, for arrays (checked whole) as for Epochs
    (checked in batches)."""
    X, y = synthetic_arrays
    X = X.copy()
    X[::2, :, 40] = np.nan
    X[1::2, :, 50] = np.nan
    data = mne.EpochsArray(X, mne.create_info(4, 128.0, "eeg"), verbose=False)
    match = r"every channel holds them in every epoch, at sample\(s\) 40, 50 of 64"
    with pytest.raises(ValueError, match=match):
        EEGNetClassifier(**FAST).fit(data if as_epochs else X, y)


@pytest.mark.parametrize("as_epochs", [True, False])
def test_data_of_nan_alone_are_not_advised_to_be_marked_bad(
    synthetic_arrays, as_epochs
):
    """Data without a finite value were advised to mark every channel bad and
    interpolate (Epochs), or to leave every channel out (arrays): nothing left."""
    X, y = synthetic_arrays
    X = np.full_like(X, np.nan)
    data = mne.EpochsArray(X, mne.create_info(4, 128.0, "eeg"), verbose=False)
    match = r"at every time sample, so no channel, epoch or span of time holds data"
    with pytest.raises(ValueError, match=match) as error:
        EEGNetClassifier(**FAST).fit(data if as_epochs else X, y)
    assert "interpolate_bads" not in str(error.value)
    assert "leave them out" not in str(error.value)


def test_nan_at_prediction_is_named_in_all_the_epochs(synthetic_arrays):
    """Prediction checked the data a batch at a time, and a check of one epoch
    ran first: NaN of C3 in every epoch named epoch 0 alone, and advised marking
    C3 bad, which the fitted network reads all the same (the same error again);
    NaN of one epoch was said to be in every epoch."""
    X, y = synthetic_arrays
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 128.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-6, info, verbose=False)
    clf = EEGNetClassifier(**FAST).fit(epochs, y)
    broken = epochs.copy()
    broken._data[:, 0] = np.nan
    broken.info["bads"] = ["C3"]
    match = r"epoch\(s\) 0, 1, 2, 3, 4 and 35 more; .*fitted on them reads them"
    # Also for a network fitted on arrays, which reads every channel given.
    for fitted in (clf, EEGNetClassifier(**FAST).fit(X * 1e-6, y)):
        with pytest.raises(ValueError, match=match):
            fitted.predict(broken)
    once = epochs.copy()
    once._data[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"epoch\(s\) 7; drop or repair those"):
        clf.predict(once)
    with pytest.raises(ValueError, match=r"channel\(s\) at index \[0\] .*needs"):
        clf.predict(broken.get_data())


def test_gaps_and_epochs_are_listed_from_every_batch_five_at_most(synthetic_arrays):
    """Guard what the refusal of NaN lists: a gap's samples are gathered from
    every batch (8 samples in the first epochs, one more in the last, read 7
    epochs at a time), five of them and how many more; five epochs are listed
    with no "and 0 more"; data NaN everywhere are no gap to crop (nor channels
    to mark bad)."""
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X * 1e-6, mne.create_info(4, 128.0, "eeg"), verbose=False)
    clf = EEGNetClassifier(**FAST).fit(epochs, y).set_params(batch_size=7)
    gaps = epochs.copy()
    gaps._data[:20, :, 40:48] = np.nan
    gaps._data[20:, :, 50] = np.nan
    with pytest.raises(
        ValueError, match=r"sample\(s\) 40, 41, 42, 43, 44 and 4 more of 64"
    ):
        clf.predict(gaps)
    five = epochs.copy()
    five._data[[3, 7, 11, 15, 19], 1, 5] = np.nan
    with pytest.raises(
        ValueError, match=r"epoch\(s\) 3, 7, 11, 15, 19; drop or repair"
    ):
        clf.predict(five)
    everywhere = epochs.copy()
    everywhere._data[:] = np.nan
    with pytest.raises(ValueError, match=r"no channel, epoch or span") as error:
        clf.predict(everywhere)
    assert "crop" not in str(error.value)


def test_epochs_array_without_events_says_its_events_are_one_class(
    synthetic_arrays,
):
    """mne.EpochsArray without events codes every epoch 1, which fit read as the
    labels and refused as "y holds a single class (1)", saying no more."""
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X * 1e-6, mne.create_info(4, 64.0, "eeg"), verbose=False)
    with pytest.raises(ValueError, match=r"single class \(1\).*EpochsArray without"):
        EEGNetClassifier(**FAST).fit(epochs)
    assert EEGNetClassifier(**FAST).fit(epochs, y).classes_.tolist() == [0, 1]


def test_a_training_fold_of_one_class_points_to_the_unstratified_split(
    synthetic_arrays,
):
    """cross_val_score of Epochs ordered by class, without y, splits them in
    order: a training fold of one class (2) was blamed on mne.EpochsArray
    without events, which code 1 in every epoch, though these had events."""
    epochs = _synthetic_epochs(*synthetic_arrays)  # 20 "rest", then 20 "move"
    with pytest.raises(ValueError, match=r"single class \(2\)") as error:
        cross_val_score(EEGNetClassifier(**FAST), epochs, cv=2, error_score="raise")
    assert "not stratified" in str(error.value)
    assert "y=epochs.events[:, 2]" in str(error.value)
    assert "EpochsArray without events" not in str(error.value)
    # Nor are the epochs of one event that happens to be coded 1.
    with pytest.raises(ValueError, match=r"single class \(1\)") as error:
        EEGNetClassifier(**FAST).fit(epochs["rest"])
    assert "EpochsArray without events" not in str(error.value)
    # What it says to do works.
    cross_val_score(EEGNetClassifier(**FAST), epochs, epochs.events[:, 2], cv=2)


def test_a_training_fold_of_one_class_says_stratified_folds_need_y(
    synthetic_arrays,
):
    """The refusal offered "(or cv=StratifiedKFold(...))" beside y; taken
    without y, scikit-learn failed with "Input should have at least 1
    dimension i.e. satisfy len(x.shape) > 0, got scalar array(None)"."""
    epochs = _synthetic_epochs(*synthetic_arrays)  # 20 "rest", then 20 "move"
    with pytest.raises(ValueError, match=r"single class \(2\)") as error:
        cross_val_score(EEGNetClassifier(**FAST), epochs, cv=2, error_score="raise")
    message = str(error.value)
    assert "cross_val_score(estimator, epochs, epochs.events[:, 2], cv=5)" in message
    assert "cv=StratifiedKFold(...) needs that y too" in message
    # As advised.
    scores = cross_val_score(
        EEGNetClassifier(**FAST),
        epochs,
        epochs.events[:, 2],
        cv=StratifiedKFold(2),
        error_score="raise",
    )
    assert scores.shape == (2,)


@pytest.mark.parametrize(("classes", "given"), [([], r"\[\]"), ([1], r"\[1\]")])
@pytest.mark.parametrize("call", ["fit", "partial_fit"])
def test_classes_of_fewer_than_two_labels_are_refused_by_name(
    synthetic_arrays, classes, given, call
):
    """classes=[] failed with "IndexError: list index out of range", and
    classes=[1] with "y holds a single class (1)" though y held two."""
    X, y = synthetic_arrays
    match = f"classes must hold at least two labels, got {given}"
    with pytest.raises(ValueError, match=match):
        if call == "fit":
            EEGNetClassifier(**FAST, classes=classes).fit(X, y)
        else:
            EEGNetClassifier(**FAST).partial_fit(X, y, classes=classes)


@pytest.mark.parametrize("shape", [(40, 0, 64), (40, 4, 0)])
@pytest.mark.parametrize("wrapper", ["none", "cropped", "spectral"])
def test_arrays_without_channels_or_samples_are_refused_alike(shape, wrapper):
    """The estimators refused them through their network's size, but
    CroppedClassifier and SpectralClassifier failed inside NumPy ("cannot
    reshape array of size 0", "need at least one array to concatenate") or
    named a tmax the user never gave."""
    estimator = EEGNetClassifier(**FAST)
    if wrapper == "cropped":
        estimator = CroppedClassifier(estimator, window_length=0.25, sfreq=64.0)
    elif wrapper == "spectral":
        estimator = SpectralClassifier(estimator, LogPowerSpectrum(sfreq=64.0))
    what = "channels" if shape[1] == 0 else "samples"
    with pytest.raises(ValueError, match=rf"X holds no {what}: its shape .* is \(40, "):
        estimator.fit(np.zeros(shape, np.float32), np.repeat([0, 1], 20))


@pytest.mark.parametrize(
    ("X_change", "y_change", "match"),
    [
        (lambda X: X, lambda y: np.zeros_like(y), "single class"),
        (lambda X: X, lambda y: y[:-1], "40 epochs but y has 39"),
        (lambda X: X[:, :, :, None], lambda y: y, "n_epochs, n_channels, n_times"),
        (lambda X: X.astype(str), lambda y: y, "real numbers"),
        # An analytic signal's array: float32 would keep its real part, silently.
        (lambda X: X * (1 + 1j), lambda y: y, "real numbers, got dtype complex"),
        (lambda X: X, lambda y: np.column_stack([y, y]), "should be a 1d array"),
        # An empty list is no list of Epochs (whose first item was looked up).
        (lambda X: [], lambda y: y[:0], r"got an array of shape \(0,\)"),
    ],
)
def test_bad_training_input_is_refused(synthetic_arrays, X_change, y_change, match):
    X, y = synthetic_arrays
    with pytest.raises((ValueError, TypeError), match=match):
        EEGNetClassifier(**FAST).fit(X_change(X), y_change(y))


@pytest.mark.parametrize("decoder", ["SlidingEstimator", "GeneralizingEstimator"])
def test_one_time_sample_per_epoch_is_refused_with_the_reason(
    synthetic_arrays, decoder
):
    """MNE's time decoders hand each estimator one time sample per epoch: the
    refusal spoke of a 2-D array the user never passed, and not of why."""
    X, y = synthetic_arrays
    time_decoder = getattr(mne.decoding, decoder)(EEGNetClassifier(**FAST))
    match = (
        r"got an array of shape \(40, 4\)\. A 2-D X is one time sample per epoch, "
        r"as mne.decoding.SlidingEstimator hands over; these networks read whole "
        r"epochs\. For windows over time, use mne_xai.CroppedClassifier\."
    )
    with pytest.raises(ValueError, match=match):
        time_decoder.fit(X, y)
    clf = EEGNetClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=match):
        clf.predict(X[..., 0])
    # Another shape, or data given to explain, are not SlidingEstimator's.
    with pytest.raises(ValueError) as error:
        clf.predict(X[None])
    assert "SlidingEstimator" not in str(error.value)
    with pytest.raises(ValueError) as error:
        mne_xai.explain(clf, X[..., 0])
    assert "SlidingEstimator" not in str(error.value)


@pytest.mark.parametrize(
    ("convert", "match"),
    [
        (
            lambda epochs: mne.io.RawArray(epochs.get_data()[0], epochs.info),
            "continuous",
        ),
        (lambda epochs: epochs.compute_psd(fmax=20), "SpectralClassifier"),
        (
            lambda epochs: epochs.compute_tfr(
                "morlet", freqs=[10.0], n_cycles=2, return_itc=False, average=False
            ),
            "time-frequency representation",
        ),
        (
            lambda epochs: [epochs[0].average(), epochs[1].average()],
            r"X\[0\] is an Evoked",
        ),
    ],
)
def test_other_mne_objects_are_refused_with_what_to_give(
    synthetic_arrays, convert, match
):
    """Raw, spectra and time-frequency objects were refused as "not an array",
    and a list of Evoked as of "dtype object"."""
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X * 1e-6, mne.create_info(4, 128.0, "eeg"), verbose=False)
    with mne.utils.use_log_level("error"):
        other = convert(epochs)
    with pytest.raises(TypeError, match=match):
        EEGNetClassifier(**FAST).fit(other, np.arange(2) % 2)
    clf = EEGNetClassifier(**FAST).fit(epochs, y)
    with pytest.raises(TypeError, match=match):
        clf.predict(other)


def test_complex_epochs_are_refused(synthetic_arrays):
    """Epochs of an analytic signal trained on their real part, with NumPy's
    ComplexWarning as the only sign (arrays were refused)."""
    X, y = synthetic_arrays
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    epochs = mne.EpochsArray(X * (1 + 1j) * 1e-6, info, verbose=False)
    with pytest.raises(TypeError, match="X must hold real numbers, got complex"):
        EEGNetClassifier(**FAST).fit(epochs, y)
    clf = EEGNetClassifier(**FAST).fit(mne.EpochsArray(X * 1e-6, info), y)
    with pytest.raises(TypeError, match="got complex Epochs"):
        mne_xai.explain(clf, epochs, verbose=False)


def test_complex_arrays_are_refused(synthetic_arrays):
    """An analytic signal given as an array is refused by its dtype: cast to
    float32, it would lose its imaginary part with only NumPy's ComplexWarning."""
    X, y = synthetic_arrays
    with pytest.raises(TypeError, match="X must hold real numbers, got dtype complex"):
        EEGNetClassifier(**FAST).fit(X * (1 + 1j), y)


@pytest.mark.parametrize("X", ["data.fif", {"X": 1}, 3.0])
def test_wrong_type_is_refused(X):
    with pytest.raises(TypeError, match="X must be an instance of"):
        EEGNetClassifier(**FAST).fit(X, [0, 1])


def test_array_likes_and_a_column_of_labels_are_read_as_scikit_learn_does(
    synthetic_arrays,
):
    """Array-likes (xarray, dask) were refused as not arrays, and labels of
    shape (n, 1) as not one-dimensional."""
    X, y = synthetic_arrays

    class ArrayLike:
        def __array__(self, dtype=None, copy=None):
            return X

    fitted = EEGNetClassifier(**FAST).fit(X, y)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        from_likes = EEGNetClassifier(**FAST).fit(ArrayLike(), y[:, None])
    np.testing.assert_array_equal(
        from_likes.predict_proba(ArrayLike()), fitted.predict_proba(X)
    )


def test_arrays_need_labels(synthetic_arrays):
    with pytest.raises(ValueError, match="y is required"):
        EEGNetClassifier(**FAST).fit(synthetic_arrays[0])
    # Epochs turned into arrays by a Pipeline's first step: the error spoke of
    # arrays the user never gave.
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X * 1e-6, mne.create_info(4, 64.0, "eeg"), verbose=False)
    pipeline = make_pipeline(
        mne_xai.spectral_input.LogPowerSpectrum(fmax=30), EEGNetClassifier(**FAST)
    )
    with pytest.raises(ValueError, match=r"In a Pipeline.*pass y"):
        pipeline.fit(epochs)
    # Scoring too: a fitted network has no events to read from arrays.
    fitted = EEGNetClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="y is required when X is an array"):
        fitted.score(X)


def test_unfitted_estimator_is_refused(synthetic_arrays):
    with pytest.raises(NotInitializedError):
        EEGNetClassifier().predict(synthetic_arrays[0])


@pytest.mark.parametrize(
    "inspection",
    [
        lambda clf, epochs: inspect.layer_activations(clf, epochs, "spatial_conv"),
        lambda clf, epochs: inspect.temporal_filters(clf),
        lambda clf, epochs: inspect.unit_sensitivity(clf, epochs, "spatial_elu"),
        lambda clf, epochs: inspect.pruning_curve(clf, epochs, "spatial_elu"),
        lambda clf, epochs: inspect.learn_patterns(clf, epochs),
        lambda clf, epochs: inspect.group_predictions(clf, epochs, [0] * len(epochs)),
    ],
)
def test_unfitted_estimator_is_refused_by_the_inspections(synthetic_arrays, inspection):
    """These failed with AttributeErrors on module_, info_ or classes_inferred_."""
    epochs = _synthetic_epochs(*synthetic_arrays)
    with pytest.raises(NotFittedError, match="not (fitted|initialized) yet"):
        inspection(EEGNetClassifier(), epochs)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("lr_schedule", "linear", "lr_schedule"),
        ("scaling", "volts", "scaling"),
        ("scaling", -1.0, "positive"),
        ("scaling", 0.0, "positive"),
        ("early_stopping", "yes", "early_stopping"),
        ("batch_size", 0, "at least 1"),
        ("n_iter_no_change", 0, "at least 1"),
        ("validation_fraction", 1.0, r"validation_fraction must be in \(0, 1\)"),
        # 32 samples of the 64 at 128 Hz: half the epoch.
        ("time_shift", 0.25, "below half"),
        ("time_shift", -0.1, "at least 0"),
        ("time_shift", "auto", "time_shift"),
        ("spatial_init", "pca", "spatial_init"),
        # A learning rate read from a configuration file, or left out, failed
        # inside torch: "'<=' not supported between instances of 'float' and 'str'".
        ("lr", "0.01", "lr must be an instance of a number"),
        ("lr", None, "lr must be an instance of a number"),
        ("lr", -1e-3, "lr must be a finite number of at least 0"),
        ("lr", float("inf"), "lr must be a finite number of at least 0"),
        # NumPy refused them naming no argument: "Seed must be between 0 and
        # 2**32 - 1", "'0' cannot be used to seed a numpy.random.RandomState".
        ("random_state", -1, "random_state must be None or a non-negative integer"),
        ("random_state", "0", "random_state must be an instance of"),
    ],
)
def test_bad_parameters_are_refused_at_fit(synthetic_arrays, name, value, match):
    params = {**FAST, name: value}
    if name in ("n_iter_no_change", "validation_fraction"):
        params["early_stopping"] = True
    with pytest.raises((ValueError, TypeError), match=match):
        EEGNetClassifier(**params).fit(*synthetic_arrays)
    # Continued training checks them too: a warm start took lr_schedule="linear"
    # and trained without a schedule, and batch_size=0 divided by zero.
    warm = EEGNetClassifier(**FAST).fit(*synthetic_arrays)
    with pytest.raises((ValueError, TypeError), match=match):
        warm.set_params(warm_start=True, **params).fit(*synthetic_arrays)
    chunks = EEGNetClassifier(**FAST).partial_fit(*synthetic_arrays, classes=[0, 1])
    with pytest.raises((ValueError, TypeError), match=match):
        chunks.set_params(**params).partial_fit(*synthetic_arrays)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("optimizer", "adamw", "optimizer must be a class .* torch.optim.AdamW"),
        ("criterion", "cross_entropy", "criterion must be a class"),
        ("callbacks", "progress", "callbacks must be an instance of None or a list"),
        # skorch adds a tuple to its list of default callbacks.
        (
            "callbacks",
            (("timer", EpochTimer()),),
            "callbacks must be an instance of None or a list",
        ),
    ],
)
def test_skorch_parameters_of_another_type_are_refused_at_fit(
    synthetic_arrays, name, value, match
):
    """skorch failed on them while building the network, naming neither:
    "'str' object is not callable", 'can only concatenate list (not "str") to
    list'. (set_params of a fitted network rebuilds its optimizer at once, in
    skorch, so only a first fit is checked here.)"""
    with pytest.raises(TypeError, match=match):
        EEGNetClassifier(**FAST, **{name: value}).fit(*synthetic_arrays)


class _RecordsTrainingInput(EEGNet):
    """EEGNet that keeps the batches it is trained on."""

    def forward(self, x):  # noqa: D102
        if self.training:
            self.seen.append(x.detach().clone())
        return super().forward(x)


@pytest.mark.parametrize("time_shift", [0.0, 0.05])
def test_training_sees_the_epochs_shifted_in_time(synthetic_arrays, time_shift):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        _RecordsTrainingInput,
        time_shift=time_shift,
        max_epochs=1,
        batch_size=len(X),
        iterator_train__shuffle=False,
        random_state=0,
        verbose=False,
    )
    clf.initialize(X, y)
    clf.module_.seen = []
    clf.partial_fit(X, y)
    (seen,) = clf.module_.seen
    seen = seen.numpy()
    # Arrays without info are read at 128 Hz: 50 ms is 6 samples.
    n_times, largest = X.shape[-1], round(time_shift * 128)
    shifts = []
    for epoch, trained in zip(X, seen, strict=True):
        # The one shift within the bound that turns the epoch into what was seen.
        (shift,) = [
            shift
            for shift in range(-largest, largest + 1)
            if np.allclose(
                trained[:, max(shift, 0) : n_times + min(shift, 0)],
                epoch[:, max(-shift, 0) : n_times - max(shift, 0)],
            )
        ]
        shifted_in = np.r_[: max(shift, 0), n_times + min(shift, 0) : n_times]
        np.testing.assert_allclose(
            trained[:, shifted_in],
            np.broadcast_to(
                epoch.mean(-1, keepdims=True), trained[:, shifted_in].shape
            ),
            atol=1e-6,
        )
        shifts.append(shift)
    assert len(set(shifts)) > (time_shift > 0) * 4  # drawn anew for each epoch
    # Predictions read the epochs as they are.
    clf.module_.eval()
    np.testing.assert_array_equal(
        clf.predict_proba(X), clf.module_(torch.as_tensor(X)).softmax(-1).detach()
    )


def test_each_partial_fit_call_draws_its_own_order_and_shifts(synthetic_arrays):
    """Each call draws from a seed of its own: one seed gave every pass the
    same batches, shifted alike."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        _RecordsTrainingInput, batch_size=8, random_state=0, verbose=False
    )
    clf.initialize(X, y)
    clf.module_.seen = []
    clf.partial_fit(X, y)
    clf.partial_fit(X, y)
    assert len(clf.module_.seen) == 10
    assert not torch.equal(clf.module_.seen[0], clf.module_.seen[5])


def test_time_shifts_are_drawn_uniformly_up_to_the_largest_either_way():
    torch.manual_seed(0)
    largest, ramp = 3, torch.arange(32.0) + 100
    shifted = shifted_in_time(ramp.expand(400, 1, 32).clone(), largest)
    # A ramp shifted by s reads ramp - s wherever the shift kept samples.
    inside = slice(largest, 32 - largest)
    shifts = (ramp[inside] - shifted[:, 0, inside]).round().int()
    assert (shifts == shifts[:, :1]).all()
    counts = np.bincount(shifts[:, 0].numpy() + largest)
    assert len(counts) == 2 * largest + 1 and counts.min() > 30  # 57 expected


def test_prediction_data_must_match_training(synthetic_arrays):
    X, y = synthetic_arrays
    epochs = _synthetic_epochs(X, y)
    clf = InterpretableCNNClassifier(**FAST).fit(epochs)
    with pytest.raises(ValueError, match=r"lacks 1 channel\(s\).*'EEG3'"):
        clf.predict(epochs.copy().pick(epochs.ch_names[:3]))
    with pytest.raises(ValueError, match="time samples"):
        clf.predict(epochs.copy().crop(0, 0.5))
    with pytest.raises(ValueError, match=r"lacks.*'EEG0'"):
        clf.predict(epochs.copy().rename_channels({"EEG0": "Cz"}))
    with pytest.raises(ValueError, match="3 channels but the estimator was fitted"):
        clf.predict(X[:, :3])
    # Channels are read by name, so their order in the file does not matter.
    reordered = epochs.copy().reorder_channels(
        epochs.ch_names[1:] + epochs.ch_names[:1]
    )
    np.testing.assert_array_equal(
        clf.decision_function(reordered), clf.decision_function(epochs)
    )
    resampled = _synthetic_epochs(X, y, sfreq=128.0)
    with pytest.raises(ValueError, match="sampled at 128.0 Hz"):
        clf.predict(resampled)
    # As long, but other times of the trial than the network learned.
    later = epochs.copy().shift_time(0.5)
    with pytest.warns(RuntimeWarning, match="starts at 0.5 s but the training epochs"):
        clf.predict(later)


# -- real EEG -------------------------------------------------------------------
def test_eegnet_learns_motor_imagery_above_chance(eegbci_epochs):
    epochs = eegbci_epochs.copy().crop(0, 4)
    # 7-30 Hz data: 80 Hz keeps the band and halves the training time.
    with pytest.warns(RuntimeWarning, match="aliasing"):
        epochs.decimate(2)
    train, test = epochs[::2], epochs[1::2]
    clf = EEGNetClassifier(max_epochs=60, batch_size=8, lr=3e-3, random_state=0)
    clf.set_params(verbose=False).fit(train)
    # 22 held-out trials: the probability of >= 17 correct by chance is below 1%.
    assert clf.score(test) >= 17 / 22


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_cross_validation_on_epochs_equals_arrays(estimator_class, imagery_epochs):
    clf = estimator_class(max_epochs=4, batch_size=16, random_state=0, verbose=False)
    y = imagery_epochs.events[:, 2]
    cv = StratifiedKFold(3)
    on_epochs = cross_val_score(clf, imagery_epochs, y, cv=cv)
    on_arrays = cross_val_score(
        clf.set_params(info=imagery_epochs.info), imagery_epochs.get_data(), y, cv=cv
    )
    np.testing.assert_array_equal(on_epochs, on_arrays)
    # Without y, fit and score read the labels from each fold's events.
    results = cross_validate(
        clf,
        imagery_epochs,
        cv=KFold(3, shuffle=True, random_state=0),
        return_estimator=True,
    )
    assert results["test_score"].shape == (3,)
    assert results["estimator"][0].info_["ch_names"] == imagery_epochs.ch_names


def test_early_stopping_keeps_groups_on_one_side(synthetic_arrays):
    X, y = synthetic_arrays
    groups = np.repeat(np.arange(10), 4)  # e.g. four windows cut from each trial
    clf = InterpretableCNNClassifier(
        max_epochs=2, early_stopping=True, validation_fraction=0.25, verbose=False
    ).fit(X, y, groups=groups)
    train, valid = clf.get_split_datasets(X, np.searchsorted(clf.classes_, y))
    assert set(groups[train.indices]).isdisjoint(groups[valid.indices])
    assert len(valid.indices) == pytest.approx(10, abs=4)
    assert set(y[valid.indices]) == {0, 1}
    with pytest.raises(ValueError, match="one value per epoch"):
        clf.fit(X, y, groups=groups[:-1])
    # Four groups cannot make five folds: scikit-learn spoke of n_splits.
    few = np.repeat(np.arange(4), 10)
    with pytest.raises(ValueError, match="needs at least 5 groups, got 4"):
        clf.set_params(validation_fraction=0.2).fit(X, y, groups=few)
    # A warm refit, continuing the network, splits by the groups it is given too.
    clf.set_params(validation_fraction=0.25, warm_start=True).fit(X, y)  # built
    clf.fit(X, y, groups=groups)
    train, valid = clf.get_split_datasets(X, np.searchsorted(clf.classes_, y))
    assert set(groups[train.indices]).isdisjoint(groups[valid.indices])
    with pytest.raises(ValueError, match="one value per epoch"):
        clf.fit(X, y, groups=groups[:-1])


@pytest.mark.parametrize("groups", [None, np.repeat(np.arange(20), 2)])
def test_the_validation_split_follows_random_state(synthetic_arrays, groups):
    """Each random_state holds out its own epochs (or groups), the same at every
    fit."""
    X, y = synthetic_arrays
    held_out = []
    for seed in (0, 1, 0):
        clf = InterpretableCNNClassifier(
            max_epochs=1, early_stopping=True, random_state=seed, verbose=False
        ).fit(X, y, groups=groups)
        held_out.append(set(clf.get_split_datasets(X, y)[1].indices))
    assert held_out[0] != held_out[1]
    assert held_out[0] == held_out[2]


def test_early_stopping_validates_on_the_users_train_split(synthetic_arrays):
    """A train_split of the user's is kept: validation_fraction does not replace it."""
    X, y = synthetic_arrays
    clf = InterpretableCNNClassifier(
        max_epochs=1,
        early_stopping=True,
        validation_fraction=0.5,
        train_split=ValidSplit(4, stratified=True),
        random_state=0,
        verbose=False,
    ).fit(X, y)
    batches = clf.history[0, "batches"]
    assert sum(batch.get("valid_batch_size", 0) for batch in batches) == 10
    assert sum(batch.get("train_batch_size", 0) for batch in batches) == 30


@pytest.mark.parametrize("grouped", [False, True])
def test_schedule_follows_the_epochs_early_stopping_trains_on(
    synthetic_arrays, grouped
):
    X, y = synthetic_arrays  # 40 epochs; 32 left to train on
    groups = np.repeat(np.arange(20), 2) if grouped else None
    clf = InterpretableCNNClassifier(
        batch_size=8,
        early_stopping=True,
        n_iter_no_change=1,
        lr_schedule=None,
        verbose=False,
        random_state=0,
    ).fit(X, y, groups=groups)
    steps_per_epoch = sum("train_loss" in batch for batch in clf.history[0, "batches"])
    assert steps_per_epoch == 4  # 40 epochs would take 5
    assert clf.max_epochs_ * steps_per_epoch == MIN_TRAINING_STEPS


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_adapt_batch_norm_normalizes_with_the_new_data(synthetic_arrays, estimator):
    """EEGNet's inference graph, used to predict, skips its first batch norms:
    adapting reads them through the network itself."""
    X, y = synthetic_arrays
    clf = estimator(**FAST).fit(X, y)
    shifted = X * 2.5 + 0.5  # another "subject": other amplitude and offset
    # Batch norm in training mode on all of `shifted` at once is the reference.
    module = clf.module_
    module.train()
    for layer in module.modules():
        if isinstance(layer, torch.nn.Dropout):
            layer.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(shifted)).numpy()
    before = clf._logits(shifted)
    assert not np.allclose(before, expected, atol=1e-3)
    clf.set_params(batch_size=7)  # statistics must not depend on the batches
    assert clf.adapt_batch_norm(shifted) is clf
    np.testing.assert_allclose(clf._logits(shifted), expected, atol=1e-4)
    with pytest.raises(ValueError, match="channels"):
        clf.adapt_batch_norm(X[:, :3])


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_adapt_batch_norm_interrupted_leaves_every_statistic_as_it_was(
    synthetic_arrays, error
):
    """Each batch norm's statistics were written after its own pass over X: a
    failure during a later pass (a user's hook, a lazy read, Ctrl-C) left
    EEGNet's temporal_bn adapted and spatial_bn and separable_bn not, a network
    matching neither (its predictions 0.006 from the original's), without a
    word."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    batch_norms = {
        name: module
        for name, module in clf.module_.named_modules()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
    }
    assert len(batch_norms) == 3
    before = {
        name: (module.running_mean.clone(), module.running_var.clone())
        for name, module in batch_norms.items()
    }
    proba = clf.predict_proba(X)
    shifted = X * 2.5 + 0.5
    n_batches = -(-len(X) // FAST["batch_size"])
    calls = [0]

    def fail_in_the_second_pass(module, inputs):
        calls[0] += 1
        if calls[0] == n_batches + 2:
            raise error("interrupted")

    handle = clf.module_.register_forward_pre_hook(fail_in_the_second_pass)
    try:
        with pytest.raises(error, match="interrupted"):
            clf.adapt_batch_norm(shifted)
    finally:
        handle.remove()
    for name, module in batch_norms.items():
        torch.testing.assert_close(module.running_mean, before[name][0], rtol=0, atol=0)
        torch.testing.assert_close(module.running_var, before[name][1], rtol=0, atol=0)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    # Uninterrupted, it adapts every layer.
    clf.adapt_batch_norm(shifted)
    for name, module in batch_norms.items():
        assert not torch.equal(module.running_mean, before[name][0])


def test_adapt_batch_norm_counts_no_other_threads_predictions(synthetic_arrays):
    """The statistics were accumulated by a hook on the estimator's own batch
    norms, which another thread's predictions meanwhile also ran through."""
    X, y = synthetic_arrays
    clf = InterpretableCNNClassifier(**FAST).fit(X, y)
    shifted = X * 2.5 + 0.5
    alone = copy.deepcopy(clf).adapt_batch_norm(shifted)
    other_data = torch.from_numpy(X * 10.0)
    meanwhile = []

    def predict_elsewhere(module, inputs):
        # Once, in the middle of the adaptation (the other thread's pass runs
        # this hook too).
        if threading.current_thread() is threading.main_thread() and not meanwhile:
            thread = threading.Thread(
                target=lambda: meanwhile.append(clf.module_(other_data))
            )
            thread.start()
            thread.join()

    handle = clf.module_.register_forward_pre_hook(predict_elsewhere)
    try:
        clf.adapt_batch_norm(shifted)
    finally:
        handle.remove()
    assert meanwhile
    np.testing.assert_allclose(
        clf.predict_proba(shifted), alone.predict_proba(shifted), rtol=1e-6
    )


def test_adapt_batch_norm_warns_of_data_in_another_unit_once(synthetic_arrays):
    """Adapting reads the data once per batch-norm layer (EEGNet has several):
    data in another unit are warned of once, not once per layer."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf.adapt_batch_norm(X * 1e6)
    assert len([w for w in record if "different units" in str(w.message)]) == 1


class _NormalizedEachBatch(torch.nn.Module):
    """Batch norm without running statistics: every batch by its own."""

    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(n_channels, track_running_stats=False)
        self.dense = torch.nn.Linear(n_channels, n_classes)

    def forward(self, x):
        return self.dense(self.norm(x).mean(dim=2))


class _NoBatchNorm(_NormalizedEachBatch):
    def __init__(self, n_channels, n_classes):
        super().__init__(n_channels, n_classes)
        self.norm = torch.nn.Identity()


@pytest.mark.parametrize(
    "module, match",
    [
        # Named as in the network, not behind the input scaling ("module.norm").
        (_NormalizedEachBatch, "^Batch norm norm keeps no running statistics"),
        (_NoBatchNorm, "no batch normalization"),
    ],
)
def test_adapt_batch_norm_refuses_networks_with_nothing_to_adapt(
    synthetic_arrays, module, match
):
    """A batch norm without running statistics failed with an AttributeError;
    a network without batch norm was "adapted" without a word."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(module=module, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=match):
        clf.adapt_batch_norm(X)


def test_device_none_leaves_the_network_where_it_is(synthetic_arrays):
    """skorch's device=None ("no conversion") failed in fit with a TypeError;
    functions then took None for the device of their inputs."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**{**FAST, "device": None}).fit(X, y)
    request = prepare_request(
        clf, X[:2], "saliency", target=0, batch_size=2, device=None, params={}
    )
    assert request.device == next(clf.module_.parameters()).device
    maps = mne_xai.explain(clf, X[:2], "smoothgrad", target=0, random_state=0)
    again = EEGNetClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(
        maps.get_data(),
        mne_xai.explain(
            again, X[:2], "smoothgrad", target=0, random_state=0
        ).get_data(),
    )


def test_a_fitted_network_moves_with_the_device_parameter(
    synthetic_arrays, monkeypatch
):
    """set_params(device=...) moves the network, the loss and the optimizer state.

    No GPU is needed to check the move: PyTorch's "meta" device stands in for
    it (tensors there have shapes but no data), let through the check that
    refuses it to users.
    """
    monkeypatch.setattr(
        mne_xai.estimators, "check_device", lambda device: torch.device(device)
    )
    X, y = synthetic_arrays
    # Weighted, the loss holds a tensor of its own.
    clf = EEGNetClassifier(
        **{**FAST, "lr_schedule": None, "class_weight": "balanced"}
    ).fit(X, y)
    state = clf.optimizer_.state
    assert state and all(
        value.device.type == "cpu"
        for values in state.values()
        for value in values.values()
        if isinstance(value, torch.Tensor)
    )
    moved = clf.set_params(device="meta")
    assert moved is clf
    tensors = [*clf.module_.parameters(), *clf.module_.buffers()]
    tensors += [clf.criterion_.weight]
    tensors += [
        value
        for values in clf.optimizer_.state.values()
        for value in values.values()
        if isinstance(value, torch.Tensor)
    ]
    assert {tensor.device.type for tensor in tensors} == {"meta"}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_train_explain_and_evaluate_on_cuda(synthetic_arrays):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    on_gpu = mne_xai.explain(clf, X[:4], "deeplift", target=0, verbose=False)
    curve = deletion_curve(clf, X[:4], "saliency", n_steps=4, verbose=False)
    clf.set_params(device="cpu")
    on_cpu = mne_xai.explain(clf, X[:4], "deeplift", target=0, verbose=False)
    np.testing.assert_allclose(
        on_gpu.get_data(), on_cpu.get_data(), rtol=1e-3, atol=1e-6
    )
    assert np.isfinite(curve.aopc).all()


@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_fit_on_a_pretended_gpu_keeps_its_tensors_there(synthetic_arrays):
    """fit probed the samples its network reads with epochs left on the CPU,
    beside a network built on the GPU: torch refused the mix of devices, so no
    fit ran on device="cuda" (seen on a GPU pretended by the CPU)."""
    X, y = synthetic_arrays
    with pretend_cuda():
        clf = EEGNetClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
        assert all(on_gpu(parameter) for parameter in clf.module_.parameters())
        probabilities = clf.predict_proba(X)
        # A tensor on the GPU is read as its array (skorch takes tensors).
        from_gpu = clf.predict_proba(torch.from_numpy(X).to("cuda"))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(from_gpu, probabilities)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_spatial_patterns_of_a_network_on_a_gpu(spatial_epochs):
    """Its channel gains multiplied noise drawn on the CPU by the spread of the
    data on the network's GPU: torch refused the mix of devices."""
    epochs = spatial_epochs[:20]
    clf = EEGNetClassifier(**{**FAST, "device": "cuda"}).fit(epochs)
    on_gpu = mne_xai.inspect.spatial_patterns(clf, epochs, verbose=False)
    clf.set_params(device="cpu")
    on_cpu = mne_xai.inspect.spatial_patterns(clf, epochs, verbose=False)
    np.testing.assert_allclose(
        on_gpu.patterns.data, on_cpu.patterns.data, rtol=1e-3, atol=1e-6
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_parameter_randomization_draws_the_same_networks_on_a_gpu(synthetic_arrays):
    """Layers were re-initialized on the network's device, from the GPU's
    generator, so one random_state gave other randomized networks, and other
    verdicts, on a GPU than on the CPU."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    check = dict(target=0, random_state=0, verbose=False)
    on_gpu = parameter_randomization_check(clf, X[:4], "saliency", **check)
    clf.set_params(device="cpu")
    on_cpu = parameter_randomization_check(clf, X[:4], "saliency", **check)
    np.testing.assert_allclose(
        on_gpu.similarity["spearman_abs"], on_cpu.similarity["spearman_abs"], atol=1e-3
    )


@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_a_device_that_is_none_is_refused_and_changes_nothing(synthetic_arrays):
    """set_params(device=-1) failed in torch's words ("Device index must not be
    negative"); device="meta" moved the network where tensors hold no values,
    and every later prediction, on any device, failed: "Cannot copy out of
    meta tensor"."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    for device, error, match in (
        (-1, ValueError, r"device=-1 names no torch device.*use e.g. 'cpu'"),
        ("gpu", ValueError, "device='gpu' names no torch device"),
        ("meta", ValueError, "loses its weights"),
        (1.5, TypeError, "device must be an instance of"),
    ):
        with pytest.raises(error, match=match):
            clf.set_params(device=device)
        with pytest.raises(error, match=match):
            EEGNetClassifier(**{**FAST, "device": device}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_device_the_machine_lacks_is_refused_clearly(synthetic_arrays, monkeypatch):
    """torch's own failure was an AssertionError: "Torch not compiled with CUDA"."""
    X, y = synthetic_arrays
    match = "device='cuda', but torch finds no cuda device"
    with pytest.raises(ValueError, match=match) as refusal:
        EEGNetClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    # A CPU build of torch never finds one: the message says which case it is.
    cpu_build = torch.version.cuda is None
    assert ("(this torch is a CPU build)" in str(refusal.value)) == cpu_build
    clf = EEGNetClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=match):
        clf.set_params(device="cuda")
    # A CUDA build of torch on a machine without a GPU is no CPU build.
    with monkeypatch.context() as patched:
        patched.setattr(torch.version, "cuda", "12.4")
        with pytest.raises(ValueError, match=match) as refusal:
            clf.set_params(device="cuda")
    assert "CPU build" not in str(refusal.value)
    # An index names the accelerator, which torch refused in its own words.
    with pytest.raises(ValueError, match=match.replace("'cuda'", "'cuda:0'")):
        clf.set_params(device=np.int64(0))
    clf.set_params(device="cpu")
    with pytest.raises(ValueError, match=match):
        mne_xai.explain(clf, X[:2], device="cuda", verbose=False)
    with pytest.raises(ValueError, match=match):
        deletion_curve(clf, X[:2], "saliency", device="cuda", verbose=False)
    with pytest.raises(ValueError, match=match):
        mne_xai.inspect.layer_activations(clf, X[:2], "spatial_conv", device="cuda")
    # Apple's MPS has no float64, which fit's statistics and explain's sums use:
    # both failed in torch's words where a float64 tensor was first moved there.
    with pytest.raises(ValueError, match="device='mps' is not supported.*float64"):
        mne_xai.explain(clf, X[:2], device="mps", verbose=False)


def test_sample_weight_is_refused_with_the_class_weight_alternative(synthetic_arrays):
    """skorch passed it to the network's forward: "unexpected keyword argument"."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST)
    with pytest.raises(TypeError, match=r"not supported.*class_weight=\"balanced\""):
        clf.fit(X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match="sample_weight is not supported"):
        clf.partial_fit(X, y, classes=[0, 1], sample_weight=np.ones(len(y)))
    # The alternative it names trains.
    weighted = EEGNetClassifier(class_weight={1: 3.0}, **FAST).fit(X, y)
    assert weighted.criterion_.weight.tolist() == [1.0, 3.0]


@pytest.mark.parametrize(
    "labels, class_weight, expected",
    [
        # scikit-learn's balanced rule, n_epochs / (n_classes * count): 30 / (2 * 20)
        # and 30 / (2 * 10), in the order of classes_.
        ([0, 1], "balanced", [0.75, 1.5]),
        (["rest", "task"], "balanced", [0.75, 1.5]),
        (["rest", "task"], {"task": 4.0}, [1.0, 4.0]),
    ],
)
@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_class_weight_weighs_the_loss(synthetic_arrays, labels, class_weight, expected):
    """Weighing unequal classes meant building a float32 torch tensor in the
    order of classes_ by hand (criterion__weight), as the fit warning advised."""
    X, y = synthetic_arrays
    kept = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:10]]
    y = np.asarray(labels)[y[kept]]
    clf = EEGNetClassifier(class_weight=class_weight, **FAST).fit(X[kept], y)
    np.testing.assert_allclose(clf.class_weight_, expected)
    # The loss is the weighted mean of the epochs' cross-entropies.
    logits = clf.forward(X[kept][:6])
    targets = torch.as_tensor(np.searchsorted(clf.classes_, y[:6]))
    weights = torch.tensor(expected, dtype=torch.float32)[targets]
    per_epoch = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    torch.testing.assert_close(
        clf.get_loss(logits, targets), (weights * per_epoch).sum() / weights.sum()
    )
    assert EEGNetClassifier(**FAST).fit(X[kept], y).class_weight_ is None
    # Fitted again, the weights follow the new labels.
    clf.set_params(class_weight="balanced").fit(
        X, np.asarray(labels)[np.repeat([0, 1], 20)]
    )
    np.testing.assert_allclose(clf.criterion_.weight.tolist(), [1.0, 1.0])


@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_balanced_class_weight_follows_a_warm_refit(synthetic_arrays, tmp_path):
    """A warm refit on data of other counts trained with the first fit's
    weights: the class now rare weighed 3.3 times less than the frequent one.
    Saved and restored, the network keeps the counts of the refit's data."""
    X, y = synthetic_arrays
    first = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:5]]
    second = np.r_[np.flatnonzero(y == 0)[:5], np.flatnonzero(y == 1)]
    clf = EEGNetClassifier(class_weight="balanced", warm_start=True, **FAST)
    np.testing.assert_allclose(clf.fit(X[first], y[first]).class_weight_, [0.625, 2.5])
    clf.fit(X[second], y[second])
    np.testing.assert_allclose(clf.class_weight_, [2.5, 0.625])
    np.testing.assert_allclose(clf.criterion_.weight, [2.5, 0.625])
    clf.save_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(class_weight="balanced", **FAST).initialize(X, y)
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_allclose(restored.class_weight_, [2.5, 0.625])


@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_a_warm_refit_counts_the_classes_its_data_lack(synthetic_arrays):
    """classes= may name a class the data lack; its count, kept by the network
    for the schedule and "balanced" weights of a restored one, is 0."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(classes=[0, 1, 2], warm_start=True, **FAST).fit(X, y)
    assert clf.module_.training_class_counts.tolist() == [20, 20, 0]
    clf.fit(X[:30], y[:30])
    counts = [list(y[:30]).count(label) for label in (0, 1, 2)]
    assert clf.module_.training_class_counts.tolist() == counts


@pytest.mark.filterwarnings("ignore:After training")  # three epochs of training
def test_loss_state_travels_with_its_class_weights(synthetic_arrays, tmp_path):
    """A saved loss state loaded between a weighted and an unweighted network
    failed in torch's words (Unexpected key(s) "weight"); loaded into a
    "balanced" network initialized on other counts, class_weight_ described
    the counts of initialize, not the weights the loss then held."""
    X, y = synthetic_arrays
    rare = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:5]]
    paths = {}
    for class_weight in (None, "balanced"):
        saved = EEGNetClassifier(class_weight=class_weight, **FAST)
        saved.fit(X[rare], y[rare])
        paths[class_weight] = dict(
            f_params=tmp_path / f"{class_weight}.pt",
            f_criterion=tmp_path / f"{class_weight}_loss.pt",
        )
        saved.save_params(**paths[class_weight])
    for initialized, loaded, match in (
        (None, "balanced", "trained with class weights, and the loss initialized"),
        ("balanced", None, r"without class weights.*class_weight='balanced'"),
    ):
        restored = EEGNetClassifier(class_weight=initialized, **FAST)
        with pytest.raises(ValueError, match=match):
            restored.initialize(X, y).load_params(**paths[loaded])
    restored = EEGNetClassifier(class_weight="balanced", **FAST).initialize(X, y)
    np.testing.assert_allclose(restored.class_weight_, [1.0, 1.0])
    restored.load_params(**paths["balanced"])
    np.testing.assert_allclose(restored.criterion_.weight, [0.625, 2.5])
    np.testing.assert_allclose(restored.class_weight_, [0.625, 2.5])


def test_a_loaded_loss_state_keeps_its_own_class_weights(synthetic_arrays, tmp_path):
    """Weights in a saved loss state are those training went on with: loaded
    into an estimator given other weights, the loss and class_weight_ are the
    saved ones, not the estimator's."""
    X, y = synthetic_arrays
    files = dict(f_params=tmp_path / "params.pt", f_criterion=tmp_path / "loss.pt")
    EEGNetClassifier(class_weight={0: 1.0, 1: 3.0}, **FAST).fit(X, y).save_params(
        **files
    )
    restored = EEGNetClassifier(class_weight={0: 1.0, 1: 2.0}, **FAST)
    restored.initialize(X, y).load_params(**files)
    np.testing.assert_allclose(restored.criterion_.weight, [1.0, 3.0])
    np.testing.assert_allclose(restored.class_weight_, [1.0, 3.0])


@pytest.mark.filterwarnings("ignore:After training")
def test_class_weight_errors_name_the_fix(synthetic_arrays):
    X, y = synthetic_arrays
    cases = [
        ({"class_weight": "balance"}, ValueError, "Invalid value for the 'class_w"),
        ({"class_weight": [1, 2]}, TypeError, "class_weight must be an instance"),
        ({"class_weight": {2: 1.0}}, ValueError, r"labels \[2\] that are not classes"),
        (
            {"class_weight": "balanced", "criterion__weight": torch.ones(2)},
            ValueError,
            "give one of them",
        ),
        (
            {"class_weight": "balanced", "criterion": torch.nn.CrossEntropyLoss()},
            TypeError,
            "must be a class, not the instance CrossEntropyLoss()",
        ),
        (
            {"class_weight": "balanced", "criterion": torch.nn.MSELoss},
            TypeError,
            "criterion=MSELoss does not take",
        ),
        # A batch of epochs all of weight 0 had no loss: "Training diverged".
        ({"class_weight": {1: 0.0}}, ValueError, "each must be finite and positive"),
        ({"class_weight": {1: -0.1}}, ValueError, "each must be finite and positive"),
        (
            {"class_weight": "balanced", "classes": [0, 1, 2]},
            ValueError,
            r"classes \[2\] have no epoch there",
        ),
    ]
    for params, error, match in cases:
        with pytest.raises(error, match=match):
            EEGNetClassifier(**params, **FAST).fit(X, y)
    # Keyed by event name, on Epochs whose classes are the events' codes.
    epochs = mne.EpochsArray(
        X, _arrays_info(4), np.c_[np.arange(40) * 100, np.zeros(40, int), y + 1],
        event_id={"left": 1, "right": 2}, verbose=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        # NumPy 1 warned that comparing "left" with the integer classes failed.
        warnings.simplefilter("error", FutureWarning)
        with pytest.raises(ValueError, match=r"events' codes \(\{'left': 1\}\): key"):
            EEGNetClassifier(class_weight={"left": 2.0}, **FAST).fit(epochs)
    # As scikit-learn's SGDClassifier: a chunk's counts are not the data's.
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        EEGNetClassifier(class_weight="balanced", **FAST).partial_fit(
            X, y, classes=[0, 1]
        )
    chunked = EEGNetClassifier(class_weight={1: 2.0}, **FAST)
    assert chunked.partial_fit(X, y, classes=[0, 1]).criterion_.weight.tolist() == [
        1.0,
        2.0,
    ]


def test_a_class_never_predicted_after_training_is_warned_of(synthetic_arrays):
    """With unequal classes the loss is lowest predicting the frequent one: the
    rare class was predicted for none of its epochs, without a word (EEGNet on
    an oddball design of 600, 120, 40 and 20 epochs: the two rare never)."""
    X, y = synthetic_arrays
    rare = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:3]]
    # Epochs as they are: shifted, the frequent class no longer always wins
    # on these 23, and the warning is the subject here.
    unshifted = {**FAST, "time_shift": 0.0}
    match = (
        r"predicts none of the training epochs of class\(es\) \[1\] as theirs.*"
        r"classes_ \[0, 1\]: \[20, 3\]; it predicts \[23, 0\].*"
        r"weigh the classes \(class_weight=\"balanced\"\)"
    )
    with pytest.warns(RuntimeWarning, match=match):
        clf = EEGNetClassifier(**{**unshifted, "max_epochs": 20}).fit(X[rare], y[rare])
    assert (clf.predict(X[rare]) == 0).all()
    # The weighing it advises: the rare class's other epochs are recognized.
    held_out = X[y == 1][3:]
    balanced = EEGNetClassifier(
        class_weight="balanced", **{**unshifted, "max_epochs": 20}
    )
    assert np.mean(clf.predict(held_out) == 1) < 0.25
    assert np.mean(balanced.fit(X[rare], y[rare]).predict(held_out) == 1) > 0.5
    # Weighed and still ignored: no advice to weigh again.
    with pytest.warns(RuntimeWarning, match=r"even with class_weight=\{1: 1.0\}"):
        EEGNetClassifier(class_weight={1: 1.0}, **{**unshifted, "max_epochs": 20}).fit(
            X[rare], y[rare]
        )
    # Early in training it may give every epoch to the rare class: no advice
    # to weigh the classes then.
    with pytest.warns(
        RuntimeWarning, match=r"\[0\] as theirs.*it predicts \[0, 23\]. It has not"
    ):
        EEGNetClassifier(**unshifted).fit(X[rare], y[rare])
    # Classes the network tells apart on its training epochs: no warning.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="After training")
        EEGNetClassifier(**{**unshifted, "max_epochs": 30}).fit(X, y)


def test_a_class_predicted_only_for_other_classes_epochs_is_never_predicted():
    """What counts is a class predicted for its own epochs: a network giving
    the epochs of class 0 to class 1 and back (labels swapped) recognizes
    neither."""
    targets = np.array([0, 0, 1, 1, 2, 2])
    assert classes_never_predicted(np.array([1, 1, 0, 0, 2, 0]), targets) == [0, 1]


@pytest.mark.parametrize(
    "n_rare, advice",
    [
        (5, r"weigh the classes \(class_weight=\"balanced\"\)"),
        (6, "It has not learned"),
    ],
)
def test_only_a_class_at_most_half_as_frequent_is_blamed_on_its_size(n_rare, advice):
    """A class never predicted is put down to unequal classes when it has at most
    half the epochs of the class predicted: otherwise weighing would not help,
    and the labels are what to check."""
    targets = np.repeat([0, 1], [10, n_rare])
    with pytest.warns(RuntimeWarning, match=rf"\['right'\] as theirs.*{advice}"):
        warn_if_classes_unpredicted(
            np.zeros_like(targets), targets, np.array(["left", "right"]), None
        )


def test_torch_tensors_are_read_as_arrays(synthetic_arrays):
    """skorch takes tensors; the estimators refused them as not an array."""
    X, y = synthetic_arrays
    from_arrays = EEGNetClassifier(**FAST).fit(X, y)
    from_tensors = EEGNetClassifier(**FAST).fit(
        torch.from_numpy(X), torch.from_numpy(y)
    )
    np.testing.assert_array_equal(
        from_tensors.predict_proba(torch.from_numpy(X)), from_arrays.predict_proba(X)
    )
    assert list(from_tensors.classes_) == list(from_arrays.classes_)


def test_labels_other_than_the_events_are_not_read_from_events(synthetic_arrays):
    """Labels renumbered from the event codes were read back from the events.

    Event 1 ("rest") is class 0 here: scoring "rest" epochs without y gave
    0.0, target="true" explained class 1, and class names read [0, "rest"].
    """
    X, y = synthetic_arrays
    epochs = _synthetic_epochs(X, y)  # codes y + 1, named "rest" and "move"
    rest = epochs["rest"]
    clf = EEGNetClassifier(**FAST).fit(epochs, y)
    with pytest.raises(ValueError, match="not the events.*Pass the labels as y"):
        clf.score(rest)
    assert clf.events_are_labels_ is False
    zeros = np.zeros(len(rest), int)
    assert clf.score(rest, zeros) == np.mean(clf.predict(rest) == 0)
    # Their codes as y are no classes either (code 2, "move", is class 1):
    # refused, not scored 0 with a warning that the network saw no "move".
    move = epochs["move"]
    with pytest.raises(ValueError, match="none of them a class"):
        clf.score(move, move.events[:, 2])
    with pytest.raises(ValueError, match=r'target="true".*\(e\.g\. target=y\)'):
        mne_xai.explain(clf, rest, target="true", verbose=False)
    # Event names are no classes either: "rest" (code 1) explained class 1.
    with pytest.raises(ValueError, match="'rest'"):
        mne_xai.explain(clf, rest, target="rest", verbose=False)
    assert class_names(clf) == [0, 1]
    assert _class_names(clf, rest) == ["0", "1"]
    # Continued training reads no events as labels either.
    with pytest.raises(ValueError, match="Pass the labels as y"):
        clf.partial_fit(epochs)
    cropped = mne_xai.CroppedClassifier(
        EEGNetClassifier(**{**FAST, "max_epochs": 1}), window_length=0.5
    ).fit(epochs, y)
    assert cropped.events_are_labels_ is False
    with pytest.raises(ValueError, match="Pass the labels as y"):
        cropped.score(rest)
    with pytest.raises(ValueError, match='target="true"'):
        mne_xai.explain(cropped, rest, target="true", verbose=False)
    # Warm start on labels other than the events stops reading events as labels.
    warm = EEGNetClassifier(warm_start=True, **FAST).fit(epochs)
    assert warm.fit(epochs, epochs.events[:, 2]).events_are_labels_
    assert not warm.fit(epochs, 3 - epochs.events[:, 2]).events_are_labels_


def test_labels_that_are_the_events_are_read_from_events(synthetic_arrays):
    """Events' codes or names as y, as cross-validation passes them, stay labels."""
    X, y = synthetic_arrays
    epochs = _synthetic_epochs(X, y)
    codes, names = epochs.events[:, 2], np.array(["rest", "move"])[y]
    for labels in (names, codes, None):
        clf = EEGNetClassifier(**FAST).fit(epochs, labels)
        assert clf.events_are_labels_
        given = codes if labels is None else labels
        assert clf.score(epochs) == clf.score(epochs, given)
    parts = [epochs[:20], epochs[20:]]
    assert EEGNetClassifier(**FAST).fit(parts, codes).events_are_labels_
    folds = cross_validate(
        EEGNetClassifier(**FAST),
        epochs,
        codes,
        cv=StratifiedKFold(2),
        return_estimator=True,
    )
    assert all(fold.events_are_labels_ for fold in folds["estimator"])
    chunks = EEGNetClassifier(**FAST)
    chunks.partial_fit(epochs[::2], codes[::2], classes=[1, 2])
    assert chunks.partial_fit(epochs[1::2]).events_are_labels_
    index, _ = _resolve_target(chunks, "true", InputData(epochs))
    np.testing.assert_array_equal(index, y)
    # Estimators pickled before the attribute existed read events as labels.
    del clf.events_are_labels_
    old = pickle.loads(pickle.dumps(clf))
    assert old.score(epochs) == old.score(epochs, codes)
    index, _ = _resolve_target(old, "true", InputData(epochs))
    np.testing.assert_array_equal(index, y)
    cropped = mne_xai.CroppedClassifier(
        EEGNetClassifier(**{**FAST, "max_epochs": 1}), window_length=0.5
    ).fit(epochs)
    del cropped.events_are_labels_
    assert mne_xai.as_network(cropped).events_are_labels_
    assert cropped.score(epochs) == cropped.score(epochs, codes)


def test_codes_of_parts_coding_their_events_otherwise_are_no_events(synthetic_arrays):
    """Guard the labels of a list whose parts code one event otherwise ("move"
    2 in one, 3 in the other): their codes as y are no events, and events of
    other epochs are not read as those classes."""
    X, y = synthetic_arrays
    first = _synthetic_epochs(X[::2], y[::2])
    second = _synthetic_epochs(X[1::2], y[1::2])
    second.events[:, 2] += 1
    second.event_id = {"rest": 2, "move": 3}
    codes = np.r_[first.events[:, 2], second.events[:, 2]]
    clf = EEGNetClassifier(**FAST).fit([first, second], codes)
    assert clf.events_are_labels_ is False
    with pytest.raises(ValueError, match="not the events.*Pass the labels as y"):
        clf.score(first)


@pytest.mark.parametrize(
    "labels, fraction, match",
    [
        # scikit-learn named class 4 by its index (3) and spoke of groups.
        (np.r_[np.repeat([1, 2, 3], 13), 4], 0.2, r"each class.*class 4 has only 1"),
        (np.repeat([1, 2, 3, 4, 5], 8), 0.05, r"epochs \(2\).*each of the 5 classes"),
        # One short of the classes: scikit-learn spoke of test_size.
        (np.repeat([1, 2, 3, 4, 5], 8), 0.1, r"epochs \(4\).*each of the 5 classes"),
        # Too few left to train on, however many held out.
        (np.repeat([1, 2, 3, 4, 5], 8), 0.9, r"\(36\), and keeps 4 to train on"),
    ],
)
def test_early_stopping_explains_classes_too_small_to_split(
    synthetic_arrays, labels, fraction, match
):
    X, _ = synthetic_arrays
    clf = EEGNetClassifier(early_stopping=True, validation_fraction=fraction, **FAST)
    with pytest.raises(ValueError, match=rf"early_stopping=True.*{match}.*False"):
        clf.fit(X, labels)


@pytest.mark.filterwarnings("ignore:After training")  # one epoch of training
def test_early_stopping_validates_on_one_epoch_of_each_class(synthetic_arrays):
    """A validation split of exactly one epoch per class is one scikit-learn
    draws: it is not refused as too small."""
    X, _ = synthetic_arrays
    labels = np.repeat([1, 2, 3, 4, 5], 8)
    clf = EEGNetClassifier(
        early_stopping=True, validation_fraction=0.125, **{**FAST, "max_epochs": 1}
    )
    with pytest.warns(RuntimeWarning, match="128 Hz"):
        clf.fit(X, labels)
    batches = clf.history[0, "batches"]
    assert sum(batch.get("valid_batch_size", 0) for batch in batches) == 5


@pytest.mark.parametrize("coding", ["codes", "names"])
def test_validation_scores_compare_classes_with_classes(synthetic_arrays, coding):
    """skorch's scoring callbacks compare predictions with the class indices it
    trains on: labels coded 2 and 3 scored 0.0 every epoch, and names failed
    the fit ("Mix of label input types")."""
    X, y = synthetic_arrays
    labels = y + 2 if coding == "codes" else np.array(["rest", "move"])[y]
    clf = EEGNetClassifier(
        **{**FAST, "max_epochs": 15},
        early_stopping=True,
        validation_fraction=0.25,
        callbacks=[EpochScoring("accuracy", on_train=True, name="train_acc")],
    ).fit(_synthetic_epochs(X, y), labels)
    # Accuracy of a network that learned (0.0 when classes met indices).
    assert clf.history[-1, "valid_acc"] > 0.5
    assert clf.history[-1, "train_acc"] > 0.5


def test_a_torch_dataset_is_refused_at_prediction(synthetic_arrays):
    """Any torch Dataset was taken for one of skorch's own: predict gave indices
    of classes_ (0 and 1 for classes 2 and 3) and nothing was checked."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST, train_split=ValidSplit(4, stratified=True))
    clf.fit(X, y + 2)
    # skorch's scoring still predicts on its own validation data.
    assert 0 <= clf.history[-1, "valid_acc"] <= 1
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.tensor(y + 2))
    for method in (clf.predict, clf.predict_proba, clf.score):
        with pytest.raises(TypeError, match="X is a torch Dataset"):
            method(dataset)
    assert set(clf.predict(X)) <= {2, 3}


def test_validation_reads_a_subset_of_a_subset_of_the_training_data(
    synthetic_arrays,
):
    """A user's train_split may subset skorch's dataset more than once (here
    leaving out the first epochs, then splitting): its validation data are
    still the training data, checked by fit, and not refused as a user's."""

    def split_later_epochs(dataset, y):
        later = torch.utils.data.Subset(dataset, np.arange(8, len(dataset)))
        return ValidSplit(4, stratified=True)(later, y[8:])

    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST, train_split=split_later_epochs).fit(X, y + 2)
    assert 0 <= clf.history[-1, "valid_acc"] <= 1


def test_continued_training_starts_its_own_schedule(synthetic_arrays):
    """A warm-start fit ran the old number of epochs and spent its first at a
    learning rate of 0 (the end of the last cosine); partial_fit after fit
    trained at the schedule's rates (0 first), not at a constant lr."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(warm_start=True, **{**FAST, "max_epochs": 2}).fit(X, y)
    before = clf.module_.temporal_conv.weight.detach().clone()
    clf.set_params(max_epochs=5).fit(X, y)
    assert len(clf.history) == 2 + 5
    np.testing.assert_allclose(clf.history[2:3, "event_lr"], [1e-3])
    assert np.all(np.diff(clf.history[2:, "event_lr"]) < 0)
    assert not torch.equal(clf.module_.temporal_conv.weight, before)

    fitted = EEGNetClassifier(**FAST).fit(X, y)
    before = fitted.module_.temporal_conv.weight.detach().clone()
    fitted.partial_fit(X, y)
    first = fitted.optimizer_.param_groups[0]["params"][0]
    steps = int(fitted.optimizer_.state[first]["step"])
    fitted.partial_fit(X, y)
    # The second call goes on with the optimizer's state (Adam's moments).
    assert int(fitted.optimizer_.state[first]["step"]) == 2 * steps
    assert not torch.equal(fitted.module_.temporal_conv.weight, before)
    assert "event_lr" not in fitted.history[-1]
    assert [group["lr"] for group in fitted.optimizer_.param_groups] == [1e-3]


def test_partial_fit_after_grouped_fit_splits_its_chunk_alone(synthetic_arrays):
    """The groups of fit's data were kept for partial_fit's chunk: another size
    failed in scikit-learn, the same size was split by the old data's groups."""
    X, y = synthetic_arrays
    groups = np.repeat(np.arange(10), 4)
    clf = InterpretableCNNClassifier(
        max_epochs=2, early_stopping=True, validation_fraction=0.25, verbose=False
    ).fit(X, y, groups=groups)
    clf.partial_fit(X[::2], y[::2])
    assert clf.validation_groups_ is None
    assert len(clf.history[-1, "batches"]) > 0


def test_continued_training_refuses_module_parameters_set_since(synthetic_arrays):
    """set_params(module__F1=4) then a warm fit said F1=4 and trained the old
    network of F1=8 on."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=1, warm_start=True, verbose=False).fit(X, y)
    clf.set_params(module__F1=8)  # the default: nothing changes
    clf.fit(X, y)
    clf.set_params(module__F1=4)
    for train in (clf.fit, clf.partial_fit):
        with pytest.raises(
            ValueError, match="module__F1 changed since the network was built"
        ):
            train(X, y)
    assert clf.module_.temporal_conv.out_channels == 8
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.module_.temporal_conv.out_channels == 4


@pytest.mark.parametrize(
    "changed",
    [
        dict(picks=["EEG000", "EEG001"]),
        dict(scaling=1.0),
        dict(classes=[0, 1, 2]),
        dict(class_weight="balanced"),
    ],
)
def test_continued_training_refuses_data_parameters_set_since(
    synthetic_arrays, changed
):
    """A warm fit after set_params(picks=...) kept every channel, silently."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=1, warm_start=True, verbose=False).fit(X, y)
    clf.set_params(**changed)
    (name,) = changed
    for train in (clf.fit, clf.partial_fit):
        with pytest.raises(ValueError, match=f"^{name} changed since"):
            train(X, y)


def test_continued_training_names_every_parameter_set_since(synthetic_arrays):
    """The refusal names each changed parameter, in a stable (sorted) order."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=1, warm_start=True, verbose=False).fit(X, y)
    clf.set_params(scaling=1.0, picks=[0], classes=[0, 1, 2], class_weight="balanced")
    with pytest.raises(
        ValueError, match="^class_weight, classes, picks, scaling changed since"
    ):
        clf.fit(X, y)


class _WeighsChannels(torch.nn.Module):
    """A readout of the channels weighed by a fixed tensor, a module parameter."""

    def __init__(self, n_channels, n_classes, channel_weights):
        super().__init__()
        if isinstance(channel_weights, list):  # of the channels' groups
            channel_weights = torch.cat(channel_weights)
        self.register_buffer("channel_weights", channel_weights.reshape(-1, 1))
        self.dense = torch.nn.Linear(n_channels, n_classes)

    def forward(self, x):
        return self.dense((x * self.channel_weights).mean(dim=2))


@pytest.mark.parametrize(
    "name, built_with, equal, other",
    [
        ("classes", np.array([0, 1]), np.array([0, 1]), np.array([0, 1, 2])),
        # A list that grows is another list.
        ("classes", [0, 1], [0, 1], [0, 1, 2]),
        (
            "module__channel_weights",
            torch.ones(4),
            torch.ones(4),
            torch.tensor([1.0, 1.0, 1.0, 2.0]),
        ),
        # A list holding tensors failed, even set to the same.
        (
            "module__channel_weights",
            [torch.ones(2), torch.ones(2)],
            [torch.ones(2), torch.ones(2)],
            [torch.ones(2), torch.tensor([1.0, 2.0])],
        ),
        # A dict that gains a key is another dict.
        ("class_weight", {0: 2.0}, {0: 2.0}, {0: 2.0, 1: 3.0}),
    ],
)
def test_continued_training_compares_array_parameters_by_value(
    synthetic_arrays, name, built_with, equal, other
):
    """An equal array set again was taken as changed (NumPy's == is element-wise),
    a tensor failed with torch's "Boolean value of Tensor ... is ambiguous", and
    so did a list of tensors (one of arrays was taken as changed)."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        module=_WeighsChannels,
        max_epochs=1,
        warm_start=True,
        verbose=False,
        **{"module__channel_weights": torch.ones(4), name: built_with},
    ).fit(X, y)
    clf.set_params(**{name: equal})
    weight = clf.module_.module.dense.weight.detach().clone()
    clf.fit(X, y)
    clf.partial_fit(X, y)
    assert not torch.equal(clf.module_.module.dense.weight, weight)  # trained on
    clf.set_params(**{name: other})
    for train in (clf.fit, clf.partial_fit):
        with pytest.raises(ValueError, match=f"^{name} changed since"):
            train(X, y)


def test_module_parameters_of_an_instance_are_refused(synthetic_arrays):
    """module__dropout=0.9 with an instance trained the same network as 0.0."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        module=EEGNet(4, 2, 64), module__dropout=0.9, max_epochs=1, verbose=False
    )
    with pytest.raises(ValueError, match="module__dropout would build .* class"):
        clf.fit(X, y)


def test_fitted_network_is_left_in_evaluation_mode(synthetic_arrays):
    """skorch left module_ training: called directly, it drew dropout (logits
    0.5 from decision_function) and moved its batch-norm statistics."""
    X, y = synthetic_arrays
    for early_stopping in (False, True):
        clf = EEGNetClassifier(
            max_epochs=2, early_stopping=early_stopping, verbose=False, random_state=0
        ).fit(X, y)
        assert not clf.module_.training
        with torch.no_grad():
            logits = clf.module_(torch.from_numpy(X)).numpy()
        np.testing.assert_allclose(logits, clf._logits(X), atol=1e-5)
    clf.partial_fit(X, y)
    assert not clf.module_.training


def test_prediction_leaves_torch_random_state_alone(synthetic_arrays):
    """Each prediction drew one number from torch's global generator (its data
    loader's seed), so seeded torch code of the user's changed after predict."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False).fit(X, y)
    for predict in (clf.predict_proba, clf.predict, clf.decision_function):
        state = torch.get_rng_state()
        predict(X)
        assert torch.equal(torch.get_rng_state(), state), predict.__name__
    state = torch.get_rng_state()
    clf.score(X, y)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("call", ["fit", "partial_fit"])
def test_interrupted_training_says_how_far_it_went_and_ends(synthetic_arrays, call):
    """skorch swallows Ctrl-C: fit returned a network trained 2 epochs of 40
    without a word, and a cross-validation went on with that fold's score
    (with the warning, it still went on: the command line wrote its report and
    exited 0)."""

    class CtrlCInThirdEpoch(Callback):
        def on_train_begin(self, net, **kwargs):
            def press(module, inputs, output):
                if len(net.history) == 3:
                    raise KeyboardInterrupt

            net.module_.register_forward_hook(press)

    X, y = synthetic_arrays
    clf = EEGNetClassifier(**dict(FAST, max_epochs=10), callbacks=[CtrlCInThirdEpoch()])
    if call == "partial_fit":  # its third call is interrupted, in its first epoch
        clf.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
        expected = "interrupted after 0 of 1 epochs"
    else:
        expected = "interrupted after 2 of 10 epochs"
    with pytest.warns(RuntimeWarning, match=expected), pytest.raises(KeyboardInterrupt):
        getattr(clf, call)(X, y)
    assert len(clf.history) == 3 and not clf.module_.training


def test_early_stopping_is_not_taken_for_an_interruption(synthetic_arrays):
    """skorch's EarlyStopping raises KeyboardInterrupt: every early stop
    warned that the network was only partly trained."""
    X, y = synthetic_arrays
    noise_labels = np.random.default_rng(0).permutation(y)  # nothing to learn
    clf = EEGNetClassifier(
        **dict(FAST, max_epochs=30), early_stopping=True, n_iter_no_change=1
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, noise_labels)
    assert len(clf.history) < 30  # it stopped early
    assert not [w for w in caught if "interrupted" in str(w.message)]


def test_probabilities_are_the_softmax_of_the_logits_whatever_the_loss(
    synthetic_arrays,
):
    """skorch's "auto" applies a softmax for CrossEntropyLoss only: with a
    margin loss, predict_proba gave logits (negative, rows not summing to 1)."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST, criterion=torch.nn.MultiMarginLoss).fit(X, y)
    proba = clf.predict_proba(X)
    logits = clf.forward(X).numpy()  # the module's outputs, as trained
    np.testing.assert_allclose(proba, softmax(logits, axis=1), rtol=1e-5, atol=1e-7)
    with pytest.raises(TypeError, match="NLLLoss reads log-probabilities"):
        EEGNetClassifier(**FAST, criterion=torch.nn.NLLLoss).fit(X, y)


def test_a_warm_fit_after_a_refused_initialize_builds_its_network(synthetic_arrays):
    """initialize refused midway leaves a network unfinished: warm_start must
    not take it (and its refused loss) for one to continue."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(criterion=torch.nn.NLLLoss, warm_start=True, **FAST)
    with pytest.raises(TypeError, match="NLLLoss reads log-probabilities"):
        clf.initialize(X, y)
    clf.set_params(criterion=torch.nn.CrossEntropyLoss).fit(X, y)
    assert isinstance(clf.criterion_, torch.nn.CrossEntropyLoss)
    assert len(clf.history) == FAST["max_epochs"]


def test_a_fit_stopped_before_training_leaves_no_fitted_looking_network(
    synthetic_arrays, monkeypatch
):
    """Ctrl-C while the optimizer was built left a network that predicted with
    random weights (or the last fit's, for other shapes), as if fitted."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)

    def press_ctrl_c(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(EEGNetClassifier, "initialize_optimizer", press_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X[:, :, :100], y)
    monkeypatch.undo()
    with pytest.raises(NotInitializedError):
        clf.predict(X[:, :, :100])
    assert clf.fit(X, y).predict(X).shape == y.shape


@pytest.mark.parametrize(
    ("params", "match"),
    [
        # 32 samples of the 64 at 128 Hz: refused at the first training step.
        (dict(time_shift=0.25), "below half"),
        # A class of one epoch: refused by the validation split.
        (dict(early_stopping=True), "at least 2"),
    ],
)
def test_a_fit_refused_by_its_training_leaves_no_fitted_looking_network(
    synthetic_arrays, params, match
):
    """Refused before the first optimizer step, fit and partial_fit left the
    network they had built, which predicted with its random weights."""
    X, y = synthetic_arrays
    if params.get("early_stopping"):
        y = np.zeros_like(y)
        y[0] = 1
    refitted = EEGNetClassifier(**FAST).fit(X, y)
    trainings = [
        (EEGNetClassifier(**FAST, **params), lambda clf: clf.fit(X, y)),
        (refitted.set_params(**params), lambda clf: clf.fit(X, y)),
    ]
    if not params.get("early_stopping"):  # partial_fit holds out no split
        trainings.append(
            (
                EEGNetClassifier(**FAST, **params),
                lambda clf: clf.partial_fit(X, y, classes=[0, 1]),
            )
        )
    for clf, train in trainings:
        with pytest.raises(ValueError, match=match):
            train(clf)
        with pytest.raises(NotInitializedError):
            clf.predict(X)


def test_epochs_one_kernel_long_train_and_their_cams_refuse():
    """InterpretableCNN's batch norm after a convolution spanning the epoch failed
    on a last batch of one epoch; its CAMs silently explained the spatial filters
    (the block before) in place of the last block."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((17, 4, 64)).astype(np.float32)  # 17 = 2 * 8 + 1
    y = np.arange(17) % 2
    estimator = InterpretableCNNClassifier(
        max_epochs=1, batch_size=8, random_state=0, verbose=False
    )
    with pytest.warns(RuntimeWarning, match="built for 128 Hz"):
        estimator.fit(X, y)  # the kernel is half a second: 64 samples
    with pytest.raises(ValueError, match="one sample on the last axis"):
        mne_xai.explain(estimator, X[:2], "grad_cam", verbose=False)


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_last_batch_of_one_joins_the_batch_before(shuffle):
    """It was dropped: unshuffled, the 17th epoch was never trained on."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((17, 4, 128)).astype(np.float32)
    estimator = EEGNetClassifier(
        max_epochs=2,
        batch_size=8,
        iterator_train__shuffle=shuffle,
        random_state=0,
        verbose=False,
        module__F1=2,
    ).fit(X, np.arange(17) % 2)
    for epoch in estimator.history:
        sizes = [batch["train_batch_size"] for batch in epoch["batches"]]
        assert sizes == [8, 9]


@pytest.mark.parametrize(
    "n_epochs, sizes", [(9, [9]), (17, [8, 9]), (18, [8, 8, 2]), (1, [1])]
)
def test_no_batch_of_one_joins_only_a_last_batch_of_one(n_epochs, sizes):
    """A last batch of one joins the one before, also where it is the second
    of two; any other batch is left as torch's DataLoader makes it, and the
    number of batches said is the number given."""
    batches = NoBatchOfOne(SequentialSampler(range(n_epochs)), 8)
    assert [len(batch) for batch in batches] == sizes
    assert sum(batches, []) == list(range(n_epochs))
    assert len(batches) == len(sizes)


@pytest.mark.parametrize(
    "params, sizes, in_order",
    [
        (dict(iterator_train__shuffle=False), [8, 9], True),
        (dict(iterator_train__shuffle=True), [8, 9], False),
        # The user's choice is kept: the last epoch is dropped.
        (
            dict(iterator_train__shuffle=False, iterator_train__drop_last=True),
            [8, 8],
            True,
        ),
    ],
)
def test_a_last_batch_of_one_joins_keeping_the_order_asked_for(params, sizes, in_order):
    """Joining the last batch must still shuffle (or not), and leave drop_last be."""
    X = np.arange(17, dtype=np.float32)[:, None, None].repeat(4, axis=2)  # its index
    estimator = EEGNetClassifier(batch_size=8, **params)
    dataset = estimator.get_dataset(X, np.zeros(17, np.int64))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        batches = [
            batch[0][:, 0, 0].long().tolist()
            for batch in estimator.get_iterator(dataset, training=True)
        ]
    assert [len(batch) for batch in batches] == sizes
    order = sum(batches, [])
    assert len(set(order)) == len(order)
    assert (order == sorted(order)) is in_order


def test_a_last_batch_of_one_joins_in_the_order_of_the_users_generator():
    """Shuffled by iterator_train__generator, the order is the one that
    generator draws, as torch's DataLoader would shuffle, whatever torch's
    global random state."""
    X = np.arange(17, dtype=np.float32)[:, None, None].repeat(4, axis=2)  # its index
    estimator = EEGNetClassifier(
        batch_size=8,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(0),
    )
    dataset = estimator.get_dataset(X, np.zeros(17, np.int64))
    with torch.random.fork_rng():
        torch.manual_seed(1)
        order = [
            index
            for batch in estimator.get_iterator(dataset, training=True)
            for index in batch[0][:, 0, 0].long().tolist()
        ]
    drawn = torch.utils.data.RandomSampler(
        range(17), generator=torch.Generator().manual_seed(0)
    )
    assert order == list(drawn)


@pytest.mark.parametrize("n_epochs, trained, held_out", [(40, 32, 8), (39, 31, 8)])
def test_the_log_counts_the_epochs_trained_on(
    synthetic_arrays, n_epochs, trained, held_out
):
    """With early stopping it counted the held-out epochs as trained on; the
    count held out is scikit-learn's, 0.2 of 39 rounded up."""
    X, y = synthetic_arrays
    estimator = EEGNetClassifier(
        max_epochs=1, early_stopping=True, random_state=0, verbose=True, module__F1=2
    )
    with catch_logging() as log, pytest.warns(RuntimeWarning, match="128 Hz"):
        estimator.fit(X[:n_epochs], y[:n_epochs])
    assert (
        f"Training on {trained} epochs ({held_out} more held out to validate)"
        in log.getvalue()
    )
    batches = estimator.history[0, "batches"]
    assert sum(batch.get("train_batch_size", 0) for batch in batches) == trained


@pytest.mark.parametrize(
    "fraction, trained, held_out", [(0.5, 20, 20), (0.3, 27, 13), (0.15, 34, 6)]
)
def test_the_log_counts_about_the_epochs_of_whole_groups(
    synthetic_arrays, fraction, trained, held_out
):
    """Whole groups are held out: one fold of round(1 / validation_fraction)."""
    X, y = synthetic_arrays
    groups = np.repeat(np.arange(20), 2)
    estimator = InterpretableCNNClassifier(
        max_epochs=1, early_stopping=True, validation_fraction=fraction, verbose=True
    )
    with catch_logging() as log, pytest.warns(RuntimeWarning, match="128 Hz"):
        estimator.fit(X, y, groups=groups)
    assert (
        f"Training on about {trained} epochs (about {held_out} more held out to "
        "validate)" in log.getvalue()
    )


def _noise_epochs(sfreq, n_times):
    """Eight epochs of noise on four EEG channels, of two alternating classes."""
    return mne.EpochsArray(
        1e-5 * np.random.default_rng(0).standard_normal((8, 4, n_times)),
        mne.create_info(4, sfreq, "eeg"),
        events=np.c_[np.arange(8) * n_times, np.zeros(8, int), np.arange(8) % 2 + 1],
        verbose=False,
    )


@pytest.mark.parametrize(
    "sfreq, estimator, warned",
    [
        (512.0, EEGNetClassifier, True),
        (500.0, EEGNetClassifier, True),
        (384.0, EEGNetClassifier, False),
        (512.0, InterpretableCNNClassifier, False),
    ],
)
def test_eegnet_advises_decimating_data_at_four_times_its_rate(
    sfreq, estimator, warned
):
    """At 512 Hz EEGNet trained ten times slower than on the same epochs
    decimated to 128 Hz, and no more accurately (benchmarks/accuracy_rate.py),
    and fit said nothing."""
    epochs = _noise_epochs(sfreq, int(sfreq) // 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator(**{**FAST, "max_epochs": 1}).fit(epochs)
    advice = [w for w in caught if "decimate to the rate" in str(w.message)]
    assert len(advice) == warned
    if warned:
        # The true ratio, not rounded (448 Hz read "4 times"), and the cost,
        # which grows with the square of the rate, not as the rate.
        factor, cost = {512.0: ("4", "16"), 500.0: ("3.91", "15")}[sfreq]
        assert f"sampled at {sfreq:g} Hz, {factor} times the 128" in str(
            advice[0].message
        )
        assert f"costs about {cost} times as much per epoch" in str(advice[0].message)


@pytest.mark.parametrize(
    "sfreq, n_times, unread",
    [(10.0, 127, 29), (50.0, 125, 5), (128.0, 154, 0)],
)
def test_fit_warns_of_the_end_of_the_epochs_the_network_never_reads(
    sfreq, n_times, unread
):
    """EEGNet's poolings drop the end of an epoch that they do not divide; at
    10 Hz (fNIRS) the last 2.9 s of 12.7 s epochs changed no prediction and got
    zero relevance from every method, and fit said nothing."""
    epochs = _noise_epochs(sfreq, n_times)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = EEGNetClassifier(**{**FAST, "max_epochs": 1}).fit(epochs)
    told = [w for w in caught if "never reach its logits" in str(w.message)]
    assert len(told) == (unread > 0)
    if unread:
        assert f"the last {unread} ({unread / sfreq:.3g} s)" in str(told[0].message)
        # What it says holds: noise in the samples it names moves no probability.
        noisy = epochs.copy()
        noise = np.random.default_rng(1).standard_normal((8, 4, unread))
        noisy._data[:, :, n_times - unread :] = noise
        np.testing.assert_array_equal(
            clf.predict_proba(epochs), clf.predict_proba(noisy)
        )


class _EEGNetOfItsLayers(EEGNet):
    """EEGNet with a forward of its own: trained and run as its layers compute."""

    def forward(self, x):  # noqa: D102
        return super().forward(x)


def test_training_spatial_first_fits_the_network_of_the_layers(synthetic_arrays):
    """EEGNet trains its first block spatial filters first: the same network,
    losses and predictions as calling its layers, a few times faster."""
    X, y = synthetic_arrays
    fast = EEGNetClassifier(**FAST).fit(X, y)
    plain = EEGNetClassifier(_EEGNetOfItsLayers, **FAST).fit(X, y)
    assert type(fast.module_) is EEGNet
    # Asked in training mode, as forward asks it: fitted, the network evaluates.
    fast.module_.train(), plain.module_.train()
    assert fast.module_._trains_spatial_first(torch.from_numpy(X))
    assert not plain.module_._trains_spatial_first(torch.from_numpy(X))
    fast.module_.eval(), plain.module_.eval()
    np.testing.assert_allclose(
        fast.history[:, "train_loss"], plain.history[:, "train_loss"], rtol=1e-5
    )
    fast_state, plain_state = fast.module_.state_dict(), plain.module_.state_dict()
    assert list(fast_state) == list(plain_state)
    # temporal_bn's bias, which training-mode outputs do not depend on, moves
    # by rounding noise, and spatial_bn's running mean with it (see
    # _spatial_first_in_training); all else is equal to float32 rounding.
    noise = {"temporal_bn.bias", "spatial_bn.running_mean"}
    for name, value in fast_state.items():
        rtol, atol = (0, 1e-2) if name in noise else (1e-4, 1e-6)
        torch.testing.assert_close(value, plain_state[name], rtol=rtol, atol=atol)
    np.testing.assert_allclose(fast.predict_proba(X), plain.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(fast.predict(X), plain.predict(X))


def test_predictions_go_through_the_inference_graph(synthetic_arrays, monkeypatch):
    """predict_proba runs EEGNet's SpatialFirstEEGNet: the network's own
    probabilities, 4 times faster on 64 channels."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    batches = []
    graph_forward = SpatialFirstEEGNet.forward

    def spy(self, x):
        batches.append(len(x))
        return graph_forward(self, x)

    monkeypatch.setattr(SpatialFirstEEGNet, "forward", spy)
    proba = clf.predict_proba(X)
    # The first pass is inference_graph's check on a probe, then every epoch.
    assert sum(batches[1:]) == len(X)
    with torch.no_grad():
        expected = torch.softmax(clf.module_.eval()(torch.from_numpy(X)), dim=1)
    np.testing.assert_allclose(proba, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])


def test_a_users_hook_sees_the_networks_own_passes(synthetic_arrays):
    """Through the inference graph, a hook on a later layer also saw the
    graph's check on a probe of two epochs, as if they were predicted."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    seen = []
    clf.module_.separable_elu.register_forward_hook(
        lambda module, inputs, output: seen.append(output.detach())
    )
    with torch.no_grad():
        clf.module_.eval()(torch.from_numpy(X))
    clf.predict_proba(X)
    torch.testing.assert_close(torch.cat(seen[1:]), seen[0])
