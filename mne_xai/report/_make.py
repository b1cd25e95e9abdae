"""One HTML page of a model: accuracy, explanations and how far to trust them."""

import re

import mne
import numpy as np
from mne.utils import _validate_type, verbose
from sklearn.model_selection import StratifiedKFold

from .._checks import check_seed
from .._docs import fill_doc
from .._figure_text import plain_text
from .._labels import labels_or_events
from .._warnings import warn, warnings_once
from ..cropping import _final_step
from ..estimators import UNPREDICTED_CLASSES
from ..evaluate.trust._summary import check_method_names
from ._accuracy import (
    _add_accuracy,
    _add_overview,
    _cross_validate,
    folds_of,
    grouped_folds_advice,
    held_out_unseen,
    splitter_of,
)
from ._checks import check_data, check_reportable, check_training_folds, is_fitted
from ._context import _Context, _stage
from ._maps import (
    _add_maps,
    _add_modality,
    _add_patterns,
    _add_spectrum,
    _add_time,
    _explain_all,
)
from ._trust_section import _add_trust

#: The methods a report explains with unless told otherwise.
#: Integrated gradients is left out for time: on networks of ELU or ReLU
#: units its maps follow DeepLIFT's, at fifty times the cost.
DEFAULT_METHODS = ("saliency", "gradient_x_input", "deeplift", "lrp_epsilon")


@plain_text()
@verbose
@fill_doc
def make_report(
    estimator,
    epochs: mne.BaseEpochs,
    y=None,
    *,
    methods: list[str] | tuple[str, ...] = DEFAULT_METHODS,
    cv=5,
    groups=None,
    checks: bool = True,
    title: str | None = None,
    report: mne.Report | None = None,
    random_state: int | None = 0,
    verbose=None,
) -> mne.Report:
    """Make an HTML report of what a network learned and how far to trust it.

    Cross-validates the network (with chance and classical references), explains
    it with each method, and runs the trust checks: one page a colleague can
    read, with a plain-language "how to read this" in every section.

    Parameters
    ----------
    estimator : estimator
        A classifier of mne_xai, a :class:`~mne_xai.CroppedClassifier`, or a
        Pipeline (of ``"passthrough"`` steps before it) or search ending in
        one (a scikit-learn estimator, which
        the report cross-validates; a network wrapped by
        :func:`mne_xai.as_network` is not one). Unfitted, a clone of it is
        cross-validated and the estimator itself is then fitted on all epochs
        (so it can be saved afterwards); fitted, a clone of its parameters,
        reading the channels it was trained on, is cross-validated for the
        accuracy section and the fitted estimator is explained as it is.
    epochs : mne.Epochs
        The data, with channel positions (topomaps need them when the network
        reads three or more channels of one type; without them, the report
        has no topomaps, with a warning).
    y : array-like, shape (n_epochs,) | None
        The labels; None means the epochs' events: their codes
        (``epochs.events[:, 2]``) for an unfitted estimator, and for a fitted
        one the classes they name, matched by event name (a file coding
        ``hands`` as 3 where training coded it 2 is read right, where its codes
        as ``y`` would swap the classes). Maps explain each epoch's label.
    methods : list of str
        The attribution methods (see :func:`mne_xai.list_methods`). A method
        the network refuses is left out, with its reason on the page.
        PatternNet and PatternAttribution get the patterns of the network's
        layers learned from the epochs (:func:`mne_xai.inspect.learn_patterns`).
    cv : int | cross-validation generator | None
        Folds of the accuracy section: an int gives stratified, shuffled
        folds (seeded with ``random_state``); None, as in scikit-learn, the
        default 5.
    groups : array-like, shape (n_epochs,) | None
        The group of each epoch, for a ``cv`` that splits by groups (e.g.
        :class:`~sklearn.model_selection.LeaveOneGroupOut` with
        ``groups=epochs.metadata["subject"]``, leave-one-subject-out). A
        ``cv`` that ignores groups (an int, ``KFold``), or folds that train on
        and hold out epochs of one group, are refused with them.
    checks : bool
        Run the trust checks (:func:`mne_xai.evaluate.trust_summary`), the
        longest stage after training.
    title : str | None
        The report's title; None names the network and the data.
    report : mne.Report | None
        A report to add the sections to; None makes a new one.
    random_state : int | None
        Seed of the folds, the stochastic methods and the checks.
    %(verbose)s

    Returns
    -------
    report : mne.Report
        The report, with the sections Overview, Accuracy, Attribution maps
        per class, Relevance over time, Spectral relevance, Modality
        importance, How far to trust the maps, and Spatial patterns. Save
        it with ``report.save("report.html")``.

    See Also
    --------
    mne_xai.evaluate.trust_summary, mne_xai.viz.plot_method_comparison

    Notes
    -----
    The data are checked before anything is trained: at least two classes,
    every class in every fold, data channels the network can read, finite
    values in them, layers that can have patterns for the methods that need
    them; channels without a position leave the report without topomaps,
    with a warning before the training. The accuracy
    section reports the network, chance (always answering the class most
    frequent among the held-out epochs) and two references in the same folds: CSP+LDA
    (:class:`mne.decoding.CSP` and linear discriminant analysis, as in MNE's
    motor imagery example), for oscillations, on the channels of the
    network's most numerous brain channel type (EEG, MEG magnetometers or
    gradiometers, sEEG, ECoG...) when it reads two or more; and logistic
    regression on every sample of every channel the network reads,
    standardized (as in MNE's decoding tutorial), for evoked responses. Where
    the classes are unequal, it also scores the same predictions by balanced
    accuracy (the mean recall of the classes, whose chance is one over their
    number) and gives the network's recall of each class. It says whether
    the network beats chance, by a one-sided binomial test of the held-out
    predictions pooled over folds (as many trials as distinct held-out
    epochs) against chance's rate (Combrisson & Jerbi 2015), at p < 0.05;
    where the classes are unequal, by a one-sided permutation test of the
    balanced accuracy of each held-out epoch's prediction against one over
    the number of classes (a network weighing the classes trades accuracy
    for the rare ones' recall, and is no less informative for it). A
    network that does not beat chance gets a warning on the page and a
    ``RuntimeWarning``, because its maps explain noise. Modality importance is shown
    when the network reads more than one channel type, and spatial patterns
    when the network has a spatial filter layer
    (:func:`mne_xai.inspect.spatial_patterns`); otherwise the page says why
    they are absent. Progress is logged one line per stage, with its
    duration.
    """
    methods = check_method_names(methods)
    _validate_type(checks, bool, "checks")
    _validate_type(title, (None, str), "title")
    _validate_type(report, (None, mne.Report), "report")
    _validate_type(epochs, mne.BaseEpochs, "epochs", "mne.Epochs")
    # Checked before the folds, whose splitter refused a string without naming it.
    random_state = check_seed(random_state)
    check_reportable(estimator)
    fitted = is_fitted(estimator)
    # A fitted network's classes are the events of its training epochs, which
    # another file may code otherwise: events are matched to them by name.
    network = _final_step(estimator)  # a Pipeline's or search's records them
    trained_event_id = getattr(network, "event_id_", None) if fitted else None
    classes = getattr(network, "classes_", None) if fitted else None
    events_are_labels = not fitted or getattr(network, "events_are_labels_", True)
    labels_from_events = y is None
    y = np.asarray(
        labels_or_events(epochs, y, trained_event_id, classes, events_are_labels)
    )
    if groups is not None and len(groups) != len(epochs):
        raise ValueError(f"groups has {len(groups)} values for {len(epochs)} epochs.")
    if groups is None:
        _warn_if_subjects_are_mixed(epochs, cv)
    splitter = splitter_of(cv, random_state)
    n_splits = (
        splitter.get_n_splits() if isinstance(splitter, StratifiedKFold) else None
    )
    with _stage(f"Checked {len(epochs)} epochs"):
        plan = check_data(estimator, epochs, y, n_splits, fitted, methods)
    if report is None:
        report = mne.Report(
            title=title or f"{type(estimator).__name__} on {len(epochs)} epochs",
            verbose=False,
        )
    folds = held_out_unseen(
        folds_of(splitter, y, groups, cv), epochs.get_data(picks=plan.ch_names)
    )
    check_training_folds(folds, y)
    context = _Context(
        report,
        epochs,
        y,
        plan,
        methods,
        random_state,
        estimator,
        labels_from_events=labels_from_events,
        groups=None if groups is None else np.asarray(groups),
    )
    # What training says of the data (channels in another unit, samples the
    # network never reads) was said in the terminal only, while the page
    # labelled the maps in the unit the warning doubted.
    with _stage(f"Accuracy in {len(folds)} folds"), warnings_once() as in_folds:
        cross_validation = _cross_validate(context, folds)
    fitting = []
    if not fitted:
        with _stage("Fitted the network on all epochs"), warnings_once() as fitting:
            estimator.fit(epochs, y)
    with _stage(lambda: f"Explained with {context.explained()}"):
        _explain_all(context)
    # The overview names the methods explained, known only now.
    _add_overview(context, fitted, len(folds), _training_warnings(fitting, in_folds))
    _add_accuracy(context, cross_validation, fitted)
    with _stage("Attribution maps"):
        _add_maps(context)
        _add_time(context)
    with _stage("Spectral relevance"):
        _add_spectrum(context)
    _add_modality(context)
    with _stage("Trust checks" if checks else "Trust checks skipped"):
        _add_trust(context, checks)
    with _stage("Spatial patterns"):
        _add_patterns(context)
    return report


def _training_warnings(*caught):
    """Return the distinct warnings of training, for the overview.

    Warnings differing in their numbers alone (a standard deviation in each
    fold) are one, said with the numbers of the first block that said it.
    A network predicting none of its training epochs of a class is said by
    the accuracy section, of the network explained.
    """
    distinct = {}
    for warning in (warning for warnings in caught for warning in warnings):
        text = " ".join(str(warning.message).split())
        if not text.startswith(UNPREDICTED_CLASSES):
            key = (warning.category, re.sub(r"\d[\d.e+-]*", "#", text))
            distinct.setdefault(key, warning)
    return list(distinct.values())


def _warn_if_subjects_are_mixed(epochs, cv):
    """Warn when folds without groups mix the epochs of several subjects.

    ``mne-xai report`` keeps each subject in one fold when the metadata name
    several (``--groups auto``); without ``groups``, every subject was in
    every fold, and the accuracy that of subjects the network had seen.
    """
    metadata = epochs.metadata
    if metadata is None or "subject" not in metadata:
        return
    n_subjects = metadata["subject"].nunique()
    if n_subjects > 1:
        # The folds of the cv given (KFold's, ShuffleSplit's), two at least.
        n_splits = max(
            int(cv) if isinstance(cv, int | np.integer) else getattr(cv, "n_splits", 5),
            2,
        )
        warn(
            f"The epochs hold {n_subjects} subjects (metadata['subject']), and "
            "groups=None puts epochs of every subject in every fold: the accuracy "
            "is that of subjects the network was trained on. For subjects it has "
            "not seen, pass groups=epochs.metadata['subject'] with a cv that "
            f"splits by groups, e.g. {grouped_folds_advice(n_splits, n_subjects)}. "
            "(The command line, mne-xai report, splits by subject by default; "
            "make_report splits as its cv says.)"
        )
