"""Group-level cluster test of EEGNet's relevance on driver drowsiness (Oz).

For each held-out subject of the driver-drowsiness dataset (channel Oz, 3-s
windows at 128 Hz), an :class:`mne_xai.EEGNetClassifier` with its default
training (only ``random_state`` set) is trained on the other ten subjects and
explained on the held-out subject with DeepLIFT. One map per subject then goes
into :func:`mne_xai.evaluate.group.relevance_cluster_test`; with one channel,
the test runs over time only. It asks, for each null:

``contrast``
    When in the window is the evidence for "drowsy" (the drowsy logit's
    relevance, signed) larger on the subject's drowsy epochs than on its
    alert epochs? The same network explains both, so what they share (the
    network's response to any EEG, padding at the edges) cancels: a
    cluster is a time where the network finds drowsiness in drowsy EEG.
``shuffled``
    Is the relevance magnitude for the true class, as a share of the map,
    larger than that of a network trained on shuffled labels (one per fold,
    the same recipe and seed)? A cluster is a time the network attends to
    because of what it learned about the labels.
``random``
    Is the relevance magnitude for the true class concentrated beyond an even
    spread (the ``random`` method)? This says where the network looks, not
    why: any network concentrates relevance where its receptive fields
    overlap most.

Drowsiness is a state (more alpha and theta power), not an event locked to
the window's start, so the honest expectation is no time window, or none
beyond the window's edges.

Caveat: the leave-one-subject-out networks share nine of their ten training
subjects, so the maps of different subjects are not independent draws; read
the p-values as descriptive.

Run it with ``MNE_DATA`` set to the folder that holds ``drowsiness/``::

    OMP_NUM_THREADS=1 python benchmarks/group_drowsiness.py

``--subjects 1 2 3 4 5 6`` limits the held-out subjects (each network still
trains on all the other subjects; 5 at least, whose 32 sign flips can reach
p < 0.05); ``--quick`` trains 3 passes instead of the
default schedule, for a smoke run.

Results
-------
All 11 subjects, all three nulls, DeepLIFT, one-sided, the exact test over
2,048 sign flips (the command above, with its defaults; 580 s on 2 shared
CPU cores, 25-154 s per fold for both networks; ``--nulls contrast random``
skips the shuffled-label networks and halves the time). Leave-one-subject-out
accuracy 0.682 (sd 0.122); the authors' CompactCNN reached 0.736 on this data.
The contrast compares as many drowsy as alert epochs of each subject
(``equalize_event_counts``).

========  ====================================================================
null      significant clusters (p)
========  ====================================================================
contrast  none (smallest p 0.25, at 0.35-0.38 s)
shuffled  2.53-2.72 s (0.004); next 0.17-0.23 s (0.31)
random    0.16-0.52 s (0.0005); next 2.60-2.65 s (0.13)
========  ====================================================================

No time carries more evidence for drowsiness in drowsy than in alert epochs,
as expected of a state. Relevance magnitude is concentrated near the start
(0.16-0.52 s), which is where the network looks (perhaps an edge effect of
its zero-padded 0.5-s temporal kernels; not tested here). Against
shuffled-label networks one window near the end passes (2.53-2.72 s), and
the folds are not independent: read it as descriptive, not as a time the
network learned.
"""

import argparse
import time

import mne
import numpy as np
import torch

from mne_xai import EEGNetClassifier, explain
from mne_xai._progress import progress_bar
from mne_xai.datasets import load_drowsiness
from mne_xai.evaluate import relevance_cluster_test
from mne_xai.evaluate.group._inputs import _check_parameters

NULLS = ("contrast", "shuffled", "random")


def magnitude_average(attribution):
    """Average over epochs of the relevance magnitude."""
    return attribution.apply_function(np.abs, picks="all").average(picks="all")


def explain_subject(clf, shuffled, test, method, seed):
    """The maps of one held-out subject that the tests compare."""
    maps = {}
    # As many epochs of each class: maps scaled by their own mean magnitude
    # (normalize="mass") cancel what both share only if they average alike.
    balanced = test.copy()
    balanced.equalize_event_counts()
    drowsy = explain(clf, balanced["drowsy"], method, target="drowsy", average=True)
    alert = explain(clf, balanced["alert"], method, target="drowsy", average=True)
    maps["contrast"] = (drowsy, alert)
    true_class = magnitude_average(explain(clf, test, method, target="true"))
    random = magnitude_average(explain(clf, test, "random", random_state=seed))
    maps["random"] = (true_class, random)
    if shuffled is not None:
        # Trained on labels that are not the events, it refuses target="true":
        # the same class codes are given as labels.
        codes = test.events[:, 2]
        null = magnitude_average(explain(shuffled, test, method, target=codes))
        maps["shuffled"] = (true_class, null)
    return maps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subjects", type=int, nargs="+", default=list(range(1, 12)),
        help="held-out subjects (default: all 11; at least 5 for a test at 0.05)",
    )  # fmt: skip
    parser.add_argument(
        "--nulls", nargs="+", choices=NULLS, default=list(NULLS),
        help="nulls to test against (shuffled trains a second network per fold)",
    )  # fmt: skip
    parser.add_argument("--method", default="deeplift")
    parser.add_argument("--quick", action="store_true", help="3 training passes")
    parser.add_argument("--n-permutations", type=int, default=10000)
    parser.add_argument(
        "--tail", type=int, choices=(-1, 0, 1), default=1,
        help="1: relevance above the null (default); 0: either side",
    )  # fmt: skip
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    try:  # before the folds' training, not after it
        _check_parameters(
            len(args.subjects), args.n_permutations, None, args.tail, alpha=0.05
        )
    except ValueError as err:
        parser.error(f"--subjects: {err}")
    torch.set_num_threads(1)
    mne.set_log_level("WARNING")

    start = time.perf_counter()
    epochs = load_drowsiness()
    subjects = epochs.metadata["subject"].to_numpy()
    labels = epochs.events[:, 2]
    params = dict(random_state=args.random_state, device=args.device, verbose=False)
    if args.quick:
        params["max_epochs"] = 3
    maps = {null: ([], []) for null in args.nulls}
    accuracies, fold_seconds = [], []
    bar = progress_bar(args.subjects, mesg="leave-one-subject-out folds")
    for subject in bar:
        fold_start = time.perf_counter()
        train, test = epochs[subjects != subject], epochs[subjects == subject]
        clf = EEGNetClassifier(**params).fit(train)
        shuffled = None
        if "shuffled" in args.nulls:
            rng = np.random.default_rng(args.random_state + subject)
            shuffled_labels = rng.permutation(labels[subjects != subject])
            shuffled = EEGNetClassifier(**params).fit(train, shuffled_labels)
        pairs = explain_subject(clf, shuffled, test, args.method, seed=subject)
        for null in args.nulls:
            maps[null][0].append(pairs[null][0])
            maps[null][1].append(pairs[null][1])
        accuracies.append(clf.score(test))
        fold_seconds.append(time.perf_counter() - fold_start)
        print(
            f"subject {subject:>2}: accuracy {accuracies[-1]:.3f} "
            f"({fold_seconds[-1]:.0f} s)",
            flush=True,
        )

    print(
        f"\nEEGNet leave-one-subject-out accuracy on {len(args.subjects)} held-out "
        f"subjects: mean {np.mean(accuracies):.3f} (sd {np.std(accuracies):.3f})"
    )
    print(f"Method: {args.method}; {args.n_permutations} sign flips at most.\n")
    for null in args.nulls:
        subject_maps, null_maps = maps[null]
        result = relevance_cluster_test(
            subject_maps,
            null_maps,
            n_permutations=args.n_permutations,
            tail=args.tail,
            random_state=args.random_state,
        )
        table = result.to_frame()
        print(f"== null: {null} ==")
        print(repr(result))
        columns = ["cluster", "p_value", "tmin", "tmax", "mass"]
        strongest = table[columns].head(5)
        print(strongest.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        mean_t = result.t_values.data[0]
        thirds = np.array_split(mean_t, 3)
        print(
            "mean t in the window's thirds (0-1, 1-2, 2-3 s): "
            + ", ".join(f"{part.mean():+.2f}" for part in thirds)
            + "\n"
        )
    elapsed = time.perf_counter() - start
    print(
        f"Total time: {elapsed:.0f} s ({np.mean(fold_seconds):.0f} s per fold, "
        f"{len(args.subjects)} folds)"
    )


if __name__ == "__main__":
    main()
