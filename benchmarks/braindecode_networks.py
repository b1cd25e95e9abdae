"""Does every method explain braindecode's own networks correctly, or refuse them?

Each network of ``--networks`` (braindecode's classes, by name) is built by
``EEGNetClassifier(module=<class>)`` and trained for two epochs on EEGBCI
subject 1, hands vs feet, 12 sensorimotor channels, 0-4 s (two epochs of
training: what is checked is the computation, not the accuracy). Every
attribution method then explains two epochs (PatternNet and
PatternAttribution with patterns learned on the training epochs). Each cell
of the table is:

- ``ok``: the method ran and gave finite maps; for the methods with an
  invariant, the largest error of it, relative to the logits, follows:
  integrated gradients' completeness and DeepLIFT's summation-to-delta
  (sum of the map = f(x) - f(0)); ``warned`` where integrated gradients'
  integral had not converged at the default 50 steps and mne_xai said so;
- ``refused``: a ``ValueError`` that says why (the text is printed below the
  table, once per distinct reason);
- ``CRASH``: any other exception, which is a defect of mne_xai; a network
  that the estimator cannot build counts all its methods as ``not built``.

With ``--evaluate``, every function of :mod:`mne_xai.evaluate` and
:mod:`mne_xai.inspect` (the layer-wise ones on the first convolution that
``forward`` calls, else on its first layer with parameters) runs on each
network too, each cell ``ok``, ``refused`` or ``CRASH`` as above.

The anchor is the invariant: a DeepLIFT map that runs but misses it by more
than 1%, or an integrated-gradients map that misses it silently, is marked
``WRONG``. Needs braindecode (``pip install braindecode``), which
mne_xai does not depend on. Run::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/braindecode_networks.py

It takes about 5 minutes on one core for the 15 networks up to SincShallowNet
(the 8 added with braindecode 1.8.1, FBCNet on, about one minute more), and
about 20 minutes for all 23 with ``--evaluate``, 13 of them for EEGInceptionMI
(on a 2-core machine shared with other work).
"""

import argparse
import time
import warnings
from collections import defaultdict
from importlib.util import find_spec

import mne
import numpy as np
import torch

from mne_xai import EEGNetClassifier, explain, list_methods
from mne_xai import evaluate as ev
from mne_xai import inspect as ins
from mne_xai._graph import ANY_CONVOLUTION, trace_layers
from mne_xai.attribution import explain_spectrum
from mne_xai.attribution._registry import get_method
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import learn_patterns

NETWORKS = (
    "EEGNet",
    "ShallowFBCSPNet",
    "Deep4Net",
    "EEGNeX",
    "EEGConformer",
    "ATCNet",
    "EEGInceptionMI",
    "EEGInceptionERP",
    "EEGITNet",
    "EEGTCNet",
    "TIDNet",
    "TSception",
    "SCCNet",
    "CTNet",
    "SincShallowNet",
    # Added with braindecode 1.8.1, each for a construct the others lack: a
    # filter bank read through its log-variance, parallel branches ending in
    # einops' Rearrange, a spectrogram front end, parameters held by the
    # network itself, a layer returning several tensors, a parametrized filter,
    # a layer returning integer positions beside its tokens, and a network
    # every method explains.
    "FBCNet",
    "MSVTNet",
    "ContraWR",
    "SyncNet",
    "DGCNN",
    "EEGMiner",
    "PBT",
    "AttentionBaseNet",
)
CHANNELS = [
    "C3",
    "Cz",
    "C4",
    "FC3",
    "FCz",
    "FC4",
    "CP3",
    "CPz",
    "CP4",
    "Fz",
    "Pz",
    "Oz",
]
INVARIANTS = ("integrated_gradients", "deeplift")
TOLERANCE = 0.01


def invariant_error(estimator, epochs, attribution):
    """Largest |sum(map) - (f(x) - f(0))|, relative to the logits' size."""
    data = epochs.get_data()
    target = np.searchsorted(estimator.classes_, epochs.events[:, 2])
    rows = np.arange(len(data))
    logits = estimator._logits(data)
    zero = estimator._logits(np.zeros_like(data))
    delta = logits[rows, target] - zero[rows, target]
    scale = np.abs(logits).max(axis=1) + np.abs(zero).max(axis=1)
    return float(np.max(np.abs(attribution.sum(axis=(1, 2)) - delta) / scale))


def cell(estimator, training, explained, method):
    """Run one method on one network; return the table cell and any reason."""
    params = {}
    if "patterns" in get_method(method).parameters():
        try:
            params["patterns"] = learn_patterns(estimator, training, verbose=False)
        except ValueError as error:
            return "refused", str(error)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            attribution = explain(
                estimator,
                explained,
                method,
                target="true",
                random_state=0,
                verbose=False,
                **params,
            ).get_data()
    except ValueError as error:
        return "refused", str(error)
    except Exception as error:  # noqa: BLE001 - any other exception is the defect
        return "CRASH", f"{type(error).__name__}: {error}"
    if not np.isfinite(attribution).all():
        return "CRASH", "non-finite values in the map"
    if method not in INVARIANTS:
        return "ok", None
    error = invariant_error(estimator, explained, attribution)
    warned = any("miss completeness" in str(warning.message) for warning in caught)
    if error <= TOLERANCE:
        verdict = "ok"
    elif method == "integrated_gradients" and warned:
        verdict = "warned"
    else:
        verdict = "WRONG"
    return f"{verdict} {error:.0e}", None


def evaluations(estimator, training, explained):
    """Name and call of each evaluation and inspection, on a few epochs."""
    module = estimator.module_.eval()
    example = torch.as_tensor(explained.get_data()[:1], dtype=torch.float32)
    calls = trace_layers(module, example, keep_tensors=False)
    # A network without convolution (a transformer on a spectrogram) is
    # inspected at its first layer with parameters: given None, the inspect
    # functions refused "No layer named None", a refusal of the benchmark's own.
    convolutions = (
        call.name for call in calls if isinstance(call.module, ANY_CONVOLUTION)
    )
    with_parameters = (
        call.name for call in calls if next(call.module.parameters(), None) is not None
    )
    layer = next(convolutions, next(with_parameters, None))
    quiet = dict(verbose=False)
    return {
        "deletion_curve": lambda: ev.deletion_curve(
            estimator, explained, method="saliency", n_steps=4, **quiet
        ),
        "perturbation_test": lambda: ev.perturbation_test(
            estimator, explained, method="saliency", n_patches=10, **quiet
        ),
        "channel_perturbation_test": lambda: ev.channel_perturbation_test(
            estimator, explained, method="saliency", **quiet
        ),
        "parameter_randomization_check": lambda: ev.parameter_randomization_check(
            estimator, explained, "saliency", random_state=0, **quiet
        ),
        "target_randomization_check": lambda: ev.target_randomization_check(
            estimator, explained, "saliency", **quiet
        ),
        "explain_spectrum": lambda: explain_spectrum(
            estimator, explained, "integrated_gradients", **quiet
        ),
        "layer_activations": lambda: ins.layer_activations(
            estimator, explained, layer, **quiet
        ),
        "unit_sensitivity": lambda: ins.unit_sensitivity(
            estimator, explained, layer, n_draws=1, **quiet
        ),
        "pruning_curve": lambda: ins.pruning_curve(
            estimator, explained, layer, n_random=1, **quiet
        ),
        "spatial_patterns": lambda: ins.spatial_patterns(estimator, training, **quiet),
        "temporal_filters": lambda: ins.temporal_filters(estimator, **quiet),
        "maximize_activation": lambda: ins.maximize_activation(
            estimator, estimator.classes_[0], n_restarts=1, n_steps=3, **quiet
        ),
        "attribution_patterns": lambda: ins.attribution_patterns(
            estimator, training, "gradient_x_input", **quiet
        ),
    }


def run(call):
    """Run one evaluation: the table cell and any reason."""
    try:
        call()
    except ValueError as error:
        return "refused", str(error)
    except Exception as error:  # noqa: BLE001 - any other exception is the defect
        return "CRASH", f"{type(error).__name__}: {error}"
    return "ok", None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--networks", nargs="+", default=NETWORKS)
    parser.add_argument(
        "--evaluate", action="store_true", help="also run evaluate and inspect"
    )
    args = parser.parse_args()
    if find_spec("braindecode") is None:
        parser.error(
            "braindecode is not installed (pip install braindecode); mne_xai "
            "does not depend on it."
        )
    import braindecode.models

    mne.set_log_level("ERROR")
    warnings.filterwarnings("ignore")
    epochs = load_eegbci(1, "hands_vs_feet", tmin=0.0, tmax=4.0 - 1 / 160)
    epochs = epochs.pick(CHANNELS)
    training, explained = epochs[:20], epochs[20:22]
    methods = [name for name in list_methods() if name != "lrp"]  # lrp = lrp_epsilon
    print(f"braindecode {braindecode.__version__}, torch {torch.__version__}")
    reasons = defaultdict(list)
    counts = defaultdict(int)
    for name in args.networks:
        start = time.perf_counter()
        print(f"\n{name}")
        try:
            estimator = EEGNetClassifier(
                module=getattr(braindecode.models, name),
                max_epochs=2,
                batch_size=8,
                random_state=0,
                verbose=False,
            ).fit(training)
        except Exception as error:  # noqa: BLE001 - a network that does not build
            counts["not built"] += len(methods)
            print(f"  not built: {type(error).__name__}: {error}")
            continue
        results = {
            method: cell(estimator, training, explained, method) for method in methods
        }
        if args.evaluate:
            results.update(
                (what, run(call))
                for what, call in evaluations(estimator, training, explained).items()
            )
        for what, (result, reason) in results.items():
            counts[result.split()[0]] += 1
            print(f"  {what:29s} {result}")
            if reason is not None:
                reasons[reason.split(";")[0].split(". ")[0]].append(f"{name}/{what}")
        print(f"  ({time.perf_counter() - start:.0f} s)")
    print("\nReasons given:")
    for reason, cases in reasons.items():
        print(f"- {reason} [{len(cases)}: {', '.join(cases[:3])}...]")
    print("\nTotals: " + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
