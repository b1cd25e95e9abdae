"""EEGNet on raw epochs vs on their log-power spectra, on EEGBCI and drowsiness.

Truong et al. (2021) trained the same kind of network on raw EEG and on its
spectral features and found raw data better. This repeats the comparison with
one network, EEGNet with its defaults (only ``random_state`` set), given

- *raw*: the epochs themselves (:class:`mne_xai.EEGNetClassifier`);
- *spectra*: their log-power spectra, Welch with one-second segments from 1
  to 40.75 Hz (:class:`mne_xai.inspect.SpectralClassifier`, defaults).

Both inputs are scored on the same folds, for several seeds; the table gives
the mean accuracy over folds for each seed, then the mean and standard
deviation over seeds, and the paired difference (spectra minus raw).

- EEGBCI subject 1, imagined hands vs feet (runs 6, 10, 14; 7-30 Hz band-pass
  of :func:`mne_xai.datasets.load_eegbci`), the imagery period 0.5-2.5 s,
  ``StratifiedKFold(5, shuffle=True, random_state=42)``.
- Driver drowsiness (Oz, 3-s epochs at 128 Hz), leave one subject out over the
  first ``--subjects`` subjects (all 11 by default).

For the spectral model of the first seed, the held-out epochs of every fold
are explained with :func:`mne_xai.inspect.explain_spectral_classifier`
(DeepLIFT from the mean training spectrum, the true class), and the share of
the relevance that falls in each band is printed per class: what the spectral
network used.

Run it with the data folder of ``shared/data/README.md`` in ``MNE_DATA``::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/raw_vs_spectra.py

``--quick`` checks that the script runs (one seed, two drowsiness subjects,
three EEGBCI folds, 10 training epochs): its figures mean nothing.

Reference: Truong D., Milham M., Makeig S., Delorme A. (2021). Deep
convolutional neural network applied to electroencephalography: raw data vs
spectral features. IEEE EMBC. doi:10.48550/arXiv.2105.04762
"""

import argparse
import time

import mne
import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_drowsiness, load_eegbci
from mne_xai.inspect import (
    SpectralClassifier,
    explain_spectral_classifier,
)

IMAGERY_WINDOW = (0.5, 2.5)
# Bands for reading the relevance of the spectral model: each starts at its
# edge (Hz) and ends at the next; gamma runs to the top of the spectrum.
BAND_NAMES = ("delta", "theta", "alpha", "beta", "gamma")
BAND_EDGES = (1.0, 4.0, 8.0, 13.0, 30.0)


def eegbci(n_splits):
    """EEGBCI hands vs feet: epochs, labels and the folds."""
    epochs = load_eegbci(1, "hands_vs_feet").crop(*IMAGERY_WINDOW)
    labels = epochs.events[:, 2]
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=42)
    return epochs, labels, list(cv.split(labels, labels))


def drowsiness(n_subjects):
    """Drowsiness, the first ``n_subjects`` subjects: epochs, labels and folds."""
    epochs = load_drowsiness(subjects=list(range(1, n_subjects + 1)))
    labels = epochs.events[:, 2]
    subjects = epochs.metadata["subject"].to_numpy()
    return epochs, labels, list(LeaveOneGroupOut().split(labels, groups=subjects))


def models(seed, max_epochs, device):
    """The same EEGNet on raw epochs and on spectra."""
    network = EEGNetClassifier(
        random_state=seed, max_epochs=max_epochs, device=device, verbose=False
    )
    return {"raw": network, "spectra": SpectralClassifier(clone(network))}


def band_shares(relevance, labels, freqs):
    """Share of each class's relevance (summed over channels) in each band."""
    band = np.digitize(freqs, BAND_EDGES) - 1
    shares = {}
    for label in np.unique(labels):
        # Each frequency's contribution to the logit, averaged over epochs.
        profile = np.abs(relevance[labels == label].sum(axis=1).mean(axis=0))
        per_band = np.bincount(band, weights=profile, minlength=len(BAND_NAMES))
        shares[label] = per_band / profile.sum()
    return shares


def evaluate(name, epochs, labels, folds, seeds, max_epochs, device):
    """Print accuracies per seed and input, then the spectral model's bands."""
    print(f"\n== {name}: {len(labels)} epochs, {len(folds)} folds, on {device} ==")
    accuracies = {"raw": [], "spectra": []}
    relevance, relevance_labels = [], []
    for seed in seeds:
        for kind, model in models(seed, max_epochs, device).items():
            start = time.perf_counter()
            fold_scores = []
            for train, test in folds:
                fitted = clone(model).fit(epochs[train], labels[train])
                fold_scores.append(fitted.score(epochs[test], labels[test]))
                if kind == "spectra" and seed == seeds[0]:
                    explained = explain_spectral_classifier(
                        fitted, epochs[test], target="true", verbose=False
                    )
                    relevance.append(explained.get_data())
                    relevance_labels.append(labels[test])
            accuracies[kind].append(np.mean(fold_scores))
            print(
                f"seed {seed} {kind:>7}: {np.mean(fold_scores):.3f} "
                f"(folds {np.round(fold_scores, 2).tolist()}, "
                f"{time.perf_counter() - start:.0f} s)"
            )
    raw, spectra = np.array(accuracies["raw"]), np.array(accuracies["spectra"])
    chance = np.bincount(labels).max() / len(labels)
    print(f"{'input':>10} {'mean':>6} {'sd':>6}  over {len(seeds)} seed(s)")
    for kind, values in (("raw", raw), ("spectra", spectra)):
        print(f"{kind:>10} {values.mean():>6.3f} {values.std():>6.3f}")
    difference = spectra - raw
    print(f"{'spec-raw':>10} {difference.mean():>+6.3f} {difference.std():>6.3f}")
    print(f"{'chance':>10} {chance:>6.3f}")

    event_names = {code: name for name, code in epochs.event_id.items()}
    print("Spectral model, share of |DeepLIFT relevance| per band (first seed):")
    shares = band_shares(
        np.concatenate(relevance), np.concatenate(relevance_labels), explained.freqs
    )
    bands = [
        f"{name} {low:g}-{high:g}"
        for name, low, high in zip(
            BAND_NAMES, BAND_EDGES, (*BAND_EDGES[1:], explained.freqs[-1]), strict=True
        )
    ]
    print(f"{'class':>10} " + " ".join(f"{band:>12}" for band in bands))
    for label, share in shares.items():
        row = " ".join(f"{value:>12.2f}" for value in share)
        print(f"{event_names[label]:>10} {row}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--subjects",
        type=int,
        default=11,
        help="drowsiness subjects, the first N of 11 (default all)",
    )
    parser.add_argument("--datasets", nargs="+", default=["eegbci", "drowsiness"])
    parser.add_argument(
        "--quick", action="store_true", help="a fast check that the script runs"
    )
    parser.add_argument(
        "--device", default="cpu", help='where networks train and run, e.g. "cuda"'
    )
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available on this machine.")
    if not 2 <= args.subjects <= 11:
        parser.error("--subjects must be between 2 and 11.")
    torch.set_num_threads(1)
    mne.set_log_level("WARNING")
    seeds, subjects, n_splits, max_epochs = args.seeds, args.subjects, 5, "auto"
    if args.quick:
        seeds, subjects, n_splits, max_epochs = seeds[:1], 2, 3, 10

    start = time.perf_counter()
    if "eegbci" in args.datasets:
        evaluate(
            "EEGBCI subject 1, hands vs feet",
            *eegbci(n_splits),
            seeds,
            max_epochs,
            args.device,
        )
    if "drowsiness" in args.datasets:
        evaluate(
            f"Drowsiness (Oz), leave one of {subjects} subjects out",
            *drowsiness(subjects),
            seeds,
            max_epochs,
            args.device,
        )
    print(f"\nTotal time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
