"""
.. _ex-drowsiness:

=================================================
Why does the network think this driver is drowsy?
=================================================

Driver drowsiness from one occipital channel (Oz): 3-s epochs of 11 subjects
in a simulated-driving task, labelled alert or drowsy from their reaction
times (Cao et al. 2019). Cui et al. (IEEE TNNLS 2023) trained an
interpretable CNN on these data and found that its decisions for *drowsy*
rest on alpha spindles and theta bursts, the EEG signs of drowsiness.

We train :class:`mne_xai.InterpretableCNNClassifier` on ten subjects, test it
on the eleventh, and ask the same question of it with DeepLIFT: where in each
epoch, and in which frequencies, is the evidence for each state? The data are
read through ``MNE_DATA`` (:func:`mne_xai.datasets.load_drowsiness`
says how to build its file from the published data set). The network's prototypes
and votes over epochs are in
:ref:`sphx_glr_auto_examples_plot_class_prototypes.py`.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np
import torch

import mne_xai
from mne_xai.attribution import explain_spectrum, smooth_attribution
from mne_xai.datasets import load_drowsiness

mne.set_log_level("WARNING")
epochs = load_drowsiness()  # Oz, 128 Hz, volts; metadata["subject"]
subject = epochs.metadata["subject"].to_numpy()
held_out = 1
# The recipe of the authors' code: Adam at a high learning rate, annealed by the
# cosine schedule, converges in a few passes over the ten training subjects.
clf = mne_xai.InterpretableCNNClassifier(
    optimizer=torch.optim.Adam,
    lr=1e-2,
    max_epochs=5,
    batch_size=50,
    random_state=0,
    verbose=False,
).fit(epochs[subject != held_out])
test = epochs[subject == held_out]
print(f"Accuracy on subject {held_out}: {clf.score(test):.2f} (chance 0.50)")

# %%
# Evidence along the epoch
# ------------------------
# DeepLIFT explains the logit of *drowsy* relative to a flat epoch, in logit
# units: positive where the signal argues for drowsiness. Cui et al. smooth
# the maps before reading them; a 0.1-s moving average shows *when* the
# evidence lies. We show the two epochs of each state that the network is
# surest of, on one relevance scale.
attribution = mne_xai.explain(clf, test, "deeplift", target="drowsy")
smoothed = smooth_attribution(attribution, window=0.1)
log_odds = np.diff(clf.predict_proba(test), axis=1)[:, 0]  # drowsy vs alert
fig, axes = plt.subplots(
    4, 1, figsize=(8, 7), sharex=True, sharey=True, layout="constrained"
)
examples = {
    "alert": np.argsort(log_odds)[:2],
    "drowsy": np.argsort(log_odds)[::-1][:2],
}
rows = [(state, index) for state, indices in examples.items() for index in indices]
limit = np.abs(smoothed.get_data()[[index for _, index in rows]]).max()
axes[-1].set_xlabel("Time (s)")
for ax, (state, index) in zip(axes, rows, strict=True):
    signal = test.get_data(picks="Oz")[index, 0] * 1e6
    relevance = smoothed.get_data()[index, 0]
    ax.plot(test.times, signal, color="0.4", lw=0.8)
    ax.set_ylabel("Oz (µV)")
    ax.set_title(
        f"{state} epoch {index}: P(drowsy) = {1 / (1 + np.exp(-log_odds[index])):.2f}"
    )
    twin = ax.twinx()
    twin.fill_between(test.times, relevance, color="C3", alpha=0.4, lw=0)
    twin.set_ylim(-limit, limit)
    twin.set_ylabel("for drowsy (logit)", color="C3")

# %%
# Evidence per frequency
# ----------------------
# :func:`~mne_xai.attribution.explain_spectrum` explains the network as a
# function of each epoch's Fourier coefficients; with gradient × input the
# relevance of all frequencies adds up to that of the channel. The mean over
# the epochs of each state shows which rhythms make an epoch look drowsy to
# the network.
spectrum = explain_spectrum(clf, test, "gradient_x_input", target="drowsy")
relevance, freqs = spectrum.get_data(return_freqs=True)
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
for state, code in test.event_id.items():
    mean = relevance[test.events[:, 2] == code, 0].mean(axis=0)
    ax.plot(freqs, mean, label=f"{state} epochs")
ax.axhline(0, color="k", lw=0.5)
for band, (low, high), shade in (("theta", (4, 8), "0.93"), ("alpha", (8, 13), "0.85")):
    ax.axvspan(low, high, color=shade, zorder=0)
    ax.text(
        (low + high) / 2,
        0.97,
        band,
        ha="center",
        va="top",
        transform=ax.get_xaxis_transform(),
    )
ax.set(
    xlim=(0, 30),
    xlabel="Frequency (Hz)",
    ylabel="Relevance for drowsy (logit)",
    title=f"Evidence for drowsiness per frequency, subject {held_out}",
)
ax.legend(loc="lower right")
bands = {"theta": (4, 8), "alpha": (8, 13), "beta": (13, 30)}
for state, code in test.event_id.items():
    mean = relevance[test.events[:, 2] == code, 0].mean(axis=0)
    shares = {
        band: mean[(freqs >= low) & (freqs < high)].sum()
        for band, (low, high) in bands.items()
    }
    print(
        f"{state} epochs: "
        + ", ".join(f"{band} {value:+.2f}" for band, value in shares.items())
        + f" (all frequencies {mean.sum():+.2f} logit)"
    )

# %%
# The network's evidence for drowsiness lies in the theta band (around 5-6 Hz)
# and the alpha band (around 9 Hz), in epochs of both states; drowsy epochs
# carry more of it. In time it sits on the bursts of rhythmic activity of the
# drowsy epochs (alpha spindles and theta bursts), as Cui et al. found, while
# the alert epochs the network is surest of hold small, irregular activity and
# almost no evidence either way. Slow drifts below 3 Hz argue weakly for alert.

# %%
# References
# ----------
# Cao Z, Chuang C-H, King J-K, Lin C-T (2019). Multi-channel EEG recordings
# during a sustained-attention driving task. Scientific Data 6, 19.
# doi:10.1038/s41597-019-0027-4
#
# Cui J, Lan Z, Sourina O, Müller-Wittig W (2023). EEG-based cross-subject
# driver drowsiness recognition with an interpretable convolutional neural
# network. IEEE TNNLS 34(10), 7921-7933. doi:10.1109/TNNLS.2022.3147208
plt.show()
