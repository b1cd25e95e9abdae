"""What the cluster test returns: the t-map and clusters as MNE objects, a table."""

import numpy as np
import pandas as pd
from mne.utils import _validate_type


class RelevanceClusterTestResult:
    """Where and when relevance is above its null, from a cluster test over subjects.

    Returned by :func:`relevance_cluster_test`; not meant to be built by hand.
    Every map is an :class:`mne.EvokedArray` on the subjects' channels and
    times, so it plots as MNE data, e.g.
    ``result.t_values.plot_topomap(times, mask=result.mask, scalings=1,
    units="T")``.

    Attributes
    ----------
    t_values : mne.EvokedArray
        The one-sample t statistic of the subject − null differences at every
        channel and time (``nave`` is the number of subjects).
    clusters : list of ndarray of bool, shape (n_channels, n_times)
        Every cluster of samples beyond ``threshold``, significant or not,
        sorted by p-value (then by mass); index ``k`` is cluster ``k`` of
        :meth:`to_frame`.
    p_values : ndarray, shape (n_clusters,)
        Each cluster's permutation p-value (family-wise over the whole map).
    masses : ndarray, shape (n_clusters,)
        Each cluster's statistic: the sum of its t-values.
    grand_average : mne.EvokedArray
        Mean over subjects of their maps, as tested (after ``normalize``).
    null_average : mne.EvokedArray | None
        Mean over subjects of their null maps, as tested; None for a zero null.
    alpha : float
        The significance level.
    threshold : float
        The t-value that forms clusters.
    tail : -1 | 0 | 1
        The alternative: relevance below, different from or above the null.
    n_subjects : int
        Number of subjects.
    n_permutations : int
        Number of sign flips drawn (all of them for an exact test).
    h0 : ndarray
        The permutation distribution of the largest cluster mass.
    null : str
        ``"zero"`` or ``"maps"``.
    normalize : str | None
        How each map was scaled before testing.
    adjacency : str
        Which neighbours a cluster may span, in words.
    """

    def __init__(
        self,
        *,
        t_values,
        clusters,
        p_values,
        masses,
        grand_average,
        null_average,
        alpha,
        threshold,
        tail,
        n_subjects,
        n_permutations,
        h0,
        null,
        normalize,
        adjacency,
    ):
        self.t_values = t_values
        self.clusters = list(clusters)
        self.p_values = np.asarray(p_values, float)
        self.masses = np.asarray(masses, float)
        self.grand_average = grand_average
        self.null_average = null_average
        self.alpha = alpha
        self.threshold = threshold
        self.tail = tail
        self.n_subjects = n_subjects
        self.n_permutations = n_permutations
        self.h0 = h0
        self.null = null
        self.normalize = normalize
        self.adjacency = adjacency

    @property
    def significant(self):
        """Indices of the clusters with a p-value below ``alpha``."""
        return np.flatnonzero(self.p_values < self.alpha)

    @property
    def mask(self):
        """Samples in any significant cluster, shape (n_channels, n_times).

        A boolean array; pass it as ``mask`` to :meth:`mne.Evoked.plot_topomap`,
        :meth:`~mne.Evoked.plot_image` or :meth:`~mne.Evoked.plot_joint`.
        """
        union = np.zeros(self.t_values.data.shape, bool)
        for index in self.significant:
            union |= self.clusters[index]
        return union

    def cluster_evoked(self, index):
        """Return one cluster as an Evoked: its t-values, zero elsewhere.

        Parameters
        ----------
        index : int
            The cluster (a row of :meth:`to_frame`).

        Returns
        -------
        cluster : mne.EvokedArray
            The t-values inside the cluster and 0 outside, with the cluster
            and its p-value in ``comment``; plot it with ``scalings=1``.
        """
        _validate_type(index, "int", "index")
        if not -len(self.clusters) <= index < len(self.clusters):
            raise IndexError(
                f"index {index} is out of range: the test found "
                f"{len(self.clusters)} cluster(s)."
            )
        index %= len(self.clusters)  # named as in to_frame, not as -1
        cluster = self.t_values.copy()
        cluster.data = np.where(self.clusters[index], cluster.data, 0.0)
        cluster.comment = f"cluster {index} (p = {self.p_values[index]:.3g})"
        return cluster

    @property
    def significant_clusters(self):
        """The significant clusters as Evoked (see :meth:`cluster_evoked`)."""
        return [self.cluster_evoked(int(index)) for index in self.significant]

    def _extent(self, index):
        """Return the first and last time (s) and the channel names of a cluster."""
        mask = self.clusters[index]
        times = self.t_values.times[mask.any(axis=0)]
        channels = [
            name
            for name, inside in zip(
                self.t_values.ch_names, mask.any(axis=1), strict=True
            )
            if inside
        ]
        return float(times[0]), float(times[-1]), channels

    @property
    def time_windows(self):
        """The first and last sample time (s) of each significant cluster."""
        return [self._extent(index)[:2] for index in self.significant]

    @property
    def channels(self):
        """The channel names of each significant cluster."""
        return [self._extent(index)[2] for index in self.significant]

    def to_frame(self):
        """Return one row per cluster.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``cluster`` (index into ``clusters``), ``p_value``,
            ``significant``, ``tmin`` and ``tmax`` (first and last sample time
            in the cluster, s), ``channels`` (tuple of names),
            ``n_channels``, ``n_samples`` (channel × time samples) and
            ``mass`` (sum of the cluster's t-values), sorted by p-value.
        """
        columns = (
            "cluster",
            "p_value",
            "significant",
            "tmin",
            "tmax",
            "channels",
            "n_channels",
            "n_samples",
            "mass",
        )
        rows = []
        for index, mask in enumerate(self.clusters):
            tmin, tmax, channels = self._extent(index)
            rows.append(
                (
                    index,
                    self.p_values[index],
                    bool(self.p_values[index] < self.alpha),
                    tmin,
                    tmax,
                    tuple(channels),
                    len(channels),
                    int(mask.sum()),
                    self.masses[index],
                )
            )
        return pd.DataFrame(rows, columns=columns)

    def __repr__(self):
        null = "zero" if self.null == "zero" else "null maps"
        summary = (
            f"{self.n_subjects} subjects vs {null}, {len(self.clusters)} "
            f"cluster(s), {len(self.significant)} significant at alpha {self.alpha:g}"
        )
        windows = [
            f"{tmin:.3f}-{tmax:.3f} s (p = {self.p_values[index]:.3g})"
            for index, (tmin, tmax) in zip(
                self.significant, self.time_windows, strict=True
            )
        ]
        if windows:
            summary += ": " + ", ".join(windows)
        return f"<RelevanceClusterTestResult | {summary}>"
