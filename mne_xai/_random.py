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
    device : str | torch.device
        The device whose CUDA generator is forked too, when it is a GPU.
    """
    device = torch.device(device)
    devices = []
    if device.type == "cuda":
        devices = [
            device.index if device.index is not None else torch.cuda.current_device()
        ]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
