"""Simulated EEG: the class difference is where, when and in the band the truth says."""

import re
import time
import warnings

import mne
import numpy as np
import pandas as pd
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import cross_val_score

from mne_xai.datasets import _builtin_montage
from mne_xai.simulation import (
    FREQUENCY_BANDS,
    _head_model,
    _resolve_montage,
    simulate_epochs,
)

KINDS = ("temporal", "spectral", "spatial")


def _binned(epochs, n_bins=16):
    """Channel means over n_bins equal time bins: few features for a linear model."""
    data = epochs.get_data()
    usable = data.shape[-1] // n_bins * n_bins
    binned = data[..., :usable].reshape(*data.shape[:2], n_bins, -1).mean(-1)
    return binned.reshape(len(data), -1)


def _band_powers(epochs):
    """Log power of each channel in each named band (Welch, via compute_psd)."""
    spectrum = epochs.compute_psd(fmin=2.0, fmax=50.0, verbose=False)
    power, freqs = spectrum.get_data(return_freqs=True)
    bands = [
        power[..., (freqs >= fmin) & (freqs <= fmax)].mean(-1)
        for fmin, fmax in FREQUENCY_BANDS.values()
    ]
    return np.log(np.stack(bands, axis=-1)).reshape(len(power), -1)


def _snr_of_each_epoch(with_feature, without_feature, truth):
    """RMS of each epoch's feature over its active samples, over the background's RMS.

    The two simulations share their seed and differ only in ``snr``, so their
    difference is the feature.
    """
    feature = with_feature.get_data() - without_feature.get_data()
    active = truth.get_data().max(axis=1) > 0
    power = (feature**2).mean(axis=1)  # over channels
    feature_rms = np.sqrt((power * active).sum(axis=1) / active.sum(axis=1))
    return feature_rms / np.sqrt((without_feature.get_data() ** 2).mean())


def _decoding_accuracy(kind, epochs):
    features = _band_powers(epochs) if kind == "spectral" else _binned(epochs)
    classifier = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    return cross_val_score(classifier, features, epochs.events[:, 2], cv=3).mean()


@pytest.mark.parametrize("kind", KINDS)
def test_returns_matching_mne_objects(kind):
    epochs, truth = simulate_epochs(kind, n_epochs=30, random_state=0)
    assert isinstance(epochs, mne.EpochsArray)
    assert isinstance(truth, mne.EpochsArray)
    assert epochs.get_data().shape == truth.get_data().shape == (30, 32, 128)
    assert epochs.ch_names == truth.ch_names
    np.testing.assert_array_equal(epochs.times, truth.times)
    np.testing.assert_array_equal(epochs.events, truth.events)
    assert epochs.event_id == truth.event_id
    assert len(epochs.event_id) == 2
    pd.testing.assert_frame_equal(epochs.metadata, truth.metadata)
    # A real montage: positions for every channel, on the head.
    positions = epochs.get_montage().get_positions()["ch_pos"]
    assert set(positions) == set(epochs.ch_names)
    # Average-referenced, in volts (microvolt-scale background).
    data = epochs.get_data()
    np.testing.assert_allclose(data.mean(axis=1), 0, atol=1e-12)
    assert 1e-6 < data.std() < 1e-4
    # MNE is told so, and asks for no average reference projector (as for an
    # inverse solution) on data that have their reference.
    assert epochs.info["custom_ref_applied"]
    # Classes balanced.
    assert np.bincount(epochs.events[:, 2]).tolist() == [0, 15, 15]


@pytest.mark.parametrize("kind", KINDS)
def test_ground_truth_convention(kind):
    epochs, truth = simulate_epochs(kind, n_epochs=20, jitter=0.05, random_state=1)
    mask = truth.get_data()
    assert mask.min() >= 0
    np.testing.assert_allclose(mask.max(axis=(1, 2)), 1)
    # Zero outside each epoch's window, non-zero inside it.
    metadata = truth.metadata
    inside = (truth.times >= metadata["feature_tmin"].to_numpy()[:, None]) & (
        truth.times <= metadata["feature_tmax"].to_numpy()[:, None]
    )
    assert (mask.max(axis=1)[~inside] == 0).all()
    assert (mask.max(axis=1)[inside] > 0).mean() > 0.9
    # Jitter moves the windows between epochs.
    assert metadata["feature_tmin"].std() > 0.01
    # Separable: a spatial pattern times a time envelope.
    for epoch in mask[:3]:
        assert np.linalg.matrix_rank(epoch, tol=1e-10) == 1


def test_ground_truth_envelope_is_a_hann_window():
    """The truth's time course is sin^2 over the window, as documented: a sine
    window has the same support and peak, and more weight near the edges."""
    _, truth = simulate_epochs(
        "spatial", n_epochs=2, sfreq=100.0, windows=(0.1, 0.3), jitter=0.0
    )
    phase = np.clip((truth.times - 0.1) / 0.2, 0, 1)
    envelope = truth.get_data().max(axis=1)
    np.testing.assert_allclose(envelope[0], np.sin(np.pi * phase) ** 2, atol=1e-12)
    np.testing.assert_array_equal(envelope[1], envelope[0])


@pytest.mark.parametrize("kind", KINDS)
def test_signal_lies_exactly_where_the_truth_says(kind):
    """Same seed, with and without the feature: the difference is the feature."""
    with_feature, truth = simulate_epochs(kind, n_epochs=20, snr=2.0, random_state=3)
    without_feature, truth_0 = simulate_epochs(
        kind, n_epochs=20, snr=0.0, random_state=3
    )
    np.testing.assert_array_equal(truth.get_data(), truth_0.get_data())
    feature = with_feature.get_data() - without_feature.get_data()
    mask = truth.get_data()
    np.testing.assert_allclose(feature[mask == 0], 0, atol=1e-15)
    if kind != "spectral":
        # An ERP's magnitude is its ground truth, up to scale.
        magnitude = np.abs(feature) / np.abs(feature).max(axis=(1, 2), keepdims=True)
        np.testing.assert_allclose(magnitude, mask, atol=1e-9)
        # A positive deflection where the truth peaks, whatever the dipole's sign.
        assert (feature[mask == 1] > 0).all()
    # The SNR is the feature's RMS over active samples over the background's RMS,
    # in every epoch.
    snrs = _snr_of_each_epoch(with_feature, without_feature, truth)
    np.testing.assert_allclose(snrs, 2.0, rtol=1e-9)
    assert (with_feature.metadata["snr"] == 2.0).all()


def test_erp_is_positive_where_the_truth_peaks_far_from_the_source():
    """Frontal channels see the parietal source's field most strongly in its
    average-referenced negative part: the ERP stays a positive deflection there
    (the pattern is scaled by its signed peak, not by its magnitude)."""
    kwargs = dict(n_epochs=4, ch_names=["Fp1", "Fp2", "F7", "F8"], random_state=0)
    with_feature, truth = simulate_epochs("temporal", snr=1.0, **kwargs)
    without_feature, _ = simulate_epochs("temporal", snr=0.0, **kwargs)
    feature = with_feature.get_data() - without_feature.get_data()
    assert (feature[truth.get_data() == 1] > 0).all()


@pytest.mark.parametrize(
    "kind, params",
    [("spatial", dict(n_classes=4)), ("temporal", dict(sensor_noise=1.0))],
)
def test_every_epoch_has_the_snr_asked_for(kind, params):
    """SNR measured against the whole background (sensor noise included), and
    each class scaled by its own pattern: the pooled SNR hid both."""
    with_feature, truth = simulate_epochs(
        kind, n_epochs=8, snr=0.5, random_state=0, **params
    )
    without_feature, _ = simulate_epochs(
        kind, n_epochs=8, snr=0.0, random_state=0, **params
    )
    snrs = _snr_of_each_epoch(with_feature, without_feature, truth)
    np.testing.assert_allclose(snrs, 0.5, rtol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_classes_decodable_at_high_snr_only(kind):
    clear, _ = simulate_epochs(kind, n_epochs=90, snr=1.0, random_state=0)
    absent, _ = simulate_epochs(kind, n_epochs=90, snr=0.0, random_state=0)
    assert _decoding_accuracy(kind, clear) > 0.95
    assert _decoding_accuracy(kind, absent) < 0.75


def test_temporal_erp_in_each_class_window():
    epochs, truth = simulate_epochs(
        "temporal", n_epochs=120, n_classes=4, snr=1.0, jitter=0.0, random_state=0
    )
    assert list(epochs.event_id) == [
        "erp_50-150ms",
        "erp_250-350ms",
        "erp_450-550ms",
        "erp_650-750ms",
    ]
    peak_channel = truth.get_data().max(axis=2)[0].argmax()
    for name in epochs.event_id:
        evoked = epochs[name].average()
        window = truth[name].metadata[["feature_tmin", "feature_tmax"]].iloc[0]
        # The class's evoked peak is on the truth's peak channel, in its window.
        channel, sample = np.unravel_index(
            np.abs(evoked.data).argmax(), evoked.data.shape
        )
        assert channel == peak_channel
        assert window["feature_tmin"] <= evoked.times[sample] <= window["feature_tmax"]


@pytest.mark.parametrize(
    "n_classes, jitter, meets",
    [(10, 0.02, False), (12, 0.02, True), (12, 0.01, False)],
)
def test_warns_when_jittered_class_windows_overlap(n_classes, jitter, meets):
    """Default windows for 12 classes in 0.8 s are 33 ms apart, and the default
    jitter (20 ms each way) made neighbouring classes' ERPs overlap in time."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochs, _ = simulate_epochs(
            "temporal",
            n_epochs=n_classes,
            n_classes=n_classes,
            jitter=jitter,
            random_state=0,
            verbose=False,
        )
    said = [str(warning.message) for warning in caught]
    assert any("overlap in time" in message for message in said) == meets
    # The windows before jitter, in ms, from the event names "erp_<start>-<stop>ms".
    windows = np.array(
        [
            re.fullmatch(r"erp_(-?\d+)-(-?\d+)ms", name).groups()
            for name in epochs.event_id
        ],
        dtype=float,
    )
    gaps = windows[1:, 0] - windows[:-1, 1]
    assert (gaps.min() < 2 * jitter * 1e3) == meets


@pytest.mark.parametrize(
    "windows, apart",
    [([(0.5, 0.6), (0.1, 0.45)], 50), ([(0.3, 0.5), (0.1, 0.4)], 0)],
)
def test_overlapping_class_windows_are_named_by_their_events(windows, apart):
    """The warning named the classes by their index from 0 ("classes 1 and 0"),
    which no event code (from 1) nor name matches. Windows that overlap before
    any jitter are 0 ms apart, not a negative distance."""
    with pytest.warns(RuntimeWarning) as caught:
        epochs, _ = simulate_epochs(
            "temporal",
            n_epochs=4,
            windows=windows,
            jitter=0.05,
            random_state=0,
            verbose=False,
        )
    later, earlier = epochs.event_id
    (message,) = [str(w.message) for w in caught if "overlap in time" in str(w.message)]
    assert message.startswith(
        f"The ERP windows of classes {earlier!r} and {later!r} are {apart} ms apart"
    )


@pytest.mark.parametrize("kind", ["spectral", "spatial"])
def test_classes_sharing_a_window_are_not_warned_about(kind):
    """Only temporal classes are told apart by their windows: spectral and
    spatial classes share theirs by design, and overlap in time in every epoch."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simulate_epochs(kind, n_epochs=4, random_state=0, verbose=False)
    assert not [w for w in caught if "overlap in time" in str(w.message)]


@pytest.mark.parametrize("n_classes", [2, 4])
def test_spectral_burst_power_sits_in_its_band(n_classes):
    epochs, _ = simulate_epochs(
        "spectral",
        n_epochs=40 * n_classes,
        n_classes=n_classes,
        snr=1.0,
        random_state=2,
    )
    assert list(epochs.event_id) == ["alpha", "beta", "theta", "gamma"][:n_classes]
    spectrum = epochs.compute_psd(fmin=1.0, fmax=60.0, verbose=False)
    power, freqs = spectrum.get_data(return_freqs=True)
    labels = epochs.events[:, 2]
    for code, band in enumerate(epochs.event_id, start=1):
        fmin, fmax = FREQUENCY_BANDS[band]
        in_band = (freqs >= fmin) & (freqs <= fmax)
        own = power[labels == code].mean(axis=(0, 1))
        others = power[labels != code].mean(axis=(0, 1))
        # The class has more power than the others in its band, and its extra
        # power is mostly in the band.
        assert own[in_band].sum() > 1.5 * others[in_band].sum()
        # The burst's envelope widens the band by about 1 / its duration.
        near_band = (freqs >= fmin - 2) & (freqs <= fmax + 2)
        excess = np.clip(own - others, 0, None)
        assert excess[near_band].sum() > 0.85 * excess.sum()
    assert (
        epochs.metadata["band"] == [list(epochs.event_id)[k - 1] for k in labels]
    ).all()
    edges = [FREQUENCY_BANDS[band] for band in epochs.metadata["band"]]
    np.testing.assert_array_equal(epochs.metadata[["fmin", "fmax"]], edges)


def test_a_burst_holds_both_edges_of_its_band():
    """A band's edges belong to it: the burst in (10, 10.5) Hz of 1 s epochs,
    whose noise is drawn on 0.5 Hz bins (over twice the epoch), is exactly a
    sum of 10 and 10.5 Hz sinusoids, each with its share of power. An edge
    left out, or bins 1 Hz apart, left one of the two frequencies empty."""
    # Same seed with and without the feature: the difference is the feature.
    kwargs = dict(bands=[(10.0, 10.5), (20.0, 20.5)], jitter=0.0, random_state=0)
    epochs, truth = simulate_epochs("spectral", n_epochs=4, snr=1.0, **kwargs)
    without_feature, _ = simulate_epochs("spectral", n_epochs=4, snr=0.0, **kwargs)
    # Named by their edges, to 6 significant digits: not "10-10Hz".
    assert list(epochs.event_id) == ["10-10.5Hz", "20-20.5Hz"]
    feature = epochs.get_data() - without_feature.get_data()
    # At the peak channel, over its Hann envelope: the band-limited noise, scaled.
    mask = truth.get_data()
    channel = mask.max(axis=(0, 2)).argmax()
    active = mask[0, channel] > 0.2
    bursts = feature[:, channel, active] / mask[:, channel, active]
    times = epochs.times[active]
    for burst, (fmin, fmax) in zip(
        bursts, epochs.metadata[["fmin", "fmax"]].to_numpy(), strict=True
    ):
        phases = 2 * np.pi * np.outer(times, [fmin, fmax])
        design = np.column_stack([np.cos(phases), np.sin(phases)])
        weights, *_ = np.linalg.lstsq(design, burst, rcond=None)
        np.testing.assert_allclose(
            design @ weights, burst, rtol=0, atol=1e-9 * np.abs(burst).max()
        )
        amplitudes = np.hypot(weights[:2], weights[2:])
        assert (amplitudes > 1e-6 * amplitudes.sum()).all()


@pytest.mark.parametrize("kind", ["temporal", "spatial"])
def test_classes_without_a_band_have_none_and_nan(kind):
    """Only spectral classes have a band: the others' metadata say so with
    None and NaN, as documented, not with edges of 0 Hz."""
    epochs, _ = simulate_epochs(kind, n_epochs=4, random_state=0)
    assert epochs.metadata["band"].isna().all()
    assert epochs.metadata[["fmin", "fmax"]].isna().all(axis=None)


def test_spatial_source_over_its_hemisphere():
    epochs, truth = simulate_epochs("spatial", n_epochs=60, snr=1.0, random_state=4)
    assert list(epochs.event_id) == ["left", "right"]
    x = np.array([ch["loc"][0] for ch in epochs.info["chs"]])
    for side, sign in (("left", -1), ("right", 1)):
        assert (epochs[side].metadata["hemisphere"] == side).all()
        assert (np.sign(epochs[side].metadata["source_x"]) == sign).all()
        window = epochs[side].metadata[["feature_tmin", "feature_tmax"]].mean()
        evoked = epochs[side].average().crop(*window)
        amplitude = np.abs(evoked.data).mean(axis=1)
        ipsilateral, contralateral = sign * x > 0.01, sign * x < -0.01
        assert amplitude[ipsilateral].max() > 3 * amplitude[contralateral].max()
        # Over the sensorimotor cortex of that side.
        assert (
            epochs.ch_names[amplitude.argmax()] == {"left": "C3", "right": "C4"}[side]
        )
        truth_topography = truth[side].get_data().max(axis=(0, 2))
        assert sign * x[truth_topography.argmax()] > 0


@pytest.mark.parametrize("kind", ["temporal", "spectral"])
def test_one_parietal_midline_source(kind):
    """Temporal and spectral features come from one parietal midline source,
    as documented: on the midline, behind and above the sphere's centre."""
    epochs, _ = simulate_epochs(kind, n_epochs=4, n_classes=2, random_state=0)
    metadata = epochs.metadata
    source = metadata[["source_x", "source_y", "source_z"]].drop_duplicates()
    assert len(source) == 1
    assert (metadata["hemisphere"] == "midline").all()
    centre = _head_model(epochs.info, _resolve_montage("standard_1020", None)[0])[
        "centre"
    ]
    x, y, z = source.to_numpy()[0] - centre
    assert abs(x) <= 0.01 and y < -0.02 and z > 0.02


def test_three_channels_are_simulated_on_the_head_of_the_whole_cap():
    """MNE cannot fit a sphere to three electrodes: C3, Cz, C4 failed."""
    epochs, truth = simulate_epochs(
        "spatial", n_epochs=40, ch_names=["C3", "Cz", "C4"], random_state=0
    )
    assert epochs.ch_names == ["C3", "Cz", "C4"]
    for side, channel in (("left", "C3"), ("right", "C4")):
        truth_topography = truth[side].get_data().max(axis=(0, 2))
        assert epochs.ch_names[truth_topography.argmax()] == channel


def test_each_cap_gets_the_sphere_fitted_to_it():
    """The head model is cached per set of electrodes and per cap: the same
    channels in a cap of other electrodes (10-05 rather than 10-20) sit on
    another fitted sphere, and were given the first cap's head model."""
    ch_names = ["C3", "Cz", "C4"]
    for name in ("standard_1020", "standard_1005"):
        montage, _ = _resolve_montage(name, ch_names)
        info = mne.create_info(ch_names, 128.0, "eeg")
        info.set_montage(montage)
        cap = mne.create_info(montage.ch_names, 128.0, "eeg")
        cap.set_montage(montage)
        sphere = mne.make_sphere_model("auto", "auto", cap, verbose=False)
        np.testing.assert_array_equal(
            _head_model(info, montage)["centre"], sphere["r0"]
        )


def test_feature_dipoles_lie_65_mm_from_the_centre():
    """Features come from dipoles 65 mm from the sphere centre, as documented,
    whatever the azimuth: each is a dipole of the 10 mm grid near its place on
    the ring (a place off the unit sphere put some 78 mm out)."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=28, n_classes=28, sfreq=64.0, random_state=0
    )
    centre = _head_model(epochs.info, _resolve_montage("standard_1020", None)[0])[
        "centre"
    ]
    sources = epochs.metadata[["source_x", "source_y", "source_z"]].to_numpy()
    distances = np.linalg.norm(sources - centre, axis=1)
    # Half the grid's diagonal: how far a place can lie from its nearest dipole.
    np.testing.assert_allclose(distances, 0.065, atol=np.sqrt(3) * 0.005)


def test_spatial_many_classes_spread_around_the_head():
    epochs, truth = simulate_epochs("spatial", n_epochs=40, n_classes=4, random_state=0)
    assert list(epochs.event_id) == [
        "azimuth_180",
        "azimuth_90",
        "azimuth_0",
        "azimuth_-90",
    ]
    sources = epochs.metadata.groupby("source_x").size()
    assert len(sources) == 3  # front and back share x = 0 (midline)
    peaks = {
        name: truth[name].get_data().max(axis=(0, 2)).argmax()
        for name in epochs.event_id
    }
    assert len(set(peaks.values())) == 4


def test_reproducible_and_seeded():
    first = simulate_epochs("spectral", n_epochs=10, random_state=5)[0].get_data()
    again = simulate_epochs("spectral", n_epochs=10, random_state=5)[0].get_data()
    other = simulate_epochs("spectral", n_epochs=10, random_state=6)[0].get_data()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    # A NumPy generator is drawn from as it is, a RandomState through its bit
    # generator.
    drawn = simulate_epochs(
        "spectral", n_epochs=10, random_state=np.random.default_rng(5)
    )
    np.testing.assert_array_equal(drawn[0].get_data(), first)
    legacy = [
        simulate_epochs("spectral", n_epochs=10, random_state=np.random.RandomState(5))
        for _ in range(2)
    ]
    np.testing.assert_array_equal(legacy[0][0].get_data(), legacy[1][0].get_data())
    # Through its bit generator: as a Generator over the same bit generator
    # draws, not from a seed drawn from it.
    over_one_bit_generator = [
        simulate_epochs(
            "spectral", n_epochs=10, random_state=wrap(np.random.MT19937(5))
        )
        for wrap in (np.random.RandomState, np.random.Generator)
    ]
    np.testing.assert_array_equal(
        over_one_bit_generator[0][0].get_data(), over_one_bit_generator[1][0].get_data()
    )


def test_classes_come_in_random_order():
    """Epochs are in random class order, as documented, not alternating: in
    order, every split by position (e.g. the first half to train) was balanced."""
    epochs, _ = simulate_epochs("temporal", n_epochs=40, snr=0.0, random_state=0)
    labels = epochs.events[:, 2]
    assert np.bincount(labels).tolist() == [0, 20, 20]
    # Alternating classes never repeat; 20 and 20 in random order nearly always do.
    assert (np.diff(labels) == 0).any()


def test_background_is_pink():
    epochs, _ = simulate_epochs(
        "temporal", n_epochs=40, snr=0.0, sensor_noise=0.0, duration=4.0, random_state=0
    )
    spectrum = epochs.compute_psd(fmin=2.0, fmax=40.0, verbose=False)
    power, freqs = spectrum.get_data(return_freqs=True)
    slope = np.polyfit(np.log(freqs), np.log(power.mean(axis=(0, 1))), 1)[0]
    assert -1.3 < slope < -0.7
    # The documented 10 microvolts RMS, once average-referenced.
    np.testing.assert_allclose(np.sqrt(np.mean(epochs.get_data() ** 2)), 10e-6)


def test_background_is_correlated_as_cortical_sources_make_it():
    """Channels see the background through the head model: neighbours correlate,
    and less than under sources spread through the whole brain, whose fields are
    broader than those of the cortical shell (mixing dropped or deep sources
    left each channel's spectrum as it was)."""
    epochs, _ = simulate_epochs(
        "temporal", n_epochs=40, snr=0.0, sensor_noise=0.0, random_state=0
    )
    data = epochs.get_data()
    correlation = np.corrcoef(data.transpose(1, 0, 2).reshape(len(data[0]), -1))
    montage, _ = _resolve_montage("standard_1020", epochs.ch_names)
    gain = _head_model(epochs.info, montage)["gain"].reshape(len(data[0]), -1)
    covariance = gain @ gain.T  # independent dipoles everywhere in the brain
    whole_brain = covariance / np.sqrt(np.outer(*[np.diag(covariance)] * 2))
    positions = np.array([ch["loc"][:3] for ch in epochs.info["chs"]])
    distance = np.linalg.norm(positions[:, None] - positions, axis=2)
    neighbours = np.triu(distance < 0.045, k=1)  # e.g. O1 and Oz
    assert neighbours.sum() >= 5
    assert 0.5 < correlation[neighbours].mean() < whole_brain[neighbours].mean()


def test_background_comes_from_the_cortical_shell():
    """The background's spatial covariance is G G^T of the dipoles within 25 mm
    of the inner skull (three orientations each), as documented."""
    montage, ch_names = _resolve_montage("standard_1020", None)
    info = mne.create_info(ch_names, 128.0, "eeg")
    info.set_montage(montage)
    head = _head_model(info, montage)
    cap = mne.create_info(montage.ch_names, 128.0, "eeg")
    cap.set_montage(montage)
    sphere = mne.make_sphere_model("auto", "auto", cap, verbose=False)
    depth = sphere["layers"][0]["rad"] - np.linalg.norm(
        head["source_pos"] - head["centre"], axis=1
    )
    shell = head["gain"][:, depth <= 0.025].reshape(len(ch_names), -1)
    assert 0 < (depth <= 0.025).mean() < 1
    np.testing.assert_allclose(
        head["mixing"] @ head["mixing"].T, shell @ shell.T, rtol=1e-9, atol=0
    )


def test_sensor_noise_is_relative_to_the_background():
    """Sensor noise of 0.5 is white noise of half the brain background's RMS
    (5 microvolts), average-referenced with the rest."""
    kwargs = dict(n_epochs=8, snr=0.0, random_state=0)
    brain, _ = simulate_epochs("temporal", sensor_noise=0.0, **kwargs)
    noisy, _ = simulate_epochs("temporal", sensor_noise=0.5, **kwargs)
    sensor = noisy.get_data() - brain.get_data()
    n_channels = len(brain.ch_names)
    expected = 0.5 * 10e-6 * np.sqrt(1 - 1 / n_channels)
    np.testing.assert_allclose(sensor.std(), expected, rtol=0.02)


def test_background_is_stationary_and_does_not_wrap():
    """The background has the same power at every time, and an epoch's end is
    not continued by its start: drawn on the epoch's length, the circular
    spectrum made the last and first samples as correlated as neighbours; with
    real Fourier coefficients, every frequency peaked at the first sample."""
    epochs, _ = simulate_epochs(
        "temporal", n_epochs=40, snr=0.0, sensor_noise=0.0, random_state=0
    )
    data = epochs.get_data()
    power = (data**2).mean(axis=(0, 1))
    assert 0.7 < power[0] / power.mean() < 1.4
    first_and_last = np.corrcoef(data[..., 0].ravel(), data[..., -1].ravel())[0, 1]
    neighbours = np.corrcoef(data[..., 0].ravel(), data[..., 1].ravel())[0, 1]
    assert neighbours > 0.5 and abs(first_and_last) < 0.3


def test_duration_gives_the_nearest_number_of_samples():
    """0.57 s at 100 Hz is 57 samples: duration * sfreq is 56.99999999999999
    in floating point, and truncated it gave 56."""
    epochs, truth = simulate_epochs(
        "temporal", n_epochs=2, sfreq=100.0, duration=0.57, random_state=0
    )
    for simulated in (epochs, truth):
        assert simulated.get_data().shape[-1] == len(simulated.times) == 57
    assert epochs.times[-1] == pytest.approx(-0.2 + 0.56)


def test_64_channels_fast():
    montage = mne.channels.make_standard_montage(_builtin_montage("1005"))
    ch_names = montage.ch_names[::5][:64]
    simulate_epochs("spatial", n_epochs=2, ch_names=ch_names, montage=montage)
    start = time.process_time()
    epochs, truth = simulate_epochs(
        "spectral", n_epochs=300, ch_names=ch_names, montage=montage, random_state=0
    )
    assert time.process_time() - start < 5.0  # about 0.2 s of CPU here
    assert epochs.get_data().shape == (300, 64, 128)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="wavelet"), "kind"),
        (dict(kind="temporal", n_classes=1), "at least 2"),
        (dict(kind="temporal", n_epochs=1), "at least n_classes"),
        (dict(kind="temporal", snr=-1.0), "snr must be non-negative"),
        (dict(kind="temporal", jitter=-0.01), "jitter must be non-negative"),
        (dict(kind="temporal", sensor_noise=-0.1), "sensor_noise must be non-neg"),
        # NaN passed the checks and gave all-NaN data; so did a band between bins.
        (dict(kind="temporal", snr=float("nan")), "snr must be a finite number"),
        (dict(kind="temporal", jitter=float("nan")), "jitter must be a finite"),
        (dict(kind="spectral", bands=[(10.1, 10.4), "beta"]), "holds no frequency"),
        (dict(kind="spectral", n_classes=5), "one \\(fmin, fmax\\) per class"),
        (dict(kind="spectral", bands=["alpha", "delta"]), "band"),
        (dict(kind="spectral", bands=["alpha", "alpha"]), "its own band"),
        # Bands named alike in 6 digits: MNE's "number of epochs and ... events".
        (dict(kind="spectral", bands=[(8, 13), (8.0000001, 13)]), "name .* alike"),
        (dict(kind="spectral", bands=["alpha", (40, 70)]), "sfreq / 2"),
        # The edges themselves: 0 Hz and the Nyquist frequency are real FFT
        # bins (a constant, a cosine of fixed phase), and a band needs a width.
        (dict(kind="spectral", bands=[(0, 4), "alpha"]), "0 < fmin"),
        (dict(kind="spectral", bands=["alpha", (40, 64)]), "fmax < sfreq / 2"),
        (dict(kind="spectral", bands=[(10, 10), "beta"]), "fmin < fmax"),
        # Refused as holding no frequency, as if it were too narrow.
        (dict(kind="spectral", bands=[(8, float("nan")), "beta"]), r"8\.0, nan"),
        (dict(kind="spectral", n_classes=3, bands=["alpha", "beta"]), "one band per"),
        (dict(kind="temporal", windows=[(0.1, 0.2)]), "one \\(tmin, tmax\\) per"),
        (dict(kind="temporal", windows=[(0.3, 0.2), (0.4, 0.5)]), "tmin < tmax"),
        (dict(kind="temporal", windows=[(-0.5, 0.1), (0.4, 0.5)]), "-0.5, 0.1"),
        (dict(kind="temporal", windows=[(0.1, 0.2), (0.7, 0.9)]), "0.7, 0.9"),
        (dict(kind="temporal", windows=[(0.1, 0.11), (0.4, 0.5)]), "4 samples"),
        # A NaN edge passed every comparison: all-NaN epochs, an event
        # named "erp_-9223372036854775808-300ms".
        (
            dict(kind="temporal", windows=[(float("nan"), 0.3), (0.4, 0.6)]),
            r"tmin < tmax .* got \[\[nan, 0\.3\]\]",
        ),
        (
            dict(kind="temporal", windows=[(0.1, 0.2, 0.3), (0.4, 0.5, 0.6)]),
            r"must be \(tmin, tmax\) pairs",
        ),
        (dict(kind="temporal", windows=(0.1, 0.3)), "its own window"),
        (dict(kind="temporal", n_classes=20, n_epochs=20), "default windows of 20"),
        (dict(kind="temporal", ch_names=["Cz", "XYZ1"]), "not in the montage"),
        (dict(kind="temporal", ch_names=["C3", "C4"]), "at least 3 channels, got 2"),
        # MNE's error named channels C3-0 and C3-1, missing from the montage.
        (dict(kind="temporal", ch_names=["C3", "C3", "Cz"]), r"\['C3'\] more than"),
        # The windows lie in the 0.1 s after the event, which was not said.
        (
            dict(kind="temporal", tmin=-0.9, duration=1.0),
            "in the 0.1 s after the event .* of 1 s epochs",
        ),
        (dict(kind="temporal", montage="no_such_cap"), "montage"),
        (dict(kind="temporal", duration=0.01), "at least 8"),
        (
            dict(kind="temporal", duration=7 / 128),
            "gives 7 samples; simulate at least 8",
        ),
        # NumPy's "SeedSequence expects int or sequence of ints" named nothing.
        (dict(kind="temporal", random_state="0"), "random_state must be"),
        (dict(kind="temporal", random_state=-1), "random_state must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        simulate_epochs(n_epochs=kwargs.pop("n_epochs", 10), **kwargs)


@pytest.mark.parametrize("bands", [["alpha", (8, 13)], [(4.0, 8.0), "theta"]])
def test_same_band_under_two_names_is_refused(bands):
    """Bands were told apart by name: alpha and (8, 13) made two equal classes."""
    with pytest.raises(ValueError, match="its own band"):
        simulate_epochs("spectral", n_epochs=4, bands=bands)


@pytest.mark.parametrize("n_classes", [28, 33])
def test_every_spatial_class_has_its_own_source(n_classes):
    """Classes whose places on the ring snapped to one dipole were identical."""
    epochs, truth = simulate_epochs(
        "spatial", n_epochs=n_classes, n_classes=n_classes, sfreq=64.0, random_state=0
    )
    labels = epochs.events[:, 2]
    assert sorted(labels) == list(range(1, n_classes + 1))  # one epoch per class
    sources = epochs.metadata[["source_x", "source_y", "source_z"]].to_numpy()
    assert len(np.unique(sources, axis=0)) == n_classes
    topographies = truth.get_data().max(axis=2)
    assert len(np.unique(topographies.round(9), axis=0)) == n_classes
    # Each dipole stays near its place: about the level of the ring.
    np.testing.assert_allclose(np.median(sources[:, 2]), sources[:, 2], atol=0.015)


def test_too_many_spatial_classes_to_name_are_refused():
    with pytest.raises(ValueError, match="at most 360"):
        simulate_epochs("spatial", n_epochs=361, n_classes=361, sfreq=64.0)


@pytest.mark.parametrize(
    "sfreq, window", [(128.0, (0.6, 0.796875)), (100.0, (0.6, 0.8))]
)
def test_window_ending_with_the_epoch_is_placed_as_named(sfreq, window):
    """A window accepted up to one sample after the last was moved a sample early."""
    epochs, truth = simulate_epochs(
        "temporal",
        n_epochs=4,
        sfreq=sfreq,
        windows=[(0.1, 0.3), window],
        jitter=0.0,
        random_state=0,
    )
    assert truth.times[0] + 1.0 == pytest.approx(window[1])  # the epoch's end
    name = f"erp_{round(window[0] * 1e3)}-{round(window[1] * 1e3)}ms"
    metadata = truth[name].metadata
    assert (metadata["feature_tmin"] == window[0]).all()
    assert (metadata["feature_tmax"] == window[1]).all()
    # The Hann envelope reaches zero one sample after the last.
    envelope = truth[name].get_data().max(axis=1)
    assert (envelope[:, -1] > 0).all()
    inside = truth.times > window[0]
    assert (envelope[:, inside] > 0).all() and (envelope[:, ~inside] == 0).all()


@pytest.mark.parametrize("window, edge", [((0.55, 0.75), 1), ((-0.15, 0.05), 0)])
def test_jitter_keeps_whole_windows_in_the_epoch(window, edge):
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=40, windows=window, jitter=0.3, random_state=0
    )
    metadata = epochs.metadata
    epoch = epochs.times[0], epochs.times[-1] + 1 / epochs.info["sfreq"]
    assert metadata["feature_tmin"].min() >= epoch[0]
    assert metadata["feature_tmax"].max() <= epoch[1] + 1e-12
    # Some windows were pushed against the start or end, and moved back whole.
    pushed = metadata[["feature_tmin", "feature_tmax"][edge]]
    assert np.isclose(pushed, epoch[edge]).sum() > 5
    np.testing.assert_allclose(metadata["feature_tmax"] - metadata["feature_tmin"], 0.2)


def test_a_window_of_four_samples_is_accepted():
    """The documented shortest window, 4 samples (0.03125 s at 128 Hz), is simulated.

    The Hann window is zero at both ends: sin(pi) ** 2 is 1.5e-32, not 0, so its
    last sample counted as active, and the feature's RMS over its 3 active samples
    was sqrt(4 / 3) times the snr asked for.
    """
    kwargs = dict(windows=[(0.1, 0.3), (0.5, 0.53125)], jitter=0.0, random_state=0)
    epochs, truth = simulate_epochs("temporal", n_epochs=2, **kwargs)
    without_feature, _ = simulate_epochs("temporal", n_epochs=2, snr=0.0, **kwargs)
    short = truth["erp_500-531ms"]
    assert (
        short.metadata["feature_tmax"] - short.metadata["feature_tmin"] == 4 / 128
    ).all()
    # A Hann window over 4 samples: 0 at both ends, 3 samples inside.
    assert (short.get_data().max(axis=1) > 0).sum(axis=1).tolist() == [3]
    snrs = _snr_of_each_epoch(epochs, without_feature, truth)
    np.testing.assert_allclose(snrs, 1.0, rtol=1e-9)


def test_a_window_starting_with_the_epoch_is_accepted():
    """A window may start at the epoch's first sample (-0.25 s at 128 Hz), as
    documented, and keeps its place there."""
    _, truth = simulate_epochs(
        "temporal",
        n_epochs=2,
        tmin=-0.25,
        windows=[(-0.25, -0.05), (0.3, 0.5)],
        jitter=0.0,
        random_state=0,
    )
    assert truth.times[0] == -0.25
    np.testing.assert_array_equal(
        truth["erp_-250--50ms"].metadata["feature_tmin"], -0.25
    )


def test_default_windows_of_four_samples_are_accepted():
    """The default windows of 16 temporal classes in a second after the event
    last 1 / 32 s, the 4 samples at 128 Hz a feature needs: they are simulated."""
    epochs, _ = simulate_epochs(
        "temporal",
        n_epochs=16,
        n_classes=16,
        tmin=0.0,
        jitter=0.0,
        random_state=0,
        verbose=False,
    )
    lengths = epochs.metadata["feature_tmax"] - epochs.metadata["feature_tmin"]
    np.testing.assert_array_equal(lengths, 4 / 128)


def test_one_window_is_shared_by_every_class():
    """One (tmin, tmax) is the window of every class, however many there are."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=4, n_classes=4, windows=(0.3, 0.5), jitter=0.0
    )
    np.testing.assert_array_equal(
        epochs.metadata[["feature_tmin", "feature_tmax"]], [(0.3, 0.5)] * 4
    )


@pytest.mark.parametrize("tmin", [-1.0, -1.5])
def test_default_windows_of_epochs_before_the_event_lie_in_the_epoch(tmin):
    """Epochs ending at or before the event have no post-stimulus interval: the
    default window is then centred in the whole epoch."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=2, tmin=tmin, jitter=0.0, random_state=0
    )
    np.testing.assert_allclose(
        epochs.metadata[["feature_tmin", "feature_tmax"]],
        [(tmin + 0.4, tmin + 0.6)] * 2,
    )


@pytest.mark.parametrize(
    "kind, window", [("spectral", (0.08, 0.72)), ("spatial", (0.3, 0.5))]
)
def test_default_windows_are_as_documented(kind, window):
    """Default windows in the 0.8 s after the event: a tenth to nine tenths of
    it for bursts, one 0.2 s ERP window in its middle for spatial classes."""
    epochs, _ = simulate_epochs(kind, n_epochs=2, jitter=0.0, random_state=0)
    np.testing.assert_allclose(
        epochs.metadata[["feature_tmin", "feature_tmax"]], [window] * 2
    )


def test_jitter_shifts_windows_both_ways():
    """The shift is drawn from [-jitter, jitter], centred on the class window:
    drawn from [0, jitter], the truth lay late on average."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=100, windows=(0.3, 0.5), jitter=0.05, random_state=0
    )
    shifts = epochs.metadata["feature_tmin"] - 0.3
    assert shifts.abs().max() <= 0.05
    assert shifts.min() < -0.04 and shifts.max() > 0.04
    assert abs(shifts.mean()) < 0.01


def test_arrays_are_accepted_for_windows_bands_and_channels():
    """NumPy arrays for windows or ch_names raised a TypeError."""
    epochs, _ = simulate_epochs(
        "temporal",
        n_epochs=4,
        windows=np.array([[0.1, 0.3], [0.5, 0.7]]),
        ch_names=np.array(["C3", "Cz", "C4"]),
    )
    assert list(epochs.event_id) == ["erp_100-300ms", "erp_500-700ms"]
    assert epochs.ch_names == ["C3", "Cz", "C4"]
    assert all(type(name) is str for name in epochs.ch_names)
    epochs, _ = simulate_epochs(
        "spectral", n_epochs=4, bands=np.array([[8, 13], [13, 30]])
    )
    assert list(epochs.event_id) == ["8-13Hz", "13-30Hz"]
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=4, windows=np.array([0.3, 0.5]), jitter=0.0
    )
    assert (epochs.metadata["feature_tmin"] == 0.3).all()
    # Their content is checked as that of lists.
    with pytest.raises(ValueError, match="one \\(tmin, tmax\\) per class"):
        simulate_epochs("temporal", n_epochs=4, windows=np.array([[0.1, 0.3]]))
    with pytest.raises(ValueError, match="not in the montage"):
        simulate_epochs("temporal", n_epochs=4, ch_names=np.array(["Cz", "XYZ1"]))


@pytest.mark.parametrize(
    "sfreq, tmin", [(100.0, -0.125), (250.0, -0.25), (100.0, -0.104)]
)
def test_a_start_half_a_sample_off_the_grid_keeps_every_sample(sfreq, tmin):
    """MNE rounds tmin and tmax apart: the times were one sample short of the
    data, and a network fitted on the epochs refused them at predict."""
    epochs, truth = simulate_epochs(
        "temporal", n_epochs=4, sfreq=sfreq, tmin=tmin, random_state=0
    )
    n_times = round(sfreq)  # the default duration, one second
    for simulated in (epochs, truth):
        assert simulated.get_data().shape[-1] == len(simulated.times) == n_times
    assert abs(epochs.times[0] - tmin) <= 0.5 / sfreq + 1e-9
