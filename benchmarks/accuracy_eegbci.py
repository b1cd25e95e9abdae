"""Accuracy on EEGBCI hands vs feet with the protocol of MNE's CSP example.

Protocol (``examples/decoding/decoding_csp_eeg.py`` of MNE-Python): subject 1,
runs 6, 10 and 14 (imagined hands vs feet), 7-30 Hz FIR band-pass, EEG epochs
from -1 to 4 s without baseline, and ``ShuffleSplit(10, test_size=0.2,
random_state=42)``. CSP+LDA sees the epochs cropped to 1-2 s, as in the example.
Every method is scored on the same ten folds, in one run.

The networks use cropped training (:class:`mne_xai.cropping.CroppedClassifier`):
each training trial gives overlapping 1 s windows from the 0-4 s imagery
period, and a test trial is predicted by averaging the class probabilities of
its windows, which uses no test label. CSP+LDA is also run on the same
windows, to show what this protocol is worth without a network. A row with
braindecode's settings on the 1-2 s epochs (100 epochs, AdamW lr 1e-3, batch 8,
no cropping) separates our EEGNet implementation from the recipe.

This is not a test: it prints a table. Run it with the data folder of
``shared/data/README.md`` in ``MNE_DATA``::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/accuracy_eegbci.py

``--n-folds 2`` scores the first two of the example's ten folds only, to try
the script in a few minutes.
"""

import argparse
import time

import mne
import numpy as np
import torch
from _timing import synchronize
from sklearn.base import clone
from sklearn.model_selection import ShuffleSplit

from mne_xai import EEGNetClassifier, InterpretableCNNClassifier
from mne_xai.cropping import CroppedClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.report._accuracy import csp_lda

# Reported in shared/data/README.md for braindecode's EEGNet on this protocol.
BRAINDECODE_EEGNET = 0.689
RANDOM_STATE = 0
# MNE's example: ShuffleSplit(10, test_size=0.2, random_state=42).
N_FOLDS = 10
# Cropped training: 1 s windows every 0.25 s from the imagery period (13 per trial).
WINDOWS = dict(window_length=1.0, window_step=0.25, tmin=0.0, tmax=4.0)


def make_methods(epochs, device):
    """Return {name: (estimator, data it is evaluated on)}."""
    csp_epochs = epochs.copy().crop(tmin=1.0, tmax=2.0)
    network = dict(random_state=RANDOM_STATE, device=device, verbose=False)
    return {
        "CSP+LDA (MNE example, 1-2 s)": (
            csp_lda(len(epochs.ch_names)),
            csp_epochs.get_data(copy=False),
        ),
        # The networks' windows and averaging given to CSP+LDA, so the table
        # shows what the protocol change is worth without a network.
        "CSP+LDA, cropped": (
            CroppedClassifier(csp_lda(len(epochs.ch_names)), **WINDOWS),
            epochs,
        ),
        "EEGNet, braindecode settings (1-2 s)": (
            EEGNetClassifier(
                max_epochs=100, batch_size=8, lr=1e-3, lr_schedule=None, **network
            ),
            csp_epochs,
        ),
        "EEGNet, cropped (ours)": (
            CroppedClassifier(
                EEGNetClassifier(max_epochs=30, batch_size=32, lr=1e-3, **network),
                **WINDOWS,
            ),
            epochs,
        ),
        "InterpretableCNN, cropped (ours)": (
            CroppedClassifier(
                InterpretableCNNClassifier(
                    max_epochs=30, batch_size=32, lr=1e-3, **network
                ),
                **WINDOWS,
            ),
            epochs,
        ),
    }


def evaluate(name, estimator, X, y, folds):
    """Fit and score a fresh clone on every fold; return accuracies and fit times."""
    scores, fit_times = [], []
    for fold, (train, test) in enumerate(folds, 1):
        fitted = clone(estimator)
        synchronize()
        start = time.perf_counter()
        fitted.fit(X[train], y[train])
        synchronize()
        fit_times.append(time.perf_counter() - start)
        scores.append(fitted.score(X[test], y[test]))
        print(
            f"  {name}: fold {fold}/{len(folds)} accuracy {scores[-1]:.3f} "
            f"(fit {fit_times[-1]:.1f} s)",
            flush=True,
        )
    return np.array(scores), np.array(fit_times)


def print_table(results, chance):
    """Print mean, std, per-fold accuracies and fit time, with the anchors."""
    width = max(len(name) for name in results) + 2
    print(f"\n{'method':<{width}} {'mean':>6} {'std':>6}  {'fit s/fold':>10}  folds")
    for name, (scores, fit_times) in results.items():
        folds = " ".join(f"{score:.2f}" for score in scores)
        print(
            f"{name:<{width}} {scores.mean():6.3f} {scores.std():6.3f}  "
            f"{fit_times.mean():10.1f}  {folds}"
        )
    anchor = "braindecode EEGNet (reported, not run)"
    print(f"{anchor:<{width}} {BRAINDECODE_EEGNET:6.3f}")
    print(f"{'chance (majority class)':<{width}} {chance:6.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    parser.add_argument(
        "--n-folds",
        type=int,
        default=N_FOLDS,
        choices=range(1, N_FOLDS + 1),
        metavar=f"1-{N_FOLDS}",
        help=f"score the first N of the example's {N_FOLDS} folds (default all)",
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    mne.set_log_level("WARNING")
    epochs = load_eegbci(1, "hands_vs_feet")
    y = epochs.events[:, 2]
    # The same folds as MNE's example, materialized so every method gets them.
    folds = list(ShuffleSplit(N_FOLDS, test_size=0.2, random_state=42).split(y))
    folds = folds[: args.n_folds]
    chance = max(np.mean(y == y[0]), 1 - np.mean(y == y[0]))
    print(
        f"EEGBCI subject 1 hands vs feet: {len(epochs)} epochs, "
        f"{len(epochs.ch_names)} channels, {epochs.info['sfreq']:g} Hz; "
        f"{len(folds)} folds of {len(folds[0][1])} test epochs; networks on "
        f"{args.device}."
    )
    results = {}
    start = time.perf_counter()
    for name, (estimator, X) in make_methods(epochs, args.device).items():
        print(f"{name}:", flush=True)
        results[name] = evaluate(name, estimator, X, y, folds)
    print_table(results, chance)
    if len(folds) < N_FOLDS:
        print(
            f"({len(folds)} of the example's {N_FOLDS} folds: the means are not "
            "comparable with the reported figures, over all of them.)"
        )
    print(f"\nTotal time {(time.perf_counter() - start) / 60:.1f} min.")


if __name__ == "__main__":
    main()
