"""Whether attribution maps reflect what the network does: perturb, and watch the score.

Every measure replaces the parts of each epoch that an attribution map ranks
as relevant (or random parts) and records how the class score (the logit of
the explained class) changes. Attributions come from :func:`mne_xai.explain`,
called batch by batch, or from an attribution :class:`mne.EpochsArray` the user
computed already; the evaluation never computes attributions itself.

All measures stream over batches of epochs (memory grows with ``batch_size``,
not with the number of epochs), evaluate the perturbed variants of a batch in
large forward passes, show a progress bar, and are reproducible with
``random_state``. Where only one channel changes (the perturbation tests),
the scores of networks that begin with a linear filter bank are computed
exactly from the changed samples, without evaluating each perturbed epoch in
full.

Removed samples are replaced by a baseline:

- ``"zero"``: zeros, as in Cui et al. :footcite:`CuiEtAl2023`;
- ``"mean"``: the mean training epoch (``estimator.data_mean_``);
- ``"noise"``: Gaussian noise with each channel's standard deviation in the
  epoch;
- ``"interpolate"``: each removed channel is replaced by spherical-spline
  interpolation :footcite:`PerrinEtAl1989` from the channels still present, as
  :meth:`mne.Epochs.interpolate_bads` does, so perturbed epochs stay close to
  the data manifold. It replaces whole channels, so it is available where
  whole channels (or patches of single channels) are removed.

References
----------
.. footbibliography::
"""

import weakref
from collections import OrderedDict

import mne
import numpy as np
import torch
import torch.nn.functional as F
from mne.channels.interpolation import _make_interpolation_matrix
from mne.utils import (
    _check_option,
    _validate_type,
    logger,
    verbose,
    warn,
)
from scipy.ndimage import uniform_filter1d
from sklearn.utils import Bunch

from .._convert import InputData, check_scale
from .._progress import progress_bar
from ..explain import explain
from ..explain._core import _evaluation_mode, _module_on, _resolve_target
from ..explain.postprocess import _per_map_zscore

BASELINES = ("zero", "mean", "noise", "interpolate")
_ORDERS = ("most_relevant_first", "least_relevant_first")
_UNITS = ("feature", "channel")
# Perturbed variants are scored in forward passes of at least this many epochs
# (or ``batch_size`` if larger): one large pass costs far less than many small
# ones, and memory stays bounded whatever the number of steps or patches.
_MIN_VARIANTS_PER_PASS = 256
_MAX_INTERPOLATION_OPERATORS = 4096
_N_EPOCHS_CHECKED = 8  # epochs on which the factored first block must match
_TOLERANCE = 1e-3  # largest error of a shortcut, relative to the largest logit
# Windows replaced on one channel are scored in chunks of about this many
# first-block output values (4 MiB in float32): large enough that per-operation
# overheads do not count, small enough to stay in the processor's cache.
_WINDOW_CHUNK_ELEMENTS = 2**20
# Layers that act on the input as a linear, time-invariant filter bank in
# evaluation mode (see ``_FactoredFrontEnd``).
_FILTER_BANK_LAYERS = (
    torch.nn.Conv1d,
    torch.nn.Conv2d,
    torch.nn.BatchNorm1d,
    torch.nn.BatchNorm2d,
    torch.nn.Dropout,
    torch.nn.Identity,
)
# Nonlinearities that act on each value alone, whatever the shape of the input
# (see ``_PooledLinearHead``).
_ELEMENTWISE_NONLINEARITIES = (
    torch.nn.ReLU,
    torch.nn.LeakyReLU,
    torch.nn.ELU,
    torch.nn.CELU,
    torch.nn.SELU,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.Mish,
    torch.nn.Softplus,
    torch.nn.Tanh,
    torch.nn.Sigmoid,
    torch.nn.Hardtanh,
    torch.nn.Hardswish,
)
# Layers that pass their input on unchanged in evaluation mode, up to its shape.
_IDENTITY_LAYERS = (
    torch.nn.Identity,
    torch.nn.Flatten,
    torch.nn.modules.dropout._DropoutNd,
)


# -- scoring perturbed epochs ---------------------------------------------------
def _leaf_modules_in_call_order(module, example):
    """Leaf modules in the order a forward pass calls them, with their input shapes."""
    order, handles = [], []
    for leaf in module.modules():
        if not any(True for _ in leaf.children()):
            handles.append(
                leaf.register_forward_pre_hook(
                    lambda layer, inputs: order.append((layer, tuple(inputs[0].shape)))
                )
            )
    try:
        module(example)
    finally:
        for handle in handles:
            handle.remove()
    return order


def _is_filter_bank_layer(layer):
    if isinstance(layer, torch.nn.Conv1d | torch.nn.Conv2d):
        return all(step == 1 for step in layer.stride)
    return isinstance(layer, _FILTER_BANK_LAYERS)


def _rows(flat, offsets, width):
    """Copy ``flat[o : o + width]`` for each offset ``o``: (len(offsets), width).

    One ``index_select`` on a view whose rows start one element apart: a copy
    of contiguous runs, several times faster than advanced indexing of windows.
    """
    windows = flat.as_strided((flat.numel() - width + 1, width), (1, 1))
    return windows.index_select(0, offsets)


def _batch_norm_scale(layer):
    """Per-feature scale of a batch norm layer in evaluation mode."""
    scale = torch.rsqrt(layer.running_var.double() + layer.eps)
    if layer.weight is not None:
        scale = scale * layer.weight.double()
    return scale


def _averages_all_time(layer, input_shape):
    """Whether a pooling layer averages its input over all of time (and space)."""
    extent = input_shape[2:]
    if isinstance(layer, torch.nn.AdaptiveAvgPool1d | torch.nn.AdaptiveAvgPool2d):
        sizes = layer.output_size
        sizes = (sizes,) * len(extent) if not isinstance(sizes, tuple) else sizes
        return all(
            (size if size is not None else length) == 1
            for size, length in zip(sizes, extent, strict=True)
        )
    if isinstance(layer, torch.nn.AvgPool1d | torch.nn.AvgPool2d):
        kernel = torch.nn.modules.utils._ntuple(len(extent))(layer.kernel_size)
        padding = torch.nn.modules.utils._ntuple(len(extent))(layer.padding)
        return (
            tuple(kernel) == tuple(extent)
            and not any(padding)
            and layer.divisor_override is None
        )
    return False


class _FactoredFrontEnd:
    """Exact shortcut through a network that starts with a spatio-temporal filter bank.

    EEG networks (EEGNet, InterpretableCNN, ShallowConvNet) begin with
    convolutions and batch norm up to their first nonlinearity: in evaluation
    mode, a linear time-invariant filter bank ``z[g, t'] = b[g] + sum_c
    (k[g, c] * x[c])(t')``. Its kernels ``k[g, c, :]`` are measured once, from
    the response to an impulse on each channel, and factored by SVD into a few
    spatial filters each followed by a temporal filter. For EEGNet, whose
    kernels are a temporal filter times a spatial filter, this evaluates the
    first block for the cost of its spatial filters, far less than the
    convolution of every channel; the layers from the first nonlinearity on
    then run as usual. Perturbation measures evaluate hundreds of variants of
    each epoch, so this is where most of their time goes.

    The shortcut is used only when it reproduces the network's scores on real
    data (checked by :meth:`matches`); otherwise the network runs as it is.

    Attributes
    ----------
    spatial : tensor, shape (n_maps * rank, n_channels)
        Spatial filters, ``rank`` per map of the first block's output.
    temporal : tensor, shape (n_maps * rank, 1, n_taps)
        The temporal filter after each spatial filter, as ``conv1d`` weights
        (applied to the spatially filtered input padded by ``padding``).
    padding : tuple of int
        Zeros added before and after the input, ``(pad_left, pad_right)``:
        output ``t'`` reads padded input samples ``t'`` to ``t' + n_taps - 1``.
    split : torch.nn.Module
        The first layer that is not part of the filter bank (its first
        nonlinearity); its input is the first block's output.
    out_shape : torch.Size
        Shape of one epoch's first-block output, ``(n_maps, ..., n_out)``.
    layers : list of (torch.nn.Module, tuple)
        The network's leaf modules in call order, with their input shapes.
    """

    def __init__(self, module, example):
        # A weak reference: _ClassScorer caches this per module in a
        # WeakKeyDictionary, whose entries a strong one would keep alive.
        self._module = weakref.ref(module)
        layers = _leaf_modules_in_call_order(module, example[:1])
        self.layers = layers
        split = next(
            (layer for layer, _ in layers if not _is_filter_bank_layer(layer)), None
        )
        self.usable = split is not None and split is not layers[0][0]
        if not self.usable:
            return
        self.split = split
        n_channels, n_times = example.shape[1:]
        impulse_time = n_times // 2
        impulses = torch.zeros(
            n_channels + 1, n_channels, n_times, device=example.device
        )
        impulses[torch.arange(n_channels), torch.arange(n_channels), impulse_time] = 1
        responses = self._front(impulses)
        self.out_shape = responses.shape[1:]
        self.n_out = self.out_shape[-1]
        offset = responses[-1].reshape(-1, self.n_out)
        self.n_maps = len(offset)
        # kernels: (n_maps, n_channels, n_times_out), the response at t' to a
        # unit impulse at ``impulse_time``.
        kernels = (responses[:-1] - responses[-1]).reshape(n_channels, -1, self.n_out)
        kernels = kernels.transpose(0, 1).double()
        support = kernels.abs().amax(dim=(0, 1)).nonzero().flatten()
        if support.numel() == 0:
            self.usable = False
            return
        first, last = int(support[0]), int(support[-1])
        kernels = kernels[..., first : last + 1]
        u, s, vh = torch.linalg.svd(kernels, full_matrices=False)
        rank = int((s > 1e-6 * s.amax()).sum(dim=1).max())
        # Keep the factorization only when it is cheaper than a convolution of
        # every channel (a rank close to n_channels means no spatial structure).
        self.usable = rank <= max(1, n_channels // 4)
        if not self.usable:
            return
        self.spatial = (u[..., :rank] * s[:, None, :rank]).transpose(1, 2)
        self.spatial = self.spatial.reshape(self.n_maps * rank, n_channels).float()
        # conv1d correlates; flipping the kernels makes it the convolution above.
        self.temporal = vh[:, :rank].flip(-1).reshape(self.n_maps * rank, 1, -1)
        self.temporal = self.temporal.float()
        self.rank = rank
        self.offset = offset
        pad_left = last - impulse_time
        pad_right = self.n_out - n_times - pad_left + (last - first)
        self.padding = (pad_left, pad_right)

    @property
    def module(self):
        """The network."""
        return self._module()

    def _front(self, inputs):
        """Input of the first nonlinearity, from the network itself."""
        captured = {}

        def capture(layer, args):
            captured["input"] = args[0]
            raise _FrontEndReached

        handle = self.split.register_forward_pre_hook(capture)
        try:
            self.module(inputs)
        except _FrontEndReached:
            pass
        finally:
            handle.remove()
        return captured["input"]

    def _factored_front(self, inputs):
        return self.filter_projected(torch.einsum("fc,bct->bft", self.spatial, inputs))

    def filter_projected(self, spatial):
        """First-block output from spatially filtered inputs, (n, n_maps * rank, n_times)."""
        temporal = F.conv1d(
            F.pad(spatial, self.padding), self.temporal, groups=len(self.temporal)
        )
        summed = temporal.reshape(len(spatial), self.n_maps, self.rank, -1).sum(dim=2)
        return (summed + self.offset).reshape(len(spatial), *self.out_shape)

    def rest(self, front, example):
        """Logits of the network fed ``front`` as its first block's output.

        ``front`` is (n, *out_shape); ``example`` is any input of the network.
        """

        def substitute(layer, args):
            return (front,)

        handle = self.split.register_forward_pre_hook(substitute)
        try:
            # The layers before the split see an empty batch (no work); their
            # output is replaced by the whole batch's.
            return self.module(example[:0])
        finally:
            handle.remove()

    def __call__(self, inputs):
        """Logits of ``inputs``, through the factored first block."""
        return self.rest(self._factored_front(inputs), inputs)

    def window_scorer(self, inputs):
        """Return the network's :class:`_WindowScorer`, or None if it does not match.

        Whether window scores reproduce the network's depends on its layers,
        not on the data: this is checked on the first ``inputs`` only.
        """
        if not hasattr(self, "_window_scorer"):
            scorer = _WindowScorer(self)
            self._window_scorer = scorer if scorer.matches(inputs) else None
        return self._window_scorer

    def matches(self, inputs):
        """Whether the shortcut reproduces the network's logits on ``inputs``."""
        if not self.usable:
            return False
        expected = self.module(inputs)
        error = _relative_error(self(inputs), expected)
        logger.debug(
            f"Factored first block: rank {self.rank}, relative error {error:.1e}"
        )
        return error < _TOLERANCE


def _relative_error(values, expected):
    scale = expected.abs().amax().clamp_min(1e-6)
    return float((values - expected).abs().amax() / scale)


class _FrontEndReached(Exception):
    """Stops a forward pass once the first nonlinearity's input is known."""


class _PooledLinearHead:
    """The layers after the first block, when each logit sums over time.

    Networks such as InterpretableCNN follow their first block with an
    elementwise nonlinearity ``f``, per-map affine layers (batch norm in
    evaluation mode), an average over all of time and a linear layer. Their
    logits are ``b[k] + sum_m coef[k, m] * sum_t f(z[m, t])`` for the
    first block's output ``z`` (n_maps, n_out), so a change of ``z`` on a few
    samples changes the logits through these samples alone. The structure is
    recognized from the leaf modules after the split (dropout, identity and
    flatten layers are allowed anywhere); ``usable`` is False for any other
    head (e.g. EEGNet's, which pools locally and convolves again).

    Attributes
    ----------
    coef : tensor, shape (n_classes, n_maps), float64
        Weight of each map's sum of ``f`` over time in each logit (the linear
        layer's weights times the scale of the affine layers, over ``n_out``).
    """

    def __init__(self, front):
        self.usable = False
        self.activation = front.split
        layers = [layer for layer, _ in front.layers]
        tail = front.layers[layers.index(front.split) + 1 :]
        if (
            not isinstance(front.split, _ELEMENTWISE_NONLINEARITIES)
            or any(size != 1 for size in front.out_shape[1:-1])
            or not tail
            or not isinstance(tail[-1][0], torch.nn.Linear)
        ):
            return
        device = front.spatial.device
        scale = torch.ones(front.n_maps, dtype=torch.float64, device=device)
        pooled = False
        for layer, input_shape in tail[:-1]:
            if isinstance(layer, _IDENTITY_LAYERS):
                continue
            if (
                isinstance(layer, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d)
                and layer.running_mean is not None
                and layer.num_features == front.n_maps
            ):
                scale = scale * _batch_norm_scale(layer)
            elif not pooled and _averages_all_time(layer, input_shape):
                pooled = True
            else:
                return
        linear = tail[-1][0]
        if not pooled or linear.in_features != front.n_maps:
            return
        # The shifts of the affine layers only add a constant to the logits.
        self.coef = linear.weight.double() * scale / front.n_out
        self.usable = True

    def apply_activation(self, z):
        """``f(z)``, in place when ``f`` is a ReLU (no new buffer to allocate)."""
        if isinstance(self.activation, torch.nn.ReLU):
            return z.relu_()
        return self.activation(z)


class _WindowScorer:
    """Exact score changes of epochs with one channel replaced on a time window.

    The perturbation tests replace one channel of an epoch on a window of
    time (a patch, or the whole epoch) and score hundreds of such variants per
    epoch. As the first block of the network is linear (see
    :class:`_FactoredFrontEnd`), replacing channel ``c`` on ``[start, stop)``
    changes its output map ``m`` by ``spatial[m, c] * (temporal_m * d)``, with
    ``d = (replacement - x)[c, start:stop]``; this is nonzero only on the
    window widened by the temporal filters' length. All maps filter the same
    one-channel signal, so the changes of a batch of windows of equal length
    are one convolution with a single input channel, cheaper by far than the
    spatial filters and the full-length convolutions of every variant. The
    score then follows, exactly:

    - for a pooled linear head (see :class:`_PooledLinearHead`), from the
      affected outputs alone: ``sum_m coef[m] * sum_t f(z + dz) - f(z)`` over
      the window, with the sum of ``f(z)`` from cumulative sums of the intact
      epoch;
    - otherwise, from the network's layers after the first block, fed the
      intact epoch's first-block output plus the change.

    Parameters
    ----------
    front : _FactoredFrontEnd
        The network's first block, factored.
    """

    def __init__(self, front):
        self.front = front
        head = _PooledLinearHead(front)
        self.head = head if head.usable else None
        n_filters, _, n_taps = front.temporal.shape
        # The temporal filters as conv2d weights with channels-last strides
        # (the same memory, as there is one input channel): oneDNN then writes
        # the filtered windows time-major, (n, n_out, n_filters), the layout in
        # which the intact outputs of a window are read, with no reordering.
        self.filters = front.temporal.view(n_filters, 1, 1, n_taps).as_strided(
            (n_filters, 1, 1, n_taps), (n_taps, 1, n_taps, 1)
        )

    def __call__(self, data, replacement, target, channel, start, length):
        """Change of the target logit for each replaced window.

        Parameters
        ----------
        data, replacement : tensor, shape (n_epochs, n_channels, n_times)
            The epochs, and what replaces their samples.
        target : tensor of int64, shape (n_epochs,)
            The class scored in each epoch.
        channel, start : tensor of int64, shape (n_epochs, n_windows)
            Window ``j`` of epoch ``i`` replaces channel ``channel[i, j]`` from
            sample ``start[i, j]`` on.
        length : array of int, shape (n_windows,)
            Length of window ``j`` in samples, the same in every epoch.

        Returns
        -------
        changes : tensor of float64, shape (n_epochs, n_windows)
            Perturbed minus intact logit of the target class.
        """
        front = self.front
        n_epochs = len(data)
        # The factored first block is faster than the network's own, and the
        # same to float32 rounding (``_FactoredFrontEnd.matches``).
        intact = front._factored_front(data)
        maps = intact.reshape(n_epochs, front.n_maps, front.n_out)
        prepared = Bunch(
            data=data,
            target=target,
            # Time-major, so that the outputs a window changes are one run of
            # memory (see ``_rows``).
            intact=maps.transpose(1, 2).contiguous(),
            difference=F.pad(replacement - data, front.padding).contiguous(),
        )
        if self.head is None:
            logits = front.rest(intact, data)
            prepared.intact_score = logits.gather(1, target[:, None]).squeeze(1)
        else:
            prepared.coef = self.head.coef[target]
            activation = self.head.apply_activation(maps.clone()).double()
            # The intact epoch's share of the target logit at each time, summed
            # cumulatively (in float64, so that differences of two sums keep
            # float32 precision): its sum over any window is a subtraction.
            per_time = torch.einsum("emt,em->et", activation, prepared.coef)
            prepared.cumulative = F.pad(per_time.cumsum(dim=1), (1, 0))
        changes = torch.empty(channel.shape, dtype=torch.float64, device=data.device)
        epoch = torch.arange(n_epochs, device=data.device)
        for value in np.unique(length):
            columns = torch.as_tensor(np.flatnonzero(length == value)).to(data.device)
            changes[:, columns] = self._changes(
                prepared,
                epoch.repeat_interleave(len(columns)),
                channel[:, columns].reshape(-1),
                start[:, columns].reshape(-1),
                int(value),
            ).view(n_epochs, -1)
        return changes

    def _changes(self, prepared, epoch, channel, start, length):
        """Score changes of windows of one length (arguments of shape (n,)).

        The window ``[start, start + length)`` of the input changes the
        outputs ``[start + pad_left - n_taps + 1, start + pad_left + length)``.
        Every window of a length is given the same number of outputs,
        ``n_out``, from ``first`` on, shifted to stay within the epoch; output
        ``first + i`` reads padded input samples ``first + i`` to ``first + i +
        n_taps - 1``, zero outside the replaced window.
        """
        front = self.front
        n_filters, _, n_taps = front.temporal.shape
        n_channels = prepared.data.shape[1]
        n_padded = prepared.difference.shape[-1]
        n_out = min(length + n_taps - 1, front.n_out)
        width = n_out + n_taps - 1
        first = start + (front.padding[0] - n_taps + 1)
        first = first.clamp_(0, front.n_out - n_out)
        rows = (epoch * n_channels + channel) * n_padded + first
        # The replaced window begins ``begin`` samples into its row; the
        # ``width`` samples of ``mask`` from ``width - begin`` on are one on it
        # and zero elsewhere.
        begin = start + front.padding[0] - first
        mask = torch.zeros(2 * width + length, device=first.device)
        mask[width : width + length] = 1
        weights = front.spatial.T[channel]
        # Windows are scored in chunks of bounded size, so memory does not
        # grow with the batch; the later layers of the network take whole
        # first-block outputs.
        size = n_filters * (n_out if self.head is not None else front.n_out)
        per_chunk = max(1, _WINDOW_CHUNK_ELEMENTS // size)
        if self.head is not None:
            sums = torch.empty(len(epoch), front.n_maps, device=first.device)
        scores = []
        for i in range(0, len(epoch), per_chunk):
            chunk = slice(i, i + per_chunk)
            signal = _rows(prepared.difference.view(-1), rows[chunk], width)
            signal *= _rows(mask, width - begin[chunk], width)
            filtered = F.conv2d(signal.view(-1, 1, 1, width), self.filters)
            # (n, n_out, n_filters), a view of the channels-last output
            filtered = filtered.permute(0, 2, 3, 1).reshape(-1, n_out, n_filters)
            if self.head is None:
                scores.append(
                    self._network(
                        prepared, epoch[chunk], first[chunk], filtered, weights[chunk]
                    )
                )
            else:
                self._sum_activation(
                    prepared,
                    epoch[chunk],
                    first[chunk],
                    filtered,
                    weights[chunk],
                    out=sums[chunk],
                )
        if self.head is None:
            return torch.cat(scores)
        # Pooled linear head: the change of the target logit is the change of
        # its share on the window, coef . sums minus the intact epoch's.
        cumulative = prepared.cumulative
        intact = cumulative[epoch, first + n_out] - cumulative[epoch, first]
        return (sums.double() * prepared.coef[epoch]).sum(dim=1) - intact

    def _map_change(self, filtered, weights):
        """Change of the output maps, (n, n_out, n_maps): weights times filtered."""
        front = self.front
        if front.rank == 1:
            return filtered.mul_(weights[:, None])
        shape = (len(filtered), 1, front.n_maps, front.rank)
        change = filtered.view(*shape[:1], -1, *shape[2:]) * weights.view(shape)
        return change.sum(dim=-1)

    def _sum_activation(self, prepared, epoch, first, filtered, weights, out):
        """Sum over each window of ``f(intact + change)``, per map, into ``out``."""
        front = self.front
        n_out = filtered.shape[1]
        outputs = _rows(
            prepared.intact.view(-1),
            (epoch * front.n_out + first) * front.n_maps,
            n_out * front.n_maps,
        ).view(len(epoch), n_out, front.n_maps)
        if front.rank == 1:
            outputs.addcmul_(filtered, weights[:, None])
        else:
            outputs += self._map_change(filtered, weights)
        torch.sum(self.head.apply_activation(outputs), dim=1, out=out)

    def _network(self, prepared, epoch, first, filtered, weights):
        """Score changes through the network's layers after the first block."""
        front = self.front
        change = self._map_change(filtered, weights)
        # The intact epochs' outputs, with the change added on each window.
        outputs = prepared.intact.index_select(0, epoch)
        times = torch.arange(change.shape[1], device=first.device)
        index = (first[:, None] + times)[..., None].expand_as(change)
        outputs.scatter_add_(1, index, change)
        outputs = outputs.transpose(1, 2).reshape(len(epoch), *front.out_shape)
        logits = front.rest(outputs, prepared.data)
        score = logits.gather(1, prepared.target[epoch, None]).squeeze(1)
        return (score - prepared.intact_score[epoch]).double()

    def matches(self, inputs):
        """Whether score changes match the network's on windows of ``inputs``.

        Two windows per epoch are checked, a quarter-epoch patch and a whole
        channel, replaced by the epoch reversed in time.
        """
        module = self.front.module
        n_epochs, n_channels, n_times = inputs.shape
        length = np.array([max(1, n_times // 4), n_times])
        epoch = torch.arange(n_epochs, device=inputs.device)
        channel = torch.stack([epoch % n_channels, (epoch + 1) % n_channels], dim=1)
        start = torch.stack(
            [(epoch * 7919) % (n_times - length[0] + 1), torch.zeros_like(epoch)],
            dim=1,
        )
        replacement = inputs.flip(-1)
        logits = module(inputs)
        target = logits.argmax(dim=1)
        changes = self(inputs, replacement, target, channel, start, length)
        stop = start + torch.as_tensor(length, device=inputs.device)
        times = torch.arange(n_times, device=inputs.device)
        channels = torch.arange(n_channels, device=inputs.device)[:, None]
        removed = (
            (channels == channel[..., None, None])
            & (times >= start[..., None, None])
            & (times < stop[..., None, None])
        )
        variants = _replace(inputs, removed, replacement)
        scores = module(variants).gather(1, target.repeat_interleave(2)[:, None])
        expected = scores.view(n_epochs, 2) - logits.gather(1, target[:, None])
        scale = logits.abs().amax().clamp_min(1e-6)
        error = float((changes - expected.double()).abs().amax() / scale)
        logger.debug(
            f"Window scores ({'pooled linear' if self.head else 'network'} head): "
            f"relative error {error:.1e}"
        )
        return error < _TOLERANCE


class _ClassScorer:
    """The logit of one class per epoch, for many perturbed epochs at once."""

    # Measuring the first block costs about n_channels forward passes: keep it
    # per module while its parameters are unchanged.
    _shortcuts = weakref.WeakKeyDictionary()

    def __init__(self, module, example, pass_size):
        self.pass_size = pass_size
        self.forward = module
        self.windows = None
        versions = tuple(parameter._version for parameter in module.parameters())
        cached = self._shortcuts.get(module)
        if cached is not None and cached[0] == versions:
            shortcut = cached[1]
        else:
            shortcut = _FactoredFrontEnd(module, example)
            self._shortcuts[module] = (versions, shortcut)
        checked = example[:_N_EPOCHS_CHECKED]
        if shortcut.matches(checked):
            self.forward = shortcut
            self.windows = shortcut.window_scorer(checked)

    def __call__(self, variants, target):
        """Scores of ``variants`` (n, n_channels, n_times) for ``target`` (n,)."""
        scores = [
            self.forward(variants[start : start + self.pass_size])
            .gather(1, target[start : start + self.pass_size, None])
            .squeeze(1)
            for start in range(0, len(variants), self.pass_size)
        ]
        return torch.cat(scores)

    def step_scores(self, base, delta, first_step, n_steps, target):
        """Scores of epochs whose samples change one group at a time.

        Variant ``k`` (0 to ``n_steps``) of epoch ``e`` is ``base[e] +
        delta[e] * (first_step[e] <= k)``: the deletion and insertion curves.
        With the factored first block (see :class:`_FactoredFrontEnd`), its
        spatially filtered variants are a cumulative sum over steps of each
        sample's contribution ``spatial[:, c] * delta[c, t]``, collected at the
        step where the sample changes; no variant is built in full.

        Parameters
        ----------
        base, delta : tensor, shape (n_epochs, n_channels, n_times)
            The epochs before any change, and the change of each sample.
        first_step : int64 tensor, shape (n_epochs, n_channels, n_times)
            The step from which each sample is changed, in 0 to ``n_steps``.
        n_steps : int
            The last step.
        target : int64 tensor, shape (n_epochs,)
            The class scored for each epoch.

        Returns
        -------
        scores : tensor, shape (n_epochs, n_steps + 1)
        """
        n_epochs = len(base)
        per_pass = max(1, self.pass_size // (n_steps + 1))
        steps = torch.arange(n_steps + 1, device=base.device)
        scores = []
        for first in range(0, n_epochs, per_pass):
            chunk = slice(first, first + per_pass)
            n_chunk = len(base[chunk])
            step_target = target[chunk].repeat_interleave(n_steps + 1)
            if not isinstance(self.forward, _FactoredFrontEnd):
                changed = first_step[chunk, None] <= steps[None, :, None, None]
                variants = base[chunk, None] + delta[chunk, None] * changed
                chunk_scores = self(variants.flatten(0, 1), step_target)
            else:
                front = self.forward
                # (epochs, channels, filters, times): each sample's contribution
                contributions = delta[chunk, :, None] * front.spatial.T[:, :, None]
                per_step = torch.zeros(
                    n_chunk, n_steps + 1, *contributions.shape[2:], device=base.device
                )
                index = first_step[chunk, :, None].expand_as(contributions)
                per_step.scatter_add_(1, index, contributions)
                projected = torch.einsum("fc,bct->bft", front.spatial, base[chunk])
                projected = projected[:, None] + per_step.cumsum_(dim=1)
                outputs = front.filter_projected(projected.flatten(0, 1))
                logits = front.rest(outputs, base)
                chunk_scores = logits.gather(1, step_target[:, None]).squeeze(1)
            scores.append(chunk_scores.view(n_chunk, n_steps + 1))
        return torch.cat(scores)

    def window_changes(self, data, replacement, target, channel, start, length):
        """Score changes of epochs with one channel replaced on a time window.

        See :meth:`_WindowScorer.__call__` for the parameters. Without the
        exact shortcut, the perturbed epochs are built and scored.
        """
        if self.windows is not None:
            return self.windows(data, replacement, target, channel, start, length)
        n_epochs, n_channels, n_times = data.shape
        intact = self(data, target)
        channels = torch.arange(n_channels, device=data.device)[:, None]
        times = torch.arange(n_times, device=data.device)
        length = torch.as_tensor(length, device=data.device)
        per_pass = max(1, self.pass_size // n_epochs)
        changes = []
        for first in range(0, channel.shape[1], per_pass):
            columns = slice(first, first + per_pass)
            begin = start[:, columns, None, None]
            end = begin + length[columns, None, None]
            removed = (
                (channels == channel[:, columns, None, None])
                & (times >= begin)
                & (times < end)
            )
            variants = _replace(data, removed, replacement)
            n_columns = removed.shape[1]
            scores = self(variants, target.repeat_interleave(n_columns))
            changes.append(scores.view(n_epochs, n_columns) - intact[:, None])
        return torch.cat(changes, dim=1).double()


# -- batches of epochs with their attributions ----------------------------------
def _check_inputs(estimator, epochs, method, attribution, batch_size, params):
    _validate_type(batch_size, "int-like", "batch_size")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if (method is None) == (attribution is None):
        raise ValueError(
            "Pass either method (a name from mne_xai.list_methods(), computed "
            "batch by batch with mne_xai.explain) or attribution (maps you "
            "computed already), not both and not neither."
        )
    data = estimator._check_prediction_input(epochs)
    if attribution is not None:
        if params:
            raise TypeError(
                f"Method parameters {sorted(params)} are only used with method=; "
                "attribution was given already."
            )
        _validate_type(
            attribution, (mne.BaseEpochs, np.ndarray), "attribution", "Epochs or array"
        )
        attribution = InputData(attribution, name="attribution")
        if attribution.shape != data.shape:
            raise ValueError(
                f"attribution has shape {attribution.shape} but epochs have shape "
                f"{data.shape}; pass one map per epoch, on the network's channels "
                "and times."
            )
    return data, attribution


def _evaluation_batches(
    estimator,
    epochs,
    method,
    attribution,
    target,
    batch_size,
    device,
    random_state,
    params,
    mesg,
):
    """Yield, per batch, data, attributions, targets and random generators.

    Each item is a Bunch with ``data`` (tensor, (batch, n_channels, n_times)),
    ``attribution`` (tensor, same shape), ``target`` (int64 tensor of class
    indices), ``score`` (the target logit of the unperturbed epochs) and
    ``rngs`` (one numpy Generator per epoch, so draws do not depend on how
    epochs are batched).
    """
    inputs, attribution = _check_inputs(
        estimator, epochs, method, attribution, batch_size, params
    )
    shape, info = inputs.shape, inputs.info
    target_index, description = _resolve_target(
        estimator, target, shape[0], inputs.event_codes, inputs.event_id
    )
    device = torch.device(device if device is not None else estimator.device)
    module = _module_on(estimator, device)
    seeds = np.random.SeedSequence(random_state)
    pass_size = max(batch_size, _MIN_VARIANTS_PER_PASS)
    logger.info(f"Evaluating {shape[0]} epochs ({description}).")
    data_batches = inputs.batches(batch_size)
    attribution_batches = (
        None if attribution is None else attribution.batches(batch_size)
    )
    n_batches = -(-shape[0] // batch_size)
    start = 0
    with _evaluation_mode(module), torch.inference_mode():
        scorer = None
        for batch in progress_bar(data_batches, max_value=n_batches, mesg=mesg):
            data = torch.from_numpy(batch).to(device)
            stop = start + len(data)
            if scorer is None:
                check_scale(batch, estimator.data_std_)
                scorer = _ClassScorer(module, data, pass_size)
            logits = scorer.forward(data)
            if target_index is None:
                batch_target = logits.argmax(dim=1)
            else:
                batch_target = torch.from_numpy(target_index[start:stop]).to(device)
            batch_seeds = seeds.spawn(len(data))
            if attribution_batches is None:
                maps = _explain_batch(
                    estimator, batch, batch_target, method, batch_seeds, device, params
                )
            else:
                maps = next(attribution_batches)
            yield Bunch(
                data=data,
                attribution=torch.as_tensor(maps, dtype=torch.float32, device=device),
                target=batch_target,
                score=logits.gather(1, batch_target[:, None]).squeeze(1),
                rngs=[np.random.default_rng(seed) for seed in batch_seeds],
                scorer=scorer,
                info=info if info is not None else estimator.info_,
                module=module,
            )
            start = stop


def _explain_batch(estimator, batch, target, method, seeds, device, params):
    """Attributions of a batch through mne_xai.explain, one call per target class."""
    maps = np.empty(batch.shape, np.float32)
    target = target.cpu().numpy()
    # Enabling gradients again inside the evaluation's inference mode.
    with torch.inference_mode(False), torch.enable_grad():
        for class_index in np.unique(target):
            members = np.flatnonzero(target == class_index)
            maps[members] = explain(
                estimator,
                batch[members],
                method,
                target=estimator.classes_[class_index],
                batch_size=len(members),
                device=device,
                random_state=int(seeds[members[0]].generate_state(1)[0]),
                verbose=False,
                **params,
            ).get_data()
    return maps


# -- baselines ------------------------------------------------------------------
def _check_baseline(baseline, *, interpolate=True):
    allowed = BASELINES if interpolate else BASELINES[:3]
    _check_option("baseline", baseline, allowed)


def _baseline_values(baseline, item, estimator):
    """Return what replaces each removed sample, shape (batch, n_channels, n_times).

    For ``"interpolate"`` each channel is interpolated from all the others,
    which is what removing one channel at a time needs.
    """
    data = item.data
    if baseline == "zero":
        return torch.zeros_like(data)
    if baseline == "mean":
        mean = torch.as_tensor(estimator.data_mean_, dtype=data.dtype)
        return mean.to(data.device).expand_as(data)
    if baseline == "noise":
        std = data.std(dim=2, keepdim=True).cpu().numpy()
        noise = np.stack(
            [rng.standard_normal(data.shape[1:]) for rng in item.rngs]
        ).astype(np.float32)
        return torch.from_numpy(noise * std).to(data.device)
    leave_one_out = _Interpolator.for_info(item.info).leave_one_out(data.device)
    return torch.einsum("cd,bdt->bct", leave_one_out, data)


class _Interpolator:
    """Spherical-spline interpolation operators for sets of removed channels.

    ``interpolate_bads`` computes one matrix per set of bad channels; here
    each matrix is computed once per set and kept, so perturbed epochs are
    interpolated with a matrix product and no MNE object per epoch.
    """

    _cache = {}

    @classmethod
    def for_info(cls, info):
        if info is None:
            raise ValueError(
                'baseline="interpolate" needs channel positions: pass Epochs with '
                "a montage, or fit the estimator on them."
            )
        eeg = mne.pick_types(info, meg=False, eeg=True, exclude=())
        if len(eeg) != len(info.ch_names):
            others = [name for i, name in enumerate(info.ch_names) if i not in eeg]
            raise ValueError(
                'baseline="interpolate" interpolates EEG channels from EEG channels; '
                f"the data also hold {others[:5]}. Pick EEG channels only."
            )
        positions = info._get_channel_positions()
        if not np.isfinite(positions).all() or np.allclose(positions, 0):
            raise ValueError(
                'baseline="interpolate" needs channel positions; set a montage '
                "(e.g. epochs.set_montage('standard_1005'))."
            )
        origin = mne.bem._check_origin("auto", info)
        key = (tuple(info.ch_names), positions.round(6).tobytes())
        if key not in cls._cache:
            cls._cache[key] = cls(positions - origin)
        return cls._cache[key]

    def __init__(self, positions):
        self.positions = positions
        self.operators = OrderedDict()

    def operator(self, removed):
        """Return the (n_channels, n_channels) matrix that removes ``removed``.

        Kept channels stay as they are; removed ones are interpolated from the
        kept ones (zeros when nothing is kept).
        """
        key = removed.tobytes()
        if key not in self.operators:
            n_channels = len(removed)
            matrix = np.zeros((n_channels, n_channels))
            kept = ~removed
            matrix[kept, kept] = 1
            if kept.any() and removed.any():
                matrix[np.ix_(removed, kept)] = _make_interpolation_matrix(
                    self.positions[kept], self.positions[removed]
                )
            self.operators[key] = torch.as_tensor(matrix, dtype=torch.float32)
            # Orders differ per epoch, so most sets are seen once: keep memory
            # bounded rather than every set ever met.
            if len(self.operators) > _MAX_INTERPOLATION_OPERATORS:
                self.operators.popitem(last=False)
        else:
            self.operators.move_to_end(key)
        return self.operators[key]

    def leave_one_out(self, device):
        """Each channel interpolated from all the others (zero diagonal)."""
        rows = []
        for channel in range(len(self.positions)):
            removed = np.zeros(len(self.positions), bool)
            removed[channel] = True
            rows.append(self.operator(removed)[channel])
        return torch.stack(rows).to(device)


# -- public measures ------------------------------------------------------------
_COMMON_PARAMETERS = """estimator : EEGNetClassifier | InterpretableCNNClassifier
        A fitted estimator of mne_xai.
    epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data, matching the training data in channels, rate and length.
    method : str | None
        The attribution method to evaluate (see :func:`mne_xai.list_methods`);
        its maps are computed batch by batch with :func:`mne_xai.explain`.
    attribution : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | None
        Attribution maps computed already, one per epoch (e.g. the output of
        :func:`mne_xai.explain`), instead of ``method``.
    target : None | "true" | int | str
        The class whose logit is perturbed and explained, as in
        :func:`mne_xai.explain`: None is each epoch's predicted class.
    """
_RUN_PARAMETERS = """batch_size : int
        Number of epochs evaluated at once; memory grows with it, not with the
        number of epochs.
    device : str | torch.device | None
        Where to compute; None uses the estimator's device.
    random_state : int | None
        Seed for the random draws. Patches, noise and random deletions are
        drawn per epoch, so they do not depend on ``batch_size``; a stochastic
        ``method`` is seeded per batch (reproducible for a given
        ``batch_size``).
    %(verbose)s
    **params
        Parameters of ``method``, passed to :func:`mne_xai.explain`."""


def _fill_parameters(function):
    """Share the parameter descriptions every measure has in common."""
    function.__doc__ = function.__doc__.replace(
        "COMMON_PARAMETERS\n    ", _COMMON_PARAMETERS
    ).replace("RUN_PARAMETERS", _RUN_PARAMETERS)
    return function


def _positive_int(value, name):
    _validate_type(value, "int-like", name)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}.")
    return int(value)


def _pearson(relevance, drop):
    """Pearson correlation along the last axis; NaN where either side is constant."""
    relevance = relevance - relevance.mean(axis=-1, keepdims=True)
    drop = drop - drop.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(relevance, axis=-1) * np.linalg.norm(drop, axis=-1)
    products = (relevance * drop).sum(axis=-1)
    return np.divide(products, norms, out=np.full(norms.shape, np.nan), where=norms > 0)


def _mean_correlation(correlation, what):
    """Mean over epochs (axis 0) of correlations that may be NaN.

    Warns, instead of NumPy's "Mean of empty slice", when every epoch's
    correlation is undefined: the relevance (or the score) did not vary over
    ``what`` in any epoch.
    """
    defined = ~np.isnan(correlation)
    if (~defined).all(axis=0).any():
        warn(
            f"The relevance or the class score is constant over {what} in every "
            "epoch, so their correlation is undefined (NaN); CAM maps, for "
            'example, are constant over channels, and occlusion with mode="channel" '
            "over time."
        )
    total = np.where(defined, correlation, 0).sum(axis=0)
    count = defined.sum(axis=0)
    return np.divide(
        total, count, out=np.full(np.shape(total), np.nan), where=count > 0
    )


def _replace(data, removed, replacement):
    """Variants of each epoch with ``removed`` samples replaced.

    ``data`` and ``replacement`` are (batch, n_channels, n_times); ``removed``
    is a boolean (batch, n_variants, n_channels, n_times or 1). Returns
    (batch * n_variants, n_channels, n_times).
    """
    variants = torch.where(removed, replacement[:, None], data[:, None])
    return variants.reshape(-1, *data.shape[1:])


def _curve(
    kind,
    estimator,
    epochs,
    method,
    attribution,
    target,
    order,
    unit,
    n_steps,
    baseline,
    batch_size,
    device,
    random_state,
    params,
):
    _check_option("order", order, _ORDERS)
    _check_option("unit", unit, _UNITS)
    _check_baseline(baseline)
    if baseline == "interpolate" and unit != "channel":
        raise ValueError(
            'baseline="interpolate" replaces whole channels; use it with '
            'unit="channel", or choose "zero", "mean" or "noise".'
        )
    n_steps = _positive_int(n_steps, "n_steps")
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        f"{kind} curve",
    )
    curves, targets = [], []
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        relevance = item.attribution
        relevance = relevance.sum(dim=2) if unit == "channel" else relevance.flatten(1)
        n_units = relevance.shape[1]
        if n_steps > n_units:
            raise ValueError(
                f"n_steps={n_steps} exceeds the {n_units} {unit}s of an epoch."
            )
        counts = np.round(np.linspace(0, n_units, n_steps + 1)).astype(int)
        ranking = relevance if order == "least_relevant_first" else -relevance
        # rank 0 is the unit perturbed first
        order_of_units = ranking.argsort(dim=1)
        rank = torch.empty_like(order_of_units).scatter_(
            1,
            order_of_units,
            torch.arange(n_units, device=order_of_units.device).expand_as(
                order_of_units
            ),
        )
        if baseline == "interpolate":
            curve = _interpolated_curve(kind, item, rank, counts)
        else:
            # A unit is removed from the first step whose count exceeds its rank.
            steps = torch.as_tensor(counts, device=rank.device)
            first_step = torch.searchsorted(steps, rank, right=True)
            first_step = first_step.view(n_epochs, n_channels, -1)
            first_step = first_step.expand(n_epochs, n_channels, n_times)
            replacement = _baseline_values(baseline, item, estimator)
            # Deletion removes units from the intact epoch; insertion puts them
            # back into the baseline.
            base, other = (
                (item.data, replacement)
                if kind == "deletion"
                else (replacement, item.data)
            )
            curve = item.scorer.step_scores(
                base, other - base, first_step, n_steps, item.target
            )
        curves.append(curve.cpu().numpy())
        targets.append(item.target.cpu().numpy())
    curves = np.concatenate(curves).astype(np.float64)
    change = curves[:, :1] - curves if kind == "deletion" else curves - curves[:, :1]
    return Bunch(
        fractions=counts / n_units,
        scores=curves,
        aopc=change.mean(axis=1),
        target=np.concatenate(targets),
    )


def _interpolated_curve(kind, item, rank, counts):
    """Scores along a curve whose removed channels are interpolated from the rest."""
    n_epochs = len(item.data)
    steps_per_pass = max(1, item.scorer.pass_size // n_epochs)
    scores = []
    for first in range(0, len(counts), steps_per_pass):
        chunk = torch.as_tensor(
            counts[first : first + steps_per_pass], device=rank.device
        )
        removed = rank[:, None, :] < chunk[None, :, None]
        if kind == "insertion":
            removed = ~removed
        variants = _interpolated_variants(item, removed)
        step_target = item.target.repeat_interleave(len(chunk))
        scores.append(item.scorer(variants, step_target).reshape(n_epochs, -1))
    return torch.cat(scores, dim=1)


def _interpolated_variants(item, removed):
    """Epochs whose removed channels are interpolated from the kept ones."""
    interpolator = _Interpolator.for_info(item.info)
    masks = removed.cpu().numpy()
    operators = torch.stack(
        [interpolator.operator(mask) for mask in masks.reshape(-1, masks.shape[-1])]
    ).to(item.data.device)
    operators = operators.reshape(*masks.shape, masks.shape[-1])
    variants = torch.einsum("bscd,bdt->bsct", operators, item.data)
    return variants.reshape(-1, *item.data.shape[1:])


_CURVE_NOTES = """
    Returns
    -------
    curve : sklearn.utils.Bunch
        ``fractions`` (n_steps + 1,): the fraction of features (or channels)
        {what} at each step; ``scores`` (n_epochs, n_steps + 1): the target
        logit at each step; ``aopc`` (n_epochs,): the area over the
        perturbation curve {aopc}; ``target`` (n_epochs,): the index in
        ``estimator.classes_`` of the class scored.

    See Also
    --------
    deletion_curve, insertion_curve, perturbation_test

    Notes
    -----
    Features are ranked per epoch by their signed attribution (relevance for
    the target class), or channels by their attribution summed over time.
    Step ``k`` perturbs the first ``round(k * n / n_steps)`` of the ``n``
    ranked units, so a curve costs ``n_steps + 1`` evaluations of the network
    per epoch, evaluated together. With ``"most_relevant_first"`` a faithful
    attribution gives a large AOPC; ``"least_relevant_first"`` gives the
    complementary test, where a faithful attribution gives a small one.

    References
    ----------
    .. footbibliography::
"""


@verbose
@_fill_parameters
def deletion_curve(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    order="most_relevant_first",
    unit="feature",
    n_steps=64,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Class score as the most (or least) relevant parts of each epoch are removed.

    The deletion curve (pixel flipping) :footcite:`BachEtAl2015,SamekEtAl2017`:
    features (channel × time samples) or whole channels are replaced by a
    baseline in order of relevance, and the target logit is recorded after
    each step. A faithful attribution makes the score fall fast.

    Parameters
    ----------
    COMMON_PARAMETERS
    order : "most_relevant_first" | "least_relevant_first"
        Which end of the ranking is removed first.
    unit : "feature" | "channel"
        Remove channel × time samples, or whole channels ranked by their
        relevance summed over time.
    n_steps : int
        Number of steps from the intact to the fully removed epoch.
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces removed samples (see :mod:`mne_xai.evaluate.faithfulness`);
        ``"interpolate"`` needs ``unit="channel"``.
    RUN_PARAMETERS
    """
    return _curve(
        "deletion",
        estimator,
        epochs,
        method,
        attribution,
        target,
        order,
        unit,
        n_steps,
        baseline,
        batch_size,
        device,
        random_state,
        params,
    )


@verbose
@_fill_parameters
def insertion_curve(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    order="most_relevant_first",
    unit="feature",
    n_steps=64,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Class score as the most (or least) relevant parts are restored to a baseline.

    The insertion curve :footcite:`PetsiukEtAl2018`: starting from the
    baseline, features (channel × time samples) or whole channels of the epoch
    are put back in order of relevance, and the target logit is recorded after
    each step. A faithful attribution makes the score rise fast.

    Parameters
    ----------
    COMMON_PARAMETERS
    order : "most_relevant_first" | "least_relevant_first"
        Which end of the ranking is inserted first.
    unit : "feature" | "channel"
        Insert channel × time samples, or whole channels ranked by their
        relevance summed over time.
    n_steps : int
        Number of steps from the baseline to the intact epoch.
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What stands for samples not yet inserted (see
        :mod:`mne_xai.evaluate.faithfulness`); ``"interpolate"`` needs
        ``unit="channel"`` and fills missing channels from the inserted ones
        (zeros before any is inserted).
    RUN_PARAMETERS
    """
    return _curve(
        "insertion",
        estimator,
        epochs,
        method,
        attribution,
        target,
        order,
        unit,
        n_steps,
        baseline,
        batch_size,
        device,
        random_state,
        params,
    )


deletion_curve.__doc__ += _CURVE_NOTES.format(
    what="removed",
    aopc="(mean over steps of the score's drop from the intact epoch)",
)
insertion_curve.__doc__ += _CURVE_NOTES.format(
    what="inserted",
    aopc="(mean over steps of the score's rise from the baseline)",
)


@verbose
@_fill_parameters
def perturbation_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    patch_fractions=(0.1, 0.2, 0.3, 0.4, 0.5),
    n_patches=100,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Correlate the relevance of random patches with the score drop they cause.

    The perturbation test of Cui et al. :footcite:`CuiEtAl2023`: for each
    epoch and patch length, ``n_patches`` patches are drawn, each on a random
    channel at a random time, and replaced by the baseline one at a time. The
    attribution summed inside a patch should predict how much the target logit
    drops when the patch is removed; the test reports their Pearson
    correlation.

    Parameters
    ----------
    COMMON_PARAMETERS
    patch_fractions : sequence of float
        Patch lengths as fractions of the epoch length, in (0, 1]; Cui et al.
        use 0.1 to 0.5.
    n_patches : int
        Number of random patches per epoch and patch length (100 in Cui et al.).
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces the patch; ``"interpolate"`` fills it with the channel
        interpolated from all other channels.
    RUN_PARAMETERS

    Returns
    -------
    result : sklearn.utils.Bunch
        ``correlation`` (n_epochs, n_fractions): per epoch and patch length,
        the correlation between summed relevance and score drop (NaN where
        either is constant); ``mean_correlation`` (n_fractions,): its mean
        over epochs; ``relevance`` and ``score_drop`` (n_epochs, n_fractions,
        n_patches): the raw pairs; ``channel`` and ``start`` (same shape):
        where each patch was; ``patch_length`` (n_fractions,): in samples;
        ``target`` (n_epochs,): the class index scored.

    See Also
    --------
    channel_perturbation_test, deletion_curve

    Notes
    -----
    A patch's drop is the logit of the intact epoch minus that of the epoch
    with the patch removed. For networks that begin with a linear filter bank
    (EEGNet, InterpretableCNN), the drop is computed exactly without building
    the perturbed epoch: removing a patch of one channel changes the first
    block's output by that channel's spatial weights times the patch filtered
    in time, on a window slightly longer than the patch; the later layers
    then run on the changed output, or, when they only average a
    nonlinearity of it over time before a linear layer (InterpretableCNN),
    the drop follows from the changed window alone. Otherwise the
    ``n_fractions * n_patches`` perturbed epochs are built and scored in a
    few large passes (Cui et al. score them one patch length at a time).

    References
    ----------
    .. footbibliography::
    """
    _check_baseline(baseline)
    n_patches = _positive_int(n_patches, "n_patches")
    fractions = np.atleast_1d(np.asarray(patch_fractions, dtype=float))
    if fractions.ndim != 1 or not ((fractions > 0) & (fractions <= 1)).all():
        raise ValueError(
            f"patch_fractions must be fractions of the epoch length in (0, 1], got "
            f"{patch_fractions!r}."
        )
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        "perturbation test",
    )
    results = dict(relevance=[], score_drop=[], channel=[], start=[], target=[])
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        lengths = np.maximum(1, np.round(fractions * n_times).astype(int))
        # Each epoch draws from its own generator: the same patches whatever
        # the batch it falls in.
        channel = np.stack(
            [
                rng.integers(n_channels, size=(len(lengths), n_patches))
                for rng in item.rngs
            ]
        )
        start = np.stack(
            [
                rng.integers(
                    n_times - lengths[:, None] + 1, size=(len(lengths), n_patches)
                )
                for rng in item.rngs
            ]
        )
        stop = start + lengths[:, None]
        cumulative = (
            F.pad(item.attribution.double().cumsum(dim=2), (1, 0)).cpu().numpy()
        )
        epoch = np.arange(n_epochs)[:, None, None]
        relevance = cumulative[epoch, channel, stop] - cumulative[epoch, channel, start]
        # Each patch replaces one channel on a window: scored exactly from the
        # window when the network allows it (see ``_WindowScorer``).
        changes = item.scorer.window_changes(
            item.data,
            _baseline_values(baseline, item, estimator),
            item.target,
            *(
                torch.as_tensor(a.reshape(n_epochs, -1), device=item.data.device)
                for a in (channel, start)
            ),
            np.repeat(lengths, n_patches),
        )
        drop = -changes.cpu().numpy().reshape(relevance.shape)
        results["relevance"].append(relevance)
        results["score_drop"].append(drop)
        results["channel"].append(channel)
        results["start"].append(start)
        results["target"].append(item.target.cpu().numpy())
    result = Bunch(**{key: np.concatenate(value) for key, value in results.items()})
    result.correlation = _pearson(result.relevance, result.score_drop)
    result.mean_correlation = _mean_correlation(result.correlation, "patches")
    result.patch_length = lengths
    return result


@verbose
@_fill_parameters
def channel_perturbation_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Correlate each channel's relevance with the score drop its removal causes.

    The channel-level perturbation test of Cui et al. :footcite:`CuiEtAl2023`:
    each channel in turn is replaced by the baseline, and the drop of the
    target logit is correlated, over channels, with the channel's attribution
    summed over time.

    Parameters
    ----------
    COMMON_PARAMETERS
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces the channel; ``"interpolate"`` interpolates it from all
        other channels, which asks whether the channel carries information its
        neighbours do not.
    RUN_PARAMETERS

    Returns
    -------
    result : sklearn.utils.Bunch
        ``correlation`` (n_epochs,): the Pearson correlation over channels
        (NaN where either side is constant); ``mean_correlation``: its mean
        over epochs; ``relevance`` and ``score_drop`` (n_epochs, n_channels):
        the raw pairs; ``target`` (n_epochs,): the class index scored.

    See Also
    --------
    perturbation_test

    Notes
    -----
    Each variant changes one channel, so it is scored as the patches of
    :func:`perturbation_test` are (see its notes), with a patch as long as
    the epoch.

    References
    ----------
    .. footbibliography::
    """
    _check_baseline(baseline)
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        "channel perturbation test",
    )
    relevance, drops, targets = [], [], []
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        device = item.data.device
        # Each variant replaces one whole channel: a window as long as the epoch.
        changes = item.scorer.window_changes(
            item.data,
            _baseline_values(baseline, item, estimator),
            item.target,
            torch.arange(n_channels, device=device).expand(n_epochs, -1),
            torch.zeros(n_epochs, n_channels, dtype=torch.int64, device=device),
            np.full(n_channels, n_times),
        )
        drops.append(-changes.cpu().numpy())
        relevance.append(item.attribution.sum(dim=2).cpu().numpy())
        targets.append(item.target.cpu().numpy())
    result = Bunch(
        relevance=np.concatenate(relevance).astype(np.float64),
        score_drop=np.concatenate(drops).astype(np.float64),
        target=np.concatenate(targets),
    )
    result.correlation = _pearson(result.relevance, result.score_drop)
    result.mean_correlation = float(_mean_correlation(result.correlation, "channels"))
    return result


@verbose
@_fill_parameters
def deletion_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    threshold=1.0,
    channel_threshold=1.0,
    smoothing=0.08,
    baseline="zero",
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Remove what the attribution calls relevant, and compare with removing at random.

    The deletion test of Cui et al. :footcite:`CuiEtAl2023`: each map is
    z-scored over channels and times and smoothed over time, and the samples
    above ``threshold`` are removed; at channel level, channels whose
    time-averaged relevance has a z-score above ``channel_threshold`` are
    removed. As a chance reference, the same number of samples (or channels)
    chosen at random is removed too. A faithful attribution lowers the target
    logit more than the random removal does.

    Parameters
    ----------
    COMMON_PARAMETERS
    threshold : float
        Z-score above which a (smoothed) sample is removed.
    channel_threshold : float
        Z-score, over channels, above which a channel is removed.
    smoothing : float
        Width in seconds of the moving average applied to the z-scored maps
        (Cui et al.: 10 samples at 128 Hz); 0 disables it.
    baseline : "zero" | "mean" | "noise" | "interpolate"
        What replaces removed samples; ``"interpolate"`` applies to the
        channel-level test only (the sample-level test then uses zeros).
    RUN_PARAMETERS

    Returns
    -------
    result : sklearn.utils.Bunch
        Per epoch: ``score`` (the target logit of the intact epoch),
        ``score_deleted`` and ``score_random`` (after removing the relevant and
        as many random samples), ``fraction_deleted``; and
        ``channel_score_deleted``, ``channel_score_random``,
        ``n_channels_deleted`` for the channel-level test; ``target``, the
        class index scored.

    See Also
    --------
    deletion_curve, mne_xai.explain.zscore_attribution, mne_xai.explain.smooth_attribution

    Notes
    -----
    Cui et al. report the softmax probability after deletion; the logit is
    reported here, consistently with the other measures (the probability is
    its softmax with the other logits).

    References
    ----------
    .. footbibliography::
    """
    _check_baseline(baseline)
    _validate_type(threshold, "numeric", "threshold")
    _validate_type(channel_threshold, "numeric", "channel_threshold")
    _validate_type(smoothing, "numeric", "smoothing")
    if smoothing < 0:
        raise ValueError(f"smoothing must be a duration >= 0 s, got {smoothing}.")
    sfreq = estimator._sfreq
    window = 2 * int(round(smoothing * sfreq / 2)) + 1
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        params,
        "deletion test",
    )
    keys = (
        "score",
        "score_deleted",
        "score_random",
        "fraction_deleted",
        "channel_score_deleted",
        "channel_score_random",
        "n_channels_deleted",
        "target",
    )
    results = {key: [] for key in keys}
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        maps = item.attribution.double().cpu().numpy()
        smoothed = uniform_filter1d(
            _per_map_zscore(maps), window, axis=-1, mode="nearest"
        )
        relevant = smoothed > threshold
        channel_relevance = maps.mean(axis=2)[..., None]
        channel_relevant = (
            _per_map_zscore(channel_relevance)[..., 0] > channel_threshold
        )
        random_features = _same_count_at_random(
            relevant.reshape(n_epochs, -1), item.rngs
        )
        random_channels = _same_count_at_random(channel_relevant, item.rngs)
        removed = np.stack([relevant, random_features.reshape(relevant.shape)], axis=1)
        channels_removed = np.stack([channel_relevant, random_channels], axis=1)
        sample_baseline = "zero" if baseline == "interpolate" else baseline
        variants = _replace(
            item.data,
            torch.as_tensor(removed, device=item.data.device),
            _baseline_values(sample_baseline, item, estimator),
        )
        channels_removed_tensor = torch.as_tensor(
            channels_removed, device=item.data.device
        )
        if baseline == "interpolate":
            channel_variants = _interpolated_variants(item, channels_removed_tensor)
        else:
            channel_variants = _replace(
                item.data,
                channels_removed_tensor[..., None],
                _baseline_values(baseline, item, estimator),
            )
        scores = (
            item.scorer(
                torch.cat([variants, channel_variants]),
                item.target.repeat_interleave(2).repeat(2),
            )
            .reshape(2, n_epochs, 2)
            .cpu()
            .double()
            .numpy()
        )
        results["score"].append(item.score.cpu().double().numpy())
        results["score_deleted"].append(scores[0, :, 0])
        results["score_random"].append(scores[0, :, 1])
        results["fraction_deleted"].append(relevant.mean(axis=(1, 2)))
        results["channel_score_deleted"].append(scores[1, :, 0])
        results["channel_score_random"].append(scores[1, :, 1])
        results["n_channels_deleted"].append(channel_relevant.sum(axis=1))
        results["target"].append(item.target.cpu().numpy())
    return Bunch(**{key: np.concatenate(value) for key, value in results.items()})


def _same_count_at_random(selected, rngs):
    """Boolean masks selecting, per row, as many random entries as ``selected``."""
    shuffled = np.zeros_like(selected)
    for row, (chosen, rng) in enumerate(zip(selected, rngs, strict=True)):
        shuffled[row, rng.permutation(len(chosen))[: chosen.sum()]] = True
    return shuffled
