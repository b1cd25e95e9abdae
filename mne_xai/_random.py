"""Seeding torch without touching the caller's random state."""

from contextlib import contextmanager

import torch


@contextmanager
def seeded_torch(seed, device):
    """Seed torch's generators on the CPU and ``device``, then restore them.

    Parameters
    ----------
    seed : int
        The seed.
    device : str | torch.device | None
        The device whose CUDA generator is forked too, when it is a GPU; None
        (skorch's "leave the module where it is") forks every GPU's.
    """
    devices = []
    if device is None:
        devices = list(range(torch.cuda.device_count()))
    elif torch.device(device).type == "cuda":
        index = torch.device(device).index
        devices = [index if index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
