"""Speed of the faithfulness measures of ``mne_xai.evaluate``.

1. A 64-step deletion curve on EEGBCI (64 channels, 2 s at 160 Hz) with
   EEGNet, in epochs per second, beside an in-run plain loop
   (``plain_deletion_loop``: per epoch, its 64 cumulatively zeroed copies
   scored in one batch) and quantus's ``PixelFlipping`` on the same module,
   data, attributions and baseline (zeros) when quantus is installed.
2. Cui et al.'s perturbation test (5 patch lengths x 100 patches, plus one
   perturbation per channel) on their input size (30 channels, 3 s at 128 Hz)
   with EEGNet and InterpretableCNN, in milliseconds per epoch, beside an
   in-run re-implementation of their loop (``cui_loop``) and their published
   4.1 s and 0.18 s per epoch, with the speed-up over each.

Run (real data through MNE_DATA)::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/speed_evaluate.py

Timings are medians of ``--repeats`` runs after one warm-up run (which also
measures each network's first block once), on ``--threads`` torch threads;
``--skip-deletion`` runs part 2 only.
"""

import argparse
import copy
import statistics
import time
import warnings

import mne
import numpy as np
import torch
from _timing import synchronize

from mne_xai import EEGNetClassifier, InterpretableCNNClassifier, explain
from mne_xai.datasets import load_eegbci
from mne_xai.estimators import UNPREDICTED_CLASSES
from mne_xai.evaluate.faithfulness import (
    channel_perturbation_test,
    deletion_curve,
    perturbation_test,
)

N_STEPS = 64
CUI_SECONDS_PER_EPOCH = {"EEGNet": 4.1, "InterpretableCNN": 0.18}
CUI_SHAPE = (30, 384, 128.0)  # channels, samples, Hz
PATCH_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5)
N_PATCHES = 100


def median_seconds(function, repeats):
    function()  # warm-up
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        function()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def quantus_pixel_flipping(module, data, attribution, target, device):
    try:
        import quantus
    except ImportError:
        return None
    n_features = data[0].size
    metric = quantus.PixelFlipping(
        features_in_step=-(-n_features // N_STEPS),
        perturb_baseline="black",
        normalise=False,
        abs=False,
        disable_warnings=True,
    )
    return lambda: metric(
        model=module,
        x_batch=data,
        y_batch=target,
        a_batch=attribution,
        device=device,
        batch_size=64,
        channel_first=True,
        softmax=False,
    )


def plain_deletion_loop(module, data, attribution, target, device):
    """A deletion curve as one would write it in torch: the anchor of part 1.

    Per epoch, its values are ordered by attribution (most relevant first),
    the intact epoch and its ``N_STEPS`` copies, each with a further share of
    the values zeroed, are scored in one batch, and the target's logit kept.
    """
    module = module.to(device).eval()
    n_features = data[0].size
    bounds = np.linspace(0, n_features, N_STEPS + 1).round().astype(int)
    with torch.no_grad():
        for epoch, maps, label in zip(data, attribution, target, strict=True):
            order = np.argsort(-maps.ravel(), kind="stable")
            copies = np.repeat(epoch.reshape(1, -1), N_STEPS + 1, axis=0)
            for step in range(1, N_STEPS + 1):
                copies[step:, order[bounds[step - 1] : bounds[step]]] = 0
            batch = torch.from_numpy(copies.reshape(-1, *epoch.shape)).to(device)
            module(batch)[:, label].cpu().numpy()


def cui_loop(module, data, attribution, target, device):
    """Cui et al.'s perturbation test as their published code runs it.

    Their procedure, re-implemented: the network in float64 without
    gradients; per patch length, 100 perturbed copies of the epoch built one
    by one in numpy and scored in one batch, and a correlation; then the
    copies with one channel zeroed, in one batch. (Their hooks that make batch
    norm use the statistics of the whole batch are left out: batch norm here
    is in evaluation mode.)
    """
    module = copy.deepcopy(module).to(device).double().eval()
    rng = np.random.default_rng(0)
    n_channels, n_times = data.shape[1:]
    with torch.no_grad():
        for epoch, maps, label in zip(data, attribution, target, strict=True):
            epoch = epoch.astype(np.float64)
            score = module(torch.from_numpy(epoch[None]).to(device))[0, label]
            score = score.cpu().numpy()
            for fraction in PATCH_FRACTIONS:
                length = 2 * int(np.round(fraction * n_times / 2))
                channels = rng.integers(n_channels, size=N_PATCHES)
                starts = rng.integers(n_times - length, size=N_PATCHES)
                relevance = np.empty(N_PATCHES)
                copies = np.zeros((N_PATCHES, n_channels, n_times))
                for k, (channel, start) in enumerate(
                    zip(channels, starts, strict=True)
                ):
                    patch = slice(start, start + length)
                    relevance[k] = maps[channel, patch].sum()
                    copies[k] = epoch
                    copies[k, channel, patch] = 0
                scores = module(torch.from_numpy(copies).to(device))[:, label]
                scores = scores.cpu().numpy()
                np.corrcoef(relevance, score - scores)
            copies = np.repeat(epoch[None], n_channels, axis=0)
            copies[np.arange(n_channels), np.arange(n_channels)] = 0
            scores = module(torch.from_numpy(copies).to(device))[:, label]
            scores = scores.cpu().numpy()
            np.corrcoef(maps.mean(axis=1), score - scores)


def deletion_benchmark(args):
    epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
    estimator = EEGNetClassifier(
        max_epochs=2, random_state=0, device=args.device, verbose=False
    ).fit(epochs)
    attribution = explain(estimator, epochs, "gradient_x_input", verbose=False)
    n_epochs = len(epochs)
    ours = median_seconds(
        lambda: deletion_curve(
            estimator, epochs, attribution=attribution, n_steps=N_STEPS, verbose=False
        ),
        args.repeats,
    )
    rows = [("mne_xai deletion_curve", n_epochs / ours)]
    module = estimator.module_.eval()
    data = epochs.get_data().astype(np.float32)
    maps = attribution.get_data().astype(np.float32)
    target = estimator.predict_proba(epochs).argmax(axis=1)
    plain = median_seconds(
        lambda: plain_deletion_loop(module, data, maps, target, args.device),
        args.repeats,
    )
    rows.append(("plain loop, one batch/epoch", n_epochs / plain))
    quantus_run = quantus_pixel_flipping(module, data, maps, target, args.device)
    if quantus_run is None:
        print("quantus is not installed: `pip install quantus` to compare.")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds = median_seconds(quantus_run, args.repeats)
        rows.append(("quantus PixelFlipping", n_epochs / seconds))
    print(
        f"\n{N_STEPS}-step deletion curve, EEGBCI {data.shape[1]} ch x "
        f"{data.shape[2]} samples, EEGNet, {n_epochs} epochs, on {args.device}"
    )
    print(f"{'':28s}{'epochs/s':>10s}{'ratio':>8s}")
    for name, rate in rows:
        print(f"{name:28s}{rate:10.1f}{rows[0][1] / rate:8.1f}")


def perturbation_benchmark(args):
    n_channels, n_times, sfreq = CUI_SHAPE
    info = mne.create_info(n_channels, sfreq, "eeg")
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((args.n_epochs, n_channels, n_times)) * 1e-5).astype(
        np.float32
    )
    labels = np.tile([0, 1], args.n_epochs // 2 + 1)[: args.n_epochs]
    print(
        f"\nPerturbation test (5 x {N_PATCHES} patches + {n_channels} channels), "
        f"{n_channels} ch x {n_times} samples, {args.n_epochs} epochs, on "
        f"{args.device}, ms per epoch"
    )
    print(
        f"{'':18s}{'ours':>8s}{'Cui loop':>10s}{'ratio':>8s}{'Cui paper':>11s}"
        f"{'ratio':>8s}"
    )
    for name, classifier in (
        ("EEGNet", EEGNetClassifier),
        ("InterpretableCNN", InterpretableCNNClassifier),
    ):
        estimator = classifier(
            max_epochs=1, random_state=0, verbose=False, info=info, device=args.device
        )
        estimator.fit(data, labels)
        ours, loop = perturbation_seconds(estimator, data, args)
        paper = CUI_SECONDS_PER_EPOCH[name]
        print(
            f"{name:18s}{ours * 1e3:8.2f}{loop * 1e3:10.1f}{loop / ours:8.1f}"
            f"{paper * 1e3:11.0f}{paper / ours:8.1f}"
        )


def perturbation_seconds(estimator, data, args):
    """Seconds per epoch of ours and of Cui et al.'s loop."""
    attribution = explain(estimator, data, "gradient_x_input", verbose=False)

    def ours():
        perturbation_test(
            estimator, data, attribution=attribution, random_state=0, verbose=False
        )
        channel_perturbation_test(
            estimator, data, attribution=attribution, verbose=False
        )

    seconds = median_seconds(ours, args.repeats) / len(data)
    module = estimator.module_.eval()
    target = estimator.predict_proba(data).argmax(axis=1)
    maps = attribution.get_data()
    n_loop = args.n_loop_epochs
    loop = median_seconds(
        lambda: cui_loop(
            module, data[:n_loop], maps[:n_loop], target[:n_loop], args.device
        ),
        args.repeats,
    )
    return seconds, loop / n_loop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-epochs", type=int, default=32)
    parser.add_argument("--n-loop-epochs", type=int, default=2)
    parser.add_argument("--skip-deletion", action="store_true")
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    torch.set_num_threads(args.threads)
    # The networks train one or two passes (the second on noise): what is timed
    # is the measures' cost, not what they learned, so fit's advice is noise.
    warnings.filterwarnings("ignore", message=UNPREDICTED_CLASSES)
    if not args.skip_deletion:
        deletion_benchmark(args)
    perturbation_benchmark(args)


if __name__ == "__main__":
    main()
