"""Memory of prediction, inspection and explanation on Epochs read from disk.

A recording that does not fit in memory is read lazily
(``mne.read_epochs(..., preload=False)``); the estimators and functions that
take Epochs should then read it a batch at a time, so that their memory does
not grow with the number of epochs. This script measures it.

``--n-epochs`` simulated epochs (``simulate_epochs("spectral")``: 32 channels,
1 s at 256 Hz) are written to one ``.fif`` file; a default EEGNet is trained on
200 other simulated epochs. Each function then runs in a fresh process on the
lazily read file, on its first quarter and on all of it, and the peak memory it
adds (the peak RSS during the call minus the RSS before it, with the package,
the network and the lazy Epochs loaded; read from ``/proc``, so on Linux only)
is printed beside two anchors measured in the same run: the data's size in
float32, and what reading it whole costs (``epochs.get_data()``). Goal: the added memory of every function grows by
less than the data's float32 size from a quarter of the file to all of it
(streaming), where reading it whole grows by about twice that (float64).

Run::

    OMP_NUM_THREADS=1 python benchmarks/streaming_memory.py
    OMP_NUM_THREADS=1 python benchmarks/streaming_memory.py --n-epochs 4000  # ~2 min

The file is written to ``--data-dir`` (a temporary folder by default) and
reused when present.
"""

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mne_xai import explain
from mne_xai.inspect import best_samples

#: What each measured process runs on the lazy Epochs with the fitted
#: classifier (the anchor first).
CALLS = {
    "epochs.get_data() (anchor)": lambda clf, epochs: epochs.get_data(),
    "predict_proba": lambda clf, epochs: clf.predict_proba(epochs),
    "score": lambda clf, epochs: clf.score(epochs),
    "adapt_batch_norm": lambda clf, epochs: clf.adapt_batch_norm(epochs),
    "inspect.best_samples": lambda clf, epochs: best_samples(clf, epochs, k=10),
    "explain(deeplift, average=True)": lambda clf, epochs: explain(
        clf, epochs, "deeplift", average=True, target="true"
    ),
}
SIMULATION = dict(sfreq=256.0, snr=1.0)


def memory_status(field):
    """Return ``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024


def reset_peak_memory():
    """Start the peak (``VmHWM``) afresh from the current memory (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(model, fname, n_epochs, call):
    """Run in a fresh process: print the max RSS added by ``call`` and its time."""
    import mne

    with open(model, "rb") as file:
        clf = pickle.load(file)
    epochs = mne.read_epochs(fname, preload=False, verbose=False)[:n_epochs]
    reset_peak_memory()
    before, start = memory_status("VmRSS"), time.perf_counter()
    CALLS[call](clf, epochs)
    seconds = time.perf_counter() - start
    print(f"{memory_status('VmHWM') - before} {seconds}")


def measured(model, fname, n_epochs, call):
    command = [sys.executable, __file__, "--measure", str(model), str(fname)]
    command += [str(n_epochs), call]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    added, seconds = output.stdout.split()[-2:]
    return int(added) / 1e6, float(seconds)


def prepare(data_dir, n_epochs):
    from mne_xai import EEGNetClassifier
    from mne_xai.simulation import simulate_epochs

    fname = data_dir / f"spectral-{n_epochs}-epo.fif"
    if not fname.exists():
        epochs, _ = simulate_epochs(
            "spectral", n_epochs=n_epochs, random_state=0, verbose=False, **SIMULATION
        )
        epochs.save(fname, verbose=False)
    training, _ = simulate_epochs(
        "spectral", n_epochs=200, random_state=1, verbose=False, **SIMULATION
    )
    clf = EEGNetClassifier(random_state=0, verbose=False).fit(training)
    model = data_dir / "eegnet.pkl"
    with open(model, "wb") as file:
        pickle.dump(clf, file)
    return fname, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-epochs", type=int, default=16_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        model, fname, n_epochs, call = args.measure
        measure(model, fname, int(n_epochs), call)
        return
    with tempfile.TemporaryDirectory() as temporary:
        data_dir = args.data_dir or Path(temporary)
        data_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        fname, model = prepare(data_dir, args.n_epochs)
        print(f"Data and network ready in {time.perf_counter() - start:.0f} s")
        sizes = (args.n_epochs // 4, args.n_epochs)
        # 32 channels x 256 samples in float32.
        float32 = [n * 32 * 256 * 4 / 1e6 for n in sizes]
        print(
            f"\nPeak RSS added by each call (MB), on the first {sizes[0]} and on all "
            f"{sizes[1]} epochs of {fname.name}, read lazily;\n"
            f"the data in float32: {float32[0]:.0f} and {float32[1]:.0f} MB "
            f"(growth {float32[1] - float32[0]:.0f} MB)\n"
        )
        print(f"{'call':34} {sizes[0]:>8} {sizes[1]:>8} {'growth':>8} {'s (all)':>8}")
        growths = {}
        for call in CALLS:
            (small, _), (large, seconds) = (
                measured(model, fname, n, call) for n in sizes
            )
            growths[call] = large - small
            print(
                f"{call:34} {small:8.0f} {large:8.0f} {large - small:8.0f} "
                f"{seconds:8.1f}"
            )
        limit = float32[1] - float32[0]
        streaming = [call for call in CALLS if "anchor" not in call]
        within = [call for call in streaming if growths[call] < limit]
        print(
            f"\nGoal, growth below the data's float32 growth ({limit:.0f} MB): "
            f"{len(within)} of {len(streaming)} calls"
            + (
                ""
                if len(within) == len(streaming)
                else f" (not: {', '.join(sorted(set(streaming) - set(within)))})"
            )
        )


if __name__ == "__main__":
    main()
