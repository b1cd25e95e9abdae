"""Progress bars that draw only where a person watches them."""

import os
import sys

from mne.utils import ProgressBar, get_config, logger

from ._held import HeldWhileUsed


def progress_bar(iterable, *, max_value=None, mesg=None, unit):
    """Return MNE's progress bar, or log lines where stderr is not a terminal.

    tqdm redraws its bar with carriage returns, which fill log files and CI
    output with hundreds of partial lines. A bar is drawn only where it is
    redrawn in place: on a terminal, and in a Jupyter notebook (stderr is its
    kernel's stream, where MNE's ``tqdm.auto`` draws a widget), unless
    ``MNE_TQDM`` chooses the backend explicitly. Like MNE's own bars, it is
    hidden when the log level is above INFO. Where no bar is drawn, a line at
    each tenth of the work (of ten steps or more) says how far it is.

    Parameters
    ----------
    iterable : iterable | int
        What to iterate over, or the number of steps of a bar updated by hand.
    max_value : int | None
        Number of steps.
    mesg : str | None
        The bar's label.
    unit : str
        What a step is, in the plural (``"batches"``): the bar's rate and the
        lines count them.

    Returns
    -------
    bar : mne.utils.ProgressBar
        The bar.
    """
    if _switched_off_here():
        return _ProgressLines(iterable, max_value=max_value, mesg=mesg, unit=unit)
    return ProgressBar(
        iterable,
        max_value=max_value,
        mesg=mesg,
        which_tqdm=get_config("MNE_TQDM"),
        unit=unit,
    )


#: Steps of work below which no progress line is logged where bars are off.
_MIN_LOGGED_STEPS = 10


class _ProgressLines(ProgressBar):
    """MNE's progress bar switched off, logging a line at each tenth of the work.

    Where no bar is drawn (a log file, CI), long work said only that it had
    started: an explain of 800 epochs in 200 batches logged one line in a
    minute. Lines at each tenth, at the info level, say how far it is
    without filling the log.
    """

    def __init__(self, iterable, *, max_value=None, mesg=None, unit):
        super().__init__(iterable, max_value=max_value, mesg=mesg, which_tqdm="off")
        self._mesg = mesg or "Progress"
        self._unit = unit
        self._done = 0
        self._tenths_logged = 0

    def update(self, cur_value):  # noqa: D102
        # MNE's counts from its bar, which, switched off, counts nothing.
        self.update_with_increment_value(cur_value - self._done)

    def update_with_increment_value(self, increment_value):  # noqa: D102
        super().update_with_increment_value(increment_value)
        self._done += increment_value
        if self.max_value < _MIN_LOGGED_STEPS:
            return
        tenths = 10 * self._done // self.max_value
        if tenths > self._tenths_logged:
            self._tenths_logged = tenths
            logger.info(
                f"{self._mesg}: {self._done} of {self.max_value} {self._unit} "
                f"({100 * self._done / self.max_value:.0f}%)"
            )

    def __iter__(self):  # noqa: D105
        for item in self.iterable:
            yield item
            self.update_with_increment_value(1)


class _MneBarsOff(HeldWhileUsed):
    """Make the bars MNE draws inside its own functions follow :func:`progress_bar`.

    MNE's cluster tests draw their permutations' bar wherever stderr goes, so
    a log file got it redrawn with carriage returns; its bars read
    ``MNE_TQDM``, set to "off" for the calls where ours are off. It is the
    process's: calls on several threads each set and deleted it: the first to end
    deleted it under the others (whose MNE bars were drawn again), and the
    next ``del`` raised KeyError in place of their result.
    """

    def _wanted(self):
        return _switched_off_here()

    def _make(self):
        os.environ["MNE_TQDM"] = "off"

    def _undo(self):
        os.environ.pop("MNE_TQDM", None)


mne_bars_as_ours = _MneBarsOff()


def bars_drawn():
    """Return whether :func:`progress_bar` draws its bars here.

    Where it does not (a log file, CI), progress that matters step by step
    is written as log lines.

    Returns
    -------
    drawn : bool
        False where the bars are switched off.
    """
    return not _switched_off_here() and get_config("MNE_TQDM") != "off"


def _switched_off_here():
    """Whether bars are off by mne_xai's rule (``MNE_TQDM`` unset, no terminal)."""
    return get_config("MNE_TQDM") is None and not _drawn_in_place(sys.stderr)


def _on_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _drawn_in_place(stream):
    in_a_notebook = type(stream).__module__.startswith("ipykernel.")
    return in_a_notebook or _on_terminal(stream)
