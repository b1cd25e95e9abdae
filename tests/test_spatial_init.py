"""The spatial filters fit can start from the training epochs (spatial_init="csp")."""

import mne
import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.covariance import ledoit_wolf
from skorch.exceptions import NotInitializedError

import mne_xai.estimators
from mne_xai import EEGNetClassifier, InterpretableCNNClassifier
from mne_xai.cropping import CroppedClassifier
from mne_xai.models import EEGNet, InterpretableCNN
from mne_xai.models._spatial_init import discriminant_spatial_filters

BUILT_ONLY = dict(max_epochs=0, random_state=0, verbose=False, spatial_init="csp")


def _class_covariances(signals, y):
    """Ledoit-Wolf shrunk uncentered covariances of each class's concatenated epochs.

    Written out here, not read from MNE's CSP, so that the filters are checked
    against the definition they must meet.
    """
    covs = []
    for label in np.unique(y):
        concatenated = np.concatenate(signals[y == label], axis=1)
        covs.append(ledoit_wolf(concatenated.T, assume_centered=True)[0])
    return covs


def _power_ratios(filters, signals, y):
    """Each filter's output power in the first class over both, and the range CSP
    spans: the extreme generalized eigenvalues of the class covariances."""
    covs = _class_covariances(signals, y)
    both = covs[0] + covs[1]
    ratios = [w @ covs[0] @ w / (w @ both @ w) for w in filters]
    extremes = scipy.linalg.eigh(covs[0], both, eigvals_only=True)[[-1, 0]]
    return np.array(ratios), extremes


def _scaled(estimator, epochs):
    """The epochs as the network's first layer reads them, in float64."""
    module = estimator.module_
    X = torch.as_tensor(epochs.get_data(), dtype=torch.float32)
    return module._scale_input(X).double()


def _eegnet_filters_and_what_they_read(module, scaled):
    """Each temporal filter's two spatial filters, and that filter's output."""
    weight = module.spatial_conv.weight.detach().double()[:, 0, :, 0].numpy()
    for index, kernel in enumerate(module.temporal_conv.weight.detach().double()):
        signals = torch.nn.functional.conv2d(
            scaled.unsqueeze(1), kernel[None], padding=module.temporal_conv.padding
        )[:, 0].numpy()
        yield weight[2 * index : 2 * index + 2], signals


def test_eegnet_starts_each_temporal_filters_spatial_filters_as_csp(imagery_epochs):
    epochs = imagery_epochs.crop(1.0, 2.0)
    y = epochs.events[:, 2]
    estimator = EEGNetClassifier(**BUILT_ONLY).fit(epochs)
    scaled = _scaled(estimator, epochs)
    for filters, signals in _eegnet_filters_and_what_they_read(
        estimator.module_, scaled
    ):
        ratios, extremes = _power_ratios(filters, signals, y)
        # The two ends of CSP's spectrum, in turn, at unit norm (max-norm 1).
        np.testing.assert_allclose(ratios, extremes, rtol=1e-4)
        np.testing.assert_allclose(np.linalg.norm(filters, axis=1), 1, rtol=1e-5)


def test_interpretable_cnn_starts_its_spatial_filters_as_csp(imagery_epochs):
    epochs = imagery_epochs.crop(1.0, 2.0)
    y = epochs.events[:, 2]
    estimator = InterpretableCNNClassifier(**BUILT_ONLY).fit(epochs)
    layer = estimator.module_.pointwise_conv
    filters = layer.weight.detach().double()[:, 0, :, 0].numpy()
    signals = _scaled(estimator, epochs).numpy()
    ratios, extremes = _power_ratios(filters[:2], signals, y)
    np.testing.assert_allclose(ratios, extremes, rtol=1e-4)
    assert not layer.bias.detach().any()
    # The other 14 filters continue down both ends of the spectrum, in turn.
    all_ratios, _ = _power_ratios(filters, signals, y)
    assert np.all(np.diff(all_ratios[0::2]) <= 0)
    assert np.all(np.diff(all_ratios[1::2]) >= 0)


@pytest.mark.parametrize("network_class", [EEGNet, InterpretableCNN])
def test_spatial_filters_are_csp_of_each_channel_at_its_own_scale(network_class):
    """Channels of several types (V, T, T/m) reach the first layer each times
    its factor: the filters are CSP's of what that layer reads, not of the data
    in their units, which weigh the channels otherwise."""
    rng = np.random.default_rng(0)
    y = np.arange(20) % 2
    powers = np.where(y[:, None] == 0, [1.0, 2.0, 0.5], [1.0, 0.5, 2.0])
    sources = rng.standard_normal((20, 3, 128)) * powers[:, :, None]
    mixed = np.einsum("ij,ejt->eit", rng.standard_normal((3, 3)), sources)
    input_scale = np.array([1e6, 1e13, 1e11])
    X = torch.as_tensor(mixed / input_scale[:, None], dtype=torch.float32)
    torch.manual_seed(0)
    module = network_class(3, 2, 128, input_scale=input_scale)
    module.initialize_spatial_filters(X, y)
    scaled = module._scale_input(X).double()
    if network_class is EEGNet:
        pairs = _eegnet_filters_and_what_they_read(module, scaled)
    else:
        weight = module.pointwise_conv.weight.detach().double()[:2, 0, :, 0]
        pairs = [(weight.numpy(), scaled.numpy())]
    for filters, signals in pairs:
        ratios, extremes = _power_ratios(filters, signals, y)
        np.testing.assert_allclose(ratios, extremes, rtol=1e-4)


def test_two_classes_each_strong_on_its_own_channel_give_those_channels():
    """Worked by hand: the channels are uncorrelated (a sine and a cosine of
    whole periods), the first three times as strong in one class, the second
    in the other. Both covariances are diagonal, so the filters are the
    channels: the first class's first (its largest power ratio), then the
    other's."""
    t = np.arange(64) / 64
    sine, cosine = np.sin(2 * np.pi * 4 * t), np.cos(2 * np.pi * 4 * t)
    signals = np.array([[3 * sine, cosine], [sine, 3 * cosine]] * 2)
    filters = discriminant_spatial_filters(signals, np.array([0, 1, 0, 1]), 2)
    np.testing.assert_allclose(np.abs(filters), np.eye(2), atol=1e-10)


def test_spatial_filters_diagonalize_both_class_covariances():
    """The filters solve the generalized eigenproblem of the two class
    covariances: in either class, each filter's output is uncorrelated with
    the others'. Three mixed sources, of powers that differ by class."""
    rng = np.random.default_rng(0)
    y = np.arange(20) % 2
    scales = np.where(y[:, None] == 0, [1.0, 2.0, 0.5], [1.0, 0.5, 2.0])
    sources = rng.standard_normal((20, 3, 200)) * scales[:, :, None]
    signals = np.einsum("ij,ejt->eit", rng.standard_normal((3, 3)), sources)
    filters = discriminant_spatial_filters(signals, y, 3)
    np.testing.assert_allclose(np.linalg.norm(filters, axis=1), 1)
    for cov in _class_covariances(signals, y):
        outputs = filters @ cov @ filters.T
        spread = np.sqrt(np.diag(outputs))
        correlations = outputs / np.outer(spread, spread)
        np.testing.assert_allclose(correlations, np.eye(3), atol=1e-6)


def test_three_classes_start_from_csp_too(synthetic_arrays):
    """CSP orders its filters by turns between the two ends of its spectrum for
    two classes only: three are ordered by mutual information with the class,
    and the filters are CSP's, at unit norm."""
    X, _ = synthetic_arrays
    y = np.arange(len(X)) % 3
    X = X.copy()
    X[y == 2, 1] *= 3
    estimator = EEGNetClassifier(**BUILT_ONLY).fit(X, y)
    assert estimator.spatial_init_ == "csp"
    weight = estimator.module_.spatial_conv.weight.detach()[:, 0, :, 0]
    torch.testing.assert_close(weight.norm(dim=1), torch.ones(len(weight)))


@pytest.mark.parametrize(
    "estimator_class", [EEGNetClassifier, InterpretableCNNClassifier]
)
def test_spatial_init_none_keeps_the_networks_initialization(
    synthetic_arrays, estimator_class
):
    csp = estimator_class(**BUILT_ONLY).fit(*synthetic_arrays)
    random = estimator_class(**{**BUILT_ONLY, "spatial_init": None})
    random.fit(*synthetic_arrays)
    assert estimator_class().spatial_init is None  # the default
    assert csp.spatial_init_ == "csp" and random.spatial_init_ is None
    started = csp.module_
    changed = [
        name
        for (name, first), second in zip(
            started.named_parameters(), random.module_.parameters(), strict=True
        )
        if not torch.equal(first, second)
    ]
    assert changed == (
        ["spatial_conv.weight"]
        if estimator_class is EEGNetClassifier
        else ["pointwise_conv.weight", "pointwise_conv.bias"]
    )


class _PlainNetwork(torch.nn.Module):
    """A user's network: spatial filters, but no initialize_spatial_filters."""

    def __init__(self, n_channels, n_classes, n_times, sfreq=128.0):
        super().__init__()
        self.spatial = torch.nn.Linear(n_channels, n_classes)

    def forward(self, x):
        return self.spatial(x.transpose(1, 2)).mean(dim=1)


@pytest.mark.parametrize(
    "estimator_class", [EEGNetClassifier, InterpretableCNNClassifier]
)
def test_spatial_init_says_when_there_was_nothing_to_start(
    synthetic_arrays, estimator_class
):
    """A single channel, or a user's network that does not say how to start its
    filters, kept the random start while ``spatial_init="csp"`` said otherwise."""
    X, y = synthetic_arrays
    assert estimator_class(**BUILT_ONLY).fit(X[:, :1], y).spatial_init_ is None
    plain = estimator_class(**BUILT_ONLY, module=_PlainNetwork).fit(X, y)
    assert plain.spatial_init_ is None


@pytest.mark.parametrize("spatial_init", ["csp", None])
def test_restored_networks_say_how_their_spatial_filters_started(
    synthetic_arrays, tmp_path, spatial_init
):
    """``spatial_init_`` was the one fitted attribute not restored by
    ``initialize`` + ``load_params``: reading it raised AttributeError."""
    X, y = synthetic_arrays
    fitted = EEGNetClassifier(**{**BUILT_ONLY, "spatial_init": spatial_init})
    fitted.fit(X, y).save_params(f_params=tmp_path / "params.pt")
    # Restored into an estimator whose own parameter says the other start.
    other = None if spatial_init == "csp" else "csp"
    restored = EEGNetClassifier(**{**BUILT_ONLY, "spatial_init": other})
    restored.initialize(X, y).load_params(f_params=tmp_path / "params.pt")
    assert restored.spatial_init_ == fitted.spatial_init_ == spatial_init


def test_parameters_saved_without_the_spatial_start_load_with_a_warning(
    synthetic_arrays, tmp_path
):
    X, y = synthetic_arrays
    fitted = EEGNetClassifier(**BUILT_ONLY).fit(X, y)
    older = {
        name: value
        for name, value in fitted.module_.state_dict().items()
        if name != "training_spatial_start"
    }
    torch.save(older, tmp_path / "older.pt")
    restored = EEGNetClassifier(**BUILT_ONLY).initialize(X, y)
    with pytest.warns(RuntimeWarning, match=r"spatial start.*spatial_init_ reads"):
        restored.load_params(f_params=tmp_path / "older.pt")
    assert restored.spatial_init_ is None


@pytest.mark.parametrize("network_class", [EEGNet, InterpretableCNN])
def test_a_single_channel_network_keeps_its_spatial_weights(network_class):
    """One channel has no spatial filter to find: the network's own method (the
    estimators do not call it then) keeps its start, as it says."""
    torch.manual_seed(0)
    module = network_class(1, 2, 64)
    before = {name: value.clone() for name, value in module.state_dict().items()}
    module.initialize_spatial_filters(torch.randn(8, 1, 64), np.arange(8) % 2)
    for name, value in module.state_dict().items():
        torch.testing.assert_close(value, before[name], msg=name)


def test_a_refused_first_partial_fit_leaves_no_network(synthetic_arrays):
    """Refused at its first step (a time shift of half the epoch), partial_fit
    left the network it had started from CSP, which predicted with those weights."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**BUILT_ONLY, time_shift=0.25)
    with pytest.raises(ValueError, match="below half"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(NotInitializedError):
        clf.predict(X)


def test_validation_epochs_are_not_read(synthetic_arrays):
    X, y = synthetic_arrays
    params = dict(BUILT_ONLY, early_stopping=True)
    estimator = EEGNetClassifier(**params).fit(X, y)
    _, validation = estimator.get_split_datasets(X.copy(), y)
    changed = X.copy()
    changed[validation.indices] = np.random.default_rng(1).standard_normal(
        changed[validation.indices].shape
    )
    again = EEGNetClassifier(**params).fit(changed, y)
    start = estimator.module_.spatial_conv.weight
    torch.testing.assert_close(again.module_.spatial_conv.weight, start)
    # A training epoch changed does move them.
    training = np.setdiff1d(np.arange(len(y)), validation.indices)[0]
    changed[training] *= 5
    moved = EEGNetClassifier(**params).fit(changed, y).module_.spatial_conv.weight
    assert not torch.allclose(moved, start)


def test_a_large_training_set_is_read_through_a_stratified_sample(
    synthetic_arrays, monkeypatch
):
    X, y = synthetic_arrays
    y = np.where(np.arange(len(y)) < 30, 0, 1)  # 30 and 10 epochs
    read = []
    original = EEGNet.initialize_spatial_filters

    def recording(module, X, y):
        read.append(np.asarray(y))
        return original(module, X, y)

    monkeypatch.setattr(EEGNet, "initialize_spatial_filters", recording)
    monkeypatch.setattr(mne_xai.estimators, "SPATIAL_INIT_VALUES", 20 * X[0].size)
    EEGNetClassifier(**BUILT_ONLY).fit(X, y)
    assert np.bincount(read[0]).tolist() == [15, 5]


def test_continued_training_keeps_the_spatial_filters(synthetic_arrays):
    fast = dict(BUILT_ONLY, max_epochs=2, batch_size=8)
    estimator = EEGNetClassifier(**fast).fit(*synthetic_arrays)
    trained = estimator.module_.spatial_conv.weight.detach().clone()
    start = EEGNetClassifier(**BUILT_ONLY).fit(*synthetic_arrays).module_
    assert not torch.allclose(start.spatial_conv.weight, trained)
    estimator.set_params(warm_start=True, max_epochs=0).fit(*synthetic_arrays)
    torch.testing.assert_close(estimator.module_.spatial_conv.weight, trained)


def test_channels_that_repeat_one_another_still_give_filters():
    """Two equal channels made CSP's covariances singular: LinAlgError."""
    ramp = np.broadcast_to(np.arange(101) / 100, (4, 2, 101)).copy()
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    network = EEGNetClassifier(**BUILT_ONLY, info=info)
    clf = CroppedClassifier(network, window_length=0.5).fit(ramp, np.arange(4) % 2)
    # One direction holds the data: the first filter of each temporal filter.
    weight = clf.estimator_.module_.spatial_conv.weight.detach()[::2, 0, :, 0]
    torch.testing.assert_close(weight.norm(dim=1), torch.ones(len(weight)))


def test_the_first_partial_fit_starts_the_spatial_filters_from_its_chunk(
    synthetic_arrays,
):
    """partial_fit built the network with its random spatial filters, silently."""
    X, y = synthetic_arrays
    started = EEGNetClassifier(**BUILT_ONLY).fit(X, y).module_.spatial_conv.weight
    # A learning rate of zero leaves the start as it was built.
    chunked = EEGNetClassifier(**{**BUILT_ONLY, "lr": 0.0}).partial_fit(X, y, [0, 1])
    torch.testing.assert_close(chunked.module_.spatial_conv.weight, started)


def test_a_first_chunk_of_one_class_keeps_the_random_start(synthetic_arrays):
    X, y = synthetic_arrays
    params = {**BUILT_ONLY, "lr": 0.0}
    random = EEGNetClassifier(**{**params, "spatial_init": None})
    random.partial_fit(X[y == 0], y[y == 0], [0, 1])
    with pytest.warns(RuntimeWarning, match="only 0, so the spatial filters keep"):
        kept = EEGNetClassifier(**params).partial_fit(X[y == 0], y[y == 0], [0, 1])
    torch.testing.assert_close(
        kept.module_.spatial_conv.weight, random.module_.spatial_conv.weight
    )
