"""Data randomization: a copy of the estimator trained on shuffled labels."""

import logging
import re

import numpy as np
from mne.utils import _validate_type, logger, verbose
from sklearn.base import clone
from sklearn.utils.multiclass import unique_labels

from ..._convert import InputData, training_channels
from ..._docs import fill_doc
from ..._graph import autograd_on
from ..._labels import labels_or_events
from ..._network import as_network
from ..._warnings import ignoring, recording, warn, warn_again, warnings_once
from ...attribution._core import method_parameters
from ...cropping import UNREAD_SAMPLES, CroppedClassifier, _final_step
from ...estimators import (
    UNPREDICTED_CLASSES,
    _EEGClassifier,
    classes_never_predicted,
)
from ._compare import _compare_to_variants, _set_up, refuse_learned_patterns
from ._result import SanityCheckResult


@warnings_once()
@autograd_on
@verbose
@fill_doc
def data_randomization_check(
    estimator,
    epochs,
    method: str = "saliency",
    *,
    X_train=None,
    y_train=None,
    training_params: dict | None = None,
    randomized_estimator=None,
    target=None,
    metric: str = "spearman_abs",
    threshold: float = 0.4,
    batch_size: int = 64,
    device=None,
    random_state: int | None = None,
    method_params: dict | None = None,
    verbose=None,
    **params,
) -> SanityCheckResult:
    """Compare the maps with those of the same network trained on shuffled labels.

    The data randomization test of Adebayo et al. :footcite:`AdebayoEtAl2018`:
    an unfitted clone of the estimator, with the same parameters (and
    ``random_state``), is trained on the training data with permuted labels.
    Whatever it learned cannot be the relation between data and classes, so a
    method that explains that relation must give different maps.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator of mne_xai, which is cloned and trained again on
        shuffled labels; with ``randomized_estimator`` given, any fitted
        network of the model contract (see :func:`mne_xai.as_network`). It is
        not modified.
    %(epochs)s
    %(method_checked)s
    X_train : mne.Epochs | list of mne.Epochs | array | None
        The data to train the clone on; None uses ``epochs``.
    y_train : array-like, shape (n_epochs,) | None
        The labels of ``X_train``, shuffled before training; None reads the
        events of ``X_train`` (Epochs only) as the estimator read those of its
        training Epochs: their codes, or their names for an estimator trained
        on event names.
    training_params : dict | None
        Parameters set on the clone before fitting, e.g.
        ``dict(max_epochs=300)`` so that it can fit the random labels, as
        Adebayo et al. require.
    randomized_estimator : estimator | None
        A clone already trained on shuffled labels, e.g.
        ``result.randomized_estimator`` of an earlier check with another
        method, so that several methods are compared on one randomized
        network; then ``X_train``, ``y_train`` and ``training_params`` are not
        used. None trains one.
    %(target)s
        With None, the class predicted by the fitted estimator is explained
        for both networks.
    %(sanity_verdict)s
    %(batch_size)s
    %(device)s
    %(random_state_type)s
        Seed of the permutation (and of stochastic methods). The clone trains
        with the estimator's own ``random_state``.
    %(method_params_dict)s
    %(verbose)s
    %(method_params)s

    Returns
    -------
    result : SanityCheckResult
        One step, ``"data"``; its attribute ``randomized_estimator`` is the
        clone trained on shuffled labels.

    See Also
    --------
    parameter_randomization_check, target_randomization_check

    Notes
    -----
    The clone's accuracy on the shuffled training labels is logged, and a
    clone that predicts a class for none of its training epochs is warned of:
    the maps of a network that has not fitted the random labels are close to
    those of an untrained one, an easier check to pass. With ``verbose=False`` the
    clone trains silently, whatever the estimator's own ``verbose``.

    References
    ----------
    .. footbibliography::
    """
    _validate_type(training_params, (dict, None), "training_params")
    # First, so that a network no method explains is refused with its reason.
    original, estimator = _final_step(estimator), as_network(estimator)
    if randomized_estimator is None:
        # The network is trained again: only an estimator of mne_xai knows how.
        _validate_type(
            original,
            (_EEGClassifier, CroppedClassifier),
            "estimator",
            "an mne_xai estimator (or pass randomized_estimator, trained on "
            "shuffled labels)",
        )
        _check_training_params(original, training_params)
    refuse_learned_patterns(method, "data randomization")
    setup = _set_up(
        estimator,
        epochs,
        method,
        target=target,
        metric=metric,
        threshold=threshold,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        params=method_parameters(params, method_params),
    )
    trained_here = randomized_estimator is None
    if trained_here:
        randomized_estimator = _train_on_shuffled_labels(
            original, epochs, X_train, y_train, training_params, setup.rng
        )
        randomized = as_network(randomized_estimator)
    else:
        # A foreign network trained on the same channels as the estimator.
        try:
            randomized = as_network(randomized_estimator, info=estimator.info_)
        except TypeError as err:
            raise TypeError(f"randomized_estimator: {err}") from None
    _check_same_channels(estimator, randomized, trained_here=trained_here)
    if not np.array_equal(randomized.classes_, estimator.classes_):
        theirs = np.asarray(randomized.classes_).tolist()
        ours = np.asarray(estimator.classes_).tolist()
        raise ValueError(
            f"The randomized network has the classes {theirs}, but the estimator "
            f"was fitted on {ours}; give the labels of the training data "
            "(y_train=)."
        )
    result = _compare_to_variants(
        estimator, method, setup, check="data", steps=["data"], variants=[randomized]
    )
    result.randomized_estimator = randomized_estimator
    return result


def _check_same_channels(estimator, randomized, *, trained_here):
    """Refuse a randomized network that reads other channels than the estimator.

    The same channels in another order are read by name.

    Both explain the epochs as the estimator reads them; a network of other
    channels failed there, saying that the Epochs given were an array.
    """
    if estimator.info_ is not None and randomized.info_ is not None:
        ours, theirs = estimator.info_.ch_names, randomized.info_.ch_names
    else:  # fitted on arrays: only their number is known
        ours, theirs = estimator.n_channels_, randomized.n_channels_
        if ours is None or theirs is None:
            return
    _check_channel_names(ours, theirs, trained_here=trained_here)


def _check_channels_to_train_on(estimator, randomized, X_train):
    """Refuse, before the clone trains, X_train of other channels than the estimator's.

    The clone picks them as the estimator picked its own (its ``picks``);
    with arrays, or Epochs whose picks only a fit would tell, the check after
    training stays.
    """
    data = InputData(X_train, name="X_train")
    network = _final_step(
        randomized.estimator
        if isinstance(randomized, CroppedClassifier)
        else randomized
    )
    params = network.get_params()
    ours = getattr(estimator, "info_", None)
    if data.info is None or ours is None or "picks" not in params:
        return
    theirs = training_channels(data.info, params["picks"])
    _check_channel_names(ours.ch_names, theirs, trained_here=True)


def _check_channel_names(ours, theirs, *, trained_here):
    """Refuse channels ``theirs`` other than ``ours`` (names, or their numbers)."""
    if ours == theirs or (isinstance(ours, list) and sorted(ours) == sorted(theirs)):
        return  # in another order, the comparison reads them by name

    def channels(names):
        return (
            f"the channels {names}" if isinstance(names, list) else f"{names} channels"
        )

    if trained_here:
        advice = (
            "X_train gives it other good channels than the estimator's training "
            "data (other channels in info['bads'], or other channels). Give "
            "X_train the estimator's channels, none of them marked bad: "
            "X_train.copy().pick(estimator.info_.ch_names), then info['bads'] = []."
        )
        network = "The copy trained on shuffled labels"
    else:
        advice = "Give a network trained on the estimator's channels."
        network = "The randomized network"
    raise ValueError(
        f"{network} reads {channels(theirs)}, but the estimator reads "
        f"{channels(ours)}: the check explains both on the estimator's channels. "
        f"{advice}"
    )


def _check_training_params(estimator, params):
    """Refuse, before any work, parameters the clone to train does not take."""
    try:
        clone(estimator).set_params(**(params or {}))
    except ValueError as error:
        hint = ""
        if isinstance(estimator, CroppedClassifier):
            hint = (
                " A CroppedClassifier trains its estimator: prefix its parameters "
                "with estimator__ (e.g. estimator__max_epochs)."
            )
        raise ValueError(f"training_params: {error}{hint}") from error


def _same_windows(estimator, other):
    """Whether two fitted CroppedClassifiers cut the same windows."""
    return all(
        isinstance(fitted, CroppedClassifier) for fitted in (estimator, other)
    ) and (
        np.array_equal(estimator.window_starts_, other.window_starts_)
        and estimator.window_samples_ == other.window_samples_
    )


def _train_on_shuffled_labels(estimator, epochs, X_train, y_train, params, rng):
    """Fit an unfitted clone of ``estimator`` on permuted training labels."""
    X_train = epochs if X_train is None else X_train
    if y_train is None:
        if InputData(X_train, name="X_train").event_codes is None:
            raise ValueError("y_train is required when X_train is an array.")
        # As fit read them (codes, or names), refused before any training.
        try:
            y_train = labels_or_events(
                X_train,
                None,
                getattr(estimator, "event_id_", None),
                estimator.classes_,
                getattr(estimator, "events_are_labels_", True),
            )
        except ValueError as error:
            raise ValueError(
                f"y_train=None reads the events of X_train as labels. {error}"
            ) from None
    y_train = np.asarray(y_train)
    # Refused before the copy trains, only to be refused for its other classes.
    classes = np.asarray(estimator.classes_).tolist()
    unknown = [
        label for label in unique_labels(y_train).tolist() if label not in classes
    ]
    if unknown:
        raise ValueError(
            f"y_train holds labels {unknown} that are not classes of the estimator "
            f"({classes}); give the labels of the training data, as the estimator "
            "was trained on them."
        )
    shuffled = rng.permutation(y_train)
    randomized = clone(estimator)
    if logger.level > logging.INFO:  # the estimator's, or a CroppedClassifier's
        randomized.set_params(
            **{
                name: False
                for name in randomized.get_params()
                if name.split("__")[-1] == "verbose"
            }
        )
    randomized.set_params(**(params or {}))
    _check_channels_to_train_on(estimator, randomized, X_train)
    logger.info(
        f"Training a copy of the {type(estimator).__name__} on shuffled labels."
    )
    caught = []
    # Its advice, to check that the labels follow the data, is wrong for
    # labels shuffled on purpose: the copy is judged below.
    with recording(caught), ignoring(UNPREDICTED_CLASSES):
        randomized.fit(X_train, shuffled)
    said_at_fit = _same_windows(estimator, randomized)
    for warning in caught:
        # Windows cut as the estimator's leave the samples unread that its
        # own fit said; said again, it was noise.
        if not (said_at_fit and re.match(UNREAD_SAMPLES, str(warning.message))):
            warn_again(warning.message, warning.category)
    predicted = np.asarray(randomized.predict(X_train))
    accuracy = np.mean(predicted == shuffled)
    logger.info(f"Accuracy on the shuffled training labels: {accuracy:.2f}.")
    unpredicted = classes_never_predicted(predicted, shuffled)
    if unpredicted:
        warn(
            "The copy trained on shuffled labels predicts none of the training "
            f"epochs of class(es) {np.asarray(unpredicted).tolist()} as theirs "
            f"(accuracy {accuracy:.2f} on the shuffled labels): it has not fitted "
            "them, and its maps are close to those of an untrained network, an "
            "easier check to pass. Train it longer (training_params, e.g. "
            "dict(max_epochs=300)), as Adebayo et al. train it until it fits the "
            "random labels."
        )
    return randomized
