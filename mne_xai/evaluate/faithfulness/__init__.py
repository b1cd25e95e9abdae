"""Whether attribution maps reflect what the network does: perturb, and watch the score.

Every measure replaces the parts of each epoch that an attribution map ranks
as relevant (or random parts) and records how the class score (the logit of
the explained class) changes. Attributions come from :func:`mne_xai.explain`,
called batch by batch, or from an attribution :class:`mne.EpochsArray` the user
computed already; the evaluation never computes attributions itself.

All measures stream over batches of epochs (memory grows with ``batch_size``,
not with the number of epochs), evaluate the perturbed variants of a batch in
large forward passes, show a progress bar, and are reproducible with
``random_state``. Where only one channel changes (the perturbation tests),
the scores of networks that begin with a linear filter bank are computed
exactly from the changed samples, without evaluating each perturbed epoch in
full.

Removed samples are replaced by a baseline:

- ``"zeros"``: zeros, as in Cui et al. :footcite:`CuiEtAl2023`;
- ``"mean"``: the mean training epoch (``estimator.data_mean_``);
- ``"noise"``: Gaussian noise with each channel's standard deviation in the
  epoch;
- ``"interpolate"``: each removed channel is replaced by spherical-spline
  interpolation :footcite:`PerrinEtAl1989` from the channels still present, as
  :meth:`mne.Epochs.interpolate_bads` does, so perturbed epochs stay close to
  the data manifold. It replaces whole channels, so it is available where
  whole channels (or patches of single channels) are removed, from data of
  two channels or more. With every channel removed (the end of a deletion
  curve, the start of an insertion curve) none is left to interpolate from,
  and the epoch is zeros.

References
----------
.. footbibliography::
"""

from ._baselines import BASELINES
from ._curves import deletion_curve, insertion_curve
from ._perturbation import channel_perturbation_test, deletion_test, perturbation_test
from ._results import (
    ChannelPerturbationTestResult,
    CurveResult,
    DeletionTestResult,
    FaithfulnessResult,
    PerturbationTestResult,
)

__all__ = [
    "BASELINES",
    "ChannelPerturbationTestResult",
    "CurveResult",
    "DeletionTestResult",
    "FaithfulnessResult",
    "PerturbationTestResult",
    "channel_perturbation_test",
    "deletion_curve",
    "deletion_test",
    "insertion_curve",
    "perturbation_test",
]
