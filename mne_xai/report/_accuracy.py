"""The overview and accuracy sections: network, chance and references in the same folds."""

import html
import time
import warnings
from collections import Counter
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from mne.utils import logger, use_log_level
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, check_cv

from .._data_checks import COPIES, _listed, first_copies
from .._warnings import ignoring, quietly, warn
from ..estimators import UNPREDICTED_CLASSES
from ..evaluate._chance import (
    classes_unequal,
    held_out_chance,
    held_out_verdict,
    tested_once,
)
from ._text import HOW_TO_READ, SECTIONS

#: The references' names, as columns of the scores.
CSP_NAME, SAMPLES_NAME = "CSP+LDA", "LR on samples"
REFERENCES = (CSP_NAME, SAMPLES_NAME)


def csp_lda(n_channels):
    """CSP+LDA as in MNE's motor imagery example, for ``n_channels`` channels."""
    from mne.decoding import CSP
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        CSP(n_components=min(4, n_channels), reg=None, log=True, norm_trace=False),
        LinearDiscriminantAnalysis(),
    )


def logistic_regression_on_samples():
    """Logistic regression on every sample of every channel, standardized.

    The evoked-response reference, as in MNE's decoding tutorial: it reads
    the time courses locked to the event, and misses oscillations not locked
    to it, which CSP+LDA (the power of spatially filtered signals) reads.
    """
    from mne.decoding import Vectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(Vectorizer(), StandardScaler(), LogisticRegression())


def grouped_folds_advice(n_splits, n_groups):
    """Name the splitters by groups that work with ``n_groups`` groups.

    StratifiedGroupKFold refuses more folds than groups: the 5 folds advised
    for 3 subjects failed in scikit-learn. ``mne-xai report`` takes as many
    folds as groups then, each holding out one.
    """
    return (
        f"StratifiedGroupKFold({min(n_splits, n_groups)}, shuffle=True, "
        "random_state=0)"
        + (f" (one fold per group, of {n_groups})" if n_groups < n_splits else "")
        + " or LeaveOneGroupOut()"
    )


def folds_of(splitter, y, groups, cv=None):
    """Return the (train, test) indices of each fold of ``splitter``.

    ``cv`` is the argument ``splitter`` was made from, as the user gave it,
    for messages: an int is not the StratifiedKFold it makes. With
    ``groups``, folds that train on and hold out epochs of the same group are
    refused: scikit-learn's splitters that ignore groups say so, but splits
    given as a list, or a splitter of the user's, say nothing.
    """
    try:
        with warnings.catch_warnings():
            # How scikit-learn's splitters that do not split by groups say so.
            warnings.filterwarnings("error", message="The groups parameter is ignored")
            folds = list(splitter.split(np.zeros((len(y), 1)), y, groups))
    except UserWarning:
        given = (
            f"cv={cv} (an int: stratified folds of epochs)"
            if isinstance(cv, int | np.integer)
            else f"cv={splitter!r}"
        )
        n_groups = len(np.unique(np.asarray(groups)))
        raise ValueError(
            f"{given} ignores groups: a group's epochs would be both trained on "
            "and held out, and the accuracy that of groups the network has seen. "
            "Pass a cv that splits by groups, e.g. "
            f"{grouped_folds_advice(splitter.get_n_splits(), n_groups)}, or "
            "groups=None to mix them."
        ) from None
    except ValueError as err:
        if groups is None and "groups" in str(err):  # scikit-learn's own words
            raise ValueError(
                f"cv={splitter!r} splits by groups: pass groups, one per epoch "
                "(e.g. groups=epochs.metadata['subject'] for leave-one-subject-out)."
            ) from None
        raise
    if groups is not None:
        groups = np.asarray(groups)
        for fold, (train, test) in enumerate(folds, 1):
            shared = np.intersect1d(groups[train], groups[test])
            if len(shared):
                raise ValueError(
                    f"Fold {fold} of {len(folds)} trains on and holds out epochs "
                    f"of {len(shared)} group(s) ({_listed(shared)}): the network "
                    "would be scored on groups it has trained on. Pass folds that "
                    "hold out each group whole, e.g. "
                    f"{grouped_folds_advice(len(folds), len(np.unique(groups)))}, "
                    "or groups=None to mix them."
                )
    return folds


def held_out_unseen(folds, data):
    """Hold out, in each fold, only epochs of which no copy was trained on.

    Epochs given twice (the same run loaded twice) put copies of training
    epochs among the held-out ones: on simulated epochs without any signal,
    the page said the network beat chance (0.64, p = 0.009). Any splitter's
    folds are kept, less those copies; a fold left with nothing to test is
    dropped.

    Parameters
    ----------
    folds : list of (ndarray, ndarray)
        The (train, test) indices of each fold.
    data : ndarray, shape (n_epochs, n_channels, n_times)
        The epochs, the channels the network reads.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        The folds, their held-out epochs unseen in their training.
    """
    first = first_copies(data)
    if np.array_equal(first, np.arange(len(first))):
        return folds
    unseen = [
        (train, test[~np.isin(first[test], first[train])]) for train, test in folds
    ]
    kept = [(train, test) for train, test in unseen if len(test)]
    if not kept:
        raise ValueError(
            "Every held-out epoch has an exact copy among its fold's training "
            "epochs: the epochs hold each trial several times. Keep one of each."
        )
    n_copies = int(np.sum(first != np.arange(len(first))))
    n_dropped = sum(len(test) for _, test in folds) - sum(len(t) for _, t in unseen)
    warn(
        f"{n_copies} of the {len(first)} epochs {COPIES}, the same trials given "
        f"twice? {n_dropped} held-out epoch(s) had a copy among their fold's "
        "training epochs and are not scored"
        + (
            f"; {len(folds) - len(kept)} fold(s) had no other"
            if len(kept) < len(folds)
            else ""
        )
        + ". Keep one of each to score every trial."
    )
    return kept


def splitter_of(cv, random_state):
    if cv is None:
        # scikit-learn's default of 5 folds, as make_report's; check_cv made
        # them unshuffled.
        cv = 5
    if isinstance(cv, bool):
        raise TypeError("cv must be an int or a cross-validation splitter.")
    if isinstance(cv, int | np.integer):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}.")
        return StratifiedKFold(int(cv), shuffle=True, random_state=random_state)
    return check_cv(cv, classifier=True)


def _describe(estimator):
    """Name the estimator and, where it has one, the network or estimator inside."""
    name = type(estimator).__name__
    params = estimator.get_params(deep=False)
    if params.get("module") is not None:  # a network of the user's
        module = params["module"]
        module_name = (
            module.__name__ if isinstance(module, type) else type(module).__name__
        )
        return f"{name} (network {module_name})"
    if "steps" in params:
        return f"{name} ending in {_describe(params['steps'][-1][1])}"
    if "estimator" in params:  # CroppedClassifier, searches
        return f"{name} of {_describe(params['estimator'])}"
    return name


def _class_weights_text(estimator):
    """Say how the classes weigh in the loss, or None where all alike."""
    weights = [
        value
        for key, value in estimator.get_params().items()
        if key.rpartition("__")[2] == "class_weight" and value is not None
    ]
    if not weights:
        return None
    if weights[0] == "balanced":
        return "balanced: n_epochs / (n_classes * count) per class"
    return ", ".join(f"{label}: {weight:g}" for label, weight in weights[0].items())


def _add_overview(context, fitted, n_folds, training_warnings=()):
    epochs, plan = context.epochs, context.plan
    classes, counts = np.unique(context.y, return_counts=True)
    names = context.class_names
    facts = {
        "epochs": ", ".join(
            f"{names.get(label, label)}: {count}"
            for label, count in zip(classes, counts, strict=True)
        ),
        "channels read": ", ".join(
            f"{count} {kind}" for kind, count in plan.ch_types.items()
        ),
        "times": f"{epochs.tmin:g} to {epochs.tmax:g} s at {epochs.info['sfreq']:g} Hz",
        "network": _describe(context.estimator),
        "class weights in training": _class_weights_text(context.estimator),
        "windows read": context.windows_read(),
        "training": (
            "given fitted; cross-validated afresh with its parameters"
            if fitted
            else f"cross-validated ({n_folds} folds), then fitted on all epochs"
        ),
        "methods explained": context.explained()
        + (f" (why, under {SECTIONS['maps']})" if context.refused else ""),
    }
    facts = {name: fact for name, fact in facts.items() if fact is not None}
    context.paragraph("overview", title="What this page shows")
    context.add_table(
        pd.DataFrame({"": list(facts.values())}, index=list(facts)),
        "Data and model",
        "overview",
        header=False,
    )
    context.note_warnings("overview", training_warnings)


def _fold_inputs(context):
    """Return the epochs the folds train on, and a maker of unfitted copies.

    The copies read exactly the channels the report explains
    (``plan.ch_names``): a fitted network reads its training channels, which
    its parameters need not name (``picks=None`` reads every data channel of
    other epochs). Channel picks, nested ones too, name those channels, since
    indices would point elsewhere in the picked epochs.
    """
    ch_names = list(context.plan.ch_names)
    params = context.estimator.get_params()
    picks = {key: ch_names for key in params if key.rpartition("__")[2] == "picks"}
    # The report logs a line per fold, which the copies' per-epoch training
    # tables would bury: a network given fitted with verbose=None follows the
    # report's level and printed one, 1,000 lines in the five folds of
    # ``mne-xai report --model``. A torch module's own ``verbose`` is no log.
    quiet = {
        key: False
        for key in params
        if key.rpartition("__")[2] == "verbose" and "module__" not in key
    }
    # Training reads every epoch: Epochs not in memory are loaded once here
    # (MNE picks channels of loaded data only).
    return (
        context.epochs.copy().load_data().pick(ch_names),
        lambda: clone(context.estimator).set_params(**picks, **quiet),
    )


#: Channel types of brain electrophysiology, whose band power CSP reads.
_CSP_TYPES = ("eeg", "mag", "grad", "csd", "seeg", "ecog", "dbs")


def _csp_channels(epochs, ch_names):
    """Return the channels of the CSP+LDA reference.

    Those of the network's most numerous electrophysiological type: CSP's
    covariances mix no units (magnetometers and EEG), and EOG or EMG are no
    brain sources. On EEG with EOG, the EEG; on MEG, the gradiometers.
    """
    types = dict(zip(ch_names, epochs.get_channel_types(list(ch_names)), strict=True))
    counts = Counter(kind for kind in types.values() if kind in _CSP_TYPES)
    if not counts:
        return []
    kind = counts.most_common(1)[0][0]
    return [name for name, of in types.items() if of == kind]


class CrossValidation(NamedTuple):
    """What :func:`_cross_validate` measured."""

    #: Accuracy per fold (rows) of the network, chance and the references.
    scores: pd.DataFrame
    #: The same for balanced accuracy where the classes are unequal, else None.
    balanced_scores: pd.DataFrame | None
    #: The network's recall of each class, over all held-out predictions.
    recall: dict
    #: Why there is no CSP+LDA reference, or None.
    why_no_reference: str | None
    #: The held-out indices of each fold.
    held_out: list
    #: The network's predictions of them, fold by fold.
    predictions: list


def _cross_validate(context, folds):
    """Score the network, chance and the references in the same folds.

    The references read the whole epochs: CSP+LDA the network's channels of
    its most numerous brain channel type, logistic regression on samples all
    the channels the network reads (one is enough).

    Where the classes are unequal, accuracy rewards answering the frequent
    ones, so the folds are also scored by balanced accuracy (the mean recall
    of the classes), from the same predictions.
    """
    epochs, y, plan = context.epochs, context.y, context.plan
    csp_channels = _csp_channels(epochs, plan.ch_names)
    reference = None
    if len(csp_channels) < 2:
        reference = (
            f"the network reads {len(csp_channels)} channel(s) of one type of "
            f"{', '.join(_CSP_TYPES)}; CSP needs two or more"
        )
    csp_data = epochs.get_data(picks=csp_channels) if reference is None else None
    read, make_network = _fold_inputs(context)
    samples = read.get_data(copy=False)
    # Of the epochs tested, as the verdict on chance takes them.
    held_out = [test for _, test in folds]
    chance = held_out_chance(y, held_out)
    unequal = classes_unequal(y[tested_once(held_out)[0]])
    rows, balanced_rows, held_out_true, held_out_predicted = [], [], [], []
    for fold, (train, test) in enumerate(folds, 1):
        start = time.perf_counter()
        # A fold's network is judged by its held-out score, in the table;
        # the network explained, fitted on all epochs, warns for itself. The
        # folds hold out no copy of a training epoch (held_out_unseen).
        with ignoring(UNPREDICTED_CLASSES, f".*{COPIES}"):
            network = make_network().fit(read[train], y[train])
        predicted = {"network": np.asarray(network.predict(read[test]))}
        if reference is None:
            # CSP logs its covariance estimation at the info level.
            with use_log_level(quietly()):
                predicted[CSP_NAME] = (
                    csp_lda(len(csp_channels))
                    .fit(csp_data[train], y[train])
                    .predict(csp_data[test])
                )
        predicted[SAMPLES_NAME] = (
            logistic_regression_on_samples()
            .fit(samples[train], y[train])
            .predict(samples[test])
        )
        held_out_true.append(y[test])
        held_out_predicted.append(predicted["network"])
        row = _fold_row(fold, accuracy_score, chance, y[test], predicted)
        rows.append(row)
        if unequal:
            balanced_rows.append(
                _fold_row(
                    fold,
                    _balanced_accuracy,
                    # Of the classes the fold tests: folds by group may lack one.
                    1 / len(np.unique(y[test])),
                    y[test],
                    predicted,
                )
            )
        logger.info(
            f"  fold {fold}/{len(folds)}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in row.items() if k != "fold")
            + f" ({time.perf_counter() - start:.1f} s)"
        )
    true, predicted = np.concatenate(held_out_true), np.concatenate(held_out_predicted)
    recall = {
        label: np.mean(predicted[true == label] == label) for label in np.unique(true)
    }
    return CrossValidation(
        pd.DataFrame(rows).set_index("fold"),
        pd.DataFrame(balanced_rows).set_index("fold") if unequal else None,
        recall,
        reference,
        held_out,
        held_out_predicted,
    )


def _balanced_accuracy(y_true, y_pred):
    """Return the mean recall of the classes in ``y_true``.

    Epochs predicted as a class the fold does not test are simply wrong;
    scikit-learn says so in a warning the page already answers.
    """
    with ignoring("y_pred contains classes not in"):
        return balanced_accuracy_score(y_true, y_pred)


def _fold_row(fold, score, chance, y_true, predicted):
    """One fold's row: ``score`` of the network, chance, then the references."""
    return {
        "fold": fold,
        "network": score(y_true, predicted["network"]),
        "chance": chance,
        **{
            name: score(y_true, labels)
            for name, labels in predicted.items()
            if name != "network"
        },
    }


def _plot_accuracy(scores):
    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    columns = [c for c in scores if c != "chance"]
    for position, column in enumerate(columns):
        ax.plot(
            np.full(len(scores), position), scores[column], "o", alpha=0.6, color="C0"
        )
        ax.plot(
            [position - 0.25, position + 0.25],
            [scores[column].mean()] * 2,
            color="k",
            linewidth=2,
        )
    ax.axhline(scores["chance"].mean(), color="0.4", linestyle="--", label="chance")
    ax.set_xticks(range(len(columns)), columns)
    ax.set(
        xlim=(-0.6, len(columns) - 0.4),
        ylim=(0, 1.02),
        ylabel="accuracy per fold",
        title="Accuracy per fold (dots) and mean (bar)",
    )
    ax.legend(loc="lower right")
    return fig


def _add_accuracy(context, cross_validation, fitted):
    """Add the accuracy section from what :func:`_cross_validate` returned."""
    scores, why_no_reference = (
        cross_validation.scores,
        cross_validation.why_no_reference,
    )
    reference = HOW_TO_READ["references"].format(
        csp=HOW_TO_READ["csp_reference"]
        if why_no_reference is None
        else f"There is no CSP+LDA reference: {why_no_reference}."
    )
    explained = (
        "The maps explain the network as given (fitted before this report)."
        if fitted
        else "The maps explain a network trained on all epochs."
    )
    context.paragraph(
        "accuracy",
        n_splits=len(scores),
        measured=_mean_and_spread(scores, "accuracy"),
        reference=reference,
        explained=explained,
    )
    # The network explained, on every epoch: read by both checks below.
    predicted = np.asarray(context.estimator.predict(context.epochs))
    references = [name for name in REFERENCES if name in scores]
    if fitted:
        _add_chance_verdict(
            context,
            references,
            cross_validation.held_out,
            cross_validation.predictions,
            "A copy of the network given, trained with its parameters in each fold,",
            consequence=(
                "If the network given was trained on these epochs, its accuracy "
                "on them below is that of training, and its maps may explain "
                "noise; if it was trained on other data, this does not concern it."
            ),
        )
        copies_beat_chance = context.beats_chance
        _add_given_network_verdict(context, predicted)
        # Its accuracy on epochs it may have trained on is no evidence alone:
        # a network fitted to shuffled labels got 40 of 40 (p = 9e-13).
        context.beats_chance = context.beats_chance and copies_beat_chance
    else:
        _add_chance_verdict(
            context,
            references,
            cross_validation.held_out,
            cross_validation.predictions,
            "The network",
        )
    _add_unpredicted_classes(context, predicted)
    context.add_figures([_plot_accuracy(scores)], "Accuracy per fold", "accuracy")
    _add_scores_table(context, scores, "Scores")
    if cross_validation.balanced_scores is not None:
        _add_balanced_accuracy(context, cross_validation)


def _mean_and_spread(scores, measure, same=""):
    """Say the mean ``measure`` of each column over folds, ± its standard deviation.

    The sample standard deviation (ddof=1, pandas' default), as the table of
    :func:`_add_scores_table` and ``mne-xai demo`` give it. One fold (a single
    train/test split) has no spread: its scores alone, where the standard
    deviation read "± nan".
    """
    if len(scores) == 1:
        return f"{measure.capitalize()} in{same or ' the'} single fold: " + ", ".join(
            f"{column} {scores[column].iloc[0]:.2f}" for column in scores
        )
    return f"Mean {measure} over{same} folds, ± its standard deviation: " + ", ".join(
        f"{column} {scores[column].mean():.2f} ± {scores[column].std():.2f}"
        for column in scores
    )


def _add_scores_table(context, scores, title):
    if len(scores) > 1:  # one fold's mean is its row, and its spread NaN
        summary = scores.agg(["mean", "std"]).rename(
            index={"std": "standard deviation"}
        )
        scores = pd.concat([scores, summary])
    context.add_table(scores, title, "accuracy", float_format="{:.3f}".format)


def _add_balanced_accuracy(context, cross_validation):
    """Score the folds as if the classes were equal (they are not).

    Accuracy is judged against the majority class's share: 0.83 on a 5:1
    oddball design, where the default EEGNet's balanced accuracy was 0.78.
    """
    names = context.class_names
    tested = context.y[tested_once(cross_validation.held_out)[0]]
    labels, counts = np.unique(tested, return_counts=True)
    scores = cross_validation.balanced_scores
    context.paragraph(
        "accuracy",
        title="Balanced accuracy (unequal classes)",
        text="balanced_accuracy",
        counts=", ".join(
            f"{names.get(label, label)} {count}"
            for label, count in zip(labels.tolist(), counts.tolist(), strict=True)
        ),
        chance=held_out_chance(context.y, cross_validation.held_out),
        measured=_mean_and_spread(scores, "balanced accuracy", " the same"),
        recall=", ".join(
            f"{names.get(label, label)} {recall:.2f}"
            for label, recall in cross_validation.recall.items()
        ),
    )
    _add_scores_table(context, scores, "Balanced accuracy per fold")


def _add_unpredicted_classes(context, predicted):
    """Warn loudly of classes the network explained predicts for none of their epochs.

    Accuracy hides them where classes are unequal: on a simulated oddball
    design of four classes (600, 120, 40 and 20 epochs) the page read 0.82
    against a chance of 0.77 for a network that predicted the two rare
    classes for no epoch, and drew their maps, which showed the frequent
    target's evidence (none of their six top channels was the true effect's).
    """
    names = context.class_names
    labels, counts = np.unique(context.y, return_counts=True)
    never = [
        f"{names.get(label, label)} ({count} epochs)"
        for label, count in zip(labels.tolist(), counts.tolist(), strict=True)
        if not np.any(predicted[context.y == label] == label)
    ]
    if not never:
        return
    text = (
        f"The network explained predicts none of the epochs of class(es) "
        f"{', '.join(never)} as theirs: its maps of these classes show what "
        "it takes for other classes, and their trust checks score those; do not "
        "interpret them. "
    )
    if counts.min() < counts.max():
        text += (
            "Accuracy hides this where classes are unequal (score such data with "
            "balanced accuracy); weigh the classes in training "
            '(class_weight="balanced"; --class-weight balanced on the command line).'
        )
    else:  # weighing equal classes changes nothing
        text += (
            "The classes are of equal size: train the network longer (max_epochs; "
            "--max-epochs on the command line) and check that the labels follow "
            "the data."
        )
    warn(text)
    context.add_html(
        f'<div class="alert alert-danger" role="alert"><strong>'
        f"{html.escape(text)}</strong></div>",
        "Classes it never predicts",
        "accuracy",
    )


def _add_given_network_verdict(context, predicted):
    """Say whether the network given, the one explained, beats chance here.

    The folds train copies with its parameters, not the network explained;
    that network is scored on all epochs, which may have been its training
    data (the page cannot know), and is warned about when even then it does
    not beat chance (labels coded otherwise, another subject, another task).
    """
    everything = [np.arange(len(context.y))]
    _add_chance_verdict(
        context,
        [],  # scored alone
        everything,
        [predicted],
        "The network given (the one explained)",
        tested="epochs",
        caveat=(
            " If these epochs were among its training data, this is its training "
            "accuracy; the folds above train copies with its parameters."
        ),
    )


def _add_chance_verdict(
    context,
    references,
    held_out,
    predictions,
    subject,
    tested="held-out epochs",
    caveat="",
    consequence=(
        "Its maps below explain noise, not evidence in the data; do not interpret them."
    ),
):
    """Say whether ``subject`` beats chance; warn loudly when it does not.

    ``references`` names the reference pipelines scored on the same folds,
    which the advice compares it with.

    By accuracy against the most frequent class's share where the classes
    are equal, by balanced accuracy where they are not: a network trained
    with class weights, as the page advises for unequal classes, gives up
    accuracy for the rare class's recall. On 100 and 20 simulated epochs,
    one that recalled 0.85 and 0.90 of them (balanced accuracy 0.88, above
    LR on samples) was said to explain noise: 103 of 120 right against the
    frequent class's 0.83, p = 0.28.
    """
    # Noirhomme et al. 2014: on data without signal, such p-values fell
    # below 0.05 in 5 of 43 cross-validated reports.
    compare = f"with {' and '.join(references)} and " if references else ""
    dependence = (
        "; the test counts the epochs as independent trials, which the "
        "predictions of one fold's network are not, so p is optimistic: compare "
        f"{compare}with more folds"
        if len(held_out) > 1
        else ""
    )
    verdict = held_out_verdict(
        context.y,
        held_out,
        predictions,
        groups=context.groups,
        random_state=context.random_state,
    )
    evidence = verdict.describe(tested, dependence)
    if verdict.balanced:
        evidence += (
            "; the classes are unequal, and always answering the most frequent "
            f"one scores an accuracy of {verdict.majority:.2f} without learning anything"
        )
    context.beats_chance = verdict.beats_chance
    if context.beats_chance:
        context.add_html(
            f"<p>{subject} beats chance: {html.escape(evidence)}.{caveat}</p>",
            "Does the network beat chance?",
            "accuracy",
        )
        return
    text = f"{subject} does not beat chance: {evidence}. {consequence}{caveat}"
    warn(text)
    context.add_html(
        f'<div class="alert alert-danger" role="alert"><strong>'
        f"{html.escape(text)}</strong></div>",
        "Does the network beat chance?",
        "accuracy",
    )
