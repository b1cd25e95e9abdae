"""Do the estimators learn well at their defaults, on every data set we have?

Each network is built with no argument but ``random_state`` (and ``verbose=False``):
``EEGNetClassifier()``, ``InterpretableCNNClassifier()`` and
``CroppedClassifier(EEGNetClassifier())``. Nothing is tuned. For every seed in
``--seeds`` they are scored on the same folds as CSP+LDA (MNE's motor-imagery
example: ``CSP(n_components=4, reg=None, log=True, norm_trace=False)`` then
LDA), in the same run, wherever CSP applies (several channels):

- EEGBCI subject 1, imagined hands vs feet (runs 6, 10, 14) and left vs right
  fist (runs 4, 8, 12), with MNE's CSP protocol: 7-30 Hz band-pass (as
  ``load_eegbci`` gives it), epochs cropped to 1-2 s,
  ``ShuffleSplit(5, test_size=0.2, random_state=seed)``.
- Driver drowsiness, channel Oz, 11 subjects, leave one subject out (the same
  folds for every seed). No CSP on a single channel; the published
  single-channel figure (0.736) is printed as text.
- Simulated EEG (``simulate_epochs("spatial", snr=0.5)``: an ERP from the left
  or the right hemisphere, 32 channels, 1 s epochs) of 40, 200 and 1000 epochs,
  ``StratifiedKFold(5, shuffle=True, random_state=seed)``. The data are drawn
  once per size (``random_state=42``); the seed changes folds and networks.

CroppedClassifier keeps its own window defaults. Where they fit the epochs
the other estimators see (``window_length="auto"`` fits any epoch), it sees
those epochs. Where a fixed default window is longer (e.g. 2 s windows against
the 1 s EEGBCI and simulated epochs), it gets the 0-4 s imagery period on
EEGBCI and is not run on the simulated data; the table says which, with the
window length and number of windows per epoch it used.

The fitted ``batch_size_`` and ``max_epochs_`` (the ``"auto"`` defaults resolved
at fit; ``-`` where the estimator does not record them) and the fit time are
printed beside the accuracies.

Explanations: on EEGBCI hands vs feet, every fold's default EEGNet and
InterpretableCNN explain their held-out epochs (``target="true"``) with
DeepLIFT, integrated gradients, gradient x input and saliency. Channel
importance is the mean |attribution| over epochs and times, normalized to sum
to one in each fold (so every fold weighs the same) and averaged over the five
folds. The model-free reference is each channel's |t| (Welch's t-test between
the classes) of log 7-30 Hz band power, computed on the held-out epochs of all
folds concatenated (the multiset of epochs the importance averages over). The
table gives Spearman's rho between the two, per seed and method.

This is not a test: it prints tables, each as soon as its data set is done
(and ``--output`` rewrites the CSV then, so a cut run keeps what it measured).
Run it with the data folder of ``shared/data/README.md`` in ``MNE_DATA``::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/accuracy_defaults.py

Everything takes over two hours on one core (about 20 minutes for EEGBCI, half
an hour for the 1000 simulated epochs, an hour for drowsiness: 11 folds of
about 2 minutes per seed). ``--sizes 40 200 --drowsiness-subjects 1 2`` took
47 minutes.

``--quick`` runs one seed, two folds, three drowsiness subjects and two
simulation sizes, to try the script; ``--datasets`` chooses data sets;
``--drowsiness-subjects`` holds out fewer subjects (each still trained on all
the others); ``--output DIR`` writes the rows as CSV.
"""

import argparse
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import torch
from _timing import synchronize
from scipy.stats import spearmanr, ttest_ind
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, ShuffleSplit, StratifiedKFold

from mne_xai import CroppedClassifier, EEGNetClassifier, InterpretableCNNClassifier
from mne_xai import explain as explain_attribution
from mne_xai.datasets import load_drowsiness, load_eegbci
from mne_xai.report._accuracy import csp_lda
from mne_xai.simulation import simulate_epochs

# In the order they run: the longest last.
DATASETS = ("hands_vs_feet", "left_vs_right", "simulated", "drowsiness")
EXPLAINED_NETWORKS = ("EEGNet", "InterpretableCNN")
METHODS = ("deeplift", "integrated_gradients", "gradient_x_input", "saliency")
CSP_NAME = "CSP+LDA"
CROPPED_NAME = "Cropped(EEGNet)"
N_FOLDS = 5
DROWSINESS_SUBJECTS = tuple(range(1, 12))
SIMULATION = dict(kind="spatial", snr=0.5, random_state=42)
SIMULATION_SIZES = (40, 200, 1000)
BAND = (7.0, 30.0)
# Figures reported elsewhere (shared/data/README.md); printed, not run.
ANCHORS = {
    "hands_vs_feet": "reported: CSP+LDA 0.933 and braindecode EEGNet 0.689 with "
    "ShuffleSplit(10, test_size=0.2, random_state=42) (not run)",
    "drowsiness": "reported: 0.736 leave-one-subject-out, single-channel "
    "CompactCNN on this Oz data (Cui et al. 2022; not run)",
}
QUICK = dict(
    seeds=[0], n_folds=2, drowsiness_loaded=(1, 2, 3), drowsiness_held_out=(1, 2)
)


@dataclass
class DataSet:
    """One data set: the data each estimator sees, labels and a fold maker."""

    key: str
    title: str
    epochs: mne.BaseEpochs  # what the networks and CSP+LDA see
    folds: object  # seed -> list of (train, test) index arrays
    cropped_epochs: mne.BaseEpochs | None = None  # what CroppedClassifier sees
    chance: float = 0.5
    protocol: str = ""
    notes: list = field(default_factory=list)

    @property
    def y(self):
        return self.epochs.events[:, 2]

    @property
    def multichannel(self):
        return len(self.epochs.ch_names) > 1


def default_window_length():
    return CroppedClassifier(None).window_length


def window_fits(epochs):
    """Whether CroppedClassifier's default window fits in these epochs."""
    length = default_window_length()
    if length == "auto":  # derived from the epochs, so it always fits
        return True
    return int(round(length * epochs.info["sfreq"])) <= len(epochs.times)


def cropped_input(epochs, longer=None):
    """The epochs CroppedClassifier sees at its defaults, and a note saying so."""
    length = default_window_length()
    length = f"{length:g} s" if isinstance(length, int | float) else repr(length)
    if window_fits(epochs):
        return epochs, f"{CROPPED_NAME}: default windows ({length}) on these epochs"
    if longer is not None and window_fits(longer):
        return longer, (
            f"{CROPPED_NAME}: its default window ({length}) is longer than these "
            f"epochs; it sees {describe_epochs(longer)}"
        )
    return None, (
        f"{CROPPED_NAME}: not run, its default window ({length}) is longer than "
        "these epochs"
    )


def describe_epochs(epochs):
    return (
        f"{len(epochs)} epochs x {len(epochs.ch_names)} ch, "
        f"{epochs.tmin:.2f} to {epochs.times[-1]:.2f} s ({len(epochs.times)} samples "
        f"at {epochs.info['sfreq']:g} Hz)"
    )


def majority_share(y):
    return np.unique(y, return_counts=True)[1].max() / len(y)


# -- data sets ------------------------------------------------------------------
def eegbci_data(task, n_folds):
    epochs = load_eegbci(1, task)
    network_epochs = epochs.copy().crop(1.0, 2.0)
    # If CroppedClassifier's default window is longer than 1 s: the imagery period.
    cropped_epochs, note = cropped_input(network_epochs, epochs.copy().crop(0.0, 4.0))
    y = network_epochs.events[:, 2]

    def folds(seed):
        splitter = ShuffleSplit(N_FOLDS, test_size=0.2, random_state=seed)
        return list(splitter.split(y))[:n_folds]

    first, second = task.split("_vs_")
    return DataSet(
        key=task,
        title=f"EEGBCI subject 1, {first}/{second}",
        epochs=network_epochs,
        cropped_epochs=cropped_epochs,
        folds=folds,
        chance=majority_share(y),
        protocol=f"ShuffleSplit({N_FOLDS}, test_size=0.2, random_state=seed)",
        notes=[note],
    )


def drowsiness_data(loaded, held_out):
    epochs = load_drowsiness(subjects=list(loaded))
    subjects = epochs.metadata["subject"].to_numpy()
    y = epochs.events[:, 2]
    folds = [
        (train, test)
        for train, test in LeaveOneGroupOut().split(y, groups=subjects)
        if subjects[test[0]] in held_out
    ]
    chance = np.mean([majority_share(y[test]) for _, test in folds])
    cropped_epochs, note = cropped_input(epochs)
    return DataSet(
        key="drowsiness",
        title=f"Drowsiness, Oz, {len(loaded)} subjects",
        epochs=epochs,
        cropped_epochs=cropped_epochs,
        folds=lambda seed: folds,
        chance=chance,
        protocol=(
            "leave one subject out, held out in turn: "
            f"{', '.join(map(str, held_out))} (same folds for every seed)"
        ),
        notes=[
            note,
            "chance: mean over held-out subjects of their majority-class share",
        ],
    )


def simulated_data(n_epochs, n_folds):
    epochs, _ = simulate_epochs(n_epochs=n_epochs, **SIMULATION, verbose=False)
    y = epochs.events[:, 2]
    cropped_epochs, note = cropped_input(epochs)

    def folds(seed):
        splitter = StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed)
        return list(splitter.split(y, y))[:n_folds]

    return DataSet(
        key=f"simulated_{n_epochs}",
        title=(
            f"Simulated {SIMULATION['kind']}, snr={SIMULATION['snr']:g}, "
            f"{n_epochs} epochs"
        ),
        epochs=epochs,
        cropped_epochs=cropped_epochs,
        folds=folds,
        chance=majority_share(y),
        protocol=f"StratifiedKFold({N_FOLDS}, shuffle=True, random_state=seed)",
        notes=[note],
    )


def load_datasets(args):
    n_folds = QUICK["n_folds"] if args.quick else None
    for key in [key for key in DATASETS if key in args.datasets]:
        if key in ("hands_vs_feet", "left_vs_right"):
            yield eegbci_data(key, n_folds)
        elif key == "drowsiness":
            loaded = QUICK["drowsiness_loaded"] if args.quick else DROWSINESS_SUBJECTS
            held_out = args.drowsiness_subjects or (
                QUICK["drowsiness_held_out"] if args.quick else loaded
            )
            loaded = sorted(set(loaded) | set(held_out))
            yield drowsiness_data(loaded, held_out)
        else:
            for n_epochs in args.sizes:
                yield simulated_data(n_epochs, n_folds)


# -- evaluation -----------------------------------------------------------------
def make_estimators(dataset, seed, device):
    """{name: (unfitted estimator, the data it sees)} at the defaults, on ``device``."""
    network = dict(random_state=seed, device=device, verbose=False)
    estimators = {
        "EEGNet": (EEGNetClassifier(**network), dataset.epochs),
        "InterpretableCNN": (InterpretableCNNClassifier(**network), dataset.epochs),
    }
    cropped = dataset.cropped_epochs
    if cropped is not None:
        estimators[CROPPED_NAME] = (
            CroppedClassifier(EEGNetClassifier(**network)),
            cropped,
        )
    if dataset.multichannel:
        estimators[CSP_NAME] = (
            csp_lda(len(dataset.epochs.ch_names)),
            dataset.epochs.get_data(copy=False),
        )
    return estimators


def fitted_setting(estimator, name):
    """The fitted ``name`` (e.g. batch_size_), from the inner net if cropped."""
    inner = getattr(estimator, "estimator_", estimator)
    return getattr(inner, name, None)


def channel_importance(estimator, epochs):
    """{method: mean |attribution| per channel, summing to one}."""
    importance = {}
    for method in METHODS:
        attribution = explain_attribution(
            estimator, epochs, method=method, target="true"
        )
        magnitude = np.abs(attribution.get_data()).mean(axis=(0, 2))
        importance[method] = magnitude / magnitude.sum()
    return importance


def log_band_power(epochs):
    """Log of the 7-30 Hz power of every epoch and channel."""
    spectrum = epochs.compute_psd(fmin=BAND[0], fmax=BAND[1], verbose=False)
    return np.log(spectrum.get_data().sum(axis=-1))


def evaluate(dataset, seed, explain, rows, explanation_rows, device):
    folds = dataset.folds(seed)
    y = dataset.y
    estimators = make_estimators(dataset, seed, device)
    # Per network and method, the importance of every fold; the held-out band
    # powers and labels of every fold, for the reference.
    importances = {name: [] for name in EXPLAINED_NETWORKS}
    band_powers, test_labels = [], []
    for fold, (train, test) in enumerate(folds, 1):
        if explain:
            band_powers.append(log_band_power(dataset.epochs[test]))
            test_labels.append(y[test])
        for name, (estimator, X) in estimators.items():
            fitted = clone(estimator)
            synchronize()
            start = time.perf_counter()
            fitted.fit(X[train], y[train])
            synchronize()
            fit_time = time.perf_counter() - start
            accuracy = fitted.score(X[test], y[test])
            batch_size = fitted_setting(fitted, "batch_size_")
            max_epochs = fitted_setting(fitted, "max_epochs_")
            window_samples = getattr(fitted, "window_samples_", None)
            rows.append(
                dict(
                    dataset=dataset.key,
                    title=dataset.title,
                    seed=seed,
                    fold=fold,
                    estimator=name,
                    accuracy=accuracy,
                    fit_s=fit_time,
                    batch_size_=batch_size,
                    max_epochs_=max_epochs,
                    window_s=(
                        None
                        if window_samples is None
                        else window_samples / X.info["sfreq"]
                    ),
                    n_windows=len(getattr(fitted, "window_starts_", [])) or None,
                    n_train=len(train),
                    n_test=len(test),
                    chance=dataset.chance,
                )
            )
            settings = (
                f", batch_size_={batch_size}, max_epochs_={max_epochs}"
                if name != CSP_NAME
                else ""
            )
            log(
                f"{dataset.title}, seed {seed}, fold {fold}/{len(folds)}: {name} "
                f"accuracy {accuracy:.3f} (fit {fit_time:.1f} s{settings})"
            )
            if explain and name in EXPLAINED_NETWORKS:
                importances[name].append(
                    channel_importance(fitted, dataset.epochs[test])
                )
    if not explain:
        return
    band_power = np.concatenate(band_powers)
    labels = np.concatenate(test_labels)
    first, second = np.unique(labels)
    t_values = ttest_ind(
        band_power[labels == first], band_power[labels == second], equal_var=False
    ).statistic
    reference = np.abs(t_values)
    top = np.argsort(reference)[::-1][:5]
    channels = dataset.epochs.ch_names
    log(
        f"seed {seed}: band-power reference |t| highest at "
        + ", ".join(f"{channels[i]} {reference[i]:.1f}" for i in top)
    )
    for name, per_fold in importances.items():
        for method in METHODS:
            importance = np.mean([fold[method] for fold in per_fold], axis=0)
            rho, p_value = spearmanr(importance, reference)
            explanation_rows.append(
                dict(
                    dataset=dataset.key,
                    seed=seed,
                    estimator=name,
                    method=method,
                    spearman_rho=rho,
                    p_value=p_value,
                    n_folds=len(per_fold),
                    top_channels=" ".join(
                        channels[i] for i in np.argsort(importance)[::-1][:5]
                    ),
                )
            )


# -- tables ---------------------------------------------------------------------
def settings_text(values):
    """The distinct fitted values of a setting, or "-" if never recorded."""
    values = sorted({int(v) for v in values if pd.notna(v)})
    if not values:
        return "-"
    if len(values) <= 2:
        return "/".join(map(str, values))
    return f"{values[0]}-{values[-1]}"


def at_least(accuracies, reference):
    """Per seed, whether accuracies >= reference (up to rounding of the means)."""
    return accuracies >= reference - 1e-9


def accuracy_table(dataset, results):
    """Print one data set's accuracies; return {estimator: per-seed means}."""
    seeds = sorted(results.seed.unique())
    per_seed = results.pivot_table(
        index="estimator", columns="seed", values="accuracy", aggfunc="mean", sort=False
    )
    csp = per_seed.loc[CSP_NAME] if CSP_NAME in per_seed.index else None
    n_folds = results.groupby("seed").fold.nunique().max()
    print(f"\n== {dataset.title}: {describe_epochs(dataset.epochs)}")
    print(
        f"   {dataset.protocol}; {n_folds} folds; chance {dataset.chance:.3f}; "
        "accuracy = mean over folds"
    )
    for note in dataset.notes:
        print(f"   {note}")
    seed_columns = " ".join(f"{'seed ' + str(s):>7}" for s in seeds)
    print(
        f"{'estimator':<18} {seed_columns} {'mean':>6} {'std':>6} {'min':>6} "
        f"{'>=CSP':>6} {'batch_size_':>11} {'max_epochs_':>11} {'fit s/fold':>10}"
    )
    for name, accuracies in per_seed.iterrows():
        selected = results[results.estimator == name]
        values = " ".join(f"{accuracies[s]:7.3f}" for s in seeds)
        if csp is None or name == CSP_NAME:
            versus = "-"
        else:
            versus = f"{int(at_least(accuracies, csp).sum())}/{len(seeds)}"
        print(
            f"{name:<18} {values} {accuracies.mean():6.3f} {accuracies.std(ddof=0):6.3f} "
            f"{accuracies.min():6.3f} {versus:>6} "
            f"{settings_text(selected.batch_size_):>11} "
            f"{settings_text(selected.max_epochs_):>11} {selected.fit_s.mean():10.1f}"
        )
    print(f"{'chance':<18} {'':>{8 * len(seeds) - 1}} {dataset.chance:6.3f}")
    cropped = results[results.estimator == CROPPED_NAME].dropna(subset="window_s")
    if len(cropped):
        print(
            f"   {CROPPED_NAME} windows: {cropped.window_s.iloc[0]:g} s, "
            f"{int(cropped.n_windows.iloc[0])} per epoch, so "
            f"batch_size_ and max_epochs_ count windows"
        )
    if dataset.key in ANCHORS:
        print(f"   {ANCHORS[dataset.key]}")
    return per_seed


def explanation_table(explanations):
    seeds = sorted(explanations.seed.unique())
    print(
        "\n== Explanations of the default networks, EEGBCI hands/feet held-out "
        "epochs (target='true'):\n   Spearman rho between channel importance "
        "(mean |attribution| over epochs and times, normalized per fold, mean "
        "over folds)\n   and per-channel |t| (Welch) of log 7-30 Hz band power "
        "on the held-out epochs of all folds concatenated"
    )
    seed_columns = " ".join(f"{'seed ' + str(s):>7}" for s in seeds)
    print(
        f"{'network':<17} {'method':<21} {seed_columns} {'mean':>6}  top channels"
        f" (seed {seeds[0]})"
    )
    for (name, method), group in explanations.groupby(
        ["estimator", "method"], sort=False
    ):
        rho = group.set_index("seed").spearman_rho
        values = " ".join(f"{rho[s]:7.3f}" for s in seeds)
        top = group.set_index("seed").top_channels[seeds[0]]
        print(f"{name:<17} {method:<21} {values} {rho.mean():6.3f}  {top}")


def verdicts(per_seed_tables):
    print()
    for key in ("hands_vs_feet", "left_vs_right"):
        if key not in per_seed_tables:
            continue
        title, per_seed = per_seed_tables[key]
        label = title.split(", ")[-1]
        csp = per_seed.loc[CSP_NAME]
        for name, accuracies in per_seed.iterrows():
            if name == CSP_NAME:
                continue
            holds = bool(at_least(accuracies, csp).all())
            print(
                f"EEGBCI {label}: {name} defaults >= CSP+LDA on every seed: "
                f"{'yes' if holds else 'no'} "
                f"({int(at_least(accuracies, csp).sum())}/{len(csp)} seeds; mean "
                f"{accuracies.mean():.3f} vs {csp.mean():.3f})"
            )


# -- main -----------------------------------------------------------------------
START = time.perf_counter()


def log(message):
    print(f"[{time.perf_counter() - START:6.0f} s] {message}", flush=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", help="random states (default 0 1 2)"
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=DATASETS, default=list(DATASETS)
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help=f"simulated data set sizes (default {' '.join(map(str, SIMULATION_SIZES))})",
    )
    parser.add_argument(
        "--drowsiness-subjects",
        type=int,
        nargs="+",
        choices=DROWSINESS_SUBJECTS,
        help="subjects held out in turn, each trained on all the others (default all)",
    )
    parser.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="skip the explanations on EEGBCI hands/feet",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--output", type=Path, help="folder for the CSV files")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    if args.seeds is None:
        args.seeds = QUICK["seeds"] if args.quick else [0, 1, 2]
    if args.sizes is None:
        args.sizes = SIMULATION_SIZES[:2] if args.quick else SIMULATION_SIZES
    return args


def write_csv(output, results, explanations):
    output.mkdir(parents=True, exist_ok=True)
    results.to_csv(output / "accuracy_defaults.csv", index=False)
    if len(explanations):
        explanations.to_csv(output / "accuracy_defaults_explanations.csv", index=False)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    mne.set_log_level("ERROR")
    warnings.filterwarnings("ignore", category=FutureWarning)
    rows, explanation_rows, per_seed_tables = [], [], {}
    log(
        f"seeds {' '.join(map(str, args.seeds))}; networks on {args.device}; every "
        "table is printed when its data set is done"
    )
    for dataset in load_datasets(args):
        log(f"{dataset.title}: {describe_epochs(dataset.epochs)}")
        explain = args.explain and dataset.key == "hands_vs_feet"
        for seed in args.seeds:
            evaluate(dataset, seed, explain, rows, explanation_rows, args.device)
        results = pd.DataFrame(rows)
        explanations = pd.DataFrame(explanation_rows)
        selected = results[results.dataset == dataset.key]
        per_seed_tables[dataset.key] = (
            dataset.title,
            accuracy_table(dataset, selected),
        )
        if explain:
            explanation_table(explanations)
        print(flush=True)
        if args.output is not None:  # after every data set, so a cut run keeps them
            write_csv(args.output, results, explanations)
    verdicts(per_seed_tables)
    if args.output is not None:
        log(f"rows written to {args.output}/")
    print(f"\nTotal time {(time.perf_counter() - START) / 60:.1f} min.")


if __name__ == "__main__":
    main()
