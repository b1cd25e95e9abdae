"""
.. _ex-spectral-input:

=====================================================
A network on spectra: accuracy and relevance per band
=====================================================

Truong et al. (2021) trained the same kind of network on raw EEG and on its
spectral features. :class:`mne_xai.inspect.LogPowerSpectrum` turns epochs into
log-power spectra, and :class:`mne_xai.inspect.SpectralClassifier` trains a
network of mne_xai on them, reading the frequency axis where it would read
time. We compare EEGNet on raw epochs and on their spectra on the same
cross-validation folds (imagined movements of both hands versus both feet,
EEGBCI subject 1), then ask the spectral network which channels and
frequencies its decisions rest on, with
:func:`mne_xai.inspect.explain_spectral_classifier`.

The data are read through MNE's EEGBCI fetcher; set ``MNE_DATA`` to a folder
holding (or allowed to download) ``MNE-eegbci-data``.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import (
    LogPowerSpectrum,
    SpectralClassifier,
    explain_spectral_classifier,
)
from mne_xai.viz import plot_band_topomaps

mne.set_log_level("WARNING")

# %%
# Data and spectra
# ----------------
# 45 imagery trials band-passed to 7-30 Hz, from 0.5 to 2.5 s after the cue, at
# 100 Hz so that both networks train in seconds. The classifier's default
# spectrum is Welch's, with one-second segments, from 1 to 40.75 Hz every 0.25
# Hz (zero-padded four times: EEGNet needs a finely sampled axis to tell
# bands apart, and reads these 160 bins as five pooled bands of 8 Hz, see
# :class:`~mne_xai.inspect.SpectralClassifier`).
epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
epochs.resample(100.0)
y = epochs.events[:, 2]
spectra = LogPowerSpectrum(fmax=40.75).fit(epochs)
print(
    f"Raw epochs: {epochs.get_data().shape}; spectra: {spectra.transform(epochs).shape}"
    f" at {spectra.freqs_[0]:g}-{spectra.freqs_[-1]:g} Hz"
)

# %%
# Raw epochs vs spectra, same folds
# ---------------------------------
# The same EEGNet, trained briefly (30 passes), once on the epochs and once on
# their spectra; both are scored on the same five stratified folds.
raw_network = EEGNetClassifier(
    max_epochs=30, batch_size=8, lr=3e-3, random_state=0, verbose=False
)
spectral_network = SpectralClassifier(clone(raw_network))
folds = StratifiedKFold(5, shuffle=True, random_state=42)
scores = {
    "raw epochs": cross_val_score(raw_network, epochs, y, cv=folds),
    "log-power spectra": cross_val_score(spectral_network, epochs, y, cv=folds),
}
for name, values in scores.items():
    print(f"{name:>18}: {values.mean():.2f} ± {values.std():.2f} {values.round(2)}")

fig, ax = plt.subplots(figsize=(4.5, 3.5), layout="constrained")
ax.plot([0, 1], np.array(list(scores.values())), color="0.6", marker="o")
ax.axhline(np.bincount(y).max() / len(y), color="k", ls="--", lw=1, label="chance")
ax.set(
    xticks=[0, 1],
    xticklabels=list(scores),
    xlim=(-0.3, 1.3),
    ylim=(0, 1.05),
    ylabel="held-out accuracy",
    title="EEGNet, one line per fold",
)
ax.legend(loc="lower right")

# %%
# On our run (CPU, ``random_state=0``) the raw network reached 0.69 ± 0.15
# (from 0.44 to 0.89 over the folds) and the spectral one 0.73 ± 0.15 (from
# 0.56 to 1). With 36 training trials per fold both networks are far from
# their best and the folds vary a lot: five folds of nine trials cannot
# separate accuracies a few points apart (``benchmarks/raw_vs_spectra.py`` repeats the comparison over
# seeds and on the drowsiness data).
#
# What the spectral network uses
# ------------------------------
# We train the spectral network on all trials (the question is what it
# learned) and explain each trial for its own class with DeepLIFT, from the
# mean training spectrum: relevance is positive where a trial's power, above
# or below the mean, speaks for its class. The relevance of a trial sums to
# the difference of its class logit from that of the mean spectrum.
spectral_network.fit(epochs)
relevance = explain_spectral_classifier(
    spectral_network, epochs, "deeplift", target="true", verbose=False
)
print(relevance)

# %%
# Summed over the channels and averaged over the trials of each class, the
# relevance per frequency shows which bands the network reads.
values, freqs = relevance.get_data(return_freqs=True)
fig, ax = plt.subplots(figsize=(7.0, 3.5), layout="constrained")
for name, code in sorted(epochs.event_id.items()):
    ax.plot(freqs, values[y == code].sum(axis=1).mean(axis=0), label=f"{name} trials")
ax.axvspan(8, 13, color="0.92", zorder=0, label="mu (8-13 Hz)")
ax.axvspan(13, 30, color="0.97", zorder=0, label="beta (13-30 Hz)")
ax.axhline(0, color="k", lw=0.5)
ax.set(
    xlim=(freqs[0], freqs[-1]),
    xlabel="Frequency (Hz)",
    ylabel="DeepLIFT relevance\n(logit per 0.25-Hz bin)",
    title="Relevance per frequency, summed over channels",
)
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))

# %%
# Where on the scalp: the relevance summed over the mu and beta bands, per
# channel, averaged over trials (each explained for its own class), in the
# method's own unit.
fig = plot_band_topomaps(
    relevance,
    {"mu (8-13 Hz)": (8.0, 13.0), "beta (13-30 Hz)": (13.0, 30.0)},
    units="relevance (logit)",
)
fig.suptitle("DeepLIFT relevance per band")

# %%
# On our run the relevance peaks sharply at 12-13 Hz, the upper mu band, for
# both classes, with a second, broader bump in the upper beta band (25-30 Hz).
# On the scalp, the mu relevance is largest over midline and left parietal
# and parieto-occipital channels (P1, PO7, POz) and right fronto-central FC6,
# rather than over the sensorimotor cortex; the beta relevance over right
# central ones (C6, CP4) and left temporal ones (T9, TP7), where muscle
# activity may contribute. Both maps hold negative spots too (power that
# speaks against the trial's class).
#
# The data were band-passed to 7-30 Hz before the spectra were taken, so
# power outside that band is filter residue: relevance there says how the
# network treats it, not that the brain signal lies there. As always with
# contribution maps, read the topomap as how the network reads the spectra
# (a filter view; see :ref:`ex-attribution-patterns`).
#
# Reference: Truong D., Milham M., Makeig S., Delorme A. (2021). Deep
# convolutional neural network applied to electroencephalography: raw data vs
# spectral features. IEEE EMBC. doi:10.48550/arXiv.2105.04762
