"""
===================================================================
What a drowsiness network wants: prototypes, best samples and votes
===================================================================

Driver drowsiness from one occipital channel (Oz; Cui et al. 2022): alert and
drowsy 3-s epochs of 11 subjects. We train :class:`mne_xai.InterpretableCNNClassifier`
and ask three questions of it, after Truong, Makeig & Delorme (2021):

1. which real epochs it finds most typical of each class, and how their
   spectra differ from the others (:func:`mne_xai.inspect.best_samples`);
2. what input it would score highest for each class
   (:func:`mne_xai.inspect.maximize_activation`);
3. how accurate it is per epoch, per subject, and when the epochs of a
   stretch of one state vote together (:func:`mne_xai.inspect.group_predictions`,
   :func:`mne_xai.inspect.make_group_scorer`), under leave-one-subject-out
   cross-validation.

The data are read through ``MNE_DATA`` (:func:`mne_xai.datasets.load_drowsiness`
says how to build its file from the published data set).

This example trains for several minutes on a CPU, so the documentation built by
``make doc`` shows its code without running it; ``make doc-full`` runs it.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
import torch
from sklearn.model_selection import LeaveOneGroupOut, cross_validate

from mne_xai import InterpretableCNNClassifier
from mne_xai.datasets import load_drowsiness
from mne_xai.inspect import (
    best_samples,
    group_predictions,
    make_group_scorer,
    maximize_activation,
)

mne.set_log_level("WARNING")
epochs = load_drowsiness()  # Oz, 128 Hz, volts; metadata["subject"]
subject = epochs.metadata["subject"].to_numpy()
ALPHA = (8.0, 12.0)


def make_classifier():
    # A high learning rate annealed by the cosine schedule converges in a few
    # passes over the data.
    return InterpretableCNNClassifier(
        optimizer=torch.optim.Adam,
        lr=1e-2,
        max_epochs=5,
        batch_size=50,
        random_state=0,
        verbose=False,
    )


# %%
# Best samples of a held-out subject
# ----------------------------------
# We train on every subject but one and rank the held-out subject's epochs by
# the log-odds of each class. ``among="class"`` compares the top epochs of a
# class with the rest of that class: what the network keys on within it.
held_out = 1
clf = make_classifier().fit(epochs[subject != held_out])
test = epochs[subject == held_out]
print(f"Accuracy on subject {held_out}: {clf.score(test):.3f}")
best = best_samples(clf, test, k=10, fmax=30)

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
for name, spectrum in best.spectra.items():
    values, freqs = spectrum.get_data(return_freqs=True)
    ax.plot(freqs, values[0], label=f"best {name} epochs")
ax.axvspan(*ALPHA, color="0.9", zorder=0, label="alpha")
ax.axhline(0, color="k", lw=0.5)
ax.set(
    xlabel="Frequency (Hz)",
    ylabel="Power vs. rest of class (dB)",
    title="Spectra of the best samples",
)
ax.legend()
BANDS = {"theta": (4.0, 8.0), "alpha": ALPHA, "beta": (13.0, 30.0)}
for name, spectrum in best.spectra.items():
    values, freqs = spectrum.get_data(return_freqs=True)
    differences = {
        band: values[0, (freqs >= low) & (freqs <= high)].mean()
        for band, (low, high) in BANDS.items()
    }
    print(
        f"best {name} epochs vs the rest: "
        + ", ".join(f"{band} {value:+.1f} dB" for band, value in differences.items())
        + f", all frequencies {values.mean():+.1f} dB"
    )

# %%
# The network's surest drowsy epochs carry several dB more alpha (and theta)
# power than the other drowsy epochs, well beyond their broadband excess; its
# surest alert epochs carry less theta and alpha than the other alert ones:
# the alpha signature of drowsiness that Cui et al. found in the network's
# relevance maps.
#
# Here are the three best epochs of each class as time courses.
fig, axes = plt.subplots(2, 1, figsize=(7, 4), sharex=True, layout="constrained")
for ax, (name, top) in zip(axes, best.epochs.items(), strict=True):
    ax.plot(top.times, top.get_data(picks="Oz")[:3, 0].T * 1e6, lw=0.8)
    ax.set(ylabel="Oz (µV)", title=f"best {name} epochs")
axes[-1].set(xlabel="Time (s)")

# %%
# Activation maximization
# -----------------------
# Gradient ascent from 1/f noise on the logit of each class, with norm and
# smoothness penalties. The inputs are optimized in volts, the unit of the
# data; their spectra are averaged over the random restarts.
fig, (ax_time, ax_psd) = plt.subplots(1, 2, figsize=(9, 3), layout="constrained")
for name in best.epochs:
    prototype = maximize_activation(clf, name, random_state=0)
    ax_time.plot(prototype.evoked.times, prototype.evoked.data[0] * 1e6, label=name)
    psd, freqs = prototype.spectrum.get_data(return_freqs=True)
    ax_psd.semilogy(freqs, psd[0], label=name)
    others = np.delete(prototype.logits, list(clf.classes_).index(prototype.target), 1)
    print(
        f"{name} prototype: logit {prototype.restarts.metadata['logit'].max():.1f} "
        f"(other class {others.max():.1f}), spectral peak at "
        f"{freqs[psd[0].argmax()]:.1f} Hz"
    )
ax_time.set(xlabel="Time (s)", ylabel="Oz (µV)", title="Best of 5 restarts")
ax_psd.axvspan(*ALPHA, color="0.9", zorder=0)
ax_psd.set(
    xlabel="Frequency (Hz)",
    ylabel="PSD (V²/Hz)",
    xlim=(0, 30),
    title="Mean spectrum of the restarts",
)
ax_psd.legend()

# %%
# The drowsy prototype is an oscillation in the theta band, around 5 Hz,
# where the best drowsy epochs also have more power than the others; the
# alert prototype is a slow drift, cheap under the 1/f prior. Prototypes show
# what drives the logit furthest, not what typical epochs look like: the
# best samples above are the real-data counterpart.

# %%
# Accuracy per epoch, per subject and per vote
# --------------------------------------------
# Leave-one-subject-out cross-validation. Each held-out subject's accuracy is
# one fold's score; pooling every held-out epoch weighs subjects by their
# number of epochs. A subject holds both states, so a vote over all of a
# subject's epochs has no single right answer (the group scorer refuses such
# groups). Votes need groups of one state: here blocks of 10 epochs of one
# state per subject (30 s if the epochs are consecutive; the file does not
# keep their times).
metadata = epochs.metadata.copy()
state = epochs.events[:, 2]
block = metadata.groupby([metadata["subject"], state]).cumcount() // 10
metadata["episode"] = [
    f"{s}-{c}-{b}" for s, c, b in zip(metadata["subject"], state, block, strict=True)
]
epochs.metadata = metadata
scores = cross_validate(
    make_classifier(),
    epochs,
    state,
    cv=LeaveOneGroupOut(),
    groups=subject,
    scoring={
        "epoch": "accuracy",
        "vote_mean_proba": make_group_scorer("episode"),
        "vote_majority": make_group_scorer("episode", vote="majority"),
    },
)
n_epochs = np.bincount(subject)[np.unique(subject)]
pooled = np.average(scores["test_epoch"], weights=n_epochs)
print(f"per epoch (pooled): {pooled:.3f}")
print(
    f"per subject: {scores['test_epoch'].mean():.3f} "
    f"± {scores['test_epoch'].std():.3f} (range {scores['test_epoch'].min():.2f}"
    f"-{scores['test_epoch'].max():.2f})"
)
for vote in ("mean_proba", "majority"):
    print(f"10-epoch votes ({vote}): {scores[f'test_vote_{vote}'].mean():.3f}")

# %%
# A vote rounds each episode's epochs to one answer: right where most of the
# episode's epochs are right, wrong otherwise. With per-epoch accuracies of
# 0.6 to 0.7 many episodes are split, so the vote need not help, and some
# subjects lose by it; it pays where the epochs of an episode mostly agree.
# The table of one held-out subject shows the groups and their votes.
table = group_predictions(clf, epochs[subject == held_out], "episode")
print(table[["n_epochs", "true", "predicted", "correct", "epoch_accuracy"]].head(10))

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.bar(np.unique(subject) - 0.2, scores["test_epoch"], width=0.4, label="per epoch")
ax.bar(
    np.unique(subject) + 0.2,
    scores["test_vote_mean_proba"],
    width=0.4,
    label="10-epoch vote",
)
ax.axhline(0.5, color="k", lw=0.5)
ax.set(xlabel="Held-out subject", ylabel="Accuracy", xticks=np.unique(subject))
ax.legend()
plt.show()

# %%
# References
# ----------
# Cui J, Lan Z, Sourina O, Müller-Wittig W (2023). EEG-based cross-subject
# driver drowsiness recognition with an interpretable convolutional neural
# network. IEEE TNNLS 34(10), 7921-7933. doi:10.1109/TNNLS.2022.3147208
#
# Truong D, Makeig S, Delorme A (2021). Assessing learned features of deep
# learning applied to EEG. IEEE BIBM. doi:10.48550/arXiv.2111.04309
