"""Small random EEG networks for the class activation maps' time grid.

:func:`random_cam_network` draws, from a seed, what users write in front of a
classifier: one-dimensional convolutions of any kernel, stride, dilation and
padding, max, average and adaptive pooling (ceil mode too), batch norm with
running statistics of its own, nonlinearities, dropout, a block of
two-dimensional convolutions with time last (temporal, then spatial, as
EEGNet), and now and then a delay of the maps that keeps their length. Every
network maps ``(batch, N_CHANNELS, N_TIMES)`` to two logits. This is a helper
module for the tests: it holds no tests.
"""

import random

import torch
from random_networks import Squeeze, Unsqueeze
from torch import nn
from torch.nn import functional as F

N_CHANNELS = 4
N_TIMES = 64


class Delay(nn.Module):
    """Delay the maps by ``n`` samples at their length (pad before, crop after)."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):  # noqa: D102
        return F.pad(x, (self.n, 0))[..., : x.shape[-1]]


def _output_shape(module, n_maps, n_times):
    """Number of maps and samples ``module`` returns for (1, n_maps, n_times)."""
    with torch.no_grad():
        output = module(torch.zeros(1, n_maps, n_times))
    return output.shape[1], output.shape[-1]


def _convolution(rng, n_maps):
    kernel, dilation = rng.choice([1, 2, 3, 4, 5, 7]), rng.choice([1, 1, 2])
    stride = rng.choice([1, 1, 2])
    span = dilation * (kernel - 1)
    padding = rng.choice([0, span // 2, "same" if stride == 1 else 1])
    return nn.Conv1d(n_maps, 6, kernel, stride, padding, dilation)


def _pooling(rng, n_times):
    kind = rng.choice(["max", "avg", "adaptive"])
    if kind == "adaptive" and n_times % 2 == 0:
        return rng.choice([nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d])(n_times // 2)
    kernel = rng.choice([2, 3])
    pooling = nn.MaxPool1d if kind == "max" else nn.AvgPool1d
    return pooling(
        kernel,
        rng.choice([1, kernel]),
        padding=rng.choice([0, kernel // 2]),
        ceil_mode=rng.random() < 0.3,
    )


def _batch_norm(rng, n_maps):
    norm = nn.BatchNorm1d(n_maps)
    generator = torch.Generator().manual_seed(rng.randrange(2**31))
    with torch.no_grad():
        norm.running_mean.copy_(0.3 * torch.randn(n_maps, generator=generator))
        norm.running_var.copy_(0.5 + torch.rand(n_maps, generator=generator))
        norm.weight.copy_(0.5 + torch.rand(n_maps, generator=generator))
        norm.bias.copy_(0.2 * torch.randn(n_maps, generator=generator))
    return norm


def _two_dimensional(rng, n_maps):
    kernel = rng.choice([3, 5])
    return [
        Unsqueeze(),
        nn.Conv2d(1, 4, (1, kernel), padding=(0, rng.choice([0, kernel // 2]))),
        nn.Conv2d(4, 4, (n_maps, 1)),
        rng.choice([nn.ELU, nn.ReLU])(),
        Squeeze(),
    ]


def random_cam_network(seed):
    """Return a random network (in evaluation mode) and the layer to explain.

    The layer is the last of the feature stack, before the dense classifier.
    """
    rng = random.Random(seed)
    torch.manual_seed(seed)
    layers, n_maps, n_times = [], N_CHANNELS, N_TIMES
    for _ in range(rng.randint(2, 6)):
        kind = rng.choice(
            ["convolution"] * 3
            + ["pooling"] * 2
            + ["batch_norm", "nonlinearity", "dropout", "2d", "delay"]
        )
        if kind == "convolution":
            new = [_convolution(rng, n_maps)]
        elif kind == "pooling" and n_times >= 8:
            new = [_pooling(rng, n_times)]
        elif kind == "batch_norm":
            new = [_batch_norm(rng, n_maps)]
        elif kind == "nonlinearity":
            new = [rng.choice([nn.ELU, nn.ReLU, nn.GELU, nn.Tanh])()]
        elif kind == "dropout":
            new = [nn.Dropout(0.5)]
        elif kind == "2d" and n_maps == N_CHANNELS:
            new = _two_dimensional(rng, n_maps)
        elif kind == "delay":
            new = [Delay(rng.choice([2, 3]))]
        else:
            continue
        maps_after, times_after = _output_shape(nn.Sequential(*new), n_maps, n_times)
        if times_after < 4:
            break
        layers += new
        n_maps, n_times = maps_after, times_after
    layers += [nn.Flatten(), nn.Linear(n_maps * n_times, 2)]
    network = nn.Sequential(*layers).eval()
    return network, str(len(layers) - 3)
