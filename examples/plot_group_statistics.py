"""
.. _ex-group-statistics:

==========================================================
Where and when is relevance above chance, across subjects?
==========================================================

One subject's attribution map is a noisy estimate. Whether a channel and a
time carry relevance *across subjects* is a question for a test over
subjects: :func:`mne_xai.evaluate.relevance_cluster_test` runs MNE's
cluster-based permutation test (Maris & Oostenveld, J Neurosci Methods 2007)
on each subject's map minus a null map of the same subject, with channel
neighbours taken from the montage.

Here eight simulated subjects carry an ERP from the left or the right
hemisphere (:func:`mne_xai.simulation.simulate_epochs`, one seed per subject).
One EEGNet is trained on two other simulated subjects and explained on each of
the eight; its maps of different subjects are then independent given the
network, as the test needs.
"""

# %%
import matplotlib.pyplot as plt
import mne
import numpy as np

from mne_xai import EEGNetClassifier, explain
from mne_xai.evaluate import relevance_cluster_test
from mne_xai.simulation import simulate_epochs

mne.set_log_level("WARNING")
settings = dict(kind="spatial", snr=1.0, verbose=False)
train = mne.concatenate_epochs(
    [
        simulate_epochs(n_epochs=100, random_state=seed, **settings)[0]
        for seed in (100, 101)
    ]
)
clf = EEGNetClassifier(max_epochs=10, batch_size=32, random_state=0, verbose=False)
clf.fit(train)
subjects = [
    simulate_epochs(n_epochs=40, random_state=seed, **settings) for seed in range(8)
]
print(
    f"Accuracy on the 8 new subjects: {np.mean([clf.score(e) for e, _ in subjects]):.2f}"
)

# %%
# One map per subject, and its null
# ---------------------------------
# The question: where does the network find evidence for ``"left"`` *because
# of what tells left from right*? Each subject's map is the ``"left"`` logit's
# DeepLIFT relevance averaged over its ``"left"`` epochs; its null is the same
# logit's relevance over its ``"right"`` epochs. Both go through the same
# network, so what the classes share (the background EEG, the network's
# response to any input) cancels in their difference.

maps = [explain(clf, e["left"], target="left", average=True) for e, _ in subjects]
null = [explain(clf, e["right"], target="left", average=True) for e, _ in subjects]
grand_average = mne.grand_average(maps)

result = relevance_cluster_test(maps, null, random_state=0, verbose=False)
print(result)
print(result.to_frame().head(3))

# %%
# The clusters as MNE objects
# ---------------------------
# ``result.t_values`` is an :class:`mne.EvokedArray` of t-values and
# ``result.mask`` marks the significant clusters, so MNE plots them. They sit
# over both hemispheres: the ``"left"`` logit gains from the left ERP on left
# epochs, and loses from the right ERP on right epochs, so both features tell
# the classes apart. The simulated ground truth of both is beside them.

window = result.time_windows[0]
centre = float(np.mean(window))
truth = mne.combine_evoked(
    [
        mne.grand_average([gt[name].average() for _, gt in subjects])
        for name in ("left", "right")
    ],
    weights=[1, 1],
)
fig, axes = plt.subplots(1, 3, figsize=(9, 3), layout="constrained")
grand_average.plot_topomap(
    times=centre, axes=axes[0], scalings=1, units="logit", colorbar=False, show=False
)
axes[0].set_title("Grand average relevance")
result.t_values.plot_topomap(
    times=centre,
    axes=axes[1],
    mask=result.mask,
    mask_params=dict(markersize=6, markerfacecolor="w"),
    scalings=1,
    units="t",
    colorbar=False,
    show=False,
)
axes[1].set_title(f"t, cluster {window[0]:.2f}-{window[1]:.2f} s")
truth.plot_topomap(
    times=centre, axes=axes[2], scalings=1, units="a.u.", cmap="Reds",
    vlim=(0, None), colorbar=False, show=False,
)  # fmt: skip
axes[2].set_title("Simulated ground truth, both")
for ax, unit in zip(axes, ["logit", "t", "a.u."], strict=True):
    fig.colorbar(ax.images[0], ax=ax, shrink=0.7, label=unit)

# %%
# Over time, the cluster covers the ERP's window (its start and end jitter by
# 20 ms between epochs):

result.t_values.plot_image(
    mask=result.mask, scalings=1, units=dict(eeg="t"), titles=dict(eeg="t (masked)")
)
feature = subjects[0][0]["left"].metadata[["feature_tmin", "feature_tmax"]]
print(f"ERP window: {feature.min().iloc[0]:.2f}-{feature.max().iloc[1]:.2f} s")

# %%
# Another question: where does the network look?
# ----------------------------------------------
# Against the ``random`` method (the chance level) on magnitudes, each map
# scaled to a mean magnitude of 1 (``normalize="mass"``, the default), the
# test asks where relevance is concentrated beyond an even spread. The answer
# is wider: any network concentrates relevance where its receptive fields
# overlap, so this tells where the network looks, not that what it learned is
# there.


def magnitudes(attribution):
    return attribution.apply_function(np.abs).average()


looks = [magnitudes(explain(clf, e["left"], target="left")) for e, _ in subjects]
chance = [
    magnitudes(explain(clf, e["left"], "random", random_state=seed))
    for seed, (e, _) in enumerate(subjects)
]
where = relevance_cluster_test(looks, chance, random_state=0, verbose=False)
print(where)
