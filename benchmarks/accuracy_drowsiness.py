"""Leave-one-subject-out accuracy of InterpretableCNN on driver drowsiness (Oz).

Trains :class:`mne_xai.InterpretableCNNClassifier` on ten of the eleven
subjects of the driver-drowsiness dataset (channel Oz, 3-s epochs at 128 Hz)
and tests it on the eleventh, for each subject in turn, then prints the
per-subject accuracies and their mean beside the published figures.

Run it with ``MNE_DATA`` set to the folder that holds ``drowsiness/``::

    OMP_NUM_THREADS=1 python benchmarks/accuracy_drowsiness.py

``--held-out 1 2`` holds out those subjects only (each still trained on all
ten others), to try the script in a few minutes.

Recipe
------
The training recipe is the one in the authors' code for this protocol with
InterpretableCNN (github.com/cuijiancorbin): Adam, learning rate 1e-3 held
constant, batch size 50, 11 passes, N1=16 spatial maps, d=2 temporal kernels
of 64 samples (half a second at 128 Hz). Nothing was tuned on test subjects;
``random_state=0`` fixes the run.

Each fitted network is scored two ways:

- *running statistics*: the estimator as it is, whose batch norm uses the
  statistics accumulated over the training subjects;
- *test-subject statistics*: the authors' normalization. Their batch norm uses
  batch statistics at test time and they feed the whole held-out subject as one
  batch, so every feature is standardized over that subject. Here the batch-norm
  statistics are re-estimated on the held-out subject's epochs and then frozen
  (``InterpretableCNNClassifier.adapt_batch_norm``),
  so an epoch's output still does not depend on its batch. This uses no labels:
  for a new driver, an unlabeled recording is enough.

References
----------
Cui J. et al. (2022). A compact and interpretable convolutional neural network
for cross-subject driver drowsiness detection from single-channel EEG.
Methods 202:173-184. doi:10.1016/j.ymeth.2021.04.017

Cui J. et al. (2023). EEG-based cross-subject driver drowsiness recognition with
an interpretable convolutional neural network. IEEE Trans. Neural Netw. Learn.
Syst. 34(10):7921-7933. doi:10.1109/TNNLS.2022.3147208

Li Y. et al. (2018). Adaptive batch normalization for practical domain
adaptation. Pattern Recognit. 80:109-117. doi:10.1016/j.patcog.2018.03.005

Cao Z. et al. (2019). Multi-channel EEG recordings during a sustained-attention
driving task. Sci. Data 6:19. doi:10.1038/s41597-019-0027-4
"""

import argparse
import copy
import time

import mne
import numpy as np
import torch
from sklearn.model_selection import LeaveOneGroupOut, cross_validate

from mne_xai import InterpretableCNNClassifier
from mne_xai.datasets import load_drowsiness

# Leave-one-subject-out accuracies reported by the authors on this data.
ANCHORS = {
    "CompactCNN, Oz only (Cui et al. 2022, Methods)": 0.736,
    "InterpretableCNN, 30 channels (Cui et al. 2023, TNNLS)": 0.7835,
}


def adapted_accuracy(estimator, X, y):
    """Accuracy after adapting batch norm to the unlabeled test data X."""
    return copy.deepcopy(estimator).adapt_batch_norm(X).score(X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="folds trained in parallel (default 1)"
    )
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    parser.add_argument(
        "--held-out",
        type=int,
        nargs="+",
        metavar="SUBJECT",
        help="hold out these subjects only (default: each of the eleven in turn)",
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    torch.set_num_threads(1)
    mne.set_log_level("WARNING")

    start = time.perf_counter()
    epochs = load_drowsiness()
    subjects = epochs.metadata["subject"].to_numpy()
    labels = epochs.events[:, 2]
    clf = InterpretableCNNClassifier(
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=11,
        batch_size=50,
        lr_schedule=None,
        module__n_spatial=16,
        module__depth_multiplier=2,
        module__kernel_length=64,
        random_state=0,
        device=args.device,
        verbose=False,
    )
    held_out = args.held_out or np.unique(subjects).tolist()
    unknown = sorted(set(held_out) - set(subjects.tolist()))
    if unknown:
        parser.error(f"--held-out: no subject {unknown} in the data.")
    cv = [
        (train, test)
        for train, test in LeaveOneGroupOut().split(labels, groups=subjects)
        if subjects[test][0] in held_out
    ]
    scores = cross_validate(
        clf,
        epochs,
        labels,
        groups=subjects,
        cv=cv,
        scoring={"running": "accuracy", "adapted": adapted_accuracy},
        n_jobs=args.n_jobs,
    )
    running, adapted = scores["test_running"], scores["test_adapted"]
    elapsed = time.perf_counter() - start

    test_subjects = [subjects[test][0] for _, test in cv]
    # Chance is the majority-class share of each held-out subject.
    chance = np.array(
        [
            np.bincount(labels[subjects == s]).max() / np.sum(subjects == s)
            for s in test_subjects
        ]
    )
    print(
        "Leave-one-subject-out accuracy, InterpretableCNNClassifier on Oz, "
        f"trained on {args.device}"
    )
    print("batch-norm statistics: running (training subjects) | test subject")
    header = (
        f"{'subject':>8} {'epochs':>7} {'running':>8} {'test subj.':>10} {'chance':>7}"
    )
    print(header)
    for row in zip(test_subjects, running, adapted, chance, strict=True):
        subject, run_acc, ada_acc, level = row
        n_epochs = np.sum(subjects == subject)
        print(
            f"{subject:>8} {n_epochs:>7} {run_acc:>8.3f} {ada_acc:>10.3f} {level:>7.3f}"
        )
    print(
        f"{'mean':>8} {np.isin(subjects, test_subjects).sum():>7} "
        f"{running.mean():>8.3f} "
        f"{adapted.mean():>10.3f} {chance.mean():>7.3f}"
    )
    print(f"{'sd':>8} {'':>7} {running.std():>8.3f} {adapted.std():>10.3f}")
    print()
    results = {
        "ours, test-subject batch-norm statistics": adapted.mean(),
        "ours, running batch-norm statistics": running.mean(),
        **ANCHORS,
        "chance level": chance.mean(),
    }
    for name, accuracy in results.items():
        print(f"{name:<56} {accuracy:.4f}")
    n_subjects = len(np.unique(subjects))
    if len(test_subjects) < n_subjects:
        print(
            f"({len(test_subjects)} of {n_subjects} subjects held out: the means "
            "are not comparable with the published figures, over all of them.)"
        )
    print(f"\nTotal time: {elapsed:.0f} s")


if __name__ == "__main__":
    main()
