"""Do attributions, or their patterns, show where the class difference is in EEG?

On EEGBCI motor imagery (subject 1, hands vs feet, 0.5-2.5 s after the cue,
7-30 Hz), each seed splits the epochs in two stratified halves; each half is
held out once while EEGNet (``EEGNetClassifier(random_state=seed)``, default
training) learns from the other. On the held-out half:

- the reference is the data's own class difference per channel: |t| (Welch)
  of the log 7-30 Hz power between the classes. A second reference computes
  the same after a surface Laplacian (``compute_current_source_density``),
  which keeps each channel's local activity;
- each attribution method (true class) gives a channel importance, mean
  |attribution| over epochs and times, and so does its pattern view
  (``attribution_patterns``: the data covariance times each map), and
  PatternNet and PatternAttribution (patterns learned on the training half);
- CSP (``mne.decoding.CSP``, 4 components, trained on the training half) gives
  the importance of its filters and of its patterns: mean over components of
  each component's |map| scaled to a maximum of 1;
- controls: the pattern views of EEGNet trained on shuffled labels, and the
  channels' power alone (no model), which a covariance-weighted map inherits.

Each importance is scored by its Spearman ρ with the reference, averaged over
the two halves; the tables give the mean, standard deviation and range over
seeds, with each reference's split-half reliability (ρ between its two halves),
which bounds what any map can reach. Goal: ρ ≥ 0.5 for the pattern view.

Run (real data through MNE_DATA; about 30 minutes on one core)::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/attribution_patterns.py

``--quick`` trains for 40 epochs on one seed, to try the script; ``--output``
also writes every ρ to a CSV file.
"""

import argparse
import time

import mne
import numpy as np
import pandas as pd
import torch
from mne.decoding import CSP
from scipy.stats import spearmanr, ttest_ind
from sklearn.model_selection import StratifiedKFold

from mne_xai import EEGNetClassifier, explain
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import attribution_patterns, learn_patterns

METHODS = ("deeplift", "integrated_gradients", "gradient_x_input", "saliency")
PATTERN_METHODS = ("pattern_net", "pattern_attribution")
BAND = (7.0, 30.0)
WINDOW = (0.5, 2.5)
N_CSP_COMPONENTS = 4
GOAL = 0.5
VIEWS = ("filter", "pattern", "shuffled-label pattern")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def channel_importance(data):
    """Mean |value| per channel of maps shaped (..., n_channels, n_times)."""
    axes = tuple(axis for axis in range(data.ndim) if axis != data.ndim - 2)
    return np.abs(data).mean(axis=axes)


def class_difference(epochs):
    """|t| (Welch) per channel of the log power between the two classes."""
    log_power = np.log((epochs.get_data() ** 2).mean(axis=-1))
    codes = epochs.events[:, 2]
    first, second = np.unique(codes)
    return np.abs(
        ttest_ind(
            log_power[codes == first], log_power[codes == second], equal_var=False
        ).statistic
    )


def references(test):
    return {
        "channels": class_difference(test),
        "surface Laplacian": class_difference(
            mne.preprocessing.compute_current_source_density(test)
        ),
    }


def csp_importance(train):
    """Importance of CSP's filters and patterns, each component scaled to max 1."""
    csp = CSP(n_components=N_CSP_COMPONENTS, log=True, norm_trace=False)
    csp.fit(train.get_data(), train.events[:, 2])

    def importance(maps):
        maps = np.abs(maps[:N_CSP_COMPONENTS])
        return (maps / maps.max(axis=1, keepdims=True)).mean(axis=0)

    return {
        ("filter", "CSP"): importance(csp.filters_),
        ("pattern", "CSP"): importance(csp.patterns_),
    }


def network(seed, args):
    params = {"max_epochs": 40} if args.quick else {}
    return EEGNetClassifier(
        random_state=seed, device=args.device, verbose=False, **params
    )


def method_params(method, args):
    return {"steps": 20} if args.quick and method == "integrated_gradients" else {}


def pattern_views(clf, test, args):
    """Channel importance of the pattern view of each method."""
    return {
        method: channel_importance(
            attribution_patterns(
                clf,
                test,
                method,
                target="true",
                average=False,
                verbose=False,
                **method_params(method, args),
            ).get_data()
        )
        for method in METHODS
    }


def held_out_half(train, test, seed, args):
    """Channel importance of every map on one held-out half."""
    clf = network(seed, args).fit(train)
    importance = {("data", "channel power"): (test.get_data() ** 2).mean(axis=(0, 2))}
    for method in METHODS:
        maps = explain(clf, test, method, target="true", **method_params(method, args))
        importance[("filter", method)] = channel_importance(maps.get_data())
    for method, value in pattern_views(clf, test, args).items():
        importance[("pattern", method)] = value
    patterns = learn_patterns(clf, train, verbose=False)
    for method in PATTERN_METHODS:
        maps = explain(clf, test, method, target="true", patterns=patterns)
        importance[("pattern", method)] = channel_importance(maps.get_data())
    importance.update(csp_importance(train))
    shuffled = train.copy()
    shuffled.events[:, 2] = np.random.default_rng(seed).permutation(
        shuffled.events[:, 2]
    )
    control = network(seed, args).fit(shuffled)
    for method, value in pattern_views(control, test, args).items():
        importance[("shuffled-label pattern", method)] = value
    return importance, clf.score(test)


def run_seed(epochs, seed, args):
    """Spearman ρ of each map with each reference, averaged over the two halves."""
    folds = StratifiedKFold(2, shuffle=True, random_state=seed)
    rows, truths, accuracies = [], [], []
    for train_index, test_index in folds.split(epochs.events, epochs.events[:, 2]):
        test = epochs[test_index]
        importance, accuracy = held_out_half(epochs[train_index], test, seed, args)
        truth = references(test)
        for reference, values in truth.items():
            for (view, name), value in importance.items():
                rho = spearmanr(value, values).statistic
                rows.append(dict(reference=reference, view=view, map=name, rho=rho))
        truths.append(truth)
        accuracies.append(accuracy)
    table = pd.DataFrame(rows).groupby(["reference", "view", "map"]).rho.mean()
    table = table.reset_index().assign(seed=seed)
    reliability = {
        reference: spearmanr(truths[0][reference], truths[1][reference]).statistic
        for reference in truths[0]
    }
    log(
        f"seed {seed}: held-out accuracy {np.mean(accuracies):.2f}; reference "
        f"split-half reliability {reliability}"
    )
    return table, reliability, float(np.mean(accuracies))


def summary(values):
    values = np.asarray(values, dtype=float)
    return (
        f"{values.mean():5.2f} ± {values.std():.2f} "
        f"[{values.min():5.2f}, {values.max():5.2f}]"
    )


def report(table, reliabilities, accuracies):
    n_seeds = table.seed.nunique()
    maps = ["channel power", *METHODS, *PATTERN_METHODS, "CSP"]
    for reference, rows in table.groupby("reference"):
        print(
            f"\nSpearman ρ with |t| of the log 7-30 Hz power per channel "
            f"({reference}; held out), mean ± sd [min, max] over {n_seeds} seed(s)\n"
        )
        header = f"{'map':22s}" + "".join(f"{view:>32s}" for view in VIEWS)
        print(header)
        print("-" * len(header))
        for name in maps:
            cells = []
            for view in VIEWS:
                selected = rows[(rows["map"] == name) & (rows.view == view)].rho
                if name == "channel power" and view == "filter":
                    selected = rows[rows["map"] == name].rho
                cells.append(summary(selected) if len(selected) else "-")
            print(f"{name:22s}" + "".join(f"{cell:>32s}" for cell in cells))
        means = rows[rows.view == "pattern"].groupby("map").rho.mean()
        reached = [name for name in maps if means.get(name, -1) >= GOAL]
        print(
            f"\nGoal, pattern view ρ ≥ {GOAL} (mean over seeds): reached by "
            f"{', '.join(reached) or 'none'}."
        )
        values = [reliability[reference] for reliability in reliabilities]
        print(f"Split-half reliability of this reference: {summary(values)}")
    print(
        "\n'channel power' (first column) is the held-out data's power per "
        "channel, no model. CSP's filters and patterns are in the filter and "
        "pattern columns; PatternNet and PatternAttribution are patterns by "
        "construction."
    )
    print(f"EEGNet held-out accuracy: {summary(accuracies)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds")
    parser.add_argument("--quick", action="store_true", help="one seed, short training")
    parser.add_argument("--output", help="CSV file for every ρ (per seed)")
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    torch.set_num_threads(1)
    epochs = load_eegbci(
        1,
        "hands_vs_feet",
        tmin=WINDOW[0],
        tmax=WINDOW[1],
        l_freq=BAND[0],
        h_freq=BAND[1],
        verbose=False,
    )
    mne.set_log_level("WARNING")
    log(f"EEGNet trains and runs on {args.device}")
    tables, reliabilities, accuracies = [], [], []
    for seed in range(1 if args.quick else args.seeds):
        table, reliability, accuracy = run_seed(epochs, seed, args)
        tables.append(table)
        reliabilities.append(reliability)
        accuracies.append(accuracy)
    table = pd.concat(tables, ignore_index=True)
    if args.output:
        table.to_csv(args.output, index=False)
    report(table, reliabilities, accuracies)


if __name__ == "__main__":
    main()
