"""Figures of attribution maps, in the unit the methods return.

Attribution values carry their method's true unit (logit, or logit per volt
for gradients), which MNE's plotting functions would rescale as if they were
volts. These helpers plot with ``scalings=1`` and a unit label, as MNE's
``SpatialFilter.plot_patterns`` does for patterns.
"""

from contextlib import contextmanager

import matplotlib.pyplot as plt
import mne
import numpy as np
from matplotlib.backend_bases import CloseEvent
from matplotlib.ticker import MaxNLocator
from matplotlib.widgets import Widget
from mne.channels.layout import _pair_grad_sensors
from mne.io.pick import _DATA_CH_TYPES_SPLIT
from mne.time_frequency import EpochsSpectrum, Spectrum
from mne.utils import _validate_type, verbose
from mne.viz.utils import plt_show
from scipy.signal import find_peaks

from ._docs import fill_doc
from ._figure_text import (
    _CAPTION_SIZE,
    _COLUMN_TITLE_SIZE,
    _TITLE_SIZE,
    _add_title,
    _lines,
    _text_width,
    _wrap_text,
    parse_mne_mathtext,
    plain_text,
)
from ._network import as_network
from ._outputs import one_channel_type, scalp_channel_type
from .attribution import explain
from .attribution._core import _event_id, _target_index, class_text
from .attribution.postprocess import _time_window, channel_importance
from .datasets import _builtin_montage
from .inspect._samples import class_names

__all__ = [
    "plot_attribution_joint",
    "plot_band_topomaps",
    "plot_class_topomaps",
    "plot_method_comparison",
]

_DEFAULT_BANDS = {
    "theta (4-8 Hz)": (4.0, 8.0),
    "alpha/mu (8-13 Hz)": (8.0, 13.0),
    "beta (13-30 Hz)": (13.0, 30.0),
}


def _bands_reached(freqs):
    """Return the EEG bands a spectrum reaches, or its whole span if it reaches none.

    Data sampled slowly hold no alpha or beta to show: at 10 Hz (fNIRS),
    theta alone; at 8 Hz or less, none of the three, and the relevance of
    every frequency is one band (the bands of none, brought back, failed
    after the whole report had trained).

    Parameters
    ----------
    freqs : ndarray
        The spectrum's frequencies in Hz, ascending.

    Returns
    -------
    bands : dict
        Band name to ``(fmin, fmax)`` in Hz.
    """
    reached = {
        name: (fmin, fmax)
        for name, (fmin, fmax) in _DEFAULT_BANDS.items()
        if fmin < freqs[-1] and fmax > freqs[0]
    }
    return reached or {"all frequencies": (float(freqs[0]), float(freqs[-1]))}


#: Side of one topomap, in inches: large enough for 64 sensors, small enough
#: that a comparison of seven methods fits a screen.
_MAP_SIZE = 1.5
#: Widest row label, in inches, before it wraps onto more lines: the names
#: of the registered methods fit on one line.
_ROW_LABEL_WIDTH = 1.6
#: Room for a colorbar with its ticks and label, in inches.
_COLORBAR_WIDTH = 0.9
#: Longest colorbar, in inches: a bar as tall as seven rows of maps is no
#: easier to read than a short one.
_COLORBAR_LENGTH = 2.4
#: Share of the range of relevance summed over channels by which a peak of it
#: rises above the dips around it, for a joint plot's topomaps: a distinct
#: hump, where sample noise only wobbles.
_PEAK_PROMINENCE = 0.1
#: Fewest sensor positions a topomap interpolates between (MNE's fails with an
#: IndexError on one).
_MIN_TOPOMAP_POSITIONS = 3
#: What to plot instead of topomaps of too few channels, formatted with the
#: channel type.
_TIME_COURSE = (
    "Plot the relevance against time instead, unscaled, with MNE's Evoked.plot: "
    "e.g. attribution.average().plot(scalings=dict({ch_type}=1), "
    "units=dict({ch_type}='relevance')), or evoked.plot(...) for an Evoked."
)


def _close_figure(figure):
    """Close a figure made here, and drop what would keep it alive after.

    Under Agg (scripts, the command line) each report kept 2 figures of
    ``Evoked.plot_joint`` alive for good (about 15 MB):

    - MNE's linked-time events (:mod:`mne.viz.ui_events`) keep each figure
      until its canvas fires ``close_event``, as a window does when it
      closes, which ``plt.close`` fires in a window's backend only. The event
      is fired here as a window fires it; a window's backend firing it again
      finds the figure let go already.
    - matplotlib 3.11's blitting widgets (the span selector of MNE's
      butterfly plot) keep their canvas, and so the figure, until they are
      freed themselves, which the figure holding them prevents: the closed
      figure's axes drop them.
    """
    canvas = figure.canvas
    canvas.callbacks.process("close_event", CloseEvent("close_event", canvas))
    plt.close(figure)
    for axes in figure.axes:
        for name, value in list(vars(axes).items()):
            if isinstance(value, Widget):
                delattr(axes, name)


@contextmanager
def _figures_closed_on_error():
    """Close the figures a plot opened before it failed.

    A caller catching the error (a loop over methods, a report) otherwise
    keeps an empty figure open, which pyplot shows later, or that piles up.
    """
    before = set(plt.get_fignums())
    try:
        yield
    except BaseException:
        for number in set(plt.get_fignums()) - before:
            _close_figure(plt.figure(number))
        raise


def _sensor_positions(info):
    """Return each channel's position, and whether it has one on the head."""
    positions = np.array([channel["loc"][:3] for channel in info["chs"]])
    return positions, np.isfinite(positions).all(axis=1) & positions.any(axis=1)


def _n_topomap_positions(info):
    """Return how many values a topomap of ``info``'s channels interpolates."""
    positions, placed = _sensor_positions(info)
    # A pair of planar gradiometers shares one position, drawn as one value;
    # a channel without a position counts as one (refused later, by name).
    return len(np.unique(positions[placed], axis=0)) + int((~placed).sum())


#: Channel types whose contacts lie inside the head: no scalp topomaps.
_INTRACRANIAL = ("seeg", "ecog", "dbs")
#: Channel types MNE draws topomaps of: its data channel types. Of others
#: (misc, EOG, ECG), it picks no channel, and fails with "No channels match
#: the selection."
_TOPOMAP_TYPES = _DATA_CH_TYPES_SPLIT


def _check_topomap(info, signed, instead=""):
    """Refuse maps that MNE's topomaps cannot draw, or would draw wrongly.

    Parameters
    ----------
    info : mne.Info
        The maps' channels, of one type.
    signed : bool
        Whether the maps hold negative values.
    instead : str
        What to plot instead when there are too few positions, or the channels
        are intracranial contacts, formatted with ``ch_type``.
    """
    ch_type = info.get_channel_types()[0]
    if ch_type in _INTRACRANIAL:
        raise ValueError(
            f"These are {ch_type} contacts, inside the head: a topomap draws "
            "channels on a scalp disc and would interpolate across them as if "
            "they lay on the scalp. "
            + (
                instead.format(ch_type=ch_type)
                if instead
                else "Read the values per contact instead (the maps' data)."
            )
        )
    if ch_type not in _TOPOMAP_TYPES:
        raise ValueError(
            f"MNE draws no topomaps of {ch_type} channels, only of data channels "
            f"({', '.join(_TOPOMAP_TYPES[:4])}, ...). Give EEG channels their type "
            "before explaining them, e.g. epochs.set_channel_types({name: 'eeg'}). "
            + instead.format(ch_type=ch_type)
        )
    n_positions = _n_topomap_positions(info)
    if n_positions < _MIN_TOPOMAP_POSITIONS:
        shown = ", ".join(info.ch_names[:5])
        raise ValueError(
            f"A topomap interpolates between {_MIN_TOPOMAP_POSITIONS} or more sensor "
            f"positions; these {ch_type} maps have {n_positions} ({shown}). "
            + instead.format(ch_type=ch_type)
        )
    _, placed = _sensor_positions(info)
    if not placed.all():
        unplaced = np.array(info.ch_names)[~placed].tolist()
        shown = ", ".join(unplaced[:5]) + (" ..." if len(unplaced) > 5 else "")
        raise ValueError(
            f"{len(unplaced)} of the {len(placed)} {ch_type} channels have no "
            f"position ({shown}), and a topomap places each channel on the head. Set "
            f"a montage on the data before explaining them, e.g. "
            f"epochs.set_montage({_builtin_montage('1020')!r}) (see "
            "mne.channels.get_builtin_montages()), or drop those channels."
        )
    if ch_type == "grad" and signed:
        raise ValueError(
            "Signed maps cannot be drawn on planar gradiometers: MNE draws each "
            "pair as the root mean square of its two channels, which is positive "
            "whatever their sign. Plot magnitudes (absolute=True, or "
            "evoked.copy().apply_function(np.abs)), or another channel type "
            "(ch_type)."
        )


def _sum_gradiometer_pairs(rows, info):
    """Give both channels of each planar gradiometer pair the sum of the two.

    MNE draws a pair as the root mean square of its channels, as for power;
    relevance magnitudes add up instead (the maps say "summed over"), and
    the colour scale, set from single channels, reached values no pair was
    drawn with. The root mean square of two equal values is that value, so
    MNE then draws each pair's sum. Maps on pairs are magnitudes (see
    :func:`_check_topomap`).
    """
    if "grad" not in info.get_channel_types():
        return rows  # MNE warns of no pairs otherwise
    pairs = _pair_grad_sensors(info, topomap_coords=False, raise_error=False)
    if not len(pairs):
        return rows
    summed = []
    for maps in rows:
        maps = maps.copy()
        pair_sums = maps[:, pairs].reshape(len(maps), -1, 2).sum(axis=-1)
        maps[:, pairs] = np.repeat(pair_sums, 2, axis=-1)
        summed.append(maps)
    return summed


def _plot_topomap_rows(
    rows,
    info,
    *,
    row_labels,
    column_labels,
    units,
    shared,
    title,
    caption,
    show,
    instead="",
    normalize_rows=False,
):
    """Draw topomaps in a grid whose labels, titles and colorbars all fit.

    Parameters
    ----------
    rows : list of ndarray, shape (n_columns, n_channels)
        The maps of each row.
    info : mne.Info
        Channels of the maps, with positions.
    row_labels, column_labels : list of str | None
        Written left of each row and above each column of the first row;
        long ones wrap.
    units : str
        Colorbar label.
    shared : bool
        One colour scale and one colorbar for the whole figure; False gives
        each row its own scale and colorbar (for rows in different units).
    title, caption : str | None
        Written above the maps and below them.
    show : bool
        Show the figure.
    instead : str
        What to plot instead when the channels are too few for topomaps (see
        :func:`_check_topomap`).
    normalize_rows : bool
        Divide each row by its largest absolute value as drawn (gradiometer
        pairs summed), so that a colour scale of fractions ends at 1.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``n_rows * n_columns`` topomap axes, then the colorbar axes (one, or
        one per row).
    """
    for label, maps in zip(row_labels or [None] * len(rows), rows, strict=True):
        if not np.isfinite(maps).all():
            # One NaN sample made a colour scale of NaN, blanking every map
            # of the figure without a word.
            raise ValueError(
                f"The maps{f' of {label}' if label else ''} hold NaN or infinite "
                "values (e.g. an epoch of NaN data): drop those epochs or "
                "channels before plotting."
            )
    _check_topomap(info, any((maps < 0).any() for maps in rows), instead)
    rows = _sum_gradiometer_pairs(rows, info)
    if normalize_rows:
        rows = [maps / (np.abs(maps).max() or 1.0) for maps in rows]
    n_columns = len(rows[0])
    label_size = plt.rcParams["axes.labelsize"]
    if row_labels is not None:
        row_labels = [
            _wrap_text(label, _ROW_LABEL_WIDTH, label_size) for label in row_labels
        ]
    if column_labels is not None:
        column_labels = [
            _wrap_text(label, _MAP_SIZE - 0.1, _COLUMN_TITLE_SIZE)
            for label in column_labels
        ]
    # Size the figure around the maps, so that labels add room, not shrink them.
    label_width = (
        0.0
        if row_labels is None
        else max(_text_width(label, label_size) for label in row_labels)
    )
    width = 0.3 + label_width + n_columns * _MAP_SIZE + _COLORBAR_WIDTH
    header = 0.0 if column_labels is None else 0.2 * max(map(_lines, column_labels))
    if title:
        header += 0.25 * _lines(_wrap_text(title, width - 0.2, _TITLE_SIZE))
    footer = 0.0
    if caption:
        footer = 0.2 * _lines(_wrap_text(caption, width - 0.2, _CAPTION_SIZE))
    fig, axes = plt.subplots(
        len(rows),
        n_columns,
        figsize=(width, 0.2 + header + len(rows) * _MAP_SIZE + footer),
        squeeze=False,
        # Constrained layout that closes the gaps fixed-aspect maps leave, and
        # makes room for every label.
        layout="compressed",
    )

    def scale(maps):
        # Signed maps get a symmetric diverging scale so zero stays white.
        limit = float(np.abs(maps).max()) or 1.0
        return ((-limit, limit), "RdBu_r") if (maps < 0).any() else ((0, limit), "Reds")

    if shared:
        vlim, cmap = scale(np.concatenate(rows))
    shrink = min(0.9, _COLORBAR_LENGTH / (len(rows) * _MAP_SIZE)) if shared else 0.8
    # A label longer than its colorbar would run past the figure's edge.
    units = _wrap_text(units, shrink * _MAP_SIZE * (len(rows) if shared else 1))
    for row_index, (maps, row_axes) in enumerate(zip(rows, axes, strict=True)):
        if not shared:
            vlim, cmap = scale(maps)
        for values, ax in zip(maps, row_axes, strict=True):
            image, _ = mne.viz.plot_topomap(
                values, info, axes=ax, vlim=vlim, cmap=cmap, contours=0, show=False
            )
        if not shared:
            fig.colorbar(image, ax=list(row_axes), label=units, shrink=shrink)
        if row_labels is not None:
            row_axes[0].set_ylabel(
                row_labels[row_index], rotation=0, ha="right", va="center"
            )
    if shared:
        fig.colorbar(image, ax=axes.ravel().tolist(), label=units, shrink=shrink)
    if column_labels is not None:
        for ax, label in zip(axes[0], column_labels, strict=True):
            ax.set_title(label, fontsize=_COLUMN_TITLE_SIZE)
    _add_title(fig, title, caption)
    # Compressing the grid moves the column titles after the figure title was
    # placed; a first pass here lets the drawing's own pass place them apart.
    fig.get_layout_engine().execute(fig)
    plt_show(show)
    return fig


def _target_text(target, estimator):
    """Say which class was explained (see :func:`mne_xai.explain`), by name.

    An index (``target=0``) is named by its class, as explain reads it.
    """
    if target is None:
        return "predicted class"
    if isinstance(target, str) and target == "true":
        return "true class"
    if np.ndim(target) != 0:
        return "given classes"
    network = as_network(estimator)
    index = _target_index(network, target, _event_id(network, None))
    return class_text(network.classes_[index], class_names(network)[index])


def _window_text(attribution, tmin, tmax):
    """Say which time window was summed over: its first and last samples, in s.

    The window asked for may reach beyond the epochs (``tmin=0`` on epochs
    from 0.5 s), where nothing is summed.
    """
    times = attribution.times[_time_window(attribution, tmin, tmax)]
    # To the millisecond: samples at 128 Hz fall at -0.203125 s.
    first, last = round(float(times[0]), 3), round(float(times[-1]), 3)
    return f"{first:g}{' to ' if first < 0 else '-'}{last:g} s"


def _check_labels(title, units=None):
    """Refuse a ``title`` or ``units`` that is not text, before any work.

    Either failed only when drawn, as "'int' object has no attribute 'split'"
    (and plot_method_comparison explained every method first).
    """
    _validate_type(title, (None, str), "title")
    if units is not None:
        _validate_type(units, str, "units")


def _check_same_channels(attribution, first, method, first_method):
    """Refuse maps of other channels than the first row's, naming them."""
    if set(attribution.ch_names) != set(first.ch_names):
        missing = sorted(set(first.ch_names) - set(attribution.ch_names))
        extra = sorted(set(attribution.ch_names) - set(first.ch_names))
        differences = [
            f"{what} channels {names}"
            for what, names in (("lack", missing), ("hold the other", extra))
            if names
        ]
        raise ValueError(
            f"Beside those of {first_method}, the maps of {method} "
            f"{' and '.join(differences)}: give maps of the same channels."
        )


def _class_maps(importance):
    """Mean importance per class (event name) of per-epoch importance Epochs."""
    if isinstance(importance, mne.Evoked):
        return [importance.comment or "average"], importance.data[np.newaxis, :, 0]
    # By code, not importance[name]: MNE's tags would give "move" the epochs of
    # "move/fast" too.
    codes = importance.events[:, 2]
    data = importance.get_data()[..., 0]
    present = {
        name: code for name, code in importance.event_id.items() if code in codes
    }
    maps = [data[codes == code].mean(axis=0) for code in present.values()]
    return list(present), np.array(maps)


@plain_text()
@_figures_closed_on_error()
def plot_class_topomaps(
    attribution,
    *,
    absolute=True,
    tmin=None,
    tmax=None,
    ch_type=None,
    units="relevance (a.u.)",
    title=None,
    show=True,
):
    """Plot the channel importance of each class as topomaps on one scale.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked
        Attribution maps from :func:`mne_xai.explain`. Epochs give one map per
        event name (the mean over that class's epochs of the per-epoch
        importance); an Evoked gives one map.
    absolute : bool
        Sum the magnitude of relevance over time (see
        :func:`mne_xai.attribution.channel_importance`); False sums signed
        relevance.
    tmin, tmax : float | None
        Time window summed over, in seconds; None means the epoch's edges.
    ch_type : str | None
        The channel type plotted (one topomap per type, as in MNE); None
        takes the only type, or EEG among several. Each pair of planar
        gradiometers is drawn as the sum of its two channels' values
        (relevance adds up), where MNE draws power's root mean square.
    units : str
        Colorbar label; say what the method's values are (e.g.
        ``"logit"`` for integrated gradients).
    title : str | None
        Figure title; None says what is shown (with the method and target of
        an Evoked from :func:`mne_xai.explain`). A caption below the maps says
        how the importance was computed.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One topomap axes per class, then the colorbar axes.
    """
    _check_labels(title, units)
    importance = channel_importance(
        attribution, absolute=absolute, tmin=tmin, tmax=tmax
    )
    importance.pick(scalp_channel_type(importance, ch_type))
    names, maps = _class_maps(importance)
    evoked = isinstance(attribution, mne.Evoked)
    if title is None and evoked:
        title = "Channel importance" + (
            f" of {attribution.comment}" if attribution.comment else ""
        )
    elif title is None:
        title = "Channel importance per class of epochs"
    summed = "|relevance|" if absolute else "relevance"
    caption = f"{summed} summed over {_window_text(attribution, tmin, tmax)}"
    if not evoked:
        caption += (
            " per epoch, averaged over the epochs of each event (the maps of the "
            "class each epoch was explained for, its target); one colour scale"
        )
    return _plot_topomap_rows(
        [maps],
        importance.info,
        row_labels=None,
        # An Evoked's one map is named in the title.
        column_labels=None if evoked else names,
        units=units,
        shared=True,
        title=title,
        caption=caption + ".",
        show=show,
        instead=_TIME_COURSE,
    )


@plain_text()
@_figures_closed_on_error()
@verbose
@fill_doc
def plot_method_comparison(
    estimator,
    epochs,
    methods,
    *,
    target="true",
    windows=None,
    absolute=True,
    normalize=True,
    ch_type=None,
    batch_size=64,
    random_state=None,
    attributions=None,
    title=None,
    show=True,
    verbose=None,
):
    """Compare attribution methods side by side: rows of topomaps per method.

    Each method is run with :func:`mne_xai.explain` (unless its maps are given
    in ``attributions``); each cell shows the channel importance (relevance
    summed over a time window, averaged over epochs).

    Parameters
    ----------
    estimator : EEGNetClassifier | InterpretableCNNClassifier
        A fitted estimator.
    epochs : mne.Epochs
        The data to explain (with a montage).
    methods : list of str
        The methods, one row each (see :func:`mne_xai.list_methods`), each
        run with its default parameters (occlusion in ``mode="channel"``,
        saliency as ``|gradient|``): the function takes none. Maps of other
        parameters are shown from ``attributions``.
    %(target)s
        The default explains each epoch's own class.
    windows : list of tuple of float | None
        Columns: None gives one column per class (event name) over the whole
        epoch; a list of ``(tmin, tmax)`` windows in seconds gives one column
        per window, over all epochs.
    absolute : bool
        Sum the magnitude of relevance; False sums signed relevance.
    normalize : bool
        Divide each row by its largest absolute value, so methods with
        different units (gradients in logit per volt, relevance in logit)
        share one colour scale and one colorbar; the columns of a row share
        the divisor, so they compare as before. The caption of the figure
        says so. False keeps the true values, each row with its own colour
        scale and colorbar.
    ch_type : str | None
        The channel type plotted; None takes the only type, or EEG among
        several. Each pair of planar gradiometers is drawn as the sum of its
        two channels' values, as in :func:`plot_class_topomaps`.
    batch_size : int
        Number of epochs explained at once.
    %(random_state_type)s
        Seed of stochastic methods.
    attributions : dict of str -> mne.Epochs | None
        Maps already returned by :func:`mne_xai.explain` for ``epochs``
        (``average=False``), by method name: these methods are shown from them
        instead of being explained again; ``target`` and ``random_state`` do
        not apply to them.
    title : str | None
        Figure title; None says what is compared.
    show : bool
        Show the figure.
    verbose : bool | str | int | None
        Control verbosity of the logging output (progress over batches); None
        uses MNE's level.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``len(methods) * n_columns`` topomap axes, then one colorbar (one per
        row with ``normalize=False``).
    """
    _validate_type(epochs, mne.BaseEpochs, "epochs")
    _validate_type(methods, (list, tuple), "methods", "list of method names")
    if not methods:
        raise ValueError("methods is empty; give at least one method name.")
    # A string such as "False" is true: it normalized the rows it meant to keep.
    _validate_type(normalize, bool, "normalize")
    _check_labels(title)
    if windows is not None:
        _validate_type(windows, (list, tuple), "windows", "list of (tmin, tmax)")
        if not windows:
            raise ValueError(
                "windows is empty; give at least one (tmin, tmax), or None for "
                "the whole epoch."
            )
        for window in windows:
            if np.shape(window) != (2,):
                raise ValueError(
                    "windows must be a list of (tmin, tmax) pairs in seconds, e.g. "
                    f"[(0.5, 1.0)]; got {windows!r}."
                )
    attributions = {} if attributions is None else attributions
    _validate_type(attributions, dict, "attributions", "dict of method -> Epochs")
    # Maps of a method not compared were left out of the figure without a word.
    unused = [method for method in attributions if method not in methods]
    if unused:
        raise ValueError(
            f"attributions holds maps of {unused}, which methods ({list(methods)}) "
            "does not compare; add them to methods, or leave them out."
        )
    for method, given in attributions.items():
        _validate_type(given, mne.BaseEpochs, f"attributions[{method!r}]")
        if len(given) != len(epochs):
            raise ValueError(
                f"attributions[{method!r}] holds {len(given)} epochs, epochs "
                f"{len(epochs)}: give the maps explain returned for these epochs."
            )
    rows, first = [], None
    for method in methods:
        if method in attributions:
            attribution = attributions[method].copy()
        else:
            attribution = explain(
                estimator,
                epochs,
                method,
                target=target,
                batch_size=batch_size,
                random_state=random_state,
            )
        attribution.pick(scalp_channel_type(attribution, ch_type))
        if rows:
            # Every row is drawn on the first row's sensors and under its
            # columns: maps given in another channel or class order were drawn
            # on the wrong sensors (C3's relevance at CP2), or under the other
            # class.
            _check_same_channels(attribution, first, method, methods[0])
            attribution.reorder_channels(first.ch_names)
        else:
            first = attribution
        if windows is None:
            labels, maps = _class_maps(
                channel_importance(attribution, absolute=absolute)
            )
            if not rows:
                column_labels = labels
            elif set(labels) != set(column_labels):
                raise ValueError(
                    f"The maps of {method} hold the classes {labels}, those of "
                    f"{methods[0]} {column_labels}: give maps of the same epochs."
                )
            maps = maps[[labels.index(label) for label in column_labels]]
        else:
            column_labels = [
                _window_text(attribution, tmin, tmax) for tmin, tmax in windows
            ]
            maps = _window_maps(attribution, windows, absolute)
        rows.append(maps)
    units, caption = _comparison_units_and_caption(absolute, windows, normalize)
    if title is None:
        given = [method for method in methods if method in attributions]
        explained = (
            "maps given"
            if len(given) == len(methods)
            else _target_text(target, estimator)
            + (f"; {', '.join(given)} as given" if given else "")
        )
        title = f"Channel importance by method ({explained})"
    return _plot_topomap_rows(
        rows,
        first.info,
        row_labels=list(methods),
        column_labels=column_labels,
        units=units,
        shared=normalize,
        title=title,
        caption=caption,
        show=show,
        instead=_TIME_COURSE,
        normalize_rows=normalize,
    )


def _window_maps(attribution, windows, absolute):
    """Return the channel importance in each window, averaged over the epochs."""
    return np.array(
        [
            channel_importance(attribution, absolute=absolute, tmin=tmin, tmax=tmax)
            .get_data()[..., 0]
            .mean(axis=0)
            for tmin, tmax in windows
        ]
    )


def _comparison_units_and_caption(absolute, windows, normalize):
    """Return the colour bar's units and the caption of plot_method_comparison."""
    summed = "|relevance|" if absolute else "relevance"
    caption = f"Each map: {summed} summed over " + (
        "time, averaged over the class's epochs."
        if windows is None
        else "the window, averaged over the epochs."
    )
    if normalize:
        return "fraction of the method's maximum", caption + (
            " Each method's maps are divided by their largest magnitude, so "
            "methods in different units share one colour scale."
        )
    return (
        "relevance (method's unit)",
        caption + " Each method on its own scale, in its own unit.",
    )


def _largest_peaks(evoked, n_peaks=3):
    """Return the times of the highest peaks of the sum of magnitudes over channels.

    Distinct humps only: every wobble of sample noise is a peak, and three of
    them on one hump gave three copies of one map where another hump went
    unshown. A peak rises ``_PEAK_PROMINENCE`` of the sum's range above the
    dips parting it from higher ones, and lies MNE's spacing of peaks (a
    thirtieth of the epoch) from the next.
    """
    total = evoked.data.sum(axis=0)
    peaks, _ = find_peaks(
        total,
        prominence=_PEAK_PROMINENCE * np.ptp(total),
        distance=max(1, len(total) // 30),
    )
    if len(peaks) == 0:  # monotonic: its largest value, at one end
        peaks = np.array([total.argmax()])
    highest = peaks[np.argsort(total[peaks])[::-1][:n_peaks]]
    return evoked.times[np.sort(highest)]


@plain_text()
@_figures_closed_on_error()
def plot_attribution_joint(
    evoked,
    *,
    times="peaks",
    ch_type=None,
    units="relevance (a.u.)",
    title=None,
    show=True,
):
    """Plot an averaged attribution as butterfly plus topomaps, unscaled.

    Parameters
    ----------
    evoked : mne.Evoked
        Averaged attribution (``mne_xai.explain(..., average=True)`` or
        ``attribution["feet"].average()``). Channels in ``info["bads"]`` are
        shown too, since the network read them. Signed maps of planar
        gradiometers are refused: MNE's joint plot draws each pair as the root
        mean square of its two channels, a positive magnitude (where
        :func:`plot_class_topomaps` draws their sum).
    times : "peaks" | float | list of float
        Times of the topomaps (see :meth:`mne.Evoked.plot_joint`). ``"peaks"``
        of magnitudes (no negative value) are the (up to) three highest
        peaks of their sum over channels, where relevance is largest, each
        rising a tenth of the sum's range above the dips around it (wobbles of
        noise on one peak are not peaks); MNE's peaks of the spread across
        channels fell where maps hold 5 percent of theirs.
    ch_type : str | None
        The channel type plotted (a network may read EOG beside EEG; MNE's
        joint plot shows one type). None plots the only type, or EEG among
        several.
    units : str
        Label of the values (e.g. ``"logit"``).
    title : str | None
        Figure title; None uses the Evoked's comment.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The joint plot; its colorbar is labelled with ``units``.
    """
    if isinstance(evoked, mne.BaseEpochs):
        raise TypeError(
            "plot_attribution_joint plots an average of maps: give "
            "attribution.average() (or explain(..., average=True)), or "
            "attribution[name].average() for one class."
        )
    _validate_type(evoked, mne.Evoked, "evoked")
    _check_labels(title, units)
    evoked = one_channel_type(evoked, ch_type)
    signed = evoked.data.min() < 0
    _check_topomap(evoked.info, signed, _TIME_COURSE)
    # MNE's joint plot leaves bad channels out, yet the network read them and
    # the colour scale below counts them: show them, as the other maps here do.
    evoked.info["bads"] = []
    channel_types = set(evoked.get_channel_types())
    title = evoked.comment if title is None else title
    topomap_args = dict(scalings={t: 1 for t in channel_types}, units=units)
    if not signed and isinstance(times, str) and times == "peaks":
        times = _largest_peaks(evoked)
    elif not isinstance(times, str):
        # matplotlib refused an empty list: "Number of columns must be a
        # positive integer, not 0".
        if not np.size(times):
            raise ValueError('times is empty; give at least one time, or "peaks".')
        outside = [
            float(t)
            for t in np.atleast_1d(times)
            if not evoked.tmin <= t <= evoked.tmax
        ]
        if outside:  # MNE's message spoke of a tmax of None
            raise ValueError(
                f"times {outside} lie outside the maps ({evoked.tmin:g} to "
                f"{evoked.tmax:g} s)."
            )
    if not signed:
        # Magnitudes have no sign: a one-sided scale from zero, not a
        # diverging one centred on values the data never take.
        topomap_args.update(cmap="Reds", vlim=(0, evoked.data.max()))
    fig = evoked.plot_joint(
        times=times,
        # MNE's title would not wrap; ours is set below, fitted to the figure.
        title=None,
        ts_args=dict(
            scalings={t: 1 for t in channel_types},
            units={t: units for t in channel_types},
        ),
        topomap_args=topomap_args,
        show=False,
    )
    parse_mne_mathtext(fig)
    # MNE leaves its colorbar unlabelled; the values are in ``units`` too.
    (colorbar,) = {
        image.colorbar
        for ax in fig.axes
        for image in ax.images
        if image.colorbar is not None
    }
    # MNE sizes its colorbar for a scale symmetric about zero; follow the maps'.
    colorbar.update_normal(colorbar.mappable)
    # MNE ticks every contour level, which crowds a colorbar this short.
    colorbar.locator = MaxNLocator(nbins=4)
    colorbar.update_ticks()
    _add_title(fig, title)
    # The label wraps to the colorbar's length, known once the layout ran and
    # the bar took its aspect. It is small: at the medium size, "|relevance|"
    # is longer than the bar, and above the bar it runs into the topomaps.
    fig.get_layout_engine().execute(fig)
    colorbar.ax.apply_aspect()
    length = colorbar.ax.get_position().height * fig.get_figheight()
    longest_word = max(_text_width(word, "small") for word in units.split())
    if longest_word <= length:
        colorbar.set_label(_wrap_text(units, length, "small"), fontsize="small")
    else:
        colorbar.ax.set_title(units, fontsize="small", loc="right")
    plt_show(show)
    return fig


@plain_text()
@_figures_closed_on_error()
def plot_band_topomaps(
    spectrum,
    bands=None,
    *,
    absolute=False,
    ch_type=None,
    units="relevance (a.u.)",
    title=None,
    show=True,
):
    """Plot the relevance of frequency bands as topomaps, in the true unit.

    :meth:`mne.time_frequency.Spectrum.plot_topomap` assumes power in V²/Hz
    and scales EEG by 1e12; this plots the relevance of
    :func:`mne_xai.attribution.explain_spectrum` as it is, summed over each band's
    frequencies (the band's share of the decision).

    Parameters
    ----------
    spectrum : mne.time_frequency.Spectrum | mne.time_frequency.EpochsSpectrum
        Frequency-resolved relevance; epochs are averaged.
    bands : dict | None
        Band name to ``(fmin, fmax)`` in Hz, both included, except a bin on an
        edge two bands share, which counts in the higher band only (so that
        the bands add up); None uses those of theta, alpha/mu and beta that
        the spectrum reaches (all its frequencies, as one band, if it reaches
        none of them). A band reaching past the spectrum is summed over
        the frequencies it holds, which its label gives.
    absolute : bool
        Take the magnitude of each epoch's band relevance (summed over the
        band's frequencies) before averaging, so that relevance of opposite
        signs in different epochs does not cancel (of an averaged Spectrum,
        the magnitude of its band relevance).
    ch_type : str | None
        The channel type plotted; None takes the only type, or EEG among
        several.
    units : str
        Colorbar label.
    title : str | None
        Figure title; None says what is shown. A caption below the maps says
        how the bands were summed.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One topomap axes per band, then the colorbar axes.
    """
    _validate_type(
        spectrum, (Spectrum, EpochsSpectrum), "spectrum", "Spectrum or EpochsSpectrum"
    )
    _validate_type(bands, (dict, None), "bands", "dict of name: (fmin, fmax)")
    if bands is not None and not bands:  # "max() arg is an empty sequence"
        raise ValueError(
            "bands is empty; give at least one name: (fmin, fmax), or None for "
            "theta, alpha/mu and beta."
        )
    for name, edges in (bands or {}).items():
        if np.shape(edges) != (2,) or not np.issubdtype(
            np.asarray(edges).dtype, np.number
        ):
            raise TypeError(
                f"bands[{name!r}] must be (fmin, fmax) in Hz, got {edges!r}."
            )
    _validate_type(absolute, bool, "absolute")
    _check_labels(title, units)
    spectrum = spectrum.copy().pick(scalp_channel_type(spectrum, ch_type))
    # Bad channels too: the network read them, and the info keeps them.
    relevance, freqs = spectrum.get_data(exclude=(), return_freqs=True)
    if bands is None:
        bands = _bands_reached(freqs)
    # A bin on an edge two bands share (8 Hz: theta 4-8, alpha 8-13) counts in
    # the higher band only, so that the bands' relevance adds up. A band's own
    # lower edge is no other band's (a band of one bin, 10-10 Hz, held none).
    maps, labels = [], []
    for name, (fmin, fmax) in bands.items():
        shared = any(low == fmax for other, (low, _) in bands.items() if other != name)
        upper = freqs < fmax if shared else freqs <= fmax
        in_band = (freqs >= fmin) & upper
        if not in_band.any():
            raise ValueError(
                f"Band {name!r} ({fmin}-{fmax} Hz) holds no frequency; the spectrum "
                f"has a bin every {freqs[1] - freqs[0]:g} Hz from {freqs[0]:g} to "
                f"{freqs[-1]:g} Hz."
            )
        # A band reaching past the spectrum is summed over the part it holds,
        # which its label says.
        summed = freqs[in_band][[0, -1]]
        past_spectrum = fmin < freqs[0] or fmax > freqs[-1]
        labels.append(
            f"{name} ({summed[0]:g}-{summed[1]:g} Hz)" if past_spectrum else name
        )
        # The band's relevance, then its magnitude: bins of opposite signs
        # within a band make up its share of the decision together.
        band = relevance[..., in_band].sum(axis=-1)
        band = np.abs(band) if absolute else band
        maps.append(band.mean(axis=0) if isinstance(spectrum, EpochsSpectrum) else band)
    caption = "Each map: relevance summed over the band's frequencies"
    if isinstance(spectrum, EpochsSpectrum):
        caption += (", magnitude" if absolute else "") + ", averaged over epochs"
    elif absolute:
        caption += ", magnitude of the average given"
    return _plot_topomap_rows(
        [np.array(maps)],
        spectrum.info,
        row_labels=None,
        column_labels=labels,
        units=units,
        shared=True,
        title="Relevance per frequency band" if title is None else title,
        caption=caption + "; one colour scale.",
        show=show,
        # Spectrum.plot would scale relevance as power (V²/Hz to µV²/Hz).
        instead=(
            "Plot the relevance against frequency instead, unscaled: "
            "spectrum.get_data(return_freqs=True) returns it with its frequencies."
        ),
    )
