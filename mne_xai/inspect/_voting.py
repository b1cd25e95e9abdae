"""Predictions per group of epochs (subject, session, recording) by voting."""

import numpy as np
import pandas as pd
from mne.utils import _check_option, _validate_type, logger, verbose
from sklearn.utils.validation import check_is_fitted

from .._convert import InputData
from .._docs import fill_doc
from .._labels import EventsAreNotClasses
from .._network import _CroppedNetwork, _SkorchNetwork
from .._warnings import quietly
from ..attribution._core import _class_index, _event_id, _resolve_target
from ..cropping import _final_step

_VOTES = ("mean_proba", "majority")


def _group_of_each_epoch(data, groups):
    """Return the group of each epoch: a metadata column, or the values given."""
    if isinstance(groups, str):
        metadata = data.metadata
        if metadata is None:
            raise ValueError(
                f"groups={groups!r} names a metadata column, but the epochs have no "
                "metadata; set epochs.metadata, or pass one group per epoch."
            )
        if groups not in metadata.columns:
            raise ValueError(
                f"The epochs' metadata has no column {groups!r}; its columns are "
                f"{list(metadata.columns)}."
            )
        values = metadata[groups].to_numpy()
    else:
        _validate_type(
            groups, (list, tuple, np.ndarray, pd.Series), "groups", "str or array-like"
        )
        values = np.asarray(groups)
        if values.shape != (data.shape[0],):
            raise ValueError(
                f"groups must hold one value per epoch ({data.shape[0]}), got shape "
                f"{values.shape}."
            )
    missing = pd.isna(values)
    if missing.any():
        # pandas' groupby would leave these epochs out of every group.
        raise ValueError(
            f"{missing.sum()} of {len(values)} epochs have no group (None or NaN); "
            "give each epoch its group, or leave those epochs out."
        )
    return values


def _true_labels(estimator, data, y):
    """Return the class of each epoch (``y``, or from the events), None if unknown."""
    # The record of how labels relate to the events is kept by the network:
    # a Pipeline's last step, a search's best estimator.
    estimator = _final_step(estimator)
    classes = np.asarray(estimator.classes_)
    event_id = _event_id(estimator, data)
    if y is None:
        if data.events is None:
            return None
        asked = (
            "With y=None, group_predictions reads the class of each epoch from "
            "its event"
        )
        # Missing from estimators saved before it was recorded: those read
        # events as labels.
        if not getattr(estimator, "events_are_labels_", True):
            raise ValueError(
                f"{asked}, but the estimator was trained on labels y that are not "
                "the events of its training Epochs; pass y, the class of each "
                "epoch."
            )
        try:
            index, _ = _resolve_target(estimator, "true", data)
        except EventsAreNotClasses as err:
            if not hasattr(estimator, "event_id_"):
                # A VotingClassifier or CalibratedClassifierCV fitted on Epochs
                # was said to be "not fitted on Epochs": its networks keep the
                # events, and it keeps none.
                raise ValueError(
                    f"{asked}, but a {type(estimator).__name__} keeps no record "
                    "of the events of its training data, so its classes "
                    f"{classes.tolist()} cannot be read from the events "
                    f"{data.event_id}; pass y, the class of each epoch."
                ) from None
            # explain's advice names its target="true" and as_network's
            # event_id, which group_predictions does not take: its reason,
            # which a guess at the cause replaced, with our advice.
            raise ValueError(
                f"{asked}. {err.reason} To vote without reading the events, pass "
                "y, the class of each epoch."
            ) from None
        return classes[index]
    y = np.asarray(y)
    if y.shape != (data.shape[0],):
        raise ValueError(
            f"y must hold one label per epoch ({data.shape[0]}), got shape {y.shape}."
        )
    # Event names for a network trained on event codes, or the reverse.
    aliases = {**event_id, **{code: name for name, code in event_id.items()}}
    index = {
        label: _class_index(estimator, label, aliases) for label in set(y.tolist())
    }
    unknown = sorted(
        str(label) for label, position in index.items() if position is None
    )
    if unknown:
        raise ValueError(
            f"y holds labels {unknown} that are neither classes of the estimator "
            f"({classes.tolist()}) nor event names of the epochs ({event_id})."
        )
    return classes[[index[label] for label in y.tolist()]]


def _class_indices(classes, labels):
    """Return the index in ``classes`` of each predicted label."""
    index = {label: position for position, label in enumerate(classes.tolist())}
    unknown = sorted({str(label) for label in labels.tolist() if label not in index})
    if unknown:
        raise ValueError(
            f"The estimator's predict returns labels {unknown} that are not among "
            f"its classes_ ({classes.tolist()}); fix the estimator's classes_."
        )
    return np.array([index[label] for label in labels.tolist()], dtype=int)


def _cannot_predict_advice(estimator):
    """Say what to pass instead of an estimator without predict_proba."""
    if isinstance(estimator, _SkorchNetwork):
        # The wrapper reads Epochs for the network; the network itself takes
        # its own arrays, which the wrapper no longer prepares.
        return (
            "pass the fitted classifier itself (not as_network's wrapper of it), "
            "with the data as it takes them: an array of its channels, in its "
            "order and unit (e.g. epochs.get_data(picks=info.ch_names) * scaling)."
        )
    if isinstance(estimator, _CroppedNetwork):
        # What as_network returns explains a classifier, it does not predict.
        return "pass the fitted classifier itself (not as_network's wrapper of it)."
    if hasattr(estimator, "cv_results_"):
        return (
            "the search was fitted with refit=False and holds no classifier; "
            "refit it, or pass a classifier fitted with its best_params_."
        )
    return "pass a fitted classifier."


@verbose
@fill_doc
def group_predictions(
    estimator, epochs, groups, *, y=None, vote="mean_proba", verbose=None
):
    """Predict the class of each group of epochs by voting over its epochs.

    A subject, session or recording often has one label (a patient's
    diagnosis, a session in one condition) while the network classifies
    short epochs. Pooling the epochs' predictions per group gives the
    group's prediction, usually more accurate than that of single epochs
    when their errors are independent.

    Parameters
    ----------
    estimator : classifier
        A fitted scikit-learn classifier with ``predict_proba`` and
        ``classes_`` (any estimator of mne_xai, or a Pipeline).
    epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data, as the estimator takes it.
    groups : str | array-like, shape (n_epochs,)
        The group of each epoch: the name of a column of the epochs'
        metadata (e.g. ``"subject"``), or one value per epoch.
    y : array-like, shape (n_epochs,) | None
        The true labels, as the estimator's classes or as the epochs' event
        names; with Epochs, None takes them from the events.
    vote : "mean_proba" | "majority"
        ``"mean_proba"`` predicts the class of highest mean probability over
        the group's epochs (soft voting); ``"majority"`` the class predicted
        for most of them (hard voting), ties broken by the mean probability.
    %(verbose)s

    Returns
    -------
    table : pandas.DataFrame
        One row per group (the index, sorted), with ``n_epochs``,
        ``predicted`` (the group's vote), ``proba_<class>`` (mean
        probability) and ``votes_<class>`` (fraction of epochs predicted as
        the class by the estimator's ``predict``, which may differ from the
        class of highest probability, e.g. with a decision threshold).
        With known labels also ``true`` (the group's class, None when its
        epochs hold several), ``correct`` (whether the vote is the
        group's class; missing for groups of several classes) and
        ``epoch_accuracy`` (the fraction of the group's epochs predicted
        right, e.g. the per-subject accuracy).

    See Also
    --------
    make_group_scorer : The accuracy of group votes as a scikit-learn scorer.
    """
    _check_option("vote", vote, _VOTES)
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(
            f"group_predictions needs a classifier with predict_proba, got "
            f"{type(estimator).__name__}; {_cannot_predict_advice(estimator)}"
        )
    check_is_fitted(estimator)  # before the attributes of its final step
    data = InputData(epochs, name="epochs")
    group_of_epoch = _group_of_each_epoch(data, groups)
    labels = _true_labels(estimator, data, y)
    classes = np.asarray(estimator.classes_)
    proba = np.asarray(estimator.predict_proba(epochs), dtype=np.float64)
    # The estimator's own predictions, not the class of highest probability:
    # they differ where predict applies a threshold (skorch's
    # NeuralNetBinaryClassifier) or a decision rule of its own.
    predicted = _class_indices(classes, estimator.predict(epochs))
    frame = pd.DataFrame({"group": group_of_epoch})
    for index, label in enumerate(classes):
        frame[f"proba_{label}"] = proba[:, index]
        frame[f"votes_{label}"] = predicted == index
    by_group = frame.groupby("group", sort=True)
    table = by_group.mean()
    mean_proba = table[[f"proba_{label}" for label in classes]].to_numpy()
    votes = table[[f"votes_{label}" for label in classes]].to_numpy()
    if vote == "mean_proba":
        winner = mean_proba.argmax(axis=1)
    else:
        tied = votes == votes.max(axis=1, keepdims=True)
        winner = np.where(tied, mean_proba, -np.inf).argmax(axis=1)
    table.insert(0, "predicted", classes[winner])
    table.insert(0, "n_epochs", by_group.size())
    if labels is not None:
        frame["true"] = labels
        frame["right"] = classes[predicted] == labels
        by_group = frame.groupby("group", sort=True)
        single = by_group["true"].nunique() == 1
        true = by_group["true"].first().astype(object).where(single, None)
        table["true"] = true
        table["correct"] = pd.Series(table["predicted"] == true, dtype="boolean").where(
            single, pd.NA
        )
        table["epoch_accuracy"] = by_group["right"].mean()
    table.index.name = groups if isinstance(groups, str) else "group"
    logger.info(
        f"Voted ({vote}) over {len(group_of_epoch)} epochs in {len(table)} groups."
    )
    return table


class GroupScorer:
    """The accuracy of group votes, as a scikit-learn scorer.

    Parameters
    ----------
    groups : str
        The metadata column holding each epoch's group.
    vote : "mean_proba" | "majority"
        How the epochs of a group vote (see :func:`group_predictions`).
    """

    def __init__(self, groups, vote="mean_proba"):
        _validate_type(
            groups,
            str,
            "groups",
            "str, the name of the metadata column (a scorer reads the groups "
            "of each test fold from its epochs)",
        )
        _check_option("vote", vote, _VOTES)
        self.groups = groups
        self.vote = vote

    def __call__(self, estimator, X, y=None):
        """Return the fraction of groups of ``X`` whose vote is their class.

        Parameters
        ----------
        estimator : classifier
            The fitted classifier.
        X : mne.Epochs | list of mne.Epochs
            The test epochs, with the group column in their metadata.
        y : array-like | None
            Their labels; None takes them from the events.

        Returns
        -------
        accuracy : float
            The accuracy of the group votes.
        """
        table = group_predictions(
            estimator, X, self.groups, y=y, vote=self.vote, verbose=quietly()
        )
        mixed = table.index[table["correct"].isna()].tolist()
        if mixed:
            raise ValueError(
                f"Groups {mixed[:5]} of column {self.groups!r} hold epochs of "
                "several classes, so a group vote has no single right answer; "
                "group by a unit of one class (e.g. a recording), or use "
                "group_predictions(...)['epoch_accuracy'] for per-group accuracy."
            )
        return float(table["correct"].astype(bool).mean())

    def __repr__(self):
        return f"GroupScorer(groups={self.groups!r}, vote={self.vote!r})"


def make_group_scorer(groups, *, vote="mean_proba"):
    """Make a scorer of group votes for :func:`~sklearn.model_selection.cross_val_score`.

    Cross-validation hands the scorer each test fold's epochs (as a list of
    Epochs or an Epochs subset) with their metadata; the scorer reads the
    group of each epoch from the metadata column ``groups``, votes per group
    with :func:`group_predictions` and returns the fraction of groups whose
    vote is their class.

    Parameters
    ----------
    groups : str
        The metadata column holding each epoch's group (e.g. ``"session"``).
        Every group must hold epochs of one class.
    vote : "mean_proba" | "majority"
        How the epochs of a group vote (see :func:`group_predictions`).

    Returns
    -------
    scorer : GroupScorer
        A callable ``scorer(estimator, X, y)``, for ``scoring=``.

    See Also
    --------
    group_predictions : The vote of each group, as a table.

    Examples
    --------
    >>> scores = cross_val_score(  # doctest: +SKIP
    ...     clf, epochs, cv=GroupKFold(5), groups=epochs.metadata["session"],
    ...     scoring=make_group_scorer("session"))
    """
    return GroupScorer(groups, vote=vote)
