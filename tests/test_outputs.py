"""Results as MNE objects: on the input's own times, tied to its trials."""

import warnings

import mne
import numpy as np
import pandas as pd
import pytest

from mne_xai import EEGNetClassifier, explain
from mne_xai.attribution import channel_importance, explain_spectrum, time_importance
from mne_xai.inspect import (
    SpectralClassifier,
    attribution_patterns,
    best_samples,
    explain_spectral_classifier,
    layer_activations,
    maximize_activation,
)
from mne_xai.simulation import simulate_epochs


def _fit(epochs):
    return EEGNetClassifier(max_epochs=2, random_state=0, verbose=False).fit(epochs)


@pytest.mark.parametrize(
    "shift",
    [
        0.003,  # a trigger delay corrected, 3 ms
        0.5 / 64,  # half a sample, as decimate(2, offset=1) leaves the times
    ],
)
def test_maps_keep_times_off_the_sample_grid(spatial_epochs, shift):
    """MNE rounds a tmin given to EpochsArray to whole samples: maps moved by
    up to half a sample (and got a time point more than their samples)."""
    epochs = spatial_epochs.copy().shift_time(shift)
    estimator = _fit(epochs)
    maps = explain(estimator, epochs, "saliency")
    for result in (
        maps,
        explain(estimator, epochs, "saliency", average=True),
        time_importance(maps),
        attribution_patterns(estimator, epochs),
        maximize_activation(estimator, 0, n_restarts=1, n_steps=2).evoked,
    ):
        assert len(result.times) == len(epochs.times)
        np.testing.assert_allclose(result.times, epochs.times, atol=1e-9)
    assert maps.copy().crop(0.5, 0.7).get_data().shape[-1] == len(
        epochs.copy().crop(0.5, 0.7).times
    )


def test_maps_decimate_as_their_epochs(spatial_epochs):
    """MNE's shift_time leaves the times decimate starts from where they were:
    decimated, maps of epochs from -0.2 s started at 0 s, one sample off the
    decimated epochs (and their decimated ground truth)."""
    estimator = _fit(spatial_epochs)
    # The aliasing warning of a low-pass at the new Nyquist frequency.
    decimate = dict(decim=2, verbose="error")
    decimated = spatial_epochs.copy().decimate(**decimate)
    kept = np.searchsorted(spatial_epochs.times, decimated.times)
    assert spatial_epochs.times[0] < 0 and kept[0] == 1
    for result in (
        explain(estimator, spatial_epochs, "saliency"),
        explain(estimator, spatial_epochs, "saliency", average=True),
    ):
        samples = result.get_data()[..., kept]
        result = result.copy().decimate(**decimate)
        np.testing.assert_allclose(result.times, decimated.times)
        np.testing.assert_array_equal(result.get_data(), samples)


def test_results_keep_the_selection_drop_log_and_metadata(spatial_epochs):
    """What ties a map to its trial (epochs.selection, the drop log) was lost
    by every result but explain's own: spectra, importances, activations. The
    metadata, which selects trials by subject or condition, is kept too."""
    epochs = spatial_epochs.copy()
    epochs.metadata = pd.DataFrame({"trial": np.arange(len(epochs))})
    estimator = _fit(epochs)
    subset = epochs[1::3]
    maps = explain(estimator, subset, "saliency")
    results = {
        "explain_spectrum": explain_spectrum(estimator, subset, "saliency"),
        "channel_importance": channel_importance(maps),
        "time_importance": time_importance(maps),
        "layer_activations": layer_activations(
            estimator, subset, "spatial_pool"
        ).to_epochs(),
    }
    for name, result in results.items():
        np.testing.assert_array_equal(result.selection, subset.selection, err_msg=name)
        assert result.drop_log == subset.drop_log, name
        pd.testing.assert_frame_equal(result.metadata, subset.metadata, obj=name)


def test_maps_keep_the_events_of_epochs_given_out_of_order(spatial_epochs):
    """The maps of epochs[[3, 1, 2]] keep their events, in that order, and the
    events' names (maps["left"] selects the maps of the same trials); MNE's
    warning that the events are not in time order is about the user's
    selection, and is not repeated for the maps."""
    subset = spatial_epochs[[3, 1, 2]]
    estimator = _fit(spatial_epochs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = explain(estimator, subset, "saliency")
    assert not [w for w in caught if "chronologically" in str(w.message)]
    np.testing.assert_array_equal(maps.events, subset.events)
    assert maps.event_id == subset.event_id


def test_maps_of_epochs_left_without_a_class_keep_its_name_quietly(spatial_epochs):
    """Epochs whose every "right" epoch was dropped still name "right" in
    event_id, as MNE keeps it; so do their maps, without MNE's warning that no
    epoch has that event, which is about the user's selection, not the maps."""
    estimator = _fit(spatial_epochs)
    left = spatial_epochs.copy().drop(spatial_epochs.events[:, 2] == 2, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        maps = explain(estimator, left, "saliency")
    assert not [w for w in caught if "No matching events" in str(w.message)]
    assert maps.event_id == left.event_id == spatial_epochs.event_id


@pytest.mark.parametrize(
    "annotated",
    [
        slice(None),  # every epoch
        slice(1, 2),  # one annotation, of the first epoch explained
    ],
)
def test_results_keep_the_annotations_of_decimated_epochs(spatial_epochs, annotated):
    """Maps dropped the input's annotations (get_annotations_per_epoch read
    nothing); and their events, in the recording's samples, were read at the
    decimated rate (the annotation of each epoch fell outside it). One
    annotation is kept as several are."""
    epochs = spatial_epochs.copy()
    onsets = epochs.events[:, 0] / epochs.info["sfreq"] + epochs.tmin
    names = np.array([f"trial {k}" for k in range(len(epochs))])
    epochs.set_annotations(mne.Annotations(onsets[annotated], 0.1, names[annotated]))
    epochs.decimate(2)
    subset = epochs[1::3]
    estimator = _fit(epochs)
    maps = explain(estimator, subset, "saliency")
    expected = subset.get_annotations_per_epoch()
    assert expected[0][0][2] == "trial 1"
    for name, result in {
        "explain": maps,
        "time_importance": time_importance(maps),
        "layer_activations": layer_activations(
            estimator, subset, "spatial_pool"
        ).to_epochs(),
    }.items():
        assert result.get_annotations_per_epoch() == expected, name


def test_averaged_spectra_say_how_many_epochs(spatial_epochs):
    """Averaged spectra had no nave (MNE's EpochsSpectrum.average sets it)."""
    average = explain_spectrum(
        _fit(spatial_epochs), spatial_epochs[:7], "saliency", average=True
    )
    assert average.nave == 7


def test_spectra_share_nothing_with_their_epochs(spatial_epochs):
    """explain_spectrum's spectra held the very channel list (info["chs"], and
    its projectors and digitization), event_id and selection of the Epochs
    explained: spectrum.event_id["rest"] = 1 gave the user's Epochs an event
    "rest", and moving channel 0 of the spectrum by 0.1 m moved the Epochs'
    channel, as neither explain's maps nor MNE's compute_psd do."""
    epochs = spatial_epochs[:8]
    estimator = _fit(spatial_epochs)
    loc, event_id = epochs.info["chs"][0]["loc"].copy(), dict(epochs.event_id)
    selection = epochs.selection.copy()
    per_epoch = explain_spectrum(estimator, epochs, "saliency")
    average = explain_spectrum(estimator, epochs, "saliency", average=True)
    for spectrum in (per_epoch, average):
        spectrum.info["chs"][0]["loc"][:3] = [0.0, 0.0, 0.1]
    per_epoch.event_id["rest"] = 1
    per_epoch.selection[0] = 1000
    np.testing.assert_array_equal(epochs.info["chs"][0]["loc"], loc)
    assert epochs.event_id == event_id
    np.testing.assert_array_equal(epochs.selection, selection)
    # Nor do the spectra of best_samples share channels from class to class.
    spectra = list(best_samples(estimator, epochs, k=2).spectra.values())
    assert spectra[0].info["chs"] is not spectra[1].info["chs"]


def test_spectral_classifier_results_keep_trials_and_nave():
    epochs, _ = simulate_epochs(
        "spectral", n_epochs=24, duration=1.0, random_state=0, verbose=False
    )
    classifier = SpectralClassifier(
        EEGNetClassifier(max_epochs=2, random_state=0, verbose=False)
    ).fit(epochs)
    subset = epochs[::4]
    relevance = explain_spectral_classifier(classifier, subset, "saliency")
    np.testing.assert_array_equal(relevance.selection, subset.selection)
    assert relevance.drop_log == subset.drop_log
    average = explain_spectral_classifier(classifier, subset, "saliency", average=True)
    assert average.nave == len(subset)


@pytest.mark.filterwarnings("ignore:.*marked bad:RuntimeWarning")
@pytest.mark.parametrize("marked_bad", ["after_training", "in_training"])
def test_inspection_reads_channels_marked_bad(spatial_epochs, marked_bad):
    """Spectra of channels the network reads but MNE's picks leave out (bads)
    failed with MNE's "number of channels in data" error."""
    epochs = spatial_epochs.copy()
    bad = [epochs.ch_names[3]]
    if marked_bad == "in_training":
        epochs.info["bads"] = bad
        # Channels named explicitly are read, bad or not.
        estimator = EEGNetClassifier(
            picks=epochs.ch_names, max_epochs=2, random_state=0, verbose=False
        ).fit(epochs)
    else:
        estimator = _fit(epochs)
        epochs.info["bads"] = bad
    assert bad[0] in estimator.ch_names_
    for spectrum in best_samples(estimator, epochs, k=2).spectra.values():
        assert spectrum.ch_names == estimator.ch_names_
        assert np.isfinite(spectrum.get_data()).all()
    spectrum = maximize_activation(estimator, 0, n_restarts=1, n_steps=2).spectrum
    assert spectrum.ch_names == estimator.ch_names_
