import copy
import re
import warnings

import mne
import numpy as np
import pytest
import torch
from mne.time_frequency import EpochsSpectrumArray, SpectrumArray
from skorch import NeuralNetClassifier

from mne_xai import InterpretableCNNClassifier, as_network, explain, list_methods
from mne_xai.attribution import explain_spectrum
from mne_xai.attribution.spectral import (
    FourierInput,
    _data_channels,
    fold_fourier,
    from_fourier,
    to_fourier,
)
from mne_xai.datasets import _builtin_montage
from mne_xai.inspect import learn_patterns
from mne_xai.models import EEGNet, SpatialFirstEEGNet


def _if_registered(method, *values):
    """A test parameter that is skipped while ``method`` is not registered."""
    return pytest.param(
        method,
        *values,
        marks=pytest.mark.skipif(
            method not in list_methods(), reason=f"{method} is not registered"
        ),
    )


@pytest.mark.parametrize("n_times", [8, 9, 321])
def test_fourier_packing_is_orthonormal_and_invertible(n_times):
    signals = np.random.default_rng(0).standard_normal((3, 2, n_times))
    coefficients = to_fourier(signals)
    assert coefficients.shape == signals.shape
    np.testing.assert_allclose(
        (coefficients**2).sum(-1), (signals**2).sum(-1), rtol=1e-5
    )
    restored = from_fourier(torch.from_numpy(coefficients).double(), n_times)
    np.testing.assert_allclose(restored.numpy(), signals, atol=1e-5)
    # A pure sinusoid on a bin lands in that bin only, once folded.
    frequency_bin = 3
    sinusoid = np.cos(2 * np.pi * frequency_bin * np.arange(n_times) / n_times + 0.4)
    folded = fold_fourier(torch.from_numpy(to_fourier(sinusoid)) ** 2).numpy()
    assert folded.shape == (n_times // 2 + 1,)
    assert np.argmax(folded) == frequency_bin
    assert folded[frequency_bin] == pytest.approx(folded.sum(), rel=1e-5)


@pytest.fixture
def few_epochs(imagery_epochs):
    return imagery_epochs[:6]


def test_gradient_is_fourier_transform_of_time_gradient(fitted_eegnet, few_epochs):
    # x = F^T c with F orthonormal, so d logit / d c = F (d logit / d x): the
    # composite network's gradient must be the time gradient's coefficients,
    # each bin's the magnitude of its (real, imaginary) pair.
    time_gradient = explain(
        fitted_eegnet, few_epochs, "saliency", target="true", absolute=False
    ).get_data()
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, "saliency", target="true")
    coefficients = torch.from_numpy(to_fourier(time_gradient))
    expected = fold_fourier(coefficients, magnitude=True).numpy()
    np.testing.assert_allclose(
        spectrum.get_data(), expected, atol=1e-4 * np.abs(expected).max()
    )
    with pytest.raises(ValueError, match="no sign"):
        explain_spectrum(fitted_eegnet, few_epochs, "saliency", absolute=False)


class _LinearOnOneSinusoid(torch.nn.Module):
    """logit = <w, x> with w a 10 Hz sinusoid of a given phase (100 Hz, 2 s)."""

    def __init__(self, phase):
        super().__init__()
        times = np.arange(200) / 100.0
        weights = np.cos(2 * np.pi * 10 * times + phase)
        self.weights = torch.nn.Parameter(torch.tensor(weights, dtype=torch.float32))

    def forward(self, x):
        score = (x[:, 0] * self.weights).sum(dim=1, keepdim=True)
        return torch.cat([-score, score], dim=1)


def _network_on_one_sinusoid(phase):
    """An untrained network of a _LinearOnOneSinusoid, reading Cz at 100 Hz."""
    info = mne.create_info(["Cz"], 100.0, "eeg")
    net = NeuralNetClassifier(_LinearOnOneSinusoid, module__phase=phase, classes=[0, 1])
    return as_network(net.initialize(), info=info)


@pytest.mark.parametrize(
    "method, params, power",
    [
        ("saliency", {}, 1),
        ("smoothgrad", {}, 1),
        ("smoothgrad", dict(variant="smoothgrad_sq"), 2),
        # Squared, the gradient has no sign to keep: not refused.
        (
            "smoothgrad",
            dict(variant="smoothgrad_sq", base_params={"absolute": False}),
            2,
        ),
    ],
)
def test_a_gradient_per_frequency_does_not_depend_on_phase(method, params, power):
    """The sum of a gradient's real and imaginary parts swung by sqrt(2) with the
    phase of the sinusoid the network reads (and its signed sum could be 0).
    SmoothGrad's squares were squares of that sum, from 0 to twice the power."""
    data = np.random.default_rng(0).standard_normal((2, 1, 200)).astype(np.float32)
    at_10_hz = []
    for phase in np.linspace(0, np.pi, 5):
        spectrum = explain_spectrum(
            _network_on_one_sinusoid(phase),
            data,
            method,
            target=1,
            average=True,
            random_state=0,
            **params,
        )
        at_10_hz.append(spectrum.get_data()[0, spectrum.freqs == 10.0].item())
    np.testing.assert_allclose(at_10_hz, at_10_hz[0], rtol=1e-4)
    # The gradient is the filter, whose energy lies in the 10 Hz bin: its size
    # there is the filter's norm (Parseval), that of 20 periods of a cosine.
    assert at_10_hz[0] == pytest.approx(np.sqrt(100.0) ** power, rel=1e-4)


def test_frequencies_of_an_even_length_end_at_the_nyquist_frequency():
    """An epoch of an even length has a bin at the Nyquist frequency, +sfreq / 2
    (200 samples at 100 Hz: 0 to 50 Hz, 0.5 Hz apart); the epochs of the
    other tests have an odd length, which has none."""
    data = np.random.default_rng(0).standard_normal((2, 1, 200)).astype(np.float32)
    network = _network_on_one_sinusoid(0.0)
    spectrum = explain_spectrum(network, data, "saliency", target=1, verbose=False)
    np.testing.assert_allclose(spectrum.freqs, np.arange(101) * 0.5)


def test_smoothgrad_squares_the_relevance_of_each_frequency():
    """The combined map was folded: a frequency's squares were those of its real
    and imaginary parts, summed, not the square of its relevance. A 10 Hz signal
    in quadrature with the filter, which the network cannot see, got the squared
    relevance of one in phase (0.2048 for both, where 0 and 0.41 are right)."""
    times = np.arange(200) / 100.0
    data = np.stack(
        [
            np.cos(2 * np.pi * 10 * times + phase)
            for phase in np.pi * np.array([1, 3]) / 4
        ]
    )[:, None].astype(np.float32)
    # At 45 degrees, the filter's bin has a real and an imaginary part.
    network = _network_on_one_sinusoid(np.pi / 4)
    kwargs = dict(target=1, random_state=0, verbose=False)
    plain = explain_spectrum(network, data, "gradient_x_input", **kwargs).get_data()
    squared = explain_spectrum(
        network,
        data,
        "smoothgrad",
        base_method="gradient_x_input",
        variant="smoothgrad_sq",
        noise_level=0.0,
        n_samples=1,
        **kwargs,
    ).get_data()
    np.testing.assert_allclose(squared, plain**2, atol=1e-6 * (plain**2).max())
    assert plain[1].max() < 1e-4 * plain[0].max()  # quadrature: not seen


def test_class_activation_maps_are_refused_in_frequency(fitted_eegnet, few_epochs):
    with pytest.raises(ValueError, match="no counterpart in frequency"):
        explain_spectrum(fitted_eegnet, few_epochs, "grad_cam")
    with pytest.raises(ValueError, match="grad_cam places relevance in the time"):
        explain_spectrum(
            fitted_eegnet, few_epochs, "smoothgrad", base_method="grad_cam"
        )


def test_smoothgrad_folds_as_the_method_it_averages(fitted_eegnet, few_epochs):
    """SmoothGrad of gradient x input was folded as a gradient (by magnitude):
    unsigned, and no longer adding up to gradient x input's totals."""
    kwargs = dict(target="true", verbose=False)
    plain = explain_spectrum(fitted_eegnet, few_epochs, "gradient_x_input", **kwargs)
    smoothed = explain_spectrum(
        fitted_eegnet,
        few_epochs,
        "smoothgrad",
        base_method="gradient_x_input",
        noise_level=0.0,
        n_samples=1,
        **kwargs,
    )
    np.testing.assert_allclose(
        smoothed.get_data(),
        plain.get_data(),
        atol=1e-6 * np.abs(plain.get_data()).max(),
    )
    with pytest.raises(ValueError, match="no sign"):
        explain_spectrum(
            fitted_eegnet, few_epochs, "smoothgrad", base_params={"absolute": False}
        )


def test_outputs_are_mne_spectra(fitted_eegnet, few_epochs):
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, "saliency")
    assert isinstance(spectrum, EpochsSpectrumArray)
    n_times = len(few_epochs.times)
    np.testing.assert_allclose(
        spectrum.freqs, np.fft.rfftfreq(n_times, 1 / few_epochs.info["sfreq"])
    )
    assert spectrum.get_data().shape == (6, 64, n_times // 2 + 1)
    assert spectrum.ch_names == few_epochs.ch_names
    np.testing.assert_array_equal(spectrum.events, few_epochs.events)
    assert spectrum.event_id == few_epochs.event_id
    assert len(spectrum["feet"]) == (few_epochs.events[:, 2] == 3).sum()

    average = explain_spectrum(fitted_eegnet, few_epochs, "saliency", average=True)
    assert isinstance(average, SpectrumArray)
    np.testing.assert_allclose(
        average.get_data(), spectrum.get_data().mean(axis=0), rtol=1e-5
    )
    fig = average.plot_topomap(bands={"mu": (8, 13), "beta": (13, 30)}, show=False)
    assert len(fig.axes) >= 2


def test_maps_follow_the_channel_order_of_the_epochs(fitted_eegnet, few_epochs):
    """Epochs holding the network's channels in another order got maps in the
    network's order, labelled in theirs: each channel's relevance drawn at
    another's. A cycle, as a reversal is its own inverse."""
    order = few_epochs.ch_names[1:] + few_epochs.ch_names[:1]
    expected = explain_spectrum(fitted_eegnet, few_epochs, "saliency")
    moved = explain_spectrum(
        fitted_eegnet, few_epochs.copy().reorder_channels(order), "saliency"
    )
    assert moved.ch_names == order
    np.testing.assert_allclose(
        moved.get_data(), expected.get_data(picks=order), rtol=1e-6
    )


def test_arrays_without_events(fitted_eegnet, few_epochs):
    spectrum = explain_spectrum(fitted_eegnet, few_epochs.get_data(), "saliency")
    assert isinstance(spectrum, EpochsSpectrumArray)
    assert spectrum.ch_names == fitted_eegnet.info_.ch_names
    with pytest.raises(ValueError, match='target="true" needs Epochs'):
        explain_spectrum(fitted_eegnet, few_epochs.get_data(), target="true")


@pytest.mark.parametrize("method", [_if_registered("gradient_x_input")])
def test_relevance_sums_like_the_time_domain(fitted_eegnet, few_epochs, method):
    # Gradient x input is invariant to the orthogonal change of basis: each
    # channel's relevance summed over frequencies equals its sum over time.
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, method, target="true")
    attribution = explain(fitted_eegnet, few_epochs, method, target="true")
    np.testing.assert_allclose(
        spectrum.get_data().sum(-1),
        attribution.get_data().sum(-1),
        atol=1e-4 * np.abs(attribution.get_data().sum(-1)).max(),
    )


@pytest.mark.parametrize("baseline_kind", ["mean", "array"])
@pytest.mark.parametrize(
    "method, params",
    [
        # Both domains take the same straight path, so few steps suffice.
        _if_registered("integrated_gradients", dict(steps=4)),
        _if_registered("deeplift", {}),
    ],
)
def test_baselines_mean_the_same_signal(
    fitted_eegnet, few_epochs, method, params, baseline_kind
):
    # The baseline is given in the time domain; the total relevance is then the
    # same logit difference as in time (completeness), as the Notes of
    # explain_spectrum say of both methods.
    baseline = few_epochs.get_data()[-1] if baseline_kind == "array" else baseline_kind
    kwargs = dict(target="true", baseline=baseline, **params)
    spectrum = explain_spectrum(fitted_eegnet, few_epochs[:2], method, **kwargs)
    attribution = explain(fitted_eegnet, few_epochs[:2], method, **kwargs)
    totals = attribution.get_data().sum(axis=(1, 2))
    np.testing.assert_allclose(
        spectrum.get_data().sum(axis=(1, 2)), totals, atol=1e-3 * np.abs(totals).max()
    )


ALPHA_CHANNELS = ["C3", "C4"]


@pytest.fixture(scope="module")
def alpha_classifier():
    """Two classes that differ only by a 9-11 Hz oscillation on C3 and C4."""
    rng = np.random.default_rng(0)
    names = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "Oz", "O2"]
    info = mne.create_info(names, 128.0, "eeg")
    info.set_montage(_builtin_montage("1020"))
    n_epochs, n_times = 80, 256
    times = np.arange(n_times) / info["sfreq"]
    X = 1e-5 * rng.standard_normal((n_epochs, len(names), n_times))
    y = np.repeat([0, 1], n_epochs // 2)
    frequency = rng.uniform(9, 11, (n_epochs, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_epochs, 1))
    alpha = 1e-5 * np.sin(2 * np.pi * frequency * times + phase)
    for channel in ALPHA_CHANNELS:
        X[y == 1, names.index(channel)] += alpha[y == 1]
    clf = InterpretableCNNClassifier(
        info=info, max_epochs=30, random_state=0, verbose=False
    ).fit(X, y)
    assert clf.score(X, y) > 0.9
    return clf, X, y


@pytest.mark.parametrize(
    "method, locates_channels",
    [("saliency", False), _if_registered("gradient_x_input", True)],
)
def test_relevance_peaks_in_the_simulated_band(
    alpha_classifier, method, locates_channels
):
    clf, X, y = alpha_classifier
    spectrum = explain_spectrum(clf, X[y == 1], method, target=1, average=True)
    relevance = np.abs(spectrum.get_data())
    freqs = spectrum.freqs
    bands = {"delta": (1, 4), "theta": (4, 8), "alpha": (8, 12), "beta": (12, 30)}
    alpha_rows = [spectrum.ch_names.index(name) for name in ALPHA_CHANNELS]
    # Mean relevance per frequency bin in each band, on the simulated channels.
    per_bin = {
        band: relevance[alpha_rows][:, (freqs >= low) & (freqs < high)].mean()
        for band, (low, high) in bands.items()
    }
    assert max(per_bin, key=per_bin.get) == "alpha"
    assert per_bin["alpha"] > 3 * max(v for b, v in per_bin.items() if b != "alpha")
    if locates_channels:
        # A gradient shows where the network is sensitive, including noise
        # channels it weighs; multiplied by the input it shows where the
        # evidence was, which is on the simulated channels.
        in_alpha = relevance[:, (freqs >= 8) & (freqs < 12)].sum(axis=1)
        top_two = np.argsort(in_alpha)[-2:]
        assert sorted(top_two) == sorted(alpha_rows)


def test_fourier_input_runs_on_the_network_inference_graph():
    torch.manual_seed(0)
    network = EEGNet(4, 2, 64, 64.0).eval()
    wrapper = FourierInput(network, 64)
    graph = wrapper.inference_graph()
    assert isinstance(graph.module, SpatialFirstEEGNet)
    coefficients = torch.randn(3, 4, 64)
    torch.testing.assert_close(graph(coefficients), wrapper(coefficients))
    assert FourierInput(network.train(), 64).inference_graph().module is network


class _ConvNetOfNoFasterForm(torch.nn.Module):
    """A convolution, a ReLU and a dense layer; its inference graph is itself."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(2, 3, 5)
        self.relu = torch.nn.ReLU()
        self.dense = torch.nn.Linear(3 * 28, 2)

    def forward(self, x):
        return self.dense(self.relu(self.conv(x)).flatten(1))

    def inference_graph(self):
        return self


def test_a_parametrized_network_is_explained_in_frequency_as_its_plain_twin():
    """A network of no faster form is read in frequency as in time, its
    parametrized weights (weight norm) as plain ones: a new wrapper around it
    hid that it was its own graph, and guided backprop refused the weight
    norm's module as a layer it cannot pass."""
    torch.manual_seed(0)
    info = mne.create_info(2, 32.0, "eeg")
    data = np.random.default_rng(0).standard_normal((3, 2, 32)).astype(np.float32)
    plain = NeuralNetClassifier(_ConvNetOfNoFasterForm, classes=[0, 1]).initialize()
    normed = copy.deepcopy(plain)
    torch.nn.utils.parametrizations.weight_norm(normed.module_.conv)
    relevance = [
        explain_spectrum(
            as_network(net, info=info), data, "guided_backprop", target=1
        ).get_data()
        for net in (plain, normed)
    ]
    np.testing.assert_allclose(relevance[1], relevance[0], rtol=1e-4, atol=1e-8)


def test_channels_a_spectrum_cannot_hold_are_left_out_with_their_share(
    spatial_epochs, spatial_epochs_with_eog
):
    epochs = spatial_epochs_with_eog
    network = InterpretableCNNClassifier(
        picks=["eeg", "eog"], max_epochs=1, random_state=0, verbose=False
    ).fit(epochs)
    in_time = explain(network, epochs, "gradient_x_input", verbose=False).get_data()
    with pytest.warns(RuntimeWarning, match=r"relevance of \['EOG'\] \(\d+% of the"):
        spectrum = explain_spectrum(network, epochs, "gradient_x_input", average=True)
    assert spectrum.ch_names == spatial_epochs.ch_names
    # Gradient x input sums over frequencies to its sum over time, per channel.
    np.testing.assert_allclose(
        spectrum.get_data().sum(axis=-1),
        in_time.mean(axis=0)[:-1].sum(axis=-1),
        rtol=1e-3,
        atol=1e-4 * np.abs(in_time).mean(axis=0).sum(axis=-1).max(),
    )


def test_the_share_left_out_of_a_spectrum_is_that_of_its_channels():
    """The share the warning gives is the left-out channels' part of the total
    |relevance| (EOG's 3 of every 5 units here), taken over channels, not bins
    (over the bins of the data channels' indices, 0 and 2, it is 50 %); the data
    channels are kept wherever the others stand among them."""
    info = mne.create_info(["C3", "EOG", "C4"], 100.0, ["eeg", "eog", "eeg"])
    relevance = np.ones((2, 3, 5))
    relevance[:, 1] = -3.0
    relevance[..., 0] *= 2
    with pytest.warns(RuntimeWarning, match=r"relevance of \['EOG'\] \(60% of the"):
        kept_info, kept = _data_channels(info, relevance)
    assert kept_info.ch_names == ["C3", "C4"]
    np.testing.assert_array_equal(kept, relevance[:, [0, 2]])
    # Where there is no relevance at all, none is lost.
    with pytest.warns(RuntimeWarning, match=r"relevance of \['EOG'\] \(0% of the"):
        _data_channels(info, np.zeros_like(relevance))


def test_bad_data_channels_the_network_reads_stay_in_the_spectrum():
    """A data channel marked bad in the epochs but read by the network (named in
    its picks) is a data channel a Spectrum holds: its relevance is kept, with
    no warning of relevance left out."""
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    info["bads"] = ["C3"]
    relevance = np.ones((2, 2, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept_info, kept = _data_channels(info, relevance)
    assert kept_info.ch_names == ["C3", "C4"]
    np.testing.assert_array_equal(kept, relevance)


def test_a_network_reading_no_data_channel_is_refused_in_frequency():
    """An MNE Spectrum of no channel cannot be made: the refusal says why and
    what to use instead."""
    info = mne.create_info(["EOG", "EMG"], 100.0, ["eog", "emg"])
    match = r"the network reads none \(\['EOG', 'EMG'\]\): explain it in time"
    with pytest.raises(ValueError, match=match):
        _data_channels(info, np.ones((2, 2, 5)))


@pytest.mark.parametrize(
    "method, params",
    [
        ("occlusion", dict(mode="time", window=8)),
        ("occlusion", dict(mode="channel")),
        ("smoothgrad", dict(base_method="occlusion", n_samples=1)),
    ],
)
def test_occlusion_is_refused_in_frequency(fitted_eegnet, few_epochs, method, params):
    """Occlusion's windows ran over the packed coefficients (the real parts, then
    the imaginary parts), so relevance landed on bins the network does not read."""
    with pytest.raises(ValueError, match="occlusion in frequency would replace runs"):
        explain_spectrum(fitted_eegnet, few_epochs, method, **params)


class _ReadsOnly10Hz(torch.nn.Module):
    """Reads each channel through its 10 Hz cosine and sine only (128 Hz, 1 s),
    then a ReLU, a convolution and a dense layer: its logits do not depend on
    any other Fourier bin."""

    def __init__(self):
        super().__init__()
        times = torch.arange(128) / 128.0
        kernels = torch.stack(
            [torch.cos(2 * np.pi * 10 * times), torch.sin(2 * np.pi * 10 * times)]
        )
        self.band = torch.nn.Conv1d(4, 8, 128, groups=4, bias=False)
        self.band.weight = torch.nn.Parameter(0.1 * kernels.repeat(4, 1)[:, None])
        self.relu = torch.nn.ReLU()
        self.conv = torch.nn.Conv1d(1, 3, 3)
        self.conv.weight = torch.nn.Parameter(
            torch.tensor([[[1.0, -0.5, 0.3]], [[-0.2, 1.0, 0.5]], [[0.4, 0.4, -1.0]]])
        )
        self.conv.bias = torch.nn.Parameter(torch.full((3,), 0.1))
        self.relu_deep = torch.nn.ReLU()
        self.dense = torch.nn.Linear(18, 2)
        self.dense.weight = torch.nn.Parameter(torch.linspace(-1, 1, 36).reshape(2, 18))

    def forward(self, x):
        features = self.relu(self.band(x)).flatten(1)[:, None]
        return self.dense(self.relu_deep(self.conv(features)).flatten(1))


class _ReadsOnly10HzAfterSpatialFilter(_ReadsOnly10Hz):
    """The same behind a spatial filter with a bias, as many networks start:
    LRP-epsilon put 33 % of its relevance outside 10 Hz."""

    def __init__(self):
        super().__init__()
        self.spatial = torch.nn.Conv1d(4, 4, 1)
        self.spatial.weight = torch.nn.Parameter(
            torch.eye(4)[..., None] + 0.3 * torch.ones(4, 4, 1)
        )
        self.spatial.bias = torch.nn.Parameter(torch.full((4,), 0.5))

    def forward(self, x):
        return super().forward(self.spatial(x))


@pytest.fixture(
    scope="module", params=[_ReadsOnly10Hz, _ReadsOnly10HzAfterSpatialFilter]
)
def network_reading_10_hz(request):
    info = mne.create_info(4, 128.0, "eeg")
    data = np.random.default_rng(0).standard_normal((20, 4, 128)).astype(np.float32)
    net = NeuralNetClassifier(request.param, classes=[0, 1])
    network = as_network(net.initialize(), info=info)
    return network, data, learn_patterns(network, data)


# Refused: maps in time, occlusion's runs of coefficients, LRP's relevance
# per sample (every rule), PatternAttribution's products.
_REFUSED_IN_FREQUENCY = {
    "full_grad",
    "grad_cam",
    "grad_cam_plus_plus",
    "guided_grad_cam",
    "layer_cam",
    "score_cam",
    "occlusion",
    "lrp",
    "lrp_epsilon",
    "lrp_zplus",
    "lrp_alpha1_beta0",
    "lrp_alpha2_beta1",
    "lrp_composite",
    "pattern_attribution",
}


@pytest.mark.parametrize(
    "method, params, refused",
    [(method, {}, method in _REFUSED_IN_FREQUENCY) for method in list_methods()]
    + [
        ("lrp_composite", dict(first_rule="epsilon"), True),
        ("smoothgrad", dict(base_method="lrp_epsilon"), True),
        ("smoothgrad", dict(base_method="deeplift"), False),
    ],
)
def test_methods_in_frequency_keep_relevance_in_the_band_the_network_reads(
    network_reading_10_hz, method, params, refused
):
    """LRP-z+, alpha-beta and composite put 66-98 % of their relevance on bins
    these networks cannot read, LRP-epsilon 33 % behind a spatial filter:
    folded through the inverse transform by LRP-0, relevance / sample is no
    derivative that the filters band-limit. Gradients and DeepLIFT's
    multipliers are."""
    network, data, patterns = network_reading_10_hz
    if method.startswith("pattern_"):
        params = dict(params, patterns=patterns)
    kwargs = dict(target=1, random_state=0, **params)
    if refused:
        with pytest.raises(ValueError, match="valid in frequency: ") as refusal:
            explain_spectrum(network, data[:4], method, **kwargs)
        # The methods the refusal offers instead are those that are not refused.
        offered = re.search(r"valid in frequency: (.*?)\. Of these", str(refusal.value))
        valid = set(list_methods()) - _REFUSED_IN_FREQUENCY
        assert set(offered.group(1).split(", ")) == valid
        return
    relevance = np.abs(explain_spectrum(network, data[:4], method, **kwargs).get_data())
    if method in ("random", "pattern_net"):
        # A control, and the estimated signal (wherever the data vary with the
        # units' outputs, not only where the filters read; see below).
        return
    assert relevance[..., 10].sum() > 0.99 * relevance.sum()


def test_pattern_net_in_frequency_is_the_spectrum_of_its_signal(
    fitted_eegnet, few_epochs
):
    """The patterns, keyed by the network's layer names, were looked up under
    the names FourierInput prefixes, so pattern_net was always refused; and the
    inverse transform's division by constants passed the signal as a pattern
    would, doubling it at every bin but DC and Nyquist."""
    patterns = learn_patterns(fitted_eegnet, few_epochs)
    kwargs = dict(target="true", patterns=patterns)
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, "pattern_net", **kwargs)
    signal = explain(fitted_eegnet, few_epochs, "pattern_net", **kwargs).get_data()
    expected = fold_fourier(torch.from_numpy(to_fourier(signal)), magnitude=True)
    np.testing.assert_allclose(
        spectrum.get_data(), expected.numpy(), atol=1e-4 * expected.abs().max().item()
    )
    # Parseval: the signal's energy per channel is the same in both domains.
    np.testing.assert_allclose(
        (spectrum.get_data() ** 2).sum(-1), (signal**2).sum(-1), rtol=1e-3
    )


def test_channels_the_network_does_not_read_are_named(spatial_epochs, capsys):
    """A channel marked bad in training is not read: its relevance is left out
    of the spectra (31 of the epochs' 32 channels), which said nothing of it."""
    epochs = spatial_epochs.copy()
    epochs.info["bads"] = [epochs.ch_names[0]]
    network = InterpretableCNNClassifier(
        max_epochs=1, random_state=0, verbose=False
    ).fit(epochs)
    spectrum = explain_spectrum(network, epochs[:4], verbose=True)
    assert spectrum.ch_names == epochs.ch_names[1:]
    out = capsys.readouterr().out
    assert f"reads 31 of the 32 channels of epochs; not {epochs.ch_names[0]}" in out
    # Epochs of the network's channels alone have nothing to say.
    explain_spectrum(network, epochs[:4].drop_channels(epochs.ch_names[:1]))
    assert "channels of epochs" not in capsys.readouterr().out
