"""Patterns of attributions, and PatternNet / PatternAttribution, against exact results."""

import copy

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from mne_xai import EEGNetClassifier, explain
from mne_xai.attribution._registry import get_method
from mne_xai.attribution.pattern import NetworkPatterns
from mne_xai.evaluate import (
    data_randomization_check,
    parameter_randomization_check,
    target_randomization_check,
)
from mne_xai.inspect import attribution_patterns, learn_patterns

N_CHANNELS, N_TIMES = 6, 16
METHODS = ("pattern_net", "pattern_attribution")


def _estimator(module, X, y):
    """An estimator around ``module``, built without training (weights set by hand)."""
    return EEGNetClassifier(
        module=module, max_epochs=0, random_state=0, verbose=False
    ).fit(X, y)


def _linear_network(epochs, filter_, bias=0.0):
    """A network whose class-1 logit is ``<filter_, x> + bias`` (class 0: zero)."""
    clf = _estimator(nn.Sequential(nn.Flatten(), nn.Linear(96, 2)), epochs, None)
    linear = clf.module_.module[1]
    scale = float(clf.module_.input_scale)  # ScaledInput multiplies x by it first
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[1] = torch.as_tensor(np.repeat(filter_, N_TIMES) / scale)
        linear.bias.zero_()
        linear.bias[1] = bias
    return clf


@pytest.fixture(scope="module")
def planted():
    """Epochs with a source of known forward pattern under spatially correlated noise.

    Each time sample is ``x_t = p s_t + n_t``: the planted pattern ``p`` times a
    source ``s_t`` (sign set by the class), plus noise of covariance ``N``
    shared by the channels. The network's filter is the one that extracts
    ``s`` best, ``w ∝ N⁻¹ p``, which points elsewhere than ``p``.
    """
    rng = np.random.default_rng(0)
    n_epochs = 200
    pattern = np.array([1.0, 0.8, 0.3, 0.0, -0.2, 0.0])
    mixing = rng.standard_normal((N_CHANNELS, N_CHANNELS)) + 2 * np.eye(N_CHANNELS)
    noise_covariance = mixing @ mixing.T
    y = np.repeat([0, 1], n_epochs // 2)
    source = rng.standard_normal((n_epochs, N_TIMES)) + (2 * y[:, None] - 1)
    noise = np.einsum("ij,ejt->eit", mixing, rng.standard_normal((n_epochs, 6, 16)))
    data = 1e-6 * (pattern[None, :, None] * source[:, None] + noise)
    info = mne.create_info([f"EEG{i}" for i in range(N_CHANNELS)], 100.0, "eeg")
    events = np.column_stack([np.arange(n_epochs), np.zeros(n_epochs, int), y + 1])
    metadata = pd.DataFrame({"trial": np.arange(n_epochs)})
    epochs = mne.EpochsArray(
        data,
        info,
        events,
        event_id={"left": 1, "right": 2},
        metadata=metadata,
        verbose=False,
    )
    filter_ = np.linalg.solve(noise_covariance, pattern)
    return epochs, _linear_network(epochs, filter_), pattern


def _correlation(a, b):
    return np.corrcoef(a, b)[0, 1]


def test_pattern_view_recovers_the_planted_pattern(planted):
    """The saliency of a linear network is its filter w; its pattern C w is p.

    With data covariance C = var(s) p pᵀ + N and w = N⁻¹ p, C w = p (var(s) pᵀw
    + 1): the planted pattern, at every time sample, while w itself is not.
    """
    epochs, clf, pattern = planted
    saliency = explain(
        clf, epochs, "saliency", target="right", absolute=False, average=True
    )
    patterns = attribution_patterns(
        clf, epochs, "saliency", target="right", verbose=False
    )
    assert isinstance(patterns, mne.EvokedArray)
    assert patterns.ch_names == epochs.ch_names and patterns.nave == len(epochs)
    np.testing.assert_allclose(patterns.times, epochs.times)
    for t in range(N_TIMES):
        assert _correlation(patterns.data[:, t], pattern) > 0.99
        assert _correlation(saliency.data[:, t], pattern) < 0.6
    # Signed by default: the pattern of |gradient| would lose the sign of p.
    np.testing.assert_allclose(
        patterns.data,
        np.cov(np.moveaxis(epochs.get_data(), 1, 0).reshape(N_CHANNELS, -1))
        @ saliency.data,
        rtol=1e-5,
    )


def test_smoothgrad_patterns_are_those_of_its_signed_base_method(planted):
    """SmoothGrad took saliency's default, |gradient|: its pattern, C times a map
    never negative, did not follow the planted one. On a linear network every
    noisy copy has the gradient w, so the pattern is saliency's. An absolute
    map asked for, of either, is run as asked."""
    epochs, clf, pattern = planted
    kwargs = dict(target="right", random_state=0, verbose=False)
    expected = attribution_patterns(clf, epochs, "saliency", **kwargs)
    smoothed = attribution_patterns(clf, epochs, "smoothgrad", n_samples=2, **kwargs)
    np.testing.assert_allclose(smoothed.data, expected.data, rtol=1e-4)
    assert _correlation(smoothed.data[:, 0], pattern) > 0.99
    absolute = attribution_patterns(clf, epochs, "saliency", absolute=True, **kwargs)
    assert not np.allclose(absolute.data, expected.data, rtol=1e-3, atol=0)
    smoothed = attribution_patterns(
        clf, epochs, "smoothgrad", n_samples=2, base_params={"absolute": True}, **kwargs
    )
    np.testing.assert_allclose(smoothed.data, absolute.data, rtol=1e-4)
    with pytest.raises(ValueError, match="squares, which have no sign"):
        attribution_patterns(clf, epochs, "smoothgrad", variant="vargrad", **kwargs)


def test_patterns_of_epochs_in_another_channel_order_keep_it(planted):
    """The covariance, in the network's channel order, multiplied maps in the
    order of the Epochs given: patterns of reordered Epochs were those of other
    channels."""
    epochs, clf, pattern = planted
    order = epochs.ch_names[1:] + epochs.ch_names[:1]  # not its own inverse
    kwargs = dict(method="saliency", target="right", verbose=False)
    expected = attribution_patterns(clf, epochs, **kwargs)
    patterns = attribution_patterns(
        clf, epochs.copy().reorder_channels(order), **kwargs
    )
    assert patterns.ch_names == order
    np.testing.assert_allclose(
        patterns.data, expected.copy().reorder_channels(order).data, rtol=1e-5
    )
    in_given_order = [epochs.ch_names.index(name) for name in order]
    assert _correlation(patterns.data[:, 0], pattern[in_given_order]) > 0.99


def test_per_epoch_patterns_keep_the_epochs_and_average_to_the_mean(planted):
    epochs, clf, _ = planted
    subset = epochs[::10]
    per_epoch = attribution_patterns(
        clf, subset, "gradient_x_input", target="true", average=False, verbose=False
    )
    assert isinstance(per_epoch, mne.EpochsArray)
    assert per_epoch.get_data().shape == subset.get_data().shape
    np.testing.assert_array_equal(per_epoch.events, subset.events)
    assert per_epoch.event_id == subset.event_id
    np.testing.assert_array_equal(per_epoch.metadata["trial"], subset.metadata["trial"])
    # The covariance is shared, so the pattern of the mean map is the mean pattern.
    averaged = attribution_patterns(
        clf, subset, "gradient_x_input", target="true", batch_size=3, verbose=False
    )
    np.testing.assert_allclose(
        averaged.data, per_epoch.get_data().mean(axis=0), rtol=1e-5
    )
    assert averaged.comment.startswith("pattern of gradient_x_input")


def test_pattern_methods_of_a_linear_network_are_exact(planted):
    """PatternNet = a f(x) and PatternAttribution = w ⊙ a f(x) for f(x) = wᵀx + b.

    The dense layer's pattern is a = C w / (wᵀ C w) (linear estimator; C the
    covariance of the flattened epochs), so wᵀa = 1 and PatternAttribution
    sums to f(x). The network sees the data in volts times ScaledInput's
    factor s ≈ 1e6: the pattern learned on s x is s a, and s must be divided
    out again (the gradient would multiply by s instead).
    """
    epochs, _, _ = planted
    spatial_filter = np.random.default_rng(2).standard_normal(N_CHANNELS)
    clf = _linear_network(epochs, spatial_filter, bias=0.3)
    X = epochs.get_data().reshape(len(epochs), -1)
    filter_ = clf.module_.module[1].weight[1].detach().double().numpy() * float(
        clf.module_.input_scale
    )
    covariance = np.cov(X.T)
    a = covariance @ filter_ / (filter_ @ covariance @ filter_)
    logit = X @ filter_ + 0.3
    patterns = learn_patterns(clf, epochs, batch_size=32, verbose=False)
    assert patterns.estimators == {"1": "linear"}
    maps = {
        method: explain(clf, epochs, method, target="right", patterns=patterns)
        .get_data()
        .reshape(len(epochs), -1)
        for method in METHODS
    }
    scale = np.abs(a[None] * logit[:, None]).max()
    np.testing.assert_allclose(
        maps["pattern_net"], a[None] * logit[:, None], atol=1e-5 * scale
    )
    expected = (filter_ * a)[None] * logit[:, None]
    np.testing.assert_allclose(
        maps["pattern_attribution"], expected, atol=1e-5 * np.abs(expected).max()
    )
    np.testing.assert_allclose(
        maps["pattern_attribution"].sum(axis=1), logit, rtol=1e-4
    )


class _TwoLayers(nn.Module):
    """Conv1d (channels to units, per time sample) → ReLU → dense logits."""

    def __init__(self, n_units=5, rectifier=nn.ReLU):
        super().__init__()
        self.units = nn.Conv1d(N_CHANNELS, n_units, 1)
        self.relu = rectifier()
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(n_units * N_TIMES, 2)

    def forward(self, x):
        return self.classifier(self.flatten(self.relu(self.units(x))))


def _pattern(inputs, outputs, active, weight):
    """Kindermans' pattern of one unit from samples (rows): inputs, bias-free outputs."""
    mean_y = outputs.mean()
    mean_x = inputs[active].mean(axis=0)
    mean_xy = (inputs[active] * outputs[active, None]).mean(axis=0)
    covariance = mean_xy - mean_x * mean_y
    return covariance / (weight @ covariance)


@pytest.mark.parametrize(
    "rectifier, function",
    [
        (nn.ReLU, lambda z: np.maximum(z, 0)),
        # ELU's negative branch is no signal either: its gradient exp(z) passed
        # there, and no test had a rectifier other than ReLU.
        (nn.ELU, lambda z: np.where(z > 0, z, np.expm1(z))),
    ],
)
def test_two_layer_relu_network_matches_a_hand_computed_reference(rectifier, function):
    """Both methods on Conv1d → ReLU (or ELU) → Linear, computed by hand in NumPy.

    The convolution (kernel 1) feeds a ReLU: its units' patterns use the
    two-component estimator over all (epoch, time) samples, E₊ where the unit
    is active. The dense layer gets the linear one. The backward pass starts
    from the logit, goes through the dense patterns (or weights ⊙ patterns),
    is gated where the ReLU was active, and goes through the unit patterns.
    """
    rng = np.random.default_rng(1)
    X = (1e-5 * rng.standard_normal((60, N_CHANNELS, N_TIMES))).astype(np.float32)
    y = np.repeat([0, 1], 30)
    clf = _estimator(_TwoLayers(rectifier=rectifier), X, y)
    network, scale = clf.module_.module, float(clf.module_.input_scale)
    W1 = network.units.weight.detach().double().numpy()[:, :, 0]
    b1 = network.units.bias.detach().double().numpy()
    W2 = network.classifier.weight.detach().double().numpy()
    b2 = network.classifier.bias.detach().double().numpy()

    scaled = scale * X.astype(np.float64)
    samples = np.moveaxis(scaled, 1, 2).reshape(-1, N_CHANNELS)  # (epoch, time) rows
    y1 = samples @ W1.T
    A1 = np.array(
        [_pattern(samples, y1[:, k], y1[:, k] + b1[k] > 0, W1[k]) for k in range(5)]
    )
    z = np.einsum("kc,ect->ekt", W1, scaled) + b1[None, :, None]
    hidden = function(z).reshape(len(X), -1)
    y2 = hidden @ W2.T
    everywhere = np.ones(len(X), bool)
    A2 = np.array([_pattern(hidden, y2[:, c], everywhere, W2[c]) for c in (0, 1)])
    target = np.array([0, 1] * 30)
    logit = (y2 + b2)[np.arange(len(X)), target]

    def reference(dense, units, unit_scale):
        signal = (dense[target] * logit[:, None]).reshape(len(X), 5, N_TIMES)
        signal = signal * (z > 0)
        return np.einsum("kc,ekt->ect", units, signal) * unit_scale

    expected = {
        "pattern_net": reference(A2, A1, 1 / scale),
        "pattern_attribution": reference(W2 * A2, W1 * A1, 1.0),
    }
    patterns = learn_patterns(clf, X, batch_size=16, verbose=False)
    assert patterns.estimators == {
        "units": "two_component",
        "classifier": "linear",
    }
    for method in METHODS:
        maps = explain(clf, X, method, target=target, patterns=patterns).get_data()
        np.testing.assert_allclose(
            maps, expected[method], atol=1e-4 * np.abs(expected[method]).max()
        )


def test_units_at_the_rectifiers_kink_pass_no_signal():
    """The two-component model puts the signal where a unit is active, its input
    above zero. Where an epoch is zero, units without bias sit at exactly zero
    and pass nothing back; a gate at x >= 0 let the signal through there."""
    rng = np.random.default_rng(1)
    X = (1e-5 * rng.standard_normal((60, N_CHANNELS, N_TIMES))).astype(np.float32)
    X[0, :, 3] = 0.0
    clf = _estimator(_TwoLayers(), X, np.repeat([0, 1], 30))
    with torch.no_grad():
        clf.module_.module.units.bias.zero_()
    patterns = learn_patterns(clf, X, verbose=False)
    for method in METHODS:
        maps = explain(clf, X[:1], method, target=1, patterns=patterns).get_data()
        assert np.abs(maps[0, :, 3]).max() == 0, method
        assert np.abs(maps).max() > 0, method


def test_samples_at_the_rectifiers_kink_stay_out_of_the_active_statistics():
    """E₊ is the mean where the unit's output with bias is above zero, as
    documented: where it is exactly zero the unit is off. Unit 0 reads
    ``x0 - x1 / 2`` without bias, and half of the epochs hold ``x1 = 2 x0``:
    their inputs, which have a mean, stay out of E₊[x]."""
    rng = np.random.default_rng(1)
    X = 1e-5 * (rng.standard_normal((60, N_CHANNELS, N_TIMES)) + 3)
    X = X.astype(np.float32)
    X[:30, 1] = 2 * X[:30, 0]  # exactly: doubling is exact in floating point
    clf = _estimator(_TwoLayers(), X, np.repeat([0, 1], 30))
    units = clf.module_.module.units
    with torch.no_grad():
        units.weight[0] = 0
        units.weight[0, :2, 0] = torch.tensor([1.0, -0.5])
        units.bias[0] = 0
    patterns = learn_patterns(clf, X, verbose=False)
    scaled = float(clf.module_.input_scale) * X.astype(np.float64)
    samples = np.moveaxis(scaled, 1, 2).reshape(-1, N_CHANNELS)
    weight = units.weight[0, :, 0].detach().double().numpy()
    outputs = samples @ weight
    expected = _pattern(samples, outputs, outputs > 0, weight)
    np.testing.assert_allclose(patterns.patterns["units"][0, :, 0], expected, rtol=1e-4)


#: The input scaled by -2, written in forward as users write it.
_SCALINGS = {
    "product": lambda zero, x: x * -2.0,
    "negation": lambda zero, x: -(2.0 * x),
    "scalar_minus": lambda zero, x: 0.0 - 2.0 * x,
    "buffer_minus": lambda zero, x: zero - 2.0 * x,
    "sub_alpha": lambda zero, x: torch.sub(zero, x, alpha=2.0),
    "add_alpha": lambda zero, x: torch.add(zero, x, alpha=-2.0),
    "division": lambda zero, x: x / -0.5,
    # A constant tensor times x: the constant is the first operand.
    "constant_first": lambda zero, x: (zero - 2.0) * x,
    # x broadcast to two copies by the constant's shape, then averaged back.
    "broadcast": lambda zero, x: (x * (zero - 2.0).expand(2, 1, 1, 1)).mean(0),
}


class _ScaledTwoLayers(_TwoLayers):
    """:class:`_TwoLayers` reading its input scaled by -2, written as ``form``."""

    def __init__(self, form):
        torch.manual_seed(0)
        super().__init__()
        self.form = form
        self.register_buffer("zero", torch.zeros(()))

    def forward(self, x):
        return super().forward(_SCALINGS[self.form](self.zero, x))


@pytest.mark.parametrize("form", [form for form in _SCALINGS if form != "product"])
def test_negated_scalings_pass_as_products(form):
    """A negation or difference with a constant scales the input as a product
    does, and its pattern is the inverse of the scale. Their gradient was
    passed instead: PatternAttribution's map came back of the opposite sign
    (-x, b - x), and with alpha (torch.sub(b, x, alpha=2)) PatternNet's 4
    times too large. A division by a constant d scales by 1 / d, and its
    pattern is d. A constant that broadcasts the input to copies passes back
    the sum over the copies, in the input's shape."""
    rng = np.random.default_rng(0)
    X = (1e-5 * rng.standard_normal((40, N_CHANNELS, N_TIMES))).astype(np.float32)
    y = np.repeat([0, 1], 20)
    maps = {}
    for name in ("product", form):
        clf = _estimator(_ScaledTwoLayers(name), X, y)
        patterns = learn_patterns(clf, X, verbose=False)
        maps[name] = [
            explain(clf, X, method, target=1, patterns=patterns).get_data()
            for method in METHODS
        ]
    for method, obtained, expected in zip(
        METHODS, maps[form], maps["product"], strict=True
    ):
        np.testing.assert_allclose(
            obtained,
            expected,
            rtol=1e-4,
            atol=1e-6 * np.abs(expected).max(),
            err_msg=method,
        )


class _MaskedTwoLayers(_TwoLayers):
    """:class:`_TwoLayers` reading its first channel multiplied by zero."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.ones(N_CHANNELS, 1))
        self.mask[0] = 0.0

    def forward(self, x):
        return super().forward(x * self.mask)


def test_a_channel_multiplied_by_zero_gets_no_signal_and_no_relevance():
    """A product by a constant 0 has no inverse: the pattern methods pass
    nothing back through it, whatever the patterns behind it say of the
    channel (here set to one by hand)."""
    rng = np.random.default_rng(4)
    X = (1e-5 * rng.standard_normal((40, N_CHANNELS, N_TIMES))).astype(np.float32)
    clf = _estimator(_MaskedTwoLayers(), X, np.repeat([0, 1], 20))
    patterns = learn_patterns(clf, X, verbose=False)
    patterns.patterns["units"] = np.ones_like(patterns.patterns["units"])
    for method in METHODS:
        maps = explain(clf, X[:4], method, target=1, patterns=patterns).get_data()
        assert np.isfinite(maps).all(), method
        assert np.all(maps[:, 0] == 0), method
        assert np.abs(maps[:, 1:]).max() > 0, method


def test_patterns_of_layers_of_another_shape_are_refused():
    """Patterns learned for a network whose layers have the same names but
    other shapes (5 units, here 4) are refused by name, as other weights are."""
    rng = np.random.default_rng(6)
    X = (1e-5 * rng.standard_normal((20, N_CHANNELS, N_TIMES))).astype(np.float32)
    y = np.repeat([0, 1], 10)
    patterns = learn_patterns(_estimator(_TwoLayers(), X, y), X, verbose=False)
    other = _estimator(_TwoLayers(n_units=4), X, y)
    with pytest.raises(ValueError, match="'units' has another shape.*learn_patterns"):
        explain(other, X[:2], "pattern_net", patterns=patterns)


def test_patterns_of_slightly_other_weights_are_refused():
    """Weights trained on after the patterns were learned (here one moved by
    0.1 %) are other filters than the patterns belong to: they are refused."""
    rng = np.random.default_rng(6)
    X = (1e-5 * rng.standard_normal((20, N_CHANNELS, N_TIMES))).astype(np.float32)
    clf = _estimator(_TwoLayers(), X, np.repeat([0, 1], 10))
    patterns = learn_patterns(clf, X, verbose=False)
    tuned = copy.deepcopy(clf)
    with torch.no_grad():
        tuned.module_.module.units.weight[0, 0, 0] *= 1.001
    with pytest.raises(ValueError, match="'units' had other weights"):
        explain(tuned, X[:2], "pattern_net", patterns=patterns)


def test_a_method_called_again_with_other_patterns_uses_them():
    """The preparation is kept between batches for the same patterns; an
    explainer called with other patterns uses those, as a new one does."""
    rng = np.random.default_rng(7)
    X = (1e-5 * rng.standard_normal((40, N_CHANNELS, N_TIMES))).astype(np.float32)
    clf = _estimator(_TwoLayers(), X, np.repeat([0, 1], 20))
    first, second = (
        learn_patterns(clf, half, verbose=False) for half in (X[:20], X[20:])
    )
    inputs, target = torch.from_numpy(X[:4]), torch.ones(4, dtype=torch.int64)
    for method in METHODS:
        explainer = get_method(method)(clf.module_)
        explainer.attribute(inputs, target, patterns=first)
        again = explainer.attribute(inputs, target, patterns=second)
        fresh = get_method(method)(clf.module_).attribute(
            inputs, target, patterns=second
        )
        torch.testing.assert_close(again, fresh)


class _ReshapedTwoLayers(_TwoLayers):
    """:class:`_TwoLayers` whose ReLU reads the units through a reshape."""

    def forward(self, x):
        return self.classifier(self.flatten(self.relu(self.units(x).unsqueeze(1))))


def test_a_layer_feeding_a_rectifier_through_a_reshape_gets_the_two_component_estimator():
    """The rectifier reads the convolution's units, only reshaped: the units
    get the patterns of the network without the reshape."""
    rng = np.random.default_rng(2)
    X = (1e-5 * rng.standard_normal((40, N_CHANNELS, N_TIMES))).astype(np.float32)
    y = np.repeat([0, 1], 20)
    patterns = []
    for network in (_TwoLayers, _ReshapedTwoLayers):
        torch.manual_seed(0)
        clf = _estimator(network(), X, y)
        patterns.append(learn_patterns(clf, X, verbose=False))
    assert patterns[1].estimators == {
        "units": "two_component",
        "classifier": "linear",
    }
    np.testing.assert_allclose(
        patterns[1].patterns["units"],
        patterns[0].patterns["units"],
        rtol=1e-5,
    )


class _UnitsTwice(_TwoLayers):
    """:class:`_TwoLayers` with its convolution (channels to channels) applied twice."""

    def __init__(self):
        super().__init__(n_units=N_CHANNELS)

    def forward(self, x):
        return super().forward(self.units(x))


def test_a_layer_called_twice_is_refused():
    """One pattern per layer cannot serve two calls of it."""
    rng = np.random.default_rng(3)
    X = (1e-5 * rng.standard_normal((20, N_CHANNELS, N_TIMES))).astype(np.float32)
    clf = _estimator(_UnitsTwice(), X, np.repeat([0, 1], 10))
    with pytest.raises(ValueError, match=r"\['units'\] are called more than"):
        learn_patterns(clf, X, verbose=False)


class _DenseOverTime(nn.Module):
    """A dense layer over each channel's time samples, then a read-out."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(N_TIMES, 3)
        self.readout = nn.Linear(N_CHANNELS * 3, 2)

    def forward(self, x):
        return self.readout(self.dense(x).flatten(1))


def test_a_dense_layer_on_the_last_axis_has_its_units_there():
    """A Linear given (batch, channels, times) has its units on the last axis
    and a sample per epoch and channel: each unit's linear pattern is
    cov(x, y) over those samples, scaled so that wᵀa = 1."""
    rng = np.random.default_rng(3)
    X = (1e-5 * rng.standard_normal((40, N_CHANNELS, N_TIMES))).astype(np.float32)
    clf = _estimator(_DenseOverTime(), X, np.repeat([0, 1], 20))
    patterns = learn_patterns(clf, X, verbose=False)
    assert patterns.estimators["dense"] == "linear"
    weight = clf.module_.module.dense.weight.detach().double().numpy()
    rows = X.reshape(-1, N_TIMES).astype(np.float64)  # the scaling cancels out
    outputs = rows @ weight.T
    covariance = (rows - rows.mean(axis=0)).T @ (outputs - outputs.mean(axis=0))
    expected = covariance.T / (weight * covariance.T).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(patterns.patterns["dense"], expected, rtol=1e-4)


def test_eegnet_patterns_are_learned_per_layer_and_batch_independent(
    fitted_eegnet, imagery_epochs
):
    patterns = learn_patterns(fitted_eegnet, imagery_epochs, verbose=False)
    assert patterns.n_epochs == len(imagery_epochs)
    # Layers feeding an ELU (through folded batch norm) get the two-component
    # estimator; EEGNet's temporal and depthwise convolutions feed convolutions.
    assert patterns.estimators == {
        "temporal_conv": "linear",
        "spatial_conv": "two_component",
        "separable_depthwise": "linear",
        "separable_pointwise": "two_component",
        "classifier": "linear",
    }
    for name, pattern in patterns.patterns.items():
        weight = patterns.weights[name]
        assert pattern.shape == weight.shape
        # Every pattern is normalized so that its unit reads it out as 1: wᵀa = 1.
        read_out = (weight * pattern).reshape(len(weight), -1).sum(axis=1)
        live = np.abs(pattern).reshape(len(weight), -1).max(axis=1) > 0
        assert live.mean() > 0.5, name
        np.testing.assert_allclose(read_out[live], 1, rtol=1e-4, err_msg=name)
    small_batches = learn_patterns(
        fitted_eegnet, imagery_epochs, batch_size=7, verbose=False
    )
    for name, pattern in patterns.patterns.items():
        np.testing.assert_allclose(
            small_batches.patterns[name],
            pattern,
            rtol=1e-4,
            atol=1e-6 * abs(pattern).max(),
        )


def test_patterns_of_a_pruned_network_are_those_of_its_pruned_weights(
    fitted_eegnet, imagery_epochs
):
    """learn_patterns failed on an EEGNet pruned with torch.nn.utils.prune:
    folding spatial_bn into the pruned spatial_conv made pruning's forward
    pre-hook fail in torch ("cannot assign 'torch.FloatTensor' as parameter
    'weight'"). Patterns and maps are those of the network holding the pruned
    weights (weight_orig times weight_mask, half of them zero)."""
    epochs = imagery_epochs[:20]
    pruned = copy.deepcopy(fitted_eegnet)
    prune.l1_unstructured(pruned.module_.spatial_conv, "weight", amount=0.5)
    plain = copy.deepcopy(pruned)
    prune.remove(plain.module_.spatial_conv, "weight")
    patterns, plain_patterns = (
        learn_patterns(clf, epochs, verbose=False) for clf in (pruned, plain)
    )
    for name, pattern in plain_patterns.patterns.items():
        np.testing.assert_allclose(
            patterns.patterns[name], pattern, rtol=1e-4, atol=1e-6 * abs(pattern).max()
        )
    maps, plain_maps = (
        explain(clf, epochs[:4], "pattern_attribution", patterns=learned).get_data()
        for clf, learned in ((pruned, patterns), (plain, plain_patterns))
    )
    np.testing.assert_allclose(maps, plain_maps, atol=1e-4 * abs(plain_maps).max())
    assert prune.is_pruned(pruned.module_)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("network", ["fitted_eegnet", "fitted_icnn"])
def test_methods_explain_both_networks_as_mne_objects(
    request, imagery_epochs, network, method
):
    clf = request.getfixturevalue(network)
    explained = imagery_epochs[:6]
    patterns = learn_patterns(clf, imagery_epochs, verbose=False)
    attribution = explain(clf, explained, method, patterns=patterns, batch_size=4)
    data = attribution.get_data()
    assert isinstance(attribution, mne.EpochsArray)
    assert data.shape == explained.get_data().shape
    assert np.isfinite(data).all() and np.abs(data).max() > 0
    np.testing.assert_array_equal(attribution.events, explained.events)
    # The same maps whatever the batch.
    one_by_one = explain(clf, explained, method, patterns=patterns, batch_size=1)
    np.testing.assert_allclose(
        one_by_one.get_data(), data, rtol=1e-4, atol=1e-6 * np.abs(data).max()
    )


def test_pattern_methods_refuse_missing_or_foreign_patterns(
    planted, fitted_eegnet, imagery_epochs
):
    epochs, clf, _ = planted
    with pytest.raises(ValueError, match="needs the patterns.*learn_patterns"):
        explain(clf, epochs[:2], "pattern_net")
    with pytest.raises(TypeError, match="patterns must be an instance of"):
        explain(clf, epochs[:2], "pattern_attribution", patterns={"1": 1})
    foreign = learn_patterns(clf, epochs, verbose=False)
    other = _estimator(nn.Sequential(nn.Flatten(), nn.Linear(96, 2)), epochs, None)
    with pytest.raises(ValueError, match="'1' had other weights.*learn_patterns"):
        explain(other, epochs[:2], "pattern_net", patterns=foreign)
    assert isinstance(foreign, NetworkPatterns)
    with pytest.raises(ValueError, match="'temporal_conv' has no pattern"):
        explain(
            fitted_eegnet, imagery_epochs[:2], "pattern_attribution", patterns=foreign
        )


def test_checks_changing_the_network_refuse_pattern_methods_for_what_they_are(
    planted,
):
    """The patterns, learned for this very network, were refused for each
    randomized copy as "not learned for this network: learn_patterns(...)"."""
    epochs, clf, _ = planted
    patterns = learn_patterns(clf, epochs, verbose=False)
    for check, kwargs in (
        (parameter_randomization_check, {}),
        (data_randomization_check, dict(randomized_estimator=clf)),
    ):
        with pytest.raises(ValueError, match="learned again for every such network"):
            check(clf, epochs[:4], "pattern_attribution", patterns=patterns, **kwargs)
    # The network is kept: the patterns hold.
    result = target_randomization_check(
        clf, epochs[:4], "pattern_net", patterns=patterns, verbose=False
    )
    assert result.similarity["spearman"].shape == (1, 4)


@pytest.mark.filterwarnings("ignore:epochs has a standard deviation")
def test_an_epoch_overflowing_the_network_after_the_first_batch_is_named(planted):
    """Only the first epochs are checked before learning: a later one whose
    sample of 1e36 V (finite in float32) overflows the network would make the
    statistics infinite, and every pattern with them."""
    epochs, clf, _ = planted
    overflowing = epochs[:16].copy()
    overflowing._data[11, 2, 5] = 1e36
    with pytest.raises(ValueError, match=r"overflows the network: .* epoch\(s\) 11 "):
        learn_patterns(clf, overflowing, batch_size=8, verbose=False)


class _RandomInEvaluation(nn.Module):
    """A dense read-out of the epochs after ``F.dropout``, which keeps its
    default ``training=True`` in evaluation mode."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.dense = nn.Linear(N_CHANNELS * N_TIMES, 2)

    def forward(self, x):
        return self.dense(nn.functional.dropout(self.flatten(x), 0.5))


def test_a_network_random_in_evaluation_mode_is_refused(planted):
    """Its patterns would be statistics of a new draw of the network at each
    batch, of no one function of the epochs."""
    epochs, _, _ = planted
    clf = _estimator(_RandomInEvaluation(), epochs, None)
    with pytest.raises(ValueError, match="second pass, in evaluation mode"):
        learn_patterns(clf, epochs, verbose=False)


def test_unsupported_layers_are_refused_by_name(planted):
    epochs, _, _ = planted
    tanh = nn.Sequential(nn.Flatten(), nn.Linear(96, 8), nn.Tanh(), nn.Linear(8, 2))
    clf = _estimator(tanh, epochs, None)
    with pytest.raises(
        ValueError, match=r"learn_patterns has no rule for layer '2' \(Tanh\)"
    ):
        learn_patterns(clf, epochs, verbose=False)


def test_attribution_patterns_checks_its_arguments(planted):
    epochs, clf, _ = planted
    with pytest.raises(ValueError, match="Invalid value for the 'method'"):
        attribution_patterns(clf, epochs, "no_such_method", verbose=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        attribution_patterns(clf, epochs, batch_size=0, verbose=False)
    with pytest.raises(TypeError, match="unknown parameter"):
        attribution_patterns(clf, epochs, "saliency", steps=3, verbose=False)
