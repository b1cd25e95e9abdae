"""Figures of attribution maps, in the unit the methods return.

Attribution values carry their method's true unit (logit, or logit per volt
for gradients), which MNE's plotting functions would rescale as if they were
volts. These helpers plot with ``scalings=1`` and a unit label, as MNE's
``SpatialFilter.plot_patterns`` does for patterns.
"""

import matplotlib.pyplot as plt
import mne
import numpy as np
from mne.time_frequency import EpochsSpectrum, Spectrum
from mne.utils import _validate_type, verbose

from .attribution import explain
from .attribution.postprocess import channel_importance

_DEFAULT_BANDS = {
    "theta (4-8 Hz)": (4.0, 8.0),
    "alpha/mu (8-13 Hz)": (8.0, 13.0),
    "beta (13-30 Hz)": (13.0, 30.0),
}


def _plot_topomap_rows(rows, info, *, row_labels, column_labels, units, show):
    """Draw topomaps in a grid, with one colour scale and colorbar per row.

    Parameters
    ----------
    rows : list of ndarray, shape (n_columns, n_channels)
        The maps of each row.
    info : mne.Info
        Channels of the maps, with positions.
    row_labels, column_labels : list of str | None
        Written left of each row and above each column of the first row.
    units : str
        Colorbar label.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``n_rows * n_columns`` topomap axes, then one colorbar axes per row.
    """
    n_columns = len(rows[0])
    fig, axes = plt.subplots(
        len(rows),
        n_columns,
        figsize=(0.8 + 2.2 * n_columns, 2.2 * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    for row_index, (maps, row_axes) in enumerate(zip(rows, axes, strict=True)):
        # A signed row gets a symmetric diverging scale so zero stays white.
        limit = float(np.abs(maps).max()) or 1.0
        signed = bool((maps < 0).any())
        vlim, cmap = ((-limit, limit), "RdBu_r") if signed else ((0, limit), "Reds")
        for values, ax in zip(maps, row_axes, strict=True):
            image, _ = mne.viz.plot_topomap(
                values, info, axes=ax, vlim=vlim, cmap=cmap, contours=0, show=False
            )
        fig.colorbar(image, ax=list(row_axes), label=units, shrink=0.8)
        if row_labels is not None:
            row_axes[0].text(
                -0.1,
                0.5,
                row_labels[row_index],
                transform=row_axes[0].transAxes,
                rotation=90,
                ha="right",
                va="center",
            )
    if column_labels is not None:
        for ax, label in zip(axes[0], column_labels, strict=True):
            ax.set_title(label)
    if show:
        plt.show()
    return fig


def _class_maps(importance):
    """Mean importance per class (event name) of per-epoch importance Epochs."""
    if isinstance(importance, mne.Evoked):
        return [importance.comment or "average"], importance.data[np.newaxis, :, 0]
    names = [name for name in importance.event_id if len(importance[name])]
    maps = [importance[name].get_data()[..., 0].mean(axis=0) for name in names]
    return names, np.array(maps)


def plot_class_topomaps(
    attribution,
    *,
    absolute=True,
    tmin=None,
    tmax=None,
    ch_type="eeg",
    units="relevance (a.u.)",
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
    ch_type : str
        The channel type plotted (one topomap per type, as in MNE).
    units : str
        Colorbar label; say what the method's values are (e.g.
        ``"logit"`` for integrated gradients).
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One topomap axes per class, then the colorbar axes.
    """
    importance = channel_importance(
        attribution, absolute=absolute, tmin=tmin, tmax=tmax
    ).pick(ch_type)
    names, maps = _class_maps(importance)
    return _plot_topomap_rows(
        [maps],
        importance.info,
        row_labels=None,
        column_labels=names,
        units=units,
        show=show,
    )


@verbose
def plot_method_comparison(
    estimator,
    epochs,
    methods,
    *,
    target="true",
    windows=None,
    absolute=True,
    normalize=True,
    ch_type="eeg",
    batch_size=64,
    random_state=None,
    show=True,
    verbose=None,
):
    """Compare attribution methods side by side: rows of topomaps per method.

    Each method is run with :func:`mne_xai.explain`; each cell shows the
    channel importance (relevance summed over a time window, averaged over
    epochs).

    Parameters
    ----------
    estimator : EEGNetClassifier | InterpretableCNNClassifier
        A fitted estimator.
    epochs : mne.Epochs
        The data to explain (with a montage).
    methods : list of str
        The methods, one row each (see :func:`mne_xai.list_methods`).
    target : None | "true" | int | str
        The class explained (see :func:`mne_xai.explain`); the default
        explains each epoch's own class.
    windows : list of tuple of float | None
        Columns: None gives one column per class (event name) over the whole
        epoch; a list of ``(tmin, tmax)`` windows in seconds gives one column
        per window, over all epochs.
    absolute : bool
        Sum the magnitude of relevance; False sums signed relevance.
    normalize : bool
        Divide each row by its largest absolute value, so methods with
        different units (gradients in logit per volt, relevance in logit)
        share one colour scale. False keeps the true values, each row with its
        own colour scale.
    ch_type : str
        The channel type plotted.
    batch_size : int
        Number of epochs explained at once.
    random_state : int | None
        Seed of stochastic methods.
    show : bool
        Show the figure.
    verbose : bool | str | int | None
        Control verbosity of the logging output (progress over batches); None
        uses MNE's level.

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``len(methods) * n_columns`` topomap axes, then one colorbar per row.
    """
    _validate_type(epochs, mne.BaseEpochs, "epochs")
    _validate_type(methods, (list, tuple), "methods", "list of method names")
    if not methods:
        raise ValueError("methods is empty; give at least one method name.")
    if windows is not None:
        _validate_type(windows, (list, tuple), "windows", "list of (tmin, tmax)")
    rows = []
    for method in methods:
        attribution = explain(
            estimator,
            epochs,
            method,
            target=target,
            batch_size=batch_size,
            random_state=random_state,
        ).pick(ch_type)
        if windows is None:
            column_labels, maps = _class_maps(
                channel_importance(attribution, absolute=absolute)
            )
        else:
            column_labels = [f"{tmin:g}-{tmax:g} s" for tmin, tmax in windows]
            maps = np.array(
                [
                    channel_importance(
                        attribution, absolute=absolute, tmin=tmin, tmax=tmax
                    )
                    .get_data()[..., 0]
                    .mean(axis=0)
                    for tmin, tmax in windows
                ]
            )
        if normalize:
            maps = maps / (np.abs(maps).max() or 1.0)
        rows.append(maps)
    units = "relative importance" if normalize else "relevance (method's unit)"
    return _plot_topomap_rows(
        rows,
        attribution.info,
        row_labels=list(methods),
        column_labels=column_labels,
        units=units,
        show=show,
    )


def plot_attribution_joint(
    evoked, *, times="peaks", units="relevance (a.u.)", title=None, show=True
):
    """Plot an averaged attribution as butterfly plus topomaps, unscaled.

    Parameters
    ----------
    evoked : mne.Evoked
        Averaged attribution (``mne_xai.explain(..., average=True)`` or
        ``attribution["feet"].average()``).
    times : "peaks" | float | list of float
        Times of the topomaps (see :meth:`mne.Evoked.plot_joint`).
    units : str
        Label of the values (e.g. ``"logit"``).
    title : str | None
        Figure title; None uses the Evoked's comment.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The joint plot.
    """
    _validate_type(evoked, mne.Evoked, "evoked")
    channel_types = set(evoked.get_channel_types())
    return evoked.plot_joint(
        times=times,
        title=evoked.comment if title is None else title,
        ts_args=dict(
            scalings={t: 1 for t in channel_types},
            units={t: units for t in channel_types},
        ),
        topomap_args=dict(scalings={t: 1 for t in channel_types}, units=units),
        show=show,
    )


def plot_band_topomaps(
    spectrum,
    bands=None,
    *,
    absolute=False,
    ch_type="eeg",
    units="relevance (a.u.)",
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
        Band name to ``(fmin, fmax)`` in Hz, both included; None uses theta,
        alpha/mu and beta.
    absolute : bool
        Take the magnitude of each epoch's relevance before averaging, so that
        relevance of opposite signs in different epochs does not cancel.
    ch_type : str
        The channel type plotted.
    units : str
        Colorbar label.
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
    bands = _DEFAULT_BANDS if bands is None else bands
    _validate_type(bands, dict, "bands", "dict of name: (fmin, fmax)")
    _validate_type(absolute, bool, "absolute")
    spectrum = spectrum.copy().pick(ch_type)
    relevance, freqs = spectrum.get_data(return_freqs=True)
    if absolute:
        relevance = np.abs(relevance)
    if isinstance(spectrum, EpochsSpectrum):
        relevance = relevance.mean(axis=0)
    maps = []
    for name, (fmin, fmax) in bands.items():
        in_band = (freqs >= fmin) & (freqs <= fmax)
        if not in_band.any():
            raise ValueError(
                f"Band {name!r} ({fmin}-{fmax} Hz) holds no frequency; the spectrum "
                f"has a bin every {freqs[1] - freqs[0]:g} Hz from 0 to {freqs[-1]:g}."
            )
        maps.append(relevance[:, in_band].sum(axis=1))
    return _plot_topomap_rows(
        [np.array(maps)],
        spectrum.info,
        row_labels=None,
        column_labels=list(bands),
        units=units,
        show=show,
    )
