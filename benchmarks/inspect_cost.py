"""Seconds per call of each ``mne_xai.inspect`` tool beside what a user writes by hand.

On EEGBCI (subject 1, imagined hands vs feet, 7-30 Hz, 0.5-2.5 s after the
cue: 45 epochs of 64 channels x 321 samples at 160 Hz) one EEGNet is trained
(``EEGNetClassifier``, 20 passes, ``random_state=0``). Then every public tool
of :mod:`mne_xai.inspect` is timed with sensible settings on all 45 epochs,
and beside it, in the same run, the closest thing a user would write by hand
in plain torch, numpy, scipy and MNE: a forward hook for activations (what
braindecode's ``capture_activations`` does), the covariance times the spatial
weights, ``scipy.signal.freqz`` over the kernels, a Hilbert-perturbation loop,
braindecode's amplitude gradients, a pruning loop of ``predict`` calls, a
plain Adam loop, ``predict_proba`` with ``argsort`` or a pandas ``groupby``,
``psd_array_welch``, captum. braindecode itself is not installed: it would
bring torchaudio 2.11 against our torch 2.13 (see DESIGN.md), so its two
functions are written out inline, as a user would copy them.

The hand-written side does the core computation only (no input checks, no
MNE containers, no progress bars); where a tool does more (rankings,
passbands, checks of the network), a footnote says what. Where no reasonable
hand-written equivalent exists the row shows "-" and a footnote says why.

Run (real data through MNE_DATA)::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/inspect_cost.py

Timings are medians of ``--repeats`` rounds after one warm-up call of each
side; within a round ours, the hand-written version and one forward pass of
the 45 epochs take turns, in reverse order every other round, so that both
sides share the machine's load. ``ours/fwd`` gives each tool's time in forward
passes of the 45 epochs through the trained network (raw input), a scale for
the rows without an anchor. ``--quick`` runs one round with small settings,
to check that the script runs (its figures mean little); ``--tools`` times
only the rows whose tool name starts with one of the given words (e.g.
``--tools spatial pruning``). The full run takes about 5 minutes on one core.
"""

import argparse
import time
import warnings

import captum.attr as ca
import matplotlib.pyplot as plt
import mne
import numpy as np
import pandas as pd
import scipy.signal
import torch
from _timing import interleaved_medians
from mne.time_frequency import psd_array_welch

from mne_xai import EEGNetClassifier, explain
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import (
    LogPowerSpectrum,
    SpectralClassifier,
    attribution_patterns,
    best_samples,
    explain_spectral_classifier,
    group_predictions,
    layer_activations,
    learn_patterns,
    make_group_scorer,
    maximize_activation,
    plot_temporal_filters,
    pruning_curve,
    spatial_patterns,
    temporal_filters,
    unit_sensitivity,
)

WINDOW = (0.5, 2.5)
LAYER = "separable_pool"  # EEGNet's last feature maps: 16 units read by the dense layer
ONE_BAND = {"mu": (8.0, 13.0)}
PHASE_STD = 0.5  # radians, unit_sensitivity's default
N_FREQS = 256
TARGET = "feet"
# Settings of the full run and of --quick.
SETTINGS = {
    "full": dict(
        train_epochs=20, n_draws=5, n_random=10, n_steps=300, spectral_epochs=10
    ),
    "quick": dict(train_epochs=3, n_draws=1, n_random=2, n_steps=20, spectral_epochs=2),
}

FOOTNOTES = {
    "a": "A forward hook on the layer, all 45 epochs in one pass: braindecode's "
    "capture_activations. Ours also checks the input (channels, rate, scale) "
    "and returns the events and metadata with the activations.",
    "b": "A forward pre-hook on the spatial convolution gives its input maps "
    "(the EEG through each temporal filter); per map np.cov over epochs and "
    "times, times the unit's weights, divided by the unit's variance. Ours "
    "also checks that the layers before are linear and keep the channels "
    "apart (a few one-epoch passes) and ranks the components by their Taylor "
    "contribution to the decision (one backward pass).",
    "c": "scipy.signal.freqz of each first-layer kernel on the same 256 "
    "frequencies, and the peak frequency. Ours also finds the layer by "
    "tracing the network and the -3 dB passband of each kernel.",
    "d": "As [c], plus each kernel's Taylor contribution |sum grad x output| "
    "from a forward hook and one torch.autograd.grad call.",
    "e": "The gain curves of [c] drawn with matplotlib (20 log10 |H| per "
    "kernel, a legend); both figures are closed after drawing (Agg).",
    "f": "mne_xai.explain (signed saliency, true class) and then the channel "
    "covariance (np.cov over epochs and times) times each map.",
    "g": "No hand-written equivalent a user would write: PatternNet's "
    "two-component estimator needs, for every unit of every convolution and "
    "dense layer, the covariance of its input patches with its output where "
    "the unit is active, on the network with batch norm folded in. The "
    "reference implementation (iNNvestigate's PatternComputer) is for "
    "TensorFlow/Keras; captum has no PatternNet.",
    "h": "No library or short loop for PatternAttribution in torch (a backward "
    "pass with the learned patterns in place of the weights, see [g]). Its "
    "cost in forward passes is in the last column.",
    "i": "One band (mu, 8-13 Hz), {n_draws} draw(s) of each kind, the same number of "
    "forward passes as ours: band-pass (Butterworth, sosfiltfilt), "
    "scipy.signal.hilbert, the analytic signal's envelope scaled by exp(s z) "
    "or its phase shifted by exp(i s z) with white z, the layer read by a "
    "hook, mean |change| over the unit's output std. Ours also low-passes the "
    "noise and balances the sizes of both kinds of perturbation.",
    "j": "braindecode's compute_amplitude_gradients(_for_X), written out: FFT "
    "amplitudes and phases of the epochs, back to time with torch.fft.irfft, "
    "the layer read by a hook, one backward pass per unit (16) of its mean "
    "output. The closest tool a user has for a band profile per unit, but a "
    "different measure (gradients, amplitude only). Ours: 4 bands (theta, "
    "alpha, beta, gamma) x {n_draws} draw(s) x 2 kinds, one forward pass "
    "for each and one clean.",
    "k": "Units ranked by the accuracy lost when each is zeroed alone (16 "
    "predict calls), then for that order and each random order, a forward "
    "hook zeroing the first k units and clf.predict, for k = 1..15. Ours "
    "(ablation='zero', {n_random} random orders as well) ranks by two Taylor "
    "orders from one backward pass and scores all 16 masks of an order in one "
    "forward pass.",
    "l": "A plain Adam loop on the input in volts: the target logit minus an "
    "L2 penalty, the same restarts, steps and learning rate (scaled to "
    "volts). Ours parameterizes the input by whitened Fourier coefficients "
    "(1/f prior), adds a smoothness penalty and anneals the learning rate, "
    "then returns MNE objects and the restarts' spectrum (Welch).",
    "m": "clf.predict_proba, argsort of each class's epochs, "
    "Epochs.compute_psd (Welch), the mean log power of the top k minus the "
    "rest. Ours ranks by log-odds from the logits and returns the top epochs "
    "and their spectra as MNE objects.",
    "n": "clf.predict_proba and a pandas groupby: mean probabilities, the "
    "vote, per-group epoch accuracy.",
    "o": "As [n] on groups of one class (run x class), then the fraction of "
    "groups voted right.",
    "p": "mne.time_frequency.psd_array_welch with the same segments (1 s, "
    "half overlap, n_fft 4 s), 1-40 Hz, 10 log10.",
    "q": "The spectra of [p] and an EEGNetClassifier fitted on them with an "
    "info at the same bins-per-second rate, the same passes and seed. The "
    "training dominates both.",
    "r": "The spectra of [p] and captum's DeepLift on the spectral network, "
    "from the mean training spectrum, for the true class. Ours returns an "
    "EpochsSpectrumArray on the training channels and frequencies.",
}


class HandWritten:
    """What a user writes by hand for each tool, on the fitted EEGNet and data."""

    def __init__(self, clf, epochs, device, settings):
        self.clf, self.epochs, self.device = clf, epochs, device
        self.settings = settings
        self.module = clf.module_.eval()
        self.layer = dict(self.module.named_modules())[LAYER]
        self.sfreq = epochs.info["sfreq"]
        self.classes = np.asarray(clf.classes_)
        self.y = epochs.events[:, 2]
        self.y_index = np.searchsorted(self.classes, self.y)
        self.freqs = np.linspace(0, self.sfreq / 2, N_FREQS)

    def tensor(self, data=None):
        data = self.epochs.get_data() if data is None else data
        return torch.from_numpy(data.astype(np.float32)).to(self.device)

    def forward(self):
        with torch.no_grad():
            self.module(self.tensor())

    # -- activations ------------------------------------------------------------
    def layer_output(self, inputs):
        """braindecode's capture_activations: the layer's output, by a forward hook."""
        captured = []
        handle = self.layer.register_forward_hook(
            lambda _module, _inputs, output: captured.append(output.detach())
        )
        try:
            with torch.no_grad():
                self.module(inputs)
        finally:
            handle.remove()
        return captured[0]

    def activations(self):
        return self.layer_output(self.tensor()).cpu().numpy()

    # -- spatial patterns -------------------------------------------------------
    def spatial_patterns(self):
        captured = []
        conv = self.module.spatial_conv
        handle = conv.register_forward_pre_hook(
            lambda _module, args: captured.append(args[0].detach())
        )
        try:
            with torch.no_grad():
                self.module(self.tensor())
        finally:
            handle.remove()
        maps = captured[0].double().cpu().numpy()  # (epochs, F1, channels, times)
        n_maps, n_channels = maps.shape[1], maps.shape[2]
        weights = conv.weight.detach().double().cpu().numpy()[:, 0, :, 0]
        per_map = len(weights) // n_maps
        patterns = []
        for index in range(n_maps):
            samples = maps[:, index].transpose(1, 0, 2).reshape(n_channels, -1)
            covariance = np.cov(samples)
            filters = weights[index * per_map : (index + 1) * per_map]
            projected = filters @ covariance
            variance = (projected * filters).sum(axis=1, keepdims=True)
            patterns.append(projected / variance)
        return np.concatenate(patterns)

    # -- temporal filters -------------------------------------------------------
    def kernels(self):
        weight = self.module.temporal_conv.weight.detach().double().cpu().numpy()
        return weight.reshape(len(weight), -1)

    def freqz(self):
        gains = np.array(
            [
                np.abs(scipy.signal.freqz(kernel, worN=self.freqs, fs=self.sfreq)[1])
                for kernel in self.kernels()
            ]
        )
        return gains, self.freqs[gains.argmax(axis=1)]

    def freqz_and_contributions(self):
        gains = self.freqz()
        captured = []
        handle = self.module.temporal_conv.register_forward_hook(
            lambda _module, _inputs, output: captured.append(output)
        )
        try:
            logits = self.module(self.tensor())
        finally:
            handle.remove()
        decision = logits.max(dim=1).values - logits.mean(dim=1)
        (gradient,) = torch.autograd.grad(decision.sum(), captured[0])
        output = captured[0].detach()
        contributions = (gradient * output).flatten(2).sum(dim=2).abs().mean(dim=0)
        return gains, contributions.cpu().numpy()

    def plot_freqz(self):
        gains, peaks = self.freqz()
        fig, ax = plt.subplots(figsize=(8.0, 4.0), layout="constrained")
        decibels = 20 * np.log10(gains / gains.max(axis=1, keepdims=True))
        for index, gain in enumerate(decibels):
            ax.plot(
                self.freqs, gain, label=f"kernel {index}: peak {peaks[index]:.1f} Hz"
            )
        ax.set(xlabel="Frequency (Hz)", ylabel="Gain (dB)", ylim=(-40, 3))
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.canvas.draw()
        plt.close(fig)

    # -- patterns of attributions -----------------------------------------------
    def attribution_patterns(self):
        maps = explain(
            self.clf,
            self.epochs,
            "saliency",
            target="true",
            absolute=False,
            verbose=False,
        ).get_data()
        data = self.epochs.get_data()
        covariance = np.cov(data.transpose(1, 0, 2).reshape(data.shape[1], -1))
        return np.einsum("ij,ejt->eit", covariance, maps)

    # -- amplitude and phase sensitivity ----------------------------------------
    def hilbert_sensitivity(self):
        """Perturb the mu band's envelope and phase, read the layer (one band)."""
        data = self.epochs.get_data()
        sos = scipy.signal.butter(
            4, ONE_BAND["mu"], btype="bandpass", fs=self.sfreq, output="sos"
        )
        analytic = scipy.signal.hilbert(scipy.signal.sosfiltfilt(sos, data, axis=-1))
        clean = self.layer_output(self.tensor(data)).double().cpu().numpy()
        clean = clean.reshape(len(clean), clean.shape[1], -1)
        spread = clean.std(axis=(0, 2))
        rng = np.random.default_rng(0)
        changes = np.zeros((2, clean.shape[1]))
        for kind_index, kind in enumerate(("amplitude", "phase")):
            for _ in range(self.settings["n_draws"]):
                noise = PHASE_STD * rng.standard_normal((len(data), 1, data.shape[2]))
                factor = np.exp(1j * noise) if kind == "phase" else np.exp(noise)
                perturbed = data + (analytic * (factor - 1)).real
                output = self.layer_output(self.tensor(perturbed)).double().cpu()
                output = output.numpy().reshape(clean.shape)
                changes[kind_index] += np.abs(output - clean).mean(axis=(0, 2))
        return changes / self.settings["n_draws"] / spread

    def amplitude_gradients(self):
        """braindecode's compute_amplitude_gradients_for_X, on the layer's units."""
        data = self.epochs.get_data().astype(np.float32)
        spectrum = np.fft.rfft(data, axis=2)
        amplitudes = torch.tensor(
            np.abs(spectrum), device=self.device, requires_grad=True
        )
        phases = torch.tensor(np.angle(spectrum), device=self.device)
        inputs = torch.fft.irfft(
            torch.polar(amplitudes, phases), n=data.shape[2], dim=2
        )
        captured = []
        handle = self.layer.register_forward_hook(
            lambda _module, _inputs, output: captured.append(output)
        )
        try:
            self.module(inputs)
        finally:
            handle.remove()
        output = captured[0]
        gradients = np.empty((output.shape[1], *spectrum.shape), np.float32)
        for unit in range(output.shape[1]):
            (gradient,) = torch.autograd.grad(
                output[:, unit].mean(), amplitudes, retain_graph=True
            )
            gradients[unit] = gradient.cpu().numpy()
        return gradients

    # -- pruning ----------------------------------------------------------------
    def predict_without(self, units):
        """Accuracy of clf.predict with the given units of the layer zeroed."""

        def zero(_module, _inputs, output):
            output = output.clone()
            output[:, units] = 0
            return output

        handle = self.layer.register_forward_hook(zero)
        try:
            return float(np.mean(self.clf.predict(self.epochs) == self.y))
        finally:
            handle.remove()

    def pruning_curves(self):
        n_units = self.layer_output(self.tensor()[:1]).shape[1]
        alone = [self.predict_without([unit]) for unit in range(n_units)]
        rng = np.random.default_rng(0)
        orders = [np.argsort(alone, kind="stable")] + [
            rng.permutation(n_units) for _ in range(self.settings["n_random"])
        ]
        return [
            [self.predict_without(list(order[:k])) for k in range(1, n_units)]
            for order in orders
        ]

    # -- activation maximization ------------------------------------------------
    def maximize(self, n_restarts=5, lr=0.1, norm_penalty=1.0):
        data_std = float(self.clf.data_std_)
        target = int(np.flatnonzero(self.classes == self.epochs.event_id[TARGET])[0])
        generator = torch.Generator().manual_seed(0)
        shape = (n_restarts, *self.epochs.get_data().shape[1:])
        inputs = (torch.randn(shape, generator=generator) * data_std).to(self.device)
        inputs.requires_grad_()
        optimizer = torch.optim.Adam([inputs], lr=lr * data_std)
        for _ in range(self.settings["n_steps"]):
            logit = self.module(inputs)[:, target]
            penalty = (inputs / data_std).pow(2).mean(dim=(1, 2))
            loss = (norm_penalty * penalty - logit).sum()
            (inputs.grad,) = torch.autograd.grad(loss, [inputs])
            optimizer.step()
        return inputs.detach()

    # -- best samples and votes -------------------------------------------------
    def best_samples(self, k):
        proba = self.clf.predict_proba(self.epochs)
        psd = self.epochs.compute_psd(method="welch", verbose=False)
        log_power = 10 * np.log10(psd.get_data())
        spectra = {}
        for index, label in enumerate(self.classes):
            candidates = np.flatnonzero(self.y == label)
            ranked = candidates[np.argsort(-proba[candidates, index], kind="stable")]
            spectra[label] = log_power[ranked[:k]].mean(axis=0) - log_power[
                ranked[k:]
            ].mean(axis=0)
        return spectra

    def votes(self, groups):
        proba = self.clf.predict_proba(self.epochs)
        frame = pd.DataFrame(proba, columns=self.classes)
        frame["group"] = groups
        frame["right"] = self.classes[proba.argmax(axis=1)] == self.y
        frame["true"] = self.y
        table = frame.groupby("group").agg(
            {**{label: "mean" for label in self.classes}, "right": "mean"}
        )
        table["predicted"] = self.classes[
            table[list(self.classes)].to_numpy().argmax(1)
        ]
        table["true"] = frame.groupby("group")["true"].first()
        return table

    def group_accuracy(self, groups):
        table = self.votes(groups)
        return float((table["predicted"] == table["true"]).mean())

    # -- spectral input ---------------------------------------------------------
    def log_power(self):
        n_per_seg = int(round(self.sfreq))
        power, _ = psd_array_welch(
            self.epochs.get_data(),
            self.sfreq,
            fmin=1.0,
            fmax=40.0,
            n_fft=4 * n_per_seg,
            n_per_seg=n_per_seg,
            n_overlap=n_per_seg // 2,
            verbose=False,
        )
        return 10 * np.log10(power)

    def spectral_fit(self, network_sfreq):
        info = mne.create_info(self.epochs.ch_names, network_sfreq, "eeg")
        EEGNetClassifier(
            max_epochs=self.settings["spectral_epochs"],
            random_state=0,
            info=info,
            device=self.device,
            verbose=False,
        ).fit(self.log_power(), self.y)

    def spectral_deeplift(self, spectral):
        network = spectral.estimator_
        spectra = torch.from_numpy(self.log_power().astype(np.float32))
        baseline = torch.as_tensor(network.data_mean_, dtype=torch.float32)[None]
        target = torch.as_tensor(np.searchsorted(network.classes_, self.y))
        return ca.DeepLift(network.module_.eval()).attribute(
            spectra.to(self.device),
            baselines=baseline.to(self.device),
            target=target.to(self.device),
        )


def rows(clf, epochs, hand, settings, device):
    """(tool, ours, hand-written or None, footnote) of every timed call."""
    run = np.arange(len(epochs)) // 15  # runs 6, 10 and 14 hold 15 trials each
    metadata = pd.DataFrame(
        {"run": run, "block": [f"{r}-{c}" for r, c in zip(run, hand.y, strict=True)]}
    )
    labelled = epochs.copy()
    labelled.metadata = metadata
    patterns = learn_patterns(clf, epochs, verbose=False)
    filters = temporal_filters(clf, verbose=False)
    n_draws, n_random = settings["n_draws"], settings["n_random"]
    spectral_network = EEGNetClassifier(
        max_epochs=settings["spectral_epochs"],
        random_state=0,
        device=device,
        verbose=False,
    )
    spectral = SpectralClassifier(spectral_network).fit(epochs)

    def closed(fig):
        fig.canvas.draw()
        plt.close(fig)

    quiet = dict(verbose=False)
    return [
        (
            f"layer_activations({LAYER!r})",
            lambda: layer_activations(clf, epochs, LAYER, **quiet),
            hand.activations,
            "a",
        ),
        (
            "spatial_patterns",
            lambda: spatial_patterns(clf, epochs, **quiet),
            hand.spatial_patterns,
            "b",
        ),
        (
            "temporal_filters (no epochs)",
            lambda: temporal_filters(clf, **quiet),
            hand.freqz,
            "c",
        ),
        (
            "temporal_filters (epochs: contributions)",
            lambda: temporal_filters(clf, epochs, **quiet),
            hand.freqz_and_contributions,
            "d",
        ),
        (
            "plot_temporal_filters",
            lambda: closed(plot_temporal_filters(filters, show=False)),
            hand.plot_freqz,
            "e",
        ),
        (
            "attribution_patterns (saliency, per epoch)",
            lambda: attribution_patterns(
                clf, epochs, "saliency", target="true", average=False, **quiet
            ),
            hand.attribution_patterns,
            "f",
        ),
        (
            "learn_patterns",
            lambda: learn_patterns(clf, epochs, **quiet),
            None,
            "g",
        ),
        (
            "explain 'pattern_attribution'",
            lambda: explain(
                clf,
                epochs,
                "pattern_attribution",
                target="true",
                patterns=patterns,
                **quiet,
            ),
            None,
            "h",
        ),
        (
            f"unit_sensitivity (mu band, {n_draws} draws)",
            lambda: unit_sensitivity(
                clf,
                epochs,
                LAYER,
                bands=ONE_BAND,
                n_draws=n_draws,
                random_state=0,
                **quiet,
            ),
            hand.hilbert_sensitivity,
            "i",
        ),
        (
            f"unit_sensitivity (4 bands, {n_draws} draws)",
            lambda: unit_sensitivity(
                clf, epochs, LAYER, n_draws=n_draws, random_state=0, **quiet
            ),
            hand.amplitude_gradients,
            "j",
        ),
        (
            f"pruning_curve (zero, {n_random} random)",
            lambda: pruning_curve(
                clf,
                epochs,
                LAYER,
                ablation="zero",
                n_random=n_random,
                random_state=0,
                **quiet,
            ),
            hand.pruning_curves,
            "k",
        ),
        (
            f"maximize_activation (5 x {settings['n_steps']} steps)",
            lambda: maximize_activation(
                clf, TARGET, n_steps=settings["n_steps"], random_state=0, **quiet
            ),
            hand.maximize,
            "l",
        ),
        (
            "best_samples (k=5)",
            lambda: best_samples(clf, epochs, k=5, **quiet),
            lambda: hand.best_samples(5),
            "m",
        ),
        (
            "group_predictions ('run')",
            lambda: group_predictions(clf, labelled, "run", **quiet),
            lambda: hand.votes(metadata["run"]),
            "n",
        ),
        (
            "make_group_scorer ('block') call",
            lambda: make_group_scorer("block")(clf, labelled),
            lambda: hand.group_accuracy(metadata["block"]),
            "o",
        ),
        (
            "LogPowerSpectrum fit_transform",
            lambda: LogPowerSpectrum().fit_transform(epochs),
            hand.log_power,
            "p",
        ),
        (
            f"SpectralClassifier fit ({settings['spectral_epochs']} passes)",
            lambda: SpectralClassifier(spectral_network).fit(epochs),
            lambda: hand.spectral_fit(spectral.network_sfreq_),
            "q",
        ),
        (
            "explain_spectral_classifier (deeplift)",
            lambda: explain_spectral_classifier(
                spectral, epochs, "deeplift", target="true", **quiet
            ),
            lambda: hand.spectral_deeplift(spectral),
            "r",
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu", help='"cpu" or "cuda[:index]"')
    parser.add_argument(
        "--quick", action="store_true", help="one round, small settings: a smoke run"
    )
    parser.add_argument(
        "--tools", nargs="+", help="time only the tools whose name starts so"
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(
            f"--device {args.device} was requested but CUDA is not available to "
            f"this torch ({torch.__version__}); use --device cpu."
        )
    device = torch.device(args.device)
    repeats = 1 if args.quick else args.repeats
    if repeats < 1:
        parser.error("--repeats must be at least 1.")
    settings = SETTINGS["quick" if args.quick else "full"]
    torch.set_num_threads(args.threads)
    plt.switch_backend("agg")  # figures are drawn and timed, never shown
    mne.set_log_level("WARNING")
    # captum warns at every DeepLift call that it sets hooks.
    warnings.filterwarnings("ignore", category=UserWarning, module="captum")

    epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(*WINDOW)
    clf = EEGNetClassifier(
        max_epochs=settings["train_epochs"],
        batch_size=8,
        lr=3e-3,
        random_state=0,
        device=device,
        verbose=False,
    )
    start = time.perf_counter()
    clf.fit(epochs)
    train_seconds = time.perf_counter() - start
    hand = HandWritten(clf, epochs, device, settings)
    print(
        f"EEGBCI subject 1, hands vs feet, 7-30 Hz, {WINDOW[0]}-{WINDOW[1]} s: "
        f"{len(epochs)} epochs x {len(epochs.ch_names)} channels x "
        f"{len(epochs.times)} samples at {epochs.info['sfreq']:g} Hz"
    )
    print(
        f"EEGNetClassifier: {settings['train_epochs']} passes, batch 8, lr 3e-3, "
        f"random_state 0; trained in {train_seconds:.1f} s, training accuracy "
        f"{clf.score(epochs):.2f}. Unit tools on layer {LAYER!r}."
    )
    print(
        f"torch {torch.__version__}, mne {mne.__version__}, device {device}, "
        f"{torch.get_num_threads()} torch thread(s); medians of {repeats} "
        f"interleaved round(s) after a warm-up{' (--quick)' if args.quick else ''}."
    )
    print(
        "'ours/hand' is a ratio of times (below 1: ours is faster); 'ours/fwd' is "
        "ours in forward passes of the 45 epochs. Letters point to the notes.\n"
    )
    header = (
        f"{'tool':<44}{'ours (s)':>10}{'hand (s)':>10}{'ours/hand':>11}"
        f"{'ours/fwd':>10}  note"
    )
    print(header)
    print("-" * len(header))
    used = []
    for tool, ours, by_hand, note in rows(clf, epochs, hand, settings, device):
        if args.tools and not any(tool.startswith(name) for name in args.tools):
            continue
        functions = dict(ours=ours, forward=hand.forward)
        if by_hand is not None:
            functions["hand"] = by_hand
        try:
            medians = interleaved_medians(functions, repeats)
        except Exception as error:  # report and go on: one tool must not stop all
            print(f"{tool:<44}failed: {type(error).__name__}: {error}"[:160])
            continue
        hand_cell, ratio_cell = "-", "-"
        if "hand" in medians:
            hand_cell = f"{medians['hand']:.4f}"
            ratio_cell = f"{medians['ours'] / medians['hand']:.2f}"
        print(
            f"{tool:<44}{medians['ours']:>10.4f}{hand_cell:>10}{ratio_cell:>11}"
            f"{medians['ours'] / medians['forward']:>10.1f}  [{note}]",
            flush=True,
        )
        used.append(note)
    print("\nHand-written anchors (same run, same data and network):")
    for note in used:
        print(f"[{note}] {FOOTNOTES[note].format(**settings)}")


if __name__ == "__main__":
    main()
