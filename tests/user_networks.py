"""Networks not written for mne_xai, with braindecode's constructor signature.

Small, faithful versions of three published EEG networks, written as a user
who brings their own model would write them: each takes the data shapes under
braindecode's names ``(n_chans, n_outputs, n_times, sfreq, chs_info)``, maps
``(batch, n_chans, n_times)`` to one logit per class, scales nothing itself
(``EEGNetClassifier`` wraps it in :class:`mne_xai.models.ScaledInput`) and
sizes its kernels and pooling in seconds, so that they follow ``sfreq``.

- :class:`ShallowFBCSPNet`: Schirrmeister et al. 2017, the shallow network
  (filter-bank CSP as a network): temporal and spatial convolution, batch
  norm, squaring, mean pooling, safe log, dropout, a dense classifier.
- :class:`Deep4Net`: Schirrmeister et al. 2017, the deep network: four
  convolution / batch norm / ELU / max-pooling blocks.
- :class:`ConvTransformer`: a convolutional front end that cuts the epoch
  into tokens over time, then a transformer encoder, as in EEG Conformer
  (Song et al. 2023).

Shallow and Deep4 keep braindecode's layout: after the first reshape their
feature maps are ``(batch, filters, time, 1)``, time on the third axis and the
(spatially filtered) channels on the last. The transformer's front end keeps
EEG Conformer's ``(batch, filters, 1, time)``. This is a helper module for the
tests and the example: it holds no tests.
"""

import torch
from torch import nn

#: The sampling rate braindecode's defaults are given for (samples below).
PUBLISHED_SFREQ = 250.0


def _samples(seconds, sfreq, minimum=1):
    """Number of samples of ``seconds`` at ``sfreq`` (250 Hz if unknown)."""
    sfreq = PUBLISHED_SFREQ if sfreq is None else float(sfreq)
    return max(minimum, int(round(seconds * sfreq)))


def _check_shapes(name, n_chans, n_outputs, n_times):
    missing = [
        key
        for key, value in dict(
            n_chans=n_chans, n_outputs=n_outputs, n_times=n_times
        ).items()
        if value is None
    ]
    if missing:
        raise ValueError(f"{name} needs {', '.join(missing)}.")


def _to_time_by_channels(x):
    """(batch, chans, time) -> (batch, 1, time, chans): braindecode's Ensure4d and
    dimshuffle, written in forward."""
    return x.unsqueeze(-1).permute(0, 3, 2, 1)


class CombinedConv(nn.Module):
    """braindecode's CombinedConv (``braindecode.modules``), as written there.

    The temporal and the spatial convolution of Shallow and Deep4 (braindecode
    0.8 on), applied as one convolution with the product of their kernels: the
    two ``nn.Conv2d`` layers hold the weights and are never called.
    """

    def __init__(
        self,
        in_chans,
        n_filters_time=40,
        n_filters_spat=40,
        filter_time_length=25,
        bias_time=True,
        bias_spat=True,
    ):
        super().__init__()
        self.bias_time = bias_time
        self.bias_spat = bias_spat
        self.conv_time = nn.Conv2d(
            1, n_filters_time, (filter_time_length, 1), bias=bias_time, stride=1
        )
        self.conv_spat = nn.Conv2d(
            n_filters_time, n_filters_spat, (1, in_chans), bias=bias_spat, stride=1
        )

    def forward(self, x):  # noqa: D102
        combined_weight = (
            (self.conv_time.weight * self.conv_spat.weight.permute(1, 0, 2, 3))
            .sum(0)
            .unsqueeze(1)
        )
        bias = None
        if self.bias_time:
            bias = (
                self.conv_spat.weight.squeeze()
                .sum(-1)
                .mm(self.conv_time.bias.unsqueeze(-1))
                .squeeze()
            )
        if self.bias_spat:
            bias = self.conv_spat.bias if bias is None else bias + self.conv_spat.bias
        return nn.functional.conv2d(x, weight=combined_weight, bias=bias, stride=(1, 1))


class ShallowFBCSPNet(nn.Module):
    """Shallow ConvNet (Schirrmeister et al. 2017), small.

    Temporal convolution, spatial convolution over all channels, batch norm,
    squaring, mean pooling, log, dropout and a convolution over the remaining
    time as classifier: log band power of learned spatial filters, as in
    filter-bank CSP. Kernel and pooling lengths are those of braindecode at
    250 Hz (25, 75 and 15 samples) converted to seconds.

    Parameters
    ----------
    n_chans, n_outputs, n_times : int
        Channels, classes and samples of one epoch.
    sfreq : float | None
        Sampling rate in Hz; None takes 250 Hz.
    chs_info : list of dict | None
        Channel descriptions (unused, accepted as braindecode does).
    n_filters_time, n_filters_spat : int
        Temporal and spatial filters (40 each in the paper).
    filter_time_seconds, pool_time_seconds, pool_stride_seconds : float
        Temporal kernel, pooling window and pooling stride.
    drop_prob : float
        Dropout before the classifier.
    combined_conv : bool
        Apply the temporal and spatial convolutions as one convolution with
        the product of their kernels, as braindecode's ``CombinedConv`` does
        (ShallowFBCSPNet from braindecode 0.8 on): the same function, but the
        two ``nn.Conv2d`` modules hold the weights and are never called.
    """

    def __init__(
        self,
        n_chans=None,
        n_outputs=None,
        n_times=None,
        sfreq=None,
        chs_info=None,
        *,
        n_filters_time=8,
        n_filters_spat=8,
        filter_time_seconds=0.1,
        pool_time_seconds=0.3,
        pool_stride_seconds=0.06,
        drop_prob=0.5,
        combined_conv=False,
    ):
        super().__init__()
        _check_shapes(type(self).__name__, n_chans, n_outputs, n_times)
        self.combined_conv = combined_conv
        filter_length = _samples(filter_time_seconds, sfreq)
        pool_length = _samples(pool_time_seconds, sfreq)
        pool_stride = _samples(pool_stride_seconds, sfreq)
        self.conv_time = nn.Conv2d(1, n_filters_time, (filter_length, 1))
        self.conv_spat = nn.Conv2d(
            n_filters_time, n_filters_spat, (1, n_chans), bias=False
        )
        self.bnorm = nn.BatchNorm2d(n_filters_spat, momentum=0.1)
        self.pool = nn.AvgPool2d((pool_length, 1), stride=(pool_stride, 1))
        self.drop = nn.Dropout(drop_prob)
        n_pooled = (n_times - filter_length + 1 - pool_length) // pool_stride + 1
        if n_pooled < 1:
            raise ValueError(
                f"{n_times} samples are too few for ShallowFBCSPNet's "
                f"{filter_length}-sample filters and {pool_length}-sample pooling."
            )
        self.conv_classifier = nn.Conv2d(n_filters_spat, n_outputs, (n_pooled, 1))
        nn.init.xavier_uniform_(self.conv_time.weight)
        nn.init.zeros_(self.conv_time.bias)
        nn.init.xavier_uniform_(self.conv_spat.weight)
        nn.init.xavier_uniform_(self.conv_classifier.weight)
        nn.init.zeros_(self.conv_classifier.bias)

    def _first_block(self, x):
        if not self.combined_conv:
            return self.conv_spat(self.conv_time(x))
        # (time filters, 1, taps, 1) and (spatial filters, time filters, 1, chans)
        weight = torch.einsum(
            "tk,stc->skc",
            self.conv_time.weight[:, 0, :, 0],
            self.conv_spat.weight[:, :, 0],
        ).unsqueeze(1)
        bias = self.conv_spat.weight.sum(dim=(2, 3)) @ self.conv_time.bias
        return nn.functional.conv2d(x, weight, bias)

    def forward(self, x):  # noqa: D102
        x = self.bnorm(self._first_block(_to_time_by_channels(x)))
        x = x * x  # braindecode's square
        x = self.pool(x)
        x = torch.log(torch.clamp(x, min=1e-6))  # braindecode's safe_log
        x = self.conv_classifier(self.drop(x))
        return x[:, :, 0, 0]  # squeeze_final_output


class Deep4Net(nn.Module):
    """Deep ConvNet (Schirrmeister et al. 2017), small.

    A temporal and a spatial convolution, then four blocks of convolution,
    batch norm, ELU and max pooling (the first block's convolution is the
    split temporal-spatial one), dropout before each later convolution, and a
    convolution over the remaining time as classifier. The ELUs are
    ``nn.ELU`` modules, as in current braindecode. Kernel lengths are those of
    braindecode at 250 Hz (10 samples) converted to seconds; pooling takes 3
    samples with stride 3, as in the paper.

    Parameters
    ----------
    n_chans, n_outputs, n_times : int
        Channels, classes and samples of one epoch.
    sfreq : float | None
        Sampling rate in Hz; None takes 250 Hz.
    chs_info : list of dict | None
        Channel descriptions (unused).
    n_filters : tuple of 4 int
        Filters of the four blocks (25, 50, 100, 200 in the paper).
    filter_seconds : float
        Temporal kernel of every block.
    pool_length : int
        Max-pooling window and stride, in samples.
    drop_prob : float
        Dropout before the convolutions of blocks 2 to 4.
    combined_conv : bool
        Hold the temporal and spatial convolutions in a :class:`CombinedConv`
        module, ``conv_time_spat``, as braindecode's Deep4Net does (0.8 on):
        the same function, through one convolution with the product of their
        kernels.
    """

    def __init__(
        self,
        n_chans=None,
        n_outputs=None,
        n_times=None,
        sfreq=None,
        chs_info=None,
        *,
        n_filters=(8, 8, 16, 16),
        filter_seconds=0.04,
        pool_length=3,
        drop_prob=0.5,
        combined_conv=False,
    ):
        super().__init__()
        _check_shapes(type(self).__name__, n_chans, n_outputs, n_times)
        kernel = _samples(filter_seconds, sfreq, minimum=2)
        pool = (pool_length, 1)
        if combined_conv:
            self.conv_time_spat = CombinedConv(
                n_chans, n_filters[0], n_filters[0], kernel, bias_spat=False
            )
        else:
            self.conv_time = nn.Conv2d(1, n_filters[0], (kernel, 1))
            self.conv_spat = nn.Conv2d(
                n_filters[0], n_filters[0], (1, n_chans), bias=False
            )
        self.bnorm = nn.BatchNorm2d(n_filters[0])
        self.conv_nonlin = nn.ELU()
        self.pool = nn.MaxPool2d(pool, stride=pool)
        self.pool_nonlin = nn.Identity()
        n_out = (n_times - kernel + 1) // pool_length
        blocks = []
        for n_before, n_after in zip(n_filters[:-1], n_filters[1:], strict=True):
            blocks.append(
                nn.Sequential(
                    nn.Dropout(drop_prob),
                    nn.Conv2d(n_before, n_after, (kernel, 1), bias=False),
                    nn.BatchNorm2d(n_after),
                    nn.ELU(),
                    nn.MaxPool2d(pool, stride=pool),
                    nn.Identity(),
                )
            )
            n_out = (n_out - kernel + 1) // pool_length
        if n_out < 1:
            raise ValueError(
                f"{n_times} samples are too few for Deep4Net's four blocks of "
                f"{kernel}-sample kernels and {pool_length}-fold pooling."
            )
        self.blocks = nn.Sequential(*blocks)
        self.conv_classifier = nn.Conv2d(n_filters[-1], n_outputs, (n_out, 1))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def _first_block(self, x):
        if hasattr(self, "conv_time_spat"):
            return self.conv_time_spat(x)
        return self.conv_spat(self.conv_time(x))

    def forward(self, x):  # noqa: D102
        x = self.bnorm(self._first_block(_to_time_by_channels(x)))
        x = self.pool_nonlin(self.pool(self.conv_nonlin(x)))
        x = self.conv_classifier(self.blocks(x))
        return x[:, :, 0, 0]


class ConvTransformer(nn.Module):
    """A small EEG Conformer (Song et al. 2023): convolutions, then attention.

    The front end is EEG Conformer's patch embedding: a temporal and a
    spatial convolution, batch norm, ELU, average pooling over time and a
    1x1 convolution to the token size; each pooled time step is a token.
    An ``nn.TransformerEncoder`` (self-attention with softmax, layer norm,
    GELU feed-forward; no position embedding, as in EEG Conformer) mixes the
    tokens, and their mean goes to a dense classifier.

    Parameters
    ----------
    n_chans, n_outputs, n_times : int
        Channels, classes and samples of one epoch.
    sfreq : float | None
        Sampling rate in Hz; None takes 250 Hz.
    chs_info : list of dict | None
        Channel descriptions (unused).
    n_filters : int
        Filters of the front end, and the token size (40 in the paper).
    n_heads, n_layers : int
        Attention heads and encoder layers (10 and 6 in the paper).
    filter_time_seconds, pool_time_seconds, pool_stride_seconds : float
        Temporal kernel, pooling window and stride (25, 75 and 15 samples at
        250 Hz in the paper).
    drop_prob : float
        Dropout of the front end and the encoder.
    """

    def __init__(
        self,
        n_chans=None,
        n_outputs=None,
        n_times=None,
        sfreq=None,
        chs_info=None,
        *,
        n_filters=8,
        n_heads=2,
        n_layers=1,
        filter_time_seconds=0.1,
        pool_time_seconds=0.3,
        pool_stride_seconds=0.06,
        drop_prob=0.25,
    ):
        super().__init__()
        _check_shapes(type(self).__name__, n_chans, n_outputs, n_times)
        filter_length = _samples(filter_time_seconds, sfreq)
        pool_length = _samples(pool_time_seconds, sfreq)
        pool_stride = _samples(pool_stride_seconds, sfreq)
        self.conv_time = nn.Conv2d(1, n_filters, (1, filter_length))
        self.conv_spat = nn.Conv2d(n_filters, n_filters, (n_chans, 1))
        self.bnorm = nn.BatchNorm2d(n_filters)
        self.elu = nn.ELU()
        self.pool = nn.AvgPool2d((1, pool_length), stride=(1, pool_stride))
        self.drop = nn.Dropout(drop_prob)
        self.projection = nn.Conv2d(n_filters, n_filters, 1)
        n_tokens = (n_times - filter_length + 1 - pool_length) // pool_stride + 1
        if n_tokens < 1:
            raise ValueError(f"{n_times} samples are too few for ConvTransformer.")
        layer = nn.TransformerEncoderLayer(
            n_filters,
            n_heads,
            dim_feedforward=2 * n_filters,
            dropout=drop_prob,
            activation="gelu",
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, n_layers, enable_nested_tensor=False
        )
        self.classifier = nn.Linear(n_filters, n_outputs)

    def forward(self, x):  # noqa: D102
        x = self.conv_spat(self.conv_time(x.unsqueeze(1)))  # (batch, F, 1, time)
        x = self.drop(self.pool(self.elu(self.bnorm(x))))
        tokens = self.projection(x).squeeze(2).transpose(1, 2)  # (batch, token, F)
        tokens = self.encoder(tokens)
        return self.classifier(tokens.mean(dim=1))
