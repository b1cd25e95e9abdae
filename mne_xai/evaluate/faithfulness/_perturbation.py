"""Cui et al.'s perturbation tests (patches and channels) and deletion test."""

import functools

import numpy as np
import torch
import torch.nn.functional as F
from mne.utils import _validate_type, verbose
from scipy.ndimage import uniform_filter1d

from ..._checks import check_positive_int
from ..._convert import InputData
from ..._docs import fill_doc
from ..._graph import autograd_on
from ..._network import as_network, sampling_rate
from ..._samples_read import filtered_within_runs, runs_read
from ..._warnings import warn
from ...attribution._core import method_parameters
from ...attribution.postprocess import _odd_samples, _per_map_zscore
from ._baselines import (
    _baseline_values,
    _check_baseline,
    _interpolated_variants,
    _replace,
)
from ._batches import _evaluation_batches
from ._results import (
    ChannelPerturbationTestResult,
    DeletionTestResult,
    PerturbationTestResult,
)


def _pearson(relevance, drop):
    """Pearson correlation along the last axis; NaN where either side is constant."""
    relevance = relevance - relevance.mean(axis=-1, keepdims=True)
    drop = drop - drop.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(relevance, axis=-1) * np.linalg.norm(drop, axis=-1)
    products = (relevance * drop).sum(axis=-1)
    return np.divide(products, norms, out=np.full(norms.shape, np.nan), where=norms > 0)


def _given_positions(channel, item):
    """Positions of the network's channels ``channel`` among those of explain's maps.

    Maps of Epochs are in the Epochs' order (see
    :attr:`~mne_xai._convert.InputData.given_order`), and results on
    channels follow them.
    """
    if item.given_order is None:
        return channel
    return np.argsort(item.given_order)[channel]


def _patch_starts(read, first, span, lengths):
    """Return, per patch length, the starts of the patches the network reads.

    Patches lie within the span the network reads, from ``first`` on; where
    the windows of a CroppedClassifier leave gaps, a patch wholly in one
    (6 of the 158 starts of a patch of 3 samples, for two gaps of 5 in 160)
    has no relevance and drops nothing whatever the map, and is not drawn.
    """
    if read is None:
        return [first + np.arange(span - length + 1) for length in lengths]
    counts = np.concatenate([[0], np.cumsum(read[first : first + span])])
    return [
        first + np.flatnonzero(counts[length:] - counts[:-length] > 0)
        for length in lengths
    ]


def _mean_correlation(correlation, what):
    """Mean of the correlations that are defined (not NaN), over every epoch.

    Warns, instead of NumPy's "Mean of empty slice", when a column of
    ``correlation`` (a patch length) is undefined in every epoch: the
    relevance (or the score) did not vary over ``what`` in any epoch. Warns
    too when only some are undefined (maps all zero in some epochs, as a
    rectified CAM can be), which the mean leaves out.
    """
    correlation = correlation.reshape(len(correlation), -1)
    defined = ~np.isnan(correlation)
    if (~defined).all(axis=0).any():
        warn(
            f"The relevance or the class score is constant over {what} in every "
            "epoch, so their correlation is undefined (NaN); CAM maps, for "
            'example, are constant over channels, and occlusion with mode="channel" '
            "over time."
        )
    elif not defined.all():
        epochs = np.flatnonzero(~defined.all(axis=1))
        warn(
            f"The relevance or the class score is constant over {what} in "
            f"{len(epochs)} of {len(correlation)} epochs ({epochs[:10].tolist()}), "
            "e.g. maps all zero there, so their correlation is undefined (NaN) and "
            "left out of mean_correlation, the mean of the defined ones."
        )
    return float(correlation[defined].mean()) if defined.any() else np.nan


@autograd_on
@verbose
@fill_doc
def perturbation_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    patch_fractions=(0.1, 0.2, 0.3, 0.4, 0.5),
    n_patches=100,
    baseline="zeros",
    batch_size=64,
    device=None,
    random_state=None,
    shortcuts=True,
    method_params=None,
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
    %(estimator)s
    %(epochs)s
    %(method_evaluated)s
    %(attribution_given)s
    %(target_scored)s
    patch_fractions : sequence of float
        Patch lengths as fractions of the epoch length, in (0, 1]; Cui et al.
        use 0.1 to 0.5. For a network that reads part of the epoch only (a
        :class:`~mne_xai.CroppedClassifier` with ``tmin``/``tmax``), of the
        span it reads, where the patches are drawn (see
        :func:`deletion_curve`); no patch lies wholly between windows that
        leave gaps, where it could drop nothing.
    n_patches : int
        Number of random patches per epoch and patch length (100 in Cui et al.),
        at least 2.
    baseline : "zeros" | "mean" | "noise" | "interpolate"
        What replaces the patch; ``"interpolate"`` fills it with the channel
        interpolated from all other channels.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(shortcuts)s
    %(method_params_dict)s
    %(verbose)s
    %(removal_method_params)s

    Returns
    -------
    result : PerturbationTestResult
        ``correlation`` (n_epochs, n_fractions): per epoch and patch length,
        the correlation between summed relevance and score drop (NaN where
        either is constant); ``mean_correlation``: its mean over epochs and
        patch lengths where it is defined (a float, as in
        :func:`channel_perturbation_test`; NaN left out, with a warning;
        ``result.to_frame().groupby("patch_fraction").correlation.mean()``
        gives it per patch length); ``relevance`` and ``score_drop``
        (n_epochs, n_fractions, n_patches): the raw pairs; ``channel`` and
        ``start`` (same shape): where each patch was, ``channel`` indexing the
        channels of :func:`mne_xai.explain`'s maps (those the network reads,
        in the order of the Epochs given); ``patch_fractions`` and
        ``patch_length`` (n_fractions,): the patch lengths, as fractions and
        in samples; ``target`` (n_epochs,): the class index scored.
        ``to_frame()`` gives one row per epoch and patch length.

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
    baseline = _check_baseline(baseline)
    estimator = as_network(estimator)
    n_patches = check_positive_int(n_patches, "n_patches")
    if n_patches < 2:
        raise ValueError(
            "n_patches must be at least 2: the test correlates the relevance and "
            "the score drop over each epoch's patches, and one patch has no "
            f"correlation; got {n_patches}."
        )
    fractions = np.atleast_1d(np.asarray(patch_fractions, dtype=float))
    if not fractions.size:
        raise ValueError("patch_fractions is empty; give at least one fraction.")
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
        method_parameters(params, method_params),
        shortcuts,
        "perturbation test",
    )
    results = dict(
        relevance=[], score_drop=[], channel=[], start=[], target=[], epoch=[]
    )
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        # Patches lie within the span the network reads (see deletion_curve):
        # one on samples it never reads drops nothing whatever its relevance.
        first, last = (
            (0, n_times - 1)
            if item.read is None
            else (np.flatnonzero(item.read)[[0, -1]])
        )
        span = last - first + 1
        lengths = np.maximum(1, np.round(fractions * span).astype(int))
        starts = _patch_starts(item.read, first, span, lengths)
        # Each epoch draws from its own generator: the same patches whatever
        # the batch it falls in.
        channel = np.stack(
            [
                rng.integers(n_channels, size=(len(lengths), n_patches))
                for rng in item.rngs
            ]
        )
        n_starts = np.array([len(allowed) for allowed in starts])
        drawn = np.stack(
            [
                rng.integers(n_starts[:, None], size=(len(lengths), n_patches))
                for rng in item.rngs
            ]
        )
        start = np.stack(
            [allowed[drawn[:, row]] for row, allowed in enumerate(starts)], axis=1
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
        results["channel"].append(_given_positions(channel, item))
        results["start"].append(start)
        results["target"].append(item.target.cpu().numpy())
        results["epoch"].append(item.epoch)
    result = PerturbationTestResult(
        **{key: np.concatenate(value) for key, value in results.items()},
        patch_fractions=fractions,
        patch_length=lengths,
    )
    result.correlation = _pearson(result.relevance, result.score_drop)
    result.mean_correlation = _mean_correlation(result.correlation, "patches")
    return result


@autograd_on
@verbose
@fill_doc
def channel_perturbation_test(
    estimator,
    epochs,
    method=None,
    *,
    attribution=None,
    target=None,
    baseline="zeros",
    batch_size=64,
    device=None,
    random_state=None,
    shortcuts=True,
    method_params=None,
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
    %(estimator)s
    %(epochs)s
    %(method_evaluated)s
    %(attribution_given)s
    %(target_scored)s
    baseline : "zeros" | "mean" | "noise" | "interpolate"
        What replaces the channel; ``"interpolate"`` interpolates it from all
        other channels, which asks whether the channel carries information its
        neighbours do not.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(shortcuts)s
    %(method_params_dict)s
    %(verbose)s
    %(removal_method_params)s

    Returns
    -------
    result : ChannelPerturbationTestResult
        ``correlation`` (n_epochs,): the Pearson correlation over channels
        (NaN where either side is constant); ``mean_correlation``: its mean
        over the epochs where it is defined (a float; NaN left out, with a
        warning); ``relevance`` and ``score_drop`` (n_epochs,
        n_channels): the raw pairs, on the channels of
        :func:`mne_xai.explain`'s maps (those the network reads, in the order
        of the Epochs given), named by ``ch_names`` (None for arrays without
        channel names); ``target`` (n_epochs,): the class index scored.
        ``to_frame()`` gives one row per epoch.

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
    baseline = _check_baseline(baseline)
    estimator = as_network(estimator)
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        method_parameters(params, method_params),
        shortcuts,
        "channel perturbation test",
    )
    relevance, drops, targets, numbers = [], [], [], []
    for item in items:
        n_epochs, n_channels, n_times = item.data.shape
        if n_channels < 2:
            raise ValueError(
                "channel_perturbation_test correlates relevance and score drops "
                "over channels, and the network reads one channel; use "
                "perturbation_test, whose patches lie in time."
            )
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
        # Columns in the order of explain's maps, the Epochs' order.
        columns = slice(None) if item.given_order is None else item.given_order
        drops.append(-changes.cpu().numpy()[:, columns])
        relevance.append(item.attribution.sum(dim=2).cpu().numpy()[:, columns])
        targets.append(item.target.cpu().numpy())
        numbers.append(item.epoch)
        ch_names = None if item.info is None else item.info.ch_names
        if ch_names is not None and item.given_order is not None:
            ch_names = [ch_names[index] for index in item.given_order]
    result = ChannelPerturbationTestResult(
        relevance=np.concatenate(relevance).astype(np.float64),
        score_drop=np.concatenate(drops).astype(np.float64),
        target=np.concatenate(targets),
        epoch=np.concatenate(numbers),
        ch_names=ch_names,
    )
    result.correlation = _pearson(result.relevance, result.score_drop)
    result.mean_correlation = _mean_correlation(result.correlation, "channels")
    return result


def _rate_of(epochs, estimator):
    """Return the sampling rate of the data: that of Epochs, else the network's.

    A network fitted on arrays takes its kernels' rate (128 Hz) for theirs,
    which Epochs at another rate belie: 80 ms were smoothed as 43 ms at 256 Hz.
    """
    info = InputData(epochs).info
    if info is not None:
        return info["sfreq"]
    sfreq = sampling_rate(estimator, "the smoothing's durations")
    if sfreq is None:
        raise ValueError(
            "smoothing is a duration, but neither the arrays nor the network give "
            "a sampling rate: pass Epochs, wrap the network with "
            "mne_xai.as_network(net, info=epochs.info), or pass smoothing=0."
        )
    return sfreq


@autograd_on
@verbose
@fill_doc
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
    baseline="zeros",
    batch_size=64,
    device=None,
    random_state=None,
    shortcuts=True,
    method_params=None,
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
    logit more than the random removal does. Samples the network never reads
    (outside the windows of a :class:`~mne_xai.CroppedClassifier` with
    ``tmin``/``tmax``) are left out of the z-scores, the removal and the
    random draw: removed at random, they change nothing (see
    :func:`deletion_curve`).

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(method_evaluated)s
    %(attribution_given)s
    %(target_scored)s
    threshold : float
        Z-score above which a (smoothed) sample is removed.
    channel_threshold : float
        Z-score, over channels, above which a channel is removed.
    smoothing : float
        Width in seconds of the moving average applied to the z-scored maps
        (Cui et al.: 10 samples at 128 Hz), at the sampling rate of Epochs
        (of the network, for arrays), rounded to the nearest odd number of
        samples as :func:`~mne_xai.attribution.smooth_attribution` rounds it;
        0 disables it. Where the windows of a
        :class:`~mne_xai.CroppedClassifier` leave gaps, each run of samples
        they read is smoothed alone, its edge values repeated.
    baseline : "zeros" | "mean" | "noise" | "interpolate"
        What replaces removed samples; ``"interpolate"`` applies to the
        channel-level test only (the sample-level test then uses zeros).
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(shortcuts)s
    %(method_params_dict)s
    %(verbose)s
    %(removal_method_params)s

    Returns
    -------
    result : DeletionTestResult
        Per epoch: ``score`` (the target logit of the intact epoch),
        ``score_deleted`` and ``score_random`` (after removing the relevant and
        as many random samples), ``fraction_deleted`` (of the samples the
        network reads); and
        ``channel_score_deleted``, ``channel_score_random``,
        ``n_channels_deleted`` for the channel-level test (NaN scores, with a
        warning, where the relevance averaged over time is the same on every
        channel, as in class activation maps, so that no channel ranks above
        another; without a warning for a network reading one channel);
        ``target``, the class index scored. ``to_frame()`` gives one row per
        epoch.

    See Also
    --------
    deletion_curve, mne_xai.attribution.zscore_attribution, mne_xai.attribution.smooth_attribution

    Notes
    -----
    Cui et al. report the softmax probability after deletion; the logit is
    reported here, consistently with the other measures (the probability is
    its softmax with the other logits).

    The z-scores are smoothed as they are, so negative relevance beside a peak
    lowers it. The heatmaps of Cui et al.'s published code clip the z-scores
    from below at the threshold before smoothing, which removes every sample
    within half a window of one above it: on a simulated 3-class EEGNet, 6.1
    percent of the samples for gradient x input, where this test removes 2.4
    percent.
    Compare fractions removed across the two with care.

    References
    ----------
    .. footbibliography::
    """
    baseline = _check_baseline(baseline)
    estimator = as_network(estimator)
    _validate_type(threshold, "numeric", "threshold")
    _validate_type(channel_threshold, "numeric", "channel_threshold")
    _validate_type(smoothing, "numeric", "smoothing")
    if smoothing < 0:
        raise ValueError(f"smoothing must be a duration >= 0 s, got {smoothing}.")
    window = 1
    if smoothing > 0:
        # The window of smooth_attribution: the odd number of samples nearest
        # this, up on a tie (5.12 samples to 5, 6 to 7).
        window = _odd_samples(smoothing, _rate_of(epochs, estimator))
    items = _evaluation_batches(
        estimator,
        epochs,
        method,
        attribution,
        target,
        batch_size,
        device,
        random_state,
        method_parameters(params, method_params),
        shortcuts,
        "deletion test",
    )
    batches, n_channels = [], 1
    for item in items:
        n_channels = item.data.shape[1]
        batches.append(
            _deletion_of_batch(
                item, estimator, baseline, threshold, channel_threshold, window
            )
        )
    result = DeletionTestResult(
        **{key: np.concatenate([batch[key] for batch in batches]) for key in batches[0]}
    )
    unranked = np.flatnonzero(np.isnan(result.channel_score_deleted))
    if n_channels > 1 and len(unranked):
        warn(
            "The relevance averaged over time is the same on every channel in "
            f"{len(unranked)} of {len(result.target)} epochs "
            f"({unranked[:10].tolist()}), as class activation maps are, so it "
            "ranks no channel there: their channel-level scores are NaN."
        )
    return result


def _deletion_of_batch(item, estimator, baseline, threshold, channel_threshold, window):
    """Scores of one batch of epochs with their relevant samples and channels deleted.

    Returns the fields of :class:`DeletionTestResult` for the batch's epochs.
    """
    n_epochs, n_channels, n_times = item.data.shape
    # Only the samples the network reads are z-scored, selected and drawn
    # at random (see deletion_curve): unread ones, removed at random,
    # change nothing.
    read = np.ones(n_times, bool) if item.read is None else item.read
    maps = item.attribution.double().cpu().numpy()[..., read]
    zscores = _per_map_zscore(maps)
    # Each run of consecutive samples read is smoothed alone: across a gap
    # between windows, the last sample of one window passed its relevance
    # to the first samples of the next.
    smoothed = filtered_within_runs(
        functools.partial(uniform_filter1d, size=window, axis=-1, mode="nearest"),
        zscores,
        runs_read(read),
    )
    relevant = smoothed > threshold
    channel_relevance = maps.mean(axis=2)
    # Relevance equal on every channel (one channel; a class activation map
    # the same on every channel) ranks no channel: no channel-level test there
    # (NaN), rather than a null one scored as if nothing were relevant, and
    # no z-scores, which warned of constant maps.
    ranked = (channel_relevance != channel_relevance[:, :1]).any(axis=1)
    channel_relevant = np.zeros((n_epochs, n_channels), bool)
    channel_relevant[ranked] = (
        _per_map_zscore(channel_relevance[ranked, :, None])[..., 0] > channel_threshold
    )
    random_features = _same_count_at_random(relevant.reshape(n_epochs, -1), item.rngs)
    random_channels = _same_count_at_random(channel_relevant, item.rngs)
    removed = np.zeros((n_epochs, 2, n_channels, n_times), bool)
    removed[..., read] = np.stack(
        [relevant, random_features.reshape(relevant.shape)], axis=1
    )
    channels_removed = np.stack([channel_relevant, random_channels], axis=1)
    sample_baseline = "zeros" if baseline == "interpolate" else baseline
    variants = _replace(
        item.data,
        torch.as_tensor(removed, device=item.data.device),
        _baseline_values(sample_baseline, item, estimator),
    )
    channels_removed_tensor = torch.as_tensor(channels_removed, device=item.data.device)
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
    scores[1, ~ranked] = np.nan
    return dict(
        score=item.score.cpu().double().numpy(),
        score_deleted=scores[0, :, 0],
        score_random=scores[0, :, 1],
        fraction_deleted=relevant.mean(axis=(1, 2)),
        channel_score_deleted=scores[1, :, 0],
        channel_score_random=scores[1, :, 1],
        n_channels_deleted=channel_relevant.sum(axis=1),
        target=item.target.cpu().numpy(),
        epoch=item.epoch,
    )


def _same_count_at_random(selected, rngs):
    """Boolean masks selecting, per row, as many random entries as ``selected``."""
    shuffled = np.zeros_like(selected)
    for row, (chosen, rng) in enumerate(zip(selected, rngs, strict=True)):
        shuffled[row, rng.permutation(len(chosen))[: chosen.sum()]] = True
    return shuffled
