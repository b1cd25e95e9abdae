"""scikit-learn classifiers that train EEG networks on mne.Epochs through skorch."""

import functools
import inspect
import math
import re
import sys

import mne
import numpy as np
import torch
from mne.utils import _check_option, _validate_type, logger, use_log_level, warn
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PrintLog
from skorch.exceptions import NotInitializedError
from torch import Tensor
from torch.utils.data import Subset

from ._convert import (
    InputData,
    check_matches_training,
    check_scale,
    training_channels,
)
from ._progress import _on_terminal
from ._random import seeded_torch
from .models import EEGNet, InterpretableCNN, ScaledInput

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


def training_schedule(n_samples, batch_size="auto", max_epochs="auto"):
    """Batch size and number of epochs that train on ``n_samples`` examples.

    The rule behind ``batch_size="auto"`` and ``max_epochs="auto"``. What a
    network learns depends on how many optimizer steps it takes, not on how
    many passes over the data: with 36 training trials, 100 epochs at batch 32
    are 200 steps and leave EEGNet undertrained, while the same epochs at batch
    8 are 500 steps. So:

    - the batch size grows like the square root of the number of examples,
      rounded to a power of two within [8, 64] (8 up to about 128 examples, 32
      for about 1,000, 64 from about 2,900), so small data sets still get
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
    if batch_size == "auto":
        power = round(math.log2(math.sqrt(n_samples)))
        batch_size = int(np.clip(2**power, MIN_AUTO_BATCH, MAX_AUTO_BATCH))
    if max_epochs == "auto":
        steps_per_epoch = math.ceil(n_samples / min(batch_size, n_samples))
        max_epochs = math.ceil(MIN_TRAINING_STEPS / steps_per_epoch)
        max_epochs = int(np.clip(max_epochs, MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS))
    return int(batch_size), int(max_epochs)


class MaxNormConstraint(Callback):
    """Apply the module's max-norm weight constraints after every optimizer step.

    The networks declare their constraints (``module.max_norm``) and enforce them
    with ``module.apply_max_norm()``, as Keras' ``max_norm`` does after each
    update. Modules without constraints are left alone.
    """

    def on_batch_end(self, net, batch=None, training=None, **kwargs):  # noqa: D102
        if training and hasattr(net.module_, "apply_max_norm"):
            net.module_.apply_max_norm()


_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


def _log_level(verbose):
    """MNE's meaning of ``verbose``, mapping skorch's old 0 and 1 with a warning."""
    if isinstance(verbose, int) and not isinstance(verbose, bool) and verbose in (0, 1):
        warn(
            f"verbose={verbose} follows skorch's meaning, which is deprecated: "
            "verbose now takes MNE's values, as every mne_xai function does "
            f"(use verbose={bool(verbose)}, a level such as 'warning', or None).",
            FutureWarning,
        )
        return bool(verbose)
    _validate_type(verbose, (bool, str, "int-like", None), "verbose")
    return verbose


def _at_own_log_level(method):
    """Run ``method`` at the estimator's ``verbose`` level (None: MNE's current one)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with use_log_level(_log_level(self.verbose)):
            return method(self, *args, **kwargs)

    return wrapper


class PlainPrintLog(PrintLog):
    """skorch's table of training progress, coloured only on a terminal.

    skorch colours the best values with ANSI codes, which end up as
    escape sequences in log files and notebooks' saved outputs.
    """

    def format_row(self, row, key, color):  # noqa: D102
        formatted = super().format_row(row, key, color)
        if isinstance(formatted, str) and not _on_terminal(sys.stdout):
            formatted = _ANSI_CODE.sub("", formatted)
        return formatted


_ESTIMATOR_PARAMS_DOC = """
    Parameters
    ----------
    module : subclass of torch.nn.Module | torch.nn.Module | None
        The network class; ``None`` means {module}. It is built at ``fit`` with
        the shapes of the data under the names its constructor takes:
        ``n_channels``, ``n_classes``, ``n_times``, ``sfreq`` and
        ``input_scale`` (as :mod:`mne_xai.models` name them) or braindecode's
        ``n_chans``, ``n_outputs``, ``n_times``, ``sfreq`` and ``chs_info``;
        plus any ``module__<name>`` parameter (e.g. ``module__F1=4``), which
        ``get_params``/``set_params`` and ``GridSearchCV`` see like any other
        parameter. A network that takes no ``input_scale`` is wrapped in
        :class:`~mne_xai.models.ScaledInput`, so it also sees unit-variance
        input. An instance is used as it is.
    criterion : subclass of torch.nn.Module
        The loss, applied to the logits.
    optimizer : subclass of torch.optim.Optimizer
        The optimizer; its options are set with ``optimizer__<name>``.
    lr : float
        Learning rate.
    max_epochs : int | "auto"
        Number of passes over the training data. ``"auto"`` gives at least
        1,000 optimizer steps, within 20 to 500 epochs (see
        :func:`mne_xai.estimators.training_schedule`); the number used is
        ``max_epochs_``.
    batch_size : int | "auto"
        Number of epochs per mini-batch (for training and prediction).
        ``"auto"`` grows with the square root of the number of training
        epochs, as a power of two from 8 to 64; the size used is
        ``batch_size_``.
    picks : str | list of str | list of int | slice | None
        Channels of Epochs to train on, as in MNE (names, channel types such as
        ``["eeg", "eog"]``, indices, or ``"all"``). None means the good data
        channels: EEG (and MEG, sEEG, ECoG, DBS, fNIRS) without stimulus,
        EOG, ECG, EMG or misc channels and without the channels in
        ``info["bads"]`` (a log line names those). Stimulus channels hold the
        events, and so the labels: pick them only to show that leak. Data
        given later are read from the same channels, by name. Arrays are used
        as they are.
    scaling : "auto" | float
        Factor applied to the data before the first layer. MNE stores volts, which
        networks train poorly on; ``"auto"`` uses one over the standard deviation
        of the training data, so the network sees unit variance whatever unit the
        data came in. The factor is stored in the module (``input_scale``), so
        the fitted module takes data in the unit it was given, and attributions
        are with respect to that data.
    lr_schedule : "cosine" | None
        ``"cosine"`` anneals the learning rate to zero over the training
        epochs (a :class:`skorch.callbacks.LRScheduler`); ``None`` keeps it
        constant. :meth:`partial_fit` keeps it constant.
    early_stopping : bool
        If True, hold out a stratified ``validation_fraction`` of the training
        data, stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, and restore the best weights.
    validation_fraction : float
        Fraction of the training data held out when ``early_stopping=True``.
    n_iter_no_change : int
        Patience of early stopping, in epochs.
    random_state : int | None
        Seed for weight initialization, shuffling, dropout and the validation
        split. An int makes training reproducible on the CPU; the global torch
        random state is left untouched.
    info : mne.Info | None
        Measurement info for data given as arrays: its sampling rate sets the
        kernel lengths and it becomes ``info_``. Ignored when fitting on Epochs.
    device : str | torch.device
        Where the network runs, e.g. ``"cpu"`` or ``"cuda"``.
    callbacks : list of skorch callbacks | None
        Extra callbacks (as ``(name, callback)`` tuples or callbacks).
    verbose : bool | str | int | None
        MNE's logging level while training, as in every mne_xai function: at
        ``"info"`` (True) and below, a line of progress per training epoch
        (coloured only on a terminal) goes to MNE's logger; False or
        ``"warning"`` trains silently. None follows
        :func:`mne.set_log_level`.
    train_split : callable | None
        A skorch train/validation splitter; overrides ``validation_fraction``.
    classes : array-like | None
        The class labels, in any order (``classes_`` holds them sorted);
        inferred from ``y`` when None.
    **kwargs
        Any other :class:`skorch.NeuralNetClassifier` parameter, and
        ``module__<name>``, ``optimizer__<name>``, ``iterator_train__<name>``
        prefixed parameters.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels, as given in ``y`` (or the event codes of the Epochs).
    info_ : mne.Info | None
        The measurement info of the channels trained on (None for arrays
        without ``info``).
    ch_names_ : list of str | None
        The channels trained on, in the network's order (None for arrays
        without ``info``).
    event_id_ : dict | None
        The event names of the training Epochs (None for arrays), so that
        targets given by name resolve on any selection of epochs.
    batch_size_, max_epochs_ : int
        The batch size and number of epochs used (see ``batch_size``).
    module_ : torch.nn.Module
        The trained network. It maps data in the training unit, shape
        ``(batch, n_channels, n_times)``, to one logit per class.
    input_scale_ : float
        The factor applied to the data before the first layer.
    n_channels_, n_times_ : int
        Shape of one training epoch.
    data_mean_ : ndarray, shape (n_channels, n_times)
        The mean training epoch (a baseline for attribution methods).
    data_std_ : float
        The standard deviation of the training data; data given later that
        differ from it by more than a factor of 100 (e.g. volts instead of
        microvolts) get a warning.
    history : skorch.History
        Per-epoch losses and timings.
"""

_NOTES_DOC = """
    Notes
    -----
    ``fit`` accepts :class:`mne.Epochs`, a list of Epochs (what scikit-learn's
    cross-validation hands over when it indexes an Epochs object) or an array
    of shape ``(n_epochs, n_channels, n_times)``. With Epochs and ``y=None``,
    the labels are ``epochs.events[:, 2]``. ``predict`` returns labels in the
    same coding as ``y``. Data given at prediction must match training in
    channels (names and order, for Epochs), sampling rate and number of samples.

    By default the batch size and the number of epochs follow the size of
    the training set (:func:`mne_xai.estimators.training_schedule`), so that
    30 trials and 100,000 both train for enough optimizer steps.

    The fitted parameters can be stored with ``save_params`` and restored into
    a new estimator with ``initialize(X, y)`` followed by ``load_params``
    (loading is weights-only, so a file cannot run code). The statistics of
    the training data that predictions and attributions depend on (input
    scale, mean epoch, standard deviation) are buffers of ``module_``, so they
    travel with ``save_params`` as with pickling.
"""


class _EEGClassifier(NeuralNetClassifier):
    _default_module = None

    def __init__(
        self,
        module=None,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs="auto",
        batch_size="auto",
        picks=None,
        scaling="auto",
        lr_schedule="cosine",
        early_stopping=False,
        validation_fraction=0.2,
        n_iter_no_change=20,
        random_state=None,
        info=None,
        device="cpu",
        callbacks=None,
        verbose=None,
        train_split=None,
        classes=None,
        iterator_train__shuffle=True,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            device=device,
            callbacks=callbacks,
            verbose=verbose,
            train_split=train_split,
            classes=classes,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.picks = picks
        self.scaling = scaling
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.info = info

    # -- set-up ---------------------------------------------------------------
    def get_default_callbacks(self):
        """Return skorch's defaults plus max-norm, LR schedule and early stopping."""
        callbacks = [
            (name, PlainPrintLog(sink=logger.info) if name == "print_log" else callback)
            for name, callback in super().get_default_callbacks()
        ]
        callbacks.append(("max_norm", MaxNormConstraint()))
        if self.lr_schedule == "cosine" and not self.incremental_:
            callbacks.append(
                (
                    "lr_scheduler",
                    LRScheduler(
                        torch.optim.lr_scheduler.CosineAnnealingLR,
                        T_max=self.max_epochs_,
                    ),
                )
            )
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        patience=self.n_iter_no_change,
                        load_best=True,
                        sink=logger.info,
                    ),
                )
            )
        return callbacks

    def _check_params(self):
        _check_option("lr_schedule", self.lr_schedule, ("cosine", None))
        _validate_type(self.early_stopping, bool, "early_stopping")
        # max_epochs=0 builds the network without training it, as in skorch.
        for name, lowest in (("batch_size", 1), ("max_epochs", 0)):
            value = getattr(self, name)
            if value == "auto":
                continue
            _validate_type(value, "int-like", name, '"auto" or an integer')
            if value < lowest:
                raise ValueError(f"{name} must be at least {lowest}, got {value}.")
        if self.scaling != "auto":
            _validate_type(self.scaling, "numeric", "scaling", '"auto" or a number')
            if not self.scaling > 0:
                raise ValueError(f"scaling must be positive, got {self.scaling}.")
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ValueError(
                "validation_fraction must be in (0, 1), got "
                f"{self.validation_fraction}."
            )
        _validate_type(self.info, (None, mne.Info), "info")

    def initialize_module(self):
        """Build the network with the shapes learned from the training data.

        The statistics of the training data become buffers of the module, so
        that ``save_params``/``load_params`` restore them with the weights.
        """
        self._check_initialized_data()
        module = self.module if self.module is not None else self._default_module
        statistics = self._training_statistics
        if isinstance(module, torch.nn.Module):
            network = module
            scales_itself = isinstance(getattr(module, "input_scale", None), Tensor)
            if scales_itself:
                network.input_scale.fill_(statistics["input_scale"])
        else:
            kwargs, scales_itself = self._constructor_arguments(module)
            network = self.initialized_instance(module, kwargs)
        if not scales_itself:
            network = ScaledInput(network, statistics["input_scale"])
        self.module_ = network
        self.module_.register_buffer(
            "training_mean", torch.as_tensor(statistics["mean"], dtype=torch.float32)
        )
        self.module_.register_buffer(
            "training_std", torch.tensor(statistics["std"], dtype=torch.float64)
        )
        return self

    def _constructor_arguments(self, module_class):
        """Keyword arguments of a network class: data shapes and ``module__`` ones.

        The shapes go by the names the constructor takes: ours (``n_channels``,
        ``n_classes``) or braindecode's (``n_chans``, ``n_outputs``,
        ``chs_info``), with ``n_times`` and ``sfreq``. ``input_scale`` goes to
        networks that scale their input themselves; the others are wrapped.
        """
        values = {
            ("n_channels", "n_chans"): self.n_channels_,
            ("n_classes", "n_outputs"): len(self.classes_),
            ("n_times",): self.n_times_,
            ("sfreq",): self._sfreq,
            ("input_scale",): self._training_statistics["input_scale"],
            ("chs_info",): None if self.info_ is None else self.info_["chs"],
        }
        parameters = inspect.signature(module_class).parameters
        takes_any = any(
            parameter.kind is inspect.Parameter.VAR_KEYWORD
            for parameter in parameters.values()
        )
        kwargs = {}
        for names, value in values.items():
            name = next((name for name in names if name in parameters), None)
            if name is None and takes_any and names[0] != "chs_info":
                name = names[0]
            if name is not None and value is not None:
                kwargs[name] = value
        kwargs.update(self.get_params_for("module"))
        return kwargs, "input_scale" in kwargs

    def _check_initialized_data(self):
        if not hasattr(self, "n_channels_"):
            raise NotInitializedError(
                f"{type(self).__name__} learns its network's shape from data: call "
                "fit(X, y), or initialize(X, y) before load_params."
            )

    @property
    def _sfreq(self):
        # Kernel lengths follow the sampling rate; arrays without info get the
        # published 128 Hz kernels.
        return 128.0 if self.info_ is None else self.info_["sfreq"]

    @property
    def classes_(self):
        """The class labels, sorted (those of ``classes`` or of ``y``)."""
        return self.classes_inferred_

    @property
    def input_scale_(self):
        """The factor applied to the data before the first layer."""
        return float(self.module_.input_scale)

    @property
    def data_mean_(self):
        """The mean training epoch, shape ``(n_channels, n_times)``."""
        return self.module_.training_mean.cpu().numpy()

    @property
    def data_std_(self):
        """The standard deviation of the training data."""
        return float(self.module_.training_std)

    def initialize(self, X=None, y=None):
        """Initialize the network, learning its shape from ``X`` and ``y`` if given.

        ``fit`` calls this itself. Call it with data shaped like the training
        data before :meth:`load_params` to restore a saved network.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array | None
            Data shaped like the training data.
        y : array-like | None
            Labels; with Epochs, None means the event codes.

        Returns
        -------
        self : instance of the estimator
            The initialized estimator.
        """
        if X is not None:
            self._learn_data(*self._training_data(X, y))
        return super().initialize()

    def _training_data(self, X, y):
        """Convert and check training data; return (data, info, y)."""
        self._check_params()
        data = InputData(X)
        if data.info is not None:
            data.pick(training_channels(data.info, self.picks))
        if y is None:
            if data.events is None:
                raise ValueError("y is required when X is an array.")
            y = data.event_codes
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional, got shape {y.shape}.")
        if len(y) != data.shape[0]:
            raise ValueError(
                f"X has {data.shape[0]} epochs but y has {len(y)} labels; they must "
                "match."
            )
        info = data.info
        if info is None:
            info = self.info
        elif self.info is not None:
            logger.info("Fitting on Epochs: the info parameter is ignored.")
        if info is not None and len(info.ch_names) != data.shape[1]:
            raise ValueError(
                f"info has {len(info.ch_names)} channels but X has {data.shape[1]}."
            )
        return data, info, y

    def _learn_data(self, data, info, y):
        """Learn classes, channels, shapes and statistics from training data."""
        if y.dtype == object and len({isinstance(label, str) for label in y}) > 1:
            kinds = sorted({type(label).__name__ for label in y})
            raise ValueError(
                f"y mixes strings and numbers ({', '.join(kinds)}); give labels of "
                "one type."
            )
        check_classification_targets(y)
        labels = unique_labels(y)
        classes = labels if self.classes is None else unique_labels(self.classes)
        if len(classes) < 2:
            raise ValueError(
                f"y holds a single class ({classes[0]!r}); a classifier needs at "
                "least two."
            )
        unknown = np.setdiff1d(labels, classes)
        if len(unknown):
            raise ValueError(f"y holds labels {unknown} not in classes={classes}.")
        array = data.array()
        self.classes_inferred_ = classes
        self.info_ = info
        self.ch_names_ = None if info is None else list(info.ch_names)
        self.event_id_ = data.event_id
        self.tmin_ = data.tmin
        self.n_channels_, self.n_times_ = array.shape[1:]
        self.batch_size_, self.max_epochs_ = training_schedule(
            len(array), self.batch_size, self.max_epochs
        )
        std = float(np.std(array, dtype=np.float64))
        if self.scaling == "auto":
            if std == 0:
                raise ValueError("X is constant; cannot scale it to unit variance.")
            input_scale = 1.0 / std
        else:
            input_scale = float(self.scaling)
        self.incremental_ = False
        self._training_statistics = dict(
            mean=array.mean(axis=0), std=std, input_scale=input_scale
        )
        return array, np.searchsorted(classes, y).astype(np.int64)

    # -- training -------------------------------------------------------------
    @_at_own_log_level
    def fit(self, X, y=None, groups=None, **fit_params):
        """Train the network.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Training data.
        y : array-like, shape (n_epochs,) | None
            Labels; with Epochs, None means ``epochs.events[:, 2]``.
        groups : array-like, shape (n_epochs,) | None
            Group of each epoch, e.g. the trial a cropped window was cut from.
            With ``early_stopping=True`` the validation split keeps each group
            on one side, so that overlapping windows of one trial cannot make
            the validation loss optimistic. Ignored otherwise.
        **fit_params
            Passed to :meth:`skorch.NeuralNet.fit`.

        Returns
        -------
        self : instance of the estimator
            The fitted estimator.
        """
        data, info, y = self._training_data(X, y)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != y.shape:
                raise ValueError(
                    f"groups must hold one value per epoch ({len(y)}), got shape "
                    f"{groups.shape}."
                )
        self.validation_groups_ = groups
        array, targets = self._learn_data(data, info, y)
        self.seed_ = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max
        )
        logger.info(
            f"Training on {len(array)} epochs: batch size {self.batch_size_}, "
            f"{self.max_epochs_} epochs."
        )
        with self._seeded():
            if not self.warm_start or not self.initialized_:
                self.initialize()
            # NeuralNet.fit would call our partial_fit, which converts data.
            return NeuralNetClassifier.partial_fit(self, array, targets, **fit_params)

    @_at_own_log_level
    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train the network for one pass over ``X``, continuing from where it is.

        The first call learns the network's shape, channels, input scaling and
        training statistics from ``X``, and needs every class the data will
        hold: from ``classes`` or the ``classes`` parameter, as scikit-learn's
        incremental classifiers require. Later calls continue training.
        The learning rate stays constant (no schedule); :meth:`fit` starts
        afresh.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            A chunk of training data.
        y : array-like, shape (n_epochs,) | None
            Labels; with Epochs, None means ``epochs.events[:, 2]``.
        classes : array-like | None
            Every class label, required on the first call unless the
            estimator's ``classes`` parameter gives them.
        **fit_params
            Passed to :meth:`skorch.NeuralNet.partial_fit`.

        Returns
        -------
        self : instance of the estimator
            The estimator, trained one more epoch.
        """
        if not getattr(self, "initialized_", False) or not hasattr(self, "module_"):
            if classes is None and self.classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit (or "
                    "set with the classes parameter): later chunks may hold "
                    "labels the first does not."
                )
            if classes is not None:
                self.set_params(classes=classes)
            data, info, y = self._training_data(X, y)
            self.validation_groups_ = None
            array, targets = self._learn_data(data, info, y)
            self.incremental_ = True
            self.seed_ = check_random_state(self.random_state).randint(
                np.iinfo(np.int32).max
            )
            with self._seeded():
                self.initialize()
        else:
            if classes is not None and not np.array_equal(
                unique_labels(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={list(classes)} differ from those of the first call "
                    f"({list(self.classes_)})."
                )
            data = self._check_prediction_input(X)
            if y is None:
                if data.events is None:
                    raise ValueError("y is required when X is an array.")
                y = data.event_codes
            y = np.asarray(y)
            unknown = np.setdiff1d(unique_labels(y), self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y holds labels {unknown} not in classes_={self.classes_}."
                )
            array, targets = data.array(), np.searchsorted(self.classes_, y)
            check_scale(array, self.data_std_)
        # Each call draws from its own seed, so a sequence of calls reproduces.
        self.seed_ = check_random_state(self.seed_).randint(np.iinfo(np.int32).max)
        with self._seeded():
            NeuralNetClassifier.partial_fit(
                self, array, targets.astype(np.int64), epochs=1, **fit_params
            )
        return self

    def _seeded(self):
        """Seed torch with ``seed_``, leaving the global random state as it was."""
        return seeded_torch(self.seed_, self.device)

    def get_iterator(self, dataset, training=False):
        """Batch with ``batch_size_``, the size chosen at fit."""
        if self.batch_size != "auto":
            return super().get_iterator(dataset, training=training)
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = {"batch_size": self.batch_size_, **self.get_params_for(prefix)}
        iterator = self.iterator_train if training else self.iterator_valid
        return iterator(dataset, **kwargs)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Train for ``max_epochs_`` epochs unless told otherwise."""
        epochs = self.max_epochs_ if epochs is None else epochs
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Hold out a stratified validation set when ``early_stopping=True``."""
        if not (self.train_split is None and self.early_stopping):
            return super().get_split_datasets(X, y, **fit_params)
        if self.validation_groups_ is None:
            splitter = StratifiedShuffleSplit(
                1, test_size=self.validation_fraction, random_state=self.seed_
            )
        else:
            # One fold of k holds out about validation_fraction of the groups.
            n_splits = max(2, round(1 / self.validation_fraction))
            splitter = StratifiedGroupKFold(
                n_splits, shuffle=True, random_state=self.seed_
            )
        train, valid = next(
            splitter.split(np.zeros(len(y)), y, groups=self.validation_groups_)
        )
        dataset = self.get_dataset(X, y)
        return Subset(dataset, train), Subset(dataset, valid)

    def check_data(self, X, y):
        """Leave class inference to ``fit``, which works on the original labels."""

    # -- prediction -----------------------------------------------------------
    def _check_prediction_input(self, X):
        """Check X against training without reading its data.

        Returns
        -------
        data : InputData
            X with the training channels picked, read lazily.
        """
        self.check_is_fitted()
        self._check_initialized_data()
        data = InputData(X, ch_names=self.ch_names_)
        check_matches_training(
            data,
            train_info=self.info_,
            n_channels=self.n_channels_,
            n_times=self.n_times_,
            train_tmin=self.tmin_,
        )
        return data

    def _prediction_data(self, X):
        if isinstance(X, torch.utils.data.Dataset):
            # skorch's own scoring callbacks predict on its internal datasets,
            # which hold data converted and checked by fit already.
            return X
        array = self._check_prediction_input(X).array()
        check_scale(array, self.data_std_)
        return array

    def adapt_batch_norm(self, X):
        """Re-estimate batch-norm statistics on unlabeled data (AdaBN).

        Each batch-norm layer, in the order the network runs them, gets the
        mean and (biased) variance of its input over all of ``X``, as batch
        norm in training mode computes them on ``X`` as one batch. This adapts
        a network trained on some subjects to a new subject without its labels
        (Li et al. 2018, "Adaptive batch normalization for practical domain
        adaptation", Pattern Recognition, doi:10.1016/j.patcog.2018.03.005),
        which is what InterpretableCNN's original code does implicitly by
        normalizing a held-out subject with its own batch statistics.
        Afterwards the outputs of an epoch again do not depend on its batch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Unlabeled data of the domain to adapt to, matching the training
            data in channels, rate and length.

        Returns
        -------
        self : instance of the estimator
            The estimator, adapted in place (use ``copy.deepcopy`` first to
            keep the original).
        """
        data = self._prediction_data(X)
        batch_norms = [
            module
            for module in self.module_.modules()
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
        ]
        for batch_norm in batch_norms:
            # Later layers see the already adapted earlier ones, as in a single
            # training-mode pass; sums over batches give the statistics of all X.
            count, total, total_squares = 0, 0.0, 0.0

            def accumulate(module, inputs):
                nonlocal count, total, total_squares
                values = inputs[0].detach().double().transpose(0, 1).flatten(1)
                count += values.shape[1]
                total = total + values.sum(1)
                total_squares = total_squares + (values**2).sum(1)

            handle = batch_norm.register_forward_pre_hook(accumulate)
            try:
                for _ in self.forward_iter(data):
                    pass
            finally:
                handle.remove()
            mean = total / count
            batch_norm.running_mean.copy_(mean)
            batch_norm.running_var.copy_((total_squares / count - mean**2).clamp(min=0))
        return self

    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Data matching the training data in channels, rate and length.

        Returns
        -------
        proba : ndarray, shape (n_epochs, n_classes)
            Probabilities, columns ordered as ``classes_``.
        """
        return super().predict_proba(self._prediction_data(X))

    def decision_function(self, X):
        """Return the network's logits (class scores before the softmax).

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Data matching the training data in channels, rate and length.

        Returns
        -------
        logits : ndarray, shape (n_epochs, n_classes)
            Logits, columns ordered as ``classes_``.
        """
        data = self._prediction_data(X)
        return np.concatenate([y.cpu().numpy() for y in self.forward_iter(data)])

    def predict(self, X):
        """Return the most probable class of each epoch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Data matching the training data in channels, rate and length.

        Returns
        -------
        y_pred : ndarray, shape (n_epochs,)
            Labels in the coding of ``classes_``.
        """
        best = self.decision_function(X).argmax(axis=1)
        return self.classes_[best]

    def score(self, X, y=None, sample_weight=None):
        """Return the accuracy on ``X``.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Test data.
        y : array-like | None
            True labels; with Epochs, None means ``epochs.events[:, 2]``.
        sample_weight : array-like | None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy.
        """
        if y is None:
            y = InputData(X).event_codes
            if y is None:
                raise ValueError("y is required when X is an array.")
        return super().score(X, y, sample_weight=sample_weight)


class EEGNetClassifier(_EEGClassifier):  # noqa: D101 (docstring assembled below)
    __doc__ = (
        """EEGNet (Lawhern et al. 2018) as a scikit-learn classifier on mne.Epochs.

    Trains :class:`mne_xai.models.EEGNet` with skorch: AdamW, cross-entropy on
    the logits, a cosine learning-rate schedule and EEGNet's max-norm
    constraints. Works with ``cross_val_score``, ``GridSearchCV``,
    ``Pipeline`` and ``clone`` on Epochs as on arrays.
"""
        + _ESTIMATOR_PARAMS_DOC.format(module=":class:`mne_xai.models.EEGNet`")
        + """
    See Also
    --------
    InterpretableCNNClassifier
    mne_xai.models.EEGNet
"""
        + _NOTES_DOC
    )
    _default_module = EEGNet


class InterpretableCNNClassifier(_EEGClassifier):  # noqa: D101 (assembled below)
    __doc__ = (
        """InterpretableCNN (Cui et al. 2022) as a scikit-learn classifier on mne.Epochs.

    Trains :class:`mne_xai.models.InterpretableCNN` with skorch: AdamW,
    cross-entropy on the logits and a cosine learning-rate schedule. Works with
    ``cross_val_score``, ``GridSearchCV``, ``Pipeline`` and ``clone`` on Epochs
    as on arrays.
"""
        + _ESTIMATOR_PARAMS_DOC.format(
            module=":class:`mne_xai.models.InterpretableCNN`"
        )
        + """
    See Also
    --------
    EEGNetClassifier
    mne_xai.models.InterpretableCNN
"""
        + _NOTES_DOC
    )
    _default_module = InterpretableCNN
