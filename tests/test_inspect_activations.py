"""Layer activations: streamed over batches, with the epochs' events and metadata."""

import warnings

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from skorch import NeuralNetClassifier

import mne_xai.inspect
from mne_xai import CroppedClassifier, EEGNetClassifier, as_network
from mne_xai.inspect import (
    best_samples,
    find_layer,
    layer_activations,
    learn_patterns,
    maximize_activation,
    spatial_patterns,
    temporal_filters,
)
from mne_xai.inspect._activations import decision_score, unit_output


def _full_pass_output(estimator, data, layer):
    """The layer's output for all epochs in one forward pass, by a hook."""
    captured = []
    handle = layer.register_forward_hook(lambda *args: captured.append(args[2]))
    module = estimator.module_.eval()
    try:
        with torch.no_grad():
            module(torch.as_tensor(data, dtype=torch.float32))
    finally:
        handle.remove()
    return captured[0].numpy()


def test_activations_equal_one_forward_pass_whatever_the_batch(
    fitted_eegnet, imagery_epochs
):
    epochs = imagery_epochs[:10]
    epochs.metadata = pd.DataFrame({"trial": np.arange(10)})
    expected = _full_pass_output(
        fitted_eegnet,
        epochs.get_data(picks=fitted_eegnet.ch_names_),
        fitted_eegnet.module_.spatial_elu,
    )
    small = layer_activations(
        fitted_eegnet, epochs, "spatial_elu", batch_size=3, verbose=False
    )
    large = layer_activations(
        fitted_eegnet,
        epochs,
        fitted_eegnet.module_.spatial_elu,
        batch_size=64,
        verbose=False,
    )
    np.testing.assert_allclose(small.data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(small.data, large.data, rtol=1e-5, atol=1e-6)
    assert small.layer == large.layer == "spatial_elu"
    # Compared by identity, as MNE's objects: the dataclass's field-wise == met
    # NumPy's "truth value of an array is ambiguous" (in `in`, list.remove).
    assert small != large and small in [large, small]
    np.testing.assert_array_equal(small.events, epochs.events)
    pd.testing.assert_frame_equal(small.metadata, epochs.metadata)


def test_to_epochs_keeps_time_and_events(fitted_eegnet, imagery_epochs):
    epochs = imagery_epochs[:6]
    pooled = layer_activations(fitted_eegnet, epochs, "spatial_pool", verbose=False)
    n_units, n_pooled = pooled.data.shape[1], pooled.data.shape[-1]
    # Pooling by 4 at 160 Hz; each value stands at the centre of its 4 samples
    # (the ratio of lengths gave 39.9 Hz).
    sfreq = epochs.info["sfreq"]
    assert pooled.sfreq == sfreq / 4
    assert pooled.tmin == pytest.approx(epochs.tmin + 1.5 / sfreq)
    as_epochs = pooled.to_epochs()
    assert as_epochs.get_data().shape == (6, n_units, n_pooled)
    assert as_epochs.info["sfreq"] == pytest.approx(pooled.sfreq)
    assert as_epochs.event_id == epochs.event_id
    np.testing.assert_array_equal(as_epochs.events, epochs.events)
    # Classes average as MNE objects do.
    assert as_epochs["feet"].average(picks="misc").data.shape == (n_units, n_pooled)
    logits = layer_activations(fitted_eegnet, epochs, "classifier", verbose=False)
    assert logits.sfreq is None
    with pytest.raises(ValueError, match="no time axis at a known rate"):
        logits.to_epochs()
    np.testing.assert_allclose(
        logits.data, fitted_eegnet._logits(epochs), rtol=1e-5, atol=1e-5
    )


def test_time_after_a_valid_convolution_keeps_the_rate(fitted_icnn, imagery_epochs):
    """InterpretableCNN's unpadded convolution shortens 321 samples to 241: the
    ratio of lengths gave 120 Hz at 160 Hz, and to_epochs stretched time."""
    epochs = imagery_epochs[:4]
    kernel = fitted_icnn.module_.depthwise_conv.kernel_size[-1]
    activations = layer_activations(
        fitted_icnn, epochs, "depthwise_conv", verbose=False
    )
    sfreq = epochs.info["sfreq"]
    assert activations.sfreq == sfreq
    assert activations.tmin == pytest.approx(epochs.tmin + (kernel - 1) / 2 / sfreq)
    # The last sample is the centre of the last window (MNE puts the first
    # sample on its grid: within half a sample for an even kernel).
    times = activations.to_epochs().times
    last_centre = epochs.times[-1] - (kernel - 1) / 2 / sfreq
    assert times[-1] == pytest.approx(last_centre, abs=0.5 / sfreq + 1e-9)


def test_a_network_run_on_windows_is_refused(imagery_epochs):
    epochs = imagery_epochs[:6]
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=1.0,
        window_step=0.5,
    ).fit(epochs)
    # The window network's own name, without the wrapper's "module." prefix,
    # is taken, and shown: the refusal and find_layer named the wrapper's path.
    for name in ("module.spatial_pool", "spatial_pool"):
        assert find_layer(cropped, name)[0] == "spatial_pool"
        with pytest.raises(ValueError, match="'spatial_pool' runs 4 times per epoch"):
            layer_activations(cropped, epochs, name, verbose=False)
    with pytest.raises(ValueError, match=r"No layer named 'conv9'") as error:
        layer_activations(cropped, epochs, "conv9", verbose=False)
    assert "'spatial_pool'" in str(error.value)
    assert "module." not in str(error.value)


def test_one_window_gives_the_times_of_the_window(imagery_epochs):
    """The activations took the epoch's first time and no rate, as if the
    window started the epoch."""
    epochs = imagery_epochs[:6]
    sfreq = epochs.info["sfreq"]
    n_samples = len(epochs.times) // 2
    tmin = float(epochs.times[10])
    cropped = CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=n_samples / sfreq,
        tmin=tmin,
        tmax=tmin + (n_samples - 1) / sfreq,
    ).fit(epochs)
    assert list(cropped.window_starts_) == [10]
    activations = layer_activations(cropped, epochs, "temporal_conv", verbose=False)
    # A "same"-padded convolution keeps the input's times.
    assert activations.sfreq == sfreq
    np.testing.assert_allclose(
        activations.to_epochs().times, epochs.times[10 : 10 + n_samples]
    )


def test_unknown_layers_are_refused_with_the_list(fitted_eegnet, imagery_epochs):
    with pytest.raises(ValueError, match=r"No layer named 'conv9'.*spatial_conv"):
        layer_activations(fitted_eegnet, imagery_epochs[:2], "conv9")
    with pytest.raises(ValueError, match="not a layer of this network"):
        find_layer(fitted_eegnet.module_, torch.nn.Linear(2, 2))


def test_find_layer_takes_the_estimator_as_its_siblings_do(fitted_eegnet):
    """The other inspect functions take the estimator; given it, find_layer
    failed with "'EEGNetClassifier' object has no attribute 'named_modules'"."""
    name, layer = find_layer(fitted_eegnet, "separable_pool")
    assert name == "separable_pool"
    assert layer is fitted_eegnet.module_.separable_pool
    assert find_layer(fitted_eegnet.module_, "separable_pool") == (name, layer)
    assert find_layer(fitted_eegnet, layer) == (name, layer)
    with pytest.raises(TypeError, match="Cannot read a network in a str"):
        find_layer("eegnet", "separable_pool")


class OneLayer(torch.nn.Module):
    """A network that is one layer: a weight of its own, no module inside."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(2, 4 * 128))

    def forward(self, x):  # noqa: D102
        return torch.nn.functional.linear(x.flatten(1), self.weight)


def test_a_network_of_no_module_inside_is_its_one_layer():
    """Named by its class, as every message and result names it (a network has
    no name of its own in named_modules): find_layer takes that name back."""
    network = OneLayer()
    assert find_layer(network, "OneLayer") == ("OneLayer", network)


def test_the_network_itself_is_not_one_of_its_layers():
    """Its output is the logits, not units of a layer: found by its class name
    (as a network of no module inside is), it would be listed among the
    layers and read as one."""
    network = Pooled()
    for given in ("Pooled", network):
        with pytest.raises(ValueError, match="(No layer named|not a layer)"):
            find_layer(network, given)
    with pytest.raises(ValueError, match=r"layers are \['conv', 'pool', 'fc'\]\.$"):
        find_layer(network, "Pooled")


class CombinedConv(torch.nn.Module):
    """braindecode's CombinedConv: the kernels of two convolution layers,
    combined and applied in a function; the layers themselves never run."""

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.conv_time = torch.nn.Conv1d(1, 1, 5, padding=2, bias=False)
        self.readout = torch.nn.Linear(n_channels * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        batch, channels, times = x.shape
        flat = (x * self.input_scale).reshape(batch * channels, 1, times)
        filtered = torch.nn.functional.conv1d(flat, self.conv_time.weight, padding=2)
        return self.readout(filtered.reshape(batch, -1))


@pytest.mark.parametrize("inspect", ["layer_activations", "unit_sensitivity"])
def test_layer_never_called_is_refused(synthetic_arrays, inspect):
    """It raised a RuntimeError that did not say why the layer was not called."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(CombinedConv, max_epochs=1, verbose=False).fit(X, y)
    with pytest.raises(ValueError, match=r"'conv_time' \(Conv1d\) is not called"):
        getattr(mne_xai.inspect, inspect)(clf, X[:4], "conv_time", verbose=False)


def _small_epochs(n_channels=4, n_times=128, sfreq=128.0, tmin=-0.25):
    """Eight epochs of noise, two classes."""
    rng = np.random.default_rng(0)
    info = mne.create_info(n_channels, sfreq, "eeg")
    data = rng.standard_normal((8, n_channels, n_times)) * 1e-5
    events = np.column_stack([np.arange(8), np.zeros(8, int), np.arange(8) % 2 + 1])
    return mne.EpochsArray(
        data, info, events, tmin, {"a": 1, "b": 2}, baseline=None, verbose=False
    )


def _untrained(module, epochs):
    """An initialized skorch classifier of ``module``, with the epochs' info."""
    torch.manual_seed(0)
    net = NeuralNetClassifier(module, max_epochs=0, train_split=None, classes=[0, 1])
    return as_network(net.initialize(), info=epochs.info)


class BlockAtModule(torch.nn.Module):
    """A network of one's own holding its convolution block at ``module``."""

    def __init__(self):
        super().__init__()
        self.module = torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, (1, 9), bias=False), torch.nn.ELU()
        )  # 128 -> 120
        self.fc = torch.nn.Linear(2 * 4 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.module(x.unsqueeze(1)).flatten(1))


def test_a_child_named_module_is_the_layer_module():
    """The input scaling holds the network at its own "module": the name is
    the network's block, as the network names it, not the whole network."""
    epochs = _small_epochs()
    network = _untrained(BlockAtModule, epochs)
    name, layer = find_layer(network, "module")
    assert name == "module"
    assert isinstance(layer, torch.nn.Sequential)
    activations = layer_activations(network, epochs, "module", verbose=False)
    assert activations.data.shape == (len(epochs), 2, 4, 120)


class SharedELU(torch.nn.Module):
    """One ELU module used after two convolutions, at two rates."""

    def __init__(self):
        super().__init__()
        self.temporal = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 128 -> 120
        self.pool = torch.nn.AvgPool2d((1, 4))  # 120 -> 30
        self.elu = torch.nn.ELU()
        self.fc = torch.nn.Linear(2 * 4 * 30, 2)

    def forward(self, x):  # noqa: D102
        x = self.pool(self.elu(self.temporal(x.unsqueeze(1))))
        return self.fc(self.elu(x).flatten(1))


@pytest.mark.parametrize(
    "inspection, params",
    [
        ("layer_activations", {}),
        # The classes of _small_epochs' events, as the network numbers them.
        ("pruning_curve", {"ablation": "zero", "y": np.arange(8) % 2}),
    ],
)
def test_a_layer_called_twice_is_refused(inspection, params):
    """The first call's data came with the last call's time axis, silently; the
    units of the layer were ranked by the gradient at its last call alone."""
    epochs = _small_epochs()
    network = _untrained(SharedELU, epochs)
    with pytest.raises(ValueError, match="'elu' is called more than once"):
        getattr(mne_xai.inspect, inspection)(
            network, epochs, "elu", verbose=False, **params
        )


class PaddedThenCut(torch.nn.ZeroPad2d):
    """A padding layer whose forward pads 4 samples each side, then keeps the
    last ``n_times``: its sample ``t`` reads the input's ``t + 4``, not what its
    padding says (``t - 4``)."""

    def forward(self, x):  # noqa: D102
        return super().forward(x)[..., -x.shape[-1] :]


class TimeLost(torch.nn.Module):
    """A convolution whose output's last axis is not the input's time at a known
    rate: time on axis 2 (braindecode's ShallowFBCSPNet layout), decimated by
    a function of forward, reversed or rolled at its length, shifted by a
    padding layer that does not pad as its padding says, or replaced by its
    mean after the convolution (every sample reads the whole epoch)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        kernel = (9, 1) if mode == "time_on_axis_2" else (1, 9)
        self.conv = torch.nn.Conv2d(1, 2, kernel, bias=False)
        self.shift = PaddedThenCut((4, 4, 0, 0))
        self.act = torch.nn.ELU()
        self.fc = torch.nn.LazyLinear(2)
        self(torch.zeros(1, 4, 128))

    def forward(self, x):  # noqa: D102
        x = x.unsqueeze(1)
        if self.mode == "time_on_axis_2":
            x = x.transpose(2, 3)  # (batch, 1, n_times, n_channels)
        elif self.mode == "sliced":
            x = x[..., ::4]
        elif self.mode == "flipped":
            x = x.flip(-1)
        elif self.mode == "rolled":
            x = x.roll(32, -1)
        elif self.mode == "padded_then_cut":
            x = self.shift(x)
        x = self.conv(x)
        if self.mode == "functional_pool":
            x = torch.nn.functional.avg_pool2d(x, (1, 4))
        elif self.mode == "averaged":
            x = x.mean(-1, keepdim=True).expand_as(x)
        return self.fc(self.act(x).flatten(1))


@pytest.mark.parametrize(
    "mode",
    [
        "time_on_axis_2",
        "sliced",
        "functional_pool",
        "flipped",
        "rolled",
        "padded_then_cut",
        "averaged",
    ],
)
def test_an_unknown_time_axis_has_no_rate(mode):
    """The channels were taken as time at the input's rate, and a decimation by
    a function was missed: to_epochs gave times that were not the layer's. Time
    reversed or rolled at its length was dated as the input's: the first sample,
    which read the epoch's end, at the epoch's start; samples of the epoch's
    mean, as if each read its own time. A padding layer is dated by its padding
    only where its output has the length that padding gives: one that cuts
    after padding would be dated 8 samples off."""
    epochs = _small_epochs()
    network = _untrained(lambda: TimeLost(mode), epochs)
    activations = layer_activations(network, epochs, "act", verbose=False)
    assert activations.sfreq is None
    with pytest.raises(ValueError, match="no time axis at a known rate"):
        activations.to_epochs()


class Delayed(torch.nn.Module):
    """A temporal convolution, its maps delayed by 3 samples at their length."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 2, 9, padding=4)
        self.delay = Delay()
        self.act = torch.nn.ELU()
        self.fc = torch.nn.Linear(2 * 128, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.act(self.delay(self.conv(x))).flatten(1))


class Delay(torch.nn.Module):
    """Pad 3 samples before, crop as many after: a delay keeping the length."""

    def forward(self, x):  # noqa: D102
        return torch.nn.functional.pad(x, (3, 0))[..., : x.shape[-1]]


def test_a_delay_keeping_the_length_leaves_no_rate():
    """A delay of the maps keeps their length, which is all that was followed:
    the activations after it were dated 3 samples early. Each sample must read
    the input times its convolutions and poolings give it."""
    epochs = _small_epochs()
    network = _untrained(Delayed, epochs)
    assert layer_activations(network, epochs, "act", verbose=False).sfreq is None
    before = layer_activations(network, epochs, "conv", verbose=False)
    assert before.sfreq == epochs.info["sfreq"] and before.tmin == epochs.tmin


class Pooled(torch.nn.Module):
    """A temporal convolution and a pooling of 8: 16 Hz at 128 Hz."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 128 -> 120
        self.pool = torch.nn.AvgPool2d((1, 8))  # 120 -> 15
        self.fc = torch.nn.Linear(2 * 4 * 15, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.pool(self.conv(x.unsqueeze(1))).flatten(1))


class PooledWhole(torch.nn.Module):
    """A temporal convolution and a pooling of its whole output to one sample."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 128 -> 120
        self.pool = torch.nn.AvgPool2d((1, 120))  # 120 -> 1
        self.fc = torch.nn.Linear(2 * 4, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.pool(self.conv(x.unsqueeze(1))).flatten(1))


def test_time_pooled_to_one_sample_keeps_its_time():
    """A sample has no direction to check: the check that time runs forward
    (first and last sample, the same one here) left it undated."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(PooledWhole, epochs)
    activations = layer_activations(network, epochs, "pool", verbose=False)
    assert activations.sfreq == pytest.approx(128 / 120)
    # The centre of the 120 samples the pooling reads, after the kernel's 9.
    assert activations.tmin == pytest.approx(-0.25 + (4 + 59.5) / 128)


def test_to_epochs_keeps_the_times_between_the_samples_of_the_layer():
    """MNE rounded tmin to the layer's sample grid: times were off by up to a
    sample of the layer (half a sample, 31 ms, here)."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(Pooled, epochs)
    pooled = layer_activations(network, epochs, "pool", verbose=False)
    assert pooled.sfreq == 16
    # The centre of the first window: 4 samples of the convolution, then 3.5
    # of its output.
    assert pooled.tmin == pytest.approx(-0.25 + (4 + 3.5) / 128)
    np.testing.assert_allclose(
        pooled.to_epochs().times, pooled.tmin + np.arange(15) / 16, atol=1e-12
    )


class Padded(torch.nn.Module):
    """Time padded by a layer, 3 samples before and 5 after, then convolved."""

    def __init__(self):
        super().__init__()
        self.pad = torch.nn.ReflectionPad2d((3, 5, 0, 0))  # 128 -> 136
        self.conv = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 136 -> 128
        self.fc = torch.nn.Linear(2 * 4 * 128, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.conv(self.pad(x.unsqueeze(1))).flatten(1))


def test_time_padded_by_a_layer_keeps_its_rate():
    """A padding layer changed time's length, which was taken for a function of
    forward slicing it: the layers after it had no rate."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(Padded, epochs)
    padded = layer_activations(network, epochs, "pad", verbose=False)
    assert padded.sfreq == 128
    assert padded.tmin == pytest.approx(-0.25 - 3 / 128)
    convolved = layer_activations(network, epochs, "conv", verbose=False)
    assert convolved.sfreq == 128
    # Its first window spans 9 samples from the first padded one.
    assert convolved.tmin == pytest.approx(-0.25 + (4 - 3) / 128)


class CeilPooled(torch.nn.Module):
    """A convolution, a pooling with a last partial window, an adaptive pooling."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 128 -> 120
        self.pool = torch.nn.MaxPool2d((1, 7), ceil_mode=True)  # 120 -> 18
        self.adaptive = torch.nn.AdaptiveAvgPool2d((4, 6))  # 18 -> 6, by 3
        self.fc = torch.nn.Linear(2 * 4 * 6, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.adaptive(self.pool(self.conv(x.unsqueeze(1)))).flatten(1))


@pytest.mark.parametrize(
    "layer, step, centre",
    [
        # The first window of 7 starts after the convolution's 4: 4 + 3.
        ("pool", 7, 4 + 3),
        # Windows of 3 pooled samples, 21 input samples apart, centred on the
        # second pooled sample: 7 + 7.
        ("adaptive", 21, 7 + 7),
    ],
)
def test_time_follows_ceil_mode_and_adaptive_pooling(layer, step, centre):
    """The class activation maps followed a pooling's last partial window
    (ceil_mode) and an adaptive pooling to a length dividing the one it
    receives; the layer's activations had no times after either."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(CeilPooled, epochs)
    activations = layer_activations(network, epochs, layer, verbose=False)
    assert activations.sfreq == pytest.approx(128 / step)
    assert activations.tmin == pytest.approx(-0.25 + centre / 128)


class SamePadded(torch.nn.Module):
    """A temporal convolution under torch's padding="same", of ``kernel`` taps."""

    def __init__(self, kernel):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, kernel), padding="same", bias=False)
        self.fc = torch.nn.Linear(2 * 4 * 128, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.conv(x.unsqueeze(1)).flatten(1))


@pytest.mark.parametrize("kernel", [9, 8])
def test_a_convolution_padded_same_keeps_the_inputs_times(kernel):
    """Under padding="same" each output sample is centred on its input sample
    (half a sample later for an even kernel, which torch pads more after):
    the string padding taken as none would date them half a kernel late."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(lambda: SamePadded(kernel), epochs)
    convolved = layer_activations(network, epochs, "conv", verbose=False)
    assert convolved.sfreq == 128
    assert convolved.tmin == pytest.approx(-0.25 + (kernel % 2 == 0) * 0.5 / 128)


class PooledBlock(torch.nn.Module):
    """Pooled, its convolution and pooling one Sequential block."""

    def __init__(self):
        super().__init__()
        self.block = torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, (1, 9), bias=False),  # 128 -> 120
            torch.nn.AvgPool2d((1, 8)),  # 120 -> 15
        )
        self.fc = torch.nn.Linear(2 * 4 * 15, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.block(x.unsqueeze(1)).flatten(1))


def test_a_block_of_layers_has_the_times_of_its_last_layer():
    """A block's output is that of its last layer: dated after its first (the
    convolution, at 128 Hz), the pooled activations would run 8 times too long."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(PooledBlock, epochs)
    block = layer_activations(network, epochs, "block", verbose=False)
    assert block.sfreq == 16
    assert block.tmin == pytest.approx(-0.25 + (4 + 3.5) / 128)


class MixedOverTime(torch.nn.Module):
    """A convolution, then a dense layer over time: a moving mean of 8 samples
    that keeps time's length (120) but which no stride or padding describes."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 128 -> 120
        self.mix = torch.nn.Linear(120, 120, bias=False)
        with torch.no_grad():
            # Output sample i: the mean of input samples i to i + 7.
            self.mix.weight[:] = torch.ones(120, 120).triu().tril(7) / 8
        self.act = torch.nn.ELU()
        self.fc = torch.nn.Linear(2 * 4 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.act(self.mix(self.conv(x.unsqueeze(1)))).flatten(1))


def test_time_mixed_by_a_dense_layer_has_no_rate():
    """A dense layer that keeps time's length mixes its samples as it likes:
    taken for time kept, the moving mean's output was dated 3.5 samples early.
    The dense layer's own output has no rate either: it is no more time than
    what follows it."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(MixedOverTime, epochs)
    assert layer_activations(network, epochs, "conv", verbose=False).sfreq == 128
    for layer in ("mix", "act"):
        assert layer_activations(network, epochs, layer, verbose=False).sfreq is None


class FlippedFilters(torch.nn.Module):
    """Time reversed, then a convolution of two units, each a moving mean of 9
    samples times its sign in ``signs``."""

    def __init__(self, signs):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, 9), bias=False)  # 128 -> 120
        with torch.no_grad():
            self.conv.weight[:] = torch.tensor(signs)[:, None, None, None] / 9
        self.fc = torch.nn.Linear(2 * 4 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.conv(x.unsqueeze(1).flip(-1)).flatten(1))


@pytest.mark.parametrize("signs", [(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)])
def test_reversed_time_is_found_whatever_the_signs_of_the_filters(signs):
    """Where an output sample reads the input is found from the magnitude of
    its gradient over units weighted at random: signed, the gradient of
    negative filters does not locate the samples read, and units of opposite
    filters summed alike cancel, which would leave reversed time dated as the
    input's."""
    epochs = _small_epochs()
    network = _untrained(lambda: FlippedFilters(signs), epochs)
    assert layer_activations(network, epochs, "conv", verbose=False).sfreq is None


class Silent(torch.nn.Module):
    """A temporal convolution whose bias keeps the rectifier after it off."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, (1, 9))  # 128 -> 120
        with torch.no_grad():
            self.conv.bias.fill_(-1.0)  # far below the epochs' 1e-5
        self.relu = torch.nn.ReLU()
        self.fc = torch.nn.Linear(2 * 4 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.relu(self.conv(x.unsqueeze(1))).flatten(1))


def test_a_layer_off_for_the_first_epoch_keeps_its_times():
    """Whether time runs forward is read from the gradient for the first epoch:
    a rectifier off there has none, which says nothing of its times, dated by
    its layers as any other's."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(Silent, epochs)
    silent = layer_activations(network, epochs, "relu", verbose=False)
    assert not silent.data.any()
    assert silent.sfreq == 128
    assert silent.tmin == pytest.approx(-0.25 + 4 / 128)


def _weight_normed():
    """Pooled, its convolution's weight under torch's (new) weight_norm."""
    network = Pooled()
    torch.nn.utils.parametrizations.weight_norm(network.conv)
    return network


def test_a_parametrized_weight_keeps_the_times_and_is_no_layer():
    """Under torch's weight_norm, whose parametrization takes two tensors, the
    network's trace failed: no layer's activations had a rate, and to_epochs
    was refused as having "no time axis". The parametrization, which computes
    the weight, was read as a layer running "0 times per epoch"."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(_weight_normed, epochs)
    pooled = layer_activations(network, epochs, "pool", verbose=False)
    assert pooled.sfreq == 16
    assert pooled.tmin == pytest.approx(-0.25 + (4 + 3.5) / 128)
    with pytest.raises(ValueError, match="is a parametrization of layer 'conv'"):
        layer_activations(network, epochs, "conv.parametrizations.weight.0")
    # Given as the module, as find_layer takes layers too.
    parametrization = network.module_.conv.parametrizations.weight[0]
    with pytest.raises(ValueError, match="is a parametrization of layer 'conv'"):
        find_layer(network, parametrization)


class StridedTwice(torch.nn.Module):
    """A dilated convolution, then two poolings with a convolution between them:
    windows after a stride, and strides after a stride."""

    def __init__(self):
        super().__init__()
        self.dilated = torch.nn.Conv2d(1, 2, (1, 5), dilation=(1, 2), bias=False)
        self.pool = torch.nn.AvgPool2d((1, 4))  # 120 -> 30
        self.conv = torch.nn.Conv2d(2, 2, (1, 3), bias=False)  # 30 -> 28
        self.last_pool = torch.nn.AvgPool2d((1, 2))  # 28 -> 14
        self.fc = torch.nn.Linear(2 * 4 * 14, 2)

    def forward(self, x):  # noqa: D102
        x = self.pool(self.dilated(x.unsqueeze(1)))  # 128 -> 120 -> 30
        return self.fc(self.last_pool(self.conv(x)).flatten(1))


@pytest.mark.parametrize(
    "layer, sfreq, centre",
    [
        # 9 samples spread by the dilation: centred 4 samples in.
        ("dilated", 128, 4),
        # 4 of those: 1.5 of its samples later.
        ("pool", 32, 4 + 1.5),
        # 3 pooled samples, 4 input samples apart: 1 of them later.
        ("conv", 32, 4 + 1.5 + 1 * 4),
        # 2 of those: half of their step (4) later, at a step of 8.
        ("last_pool", 16, 4 + 1.5 + 1 * 4 + 0.5 * 4),
    ],
)
def test_times_after_strides_are_on_the_inputs_grid(layer, sfreq, centre):
    """Each layer's first sample is dated at the centre of the input samples it
    reads, each later one a stride of all the layers before it further: a
    window after a pooling spans its samples at the pooled step, and strides
    multiply. The dilation spreads a kernel's taps."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(StridedTwice, epochs)
    activations = layer_activations(network, epochs, layer, verbose=False)
    assert activations.sfreq == sfreq
    assert activations.tmin == pytest.approx(-0.25 + centre / 128)


def test_epochs_given_to_a_network_fitted_on_arrays_are_read_at_their_rate(
    synthetic_arrays,
):
    """Such a network assumes 128 Hz, and reads Epochs at any rate: read at 128 Hz,
    the activations of 256 Hz epochs ran twice as long as the epochs, and the
    frequencies of the temporal filters were halved, with a warning that the rate
    was assumed."""
    X, y = synthetic_arrays
    with warnings.catch_warnings():
        # Of the rate assumed, and of one epoch of training.
        warnings.simplefilter("ignore")
        network = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False).fit(
            X, y
        )
    epochs = mne.EpochsArray(
        X, mne.create_info(4, 256.0, "eeg"), tmin=-0.1, verbose=False
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pooled = layer_activations(network, epochs, "spatial_pool", verbose=False)
        filters = temporal_filters(network, epochs, n_freqs=65, verbose=False)
    # Each output of the first pooling is the mean of 4 samples, at their centre.
    np.testing.assert_allclose(
        pooled.to_epochs().times, epochs.times.reshape(-1, 4).mean(axis=1), atol=1e-12
    )
    assert filters.sfreq == 256
    np.testing.assert_allclose(filters.freqs, np.fft.rfftfreq(128, 1 / 256))
    np.testing.assert_allclose(
        filters.magnitude, np.abs(np.fft.rfft(filters.kernels, 128)), atol=1e-12
    )
    assert not caught  # no rate is assumed


class Recurrent(torch.nn.Module):
    """An LSTM over time, read at its last step: nn.LSTM returns a tuple."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 3, batch_first=True)
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x):  # noqa: D102
        output, _ = self.lstm(x.transpose(1, 2))
        return self.fc(output[:, -1])


@pytest.mark.parametrize(
    "inspect", ["layer_activations", "unit_sensitivity", "pruning_curve"]
)
def test_layer_returning_a_tuple_is_refused(inspect):
    """The hooks failed with "'tuple' object has no attribute 'detach'"."""
    epochs = _small_epochs()
    network = _untrained(Recurrent, epochs)
    params = {"y": epochs.events[:, 2] - 1} if inspect == "pruning_curve" else {}
    with pytest.raises(ValueError, match=r"'lstm' \(LSTM\) does not map one tensor"):
        getattr(mne_xai.inspect, inspect)(
            network, epochs, "lstm", verbose=False, **params
        )


class Gate(torch.nn.Module):
    """A layer of two inputs: maps gated by the sigmoid of others."""

    def forward(self, x, gate):  # noqa: D102
        return x * torch.sigmoid(gate)


class Gated(torch.nn.Module):
    """A temporal convolution of the epochs, gated by their samples 4 later."""

    def __init__(self):
        super().__init__()
        self.maps = torch.nn.Conv1d(4, 2, 9)  # 128 -> 120, centred 4 later
        self.gates = torch.nn.Conv1d(4, 2, 1)
        self.gate = Gate()
        self.fc = torch.nn.Linear(2 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.gate(self.maps(x), self.gates(x[..., 8:])).flatten(1))


def test_a_layer_of_two_inputs_has_no_rate():
    """Its output reads both inputs, here samples 4 apart: dated by either
    alone, its times would be the other's off by 4 samples."""
    epochs = _small_epochs()
    network = _untrained(Gated, epochs)
    activations = layer_activations(network, epochs, "gate", verbose=False)
    assert activations.sfreq is None


class OneDimensional(torch.nn.Module):
    """A temporal convolution of the epochs' channels (Conv1d) and a dense layer."""

    def __init__(self, padding=0):
        super().__init__()
        self.maps = torch.nn.Conv1d(4, 2, 9, padding=padding)  # 128 -> 120
        self.fc = torch.nn.Linear(2 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.maps(x).flatten(1))


@pytest.mark.parametrize("padding", [0, "valid"])
def test_a_layer_of_one_dimensional_maps_has_the_inputs_times(padding):
    """A Conv1d's output has three axes (epochs, units, time), one fewer than
    the 2D convolutions of most EEG networks: its last axis is time all the
    same, its first sample centred 4 samples after the epoch's start. Torch's
    padding="valid" is no padding, as 0."""
    epochs = _small_epochs(tmin=-0.25)
    network = _untrained(lambda: OneDimensional(padding), epochs)
    maps = layer_activations(network, epochs, "maps", verbose=False)
    assert maps.data.ndim == 3
    assert maps.sfreq == 128
    assert maps.tmin == pytest.approx(-0.25 + 4 / 128)


class SharedFilter(torch.nn.Module):
    """One temporal filter run on every channel: its batch is epochs x channels
    (braindecode's SignalJEPA encodes each channel so)."""

    def __init__(self):
        super().__init__()
        self.temporal = torch.nn.Conv1d(1, 3, 5, padding=2)
        self.fc = torch.nn.Linear(4 * 3 * 128, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.temporal(x.reshape(-1, 1, x.shape[-1])).reshape(len(x), -1))


def test_a_layer_whose_batch_is_not_the_epochs_is_refused_as_such():
    """Refused as running "4 times per epoch (a CroppedClassifier runs its
    network on each window)", with the advice to give cropped.estimator_ one
    window, where no CroppedClassifier was."""
    epochs = _small_epochs()
    network = _untrained(SharedFilter, epochs)
    n_epochs = len(epochs)
    with pytest.raises(
        ValueError, match=f"returns {4 * n_epochs} rows for {n_epochs} epochs"
    ) as error:
        layer_activations(network, epochs, "temporal", verbose=False)
    assert "CroppedClassifier" not in str(error.value)
    assert "epochs x channels" in str(error.value)


class _LearnedAdjacency(torch.nn.Module):
    """braindecode's DGCNN adjacency: called with no input, it returns a
    matrix computed from its parameters alone, the same for every epoch."""

    def __init__(self, n_channels):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(n_channels, n_channels))

    def forward(self):  # noqa: D102
        return torch.relu(self.weight + self.weight.T)


class GraphConvolved(torch.nn.Module):
    """The channels mixed along a learned adjacency, then classified."""

    def __init__(self):
        super().__init__()
        self.adjacency = _LearnedAdjacency(4)
        self.fc = torch.nn.Linear(4 * 128, 2)

    def forward(self, x):  # noqa: D102
        return self.fc((self.adjacency() @ x).flatten(1))


@pytest.mark.parametrize(
    "inspect", ["layer_activations", "unit_sensitivity", "pruning_curve"]
)
def test_a_layer_called_without_the_epochs_is_refused(inspect):
    """Its output was read as units of the epochs: layer_activations said it
    ran "0 times per epoch (a CroppedClassifier ...)", unit_sensitivity found
    its rows insensitive to every band, and pruning_curve failed with "tuple
    index out of range" (on braindecode's DGCNN)."""
    epochs = _small_epochs()
    network = _untrained(GraphConvolved, epochs)
    params = {"y": epochs.events[:, 2] - 1} if inspect == "pruning_curve" else {}
    with pytest.raises(
        ValueError,
        match=r"'adjacency' \(_LearnedAdjacency\) is called without the epochs",
    ):
        getattr(mne_xai.inspect, inspect)(
            network, epochs, "adjacency", verbose=False, **params
        )


def test_results_print_a_summary_not_their_arrays(fitted_eegnet, imagery_epochs):
    """Their reprs printed every array they hold, thousands of numbers."""
    epochs = imagery_epochs[:6]
    activations = layer_activations(fitted_eegnet, epochs, "spatial_pool")
    assert repr(activations) == (
        "<LayerActivations | 'spatial_pool', 6 epochs of shape "
        f"{tuple(activations.data.shape[1:])}, last axis at 40 Hz>"
    )
    filters = temporal_filters(fitted_eegnet)
    assert repr(filters).startswith(
        "<TemporalFilters | 'temporal_conv', 8 kernels of 81 taps at 160 Hz, peaks at"
    )
    best = best_samples(fitted_eegnet, epochs, k=2, among="all", verbose=False)
    assert repr(best) == "<BestSamples | top epochs per class (feet: 2, hands: 2)>"
    patterns = learn_patterns(fitted_eegnet, epochs, verbose=False)
    assert repr(patterns).endswith("layer(s), learned from 6 epochs>")
    maximized = maximize_activation(
        fitted_eegnet, "feet", n_restarts=2, n_steps=3, random_state=0, verbose=False
    )
    assert repr(maximized).startswith(
        "<ActivationMaximization | class 'feet', 2 restarts of 3 steps, best "
    )
    spatial = spatial_patterns(fitted_eegnet, epochs, verbose=False)
    assert repr(spatial) == (
        "<SpatialPatterns | 'spatial_conv', 16 components on 64 channels>"
    )
    for result in (activations, filters, best, patterns, maximized, spatial):
        assert len(repr(result)) < 200


class InPlaceELU(torch.nn.Module):
    """A temporal (or spatial) convolution followed by ELU(inplace=True), or out
    of place, on 4 channels of 128 samples."""

    def __init__(self, in_place, kernel=(1, 9)):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, kernel)
        self.elu = torch.nn.ELU(inplace=in_place)
        self.fc = torch.nn.Linear(2 * (5 - kernel[0]) * (129 - kernel[1]), 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.elu(self.conv(x.unsqueeze(1))).flatten(1))


def _inspect_conv(inspection, network, epochs):
    """The numbers an inspection reports of layer 'conv'."""
    if inspection == "temporal_filters":
        filters = mne_xai.inspect.temporal_filters(network, epochs, verbose=False)
        return filters.passbands["contribution"].to_numpy()
    if inspection == "spatial_patterns":
        spatial = mne_xai.inspect.spatial_patterns(network, epochs, verbose=False)
        return spatial.ranking["contribution"].to_numpy()
    if inspection == "pruning_curve":
        curve = mne_xai.inspect.pruning_curve(
            network,
            epochs,
            "conv",
            epochs.events[:, 2] - 1,
            random_state=0,
            verbose=False,
        )
        return np.concatenate([*curve.importance.values(), *curve.accuracy.values()])
    if inspection == "unit_sensitivity":
        sensitivity = mne_xai.inspect.unit_sensitivity(
            network, epochs, "conv", random_state=0, verbose=False
        )
        return np.concatenate([sensitivity.amplitude, sensitivity.phase])
    return layer_activations(network, epochs, "conv", verbose=False).data


@pytest.mark.parametrize(
    "inspection",
    [
        "layer_activations",
        "unit_sensitivity",
        "pruning_curve",
        "temporal_filters",
        "spatial_patterns",
    ],
)
def test_a_layer_followed_by_an_in_place_one_is_read_as_it_returns(inspection):
    """ELU(inplace=True) overwrote the output kept of the layer before it:
    activations and sensitivities were silently those of the ELU, and pruning,
    temporal_filters and spatial_patterns failed ("a leaf Variable that
    requires grad is being used in an in-place operation")."""
    epochs = _small_epochs()
    # Unit variance, where the ELU bends (the untrained network reads volts).
    epochs = mne.EpochsArray(
        epochs.get_data() * 1e5,
        epochs.info,
        epochs.events,
        epochs.tmin,
        epochs.event_id,
        verbose=False,
    )
    kernel = (4, 1) if inspection == "spatial_patterns" else (1, 9)
    in_place, out_of_place = (
        _untrained(lambda mode=mode: InPlaceELU(mode, kernel), epochs)
        for mode in (True, False)
    )
    np.testing.assert_allclose(
        _inspect_conv(inspection, in_place, epochs),
        _inspect_conv(inspection, out_of_place, epochs),
        rtol=1e-6,
    )


class BatchMixing(torch.nn.Module):
    """Batch norm over the batch in evaluation mode too: epochs of a batch mix."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 2, 9)  # 128 -> 120
        self.norm = torch.nn.BatchNorm1d(2, track_running_stats=False)
        self.fc = torch.nn.Linear(2 * 120, 2)

    def forward(self, x):  # noqa: D102
        return self.fc(self.norm(self.conv(x)).flatten(1))


@pytest.mark.parametrize("inspection", ["layer_activations", "unit_sensitivity"])
def test_a_network_mixing_the_epochs_of_a_batch_is_refused(inspection):
    """Activations and sensitivities of its layers changed with batch_size (a
    unit's sensitivity 0.125 in batches of 4, 0.118 in one batch of 40)."""
    epochs = _small_epochs()
    network = _untrained(BatchMixing, epochs)
    with pytest.raises(
        ValueError, match="depends on the other epochs in its batch.*would report that"
    ):
        getattr(mne_xai.inspect, inspection)(
            network, epochs, "norm", batch_size=4, verbose=False
        )


def test_decision_score_ignores_what_every_logit_shares():
    """Units are ranked by the gradient of this score: a unit raising every
    logit alike decides nothing and must not count."""
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, 1.0]])
    predicted = logits.argmax(dim=1)
    expected = torch.tensor([2.0 - 0.5, 3.0 - 4.0 / 3])
    torch.testing.assert_close(decision_score(logits, predicted), expected)
    shifted = logits + torch.tensor([[5.0], [-2.0]])
    torch.testing.assert_close(decision_score(shifted, predicted), expected)


def test_a_layer_of_units_alone_has_one_position_each():
    """A dense layer's output (batch, n_units) holds units without positions:
    its units are scored as any layer's, and only an output without a unit
    axis is refused."""
    output = torch.arange(6.0).reshape(2, 3)
    torch.testing.assert_close(unit_output(output, "fc"), output[..., None])
    with pytest.raises(ValueError, match="units must be the second axis"):
        unit_output(torch.zeros(4), "fc")
