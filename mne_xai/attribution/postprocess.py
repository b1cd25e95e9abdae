"""Post-processing of attribution maps: normalization, thresholding, aggregation.

Every function takes what :func:`mne_xai.explain` returns (an
:class:`mne.EpochsArray` of per-epoch maps or an :class:`mne.EvokedArray` of
their average) and returns an MNE object of the same kind with the same info,
events, event_id and metadata, so the result plots and indexes like the input.
The steps follow the presentation procedure of Cui et al.
:footcite:`CuiEtAl2023`: normalize each map, keep its most relevant part,
smooth it over time, and summarize it over time (which channels matter) or over
channels (when they matter). :func:`modality_importance` summarizes relevance
per channel type for multimodal recordings :footcite:`EllisEtAl2021`.

References
----------
.. footbibliography::
"""

import mne
import numpy as np
from mne.defaults import DEFAULTS
from mne.io.pick import _picks_to_idx
from mne.utils import _check_option, _time_mask, _validate_type
from scipy.ndimage import uniform_filter1d

from .._outputs import epochs_array, evoked_array, trials_of
from .._warnings import quietly, warn
from ._core import recorded_per_input_unit
from ._registry import get_method, list_methods

_ATTRIBUTION_TYPES = (mne.BaseEpochs, mne.Evoked)
_ATTRIBUTION_DESCRIPTION = "Epochs or Evoked (e.g. from mne_xai.explain)"
_ONE_TYPE_AT_A_TIME = (
    " For such maps, process one channel type at a time, e.g. "
    "attribution.copy().pick('eeg')."
)


def _check_attribution(attribution):
    _validate_type(
        attribution, _ATTRIBUTION_TYPES, "attribution", _ATTRIBUTION_DESCRIPTION
    )
    if isinstance(attribution, mne.BaseEpochs) and not attribution.preload:
        raise ValueError(
            "attribution Epochs must be preloaded; call attribution.load_data()."
        )


def _transformed(attribution, transform):
    """Copy of ``attribution`` whose maps went through ``transform``.

    ``transform`` maps an array shaped ``(..., n_channels, n_times)`` (one map
    per epoch, or the single map of an Evoked) to an array of the same shape.
    """
    # Maps of every channel go through: apply_function's default picks would
    # leave out the channels that are not data (stimulus, misc).
    return attribution.copy().apply_function(
        transform, picks="all", channel_wise=False, verbose=quietly()
    )


def _per_map_zscore(data):
    """Z-score each (channels x times) map; constant maps become zeros."""
    mean = data.mean(axis=(-2, -1), keepdims=True)
    std = data.std(axis=(-2, -1), keepdims=True)
    # Not std == 0: the rounding of the mean leaves most constant maps a
    # standard deviation of about 1e-17 of their value, which z-scored them
    # to ones.
    peak_to_peak = np.ptp(data, axis=(-2, -1), keepdims=True)
    constant = peak_to_peak == 0
    if constant.any():
        warn(
            f"{int(constant.sum())} attribution map(s) are constant; their z-scores "
            "are undefined and set to zero."
        )
    return np.divide(data - mean, std, out=np.zeros_like(data), where=~constant)


def zscore_attribution(attribution):
    """Z-score each attribution map over its channels and times.

    Methods and epochs differ in scale by orders of magnitude (a gradient is in
    logit per volt, integrated gradients in logit); z-scoring each epoch's map
    makes them comparable before averaging, thresholding or plotting
    :footcite:`CuiEtAl2023`.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked
        Attribution maps, e.g. from :func:`mne_xai.explain`.

    Returns
    -------
    zscored : mne.Epochs | mne.Evoked
        A copy in which each epoch's map (or the Evoked's map) has zero mean and
        unit standard deviation over all its channels and times. Constant maps
        (e.g. a dead network's gradient) become zeros, with a warning.

    Notes
    -----
    For channels of several types (MEG and EEG, or EEG and EOG, which
    mne_xai's estimators scale apart), the mean and standard deviation pool
    maps in logits (gradient x input, integrated gradients,
    DeepLIFT, LRP, ...); a map per unit of input (saliency: logit per volt on
    EEG, per tesla on magnetometers) gets a warning, as the channels of the
    larger unit or scale would set its scale.

    Every sample of a map counts, also those a network never reads: the
    samples outside ``tmin`` to ``tmax`` of a
    :class:`~mne_xai.CroppedClassifier`, or between its windows, are 0 in the
    maps of :func:`mne_xai.explain`, and maps do not say which they are. Their
    zeros enter the mean and standard deviation (two gaps of 5 samples in 160
    moved the z-scores of the samples read by up to 0.18); crop the maps to
    ``tmin``, ``tmax`` first (``attribution.copy().crop(tmin, tmax)``).
    :func:`mne_xai.evaluate.deletion_test`, which knows the network, z-scores
    the samples read alone.

    References
    ----------
    .. footbibliography::
    """
    _check_attribution(attribution)
    _warn_if_units_differ(
        attribution.info,
        "z-scoring each map over all its channels",
        remedy=_ONE_TYPE_AT_A_TIME,
    )
    return _transformed(attribution, _per_map_zscore)


def threshold_attribution(attribution, *, fraction=None, z=None):
    """Keep the most relevant samples of each map and zero the rest.

    Give exactly one criterion. Relevance is ranked by magnitude, so strong
    negative evidence survives as well as strong positive evidence.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    fraction : float | None
        Keep this fraction (in (0, 1]) of each map's samples, those with the
        largest absolute relevance; e.g. 0.1 keeps the top 10 %. Of samples
        tied at the cut, the first ones (channel by channel, each in time
        order) are kept, the same on every machine.
    z : float | None
        Keep the samples whose absolute z-score within their map (see
        :func:`zscore_attribution`) is at least ``z``; e.g. 2.0.

    Returns
    -------
    thresholded : mne.Epochs | mne.Evoked
        A copy holding the kept samples with their original values and zeros
        elsewhere.

    Notes
    -----
    Samples are ranked over all the channels of a map. For channels of several
    types (MEG and EEG, or EEG and EOG, which mne_xai's estimators scale
    apart), that holds for maps in logits; a map per unit of input (saliency)
    gets a warning, as the channels of one unit or scale would be kept before
    any of another.

    Every sample of a map counts, also the zeros of the samples a
    :class:`~mne_xai.CroppedClassifier` never reads (see
    :func:`zscore_attribution`): ``fraction`` is of all samples, and ``z`` of
    the z-scores over all samples. Crop the maps to the classifier's ``tmin``,
    ``tmax`` first to leave out the samples outside its windows.
    """
    _check_attribution(attribution)
    if (fraction is None) == (z is None):
        raise ValueError(
            "Give exactly one of fraction (e.g. 0.1 keeps the top 10 %) or z "
            f"(e.g. 2.0); got fraction={fraction!r}, z={z!r}."
        )
    if fraction is not None:
        _validate_type(fraction, "numeric", "fraction")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
    else:
        _validate_type(z, "numeric", "z")
        if z < 0:
            raise ValueError(f"z must be non-negative, got {z}.")
    _warn_if_units_differ(
        attribution.info,
        "ranking each map's samples over all its channels",
        remedy=_ONE_TYPE_AT_A_TIME,
    )

    def keep_most_relevant(data):
        if z is not None:
            keep = np.abs(_per_map_zscore(data)) >= z
        else:
            # Rank inside each map, so exactly ceil(fraction * size) samples stay
            # even when many values tie (zeros of a ReLU network, for example).
            flat = np.abs(data).reshape(*data.shape[:-2], -1)
            n_keep = int(np.ceil(fraction * flat.shape[-1]))
            ranks = np.argsort(np.argsort(-flat, axis=-1, kind="stable"), axis=-1)
            keep = (ranks < n_keep).reshape(data.shape)
        return np.where(keep, data, 0.0)

    return _transformed(attribution, keep_most_relevant)


def smooth_attribution(attribution, window=0.05):
    """Smooth attribution maps over time with a centred moving average.

    Gradients of convolutional networks oscillate from sample to sample
    (checkerboard artefacts of strided layers); averaging over a short window
    shows when relevance occurs rather than its fine structure
    :footcite:`CuiEtAl2023`.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    window : float
        Width of the moving average in seconds. It is rounded to the nearest
        odd number of samples (up on a tie) so the window is centred on each
        sample; a window under two samples leaves the maps unchanged.

    Returns
    -------
    smoothed : mne.Epochs | mne.Evoked
        A copy smoothed along time, channel by channel. Edges are padded with
        the edge value.

    Notes
    -----
    The maps are smoothed as one run of samples. Maps of a
    :class:`~mne_xai.CroppedClassifier` whose windows leave samples unread
    are 0 there (see :func:`mne_xai.explain`), and smoothing spreads the
    relevance of the samples beside them into them, up to half the window.

    References
    ----------
    .. footbibliography::
    """
    _check_attribution(attribution)
    _validate_type(window, "numeric", "window")
    duration = len(attribution.times) / attribution.info["sfreq"]
    if not 0 < window <= duration:
        raise ValueError(
            f"window must be positive and at most the epoch duration ({duration:g} "
            f"s), got {window} s."
        )
    n_samples = _odd_samples(window, attribution.info["sfreq"])
    return _transformed(
        attribution,
        lambda data: uniform_filter1d(data, n_samples, axis=-1, mode="nearest"),
    )


def _odd_samples(duration, sfreq):
    """Return the odd number of samples nearest ``duration`` seconds, up on a tie.

    A centred moving average spans an odd number of samples. round() takes
    halves to even (3 samples became 5), so the length is halved and floored;
    it is first rounded past float error (0.58 s at 100 Hz is 57.99...).
    """
    length = round(duration * sfreq, 9)
    return 2 * int(np.floor(length / 2)) + 1


def _time_window(attribution, tmin, tmax):
    """Boolean mask of the samples in [tmin, tmax] (clear error when empty)."""
    times = attribution.times
    # MNE's own mask, so the window holds the samples that crop() would keep.
    mask = _time_mask(
        times, tmin, tmax, sfreq=attribution.info["sfreq"], raise_error=False
    )
    if not mask.any():
        raise ValueError(
            f"No samples between tmin={tmin} and tmax={tmax} s; the attribution "
            f"spans {times[0]:g} to {times[-1]:g} s."
        )
    return mask


def _like(attribution, data, info, tmin):
    """Build an Epochs or Evoked like ``attribution`` (trials, nave) from data."""
    if isinstance(attribution, mne.Evoked):
        return evoked_array(
            data, info, tmin, comment=attribution.comment, nave=attribution.nave
        )
    return epochs_array(data, info, tmin, **trials_of(attribution))


def channel_importance(attribution, *, absolute=True, tmin=None, tmax=None):
    """Sum relevance over time: the importance of each channel.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    absolute : bool
        Sum the magnitude of relevance (how much a channel matters, whatever
        the direction). With False, sum the signed relevance (net evidence for
        the explained class), which can cancel out over time.
    tmin, tmax : float | None
        The time window to sum over, in seconds; None means the edge of the
        epoch.

    Returns
    -------
    importance : mne.EpochsArray | mne.EvokedArray
        One time sample per epoch (at the window's middle sample) holding each
        channel's importance, with the input's info, events and metadata, so
        ``importance.average().plot_topomap(times=importance.times,
        scalings=1)`` draws the map.

    Notes
    -----
    For Epochs the importance is computed per epoch; averaging it afterwards
    (``importance["feet"].average()``) gives the mean per-epoch importance,
    which differs from the importance of the averaged map
    (``channel_importance(attribution["feet"].average())``) when relevance
    changes sign between epochs.
    """
    _check_attribution(attribution)
    _validate_type(absolute, bool, "absolute")
    window = _time_window(attribution, tmin, tmax)
    data = attribution.get_data()[..., window]
    summed = (np.abs(data) if absolute else data).sum(axis=-1, keepdims=True)
    # MNE puts samples on its time grid, so stamp the window's middle sample.
    middle = attribution.times[window][window.sum() // 2]
    return _like(attribution, summed, attribution.info, tmin=middle)


def time_importance(attribution, *, absolute=True, picks=None):
    """Sum relevance over channels: the importance of each time sample.

    Parameters
    ----------
    attribution : mne.Epochs | mne.Evoked
        Attribution maps, e.g. from :func:`mne_xai.explain`.
    absolute : bool
        Sum the magnitude of relevance; with False, sum the signed relevance.
    picks : str | list | slice | None
        Channels to sum over (MNE picks: names, indices or types such as
        ``"eeg"``); None means all channels. Channels marked bad are included:
        the network read them.

    Returns
    -------
    importance : mne.EpochsArray | mne.EvokedArray
        A single ``misc`` channel named ``"importance"`` holding the time
        course, with the input's times, events and metadata; plot it with
        ``importance.plot(picks="importance")`` or
        ``importance.plot_image(picks="importance")`` (MNE's image of Epochs
        finds no channel by the type ``"misc"``).

    Notes
    -----
    Summing over channels of several types (MEG and EEG, or EEG and EOG,
    which mne_xai's estimators scale apart) holds for maps in logits; a map
    per unit of input (saliency) gets a warning, as its sum would follow the
    channels of the larger unit or scale: pick one channel type.
    """
    _check_attribution(attribution)
    _validate_type(absolute, bool, "absolute")
    # MNE's picks leave out channels marked bad; the network read them, so they
    # carry relevance like every other channel.
    picks = _picks_to_idx(attribution.info, picks, none="all", exclude=())
    _warn_if_units_differ(
        attribution.info,
        "summing over channels",
        picks=picks,
        remedy=" For such maps, sum one channel type at a time, e.g. picks='eeg'.",
    )
    data = attribution.get_data(picks)
    summed = (np.abs(data) if absolute else data).sum(axis=-2, keepdims=True)
    info = mne.create_info(["importance"], attribution.info["sfreq"], "misc")
    return _like(attribution, summed, info, tmin=attribution.times[0])


def _event_names(epochs):
    """Return the event name of each epoch (its code as a string if unnamed)."""
    names = {code: name for name, code in epochs.event_id.items()}
    return [names.get(code, str(code)) for code in epochs.events[:, 2]]


def _warn_if_units_differ(info, purpose, *, picks=None, remedy=""):
    """Warn that maps per unit of input do not compare across channel types.

    Types, not units, as :func:`~mne_xai.attribution._registry.check_comparable_across_channels`
    refuses such methods: mne_xai's estimators scale each type apart, so even
    types in one unit (EEG, EOG and EMG in volts) compare their scales. Maps
    that :func:`mne_xai.explain` recorded in logits (for its parameters:
    SmoothGrad of gradient x input too) compare (no warning); of others, the
    warning names the methods it concerns.

    Parameters
    ----------
    info : mne.Info
        The info of the maps.
    purpose : str
        What compares the channels, for the message, e.g. "z-scoring".
    picks : array of int | None
        The channels compared; None means every channel, bads included.
    remedy : str
        What to do instead, appended to the message.
    """
    picks = np.arange(info["nchan"]) if picks is None else picks
    channel_types = list(dict.fromkeys(info.get_channel_types(picks)))
    if len(channel_types) < 2 or recorded_per_input_unit(info) is False:
        return
    units = sorted({DEFAULTS["si_units"].get(kind, kind) for kind in channel_types})
    in_units = (
        f"in several units ({', '.join(units)})"
        if len(units) > 1
        else f"all in {units[0]}"
    )
    per_input_unit = [
        name for name in list_methods() if "{input}" in get_method(name).unit
    ]
    warn(
        f"The channels are of several types ({', '.join(channel_types)}), "
        f"{in_units}, and scaled apart by mne_xai's estimators (scaling='auto'); "
        f"{purpose} compares them: that holds for maps in logits (e.g. gradient x "
        "input, integrated gradients, DeepLIFT, LRP), but not for maps per unit of "
        f"input ({', '.join(per_input_unit)}), where it compares the units and "
        f"scales rather than the relevance.{remedy}"
    )


def modality_importance(attribution, *, kind="local", absolute=True):
    """Share of relevance carried by each channel type (EEG, EOG, EMG...).

    For networks fed several modalities, the relevance summed over the
    channels of each MNE channel type tells how much each modality drives the
    decision, per epoch (local) or per class over epochs (global), as Ellis et
    al. did with LRP for sleep staging on EEG, EOG and EMG
    :footcite:`EllisEtAl2021`.

    Parameters
    ----------
    attribution : mne.Epochs
        Per-epoch attribution maps (``mne_xai.explain(..., average=False)``).
    kind : "local" | "global"
        ``"local"``: one row per epoch and channel type. ``"global"``: one row
        per class and channel type, relevance summed over the class's epochs.
    absolute : bool
        Sum the magnitude of relevance (recommended: signed relevance of a
        modality can cancel out). With False, shares are of the signed total
        and can fall outside [0, 1].

    Returns
    -------
    importance : pandas.DataFrame
        Columns ``epoch`` (local only), ``class`` (event name), ``channel_type``,
        ``n_channels``, ``relevance`` (the sum over the type's channels and all
        times) and ``share`` (``relevance`` over the sum for all types of that
        epoch or class; each epoch's or class's shares sum to one). ``epoch``
        numbers the epochs as MNE does, by the ``selection`` of the maps (which
        :func:`mne_xai.explain` copies from the Epochs explained), as the maps'
        :meth:`~mne.Epochs.to_data_frame` and the tables of
        :mod:`mne_xai.evaluate` do, so that the tables join on it.

    Notes
    -----
    A modality with more channels gathers more relevance; divide ``relevance``
    by ``n_channels`` to compare the relevance per channel. Channels marked bad
    in ``attribution.info["bads"]`` count like the others.

    Shares compare only maps in logits (gradient x input, integrated
    gradients, DeepLIFT, LRP, ...) across channel types. A map per unit of
    input (saliency: logit per volt on EEG, per tesla on magnetometers) mixes
    the types' units, and their scales too: mne_xai's estimators scale each
    type apart, so even EEG and EMG, both in volts, do not compare (saliency
    gave EEG 0.99 where integrated gradients gave 0.51). Maps do not say
    which method made them: channels of several types get a warning.

    References
    ----------
    .. footbibliography::
    """
    import pandas as pd

    _validate_type(attribution, mne.BaseEpochs, "attribution", "Epochs")
    _check_attribution(attribution)
    _check_option("kind", kind, ("local", "global"))
    _validate_type(absolute, bool, "absolute")
    # Every channel, bads included: the network was fed them all, and MNE's
    # "all" picks would drop bads from the data but not from the types.
    picks = np.arange(attribution.info["nchan"])
    channel_types = np.array(attribution.get_channel_types(picks))
    data = attribution.get_data(picks)
    relevance = np.abs(data) if absolute else data
    per_channel = relevance.sum(axis=-1)
    unique_types = list(dict.fromkeys(channel_types))
    _warn_if_units_differ(
        attribution.info, "the share of each channel type", picks=picks
    )
    rows = pd.DataFrame(
        {
            "epoch": np.repeat(attribution.selection, len(unique_types)),
            "class": np.repeat(_event_names(attribution), len(unique_types)),
            "channel_type": unique_types * len(data),
            "n_channels": [int((channel_types == t).sum()) for t in unique_types]
            * len(data),
            "relevance": np.column_stack(
                [per_channel[:, channel_types == t].sum(axis=1) for t in unique_types]
            ).ravel(),
        }
    )
    if kind == "global":
        rows = rows.groupby(
            ["class", "channel_type", "n_channels"], as_index=False, sort=False
        )["relevance"].sum()
    group = "epoch" if kind == "local" else "class"
    # Epochs by position, not by their number: an epoch picked twice
    # (epochs[[0, 0]], as a bootstrap draws them) keeps its selection number,
    # and each copy has its own shares.
    members = (
        pd.Series(np.repeat(np.arange(len(data)), len(unique_types)))
        if kind == "local"
        else rows["class"]
    )
    totals = rows["relevance"].groupby(members).transform("sum")
    if (totals == 0).any():
        # As zscore_attribution does for constant maps: say why shares are NaN.
        warn(
            f"The relevance of {members[totals == 0].nunique()} {group}(s) "
            "sums to zero over all channel types (e.g. a dead network's maps), so "
            "their shares are undefined (NaN)."
        )
    rows["share"] = rows["relevance"] / totals.where(totals != 0)
    return rows
