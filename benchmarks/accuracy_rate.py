"""Does EEGNet learn as well from a fast recording as from the paper's 128 Hz?

A stranger's recording is often sampled at 250-1000 Hz. EEGNet is defined at
128 Hz; mne_xai's EEGNet keeps its durations at any rate (temporal kernel of
half a second, first pooling grown so that the separable convolution runs at
about 32 Hz). This benchmark simulates one data set at ``--sfreq`` (default
512 Hz: ``simulate_epochs("spectral")``, alpha vs beta bursts from one source,
32 channels, 1.5 s epochs; ``--n-epochs`` epochs (200) at ``--snr`` (0.3),
drawn once with ``random_state=42``) and scores, on the same folds
(``StratifiedKFold(3, shuffle=True, random_state=seed)``) and in the same run:

- ``default``: ``EEGNetClassifier(random_state=seed)`` on the data as they are;
- ``paper pooling``: the same with the paper's fixed pooling by 4
  (``module__pool_length=4``; the separable kernel follows, half a second at
  ``sfreq / 4``), the network mne_xai built before it kept the pooling's
  duration;
- ``low-passed``: the default on the data low-passed at 40 Hz, at ``--sfreq``
  (which separates the filter's share of ``decimated``'s gain from the rate's);
- ``decimated``: the default on the data low-passed at 40 Hz and decimated to
  ``--sfreq / 4`` (what MNE's tutorials do before decoding);
- CSP+LDA (MNE's motor-imagery pipeline) on the data as they are.

It prints the accuracy per seed, their mean, and the median fit time. Run::

    OMP_NUM_THREADS=1 python benchmarks/accuracy_rate.py

A fit at 512 Hz takes 1.5 to 4 minutes (at least 1,000 optimizer steps
whatever the number of epochs), ten times a fit of the decimated epochs. The
user guide quotes ``--n-epochs 100 --snr 0.2 --seeds 0 1 2 3 4 5 6 7 8
--variants decimated default`` (noisy enough that no variant is perfect), about
five minutes a seed on one core; ``--variants`` runs some of the variants (e.g.
one process per core), ``--quick`` one seed on 60 epochs. EEGNet's accuracy on
these epochs varies with the seed as much as with the rate (0.50 to 0.80
decimated): compare variants over several seeds.
"""

import argparse
import time
import warnings

import mne
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from mne_xai import EEGNetClassifier
from mne_xai.report._accuracy import csp_lda
from mne_xai.simulation import simulate_epochs

N_FOLDS = 3
SIMULATION = dict(kind="spectral", duration=1.5, random_state=42)
# The first pooling of the paper's network, whatever the rate.
PAPER_POOLING = 4
VARIANTS = ("default", "paper pooling", "low-passed", "decimated", "CSP+LDA")


def estimators(epochs, seed):
    """{variant: (unfitted estimator, the data it sees)}."""
    network = dict(random_state=seed, verbose=False)
    low_passed = epochs.copy().filter(None, 40.0, verbose=False)
    decimated = low_passed.copy().decimate(4)
    return {
        "default": (EEGNetClassifier(**network), epochs),
        "paper pooling": (
            EEGNetClassifier(**network, module__pool_length=PAPER_POOLING),
            epochs,
        ),
        "low-passed": (EEGNetClassifier(**network), low_passed),
        "decimated": (EEGNetClassifier(**network), decimated),
        "CSP+LDA": (csp_lda(len(epochs.ch_names)), epochs.get_data()),
    }


def describe(estimator, X):
    """Rate and the network's first pooling, as fitted."""
    if not isinstance(estimator, EEGNetClassifier):
        return "-"
    module = estimator.module_
    pool = module.spatial_pool.kernel_size[1]
    return (
        f"{X.info['sfreq']:g} Hz, pool {pool}, separable kernel "
        f"{module.separable_depthwise.kernel_size[1]}, dense inputs "
        f"{module.classifier.in_features}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sfreq", type=float, default=512.0)
    parser.add_argument("--n-epochs", type=int, default=200)
    parser.add_argument("--snr", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=VARIANTS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    mne.set_log_level("ERROR")
    # fit's advice to decimate fast epochs quotes what this benchmark measures.
    warnings.filterwarnings("ignore", message="The epochs are sampled at")
    if args.quick:
        args.seeds, args.n_epochs = args.seeds[:1], 60
    epochs, _ = simulate_epochs(
        n_epochs=args.n_epochs,
        snr=args.snr,
        sfreq=args.sfreq,
        **SIMULATION,
        verbose=False,
    )
    y = epochs.events[:, 2]
    print(
        f"Simulated {SIMULATION['kind']}, snr={args.snr:g}, "
        f"{len(epochs)} epochs x {len(epochs.ch_names)} ch x {len(epochs.times)} "
        f"samples at {args.sfreq:g} Hz; StratifiedKFold({N_FOLDS}, shuffle=True, "
        "random_state=seed)\n"
    )
    results = {variant: {} for variant in args.variants}
    for seed in args.seeds:
        folds = StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed).split(y, y)
        candidates = estimators(epochs, seed)
        scores = {variant: [] for variant in args.variants}
        times = {variant: [] for variant in args.variants}
        settings = {}
        for train, test in folds:
            for variant in args.variants:
                estimator, X = candidates[variant]
                fitted = clone(estimator)
                start = time.perf_counter()
                fitted.fit(X[train], y[train])
                times[variant].append(time.perf_counter() - start)
                scores[variant].append(fitted.score(X[test], y[test]))
                settings[variant] = describe(fitted, X)
        for variant in args.variants:
            results[variant][seed] = np.mean(scores[variant])
            print(
                f"seed {seed}  {variant:14s} folds "
                f"{' '.join(f'{score:.3f}' for score in scores[variant])}  mean "
                f"{np.mean(scores[variant]):.3f}  fit {np.median(times[variant]):.0f} "
                f"s (median)  {settings[variant]}",
                flush=True,
            )
    print("\nMean accuracy over folds, per seed, and over seeds:")
    for variant, per_seed in results.items():
        values = list(per_seed.values())
        print(
            f"  {variant:14s} "
            + " / ".join(f"{value:.3f}" for value in values)
            + f"  ({np.mean(values):.3f} +/- {np.std(values):.3f})"
        )


if __name__ == "__main__":
    main()
