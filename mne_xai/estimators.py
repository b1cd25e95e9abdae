"""scikit-learn classifiers that train EEG networks on mne.Epochs through skorch."""

import contextlib
import inspect
import math
from functools import partial

import mne
import numpy as np
import torch
from mne.utils import _check_option, _validate_type, logger
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit
from sklearn.utils import check_random_state, resample
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import column_or_1d
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.exceptions import NotInitializedError
from torch.utils.data import DataLoader, Subset

from ._checks import check_device, check_seed
from ._convert import InputData, training_channels
from ._data_checks import (
    channel_moments,
    check_channel_amplitudes,
    check_copies,
    check_offsets,
    std_per_type,
    type_groups,
)
from ._docs import fill_doc
from ._estimator_docs import classifier_docstring
from ._graph import autograd_on
from ._labels import (
    labels_match_events,
    labels_or_events,
    labels_required,
    named_events,
)
from ._matching import BASELINE_UNKNOWN, check_amplitudes, eeg_reference
from ._network_building import (
    build_network,
    channels_digest,
    classes_digest,
    events_digest,
)
from ._prediction import FIT_DATASET, StreamedData, _PredictionMixin
from ._random import seeded_torch
from ._samples_read import PROBE_EPOCHS, samples_read, unread_ends

# The constants and callbacks are public here too, where they were defined
# before _training.py: pickled estimators refer to their callbacks by this path.
from ._training import (  # noqa: F401
    MAX_AUTO_BATCH,
    MAX_AUTO_EPOCHS,
    MIN_AUTO_BATCH,
    MIN_AUTO_EPOCHS,
    MIN_TRAINING_STEPS,
    MaxNormConstraint,
    PlainPrintLog,
    at_log_level,
    at_own_log_level,
    check_schedule,
    shifted_in_time,
    skorch_prints_logged,
    training_callbacks,
    training_schedule,
    without_a_batch_of_one,
)
from ._warnings import warn
from .models import EEGNet, InterpretableCNN
from .models._base import REFERENCE_SFREQ


def _stopped_by_a_callback(interrupt):
    """Whether a callback raised ``interrupt`` to end training, not the user.

    skorch's callbacks stop training by raising KeyboardInterrupt in their
    own code (EarlyStopping does, on every early stop); a Ctrl-C arrives
    wherever the training was, almost always deep inside torch.
    """
    traceback = interrupt.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return isinstance(traceback.tb_frame.f_locals.get("self"), Callback)


def _unit_variance_scale(std, info):
    """Return the factor giving the data unit variance, or per channel its type's.

    ``std`` is :func:`~mne_xai._data_checks.std_per_type` of the data.
    """
    if np.ndim(std) == 0:
        if std == 0:
            raise ValueError("X is constant; cannot scale it to unit variance.")
        return 1.0 / std
    group_std = {name: std[channels][0] for name, channels in type_groups(info).items()}
    constant = [name for name, value in group_std.items() if value == 0]
    if constant:
        raise ValueError(
            f"The {', '.join(constant)} channels of X are constant; cannot scale "
            "them to unit variance (leave them out with picks)."
        )
    logger.info(
        "Scaling the channels of each type to unit variance: "
        + ", ".join(f"{name} x {1 / value:.3g}" for name, value in group_std.items())
        + "."
    )
    return 1.0 / std


#: Ratio of the standard deviations of two channel types above which one
#: ``scaling`` number for both leaves the smaller type near flat: EEG beside an
#: EOG 30 times larger, scaled by one factor, left the network at chance.
_ONE_FACTOR_SPREAD = 10.0


def _warn_if_one_factor_flattens_a_type(scaling, std, info):
    """Warn when a number scales channel types of far apart amplitudes alike.

    ``std`` is :func:`~mne_xai._data_checks.std_per_type` of the data: a number
    keeps the types' ratio, so a type far smaller than another stays near flat
    (MEG in T beside EEG in V, scaled by 1e6, at 1e-7).
    """
    if np.ndim(std) == 0:
        return
    group_std = {name: std[channels][0] for name, channels in type_groups(info).items()}
    largest = max(group_std, key=group_std.get)
    smallest = min(group_std, key=group_std.get)
    if group_std[largest] <= _ONE_FACTOR_SPREAD * group_std[smallest]:
        return
    warn(
        f"scaling={scaling:g} multiplies every channel by one number, and the "
        "channel types of X have standard deviations "
        + ", ".join(f"{name} {value:.3g}" for name, value in group_std.items())
        + f": the network sees the {smallest} channels "
        f"{group_std[smallest] / group_std[largest]:.3g} times the size of the "
        f"{largest} channels, near flat, and can barely learn from them. Use "
        "scaling='auto', which scales each channel type to unit variance, or "
        "pick one channel type."
    )


def _number_or_channels(buffer):
    """Return a module's statistic as a float, or one value per channel."""
    # In float64 before NumPy, which has no bfloat16 (a network converted to it).
    values = buffer.detach().cpu().double().numpy()
    return float(values) if values.ndim == 0 else values.ravel()


_MISSING = object()
#: How many values (epochs x channels x times) ``spatial_init="csp"`` reads at
#: most: covariances of 64 channels are well estimated long before (10 million
#: are 1,000 epochs of 64 channels by 156 samples), and an 80 MB float64 copy
#: per temporal filter stays affordable.
SPATIAL_INIT_VALUES = 10_000_000


def _same_value(first, second):
    """Whether two parameter values are equal (the same object, if unorderable).

    Arrays and tensors are equal when their shapes and values are: their
    ``==`` compares element by element, whose truth NumPy refuses (equal
    arrays were taken as changed) and torch raises on. Lists, tuples and
    dicts are compared item by item, so that those holding arrays compare
    by value too (a list of equal tensors was taken as changed).
    """
    if first is second:
        return True
    if isinstance(first, np.ndarray | torch.Tensor) or isinstance(
        second, np.ndarray | torch.Tensor
    ):
        first, second = (
            value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
            for value in (first, second)
        )
        return np.array_equal(first, second)
    if isinstance(first, list | tuple) and type(first) is type(second):
        return len(first) == len(second) and all(map(_same_value, first, second))
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(
            _same_value(value, second[key]) for key, value in first.items()
        )
    try:
        return bool(first == second)
    except (TypeError, ValueError):  # e.g. lists holding arrays
        return False


def _checked_groups(groups, y):
    """Return ``groups`` as an array of one value per epoch (or None)."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != np.shape(y):
        raise ValueError(
            f"groups must hold one value per epoch ({len(y)}), got shape "
            f"{groups.shape}."
        )
    return groups


def _n_validation(n_epochs, validation_fraction):
    """Return the number of epochs scikit-learn's stratified split holds out."""
    return math.ceil(validation_fraction * n_epochs)


def _n_group_folds(validation_fraction):
    """Return the number of folds of which one holds out ``validation_fraction``."""
    return max(2, round(1 / validation_fraction))


def _class_weights(class_weight, classes, y, event_id=None):
    """Return the loss weight of each class of ``classes``, or None (all alike).

    ``"balanced"`` is scikit-learn's rule, n_epochs / (n_classes * count), so
    every class weighs as much in the loss whatever its size; a dict maps
    labels to weights, 1 for the classes it leaves out. ``event_id`` (of the
    training Epochs) lets a dict keyed by event names be told how to key it.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        absent = np.setdiff1d(classes, y)
        if len(absent):
            raise ValueError(
                f'class_weight="balanced" weighs each class by its count in y, and '
                f"classes {absent.tolist()} have no epoch there."
            )
    else:
        # A list: NumPy 1 warns that comparing a string with integers "failed".
        known = classes.tolist()
        unknown = [label for label in class_weight if label not in known]
        if unknown:
            named = {
                name: event_id[name] for name in unknown if name in (event_id or {})
            }
            raise ValueError(
                f"class_weight names labels {unknown} that are not classes "
                f"{classes.tolist()}."
                + (
                    f" The classes are the events' codes ({named}): key the weights "
                    "by code, or pass y as event names."
                    if named
                    else ""
                )
            )
    weights = compute_class_weight(class_weight, classes=classes, y=y)
    if not np.all(np.isfinite(weights) & (weights > 0)):
        raise ValueError(
            f"class_weight gives the classes {classes.tolist()} the weights "
            f"{weights.tolist()}; each must be finite and positive (a batch of "
            "epochs all of weight 0 has no loss, which reads as training diverging). "
            "Leave out of the data a class the network should not learn."
        )
    return weights


def _check_stratified_split(targets, classes, validation_fraction):
    """Refuse training data a stratified validation split cannot divide.

    scikit-learn's own errors name a class by its index in ``classes`` and
    speak of groups and of a test size the user never set.

    Parameters
    ----------
    targets : ndarray of int, shape (n_epochs,)
        Index in ``classes`` of each training epoch's class.
    classes : ndarray, shape (n_classes,)
        The class labels.
    validation_fraction : float
        The fraction of the epochs held out.
    """
    present, counts = np.unique(targets, return_counts=True)
    single = np.asarray(classes)[present[counts < 2]].tolist()
    if single:
        raise ValueError(
            "early_stopping=True holds out a stratified validation_fraction "
            f"({validation_fraction}) of the training epochs, which needs at least 2 "
            "epochs of each class (one to train on, one to validate), but class"
            f"{'es' * (len(single) > 1)} {', '.join(map(repr, single))} "
            f"{'have' if len(single) > 1 else 'has'} only 1. Give more epochs of "
            "each class, or set early_stopping=False."
        )
    # The sizes scikit-learn's split takes, each of which must hold every class.
    n_valid = _n_validation(len(targets), validation_fraction)
    if min(n_valid, len(targets) - n_valid) < len(present):
        raise ValueError(
            "early_stopping=True holds out validation_fraction="
            f"{validation_fraction} of the {len(targets)} training epochs "
            f"({n_valid}), and keeps {len(targets) - n_valid} to train on; each "
            f"part needs an epoch of each of the {len(present)} classes. Change "
            "validation_fraction, give more epochs, or set early_stopping=False."
        )


def refuse_picks_of_bare_arrays(picks, n_channels):
    """Refuse ``picks`` for an array without info, which is read whole.

    Ignored, ``picks=[0, 1]`` trained on all 4 channels of an array without a
    word (and ``picks="eeg"`` on its EOG rows too).
    """
    if picks is None or (isinstance(picks, str) and picks == "all"):
        return
    raise ValueError(
        f"picks={picks!r} chooses channels of Epochs by their info, and X is an "
        f"array without one, which is used whole ({n_channels} channels). Give "
        "the array of the channels to train on (e.g. epochs.get_data(picks=...)), "
        "the Epochs, or the estimator info= naming the channels of X."
    )


def _check_array_holds_picks(info, picks):
    """Refuse an array holding channels that ``picks`` would leave out of Epochs.

    An array is read whole, by position: picking from it would leave arrays
    given at prediction ambiguous. Read whole, an array of ``epochs.get_data()``
    trains on the stimulus channel, which holds the labels (cross-validated
    accuracy 0.975 on noise), or on bad channels.
    """
    picked = training_channels(info, picks)
    left_out = [name for name in info.ch_names if name not in picked]
    if left_out:
        raise ValueError(
            f"X is an array of every channel of info, but picks={picks!r} leaves "
            f"out {', '.join(left_out[:5])}{' ...' * (len(left_out) > 5)} "
            "(stimulus channels hold the labels; bad channels and other types are "
            "left out of Epochs). Give the array of the picked channels and their "
            "info (epochs.get_data(picks=...), epochs.copy().pick(...).info), fit "
            "on the Epochs, or pass picks=info.ch_names to train on every channel "
            "of X."
        )


#: How the warning of :meth:`_EEGClassifier.fit` for classes predicted for
#: none of their training epochs begins (the report's folds silence it).
UNPREDICTED_CLASSES = "After training, the network predicts none of the training epochs"
#: The start of fit's warning that the network never reads some samples.
UNREAD_SAMPLES = "The network reads samples"


def classes_never_predicted(predicted, targets):
    """Return the classes of ``targets`` predicted for none of their own epochs."""
    return [
        label
        for label in np.unique(targets)
        if not np.any(predicted[targets == label] == label)
    ]


def warn_if_classes_unpredicted(predicted, targets, classes, class_weight):
    """Warn when a class is predicted for none of its own training epochs.

    With unequal classes the loss is lowest for a network that gives every
    epoch to the frequent ones: on an oddball design of four classes (600,
    120, 40 and 20 epochs) EEGNet predicted the two rare ones for no epoch,
    trained or held out, and said nothing. One pass over the training epochs
    (a fraction of one training epoch's cost) shows it.

    Parameters
    ----------
    predicted, targets : ndarray of int, shape (n_epochs,)
        The predicted and true class of each training epoch, as indices into
        ``classes``.
    classes : ndarray, shape (n_classes,)
        The class labels.
    class_weight : dict | "balanced" | None
        The estimator's ``class_weight``, for the advice.
    """
    counts = np.bincount(targets, minlength=len(classes))
    never = classes_never_predicted(predicted, targets)
    if not never:
        return
    classes = np.asarray(classes).tolist()
    message = (
        f"{UNPREDICTED_CLASSES} of class(es) "
        f"{[classes[index] for index in never]} as theirs. Its "
        f"training epochs per class of classes_ {classes}: {counts.tolist()}; "
        "it predicts "
        f"{np.bincount(predicted, minlength=len(classes)).tolist()}."
    )
    frequent = counts[np.unique(predicted)].max()
    if all(2 * counts[index] <= frequent for index in never):
        message += (
            " With classes this unequal the loss is lowest for a network that "
            "predicts the frequent ones: "
            + (
                'weigh the classes (class_weight="balanced"), or give more '
                "epochs of the rare ones."
                if class_weight is None
                else f"even with class_weight={class_weight!r}; give more "
                "epochs of the rare ones, or train longer (max_epochs)."
            )
        )
    else:
        message += (
            " It has not learned to tell them apart, even on the epochs it was "
            "trained on: check that the labels follow the data, or train "
            "longer (max_epochs)."
        )
    warn(message)


def _single_class_cause(data, y):
    """Say why labels read from the events of Epochs may hold a single class.

    Epochs made by ``mne.EpochsArray`` without events code every epoch 1.
    Epochs with events of several classes get a training fold of one class
    from a split that is not stratified: scikit-learn's ``cross_val_score``
    of Epochs without ``y`` splits them in order, so epochs ordered by class
    (``mne.concatenate_epochs`` of two conditions) were told that their events
    were missing.
    """
    if data.events is None or not labels_match_events(data, y):
        return ""
    if data.event_id == {"1": 1} and np.all(data.events[:, 2] == 1):
        return (
            " They are the events of X (epochs.events[:, 2]), which "
            "mne.EpochsArray without events codes 1 in every epoch: pass y, "
            "or the events."
        )
    return (
        " They are the events of X (epochs.events[:, 2]). If X is the training "
        "part of a split, the split was not stratified: scikit-learn "
        "stratifies the folds of cross_val_score or GridSearchCV by class only "
        "when given y, so epochs ordered by class give folds of one class. Pass "
        "y=epochs.events[:, 2], e.g. cross_val_score(estimator, epochs, "
        "epochs.events[:, 2], cv=5); a cv=StratifiedKFold(...) needs that y "
        "too (without it, scikit-learn fails)."
    )


class _EEGClassifier(_PredictionMixin, NeuralNetClassifier):
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
        class_weight=None,
        time_shift=0.05,
        spatial_init=None,
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
        self.class_weight = class_weight
        self.time_shift = time_shift
        self.spatial_init = spatial_init

    # -- set-up ---------------------------------------------------------------
    def get_default_callbacks(self):
        """Return skorch's defaults plus max-norm, LR schedule and early stopping."""
        return training_callbacks(self, super().get_default_callbacks())

    def _check_params(self):
        _check_option("lr_schedule", self.lr_schedule, ("cosine", None))
        _validate_type(self.early_stopping, bool, "early_stopping")
        check_schedule(self.batch_size, self.max_epochs)
        # Unchecked, a string from a configuration file failed inside torch
        # ("'<=' not supported between instances of 'float' and 'str'").
        _validate_type(self.lr, "numeric", "lr", "a number")
        # 0 is allowed, as in torch: it keeps the network as it was built.
        if not 0 <= self.lr < math.inf:
            raise ValueError(
                f"lr must be a finite number of at least 0, got {self.lr}."
            )
        if self.scaling != "auto":
            _validate_type(self.scaling, "numeric", "scaling", '"auto" or a number')
            if not self.scaling > 0:
                raise ValueError(f"scaling must be positive, got {self.scaling}.")
        if self.early_stopping and not 0 < self.validation_fraction < 1:
            raise ValueError(
                "validation_fraction must be in (0, 1), got "
                f"{self.validation_fraction}."
            )
        if self.early_stopping:
            _validate_type(self.n_iter_no_change, "int-like", "n_iter_no_change")
            if self.n_iter_no_change < 1:
                raise ValueError(
                    f"n_iter_no_change must be at least 1, got {self.n_iter_no_change}."
                )
        _validate_type(self.time_shift, "numeric", "time_shift")
        if not self.time_shift >= 0:
            raise ValueError(
                f"time_shift must be at least 0 (seconds), got {self.time_shift}."
            )
        _check_option("spatial_init", self.spatial_init, ("csp", None))
        _validate_type(self.info, (None, mne.Info), "info")
        _validate_type(self.class_weight, (None, str, dict), "class_weight")
        if isinstance(self.class_weight, str):
            _check_option("class_weight", self.class_weight, ("balanced",))
        check_device(self.device)
        # skorch failed on them while building the network, naming neither
        # ("'str' object is not callable", 'can only concatenate list (not
        # "str") to list'): a name from a configuration file, say.
        for name, example in (
            ("criterion", "torch.nn.CrossEntropyLoss"),
            ("optimizer", "torch.optim.AdamW"),
        ):
            if not callable(getattr(self, name)):
                raise TypeError(
                    f"{name} must be a class (or instance) such as {example}, "
                    f"got {getattr(self, name)!r}."
                )
        # skorch's "disable" (no callback at all, ours neither) passes as in skorch.
        if not isinstance(self.callbacks, str) or self.callbacks != "disable":
            _validate_type(
                self.callbacks, (None, list), "callbacks", "None or a list of callbacks"
            )
        # NumPy's own refusals named no argument ("Seed must be between 0 and
        # 2**32 - 1"); scikit-learn's check_random_state, which draws seed_,
        # takes a RandomState as it is (and says itself it cannot take a Generator).
        if not isinstance(
            self.random_state, np.random.RandomState | np.random.Generator
        ):
            check_seed(self.random_state)

    def initialize_criterion(self):
        """Build the loss, weighted by ``class_weight_``; refuse one that reads probabilities."""
        weight = getattr(self, "class_weight_", None)
        if weight is None:
            super().initialize_criterion()
        else:
            self.criterion_ = self.initialized_instance(
                self.criterion,
                self._weighted_criterion_params(torch.as_tensor(weight).float()),
            )
        if isinstance(self.criterion_, torch.nn.NLLLoss):
            # skorch feeds NLLLoss the log of the network's output, taking it
            # for probabilities: the log of logits is NaN, which read as a
            # training diverging at any learning rate.
            raise TypeError(
                "criterion=NLLLoss reads log-probabilities, which skorch takes as "
                "the log of the network's output; the networks of mne_xai return "
                "logits. Use torch.nn.CrossEntropyLoss, which is NLLLoss of the "
                "log-softmax of the logits."
            )
        return self

    def _weighted_criterion_params(self, weight):
        """Return the criterion's parameters with ``weight``, where it takes one."""
        params = self.get_params_for("criterion")
        if "weight" in params:
            raise ValueError(
                "class_weight and criterion__weight both weigh the classes; give "
                "one of them."
            )
        criterion = self.criterion
        if not isinstance(criterion, type):
            raise TypeError(
                "class_weight builds the loss with its weight parameter, so "
                f"criterion must be a class, not the instance {criterion!r}: give "
                "e.g. criterion=torch.nn.CrossEntropyLoss, and its options as "
                "criterion__<name>."
            )
        if "weight" not in inspect.signature(criterion).parameters:
            raise TypeError(
                "class_weight is given to the loss as its weight parameter, which "
                f"criterion={criterion.__name__} does not take; weigh the classes "
                "in the loss itself."
            )
        return {**params, "weight": weight}

    def _get_predict_nonlinearity(self):
        """Return the softmax of the logits, whatever the loss, for ``"auto"``.

        skorch's ``"auto"`` applies a softmax for CrossEntropyLoss only and
        passes any other loss's outputs on as probabilities; these networks
        return logits (one that ends in a softmax is refused), so with a
        focal or margin loss predict_proba gave logits (rows summing to -0.3).
        """
        if isinstance(self.predict_nonlinearity, str) and (
            self.predict_nonlinearity == "auto"
        ):
            return partial(torch.softmax, dim=-1)
        return super()._get_predict_nonlinearity()

    def initialize_module(self):
        """Build the network with the shapes learned from the training data.

        The statistics of the training data become buffers of the module, so
        that ``save_params``/``load_params`` restore them with the weights.
        """
        self._check_initialized_data()
        module = self._module_class
        shapes = dict(
            n_channels=self.n_channels_,
            n_classes=len(self.classes_),
            n_times=self.n_times_,
            sfreq=self._sfreq,
            sfreq_assumed=self.info_ is None,
            chs_info=None if self.info_ is None else self.info_["chs"],
            ch_names=self.ch_names_,
            classes=self.classes_,
            event_id=self._events_naming_classes,
        )
        module_params = self.get_params_for("module")
        self.module_ = build_network(
            module,
            self._training_statistics_,
            shapes,
            module_params,
            self.initialized_instance,
        )
        # What training continued from a restored network draws from (see
        # save_params), kept where save_params and pickling keep the weights.
        self.module_.register_buffer(
            "training_continuation",
            torch.tensor(
                [getattr(self, "seed_", 0), int(getattr(self, "incremental_", False))]
            ),
        )
        # Whether fit started the spatial filters from CSP (spatial_init_),
        # restored by load_params with the weights it shaped.
        self.module_.register_buffer("training_spatial_start", torch.tensor(False))
        # What the network was built with, for warm starts to check.
        self._built_with_ = self._build_parameters()
        return self

    def save_params(self, *args, **kwargs):
        """Save the network's parameters (see :meth:`skorch.net.NeuralNet.save_params`).

        The network's buffers keep, beside its weights and what training
        learned from its data, the seed the next training draws from and
        whether training goes on by ``partial_fit``: restored, a sequence of
        ``partial_fit`` calls continues as it would have (with the optimizer
        state of ``f_optimizer``), rather than starting afresh.

        Parameters
        ----------
        *args, **kwargs
            As for :meth:`skorch.net.NeuralNet.save_params`.
        """
        if hasattr(getattr(self, "module_", None), "training_continuation"):
            # (Networks pickled before it was kept have none.)
            self.module_.training_continuation.copy_(
                torch.tensor([self.seed_, int(self.incremental_)])
            )
        return super().save_params(*args, **kwargs)

    def _build_parameters(self):
        """Return the parameters the network and its input were built with."""
        return {
            **{
                f"module__{key}": value
                for key, value in self.get_params_for("module").items()
            },
            "module": self.module,
            # Which channels, at which scale, give which classes' logits.
            **{
                name: getattr(self, name)
                for name in ("picks", "scaling", "classes", "class_weight")
            },
        }

    def _check_built_with(self):
        """Check the parameters of continued training; refuse changed ones.

        A warm start or partial fit continues the network it has; parameters
        set since (e.g. ``module__F1``, ``picks``) would say they apply, and
        be ignored.
        """
        self._check_params()
        current = self._build_parameters()
        # Missing from estimators pickled before it was recorded.
        built = getattr(self, "_built_with_", current)
        module = self._module_class
        # A parameter first set to its default changes nothing.
        defaults = (
            {
                f"module__{name}": parameter.default
                for name, parameter in inspect.signature(module).parameters.items()
            }
            if isinstance(module, type)
            else {}
        )
        changed = sorted(
            key
            for key in built.keys() | current.keys()
            if not _same_value(
                built.get(key, defaults.get(key, _MISSING)),
                current.get(key, defaults.get(key, _MISSING)),
            )
        )
        if changed:
            names = ", ".join(changed)
            raise ValueError(
                f"{names} changed since the network was built, and continued "
                "training (warm_start=True, partial_fit) keeps that network; fit "
                "with warm_start=False (or a clone) to build one with the new "
                "parameters."
            )

    def _check_initialized_data(self):
        if not hasattr(self, "n_channels_"):
            raise NotInitializedError(
                f"{type(self).__name__} learns its network's shape from data: call "
                "fit(X, y), or initialize(X, y) before load_params."
            )

    @property
    def _module_class(self):
        """The network's class (or factory): ``module``, or the estimator's own."""
        return self.module if self.module is not None else self._default_module

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
    def _events_naming_classes(self):
        # Events name the classes only where they are its labels.
        return self.event_id_ if self.events_are_labels_ else None

    @property
    def input_scale_(self):
        """The factor applied to the data before the first layer (or per channel)."""
        return _number_or_channels(self.module_.input_scale)

    @property
    def data_mean_(self):
        """The mean training epoch, shape ``(n_channels, n_times)``."""
        # A copy (on the CPU, .numpy() would share the network's buffer), in
        # float32 whatever the network's dtype (NumPy has no bfloat16).
        return self.module_.training_mean.to("cpu", torch.float32, copy=True).numpy()

    @property
    def data_std_(self):
        """The standard deviation of the training data (or of each channel's type)."""
        return _number_or_channels(self.module_.training_std)

    def initialize(self, X=None, y=None):
        """Initialize the network, learning its shape from ``X`` and ``y`` if given.

        ``fit`` calls this itself. Call it with data shaped like the training
        data before :meth:`load_params` to restore a saved network. The saved
        parameters bring what training learned from its data (the input
        scaling, the training statistics, the class counts that the training
        schedule and ``"balanced"`` class weights follow, ``spatial_init_``)
        and are checked against the channels, sampling rate and classes of the
        data given here, which give the rest (``tmin_``, ``baseline_``,
        ``eeg_reference_`` and ``info_``, with its filters and projectors).

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
            data, info, y = self._training_data(X, y)
            self.validation_groups_ = None  # no groups given here
            self._learn_data(data, info, y)
            # Training continued from here (load_params, then partial_fit or a
            # warm start) draws from it.
            self._draw_seed()
        # Built from the seed just drawn, as fit builds it, not from torch's
        # global random state (fit calls this without data, seeded already).
        seeded = self._seeded() if X is not None else contextlib.nullcontext()
        with skorch_prints_logged(self), seeded:
            return super().initialize()

    def _draw_seed(self):
        """Draw ``seed_``, the seed of the training to come, from ``random_state``."""
        self.seed_ = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max
        )

    def load_params(self, *args, **kwargs):
        """Load saved parameters into the initialized network (see skorch).

        The network's weights are tied to the channels, in order, and the
        sampling rate of the data it was initialized with, and its outputs to
        the classes: parameters saved from a network of other channels (or of
        the same in another order), of another rate, or of other classes
        (e.g. event codes given for a network trained on event names), are
        refused rather than read against the wrong weights or as the wrong
        classes.

        Parameters
        ----------
        *args, **kwargs
            As for :meth:`skorch.net.NeuralNet.load_params`.
        """
        # Before initialize, skorch's own check failed on a missing attribute.
        self.check_is_fitted()
        classes = np.asarray(self.classes_).tolist()
        try:
            super().load_params(*args, **kwargs)
        except RuntimeError as error:
            self._check_loss_state(error)
            if "size mismatch" not in str(error):
                raise
            raise ValueError(
                "The parameters were saved from a network of another shape than "
                f"the one initialized ({self.n_channels_} channels, {self.n_times_} "
                f"samples at {self._sfreq:g} Hz, classes {classes}), or of "
                "another network (module, module__ parameters); kernel lengths "
                "follow the sampling rate. Initialize the estimator it was saved "
                "from with data of the training channels, times and rate, and "
                "labels of every training class (classes= names those the data "
                "lack), or pickle the whole estimator."
            ) from error
        self._check_loaded_record(classes)
        self._follow_training_counts(self.module_.training_class_counts.cpu().numpy())
        seed, incremental = self.module_.training_continuation.tolist()
        self.seed_, self.incremental_ = seed, bool(incremental)
        self.spatial_init_ = "csp" if self.module_.training_spatial_start else None

    def _check_loaded_record(self, classes):
        """Refuse loaded parameters whose training record is not the data's.

        The network keeps digests of its training channels, rate, classes and
        events; ``initialize`` read the data given to it, which must match.
        """
        expected = channels_digest(self.ch_names_, self.n_channels_)
        if not torch.equal(self.module_.training_channels.cpu(), expected):
            raise ValueError(
                "The parameters were saved from a network of other channels, or "
                "of the same in another order, than the data given to initialize "
                f"({self.n_channels_} channels"
                + (f", starting {self.ch_names_[:3]}" if self.ch_names_ else "")
                + "); initialize with data of the training channels in the "
                "training order (or pickle the whole estimator)."
            )
        trained_at = float(self.module_.training_sfreq)
        if trained_at != self._sfreq:
            # Kernel lengths follow the rate, but often round alike, and a
            # network of the user's may not depend on it at all.
            raise ValueError(
                f"The parameters were saved from a network trained at {trained_at:g} "
                f"Hz, and the data given to initialize are sampled at "
                f"{self._sfreq:g} Hz: the network would read them at the wrong "
                "rate. Initialize with data sampled as in training (resample "
                "them, or pass info= with the training rate for arrays)."
            )
        if not torch.equal(
            self.module_.training_classes.cpu(), classes_digest(self.classes_)
        ):
            # Event codes for a network trained on event names sort otherwise:
            # every output would be read as another class.
            raise ValueError(
                "The parameters were saved from a network of other classes than "
                f"the labels given to initialize ({classes}): its outputs would be "
                "read as other classes. Initialize with labels of the training "
                "classes (e.g. y=event names for a network trained on them), or "
                "pickle the whole estimator."
            )
        if not torch.equal(
            self.module_.training_events.cpu(),
            events_digest(self._events_naming_classes, self.classes_),
        ):
            if torch.equal(
                self.module_.training_events.cpu(), events_digest(None, self.classes_)
            ):
                raise ValueError(
                    "The parameters were saved from a network trained on arrays, "
                    "without events, and the data given to initialize are Epochs "
                    "naming its classes by events. Initialize with arrays as in "
                    "training (and info= of the training rate and channels)."
                )
            raise ValueError(
                "The parameters were saved from a network whose training Epochs "
                "named its classes by other events than the data given to "
                f"initialize ({self.event_id_}): target='true', targets by event "
                "name and score would read their events as other classes, or "
                "refuse them. Initialize with Epochs holding the training events "
                "(their event_id, with an epoch of each class), or pickle the "
                "whole estimator."
            )

    def _follow_training_counts(self, counts):
        """Take what follows the training data's size from their class counts.

        The schedule (``batch_size_``, ``max_epochs_``) and "balanced" class
        weights follow the counts of the data trained on, which the network
        keeps (``training_class_counts``): on loading, those of the training,
        where ``initialize`` computed both from data that need only be shaped
        as the training data; in a continued fit, those of its data. A loaded
        loss state keeps its weights, which ``class_weight_`` then gives.
        """
        weights = self.class_weight_
        if self.class_weight == "balanced":
            labels = np.repeat(self.classes_, counts)
            weights = _class_weights("balanced", self.classes_, labels)
        # Nothing is changed before: a refused "balanced" leaves the network.
        if hasattr(self.module_, "training_class_counts"):  # else pickled before
            self.module_.training_class_counts.copy_(torch.as_tensor(counts))
        self.batch_size_, self.max_epochs_ = training_schedule(
            self._n_stepped_on(int(counts.sum())), self.batch_size, self.max_epochs
        )
        loss_weight = getattr(self.criterion_, "weight", None)
        if weights is None or loss_weight is None:
            return
        if np.allclose(loss_weight.cpu().numpy(), self.class_weight_, rtol=1e-6):
            self.class_weight_ = weights
            loss_weight.copy_(torch.as_tensor(weights))
        else:  # a loaded loss state
            self.class_weight_ = loss_weight.detach().cpu().double().numpy()

    def _check_loss_state(self, error):
        """Refuse a saved loss state weighted otherwise than the loss built.

        CrossEntropyLoss keeps its class weights in its state only when it has
        some, so torch's error names a key, not the class weights.
        """
        message = str(error)
        saved_weighted = 'Unexpected key(s) in state_dict: "weight"' in message
        if not (
            f"loading state_dict for {type(self.criterion_).__name__}:" in message
            and (saved_weighted or 'Missing key(s) in state_dict: "weight"' in message)
        ):
            return
        raise ValueError(
            "The loss state (f_criterion) was saved from a network trained "
            + ("with" if saved_weighted else "without")
            + " class weights, and the loss initialized here "
            + ("has none" if saved_weighted else "weighs the classes")
            + f" (class_weight={self.class_weight!r}). Initialize with the "
            "class_weight of the saved network to continue its training, or "
            "leave f_criterion out: the loss state matters to further training "
            "only, not to predictions or explanations. (The files loaded before "
            "it, such as f_params, were loaded.)"
        ) from error

    def _training_data(self, X, y):
        """Convert and check training data; return (data, info, y)."""
        self._check_params()
        data = InputData(X)
        if data.info is not None:
            data.pick(training_channels(data.info, self.picks))
        if y is None:
            if data.events is None:
                raise labels_required()
            y = data.event_codes
        y = column_or_1d(np.asarray(y), warn=True)  # as scikit-learn's estimators
        if len(y) != data.shape[0]:
            raise ValueError(
                f"X has {data.shape[0]} epochs but y has {len(y)} labels; they must "
                "match."
                + (
                    f" Reading X, {data.rejection_dropped()}: give the labels of "
                    "the epochs kept (e.g. epochs.events[:, 2] after "
                    "epochs.drop_bad())."
                    if data.n_rejected
                    else ""
                )
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
        if data.info is None and info is not None:
            _check_array_holds_picks(info, self.picks)
        elif info is None:
            refuse_picks_of_bare_arrays(self.picks, data.shape[1])
        return data, info, y

    def _learn_data(self, data, info, y, classes=None):
        """Learn classes, channels, shapes and statistics from training data.

        ``classes`` (partial_fit's argument) takes the place of the ``classes``
        parameter, which is left as the user set it.
        """
        if y.dtype == object and len({isinstance(label, str) for label in y}) > 1:
            kinds = sorted({type(label).__name__ for label in y})
            raise ValueError(
                f"y mixes strings and numbers ({', '.join(kinds)}); give labels of "
                "one type."
            )
        check_classification_targets(y)
        labels = unique_labels(y)
        if classes is None:
            classes = self.classes
        if classes is not None:
            classes = unique_labels(classes)
            # Checked apart from y's: classes=[] failed with an IndexError, and
            # one class given was refused as "y holds a single class".
            if len(classes) < 2:
                raise ValueError(
                    "classes must hold at least two labels, got "
                    f"{classes.tolist()}; give every class of the data, or None "
                    "to take them from y."
                )
        else:
            classes = labels
        if len(classes) < 2:
            raise ValueError(
                f"y holds a single class ({classes.tolist()[0]!r}); a classifier "
                f"needs at least two.{_single_class_cause(data, y)}"
            )
        unknown = np.setdiff1d(labels, classes)
        if len(unknown):
            # Codes given where the events' names are classes. The classes may
            # name more (events of later partial_fit chunks), and names as y
            # are not codes.
            names = {code: name for name, code in (data.event_id or {}).items()}
            from_events = (
                " They are the events' codes (epochs.events[:, 2]), and classes "
                "names events: pass y as the events' names."
                if data.events is not None
                and labels_match_events(data, y)
                and {names.get(label) for label in labels.tolist()}
                <= set(np.asarray(classes).tolist())
                else ""
            )
            raise ValueError(
                f"y holds labels {unknown} not in classes={classes}.{from_events}"
            )
        array = data.array()
        self.classes_inferred_ = classes
        # Copies: the user's Epochs may change in place after fit (a new
        # reference, a reorder), and the record of the training must not.
        self.info_ = None if info is None else info.copy()
        self.ch_names_ = None if info is None else list(info.ch_names)
        self.event_id_ = data.event_id
        self.events_are_labels_ = labels_match_events(data, y)
        self.tmin_, self.baseline_ = data.tmin, data.baseline
        self.n_channels_, self.n_times_ = array.shape[1:]
        self.eeg_reference_ = None if info is None else eeg_reference(array, info)
        moments = channel_moments(array)
        check_offsets(array, self.ch_names_, moments=moments)
        # Only Epochs say their unit: arrays (spectra in decibels, with their
        # channels' info) may come in any.
        check_channel_amplitudes(moments, data.info)
        self.batch_size_, self.max_epochs_ = training_schedule(
            self._n_stepped_on(len(array)), self.batch_size, self.max_epochs
        )
        std = std_per_type(array, info)
        if self.scaling == "auto":
            input_scale = _unit_variance_scale(std, info)
        else:
            input_scale = float(self.scaling)
            _warn_if_one_factor_flattens_a_type(input_scale, std, info)
        self.class_weight_ = _class_weights(
            self.class_weight, classes, y, data.event_id
        )
        self.incremental_ = False
        # Ends in "_" as fitted state: skorch takes any attribute that does not
        # for a parameter (get_params, and clone, would carry the data along).
        targets = np.searchsorted(classes, y).astype(np.int64)
        check_copies(array, targets)
        self._training_statistics_ = dict(
            mean=array.mean(axis=0),
            std=std,
            input_scale=input_scale,
            class_counts=np.bincount(targets, minlength=len(classes)),
        )
        return array, targets

    # -- training -------------------------------------------------------------
    @at_own_log_level
    @autograd_on
    @fill_doc
    def fit(self, X, y=None, groups=None, **fit_params):
        """Train the network.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Training data. %(epochs_list_cv)s
        y : array-like, shape (n_epochs,) | None
            Labels; with Epochs, None means ``epochs.events[:, 2]``.
        groups : array-like, shape (n_epochs,) | None
            Group of each epoch, e.g. the trial a cropped window was cut from.
            With ``early_stopping=True`` the validation split keeps each group
            on one side, so that overlapping windows of one trial cannot make
            the validation loss optimistic. Ignored otherwise.
        **fit_params
            Passed to :meth:`skorch.net.NeuralNet.fit`.

        Returns
        -------
        self : instance of the estimator
            The fitted estimator.
        """
        if self.warm_start and getattr(self, "initialized_", False):
            # The network, its classes and its input scaling are kept.
            self._check_built_with()
            array, targets = self._continued_training_data(X, y)
            self.validation_groups_ = _checked_groups(groups, targets)
            self._follow_training_counts(
                np.bincount(targets, minlength=len(self.classes_))
            )
            self._restart_training(incremental=False)
            with self._seeded():
                self._train(array, targets, **fit_params)
            return self._warn_if_classes_unpredicted(array, targets)
        data, info, y = self._training_data(X, y)
        self.validation_groups_ = _checked_groups(groups, y)
        try:
            array, targets = self._learn_data(data, info, y)
            self._draw_seed()
        except BaseException:
            self._forget_network()
            raise
        self._warn_if_eegnet_rate_far_above_its_own()
        stepped = self._n_stepped_on(len(array))
        # Whole groups are held out, so their share is known to a group.
        about = "about " if self.validation_groups_ is not None else ""
        held_out = (
            f" ({about}{len(array) - stepped} more held out to validate)"
            if stepped < len(array)
            else ""
        )
        logger.info(
            f"Training on {about if held_out else ''}{stepped} epochs{held_out}: "
            f"batch size {self.batch_size_}, {self.max_epochs_} "
            f"epoch{'s' * (self.max_epochs_ != 1)}."
        )
        # One seeded stream for the initialization and the training after it.
        with self._seeded():
            if not self.warm_start or not self.initialized_:
                self._build_network(array, targets)
            # NeuralNet.fit would call our partial_fit, which converts data.
            self._train_built_network(array, targets, **fit_params)
        return self._warn_if_classes_unpredicted(array, targets)

    def _build_network(self, array, targets):
        """Build the network afresh and start its spatial filters; none if refused."""
        try:
            # Built afresh, as at a first fit: skorch printed that it
            # re-initialized each part, whatever the level of verbose.
            self.initialized_ = False
            self.initialize()
            # The validation split it reads may refuse the classes.
            self._initialize_spatial_filters(array, targets)
            self.module_.training_spatial_start.fill_(self.spatial_init_ == "csp")
        except BaseException:
            self._forget_network()
            raise
        self._warn_if_samples_unread(array)

    def _span_read(self, array):
        """Return the span of samples the network reads of ``array``'s epochs.

        Returns
        -------
        span : tuple of int | None
            ``(first, last, n_times)``: the first and last sample read, of
            ``n_times``; None where the network reads every sample.
        """
        module = self.module_
        training = module.training
        module.eval()
        try:
            probe = torch.as_tensor(array[:PROBE_EPOCHS], device=self.device)
            read = samples_read(module, probe)
        finally:
            module.train(training)
        if read is None:
            return None
        first, last = np.flatnonzero(read)[[0, -1]]
        return int(first), int(last), len(read)

    def _warn_if_samples_unread(self, array):
        """Warn of the start or end of the epochs that the network never reads.

        EEGNet's two poolings keep a whole number of their spans (32 samples
        and more) and drop what is left at the end of the epoch; at 128 Hz
        and above its temporal kernel still reaches those samples, but not at
        low rates: of fNIRS epochs at 10 Hz, 12.7 s long, the last 2.9 s
        changed no prediction (noise 1000 times the data's there moved no
        probability) and got zero relevance from every method, which reads
        as a finding about the data.
        """
        read = self._span_read(array)
        if read is None:
            return
        first, last, n_times = read
        unread = unread_ends(
            first,
            last,
            n_times,
            lambda start, stop: f"{(stop - start) / self._sfreq:.3g} s",
        )
        warn(
            f"{UNREAD_SAMPLES} {first} to {last} of the {n_times} of each "
            f"epoch: {unread} never reach its logits "
            "(pooling that does not divide the epoch drops its end), so no "
            "prediction depends on them and every method gives them zero "
            f"relevance. Crop the epochs to the {last - first + 1} samples read "
            "(epochs.crop), or give them a length the network reads whole."
        )

    def _initialize_spatial_filters(self, array, targets):
        """Start the spatial filters from the training epochs (``spatial_init``).

        Only the epochs training steps on are read: with early stopping, the
        validation epochs stay unseen. A large training set is read through
        a stratified sample of :data:`SPATIAL_INIT_VALUES` values, enough for
        the covariances CSP compares.
        """
        initialize = getattr(self.module_, "initialize_spatial_filters", None)
        nothing_to_start = initialize is None or array.shape[1] < 2
        self.spatial_init_ = None if nothing_to_start else self.spatial_init
        if self.spatial_init_ is None:
            return
        train = self.get_split_datasets(array, targets)[0]
        indices = np.asarray(getattr(train, "indices", np.arange(len(targets))))
        present = np.unique(targets[indices])
        if len(present) < 2:
            (label,) = np.asarray(self.classes_)[present].tolist()
            # CSP compares the classes' covariances; a first partial_fit chunk
            # (or a fit given classes= beyond its labels) may hold one class.
            warn(
                'spatial_init="csp" needs training epochs of two classes or '
                f"more; these hold only {label!r}, so the spatial filters keep "
                "the network's random start. Train on epochs of every class "
                "(with partial_fit, a first chunk that holds them)."
            )
            self.spatial_init_ = None
            return
        n_read = max(1, SPATIAL_INIT_VALUES // array[0].size)
        if len(indices) > n_read:
            indices = resample(
                indices,
                replace=False,
                n_samples=n_read,
                stratify=targets[indices],
                random_state=self.seed_,
            )
        indices = np.sort(indices)
        initialize(
            torch.as_tensor(array[indices], device=self.device), targets[indices]
        )

    def _warn_if_eegnet_rate_far_above_its_own(self):
        """Advise decimating data at four or more times EEGNet's 128 Hz.

        At 512 Hz the temporal kernel has four times the weights of the
        paper's and a fit takes about ten times as long as on the same epochs
        decimated to 128 Hz, for no accuracy measured in return. On simulated
        epochs at 512 Hz whose classes differ in frequency
        (``benchmarks/accuracy_rate.py``, 100 epochs, nine seeds on the same
        folds) EEGNet scored 0.53 +/- 0.05 as given and 0.62 +/- 0.11
        low-passed at 40 Hz and decimated to 128 Hz, ahead on five seeds of
        nine: the random draw mattered as much as the rate (at 128 Hz alone,
        nine draws of one seed's folds ranged from 0.46 to 0.80, and at 256 Hz
        a kernel dilated from the same initial weights learned as at 128 Hz).
        EEGBCI's 7-30 Hz imagery epochs resampled to 320 and 640 Hz were
        learned as at 160 Hz (0.84, 0.87 and 0.87, one seed). InterpretableCNN,
        whose kernel keeps its duration alike, is not warned about.
        """
        module = self._module_class
        if module is not EEGNet or self.info_ is None:
            return
        factor = self._sfreq / REFERENCE_SFREQ
        if round(factor) < 4:
            return
        warn(
            f"The epochs are sampled at {self._sfreq:g} Hz, {factor:.3g} times the "
            f"{REFERENCE_SFREQ:g} Hz EEGNet is defined at: its temporal kernel "
            f"has {factor:.3g} times the paper's weights, and its convolution costs "
            f"about {factor**2:.0f} times as much per epoch (kernel and epoch both "
            f"{factor:.3g} times as long). At 512 Hz training "
            "took ten times as long as on the same epochs decimated to 128 Hz, "
            "for no accuracy gained (benchmarks/accuracy_rate.py: 0.53 as "
            "given, 0.62 decimated, mean of nine seeds that varied widely). "
            "Low-pass filter and decimate to the rate your signal needs first "
            "(epochs.decimate, or epochs.resample), as MNE's decoding examples "
            "do."
        )

    def _train(self, array, targets, **fit_params):
        """Train through skorch's partial_fit, and end on a user's Ctrl-C.

        skorch swallows a KeyboardInterrupt and returns the network as it is:
        fit returned a network trained 2 epochs of 40, a cross-validation went
        on with that fold's score, and the command line wrote its report and
        exited 0. ``fit_loop`` keeps the user's interrupt (not a callback's
        early stop) for this method to raise once skorch has ended training.
        """
        self._user_interrupt_ = None
        NeuralNetClassifier.partial_fit(self, array, targets, **fit_params)
        interrupt, self._user_interrupt_ = self._user_interrupt_, None
        if interrupt is not None:
            raise interrupt
        return self

    def _train_built_network(self, array, targets, **fit_params):
        """Train a network just built; forget it if refused before any step.

        Some refusals come from the training itself, before its first
        optimizer step (a ``time_shift`` too long for the epochs, a validation
        split the classes cannot give): the network built for them kept its
        random weights and predicted with them, as if fitted.
        """
        try:
            return self._train(array, targets, **fit_params)
        except Exception:
            if not any(
                "train_loss" in batch
                for row in self.history
                for batch in row.get("batches", ())
            ):
                self._forget_network()
            raise

    def _warn_if_classes_unpredicted(self, array, targets):
        """Warn of classes predicted for none of their training epochs.

        See :func:`warn_if_classes_unpredicted`. Not after ``partial_fit``,
        whose one pass is a step of a longer training.

        Returns
        -------
        self : instance of the estimator
        """
        if self.max_epochs_:  # else built, not trained
            predicted = NeuralNetClassifier.forward(self, array).argmax(dim=1).numpy()
            warn_if_classes_unpredicted(
                predicted, targets, self.classes_, self.class_weight
            )
        return self

    def _forget_network(self):
        """Leave no network that looks fitted after a fit stopped before training.

        Stopped between learning the data and training (an error, a Ctrl-C),
        the network had random weights, or the last fit's weights for this
        data's shapes.
        """
        self.__dict__.pop("module_", None)
        self.initialized_ = False

    @at_own_log_level
    @autograd_on
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
            Passed to :meth:`skorch.net.NeuralNet.partial_fit`.

        Returns
        -------
        self : instance of the estimator
            The estimator, trained one more epoch.
        """
        # A chunk comes without groups: those of an earlier fit belong to
        # other data, which the validation split would read this chunk by.
        self.validation_groups_ = None
        first = not getattr(self, "initialized_", False) or not hasattr(self, "module_")
        if first:
            if classes is None and self.classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit (or "
                    "set with the classes parameter): later chunks may hold "
                    "labels the first does not."
                )
            if isinstance(self.class_weight, str):  # as scikit-learn's SGDClassifier
                raise ValueError(
                    'class_weight="balanced" is not supported by partial_fit: a '
                    "chunk's class counts are not those of the data. Pass weights "
                    "per class, e.g. from sklearn.utils.class_weight."
                    'compute_class_weight("balanced", classes=classes, y=y) on all '
                    "the labels, as class_weight=dict(zip(classes, weights))."
                )
            data, info, y = self._training_data(X, y)
            array, targets = self._learn_data(data, info, y, classes)
            self.incremental_ = True
            self._draw_seed()
            with self._seeded():
                self._build_network(array, targets)
        else:
            if classes is not None and not np.array_equal(
                unique_labels(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={list(classes)} differ from those of the first call "
                    f"({np.asarray(self.classes_).tolist()})."
                )
            self._check_built_with()
            array, targets = self._continued_training_data(X, y)
            if self.batch_size != "auto":
                # The size get_iterator trains with: one set since (set_params)
                # is used, and batch_size_ says so.
                self.batch_size_ = int(self.batch_size)
            if not self.incremental_:  # after fit: leave its schedule
                self._restart_training(incremental=True)
        # Each call draws from its own seed, so a sequence of calls reproduces.
        self.seed_ = check_random_state(self.seed_).randint(np.iinfo(np.int32).max)
        train = self._train_built_network if first else self._train
        with self._seeded():
            return train(array, targets.astype(np.int64), epochs=1, **fit_params)

    def _restart_training(self, incremental):
        """Train the kept network from ``lr`` again, by a schedule of its own.

        The cosine schedule of the last fit ends at a learning rate of zero,
        where a continued fit (warm start) spent its first epoch and
        partial_fit its pass. The weights are kept; the optimizer starts
        afresh from ``lr`` (and its parameter groups), and the callbacks
        follow the training to come: a cosine over ``max_epochs_`` for a
        warm-start fit, a constant rate for partial_fit.
        """
        self.incremental_ = incremental
        self.initialize_optimizer()
        self.initialize_callbacks()

    def _continued_training_data(self, X, y):
        """Convert data to train the kept network on (``partial_fit``, warm start).

        The data must be of the network's channels and classes; events are
        matched to the classes by name, and names of new events are kept.
        Events are not read as labels once the network learned other labels.
        """
        data = self._check_prediction_input(X)
        event_id = self.event_id_
        # Missing from estimators pickled before it was recorded, which read
        # events as labels.
        events_are_labels = getattr(self, "events_are_labels_", True)
        if y is not None:
            events_are_labels = events_are_labels and labels_match_events(data, y)
        else:
            if data.events is not None and event_id:
                # Each call may hold events the earlier ones did not name. (A
                # network fitted on arrays knows none: its classes are matched
                # to the events by name only.)
                event_id = named_events(event_id, data.event_id) or None
            # As score reads them: codes, or names for a network trained on names.
            y = labels_or_events(X, None, event_id, self.classes_, events_are_labels)
        y = np.asarray(y)
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"y holds labels {unknown.tolist()} the network was not built for "
                f"(classes_={np.asarray(self.classes_).tolist()}); fit it afresh "
                "(warm_start=False) to build one for them."
            )
        array = data.array()
        check_amplitudes(
            array,
            self.data_std_,
            self.info_,
            train_baseline=getattr(self, "baseline_", BASELINE_UNKNOWN),
        )
        self.event_id_ = event_id
        self.events_are_labels_ = events_are_labels
        return array, np.searchsorted(self.classes_, y)

    def set_params(self, **params):
        """Set parameters; a fitted network is kept, and a new ``device`` moves it.

        skorch rebuilds the network, untrained, when ``module`` or a module
        parameter (e.g. ``module__dropout``) is set on a fitted estimator,
        which then predicts at chance without a word. As in scikit-learn, the
        fitted network is kept here, and they take effect at the next ``fit``
        (which ``warm_start=True`` and :meth:`partial_fit`, continuing the
        network they have, refuse). So does ``compile``, which skorch took for
        a module parameter. A new ``optimizer`` is built at once, for the
        network as it is, as skorch builds a new ``criterion``; its options
        (``optimizer__<name>``) apply at once and are kept for the next fit.

        skorch applies ``device`` only when the network is built, so a fitted
        estimator would keep its network where it was trained. Here the
        network, the loss and the optimizer's state follow the parameter, so
        a model trained on a GPU can be used on a CPU and back.

        Parameters
        ----------
        **params
            Estimator parameters, as for any scikit-learn estimator.

        Returns
        -------
        self : instance of the estimator
            The estimator.
        """
        # Checked first, so that a device the machine lacks changes nothing.
        device = check_device(params["device"]) if "device" in params else None
        if getattr(self, "initialized_", False):
            # Module parameters wait for the next fit; the data iterators and
            # datasets apply at the next pass (skorch's set_params failed on
            # them, and on optimizer, with "Something went wrong").
            prefixes = ("module", "iterator_train", "iterator_valid", "dataset")
            stored = [
                key
                for key in params
                if key in (*prefixes, "compile", "optimizer")
                or key.startswith(tuple(f"{prefix}__" for prefix in prefixes))
            ]
            for key in stored:
                # Stored as skorch stores them; checked when next used.
                setattr(self, key, params.pop(key))
                self._params_to_validate.add(key)
        else:
            stored = []
        with skorch_prints_logged(self):
            super().set_params(**params)
        if device is not None and getattr(self, "initialized_", False):
            self.module_.to(device)
            self.criterion_.to(device)
            for state in self.optimizer_.state.values():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor):
                        state[key] = value.to(device)
        if getattr(self, "initialized_", False):
            # skorch sets the optimizer's options on the optimizer it has only:
            # get_params, clone and the next fit lost them.
            for key, value in params.items():
                option = key.removeprefix("optimizer__")
                if option != key and "__" not in option:  # not a parameter group's
                    setattr(self, key, value)
                    self._params_to_validate.add(key)
        if "optimizer" in stored:
            with skorch_prints_logged(self):
                self._initialize_optimizer()
        return self

    def _seeded(self):
        """Seed torch with ``seed_``, leaving the global random state as it was."""
        return seeded_torch(self.seed_, self.device)

    def get_dataset(self, X, y=None):
        """Return skorch's dataset of ``X``, marked as made in ``fit``.

        ``fit`` gives skorch data converted and checked already; predictions
        on these datasets (those of skorch's scoring callbacks) are not
        checked again, and give indices of ``classes_``, as the targets are.
        Other datasets are refused at prediction.
        """
        dataset = super().get_dataset(X, y)
        if dataset is not X:
            setattr(dataset, FIT_DATASET, True)
        return dataset

    def get_iterator(self, dataset, training=False):
        """Batch with ``batch_size_``, the size chosen at fit.

        Data to predict on are read a batch at a time (``StreamedData``).

        Prediction leaves torch's global random state as it was: a data loader
        draws a seed from it at every pass, even when nothing is shuffled, so
        a user's seeded torch code gave other numbers after ``predict``.
        """
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        # int(): torch's DataLoader refuses NumPy integers (a grid of np.arange).
        batch_size = (
            self.batch_size_ if self.batch_size == "auto" else int(self.batch_size)
        )
        kwargs.setdefault("batch_size", batch_size)
        if kwargs["batch_size"] == -1:  # skorch's "all at once"
            kwargs["batch_size"] = len(dataset)
        if isinstance(dataset, StreamedData):
            return dataset.batched(kwargs["batch_size"])
        if training and self.iterator_train is DataLoader:
            kwargs = without_a_batch_of_one(dataset, kwargs)
        if not training:
            kwargs.setdefault("generator", torch.Generator())
        iterator = self.iterator_train if training else self.iterator_valid
        return iterator(dataset, **kwargs)

    def train_step_single(self, batch, **fit_params):
        """One optimizer step, on the batch's epochs shifted in time (``time_shift``)."""
        X, y = unpack_data(batch)
        largest = round(self.time_shift * self._sfreq)
        if 2 * largest >= X.shape[-1]:
            raise ValueError(
                f"time_shift={self.time_shift} s shifts by up to {largest} samples, "
                f"and the epochs hold {X.shape[-1]}: a shift must stay below half "
                "an epoch, or little of it would be left. Give a shorter "
                "time_shift (0 trains on the epochs as they are)."
            )
        return super().train_step_single((shifted_in_time(X, largest), y), **fit_params)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Train for ``max_epochs_`` epochs unless told otherwise."""
        if "sample_weight" in fit_params:
            # skorch hands fit parameters to the network's forward, which
            # would fail with "unexpected keyword argument 'sample_weight'".
            raise TypeError(
                "sample_weight is not supported: the loss weighs every epoch "
                "alike. To weigh classes of different sizes, pass "
                'class_weight="balanced" (or a dict of a weight per class) to the '
                "estimator."
            )
        epochs = self.max_epochs_ if epochs is None else epochs
        before = len(self.history)
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as interrupt:
            if _stopped_by_a_callback(interrupt):
                raise  # skorch's EarlyStopping ends training so, as it should
            # The epoch interrupted has its row in the history already.
            trained = sum("train_loss" in row for row in self.history[before:])
            warn(
                f"Training was interrupted after {trained} of {epochs} epochs; "
                "the network is only partly trained (skorch "
                "keeps it so that it can be used or trained on)."
            )
            self._user_interrupt_ = interrupt  # skorch swallows it: see _train
            raise
        finally:
            # skorch leaves the network in training mode: called directly,
            # module_ then drew dropout and moved its batch-norm statistics.
            self.module_.eval()

    def _holds_out_validation(self):
        """Whether training holds out the validation split of ``early_stopping``.

        :meth:`partial_fit` trains on the whole chunk, as scikit-learn's
        MLPClassifier does: one pass per call gives early stopping no epochs
        to wait, and a split redrawn at every call would hold out other
        epochs each time.
        """
        return (
            self.train_split is None
            and self.early_stopping
            and not getattr(self, "incremental_", False)
        )

    def _n_stepped_on(self, n_epochs):
        """How many of the training epochs the optimizer steps through.

        The validation part of ``early_stopping=True`` is held out of the
        steps, so the schedule follows the rest (as a user's ``train_split``
        cannot say its size, it is not subtracted).
        """
        if not self._holds_out_validation():
            return n_epochs
        if self.validation_groups_ is None:
            return n_epochs - _n_validation(n_epochs, self.validation_fraction)
        return round(n_epochs * (1 - 1 / _n_group_folds(self.validation_fraction)))

    def get_split_datasets(self, X, y=None, **fit_params):
        """Hold out a stratified validation set when ``early_stopping=True``."""
        if not self._holds_out_validation():
            return super().get_split_datasets(X, y, **fit_params)
        if self.validation_groups_ is None:
            _check_stratified_split(y, self.classes_, self.validation_fraction)
            splitter = StratifiedShuffleSplit(
                1, test_size=self.validation_fraction, random_state=self.seed_
            )
        else:
            n_folds = _n_group_folds(self.validation_fraction)
            n_groups = len(np.unique(self.validation_groups_))
            if n_groups < n_folds:  # scikit-learn's error spoke of n_splits
                raise ValueError(
                    "early_stopping=True holds out whole groups (e.g. the windows "
                    "of one trial) as its validation_fraction "
                    f"({self.validation_fraction}): one of {n_folds} folds of groups, "
                    f"which needs at least {n_folds} groups, got {n_groups}. Give "
                    "more epochs, raise validation_fraction, or set "
                    "early_stopping=False."
                )
            splitter = StratifiedGroupKFold(
                n_folds, shuffle=True, random_state=self.seed_
            )
        train, valid = next(
            splitter.split(np.zeros(len(y)), y, groups=self.validation_groups_)
        )
        dataset = self.get_dataset(X, y)
        return Subset(dataset, train), Subset(dataset, valid)

    def check_data(self, X, y):
        """Leave class inference to ``fit``, which works on the original labels."""


def log_at_level_of(estimator, message):
    """Log ``message`` as info at the level of the network estimator that trains.

    Meta-estimators (cropped, spectral) say how they train their estimator;
    at MNE's level, silent fits (and every GridSearchCV worker, where the
    caller's level does not apply) printed it. The level is the ``verbose`` of
    our estimators, which log the training themselves; other estimators'
    ``verbose`` has other meanings, so they take MNE's current level.

    Parameters
    ----------
    estimator : estimator
        The estimator trained (the final step of a Pipeline or a search).
    message : str
        What to log.
    """
    verbose = estimator.verbose if isinstance(estimator, _EEGClassifier) else None
    with at_log_level(verbose):
        logger.info(message)


class EEGNetClassifier(_EEGClassifier):  # noqa: D101 (docstring assembled below)
    __doc__ = classifier_docstring(
        """EEGNet (Lawhern et al. 2018) as a scikit-learn classifier on mne.Epochs.

    Trains :class:`mne_xai.models.EEGNet` with skorch: AdamW, cross-entropy on
    the logits, a cosine learning-rate schedule and EEGNet's max-norm
    constraints. Works with ``cross_val_score``, ``GridSearchCV``,
    ``Pipeline`` and ``clone`` on Epochs as on arrays.
""",
        module=":class:`mne_xai.models.EEGNet`",
        see_also=["InterpretableCNNClassifier", "mne_xai.models.EEGNet"],
    )
    _default_module = EEGNet


class InterpretableCNNClassifier(_EEGClassifier):  # noqa: D101 (assembled below)
    __doc__ = classifier_docstring(
        """InterpretableCNN (Cui et al. 2022) as a scikit-learn classifier on mne.Epochs.

    Trains :class:`mne_xai.models.InterpretableCNN` with skorch: AdamW,
    cross-entropy on the logits and a cosine learning-rate schedule. Works with
    ``cross_val_score``, ``GridSearchCV``, ``Pipeline`` and ``clone`` on Epochs
    as on arrays.
""",
        module=":class:`mne_xai.models.InterpretableCNN`",
        see_also=["EEGNetClassifier", "mne_xai.models.InterpretableCNN"],
    )
    _default_module = InterpretableCNN
