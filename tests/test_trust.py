"""trust_summary: deletion against random and randomization, read together."""

import copy
import html
import re
import warnings
from contextlib import contextmanager
from functools import partial
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import mne
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.colors import to_rgba
from scipy import stats
from skorch import NeuralNetBinaryClassifier

from mne_xai import EEGNetClassifier, as_network, evaluate
from mne_xai.attribution import register_method
from mne_xai.attribution._registry import _METHODS
from mne_xai.attribution.perturbation import RandomAttribution
from mne_xai.evaluate import (
    TrustSummary,
    deletion_curve,
    map_similarity,
    parameter_randomization_check,
    plot_sanity_check,
    target_randomization_check,
    trust_summary,
)
from mne_xai.evaluate._chance import CHANCE_ALPHA
from mne_xai.evaluate.trust import _summary
from mne_xai.evaluate.trust._input_similarity import _partial_correlation
from mne_xai.evaluate.trust._readings import (
    ABOVE,
    ANCHOR,
    BELOW,
    CHANGES,
    CLASS_SPECIFIC,
    KEEPS_INPUT,
    KEEPS_OTHER,
    MIXED,
    NO_BETTER,
    SAME_FOR_EVERY_CLASS,
    TOO_FEW_EPOCHS,
    UNDEFINED,
    _advice,
    _deletion_reading,
    _gain_reading,
    _leaves_range,
    _mean_interval,
    _randomization_reading,
    _reading,
    _target_reading,
)
from mne_xai.evaluate.trust._summary import (
    _class_gains,
    _method_row,
    _warn_if_at_chance,
)
from mne_xai.report import _trust_section
from mne_xai.report._trust_section import _plot_deletion, _trust_table

matplotlib.use("Agg")

THRESHOLD = 0.4


class _CopyOfRandom(RandomAttribution):
    """The random map under another name: no better than random, by construction."""

    name = "copy_of_random"


@pytest.fixture(scope="module")
def copy_of_random():
    register_method(_CopyOfRandom)
    yield _CopyOfRandom.name
    del _METHODS[_CopyOfRandom.name]


@pytest.fixture(scope="module")
def simulated(spatial_epochs):
    """A network trained briefly on simulated two-class EEG with a spatial feature."""
    network = EEGNetClassifier(max_epochs=10, random_state=0, verbose=False)
    return network.fit(spatial_epochs), spatial_epochs


@pytest.fixture(scope="module")
def summary(simulated, copy_of_random):
    network, epochs = simulated
    return trust_summary(
        network,
        epochs,
        ["saliency", "gradient_x_input", copy_of_random],
        random_state=0,
        verbose=False,
    )


def test_a_network_at_chance_is_said_to_explain_noise(spatial_epochs):
    """On two classes of identical epochs, a network at chance had its maps read
    "above random" and "class-specific", and nothing said it learned nothing."""
    untrained = EEGNetClassifier(max_epochs=0, random_state=0, verbose=False)
    untrained.fit(spatial_epochs)
    with pytest.warns(RuntimeWarning, match="no better than chance.*explain noise"):
        trust_summary(
            untrained, spatial_epochs, ["saliency"], n_steps=4, random_state=0
        )


def _check_chance(true_index, predicted):
    """Run the summary's chance check on predictions (indices in ``classes_``)."""
    network = SimpleNamespace(predicted_index=lambda data: np.asarray(predicted))
    _warn_if_at_chance(network, None, np.asarray(true_index), 8, None, 0)


def _warning_at_chance(true_index, predicted):
    """The warning of the chance check on these predictions, on one line."""
    with pytest.warns(RuntimeWarning, match="no better than chance") as record:
        _check_chance(true_index, predicted)
    (message,) = [str(w.message) for w in record if "chance" in str(w.message)]
    return " ".join(message.split())


def test_the_chance_warning_gives_the_balanced_accuracy_and_chance():
    """A network that predicts the frequent class for every epoch is right on
    3 of 4 epochs, but recalls the classes on average at 0.5, one over the
    number of classes."""
    message = _warning_at_chance([0, 0, 0, 1], [0, 0, 0, 0])
    assert "balanced accuracy 0.50, against 0.50 by chance" in message
    assert "p = 1" in message


def test_a_p_value_at_the_level_is_not_beyond_chance(monkeypatch):
    """Beating chance takes p below CHANCE_ALPHA, as the report's chance tests
    read it (ChanceTest.significant): p at the level is warned of, p just
    below it is not."""

    def p_value_is(p_value):
        monkeypatch.setattr(
            _summary, "balanced_chance_test", lambda *args: (0.8, p_value)
        )

    p_value_is(CHANCE_ALPHA)
    assert f"p = {CHANCE_ALPHA:.2g}" in _warning_at_chance([0, 1], [0, 1])
    p_value_is(0.9 * CHANCE_ALPHA)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_chance([0, 1], [0, 1])


def test_a_network_that_learned_is_not_said_to_be_at_chance(simulated):
    network, epochs = simulated
    assert network.score(epochs) > 0.8
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*no better than chance")
        # In batches of 16: the predictions of all 40 epochs are tested.
        trust_summary(
            network, epochs, ["saliency"], n_steps=4, batch_size=16, random_state=0
        )


def test_random_is_the_anchor(summary):
    table = summary.to_frame()
    # The anchor first, then one row per method in the order they were given.
    methods = ["saliency", "gradient_x_input", _CopyOfRandom.name]
    assert list(table.index) == ["random", *methods]
    anchor = table.loc["random"]
    assert anchor["deletion"] == "anchor"
    assert np.isnan(anchor["similarity"])
    assert "chance anchor" in anchor["reading"]
    assert "random" not in summary.sanity_checks
    np.testing.assert_allclose(
        anchor["aopc"], summary.deletion_curves["random"].aopc.mean()
    )
    assert (table["aopc_random"] == anchor["aopc"]).all()


def test_no_better_than_random_is_read_as_such(summary, copy_of_random):
    """A map that equals the anchor's gains nothing, and depends on no weights."""
    row = summary.table.loc[copy_of_random]
    assert row["gain"] == 0
    # Its AOPC and their spread over epochs are the anchor's.
    anchor = summary.table.loc["random"]
    assert (row["aopc"], row["aopc_std"]) == (anchor["aopc"], anchor["aopc_std"])
    gains = summary.class_gains.query("method == @copy_of_random")
    assert (gains["gain"] == 0).all() and (gains["n_better"] == 0).all()
    assert row["deletion"] == NO_BETTER
    assert summary.class_names == ["left", "right"]
    # The same seeds give the same map whatever the weights: similarity 1,
    # nothing of it from the input.
    np.testing.assert_allclose(row["similarity"], 1)
    assert abs(row["input_similarity"]) < 0.2
    assert row["randomization"] == KEEPS_OTHER
    assert "no better than random" in row["reading"]
    assert "not specific to what this network learned" in row["reading"]


def test_times_input_map_mirrors_input_after_randomization(summary):
    gradient_x_input = summary.table.loc["gradient_x_input"]
    saliency = summary.table.loc["saliency"]
    # The randomized map of gradient x input ranks samples as |x| does, and
    # the trained and randomized maps share little beyond it.
    assert gradient_x_input["input_similarity"] > gradient_x_input["similarity"]
    assert (
        gradient_x_input["beyond_input"] < THRESHOLD <= gradient_x_input["similarity"]
    )
    assert gradient_x_input["randomization"] == KEEPS_INPUT
    assert "keeps the input's structure" in gradient_x_input["reading"]
    assert "compare with saliency" in gradient_x_input["reading"]
    # The gradient alone does not mirror the input, and changes.
    assert saliency["input_similarity"] < gradient_x_input["input_similarity"] / 2
    assert saliency["randomization"] == CHANGES


def test_similarities_are_those_of_the_check(summary):
    """The maps compared with |x| come from the network the check randomized."""
    for method, check in summary.sanity_checks.items():
        np.testing.assert_allclose(
            summary.table.loc[method, "similarity"],
            check.mean["spearman_abs"].iloc[-1],
        )
        assert check.check == "cascading" and check.threshold == THRESHOLD
        # |x| against the fully randomized network's map, and the trained one's.
        randomized, trained = np.nanmean(check.input_similarity[[-1, 0]], axis=1)
        np.testing.assert_allclose(
            summary.table.loc[method, ["input_similarity", "input_similarity_trained"]],
            [randomized, trained],
        )
        # Beyond |x|: the partial correlation of the fully randomized network's
        # maps, averaged over the epochs where it is defined.
        beyond = _partial_correlation(
            check.similarity["spearman_abs"][-1], *check.input_similarity[[0, -1]]
        )
        np.testing.assert_allclose(
            summary.table.loc[method, "beyond_input"], np.nanmean(beyond)
        )


def test_each_reading_gives_its_own_gains(summary):
    """A method's reading gives the gains of its own classes, not those of every
    method (read as its own)."""
    for method, row in summary.table.drop("random").iterrows():
        gains = summary.class_gains[summary.class_gains["method"] == method]
        assert row["reading"].count("better in") == len(gains)
        for _, gain in gains.iterrows():
            assert f"{gain['class']} {gain['gain']:+.2f} [" in row["reading"]


def _method_row_of(
    scores,
    aopc,
    anchor,
    similarity,
    input_similarity,
    target_similarity,
    class_gains=None,
):
    """A method's row of the summary from its checks' numbers, a column per epoch.

    ``similarity`` has a row per randomization step, ``input_similarity`` one
    more, the trained network's, first.
    """
    curve = SimpleNamespace(scores=np.asarray(scores), aopc=np.asarray(aopc))
    check = SimpleNamespace(
        similarity={"spearman_abs": np.asarray(similarity)},
        input_similarity=np.asarray(input_similarity),
    )
    target = SimpleNamespace(
        metric="spearman", similarity={"spearman": np.asarray([target_similarity])}
    )
    classes = _CLASSES if class_gains is None else class_gains
    return _method_row(
        curve, np.asarray(anchor), check, target, classes, threshold=THRESHOLD
    )


def test_the_range_is_that_of_the_intact_and_the_fully_deleted_epochs():
    """The range the curves are said to leave spans both ends of every curve:
    the fully deleted epochs' logits may lie below all intact ones, or above."""
    row = _method_row_of(
        scores=[[1.0, 0.5, -2.0], [0.5, 3.0, 0.1], [0.0, 0.2, 1.5]],  # ..., deleted
        aopc=[1.0, 0.5, 0.2],
        anchor=np.zeros(3),
        similarity=[[0.9, 0.8, 0.7], [0.3, 0.2, 0.1]],
        input_similarity=[[0.5, 0.4, 0.3], [0.6, 0.5, 0.4]],
        target_similarity=[0.1, 0.2, 0.3],
    )
    assert (row["range_low"], row["range_high"]) == (-2.0, 1.5)
    assert row["range_excursion"] == pytest.approx(1.5 / 3.5) and row["peak"] == 3.0


@pytest.mark.parametrize(
    "deleted, expected",
    [
        ([-2.0, 0.1, -0.5], (-2.0, 1.0)),  # below the intact epochs' highest
        ([2.0, -0.5, 0.5], (-1.0, 2.0)),  # above the intact epochs' lowest
    ],
)
def test_the_range_takes_either_end_from_the_intact_epochs(deleted, expected):
    """Where every fully deleted epoch's logit lies below the highest intact one
    (or above the lowest), the range ends at that intact epoch's logit."""
    intact = [1.0, 0.5, -1.0]
    # Along the way, the curves leave the range on both sides.
    row = _method_row_of(
        scores=np.column_stack([intact, [0.5, 3.0, -3.0], deleted]),
        aopc=[1.0, 0.5, 0.2],
        anchor=np.zeros(3),
        similarity=[[0.9, 0.8, 0.7], [0.3, 0.2, 0.1]],
        input_similarity=[[0.5, 0.4, 0.3], [0.6, 0.5, 0.4]],
        target_similarity=[0.1, 0.2, 0.3],
    )
    assert (row["range_low"], row["range_high"]) == expected


def _t_interval(values):
    """The 95 percent t interval of the mean of ``values``, from scipy."""
    values = np.asarray(values)
    return stats.t.interval(
        0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values)
    )


def test_a_methods_row_reads_its_numbers():
    """Each figure of a method's row from its checks' numbers: 95 percent t
    intervals over epochs (the gain's paired with the anchor), the means with
    |x| over the epochs where they are defined (a flat epoch has none), and the
    labels from the means and the classes' readings, not an interval's end."""
    aopc, anchor = np.array([1.0, 0.4, 0.9, 0.7]), np.array([0.2, 0.3, 0.1, 0.5])
    randomized = [0.5, 0.3, 0.6, 0.4]  # mean 0.45, over the cut; its CI spans it
    other_class = [0.2, 0.5, 0.3, 0.4]  # mean 0.35, under the cut; its CI spans it
    row = _method_row_of(
        scores=np.zeros((4, 3)),
        aopc=aopc,
        anchor=anchor,
        similarity=[[0.9] * 4, randomized],
        input_similarity=[[0.5, np.nan, 0.4, 0.3], [0.1] * 4, [0.6, 0.5, np.nan, 0.2]],
        target_similarity=other_class,
        class_gains=_CLASSES.assign(deletion=[ABOVE, BELOW]),
    )
    gain = aopc - anchor
    assert row["gain"] == pytest.approx(gain.mean())
    assert (row["gain_low"], row["gain_high"]) == pytest.approx(_t_interval(gain))
    assert [row["aopc"], row["aopc_std"], row["aopc_random"]] == pytest.approx(
        [aopc.mean(), aopc.std(), anchor.mean()]
    )
    assert row["similarity"] == pytest.approx(0.45)
    assert (row["similarity_low"], row["similarity_high"]) == pytest.approx(
        _t_interval(randomized)
    )
    assert row["target_similarity"] == pytest.approx(0.35)
    assert (row["target_similarity_low"], row["target_similarity_high"]) == (
        pytest.approx(_t_interval(other_class))
    )
    # |x| against the randomized map is defined in epochs 0, 1 and 3, against
    # the trained one in 0, 2 and 3, and beyond |x| in epochs 0 and 3 only:
    # the partial correlation (r - a b) / sqrt((1 - a^2)(1 - b^2)).
    assert row["input_similarity"] == pytest.approx(np.mean([0.6, 0.5, 0.2]))
    assert row["input_similarity_trained"] == pytest.approx(np.mean([0.5, 0.4, 0.3]))
    beyond = [
        (r - a * b) / np.sqrt((1 - a**2) * (1 - b**2))
        for r, a, b in [(0.5, 0.5, 0.6), (0.4, 0.3, 0.2)]
    ]
    assert row["beyond_input"] == pytest.approx(np.mean(beyond))  # 0.33
    assert row["randomization"] == KEEPS_INPUT
    assert row["target_randomization"] == CLASS_SPECIFIC
    assert row["deletion"] == MIXED  # the classes', not the gain over all epochs


def test_one_explained_class_is_read_alone(simulated):
    """Every epoch explained for one class: the gains are that class's, over
    every epoch, with no row for a class that no epoch was explained for."""
    network, epochs = simulated
    summary = trust_summary(
        network,
        epochs[:6],
        ["saliency"],
        target="right",
        n_steps=4,
        random_state=0,
        verbose=False,
    )
    gains = summary.class_gains
    assert gains["class"].tolist() == ["right"] and gains["n_epochs"].tolist() == [6]
    assert summary.table.loc["saliency", "deletion"] == gains["deletion"].item()


def test_class_gains_are_read_from_each_class_epochs():
    """Each class's row: the number of its epochs, how many gain (0 is no gain),
    their mean gain and its t interval at 1 - 0.05 / 2 for two classes, under
    the class's own name."""
    gain = np.array([0.5, -0.2, 0.3, 0.0, 1.0, 0.8, 0.6])
    target = np.array([1, 0, 1, 0, 1, 0, 1])
    gains = _class_gains(gain, target, ["left", "right"]).set_index("class")
    for name, values, n_better in [
        ("left", [-0.2, 0.0, 0.8], 1),
        ("right", [0.5, 0.3, 1.0, 0.6], 4),
    ]:
        row = gains.loc[name]
        assert (row["n_epochs"], row["n_better"]) == (len(values), n_better)
        assert row["gain"] == pytest.approx(np.mean(values))
        expected = stats.t.interval(
            0.975, len(values) - 1, loc=np.mean(values), scale=stats.sem(values)
        )
        assert (row["gain_low"], row["gain_high"]) == pytest.approx(expected)


def test_gain_is_paired_over_epochs(summary):
    anchor = summary.deletion_curves["random"].aopc
    for method in summary.sanity_checks:
        gain = summary.deletion_curves[method].aopc - anchor
        np.testing.assert_allclose(summary.table.loc[method, "gain"], gain.mean())
        low, high = summary.table.loc[method, ["gain_low", "gain_high"]]
        assert low <= gain.mean() <= high


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0.1, 0.5, ABOVE),
        (-0.5, -0.1, BELOW),
        (-0.1, 0.3, NO_BETTER),
        (0, 0, NO_BETTER),
        # One epoch of the class: no interval, which read as "no better".
        (np.nan, np.nan, TOO_FEW_EPOCHS),
    ],
)
def test_gain_reading_follows_the_interval(low, high, expected):
    assert _gain_reading(low, high) == expected


def test_intervals_are_two_sided_and_leave_out_undefined_epochs():
    """Every reading rests on these intervals: a one-sided quantile narrows a 95
    percent interval to 90, and an epoch whose correlation is undefined (NaN)
    would make every mean NaN."""
    values = np.array([0.1, 0.4, np.nan, 0.2, 0.7, 0.3])
    defined = values[~np.isnan(values)]
    mean, low, high = _mean_interval(values)
    assert mean == pytest.approx(defined.mean())
    assert (low, high) == pytest.approx(_t_interval(defined))
    # Two epochs are enough for an interval (on 1 degree of freedom).
    assert _mean_interval([0.1, 0.3])[1:] == pytest.approx(_t_interval([0.1, 0.3]))


def test_an_epoch_alone_has_no_interval_and_no_warning():
    """The mean of one defined value stands; its interval is undefined (the
    reading then says "too few epochs"), without scipy's warning that the
    sample is too small, which told the user of a fault that is not theirs.
    No defined value (constant maps in every epoch) has no mean either, and
    no warning of numpy's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, low, high = _mean_interval([0.5, np.nan])
        undefined = _mean_interval([np.nan, np.nan])
    assert mean == 0.5 and np.isnan(low) and np.isnan(high)
    assert np.isnan(undefined).all()


def test_deletion_reading_of_classes():
    assert _deletion_reading([ABOVE, ABOVE]) == ABOVE
    assert _deletion_reading([NO_BETTER]) == NO_BETTER
    assert _deletion_reading([ABOVE, BELOW]) == MIXED
    assert _deletion_reading([ABOVE, NO_BETTER]) == MIXED
    # No class to read: "mixed" advised reading the classes that beat random.
    assert _deletion_reading([BELOW, NO_BETTER]) == BELOW
    assert _deletion_reading([NO_BETTER, NO_BETTER, BELOW]) == BELOW
    # A class without an interval is not one to read.
    assert _deletion_reading([ABOVE, TOO_FEW_EPOCHS]) == MIXED
    assert _deletion_reading([NO_BETTER, TOO_FEW_EPOCHS]) == NO_BETTER


def test_a_map_no_better_than_random_is_read_as_sensitivity():
    """A map that depends on the weights but does not beat random deletion is
    read as where the network is sensitive, not as what drove the decision."""
    advice = _advice(_row(deletion=NO_BETTER))
    assert advice.startswith("It reflects the network but does not single out")
    assert "not as what drove the decision" in advice


def test_constant_maps_are_read_as_carrying_no_ranking():
    """Maps constant in every epoch leave randomization undefined: the advice
    says there is nothing to read, not what their structure comes from."""
    row = _row(deletion=NO_BETTER, randomization=UNDEFINED)
    assert _advice(row) == "Its maps carry no ranking to read."
    assert "its maps are constant" in _reading(row, _CLASSES, THRESHOLD)


def test_a_ranking_below_random_is_said_whatever_the_randomization():
    """A sign-flipped gradient x input got the input-structure advice."""
    for randomization in (CHANGES, KEEPS_INPUT, KEEPS_OTHER):
        advice = _advice(dict(deletion=BELOW, randomization=randomization))
        assert advice.startswith("Its ranking points away")


@pytest.mark.parametrize(
    "similarity, beyond_input, expected",
    [
        (0.1, 0.05, CHANGES),
        (0.44, 0.1, KEEPS_INPUT),
        (0.9, 0.8, KEEPS_OTHER),
        # On the cut: not below it, so the map does not change.
        (THRESHOLD, 0.1, KEEPS_INPUT),
        # On the cut beyond |x|: not below it, so not the input's structure.
        (0.9, THRESHOLD, KEEPS_OTHER),
        # Maps that share less than nothing beyond |x| share only |x|.
        (0.9, -0.5, KEEPS_INPUT),
        (np.nan, np.nan, UNDEFINED),
        # A flat input leaves beyond |x| undefined: the map still changes.
        (0.1, np.nan, CHANGES),
    ],
)
def test_randomization_reading_follows_the_numbers(similarity, beyond_input, expected):
    assert _randomization_reading(similarity, beyond_input, THRESHOLD) == expected


@pytest.mark.parametrize(
    "similarity, expected",
    [
        (-0.9, CLASS_SPECIFIC),
        (0.1, CLASS_SPECIFIC),
        # On the cut: not below it, so not specific to the class.
        (THRESHOLD, SAME_FOR_EVERY_CLASS),
        (0.9, SAME_FOR_EVERY_CLASS),
        (np.nan, UNDEFINED),
    ],
)
def test_target_reading_follows_the_numbers(similarity, expected):
    """A map is class-specific only below the cut, as the Notes' rule 5 says."""
    assert _target_reading(similarity, THRESHOLD) == expected


def _row(**values):
    row = dict(
        aopc=1.0,
        aopc_std=0.5,
        aopc_random=0.5,
        gain=0.5,
        gain_low=0.3,
        gain_high=0.7,
        range_low=-1.0,
        range_high=2.0,
        range_excursion=0.0,
        peak=2.0,
        similarity=0.2,
        similarity_low=0.1,
        similarity_high=0.3,
        input_similarity=0.1,
        input_similarity_trained=0.1,
        beyond_input=0.15,
        target_similarity=-0.8,
        target_similarity_low=-0.9,
        target_similarity_high=-0.7,
        deletion=ABOVE,
        randomization=CHANGES,
        target_randomization=CLASS_SPECIFIC,
    )
    row.update(values)
    return pd.Series(row)


_CLASSES = pd.DataFrame(
    {
        "class": ["left", "right"],
        "n_epochs": [10, 10],
        "n_better": [9, 8],
        "gain": [0.4, 0.6],
        "gain_low": [0.2, 0.3],
        "gain_high": [0.6, 0.9],
        "deletion": [ABOVE, ABOVE],
    }
)


def test_reading_says_what_to_do_and_why():
    row = _row()
    text = _reading(row, _CLASSES, THRESHOLD)
    assert text.startswith(_advice(row))
    assert _advice(row) == (
        "Deletion and both randomizations support reading it as what drove the "
        "decision."
    )
    # Classes that agree share one label; their gains follow.
    assert "Deletion: above random (AOPC 1.00 vs 0.50 in random order" in text
    assert "left +0.40 [+0.20, +0.60], better in 9 of 10 epochs" in text
    assert "below the cut 0.4" in text
    # No warning about the curve, no grey zone, when the numbers do not ask.
    assert "outside" not in text and "matter of degree" not in text


def test_reading_says_when_the_other_class_has_the_map_sign_flipped():
    """A map whose other-class map is its negative was called specific to the
    explained class, where the report's topomaps of |map| looked the same for
    both classes."""
    flipped = _reading(_row(), _CLASSES, THRESHOLD)
    assert "specific to the explained class" in flipped
    assert "this map with its sign flipped" in flipped
    # At -0.66, the classes' magnitudes differed by 0.6 to 1.8 times: "much like".
    assert "much like this map" in flipped and "the same for both" not in flipped
    # A signed Spearman below -0.4 leaves that of |map| near 0.1: no claim on it.
    assert "magnitudes" not in flipped
    unrelated = _row(
        target_similarity=0.05, target_similarity_low=-0.1, target_similarity_high=0.2
    )
    assert "sign flipped" not in _reading(unrelated, _CLASSES, THRESHOLD)
    # The mean below -0.4 is not enough: the whole CI must be.
    straddling = _row(
        target_similarity=-0.5, target_similarity_low=-0.7, target_similarity_high=-0.3
    )
    assert "sign flipped" not in _reading(straddling, _CLASSES, THRESHOLD)
    # Nor is a CI that ends on -0.4: the whole of it must be below.
    on_the_cut = _row(
        target_similarity=-0.6, target_similarity_low=-0.8, target_similarity_high=-0.4
    )
    assert "sign flipped" not in _reading(on_the_cut, _CLASSES, THRESHOLD)
    # A cut of 0 or below (allowed) is mirrored: with -0.2 a CI of -0.1 to 0.1
    # was read as the sign flipped, "below --0.2".
    assert "sign flipped" not in _reading(unrelated, _CLASSES, -0.2)
    assert "the whole CI below -0.2;" in _reading(on_the_cut, _CLASSES, -0.2)
    assert "the whole CI below 0;" in _reading(on_the_cut, _CLASSES, 0.0)


def test_reading_explains_the_grey_zone_and_the_holes():
    text = _reading(
        _row(
            similarity=0.44,
            similarity_low=0.38,
            similarity_high=0.5,
            beyond_input=0.05,
            randomization=KEEPS_INPUT,
            range_excursion=3.0,
            peak=-10.0,
        ),
        _CLASSES,
        THRESHOLD,
    )
    assert text.startswith("Read it as 'where the signal was large")
    assert "(0.38 to 0.50) spans the cut 0.4: whether the map changes" in text
    assert "reaches -10.0, outside -1.0 to 2.0" in text
    # One width of the range beyond it or less is no hole worth a warning.
    for excursion in (0.9, 1.0):
        reading = _reading(_row(range_excursion=excursion), _CLASSES, THRESHOLD)
        assert "outside" not in reading
    assert "differs between classes" not in text
    # LRP-z+ on EEGNet: 0.38 [0.33, 0.44] was read "class-specific", no more said.
    text = _reading(
        _row(
            target_similarity=0.38,
            target_similarity_low=0.33,
            target_similarity_high=0.44,
        ),
        _CLASSES,
        THRESHOLD,
    )
    assert (
        "(0.33 to 0.44) spans the cut 0.4: whether the map differs between classes"
        in text
    )
    # An interval that ends on the cut reaches it.
    on_the_cut = _row(similarity=0.45, similarity_low=0.4, similarity_high=0.5)
    assert "(0.40 to 0.50) spans the cut 0.4" in _reading(
        on_the_cut, _CLASSES, THRESHOLD
    )
    up_to_the_cut = _row(similarity=0.35, similarity_low=0.3, similarity_high=0.4)
    assert "(0.30 to 0.40) spans the cut 0.4" in _reading(
        up_to_the_cut, _CLASSES, THRESHOLD
    )


def test_reading_puts_each_number_in_its_place():
    """The texts of the randomizations name several numbers: each is the one
    its words say (not the similarity where |x| or beyond |x| is meant, nor an
    interval's ends in reverse)."""

    def reading(**values):
        return " ".join(_reading(_row(**values), _CLASSES, THRESHOLD).split())

    # _row: similarity 0.20, beyond |x| 0.15, other class -0.80 [-0.90, -0.70].
    changes = reading()
    assert "(similarity 0.20, below the cut 0.4)" in changes
    assert "signed Spearman -0.80, 95% CI -0.90 to -0.70," in changes
    same = reading(
        target_similarity=0.6,
        target_similarity_low=0.5,
        target_similarity_high=0.7,
        target_randomization=SAME_FOR_EVERY_CLASS,
    )
    assert "(signed Spearman 0.60, 95% CI 0.50 to 0.70, cut 0.4;" in same
    # The anchor's mean AOPC, not the spread of the method's.
    assert "(AOPC 1.00 vs 0.40 in random order;" in reading(
        aopc_std=0.3, aopc_random=0.4
    )
    numbers = dict(similarity=0.61, input_similarity=0.72, beyond_input=0.05)
    assert (
        "similarity 0.61 after re-initializing every layer, the randomized map "
        "mirrors |x| (0.72), and beyond |x| the maps share 0.05."
    ) in reading(randomization=KEEPS_INPUT, **numbers)
    assert "(similarity 0.61), and not because of the input (beyond |x| 0.05)" in (
        reading(randomization=KEEPS_OTHER, **numbers)
    )


def test_the_anchor_reads_its_spread_over_epochs():
    """The anchor's reading gives its AOPC and, after "±", its spread."""
    row = _row(deletion=ANCHOR, aopc=0.8, aopc_std=0.3)
    reading = _reading(row, _CLASSES, THRESHOLD)
    assert reading.startswith("Compare every method's deletion with this one.")
    assert "(AOPC 0.80 ± 0.30 over epochs)" in reading


def test_mixed_deletion_names_the_classes():
    classes = _CLASSES.assign(deletion=[ABOVE, BELOW], gain_high=[0.6, -0.1])
    text = _reading(_row(deletion=MIXED), classes, THRESHOLD)
    assert "above random for left, below random for right" in text
    assert text.startswith("Read its maps only for the classes where it beats random")


@pytest.mark.parametrize("randomization", [KEEPS_INPUT, KEEPS_OTHER])
def test_mixed_deletion_keeps_its_class_caveat_whatever_the_randomization(
    randomization,
):
    """With the map's structure kept under randomization, the advice for a
    mixed deletion left out that some classes are not to be read at all."""
    advice = _advice(_row(deletion=MIXED, randomization=randomization))
    assert advice.startswith("Read its maps only for the classes where it beats")
    assert advice.endswith(_advice(_row(deletion=ABOVE, randomization=randomization)))


def test_partial_correlation_removes_the_shared_input():
    """Maps that share only |x| correlate, and not once |x| is accounted for."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 8, 200))
    trained = x * rng.uniform(0.5, 1.5, x.shape)
    randomized = x * rng.uniform(0.5, 1.5, x.shape)
    maps = map_similarity(trained, randomized)
    assert (maps > 0.3).all()
    beyond = _partial_correlation(
        maps, map_similarity(trained, x), map_similarity(randomized, x)
    )
    assert np.abs(beyond).max() < 0.1
    # Maps that share more than the input keep what they share.
    shared = x * rng.uniform(0.5, 1.5, x.shape)
    same = _partial_correlation(
        map_similarity(shared, shared * 1.01),
        map_similarity(shared, x),
        map_similarity(shared, x),
    )
    np.testing.assert_allclose(same, 1, atol=1e-6)
    # A map that is the input (a model-independent control) shares nothing
    # beyond it: it read as NaN, which the reading took for other structure.
    # Nor does numpy warn of the 0 / 0 the formula would compute there.
    itself = map_similarity(x, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        beyond_itself = _partial_correlation(itself, itself, itself)
    np.testing.assert_array_equal(beyond_itself, 0)


def test_partial_correlation_is_that_of_the_residuals():
    """The formula from the three correlations equals the correlation of what
    is left of each map once regressed on |x|, with |x| related unequally to
    the trained and the randomized map."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(500)
    trained = 0.8 * x + rng.standard_normal(500)
    randomized = 0.2 * x + 0.5 * trained + rng.standard_normal(500)

    def residual(values):
        return values - np.polyval(np.polyfit(x, values, 1), x)

    expected = np.corrcoef(residual(trained), residual(randomized))[0, 1]
    correlation = np.corrcoef([trained, randomized, x])
    partial = _partial_correlation(
        correlation[[0], 1], correlation[[0], 2], correlation[[1], 2]
    )
    np.testing.assert_allclose(partial, expected)


def test_partial_correlation_leaves_out_what_is_undefined():
    """A flat epoch (or a constant map) has no correlation with |x|: it counted
    as sharing nothing beyond the input, which pulled the mean down until a
    map that keeps other structure read as one that keeps the input's."""
    defined = _partial_correlation(np.array([0.9]), np.array([0.3]), np.array([0.2]))
    beyond = _partial_correlation(
        np.array([0.9, 0.9, 0.9]),
        np.array([0.3, np.nan, 0.3]),
        np.array([0.2, 0.2, np.nan]),
    )
    assert np.isnan(beyond[1:]).all()
    np.testing.assert_allclose(np.nanmean(beyond), defined[0])


def test_leaves_range_measures_the_excursion():
    inside = np.array([[3.0, 2.0, 1.0, 0.0], [2.0, 1.5, 0.5, 0.0]])
    assert _leaves_range(inside) == (0.0, 3.0)
    outside = np.array([[3.0, 10.0, 1.0, 0.0], [2.0, 1.5, -6.0, 0.0]])
    excursion, peak = _leaves_range(outside)
    assert (excursion, peak) == (pytest.approx(7 / 3), 10.0)
    # Below the range as above it, even with larger scores inside it.
    below = np.array([[5.0, 4.0, -4.0, 0.0], [1.0, 2.0, 3.0, 0.0]])
    assert _leaves_range(below) == (pytest.approx(4 / 5), -4.0)
    # Curves that never move have a range of no width, and do not leave it.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _leaves_range(np.ones((2, 4))) == (0.0, 1.0)


def test_report_trust_table_keeps_the_order_of_the_classes(summary):
    """The report sorted the class columns, the figures beside it did not."""
    reversed_classes = copy.copy(summary)
    reversed_classes.class_gains = summary.class_gains.iloc[::-1]
    columns = [name for name in _trust_table(reversed_classes) if "gain" in name]
    assert columns == ["gain, right", "gain, left"]


def test_summary_prints_and_plots(summary):
    text = repr(summary)
    assert text.startswith("<TrustSummary | 3 method(s), 40 epochs")
    # "/" separates the tags of MNE's event names, so classes are not joined by it.
    assert "gain left | right" in text
    for method in ("random", "saliency", "gradient_x_input"):
        assert method in text
    described = summary.describe(width=70)
    assert "Deletion removes the samples" in described
    # The legend, then each method's reading under its name.
    paragraphs = described.split("\n\n")
    assert [p.split(":")[0] for p in paragraphs[1:]] == list(summary.table.index)
    assert max(len(line) for line in described.splitlines()) <= 70
    assert isinstance(summary, TrustSummary)
    fig = summary.deletion_curves["saliency"].plot(label="saliency", show=False)
    ax = fig.axes[0]
    assert ax.get_legend().get_texts()[0].get_text().startswith("saliency (AOPC")
    curve = summary.deletion_curves["saliency"]
    change = curve.scores - curve.scores[:, :1]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), change.mean(axis=0))


def test_summary_prints_the_classes_in_the_order_of_their_gains(summary):
    """The header named the classes sorted, the gains under it came in the
    order of the estimator's classes."""
    reversed_classes = copy.copy(summary)
    reversed_classes.class_gains = summary.class_gains.iloc[::-1]
    assert "gain right | left" in repr(reversed_classes)


def test_the_frame_is_the_users_to_change(summary):
    """to_frame gives a copy: changing it leaves the summary's table as it was."""
    aopc = summary.table["aopc"].copy()
    frame = summary.to_frame()
    frame["aopc"] = np.nan
    pd.testing.assert_series_equal(summary.table["aopc"], aopc)


def test_summary_prints_each_number_under_its_column(summary):
    """The printed table: AOPC, each class's gain, the similarity, that of the
    randomized map with |x|, that beyond |x| and the other class's, in the
    order of its header, for every method."""
    lines = repr(summary).splitlines()
    header = " ".join(lines[1].split())
    assert header.startswith("method AOPC gain left | right similarity |x| beyond")
    for method in ("saliency", "gradient_x_input"):
        (line,) = [line for line in lines if line.startswith(f"{method} ")]
        row = summary.table.loc[method]
        gains = summary.class_gains.query("method == @method")["gain"]
        columns = ["similarity", "input_similarity", "beyond_input"]
        expected = [row["aopc"], *gains, *row[columns], row["target_similarity"]]
        printed = re.findall(r"[-+]?\d+\.\d\d", line.split(";")[0])
        np.testing.assert_allclose(np.array(printed, float), expected, atol=0.005)
        # The labels start under "deletion", as the anchor's does.
        assert line.index(row["deletion"]) == lines[1].index("deletion;")
    (anchor,) = [line for line in lines if line.startswith("random ")]
    assert anchor.index("anchor") == lines[1].index("deletion;")


def test_report_trust_table_puts_each_value_under_its_title(summary):
    """The page's table: each check's value under its own title, and each
    class's gain over random deletion with its sign."""
    table = _trust_table(summary)
    titles = {
        "AOPC": "aopc",
        "similarity after randomization": "similarity",
        "randomized map vs |x|": "input_similarity",
        "similarity beyond |x|": "beyond_input",
        "similarity to another class's map": "target_similarity",
    }
    for title, column in titles.items():
        for method in ("saliency", "gradient_x_input"):
            value = summary.table.loc[method, column]
            assert table.loc[method, title] == f"{value:.2f}", title
    for _, row in summary.class_gains.iterrows():
        cell = table.loc[row["method"], f"gain, {row['class']}"]
        assert cell == f"{row['gain']:+.2f} ({row['deletion']})"
        assert cell.startswith("-" if row["gain"] < 0 else "+")
    # The anchor has no randomization check: blank, not "nan".
    assert table.loc["random", "similarity after randomization"] == ""


class _ReportPage:
    """What the report's trust section writes on: its notes and its elements
    by title, for the methods asked for and the target their maps explain."""

    beats_chance = True
    estimator = epochs = None
    random_state = 0

    def __init__(self, methods, target):
        self.methods, self.target = methods, target
        self.notes, self.elements = [], {}

    def paragraph(self, key):
        pass

    def note(self, key, text):
        self.notes.append(text)

    def comparable_across_channels(self, purpose):
        return list(self.methods), {}

    @contextmanager
    def warnings_noted(self, key):
        yield

    def add_table(self, table, title, key, **to_html):
        self.elements[title] = table

    def add_html(self, content, title, key):
        self.elements[title] = content

    def add_figures(self, figures, title, key, caption=None):
        for figure in figures:
            plt.close(figure)


def test_report_reads_each_method_under_its_name(summary, monkeypatch):
    """Each reading of the page is under its own method's name, its advice in
    bold and said once; the checks score the class the maps explain (the
    labels given to the report, not the events)."""
    asked = {}

    def summarized(estimator, epochs, methods, **params):
        asked.update(params, methods=methods)
        return summary

    monkeypatch.setattr(_trust_section, "trust_summary", summarized)
    target = np.array([2, 1])  # the labels given, which the page explains
    page = _ReportPage(["random", "saliency", "gradient_x_input"], target)
    _trust_section._add_trust(page, checks=True)
    assert asked["methods"] == ["saliency", "gradient_x_input"]
    assert asked["target"] is target
    items = re.findall(r"<li>(.*?)</li>", page.elements["Readings"])
    for item, (method, row) in zip(items, summary.table.iterrows(), strict=True):
        assert item.startswith(f"<strong>{html.escape(method)}: ")
        assert item.count(html.escape(row.advice)) == 1
        assert html.unescape(re.sub("<.*?>", "", item)) == f"{method}: {row.reading}"


def test_report_deletion_curves_show_each_class_its_own_epochs(summary):
    """Each panel of the page's deletion figure follows its class's epochs."""
    figure = _plot_deletion(summary)
    curve = summary.deletion_curves["saliency"]
    change = curve.scores - curve.scores[:, :1]
    for ax, index in zip(figure.axes, np.unique(curve.target), strict=True):
        assert ax.get_title() == f"{summary.class_names[index]} epochs"
        (line,) = [li for li in ax.lines if li.get_label().startswith("saliency")]
        np.testing.assert_allclose(
            line.get_ydata(), change[curve.target == index].mean(axis=0), rtol=1e-6
        )
        # Its legend gives the class's AOPC, not that of every epoch.
        aopc = np.nanmean(curve.aopc[curve.target == index])
        assert f"(AOPC {aopc:.2f})" in " ".join(line.get_label().split())
    plt.close(figure)


def test_report_deletion_curves_of_the_classes_share_one_score_axis(summary):
    """The classes' panels are compared side by side: one score scale for all,
    labelled once, at the left."""
    figure = _plot_deletion(summary)
    first, *others = figure.axes
    assert others and first.get_ylabel()
    for ax in others:
        assert ax.get_shared_y_axes().joined(first, ax)
        assert ax.get_ylim() == first.get_ylim() and ax.get_ylabel() == ""
    plt.close(figure)


def test_report_figures_give_each_method_one_colour(summary):
    """Deletion curves took random deletion as the first colour of the cycle,
    so that saliency was orange beside the randomization curves' blue."""
    deletion = _plot_deletion(summary).axes[0]
    randomization = plot_sanity_check(
        list(summary.sanity_checks.values()), show=False
    ).axes[0]

    def colours(ax):
        return {
            line.get_label().split("(")[0].strip(): to_rgba(line.get_color())
            for line in ax.lines
            if not line.get_label().startswith(("_", "threshold"))
        }

    in_deletion, in_randomization = colours(deletion), colours(randomization)
    assert {"saliency", "gradient_x_input"} <= set(in_randomization)
    for method, colour in in_randomization.items():
        assert in_deletion[method] == colour
    assert in_deletion["random"] not in in_randomization.values()


@pytest.fixture
def no_deletion_curve(monkeypatch):
    """Fail the test if the summary computes a deletion curve: refused before."""

    def no_work(*args, **kwargs):
        raise AssertionError("a deletion curve was computed")

    monkeypatch.setattr("mne_xai.evaluate.trust._summary.deletion_curve", no_work)


@pytest.mark.parametrize(
    "methods, match",
    [
        ([], "methods is empty"),
        (["saliency", "nope"], "Invalid value for the 'methods"),
        (["saliency", "saliency"], "more than once"),
        ("saliency", "methods must be an instance of"),
        (["random"], 'holds only "random", the anchor'),
        # It ran the other methods' checks, then gave advice (patterns=) that
        # trust_summary does not take.
        (["saliency", "pattern_net"], "target_randomization_check"),
    ],
)
def test_bad_methods_are_refused(simulated, no_deletion_curve, methods, match):
    network, epochs = simulated
    with pytest.raises((ValueError, TypeError), match=match):
        trust_summary(network, epochs, methods)


def test_the_deletion_baseline_is_checked_before_any_work(simulated):
    """ "zero", the old spelling deletion accepts, failed with a KeyError after
    all the maps were computed; "interpolate" replaces whole channels only."""
    network, epochs = simulated
    with pytest.raises(ValueError, match="Invalid value for the 'baseline'"):
        trust_summary(network, epochs, ["saliency"], baseline="interpolate")
    with pytest.warns(FutureWarning, match='"zero" is deprecated'):
        summary = trust_summary(
            network,
            epochs[:4],
            ["saliency"],
            baseline="zero",
            n_steps=2,
            random_state=0,
            verbose=False,
        )
    assert summary.baseline == "zeros" and "set to zero" in summary.legend


@pytest.mark.parametrize(
    "threshold, error", [(40, ValueError), ("0.4", TypeError), (-1, ValueError)]
)
def test_the_threshold_is_checked_before_any_work(
    simulated, no_deletion_curve, threshold, error
):
    """A threshold in percent was refused by the randomization check, after the
    deletion curves of the anchor and of the first method."""
    network, epochs = simulated
    with pytest.raises(error, match="threshold"):
        trust_summary(network, epochs, ["saliency"], threshold=threshold)


def test_maps_per_unit_of_input_on_several_types_are_refused_before_any_work(
    spatial_epochs, no_deletion_curve
):
    """Saliency on EEG and EOG was refused by its deletion curve, after the
    anchor's and every method before it had run all their checks."""
    epochs = spatial_epochs.copy()
    epochs.set_channel_types({epochs.ch_names[0]: "eog"}, verbose=False)
    network = EEGNetClassifier(
        picks=["eeg", "eog"], max_epochs=1, random_state=0, verbose=False
    ).fit(epochs)
    with pytest.raises(
        ValueError,
        match=r"^saliency gives maps in logit/V, .*several types \(eog, eeg\).*"
        "trust summary's deletion and randomization checks",
    ):
        trust_summary(network, epochs, ["deeplift", "saliency"])


def test_one_epoch_is_refused(simulated):
    network, epochs = simulated
    with pytest.raises(ValueError, match="at least 2 epochs for its intervals, got 1"):
        trust_summary(network, epochs[:1], ["saliency"], verbose=False)


def test_one_epoch_per_class_is_refused(simulated):
    """Each class had one epoch, no interval, and still a confident label."""
    network, epochs = simulated
    one_each = mne.concatenate_epochs([epochs[name][:1] for name in epochs.event_id])
    with pytest.raises(ValueError, match="2 epochs of one explained class"):
        trust_summary(network, one_each, ["saliency"], n_steps=2, verbose=False)


def test_warnings_given_before_a_refusal_are_passed_on(simulated):
    """Epochs in microvolts, one per class: the warning that their unit was not
    the training data's was lost, and only the refusal was seen."""
    network, epochs = simulated
    one_each = mne.concatenate_epochs([epochs[name][:1] for name in epochs.event_id])
    in_microvolts = mne.EpochsArray(
        one_each.get_data() * 1e6, one_each.info, one_each.events, one_each.tmin
    )
    with (
        pytest.warns(RuntimeWarning, match="times that of the training data"),
        pytest.raises(ValueError, match="2 epochs of one explained class"),
    ):
        trust_summary(network, in_microvolts, ["saliency"], n_steps=2, verbose=False)


def test_a_class_with_one_epoch_has_too_few_epochs(simulated):
    network, epochs = simulated
    names = list(epochs.event_id)
    few = mne.concatenate_epochs([epochs[names[0]][:1], epochs[names[1]][:6]])
    summary = trust_summary(
        network, few, ["saliency"], n_steps=4, random_state=0, verbose=False
    )
    gains = summary.class_gains.set_index("class")["deletion"]
    assert gains[names[0]] == TOO_FEW_EPOCHS and gains[names[1]] != TOO_FEW_EPOCHS
    assert (
        f"{TOO_FEW_EPOCHS} for {names[0]}" in summary.table.loc["saliency", "reading"]
    )


class _OneScore(torch.nn.Module):
    """One score per epoch, as skorch's NeuralNetBinaryClassifier trains them."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(4, 3, 9)
        self.dense = torch.nn.Linear(3, 1)

    def forward(self, x):  # noqa: D102
        return self.dense(self.conv(x * 1e5).square().mean(dim=-1))[:, 0]


@pytest.fixture(scope="module")
def one_score_network():
    """A binary skorch network whose two logits are a score and its negative."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    events = np.c_[np.arange(8), np.zeros(8, int), np.arange(8) % 2]
    epochs = mne.EpochsArray(
        rng.standard_normal((8, 4, 64)) * 1e-5,
        info,
        events=events,
        event_id=dict(left=0, right=1),
        verbose=False,
    )
    torch.manual_seed(0)
    return NeuralNetBinaryClassifier(_OneScore).initialize(), epochs


def test_maps_the_same_for_every_class_are_read_as_such(one_score_network):
    """Saliency of logits s and -s is |grad s| for both classes, which the summary
    did not check: it could advise reading such maps as what drove the decision.
    """
    # Its classes are named, so the events are its classes (target="true").
    summary = _one_score_summary(
        one_score_network, ["saliency", "gradient_x_input"], random_state=0
    )
    saliency = summary.table.loc["saliency"]
    assert summary.class_names == ["left", "right"]
    np.testing.assert_allclose(saliency["target_similarity"], 1)
    assert saliency["target_randomization"] == SAME_FOR_EVERY_CLASS
    assert "same whichever class is explained" in saliency["advice"]
    assert "other class is much the same (signed Spearman 1.00" in saliency["reading"]
    # Gradient x input flips sign with the class: it tells the classes apart.
    signed = summary.table.loc["gradient_x_input"]
    np.testing.assert_allclose(signed["target_similarity"], -1)
    assert signed["target_randomization"] == CLASS_SPECIFIC
    assert "whichever class" not in signed["advice"]
    assert "specific to the explained class" in signed["reading"]
    check = summary.target_checks["saliency"]
    assert check.check == "target" and check.threshold == THRESHOLD
    assert "other class" in repr(summary) and "other class" in summary.legend


def test_a_map_the_same_for_every_class_is_not_read_as_the_decision():
    row = _row(target_similarity=0.95, target_randomization=SAME_FOR_EVERY_CLASS)
    assert _advice(row).startswith("Its maps are the same whichever class")
    assert "drove the decision" not in _advice(row)
    # The other advice stands, and the class caveat follows it, whether or
    # not the map beats random deletion.
    for deletion in (NO_BETTER, ABOVE):
        row = _row(
            deletion=deletion,
            randomization=KEEPS_OTHER,
            target_randomization=SAME_FOR_EVERY_CLASS,
        )
        assert _advice(row).startswith("Its pattern is not specific")
        assert _advice(row).endswith("not why it chose this class over another.")


def test_an_undefined_target_randomization_is_not_read_as_support():
    """With the other class's maps constant, the advice said that both
    randomizations supported the map, and the reading that its maps were
    constant."""
    row = _row(
        target_similarity=np.nan,
        target_similarity_low=np.nan,
        target_similarity_high=np.nan,
        target_randomization=UNDEFINED,
    )
    advice = _advice(row)
    assert "both randomizations" not in advice
    assert advice.startswith("Deletion and parameter randomization support")
    assert advice.endswith("target randomization could not be measured.")
    assert "or of the other class are constant" in _reading(row, _CLASSES, THRESHOLD)
    other = _advice(row.copy().replace({CHANGES: KEEPS_OTHER}))
    assert other.startswith("Its pattern is not specific")
    assert other.endswith("could not be measured.")


def test_a_skorch_network_wrapped_without_info_is_summarized_on_epochs(
    one_score_network,
):
    """A skorch network fitted on arrays, summarized on Epochs, was told to pass info.

    explain reads the Epochs themselves; the summary reads them as explain does.
    """
    net, epochs = one_score_network
    kwargs = dict(
        methods=["gradient_x_input"],
        target=epochs.events[:, 2],  # its classes, which it cannot name
        n_steps=4,
        random_state=0,
        verbose=False,
    )
    expected = trust_summary(as_network(net, info=epochs.info), epochs, **kwargs)
    summary = trust_summary(net, epochs, **kwargs)
    pd.testing.assert_frame_equal(summary.table, expected.table)
    # Classes it cannot name go by their labels, printed as the names are.
    assert summary.class_names == ["0", "1"] and "gain 0 | 1" in repr(summary)


def test_a_network_without_info_reads_the_channel_types_of_the_epochs(
    one_score_network, no_deletion_curve
):
    """Without info of its own, the network reads the Epochs' channels: maps
    per unit of input on several types are refused before any work there too."""
    net, epochs = one_score_network
    epochs = epochs.copy().set_channel_types({"Pz": "eog"}, verbose=False)
    with pytest.raises(ValueError, match=r"^saliency gives maps in logit/V"):
        trust_summary(net, epochs, ["saliency"], target=epochs.events[:, 2])


def test_the_classes_of_a_skorch_network_are_named_or_refused(one_score_network):
    """Fitted elsewhere on labels 0 and 1, it cannot read events as its classes
    unless told their names; names of other classes are refused."""
    net, epochs = one_score_network
    with pytest.raises(ValueError, match="matched to classes by name only"):
        trust_summary(as_network(net, info=epochs.info), epochs, ["saliency"])
    with pytest.raises(ValueError, match=r"maps names to \[2\], which are not"):
        as_network(net, event_id={"left": 1, "right": 2})


def _bare_summary(threshold=THRESHOLD, baseline="zeros", table=None):
    """A TrustSummary of 10 deletion steps and nothing else, for its texts."""
    curves = {"random": SimpleNamespace(fractions=np.linspace(0, 1, 11))}
    return TrustSummary(
        table,
        None,
        None,
        curves,
        None,
        target_checks=None,
        threshold=threshold,
        baseline=baseline,
    )


def test_the_texts_name_what_deletion_puts_in_place():
    """The legend and the range warning said "zeroes" whatever the baseline."""
    for baseline, words in [("zeros", "set to zero"), ("noise", "replaced by noise")]:
        summary = _bare_summary(baseline=baseline)
        assert f"first (10 steps; they\nare {words}" in summary.legend
        reading = _reading(_row(range_excursion=2.0), _CLASSES, THRESHOLD, baseline)
        assert f"samples {words}" in reading and "cut holes" in reading


def test_the_summary_deletes_as_deletion_curve_by_default(simulated, summary):
    """Left at its defaults, the summary's deletion is deletion_curve's (its
    steps and baseline) on the epochs' own classes, and its legend says so."""
    network, epochs = simulated
    for method in ("random", "saliency"):
        expected = deletion_curve(
            network, epochs, method, target="true", random_state=0, verbose=False
        )
        np.testing.assert_allclose(
            summary.deletion_curves[method].scores, expected.scores
        )
    assert "(64 steps; they\nare set to zero)" in summary.legend


@pytest.mark.filterwarnings("ignore:The network tells")  # 4 epochs cannot tell
def test_the_summary_deletes_as_asked(simulated, monkeypatch):
    """The deletion curves are those of the steps and the baseline asked for,
    and the reading says what replaced the samples where the curves cut holes."""
    network, epochs = simulated
    epochs = epochs[:4]
    # Curves far out of their range, so that the reading speaks of the holes.
    monkeypatch.setattr(
        "mne_xai.evaluate.trust._summary._leaves_range", lambda scores: (2.0, 0.0)
    )
    params = dict(
        target="true", n_steps=2, baseline="noise", random_state=0, verbose=False
    )
    summary = trust_summary(network, epochs, ["saliency"], **params)
    for method in ("random", "saliency"):
        expected = deletion_curve(network, epochs, method, **params)
        np.testing.assert_allclose(
            summary.deletion_curves[method].scores, expected.scores
        )
    assert "samples replaced by noise" in summary.table.loc["saliency", "reading"]


def test_the_summarys_checks_are_those_run_alone_with_its_seed(simulated):
    """The randomization checks re-initialize the network and explain the other
    class with the seed given, as run on their own: a summary repeated with
    the same random_state gives the same similarities."""
    network, epochs = simulated
    epochs = epochs[:4]
    params = dict(target="true", random_state=0, verbose=False)
    summary = trust_summary(network, epochs, ["saliency"], n_steps=2, **params)
    for check, kept in [
        (parameter_randomization_check, summary.sanity_checks),
        (target_randomization_check, summary.target_checks),
    ]:
        alone = check(network, epochs, "saliency", threshold=THRESHOLD, **params)
        np.testing.assert_allclose(
            kept["saliency"].similarity[alone.metric], alone.similarity[alone.metric]
        )


def _one_score_summary(one_score_network, methods, **params):
    """trust_summary of the one-score network, its events named as its classes."""
    net, epochs = one_score_network
    network = as_network(net, info=epochs.info, event_id=epochs.event_id)
    return trust_summary(network, epochs, methods, n_steps=4, verbose=False, **params)


def test_the_checks_kept_for_plotting_have_the_summarys_cut(one_score_network):
    """The randomization checks kept in the summary, and drawn from it, cut
    where its readings do."""
    summary = _one_score_summary(
        one_score_network, ["saliency"], threshold=0.25, random_state=0
    )
    assert summary.sanity_checks["saliency"].threshold == 0.25
    assert summary.target_checks["saliency"].threshold == 0.25


def test_unseeded_every_step_takes_the_one_seed_drawn(
    one_score_network, copy_of_random
):
    """random_state=None draws one seed for every step: a copy of the random
    anchor deletes in the anchor's order and gains nothing over it."""
    summary = _one_score_summary(one_score_network, [copy_of_random])
    assert (summary.class_gains["gain"] == 0).all()


def test_each_reading_is_a_paragraph_under_its_methods_name():
    """describe gives the legend, then each method's reading in the table's
    order, its name first and its other lines indented so that the names
    stand out."""
    readings = {"random": "Compare " * 12, "saliency": "Deletion: above " * 8}
    table = pd.DataFrame({"reading": readings.values()}, index=readings.keys())
    paragraphs = _bare_summary(table=table).describe(width=40).split("\n\n")
    assert paragraphs[0].startswith("Deletion removes the samples")
    for paragraph, (method, reading) in zip(
        paragraphs[1:], readings.items(), strict=True
    ):
        first, *others = paragraph.splitlines()
        assert first.startswith(f"{method}: ") and others
        assert all(line.startswith("  ") for line in others)
        assert " ".join(paragraph.split()) == f"{method}: {reading.strip()}"


def test_the_legend_names_the_cut_asked_for():
    """The legend gives the randomization checks' cut: the one passed."""
    assert "unrelated; cut\n0.25)" in _bare_summary(threshold=0.25).legend


@pytest.mark.filterwarnings("ignore:After training")  # the retrained copy, 6 epochs
def test_checks_inside_the_callers_inference_mode_give_the_same_numbers(simulated):
    """They copied the network in the caller's inference mode, and autograd
    then refused its parameters: "Inference tensors cannot be saved for
    backward" (explain itself worked there)."""
    network, epochs = simulated
    epochs = epochs[:6]
    quiet = dict(verbose=False)

    def faithfulness(check):
        return check(network, epochs, "saliency", random_state=0, **quiet).to_frame()

    checks = {
        **{
            name: partial(faithfulness, getattr(evaluate, name))
            for name in (
                "deletion_curve",
                "insertion_curve",
                "perturbation_test",
                "channel_perturbation_test",
                "deletion_test",
            )
        },
        "target_randomization_check": lambda: evaluate.target_randomization_check(
            network, epochs, random_state=0, **quiet
        ).similarity["spearman"],
        "data_randomization_check": lambda: evaluate.data_randomization_check(
            network, epochs, X_train=epochs, random_state=0, **quiet
        ).similarity["spearman_abs"],
        "trust_summary": lambda: trust_summary(
            network, epochs, ["saliency"], n_steps=8, random_state=0, **quiet
        ).to_frame(),
    }
    for name, check in checks.items():
        outside = check()
        with torch.inference_mode():
            inside = check()
        if isinstance(outside, pd.DataFrame):
            pd.testing.assert_frame_equal(inside, outside, obj=name)
        else:
            np.testing.assert_allclose(inside, outside, err_msg=name)


def test_class_intervals_hold_over_all_classes_together():
    """One class above random makes a method "mixed"; with 95 percent intervals
    per class, gains without any effect read above random or mixed in 5, 7, 9
    and 12 percent of tests for 2 to 5 classes."""
    n_epochs, n_classes = 20, 4
    # Class 0's gain sits between the one-class and the four-class cut.
    t_value = np.mean(
        [stats.t.ppf(q, n_epochs - 1) for q in (0.975, 1 - 0.025 / n_classes)]
    )
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((n_classes, n_epochs))
    noise = (noise - noise.mean(1, keepdims=True)) / noise.std(1, ddof=1, keepdims=True)
    noise[0] += t_value / np.sqrt(n_epochs)
    gains = _class_gains(
        noise.ravel(),
        np.repeat(np.arange(n_classes), n_epochs),
        [f"class {index}" for index in range(n_classes)],
    )
    assert (gains["deletion"] == NO_BETTER).all()
    # Alone, the same class is above random.
    alone = _class_gains(noise[0], np.zeros(n_epochs, int), ["class 0"])
    assert alone["deletion"].item() == ABOVE
