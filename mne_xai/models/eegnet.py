"""EEGNet (Lawhern et al. 2018) as a plain torch module."""

import math

import torch
from torch import nn
from torch.nn import functional
from torch.nn.utils import skip_init
from torch.nn.utils.parametrize import type_before_parametrizations

from .._docs import fill_doc
from .._graph import (
    HOOK_KINDS,
    batch_norm_affine,
    full_float32,
    has_own_forward,
    normalization_affine,
    outputs_agree,
    runs_hooks,
)
from ._base import (
    REFERENCE_SFREQ,
    EEGModule,
    TooShortError,
    layer_size,
    same_padding,
    scaled_length,
)
from ._spatial_init import discriminant_spatial_filters


class EEGNet(EEGModule):
    """EEGNet, a compact convolutional network for EEG.

    The network of Lawhern et al. :footcite:`LawhernEtAl2018`.

    The published EEGNet-F1,D architecture: a temporal convolution (``F1``
    filters of about half a second), a depthwise spatial convolution (``D``
    spatial filters per temporal filter, max-norm 1), batch norm, ELU, average
    pooling by 4 (at 128 Hz) and dropout; then a separable convolution
    (depthwise temporal followed by pointwise to ``F2`` maps), batch norm, ELU,
    average pooling by 8 and dropout; and a dense layer (max-norm 0.25) giving
    one logit per class.

    In training mode the first block computes, where this is exact, with its
    spatial filters first (see :meth:`forward`); the layers, their weights and
    what they compute are EEGNet's.

    The paper defines the network at 128 Hz. At other rates it keeps its
    durations: the temporal kernel stays half a second long, and at rates of
    about 192 Hz and more the first pooling grows by a whole factor (16 at
    512 Hz), so that the separable convolution and the dense layer see the
    signal at about 32 and 4 Hz as in the paper, with as many weights. Without
    it, a 512 Hz recording would give the network four times as many
    separable-kernel and dense weights to learn from the same trials.

    Kernels are one sample longer than the paper's (65 and 17 at 128 Hz), so
    that "same" padding is symmetric: 24 weights more than its Table 2 for
    EEGNet-8,2. Batch norm and initial weights are torch's defaults (eps
    1e-5, momentum 0.1; Kaiming-uniform), where the authors' Keras code has
    eps 1e-3, momentum 0.01 in torch's terms and Glorot-uniform weights; the
    paper specifies neither.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels.
    n_classes : int
        Number of classes.
    n_times : int
        Number of time samples per epoch (at least 8 times ``pool_length``:
        32 at 128 Hz).
    sfreq : float
        Sampling frequency in Hz. The temporal kernel given at 128 Hz in the
        paper (64 samples) is converted to this rate, keeping its duration.
    F1 : int
        Number of temporal filters.
    D : int
        Number of spatial filters per temporal filter (depth multiplier).
    F2 : int | None
        Number of pointwise filters; ``None`` means ``F1 * D`` as in the paper.
    kernel_length : int | None
        Temporal kernel length in samples (odd); ``None`` means half a second,
        rounded up to an odd number of samples so that the zero padding that
        keeps the length is symmetric (65 samples at 128 Hz).
    separable_kernel_length : int | None
        Kernel length of the separable convolution (odd), in samples of the
        pooled signal; ``None`` means half a second of it, rounded up to an odd
        number (17 samples at 128 and 512 Hz, 21 at 160 Hz).
    pool_length : int | None
        The first pooling, in samples; ``None`` means 4 times the whole number
        nearest ``sfreq / 128`` (at least 4: 4 at 128 and 160 Hz, 8 at 256 Hz,
        16 at 512 Hz), or less (at least 4) in epochs too short for it to be
        followed by the second pooling, by 8.
    dropout : float
        Dropout probability (0.5 within-subject, 0.25 cross-subject in the paper).
    input_scale : float | array-like, shape (n_channels,)
        Factor applied to the input before the first layer, or one factor per
        channel (see the estimators).

    Notes
    -----
    The output is a logit per class, not a (log-)softmax: the softmax belongs to
    the loss, and attribution methods explain the class score. Max-norm
    constraints are applied by :meth:`apply_max_norm` after each optimizer step,
    as Keras does; the layers themselves are plain ``nn.Conv2d`` and
    ``nn.Linear``.

    References
    ----------
    .. footbibliography::
    """

    max_norm = {"spatial_conv.weight": 1.0, "classifier.weight": 0.25}

    def __init__(
        self,
        n_channels,
        n_classes,
        n_times,
        sfreq=128.0,
        *,
        F1=8,
        D=2,
        F2=None,
        kernel_length=None,
        separable_kernel_length=None,
        pool_length=None,
        dropout=0.5,
        input_scale=1.0,
    ):
        super().__init__(n_channels, n_classes, n_times, sfreq, input_scale)
        F1, D = layer_size(F1, "F1"), layer_size(D, "D")
        F2 = layer_size(F2, "F2", F1 * D)
        # No shorter than the paper's, and short epochs keep a time sample.
        default_pool = 4 * max(1, round(sfreq / REFERENCE_SFREQ))
        pool_length = layer_size(
            pool_length, "pool_length", max(4, min(default_pool, n_times // 8))
        )
        if n_times < 8 * pool_length:
            raise TooShortError(
                f"EEGNet pools time by {8 * pool_length} at {sfreq:g} Hz and needs "
                f"n_times >= {8 * pool_length}, got {n_times}. Give longer epochs "
                "(or a CroppedClassifier longer windows: window_length), or a "
                "smaller pool_length (module__pool_length of the estimators).",
                needed=8 * pool_length,
                shorter="pool_length",
            )
        # Odd kernels make Keras' "same" padding symmetric (64 -> 65 at 128 Hz).
        kernel_length = layer_size(
            kernel_length, "kernel_length", scaled_length(64, sfreq) | 1
        )
        pooled_sfreq = sfreq / pool_length
        # The paper's 16 samples at its pooled 32 Hz, i.e. half a second.
        separable_kernel_length = layer_size(
            separable_kernel_length,
            "separable_kernel_length",
            scaled_length(16, 4 * pooled_sfreq) | 1,
        )
        self.temporal_conv = nn.Conv2d(
            1, F1, (1, kernel_length), padding=same_padding(kernel_length), bias=False
        )
        self.temporal_bn = nn.BatchNorm2d(F1)
        self.spatial_conv = nn.Conv2d(
            F1, F1 * D, (n_channels, 1), groups=F1, bias=False
        )
        self.spatial_bn = nn.BatchNorm2d(F1 * D)
        self.spatial_elu = nn.ELU()
        self.spatial_pool = nn.AvgPool2d((1, pool_length))
        self.spatial_dropout = nn.Dropout(dropout)
        self.separable_depthwise = nn.Conv2d(
            F1 * D,
            F1 * D,
            (1, separable_kernel_length),
            padding=same_padding(separable_kernel_length, "separable_kernel_length"),
            groups=F1 * D,
            bias=False,
        )
        self.separable_pointwise = nn.Conv2d(F1 * D, F2, 1, bias=False)
        self.separable_bn = nn.BatchNorm2d(F2)
        self.separable_elu = nn.ELU()
        self.separable_pool = nn.AvgPool2d((1, 8))
        self.separable_dropout = nn.Dropout(dropout)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(F2 * (n_times // pool_length // 8), n_classes)

    @fill_doc
    def forward(self, x):
        """Map ``(batch, n_channels, n_times)`` to ``(batch, n_classes)`` logits.

        %(network_forward)s

        Notes
        -----
        In training mode, with a batch that needs no input gradient, on the
        CPU, the first block (temporal convolution, batch norm, depthwise
        spatial convolution) is computed with the spatial filters first, on
        ``F1 * D`` signals instead of ``F1 * n_channels`` maps: training-mode
        batch norm is an affine map per temporal filter whose statistics are a
        linear and a quadratic form of its kernel (see
        ``_spatial_first_in_training``). The logits, the gradients of every
        parameter and the running statistics are those of the layers called
        in turn, to float rounding, about four times faster on 64 channels.
        Wherever the first block might compute otherwise than EEGNet's layers
        (see ``_first_block_is_eegnets``), the layers are called.
        """
        x = self._scale_input(x)
        if self.training and self._trains_spatial_first(x):
            x = _spatial_first_in_training(self, x)
        else:
            x = self.spatial_conv(self.temporal_bn(self.temporal_conv(x.unsqueeze(1))))
        return _after_spatial_filters(self, self.spatial_bn(x))

    @fill_doc
    @torch.no_grad()
    def initialize_spatial_filters(self, X, y):
        """Start each temporal filter's spatial filters as CSP filters of its output.

        The ``D`` spatial filters of each temporal filter become the common
        spatial patterns' filters (:class:`mne.decoding.CSP`) of
        the training epochs as that temporal filter, at its initial weights,
        passes them on; training goes on from there. Single-channel networks
        keep their initialization.

        Parameters
        ----------
        %(spatial_filter_data)s
        """
        if self.n_channels < 2:
            return
        x = self._scale_input(X).unsqueeze(1)
        weight = self.spatial_conv.weight
        depth = weight.shape[0] // self.temporal_conv.out_channels
        for index, kernel in enumerate(self.temporal_conv.weight):
            signals = nn.functional.conv2d(
                x, kernel[None], padding=self.temporal_conv.padding
            )[:, 0]
            filters = discriminant_spatial_filters(
                signals.double().cpu().numpy(), y, depth
            )
            first = index * depth
            weight[first : first + len(filters), 0, :, 0] = weight.new_tensor(filters)

    def inference_graph(self):
        """Return EEGNet with its spatial filters applied first (evaluation mode).

        See :class:`SpatialFirstEEGNet`, which is built from the weights of the
        first block's layers. In training mode, and wherever the first block
        computes otherwise than those weights in EEGNet's layers would (a
        ``forward`` of the network's subclass or of a layer, hooks, biases,
        other padding, other layers put in their place, a batch norm left in
        training mode), this is the network itself. The faster module is
        checked to give the network's logits on a random probe, and the
        network is returned if it does not.

        Returns
        -------
        module : SpatialFirstEEGNet | EEGNet
            The equivalent faster module, or ``self``.
        """
        if self.training or not self._first_block_is_eegnets():
            return self
        graph = SpatialFirstEEGNet(self)
        # A seed of its own: building the graph leaves the global state alone.
        generator = torch.Generator().manual_seed(0)
        weight = self.temporal_conv.weight
        probe = torch.randn(
            2, self.n_channels, self.n_times, generator=generator, dtype=weight.dtype
        )
        probe = probe.to(weight.device) / self.input_scale
        with torch.no_grad(), full_float32():
            same = outputs_agree(graph(probe), self(probe), atol=1e-6)
        return graph if same else self

    def _trains_spatial_first(self, x):
        """Whether a training-mode pass of ``x`` may take the spatial-first path.

        Not for an input that needs its gradient (the path takes the batch
        statistics as constants of the input), nor on other devices than the
        CPU, where it is neither measured nor checked (TF32 convolutions,
        float64 being slow on GPUs).
        """
        return (
            x.device.type == "cpu"
            and not x.requires_grad
            and self._first_block_is_eegnets(training=True)
        )

    def _first_block_is_eegnets(self, training=False):
        """Whether the first block computes as EEGNet's layers of these weights do.

        With ``training``, for the training-mode path, which calls none of the
        first block's layers and is checked on no probe (a training-mode probe
        would move the running statistics): no hook of theirs may run, their
        weights are plain parameters (a parametrization, computing a weight at
        each read, is left to the layers: the estimators refuse it on
        max-norm constrained weights anyway), and the temporal batch norm
        is in training mode and keeps running statistics as it goes. Without,
        for the evaluation-mode graph, which folds the batch norms' running
        statistics, neither batch norm may be in training mode.
        """
        kinds = {
            self.temporal_conv: nn.Conv2d,
            self.spatial_conv: nn.Conv2d,
            self.temporal_bn: nn.BatchNorm2d,
            self.spatial_bn: nn.BatchNorm2d,
        }
        if has_own_forward(self, EEGNet) or runs_hooks(self):
            return False
        # In evaluation, hooks before a layer's call (pruning's mask of the
        # weight) act on what the probe sees; those after it, or on gradients,
        # may not. Parametrized weights (a max-norm constraint) are read as
        # weight there.
        if training:
            hooks, kind_of = HOOK_KINDS, type
        else:
            hooks = ("forward_hooks", "backward_hooks", "backward_pre_hooks")
            kind_of = type_before_parametrizations
        for layer, kind in kinds.items():
            if (
                kind_of(layer) is not kind
                or has_own_forward(layer, kind)
                or runs_hooks(layer, hooks)
            ):
                return False
        temporal, spatial = self.temporal_conv, self.spatial_conv
        convolutions_plain = all(
            conv.bias is None
            and conv.padding_mode == "zeros"
            and conv.stride == conv.dilation == (1, 1)
            for conv in (temporal, spatial)
        )
        # Shapes as EEGNet builds them: one input map filtered along time with
        # zero padding, and spatial filters spanning the channels, D per map.
        shaped_as_built = (
            (temporal.in_channels, temporal.groups, temporal.kernel_size[0])
            == (1, 1, 1)
            and temporal.padding[0] == 0
            and spatial.kernel_size == (self.n_channels, 1)
            and spatial.padding == (0, 0)
            and spatial.groups == temporal.out_channels
        )
        batch_norms = (self.temporal_bn, self.spatial_bn)
        statistics_kept = all(bn.running_var is not None for bn in batch_norms)
        # Each path normalizes as the network's mode does: by the batch in
        # training (spatial_bn's layer is called there), by the running
        # statistics in evaluation. A batch norm frozen in training
        # (fine-tuning) or left training in evaluation is left to its layer:
        # the paths normalized otherwise, and moved its running statistics.
        if training:
            in_mode = self.temporal_bn.training and self.temporal_bn.track_running_stats
        else:
            in_mode = not any(bn.training for bn in batch_norms)
        return convolutions_plain and shaped_as_built and statistics_kept and in_mode


def _spatial_first_in_training(net, x):
    """EEGNet's training-mode first block up to ``spatial_bn``, spatial filters first.

    Training-mode batch norm is an affine map per temporal filter, whose
    scale and shift come from the mean and (biased) variance of that filter's
    output over the batch, every channel and time. For a kernel ``w`` these
    are a linear and a quadratic form, ``w @ sums / n`` and
    ``w @ products @ w / n - mean ** 2``, of the window moments of the padded
    input (:func:`_window_moments`), so the ``F1 * n_channels`` filtered maps
    are never made: the spatial filters run first, and the temporal ones,
    scaled by the batch norm, on the ``F1 * D`` sums, as
    :class:`SpatialFirstEEGNet` does in evaluation (zero padding commutes with
    the channel sums). Autograd differentiates through the mean and variance as
    through ``BatchNorm2d``; the running statistics move as its do.

    The moments are computed in float64: the variance is a difference of two
    sums of squares.

    Parameters
    ----------
    net : EEGNet
        The network in training mode (see ``EEGNet._trains_spatial_first``).
    x : torch.Tensor, shape (batch, n_channels, n_times)
        The scaled input.

    Returns
    -------
    x : torch.Tensor, shape (batch, F1 * D, 1, n_times)
        What ``spatial_conv(temporal_bn(temporal_conv(x)))`` gives.
    """
    temporal, batch_norm = net.temporal_conv, net.temporal_bn
    kernels = temporal.weight[:, 0, 0]  # (F1, kernel_length)
    weights = net.spatial_conv.weight[:, 0, :, 0]  # (F1 * D, n_channels)
    padding = temporal.padding[1]
    padded = functional.pad(x.flatten(0, 1), (padding, padding)).double()
    sums, products = _window_moments(padded, kernels.shape[1])
    n_values = padded.shape[0] * (padded.shape[1] - kernels.shape[1] + 1)
    kernels64 = kernels.double()
    mean = kernels64 @ sums / n_values
    var = (kernels64 @ products * kernels64).sum(dim=1) / n_values - mean**2
    with torch.no_grad():
        # As BatchNorm2d: the running variance is the unbiased estimate.
        batch_norm.num_batches_tracked.add_(1)
        momentum = batch_norm.momentum
        if momentum is None:  # a cumulative average
            momentum = 1 / float(batch_norm.num_batches_tracked)
        unbiased = var * n_values / (n_values - 1)
        for running, batch in (
            (batch_norm.running_mean, mean),
            (batch_norm.running_var, unbiased),
        ):
            running.copy_(momentum * batch + (1 - momentum) * running)
    # Training-mode spatial_bn takes out each map's mean, and its spread but
    # for eps: temporal_bn's shift (bias and mean) has no effect on the
    # logits at all, and its scale (weight and variance) next to none. The
    # gradients of its weight and bias are therefore about 1e-5 and 1e-7 of
    # the others', the bias's pure float rounding, which differs between the
    # two computations. AdamW normalizes gradients by their size, so both move
    # that bias by up to lr per step, each its own way (1.8e-3 apart after 15
    # steps in the tests; the weight within 1e-4). Training does not see
    # it; in evaluation spatial_bn's running mean follows the bias a few steps
    # behind, so the two fits' probabilities differ by about 1e-5, their
    # predictions not (tests, benchmarks/speed_fit.py). The layers themselves
    # take such a random walk from their own rounding.
    scale, shift = normalization_affine(batch_norm, mean, var)
    scale, shift = scale.to(kernels.dtype), shift.to(kernels.dtype)
    # Spatial map j belongs to temporal filter j // D (grouped convolution).
    per_map = weights.shape[0] // kernels.shape[0]
    scale, shift = scale.repeat_interleave(per_map), shift.repeat_interleave(per_map)
    maps = functional.conv1d(x, weights.unsqueeze(-1))
    maps = functional.conv1d(
        maps,
        (scale[:, None] * kernels.repeat_interleave(per_map, dim=0)).unsqueeze(1),
        bias=shift * weights.sum(dim=1),
        padding=padding,
        groups=weights.shape[0],
    )
    return maps.unsqueeze(2)


def _window_moments(padded, kernel_length):
    """Return sums over every window of a kernel sliding along a batch of signals.

    For windows starting at ``t = 0 .. n_samples - kernel_length``, summed
    over signals and windows: ``sums[j]`` of ``padded[:, t + j]`` and
    ``products[i, j]`` of ``padded[:, t + i] * padded[:, t + j]``. The
    convolution ``y`` of the signals by a kernel ``w`` then has
    ``y.sum() == w @ sums`` and ``(y ** 2).sum() == w @ products @ w``.

    Parameters
    ----------
    padded : torch.Tensor, shape (n_signals, n_samples)
        The signals, padded as the convolution pads them.
    kernel_length : int
        The kernel's length.

    Returns
    -------
    sums : torch.Tensor, shape (kernel_length,)
    products : torch.Tensor, shape (kernel_length, kernel_length)
    """
    n_samples = padded.shape[1]
    n_windows = n_samples - kernel_length + 1
    sums = padded.sum(dim=0).unfold(0, n_windows, 1).sum(dim=1)
    # The products of each lag over every start, through the FFT: the direct
    # sum costs n_signals * n_samples * kernel_length. Padded to at least
    # n_samples + kernel_length - 1, lags below kernel_length do not wrap.
    n_fft = 2 ** math.ceil(math.log2(n_samples + kernel_length - 1))
    spectrum = torch.fft.rfft(padded, n_fft)
    power = (spectrum.real**2 + spectrum.imag**2).sum(dim=0)
    all_starts = torch.fft.irfft(power, n_fft)[:kernel_length]
    # products[0] has starts below n_windows only: take off the rest, the
    # lagged products within the last kernel_length - 1 samples.
    head, tail = padded[:, : kernel_length - 1], padded[:, n_windows:]
    within_tail = tail.T @ tail
    first_row = all_starts - _by_diagonal(within_tail, kernel_length).sum(dim=0)
    # Moving every window one sample on adds its new last products and drops
    # its first: products[i + 1, j + 1] = products[i, j] + steps[i, j], so
    # along each diagonal the products are the first row's plus the steps
    # before them. Summed at once (a loop over the rows is a tensor operation
    # per row, at every training step).
    steps = _by_diagonal(within_tail - head.T @ head, kernel_length)
    by_diagonal = first_row + steps.cumsum(dim=0) - steps
    rows, columns, upper = _diagonal_indices(kernel_length, padded.device)
    products = padded.new_zeros(kernel_length, kernel_length)
    products[rows[upper], columns[upper]] = by_diagonal[upper]
    # The products are symmetric: the lower triangle mirrors the upper one.
    return sums, products + products.T - products.diagonal().diag()


def _diagonal_indices(size, device):
    """Return the ``(row, row + lag)`` indices of a ``(size, size)`` matrix.

    ``rows`` and ``columns`` are indexed by ``(row, lag)``; ``upper`` says
    which are inside the matrix (``row + lag < size``).
    """
    lags = torch.arange(size, device=device)
    rows = lags[:, None].expand(size, size)
    columns = rows + lags
    return rows, columns, columns < size


def _by_diagonal(matrix, size):
    """Return the diagonals of ``matrix``, at most ``(size, size)``, as columns.

    Element ``(row, lag)`` is ``matrix[row, row + lag]``; zero outside ``matrix``.
    """
    rows, columns, upper = _diagonal_indices(size, matrix.device)
    square = functional.pad(
        matrix, (0, size - matrix.shape[1], 0, size - matrix.shape[0])
    )
    return torch.where(upper, square[rows, columns.clamp(max=size - 1)], 0)


def _after_spatial_filters(net, x):
    """EEGNet from the spatially filtered maps ``(batch, F1 * D, 1, n_times)`` on.

    ``net`` is an :class:`EEGNet` or a :class:`SpatialFirstEEGNet`, which share
    these layers.
    """
    x = net.spatial_dropout(net.spatial_pool(net.spatial_elu(x)))
    x = net.separable_pointwise(net.separable_depthwise(x))
    x = net.separable_elu(net.separable_bn(x))
    x = net.separable_dropout(net.separable_pool(x))
    return net.classifier(net.flatten(x))


class SpatialFirstEEGNet(nn.Module):
    """An evaluation-mode EEGNet that filters in space before filtering in time.

    In evaluation mode EEGNet's first block (input scaling, temporal
    convolution, batch norm, depthwise spatial convolution, batch norm) is an
    affine map of the input in which the temporal and spatial filters commute:
    filtering every channel in time and then summing channels with spatial
    weights equals summing the channels first and filtering the ``F1 * D``
    sums, zero padding included. This module does the latter, with the scaling
    and both batch norms folded into the two convolutions, so the temporal
    filters run on ``F1 * D`` signals instead of ``F1 * n_channels`` (about
    ``n_channels / D`` times fewer multiplications in the costliest layer).
    Everything from the first ELU on is the network's own modules.

    The logits are those of the network (to float rounding), and so are the
    gradients with respect to the input and the inputs and outputs of every
    nonlinearity. Methods defined by these (gradients, integrated gradients,
    DeepLIFT, guided backprop, occlusion) give the same attributions on this
    module, faster; layer-wise rules (LRP, class activation maps) must use
    the network. The folded weights are a snapshot: build a new module after
    the network's weights change.

    Parameters
    ----------
    network : EEGNet
        The network, in evaluation mode.
    """

    def __init__(self, network):
        super().__init__()
        # Anything else failed on a missing attribute ('training').
        if not isinstance(network, EEGNet):
            raise TypeError(f"network must be an EEGNet, got {type(network).__name__}.")
        if network.training:
            raise ValueError(
                "SpatialFirstEEGNet folds batch norm statistics and needs the "
                "network in evaluation mode (call network.eval())."
            )
        self._check_input = network._check_input
        temporal, spatial = network.temporal_conv, network.spatial_conv
        n_maps = spatial.out_channels
        with torch.no_grad():
            temporal_scale, temporal_shift = batch_norm_affine(
                network.temporal_bn, "temporal_bn"
            )
            spatial_scale, spatial_shift = batch_norm_affine(
                network.spatial_bn, "spatial_bn"
            )
            # Spatial map j belongs to temporal filter j // D (grouped convolution).
            per_map = n_maps // temporal.out_channels
            temporal_scale = temporal_scale.repeat_interleave(per_map)
            temporal_shift = temporal_shift.repeat_interleave(per_map)
            kernels = temporal.weight[:, 0, 0].repeat_interleave(per_map, dim=0)
            weights = spatial.weight[:, 0, :, 0]
            factory = dict(device=weights.device, dtype=weights.dtype)
            # skip_init: no random initialization, which would draw from the
            # global random state only to be overwritten.
            self.spatial_filter = skip_init(
                nn.Conv1d, network.n_channels, n_maps, 1, bias=False, **factory
            )
            self.spatial_filter.weight.copy_(
                (weights * network.input_scale.reshape(-1)).unsqueeze(-1)
            )
            self.temporal_filter = skip_init(
                nn.Conv1d,
                n_maps,
                n_maps,
                temporal.kernel_size[1],
                padding=temporal.padding[1],
                groups=n_maps,
                **factory,
            )
            self.temporal_filter.weight.copy_(
                (spatial_scale * temporal_scale)[:, None, None] * kernels[:, None]
            )
            self.temporal_filter.bias.copy_(
                spatial_scale * temporal_shift * weights.sum(dim=1) + spatial_shift
            )
        self.requires_grad_(False)
        # Before taking the network's layers, which keep the modes the network
        # gave them (a dropout left in training mode: Monte Carlo dropout).
        self.eval()
        for name in (
            "spatial_elu",
            "spatial_pool",
            "spatial_dropout",
            "separable_depthwise",
            "separable_pointwise",
            "separable_bn",
            "separable_elu",
            "separable_pool",
            "separable_dropout",
            "flatten",
            "classifier",
        ):
            setattr(self, name, getattr(network, name))

    @fill_doc
    def forward(self, x):
        """Map ``(batch, n_channels, n_times)`` to ``(batch, n_classes)`` logits.

        %(network_forward)s
        """
        self._check_input(x)
        x = self.temporal_filter(self.spatial_filter(x)).unsqueeze(2)
        return _after_spatial_filters(self, x)
