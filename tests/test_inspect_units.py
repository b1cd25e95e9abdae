"""Units of a layer: amplitude vs phase sensitivity, and pruning curves."""

import logging

import mne
import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.signal import firwin, hilbert
from scipy.stats import norm
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier
from torch import nn

from mne_xai import CroppedClassifier, EEGNetClassifier, as_network
from mne_xai._network import WindowAverage
from mne_xai.inspect import UnitSensitivity, group_predictions
from mne_xai.inspect._activations import _logits_and_prediction
from mne_xai.inspect._pruning import (
    PruningCurve,
    _Ablation,
    _ablation_masks,
    _mean_output,
    pruning_curve,
)
from mne_xai.inspect._sensitivity import (
    DEFAULT_BANDS,
    KINDS,
    _check_bands,
    _PerturbedData,
    unit_sensitivity,
)

SFREQ = 128.0
ALPHA = (8.0, 13.0)


class BandDetector(nn.Module):
    """Two units that filter channel 0 in the alpha band (one with each sign).

    ``kind`` decides what follows the filter: nothing (``"linear"``: the
    filtered signal, which follows the band's amplitude and phase alike),
    squaring and averaging over the whole epoch (``"energy"``: the band's
    power, blind to its phase) or a saturating tanh (``"phase"``: about the
    sign of the filtered signal, blind to its amplitude). ``"offset"`` is
    ``"linear"`` with a bias of 3e6: a mean a million times the spread.
    """

    def __init__(self, kind="linear", gain=50.0):
        super().__init__()
        taps = firwin(65, ALPHA, pass_zero=False, fs=SFREQ)
        self.bandpass = nn.Conv1d(1, 2, len(taps), bias=kind == "offset")
        with torch.no_grad():
            self.bandpass.weight[:, 0] = torch.tensor(np.stack([taps, -taps]))
            if kind == "offset":
                self.bandpass.bias.fill_(3e6)
        self.kind, self.gain = kind, gain
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.saturate = nn.Tanh()
        self.classifier = nn.Linear(2, 2)

    def forward(self, x):
        y = self.bandpass(x[:, :1])
        if self.kind == "energy":
            y = self.pool(y**2)
        elif self.kind == "phase":
            y = self.saturate(self.gain * y)
        return self.classifier(y.mean(dim=-1))


class SilentDetector(BandDetector):
    """The alpha filters rectified above ``threshold``: silent below it."""

    def __init__(self, threshold=0.0):
        super().__init__()
        self.threshold = threshold
        self.rectify = nn.ReLU()

    def forward(self, x):
        y = self.rectify(self.bandpass(x[:, :1]) - self.threshold)
        return self.classifier(y.mean(dim=-1))


class Passthrough(nn.Module):
    """A unit passing channel 0 on as it is, then a read-out."""

    def __init__(self):
        super().__init__()
        self.unit = nn.Identity()
        self.classifier = nn.Linear(1, 2)

    def forward(self, x):
        return self.classifier(self.unit(x[:, :1]).mean(dim=-1))


@pytest.fixture(scope="module")
def alpha_epochs():
    """Channel 0 carries a 10 Hz rhythm of random phase and amplitude, in noise."""
    rng = np.random.default_rng(0)
    n_epochs, n_times = 20, 256
    times = np.arange(n_times) / SFREQ
    data = 0.3 * rng.standard_normal((n_epochs, 2, n_times))
    phase = rng.uniform(0, 2 * np.pi, (n_epochs, 1))
    amplitude = rng.uniform(0.5, 2, (n_epochs, 1))
    data[:, 0] += amplitude * np.cos(2 * np.pi * 10 * times + phase)
    info = mne.create_info(["Oz", "Cz"], SFREQ, "eeg")
    return mne.EpochsArray(data, info, verbose=False)


def _detector(kind, info):
    net = NeuralNetClassifier(BandDetector, module__kind=kind, classes=[0, 1])
    return as_network(net.initialize(), info=info)


def _input_data(epochs):
    """The epochs as a network reads them, for _PerturbedData."""
    network = as_network(_detector("linear", epochs.info), info=epochs.info)
    return network._check_prediction_input(epochs)


def _sinusoid_epochs(frequency, sfreq, n_times):
    """20 epochs of a unit sinusoid of random phase, on two channels."""
    rng = np.random.default_rng(0)
    phases = rng.uniform(0, 2 * np.pi, (20, 1, 1))
    times = np.arange(n_times) / sfreq
    data = np.cos(2 * np.pi * frequency * times + phases).repeat(2, axis=1)
    info = mne.create_info(["Oz", "Cz"], sfreq, "eeg")
    return mne.EpochsArray(data, info, verbose=False)


# -- amplitude vs phase sensitivity -----------------------------------------------
@pytest.mark.parametrize(
    "kind, layer, expected",
    [("phase", "saturate", "phase"), ("energy", "pool", "amplitude")],
)
def test_units_built_for_amplitude_or_phase_are_classified_so(
    alpha_epochs, kind, layer, expected
):
    network = _detector(kind, alpha_epochs.info)
    result = unit_sensitivity(network, alpha_epochs, layer, random_state=0)
    summary = result.summary()
    assert list(summary["class"]) == [expected, expected]
    # The units filter the alpha band, so that is where they respond.
    assert list(summary["band"]) == ["alpha", "alpha"]
    assert list(summary["band_class"]) == [expected, expected]
    alpha = result.to_frame().query("band == 'alpha'")
    assert (alpha["class"] == expected).all()
    assert (np.abs(alpha["log_ratio"]) > np.log(3)).all()


def test_a_linear_filter_follows_amplitude_and_phase_alike(alpha_epochs):
    """Both perturbations move the input equally far, so a linear unit is mixed."""
    network = _detector("linear", alpha_epochs.info)
    result = unit_sensitivity(network, alpha_epochs, "bandpass", random_state=0)
    assert list(result.summary()["class"]) == ["mixed", "mixed"]
    alpha = result.to_frame().query("band == 'alpha'")
    np.testing.assert_allclose(alpha["log_ratio"], 0, atol=0.25)
    # The two units are the same filter with opposite signs.
    np.testing.assert_allclose(result.amplitude[0], result.amplitude[1], rtol=1e-6)


@pytest.mark.parametrize("frequency, perturbed", [(8.0, True), (13.0, False)])
def test_a_band_holds_its_lower_edge_not_its_upper_one(frequency, perturbed):
    """Bands (8, 13) and (13, 30) meet at 13 Hz, which only the upper one
    perturbs: a rhythm there is left as it is by alpha's perturbations."""
    data = _input_data(_sinusoid_epochs(frequency, SFREQ, 256))
    batches = list(_PerturbedData(data, {"alpha": ALPHA}, SFREQ, 2, 0.5, 0).batches(64))
    change = max(np.abs(copy - batches[0]).max() for copy in batches[1:])
    assert (change > 0.01) == perturbed, change


def test_amplitude_and_phase_perturbations_are_equally_large(alpha_epochs):
    data = _input_data(alpha_epochs)
    n_draws = 40
    perturbed = _PerturbedData(data, {"alpha": ALPHA}, SFREQ, n_draws, 0.5, seed=0)
    batches = list(perturbed.batches(64))
    clean, copies = batches[0], batches[1:]
    energy = {"amplitude": 0.0, "phase": 0.0}
    for index, copy in enumerate(copies):
        _, kind = perturbed.variant(index)
        energy[kind] += np.sum((copy - clean) ** 2)
        # Each channel moves with its own alpha content: the noise channel
        # far less than the one carrying the rhythm.
        assert np.sum((copy - clean)[:, 1] ** 2) < np.sum((copy - clean)[:, 0] ** 2)
    assert energy["amplitude"] / energy["phase"] == pytest.approx(1, abs=0.15)


def test_perturbations_move_a_rhythm_of_the_band_as_far_as_intended():
    """Either kind changes a rhythm by 2 - 2 exp(-phase_std**2 / 2) times its
    power (_amplitude_log_std), the size phase_std names; their ratio, tested
    above, hides a scale both kinds share (the doubled analytic signal, the
    unit variance of the smoothed noise)."""
    data = _input_data(_sinusoid_epochs(10.0, SFREQ, 256))
    perturbed = _PerturbedData(data, {"alpha": ALPHA}, SFREQ, 20, 0.5, seed=0)
    batches = list(perturbed.batches(64))
    clean, copies = batches[0].astype(float), batches[1:]
    change = {"amplitude": [], "phase": []}
    for index, copy in enumerate(copies):
        _, kind = perturbed.variant(index)
        change[kind].append(np.mean((copy - clean) ** 2) / np.mean(clean**2))
    for kind in KINDS:
        assert np.mean(change[kind]) == pytest.approx(2 - 2 * np.exp(-0.125), rel=0.05)


def test_a_phase_perturbation_keeps_the_envelope_and_an_amplitude_one_the_phase():
    """A rhythm inside the band is its own band-passed signal, whose analytic
    signal (scipy's Hilbert transform) a phase perturbation turns without
    changing its modulus, and an amplitude one scales without turning."""
    data = _input_data(_sinusoid_epochs(10.0, SFREQ, 256))
    perturbed = _PerturbedData(data, {"alpha": ALPHA}, SFREQ, 3, 0.5, seed=0)
    clean, *copies = perturbed.batches(64)
    analytic = hilbert(clean.astype(float))
    for index, copy in enumerate(copies):
        _, kind = perturbed.variant(index)
        moved = hilbert(copy.astype(float))
        envelope_change = np.abs(np.abs(moved) - np.abs(analytic)).max()
        phase_change = np.abs(np.angle(moved / analytic)).max()
        kept, changed = (
            (envelope_change, phase_change)
            if kind == "phase"
            else (phase_change, envelope_change)
        )
        # Unit amplitude: the kept one moved by at most 0.001, the other by over 1.
        assert kept < 0.01 < 0.5 < changed, (kind, kept, changed)


def test_each_band_draws_its_own_noise():
    """Bands of one width are smoothed alike: drawn from the epoch alone, and
    not also from the band, their noise would be the same, every band of an
    epoch amplified and dimmed at the same times."""
    frequencies = (10.0, 22.0)  # one rhythm in each band, on bins of 0.5 Hz
    times = np.arange(256) / SFREQ
    carriers = [np.cos(2 * np.pi * frequency * times) for frequency in frequencies]
    info = mne.create_info(["Oz", "Cz"], SFREQ, "eeg")
    epoch = np.tile(sum(carriers), (1, 2, 1))
    data = _input_data(mne.EpochsArray(epoch, info, verbose=False))
    bands = {"alpha": ALPHA, "beta": (20.0, 25.0)}
    perturbed = _PerturbedData(data, bands, SFREQ, 1, 0.5, seed=0)
    clean, *copies = perturbed.batches(64)
    # Where both carriers are far from zero, an amplitude copy's change over
    # its band's carrier is the band's factor minus 1.
    strong = np.all(np.abs(carriers) > 0.5, axis=0)
    modulations = {}
    for index, copy in enumerate(copies):
        band, kind = perturbed.variant(index)
        if kind == "amplitude":
            modulations[band] = ((copy - clean)[0, 0] / carriers[band])[strong]
    assert not np.allclose(modulations[0], modulations[1], atol=0.05)


def test_results_do_not_depend_on_batch_size(alpha_epochs):
    network = _detector("energy", alpha_epochs.info)
    whole, split = (
        unit_sensitivity(
            network, alpha_epochs, "pool", n_draws=2, batch_size=size, random_state=3
        )
        for size in (64, 7)
    )
    np.testing.assert_allclose(whole.amplitude, split.amplitude, rtol=1e-5)
    np.testing.assert_allclose(whole.phase, split.phase, rtol=1e-5)
    other_seed = unit_sensitivity(
        network, alpha_epochs, "pool", n_draws=2, random_state=4
    )
    assert not np.allclose(whole.amplitude, other_seed.amplitude)


def test_results_do_not_depend_on_torchs_default_dtype(alpha_epochs):
    """Under torch.set_default_dtype(torch.float64) the same seed drew another
    noise: log ratios changed by up to 0.15, their sign in 8 of 48 rows."""
    network = _detector("energy", alpha_epochs.info)
    kwargs = dict(n_draws=2, random_state=3)
    single = unit_sensitivity(network, alpha_epochs, "pool", **kwargs)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        double = unit_sensitivity(network, alpha_epochs, "pool", **kwargs)
    finally:
        torch.set_default_dtype(default)
    np.testing.assert_allclose(double.amplitude, single.amplitude, rtol=1e-5)
    np.testing.assert_allclose(double.phase, single.phase, rtol=1e-5)


def test_results_do_not_depend_on_the_other_bands(alpha_epochs):
    """Draws followed the band's position in ``bands``: the alpha sensitivities
    changed by 11 percent when beta was asked for before alpha."""
    network = _detector("energy", alpha_epochs.info)
    beta = (13.0, 30.0)
    alpha_first, beta_first, alone = (
        unit_sensitivity(network, alpha_epochs, "pool", bands=bands, random_state=3)
        for bands in (
            {"alpha": ALPHA, "beta": beta},
            {"beta": beta, "alpha": ALPHA},
            {"alpha": ALPHA},
        )
    )
    for kind in ("amplitude", "phase"):
        values = getattr(alpha_first, kind)
        np.testing.assert_allclose(values, getattr(beta_first, kind)[:, ::-1])
        np.testing.assert_allclose(values[:, :1], getattr(alone, kind))
    # An array of two edges, as MNE takes (fmin, fmax), is a band too (it was
    # refused with "must be (low, high) in Hz, got [ 8. 13.]").
    as_array = unit_sensitivity(
        network, alpha_epochs, "pool", bands={"alpha": np.array(ALPHA)}, random_state=3
    )
    np.testing.assert_array_equal(as_array.amplitude, alone.amplitude)


def test_on_eegbci_pooled_units_follow_the_mu_and_beta_amplitude(
    fitted_icnn, imagery_epochs
):
    """InterpretableCNN averages rectified band-passed maps over the epoch."""
    pooled = unit_sensitivity(
        fitted_icnn, imagery_epochs, "global_pool", n_draws=2, random_state=0
    ).summary()
    # Every unit leans to amplitude; summed over the bands, broadly tuned units
    # read "mixed" (summary's Notes), so the class is read in each unit's band.
    assert (pooled["log_ratio"] > 0).all()
    assert (pooled["band_class"] == "amplitude").mean() >= 0.75
    # The data are filtered 7-30 Hz: the units follow the mu (alpha) and beta
    # rhythms, none the gamma band the filter removed.
    assert pooled["band"].isin(["alpha", "beta"]).mean() >= 0.9
    assert "gamma" not in set(pooled["band"])
    # Before the rectifier the maps are linear filters of the input: mixed.
    linear = unit_sensitivity(
        fitted_icnn, imagery_epochs, "depthwise_conv", n_draws=2, random_state=0
    )
    assert set(linear.summary()["class"]) == {"mixed"}
    table = linear.to_frame()
    assert len(table) == 32 * 4
    assert set(table.columns) >= {"amplitude_sensitivity", "phase_sensitivity"}
    fig = linear.plot(show=False)
    title = fig.axes[0].get_title()
    assert title == "Amplitude vs phase sensitivity, layer 'depthwise_conv'"
    # Every unit is within the thresholds: their lines sat on the bar's ends.
    assert fig.axes[1].get_ylim()[1] > np.log2(linear.ratio) * 1.2


def test_sensitivity_is_a_mean_over_draws(alpha_epochs):
    """More draws estimate the same mean change more closely: summed over the
    draws, 8 of them made a unit 8 times as sensitive as one draw did."""
    network = _detector("linear", alpha_epochs.info)
    one, eight = (
        unit_sensitivity(
            network, alpha_epochs, "bandpass", n_draws=n_draws, random_state=0
        )
        for n_draws in (1, 8)
    )
    alpha = list(one.bands).index("alpha")
    for kind in ("amplitude", "phase"):
        ratio = getattr(eight, kind)[:, alpha] / getattr(one, kind)[:, alpha]
        np.testing.assert_allclose(ratio, 1, atol=0.3)


def _layer_output(module, layer, inputs):
    """The output of ``module``'s ``layer`` for ``inputs`` (float64 NumPy)."""
    outputs = []
    handle = getattr(module, layer).register_forward_hook(
        lambda *args: outputs.append(args[-1])
    )
    try:
        with torch.no_grad():
            module(torch.as_tensor(inputs))
    finally:
        handle.remove()
    return outputs[0].double().numpy()


@pytest.mark.parametrize(
    "kind, layer", [("linear", "bandpass"), ("energy", "pool"), ("offset", "bandpass")]
)
def test_a_unit_sensitivity_is_the_mean_absolute_change_over_the_spread(
    alpha_epochs, kind, layer
):
    """As the Notes define it: the mean absolute change of the unit's output
    over epochs, draws and positions, over the standard deviation of its
    output on the data, here computed from the perturbed copies by hand. The
    filter's output has many positions and a mean near 0, the energy one
    position and a mean far from 0; with an offset of 3e6 the variance,
    summed about 0, lost its digits to rounding."""
    network = _detector(kind, alpha_epochs.info)
    n_draws = 3
    result = unit_sensitivity(
        network,
        alpha_epochs,
        layer,
        bands={"alpha": ALPHA},
        n_draws=n_draws,
        random_state=0,
    )
    # random_state=0 seeds the perturbations with the entropy 0.
    perturbed = _PerturbedData(
        _input_data(alpha_epochs), {"alpha": ALPHA}, SFREQ, n_draws, 0.5, seed=0
    )
    clean, *copies = perturbed.batches(64)
    module = network.module_.eval()
    clean_output = _layer_output(module, layer, clean)
    spread = clean_output.std(axis=(0, 2))
    expected = {"amplitude": 0.0, "phase": 0.0}
    for index, copy in enumerate(copies):
        _, perturbation = perturbed.variant(index)
        change = np.abs(_layer_output(module, layer, copy) - clean_output)
        expected[perturbation] += change.mean(axis=(0, 2)) / n_draws / spread
    for perturbation in KINDS:
        np.testing.assert_allclose(
            getattr(result, perturbation)[:, 0], expected[perturbation], rtol=1e-4
        )


def _normal_mean(function, std):
    """The mean of ``function`` of a normal variable of SD ``std``."""
    return quad(lambda z: function(std * z) * norm.pdf(z), -12, 12)[0]


def test_a_rhythm_passed_on_moves_as_far_as_its_scaled_or_shifted_copy():
    """A band starting at the first bin is perturbed by one factor per epoch,
    so a 1 Hz rhythm ``cos(wt + p)`` becomes ``A cos(wt + p + d)``, with
    ``log A`` of SD ``s`` (amplitude) or ``d`` of SD ``phase_std`` (phase), and
    ``s`` moving the rhythm as far on average. A unit passing the rhythm on
    changes by ``|A - 1|`` or ``2 |sin(d / 2)|`` times the mean of ``|sin|``
    (2 / pi), over its standard deviation (1 / sqrt(2)): here by hand."""
    sfreq, n_times, phase_std, n_draws = 64.0, 128, 0.5, 25
    epochs = _sinusoid_epochs(1.0, sfreq, n_times)
    band = {"low": (0.5, 2.0)}
    network = as_network(
        NeuralNetClassifier(Passthrough, classes=[0, 1]).initialize(), info=epochs.info
    )
    phase_change = _normal_mean(lambda d: 2 - 2 * np.cos(d), phase_std)
    s = brentq(
        lambda s: _normal_mean(lambda z: (np.exp(z) - 1) ** 2, s) - phase_change,
        0.01,
        1,
    )
    expected = {
        "amplitude": _normal_mean(lambda z: np.abs(np.exp(z) - 1), s),
        "phase": _normal_mean(lambda d: 2 * np.abs(np.sin(d / 2)), phase_std),
    }
    result = unit_sensitivity(
        network,
        epochs,
        "unit",
        bands=band,
        n_draws=n_draws,
        phase_std=phase_std,
        random_state=0,
    )
    for kind in KINDS:
        assert getattr(result, kind)[0, 0] == pytest.approx(
            expected[kind] * 2 / np.pi * np.sqrt(2), rel=0.1
        ), kind
    # Each copy is the rhythm scaled, or shifted, alone.
    data = network._check_prediction_input(epochs)
    perturbed = _PerturbedData(data, band, sfreq, n_draws, phase_std, seed=0)
    clean, *copies = perturbed.batches(64)
    carrier = np.exp(-2j * np.pi * np.arange(n_times) / sfreq)
    clean_phasor = clean[:, 0].astype(float) @ carrier
    moves = {"amplitude": [], "phase": []}
    for index, copy in enumerate(copies):
        _, kind = perturbed.variant(index)
        phasor = copy[:, 0].astype(float) @ carrier
        rhythm = (phasor[:, np.newaxis] * carrier.conj()).real * 2 / n_times
        np.testing.assert_allclose(copy[:, 0], rhythm, atol=1e-5)
        moved = {
            "amplitude": np.log(np.abs(phasor / clean_phasor)),
            "phase": np.angle(phasor / clean_phasor),
        }
        kept = "phase" if kind == "amplitude" else "amplitude"
        np.testing.assert_allclose(moved[kept], 0, atol=1e-5)
        moves[kind].append(moved[kind])
    assert np.std(moves["amplitude"]) == pytest.approx(s, rel=0.1)
    assert np.std(moves["phase"]) == pytest.approx(phase_std, rel=0.1)


def test_a_unit_constant_over_the_data_has_no_sensitivity(alpha_epochs):
    """A unit whose threshold the data never reach is constant, so its
    sensitivity is NaN (as documented) and it is insensitive, though the
    rhythms an amplitude perturbation makes larger cross the threshold:
    divided by a spread of 0, their change was infinite."""
    data = torch.as_tensor(alpha_epochs.get_data()[:, :1], dtype=torch.float32)
    with torch.no_grad():
        peak = BandDetector().bandpass(data).max().item()
    net = NeuralNetClassifier(
        SilentDetector, module__threshold=1.01 * peak, classes=[0, 1]
    )
    network = as_network(net.initialize(), info=alpha_epochs.info)
    result = unit_sensitivity(
        network, alpha_epochs, "rectify", bands={"alpha": ALPHA}, random_state=0
    )
    assert np.isnan(result.amplitude).all()
    assert np.isnan(result.phase).all()
    assert result.summary()["class"].tolist() == ["insensitive", "insensitive"]


def test_progress_counts_each_batch_and_its_perturbed_copies(alpha_epochs, capsys):
    """20 epochs read 7 at a time are 3 batches, each followed by its copies
    (2 draws of 2 kinds in one band): 15 batches, which progress counts to."""
    network = _detector("energy", alpha_epochs.info)
    unit_sensitivity(
        network,
        alpha_epochs,
        "pool",
        bands={"alpha": ALPHA},
        n_draws=2,
        batch_size=7,
        random_state=0,
        verbose=True,
    )
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("activations: 15 of 15 batches (100%)"), last


def test_sensitivity_errors(alpha_epochs):
    network = _detector("energy", alpha_epochs.info)
    with pytest.raises(ValueError, match="No layer named 'nope'.*'pool'"):
        unit_sensitivity(network, alpha_epochs, "nope")
    with pytest.raises(ValueError, match=r"Band 'high' \(50-70 Hz\).*Nyquist.*64 Hz"):
        unit_sensitivity(network, alpha_epochs, "pool", bands={"high": (50, 70)})
    with pytest.raises(ValueError, match="narrower than the frequency resolution"):
        unit_sensitivity(network, alpha_epochs, "pool", bands={"thin": (10, 10.2)})
    with pytest.raises(ValueError, match="starts at 0 Hz.*first frequency bin"):
        unit_sensitivity(network, alpha_epochs, "pool", bands={"delta": (0, 4)})
    with pytest.raises(ValueError, match="0 < low < high"):
        unit_sensitivity(network, alpha_epochs, "pool", bands={"bad": (12, 8)})
    with pytest.raises(
        ValueError, match=r"two numbers \(low, high\) in Hz, got 'alpha'"
    ):
        unit_sensitivity(network, alpha_epochs, "pool", bands={"alpha": "alpha"})
    with pytest.raises(ValueError, match="ratio must be above 1"):
        unit_sensitivity(network, alpha_epochs, "pool", ratio=1)
    with pytest.raises(ValueError, match=r"phase_std must be in \(0, pi\]"):
        unit_sensitivity(network, alpha_epochs, "pool", phase_std=4)
    # The range is closed at pi: a shift of half a cycle either way is allowed.
    at_pi = unit_sensitivity(
        network,
        alpha_epochs,
        "pool",
        bands={"alpha": ALPHA},
        n_draws=1,
        phase_std=np.pi,
    )
    assert np.isfinite(at_pi.phase).all()
    # Default bands above the Nyquist frequency are left out, not refused.
    assert list(_check_bands(None, 64.0, 128)) == ["theta", "alpha", "beta"]
    # Upper edges are excluded: a default band ending at the Nyquist frequency
    # is kept, as a band given so is, and a band one bin wide is resolved.
    assert list(_check_bands(None, 90.0, 180)) == [*DEFAULT_BANDS]
    assert _check_bands({"bin": (10, 10.5)}, 128.0, 256) == {"bin": (10.0, 10.5)}
    # Default bands too narrow for short epochs were refused with "widen it",
    # bands the user never gave.
    with pytest.raises(ValueError, match=r"default band 'theta'.*pass bands at least"):
        _check_bands(None, 128.0, 25)
    # Epochs so slow that every default band reaches above their Nyquist
    # frequency (fNIRS at 10 Hz) were told "bands is empty".
    match = r"default bands all reach above the Nyquist frequency \(5 Hz\) of "
    with pytest.raises(ValueError, match=match + "these epochs at 10 Hz; give bands"):
        _check_bands(None, 10.0, 127)
    with pytest.raises(ValueError, match="bands is empty"):
        _check_bands({}, 10.0, 127)


# -- pruning ----------------------------------------------------------------------
@pytest.fixture
def small_eegnet(synthetic_arrays):
    X, y = synthetic_arrays
    return EEGNetClassifier(
        max_epochs=5, batch_size=8, verbose=False, random_state=0
    ).fit(X, y)


def test_on_eegbci_ranked_units_cost_more_accuracy_than_random_ones(
    fitted_icnn, imagery_epochs
):
    curve = pruning_curve(
        fitted_icnn, imagery_epochs, "relu", n_random=6, random_state=0
    )
    # Nothing removed: the estimator's own accuracy.
    assert curve.accuracy["sensitivity"][0] == pytest.approx(
        fitted_icnn.score(imagery_epochs)
    )
    area = curve.area
    for order in ("sensitivity", "attribution"):
        assert area[order] < area["random"].mean() - area["random"].std()
    # Removing the units after the rectifier by their mean output commutes
    # with the batch norm that follows (an affine map per unit).
    after_norm = pruning_curve(
        fitted_icnn, imagery_epochs, "batch_norm", n_random=6, random_state=0
    )
    for order in ("sensitivity", "attribution"):
        np.testing.assert_array_equal(after_norm.orders[order], curve.orders[order])
        np.testing.assert_allclose(after_norm.accuracy[order], curve.accuracy[order])


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_pruning_nothing_or_everything(small_eegnet, synthetic_arrays, ablation):
    X, y = synthetic_arrays
    curve = pruning_curve(
        small_eegnet, X, "separable_elu", y, ablation=ablation, n_random=3
    )
    assert curve.n_units == 16
    unpruned = small_eegnet.score(X, y)
    curves = np.vstack([*curve.accuracy.values(), curve.random_accuracy])
    np.testing.assert_allclose(curves[:, 0], unpruned)
    # With every unit removed the network's input no longer reaches the
    # logits: one class for every epoch.
    assert curves[0, -1] in {np.mean(y == label) for label in (0, 1)}
    np.testing.assert_allclose(curves[:, -1], curves[0, -1])
    table = curve.to_frame()
    assert len(table) == (2 + 3) * 17
    assert set(table["order"]) == {"sensitivity", "attribution", "random"}


def test_each_mask_removes_the_first_units_of_its_order():
    # A cycle, which is not its own inverse: a mask built from each unit's
    # place in the order must not confuse it with the order itself.
    orders = np.array([[2, 0, 3, 1], [3, 2, 1, 0]])
    masks = _ablation_masks(orders)
    assert masks.shape == (2 * 3 + 1, 4)
    for o, order in enumerate(orders):
        for k in range(1, 4):
            removed = np.flatnonzero(masks[o * 3 + k - 1] == 0)
            assert set(removed) == set(order[:k])
    assert not masks[-1].any()


def test_a_mask_keeps_the_units_it_holds_at_one():
    """Masks read the other way round kept the units removed and replaced the
    others, which curves of a network whose units barely matter never showed."""
    module = nn.Sequential()
    module.add_module("units", nn.Identity())
    reference = torch.tensor([[10.0, 10.0], [20.0, 20.0]])
    ablation = _Ablation(module, module.units, "units", reference)
    inputs = torch.arange(8.0).reshape(2, 2, 2)
    scores = ablation.scores(inputs, torch.tensor([[1.0, 0.0]]))[0]
    np.testing.assert_array_equal(scores.reshape(2, 2, 2)[:, 0], inputs[:, 0])
    np.testing.assert_array_equal(scores.reshape(2, 2, 2)[:, 1], 20.0)


def _curve_of_four_units():
    """A PruningCurve of one ranking and one random order over four units."""
    return PruningCurve(
        layer="relu",
        accuracy={"mine": np.array([1.0, 0.75, 0.5, 0.5, 0.25])},
        random_accuracy=np.array([[1.0, 1.0, 0.5, 0.5, 0.5]]),
        orders={"mine": np.arange(4)},
        random_orders=np.arange(4)[None],
        importance={"mine": np.arange(4.0)},
        chance=0.5,
    )


def test_area_is_the_trapezoid_under_accuracy_against_the_fraction_removed():
    curve = _curve_of_four_units()
    # Steps of 1/4: 1/4 * ((1 + .75) / 2 + (.75 + .5) / 2 + (.5 + .5) / 2 + ...).
    assert curve.area["mine"] == pytest.approx(0.25 * (0.875 + 0.625 + 0.5 + 0.375))
    np.testing.assert_allclose(curve.area["random"], [0.25 * (1 + 0.75 + 0.5 + 0.5)])


def test_the_table_runs_from_no_unit_to_every_unit_removed():
    """The fraction removed is of the layer's units, 0 to 1, as the area reads
    it; a table reaching 0.8 would not match the plot's area."""
    table = _curve_of_four_units().to_frame()
    mine = table.query("order == 'mine'")
    np.testing.assert_array_equal(mine["n_pruned"], np.arange(5))
    np.testing.assert_allclose(mine["fraction_pruned"], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(mine["accuracy"], [1.0, 0.75, 0.5, 0.5, 0.25])
    random = table.query("order == 'random'")
    np.testing.assert_array_equal(random["draw"], 0)
    np.testing.assert_array_equal(random["accuracy"], [1.0, 1.0, 0.5, 0.5, 0.5])


def test_scoring_several_masks_per_pass_is_exact(
    small_eegnet, synthetic_arrays, monkeypatch
):
    X, y = synthetic_arrays
    batched = pruning_curve(small_eegnet, X, "spatial_elu", y, random_state=1)
    monkeypatch.setattr(_Ablation, "masks_per_pass", lambda *args: 1)
    one_by_one = pruning_curve(small_eegnet, X, "spatial_elu", y, random_state=1)
    np.testing.assert_array_equal(batched.random_orders, one_by_one.random_orders)
    np.testing.assert_allclose(batched.random_accuracy, one_by_one.random_accuracy)
    for order in batched.accuracy:
        np.testing.assert_allclose(batched.accuracy[order], one_by_one.accuracy[order])


class RectifiedFilters(nn.Module):
    """Rectified filters of the input, averaged over time, then a linear read-out."""

    def __init__(self, n_units=3, n_classes=2):
        super().__init__()
        self.conv = nn.Conv1d(4, n_units, 5)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(n_units, n_classes)

    def forward(self, x):
        return self.classifier(self.relu(self.conv(x)).mean(dim=-1))


class SkipNet(RectifiedFilters):
    """A network that adds the input's mean back after the layer inspected."""

    def forward(self, x):
        features = self.relu(self.conv(x)).mean(dim=-1)
        return self.classifier(features + x.mean(dim=(1, 2))[:, None])


def _accuracy_without(module, X, y, removed):
    """Accuracy with the ``removed`` units of ``module.relu`` replaced by their
    mean output over ``X``, by a hook of its own."""
    inputs = torch.from_numpy(X)
    with torch.no_grad():
        mean = module.relu(module.conv(inputs)).mean(dim=0)

        def replace(_layer, _inputs, output):
            output = output.clone()
            output[:, removed] = mean[removed]
            return output

        handle = module.relu.register_forward_hook(replace)
        try:
            predicted = module(inputs).argmax(dim=1).numpy()
        finally:
            handle.remove()
    return np.mean(predicted == y)


@pytest.fixture
def trained_filters(synthetic_arrays):
    """Six rectified filters trained until removing them costs accuracy."""
    torch.manual_seed(0)
    return NeuralNetClassifier(
        RectifiedFilters,
        module__n_units=6,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=0.05,
        max_epochs=10,
        train_split=None,
        verbose=False,
    ).fit(*synthetic_arrays)


def test_each_curve_is_the_accuracy_without_the_first_units_of_its_order(
    synthetic_arrays, trained_filters
):
    """Scores of all orders come from one array, order by order: read unit
    by unit, the curves mixed orders, which tests of the curves' ends missed."""
    X, y = synthetic_arrays
    net = trained_filters
    info = mne.create_info(4, SFREQ, "eeg")
    # Batches of 16: each batch's epochs are scored against their own labels.
    curve = pruning_curve(
        as_network(net, info=info),
        X,
        "relu",
        y,
        n_random=3,
        batch_size=16,
        random_state=0,
    )
    orders = [*curve.orders.values(), *curve.random_orders]
    curves = np.array([*curve.accuracy.values(), *curve.random_accuracy])
    # Orders scoring alike would hide a mix-up.
    assert len(np.unique(curves[:, 1:-1], axis=0)) == len(curves)
    for order, accuracy in zip(orders, curves, strict=True):
        expected = [
            _accuracy_without(net.module_, X, y, order[:n_removed])
            for n_removed in range(curve.n_units + 1)
        ]
        np.testing.assert_allclose(accuracy, expected)


def test_accuracy_is_over_every_epoch_of_every_batch(synthetic_arrays, trained_filters):
    """The epochs three times over, read in two batches of 64, score as the
    epochs once: each curve counts the hits of all batches over all epochs."""
    X, y = synthetic_arrays
    network = as_network(trained_filters, info=mne.create_info(4, SFREQ, "eeg"))
    once, thrice = (
        pruning_curve(
            network, np.tile(X, (n, 1, 1)), "relu", np.tile(y, n), random_state=0
        )
        for n in (1, 3)
    )
    np.testing.assert_allclose(thrice.random_accuracy, once.random_accuracy)
    for order, accuracy in once.accuracy.items():
        np.testing.assert_allclose(thrice.accuracy[order], accuracy)


@pytest.mark.parametrize("ablation", ["zero", "mean"])
def test_units_are_ranked_by_their_contribution_with_the_unit_replaced(
    synthetic_arrays, trained_filters, ablation
):
    """Both rankings read ``c = sum((a - r) * g)`` (Notes), with ``r`` what
    the ablation replaces the unit by: here by hand, with autograd's gradient
    of the predicted logit minus the mean logit."""
    X, y = synthetic_arrays
    module = trained_filters.module_
    inputs = torch.from_numpy(X)
    with torch.no_grad():
        activation = module.relu(module.conv(inputs))
    reference = activation.mean(dim=0) if ablation == "mean" else 0.0
    activation.requires_grad_()
    logits = module.classifier(activation.mean(dim=-1))
    decision = logits.max(dim=1).values - logits.mean(dim=1)
    (gradient,) = torch.autograd.grad(decision.sum(), activation)
    contribution = ((activation - reference) * gradient).sum(dim=-1).detach().numpy()
    curve = pruning_curve(
        as_network(trained_filters, info=mne.create_info(4, SFREQ, "eeg")),
        X,
        "relu",
        y,
        ablation=ablation,
        n_random=1,
    )
    scale = np.abs(contribution).mean(axis=0).max()
    np.testing.assert_allclose(
        curve.importance["sensitivity"],
        np.abs(contribution).mean(axis=0),
        rtol=1e-4,
        atol=1e-6 * scale,
    )
    np.testing.assert_allclose(
        curve.importance["attribution"],
        contribution.mean(axis=0),
        rtol=1e-4,
        atol=1e-6 * scale,
    )


class CentredFeatures(RectifiedFilters):
    """A network that centres its features on their mean over the batch."""

    def forward(self, x):
        features = self.relu(self.conv(x)).mean(dim=-1)
        return self.classifier(features - features.mean(dim=0))


class LaterEpochsFeatures(RectifiedFilters):
    """A network adding to each epoch's features those of the later epochs of
    its batch: the unpruned copy, first, reads the pruned one."""

    def forward(self, x):
        features = self.relu(self.conv(x)).mean(dim=-1)
        return self.classifier(features.flip(0).cumsum(0).flip(0))


class EarlierEpochsFeatures(RectifiedFilters):
    """A network adding to each epoch's features those of the earlier epochs
    of its batch: the pruned copy, last, reads the unpruned one."""

    def forward(self, x):
        features = self.relu(self.conv(x)).mean(dim=-1)
        return self.classifier(features.cumsum(0))


def _masks_per_pass(module, X):
    """How many masks of two orders of three units one pass of ``module`` scores."""
    ablation = _Ablation(module, module.relu, "relu", reference=0.0)
    masks = torch.from_numpy(_ablation_masks(np.array([[2, 0, 1], [0, 1, 2]])))
    inputs = torch.from_numpy(X)
    with torch.no_grad():
        return ablation.masks_per_pass(inputs, module(inputs), masks)


@pytest.mark.parametrize(
    "network, masks_per_pass",
    [
        (RectifiedFilters, 3),
        (CentredFeatures, 1),
        (LaterEpochsFeatures, 1),
        (EarlierEpochsFeatures, 1),
    ],
)
def test_masks_share_a_pass_when_the_network_treats_copies_apart(
    synthetic_arrays, network, masks_per_pass
):
    """Several masks share a pass only if scores match the network's own to
    float rounding: with the unpruned copy taken for another, every network
    fell back to one mask per pass (exact, n_units times slower); with the
    tolerance dropped, a network mixing the copies by 6 percent of its
    largest score was scored several at once, so wrongly; checking only the
    pruned copy missed a network whose unpruned copy reads the pruned one
    (the pruned copy, last, is scored as alone), and checking only the
    unpruned copy the reverse (the unpruned copy, first, is scored as alone
    when the pruned one reads it). A pass scores as
    many masks as the layer has units (3), not all of them (5), whose copies
    of the layer's output grow with the number of orders."""
    torch.manual_seed(0)
    assert _masks_per_pass(network(), synthetic_arrays[0]) == masks_per_pass


def test_copies_are_compared_relative_to_the_size_of_the_scores(synthetic_arrays):
    """Logits a million times smaller mix the copies as much: against a
    tolerance not scaled by the scores, they would share a pass, wrongly."""
    torch.manual_seed(0)
    module = CentredFeatures()
    with torch.no_grad():
        for parameter in module.classifier.parameters():
            parameter.mul_(1e-6)
    assert _masks_per_pass(module, synthetic_arrays[0]) == 1


def test_pruning_reads_the_classes_of_events_a_network_is_told(
    synthetic_arrays, trained_filters
):
    """A skorch network fitted elsewhere and told its events (event_id) reads
    the classes from the events of Epochs, as from y."""
    X, y = synthetic_arrays
    events = np.column_stack([np.arange(len(X)), np.zeros(len(X), int), y + 1])
    event_id = {"rest": 1, "task": 2}
    epochs = mne.EpochsArray(
        X, mne.create_info(4, SFREQ, "eeg"), events, event_id=event_id, verbose=False
    )
    network = as_network(
        trained_filters, info=epochs.info, event_id={"rest": 0, "task": 1}
    )
    by_events, by_labels = (
        pruning_curve(network, epochs, "relu", labels, n_random=2, random_state=0)
        for labels in (None, np.array(["rest", "task"])[y])
    )
    np.testing.assert_array_equal(by_events.random_accuracy, by_labels.random_accuracy)
    for order, accuracy in by_labels.accuracy.items():
        np.testing.assert_array_equal(by_events.accuracy[order], accuracy)


def test_a_network_that_mixes_copies_is_scored_one_mask_at_a_time(
    synthetic_arrays, caplog
):
    X, y = synthetic_arrays
    info = mne.create_info(4, SFREQ, "eeg")
    net = NeuralNetClassifier(SkipNet, classes=[0, 1]).initialize()
    with caplog.at_level(logging.INFO, logger="mne"):
        curve = pruning_curve(
            as_network(net, info=info), X, "relu", y, n_random=2, verbose=True
        )
    assert "Scoring one mask per pass: after layer 'relu'" in caplog.text
    module, inputs = net.module_, torch.from_numpy(X)
    with torch.no_grad():
        predicted = module(inputs).argmax(dim=1)
        # Every unit removed: the rectified maps are their mean over epochs.
        features = module.relu(module.conv(inputs)).mean(dim=0).mean(dim=-1)
        pruned = module.classifier(features + inputs.mean(dim=(1, 2))[:, None])
    assert curve.accuracy["attribution"][0] == pytest.approx(
        np.mean(predicted.numpy() == y)
    )
    assert curve.accuracy["attribution"][-1] == pytest.approx(
        np.mean(pruned.argmax(dim=1).numpy() == y)
    )


def test_pruning_plot_given_orders_and_errors(small_eegnet, synthetic_arrays):
    X, y = synthetic_arrays
    # Tied units keep their index order (an unstable sort shuffled them).
    tied = (np.arange(16) % 3 == 0).astype(float)
    curve = pruning_curve(
        small_eegnet,
        X,
        "separable_elu",
        y,
        scores={"index": np.arange(16), "tied": tied},
        n_random=2,
    )
    np.testing.assert_array_equal(curve.orders["index"], np.arange(16)[::-1])
    np.testing.assert_array_equal(
        curve.orders["tied"], np.r_[np.flatnonzero(tied), np.flatnonzero(tied == 0)]
    )
    assert set(curve.area) == {"sensitivity", "attribution", "index", "tied", "random"}
    fig = curve.plot(show=False)
    axes = fig.axes[0]
    assert axes.get_title() == "Pruning the 16 units of layer 'separable_elu'"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("units removed", "accuracy")
    assert "PruningCurve | layer 'separable_elu', 16 units" in repr(curve)
    with pytest.raises(ValueError, match="pass y with arrays"):
        pruning_curve(small_eegnet, X, "separable_elu")
    with pytest.raises(ValueError, match=r"y must hold one class per epoch \(40\)"):
        pruning_curve(small_eegnet, X, "separable_elu", y[:5])
    with pytest.raises(ValueError, match="Invalid value for the 'ablation'"):
        pruning_curve(small_eegnet, X, "separable_elu", y, ablation="noise")
    with pytest.raises(ValueError, match=r"scores\['random'\] must hold one score"):
        pruning_curve(small_eegnet, X, "separable_elu", y, scores={"random": [1]})
    match = r"scores\['short'\] must hold one score per unit \(16\).*shape \(3,\)"
    with pytest.raises(ValueError, match=match):
        pruning_curve(small_eegnet, X, "separable_elu", y, scores={"short": [3, 2, 1]})
    # NaN sorted last: a unit without a score was pruned as the most important.
    undefined = np.r_[np.nan, np.arange(15.0)]
    with pytest.raises(ValueError, match=r"must be finite; units \[0\] have \[nan\]"):
        pruning_curve(small_eegnet, X, "separable_elu", y, scores={"s": undefined})
    with pytest.raises(ValueError, match="No layer named 'block9'"):
        pruning_curve(small_eegnet, X, "block9", y)


def test_scores_named_as_a_built_in_ranking_are_refused(small_eegnet, synthetic_arrays):
    """Given under the name of a built-in ranking, the scores replaced it
    without a word: the "sensitivity" curve was of the user's order. Under
    "random", their area would be overwritten by that of the random orders
    (one score per unit, so refused for the name alone)."""
    X, y = synthetic_arrays
    for name in ("sensitivity", "random"):
        with pytest.raises(ValueError, match=rf"scores\['{name}'\] must hold one"):
            pruning_curve(
                small_eegnet, X, "separable_elu", y, scores={name: np.arange(16)}
            )


@pytest.fixture
def small_cropped(synthetic_arrays):
    """A CroppedClassifier of several windows per epoch, trained one epoch."""
    return CroppedClassifier(
        EEGNetClassifier(max_epochs=1, random_state=0, verbose=False),
        window_length=0.375,
        window_step=0.0625,
        sfreq=128.0,
    ).fit(*synthetic_arrays)


def test_the_mean_of_a_unit_is_taken_over_every_window(synthetic_arrays, small_cropped):
    """Over windows, the removed unit's mean was n_windows times too large."""
    X, _ = synthetic_arrays
    cropped = small_cropped
    network = as_network(cropped)
    data = network._check_prediction_input(X)
    outputs = []
    layer = network.window_network.module_.spatial_elu
    handle = layer.register_forward_hook(lambda *args: outputs.append(args[-1]))
    with torch.no_grad():
        cropped.predict(X)
    handle.remove()
    rows = torch.cat(outputs)
    assert len(rows) > len(X)  # several windows per epoch
    mean = _mean_output(
        network, data, layer, "spatial_elu", batch_size=64, device=torch.device("cpu")
    )
    torch.testing.assert_close(mean, rows.mean(dim=0), rtol=1e-4, atol=1e-6)


def test_pruning_scores_a_cropped_classifier_as_it_predicts(
    synthetic_arrays, small_cropped
):
    """The highest mean window logit was scored, not the classifier's highest
    mean window probability: unpruned, 1.00 against a score of 0.95."""
    import copy

    X, y = synthetic_arrays
    cropped = copy.deepcopy(small_cropped)
    with torch.no_grad():  # confident windows, whose logits and votes differ
        cropped.estimator_.module_.classifier.weight.mul_(50)
    with torch.no_grad():
        mean_logit = as_network(cropped).module_(torch.from_numpy(X)).argmax(dim=1)
    assert (mean_logit.numpy() != cropped.predict(X)).any()
    curve = pruning_curve(cropped, X, "spatial_elu", y, n_random=1, random_state=0)
    for accuracy in curve.accuracy.values():
        assert accuracy[0] == cropped.score(X, y)


def test_bands_are_read_at_the_rate_of_the_epochs_given(synthetic_arrays):
    """A network fitted on arrays assumes 128 Hz; Epochs say their own rate."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False).fit(X, y)
    slow = mne.EpochsArray(X, mne.create_info(4, 32.0, "eeg"), verbose=False)
    result = unit_sensitivity(clf, slow, "spatial_elu", random_state=0)
    # At 32 Hz, bands end below the 16 Hz Nyquist frequency (beta was kept).
    assert max(high for _, high in result.bands.values()) <= 16


def _one_window_repeated(cropped, n_windows):
    """A copy of ``cropped`` reading its first window ``n_windows`` times: the
    units' outputs, and the decision (their mean), are those of one window."""
    import copy

    repeated = copy.deepcopy(cropped)
    repeated.window_starts_ = np.zeros(n_windows, int)
    return repeated


def test_sensitivities_do_not_depend_on_the_number_of_windows(
    synthetic_arrays, small_cropped
):
    """Over a CroppedClassifier's windows they grew as sqrt(n_windows)."""
    X, _ = synthetic_arrays
    results = [
        unit_sensitivity(
            _one_window_repeated(small_cropped, n_windows),
            X,
            "spatial_elu",
            bands={"alpha": ALPHA},
            random_state=0,
        )
        for n_windows in (1, 4)
    ]
    for kind in ("amplitude", "phase"):
        values = [getattr(result, kind) for result in results]
        assert np.isfinite(values[0]).any()
        np.testing.assert_allclose(values[1], values[0], rtol=1e-6)


def test_unit_contributions_do_not_depend_on_the_number_of_windows(
    synthetic_arrays, small_cropped
):
    """The decision is the mean of the windows' logits, so a unit changes it by
    the sum of its changes over the epoch's windows (each weighted by the
    mean's 1 / n_windows): averaged over the windows, the contributions shrank
    as 1 / n_windows; summed over rows of other epochs, their magnitudes
    mixed the epochs."""
    X, y = synthetic_arrays
    importances = [
        pruning_curve(
            _one_window_repeated(small_cropped, n_windows),
            X,
            "spatial_elu",
            y,
            n_random=1,
            random_state=0,
        ).importance
        for n_windows in (1, 4)
    ]
    for kind in ("sensitivity", "attribution"):
        assert np.abs(importances[0][kind]).max() > 0
        np.testing.assert_allclose(
            importances[1][kind], importances[0][kind], rtol=1e-5, atol=1e-9
        )


class _Logit(nn.Module):
    """A logistic regression returning one logit per epoch, for skorch's
    binary classifier."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4 * 16, 1)

    def forward(self, x):  # noqa: D102
        return self.fc(x.flatten(1))[:, 0]


def test_votes_are_the_estimators_predictions():
    """Votes were the class of highest probability, not ``predict``'s: with a
    decision threshold (skorch's NeuralNetBinaryClassifier) they differ."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4, 16)).astype(np.float32)
    y = np.arange(40) % 2
    torch.manual_seed(0)
    net = NeuralNetBinaryClassifier(
        _Logit, max_epochs=0, train_split=None, threshold=0.1
    ).initialize()
    predicted = net.predict(X)
    # The threshold changes some epochs' class.
    assert (predicted != net.predict_proba(X).argmax(axis=1)).any()
    groups = np.repeat(["a", "b", "c", "d"], 10)
    table = group_predictions(net, X, groups, y=y, vote="majority", verbose=False)
    for group in "abcd":
        mine = groups == group
        assert table.loc[group, "votes_1"] == pytest.approx(predicted[mine].mean())
        assert table.loc[group, "epoch_accuracy"] == pytest.approx(
            (predicted[mine] == y[mine]).mean()
        )


def test_unit_scores_do_not_depend_on_the_batch_size(small_eegnet, synthetic_arrays):
    """A unit's sensitivity is the mean over epochs of its contribution's
    magnitude: the magnitude of each batch's sum made it depend on the batches."""
    X, y = synthetic_arrays
    one, every = (
        pruning_curve(
            small_eegnet, X, "separable_elu", y, n_random=1, batch_size=batch_size
        ).importance
        for batch_size in (1, len(X))
    )
    scale = every["sensitivity"].max()  # the signed means nearly cancel
    for order in ("sensitivity", "attribution"):
        np.testing.assert_allclose(one[order], every[order], atol=1e-3 * scale)


def test_three_classes_score_the_class_predicted_against_the_commonest(
    synthetic_arrays,
):
    """Of three classes, the unpruned accuracy is the estimator's (the class
    of the highest score, not "any but the lowest", which two classes cannot
    tell apart), and chance the share of the commonest class, 25 of 40."""
    X, _ = synthetic_arrays
    y = np.repeat([0, 1, 2], [5, 10, 25])
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        RectifiedFilters, module__n_classes=3, classes=[0, 1, 2]
    ).initialize()
    network = as_network(net, info=mne.create_info(4, SFREQ, "eeg"))
    curve = pruning_curve(network, X, "relu", y, n_random=1)
    assert curve.accuracy["sensitivity"][0] == pytest.approx(net.score(X, y))
    assert curve.chance == pytest.approx(25 / 40)


def test_chance_is_the_share_of_the_most_frequent_class(small_eegnet, synthetic_arrays):
    """The accuracy of always predicting the commonest class, 20 of 25 epochs
    here: the share of the rarest was reported."""
    X, y = synthetic_arrays
    keep = np.r_[0:5, 20:40]  # 5 epochs of class 0, 20 of class 1
    curve = pruning_curve(small_eegnet, X[keep], "separable_elu", y[keep], n_random=1)
    assert curve.chance == pytest.approx(20 / 25)


def test_pruning_reads_y_as_labels_and_names_it(small_eegnet, synthetic_arrays):
    """y went through explain's targets: a label no class named "target", and
    an estimator trained on labels other than the events asked for target=y."""
    X, y = synthetic_arrays
    with pytest.raises(ValueError, match=r"y holds \['left'\], which are neither"):
        pruning_curve(small_eegnet, X, "separable_elu", ["left"] * len(X))
    # Integers are labels too, never indices (classes 1 and 2: 0 is none).
    shifted = EEGNetClassifier(max_epochs=1, verbose=False).fit(X, y + 1)
    with pytest.raises(ValueError, match=r"y holds \['0'\]"):
        pruning_curve(shifted, X, "separable_elu", y)
    events = np.column_stack([np.arange(len(X)), np.zeros(len(X), int), y + 5])
    epochs = mne.EpochsArray(X, mne.create_info(4, 128.0, "eeg"), events)
    other_labels = EEGNetClassifier(max_epochs=1, verbose=False).fit(epochs, 1 - y)
    with pytest.raises(ValueError, match="Pass the labels as y"):
        pruning_curve(other_labels, epochs, "separable_elu")


class _FirstSamples(nn.Module):
    """Logits that are each window's first sample: one class per channel."""

    def forward(self, x):
        return x[..., 0]


def test_decisions_of_windows_are_those_the_cropped_classifier_predicts():
    """The units of the class of the highest mean window logit were scored
    (spatial_patterns, temporal_filters), where the classifier predicts by the
    mean of its windows' probabilities (6 of 90 epochs of a 3-class one)."""
    # One window of [20, 0, 0] and three of [0, 1, 0]: mean logits favour
    # class 0 (5 against 0.75), mean probabilities class 1 (0.43 against 0.41).
    windows = torch.tensor([[20.0, 0.0, 0.0]] + [[0.0, 1.0, 0.0]] * 3)
    epochs = windows.T[None]  # (1 epoch, 3 channels, 4 samples)
    module = WindowAverage(_FirstSamples(), starts=range(4), n_samples=1)
    logits, predicted = _logits_and_prediction(module, epochs)
    torch.testing.assert_close(logits, module(epochs))
    assert logits.argmax(dim=1).item() == 0
    assert predicted.item() == module.class_probabilities(epochs).argmax(dim=1).item()
    assert predicted.item() == 1


def _alpha_and_beta_sensitivities(amplitude, phase):
    """UnitSensitivity of units (rows) in alpha and beta (columns), ratio 2."""
    return UnitSensitivity(
        layer="unit",
        bands={"alpha": (8, 13), "beta": (13, 30)},
        amplitude=np.array(amplitude),
        phase=np.array(phase),
        ratio=2.0,
    )


def test_a_unit_responding_at_float_noise_is_insensitive():
    """A unit tuned above every band responded at float noise (both under
    1e-5 standard deviations) and was called mixed."""
    result = _alpha_and_beta_sensitivities(
        [[3e-6, 8e-6], [1.7, 0.02]], [[6e-6, 2e-6], [0.6, 0.02]]
    )
    table = result.to_frame()
    assert table["class"].tolist() == [
        "insensitive",
        "insensitive",
        "amplitude",
        "mixed",
    ]
    summary = result.summary()
    assert summary["class"].tolist() == ["insensitive", "amplitude"]
    assert summary["band"].isna().tolist() == [True, False]


def test_the_response_floor_is_a_thousandth_of_the_spread():
    """As documented, a unit is insensitive when its two sensitivities sum to
    less than 0.001: 0.0009 is, 0.0011 is not (a floor of 1e-4 passed the
    test of float noise above)."""
    result = _alpha_and_beta_sensitivities([[6e-4, 8e-4]], [[3e-4, 3e-4]])
    assert result.to_frame()["class"].tolist() == ["insensitive", "amplitude"]


def test_classes_follow_the_ratio_and_the_sum_of_both_sensitivities():
    """One sensitivity must exceed the other by more than ``ratio`` (at the
    ratio exactly, a unit is mixed); a unit is insensitive only when both
    together stay under the floor, so one following the phase alone is a
    phase unit. The summary sums each kind over the bands."""
    result = _alpha_and_beta_sensitivities(
        [[2.0, 1.0], [1e-4, 0.0], [4.0, 0.5]], [[1.0, 2.5], [0.5, 0.0], [1.0, 0.5]]
    )
    assert result.to_frame()["class"].tolist() == [
        *("mixed", "phase"),
        *("phase", "insensitive"),  # 0 / 0 in beta
        *("amplitude", "mixed"),
    ]
    summary = result.summary()
    np.testing.assert_allclose(summary["amplitude_sensitivity"], [3.0, 1e-4, 4.5])
    np.testing.assert_allclose(summary["phase_sensitivity"], [3.5, 0.5, 1.5])
    assert summary["class"].tolist() == ["mixed", "phase", "amplitude"]
    assert summary["band"].tolist() == ["beta", "alpha", "alpha"]
    assert summary["band_class"].tolist() == ["phase", "phase", "amplitude"]
    # At the ratio exactly, either way round, a unit is mixed.
    at_ratio = _alpha_and_beta_sensitivities([[2.0, 1.0]], [[1.0, 2.0]])
    assert at_ratio.to_frame()["class"].tolist() == ["mixed", "mixed"]


def test_the_plot_shows_each_units_log2_ratio_band_by_band():
    """Rows are units, labelled with their class over all bands, and columns
    bands: three units of two bands tell the image from its transpose."""
    result = _alpha_and_beta_sensitivities(
        [[2.0, 1.0], [1e-4, 0.0], [4.0, 0.5]], [[1.0, 2.5], [0.5, 0.0], [1.0, 0.5]]
    )
    axes = result.plot(show=False).axes[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.log2(result.amplitude / result.phase)
    np.testing.assert_array_equal(axes.images[0].get_array().filled(np.nan), expected)
    labels = [label.get_text() for label in axes.get_yticklabels()]
    assert labels == ["0 (mixed)", "1 (phase)", "2 (amplitude)"]
    bands = [label.get_text() for label in axes.get_xticklabels()]
    assert bands == ["alpha\n8-13 Hz", "beta\n13-30 Hz"]


def test_each_row_of_the_table_holds_the_values_of_its_unit_and_band():
    """Read back by its ``unit`` and ``band``, each row holds that unit's
    sensitivities in that band: three units of two bands tell rows laid out
    unit by unit from rows laid out band by band."""
    result = _alpha_and_beta_sensitivities(
        [[2.0, 1.0], [1e-4, 0.0], [4.0, 0.5]], [[1.0, 2.5], [0.5, 0.0], [1.0, 0.5]]
    )
    bands = list(result.bands)
    for row in result.to_frame().itertuples():
        place = row.unit, bands.index(row.band)
        assert row.amplitude_sensitivity == result.amplitude[place]
        assert row.phase_sensitivity == result.phase[place]


@pytest.mark.parametrize(
    "frequency, band",
    [(0.5, (0.5, 2.0)), (1.0, (0.5, 4.0)), (31.5, (30.0, 32.0)), (31.5, (28.0, 32.0))],
)
def test_phase_perturbations_keep_the_energy_next_to_0_hz_and_nyquist(frequency, band):
    """The smooth factors spread a band by half its width: past 0 Hz or the
    Nyquist frequency, where a real signal folds the spread back as a change
    of amplitude. Phase perturbations of a sinusoid changed its energy by 0.14
    to 0.30 times as much as amplitude perturbations (0.00 in the alpha band),
    which an energy detector read as phase sensitivity."""
    sfreq = 64.0
    inputs = _input_data(_sinusoid_epochs(frequency, sfreq, 128))
    perturbed = _PerturbedData(inputs, {"band": band}, sfreq, 10, 0.5, seed=0)
    batches = list(perturbed.batches(20))
    energy = np.mean(batches[0].astype(float) ** 2, axis=-1)
    change = {"amplitude": 0.0, "phase": 0.0}
    for index, copy in enumerate(batches[1:]):
        _, kind = perturbed.variant(index)
        copy_energy = np.mean(copy.astype(float) ** 2, axis=-1)
        change[kind] += np.mean(np.abs(copy_energy - energy))
    assert change["phase"] < 0.01 * change["amplitude"]
