"""How the estimators train: the automatic schedule, skorch callbacks, log levels.

The estimators of :mod:`mne_xai.estimators` use these; the public names are
also importable from there.
"""

import contextlib
import functools
import io
import math
import numbers
import re

import numpy as np
import torch
from mne.utils import _validate_type, logger, use_log_level
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PrintLog
from torch.utils.data import BatchSampler, RandomSampler, Sampler, SequentialSampler

from ._checks import check_positive_int
from ._progress import _on_terminal
from ._warnings import warn

#: The training budget of ``max_epochs="auto"``, in optimizer steps (see
#: :func:`training_schedule`). EEGNet on 36 trials learned fully in about 500
#: steps (batch 8 x 100 epochs, or batch 32 x 250); twice that leaves a margin
#: for harder data, and costs seconds on small data sets.
MIN_TRAINING_STEPS = 1000
#: Bounds of ``max_epochs="auto"``: every epoch is seen at least this often on
#: large data (the cosine schedule needs a few passes), and tiny data with a
#: large explicit batch do not loop for ever.
MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS = 20, 500
#: Bounds of ``batch_size="auto"``: below 8 batch-norm statistics are noisy;
#: above 64 compact EEG networks generalize worse and gain no speed on CPUs.
MIN_AUTO_BATCH, MAX_AUTO_BATCH = 8, 64


def check_schedule(batch_size, max_epochs):
    """Refuse a ``batch_size`` or ``max_epochs`` that is not "auto" or an int in range.

    ``max_epochs=0`` builds the network without training it, as in skorch.
    """
    for name, value, lowest in (
        ("batch_size", batch_size, 1),
        ("max_epochs", max_epochs, 0),
    ):
        if isinstance(value, str) and value == "auto":
            continue
        _validate_type(value, "int-like", name, '"auto" or an integer')
        if value < lowest:
            raise ValueError(f"{name} must be at least {lowest}, got {value}.")


def training_schedule(n_samples, batch_size="auto", max_epochs="auto"):
    """Batch size and number of epochs that train on ``n_samples`` examples.

    The rule behind ``batch_size="auto"`` and ``max_epochs="auto"``. What a
    network learns depends on how many optimizer steps it takes, not on how
    many passes over the data: with 36 training trials, 100 epochs at batch 32
    are 200 steps and leave EEGNet undertrained, while the same epochs at batch
    8 are 500 steps. So:

    - the batch size grows like the square root of the number of examples,
      rounded to a power of two within [8, 64] (8 below 128 examples, 16 from
      128, 32 from 513, 64 from 2,048), so small data sets still get
      several steps per pass and large ones use efficient batches;
    - the number of epochs is what gives at least ``MIN_TRAINING_STEPS``
      optimizer steps, within [20, 500]: small data sets are seen often, large
      ones at least 20 times. The cosine learning-rate schedule spans them.

    An explicit value is kept as it is; the other follows from it.

    Parameters
    ----------
    n_samples : int
        Number of training examples (windows, for cropped training).
    batch_size : int | "auto"
        The estimator's ``batch_size``.
    max_epochs : int | "auto"
        The estimator's ``max_epochs``.

    Returns
    -------
    batch_size : int
        The batch size used.
    max_epochs : int
        The number of epochs used.
    """
    # Unchecked, they failed as "math domain error" or ZeroDivisionError.
    n_samples = check_positive_int(n_samples, "n_samples")
    check_schedule(batch_size, max_epochs)
    if batch_size == "auto":
        power = round(math.log2(math.sqrt(n_samples)))
        batch_size = int(np.clip(2**power, MIN_AUTO_BATCH, MAX_AUTO_BATCH))
    if max_epochs == "auto":
        steps_per_epoch = n_training_batches(n_samples, min(batch_size, n_samples))
        max_epochs = math.ceil(MIN_TRAINING_STEPS / steps_per_epoch)
        max_epochs = int(np.clip(max_epochs, MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS))
    return int(batch_size), int(max_epochs)


def shifted_in_time(X, largest):
    """Shift each epoch of ``X`` in time by a random number of samples.

    The shifts are drawn uniformly from ``-largest`` to ``largest`` samples,
    with torch's random state (seeded in training). Samples shifted out of
    the epoch are dropped; those shifted in hold each channel's mean over the
    epoch, so that data with an offset get no step at the edge.

    Parameters
    ----------
    X : torch.Tensor, shape (n_epochs, n_channels, n_times)
        A training batch.
    largest : int
        The largest shift, in samples.

    Returns
    -------
    shifted : torch.Tensor, shape (n_epochs, n_channels, n_times)
        The shifted batch.
    """
    if largest == 0:
        return X
    n_times = X.shape[-1]
    shifts = torch.randint(-largest, largest + 1, (len(X), 1, 1)).to(X.device)
    source = torch.arange(n_times, device=X.device) - shifts
    inside = (source >= 0) & (source < n_times)
    shifted = X.gather(-1, source.clamp(0, n_times - 1).expand_as(X))
    return torch.where(inside, shifted, X.mean(dim=-1, keepdim=True))


def n_training_batches(n_samples, batch_size):
    """Return the number of batches in a training pass (see :class:`NoBatchOfOne`)."""
    n_batches = math.ceil(n_samples / batch_size)
    return n_batches - 1 if n_batches > 1 and n_samples % batch_size == 1 else n_batches


class NoBatchOfOne(Sampler):
    """Batches of ``batch_size`` indices of ``sampler``; a last one of one joins the one before.

    Batch norm in training needs more than one value per channel, and
    InterpretableCNN's, after a convolution spanning the epoch, has one per
    epoch ("Expected more than 1 value per channel"). Dropping that epoch
    instead would leave it out of every pass when nothing is shuffled, and
    out of ``partial_fit``'s single pass.
    """

    def __init__(self, sampler, batch_size):
        self.sampler = sampler
        self.batch_size = batch_size

    def __iter__(self):
        batches = list(BatchSampler(self.sampler, self.batch_size, drop_last=False))
        if len(batches) > 1 and len(batches[-1]) == 1:
            batches[-2].extend(batches.pop())
        return iter(batches)

    def __len__(self):
        return n_training_batches(len(self.sampler), self.batch_size)


def without_a_batch_of_one(dataset, loader_kwargs):
    """Return a training ``DataLoader``'s arguments with no last batch of one epoch.

    Left as they are where the user chose the sampling (``sampler``,
    ``batch_sampler``) or ``drop_last``, or where no batch of one arises.
    """
    n_samples, batch_size = len(dataset), loader_kwargs["batch_size"]
    chosen = {"sampler", "batch_sampler", "drop_last"} & set(loader_kwargs)
    if chosen or n_training_batches(n_samples, batch_size) == math.ceil(
        n_samples / batch_size
    ):
        return loader_kwargs
    kwargs = dict(loader_kwargs)
    if kwargs.pop("shuffle", False):
        sampler = RandomSampler(dataset, generator=kwargs.get("generator"))
    else:
        sampler = SequentialSampler(dataset)
    kwargs["batch_sampler"] = NoBatchOfOne(sampler, kwargs.pop("batch_size"))
    return kwargs


class MaxNormConstraint(Callback):
    """Apply the module's max-norm weight constraints after every optimizer step.

    The networks declare their constraints (``module.max_norm``) and enforce them
    with ``module.apply_max_norm()``, as Keras' ``max_norm`` does after each
    update. Modules without constraints are left alone.
    """

    def on_batch_end(self, net, batch=None, training=None, **kwargs):  # noqa: D102
        if training and hasattr(net.module_, "apply_max_norm"):
            net.module_.apply_max_norm()


class StopOnDivergence(Callback):
    """Stop training with an error as soon as a loss is not a finite number.

    A NaN or infinite loss drives an update that makes the weights NaN; the
    network then gives one class to every input, and skorch would train on
    and return it without a word.
    """

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):  # noqa: D102
        if loss is None or torch.isfinite(loss).all():
            return
        kind = "training" if training else "validation"
        raise RuntimeError(
            f"Training diverged: the {kind} loss was {loss.item()} in epoch "
            f"{len(net.history)}, at lr={net.lr:g}; the network's weights are "
            "no longer usable. Train with a lower lr (or, for a network of "
            "your own, check that its forward pass stays finite)."
        )


_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


class PlainPrintLog(PrintLog):
    """skorch's table of training progress, coloured only on a terminal.

    skorch colours the best values with ANSI codes, which end up as
    escape sequences in log files and notebooks' saved outputs. The table is
    logged through MNE's logger, so what counts is where that writes: a
    file set by :func:`mne.set_log_file` got the codes whenever Python ran
    on a terminal.
    """

    def format_row(self, row, key, color):  # noqa: D102
        formatted = super().format_row(row, key, color)
        if isinstance(formatted, str) and not _logged_to_terminals():
            formatted = _ANSI_CODE.sub("", formatted)
        return formatted


def _logged_to_terminals():
    """Whether every stream MNE's logger writes to is a terminal."""
    streams = [getattr(handler, "stream", None) for handler in logger.handlers]
    return bool(streams) and all(map(_on_terminal, streams))


def training_callbacks(estimator, default_callbacks):
    """Return skorch's default callbacks with those the estimators add.

    Parameters
    ----------
    estimator : instance of the estimator
        The estimator being initialized; its ``lr_schedule``,
        ``max_epochs_``, ``incremental_`` (both set at fit), ``early_stopping``
        and ``n_iter_no_change`` decide the callbacks.
    default_callbacks : list of (str, skorch.callbacks.Callback)
        skorch's defaults, whose progress table is made :class:`PlainPrintLog`.

    Returns
    -------
    callbacks : list of (str, skorch.callbacks.Callback)
        The defaults, max-norm constraints, a stop with an error when the loss
        is no longer finite, the cosine learning-rate schedule
        and early stopping, as set (neither for :meth:`partial_fit`).
    """
    callbacks = [
        (name, PlainPrintLog(sink=logger.info) if name == "print_log" else callback)
        for name, callback in default_callbacks
    ]
    callbacks.append(("max_norm", MaxNormConstraint()))
    callbacks.append(("stop_on_divergence", StopOnDivergence()))
    # Before fit (set_params routing a callback's parameter), the schedule is
    # not known yet; fit initializes the callbacks again.
    incremental = getattr(estimator, "incremental_", False)
    own_schedule = _learning_rate_schedulers(estimator.callbacks)
    if estimator.lr_schedule == "cosine" and own_schedule:
        # Both would set the learning rate each epoch, the cosine's factor
        # scaling the user's (StepLR's 0.01, 0.005 became 0.0094, 0.0038).
        logger.info(
            f"The learning-rate schedule of callbacks ({own_schedule[0]}) replaces "
            "the default cosine schedule."
        )
    elif estimator.lr_schedule == "cosine" and not incremental:
        callbacks.append(
            (
                "lr_scheduler",
                LRScheduler(
                    torch.optim.lr_scheduler.CosineAnnealingLR,
                    T_max=getattr(estimator, "max_epochs_", None),
                    # Each fit runs its own schedule; skorch would carry it on
                    # from the length of the history (continued training).
                    last_epoch=-1,
                ),
            )
        )
    # A network built, not trained (max_epochs=0), has no best epoch to go
    # back to: skorch's load_best failed on the empty history (IndexError).
    # partial_fit trains one pass per call on the whole chunk: nothing to stop.
    if (
        estimator.early_stopping
        and not incremental
        and getattr(estimator, "max_epochs_", None) != 0
    ):
        callbacks.append(
            (
                "early_stopping",
                EarlyStopping(
                    patience=estimator.n_iter_no_change,
                    load_best=True,
                    sink=logger.info,
                ),
            )
        )
    return callbacks


def _learning_rate_schedulers(callbacks):
    """Name the learning-rate schedulers among a user's callbacks."""
    found = []
    for callback in callbacks or ():
        callback = callback[1] if isinstance(callback, tuple) else callback
        if isinstance(callback, type) and issubclass(callback, LRScheduler):
            # skorch builds a class given as a callback with its defaults; the
            # class alone has no policy (it was named "None").
            callback = callback()
        if isinstance(callback, LRScheduler):
            policy = callback.policy
            found.append(getattr(policy, "__name__", str(policy)))
    return found


def _log_level(verbose):
    """MNE's meaning of ``verbose``, mapping skorch's old 0 and 1 with a warning."""
    # NumPy's integers too (a grid over verbose): np.int64(0) became logging's
    # level 0, which shows every debug message.
    skorch_level = isinstance(verbose, numbers.Integral) and not isinstance(
        verbose, bool | np.bool_
    )
    if skorch_level and verbose in (0, 1):
        warn(
            f"verbose={verbose} follows skorch's meaning, which is deprecated: "
            "verbose now takes MNE's values, as every mne_xai function does "
            f"(use verbose={bool(verbose)}, a level such as 'warning', or None).",
            FutureWarning,
        )
        return bool(verbose)
    _validate_type(verbose, (bool, str, "int-like", None), "verbose")
    return verbose


def at_log_level(verbose):
    """Return :func:`mne.utils.use_log_level` for ``verbose``, None keeping MNE's level.

    Until mne 1.13, ``use_log_level(None)`` set the level from
    ``MNE_LOGGING_LEVEL`` (INFO when unset), so that ``verbose=None`` printed
    the training after ``mne.set_log_level("warning")``; mne 1.13 keeps the
    current level, as this does on every version.

    Parameters
    ----------
    verbose : bool | str | int | None
        The level (skorch's old 0 and 1 mapped, with a warning).

    Returns
    -------
    context : mne.utils.use_log_level
        The level for the block, MNE's own restored after it.
    """
    level = _log_level(verbose)
    return use_log_level(logger.level if level is None else level)


def at_own_log_level(method):
    """Run ``method`` at the estimator's ``verbose`` level (None: MNE's current one).

    Parameters
    ----------
    method : callable
        A method of an estimator with a ``verbose`` parameter.

    Returns
    -------
    wrapper : callable
        ``method``, run under :func:`mne.utils.use_log_level`.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with at_log_level(self.verbose):
            return method(self, *args, **kwargs)

    return wrapper


@contextlib.contextmanager
def skorch_prints_logged(estimator):
    """Log what skorch prints in the block as info, at the estimator's level.

    skorch prints which parts of a built network it re-initializes
    ("Re-initializing criterion.") whenever its ``verbose`` is true, which
    MNE's levels ("warning") are: the messages go to the logger instead, as
    skorch's progress table does.

    Parameters
    ----------
    estimator : estimator
        An estimator with a ``verbose`` parameter, read when the block ends
        (the block may set it).
    """
    if not getattr(estimator, "initialized_", False):
        # skorch says nothing of a network built the first time, and what the
        # user's own network prints when built stays theirs.
        yield
        return
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        lines = printed.getvalue().splitlines()
        if lines:
            with at_log_level(estimator.verbose):
                for line in lines:
                    logger.info(line)
