"""Checks of attribution and ground truth maps, and the masks the measures share."""

import mne
import numpy as np
from mne.utils import _check_option, _validate_type

from ..._matching import check_same_epochs
from ..._warnings import warn
from ...attribution.postprocess import _warn_if_units_differ

_MAP_TYPES = (np.ndarray, mne.BaseEpochs, mne.Evoked)
_MAP_DESCRIPTION = "array, Epochs or Evoked"
_SIGNS = ("absolute_value", "positive")


def _map_data(maps, name):
    """Return one map per epoch, shape (n_epochs, ...), from an array or MNE object."""
    _validate_type(maps, _MAP_TYPES, name, _MAP_DESCRIPTION)
    if isinstance(maps, mne.BaseEpochs):
        data = maps.get_data()  # every channel: MNE's "all" leaves out bads
    elif isinstance(maps, mne.Evoked):
        data = maps.data[np.newaxis]
    else:
        data = np.asarray(maps)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {data.dtype}.")
        if data.ndim < 2:
            raise ValueError(
                f"{name} must have one map per epoch, shape (n_epochs, n_channels, "
                f"n_times) or (n_epochs, n_features), got shape {data.shape}."
            )
    data = data.astype(np.float64, copy=False)
    if not np.isfinite(data).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return data


def _check_time_courses(data, name):
    """Measures over channels, time or frequency need (epochs, channels, times)."""
    if data.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_epochs, n_channels, n_times), got shape "
            f"{data.shape}."
        )


def _check_same_shape(relevance, truth, attribution=None, ground_truth=None):
    """Refuse maps of other shapes, saying how to give the ground truth.

    ``attribution`` and ``ground_truth``, the objects given, say where an
    array ground truth of other channels is read.
    """
    if relevance.shape == truth.shape:
        return
    hint = ""
    if len(relevance) == 1 and relevance.shape[1:] == truth.shape[1:]:
        hint = (
            " For an average map (an Evoked), average the ground truth alike "
            "(ground_truth.average())."
        )
    elif (
        isinstance(attribution, mne.BaseEpochs | mne.Evoked)
        and isinstance(ground_truth, np.ndarray)
        and relevance.ndim == truth.ndim > 2
        and relevance.shape[1] != truth.shape[1]
    ):
        names = attribution.ch_names
        hint = (
            " An array ground_truth is read on the channels of attribution, in "
            f"its order ({len(names)}: {', '.join(names[:3])}"
            f"{', ...' * (len(names) > 3)}); of Epochs, "
            "ground_truth.get_data(picks=attribution.ch_names)."
        )
    raise ValueError(
        f"attribution has shape {relevance.shape} but ground_truth has shape "
        f"{truth.shape}; they need one map each for the same epochs, channels "
        f"and times.{hint}"
    )


def _channel_difference(first, second, names):
    """Say how the channels of two MNE objects differ, and how to pair them."""
    first_name, second_name = names
    missing = [ch for ch in second.ch_names if ch not in first.ch_names]
    extra = [ch for ch in first.ch_names if ch not in second.ch_names]
    if not (missing or extra):
        # Where they first differ: the first names alone may agree.
        start = next(
            index
            for index, (one, other) in enumerate(
                zip(first.ch_names, second.ch_names, strict=True)
            )
            if one != other
        )
        return (
            f"hold the same channels in another order (from position {start}: "
            f"{first.ch_names[start : start + 3]} against "
            f"{second.ch_names[start : start + 3]})"
        ), f"{second_name}.copy().pick({first_name}.ch_names)"
    differ = "; ".join(
        text.format(f"{channels[:5]}{' ...' * (len(channels) > 5)}")
        for text, channels in (
            (f"{first_name} lacks {{}} of {second_name}", missing),
            (f"{second_name} lacks {{}} of {first_name}", extra),
        )
        if channels
    )
    fix = (
        f"give {second_name} on every channel of {first_name}"
        if extra
        else f"{second_name}.copy().pick({first_name}.ch_names)"
    )
    return f"hold different channels ({differ})", fix


def _check_same_grid(attribution, ground_truth, names=("attribution", "ground_truth")):
    """Both MNE objects must share channels and times, and epochs, not just shapes."""
    mne_types = (mne.BaseEpochs, mne.Evoked)
    if not (isinstance(attribution, mne_types) and isinstance(ground_truth, mne_types)):
        return
    first, second = names
    check_same_epochs(attribution, ground_truth, names)
    if attribution.ch_names != ground_truth.ch_names:
        differ, fix = _channel_difference(attribution, ground_truth, names)
        raise ValueError(
            f"{first} and {second} {differ}, and maps are compared channel by "
            f"channel: give them the same channels in the same order ({fix})."
        )
    if attribution.times.shape != ground_truth.times.shape or not np.allclose(
        attribution.times, ground_truth.times
    ):
        raise ValueError(
            f"{first} and {second} have different time samples "
            f"({attribution.times[0]:g} to {attribution.times[-1]:g} s and "
            f"{ground_truth.times[0]:g} to {ground_truth.times[-1]:g} s); crop them "
            "alike."
        )


def _check_same_average(attribution, ground_truth):
    """Average maps and truths must average as many epochs, hence the same ones.

    A class's map scored against the truth of every class went unnoticed.
    (nave 1 is EvokedArray's default, as for a mask built by hand, and says
    nothing. Maps compared with each other, as in the sanity checks, may
    average other epochs.)
    """
    naves = [getattr(obj, "nave", 1) for obj in (attribution, ground_truth)]
    if min(naves) > 1 and naves[0] != naves[1]:
        raise ValueError(
            f"attribution averages {naves[0]} epochs but ground_truth averages "
            f"{naves[1]}; an average map is scored against the average ground "
            "truth of the same epochs, e.g. ground_truth['left'].average() for "
            "the map of explain(..., epochs['left'], average=True)."
        )


def _pair(attribution, ground_truth, *, sign, time_courses=False):
    """Return validated (relevance, ground truth) arrays of one shape.

    ``relevance`` is the attribution after ``sign``; ``ground_truth`` is
    non-negative with a positive peak in every epoch. With ``time_courses``,
    both must have shape (n_epochs, n_channels, n_times).
    """
    _check_option("sign", sign, _SIGNS)
    relevance = _map_data(attribution, "attribution")
    truth = _map_data(ground_truth, "ground_truth")
    # MNE objects name the channels they differ by; shapes only count them.
    _check_same_grid(attribution, ground_truth)
    _check_same_shape(relevance, truth, attribution, ground_truth)
    if time_courses:
        _check_time_courses(relevance, "attribution")
    _check_same_average(attribution, ground_truth)
    if isinstance(attribution, mne.BaseEpochs | mne.Evoked):
        _warn_if_units_differ(
            attribution.info, "scoring the relevance of all channels together"
        )
    if (truth < 0).any():
        raise ValueError(
            "ground_truth must be non-negative (a magnitude or a 0/1 mask), got "
            f"values down to {truth.min():g}."
        )
    empty = np.flatnonzero(truth.reshape(len(truth), -1).max(axis=1) == 0)
    if empty.size:
        raise ValueError(
            f"ground_truth is all zero in epoch(s) {empty[:10].tolist()}; there is "
            "nothing to localize there. Drop those epochs."
        )
    relevance = np.abs(relevance) if sign == "absolute_value" else relevance.clip(0)
    return relevance, truth


def _check_threshold(threshold):
    _validate_type(threshold, "numeric", "threshold")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}.")


def _binary_mask(truth, threshold, feature="feature"):
    """Features at or above ``threshold`` times each epoch's peak, flattened.

    A mask covering every feature of an epoch leaves none outside it: every
    map scores 1 there (relevance mass and rank accuracy, top-k and temporal
    precision gave 1.0 to a map of noise) and has no ROC curve, so such
    epochs are refused, as epochs without ground truth are. ``feature``
    names what the mask covers (``"sample"`` of a time course).
    """
    _check_threshold(threshold)
    flat = truth.reshape(len(truth), -1)
    peak = flat.max(axis=1, keepdims=True)
    mask = flat >= threshold * peak
    full = np.flatnonzero(mask.all(axis=1))
    if full.size:
        # The mask shrinks at a threshold above its lowest value (over the peak).
        lowest = flat[full].min(axis=1) / peak[full, 0]
        drop = "drop those epochs from both maps (Epochs.drop, np.delete)"
        fix = (
            f"Raise threshold above {lowest.max():.3g} (their lowest ground truth "
            f"over its peak), or {drop}"
            if (lowest < 1).all()
            else "No threshold shrinks a ground truth that is the same everywhere "
            f"(a 0/1 mask of ones): {drop}, or give a ground truth that leaves "
            f"some {feature}s out"
        )
        more = f" and {full.size - 10} more" if full.size > 10 else ""
        raise ValueError(
            f"The ground truth mask covers every {feature} of epoch(s) "
            f"{full[:10].tolist()}{more} (counted from 0), so there is nothing to "
            "tell it from: every map would score alike there (1 for the share of "
            f"relevance inside it, even of noise). {fix}."
        )
    return mask


def _fraction_inside(relevance, inside):
    """Sum of relevance inside the mask over all relevance, per epoch.

    Epochs without relevance give NaN, with a warning, rather than a number
    that would look like a (bad) score.
    """
    total = relevance.sum(axis=1)
    within = (relevance * inside).sum(axis=1)
    no_relevance = total == 0
    if no_relevance.any():
        warn(
            f"{int(no_relevance.sum())} attribution map(s) hold no relevance of the "
            "requested sign; their score is NaN."
        )
    return np.divide(
        within, total, out=np.full(len(total), np.nan), where=~no_relevance
    )
