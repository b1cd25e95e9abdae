"""The cluster-based permutation test of attribution maps over subjects."""

import mne
import numpy as np
from mne.utils import _check_option, _validate_type, logger, verbose

from ..._checks import check_n_jobs, check_seed
from ..._convert import map_info
from ..._docs import fill_doc
from ..._outputs import evoked_array
from ..._progress import mne_bars_as_ours
from ..._warnings import ignoring, quietly, warn
from ._adjacency import _channel_adjacency
from ._inputs import (
    _check_evoked_list,
    _check_one_method,
    _check_parameters,
    _cluster_forming_threshold,
    _matched,
    _normalized,
    _smallest_p_value,
    _unmarked_bads,
)
from ._result import RelevanceClusterTestResult

#: Relative difference under which two cluster masses are one, computed twice
#: (by MNE for a flip and here for the observed clusters).
_TIE = 1e-9
_NULL_DESCRIPTION = '"zero", None or a list of Evoked (one null map per subject)'


def _t_statistic(differences):
    """MNE's one-sample t, 0 where every subject's difference is the same zero.

    Samples that are zero in every map and null (e.g. where a method's maps
    vanish) have no variance; their t is 0/0, which would otherwise warn and
    give NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t_values = mne.stats.ttest_1samp_no_p(differences)
    return np.where(np.isnan(t_values), 0.0, t_values)


def _one_seed(random_state):
    """Return an int seed from ``random_state``, so that two of MNE's draws are one.

    A Generator, a RandomState or None would give each call of MNE's test
    other sign flips.
    """
    seed = check_seed(random_state)  # one seed drawn from a generator
    if seed is None:
        return int(np.random.default_rng().integers(np.iinfo(np.int32).max))
    return seed


def _identity_position(n_subjects, tail, n_permutations, seed):
    """Where MNE's one-sided null holds the flip of no subject, or None.

    MNE draws the flips from the number of subjects, ``n_permutations``,
    ``tail`` and the seed alone, so a test of the same draw on data where only
    the identity forms a cluster (every subject's value of one sign, the
    threshold just below their t) finds it: the one nonzero entry after the
    observed statistic.
    """
    data = tail * np.linspace(1.0, 2.0, n_subjects)[:, np.newaxis]
    threshold = 0.999 * mne.stats.ttest_1samp_no_p(data)[0]
    h0 = mne.stats.permutation_cluster_1samp_test(
        data,
        threshold=threshold,
        n_permutations=n_permutations,
        tail=tail,
        rng=seed,
        out_type="mask",
        verbose=quietly(),
    )[3]
    drawn = np.flatnonzero(h0[1:])
    return 1 + drawn[0] if len(drawn) else None


def _with_every_flip(h0, identity, flipped_h0):
    """Mend MNE's one-sided null, which misses the flip of every subject.

    MNE (1.13) enumerates the flips as ``bin_perm_rep(n)[1:]``, or draws them
    among those patterns: it leaves out the flip of every sign (all zeros)
    instead of the identity (all ones), whose statistic, the observed one,
    then stands twice in ``h0`` (last when enumerated, anywhere when drawn)
    and counts twice in every p-value. The smallest exact p-value became
    ``2 / 2 ** n``: five subjects with an overwhelming effect were not
    significant at 0.05; with 63 flips drawn for six subjects, every p-value
    was 0.032 instead of 0.016. Here the identity's entry (at ``identity``,
    None when it was not drawn) becomes the statistic of the sign-flipped
    maps (``flipped_h0``, from MNE's test of them; empty when they form no
    cluster), which makes the flips those of every pattern but the identity.
    Its position is found, not guessed from the values: a subject whose map
    and null are both zero on the cluster gives, flipped, the observed
    statistic too, and that flip counts.
    """
    if identity is None:
        return h0
    mended = h0.copy()
    mended[identity] = flipped_h0[0] if len(flipped_h0) else 0.0
    return mended


def _p_values(h0, masses, tail):
    """Share of the null's statistics at least as extreme as each cluster's mass.

    As MNE's, with ties counted: MNE sums the masses of the flips otherwise
    than those of the observed clusters, so a flip that ties with a cluster
    (a subject whose map and null are both zero on it, as ReLU'd maps are)
    came out a few ulp short and was not counted, halving p. The observed
    statistic (first in ``h0``) counts for every cluster. A cluster holding a
    sample where every subject's difference is the same has an infinite mass
    (MNE's t), met only by flips as infinite: no tolerance there, where an
    infinite one counted none of them and gave p = 0.
    """
    tolerance = _TIE * np.abs(np.where(np.isfinite(masses), masses, 0.0))
    null = h0[:, None]
    if tail == 1:
        beyond = null >= masses - tolerance
    elif tail == -1:
        beyond = null <= masses + tolerance
    else:
        beyond = np.abs(null) >= np.abs(masses) - tolerance
    return beyond.mean(axis=0)


def _null_maps(null, maps, evokeds, reference, normalize):
    """Return the kind of null ("zero" or "maps") and its maps, shaped like ``maps``."""
    _validate_type(null, (str, list, tuple, None), "null", _NULL_DESCRIPTION)
    if isinstance(null, str) or null is None:
        _check_option("null", null, ("zero", None))
        if (maps >= 0).all():
            warn(
                "Every map is non-negative (magnitudes?), so against a zero null "
                "all relevance is 'above the null'. Pass null maps that are "
                "magnitudes too: the same method on another class's epochs or "
                "through a network trained on shuffled labels, or the 'random' "
                "method's magnitudes, averaged over each subject's epochs of its "
                f"map: {_RANDOM_MAGNITUDES}. (Its maps averaged as they "
                "are, with average=True, are signed and about zero: the zero null "
                "again.)"
            )
        return "zero", np.zeros_like(maps)
    null = _check_evoked_list(null, "null")
    _unmarked_bads(null, "null")
    if len(null) != len(maps):
        raise ValueError(
            f"null must hold one map per subject ({len(maps)}), got {len(null)}."
        )
    if normalize == "mass":
        _refuse_unequal_averages(evokeds, null)
    null_maps = [
        _normalized(
            _matched(evoked, reference, f"null[{index}]").data,
            normalize,
            f"null[{index}]",
        )
        for index, evoked in enumerate(null)
    ]
    _warn_if_null_signed(maps, null_maps)
    return "maps", np.array(null_maps)


#: The 'random' method's null for magnitudes, as the warnings advise it.
_RANDOM_MAGNITUDES = (
    "explain(estimator, epochs, 'random', average=False).apply_function(np.abs)"
    ".average()"
)


def _refuse_unequal_averages(evokeds, null):
    """Refuse, for ``normalize="mass"``, a map and null averaging other epoch counts.

    An average of fewer epochs holds more noise, so its mean magnitude is
    larger and scaling by it shrinks its share of what both maps hold: what
    the classes share no longer cancels. On 10 subjects without any class
    difference, maps of 30 epochs against nulls of 15 gave a significant
    cluster in 58 percent of tests, and of 40 against 10 in all of them
    (EEGNet's DeepLIFT maps of 30 against 10 simulated featureless epochs: a
    cluster at p = 0.031); scaled alike (``normalize=None``), 2 to 5 percent.
    """
    unequal = [
        f"evokeds[{index}] averages {evoked.nave}, null[{index}] {other.nave}"
        for index, (evoked, other) in enumerate(zip(evokeds, null, strict=True))
        if evoked.nave != other.nave
    ]
    if unequal:
        raise ValueError(
            f"With normalize='mass', a subject's map and its null must average "
            f"as many epochs, but {'; '.join(unequal[:3])}"
            f"{' (and more)' if len(unequal) > 3 else ''}: each map is scaled by "
            "its own mean magnitude, which noise inflates in an average of fewer "
            "epochs, so what both maps share no longer cancels and clusters appear "
            "without any difference. Explain as many epochs of each class "
            "(epochs.equalize_event_counts() before explain), or pass "
            "normalize=None when both maps come from the same network."
        )


def _warn_if_null_signed(maps, null_maps):
    """Warn of signed null maps beside magnitudes.

    The 'random' method's maps averaged as they are (``average=True``) are
    signed and about zero: tested against them, magnitudes were above the
    null everywhere, as against ``"zero"`` (6 spurious clusters of saliency
    maps of 5 subjects, none against the random magnitudes).
    """
    signed = [index for index, null_map in enumerate(null_maps) if null_map.min() < 0]
    if not (maps >= 0).all() or not signed:
        return
    warn(
        f"Every map is non-negative (magnitudes?), but null map(s) {signed} "
        "are signed, so the maps are above them wherever the nulls' signs "
        "cancel. Make the nulls magnitudes as the maps are: the same method, "
        "or magnitudes averaged over each subject's epochs of its map, e.g. "
        f"{_RANDOM_MAGNITUDES}."
    )


@verbose
@fill_doc
def relevance_cluster_test(
    evokeds,
    null=None,
    *,
    normalize="mass",
    adjacency="auto",
    n_permutations=1024,
    threshold=None,
    tail=1,
    alpha=0.05,
    random_state=None,
    n_jobs=None,
    verbose=None,
):
    """Test where and when relevance is above a null, across subjects.

    A cluster-based permutation test :footcite:`MarisOostenveld2007` of the
    paired differences ``subject map − null map``, one pair per subject,
    with MNE's :func:`mne.stats.spatio_temporal_cluster_1samp_test`: samples
    whose t-value over subjects passes ``threshold`` form clusters with their
    neighbours in time and space (channel adjacency from the montage), and
    the sum of a cluster's t-values is compared with the largest cluster of
    each random sign flip of the subjects' differences. The p-value of a
    cluster controls the family-wise error over every channel and time.

    Parameters
    ----------
    evokeds : list of mne.Evoked
        One attribution map per subject, all on the same channels and
        times, e.g. ``mne_xai.explain(estimator, epochs["left"],
        target="left", average=True)`` on that subject's epochs. Channels in
        another order than in ``evokeds[0]`` (and in the nulls) are read by
        name, in its order, which the results follow. See Notes for signed
        maps and magnitudes.
    null : list of mne.Evoked | "zero" | None
        The null map of each subject, in the same order: the same network
        and target on the subject's epochs of another class, the same
        method through a network trained on shuffled labels, or the
        ``"random"`` method (see Notes for which answers which question).
        ``"zero"`` or None tests the maps against zero, which suits maps
        that are contrasts already (one class's map minus another's).
    normalize : "mass" | None
        ``"mass"`` divides every map (subject's and null's, each on its own)
        by its mean magnitude over channels and times, so each is a
        distribution of relevance with mean magnitude 1: the test then asks
        where a subject's share of relevance exceeds the null's, whatever
        the scale of the method, network or subject. This is required for
        the ``"random"`` method (unit-less values) and advised for a
        shuffled-label network (whose logits have another scale). It needs
        each subject's map and null to average as many epochs (``nave``):
        scaling an average of fewer epochs by its noisier magnitude made
        clusters appear without any difference. None tests the values as
        they are.
    adjacency : "auto" | None | array | scipy.sparse matrix
        Which channels are neighbours. ``"auto"`` takes them from the
        montage (:func:`mne.channels.find_ch_adjacency`) and refuses channels
        without positions. None makes no channel a neighbour of another, so
        clusters run over time within a channel. A matrix of shape
        ``(n_channels, n_channels)`` is used as given, its rows and columns
        in the channel order of ``evokeds[0]`` (``evokeds[0].ch_names``)
        whatever the order of the others, e.g.
        ``mne.channels.find_ch_adjacency(evokeds[0].info, "eeg")[0]``. Maps
        of a single channel (e.g. Oz) are tested over time with
        :func:`mne.stats.permutation_cluster_1samp_test`, whatever this is.
    n_permutations : int | "all"
        Number of random sign flips; when it reaches the number of distinct
        flips (``2 ** n_subjects``, or half that for ``tail=0``), the test is
        exact, over all of them. (MNE's exact one-sided test counts the
        observed flips twice and leaves out the flip of every subject, which
        doubled the smallest p-value; that flip is counted here instead.)
    threshold : float | None
        The t-value that puts a sample in a cluster (negative for
        ``tail=-1``). None uses MNE's default, the t-value of p = 0.05 with
        ``n_subjects - 1`` degrees of freedom, split between the tails for
        ``tail=0`` (0.025 in each).
    tail : 1 | 0 | -1
        1 finds relevance above the null, -1 below it, 0 either.
    alpha : float
        Level below which a cluster's p-value is significant.
    %(random_state_type)s
        Seed of the sign flips (MNE's ``rng``).
    n_jobs : int | None
        Number of jobs for the permutations (MNE's ``n_jobs``).
    %(verbose)s

    Returns
    -------
    result : RelevanceClusterTestResult
        The t-map and every cluster as MNE objects, their p-values, time
        windows and channels, and :meth:`~RelevanceClusterTestResult.to_frame`.

    See Also
    --------
    mne.grand_average
    mne.stats.spatio_temporal_cluster_1samp_test

    Notes
    -----
    **Which null.** The sign-flip test is valid when, without the effect
    asked about, a subject's map and its null map are drawn alike, so that
    their difference is symmetric around zero. Hence:

    - **The other class's epochs** (the same network and target, e.g. the
      ``"left"`` logit explained on the subject's ``"right"`` epochs): what
      the classes share (background EEG, the network's response to any
      input, padding at the edges) is in both maps and cancels, so a
      cluster is where relevance comes from what tells the classes apart.
      Valid for one network explaining many subjects (e.g. held-out subjects
      of a cross-subject network), and cheap. Explain as many epochs of each
      class (:meth:`mne.Epochs.equalize_event_counts`), or pass
      ``normalize=None``.
    - **A network trained on shuffled labels** (same architecture, training
      and method, on the same epochs) keeps what a method shows whatever
      the network learned: the input's own structure, which gradient ×
      input, DeepLIFT and LRP carry :footcite:`AdebayoEtAl2018`, and the
      architecture's (receptive fields, padding). A cluster is where
      relevance is due to what the network learned about the labels. Valid
      when each subject (or fold) has its own pair of networks, trained
      independently; one shuffled network shared by every subject makes its
      quirks look like effects. It costs a second training per network.
    - **The random method** :footcite:`CuiEtAl2023` is the chance level:
      with ``normalize="mass"``, relevance spread evenly. For magnitudes
      (its maps' magnitudes, averaged: ``explain(estimator, epochs,
      "random", average=False).apply_function(np.abs).average()``) the
      test asks where relevance is concentrated, which any network's is
      (where its receptive fields overlap), so it tells where the network
      looks, not that what it learned is there. For signed maps its average
      is zero: the same null as ``"zero"``, with noise added.
    - **Zero** tests signed maps for consistently positive evidence. A
      network's relevance is not zero-mean even on data without any
      feature (on simulated featureless epochs, the DeepLIFT maps of one
      EEGNet gave significant clusters against zero), so keep it for maps
      that are contrasts already, e.g. one class's map minus the other's.

    **Signed maps or magnitudes.** ``explain(..., average=True)`` averages
    signed relevance, where evidence against the class cancels evidence for
    it. To ask where relevance is large whatever its sign, average
    magnitudes, e.g. ``explain(..., average=False).apply_function(np.abs)
    .average()``, for the subjects and the nulls alike. Magnitudes are
    positive, so they are above a zero null everywhere they are non-zero:
    test them against null maps, never against ``"zero"``.

    **Design.** Subjects must be independent draws: maps of held-out
    subjects of one network trained on other subjects, or each subject's
    own network. Leave-one-subject-out networks share most of their
    training data, so their maps are not fully independent; read such a
    test as descriptive. With ``n`` subjects the smallest attainable
    p-value is ``2 ** -n`` one-sided and ``2 ** -(n - 1)`` two-sided, so at
    ``alpha=0.05`` a one-sided test needs 5 subjects and a two-sided one 6.

    A cluster says that relevance is above the null somewhere in it, not at
    each of its samples: its extent in time and space is not itself tested
    :footcite:`MarisOostenveld2007`. Crop the maps to the interval of
    interest first (``evoked.crop``) for more power there.

    References
    ----------
    .. footbibliography::
    """
    evokeds = _check_evoked_list(evokeds, "evokeds")
    n_subjects = len(evokeds)
    _check_option("normalize", normalize, ("mass", None))
    _check_parameters(n_subjects, n_permutations, threshold, tail, alpha)
    n_jobs = check_n_jobs(n_jobs)
    reference = evokeds[0]
    evokeds = [
        _matched(evoked, reference, f"evokeds[{index}]")
        for index, evoked in enumerate(evokeds)
    ]
    _check_one_method(evokeds)
    _unmarked_bads(evokeds)
    maps = np.array(
        [
            _normalized(evoked.data, normalize, f"evokeds[{index}]")
            for index, evoked in enumerate(evokeds)
        ]
    )
    null_kind, null_maps = _null_maps(null, maps, evokeds, reference, normalize)
    adjacency_matrix, adjacency_story = _channel_adjacency(reference.info, adjacency)
    if threshold is None:
        threshold = _cluster_forming_threshold(n_subjects, tail)
    _, exact, n_flips = _smallest_p_value(n_subjects, n_permutations, tail)
    logger.info(
        f"Cluster test over {n_subjects} subjects vs {null_kind} null "
        f"({adjacency_story}), t threshold {threshold:.3g}, "
        f"{n_flips if exact else n_permutations} sign flips"
        f"{' (exact)' if exact else ''}."
    )
    seed = _one_seed(random_state)
    # MNE's layout: (observations, times, channels).
    differences = (maps - null_maps).transpose(0, 2, 1)
    common = dict(
        stat_fun=_t_statistic,
        threshold=threshold,
        # MNE reads "all" as one flip short of all of them, drawn at random.
        n_permutations=n_flips if exact else n_permutations,
        tail=tail,
        n_jobs=n_jobs,
        out_type="mask",
        rng=seed,
        verbose=verbose,
    )

    def test(differences, **params):
        # No sample beyond the threshold is an answer (nothing above the
        # null), reported in the result; not a reason to warn.
        with ignoring("No clusters found"), mne_bars_as_ours():
            if adjacency_matrix is None:
                return mne.stats.permutation_cluster_1samp_test(
                    differences[..., 0], **{**common, **params}
                )
            return mne.stats.spatio_temporal_cluster_1samp_test(
                differences, adjacency=adjacency_matrix, **{**common, **params}
            )

    t_obs, clusters, _, h0 = test(differences)
    # (n_channels, n_times) masks from MNE's (n_times, n_channels) boolean
    # masks, or from tuples of slices over time for one channel.
    masks = []
    for cluster in clusters:
        mask = np.zeros(t_obs.shape, bool)
        mask[cluster] = True
        masks.append(mask.reshape(len(reference.times), -1).T)
    t_map = t_obs.reshape(len(reference.times), -1).T
    masses = np.array([t_map[mask].sum() for mask in masks])
    if tail != 0 and masks:
        # One more forward of MNE's test, without flips, for the mended null.
        identity = _identity_position(n_subjects, tail, common["n_permutations"], seed)
        h0 = _with_every_flip(h0, identity, test(-differences, n_permutations=1)[3])
    # No cluster has no null to read (MNE returns an empty one).
    p_values = _p_values(h0, masses, tail) if masks else np.array([])
    order = np.lexsort((-np.abs(masses), p_values)) if masks else []
    info = map_info(reference.info).copy()
    tmin = reference.times[0]

    def evoked_of(data, comment):
        return evoked_array(data, info, tmin, comment=comment, nave=n_subjects)

    result = RelevanceClusterTestResult(
        t_values=evoked_of(t_map, f"t over {n_subjects} subjects (map - null)"),
        clusters=[masks[index] for index in order],
        p_values=p_values[order],
        masses=masses[order] if masks else np.array([]),
        grand_average=evoked_of(
            maps.mean(axis=0), f"grand average of {reference.comment or 'relevance'}"
        ),
        null_average=(
            None if null_kind == "zero" else evoked_of(null_maps.mean(axis=0), "null")
        ),
        alpha=float(alpha),
        threshold=float(threshold),
        tail=tail,
        n_subjects=n_subjects,
        n_permutations=n_flips if exact else int(n_permutations),
        h0=h0,
        null=null_kind,
        normalize=normalize,
        adjacency=adjacency_story,
    )
    logger.info(repr(result))
    return result
