"""The labels of data: ``y``, or the events of Epochs read as an estimator's classes.

Events are matched to the training events by name (files code them
differently), refused where they cannot be read as classes
(:class:`EventsAreNotClasses`), and labels of which none is a class are
refused, as they would score 0.
"""

import numpy as np
from mne.utils import logger

from ._convert import InputData, _epochs_list
from ._warnings import warn


def named_events(trained_event_id, event_id):
    """Return the training epochs' event names, completed by those of other epochs.

    The training names decide (another file may code the same names
    otherwise); the other epochs add names only for codes training did not
    name.

    Parameters
    ----------
    trained_event_id : dict | None
        The event names of the training epochs (the estimator's ``event_id_``).
    event_id : dict | None
        The event names of the epochs given.

    Returns
    -------
    event_id : dict
        The merged names (empty when neither names its events).
    """
    trained = trained_event_id or {}
    named = set(trained.values())
    own = {name: code for name, code in (event_id or {}).items() if code not in named}
    return {**own, **trained}


def events_as_trained(codes, event_id, trained_event_id):
    """Return event codes in the coding of the training epochs, matched by name.

    Files code the same events differently (EEGLAB numbers them from 1, a FIF
    keeps the recording's codes): "hands" may be 2 in the epochs given and 3 in
    the training epochs, where 2 was "feet". When the epochs' events are all
    named as in training, the names decide. When none is (events renamed for
    display, or another task), the codes are taken as they are, with a warning
    naming both; when only some are, the classes cannot be matched and the
    labels must be given.

    Parameters
    ----------
    codes : ndarray of int, shape (n_epochs,) | None
        The epochs' event codes.
    event_id : dict | None
        The epochs' event names.
    trained_event_id : dict | None
        The event names of the training epochs (the estimator's ``event_id_``).

    Returns
    -------
    codes : ndarray of int, shape (n_epochs,) | None
        The codes the training epochs give the same events.
    """
    if codes is None or not event_id or not trained_event_id:
        return codes
    names = {code: name for name, code in event_id.items()}
    present = {int(code): names.get(int(code)) for code in np.unique(codes)}
    known = {code: name for code, name in present.items() if name in trained_event_id}
    if not known:
        # Codes that no training event had cannot be taken for a trained class:
        # they are events the network never saw (a cross-validation fold of
        # one class), which the callers name as such.
        if set(present) & set(trained_event_id.values()):
            warn(
                "None of the events of these epochs "
                f"({', '.join(map(str, present.values()))}) is named as in "
                f"training ({', '.join(trained_event_id)}); their codes are taken "
                "as the training codes. If they mean other classes, name the "
                "epochs' events as the training epochs' (epochs.event_id), or "
                "give the labels explicitly (y, or target)."
            )
        return codes
    if len(known) < len(present):
        unknown = sorted(
            str(name) for name in present.values() if name not in known.values()
        )
        # Its own class: callers that take no labels give their own advice.
        raise EventsAreNotClasses(
            f"The events {unknown} of these epochs are not among those the network "
            f"was trained on ({', '.join(trained_event_id)}), so their classes cannot "
            f"be matched by name. Keep the epochs of the trained events "
            f"(epochs[{sorted(known.values())}]).",
            "Or, to use the codes as they are, give the labels explicitly: "
            "y=epochs.events[:, 2] (or target=...).",
        )
    recoded = {code: trained_event_id[name] for code, name in known.items()}
    if any(code != new for code, new in recoded.items()):
        logger.info(
            "Matched the epochs' events to the training events by name: "
            + ", ".join(
                f"{present[code]} {code} -> {new}" for code, new in recoded.items()
            )
        )
    return np.array([recoded[int(code)] for code in codes])


class EventsAreNotClasses(ValueError):
    """The events of Epochs cannot be read as the classes of an estimator.

    ``reason`` says why; the message adds who read the events (``asked``)
    and what to do (``fix``), which depend on the caller: the functions take
    labels as ``y``, the command line takes none.
    """

    def __init__(self, reason, fix, asked=""):
        super().__init__(f"{asked}{reason} {fix}")
        self.reason = reason


def labels_required():
    """Refuse an array given without labels: it carries no events to read.

    In a Pipeline the user gives Epochs, which the steps before the estimator
    turn into arrays; "y is required when X is an array" did not say so.
    """
    return ValueError(
        "y is required when X is an array: arrays carry no events to read the "
        "labels from. (In a Pipeline, the steps before this estimator turned "
        "the Epochs into arrays: pass y, e.g. epochs.events[:, 2].)"
    )


def events_are_not_labels():
    """Refuse to read events as the classes of a network trained on other labels."""
    return EventsAreNotClasses(
        "The estimator was trained on labels y that are not the events of its "
        "training Epochs (neither their codes nor their names), so the events "
        "of X cannot be read as its classes.",
        "Pass the labels as y.",
    )


def check_events_are_classes(
    event_id, codes, classes, trained_event_id, *, asked="", fix=""
):
    """Refuse event codes of Epochs that cannot be read as an estimator's classes.

    An estimator trained on Epochs knows their events (``trained_event_id``).
    One trained on arrays, or a skorch network fitted elsewhere, learned
    labels of unknown meaning: ``LabelEncoder`` gives classes 0 to K-1,
    which share codes with MNE's events 1 to K and mean others (code 2,
    "left", read as class 2, "right"), also on every selection of epochs
    whose codes happen to be classes. Its classes are matched to events by
    name only (a network trained on event names).

    Parameters
    ----------
    event_id : dict | None
        The event names and codes of the Epochs.
    codes : array-like of int
        The codes to read (of the epochs at hand).
    classes : array-like
        The estimator's classes.
    trained_event_id : dict | None
        The event names of the training Epochs, if the estimator knows them.
    asked, fix : str
        What read the events, and what else to do, around the message.
    """
    if trained_event_id:
        return
    names = {code: name for name, code in (event_id or {}).items()}
    known = set(np.asarray(classes).tolist())
    unreadable = sorted({int(code) for code in codes if names.get(code) not in known})
    if unreadable:
        raise EventsAreNotClasses(
            "The estimator was not fitted on Epochs, so its classes "
            f"{np.asarray(classes).tolist()} say nothing of what the events of "
            f"Epochs are: events {event_id} are matched to classes by name only, "
            f"and codes {unreadable} name none (labels renumbered, e.g. by "
            "LabelEncoder, would be read as other events).",
            "Give the classes themselves (labels of classes_, or indices), fit "
            "on the Epochs, or, for a skorch network fitted elsewhere, name its "
            f"classes: as_network(net, event_id={{name: class}}).{fix}",
            asked,
        )


def labels_match_events(data, y):
    """Whether training labels are the events of the training data.

    ``y`` is taken for the events when it holds their codes or their names,
    as ``fit`` without ``y``, or scikit-learn's cross-validation passing
    ``y[train]`` with ``epochs[train]``, gives them. Other labels (e.g. codes
    renumbered from 0) say nothing of what the events of other epochs are.

    Parameters
    ----------
    data : InputData
        The training data.
    y : array-like, shape (n_epochs,)
        The training labels.

    Returns
    -------
    match : bool
        False when the labels are not the events; True also for arrays, whose
        labels no events contradict.
    """
    if data.events is None:
        return True
    if data._event_conflict is not None:  # parts coding events otherwise
        return False
    labels = np.asarray(y).tolist()
    codes = data.events[:, 2].tolist()
    names = {code: name for name, code in (data.event_id or {}).items()}
    return labels in (codes, [names.get(code) for code in codes])


def events_unseen_in_training(labels, classes, trained_event_id, event_id=None):
    """Return the events, among labels that are no class, the network saw no epoch of.

    MNE keeps the name of an event whose epochs were all dropped in
    ``event_id`` (``epochs.drop``), and a cross-validation fold may hold an
    event that its training folds lack. Such labels are events, not labels
    coded otherwise: scikit-learn counts their epochs as wrong, as it counts
    any label that is not a class. A label naming an event whose training code
    (or name) is a class is coded otherwise, and is not returned.

    Parameters
    ----------
    labels : iterable
        Labels (event codes or names) that are not classes.
    classes : array-like
        The estimator's classes.
    trained_event_id : dict | None
        The events of the training Epochs, when they are the labels the
        estimator learned (None or empty otherwise: nothing is returned).
    event_id : dict | None
        The events of the epochs at hand, which may name codes that training
        did not (see :func:`named_events`).

    Returns
    -------
    unseen : dict
        The event name of each such label.
    """
    if not trained_event_id:
        return {}
    known = set(np.asarray(classes).tolist())
    events = named_events(trained_event_id, event_id)
    names = {code: name for name, code in events.items()}
    unseen = {}
    for label in labels:
        name = label if label in events else names.get(label)
        if name is None or name in known or trained_event_id.get(name) in known:
            continue
        unseen[label] = name
    return unseen


def _warn_unseen_events(unseen, classes, holder):
    """Warn that the epochs of events the network never saw count as wrong."""
    events = ", ".join(
        repr(name) if name == label else f"{name!r} ({label})"
        for label, name in unseen.items()
    )
    warn(
        f"{holder} the events {events}, of which the network saw no epoch in "
        f"training (its classes are {np.asarray(classes).tolist()}): their epochs "
        "count as wrong predictions, as scikit-learn counts labels that are not "
        "classes."
    )


def _check_some_labels_are_classes(X, y, classes, trained_event_id=None):
    """Refuse labels that share no class with the estimator: they would score 0.

    Labels that are events the network saw no epoch of (see
    :func:`events_unseen_in_training`) are scored, with a warning: they are
    not coded otherwise, and 0 is their accuracy.
    """
    labels = set(np.asarray(y).ravel().tolist())
    known = set(np.asarray(classes).tolist())
    # An event name scored beside classes that are codes (or a code beside
    # names) fails in scikit-learn ("Mix of label input types"): such a label
    # is coded otherwise, not an event whose epochs count as wrong.
    names_are_classes = isinstance(next(iter(known)), str)
    others = {
        label for label in labels - known if isinstance(label, str) is names_are_classes
    }
    # Epochs, or a list or tuple of them (as _epochs_list reads X).
    are_epochs = _epochs_list(X) is not None
    if trained_event_id and others:
        event_id = InputData(X).event_id if are_epochs else None
        unseen = events_unseen_in_training(others, classes, trained_event_id, event_id)
        if unseen:
            _warn_unseen_events(unseen, classes, "y holds")
            if labels - known <= set(unseen):
                return
    if labels & known:
        return
    by_events = (
        " Without y, the events of Epochs are read as the classes, by name where "
        "their codes differ from training."
        if are_epochs
        else ""
    )
    raise ValueError(
        f"y holds the labels {sorted(labels, key=str)[:5]}, none of them a class "
        f"of the estimator ({sorted(known, key=str)}): every prediction would "
        f"count as wrong.{by_events}"
    )


def labels_or_events(X, y, trained_event_id=None, classes=None, events_are_labels=True):
    """Return ``y``, or the labels of Epochs' events when ``y`` is None.

    With Epochs, scikit-learn's ``y=None`` means the events' codes, as in
    ``fit``, in the coding of the training epochs (see
    :func:`events_as_trained`); arrays carry none, so they need ``y``. Given
    the ``classes`` of a fitted estimator, a code that is not a class is read
    as its event name (a network trained on names); labels of which none is a
    class are refused, as they would score 0. An estimator trained on labels
    other than the events (``events_are_labels=False``, see
    :func:`labels_match_events`) needs ``y``: its classes may share the
    events' codes and mean other events. Given ``y`` of which no label is a
    class is refused too. Events that the network saw no epoch of in training
    (see :func:`events_unseen_in_training`) are no labels coded otherwise:
    they are returned, with a warning, and their epochs count as wrong; without
    ``y``, only those that the training Epochs named (with no epoch) are, as
    events that training never named may be those of another task.
    """
    if y is not None:
        if classes is not None:
            _check_some_labels_are_classes(
                X, y, classes, trained_event_id if events_are_labels else None
            )
        return y
    if not events_are_labels:
        raise events_are_not_labels()
    data = InputData(X)
    if data.event_codes is None:
        raise labels_required()
    codes = events_as_trained(data.event_codes, data.event_id, trained_event_id)
    if classes is None:
        return codes
    check_events_are_classes(
        data.event_id, data.event_codes, classes, trained_event_id, fix=" Or pass y."
    )
    known = set(np.asarray(classes).tolist())
    if set(codes.tolist()) <= known:
        return codes
    event_id = named_events(trained_event_id, data.event_id)
    names = {code: name for name, code in event_id.items()}
    labels = [names.get(code, code) for code in codes.tolist()]
    if set(labels) <= known:  # a network trained on event names
        return np.asarray(labels)
    if not isinstance(np.asarray(classes).tolist()[0], str):
        labels = codes.tolist()  # a network trained on event codes
    others = set(labels) - known
    # Events of the training Epochs, whose epochs were all dropped, are known
    # events. Events that training never named may be those of a file of
    # another task, read without labels: they are scored only as y.
    unseen = events_unseen_in_training(others, classes, trained_event_id)
    if others <= set(unseen):
        _warn_unseen_events(unseen, classes, "X holds")
        return np.asarray(labels)
    # As X names them: its codes may have been read as training codes above.
    own_names = {code: name for name, code in (data.event_id or {}).items()}
    events = ", ".join(
        f"{own_names[code]} ({code})" if code in own_names else str(code)
        for code in np.unique(data.event_codes).tolist()
    )
    never_named = events_unseen_in_training(others, classes, trained_event_id, event_id)
    if others <= set(never_named):
        raise EventsAreNotClasses(
            f"The events of X ({events}) are not all classes of the estimator "
            f"({sorted(known, key=str)}): the network saw no epoch of "
            f"{sorted(never_named.values())} in training (its training events: "
            f"{', '.join(trained_event_id)}).",
            "Give the labels as y to score their epochs as wrong, or keep the "
            "epochs of its classes.",
        )
    raise EventsAreNotClasses(
        f"The events of X ({events}) are not all classes of the estimator "
        f"({sorted(known, key=str)}): it was trained on other labels.",
        "Give them as y.",
    )
