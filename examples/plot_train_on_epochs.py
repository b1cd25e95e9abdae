"""
==================================================
Train EEGNet on mne.Epochs with scikit-learn tools
==================================================

EEGBCI subject 1 imagines moving both hands or both feet. We train
:class:`mne_xai.EEGNetClassifier` directly on the :class:`mne.Epochs`, compare it
with MNE's CSP+LDA on the same cross-validation folds, and look at the training
curve that skorch records.

This example trains for several minutes on a CPU, so the documentation built by
``make doc`` shows its code without running it; ``make doc-full`` runs it.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
from mne.decoding import CSP
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import ShuffleSplit, cross_val_score
from sklearn.pipeline import make_pipeline

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_eegbci

mne.set_log_level("WARNING")
epochs = load_eegbci(subject=1, task="hands_vs_feet")  # 7-30 Hz, -1..4 s, volts
y = epochs.events[:, 2]
cv = ShuffleSplit(5, test_size=0.2, random_state=42)

# %%
# CSP+LDA on 1-2 s, as in MNE's own CSP example.
csp_lda = make_pipeline(CSP(n_components=4, log=True), LinearDiscriminantAnalysis())
csp_scores = cross_val_score(
    csp_lda, epochs.copy().crop(1, 2).get_data(copy=False), y, cv=cv
)

# %%
# EEGNet on the imagery period, with its defaults. The estimator takes the
# Epochs (volts) as they are: it picks the good EEG channels (never a stimulus
# channel, which holds the labels; ``picks=`` chooses others), scales the data
# to unit variance inside the network, reads the sampling rate for its kernel
# lengths, and sets its batch size and number of epochs from the number of
# training epochs, so that small data sets still get enough optimizer steps.
imagery = epochs.copy().crop(0, 4)
eegnet = EEGNetClassifier(random_state=0, verbose=False)
eegnet_scores = cross_val_score(eegnet, imagery, y, cv=cv)
chance = np.bincount(y).max() / len(y)
print(
    f"CSP+LDA {csp_scores.mean():.3f}, EEGNet {eegnet_scores.mean():.3f}, "
    f"chance {chance:.3f}"
)

# %%
# A final fit on all epochs; skorch's history holds the loss and the learning
# rate of every epoch (cosine annealing by default).
eegnet.fit(imagery)
print(
    f"{len(imagery)} epochs: batch size {eegnet.batch_size_}, "
    f"{eegnet.max_epochs_} epochs, on {eegnet.n_channels_} channels"
)
fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
ax_loss.plot(eegnet.history[:, "train_loss"])
ax_loss.set(xlabel="epoch", ylabel="training loss")
ax_lr.plot(eegnet.history[:, "event_lr"])
ax_lr.set(xlabel="epoch", ylabel="learning rate")
plt.show()
