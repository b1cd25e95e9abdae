"""Explanation and evaluation over many recordings: serial, loky and Dask.

N simulated recordings (``simulate_epochs("temporal")`` with one seed per
recording: ``--n-epochs`` epochs of 32 channels, 1 s at 128 Hz), written as
``.fif`` files, are explained (DeepLIFT, averaged per recording) and
evaluated (a deletion curve of ``--n-steps`` steps) with
:func:`mne_xai.recordings.map_recordings`, one task per recording that reads
its file lazily, in three ways:

1. serially in this process (torch on ``--serial-threads`` threads, 1 by
   default, i.e. one core);
2. with ``n_jobs=--n-workers`` on joblib's default backend (loky processes);
3. on a ``dask.distributed.LocalCluster`` of ``--n-workers`` single-threaded
   worker processes on 127.0.0.1, through ``joblib.parallel_backend("dask")``.

Reported: throughput (recordings/s, median of ``--repeats`` rounds after a
warm-up round; serial, loky and Dask take turns within a round, so that the
drifting load of a shared machine weighs on all three alike) and its ratios
(goal: loky >= 1.8x serial with 2 workers on 2 cores; Dask within 15 % of
loky), beside a control: how many cores the machine gives the workers at the
time (a pure-Python loop on the workers vs serially; 2 on an idle machine with
2 cores); the peak memory (max RSS, ``resource.getrusage`` in each worker
task) of each worker over N and over 4N recordings, each run on fresh workers
(goal: ratio <= 1.2); the cost of sending the estimator; that loky and Dask
results equal the serial ones; and a projection of the wall time for 10,000
recordings on a cluster of ``--cluster-workers`` single-threaded workers,
from the measured per-recording cost and parallel efficiency.

Run::

    OMP_NUM_THREADS=1 python benchmarks/scale.py --n-recordings 50
    OMP_NUM_THREADS=1 python benchmarks/scale.py --quick  # smoke run, ~2 min

``OMP_NUM_THREADS=1`` keeps this process's own libraries on one thread; the
workers' torch threads are set by mne_xai (cores // workers). Files are
written to ``--data-dir`` (a temporary folder by default) and reused when
present.
"""

import argparse
import json
import logging
import os
import pickle
import resource
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import joblib
import numpy as np
import torch

from mne_xai import EEGNetClassifier, explain
from mne_xai.evaluate import deletion_curve
from mne_xai.recordings import map_recordings
from mne_xai.recordings._workers import _Shipped
from mne_xai.simulation import simulate_epochs

TRAINING_SEED = 10**6
GOALS = dict(loky_speedup=1.8, dask_vs_loky=0.85, memory_ratio=1.2)


def simulate_recording(path, seed, n_epochs):
    if not path.exists():
        epochs, _ = simulate_epochs(
            "temporal", n_epochs=n_epochs, random_state=seed, verbose=False
        )
        epochs.save(path, verbose=False)
    return path


def write_recordings(folder, n_recordings, n_epochs, n_jobs):
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"sub-{seed:04d}_epo.fif" for seed in range(n_recordings)]
    joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(simulate_recording)(path, seed, n_epochs)
        for seed, path in enumerate(paths)
    )
    return paths


def explain_and_evaluate(estimator, epochs, n_steps):
    """The work per recording: an averaged map, a deletion curve, and memory."""
    wall, cpu = time.perf_counter(), time.process_time()
    evoked = explain(
        estimator, epochs, "deeplift", average=True, random_state=0, verbose=False
    )
    curve = deletion_curve(
        estimator,
        epochs,
        "deeplift",
        n_steps=n_steps,
        random_state=0,
        verbose=False,
    )
    # ru_maxrss is the process's peak resident memory so far, in kB on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if sys.platform == "darwin":
        peak_mb /= 1024  # bytes there
    return dict(
        evoked=evoked.data,
        scores=curve.scores,
        pid=os.getpid(),
        peak_mb=peak_mb,
        task_s=time.perf_counter() - wall,
        task_cpu_s=time.process_time() - cpu,
    )


def import_package():
    import mne_xai.recordings  # noqa: F401


def run(estimator, paths, n_steps, n_jobs=None):
    start = time.perf_counter()
    results = map_recordings(
        explain_and_evaluate,
        estimator,
        paths,
        n_jobs=n_jobs,
        n_steps=n_steps,
        verbose=False,
    )
    return time.perf_counter() - start, results


def run_on_dask(client, estimator, paths, n_steps):
    with joblib.parallel_backend("dask", client=client):
        return run(estimator, paths, n_steps)


def worker_peaks(results):
    """The peak memory (MB) of each worker process, over its tasks."""
    peaks = {}
    for result in results.values():
        peaks[result["pid"]] = max(peaks.get(result["pid"], 0), result["peak_mb"])
    return sorted(peaks.values())


def assert_equal_results(results, expected, name):
    assert list(results) == list(expected), name
    for key, value in expected.items():
        np.testing.assert_array_equal(results[key]["evoked"], value["evoked"])
        np.testing.assert_array_equal(results[key]["scores"], value["scores"])
    print(f"  {name}: results equal to the serial run (assert_array_equal)")


@contextmanager
def dask_cluster(n_workers):
    """A local cluster of single-threaded workers, as joblib's backend."""
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(import_package)  # once per worker, outside the timings
        yield client


def fresh_loky_workers(n_workers):
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(max_workers=n_workers).shutdown(wait=True, kill_workers=True)


def shipping_cost(estimator):
    start = time.perf_counter()
    shipped = _Shipped(estimator)
    dumps = time.perf_counter() - start
    start = time.perf_counter()
    pickle.loads(pickle.dumps(shipped))  # what each loky task costs the worker
    per_task = time.perf_counter() - start
    start = time.perf_counter()
    pickle.loads(shipped.data)
    loads = time.perf_counter() - start
    return dict(
        size_kb=len(shipped.data) / 1024,
        dumps_ms=dumps * 1e3,
        per_task_copy_ms=per_task * 1e3,
        unpickle_ms=loads * 1e3,
    )


def burn(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def available_parallelism(n_workers, n=2_000_000):
    """How many cores the machine gives ``n_workers`` loky workers right now.

    The same pure-Python loop, run ``n_workers`` times one after the other
    here and then at once in the workers: ``n_workers`` on an idle machine,
    less when other processes hold cores. The speed-ups are read against it.
    """
    start = time.perf_counter()
    for _ in range(n_workers):
        burn(n)
    serial = time.perf_counter() - start
    start = time.perf_counter()
    joblib.Parallel(n_jobs=n_workers)(joblib.delayed(burn)(n) for _ in range(n_workers))
    return serial / (time.perf_counter() - start)


def median_rate(seconds, n_recordings):
    return n_recordings / statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-recordings", type=int, default=50)
    parser.add_argument("--n-epochs", type=int, default=20)
    parser.add_argument("--n-steps", type=int, default=8)
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serial-threads", type=int, default=1)
    parser.add_argument("--cluster-workers", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write figures")
    parser.add_argument("--quick", action="store_true", help="smoke run")
    args = parser.parse_args()
    if args.quick:
        args.n_recordings, args.repeats, args.n_steps = 4, 1, 4
    n, n_workers = args.n_recordings, args.n_workers
    figures = dict(vars(args), data_dir=str(args.data_dir), json=None)
    figures["cpu_count"] = joblib.cpu_count()
    figures["load_average"] = os.getloadavg()
    print(
        f"{n} recordings (and {4 * n} for memory) x {args.n_epochs} epochs, "
        f"{n_workers} workers, {joblib.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="mne_xai_scale_"))
    start = time.perf_counter()
    paths = write_recordings(data_dir, 4 * n, args.n_epochs, n_workers)
    print(f"simulated recordings in {data_dir} ({time.perf_counter() - start:.0f} s)")
    training, _ = simulate_epochs(
        "temporal", n_epochs=64, random_state=TRAINING_SEED, verbose=False
    )
    estimator = EEGNetClassifier(
        max_epochs=5, batch_size=16, random_state=0, device=args.device, verbose=False
    ).fit(training)
    figures["shipping"] = shipping_cost(estimator)
    print("estimator shipping: " + json.dumps(figures["shipping"], default=float))

    # Timings: serial, loky and Dask in turn within each round, so that the
    # load of a shared machine, which drifts, weighs on all three alike.
    torch.set_num_threads(args.serial_threads)  # serial: one core
    start = time.perf_counter()
    with dask_cluster(n_workers) as client:
        figures["dask_startup_s"] = time.perf_counter() - start
        fresh_loky_workers(n_workers)
        start = time.perf_counter()
        run(estimator, paths[:1], args.n_steps, n_workers)
        figures["loky_startup_s"] = time.perf_counter() - start
        runs = dict(
            serial=lambda: run(estimator, paths[:n], args.n_steps),
            loky=lambda: run(estimator, paths[:n], args.n_steps, n_workers),
            dask=lambda: run_on_dask(client, estimator, paths[:n], args.n_steps),
        )
        seconds = {name: [] for name in runs}
        parallelism = []
        task_seconds = {name: [] for name in runs}
        results = {}
        for round_ in range(args.repeats + 1):  # round 0 warms up
            for name, timed_run in runs.items():
                elapsed, results[name] = timed_run()
                if round_:
                    seconds[name].append(elapsed)
                    task_seconds[name].extend(
                        (r["task_s"], r["task_cpu_s"]) for r in results[name].values()
                    )
            parallelism.append(available_parallelism(n_workers))
            if round_:
                print(
                    f"  round {round_}: load average {os.getloadavg()[0]:.1f}, "
                    f"available parallelism {parallelism[-1]:.2f}, "
                    + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in seconds.items())
                )
    for name in runs:
        figures[f"{name}_seconds"] = seconds[name]
    figures["available_parallelism"] = parallelism[1:]
    figures["task_ms"] = {
        name: dict(
            wall=1e3 * statistics.median(t for t, _ in values),
            cpu=1e3 * statistics.median(c for _, c in values),
        )
        for name, values in task_seconds.items()
    }
    assert_equal_results(results["loky"], results["serial"], "loky")
    assert_equal_results(results["dask"], results["serial"], "dask")

    # Memory: fresh workers for each run, over N and over 4N recordings.
    memory = {}
    for n_memory in (n, 4 * n):
        fresh_loky_workers(n_workers)
        _, results = run(estimator, paths[:n_memory], args.n_steps, n_workers)
        memory[n_memory] = worker_peaks(results)
    figures["loky_peak_mb"] = {str(k): v for k, v in memory.items()}
    dask_memory = {}
    for n_memory in (n, 4 * n):
        with dask_cluster(n_workers) as client:
            _, results = run_on_dask(client, estimator, paths[:n_memory], args.n_steps)
        dask_memory[n_memory] = worker_peaks(results)
    figures["dask_peak_mb"] = {str(k): v for k, v in dask_memory.items()}
    figures["load_average_end"] = os.getloadavg()

    if args.data_dir is None:
        shutil.rmtree(data_dir)  # a temporary folder of this run
    report(figures, n, n_workers, args.cluster_workers, memory, dask_memory)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2, default=float))


def report(figures, n, n_workers, cluster_workers, loky_memory, dask_memory):
    rate = {
        name: median_rate(figures[f"{name}_seconds"], n)
        for name in ("serial", "loky", "dask")
    }
    seconds_per_recording = 1 / rate["serial"]
    loky_speedup = rate["loky"] / rate["serial"]
    dask_speedup = rate["dask"] / rate["serial"]
    dask_vs_loky = rate["dask"] / rate["loky"]
    loky_ratio = max(loky_memory[4 * n]) / max(loky_memory[n])
    dask_ratio = max(dask_memory[4 * n]) / max(dask_memory[n])
    shipping = figures["shipping"]
    figures.update(
        rate=rate,
        loky_speedup=loky_speedup,
        dask_vs_loky=dask_vs_loky,
        loky_memory_ratio=loky_ratio,
        dask_memory_ratio=dask_ratio,
    )

    def verdict(value, goal, above=True):
        met = value >= goal if above else value <= goal
        return "meets" if met else "MISSES"

    print(f"\nThroughput over {n} recordings (median of timed runs)")
    print("| run | recordings/s | seconds per run | vs serial |")
    print("|---|---|---|---|")
    for name in ("serial", "loky", "dask"):
        seconds = figures[f"{name}_seconds"]
        print(
            f"| {name} | {rate[name]:.2f} | "
            f"{', '.join(f'{s:.1f}' for s in seconds)} | "
            f"{rate[name] / rate['serial']:.2f}x |"
        )
    parallelism = statistics.median(figures["available_parallelism"])
    figures["loky_speedup_per_available_core"] = loky_speedup / parallelism
    print(
        f"\nAvailable parallelism (control: a pure-Python loop on {n_workers} "
        f"workers vs serially) {parallelism:.2f} of {n_workers} (median over "
        f"rounds): loky's speed-up is {loky_speedup / parallelism:.0%} of what "
        "the machine gave."
    )
    print(
        f"loky speed-up {loky_speedup:.2f}x with {n_workers} workers "
        f"({verdict(loky_speedup, GOALS['loky_speedup'])} the goal of "
        f"{GOALS['loky_speedup']}x); Dask at {dask_vs_loky:.0%} of loky "
        f"({verdict(dask_vs_loky, GOALS['dask_vs_loky'])} the goal of "
        f">= {GOALS['dask_vs_loky']:.0%})"
    )
    task_ms = figures["task_ms"]
    print(
        "per task (median, ms), wall / CPU inside the task: "
        + ", ".join(
            f"{name} {t['wall']:.0f} / {t['cpu']:.0f}" for name, t in task_ms.items()
        )
        + " (wall above CPU: the task waited for a core)"
    )
    # Tasks that need more CPU time when run side by side (cores sharing
    # caches, memory bandwidth or, on a VM, a physical core) bound the speed-up
    # below n_workers, whatever the machinery does.
    bound = n_workers * task_ms["serial"]["cpu"] / task_ms["loky"]["cpu"]
    figures["speedup_bound"] = bound
    print(
        f"bound on the speed-up from the tasks' own CPU time ({n_workers} x "
        f"serial / parallel): {bound:.2f}x; loky reaches {loky_speedup / bound:.0%} "
        f"of it, Dask {dask_speedup / bound:.0%}"
    )
    print(
        f"worker start-up (not in the throughput): loky "
        f"{figures['loky_startup_s']:.1f} s, Dask cluster "
        f"{figures['dask_startup_s']:.1f} s"
    )
    print("\nPeak memory per worker (max RSS, MB), fresh workers per run")
    for name, memory, ratio in (
        ("loky", loky_memory, loky_ratio),
        ("dask", dask_memory, dask_ratio),
    ):
        print(
            f"  {name}: {n} recordings {[round(m) for m in memory[n]]}, "
            f"{4 * n} recordings {[round(m) for m in memory[4 * n]]}: ratio "
            f"{ratio:.3f} ({verdict(ratio, GOALS['memory_ratio'], above=False)} "
            f"the goal of <= {GOALS['memory_ratio']})"
        )
    task_ms = seconds_per_recording * 1e3
    print(
        f"\nEstimator: {shipping['size_kb']:.0f} kB pickled once per call; each "
        f"task (loky and Dask) copies it ({shipping['per_task_copy_ms']:.2f} ms, "
        f"{shipping['per_task_copy_ms'] / task_ms:.2%} of a task's "
        f"{task_ms:.0f} ms), each worker unpickles it once "
        f"({shipping['unpickle_ms']:.1f} ms)."
    )
    efficiency = dask_speedup / n_workers
    total = 10_000 * seconds_per_recording / (cluster_workers * efficiency)
    figures["projection_10000_s"] = total
    print(
        f"\nProjection for 10,000 recordings: {seconds_per_recording * 1e3:.0f} ms "
        f"per recording on one core (measured serially), Dask parallel efficiency "
        f"{efficiency:.0%} (measured with {n_workers} workers): "
        f"{10_000 * seconds_per_recording / 60:.0f} min serially; "
        f"{10_000 / rate['dask'] / 60:.0f} min on this {n_workers}-worker cluster; "
        f"{total:.0f} s plus start-up ({figures['dask_startup_s']:.0f} s here) on "
        f"a cluster of {cluster_workers} single-threaded workers (e.g. "
        f"{max(1, cluster_workers // 16)} machines x 16 cores), if every core is "
        "as fast as one of this machine's and reading the files keeps up "
        f"({10_000 / total:.0f} recordings/s; joblib batches short tasks, so "
        "Dask's scheduler, at about 1 ms per task, is not the limit). Cost "
        "scales with the epochs per recording and the channels x samples."
    )


if __name__ == "__main__":
    main()
