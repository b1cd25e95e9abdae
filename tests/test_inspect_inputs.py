"""What each class "wants": activation maximization, best samples, group votes."""

import warnings

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from mne.time_frequency import SpectrumArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier

from mne_xai import (
    CroppedClassifier,
    EEGNetClassifier,
    InterpretableCNNClassifier,
    as_network,
)
from mne_xai.datasets import load_drowsiness
from mne_xai.inspect import (
    best_samples,
    group_predictions,
    make_group_scorer,
    maximize_activation,
)
from mne_xai.inspect._maximization import _check_ascended, _check_converging, _result

SFREQ, N_CHANNELS, N_TIMES = 64.0, 4, 64


class LinearLogits(torch.nn.Module):
    """Logits that are linear functionals of the input, ``w_k . x``."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(n_outputs, n_chans, n_times))

    def forward(self, x):
        return torch.einsum("bct,kct->bk", x, self.weight)


class RectifiedLogits(LinearLogits):
    """Logits ``relu(w_k . x)``: flat wherever ``w_k . x`` is negative."""

    def forward(self, x):
        return torch.relu(super().forward(x))


def _estimator_on_noise(module, rng, sfreq=SFREQ):
    """An estimator of ``module`` (its weights left at zero) fitted on noise
    of events "a" (1) and "b" (2) at ``sfreq``."""
    data = rng.standard_normal((20, N_CHANNELS, N_TIMES)) * 1e-5
    info = mne.create_info(N_CHANNELS, sfreq, "eeg")
    events = np.column_stack([np.arange(20), np.zeros(20, int), np.repeat([1, 2], 10)])
    epochs = mne.EpochsArray(data, info, events, event_id={"a": 1, "b": 2}, verbose=0)
    return EEGNetClassifier(module=module, max_epochs=0, verbose=False).fit(epochs)


def _linear_network(sfreq=SFREQ):
    """An estimator whose class-2 logit is ``w . x`` for a known pattern ``w``."""
    rng = np.random.default_rng(0)
    clf = _estimator_on_noise(LinearLogits, rng, sfreq)
    pattern = rng.standard_normal((N_CHANNELS, N_TIMES))
    # Logits far larger than a trained network's: the penalties are weighed
    # in units of the logit's sensitivity, so the optimum does not depend on it.
    with torch.no_grad():
        clf.module_.module.weight[1] = torch.from_numpy(1e3 * pattern)
    return clf, pattern


@pytest.fixture(scope="module")
def linear_network():
    """An estimator whose class-2 logit is ``w . x`` for a known pattern ``w``."""
    return _linear_network()


@pytest.mark.parametrize("norm_penalty", [1.0, 2.0])
def test_linear_logit_white_prior_optimum_is_the_weights(linear_network, norm_penalty):
    clf, pattern = linear_network
    clf.module_.train()  # the mode it is found in is restored afterwards
    result = maximize_activation(
        clf,
        "b",
        n_restarts=3,
        n_steps=300,
        norm_penalty=norm_penalty,
        smoothness_penalty=0,
        spectral_prior=None,
        random_state=0,
        verbose=False,
    )
    # The objective is concave: every restart reaches the closed-form optimum,
    # the weights at the training data's amplitude over norm_penalty.
    rms = np.sqrt(np.mean(pattern**2))
    expected = pattern / rms * clf.data_std_ / norm_penalty
    tolerance = 0.01 * np.abs(expected).max()
    for restart in result.restarts.get_data():
        assert np.corrcoef(restart.ravel(), pattern.ravel())[0, 1] > 0.999
        np.testing.assert_allclose(restart, expected, atol=tolerance)
    np.testing.assert_allclose(result.evoked.data, expected, atol=tolerance)
    assert clf.module_.training
    # At the optimum of a linear gain under a quadratic penalty, the penalty
    # costs half the logit.
    logit = result.logits[:, 1]
    np.testing.assert_allclose(result.objective, logit / 2, rtol=1e-3)
    # Each restart's row of metadata holds its objective and its target
    # logit (class "b", the second column), not another class's.
    metadata = result.restarts.metadata
    np.testing.assert_array_equal(metadata["logit"], logit)
    np.testing.assert_array_equal(metadata["objective"], result.objective)
    # The penalty scale, sqrt(n) |d logit / d c| / 2: the input is data_std_
    # times an orthonormal transform of the coefficients, which the estimator
    # divides by data_std_, so the gradient's norm is that of the weights.
    weights = clf.module_.module.weight[1].detach().numpy()
    np.testing.assert_allclose(
        metadata["penalty_scale"],
        np.sqrt(weights.size) * np.linalg.norm(weights) / 2,
        rtol=1e-5,
    )


# At 128 Hz the lowest resolved frequency is 2 Hz: a floor of 1 Hz, which the
# rate of 64 Hz could not tell from it, gave DC twice its power.
@pytest.mark.parametrize("sfreq", [SFREQ, 2 * SFREQ])
def test_linear_logit_pink_prior_filters_the_weights_by_1_over_f(linear_network, sfreq):
    clf, pattern = linear_network if sfreq == SFREQ else _linear_network(sfreq)
    result = maximize_activation(
        clf,
        2,  # a class label: the event code of "b"
        n_restarts=2,
        n_steps=300,
        smoothness_penalty=0,
        spectral_prior="1/f",
        random_state=0,
        verbose=False,
    )
    assert result.target == 2
    # The maximum a posteriori input under Gaussian noise of power 1/f is the
    # weight vector with its spectrum multiplied by 1/f (held below the
    # lowest resolved frequency).
    freqs = np.fft.rfftfreq(N_TIMES, 1 / sfreq)
    ratio = np.fft.rfft(result.evoked.data) / np.fft.rfft(pattern)
    assert np.abs(ratio.imag).max() < 1e-3 * np.abs(ratio.real).max()
    flattened = ratio.real * np.maximum(freqs, sfreq / N_TIMES)
    np.testing.assert_allclose(flattened, np.median(flattened), rtol=0.03)


def test_smoothness_penalty_removes_fast_fluctuations(linear_network):
    clf, _ = linear_network

    def roughness(smoothness_penalty):
        result = maximize_activation(
            clf,
            "b",
            n_restarts=1,
            n_steps=300,
            smoothness_penalty=smoothness_penalty,
            spectral_prior=None,
            random_state=0,
            verbose=False,
        )
        data = result.evoked.data
        return np.mean(np.diff(data) ** 2) / np.mean(data**2)

    # The weights are white noise (roughness 2); the penalty must lower it.
    assert roughness(5.0) < 0.5 * roughness(0.0)


def test_the_learning_rate_anneals_to_zero_along_a_cosine(linear_network):
    """Without penalties a linear logit has a constant gradient, so each Adam
    step moves every coefficient by its learning rate, in the gradient's
    sign: along the cosine, n steps sum to lr * (n + 1) / 2, so 20 steps move
    the input 21 / 11 as far as 10 do (2 at a constant rate)."""
    clf, _ = linear_network

    def ascent(n_steps, lr):
        return maximize_activation(
            clf,
            "b",
            n_restarts=1,
            n_steps=n_steps,
            lr=lr,
            norm_penalty=0,
            smoothness_penalty=0,
            spectral_prior=None,
            random_state=0,
            verbose=False,
        ).evoked.data

    start = ascent(1, 1e-9)
    moves = {n_steps: ascent(n_steps, 0.01) - start for n_steps in (10, 20)}
    np.testing.assert_allclose(
        moves[20], 21 / 11 * moves[10], atol=1e-3 * np.abs(moves[20]).max()
    )


@pytest.mark.parametrize("spectral_prior", ["1/f", None])
def test_the_starting_noise_has_the_training_datas_amplitude(
    linear_network, spectral_prior
):
    """White coefficients of unit variance give noise of the training data's
    variance under either prior (a step of lr=1e-9 leaves it as it started):
    the 1/f amplitudes normalized by their mean, not their root mean square,
    made it 16 percent louder."""
    clf, _ = linear_network
    result = maximize_activation(
        clf,
        "b",
        n_restarts=20,
        n_steps=1,
        lr=1e-9,
        spectral_prior=spectral_prior,
        random_state=0,
        verbose=False,
    )
    noise = result.restarts.get_data()
    assert noise.std() == pytest.approx(float(clf.data_std_), rel=0.05)


def test_maximize_eegnet_beats_real_epochs(fitted_eegnet, imagery_epochs):
    feet = list(fitted_eegnet.classes_).index(imagery_epochs.event_id["feet"])
    real = fitted_eegnet._logits(imagery_epochs["feet"])[:, feet]
    module = fitted_eegnet.module_
    before = {name: value.clone() for name, value in module.state_dict().items()}
    gradients = [
        None if p.grad is None else p.grad.clone() for p in module.parameters()
    ]
    result = maximize_activation(
        fitted_eegnet, "feet", n_restarts=2, n_steps=60, random_state=0, verbose=False
    )
    assert result.logits[:, feet].min() > real.max()
    assert result.history[-1].mean() > result.history[0].mean()
    # Outputs live on the training channels, at the training rate.
    assert isinstance(result.evoked, mne.EvokedArray)
    assert result.evoked.ch_names == fitted_eegnet.info_.ch_names
    assert result.evoked.data.shape == (
        fitted_eegnet.n_channels_,
        fitted_eegnet.n_times_,
    )
    assert result.evoked.nave == 1
    best = int(np.argmax(result.objective))
    np.testing.assert_array_equal(result.evoked.data, result.restarts.get_data()[best])
    assert len(result.restarts["feet"]) == 2
    np.testing.assert_allclose(
        result.restarts.metadata["logit"], result.logits[:, feet]
    )
    assert isinstance(result.spectrum, SpectrumArray)
    assert result.spectrum.get_data().shape[0] == fitted_eegnet.n_channels_
    assert 0 < result.spectrum.freqs.max() <= fitted_eegnet.info_["sfreq"] / 2
    assert result.spectrum.nave == 2  # the mean of the restarts' spectra
    assert f"best objective {result.objective.max():.3g}>" in repr(result)
    # The network is left as it was: weights and gradients.
    for name, value in module.state_dict().items():
        torch.testing.assert_close(value, before[name])
    for parameter, gradient in zip(module.parameters(), gradients, strict=True):
        if gradient is None:
            assert parameter.grad is None
        else:
            torch.testing.assert_close(parameter.grad, gradient)


def test_the_best_restart_is_that_of_the_highest_objective_not_logit(
    linear_network,
):
    """As documented. The penalties differ between restarts: the highest logit
    may be the least EEG-like input, the one the penalties cost most."""
    clf, _ = linear_network
    rng = np.random.default_rng(0)
    inputs = 1e-5 * rng.standard_normal((3, N_CHANNELS, N_TIMES))  # in volts
    objective = np.array([1.0, 3.0, 2.0])
    logits = np.array([[0.0, 9.0], [0.0, 4.0], [0.0, 5.0]])  # of class "b"
    history = np.zeros((1, 3))
    result = _result(clf, inputs, objective, logits, history, 1, np.ones(3))
    np.testing.assert_array_equal(result.evoked.data, inputs[1])


def test_maximize_is_reproducible(fitted_icnn):
    def run(random_state):
        return maximize_activation(
            fitted_icnn,
            0,
            n_restarts=2,
            n_steps=10,
            random_state=random_state,
            verbose=False,
        ).restarts.get_data()

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))


def test_maximize_networks_without_event_names(synthetic_arrays, imagery_epochs):
    """Integer labels without event names failed after the whole optimization
    (MNE's event names are strings); a CroppedClassifier refused its event names."""
    X, y = synthetic_arrays
    on_arrays = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    with pytest.warns(RuntimeWarning, match="taken as 128 Hz"):
        result = maximize_activation(
            on_arrays.fit(X, y + 1), 2, n_steps=2, verbose=False
        )
    assert list(result.restarts.event_id) == ["2"]
    # A loop over range(n_classes) maximized class 1 twice, silently.
    with pytest.warns(RuntimeWarning, match="also the index of class 2"):
        maximize_activation(on_arrays, 1, n_steps=2, verbose=False)
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=1.0,
    ).fit(imagery_epochs[:6])
    result = maximize_activation(cropped, "feet", n_steps=2, verbose=False)
    assert list(result.restarts.event_id) == ["feet"]


@pytest.mark.filterwarnings("ignore:After training")
@pytest.mark.parametrize("labels", ["codes", "names"])
def test_restarts_of_each_class_keep_its_event_code(synthetic_arrays, labels):
    """The restarts of every class were coded 1: MNE refused to concatenate
    those of two classes (one code of two names), which explain's maps allow."""
    X, y = synthetic_arrays
    event_id = {"left": 3, "right": 2}  # names sort otherwise than codes
    events = np.column_stack([np.arange(len(y)), np.zeros_like(y), 3 - y])
    epochs = mne.EpochsArray(
        X * 1e-5,
        mne.create_info(N_CHANNELS, SFREQ, "eeg"),
        events,
        event_id=event_id,
        verbose=False,
    )
    names = np.array(["left", "right"])[y]
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    clf.fit(epochs, None if labels == "codes" else names)
    restarts = [
        maximize_activation(clf, name, n_restarts=2, n_steps=2, verbose=False).restarts
        for name in ("left", "right")
    ]
    both = mne.concatenate_epochs(restarts, verbose=False)
    assert both.event_id == event_id
    np.testing.assert_array_equal(both.events[:, 2], [3, 3, 2, 2])


@pytest.mark.parametrize("labels", ["strings", "booleans"])
def test_restarts_of_labels_naming_no_event_are_numbered_from_1(
    synthetic_arrays, labels
):
    """Labels that are no integers and name no training event (strings of
    arrays) are coded by their position in classes_ plus 1, as documented.
    Booleans are no integers either: False would be coded 0, True 1."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        max_epochs=1, info=mne.create_info(N_CHANNELS, SFREQ, "eeg"), verbose=False
    ).fit(X, np.array(["rest", "task"])[y] if labels == "strings" else y == 1)
    for code, name in enumerate(clf.classes_, start=1):
        result = maximize_activation(clf, name, n_restarts=2, n_steps=2, verbose=False)
        assert result.restarts.event_id == {str(name): code}
        np.testing.assert_array_equal(result.restarts.events[:, 2], code)


def _named_epochs(X, y):
    """The synthetic arrays as Epochs whose events name the labels 0 and 1 "a" and "b"."""
    events = np.column_stack([np.arange(len(y)), np.zeros(len(y), int), y + 1])
    return mne.EpochsArray(
        X * 1e-5,
        mne.create_info(N_CHANNELS, SFREQ, "eeg"),
        events,
        event_id=dict(a=1, b=2),
        verbose=False,
    )


def _linear_skorch_classifier(X, y):
    """A skorch classifier of the user's own, fitted on arrays (one linear layer)."""
    return NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 64, 2)),
        max_epochs=1,
        train_split=None,
        verbose=0,
    ).fit(X, y.astype(np.int64))


def test_maximize_refuses_bad_input(fitted_icnn, synthetic_arrays):
    with pytest.raises(ValueError, match="target='sleep'"):
        maximize_activation(fitted_icnn, "sleep", verbose=False)
    with pytest.raises(ValueError, match="spectral_prior"):
        maximize_activation(fitted_icnn, 0, spectral_prior="pink", verbose=False)
    with pytest.raises(ValueError, match="norm_penalty must be zero or positive"):
        maximize_activation(fitted_icnn, 0, norm_penalty=-1, verbose=False)
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        maximize_activation(fitted_icnn, 0, n_steps=0, verbose=False)
    # Adam takes lr=0 and returns the starting noise, as if it were the optimum.
    with pytest.raises(ValueError, match="lr must be positive, got 0"):
        maximize_activation(fitted_icnn, 0, lr=0, verbose=False)
    X, y = synthetic_arrays
    net = _linear_skorch_classifier(X, y)
    with pytest.raises(ValueError, match="needs the shape of a training epoch"):
        maximize_activation(net, 0, verbose=False)


@pytest.mark.parametrize("n_steps", [30, 1])
def test_maximize_refuses_an_ascent_that_diverged(n_steps):
    """With lr=1e30, the first step threw the inputs beyond float32's range
    (the objective -inf, then NaN from the second step on), and the spectra of
    the NaN inputs failed inside NumPy: "ZeroDivisionError: Weights sum to
    zero, can't be normalized". With one step, the overflow follows the last
    step, which only the check of the final inputs sees: without it, an
    objective of -inf was returned."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3, 65)).astype(np.float32)
    network = EEGNetClassifier(
        info=mne.create_info(3, 128.0, "eeg"), max_epochs=1, verbose=False
    ).fit(X, np.repeat([0, 1], 8))
    with pytest.raises(
        ValueError, match=rf"diverged after 1 of {n_steps} steps.*smaller lr"
    ):
        maximize_activation(
            network, 0, n_restarts=2, n_steps=n_steps, lr=1e30, verbose=False
        )


def test_an_ascent_is_refused_when_any_restart_diverged():
    """One restart overflowing is enough to refuse, whatever the others did."""
    with pytest.raises(
        ValueError,
        match=r"after 3 of 10 steps: the objective of restart\(s\) \[1\] is inf",
    ):
        _check_converging(torch.tensor([0.5, float("inf")]), 3, 10, lr=0.1)
    _check_converging(torch.tensor([0.5, -2.0]), 3, 10, lr=0.1)


def test_maximize_refuses_an_ascent_that_ended_below_its_start():
    """With lr=1e10 the objective fell from -0.05 to -1.6e14, finite, and the
    inputs reached thousands of volts without a word."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3, 65)).astype(np.float32)
    network = EEGNetClassifier(
        info=mne.create_info(3, 128.0, "eeg"), max_epochs=1, verbose=False
    ).fit(X, np.repeat([0, 1], 8))
    kwargs = dict(n_restarts=2, n_steps=30, random_state=0, verbose=False)
    for lr in (1e3, 1e10):
        with pytest.raises(ValueError, match=r"ended below where it started"):
            maximize_activation(network, 0, lr=lr, **kwargs)
    result = maximize_activation(network, 0, **kwargs)
    assert (result.objective > np.asarray(result.history)[0]).all()


def test_an_ascent_may_end_a_thousandth_of_its_values_below_its_start():
    """Rounding and the last steps' jitter aside, a thousandth of the start's
    and the end's magnitudes, an ascent ending below its start is refused:
    1 to 0.9985 and -1 to -1.0015 are jitter, 1 to 0.99 a fall."""
    _check_ascended(np.array([1.0, -1.0]), np.array([0.9985, -1.0015]), lr=0.1)
    with pytest.raises(ValueError, match=r"restart\(s\) \[1\] ended below"):
        _check_ascended(np.array([1.0, 1.0]), np.array([1.0, 0.99]), lr=0.1)


def test_maximize_refuses_a_logit_that_does_not_change(linear_network):
    """Class "a" has zero weights: its logit has no gradient, so there is no
    direction to ascend, and the penalties' unit (the gradient's norm) is 0:
    the starting noise would come back as the class's preferred input."""
    clf, _ = linear_network
    with pytest.raises(ValueError, match="does not change near the starting noise"):
        maximize_activation(clf, "a", n_restarts=1, n_steps=2, verbose=False)


def test_maximize_refuses_a_restart_whose_logit_does_not_change():
    """The logit is rectified: a restart starting where it is flat has no
    direction to ascend, though the others have one (only restarts all flat
    were refused, and the flat ones came back as the starting noise)."""
    rng = np.random.default_rng(0)
    clf = _estimator_on_noise(RectifiedLogits, rng)
    with torch.no_grad():
        clf.module_.module.weight[1] = torch.from_numpy(
            rng.standard_normal((N_CHANNELS, N_TIMES))
        )
    with pytest.raises(ValueError, match="does not change near the starting noise"):
        maximize_activation(
            clf, "b", n_restarts=4, n_steps=2, random_state=0, verbose=False
        )


class BatchNormWithoutRunningStatistics(torch.nn.Module):
    """Batch norm over the batch in evaluation mode too: epochs of a batch mix."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.conv = torch.nn.Conv1d(n_chans, 4, 5)
        self.norm = torch.nn.BatchNorm1d(4, track_running_stats=False)
        self.fc = torch.nn.Linear(4 * (n_times - 4), n_outputs)

    def forward(self, x):
        return self.fc(torch.nn.functional.elu(self.norm(self.conv(x))).flatten(1))


def test_maximize_refuses_a_network_mixing_the_epochs_of_a_batch(synthetic_arrays):
    """The restarts, optimized as one batch, each raised a logit that depended
    on the others: one reported 5.84 was 6.02 for its input alone, which
    changed which restart was best."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        module=BatchNormWithoutRunningStatistics,
        max_epochs=1,
        info=mne.create_info(X.shape[1], 64.0, "eeg"),
        verbose=False,
    ).fit(X * 1e-5, y)
    with pytest.raises(ValueError, match="depends on the other epochs in its batch"):
        maximize_activation(clf, 1, n_restarts=2, n_steps=2, verbose=False)


def test_group_predictions_refuses_a_network_that_cannot_predict(synthetic_arrays):
    """as_network's wrapper of a skorch classifier explains and cannot predict:
    it was an AttributeError naming a private class."""
    X, y = synthetic_arrays
    net = _linear_skorch_classifier(X, y)
    network = as_network(net, info=mne.create_info(4, 64.0, "eeg"))
    groups = np.arange(len(y)) % 4
    # The advice says how the network takes its data: given Epochs, it failed
    # in torch's collate; given them as volts, it predicted without a word.
    match = r"pass the fitted classifier itself.*in its order and unit"
    with pytest.raises(TypeError, match=match):
        group_predictions(network, X, groups, y=y, verbose=False)
    assert len(group_predictions(net, X, groups, y=y, verbose=False)) == 4


def test_group_predictions_without_labels_asks_for_y(synthetic_arrays):
    """A network fitted on arrays cannot read classes from events: the error
    named explain's target="true" and sent the user to as_network's
    event_id, whose wrapper group_predictions refuses."""
    X, y = synthetic_arrays
    net = _linear_skorch_classifier(X, y)
    events = np.column_stack([np.arange(len(y)) * 100, np.zeros(len(y), int), y + 2])
    epochs = mne.EpochsArray(
        X,
        mne.create_info(4, 64.0, "eeg"),
        events,
        event_id=dict(a=2, b=3),
        verbose=False,
    )
    groups = np.arange(len(y)) % 4
    with pytest.raises(ValueError, match="pass y, the class of each epoch") as error:
        group_predictions(net, epochs, groups, verbose=False)
    assert "as_network" not in str(error.value) and "target=" not in str(error.value)


@pytest.mark.filterwarnings("ignore:After training")
@pytest.mark.parametrize("wrapper", ["voting", "calibrated"])
def test_group_predictions_of_a_wrapper_fitted_on_epochs_asks_for_y(
    synthetic_arrays, wrapper
):
    """A VotingClassifier or CalibratedClassifierCV of networks fitted on Epochs
    keeps no record of their events: it was said to be "not fitted on Epochs"."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y)
    network = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    if wrapper == "voting":
        clf = VotingClassifier([("net", network)], voting="soft")
    else:
        clf = CalibratedClassifierCV(network, cv=2)
    clf.fit(epochs, y + 1)
    groups = np.arange(len(y)) % 4
    match = (
        f"a {type(clf).__name__} keeps no record of the events of its training "
        r"data.*pass y, the class of each epoch"
    )
    with pytest.raises(ValueError, match=match) as error:
        group_predictions(clf, epochs, groups, verbose=False)
    assert "not fitted on Epochs" not in str(error.value)
    assert len(group_predictions(clf, epochs, groups, y=y + 1, verbose=False)) == 4


@pytest.mark.filterwarnings("ignore:After training")
def test_group_predictions_of_an_event_not_trained_on_give_the_reason(
    synthetic_arrays,
):
    """Epochs holding an event the network was not trained on: explain's
    precise reason was replaced by a wrong guess ("it was trained on arrays, or
    on labels other than these events")."""
    X, _ = synthetic_arrays
    codes = np.arange(len(X)) % 3 + 1
    events = np.column_stack([np.arange(len(X)), np.zeros_like(codes), codes])
    epochs = mne.EpochsArray(
        X * 1e-5,
        mne.create_info(N_CHANNELS, SFREQ, "eeg"),
        events,
        event_id=dict(a=1, b=2, c=3),
        verbose=False,
    )
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    clf.fit(epochs[["a", "b"]])
    match = (
        r"events \['c'\] of these epochs are not among those the network was "
        r"trained on.*epochs\[\['a', 'b'\]\].*pass y, the class of each epoch"
    )
    with pytest.raises(ValueError, match=match) as error:
        group_predictions(clf, epochs, np.arange(len(X)) % 4, verbose=False)
    assert "trained on arrays" not in str(error.value)


def test_group_predictions_names_a_search_fitted_without_refit(synthetic_arrays):
    """A search fitted with refit=False has no predict_proba: the error said to
    unwrap as_network's wrapper, which the user never made."""
    X, y = synthetic_arrays
    search = GridSearchCV(
        _linear_skorch_classifier(X, y), {"lr": [0.1]}, cv=2, refit=False
    ).fit(X, y)
    with pytest.raises(TypeError, match="refit=False") as error:
        group_predictions(search, X, np.arange(len(y)) % 4, y=y, verbose=False)
    assert "as_network" not in str(error.value)


# -- the drowsiness data --------------------------------------------------------
TRAIN_SUBJECTS, TEST_SUBJECT = [8, 9], 1
ALPHA = (8.0, 12.0)


@pytest.fixture(scope="module")
def drowsiness(drowsiness_path):
    """InterpretableCNN trained briefly on two subjects, and a held-out subject."""
    epochs = load_drowsiness(
        drowsiness_path, subjects=[*TRAIN_SUBJECTS, TEST_SUBJECT], verbose=False
    )
    subject = epochs.metadata["subject"].to_numpy()
    # A high rate annealed by the cosine schedule converges in a few passes;
    # the held-out subject reached 0.67-0.70 accuracy over random_state 0-4.
    clf = InterpretableCNNClassifier(
        optimizer=torch.optim.Adam,
        lr=1e-2,
        max_epochs=5,
        batch_size=50,
        random_state=0,
        verbose=False,
    ).fit(epochs[subject != TEST_SUBJECT])
    return clf, epochs[subject == TEST_SUBJECT]


def _band_mean(spectrum, band):
    values, freqs = spectrum.get_data(return_freqs=True)
    return values[:, (freqs >= band[0]) & (freqs <= band[1])].mean()


def test_best_drowsy_samples_show_alpha(drowsiness):
    clf, epochs = drowsiness
    result = best_samples(clf, epochs, k=10, verbose=False)
    assert set(result.epochs) == {"alert", "drowsy"}
    drowsy = result.epochs["drowsy"]
    assert len(drowsy) == 10
    assert set(drowsy.events[:, 2]) == {epochs.event_id["drowsy"]}
    # Ranked best first by the drowsy log-odds, among the drowsy epochs.
    index = list(clf.classes_).index(epochs.event_id["drowsy"])
    scores = result.scores[result.indices["drowsy"], index]
    assert np.all(np.diff(scores) <= 0)
    others = np.setdiff1d(result.candidates["drowsy"], result.indices["drowsy"])
    assert scores.min() >= result.scores[others, index].max()
    # Cui et al.: the drowsy epochs the network is surest of carry more alpha
    # power than the other drowsy epochs, beyond any broadband difference;
    # measured +4.7 to +4.9 dB against +0.6 dB broadband over random_state 0-4.
    spectrum = result.spectra["drowsy"]
    assert isinstance(spectrum, SpectrumArray)
    alpha = _band_mean(spectrum, ALPHA)
    assert alpha > 3.0
    assert alpha > spectrum.get_data().mean() + 2.0
    # And the surest alert epochs carry less alpha than the other alert ones.
    assert _band_mean(result.spectra["alert"], ALPHA) < 0


def test_best_samples_among_all_and_arrays(drowsiness):
    clf, epochs = drowsiness
    array = epochs.get_data()
    with pytest.raises(ValueError, match='among="all"'):
        best_samples(clf, array, verbose=False)
    result = best_samples(clf, array, k=5, among="all", fmax=30, verbose=False)
    # Over all epochs, the top five of each class outscore every other epoch.
    # Classes are named by their event names, in the order of classes_.
    assert list(result.indices) == ["alert", "drowsy"]
    for index, name in enumerate(result.indices):
        top = result.indices[name]
        rest = np.setdiff1d(np.arange(len(array)), top)
        assert result.scores[top, index].min() >= result.scores[rest, index].max()
        np.testing.assert_array_equal(result.epochs[name].get_data(), array[top])
    assert result.spectra["alert"].freqs.max() <= 30
    # Log-odds rank as the probabilities do.
    proba = clf.predict_proba(array)
    np.testing.assert_allclose(
        result.scores[:, 1], np.log(proba[:, 1] / proba[:, 0]), atol=1e-4
    )
    with pytest.raises(ValueError, match="k=200 leaves no other epochs"):
        best_samples(clf, epochs, k=200, verbose=False)


def test_best_samples_advice_is_what_best_samples_takes(fitted_eegnet, imagery_epochs):
    """Epochs holding an event the network was not trained on were refused
    with advice to pass y= or target=, which best_samples does not take; a k
    too large for among="all" spoke of a class."""
    epochs = imagery_epochs.copy()
    epochs.event_id = {**epochs.event_id, "rest": 99}
    epochs.events[:3, 2] = 99
    with pytest.raises(ValueError, match=r"events \['rest'\] of these") as err:
        best_samples(fitted_eegnet, epochs, k=2, verbose=False)
    assert "y=" not in str(err.value)
    assert 'Pass among="all" to rank every epoch' in str(err.value)
    n_epochs = len(imagery_epochs)
    with pytest.raises(ValueError, match=f"k={n_epochs} leaves no other epochs ranked"):
        best_samples(
            fitted_eegnet, imagery_epochs, k=n_epochs, among="all", verbose=False
        )


def test_best_samples_of_arrays_start_when_the_training_epochs_did(
    fitted_eegnet, imagery_epochs
):
    """They started at 0 s: the prototypes of a network trained on epochs from
    0.5 s were half a second early, unlike the maps and activations of arrays."""
    array = imagery_epochs.get_data()
    result = best_samples(fitted_eegnet, array, k=2, among="all", verbose=False)
    for name, top in result.indices.items():
        np.testing.assert_allclose(result.epochs[name].times, imagery_epochs.times)
        np.testing.assert_array_equal(result.epochs[name].get_data(), array[top])


def test_best_samples_of_a_list_keep_the_events_of_their_epochs(
    fitted_eegnet, imagery_epochs
):
    """mne.concatenate_epochs moved each top epoch's event past the one before:
    the second top epoch of one recording, at sample 23328, came back at 77952."""
    parts = [imagery_epochs[:20], imagery_epochs[20:]]
    whole = best_samples(fitted_eegnet, imagery_epochs, k=3, verbose=False)
    result = best_samples(fitted_eegnet, parts, k=3, verbose=False)
    for name, top in result.indices.items():
        np.testing.assert_array_equal(top, whole.indices[name])
        np.testing.assert_array_equal(
            result.epochs[name].events, imagery_epochs.events[top]
        )
        np.testing.assert_array_equal(
            result.epochs[name].get_data(), imagery_epochs[top].get_data()
        )


def test_best_samples_of_lazy_epochs_read_a_batch_at_a_time(
    drowsiness, tmp_path, epochs_reads
):
    """The spectra of every epoch were computed at once, from all the data."""
    clf, epochs = drowsiness
    fname = tmp_path / "drowsiness-epo.fif"
    epochs.save(fname, verbose=False)
    lazy = mne.read_epochs(fname, preload=False, verbose=False)
    saved = mne.read_epochs(fname, verbose=False)  # in float32, as in the file
    half = len(lazy) // 2
    epochs_reads.clear()
    result = best_samples(
        clf, [lazy[:half], lazy[half:]], k=10, batch_size=16, verbose=False
    )
    assert epochs_reads and max(epochs_reads) <= 16 < len(epochs)
    for name, top in result.indices.items():
        np.testing.assert_allclose(
            result.epochs[name].get_data(), saved[top].get_data()
        )
        # The model-free reference: Welch spectra of the same epochs, all at once.
        rest = np.setdiff1d(result.candidates[name], top)
        log_power = 10 * np.log10(saved.compute_psd(method="welch").get_data())
        np.testing.assert_allclose(
            result.spectra[name].get_data(),
            log_power[top].mean(axis=0) - log_power[rest].mean(axis=0),
            atol=1e-9,
        )


# -- group votes ------------------------------------------------------------------
def _groups_with_majority(right, wrong, n_right, n_wrong):
    """Group labels: each group holds n_right epochs of ``right``, n_wrong of
    ``wrong``, as many groups as both allow; the other epochs get no group."""
    groups = np.full(len(right) + len(wrong), -1)
    n_groups = min(len(right) // n_right, len(wrong) // max(n_wrong, 1))
    for group in range(n_groups):
        groups[right[group * n_right : (group + 1) * n_right]] = group
        groups[wrong[group * n_wrong : (group + 1) * n_wrong]] = group
    return groups, n_groups


@pytest.mark.parametrize(
    "n_right, n_wrong, vote_right", [(3, 2, True), (2, 3, False), (5, 0, True)]
)
def test_majority_vote_follows_most_epochs(drowsiness, n_right, n_wrong, vote_right):
    clf, epochs = drowsiness
    epochs = epochs["drowsy"]
    right_epochs = clf.predict(epochs) == epochs.events[:, 2]
    assert 0 < right_epochs.mean() < 1  # both kinds exist to build groups
    groups, n_groups = _groups_with_majority(
        np.flatnonzero(right_epochs), np.flatnonzero(~right_epochs), n_right, n_wrong
    )
    in_group = groups >= 0
    table = group_predictions(
        clf, epochs[in_group], groups[in_group], vote="majority", verbose=False
    )
    assert len(table) == n_groups
    assert (table["n_epochs"] == n_right + n_wrong).all()
    assert table["correct"].eq(vote_right).all()
    np.testing.assert_allclose(table["epoch_accuracy"], n_right / (n_right + n_wrong))
    # The scorer's accuracy is that of the groups' votes, not of their epochs.
    grouped = epochs[in_group]
    grouped.metadata = grouped.metadata.assign(group=groups[in_group])
    scorer = make_group_scorer("group", vote="majority")
    assert scorer(clf, grouped) == float(vote_right)


class _FixedProbabilities(ClassifierMixin, BaseEstimator):
    """A classifier of classes 0 and 1 whose probabilities are set: ``proba[i]``
    for an epoch (array or Epochs) whose samples all equal i. It predicts class
    1 where its probability reaches ``threshold``."""

    def __init__(self, proba=None, threshold=0.5):
        self.proba = proba
        self.threshold = threshold

    def fit(self, X=None, y=None):
        self.proba_ = np.asarray(self.proba, float)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        X = X.get_data() if isinstance(X, mne.BaseEpochs) else np.asarray(X)
        return self.proba_[X[:, 0, 0].astype(int)]

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= self.threshold) * 1]


def _epochs_numbered(n_epochs, groups=None):
    """Arrays whose epoch i holds the value i everywhere (see _FixedProbabilities),
    or Epochs of them with the metadata column ``group``."""
    X = np.broadcast_to(
        np.arange(float(n_epochs))[:, None, None], (n_epochs, N_CHANNELS, N_TIMES)
    )
    if groups is None:
        return X
    return mne.EpochsArray(
        X.copy(),
        mne.create_info(N_CHANNELS, SFREQ, "eeg"),
        np.column_stack(
            [np.arange(n_epochs), np.zeros(n_epochs, int), np.ones(n_epochs, int)]
        ),
        event_id={"one": 1},
        metadata=pd.DataFrame({"group": groups}),
        verbose=False,
    )


def test_majority_vote_ties_are_broken_by_the_mean_probability():
    """As documented. Ties went to the first class, common in groups of an
    even size (two sessions, ten epochs)."""
    # Group 0: one vote for class 0 (barely), one for class 1 (surely): a tie
    # won by class 1 on mean probability (0.325, 0.675). Group 1: its mirror.
    proba = [[0.55, 0.45], [0.1, 0.9], [0.45, 0.55], [0.9, 0.1]]
    table = group_predictions(
        _FixedProbabilities(proba).fit(),
        _epochs_numbered(4),
        [0, 0, 1, 1],
        y=[1, 1, 0, 0],
        vote="majority",
        verbose=False,
    )
    np.testing.assert_array_equal(table.filter(like="votes_"), 0.5)
    assert table["predicted"].tolist() == [1, 0]
    assert table["correct"].tolist() == [True, True]


def test_soft_vote_is_the_class_of_highest_mean_probability():
    """Two epochs barely of class 0 (0.6) outvote one surely of class 1 (0.85),
    two to one; averaged, the probabilities favour class 1 (0.55 against
    0.45). The mean-probability vote and its scorer follow the means, the
    majority vote and its scorer the count."""
    classifier = _FixedProbabilities([[0.6, 0.4], [0.6, 0.4], [0.15, 0.85]]).fit()
    epochs = _epochs_numbered(3, groups=[7] * 3)
    table, score = {}, {}
    for vote in ("mean_proba", "majority"):
        table[vote] = group_predictions(
            classifier, epochs, "group", y=[1] * 3, vote=vote, verbose=False
        )
        score[vote] = make_group_scorer("group", vote=vote)(classifier, epochs, [1] * 3)
    means = table["mean_proba"].filter(like="proba_").to_numpy()
    np.testing.assert_allclose(means, [[0.45, 0.55]])
    votes = table["mean_proba"].filter(like="votes_").to_numpy()
    np.testing.assert_allclose(votes, [[2 / 3, 1 / 3]])
    assert table["mean_proba"]["predicted"].tolist() == [1]
    assert table["majority"]["predicted"].tolist() == [0]
    assert score == {"mean_proba": 1.0, "majority": 0.0}


@pytest.mark.parametrize("proba, threshold", [([0.6, 0.4], 0.3), ([1.0, 0.0], 0.0)])
def test_votes_count_the_estimators_predictions_not_its_largest_probability(
    proba, threshold
):
    """As documented: a classifier predicting class 1 from a probability of 0.3
    votes for class 1 with probabilities (0.6, 0.4), and its epochs are right
    or wrong as it predicts them. Also with a probability of 0: the majority
    vote is the class predicted most, whatever its mean probability."""
    classifier = _FixedProbabilities([proba] * 2, threshold=threshold).fit()
    table = group_predictions(
        classifier,
        _epochs_numbered(2),
        [0, 0],
        y=[1, 1],
        vote="majority",
        verbose=False,
    )
    np.testing.assert_allclose(table.filter(like="votes_").to_numpy(), [[0.0, 1.0]])
    assert table["predicted"].tolist() == [1]
    assert table["epoch_accuracy"].tolist() == [1.0]


def test_groups_of_another_shape_and_labels_outside_the_classes_are_refused():
    """Groups are one value per epoch, not a column of them; labels that
    predict returns outside classes_ cannot be counted as votes: both are
    refused with what is wrong, not read as something else or a KeyError."""
    classifier = _FixedProbabilities([[0.6, 0.4]] * 2).fit()
    X = _epochs_numbered(2)
    with pytest.raises(
        ValueError, match=r"one value per epoch \(2\), got shape \(2, 1\)"
    ):
        group_predictions(classifier, X, [[0], [0]], y=[1, 1], verbose=False)
    classifier.predict = lambda X: np.array([0, 5])
    with pytest.raises(ValueError, match=r"returns labels \['5'\] that are not among"):
        group_predictions(classifier, X, [0, 0], y=[1, 1], verbose=False)


def test_mean_probability_vote(drowsiness):
    clf, epochs = drowsiness
    epochs = epochs.copy()
    epochs.metadata = epochs.metadata.assign(session="one")
    proba = clf.predict_proba(epochs)
    # One epoch per group: the vote is the epoch's own prediction.
    single = group_predictions(clf, epochs, np.arange(len(epochs)), verbose=False)
    np.testing.assert_array_equal(single["predicted"], clf.predict(epochs))
    # The whole subject as one group of both classes: a vote but no single truth.
    table = group_predictions(clf, epochs, "subject", verbose=False)
    assert table.index.name == "subject"
    # float32 probabilities, averaged in float64 by the vote.
    np.testing.assert_allclose(
        table.filter(like="proba_").to_numpy()[0], proba.mean(axis=0), rtol=1e-5
    )
    assert table["true"].isna().all() and table["correct"].isna().all()
    np.testing.assert_allclose(table["epoch_accuracy"], clf.score(epochs))
    with pytest.raises(ValueError, match="several classes"):
        make_group_scorer("session")(clf, epochs)
    with pytest.raises(ValueError, match="no column 'run'"):
        group_predictions(clf, epochs, "run", verbose=False)
    with pytest.raises(ValueError, match="one value per epoch"):
        group_predictions(clf, epochs, [0, 1], verbose=False)
    with pytest.raises(ValueError, match=r"y must hold one label per epoch \(\d+\)"):
        group_predictions(clf, epochs, "subject", y=[0, 1], verbose=False)


def test_labels_as_event_names_and_epochs_without_a_group(drowsiness):
    """Names for a network trained on event codes scored 0 (no label matched a
    class); epochs of no group were left out of every group without a word."""
    clf, epochs = drowsiness
    epochs = epochs.copy()
    # Blocks of one class each, three per class.
    block = 10 * epochs.events[:, 2] + np.arange(len(epochs)) % 3
    epochs.metadata = epochs.metadata.assign(block=block)
    names = {code: name for name, code in epochs.event_id.items()}
    as_names = [names[code] for code in epochs.events[:, 2]]
    by_codes = group_predictions(clf, epochs, "block", verbose=False)
    by_names = group_predictions(clf, epochs, "block", y=as_names, verbose=False)
    pd.testing.assert_frame_equal(by_names, by_codes)
    scorer = make_group_scorer("block")
    assert scorer(clf, epochs, as_names) == scorer(clf, epochs)
    assert by_codes["correct"].mean() > 0  # names matching no class scored 0
    with pytest.raises(ValueError, match=r"labels \['asleep'\] that are neither"):
        group_predictions(clf, epochs, "block", y=["asleep"] * len(epochs))
    groups = epochs.metadata["block"].to_numpy().astype(object)
    groups[:3] = None
    with pytest.raises(ValueError, match="3 of .* epochs have no group"):
        group_predictions(clf, epochs, groups, verbose=False)


@pytest.mark.filterwarnings("ignore:After training")
def test_labels_as_event_codes_for_a_network_trained_on_names(synthetic_arrays):
    """The reverse of names for a network trained on codes: the event codes of
    the epochs name the classes of a network trained on their event names."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y)
    names = np.array(["a", "b"])[y]
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    clf.fit(epochs, names)
    groups = np.arange(len(y)) // 5  # eight groups of one class each
    by_names = group_predictions(clf, epochs, groups, y=names, verbose=False)
    by_codes = group_predictions(clf, epochs, groups, y=y + 1, verbose=False)
    pd.testing.assert_frame_equal(by_codes, by_names)
    assert by_codes["true"].tolist() == ["a"] * 4 + ["b"] * 4


def test_group_scorer_in_cross_validation(drowsiness_path):
    epochs = load_drowsiness(drowsiness_path, subjects=[2, 7], verbose=False)
    metadata = epochs.metadata
    # Episodes of one state: each subject's alert and drowsy epochs in blocks of 10.
    block = metadata.groupby("subject").cumcount() // 10
    metadata["episode"] = (
        metadata["subject"].astype(str)
        + "-"
        + pd.Series(epochs.events[:, 2]).astype(str)
        + "-"
        + block.astype(str)
    )
    epochs.metadata = metadata
    clf = InterpretableCNNClassifier(max_epochs=1, random_state=0, verbose=False)
    scorer = make_group_scorer("episode", vote="majority")
    scores = cross_val_score(
        clf, epochs, cv=LeaveOneGroupOut(), groups=metadata["subject"], scoring=scorer
    )
    assert scores.shape == (2,)
    # scikit-learn hands the scorer a list of one-epoch Epochs; the score must
    # be that of the same epochs as one Epochs object.
    subject = metadata["subject"].to_numpy()
    clf.fit(epochs[subject == 2])
    test = np.flatnonzero(subject == 7)
    as_list = scorer(clf, [epochs[i] for i in test], epochs.events[test, 2])
    assert as_list == scorer(clf, epochs[test])
    table = group_predictions(
        clf, epochs[test], "episode", vote="majority", verbose=False
    )
    assert as_list == table["correct"].mean()
    assert scores[1] == pytest.approx(as_list)


def test_spectra_of_arrays_say_their_rate_is_assumed(synthetic_arrays):
    """Spectra of arrays were computed at an assumed 128 Hz without a word."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False).fit(X, y)
    with pytest.warns(RuntimeWarning, match="taken as 128 Hz"):
        best_samples(clf, X, k=2, among="all", verbose=False)


def test_maximized_input_of_a_cropped_classifier_has_the_training_times():
    """A CroppedClassifier's input started at 0 s, whatever its epochs' tmin."""
    rng = np.random.default_rng(0)
    events = np.column_stack([np.arange(20), np.zeros(20, int), np.repeat([1, 2], 10)])
    epochs = mne.EpochsArray(
        rng.standard_normal((20, N_CHANNELS, N_TIMES)) * 1e-5,
        mne.create_info(N_CHANNELS, SFREQ, "eeg"),
        events,
        tmin=-0.25,
        event_id={"a": 1, "b": 2},
        verbose=False,
    )
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=0.5,
    ).fit(epochs)
    result = maximize_activation(
        cropped, "b", n_restarts=1, n_steps=2, random_state=0, verbose=False
    )
    np.testing.assert_allclose(result.evoked.times, epochs.times)
    np.testing.assert_allclose(result.restarts.times, epochs.times)


def test_best_samples_without_event_labels_or_with_one_class(synthetic_arrays):
    """Trained on labels other than the events, best_samples advised a target
    parameter it does not take; with one class given it advised k below 0."""
    X, y = synthetic_arrays
    events = np.column_stack([np.arange(len(X)), np.zeros(len(X), int), y + 1])
    epochs = mne.EpochsArray(
        X * 1e-5,
        mne.create_info(X.shape[1], 128.0, "eeg"),
        events,
        event_id={"a": 1, "b": 2},
        verbose=False,
    )
    on_labels = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    on_labels.fit(epochs, y=y)
    assert not on_labels.events_are_labels_
    with pytest.raises(ValueError, match='not the events.*Pass among="all"') as error:
        best_samples(on_labels, epochs, k=2, verbose=False)
    assert "target" not in str(error.value)
    # Fitted on arrays, it was told of target="true" and to give the classes.
    on_arrays = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    on_arrays.fit(X * 1e-5, y + 1)
    with pytest.raises(ValueError, match='not fitted on Epochs.*Pass among="all"'):
        best_samples(on_arrays, epochs, k=2, verbose=False)
    with pytest.raises(ValueError) as error:
        best_samples(on_arrays, epochs, k=2, verbose=False)
    assert "target" not in str(error.value)
    result = best_samples(on_labels, epochs, k=2, among="all", verbose=False)
    assert list(result.indices) == [0, 1]
    on_events = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    on_events.fit(epochs)
    with pytest.raises(ValueError, match="'b' has 0 candidate.*among=\"all\"") as error:
        best_samples(on_events, epochs["a"], k=2, verbose=False)
    assert "below" not in str(error.value)
    # Ranked among all, the epochs of one class rank within it.
    result = best_samples(on_events, epochs["a"], k=2, among="all", verbose=False)
    assert len(result.indices["b"]) == 2
    with pytest.raises(ValueError, match="1 candidate epoch.*at least two epochs"):
        best_samples(on_events, epochs[:1], k=1, among="all", verbose=False)


def test_best_samples_of_a_network_told_its_events_rank_each_class_within_it(
    synthetic_arrays,
):
    """A skorch network fitted elsewhere and told its events (event_id) keeps no
    record of whether its labels are the events: they are, as for estimators
    saved before that record, so the classes are named and ranked from the
    events."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y)
    network = as_network(
        _linear_skorch_classifier(X, y), info=epochs.info, event_id={"a": 0, "b": 1}
    )
    result = best_samples(network, epochs, k=3, verbose=False)
    assert list(result.indices) == ["a", "b"]
    for label, name in enumerate(result.indices):
        candidates = np.flatnonzero(y == label)
        np.testing.assert_array_equal(result.candidates[name], candidates)
        best_first = candidates[np.argsort(-result.scores[candidates, label])]
        np.testing.assert_array_equal(result.indices[name], best_first[:3])


class SingleScore(torch.nn.Module):
    """One score per epoch, as skorch's NeuralNetBinaryClassifier trains."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.linear(x.pow(2).mean(dim=-1))[:, 0]


def test_best_samples_of_a_binary_classifier_are_scored_by_its_log_odds(
    synthetic_arrays,
):
    """Read as the logits (-s, s) of two classes, the scores were 2 s, s
    measured from the decision threshold."""
    X, y = synthetic_arrays
    net = NeuralNetBinaryClassifier(
        SingleScore, max_epochs=1, train_split=None, threshold=0.7, verbose=0
    ).fit(X, y.astype(np.float32))
    network = as_network(net, info=mne.create_info(X.shape[1], 128.0, "eeg"))
    result = best_samples(network, X, k=2, among="all", verbose=False)
    with torch.no_grad():
        score = net.module_(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(
        result.scores, np.column_stack([-score, score]), rtol=1e-5, atol=1e-6
    )
    proba = net.predict_proba(X)
    np.testing.assert_allclose(
        result.scores[:, 1], np.log(proba[:, 1] / proba[:, 0]), atol=1e-4
    )
    # Over a CroppedClassifier's windows: the log-odds of its probabilities,
    # the mean of its windows', as it predicts.
    cropped = CroppedClassifier(
        NeuralNetBinaryClassifier(SingleScore, max_epochs=1, train_split=None),
        window_length=0.25,
        sfreq=128.0,
    ).fit(X, y.astype(np.float32))
    proba = cropped.predict_proba(X).astype(np.float64)
    np.testing.assert_allclose(
        best_samples(cropped, X, k=2, among="all", verbose=False).scores,
        np.log(proba / (1 - proba)),
        rtol=1e-5,
        atol=1e-6,  # predict_proba's float32
    )


class _SoftmaxNet(torch.nn.Module):
    """A network ending in a softmax, as skorch's default NLLLoss expects."""

    def __init__(self, n_channels=4, n_classes=3):
        super().__init__()
        self.dense = torch.nn.Linear(n_channels, n_classes)

    def forward(self, x):
        return self.dense(x.square().mean(-1)).softmax(dim=-1)


def test_best_samples_of_a_network_ending_in_a_softmax_are_its_log_odds(
    synthetic_arrays,
):
    """Its probabilities were read as logits (softmax'd again): scores 4.5 off
    the log-odds, and with three classes an epoch of p = 0.51 ranked below one
    of p = 0.50."""
    X, _ = synthetic_arrays
    y = np.arange(len(X)) % 3
    torch.manual_seed(0)  # skorch's initialization; probabilities away from 0, 1
    net = NeuralNetClassifier(
        _SoftmaxNet, max_epochs=1, lr=0.1, train_split=None, verbose=0
    ).fit(X, y)
    network = as_network(net, info=mne.create_info(X.shape[1], 128.0, "eeg"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read as probabilities, nothing to warn of
        result = best_samples(network, X, k=2, among="all", verbose=False)
    proba = net.predict_proba(X).astype(np.float64)
    np.testing.assert_allclose(
        result.scores, np.log(proba / (1 - proba)), rtol=1e-4, atol=1e-5
    )


def test_a_restart_starts_from_the_same_noise_whatever_their_number():
    """torch fills a tensor in blocks of 16 values: drawn together, the last
    values of restart 0 changed with n_restarts (its input 4.8 percent apart
    after 20 steps), though the docstring says a restart starts alike."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3, 65)).astype(np.float32)  # 195 values each
    network = EEGNetClassifier(
        info=mne.create_info(3, 128.0, "eeg"), max_epochs=1, verbose=False
    ).fit(X, np.repeat([0, 1], 8))

    def starts(n_restarts):
        return maximize_activation(
            network,
            0,
            n_restarts=n_restarts,
            n_steps=1,
            lr=1e-9,  # the starting noise, barely moved
            random_state=0,
            verbose=False,
        ).restarts.get_data()

    three = starts(3)
    np.testing.assert_array_equal(starts(1)[0], three[0])
    # Each restart from noise of its own: restarts starting alike end alike.
    assert not np.allclose(three[0], three[1])
    assert not np.allclose(three[1], three[2])


def _estimator_reading_eog(eog_scale=1e-5):
    """Epochs of an EOG channel (noise of ``eog_scale``) then three EEG
    channels (of 1e-5), and a linear estimator trained on both types."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((20, N_CHANNELS, N_TIMES)) * 1e-5
    data[:, 0] *= eog_scale / 1e-5
    info = mne.create_info(["EOG", "C3", "Cz", "C4"], SFREQ, ["eog"] + ["eeg"] * 3)
    events = np.column_stack([np.arange(20), np.zeros(20, int), np.repeat([1, 2], 10)])
    epochs = mne.EpochsArray(
        data, info, events, event_id={"a": 1, "b": 2}, verbose=False
    )
    clf = EEGNetClassifier(
        module=LinearLogits, picks=["eeg", "eog"], max_epochs=1, verbose=False
    ).fit(epochs)
    return clf, epochs


def test_the_starting_noise_of_each_channel_type_has_its_amplitude():
    """Of channels of several types, each type's starting noise has that
    type's training amplitude (data_std_ per channel): EOG 100 times EEG."""
    clf, _ = _estimator_reading_eog(eog_scale=1e-3)
    noise = maximize_activation(
        clf, "a", n_restarts=20, n_steps=1, lr=1e-9, random_state=0, verbose=False
    ).restarts
    for channel_type, scale in (("eog", 1e-3), ("eeg", 1e-5)):
        std = noise.get_data(picks=channel_type).std()
        assert std == pytest.approx(scale, rel=0.1), channel_type


def test_spectra_of_a_network_reading_eog_name_their_rows():
    """An MNE spectrum holds data channels only: with EOG read first, the
    spectra named it while their rows shifted by one (C3 held Cz's values)."""
    clf, epochs = _estimator_reading_eog()
    maximized = maximize_activation(
        clf, "a", n_restarts=2, n_steps=2, random_state=0, verbose=False
    )
    restarts = maximized.restarts.compute_psd(method="welch", picks="all")
    assert maximized.spectrum.ch_names == ["C3", "Cz", "C4"]
    np.testing.assert_allclose(
        maximized.spectrum.get_data(picks=["C3", "Cz", "C4"]),
        restarts.get_data(picks="all").mean(axis=0)[1:],
    )
    psd = epochs.compute_psd(method="welch", picks="all", verbose=False)
    result = best_samples(clf, epochs, k=3, among="all")
    log_power = 10 * np.log10(psd.get_data(picks="all"))
    top = result.indices["a"]
    rest = np.setdiff1d(np.arange(20), top)
    difference = log_power[top].mean(axis=0) - log_power[rest].mean(axis=0)
    np.testing.assert_allclose(
        result.spectra["a"].get_data(picks=["C3", "Cz", "C4"]), difference[1:]
    )


def test_votes_of_a_pipeline_trained_on_other_labels_are_refused_without_y():
    """The record of what the labels are was read on the Pipeline, which has
    none: the events were taken for the classes (accuracy 0.0 for 1.0). The
    refusal reads it on the network, saying why (not that the Pipeline keeps
    no record of the events)."""
    rng = np.random.default_rng(0)
    codes = np.repeat([1, 2], 10)
    epochs = mne.EpochsArray(
        rng.standard_normal((20, N_CHANNELS, N_TIMES)) * 1e-5,
        mne.create_info(N_CHANNELS, SFREQ, "eeg"),
        np.column_stack([np.arange(20), np.zeros(20, int), codes]),
        verbose=False,
    )
    pipeline = make_pipeline(EEGNetClassifier(max_epochs=1, verbose=False))
    pipeline.fit(epochs, 3 - codes)
    groups = np.arange(20) % 4
    with pytest.raises(
        ValueError, match="trained on labels y that are not the events of its"
    ):
        group_predictions(pipeline, epochs, groups, verbose=False)
    table = group_predictions(pipeline, epochs, groups, y=3 - codes, verbose=False)
    predicted = pipeline.predict(epochs)
    expected = [
        np.mean(predicted[groups == g] == (3 - codes)[groups == g]) for g in range(4)
    ]
    np.testing.assert_allclose(table["epoch_accuracy"], expected)


def _epochs_and_linear_network():
    """Twenty named noise epochs of four channels, and a linear network on them."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((20, N_CHANNELS, N_TIMES)) * 1e-5
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], SFREQ, "eeg")
    events = np.column_stack([np.arange(20), np.zeros(20, int), np.repeat([1, 2], 10)])
    epochs = mne.EpochsArray(
        data, info, events, event_id={"a": 1, "b": 2}, verbose=False
    )
    clf = EEGNetClassifier(module=LinearLogits, max_epochs=1, verbose=False).fit(epochs)
    return epochs, clf


def test_best_samples_rank_copies_of_an_epoch_by_their_index():
    """Epochs of equal scores (here copies of four epochs, five each) rank by
    their index, the earlier first, whatever numpy's sort: an unstable sort
    ranked the copies in an order of its own."""
    epochs, clf = _epochs_and_linear_network()
    copies = mne.EpochsArray(
        np.tile(epochs.get_data()[:4], (5, 1, 1)), epochs.info, verbose=False
    )
    result = best_samples(clf, copies, k=7, among="all", verbose=False)
    for index, top in enumerate(result.indices.values()):
        by_score_then_index = np.lexsort((np.arange(20), -result.scores[:, index]))
        np.testing.assert_array_equal(top, by_score_then_index[:7])


def test_spectra_of_best_samples_keep_the_channel_order_of_the_epochs():
    """Epochs holding the network's channels in another order got spectra in
    the network's order beside top epochs in theirs, as explain's maps no
    longer are."""
    epochs, clf = _epochs_and_linear_network()
    order = ["Cz", "C4", "Pz", "C3"]  # a cycle, not its own inverse
    expected = best_samples(clf, epochs, k=3, among="all", verbose=False)
    result = best_samples(
        clf, epochs.copy().reorder_channels(order), k=3, among="all", verbose=False
    )
    for name, spectrum in result.spectra.items():
        assert spectrum.ch_names == result.epochs[name].ch_names == order
        np.testing.assert_allclose(
            spectrum.get_data(), expected.spectra[name].get_data(picks=order)
        )


def test_spectra_of_best_samples_hold_the_channels_marked_bad():
    """MNE's Spectrum.get_data leaves bad channels out by default: the spectra
    of epochs with a channel marked bad, which the network still reads, lost
    that row while keeping its name (and its neighbours' rows shifted)."""
    epochs, clf = _epochs_and_linear_network()
    epochs.info["bads"] = ["Cz"]
    result = best_samples(clf, epochs, k=3, among="all", verbose=False)
    psd = epochs.compute_psd(method="welch", picks="all", verbose=False)
    log_power = 10 * np.log10(psd.get_data(exclude=()))
    top = result.indices["a"]
    rest = np.setdiff1d(np.arange(20), top)
    assert result.spectra["a"].ch_names == ["C3", "Cz", "C4", "Pz"]
    np.testing.assert_allclose(
        result.spectra["a"].get_data(exclude=()),
        log_power[top].mean(axis=0) - log_power[rest].mean(axis=0),
    )


def test_best_samples_leave_epochs_holding_a_projector_unchanged():
    """Of preloaded Epochs holding an average reference added with
    projection=True, not applied, best_samples applied it to their data in
    place (MNE's EpochsArray projects by default, and its batches were views
    of the data): the mean over channels fell from 1e-4 V to 1e-20 V in every
    epoch, predict_proba of the same Epochs afterwards moved by up to 0.014,
    and the spectra were of re-referenced data the network does not read."""
    rng = np.random.default_rng(0)
    times = np.arange(N_TIMES) / SFREQ
    # A 10 Hz rhythm common to every channel, which the reference would remove.
    common = rng.uniform(1, 3, (20, 1, 1)) * np.sin(2 * np.pi * 10 * times)
    data = (rng.standard_normal((20, N_CHANNELS, N_TIMES)) + common) * 1e-5
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], SFREQ, "eeg")
    events = np.column_stack([np.arange(20), np.zeros(20, int), np.repeat([1, 2], 10)])
    epochs = mne.EpochsArray(
        data, info, events, event_id={"a": 1, "b": 2}, proj=False, verbose=False
    )
    epochs.set_eeg_reference("average", projection=True, verbose=False)
    assert not epochs.info["projs"][0]["active"]
    clf = EEGNetClassifier(module=LinearLogits, max_epochs=1, verbose=False).fit(epochs)
    before, proba = epochs.get_data(), clf.predict_proba(epochs)
    result = best_samples(clf, epochs, k=3, among="all", verbose=False)
    np.testing.assert_array_equal(epochs.get_data(), before)
    assert not epochs.info["projs"][0]["active"]
    np.testing.assert_array_equal(clf.predict_proba(epochs), proba)
    # The spectra are of the data as the network reads them, unprojected.
    log_power = 10 * np.log10(
        epochs.compute_psd(method="welch", proj=False, verbose=False).get_data()
    )
    top = result.indices["a"]
    rest = np.setdiff1d(np.arange(20), top)
    np.testing.assert_allclose(
        result.spectra["a"].get_data(),
        log_power[top].mean(axis=0) - log_power[rest].mean(axis=0),
    )


def test_maximize_leaves_the_samples_no_window_reads_at_zero():
    """Windows leaving gaps: the logit does not depend on the samples between
    them, which the penalties alone shaped (13% of the power after 20 steps), where
    explain's maps are 0."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 4, 128)).astype(np.float32)
    y = np.repeat([0, 1], 10)
    X[y == 1, 0] *= 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gaps; the classes unpredicted
        cropped = CroppedClassifier(
            EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
            window_length=0.25,
            window_step=0.375,
            sfreq=128.0,
        ).fit(X, y)
    read = np.ones(128, bool)
    read[32:48] = read[80:96] = False
    result = maximize_activation(cropped, 1, n_steps=5, random_state=0, verbose=False)
    restarts = result.restarts.get_data()
    assert (restarts[..., ~read] == 0).all()
    assert (result.evoked.data[:, ~read] == 0).all()
    assert (restarts[..., read] != 0).all()
    # The network reads the inputs returned: their logits are those reported.
    module = as_network(cropped).module_.eval()
    with torch.no_grad():
        logits = module(torch.as_tensor(restarts, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(logits, result.logits, rtol=1e-4, atol=1e-5)
