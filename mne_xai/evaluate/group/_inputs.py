"""Checks of the maps and parameters of the cluster test, and map scaling."""

import mne
import numpy as np
from mne.utils import _check_option, _validate_type
from scipy import stats

from ..._warnings import warn
from ...attribution._registry import list_methods


def _check_evoked_list(evokeds, name):
    _validate_type(evokeds, (list, tuple), name, "list of Evoked")
    for index, evoked in enumerate(evokeds):
        _validate_type(evoked, mne.Evoked, f"{name}[{index}]", "Evoked")
    return list(evokeds)


def _matched(evoked, reference, label):
    """Return ``evoked`` on the reference's channels (same order) and times."""
    if set(evoked.ch_names) != set(reference.ch_names):
        extra = sorted(set(evoked.ch_names) - set(reference.ch_names))
        missing = sorted(set(reference.ch_names) - set(evoked.ch_names))
        raise ValueError(
            f"{label} has other channels than evokeds[0]: extra {extra}, "
            f"missing {missing}. Explain every subject on the same channels "
            "(e.g. evoked.pick(common_channels))."
        )
    if evoked.ch_names != reference.ch_names:
        evoked = evoked.copy().reorder_channels(reference.ch_names)
    same_times = len(evoked.times) == len(reference.times) and np.allclose(
        evoked.times, reference.times, atol=1e-3 / reference.info["sfreq"], rtol=0
    )
    if not same_times:
        raise ValueError(
            f"{label} has other times than evokeds[0]: {len(evoked.times)} samples "
            f"from {evoked.times[0]:.4g} to {evoked.times[-1]:.4g} s at "
            f"{evoked.info['sfreq']:g} Hz, not {len(reference.times)} from "
            f"{reference.times[0]:.4g} to {reference.times[-1]:.4g} s at "
            f"{reference.info['sfreq']:g} Hz. Crop or resample them alike."
        )
    if not np.isfinite(evoked.data).all():
        raise ValueError(f"{label} holds NaN or infinite values.")
    return evoked


def _check_one_method(evokeds):
    """Warn when explain's comments say that the maps come from several methods.

    Relevance of one method is not on the scale of another's (nor signed
    alike), so a test over subjects mixing them finds their differences. The
    method is read from the comment :func:`mne_xai.explain` gives averaged maps,
    ``"<method> (<target>)"``; maps with other comments are not judged.
    """
    methods = {}
    for index, evoked in enumerate(evokeds):
        name = (evoked.comment or "").split(" (", 1)[0]
        if name in list_methods():
            methods.setdefault(name, []).append(index)
    if len(methods) > 1:
        which = "; ".join(f"{name}: evokeds {idx}" for name, idx in methods.items())
        warn(
            f"The maps come from different attribution methods ({which}). "
            "Relevance of one method is not on another's scale, so the test "
            "would find their differences; test the maps of one method."
        )


def _unmarked_bads(evokeds, label="evokeds"):
    """Warn of channels marked bad in some maps, which are tested as the others.

    The result marks none bad, whatever the order of the subjects: the test
    reads every channel, and MNE's figures hide bad channels.
    """
    bads = {}
    for index, evoked in enumerate(evokeds):
        for name in evoked.info["bads"]:
            bads.setdefault(name, []).append(index)
    if bads:
        which = "; ".join(f"{name} in {label} {idx}" for name, idx in bads.items())
        warn(
            f"Channels marked bad in some maps ({which}) are tested as the "
            "others, and the result marks no channel bad. To leave them out, "
            "drop them from every map first (evoked.drop_channels)."
        )


def _normalized(data, how, label):
    """Scale a map so that its mean magnitude is 1 (``"mass"``), or leave it."""
    if how is None:
        return data
    mass = np.abs(data).mean()
    if mass == 0:
        raise ValueError(
            f"{label} is zero everywhere, so its relevance cannot be scaled to a "
            "unit mean magnitude; drop it or pass normalize=None."
        )
    return data / mass


def _smallest_p_value(n_subjects, n_permutations, tail):
    """Smallest p-value the sign-flip test can give, and whether it is exact."""
    n_flips = 2 ** (n_subjects - (tail == 0))
    exact = n_permutations == "all" or n_permutations >= n_flips
    return (1.0 / n_flips if exact else 1.0 / n_permutations), exact, n_flips


def _cluster_forming_threshold(n_subjects, tail):
    """MNE's default: the t-value of p = 0.05 (two-sided: 0.025 per tail)."""
    p_threshold = 0.05 / (1 + (tail == 0))
    threshold = -stats.t.ppf(p_threshold, n_subjects - 1)
    return -threshold if tail == -1 else threshold


def _check_parameters(n_subjects, n_permutations, threshold, tail, alpha):
    _check_option("tail", tail, (-1, 0, 1))
    _validate_type(alpha, "numeric", "alpha")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}.")
    if n_permutations != "all":
        _validate_type(n_permutations, "int", "n_permutations", 'int or "all"')
        if n_permutations < 1:
            raise ValueError(f"n_permutations must be positive, got {n_permutations}.")
    if threshold is not None:
        _validate_type(threshold, "numeric", "threshold", "float or None")
        sign = -1 if tail == -1 else 1
        if np.sign(threshold) != sign:
            raise ValueError(
                f"threshold must be {'negative' if sign < 0 else 'positive'} for "
                f"tail={tail}, got {threshold}."
            )
    if n_subjects < 2:
        raise ValueError(f"A test over subjects needs 2 or more, got {n_subjects}.")
    smallest, exact, n_flips = _smallest_p_value(n_subjects, n_permutations, tail)
    if smallest >= alpha:
        if exact:
            # The smallest p-value, 2 ** -(n - (tail == 0)), must be below alpha.
            need = int(np.floor(np.log2(1 / alpha))) + 1 + (tail == 0)
            one_sided = " a one-sided test (tail=1)," if tail == 0 else ""
            raise ValueError(
                f"With {n_subjects} subjects a sign-flip test has {n_flips} "
                f"distinct permutations, so no p-value falls below {smallest:.3g} "
                f"and none can be significant at alpha={alpha:g}. Use {need} or "
                f"more subjects,{one_sided} or a larger alpha."
            )
        raise ValueError(
            f"With n_permutations={n_permutations} no p-value falls below "
            f"{smallest:.3g}, so none can be significant at alpha={alpha:g}; "
            f"draw more permutations (up to {n_flips}, or 'all')."
        )
