"""Seeding torch without touching the caller's random state."""

import threading
from contextlib import contextmanager

import torch

# torch has one default generator per process, which every thread draws from:
# two seeded trainings on threads (joblib's threading backend, a Dask cluster
# of threads) interleaved their draws and restored each other's states, so
# their results changed from run to run and the caller's state was lost.
_DEFAULT_GENERATORS = threading.RLock()


def fixed_noise(shape, like=None, *, seed=0, dtype=torch.float32):
    """Draw standard normal noise from a fixed seed on the CPU, then move it to ``like``.

    The checks that probe a network with noise see the same numbers on every
    device (a GPU's generator draws other numbers from one seed, so a check
    could pass on the CPU and fail on a GPU), and neither torch's random state
    nor the caller's is touched.

    Parameters
    ----------
    shape : int | tuple of int
        The noise's shape.
    like : torch.Tensor | None
        The tensor whose device and dtype the noise takes; None leaves it on
        the CPU in ``dtype``.
    seed : int
        The seed.
    dtype : torch.dtype
        The dtype the noise is drawn in (the numbers drawn depend on it).
    """
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(shape, generator=generator, dtype=dtype)
    return noise if like is None else noise.to(like)


@contextmanager
def seeded_torch(seed, device):
    """Seed torch's generators on the CPU and ``device``, then restore them.

    Seeded work runs one thread at a time in a process (re-entrant in one
    thread), so that it draws the same numbers as when run alone.

    Parameters
    ----------
    seed : int
        The seed.
    device : str | torch.device | None
        The device whose CUDA generator is seeded and forked too, when it is
        a GPU; None (skorch's "leave the module where it is") seeds and forks
        every GPU's.
    """
    device = None if device is None else torch.device(device)
    kind = "cuda" if device is None else device.type
    devices = []
    if device is None:
        devices = list(range(torch.cuda.device_count()))
    elif kind == "cuda":
        index = device.index
        devices = [index if index is not None else torch.cuda.current_device()]
    with _DEFAULT_GENERATORS, torch.random.fork_rng(devices=devices):
        if kind in ("cpu", "cuda"):
            # Not torch.manual_seed: it reseeds every GPU's generator, which
            # fork_rng restores only for ``devices``.
            torch.default_generator.manual_seed(int(seed))
            for index in devices:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(int(seed))
        else:
            # Other accelerators (e.g. Intel's xpu) are seeded by torch.manual_seed
            # only; their generators are not restored.
            torch.manual_seed(int(seed))
        yield
