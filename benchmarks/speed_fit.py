"""Training speed of the estimators against their anchors, measured in one run.

1. Seconds per training epoch of EEGNetClassifier against a bare skorch
   NeuralNetClassifier with the same module, data and optimizer, and as it
   trains (no schedule, no time shifts: the estimator's default shifts cost
   about 10% more) (goal: overhead within 5%).
2. ``cross_val_score`` on Epochs (scikit-learn hands each fold over as a list of
   one-epoch Epochs) against the same folds as arrays (goal: within 10%).
3. ``fit`` and ``predict_proba`` of EEGNetClassifier with EEGNet's fast paths
   (its first block trained spatial filters first, predictions through its
   inference graph) against the network computed as its layers are written
   (an EEGNet subclass with a forward of its own takes neither), and whether
   the two fitted models predict the same.

Runs are interleaved and repeated; medians and ratios are printed, since these
machines are noisy. Usage: ``MNE_DATA=... python benchmarks/speed_fit.py``.
"""

import argparse
from functools import partial

import mne
import numpy as np
import torch
from _timing import interleaved_medians
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from skorch import NeuralNetClassifier

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.models import EEGNet


class EEGNetOfItsLayers(EEGNet):
    """EEGNet with a forward of its own, which takes neither fast path."""

    def forward(self, x):
        return super().forward(x)


def per_epoch_seconds(X, y, sfreq, n_epochs, repeats, device):
    ours = EEGNetClassifier(
        max_epochs=n_epochs,
        batch_size=16,
        lr_schedule=None,
        time_shift=0.0,  # bare skorch does not augment
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
    return interleaved_medians(runs, repeats)


def fast_path_seconds(epochs, repeats, n_epochs, device):
    """Median seconds of fit and predict_proba, fast paths and plain; predictions."""
    fitted = {}

    def fit(name, module):
        clf = EEGNetClassifier(
            module, max_epochs=n_epochs, random_state=0, device=device, verbose=False
        )
        fitted[name] = clf.fit(epochs)

    names = {"fast paths": EEGNet, "plain layers": EEGNetOfItsLayers}
    fit_seconds = interleaved_medians(
        {name: partial(fit, name, module) for name, module in names.items()}, repeats
    )
    proba = {name: clf.predict_proba(epochs) for name, clf in fitted.items()}
    predict_seconds = interleaved_medians(
        {name: partial(clf.predict_proba, epochs) for name, clf in fitted.items()},
        repeats,
    )
    return fit_seconds, predict_seconds, proba


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--epochs", type=int, default=10, help="training epochs per fit"
    )
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    parser.add_argument(
        "--only-fast-paths",
        action="store_true",
        help="measure EEGNet's fast paths only (part 3)",
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
    fit_seconds, predict_seconds, proba = fast_path_seconds(
        epochs, args.repeats, args.epochs, args.device
    )
    print(f"{'EEGNetClassifier, seconds':<36}{'fit':>10}{'predict_proba':>15}")
    for name, seconds in fit_seconds.items():
        print(f"  {name:<34}{seconds:>10.2f}{predict_seconds[name]:>15.3f}")
    fast, plain = proba.values()
    print(
        f"  {'plain / fast':<34}"
        f"{fit_seconds['plain layers'] / fit_seconds['fast paths']:>10.2f}"
        f"{predict_seconds['plain layers'] / predict_seconds['fast paths']:>15.2f}"
    )
    print(
        f"  same predictions: {np.array_equal(fast.argmax(1), plain.argmax(1))}; "
        f"largest difference of probabilities {np.abs(fast - plain).max():.1e}\n"
    )
    if args.only_fast_paths:
        return
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
