"""A stranger's data: defaults that learn, and no silently wrong answer."""

import io
import logging
import os
import pickle
import sys
import warnings
from functools import partial

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from joblib import Parallel, delayed
from mne._fiff.compensator import set_current_comp
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score
from skorch import NeuralNetClassifier
from skorch.callbacks import LRScheduler
from skorch.exceptions import NotInitializedError

import mne_xai
from mne_xai import CroppedClassifier, EEGNetClassifier, InterpretableCNNClassifier
from mne_xai._convert import InputData
from mne_xai._data_checks import (
    _flat_epochs,
    _warn_if_in_another_unit,
    _warn_of_loud_channels,
    channel_moments,
    check_channel_amplitudes,
    check_offsets,
    first_copies,
    std_per_type,
    within_epoch_variance,
)
from mne_xai._labels import events_as_trained, events_unseen_in_training
from mne_xai._matching import check_amplitudes, eeg_reference
from mne_xai._progress import bars_drawn, mne_bars_as_ours, progress_bar
from mne_xai._training import n_training_batches
from mne_xai.attribution import modality_importance
from mne_xai.estimators import _warn_if_one_factor_flattens_a_type, training_schedule
from mne_xai.models import EEGNet

ESTIMATORS = [EEGNetClassifier, InterpretableCNNClassifier]
FAST = dict(max_epochs=3, batch_size=8, verbose=False, random_state=0)


def _epochs(X, y, ch_types="eeg", sfreq=64.0, tmin=0.0):
    names = [f"EEG{i}" for i in range(X.shape[1])]
    info = mne.create_info(names, sfreq, ch_types)
    events = np.column_stack([np.arange(len(y)) * 100, np.zeros(len(y), int), y])
    return mne.EpochsArray(
        X.astype(np.float64) * 1e-5, info, events=events, tmin=tmin, verbose=False
    )


# -- defaults that follow the data size ------------------------------------------
@pytest.mark.parametrize(
    "n_samples, expected",
    [
        (30, (8, 250)),
        (36, (8, 200)),
        (1000, (32, 32)),
        (100_000, (64, 20)),
        # A last batch of one joins the batch before it, so a pass over
        # k * batch + 1 epochs takes k steps, not k + 1.
        (33, (8, 250)),
        (1025, (32, 32)),
    ],
)
def test_training_schedule_follows_the_number_of_examples(n_samples, expected):
    batch_size, max_epochs = training_schedule(n_samples)
    assert (batch_size, max_epochs) == expected
    steps = max_epochs * n_training_batches(n_samples, batch_size)
    assert steps >= 1000


def test_explicit_values_are_kept_and_the_other_follows():
    assert training_schedule(36, batch_size=32, max_epochs=7) == (32, 7)
    # Two steps per pass at batch 32: 500 passes make the 1,000 steps.
    assert training_schedule(36, batch_size=32) == (32, 500)
    assert training_schedule(36, max_epochs=10) == (8, 10)
    # Outside the automatic range [8, 64] too: 9 steps per pass at batch 4
    # (112 passes, 1,008 steps), 8 at batch 128 (125 passes).
    assert training_schedule(36, batch_size=4) == (4, 112)
    assert training_schedule(1000, batch_size=128) == (128, 125)


@pytest.mark.parametrize(
    "n_samples, batch_size",
    [(127, 8), (128, 16), (512, 16), (513, 32), (2047, 32), (2048, 64)],
)
def test_automatic_batch_size_changes_where_documented(n_samples, batch_size):
    """The docstring and README name the sizes where the batch doubles: 16
    from 128 examples, 32 from 513, 64 from 2,048."""
    assert training_schedule(n_samples)[0] == batch_size


def test_automatic_epochs_are_the_fewest_that_make_1000_steps():
    """The rule as documented: at least 1,000 optimizer steps, one pass fewer
    would not make them, within 20 to 500 passes."""
    for n_samples in range(1, 3000):
        batch_size, max_epochs = training_schedule(n_samples)
        steps_per_pass = n_training_batches(n_samples, batch_size)
        assert 20 <= max_epochs <= 500
        assert max_epochs == 500 or max_epochs * steps_per_pass >= 1000
        assert max_epochs == 20 or (max_epochs - 1) * steps_per_pass < 1000


def test_a_pass_over_one_example_is_one_batch():
    """Fewer examples than a batch make one batch, also a single example (a
    partial_fit chunk of one epoch), not zero."""
    assert n_training_batches(1, 8) == 1
    assert n_training_batches(5, 8) == 1


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        # "math domain error", "must be real number, not str", ZeroDivisionError.
        (dict(n_samples=0), ValueError, "n_samples must be a positive integer"),
        (dict(n_samples="36"), TypeError, "n_samples must be an instance of int"),
        (dict(batch_size=0), ValueError, "batch_size must be at least 1, got 0"),
        (dict(max_epochs=-1), ValueError, "max_epochs must be at least 0, got -1"),
        (dict(max_epochs="all"), TypeError, 'max_epochs must be an instance of "auto"'),
    ],
)
def test_training_schedule_refuses_arguments_by_name(params, error, match):
    with pytest.raises(error, match=match):
        training_schedule(**{"n_samples": 36, **params})


def test_automatic_epochs_stop_at_500_on_tiny_data():
    """One step per pass would take 1,000 passes; tiny data stop at 500."""
    assert training_schedule(8) == (8, 500)
    assert training_schedule(36, batch_size=64) == (64, 500)


def test_fit_records_the_schedule_it_used(synthetic_arrays):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(max_epochs=4, verbose=False, random_state=0).fit(X, y)
    assert clf.get_params()["batch_size"] == "auto"
    assert (clf.batch_size_, clf.max_epochs_) == training_schedule(len(X), "auto", 4)
    assert len(clf.history) == 4
    n_batches = len(clf.history[-1, "batches"])
    assert n_batches == -(-len(X) // clf.batch_size_)
    scheduler = dict(clf.callbacks_)["lr_scheduler"]
    assert isinstance(scheduler, LRScheduler)
    assert scheduler.lr_scheduler_.T_max == 4


def test_partial_fit_records_the_batch_size_it_trains_with(synthetic_arrays):
    """set_params(batch_size=4) then partial_fit trained in batches of 4, and
    batch_size_, the size used, still said 8."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    clf.set_params(batch_size=4).partial_fit(X, y)
    assert {batch["train_batch_size"] for batch in clf.history[-1, "batches"]} == {4}
    assert clf.batch_size_ == 4


def test_cropped_defaults_fit_short_epochs(synthetic_arrays):
    X, y = synthetic_arrays  # 64 samples at 64 Hz: 1 s epochs
    epochs = _epochs(X, y + 1)
    cropped = CroppedClassifier(EEGNetClassifier(**FAST)).fit(epochs)
    # Half the epoch (0.5 s, 32 samples), every 1/16 s (4 samples): 9 windows.
    assert cropped.window_samples_ == 32
    assert len(cropped.window_starts_) == 9
    assert cropped.predict(epochs).shape == (len(y),)


# -- channels: picks -------------------------------------------------------------
def _with_stim_channel(epochs, name="STI 014", codes=None):
    """Add a stimulus channel holding ``codes`` (by default each epoch's event
    code) at time 0, as mne.Epochs keep it."""
    stim = np.zeros((len(epochs), 1, len(epochs.times)))
    codes = epochs.events[:, 2] if codes is None else codes
    stim[:, 0, epochs.time_as_index(0)[0]] = codes
    info = mne.create_info([name], epochs.info["sfreq"], "stim")
    stim_epochs = mne.EpochsArray(
        stim, info, events=epochs.events, tmin=epochs.tmin, verbose=False
    )
    return epochs.copy().add_channels([stim_epochs], force_update_info=True)


def test_stimulus_channel_is_never_trained_on_by_default(imagery_epochs):
    epochs = _with_stim_channel(imagery_epochs)
    assert "STI 014" in epochs.ch_names
    clf = EEGNetClassifier(**FAST).fit(epochs)
    assert "STI 014" not in clf.ch_names_
    assert clf.ch_names_ == imagery_epochs.ch_names
    assert clf.n_channels_ == 64
    attribution = mne_xai.explain(clf, epochs, "saliency", verbose=False)
    assert attribution.ch_names == imagery_epochs.ch_names
    with pytest.warns(RuntimeWarning, match=r"picks='all' trains on the stimulus.*"):
        leaky = EEGNetClassifier(picks="all", **FAST).fit(epochs)
    assert "STI 014" in leaky.ch_names_


def test_picking_a_stimulus_channel_warns_and_its_codes_are_no_unit(imagery_epochs):
    """picks="all" trained on STI 014 without a word; predicting epochs of one
    class then blamed "different units" on its spread of event codes, zero."""
    epochs = _with_stim_channel(imagery_epochs)
    for picks in ("all", ["eeg", "stim"], epochs.ch_names):
        with pytest.warns(RuntimeWarning, match="STI 014, which hold the event codes"):
            clf = EEGNetClassifier(picks=picks, **FAST).fit(epochs)
    # A stimulus channel held at the event's code through the epoch.
    epochs._data[:, -1] = epochs.events[:, 2, None]
    with pytest.warns(RuntimeWarning, match="trains on the stimulus"):
        clf.fit(epochs)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*(stimulus|different units)")
        clf.predict(epochs["feet"])
        EEGNetClassifier(**FAST).fit(epochs)


def test_stimulus_channels_picked_are_not_named_as_loud_electrodes(imagery_epochs):
    """Trigger lines vary as the events do, not as electrodes: a channel of
    combined codes in the thousands (as response bits set them) beside two bit
    lines of 5, picked with picks="all", must not be named a broken electrode
    to mark bad or interpolate; the stimulus warning says what to do."""
    codes = imagery_epochs.events[:, 2]
    first = codes == codes[0]
    epochs = _with_stim_channel(imagery_epochs, "STI 001", 5.0 * first)
    epochs = _with_stim_channel(epochs, "STI 002", 5.0 * ~first)
    epochs = _with_stim_channel(epochs, "STI 101", 4096.0 * codes)
    quick = {**FAST, "max_epochs": 0}
    with pytest.warns(
        RuntimeWarning, match="STI 001, STI 002, STI 101, which"
    ) as record:
        EEGNetClassifier(picks="all", **quick).fit(epochs)
    assert not [w for w in record if "vary far more" in str(w.message)]


def test_array_of_every_channel_is_refused_where_picks_leave_some_out(
    imagery_epochs,
):
    """Arrays with info=epochs.info trained on STI 014 (0.975 on noise)."""
    epochs = _with_stim_channel(imagery_epochs)
    X, y = epochs.get_data(), epochs.events[:, 2]
    clf = EEGNetClassifier(info=epochs.info, **FAST)
    with pytest.raises(ValueError, match="picks=None leaves out STI 014 .*picks="):
        clf.fit(X, y)
    bad = imagery_epochs.copy()
    bad.info["bads"] = ["C3"]
    with pytest.raises(ValueError, match="leaves out C3 "):
        clf.set_params(info=bad.info).fit(bad.get_data(), y)
    with pytest.warns(RuntimeWarning, match="trains on the stimulus channel"):
        every = clf.set_params(info=epochs.info, picks=epochs.ch_names).fit(X, y)
    assert every.ch_names_ == epochs.ch_names


@pytest.mark.parametrize("picks", [[0, 1], "eeg"])
def test_picks_of_an_array_without_info_are_refused(synthetic_arrays, picks):
    """An array without info is used whole: picks=[0, 1] trained on its 4
    channels without a word."""
    X, y = synthetic_arrays
    with pytest.raises(ValueError, match="without one, which is used whole"):
        EEGNetClassifier(picks=picks, **FAST).fit(X, y)
    # Not the made-up channel names that a CroppedClassifier gives the windows.
    cropped = CroppedClassifier(EEGNetClassifier(picks=picks, **FAST), sfreq=64.0)
    with pytest.raises(ValueError, match="without one, which is used whole"):
        cropped.fit(X, y)
    assert EEGNetClassifier(picks="all", **FAST).fit(X, y).n_channels_ == 4


@pytest.mark.parametrize("picks", [["C3", "Cz", "C3"], [0, 1, 0]])
def test_picks_naming_a_channel_twice_are_refused_by_name(synthetic_arrays, picks):
    """MNE's "Found 2 / 3 unique names, sel is not unique" named no channel."""
    X, y = synthetic_arrays
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-5, info, verbose=False)
    with pytest.raises(ValueError, match=r"names C3 more than once"):
        EEGNetClassifier(picks=picks, **FAST).fit(epochs, y)


@pytest.mark.parametrize(
    "picks", [slice(1, 4), [1, 2, 3], np.array([1, 2, 3]), ["C3", "Cz", "C4"]]
)
def test_cropped_classifier_picks_channels_once(imagery_epochs, picks):
    """Indices and slices were applied again to the picked windows: slice(1, 4)
    trained on two channels, [1, 2, 3] failed with an IndexError."""
    epochs = imagery_epochs.copy().pick(["Fz", "C3", "Cz", "C4", "Pz", "Oz"])
    # Built on the windows' channels, not trained: picks act before training.
    built = EEGNetClassifier(picks=picks, **{**FAST, "max_epochs": 0})
    cropped = CroppedClassifier(built).fit(epochs)
    assert cropped.estimator_.ch_names_ == ["C3", "Cz", "C4"]
    assert cropped.estimator.picks is picks  # the parameter is left as given


def test_channels_picked_by_name_are_read_in_the_order_given(synthetic_arrays):
    """The network reads picked names and indices in the order given, not the
    info's: channel EEG3 picked first is the first row the network reads."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1)
    for picks in (["EEG3", "EEG1"], [3, 1]):
        clf = EEGNetClassifier(picks=picks, **{**FAST, "max_epochs": 0}).fit(epochs)
        assert clf.ch_names_ == ["EEG3", "EEG1"]
        expected = epochs.get_data(picks=["EEG3", "EEG1"]).mean(axis=0)
        np.testing.assert_allclose(clf.data_mean_, expected, rtol=1e-4)


def test_bad_channels_are_left_out_with_a_log_line(imagery_epochs, caplog):
    epochs = imagery_epochs.copy()
    epochs.info["bads"] = ["C3", "Cz"]
    # verbose=None follows MNE's log level, here INFO.
    with caplog.at_level(logging.INFO, logger="mne"):
        clf = EEGNetClassifier(**{**FAST, "verbose": None}).fit(epochs)
    assert "Leaving out 2 channel(s) marked bad: C3, Cz" in caplog.text
    assert "C3" not in clf.ch_names_ and clf.n_channels_ == 62
    # The same epochs predict and explain on the 62 good channels.
    assert clf.predict(epochs).shape == (len(epochs),)
    assert len(mne_xai.explain(clf, epochs[:2], verbose=False).ch_names) == 62
    chosen = EEGNetClassifier(picks=["C3", "Cz", "C4"], **FAST).fit(epochs)
    assert chosen.ch_names_ == ["C3", "Cz", "C4"]
    # "all" and channel types leave them out as MNE does, without a word before.
    for picks in ("all", ["eeg"]):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mne"):
            clf = EEGNetClassifier(**{**FAST, "verbose": None, "picks": picks})
            clf.fit(epochs)
        assert "Leaving out 2 channel(s) marked bad: C3, Cz" in caplog.text
        assert clf.n_channels_ == 62
    # A single bad channel is said too.
    epochs.info["bads"] = ["C3"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mne"):
        EEGNetClassifier(**{**FAST, "verbose": None, "max_epochs": 0}).fit(epochs)
    assert "Leaving out 1 channel(s) marked bad: C3 (pass" in caplog.text


def test_epochs_without_good_data_channels_say_what_to_do(synthetic_arrays):
    """mne.create_info without ch_types types every channel misc, which picks=None
    leaves out: MNE's error said "picks (None, treated as "data") yielded no
    channels"."""
    X, y = synthetic_arrays
    epochs = mne.EpochsArray(X * 1e-6, mne.create_info(4, 128.0), verbose=False)
    with pytest.raises(ValueError, match="of type misc.*set_channel_types"):
        EEGNetClassifier(**FAST).fit(epochs, y)
    epochs.set_channel_types(dict.fromkeys(epochs.ch_names, "eeg"))
    epochs.info["bads"] = list(epochs.ch_names)
    with pytest.raises(ValueError, match="Every data channel is marked bad"):
        EEGNetClassifier(**FAST).fit(epochs, y)
    assert (
        EEGNetClassifier(picks=epochs.ch_names, **FAST).fit(epochs, y).n_channels_ == 4
    )


def test_channels_bad_in_new_data_but_read_by_the_network_warn(
    fitted_eegnet, imagery_epochs
):
    broken = imagery_epochs.copy()
    broken.info["bads"] = ["C4"]  # a channel the network was trained on
    with pytest.warns(RuntimeWarning, match="C4 of X are marked bad"):
        fitted_eegnet.predict(broken)
    with pytest.warns(RuntimeWarning, match="C4 of epochs are marked bad"):
        maps = mne_xai.explain(fitted_eegnet, broken[:2], verbose=False)
    # Its maps are the network's relevance there: marked bad, MNE's grand
    # average replaced them by an interpolation of the neighbours'.
    assert maps.info["bads"] == []
    evoked = maps.average()
    grand = mne.grand_average([evoked, evoked])
    np.testing.assert_allclose(grand.data, evoked.data)
    # Bad in training too: left out then, and not read now.
    epochs = imagery_epochs.copy()
    epochs.info["bads"] = ["C3"]
    clf = EEGNetClassifier(**FAST).fit(epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(epochs)


def test_channels_bad_in_training_too_and_read_do_not_warn():
    """A channel marked bad in training but picked by name is read as trained:
    only channels newly marked bad warn."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((8, 4, 64)), np.arange(8) % 2 + 1)
    epochs.info["bads"] = ["EEG1"]
    clf = EEGNetClassifier(picks=epochs.ch_names, **{**FAST, "max_epochs": 0}).fit(
        epochs
    )
    assert "EEG1" in clf.ch_names_
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(epochs)
    epochs.info["bads"] = ["EEG1", "EEG2"]
    with pytest.warns(RuntimeWarning, match=r"Channel\(s\) EEG2 of X are marked"):
        clf.predict(epochs)


def test_channels_typed_otherwise_than_in_training_warn(fitted_eegnet, imagery_epochs):
    """C3 typed EOG was read as the EEG it was, but its maps carried the EOG type,
    and their average left C3's relevance out, without a word."""
    retyped = imagery_epochs[:2].copy().set_channel_types({"C3": "eog"})
    match = r"another type than in training: C3 \(eog here, eeg in training\)"
    with pytest.warns(RuntimeWarning, match=match):
        np.testing.assert_array_equal(
            fitted_eegnet.predict_proba(retyped),
            fitted_eegnet.predict_proba(imagery_epochs[:2]),
        )
    with pytest.warns(RuntimeWarning, match=match):
        maps = mne_xai.explain(fitted_eegnet, retyped, verbose=False)
    assert "C3" not in maps.average().ch_names  # what the warning is about


def test_epochs_baseline_corrected_otherwise_warn(synthetic_arrays):
    """A network trained with baseline=(0, 0.25) read epochs corrected over
    another period, or not at all, without a word (on unfiltered EEGBCI: 0.87
    instead of 0.93)."""
    X, y = synthetic_arrays
    info = mne.create_info(4, 128.0, "eeg")

    def epochs(baseline, data=X):
        return mne.EpochsArray(data, info, baseline=baseline, verbose=False)

    clf = EEGNetClassifier(**FAST).fit(epochs((0, 0.25)), y)
    assert clf.baseline_ == (0.0, 0.25)
    for other, match in [
        (None, r"over nothing \(baseline=None\), the training epochs over 0 to 0.25"),
        ((0, 0.1), r"apply_baseline\(\(0, 0.25\)\)"),
    ]:
        with pytest.warns(RuntimeWarning, match=match):
            clf.predict(epochs(other))
        with pytest.warns(RuntimeWarning, match=match):
            mne_xai.explain(clf, epochs(other)[:2], verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(epochs((0, 0.25), X[::-1]))
        # A list's parts are corrected alike, or refused.
        with pytest.raises(ValueError, match="baseline-corrected over 0 to 0.1 s"):
            clf.predict([epochs((0, 0.25)), epochs((0, 0.1))])
    cropped = CroppedClassifier(EEGNetClassifier(**FAST), window_length=0.25)
    cropped.fit(epochs(None), y)
    with pytest.warns(RuntimeWarning, match="the training epochs over nothing"):
        cropped.predict(epochs((0, 0.25)))
    # Arrays do not say whether they were corrected: nothing to compare. The
    # estimators recorded None, "not corrected", and told a user predicting on
    # the very Epochs whose data they trained on to drop the correction.
    corrected = epochs((0, 0.25))
    for estimator in (
        EEGNetClassifier(**FAST, info=corrected.info),
        CroppedClassifier(EEGNetClassifier(**FAST), window_length=0.25, sfreq=128.0),
    ):
        estimator.fit(corrected.get_data(), y)
        assert estimator.baseline_ == "unknown"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            estimator.predict(corrected)


def test_baselines_within_half_a_sample_are_one_correction(synthetic_arrays):
    """Guard the half-sample tolerance of baselines: parts corrected over
    periods a quarter sample apart take the same samples, and are read as one
    data set (a period a sample longer is refused)."""
    X, _ = synthetic_arrays
    info = mne.create_info(4, 128.0, "eeg")
    parts = [
        mne.EpochsArray(X[:20], info, baseline=(0, end), verbose=False)
        for end in (0.25, 0.25 + 0.25 / 128, 0.25 + 1 / 128)
    ]
    assert InputData(parts[:2]).baseline == (0.0, 0.25)
    with pytest.raises(ValueError, match="baseline-corrected over 0 to 0.2578"):
        InputData(parts[::2])


def test_data_filtered_or_referenced_otherwise_warn(fitted_eegnet, imagery_epochs):
    # On EEGBCI, a network trained on 7-30 Hz lost 0.2 of accuracy on the same
    # trials at 1-40 Hz, and one trained on average-referenced epochs fell to
    # chance on them as recorded, both without a word.
    narrower = imagery_epochs.copy().filter(8.0, 13.0, verbose=False)
    match = r"pass band: 8-13 Hz, against 7-30 Hz in training.*epochs.filter\(7, 30\)"
    with pytest.warns(RuntimeWarning, match=match):
        fitted_eegnet.predict(narrower)
    with pytest.warns(RuntimeWarning, match=match):
        mne_xai.explain(fitted_eegnet, narrower[:2], verbose=False)
    # The fix it names runs: 0 Hz and Nyquist are no edge (filter(0, 80) failed).
    info = mne.create_info(imagery_epochs.ch_names, imagery_epochs.info["sfreq"], "eeg")
    high_only = mne.EpochsArray(imagery_epochs.get_data(), info, verbose=False)
    high_only.filter(4.0, None, verbose=False)
    trained_high = EEGNetClassifier(**FAST).fit(high_only, imagery_epochs.events[:, 2])
    data = mne.EpochsArray(imagery_epochs.get_data(), info, verbose=False)
    with pytest.warns(RuntimeWarning, match=r"epochs.filter\(4, None\)"):
        trained_high.predict(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fix silences it
        trained_high.predict(data.copy().filter(4, None, verbose=False))
    unfiltered = EEGNetClassifier(**FAST).fit(data, imagery_epochs.events[:, 2])
    with pytest.warns(RuntimeWarning, match="the epochs unfiltered, as in training"):
        unfiltered.predict(high_only)
    average = imagery_epochs.copy().set_eeg_reference("average", verbose=False)
    match = r"reference: a custom reference \(e.g. average\), against the recording's"
    with pytest.warns(RuntimeWarning, match=match):
        fitted_eegnet.predict(average)
    trained_on_average = EEGNetClassifier(**FAST).fit(average)
    with pytest.warns(
        RuntimeWarning, match="reference: the recording's reference, against a custom"
    ):
        trained_on_average.predict(imagery_epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trained_on_average.predict(average)
    # Custom references the infos cannot tell apart: the data show them.
    # Trained on the average reference, EEGBCI epochs referenced to Iz scored
    # 0.64 without a word.
    assert trained_on_average.eeg_reference_ == "average"
    for channels, shown in ((["Iz"], "a reference to Iz"), (["T9", "T10"], "neither")):
        other = imagery_epochs.copy().set_eeg_reference(channels, verbose=False)
        with pytest.warns(RuntimeWarning, match=f"X's EEG shows {shown}.* average"):
            trained_on_average.predict(other)
    # The same average reference as an applied projector: MNE records it as a
    # projector, not as a custom reference, but it is one.
    projected = imagery_epochs.copy().set_eeg_reference(projection=True).apply_proj()
    match = (
        r"reference: a custom reference \(e.g. average\), against the recording's.*"
        "the epochs as recorded"
    )
    with pytest.warns(RuntimeWarning, match=match):
        fitted_eegnet.predict(projected)


def test_each_preparation_that_differs_is_named_once_with_its_fix():
    """Low-passed only in training (no high-pass edge) and average-referenced
    now: each difference is named with its fix, in one warning; the EEG's own
    reference is not read again where the infos already differ."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 6, 128))
    y = np.arange(8) % 2 + 1

    def low_passed(epochs):
        return epochs.filter(None, 20.0, verbose=False)

    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(
        low_passed(_epochs(data, y))
    )
    given = _epochs(data, y).set_eeg_reference("average", verbose=False)
    match = (
        r"pass band: 0-32 Hz, against 0-20 Hz in training .*; reference: a custom "
        r"reference .*epochs\.filter\(None, 20\); the epochs as recorded"
    )
    with pytest.warns(RuntimeWarning, match=match) as record:
        clf.predict(given)
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(low_passed(_epochs(data, y)))  # as advised


def test_an_average_reference_as_applied_projector_or_set_is_one_reference():
    """Epochs average-referenced by set_eeg_reference("average"), given to a
    network trained on the same epochs referenced by an applied projector (or
    the reverse), warned that they were prepared otherwise and that "the
    network reads other signals than it learned from", for the same data."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((8, 6, 64)), np.arange(8) % 2 + 1)
    by_projector = epochs.copy().set_eeg_reference(projection=True).apply_proj()
    set_directly = epochs.copy().set_eeg_reference("average")
    np.testing.assert_allclose(by_projector.get_data(), set_directly.get_data())
    for trained, given in ((by_projector, set_directly), (set_directly, by_projector)):
        clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(trained)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            clf.predict(given)
    # The recording's reference is another one, as before.
    with pytest.warns(RuntimeWarning, match="reference: the recording's reference"):
        clf.predict(epochs)


def test_a_pass_band_read_back_from_a_file_is_the_same_preparation(tmp_path):
    """FIF files keep filter edges in float32: a 0.1 Hz edge reads back as
    0.10000000149 Hz, no other pass band than the 0.1 Hz of training."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((8, 4, 64)), np.arange(8) % 2 + 1)
    with epochs.info._unlock():
        epochs.info["highpass"] = 0.1
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    epochs.save(tmp_path / "data-epo.fif")
    read = mne.read_epochs(tmp_path / "data-epo.fif", verbose=False)
    assert read.info["highpass"] != 0.1  # as stored
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(read)


def test_projectors_added_but_not_applied_are_no_other_preparation():
    """An average-reference projector added but not applied leaves the data the
    network reads as they were: only applied projectors are another
    preparation (a warning there asked to prepare the data again)."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((8, 6, 64)), np.arange(8) % 2 + 1)
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    inactive = epochs.copy().set_eeg_reference(projection=True, verbose=False)
    assert not inactive.info["projs"][0]["active"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        np.testing.assert_array_equal(
            clf.predict_proba(inactive), clf.predict_proba(epochs)
        )
    with pytest.warns(RuntimeWarning, match="reference: a custom reference"):
        clf.predict(inactive.apply_proj(verbose=False))


def test_the_reference_is_read_through_offsets_and_electrode_pops(imagery_epochs):
    """One sample of one channel 1 mV off (an electrode pop), or a DC offset,
    made average-referenced EEGBCI epochs read as "neither" reference, with the
    advice to reference them again; which epoch held the pop decided it."""
    average = imagery_epochs.copy().set_eeg_reference("average", verbose=False)
    to_iz = imagery_epochs.copy().set_eeg_reference(["Iz"], verbose=False)
    for referenced, expected in ((average, "average"), (to_iz, "Iz")):
        data = referenced.get_data()
        assert eeg_reference(data, referenced.info) == expected
        popped = data.copy()
        popped[0, 5, 50] += 1e-3
        assert eeg_reference(popped, referenced.info) == expected
        offset = data + np.random.default_rng(0).normal(0, 0.03, data.shape[:2] + (1,))
        assert eeg_reference(offset, referenced.info) == expected
    # Referenced otherwise stays told apart.
    other = imagery_epochs.copy().set_eeg_reference(["T9", "T10"], verbose=False)
    assert eeg_reference(other.get_data(), other.info) is None


def test_the_reference_is_read_on_the_eeg_channels_alone():
    """A stimulus channel of zeros and an EOG beside the EEG, an EEG channel flat
    in one epoch only, or two flat EEG channels made or hid a reference."""
    rng = np.random.default_rng(0)
    names = ["STI", "EOG", "C3", "Cz", "C4", "Pz"]
    info = mne.create_info(names, 64.0, ["stim", "eog"] + ["eeg"] * 4)
    data = rng.standard_normal((6, 6, 64)) * 1e-5
    data[:, 0] = 0.0
    assert eeg_reference(data, info) is None
    average = data.copy()
    average[:, 2:] -= average[:, 2:].mean(axis=1, keepdims=True)
    assert eeg_reference(average, info) == "average"
    to_cz = data.copy()
    to_cz[:, 2:] -= to_cz[:, 3:4]
    assert eeg_reference(to_cz, info) == "Cz"
    # Flat in one epoch (a disconnected lead) is no reference.
    once = data.copy()
    once[0, 4] = 0.0
    assert eeg_reference(once, info) is None
    # Two flat channels (the reference and a dead electrode) do not say which.
    to_cz[:, 4] = 0.0
    assert eeg_reference(to_cz, info) is None


def test_a_reference_channel_that_may_be_a_dead_electrode_says_so():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 6, 64))
    data[:, 2] = 0.0  # a dead electrode, or the reference
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(
        _epochs(data, np.arange(8) % 2 + 1)
    )
    assert clf.eeg_reference_ == "EEG2"
    repaired = data.copy()
    repaired[:, 2] = rng.standard_normal((8, 64))
    with pytest.warns(RuntimeWarning, match="If EEG2 was a dead.*mark it bad"):
        clf.predict(_epochs(repaired, np.arange(8) % 2 + 1))


def test_a_recording_reference_given_averaged_names_no_dead_electrode():
    """Trained on EEG showing no reference of its own, epochs average-referenced
    in the data (not in the info) warn of the reference alone."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 6, 64))
    y = np.arange(8) % 2 + 1
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(_epochs(data, y))
    assert clf.eeg_reference_ is None
    averaged = _epochs(data - data.mean(axis=1, keepdims=True), y)
    with pytest.warns(RuntimeWarning, match="shows an average reference") as record:
        clf.predict(averaged)
    assert not [w for w in record if "dead" in str(w.message)]


def test_a_channel_far_louder_than_its_type_is_named(imagery_epochs):
    """A broken electrode not marked bad set the scale of its type: the other
    channels reached the network 160 times too small, without a word."""
    broken = imagery_epochs.copy()
    broken._data[:, broken.ch_names.index("F3")] *= 1000
    quick = {**FAST, "max_epochs": 0}
    with pytest.warns(RuntimeWarning, match=r"F3 \(.* times\)\. A loose or broken"):
        EEGNetClassifier(**quick).fit(broken)
    broken.info["bads"] = ["F3"]  # the advice: left out by the default picks
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        EEGNetClassifier(**quick).fit(broken)
        EEGNetClassifier(**quick).fit(imagery_epochs)


def test_a_type_flat_in_most_channels_names_no_loud_channel():
    """Where most channels of a type are flat (a median of 0), the flat ones
    are the broken electrodes: the channel with a signal is not named as
    infinitely louder, nor does the ratio divide by zero."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_of_loud_channels(
            np.array([0.0, 0.0, 1e-5]), np.array(["eeg"] * 3), ["C3", "Cz", "C4"], "X"
        )


@pytest.mark.parametrize(
    "factor, times",
    [(30, r"(2\d|3[0-4])(\.\d+)?"), (1e5, r"(9\.\d+e\+04|1(\.\d+)?e\+05)")],
)
def test_a_loud_channel_among_three_is_named_with_its_ratio_not_as_a_unit(
    factor, times
):
    """One EEG channel of three 30 times louder than the others is a broken
    electrode; one of volts beside EEG in volts is no sign of microvolts."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 3, 128))
    data[:, 1] *= factor
    match = rf"vary far more .* EEG1 \({times} times\)\. A loose"
    with pytest.warns(RuntimeWarning, match=match) as record:
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(
            _epochs(data, np.arange(8) % 2 + 1)
        )
    assert not [w for w in record if "microvolts" in str(w.message)]


def test_epochs_given_twice_warn_at_fit(synthetic_arrays):
    X, y = synthetic_arrays
    # Given again in reverse order: the first copy (epoch 6) is of epoch 5.
    some = [0, 1, 2, 20, 21, 22]
    order = some + some[::-1]
    quick = {**FAST, "max_epochs": 0}
    twice = _epochs(X[order], y[order] + 1)
    match = r"6 epoch\(s\) of X are exact copies of others \(epoch 6 of epoch 5\)"
    with pytest.warns(RuntimeWarning, match=match):
        EEGNetClassifier(**quick).fit(twice)
    relabelled = _epochs(X[order], np.repeat([1, 2], 6))
    with pytest.warns(RuntimeWarning, match="6 of them with another label"):
        EEGNetClassifier(**quick).fit(relabelled)
    # Epochs alike in some channels only (the zeros of the reference, a flat
    # lead) are no copies.
    referenced = X.copy()
    referenced[:, [0, -1]] = 0.0
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*exact copies", category=RuntimeWarning)
        EEGNetClassifier(**quick).fit(_epochs(referenced, y + 1))


def test_copies_are_found_exactly_among_many_epochs():
    """Among 2,000 epochs, each copy is matched to the first epoch equal to it,
    value for value (a copy of a copy too), and no other epoch to any: not
    one differing from another in a single value by the smallest step."""
    data = np.random.default_rng(0).standard_normal((2000, 2, 8))
    data[[900, 1500]] = data[7]
    data[1999] = data[900]
    data[1000] = data[8]
    data[1000, 1, 3] = np.nextafter(data[8, 1, 3], np.inf)
    expected = np.arange(2000)
    expected[[900, 1500, 1999]] = 7
    np.testing.assert_array_equal(first_copies(data), expected)


def test_epochs_flat_in_every_channel_warn_at_predict_and_explain(synthetic_arrays):
    """An all-zero epoch among 20 was predicted [0.47, 0.53] without a word."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    dead = X[:20].copy()
    dead[13] = 0.0
    dead[5, 2] = 0.0  # one channel flat (a lead off) is no flat epoch
    with pytest.warns(RuntimeWarning, match=r"Epoch\(s\) 13 of X are constant"):
        clf.predict_proba(dead)
    with pytest.warns(RuntimeWarning, match=r"Epoch\(s\) 13 of epochs are constant"):
        mne_xai.explain(clf, dead, "saliency", batch_size=4, verbose=False)


def test_epochs_flat_at_a_level_of_each_channel_are_flat():
    """An amplifier off keeps each channel at its own level (its offset): the
    epoch is constant in every channel, though not at one value; a single
    channel that varies makes it no flat epoch."""
    batch = np.random.default_rng(0).standard_normal((3, 4, 16))
    batch[1] = np.array([[-2.0], [0.0], [1.0], [5.0]])
    batch[2, 1:] = 3.0
    np.testing.assert_array_equal(_flat_epochs(batch), [1])


def test_flat_epochs_of_every_batch_are_named_in_one_warning(
    synthetic_arrays, epochs_reads
):
    """The one warning per call named the flat epochs of the first batch that
    held any (epoch 2), not those of later batches (epoch 13); Epochs not
    preloaded are still read once, batch by batch."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(_epochs(X, y + 1))
    dead = X.copy()
    dead[[2, 13]] = 0.0
    epochs = _epochs(dead, y + 1)
    raw = mne.io.RawArray(
        np.concatenate(list(epochs.get_data()), axis=1), epochs.info, verbose=False
    )
    events = np.column_stack([np.arange(len(y)) * 64, np.zeros(len(y), int), y + 1])
    window = dict(tmin=0.0, tmax=63 / 64, baseline=None, preload=False, verbose=False)
    for call, name, batch_size in [
        (clf.predict_proba, "X", 8),
        (
            lambda data: mne_xai.explain(clf, data, "saliency", batch_size=4),
            "epochs",
            4,
        ),
    ]:
        lazy = mne.Epochs(raw, events, **window)
        epochs_reads.clear()
        match = rf"Epoch\(s\) 2, 13 of {name} are constant"
        with pytest.warns(RuntimeWarning, match=match) as record:
            call(lazy)
        assert sum("are constant" in str(w.message) for w in record) == 1
        assert max(epochs_reads) <= batch_size


def test_data_in_another_unit_and_flat_epochs_warn_once_per_call(synthetic_arrays):
    """Every batch is checked until one warns; more warnings of the same
    mismatch, one per batch, said nothing more. adapt_batch_norm reads the
    data once per batch norm (EEGNet has three), and warns once too."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X * 20.0, y)  # in µV
    volts = X * 20e-6
    volts[[3, 13]] = 0.0
    for call in (clf.predict_proba, clf.adapt_batch_norm):  # in batches of 8
        with pytest.warns(RuntimeWarning, match="different units") as record:
            call(volts)
        messages = [str(w.message) for w in record]
        assert sum("different units" in message for message in messages) == 1
        assert sum("are constant in every" in message for message in messages) == 1
        assert any(r"Epoch(s) 3, 13 of X" in message for message in messages)


def test_meg_at_another_gradient_compensation_grade_warns():
    """CTF MEG at gradient compensation grade 3 (as recorded) was explained by
    a network trained at grade 0 without a word: every channel then holds the
    field less the reference sensors' estimate of the noise, or not. The
    advice names the training grade."""
    rng = np.random.default_rng(0)
    info = mne.create_info([f"MEG{i:03d}" for i in range(4)], 64.0, "mag")
    y = np.arange(8) % 2 + 1
    events = np.column_stack([np.arange(8) * 100, np.zeros(8, int), y])
    epochs = mne.EpochsArray(
        rng.standard_normal((8, 4, 64)) * 1e-13, info, events=events, verbose=False
    )
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    compensated = epochs.copy()
    set_current_comp(compensated.info, 3)
    match = (
        r"gradient compensation: grade 3, against grade 0 in training.*"
        r"raw\.apply_gradient_compensation\(0\) before epoching"
    )
    with pytest.warns(RuntimeWarning, match=match):
        clf.predict(compensated)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(epochs)


def test_training_epochs_changed_in_place_after_fit_change_nothing(spatial_epochs):
    """The estimators kept the training Epochs' own Info: reordering them in
    place relabelled maps of arrays and reordered a CroppedClassifier's
    channels (maps 72 percent of their peak away), a channel marked bad in
    place silenced the warning on new epochs with it bad, and
    combine_event_ids renamed the classes."""
    epochs = spatial_epochs.copy()
    new = spatial_epochs.copy()[:4]
    eegnet = EEGNetClassifier(**FAST).fit(epochs)
    cropped = CroppedClassifier(
        EEGNetClassifier(**FAST), window_length=0.75, window_step=0.125
    ).fit(epochs)
    kwargs = dict(method="saliency", verbose=False)
    before = {
        "cropped": mne_xai.explain(cropped, new, **kwargs),
        "arrays": mne_xai.explain(eegnet, new.get_data(), **kwargs),
    }
    event_id = dict(eegnet.event_id_)
    epochs.reorder_channels(epochs.ch_names[::-1])
    epochs.info["bads"] = ["C4"]
    mne.epochs.combine_event_ids(epochs, list(event_id), {"both": 12}, copy=False)
    after = {
        "cropped": mne_xai.explain(cropped, new, **kwargs),
        "arrays": mne_xai.explain(eegnet, new.get_data(), **kwargs),
    }
    for name in before:
        assert after[name].ch_names == before[name].ch_names == new.ch_names
        np.testing.assert_array_equal(after[name].get_data(), before[name].get_data())
    assert eegnet.event_id_ == cropped.event_id_ == event_id
    new.info["bads"] = ["C4"]
    with pytest.warns(RuntimeWarning, match="C4 of X are marked bad"):
        eegnet.predict(new)


def test_maps_keep_no_projector_that_mne_would_apply_to_them(
    fitted_eegnet, imagery_epochs, tmp_path
):
    # An average reference added as a projector is not applied to what the
    # network reads; MNE applies it on reading a file back, so a saliency map
    # (non-negative) would come back re-referenced, with negative values.
    epochs = imagery_epochs.copy().set_eeg_reference(projection=True, verbose=False)
    assert not epochs.info["projs"][0]["active"]
    evoked = mne_xai.explain(fitted_eegnet, epochs[:4], "saliency", average=True)
    maps = mne_xai.explain(fitted_eegnet, epochs[:4], "saliency")
    assert evoked.info["projs"] == [] and maps.info["projs"] == []
    evoked.save(tmp_path / "saliency-ave.fif")
    read = mne.read_evokeds(tmp_path / "saliency-ave.fif", verbose=False)[0]
    np.testing.assert_allclose(read.data, evoked.data, rtol=1e-6)
    assert read.data.min() >= 0
    # Spatial filters follow the same rule.
    patterns = mne_xai.inspect.spatial_patterns(fitted_eegnet, epochs[:8])
    assert patterns.filters.info["projs"] == []
    # Nor those already applied, which read_epochs applies again to data read
    # back: gradient x input maps lost 7 % of their peak.
    applied = epochs.copy().apply_proj(verbose=False)
    with pytest.warns(RuntimeWarning, match="reference: a custom reference"):
        maps = mne_xai.explain(fitted_eegnet, applied[:4], "gradient_x_input")
    assert maps.info["projs"] == []
    maps.save(tmp_path / "maps-epo.fif")
    read = mne.read_epochs(tmp_path / "maps-epo.fif", verbose=False)
    np.testing.assert_allclose(read.get_data(), maps.get_data(), rtol=1e-6)


def test_offsets_drowning_the_eeg_warn(imagery_epochs, fitted_eegnet):
    """Unfiltered DC offsets drifting 50x the EEG: the networks were at chance."""
    rng = np.random.default_rng(0)
    data = imagery_epochs.get_data()
    drift = rng.normal(0, 50 * data.std(), size=(len(data), data.shape[1], 1))
    drifting = mne.EpochsArray(
        data + drift,
        imagery_epochs.info,
        imagery_epochs.events,
        tmin=imagery_epochs.tmin,
        verbose=False,
    )
    named = r"in 64 of 64 channels \(FC5, FC3, FC1, FCz, FC2 and 59 more\)"
    match = rf"drift from epoch to epoch .* {named}.*filter"
    with pytest.warns(RuntimeWarning, match=match):
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(drifting)
    # A network trained on clean epochs, given drifting ones: the scale alone
    # (about 50 times) is within the tolerance for units. The channels are
    # named as the network reads them.
    match = rf"drift from epoch to epoch .* {named}:"
    with pytest.warns(RuntimeWarning, match=match):
        fitted_eegnet.predict(drifting)
    with pytest.warns(RuntimeWarning, match=match):
        mne_xai.explain(fitted_eegnet, drifting, "saliency", verbose=False)
    # Real epochs, a fixed offset, and the drift once baseline-corrected are quiet.
    fixed = mne.EpochsArray(
        data + drift[:1],
        imagery_epochs.info,
        imagery_epochs.events,
        tmin=imagery_epochs.tmin,
        verbose=False,
    )
    for epochs in (imagery_epochs, fixed, drifting.apply_baseline((None, None))):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    # A steady offset of a DC-coupled amplifier (50 mV, thousands of times the
    # EEG): both networks stayed at chance (0.50) where they learned without it.
    dc_coupled = mne.EpochsArray(
        data + 0.05, imagery_epochs.info, imagery_epochs.events, verbose=False
    )
    match = rf"steady offset \(DC\) over 100 times .* {named}"
    with pytest.warns(RuntimeWarning, match=match):
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(dc_coupled)
    with pytest.warns(RuntimeWarning, match=match):
        fitted_eegnet.predict(dc_coupled)


def test_a_steady_offset_tens_of_times_the_signal_is_quiet():
    """Offsets the same in every epoch did little harm up to 50 times the
    signal: the warning starts at 100 times its standard deviation, and counts
    the channels over it (it counted those over 10 times)."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 4, 64))
    y = np.arange(8) % 2 + 1
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*offset", category=RuntimeWarning)
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(_epochs(data + 30.0, y))
    offsets = np.array([300.0, 300.0, 300.0, 30.0])[:, np.newaxis]
    with pytest.warns(RuntimeWarning, match=r"steady offset .* in 3 of 4 channels"):
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(_epochs(data + offsets, y))


@pytest.mark.parametrize("train_baseline", [None, (0.0, 0.2)])
def test_offset_advice_at_prediction_prepares_as_in_training(train_baseline):
    """Given epochs with a DC offset, a network trained with baseline=None
    advised "Baseline-correct the epochs (epochs.apply_baseline())", and so
    corrected, the next warning asked for epochs read with baseline=None; it
    spoke of training ("networks trained on such data learned nothing")."""
    rng = np.random.default_rng(0)
    info = mne.create_info([f"EEG{i}" for i in range(4)], 64.0, "eeg")
    signal = rng.standard_normal((4, 64 * 60)) * 1e-5
    events = np.column_stack(
        [64 + 96 * np.arange(36), np.zeros(36, int), np.tile([1, 2], 18)]
    )

    def read(raw, baseline=None):
        return mne.Epochs(
            raw, events, tmin=0.0, tmax=1.0, baseline=baseline, verbose=False
        ).load_data()

    # High-pass filtered, or baseline-corrected, training epochs hold no offset.
    raw = mne.io.RawArray(signal, info, verbose=False)
    if train_baseline is None:
        raw.filter(l_freq=1.0, h_freq=None, verbose=False)
    clean = read(raw, train_baseline)
    clf = EEGNetClassifier(**FAST).fit(clean)
    dc_coupled = mne.io.RawArray(signal + 0.05, info, verbose=False)
    with pytest.warns(RuntimeWarning, match=r"steady offset \(DC\)") as record:
        clf.predict(read(dc_coupled))
    (message,) = [str(w.message) for w in record if "steady" in str(w.message)]
    assert "trained on such data" not in message
    # The offset is no other unit: the spread about each channel's mean is.
    assert not [w for w in record if "different units" in str(w.message)]
    # As advised.
    if train_baseline is None:
        assert "apply_baseline" not in message
        assert "raw.filter(l_freq=1, h_freq=None)" in message
        assert "without baseline correction (baseline=None)" in message
        followed = read(dc_coupled.copy().filter(l_freq=1, h_freq=None, verbose=False))
    else:
        assert "epochs.apply_baseline((0, 0.2))" in message
        followed = read(dc_coupled).apply_baseline((0, 0.2), verbose=False)
        # Inspection and explanation advise as prediction does: they know the
        # training baseline.
        for reading in (
            partial(mne_xai.inspect.layer_activations, layer="spatial_conv"),
            partial(mne_xai.explain, method="saliency"),
        ):
            with pytest.warns(RuntimeWarning, match=r"steady offset") as record:
                reading(clf, read(dc_coupled)[:4], verbose=False)
            (advice,) = [str(w.message) for w in record if "steady" in str(w.message)]
            assert "epochs.apply_baseline((0, 0.2))" in advice
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(followed)
    # The offset is gone (to the filter's precision, a tenth of the EEG).
    difference = followed.get_data() - clean.get_data()
    assert np.abs(difference).max() < 0.1 * clean.get_data().std()


def test_offset_advice_for_unfiltered_training_names_a_high_pass_edge():
    """Trained on epochs neither filtered nor baseline-corrected, the advice
    named raw.filter(l_freq=0, ...): a high-pass at 0 Hz, no filter at all."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 4, 64))
    y = np.arange(8) % 2 + 1
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(_epochs(data, y))
    with pytest.warns(RuntimeWarning, match=r"steady offset \(DC\)") as record:
        clf.predict(_epochs(data + 5e3, y))
    (message,) = [str(w.message) for w in record if "steady" in str(w.message)]
    assert "(raw.filter(l_freq=0.5, h_freq=None))" in message


def test_other_modalities_are_used_when_asked(synthetic_arrays):
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1, ch_types=["eeg", "eeg", "eog", "emg"])
    assert EEGNetClassifier(**FAST).fit(epochs).ch_names_ == ["EEG0", "EEG1"]
    clf = EEGNetClassifier(picks=["eeg", "eog", "emg"], **FAST).fit(epochs)
    assert clf.ch_names_ == epochs.ch_names
    attribution = mne_xai.explain(clf, epochs, "gradient_x_input", verbose=False)
    shares = modality_importance(attribution, kind="global")
    assert set(shares["channel_type"]) == {"eeg", "eog", "emg"}


# -- labels ------------------------------------------------------------------------
def test_unsorted_classes_parameter_keeps_labels_right(synthetic_arrays):
    X, y = synthetic_arrays
    labels = np.array([3, 2])[y]
    trained = dict(max_epochs=30, batch_size=8, lr=5e-3, verbose=False, random_state=0)
    reference = InterpretableCNNClassifier(**trained).fit(X, labels)
    # Labels permuted in training would score below 0.2.
    assert reference.score(X, labels) >= 0.8
    clf = InterpretableCNNClassifier(classes=[3, 2], **trained).fit(X, labels)
    assert list(clf.classes_) == [2, 3]
    np.testing.assert_array_equal(clf.predict(X), reference.predict(X))
    wider = InterpretableCNNClassifier(classes=[3, 2, 4], **trained).fit(X, labels)
    assert list(wider.classes_) == [2, 3, 4]
    assert wider.score(X, labels) >= 0.8


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.array([0, "a"] * 20, dtype=object), "mixes strings and numbers"),
        (np.linspace(0, 1, 40), "Unknown label type: continuous"),
    ],
)
def test_labels_that_are_not_classes_are_refused(synthetic_arrays, labels, match):
    X, _ = synthetic_arrays
    with pytest.raises(ValueError, match=match):
        EEGNetClassifier(**FAST).fit(X, labels)


# -- units and times -------------------------------------------------------------
def test_data_in_another_unit_warn(synthetic_arrays):
    X, y = synthetic_arrays
    microvolts = X * 20.0  # as if recorded in µV
    clf = EEGNetClassifier(**FAST).fit(microvolts, y)
    assert clf.data_std_ == pytest.approx(np.std(microvolts), rel=1e-4)
    volts = microvolts * 1e-6
    with pytest.warns(RuntimeWarning, match="different units"):
        clf.predict(volts)
    with pytest.warns(RuntimeWarning, match="different units"):
        mne_xai.explain(clf, volts, "saliency", target=0, verbose=False)
    with pytest.warns(RuntimeWarning, match="different units"):
        mne_xai.evaluate.deletion_curve(
            clf, volts, method="saliency", target=0, n_steps=2, verbose=False
        )
    # Another subject, a few times louder, is no reason to warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(microvolts * 3)


def test_data_a_thousand_times_off_warn(synthetic_arrays):
    """Guard the tolerance of a hundred: millivolts given for microvolts, or
    the reverse, are a thousand times off, and 300 times is no subject's or
    session's difference either (a tolerance of a thousand let units a
    thousand apart through, within rounding)."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X * 20.0, y)
    for factor in (1e-3, 1e3, 300.0, 1 / 300):
        with pytest.warns(RuntimeWarning, match="different units"):
            clf.predict(X * 20.0 * factor)


def test_epochs_in_microvolts_warn_at_fit(imagery_epochs):
    """Real EEG given to mne.EpochsArray in microvolts trained without a word;
    its maps were per microvolt, labelled per volt."""
    in_volts = imagery_epochs[:8]
    in_microvolts = mne.EpochsArray(
        in_volts.get_data() * 1e6, in_volts.info, in_volts.events, verbose=False
    )
    y = in_volts.events[:, 2]
    with pytest.warns(RuntimeWarning, match=r"EEG channels of X.*are they in micro"):
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(in_microvolts, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(in_volts, y)
    # Arrays come in any unit, and the offsets of DC-coupled amplifiers (tens of
    # millivolts, one per electrode) are no amplitude of the signal.
    offsets = np.linspace(-0.03, 0.03, len(in_volts.ch_names))[:, np.newaxis]
    with_offsets = mne.EpochsArray(
        in_volts.get_data() + offsets, in_volts.info, in_volts.events, verbose=False
    )
    for data in (in_microvolts.get_data(), with_offsets):
        with warnings.catch_warnings():
            warnings.filterwarnings("error", ".*micro", category=RuntimeWarning)
            EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(data, y)


def test_advice_for_epochs_in_microvolts_keeps_events_and_other_channels():
    """The warning's example, mne.EpochsArray(data * 1e-6, info), dropped the
    events (every epoch coded 1: fit then refused "y holds a single class"),
    and scaled the channels of every type."""
    rng = np.random.default_rng(0)
    names = ["C3", "Cz", "C4", "Pz", "MEG1", "MEG2"]
    info = mne.create_info(names, 64.0, ["eeg"] * 4 + ["mag"] * 2)
    X = rng.standard_normal((8, 6, 64)) * np.array([1e-5] * 4 + [1e-12] * 2)[:, None]
    events = np.column_stack([np.arange(8) * 100, np.zeros(8, int), np.arange(8) % 2])
    event_id = {"left": 0, "right": 1}
    in_volts = mne.EpochsArray(X, info, events, event_id=event_id, verbose=False)
    epochs = in_volts.copy().apply_function(
        lambda data: data * 1e6, picks="eeg", channel_wise=False
    )
    with pytest.warns(RuntimeWarning, match="are they in microvolts") as record:
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    (message,) = [str(w.message) for w in record if "microvolts" in str(w.message)]
    assert "apply_function(lambda data: data * 1e-6, picks='eeg'" in message
    # As advised.
    epochs = (
        epochs.copy()
        .load_data()
        .apply_function(lambda data: data * 1e-6, picks="eeg", channel_wise=False)
    )
    np.testing.assert_allclose(epochs.get_data(), in_volts.get_data(), rtol=1e-12)
    np.testing.assert_array_equal(epochs.events, in_volts.events)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*micro", category=RuntimeWarning)
        clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    assert clf.classes_.tolist() == [0, 1]


def test_each_channel_type_in_another_unit_is_named():
    """EEG in microvolts beside MEG in femtotesla named the EEG alone: its
    advice (picks='eeg') left the MEG in femtotesla, said at the next fit."""
    rng = np.random.default_rng(0)
    names = ["C3", "Cz", "C4", "MEG1", "MEG2", "MEG3"]
    info = mne.create_info(names, 64.0, ["eeg"] * 3 + ["mag"] * 3)
    # 10 µV of EEG and 1 pT of MEG, in µV and fT.
    X = rng.standard_normal((8, 6, 64)) * np.array([10.0] * 3 + [1e3] * 3)[:, None]
    events = np.column_stack([np.arange(8) * 100, np.zeros(8, int), np.arange(8) % 2])
    epochs = mne.EpochsArray(X, info, events, verbose=False)
    with pytest.warns(RuntimeWarning, match="are they in") as record:
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    advice = [str(w.message) for w in record if "are they in" in str(w.message)]
    assert len(advice) == 2
    assert "are they in microvolts" in advice[0] and "picks='eeg'" in advice[0]
    assert "are they in femtotesla" in advice[1] and "picks='mag'" in advice[1]


@pytest.mark.parametrize(
    "ch_type, limit, slip",
    [
        ("eeg", 1e-2, "microvolts"),
        # MNE keeps ECG, EOG and EMG in volts too, and their maps are as
        # mislabelled in microvolts.
        ("ecg", 1e-2, "microvolts"),
        ("mag", 1e-6, "femtotesla"),
        ("grad", 1e-4, "femtotesla per centimetre"),
    ],
)
def test_a_unit_is_doubted_from_the_amplitude_no_signal_of_its_type_reaches(
    ch_type, limit, slip
):
    """Twice the limit (10 mV of EEG, 1 µT of magnetometers, 100 µT/m of
    gradiometers: no such signal exists) is another unit, as EEG band-passed
    to high gamma (0.05 µV) given in microvolts; half of it is not."""
    types = np.array([ch_type] * 3)
    with pytest.warns(
        RuntimeWarning, match=rf"{ch_type.upper()} .* are they in {slip}"
    ):
        _warn_if_in_another_unit(np.full(3, 2 * limit), types, "X")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _warn_if_in_another_unit(np.full(3, limit / 2), types, "X")


@pytest.mark.parametrize(
    "ch_type, amplitude, match",
    [
        ("mag", 1e-12, r"MAG channels of X.*are they in femtotesla"),
        ("grad", 1e-11, r"GRAD channels of X.*are they in femtotesla per centi"),
    ],
)
def test_meg_in_femtotesla_warns_at_fit(ch_type, amplitude, match):
    """MEG given to mne.EpochsArray in fT (or fT/cm), as MNE plots it, trained
    without a word; its maps were per femtotesla, labelled per tesla."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 4, 64)) * amplitude
    y = np.arange(8) % 2 + 1
    info = mne.create_info([f"MEG{i}" for i in range(4)], 64.0, ch_type)
    events = np.column_stack([np.arange(8) * 100, np.zeros(8, int), y])
    in_tesla = mne.EpochsArray(X, info, events=events, verbose=False)
    scale = 1e15 if ch_type == "mag" else 1e13  # T to fT; T/m to fT/cm
    in_femtotesla = mne.EpochsArray(X * scale, info, events=events, verbose=False)
    with pytest.warns(RuntimeWarning, match=match) as record:
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(in_femtotesla)
    # The advice's factor and picks bring them back to MNE's unit.
    advice = f"data * {1 / scale:g}, picks={ch_type!r}"
    assert any(advice in str(w.message) for w in record)
    advised = in_femtotesla.copy().apply_function(
        lambda data: data * (1 / scale), picks=ch_type, channel_wise=False
    )
    np.testing.assert_allclose(advised.get_data(), in_tesla.get_data(), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(in_tesla)


def test_data_checks_warn_whatever_the_log_level(synthetic_arrays):
    """MNE's ERROR level (often set to quiet MNE) silenced the warning that the
    data are in another unit than in training, whose predictions are then
    meaningless; and filters on mne_xai's module missed CroppedClassifier's."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**{**FAST, "verbose": None}).fit(X * 20.0, y)
    volts = X * 20e-6
    with mne.utils.use_log_level("error"):
        with pytest.warns(RuntimeWarning, match="different units"):
            clf.predict(volts)
        with pytest.warns(RuntimeWarning, match="different units"):
            mne_xai.explain(clf, volts[:2], "saliency", target=0)
    cropped = CroppedClassifier(clf, window_length=0.25, sfreq=128.0).fit(X * 20.0, y)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module="mne_xai")
        clf.predict(volts)
        cropped.predict(volts)
    assert record == []


def test_warnings_point_at_the_callers_line(synthetic_arrays):
    """Data checks warned from inside mne_xai (a fixed stacklevel counted for
    one path; checks run inside skorch's iterators), not at the user's call,
    and named explain's epochs "X"."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X * 20.0, y)
    # Without a faster evaluation graph, its batches are read by skorch's
    # forward_iter, whose frames lie between the check and the caller.
    slow = InterpretableCNNClassifier(**FAST).fit(X * 20.0, y)
    volts = mne.EpochsArray(X * 20e-6, mne.create_info(4, 128.0, "eeg"), verbose=False)
    for call, name in [
        (lambda: clf.predict(volts), "X"),
        (lambda: slow.predict(volts), "X"),
        (lambda: mne_xai.explain(clf, volts, "saliency", target=0), "epochs"),
        (
            lambda: mne_xai.evaluate.deletion_curve(
                clf, volts, method="saliency", target=0, n_steps=2, verbose=False
            ),
            "epochs",
        ),
        # As scikit-learn runs folds, through joblib even on one core.
        (lambda: Parallel(n_jobs=1)([delayed(clf.predict)(volts)]), "X"),
    ]:
        match = f"^{name} has a standard deviation .* different units"
        with pytest.warns(RuntimeWarning, match=match) as record:
            call()
        assert {(w.filename, w.lineno) for w in record} == {
            (__file__, call.__code__.co_firstlineno)
        }


def _several_units(n_epochs=80, seed=0):
    """EEG and EOG (V), and gradiometers (T/m) holding the class difference.

    As MEG and EEG recorded together: 4 EEG channels of std 1e-5, 2 EOG of
    1e-4, 4 gradiometers of 1e-11, the first three times louder in class 2.
    """
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 2], n_epochs // 2)
    X = rng.standard_normal((n_epochs, 10, 64))
    X[:, :4] *= 1e-5
    X[:, 4:6] *= 1e-4
    X[:, 6:] *= 1e-11
    X[y == 2, 6] *= 3
    types = ["eeg"] * 4 + ["eog"] * 2 + ["grad"] * 4
    info = mne.create_info([f"CH{i}" for i in range(10)], 64.0, types)
    events = np.column_stack([np.arange(n_epochs) * 100, np.zeros(n_epochs, int), y])
    return mne.EpochsArray(X, info, events=events, verbose=False)


def test_each_channel_type_is_scaled_to_unit_variance(caplog, monkeypatch):
    # In chunks of 3 epochs, as a large data set is read: every chunk counts.
    monkeypatch.setattr(mne_xai._data_checks, "EPOCHS_PER_CHUNK", 3)
    epochs = _several_units()
    with caplog.at_level(logging.INFO, logger="mne"):
        clf = EEGNetClassifier(
            picks=["eeg", "eog", "grad"], **dict(FAST, verbose="info")
        ).fit(epochs)
    assert all(f"{kind} x" in caplog.text for kind in ("eeg", "eog", "grad"))
    X = epochs.get_data()
    eeg, eog, grad = slice(0, 4), slice(4, 6), slice(6, 10)
    # Channels of a type share a factor, which keeps their relative size.
    for channels in (eeg, eog, grad):
        assert np.ptp(clf.input_scale_[channels]) == 0
        assert np.std(X[:, channels]) * clf.input_scale_[channels][0] == (
            pytest.approx(1, rel=1e-5)
        )
        # Kept in float64 (the std of the float32 data, 1e-10 from that of the
        # float64 ones): float32 would round it by up to 6e-8.
        np.testing.assert_allclose(
            clf.data_std_[channels], np.std(X[:, channels]), rtol=1e-9
        )
    # Data in another unit still warn; the same data do not.
    with pytest.warns(RuntimeWarning, match="different units"):
        clf.predict(X * 1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(epochs)


def _five_channels_of_types_apart(seed=0):
    """Seven epochs of five channels, each at its own scale (1e-5 to 1e-3)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((7, 5, 16)) * [[1e-3], [1e-5], [2e-5], [1e-4], [3e-4]]


@pytest.mark.parametrize("chunk", [1, 2, 4, 7, 8])
@pytest.mark.parametrize(
    "types",
    [["ecg", "eeg", "eeg", "eog", "eog"], ["eeg", "eeg", "eeg", "eog", "eog"]],
    ids=["three types", "two types"],
)
def test_std_per_type_read_in_chunks_is_numpys_over_all_the_data(
    monkeypatch, chunk, types
):
    """Whatever the chunk of epochs, each type's standard deviation is NumPy's
    over all its channels, epochs and samples: a chunk left out (7 epochs in
    chunks of 2 end on a chunk of one) or a type left unscaled (one ECG
    channel, listed first) scaled the network's input wrongly; two types are
    as apart as three."""
    monkeypatch.setattr(mne_xai._data_checks, "EPOCHS_PER_CHUNK", chunk)
    data = _five_channels_of_types_apart()
    info = mne.create_info([f"CH{i}" for i in range(5)], 64.0, types)
    expected = [
        np.std(data[:, [i for i, t in enumerate(types) if t == kind]]) for kind in types
    ]
    np.testing.assert_allclose(std_per_type(data, info), expected, rtol=1e-12)
    one_type = mne.create_info(5, 64.0, "eeg")
    assert std_per_type(data, one_type) == pytest.approx(np.std(data), rel=1e-12)


@pytest.mark.parametrize("chunk", [1, 2, 4, 7, 8])
def test_channel_moments_read_in_chunks_are_numpys(monkeypatch, chunk):
    """Whatever the chunk of epochs, each epoch's channel means, each channel's
    mean square and its variance within epochs are NumPy's over all the epochs:
    the checks of offsets and units read them."""
    monkeypatch.setattr(mne_xai._data_checks, "EPOCHS_PER_CHUNK", chunk)
    data = _five_channels_of_types_apart() + np.arange(5)[:, np.newaxis] * 1e-3
    moments = channel_moments(data)
    np.testing.assert_allclose(moments[0], data.mean(axis=2), rtol=1e-12)
    np.testing.assert_allclose(
        moments[1], np.mean(np.square(data), axis=(0, 2)), rtol=1e-12
    )
    np.testing.assert_allclose(
        within_epoch_variance(moments), data.var(axis=2).mean(axis=0), rtol=1e-9
    )


def test_one_number_scaling_channel_types_far_apart_warns():
    """scaling=1e6 (volts to microvolts) on MEG beside EEG left the MEG at 1e-7:
    EEGNet cross-validated 0.62 where "auto" gave 1.0, without a word."""
    epochs = _several_units()
    picks = ["eeg", "eog", "grad"]
    match = r"scaling=1e\+06 .* grad channels 1\.42e-07 times the size of the eog"
    with pytest.warns(RuntimeWarning, match=match):
        EEGNetClassifier(scaling=1e6, picks=picks, **dict(FAST, max_epochs=0)).fit(
            epochs
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        EEGNetClassifier(picks=picks, **dict(FAST, max_epochs=0)).fit(epochs)
        # One type keeps its number.
        EEGNetClassifier(scaling=1e6, picks="eeg", **dict(FAST, max_epochs=0)).fit(
            epochs
        )


@pytest.mark.parametrize("ratio, warned", [(10.0, False), (10.5, True)])
def test_one_number_scaling_warns_of_types_more_than_ten_times_apart(ratio, warned):
    """The warning is for channel types whose standard deviations are more than
    10 times apart; types 10 times apart pass."""
    info = mne.create_info(4, 64.0, ["eeg", "eeg", "eog", "eog"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _warn_if_one_factor_flattens_a_type(1e6, np.array([1, 1, ratio, ratio]), info)
    assert [str(warning.message)[:9] for warning in caught] == ["scaling=1"] * warned


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_class_difference_in_the_smaller_unit_is_learned(estimator_class):
    # One factor for all channels made the gradiometers 1e-6 of the EEG: the
    # networks stayed at chance (0.45-0.55) where they now learn.
    epochs = _several_units()
    train, test = np.arange(80) % 4 != 0, np.arange(80) % 4 == 0
    clf = estimator_class(max_epochs=20, verbose=False, random_state=0)
    clf.fit(epochs[train])
    assert clf.score(epochs[test]) >= 0.8


class _NumberScaledNetwork(torch.nn.Module):
    """A user's network that scales its input by one number, as it documents."""

    def __init__(self, n_channels, n_classes, n_times, input_scale=1.0):
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.readout = torch.nn.Linear(n_channels * n_times, n_classes)

    def forward(self, x):
        return self.readout((x * self.input_scale).flatten(1))


def test_networks_scaling_by_one_number_get_the_factors_outside():
    epochs = _several_units()
    clf = EEGNetClassifier(_NumberScaledNetwork, **FAST).fit(epochs)
    assert isinstance(clf.module_, mne_xai.models.ScaledInput)
    assert float(clf.module_.module.input_scale) == 1.0
    np.testing.assert_allclose(
        clf.module_.input_scale.numpy().ravel(), clf.input_scale_, rtol=1e-6
    )
    # A scaling of the user's own is theirs alone.
    own = EEGNetClassifier(_NumberScaledNetwork, module__input_scale=1e5, **FAST)
    assert not isinstance(own.fit(epochs).module_, mne_xai.models.ScaledInput)
    assert float(own.module_.input_scale) == 1e5  # not the shapes' 1.0
    # mne_xai's networks take the factor of each channel themselves: no
    # wrapper between the estimator and the network explained and inspected.
    ours = EEGNetClassifier(**FAST).fit(epochs)
    assert isinstance(ours.module_, EEGNet)
    np.testing.assert_allclose(
        ours.module_.input_scale.numpy().ravel(), clf.input_scale_, rtol=1e-6
    )


class _ForwardingEEGNet(EEGNet):
    """A user's EEGNet passing every argument on through ``**kwargs``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)


def test_a_network_taking_its_scale_through_kwargs_is_scaled_once(synthetic_arrays):
    """A constructor naming no input_scale, whose network keeps the one it was
    given, scales the data itself: wrapped in the estimator's scaling too, it
    would read them scaled twice."""
    X, y = synthetic_arrays
    X = X * 1e-5  # volts
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    clf = EEGNetClassifier(_ForwardingEEGNet, info=info, **FAST).fit(X, y)
    assert isinstance(clf.module_, _ForwardingEEGNet)
    np.testing.assert_allclose(clf.input_scale_, 1 / X.std(), rtol=0.05)


@pytest.mark.parametrize("network_class", [_NumberScaledNetwork, EEGNet])
def test_a_network_instance_scaling_itself_gets_the_training_scale(
    synthetic_arrays, network_class
):
    """An instance gets the scaling a network built from its class gets: with
    its own left as built (1.0), it would train on volts."""
    X, y = synthetic_arrays
    X = X * 1e-5  # volts
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    built = EEGNetClassifier(network_class, info=info, **FAST).fit(X, y)
    instance = network_class(X.shape[1], 2, X.shape[2])
    given = EEGNetClassifier(instance, info=info, **FAST).fit(X, y)
    assert not isinstance(given.module_, mne_xai.models.ScaledInput)
    np.testing.assert_allclose(given.input_scale_, built.input_scale_, rtol=1e-6)
    np.testing.assert_allclose(given.input_scale_, 1 / X.std(), rtol=0.05)


def test_maximized_input_has_each_units_amplitude():
    epochs = _several_units()
    clf = EEGNetClassifier(**FAST).fit(epochs)
    result = mne_xai.inspect.maximize_activation(
        clf, 2, n_restarts=1, n_steps=5, random_state=0, verbose=False
    )
    data = result.evoked.data
    volts, tesla_per_m = data[:4], data[4:]  # picks: EEG and gradiometers
    # Noise at the training amplitude of each unit, not 1e-5 everywhere.
    assert 1e-6 < np.std(volts) < 1e-4
    assert 1e-12 < np.std(tesla_per_m) < 1e-10


def test_restored_model_keeps_the_factors_of_each_unit(tmp_path):
    epochs = _several_units()
    clf = InterpretableCNNClassifier(**FAST).fit(epochs)
    other = mne.EpochsArray(
        epochs.get_data()[::8] * 3.0, epochs.info, events=epochs.events[::8]
    )  # another scale than training: the restored factors are training's
    restored = _restored(clf, tmp_path, other)
    for model in (restored, pickle.loads(pickle.dumps(clf))):
        np.testing.assert_array_equal(model.input_scale_, clf.input_scale_)
        np.testing.assert_array_equal(model.data_std_, clf.data_std_)
        np.testing.assert_array_equal(
            model.predict_proba(epochs), clf.predict_proba(epochs)
        )
    # Training continues from the restored network, reproducibly (it failed:
    # no attribute 'seed_').
    continued = []
    for _ in range(2):
        again = InterpretableCNNClassifier(**FAST).initialize(other)
        again.load_params(f_params=tmp_path / "params.pt")
        continued.append(again.partial_fit(epochs).predict_proba(epochs))
    np.testing.assert_array_equal(*continued)
    assert not np.array_equal(continued[0], clf.predict_proba(epochs))


def test_a_restored_network_refuses_channels_in_another_order(tmp_path):
    """Initialized on the same epochs with channels sorted by name, the saved
    weights were read against the wrong channels (13 % of predictions changed)."""
    epochs = _several_units()
    clf = InterpretableCNNClassifier(**FAST).fit(epochs)
    clf.save_params(f_params=tmp_path / "params.pt")
    reordered = epochs.copy().reorder_channels(epochs.ch_names[::-1])
    assert reordered.ch_names != epochs.ch_names
    restored = InterpretableCNNClassifier(**FAST).initialize(reordered)
    with pytest.raises(ValueError, match="other channels, or of the same in another"):
        restored.load_params(f_params=tmp_path / "params.pt")
    # Parameters saved before the digest existed still load, with a warning.
    older = torch.load(tmp_path / "params.pt", weights_only=True)
    del older["training_channels"]
    torch.save(older, tmp_path / "older.pt")
    restored = InterpretableCNNClassifier(**FAST).initialize(epochs)
    with pytest.warns(RuntimeWarning, match="saved without the digest"):
        restored.load_params(f_params=tmp_path / "older.pt")
    np.testing.assert_array_equal(
        restored.predict_proba(epochs), clf.predict_proba(epochs)
    )


@pytest.mark.parametrize(
    "factor, match",
    [
        # The refusal named channels, samples and classes, which all matched.
        (2, r"samples at {off:g} Hz.*follow the sampling rate"),
        # Only a kernel of another length gave another rate away: at a rate 1 %
        # off, EEGNet's kernels round alike, and it loaded and read the data at
        # the wrong rate without a word (as a user's network of no kernel in Hz
        # did at any rate).
        (1.01, r"trained at {rate:g} Hz.*sampled at {off:g}"),
    ],
)
def test_a_restored_network_of_another_rate_is_refused(tmp_path, factor, match):
    epochs = _several_units()
    clf = EEGNetClassifier(**FAST).fit(epochs)
    clf.save_params(f_params=tmp_path / "params.pt")
    off = epochs.copy()
    with off.info._unlock():
        off.info["sfreq"] *= factor
    restored = EEGNetClassifier(**FAST).initialize(off)
    match = match.format(rate=epochs.info["sfreq"], off=off.info["sfreq"])
    with pytest.raises(ValueError, match=match):
        restored.load_params(f_params=tmp_path / "params.pt")


def test_a_restored_network_loads_at_a_rate_float32_cannot_hold(tmp_path):
    """The training rate is kept as it was read: rounded to float32 (1000 / 7
    Hz is 142.857147... there), the network refused the very Epochs it was
    trained on as sampled at another rate."""
    epochs = _several_units()
    with epochs.info._unlock():
        epochs.info["sfreq"] = 1000 / 7
    assert float(np.float32(epochs.info["sfreq"])) != epochs.info["sfreq"]
    clf = EEGNetClassifier(**FAST).fit(epochs)
    restored = _restored(clf, tmp_path, epochs)
    np.testing.assert_array_equal(
        restored.predict_proba(epochs), clf.predict_proba(epochs)
    )


def test_a_restored_network_continues_training_as_trained(tmp_path):
    """initialize needs data shaped as the training data only, and the schedule
    and "balanced" weights followed their counts: restored on 8 epochs of a
    network trained on 40, batch_size_ was 8 where it trained at 16, and the
    class weights of 300:100 epochs came back reversed, silently."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((160, 4, 64)).astype(np.float32)
    y = np.r_[np.zeros(120, int), np.ones(40, int)]
    params = dict(max_epochs=2, class_weight="balanced", verbose=False)
    clf = EEGNetClassifier(**params).fit(X, y)
    assert clf.batch_size_ == 16
    clf.save_params(f_params=tmp_path / "params.pt")
    few = np.r_[0, 1, 120, 121, 122, 123, 124, 125]  # 2 of class 0, 6 of class 1
    restored = EEGNetClassifier(**params).initialize(X[few], y[few])
    assert restored.batch_size_ == 8
    restored.load_params(f_params=tmp_path / "params.pt")
    assert (restored.batch_size_, restored.max_epochs_) == (16, clf.max_epochs_)
    np.testing.assert_allclose(restored.class_weight_, [2 / 3, 2.0])
    np.testing.assert_allclose(restored.criterion_.weight, [2 / 3, 2.0])


def test_a_restored_network_keeps_the_schedule_of_its_early_stopping(
    synthetic_arrays, tmp_path
):
    """The schedule follows the epochs stepped on, the validation part held out:
    32 of 40 epochs take 250 passes of 4 batches, not 200 of 5 (all 40)."""
    X, y = synthetic_arrays
    params = dict(early_stopping=True, info=_epochs(X, y).info, verbose=False)
    built = EEGNetClassifier(**params).initialize(X, y)
    assert (built.batch_size_, built.max_epochs_) == (8, 250)
    built.save_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(**params).initialize(X[18:22], y[18:22])
    restored.load_params(f_params=tmp_path / "params.pt")
    assert (restored.batch_size_, restored.max_epochs_) == (8, 250)


def test_a_restored_partial_fit_sequence_goes_on_as_it_would_have(
    synthetic_arrays, tmp_path
):
    """Restored, the next partial_fit started afresh: the loaded optimizer
    state was dropped (Adam's steps went 12 -> 6, where they go on to 18) and
    the seed was drawn again, so the weights differed by up to 0.03."""
    X, y = synthetic_arrays
    original = EEGNetClassifier(**FAST)
    original.partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    files = dict(f_params=tmp_path / "params.pt", f_optimizer=tmp_path / "opt.pt")
    original.save_params(**files)
    restored = EEGNetClassifier(**FAST).initialize(X, y)
    restored.load_params(**files)
    for model in (original, restored):
        model.partial_fit(X, y)
    for name, value in original.module_.state_dict().items():
        torch.testing.assert_close(restored.module_.state_dict()[name], value)


def test_epochs_of_more_channels_than_training_arrays_say_why(synthetic_arrays):
    """Fitted on epochs.get_data(picks="eeg"), Epochs with their stimulus channel
    were refused with "X has 5 channels but the estimator was fitted on 4"."""
    X, y = synthetic_arrays
    info = mne.create_info(
        ["C3", "Cz", "C4", "Pz", "STI"], 64.0, ["eeg"] * 4 + ["stim"]
    )
    data = np.concatenate([X * 1e-6, np.zeros((len(X), 1, X.shape[2]))], axis=1)
    epochs = mne.EpochsArray(data, info, verbose=False)
    arrays = epochs.get_data(picks="eeg")
    for clf in (
        EEGNetClassifier(**FAST).fit(arrays, y),
        CroppedClassifier(EEGNetClassifier(**FAST), sfreq=64.0).fit(arrays, y),
    ):
        with pytest.raises(ValueError, match="fitted on 4. It was fitted on an array"):
            clf.predict(epochs)


def test_arrays_of_other_channels_than_training_epochs_say_how_to_read_them(
    synthetic_arrays,
):
    """Fitted on Epochs, which leave out their stimulus channel, the array of
    epochs.get_data() was refused with "X has 5 channels but the estimator was
    fitted on 4" only: nothing said that arrays are read by position."""
    X, y = synthetic_arrays
    info = mne.create_info(
        ["C3", "Cz", "C4", "Pz", "STI"], 64.0, ["eeg"] * 4 + ["stim"]
    )
    data = np.concatenate([X * 1e-6, np.zeros((len(X), 1, X.shape[2]))], axis=1)
    epochs = mne.EpochsArray(data, info, verbose=False)
    clf = EEGNetClassifier(**FAST).fit(epochs, y)
    with pytest.raises(ValueError, match=r"fitted on 4\. It was fitted on Epochs"):
        clf.predict(epochs.get_data())
    with pytest.raises(
        ValueError, match=r"get_data\(picks=estimator\.info_\.ch_names\)"
    ):
        clf.predict(epochs.get_data())
    assert clf.predict(epochs.get_data(picks=clf.ch_names_)).shape == y.shape


def test_arrays_of_other_channels_than_training_arrays_say_the_counts(
    synthetic_arrays,
):
    """Fitted on an array and given one: the counts alone, with no advice about
    Epochs or names neither holds."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"has 3 channels but .* fitted on 4\.$"):
        clf.predict(X[:, :3])


def test_labels_of_epochs_their_rejection_drops_say_so(synthetic_arrays):
    """Epochs not preloaded drop their rejected epochs when first read, inside
    fit: labels taken before were refused with "X has 36 epochs but y has 40
    labels", and epochs all rejected with "X holds no epochs", neither saying
    that rejection had dropped them."""
    X, y = synthetic_arrays
    data = np.concatenate(list(X.astype(np.float64) * 1e-6), axis=1)
    data[0, 64 * np.arange(4) + 10] = 1e-3  # four epochs of a 1 mV artifact
    raw = mne.io.RawArray(data, mne.create_info(X.shape[1], 64.0, "eeg"), verbose=False)
    events = np.column_stack([np.arange(len(y)) * 64, np.zeros(len(y), int), y + 1])
    window = dict(tmin=0.0, tmax=63 / 64, baseline=None, preload=False, verbose=False)
    epochs = mne.Epochs(raw, events, reject=dict(eeg=5e-4), **window)
    labels = epochs.events[:, 2]  # before the rejection
    with pytest.raises(ValueError, match="dropped 4 of its 40 epochs"):
        EEGNetClassifier(**FAST).fit(epochs, labels)
    everything = mne.Epochs(raw, events, reject=dict(eeg=1e-9), **window)
    with pytest.raises(ValueError, match="dropped all its 40 epochs"):
        EEGNetClassifier(**FAST).fit(everything, labels)
    # So for a single epoch (as read one at a time online).
    single = mne.Epochs(raw, events[:1], reject=dict(eeg=5e-4), **window)
    with pytest.raises(ValueError, match="dropped all its 1 epochs"):
        EEGNetClassifier(**FAST).fit(single, labels[:1])


def test_rejection_of_every_part_of_a_list_is_counted(synthetic_arrays):
    """Guard the count of epochs that rejection drops across a list's parts
    (not preloaded): each part's drops add up, as the labels taken before
    count them."""
    X, y = synthetic_arrays
    data = np.concatenate(list(X.astype(np.float64) * 1e-6), axis=1)
    data[0, 64 * np.array([0, 1, 25, 26]) + 10] = 1e-3  # two epochs in each part
    raw = mne.io.RawArray(data, mne.create_info(X.shape[1], 64.0, "eeg"), verbose=False)
    events = np.column_stack([np.arange(len(y)) * 64, np.zeros(len(y), int), y + 1])
    window = dict(tmin=0.0, tmax=63 / 64, baseline=None, preload=False, verbose=False)
    parts = [
        mne.Epochs(raw, part, reject=dict(eeg=5e-4), **window)
        for part in (events[:20], events[20:])
    ]
    with pytest.raises(ValueError, match="dropped 4 of its 40 epochs"):
        EEGNetClassifier(**FAST).fit(parts, events[:, 2])


def test_a_network_trained_on_arrays_restored_on_epochs_names_the_fix(
    synthetic_arrays, tmp_path
):
    """Refused for Epochs naming the classes "by other events" than training
    Epochs there never were, without the fix: initialize with arrays."""
    X, y = synthetic_arrays
    info = _epochs(X, y).info  # 64 Hz, as the Epochs below
    clf = EEGNetClassifier(info=info, **FAST).fit(X, y + 1)
    clf.save_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(**FAST).initialize(_epochs(X, y + 1))
    with pytest.raises(ValueError, match="trained on arrays.*Initialize with arrays"):
        restored.load_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(info=info, **FAST).initialize(X, y + 1)
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


@pytest.mark.filterwarnings("ignore:After training")
def test_networks_kept_before_the_training_counts_still_save_and_refit(
    synthetic_arrays, tmp_path
):
    """Estimators pickled by earlier versions have networks without the new
    buffers: save_params and a warm refit failed on the missing attribute. A
    refused warm refit left the training counts of the data it refused."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST, class_weight="balanced", warm_start=True)
    clf.fit(X, y)
    with pytest.raises(ValueError, match=r"classes \[0\] have no epoch there"):
        clf.fit(X[y == 1], y[y == 1])
    assert clf.module_.training_class_counts.tolist() == [20, 20]
    for buffer in ("training_continuation", "training_class_counts"):
        delattr(clf.module_, buffer)
    clf.save_params(f_params=tmp_path / "params.pt")
    clf.fit(X, y)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_initializing_leaves_batch_norm_statistics_untouched(
    synthetic_arrays, estimator_class
):
    """The check of the logits runs two probe epochs through the new network;
    in training mode they would enter every batch norm's running statistics."""
    X, y = synthetic_arrays
    clf = estimator_class(**FAST).initialize(X, y)
    norms = [
        layer
        for layer in clf.module_.modules()
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert norms and clf.module_.training
    for norm in norms:
        assert int(norm.num_batches_tracked) == 0
        torch.testing.assert_close(
            norm.running_mean, torch.zeros_like(norm.running_mean)
        )
        torch.testing.assert_close(norm.running_var, torch.ones_like(norm.running_var))


def test_load_params_before_initialize_says_so():
    """It failed on a missing attribute, 'classes_inferred_'."""
    with pytest.raises(NotInitializedError, match="not initialized yet"):
        EEGNetClassifier(**FAST).load_params(f_params="params.pt")


def test_initialize_with_early_stopping_restores(synthetic_arrays, tmp_path):
    """initialize(X) failed with early_stopping=True ("no attribute
    'validation_groups_'"), so a network trained with it could not be restored."""
    X, y = synthetic_arrays
    params = dict(FAST, early_stopping=True, max_epochs=4)
    clf = EEGNetClassifier(**params).fit(X, y)
    restored = _restored(clf, tmp_path, X, y)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_epochs_starting_at_another_time_warn(synthetic_arrays):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(_epochs(X, y + 1))
    assert clf.tmin_ == 0.0
    with pytest.warns(RuntimeWarning, match="starts at -0.5 s"):
        clf.predict(_epochs(X, y + 1, tmin=-0.5))


@pytest.mark.parametrize("tmin", [0.0, -0.5])
def test_epochs_starting_one_sample_late_warn(synthetic_arrays, tmin):
    """One sample late, the network reads every sample one step off the times
    it learned them at: the start time is compared to well within a sample,
    whatever the training epochs' start (not to a share of it)."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(_epochs(X, y + 1, tmin=tmin))
    with pytest.warns(RuntimeWarning, match=f"starts at {tmin + 1 / 64:g} s"):
        clf.predict(_epochs(X, y + 1, tmin=tmin + 1 / 64))


# -- saving and restoring ------------------------------------------------------------
def _restored(fitted, tmp_path, *data):
    """A new estimator of ``fitted``'s class and parameters, initialized on
    ``data`` and given ``fitted``'s saved parameters."""
    fitted.save_params(f_params=tmp_path / "params.pt")
    restored = clone(fitted).initialize(*data)
    restored.load_params(f_params=tmp_path / "params.pt")
    return restored


def test_restored_model_keeps_training_statistics(synthetic_arrays, tmp_path):
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    other_data = X[::4] * 9.0 + 1.0  # another scale and mean than training
    restored = _restored(clf, tmp_path, other_data, y[::4])
    assert restored.input_scale_ == clf.input_scale_
    assert restored.data_std_ == clf.data_std_
    np.testing.assert_array_equal(restored.data_mean_, clf.data_mean_)
    maps = [
        mne_xai.explain(
            model,
            X[:4],
            "integrated_gradients",
            baseline="mean",
            target=1,
            verbose=False,
        ).get_data()
        for model in (clf, restored, pickle.loads(pickle.dumps(clf)))
    ]
    np.testing.assert_allclose(maps[1], maps[0], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(maps[2], maps[0], rtol=1e-5, atol=1e-12)


# -- event codes of other files ----------------------------------------------------
def _named(X, y, event_id):
    epochs = _epochs(X, y)
    epochs.event_id = event_id
    return epochs


@pytest.fixture
def fif_coded(synthetic_arrays):
    """A network trained on feet = 2, hands = 3 (MNE's EEGBCI coding)."""
    X, y = synthetic_arrays
    epochs = _named(X, y + 2, {"feet": 2, "hands": 3})
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 30, "lr": 5e-3}).fit(epochs)
    return clf, epochs


def test_events_coded_otherwise_are_matched_by_name(fif_coded, synthetic_arrays):
    """EEGLAB numbers events from 1: hands (2 there) was read as the model's 2,
    feet, and the maps of "true" classes explained the other class."""
    clf, fif = fif_coded
    X, y = synthetic_arrays
    eeglab = _named(X, y + 1, {"feet": 1, "hands": 2})
    assert clf.score(eeglab) == clf.score(fif) > 0.5
    kwargs = dict(method="saliency", target="true", verbose=False)
    np.testing.assert_array_equal(
        mne_xai.explain(clf, eeglab, **kwargs).get_data(),
        mne_xai.explain(clf, fif, **kwargs).get_data(),
    )
    # A class named as the target is the training's class of that name.
    for target in ("feet", "hands"):
        kwargs["target"] = target
        np.testing.assert_array_equal(
            mne_xai.explain(clf, eeglab, **kwargs).get_data(),
            mne_xai.explain(clf, fif, **kwargs).get_data(),
        )
    # A selection holding one class, and a list of one-epoch Epochs (what
    # scikit-learn hands over), are matched the same way.
    assert clf.score(eeglab["hands"]) == clf.score(fif["hands"])
    assert clf.score([eeglab[i] for i in range(len(eeglab))]) == clf.score(fif)
    # Events partly unknown to the network cannot be matched.
    mixed = _named(X, y + 1, {"feet": 1, "rest": 2})
    with pytest.raises(ValueError, match=r"events \['rest'\].*y=epochs.events") as err:
        clf.score(mixed)
    assert "Keep the epochs of the trained events (epochs[['feet']])" in str(err.value)
    assert clf.score(mixed[["feet"]]) == clf.score(fif["feet"])
    # Events renamed altogether keep their codes, with a warning.
    renamed = _named(X, y + 2, {"both feet": 2, "both hands": 3})
    # The fix it names is one a command-line user can make too (no y there).
    fix = "None of the events.*name the epochs' events as the training epochs'"
    with pytest.warns(RuntimeWarning, match=fix):
        assert clf.score(renamed) == clf.score(fif)


def test_events_read_under_another_code_are_logged(caplog):
    """The log line names the events read under their training code: hands, 4
    here and 3 in training, is named beside feet, 2 in both; epochs coded as in
    training log nothing."""
    trained = {"feet": 2, "hands": 3}
    with caplog.at_level(logging.INFO, logger="mne"):
        codes = events_as_trained(np.array([2, 4, 4]), {"feet": 2, "hands": 4}, trained)
        np.testing.assert_array_equal(codes, [2, 3, 3])
        assert "by name: feet 2 -> 2, hands 4 -> 3" in caplog.text
        caplog.clear()
        events_as_trained(np.array([2, 3]), trained, trained)
    assert "Matched" not in caplog.text


def test_only_events_of_no_class_are_unseen_in_training():
    """An event whose training code (or name) is a class is a label coded
    otherwise, not an event the network saw no epoch of; an event named in
    training whose epochs were all dropped is one, by code or name."""
    trained = {"feet": 2, "hands": 3, "rest": 4}
    assert events_unseen_in_training(["feet"], [2, 3], trained) == {}
    assert events_unseen_in_training([3], ["feet", "hands"], trained) == {}
    assert events_unseen_in_training([4, "rest"], [2, 3], trained) == {
        4: "rest",
        "rest": "rest",
    }
    # The epochs' own names add events that training did not name.
    assert events_unseen_in_training([1], [2, 3], trained, {"sleep": 1}) == {1: "sleep"}


def test_labels_partly_classes_count_the_others_as_wrong(fif_coded):
    """As scikit-learn scores labels that are no class, y holding some classes
    is scored, the others counting as wrong; only labels of no class are refused."""
    clf, fif = fif_coded
    labels = fif.events[:, 2].copy()
    labels[:10] = 7  # no class, and no event
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = clf.score(fif, labels)
    assert score == np.mean(clf.predict(fif) == labels)


def test_labels_of_which_none_is_a_class_are_refused_by_score(
    fif_coded, synthetic_arrays
):
    """A recording coding the classes otherwise (10 and 20), scored with its
    events as y, gave 0.0 without a word; its events alone are read by name."""
    clf, _ = fif_coded
    X, y = synthetic_arrays
    other = _named(X, 10 * (y + 1), {"feet": 10, "hands": 20})
    with pytest.raises(ValueError, match=r"\[10, 20\], none of them a class.*by name"):
        clf.score(other, other.events[:, 2])
    assert clf.score(other) == clf.score(other, y + 2) > 0.5
    # A list or a tuple of Epochs is Epochs too: both get the hint.
    for parts in ([other[:20], other[20:]], (other[:20], other[20:])):
        with pytest.raises(ValueError, match=r"none of them a class.*by name"):
            clf.score(parts, other.events[:, 2])
    # Numbers in nested lists are an array, without events to read.
    with pytest.raises(ValueError, match="none of them a class") as error:
        clf.score(X.tolist(), other.events[:, 2])
    assert "Without y" not in str(error.value)


@pytest.mark.filterwarnings("ignore:After training")
def test_events_the_network_saw_no_epoch_of_are_scored_as_wrong(synthetic_arrays):
    """A cross-validation fold holding only an event its training folds lacked
    was refused: cross_val_score gave NaN where scikit-learn's classifiers give
    0.0, and without y the network was said to be "trained on other labels"."""
    X, _ = synthetic_arrays
    codes = np.repeat([1, 2, 3], 13)  # sorted: each fold of KFold(3) one event
    epochs = _named(X[:39], codes, {"a": 1, "b": 2, "c": 3})
    unseen = "of which the network saw no epoch in training"
    with pytest.warns(RuntimeWarning, match=unseen):
        scores = cross_val_score(
            EEGNetClassifier(**FAST), epochs, codes, cv=KFold(3), error_score="raise"
        )
    np.testing.assert_array_equal(scores, 0.0)
    # Without y, an event that training never named may be another task's.
    fold = EEGNetClassifier(**FAST).fit(epochs[["b", "c"]])
    with pytest.raises(ValueError, match=r"saw no epoch of \['a'\].*as y") as error:
        fold.score(epochs["a"])
    assert "other labels" not in str(error.value)
    # Beside a code that no event names, they are not all events the network
    # saw no epoch of.
    unnamed = _named(X[:26], np.repeat([1, 9], 13), {"a": 1})
    with pytest.raises(ValueError, match=r"\(a \(1\), 9\).*other labels") as error:
        fold.score(unnamed)
    assert "saw no epoch" not in str(error.value)
    # With y, the epochs' own names say that they are events: in Epochs, a
    # list or a tuple of them alike (a tuple lost the names).
    for parts in (epochs["a"], [epochs["a"]], (epochs["a"],)):
        with pytest.warns(RuntimeWarning, match=rf"events 'a' \(1\), {unseen}"):
            assert fold.score(parts, codes[:13]) == 0.0
    # MNE keeps the name of an event whose epochs were all dropped.
    dropped = epochs.copy().drop(codes == 1, verbose=False)
    clf = EEGNetClassifier(**FAST).fit(dropped)
    assert "a" in clf.event_id_
    for labels in (None, codes[:13]):
        with pytest.warns(RuntimeWarning, match=rf"events 'a' \(1\), {unseen}"):
            assert clf.score(epochs["a"], labels) == 0.0
    # Without y, beside an event that training never named, they are
    # refused: that one may be another task's (here, events named otherwise).
    renamed = _named(X[:26], np.repeat([1, 9], 13), {"x": 1, "y": 9})
    with (
        pytest.warns(RuntimeWarning, match="None of the events"),
        pytest.raises(ValueError, match=r"saw no epoch of \['a', 'y'\].*as y"),
    ):
        clf.score(renamed)
    # Also beside the epochs of its classes, which it scores.
    with pytest.warns(RuntimeWarning, match=rf"events 'a' \(1\), {unseen}"):
        assert 0 < clf.score(epochs) < 1
    # target="true" has no class to explain them as.
    with pytest.raises(
        ValueError, match=r"saw no epoch of the events \['a'\].*epochs\[\['b', 'c'\]\]"
    ):
        mne_xai.explain(clf, epochs, "saliency", target="true", verbose=False)
    # Labels that are no event, and no class, are still refused.
    with pytest.raises(ValueError, match=r"\[11\], none of them a class"):
        clf.score(epochs["a"], codes[:13] + 10)
    # Beside such an event, labels that are neither are refused all the same.
    mixed = np.where(np.arange(13) < 6, 1, 11)
    with (
        pytest.warns(RuntimeWarning, match=unseen),
        pytest.raises(ValueError, match=r"\[1, 11\], none of them a class"),
    ):
        clf.score(epochs["a"], mixed)


def test_events_a_network_trained_on_names_saw_no_epoch_of_are_warned_of(
    synthetic_arrays,
):
    """Without y, the epochs of an event whose training epochs were all dropped
    count as wrong with a warning, for a network trained on the event names as
    for one trained on their codes: they were scored so in silence."""
    X, _ = synthetic_arrays
    codes = np.repeat([1, 2, 3], 13)
    epochs = _named(X[:39], codes, {"a": 1, "b": 2, "c": 3})
    names = np.array(["a", "b", "c"])[codes - 1]
    dropped = epochs.copy().drop(codes == 1, verbose=False)
    clf = EEGNetClassifier(**FAST).fit(dropped, names[codes != 1])
    assert list(clf.classes_) == ["b", "c"]
    unseen = "events 'a', of which the network saw no epoch in training"
    with pytest.warns(RuntimeWarning, match=unseen):
        score = clf.score(epochs)
    assert score == np.mean(clf.predict(epochs) == names)


def test_labels_of_the_other_kind_than_the_classes_are_refused(fif_coded):
    """An event name training never had, as y of a network trained on codes
    (or a code, for one trained on names), was warned of as an event to count
    as wrong, and then failed in scikit-learn ("Mix of label input types")."""
    clf, fif = fif_coded
    X = fif.get_data()
    by_name = EEGNetClassifier(**{**FAST, "max_epochs": 1}).fit(
        fif, np.array(["feet", "hands"])[fif.events[:, 2] - 2]
    )
    rest = _named(X[:20], np.full(20, 4), {"rest": 4})
    for fitted, labels, classes in [
        (clf, ["rest"] * 20, r"\[2, 3\]"),
        (by_name, [4] * 20, r"\['feet', 'hands'\]"),
    ]:
        with pytest.raises(ValueError, match=rf"none of them a class .*\({classes}\)"):
            fitted.score(rest, labels)
    # Of the kind of the classes, they are events to count as wrong.
    with pytest.warns(RuntimeWarning, match="saw no epoch in training"):
        assert clf.score(rest, [4] * 20) == by_name.score(rest, ["rest"] * 20) == 0


@pytest.mark.filterwarnings("ignore:After training")
def test_events_named_otherwise_are_neither_renamed_nor_taken_for_trained_codes(
    fif_coded, synthetic_arrays
):
    """Guard the reading of events and names that training did not code: a
    name that the epochs give a trained code does not name that class (the
    training names decide); names of trained events as y of a network trained
    on codes are refused as labels coded otherwise; an event training never
    named, given as y to a network trained on names, is scored as wrong; and
    events of codes training never had raise without the warning that their
    codes are taken as the training codes; epochs of every class warn of
    nothing."""
    clf, fif = fif_coded
    X, y = synthetic_arrays
    renamed = _named(X, y + 2, {"rest": 2, "hands": 3})
    with pytest.raises(
        ValueError, match="target='rest' is an event of the epochs, but"
    ):
        mne_xai.explain(clf, renamed, "saliency", target="rest", verbose=False)
    names = np.array(["feet", "hands"])[y]
    with pytest.raises(ValueError, match=r"\['feet', 'hands'\], none of them a class"):
        clf.score(fif, names)
    by_name = EEGNetClassifier(**FAST).fit(fif, names)
    rest = _named(X[:20], np.full(20, 4), {"rest": 4})
    with pytest.warns(RuntimeWarning, match="events 'rest', of which the network saw"):
        assert by_name.score(rest, ["rest"] * 20) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clf.score(fif) > 0.5  # every class: no event to warn of
    unseen = _named(X[:20], y[:20] + 1, {"a": 1})
    fold = EEGNetClassifier(**FAST).fit(_named(X, y + 2, {"b": 2, "c": 3}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"saw no epoch of \['a'\]"):
            fold.score(unseen)


def test_scoring_epochs_without_labels_reads_their_events_as_the_classes(
    fif_coded, synthetic_arrays
):
    """A network trained on other labels scored 0 on its own epochs; one trained
    on event names failed on a mix of strings and numbers."""
    clf, fif = fif_coded
    X, y = synthetic_arrays
    names = np.array(["feet", "hands"])[y]
    by_name = EEGNetClassifier(**{**FAST, "max_epochs": 30, "lr": 5e-3}).fit(fif, names)
    assert by_name.score(fif) == by_name.score(fif, names) > 0.5
    by_index = EEGNetClassifier(**FAST).fit(fif, y)
    shifted = EEGNetClassifier(**FAST).fit(fif, fif.events[:, 2] - 1)  # 1 and 2
    with pytest.raises(ValueError, match="not the events"):  # was [2, 'hands']
        shifted.score(fif)
    with pytest.raises(ValueError, match="not the events.*Pass the labels as y"):
        by_index.score(fif)
    # Nor are the events, given as y, taken for events it saw no epoch of.
    with pytest.raises(ValueError, match=r"\[2, 3\], none of them a class"):
        by_index.score(fif, fif.events[:, 2])


def test_a_network_trained_on_arrays_reads_the_events_of_epochs_by_name_only(
    fif_coded,
):
    """Fitted on arrays, its classes say nothing of event codes: Epochs without y
    are scored by their events' names when those are its classes, and refused,
    naming the codes, when only their codes are."""
    _, fif = fif_coded
    params = dict(FAST, max_epochs=30, lr=5e-3, info=fif.info)
    names = np.array(["feet", "hands"])[fif.events[:, 2] - 2]
    by_name = EEGNetClassifier(**params).fit(fif.get_data(), names)
    assert by_name.score(fif) == by_name.score(fif, names) > 0.5
    by_code = EEGNetClassifier(**params).fit(fif.get_data(), fif.events[:, 2])
    with pytest.raises(ValueError, match=r"not fitted on Epochs.*codes \[2, 3\] name"):
        by_code.score(fif)


def test_a_list_of_one_epoch_epochs_is_counted_once_not_per_batch(
    fif_coded, monkeypatch
):
    """scikit-learn's cross-validation hands over a list of one-epoch Epochs;
    each batch walked the list, counting every part, so predictions grew with
    the square of the number of epochs (8,000: 3.4 times one Epochs' time)."""
    clf, fif = fif_coded
    parts = [fif[i] for i in range(len(fif))]
    counted = dict.fromkeys(map(id, parts), 0)
    length = mne.BaseEpochs.__len__

    def spy(epochs):
        if id(epochs) in counted:
            counted[id(epochs)] += 1
        return length(epochs)

    monkeypatch.setattr(mne.BaseEpochs, "__len__", spy)
    clf.set_params(iterator_valid__batch_size=1)
    np.testing.assert_array_equal(clf.predict_proba(parts), clf.predict_proba(fif))
    assert max(counted.values()) <= 2 < len(parts)


def test_a_list_of_epochs_of_several_recordings_is_explained(fif_coded):
    """Each part named only its own events, and two recordings repeat sample
    numbers: explain failed in MNE after computing every map."""
    clf, fif = fif_coded
    parts = [fif["feet"][:3], fif["hands"][:3], fif[:2]]  # fif[:2] repeats samples
    attribution = mne_xai.explain(clf, parts, "saliency", target="true", verbose=False)
    assert attribution.event_id == {"feet": 2, "hands": 3}
    np.testing.assert_array_equal(
        attribution.events[:, 2], np.concatenate([p.events[:, 2] for p in parts])
    )
    assert len(np.unique(attribution.events[:, 0])) == 8
    expected = mne_xai.explain(
        clf,
        mne.concatenate_epochs(parts, verbose=False),
        "saliency",
        target="true",
        verbose=False,
    )
    np.testing.assert_array_equal(attribution.get_data(), expected.get_data())
    recoded = fif[:3].copy()
    recoded.event_id = {"feet": 1, "hands": 3}
    recoded.events[:, 2] = np.where(recoded.events[:, 2] == 2, 1, 3)
    # Events coded differently are refused where read as labels, not before.
    mixed = [fif[:3], recoded]
    np.testing.assert_array_equal(
        clf.predict(mixed), clf.predict(mne.concatenate_epochs([fif[:3], fif[:3]]))
    )
    with pytest.raises(ValueError, match="codes event 'feet' as 1.*labels"):
        clf.score(mixed)
    with pytest.raises(ValueError, match="codes event 'feet' as 1"):
        mne_xai.explain(clf, mixed, "saliency", target="true", verbose=False)
    assert clf.score(mixed, np.r_[fif[:3].events[:, 2], fif[:3].events[:, 2]]) >= 0
    # Parts must share one time axis, one preparation and the same bad channels:
    # only the first part's info was compared with training (a re-referenced
    # second part, or one marking a channel the network reads bad, passed
    # without the warning each gets alone).
    late = fif[:3].copy().shift_time(0.5)
    shorter = fif[:3].copy().crop(0, 0.5)
    filtered = fif[:3].copy().filter(1, 20, verbose=False)
    referenced = fif[:3].copy().set_eeg_reference(verbose=False)
    projected = fif[:3].copy().set_eeg_reference(projection=True, verbose=False)
    projected.apply_proj(verbose=False)
    bad = fif[:3].copy()
    bad.info["bads"] = [clf.ch_names_[0]]
    # Channels in another order were refused with the first five names of each
    # part, the same ones where the order differed further on.
    reordered = fif[:3].copy().reorder_channels(fif.ch_names[::-1])
    for part, match in [
        (reordered, r"\[1\] has the channels .* another order.*reorder_channels"),
        (fif[:3].copy().drop_channels(fif.ch_names[-1]), "without"),
        (late, "common time axis"),
        (shorter, "common time axis"),
        (filtered, "pass band: 1-20 Hz, against"),
        (referenced, "reference: a custom reference"),
        (projected, "reference: a custom reference"),
        (bad, f"marks \\['{clf.ch_names_[0]}'\\] bad but the first Epochs \\[\\]"),
    ]:
        for method in (clf.predict, clone(clf).fit, lambda X: mne_xai.explain(clf, X)):
            with pytest.raises(ValueError, match=match):
                method([fif[:3], part])


def test_parts_of_a_list_are_refused_for_what_differs_and_only_that(fif_coded):
    """Guard the checks of a list's parts: another rate is named as such (not
    as another time axis), a non-Epochs part is named by its position, and
    parts starting within half a sample, or marking the same channels bad in
    another order (but not as many other ones), or given as a tuple, are read
    as one data set."""
    clf, fif = fif_coded
    resampled = fif[3:6].copy().resample(32.0, verbose=False)
    match = r"\[1\] is sampled at 32.0 Hz but the first .*X\[1\]\.resample\(64\)"
    with pytest.raises(ValueError, match=match):
        clf.predict([fif[:3], resampled])
    with pytest.raises(TypeError, match=r"X\[1\] must be an instance of"):
        clf.predict([fif[:3], fif[3:6].get_data()])
    nudged = fif[3:6].copy().shift_time(0.25 / fif.info["sfreq"])
    assert InputData([fif[:3], nudged]).tmin == fif.tmin
    first, second = fif[:3].copy(), fif[3:6].copy()
    first.info["bads"], second.info["bads"] = ["EEG0", "EEG1"], ["EEG1", "EEG0"]
    assert InputData([first, second]).shape == (6, 4, 64)
    second.info["bads"] = ["EEG2", "EEG0"]  # as many bad channels, one other
    with pytest.raises(ValueError, match=r"marks \['EEG0', 'EEG2'\] bad but the first"):
        InputData([first, second])
    np.testing.assert_array_equal(
        clf.predict((fif[:3], fif[3:6])), clf.predict([fif[:3], fif[3:6]])
    )


def test_parts_of_a_list_a_sample_apart_in_time_are_refused(fif_coded):
    """Guard the half-sample tolerance of a list's start times: a part one
    sample late holds each time at the next sample, which the network reads
    as the time before."""
    _, fif = fif_coded
    late = fif[3:6].copy().shift_time(1 / fif.info["sfreq"])
    with pytest.raises(ValueError, match="common time axis"):
        InputData([fif[:3], late])


def test_a_lists_events_keep_their_samples_and_names_code_once(fif_coded):
    """Guard how a list's parts are read as one data set: parts naming one code
    otherwise cannot be read as labels, parts of one recording given in
    another order keep their sample numbers (shifted only where samples
    repeat), metadata that a part lacks is none, and batches spanning a part
    of more epochs than the batch's offset read it from its first epoch."""
    clf, fif = fif_coded
    other = fif[3:6].copy()
    other.event_id = {"left": 2, "right": 3}
    with pytest.raises(ValueError, match=r"give event codes \[2\] different names"):
        clf.score([fif[:3], other])
    parts = [fif[3:6], fif[:3]]
    maps = mne_xai.explain(clf, parts, "saliency", verbose=False)
    np.testing.assert_array_equal(
        maps.events, np.concatenate([part.events for part in parts])
    )
    described = fif[:3].copy()
    described.metadata = pd.DataFrame({"trial": [0, 1, 2]})
    assert mne_xai.explain(clf, [described, fif[3:6]], verbose=False).metadata is None
    clf.set_params(iterator_valid__batch_size=4)
    np.testing.assert_array_equal(
        clf.predict_proba([fif[:2], fif[2:7]]), clf.predict_proba(fif[:7])
    )


def test_a_lists_parts_that_repeat_samples_follow_one_another(synthetic_arrays):
    """Guard the shift of parts that repeat sample numbers: each part starts one
    sample after the last event of the part before it, as shifted, so that
    three copies of one part are read as three runs in a row (shifted from
    the unshifted end, the third would repeat the second's samples). The
    user's Epochs keep their own events."""
    X, y = synthetic_arrays
    part = _named(X[:3], y[:3] + 2, {"feet": 2, "hands": 3})
    given = part.events.copy()
    samples = given[:, 0]  # 0, 100, 200
    run = samples[-1] + 1 - samples[0]
    events = InputData([part, part, part]).events
    np.testing.assert_array_equal(
        events[:, 0], np.concatenate([samples, samples + run, samples + 2 * run])
    )
    np.testing.assert_array_equal(events[:, 1:], np.tile(given[:, 1:], (3, 1)))
    np.testing.assert_array_equal(part.events, given)
    # A part already past the one before it keeps its samples: parts move
    # forward only as far as they must, never back.
    later = part.copy()
    later.events[:, 0] += 10_000
    events = InputData([part, part, later]).events
    np.testing.assert_array_equal(events[6:, 0], samples + 10_000)


# -- incremental training ----------------------------------------------------------
def test_partial_fit_needs_classes_then_trains_one_pass(synthetic_arrays):
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 2)  # MNE event codes 2 and 3
    clf = EEGNetClassifier(lr=5e-3, verbose=False, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(epochs)
    clf.partial_fit(epochs[:20], classes=[3, 2])
    assert list(clf.classes_) == [2, 3] and len(clf.history) == 1
    assert clf.classes is None  # the parameter is left as set
    with pytest.raises(
        ValueError, match=r"classes=\[2, 3, 4\] differ from those of the"
    ):
        clf.partial_fit(epochs, classes=[2, 3, 4])
    for _ in range(30):
        clf.partial_fit(epochs)
    assert len(clf.history) == 31
    assert "lr_scheduler" not in dict(clf.callbacks_)
    assert clf.score(epochs) >= 0.9
    with pytest.raises(ValueError, match=r"labels \[7\] the network was not built"):
        clf.partial_fit(X, np.full(len(X), 7))
    # A sequence of calls reproduces with the same random_state.
    again = EEGNetClassifier(lr=5e-3, verbose=False, random_state=0)
    again.partial_fit(epochs[:20], classes=[2, 3])
    for _ in range(30):
        again.partial_fit(epochs)
    np.testing.assert_allclose(
        again.decision_function(epochs), clf.decision_function(epochs), rtol=1e-5
    )
    # Later calls may name the classes again, in any order.
    again.partial_fit(epochs, classes=[3, 2])
    assert len(again.history) == 32


def test_partial_fit_learns_the_names_of_events_of_later_chunks(synthetic_arrays):
    """Each chunk may name events the earlier ones did not: event_id_, the names
    of the training events, gains them."""
    X, _ = synthetic_arrays
    clf = EEGNetClassifier(**FAST)
    clf.partial_fit(_named(X[:20], np.full(20, 2), {"rest": 2}), classes=[2, 3])
    assert clf.event_id_ == {"rest": 2}
    clf.partial_fit(_named(X[20:], np.full(20, 3), {"move": 3}))
    assert clf.event_id_ == {"rest": 2, "move": 3}


def test_training_goes_on_from_events_of_a_network_trained_on_their_names(
    synthetic_arrays,
):
    """Trained on the events' names, score read the events by name but partial_fit
    and a warm fit read their codes and refused them as classes the network was
    not built for, advising to fit afresh."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 2)
    epochs.event_id = {"rest": 2, "move": 3}
    names = np.array(["rest", "move"])[y]
    clf = EEGNetClassifier(**FAST).fit(epochs, names)
    assert clf.events_are_labels_ and list(clf.classes_) == ["move", "rest"]
    before = clf.decision_function(epochs)
    clf.partial_fit(epochs)
    assert len(clf.history) == FAST["max_epochs"] + 1
    clf.set_params(warm_start=True).fit(epochs)
    assert len(clf.history) == 2 * FAST["max_epochs"] + 1
    assert not np.allclose(clf.decision_function(epochs), before)
    with pytest.raises(ValueError, match="pass y as the events' names"):
        EEGNetClassifier(**FAST).partial_fit(epochs, classes=["move", "rest"])


def test_codes_given_where_classes_name_the_events_are_pointed_to_the_names(
    synthetic_arrays,
):
    """Codes as y, where classes= names the events, are told to be given as
    names also when classes name an event of later chunks ("sleep", as
    partial_fit takes classes for): that hint was left out. Names of events as
    y, beside classes naming events, were told that they are codes."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 2)
    epochs.event_id = {"rest": 2, "move": 3}
    hint = "They are the events' codes"
    with pytest.raises(ValueError, match=f"{hint}.*pass y as the events' names"):
        EEGNetClassifier(**FAST).partial_fit(epochs, classes=["move", "rest", "sleep"])
    # MNE keeps the names of events whose epochs were all dropped.
    epochs.event_id = {"rest": 2, "move": 3, "sleep": 4}
    names = np.array(["rest", "move"])[y]
    with pytest.raises(ValueError, match=r"labels \['rest'\] not in") as error:
        EEGNetClassifier(classes=["move", "sleep"], **FAST).fit(epochs, names)
    assert hint not in str(error.value)


def test_partial_fit_trains_on_the_whole_chunk_without_early_stopping(
    synthetic_arrays,
):
    """early_stopping held out a fifth of every chunk, redrawn at each call, and
    never stopped (one pass per call); chunks too small for its split were refused.
    As scikit-learn's MLPClassifier, partial_fit trains on the whole chunk."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST, early_stopping=True)
    for chunk in (slice(0, 20), slice(20, 26)):
        clf.partial_fit(X[chunk], y[chunk], classes=[0, 1])
        batches = clf.history[-1]["batches"]
        assert sum(batch["train_batch_size"] for batch in batches) == len(y[chunk])
        assert "valid_loss" not in clf.history[-1]
    assert "early_stopping" not in dict(clf.callbacks_)
    # fit still holds out its validation split, after partial_fit as before.
    clf.fit(X, y)
    assert "valid_loss" in clf.history[-1]
    assert "early_stopping" in dict(clf.callbacks_)


@pytest.mark.parametrize("grad_mode", [torch.no_grad, torch.inference_mode])
def test_training_inside_the_callers_grad_mode_trains_as_outside(
    synthetic_arrays, grad_mode
):
    """fit and partial_fit switch autograd on, as inference code often turns it off."""
    X, y = synthetic_arrays
    outside = EEGNetClassifier(**FAST).fit(X, y).decision_function(X)
    with grad_mode():
        clf = EEGNetClassifier(**FAST).fit(X, y)
        inside = clf.decision_function(X)
        clf.partial_fit(X, y)
        cropped = CroppedClassifier(EEGNetClassifier(**FAST), sfreq=128).fit(X, y)
    np.testing.assert_allclose(inside, outside, rtol=1e-5)
    # What was trained inside is an ordinary network: it trains on outside.
    clf.partial_fit(X, y)
    assert len(clf.history) == FAST["max_epochs"] + 2
    assert cropped.score(X, y) > 0.5


# -- output for people and logs ------------------------------------------------------
def test_logs_hold_no_terminal_control_codes(synthetic_arrays, capsys):
    X, y = synthetic_arrays
    EEGNetClassifier(max_epochs=3, batch_size=8, verbose=True).fit(X, y)
    clf = EEGNetClassifier(**FAST).fit(X, y)
    mne_xai.explain(clf, X, "saliency", target=0, batch_size=4, verbose=True)
    out, err = capsys.readouterr()
    assert "train_loss" in out
    assert "\x1b[" not in out and "\x1b[" not in err
    assert "\r" not in err


def test_long_work_logs_how_far_it_is_where_no_bar_is_drawn(synthetic_arrays, capsys):
    """An explain of 800 epochs in 200 batches logged one line in a minute
    where its bar was off (a log file, CI)."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    mne_xai.explain(clf, X[:20], "saliency", target=0, batch_size=2, verbose=True)
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if " of 10 batches (" in line]
    assert len(lines) == 10 and lines[-1].endswith("10 of 10 batches (100%)")
    assert "\r" not in err
    mne_xai.explain(clf, X[:20], "saliency", target=0, batch_size=2, verbose=False)
    assert capsys.readouterr().out == ""


def test_progress_counts_the_last_partial_batch(synthetic_arrays, capsys):
    """Guard the number of batches that progress counts to: 40 epochs read 3 at
    a time are 14 batches, the last of one epoch."""
    X, y = synthetic_arrays
    clf = EEGNetClassifier(**FAST).fit(X, y)
    mne_xai.inspect.layer_activations(
        clf, X, "spatial_conv", batch_size=3, verbose=True
    )
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("activations: 14 of 14 batches (100%)")


def test_a_log_file_holds_no_colour_codes_when_run_on_a_terminal(
    synthetic_arrays, tmp_path, monkeypatch
):
    """The table was coloured whenever Python ran on a terminal, also where
    mne.set_log_file sent it."""
    X, y = synthetic_arrays
    monkeypatch.setattr(sys, "stdout", _Terminal())
    log = tmp_path / "training.log"
    mne.set_log_file(log, overwrite=True)
    try:
        EEGNetClassifier(max_epochs=3, batch_size=8, verbose=True).fit(X, y)
    finally:
        mne.set_log_file(None)
    text = log.read_text()
    assert "train_loss" in text and "\x1b[" not in text


def test_a_log_file_beside_the_terminal_holds_no_colour_codes(
    synthetic_arrays, tmp_path, monkeypatch
):
    """A file handler added to MNE's logger next to its terminal output gets
    the same table: coloured whenever one stream was a terminal, the file held
    the codes."""
    X, y = synthetic_arrays
    monkeypatch.setattr(sys, "stdout", _Terminal())
    log = tmp_path / "training.log"
    handler = logging.FileHandler(log)
    mne.utils.logger.addHandler(handler)
    try:
        EEGNetClassifier(max_epochs=3, batch_size=8, verbose=True).fit(X, y)
    finally:
        mne.utils.logger.removeHandler(handler)
        handler.close()
    text = log.read_text()
    assert "train_loss" in text and "\x1b[" not in text


# -- Epochs read from disk ------------------------------------------------------------
# The lazily read raw is unfiltered and the network was trained on 7-30 Hz;
# what is compared here is streaming against loading the same epochs.
# A channel the network reads is marked bad in the file: MNE leaves bads out of
# get_data(picks="all"), and the epochs read lazily lost C3 (the network then
# failed on 63 channels, and one trained on them read 63 of its 64 names).
@pytest.mark.filterwarnings("ignore:(X|epochs) was prepared otherwise:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:.*marked bad:RuntimeWarning")
def test_epochs_not_preloaded_stream_from_disk(
    mne_data, fitted_eegnet, epochs_reads, monkeypatch
):
    run = mne.datasets.eegbci.load_data(1, [6], path=mne_data, update_path=False)
    raw = mne.io.read_raw_edf(run[0], preload=False, verbose=False)
    mne.datasets.eegbci.standardize(raw)
    raw.info["bads"] = ["C3"]
    events, event_id = mne.events_from_annotations(
        raw, event_id=dict(T1=2, T2=3), verbose=False
    )
    window = dict(tmin=0.5, tmax=2.5, baseline=None, verbose=False)
    peak_to_peak = np.ptp(
        mne.Epochs(raw, events, event_id, preload=True, **window).get_data(), axis=-1
    ).max(axis=1)
    # A rejection threshold that drops some epochs: which epochs exist is known
    # only after reading them.
    reject = dict(eeg=float(np.median(peak_to_peak)))
    lazy = mne.Epochs(raw, events, event_id, reject=reject, preload=False, **window)
    loaded = lazy.copy().load_data()
    assert 0 < len(loaded) < len(events)
    for average in (True, False):
        streamed = mne_xai.explain(fitted_eegnet, lazy, average=average, verbose=False)
        expected = mne_xai.explain(
            fitted_eegnet, loaded, average=average, verbose=False
        )
        np.testing.assert_allclose(streamed.get_data(), expected.get_data(), rtol=1e-6)
    curve = mne_xai.evaluate.deletion_curve(
        fitted_eegnet, lazy, method="saliency", n_steps=2, verbose=False
    )
    reference = mne_xai.evaluate.deletion_curve(
        fitted_eegnet, loaded, method="saliency", n_steps=2, verbose=False
    )
    np.testing.assert_allclose(curve.scores, reference.scores, rtol=1e-6)
    # Fit reads the epochs a chunk at a time: it read them whole in float64
    # and copied them (three times the data's float32 size in memory).
    monkeypatch.setattr(mne_xai._convert, "EPOCHS_PER_CHUNK", 4)
    epochs_reads.clear()
    trained = EEGNetClassifier(**FAST, picks=lazy.ch_names).fit(lazy)
    assert epochs_reads and max(epochs_reads) <= 4 < len(lazy)
    assert trained.n_channels_ == len(trained.ch_names_) == len(lazy.ch_names)
    np.testing.assert_array_equal(
        trained.data_mean_,
        EEGNetClassifier(**FAST, picks=lazy.ch_names).fit(loaded).data_mean_,
    )
    # Prediction reads a batch at a time too: it read the whole recording at once.
    trained.set_params(iterator_valid__batch_size=3)
    epochs_reads.clear()
    np.testing.assert_allclose(
        trained.predict_proba(lazy), trained.predict_proba(loaded), rtol=1e-6
    )
    assert trained.score(lazy) == trained.score(loaded)
    trained.adapt_batch_norm(lazy)
    adapted = trained.module_.state_dict()
    trained.adapt_batch_norm(loaded)
    for name, value in trained.module_.state_dict().items():
        torch.testing.assert_close(value, adapted[name], rtol=1e-5, atol=1e-7)
    assert epochs_reads and max(epochs_reads) <= 3 < len(lazy)


@pytest.mark.parametrize("batch_size", [1, 3, 4, 7, 8])
def test_batches_put_together_are_the_epochs_data(
    synthetic_arrays, tmp_path, batch_size
):
    """Guard the reading that fit, predictions and maps share: batches of any
    size (a last batch of one epoch too) of Epochs preloaded or not, alone or
    as a list, put together are get_data() of the channels asked for, in that
    order, in float32."""
    X, y = synthetic_arrays
    fname = tmp_path / "seven-epo.fif"
    _epochs(X[:7], y[:7] + 1).save(fname, verbose=False)  # in float32
    lazy = mne.read_epochs(fname, preload=False, verbose=False)
    loaded = mne.read_epochs(fname, verbose=False)
    ch_names = ["EEG3", "EEG0", "EEG2"]
    expected = loaded.get_data(picks=ch_names).astype(np.float32)
    for epochs in (lazy, loaded, [lazy[:2], lazy[2:]], [loaded[:5], loaded[5:]]):
        data = InputData(epochs, ch_names=ch_names)
        batches = list(data.batches(batch_size))
        assert len(batches) == data.n_batches(batch_size)
        assert all(batch.dtype == np.float32 for batch in batches)
        np.testing.assert_array_equal(np.concatenate(batches), expected)


class _Terminal:
    def isatty(self):
        return True

    def write(self, text):
        pass

    def flush(self):
        pass


class _NotebookStream(_Terminal):
    """A Jupyter kernel's stderr: not a terminal, but shown live by the notebook."""

    __module__ = "ipykernel.iostream"

    def isatty(self):
        return False


@pytest.mark.parametrize("stream", [_Terminal, _NotebookStream])
def test_progress_bar_is_drawn_on_a_terminal_and_in_a_notebook_only(
    stream, monkeypatch
):
    assert progress_bar(range(3), max_value=3, unit="steps")._tqdm.disable
    monkeypatch.setattr("sys.stderr", stream())
    with mne.utils.use_log_level("info"):
        bar = progress_bar(range(3), max_value=3, unit="steps")
    assert not bar._tqdm.disable
    assert bar._tqdm.unit == "steps"  # its rate counts steps, not tqdm's "it"


@pytest.mark.parametrize(
    "update, steps",
    [
        ("update_with_increment_value", (5, 1, 1, 9, 4)),
        # MNE's update takes the value reached: it logged "27 of 20 steps
        # (135%)" after 5, 6 and 16, reading the switched-off bar's count, 0.
        ("update", (5, 6, 7, 16, 20)),
    ],
)
def test_progress_lines_mark_each_new_tenth_with_the_share_done(capsys, update, steps):
    """Where no bar is drawn, work updated by hand logs a line at each new
    tenth only (7 of 20 is in the tenth of 6), saying how much is done."""
    with mne.utils.use_log_level("info"):
        bar = progress_bar(20, unit="steps")
        for step in steps:
            getattr(bar, update)(step)
    assert capsys.readouterr().out.splitlines() == [
        "Progress: 5 of 20 steps (25%)",
        "Progress: 6 of 20 steps (30%)",
        "Progress: 16 of 20 steps (80%)",
        "Progress: 20 of 20 steps (100%)",
    ]


def test_progress_lines_follow_steps_done_and_skip_short_work(capsys):
    """A step is counted once done, when the next item is asked for (the k-th
    item comes after k lines); work of fewer than ten steps logs no line."""
    logged, before_each = 0, []
    with mne.utils.use_log_level("info"):
        for _ in progress_bar(range(10), unit="steps"):
            logged += len(capsys.readouterr().out.splitlines())
            before_each.append(logged)
        assert before_each == list(range(10))
        assert capsys.readouterr().out.endswith("10 of 10 steps (100%)\n")
        list(progress_bar(range(9), unit="steps"))
    assert capsys.readouterr().out == ""


def test_progress_lines_round_the_share_done_as_a_bar_does(capsys):
    """The share is rounded, as tqdm's bar gives it: 6 of 11 steps (54.5%)
    are 55%, 7 of 11 (63.6%) 64%."""
    with mne.utils.use_log_level("info"):
        list(progress_bar(range(11), unit="steps"))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("(")[1] for line in lines] == [
        "18%)", "27%)", "36%)", "45%)", "55%)", "64%)", "73%)", "82%)", "91%)", "100%)",
    ]  # fmt: skip


def test_mne_tqdm_set_by_the_user_chooses_the_bars(monkeypatch):
    """MNE_TQDM, where set, is the user's choice of bars, on a terminal or not;
    unset on a terminal, MNE's own bars are left to MNE."""
    monkeypatch.delenv("MNE_TQDM", raising=False)
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert bars_drawn()
    with mne_bars_as_ours():
        assert "MNE_TQDM" not in os.environ
    monkeypatch.setenv("MNE_TQDM", "off")
    assert not bars_drawn()
    monkeypatch.setattr("sys.stderr", io.StringIO())
    monkeypatch.setenv("MNE_TQDM", "tqdm")
    with mne.utils.use_log_level("info"):
        assert not progress_bar(range(3), max_value=3, unit="steps")._tqdm.disable


# -- channel types sharing a unit, and a foreign network's Epochs --------------------
def _eeg_beside(ch_type, amplitude, n_epochs=80, seed=0):
    """4 EEG channels of std 1e-5 beside 2 channels of another type in volts.

    The first two EEG channels are three times louder in class 2; the other type
    (EOG, ECG, fNIRS CW amplitude, all stored in V by MNE) has std ``amplitude``.
    """
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 2], n_epochs // 2)
    X = rng.standard_normal((n_epochs, 6, 64))
    X[y == 2, :2] *= 3
    X[:, :4] *= 1e-5
    X[:, 4:] *= amplitude
    names = [f"EEG{i}" for i in range(4)] + ["S1_D1 760", "S1_D1 850"]
    info = mne.create_info(names, 64.0, ["eeg"] * 4 + [ch_type] * 2)
    events = np.column_stack([np.arange(n_epochs) * 100, np.zeros(n_epochs, int), y])
    return mne.EpochsArray(X, info, events=events, verbose=False)


@pytest.mark.parametrize(
    "ch_type, amplitude",
    [("eog", 3e-4), ("ecg", 1e-3), ("emg", 3e-3), ("fnirs_cw_amplitude", 1.0)],
)
def test_types_sharing_a_unit_get_a_factor_each(ch_type, amplitude):
    epochs = _eeg_beside(ch_type, amplitude)
    # Millivolts of ECG or EMG are volts, and an EOG louder than the EEG is no
    # loose electrode: each type is compared with itself.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*(microvolts|loose or broken)")
        clf = EEGNetClassifier(picks="all", **dict(FAST, max_epochs=0)).fit(epochs)
    X = epochs.get_data()
    # One factor for the volts of both types left the EEG 1/30 to 1e-5 of the rest.
    assert np.ndim(clf.input_scale_) == 1
    for channels in (slice(0, 4), slice(4, 6)):
        assert np.ptp(clf.input_scale_[channels]) == 0
        assert np.std(X[:, channels]) * clf.input_scale_[channels][0] == (
            pytest.approx(1, rel=1e-5)
        )


def test_eeg_beside_an_ecg_of_one_millivolt_is_learned():
    # One factor for EEG and ECG (both in V) left the network near chance (0.6).
    epochs = _eeg_beside("ecg", 1e-3)
    train, test = np.arange(80) % 4 != 0, np.arange(80) % 4 == 0
    clf = InterpretableCNNClassifier(
        picks="all", max_epochs=10, verbose=False, random_state=0
    )
    assert clf.fit(epochs[train]).score(epochs[test]) >= 0.8


def test_data_of_one_type_in_another_unit_warn_naming_it():
    """EEG in µV beside more MEG channels in T: the median of all channels missed it,
    and every epoch was predicted as one class without a word."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 9, 64)) * np.repeat([1e-13, 1e-11, 1e-5], 3)[:, None]
    types = ["mag"] * 3 + ["grad"] * 3 + ["eeg"] * 3
    info = mne.create_info([f"CH{i}" for i in range(9)], 64.0, types)
    y = np.arange(20) % 2 + 1
    events = np.column_stack([np.arange(20) * 100, np.zeros(20, int), y])
    epochs = mne.EpochsArray(X, info, events=events, verbose=False)
    with warnings.catch_warnings():
        # Each type is compared with its own channels: the EEG, a million times
        # the gradiometers, is no loose electrode.
        warnings.filterwarnings("error", ".*loose or broken")
        clf = EEGNetClassifier(**dict(FAST, max_epochs=0)).fit(epochs)
    microvolts = epochs.copy()
    microvolts._data[:, 6:] *= 1e6
    # About 1e6 times: each batch is compared with training, not all the data.
    match = r"deviation of \S+ in its eeg channels, (9\.9\de\+05|1e\+06) times.*units"
    with pytest.warns(RuntimeWarning, match=match):
        clf.predict(microvolts)
    with pytest.warns(RuntimeWarning, match=match):
        mne_xai.explain(clf, microvolts, "saliency", target=2, verbose=False)
    # As the inspections read the data, through the network's info.
    with pytest.warns(RuntimeWarning, match=match):
        mne_xai.inspect.layer_activations(clf, microvolts, "spatial_elu")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(epochs)


def test_a_constant_type_read_by_the_network_is_no_other_unit():
    """A type constant in training (a flat misc channel picked, scaled by the
    user's number) has no scale to compare with: the same epochs warned of
    "different units"."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((8, 4, 64))
    data[:, 3] = 0.0
    epochs = _epochs(data, np.arange(8) % 2 + 1, ch_types=["eeg"] * 3 + ["misc"])
    clf = EEGNetClassifier(
        picks=["eeg", "misc"], scaling=1e5, **{**FAST, "max_epochs": 0}
    ).fit(epochs)
    assert clf.data_std_[3] == 0
    assert clf.ch_names_ == epochs.ch_names
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(epochs)


def test_a_skorch_network_checks_epochs_against_its_info():
    """Epochs at another rate were explained by a plain skorch network silently."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3, 128)) * 1e-5
    y = np.arange(16) % 2
    info = mne.create_info(["C3", "Cz", "C4"], 64.0, "eeg")
    epochs = mne.EpochsArray(X, info, verbose=False)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 128, 2))
    net = NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=1,
        train_split=None,
        verbose=0,
    ).fit(X.astype(np.float32), y)
    network = mne_xai.as_network(net, info=info)
    faster = mne.EpochsArray(X, mne.create_info(info.ch_names, 128.0, "eeg"), verbose=0)
    with pytest.raises(ValueError, match="at 128.0 Hz but .* 64.0 Hz; resample"):
        mne_xai.explain(network, faster, "saliency", target=1)
    filtered = epochs.copy().filter(None, 20.0, verbose=False)
    with pytest.warns(RuntimeWarning, match="prepared otherwise.*pass band"):
        mne_xai.explain(network, filtered, "saliency", target=1, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        mne_xai.explain(network, epochs, "saliency", target=1, verbose=False)


def test_parameters_saved_with_one_scale_for_eeg_and_eog_still_load(tmp_path):
    """Before each type got its factor, EEG and EOG (both in V) shared one, saved
    as single numbers; a network restored from them reads its input as trained."""
    epochs = _eeg_beside("eog", 3e-4)
    clf = EEGNetClassifier(picks="all", **FAST).fit(epochs)
    clf.save_params(f_params=tmp_path / "params.pt")
    older = torch.load(tmp_path / "params.pt", weights_only=True)
    older["input_scale"] = torch.tensor(1 / np.std(epochs.get_data()))
    older["training_std"] = torch.tensor(np.std(epochs.get_data()), dtype=torch.float64)
    torch.save(older, tmp_path / "older.pt")
    restored = EEGNetClassifier(picks="all", **FAST).initialize(epochs)
    restored.load_params(f_params=tmp_path / "older.pt")
    assert restored.input_scale_ == pytest.approx(float(older["input_scale"]))
    assert restored.data_std_ == float(older["training_std"])
    clf.module_.input_scale.fill_(float(older["input_scale"]))
    np.testing.assert_array_equal(
        restored.predict_proba(epochs), clf.predict_proba(epochs)
    )


def test_a_restored_network_refuses_other_classes(synthetic_arrays, tmp_path):
    """Trained on event names and initialized with the Epochs' codes, which sort
    in another order, every prediction was read as another class silently; data
    lacking a class failed with torch's "size mismatch"."""
    X, _ = synthetic_arrays
    y = np.arange(len(X)) % 3
    epochs = _epochs(X, np.array([4, 3, 2])[y])
    names = np.array(["feet", "hands", "rest"])[y]
    clf = EEGNetClassifier(**FAST).fit(epochs, names)
    clf.save_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(**FAST).initialize(epochs)  # the codes, [2, 3, 4]
    with pytest.raises(ValueError, match=r"other classes than the labels .*\[2, 3, 4"):
        restored.load_params(f_params=tmp_path / "params.pt")
    two = names != "feet"
    lacking = EEGNetClassifier(**FAST).initialize(epochs[two], names[two])
    with pytest.raises(ValueError, match=r"another shape .* classes \['hands', 'rest"):
        lacking.load_params(f_params=tmp_path / "params.pt")
    named = EEGNetClassifier(classes=["rest", "hands", "feet"], **FAST)
    named.initialize(epochs[two], names[two]).load_params(
        f_params=tmp_path / "params.pt"
    )
    np.testing.assert_array_equal(named.predict(epochs), clf.predict(epochs))
    # Parameters saved before the digest of classes existed load, with a warning.
    older = torch.load(tmp_path / "params.pt", weights_only=True)
    del older["training_classes"]
    torch.save(older, tmp_path / "older.pt")
    restored = EEGNetClassifier(**FAST).initialize(epochs, names)
    with pytest.warns(RuntimeWarning, match="digest of their classes"):
        restored.load_params(f_params=tmp_path / "older.pt")


@pytest.mark.filterwarnings("ignore:After training")
def test_a_restored_network_takes_the_training_events_in_any_order(
    synthetic_arrays, tmp_path
):
    """Only which event names which class is checked, not the order of event_id."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1)
    epochs.event_id = {"left": 1, "right": 2}
    clf = EEGNetClassifier(**FAST).fit(epochs)
    clf.save_params(f_params=tmp_path / "params.pt")
    reordered = epochs.copy()
    reordered.event_id = {"right": 2, "left": 1}
    restored = EEGNetClassifier(**FAST).initialize(reordered)
    restored.load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(
        restored.predict_proba(epochs), clf.predict_proba(epochs)
    )


@pytest.mark.filterwarnings("ignore:After training")
def test_a_restored_network_ignores_events_that_name_no_class(
    synthetic_arrays, tmp_path
):
    """Epochs read with an event of no epoch (on_missing="ignore") name the
    same classes as Epochs without it: only the events naming classes count."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1)
    epochs.event_id = {"left": 1, "right": 2}
    with_rest = mne.EpochsArray(
        epochs.get_data(),
        epochs.info,
        epochs.events,
        event_id={**epochs.event_id, "rest": 3},
        on_missing="ignore",
        verbose=False,
    )
    clf = EEGNetClassifier(**FAST).fit(with_rest)
    restored = _restored(clf, tmp_path, epochs)
    np.testing.assert_array_equal(
        restored.predict_proba(epochs), clf.predict_proba(epochs)
    )


def test_a_restored_network_refuses_labels_sorting_in_another_order(
    synthetic_arrays, tmp_path
):
    """Codes 2 and 10 sort as numbers, their strings "10" before "2": restored
    with the strings, each output would be read as the other class."""
    X, _ = synthetic_arrays
    codes = np.where(np.arange(len(X)) % 2, 10, 2)
    clf = EEGNetClassifier(**FAST).fit(X, codes)
    clf.save_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(**FAST).initialize(X, codes.astype(str))
    with pytest.raises(ValueError, match=r"other classes than the labels"):
        restored.load_params(f_params=tmp_path / "params.pt")


def test_a_restored_network_refuses_epochs_naming_fewer_classes(
    spatial_epochs, tmp_path
):
    """Initialized with Epochs of one event and classes=[1, 2], as the error
    of another shape advises, the network took their event_id: target="true"
    and score then refused the other class's event as never trained on."""
    clf = EEGNetClassifier(**FAST).fit(spatial_epochs)
    clf.save_params(f_params=tmp_path / "params.pt")
    left = spatial_epochs["left"]
    one_event = mne.EpochsArray(
        left.get_data(), left.info, left.events, event_id={"left": 1}, verbose=False
    )
    lacking = EEGNetClassifier(classes=[1, 2], **FAST).initialize(one_event)
    with pytest.raises(ValueError, match="named its classes by other events"):
        lacking.load_params(f_params=tmp_path / "params.pt")
    restored = EEGNetClassifier(**FAST).initialize(spatial_epochs[:10])
    restored.load_params(f_params=tmp_path / "params.pt")
    # Labels that are not the events: no event names a class, nothing to check.
    labels = np.arange(len(spatial_epochs)) % 2 + 1
    other = EEGNetClassifier(**FAST).fit(spatial_epochs, labels)
    other.save_params(f_params=tmp_path / "other.pt")
    of_left = labels[spatial_epochs.events[:, 2] == 1]
    EEGNetClassifier(**FAST).initialize(one_event, of_left).load_params(
        f_params=tmp_path / "other.pt"
    )
    np.testing.assert_array_equal(
        mne_xai.explain(restored, spatial_epochs, "saliency", target="true").get_data(),
        mne_xai.explain(clf, spatial_epochs, "saliency", target="true").get_data(),
    )


@pytest.mark.filterwarnings("ignore:After training")
def test_a_restored_network_refuses_event_names_coded_otherwise(
    synthetic_arrays, tmp_path
):
    """Trained on the events' names as labels, a network restored with Epochs
    whose codes name the classes the other way round read each epoch's event
    as the other class (target="true", score): the names, not only the codes,
    say which events name its classes."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1)
    epochs.event_id = {"left": 1, "right": 2}
    clf = EEGNetClassifier(**FAST).fit(epochs, np.array(["left", "right"])[y])
    clf.save_params(f_params=tmp_path / "params.pt")
    swapped = epochs.copy()
    swapped.event_id = {"left": 2, "right": 1}
    restored = EEGNetClassifier(**FAST).initialize(
        swapped, np.array(["right", "left"])[y]
    )
    with pytest.raises(ValueError, match="named its classes by other events"):
        restored.load_params(f_params=tmp_path / "params.pt")


def test_fitting_arrays_without_info_says_the_rate_is_assumed(synthetic_arrays):
    """Arrays through a Pipeline (after mne.decoding.Scaler) built a network for
    128 Hz whatever their rate, silently (0.65 accuracy on 500 Hz data against
    0.975 on the same Epochs); the inspect functions warned, fit did not."""
    X, y = synthetic_arrays
    with pytest.warns(RuntimeWarning, match="network is built for 128 Hz"):
        EEGNetClassifier(**FAST).fit(X, y)
    info = mne.create_info(X.shape[1], 500.0, "eeg")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*network is built for")
        fitted = EEGNetClassifier(info=info, **FAST).fit(X, y)
    # Kernels of half a second at the given rate.
    assert fitted.module_.temporal_conv.kernel_size[-1] in (250, 251)
    # A network taking no rate is built alike at any rate: nothing to say.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*network is built for")
        EEGNetClassifier(_NumberScaledNetwork, **FAST).fit(X, y)


def test_a_constant_channel_raises_no_overflow():
    """A channel constant within every epoch (a stimulus channel at its level)
    gave NumPy's "overflow encountered in divide" from the offset check."""
    rng = np.random.default_rng(0)
    array = rng.standard_normal((10, 3, 64))
    array[:, 2] = np.arange(10)[:, None]  # one value per epoch
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        check_offsets(array[:, :2])
        with np.errstate(over="raise"):
            check_offsets(array)


def test_one_drifting_channel_is_no_drift_of_the_data():
    """The median over channels decides: one channel's drift barely changes
    the scale of the others (a mean over channels warned of it)."""
    rng = np.random.default_rng(0)
    array = rng.standard_normal((20, 8, 64))
    array[:, :1] += rng.normal(0, 1000, (20, 1, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert not check_offsets(array)
    array[:, 1:5] += rng.normal(0, 1000, (20, 4, 1))
    with pytest.warns(RuntimeWarning, match=r"in 5 of 8 channels:"):
        assert check_offsets(array)


def _drifting(ratios, seed=0):
    """Epochs of white noise whose offsets drift ``ratios`` times its variance.

    One ratio per channel: the variance of the epochs' means across 40 epochs,
    over the variance within epochs (1).
    """
    rng = np.random.default_rng(seed)
    array = rng.standard_normal((40, len(ratios), 64))
    offsets = rng.standard_normal((40, len(ratios), 1))
    offsets = (offsets - offsets.mean(axis=0)) / offsets.std(axis=0)
    return array + np.sqrt(ratios)[:, np.newaxis] * offsets


@pytest.mark.parametrize("ratio, warns", [(3.0, False), (30.0, True)])
def test_offsets_drifting_over_ten_times_the_signal_warn(ratio, warns):
    """The warning starts at 10 times the variance within epochs (real epochs
    stay below 2): a threshold of 100 left a drift of 30 times unsaid."""
    array = _drifting([ratio] * 8)
    if warns:
        match = r"drift from epoch to epoch with over 10 times .* in 8 of 8 channels"
        with pytest.warns(RuntimeWarning, match=match):
            assert check_offsets(array)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            assert not check_offsets(array)


def _offset_by(drift, steady, seed=0):
    """Epochs whose offsets have, exactly, variance ``drift`` across epochs and
    mean ``steady`` (a number, or one per channel of 8, as a column), in units
    of the signal within epochs (variance 1)."""
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal((40, 8, 64))
    signal -= signal.mean(axis=2, keepdims=True)
    signal /= np.sqrt(signal.var(axis=2).mean(axis=0))[:, np.newaxis]
    offsets = rng.standard_normal((40, 8, 1))
    offsets = (offsets - offsets.mean(axis=0)) / offsets.std(axis=0)
    return signal + np.sqrt(drift) * offsets + steady


@pytest.mark.parametrize(
    "drift, steady, match",
    [
        (9.9, 0.0, None),
        (10.1, 0.0, "drift from epoch to epoch"),
        # A drift of up to 10 times is no part of the steady offset.
        (9.9, 99.97, None),
        (0.0, 100.1, r"steady offset \(DC\)"),
    ],
)
def test_offsets_warn_from_the_ratios_said(drift, steady, match):
    """The variance of the offsets across epochs over that within epochs warns
    above 10, the steady offset above 100 times the standard deviation within
    epochs, both as the warnings say: just below, nothing is said."""
    array = _offset_by(drift, steady)
    if match is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            assert not check_offsets(array)
    else:
        with pytest.warns(RuntimeWarning, match=match):
            assert check_offsets(array)


def test_the_drifting_channels_are_those_named_and_counted():
    """The warning names the channels that drift over 10 times, not the first
    channels, and counts no channel that drifts less (here 3 times)."""
    array = _drifting([0.0, 0.0, 3.0, 1e3, 1e3, 1e3, 1e3, 1e3])
    ch_names = [f"EEG{i}" for i in range(8)]
    match = r"in 5 of 8 channels \(EEG3, EEG4, EEG5, EEG6, EEG7\):"
    with pytest.warns(RuntimeWarning, match=match):
        assert check_offsets(array, ch_names)


def test_the_channels_of_a_steady_offset_are_named_and_counted():
    """As for drifting offsets, the warning of a steady offset names the
    channels that carry it (it counted them only, leaving the user to find
    them), and counts no channel below 100 times."""
    steady = np.array([0.0, 0.0, 50.0, 200.0, 200.0, 200.0, 200.0, 200.0])
    ch_names = [f"EEG{i}" for i in range(8)]
    match = r"in 5 of 8 channels \(EEG3, EEG4, EEG5, EEG6, EEG7\):"
    with pytest.warns(RuntimeWarning, match=match):
        assert check_offsets(_offset_by(0.0, steady[:, np.newaxis]), ch_names)


def test_a_variance_rounded_below_zero_raises_no_numpy_warning():
    """A channel flat within epochs at a level (a lead off, at its offset) has a
    variance within epochs that rounds to just below zero (float32 epochs of
    100 samples at 0.1 mV): its square root gave NumPy's "invalid value
    encountered in sqrt" at fit. Such a channel is flat: where most channels
    are, the one with a signal is no loud channel among them."""
    info = mne.create_info(["C3", "Cz", "C4"], 64.0, "eeg")
    epoch_means = np.zeros((7, 3))
    epoch_means[:, 1:] = 1e-4
    flat = np.mean(np.square(epoch_means[:, 2]))
    mean_square = np.array([1e-10, np.nextafter(flat, 0.0), np.nextafter(flat, 0.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        check_channel_amplitudes((epoch_means, mean_square), info)


def test_offsets_of_a_dc_coupled_amplifier_are_no_other_unit():
    """EEG of 10 µV on offsets of tens of millivolts (a DC-coupled amplifier),
    in volts: the amplitude that doubts the unit is that within epochs, so the
    offsets, which check_offsets warns of, are not read as microvolts."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4"], 64.0, "eeg")
    offsets = rng.normal(0.0, 0.05, (8, 3, 1))
    data = rng.standard_normal((8, 3, 64)) * 1e-5 + offsets
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        check_channel_amplitudes(channel_moments(data), info)


@pytest.mark.parametrize(
    "offsets",
    [[1e-3, -1e-3, 5e-4, -5e-4], [1e-3] * 4],
    ids=["apart", "common"],
)
def test_channels_at_steady_offsets_are_no_other_unit(offsets):
    """Channels at steady offsets far above the signal (a DC-coupled
    amplifier), each its own or all the same: the training scale is the spread
    of the type's samples about their common mean, so the same data read
    against it are in the same unit."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    data = rng.standard_normal((8, 4, 64)) * 1e-6 + np.array(offsets)[:, None]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        check_amplitudes(data, std_per_type(data, info), info)
    assert not [w for w in record if "units" in str(w.message)]


def _two_projectors(ch_names, rng):
    return [
        mne.Projection(
            data=dict(
                nrow=1,
                ncol=len(ch_names),
                row_names=None,
                col_names=list(ch_names),
                data=rng.standard_normal((1, len(ch_names))),
            ),
            desc=desc,
            kind=1,
            active=False,
            explained_var=None,
        )
        for desc in ("artefact A", "artefact B")
    ]


def test_projectors_applied_in_either_order_are_one_preparation():
    """Projectors are applied together, as one projection: the same ones
    added in another order give the same data, no other preparation."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((8, 6, 64)), np.arange(8) % 2 + 1)
    first, second = _two_projectors(epochs.ch_names, rng)
    trained = epochs.copy().add_proj([first, second]).apply_proj(verbose=False)
    given = epochs.copy().add_proj([second, first]).apply_proj(verbose=False)
    assert [p["desc"] for p in given.info["projs"]] == ["artefact B", "artefact A"]
    np.testing.assert_allclose(given.get_data(), trained.get_data(), atol=1e-20)
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(trained)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(given)


@pytest.mark.parametrize("told_by", ["kind", "description"])
def test_an_average_reference_projector_is_told_by_its_kind_or_description(told_by):
    """MNE tells an average-reference projector by its kind or by its
    description (files of other software keep one of them): either, applied,
    is the average reference set_eeg_reference("average") sets."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((8, 6, 64)), np.arange(8) % 2 + 1)
    by_projector = epochs.copy().set_eeg_reference(projection=True, verbose=False)
    (proj,) = by_projector.info["projs"]
    if told_by == "kind":
        proj["desc"] = "EEG reference"
    else:
        proj["kind"] = 1  # FIFFV_PROJ_ITEM_FIELD
    by_projector.apply_proj(verbose=False)
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(
        epochs.copy().set_eeg_reference("average", verbose=False)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        clf.predict(by_projector)


def test_a_reference_channel_is_read_beside_a_channel_far_louder():
    """The reference's zeros are measured against the typical channel: one
    channel far louder than the rest (an electrode off the scalp) made every
    other channel look flat beside it, and hid the reference."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz", "Oz"], 64.0, "eeg")
    data = rng.standard_normal((6, 5, 64)) * 1e-5
    data -= data[:, 1:2]  # referenced to Cz
    data[:, 4] *= 1e5
    assert eeg_reference(data, info) == "Cz"


def test_a_quiet_channel_is_no_reference():
    """A reference channel holds zeros, to rounding: a channel a thousand times
    quieter than the others (a poorly connected lead) still holds a signal."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    data = rng.standard_normal((6, 4, 64)) * 1e-5
    data[:, 1] *= 1e-3
    assert eeg_reference(data, info) is None
    data[:, 1] *= 1e-5  # within float32 rounding of the others' zeros
    assert eeg_reference(data, info) == "Cz"


def test_the_unit_warning_gives_the_scale_of_each_group_and_its_ratio():
    """The numbers said are the data's standard deviation and its ratio to
    the training one, of the channels scaled together in training: all of
    them for one group, and, for groups without channel types (arrays), the
    count of channels of the group that differs."""
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((8, 5, 64))
    batch[:, 3:] *= 5e-6
    std = batch[:, 3:].std()
    with pytest.warns(RuntimeWarning) as record:
        check_amplitudes(batch, np.array([1.0, 1.0, 1.0, 5.0, 5.0]))
    assert (
        f"X has a standard deviation of {std:.3g} in 2 of its channels, "
        f"{std / 5:.3g} times that of the training data (5)"
    ) in str(record[0].message)
    info = mne.create_info(["C3", "Cz", "C4"], 64.0, "eeg")
    volts = batch[:, :3] * 1e-6
    with pytest.warns(RuntimeWarning) as record:
        check_amplitudes(volts, np.ones(3), info)
    assert (
        f"X has a standard deviation of {volts.std():.3g}, "
        f"{volts.std():.3g} times that of the training data (1)"
    ) in str(record[0].message)


def test_a_part_of_a_list_with_a_channel_more_is_refused_naming_it():
    """A later part holding every channel of the first and one more has other
    channels, not the first's in another order: reordering cannot fix it."""
    rng = np.random.default_rng(0)
    epochs = _epochs(rng.standard_normal((6, 4, 64)), np.arange(6) % 2 + 1)
    first = epochs[:3].pick(epochs.ch_names[:3])
    match = r"\[1\] has other channels than the first Epochs \(with \['EEG3'\]\)"
    with pytest.raises(ValueError, match=match):
        InputData([first, epochs[3:]])


def test_epochs_at_another_rate_are_refused_naming_the_rates(synthetic_arrays):
    """Epochs resampled otherwise also hold another number of samples: the
    refusal names the rates, which say what to do, not the counts alone."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1)
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs)
    resampled = epochs.copy().resample(32.0, verbose=False)
    match = "X is sampled at 32.0 Hz but the estimator was fitted at 64.0 Hz"
    with pytest.raises(ValueError, match=match):
        clf.predict(resampled)


def test_a_network_fitted_on_arrays_reads_epochs_as_their_arrays(synthetic_arrays):
    """Fitted without channel names, Epochs of as many channels are read by
    position, as their data: there is no training info to compare theirs with."""
    X, y = synthetic_arrays
    epochs = _epochs(X, y + 1)
    clf = EEGNetClassifier(**{**FAST, "max_epochs": 0}).fit(epochs.get_data(), y + 1)
    np.testing.assert_array_equal(
        clf.predict_proba(epochs), clf.predict_proba(epochs.get_data())
    )
    # Their maps keep the epochs' times: the epochs say when they start.
    late = epochs[:2].shift_time(0.5)
    maps = mne_xai.explain(clf, late, "saliency", verbose=False)
    np.testing.assert_allclose(maps.times, late.times)
