"""Exact score changes of epochs with one channel replaced on a time window."""

import numpy as np
import torch
import torch.nn.functional as F
from mne.utils import logger
from sklearn.utils import Bunch

from ..._graph import (
    BATCH_NORMS,
    DENSE,
    ELEMENTWISE_NONLINEARITIES,
    SHAPE_ONLY,
    batch_norm_affine,
    full_float32,
)
from ._baselines import _replace

# Largest error of a shortcut's score changes, relative to the largest change
# it is checked on, beside float32 rounding (a share of the largest logit).
_TOLERANCE, _ROUNDING = 1e-3, 1e-5
# Windows replaced on one channel are scored in chunks of about this many
# first-block output values (4 MiB in float32): large enough that per-operation
# overheads do not count, small enough to stay in the processor's cache.
_WINDOW_CHUNK_ELEMENTS = 2**20


def _rows(flat, offsets, width):
    """Copy ``flat[o : o + width]`` for each offset ``o``: (len(offsets), width).

    One ``index_select`` on a view whose rows start one element apart: a copy
    of contiguous runs, several times faster than advanced indexing of windows.
    """
    windows = flat.as_strided((flat.numel() - width + 1, width), (1, 1))
    return windows.index_select(0, offsets)


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


class _PooledLinearHead:
    """The layers after the first block, when each logit sums over time.

    Networks such as InterpretableCNN follow their first block with an
    elementwise nonlinearity ``f``, per-map affine layers (batch norm in
    evaluation mode), an average over all of time and a linear layer. Their
    logits are ``b[k] + sum_m coef[k, m] * sum_t f(z[m, t])`` for the
    first block's output ``z`` (n_maps, n_out), so a change of ``z`` on a few
    samples changes the logits through these samples alone. The structure is
    recognized from the leaf modules after the split (layers that only pass
    values on or reshape them are allowed anywhere); ``usable`` is False for
    any other head (e.g. EEGNet's, which pools locally and convolves again).

    Attributes
    ----------
    coef : tensor, shape (n_classes, n_maps), float64
        Weight of each map's sum of ``f`` over time in each logit (the linear
        layer's weights times the scale of the affine layers, over ``n_out``).
    """

    def __init__(self, front):
        self.usable = False
        self.activation = front.split
        layers = [call.module for call in front.layers]
        tail = front.layers[layers.index(front.split) + 1 :]
        if (
            not isinstance(front.split, ELEMENTWISE_NONLINEARITIES)
            or any(size != 1 for size in front.out_shape[1:-1])
            or not tail
            or not isinstance(tail[-1].module, DENSE)
        ):
            return
        device = front.spatial.device
        scale = torch.ones(front.n_maps, dtype=torch.float64, device=device)
        pooled = False
        for call in tail[:-1]:
            layer = call.module
            if isinstance(layer, SHAPE_ONLY):
                continue
            if (
                isinstance(layer, BATCH_NORMS)
                and layer.running_mean is not None
                and layer.num_features == front.n_maps
            ):
                scale = scale * batch_norm_affine(layer, call.shown_name)[0].double()
            elif not pooled and _averages_all_time(layer, call.input.shape):
                pooled = True
            else:
                return
        linear = tail[-1].module
        if not pooled or linear.in_features != front.n_maps:
            return
        # The layers' classes alone miss what the forward computes between
        # them with functions: a clip of the pooled features reached by later
        # epochs alone made their perturbation tests' score changes wrong.
        problem = front.nonlinearity(after=True)
        if problem is not None:
            logger.info(
                f"No pooled linear head: after the first nonlinearity the network "
                f"computes {problem}."
            )
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

    @full_float32()
    def matches(self, inputs):
        """Whether score changes match the network's on windows of ``inputs``.

        Two windows per epoch are checked, a quarter-epoch patch and a whole
        channel, replaced by the epoch reversed in time. In full float32: the
        TF32 of recent GPUs misses by about 1e-3, the tolerance, and the
        shortcut would be given up for no error of its own.
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
        # Measured against the changes, not the logits: a step after the last
        # dense layer that the head does not see (a temperature, a
        # log-softmax) scales every change, which a constant part of the
        # logits (a large bias) can dwarf.
        rounding = _ROUNDING * float(logits.abs().amax())
        error = float((changes - expected.double()).abs().amax())
        allowed = _TOLERANCE * float(expected.abs().amax()) + rounding
        logger.debug(
            f"Window scores ({'pooled linear' if self.head else 'network'} head): "
            f"error {error:.1e}, allowed {allowed:.1e}"
        )
        return error <= allowed
