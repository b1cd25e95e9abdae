"""Real-data checks of the driver-drowsiness loader and of InterpretableCNN on it."""

import numpy as np
import pytest
import torch

from mne_xai import InterpretableCNNClassifier
from mne_xai.datasets import load_drowsiness

# Three large training subjects and a held-out one on which a short run reached
# 0.745 to 0.782 accuracy over random_state 0 to 4, well clear of the threshold.
TRAIN_SUBJECTS = [5, 8, 9]
TEST_SUBJECT = 1


@pytest.fixture(scope="module")
def drowsiness_epochs(drowsiness_path):
    return load_drowsiness(
        drowsiness_path, subjects=[*TRAIN_SUBJECTS, TEST_SUBJECT], verbose=False
    )


def test_load_drowsiness(drowsiness_path):
    epochs = load_drowsiness(drowsiness_path, verbose=False)
    assert epochs.ch_names == ["Oz"]
    assert epochs.info["sfreq"] == 128.0
    assert epochs.get_data().shape == (2022, 1, 384)
    # Volts: scalp EEG is tens of microvolts, so the standard deviation must be
    # of order 1e-5 V (it would be of order 10 in microvolts).
    assert 1e-6 < epochs.get_data().std() < 1e-4
    assert epochs.event_id == {"alert": 1, "drowsy": 2}
    subjects = epochs.metadata["subject"].to_numpy()
    np.testing.assert_array_equal(np.unique(subjects), np.arange(1, 12))
    for subject in range(1, 12):
        codes = epochs.events[subjects == subject, 2]
        assert (codes == 1).sum() == (codes == 2).sum(), f"subject {subject}"
    some = load_drowsiness(drowsiness_path, subjects=[2, 7], verbose=False)
    assert set(some.metadata["subject"]) == {2, 7}
    for subjects in ([12], []):  # no subject failed later, on no events
        with pytest.raises(ValueError, match="subjects must be among 1 to 11"):
            load_drowsiness(drowsiness_path, subjects=subjects, verbose=False)
    with pytest.raises(TypeError, match="path must be"):  # subjects as first
        load_drowsiness([1], verbose=False)


def test_the_recorded_pass_band_is_the_data_s(drowsiness_epochs):
    """Recorded as 0 to 64 Hz, the data low-passed at 50 Hz were taken for
    unfiltered by the check that new epochs are prepared as in training."""
    assert drowsiness_epochs.info["lowpass"] == 50.0
    spectrum = drowsiness_epochs.compute_psd(
        "welch", n_fft=384, window="hann", verbose=False
    )
    power = np.median(spectrum.get_data(), axis=(0, 1))
    freqs = spectrum.freqs
    above = power[freqs > 52].mean() / power[(freqs > 8) & (freqs < 13)].mean()
    assert above < 1e-6


@pytest.mark.slow
def test_interpretable_cnn_beats_chance_on_held_out_subject(drowsiness_epochs):
    subjects = drowsiness_epochs.metadata["subject"].to_numpy()
    train = drowsiness_epochs[subjects != TEST_SUBJECT]
    test = drowsiness_epochs[subjects == TEST_SUBJECT]
    # A high rate annealed by the default cosine schedule converges in 8 passes,
    # which keeps the test short.
    clf = InterpretableCNNClassifier(
        optimizer=torch.optim.Adam,
        lr=1e-2,
        max_epochs=8,
        batch_size=50,
        random_state=0,
        verbose=False,
    ).fit(train)
    # The held-out subject is balanced, so chance is 0.5; 0.68 is five binomial
    # standard deviations above it for its 188 epochs.
    assert clf.score(test) > 0.68
