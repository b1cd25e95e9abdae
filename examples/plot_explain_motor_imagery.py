"""
.. _ex-explain-motor-imagery:

==========================================================
Explain EEGNet's motor imagery decisions: hands vs feet
==========================================================

We train EEGNet on imagined movements of both hands versus both feet (EEGBCI,
subject 1), explain its decisions with several attribution methods, and look
at where on the scalp and in which frequencies the relevance lies. Motor
imagery desynchronizes the mu (8-13 Hz) and beta (13-30 Hz) rhythms over the
sensorimotor cortex (around C3, Cz and C4), so that is where a network that
learned the physiology should look.

The data are read through MNE's EEGBCI fetcher; set ``MNE_DATA`` to a folder
holding (or allowed to download) ``MNE-eegbci-data``.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
from sklearn.model_selection import train_test_split

import mne_xai
from mne_xai.attribution import explain_spectrum
from mne_xai.datasets import load_eegbci
from mne_xai.viz import (
    plot_attribution_joint,
    plot_band_topomaps,
    plot_class_topomaps,
    plot_method_comparison,
)

mne.set_log_level("WARNING")

# %%
# Data and network
# ----------------
# 45 imagery trials band-passed to 7-30 Hz, as in MNE's CSP example; we keep
# the imagery period from 0.5 to 2.5 s after the cue. With so few trials, the
# held-out accuracy is only a rough check that the network learned something.
epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
train, test = train_test_split(
    np.arange(len(epochs)),
    test_size=1 / 3,
    stratify=epochs.events[:, 2],
    random_state=0,
)
# Dropout 0.25 rather than 0.5 suits such a small training set.
clf = mne_xai.EEGNetClassifier(
    max_epochs=100, batch_size=8, module__dropout=0.25, random_state=0, verbose=False
)
clf.fit(epochs[train])
chance = np.bincount(epochs[test].events[:, 2]).max() / len(test)  # majority class
print(f"Held-out accuracy: {clf.score(epochs[test]):.2f} (chance {chance:.2f})")

# %%
# Several methods side by side
# ----------------------------
# Each row is a method, each column a class: the relevance magnitude summed
# over the 2-s window and averaged over that class's trials, each row scaled to
# its maximum (the methods' units differ). Each trial is explained for its own
# class (``target="true"``).
preferred = [
    "saliency",
    "gradient_x_input",
    "integrated_gradients",
    "deeplift",
    "lrp_epsilon",
    "guided_backprop",
]
methods = [method for method in preferred if method in mne_xai.list_methods()]
plot_method_comparison(clf, epochs, methods, random_state=0, verbose=False)

# %%
# Class topomaps and a joint plot of integrated gradients
# -------------------------------------------------------
# Integrated gradients sum to the difference between the class logit at the
# trial and at a zero baseline, so their unit is the logit.
method = "integrated_gradients" if "integrated_gradients" in methods else methods[0]
attribution = mne_xai.explain(clf, epochs, method, target="true", verbose=False)
plot_class_topomaps(attribution, units="logit")
plot_attribution_joint(
    attribution["feet"].average(), units="logit", title=f"{method}, feet trials"
)

# %%
# Which frequencies drive the decision
# ------------------------------------
# :func:`~mne_xai.attribution.explain_spectrum` explains the network as a function
# of the Fourier coefficients of each trial: gradient x input there sums, per
# channel, to gradient x input in time. We sum its relevance magnitude over the
# theta, mu and beta bands.
spectral_method = "gradient_x_input" if "gradient_x_input" in methods else "saliency"
spectrum = explain_spectrum(
    clf, epochs, spectral_method, target="true", average=False, verbose=False
)
plot_band_topomaps(spectrum, absolute=True, units="|relevance| (logit)")

relevance_per_freq = np.abs(spectrum.get_data()).mean(axis=(0, 1))
fig, ax = plt.subplots(layout="constrained")
ax.plot(spectrum.freqs, relevance_per_freq)
ax.set(
    xlim=(0, 40),
    xlabel="Frequency (Hz)",
    ylabel="mean |relevance| (logit)",
    title="Relevance per frequency, all channels",
)

# %%
# What the maps show
# ------------------
# On our run (CPU, ``random_state=0``; 0.87 held-out accuracy on 15 trials):
#
# - All gradient-based and relevance methods agree on one focus: channel C3 and
#   its neighbours FC3 and FC1/FCz over the left sensorimotor cortex, with a
#   weaker second spot right of the midline around CP2/P2. Cz itself and C4 are
#   not prominent, so the map is lateralized, not the symmetric central
#   pattern one might expect for hands vs feet. The focus is the same for both
#   classes, stronger for feet trials (up to about 3 logit per channel against
#   1.5 for hands): the network reads one left-central source and decides by
#   its strength.
# - Guided backprop shows the same spots for feet and almost nothing for hands
#   in its row's scale: its maps depend on the explained class far more than
#   the other methods do here.
# - The joint plot of integrated gradients for feet trials shows relevance
#   spread over the whole window with brief peaks (around 1.8 s) at the same
#   left central channels, positive and negative.
# - In frequency, about 80 % of the relevance magnitude lies in the mu band
#   (8-13 Hz) and about 15 % in beta, with a sharp peak at 12.5 Hz on C3 and
#   FC3 for both classes: the network relies on the upper mu rhythm over
#   the left sensorimotor cortex, in line with the physiology of motor
#   imagery, although with only 30 training trials of one subject the exact
#   peak and its lateralization should not be over-interpreted.
