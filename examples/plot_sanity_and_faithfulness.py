"""
.. _ex-sanity-faithfulness:

==========================================================
Sanity and faithfulness checks: can these maps be trusted?
==========================================================

An attribution map always looks like something. Two kinds of check ask
whether it shows what the network does:

- the **sanity check** of Adebayo et al. (NeurIPS 2018) randomizes the
  network's layers from the output down and asks whether the map changes
  (:func:`mne_xai.evaluate.parameter_randomization_check`);
- **faithfulness** tests remove what the map calls relevant and ask whether
  the decision changes: the deletion curve and its AOPC
  (:func:`mne_xai.evaluate.deletion_curve`) and the perturbation test of Cui
  et al. (Front Comput Neurosci 2023,
  :func:`mne_xai.evaluate.perturbation_test`).

We run both on EEGNet trained on imagined movements of both hands versus both
feet (EEGBCI, subject 1), for saliency, gradient × input and DeepLIFT, with
the random map as chance. The two checks rank the methods in opposite orders,
and we look at why.

The data are read through MNE's EEGBCI fetcher; set ``MNE_DATA`` to a folder
holding (or allowed to download) ``MNE-eegbci-data``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.evaluate import (
    deletion_curve,
    parameter_randomization_check,
    perturbation_test,
    plot_sanity_check,
    trust_summary,
)

epochs = load_eegbci(1, "hands_vs_feet", verbose=False).crop(0.5, 2.5)
train, test = train_test_split(
    np.arange(len(epochs)),
    test_size=1 / 3,
    stratify=epochs.events[:, 2],
    random_state=0,
)
# Dropout 0.25 rather than 0.5 suits such a small training set.
clf = EEGNetClassifier(
    max_epochs=100, batch_size=8, module__dropout=0.25, random_state=0, verbose=False
).fit(epochs[train])
held_out = epochs[test]
chance = np.bincount(held_out.events[:, 2]).max() / len(held_out)  # majority class
print(f"Held-out accuracy: {clf.score(held_out):.2f} (chance {chance:.2f})")
methods = ["saliency", "gradient_x_input", "deeplift", "random"]

# %%
# Cascading model randomization
# -----------------------------
# Each step re-initializes one more layer, from the output down, in a copy of
# the network, and compares every held-out epoch's map with its map under the
# trained network. The default measure is the Spearman correlation of the
# maps' absolute values; a method passes when it falls below 0.4 once every
# layer is random.
sanity = [
    parameter_randomization_check(
        clf, held_out, method, target="true", random_state=0, verbose=False
    )
    for method in methods
]
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", sharey=True)
plot_sanity_check(sanity, axes=axes[0], show=False)
plot_sanity_check(sanity, metric="spearman", axes=axes[1], show=False)
axes[0].set_title("Absolute maps (the verdict)")
axes[1].set_title("Signed maps")
for result in sanity:
    final = result.mean.iloc[-1]
    print(
        f"{result.method:>16}: |maps| {final['spearman_abs']:.2f} "
        f"({'passes' if result.passes else 'fails'}), signed {final['spearman']:.2f}"
    )

# %%
# Saliency falls below the cut as the top layers are randomized (to about 0.6
# with the classifier or the last batch norm random, and to about 0.1 further
# down): at the end its map is entirely the network's. Gradient × input and
# DeepLIFT stay near 0.5 on the absolute maps and "fail": they multiply a
# gradient by the input, and the input's large samples keep large relevance
# whatever the network. Adebayo et al. saw the same for gradient × input and
# integrated gradients. The signed correlation (right) tells the rest: it
# falls to about zero for them too, so *which samples argue for or against
# the class* is the network's doing. The random map, drawn from its seed
# whatever the network, stays at 1 and fails: it is the reference of the
# faithfulness tests below, not of this check.

# %%
# Faithfulness: the perturbation test
# -----------------------------------
# Random patches of several lengths, each on one channel, are set to zero
# one at a time; the relevance inside each patch should predict how much the
# logit of the epoch's class drops. The correlation is averaged over patch
# lengths and epochs.
for method in methods:
    result = perturbation_test(
        clf, held_out, method, target="true", random_state=0, verbose=False
    )
    print(f"{method:>16}: perturbation r = {np.nanmean(result.correlation):.2f}")

# %%
# Gradient × input and DeepLIFT predict the effect of removing a patch well;
# saliency, which has neither the data's amplitude nor the sign of a
# contribution, does far less well (about 0.2 against 0.9), though better
# than the random map (about 0). Their relevance is a
# first-order estimate of what removing a sample does to the logit.
#
# Faithfulness: deletion curves, class by class
# ---------------------------------------------
# The deletion curve removes (sets to zero) the samples of each epoch in
# order of relevance, most relevant first, 1/64 of them at a time, and
# records the logit of the epoch's class. A faithful map makes it fall fast:
# a large area over the curve (AOPC). We draw the curves of each class apart.
curves = {
    method: deletion_curve(
        clf, held_out, method, target="true", random_state=0, verbose=False
    )
    for method in methods
}
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", sharey=True)
for ax, (condition, code) in zip(axes, held_out.event_id.items(), strict=True):
    in_class = held_out.events[:, 2] == code
    for method, curve in curves.items():
        ax.plot(
            curve.fractions,
            curve.scores[in_class].mean(axis=0),
            label=f"{method} (AOPC {curve.aopc[in_class].mean():.1f})",
        )
    ax.axhline(0, color="k", lw=0.5)
    ax.set(
        xlabel="Fraction of samples removed (most relevant first)",
        title=f"{condition} epochs, explained for {condition}",
    )
    ax.legend(fontsize="small")
axes[0].set_ylabel("Logit of the true class")
for method, curve in curves.items():
    print(f"{method:>16}: AOPC over all epochs {curve.aopc.mean():.2f}")

# %%
# Already the first step, 1/64 of the samples set to zero, moves the logit by
# several units, and not always downwards: epochs with a part of their
# samples at zero are unlike any the network was trained on. For gradient ×
# input and DeepLIFT its logits then run away in a direction that depends on
# the class: far above the starting point for one class, far below zero for
# the other. The two classes' AOPCs of about ±20
# cancel in the mean over all epochs, which falls below the random map's and
# would rank saliency first: here the mean AOPC does not rank the methods.
# Read deletion curves class by class and look at their first steps; the
# perturbation test, which removes one short patch at a time, stays closer to
# the data, and replacing whole channels by their interpolation from the
# others (``unit="channel", baseline="interpolate"``) keeps the epochs closer
# to real EEG still.

# %%
# Reading the checks together
# ---------------------------
# The rankings are reversed: by the perturbation test, gradient × input and
# DeepLIFT are the faithful methods and saliency lies far behind them, and yet
# saliency is the one that "passes" the sanity check. Both results are right; they
# answer different questions. For the claim "these samples drove the
# decision", trust the faithfulness tests, run beside the random map; for
# "this map depends on what the network learned", read the whole
# randomization curve and its signed version, not one verdict at one
# threshold. The user guide's :ref:`trust` page says more, and every method's
# page in :ref:`methods` shows both checks on EEGNet and InterpretableCNN.
#
# :func:`mne_xai.evaluate.trust_summary` runs these readings for you: per
# class, deletion against the random order with a confidence interval; the
# cascading randomization, and what a map that does not change still shares
# with the input's magnitude; and whether the map changes when another class
# is explained. Each method gets one sentence of advice and the evidence.
summary = trust_summary(
    clf,
    held_out,
    ["saliency", "gradient_x_input", "deeplift"],
    random_state=0,
    verbose=False,
)
print(summary)
for method, advice in summary.table["advice"].items():
    print(f"{method:>16}: {advice}")

# %%
# The summary finds what we found by hand. Each method beats random deletion
# for one class only; gradient × input and DeepLIFT leave the range of the
# logit as they delete, so their AOPC measures the network's answer to the
# holes as much as the maps; their maps keep the input's structure under
# randomization; and saliency's maps are the same whichever class is
# explained. ``summary.describe()`` gives each reading with its evidence.
plt.show()
