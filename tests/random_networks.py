"""Small random EEG networks, drawn from a seed, as users write them.

Networks nobody chose, for the rule-based methods: each maps ``(batch,
n_chans, n_times)`` to ``n_outputs`` logits through a random stack of what
hand-written EEG networks hold: 1-D convolutions (depthwise, grouped, strided,
dilated, padded with every padding mode), an EEGNet-like 2-D front end after
an unsqueeze, batch norm with non-trivial running statistics, pooling of every
kind, dropout, rectifiers and smooth nonlinearities as modules or as functions
called in ``forward``, residual additions, concatenated and multiplied
(gating) branches, Shallow's square and log, layer and group norm, a GRU and
self-attention, then a flattened dense readout.

Each network records what the rules cannot follow (``unruled``) and whether
it is a plain stack of torch modules the LRP rules are defined on
(``plain``). This is a helper module for the tests: it holds no tests.
"""

import random

import torch
from torch import nn
from torch.nn import functional as F

#: Nonlinearity modules, by name: the rectifiers and the smooth ones.
RECTIFIER_MODULES = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "elu": nn.ELU,
}
SMOOTH_MODULES = {
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
}
#: Nonlinearities called as functions in forward, as many networks do.
FUNCTIONS = {
    "F.relu": F.relu,
    "torch.relu": torch.relu,
    "clamp": lambda x: x.clamp(min=0),
    "rectifier_by_hand": lambda x: x * (x > 0),
    "F.elu": F.elu,
    "torch.tanh": torch.tanh,
}


class Function(nn.Module):
    """A nonlinearity called as a function in ``forward``."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def forward(self, x):  # noqa: D102
        return FUNCTIONS[self.name](x)


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):  # noqa: D102
        return x + self.body(x)


class Branches(nn.Module):
    """Two branches on the same input, concatenated or multiplied (a gate)."""

    def __init__(self, first, second, join):
        super().__init__()
        self.first, self.second, self.join = first, second, join

    def forward(self, x):  # noqa: D102
        if self.join == "concatenate":
            return torch.cat([self.first(x), self.second(x)], dim=1)
        return self.first(x) * torch.sigmoid(self.second(x))


class SquareLog(nn.Module):
    """Shallow's squaring, mean pooling and safe log."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool1d(2)

    def forward(self, x):  # noqa: D102
        return torch.log(torch.clamp(self.pool(x * x), min=1e-6))


class Recurrent(nn.Module):
    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.gru = nn.GRU(n_in, n_hidden, batch_first=True)

    def forward(self, x):  # noqa: D102
        return self.gru(x.transpose(1, 2))[0].transpose(1, 2)


class SelfAttention(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.attention = nn.MultiheadAttention(n_features, 1, batch_first=True)

    def forward(self, x):  # noqa: D102
        tokens = x.transpose(1, 2)
        attended = self.attention(tokens, tokens, tokens, need_weights=False)[0]
        return (tokens + attended).transpose(1, 2)


class Unsqueeze(nn.Module):
    def forward(self, x):  # noqa: D102
        return x.unsqueeze(1)


class Squeeze(nn.Module):
    def forward(self, x):  # noqa: D102
        return x.squeeze(2)


class _Builder:
    """Draws the layers, keeping the feature maps' channels and times."""

    def __init__(self, rng, n_chans, n_times, plain):
        self.rng, self.plain = rng, plain
        self.n_channels, self.n_times = n_chans, n_times
        self.layers, self.unruled = [], set()

    def convolution(self, same=False):
        rng, n_in = self.rng, self.n_channels
        n_out, kernel = rng.choice([2, 3, 4]), rng.choice([1, 3, 5])
        stride = 1 if same else rng.choice([1, 2])
        dilation = 1 if kernel == 1 else rng.choice([1, 2])
        padding = dilation * (kernel - 1) // 2 if same else rng.choice([0, 1])
        modes = ["zeros"] if self.plain else ["zeros", "reflect", "circular"]
        groups = 1
        if not self.plain and rng.random() < 0.3:
            groups, n_out = n_in, 2 * n_in  # depthwise
        self.n_channels = n_out
        self.n_times = (
            self.n_times + 2 * padding - dilation * (kernel - 1) - 1
        ) // stride + 1
        return nn.Conv1d(
            n_in,
            n_out,
            kernel,
            stride=stride,
            dilation=dilation,
            padding=padding,
            padding_mode=rng.choice(modes) if padding else "zeros",
            groups=groups,
            bias=rng.random() < 0.7,
        )

    def activation(self):
        names = [*RECTIFIER_MODULES]
        if not self.plain and self.rng.random() < 0.2:
            names = [*SMOOTH_MODULES]
        name = "relu" if self.plain else self.rng.choice(names)
        if name in SMOOTH_MODULES:
            self.unruled.add(name)
            return SMOOTH_MODULES[name]()
        return RECTIFIER_MODULES[name]()

    def eegnet_front(self, n_chans):
        n_filters, kernel = self.rng.choice([2, 4]), self.rng.choice([1, 3])
        self.layers += [
            Unsqueeze(),
            nn.Conv2d(1, n_filters, (1, kernel), padding=(0, kernel // 2)),
            nn.Conv2d(n_filters, 2 * n_filters, (n_chans, 1), groups=n_filters),
            Squeeze(),
        ]
        self.n_channels = 2 * n_filters

    def step(self):
        rng = self.rng
        kinds = ["convolution", "activation", "pool", "dropout"]
        if not self.plain:
            kinds += ["batch_norm", "residual", "concatenate"]
            # What no rule follows, rarely: most networks stay explainable.
            if rng.random() < 0.15:
                kinds = ["function", "gate", "square_log", "recurrent"]
                kinds += ["attention", "norm"]
        kind = rng.choice(kinds)
        if kind in ("pool", "square_log") and self.n_times < 4:
            kind = "activation"
        if kind == "convolution":
            self.layers.append(self.convolution())
        elif kind == "activation":
            self.layers.append(self.activation())
        elif kind == "pool":
            pool = rng.choice(["max", "average"] + ([] if self.plain else ["adaptive"]))
            self.n_times //= 2
            self.layers.append(
                {
                    "max": lambda: nn.MaxPool1d(2),
                    "average": lambda: nn.AvgPool1d(2),
                    "adaptive": lambda: nn.AdaptiveAvgPool1d(self.n_times),
                }[pool]()
            )
        elif kind == "dropout":
            self.layers.append(nn.Dropout(0.2))
        elif kind == "batch_norm":
            self.layers.append(nn.BatchNorm1d(self.n_channels))
        elif kind == "function":
            name = rng.choice(list(FUNCTIONS))
            self.unruled.add(name)
            self.layers.append(Function(name))
        elif kind == "residual":
            n_channels = self.n_channels
            body = self.convolution(same=True)
            back = nn.Conv1d(self.n_channels, n_channels, 1)
            self.n_channels = n_channels
            self.layers.append(Residual(nn.Sequential(body, nn.ReLU(), back)))
        elif kind in ("concatenate", "gate"):
            n_in = self.n_channels
            first = self.convolution(same=True)
            n_first = self.n_channels
            self.n_channels = n_in
            second = self.convolution(same=True)
            if kind == "gate":
                second = nn.Conv1d(n_in, n_first, 1)
                self.unruled.add("gate")
                self.n_channels = n_first
            else:
                self.n_channels += n_first
            join = "concatenate" if kind == "concatenate" else "multiply"
            self.layers.append(Branches(first, nn.Sequential(second, nn.ReLU()), join))
        elif kind == "square_log":
            self.unruled.add("log")
            self.n_times //= 2
            self.layers.append(SquareLog())
        elif kind == "recurrent":
            self.unruled.add("gru")
            self.layers.append(Recurrent(self.n_channels, 3))
            self.n_channels = 3
        elif kind == "attention":
            self.unruled.add("attention")
            self.layers.append(SelfAttention(self.n_channels))
        else:
            self.unruled.add("norm")
            self.layers.append(
                nn.GroupNorm(1, self.n_channels)
                if rng.random() < 0.5
                else nn.LayerNorm(self.n_times)
            )


def random_network(seed, n_chans, n_outputs, n_times):
    """A random network in float64 and evaluation mode, drawn from ``seed``.

    Every third seed draws a plain stack (convolutions, ReLU modules, max and
    average pooling, dropout, flattening and a dense layer, nothing else).
    Batch norms get running statistics and affine parameters away from their
    initial values, so that folding them is not a no-op.

    Returns
    -------
    network : torch.nn.Sequential
        With attributes ``plain`` (bool) and ``unruled`` (set of str, the
        nonlinear operations drawn that are not rectifier modules, pooling or
        linear layers).
    """
    rng = random.Random(seed)
    torch.manual_seed(seed)
    builder = _Builder(rng, n_chans, n_times, plain=seed % 3 == 0)
    if not builder.plain and rng.random() < 0.3:
        builder.eegnet_front(n_chans)
    for _ in range(rng.randint(2, 5)):
        builder.step()
    network = nn.Sequential(
        *builder.layers,
        nn.Flatten(),
        nn.Linear(builder.n_channels * builder.n_times, n_outputs),
    )
    network.plain, network.unruled = builder.plain, builder.unruled
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in network.modules():
            if isinstance(layer, nn.BatchNorm1d):
                layer.running_mean.normal_(0, 0.5, generator=generator)
                layer.running_var.uniform_(0.3, 3, generator=generator)
                layer.weight.uniform_(0.5, 2, generator=generator)
                layer.bias.normal_(0, 0.3, generator=generator)
    return network.double().eval()
