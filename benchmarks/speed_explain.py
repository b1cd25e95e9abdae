"""Speed and memory of ``mne_xai.explain`` on EEGBCI with EEGNet.

For every registered method: epochs explained per second through
``mne_xai.explain``, beside captum called directly on the same module, batch and
targets (where captum has the method), and beside plain forward passes: of the
network as trained (what a prediction costs) and of its inference graph (the
spatial-first arrangement of EEGNet's linear first block that non-layerwise
methods run on; the cost of the explanation in forward passes of the function
it actually evaluates). Then the peak memory (tracemalloc) of ``average=True``
over 20,000 vs 2,000 epochs.

Run (real data through MNE_DATA)::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/speed_explain.py

Timings are medians of ``--repeats`` runs after one warm-up run, ours, captum's
and the forward pass taking turns in alternating order, on ``--threads`` torch
threads. Both sides get the same chunking where captum
offers it (``internal_batch_size``, ``nt_samples_batch_size``), so they use
about the same memory. ``target="true"`` gives both sides the same targets; a
last row shows what ``target=None`` (predicted class) adds.
"""

import argparse
import tracemalloc
import warnings

import captum.attr as ca
import mne
import numpy as np
import torch
from _timing import interleaved_medians

from mne_xai import EEGNetClassifier, explain, list_methods
from mne_xai.datasets import load_eegbci
from mne_xai.estimators import UNPREDICTED_CLASSES
from mne_xai.inspect import learn_patterns

SMOOTHGRAD_SAMPLES = 20  # the defaults of smoothgrad and gradient_shap
NOISE_LEVEL = 0.5
IG_STEPS = 50
N_SHAP_BASELINES = 4


def captum_methods(module, inputs, target, shap_baselines):
    """Captum called directly, with the parameters our defaults use."""
    zeros = torch.zeros_like(inputs[:1])
    n = len(inputs)
    n_times = inputs.shape[-1]
    return {
        "saliency": lambda: ca.Saliency(module).attribute(inputs, target=target),
        "gradient_x_input": lambda: ca.InputXGradient(module).attribute(
            inputs, target=target
        ),
        "integrated_gradients": lambda: ca.IntegratedGradients(module).attribute(
            inputs,
            baselines=zeros,
            target=target,
            n_steps=IG_STEPS,
            internal_batch_size=n,
        ),
        # captum's noise level is one number for the batch (ours is per epoch).
        "smoothgrad": lambda: ca.NoiseTunnel(ca.Saliency(module)).attribute(
            inputs,
            nt_type="smoothgrad",
            nt_samples=SMOOTHGRAD_SAMPLES,
            nt_samples_batch_size=1,
            stdevs=NOISE_LEVEL * float(inputs.detach().std()),
            target=target,
        ),
        "gradient_shap": lambda: ca.GradientShap(module).attribute(
            inputs, baselines=zeros, n_samples=SMOOTHGRAD_SAMPLES, target=target
        ),
        "deeplift": lambda: ca.DeepLift(module).attribute(
            inputs, baselines=zeros, target=target
        ),
        "deeplift_shap": lambda: ca.DeepLiftShap(module).attribute(
            inputs, baselines=shap_baselines, target=target
        ),
        "occlusion": lambda: ca.Occlusion(module).attribute(
            inputs,
            sliding_window_shapes=(1, n_times),
            strides=(1, n_times),
            baselines=0.0,
            target=target,
        ),
        # captum's versions hook nn.ReLU only: on EEGNet they return the gradient.
        "guided_backprop": lambda: ca.GuidedBackprop(module).attribute(
            inputs, target=target
        ),
        "deconvolution": lambda: ca.Deconvolution(module).attribute(
            inputs, target=target
        ),
    }


def speed_table(args):
    epochs = load_eegbci(1, "hands_vs_feet", tmin=0.0, tmax=4.0, verbose=False)
    print(
        f"EEGBCI: {len(epochs)} epochs, {len(epochs.ch_names)} channels, "
        f"{len(epochs.times)} samples at {epochs.info['sfreq']:g} Hz"
    )
    estimator = EEGNetClassifier(
        max_epochs=5, batch_size=16, random_state=0, device=args.device, verbose=False
    )
    estimator.fit(epochs)
    batch = epochs[: args.n_epochs]
    n = len(batch)
    module = estimator.module_.eval()
    inputs = torch.as_tensor(
        batch.get_data(), dtype=torch.float32, device=args.device
    ).requires_grad_()
    target = torch.as_tensor(
        np.searchsorted(estimator.classes_, batch.events[:, 2]), device=args.device
    )
    shap_baselines = epochs[-N_SHAP_BASELINES:].get_data().astype(np.float32)
    captum = captum_methods(
        module, inputs, target, torch.as_tensor(shap_baselines, device=args.device)
    )

    graph = module.inference_graph()

    def forward():
        with torch.no_grad():
            module(inputs)

    def forward_graph():
        with torch.no_grad():
            graph(inputs)

    print(
        f"{n} epochs in one batch on {args.device}, {torch.get_num_threads()} "
        "torch thread(s), "
        f"medians of {args.repeats} interleaved runs. 'ours/captum' is a ratio of "
        "times (below 1: ours is faster); 'fwd net' and 'fwd graph' are the time "
        "of ours in plain forward passes of the batch through the network and "
        "through its inference graph\n"
    )
    header = (
        f"{'method':<26}{'ours ep/s':>10}{'captum ep/s':>13}"
        f"{'ours/captum':>13}{'fwd net':>9}{'fwd graph':>11}"
    )
    print(header)
    print("-" * len(header))
    rows = [(name, "true") for name in args.methods or list_methods()]
    if not args.methods or "saliency" in args.methods:
        rows.append(("saliency", None))
    for name, target_kind in rows:
        params = dict(target=target_kind)
        if name == "deeplift_shap":
            params["baseline"] = shap_baselines
        if name.startswith("pattern_"):
            params["patterns"] = learn_patterns(estimator, batch, verbose=False)
        label = name if target_kind else f"{name} (target=None)"

        def ours(name=name, params=params):
            explain(estimator, batch, name, batch_size=n, verbose=False, **params)

        functions = dict(ours=ours, forward=forward, forward_graph=forward_graph)
        if name in captum and target_kind:
            functions["captum"] = captum[name]
        try:
            medians = interleaved_medians(functions, args.repeats)
        except Exception as error:  # report and go on: one method must not stop all
            print(f"{label:<26}failed: {type(error).__name__}: {error}"[:120])
            continue
        captum_cell, ratio_cell = "-", "-"
        if "captum" in medians:
            captum_cell = f"{n / medians['captum']:.1f}"
            ratio_cell = f"{medians['ours'] / medians['captum']:.2f}"
        print(
            f"{label:<26}{n / medians['ours']:>10.1f}{captum_cell:>13}"
            f"{ratio_cell:>13}{medians['ours'] / medians['forward']:>9.1f}"
            f"{medians['ours'] / medians['forward_graph']:>11.1f}"
        )


def average_peak_memory(estimator, n_epochs, sfreq):
    """Peak traced memory of explain(average=True) over generated epochs."""
    shape = (n_epochs, estimator.n_channels_, estimator.n_times_)
    data = np.random.default_rng(0).standard_normal(shape)
    info = mne.create_info(estimator.n_channels_, sfreq, "eeg")
    epochs = mne.EpochsArray(data, info, verbose=False)
    del data
    tracemalloc.start()
    try:
        explain(estimator, epochs, "saliency", average=True, verbose=False)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def memory_table(args):
    n_channels, n_times, sfreq = args.memory_channels, 641, 160.0
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, n_channels, n_times)).astype(np.float32)
    y = np.repeat([0, 1], 16)
    info = mne.create_info(n_channels, sfreq, "eeg")
    estimator = EEGNetClassifier(
        max_epochs=1, verbose=False, random_state=0, info=info, device=args.device
    )
    estimator.fit(X, y)
    print(
        f"\nPeak traced memory of explain(average=True), saliency, generated "
        f"EpochsArray of {n_channels} channels x {n_times} samples "
        "(numpy allocations; torch's are not traced):"
    )
    peaks = {}
    for n_epochs in (2_000, 20_000):
        peaks[n_epochs] = average_peak_memory(estimator, n_epochs, sfreq)
        print(f"{n_epochs:>8} epochs: {peaks[n_epochs] / 1e6:8.2f} MB")
    ratio = peaks[20_000] / peaks[2_000]
    verdict = "within" if ratio <= 1.2 else "over"
    print(f"ratio 20,000 / 2,000: {ratio:.2f} ({verdict} 1.2)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-epochs", type=int, default=16, help="epochs per batch")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory-channels", type=int, default=8)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--methods", nargs="+", help="time only these methods (default: all)"
    )
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    torch.set_num_threads(args.threads)
    mne.set_log_level("WARNING")
    # captum warns at every DeepLift call that it sets hooks.
    warnings.filterwarnings("ignore", category=UserWarning, module="captum")
    # Advice about the maps and the short trainings (the memory table's network
    # trains one pass on noise), not about what is timed.
    warnings.filterwarnings("ignore", message="deconvolution's maps do not depend")
    warnings.filterwarnings("ignore", message=UNPREDICTED_CLASSES)
    speed_table(args)
    if not args.skip_memory:
        memory_table(args)


if __name__ == "__main__":
    main()
