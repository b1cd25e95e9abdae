"""
.. _ex-modality-importance:

==========================================================
Modality importance: is the network reading eye movements?
==========================================================

A network fed EEG and EOG may decide on the eyes rather than the brain: in a
task with lateralized cues, for instance, subjects tend to glance towards the
cued side, and a horizontal eye movement is far easier to read than a
lateralized ERP. :func:`mne_xai.attribution.modality_importance` sums the
relevance of each channel type, as Ellis et al. (EMBC 2021) did for sleep
staging on EEG, EOG and EMG, and tells how much each modality drives the
decisions.

We simulate 32 EEG channels carrying an ERP from the left or the right
hemisphere (:func:`mne_xai.simulation.simulate_epochs`), add two EOG channels
and train EEGNet on both, twice: once with eye movements unrelated to the
class, once with a glance towards the cued side in most epochs.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
from sklearn.model_selection import train_test_split

import mne_xai
from mne_xai.attribution import modality_importance
from mne_xai.simulation import simulate_epochs

eeg, _ = simulate_epochs(
    "spatial", n_epochs=240, snr=0.3, random_state=0, verbose=False
)
print(eeg.event_id)


def add_eog(epochs, glance_fraction, seed):
    """Append HEOG and VEOG: slow drifts and blinks, and glances to the cued side.

    In ``glance_fraction`` of the epochs the eyes move horizontally towards the
    side of the epoch's class (a 40 µV step in HEOG at a random time).
    """
    rng = np.random.default_rng(seed)
    n_epochs, n_times = len(epochs), len(epochs.times)
    drift = np.cumsum(rng.standard_normal((n_epochs, 2, n_times)), axis=-1)
    eog = 10e-6 * drift / drift.std()
    # Blinks in VEOG, whatever the class.
    blink_shape = np.hanning(int(0.3 * epochs.info["sfreq"]))
    for epoch in np.flatnonzero(rng.random(n_epochs) < 0.5):
        start = rng.integers(0, n_times - len(blink_shape))
        eog[epoch, 1, start : start + len(blink_shape)] += 100e-6 * blink_shape
    # Glances: leftward for the first class, rightward for the second.
    side = np.where(epochs.events[:, 2] == min(epochs.event_id.values()), -1.0, 1.0)
    for epoch in np.flatnonzero(rng.random(n_epochs) < glance_fraction):
        onset = rng.integers(n_times // 4, 3 * n_times // 4)
        eog[epoch, 0, onset:] += side[epoch] * 40e-6
    info = mne.create_info(["HEOG", "VEOG"], epochs.info["sfreq"], "eog")
    eog_epochs = mne.EpochsArray(
        eog, info, events=epochs.events, tmin=epochs.tmin, verbose=False
    )
    return epochs.copy().add_channels([eog_epochs], force_update_info=True)


recordings = {
    "EOG unrelated to the class": add_eog(eeg, glance_fraction=0.0, seed=1),
    "glances to the cued side": add_eog(eeg, glance_fraction=0.7, seed=1),
}
train, test = train_test_split(
    np.arange(len(eeg)), test_size=0.3, stratify=eeg.events[:, 2], random_state=0
)

# %%
# Train on EEG and EOG, explain with DeepLIFT
# -------------------------------------------
# ``picks=["eeg", "eog"]`` feeds both modalities to the network (the default
# picks leave EOG out). Each held-out epoch is explained for its own class.


def fit(epochs, picks):
    clf = mne_xai.EEGNetClassifier(
        picks=picks,
        max_epochs=30,
        batch_size=16,
        lr=3e-3,
        random_state=0,
        verbose=False,
    )
    return clf.fit(epochs[train])


eeg_only = fit(recordings["glances to the cued side"], picks="eeg")
importance = {}
for name, epochs in recordings.items():
    clf = fit(epochs, picks=["eeg", "eog"])
    attribution = mne_xai.explain(
        clf, epochs[test], "deeplift", target="true", verbose=False
    )
    table = modality_importance(attribution, kind="global")
    table["relevance per channel"] = table["relevance"] / table["n_channels"]
    importance[name] = table.set_index(["class", "channel_type"])
    print(f"{name}: held-out accuracy {clf.score(epochs[test]):.2f}")
    print(table[["class", "channel_type", "n_channels", "share"]].round(2))
print(f"EEG alone: held-out accuracy {eeg_only.score(eeg[test]):.2f}")

# %%
# Which modality carries the relevance
# ------------------------------------
# The share of each modality in the relevance (its magnitude summed over
# channels and times), per class, and the relevance per channel of EOG over
# that of EEG: 32 EEG channels gather more relevance than 2 EOG channels by
# their number alone.
classes = list(eeg.event_id)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
width = 0.35
for offset, (name, table) in zip(
    (-width / 2, width / 2), importance.items(), strict=True
):
    positions = np.arange(len(classes)) + offset
    eog = table.xs("eog", level="channel_type").loc[classes]
    eeg_rows = table.xs("eeg", level="channel_type").loc[classes]
    ratio = eog["relevance per channel"] / eeg_rows["relevance per channel"]
    axes[0].bar(positions, eog["share"], width, label=name)
    axes[1].bar(positions, ratio, width, label=name)
for ax in axes:
    ax.set_xticks(np.arange(len(classes)), classes)
    ax.set_xlabel("Class explained")
axes[0].set(ylabel="Share of |relevance| on EOG")
axes[0].set_title("EOG's share of the decision")
axes[1].set(ylabel="EOG / EEG relevance per channel")
axes[1].axhline(1, color="k", lw=0.5, ls="--")
axes[1].set_title("Relevance per channel, EOG vs EEG")
# Room above the bars for the legend.
axes[0].margins(y=0.3)
axes[0].legend(loc="upper left")
plt.show()

# %%
# With eye movements unrelated to the class, the two EOG channels carry about
# 4 % of the relevance, and an EOG channel about 0.7 times as much as an EEG
# channel: the network reads the brain (and is slightly less accurate than on
# EEG alone, the EOG adding only noise). With glances to the cued side, EOG's
# share triples (to about 12 %), each EOG channel carries about twice the
# relevance of an EEG channel, and the network is more accurate with EOG than
# on EEG alone: part of its accuracy comes from the eyes. Modality importance
# finds this without knowing the ground truth; on real data, compare with a
# network trained without the suspect modality (``picks``).
