"""Sanity checks (Adebayo et al. 2018): maps must change with the model and target."""

import copy
import warnings
from functools import partial

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import pearsonr, spearmanr  # noqa: E402
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from skorch import NeuralNetClassifier
from skorch.exceptions import NotInitializedError  # noqa: E402
from torch import nn  # noqa: E402
from user_networks import CombinedConv  # noqa: E402

from mne_xai import CroppedClassifier, EEGNetClassifier, as_network, explain  # noqa: E402
from mne_xai.attribution import AttributionMethod, register_method  # noqa: E402
from mne_xai.attribution._registry import _METHODS  # noqa: E402
from mne_xai.evaluate import (  # noqa: E402
    SanityCheckResult,
    data_randomization_check,
    deletion_test,
    map_similarity,
    parameter_randomization_check,
    plot_sanity_check,
    structural_similarity,
    target_randomization_check,
)
from mne_xai.evaluate.sanity import SIMILARITY_METRICS  # noqa: E402
from mne_xai.evaluate.sanity._parameter_randomization import (
    _randomization_units,
    _randomized_estimators,
)
from mne_xai.models import ScaledInput  # noqa: E402
from mne_xai.simulation import simulate_epochs  # noqa: E402

# A few epochs keep every check to a second or two on one core.
N_EPOCHS = 6
EEGNET_LAYERS_TOP_DOWN = [
    "classifier",
    "separable_bn",
    "separable_pointwise",
    "separable_depthwise",
    "spatial_bn",
    "spatial_conv",
    "temporal_bn",
    "temporal_conv",
]


class TimeEdges(AttributionMethod):
    """An edge detector on the input: its maps ignore the model and the target."""

    name = "test_time_edges"

    def attribute(self, inputs, target):  # noqa: D102
        return torch.gradient(inputs, dim=2)[0]


@pytest.fixture
def edge_detector():
    """Register the edge detector for one test, then remove it from the registry."""
    register_method(TimeEdges)
    yield TimeEdges.name
    del _METHODS[TimeEdges.name]


class ChannelReader(nn.Module):
    """Logit k is the mean of channel k over time: the answer for class k lies
    on channel k only."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.input_scale = input_scale
        self.readout = nn.Conv1d(n_channels, n_classes, n_times, bias=False)
        with torch.no_grad():
            self.readout.weight.zero_()
            for k in range(n_classes):
                self.readout.weight[k, k] = 1 / n_times

    def forward(self, x):  # noqa: D102
        return self.readout(x * self.input_scale)[..., 0]


class Unresettable(nn.Module):
    """A layer with a parameter but no reset_parameters()."""

    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x):  # noqa: D102
        return x * self.gain


class ReaderWithGain(ChannelReader):
    def __init__(self, **shape):
        super().__init__(**shape)
        self.gain = Unresettable()

    def forward(self, x):  # noqa: D102
        return super().forward(self.gain(x))


@pytest.fixture(scope="module")
def channel_data():
    """Three channels, three classes; each epoch's class is its strongest channel."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3, 40)).astype(np.float32)
    y = np.arange(12) % 3
    X[np.arange(12), y] += 2.0
    return X, y


def _reader(X, y, module=ChannelReader):
    """An estimator around a fixed network (no training: max_epochs=0)."""
    return EEGNetClassifier(
        module=module, max_epochs=0, lr_schedule=None, random_state=0, verbose=False
    ).fit(X, y)


@pytest.fixture(scope="module")
def channel_reader(channel_data):
    return _reader(*channel_data)


@pytest.fixture
def few_epochs(imagery_epochs):
    return imagery_epochs[:N_EPOCHS]


def _snapshot(estimator):
    """Parameters, buffers and mode of the estimator's network."""
    module = estimator.module_
    return copy.deepcopy(module.state_dict()), module.training


def _assert_unchanged(estimator, snapshot):
    state, training = snapshot
    assert estimator.module_.training == training
    for name, value in estimator.module_.state_dict().items():
        torch.testing.assert_close(value, state[name], rtol=0, atol=0, msg=name)


# -- similarity measures ----------------------------------------------------------
@pytest.mark.parametrize("metric", SIMILARITY_METRICS)
def test_a_map_is_similar_to_itself(metric):
    maps = np.random.default_rng(0).standard_normal((5, 4, 30))
    np.testing.assert_allclose(map_similarity(maps, maps, metric=metric), 1)
    # Units do not matter: a map and the same map in microvolts are alike.
    np.testing.assert_allclose(map_similarity(maps, 1e6 * maps, metric=metric), 1)


def test_correlations_match_scipy_epoch_by_epoch():
    rng = np.random.default_rng(1)
    maps, other = rng.standard_normal((2, 4, 3, 20))
    other += maps  # related, so the correlations are far from 0
    expected = {
        "spearman_abs": [
            spearmanr(np.abs(a).ravel(), np.abs(b).ravel())[0]
            for a, b in zip(maps, other, strict=True)
        ],
        "spearman": [
            spearmanr(a.ravel(), b.ravel())[0] for a, b in zip(maps, other, strict=True)
        ],
        "pearson": [
            pearsonr(a.ravel(), b.ravel())[0] for a, b in zip(maps, other, strict=True)
        ],
    }
    for metric, values in expected.items():
        np.testing.assert_allclose(map_similarity(maps, other, metric=metric), values)


def test_ssim_against_hand_computed_values():
    # With a window far wider than the map, local statistics are the global
    # ones: means 0.5 and 0.5, variances 0.25 and 0.25, covariance 0, so
    # SSIM = (2*0.25 + C1)(0 + C2) / ((0.5 + C1)(0.5 + C2)) = C2 / (0.5 + C2).
    diagonal = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    top_row = np.array([[[1.0, 1.0], [0.0, 0.0]]])
    c2 = 0.03**2
    np.testing.assert_allclose(
        structural_similarity(diagonal, top_row, sigma=100), [c2 / (0.5 + c2)]
    )
    # A full map against an empty one: means 1 and 0, no variance, whatever the
    # window: SSIM = C1 / (1 + C1).
    c1 = 0.01**2
    np.testing.assert_allclose(
        structural_similarity(np.ones((1, 3, 8)), np.zeros((1, 3, 8))),
        [c1 / (1 + c1)],
    )
    # SSIM compares magnitudes: a sign flip changes nothing.
    np.testing.assert_allclose(structural_similarity(diagonal, -diagonal), [1.0])


def test_ssim_scales_each_epoch_by_its_own_peak():
    """Maps whose epochs differ in size are alike to the same maps with each epoch
    rescaled: scaled by the peak of all epochs, the small ones lost their contrast."""
    maps = np.random.default_rng(0).standard_normal((3, 4, 30))
    rescaled = maps * np.array([1.0, 10.0, 0.1])[:, None, None]
    np.testing.assert_allclose(structural_similarity(maps, rescaled), 1)


def test_ssim_of_an_epoch_does_not_depend_on_the_other_epochs():
    """The window slides over the channels and times of one epoch, never
    across epochs: each epoch's SSIM is that of its maps alone."""
    maps, other = np.random.default_rng(2).standard_normal((2, 3, 4, 30))
    together = structural_similarity(maps, other)
    alone = [
        structural_similarity(a[None], b[None])[0]
        for a, b in zip(maps, other, strict=True)
    ]
    np.testing.assert_allclose(together, alone)


def test_a_correlation_is_at_most_one_though_rounding_takes_it_past():
    """The correlation of a map with itself (or the same map in other units)
    came out 1 + 2e-16 for some maps: "at most 1" is what the verdict and its
    plot read."""
    maps = np.random.default_rng(0).standard_normal((20, 1, 111))
    for other in (maps, 1e6 * maps):
        for metric in ("pearson", "spearman", "spearman_abs"):
            assert (map_similarity(maps, other, metric=metric) <= 1).all()


def _ssim_of_wang_et_al(first, second):
    """SSIM of two channel x time maps as Wang et al. define it: an 11 x 11
    Gaussian window of standard deviation 1.5 normalized to unit sum, here
    with the borders reflected (half-sample symmetric), the local SSIM
    averaged over the map; each map first scaled to its peak magnitude."""
    radius, sigma, c1, c2 = 5, 1.5, 0.01**2, 0.03**2
    offsets = np.arange(-radius, radius + 1)
    window = np.exp(-(offsets[:, None] ** 2 + offsets**2) / (2 * sigma**2))
    window /= window.sum()

    def local_mean(image):
        padded = np.pad(image, radius, mode="symmetric")
        rows, columns = image.shape
        return sum(
            window[i, j] * padded[i : i + rows, j : j + columns]
            for i in range(2 * radius + 1)
            for j in range(2 * radius + 1)
        )

    a, b = (np.abs(image) / np.abs(image).max() for image in (first, second))
    mean_a, mean_b = local_mean(a), local_mean(b)
    variance_a = local_mean(a * a) - mean_a**2
    variance_b = local_mean(b * b) - mean_b**2
    covariance = local_mean(a * b) - mean_a * mean_b
    local = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (variance_a + variance_b + c2)
    )
    return local.mean()


def test_ssim_matches_wang_et_al_with_their_window():
    """SSIM with the default window is that of Wang et al. (11 x 11 samples,
    standard deviation 1.5), computed here by direct convolution, on maps
    whose means, variances and borders differ."""
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((3, 16, 40))
    other = 0.5 * maps + rng.standard_normal(maps.shape) ** 2
    expected = [_ssim_of_wang_et_al(a, b) for a, b in zip(maps, other, strict=True)]
    np.testing.assert_allclose(structural_similarity(maps, other), expected)
    np.testing.assert_allclose(map_similarity(maps, other, metric="ssim"), expected)


def test_constant_maps_give_nan_with_a_warning():
    maps = np.random.default_rng(0).standard_normal((2, 3, 10))
    empty = maps.copy()
    empty[1] = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        similarity = map_similarity(maps, empty, metric="pearson")
    assert np.isfinite(similarity[0]) and np.isnan(similarity[1])
    # That warning alone, not numpy's of a division by zero behind it.
    assert len(caught) == 1 and "constant map" in str(caught[0].message)


class ZeroMaps(AttributionMethod):
    """A method that finds nothing: every map is zero."""

    name = "test_zero_maps"

    def attribute(self, inputs, target):  # noqa: D102
        return torch.zeros_like(inputs)


@pytest.mark.parametrize("metric", ["spearman_abs", "ssim"])
def test_a_check_warns_of_nan_only_in_the_measure_of_its_verdict(
    channel_reader, channel_data, metric
):
    """Constant maps leave correlations undefined but not SSIM: a check
    judged on SSIM warned that its similarities were NaN."""
    register_method(ZeroMaps)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = target_randomization_check(
                channel_reader, channel_data[0], ZeroMaps.name, metric=metric
            )
    finally:
        del _METHODS[ZeroMaps.name]
    undefined = [w for w in caught if "constant map" in str(w.message)]
    assert len(undefined) == (metric != "ssim")
    assert np.isnan(result.similarity["spearman_abs"]).all()
    np.testing.assert_allclose(result.similarity["ssim"], 1.0)


# -- parameter randomization on a trained EEGNet -------------------------------------
@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_parameter_randomization_flags_an_edge_detector(
    fitted_eegnet, few_epochs, edge_detector, mode
):
    snapshot = _snapshot(fitted_eegnet)
    rng_state = torch.get_rng_state()
    edges = parameter_randomization_check(
        fitted_eegnet, few_epochs, edge_detector, mode=mode, verbose=False
    )
    saliency = parameter_randomization_check(
        fitted_eegnet, few_epochs, "saliency", mode=mode, random_state=0, verbose=False
    )
    # The edge detector never sees the network: identical maps, every step.
    assert edges.steps == saliency.steps == EEGNET_LAYERS_TOP_DOWN
    for metric in SIMILARITY_METRICS:
        np.testing.assert_allclose(edges.similarity[metric], 1)
    assert not edges.passes
    assert saliency.passes
    assert saliency.similarity["spearman_abs"].shape == (8, N_EPOCHS)
    _assert_unchanged(fitted_eegnet, snapshot)
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_fully_random_network_gives_unrelated_gradient_maps(fitted_eegnet, few_epochs):
    result = parameter_randomization_check(
        fitted_eegnet, few_epochs, "saliency", random_state=0, verbose=False
    )
    everything_random = result.mean.loc["temporal_conv"]
    assert everything_random.abs().max() < 0.15, everything_random
    # Re-initializing only the output layer already changes the maps, though
    # they keep what the trained features' gradients share (0.6 on EEGNet).
    assert result.mean.loc["classifier", "spearman_abs"] < 0.75
    table = result.to_frame()
    assert len(table) == len(SIMILARITY_METRICS) * 8 * N_EPOCHS
    assert "passes" in repr(result) and "cascading" in repr(result)


def test_maps_are_compared_with_the_input_magnitude(fitted_eegnet, few_epochs):
    result = parameter_randomization_check(
        fitted_eegnet, few_epochs, "gradient_x_input", random_state=0, verbose=False
    )
    assert result.input_similarity.shape == (1 + len(result.steps), N_EPOCHS)
    maps = explain(fitted_eegnet, few_epochs, "gradient_x_input", verbose=False)
    np.testing.assert_allclose(
        result.input_similarity[0],
        map_similarity(maps.get_data(), few_epochs.get_data()),
        rtol=1e-5,
    )
    # Gradient x input keeps |x| in its maps whatever the weights.
    assert np.mean(result.input_similarity[-1]) > 0.3


def test_the_input_magnitude_is_taken_in_each_channel_type_s_unit():
    """In raw SI units every EEG sample (1e-5 V) outranked every magnetometer
    sample (1e-13 T): on MEG+EEG the reading of gradient x input flipped."""
    rng = np.random.default_rng(0)
    types = ["eeg"] * 4 + ["mag"] * 4
    info = mne.create_info(len(types), 128.0, types)
    data = rng.standard_normal((24, len(types), 128))
    data *= np.where(np.array(types) == "eeg", 1e-5, 1e-13)[:, np.newaxis]
    y = np.repeat([0, 1], 12)
    data[y == 1, 4] *= 3
    events = np.c_[np.arange(len(y)), np.zeros(len(y), int), y + 1]
    epochs = mne.EpochsArray(data, info, events=events, verbose=False)
    estimator = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    estimator.fit(epochs)
    result = parameter_randomization_check(
        estimator,
        epochs[:N_EPOCHS],
        "gradient_x_input",
        mode="independent",
        random_state=0,
        verbose=False,
    )
    maps = explain(estimator, epochs[:N_EPOCHS], "gradient_x_input", verbose=False)
    in_units = epochs[:N_EPOCHS].get_data() / estimator.data_std_[:, np.newaxis]
    np.testing.assert_allclose(
        result.input_similarity[0],
        map_similarity(maps.get_data(), in_units),
        rtol=1e-5,
    )
    raw = map_similarity(maps.get_data(), epochs[:N_EPOCHS].get_data())
    assert np.abs(result.input_similarity[0] - raw).max() > 0.1


def test_a_network_without_training_statistics_ranks_x_per_type_too():
    """A skorch network records no data_std_: |x| was ranked in raw SI units. A
    type flat in an epoch (no deviation) stays zero there."""

    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(8 * 32, 2)

        def forward(self, x):
            # Each type to unit scale, as a network trained on them would.
            x = torch.cat([x[:, :4] * 1e5, x[:, 4:] * 1e13], dim=1)
            return self.dense(x.flatten(1))

    rng = np.random.default_rng(0)
    types = ["eeg"] * 4 + ["mag"] * 4
    info = mne.create_info(len(types), 128.0, types)
    data = rng.standard_normal((N_EPOCHS, len(types), 32))
    data *= np.where(np.array(types) == "eeg", 1e-5, 1e-13)[:, np.newaxis]
    data[0, 4:] = 0.0
    epochs = mne.EpochsArray(data, info, verbose=False)
    torch.manual_seed(0)
    net = NeuralNetClassifier(Linear, classes=[0, 1]).initialize()
    network = as_network(net, info=info)
    result = parameter_randomization_check(
        network, epochs, "gradient_x_input", target=0, random_state=0, verbose=False
    )
    maps = explain(network, epochs, "gradient_x_input", target=0, verbose=False)
    per_type = data.copy()
    for channels in (slice(0, 4), slice(4, 8)):  # EEG, then magnetometers
        deviation = data[:, channels].std(axis=(1, 2))
        per_type[:, channels] /= np.where(deviation > 0, deviation, 1)[:, None, None]
    np.testing.assert_allclose(
        result.input_similarity[0], map_similarity(maps.get_data(), per_type), rtol=1e-5
    )


def test_randomization_is_reproducible(fitted_eegnet, few_epochs):
    two_epochs = few_epochs[:2]
    first, again, other = (
        parameter_randomization_check(
            fitted_eegnet,
            two_epochs,
            "saliency",
            mode="independent",
            random_state=seed,
            verbose=False,
        )
        for seed in (0, 0, 1)
    )
    np.testing.assert_array_equal(
        first.similarity["pearson"], again.similarity["pearson"]
    )
    assert not np.allclose(first.similarity["pearson"], other.similarity["pearson"])


# -- target randomization on a network with a known answer ----------------------------
def test_target_randomization_separates_class_specific_methods(
    channel_reader, channel_data, edge_detector, capsys
):
    X, _ = channel_data
    snapshot = _snapshot(channel_reader)
    # gradient x input for class k is channel k of the input, zero elsewhere:
    # another class's map lies on another channel.
    specific = target_randomization_check(
        channel_reader, X, "gradient_x_input", random_state=0, verbose=False
    )
    insensitive = target_randomization_check(
        channel_reader, X, edge_detector, random_state=0, verbose=False
    )
    assert specific.steps == ["target"]
    assert (specific.similarity["spearman_abs"] < 0).all()
    assert specific.passes
    np.testing.assert_allclose(insensitive.similarity["spearman_abs"], 1)
    assert not insensitive.passes
    _assert_unchanged(channel_reader, snapshot)
    assert capsys.readouterr().err == ""  # no progress bar with verbose=False


def test_target_randomization_explains_another_class(channel_reader, channel_data):
    X, y = channel_data
    # Explaining the true class: its map is on channel y, the random other
    # class's map is not, so the two never share their largest sample.
    result = target_randomization_check(
        channel_reader, X, "saliency", target=int(y[0]), random_state=0, verbose=False
    )
    reference = explain(channel_reader, X, "saliency", target=int(y[0]), verbose=False)
    assert (reference.get_data()[:, y[0]] > 0).all()
    assert (result.similarity["pearson"] < 0).all()


def _explained_networks_and_targets(monkeypatch):
    """Record the network and targets of every map the checks explain, in order."""
    calls = []

    def spy(estimator, *args, target=None, **kwargs):
        calls.append((copy.deepcopy(estimator.module_.state_dict()), target))
        return explain(estimator, *args, target=target, **kwargs)

    monkeypatch.setattr("mne_xai.evaluate.sanity._compare.explain", spy)
    return calls


def test_target_randomization_explains_each_other_class_never_the_same(
    channel_reader, channel_data, monkeypatch
):
    """The original maps explain the predicted class; the randomized ones a
    class drawn among the others, each of them in turn, never the same."""
    X, _ = channel_data
    calls = _explained_networks_and_targets(monkeypatch)
    target_randomization_check(
        channel_reader, X, "saliency", random_state=0, verbose=False
    )
    (_, original), (_, randomized) = calls
    np.testing.assert_array_equal(original, channel_reader.predict(X))
    offsets = (randomized - original) % 3
    assert set(offsets) == {1, 2}


def test_maps_explained_inside_keep_a_stricter_log_level(channel_reader, channel_data):
    """The maps are explained inside with verbose=False, which lowered a user's
    "error" to WARNING: occlusion's warning that its window spans the epoch
    showed at verbose="error" and under mne.set_log_level("ERROR"), though
    the check's own warnings did not."""
    X, _ = channel_data
    spans = "occlusion's window of 40 samples spans the whole epoch"

    def warned(**kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            target_randomization_check(
                channel_reader, X[:4], "occlusion", mode="time", window=40, **kwargs
            )
        return [str(warning.message) for warning in caught if spans in str(warning)]

    assert warned(verbose=False)  # WARNING: the inner warning still shows
    assert not warned(verbose="error")
    with mne.use_log_level("error"):
        assert not warned()
        assert warned(verbose="warning")


def _foreign_reader_of_one_class(n_logits):
    """A skorch ChannelReader of one class (not an mne_xai estimator), told its channels."""
    net = NeuralNetClassifier(
        ChannelReader,
        module__n_channels=3,
        module__n_classes=n_logits,
        module__n_times=40,
        module__sfreq=40.0,
        module__input_scale=1.0,
        classes=["rest"],
    ).initialize()
    return as_network(net, info=mne.create_info(3, 40.0, "eeg"))


def test_target_randomization_refuses_a_network_of_one_class(channel_data):
    """A skorch network of one class failed with NumPy's "low >= high"."""
    X, _ = channel_data
    network = _foreign_reader_of_one_class(n_logits=1)
    with pytest.raises(ValueError, match=r"one class \(\['rest'\]\).*no other"):
        target_randomization_check(network, X, "saliency", verbose=False)


@pytest.mark.parametrize(
    "check", [parameter_randomization_check, data_randomization_check]
)
def test_checks_refuse_a_network_of_more_logits_than_classes(channel_data, check):
    """A skorch network of two logits and one class failed with an IndexError."""
    X, _ = channel_data
    network = _foreign_reader_of_one_class(n_logits=2)
    extra = (
        {}
        if check is parameter_randomization_check
        else dict(randomized_estimator=network)
    )
    with pytest.raises(
        ValueError, match="2 logit\\(s\\) per epoch for a classifier of 1"
    ):
        check(network, X, "saliency", verbose=False, **extra)


# -- data randomization ----------------------------------------------------------------
def test_data_randomization_trains_a_copy_on_shuffled_labels(synthetic_arrays):
    X, y = synthetic_arrays
    estimator = EEGNetClassifier(
        max_epochs=3, batch_size=20, random_state=0, verbose=False, module__F1=2
    ).fit(X, y)
    snapshot = _snapshot(estimator)
    params = estimator.get_params()
    results = [
        data_randomization_check(
            estimator,
            X[:6],
            "saliency",
            X_train=X,
            y_train=y,
            random_state=0,
            verbose=False,
        )
        for _ in range(2)
    ]
    first, again = (result.similarity["spearman_abs"] for result in results)
    assert results[0].steps == ["data"]
    assert results[0].metric == "spearman_abs"  # the default: magnitudes' ranks
    np.testing.assert_array_equal(first, again)
    assert (first < 1 - 1e-6).all()  # the network trained on other labels differs
    _assert_unchanged(estimator, snapshot)
    assert estimator.get_params().keys() == params.keys()
    assert estimator.max_epochs == 3 and estimator.verbose == 0
    # The trained clone can be reused: the same maps, no training.
    randomized = results[0].randomized_estimator
    assert randomized is not estimator and randomized.classes_.tolist() == [0, 1]
    reused = data_randomization_check(
        estimator,
        X[:6],
        "saliency",
        randomized_estimator=randomized,
        random_state=0,
        verbose=False,
    )
    assert reused.randomized_estimator is randomized
    np.testing.assert_array_equal(reused.similarity["spearman_abs"], first)
    with pytest.raises(TypeError, match="randomized_estimator"):
        data_randomization_check(
            estimator, X[:6], randomized_estimator=randomized.module_
        )


def _record_training_labels(monkeypatch):
    """Return the list to which every later fit appends the labels it trains on."""
    labels = []
    fit = EEGNetClassifier.fit

    def recording_fit(self, X, y=None, **kwargs):
        labels.append(np.asarray(y))
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(EEGNetClassifier, "fit", recording_fit)
    return labels


def test_data_randomization_trains_on_labels_permuted_by_random_state(
    channel_data, monkeypatch
):
    """The copy trains on a permutation of y_train, not y_train itself, drawn
    from random_state: the same seed the same labels, another seed others."""
    X, y = channel_data
    estimator = _reader(X, y)
    labels = _record_training_labels(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the copy trains for no epoch
        for seed in (0, 0, 1):
            data_randomization_check(
                estimator,
                X[:2],
                X_train=X,
                y_train=y,
                random_state=seed,
                verbose=False,
            )
    first, again, other = labels
    np.testing.assert_array_equal(np.sort(first), np.sort(y))
    assert not np.array_equal(first, y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_the_logged_accuracy_is_on_the_shuffled_labels(channel_data, monkeypatch):
    """The channel reader's copy predicts each epoch's own class, whatever labels
    it trains on: its accuracy is that of the shuffled labels against the true
    ones, not 1 as against y_train."""
    X, y = channel_data
    estimator = _reader(X, y)
    labels = _record_training_labels(monkeypatch)
    with mne.utils.catch_logging() as log, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the copy trains for no epoch
        data_randomization_check(
            estimator, X[:2], X_train=X, y_train=y, random_state=0, verbose=True
        )
    (shuffled,) = labels
    accuracy = np.mean(shuffled == y)
    assert accuracy < 1
    assert f"Accuracy on the shuffled training labels: {accuracy:.2f}." in (
        log.getvalue()
    )


def test_input_similarity_of_each_step_is_that_of_its_own_maps(channel_data):
    """Row 1 + k of input_similarity compares |x| with the maps of step k, not
    with the original maps again."""
    X, y = channel_data
    estimator = _reader(X, y)
    shifted = _reader(X, y)  # class k reads channel k + 1
    readout = shifted.module_.readout
    with torch.no_grad():
        readout.weight.copy_(readout.weight.roll(1, dims=1))
    kwargs = dict(method="gradient_x_input", target=0, verbose=False)
    result = data_randomization_check(
        estimator, X, randomized_estimator=shifted, **kwargs
    )
    in_units = X / np.reshape(estimator.data_std_, (-1, 1))
    for row, network in enumerate((estimator, shifted)):
        maps = explain(network, X, **kwargs).get_data()
        np.testing.assert_allclose(
            result.input_similarity[row], map_similarity(maps, in_units), rtol=1e-5
        )


@pytest.mark.parametrize("check", ["parameter", "target", "data"])
def test_each_warning_is_given_once(synthetic_arrays, check):
    """The warning that a network fitted on arrays is taken at 128 Hz came
    twice: once checking the arguments, once explaining the maps."""
    X, y = synthetic_arrays
    with pytest.warns(RuntimeWarning, match="128 Hz"):
        estimator = EEGNetClassifier(
            max_epochs=1, batch_size=20, random_state=0, verbose=False, module__F1=2
        ).fit(X, y)
    check = dict(
        parameter=parameter_randomization_check,
        target=target_randomization_check,
        # The network itself stands in for the one trained on shuffled labels.
        data=partial(data_randomization_check, randomized_estimator=estimator),
    )[check]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check(estimator, X[:4], "saliency", random_state=0, verbose=False)
    messages = [str(warning.message) for warning in caught]
    assert any("fitted on arrays without info" in message for message in messages)
    assert len(messages) == len(set(messages))


def test_a_copy_that_has_not_fitted_the_shuffled_labels_is_said_to(synthetic_arrays):
    """Trained on the shuffled labels for one pass, the copy predicted one
    class for every epoch, and the estimator's warning told the user to check
    that the labels follow the data: the check had shuffled them."""
    X, y = synthetic_arrays
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=20, random_state=0, verbose=False, module__F1=2
    ).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data_randomization_check(
            estimator, X[:4], X_train=X, y_train=y, random_state=0, verbose=False
        )
    messages = " ".join(str(warning.message) for warning in caught)
    assert "labels follow the data" not in messages
    assert "trained on shuffled labels predicts none" in messages
    assert "training_params" in messages


def _fails_if_called(*args, **kwargs):
    raise AssertionError("trained before the refusal")


def test_data_randomization_refuses_a_copy_of_other_channels(monkeypatch):
    """A copy trained on X_train marking other channels bad read 3 channels where
    the estimator read 4; the check said "epochs has 4 channels but the estimator
    was fitted on 3" and to give the Epochs, which had been given. It is refused
    before the copy trains (it was after a whole training)."""
    rng = np.random.default_rng(0)
    y = np.arange(12) % 3
    data = rng.standard_normal((12, 4, 40))
    data[np.arange(12), y] += 2.0
    events = np.c_[np.arange(12), np.zeros(12, int), y + 1]
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 40.0, "eeg")
    epochs = mne.EpochsArray(data * 1e-5, info, events=events, verbose=False)
    estimator = _reader(epochs, None)
    X_train = epochs.copy()
    X_train.info["bads"] = ["Pz"]
    with monkeypatch.context() as patched:
        patched.setattr(type(estimator), "fit", _fails_if_called)
        with pytest.raises(ValueError, match=r"reads the channels .*'Pz'.* X_train"):
            data_randomization_check(
                estimator, epochs, "saliency", X_train=X_train, verbose=False
            )
    # Another network of the estimator's classes, given trained, too.
    other = _reader(X_train, None)
    with pytest.raises(ValueError, match="randomized network reads the channels"):
        data_randomization_check(
            estimator, epochs, "saliency", randomized_estimator=other, verbose=False
        )


def test_data_randomization_refuses_labels_of_other_classes_before_training(
    channel_data, monkeypatch
):
    """y_train of other labels was refused only once the copy had trained on them."""
    X, y = channel_data
    estimator = _reader(X, y)

    def fit(*args, **kwargs):
        raise AssertionError("the copy was trained")

    monkeypatch.setattr(EEGNetClassifier, "fit", fit)
    with pytest.raises(ValueError, match=r"y_train holds labels \[10, 11, 12\]"):
        data_randomization_check(estimator, X, y_train=y + 10, verbose=False)


def test_data_randomization_refuses_a_copy_of_other_classes(channel_data):
    """A randomized network of other classes than the estimator's has no maps
    of the classes explained: refused, whether given or trained on y_train
    lacking a class (a subset of the classes passes the check of labels)."""
    X, y = channel_data
    estimator = _reader(X, y)
    kwargs = dict(method="gradient_x_input", target=0, verbose=False)
    other = _reader(X, y + 10)
    with pytest.raises(ValueError, match=r"has the classes \[10, 11, 12\]"):
        data_randomization_check(estimator, X, randomized_estimator=other, **kwargs)
    with pytest.raises(
        ValueError, match=r"has the classes \[0, 1\], but the estimator was fitted on"
    ):
        data_randomization_check(estimator, X, y_train=y % 2, **kwargs)


def test_data_randomization_trains_the_copy_silently_with_verbose_false(
    synthetic_arrays, capsys
):
    """The docstring's promise: verbose=False silences the copy's training,
    whatever the estimator's own verbose (skorch prints a table per epoch)."""
    X, y = synthetic_arrays
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=20, random_state=0, verbose=1, module__F1=2
    ).fit(X, y)
    capsys.readouterr()  # the estimator's own training table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the copy fits no label in one pass
        result = data_randomization_check(
            estimator, X[:4], X_train=X, y_train=y, random_state=0, verbose=False
        )
    assert capsys.readouterr().out == ""
    assert result.randomized_estimator.verbose == 0
    assert estimator.verbose == 1
    # With verbose=True the copy keeps the estimator's parameters, verbose too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        told = data_randomization_check(
            estimator, X[:4], X_train=X, y_train=y, random_state=0, verbose=True
        )
    assert told.randomized_estimator.verbose == 1


def test_data_randomization_reads_events_as_the_estimator_was_trained(monkeypatch):
    epochs, _ = simulate_epochs("spatial", n_epochs=16, random_state=0, verbose=False)
    names = {code: name for name, code in epochs.event_id.items()}
    by_name = [names[code] for code in epochs.events[:, 2]]
    estimator = EEGNetClassifier(
        max_epochs=2, random_state=0, verbose=False, module__F1=2
    ).fit(epochs, by_name)
    result = data_randomization_check(
        estimator, epochs[:4], random_state=0, verbose=False
    )
    assert result.randomized_estimator.classes_.tolist() == sorted(set(by_name))
    # Labels that are not the events are refused before the clone trains.
    other = EEGNetClassifier(max_epochs=2, verbose=False, module__F1=2)
    other.fit(epochs, np.arange(16) % 2)
    monkeypatch.setattr(
        EEGNetClassifier, "fit", lambda *args, **kwargs: pytest.fail("trained")
    )
    with pytest.raises(ValueError, match="y_train=None reads the events"):
        data_randomization_check(other, epochs[:4], verbose=False)


# -- results and figure ------------------------------------------------------------------
def test_plot_draws_one_line_per_result(channel_reader, channel_data, edge_detector):
    X, _ = channel_data
    results = [
        target_randomization_check(channel_reader, X, method, verbose=False)
        for method in ("gradient_x_input", edge_detector)
    ]
    fig = plot_sanity_check(results, show=False)
    assert isinstance(fig, Figure)
    legend = fig.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()][:2] == [
        "gradient_x_input",
        edge_detector,
    ]
    assert isinstance(results[0], SanityCheckResult)
    assert list(results[0].mean.columns) == list(SIMILARITY_METRICS)
    # One step: the band between the quartiles, of no width, is drawn as a bar.
    similarity = results[0].similarity[results[0].metric]
    low, high = np.nanpercentile(similarity, [25, 75])
    bar = fig.axes[0].containers[0]
    np.testing.assert_allclose(
        sorted(bar.lines[2][0].get_segments()[0][:, 1]), [low, high]
    )
    # A dict by method (TrustSummary.sanity_checks) draws its values, as its
    # docstring says (it raised "must be an instance of ... list, got dict").
    by_method = dict(zip(["first", "second"], results, strict=True))
    legend = plot_sanity_check(by_method, show=False).axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()][:2] == [
        "gradient_x_input",
        edge_detector,
    ]


def _two_steps(similarity, check="cascading"):
    """The result of a check of saliency in two steps with these similarities."""
    return SanityCheckResult(
        check,
        "saliency",
        ["dense", "conv"],
        similarity,
        metric="spearman_abs",
        threshold=0.4,
    )


def test_repr_of_an_undefined_verdict_does_not_call_the_maps_similar():
    """Randomized maps all zero (a dead network) give NaN correlations: the
    check fails, and its repr said the maps "stay similar"."""
    similarity = {metric: np.full((2, 3), np.nan) for metric in SIMILARITY_METRICS}
    similarity["ssim"][:] = 0.01
    result = _two_steps(similarity)
    assert not result.passes
    assert "stay similar" not in repr(result)
    assert "undefined: every map compared was constant" in repr(result)


def test_the_verdict_rests_on_the_epochs_whose_similarity_is_defined():
    """A constant map in one epoch (NaN) is left out of the mean: with it, the
    mean was NaN and the check failed whatever the other epochs said."""
    similarity = {
        metric: np.array([[0.9, 0.8], [0.1, np.nan]]) for metric in SIMILARITY_METRICS
    }
    result = _two_steps(similarity)
    np.testing.assert_allclose(result.mean["spearman_abs"], [0.85, 0.1])
    assert result.passes


def test_a_similarity_at_the_threshold_does_not_pass():
    """The method passes when the similarity falls below the threshold: maps
    exactly as similar as the threshold have not changed enough."""
    similarity = {metric: np.array([[0.9], [0.4]]) for metric in SIMILARITY_METRICS}
    assert not _two_steps(similarity).passes


def test_the_table_pairs_each_similarity_with_its_step_and_epoch():
    """Row (step, epoch) of to_frame holds that step's similarity of that epoch."""
    values = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    similarity = {metric: values for metric in SIMILARITY_METRICS}
    table = _two_steps(similarity).to_frame()
    for (step, epoch), rows in table.groupby(["step", "epoch"]):
        expected = values[["dense", "conv"].index(step), epoch]
        np.testing.assert_array_equal(rows["similarity"], expected)


def test_an_independent_check_passes_when_any_layer_changes_the_maps():
    """Independent randomization passes when re-initializing at least one layer
    changes the maps, whichever it is: here the first step's, not the last."""
    similarity = {metric: np.array([[0.1], [0.9]]) for metric in SIMILARITY_METRICS}
    assert _two_steps(similarity, check="independent").passes
    assert not _two_steps(similarity).passes


def test_plot_of_one_step_draws_quartiles_away_from_the_mean():
    """Four epochs at 0.9 and one at -0.9: the mean, 0.54, lies below the 25th
    percentile, and the bar of one step raised "'yerr' must not contain
    negative values"."""
    similarity = {
        metric: np.array([[0.9, 0.9, 0.9, 0.9, -0.9]]) for metric in SIMILARITY_METRICS
    }
    result = SanityCheckResult(
        "target", "saliency", ["target"], similarity, metric="spearman", threshold=0.4
    )
    fig = plot_sanity_check(result, show=False)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [0.54])
    bar = fig.axes[0].containers[0]
    np.testing.assert_allclose(bar.lines[2][0].get_segments()[0][:, 1], [0.9, 0.9])


def test_plot_refuses_axes_that_are_not_one_axes():
    """plt.subplots(1, 2)'s array of axes failed inside the drawing, as
    "'numpy.ndarray' object has no attribute 'plot'"."""
    similarity = {metric: np.full((1, 3), 0.5) for metric in SIMILARITY_METRICS}
    result = SanityCheckResult(
        "target", "saliency", ["target"], similarity, metric="spearman", threshold=0.4
    )
    _, two_axes = plt.subplots(1, 2)
    with pytest.raises(TypeError, match="axes must be an instance of a matplotlib"):
        plot_sanity_check(result, axes=two_axes, show=False)


def test_plot_of_a_step_without_defined_similarity_warns_nothing():
    """Grad-CAM of one epoch, all zero after randomizing the spatial layers,
    has NaN correlations there, of which the check warned: the plot warned
    again, with NumPy's "All-NaN slice encountered", twice."""
    similarity = {metric: np.array([[0.3], [np.nan]]) for metric in SIMILARITY_METRICS}
    result = SanityCheckResult(
        "cascading",
        "grad_cam",
        ["classifier", "spatial_conv"],
        similarity,
        metric="spearman_abs",
        threshold=0.4,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_sanity_check(result, show=False)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.3, np.nan])


def test_plot_draws_each_threshold_and_refuses_other_checks(
    channel_reader, channel_data
):
    """A method passing at its threshold of 0.5 sat above the first result's
    line at 0.4; a cascading and an independent check shared one title."""
    X, _ = channel_data
    strict = target_randomization_check(channel_reader, X, "saliency", verbose=False)
    lenient = target_randomization_check(
        channel_reader, X, "gradient_x_input", threshold=0.5, verbose=False
    )
    fig = plot_sanity_check([strict, lenient], show=False)
    assert sorted(_threshold_lines(fig.axes[0])) == [0.4, 0.5]
    cascading = parameter_randomization_check(
        channel_reader, X[:4], "saliency", verbose=False
    )
    independent = parameter_randomization_check(
        channel_reader, X[:4], "saliency", mode="independent", verbose=False
    )
    with pytest.raises(ValueError, match="results\\[1\\] holds the independent"):
        plot_sanity_check([cascading, independent], show=False)


def _threshold_lines(axes):
    """Heights of the dashed threshold lines of a plot of sanity checks."""
    return [
        line.get_ydata()[0] for line in axes.get_lines() if line.get_linestyle() == "--"
    ]


def test_plot_draws_the_measure_asked_for_and_refuses_other_steps():
    """metric= draws that measure's curve, without the verdict's threshold,
    which is on another measure's scale; results over other layers (another
    network's) are refused, as those of another check are."""
    base = np.array([[0.9, 0.7], [0.2, 0.4]])
    similarity = {
        metric: base - index / 10 for index, metric in enumerate(SIMILARITY_METRICS)
    }
    result = _two_steps(similarity)
    axes = plot_sanity_check(result, metric="ssim", show=False).axes[0]
    curve = axes.get_lines()[0]
    np.testing.assert_allclose(curve.get_ydata(), similarity["ssim"].mean(axis=1))
    assert _threshold_lines(axes) == []
    assert _threshold_lines(plot_sanity_check(result, show=False).axes[0]) == [0.4]
    other_network = SanityCheckResult(
        "cascading",
        "saliency",
        ["readout", "conv"],
        similarity,
        metric="spearman_abs",
        threshold=0.4,
    )
    with pytest.raises(ValueError, match="results\\[1\\] holds the cascading"):
        plot_sanity_check([result, other_network], show=False)


def test_method_params_reach_the_method_under_the_checks_own_names(
    channel_reader, channel_data, monkeypatch
):
    """occlusion's mode could not be set through parameter_randomization_check,
    whose own mode took the keyword: mode="time" was refused with the check's
    modes alone ("Allowed values are 'cascading' and 'independent'")."""
    X, _ = channel_data
    with pytest.raises(ValueError, match=r"pass method_params=dict\(mode='time'\)"):
        parameter_randomization_check(
            channel_reader, X[:4], "occlusion", mode="time", window=8
        )
    asked = []

    def spy(*args, **kwargs):
        asked.append((kwargs["mode"], kwargs["window"]))
        return explain(*args, **kwargs)

    monkeypatch.setattr("mne_xai.evaluate.sanity._compare.explain", spy)
    for check, kwargs in [
        (parameter_randomization_check, dict(mode="independent")),
        (target_randomization_check, {}),
    ]:
        asked.clear()
        result = check(
            channel_reader,
            X[:4],
            "occlusion",
            method_params=dict(mode="time"),
            window=8,
            verbose=False,
            **kwargs,
        )
        assert result.method == "occlusion"
        assert asked and set(asked) == {("time", 8)}
    assert result.check == "target"


def test_a_threshold_of_one_is_allowed(channel_reader, channel_data):
    """Thresholds are in (-1, 1]: at 1 a method passes unless its maps stay
    the same, the loosest verdict there is."""
    X, _ = channel_data
    result = target_randomization_check(
        channel_reader, X[:4], "gradient_x_input", threshold=1, verbose=False
    )
    assert result.threshold == 1 and result.passes


def test_the_similarities_do_not_depend_on_the_batch_size(channel_reader, channel_data):
    """Epochs are explained batch by batch: each batch's similarities go to
    its own epochs, which explain each their own target and its own other
    class, whatever the batch size."""
    X, y = channel_data
    results = [
        target_randomization_check(
            channel_reader,
            X,
            "gradient_x_input",
            target=y,
            batch_size=batch_size,
            random_state=0,
            verbose=False,
        )
        for batch_size in (5, len(X))
    ]
    in_batches, at_once = results
    for metric in SIMILARITY_METRICS:
        np.testing.assert_allclose(
            in_batches.similarity[metric], at_once.similarity[metric], rtol=1e-6
        )
    np.testing.assert_allclose(
        in_batches.input_similarity, at_once.input_similarity, rtol=1e-6
    )


def test_a_stochastic_method_draws_the_same_noise_for_both_networks(
    channel_reader, channel_data
):
    """Only the network may differ between the maps compared: compared with
    itself, a stochastic method whose noise was drawn anew for each map (the
    random baseline, all noise) gave maps that differ."""
    X, _ = channel_data
    result = data_randomization_check(
        channel_reader,
        X[:4],
        "random",
        randomized_estimator=channel_reader,
        random_state=0,
        verbose=False,
    )
    for metric in SIMILARITY_METRICS:
        np.testing.assert_allclose(result.similarity[metric], 1, err_msg=metric)


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        # saliency has no mode of its own to suggest setting in method_params.
        (dict(mode="top-down"), ValueError, "are 'cascading' and 'independent', but"),
        (dict(metric="hog"), ValueError, "metric"),
        (dict(threshold=2), ValueError, "threshold"),
        (dict(threshold=-1), ValueError, "threshold"),
        (dict(threshold="0.4"), TypeError, "threshold must be an instance of"),
        (dict(method="nope"), ValueError, "method"),
        (dict(method="gradient_x_input", absolute=True), TypeError, "absolute"),
        (dict(target=7), ValueError, "target"),
        (dict(target="true"), ValueError, "true"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(random_state="seed"), TypeError, "random_state"),
        (dict(method_params=["absolute"]), TypeError, "method_params must be"),
        (
            dict(absolute=True, method_params=dict(absolute=False)),
            TypeError,
            "given both as keywords and in method_params",
        ),
        (dict(method_params=dict(average=True)), TypeError, r"\['average'\]"),
    ],
)
def test_clear_errors(channel_reader, channel_data, kwargs, error, match):
    X, _ = channel_data
    with pytest.raises(error, match=match):
        parameter_randomization_check(channel_reader, X, **kwargs)


def test_clear_errors_about_estimator_and_data(channel_data):
    X, y = channel_data
    with pytest.raises(TypeError, match="estimator"):
        target_randomization_check(object(), X)
    with pytest.raises(NotInitializedError):
        target_randomization_check(EEGNetClassifier(), X)
    with pytest.raises(ValueError, match="channels"):
        target_randomization_check(_reader(X, y), X[:, :2])
    with pytest.raises(ValueError, match="reset_parameters"):
        parameter_randomization_check(_reader(X, y, ReaderWithGain), X)
    with pytest.raises(ValueError, match="y_train is required"):
        data_randomization_check(_reader(X, y), X)
    with pytest.raises(ValueError, match="classes"):
        data_randomization_check(_reader(X, y), X, y_train=y + 10)
    with pytest.raises(ValueError, match="shape"):
        map_similarity(X, X[:, :2])
    with pytest.raises(ValueError, match="n_channels, n_times"):
        map_similarity(X[:, 0], X[:, 0])
    with pytest.raises(ValueError, match="sigma"):
        structural_similarity(X, X, sigma=0)


def test_saliency_is_not_class_specific_on_a_two_class_eegnet():
    """Sujatha Ravindran & Contreras-Vidal: saliency is the same for both classes;
    a signed method's map flips sign for the other class."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=120, snr=1.0, random_state=0, verbose=False
    )
    estimator = EEGNetClassifier(
        max_epochs=30, batch_size=16, lr=3e-3, random_state=0, verbose=False
    ).fit(epochs[:80])
    saliency, signed = (
        target_randomization_check(
            estimator, epochs[80:], method, random_state=0, verbose=False
        )
        for method in ("saliency", "gradient_x_input")
    )
    assert saliency.metric == "spearman"
    assert saliency.similarity["spearman"].mean() > 0.9
    assert not saliency.passes
    assert signed.similarity["spearman"].mean() < -0.9
    assert signed.similarity["spearman_abs"].mean() > 0.9  # same samples matter
    assert signed.passes


class WeightNormalized(nn.Module):
    """A network whose convolution's weight a torch parametrization computes."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.conv = nn.utils.parametrizations.weight_norm(
            nn.Conv1d(n_channels, 4, 5, padding=2)
        )
        self.elu = nn.ELU()
        self.readout = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        return self.readout(self.elu(self.conv(x * self.input_scale)).flatten(1))


class LegacyWeightNormalized(WeightNormalized):
    """The same network under torch's older weight_norm, which recomputes the
    convolution's weight from weight_g and weight_v before every pass."""

    def __init__(self, **shape):
        super().__init__(**shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated in torch
            self.conv = nn.utils.weight_norm(
                nn.Conv1d(shape["n_channels"], 4, 5, padding=2)
            )


class PlainConvNet(nn.Module):
    """A network of one's own, which the estimator wraps in its input scaling."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)
        self.readout = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):
        return self.readout(torch.relu(self.conv(x)).flatten(1))


def _cascade_steps(module, channel_data, max_epochs=0):
    """Return the steps of saliency's cascade on an EEGNetClassifier of ``module``."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=module, max_epochs=max_epochs, random_state=0, verbose=False
    ).fit(X, y)
    return parameter_randomization_check(
        clf, X, "saliency", random_state=0, verbose=False
    ).steps


def test_steps_name_the_layers_of_a_network_of_ones_own(channel_data):
    """Behind the estimator's input scaling, the steps were the wrapper's paths
    ('module.readout'), which the user's network does not take."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=PlainConvNet, max_epochs=1, random_state=0, verbose=False
    ).fit(X, y)
    assert isinstance(clf.module_, ScaledInput)
    result = parameter_randomization_check(
        clf, X, "saliency", random_state=0, verbose=False
    )
    assert result.steps == ["readout", "conv"]
    for step in result.steps:
        clf.module_.module.get_submodule(step)


class ReadoutRegisteredFirst(PlainConvNet):
    """PlainConvNet with its layers registered in the reverse of the order they run."""

    def __init__(self, n_channels, n_classes, n_times):
        nn.Module.__init__(self)
        self.readout = nn.Linear(4 * n_times, n_classes)
        self.conv = nn.Conv1d(n_channels, 4, 5, padding=2)


@pytest.mark.parametrize("mode", ["cascading", "independent"])
def test_each_step_randomizes_its_layer_alone_or_with_those_above(
    channel_data, monkeypatch, mode
):
    """Step k of a cascading check explains the network with the layers of
    steps 1 to k random, of an independent one with that of step k alone; the
    steps follow the forward pass from the output down, not the order the
    layers are registered in; the fitted network is left as it was."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=ReadoutRegisteredFirst, max_epochs=1, random_state=0, verbose=False
    ).fit(X, y)
    snapshot = _snapshot(clf)
    calls = _explained_networks_and_targets(monkeypatch)
    result = parameter_randomization_check(
        clf, X[:4], "saliency", mode=mode, random_state=0, verbose=False
    )
    assert result.steps == ["readout", "conv"]
    assert result.metric == "spearman_abs"  # the default: magnitudes' ranks
    trained, _ = snapshot
    changed = [
        {name.split(".")[1] for name in state if not state[name].equal(trained[name])}
        for state, _ in calls[1:]
    ]
    if mode == "cascading":
        assert changed == [{"readout"}, {"readout", "conv"}]
    else:
        assert changed == [{"readout"}, {"conv"}]
    _assert_unchanged(clf, snapshot)


@pytest.mark.parametrize("module", [WeightNormalized, LegacyWeightNormalized])
def test_parameter_randomization_redraws_parametrized_weights(channel_data, module):
    """Such layers were refused: their ParametrizationList has no reset_parameters,
    and reset_parameters redraws the weight that torch's older weight_norm
    computes again from weight_g and weight_v (which it left trained)."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=module, max_epochs=5, random_state=0, verbose=False
    ).fit(X, y)
    trained = clf.module_.conv.weight.detach().clone()
    result = parameter_randomization_check(
        clf, X, "gradient_x_input", random_state=0, verbose=False
    )
    assert result.steps == ["readout", "conv"]
    assert np.all(result.similarity["spearman"][-1] < 0.9)
    # The fitted network keeps its weights and its parametrization.
    torch.testing.assert_close(clf.module_.conv.weight, trained)
    assert nn.utils.parametrize.is_parametrized(clf.module_.conv) or hasattr(
        clf.module_.conv, "weight_g"
    )


def test_parameter_randomization_redraws_pruned_weights_and_keeps_their_mask(
    channel_data,
):
    """A network pruned with torch.nn.utils.prune was refused ("reset_parameters()
    leaves parameter(s) ['weight_orig'] as they are"), with advice on weight_norm
    that did not fit: reset_parameters drew the weight that pruning's hook
    computes again from weight_orig. The pruned weight is re-drawn, and the half
    of it pruned stays zero."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=PlainConvNet, max_epochs=5, random_state=0, verbose=False
    ).fit(X, y)
    conv = clf.module_.module.conv
    nn.utils.prune.l1_unstructured(conv, "weight", amount=0.5)
    pruned, trained = conv.weight_mask == 0, conv.weight.detach().clone()
    result = parameter_randomization_check(
        clf, X, "gradient_x_input", random_state=0, verbose=False
    )
    assert result.steps == ["readout", "conv"]
    assert np.all(result.similarity["spearman"][-1] < 0.9)
    units = _randomization_units(clf, X.shape[1:])
    *_, (step, randomized) = _randomized_estimators(clf, units, [1, 2], cascading=True)
    weight = randomized.module_.module.conv.weight.detach()
    assert step == "conv" and pruned.float().mean() == 0.5
    assert (weight[pruned] == 0).all() and (weight[~pruned] != trained[~pruned]).all()
    # The fitted network keeps its weights and its pruning.
    torch.testing.assert_close(conv.weight, trained)
    assert nn.utils.prune.is_pruned(clf.module_)


class ScaledLinear(nn.Linear):
    """A linear layer with a learned gain its inherited reset_parameters skips."""

    def __init__(self, *args):
        super().__init__(*args)
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x):  # noqa: D102
        return super().forward(x) * self.gain


class ScaledReadout(WeightNormalized):
    def __init__(self, **shape):
        super().__init__(**shape)
        self.readout = ScaledLinear(4 * shape["n_times"], shape["n_classes"])


class HalfDrawnLinear(nn.Linear):
    """A linear layer whose reset_parameters draws the first output's weights only."""

    def __init__(self, *args):
        super().__init__(*args)
        nn.init.normal_(self.weight)  # every weight drawn once, at construction

    def reset_parameters(self):  # noqa: D102
        with torch.no_grad():
            nn.init.normal_(self.weight[0])
            nn.init.zeros_(self.bias)


class HalfDrawnReadout(WeightNormalized):
    def __init__(self, **shape):
        super().__init__(**shape)
        self.readout = HalfDrawnLinear(4 * shape["n_times"], shape["n_classes"])


@pytest.mark.parametrize(
    "module, layer, kept",
    [
        (ScaledReadout, "readout", r"\['gain'\]"),
        (HalfDrawnReadout, "readout", r"\['weight'\]"),
    ],
)
def test_layers_whose_initializer_leaves_parameters_trained_are_refused(
    channel_data, module, layer, kept
):
    """Their 'randomized' copies were the trained network (logits unchanged at
    every step): saliency similarity 1.00, reported as failing the check."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=module, max_epochs=2, random_state=0, verbose=False
    ).fit(X, y)
    before = copy.deepcopy(clf.module_.state_dict())
    match = f"Layer '{layer}'.*leaves parameter\\(s\\) {kept} as they are"
    with pytest.raises(ValueError, match=match):
        parameter_randomization_check(clf, X, "saliency", verbose=False)
    for key, value in clf.module_.state_dict().items():
        torch.testing.assert_close(value, before[key])  # the network is untouched


class GainsInAList(ChannelReader):
    """Gains held in a ParameterList, a torch container that draws nothing."""

    def __init__(self, **shape):
        super().__init__(**shape)
        self.gains = nn.ParameterList([nn.Parameter(torch.ones(1)) for _ in range(2)])

    def forward(self, x):  # noqa: D102
        return super().forward(x * self.gains[0] * self.gains[1])


def test_parameters_in_a_torch_container_are_refused_with_what_to_do(channel_data):
    """The advice was to give torch's ParameterList a reset_parameters()."""
    X, y = channel_data
    with pytest.raises(ValueError, match="ParameterList.*module of your own"):
        parameter_randomization_check(_reader(X, y, GainsInAList), X, verbose=False)


class LinearWithSpare(nn.Linear):
    """A linear layer holding a parameter that its forward never uses."""

    def __init__(self, *args):
        super().__init__(*args)
        self.spare = nn.Parameter(torch.zeros(1))

    def reset_parameters(self):  # noqa: D102
        super().reset_parameters()
        if hasattr(self, "spare"):  # not yet made when nn.Linear calls this
            nn.init.zeros_(self.spare)


class WithUnusedHead(WeightNormalized):
    """An auxiliary head that the forward pass never calls, and a readout holding
    a parameter that its forward never uses."""

    def __init__(self, **shape):
        super().__init__(**shape)
        self.aux = nn.Linear(3, 1)
        self.readout = LinearWithSpare(4 * shape["n_times"], shape["n_classes"])


def test_parameter_randomization_skips_layers_the_logits_do_not_reach(channel_data):
    """An unused layer with parameters was refused as one "the network uses
    without calling", which it does not. A used layer is randomized though it
    holds a parameter that the logits do not reach."""
    steps = _cascade_steps(WithUnusedHead, channel_data, max_epochs=2)
    assert steps == ["readout", "conv"]


class FrozenConvNet(PlainConvNet):
    """PlainConvNet whose convolution is frozen (its weights not trained)."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__(n_channels, n_classes, n_times)
        self.conv.requires_grad_(False)


def test_frozen_layers_are_randomized_and_stay_frozen(channel_data):
    """A frozen layer still shapes the logits: it is a step, and the fitted
    network's layer is left frozen as it was."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=FrozenConvNet, max_epochs=1, random_state=0, verbose=False
    ).fit(X, y)
    result = parameter_randomization_check(
        clf, X[:4], "saliency", random_state=0, verbose=False
    )
    assert result.steps == ["readout", "conv"]
    conv = clf.module_.module.conv
    assert not any(parameter.requires_grad for parameter in conv.parameters())
    assert all(p.requires_grad for p in clf.module_.module.readout.parameters())


class GainedConv(nn.Module):
    """A convolution with a gain of the layer's own, applied before it, after
    it or both."""

    def __init__(self, n_channels, where):
        super().__init__()
        self.where = where
        self.gain = nn.Parameter(torch.empty(()))
        self.conv = nn.Conv1d(n_channels, n_channels, 5, padding=2)
        self.reset_parameters()

    def reset_parameters(self):  # noqa: D102
        nn.init.uniform_(self.gain, 0.5, 1.5)

    def forward(self, x):  # noqa: D102
        if self.where in ("before", "both"):
            x = x * self.gain
        x = self.conv(x)
        return x * self.gain if self.where in ("after", "both") else x


class WithOwnParameters(PlainConvNet):
    """PlainConvNet reading a learned offset of its own first, whose convolution
    is a GainedConv."""

    where = "after"

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__(n_channels, n_classes, n_times)
        self.conv = nn.Sequential(GainedConv(n_channels, self.where))
        self.readout = nn.Linear(n_channels * n_times, n_classes)
        self.offset = nn.Parameter(torch.zeros(n_channels, n_times))

    def reset_parameters(self):  # noqa: D102
        nn.init.normal_(self.offset, std=0.1)

    def forward(self, x):  # noqa: D102
        return super().forward(x + self.offset)


@pytest.mark.parametrize(
    "where, steps",
    [
        ("after", ["readout", "conv.0", "conv.0.conv", "WithOwnParameters"]),
        ("before", ["readout", "conv.0.conv", "conv.0", "WithOwnParameters"]),
        ("both", ["readout", "conv.0.conv", "conv.0", "WithOwnParameters"]),
    ],
)
def test_a_layers_own_parameters_are_a_step_where_they_act(
    channel_data, monkeypatch, where, steps
):
    """A layer's own parameters are re-drawn where the forward pass reads them,
    first, from the output down, as a layer called more than once takes its
    first call's place: a gain applied after the convolution the layer calls
    before it, one applied before it (or before and after it) after it, and a
    network's offset of its input last. All were taken to act after the
    layers they call: the input's offset was re-drawn first, as if above the
    readout."""
    monkeypatch.setattr(WithOwnParameters, "where", where)
    assert _cascade_steps(WithOwnParameters, channel_data) == steps


class ConstrainedFirst(PlainConvNet):
    """PlainConvNet bounding its readout's weights at the start of its forward,
    under no_grad, as max-norm constraints written in forward do."""

    def forward(self, x):  # noqa: D102
        with torch.no_grad():
            self.readout.weight.clamp_(-1.0, 1.0)
        return super().forward(x)


def test_a_constraint_applied_first_does_not_move_its_layer(channel_data):
    """Parameters changed out of autograd's sight are not read where they act:
    the readout, bounded before the convolution runs, stays the last layer."""
    assert _cascade_steps(ConstrainedFirst, channel_data) == ["readout", "conv"]


class TiedWeights(nn.Module):
    """Two layers sharing one weight (tied weights)."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.first = nn.Linear(n_times, n_times)
        self.second = nn.Linear(n_times, n_times)
        self.second.weight = self.first.weight
        self.readout = nn.Linear(n_channels, n_classes)

    def forward(self, x):  # noqa: D102
        hidden = self.second(torch.tanh(self.first(x * self.input_scale)))
        return self.readout(hidden.mean(dim=2))


def test_parameter_randomization_refuses_layers_sharing_parameters(channel_data):
    """Re-initializing "second" alone re-drew the weight of "first" too, which the
    steps said was trained (independent mode: two layers random, not one)."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=TiedWeights, max_epochs=0, random_state=0, verbose=False
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"'first' and 'second' share .*weight"):
        parameter_randomization_check(clf, X, "saliency", verbose=False)


class TiedInAFunction(nn.Module):
    """Two layers sharing one weight, used in this module's function, not called."""

    def __init__(self, n_times):
        super().__init__()
        self.first = nn.Linear(n_times, n_times)
        self.second = nn.Linear(n_times, n_times)
        self.second.weight = self.first.weight

    def forward(self, x):  # noqa: D102
        hidden = torch.tanh(nn.functional.linear(x, self.first.weight, self.first.bias))
        return nn.functional.linear(hidden, self.second.weight, self.second.bias)


class TiedInOneStep(nn.Module):
    """TiedWeights with its tied layers in one module's function: one step."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.block = TiedInAFunction(n_times)
        self.readout = nn.Linear(n_channels, n_classes)

    def forward(self, x):  # noqa: D102
        return self.readout(self.block(x * self.input_scale).mean(dim=2))


def test_layers_sharing_parameters_in_one_step_are_randomized_together(channel_data):
    """Tied layers re-initialized at one step leave none said to be trained
    random: the step re-draws their weight, as it would one layer's."""
    assert _cascade_steps(TiedInOneStep, channel_data) == ["readout", "block"]


class ReadsTheStart(nn.Module):
    """A network reading the first 40 samples of each epoch, as pooling without
    padding leaves the end of an epoch out (braindecode's Deep4Net: 38 of 641)."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.conv = nn.Conv1d(n_channels, 4, 5)
        self.readout = nn.Linear(4 * 36, n_classes)

    def forward(self, x):  # noqa: D102
        hidden = torch.tanh(self.conv(x[..., :40] * self.input_scale))
        return self.readout(hidden.flatten(1))


@pytest.mark.parametrize("cropped", [False, True])
def test_checks_compare_the_samples_the_network_reads(synthetic_arrays, cropped):
    """Every map is zero on samples the network never reads, under any weights
    or class: those shared zeros made maps agree whatever they showed. A
    CroppedClassifier was taken to read every sample of its windows."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(
        module=ReadsTheStart, max_epochs=2, random_state=0, verbose=False
    )
    if cropped:  # windows of 48 samples from 0, 8 and 16: read up to 56
        clf = CroppedClassifier(
            clf, window_length=0.375, window_step=0.0625, sfreq=128.0
        )
    clf.fit(X, y)
    n_read = 56 if cropped else 40
    check = target_randomization_check(
        clf, X[:8], "saliency", target=0, random_state=0, verbose=False
    )
    maps = [
        explain(clf, X[:8], "saliency", target=label, verbose=False).get_data()
        for label in (0, 1)
    ]
    assert np.all(maps[0][..., n_read:] == 0)
    expected = map_similarity(maps[0][..., :n_read], maps[1][..., :n_read])
    np.testing.assert_allclose(check.similarity["spearman_abs"][0], expected, rtol=1e-6)
    everywhere = map_similarity(maps[0], maps[1])
    assert np.all(everywhere > expected + 0.05)  # what the zeros added


def test_per_unit_maps_of_channels_in_several_units_are_refused():
    """Saliency is per tesla on MEG and per volt on EEG: ranks compared the units."""
    types = ["mag", "mag", "grad", "grad", "eeg", "eeg"]
    scales = np.array([1e-13, 1e-13, 1e-11, 1e-11, 1e-5, 1e-5])
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, len(types), 64)) * scales[:, np.newaxis]
    info = mne.create_info([f"ch{index}" for index in range(len(types))], 64.0, types)
    events = np.c_[np.arange(8), np.zeros(8, int), np.arange(8) % 2 + 1]
    epochs = mne.EpochsArray(data, info, events=events, verbose=False)
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False).fit(epochs)
    match = "saliency gives maps in logit/\\(input unit\\).*mag, grad, eeg"
    with pytest.raises(ValueError, match=match):
        parameter_randomization_check(clf, epochs, "saliency", verbose=False)
    with pytest.raises(ValueError, match=match):
        deletion_test(clf, epochs, "saliency", verbose=False)
    # Maps in logit are comparable across channels.
    deletion_test(clf, epochs[:2], "gradient_x_input", verbose=False)


def test_per_unit_maps_of_types_scaled_apart_are_refused():
    """EEG and EMG are both in volts, but scaled apart: after every layer was
    randomized, saliency kept a similarity of 0.73 from the EMG's smaller
    factor alone, and the trust summary advised against it."""
    types = ["eeg"] * 3 + ["emg"] * 3
    scales = np.array([1e-5] * 3 + [1e-3] * 3)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, len(types), 64)) * scales[:, np.newaxis]
    info = mne.create_info([f"ch{index}" for index in range(len(types))], 64.0, types)
    events = np.c_[np.arange(8), np.zeros(8, int), np.arange(8) % 2 + 1]
    epochs = mne.EpochsArray(data, info, events=events, verbose=False)
    clf = EEGNetClassifier(
        picks=["eeg", "emg"], max_epochs=1, random_state=0, verbose=False
    ).fit(epochs)
    assert len(set(np.round(clf.input_scale_, 3))) == 2  # one factor per type
    match = "saliency gives maps in logit/V.*types \\(eeg, emg\\)"
    with pytest.raises(ValueError, match=match):
        parameter_randomization_check(clf, epochs, "saliency", verbose=False)
    # Guided Grad-CAM, guided backprop times Grad-CAM, took Grad-CAM's "a.u."
    # and passed: its EOG/EEG ratio went from 0.92 to 0.23 with the EOG x 4.
    with pytest.raises(ValueError, match="guided_grad_cam gives maps in logit\\^2/V"):
        parameter_randomization_check(clf, epochs, "guided_grad_cam", verbose=False)
    # SmoothGrad of gradient x input is in logit: compared, not refused.
    result = parameter_randomization_check(
        clf,
        epochs[:2],
        "smoothgrad",
        base_method="gradient_x_input",
        n_samples=2,
        verbose=False,
    )
    assert np.isfinite(result.similarity["spearman_abs"]).all()


def test_similarity_of_mne_maps_needs_the_same_channels_and_times():
    """Identical maps with channels reversed were compared by position (0.1)."""
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    data = np.random.default_rng(0).standard_normal((3, 4, 16))
    maps = mne.EpochsArray(data, info, verbose=False)
    np.testing.assert_allclose(map_similarity(maps, maps.copy()), 1.0)
    reversed_maps = maps.copy().reorder_channels(maps.ch_names[::-1])
    for similarity in (map_similarity, structural_similarity):
        with pytest.raises(ValueError, match="same channels in another order"):
            similarity(maps, reversed_maps)
        with pytest.raises(ValueError, match="different time samples"):
            similarity(maps, maps.copy().shift_time(0.5))


def _channel_epochs(X, y):
    """The channel data as Epochs of three EEG channels, class k coded k + 1."""
    return mne.EpochsArray(
        X,
        mne.create_info(["C3", "Cz", "C4"], 40.0, "eeg"),
        events=np.c_[np.arange(len(y)), np.zeros(len(y), int), y + 1],
        verbose=False,
    )


def test_results_number_the_epochs_as_mne_does(channel_data):
    """Epochs 1, 4 and 5 of the recording are numbered so in the result and its
    table, by the selection of the Epochs checked, not by position."""
    X, y = channel_data
    result = target_randomization_check(
        _reader(X, y), _channel_epochs(X, y)[[1, 4, 5]], random_state=0, verbose=False
    )
    np.testing.assert_array_equal(result.epoch, [1, 4, 5])
    assert set(result.to_frame()["epoch"]) == {1, 4, 5}


def test_checks_read_epochs_of_a_skorch_network_wrapped_without_info(channel_data):
    """A skorch network fitted on arrays, checked on Epochs, was told to pass info.

    explain reads the Epochs themselves; the checks read them as explain does.
    """
    X, y = channel_data
    epochs = _channel_epochs(X, y)

    def channel_reader_net():
        return NeuralNetClassifier(
            ChannelReader,
            module__n_channels=3,
            module__n_classes=3,
            module__n_times=40,
            module__sfreq=40.0,
            module__input_scale=1.0,
            classes=[1, 2, 3],
        ).initialize()

    net, shuffled = channel_reader_net(), channel_reader_net()
    told = as_network(net, info=epochs.info)
    kwargs = dict(method="gradient_x_input", random_state=0, verbose=False)
    for check, extra in [
        (parameter_randomization_check, {}),
        (target_randomization_check, {}),
        (data_randomization_check, dict(randomized_estimator=shuffled)),
    ]:
        expected = check(told, epochs, **extra, **kwargs)
        result = check(net, epochs, **extra, **kwargs)
        for metric in SIMILARITY_METRICS:
            np.testing.assert_array_equal(
                result.similarity[metric], expected.similarity[metric]
            )

    # An estimator told its channels explains arrays; the randomized network
    # given without them is taken to read the same channels (it was refused:
    # "This skorch classifier does not know its channels").
    on_arrays = data_randomization_check(
        told, X, randomized_estimator=shuffled, **kwargs
    )
    np.testing.assert_allclose(on_arrays.similarity["spearman_abs"], 1.0)


def test_data_randomization_trains_a_cropped_classifier_again(synthetic_arrays):
    """It refused a CroppedClassifier, which clones and refits as any estimator."""
    X, y = synthetic_arrays
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False, random_state=0),
        window_length=0.5,
        sfreq=64.0,
    ).fit(X, y)
    result = data_randomization_check(
        cropped, X[:6], "saliency", X_train=X, y_train=y, random_state=0, verbose=False
    )
    assert isinstance(result.randomized_estimator, CroppedClassifier)
    assert result.randomized_estimator is not cropped
    assert np.isfinite(result.similarity["spearman_abs"]).all()
    # scikit-learn's "Invalid parameter" came after the maps, with no hint.
    with pytest.raises(ValueError, match="prefix its parameters with estimator__"):
        data_randomization_check(
            cropped, X[:6], "saliency", X_train=X, y_train=y,
            training_params=dict(max_epochs=2),
        )  # fmt: skip


def test_data_randomization_trains_the_network_of_a_pipeline_or_search_again(
    synthetic_arrays,
):
    """It refused a Pipeline and a GridSearchCV, which every other evaluation
    takes; the network inside is trained again, as given alone."""
    X, y = synthetic_arrays
    network = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False).fit(X, y)
    kwargs = dict(X_train=X, y_train=y, random_state=0, verbose=False)
    alone = data_randomization_check(network, X[:4], "saliency", **kwargs)
    search = GridSearchCV(clone(network), {"module__dropout": [0.5]}, cv=2).fit(X, y)
    for wrapped in (Pipeline([("net", network)]), search):
        result = data_randomization_check(wrapped, X[:4], "saliency", **kwargs)
        np.testing.assert_allclose(
            result.similarity["spearman_abs"], alone.similarity["spearman_abs"]
        )


class CombinedShallow(nn.Module):
    """ShallowFBCSPNet's layout: (batch, 1, time, channels), combined first block."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.input_scale = input_scale
        self.conv_time_spat = CombinedConv(n_channels, 4, 4, 5, bias_spat=False)
        self.bnorm = nn.BatchNorm2d(4)
        self.elu = nn.ELU()
        self.readout = nn.Conv2d(4, n_classes, (n_times - 4, 1))

    def forward(self, x):  # noqa: D102
        x = (x * self.input_scale).transpose(1, 2).unsqueeze(1)
        return self.readout(self.elu(self.bnorm(self.conv_time_spat(x))))[:, :, 0, 0]


def test_parameter_randomization_reaches_weights_used_in_a_module_function(
    channel_data,
):
    """braindecode's ShallowFBCSPNet and Deep4Net were refused: their CombinedConv
    uses the weights of conv_time and conv_spat without calling them. It
    computes what calling them in order computes, so the check runs it as the
    two layers, each a step, as the methods run it."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=CombinedShallow, max_epochs=5, random_state=0, verbose=False
    ).fit(X, y)
    for mode in ("cascading", "independent"):
        result = parameter_randomization_check(
            clf, X, "saliency", mode=mode, random_state=0, verbose=False
        )
        assert result.steps == [
            "readout",
            "bnorm",
            "conv_time_spat.conv_spat",
            "conv_time_spat.conv_time",
        ]
    # Randomizing either combined layer alone changes the maps (0.04 and 0.06;
    # batch norm, which returns to the identity, 0.99).
    assert (result.mean.loc["conv_time_spat.conv_spat":, "spearman"] < 0.5).all()
    assert result.mean.loc["bnorm", "spearman"] > 0.9
    units = _randomization_units(clf, X.shape[1:])
    assert units == [
        ("conv_time_spat.conv_time", ["conv_time_spat.conv_time"]),
        ("conv_time_spat.conv_spat", ["conv_time_spat.conv_spat"]),
        ("bnorm", ["bnorm"]),
        ("readout", ["readout"]),
    ]
    # Each cascading step re-draws the parameters under its name, and only them.
    previous = dict(clf.module_.named_parameters())
    for step, randomized in _randomized_estimators(
        clf, units, [1, 2, 3, 4], cascading=True
    ):
        current = dict(randomized.module_.named_parameters())
        changed = [name for name in current if not current[name].equal(previous[name])]
        assert changed == [name for name in current if name.startswith(f"{step}.")]
        previous = current


class Attends(nn.Module):
    """A convolution, torch's own multi-head attention, and a readout."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.conv = nn.Conv1d(n_channels, 8, 8, stride=8)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.readout = nn.Linear(8, n_classes)

    def forward(self, x):  # noqa: D102
        tokens = self.conv(x).transpose(1, 2)
        return self.readout(self.attention(tokens, tokens, tokens)[0].mean(1))


def test_parameter_randomization_redraws_torch_multihead_attention(channel_data):
    """torch's MultiheadAttention draws its parameters with _reset_parameters:
    the check (and trust_summary with it) refused every network holding one,
    asking the user to give the torch class a reset_parameters."""
    X, y = channel_data
    clf = EEGNetClassifier(
        module=Attends, max_epochs=2, random_state=0, verbose=False
    ).fit(X, y)
    units = _randomization_units(clf, X.shape[1:])
    # out_proj's weight is used by the attention's function, not called.
    # Shown as in the user's network; re-initialized as paths in the estimator's.
    assert units[1] == (
        "attention",
        ["module.attention", "module.attention.out_proj"],
    )
    trained = dict(clf.module_.named_parameters())
    _, randomized = list(
        _randomized_estimators(clf, units, [1, 2, 3], cascading=False)
    )[1]
    changed = {
        name
        for name, value in randomized.module_.named_parameters()
        if not value.equal(trained[name])
    }
    assert {
        "module.attention.in_proj_weight",
        "module.attention.out_proj.weight",
    } <= changed
    assert all(name.startswith("module.attention.") for name in changed)
    result = parameter_randomization_check(
        clf, X, "saliency", random_state=0, verbose=False
    )
    assert result.steps[-3:] == ["readout", "attention", "conv"]


def test_a_randomized_network_reads_the_channels_by_name(channel_data):
    """A network reading the channels in another order (the clone trained on
    Epochs in another order than the training epochs) was given them in the
    estimator's: a twin computing the same function of each channel, by name,
    scored -0.04 where its maps were the estimator's. The twin's order is a
    cycle: with a reversal, its own inverse, maps put back in the network's
    order with the inverse permutation passed."""
    X, y = channel_data
    info = mne.create_info(["A", "B", "C"], 40.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-5, info, verbose=False)
    estimator = _reader(epochs, y)
    order = ["B", "C", "A"]
    twin = _reader(epochs.copy().reorder_channels(order), y)
    readouts = [
        next(m for m in clf.module_.modules() if isinstance(m, nn.Conv1d))
        for clf in (estimator, twin)
    ]
    in_twin_order = [epochs.ch_names.index(name) for name in order]
    with torch.no_grad():
        readouts[1].weight.copy_(readouts[0].weight[:, in_twin_order])
    np.testing.assert_allclose(
        twin.decision_function(epochs), estimator.decision_function(epochs), rtol=1e-5
    )
    kwargs = dict(method="gradient_x_input", target=0, verbose=False)
    result = data_randomization_check(
        estimator, epochs, randomized_estimator=twin, **kwargs
    )
    np.testing.assert_allclose(result.similarity["spearman_abs"], 1.0)
    # A network of other channels is refused by name, not read by position.
    other = _reader(epochs.copy().rename_channels({"A": "D"}), y)
    with pytest.raises(ValueError, match=r"reads the channels \['D', 'B', 'C'\]"):
        data_randomization_check(
            estimator, epochs, randomized_estimator=other, **kwargs
        )
