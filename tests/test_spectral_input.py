"""Log-power spectra as a network's input, and relevance per channel and frequency."""

import copy
import gc
import pickle
import tracemalloc
import warnings

import mne
import numpy as np
import pytest
import torch
from mne.time_frequency import (
    EpochsSpectrumArray,
    SpectrumArray,
    psd_array_multitaper,
    psd_array_welch,
)
from mne.utils import catch_logging, use_log_level
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from mne_xai import EEGNetClassifier, InterpretableCNNClassifier, explain
from mne_xai.attribution import explain_spectrum
from mne_xai.attribution._core import attribution_values
from mne_xai.evaluate import data_randomization_check
from mne_xai.inspect import (
    SpectralClassifier,
    best_samples,
    explain_spectral_classifier,
    group_predictions,
    layer_activations,
    learn_patterns,
    maximize_activation,
    temporal_filters,
    unit_sensitivity,
)
from mne_xai.simulation import simulate_epochs
from mne_xai.spectral_input import LogPowerSpectrum

# Two narrow bands, so that together they hold a small share of the spectrum.
SIMULATED_BANDS = [(8.0, 12.0), (20.0, 24.0)]


@pytest.fixture(scope="module")
def spectral_epochs():
    """Simulated epochs whose classes differ only in the band of a burst."""
    epochs, _ = simulate_epochs(
        "spectral",
        n_epochs=160,
        bands=SIMULATED_BANDS,
        duration=2.0,
        tmin=0.0,
        random_state=0,
        verbose=False,
    )
    return epochs


@pytest.fixture(scope="module")
def fitted_spectral(spectral_epochs):
    """EEGNet trained briefly on the spectra of the first 120 simulated epochs."""
    estimator = EEGNetClassifier(max_epochs=20, random_state=0, verbose=False)
    return SpectralClassifier(estimator).fit(spectral_epochs[:120])


@pytest.mark.parametrize(
    "settings",
    [
        dict(method="welch", n_fft=640, n_per_seg=160, n_overlap=80),
        dict(method="welch", n_fft=80, n_per_seg=80, n_overlap=0, window="hann"),
        dict(method="multitaper", bandwidth=4.0),
    ],
)
def test_log_power_equals_mne_psd(imagery_epochs, settings):
    epochs = imagery_epochs[:5]
    transformer = LogPowerSpectrum(fmin=4.0, fmax=35.0, **settings).fit(epochs)
    spectra = transformer.transform(epochs)
    data, sfreq = epochs.get_data(picks="eeg"), epochs.info["sfreq"]
    method = settings.pop("method")
    psd_array = psd_array_welch if method == "welch" else psd_array_multitaper
    mne_settings = dict(settings)
    if method == "multitaper":
        # A density in V²/Hz, as Welch's (MNE's default normalization is not).
        mne_settings["normalization"] = "full"
    power, freqs = psd_array(
        data, sfreq, fmin=4.0, fmax=35.0, verbose=False, **mne_settings
    )
    np.testing.assert_array_equal(transformer.freqs_, freqs)
    assert spectra.shape == (5, len(epochs.ch_names), len(freqs))
    # The data are read as float32, as the networks read them.
    np.testing.assert_allclose(spectra, 10 * np.log10(power), atol=1e-4)
    # Epochs.compute_psd gives the same spectra.
    spectrum = epochs.compute_psd(
        method, fmin=4.0, fmax=35.0, verbose=False, **mne_settings
    )
    np.testing.assert_allclose(spectra, 10 * np.log10(spectrum.get_data()), atol=1e-4)
    # An array with its sampling rate gives the same spectra.
    from_array = LogPowerSpectrum(fmin=4.0, fmax=35.0, sfreq=sfreq, method=method)
    from_array.set_params(**settings)
    np.testing.assert_allclose(from_array.fit_transform(data), spectra, atol=1e-4)


def test_default_segments_are_one_second_sampled_every_quarter_hz(imagery_epochs):
    transformer = LogPowerSpectrum().fit(imagery_epochs[:2])
    sfreq = int(imagery_epochs.info["sfreq"])
    assert transformer.n_per_seg_ == sfreq
    assert transformer.n_overlap_ == sfreq // 2
    assert transformer.n_fft_ == 4 * sfreq
    np.testing.assert_allclose(transformer.freqs_, np.arange(1.0, 40.01, 0.25))


def test_a_segment_spans_at_most_the_whole_epoch(synthetic_arrays):
    """Epochs shorter than a second are one Welch segment by default, and a
    segment may be the whole epoch, as the docstring says."""
    X, _ = synthetic_arrays  # 64 samples: half a second at 128 Hz
    transformer = LogPowerSpectrum(fmax=30.0, sfreq=128.0).fit(X)
    assert transformer.n_per_seg_ == X.shape[2]
    assert transformer.n_fft_ == 4 * X.shape[2]
    whole = LogPowerSpectrum(fmax=30.0, sfreq=128.0, n_per_seg=X.shape[2]).fit(X)
    assert whole.n_per_seg_ == X.shape[2]


@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_a_sinusoid_peaks_at_its_bin_and_keeps_its_power(method):
    """A sinusoid of f Hz peaks at the bin of f Hz (``f * n_fft / sfreq``
    from 0 Hz), and the density summed over the bins is its variance
    (Parseval): a bin off by one, or a density scaled by the sampling rate or
    taken of amplitude, moves or rescales every band a network reads."""
    sfreq, n_times, frequency, amplitude = 128.0, 512, 10.25, 1e-5
    times = np.arange(n_times) / sfreq
    noise = 1e-3 * amplitude * np.random.default_rng(0).standard_normal((2, 3, n_times))
    X = amplitude * np.sin(2 * np.pi * frequency * times) + noise
    transformer = LogPowerSpectrum(0.0, sfreq / 2, sfreq=sfreq, method=method)
    spectra = transformer.fit_transform(X)
    # Welch's n_fft is 4 * 128; multitaper's bins are 1 / (4 s) apart too.
    np.testing.assert_array_equal(spectra.argmax(axis=-1), frequency * 512 / sfreq)
    assert transformer.freqs_[int(frequency * 512 / sfreq)] == frequency
    step = transformer.freqs_[1] - transformer.freqs_[0]
    power = (10 ** (spectra.astype(np.float64) / 10)).sum(axis=-1) * step
    np.testing.assert_allclose(power, X.var(axis=-1), rtol=0.01)


def test_picks_leave_out_bad_channels_and_match_by_name(imagery_epochs):
    epochs = imagery_epochs[:4].copy()
    epochs.info["bads"] = [epochs.ch_names[0]]
    transformer = LogPowerSpectrum().fit(epochs)
    assert transformer.ch_names_ == epochs.ch_names[1:]
    # Channels are read by name, whatever their order in new epochs.
    reordered = epochs.copy().reorder_channels(epochs.ch_names[::-1])
    np.testing.assert_allclose(
        transformer.transform(reordered), transformer.transform(epochs), atol=1e-5
    )
    # A list of Epochs, as cross-validation hands it over, gives the same.
    as_list = [epochs[index] for index in range(len(epochs))]
    np.testing.assert_allclose(
        transformer.transform(as_list), transformer.transform(epochs), atol=1e-5
    )


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(fmax=81.0), "above the Nyquist frequency .*80 Hz"),
        (dict(fmin=30.0, fmax=20.0), "fmin < fmax"),
        # One frequency, at fmin = fmax, is no spectrum.
        (dict(fmin=10.0, fmax=10.0), "fmin < fmax"),
        (dict(n_per_seg=1), "n_per_seg must be between 2 and the epochs' len"),
        (dict(n_per_seg=1000), "n_per_seg must be between 2 and the epochs' len"),
        (dict(n_fft=100), "n_fft must be at least n_per_seg=160"),
        (dict(n_overlap=160), r"n_overlap must be in \[0, n_per_seg=160\)"),
        (dict(method="stft"), "method"),
        (dict(fmin=10.1, fmax=10.2, n_fft=160), "No frequencies found between"),
        (dict(fmin=10.1, fmax=10.2, method="multitaper"), "No frequencies found"),
        # Settings of the other method were ignored: 79 multitaper bins, the
        # same spectra as without n_fft=1024.
        (
            dict(method="multitaper", n_fft=1024, n_per_seg=64),
            r"n_fft=1024, n_per_seg=64: settings of Welch only.*method='multitaper'",
        ),
        (
            dict(bandwidth=8.0),
            r"bandwidth=8.0: settings of multitaper only.*method='welch'",
        ),
    ],
)
def test_bad_settings_are_refused(imagery_epochs, params, match):
    with pytest.raises(ValueError, match=match):
        LogPowerSpectrum(**params).fit(imagery_epochs[:2])


@pytest.mark.parametrize("n_jobs", ["2", 2.5])
def test_n_jobs_is_checked_by_name(imagery_epochs, n_jobs):
    """MNE's check said "Item must be an instance of int-like or None", naming
    no argument."""
    with pytest.raises(TypeError, match="n_jobs must be an instance of int-like"):
        LogPowerSpectrum(n_jobs=n_jobs).fit(imagery_epochs[:2])


@pytest.mark.parametrize(
    "n_times, bandwidth, match",
    [
        (8, None, r"more than 8 samples, got 8; pass a bandwidth from 16 Hz"),
        (6, None, "more than 8 samples, got 6"),
        (64, 128.0, r"bandwidth=128.0 Hz: .* below the sampling rate \(128 Hz\)"),
    ],
)
def test_tapers_longer_than_the_epochs_are_refused(n_times, bandwidth, match):
    """scipy's DPSS failed with "Kmax must be greater than 0 and less than M"
    or "NW must be less than M/2"; just inside the limits (9 samples; a
    bandwidth just below the rate), the spectra are MNE's."""
    rng = np.random.default_rng(0)
    spectrum = LogPowerSpectrum(method="multitaper", sfreq=128.0, bandwidth=bandwidth)
    with pytest.raises(ValueError, match=match):
        spectrum.fit(rng.standard_normal((2, 3, n_times)))
    if bandwidth is None:
        X = rng.standard_normal((2, 3, 9))
    else:
        X = rng.standard_normal((2, 3, n_times))
        spectrum.set_params(bandwidth=127.0)
    power, _ = psd_array_multitaper(
        X,
        128.0,
        fmin=1.0,
        fmax=40.0,
        bandwidth=spectrum.bandwidth,
        normalization="full",
        verbose=False,
    )
    np.testing.assert_allclose(
        spectrum.fit_transform(X), 10 * np.log10(power), atol=1e-4
    )


def test_arrays_need_a_sampling_rate(synthetic_arrays):
    X, _ = synthetic_arrays
    with pytest.raises(ValueError, match="pass LogPowerSpectrum\\(sfreq=...\\)"):
        LogPowerSpectrum().fit(X)
    for sfreq in (-128.0, 0.0):
        with pytest.raises(ValueError, match=f"sfreq must be positive, got {sfreq}"):
            LogPowerSpectrum(sfreq=sfreq).fit(X)
    # Nyquist is checked against the rate given with the arrays.
    with pytest.raises(ValueError, match="Nyquist frequency of the data \\(16 Hz"):
        LogPowerSpectrum(sfreq=32.0).fit(X)
    # Epochs at another rate read as other frequencies (10 Hz at 128 Hz as
    # 12.5 Hz at 160 Hz); they were transformed without a word.
    longer = np.repeat(X, 5, axis=2)
    fitted = LogPowerSpectrum(sfreq=160.0).fit(longer)
    info = mne.create_info(4, 128.0, "eeg")
    other_rate = mne.EpochsArray(longer, info, verbose=False)
    with pytest.raises(ValueError, match="sampled at 128.0 Hz .* fitted at 160.0 Hz"):
        fitted.transform(other_rate)
    # sfreq is the rate of arrays, ignored for Epochs but not for the arrays
    # given once fitted on them: these are at 160 Hz, not at the training rate.
    fitted_on_epochs = LogPowerSpectrum(sfreq=160.0).fit(other_rate)
    with pytest.raises(ValueError, match="sampled at 160.0 Hz .* fitted at 128.0 Hz"):
        fitted_on_epochs.transform(longer)


@pytest.mark.parametrize("picks", [[0, 1], "eeg"])
def test_picks_of_arrays_are_refused(synthetic_arrays, picks):
    """An array is read whole: picks=[0, 1] gave the spectra of all 4 channels,
    and a SpectralClassifier built and trained its network on all 4, where
    the estimator alone refuses such picks."""
    X, y = synthetic_arrays
    X = np.repeat(X, 4, axis=2)  # 256 samples: one-second segments at 128 Hz
    with pytest.raises(ValueError, match="array without one, which is used whole"):
        LogPowerSpectrum(sfreq=128.0, picks=picks).fit(X)
    estimator = EEGNetClassifier(picks=picks, max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match=r"\(4 channels\)"):
        SpectralClassifier(estimator, LogPowerSpectrum(sfreq=128.0)).fit(X, y)
    # None and "all" read the whole array, as they read all of Epochs.
    for whole in (None, "all"):
        spectra = LogPowerSpectrum(sfreq=128.0, picks=whole).fit_transform(X)
        assert spectra.shape[:2] == (40, 4)


def test_a_failed_fit_leaves_no_fitted_state(synthetic_arrays):
    """A refit that diverged kept the classes of the fit before beside the
    diverged network, which predicted other labels with NaN probabilities."""
    X, y = synthetic_arrays
    X = np.repeat(X, 4, axis=2)  # 256 samples: one-second segments at 128 Hz
    estimator = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    clf = SpectralClassifier(estimator, LogPowerSpectrum(sfreq=128.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a network trained for one epoch
        clf.fit(X, y)
    clf.set_params(estimator__lr=1e30)
    with pytest.raises(RuntimeError, match="Training diverged"):
        clf.fit(X, np.array(["a", "b"])[y])
    assert not hasattr(clf, "classes_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_spectra_keep_the_trials_of_their_epochs(spectral_epochs):
    """The spectra a network reads stand for the epochs: their events,
    metadata and selection are the epochs', as Spectra's docstring says, so
    that what reads them as InputData ties each spectrum to its trial."""
    epochs = spectral_epochs[[3, 5, 8]]
    spectra = LogPowerSpectrum().fit(epochs)._spectra(epochs)
    assert spectra.metadata["band"].tolist() == epochs.metadata["band"].tolist()
    np.testing.assert_array_equal(spectra.selection, [3, 5, 8])
    np.testing.assert_array_equal(spectra.events, epochs.events)


@pytest.mark.filterwarnings("ignore:After training")  # one pass: not learned
def test_the_spectrum_given_is_left_unfitted(synthetic_arrays):
    """fit fits a clone of the spectrum, as scikit-learn's meta-estimators do:
    fitted in place, a spectrum shared by two classifiers took the channels
    and rate of the last fit, which the first then read new data with."""
    X, y = synthetic_arrays
    X = np.repeat(X, 4, axis=2)  # 256 samples: one-second segments at 128 Hz
    spectrum = LogPowerSpectrum(sfreq=128.0)
    estimator = EEGNetClassifier(max_epochs=1, verbose=False)
    fitted = SpectralClassifier(estimator, spectrum).fit(X, y)
    assert not hasattr(spectrum, "freqs_")
    assert fitted.spectrum_ is not spectrum


def test_data_unlike_training_are_refused(imagery_epochs):
    epochs = imagery_epochs[:3]
    transformer = LogPowerSpectrum(method="multitaper").fit(epochs)
    with pytest.raises(ValueError, match="lacks 1 channel"):
        transformer.transform(epochs.copy().drop_channels(epochs.ch_names[:1]))
    with pytest.raises(ValueError, match="give epochs of the training length"):
        transformer.transform(epochs.copy().crop(0.5, 1.5))
    with pytest.raises(ValueError, match="sampled at 80.0 Hz"):
        transformer.transform(epochs.copy().resample(80.0, verbose=False))
    flat = epochs.copy()
    flat._data[:, 2] = 0.0
    with pytest.raises(ValueError, match=f"{epochs.ch_names[2]}.*no power"):
        transformer.transform(flat)
    # Zeroed in one epoch only: its log is -inf there all the same.
    one_epoch = epochs.copy()
    one_epoch._data[1, 2] = 0.0
    with pytest.raises(ValueError, match=f"{epochs.ch_names[2]}.*no power"):
        transformer.transform(one_epoch)
    # A flat channel is named alone, not taken for an empty 0 Hz bin.
    with pytest.raises(ValueError, match=rf"\['{epochs.ch_names[2]}'\] have no power"):
        LogPowerSpectrum(fmin=0).fit(flat)
    # Even where the 0 Hz bin of every channel is empty: all were named.
    with pytest.raises(ValueError, match=rf"\['{epochs.ch_names[2]}'\] have no power"):
        LogPowerSpectrum(fmin=0, window="boxcar").fit(flat)
    # Shorter than a Welch segment, MNE shortens the segment: the same
    # frequencies at a coarser resolution.
    welch = LogPowerSpectrum().fit(epochs)
    with pytest.raises(
        ValueError, match=r"fewer than one Welch segment \(n_per_seg=160"
    ):
        welch.transform(epochs.copy().crop(0.5, 1.25))
    # One segment is enough: the spectrum of epochs exactly that long.
    one_segment = epochs.get_data(picks=welch.ch_names_)[..., : welch.n_per_seg_]
    power, _ = psd_array_welch(
        one_segment,
        160.0,
        fmin=1.0,
        fmax=40.0,
        n_fft=640,
        n_per_seg=160,
        n_overlap=80,
        verbose=False,
    )
    # Read as float32, a single periodogram is off by up to 1e-3 dB.
    np.testing.assert_allclose(
        welch.transform(one_segment), 10 * np.log10(power), atol=1e-3
    )
    # A 0 Hz bin, detrended to nothing, was blamed on flat data in every channel.
    with pytest.raises(ValueError, match="0 Hz bin holds no power.*Raise fmin"):
        LogPowerSpectrum(fmin=0, window="boxcar").fit(epochs)
    # In dB another unit is an offset, which the network's amplitude check did
    # not see: spectra of microvolts were classified as one class, silently.
    with pytest.warns(RuntimeWarning, match=r"\+120 dB from the training data"):
        transformer.transform(epochs.get_data() * 1e6)
    # Arrays are taken at the training rate, as the estimators take them.
    np.testing.assert_allclose(
        transformer.transform(epochs.get_data()), transformer.transform(epochs)
    )


def test_a_0_hz_bin_empty_in_one_channel_only_is_refused():
    """A segment that Hamming's window weighs to a zero sum (antisymmetric about
    its middle) has no power at 0 Hz in that channel alone: refused only where
    the 0 Hz bin of every channel was empty, its log (-333 dB) went to the
    network as a value."""
    sfreq = n_times = 128  # one segment, whose window is symmetric about n / 2
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 3, n_times))
    noise = rng.standard_normal(n_times)
    X[:, 1] = noise - noise[(n_times - np.arange(n_times)) % n_times]
    with pytest.raises(ValueError, match="0 Hz bin holds no power in some channel"):
        LogPowerSpectrum(fmin=0.0, sfreq=sfreq).fit(X)


def test_a_channel_far_below_the_others_is_not_taken_for_flat(synthetic_arrays):
    """Zero power is told from rounding by each channel's own median:
    magnetometers in tesla lie about 160 dB below EEG in volts, and against
    the median of all channels their power would read as rounding, and them
    as flat."""
    X, _ = synthetic_arrays
    X = np.repeat(X, 4, axis=2) * 1e-5  # 256 samples: one-second segments at 128 Hz
    X[:, 0] *= 1e-8
    spectra = LogPowerSpectrum(sfreq=128.0).fit_transform(X)
    power, _ = psd_array_welch(
        X,
        128.0,
        fmin=1.0,
        fmax=40.0,
        n_fft=512,
        n_per_seg=128,
        n_overlap=64,
        verbose=False,
    )
    np.testing.assert_allclose(spectra, 10 * np.log10(power), atol=1e-4)


def test_data_over_40_db_from_training_are_warned_of_once(imagery_epochs, monkeypatch):
    """The warning of another unit comes over 40 dB from the training power,
    either way (microvolts trained, volts given), once, and for any batch:
    the parts of a list of Epochs may be in different units."""
    epochs = imagery_epochs[:4]
    transformer = LogPowerSpectrum().fit(epochs)
    # The level is the mean power of the first epoch, in dB, as documented.
    first = transformer.transform(epochs[:1]).astype(np.float64)
    assert transformer.power_level_ == pytest.approx(first.mean(), abs=1e-4)
    data = epochs.get_data(picks=transformer.ch_names_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        transformer.transform(data * 30)  # +30 dB
    with pytest.warns(RuntimeWarning, match=r"\+[45]\d dB from the training data"):
        transformer.transform(data * 300)
    with pytest.warns(RuntimeWarning, match=r"-1[12]\d dB from the training data"):
        transformer.transform(data * 1e-6)
    monkeypatch.setattr("mne_xai.spectral_input._BATCH_SIZE", 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transformer.transform(data * 1e6)
    assert len([w for w in caught if "from the training data" in str(w.message)]) == 1
    in_microvolts = epochs[2:].copy()
    in_microvolts._data *= 1e6
    with pytest.warns(RuntimeWarning, match=r"\+1[12]\d dB from the training data"):
        transformer.transform([epochs[:2], in_microvolts])


@pytest.mark.filterwarnings("ignore:After training")  # one pass: not learned
def test_the_spectra_are_logged_at_the_estimator_level(synthetic_arrays):
    """The spectra were logged at MNE's level whatever the network's verbose,
    so silent fits (and every GridSearchCV worker) printed them, as
    CroppedClassifier did its windows."""
    X, y = synthetic_arrays
    X = np.repeat(X, 4, axis=2)  # 256 samples: one-second segments at 128 Hz
    with use_log_level("info"):
        for verbose, logged in ((False, False), (True, True)):
            estimator = EEGNetClassifier(max_epochs=1, verbose=verbose)
            with catch_logging() as log:
                SpectralClassifier(estimator, LogPowerSpectrum(sfreq=128.0)).fit(X, y)
            assert ("Training on log-power spectra" in log.getvalue()) is logged


def test_clone_and_nested_params():
    clf = SpectralClassifier(
        EEGNetClassifier(lr=0.01), LogPowerSpectrum(fmax=30.0), hz_per_second=6.0
    )
    params = clf.get_params(deep=True)
    assert params["spectrum__fmax"] == 30.0
    assert params["estimator__lr"] == 0.01
    assert params["hz_per_second"] == 6.0
    copy = clone(clf).set_params(spectrum__fmax=35.0, estimator__lr=0.1)
    assert copy.spectrum.fmax == 35.0 and copy.estimator.lr == 0.1
    # The original is untouched and nothing fitted is copied.
    assert clf.spectrum.fmax == 30.0 and clf.estimator.lr == 0.01
    assert not hasattr(copy, "estimator_")
    params = LogPowerSpectrum(fmin=2.0, n_fft=64, picks="eeg").get_params()
    assert clone(LogPowerSpectrum(**params)).get_params() == params


@pytest.mark.parametrize(
    "n_fft, estimator, hz_per_second",
    [
        (128, EEGNetClassifier, 8.0),
        (512, EEGNetClassifier, 8.0),
        (512, InterpretableCNNClassifier, 4.0),
    ],
)
def test_kernels_span_the_same_band_at_any_frequency_step(
    spectral_epochs, n_fft, estimator, hz_per_second
):
    clf = SpectralClassifier(
        estimator(max_epochs=0, verbose=False, spatial_init="csp"),
        LogPowerSpectrum(n_fft=n_fft),
        hz_per_second=hz_per_second,
    ).fit(spectral_epochs[:20])
    step = spectral_epochs.info["sfreq"] / n_fft
    np.testing.assert_allclose(np.diff(clf.freqs_), step)
    assert clf.network_sfreq_ == pytest.approx(hz_per_second / step)
    assert clf.estimator_.info_["sfreq"] == clf.network_sfreq_
    # Shifts along frequency would move a band; the user's estimator is kept.
    assert clf.estimator_.time_shift == 0 and clf.estimator.time_shift == 0.05
    # CSP reads a signal's power in its variance: spectra are powers already.
    assert clf.estimator_.spatial_init is None and clf.estimator.spatial_init == "csp"
    # Both networks' first kernels last half a second: hz_per_second / 2 Hz.
    module = clf.estimator_.module_
    conv = getattr(module, "temporal_conv", None) or module.depthwise_conv
    kernel_hz = conv.kernel_size[1] * step
    assert abs(kernel_hz - hz_per_second / 2) <= step


def test_classifier_refuses_what_it_cannot_build(spectral_epochs):
    epochs = spectral_epochs[:20]
    with pytest.raises(TypeError, match="needs a network classifier with an info"):
        SpectralClassifier(LogisticRegression()).fit(epochs)
    # A class's name: "'str' object has no attribute 'get_params'".
    with pytest.raises(TypeError, match="needs a network classifier .* got str"):
        SpectralClassifier("EEGNetClassifier").fit(epochs)
    with pytest.raises(ValueError, match="hz_per_second must be positive"):
        SpectralClassifier(hz_per_second=0).fit(epochs)
    # The estimator's picks choose the spectra's channels (EOG was left out).
    with_eog = epochs.copy().set_channel_types({epochs.ch_names[0]: "eog"})
    estimator = EEGNetClassifier(picks=["eeg", "eog"], max_epochs=1, verbose=False)
    fitted = SpectralClassifier(estimator).fit(with_eog)
    assert fitted.spectrum_.ch_names_ == with_eog.ch_names
    assert fitted.estimator_.ch_names_ == with_eog.ch_names
    # Unless the spectrum picks its own.
    own = LogPowerSpectrum(picks=with_eog.ch_names[1:3])
    fitted = SpectralClassifier(estimator, own).fit(with_eog)
    assert fitted.spectrum_.ch_names_ == with_eog.ch_names[1:3]
    # The network reads every channel of those spectra, even one its own picks
    # would leave out.
    eeg_only = EEGNetClassifier(picks="eeg", max_epochs=1, verbose=False)
    own = LogPowerSpectrum(picks=with_eog.ch_names[:3])
    fitted = SpectralClassifier(eeg_only, own).fit(with_eog)
    assert fitted.estimator_.ch_names_ == with_eog.ch_names[:3]
    for predict in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError):  # was an AttributeError
            getattr(SpectralClassifier(), predict)(epochs)
    one_bin = LogPowerSpectrum(fmin=10.0, fmax=10.5, n_fft=128)
    with pytest.raises(ValueError, match="holds 1 frequency"):
        SpectralClassifier(spectrum=one_bin).fit(epochs)
    # Too few bins for EEGNet's pooling was told to give longer epochs.
    seven_bins = LogPowerSpectrum(fmin=8.0, fmax=14.0, n_fft=128)
    with pytest.raises(ValueError, match=r"at least 32 frequency bins.* holds 7 .*"
                       r"Widen fmin to fmax.*module__pool_length"):  # fmt: skip
        SpectralClassifier(spectrum=seven_bins).fit(epochs)
    with pytest.raises(TypeError, match="spectrum must be an instance of"):
        SpectralClassifier(spectrum="welch").fit(epochs)


class _SixteenBins(torch.nn.Module):
    """A network of the user's own reading 16 values per channel (dense)."""

    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.dense = torch.nn.Linear(n_channels * 16, n_classes)

    def forward(self, x):
        return self.dense(x.flatten(1))


def test_a_network_of_a_fixed_length_is_told_the_bins_it_read(spectral_epochs):
    """A network reading a fixed number of values failed on the spectrum's
    bins in words of epochs and samples ("epochs of shape (2, n, 7)"),
    without saying that its input was 7 frequency bins nor what sets them."""
    seven_bins = LogPowerSpectrum(fmin=8.0, fmax=14.0, n_fft=128)
    estimator = EEGNetClassifier(module=_SixteenBins, max_epochs=1, verbose=False)
    with pytest.raises(
        ValueError,
        match=r"cannot be multiplied.* the 7 frequency bins of the spectrum "
        r"\(8 to 14 Hz, 1 Hz apart\).* needs a spectrum of that many bins",
    ):
        SpectralClassifier(estimator, seven_bins).fit(spectral_epochs[:20])


class _OneBin(torch.nn.Module):
    """A network of the user's own reading one frequency bin of each channel."""

    BIN = 36  # 10 Hz of the default spectrum, 1 Hz on, every 0.25 Hz

    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.dense = torch.nn.Linear(n_channels, n_classes)

    def forward(self, x):
        return self.dense(x[..., self.BIN])


@pytest.mark.filterwarnings("ignore:After training")  # one pass: not learned
@pytest.mark.parametrize("method", ["saliency", "deeplift"])
def test_a_network_reading_one_bin_gets_its_relevance_there(spectral_epochs, method):
    """The relevance of a network that reads the 10 Hz bin alone lies at 10 Hz,
    in every channel, and nowhere else: relevance put a bin off, or
    frequencies shifted, point to another band."""
    estimator = EEGNetClassifier(module=_OneBin, max_epochs=1, verbose=False)
    with pytest.warns(RuntimeWarning, match="from 10 to 10 Hz"):
        clf = SpectralClassifier(estimator).fit(spectral_epochs[:20])
    relevance = explain_spectral_classifier(
        clf, spectral_epochs[20:24], method, target=0, verbose=False
    )
    data = relevance.get_data()
    assert relevance.freqs[_OneBin.BIN] == 10.0
    assert np.all(data[..., _OneBin.BIN] != 0)
    assert np.all(np.delete(data, _OneBin.BIN, axis=-1) == 0)


@pytest.mark.filterwarnings("ignore:After training")  # one pass: not learned
def test_frequencies_the_network_never_reads_are_named_in_hertz(spectral_epochs):
    """On LogPowerSpectrum's defaults (1 to 40 Hz every 0.25 Hz: 157 bins)
    EEGNet's pooling reads the bins up to 36.75 Hz: fit advised cropping the
    epochs to "the 144 samples read" and named "the last 13 (0.406 s)", which
    no crop changes. SpectralClassifier's own default reads every bin where
    the data reach 40.75 Hz."""
    epochs = spectral_epochs[:20]
    estimator = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = SpectralClassifier(estimator, LogPowerSpectrum()).fit(epochs)
    (told,) = [w for w in caught if "never reach its logits" in str(w.message)]
    assert str(told.message).startswith(
        "The network reads the frequency bins from 1 to 36.75 Hz of the spectra's "
        "1 to 40 Hz: the last 13 (37 to 40 Hz) never reach its logits"
    )
    assert "spectrum=LogPowerSpectrum(fmin=1, fmax=36.75)" in str(told.message)
    assert "epochs.crop" not in str(told.message)
    # What it says of them holds: every method gives them zero relevance.
    relevance = explain_spectral_classifier(fitted, epochs[:4], "saliency")
    profile = np.abs(relevance.get_data()).sum(axis=(0, 1))
    assert profile[relevance.freqs > 36.75].max() == 0
    assert profile[relevance.freqs <= 36.75].min() > 0
    # Its advice leaves nothing unread.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*never reach its logits")
        SpectralClassifier(estimator, LogPowerSpectrum(fmin=1, fmax=36.75)).fit(epochs)
        default = SpectralClassifier(estimator).fit(epochs)
    assert len(default.freqs_) == 160
    assert (default.freqs_[0], default.freqs_[-1]) == (1.0, 40.75)
    # Where the data do not reach 40.75 Hz, the default is LogPowerSpectrum's.
    at_80_hz = SpectralClassifier(estimator).fit(epochs.copy().resample(80.0))
    assert (at_80_hz.freqs_[0], at_80_hz.freqs_[-1]) == (1.0, 40.0)
    # From 81.5 Hz on, 40.75 Hz is below or at the Nyquist frequency.
    at_81_5_hz = SpectralClassifier(estimator).fit(epochs.copy().resample(81.5))
    assert at_81_5_hz.freqs_[-1] == pytest.approx(40.75)


def test_spectral_model_learns_and_its_relevance_lies_in_the_bands(
    fitted_spectral, spectral_epochs
):
    test = spectral_epochs[120:]
    assert fitted_spectral.score(test) >= 0.9
    relevance = explain_spectral_classifier(fitted_spectral, test, target="true")
    assert isinstance(relevance, EpochsSpectrumArray)
    np.testing.assert_array_equal(relevance.freqs, fitted_spectral.freqs_)
    assert relevance.ch_names == test.ch_names
    np.testing.assert_array_equal(relevance.events, test.events)
    assert relevance.metadata["band"].tolist() == test.metadata["band"].tolist()
    # The ground truth: the classes differ in the simulated bands only. The
    # one-second Hamming segments smear each band's edges (main lobe +-2 Hz):
    # "near" a band allows 1 Hz on either side.
    freqs = relevance.freqs
    in_band = np.zeros(len(freqs), bool)
    near_band = np.zeros(len(freqs), bool)
    for fmin, fmax in set(
        zip(test.metadata["fmin"], test.metadata["fmax"], strict=True)
    ):
        in_band |= (freqs >= fmin) & (freqs <= fmax)
        near_band |= (freqs >= fmin - 1) & (freqs <= fmax + 1)
    for band in test.event_id:
        # Each frequency's contribution to the logit, over channels and epochs.
        profile = relevance[band].get_data().sum(axis=1).mean(axis=0)
        magnitude = np.abs(profile)
        assert in_band[np.argmax(magnitude)], (
            f"{band}: peak at {freqs[magnitude.argmax()]}"
        )
        share = magnitude[near_band].sum() / magnitude.sum()
        assert share >= 0.9 > near_band.mean(), band
        # Power in the bands is evidence for the true class.
        assert profile[in_band].sum() > 0


def _assert_sums_to_logit_differences(fitted, epochs, relevance, index):
    """DeepLIFT's relevance of each epoch sums to the logit of class ``index``
    minus its logit at the mean training spectrum, the default baseline."""
    network = fitted.estimator_
    logits = network._logits(fitted._spectra(epochs))[:, index]
    baseline = network._logits(network.data_mean_[np.newaxis])[0, index]
    np.testing.assert_allclose(
        relevance.get_data().sum(axis=(1, 2)), logits - baseline, rtol=1e-3, atol=1e-4
    )


def test_deeplift_sums_to_the_logit_difference_from_the_mean_spectrum(
    fitted_spectral, spectral_epochs
):
    test = spectral_epochs[120:130]
    relevance = explain_spectral_classifier(
        fitted_spectral, test, target=0, verbose=False
    )
    _assert_sums_to_logit_differences(fitted_spectral, test, relevance, 0)
    average = explain_spectral_classifier(
        fitted_spectral, test, target=0, average=True, verbose=False
    )
    assert isinstance(average, SpectrumArray)
    np.testing.assert_allclose(
        average.get_data(), relevance.get_data().mean(axis=0), atol=1e-6
    )
    assert average.nave == len(test)


def test_targets_by_event_name(fitted_spectral, spectral_epochs):
    """The network inside is fitted on arrays of spectra, which match events by
    name only: an event name was refused, though this classifier knows them."""
    test = spectral_epochs[120:124]
    name, code = next(iter(spectral_epochs.event_id.items()))
    by_name = explain_spectral_classifier(
        fitted_spectral, test, target=name, verbose=False
    )
    index = list(fitted_spectral.classes_).index(code)
    by_index = explain_spectral_classifier(
        fitted_spectral, test, target=index, verbose=False
    )
    np.testing.assert_array_equal(by_name.get_data(), by_index.get_data())
    # Each name explains its own class's logit. The network knows labels
    # (codes 1 and 2): the index 1 of the second class, handed on to it as
    # such, was read as the label 1, the first class.
    for name, code in spectral_epochs.event_id.items():
        relevance = explain_spectral_classifier(
            fitted_spectral, test, target=name, verbose=False
        )
        index = list(fitted_spectral.classes_).index(code)
        _assert_sums_to_logit_differences(fitted_spectral, test, relevance, index)


def test_epochs_as_baseline_are_read_as_their_spectra(fitted_spectral, spectral_epochs):
    """Epochs in time were handed to the network as if they were spectra: a
    shape error, or volts read as decibels where times and bins are as many."""
    test, reference = spectral_epochs[120:125], spectral_epochs[130:131]
    relevance = explain_spectral_classifier(
        fitted_spectral, test, target=0, baseline=reference, verbose=False
    )
    network = fitted_spectral.estimator_
    logits = network._logits(fitted_spectral._spectra(test))[:, 0]
    baseline = network._logits(fitted_spectral._spectra(reference))[0, 0]
    np.testing.assert_allclose(
        relevance.get_data().sum(axis=(1, 2)), logits - baseline, rtol=1e-3, atol=1e-4
    )
    with pytest.raises(TypeError, match="one epoch for a method with one baseline"):
        explain_spectral_classifier(
            fitted_spectral, test, baseline=reference.average(), verbose=False
        )
    # A list of Epochs, as epochs may be, is read alike.
    several = spectral_epochs[130:134]
    as_list = [several[:2], several[2:]]
    np.testing.assert_allclose(
        *(
            explain_spectral_classifier(
                fitted_spectral,
                test,
                "deeplift_shap",
                target=0,
                baseline=baseline,
                verbose=False,
            ).get_data()
            for baseline in (several, as_list)
        )
    )
    # Epochs beside a spectrum are no list of Epochs: refused as such, not read
    # as spectra of an "X[1]" that must be Epochs.
    mixed = [reference, network.data_mean_]
    with pytest.raises(TypeError, match="give several baselines as one Epochs"):
        explain_spectral_classifier(fitted_spectral, test, baseline=mixed)


def test_a_pipeline_making_spectra_is_pointed_to_the_spectral_classifier(
    fitted_spectral, spectral_epochs
):
    """The refusal advised explaining the network on the spectra as if they were
    epochs, which Fourier-transformed them along their frequencies."""
    pipeline = make_pipeline(fitted_spectral.spectrum_, fitted_spectral.estimator_)
    with pytest.raises(ValueError, match="makes spectra: train a .*SpectralClassifier"):
        explain_spectrum(pipeline, spectral_epochs[:2], "saliency", verbose=False)


def test_an_array_baseline_of_either_channel_order_is_refused(
    fitted_spectral, spectral_epochs
):
    """A spectrum computed from Epochs holding the channels in another order was
    read in the training order, 70 % off; explain refuses the same in time."""
    test = spectral_epochs[120:123]
    baseline = fitted_spectral.spectrum_.transform(spectral_epochs[130:131])[0]
    reordered = test.copy().reorder_channels(test.ch_names[::-1])
    with pytest.raises(ValueError, match="an array baseline could follow either"):
        explain_spectral_classifier(
            fitted_spectral, reordered, "deeplift", baseline=baseline, verbose=False
        )
    # In the training order, the array is read as given.
    explain_spectral_classifier(
        fitted_spectral, test, "deeplift", baseline=baseline, verbose=False
    )


@pytest.mark.parametrize(
    "method, params",
    [
        ("gradient_x_input", {}),
        ("lrp_epsilon", {}),
        ("smoothgrad", dict(base_method="gradient_x_input")),
    ],
)
def test_methods_measuring_from_zero_decibels_are_refused(
    fitted_spectral, spectral_epochs, method, params
):
    """Power of EEG lies near -100 dB: gradient x input gave the one band that
    separates the classes a negative relevance 27 times the true one."""
    with pytest.raises(ValueError, match="whose zero .* is no reference"):
        explain_spectral_classifier(
            fitted_spectral, spectral_epochs[:2], method, verbose=False, **params
        )


def test_a_zero_decibel_baseline_is_refused(fitted_spectral, spectral_epochs):
    """baseline="zeros" measured from the 0 dB origin that the refusal above
    calls no reference, and passed."""
    with pytest.raises(ValueError, match='baseline="zeros" is 0 dB'):
        explain_spectral_classifier(
            fitted_spectral, spectral_epochs[:2], "deeplift", baseline="zeros"
        )


def test_pattern_methods_learn_from_the_spectra(fitted_spectral, spectral_epochs):
    """The pattern methods advised learn_patterns(estimator, epochs), which
    refused a SpectralClassifier ("Cannot read a network")."""
    epochs = spectral_epochs[:40]
    patterns = learn_patterns(fitted_spectral, epochs, verbose=False)
    by_hand = learn_patterns(
        fitted_spectral.estimator_, fitted_spectral.spectrum_.transform(epochs)
    )
    for name, pattern in by_hand.patterns.items():
        np.testing.assert_allclose(patterns.patterns[name], pattern)
    relevance = explain_spectral_classifier(
        fitted_spectral, epochs[:4], "pattern_net", patterns=patterns, verbose=False
    )
    assert relevance.get_data().shape == (
        4,
        len(epochs.ch_names),
        len(fitted_spectral.freqs_),
    )
    with pytest.raises(NotFittedError):
        learn_patterns(SpectralClassifier(), epochs)


def test_arrays_cross_validation_and_pickle(spectral_epochs, fitted_spectral):
    X = spectral_epochs.get_data()[:60]
    y = spectral_epochs.events[:60, 2]
    clf = SpectralClassifier(
        EEGNetClassifier(max_epochs=5, random_state=0, verbose=False),
        LogPowerSpectrum(sfreq=spectral_epochs.info["sfreq"]),
    ).fit(X, y)
    relevance = explain_spectral_classifier(clf, X[:4], method="saliency")
    assert relevance.get_data().shape == (4, X.shape[1], len(clf.freqs_))
    assert relevance.ch_names == [f"ch{index:03d}" for index in range(X.shape[1])]
    # Spectra of data at the arrays' rate, not at the rate the network reads.
    assert relevance.info["sfreq"] == spectral_epochs.info["sfreq"]
    with pytest.raises(ValueError, match="y is required"):
        clf.fit(X)
    # Epochs, indexed by scikit-learn into lists of Epochs, cost one fit a fold.
    scores = cross_val_score(clf, spectral_epochs[:60], cv=2)
    assert scores.shape == (2,) and np.all(scores >= 0.5)
    restored = pickle.loads(pickle.dumps(fitted_spectral))
    test = spectral_epochs[120:]
    np.testing.assert_allclose(
        restored.predict_proba(test), fitted_spectral.predict_proba(test), atol=1e-6
    )


@pytest.mark.parametrize("sfreq", [100.0, 256.0])
@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_white_noise_has_its_theoretical_density(method, sfreq):
    """Multitaper spectra were 10 * log10(sfreq) dB above Welch's: MNE's default
    normalization gives power per sample, not the documented V²/Hz."""
    sigma = 1e-5
    X = sigma * np.random.default_rng(0).standard_normal((10, 2, int(4 * sfreq)))
    spectra = LogPowerSpectrum(sfreq=sfreq, method=method).fit_transform(X)
    # The variance spreads evenly over the one-sided band from 0 to sfreq / 2.
    expected = 10 * np.log10(sigma**2 / (sfreq / 2))
    # The mean of the power, not of its log, which is biased low.
    assert 10 * np.log10(np.mean(10 ** (spectra / 10))) == pytest.approx(
        expected, abs=0.2
    )


def test_relevance_of_channels_a_spectrum_cannot_hold_is_left_out(spectral_epochs):
    """explain_spectral_classifier crashed with MNE's channel-count error when
    the network read an EOG channel; explain_spectrum leaves it out."""
    epochs = spectral_epochs[:20]
    eog = epochs.ch_names[0]
    with_eog = epochs.copy().set_channel_types({eog: "eog"})
    clf = SpectralClassifier(
        EEGNetClassifier(picks=["eeg", "eog"], max_epochs=1, verbose=False)
    ).fit(with_eog)
    test = with_eog[:4]
    match = rf"relevance of \['{eog}'\] \(\d+% of the total"
    with pytest.warns(RuntimeWarning, match=match):
        relevance = explain_spectral_classifier(clf, test)
    assert relevance.ch_names == epochs.ch_names[1:]
    with pytest.warns(RuntimeWarning, match=match):
        average = explain_spectral_classifier(clf, test, average=True)
    assert average.ch_names == epochs.ch_names[1:]
    np.testing.assert_allclose(
        average.get_data(), relevance.get_data().mean(axis=0), atol=1e-6
    )
    # The data channels keep their relevance, as the network's own maps give it.
    maps = _network_maps(clf, test)
    np.testing.assert_allclose(relevance.get_data(), maps[:, 1:], rtol=1e-5, atol=1e-7)


def test_a_search_is_explained_through_its_best_spectral_classifier(
    spectral_epochs,
):
    """A fitted search was refused ("must be an instance of SpectralClassifier"),
    and explain was given no hint that a SpectralClassifier needs its own call."""
    epochs = spectral_epochs[:20]
    clf = SpectralClassifier(EEGNetClassifier(max_epochs=1, verbose=False))
    search = GridSearchCV(clf, {"hz_per_second": [8.0]}, cv=2)
    search.fit(epochs, epochs.events[:, 2])
    test = epochs[:4]
    np.testing.assert_array_equal(
        explain_spectral_classifier(search, test).get_data(),
        explain_spectral_classifier(search.best_estimator_, test).get_data(),
    )
    for function in (explain, explain_spectrum):
        with pytest.raises(TypeError, match="with mne_xai.inspect.explain_spectral"):
            function(search.best_estimator_, test)


def test_events_are_not_read_as_classes_of_other_labels(spectral_epochs):
    """Trained on labels other than the events, target="true", a score without
    y and the votes of groups read the events as classes (accuracy 0.0 where
    the classifier reached 1.0): the network inside was fitted on arrays."""
    epochs = spectral_epochs[:20]
    codes = epochs.events[:, 2]
    labels = codes.min() + codes.max() - codes  # the two classes swapped
    clf = SpectralClassifier(EEGNetClassifier(max_epochs=1, verbose=False))
    clf.fit(epochs, labels)
    assert not clf.events_are_labels_
    match = 'target="true" reads the events of the epochs as classes'
    with pytest.raises(ValueError, match=match):
        explain_spectral_classifier(clf, epochs[:2], "saliency", target="true")
    with pytest.raises(ValueError, match="pass y, the class of each epoch"):
        group_predictions(clf, epochs, np.arange(20) % 2, verbose=False)
    with pytest.raises(ValueError, match="cannot be read as its classes"):
        clf.score(epochs)
    by_labels = group_predictions(
        clf, epochs, np.arange(20) % 2, y=labels, verbose=False
    )
    assert by_labels["n_epochs"].sum() == 20
    # Trained on the events, the events are its classes.
    clf.fit(epochs)
    assert clf.events_are_labels_ and clf.event_id_ == epochs.event_id
    relevance = explain_spectral_classifier(clf, epochs[:2], "saliency", target="true")
    expected = explain_spectral_classifier(
        clf, epochs[:2], "saliency", target=epochs[:2].events[:, 2]
    )
    np.testing.assert_allclose(relevance.get_data(), expected.get_data())


def test_tools_reading_time_refuse_the_network_of_spectra(
    fitted_spectral, spectral_epochs
):
    """Given estimator_, they read its frequency axis as time: kernels "peaking
    at 16 Hz" of a 32 Hz input, bands of frequency bins, a 1/f prior over
    frequency; best_samples returned the Welch spectra of the spectra, as if
    they were epochs in time."""
    network = fitted_spectral.estimator_
    spectra = fitted_spectral.spectrum_.transform(spectral_epochs[:8])
    calls = [
        lambda: explain_spectrum(network, spectra),
        lambda: temporal_filters(network),
        lambda: unit_sensitivity(network, spectra, "spatial_conv"),
        lambda: maximize_activation(network, target=0, n_steps=1),
        lambda: best_samples(network, spectra, k=2, among="all"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="reads log-power spectra"):
            call()
    activations = layer_activations(network, spectra, "temporal_conv", verbose=False)
    assert activations.sfreq is None and activations.data.shape[0] == 8
    # Epochs given to it were to be resampled to the rate of its spectra.
    with pytest.raises(ValueError, match="reads log-power spectra, not epochs"):
        network.predict(spectral_epochs[:2])


def test_data_randomization_refuses_the_spectral_classifier_with_its_reason(
    fitted_spectral, spectral_epochs
):
    """It said a SpectralClassifier is no mne_xai estimator."""
    with pytest.raises(TypeError, match="explain_spectral_classifier"):
        data_randomization_check(fitted_spectral, spectral_epochs[:4], "saliency")


def test_spectra_in_decibels_are_not_taken_for_microvolts(imagery_epochs):
    """The network of spectra reads decibels with the EEG channels' info; its
    fit warned that they were "EEG channels ... in microvolts", six times in
    the gallery, telling the reader to rescale data that were right."""
    estimator = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*micro", category=RuntimeWarning)
        fitted = SpectralClassifier(estimator).fit(imagery_epochs[:10])
    assert fitted.estimator_.info_.get_channel_types()[0] == "eeg"


def test_relevance_of_bad_channels_the_network_reads_is_kept(spectral_epochs):
    """A channel marked bad but named in picks is read by the network: its
    relevance was returned with it still marked bad, so get_data() and MNE's
    figures left it out (3 of the 4 channels the network read)."""
    epochs = spectral_epochs[:20].copy()
    epochs.info["bads"] = [epochs.ch_names[0]]
    spectrum = LogPowerSpectrum(picks=epochs.ch_names[:4])
    clf = SpectralClassifier(
        EEGNetClassifier(max_epochs=1, verbose=False), spectrum
    ).fit(epochs)
    assert clf.info_["bads"] == epochs.ch_names[:1]
    maps = _network_maps(clf, epochs)
    for average in (False, True):
        relevance = explain_spectral_classifier(clf, epochs, average=average)
        assert relevance.ch_names == epochs.ch_names[:4]
        assert relevance.info["bads"] == []
        expected = maps.mean(axis=0) if average else maps
        np.testing.assert_allclose(relevance.get_data(), expected, rtol=1e-5, atol=1e-7)


def test_spectra_as_baseline_are_refused_naming_the_network_settings(
    fitted_spectral, spectral_epochs
):
    """An EpochsSpectrum of another n_fft, with as many bins (1 to 20.875 Hz
    every 0.125 Hz for 1 to 40.75 Hz every 0.25 Hz), was read as the network's
    spectra and its power in V²/Hz as dB, without a word; a Spectrum failed in
    NumPy ("setting an array element with a sequence")."""
    test, reference = spectral_epochs[120:122], spectral_epochs[130:131]
    spectrum = fitted_spectral.spectrum_
    settings = dict(n_per_seg=spectrum.n_per_seg_, window=spectrum.window)
    other = reference.compute_psd(
        "welch", fmin=1.0, fmax=20.875, n_fft=2 * spectrum.n_fft_, **settings
    )
    assert other.get_data().shape[1:] == (len(test.ch_names), len(spectrum.freqs_))
    with pytest.raises(TypeError, match=r"frequencies \(160, 1 to 20.88 Hz, 0.125 Hz"):
        explain_spectral_classifier(fitted_spectral, test, baseline=other)
    alike = reference.compute_psd(
        "welch", fmin=1.0, fmax=40.75, n_fft=spectrum.n_fft_, **settings
    )
    for baseline in (alike, alike.average()):
        with pytest.raises(
            TypeError, match=r"Welch, n_fft=512, n_per_seg=128, n_overlap=64, window='"
        ):
            explain_spectral_classifier(fitted_spectral, test, baseline=baseline)
    # A single frequency is described without a spacing.
    single = reference.compute_psd(
        "welch", fmin=10.0, fmax=10.0, n_fft=spectrum.n_fft_, **settings
    )
    with pytest.raises(TypeError, match=r"frequencies \(1, 10 to 10 Hz\) are not"):
        explain_spectral_classifier(fitted_spectral, test, baseline=single)


def test_multitaper_frequencies_of_another_length_are_described(synthetic_arrays):
    """Epochs of 262 samples for 256 give as many multitaper bins, elsewhere:
    the error said "X gives 79 frequencies but the training data gave 79"."""
    rng = np.random.default_rng(0)
    train = rng.standard_normal((3, 2, 256)) * 1e-5
    transformer = LogPowerSpectrum(method="multitaper", sfreq=128.0).fit(train)
    # Welch's settings are None, as documented, not numbers it never used.
    welch_settings = (
        transformer.n_fft_,
        transformer.n_per_seg_,
        transformer.n_overlap_,
    )
    assert welch_settings == (None, None, None)
    longer = rng.standard_normal((3, 2, 262)) * 1e-5
    match = (
        r"79 frequencies \(1.466 to 39.57 Hz, 0.4885 Hz apart\) but the training "
        r"data gave 79 \(1 to 40 Hz, 0.5 Hz apart\)"
    )
    with pytest.raises(ValueError, match=match):
        transformer.transform(longer)


def test_a_baseline_of_power_rather_than_decibels_is_warned_of(
    fitted_spectral, spectral_epochs
):
    """A mean spectrum in V²/Hz, as spectrum.get_data() gives it, was read as
    dB (about 0 dB, the origin refused as baseline="zeros"), without a word:
    the relevance came out 42 times larger than from the mean spectrum."""
    test, reference = spectral_epochs[120:122], spectral_epochs[130:140]
    spectrum = fitted_spectral.spectrum_
    power = reference.compute_psd(
        "welch",
        fmin=spectrum.fmin,
        fmax=spectrum.fmax,
        n_fft=spectrum.n_fft_,
        n_per_seg=spectrum.n_per_seg_,
        window=spectrum.window,
        verbose=False,
    ).get_data()
    with pytest.warns(RuntimeWarning, match=r"baseline is \+1\d\d dB .*10 \* log10"):
        explain_spectral_classifier(fitted_spectral, test, baseline=power.mean(0))
    # Integers are checked as floats are: zeros are 0 dB, as baseline="zeros".
    with pytest.warns(RuntimeWarning, match=r"baseline is \+1\d\d dB"):
        explain_spectral_classifier(
            fitted_spectral, test, baseline=np.zeros(power.shape[1:], int)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain_spectral_classifier(
            fitted_spectral, test, baseline=10 * np.log10(power.mean(0))
        )


def test_channels_the_spectral_network_does_not_read_are_named(spectral_epochs, capsys):
    """A channel marked bad in training got no relevance and was left out of
    the spectra without a word."""
    epochs = spectral_epochs[:20].copy()
    epochs.info["bads"] = [epochs.ch_names[0]]
    clf = SpectralClassifier(EEGNetClassifier(max_epochs=1, verbose=False)).fit(epochs)
    capsys.readouterr()
    relevance = explain_spectral_classifier(clf, epochs[:2], verbose=True)
    assert relevance.ch_names == epochs.ch_names[1:]
    n_channels = len(epochs.ch_names)
    expected = f"reads {n_channels - 1} of the {n_channels} channels of epochs; not "
    assert expected + epochs.ch_names[0] in capsys.readouterr().out


def test_mne_spectra_are_refused_as_input_in_the_spectral_terms(
    fitted_spectral, spectral_epochs
):
    """A SpectralClassifier given an EpochsSpectrum was told to use a
    SpectralClassifier ("to train a network on their spectra, use
    mne_xai.inspect.SpectralClassifier")."""
    psd = spectral_epochs[:2].compute_psd("welch", fmin=1.0, fmax=40.0, verbose=False)
    match = r"computes the spectra itself .*\(Welch, n_fft=512, n_per_seg=128"
    with pytest.raises(TypeError, match=match):
        fitted_spectral.predict(psd)
    with pytest.raises(TypeError, match="computes the spectra itself"):
        explain_spectral_classifier(fitted_spectral, psd)
    with pytest.raises(TypeError, match="computes the spectra itself.*Give the"):
        LogPowerSpectrum().fit(psd)


def test_relevance_keeps_the_channel_order_of_the_epochs_given(spectral_epochs):
    """Epochs holding the training channels in another order got relevance in
    the training order, where explain's maps keep the Epochs' order."""
    epochs = spectral_epochs[:40]
    estimator = EEGNetClassifier(max_epochs=1, random_state=0, verbose=False)
    clf = SpectralClassifier(estimator).fit(epochs)
    order = epochs.ch_names[1:] + epochs.ch_names[:1]  # not its own inverse
    kwargs = dict(method="saliency", target=0, verbose=False)
    expected = explain_spectral_classifier(clf, epochs[:4], **kwargs)
    for average in (False, True):
        relevance = explain_spectral_classifier(
            clf, epochs[:4].copy().reorder_channels(order), average=average, **kwargs
        )
        assert relevance.ch_names == order
        by_name = expected.get_data(picks=order)
        np.testing.assert_allclose(
            relevance.get_data(), by_name.mean(axis=0) if average else by_name
        )


def _network_maps(clf, epochs):
    """DeepLIFT maps of the spectral classifier's network, on its own spectra."""
    values, _ = attribution_values(
        clf.estimator_,
        clf._spectra(epochs),
        "deeplift",
        target=None,
        average=False,
        batch_size=64,
        device=None,
        random_state=None,
        params=dict(baseline="mean"),
    )
    return values


def test_explain_refuses_the_network_of_a_spectral_classifier(
    fitted_spectral, spectral_epochs
):
    """Its maps were Epochs whose times were the spectra's frequencies (a peak
    "at 2.6 s" was at 22 Hz), where the other tools refuse this network."""
    spectra = fitted_spectral._spectra(spectral_epochs[:4])
    with pytest.raises(ValueError, match="explain reads the network's input as time"):
        explain(fitted_spectral.estimator_, spectra, "saliency")


def test_spectra_of_epochs_read_from_disk_are_computed_a_batch_at_a_time(
    fitted_spectral, spectral_epochs, tmp_path, epochs_reads, monkeypatch
):
    """The spectra of every epoch were read and computed at once, in float64
    with Welch's zero-padded FFT: 1.8 GB for 220 MB of Epochs not preloaded.
    Batch by batch, they are those of all epochs at once."""
    path = tmp_path / "spectral-epo.fif"
    spectral_epochs[120:].save(path, verbose=False)
    lazy = mne.read_epochs(path, preload=False, verbose=False)
    spectrum = fitted_spectral.spectrum_
    # The former computation: the spectra of all the epochs at once.
    whole, _ = spectrum._log_power(
        lazy.get_data(picks=spectrum.ch_names_).astype(np.float32)
    )
    clf = copy.deepcopy(fitted_spectral)
    clf.estimator_.set_params(iterator_valid__batch_size=7)
    monkeypatch.setattr("mne_xai.spectral_input._BATCH_SIZE", 7)
    kwargs = dict(target=0, batch_size=7, device=None, random_state=None)
    expected, _ = attribution_values(
        clf.estimator_, whole, "saliency", average=True, params={}, **kwargs
    )
    epochs_reads.clear()
    np.testing.assert_array_equal(spectrum.transform(lazy), whole.astype(np.float32))
    np.testing.assert_array_equal(
        clf.predict_proba(lazy), clf.estimator_.predict_proba(whole)
    )
    relevance = explain_spectral_classifier(
        clf, lazy, "saliency", average=True, verbose=False, **kwargs
    )
    np.testing.assert_allclose(relevance.get_data(), expected)
    assert epochs_reads and max(epochs_reads) <= 7 < len(lazy)


def _peak_memory(function, epochs):
    """Peak traced memory of ``function(epochs)``."""
    gc.collect()
    tracemalloc.start()
    try:
        function(epochs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_averaged_relevance_and_predictions_hold_a_batch_of_spectra(
    fitted_spectral, spectral_epochs
):
    """DESIGN: averaged explanations and predictions stream over batches; those of
    a spectral network held the spectra of every epoch, 8 times the epochs'
    size in the computation."""
    data = spectral_epochs[120:].get_data()
    few, many = (
        mne.EpochsArray(np.tile(data, (n, 1, 1)), spectral_epochs.info, verbose=False)
        for n in (10, 50)
    )

    def explain_average(epochs):
        explain_spectral_classifier(
            fitted_spectral, epochs, "saliency", target=0, average=True, verbose=False
        )

    for function in (explain_average, fitted_spectral.predict_proba):
        small, large = (_peak_memory(function, epochs) for epochs in (few, many))
        assert large < 1.2 * small, (function, small, large)
