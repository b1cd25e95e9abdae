"""The ``mne-xai`` command."""

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def _csp_lda():
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        CSP(n_components=4, reg=None, log=True, norm_trace=False),
        LinearDiscriminantAnalysis(),
    )


def _cross_validate(name, make_estimator, epochs, y, cv):
    """Fit and score one estimator per fold, printing a line of progress per fold."""
    scores = []
    for fold, (train, test) in enumerate(cv.split(epochs.get_data(), y), 1):
        start = time.perf_counter()
        estimator = make_estimator().fit(epochs[train], y[train])
        scores.append(estimator.score(epochs[test], y[test]))
        print(
            f"  {name:<26} fold {fold}/{cv.get_n_splits()}: accuracy "
            f"{scores[-1]:.3f} ({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
    return np.array(scores)


def demo(args):
    """Cross-validate EEGNet and InterpretableCNN against CSP+LDA on EEGBCI."""
    import mne
    from sklearn.model_selection import ShuffleSplit

    from . import EEGNetClassifier, InterpretableCNNClassifier
    from .datasets import load_eegbci

    mne.set_log_level("WARNING")
    print(
        f"EEGBCI subject {args.subject}, imagined hands vs feet (runs 6, 10, 14), "
        "7-30 Hz; data through mne.datasets.eegbci (MNE_DATA).",
        flush=True,
    )
    epochs = load_eegbci(args.subject, "hands_vs_feet")
    y = epochs.events[:, 2]
    cv = ShuffleSplit(args.n_splits, test_size=0.2, random_state=42)
    # CSP uses 1-2 s as in MNE's CSP example; the networks see the imagery period.
    csp_epochs = epochs.copy().crop(1.0, 2.0)
    net_epochs = epochs.copy().crop(0.0, 4.0)
    network_params = dict(
        max_epochs=args.max_epochs, batch_size=8, lr=3e-3, random_state=0, verbose=False
    )
    candidates = [
        ("CSP+LDA (1-2 s)", _csp_lda, csp_epochs),
        (
            "EEGNetClassifier (0-4 s)",
            lambda: EEGNetClassifier(**network_params),
            net_epochs,
        ),
        (
            "InterpretableCNN (0-4 s)",
            lambda: InterpretableCNNClassifier(**network_params),
            net_epochs,
        ),
    ]
    results = {}
    for name, make_estimator, data in candidates:
        print(f"{name}:", flush=True)
        start = time.perf_counter()
        scores = _cross_validate(name, make_estimator, data, y, cv)
        results[name] = (scores, time.perf_counter() - start)

    chance = np.bincount(y).max() / len(y)
    print(f"\n{'method':<26} {'accuracy':>15} {'time (s)':>9}")
    for name, (scores, seconds) in results.items():
        print(f"{name:<26} {scores.mean():>7.3f} ± {scores.std():.3f} {seconds:>9.1f}")
    print(f"{'chance (majority class)':<26} {chance:>7.3f}")
    print(f"\n{args.n_splits} shuffle splits, 20% test, random_state=42.")

    print("\nExplaining EEGNet trained on all epochs:", flush=True)
    eegnet = EEGNetClassifier(**network_params).fit(net_epochs)
    _save_explanations(eegnet, net_epochs, args.output)
    _print_trust(eegnet, net_epochs)
    return 0


def _print_trust(estimator, epochs):
    """Print faithfulness (deletion AOPC) and a model-randomization sanity check."""
    from .evaluate import deletion_curve, parameter_randomization_check

    print(
        "\nCan the maps be trusted? Deletion: the 64-step curve of the true-class "
        "logit as the most relevant samples are zeroed (AOPC: mean drop, higher is "
        "more faithful). Sanity: Spearman similarity of |maps| once every layer "
        "is re-initialized (passes below 0.4).",
        flush=True,
    )
    print(f"{'method':<22} {'AOPC':>8} {'sanity':>8} {'verdict':>8}")
    for method in ("random", "saliency", "gradient_x_input", "deeplift", "lrp_epsilon"):
        curve = deletion_curve(
            estimator, epochs, method, target="true", random_state=0, verbose=False
        )
        if method == "random":
            print(f"{method:<22} {curve.aopc.mean():>8.3f}")
            continue
        sanity = parameter_randomization_check(
            estimator, epochs, method, target="true", random_state=0, verbose=False
        )
        similarity = sanity.mean["spearman_abs"].iloc[-1]
        verdict = "passes" if sanity.passes else "fails"
        print(f"{method:<22} {curve.aopc.mean():>8.3f} {similarity:>8.2f} {verdict:>8}")


def _save_explanations(estimator, epochs, output):
    """Save class topomaps, a joint plot, a method comparison and band maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .attribution import explain, explain_spectrum
    from .viz import (
        plot_attribution_joint,
        plot_band_topomaps,
        plot_class_topomaps,
        plot_method_comparison,
    )

    output.mkdir(parents=True, exist_ok=True)
    deeplift = explain(estimator, epochs, "deeplift", target="true", verbose=True)
    spectrum = explain_spectrum(
        estimator, epochs, "gradient_x_input", target="true", average=True
    )
    methods = ["saliency", "gradient_x_input", "integrated_gradients", "deeplift"]
    methods += ["lrp_epsilon", "guided_backprop", "guided_grad_cam"]
    figures = {
        "deeplift_class_topomaps.png": plot_class_topomaps(deeplift, show=False),
        "deeplift_joint.png": plot_attribution_joint(
            deeplift.average(), title="DeepLIFT, true class", show=False
        ),
        "method_comparison.png": plot_method_comparison(
            estimator, epochs, methods, show=False
        ),
        "spectral_relevance_bands.png": plot_band_topomaps(spectrum, show=False),
    }
    for name, figure in figures.items():
        figure.savefig(output / name, dpi=120)
        plt.close(figure)
        print(f"  saved {output / name}")


def main(argv=None):
    """Run the ``mne-xai`` command line."""
    parser = argparse.ArgumentParser(
        prog="mne-xai",
        description="Explainable deep learning on EEG with MNE-Python.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo",
        help="cross-validate EEGNet and InterpretableCNN against CSP+LDA on EEGBCI",
    )
    demo_parser.add_argument("--subject", type=int, default=1, help="EEGBCI subject")
    demo_parser.add_argument(
        "--n-splits", type=int, default=5, help="number of shuffle splits"
    )
    demo_parser.add_argument(
        "--max-epochs", type=int, default=60, help="training epochs of the networks"
    )
    demo_parser.add_argument(
        "--output",
        type=Path,
        default=Path("mne_xai_output"),
        help="folder for the figures (created if needed)",
    )
    args = parser.parse_args(argv)
    return {"demo": demo}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
