"""What the faithfulness measures return: arrays by name, and one tidy table."""

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..._checks import check_axes
from ..._figure_text import plain_text


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

    def copy(self):
        """Return a shallow copy of the same kind (``dict.copy`` gives a plain dict).

        Returns
        -------
        result : instance of the same class
            The copy, with its table, figure and summary.
        """
        return type(self)(**self)

    def to_frame(self):
        """Return the values as a table.

        Returns
        -------
        table : pandas.DataFrame
            One row per epoch, or per epoch and level, with a column
            ``epoch`` and one column per value. ``epoch`` numbers the epochs
            as MNE does, by the ``selection`` of the Epochs given (as their
            maps' :meth:`~mne.Epochs.to_data_frame` and
            :func:`~mne_xai.evaluate.localization_scores` do, so that the
            tables join on it); epochs given as an array or a list of Epochs
            are numbered by position.
        """
        n_epochs = len(self.target)
        n_levels = 1 if self._levels is None else len(self[self._levels[0]])
        table = {"epoch": np.repeat(self.epoch, n_levels)}
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
            values = np.asarray(self[self._headline], float)
            defined = values[~np.isnan(values)]
            # NaN, as the measure's own mean, when none is defined: np.nanmean
            # would warn "Mean of empty slice" on printing the result.
            mean = defined.mean() if defined.size else np.nan
            summary += f", mean {self._headline} {mean:.3g}"
        return f"<{name} | {summary}>"


class CurveResult(FaithfulnessResult):
    """The result of :func:`~mne_xai.evaluate.deletion_curve` and insertion_curve."""

    _per_epoch = ("target", "aopc")
    _levels = ("fractions", "fraction")
    _per_level = {"scores": "score"}
    _headline = "aopc"

    @plain_text()
    def plot(self, *, label=None, color=None, axes=None, show=True):
        """Plot the mean curve over epochs, with its spread between epochs.

        Parameters
        ----------
        label : str | None
            Legend entry (e.g. the method), followed by the mean AOPC; None
            leaves the curve out of the legend.
        color : color | None
            The curve's colour (any matplotlib colour); None takes the next
            of the axes' cycle.
        axes : matplotlib.axes.Axes | None
            Where to draw, e.g. the axes of another curve to compare methods;
            None makes a new figure.
        show : bool
            Show the figure.

        Returns
        -------
        fig : matplotlib.figure.Figure
            The change of the target logit from the first step (the intact
            epoch for deletion, the baseline for insertion) against the
            fraction of the epoch perturbed: the mean over epochs, with a band
            from the 25th to the 75th percentile. Changes rather than logits
            are averaged so that epochs starting from different logits share
            one curve; its mean height is the mean AOPC (negated for
            deletion).
        """
        import matplotlib.pyplot as plt
        from mne.viz.utils import plt_show

        from ..._figure_text import _wrap_text

        check_axes(axes)
        if axes is None:
            _, axes = plt.subplots(figsize=(6, 3.5), layout="constrained")
        change = self.scores - self.scores[:, :1]
        if label is not None:
            # The legend sits inside the axes: long names wrap to a part of it.
            width = 0.4 * axes.get_position().width * axes.figure.get_figwidth()
            label = _wrap_text(
                f"{label} (AOPC {np.nanmean(self.aopc):.2f})", width, "small"
            )
        (line,) = axes.plot(
            self.fractions, np.nanmean(change, axis=0), label=label, color=color
        )
        low, high = np.nanpercentile(change, [25, 75], axis=0)
        axes.fill_between(self.fractions, low, high, color=line.get_color(), alpha=0.15)
        axes.axhline(0, color="0.7", linewidth=0.5)
        axes.set(
            xlabel="fraction of the epoch perturbed",
            ylabel="change in target logit",
            xlim=(0, 1),
        )
        if label is not None:
            axes.legend(loc="best", fontsize="small")
        plt_show(show)
        return axes.figure


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
