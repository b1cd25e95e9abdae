"""Do rare classes get learned, with and without ``class_weight="balanced"``?

An oddball design gives one class a fraction of the epochs. With the loss
weighing every epoch alike, it is lowest for a network that answers the
frequent class, and accuracy hides that (always answering it scores the
majority's share). This benchmark simulates one such data set
(``simulate_epochs("temporal")``: an ERP in a different window per class from
one parietal source, 32 channels, 1 s at 128 Hz, drawn once with
``random_state=42``; then all the epochs of the first class and one in
``--ratio`` (5) of the second's are kept) and scores, on the same folds
(``StratifiedKFold(5, shuffle=True, random_state=seed)``) and in the same run:

- ``EEGNet``: ``EEGNetClassifier(random_state=seed)``;
- ``EEGNet balanced``: the same with ``class_weight="balanced"``;
- ``LR on samples`` and ``LR balanced``: the report's evoked-response reference
  (logistic regression on every standardized sample of every channel), without
  and with scikit-learn's ``class_weight="balanced"``.

It prints balanced accuracy, accuracy, the recall of the rare class and the
ROC AUC of its predicted probability (which does not hinge on the 0.5
threshold that a model leaning to the frequent class misplaces) per seed, and
their means over seeds. Run::

    OMP_NUM_THREADS=1 python benchmarks/class_weight.py

Three seeds take about 15 minutes on one core; ``--quick`` runs one seed.
"""

import argparse
import time

import mne
import numpy as np
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold

from mne_xai import EEGNetClassifier
from mne_xai.report._accuracy import logistic_regression_on_samples
from mne_xai.simulation import simulate_epochs

N_FOLDS = 5
SIMULATION = dict(kind="temporal", sfreq=128.0, random_state=42)
MEASURES = {
    "balanced accuracy": balanced_accuracy_score,
    "accuracy": accuracy_score,
}


def oddball_epochs(n_epochs, snr, ratio):
    """Simulated epochs keeping one in ``ratio`` of the second class's."""
    epochs, _ = simulate_epochs(n_epochs=n_epochs, snr=snr, **SIMULATION, verbose=False)
    codes = epochs.events[:, 2]
    frequent, rare = np.unique(codes)
    keep = np.r_[
        np.flatnonzero(codes == frequent), np.flatnonzero(codes == rare)[::ratio]
    ]
    return epochs[np.sort(keep)], rare


def estimators(epochs, seed):
    """{name: (unfitted estimator, the data it sees)}."""
    network = dict(random_state=seed, verbose=False)
    samples = epochs.get_data()
    balanced_lr = logistic_regression_on_samples()
    balanced_lr.set_params(logisticregression__class_weight="balanced")
    return {
        "EEGNet": (EEGNetClassifier(**network), epochs),
        "EEGNet balanced": (
            EEGNetClassifier(**network, class_weight="balanced"),
            epochs,
        ),
        "LR on samples": (logistic_regression_on_samples(), samples),
        "LR balanced": (balanced_lr, samples),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-epochs", type=int, default=720)
    parser.add_argument("--snr", type=float, default=0.3)
    parser.add_argument("--ratio", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    mne.set_log_level("ERROR")
    if args.quick:
        args.seeds = args.seeds[:1]
    epochs, rare = oddball_epochs(args.n_epochs, args.snr, args.ratio)
    y = epochs.events[:, 2]
    labels, counts = np.unique(y, return_counts=True)
    counts = dict(zip(labels.tolist(), counts.tolist(), strict=True))
    print(
        f"Simulated {SIMULATION['kind']}, snr={args.snr:g}: {len(epochs)} epochs "
        f"(per class {counts}) x {len(epochs.ch_names)} ch x {len(epochs.times)} "
        f"samples; StratifiedKFold({N_FOLDS}, shuffle=True, random_state=seed)\n"
    )
    per_seed = {}
    for seed in args.seeds:
        folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed).split(y, y)
        candidates = estimators(epochs, seed)
        true, times = [], {}
        predicted = {name: [] for name in candidates}
        rare_probability = {name: [] for name in candidates}
        for train, test in folds:
            true.append(y[test])
            for name, (estimator, X) in candidates.items():
                start = time.perf_counter()
                fitted = clone(estimator).fit(X[train], y[train])
                times.setdefault(name, []).append(time.perf_counter() - start)
                predicted[name].append(np.asarray(fitted.predict(X[test])))
                rare_column = list(fitted.classes_).index(rare)
                rare_probability[name].append(
                    fitted.predict_proba(X[test])[:, rare_column]
                )
        true = np.concatenate(true)
        for name, labels in predicted.items():
            labels = np.concatenate(labels)
            scores = {k: score(true, labels) for k, score in MEASURES.items()}
            scores["rare recall"] = recall_score(
                true, labels, labels=[rare], average=None
            )[0]
            scores["ROC AUC"] = roc_auc_score(
                true == rare, np.concatenate(rare_probability[name])
            )
            per_seed.setdefault(name, []).append(scores)
            print(
                f"seed {seed}  {name:16s} "
                + "  ".join(f"{k} {v:.3f}" for k, v in scores.items())
                + f"  fit {np.median(times[name]):.1f} s (median)",
                flush=True,
            )
    print("\nMean over seeds (held-out predictions of all folds pooled per seed):")
    for name, rows in per_seed.items():
        print(
            f"  {name:16s} "
            + "  ".join(f"{k} {np.mean([row[k] for row in rows]):.3f}" for k in rows[0])
        )


if __name__ == "__main__":
    main()
