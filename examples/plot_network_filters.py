"""
.. _ex-network-filters:

==============================================================
What EEGNet learned: its spatial patterns and temporal filters
==============================================================

EEGNet starts like filter-bank CSP: temporal convolutions are band-pass
filters, and the depthwise convolution after them sums the channels of each
filtered signal with learned weights, i.e. spatial filters. We train EEGNet
on imagined movements of both hands versus both feet (EEGBCI, subject 1),
turn its spatial filters into patterns (Haufe et al. 2014) ranked by how much
each contributes to the decisions, plot them as MNE plots CSP patterns, and
look at the frequency responses of its temporal filters.

The data are read through MNE's EEGBCI fetcher; set ``MNE_DATA`` to a folder
holding (or allowed to download) ``MNE-eegbci-data``.
"""

# %%
import mne
from mne.decoding import CSP

import mne_xai
from mne_xai.datasets import load_eegbci
from mne_xai.inspect import plot_temporal_filters, spatial_patterns, temporal_filters

mne.set_log_level("WARNING")

# %%
# Data and network
# ----------------
# 45 imagery trials band-passed to 7-30 Hz, as in MNE's CSP example, from 0.5
# to 2.5 s after the cue. At 80 Hz the network trains in seconds; a larger
# step than the default lets 40 passes suffice. We inspect a network trained
# on all trials: the question is what it learned, not how well it generalizes.
epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
epochs.resample(80.0)
clf = mne_xai.EEGNetClassifier(
    max_epochs=40, batch_size=8, lr=3e-3, random_state=0, verbose=False
)
clf.fit(epochs)

# %%
# Spatial filters and their patterns
# ----------------------------------
# Each of the 16 units of EEGNet's depthwise convolution reads one temporal
# filter's output on every channel. ``spatial_patterns`` returns their weights
# (the filters), their patterns and a ranking by contribution: the mean size
# of the first-order change of each decision were the unit's signal removed.
spatial = spatial_patterns(clf, epochs, verbose=False)
print(spatial.ranking.head())

# %%
# A filter extracts a signal and also cancels the noise around it, so its
# weights need not lie over the source. Its pattern, the covariance of each
# channel with the unit's output, is the topography of what the unit picks up,
# the map to interpret. The filters of the leading units look scattered ...
spatial.plot(4, kind="filters")

# %%
# ... while their patterns are smooth. That of the leading unit, which
# contributes far more than the others (2 logit against 0.35 and less), lies
# over the left fronto-central channels (FC3, FC1, C3), where imagined
# movements desynchronize the mu and beta rhythms; those of the next units
# lie over the occipital channels, where the alpha rhythm is strongest.
spatial.plot(4)

# %%
# The patterns are an :class:`mne.EvokedArray` with one "time point" per
# component, most contributing first, so MNE's own plotting works on them.
# Their values are in the network's internal units: plot with ``scalings=1``.
spatial.patterns.plot_topomap(
    times=[0, 1], scalings=1, units="a.u.", time_format="component %d", size=2
)

# %%
# For comparison, the patterns of CSP on the same epochs, as MNE's CSP example
# plots them (in the data's units, microvolts for EEG).
csp = CSP(n_components=4).fit(epochs.get_data(), epochs.events[:, 2])
csp.plot_patterns(epochs.info, components=range(4), units="AU", name_format="CSP%01d")

# %%
# Temporal filters
# ----------------
# The kernels of EEGNet's first convolution are finite impulse response
# filters. ``temporal_filters`` returns their gains, the band each passes
# (peak and -3 dB edges) and, given epochs, how much each contributes to the
# decisions, measured as for the spatial units.
filters = temporal_filters(clf, epochs, verbose=False)
print(filters.passbands.sort_values("rank").round(2))

# %%
# The most used filters pass the mu rhythm (about 12 Hz); those passing beta
# contribute little to the decisions. The data hold nothing
# below 7 Hz or above 30 Hz, so the gains there were never trained: read a
# filter's response only where the data have power.
plot_temporal_filters(filters, n_highlight=3)
