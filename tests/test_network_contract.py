"""The model contract: explain and evaluate any fitted network we can read."""

import importlib
import re
import sys
import warnings

import mne
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier

import mne_xai
from mne_xai import CroppedClassifier, EEGNetClassifier, as_network
from mne_xai._network import BinaryLogOdds
from mne_xai.evaluate import (
    data_randomization_check,
    deletion_curve,
    parameter_randomization_check,
    perturbation_test,
    target_randomization_check,
)
from mne_xai.models import EEGNet

FAST = dict(max_epochs=3, batch_size=8, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def epochs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 4, 128))
    y = np.repeat([1, 2], 12)
    X[y == 2, 0] *= 3
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    events = np.column_stack([np.arange(24) * 200, np.zeros(24, int), y])
    return mne.EpochsArray(
        X * 1e-5, info, events, event_id=dict(a=1, b=2), verbose=False
    )


def test_cropped_classifier_is_explained_on_whole_epochs(epochs):
    cropped = CroppedClassifier(EEGNetClassifier(**FAST)).fit(epochs)
    network = as_network(cropped)
    data = torch.from_numpy(epochs.get_data()).float()
    with torch.no_grad():
        logits = network.module_.eval()(data).numpy()
    # The explained score is the mean window logit; it ranks classes like predict.
    window_logits = cropped.estimator_._logits(
        cropped._windows(epochs.get_data().astype(np.float32), epochs.info)
    )
    np.testing.assert_allclose(
        logits, window_logits.reshape(24, -1, 2).mean(axis=1), rtol=1e-4, atol=1e-5
    )
    maps = mne_xai.explain(
        cropped, epochs, "integrated_gradients", target=2, steps=64, verbose=False
    )
    assert maps.get_data().shape == epochs.get_data().shape
    # Completeness: the maps of class 2 (index 1) add up to its score change from
    # the zero baseline.
    with torch.no_grad():
        zero = network.module_(torch.zeros_like(data[:1]))[0, 1].item()
    np.testing.assert_allclose(
        maps.get_data().sum(axis=(1, 2)), logits[:, 1] - zero, rtol=0.02, atol=1e-3
    )
    curve = deletion_curve(cropped, epochs, "saliency", n_steps=4, verbose=False)
    assert curve.scores.shape == (24, 5)
    with pytest.raises(ValueError, match='baseline="mean" needs the mean'):
        mne_xai.explain(cropped, epochs, "integrated_gradients", baseline="mean")


def test_pipeline_ending_in_a_network(epochs):
    """Steps that pass the data on, "passthrough" or None as scikit-learn
    takes both, leave the network's own explanation."""
    clf = EEGNetClassifier(**FAST).fit(epochs)
    expected = mne_xai.explain(clf, epochs, "saliency", verbose=False).get_data()
    for skipped in ("passthrough", None):
        pipeline = Pipeline([("skipped", skipped), ("network", clf)])
        np.testing.assert_array_equal(
            mne_xai.explain(pipeline, epochs, "saliency", verbose=False).get_data(),
            expected,
        )
    scaled = make_pipeline(FunctionTransformer(lambda x: x), clf)
    with pytest.raises(ValueError, match="transforms the data before the network"):
        mne_xai.explain(scaled, epochs, "saliency")


@pytest.mark.parametrize("in_a_search", [False, True])
def test_a_transforming_pipeline_is_refused_with_advice_for_the_caller(
    epochs, in_a_search
):
    """maximize_activation and temporal_filters, which take no epochs, and
    spatial_patterns, which makes no attributions, were told "attributions need
    the network's own input. Explain pipeline[-1] on
    pipeline[:-1].transform(epochs) instead"."""
    X, y = epochs.get_data(), epochs.events[:, 2]
    network = EEGNetClassifier(info=epochs.info, **FAST)
    doubled = make_pipeline(FunctionTransformer(lambda x: 2 * x), network)
    if in_a_search:
        doubled = GridSearchCV(doubled, {"eegnetclassifier__lr": [0.01]}, cv=2)
    doubled.fit(X, y)
    for read_alone in (
        lambda: mne_xai.inspect.maximize_activation(doubled, 1, n_steps=1),
        lambda: mne_xai.inspect.temporal_filters(doubled),
    ):
        with pytest.raises(ValueError, match=r"network alone: pass pipeline\[-1\]"):
            read_alone()
    for read_epochs in (
        lambda: mne_xai.inspect.spatial_patterns(doubled, X),
        lambda: mne_xai.inspect.temporal_filters(doubled, X),
        lambda: mne_xai.explain(doubled, X, "saliency"),
    ):
        with pytest.raises(ValueError) as err:
            read_epochs()
        assert "attributions" not in str(err.value)
        assert "pipeline[:-1].transform(epochs) in place of the epochs" in str(
            err.value
        )
    # The advice works.
    pipeline = doubled.best_estimator_ if in_a_search else doubled
    mne_xai.inspect.temporal_filters(pipeline[-1])
    mne_xai.inspect.spatial_patterns(pipeline[-1], pipeline[:-1].transform(X))


def test_plain_skorch_classifier_with_its_channels(epochs):
    X = epochs.get_data().astype(np.float32) * 1e5
    y = epochs.events[:, 2] - 1
    net = NeuralNetClassifier(
        EEGNet,
        module__n_channels=4,
        module__n_classes=2,
        module__n_times=128,
        module__sfreq=64.0,
        module__input_scale=1.0,
        max_epochs=2,
        batch_size=8,
        train_split=None,
        verbose=False,
    ).fit(X, y)
    with pytest.raises(ValueError, match="does not know its channels"):
        mne_xai.explain(net, X, "saliency")
    network = as_network(net, info=epochs.info)
    maps = mne_xai.explain(network, X, "gradient_x_input", target=1, verbose=False)
    assert maps.ch_names == epochs.ch_names
    # Epochs are read by channel name, whatever their order in the file.
    reordered = mne.EpochsArray(X, epochs.info, verbose=False).reorder_channels(
        ["Cz", "C4", "Pz", "C3"]  # a cycle, not its own inverse
    )
    again = mne_xai.explain(network, reordered, "gradient_x_input", target=1)
    assert again.ch_names == reordered.ch_names  # in the user's order
    np.testing.assert_allclose(
        again.get_data(picks=epochs.ch_names), maps.get_data(), rtol=1e-5
    )
    # The refusal named a CroppedClassifier's windows as the reason.
    with pytest.raises(ValueError, match="skorch records no statistics"):
        mne_xai.explain(network, X, "integrated_gradients", baseline="mean")
    # Epochs of another length: torch's "mat1 and mat2 shapes" in evaluations.
    linear = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 128, 2)),
        max_epochs=1,
        train_split=None,
        verbose=False,
    ).fit(X, y)
    shorter = mne.EpochsArray(X[..., :100], epochs.info, verbose=False)
    for evaluate in (perturbation_test, deletion_curve, parameter_randomization_check):
        with pytest.raises(ValueError, match="another length than it was trained"):
            evaluate(as_network(linear, info=epochs.info), shorter, "saliency")


def _untrained_linear_network():
    """A linear skorch network of the epochs' shape, initialized, not trained."""
    return NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 128, 2)),
        classes=[0, 1],
    ).initialize()


class DenseOfFixedLength(torch.nn.Module):
    """A dense readout of 4 channels of 128 samples: other lengths fail in torch."""

    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(4 * 128, 2)

    def forward(self, x):  # noqa: D102
        return self.dense(x.flatten(1))


def test_a_network_failing_on_the_epochs_is_named_with_their_shape(epochs):
    """A skorch network fitted elsewhere records no epoch length: on epochs of
    another, it fails deep in torch, which explain says with the shape it gave
    and what to check, from whichever pass meets it first."""
    net = NeuralNetClassifier(
        DenseOfFixedLength, max_epochs=0, train_split=None, classes=[0, 1]
    ).initialize()
    network = as_network(net, info=epochs.info)
    match = r"The network failed on epochs of shape \(\d+, 4, 64\)"
    with pytest.raises(ValueError, match=match):
        mne_xai.explain(network, epochs.get_data()[..., :64], "saliency", target=1)


def test_a_skorch_classifier_keeps_the_channels_it_was_told(epochs):
    """Epochs whose info it was given, renamed in place afterwards, renamed
    the channels it reads: it refused the Epochs it was trained on."""
    renamed = epochs.copy()
    network = as_network(_untrained_linear_network(), info=renamed.info)
    renamed.rename_channels(lambda name: f"{name}'")
    maps = mne_xai.explain(network, epochs, "saliency", target=1, verbose=False)
    assert maps.ch_names == epochs.ch_names


@pytest.mark.filterwarnings("ignore:After training")
def test_an_estimator_fitted_on_arrays_is_evaluated_on_epochs_by_position(epochs):
    """Fitted without info, an estimator of mne_xai reads Epochs by position,
    in the evaluations as in explain: only a skorch classifier is told the
    Epochs' channels there, which the estimator has no way to be told."""
    X = epochs.get_data()
    clf = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0)
    clf.fit(X, epochs.events[:, 2])
    kwargs = dict(n_steps=4, verbose=False)
    on_epochs = deletion_curve(clf, epochs, "saliency", **kwargs)
    np.testing.assert_allclose(
        on_epochs.scores, deletion_curve(clf, X, "saliency", **kwargs).scores
    )


def test_a_skorch_classifier_is_given_no_epoch_length(epochs):
    """skorch records no length of its training epochs: temporal_filters,
    given no epochs, asks for them rather than probe the network with epochs
    of a length of its own."""
    network = as_network(_untrained_linear_network(), info=epochs.info)
    with pytest.raises(ValueError, match="input shape is unknown: pass epochs"):
        mne_xai.inspect.temporal_filters(network)


def _linear_network_trained_on(classifier_class, epochs, factor):
    """A linear skorch network fitted on the epochs' data times ``factor``
    (1e6: in microvolts)."""
    X = epochs.get_data().astype(np.float32) * factor
    torch.manual_seed(0)
    return classifier_class(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(X[0].size, 2)),
        max_epochs=3,
        train_split=None,
        verbose=False,
    ).fit(X, epochs.events[:, 2] - 1)


def test_a_network_trained_on_microvolts_reads_volts_at_its_scaling(epochs):
    """Given Epochs in volts, a network trained on microvolts saw flat epochs
    (one output for all), silently; scaling=1e6 says how it was trained."""
    X = epochs.get_data().astype(np.float32) * 1e6
    net = _linear_network_trained_on(NeuralNetClassifier, epochs, 1e6)
    in_volts = as_network(net, info=epochs.info, scaling=1e6)
    maps = mne_xai.explain(in_volts, epochs, "gradient_x_input", target=1)
    # On the microvolt arrays, the network itself: the same map, per volt.
    expected = mne_xai.explain(
        as_network(net, info=epochs.info), X, "gradient_x_input", target=1
    )
    np.testing.assert_allclose(maps.get_data(), expected.get_data(), rtol=1e-4)
    data = torch.from_numpy(epochs.get_data()).float()
    with torch.no_grad():
        logits = in_volts.module_(data)
        np.testing.assert_allclose(logits, net.module_(torch.from_numpy(X)), rtol=1e-4)
    for scaling in (-1e6, 0, np.inf):  # 0 makes every epoch flat, inf infinite
        with pytest.raises(ValueError, match="scaling must be a positive number"):
            as_network(net, info=epochs.info, scaling=scaling)
    # The events' codes, not the classes 0 and 1 the network was trained as.
    with pytest.raises(ValueError, match=r"event_id maps names to \[2\], which are"):
        as_network(net, info=epochs.info, scaling=1e6, event_id=dict(a=1, b=2))


class _ReadsEpochsInMicrovolts(NeuralNetClassifier):
    """As braindecode's EEGClassifier: Epochs are read in microvolts."""

    epochs_factor = 1e6

    def get_dataset(self, X, y=None):
        if isinstance(X, mne.BaseEpochs):
            X = (X.get_data() * self.epochs_factor).astype(np.float32)
        return super().get_dataset(X, y)


class _ReadsEpochsInKilovolts(_ReadsEpochsInMicrovolts):
    """Epochs are read scaled down, by a factor below 1."""

    epochs_factor = 1e-3


@pytest.mark.parametrize(
    "classifier_class", [_ReadsEpochsInMicrovolts, _ReadsEpochsInKilovolts]
)
def test_a_classifier_reading_epochs_in_another_unit_needs_its_scaling(
    epochs, classifier_class
):
    """Passed as it is, it was explained on volts while its own predict read
    the same Epochs in microvolts: every output that of a flat epoch. A
    factor below 1 is as much another unit as one above."""
    factor = classifier_class.epochs_factor
    net = _linear_network_trained_on(classifier_class, epochs, factor)
    with pytest.raises(ValueError, match=re.escape(f"scaling={factor:g}) to explain")):
        mne_xai.explain(net, epochs, "gradient_x_input", target=1)
    with pytest.raises(
        ValueError, match=re.escape(f"multiplies Epochs by {factor:g} ")
    ):
        as_network(net, info=epochs.info)
    network = as_network(net, info=epochs.info, scaling=factor)
    with torch.no_grad():
        logits = network.module_(torch.from_numpy(epochs.get_data()).float())
    np.testing.assert_allclose(logits, net.forward(epochs), rtol=1e-4)
    # scaling=1: arrays in the unit it was trained on, as its predict reads them.
    X = epochs.get_data().astype(np.float32) * factor
    as_trained = as_network(net, info=epochs.info, scaling=1)
    with torch.no_grad():
        logits = as_trained.module_(torch.from_numpy(X))
    np.testing.assert_allclose(logits, net.forward(X), rtol=1e-4)


class _ReadsEpochsItsOwnWay(NeuralNetClassifier):
    """A get_dataset that reads the data of Epochs through ``read_epochs``."""

    def get_dataset(self, X, y=None):
        if isinstance(X, mne.BaseEpochs):
            X = self.read_epochs(X.get_data()).astype(np.float32)
        return super().get_dataset(X, y)


def _refusing(error):
    def read_epochs(data):
        raise error("Give arrays.")

    return read_epochs


def _reading_its_own_way(read_epochs):
    net = _ReadsEpochsItsOwnWay(torch.nn.Linear(64, 2), classes=[0, 1])
    net.read_epochs = read_epochs
    return net.initialize()


@pytest.mark.parametrize(
    "read_epochs",
    [_refusing(TypeError), _refusing(ValueError), lambda data: data[..., 32:96]],
)
def test_a_classifier_whose_reading_says_nothing_of_a_unit_is_taken_as_it_is(
    epochs, read_epochs
):
    """Refusing the probe epoch, or returning none of its two samples (a
    fixed span), tells no factor: the classifier is neither refused nor scaled."""
    net = _reading_its_own_way(read_epochs)
    assert as_network(net, info=epochs.info).module_ is net.module_


def test_a_classifier_failing_otherwise_on_epochs_says_so(epochs):
    """TypeError and ValueError are how a get_dataset refuses Epochs; another
    error (a bug of its own, here a KeyError) is raised, not taken for a
    reading that says nothing of a unit: its network would be explained on
    data of a unit nothing checked."""
    net = _reading_its_own_way(_refusing(KeyError))
    with pytest.raises(KeyError, match="Give arrays"):
        as_network(net, info=epochs.info)


@pytest.mark.parametrize(
    "read_epochs",
    [
        lambda data: data - data.mean(axis=-1, keepdims=True),
        lambda data: -data,
        lambda data: data / np.abs(data).max(axis=(1, 2), keepdims=True),
    ],
    ids=["mean removed", "negated", "each by its peak"],
)
def test_a_classifier_changing_epochs_by_no_positive_factor_is_refused(
    epochs, read_epochs
):
    """A get_dataset that removes each epoch's mean made a probe epoch of
    ones 0, and one negating Epochs made it -1: they were told to pass
    scaling=0 or -1, which as_network refuses. One scaling each epoch by its
    own peak left the epoch of ones as it was, and was explained on volts
    while it predicts on epochs of peak 1. Arrays read as the network reads
    them are taken at scaling=1."""
    net = _reading_its_own_way(read_epochs)
    with pytest.raises(ValueError, match="by no single positive factor.*scaling=1"):
        as_network(net, info=epochs.info)
    assert as_network(net, info=epochs.info, scaling=1).module_.module is net.module_


def _skorch_eegnet(X, y, seed):
    return NeuralNetClassifier(
        EEGNet,
        module__n_channels=4,
        module__n_classes=2,
        module__n_times=128,
        module__sfreq=64.0,
        module__input_scale=1e5,
        max_epochs=2,
        batch_size=8,
        train_split=None,
        verbose=False,
        iterator_train__shuffle=False,
    ).fit(X, y)


def test_sanity_checks_run_on_any_network_of_the_contract(epochs):
    """Randomization needs copies of the module only; retraining needs our estimator."""
    X = epochs.get_data().astype(np.float32)
    y = epochs.events[:, 2] - 1
    torch.manual_seed(0)
    network = as_network(_skorch_eegnet(X, y, 0), info=epochs.info)
    kwargs = dict(random_state=0, verbose=False)
    cascading = parameter_randomization_check(network, epochs, "saliency", **kwargs)
    layers = [name for name, _ in network.module_.named_modules() if name]
    assert set(cascading.steps) <= set(layers) and len(cascading.steps) >= 4
    # Every parameter re-initialized: the maps have little left of the original.
    assert cascading.mean.iloc[-1, 0] < 0.9
    cropped = CroppedClassifier(EEGNetClassifier(**FAST)).fit(epochs)
    target = target_randomization_check(cropped, epochs, "saliency", **kwargs)
    assert target.similarity[target.metric].shape == (1, len(epochs))
    with pytest.raises(TypeError, match="randomized_estimator"):
        data_randomization_check(network, epochs, "saliency")
    torch.manual_seed(1)
    shuffled = _skorch_eegnet(X, np.random.default_rng(0).permutation(y), 1)
    data = data_randomization_check(
        network, epochs, "saliency", randomized_estimator=shuffled, **kwargs
    )
    assert data.steps == ["data"]


def test_a_search_is_explained_through_its_refitted_best_estimator(epochs):
    grid = {"module__F1": [2, 4]}
    y = epochs.events[:, 2]
    search = GridSearchCV(EEGNetClassifier(**FAST), grid, cv=2).fit(epochs, y)
    assert as_network(search) is search.best_estimator_
    np.testing.assert_array_equal(
        mne_xai.explain(search, epochs, verbose=False).get_data(),
        mne_xai.explain(search.best_estimator_, epochs, verbose=False).get_data(),
    )
    not_refit = GridSearchCV(EEGNetClassifier(**FAST), grid, cv=2, refit=False)
    with pytest.raises(TypeError, match="GridSearchCV.*refit=True"):
        as_network(not_refit.fit(epochs, y))


class _SmallNet(torch.nn.Module):
    """A network of skorch's examples: logits, or (log-)probabilities for NLLLoss."""

    def __init__(self, output):
        super().__init__()
        self.output = output
        self.conv = torch.nn.Conv1d(4, 3, 9)
        self.dense = torch.nn.Linear(3, 2)

    def forward(self, x):
        logits = self.dense(self.conv(x * 1e5).square().mean(dim=-1))
        if self.output == "logits":
            return logits
        return getattr(torch, self.output)(logits, dim=-1)


@pytest.mark.parametrize(
    "output, said",
    [
        ("logits", None),
        ("softmax", "returns probabilities"),
        ("log_softmax", "returns log-probabilities"),
    ],
)
def test_a_foreign_network_returning_probabilities_is_explained_with_a_warning(
    epochs, output, said
):
    net = NeuralNetClassifier(
        _SmallNet,
        module__output=output,
        # skorch's default NLLLoss takes probabilities (it logs them itself).
        criterion=torch.nn.NLLLoss
        if output == "softmax"
        else torch.nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=False,
    ).fit(epochs.get_data().astype(np.float32), epochs.events[:, 2] - 1)
    network = as_network(net, info=epochs.info)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mne_xai.explain(network, epochs, method="saliency", verbose=False)
        # best_samples reads them as probabilities, as its scores say.
        mne_xai.inspect.best_samples(network, epochs, k=1, among="all", verbose=False)
    messages = [str(warning.message) for warning in caught]
    assert [m for m in messages if "returns" in m and "probabilities" in m] == [
        m for m in messages if said is not None and said in m
    ]
    assert said is None or sum(said in m for m in messages) == 1


class _OneScoreNet(torch.nn.Module):
    """A binary network of skorch's NeuralNetBinaryClassifier: one score per epoch."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 3, 9)
        self.relu = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool1d(1)
        self.dense = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.dense(self.pool(self.relu(self.conv(x * 1e5)))[..., 0])[:, 0]


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_a_binary_threshold_at_either_bound_is_refused(threshold):
    """At a threshold of 0 or 1 the classifier predicts one class whatever the
    input, and no map can say why: refused by name, not by a math error."""
    with pytest.raises(ValueError, match=f"strictly between 0 and 1, got {threshold}"):
        BinaryLogOdds(torch.nn.Linear(3, 1), threshold)


@pytest.mark.parametrize("threshold", ["default", "median"])
def test_a_binary_classifier_with_one_score_is_explained_per_class(epochs, threshold):
    X = epochs.get_data().astype(np.float32)
    torch.manual_seed(0)
    net = NeuralNetBinaryClassifier(
        _OneScoreNet, max_epochs=3, train_split=None, verbose=False
    ).fit(X, (epochs.events[:, 2] - 1).astype(np.float32))
    if threshold == "median":  # half the epochs on each side of the threshold
        net.threshold = float(np.median(net.predict_proba(X)[:, 1]))
    network = as_network(net, info=epochs.info)
    with torch.no_grad():
        score = net.module_(torch.from_numpy(X))
        zero_score = net.module_(torch.zeros_like(torch.from_numpy(X)))
    kwargs = dict(method="deeplift", verbose=False)
    second = mne_xai.explain(network, epochs, target=1, **kwargs).get_data()
    first = mne_xai.explain(network, epochs, target=0, **kwargs).get_data()
    # The explained logit of classes_[1] is the network's score; of classes_[0],
    # its negative (the log-odds of each class).
    np.testing.assert_allclose(
        second.sum(axis=(1, 2)), score - zero_score, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(first, -second, rtol=1e-5, atol=1e-9)
    # The predicted class is the one the classifier predicts at its threshold.
    predicted = mne_xai.explain(network, epochs, **kwargs).get_data()
    predicted_class = net.predict(X)
    if threshold == "median":
        assert predicted_class.mean() == 0.5
    chosen = np.where(predicted_class[:, None, None] == 1, second, first)
    np.testing.assert_allclose(predicted, chosen, rtol=1e-5, atol=1e-9)
    # LRP refused every binary classifier: the wrapper subtracted a shift of 0
    # at the default threshold. Off it, the shift is a constant LRP has no
    # rule for.
    if threshold == "default":
        relevance = mne_xai.explain(network, epochs, method="lrp_epsilon", target=1)
        assert np.corrcoef(relevance.get_data().ravel(), second.ravel())[0, 1] > 0.9
    else:
        with pytest.raises(ValueError, match="no rule for a constant"):
            mne_xai.explain(network, epochs, method="lrp_epsilon", target=1)


class _OneColumnNet(_OneScoreNet):
    def forward(self, x):
        return super().forward(x)[:, None]


class _BinaryCrossEntropy(torch.nn.BCEWithLogitsLoss):
    def forward(self, scores, y):
        return super().forward(scores[:, 0], y.float())


def test_network_of_fewer_logits_than_classes_is_refused(epochs):
    """A NeuralNetClassifier trained with binary cross-entropy on one column:
    the score of classes_[1] was explained as the logit of classes_[0]."""
    X = epochs.get_data().astype(np.float32)
    net = NeuralNetClassifier(
        _OneColumnNet,
        criterion=_BinaryCrossEntropy,
        max_epochs=1,
        train_split=None,
        verbose=False,
    ).fit(X, epochs.events[:, 2] - 1)
    network = as_network(net, info=epochs.info)
    for target in (None, 0):
        with pytest.raises(ValueError, match="returns 1 logit.* of 2 classes"):
            mne_xai.explain(network, epochs, "saliency", target=target)


def test_what_is_not_a_network_is_refused():
    with pytest.raises(
        TypeError, match="Cannot read a network in a LogisticRegression"
    ):
        from sklearn.linear_model import LogisticRegression

        as_network(LogisticRegression())


def test_attribution_package_is_reachable_beside_the_function():
    """The package of methods has its own name; the old one warns, the function stays."""
    assert callable(mne_xai.explain)
    assert mne_xai.attribution.register_method.__module__.startswith(
        "mne_xai.attribution"
    )
    with pytest.warns(FutureWarning, match="mne_xai.attribution.register_method"):
        from mne_xai.explain import register_method
    assert register_method is mne_xai.attribution.register_method
    from mne_xai.explain.gradient import Saliency

    assert Saliency is mne_xai.attribution.gradient.Saliency
    # Importing the deprecated module must not replace the function.
    assert callable(mne_xai.explain)
    assert not isinstance(mne_xai.explain, type(mne_xai))


def test_the_old_module_name_warns_once_at_the_users_import(monkeypatch):
    """``from mne_xai.explain.gradient import Saliency`` worked without a word,
    so code using it would break unannounced when the alias goes; and
    ``from mne_xai.explain import name`` warned twice, once inside importlib."""
    for name in list(sys.modules):
        if name == "mne_xai.explain" or name.startswith("mne_xai.explain."):
            monkeypatch.delitem(sys.modules, name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        from mne_xai.explain.gradient import Saliency

        from mne_xai.explain import register_method
    assert Saliency is mne_xai.attribution.gradient.Saliency
    assert register_method is mne_xai.attribution.register_method
    assert [str(warning.message).split(" is deprecated")[0] for warning in caught] == [
        "The module mne_xai.explain",
        "mne_xai.explain.register_method",
    ]
    assert {warning.filename for warning in caught} == {__file__}
    assert all(warning.category is FutureWarning for warning in caught)


def _old_module(name="mne_xai.explain"):
    """The deprecated module ``name``, imported without its warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return importlib.import_module(name)


@pytest.mark.parametrize(
    "name",
    ["cam", "deeplift", "gradient", "guided", "lrp", "perturbation"]
    + ["postprocess", "spectral"],
)
def test_every_moved_module_is_found_by_its_old_name(name):
    """Each module that moved to mne_xai.attribution imports by its old name as
    the same module, so a class imported either way is one class."""
    old = _old_module(f"mne_xai.explain.{name}")
    assert old is importlib.import_module(f"mne_xai.attribution.{name}")


def test_the_old_module_has_no_name_the_attribution_package_lacks():
    """Only names of mne_xai.attribution are forwarded: another one raises
    AttributeError (``hasattr`` is False), with no warning sending the user to
    a name that does not exist either."""
    old = _old_module()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not hasattr(old, "no_such_name")


class _LinearScore(torch.nn.Module):
    """One score per window of 64 samples, as NeuralNetBinaryClassifier trains."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4 * 64, 1)

    def forward(self, x):
        return self.linear(x.flatten(1))[:, 0]


@pytest.mark.parametrize("scaling", [None, 1e6])
def test_a_cropped_binary_classifier_is_scored_by_its_probabilities(scaling):
    """Its windows' outputs (-s, s) were read through a softmax, sigmoid(2 s),
    not the classifier's sigmoid(z): best_samples' scores were 1.96 off
    logit(predict_proba), and the mean window probability (pruning's score)
    disagreed with predict on 24 of 60 epochs at threshold 0.3. So also when
    its data are given in another unit (``scaling``), which wraps the score."""
    from mne_xai.inspect import best_samples
    from mne_xai.inspect._activations import _logits_and_prediction

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4, 128)).astype(np.float32)
    y = (rng.random(60) < 0.5).astype(np.float32)
    X[y == 1, 0] += 0.5
    torch.manual_seed(0)
    net = NeuralNetBinaryClassifier(
        _LinearScore, max_epochs=5, lr=0.05, threshold=0.3, train_split=None, verbose=0
    )
    cropped = CroppedClassifier(
        net, window_length=0.5, window_step=0.25, sfreq=128.0
    ).fit(X, y)
    proba = cropped.predict_proba(X).astype(np.float64)
    network = as_network(cropped, scaling=scaling)
    given = torch.from_numpy(X if scaling is None else X / np.float32(scaling))
    scores = best_samples(network, given.numpy(), k=3, among="all").scores
    np.testing.assert_allclose(scores, np.log(proba / (1 - proba)), atol=1e-5)
    module = network.module_.eval()
    with torch.no_grad():
        mean_window = module.class_probabilities(given)
        # The class whose decision pruning's attribution order follows.
        _, followed = _logits_and_prediction(module, given)
    np.testing.assert_allclose(mean_window.numpy(), proba, atol=1e-6)
    np.testing.assert_array_equal(followed.numpy(), proba.argmax(axis=1))
