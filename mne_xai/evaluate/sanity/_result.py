"""What a sanity check returns: similarity per step and epoch, and its verdict."""

import numpy as np
import pandas as pd


def _mean_over_epochs(values):
    """Mean of each row without its NaNs; NaN (silently) when all are NaN."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=1)
    total = np.where(defined, values, 0).sum(axis=1)
    return np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0)


class SanityCheckResult:
    """How much a method's maps change under one randomization.

    Returned by :func:`~mne_xai.evaluate.parameter_randomization_check`,
    :func:`~mne_xai.evaluate.data_randomization_check` and
    :func:`~mne_xai.evaluate.target_randomization_check`; not meant to be
    built by hand.

    Parameters
    ----------
    check : "cascading" | "independent" | "target" | "data"
        The randomization.
    method : str
        The attribution method.
    steps : list of str
        The randomized variants, in order: for parameter randomization the
        layer re-initialized at each step, from the output down; otherwise
        ``["target"]`` or ``["data"]``.
    similarity : dict of str to ndarray, shape (n_steps, n_epochs)
        For each measure of :func:`map_similarity`, the similarity of every
        epoch's original and randomized maps at each step.
    metric : str
        The measure the verdict rests on.
    threshold : float
        The method passes when ``metric`` falls below this value.
    input_similarity : ndarray, shape (1 + n_steps, n_epochs) | None
        Spearman correlation of each epoch's ``|map|`` with the input's
        magnitude ``|x|``, in units of the training data's standard deviation
        of each channel type (of each epoch's, for a network that records
        none): the original maps (row 0), then the maps at each step. A map that
        stays similar after randomization because it mirrors the data shows
        here (see :func:`mne_xai.evaluate.trust_summary`).
    epoch : ndarray of int, shape (n_epochs,) | None
        The epochs' numbers, MNE's ``selection`` of the Epochs checked
        (positions for an array or a list of Epochs); None numbers them by
        position.

    Attributes
    ----------
    check, method, steps, similarity, metric, threshold, input_similarity, epoch
        As given.
    mean : pandas.DataFrame
        The curves: mean similarity over epochs (NaN ignored), one row per
        step and one column per measure.
    passes : bool
        Whether the maps changed: the mean of ``metric`` over epochs is below
        ``threshold`` after re-initializing every layer (``"cascading"``),
        after re-initializing at least one layer (``"independent"``), or for
        the random class or labels (``"target"``, ``"data"``). NaN (every map
        constant) does not pass.

    Notes
    -----
    The threshold is a convention, not a boundary: a similarity just above
    it means that the maps share part of their ranking, and failing says
    nothing about what they share. Maps that multiply a gradient by the
    input share the input's magnitude whatever the network
    :footcite:`AdebayoEtAl2018`; :func:`~mne_xai.evaluate.trust_summary`
    measures how much of a map survives randomization because of the input,
    and reads the check beside deletion.

    References
    ----------
    .. footbibliography::
    """

    def __init__(
        self,
        check,
        method,
        steps,
        similarity,
        *,
        metric,
        threshold,
        input_similarity=None,
        epoch=None,
    ):
        self.check = check
        self.method = method
        self.steps = list(steps)
        self.similarity = similarity
        self.metric = metric
        self.threshold = threshold
        self.input_similarity = input_similarity
        n_epochs = next(iter(similarity.values())).shape[1]
        self.epoch = np.arange(n_epochs) if epoch is None else np.asarray(epoch)

    @property
    def mean(self):
        """Mean similarity over epochs: one row per step, one column per measure."""
        means = {
            metric: _mean_over_epochs(values)
            for metric, values in self.similarity.items()
        }
        return pd.DataFrame(means, index=pd.Index(self.steps, name="step"))

    @property
    def _verdict_similarity(self):
        curve = self.mean[self.metric]
        return curve.min() if self.check == "independent" else curve.iloc[-1]

    @property
    def passes(self):
        """Whether the maps changed enough (see the class description)."""
        return bool(self._verdict_similarity < self.threshold)

    def to_frame(self):
        """Return every similarity as a long table.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``check``, ``method``, ``step``, ``metric``, ``epoch``
            (the epoch's number as MNE gives it, the ``selection`` of the
            Epochs checked, as in the faithfulness measures' tables and
            :func:`~mne_xai.evaluate.localization_scores`) and
            ``similarity``, one row per epoch, step and measure.
        """
        n_steps, n_epochs = self.similarity[self.metric].shape
        tables = [
            pd.DataFrame(
                dict(
                    check=self.check,
                    method=self.method,
                    step=np.repeat(self.steps, n_epochs),
                    metric=metric,
                    epoch=np.tile(self.epoch, n_steps),
                    similarity=values.ravel(),
                )
            )
            for metric, values in self.similarity.items()
        ]
        return pd.concat(tables, ignore_index=True)

    def __repr__(self):
        n_epochs = self.similarity[self.metric].shape[1]
        if np.isnan(self._verdict_similarity):
            # Every map compared was constant: nothing says whether it changed.
            verdict = "fails (undefined: every map compared was constant"
        elif self.passes:
            verdict = "passes (maps change"
        else:
            verdict = "fails (maps stay similar"
        return (
            f"<SanityCheckResult | {self.check} randomization of {self.method}, "
            f"{len(self.steps)} step(s), {n_epochs} epochs: {verdict}: "
            f"{self.metric} {self._verdict_similarity:.2f}, threshold "
            f"{self.threshold:g})>"
        )
