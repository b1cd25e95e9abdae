"""Spatial filters and patterns, and temporal filters, of a network's units."""

import copy
import dataclasses
import re
import warnings

import matplotlib
import mne
import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from scipy.signal import firwin, freqz
from scipy.stats import spearmanr
from skorch import NeuralNetClassifier
from torch import nn
from user_networks import CombinedConv, ConvTransformer, ShallowFBCSPNet

import mne_xai.viz
from mne_xai import (
    EEGNetClassifier,
    InterpretableCNNClassifier,
    _graph,
    as_network,
    explain,
)
from mne_xai.datasets import _builtin_montage
from mne_xai.inspect import (
    SpatialPatterns,
    TemporalFilters,
    find_layer,
    layer_activations,
    plot_temporal_filters,
    spatial_patterns,
    temporal_filters,
)
from mne_xai.inspect._spatial import find_spatial_layer

matplotlib.use("Agg")

# Synthetic epochs: a few channels of the 10-20 system, white sources.
CH_NAMES = ["Fp1", "Fp2", "C3", "Cz", "C4", "P3", "P4", "Oz"]
SFREQ, N_TIMES, N_EPOCHS = 128.0, 256, 40


def _planted_source(seed=0):
    """Epochs of one source with a known pattern in spatially correlated noise.

    The source's amplitude tells the two classes apart. Source and noise are
    white, so any temporal filter leaves their covariances in proportion.

    Returns
    -------
    epochs : mne.EpochsArray
        The epochs, in volts.
    pattern : ndarray, shape (n_channels,)
        How the source projects to the channels.
    noise_covariance : ndarray, shape (n_channels, n_channels)
        The covariance of the noise.
    """
    rng = np.random.default_rng(seed)
    n_channels = len(CH_NAMES)
    pattern = rng.standard_normal(n_channels)
    mixing = rng.standard_normal((n_channels, n_channels))
    labels = np.repeat([0, 1], N_EPOCHS // 2)
    source = rng.standard_normal((N_EPOCHS, N_TIMES)) * (1 + labels[:, None])
    noise = np.einsum(
        "ck,ekt->ect", mixing, rng.standard_normal((N_EPOCHS, n_channels, N_TIMES))
    )
    data = 1e-6 * (pattern[:, None] * source[:, None] + noise)
    info = mne.create_info(CH_NAMES, SFREQ, "eeg")
    info.set_montage(_builtin_montage("1020"))
    events = np.column_stack(
        [np.arange(N_EPOCHS) * N_TIMES, np.zeros(N_EPOCHS, int), labels + 1]
    )
    epochs = mne.EpochsArray(
        data, info, events, event_id={"low": 1, "high": 2}, verbose=False
    )
    return epochs, pattern, mixing @ mixing.T


def _haufe_pattern(epochs, weights):
    """``Cov(x) w / Var(w^T x)`` written out from the epochs, over epochs and times."""
    data = epochs.get_data()
    centred = data - data.mean(axis=(0, 2), keepdims=True)
    covariance = np.einsum("ect,edt->cd", centred, centred) / (
        centred.shape[0] * centred.shape[2]
    )
    return covariance @ weights / (weights @ covariance @ weights)


def _fit(estimator_class, X, y=None, **params):
    """An estimator trained for one step: its weights are set by hand below."""
    return estimator_class(
        max_epochs=1, batch_size=len(X), random_state=0, verbose=False, **params
    ).fit(X, y)


class PointwiseNet(nn.Module):
    """InterpretableCNN written with ``nn.Conv1d``: channel mixing, then depthwise."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.pointwise = nn.Conv1d(n_chans, 4, 1)
        self.depthwise = nn.Conv1d(4, 4, 9, groups=4)
        self.elu = nn.ELU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):
        x = self.pool(self.elu(self.depthwise(self.pointwise(x))))
        return self.dense(x.flatten(1))


# How to reach the spatial weights of unit 0 for input map 0 in each network
# (the others that unit reads are zeroed), and the name of its temporal layer.
def _eegnet_unit0(module):
    return module.spatial_conv.weight[0, 0, :, 0]


def _icnn_unit0(module):
    return module.pointwise_conv.weight[0, 0, :, 0]


def _shallow_unit0(module):
    module.module.conv_spat.weight[0] = 0
    return module.module.conv_spat.weight[0, 0, 0, :]


def _transformer_unit0(module):
    module.module.conv_spat.weight[0] = 0
    return module.module.conv_spat.weight[0, 0, :, 0]


def _pointwise_unit0(module):
    return module.module.pointwise.weight[0, :, 0]


NETWORKS = {
    "eegnet": (EEGNetClassifier, {}, _eegnet_unit0, "temporal_conv"),
    "icnn": (InterpretableCNNClassifier, {}, _icnn_unit0, "depthwise_conv"),
    "shallow": (
        EEGNetClassifier,
        {"module": ShallowFBCSPNet},
        _shallow_unit0,
        "conv_time",
    ),
    "transformer": (
        EEGNetClassifier,
        {"module": ConvTransformer},
        _transformer_unit0,
        "conv_time",
    ),
    "pointwise": (
        EEGNetClassifier,
        {"module": PointwiseNet},
        _pointwise_unit0,
        "depthwise",
    ),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_pattern_of_the_optimal_filter_is_the_planted_pattern(network):
    """Haufe et al.: the filter cancels the noise, its pattern shows the source."""
    epochs, pattern, noise_covariance = _planted_source()
    estimator_class, params, unit0, _ = NETWORKS[network]
    estimator = _fit(estimator_class, epochs, **params)
    # The filter that extracts the source best from this noise (and looks
    # nothing like the source's pattern).
    optimal = np.linalg.solve(noise_covariance, pattern)
    with torch.no_grad():
        unit0(estimator.module_).copy_(torch.as_tensor(optimal))
    assert abs(np.corrcoef(optimal, pattern)[0, 1]) < 0.8

    spatial = spatial_patterns(estimator, epochs, verbose=False)
    assert isinstance(spatial, SpatialPatterns)
    ranking = spatial.ranking
    (index,) = np.flatnonzero((ranking.unit == 0) & (ranking.input_map == 0))
    np.testing.assert_allclose(spatial.filters.data[:, index], optimal, rtol=1e-5)
    assert np.corrcoef(spatial.patterns.data[:, index], pattern)[0, 1] > 0.99
    assert spatial.patterns.ch_names == CH_NAMES
    np.testing.assert_array_equal(spatial.patterns.times, np.arange(len(ranking)))


def test_pattern_is_the_covariance_with_the_unit_over_its_variance():
    """Haufe et al.'s a = Cov(x) w / Var(w^T x), its scale too, computed by hand
    from the epochs' covariance (a unit reading the channels as they are):
    the pattern tests compare correlations, and a division by |w|^2 instead
    of the unit's variance passed them."""
    epochs, pattern, noise_covariance = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=PointwiseNet)
    with torch.no_grad():
        _pointwise_unit0(estimator.module_).copy_(
            torch.as_tensor(np.linalg.solve(noise_covariance, pattern))
        )
    spatial = spatial_patterns(estimator, epochs, verbose=False)
    # Every component, each pattern beside its own filter: the patterns were
    # left in the units' order while the filters were ranked, which the
    # leading component, unit 0 here, did not show.
    assert spatial.ranking.unit.tolist() != sorted(spatial.ranking.unit)
    for index in range(len(spatial.ranking)):
        np.testing.assert_allclose(
            spatial.patterns.data[:, index],
            _haufe_pattern(epochs, spatial.filters.data[:, index]),
            rtol=1e-4,
        )


class LinearReadout(nn.Module):
    """Spatial filters averaged over time, then a dense layer, without biases:
    the gradient of the decision is written out by hand."""

    def __init__(self):
        super().__init__()
        self.pointwise = nn.Conv1d(len(CH_NAMES), 3, 1, bias=False)
        self.dense = nn.Linear(3, 2, bias=False)

    def forward(self, x):  # noqa: D102
        return self.dense(self.pointwise(x).mean(dim=-1))


class SignedReadout(LinearReadout):
    """LinearReadout weighing the time points from -1 to 1: the gradient of the
    decision changes sign along each epoch."""

    def forward(self, x):  # noqa: D102
        ramp = torch.linspace(-1, 1, x.shape[-1])
        return self.dense((self.pointwise(x) * ramp).mean(dim=-1))


def _linear_readout(info, module=LinearReadout):
    """``module`` at its random start, as a foreign skorch classifier."""
    torch.manual_seed(0)
    net = NeuralNetClassifier(module, max_epochs=0, train_split=None)
    net = net.set_params(classes=[1, 2]).initialize()
    return net.module_, as_network(net, info=info)


@pytest.mark.parametrize("readout", [LinearReadout, SignedReadout])
def test_contributions_are_the_first_order_change_of_the_decision(readout):
    """A unit's contribution, the mean over epochs of |sum_t g(t) s(t)|, by
    hand: g is the predicted class's readout weight less the mean over the
    classes, times the time weights, over n_times. Batches of 7 epochs whose
    signals differ in sign tell the mean of |.| from |.| of the sum; a g that
    changes sign along the epoch tells sum_t g(t) s(t) from sum_t |g(t)| s(t).
    Most contributing first."""
    epochs, _, _ = _planted_source()
    module, network = _linear_readout(epochs.info, readout)
    spatial = spatial_patterns(network, epochs, batch_size=7, verbose=False)
    data = torch.as_tensor(epochs.get_data(), dtype=torch.float32)
    ramp = (
        torch.linspace(-1, 1, N_TIMES).double()
        if readout is SignedReadout
        else torch.ones(N_TIMES, dtype=torch.float64)
    )
    with torch.no_grad():
        signals = module.pointwise(data).double()
        predicted = module(data).argmax(dim=1)
    readout_weights = module.dense.weight.detach().double()
    gradient = (readout_weights[predicted] - readout_weights.mean(dim=0)) / N_TIMES
    expected = (gradient * (signals * ramp).sum(dim=-1)).abs().mean(dim=0).numpy()
    ranking = spatial.ranking
    assert len(set(predicted.tolist())) == 2
    np.testing.assert_allclose(ranking.contribution, expected[ranking.unit], rtol=1e-4)
    assert np.all(np.diff(ranking.contribution) <= 0)
    np.testing.assert_array_equal(ranking["rank"], np.arange(1, len(ranking) + 1))


def test_patterns_of_epochs_whose_means_differ_do_not_depend_on_the_batches():
    """The covariance is taken about the mean of every epoch: about the first
    batch's mean alone (the shift kept for accuracy), epochs offset from one
    another gave other patterns for another batch size."""
    epochs, pattern, noise_covariance = _planted_source()
    # Each epoch offset by about the noise's deviation, every other one down.
    signs = np.where(np.arange(N_EPOCHS) % 2, 1.0, -1.0)
    offset = mne.EpochsArray(
        epochs.get_data() + 3e-6 * signs[:, None, None],
        epochs.info,
        epochs.events,
        event_id=epochs.event_id,
        verbose=False,
    )
    estimator = _fit(EEGNetClassifier, offset, module=PointwiseNet)
    with torch.no_grad():
        _pointwise_unit0(estimator.module_).copy_(
            torch.as_tensor(np.linalg.solve(noise_covariance, pattern))
        )
    one, every = (
        spatial_patterns(estimator, offset, batch_size=size, verbose=False).patterns
        for size in (1, N_EPOCHS)
    )
    np.testing.assert_allclose(
        one.data, every.data, rtol=1e-4, atol=1e-6 * np.abs(every.data).max()
    )


# -- networks whose units are no spatial filters ------------------------------------
class ChannelNormNet(PointwiseNet):
    """PointwiseNet after a batch norm over the EEG channels: a gain each."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.channel_scale = nn.BatchNorm1d(n_chans)

    def forward(self, x):  # noqa: D102
        return super().forward(self.channel_scale(x))


class ChannelConvNet(ChannelNormNet):
    """ChannelNormNet with a Conv1d of kernel 1 in groups of one channel as its
    scaling: a convolution of all the channels, but no spatial layer."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.channel_scale = nn.Conv1d(n_chans, n_chans, 1, groups=n_chans, bias=False)


def _scale_channels(layer, gains):
    """Make ``layer`` (of ChannelNormNet or ChannelConvNet) multiply each channel."""
    if isinstance(layer, nn.Conv1d):
        layer.weight[:, 0, 0] = torch.as_tensor(gains)
        return
    layer.running_mean.zero_()
    layer.running_var.fill_(1.0 - layer.eps)
    layer.weight.copy_(torch.as_tensor(gains))
    layer.bias.zero_()


@pytest.mark.parametrize("module", [ChannelNormNet, ChannelConvNet])
def test_patterns_are_of_the_eeg_when_channels_are_scaled_apart(module):
    """A batch norm over the channels scaled the pattern of each channel by its
    gain: the planted topography was lost (C3 for Pz). Filter and pattern are
    those of the EEG up to the median channel's |gain|, here 1: both are checked
    whole, as the correlation passed gains taken relative to the largest, and
    gains taken by their magnitude left an inverted channel's sign."""
    epochs, pattern, noise_covariance = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=module)
    network = estimator.module_.module
    # A negative gain too (a channel inverted): its sign is taken out as well.
    gains = np.array([0.05, 0.2, 0.5, 1.0, 1.0, -3.0, 8.0, 20.0])
    optimal = np.linalg.solve(noise_covariance, pattern)
    with torch.no_grad():
        _scale_channels(network.channel_scale, gains)
        network.pointwise.weight[0, :, 0] = torch.as_tensor(optimal / gains)
    spatial = spatial_patterns(estimator, epochs, verbose=False)
    assert spatial.layer == "pointwise"
    (index,) = np.flatnonzero(spatial.ranking.unit == 0)
    np.testing.assert_allclose(spatial.filters.data[:, index], optimal, rtol=1e-4)
    np.testing.assert_allclose(
        spatial.patterns.data[:, index], _haufe_pattern(epochs, optimal), rtol=1e-4
    )
    assert np.corrcoef(spatial.patterns.data[:, index], pattern)[0, 1] > 0.99


def test_a_channel_the_front_end_drops_has_zero_filter_and_pattern():
    """A front end may zero a channel (a gain of 0): the maps hold nothing of
    it, so its filter and pattern are zero, and the other channels' gains are
    still measured against a channel the signal reaches."""
    epochs, pattern, noise_covariance = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=ChannelNormNet)
    network = estimator.module_.module
    gains = np.array([0.0, 0.2, 0.5, 1.0, 1.0, 3.0, 8.0, 20.0])
    optimal = np.linalg.solve(noise_covariance, pattern)
    optimal[0] = 0.0
    with torch.no_grad():
        _scale_channels(network.channel_scale, gains)
        network.pointwise.weight[0, 1:, 0] = torch.as_tensor(optimal[1:] / gains[1:])
    spatial = spatial_patterns(estimator, epochs, verbose=False)
    (index,) = np.flatnonzero(spatial.ranking.unit == 0)
    np.testing.assert_allclose(spatial.filters.data[:, index], optimal, rtol=1e-4)
    patterns = spatial.patterns.data[:, index]
    assert patterns[0] == 0
    np.testing.assert_allclose(
        patterns[1:], _haufe_pattern(epochs, optimal)[1:], rtol=1e-4
    )


class MapGainsNet(nn.Module):
    """Four temporal maps, each channel of each map scaled by a gain of its
    own, then a spatial convolution in two groups: two units reading maps 0
    and 1, two reading maps 2 and 3."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.temporal = nn.Conv2d(1, 4, (1, 5), bias=False)
        self.gains = nn.Parameter(torch.ones(4, n_chans, 1))
        self.spatial = nn.Conv2d(4, 4, (n_chans, 1), groups=2, bias=False)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):  # noqa: D102
        x = self.temporal(x.unsqueeze(1)) * self.gains
        return self.dense(self.spatial(x).mean(dim=(2, 3)))


def test_each_component_takes_out_the_gains_of_the_map_it_reads():
    """A unit of group g reads maps g * maps_per_group onwards: a component's
    input map is that one, and its filter of the EEG is its weights times the
    gains of that map's channels (relative to its median channel)."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=MapGainsNet)
    network = estimator.module_.module
    gains = np.array(
        [
            [1.0, 2, 3, 4, 5, 6, 7, 8],
            [8, 1, 6, 3, 4, 5, 2, 7],
            [2, 2, 2, 2, 2, 2, 2, 9],
            [5, 4, 3, 2, 1, 1, 1, 1],
        ]
    )
    with torch.no_grad():
        network.gains.copy_(torch.as_tensor(gains[..., None]))
    spatial = spatial_patterns(estimator, epochs, verbose=False)
    ranking = spatial.ranking
    order = np.lexsort((ranking.input_map, ranking.unit))
    maps_read = [0, 1, 0, 1, 2, 3, 2, 3]
    assert ranking.input_map.to_numpy()[order].tolist() == maps_read
    # Relative to the lower of the two middle channels, as torch's median.
    relative = gains / np.sort(gains, axis=1)[:, [3]]
    weights = network.spatial.weight.detach().double()[..., 0].numpy()
    expected = weights.reshape(8, -1) * relative[maps_read]
    np.testing.assert_allclose(spatial.filters.data[:, order].T, expected, rtol=1e-5)


def test_gains_alike_up_to_rounding_leave_the_weights_as_they_are():
    """Channel gains equal up to 1e-6, as a front end's float32 rounding may
    leave them: the filters are the layer's weights bit for bit, not rescaled
    by the rounding."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=ChannelNormNet)
    network = estimator.module_.module
    with torch.no_grad():
        _scale_channels(network.channel_scale, 1 + 1e-6 * np.arange(len(CH_NAMES)))
    spatial = spatial_patterns(estimator, epochs, verbose=False)
    by_unit = np.argsort(spatial.ranking.unit.to_numpy())
    weights = network.pointwise.weight.detach().double()[:, :, 0].numpy()
    np.testing.assert_array_equal(spatial.filters.data[:, by_unit].T, weights)


def test_epochs_longer_than_a_pass_of_probes_are_probed_one_at_a_time():
    """An epoch of more values than a pass of probes holds (see
    PROBE_VALUES_PER_PASS) goes through one probe per pass, never none: the
    filters are the layer's weights, as on short epochs."""
    n_times = _graph.PROBE_VALUES_PER_PASS // len(CH_NAMES) + 1
    info = mne.create_info(CH_NAMES, SFREQ, "eeg")
    data = 1e-6 * np.random.default_rng(0).standard_normal((2, len(CH_NAMES), n_times))
    module, network = _linear_readout(info)
    spatial = spatial_patterns(network, mne.EpochsArray(data, info, verbose=False))
    by_unit = np.argsort(spatial.ranking.unit.to_numpy())
    weights = module.pointwise.weight.detach().double()[:, :, 0].numpy()
    np.testing.assert_allclose(spatial.filters.data[:, by_unit].T, weights, rtol=1e-6)


class SpatioTemporalNet(nn.Module):
    """Its first convolution mixes channels and time at once."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, (n_chans, 5))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):
        return self.dense(self.pool(self.conv(x.unsqueeze(1))).flatten(1))


class NonlinearFrontNet(nn.Module):
    """A nonlinearity between its temporal and spatial convolutions."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.temporal = nn.Conv2d(1, 4, (1, 5))
        self.elu = nn.ELU()
        self.spatial = nn.Conv2d(4, 4, (n_chans, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):
        x = self.spatial(self.elu(self.temporal(x.unsqueeze(1))))
        return self.dense(self.pool(x).flatten(1))


class RectifiedFrontNet(NonlinearFrontNet):
    """A ReLU without bias before it: doubling and single channels pass it."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.temporal = nn.Conv2d(1, 4, (1, 5), bias=False)
        self.elu = nn.ReLU()


class MixedChannelsNet(nn.Module):
    """A dense layer mixes the channels before a pointwise Conv1d."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.mix = nn.Linear(n_chans, n_chans)
        self.pointwise = nn.Conv1d(n_chans, 4, 1)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):
        x = self.pointwise(self.mix(x.transpose(1, 2)).transpose(1, 2))
        return self.dense(self.pool(x).flatten(1))


class ChannelKernelsNet(PointwiseNet):
    """A kernel of its own for each channel before the pointwise convolution."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.per_channel = nn.Conv1d(n_chans, n_chans, 5, groups=n_chans)

    def forward(self, x):  # noqa: D102
        return super().forward(self.per_channel(x))


class SpatioTemporalConv1dNet(PointwiseNet):
    """Its Conv1d over all channels has 5 taps in time, padded to keep its length."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.pointwise = nn.Conv1d(n_chans, 4, 5, padding=2)


class MedianReferenceNet(PointwiseNet):
    """The median of the channels subtracted first: odd and scaling as its input,
    but not linear."""

    def forward(self, x):  # noqa: D102
        return super().forward(x - x.quantile(0.5, dim=1, keepdim=True))


class SpatialConv2dNet(nn.Module):
    """A Conv2d over all channels, padded along them (three outputs there), or
    keeping every second sample (``stride=2``)."""

    def __init__(self, n_chans, n_outputs, n_times, stride=1):
        super().__init__()
        padding = (1, 0) if stride == 1 else 0
        self.spatial = nn.Conv2d(
            1, 4, (n_chans, 1), stride=(1, stride), padding=padding
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):  # noqa: D102
        return self.dense(self.pool(self.spatial(x.unsqueeze(1))).flatten(1))


class StridedSpatialNet(SpatialConv2dNet):
    """SpatialConv2dNet with stride 2 in time and no padding."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times, stride=2)


class TimeFirstStridedSpatialNet(nn.Module):
    """A Conv2d over all channels with the channels on the last axis
    (braindecode's ShallowFBCSPNet layout), keeping every second sample."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.spatial = nn.Conv2d(1, 4, (1, n_chans), stride=(2, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):  # noqa: D102
        x = x.unsqueeze(1).transpose(2, 3)  # (batch, 1, n_times, n_chans)
        return self.dense(self.pool(self.spatial(x)).flatten(1))


class SpatioTemporalThenPointwiseNet(SpatioTemporalConv1dNet):
    """SpatioTemporalConv1dNet with 16 maps, then a Conv1d of kernel 1 over
    them: a spatial layer of the maps, not of the 8 EEG channels."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.pointwise = nn.Sequential(
            nn.Conv1d(n_chans, 16, 5, padding=2), nn.Conv1d(16, 4, 1)
        )


class SilencedFrontNet(RectifiedFrontNet):
    """Its input multiplied by zero, without a nonlinearity: the spatial layer
    reads a constant."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.elu = nn.Identity()
        self.register_buffer("gain", torch.tensor(0.0))

    def forward(self, x):  # noqa: D102
        return super().forward(x * self.gain)


class StridedPointwiseNet(PointwiseNet):
    """Its pointwise convolution keeps every second sample (stride 2)."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__(n_chans, n_outputs, n_times)
        self.pointwise = nn.Conv1d(n_chans, 4, 1, stride=2)


@pytest.mark.parametrize(
    "module, match",
    [
        (SpatioTemporalNet, "no spatial filter layer: no convolution sums all 8"),
        (SpatioTemporalConv1dNet, "no spatial filter layer: no convolution sums"),
        # The Conv1d of kernel 1 sums 16 maps, not the 8 channels.
        (SpatioTemporalThenPointwiseNet, "no spatial filter layer: no convolution"),
        (SpatialConv2dNet, "no spatial filter layer: no convolution sums all 8"),
        (StridedPointwiseNet, r"'pointwise' \(Conv1d\) sums all 8 .* \(256 to 128\)"),
        (StridedSpatialNet, r"'spatial' \(Conv2d\) sums all 8 .* \(256 to 128\)"),
        # The samples counted along time, axis 2 here, not along the channels.
        (
            TimeFirstStridedSpatialNet,
            r"'spatial' \(Conv2d\) sums all 8 .* \(256 to 128\)",
        ),
        (ChannelKernelsNet, "'pointwise' filter the EEG channels with diff"),
        (NonlinearFrontNet, "before the spatial layer 'spatial' are not linear"),
        (RectifiedFrontNet, "before the spatial layer 'spatial' are not linear"),
        (MixedChannelsNet, "before the spatial layer 'pointwise' mix the EEG"),
        # It mixes the channels too, but what it is first is not linear.
        (MedianReferenceNet, "before the spatial layer 'pointwise' are not linear"),
        (SilencedFrontNet, "'spatial' are not linear .*a constant output comes first"),
    ],
)
def test_networks_without_spatial_filters_are_refused(module, match):
    """Each is refused with its cause. A spatial layer with a stride in time was
    refused as "no convolution sums all 8 input channels with a kernel of width
    1 in time", which it does."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=module)
    with pytest.raises(ValueError, match=match):
        spatial_patterns(estimator, epochs, verbose=False)


class SlightlyNonlinearNet(PointwiseNet):
    """PointwiseNet after a tanh of inputs scaled to at most ``reach``: odd and
    acting on each channel alone, it departs from linear by about reach²."""

    def __init__(self, n_chans, reach):
        super().__init__(n_chans, 2, N_TIMES)
        self.register_buffer("scale", torch.tensor(reach))

    def forward(self, x):  # noqa: D102
        return super().forward(torch.tanh(x * self.scale))


def test_a_front_end_nonlinear_by_a_thousandth_is_refused():
    """Odd and channel by channel, the tanh passes the negated epoch and the
    halves of the channels; only twice the epoch shows it, by about 2e-3 of
    the response: ten times what float32 rounding is allowed there (2e-4)."""
    example = torch.from_numpy(_planted_source()[0].get_data()[:1]).float()
    # The check weighs the channels by up to 1.5: inputs of the tanh to 0.03.
    module = SlightlyNonlinearNet(example.shape[1], 0.02 / float(example.abs().max()))
    with pytest.raises(ValueError, match="'pointwise' are not linear"):
        find_spatial_layer(module.eval(), example)


class LeakingNet(MixedChannelsNet):
    """MixedChannelsNet whose mixing adds channel(s) to another, a little."""

    def __init__(self, n_chans, source, target, leak=1e-2):
        super().__init__(n_chans, 2, N_TIMES)
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(n_chans))
            self.mix.weight[target, source] = torch.as_tensor(leak)
            self.mix.bias.zero_()


@pytest.mark.parametrize("n_channels", [8, 5])
def test_a_leak_of_any_channel_into_any_other_is_refused(n_channels):
    """The front end is checked on halves of the channels, not on each alone:
    a leak between any two channels must still show, of 5 channels too (the
    halves of 8 were 3 bits, and 5 also need 3)."""
    example = torch.from_numpy(_planted_source()[0].get_data()[:1, :n_channels])
    example = example.float()
    for source in range(n_channels):
        for target in range(n_channels):
            module = LeakingNet(n_channels, source, target).eval()
            if source == target:
                assert find_spatial_layer(module, example).name == "pointwise"
                continue
            with pytest.raises(ValueError, match="'pointwise' mix the EEG"):
                find_spatial_layer(module, example)


def test_leaks_that_cancel_on_equal_channels_are_refused():
    """Channels 0 to 3 equal, a leak of x0 - x1 - x2 + x3 into channel 5 is zero
    on every half of the channels the check probes (set by the bits of their
    index): only the channels' random weights make it show."""
    example = torch.from_numpy(_planted_source()[0].get_data()[:1]).float()
    example[:, 1:4] = example[:, :1]
    leak = 1e-2 * torch.tensor([1.0, -1.0, -1.0, 1.0])
    module = LeakingNet(example.shape[1], [0, 1, 2, 3], 5, leak).eval()
    with pytest.raises(ValueError, match="'pointwise' mix the EEG"):
        find_spatial_layer(module, example)


def test_the_front_end_check_is_bounded(monkeypatch):
    """The front end was checked on each channel alone, one pass per epoch,
    all kept at once: memory and time in n_channels² whatever batch_size (5.3
    GB and 6 minutes for 128 channels of 2048 samples)."""
    n_channels = 64
    data = np.random.default_rng(0).standard_normal((4, n_channels, N_TIMES))
    epochs = mne.EpochsArray(
        1e-6 * data, mne.create_info(n_channels, SFREQ, "eeg"), verbose=False
    )
    estimator = _fit(EEGNetClassifier, epochs, [0, 1, 0, 1])
    batch_sizes = []
    estimator.module_.register_forward_pre_hook(
        lambda _, args: batch_sizes.append(len(args[0]))
    )
    # Four epochs' values per pass.
    monkeypatch.setattr(
        _graph, "PROBE_VALUES_PER_PASS", 4 * n_channels * N_TIMES, raising=False
    )
    spatial_patterns(estimator, epochs[:1], batch_size=1, verbose=False)
    assert max(batch_sizes) <= 4
    # The check's passes, with all else, hold fewer epochs than it had channels.
    assert sum(batch_sizes) < n_channels


def test_a_spatial_layer_whose_output_a_hook_changes_is_refused():
    """With half the units masked by a hook, their spatial filters and
    contributions were read from the weights, and one ranked second of 16."""
    epochs = _planted_source()[0]
    estimator = _fit(EEGNetClassifier, epochs)
    layer = estimator.module_.spatial_conv
    masked = (torch.arange(layer.out_channels) % 2 == 0)[:, None, None]
    handle = layer.register_forward_hook(lambda m, i, out: out * masked)
    with pytest.raises(ValueError, match="'spatial_conv' .*computes otherwise"):
        spatial_patterns(estimator, epochs, verbose=False)
    handle.remove()
    layer.forward = lambda x: type(layer).forward(layer, x) * masked
    with pytest.raises(ValueError, match="'spatial_conv' .*computes otherwise"):
        spatial_patterns(estimator, epochs, verbose=False)
    del layer.forward
    recorded = []
    layer.register_forward_hook(lambda m, i, out: recorded.append(out.shape))
    assert len(spatial_patterns(estimator, epochs, verbose=False).ranking)
    assert recorded


class DetachedScaleNet(PointwiseNet):
    """PointwiseNet dividing its spatial units by their spread, computed without
    gradient: autograd does not see that the decision ignores their scale."""

    def forward(self, x):  # noqa: D102
        x = self.pointwise(x)
        x = self.pool(
            self.elu(self.depthwise(x / x.std(dim=(1, 2), keepdim=True).detach()))
        )
        return self.dense(x.flatten(1))


def test_contributions_of_a_network_autograd_does_not_see_whole_are_refused():
    """The contributions are read from the gradient of the decision: where the
    network computes part of it without gradient, the gradient is not its
    derivative, and the contributions would rank the units of another network."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=DetachedScaleNet)
    with pytest.raises(ValueError, match="autograd does not see"):
        spatial_patterns(estimator, epochs, verbose=False)


def test_bad_arguments_are_refused_with_what_to_do(fitted_icnn, imagery_epochs):
    epochs, _, _ = _planted_source()
    on_arrays = _fit(InterpretableCNNClassifier, epochs.get_data(), epochs.events[:, 2])
    with pytest.raises(ValueError, match="channels are unknown.*as mne.Epochs"):
        spatial_patterns(on_arrays, epochs.get_data(), verbose=False)
    with pytest.raises(ValueError, match="n_freqs must be at least 2, got 1"):
        temporal_filters(fitted_icnn, n_freqs=1, verbose=False)
    filters = temporal_filters(fitted_icnn, verbose=False)
    with pytest.raises(ValueError, match="floor must be a negative gain in dB"):
        plot_temporal_filters(filters, floor=3, show=False)
    # plt.subplots(1, 2)'s array of axes: "has no attribute 'figure'".
    _, two_axes = matplotlib.pyplot.subplots(1, 2)
    with pytest.raises(TypeError, match="axes must be an instance of a matplotlib"):
        plot_temporal_filters(filters, axes=two_axes, show=False)
    with pytest.raises(ValueError, match="time samples but the estimator was fitted"):
        spatial_patterns(fitted_icnn, imagery_epochs.crop(tmax=1.0), verbose=False)


# -- temporal filters ----------------------------------------------------------------
@pytest.mark.parametrize("network", NETWORKS)
def test_gain_is_the_frequency_response_of_the_layers_kernels(network):
    epochs, _, _ = _planted_source()
    estimator_class, params, _, layer_name = NETWORKS[network]
    estimator = _fit(estimator_class, epochs, **params)
    filters = temporal_filters(estimator, n_freqs=300, verbose=False)
    assert isinstance(filters, TemporalFilters)
    # The user's name, without the input scaling's "module.", which is taken back.
    assert filters.layer == layer_name
    assert filters.sfreq == SFREQ
    weight = find_layer(estimator, layer_name)[1].weight.detach().numpy()
    np.testing.assert_array_equal(filters.kernels, weight.reshape(len(weight), -1))
    np.testing.assert_allclose(filters.freqs, np.linspace(0, SFREQ / 2, 300))
    for kernel, gain in zip(filters.kernels, filters.magnitude, strict=True):
        _, response = freqz(kernel, worN=filters.freqs, fs=SFREQ)
        np.testing.assert_allclose(gain, np.abs(response), rtol=1e-6, atol=1e-9)


def test_passbands_are_the_half_power_band_around_the_peak(fitted_eegnet):
    filters = temporal_filters(fitted_eegnet, n_freqs=1024, verbose=False)
    half_power = filters.magnitude.max(axis=1) / np.sqrt(2)
    for row, kernel, level in zip(
        filters.passbands.itertuples(), filters.kernels, half_power, strict=True
    ):
        assert row.low_freq < row.peak_freq < row.high_freq
        _, edges = freqz(kernel, worN=[row.low_freq, row.high_freq], fs=filters.sfreq)
        np.testing.assert_allclose(np.abs(edges), level, rtol=0.01)
        inside = np.linspace(row.low_freq, row.high_freq, 200)[1:-1]
        _, passband = freqz(kernel, worN=inside, fs=filters.sfreq)
        assert np.abs(passband).min() >= level * 0.99
    assert filters.passbands.contribution.isna().all()
    assert filters.passbands["rank"].isna().all()


def test_a_rate_assumed_for_arrays_is_said(synthetic_arrays):
    """Fitted on 160 Hz arrays without info, the network is taken at 128 Hz:
    every pass band was scaled by 0.8, without a word."""
    X, y = synthetic_arrays
    on_arrays = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    with pytest.warns(RuntimeWarning, match="taken as 128 Hz"):
        temporal_filters(on_arrays.fit(X, y), verbose=False)
    info = mne.create_info(X.shape[1], 160.0, "eeg")
    with_info = EEGNetClassifier(max_epochs=1, info=info, verbose=False).fit(X, y)
    assert temporal_filters(with_info, verbose=False).sfreq == 160.0


def test_without_epochs_the_layer_is_checked_on_data_of_the_training_scale(
    fitted_eegnet,
):
    """Without epochs the temporal layer is checked on noise at the training
    data's scale: a hook acting only far outside that range (a clamp at ±1000,
    which noise at that scale does not reach) computes as its weights on the
    data, so it is accepted as it is with epochs. On noise of unit standard
    deviation, some 1e5 times EEG in volts, the clamp acted, and the layer
    was refused."""
    estimator = copy.deepcopy(fitted_eegnet)
    estimator.module_.temporal_conv.register_forward_hook(
        lambda layer, inputs, output: output.clamp(-1e3, 1e3)
    )
    filters = temporal_filters(estimator, verbose=False)
    np.testing.assert_array_equal(
        filters.magnitude, temporal_filters(fitted_eegnet, verbose=False).magnitude
    )


def test_designed_band_pass_kernels_are_reported_in_their_band(fitted_eegnet):
    estimator = copy.deepcopy(fitted_eegnet)
    weight = estimator.module_.temporal_conv.weight
    sfreq = estimator.info_["sfreq"]
    bands = [(8.0, 30.0), (35.0, 60.0)]
    with torch.no_grad():
        for kernel, band in enumerate(bands):
            design = firwin(weight.shape[-1], band, pass_zero=False, fs=sfreq)
            weight[kernel, 0, 0] = torch.as_tensor(design)
    passbands = temporal_filters(estimator, verbose=False).passbands
    for kernel, (low, high) in enumerate(bands):
        row = passbands.loc[kernel]
        # firwin's cutoffs are at half gain (-6 dB): -3 dB lies inside them.
        assert low < row.low_freq < row.peak_freq < row.high_freq < high


class PooledThenSpatialNet(nn.Module):
    """Time pooled to one sample, then a convolution along the channels."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.pool = nn.AvgPool2d((1, n_times))
        self.spatial = nn.Conv2d(1, 4, (n_chans, 1))
        self.dense = nn.Linear(4, n_outputs)

    def forward(self, x):
        return self.dense(self.spatial(self.pool(x.unsqueeze(1))).flatten(1))


@pytest.mark.parametrize("module", [SpatioTemporalNet, PooledThenSpatialNet])
def test_networks_without_temporal_filters_are_refused(module):
    """A convolution along the channels after time was pooled to one sample was
    taken for a temporal filter on axis 2, and refused as if a function of the
    network's forward decimated time."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=module)
    layer = "conv" if module is SpatioTemporalNet else "spatial"
    match = rf"no temporal filters.*'{layer} \(Conv2d\)'"
    with pytest.raises(ValueError, match=match):
        temporal_filters(estimator, verbose=False)


class GainThenDepthwiseNet(nn.Module):
    """A gain per channel (a depthwise convolution of one tap), then a depthwise
    temporal convolution."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.gain = nn.Conv1d(n_chans, n_chans, 1, groups=n_chans)
        self.depthwise = nn.Conv1d(n_chans, n_chans, 9, groups=n_chans)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.dense = nn.Linear(n_chans, n_outputs)

    def forward(self, x):
        return self.dense(self.pool(self.depthwise(self.gain(x))).flatten(1))


@pytest.mark.parametrize("module", [GainThenDepthwiseNet, SpatioTemporalConv1dNet])
def test_the_temporal_layer_filters_each_map_alone_with_several_taps(module):
    """As documented, the temporal layer is the first convolution whose kernels
    are longer than one sample in time, each reading one map: a kernel of one
    tap scales its map (every frequency alike), and a convolution over all
    channels mixes them, so neither is a filter bank; the depthwise
    convolution after them is."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs, module=module)
    filters = temporal_filters(estimator, verbose=False)
    assert filters.layer == "depthwise"
    assert filters.kernels.shape[1] == 9


# -- on EEGBCI motor imagery ------------------------------------------------------------
# The shared fixtures stop after 20 epochs, with EEGNet still near chance.
# These learn the task (at 80 Hz, which keeps it short; EEGNet with a larger
# step than the default), each beside a twin trained on shuffled labels.
TRAINING = {
    # Unshifted: trained with time_shift=0.05 on these 45 epochs, its patterns
    # shared the filters' sensorimotor share (0.50) where unshifted they hold
    # more (0.57 against 0.47); the shuffled control's stays at 0.34.
    "eegnet": (
        EEGNetClassifier,
        {"max_epochs": 40, "batch_size": 8, "lr": 3e-3, "time_shift": 0},
    ),
    "icnn": (InterpretableCNNClassifier, {"max_epochs": 60, "batch_size": 8}),
}


@pytest.fixture(scope="module")
def motor_epochs(eegbci_epochs):
    """EEGBCI hands vs feet, 0.5-2.5 s after the cue, resampled to 80 Hz."""
    return eegbci_epochs.copy().crop(0.5, 2.5).resample(80.0)


@pytest.fixture(scope="module", params=list(TRAINING))
def trained(request, motor_epochs):
    """A network trained on the task, and its twin trained on shuffled labels."""
    estimator_class, params = TRAINING[request.param]
    labels = motor_epochs.events[:, 2]
    shuffled = np.random.default_rng(0).permutation(labels)
    return [
        estimator_class(random_state=0, verbose=False, **params).fit(motor_epochs, y)
        for y in (labels, shuffled)
    ]


def _sensorimotor(info):
    """Channels within 5.5 cm of C3, Cz or C4: the FC, C and CP rows of 10-10."""
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    centres = positions[[info.ch_names.index(name) for name in ("C3", "Cz", "C4")]]
    distances = np.linalg.norm(positions[:, None] - centres, axis=-1).min(axis=1)
    return distances < 0.055


def _sensorimotor_share(maps, spatial, region):
    """Share of each map's power over ``region``, averaged with the contributions."""
    share = (maps.data[region] ** 2).sum(axis=0) / (maps.data**2).sum(axis=0)
    return np.average(share, weights=spatial.ranking.contribution)


def test_leading_patterns_sit_over_sensorimotor_cortex(trained, motor_epochs):
    network, shuffled = trained
    spatial = spatial_patterns(network, motor_epochs, verbose=False)
    region = _sensorimotor(spatial.patterns.info)
    inside = {
        name for name, near in zip(motor_epochs.ch_names, region, strict=True) if near
    }
    assert {"FC3", "C1", "CPz", "C6"} <= inside and not {"F3", "P4", "T7"} & inside
    # The top-ranked pattern peaks over the sensorimotor strip.
    assert region[np.abs(spatial.patterns.data[:, 0]).argmax()]
    share = _sensorimotor_share(spatial.patterns, spatial, region)
    # Controls: the filters themselves (which also cancel noise, Haufe et al.)
    # and the patterns of a network that learned nothing about the task.
    control = spatial_patterns(shuffled, motor_epochs, verbose=False)
    assert share > _sensorimotor_share(spatial.filters, spatial, region)
    assert share > _sensorimotor_share(control.patterns, control, region)
    fig = spatial.plot(3, show=False)
    units = [ax.get_title().split("\n")[0].split(",")[0] for ax in fig.axes[:3]]
    assert units == [f"unit {unit}" for unit in spatial.ranking.unit[:3]]


def test_most_used_temporal_filters_pass_mu_and_beta(trained, motor_epochs):
    filters = temporal_filters(trained[0], motor_epochs, verbose=False)
    passbands = filters.passbands.sort_values("rank")
    assert passbands.peak_freq.head(2).between(8, 30).all()
    in_band = passbands.peak_freq.between(8, 30)
    assert np.average(in_band, weights=passbands.contribution) > 0.8


def _decision(module, data, predicted):
    """The predicted class's logit minus the mean logit, per epoch."""
    with torch.no_grad():
        logits = module.eval()(data)
    return logits[np.arange(len(data)), predicted] - logits.mean(dim=1)


def test_contributions_rank_units_as_removing_them_does(trained, motor_epochs):
    network = trained[0]
    data = torch.as_tensor(motor_epochs.get_data(), dtype=torch.float32)
    predicted = network.module_.eval()(data).argmax(dim=1)
    before = _decision(network.module_, data, predicted)
    spatial = spatial_patterns(network, motor_epochs, verbose=False)
    filters = temporal_filters(network, motor_epochs, verbose=False)
    for layer, units, contributions in (
        (spatial.layer, spatial.ranking.unit, spatial.ranking.contribution),
        (filters.layer, filters.passbands.kernel, filters.passbands.contribution),
    ):
        effects = []
        for unit in units:
            module = copy.deepcopy(network.module_)
            with torch.no_grad():
                module.get_submodule(layer).weight[unit] = 0
            after = _decision(module, data, predicted)
            effects.append(float((after - before).abs().mean()))
        assert spearmanr(contributions, effects).statistic > 0.7


def test_results_do_not_depend_on_the_batch_size(fitted_icnn, imagery_epochs):
    one = spatial_patterns(fitted_icnn, imagery_epochs, batch_size=7, verbose=False)
    all_ = spatial_patterns(fitted_icnn, imagery_epochs, batch_size=64, verbose=False)
    np.testing.assert_allclose(one.patterns.data, all_.patterns.data, rtol=1e-4)
    np.testing.assert_allclose(
        one.ranking.contribution, all_.ranking.contribution, rtol=1e-4
    )
    small = temporal_filters(fitted_icnn, imagery_epochs, batch_size=7, verbose=False)
    large = temporal_filters(fitted_icnn, imagery_epochs, verbose=False)
    np.testing.assert_allclose(
        small.passbands.contribution, large.passbands.contribution, rtol=1e-4
    )


def test_plot_temporal_filters_names_the_most_used_and_fits(
    fitted_icnn, imagery_epochs
):
    filters = temporal_filters(fitted_icnn, imagery_epochs, verbose=False)
    # Rank 1 is the largest contribution, as documented.
    by_contribution = filters.passbands.sort_values("contribution", ascending=False)
    assert by_contribution["rank"].tolist() == list(range(1, len(by_contribution) + 1))
    fig = plot_temporal_filters(filters, n_highlight=3, show=False)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Frequency (Hz)" and "(dB)" in ax.get_ylabel()
    assert "depthwise_conv" in ax.get_title()
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    top = filters.passbands.sort_values("rank").kernel.head(3)
    assert [entry.split(":")[0] for entry in legend[:3]] == [f"kernel {k}" for k in top]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_legend().get_texts()]
    texts += ax.get_xticklabels() + ax.get_yticklabels()
    for text in texts:
        extent = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= extent.x0 and extent.x1 <= fig.bbox.x1, text
        assert fig.bbox.y0 <= extent.y0 and extent.y1 <= fig.bbox.y1, text


def test_every_highlighted_kernel_has_its_colour(fitted_icnn, imagery_epochs):
    """tab10 was indexed by rank: ranks 10 to 16 shared its last colour."""
    filters = temporal_filters(fitted_icnn, imagery_epochs, verbose=False)
    n_kernels = len(filters.passbands)
    assert n_kernels > 10
    fig = plot_temporal_filters(filters, n_highlight=n_kernels, show=False)
    ranked = [line for line in fig.axes[0].get_lines() if "rank" in line.get_label()]
    assert len(ranked) == n_kernels
    assert len({tuple(line.get_color()) for line in ranked}) == n_kernels


def test_patterns_of_a_network_reading_eeg_and_eog_map_one_type(
    spatial_epochs, spatial_epochs_with_eog
):
    epochs = spatial_epochs_with_eog
    network = EEGNetClassifier(
        picks=["eeg", "eog"], max_epochs=1, random_state=0, verbose=False
    ).fit(epochs)
    patterns = spatial_patterns(network, epochs, verbose=False)
    assert "EOG" in patterns.patterns.ch_names
    fig = patterns.plot(2, show=False)
    (axes, *_) = fig.axes
    # The scalp maps hold the EEG channels only: one sensor marker each.
    assert len(axes.collections[-1].get_offsets()) == len(spatial_epochs.ch_names)
    with pytest.raises(ValueError, match="ch_type"):
        patterns.plot(ch_type="mag", show=False)
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize(
    "layer, kernel, dead",
    # A zeroed temporal kernel leaves its two units constant maps (batch norm's
    # shift), whose covariance is rounding.
    [("spatial_conv", 3, [3]), ("temporal_conv", 2, [4, 5])],
)
def test_a_dead_unit_has_a_zero_pattern_and_is_named(layer, kernel, dead):
    """A unit with zero weights made spatial_patterns fail."""
    epochs, _, _ = _planted_source()
    estimator = _fit(EEGNetClassifier, epochs)
    alive = spatial_patterns(estimator, epochs, verbose=False)
    with torch.no_grad():
        estimator.module_.get_submodule(layer).weight[kernel] = 0
    named = re.escape(f"Unit(s) {dead} of layer 'spatial_conv' output a constant")
    with pytest.warns(RuntimeWarning, match=named):
        spatial = spatial_patterns(estimator, epochs, verbose=False)

    def by_unit(result):
        return result.patterns.data[:, np.argsort(result.ranking.unit.to_numpy())]

    patterns = by_unit(spatial)
    if layer == "temporal_conv":  # the units reading the zeroed kernel's map
        maps_read = spatial.ranking.set_index("unit").input_map[dead]
        assert maps_read.tolist() == [kernel] * len(dead)
    others = np.setdiff1d(np.arange(len(alive.ranking)), dead)
    assert np.all(patterns[:, dead] == 0)
    np.testing.assert_allclose(
        patterns[:, others], by_unit(alive)[:, others], rtol=1e-6, atol=1e-9
    )


def test_titles_name_the_input_map_only_where_units_read_several():
    """Which input map a unit reads tells units apart only when they read
    several: with one, ", map 0" on every title says nothing."""
    epochs, _, _ = _planted_source()
    spatial = spatial_patterns(_linear_readout(epochs.info)[1], epochs, verbose=False)
    assert spatial.ranking.input_map.nunique() == 1
    several = dataclasses.replace(
        spatial, ranking=spatial.ranking.assign(input_map=range(len(spatial.ranking)))
    )
    for result, named in ((spatial, False), (several, True)):
        fig = result.plot(2, show=False)
        titles = [ax.get_title() for ax in fig.axes[:2]]
        assert [", map " in title for title in titles] == [named, named]
        matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("kind", ["patterns", "filters"])
def test_each_plotted_map_is_divided_by_its_own_largest_value(kind, monkeypatch):
    """Filters and patterns have no unit common to the units: each topomap is
    its component over its largest |value|, not each channel over its largest
    across the components."""
    epochs, _, _ = _planted_source()
    spatial = spatial_patterns(_linear_readout(epochs.info)[1], epochs, verbose=False)
    drawn = []
    monkeypatch.setattr(
        mne_xai.viz, "_plot_topomap_rows", lambda rows, *_, **__: drawn.extend(rows)
    )
    spatial.plot(2, kind=kind, show=False)
    components = getattr(spatial, kind).data[:, :2].T
    expected = components / np.abs(components).max(axis=1, keepdims=True)
    np.testing.assert_allclose(drawn[0], expected)


def test_units_constant_up_to_float32_rounding_have_no_pattern():
    """Offsets of 1 V with variations of 3e-8 V, below float32's resolution at
    1 V: the units see rounding only, constants as zeroed units are. Their
    variance was compared with that of the maps about their mean, rounding
    too, not with the maps' size: their patterns were of the rounding."""
    epochs, _, _ = _planted_source()
    offset = mne.EpochsArray(
        1.0 + 1e-2 * epochs.get_data(), epochs.info, epochs.events, verbose=False
    )
    _, network = _linear_readout(epochs.info)
    with pytest.warns(RuntimeWarning, match=r"Unit\(s\) \[0, 1, 2\] .* a constant"):
        spatial = spatial_patterns(network, offset, verbose=False)
    assert not spatial.patterns.data.any()


def test_units_varying_above_float32_rounding_of_an_offset_keep_their_patterns():
    """Offsets of 10 mV with variations of 1 uV, which float32 resolves (to
    1e-9 V at 10 mV): the patterns are those without the offsets, the
    covariance being about the mean, and no unit is taken for a constant."""
    epochs, _, _ = _planted_source()
    _, network = _linear_readout(epochs.info)
    offsets = 1e-2 * np.linspace(0.5, 1.5, len(CH_NAMES))[:, None]
    offset = mne.EpochsArray(
        epochs.get_data() + offsets, epochs.info, epochs.events, verbose=False
    )
    with warnings.catch_warnings():
        # The offsets are said (the network reads them); no unit is constant.
        warnings.filterwarnings("ignore", "epochs's channels carry a steady offset")
        warnings.filterwarnings("error", r"Unit\(s\)")
        shifted = spatial_patterns(network, offset, verbose=False)
    expected = spatial_patterns(network, epochs, verbose=False)
    np.testing.assert_array_equal(shifted.ranking.unit, expected.ranking.unit)
    np.testing.assert_allclose(
        shifted.patterns.data, expected.patterns.data, rtol=1e-3, atol=1e-12
    )


class TakesFourAxes(nn.Module):
    """A port of a Keras network: it expects (batch, 1, n_channels, n_times)."""

    def __init__(self, n_channels, n_classes=2):
        super().__init__()
        self.temporal = nn.Conv2d(1, 2, (1, 5), bias=False)
        self.spatial = nn.Conv2d(2, 4, (n_channels, 1))
        self.dense = nn.Linear(4, n_classes)

    def forward(self, x):
        return self.dense(self.spatial(self.temporal(x)).mean(dim=(2, 3)))


def test_a_network_taking_four_axes_is_refused_with_the_shape_it_is_given():
    """A skorch network written for (batch, 1, n_channels, n_times) failed with
    torch's IndexError of a dimension the user never made."""
    epochs, _, _ = _planted_source()
    net = NeuralNetClassifier(
        TakesFourAxes, module__n_channels=len(CH_NAMES), classes=[0, 1]
    ).initialize()
    network = as_network(net, info=epochs.info)
    for function in (spatial_patterns, temporal_filters, explain):
        with pytest.raises(
            ValueError, match=r"shape \(\d, 8, 256\).*\(batch, 1, n_channels, n_times\)"
        ):
            function(network, epochs, verbose=False)
    # The remedy the error gives.
    net.module_ = nn.Sequential(nn.Unflatten(1, (1, len(CH_NAMES))), net.module_)
    network = as_network(net, info=epochs.info)
    assert spatial_patterns(network, epochs, verbose=False).layer == "1.spatial"
    assert temporal_filters(network, epochs, verbose=False).layer == "1.temporal"


class OneTemporalKernel(nn.Module):
    """One temporal kernel of 33 taps: after a pooling over channels
    ("channel_pool"), after a decimation of time by a pooling layer
    ("time_pool") or by a function of forward ("functional"), after a padding
    layer ("padded"), or on its own: with its taps 2 samples apart ("dilated",
    and "dilated_on_axis_2" with time on axis 2, as ShallowFBCSPNet has it), or
    with a stride of 2 ("strided"). With "conv1d_time_pool", one kernel per
    channel in a depthwise ``nn.Conv1d``, after a decimation of time by a
    pooling layer."""

    def __init__(self, mode, n_channels=4, n_times=256):
        super().__init__()
        self.mode = mode
        self.channel_pool = nn.MaxPool2d((n_channels, 1))
        self.time_pool = nn.AvgPool2d((1, 2))
        self.time_pool_1d = nn.AvgPool1d(2)
        self.pad = nn.ZeroPad2d((16, 16, 0, 0))
        dilation = 2 if mode.startswith("dilated") else 1
        stride = 2 if mode == "strided" else 1
        if mode == "dilated_on_axis_2":
            self.temporal = nn.Conv2d(1, 1, (33, 1), dilation=(dilation, 1), bias=False)
        elif mode == "conv1d_time_pool":
            self.temporal = nn.Conv1d(
                n_channels, n_channels, 33, groups=n_channels, bias=False
            )
        else:
            self.temporal = nn.Conv2d(
                1, 1, (1, 33), stride=(1, stride), dilation=(1, dilation), bias=False
            )
        n_rows = 1 if mode == "channel_pool" else n_channels
        decimated = mode in ("time_pool", "functional", "conv1d_time_pool")
        n_samples = n_times // 2 if decimated else n_times
        n_samples += 32 if mode == "padded" else 0
        n_outputs = (n_samples - 32 * dilation - 1) // stride + 1
        self.head = nn.Linear(n_rows * n_outputs, 2)

    def forward(self, x):  # noqa: D102
        if self.mode == "conv1d_time_pool":  # 128 Hz to 64 Hz, time on axis 2
            return self.head(self.temporal(self.time_pool_1d(x)).flatten(1))
        x = x.unsqueeze(1)
        if self.mode == "channel_pool":
            x = self.channel_pool(x)  # max over channels: time is untouched
        elif self.mode == "time_pool":
            x = self.time_pool(x)  # 128 Hz to 64 Hz
        elif self.mode == "functional":
            x = nn.functional.avg_pool2d(x, (1, 2))  # 128 Hz to 64 Hz
        elif self.mode == "padded":
            x = self.pad(x)  # 256 to 288 samples, at 128 Hz
        elif self.mode == "dilated_on_axis_2":
            x = x.transpose(2, 3)  # (batch, 1, n_times, n_channels)
        return self.head(self.temporal(x).flatten(1))


def _with_kernel(mode, kernel, sfreq=128.0):
    """An untrained classifier of OneTemporalKernel with ``kernel`` (in each of
    its kernels), and epochs."""
    rng = np.random.default_rng(0)
    info = mne.create_info(4, sfreq, "eeg")
    epochs = mne.EpochsArray(
        rng.standard_normal((8, 4, 256)) * 1e-5,
        info,
        np.column_stack([np.arange(8), np.zeros(8, int), np.arange(8) % 2 + 1]),
        verbose=False,
    )
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        lambda: OneTemporalKernel(mode), max_epochs=0, train_split=None
    )
    net.set_params(classes=[1, 2]).initialize()
    weight = net.module_.temporal.weight
    with torch.no_grad():
        weight[:] = torch.as_tensor(kernel, dtype=torch.float32).reshape(
            weight.shape[1:]
        )
    return as_network(net, info=info), epochs


@pytest.mark.parametrize(
    "pooling, rate",
    [
        ("channel_pool", 128.0),
        ("time_pool", 64.0),
        ("padded", 128.0),
        ("strided", 128.0),
        ("conv1d_time_pool", 64.0),
    ],
)
def test_the_kernels_rate_is_that_of_time_after_pooling(pooling, rate):
    """The largest stride on any axis was taken as time's: a 10 Hz kernel after
    a pooling over 4 channels was reported at 2.5 Hz. After a pooling of 2
    samples, the kernel runs at 64 Hz: read at the epochs' 128 Hz, its 10 Hz
    (mu) pass band would be reported at 20 Hz (beta). After a padding layer,
    which keeps the rate, the layer was refused as reading time decimated or
    sliced by a function of forward. A kernel of stride 2 filters its input,
    at 128 Hz: its output's rate is 64 Hz, at which its band would be halved.
    A Conv1d's time axis is its last, axis 2, whose rate the pooling halves."""
    kernel = firwin(33, [8, 12], pass_zero=False, fs=rate)
    network, epochs = _with_kernel(pooling, kernel)
    filters = temporal_filters(network, epochs, n_freqs=1025, verbose=False)
    assert filters.sfreq == rate
    np.testing.assert_allclose(filters.passbands.peak_freq, 10, atol=0.5)


@pytest.mark.parametrize("mode", ["dilated", "dilated_on_axis_2"])
def test_a_dilated_kernel_is_the_filter_of_its_spread_taps(mode):
    """Taps 2 samples apart are the filter of the kernel with a zero between
    each two taps: its pass band at half the frequency of the taps side by
    side, and its image below Nyquist. With time on axis 2 the dilation along
    that axis counts, not that along the channels (1)."""
    kernel = firwin(33, [8, 12], pass_zero=False, fs=64.0)
    network, epochs = _with_kernel(mode, kernel)
    filters = temporal_filters(network, epochs, n_freqs=257, verbose=False)
    spread = np.zeros(2 * len(kernel) - 1)
    spread[::2] = kernel
    _, response = freqz(spread, worN=filters.freqs, fs=SFREQ)
    np.testing.assert_allclose(
        filters.magnitude[0], np.abs(response), rtol=1e-5, atol=1e-6
    )


def test_a_kernels_contribution_is_the_mean_magnitude_of_its_part_of_the_decision():
    """With a head linear in the kernel's output ``y``, the decision (the
    predicted logit minus the mean logit) is ``g . y`` plus the biases' part:
    the contribution is the mean over epochs of ``|g . y|``, in logits (a sum
    over epochs would grow with their number)."""
    kernel = firwin(33, [8, 12], pass_zero=False, fs=128.0)
    network, epochs = _with_kernel("channel_pool", kernel)
    filters = temporal_filters(network, epochs, verbose=False)
    output = layer_activations(network, epochs, "temporal", verbose=False).data
    output = output.reshape(len(epochs), -1).astype(np.float64)
    head = find_layer(network, "head")[1]
    weight, bias = (value.detach().double().numpy() for value in head.parameters())
    predicted = (output @ weight.T + bias).argmax(axis=1)
    gradient = weight[predicted] - weight.mean(axis=0)
    expected = np.abs((gradient * output).sum(axis=1)).mean()
    assert filters.passbands.contribution[0] == pytest.approx(expected, rel=1e-4)


def test_band_edges_are_the_half_power_crossings_next_to_the_peak():
    """The kernel [1, 0, -1] has the gain 2 |sin(2 pi f / sfreq)|: its peak at
    32 Hz, half power at 16 and 48 Hz. On a coarse grid each edge lies between
    the two bins around its crossing, where their linear interpolation is at
    half power (taken a bin early, the high edge was 49.4 Hz)."""
    kernel = np.zeros(33)
    kernel[[0, 2]] = 1, -1
    network, epochs = _with_kernel("channel_pool", kernel)
    filters = temporal_filters(network, epochs, n_freqs=11, verbose=False)
    row = filters.passbands.loc[0]
    assert row.peak_freq == pytest.approx(32)
    gain = filters.magnitude[0] / filters.magnitude[0].max()
    for edge, expected in ((row.low_freq, 16), (row.high_freq, 48)):
        assert edge == pytest.approx(expected, abs=0.5)
        assert np.interp(edge, filters.freqs, gain) == pytest.approx(1 / np.sqrt(2))


def test_plotted_gain_is_in_decibels_of_amplitude_relative_to_the_peak():
    """The kernel [1, 0, -1] has the gain 2 |sin(2 pi f / sfreq)|, peak 2 at 32
    Hz: plotted relative to its peak, 20 log10 |sin(2 pi f / sfreq)|, so the
    -3 dB line crosses it at the band's edges (10 log10, for a power, would
    put them at -1.5 dB)."""
    kernel = np.zeros(33)
    kernel[[0, 2]] = 1, -1
    network, epochs = _with_kernel("channel_pool", kernel)
    filters = temporal_filters(network, epochs, n_freqs=65, verbose=False)
    fig = plot_temporal_filters(filters, show=False)
    (line,) = [
        line for line in fig.axes[0].get_lines() if "kernel 0" in line.get_label()
    ]
    freqs, gain = line.get_data()
    inside = (freqs > 0) & (freqs < SFREQ / 2)  # -inf at 0 Hz and Nyquist
    np.testing.assert_allclose(
        gain[inside], 20 * np.log10(np.abs(np.sin(2 * np.pi * freqs[inside] / SFREQ)))
    )


def _moving_average_high_edge(n_taps, sfreq):
    """The -3 dB edge of an ``n_taps`` moving average, from its closed-form gain
    ``|sin(n x) / (n sin x)|``, ``x = pi f / sfreq``, which falls from 1 at 0 Hz
    to 0 at ``sfreq / n_taps``."""

    def excess(freq):
        x = np.pi * freq / sfreq
        return np.sin(n_taps * x) / (n_taps * np.sin(x)) - 1 / np.sqrt(2)

    return brentq(excess, 1e-6, sfreq / n_taps)


@pytest.mark.parametrize(
    "taps, peak, low, high",
    [
        # A moving average (low-pass): peak and low edge at 0 Hz.
        ([1 / 8] * 8, 0.0, 0.0, _moving_average_high_edge(8, 128.0)),
        # Gain |1 - 0.1 exp(-4 pi i f / sfreq)|, from 0.9 to 1.1 at 32 Hz: it
        # never falls to half power, so its band is 0 Hz to Nyquist.
        ([1, 0, -0.1], 32.0, 0.0, 64.0),
    ],
)
def test_a_band_without_a_crossing_on_a_side_ends_at_0_hz_or_nyquist(
    taps, peak, low, high
):
    """As documented: an edge where the gain stays above half power up to
    0 Hz or up to the Nyquist frequency is that frequency, not the peak's."""
    kernel = np.zeros(33)
    kernel[: len(taps)] = taps
    network, epochs = _with_kernel("channel_pool", kernel)
    filters = temporal_filters(network, epochs, n_freqs=1025, verbose=False)
    row = filters.passbands.loc[0]
    assert row.peak_freq == pytest.approx(peak)
    assert row.low_freq == pytest.approx(low)
    assert row.high_freq == pytest.approx(high, abs=0.01)


def test_time_decimated_by_a_function_is_refused():
    """A decimation by F.avg_pool2d before the layer was missed: a 10 Hz kernel
    at 64 Hz was reported at 20 Hz."""
    kernel = firwin(33, [8, 12], pass_zero=False, fs=64.0)
    network, epochs = _with_kernel("functional", kernel)
    with pytest.raises(ValueError, match="rate of the input of layer 'temporal'"):
        temporal_filters(network, epochs, verbose=False)


def test_a_zero_kernel_has_no_band_and_is_named():
    """An all-zero kernel was reported as an all-pass filter (peak 0 Hz, band
    0 to Nyquist), with only numpy's warning of a division."""
    network, epochs = _with_kernel("channel_pool", np.zeros(33))
    with pytest.warns(RuntimeWarning, match=r"Kernel\(s\) \[0\] of layer 'temporal'"):
        filters = temporal_filters(network, epochs, verbose=False)
    row = filters.passbands.loc[0, ["peak_freq", "low_freq", "high_freq"]]
    assert row.isna().all()
    plot_temporal_filters(filters, show=False)


class _StandardizedTemporal(nn.Conv2d):
    """A temporal convolution that standardizes its weight in ``_conv_forward``."""

    def _conv_forward(self, x, weight, bias):
        mean, std = weight.mean(dim=-1, keepdim=True), weight.std(dim=-1, keepdim=True)
        return super()._conv_forward(x, (weight - mean) / std, bias)


@pytest.mark.parametrize("change", ["hook", "subclass"])
@pytest.mark.parametrize("given", ["epochs", "none"])
def test_a_temporal_layer_computing_otherwise_is_refused(change, given):
    """The gains were read from the stored weights of a temporal layer whose
    forward hook doubled its output (every gain half the layer's) or that
    standardized its weight (gains of other kernels than it convolves with),
    with epochs or without: a check on zeros, which both return alike, passed."""
    epochs = _planted_source()[0]
    estimator = _fit(EEGNetClassifier, epochs)
    layer = estimator.module_.temporal_conv
    if change == "hook":
        layer.register_forward_hook(lambda m, i, out: 2 * out)
    else:
        layer.__class__ = _StandardizedTemporal
    with pytest.raises(ValueError, match="'temporal_conv' .*computes otherwise"):
        temporal_filters(estimator, epochs if given == "epochs" else None)


class BiasedTemporalFirst(nn.Module):
    """A biased temporal convolution, then spatial filters: braindecode's order."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.temporal = nn.Conv2d(1, 3, (1, 9))
        self.spatial = nn.Conv2d(3, 2, (4, 1))
        self.head = nn.Linear(2 * 248, 2)

    def forward(self, x):  # noqa: D102
        return self.head(self.spatial(self.temporal(x.unsqueeze(1))).flatten(1))


def test_an_affine_front_end_on_volts_is_linear():
    """Its bias of 0.1 beside a response of 1e-5 left float32 rounding of
    7e-4 of the response, and the front end was refused as not linear."""
    rng = np.random.default_rng(0)
    info = mne.create_info(4, 128.0, "eeg")
    data = rng.standard_normal((8, 4, 256))
    events = np.column_stack([np.arange(8), np.zeros(8, int), np.arange(8) % 2 + 1])
    net = NeuralNetClassifier(BiasedTemporalFirst, max_epochs=0, train_split=None)
    network = as_network(net.set_params(classes=[1, 2]).initialize(), info=info)
    patterns = [
        spatial_patterns(
            network, mne.EpochsArray(data * scale, info, events, verbose=False)
        ).patterns.data
        for scale in (1e-5, 1.0)
    ]
    # Patterns, covariances over variances, do not depend on the unit; the
    # components are ranked by contribution, which may order near ties alike.
    for column in patterns[0].T:
        closest = np.abs(patterns[1] - column[:, None]).max(axis=0).min()
        assert closest < 1e-3 * np.abs(column).max()


class CombinedShallow(nn.Module):
    """ShallowFBCSPNet's layout (batch, 1, time, channels), its first block run
    combined as braindecode does, or as its two layers (``combined=False``)."""

    def __init__(self, n_chans, n_outputs, n_times, combined=True):
        super().__init__()
        self.combined = combined
        self.conv_time_spat = CombinedConv(n_chans, 4, 4, 33, bias_spat=False)
        self.bnorm = nn.BatchNorm2d(4)
        self.elu = nn.ELU()
        self.readout = nn.Linear(4 * (n_times - 32), n_outputs)

    def forward(self, x):  # noqa: D102
        x = x.transpose(1, 2).unsqueeze(1)
        block = self.conv_time_spat
        x = block(x) if self.combined else block.conv_spat(block.conv_time(x))
        return self.readout(self.elu(self.bnorm(x)).flatten(1))


def _combined_and_split():
    """The combined network with a 8-16 Hz kernel first, its split twin, epochs."""
    epochs, _, _ = _planted_source()
    combined = _fit(EEGNetClassifier, epochs, module=CombinedShallow)
    # As the layer stores it, in float32.
    kernel = firwin(33, [8, 16], pass_zero=False, fs=SFREQ).astype(np.float32)
    with torch.no_grad():
        combined.module_.module.conv_time_spat.conv_time.weight[0, 0, :, 0] = (
            torch.as_tensor(kernel)
        )
    split = copy.deepcopy(combined)
    split.module_.module.combined = False
    return combined, split, kernel, epochs


def test_temporal_filters_of_a_combined_convolution():
    """braindecode's ShallowFBCSPNet and Deep4Net were said to have no temporal
    filters: their CombinedConv never calls conv_time."""
    combined, split, kernel, epochs = _combined_and_split()
    filters = temporal_filters(combined, epochs, n_freqs=129, verbose=False)
    assert filters.layer == "conv_time_spat.conv_time"
    assert filters.sfreq == SFREQ
    # 129 frequencies from 0 to 64 Hz are those of a 256-point FFT at 128 Hz.
    np.testing.assert_allclose(
        filters.magnitude[0], np.abs(np.fft.rfft(kernel, 256)), rtol=1e-6, atol=1e-9
    )
    assert 8 < filters.passbands.peak_freq[0] < 16
    # The contributions are those of the same layers, called.
    expected = temporal_filters(split, epochs, n_freqs=129, verbose=False)
    assert np.all(filters.passbands.contribution > 0)
    np.testing.assert_allclose(
        filters.passbands.contribution, expected.passbands.contribution, rtol=1e-4
    )


def test_spatial_patterns_of_a_combined_convolution():
    """Each unit of conv_spat sums every channel of every temporal filter's map:
    one spatial filter per unit and map, as when the layers are called."""
    combined, split, _, epochs = _combined_and_split()
    spatial = spatial_patterns(combined, epochs, verbose=False)
    expected = spatial_patterns(split, epochs, verbose=False)
    assert spatial.layer == "conv_time_spat.conv_spat"
    assert len(spatial.ranking) == 4 * 4
    np.testing.assert_allclose(
        spatial.ranking.contribution, expected.ranking.contribution, rtol=1e-4
    )
    np.testing.assert_array_equal(spatial.ranking.unit, expected.ranking.unit)
    np.testing.assert_allclose(spatial.patterns.data, expected.patterns.data, rtol=1e-4)


def test_convolutions_combined_in_the_networks_forward_are_named():
    """The refusals listed the convolutions called only, as if there were no
    other: this ShallowFBCSPNet combines its two in its own forward."""
    epochs, _, _ = _planted_source()
    estimator = _fit(
        EEGNetClassifier, epochs, module=ShallowFBCSPNet, module__combined_conv=True
    )
    never_called = r"\['conv_time', 'conv_spat'\] are never called"
    with pytest.raises(ValueError, match=f"no temporal filters.*{never_called}"):
        temporal_filters(estimator, verbose=False)
    with pytest.raises(ValueError, match=f"no spatial filter layer.*{never_called}"):
        spatial_patterns(estimator, epochs, verbose=False)


def test_patterns_are_drawn_where_the_epochs_put_their_channels(spatial_epochs):
    """Patterns took the training info's positions, the attribution maps those
    of the epochs given: a network trained before a montage was set drew its
    patterns nowhere, and one trained on another montage drew them mirrored."""
    unplaced = spatial_epochs.copy()
    unplaced.set_montage(None)
    estimator = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    estimator.fit(unplaced)
    patterns = spatial_patterns(estimator, spatial_epochs, verbose=False).patterns
    np.testing.assert_array_equal(
        patterns.info._get_channel_positions(),
        spatial_epochs.info._get_channel_positions(),
    )
    maps = explain(estimator, spatial_epochs, "saliency", average=True)
    np.testing.assert_array_equal(
        patterns.info._get_channel_positions(), maps.info._get_channel_positions()
    )
