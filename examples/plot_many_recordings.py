"""
.. _ex-many-recordings:

==============================================
Explaining and evaluating many recordings
==============================================

A study has many recordings, usually one file per subject or session.
:func:`mne_xai.recordings.explain_recordings` and
:func:`mne_xai.recordings.evaluate_recordings` run :func:`mne_xai.explain` and
a measure of :mod:`mne_xai.evaluate` on each of them, with ``n_jobs`` as in
MNE and scikit-learn: one :mod:`joblib` task per recording, each reading its
file itself (``preload=False``), so a worker holds one recording at a time.
Results come back by recording id, in input order, equal to those of the
serial run to float precision.

Here six simulated subjects, saved as ``.fif`` files, are explained by one
network trained on three of them.
"""

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mne

from mne_xai import EEGNetClassifier
from mne_xai.recordings import evaluate_recordings, explain_recordings
from mne_xai.simulation import simulate_epochs

folder = Path(tempfile.mkdtemp())
files = []
for subject in range(6):
    epochs, _ = simulate_epochs(
        "temporal", n_epochs=40, snr=2.0, random_state=subject, verbose=False
    )
    epochs.metadata["subject"] = f"S{subject:02d}"
    files.append(folder / f"sub-{subject:02d}_epo.fif")
    epochs.save(files[-1], verbose=False)

training = [mne.read_epochs(path, verbose=False) for path in files[:3]]
clf = EEGNetClassifier(max_epochs=30, batch_size=16, random_state=0, verbose=False)
clf.fit(training)

# %%
# One map per subject, in parallel
# --------------------------------
# Each subject's DeepLIFT maps are averaged over its epochs as they are
# computed; the result maps subject ids (here from the metadata column
# ``subject``) to :class:`mne.Evoked`. ``n_jobs=2`` runs two subjects at once;
# each worker gets a share of the cores for torch, so the two do not compete
# for all of them.

maps = explain_recordings(
    clf, files, "deeplift", id_column="subject", random_state=0, n_jobs=2
)
print(maps)

grand_average = mne.grand_average(list(maps.values()))
grand_average.plot_joint(
    ts_args=dict(scalings=dict(eeg=1), units=dict(eeg="logit")),
    topomap_args=dict(scalings=dict(eeg=1), units="logit"),
    title="DeepLIFT, grand average of 6 subjects",
)

# %%
# One table for all subjects
# --------------------------
# A deletion curve per subject: the tables of the six results stacked, with
# the subject in the first column.

curves = evaluate_recordings(
    clf,
    files,
    "deletion_curve",
    id_column="subject",
    method="deeplift",
    n_steps=8,
    random_state=0,
    n_jobs=2,
)
table = curves.to_frame()
print(table.head())

aopc = table.groupby("subject")["aopc"].mean()
fig, ax = plt.subplots(layout="constrained")
aopc.plot.bar(ax=ax, color=["C0"] * 3 + ["C1"] * 3)
ax.legend(handles=ax.patches[2:4], labels=["trained on", "held out"])
ax.margins(y=0.2)  # room above the bars for the legend
ax.set(ylabel="AOPC (logit)", title="Deletion curve per subject")

# %%
# On a cluster
# ------------
# The same calls run on a :mod:`dask.distributed` cluster through joblib's
# Dask backend (``pip install distributed``); the estimator travels with each
# recording's task, and a recording whose worker dies is retried on another::
#
#     from dask.distributed import Client
#     import joblib
#
#     client = Client("tcp://scheduler:8786")  # or Client(LocalCluster(...))
#     with joblib.parallel_backend("dask"):
#         maps = explain_recordings(clf, files, "deeplift", random_state=0)
