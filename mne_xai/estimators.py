"""scikit-learn classifiers that train EEG networks on mne.Epochs through skorch."""

import mne
import numpy as np
import torch
from mne.utils import _check_option, _validate_type
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.exceptions import NotInitializedError
from torch.utils.data import Subset

from ._convert import check_matches_training, describe, epochs_to_array
from .models import EEGNet, InterpretableCNN


class MaxNormConstraint(Callback):
    """Apply the module's max-norm weight constraints after every optimizer step.

    The networks declare their constraints (``module.max_norm``) and enforce them
    with ``module.apply_max_norm()``, as Keras' ``max_norm`` does after each
    update. Modules without constraints are left alone.
    """

    def on_batch_end(self, net, batch=None, training=None, **kwargs):  # noqa: D102
        if training and hasattr(net.module_, "apply_max_norm"):
            net.module_.apply_max_norm()


_ESTIMATOR_PARAMS_DOC = """
    Parameters
    ----------
    module : subclass of torch.nn.Module | None
        The network class; ``None`` means {module}. It is built at ``fit`` with
        ``n_channels``, ``n_classes``, ``n_times``, ``sfreq`` and ``input_scale``
        taken from the data, plus any ``module__<name>`` parameter (e.g.
        ``module__F1=4``), which ``get_params``/``set_params`` and
        ``GridSearchCV`` see like any other parameter.
    criterion : subclass of torch.nn.Module
        The loss, applied to the logits.
    optimizer : subclass of torch.optim.Optimizer
        The optimizer; its options are set with ``optimizer__<name>``.
    lr : float
        Learning rate.
    max_epochs : int
        Number of passes over the training data.
    batch_size : int
        Number of epochs per mini-batch (for training and prediction).
    scaling : "auto" | float
        Factor applied to the data before the first layer. MNE stores volts, which
        networks train poorly on; ``"auto"`` uses one over the standard deviation
        of the training data, so the network sees unit variance whatever unit the
        data came in. The factor is stored in the module (``input_scale``), so
        the fitted module takes data in the unit it was given, and attributions
        are with respect to that data.
    lr_schedule : "cosine" | None
        ``"cosine"`` anneals the learning rate to zero over ``max_epochs``
        (a :class:`skorch.callbacks.LRScheduler`); ``None`` keeps it constant.
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
    verbose : int
        0 is silent; 1 prints a line of progress per training epoch.
    train_split : callable | None
        A skorch train/validation splitter; overrides ``validation_fraction``.
    classes : array-like | None
        The class labels; inferred from ``y`` when None.
    **kwargs
        Any other :class:`skorch.NeuralNetClassifier` parameter, and
        ``module__<name>``, ``optimizer__<name>``, ``iterator_train__<name>``
        prefixed parameters.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels, as given in ``y`` (or the event codes of the Epochs).
    info_ : mne.Info | None
        The measurement info of the training data (None for arrays without
        ``info``).
    module_ : torch.nn.Module
        The trained network. It maps data in the training unit, shape
        ``(batch, n_channels, n_times)``, to one logit per class.
    input_scale_ : float
        The factor applied to the data before the first layer.
    n_channels_, n_times_ : int
        Shape of one training epoch.
    data_mean_ : ndarray, shape (n_channels, n_times)
        The mean training epoch (a baseline for attribution methods).
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

    The fitted parameters can be stored with ``save_params`` and restored into
    a new estimator with ``initialize(X, y)`` followed by ``load_params``
    (loading is weights-only, so a file cannot run code).
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
        max_epochs=100,
        batch_size=32,
        scaling="auto",
        lr_schedule="cosine",
        early_stopping=False,
        validation_fraction=0.2,
        n_iter_no_change=20,
        random_state=None,
        info=None,
        device="cpu",
        callbacks=None,
        verbose=1,
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
        callbacks = list(super().get_default_callbacks())
        callbacks.append(("max_norm", MaxNormConstraint()))
        if self.lr_schedule == "cosine":
            callbacks.append(
                (
                    "lr_scheduler",
                    LRScheduler(
                        torch.optim.lr_scheduler.CosineAnnealingLR,
                        T_max=self.max_epochs,
                    ),
                )
            )
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        patience=self.n_iter_no_change, load_best=True, sink=self._sink
                    ),
                )
            )
        return callbacks

    def _sink(self, message):
        if self.verbose:
            print(message)

    def _check_params(self):
        _check_option("lr_schedule", self.lr_schedule, ("cosine", None))
        _validate_type(self.early_stopping, bool, "early_stopping")
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
        """Build the network with the shapes learned from the training data."""
        self._check_initialized_data()
        module = self.module if self.module is not None else self._default_module
        kwargs = self.get_params_for("module")
        kwargs.update(
            n_channels=self.n_channels_,
            n_classes=len(self.classes_),
            n_times=self.n_times_,
            sfreq=self._sfreq,
            input_scale=self.input_scale_,
        )
        self.module_ = self.initialized_instance(module, kwargs)
        return self

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
            self._learn_data_shape(*self._training_data(X, y))
        return super().initialize()

    def _training_data(self, X, y):
        """Convert and check training data; return (data, info, y)."""
        self._check_params()
        data, info, events = epochs_to_array(X)
        if y is None:
            if events is None:
                raise ValueError("y is required when X is an array.")
            y = events
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y must be one-dimensional, got shape {y.shape}.")
        if len(y) != len(data):
            raise ValueError(
                f"X has {len(data)} epochs but y has {len(y)} labels; they must match."
            )
        if info is None:
            info = self.info
        elif self.info is not None:
            mne.utils.logger.info("Fitting on Epochs: the info parameter is ignored.")
        if info is not None and len(info.ch_names) != data.shape[1]:
            raise ValueError(
                f"info has {len(info.ch_names)} channels but X has {data.shape[1]}."
            )
        return data, info, y

    def _learn_data_shape(self, data, info, y):
        classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
        if len(classes) < 2:
            raise ValueError(
                f"y holds a single class ({classes[0]!r}); a classifier needs at "
                "least two."
            )
        unknown = np.setdiff1d(np.unique(y), classes)
        if len(unknown):
            raise ValueError(f"y holds labels {unknown} not in classes={classes}.")
        self.classes_inferred_ = classes
        self.info_ = info
        self.n_channels_, self.n_times_ = data.shape[1:]
        self.data_mean_ = data.mean(axis=0)
        if self.scaling == "auto":
            std = float(np.std(data, dtype=np.float64))
            if std == 0:
                raise ValueError("X is constant; cannot scale it to unit variance.")
            self.input_scale_ = 1.0 / std
        else:
            self.input_scale_ = float(self.scaling)

    # -- training -------------------------------------------------------------
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
        self._learn_data_shape(data, info, y)
        targets = np.searchsorted(self.classes_, y).astype(np.int64)
        self.seed_ = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max
        )
        with torch.random.fork_rng(devices=self._cuda_devices()):
            torch.manual_seed(self.seed_)
            return super().fit(data, targets, **fit_params)

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

    def _cuda_devices(self):
        device = torch.device(self.device)
        if device.type != "cuda":
            return []
        return [
            device.index if device.index is not None else torch.cuda.current_device()
        ]

    def check_data(self, X, y):
        """Leave class inference to ``fit``, which works on the original labels."""

    # -- prediction -----------------------------------------------------------
    def _check_prediction_input(self, X):
        """Check X against training without reading its data; return describe(X)."""
        self.check_is_fitted()
        self._check_initialized_data()
        shape, info, events = describe(X)
        check_matches_training(
            shape,
            info,
            train_info=self.info_,
            n_channels=self.n_channels_,
            n_times=self.n_times_,
        )
        return shape, info, events

    def _prediction_data(self, X):
        if isinstance(X, torch.utils.data.Dataset):
            # skorch's own scoring callbacks predict on its internal datasets,
            # which hold data converted and checked by fit already.
            return X
        self._check_prediction_input(X)
        return epochs_to_array(X)[0]

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
            _, _, y = epochs_to_array(X)
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
