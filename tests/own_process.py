"""Run a measure in a fresh process, away from the threads other tests leave."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def in_own_process(function, *args):
    """Return ``function(*args)``, computed in a fresh process.

    tracemalloc counts the allocations of every thread of its process, those
    of threads other tests leave running too: a Dask scheduler's event loop
    added half of the working memory ``explain_recordings`` measured, and CI
    failed. ``function`` must be defined at the top level of a module.
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as process:
        return process.submit(function, *args).result()
