"""Spatial filters of a network and their patterns (Haufe et al. 2014)."""

from dataclasses import dataclass

import mne
import numpy as np
import pandas as pd
import torch
from mne.utils import _check_option, logger, verbose

from .._checks import check_positive_int, compute_device
from .._convert import map_info
from .._docs import fill_doc
from .._figure_text import plain_text
from .._graph import CONVOLUTIONS, autograd_on, probes_per_pass, trace_layers
from .._network import as_network
from .._outputs import one_channel_type
from .._warnings import warn
from ..attribution._core import private_module
from ._activations import (
    _check_logits,
    check_reads_its_weights,
    decision_gradients,
    sum_per_epoch,
    uncalled_convolutions,
)

# Relative error up to which the layers before a spatial layer count as linear
# and as keeping the EEG channels apart (float32 arithmetic).
_LINEARITY_TOLERANCE = 1e-4
_FLOAT32_EPS = float(np.finfo(np.float32).eps)


# -- the spatial layer ------------------------------------------------------------
@dataclass
class _SpatialLayer:
    """A convolution whose units each sum all EEG channels of its input maps.

    Its input is read as maps ``(batch, n_maps, n_channels, n_times)`` and
    its weights as ``(n_units, maps_per_group, n_channels)``: unit ``u`` reads
    the maps of group ``u // units_per_group`` (grouped convolution).
    """

    name: str  # as get_submodule takes it
    module: torch.nn.Module
    channel_axis: int  # axis of the layer's input holding the channels
    shown_name: str  # as the user's network names it, for messages and results
    # Gain of each channel in each input map, relative to the median channel's
    # (see _channel_gains); None until measured.
    channel_gains: torch.Tensor | None = None

    def maps(self, layer_input):
        """Return the layer's input as ``(batch, n_maps, n_channels, n_times)``."""
        if self.module.weight.ndim == 3:  # Conv1d: the channels are its inputs
            return layer_input.unsqueeze(1)
        return layer_input if self.channel_axis == 2 else layer_input.transpose(2, 3)

    def unit_outputs(self, layer_output):
        """Return the layer's output as ``(batch, n_units, n_times)``."""
        if self.module.weight.ndim == 3:
            return layer_output
        return layer_output.squeeze(self.channel_axis)

    def weights(self):
        """Return the weights as ``(n_units, maps_per_group, n_channels)``, float64."""
        weight = self.module.weight.detach().cpu().double()
        if weight.ndim == 3:
            return weight[:, None, :, 0]
        return weight.squeeze(5 - self.channel_axis)

    def gains_per_weight(self):
        """Return the channel gains in the layout of :meth:`weights`."""
        n_units, per_group, n_channels = self.weights().shape
        groups = self.module.groups
        gains = self.channel_gains.reshape(groups, 1, per_group, n_channels)
        gains = gains.expand(groups, n_units // groups, per_group, n_channels)
        return gains.reshape(n_units, per_group, n_channels)


def _channel_axis(call, n_channels, *, any_length=False):
    """Return the axis of ``call``'s input that the layer sums whole, or None.

    The layer must keep time's length (no stride or padding along it), unless
    ``any_length``: only then is each output sample its weights times its
    input maps at that sample.
    """
    layer = call.module
    shape_in, shape_out = call.input.shape, call.output.shape
    if layer.weight.ndim == 3:
        spans = (
            layer.in_channels == n_channels
            and layer.kernel_size == (1,)
            and layer.groups == 1
            and (any_length or shape_out[-1] == shape_in[-1])
        )
        return 1 if spans else None
    for axis, other in ((2, 3), (3, 2)):
        kernel = layer.kernel_size
        if (
            shape_in[axis] == kernel[axis - 2] == n_channels
            and kernel[other - 2] == 1
            and shape_out[axis] == 1
            and (any_length or shape_out[other] == shape_in[other])
        ):
            return axis
    return None


def find_spatial_layer(module, example):
    """Return the first layer called whose units are spatial filters of the EEG.

    A spatial filter layer is a convolution whose kernel spans all the
    channels of its input with width 1 in time (``nn.Conv2d``), or a
    ``nn.Conv1d`` of kernel 1 over the channels, and before which the
    network is linear and keeps the channels apart (checked on ``example``).

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    example : torch.Tensor, shape (1, n_channels, n_times)
        One epoch it accepts.

    Returns
    -------
    layer : _SpatialLayer
        The layer and how to read it.
    """
    n_channels = example.shape[1]
    convolutions = [
        layer for layer in module.modules() if isinstance(layer, CONVOLUTIONS)
    ]
    calls = trace_layers(module, example, convolutions)
    for call in calls:
        axis = _channel_axis(call, n_channels)
        if axis is not None:
            check_reads_its_weights(
                module,
                example,
                call.module,
                "spatial filter layer",
                "masks units",
                "its units' spatial filters and signals",
            )
            layer = _SpatialLayer(call.name, call.module, axis, call.shown_name)
            _check_front_end(module, layer, example)
            layer.channel_gains = _channel_gains(module, layer, example)
            return layer
    resampling = [
        call for call in calls if _channel_axis(call, n_channels, any_length=True)
    ]
    if resampling:
        call = resampling[0]
        axis = _channel_axis(call, n_channels, any_length=True)
        other = -1 if axis in (1, 2) else 2
        raise ValueError(
            f"The spatial layer {call.shown_name!r} ({type(call.module).__name__}) "
            f"sums all {n_channels} input channels with a kernel of width 1 in time, "
            "but its stride or padding along time changes the number of samples "
            f"({call.input.shape[other]} to {call.output.shape[other]}), so its "
            "outputs are not its weights times its input maps at each sample, as "
            "its spatial filters and patterns are read. Give it stride 1 and no "
            "padding along time (e.g. pool after it)."
        )
    called = [f"{call.shown_name} ({type(call.module).__name__})" for call in calls]
    raise ValueError(
        f"The network has no spatial filter layer: no convolution sums all "
        f"{n_channels} input channels with a kernel of width 1 in time (as "
        "EEGNet's depthwise spatial convolution or InterpretableCNN's pointwise "
        "convolution do), so its units have no spatial filters. Convolutions "
        f"called: {called}." + uncalled_convolutions(module, calls)
    )


class _FrontEndReached(Exception):
    """Stops a forward pass at the spatial layer's input."""


def _maps_before(module, layer, inputs):
    """Return the spatial layer's input maps for ``inputs``, from the network."""
    captured = []

    def stop(_layer, args):
        captured.append(args[0])
        raise _FrontEndReached

    handle = layer.module.register_forward_pre_hook(stop)
    try:
        module(inputs)
    except _FrontEndReached:
        pass
    finally:
        handle.remove()
    return layer.maps(captured[0])


def _channel_halves(n_channels):
    """Return masks of the channels, ``(2 * n_bits, n_channels)`` of 0 and 1.

    Row ``b`` keeps the channels whose index has bit ``b`` set, row ``n_bits +
    b`` the others: any two channels are apart in a pair of rows.
    """
    bits = torch.arange((n_channels - 1).bit_length())
    in_half = (torch.arange(n_channels) >> bits[:, None]) & 1
    return torch.cat([in_half, 1 - in_half])


@torch.no_grad()
def _check_front_end(module, layer, example):
    """Refuse unless the layers before ``layer`` are linear and keep channels apart.

    Only then is each unit's weight vector a spatial filter of the EEG: the
    unit's output is its weighted sum of the channels, each filtered alike.

    The front end is run on zeros, the epoch, twice the epoch, its negative (a
    rectifier passes the first two) and the epoch on half of its channels, for
    ``2 * ceil(log2(n_channels))`` halves (see :func:`_channel_halves`), each
    pass reduced to its largest error as it is made. Each channel alone, one
    epoch per channel, cost memory and time in n_channels² (5.3 GB and 6
    minutes for 128 channels of 2048 samples). The halves are as strict: a
    linear front end keeps the channels apart if and only if each half's
    maps are the epoch's on that half and zero on the others, and any two
    channels fall in different halves of some split, so a leak of one into
    the other shows. Leaks of several channels of a half into another channel
    would cancel only were those channels linearly dependent after filtering:
    weighting each channel at random first leaves that to chance of
    probability zero. The two halves of each split also sum to the epoch, as
    the channels alone did, which tells a front end that is not linear from
    one that mixes the channels.
    """
    n_channels = example.shape[1]
    # Channels weighted at random, so that leaks cannot cancel (see above).
    generator = torch.Generator().manual_seed(0)
    weights = 0.5 + torch.rand(n_channels, generator=generator, dtype=torch.float64)
    example = example * weights.to(example)[:, None]
    # An affine front end's offset (a bias) may dwarf its response to an
    # epoch in volts: 1e-5 against 0.1 left float32 rounding of 7e-4 of the
    # response, taken for a nonlinearity. The probe is scaled to respond as
    # much as the offset is large; linear layers answer alike at any scale.
    at_zero = _maps_before(module, layer, 0 * example)
    offset = at_zero.abs().amax()
    response = (_maps_before(module, layer, example) - at_zero).abs().amax()
    if offset > response > 0:
        example = example * float(offset / response)
    # Each probe is the epoch with each channel multiplied by a factor; the
    # first is the epoch itself, whose response the others are measured by.
    scales = torch.tensor([[1.0], [2.0], [-1.0]]).expand(3, n_channels)
    factors = torch.cat([scales, _channel_halves(n_channels)]).to(example)
    errors, halves_sum = [], 0
    per_pass = probes_per_pass(example.numel())
    for first in range(0, len(factors), per_pass):
        chunk = factors[first : first + per_pass]
        maps = _maps_before(module, layer, example * chunk[:, :, None])
        # (probe, rows, maps, channel of the maps, times): a network may pass
        # several rows per epoch (windows).
        change = maps.reshape(len(chunk), -1, *maps.shape[1:]) - at_zero
        if first == 0:
            response = change[0]
        # What a front end linear and keeping the channels apart answers.
        expected = chunk[:, None, None, :, None] * response
        errors.append((change - expected).abs().flatten(1).amax(dim=1))
        halves_sum += change[(torch.arange(len(chunk)) + first) >= len(scales)].sum(0)
    errors = torch.cat(errors).tolist()
    doubled, negated = errors[1:3]
    in_halves = max(errors[len(scales) :], default=0.0)
    tolerance = _LINEARITY_TOLERANCE * float(response.abs().amax())
    n_splits = (len(factors) - len(scales)) // 2
    if not tolerance > 0 or (
        doubled > 2 * tolerance
        or negated > tolerance
        or float((halves_sum - n_splits * response).abs().amax()) > tolerance
    ):
        raise ValueError(
            f"The layers before the spatial layer {layer.shown_name!r} are not linear "
            "in the input (a nonlinearity or a constant output comes first), so its "
            "weights are no spatial filters of the EEG channels."
        )
    if in_halves > tolerance:
        raise ValueError(
            f"The layers before the spatial layer {layer.shown_name!r} mix the EEG "
            "channels, so its weights are no spatial filters of the channels."
        )


@torch.no_grad()
def _channel_gains(module, layer, example):
    """Return each channel's gain in each input map, relative to the median's.

    The layers before the spatial layer may scale channels apart (channel
    types each to unit variance, a batch norm over the channels): a filter of
    the maps then weighs each channel by its gain too, and a pattern of the
    maps carries the gain of each channel, not the EEG's topography (EOG
    against C3 was 12 times too small, the scale ratio of the two types). One
    signal on every channel shows each gain: the channel's response is that
    of the map's reference channel times the gain. Channels filtered by
    different kernels, with no common signal, are refused.

    Returns
    -------
    gains : torch.Tensor of float64, shape (n_maps, n_channels)
        Signed; exactly one where all channels are scaled alike.
    """
    generator = torch.Generator().manual_seed(0)
    signal = torch.randn(example.shape[-1], generator=generator, dtype=torch.float64)
    # The spread as a number: a tensor on the network's GPU would not multiply
    # the signal drawn on the CPU.
    common = (signal * float(example.double().std())).to(example).expand_as(example)
    response = _maps_before(module, layer, common) - _maps_before(
        module, layer, 0 * example
    )
    # (maps, channels, samples of every row and time)
    response = response.double().permute(1, 2, 0, 3).flatten(2).cpu()
    norms = response.norm(dim=2)
    reference = response[torch.arange(len(response)), norms.argmax(dim=1)]
    energy = (reference * reference).sum(dim=1, keepdim=True)
    gains = torch.where(
        energy > 0, (response * reference[:, None]).sum(dim=2) / energy, 1.0
    )
    residual = (response - gains[..., None] * reference[:, None]).norm(dim=2)
    if bool((residual > _LINEARITY_TOLERANCE * norms.amax(dim=1, keepdim=True)).any()):
        raise ValueError(
            f"The layers before the spatial layer {layer.shown_name!r} filter the EEG "
            "channels with different kernels, so its units sum no common signal "
            "of the channels and its weights are no spatial filters of the EEG."
        )
    typical = gains.abs().median(dim=1, keepdim=True).values
    gains = torch.where(typical > 0, gains / typical, 1.0)
    if bool(((gains - 1).abs() <= _LINEARITY_TOLERANCE).all()):
        return torch.ones_like(gains)  # alike: read as given, bit for bit
    return gains


# -- filters, patterns and their contributions ------------------------------------
@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class SpatialPatterns:
    """The spatial filters of a network's units, their patterns and contributions.

    Component ``i`` (time point ``i`` of ``filters`` and ``patterns``,
    row ``i`` of ``ranking``) is the ``i``-th most contributing: the
    weights with which one unit of the spatial layer sums the channels of one
    of its input maps.

    Attributes
    ----------
    filters : mne.EvokedArray
        The spatial filters, one "time point" per component (at 1 Hz from 0,
        as :meth:`mne.decoding.CSP.plot_patterns` builds them), on the
        training channels; plot with ``plot_topomap(times=..., scalings=1)``.
    patterns : mne.EvokedArray
        The activation patterns of the filters :footcite:`HaufeEtAl2014`, in
        the same layout: how each channel of the filtered data covaries with
        the unit, per unit of the unit's output.
    ranking : pandas.DataFrame
        One row per component, most contributing first: ``unit`` (output
        channel of the layer), ``input_map`` (the map of the layer's input the
        filter reads, e.g. EEGNet's temporal filter), ``contribution`` (mean
        absolute first-order contribution to the decision, in logits) and
        ``rank`` (1 for the largest).
    layer : str
        The name of the spatial layer in the network.

    References
    ----------
    .. footbibliography::
    """

    filters: mne.EvokedArray
    patterns: mne.EvokedArray
    ranking: pd.DataFrame
    layer: str

    def __repr__(self):
        return (
            f"<SpatialPatterns | {self.layer!r}, {len(self.ranking)} components on "
            f"{len(self.filters.ch_names)} channels>"
        )

    @plain_text()
    def plot(self, n_components=4, *, kind="patterns", ch_type=None, show=True):
        """Plot the topographies of the most contributing components.

        Parameters
        ----------
        n_components : int
            Number of components, from the most contributing on.
        kind : "patterns" | "filters"
            Which maps to plot.
        ch_type : str | None
            The channel type to map, when the network reads several (EEG beside
            EOG, say: a scalp map shows one type). None maps the only type, or
            EEG among several.
        show : bool
            Show the figure.

        Returns
        -------
        fig : matplotlib.figure.Figure
            One topomap per component, titled with its unit and contribution,
            each divided by its largest absolute value (filters and patterns
            have no common unit across units), then one colorbar.
        """
        from ..viz import _plot_topomap_rows

        n_components = min(
            check_positive_int(n_components, "n_components"), len(self.ranking)
        )
        _check_option("kind", kind, ("patterns", "filters"))
        evoked = one_channel_type(getattr(self, kind), ch_type)
        maps = evoked.data[:, :n_components].T
        # A unit whose weights are all zero keeps its blank map.
        maps = maps / np.abs(maps).max(axis=1, keepdims=True).clip(
            min=np.finfo(float).tiny
        )
        # Which input map a filter reads matters when units read several.
        several = self.ranking.input_map.nunique() > 1
        titles = [
            f"unit {row.unit}"
            + (f", map {row.input_map}" if several else "")
            + f"\n{row.contribution:.2g} logit"
            for row in self.ranking.iloc[:n_components].itertuples()
        ]
        return _plot_topomap_rows(
            [maps],
            evoked.info,
            row_labels=None,
            column_labels=titles,
            units=f"normalized {kind[:-1]}",
            shared=True,
            title=f"Spatial {kind} of layer {self.layer!r}, most contributing first",
            caption=(
                "Each map divided by its largest |value|. Above it: the unit and its "
                "contribution, the mean absolute first-order change of the "
                "decision, in logits, were the unit's signal removed."
            ),
            show=show,
        )


def _montage_info(network, data):
    """Return the training channels' info at 1 Hz (one sample per component).

    The positions are those of the epochs given, by channel name, as the maps
    of :func:`mne_xai.explain` take them; arrays fall back on the training
    info. (The training info first drew patterns of a network trained on
    another montage, or on none, apart from its attribution maps.)
    """
    info = data.info if data.info is not None else network.info_
    if info is None:
        raise ValueError(
            "The network's channels are unknown (it was fitted on arrays without "
            "info): give the epochs as mne.Epochs, or fit it with info=epochs.info."
        )
    info = map_info(info).copy()
    with info._unlock():
        info["sfreq"] = 1.0
    return info


@autograd_on
@verbose
@fill_doc
def spatial_patterns(estimator, epochs, *, batch_size=64, device=None, verbose=None):
    """Return the spatial filters of a network, their patterns and contributions.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
        The patterns are computed from the covariance of these epochs.
    %(batch_size)s
    %(device)s
    %(verbose)s

    Returns
    -------
    spatial : SpatialPatterns
        The filters and patterns as :class:`mne.EvokedArray` (one "time
        point" per component, most contributing first) and their ranking.

    See Also
    --------
    temporal_filters

    Notes
    -----
    The spatial layer is the first one called whose kernel spans all the
    channels of its input with width 1 in time (EEGNet's depthwise spatial
    convolution, InterpretableCNN's pointwise convolution, the spatial
    convolution of ShallowFBCSPNet), or a ``nn.Conv1d`` of kernel 1 over the
    channels (braindecode's ``CombinedConv``, which convolves once with the
    product of the kernels of ``conv_time`` and ``conv_spat``, is run as those
    two layers, whose function it computes). The layers before it (scaling,
    temporal convolutions, batch norm) must be linear and keep the channels
    apart, which is checked on the network itself: each unit then sums, with its
    weights ``w``, every channel of its input maps ``x`` (the EEG filtered by
    the temporal filter before it, if any). A network without such a layer is
    refused.

    **Patterns.** A filter shows how the network extracts a signal, not where
    the signal is: its weights also cancel noise. The pattern
    ``a = Cov(x) w / Var(w^T x)`` :footcite:`HaufeEtAl2014` is the forward
    model of the unit's signal, the covariance of each channel with it; it is
    what to read as a topography. It is computed for each unit alone, not by
    inverting all the filters together as :class:`mne.decoding.CSP` computes
    ``patterns_`` (``Cov(x) W (W^T Cov(x) W)^-1``), which would mix in the
    other units' filters: a unit's pattern does not change with the units
    beside it. ``Cov(x)`` is the covariance of the given epochs, filtered and
    scaled as the network's input maps, over epochs and times. Of a
    :class:`~mne_xai.CroppedClassifier`, it is over the windows its network
    reads, the data its filters read: a sample that ``k`` overlapping windows
    read counts ``k`` times, as the filters read it ``k`` times (in maps that
    differ near each window's edges, where a temporal convolution pads) and
    the decision, the mean over windows, weighs it so; samples no window
    reads do not count. Where the
    layers before scale the channels apart (each channel type to unit
    variance, a batch norm over the channels), each channel's gain, measured
    by one signal passed on every channel, is taken out: the filters apply to
    the EEG and the patterns are in its units, up to one factor per input map
    (the median channel's gain). Layers filtering the channels with different
    kernels are refused. When a unit
    reads several maps (ShallowFBCSPNet's spatial convolution reads every
    temporal filter), each map gives one component, with the covariance taken
    across all its maps. A unit whose output is constant on the epochs (its
    weights are zero, or the maps it reads are constant) has no pattern: it
    gets zeros, as :class:`mne.decoding.LinearModel` gives a zero filter, and
    a warning names it.

    **Contributions.** A component's contribution is the mean over epochs
    of ``|sum_t g(t) s(t)|``, the first-order Taylor estimate
    :footcite:`MolchanovEtAl2017` of how much the decision changes when the
    component's signal ``s = w^T x`` is removed from the unit, where ``g`` is
    the gradient of the decision with respect to the unit's output. The
    decision is each epoch's predicted-class logit minus the mean of its
    logits (the part of the logits the softmax sees). A unit's bias, a
    constant, belongs to no component.

    References
    ----------
    .. footbibliography::
    """
    network = as_network(estimator)
    batch_size = check_positive_int(batch_size, "batch_size")
    data = network._check_prediction_input(epochs, "epochs")
    info = _montage_info(network, data)
    device = compute_device(device, network)
    home = next(network.module_.parameters()).device
    example = torch.from_numpy(next(data.batches(1))).to(home)
    module = private_module(network, home, example)
    _check_logits(module, data, home)
    layer = find_spatial_layer(module, example)
    weights = layer.weights()
    logger.info(
        f"Spatial patterns of layer {layer.shown_name!r}: {weights.shape[0]} units "
        f"reading {weights.shape[1]} map(s) each, from {data.shape[0]} epochs"
    )
    covariance, mean, contributions = _covariance_and_contributions(
        network, data, layer, batch_size=batch_size, device=device
    )
    n_units, per_group, n_channels = weights.shape
    # Filters of the EEG and patterns in its units (up to one factor per map):
    # the maps hold each channel times its gain.
    gains = layer.gains_per_weight().reshape(n_units * per_group, n_channels)
    patterns = _patterns(layer, covariance, mean)
    patterns = np.where(gains == 0, 0.0, patterns / np.where(gains == 0, 1.0, gains))
    order = np.argsort(-contributions, kind="stable")
    units, maps_read = np.divmod(np.arange(n_units * per_group), per_group)
    units_per_group = n_units // layer.module.groups
    ranking = pd.DataFrame(
        {
            "unit": units,
            "input_map": units // units_per_group * per_group + maps_read,
            "contribution": contributions,
        }
    ).iloc[order]
    ranking["rank"] = np.arange(1, len(order) + 1)
    filters = (weights.reshape(n_units * per_group, n_channels) * gains).numpy()
    return SpatialPatterns(
        filters=mne.EvokedArray(
            filters[order].T,
            info,
            tmin=0,
            comment=f"spatial filters of {layer.shown_name}",
        ),
        patterns=mne.EvokedArray(
            patterns[order].T,
            info,
            tmin=0,
            comment=f"spatial patterns of {layer.shown_name}",
        ),
        ranking=ranking.reset_index(drop=True),
        layer=layer.shown_name,
    )


def _covariance_and_contributions(network, data, layer, *, batch_size, device):
    """Return the covariance of each group's maps and each component's contribution.

    Returns
    -------
    covariance : torch.Tensor of float64, shape (n_groups, n, n)
        Over epochs and times, of the maps a group of units reads, ``n =
        maps_per_group * n_channels`` (map-major).
    mean : torch.Tensor of float64, shape (n_groups, n)
        The mean of those maps.
    contributions : ndarray, shape (n_units * maps_per_group,)
        Mean over epochs of ``|sum_t g s|``, unit-major.
    """
    weights = layer.weights()
    n_units, per_group, n_channels = weights.shape
    n_groups, width = layer.module.groups, per_group * n_channels
    kernel = weights.reshape(n_groups, -1, per_group, n_channels).float().to(device)
    sums = torch.zeros(n_groups, width, dtype=torch.float64, device=device)
    products = torch.zeros(n_groups, width, width, dtype=torch.float64, device=device)
    contributions = torch.zeros(n_groups, n_units // n_groups, per_group, device=device)
    n_samples, shift = 0, None
    for layer_input, _, gradient, n_epochs in decision_gradients(
        network,
        data,
        layer.name,
        batch_size=batch_size,
        device=device,
        mesg="spatial patterns",
    ):
        maps = layer.maps(layer_input)
        n_batch, n_times = maps.shape[0], maps.shape[-1]
        maps = maps.reshape(n_batch, n_groups, per_group, n_channels, n_times)
        unit_gradient = layer.unit_outputs(gradient).reshape(
            n_batch, n_groups, -1, n_times
        )
        # sum_t g(t) s(t), with s = w^T x the signal of each (unit, map).
        signal = torch.einsum("bgut,bgjct,gujc->bguj", unit_gradient, maps, kernel)
        contributions += sum_per_epoch(signal, n_epochs).abs().sum(dim=0)
        flat = maps.reshape(n_batch, n_groups, width, n_times).double()
        if shift is None:
            # Sums about the first batch's mean keep the covariance accurate
            # when a map's mean is large against its spread: that of a
            # constant map (a zeroed kernel before batch norm) stays zero.
            shift = flat.mean(dim=(0, 3))
        flat = flat - shift[..., None]
        sums += flat.sum(dim=(0, 3))
        products += torch.einsum("bgit,bgjt->gij", flat, flat)
        n_samples += n_batch * n_times
    mean = sums / n_samples
    covariance = products / n_samples - mean[:, :, None] * mean[:, None, :]
    contributions = contributions.double().cpu().flatten() / data.shape[0]
    return covariance.cpu(), (mean + shift).cpu(), contributions.numpy()


def _patterns(layer, covariance, mean):
    """Return ``Cov(x) w / Var(w^T x)`` of each unit, per map it reads.

    A unit whose output is constant gets a zero pattern, with a warning.

    Returns
    -------
    patterns : ndarray, shape (n_units * maps_per_group, n_channels)
        Unit-major, as the contributions.
    """
    weights = layer.weights()
    n_units, per_group, n_channels = weights.shape
    filters = weights.reshape(layer.module.groups, -1, per_group * n_channels)
    projected = torch.einsum("gij,guj->gui", covariance, filters)
    variance = (projected * filters).sum(dim=-1, keepdim=True)
    # Below the float32 rounding of the unit's output, its variance is that of
    # a constant: zero weights, or maps that are constant.
    power = covariance.diagonal(dim1=1, dim2=2).sum(dim=1) + mean.pow(2).sum(dim=1)
    scale = filters.pow(2).sum(dim=-1, keepdim=True) * power[:, None, None]
    constant = variance <= _FLOAT32_EPS**2 * scale
    dead = np.flatnonzero(constant.flatten())
    if dead.size:
        warn(
            f"Unit(s) {dead.tolist()} of layer {layer.shown_name!r} output a constant "
            "on these epochs (their weights are zero, or the maps they read are "
            "constant); a constant has no pattern: theirs are zero, as "
            "mne.decoding.LinearModel gives a zero filter."
        )
    patterns = torch.where(constant, 0.0, projected / variance)
    return patterns.reshape(n_units * per_group, n_channels).numpy()
