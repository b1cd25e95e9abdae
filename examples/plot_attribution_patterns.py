"""
.. _ex-attribution-patterns:

===============================================================
Filters or patterns? Reading attribution maps like CSP patterns
===============================================================

A gradient-type attribution such as DeepLIFT says how the network *reads* an
epoch: it is a backward model, like a spatial filter. Haufe et al. (2014)
showed that the weights of a backward model are no map of where the signal
is: a filter also gives weight to channels that only carry noise, to cancel
it, and may give little weight to a channel with signal when a neighbour
carries it better. Its *pattern*, the data covariance times the filter, is the
forward model: how the signal the model reads out appears on each channel.

We train EEGNet on imagined movements of both hands versus both feet (EEGBCI,
subject 1) and compare the channel importance of

- DeepLIFT maps (a filter view),
- their pattern view, :func:`mne_xai.inspect.attribution_patterns`,
- PatternAttribution (Kindermans et al. 2018), whose layer-wise patterns
  :func:`mne_xai.inspect.learn_patterns` learns from the training epochs,
- and, as the classical anchor, the filters and patterns of CSP
  (:class:`mne.decoding.CSP`).

The data are read through MNE's EEGBCI fetcher; set ``MNE_DATA`` to a folder
holding (or allowed to download) ``MNE-eegbci-data``.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
from mne.decoding import CSP
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split

import mne_xai
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import attribution_patterns, learn_patterns

mne.set_log_level("WARNING")

# %%
# Data and network
# ----------------
# 45 imagery trials band-passed to 7-30 Hz, from 0.5 to 2.5 s after the cue,
# at 80 Hz so that the network trains in seconds. Two thirds train the network
# (and CSP); the maps are computed on the held-out third.
epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
epochs.resample(80.0)
train_index, test_index = train_test_split(
    np.arange(len(epochs)),
    test_size=1 / 3,
    stratify=epochs.events[:, 2],
    random_state=0,
)
train, test = epochs[train_index], epochs[test_index]
clf = mne_xai.EEGNetClassifier(
    max_epochs=40, batch_size=8, lr=3e-3, random_state=0, verbose=False
)
clf.fit(train)
chance = np.bincount(test.events[:, 2]).max() / len(test)  # majority class
print(f"Held-out accuracy: {clf.score(test):.2f} (chance {chance:.2f})")


# %%
# Channel importance of each map
# ------------------------------
# Each map becomes one number per channel: the mean magnitude over the
# held-out epochs and times. Each epoch is explained for its own class
# (``target="true"``).
def channel_importance(maps):
    """Mean |value| per channel of maps shaped (n_epochs, n_channels, n_times)."""
    return np.abs(maps).mean(axis=(0, 2))


deeplift = mne_xai.explain(clf, test, "deeplift", target="true", verbose=False)

# %%
# The pattern view multiplies each map by the channel covariance of the
# explained epochs (over epochs and times), ``P = C A``, as
# :class:`~mne.decoding.CSP` turns its filters into ``patterns_``.
deeplift_patterns = attribution_patterns(
    clf, test, "deeplift", target="true", average=False, verbose=False
)

# %%
# PatternAttribution propagates the decision back through the network with
# each unit's *signal pattern* in place of its weights. The patterns are
# statistics of the training data, learned once and passed to
# :func:`mne_xai.explain`.
patterns = learn_patterns(clf, train, verbose=False)
pattern_attribution = mne_xai.explain(
    clf, test, "pattern_attribution", target="true", patterns=patterns, verbose=False
)

# %%
# CSP, fitted on the same training epochs: each of its 4 components scaled to
# a maximum of 1, then averaged over components, for its filters and for its
# patterns.
csp = CSP(n_components=4, norm_trace=False).fit(train.get_data(), train.events[:, 2])


def csp_importance(maps):
    maps = np.abs(maps[:4])
    return (maps / maps.max(axis=1, keepdims=True)).mean(axis=0)


# %%
# A control without any model: the power of each channel in the held-out
# trials. A pattern is the data covariance times a filter, so channels with
# large power get large patterns whatever the filter; a pattern that merely
# repeats this map says little about the classes.
channel_power = (test.get_data() ** 2).mean(axis=(0, 2))

importance = {
    "DeepLIFT\n(filter view)": channel_importance(deeplift.get_data()),
    "CSP filters": csp_importance(csp.filters_),
    "channel power\n(data, no model)": channel_power,
    "DeepLIFT\n(pattern view)": channel_importance(deeplift_patterns.get_data()),
    "PatternAttribution": channel_importance(pattern_attribution.get_data()),
    "CSP patterns": csp_importance(csp.patterns_),
}

# %%
# Topographies
# ------------
# Top row: the backward models (filters) and the control; bottom row: the
# forward models (patterns). The units differ (logit; logit x V²; arbitrary
# for CSP; V² for the power), so each map is scaled to its own maximum.
fig, axes = plt.subplots(2, 3, figsize=(8.0, 6.2), layout="constrained")
for ax, (name, values) in zip(axes.flat, importance.items(), strict=True):
    image, _ = mne.viz.plot_topomap(
        values / values.max(),
        epochs.info,
        axes=ax,
        cmap="Reds",
        vlim=(0, 1),
        show=False,
    )
    ax.set_title(name, fontsize="medium")
fig.colorbar(
    image, ax=axes, shrink=0.6, label="channel importance (fraction of maximum)"
)
fig.suptitle("Channel importance of EEGNet's maps and of CSP, hands vs feet")

# %%
# How much of each map is the channel power? The Spearman rank correlation
# over the 64 channels:
for name, values in importance.items():
    if not name.startswith("channel power"):
        rho = spearmanr(values, channel_power).statistic
        print(f"{name.replace(chr(10), ' '):28s} ρ with channel power = {rho:5.2f}")

# %%
# When to read filters, when patterns
# -----------------------------------
# The filter view and the pattern view answer different questions
# (Haufe et al. 2014):
#
# - **Filters** (attribution maps as they come, CSP's ``filters_``) say how
#   the output depends on each input value: what the network is sensitive
#   to. Read them to edit inputs, to test faithfulness (deleting the most
#   relevant samples should change the output), or to decide which channels a
#   smaller montage must keep. Their weights include noise cancellation, so a
#   channel with large weight need not carry the signal, and the maps tend to
#   look scattered.
# - **Patterns** (``attribution_patterns``, PatternNet/PatternAttribution,
#   CSP's ``patterns_``) say where the signal that the model reads out lies
#   in the data. Read them to interpret the physiology, to compare with
#   source models or with other studies' topographies, as one plots CSP
#   patterns, not CSP filters.
#
# The pattern view is exact for signed gradients (saliency) and an
# approximation for contribution maps such as DeepLIFT, which are the filter
# times the data.
#
# What the maps show
# ------------------
# On our run (CPU, ``random_state=0``; 0.73 held-out accuracy on 15 trials):
#
# - DeepLIFT's filter view peaks at FC1, FCz and FC3, over the left
#   sensorimotor cortex, but almost as strongly at O1, O2 and Fp1, at the
#   edges of the montage; CSP's filters peak at C4, F4 and CP6 among
#   scattered others, as backward models do.
# - The pattern view of DeepLIFT is smooth but largely the channel power
#   again (ρ about 0.9 with it): occipital and parietal channels, where the
#   alpha rhythm is strongest, dominate it. Covariance weighting makes a map
#   smooth; it does not by itself make it specific to the classes.
# - PatternAttribution keeps the left sensorimotor focus (FC1, FC3, C3) and
#   follows the power little.
# - CSP's patterns lie over the right fronto-central channels (FC4, FC2, C4)
#   and O2.
#
# A single split of 45 trials says little: the per-channel class difference
# itself is barely reproducible between 30 and 15 trials, so no map can be
# scored against it here. ``benchmarks/attribution_patterns.py`` compares the
# maps with the data's class difference over seeds and both halves of the
# data, with this channel-power control beside them.
#
# References: Haufe S. et al. (2014), On the interpretation of weight vectors
# of linear models in multivariate neuroimaging, NeuroImage 87:96-110,
# doi:10.1016/j.neuroimage.2013.10.067. Kindermans P.-J. et al. (2018),
# Learning how to explain neural networks: PatternNet and
# PatternAttribution, ICLR.
