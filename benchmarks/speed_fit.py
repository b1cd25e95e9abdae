"""Training speed of the estimators against their anchors, measured in one run.

1. Seconds per training epoch of EEGNetClassifier against a bare skorch
   NeuralNetClassifier with the same module, data and optimizer (goal: overhead
   within 5%).
2. ``cross_val_score`` on Epochs (scikit-learn hands each fold over as a list of
   one-epoch Epochs) against the same folds as arrays (goal: within 10%).

Runs are interleaved and repeated; medians and ratios are printed, since these
machines are noisy. Usage: ``MNE_DATA=... python benchmarks/speed_fit.py``.
"""

import argparse
import time

import mne
import numpy as np
import torch
from _timing import synchronize
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from skorch import NeuralNetClassifier

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.models import EEGNet


def _timed(function):
    synchronize()
    start = time.perf_counter()
    function()
    synchronize()
    return time.perf_counter() - start


def per_epoch_seconds(X, y, sfreq, n_epochs, repeats, device):
    ours = EEGNetClassifier(
        max_epochs=n_epochs,
        batch_size=16,
        lr_schedule=None,
        random_state=0,
        device=device,
        verbose=False,
    )
    bare = NeuralNetClassifier(
        EEGNet,
        module__n_channels=X.shape[1],
        module__n_classes=2,
        module__n_times=X.shape[2],
        module__sfreq=sfreq,
        module__input_scale=1 / X.std(),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=n_epochs,
        batch_size=16,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=False,
    )
    y_index = np.searchsorted(np.unique(y), y)
    info = mne.create_info(X.shape[1], sfreq, "eeg")
    ours.set_params(info=info)
    nets = {"EEGNetClassifier": (ours, y), "bare skorch": (bare, y_index)}
    durations = {name: [] for name in nets}
    for repeat in range(repeats + 1):  # the first round warms up
        for name in list(nets) if repeat % 2 == 0 else list(nets)[::-1]:
            net, labels = nets[name]
            net.fit(X, labels)
            if repeat:
                # skorch's EpochTimer: the time of each training epoch.
                durations[name].extend(net.history[:, "dur"])
    return {name: np.median(values) for name, values in durations.items()}


def _interleaved_medians(runs, repeats):
    """Median seconds of each run, after a warm-up, alternating which goes first."""
    for run in runs.values():
        run()
    timings = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            timings[name].append(_timed(runs[name]))
    return {name: np.median(values) for name, values in timings.items()}


def cross_validation_seconds(epochs, repeats, n_epochs, device):
    on_epochs = EEGNetClassifier(
        max_epochs=n_epochs, batch_size=16, random_state=0, device=device, verbose=False
    )
    # The same network as on Epochs: the info gives the kernels the sampling rate.
    on_arrays = clone(on_epochs).set_params(info=epochs.info)
    X, y = epochs.get_data(), epochs.events[:, 2]
    cv = StratifiedKFold(5)
    runs = {
        "Epochs": lambda: cross_val_score(on_epochs, epochs, y, cv=cv),
        "arrays": lambda: cross_val_score(on_arrays, X, y, cv=cv),
    }
    return _interleaved_medians(runs, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--epochs", type=int, default=10, help="training epochs per fit"
    )
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    mne.set_log_level("WARNING")
    epochs = load_eegbci(1, "hands_vs_feet").crop(0, 4)
    X = epochs.get_data().astype(np.float32)
    y = epochs.events[:, 2]
    print(
        f"EEGBCI subject 1 hands vs feet: {X.shape[0]} epochs x {X.shape[1]} channels "
        f"x {X.shape[2]} samples; device {args.device}; torch threads "
        f"{torch.get_num_threads()}; "
        f"medians of {args.repeats} interleaved runs after a warm-up.\n"
    )
    fit = per_epoch_seconds(
        X, y, epochs.info["sfreq"], args.epochs, args.repeats, args.device
    )
    ratio = fit["EEGNetClassifier"] / fit["bare skorch"]
    print(f"{'seconds per training epoch':<36}{'median':>10}")
    for name, seconds in fit.items():
        print(f"  {name:<34}{seconds:>10.4f}")
    print(f"  {'ratio (goal <= 1.05)':<34}{ratio:>10.3f}\n")

    cv = cross_validation_seconds(epochs, args.repeats, args.epochs, args.device)
    ratio = cv["Epochs"] / cv["arrays"]
    print(f"{'cross_val_score, 5 folds, seconds':<36}{'median':>10}")
    for name, seconds in cv.items():
        print(f"  {name:<34}{seconds:>10.3f}")
    print(f"  {'ratio (goal <= 1.10)':<34}{ratio:>10.3f}")


if __name__ == "__main__":
    main()
