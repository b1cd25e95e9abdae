"""Exact speed shortcuts of the faithfulness measures can only speed things up."""

import copy
import logging

import numpy as np
import pytest
import torch
from torch import nn

import mne_xai
from mne_xai import EEGNetClassifier, _graph
from mne_xai.evaluate import (
    channel_perturbation_test,
    deletion_curve,
    deletion_test,
    perturbation_test,
)
from mne_xai.evaluate.faithfulness._shortcuts import _ClassScorer, _FactoredFrontEnd
from mne_xai.models import EEGNet

FAST = dict(max_epochs=5, batch_size=8, verbose=False, random_state=0)


class BatchSizeReshapeNet(nn.Module):
    """A spatial-then-temporal first block, and a forward that reads the batch size."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.spatial = nn.Conv1d(n_channels, 4, 1)
        self.temporal = nn.Conv1d(4, 4, 9, padding=4, groups=4)
        self.batch_norm = nn.BatchNorm1d(4)
        self.activation = nn.ELU()
        self.dense = nn.Linear(4 * n_times, n_classes)

    def forward(self, x):
        n = x.shape[0]  # an empty batch cannot be reshaped to (0, -1)
        hidden = self.temporal(self.spatial(x * self.input_scale))
        return self.dense(self.activation(self.batch_norm(hidden)).reshape(n, -1))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 8, 64)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    X[y == 1, 0] *= 3
    return X, y


def _measures(estimator, X, verbose=False, **kwargs):
    curve = deletion_curve(
        estimator, X, "gradient_x_input", n_steps=4, verbose=verbose, **kwargs
    )
    test = perturbation_test(
        estimator,
        X,
        "gradient_x_input",
        n_patches=4,
        random_state=0,
        verbose=False,
        **kwargs,
    )
    return curve.scores, test["score_drop"]


def test_network_the_shortcut_cannot_run_falls_back(data, caplog):
    X, y = data
    clf = EEGNetClassifier(module=BatchSizeReshapeNet, **FAST).fit(X, y)
    with caplog.at_level(logging.INFO, logger="mne"):
        fast = _measures(clf, X, verbose=True)
    assert "No exact shortcut for this network (RuntimeError" in caplog.text
    plain = _measures(clf, X, shortcuts=False)
    for with_shortcut, without in zip(fast, plain, strict=True):
        np.testing.assert_allclose(with_shortcut, without, rtol=1e-5, atol=1e-5)


def test_shortcuts_give_the_network_s_results(fitted_eegnet, imagery_epochs):
    epochs = imagery_epochs[:6]
    module = fitted_eegnet.module_.eval()
    with torch.no_grad():
        scorer = _ClassScorer(module, torch.from_numpy(epochs.get_data()).float(), 16)
    assert scorer.forward is not module  # the shortcut is used on EEGNet
    fast = _measures(fitted_eegnet, epochs)
    plain = _measures(fitted_eegnet, epochs, shortcuts=False)
    for with_shortcut, without in zip(fast, plain, strict=True):
        np.testing.assert_allclose(with_shortcut, without, rtol=1e-3, atol=1e-4)


def test_adapted_batch_norm_rebuilds_the_shortcut(fitted_eegnet, imagery_epochs):
    estimator = copy.deepcopy(fitted_eegnet)
    example = torch.from_numpy(imagery_epochs.get_data()).float()
    module = estimator.module_.eval()
    with torch.no_grad():
        before = _ClassScorer(module, example, 16).forward
        assert _ClassScorer(module, example, 16).forward is before  # cached
        estimator.adapt_batch_norm(imagery_epochs.get_data()[::-1] * 1.5)
        after = _ClassScorer(module, example, 16).forward
        # A new shortcut, not the network scoring alone: the stale one fails.
        assert isinstance(after, _FactoredFrontEnd) and after is not before
        np.testing.assert_allclose(
            after(example).numpy(), module(example).numpy(), rtol=1e-3, atol=1e-4
        )


def test_a_first_block_changed_in_place_rebuilds_the_shortcut(
    fitted_eegnet, imagery_epochs
):
    """The shortcut is cached while the module's tensors are unchanged: a
    weight changed in place (as an optimizer step changes it) keeps its
    tensor, and a cache keyed on tensors alone kept the first block measured
    before, which failed the check from then on: no shortcut for the module."""
    estimator = copy.deepcopy(fitted_eegnet)
    example = torch.from_numpy(imagery_epochs.get_data()).float()
    module = estimator.module_.eval()
    with torch.no_grad():
        before = _ClassScorer(module, example, 16).forward
        first = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
        first.weight.mul_(torch.linspace(0.5, 1.5, first.weight.shape[-1]))
        after = _ClassScorer(module, example, 16).forward
        assert isinstance(after, _FactoredFrontEnd) and after is not before
        np.testing.assert_allclose(
            after(example).numpy(), module(example).numpy(), rtol=1e-3, atol=1e-4
        )


def test_a_first_block_with_a_dead_map_keeps_the_shortcut():
    """A spatial filter of zeros (pruned) makes a map of rank 0 beside maps of
    rank 1: the factorization keeps the largest rank of the maps, and the
    shortcut stays exact (at the smallest, 0, every map was lost)."""
    X = np.random.default_rng(0).standard_normal((4, 8, 256), dtype=np.float32)
    example = torch.from_numpy(X)
    torch.manual_seed(0)
    module = EEGNet(8, 2, 256).eval()
    with torch.no_grad():
        module.spatial_conv.weight[0] = 0
        scorer = _ClassScorer(module, example, 16)
        assert isinstance(scorer.forward, _FactoredFrontEnd)
        assert scorer.forward.rank == 1
        torch.testing.assert_close(
            scorer.forward(example), module(example), rtol=1e-3, atol=1e-4
        )


def test_a_first_block_of_low_rank_keeps_the_shortcut():
    """Two spatial filters, each followed by a temporal filter per map, make
    maps of rank 2: on 8 channels the factored block filters 2 spatially
    filtered signals per map rather than all 8 channels, and is kept, exact."""
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv1d(8, 2, 1),
        nn.Conv1d(2, 2, 9, padding=4),
        nn.ELU(),
        nn.Flatten(),
        nn.Linear(2 * 64, 2),
    ).eval()
    example = torch.randn(4, 8, 64)
    with torch.no_grad():
        shortcut = _ClassScorer(module, example, 16).forward
        assert isinstance(shortcut, _FactoredFrontEnd)
        assert shortcut.rank == 2
        torch.testing.assert_close(shortcut(example), module(example))


class _TimeStrided2d(nn.Module):
    """EEGNet's layout, (batch, 1, channels, times), and a convolution strided
    in time only, stride (1, 2)."""

    def __init__(self):
        super().__init__()
        self.spatial = nn.Conv2d(1, 2, (8, 1))
        self.temporal = nn.Conv2d(2, 2, (1, 5), stride=(1, 2), groups=2)
        self.head = nn.Sequential(nn.ELU(), nn.Flatten(), nn.Linear(2 * 30, 2))

    def forward(self, x):
        return self.head(self.temporal(self.spatial(x.unsqueeze(1))))


@pytest.mark.parametrize("dimensions", [1, 2])
def test_a_strided_convolution_ends_the_factored_first_block(dimensions):
    """A convolution with a stride is no filter bank (its output does not
    shift with its input): the first block factored ends before it, and the
    shortcut, exact, is kept for the layers up to it (taken into the block,
    it failed the check and the network scored every variant itself). A
    stride on any axis counts: (1, 2) as well as 2."""
    torch.manual_seed(0)
    if dimensions == 1:
        module = nn.Sequential(
            nn.Conv1d(8, 2, 1),
            nn.Conv1d(2, 2, 5, stride=2, groups=2),
            nn.ELU(),
            nn.Flatten(),
            nn.Linear(2 * 30, 2),
        ).eval()
        strided = module[1]
    else:
        module = _TimeStrided2d().eval()
        strided = module.temporal
    example = torch.randn(4, 8, 64)
    with torch.no_grad():
        shortcut = _ClassScorer(module, example, 16).forward
        assert isinstance(shortcut, _FactoredFrontEnd)
        assert shortcut.split is strided
        torch.testing.assert_close(shortcut(example), module(example))


def test_impulse_responses_are_measured_in_bounded_passes(monkeypatch):
    """An impulse on every channel went through the first block in one pass:
    its memory grew with n_channels² x n_times whatever the batch size (2.3 GB
    for 128 channels of 2048 samples)."""
    X = np.random.default_rng(0).standard_normal((2, 8, 256), dtype=np.float32)
    example = torch.from_numpy(X)
    torch.manual_seed(0)
    module = EEGNet(8, 2, 256).eval()
    batch_sizes = []
    module.register_forward_pre_hook(lambda _, args: batch_sizes.append(len(args[0])))
    with torch.no_grad():
        whole = _FactoredFrontEnd(module, example)  # all 8 impulses in one pass
        assert max(batch_sizes) >= 8
        batch_sizes.clear()
        # Three epochs' values per pass.
        monkeypatch.setattr(
            _graph, "PROBE_VALUES_PER_PASS", 3 * X[0].size, raising=False
        )
        chunked = _FactoredFrontEnd(module, example)
        assert max(batch_sizes) == 3
        assert chunked.matches(example)
        for name in ("spatial", "temporal", "offset", "padding"):
            torch.testing.assert_close(getattr(chunked, name), getattr(whole, name))
        torch.testing.assert_close(chunked(example), whole(example))


def test_variants_of_several_passes_are_scored_for_their_own_class():
    """Variants are scored a pass at a time: each pass reads the logits of its
    own variants' classes, not those of the first pass's."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(8 * 16, 3)).eval()
    variants = torch.randn(10, 8, 16)
    target = torch.arange(10) % 3
    with torch.no_grad():
        scorer = _ClassScorer(module, variants, 4, shortcuts=False)
        expected = module(variants)[torch.arange(10), target]
        torch.testing.assert_close(scorer(variants, target), expected)


def test_one_target_per_epoch(fitted_eegnet, imagery_epochs):
    epochs = imagery_epochs[:6]
    targets = ["hands", "feet", "feet", "hands", "feet", "hands"]
    maps = mne_xai.explain(fitted_eegnet, epochs, "saliency", target=targets)
    for name in ("hands", "feet"):
        chosen = [index for index, target in enumerate(targets) if target == name]
        # A selection may lose the other class's name; the estimator knows it.
        expected = mne_xai.explain(
            fitted_eegnet, epochs[chosen], "saliency", target=name, verbose=False
        )
        np.testing.assert_allclose(
            maps.get_data()[chosen], expected.get_data(), rtol=1e-4, atol=1e-4
        )
    with pytest.raises(ValueError, match="target holds 2 classes for 6 epochs"):
        mne_xai.explain(fitted_eegnet, epochs, "saliency", target=["feet", "hands"])
    with pytest.raises(ValueError, match="target='legs'"):
        mne_xai.explain(fitted_eegnet, epochs, "saliency", target=["legs"] * 6)


class TemperatureNet(nn.Module):
    """InterpretableCNN's layout (time pooled whole before the dense layer), a
    dense bias dwarfing what one channel changes, and logits doubled in forward
    after the dense layer, where the shortcut's pooled head cannot see it."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.temporal = nn.Conv2d(1, 4, (1, 9), padding=(0, 4), bias=False)
        self.spatial = nn.Conv2d(4, 8, (n_channels, 1), groups=4, bias=False)
        self.activation = nn.ELU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dense = nn.Linear(8, n_classes)

    def forward(self, x):
        x = (x * self.input_scale)[:, None]
        hidden = self.activation(self.spatial(self.temporal(x)))
        return 2 * self.dense(self.pool(hidden).flatten(1))


def test_window_shortcut_checked_against_the_changes_not_the_logits(data, caplog):
    """The check of the window shortcut allowed errors of 1e-3 of the largest
    logit: with a bias of 5, every score drop halved passed it."""
    X, y = data
    clf = EEGNetClassifier(module=TemperatureNet, **FAST).fit(X, y)
    with torch.no_grad():
        clf.module_.dense.bias[:] = torch.tensor([5.0, -5.0])
        clf.module_.dense.weight *= 0.01  # one channel changes a logit little
    with caplog.at_level(logging.DEBUG, logger="mne"):
        fast, plain = (
            channel_perturbation_test(
                clf,
                X,
                "gradient_x_input",
                target=0,
                shortcuts=shortcuts,
                verbose="debug",
            ).score_drop
            for shortcuts in (True, False)
        )
    assert "Window scores (pooled linear head)" in caplog.text
    np.testing.assert_allclose(fast, plain, rtol=1e-3, atol=1e-6)


class ClippingNet(TemperatureNet):
    """TemperatureNet's layers, its logits not doubled, bounding in forward
    (out of the layers' sight) what ``clip = (where, level)`` says: its input
    clipped, its input halved above a peak level (a step function, of a peak
    computed with gradient or without) or divided by its peak above it (without
    gradient), or its pooled features clipped."""

    clip = None

    def features(self, x):
        x = (x * self.input_scale)[:, None]
        where, level = self.clip or (None, None)
        if where == "input":
            x = x.clamp(-level, level)
        elif where in ("input peak", "input peak without gradient"):
            with torch.set_grad_enabled(where == "input peak"):
                peak = x.abs().amax(dim=(1, 2, 3), keepdim=True)
            x = x * (1 - 0.5 * (peak > level).float())
        elif where == "input peak normalized without gradient":
            with torch.no_grad():
                peak = x.abs().amax(dim=(1, 2, 3), keepdim=True)
            x = x / peak.clamp(min=level)
        features = self.pool(self.activation(self.spatial(self.temporal(x))))
        features = features.flatten(1)
        return features.clamp(-level, level) if where == "pooled" else features

    def forward(self, x):
        return self.dense(self.features(x))


@pytest.mark.parametrize(
    "where",
    [
        "input",
        "input peak",
        "input peak without gradient",
        "input peak normalized without gradient",
        "pooled",
    ],
)
def test_shortcuts_refuse_a_clip_that_later_epochs_alone_reach(data, where):
    """The shortcuts took the first block, and the layers after its
    nonlinearity, for what their classes compute, and checked the values on
    the first epochs only: a clip in forward that later epochs alone reach
    gave them wrong logits (deletion curves off by 90%, score drops by 50%)."""
    X, y = data
    clf = EEGNetClassifier(module=ClippingNet, **FAST).fit(X, y)
    with torch.no_grad():
        first = torch.from_numpy(X[:8])  # the epochs the shortcuts are checked on
        if where == "pooled":
            reached = clf.module_.features(first).abs().amax()
        else:
            reached = (first * clf.module_.input_scale).abs().amax()
    # Twice as far as the first epochs reach, which the checks perturb.
    clf.module_.clip = (where, 2 * float(reached))
    larger = X.copy()
    larger[8:] *= 4
    kwargs = dict(attribution=np.abs(larger), target=0, random_state=0, verbose=False)
    fast, plain = (
        (
            deletion_curve(
                clf, larger, n_steps=8, shortcuts=shortcuts, **kwargs
            ).scores,
            channel_perturbation_test(clf, larger, shortcuts=shortcuts, **kwargs)[
                "score_drop"
            ],
        )
        for shortcuts in (True, False)
    )
    for with_shortcut, without in zip(fast, plain, strict=True):
        np.testing.assert_allclose(with_shortcut, without, rtol=1e-3, atol=1e-5)


class ReflectPaddedNet(nn.Module):
    """A first convolution padded by reflection, which the factored first block
    (zero padding) gets wrong near the epoch's edges, and a dense bias."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.temporal = nn.Conv2d(
            1, 4, (1, 17), padding=(0, 8), padding_mode="reflect", bias=False
        )
        self.spatial = nn.Conv2d(4, 4, (n_channels, 1), groups=4, bias=False)
        self.activation = nn.ELU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dense = nn.Linear(4, n_classes)

    def forward(self, x):
        x = (x * self.input_scale)[:, None]
        hidden = self.activation(self.spatial(self.temporal(x)))
        return self.dense(self.pool(hidden).flatten(1))


@pytest.mark.parametrize("bias", [(0.0, 0.0), (50.0, 50.0), (50.0, -50.0)])
def test_first_block_shortcut_checked_against_the_changes_not_the_logits(
    data, bias, caplog
):
    """The factored first block was checked against 1e-3 of the largest logit:
    with a bias of 50, its zero padding passed for a reflection-padded network,
    and the deletion test's drops were off by more than their size. The logits
    move between epochs, not between classes: biases of 50 and -50 must not
    widen the tolerance either."""
    X, y = data
    clf = EEGNetClassifier(module=ReflectPaddedNet, **FAST).fit(X, y)
    with torch.no_grad():
        clf.module_.dense.bias += torch.tensor(bias)
    kwargs = dict(attribution=np.abs(X), random_state=0)
    with caplog.at_level(logging.DEBUG, logger="mne"):
        fast = deletion_curve(clf, X, n_steps=8, verbose="debug", **kwargs)
    assert "Factored first block: rank 1" in caplog.text
    plain = deletion_curve(clf, X, n_steps=8, shortcuts=False, **kwargs)
    np.testing.assert_allclose(fast.aopc, plain.aopc, rtol=1e-3, atol=1e-6)
    fast, plain = (
        deletion_test(clf, X, smoothing=0, shortcuts=shortcuts, verbose=False, **kwargs)
        for shortcuts in (True, False)
    )
    np.testing.assert_allclose(
        fast.score - fast.score_deleted,
        plain.score - plain.score_deleted,
        rtol=1e-3,
        atol=1e-6,
    )


def test_first_block_shortcut_is_checked_on_epochs_that_vary(data):
    """Flat first epochs (a dead stretch of a recording) passed both checks of
    the shortcuts whatever the network, and a reflection-padded one then got
    the zero-padded first block's curves."""
    X, y = data
    clf = EEGNetClassifier(module=ReflectPaddedNet, **FAST).fit(X, y)
    flat_first = X.copy()
    flat_first[:8] = 0
    kwargs = dict(attribution=np.abs(flat_first), n_steps=8, random_state=0)
    fast, plain = (
        deletion_curve(clf, flat_first, shortcuts=shortcuts, verbose=False, **kwargs)
        for shortcuts in (True, False)
    )
    np.testing.assert_allclose(fast.scores, plain.scores, rtol=1e-3, atol=1e-6)


def test_rounding_of_large_batch_norm_shifts_is_not_taken_for_rank():
    """EEGNet's first block is one temporal filter times one spatial filter
    per map: rank 1. Its impulse responses carry the batch norm's shift, and
    their float32 rounding, far above 1e-6 of the kernels when the shifts
    dwarf them, was counted as rank (18 to 59 of 64 channels): the factored
    first block was given up and every variant ran through the whole network."""
    torch.manual_seed(0)
    module = EEGNet(64, 2, 161, sfreq=160.0)
    generator = torch.Generator().manual_seed(0)
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            for values in (layer.running_mean, layer.weight, layer.bias):
                values.data = torch.randn(len(values), generator=generator)
            layer.running_var.data = torch.rand(len(values), generator=generator) + 0.5
    module.eval()
    example = 20 * torch.randn(4, 64, 161, generator=generator)
    with torch.no_grad():
        front = _FactoredFrontEnd(module, example)
        assert front.usable and front.rank == 1
        assert front.matches(example)
