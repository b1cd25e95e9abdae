"""Do networks started from CSP filters explain where simulated features are?

``spatial_init="csp"`` starts EEGNet's spatial filters as CSP's filters of the
training epochs. CSP estimated from a few dozen trials of many channels also
fits the noise; if training keeps such filters, attributions spread over
channels that carry no signal. This benchmark asks it of simulated EEG with a
known ground truth (:func:`mne_xai.simulation.simulate_epochs`, 120 epochs of
the ``temporal`` and ``spatial`` kinds, SNR 1, the first 80 to train), with the
random start of the same estimator as the anchor, trained in the same run:
held-out accuracy, and DeepLIFT's relevance mass accuracy (the share of the
relevance inside the ground-truth mask, divided by its chance level, the
share of samples in the mask) and ROC AUC against the ground truth. Run::

    OMP_NUM_THREADS=1 python benchmarks/spatial_init_localization.py

Two kinds on three seeds take about 8 minutes on one core; ``--kinds`` and
``--seeds`` run fewer.
"""

import argparse

import numpy as np

from mne_xai import EEGNetClassifier, explain
from mne_xai.evaluate import localization_scores
from mne_xai.simulation import simulate_epochs

N_TRAIN = 80
STARTS = {"random start": None, "CSP start": "csp"}


def _scores(spatial_init, train, test, truth, seed):
    """Held-out accuracy, relevance mass over its chance level, and ROC AUC."""
    estimator = EEGNetClassifier(
        spatial_init=spatial_init, random_state=seed, verbose=False
    ).fit(train)
    maps = explain(estimator, test, "deeplift", target="true", verbose=False)
    scores = localization_scores(maps, truth).mean(numeric_only=True)
    chance = (truth.get_data() >= 0.5).mean()
    return (
        estimator.score(test, test.events[:, 2]),
        scores["relevance_mass_accuracy"] / chance,
        scores["roc_auc"],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["temporal", "spatial"],
        choices=["temporal", "spatial"],
    )
    args = parser.parse_args()
    # No warnings filter: a full run (both kinds, seeds 0 to 2) warns of
    # nothing, and a training warning that did show (a class never predicted)
    # bears on the scores printed.
    print("EEGNet defaults, DeepLIFT of the true class on 40 held-out epochs\n")
    results = {}
    for kind in args.kinds:
        for seed in args.seeds:
            epochs, truth = simulate_epochs(
                kind, n_epochs=120, snr=1.0, random_state=seed, verbose=False
            )
            train, test = epochs[:N_TRAIN], epochs[N_TRAIN:]
            for name, spatial_init in STARTS.items():
                accuracy, mass, auc = _scores(
                    spatial_init, train, test, truth[N_TRAIN:], seed
                )
                results.setdefault((kind, name), []).append(mass)
                print(
                    f"{kind:<9} seed {seed}  {name:<13} accuracy {accuracy:.2f}  "
                    f"relevance mass {mass:5.1f} x chance  ROC AUC {auc:.2f}",
                    flush=True,
                )
    print("\nMedian relevance mass over seeds (x chance):")
    for (kind, name), masses in results.items():
        print(f"  {kind:<9} {name:<13} {np.median(masses):5.1f}")


if __name__ == "__main__":
    main()
