"""Timing shared by the benchmarks: GPU-aware clocks and interleaved medians."""

import statistics
import time

import torch


def synchronize():
    """Wait for queued GPU work, so that a timing includes it (no-op on CPU)."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def interleaved_medians(functions, repeats):
    """Median wall time of each function, run in turn so that they share the load.

    Each function runs once to warm up, then ``repeats`` rounds run every
    function once, in reverse order every other round (what runs just before
    affects the caches); on a busy machine this keeps the ratios fair.
    """
    for function in functions.values():
        function()
    times = {name: [] for name in functions}
    order = list(functions)
    for round_index in range(repeats):
        for name in order if round_index % 2 == 0 else order[::-1]:
            synchronize()
            start = time.perf_counter()
            functions[name]()
            synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}
