"""Frequency responses of a network's temporal filters, their passbands and use."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from mne.utils import _validate_type, logger, verbose

from .._checks import check_axes, check_positive_int, compute_device
from .._docs import fill_doc
from .._figure_text import plain_text
from .._graph import CONVOLUTIONS, PADDING, SLIDING_WINDOWS, autograd_on, trace_layers
from .._network import WindowAverage, check_reads_time, read_network
from .._warnings import warn
from ..attribution._core import private_module
from ._activations import (
    _check_logits,
    check_reads_its_weights,
    data_rate,
    time_along_calls,
    uncalled_convolutions,
    unit_contributions,
)

# Half power: the -3 dB edges of a passband.
_HALF_POWER = 1 / np.sqrt(2)


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class TemporalFilters:
    """The kernels of a network's first temporal convolution, as filters.

    Arrays and rows are in the order of the layer's output channels (kernel
    ``k`` is output channel ``k``).

    Attributes
    ----------
    kernels : ndarray, shape (n_kernels, n_taps)
        The layer's weights, as the layer stores them.
    freqs : ndarray, shape (n_freqs,)
        Frequencies from 0 to the Nyquist frequency of the layer's input, in
        Hz.
    magnitude : ndarray, shape (n_kernels, n_freqs)
        The gain ``|H(f)|`` of each kernel, in the unit of its weights.
    passbands : pandas.DataFrame
        One row per kernel: ``kernel``, ``peak_freq`` (frequency of the
        largest gain), ``low_freq`` and ``high_freq`` (the -3 dB edges of
        the band around the peak, 0 or Nyquist when the gain stays above
        half power; NaN for a kernel whose weights are all zero),
        ``contribution`` (mean absolute first-order
        contribution of the kernel's output to the decision, in logits) and
        ``rank`` (1 for the largest); the last two are missing (NaN,
        ``pd.NA``) when no epochs were given.
    sfreq : float
        Sampling rate of the layer's input, in Hz.
    layer : str
        The layer's name in the network.
    """

    kernels: np.ndarray
    freqs: np.ndarray
    magnitude: np.ndarray
    passbands: pd.DataFrame
    sfreq: float
    layer: str

    def __repr__(self):
        n_kernels, n_taps = self.kernels.shape
        peaks = ", ".join(f"{peak:.3g}" for peak in self.passbands["peak_freq"][:8])
        more = ", ..." if n_kernels > 8 else ""
        return (
            f"<TemporalFilters | {self.layer!r}, {n_kernels} kernels of {n_taps} "
            f"taps at {self.sfreq:g} Hz, peaks at {peaks}{more} Hz>"
        )


def _time_axis(call, n_channels, time):
    """Return the axis along which ``call``'s convolution filters each map in time.

    None when the layer is no temporal filter bank: its kernels must be
    longer than one sample in time only, and each output map must read one
    input map (``in_channels == groups``). In a ``nn.Conv2d`` the other axis
    holds the EEG channels (its length is ``n_channels``) or has been summed
    away (length 1). Where ``time``, the step of the input's last axis, is
    known, time is that axis: a kernel along axis 2 then mixes channels, also
    where time was pooled to one sample before it.
    """
    layer = call.module
    if layer.in_channels != layer.groups:
        return None
    kernel = layer.kernel_size
    if layer.weight.ndim == 3:
        return 2 if kernel[0] > 1 else None
    for axis, other in ((3, 2), (2, 3)):
        if axis == 2 and time is not None:
            continue
        if (
            kernel[axis - 2] > 1
            and kernel[other - 2] == 1
            and call.input.shape[other] in (1, n_channels)
        ):
            return axis
    return None


def _decimation(call, axis, time, n_times):
    """Return the input's rate divided by the rate of ``call``'s input along ``axis``.

    ``time`` is the step of the input's last axis (see ``time_along_calls``),
    None when unknown. A time axis as long as the network's input keeps
    every sample, wherever it is (ShallowFBCSPNet filters time on axis 2).
    """
    if time is not None and axis == call.input.ndim - 1:
        return time[0]
    n_samples = call.input.shape[axis]
    if n_samples == n_times:
        return 1
    raise ValueError(
        f"The sampling rate of the input of layer {call.shown_name!r} is unknown: its "
        f"time axis (axis {axis}) has {n_samples} samples, which the strides of "
        f"the layers called before it do not make of the input's {n_times}. A "
        "function of the network's forward (not a layer) decimates or slices time, "
        "as F.avg_pool2d or x[..., ::2] do; do it with a layer (e.g. "
        "nn.AvgPool2d) so that its stride is known."
    )


def find_temporal_layer(module, example):
    """Return the first convolution called that filters maps in time.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    example : torch.Tensor, shape (1, n_channels, n_times)
        One epoch it accepts.

    Returns
    -------
    call : LayerCall
        The layer's call, with the tensors it received and returned.
    axis : int
        The time axis of its input.
    decimation : int
        The product of the strides along time of the pooling and convolution
        layers called before it: the input's rate divided by the layer's.
    """
    # Padding layers change time's length, not its rate: followed too.
    sliding = [
        layer
        for layer in module.modules()
        if isinstance(layer, SLIDING_WINDOWS + PADDING)
    ]
    calls = trace_layers(module, example, sliding)
    # A CroppedClassifier's network reads windows cut from the epoch: a crop,
    # at the epoch's rate, from which time is followed.
    n_times = module.n_samples if isinstance(module, WindowAverage) else None
    n_times = n_times or example.shape[-1]
    # The last entry, the output of the last call, is no layer's input.
    times = time_along_calls(calls, n_times)[:-1]
    for call, time in zip(calls, times, strict=True):
        axis = (
            _time_axis(call, example.shape[1], time)
            if isinstance(call.module, CONVOLUTIONS)
            else None
        )
        if axis is not None:
            check_reads_its_weights(
                module,
                example,
                call.module,
                "temporal filter layer",
                "standardizes its weight or scales its output",
                "its kernels' frequency responses",
            )
            return call, axis, _decimation(call, axis, time, n_times)
    convolutions = [
        f"{call.shown_name} ({type(call.module).__name__})"
        for call in calls
        if isinstance(call.module, CONVOLUTIONS)
    ]
    raise ValueError(
        "The network has no temporal filters: no convolution called filters its "
        "maps in time alone, one kernel per map (as EEGNet's first convolution or "
        "InterpretableCNN's depthwise convolution do). Convolutions called: "
        f"{convolutions}." + uncalled_convolutions(module, calls)
    )


def _frequency_response(kernels, dilation, freqs, sfreq):
    """Return ``|H(f)|`` of each kernel, its taps ``dilation`` samples apart."""
    taps = np.arange(kernels.shape[1]) * dilation
    return np.abs(kernels @ np.exp(-2j * np.pi * np.outer(taps, freqs) / sfreq))


def _crossing(freqs, gain, inside, outside):
    """Return the frequency between bins ``inside`` and ``outside`` at half power."""
    fraction = (gain[inside] - _HALF_POWER) / (gain[inside] - gain[outside])
    return freqs[inside] + fraction * (freqs[outside] - freqs[inside])


def _passband(freqs, magnitude):
    """Return the peak frequency and -3 dB edges of one gain curve.

    NaN for a kernel of zero gain (all its weights zero): it passes no
    frequency, so it has no peak or band.
    """
    if not magnitude.max() > 0:
        return np.nan, np.nan, np.nan
    gain = magnitude / magnitude.max()
    peak = int(gain.argmax())
    below = np.flatnonzero(gain[:peak] < _HALF_POWER)
    above = peak + 1 + np.flatnonzero(gain[peak + 1 :] < _HALF_POWER)
    low = (
        freqs[0] if not below.size else _crossing(freqs, gain, below[-1] + 1, below[-1])
    )
    high = (
        freqs[-1] if not above.size else _crossing(freqs, gain, above[0] - 1, above[0])
    )
    return freqs[peak], low, high


@autograd_on
@verbose
@fill_doc
def temporal_filters(
    estimator,
    epochs=None,
    *,
    n_freqs=256,
    batch_size=64,
    device=None,
    verbose=None,
):
    """Return the frequency responses of a network's temporal filters.

    Parameters
    ----------
    %(estimator)s
    epochs : mne.Epochs | list of mne.Epochs | array | None
        Data on which to measure how much each kernel is used, matching the
        training data in channels, rate and length; None leaves the
        contributions out (NaN). The network's input shape is then taken
        from the estimator.
    n_freqs : int
        Number of frequencies from 0 Hz to the Nyquist frequency, evenly
        spaced (at least 2).
    %(batch_size)s
    %(device)s
    %(verbose)s

    Returns
    -------
    filters : TemporalFilters
        The kernels, their gains and a table of passbands and contributions.

    See Also
    --------
    plot_temporal_filters, spatial_patterns

    Notes
    -----
    The temporal layer is the first convolution called whose kernels are longer
    than one sample in time only, each reading one map: EEGNet's first
    convolution, InterpretableCNN's depthwise convolution, the temporal
    convolution of ShallowFBCSPNet (in braindecode's ShallowFBCSPNet and
    Deep4Net, ``conv_time``, whose kernels ``CombinedConv`` applies combined
    with those of ``conv_spat``: a module computing what calling its layers in
    order computes is run as those layers). Its kernels are finite impulse
    response filters at the sampling rate of its input (the epochs' rate divided
    by the strides of any pooling or convolution before the layer). The gain is
    the magnitude of the kernel's discrete-time Fourier transform, as
    :func:`scipy.signal.freqz` computes it; a convolution layer correlates with
    its kernel, which flips the phase but leaves the gain unchanged. Batch norm
    and input scaling multiply a map by a constant, so the passbands are those
    of the kernels alone. The band of a kernel is the one around its largest
    gain, between the frequencies where the gain falls to half power (-3 dB).

    A kernel's contribution is the mean over epochs of ``|sum g y|``, the sum
    over its output map ``y`` (every channel and time) of the map times the
    gradient ``g`` of the decision (the predicted-class logit minus the mean
    logit): the first-order Taylor estimate :footcite:`MolchanovEtAl2017` of
    how much the decision changes when the map is removed.

    References
    ----------
    .. footbibliography::
    """
    # Without epochs it reads the network alone.
    caller = "temporal_filters" if epochs is None else None
    network = read_network(estimator, caller=caller)
    check_reads_time(network, "temporal_filters")
    n_freqs = check_positive_int(n_freqs, "n_freqs")
    if n_freqs < 2:
        raise ValueError(f"n_freqs must be at least 2, got {n_freqs}.")
    batch_size = check_positive_int(batch_size, "batch_size")
    data = None
    if epochs is not None:
        data = network._check_prediction_input(epochs, "epochs")
    rate = data_rate(network, data, "the filters' frequencies")
    if rate is None:
        raise ValueError(
            "The network's sampling rate is unknown: give the classifier the "
            "info of its channels (as_network(net, info=epochs.info))."
        )
    if data is not None:
        example = next(data.batches(1))
    elif network.n_channels_ is None or network.n_times_ is None:
        raise ValueError(
            "The network's input shape is unknown: pass epochs to temporal_filters."
        )
    else:
        # Noise at the data's scale, not zeros: on zeros a layer that
        # standardizes its weight or scales its output returns what its
        # weights give (zero), and would pass for computing with them.
        shape = (1, network.n_channels_, network.n_times_)
        scale = getattr(network, "data_std_", None)
        scale = 1.0 if scale is None else np.asarray(scale, np.float32)
        scale = scale.reshape(-1, 1) if np.ndim(scale) else scale
        noise = np.random.default_rng(0).standard_normal(shape)
        example = (noise * scale).astype(np.float32)
    home = next(network.module_.parameters()).device
    example = torch.from_numpy(example).to(home)
    module = private_module(network, home, example)
    if data is not None:
        _check_logits(module, data, home)
    call, axis, decimation = find_temporal_layer(module, example)
    layer = call.module
    kernels = layer.weight.detach().cpu().double().numpy()
    kernels = kernels.reshape(len(kernels), -1)
    sfreq = rate / decimation
    freqs = np.linspace(0, sfreq / 2, n_freqs)
    magnitude = _frequency_response(kernels, layer.dilation[axis - 2], freqs, sfreq)
    logger.info(
        f"Frequency responses of the {len(kernels)} kernels of layer "
        f"{call.shown_name!r} at {sfreq:g} Hz"
    )
    passbands = pd.DataFrame(
        [_passband(freqs, gain) for gain in magnitude],
        columns=["peak_freq", "low_freq", "high_freq"],
    )
    passbands.insert(0, "kernel", np.arange(len(kernels)))
    dead = np.flatnonzero(~(magnitude.max(axis=1) > 0))
    if dead.size:
        warn(
            f"Kernel(s) {dead.tolist()} of layer {call.shown_name!r} are zero (all "
            "their weights are 0): they pass no frequency, so their peak and band "
            "are NaN."
        )
    passbands["contribution"] = np.nan
    passbands["rank"] = pd.array([pd.NA] * len(kernels), dtype="Int64")
    if data is not None:
        device = compute_device(device, network)
        contributions, _ = unit_contributions(
            network,
            data,
            call.name,
            batch_size=batch_size,
            device=device,
            mesg="contributions",
        )
        passbands["contribution"] = contributions
        passbands["rank"] = (
            pd.Series(contributions).rank(ascending=False, method="first")
        ).astype("Int64")
    return TemporalFilters(
        kernels=kernels,
        freqs=freqs,
        magnitude=magnitude,
        passbands=passbands,
        sfreq=sfreq,
        layer=call.shown_name,
    )


@plain_text()
def plot_temporal_filters(filters, *, n_highlight=4, floor=-40.0, axes=None, show=True):
    """Plot the gain of each temporal filter, in dB relative to its peak.

    Parameters
    ----------
    filters : TemporalFilters
        The output of :func:`temporal_filters`.
    n_highlight : int
        With contributions known, the number of most contributing kernels
        drawn in colour and named in the legend; the others are grey. Without
        them, every kernel is drawn in colour, and named when there are at
        most 10 (the colours stay distinct).
    floor : float
        The lowest gain shown, in dB (negative).
    axes : matplotlib.axes.Axes | None
        Where to draw; None makes a new figure.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt
    from mne.viz.utils import plt_show

    from .._figure_text import _wrap_text

    _validate_type(filters, TemporalFilters, "filters")
    n_highlight = check_positive_int(n_highlight, "n_highlight")
    _validate_type(floor, "numeric", "floor")
    if not floor < 0:
        raise ValueError(f"floor must be a negative gain in dB, got {floor}.")
    check_axes(axes)
    if axes is None:
        fig, axes = plt.subplots(figsize=(8.0, 4.0), layout="constrained")
    else:
        fig = axes.figure
    peak = filters.magnitude.max(axis=1, keepdims=True)
    # A zero kernel (0 / 0) is not drawn.
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = 20 * np.log10(filters.magnitude / peak)
    table = filters.passbands
    ranked = table["rank"].notna().all()
    # The most contributing kernels are drawn last, on top.
    order = table.sort_values("rank", ascending=False).index if ranked else table.index
    colours = plt.get_cmap("tab10")
    named = len(table) <= colours.N
    # Ten colours, or one per rank of a continuous map beyond (ranks 10 to 16
    # shared tab10's last colour).
    highlights = (
        colours if n_highlight <= colours.N else plt.get_cmap("turbo", n_highlight)
    )
    # Drawn first, listed last in the legend (which lists the lines reversed).
    axes.axhline(-3, color="k", ls="--", lw=0.8, label="-3 dB")
    for kernel in order:
        row = table.loc[kernel]
        label = f"kernel {kernel}: peak {row.peak_freq:.1f} Hz"
        if not ranked:
            axes.plot(
                filters.freqs,
                gain[kernel],
                lw=1,
                color=colours(kernel % colours.N),
                label=label if named else None,
            )
        elif row["rank"] <= n_highlight:
            axes.plot(
                filters.freqs,
                gain[kernel],
                lw=2,
                color=highlights(int(row["rank"]) - 1),
                label=f"{label} (rank {int(row['rank'])})",
            )
        else:
            axes.plot(filters.freqs, gain[kernel], lw=0.8, color="0.75")
    title = f"Temporal filters of layer {filters.layer!r}"
    axes.set(
        xlim=(filters.freqs[0], filters.freqs[-1]),
        ylim=(floor, 3),
        xlabel="Frequency (Hz)",
        ylabel="Gain relative to the peak (dB)",
        # The legend takes about 2.5 inches beside the axes.
        title=_wrap_text(title, fig.get_figwidth() - 2.5, "large"),
    )
    handles, labels = axes.get_legend_handles_labels()
    axes.legend(
        handles[::-1],
        labels[::-1],
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.02, 1),
    )
    plt_show(show)
    return fig
