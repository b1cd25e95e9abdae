"""Whether predictions beat chance: the tests the report, the demo and the trust summary share."""

from typing import NamedTuple

import numpy as np
from scipy.stats import binomtest

#: The network beats chance when its test's p-value is below this.
CHANCE_ALPHA = 0.05
#: Shuffles of the labels in the test of balanced accuracy against chance.
N_PERMUTATIONS = 10_000


def chance_level(y):
    """Return the accuracy of always answering the most frequent class of ``y``.

    The rate a classifier that learned nothing reaches, and the null rate of
    :func:`chance_test`: for balanced classes, one over their number. Not
    the most frequent class of each training fold: in stratified folds that
    is the held-out fold's least frequent, below chance on small data (0.36
    for 7 epochs of each of two classes in 5 folds).

    Parameters
    ----------
    y : array-like, shape (n_epochs,)
        The labels of the epochs scored, each as often as scored.

    Returns
    -------
    chance : float
        The share of the most frequent class.
    """
    return np.unique(y, return_counts=True)[1].max() / len(y)


def chance_test(accuracy, chance, held_out):
    """Test whether the network's held-out predictions beat chance.

    A one-sided binomial test of the correct predictions pooled over folds
    against the chance rate (Combrisson & Jerbi 2015): with few epochs, an
    accuracy well above the chance rate can still be luck. Folds that test an
    epoch more than once (e.g. :class:`~sklearn.model_selection.ShuffleSplit`)
    count as many trials as there are distinct epochs, since repeated
    predictions of one epoch are not independent evidence.

    Parameters
    ----------
    accuracy : array, shape (n_folds,)
        The network's accuracy in each fold.
    chance : float
        The chance rate (see :func:`chance_level`).
    held_out : list of array of int
        The epochs each fold tested.

    Returns
    -------
    n_correct : int
        The accuracy pooled over folds times ``n_tested``, rounded.
    n_tested : int
        The number of distinct held-out epochs.
    p_value : float
        The probability of at least ``n_correct`` right by chance.
    """
    tested = np.array([len(indices) for indices in held_out])
    accuracy_rate = float(np.dot(accuracy, tested)) / tested.sum()
    n_tested = len(np.unique(np.concatenate(held_out)))
    n_correct = int(round(accuracy_rate * n_tested))
    p_value = binomtest(n_correct, n_tested, chance, alternative="greater").pvalue
    return n_correct, n_tested, float(p_value)


def balanced_chance_test(y_true, y_pred, random_state=None, groups=None):
    """Test whether predictions beat chance in balanced accuracy.

    A one-sided permutation test: the labels are shuffled among the epochs,
    which keeps how often each class occurs and is predicted and breaks any
    link between the two, and the p-value is the share of
    :data:`N_PERMUTATIONS` shuffles that score a balanced accuracy at least
    the one observed. The network is not trained again: this tests the
    predictions' association with the labels (for two classes, as Fisher's
    exact test of their confusion matrix does). Whatever the share of
    each class predicted, predictions unrelated to the labels score one over
    the number of classes: a network that weighs the classes, giving up some
    of the frequent class's epochs for the rare ones', is not taken for one
    that learned nothing, as by :func:`chance_test` against the most
    frequent class's share.

    Parameters
    ----------
    y_true, y_pred : array, shape (n_epochs,)
        The labels and the predictions of the epochs tested, once each.
    random_state : int | None
        Seed of the shuffles.
    groups : array, shape (n_epochs,) | None
        The group (subject) of each epoch; see :func:`permutation_chance_test`.

    Returns
    -------
    balanced_accuracy : float
        The mean recall of the classes of ``y_true``.
    p_value : float
        The probability of at least that balanced accuracy by chance.
    """
    return permutation_chance_test(
        y_true, y_pred, balanced=True, random_state=random_state, groups=groups
    )


def permutation_chance_test(
    y_true, y_pred, *, balanced, random_state=None, groups=None
):
    """Test whether predictions beat chance, by shuffling the labels.

    With ``groups``, the labels are shuffled within each group only, as
    :func:`sklearn.model_selection.permutation_test_score` does: across
    subjects whose classes come in other shares, predictions that follow the
    subject (a network that tells subjects apart) follow the labels without
    any class signal. Shuffled among all epochs, on 10 subjects of 30/70
    percent classes and no signal, 14 percent of tests read "beats chance"
    at the 5 percent level; within subjects, 2 percent.

    Parameters
    ----------
    y_true, y_pred : array, shape (n_epochs,)
        The labels and the predictions of the epochs tested, once each.
    balanced : bool
        Score by balanced accuracy (the mean recall of the classes), else by
        accuracy.
    random_state : int | None
        Seed of the shuffles.
    groups : array, shape (n_epochs,) | None
        The group (subject) of each epoch; None shuffles among all epochs.

    Returns
    -------
    score : float
        The accuracy or balanced accuracy of the predictions.
    p_value : float
        The share of :data:`N_PERMUTATIONS` shuffles (and the observed
        labels) scoring at least as much.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes, counts = np.unique(y_true, return_counts=True)

    def score(labels):  # of each row of labels
        if not balanced:
            return (labels == y_pred).mean(axis=-1)
        return np.mean(
            [
                ((labels == label) & (y_pred == label)).sum(axis=-1) / count
                for label, count in zip(classes, counts, strict=True)
            ],
            axis=0,
        )

    members = [slice(None)] if groups is None else _members(groups)
    observed = score(y_true)
    rng = np.random.default_rng(random_state)
    at_least, batch = 0, 1000  # shuffles at once, for memory
    for start in range(0, N_PERMUTATIONS, batch):
        shuffles = np.tile(y_true, (min(batch, N_PERMUTATIONS - start), 1))
        for indices in members:
            shuffles[:, indices] = rng.permuted(shuffles[:, indices], axis=1)
        # Equal scores may differ in their last bits.
        at_least += int(np.sum(score(shuffles) >= observed - 1e-9))
    return float(observed), (at_least + 1) / (N_PERMUTATIONS + 1)


class HeldOutVerdict(NamedTuple):
    """Whether held-out predictions beat chance, as :func:`held_out_verdict` tests it."""

    #: The test: ``"binomial"`` or ``"permutation"`` (of the labels).
    test: str
    #: Scored by balanced accuracy, since the classes of the epochs tested are unequal.
    balanced: bool
    #: Accuracy, or balanced accuracy, of the predictions.
    score: float
    #: The score of predictions that learned nothing.
    chance: float
    #: The accuracy of always answering the class most frequent among the
    #: epochs tested, each as often as tested.
    majority: float
    #: Right predictions pooled over the folds (binomial test), else None.
    n_correct: int | None
    #: Distinct epochs tested.
    n_tested: int
    p_value: float
    #: Labels shuffled within each group (subject) only.
    within_groups: bool

    @property
    def beats_chance(self):
        """Whether p is below :data:`CHANCE_ALPHA`."""
        return bool(self.p_value < CHANCE_ALPHA)

    def describe(self, tested, caveat=""):
        """Say the evidence: score, chance, test and p, ``caveat`` inside the brackets."""
        if self.test == "binomial":
            score = (
                f"{self.n_correct} of {self.n_tested} {tested} right, against a "
                f"rate of {self.chance:.2f} by chance (one-sided binomial test"
            )
        else:
            among = " within each group (subject)" if self.within_groups else ""
            score = (
                f"{'balanced accuracy' if self.balanced else 'accuracy'} "
                f"{self.score:.2f} over {self.n_tested} {tested}, against "
                f"{self.chance:.2f} by chance (one-sided permutation test of their "
                f"labels{among}"
            )
        return f"{score}, p = {self.p_value:.2g}{caveat})"


def held_out_verdict(y, held_out, predictions, *, groups=None, random_state=None):
    """Test whether cross-validated predictions beat chance.

    Chance is that of the epochs the folds test: splitters that test some
    epochs more often than others (:class:`~sklearn.model_selection.ShuffleSplit`),
    or copies left out of scoring, make their class shares differ from all
    the epochs'. On equal classes, always answering the class most frequent
    among 30 tested epochs (20 of them) beat the 0.5 of all epochs, p = 0.049.
    Where the classes of the tested epochs are equal, :func:`chance_test` of
    the pooled accuracy against the share of the most frequent class; where
    they are not, or with ``groups``, :func:`permutation_chance_test` of each
    epoch once (its first fold's prediction), by balanced accuracy where the
    classes are unequal.

    Parameters
    ----------
    y : array, shape (n_epochs,)
        The labels of all epochs.
    held_out : list of array of int
        The epochs each fold tested.
    predictions : list of array
        Each fold's predictions of its tested epochs.
    groups : array, shape (n_epochs,) | None
        The group (subject) of each epoch; see :func:`permutation_chance_test`.
    random_state : int | None
        Seed of the permutation test's shuffles.

    Returns
    -------
    verdict : HeldOutVerdict
        The test, its figures and p.
    """
    y = np.asarray(y)
    tested, first = tested_once(held_out)
    majority = held_out_chance(y, held_out)
    balanced = classes_unequal(y[tested])
    if balanced or groups is not None:
        score, p_value = permutation_chance_test(
            y[tested],
            np.concatenate(predictions)[first],
            balanced=balanced,
            random_state=random_state,
            groups=None if groups is None else np.asarray(groups)[tested],
        )
        chance = 1 / len(np.unique(y[tested])) if balanced else chance_level(y[tested])
        return HeldOutVerdict(
            "permutation",
            balanced,
            score,
            chance,
            majority,
            None,
            len(tested),
            p_value,
            within_groups=groups is not None,
        )
    accuracy = np.array(
        [
            np.mean(np.asarray(p) == y[t])
            for p, t in zip(predictions, held_out, strict=True)
        ]
    )
    n_correct, n_tested, p_value = chance_test(accuracy, majority, held_out)
    return HeldOutVerdict(
        "binomial",
        False,
        n_correct / n_tested,
        majority,
        majority,
        n_correct,
        n_tested,
        p_value,
        within_groups=False,
    )


def held_out_chance(y, held_out):
    """Return the accuracy of always answering the class most frequent among the held-out epochs.

    Each epoch counts as often as the folds test it, as their accuracies
    weigh it: the chance of the folds' scores, and of :func:`held_out_verdict`.
    """
    return chance_level(np.asarray(y)[np.concatenate(held_out)])


def tested_once(held_out):
    """Return the epochs the folds test, each once, and where each is first tested.

    The positions index the folds' held-out epochs concatenated.
    """
    indices = np.concatenate(held_out)
    _, first = np.unique(indices, return_index=True)
    return indices[first], first


def classes_unequal(labels):
    """Return whether the classes of ``labels`` occur unequally often."""
    return len(set(np.unique(labels, return_counts=True)[1].tolist())) > 1


def _members(groups):
    """Return the indices of the epochs of each group."""
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    return [np.flatnonzero(inverse == group) for group in range(inverse.max() + 1)]
