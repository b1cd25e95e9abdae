"""
.. _ex-unit-sensitivity:

=====================================================================
Units that carry amplitude or phase, and the units a network needs
=====================================================================

Hammer et al. (J Neural Eng 2022) found that the units of EEG networks
specialize: some follow the amplitude of a frequency band, others its phase,
others both, and pruning the most sensitive ones costs the most accuracy. We
ask the same of InterpretableCNN trained on imagined movements of both hands
versus both feet (EEGBCI, subject 1): for each unit of a layer, how much its
output changes when the amplitude envelope or the phase of the mu (alpha) or
beta band is perturbed, and how accuracy falls as units are removed.

The data are read through MNE's EEGBCI fetcher; set ``MNE_DATA`` to a folder
holding (or allowed to download) ``MNE-eegbci-data``.
"""

# %%
import numpy as np
from sklearn.model_selection import train_test_split

from mne_xai import InterpretableCNNClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import pruning_curve, unit_sensitivity

# %%
# Data and network
# ----------------
# 45 imagery trials band-passed to 7-30 Hz; we keep the imagery period from
# 0.5 to 2.5 s after the cue and hold out a third of the trials.
epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
train, test = train_test_split(
    np.arange(len(epochs)),
    test_size=1 / 3,
    stratify=epochs.events[:, 2],
    random_state=0,
)
clf = InterpretableCNNClassifier(
    max_epochs=30, batch_size=8, lr=3e-3, random_state=0, verbose=False
).fit(epochs[train])
chance = np.bincount(epochs[test].events[:, 2]).max() / len(test)  # majority class
print(f"Held-out accuracy: {clf.score(epochs[test]):.2f} (chance {chance:.2f})")

# %%
# Amplitude or phase?
# -------------------
# InterpretableCNN mixes the channels into spatial maps, filters each in time
# (``depthwise_conv``), rectifies, normalizes and averages over the epoch
# (``global_pool``). Each band of every trial is perturbed in its amplitude
# envelope and, separately, in its phase, by equally large changes; a unit is
# amplitude- (phase-) sensitive when its output changes more than twice as
# much under one kind as under the other. The temporal filters are linear, so
# they follow amplitude and phase alike (mixed); averaging the rectified maps
# over the epoch discards the phase and keeps the band's power.
filtered = unit_sensitivity(clf, epochs[train], "depthwise_conv", random_state=0)
print(filtered)
pooled = unit_sensitivity(clf, epochs[train], "global_pool", random_state=0)
print(pooled)
pooled.plot()

# %%
# Each unit's class over all bands, the band it responds to most and its
# class in that band. Summed over the bands, a unit that follows the mu
# amplitude but responds to other bands' amplitude and phase alike reads as
# mixed; in its own band it is amplitude-sensitive.
summary = pooled.summary()
print(summary.groupby(["band", "band_class"]).size())

# %%
# Which units does the network need?
# ----------------------------------
# We remove the pooled units one by one, replacing each by its mean output,
# and score the held-out trials: in the order of their gradient-based
# sensitivity and attribution (see :func:`~mne_xai.inspect.pruning_curve`),
# in the order of their amplitude sensitivity (as Hammer et al. pruned), and
# in random orders. An order that finds the units the network relies on
# loses accuracy faster than the random ones: its area under the curve is
# lower.
curve = pruning_curve(
    clf,
    epochs[test],
    "global_pool",
    scores={"amplitude sensitivity": summary["amplitude_sensitivity"]},
    n_random=20,
    random_state=0,
)
print(curve)
curve.plot()

# %%
# Here the gradient-based orders find the units that matter within a few
# removals, while removing the most amplitude-sensitive units first costs
# less than removing units at random: this network's decision rests on
# units that amplitude sensitivity alone does not single out. The
# sensitivities describe what a unit responds to, the pruning curve whether
# the network needs it.
