"""Localization measures against hand-computed answers and simulated ground truth."""

import re

import mne
import numpy as np
import pytest
import torch
from mne.time_frequency import EpochsSpectrumArray
from scipy.stats import pearsonr
from sklearn.metrics import roc_auc_score
from skorch import NeuralNetClassifier

from mne_xai import EEGNetClassifier, InterpretableCNNClassifier, as_network, explain
from mne_xai.attribution import explain_spectrum
from mne_xai.evaluate import (
    cosine_similarity,
    localization_scores,
    pearson_correlation,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    spatial_precision,
    spectral_precision,
    temporal_precision,
    top_k_precision,
)
from mne_xai.simulation import simulate_epochs

MASK_MEASURES = (
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    roc_auc,
    temporal_precision,
    spatial_precision,
)
ALL_MEASURES = (*MASK_MEASURES, cosine_similarity, pearson_correlation)


@pytest.fixture
def tiny():
    """One epoch of 2 channels x 3 samples; the truth marks channel 0, samples 1-2."""
    truth = np.array([[[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]])
    attribution = np.array([[[1.0, -4.0, 3.0], [2.0, 0.0, -2.0]]])
    return attribution, truth


def test_hand_computed_tiny_maps(tiny):
    attribution, truth = tiny
    # |relevance| = [1, 4, 3, 2, 0, 2], 12 in all, 7 inside the mask.
    np.testing.assert_allclose(relevance_mass_accuracy(attribution, truth), [7 / 12])
    # Positive part = [1, 0, 3, 2, 0, 0], 6 in all, 3 inside.
    np.testing.assert_allclose(
        relevance_mass_accuracy(attribution, truth, sign="positive"), [3 / 6]
    )
    # The two most relevant (4, 3) are both inside the two-feature mask.
    np.testing.assert_allclose(relevance_rank_accuracy(attribution, truth), [1.0])
    # Top 3 are 4, 3 and one of the two tied 2s (both outside): 2 of 3.
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=3), [2 / 3])
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=1), [1.0])
    # Both inside (4, 3) beat all four outside (1, 2, 0, 2).
    np.testing.assert_allclose(roc_auc(attribution, truth), [1.0])
    # Time course |R| summed over channels = [3, 4, 5]; window = samples 1-2.
    np.testing.assert_allclose(temporal_precision(attribution, truth), [9 / 12])
    # Topography = [8, 4]; channel 0 is the true channel.
    np.testing.assert_allclose(spatial_precision(attribution, truth), [8 / 12])
    relevance = np.abs(attribution).ravel()
    np.testing.assert_allclose(
        cosine_similarity(attribution, truth),
        [relevance @ truth.ravel() / np.linalg.norm(relevance) / np.sqrt(2)],
    )
    np.testing.assert_allclose(
        pearson_correlation(attribution, truth),
        [pearsonr(relevance, truth.ravel()).statistic],
    )


def test_ties_are_broken_at_random_in_expectation(tiny):
    _, truth = tiny
    constant = np.ones_like(truth)
    # Two of six features are in the mask: a constant map scores at chance.
    np.testing.assert_allclose(relevance_rank_accuracy(constant, truth), [1 / 3])
    np.testing.assert_allclose(top_k_precision(constant, truth, k=4), [1 / 3])
    np.testing.assert_allclose(roc_auc(constant, truth), [0.5])
    np.testing.assert_allclose(relevance_mass_accuracy(constant, truth), [1 / 3])


@pytest.fixture(scope="module")
def maps():
    """Ground truth of 40 simulated epochs and a random attribution."""
    _, truth = simulate_epochs("spatial", n_epochs=40, random_state=0, verbose=False)
    rng = np.random.default_rng(0)
    return truth, rng.standard_normal(truth.get_data().shape)


def test_perfect_random_and_inverted_attributions(maps):
    truth, noise = maps
    truth_data = truth.get_data()
    mask = truth_data >= 0.5
    perfect = np.where(mask, truth_data, 0.0)
    inverted = 1.0 - truth_data  # most relevant exactly where the truth is least
    outside_only = (~mask).astype(float)
    for measure in (relevance_mass_accuracy, relevance_rank_accuracy, roc_auc):
        np.testing.assert_allclose(measure(perfect, truth), 1.0)
        np.testing.assert_allclose(measure(outside_only, truth), 0.0, atol=1e-12)
    np.testing.assert_allclose(roc_auc(inverted, truth), 0.0, atol=1e-12)
    np.testing.assert_allclose(pearson_correlation(inverted, truth), -1.0)
    np.testing.assert_allclose(pearson_correlation(truth_data * 3, truth), 1.0)
    np.testing.assert_allclose(cosine_similarity(truth_data * 3, truth), 1.0)
    np.testing.assert_allclose(cosine_similarity(outside_only, truth * mask), 0.0)
    for measure in (temporal_precision, spatial_precision):
        np.testing.assert_allclose(measure(perfect, truth), 1.0)


def test_random_attribution_scores_at_chance():
    rng = np.random.default_rng(0)
    truth = rng.random((200, 8, 40))
    noise = rng.standard_normal(truth.shape)
    mask = truth >= 0.5 * truth.max(axis=(1, 2), keepdims=True)
    chance = mask.mean()
    for measure in (relevance_mass_accuracy, relevance_rank_accuracy):
        np.testing.assert_allclose(measure(noise, truth).mean(), chance, atol=0.01)
    np.testing.assert_allclose(
        top_k_precision(noise, truth, k=0.2).mean(), chance, atol=0.01
    )
    np.testing.assert_allclose(roc_auc(noise, truth).mean(), 0.5, atol=0.01)
    np.testing.assert_allclose(pearson_correlation(noise, truth).mean(), 0.0, atol=0.01)
    # Over channels, the truth's maximum reaches half its peak at almost every
    # sample: a window covering a whole epoch is refused (every map scores 1).
    timed = truth.copy()
    timed[:, :, 20:] = 0.0
    np.testing.assert_allclose(
        temporal_precision(noise, timed).mean(),
        (timed.max(axis=1) >= 0.5 * timed.max(axis=(1, 2))[:, None]).mean(),
        atol=0.01,
    )


def test_roc_auc_matches_sklearn():
    rng = np.random.default_rng(1)
    truth = rng.random((5, 4, 30))
    # Integer relevance gives many ties, which must count one half.
    attribution = rng.integers(-3, 4, size=truth.shape).astype(float)
    expected = [
        roc_auc_score((t >= 0.5 * t.max()).ravel(), np.abs(a).ravel())
        for a, t in zip(attribution, truth, strict=True)
    ]
    np.testing.assert_allclose(roc_auc(attribution, truth), expected)


def test_pearson_matches_scipy():
    rng = np.random.default_rng(2)
    truth, attribution = rng.random((6, 3, 20)), rng.standard_normal((6, 3, 20))
    expected = [
        pearsonr(np.abs(a).ravel(), t.ravel()).statistic
        for a, t in zip(attribution, truth, strict=True)
    ]
    np.testing.assert_allclose(pearson_correlation(attribution, truth), expected)


def test_top_k_and_threshold():
    truth = np.arange(10.0)[np.newaxis]  # peak 9: threshold 0.5 keeps 5..9
    attribution = np.arange(10.0)[np.newaxis]
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=5), [1.0])
    # k beyond the mask caps a perfect map at mask size / k.
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=8), [5 / 8])
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=0.5), [1.0])
    # A higher threshold shrinks the mask (8 and 9 only).
    np.testing.assert_allclose(
        relevance_rank_accuracy(attribution, truth, threshold=0.85), [1.0]
    )
    np.testing.assert_allclose(
        relevance_mass_accuracy(attribution, truth, threshold=0.85), [17 / 45]
    )


def test_a_fractional_k_counts_the_nearest_number_of_features():
    """k=0.38 of 10 features is the top 4 (3.8 rounded): truncated, the top 3."""
    truth = np.r_[np.zeros(7), np.ones(3)][np.newaxis]  # the last 3 inside
    attribution = np.arange(10.0)[np.newaxis]
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=0.38), [3 / 4])
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=4), [3 / 4])
    # A NumPy integer (a count read from an array) counts features, as an int.
    np.testing.assert_allclose(
        top_k_precision(attribution, truth, k=np.int64(4)), [3 / 4]
    )


def test_k_of_one_feature_or_of_all_is_scored():
    """k=0.01 of 6 features rounds to 0 yet takes the top feature, and k equal
    to the number of features takes them all, scoring the mask's share."""
    attribution = np.array([[1.0, -4.0, 3.0, 2.0, 0.0, -2.0]])
    truth = np.array([[0.0, 1.0, 1.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=0.01), [1.0])
    np.testing.assert_allclose(top_k_precision(attribution, truth, k=6), [2 / 6])


def test_spectral_precision_hand_made():
    sfreq, times = 128.0, np.arange(256) / 128.0
    alpha_wave = np.sin(2 * np.pi * 10 * times)
    attribution = np.broadcast_to(alpha_wave, (2, 3, 256))
    np.testing.assert_allclose(
        spectral_precision(attribution, band="alpha", sfreq=sfreq), 1.0, atol=1e-3
    )
    np.testing.assert_allclose(
        spectral_precision(attribution, band=(13, 30), sfreq=sfreq), 0.0, atol=1e-3
    )
    # White noise spreads its power evenly up to Nyquist (64 Hz).
    noise = np.random.default_rng(3).standard_normal((50, 3, 256))
    precision = spectral_precision(
        noise, band=np.tile([13.0, 30.0], (50, 1)), sfreq=sfreq
    )
    np.testing.assert_allclose(precision.mean(), 17 / 64, rtol=0.1)


def test_spectral_precision_counts_band_edges_hann_and_every_channel():
    """A 13 Hz wave in 2 s holds, Hann-windowed, 1/6 + 2/3 of its power in the
    bins 12.5 and 13 Hz of 8-13 Hz (the edge included; a box window gives 1);
    an offset is detrended away; the power of every channel counts; the band
    0 Hz to Nyquist holds all of it."""
    sfreq, times = 128.0, np.arange(256) / 128.0
    edge_wave = 1.0 + np.sin(2 * np.pi * 13 * times)
    np.testing.assert_allclose(
        spectral_precision(
            edge_wave[np.newaxis, np.newaxis], band=(8, 13), sfreq=sfreq
        ),
        [5 / 6],
    )
    alpha_and_beta = np.sin(2 * np.pi * np.array([[10.0], [20.0]]) * times)
    np.testing.assert_allclose(
        spectral_precision(alpha_and_beta[np.newaxis], band="alpha", sfreq=sfreq),
        [0.5],
        atol=1e-6,
    )
    noise = np.random.default_rng(5).standard_normal((2, 3, 256))
    np.testing.assert_allclose(
        spectral_precision(noise, band=(0, sfreq / 2), sfreq=sfreq), 1.0
    )


class _PowerAt10Hz(torch.nn.Module):
    """A network whose class-1 logit is the 10 Hz power of its input, in 1 s."""

    def __init__(self):
        super().__init__()
        times = torch.arange(128) / 128.0
        waves = [torch.cos(20 * np.pi * times), torch.sin(20 * np.pi * times)]
        self.waves = torch.nn.Parameter(torch.stack(waves))  # skorch needs one

    def forward(self, x):
        power = torch.einsum("bct,kt->bck", x, self.waves).square().sum(dim=(1, 2))
        return torch.stack([torch.zeros_like(power), power], dim=1)


def test_spectral_precision_of_spectral_relevance():
    """gradient x input holds its power at 0 and 20 Hz in time: it scored 0.05
    for 8-13 Hz, below white noise (0.10), on a network reading 10 Hz alone."""
    rng = np.random.default_rng(0)
    times = np.arange(128) / 128.0
    phases = rng.uniform(0, 2 * np.pi, (20, 4, 1))
    data = rng.standard_normal((20, 4, 128)) + 2 * np.sin(20 * np.pi * times + phases)
    net = NeuralNetClassifier(_PowerAt10Hz, classes=[0, 1]).initialize()
    network = as_network(net, info=mne.create_info(4, 128.0, "eeg"))
    kwargs = dict(target=1, verbose=False)
    in_time = explain(network, data.astype(np.float32), "gradient_x_input", **kwargs)
    assert spectral_precision(in_time, band=(8, 13)).mean() < 0.1
    spectral = explain_spectrum(
        network, data.astype(np.float32), "gradient_x_input", **kwargs
    )
    np.testing.assert_allclose(
        spectral_precision(spectral, band=(8, 13)), 1.0, atol=1e-6
    )
    np.testing.assert_allclose(
        spectral_precision(spectral, band=(13, 30)), 0.0, atol=1e-6
    )


def test_spectral_precision_reads_band_from_simulated_metadata():
    epochs, truth = simulate_epochs(
        "spectral", n_epochs=20, snr=5.0, random_state=0, verbose=False
    )
    # At high SNR the data are mostly the burst: the data, taken as an
    # attribution, carries its power in each epoch's own band.
    own_band = spectral_precision(epochs, truth)
    swapped = truth.metadata[["fmin", "fmax"]].to_numpy()[::-1]
    labels = epochs.events[:, 2]
    assert own_band.mean() > 0.6
    other_band = spectral_precision(epochs, band=swapped)[labels != labels[::-1]]
    assert other_band.mean() < 0.2
    # The ground truth's bands come first, whatever the attribution's say.
    relabelled = epochs.copy()
    relabelled.metadata = truth.metadata.iloc[::-1].reset_index(drop=True)
    np.testing.assert_allclose(spectral_precision(relabelled, truth), own_band)
    # The attribution's own metadata serves when no ground truth is given,
    # or when the ground truth's leaves an epoch without a band.
    np.testing.assert_allclose(spectral_precision(epochs), own_band)
    partial = truth.copy()
    partial.metadata.loc[0, "fmin"] = np.nan
    np.testing.assert_allclose(spectral_precision(epochs, partial), own_band)


@pytest.mark.parametrize("kind", ["temporal", "spectral", "spatial"])
def test_input_magnitude_finds_a_strong_feature(kind):
    """The input itself, as an attribution, localizes only when the signal is there."""
    strong, truth = simulate_epochs(
        kind, n_epochs=20, snr=3.0, random_state=0, verbose=False
    )
    absent, _ = simulate_epochs(
        kind, n_epochs=20, snr=0.0, random_state=0, verbose=False
    )
    high, low = roc_auc(strong, truth), roc_auc(absent, truth)
    assert high.mean() > 0.85
    assert abs(low.mean() - 0.5) < 0.15
    assert (
        relevance_mass_accuracy(strong, truth).mean()
        > 2 * relevance_mass_accuracy(absent, truth).mean()
    )


def test_mne_objects_and_scores_table(maps):
    truth, noise = maps
    attribution = mne.EpochsArray(
        noise,
        truth.info,
        events=truth.events,
        tmin=truth.tmin,
        event_id=truth.event_id,
        verbose=False,
    )
    np.testing.assert_allclose(
        relevance_mass_accuracy(attribution, truth),
        relevance_mass_accuracy(noise, truth.get_data()),
    )
    evoked = truth.average()
    assert roc_auc(evoked, evoked).shape == (1,)
    table = localization_scores(attribution, truth)
    assert list(table.columns) == [
        "event",
        "relevance_mass_accuracy",
        "relevance_rank_accuracy",
        "roc_auc",
        "temporal_precision",
        "spatial_precision",
        "cosine_similarity",
        "pearson_correlation",
    ]
    assert len(table) == len(truth)
    assert set(table["event"]) == {"left", "right"}
    # Of maps in time, spectral precision ranks how maps are computed (below
    # white noise for gradient x input with all its relevance in the band): it
    # has no column, even where the truth gives each epoch a band.
    epochs, spectral_truth = simulate_epochs("spectral", n_epochs=6, verbose=False)
    assert "spectral_precision" not in localization_scores(epochs, spectral_truth)


def test_scores_table_passes_threshold_and_sign_and_names_each_epoch(maps):
    """Each column is its measure's score at the threshold and sign asked;
    rows are named by the ground truth Epochs, whatever the attribution is."""
    truth, noise = maps
    kept = truth[::2]  # selection 0, 2, 4, ...
    attribution = noise[::2]
    kwargs = dict(threshold=0.7, sign="positive")
    table = localization_scores(attribution, kept, **kwargs)
    for measure in MASK_MEASURES:
        np.testing.assert_allclose(
            table[measure.__name__], measure(attribution, kept, **kwargs)
        )
    for measure in (cosine_similarity, pearson_correlation):
        np.testing.assert_allclose(
            table[measure.__name__], measure(attribution, kept, sign="positive")
        )
    np.testing.assert_array_equal(table.index, kept.selection)
    codes = {code: name for name, code in kept.event_id.items()}
    events = [codes[code] for code in kept.events[:, 2]]
    assert events != events[::-1]  # row by row, not just the same names
    assert list(table["event"]) == events


def test_no_relevance_gives_nan_with_warning(tiny):
    _, truth = tiny
    zeros = np.zeros_like(truth)
    for measure in (relevance_mass_accuracy, cosine_similarity, pearson_correlation):
        with pytest.warns(RuntimeWarning, match="NaN") as record:
            assert np.isnan(measure(zeros, truth)).all()
        # Not also NumPy's "invalid value encountered in divide".
        assert len(record) == 1
    # Each similarity says why its score is undefined: the relevance is all
    # zero, or the relevance or the ground truth is constant.
    with pytest.warns(RuntimeWarning, match="are all zero"):
        cosine_similarity(zeros, truth)
    for attribution, ground_truth in (
        (np.ones_like(truth), truth),
        (tiny[0], np.ones_like(truth)),
    ):
        with pytest.warns(RuntimeWarning, match="are constant"):
            assert np.isnan(pearson_correlation(attribution, ground_truth)).all()
    # All-negative maps hold no positive relevance.
    with pytest.warns(RuntimeWarning, match="no relevance"):
        relevance_mass_accuracy(-np.ones_like(truth), truth, sign="positive")


@pytest.mark.parametrize("measure", ALL_MEASURES)
def test_bad_input(measure, tiny):
    attribution, truth = tiny
    with pytest.raises(ValueError, match="shape"):
        measure(attribution, truth[..., :2])
    # As many features, laid out otherwise, are other features.
    with pytest.raises(ValueError, match="shape"):
        measure(attribution, truth.reshape(1, 3, 2))
    with pytest.raises(ValueError, match="one map per epoch"):
        measure(attribution.ravel(), truth.ravel())
    with pytest.raises(TypeError, match="real numbers"):
        measure(attribution * 1j, truth)
    with pytest.raises(ValueError, match="all zero in epoch"):
        measure(attribution, np.zeros_like(truth))
    with pytest.raises(ValueError, match="non-negative"):
        measure(attribution, -truth)
    # However little below zero: no tolerance hides a truth of the wrong sign.
    with pytest.raises(ValueError, match="down to -1e-06"):
        measure(attribution, np.where(truth > 0, truth, -1e-6))
    # One empty epoch among others is named, not taken for a mask of all.
    with pytest.raises(ValueError, match=r"all zero in epoch\(s\) \[1\]"):
        measure(np.concatenate([attribution] * 2), np.concatenate([truth, 0 * truth]))
    for not_finite in (np.nan, np.inf):
        with pytest.raises(ValueError, match="NaN or infinite"):
            measure(attribution + not_finite, truth)
    with pytest.raises(ValueError, match="sign"):
        measure(attribution, truth, sign="negative")
    with pytest.raises(TypeError, match="attribution"):
        measure([[1, 2]], truth)


@pytest.mark.parametrize("measure", MASK_MEASURES)
def test_bad_threshold(measure, tiny):
    attribution, truth = tiny
    # Not only refused for the mask of every feature it would give.
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        measure(attribution, truth, threshold=0.0)


@pytest.mark.parametrize("measure", [*MASK_MEASURES, top_k_precision])
def test_a_mask_covering_an_epoch_is_refused_saying_what_helps(measure, maps):
    """A 0/1 ground truth covering every sample of an epoch: roc_auc advised
    "raise threshold", and refused threshold=1.0 in the same words; relevance
    mass and rank accuracy, temporal and top-k precision scored the epoch 1.0
    for a map of noise (0.2 for the others)."""
    truth, noise = maps
    binary = (truth.get_data() >= 0.5).astype(float)
    binary[0] = 1.0
    mask = mne.EpochsArray(binary, truth.info, truth.events, truth.tmin, verbose=False)
    attribution = mne.EpochsArray(
        noise, truth.info, truth.events, truth.tmin, verbose=False
    )
    feature = {temporal_precision: "sample", spatial_precision: "channel"}
    match = (
        rf"covers every {feature.get(measure, 'feature')} of epoch\(s\) \[0\] .*"
        r"No threshold shrinks .*: drop those epochs from both maps"
    )
    for threshold in (0.5, 1.0):
        with pytest.raises(ValueError, match=match):
            measure(attribution, mask, threshold=threshold)
    # As advised.
    scores = measure(
        attribution.copy().drop([0], verbose=False),
        mask.copy().drop([0], verbose=False),
    )
    np.testing.assert_array_equal(scores, measure(attribution[1:], mask[1:]))
    assert len(scores) == len(truth) - 1 and scores.max() < 0.9
    # A graded truth shrinks at a higher threshold, which is said.
    graded = binary.copy()
    graded[0] = 0.5 + 0.5 * np.random.default_rng(1).random(graded[0].shape)
    with pytest.raises(ValueError, match=r"Raise threshold above (0\.\d+) \(") as err:
        measure(noise, graded)
    above = float(re.search(r"above (0\.\d+)", str(err.value)).group(1))
    assert np.isfinite(measure(noise, graded, threshold=(above + 1) / 2)).all()


def _full_mask_refusal(truth):
    """The refusal of ground truth rows covering all their features, as a string."""
    noise = np.random.default_rng(0).standard_normal(truth.shape)
    with pytest.raises(ValueError, match="covers every feature") as err:
        relevance_mass_accuracy(noise, truth)
    return str(err.value)


def test_a_mask_covering_several_epochs_is_refused_for_all_of_them():
    """The threshold advised must shrink every full mask, each over its own
    peak; a constant epoch among graded ones shrinks at no threshold; ten
    epochs are named in full, more are counted."""
    partial = [0.0, 0, 0, 0, 0, 4]
    graded = np.array([partial, [1.0, 2, 2, 2, 2, 2], [6.0, 8, 8, 8, 8, 8]])
    # Lowest over peak: 0.5 in epoch 1, 0.75 in epoch 2 (0.25 and 1.5 over
    # epoch 0's peak).
    assert "epoch(s) [1, 2] " in _full_mask_refusal(graded)
    assert "Raise threshold above 0.75 " in _full_mask_refusal(graded)
    assert np.isfinite(relevance_mass_accuracy(graded, graded, threshold=0.8)).all()
    constant = np.array([partial, [1.0, 2, 2, 2, 2, 2], [3.0, 3, 3, 3, 3, 3]])
    assert "No threshold shrinks" in _full_mask_refusal(constant)
    ones = np.ones(6)
    assert "epoch(s) [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] (counted" in (
        _full_mask_refusal(np.array([partial] + [ones] * 10))
    )
    assert "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10] and 1 more (counted" in (
        _full_mask_refusal(np.array([partial] + [ones] * 11))
    )


def test_maps_on_channels_that_are_not_data_are_scored():
    """A network may read EOG: its maps are scored on every channel they hold."""
    info = mne.create_info(["C3", "C4", "EOG"], 128.0, ["eeg", "eeg", "eog"])
    attribution = np.random.default_rng(0).standard_normal((2, 3, 8))
    truth = np.zeros_like(attribution)
    truth[:, 2, 2:4] = 1.0
    epochs = mne.EpochsArray(attribution, info, verbose=False)
    with pytest.warns(RuntimeWarning, match=r"several types \(eeg, eog\)"):
        scores = relevance_mass_accuracy(epochs, truth)
    np.testing.assert_allclose(scores, relevance_mass_accuracy(attribution, truth))


def test_specific_errors(tiny, maps):
    attribution, truth = tiny
    with pytest.raises(ValueError, match="between 1 and 6"):
        top_k_precision(attribution, truth, k=7)
    for fraction in (1.5, 1.0):
        with pytest.raises(ValueError, match="fractional k"):
            top_k_precision(attribution, truth, k=fraction)
    with pytest.raises(TypeError, match="k must be"):
        top_k_precision(attribution, truth, k=True)  # not one feature
    with pytest.raises(ValueError, match="covers every feature"):
        roc_auc(attribution, np.ones_like(truth))
    with pytest.raises(ValueError, match="n_epochs, n_channels, n_times"):
        temporal_precision(attribution[:, 0], truth[:, 0])
    with pytest.raises(ValueError, match="sfreq"):
        spectral_precision(attribution, band="alpha")
    with pytest.raises(ValueError, match="No band"):
        spectral_precision(attribution, sfreq=100.0)
    with pytest.raises(ValueError, match="ground_truth has shape"):
        spectral_precision(attribution, truth[..., :2], band="alpha", sfreq=100.0)
    # It was refused as a band above the Nyquist frequency, "at -1 Hz".
    for sfreq in (-1.0, 0.0, np.inf):
        with pytest.raises(ValueError, match="sfreq must be a positive number of Hz"):
            spectral_precision(attribution, band=(8, 12), sfreq=sfreq)
    simulated_truth, _ = maps
    with pytest.raises(ValueError, match="same channels in another order"):
        relevance_mass_accuracy(
            simulated_truth.copy().reorder_channels(simulated_truth.ch_names[::-1]),
            simulated_truth,
        )


@pytest.mark.parametrize(
    ("classifier", "kind", "spatial_init"),
    [
        (EEGNetClassifier, "temporal", None),
        (InterpretableCNNClassifier, "spatial", None),
        # Plain CSP filters of 80 trials fit the noise too, and the trained
        # network's relevance spread with them: 2.6 times chance, not 5.
        (EEGNetClassifier, "temporal", "csp"),
    ],
)
def test_trained_network_deeplift_recovers_the_ground_truth(
    classifier, kind, spatial_init
):
    """DeepLIFT puts relevance where the simulated feature is; random maps do not."""
    epochs, truth = simulate_epochs(
        kind, n_epochs=120, snr=1.0, random_state=0, verbose=False
    )
    train, test = epochs[:80], epochs[80:]
    estimator = classifier(
        max_epochs=30,
        batch_size=16,
        lr=3e-3,
        spatial_init=spatial_init,
        random_state=0,
        verbose=False,
    ).fit(train)
    assert estimator.score(test, test.events[:, 2]) > 0.9
    scores = {
        method: localization_scores(
            explain(
                estimator, test, method, target="true", random_state=0, verbose=False
            ),
            truth[80:],
        ).mean(numeric_only=True)
        for method in ("deeplift", "random")
    }
    # Relevance mass accuracy at chance is the share of samples in the masks
    # (a few percent: the feature covers part of the scalp for part of the time).
    chance = (truth[80:].get_data() >= 0.5).mean()
    assert chance < 0.1
    assert scores["deeplift"]["relevance_mass_accuracy"] > 5 * chance
    assert scores["random"]["relevance_mass_accuracy"] < 2 * chance
    assert scores["deeplift"]["roc_auc"] > 0.9
    assert abs(scores["random"]["roc_auc"] - 0.5) < 0.05


@pytest.mark.parametrize("kind", ["temporal", "spectral"])
def test_epochs_in_another_order_are_refused(kind):
    """Maps explained class by class and concatenated were paired with other
    epochs' ground truth: a perfect map scored 0.49 rank accuracy, 0.62
    spectral precision."""
    epochs, truth = simulate_epochs(kind, n_epochs=8, random_state=0, verbose=False)
    perfect = truth if kind == "temporal" else epochs
    names = list(truth.event_id)
    per_class = mne.concatenate_epochs(
        [perfect[names[0]], perfect[names[1]]], verbose=False
    )
    assert not np.array_equal(per_class.events[:, 2], truth.events[:, 2])
    with pytest.raises(ValueError, match="the same epochs in another order"):
        localization_scores(per_class, truth)
    with pytest.raises(ValueError, match="the same epochs in another order"):
        spectral_precision(per_class, truth)
    # The same epochs in the same order, or picked alike, are scored.
    assert len(localization_scores(perfect[::2], truth[::2])) == 4
    # Other epochs of one class share their events: paired with the truth of
    # the next epochs, a perfect map scored 0.09 mass accuracy for 0.16.
    first = truth[names[0]]
    with pytest.raises(ValueError, match="hold other epochs"):
        localization_scores(first[:-1], first[1:])
    # Maps built with EpochsArray carry no selection of their own.
    built = mne.EpochsArray(
        first[1:].get_data(), first.info, first[1:].events, tmin=first.tmin
    )
    assert len(localization_scores(built, first[1:])) == 3


def test_maps_are_refused_as_other_epochs_only_where_selection_or_events_say_so():
    """Guard the finer pairing checks: maps of fewer epochs are refused for
    their number (not as other epochs), maps built with EpochsArray of every
    other epoch are scored, and the same epochs with their events swapped are
    refused by their events, but not maps built without events."""
    _, truth = simulate_epochs("temporal", n_epochs=8, random_state=0, verbose=False)
    with pytest.raises(ValueError, match=r"shape \(4, .*ground_truth has shape \(8"):
        localization_scores(truth[:4], truth)
    # Its drop log (4) divides the truth's (8): selections 0, 1, 2, 3 and
    # 0, 2, 0, 2 (modulo 4) differ, and the built one says nothing.
    half = truth[::2]
    built = mne.EpochsArray(
        half.get_data(), half.info, half.events, half.tmin, half.event_id
    )
    assert len(localization_scores(built, half)) == 4
    events = truth.events.copy()
    events[:, 2] = events[::-1, 2]
    assert not np.array_equal(events[:, 2], truth.events[:, 2])
    swapped = mne.EpochsArray(
        truth.get_data(), truth.info, events, truth.tmin, truth.event_id
    )
    with pytest.raises(ValueError, match=r"another order \(their events differ\)"):
        localization_scores(swapped, truth)
    # Maps built without events carry placeholder codes (all 1), which say
    # nothing of the epochs' classes: they are no other events.
    placeholder = mne.EpochsArray(truth.get_data(), truth.info, tmin=truth.tmin)
    assert not np.array_equal(placeholder.events[:, 2], truth.events[:, 2])
    assert len(localization_scores(placeholder, truth)) == 8


def test_maps_of_folds_concatenated_are_paired_by_their_original_epochs():
    """Out-of-fold maps joined with mne.concatenate_epochs (which numbers the
    epochs of each part after the first on from the drop logs before it)
    were refused against the ground truth indexed alike."""
    _, truth = simulate_epochs("temporal", n_epochs=12, random_state=0)
    folds = [np.array([0, 3, 4, 7, 8, 11]), np.array([1, 2, 5, 6, 9, 10])]
    joined = mne.concatenate_epochs([truth[fold] for fold in folds], verbose=False)
    order = np.concatenate(folds)
    of_each = relevance_mass_accuracy(truth, truth)
    np.testing.assert_allclose(
        relevance_mass_accuracy(joined, truth[order]), of_each[order]
    )
    back = joined[np.argsort(order)]
    np.testing.assert_allclose(relevance_mass_accuracy(back, truth), of_each)
    names = list(truth.event_id)
    assert len(relevance_mass_accuracy(back[names[0]], truth[names[0]])) > 0
    with pytest.raises(ValueError, match="the same epochs in another order"):
        relevance_mass_accuracy(joined, truth)


def test_spectral_precision_refuses_bands_and_rates_the_maps_do_not_have():
    epochs, truth = simulate_epochs(
        "spectral", n_epochs=4, snr=5.0, random_state=0, verbose=False
    )
    nyquist = epochs.info["sfreq"] / 2
    for band in [(13, 8), (10, 10), (100, 200), (-10, 20), (8, nyquist + 1)]:
        with pytest.raises(ValueError, match="is not a band of these maps"):
            spectral_precision(epochs, band=band)
    with pytest.raises(ValueError, match="contradicts the maps' own rate"):
        spectral_precision(epochs, truth, sfreq=2 * epochs.info["sfreq"])
    # A band name per epoch, as the simulation's metadata holds them.
    np.testing.assert_allclose(
        spectral_precision(epochs, band=list(truth.metadata["band"])),
        spectral_precision(epochs, truth),
    )


def test_spectral_relevance_is_paired_with_its_own_epochs_and_rate():
    """explain_spectrum's maps of epochs 0, 2, 4, 6 scored against the truth of
    epochs 1, 3, 5, 7: a perfect map scored 0.06 in half its epochs, silently,
    where maps in time were refused; a contradicting sfreq was ignored."""
    epochs, truth = simulate_epochs("spectral", n_epochs=8, random_state=0)
    freqs = np.fft.rfftfreq(len(epochs.times), 1 / epochs.info["sfreq"])
    picked = epochs[::2]
    perfect = np.zeros((len(picked), len(epochs.ch_names), len(freqs)))
    for map_, (fmin, fmax) in zip(
        perfect, picked.metadata[["fmin", "fmax"]].to_numpy(), strict=True
    ):
        map_[:, (freqs >= fmin) & (freqs <= fmax)] = 1.0
    spectrum = EpochsSpectrumArray(
        perfect, epochs.info, freqs, events=picked.events, event_id=picked.event_id
    )
    spectrum.selection = picked.selection  # as explain_spectrum keeps it
    np.testing.assert_allclose(spectral_precision(spectrum, truth[::2]), 1.0)
    with pytest.raises(ValueError, match="hold other epochs"):
        spectral_precision(spectrum, truth[1::2])
    # An array truth has no selection to pair by, but its count must agree.
    with pytest.raises(ValueError, match="different numbers of epochs"):
        spectral_precision(spectrum, truth.get_data(), band="alpha")
    with pytest.raises(ValueError, match="contradicts the maps' own rate"):
        spectral_precision(spectrum, truth[::2], sfreq=2 * epochs.info["sfreq"])
    resampled = truth[::2].copy().resample(2 * epochs.info["sfreq"], verbose=False)
    with pytest.raises(ValueError, match="different sampling rates"):
        spectral_precision(spectrum, resampled)


def test_spectral_relevance_counts_its_magnitude_whatever_its_sign():
    """explain_spectrum's relevance is signed: negative relevance outside the
    band is relevance too (summed signed, it cancelled that inside the band)."""
    sfreq = 128.0
    info = mne.create_info(["C3", "C4"], sfreq, "eeg")
    freqs = np.fft.rfftfreq(128, 1 / sfreq)  # 1 Hz bins
    relevance = np.zeros((1, 2, len(freqs)))
    relevance[..., 8:13] = 1.0  # 5 bins of 8-13 Hz
    relevance[..., 20:30] = -1.0  # 10 bins outside it
    spectrum = EpochsSpectrumArray(relevance, info, freqs)
    np.testing.assert_allclose(spectral_precision(spectrum, band=(8.0, 13.0)), [1 / 3])
    # An average is one map, not one per channel.
    np.testing.assert_allclose(
        spectral_precision(spectrum.average(), band=(8.0, 13.0)), [1 / 3], strict=True
    )


def test_an_average_map_is_told_to_average_the_ground_truth(maps):
    truth, noise = maps
    attribution = mne.EpochsArray(noise, truth.info, tmin=truth.tmin).average()
    with pytest.raises(ValueError, match=r"ground_truth\.average\(\)"):
        relevance_mass_accuracy(attribution, truth)
    assert relevance_mass_accuracy(attribution, truth.average()).shape == (1,)
    # Maps of other epochs than the truth's are not told to average it.
    with pytest.raises(ValueError, match=r"they need one map each") as err:
        relevance_mass_accuracy(noise[:2], truth)
    assert "average" not in str(err.value)


@pytest.mark.parametrize("measure", ALL_MEASURES)
def test_an_average_map_is_not_scored_against_the_average_of_other_epochs(
    maps, measure
):
    """The map of one class averaged was scored against the truth averaged over
    both classes without a word (relevance mass 0.029, not the class's 0.023)."""
    truth, noise = maps
    name = list(truth.event_id)[0]
    attribution = mne.EpochsArray(
        noise, truth.info, truth.events, truth.tmin, truth.event_id
    )[name].average()
    with pytest.raises(ValueError, match=r"averages 20 epochs but .* averages 40"):
        measure(attribution, truth.average())
    assert np.isfinite(measure(attribution, truth[name].average())).all()
    # A truth built by hand (EvokedArray's nave of 1) is scored as given.
    by_hand = mne.EvokedArray(truth[name].average().data, truth.info, truth.tmin)
    assert measure(attribution, by_hand).shape == (1,)


def test_maps_of_several_units_scored_together_warn():
    """Saliency on MEG+EEG (logit per tesla beside logit per volt) scored as
    the magnetometers alone, silently (0.035 pooled; 0.037 on them alone)."""
    rng = np.random.default_rng(0)
    info = mne.create_info(4, 128.0, ["eeg", "eeg", "mag", "mag"])
    maps = mne.EpochsArray(rng.standard_normal((3, 4, 16)), info, verbose=False)
    truth = np.zeros((3, 4, 16))
    truth[:, 0, 4:8] = 1.0
    with pytest.warns(RuntimeWarning, match=r"several units \(T, V\).*saliency"):
        relevance_mass_accuracy(maps, truth)
    # spectral_precision, which read the maps without the others' checks.
    with pytest.warns(RuntimeWarning, match=r"several units \(T, V\)"):
        spectral_precision(maps, band=(8, 13))


def test_maps_of_other_channels_than_the_ground_truth_say_which(maps):
    """Maps of a network that left out a bad channel were told only that the
    shapes differed, and maps with two channels swapped past the first four
    were shown the same four names on both sides; an array ground truth of
    the epochs' channels was not told which channels an array is read on."""
    truth = maps[0]
    without_bad = truth.copy().drop_channels(["O2"])
    kwargs = dict(match=r"attribution lacks \['O2'\].*ground_truth.copy\(\).pick\(")
    for measure in (spatial_precision, cosine_similarity):
        with pytest.raises(ValueError, **kwargs):
            measure(without_bad, truth)
    with pytest.raises(ValueError, **kwargs):
        spectral_precision(without_bad, truth, band="alpha")
    swapped = truth.ch_names[:-2] + truth.ch_names[-1:-3:-1]
    with pytest.raises(ValueError, match="the same channels in another order"):
        spatial_precision(truth.copy().reorder_channels(swapped), truth)
    with pytest.raises(ValueError, match=r"channels of attribution, in its order"):
        spatial_precision(without_bad, truth.get_data())
    # Picked as the message says, the ground truth scores.
    picked = truth.copy().pick(without_bad.ch_names)
    np.testing.assert_allclose(
        spatial_precision(without_bad, picked),
        spatial_precision(
            without_bad.get_data(), truth.get_data(picks=without_bad.ch_names)
        ),
    )
