"""What a report needs from the data, checked before any network is trained."""

from collections import Counter
from typing import NamedTuple

import mne
import numpy as np
from mne.io.pick import _picks_to_idx
from mne.utils import _validate_type
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._convert import training_channels
from .._data_checks import _listed
from .._network import as_network, check_passthrough
from .._warnings import quietly, warn
from ..attribution import explain
from ..attribution._registry import needs_patterns
from ..datasets import _builtin_montage
from ..estimators import _EEGClassifier
from ..inspect import SpectralClassifier, learn_patterns
from ..viz import (
    _INTRACRANIAL,
    _MIN_TOPOMAP_POSITIONS,
    _TOPOMAP_TYPES,
    _n_topomap_positions,
    _sensor_positions,
)
from ._accuracy import _csp_channels


class DataPlan(NamedTuple):
    """What the data allow: the channels used and how maps can be drawn."""

    ch_names: list  # the channels the network reads
    ch_types: Counter  # how many of them each channel type has
    topomap_type: str | None  # the channel type of topomaps; None: no topomaps
    why_no_topomaps: str | None  # the reason, in words, when there are none


def check_reportable(estimator):
    """Refuse, before any training, what the report cannot cross-validate or explain."""
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise TypeError(
            f"The report cross-validates the estimator, so it needs a scikit-learn "
            f"classifier; got a {type(estimator).__name__}. Pass the estimator "
            "itself (an mne_xai estimator, a CroppedClassifier, or a Pipeline or "
            "search ending in one), not the network as_network wraps; a wrapped "
            "network is explained and evaluated with mne_xai.explain and "
            "mne_xai.evaluate."
        )
    final, in_search = estimator, False
    searches = ("param_grid", "param_distributions")
    while isinstance(final, Pipeline) or any(hasattr(final, a) for a in searches):
        if isinstance(final, Pipeline):
            if not in_search:  # a search's grid may set the steps otherwise
                check_passthrough(final)
            final = final.steps[-1][1]
        else:  # the network of a search
            final, in_search = final.estimator, True
    if isinstance(final, SpectralClassifier):
        as_network(final)  # raises, saying how to explain it


def is_fitted(estimator):
    """Whether ``estimator`` is fitted (scikit-learn's test)."""
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _used_channels(estimator, epochs, fitted):
    """Names of the channels the network reads from ``epochs``.

    A fitted network reads its training channels, which the epochs must hold;
    an unfitted one will pick them as MNE's decoders do (its ``picks``).
    """
    if fitted:
        network = as_network(estimator)
        # Raises, naming what differs, when the epochs do not match training.
        if network.info_ is None:
            raise ValueError(
                "The fitted estimator was trained on arrays, so it does not know its "
                "channels; the report needs one trained on mne.Epochs."
            )
        network._check_prediction_input(epochs[:1], "epochs")
        return list(network.info_.ch_names)
    picks = estimator.get_params().get("picks") if is_classifier(estimator) else None
    try:
        return training_channels(epochs.info, picks)
    except ValueError as err:
        found = Counter(epochs.get_channel_types())
        named = (
            [str(pick) for pick in picks]  # np.str_ of an array shown as typed
            if isinstance(picks, list | tuple | np.ndarray)
            else picks
        )
        try:
            # The same picks, bad channels included.
            marked = _picks_to_idx(
                epochs.info, picks, none="data", exclude=(), allow_empty=True
            )
        except ValueError as picks_error:  # a name of no channel, or one twice
            raise ValueError(
                f"The picks {named!r} do not select channels of the epochs: "
                f"{picks_error}"
            ) from None
        if not len(marked) and picks is not None:
            raise ValueError(
                f"The picks {named!r} select none of the epochs' channels "
                f"(channel types {dict(found)}); check their names and types."
            ) from None
        if len(marked):
            counts = Counter(epochs.get_channel_types(picks=marked))
            raise ValueError(
                "All the channels the network would read ("
                + ", ".join(f"{count} {kind}" for kind, count in counts.items())
                + ") are marked bad in epochs.info['bads'], so none is left: clear "
                "the bads, or keep only the truly bad channels in them "
                "(epochs.info['bads'] = [...]), and save the epochs again."
            ) from None
        raise ValueError(
            f"The epochs have no data channels the network can read (channel types "
            f"{dict(found)}; bads {epochs.info['bads']}). Give the EEG channels "
            "their type with epochs.set_channel_types({name: 'eeg'}) (for the "
            "command line, save the epochs with it), or choose them with the "
            "estimator's picks (--picks on the command line), which leaves the "
            f"report without topomaps of channels not typed as data. ({err})"
        ) from None


def _check_patterns_possible(estimator, epochs, y, methods, fitted):
    """Refuse the pattern methods, before training, for a network without patterns.

    The report learns the patterns once the network is trained; whether its
    layers can have them depends on its architecture only, so an unfitted
    network of this package is built, untrained, and patterns learned and
    explained with on two epochs. Other unfitted estimators, which the report
    cannot build without training them, are refused at the explanation stage.
    """
    asked = [method for method in methods if needs_patterns(method)]
    if not asked:
        return
    if fitted:
        network = estimator
    elif isinstance(estimator, _EEGClassifier):
        network = clone(estimator).initialize(epochs, y)
    else:
        return
    sample = epochs[:2]
    try:
        patterns = learn_patterns(network, sample, verbose=quietly())
        for method in asked:
            explain(network, sample, method, patterns=patterns, verbose=quietly())
    except ValueError as err:
        raise ValueError(
            f"{' and '.join(asked)} cannot explain this network, whose layers "
            "cannot have the patterns the report would learn for them from the "
            f"epochs (mne_xai.inspect.learn_patterns): {err}"
        ) from None


def _check_finite(epochs, ch_names):
    """Refuse NaN or infinite values in the channels read, saying where they are.

    Training would find them only once a fold has begun, naming epochs by
    their place in its training set; and a channel that holds them in every
    epoch is to be marked bad, not every epoch dropped.
    """
    finite = np.isfinite(epochs.get_data(picks=ch_names)).all(axis=2)
    if finite.all():
        return
    channels = np.array(ch_names)[~finite.all(axis=0)].tolist()
    affected = np.flatnonzero(~finite.all(axis=1)).tolist()
    mark = f"mark {_listed(channels)} bad (epochs.info['bads'] += {channels})"
    drop = "drop those epochs (epochs.drop(indices))"
    if len(affected) == len(epochs):
        fix = mark
    elif len(channels) == 1:
        fix = f"{mark} or {drop}"
    else:
        fix = drop
    raise ValueError(
        f"{len(channels)} channel(s) the network reads ({_listed(channels)}) hold "
        f"NaN or infinite values in {len(affected)} of the {len(epochs)} epochs "
        f"(epoch(s) {_listed(affected)}, counted from 0); {fix}, and save the "
        "epochs again."
    )


def _unplaced(info, ch_names):
    """Return the channels of ``ch_names`` without a position on the head."""
    _, placed = _sensor_positions(info)
    unplaced = set(np.array(info.ch_names)[~placed].tolist())
    return [name for name in ch_names if name in unplaced]


def check_data(estimator, epochs, y, n_splits, fitted, methods=()):
    """Check the data before any training; say what the report can show.

    Parameters
    ----------
    estimator : estimator
        The classifier, fitted or not.
    epochs : mne.Epochs
        The data.
    y : ndarray
        One label per epoch.
    n_splits : int | None
        Number of cross-validation folds, None when no folds are run.
    fitted : bool
        Whether ``estimator`` is fitted.
    methods : list of str
        The attribution methods asked for; those needing patterns are refused
        here for a network that cannot have them.

    Returns
    -------
    plan : DataPlan
        The channels read, and whether and how topomaps are drawn.
    """
    _validate_type(epochs, mne.BaseEpochs, "epochs", "mne.Epochs")
    if len(y) != len(epochs):
        raise ValueError(f"y has {len(y)} labels for {len(epochs)} epochs.")
    classes, counts = np.unique(y, return_counts=True)
    # Named by their events where the labels are the events' codes: EEGLAB
    # numbers its events from 1, so a code alone says little.
    names = {}
    if np.array_equal(y, epochs.events[:, 2]):
        names = {code: name for name, code in epochs.event_id.items()}
    shown = [
        f"{names[label]!r} (code {label})" if label in names else repr(label)
        for label in classes.tolist()
    ]
    if len(classes) < 2:
        raise ValueError(
            f"The epochs hold one class only ({', '.join(shown)}); a classifier "
            "needs at least two."
        )
    if fitted:
        trained = set(np.asarray(as_network(estimator).classes_).tolist())
        untrained = [label for label in classes.tolist() if label not in trained]
        if untrained:
            raise ValueError(
                f"y holds label(s) {untrained} that the fitted network was not "
                f"trained on (its classes {sorted(trained, key=str)}); keep the "
                "epochs of its classes (e.g. epochs[list_of_event_names]), or give "
                "an unfitted estimator to train on every class."
            )
    if n_splits is not None and counts.min() < n_splits:
        fix = "lower cv"
        if counts.min() < 2:  # no number of folds both trains on it and tests it
            kept = [
                names.get(label, label)
                for label, count in zip(classes.tolist(), counts.tolist(), strict=True)
                if count > 1
            ]
            keep = (
                f"epochs[{kept!r}], saved again with epochs.save for the command line"
                if names
                else f"the epochs labelled {kept}, and their labels"
            )
            fix = (
                "cross-validation needs 2 epochs of each class or more, whatever "
                f"cv: keep the other classes ({keep})"
            )
        raise ValueError(
            f"Class {shown[counts.argmin()]} has {counts.min()} epoch(s), fewer "
            f"than the {n_splits} cross-validation folds; {fix}."
        )
    ch_names = _used_channels(estimator, epochs, fitted)
    _check_finite(epochs, ch_names)
    _check_patterns_possible(estimator, epochs, y, methods, fitted)
    ch_types = Counter(
        epochs.get_channel_types(picks=[epochs.ch_names.index(n) for n in ch_names])
    )
    # The most numerous brain channel type, as the CSP+LDA reference reads:
    # four EOG channels beside three EEG ones made the EOG the topomaps'.
    brain_channels = _csp_channels(epochs, ch_names)
    topomap_type = (
        epochs.get_channel_types(picks=brain_channels[:1])[0]
        if brain_channels
        else ch_types.most_common(1)[0][0]
    )
    if topomap_type in _INTRACRANIAL:
        return DataPlan(
            ch_names,
            ch_types,
            None,
            f"the network reads {topomap_type} contacts, inside the head, which a "
            "scalp topomap would interpolate across as if they lay on the scalp",
        )
    if topomap_type not in _TOPOMAP_TYPES:
        # Channels chosen by the estimator's picks whatever their type: the
        # other sections need no topomaps. Said now, before the training.
        why = (
            f"the network reads {topomap_type} channels, and MNE draws no topomaps "
            "of those; give EEG channels their type to draw them, with "
            "epochs.set_channel_types({name: 'eeg'}) (for the command line, save "
            "the epochs with it)"
        )
        warn(f"The report will have no topomaps: {why}.")
        return DataPlan(ch_names, ch_types, None, why)
    of_type = [
        name
        for name in ch_names
        if epochs.get_channel_types(picks=[name])[0] == topomap_type
    ]
    n_positions = _n_topomap_positions(
        mne.pick_info(epochs.info, [epochs.ch_names.index(name) for name in of_type])
    )
    if n_positions < _MIN_TOPOMAP_POSITIONS:
        return DataPlan(
            ch_names,
            ch_types,
            None,
            f"the network reads {len(ch_names)} channel(s) "
            f"({', '.join(ch_names[:5])}) at {n_positions} sensor position(s) of "
            f"one type; a topomap needs at least {_MIN_TOPOMAP_POSITIONS}",
        )
    unplaced = _unplaced(epochs.info, of_type)
    if unplaced:
        # The other sections need no positions: a cap whose positions are not
        # known still gets them, as channels a topomap cannot show do. Said
        # now, before the training, for a montage merely forgotten.
        shown = ", ".join(unplaced[:5]) + (" ..." if len(unplaced) > 5 else "")
        why = (
            f"{len(unplaced)} of the {len(of_type)} {topomap_type} channels have no "
            f"position ({shown}); set a montage to draw them, e.g. "
            f"epochs.set_montage({_builtin_montage('1020')!r}) (see "
            "mne.channels.get_builtin_montages()), and for the command line save "
            "the epochs with it"
        )
        warn(f"The report will have no topomaps: {why}.")
        return DataPlan(ch_names, ch_types, None, why)
    return DataPlan(ch_names, ch_types, topomap_type, None)


def check_training_folds(folds, y):
    """Refuse folds that train on no more epochs than there are classes, or on one.

    LDA, in the CSP+LDA reference, needs more training epochs than classes;
    it stopped the report in its own words after the network's folds (two
    epochs of each of two classes, in two folds). A fold whose training
    epochs hold one class (unshuffled ``KFold`` on epochs sorted by class)
    stopped it with "y holds a single class", of the labels that hold two.
    Checked on the folds themselves, so for any splitter.

    Parameters
    ----------
    folds : list of (ndarray, ndarray)
        The (train, test) indices of each fold.
    y : ndarray, shape (n_epochs,)
        The labels.
    """
    n_classes = len(np.unique(y))
    for number, (train, _) in enumerate(folds, 1):
        if len(train) <= n_classes:
            raise ValueError(
                f"Fold {number} of {len(folds)} trains on {len(train)} epochs, for "
                f"{n_classes} classes; the CSP+LDA reference needs more epochs than "
                "classes. Give more epochs, or a cv whose folds train on more."
            )
        trained = np.unique(y[train])
        if len(trained) < 2:
            raise ValueError(
                f"Fold {number} of {len(folds)} trains on epochs of class "
                f"{trained.tolist()[0]!r} only, and a classifier needs two or more. "
                "Give a cv whose folds train on every class: an int (stratified, "
                "shuffled folds), or a shuffled splitter where the epochs are in "
                "the order of their classes (KFold(5, shuffle=True, "
                "random_state=0))."
            )
