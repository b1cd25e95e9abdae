"""The ``mne-xai`` command."""

import argparse
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ._warnings import quietly


def _int_in(low, high=None):
    """Return an argparse type reading an integer from ``low`` to ``high``."""

    def read(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{value} is not {bounds}")
        return value

    return read


def _user_path(value):
    """Return a path argument with ``~`` expanded (shells leave it in ``--output=~/x``)."""
    return Path(value).expanduser()


def _cross_validate(name, make_estimator, epochs, y, cv):
    """Fit one estimator per fold, printing a line of progress per fold.

    Return the accuracy of each fold and its predictions of its held-out epochs.
    """
    scores, predictions = [], []
    for fold, (train, test) in enumerate(cv.split(epochs.get_data(), y), 1):
        start = time.perf_counter()
        estimator = make_estimator().fit(epochs[train], y[train])
        predictions.append(np.asarray(estimator.predict(epochs[test])))
        scores.append(np.mean(predictions[-1] == y[test]))
        schedule = (
            f"; batch size {estimator.batch_size_}, {estimator.max_epochs_} epochs"
            if hasattr(estimator, "max_epochs_")
            else ""
        )
        print(
            f"  {name:<26} fold {fold}/{cv.get_n_splits()}: accuracy "
            f"{scores[-1]:.3f} ({time.perf_counter() - start:.1f} s{schedule})",
            flush=True,
        )
    return np.array(scores), predictions


def demo(args):
    """Cross-validate EEGNet and InterpretableCNN against CSP+LDA on EEGBCI."""
    from sklearn.model_selection import ShuffleSplit

    from . import EEGNetClassifier, InterpretableCNNClassifier
    from .datasets import load_eegbci
    from .report._accuracy import csp_lda

    try:  # before the minutes of training, not after
        args.output.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=args.output).close()  # an existing folder too
    except OSError as err:
        print(
            f"mne-xai demo: error: cannot write the figures to {args.output} "
            f"({err.strerror or type(err).__name__}); choose another --output.",
            file=sys.stderr,
        )
        return 1
    print(
        f"EEGBCI subject {args.subject}, imagined hands vs feet (runs 6, 10, 14), "
        "7-30 Hz; data through mne.datasets.eegbci (MNE_DATA).",
        flush=True,
    )
    try:
        epochs = load_eegbci(args.subject, "hands_vs_feet")
    except OSError as err:  # no data here and no network (requests' errors too)
        message = " ".join(str(err).split()) or type(err).__name__
        print(
            f"mne-xai demo: error: cannot read EEGBCI subject {args.subject} "
            f"({message}); set MNE_DATA to a folder holding MNE-eegbci-data.",
            file=sys.stderr,
        )
        return 1
    y = epochs.events[:, 2]
    cv = ShuffleSplit(args.n_splits, test_size=0.2, random_state=42)
    # CSP uses 1-2 s as in MNE's CSP example; the networks see the imagery period.
    csp_epochs = epochs.copy().crop(1.0, 2.0)
    net_epochs = epochs.copy().crop(0.0, 4.0)
    # The networks' defaults, as a user's first fit gets them: what the demo
    # shows is what the estimators do, not settings picked for this recording.
    network_params = dict(random_state=0, verbose=False)
    if args.max_epochs is not None:
        network_params["max_epochs"] = args.max_epochs
    candidates = [
        ("CSP+LDA (1-2 s)", lambda: csp_lda(len(csp_epochs.ch_names)), csp_epochs),
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
        scores, predictions = _cross_validate(name, make_estimator, data, y, cv)
        results[name] = (scores, predictions, time.perf_counter() - start)

    beats_chance = _print_accuracies(results, y, cv)

    print("\nExplaining EEGNet trained on all epochs:", flush=True)
    if not beats_chance["EEGNetClassifier (0-4 s)"]:
        print(
            "  Warning: EEGNet did not beat chance above; its maps explain noise.",
            flush=True,
        )
    eegnet = EEGNetClassifier(**network_params).fit(net_epochs)
    _save_explanations(eegnet, net_epochs, args.output)
    _print_trust(eegnet, net_epochs)
    return 0


def _print_accuracies(results, y, cv):
    """Print each candidate's accuracy beside chance; return whether it beats it.

    ``results`` maps each candidate's name to its accuracy per fold, its
    predictions of each fold's held-out epochs and the seconds it took.
    """
    from .evaluate._chance import held_out_chance, held_out_verdict

    held_out = [test for _, test in cv.split(np.zeros((len(y), 1)), y)]
    print(f"\n{'method':<26} {'accuracy':>15} {'time (s)':>9}  beats chance?")
    beats_chance = {}
    for name, (scores, predictions, seconds) in results.items():
        # Tested as the report tests its network: the same chance, test and words.
        verdict = held_out_verdict(y, held_out, predictions, random_state=0)
        beats_chance[name] = verdict.beats_chance
        answer = "yes" if verdict.beats_chance else "NO: do not read its maps"
        # The spread over folds as the report gives it (ddof=1); none for one
        # split (--n-splits 1), whose spread was NaN after NumPy's warnings.
        spread = f"± {scores.std(ddof=1):.3f}" if len(scores) > 1 else " " * 7
        print(
            f"{name:<26} {scores.mean():>7.3f} {spread} {seconds:>9.1f}"
            f"  {answer}: {verdict.describe('held-out epochs')}"
        )
    print(f"{'chance (majority class)':<26} {held_out_chance(y, held_out):>7.3f}")
    print(
        f"\n{cv.get_n_splits()} shuffle splits, 20% test, random_state="
        f"{cv.random_state}. Chance is always answering the class most frequent "
        "among the held-out epochs, each as often as the splits test it (a "
        "shuffle split tests some epochs more than once, others never). Each "
        "candidate's held-out predictions are tested as the report tests its "
        "network's, every epoch counted once: where the classes of the epochs "
        "tested are unequal, by balanced accuracy against one over the number "
        "of classes (shuffling the labels), else by a one-sided binomial test "
        "of the accuracy against chance."
    )
    return beats_chance


def _print_trust(estimator, epochs):
    """Print how far to trust each method: deletion and randomization, read together."""
    from .evaluate import trust_summary
    from .report import DEFAULT_METHODS

    print("\nCan the maps be trusted?", flush=True)
    summary = trust_summary(
        estimator,
        epochs,
        DEFAULT_METHODS,
        random_state=0,
        verbose=quietly(),
    )
    print(summary)
    print()
    print(summary.describe())


def _save_explanations(estimator, epochs, output):
    """Save class topomaps, a joint plot, a method comparison and band maps.

    Figures are made with ``show=False`` and closed once saved: the caller's
    matplotlib backend is left as it is (``mne_xai.cli.main`` may run
    in-process, e.g. in a notebook, whose backend switching to Agg stayed
    switched).
    """
    from .attribution import explain, explain_spectrum
    from .viz import (
        _close_figure,
        plot_attribution_joint,
        plot_band_topomaps,
        plot_class_topomaps,
        plot_method_comparison,
    )

    deeplift = explain(estimator, epochs, "deeplift", target="true", verbose=True)
    spectrum = explain_spectrum(
        estimator, epochs, "gradient_x_input", target="true", average=True
    )
    methods = ["saliency", "gradient_x_input", "integrated_gradients", "deeplift"]
    methods += ["lrp_epsilon", "guided_backprop", "guided_grad_cam"]
    figures = {
        # DeepLIFT's contributions add up to the logit's change: their unit.
        "deeplift_class_topomaps.png": plot_class_topomaps(
            deeplift, units="logit", show=False
        ),
        "deeplift_joint.png": plot_attribution_joint(
            deeplift.average(), units="logit", title="DeepLIFT, true class", show=False
        ),
        "method_comparison.png": plot_method_comparison(
            estimator, epochs, methods, show=False
        ),
        "spectral_relevance_bands.png": plot_band_topomaps(
            spectrum, units="relevance (logit)", show=False
        ),
    }
    for name, figure in figures.items():
        figure.savefig(output / name, dpi=120)
        _close_figure(figure)
        print(f"  saved {output / name}")


def report(args):
    """Write the HTML report of a network on an epochs file or a data set."""
    from .report._command import run_report

    show_warning = warnings.showwarning
    printed = set()

    def print_warning(message, category, *args, **kwargs):
        # Warnings about the data and the network (RuntimeWarning, as MNE's) in
        # one line, as the errors: their source line is no help to the reader.
        # Once each: a check of the data warns at every call of the network.
        if issubclass(category, RuntimeWarning):
            if str(message) not in printed:
                printed.add(str(message))
                print(f"mne-xai report: warning: {message}", file=sys.stderr)
        else:
            show_warning(message, category, *args, **kwargs)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = print_warning
            run_report(
                args.input,
                args.output,
                model=args.model,
                save_model=args.save_model,
                methods=args.methods,
                cv=args.cv,
                format=args.format,
                estimator=args.estimator,
                max_epochs=args.max_epochs,
                picks=args.picks,
                class_weight=args.class_weight,
                groups=None if args.groups == "none" else args.groups,
                checks=args.checks,
                overwrite=args.overwrite,
            )
    except (ValueError, TypeError, OSError) as err:
        # Bad files, data and arguments: one line that says what to fix.
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"mne-xai report: error: {message}", file=sys.stderr)
        return 1
    return 0


def _add_report_parser(commands):
    from .attribution import list_methods
    from .report import DEFAULT_METHODS
    from .report._command import ESTIMATORS
    from .report._inputs import DATASETS, FORMATS

    parser = commands.add_parser(
        "report",
        help="write an HTML report: accuracy, explanations, how far to trust them",
        description="Cross-validate a network on epochs (with chance and two "
        "classical references), explain it, run the trust checks and write one HTML page "
        "(mne_xai.report.make_report). The data are checked before training; the "
        "output is written to a temporary file and renamed at the end.",
        epilog="INPUT is an epochs file or a built-in data set: "
        + "; ".join(DATASETS.values())
        + ". Other formats: read the epochs with MNE in Python and save them with "
        "epochs.save('name-epo.fif').",
    )
    parser.add_argument("input", metavar="INPUT", help="epochs file or data set")
    parser.add_argument(
        "-o", "--output", type=_user_path, required=True, help="the HTML file to write"
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        help="format of INPUT (default: from its extension: "
        + ", ".join(
            f"{ext} {name}" for name, (_, exts) in FORMATS.items() for ext in exts
        )
        + ")",
    )
    parser.add_argument(
        "--model",
        type=_user_path,
        help="a fitted estimator saved with pickle, to explain",
    )
    parser.add_argument(
        "--save-model", type=_user_path, help="save the fitted estimator here (pickle)"
    )
    parser.add_argument(
        "--estimator",
        choices=ESTIMATORS,
        help="the network to train when no --model is given (default: eegnet)",
    )
    parser.add_argument(
        "--max-epochs",
        type=_int_in(1),
        help="training epochs of the network (default: its own schedule)",
    )
    parser.add_argument(
        "--picks",
        nargs="+",
        metavar="CHANNEL",
        help="channels the network reads: names or types (e.g. eeg eog), or all "
        "(default: the good data channels; bad, stimulus, EOG, ECG, EMG and misc "
        "channels left out)",
    )
    parser.add_argument(
        "--class-weight",
        choices=["balanced"],
        help="weigh each class by n_epochs / (n_classes * its count) in training, "
        "so rare classes count as much (default: every epoch alike)",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(DEFAULT_METHODS),
        choices=list_methods(),
        metavar="METHOD",
        help=f"attribution methods (default: {' '.join(DEFAULT_METHODS)})",
    )
    parser.add_argument(
        "--cv", type=_int_in(2), default=5, help="cross-validation folds (default: 5)"
    )
    parser.add_argument(
        "--groups",
        default="auto",
        metavar="COLUMN",
        help="metadata column whose groups (e.g. subject) each stay in one fold, or "
        "none to mix them (default: subject, where the metadata hold several)",
    )
    parser.add_argument(
        "--no-checks",
        dest="checks",
        action="store_false",
        help="skip the trust checks (deletion and randomization)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing output files"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print errors and warnings only"
    )


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
        description="Cross-validate EEGNet and InterpretableCNN (on the imagery "
        "period, 0-4 s) against CSP+LDA (on 1-2 s, as MNE's CSP example) on one "
        "EEGBCI subject's imagined hands vs feet, read through "
        "mne.datasets.eegbci from the folder MNE_DATA names; then explain an "
        "EEGNet trained on all epochs, save its figures in --output and print "
        "how far to trust its maps (mne_xai.evaluate.trust_summary).",
    )
    demo_parser.add_argument(
        "--subject",
        type=_int_in(1, 109),
        default=1,
        help="EEGBCI subject, 1-109 (default: 1)",
    )
    demo_parser.add_argument(
        "--n-splits",
        type=_int_in(1),
        default=5,
        help="number of shuffle splits (default: 5)",
    )
    demo_parser.add_argument(
        "--max-epochs",
        type=_int_in(1),
        help="training epochs of the networks (default: their own schedule, "
        "from the number of training epochs)",
    )
    demo_parser.add_argument(
        "--output",
        type=_user_path,
        default=Path("mne_xai_output"),
        help="folder for the figures, created if needed (default: mne_xai_output)",
    )
    _add_report_parser(commands)
    args = parser.parse_args(argv)
    from mne.utils import use_log_level

    from .report._command import exiting_on_signal

    # MNE's warnings only, and the steps of a report unless --quiet; main,
    # also called in-process (tests, notebooks), gives the caller's level back.
    level = "INFO" if args.command == "report" and not args.quiet else "WARNING"
    with exiting_on_signal(signal.SIGTERM), use_log_level(level):
        try:
            return {"demo": demo, "report": report}[args.command](args)
        except KeyboardInterrupt:
            print(f"mne-xai {args.command}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
