"""What the faithfulness measures return: arrays by name, and one tidy table."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch


class FaithfulnessResult(Bunch):
    """The arrays of a faithfulness measure, by name, with a table view.

    Keys are attributes too (``result.aopc``), as in scikit-learn's
    :class:`~sklearn.utils.Bunch`. :meth:`to_frame` puts the values of every
    epoch (and, where the measure has levels such as patch lengths or
    deletion steps, of every level) in one table, the form every measure and
    sanity check of :mod:`mne_xai.evaluate` offers.
    """

    #: Keys holding one value per epoch; each becomes a column of that name.
    _per_epoch = ("target",)
    #: The key of the levels (one value per level), and its column; None if none.
    _levels = None
    #: Keys with one value per level, or per epoch and level, and their columns.
    _per_level = {}
    #: The key summarised in the repr, averaged over epochs.
    _headline = None

    def to_frame(self):
        """Return the values as a table.

        Returns
        -------
        table : pandas.DataFrame
            One row per epoch, or per epoch and level, with a column
            ``epoch`` (the epoch's position in the data) and one column per
            value.
        """
        n_epochs = len(self.target)
        n_levels = 1 if self._levels is None else len(self[self._levels[0]])
        table = {"epoch": np.repeat(np.arange(n_epochs), n_levels)}
        if self._levels is not None:
            key, column = self._levels
            table[column] = np.tile(self[key], n_epochs)
        for key in self._per_epoch:
            table[key] = np.repeat(self[key], n_levels)
        for key, column in self._per_level.items():
            values = np.asarray(self[key])
            if values.ndim == 1:  # one value per level, the same for every epoch
                values = np.broadcast_to(values, (n_epochs, n_levels))
            table[column] = values.reshape(-1)
        return pd.DataFrame(table)

    def __repr__(self):
        name = type(self).__name__
        summary = f"{len(self.target)} epochs"
        if self._headline is not None:
            summary += f", mean {self._headline} {np.nanmean(self[self._headline]):.3g}"
        return f"<{name} | {summary}>"


class CurveResult(FaithfulnessResult):
    """The result of :func:`~mne_xai.evaluate.deletion_curve` and insertion_curve."""

    _per_epoch = ("target", "aopc")
    _levels = ("fractions", "fraction")
    _per_level = {"scores": "score"}
    _headline = "aopc"


class PerturbationTestResult(FaithfulnessResult):
    """The result of :func:`~mne_xai.evaluate.perturbation_test`."""

    _levels = ("patch_fractions", "patch_fraction")
    _per_level = {"patch_length": "patch_length", "correlation": "correlation"}
    _headline = "correlation"


class ChannelPerturbationTestResult(FaithfulnessResult):
    """The result of :func:`~mne_xai.evaluate.channel_perturbation_test`."""

    _per_epoch = ("target", "correlation")
    _headline = "correlation"


class DeletionTestResult(FaithfulnessResult):
    """The result of :func:`~mne_xai.evaluate.deletion_test`."""

    _per_epoch = (
        "target",
        "score",
        "score_deleted",
        "score_random",
        "fraction_deleted",
        "channel_score_deleted",
        "channel_score_random",
        "n_channels_deleted",
    )
    _headline = "fraction_deleted"
