"""
.. _ex-simulated-ground-truth:

==================================================
Simulated EEG whose discriminative signal is known
==================================================

To score an attribution method we need data where we know what a classifier
should use. :func:`mne_xai.simulation.simulate_epochs` simulates EEG through a
sphere head model fitted to a 10-20 montage: pink (1/f) activity of cortical
dipoles plus white sensor noise, and one feature per class, in the three
flavours of Sujatha Ravindran & Contreras-Vidal (Sci Rep 2023):

- ``"temporal"``: an ERP, in a different time window per class;
- ``"spectral"``: a burst, in a different frequency band per class;
- ``"spatial"``: an ERP, from the left or the right hemisphere.

With the data comes a ground truth: an :class:`mne.EpochsArray` on the same
channels and times whose values say, epoch by epoch, how strongly the class's
feature projects to each channel at each time (1 at its peak, 0 where it is
absent). Both plot with MNE's own functions; the ground truth is unitless, so
it is plotted with ``scalings=1``.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np

from mne_xai.evaluate import relevance_mass_accuracy, roc_auc
from mne_xai.simulation import simulate_epochs

mne.set_log_level("WARNING")

simulated = {
    kind: simulate_epochs(kind, n_epochs=100, snr=1.0, random_state=0, verbose=False)
    for kind in ("temporal", "spectral", "spatial")
}

# %%
# Where each class's feature is
# -----------------------------
# One topography per class, at the middle of its window (mean over epochs).

fig, axes = plt.subplots(3, 2, figsize=(6, 8), layout="constrained")
for row, (kind, (epochs, truth)) in zip(axes, simulated.items(), strict=True):
    for ax, condition in zip(row, epochs.event_id, strict=True):
        window = truth[condition].metadata[["feature_tmin", "feature_tmax"]]
        centre = float(window.mean(axis=1).mean())
        truth[condition].average().plot_topomap(
            times=centre,
            axes=ax,
            scalings=1,
            units="a.u.",
            vlim=(0, 1),
            cmap="Reds",
            colorbar=False,
            show=False,
        )
        ax.set_title(f"{kind}: {condition}")

# %%
# When it is there, epoch by epoch
# --------------------------------
# The ground truth at the feature's peak channel, one row per epoch (sorted by
# condition), beside the data on that channel. The ERP windows jitter a little
# between epochs, and the ground truth follows them.

epochs, truth = simulated["temporal"]
peak_channel = truth.ch_names[truth.get_data().max(axis=(0, 2)).argmax()]
epochs.plot_image(picks=peak_channel, order=np.argsort(epochs.events[:, 2]))
truth.plot_image(
    picks=peak_channel,
    order=np.argsort(truth.events[:, 2]),
    scalings=dict(eeg=1),
    units=dict(eeg="a.u."),
    cmap="Reds",
    vmin=0,
    vmax=1,
    evoked=False,  # its time course would be drawn in µV
)

# %%
# In which band
# -------------
# The spectral classes differ only in the band of their burst.

epochs, truth = simulated["spectral"]
fig, ax = plt.subplots(layout="constrained")
for condition in epochs.event_id:
    spectrum = epochs[condition].compute_psd(fmin=2.0, fmax=50.0, verbose=False)
    power, freqs = spectrum.get_data(return_freqs=True)
    ax.semilogy(freqs, power.mean(axis=(0, 1)), label=condition)
ax.set(xlabel="Frequency (Hz)", ylabel="Power (V²/Hz)")
ax.legend()

# %%
# Scoring against the ground truth
# --------------------------------
# Any map of the data's shape can be scored. Here, as a stand-in for an
# attribution method, the data themselves: at this SNR the feature dominates
# the data where it is, so even the raw magnitude ranks the truth's region
# first (ROC-AUC near 1), while a random map scores at chance.

epochs, truth = simulated["spatial"]
random_map = np.random.default_rng(0).standard_normal(epochs.get_data().shape)
for name, attribution in (("data", epochs), ("random", random_map)):
    print(
        f"{name:>6}: relevance mass accuracy "
        f"{relevance_mass_accuracy(attribution, truth).mean():.3f}, "
        f"ROC-AUC {roc_auc(attribution, truth).mean():.3f}"
    )
