"""Sanity checks: whether attribution maps change when the model or labels do.

Adebayo et al. :footcite:`AdebayoEtAl2018` showed that some attribution methods
produce nearly the same maps for a trained network and for a network whose
weights are random, or trained on random labels: such maps describe the input
(edges, amplitude) rather than what the network learned. The checks here
explain the same epochs with the fitted estimator and with a randomized
variant of it, always through :func:`mne_xai.explain`, and measure, epoch by
epoch, how similar the two maps are:

- :func:`parameter_randomization_check`: re-initialize the network's layers,
  from the output down, all at once up to each layer (``"cascading"``) or one
  at a time (``"independent"``);
- :func:`target_randomization_check`: explain a random other class;
- :func:`data_randomization_check`: a copy of the estimator trained on shuffled
  labels.

A method passes a check when its maps change, i.e. when their similarity drops
below a threshold (see :class:`SanityCheckResult`). Passing is necessary, not
sufficient: maps that change with the weights may still point at the wrong
samples (noise drawn afresh for every network would pass; the checks give the
original and every variant one seed, so the ``"random"`` method, whose maps do
not depend on the network, fails them). The faithfulness and localization
measures of :mod:`mne_xai.evaluate` tell whether the maps are right.

References
----------
.. footbibliography::
"""

from ._data_randomization import data_randomization_check
from ._parameter_randomization import parameter_randomization_check
from ._plot import plot_sanity_check
from ._result import SanityCheckResult
from ._similarity import SIMILARITY_METRICS, map_similarity, structural_similarity
from ._target_randomization import target_randomization_check

__all__ = [
    "SIMILARITY_METRICS",
    "SanityCheckResult",
    "data_randomization_check",
    "map_similarity",
    "parameter_randomization_check",
    "plot_sanity_check",
    "structural_similarity",
    "target_randomization_check",
]
