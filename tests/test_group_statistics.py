"""Group-level cluster tests of attribution maps over subjects."""

import itertools
import os
import warnings

import matplotlib
import mne
import numpy as np
import pandas as pd
import pytest
from mne.stats.cluster_level import _get_1samp_orders
from mne.utils import catch_logging
from scipy import sparse, stats

from mne_xai import EEGNetClassifier, explain
from mne_xai._progress import mne_bars_as_ours
from mne_xai.datasets import _builtin_montage
from mne_xai.evaluate import RelevanceClusterTestResult, relevance_cluster_test
from mne_xai.evaluate.group._adjacency import _channel_adjacency
from mne_xai.simulation import simulate_epochs

matplotlib.use("Agg")

SFREQ = 128.0
N_TIMES = 40
PLANTED_CHANNELS = ["O1", "Oz", "O2"]
PLANTED_SAMPLES = slice(15, 25)


@pytest.fixture(scope="module", autouse=True)
def _bars_without_their_refresh_thread():
    """MNE's progress bar refreshes from a thread that sleeps 1/30 s between
    looks, and each cluster test waits for it to end: about 0.1 s of sleep per
    test, 80 s of this file's hundreds of reference tests. The bar's count is
    set when it closes; the statistics do not read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mne.utils.progressbar._UpdateThread, "run", lambda self: None)
        yield


@pytest.fixture(scope="module")
def eeg_info():
    """16 channels of the 10-20 system with positions."""
    names = "Fp1 Fp2 F3 Fz F4 C3 Cz C4 P3 Pz P4 O1 Oz O2 T7 T8".split()
    info = mne.create_info(names, SFREQ, "eeg")
    info.set_montage(_builtin_montage("1020"))
    return info


def _maps(info, n_subjects, *, effect=0.0, seed=0, channels=PLANTED_CHANNELS):
    """Noise maps per subject, with ``effect`` added on the planted samples."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n_subjects, info["nchan"], N_TIMES))
    rows = [info["ch_names"].index(name) for name in channels]
    data[:, rows, PLANTED_SAMPLES] += effect
    return [mne.EvokedArray(d, info, tmin=0.0, verbose=False) for d in data]


def _test(maps, null="zero", **kwargs):
    kwargs = dict(normalize=None, random_state=0, verbose=False) | kwargs
    return relevance_cluster_test(maps, null, **kwargs)


# --- Mechanics on synthetic maps -------------------------------------------


@pytest.mark.parametrize("null_kind", ["zero", "maps"])
def test_planted_effect_is_recovered(eeg_info, null_kind):
    maps = _maps(eeg_info, 8, effect=2.0)
    null = "zero" if null_kind == "zero" else _maps(eeg_info, 8, seed=1)
    result = _test(maps, null)
    assert isinstance(result, RelevanceClusterTestResult)
    assert len(result.significant) == 1
    (tmin, tmax), channels = result.time_windows[0], result.channels[0]
    times = maps[0].times[PLANTED_SAMPLES]
    # The cluster's window is the planted one, give or take a noise sample.
    assert abs(tmin - times[0]) <= 1.5 / SFREQ
    assert abs(tmax - times[-1]) <= 1.5 / SFREQ
    assert set(PLANTED_CHANNELS) <= set(channels)
    planted = np.zeros(result.mask.shape, bool)
    rows = [eeg_info["ch_names"].index(name) for name in PLANTED_CHANNELS]
    planted[np.ix_(rows, np.arange(N_TIMES)[PLANTED_SAMPLES])] = True
    assert (result.mask & planted).sum() / planted.sum() >= 0.9
    assert (result.mask & planted).sum() / result.mask.sum() >= 0.8
    # 8 subjects, one-sided: the exact test over all 2 ** 8 sign flips.
    assert result.n_permutations == 256
    assert 1 / 256 <= result.p_values[0] < 0.05
    assert result.null == null_kind
    assert result.adjacency == "channel neighbours from the montage"


def test_result_objects_are_mne_and_tables(eeg_info):
    maps = _maps(eeg_info, 8, effect=2.0)
    result = _test(maps)
    assert isinstance(result.t_values, mne.EvokedArray)
    assert result.t_values.ch_names == eeg_info["ch_names"]
    np.testing.assert_allclose(result.t_values.times, maps[0].times)
    data = np.array([evoked.data for evoked in maps])
    expected_t = stats.ttest_1samp(data, 0).statistic
    np.testing.assert_allclose(result.t_values.data, expected_t)
    # With normalize=None the grand average is MNE's.
    np.testing.assert_allclose(
        result.grand_average.data, mne.grand_average(maps).data, atol=1e-12
    )
    assert result.null_average is None
    # Each map is a mean over the subjects, as MNE's grand average says.
    assert result.t_values.nave == result.grand_average.nave == len(maps)
    (cluster,) = result.significant_clusters
    assert isinstance(cluster, mne.EvokedArray)
    inside = result.clusters[result.significant[0]]
    np.testing.assert_array_equal(cluster.data[inside], result.t_values.data[inside])
    assert (cluster.data[~inside] == 0).all()
    assert "p = " in cluster.comment

    table = result.to_frame()
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == [
        "cluster",
        "p_value",
        "significant",
        "tmin",
        "tmax",
        "channels",
        "n_channels",
        "n_samples",
        "mass",
    ]
    assert len(table) == len(result.clusters)
    assert table["p_value"].is_monotonic_increasing
    first = table.iloc[0]
    assert first["significant"] and first["n_samples"] == inside.sum()
    assert first["n_channels"] == len(first["channels"]) == inside.any(axis=1).sum()
    assert first["mass"] == pytest.approx(result.t_values.data[inside].sum())
    assert (first["tmin"], first["tmax"]) == result.time_windows[0]
    assert "1 significant" in repr(result)

    # The clusters are ready for MNE's plots.
    time = maps[0].times[20]
    result.t_values.plot_topomap(
        times=time, mask=result.mask, scalings=1, units="t", show=False
    )
    cluster.plot_image(scalings=1, units=dict(eeg="t"), show=False)
    with pytest.raises(IndexError, match="cluster"):
        result.cluster_evoked(len(result.clusters))


@pytest.mark.parametrize("tail", [1, -1])
def test_clusters_of_equal_p_values_come_largest_first(eeg_info, tail):
    """Clusters as significant as each other are sorted by the size of their
    mass, largest first (the most negative for tail=-1), so that cluster 0 is
    the main finding; the mask holds every significant cluster."""
    rng = np.random.default_rng(0)
    data = 0.1 * rng.standard_normal((5, eeg_info["nchan"], N_TIMES))
    rows = [eeg_info["ch_names"].index(name) for name in PLANTED_CHANNELS]
    data[:, rows, PLANTED_SAMPLES] += 5.0 * tail  # large
    data[:, eeg_info["ch_names"].index("Fp1"), 2:5] += 5.0 * tail  # small, early
    maps = [mne.EvokedArray(d, eeg_info, tmin=0.0, verbose=False) for d in data]
    # Only the planted channels are neighbours: no noise joins Fp1's cluster.
    adjacency = np.zeros((eeg_info["nchan"], eeg_info["nchan"]))
    adjacency[np.ix_(rows, rows)] = 1
    result = _test(maps, adjacency=adjacency, tail=tail)
    assert result.p_values[0] == result.p_values[1] == pytest.approx(1 / 32)
    assert abs(result.masses[0]) > abs(result.masses[1])
    assert result.channels[1] == ["Fp1"]
    assert result.to_frame()["mass"].tolist()[:2] == list(result.masses[:2])
    assert set(result.significant) >= {0, 1}
    union = np.logical_or.reduce([result.clusters[i] for i in result.significant])
    np.testing.assert_array_equal(result.mask, union)


def test_cluster_evoked_reads_negative_indices_and_alpha_is_strict(eeg_info):
    """cluster_evoked(-1) is the last cluster, as in a list, and its comment
    names it as to_frame does, with its own p-value; a p-value equal to alpha is
    not below it, so not significant."""
    result = _test(_maps(eeg_info, 8, effect=2.0))
    last = result.cluster_evoked(-1)
    expected = np.where(result.clusters[-1], result.t_values.data, 0.0)
    np.testing.assert_array_equal(last.data, expected)
    assert result.p_values[-1] != result.p_values[0]
    row = result.to_frame().iloc[-1]
    assert last.comment == f"cluster {row['cluster']} (p = {row['p_value']:.3g})"
    with pytest.raises(IndexError, match="out of range"):
        result.cluster_evoked(-len(result.clusters) - 1)
    result.alpha = result.p_values[0]
    assert len(result.significant) == 0 and not result.mask.any()
    assert not result.to_frame()["significant"].any()


def test_no_effect_no_significant_cluster(eeg_info):
    result = _test(_maps(eeg_info, 8), _maps(eeg_info, 8, seed=1))
    assert len(result.significant) == 0
    assert not result.mask.any()
    assert result.time_windows == [] and result.significant_clusters == []
    assert "0 significant" in repr(result)


def test_family_wise_error_rate_is_alpha():
    """Without an effect, the chance of any significant cluster stays at alpha."""
    info = mne.create_info(["P3", "Pz", "P4", "O1", "Oz", "O2"], SFREQ, "eeg")
    info.set_montage(_builtin_montage("1020"))
    rng = np.random.default_rng(0)
    n_runs, rejections = 60, 0
    for _ in range(n_runs):
        # Six subjects: the exact test over 2 ** 6 sign flips, quick to run.
        maps, null = (
            [mne.EvokedArray(rng.standard_normal((6, 20)), info) for _ in range(6)]
            for _ in range(2)
        )
        result = relevance_cluster_test(maps, null, random_state=0, verbose=False)
        rejections += len(result.significant) > 0
    # Binomial(60, 0.05) exceeds 7 with probability below 0.01.
    assert rejections <= 7, rejections


def _largest_cluster_mass(maps, tail):
    """The mass of the most extreme cluster of the maps (0 without a cluster).

    Only the observed masses are read, which no permutation changes: two
    permutations, the fewest the test takes (their smallest p-value, 1/2,
    under alpha).
    """
    masses = _test(maps, tail=tail, n_permutations=2, alpha=0.9).masses
    if not len(masses):
        return 0.0
    if tail == 0:
        return masses[np.argmax(np.abs(masses))]
    return masses.max() if tail == 1 else masses.min()


@pytest.mark.parametrize("tail, n_permutations", [(1, "all"), (-1, 1024)])
def test_exact_one_sided_p_values_count_every_sign_flip_once(
    eeg_info, tail, n_permutations
):
    """MNE's exact one-sided test counted the observed flips twice and never the
    flip of every subject: five subjects with an overwhelming effect got
    p = 2 / 32, not significant ("all" drew 30 flips at random)."""
    n_subjects = 5
    maps = _maps(eeg_info, n_subjects, effect=3.0 * tail)
    result = _test(maps, tail=tail, n_permutations=n_permutations)
    assert result.n_permutations == len(result.h0) == 2**n_subjects
    assert result.p_values[0] == pytest.approx(1 / 2**n_subjects)
    # Every p-value equals the share of all 32 sign flips whose largest
    # cluster is at least as extreme as the cluster's mass.
    flips = []
    for signs in itertools.product([1, -1], repeat=n_subjects):
        flipped = [
            m.copy().apply_function(lambda d, s=s: s * d)
            for m, s in zip(maps, signs, strict=True)
        ]
        flips.append(_largest_cluster_mass(flipped, tail))
    flips = np.array(flips)
    beyond = (
        flips[:, None] >= result.masses
        if tail == 1
        else flips[:, None] <= result.masses
    )
    np.testing.assert_allclose(result.p_values, beyond.mean(axis=0))
    np.testing.assert_allclose(np.sort(result.h0), np.sort(flips))


@pytest.mark.parametrize("tail", [1, -1])
def test_the_flip_of_every_subject_without_a_cluster_counts_as_none(eeg_info, tail):
    """Where the maps flipped all at once form no cluster (an effect of one sign
    and nothing else), that flip's largest cluster mass is 0, which does not
    reach the observed one: p = 1 / 32 for 5 subjects, the observed mass once
    in the null (counted twice, it would be 2 / 32)."""
    rng = np.random.default_rng(0)
    data = np.zeros((5, eeg_info["nchan"], N_TIMES))
    rows = [eeg_info["ch_names"].index(name) for name in PLANTED_CHANNELS]
    data[:, rows, PLANTED_SAMPLES] = tail * (3.0 + rng.standard_normal((5, 3, 10)))
    data[0, 0, 0] = -tail  # signed maps; one subject's t of 1 forms no cluster
    maps = [mne.EvokedArray(d, eeg_info, tmin=0.0, verbose=False) for d in data]
    result = _test(maps, tail=tail, n_permutations="all")
    assert len(result.clusters) == 1
    assert result.p_values[0] == pytest.approx(1 / 32)
    assert np.isclose(result.h0, result.masses[0], rtol=1e-9).sum() == 1


@pytest.mark.parametrize("tail, n_subjects", [(1, 5), (-1, 5), (0, 6)])
def test_sign_flips_that_tie_with_the_observed_cluster_count(
    eeg_info, tail, n_subjects
):
    """A subject whose map is zero on the cluster (ReLU'd maps) leaves its mass
    unchanged when flipped; MNE's sum of that flip's mass fell a few ulp short
    of the cluster's and was not counted: p = 1 / 32 where 2 / 32 was exact
    (tail=1, seeds 0 and 5; tail=0, seeds 0 to 2)."""
    for seed in range(6):
        maps = _maps(eeg_info, n_subjects, effect=1.5 * (tail or 1), seed=seed)
        maps[2].data[:, 5:35] = 0.0
        result = _test(maps, tail=tail, n_permutations="all")
        flips = np.array(
            [
                _largest_cluster_mass(
                    [
                        m.copy().apply_function(lambda d, s=s: s * d)
                        for m, s in zip(maps, signs, strict=True)
                    ],
                    tail,
                )
                for signs in itertools.product([1, -1], repeat=n_subjects)
            ]
        )[:, None]
        masses = result.masses
        if tail == 0:  # the null of the most extreme cluster of either sign
            flips, masses = np.abs(flips), np.abs(masses)
        ties = np.isclose(flips, masses, rtol=1e-9, atol=0)
        beyond = ties | (flips < masses if tail == -1 else flips > masses)
        np.testing.assert_allclose(result.p_values, beyond.mean(axis=0))
        # The flip of subject 2 counts with the identity (and their negations).
        assert result.p_values[0] >= (2 if tail else 4) / 2**n_subjects


@pytest.mark.parametrize("tail", [1, 0, -1])
def test_default_threshold_is_mnes_for_each_tail(eeg_info, tail):
    # MNE's permutation_cluster_1samp_test with threshold=None: p = 0.05 for
    # one tail, 0.025 in each of two.
    maps = _maps(eeg_info, 8, effect=2.0)
    p = 0.05 / (2 if tail == 0 else 1)
    expected = stats.t.ppf(1 - p, len(maps) - 1) * (-1 if tail == -1 else 1)
    assert _test(maps, tail=tail).threshold == pytest.approx(expected)


def test_negative_tail_finds_relevance_below_null(eeg_info):
    maps = _maps(eeg_info, 8, effect=-2.0)
    assert len(_test(maps, tail=1).significant) == 0
    below = _test(maps, tail=-1)
    assert len(below.significant) == 1 and below.threshold < 0
    assert below.masses[0] < 0
    both = _test(maps, tail=0)
    assert len(both.significant) == 1


def test_a_two_sided_threshold_is_positive(eeg_info):
    """MNE takes one positive threshold for both tails of tail=0 (|t| beyond
    it): a positive one is used, a negative one refused before MNE's test."""
    maps = _maps(eeg_info, 8, effect=-2.0)
    assert len(_test(maps, tail=0, threshold=2.5).significant) == 1
    with pytest.raises(ValueError, match="threshold must be positive for tail=0"):
        _test(maps, tail=0, threshold=-2.5)


def test_single_channel_is_tested_over_time():
    info = mne.create_info(["Oz"], SFREQ, "eeg")
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 1, N_TIMES))
    data[:, :, PLANTED_SAMPLES] += 2.0
    maps = [mne.EvokedArray(d, info, tmin=-0.1, verbose=False) for d in data]
    # No montage is needed for one channel.
    result = _test(maps)
    assert result.adjacency.startswith("one channel (Oz)")
    assert len(result.significant) == 1
    times = maps[0].times[PLANTED_SAMPLES]
    tmin, tmax = result.time_windows[0]
    assert abs(tmin - times[0]) <= 1.5 / SFREQ
    assert abs(tmax - times[-1]) <= 1.5 / SFREQ
    assert result.channels == [["Oz"]]
    assert result.t_values.data.shape == (1, N_TIMES)
    # Whatever the adjacency, as documented.
    for adjacency in (None, np.ones((16, 16))):
        again = _test(maps, adjacency=adjacency)
        assert again.adjacency == result.adjacency
        np.testing.assert_array_equal(again.p_values, result.p_values)


def test_adjacency_without_positions(eeg_info):
    bare = mne.create_info(eeg_info["ch_names"], SFREQ, "eeg")
    maps = [
        mne.EvokedArray(evoked.data, bare, verbose=False)
        for evoked in _maps(eeg_info, 8, effect=2.0)
    ]
    with pytest.raises(ValueError, match="positions.*set_montage.*adjacency=None"):
        _test(maps)
    # A channel at the origin, as a montage without it leaves it, has none either.
    at_origin = eeg_info.copy()
    at_origin["chs"][0]["loc"][:3] = 0.0
    origin_maps = [
        mne.EvokedArray(evoked.data, at_origin, verbose=False) for evoked in maps
    ]
    with pytest.raises(ValueError, match=r"1 channel\(s\) have none \(\['Fp1'\]\)"):
        _test(origin_maps)
    # Nor has a channel with a coordinate that is not finite.
    partial = eeg_info.copy()
    partial["chs"][0]["loc"][1] = np.inf
    partial_maps = [
        mne.EvokedArray(evoked.data, partial, verbose=False) for evoked in maps
    ]
    with pytest.raises(ValueError, match=r"1 channel\(s\) have none \(\['Fp1'\]\)"):
        _test(partial_maps)
    # None: each channel on its own; the planted channels form one cluster each.
    result = _test(maps, adjacency=None)
    assert result.adjacency.startswith("none")
    assert all(len(channels) == 1 for channels in result.channels)
    assert {channels[0] for channels in result.channels} == set(PLANTED_CHANNELS)
    # An explicit matrix is used as given: the three planted channels linked.
    matrix = np.zeros((16, 16))
    rows = [eeg_info["ch_names"].index(name) for name in PLANTED_CHANNELS]
    matrix[np.ix_(rows, rows)] = 1
    linked = _test(maps, adjacency=matrix)
    assert linked.adjacency == "given adjacency matrix"
    assert sorted(linked.channels[0]) == sorted(PLANTED_CHANNELS)
    # One row per channel is not enough: one column per channel too.
    for shape in ((3, 3), (16, 3)):
        with pytest.raises(ValueError, match=r"adjacency must be \(16, 16\)"):
            _test(maps, adjacency=np.zeros(shape))


def test_neighbours_listed_in_another_order_are_read_by_name(eeg_info, monkeypatch):
    """MNE's neighbour templates (e.g. Neuromag's) list the channels in their
    own order: rows and columns are put in the order of the maps, by name."""
    expected, _ = _channel_adjacency(eeg_info, "auto")
    find = mne.channels.find_ch_adjacency

    def cycled(info, ch_type):  # a cycle: a reversal is its own inverse
        matrix, names = find(info, ch_type)
        order = np.roll(np.arange(len(names)), 1)
        return sparse.csr_matrix(matrix)[order][:, order], [names[i] for i in order]

    monkeypatch.setattr(mne.channels, "find_ch_adjacency", cycled)
    adjacency, _ = _channel_adjacency(eeg_info, "auto")
    np.testing.assert_array_equal(adjacency.toarray(), expected.toarray())

    def without_t8(info, ch_type):  # a template that lacks a channel of the maps
        matrix, names = find(info, ch_type)
        return sparse.csr_matrix(matrix)[:-1][:, :-1], names[:-1]

    monkeypatch.setattr(mne.channels, "find_ch_adjacency", without_t8)
    with pytest.raises(ValueError, match=r"no neighbours for channels \['T8'\]"):
        _channel_adjacency(eeg_info, "auto")


def test_auto_adjacency_needs_one_channel_type(eeg_info):
    """Neighbours are found among channels of one type: maps of EEG and EOG are
    refused with advice, not left to fail on the channels MNE did not place."""
    info = mne.create_info(eeg_info["ch_names"][:-1] + ["EOG"], SFREQ, "eeg")
    info.set_channel_types({"EOG": "eog"})
    info.set_montage(_builtin_montage("1020"), on_missing="ignore")
    info["chs"][-1]["loc"][:3] = [0.05, 0.08, 0.0]  # placed, by the eye
    maps = [
        mne.EvokedArray(evoked.data, info, verbose=False)
        for evoked in _maps(eeg_info, 8, effect=2.0)
    ]
    with pytest.raises(ValueError, match=r"one channel type, got \['eeg', 'eog'\]"):
        _test(maps)


def test_normalize_mass_compares_shares(eeg_info):
    """Null maps in another unit (e.g. the random method's) are compared by share."""
    maps = _maps(eeg_info, 8, effect=2.0)
    positive = [evoked.copy().apply_function(np.abs) for evoked in maps]
    rng = np.random.default_rng(3)
    # Null maps a thousand times larger, spread evenly: raw values are all
    # below them, shares are not.
    null = [
        mne.EvokedArray(1e3 * np.abs(rng.standard_normal((16, N_TIMES))), eeg_info)
        for _ in maps
    ]
    assert len(_test(positive, null).significant) == 0
    shares = _test(positive, null, normalize="mass")
    assert len(shares.significant) == 1
    assert set(PLANTED_CHANNELS) <= set(shares.channels[0])
    np.testing.assert_allclose(np.abs(shares.grand_average.data).mean(), 1.0)


def test_normalize_mass_scales_signed_maps_by_their_mean_magnitude(eeg_info):
    """Signed maps are scaled by their mean magnitude, not their mean (about 0)."""
    maps = _maps(eeg_info, 8, effect=2.0)
    null = _maps(eeg_info, 8, seed=1)
    result = _test(maps, null, normalize="mass")
    scaled = [evoked.data / np.abs(evoked.data).mean() for evoked in maps]
    np.testing.assert_allclose(result.grand_average.data, np.mean(scaled, axis=0))
    scaled_null = [evoked.data / np.abs(evoked.data).mean() for evoked in null]
    np.testing.assert_allclose(result.null_average.data, np.mean(scaled_null, axis=0))


def test_magnitudes_against_signed_nulls_are_warned_of(eeg_info):
    """Magnitudes tested against signed null maps are above them wherever they
    cancel: warned of, naming the signed nulls; magnitudes as nulls are not."""
    magnitudes = [m.copy().apply_function(np.abs) for m in _maps(eeg_info, 5)]
    null = [m.copy().apply_function(np.abs) for m in _maps(eeg_info, 5, seed=1)]
    null[0].data[0, 0] = 0.0  # a magnitude may vanish: it is not signed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _test(magnitudes, null)
    signed = null[:3] + _maps(eeg_info, 2, seed=2)
    with pytest.warns(RuntimeWarning, match=r"null map\(s\) \[3, 4\] are signed"):
        _test(magnitudes, signed)
    # Signed maps against signed nulls are as they should be.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _test(_maps(eeg_info, 5, effect=2.0), _maps(eeg_info, 5, seed=1))


def test_channel_order_does_not_matter(eeg_info):
    """Maps and null maps with their channels in another order than evokeds[0]
    are read by name, even with the first channel in its place."""
    maps = _maps(eeg_info, 8, effect=2.0)
    null = _maps(eeg_info, 8, seed=1)
    # A cycle: a reversal is its own inverse, and hides the inverse permutation.
    names = maps[0].ch_names
    cycled = names[:1] + names[2:] + names[1:2]

    def shuffled(evokeds):
        return [evoked.copy().reorder_channels(cycled) for evoked in evokeds]

    reference = _test(maps, null)
    mixed_maps, mixed_null = (
        maps[:4] + shuffled(maps[4:]),
        null[:2] + shuffled(null[2:]),
    )
    mixed = _test(mixed_maps, mixed_null)
    # The caller's maps are read, not reordered.
    assert mixed_maps[4].ch_names == mixed_null[2].ch_names == cycled
    np.testing.assert_allclose(mixed.t_values.data, reference.t_values.data)
    np.testing.assert_allclose(mixed.null_average.data, reference.null_average.data)
    np.testing.assert_array_equal(mixed.p_values, reference.p_values)


def test_random_state_fixes_the_sign_flips(eeg_info):
    maps = _maps(eeg_info, 12, effect=0.8)
    first = _test(maps, n_permutations=200, random_state=1)
    again = _test(maps, n_permutations=200, random_state=1)
    np.testing.assert_array_equal(first.p_values, again.p_values)
    assert first.n_permutations == 200


def test_clear_errors(eeg_info):
    maps = _maps(eeg_info, 8)
    other_channels = maps[3].copy().drop_channels(["Fp1"])
    with pytest.raises(ValueError, match=r"evokeds\[3\].*missing \['Fp1'\]"):
        _test(maps[:3] + [other_channels] + maps[4:])
    shorter = maps[2].copy().crop(0, 0.2)
    with pytest.raises(ValueError, match=r"evokeds\[2\] has other times"):
        _test(maps[:2] + [shorter] + maps[3:])
    # Shifted by half a second, or by a tenth of a sample (under a millisecond),
    # also on times far from zero, where a relative tolerance would pass it.
    late = [evoked.copy().shift_time(1000.0) for evoked in maps]
    for shift, reference in ((0.5, maps), (0.1 / SFREQ, maps), (0.1 / SFREQ, late)):
        shifted = reference[1].copy().shift_time(shift, relative=True)
        with pytest.raises(ValueError, match=r"evokeds\[1\] has other times"):
            _test(reference[:1] + [shifted] + reference[2:])
    with pytest.raises(ValueError, match=r"null\[5\] has other channels"):
        _test(maps, maps[:5] + [other_channels] + maps[6:])
    for nulls in (maps[:7], maps + maps[:1]):
        with pytest.raises(
            ValueError, match=rf"one map per subject \(8\), got {len(nulls)}"
        ):
            _test(maps, nulls)
    with pytest.raises(TypeError, match="null"):
        _test(maps, 0.0)
    with pytest.raises(ValueError, match="null"):
        _test(maps, "random")
    with pytest.raises(TypeError, match=r"evokeds\[0\] must be an instance of Evoked"):
        _test([m.data for m in maps])
    for value in (np.nan, np.inf):
        bad = maps[0].copy()
        bad.data[0, 0] = value
        with pytest.raises(ValueError, match=r"evokeds\[0\] holds NaN or infinite"):
            _test([bad] + maps[1:])
    zero = maps[4].copy()
    zero.data[:] = 0
    with pytest.raises(ValueError, match=r"evokeds\[4\] is zero everywhere"):
        _test(maps[:4] + [zero] + maps[5:], normalize="mass")
    for threshold in (-2.0, 0.0):  # 0 would put every positive t in a cluster
        with pytest.raises(ValueError, match="threshold must be positive"):
            _test(maps, threshold=threshold)
    for alpha in (1.5, 1, 0):  # at 1 every cluster would be significant
        with pytest.raises(
            ValueError, match=rf"alpha must be in \(0, 1\), got {alpha}"
        ):
            _test(maps, alpha=alpha)
    with pytest.raises(ValueError, match="normalize"):
        _test(maps, normalize="zscore")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_jobs=2.0), "n_jobs must be an instance of int-like"),
        (dict(n_jobs="2"), "n_jobs must be an instance of int-like"),
        (dict(random_state="0"), "random_state must be an instance of"),
    ],
)
def test_n_jobs_and_random_state_are_checked_by_name(eeg_info, kwargs, match):
    """MNE's check of n_jobs said "Item must be an instance of int-like or
    None", and NumPy's of a seed "SeedSequence expects int or sequence of
    ints": neither named its argument."""
    with pytest.raises(TypeError, match=match):
        _test(_maps(eeg_info, 8), **kwargs)


@pytest.mark.parametrize(
    "n_subjects, tail, message",
    [
        (1, 1, "needs 2 or more"),
        (4, 1, "16 distinct permutations.*Use 5 or more subjects"),
        (5, 0, "16 distinct.*Use 6 or more subjects, a one-sided test"),
    ],
)
def test_too_few_subjects(eeg_info, n_subjects, tail, message):
    with pytest.raises(ValueError, match=message):
        _test(_maps(eeg_info, n_subjects), tail=tail)


def test_as_many_permutations_as_flips_is_the_exact_test(eeg_info):
    """n_permutations equal to the number of sign flips (2 ** 8) is the exact
    test, and the log says so."""
    with catch_logging() as log:
        result = _test(_maps(eeg_info, 8, effect=2.0), n_permutations=256, verbose=True)
    assert "256 sign flips (exact)." in log.getvalue()
    assert result.n_permutations == 256


def test_too_few_permutations(eeg_info):
    """The smallest p-value of n drawn flips is 1 / n (the observed one among
    them): 20 flips cannot go below alpha=0.05."""
    for n_permutations in (10, 20):
        with pytest.raises(ValueError, match=f"n_permutations={n_permutations}.*draw"):
            _test(_maps(eeg_info, 8), n_permutations=n_permutations)
    with pytest.raises(ValueError, match="n_permutations must be positive, got 0"):
        _test(_maps(eeg_info, 8), n_permutations=0)


def test_an_attainable_p_value_equal_to_alpha_is_refused(eeg_info):
    """Significant means p < alpha: 4 subjects' smallest p-value, 1/16, is not
    below alpha=1/16, so no cluster could be significant."""
    with pytest.raises(ValueError, match="none can be significant at alpha=0.0625"):
        _test(_maps(eeg_info, 4), alpha=1 / 16)


def test_zero_null_warns_for_magnitudes(eeg_info):
    magnitudes = [m.copy().apply_function(np.abs) for m in _maps(eeg_info, 8)]
    with pytest.warns(RuntimeWarning, match="non-negative"):
        result = _test(magnitudes)
    assert len(result.significant) == 1  # everything is "above zero"
    # Magnitudes that vanish somewhere (ReLU'd maps) are magnitudes too.
    magnitudes[0].data[0, 0] = 0.0
    with pytest.warns(RuntimeWarning, match="non-negative"):
        _test(magnitudes)


# --- Simulated subjects, trained network ------------------------------------

N_TEST_SUBJECTS = 8


@pytest.fixture(scope="module")
def simulated_network():
    """EEGNet trained on two simulated subjects, and eight new subjects.

    One network trained on other subjects and explained on held-out ones: the
    maps of different subjects are independent given the network, as the
    sign-flip test needs, and one training keeps the test short.
    """
    settings = dict(snr=1.0, n_epochs=100, verbose=False)
    train = mne.concatenate_epochs(
        [
            simulate_epochs("spatial", random_state=seed, **settings)[0]
            for seed in (100, 101)
        ],
        verbose=False,
    )
    clf = EEGNetClassifier(max_epochs=10, batch_size=32, random_state=0, verbose=False)
    clf.fit(train)
    settings["n_epochs"] = 40
    subjects = [
        simulate_epochs("spatial", random_state=seed, **settings)
        for seed in range(N_TEST_SUBJECTS)
    ]
    featureless = [
        simulate_epochs("spatial", random_state=seed, **(settings | dict(snr=0.0)))[0]
        for seed in range(N_TEST_SUBJECTS)
    ]
    return clf, subjects, featureless


def _class_contrast(clf, subject_epochs, target, other):
    """The target logit's relevance on its own class's epochs, and on the other's."""
    maps = [
        explain(clf, e[target], target=target, average=True) for e in subject_epochs
    ]
    null = [explain(clf, e[other], target=target, average=True) for e in subject_epochs]
    return maps, null


@pytest.mark.parametrize("target, other", [("left", "right"), ("right", "left")])
def test_cluster_covers_simulated_ground_truth(simulated_network, target, other):
    clf, subjects, _ = simulated_network
    assert np.mean([clf.score(epochs) for epochs, _ in subjects]) > 0.9
    maps, null = _class_contrast(clf, [epochs for epochs, _ in subjects], target, other)
    result = relevance_cluster_test(maps, null, random_state=0, verbose=False)
    assert len(result.significant) >= 1
    mask = result.mask

    # What tells the classes apart is both features: the target's, and the
    # other class's, whose relevance for the target is negative on the other
    # class's epochs. Its ground truth is the larger of the two.
    truths = {
        name: mne.grand_average([gt[name].average() for _, gt in subjects]).data
        for name in (target, other)
    }
    truth = np.maximum(*(values / values.max() for values in truths.values()))
    # Coverage: the core of each feature (at least half its peak) is in the
    # clusters.
    for values in truths.values():
        core = values >= 0.5 * values.max()
        assert (mask & core).sum() / core.sum() >= 0.9
    # Little else, in time: the clusters lie within the features' window (as
    # jittered over the epochs); by chance only ~25 % of samples would.
    metadata = pd.concat([epochs.metadata for epochs, _ in subjects])
    times = result.t_values.times
    window = (times >= metadata["feature_tmin"].min()) & (
        times <= metadata["feature_tmax"].max()
    )
    assert (mask & window).sum() / mask.sum() >= 0.95
    # And in time and space: 80 % of the clusters' samples carry at least 5 %
    # of a feature's peak, which only ~13 % of all samples do.
    support = truth >= 0.05
    assert support.mean() < 0.2
    assert (mask & support).sum() / mask.sum() >= 0.8


def test_no_cluster_without_simulated_feature(simulated_network):
    """The same network on featureless subjects: no relevance beyond the null."""
    clf, _, featureless = simulated_network
    for target, other in [("left", "right"), ("right", "left")]:
        maps, null = _class_contrast(clf, featureless, target, other)
        result = relevance_cluster_test(maps, null, random_state=0, verbose=False)
        assert len(result.significant) == 0, (target, result.to_frame().head())


def test_random_null_advised_for_magnitudes_is_one_of_magnitudes(simulated_network):
    """The zero null's warning for magnitudes advised null maps "of the 'random'
    method"; taken as explain(..., "random", average=True), those are signed and
    about zero, and magnitude maps of no effect gave 6 significant clusters of
    5 subjects, without a word. The advice now makes the null magnitudes, and
    signed nulls beside magnitudes are warned of.
    """
    clf, _, featureless = simulated_network
    # Magnitudes with no effect anywhere: every sample's draw is alike.
    rng = np.random.default_rng(0)
    maps = [
        mne.EvokedArray(
            np.abs(rng.standard_normal(epochs.get_data().shape[1:])),
            epochs.info,
            tmin=epochs.tmin,
            nave=len(epochs),
            verbose=False,
        )
        for epochs in featureless
    ]
    with pytest.warns(RuntimeWarning, match="non-negative") as record:
        relevance_cluster_test(maps, random_state=0, verbose=False)
    assert "explain(estimator, epochs, 'random', average=False)" in str(
        record[0].message
    )
    # As advised.
    null = [
        explain(clf, epochs, "random", average=False, random_state=index)
        .apply_function(np.abs)
        .average()
        for index, epochs in enumerate(featureless)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = relevance_cluster_test(maps, null, random_state=0, verbose=False)
    assert len(result.significant) == 0
    signed = [
        explain(clf, epochs, "random", average=True, random_state=index)
        for index, epochs in enumerate(featureless)
    ]
    with pytest.warns(RuntimeWarning, match=r"null map\(s\) \[0, 1, .* are signed"):
        result = relevance_cluster_test(maps, signed, random_state=0, verbose=False)
    assert len(result.significant) == 1  # everything is "above the null"


def test_maps_of_several_methods_are_warned_of(eeg_info):
    """A group of DeepLIFT and saliency maps was tested without a word: the
    difference of the methods' scales came out as a significant cluster."""
    maps = _maps(eeg_info, 6, effect=2.0)
    for index, evoked in enumerate(maps):
        method = "deeplift" if index < 3 else "saliency"
        evoked.comment = f"{method} (predicted class)"
    with pytest.warns(RuntimeWarning, match=r"deeplift: evokeds \[0, 1, 2\]; sal"):
        _test(maps)
    # One method, and comments of the user's own, are not judged.
    comments = (
        lambda index: "deeplift (predicted class)",
        lambda index: f"subject {index}",
        lambda index: f"{'deeplift' if index < 3 else 'saliency'} of subject {index}",
    )
    for comment in comments:
        for index, evoked in enumerate(maps):
            evoked.comment = comment(index)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _test(maps)


def test_bad_channels_of_any_subject_are_tested_and_said(eeg_info):
    """The result kept the first subject's bad channels (so MNE's figures hid
    a tested channel) and ignored the others': it depended on the order."""
    maps = _maps(eeg_info, 8, effect=2.0)
    maps[0].info["bads"] = ["Oz"]
    with pytest.warns(RuntimeWarning, match=r"Oz in evokeds \[0\]"):
        first = _test(maps)
    with pytest.warns(RuntimeWarning, match=r"Oz in evokeds \[7\]"):
        last = _test(maps[1:] + maps[:1])
    for result in (first, last):
        assert result.t_values.info["bads"] == []
        assert result.grand_average.info["bads"] == []
    np.testing.assert_allclose(first.t_values.data, last.t_values.data)
    assert "Oz" in np.array(eeg_info["ch_names"])[first.clusters[0].any(axis=1)]
    # Bad only in the null maps, the channel is tested as well: said too.
    null = _maps(eeg_info, 8, seed=1)
    null[3].info["bads"] = ["Oz", "Pz"]  # every bad channel of a map is said
    with pytest.warns(RuntimeWarning, match=r"Oz in null \[3\]; Pz in null \[3\]"):
        _test(_maps(eeg_info, 8), null)


@pytest.mark.parametrize("tail", [1, -1])
def test_sign_flips_drawn_at_random_hold_the_identity_once(eeg_info, tail):
    """MNE draws random flips among patterns that hold the identity and not the
    flip of every subject: whenever it drew the identity, the observed mass
    stood twice in h0 (an overwhelming effect of six subjects, 21 flips: p =
    0.095 instead of 1 / 21 in 9 of 20 seeds). Unseeded, MNE's test and the
    search for the identity in its flips must still draw the same flips."""
    maps = _maps(eeg_info, 6, effect=3.0 * tail)
    for seed in [*range(6), *[None] * 10]:
        result = _test(maps, tail=tail, n_permutations=21, random_state=seed)
        assert result.p_values[0] == pytest.approx(1 / 21)
        assert np.isclose(result.h0[1:], result.h0[0], rtol=1e-9).sum() == 0


def test_a_drawn_flip_that_ties_with_the_observed_one_is_not_taken_for_it(eeg_info):
    """A subject zero on the cluster gives, flipped, the observed mass; when MNE
    drew that flip and not the identity, it was taken for the identity's
    duplicate and replaced: p = 1 / 21 (significant) where the drawn flips
    gave 2 / 21 (seed 9)."""
    n_subjects, n_permutations = 6, 21
    maps = _maps(eeg_info, n_subjects, effect=3.0)
    maps[2].data[:, 5:35] = 0.0
    for seed in range(12):
        result = _test(maps, n_permutations=n_permutations, random_state=seed)
        # MNE's draw, which depends on the seed and the number of subjects only.
        orders = _get_1samp_orders(
            n_subjects, n_permutations, 1, np.random.default_rng(seed)
        )[0]
        flips = [result.masses[0]]  # the observed signs
        for order in orders:
            signs = 2 * np.asarray(order) - 1
            if (signs == 1).all():  # the identity stands for the flip of all
                signs = -signs
            flipped = [
                m.copy().apply_function(lambda d, s=s: s * d)
                for m, s in zip(maps, signs, strict=True)
            ]
            flips.append(_largest_cluster_mass(flipped, 1))
        expected = np.mean(np.asarray(flips) >= result.masses[0] * (1 - 1e-9))
        assert result.p_values[0] == pytest.approx(expected), seed


def test_no_cluster_is_an_answer_without_warnings(eeg_info):
    """Maps nowhere above the null gave NumPy's 'Mean of empty slice' warning."""
    maps = _maps(eeg_info, 8)
    null = [m.copy().apply_function(lambda d: d + 100.0) for m in maps]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _test(maps, null)
    assert result.clusters == [] and len(result.p_values) == 0
    assert "0 cluster(s), 0 significant" in repr(result)
    assert len(result.to_frame()) == 0 and not result.mask.any()


def test_samples_zero_in_every_map_have_a_t_of_zero(eeg_info):
    """Where every subject's map and null are zero (e.g. the edges of ReLU'd
    maps), the t-value is 0 / 0: it reads 0, not NaN, without NumPy's warning."""
    maps = _maps(eeg_info, 8, effect=2.0)
    for evoked in maps:
        evoked.data[:, :5] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _test(maps)
    np.testing.assert_array_equal(result.t_values.data[:, :5], 0.0)
    assert np.isfinite(result.t_values.data).all()
    assert len(result.significant) == 1


@pytest.mark.parametrize("tail, n_flips", [(1, 2**8), (-1, 2**8), (0, 2**7)])
def test_a_difference_equal_in_every_subject_has_the_smallest_p_value(
    eeg_info, tail, n_flips
):
    """A sample where every subject's difference is the same has an infinite t:
    the tolerance for ties (a fraction of the mass) was infinite too, no flip
    counted, not even the observed one, and p was 0, below the 1 / 256 the
    sign flips of eight subjects can give, with NumPy's 'invalid value'."""
    maps = _maps(eeg_info, 8)
    for evoked in maps:
        evoked.data[3, 10] = 5.0 * (tail or 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _test(maps, tail=tail, n_permutations="all")
    assert np.isinf(result.masses[0])
    # Only the identity (and, two-sided, its negation) is as extreme.
    assert result.p_values[0] == pytest.approx(1 / n_flips)
    assert (result.p_values > 0).all()


def test_the_permutations_draw_no_bar_into_a_log(eeg_info, capsys):
    """MNE's own bar of the permutations was redrawn with carriage returns into
    a redirected stderr, where every bar of mne_xai is off."""
    maps = _maps(eeg_info, 8, effect=1.0)
    _test(maps, n_permutations=50, verbose=True)
    _, err = capsys.readouterr()
    assert "\r" not in err
    assert "MNE_TQDM" not in os.environ  # set for the call only


def test_overlapping_calls_keep_mne_bars_off_until_the_last_ends(monkeypatch):
    """Calls on two threads each set MNE_TQDM and deleted it: the first to end
    deleted it under the other, whose MNE bars were drawn into the log again,
    and the other's delete then raised KeyError in place of its result."""
    monkeypatch.delenv("MNE_TQDM", raising=False)
    first, second = mne_bars_as_ours(), mne_bars_as_ours()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # not in the order they began
    assert os.environ.get("MNE_TQDM") == "off"
    second.__exit__(None, None, None)
    assert "MNE_TQDM" not in os.environ


def test_a_call_that_leaves_mne_bars_alone_does_not_hold_them(monkeypatch):
    """A call where the user set MNE_TQDM changes nothing, and once it ends the
    next call, without it set, switches MNE's bars off for its own time: had
    the first been counted as holding them, it would never have let go."""
    monkeypatch.setenv("MNE_TQDM", "tqdm")
    with mne_bars_as_ours():
        assert os.environ["MNE_TQDM"] == "tqdm"
    monkeypatch.delenv("MNE_TQDM")
    with mne_bars_as_ours():
        assert os.environ.get("MNE_TQDM") == "off"
    assert "MNE_TQDM" not in os.environ


def test_mass_normalization_refuses_maps_and_nulls_of_unequal_counts(eeg_info):
    """Scaled each by its own mean magnitude, a map of 40 epochs and a null of
    10 (the other class's, as the docs advise) no longer cancelled what both
    hold: on 10 subjects without any difference, a cluster in every test."""
    rng = np.random.default_rng(0)
    shared = np.abs(rng.standard_normal((eeg_info["nchan"], N_TIMES)))

    def averages(n_epochs, seed):
        noise = np.random.default_rng(seed).standard_normal((10, *shared.shape))
        return [
            mne.EvokedArray(
                shared + 4 * epoch_noise / np.sqrt(n_epochs),
                eeg_info,
                nave=n_epochs,
                verbose=False,
            )
            for epoch_noise in noise
        ]

    maps, null = averages(40, 1), averages(10, 2)
    # The first three subjects are named, and the other seven said to exist.
    with pytest.raises(
        ValueError, match=r"evokeds\[0\] averages 40, null\[0\] 10.*\(and more\)"
    ):
        _test(maps, null, normalize="mass")
    # Fewer epochs in the maps than in the nulls as well.
    with pytest.raises(ValueError, match=r"evokeds\[0\] averages 10, null\[0\] 40"):
        _test(null, maps, normalize="mass")
    # What the scaling would have tested: a cluster without any difference.
    scaled = [
        [
            evoked.copy().apply_function(
                lambda data: data / np.abs(data).mean(), channel_wise=False
            )
            for evoked in evokeds
        ]
        for evokeds in (maps, null)
    ]
    assert len(_test(*scaled, normalize=None).significant) > 0
    assert len(_test(maps, null, normalize=None).significant) == 0
    # As many epochs on both sides: scaled alike, nothing to find.
    assert len(_test(maps, averages(40, 2), normalize="mass").significant) == 0
