"""The shared path of every attribution method: batches, targets, baselines, outputs."""

import ast
import hashlib
import operator
import re
from dataclasses import dataclass

import mne
import numpy as np
import torch
from mne.utils import _validate_type, logger, verbose
from torch.utils.checkpoint import CheckpointError

from .._checks import (
    check_positive_int,
    check_seed,
    compute_device,
    returns_probabilities,
)
from .._convert import (
    array_info,
    checked_batches,
    map_info,
    refuse_array_of_either_order,
    start_time,
)
from .._data_checks import check_outputs_finite
from .._docs import fill_doc
from .._graph import (
    autograd_on,
    call_combined_layers,
    call_keeping_input,
    check_float32,
    check_hookable,
    copy_module,
    full_float32,
    outputs_agree,
    remove_backward_hooks,
)
from .._labels import (
    EventsAreNotClasses,
    check_events_are_classes,
    events_as_trained,
    events_unseen_in_training,
    named_events,
)
from .._matching import BASELINE_UNKNOWN, SCALE_TOLERANCE
from .._network import WindowAverage, as_network, check_reads_time, sampling_rate
from .._outputs import epochs_array, evoked_array
from .._progress import progress_bar
from .._warnings import warn
from ._propagation import check_gradient_path
from ._registry import (
    check_map_shape,
    get_method,
    list_methods,
    method_differentiates,
    other_methods_note,
)


def _epoch_generators(batch, seed, key=()):
    """One torch generator per epoch, seeded by ``seed`` and the epoch's data.

    Seeding from the epoch's bytes rather than its position gives an epoch the
    same draws whatever the batch size and the other epochs explained with it;
    the generators are local, so global random states are left untouched. They
    draw on the CPU, whatever the device (see ``AttributionMethod._draw``).
    ``key`` (non-negative integers) names what the draws are for, so that each
    gets its own whatever the order in which they are made.
    """
    generators = []
    for epoch in batch:
        digest = hashlib.blake2b(epoch.tobytes(), digest_size=8).digest()
        sequence = np.random.SeedSequence(
            [seed, int.from_bytes(digest, "little"), *key]
        )
        generator = torch.Generator()
        generator.manual_seed(int(sequence.generate_state(1, np.uint64)[0]))
        generators.append(generator)
    return generators


def private_module(estimator, device, example=None):
    """Return a copy of the fitted module on ``device``, in evaluation mode.

    Methods hook the module they run and switch it to evaluation mode (batch
    norm with running statistics, no dropout: an epoch's output does not depend
    on its batch). They do so on a copy, so that the estimator's own module is
    never touched and other threads may predict or explain with it meanwhile;
    on the shared module, one thread's saliency maps went through another's
    guided-backprop rules, and predictions failed in captum's hooks.

    Given an ``example``, a module that computes what calling its layers in
    order computes, with their parameters combined in a function
    (braindecode's CombinedConv), is made to call them (see
    :func:`~mne_xai._graph.call_combined_layers`): every method and
    inspection then meets the same layers.

    What cannot be copied (a lock, an open file, a logging writer) is shared
    with the copy (see :func:`~mne_xai._graph.copy_module`). The copy has no
    backward hooks, which change the network's gradients but not its function
    (see :func:`~mne_xai._graph.remove_backward_hooks`).

    Parameters
    ----------
    estimator : object
        A fitted classifier, as :func:`mne_xai.as_network` returns it.
    device : torch.device
        Where to compute.
    example : ndarray | torch.Tensor, shape (n_epochs, n_channels, n_times) | None
        Epochs the network accepts, of which the first is traced. None for a
        caller that only reads the network's outputs, which are the same.

    Returns
    -------
    module : torch.nn.Module
        The copy.
    """
    module = estimator.module_
    check_hookable(module)
    check_float32(module)
    module = copy_module(module).to(device).eval()
    remove_backward_hooks(module)
    if example is not None:
        call_combined_layers(module, torch.as_tensor(example[:1], device=device))
    return module


def _class_index(estimator, label, aliases):
    """Index in ``classes_`` of ``label`` or of its alias; None if neither is a class.

    Models are trained on event codes (the default ``y`` of Epochs) or on event
    names, so ``aliases`` translates a label into the other form: ``event_id``
    (names to codes) or its inverse (codes to names).
    """
    classes = list(estimator.classes_)
    for candidate in (label, (aliases or {}).get(label)):
        if candidate is not None and candidate in classes:
            return classes.index(candidate)
    return None


def _event_id(estimator, data):
    """Event names of the estimator's classes, completed by those of the data.

    A selection such as ``epochs[[0, 3]]`` loses the names of classes it does
    not hold, which the estimator remembers (see :func:`named_events`). Arrays
    have no names, and neither has an estimator trained on labels that are not
    the events (``events_are_labels_``): an event's name says nothing of its
    class there.
    """
    if not getattr(estimator, "events_are_labels_", True):
        return {}
    trained = getattr(estimator, "event_id_", None)
    given = getattr(data, "event_id", None)
    if not trained and given:
        # Fitted on arrays: events are its classes by name only (see
        # check_events_are_classes).
        classes = set(np.asarray(estimator.classes_).tolist())
        return {name: code for name, code in given.items() if name in classes}
    return named_events(trained, given)


def _resolve_target(estimator, target, data):
    """Class indices per epoch, or None to explain each epoch's highest logit.

    Parameters
    ----------
    estimator : object
        A fitted classifier, as :func:`as_network` returns it.
    target : None | "true" | label | index | array-like
        As :func:`explain` takes it.
    data : InputData
        The epochs explained.

    Returns
    -------
    target_index : ndarray of int64, shape (n_epochs,) | None
        Index in ``classes_`` of the class explained for each epoch. None for
        the predicted class of a network that predicts the class of its
        highest logit, found batch by batch.
    description : str
        What was explained, for the comment of averaged outputs.
    """
    n_epochs, event_id = data.shape[0], _event_id(estimator, data)
    if target is None:
        # A network that predicts otherwise than by its highest logit (a
        # CroppedClassifier averages window probabilities) says which class.
        predicted_index = getattr(estimator, "predicted_index", None)
        if predicted_index is None:
            return None, "predicted class"
        return predicted_index(data).astype(np.int64), "predicted class"
    if isinstance(target, str) and target == "true":
        _refuse_a_class_named_true(estimator, event_id)
        return _true_target_indices(estimator, data, event_id)
    if isinstance(target, torch.Tensor):
        target = target.cpu().numpy()
    elif hasattr(target, "__array__") and not np.isscalar(target):
        target = np.asarray(target)  # a pandas Series or Index, e.g. y
    if isinstance(target, np.ndarray) and target.ndim == 0:
        target = target.item()
    if isinstance(target, list | tuple | np.ndarray):
        return _per_epoch_target_indices(estimator, target, data, event_id)
    index = _target_index(estimator, target, event_id, getattr(data, "event_id", None))
    _warn_if_also_an_index(estimator, target, index, event_id)
    if _class_index(estimator, target, event_id) is None:  # read as an index
        _warn_if_also_event_codes(estimator, {target: index}, event_id)
    else:
        _warn_if_events_coded_otherwise(estimator, {target: index}, data)
    label = estimator.classes_[index]
    names = {code: name for name, code in event_id.items()}
    return np.full(n_epochs, index, np.int64), class_text(label, names.get(label))


def class_text(label, name=None):
    """Name a class in text: ``"class hands"``, by its event name where it has one.

    An event name that reads as a number other than the class's label
    (events ``{"2": 1, "1": 2}``) is said with the label, which is what a
    target or ``y`` gives: ``"class 2 (event '1')"``.
    """
    if name is None or str(name) == str(label):
        return f"class {label}"
    if isinstance(name, str) and _reads_as_a_number(name):
        return f"class {label} (event {name!r})"
    return f"class {name}"


def _reads_as_a_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _refuse_a_class_named_true(estimator, event_id):
    """Refuse ``target="true"`` where a class is also named "true".

    A class named "true" (an event of a true/false task) would be explained by
    every other name as that class, and by this one as each epoch's own class,
    silently.
    """
    index = _class_index(estimator, "true", event_id)
    if index is None:
        return
    label = np.asarray(estimator.classes_).tolist()[index]
    # A label "true" is named by a target per epoch, which reads labels only.
    that_class = "['true'] * len(epochs)" if label == "true" else repr(label)
    raise ValueError(
        'target="true" explains each epoch\'s own class, but a class of the '
        f'estimator is also named "true". Pass target={that_class} to explain '
        "that class, or each epoch's class (e.g. target=epochs.events[:, 2], "
        "or the labels y) to explain its own."
    )


def _true_target_indices(estimator, data, event_id):
    """Class index of each epoch by its event (``target="true"``)."""
    if data.event_codes is None:
        raise ValueError(
            'target="true" needs Epochs (their events hold the true labels); '
            "with arrays, pass the class to explain."
        )
    # Missing from estimators saved before it was recorded: those read
    # events as labels.
    if not getattr(estimator, "events_are_labels_", True):
        raise ValueError(
            'target="true" reads the events of the epochs as classes, but the '
            "estimator was trained on labels y that are not the events of its "
            "training Epochs (neither their codes nor their names); pass the "
            "class of each epoch as target (e.g. target=y)."
        )
    check_events_are_classes(
        data.event_id,
        data.event_codes,
        estimator.classes_,
        getattr(estimator, "event_id_", None),
        asked='target="true" reads the events of the epochs as classes. ',
    )
    events = events_as_trained(
        data.event_codes, data.event_id, getattr(estimator, "event_id_", None)
    )
    names = {code: name for name, code in event_id.items()}
    index = np.array([_class_index(estimator, code, names) for code in events])
    if any(i is None for i in index):
        unknown = sorted(
            {int(c) for c, i in zip(events, index, strict=True) if i is None}
        )
        classes = np.asarray(estimator.classes_).tolist()
        unseen = events_unseen_in_training(
            unknown, classes, getattr(estimator, "event_id_", None), data.event_id
        )
        # Its own class: the callers that read classes from events give the
        # reason with their own advice.
        if len(unseen) < len(unknown):
            raise EventsAreNotClasses(
                f"The event codes {unknown} and their names in event_id "
                f"{event_id} are not among the estimator's classes {classes}.",
                "Pass the class of each epoch as target.",
                asked='target="true" reads the events of the epochs as classes. ',
            )
        trained = sorted(
            {str(names.get(code, code)) for code in events if code not in unknown}
        )
        keep = f" (epochs[{trained}])" if trained else ""
        raise EventsAreNotClasses(
            f"The network saw no epoch of the events {sorted(unseen.values())} in "
            f"training, so it has no class for them (its classes are {classes}).",
            f"Keep the epochs of the events it was trained on{keep}, or pass a "
            "class as target.",
            asked='target="true" reads the events of the epochs as classes. ',
        )
    return index.astype(np.int64), "true class"


def _per_epoch_target_indices(estimator, target, data, event_id):
    """Class index of each epoch from a target per epoch (labels or indices)."""
    n_epochs = data.shape[0]
    if np.ndim(target) != 1:
        raise ValueError(
            f"target has shape {np.shape(target)}; give a single class, or a "
            "1-D sequence of one class per epoch (e.g. epochs.events[:, 2], "
            "not epochs.events[:, 2:3]; or target.ravel())."
        )
    if len(target) != n_epochs:
        raise ValueError(
            f"target holds {len(target)} classes for {n_epochs} epochs; give one "
            "per epoch, or a single class for all."
        )
    if len({isinstance(value, str) for value in target}) > 1:
        # NumPy would make the numbers strings, and they were then refused as
        # no classes ("also ['2', '3'], which are not").
        kinds = sorted({type(value).__name__ for value in target})
        raise ValueError(
            f"target mixes strings and numbers ({', '.join(kinds)}); give the "
            "classes of the epochs as labels of one type (codes or event names), "
            "or as indices."
        )
    values = np.asarray(target).tolist()
    # Labels (such as y) or indices, never a mix: the codes of a file coded
    # otherwise were read partly as classes and partly as indices.
    indices = {v: _class_index(estimator, v, event_id) for v in set(values)}
    if all(index is None for index in indices.values()):  # indices, checked
        given_event_id = getattr(data, "event_id", None)
        indices = {
            v: _target_index(estimator, v, event_id, given_event_id) for v in indices
        }
        _warn_if_also_event_codes(estimator, indices, event_id)
    unknown = sorted(str(v) for v, index in indices.items() if index is None)
    if unknown:
        raise ValueError(
            f"target holds classes of the estimator and also {unknown}, "
            "which are not; a target per epoch holds labels (classes or "
            "event names) or indices, not both."
        )
    _warn_if_events_coded_otherwise(estimator, indices, data)
    index = np.array([indices[v] for v in values], np.int64)
    return index, "given class of each epoch"


def _warn_if_events_coded_otherwise(estimator, indices, data):
    """Warn when target codes name other events in the epochs than in training.

    Targets are the estimator's classes: code 2 of a network trained on
    ``hands=2, feet=3`` is hands, also in a file coding ``feet=2``, where
    ``epochs.events[:, 2]`` as target explained the other class of every
    epoch. ``target="true"`` matches events by name.
    """
    trained = getattr(estimator, "event_id_", None)
    given = getattr(data, "event_id", None)
    if not trained or not given or not getattr(estimator, "events_are_labels_", True):
        return
    trained_names = {code: name for name, code in trained.items()}
    given_names = {code: name for name, code in given.items()}
    classes = np.asarray(estimator.classes_).tolist()
    others = {
        value: (given_names[value], trained_names[classes[index]])
        for value, index in indices.items()
        if value in given_names
        and classes[index] in trained_names
        and given_names[value] != trained_names[classes[index]]
    }
    if others:
        read = ", ".join(
            f"{value} is {trained!r} to the estimator but {given!r} in the epochs"
            for value, (given, trained) in others.items()
        )
        warn(
            f"The targets are read as the estimator's classes ({read}): the epochs "
            "code their events otherwise than the training epochs. To explain "
            'each epoch\'s event, pass target="true" or the event names.'
        )


def _warn_if_also_an_index(estimator, target, index, event_id=None):
    """Warn when an int target read as a class label is another class's index.

    With event codes 1 and 2 as classes, ``target=1`` is class 1 (index 0): a
    loop over ``range(n_classes)`` would explain it twice and never class 2.
    Sequences of targets are left alone: they are labels, such as ``y``. A
    single integer from ``classes_`` cannot be told from an index (both may
    be NumPy integers, e.g. of ``np.argmax``), so it is warned of too.

    ``event_id`` (the events' names) names the classes: events named by
    numerals other than their codes (``{"0": 1, "1": 2}``, as
    :func:`mne.events_from_annotations` gives for triggers "0" and "1") make
    ``target=1`` the event "0", which the user may have meant as the event "1".
    """
    if not _is_index(target) or not 0 <= target < len(estimator.classes_):
        return
    if index != target:
        classes = np.asarray(estimator.classes_).tolist()
        names = {code: name for name, code in (event_id or {}).items()}

        def described(label, *details):
            if label in names:
                details = (f"event {names[label]!r}", *details)
            return f" ({', '.join(details)})" if details else ""

        other = classes[int(target)]
        # Typed for the event named "1", target=1 took another class.
        numeral = (event_id or {}).get(str(target))
        like = (
            f" The event named {str(target)!r} is class {numeral}: pass "
            f"target={str(target)!r} for it."
            if numeral in classes and numeral != classes[index]
            else ""
        )
        warn(
            f"target={target!r} is a class of the estimator"
            f"{described(classes[index], f'index {index}')} and also the index "
            f"of class {other!r}{described(other)}; the class is taken, as "
            f"wanted when looping over estimator.classes_.{like} An index that "
            "is also a class is never read as an index: to take each class in "
            "turn, loop over estimator.classes_ (or event names), not over indices."
        )


def _warn_if_also_event_codes(estimator, indices, event_id):
    """Warn when targets read as indices are the event codes of other classes.

    A network trained on event names has no integer classes: the codes of
    ``epochs.events[:, 2]`` (or one code, for all epochs) given as targets are
    read as indices, which name other classes than the events do
    (``{"right": 0, "left": 1}`` against classes ``["left", "right"]``).
    """
    names = {code: name for name, code in event_id.items()}
    classes = np.asarray(estimator.classes_).tolist()
    others = {
        value: (names[value], classes[index])
        for value, index in indices.items()
        if value in names and names[value] != classes[index]
    }
    if others and set(indices) <= set(names):
        read = ", ".join(f"{v} -> {c!r} (event {n!r})" for v, (n, c) in others.items())
        warn(
            f"The targets are read as indices of classes_ ({read}), but they are "
            "also event codes of other classes. To explain each epoch's event, "
            'pass target="true" or the event names.'
        )


def _is_index(value):
    """Whether ``value`` is an integer (not a string, nor a float such as 2.0).

    Booleans are not, as in MNE's "numeric": NumPy 2 refuses ``np.True_`` as an
    index, and NumPy 1 takes it with a DeprecationWarning.
    """
    if isinstance(value, bool | np.bool_):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _target_index(estimator, target, event_id, given_event_id=None):
    """Index in ``classes_`` of one target: a class label, an event name or an index.

    Floats are taken as class labels, as in a target per epoch (e.g. ``y`` read
    as floats from a table) and as scikit-learn takes labels; only integers are
    indices, as a float index such as 1.5 has no meaning. ``given_event_id``,
    the events of the epochs explained, says why one of their names is no
    class.
    """
    n_classes = len(estimator.classes_)
    if isinstance(target, bool | np.bool_):
        # MNE's "numeric" leaves booleans out; True == 1 would match class 1.
        classes = np.asarray(estimator.classes_)
        if classes.dtype != bool:
            raise ValueError(
                f"target={target!r} is a boolean, and the classes "
                f"{classes.tolist()} are not: pass a class or an index."
            )
        return classes.tolist().index(bool(target))
    _validate_type(
        target,
        ("numeric", str),
        "target",
        'None, "true", a class or an index, or one of those per epoch',
    )
    index = _class_index(estimator, target, event_id)
    if index is None and isinstance(target, str):
        index = _tagged_class_index(estimator, target, event_id)
    if index is None and _is_index(target) and 0 <= target < n_classes:
        index = int(target)
    if index is None and isinstance(target, str) and given_event_id:
        # As epochs[target] selects them: the event so named, or those it tags.
        selected = mne.event.match_event_names(
            given_event_id, [target], on_missing="ignore"
        )
        if selected:
            _refuse_events_of_no_class(estimator, target, selected, given_event_id)
    if index is None:
        # An event code of a network trained on event names is no class.
        names = {code: name for name, code in (event_id or {}).items()}
        if _is_index(target) and target in names:
            name = names[target]
            if _class_index(estimator, name, event_id) is None:
                # Its name would be refused in turn: say why now.
                _refuse_events_of_no_class(estimator, target, [name], event_id)
            advice = f" It is the code of event {name!r}: pass the event name."
        elif isinstance(target, str) and target.lower() in ("predicted", "pred"):
            advice = " For the class each epoch is predicted as, pass target=None."
        else:
            advice = ""
        raise ValueError(
            f"target={target!r} is neither a class of the estimator "
            f"({np.asarray(estimator.classes_).tolist()}), an event name (or tag) "
            f"of the epochs, nor an integer index below {n_classes}.{advice}"
        )
    return index


def _refuse_events_of_no_class(estimator, target, selected, given_event_id):
    """Refuse a target that names, or tags, events of the epochs that are no class.

    Said to be no event name (or tag) of the epochs, a tag of events that are
    not classes ("left" of "hands/left", for classes "hands" and "feet") sent
    the user looking for a typo. An event whose training epochs were all
    dropped stays in MNE's ``event_id``: it was listed among the training
    events, though the network saw none of it.
    """
    trained = getattr(estimator, "event_id_", None) or {}
    check_events_are_classes(
        given_event_id,
        [given_event_id[name] for name in selected],
        estimator.classes_,
        trained,
        asked=f"target={target!r}: ",
    )
    classes = np.asarray(estimator.classes_).tolist()
    learned = list(trained)
    if getattr(estimator, "events_are_labels_", True):  # the events are classes
        learned = [
            name for name, code in trained.items() if name in classes or code in classes
        ]
    if _is_index(target):
        what = f"is the code of event {selected[0]!r}, but not a class"
    elif selected == [target]:
        what = "is an event of the epochs, but not a class"
    else:
        what = f"tags the events {selected} of the epochs, which are not classes"
    without_epochs = [
        name for name in selected if name in trained and name not in learned
    ]
    unseen = (
        f" The network saw no epoch of {without_epochs} in training: the "
        "training Epochs kept the name (MNE keeps it when every epoch of an "
        "event is dropped), with no epoch."
        if without_epochs
        else ""
    )
    raise ValueError(
        f"target={target!r} {what} the estimator was trained on ({sorted(learned)} "
        f"of its training events, classes {classes}).{unseen} Pass a class "
        "label (or an index), or the class of each epoch (e.g. target=y)."
    )


def _tagged_class_index(estimator, tag, event_id):
    """Index of the class whose event names hold ``tag``, as ``epochs[tag]`` selects.

    MNE selects ``epochs["hands"]`` among events named ``"imagery/hands"`` by
    their "/"-separated tags; a target does the same. None if no event name
    holds the tag.
    """
    if not event_id:  # arrays, or a network that kept no event names
        return None
    names = mne.event.match_event_names(event_id, [tag], on_missing="ignore")
    indices = {_class_index(estimator, name, event_id) for name in names}
    indices.discard(None)
    if len(indices) > 1:
        raise ValueError(
            f"target={tag!r} selects the events {names}, of several classes; "
            "name one class."
        )
    return indices.pop() if indices else None


def why_no_mean_epoch(estimator):
    """Say why a network has no mean training epoch (``data_mean_`` is None)."""
    if isinstance(estimator.module_, WindowAverage):
        return "a CroppedClassifier learns windows"
    return "skorch records no statistics of its training data"


def _resolve_baseline(estimator, baseline, device, data):
    """Baseline as a tensor of shape (n_baselines, *shape), shape of an epoch.

    Arrays are read on the network's channels, in their order (as the data
    are, whatever the order of the Epochs given); Epochs and Evoked by name.
    """
    shape = data.shape[1:]
    if isinstance(baseline, str):
        if baseline == "zeros":
            array = np.zeros(shape, np.float32)
        elif baseline == "mean":
            array = getattr(estimator, "data_mean_", None)
            if array is None:
                raise ValueError(
                    'baseline="mean" needs the mean training epoch, which this '
                    f"network does not know ({why_no_mean_epoch(estimator)}); use "
                    '"zeros" or pass an array, e.g. epochs.average().'
                )
        else:
            raise ValueError(
                f'baseline must be "zeros", "mean" or an array, got {baseline!r}.'
            )
    elif isinstance(baseline, mne.BaseEpochs | mne.Evoked):
        array = _read_baseline(baseline, data, estimator.info_)
        _check_baseline_scale(array, estimator.data_std_)
    else:
        if baseline is None:
            raise TypeError(
                'baseline must be "zeros", "mean", an array, Epochs or Evoked, '
                "got None."
            )
        if isinstance(baseline, list | tuple) and any(
            isinstance(item, mne.BaseEpochs | mne.Evoked) for item in baseline
        ):
            # NumPy cannot read them as numbers ("float() argument must be a
            # string or a real number, not 'EvokedArray'"), nor by channel name.
            raise TypeError(
                f"baseline is a {type(baseline).__name__} holding Evoked or "
                "Epochs; give several baselines as one Epochs, which is read by "
                "channel name (mne.concatenate_epochs of Epochs; of Evoked, "
                "mne.EpochsArray(np.stack([evoked.data for evoked in evokeds]), "
                "evokeds[0].info, tmin=evokeds[0].tmin)), or as an array of "
                "shape (n_baselines, n_channels, n_times) in the network's channel "
                "order."
            )
        array = np.asarray(baseline, dtype=np.float32)
        _check_baseline_shape(array, shape)  # before reading it by channel
        _refuse_ambiguous_order(data, array)
        _check_baseline_scale(array, estimator.data_std_)
    array = np.asarray(array, dtype=np.float32)
    _check_baseline_shape(array, shape)
    if not np.isfinite(array).all():
        raise ValueError("baseline contains NaN or infinite values.")
    return torch.as_tensor(array, dtype=torch.float32, device=device).reshape(
        -1, *shape
    )


def _check_baseline_shape(array, shape):
    # An empty set of baselines failed in captum's and torch's words.
    if array.shape[-2:] != shape or array.ndim not in (2, 3) or not array.size:
        constant = (
            f"; for a constant level c, np.full({shape}, c)" if array.ndim == 0 else ""
        )
        raise ValueError(
            f"baseline must have shape {shape} or (n_baselines, *{shape}), got "
            f"{array.shape}{constant}."
        )


def _read_baseline(baseline, data, train_info):
    """Read a baseline given as Epochs or Evoked on the network's channels, by name.

    The channels are those of the data, or for arrays those the network was
    trained on (``train_info``): given arrays, an Evoked in another order was
    read by position. A baseline naming none of them (the network knows no
    names, or names made up for arrays) is read by position.
    """
    info = data.info
    if info is None and train_info is not None:
        if set(train_info.ch_names) & set(baseline.ch_names):
            info = train_info
    if info is None:
        return baseline.get_data()
    names = info.ch_names
    missing = [name for name in names if name not in baseline.ch_names]
    if missing:
        raise ValueError(
            f"The baseline lacks channel(s) {missing} of the {len(names)} the "
            "network reads; give it on those channels (e.g. the average of "
            "epochs holding them)."
        )
    if data.tmin is not None and len(baseline.times) == data.shape[2]:
        offset = baseline.times[0] - data.tmin
        if abs(offset) > 0.5 / info["sfreq"]:
            warn(
                f"The baseline starts at {baseline.times[0]:g} s and the epochs at "
                f"{data.tmin:g} s: it is read sample by sample, {offset:+g} s "
                "apart from them. Give a baseline cut as the epochs are."
            )
    return baseline.get_data(picks=names)


def _refuse_ambiguous_order(data, array):
    """Refuse an array baseline whose channels could follow two orders.

    Given Epochs holding the network's channels in another order (beside
    others or not), a baseline built from them (``epochs.get_data().mean(0)``,
    ``epochs.get_data(picks="eeg")[0]``) is in their order, and was read
    against other channels with a warning alone. One that reads the same in
    both orders (a constant level) is read.
    """
    refuse_array_of_either_order(
        data,
        "an array baseline",
        "the baseline as Evoked or Epochs, read by channel name (for an array "
        "in the Epochs' order, mne.EvokedArray(baseline, "
        "epochs.copy().pick(ch_names_of_the_array).info))",
        array,
    )


def _check_baseline_scale(array, train_std):
    """Warn of a baseline far larger than the data, e.g. in microvolts.

    A baseline may be much smaller than the data (zeros, a mean epoch), so
    only the other way is checked.
    """
    if train_std is None:
        return
    rms = np.sqrt(np.mean(np.square(array.reshape(-1, *array.shape[-2:])), axis=(0, 2)))
    ratio = rms / np.broadcast_to(np.asarray(train_std, np.float64), rms.shape)
    if np.nanmax(ratio) > SCALE_TOLERANCE:
        warn(
            f"The baseline is {np.nanmax(ratio):.3g} times the training data's "
            "standard deviation: is it in another unit (e.g. microvolts for "
            "volts)? Give it in the unit of the data."
        )


@autograd_on
@verbose
@fill_doc
def explain(
    estimator,
    epochs,
    method="deeplift",
    *,
    target=None,
    average=False,
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Explain a fitted network's decisions as MNE objects.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(method_explained)s
    %(target)s
    average : bool
        If True, return the average over epochs as :class:`mne.EvokedArray`,
        computed batch by batch so memory grows with ``batch_size`` only. It
        keeps every channel the network reads, where MNE's
        :meth:`mne.Epochs.average` of the returned maps keeps data channels
        only (pass ``picks="all"`` to keep the EOG, ECG or EMG relevance).
    %(batch_size)s
    %(device)s
    %(random_state)s
        An epoch's generator is seeded by ``random_state`` and the epoch's
        data, so its map is the same whatever other epochs are explained
        with it (identical epochs get identical draws).
    %(verbose)s
    %(method_params)s
        A ``baseline`` may be ``"zeros"``, ``"mean"`` (the mean training
        epoch of the first fit, which continued training keeps), an array
        of shape ``(n_channels, n_times)`` or ``(n_baselines, n_channels,
        n_times)`` on the network's channels in the network's order
        (``ch_names_``; refused when the Epochs given hold them in another
        order, in which an array could be as well, unless it reads the same
        in both), or Evoked or Epochs, read by channel name; in the data's
        unit.

    Returns
    -------
    attribution : mne.EpochsArray | mne.EvokedArray
        Relevance of each channel and time sample, on the channels the
        network reads, in the order the Epochs given hold them (as the
        network's for arrays), with the input's info (montage), events,
        event_id, times, metadata, selection and drop log, so that
        ``attribution["feet"].average()`` and MNE's figures work. Projectors
        not yet applied to the input (e.g. an average reference added with
        ``projection=True``) are left out: MNE would apply them to the map
        when reading it from disk. Channels marked bad in the input are not
        marked bad in the maps: the network read them, and MNE's figures
        would hide their relevance (:func:`mne.grand_average` would replace it
        by an interpolation). Values carry the method's true unit (e.g. logit
        for relevance methods, logit per unit of input for gradients), but
        MNE's figures scale channels by their type, EEG as volts (times 1e6,
        labelled µV): pass ``scalings=1`` and ``units``, e.g.
        ``attribution.plot_image(scalings=dict(eeg=1),
        units=dict(eeg="logit"), evoked=False)`` (MNE draws the time course
        under the image in µV whatever ``scalings``), or use
        :mod:`mne_xai.viz`, which does.
        The last line of the maps' ``info["description"]`` (averaged or
        not) records the method, the unit of its values and the target
        (``"mne_xai: maps of deeplift in logit for target='true'"``), which
        the faithfulness measures given the maps read to score the same
        class, and the post-processing functions to tell maps in logits
        from maps per unit of input; the epochs' own description is kept
        above it.
        Of a :class:`~mne_xai.CroppedClassifier`, samples that no window
        reads (outside ``tmin`` to ``tmax``, or between windows a longer
        ``window_step`` apart) are 0 in the maps of every method: the
        network did not read them.

    Notes
    -----
    The network is explained in evaluation mode (batch norm with running
    statistics, no dropout), so an epoch's attribution does not depend on the
    other epochs in its batch. Methods explain the class logit, not a softmax.
    They run on a copy of the network: the estimator is left as it was, and
    other threads may predict or explain with it meanwhile (their warnings
    stay theirs; MNE's log level, which ``verbose`` sets for the call, is the
    process's). Autograd is on inside, also within the caller's
    ``torch.no_grad()`` or ``torch.inference_mode()``.
    """
    # Its maps would read the spectra's frequencies as times.
    check_reads_time(as_network(estimator), "explain")
    result, request = attribution_values(
        estimator,
        epochs,
        method,
        target=target,
        average=average,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        params=params,
    )
    data, info = request.data, request.info
    tmin = start_time(data, request.network)
    if average:
        maps = evoked_array(
            result,
            info,
            tmin,
            comment=f"{method} ({request.description})",
            nave=request.shape[0],
        )
    else:
        maps = epochs_array(result, info, tmin, **data.trials)
    # Averaged maps too: post-processing reads the method's unit from it.
    maps.info["description"] = describe_maps(
        info["description"], method, target, get_method(method).unit_of(params)
    )
    return maps


#: How explain's maps record their method, unit and target, as the last line
#: of ``info["description"]`` (kept by indexing, concatenation and .fif files),
#: for the measures that score maps given to them against a class and the
#: post-processing that compares channels of several types.
_MAPS_RECORD_START = "mne_xai: maps of "
_PER_INPUT_UNIT = "input unit"
_MAPS_RECORD = re.compile(
    rf"^{_MAPS_RECORD_START}(?P<method>[^\s,]+) in (?P<unit>.+?)"
    r"(?: for target=(?P<target>.*)|, one target per epoch)$"
)
NOT_RECORDED = object()


def describe_maps(description, method, target, unit):
    """Return ``description`` with the record of maps of ``method`` explaining ``target``.

    The record is the last line; the user's lines above it are kept (they
    describe the recording), an earlier record is not. ``unit`` is the
    method's unit for its parameters, ``"{input}"`` standing for the input's
    (:meth:`~mne_xai.attribution.AttributionMethod.unit_of`): SmoothGrad of
    gradient x input is in logits, of saliency per unit of input.
    """
    if isinstance(target, torch.Tensor | np.ndarray | np.generic) and not target.ndim:
        target = target.item()
    unit = unit.format(input=_PER_INPUT_UNIT)
    if target is not None and not isinstance(target, str | int | float):
        record = f"{_MAPS_RECORD_START}{method} in {unit}, one target per epoch"
    else:
        record = f"{_MAPS_RECORD_START}{method} in {unit} for target={target!r}"
    kept = [
        line
        for line in (description or "").splitlines()
        if not line.startswith(_MAPS_RECORD_START)
    ]
    return "\n".join([*kept, record])


def _maps_record(info):
    """Return the match of the record :func:`describe_maps` wrote in ``info``, or None."""
    lines = (info["description"] or "").splitlines()
    return _MAPS_RECORD.match(lines[-1]) if lines else None


def recorded_per_input_unit(info):
    """Return whether :func:`explain` recorded its maps per unit of input, or None.

    None where ``info`` holds no record (maps not made by :func:`explain`).
    """
    record = _maps_record(info)
    if record is None:
        return None
    return _PER_INPUT_UNIT in record["unit"]


def recorded_target(maps):
    """Return the target :func:`explain` recorded in ``maps``, or ``NOT_RECORDED``."""
    if not isinstance(maps, mne.BaseEpochs):
        return NOT_RECORDED
    record = _maps_record(maps.info)
    if record is None or record["target"] is None:  # one target per epoch
        return NOT_RECORDED
    try:
        return ast.literal_eval(record["target"])
    except (ValueError, SyntaxError):  # a description edited by hand
        return NOT_RECORDED


def attribution_values(
    estimator,
    epochs,
    method,
    *,
    target,
    average,
    batch_size,
    device,
    random_state,
    params,
):
    """Run ``method`` as :func:`explain` does, and return the values of its maps.

    Returns
    -------
    values : ndarray, shape (n_epochs, n_channels, n_times) | (n_channels, n_times)
        The maps, on the channels of the epochs given in their order; their
        mean over epochs with ``average``.
    request : Request
        What was explained (see :func:`prepare_request`).
    """
    request = prepare_request(
        estimator,
        epochs,
        method,
        target=target,
        batch_size=batch_size,
        device=device,
        params=params,
    )
    _validate_type(average, bool, "average")
    module = private_module(
        request.network, request.device, next(request.data.batches(1))
    )
    result = run_method(
        module,
        request.batches(),
        request,
        average=average,
        random_state=random_state,
    )
    return request.data.in_given_order(result), request


@dataclass
class Request:
    """A checked request to explain data with a method, ready for :func:`run_method`.

    Attributes
    ----------
    network : object
        The fitted classifier, as :func:`mne_xai.as_network` presents it.
    method_class : subclass of AttributionMethod
        The method.
    params : dict
        Its parameters, with ``baseline`` resolved to a tensor on ``device``.
    data : InputData
        The data, with the network's channels picked, read in batches; its
        info, events, event_id, tmin and metadata make the MNE outputs.
    info : mne.Info
        The info of the outputs: the data's, on the channels the network
        reads in the order of the Epochs given (see
        :meth:`~mne_xai._convert.InputData.in_given_order`), or made up for
        arrays.
    train_std : float | ndarray | None
        The standard deviation of the training data (of each channel's type,
        per channel, for several types), to warn about data in another unit.
    target_index : ndarray of int64 | None
        Class index per epoch, or None to explain the predicted class.
    description : str
        What is explained, for comments and logs.
    device : torch.device
        Where to compute.
    batch_size : int
        Number of epochs per batch.
    """

    network: object
    method_class: type
    params: dict
    data: object
    info: mne.Info
    train_std: float | np.ndarray | None
    target_index: np.ndarray | None
    description: str
    device: torch.device
    batch_size: int

    @property
    def shape(self):
        """``(n_epochs, n_channels, n_times)`` of the data."""
        return self.data.shape

    def batches(self):
        """Yield the data batch by batch, warning if its unit differs from training.

        Every batch is checked: the parts of a list of Epochs (e.g. two
        subjects) may be in different units. One warning per call is enough.
        """
        yield from checked_batches(
            self.data,
            self.batch_size,
            self.train_std,
            self.network.info_,
            getattr(self.network, "baseline_", BASELINE_UNKNOWN),
        )


def output_info_for_arrays(estimator, shape):
    """Info for attributions of arrays: the estimator's, or made-up channels."""
    if estimator.info_ is not None:
        return map_info(estimator.info_)
    return array_info(
        shape[1], sampling_rate(estimator, "the times and frequencies of the results")
    )


def check_method_parameters(method, params):
    """Refuse parameters the method does not take; return the method's class."""
    method_class = get_method(method)
    allowed = method_class.parameters()
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(
            f"Method {method!r} got unknown parameter(s) {unknown}; it accepts "
            f"{sorted(allowed) or 'none'}."
        )
    return method_class


def method_parameters(params, method_params):
    """Return the method's parameters: a function's ``**params`` and ``method_params``.

    The functions that run a method beside arguments of their own take its
    parameters as keywords, and as the dict ``method_params`` under any name:
    occlusion's ``mode`` could not reach it through
    ``parameter_randomization_check``, whose own ``mode`` took the keyword,
    nor integrated gradients' ``baseline`` through the faithfulness measures.

    Parameters
    ----------
    params : dict
        The function's ``**params``.
    method_params : dict | None
        Its ``method_params``.

    Returns
    -------
    params : dict
        Both, in one dict (not yet checked against the method).
    """
    _validate_type(method_params, (dict, None), "method_params", "dict or None")
    method_params = {} if method_params is None else method_params
    for name in method_params:
        _validate_type(name, str, "each key of method_params", "str (a parameter name)")
    twice = sorted(set(params) & set(method_params))
    if twice:
        raise TypeError(
            f"Method parameter(s) {twice} given both as keywords and in "
            "method_params; give each once."
        )
    return {**params, **method_params}


def log_unread_channels(epochs, info):
    """Name the channels of the epochs that the network does not read.

    The network reads its training channels, and its relevance is on those:
    one left out of training (marked bad, or not picked) has none.
    """
    first = epochs[0] if isinstance(epochs, list | tuple) and epochs else epochs
    if not isinstance(first, mne.BaseEpochs):
        return  # arrays are read whole
    unread = [name for name in first.ch_names if name not in info.ch_names]
    if unread:
        logger.info(
            f"The network reads {info['nchan']} of the {len(first.ch_names)} "
            f"channels of epochs; not {', '.join(unread)}, left out of its "
            "training (marked bad, or not picked), which get no relevance."
        )


def prepare_request(estimator, epochs, method, *, target, batch_size, device, params):
    """Check a request to explain ``epochs``; resolve its targets and baseline.

    The single place where method names, parameters, targets, baselines and the
    data are validated, shared by :func:`explain` and the functions built on it.

    Returns
    -------
    request : Request
        Everything :func:`run_method` needs.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    method_class = check_method_parameters(method, params)
    allowed = method_class.parameters()
    estimator = as_network(estimator)
    data = estimator._check_prediction_input(epochs, "epochs")
    target_index, description = _resolve_target(estimator, target, data)
    device = compute_device(device, estimator)
    params = dict(params)
    if "baseline" in allowed:
        params["baseline"] = _resolve_baseline(
            estimator, params.get("baseline", allowed["baseline"]), device, data
        )
    info = (
        map_info(data.given_info)
        if data.info is not None
        else output_info_for_arrays(estimator, data.shape)
    )
    log_unread_channels(epochs, info)
    return Request(
        network=estimator,
        method_class=method_class,
        params=params,
        data=data,
        info=info,
        train_std=estimator.data_std_,
        target_index=target_index,
        description=description,
        device=device,
        batch_size=int(batch_size),
    )


def _not_logits_message(outputs, method):
    """Say what a network returned in place of logits, and how to wrap it."""
    if not isinstance(outputs, torch.Tensor):
        found = f"a {type(outputs).__name__}"
        wrap = "only the logits (e.g. the first element of a tuple)"
    elif outputs.ndim == 3:
        found = (
            f"shape {tuple(outputs.shape)}, logits for each time, as cropped "
            "decoding networks do"
        )
        # braindecode trains such a network on this mean (CroppedLoss) and
        # predicts an epoch by it.
        wrap = (
            "their mean over time, network(x).mean(dim=-1): the logits of the "
            "whole epoch, as braindecode trains and predicts them"
        )
    else:
        found = f"shape {tuple(outputs.shape)}"
        wrap = "only the logits"
    return (
        f"The network returns {found}; {method} explains networks that return "
        "logits of shape (batch, n_classes). Wrap it in a module whose forward "
        f"returns {wrap}."
    )


@full_float32()  # passes of one epoch and of several, compared
def _check_outputs(
    module, inputs, method, *, differentiates=None, n_classes=None, name="epochs"
):
    """Refuse a network whose outputs are not one epoch's logits; warn of probabilities.

    Maps are a function of one epoch through a fixed network. A network that
    stays random in evaluation mode (``torch.nn.functional.dropout`` keeps its
    default ``training=True``) or that mixes the epochs of a batch (batch norm
    without running statistics) gives maps that change from call to call or
    with the batch size, which gradient methods would return without a sign of
    it. Two passes over the first epochs, and the first epoch alone, show both,
    once the outputs are known to be finite: data that overflow the network
    give NaN, which differs from NaN in a second pass too.
    The estimators of mne_xai refuse a final softmax when they build their
    networks; a skorch classifier fitted elsewhere (skorch's default ``NLLLoss``
    wants probabilities) reaches the methods with its softmax or log-softmax.
    For a method that differentiates the network, a pass over the first epoch
    shows whether autograd sees all of the computation from the input (see
    :func:`~mne_xai.attribution._propagation.check_gradient_path`).

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    inputs : torch.Tensor
        The first epochs of the data (two or more show batch dependence).
    method : str
        Name of the method, for messages.
    differentiates : bool | None
        Whether the caller differentiates the network; None reads it from the
        registry for a method's name.
    n_classes : int | None
        The number of the classifier's classes, which the logits must match
        (None: not checked).
    name : str
        What ``inputs`` are the first epochs of, for messages.
    """
    if differentiates is None:
        differentiates = method in list_methods() and method_differentiates(method)
    duplicated = len(inputs) == 1
    if duplicated:
        # Two epochs tell a network that drops the axis of a batch of one
        # (squeeze() without dim) from one that returns no logits.
        inputs = torch.cat([inputs, inputs])
    with torch.no_grad():
        try:
            outputs = call_keeping_input(module, inputs)
        except (IndexError, RuntimeError) as err:
            # A network written for another input shape fails deep in torch.
            n_channels = inputs.shape[1]
            raise ValueError(
                f"The network failed on epochs of shape {tuple(inputs.shape)}, "
                "(batch, n_channels, n_times), the input mne_xai gives every "
                f"network: {err}. Epochs of other channels or another length "
                "than it was trained on fail so (a skorch network fitted "
                "elsewhere records neither). If it was written for "
                "(batch, 1, n_channels, "
                "n_times), as ports of Keras models are, add that axis in its "
                "forward (x.unsqueeze(1)), or give a copy of the classifier whose "
                "module adds it: net = copy.deepcopy(net); net.module_ = "
                f"torch.nn.Sequential(torch.nn.Unflatten(1, (1, {n_channels})), "
                "net.module_)."
            ) from err
        if not isinstance(outputs, torch.Tensor) or outputs.ndim != 2:
            raise ValueError(_not_logits_message(outputs, method))
        if n_classes is not None and outputs.shape[1] != n_classes:
            raise ValueError(
                f"The network returns {outputs.shape[1]} logit(s) per epoch for a "
                f"classifier of {n_classes} classes, so {method} cannot tell which "
                "logit is whose. A network of one score for two classes is "
                "trained by skorch's NeuralNetBinaryClassifier, whose score "
                "mne_xai explains for each class."
            )
        # Two copies of a single epoch are that epoch alone.
        check_outputs_finite(outputs[: len(outputs) - duplicated], name)
        # Logits may all be near zero (an untrained network).
        if not outputs_agree(module(inputs), outputs, atol=1e-6):
            raise ValueError(
                "The network gives other outputs for the same epochs in a second "
                "pass, in evaluation mode: something in it stays random (e.g. "
                "torch.nn.functional.dropout without training=self.training) or "
                "changes at each pass (a weight or buffer its forward updates in "
                f"evaluation mode), so {method} would report one draw or one state "
                "of it. Make its evaluation mode compute one fixed function."
            )
        single = module(inputs[:1])
        if single.shape != (1, *outputs.shape[1:]):
            raise ValueError(
                f"The network returns shape {tuple(single.shape)} for one epoch, "
                f"{tuple(outputs.shape)} for {len(outputs)}: it drops the axis of "
                "a batch of one (e.g. squeeze() without dim), and "
                f"{method} gives it batches of any size. Name the axes it "
                "removes (x.squeeze(-1), x.flatten(1))."
            )
        if not outputs_agree(single, outputs[:1], atol=1e-6):
            raise ValueError(
                "The network's output for an epoch depends on the other epochs in "
                "its batch (e.g. batch norm without running statistics, "
                "track_running_stats=False), so what it gives an epoch would "
                f"change with the batch and mix in the other epochs, and {method} "
                "would report that. Use normalization with running statistics."
            )
    if differentiates:
        check_gradient_path(module, inputs, method)
    kind = None
    if returns_probabilities(outputs):
        kind = "probabilities (every row is non-negative and sums to one: it ends in a softmax)"
    elif returns_probabilities(outputs.double().exp()):
        kind = "log-probabilities (every row's exponentials sum to one: it ends in a log-softmax)"
    if kind is not None:
        warn(
            f"The network returns {kind}, so {method} works on them, not on the "
            "logit of each class as its results say. They saturate near 0 and "
            "1 (or 0 and minus infinity), where maps fade whatever the evidence. "
            "For logits, explain the network without its final softmax or "
            "log-softmax (trained with CrossEntropyLoss)."
        )


def _check_baseline_outputs(module, baseline, method, batch_size):
    """Refuse a baseline at which the network's output is not a number.

    The maps share out ``f(x) - f(baseline)``; a network taking the log of
    each epoch's power is undefined at the zero epoch, and integrated
    gradients and GradientSHAP still returned maps (of no reference).
    """
    with torch.no_grad():
        # In batches: DeepLIFT-SHAP and GradientSHAP may be given many.
        outputs = torch.cat([module(chunk) for chunk in baseline.split(batch_size)])
    if not torch.isfinite(outputs).all():
        raise ValueError(
            f"The network's output at the baseline is not a number "
            f"({outputs[~torch.isfinite(outputs)][0].item()}), so the maps of "
            f"{method}, shares of f(x) - f(baseline), would explain a change from "
            "nothing defined (a network that takes the log of each epoch's power is "
            'undefined at the zero epoch). Choose another baseline: "mean" or '
            "an epoch-shaped array, e.g. epochs.average()."
        )


def run_method(module, batches, request, *, average, random_state, transform=None):
    """Run a method over batches: the one loop every attribution goes through.

    Parameters
    ----------
    module : torch.nn.Module
        The network on ``request.device``, in evaluation mode, for the method
        alone to hook (see :func:`private_module`).
    batches : iterable of ndarray, shape (batch, n_channels, n_times)
        Consecutive batches of the data, as the network takes them.
    request : Request
        From :func:`prepare_request`.
    average : bool
        Return the mean over epochs (streamed) instead of every epoch.
    random_state : int | None
        Seed for stochastic methods, combined with each epoch's data so that
        an epoch's draws do not depend on its batch; None draws a fresh seed.
    transform : callable | None
        Applied to each batch's maps, epoch by epoch, before they are kept or
        averaged (e.g. folding Fourier coefficients into frequencies); it may
        change their last axis.

    Returns
    -------
    attribution : ndarray of float64
        Shape ``(n_epochs, n_channels, n_times)``, or ``(n_channels, n_times)``
        with ``average=True`` (``n_times`` as ``transform`` leaves it).
    """
    n_epochs = request.shape[0]
    name = request.method_class.name
    logger.info(f"Explaining {n_epochs} epochs with {name} ({request.description}).")
    total, per_epoch = 0, None
    start = 0
    stochastic = request.method_class.stochastic
    random_state = check_seed(random_state)
    if stochastic:
        seed = np.random.SeedSequence(random_state).entropy
    explainer = request.method_class(module)
    if transform is not None and explainer.combines_maps:
        # Each noisy copy's map is transformed before they are combined.
        explainer.map_transform, transform = transform, None
    n_batches = -(-n_epochs // request.batch_size)
    # Maps meet invariants (DeepLIFT adds up to the change of the logit) to
    # float32 precision, which TF32 on recent GPUs does not give.
    with full_float32():
        for batch in progress_bar(
            batches, max_value=n_batches, mesg=name, unit="batches"
        ):
            inputs = torch.from_numpy(batch).to(request.device).requires_grad_()
            stop = start + len(inputs)
            if start == 0:
                _check_outputs(
                    explainer.module,
                    inputs[:4],
                    name,
                    n_classes=len(request.network.classes_),
                )
                if request.method_class.from_baseline_of(request.params):
                    _check_baseline_outputs(
                        explainer.module,
                        request.params["baseline"],
                        name,
                        request.batch_size,
                    )
            if stochastic:
                explainer.generators = _epoch_generators(batch, seed)
            if request.target_index is None:
                with torch.no_grad():
                    target = explainer.module(inputs).argmax(dim=1)
            else:
                target = torch.from_numpy(request.target_index[start:stop])
                target = target.to(request.device)
            try:
                attribution = explainer.attribute(inputs, target, **request.params)
            except CheckpointError as error:
                raise ValueError(
                    f"{name} changes what the network's layers compute in the "
                    "backward pass, and the network recomputes part of its forward "
                    "pass there (torch.utils.checkpoint), which then differs from "
                    f"the forward pass ({str(error).splitlines()[0]}). Explain the "
                    f"network without checkpointing, or use another method. "
                    f"{other_methods_note()}"
                ) from error
            if explainer.map_transform is None:  # else checked before transforming
                check_map_shape(attribution, inputs, name)
            attribution = attribution.detach()
            if not bool(torch.isfinite(attribution).all()):
                # Epochs after the first ones checked may overflow the network.
                with torch.no_grad():
                    outputs = explainer.module(inputs)
                check_outputs_finite(outputs, request.data.name, start)
                raise ValueError(
                    f"{name} gave maps holding NaN or infinite values for finite "
                    f"data and finite outputs of the network (epochs {start} to "
                    f"{stop - 1}): check the method's parameters, e.g. a noise "
                    "level or a rule's constant beyond the data's range."
                )
            if isinstance(module, WindowAverage):
                # No window reads these samples: their relevance is zero by
                # definition, whatever the method (occlusion gave them the
                # drop of the patch around them, random maps drew there).
                attribution = module.zero_outside_windows(attribution)
            if transform is not None:
                attribution = transform(attribution)
            if average:
                total = total + attribution.sum(dim=0, dtype=torch.float64)
            else:
                if per_epoch is None:
                    per_epoch = np.empty((n_epochs, *attribution.shape[1:]), np.float64)
                per_epoch[start:stop] = attribution.cpu().numpy()
            start = stop
    return (total / n_epochs).cpu().numpy() if average else per_epoch
