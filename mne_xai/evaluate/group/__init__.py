"""Group-level statistics on attribution maps: where and when relevance beats a null.

One attribution map per subject (e.g. ``mne_xai.explain(..., average=True)``)
is a noisy estimate; whether a channel and time carry relevance *across
subjects* is a question for a test over subjects. :func:`relevance_cluster_test`
answers it with the cluster-based permutation test of Maris & Oostenveld
:footcite:`MarisOostenveld2007`, as MNE implements it, on the paired
differences between each subject's map and a null map of that subject.

References
----------
.. footbibliography::
"""

from ._cluster_test import relevance_cluster_test
from ._result import RelevanceClusterTestResult

__all__ = ["RelevanceClusterTestResult", "relevance_cluster_test"]
