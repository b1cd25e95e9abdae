"""
.. _ex-your-own-network:

====================================================
Explain your own network: a ShallowFBCSPNet of yours
====================================================

mne_xai's estimators train any torch network, not only the ones it ships. Here
we write the shallow ConvNet of Schirrmeister et al. (2017), ShallowFBCSPNet,
as braindecode writes its models (the constructor takes ``n_chans``,
``n_outputs``, ``n_times``, ``sfreq`` and ``chs_info``), train it on imagined
hand and foot movements (EEGBCI, subject 1) with
:class:`~mne_xai.EEGNetClassifier`, explain it with integrated gradients, and
see how a method that has no rule for one of its operations refuses it.
"""

# %%
import mne
import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn

import mne_xai
from mne_xai.datasets import load_eegbci

mne.set_log_level("WARNING")

# %%
# The network
# -----------
# Temporal convolution, spatial convolution over all channels, batch norm,
# squaring, mean pooling and a log: the log power of learned spatial filters in
# learned frequency bands, a filter-bank CSP learned end to end. A convolution
# over the remaining time is the classifier, as in braindecode. Kernel and
# pooling lengths are given in seconds, so that they follow ``sfreq`` (the
# paper's 25, 75 and 15 samples at 250 Hz). The network knows nothing of
# mne_xai: it takes ``(batch, n_chans, n_times)`` and returns one logit per
# class.


class ShallowFBCSPNet(nn.Module):
    def __init__(
        self,
        n_chans=None,
        n_outputs=None,
        n_times=None,
        sfreq=None,
        chs_info=None,
        *,
        n_filters=8,
        drop_prob=0.5,
    ):
        super().__init__()
        sfreq = 250.0 if sfreq is None else sfreq
        kernel, pool, stride = (round(s * sfreq) for s in (0.1, 0.3, 0.06))
        self.conv_time = nn.Conv2d(1, n_filters, (kernel, 1))
        self.conv_spat = nn.Conv2d(n_filters, n_filters, (1, n_chans), bias=False)
        self.bnorm = nn.BatchNorm2d(n_filters)
        self.pool = nn.AvgPool2d((pool, 1), stride=(stride, 1))
        self.drop = nn.Dropout(drop_prob)
        n_pooled = (n_times - kernel + 1 - pool) // stride + 1
        self.conv_classifier = nn.Conv2d(n_filters, n_outputs, (n_pooled, 1))

    def forward(self, x):
        x = x.unsqueeze(1).transpose(2, 3)  # (batch, 1, time, channels)
        x = self.bnorm(self.conv_spat(self.conv_time(x)))
        x = self.pool(x * x)  # power
        x = torch.log(torch.clamp(x, min=1e-6))  # log power
        return self.conv_classifier(self.drop(x))[:, :, 0, 0]


# %%
# Training
# --------
# ``module=`` takes the class: the estimator builds it at ``fit`` with the
# shapes of the data under the names its constructor uses (here braindecode's)
# and passes ``module__<name>`` parameters on. The network does not scale its
# input, so the estimator wraps it in :class:`~mne_xai.models.ScaledInput`:
# the data stay in volts outside, the network sees unit variance inside.
epochs = load_eegbci(1, "hands_vs_feet").crop(0.5, 2.5)
train, test = train_test_split(
    np.arange(len(epochs)),
    test_size=1 / 3,
    stratify=epochs.events[:, 2],
    random_state=0,
)
clf = mne_xai.EEGNetClassifier(
    module=ShallowFBCSPNet,
    module__n_filters=8,
    max_epochs=40,
    batch_size=8,
    random_state=0,
    verbose=False,
)
clf.fit(epochs[train])
print(type(clf.module_).__name__, "around", type(clf.module_.module).__name__)
chance = np.bincount(epochs[test].events[:, 2]).max() / len(test)  # majority class
print(f"Held-out accuracy: {clf.score(epochs[test]):.2f} (chance {chance:.2f})")

# %%
# Integrated gradients
# --------------------
# Integrated gradients use only the network's gradients, so they are valid for
# any differentiable network, squares and logs included. They add up to the
# difference between the class logit of the trial and that of a zero
# baseline, once the path integral is resolved: near the zero baseline the
# pooled power approaches the clamp of the log, where the gradient is steep,
# so this network needs more steps than most. We check it on one trial.
trial = epochs[:1]
module = clf.module_.eval()
with torch.no_grad():
    data = torch.as_tensor(trial.get_data(), dtype=torch.float32)
    target = np.searchsorted(clf.classes_, trial.events[0, 2])
    delta = float((module(data) - module(torch.zeros_like(data)))[0, target])
for steps in (16, 64, 256):
    total = mne_xai.explain(
        clf, trial, "integrated_gradients", target="true", steps=steps, verbose=False
    ).get_data()
    print(f"{steps:3d} steps: sum {total.sum():.3f}, f(x) - f(0) = {delta:.3f}")

# %%
# At 16 steps a quarter of ``f(x) - f(0)`` is left unexplained, and explain
# warns (it does whenever maps miss completeness); from 64 steps on the sum
# matches it, and explain warns for none of the trials, so the maps below use
# 64.
#
# We explain the feet trials (the maps keep their events, so ``attribution
# ["feet"]`` selects them as in the Epochs). The scalp maps show the relevance
# per sample, averaged over the trials and over 0.5-s windows, in logit units
# (plot with ``scalings=1``: the values are not volts). Positive relevance
# speaks for "feet".
attribution = mne_xai.explain(
    clf, epochs["feet"], "integrated_gradients", target="true", steps=64, verbose=False
)
attribution["feet"].average().plot_topomap(
    times=[0.75, 1.25, 1.75, 2.25],
    average=0.5,
    scalings=1,
    units="logit",
    cmap="RdBu_r",
    cbar_fmt="%.0e",
    time_format="%0.2f s",
    size=1.5,
)

# %%
# On our run (CPU, ``random_state=0``; 1.00 held-out accuracy on 15 trials),
# the relevance for "feet" is largest over the left fronto-central channels
# (FC3, C3, FC1) from about 1.5 s on, over the sensorimotor cortex, while
# parietal channels (P1, P2, PO4) speak against "feet" in the middle of the
# period. With 30 training trials of one subject, read this as a plausibility
# check of the network, not as a finding about motor imagery.

# %%
# A clear refusal
# ---------------
# Methods with per-layer rules (LRP, DeepLIFT, guided backpropagation, ...)
# replace the gradient of the layers they know by their rules. They check the
# network's computation first, and refuse an operation they have no rule for,
# here the log (and the squaring behind it), rather than pass the plain
# gradient through it and return a map that looks right. The message names
# the operation and the methods that remain valid.
try:
    mne_xai.explain(clf, epochs, "lrp_epsilon", verbose=False)
except ValueError as error:
    print(error)

# %%
# A network trained elsewhere, e.g. with braindecode's ``EEGClassifier`` or
# plain skorch, is explained through :func:`mne_xai.as_network` with the
# :class:`mne.Info` of its input channels, and the factor its training data
# were scaled by from volts (``scaling=1e6`` for microvolts, as braindecode's
# examples scale them; nothing records a foreign network's unit):
# ``mne_xai.explain(mne_xai.as_network(net, info=epochs.info, scaling=1e6),
# epochs, ...)``.
