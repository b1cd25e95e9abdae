"""make_report and ``mne-xai report``: the page, its refusals, and a real browser."""

import argparse
import contextlib
import copy
import gc
import html
import logging
import os
import pickle
import re
import shutil
import signal
import stat
import tempfile
import warnings
from math import comb
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import mne
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from mne.decoding import CSP, Vectorizer
from mne.time_frequency import EpochsSpectrumArray
from mne.utils import catch_logging
from mne.viz import ui_events
from scipy.stats import fisher_exact
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    LeaveOneGroupOut,
    RepeatedStratifiedKFold,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
    cross_val_score,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch import NeuralNetClassifier
from test_figures import LONG_CLASSES, LongNamedSaliency, assert_readable

import mne_xai
import mne_xai.cli
import mne_xai.datasets
import mne_xai.evaluate
import mne_xai.report._accuracy as accuracy
import mne_xai.report._command
import mne_xai.report._command as command
import mne_xai.report._inputs as inputs
import mne_xai.report._make as make
import mne_xai.report._maps as report_maps
import mne_xai.viz
from mne_xai import EEGNetClassifier, InterpretableCNNClassifier, as_network
from mne_xai import explain as mne_xai_explain
from mne_xai.attribution import explain_spectrum, register_method
from mne_xai.attribution._core import recorded_target
from mne_xai.attribution._registry import _METHODS
from mne_xai.cli import (
    _int_in,
    _print_accuracies,
    _print_trust,
    _save_explanations,
    main,
)
from mne_xai.cropping import CroppedClassifier
from mne_xai.estimators import UNPREDICTED_CLASSES
from mne_xai.evaluate import trust_summary
from mne_xai.evaluate._chance import (
    CHANCE_ALPHA,
    N_PERMUTATIONS,
    HeldOutVerdict,
    balanced_chance_test,
    chance_level,
    chance_test,
    held_out_chance,
    held_out_verdict,
    permutation_chance_test,
)
from mne_xai.inspect import LogPowerSpectrum, SpectralClassifier, learn_patterns
from mne_xai.report import DEFAULT_METHODS, _context, _maps, make_report
from mne_xai.report._accuracy import (
    CrossValidation,
    _add_balanced_accuracy,
    _add_chance_verdict,
    _add_given_network_verdict,
    _add_overview,
    _add_scores_table,
    _add_unpredicted_classes,
    _csp_channels,
    _describe,
    _fold_inputs,
    _mean_and_spread,
    _plot_accuracy,
    csp_lda,
    folds_of,
    grouped_folds_advice,
    held_out_unseen,
    logistic_regression_on_samples,
    splitter_of,
)
from mne_xai.report._checks import check_data, check_training_folds
from mne_xai.report._command import CommandError, _fold_groups
from mne_xai.report._context import _Context
from mne_xai.report._make import _training_warnings
from mne_xai.report._maps import (
    _add_maps,
    _add_modality,
    _add_time,
    _data_or_all,
    _every_channel,
    _explain_all,
    _mean_magnitude,
    _outside_the_bands,
    _plot_frequency_relevance,
    _plot_time_course,
)
from mne_xai.report._text import HOW_TO_READ, SECTIONS
from mne_xai.report._trust_section import _add_trust, _plot_deletion
from mne_xai.simulation import simulate_epochs
from mne_xai.viz import plot_attribution_joint

matplotlib.use("Agg")

CHROMIUM = "/usr/bin/chromium"
METHODS = ["saliency", "gradient_x_input"]
#: How many images each section holds at least, in the report of ``page``.
IMAGES = {
    "overview": 0,
    "accuracy": 1,
    "maps": 1 + len(METHODS),
    "time": len(METHODS),
    "spectrum": 2,
    "modality": 0,
    "trust": 2,
    "patterns": 1,
}


def _network(**params):
    params = dict(max_epochs=3, batch_size=8, random_state=0, verbose=False) | params
    return EEGNetClassifier(**params)


@pytest.fixture(scope="module")
def made(spatial_epochs):
    """A report added to one that holds an element already."""
    report = mne.Report(title="My analysis", verbose=False)
    report.add_html("<p>earlier work</p>", title="Earlier work")
    network = _network(max_epochs=20)  # enough to beat chance on these epochs
    result = make_report(
        network, spatial_epochs, methods=METHODS, cv=2, report=report, verbose=False
    )
    return report, result, network


@pytest.fixture(scope="module")
def trained(spatial_epochs):
    """A network fitted to the spatial epochs, one that beats chance (shared: a
    test changing it changes a deep copy)."""
    return _network(max_epochs=20).fit(spatial_epochs)


@pytest.fixture(scope="module")
def page(made, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    made[1].save(path, open_browser=False, verbose=False)
    return path


def _contents(report):
    titles, _, htmls = report.get_contents()
    return dict(zip(titles, htmls, strict=True))


def test_report_adds_every_section_to_the_given_report(made):
    report, result, network = made
    assert result is report
    titles = list(_contents(report))
    assert titles == ["Earlier work", *SECTIONS.values()]
    # The unfitted estimator was fitted on all epochs, so it can be saved.
    assert network.classes_.tolist() == [1, 2]


def test_report_sections_hold_their_numbers(made):
    contents = _contents(made[0])
    assert "CSP+LDA" in contents["Accuracy"] and "chance" in contents["Accuracy"]
    assert "The network beats chance" in contents["Accuracy"]
    assert "How to read this" in contents["Accuracy"]
    assert "one channel type (eeg)" in contents["Modality importance"]
    trust = contents["How far to trust the maps"]
    assert "chance anchor" in trust
    assert "target randomization" in trust  # a column of the trust table
    # Wide tables scroll inside their card (the trust table ran past it).
    assert '<div class="table-responsive">' in trust
    for method in METHODS:
        assert method in trust
        assert method in contents["Attribution maps per class"]
    assert "Units of layer spatial_conv" in contents["Spatial patterns"]
    # The band topomaps left out, without a word, most of the relevance.
    shares = re.search(
        r"show 4-30 Hz, which holds (\d+)% of the \|relevance\|; (\d+)% lies "
        r"below 4 Hz and (\d+)% above 30 Hz",
        contents["Spectral relevance"],
    )
    assert abs(sum(map(int, shares.groups())) - 100) <= 2


def test_modality_importance_of_eeg_and_eog(spatial_epochs_with_eog):
    epochs = spatial_epochs_with_eog
    network = _network(picks=["eeg", "eog"]).fit(epochs)
    contents = _quick_report(
        network, epochs, methods=["random", "saliency", "gradient_x_input"]
    )
    modality = contents["Modality importance"]
    assert "Share of relevance per channel type" in modality
    # The terminal alone said that the spectrum leaves the EOG out.
    assert "relevance of [&#x27;EOG&#x27;]" in contents["Spectral relevance"]
    # The table's sums over the class's epochs had neither unit nor that said.
    assert "Relevance there is in logit, summed over the class" in modality
    assert "eog" in modality and "eeg" in modality
    # The random anchor, listed first, gave the shares of noise, which follow
    # the channel counts, where gradient x input's were there to show.
    assert "of gradient_x_input relevance" in modality
    # Per volt, but with EOG scaled apart from EEG, saliency's shares would
    # compare the scales; the anchor's follow the channel counts: beside each
    # other, neither is shown, each with its reason.
    neither = _quick_report(network, epochs, methods=["random", "saliency"])
    assert "saliency gives maps in logit/V" in neither["Modality importance"]
    assert "random is not shown: " in neither["Modality importance"]
    assert "Share of relevance" not in neither["Modality importance"]
    maps = contents["Attribution maps per class"]
    assert "logit/V for gradients" in maps and "show the 32 eeg channels only" in maps
    assert "<img" in contents["Spatial patterns"]


def test_modality_shares_are_the_first_comparable_methods_per_channel():
    """The section shows the first method whose maps compare across the types
    (the one its text names), and relevance per channel divides each type's
    sum by its number of channels."""
    info = mne.create_info(["C3", "C4", "EOG"], 64.0, ["eeg", "eeg", "eog"])
    events = np.c_[np.arange(2), np.zeros(2, int), np.ones(2, int)]
    maps = {
        method: mne.EpochsArray(
            np.full((2, 3, 4), value), info, events, event_id={"left": 1}, verbose=False
        )
        for method, value in [("gradient_x_input", 1.0), ("integrated_gradients", 2.0)]
    }

    class Page:
        plan = SimpleNamespace(ch_types={"eeg": 2, "eog": 1})
        attributions = maps

        def comparable_across_channels(self, purpose):
            return list(maps), {}

        def paragraph(self, key, **values):
            self.method = values["method"]

        def add_table(self, table, title, key, **to_html):
            self.table = table

    page = Page()
    _add_modality(page)
    assert page.method == "gradient_x_input"
    # 2 epochs of 4 samples of 1: 16 on the two EEG channels, 8 on the EOG.
    np.testing.assert_allclose(page.table["relevance"], [16.0, 8.0])
    np.testing.assert_allclose(page.table["relevance per channel"], [8.0, 8.0])


def test_csp_reference_reads_the_networks_brain_channels_of_any_type(spatial_epochs):
    """Only EEG channels were read: on sEEG (or MEG) there was no reference,
    and on EEG with MEG it was trained on the few EEG channels alone."""
    seeg = spatial_epochs.copy()
    seeg.set_channel_types(dict.fromkeys(seeg.ch_names, "seeg"), verbose=False)
    accuracy = _quick_report(_network(max_epochs=2), seeg)["Accuracy"]
    assert "CSP+LDA" in accuracy and "There is no CSP+LDA reference" not in accuracy
    # ECoG too, whose maps MNE's joint plot cannot draw (it failed after the
    # training): the mean over the channels stands in.
    ecog = spatial_epochs.copy()
    ecog.set_channel_types(dict.fromkeys(ecog.ch_names, "ecog"), verbose=False)
    contents = _quick_report(_network(max_epochs=2), ecog)
    assert "There is no CSP+LDA reference" not in contents["Accuracy"]
    assert "<img" in contents["Relevance over time"]
    # Contacts inside the head were interpolated across a scalp disc.
    maps = contents["Attribution maps per class"]
    assert "No topomaps: the network reads ecog contacts, inside the head" in maps


def test_csp_reference_reads_the_most_numerous_brain_channel_type(spatial_epochs):
    """CSP's covariances mix no units, and EOG or EMG are no brain sources."""
    mixed = spatial_epochs.copy()
    names = mixed.ch_names
    mixed.set_channel_types(
        {**dict.fromkeys(names[:3], "eog"), **dict.fromkeys(names[3:6], "emg")},
        verbose=False,
    )
    assert _csp_channels(mixed, names) == names[6:]  # EEG, not EOG or EMG
    # However many EMG channels there are.
    mixed.set_channel_types(dict.fromkeys(names[:20], "emg"), verbose=False)
    assert _csp_channels(mixed, names) == names[20:]
    # On MEG, the gradiometers (two per position), not the magnetometers.
    meg = _meg_epochs(n_epochs=2)
    grads = [
        name
        for name, kind in zip(meg.ch_names, meg.get_channel_types(), strict=True)
        if kind == "grad"
    ]
    assert _csp_channels(meg, meg.ch_names) == grads


def test_fitted_single_channel_network_is_explained_as_given(spatial_epochs):
    """One channel: no topomaps, no CSP, no modality split, each said why."""
    oz = spatial_epochs.copy().pick(["Oz"])
    network = _network().fit(oz)
    weights = {k: v.clone() for k, v in network.module_.state_dict().items()}
    report = make_report(
        network, oz, methods=["saliency"], cv=2, checks=False, verbose=False
    )
    contents = _contents(report)
    assert "given fitted" in contents["Overview"]
    assert "CSP needs two or more" in contents["Accuracy"]
    assert "a topomap needs at least 3" in contents["Attribution maps per class"]
    assert "one channel type (eeg)" in contents["Modality importance"]
    # Its reading guide does not describe topomaps it does not show.
    maps = contents["Attribution maps per class"]
    assert "three or more sensor positions" in maps and "first figure" not in maps
    assert "checks=False" in contents["How far to trust the maps"]
    assert "<img" in contents["Relevance over time"]
    for name, values in network.module_.state_dict().items():
        torch.testing.assert_close(values, weights[name])


def test_fitted_pipeline_reads_events_as_its_network_was_trained(spatial_epochs):
    """A fitted Pipeline's events were refused as "not fitted on Epochs": its
    network, not the Pipeline, records how it read them (and names the classes
    in the figures)."""
    network = _network().fit(spatial_epochs)
    pipeline = make_pipeline("passthrough", _network()).fit(spatial_epochs)
    maps = [
        _contents(
            make_report(
                estimator, spatial_epochs, methods=["saliency"], cv=2, checks=False
            )
        )["Attribution maps per class"]
        for estimator in (network, pipeline)
    ]
    assert maps[0] == maps[1]


def _record_cross_validation(monkeypatch):
    """Return a dict that gets the report's cross-validation under "cv"."""
    measured = {}
    cross_validate = make._cross_validate
    monkeypatch.setattr(
        make,
        "_cross_validate",
        lambda context, folds: measured.setdefault(
            "cv", cross_validate(context, folds)
        ),
    )
    return measured


@pytest.mark.filterwarnings("ignore:The network")
def test_balanced_chance_counts_the_classes_each_fold_tests(monkeypatch):
    """Folds by group may test fewer classes: the page put chance at 1/3 for a
    fold of two, where always answering one class scores 0.5 (the network's
    0.49 read as above chance). The folds' scores, the recall of each class and
    the chance verdict read the network's own held-out predictions."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=60, n_classes=3, sfreq=64.0, snr=2.0, random_state=0
    )
    codes = epochs.events[:, 2]
    epochs = epochs[
        np.sort(np.r_[np.flatnonzero(codes < 3), np.flatnonzero(codes == 3)[:6]])
    ]
    codes = epochs.events[:, 2]
    # Every epoch of class 3 in group A.
    groups = np.where((codes == 3) | (np.arange(len(codes)) % 2 == 0), "A", "B")
    measured = _record_cross_validation(monkeypatch)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="y_pred contains classes")
        _quick_report(
            _network(), _two_channels(epochs), cv=GroupKFold(2), groups=groups
        )
    chance = measured["cv"].balanced_scores["chance"].tolist()
    assert sorted(chance) == pytest.approx([1 / 3, 1 / 2])
    # The network's own held-out predictions, which its scores per fold are;
    # balanced accuracy is the mean recall of the classes a fold tests.
    cv = measured["cv"]
    for fold, test, predicted in zip(
        cv.scores.index, cv.held_out, cv.predictions, strict=True
    ):
        recalls = [np.mean(predicted[codes[test] == c] == c) for c in set(codes[test])]
        assert cv.balanced_scores.loc[fold, "network"] == pytest.approx(
            np.mean(recalls)
        )
        assert cv.scores.loc[fold, "network"] == pytest.approx(
            np.mean(predicted == codes[test])
        )
    # The recall the page gives of each class: the share of its held-out epochs
    # predicted as it (not of the epochs predicted as it that are).
    true, predicted = codes[np.concatenate(cv.held_out)], np.concatenate(cv.predictions)
    assert cv.recall == pytest.approx(
        {label: np.mean(predicted[true == label] == label) for label in (1, 2, 3)}
    )


class _AlwaysFirstClass(ClassifierMixin, BaseEstimator):
    """A network stand-in that answers the first class it was trained on."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def _stub_cross_validation(epochs, folds):
    """:func:`_cross_validate` of a network answering the first class, on all
    the channels of ``epochs``."""
    from mne_xai.report._accuracy import _cross_validate

    context = SimpleNamespace(
        epochs=epochs,
        y=epochs.events[:, 2],
        plan=SimpleNamespace(ch_names=epochs.ch_names),
        estimator=_AlwaysFirstClass(),
    )
    return _cross_validate(context, folds)


def test_folds_score_the_network_and_references_as_scikit_learn_does(
    spatial_epochs_with_eog, monkeypatch
):
    """Without training a network: each fold's accuracy and balanced accuracy
    are scikit-learn's of the same predictions, CSP+LDA (on the EEG, not the
    EOG) and LR on samples (on all the channels) are trained on the fold's
    training epochs alone, and a class never predicted is given a recall of 0
    (not left out). Equal classes get no balanced accuracy."""
    trained_on = []

    def recording_csp_lda(n_channels):
        """CSP+LDA recording the data each fold trains it on."""
        pipeline = csp_lda(n_channels)
        fit = pipeline.fit

        def recording_fit(X, y):
            trained_on.append(X)
            return fit(X, y)

        pipeline.fit = recording_fit
        return pipeline

    monkeypatch.setattr(accuracy, "csp_lda", recording_csp_lda)
    epochs = _balanced(spatial_epochs_with_eog, 20, 8).pick(["C3", "C4", "EOG"])
    y = epochs.events[:, 2]
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(y, y))
    cv = _stub_cross_validation(epochs, folds)
    data = epochs.get_data()
    for fold, (train, test) in enumerate(folds, 1):
        np.testing.assert_array_equal(cv.held_out[fold - 1], test)
        np.testing.assert_array_equal(trained_on[fold - 1], data[train, :2])
        expected = {
            "network": np.ones(len(test)),
            "CSP+LDA": csp_lda(2)
            .fit(data[train, :2], y[train])
            .predict(data[test, :2]),
            "LR on samples": logistic_regression_on_samples()
            .fit(data[train], y[train])
            .predict(data[test]),
        }
        for name, predicted in expected.items():
            assert cv.scores.loc[fold, name] == pytest.approx(
                accuracy_score(y[test], predicted)
            )
            assert cv.balanced_scores.loc[fold, name] == pytest.approx(
                balanced_accuracy_score(y[test], predicted)
            )
        # Chance: the majority's share of the epochs tested; balanced, 1 / 2.
        assert cv.scores.loc[fold, "chance"] == pytest.approx(20 / 28)
        assert cv.balanced_scores.loc[fold, "chance"] == 0.5
    assert cv.recall == {1: 1.0, 2: 0.0}
    equal = _balanced(spatial_epochs_with_eog, 10).pick(["C3", "C4"])
    y = equal.events[:, 2]
    folds = list(StratifiedKFold(2, shuffle=True, random_state=0).split(y, y))
    assert _stub_cross_validation(equal, folds).balanced_scores is None


def test_fold_copies_read_the_channels_explained_and_log_nothing(spatial_epochs):
    """The folds' epochs are the channels the report explains; the copies'
    picks, nested in a pipeline too, name them, their own verbose is off, and a
    torch module's ``verbose`` argument, no log, is left as given."""
    explained = spatial_epochs.ch_names[:3]
    given = make_pipeline(_network(picks=[0, 2, 5], verbose=None, module__verbose=True))
    context = SimpleNamespace(
        epochs=spatial_epochs,
        plan=SimpleNamespace(ch_names=explained),
        estimator=given,
    )
    read, make_network = _fold_inputs(context)
    assert read.ch_names == explained
    params = make_network().get_params()
    assert params["eegnetclassifier__picks"] == explained
    assert params["eegnetclassifier__verbose"] is False
    assert params["eegnetclassifier__module__verbose"] is True
    assert given.get_params()["eegnetclassifier__picks"] == [0, 2, 5]


def test_balanced_accuracy_text_counts_the_epochs_tested():
    """Of 6 and 4 epochs, folds testing 5 and 1 (copies not scored, or a
    splitter testing some epochs only): the text gives those counts, the
    accuracy of always answering the frequent class among them (5 / 6, not
    the 0.6 of all epochs) and each class's recall as measured."""

    class Page:
        y = np.repeat([1, 2], [6, 4])
        class_names = {1: "left", 2: "right"}

        def paragraph(self, key, **values):
            self.values = values

        def add_table(self, table, title, key, **to_html):
            self.table = table

    balanced = pd.DataFrame(
        {"network": [0.5, 1.0], "chance": [0.5, 0.5]},
        index=pd.Index([1, 2], name="fold"),
    )
    held_out = [np.arange(5), np.array([6])]
    cross_validation = CrossValidation(
        balanced, balanced, {1: 0.8, 2: 1.0}, None, held_out, []
    )
    page = Page()
    _add_balanced_accuracy(page, cross_validation)
    assert page.values["counts"] == "left 5, right 1"
    assert page.values["chance"] == pytest.approx(5 / 6)
    assert page.values["recall"] == "left 0.80, right 1.00"
    assert page.table.loc["mean", "network"] == pytest.approx(0.75)


def test_evoked_reference_reads_the_networks_channels_even_one(spatial_epochs):
    """CSP+LDA was the only reference: it reads band power and needs two
    channels, so a network of one channel, or of an evoked response, had
    nothing classical to be compared with."""
    oz = spatial_epochs.copy().pick(["Oz"])
    folds = StratifiedKFold(2, shuffle=True, random_state=0)
    accuracy = _quick_report(_network(), oz, cv=folds)["Accuracy"]
    expected = cross_val_score(
        logistic_regression_on_samples(), oz.get_data(), oz.events[:, 2], cv=folds
    )
    assert f"LR on samples {expected.mean():.2f} ± {expected.std(ddof=1):.2f}" in (
        accuracy
    )
    assert "CSP needs two or more" in accuracy


@pytest.mark.filterwarnings("ignore:The network")
def test_csp_reference_is_scored_in_the_networks_folds(spatial_epochs):
    """CSP+LDA trained on held-out epochs too, or scored on its training ones,
    would read as a reference the network cannot reach. The table gives each
    fold's scores to three decimals, then their mean and standard deviation."""
    # Far from the simulated effect, CSP+LDA scores 0.55 and 0.60 on held-out
    # epochs, and 0.90 and 0.80 on the same ones trained on all epochs.
    epochs = spatial_epochs.copy().pick(["F7", "F8"])
    folds = StratifiedKFold(2, shuffle=True, random_state=0)
    accuracy = _quick_report(_network(max_epochs=1), epochs, cv=folds)["Accuracy"]
    expected = cross_val_score(
        csp_lda(2), epochs.get_data(), epochs.events[:, 2], cv=folds
    )
    spread = f"{expected.mean():.2f} ± {expected.std(ddof=1):.2f}"
    assert f"CSP+LDA {spread}" in html.unescape(accuracy)
    rows = re.findall(r"<tr>\s*<th>([^<]+)</th>((?:\s*<td>[^<]*</td>)+)", accuracy)
    csp = {name: re.findall(r"<td>([^<]*)</td>", cells)[2] for name, cells in rows}
    assert list(csp) == ["1", "2", "mean", "standard deviation"]
    assert list(csp.values()) == [
        f"{value:.3f}" for value in (*expected, expected.mean(), expected.std(ddof=1))
    ]


def test_references_are_the_pipelines_of_mnes_decoding_examples(spatial_epochs):
    """CSP+LDA is MNE's motor imagery example's (four log-variance components,
    fewer for fewer channels, no regularization nor trace normalization), and
    LR on samples standardizes every sample of every channel: its predictions
    are the same in volts and in microvolts, where a penalty on raw volts
    would leave the weights near zero."""
    X, y = spatial_epochs.get_data(), spatial_epochs.events[:, 2]
    # Three classes too: of two, scaling each class's covariance (its trace
    # normalized) leaves CSP's filters as they are.
    three = np.random.default_rng(0).standard_normal((30, 6, 64))
    in_three = np.repeat([1, 2, 3], 10)
    three[in_three == 2, 0] *= 3
    three[in_three == 3, 1] *= 2
    for data, labels, n_components in [
        (X, y, 4),
        (X[:, :3], y, 3),
        (three, in_three, 4),
    ]:
        example = make_pipeline(
            CSP(n_components=n_components, reg=None, log=True, norm_trace=False),
            LinearDiscriminantAnalysis(),
        ).fit(data[::2], labels[::2])
        reference = csp_lda(data.shape[1]).fit(data[::2], labels[::2])
        np.testing.assert_allclose(
            reference.decision_function(data[1::2]),
            example.decision_function(data[1::2]),
        )
    train, test = np.arange(0, len(y), 2), np.arange(1, len(y), 2)
    tutorial = make_pipeline(Vectorizer(), StandardScaler(), LogisticRegression())
    expected = tutorial.fit(X[train], y[train]).predict(X[test])
    assert np.mean(expected == y[test]) > 0.75  # it reads the simulated effect
    for scale in (1.0, 1e6):
        samples = logistic_regression_on_samples().fit(scale * X[train], y[train])
        np.testing.assert_array_equal(samples.predict(scale * X[test]), expected)


@pytest.mark.filterwarnings("ignore:The network")
def test_the_page_takes_chance_from_the_epochs_tested(monkeypatch, spatial_epochs):
    """Classes equal over all epochs, unequal over those a split tests (10 and
    5): the verdict scored balanced accuracy, while the page showed none and
    put chance at the 0.5 of all epochs, not the 0.67 of always answering the
    class most frequent among the epochs tested."""
    codes = spatial_epochs.events[:, 2]
    test = np.r_[np.flatnonzero(codes == 1)[:10], np.flatnonzero(codes == 2)[:5]]
    split = [(np.setdiff1d(np.arange(len(codes)), test), test)]
    measured = _record_cross_validation(monkeypatch)
    contents = _quick_report(
        _network(max_epochs=1), _two_channels(spatial_epochs), cv=split
    )
    assert measured["cv"].scores["chance"].tolist() == pytest.approx([2 / 3])
    assert measured["cv"].balanced_scores["chance"].tolist() == [0.5]
    text = " ".join(html.unescape(contents["Accuracy"]).split())
    assert "held-out epochs are unequal (left 10, right 5 epochs)" in text
    assert "most frequent class scores 0.67" in text


def _quick_report(estimator, epochs, **kwargs):
    """The sections of a quick report (one method, two folds, no checks).

    Its figures are embedded as PNG, which encodes about five times faster
    than MNE's default lossless WebP (``made`` and the browser keep WebP).
    """
    kwargs = (
        dict(methods=["saliency"], cv=2, checks=False, verbose=False)
        | dict(report=mne.Report(image_format="png", verbose=False))
        | kwargs
    )
    report = make_report(estimator, epochs, **kwargs)
    return _contents(report)


def _two_channels(epochs):
    """C3 and C4 of ``epochs``, for tests of what the channels do not change
    (folds, chance, the overview, the spectrum's bins): too few positions for a
    topomap, their report draws three plain figures where 32 channels draw seven."""
    return epochs.copy().pick(["C3", "C4"])


def test_a_report_of_classes_named_true_and_in_mathtext(spatial_epochs):
    """After all the training, the page failed: its maps of each epoch's class
    (target="true") are refused where a class is named "true" (a true/false
    task), and matplotlib raised on an event "$\\textbf{no}$", read as mathtext."""
    epochs = spatial_epochs.copy()
    names = [r"$\textbf{no}$", "true"]
    epochs.event_id = dict(zip(names, epochs.event_id.values(), strict=True))
    with pytest.warns(RuntimeWarning, match="does not beat chance"):
        sections = _quick_report(_network(max_epochs=1), epochs)
    assert "saliency" in sections[SECTIONS["maps"]]


def _figures_alive():
    gc.collect()
    return sum(isinstance(obj, Figure) for obj in gc.get_objects())


def test_a_report_lets_go_of_the_figures_it_closed(spatial_epochs):
    """Under Agg each report left the figures of Evoked.plot_joint alive for
    good (2 more per report, about 15 MB, 18 after 8 reports): MNE's
    linked-time events (mne.viz.ui_events) keep a figure until its canvas fires
    close_event, which plt.close fires in a window's backend only, and
    matplotlib 3.11 keeps the canvas of a blitting widget (MNE's span selector)
    until the widget, which the figure holds, is freed."""
    network = _network()
    for _ in range(2):
        held, alive = set(ui_events._event_channels), _figures_alive()
        _quick_report(network, spatial_epochs)
        assert not set(ui_events._event_channels) - held
        assert _figures_alive() == alive


def test_the_page_warns_of_a_class_never_predicted(made, spatial_epochs):
    """Accuracy hid a network that predicts rare classes for no epoch (0.82
    against a chance of 0.77 for one that never predicted two of four), and
    the page drew their maps without a word."""
    epochs = _two_channels(spatial_epochs)  # the bias decides, not the channels
    network = _network(max_epochs=20).fit(epochs)
    with torch.no_grad():  # every epoch given to the first class
        network.module_.classifier.bias[0] = 1e6
    names = {code: name for name, code in epochs.event_id.items()}
    other = names[network.classes_[1]]
    with pytest.warns(
        RuntimeWarning,
        match=rf"predicts none of the epochs of class\(es\) {other} \(20 epochs\)",
    ):
        accuracy = _quick_report(network, epochs)["Accuracy"]
    assert "Classes it never predicts" in accuracy
    # Equal classes: weighing them would change nothing.
    assert "equal size" in accuracy and "class_weight" not in accuracy
    y = epochs.events[:, 2]
    first, rest = (
        np.flatnonzero(y == network.classes_[0]),
        np.flatnonzero(y != network.classes_[0]),
    )
    with pytest.warns(RuntimeWarning, match=r"\(10 epochs\)"):
        uneven = _quick_report(network, epochs[np.r_[first, rest[:10]]])
    assert 'class_weight="balanced"' in html.unescape(uneven["Accuracy"])
    # A network that predicts every class gets no such warning.
    assert "Classes it never predicts" not in _contents(made[0])["Accuracy"]


def test_the_page_says_whether_the_network_beats_chance(made, spatial_epochs):
    # made's network is trained as _network(max_epochs=20) in two folds: its
    # methods and checks leave the accuracy section as a quick report's.
    accuracy = _contents(made[0])["Accuracy"]
    assert re.search(r"The network beats chance: 3\d of 40 held-out epochs", accuracy)
    assert "alert" not in accuracy and "so p is optimistic" in accuracy
    # Labels independent of the data (half of each simulated class gets each
    # label): nothing to learn, and the maps must not be read.
    y = spatial_epochs.events[:, 2]
    shuffled = np.empty_like(y)
    shuffled[np.argsort(y, kind="stable")] = np.tile([1, 2], len(y) // 2)
    with pytest.warns(RuntimeWarning, match="does not beat chance"):
        at_chance = _quick_report(
            _network(max_epochs=20), _two_channels(spatial_epochs), y=shuffled
        )
    accuracy = at_chance["Accuracy"]
    assert "alert-danger" in accuracy and "do not interpret them" in accuracy
    # The trust readings followed as if the maps were worth reading.
    assert "does not beat chance" in at_chance["How far to trust the maps"]


def test_a_given_network_is_itself_tested_against_chance(trained, spatial_epochs):
    """The verdict was about copies retrained in the folds: a given network
    whose labels were coded the other way round (2 % right) "beat chance"."""
    y = spatial_epochs.events[:, 2]
    swapped = _network(max_epochs=20).fit(spatial_epochs, 3 - y)
    assert swapped.score(spatial_epochs, y) < 0.2
    with pytest.warns(RuntimeWarning, match="given .* does not beat chance"):
        accuracy = _quick_report(swapped, spatial_epochs, y=y)["Accuracy"]
    assert "alert-danger" in accuracy and "training accuracy" in accuracy
    # Another file coding the same events otherwise: matched by name.
    recoded = spatial_epochs.copy()
    recoded.events[:, 2] = y + 10
    recoded.event_id = {name: code + 10 for name, code in recoded.event_id.items()}
    contents = _quick_report(trained, recoded)
    assert "The network given (the one explained) beats chance" in contents["Accuracy"]
    counts = {name: (y == code).sum() for name, code in spatial_epochs.event_id.items()}
    for name, count in counts.items():  # classes named as in the file
        assert f"{name}: {count}" in contents["Overview"]


def test_copies_of_a_given_network_log_one_line_per_fold(trained, spatial_epochs):
    """A network given fitted with verbose=None (the default, as pickled for
    ``mne-xai report --model``) logged its copies' per-epoch training tables at
    the report's level, a thousand lines burying the one line of each fold."""
    given = copy.deepcopy(trained).set_params(verbose=None)
    with catch_logging() as log:
        _quick_report(given, spatial_epochs, verbose=True)
    log = log.getvalue()
    assert "fold 1/2" in log and "fold 2/2" in log
    assert "train_loss" not in log and "Training on" not in log
    assert given.verbose is None


def test_a_given_network_beats_chance_only_with_its_copies_in_the_folds(
    spatial_epochs,
):
    """A network fitted to labels independent of the data, given with its
    training epochs, read "beats chance: 40 of 40 epochs right, p = 9.1e-13":
    its training accuracy, while copies trained in the folds were at chance."""
    y = spatial_epochs.events[:, 2]
    shuffled = np.empty_like(y)
    shuffled[np.argsort(y, kind="stable")] = np.tile([1, 2], len(y) // 2)
    # A learning rate ten times the default memorizes them in 40 passes, not 120.
    memorized = _network(max_epochs=40, lr=0.01, module__dropout=0.0)
    memorized.fit(spatial_epochs, shuffled)
    assert memorized.score(spatial_epochs, shuffled) == 1.0
    with pytest.warns(RuntimeWarning, match="A copy of the network given"):
        contents = _quick_report(memorized, spatial_epochs, y=shuffled)
    accuracy = html.unescape(contents["Accuracy"])
    assert "in each fold, does not beat chance" in accuracy
    assert "its accuracy on them below is that of training" in accuracy
    # The trust section reads the maps as those of a network at chance.
    assert "does not beat chance" in contents["How far to trust the maps"]


def test_a_file_coding_the_classes_the_other_way_round_explains_without_warning(
    spatial_epochs,
):
    """The report passed labels already matched by name as targets, and
    explain warned that they named the other events, advising target="true"."""
    network = _network(max_epochs=2).fit(spatial_epochs)
    swapped = spatial_epochs.copy()
    swapped.events[:, 2] = 3 - swapped.events[:, 2]
    swapped.event_id = {name: 3 - code for name, code in swapped.event_id.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _quick_report(network, swapped)
    messages = [str(warning.message) for warning in caught]
    assert not [message for message in messages if "targets are read" in message]


def test_chance_test_pools_the_folds():
    # 14 of 20 right against a chance rate of 0.5: P(X >= 14) for X ~ B(20, 0.5).
    folds = [np.arange(10), np.arange(10, 20)]
    n_correct, n_tested, p_value = chance_test(np.array([0.6, 0.8]), 0.5, folds)
    assert (n_correct, n_tested) == (14, 20)
    assert p_value == pytest.approx(sum(comb(20, k) for k in range(14, 21)) / 2**20)
    # Folds testing the same 20 epochs twice are no more evidence than once.
    assert chance_test(
        np.array([0.6, 0.8, 0.6, 0.8]), 0.5, folds + folds
    ) == pytest.approx((n_correct, n_tested, p_value))
    # 4 of 11 and 11 of 11 right pool to 14.999... of 22 in floating point: 15.
    folds = [np.arange(11), np.arange(11, 22)]
    assert chance_test(np.array([4 / 11, 1.0]), 0.5, folds)[:2] == (15, 22)


def test_balanced_chance_test_is_fishers_exact_test_for_two_classes():
    """Shuffling the labels keeps both margins of the confusion matrix, where
    two classes' balanced accuracy grows with the first class's hits."""
    y_true = np.repeat([1, 2], [20, 6])
    y_pred = np.r_[[1] * 14, [2] * 6, [2] * 6]  # 6 of the frequent class missed
    balanced, p_value = balanced_chance_test(y_true, y_pred, random_state=0)
    assert balanced == pytest.approx((14 / 20 + 1) / 2)
    exact = fisher_exact([[14, 6], [0, 6]], alternative="greater").pvalue
    assert p_value == pytest.approx(exact, abs=0.003)
    # Predictions unrelated to the labels: one class for every epoch.
    assert balanced_chance_test(y_true, np.ones(26), random_state=0) == (0.5, 1.0)


@pytest.mark.parametrize("balanced", [False, True])
def test_permutation_p_value_counts_the_observed_labelling(balanced):
    """The labels as observed are one of the orders that score as well as they
    do: a prediction that no shuffle matches gets p = 1 / (N + 1), never 0.
    The only other test's bounds (p < 0.001, p = 1) also held for p = 0."""
    y_true = np.repeat([1, 2], 50)
    score, p_value = permutation_chance_test(
        y_true, y_true, balanced=balanced, random_state=0
    )
    assert score == 1.0
    assert p_value == 1 / (N_PERMUTATIONS + 1)


def _subjects_majority():
    """Ten subjects of 14 and 6 epochs of two classes (70/30 or 30/70 percent),
    and predictions that say each subject's majority class, whatever the epoch:
    labels, predictions and groups."""
    majority = np.tile([1, 2], 5)
    y_true = np.concatenate([np.repeat([m, 3 - m], [14, 6]) for m in majority])
    return y_true, np.repeat(majority, 20), np.repeat(np.arange(10), 20)


@pytest.mark.parametrize("balanced", [False, True])
def test_chance_tests_shuffle_labels_within_groups(balanced):
    """Predictions that follow the subject follow labels that come in other
    shares per subject, without any class signal: shuffled among all epochs,
    14 percent of such tests read "beats chance" at the 5 percent level."""
    y_true, y_pred, groups = _subjects_majority()
    _, pooled = permutation_chance_test(
        y_true, y_pred, balanced=balanced, random_state=0
    )
    assert pooled < 0.001
    score, within = permutation_chance_test(
        y_true, y_pred, balanced=balanced, random_state=0, groups=groups
    )
    assert score == pytest.approx(0.7)
    assert within == 1.0


@pytest.mark.parametrize("balanced", [False, True])
def test_chance_tests_shuffle_the_labels_of_every_group(balanced):
    """The last group's labels are shuffled too: there alone the predictions
    follow the labels, and left in order they beat every shuffle."""
    y_true = np.tile(np.repeat([1, 2], 10), 2)
    y_pred = np.r_[np.ones(20, int), y_true[20:]]  # one class, then right
    score, p_value = permutation_chance_test(
        y_true, y_pred, balanced=balanced, random_state=0, groups=np.repeat([0, 1], 20)
    )
    assert score == pytest.approx(0.75)
    assert p_value < 0.001


def test_chance_test_weighs_each_fold_by_its_epochs_against_the_rate_given():
    """All of a fold of 10 and half of a fold of 30 right is 25 of 40, not the
    mean of the folds' accuracies (30 of 40); and the test is against the rate
    given, 1/3 for three equal classes, not 0.5."""
    folds = [np.arange(10), np.arange(10, 40)]
    n_correct, n_tested, p_value = chance_test(np.array([1.0, 0.5]), 1 / 3, folds)
    assert (n_correct, n_tested) == (25, 40)
    # P(X >= 25) for X ~ B(40, 1/3).
    exact = sum(comb(40, k) * 2 ** (40 - k) for k in range(25, 41)) / 3**40
    assert p_value == pytest.approx(exact)


def test_balanced_chance_test_is_seeded_and_shuffles_within_groups():
    """The seed and the groups reach the shuffles: the same seed gives the same
    p, so that a page or trust summary reads the same on every run, and
    predictions that follow each subject's majority class do not beat chance
    within subjects."""
    y_true = np.repeat([1, 2], [20, 6])
    y_pred = np.tile([1, 2], 13)  # unrelated to the labels: p near 0.5
    first, second = (
        balanced_chance_test(y_true, y_pred, random_state=0) for _ in range(2)
    )
    assert first == second and 0.2 < first[1] < 0.8
    y_true, y_pred, groups = _subjects_majority()
    assert balanced_chance_test(y_true, y_pred, random_state=0, groups=groups) == (
        pytest.approx(0.7),
        1.0,
    )


def test_equal_balanced_accuracies_summed_in_another_order_are_equal():
    """Over eight or more classes, numpy sums the observed recalls pairwise and
    the shuffles' row by row, which differ in the last bits: a shuffle scoring
    as the observed labels must count as at least as good. Here every shuffle
    within the groups keeps each class's hits (recalls 0, 0, 0, 0, 0, 1/3, 1,
    1 of eight classes of 3 epochs), so p is 1."""
    y_true = np.repeat(np.arange(8), 3)
    # Classes 6 and 7 alone in groups predicting them; one epoch of class 5
    # with those of class 0 in a group predicting 5; the rest predicted 0.
    groups = np.r_[[0] * 3, [1] * 12, [0, 1, 1], [2] * 3, [3] * 3]
    y_pred = np.array([5, 0, 6, 7])[groups]
    score, p_value = permutation_chance_test(
        y_true, y_pred, balanced=True, random_state=0, groups=groups
    )
    assert score == pytest.approx(7 / 24)
    assert p_value == 1.0


def test_the_chance_verdict_scores_each_epoch_against_its_own_chance():
    """Two folds testing 14 and 6 epochs, 10 of each class of 40 epochs (30 and
    10 in all): the binomial test counts 14 of 20 right (0.70, not the folds'
    mean 0.50) against the tested epochs' 0.5, not all epochs' 0.75."""
    y = np.repeat([1, 2], [30, 10])
    folds = [np.r_[np.arange(10), np.arange(30, 34)], np.arange(34, 40)]
    predictions = [y[folds[0]], 3 - y[folds[1]]]  # all right, then all wrong
    verdict = held_out_verdict(y, folds, predictions)
    assert verdict.test == "binomial"
    assert (verdict.n_correct, verdict.n_tested) == (14, 20)
    assert verdict.score == pytest.approx(0.7)
    assert verdict.chance == verdict.majority == 0.5
    assert verdict.p_value == pytest.approx(
        sum(comb(20, k) for k in range(14, 21)) / 2**20
    )
    assert "14 of 20 epochs right, against a rate of 0.50" in verdict.describe("epochs")


def test_balanced_chance_is_one_over_the_classes_the_folds_test():
    """Folds testing 8 epochs of class 1 and 5 of class 2, none of class 3:
    balanced accuracy is the mean recall of the two classes tested, so
    predictions unrelated to the labels score 1/2, the chance said, not 1/3."""
    y = np.repeat([1, 2, 3], [10, 5, 10])
    folds = [np.arange(8), np.arange(10, 15)]
    verdict = held_out_verdict(y, folds, [y[fold] for fold in folds], random_state=0)
    assert (verdict.test, verdict.balanced) == ("permutation", True)
    assert verdict.chance == 0.5
    assert "against 0.50 by chance" in verdict.describe("epochs")


def test_chance_counts_each_epoch_as_often_as_tested_but_the_test_once():
    """Folds testing the 5 epochs of class 1 twice and 5 of class 2 once: always
    answering class 1 scores 10 of 15 of the folds' predictions (0.67), while
    the permutation test within groups scores each epoch once, against 0.5,
    with the groups of the 10 epochs tested."""
    y = np.repeat([1, 2], 10)
    folds = [np.arange(5), np.arange(10, 15), np.arange(5)]
    assert held_out_chance(y, folds) == pytest.approx(2 / 3)
    verdict = held_out_verdict(
        y,
        folds,
        [y[fold] for fold in folds],
        groups=np.tile(["A", "B"], 10),
        random_state=0,
    )
    assert (verdict.test, verdict.balanced, verdict.n_tested) == (
        "permutation",
        False,
        10,
    )
    assert (verdict.score, verdict.chance) == (1.0, 0.5)
    assert verdict.majority == pytest.approx(2 / 3)
    assert verdict.p_value < 0.05


def test_a_p_value_at_the_level_does_not_beat_chance():
    """Beating chance is p below the level, not at it."""
    verdict = HeldOutVerdict(
        "binomial", False, 0.7, 0.5, 0.5, 14, 20, CHANCE_ALPHA, within_groups=False
    )
    assert not verdict.beats_chance
    assert verdict._replace(p_value=np.nextafter(CHANCE_ALPHA, 0)).beats_chance


def test_the_page_tests_chance_within_the_groups_its_folds_split_by(spatial_epochs):
    """With groups (subjects), the binomial test counted every epoch as an
    independent trial across subjects whose classes come in other shares."""
    groups = np.tile(["A", "B"], len(spatial_epochs) // 2)
    accuracy = html.unescape(
        _quick_report(
            _network(max_epochs=20), spatial_epochs, cv=GroupKFold(2), groups=groups
        )["Accuracy"]
    )
    assert re.search(
        r"beats chance: accuracy 0\.\d\d over 40 held-out epochs, against 0\.50 by "
        r"chance \(one-sided permutation test of their labels within each group "
        r"\(subject\), p = ",
        accuracy,
    )


@pytest.mark.filterwarnings("ignore:The network")
def test_unequal_classes_beat_chance_by_balanced_accuracy(trained, spatial_epochs):
    """A network trading the frequent class's accuracy for the rare one's recall
    (class weights, as the page advises) was said to explain noise: recalls of
    0.85 and 0.90 on 100 and 20 epochs gave 103 of 120 right against the
    frequent class's 0.83, p = 0.28."""
    epochs = _balanced(spatial_epochs, 20, 6)
    y = epochs.events[:, 2]
    network = copy.deepcopy(trained)
    proba = network.predict_proba(epochs)
    odds = np.log(proba[:, 1]) - np.log(proba[:, 0])  # class 2's logit over 1's
    assert np.array_equal(odds > 0, y == 2)
    # Raise class 2's logit so that 6 of the 20 epochs of class 1 read as 2.
    closest = np.sort(odds[y == 1])[::-1]
    with torch.no_grad():
        network.module_.classifier.bias[1] -= float(closest[5] + closest[6]) / 2
    assert network.score(epochs, y) == pytest.approx(20 / 26)  # chance's rate
    accuracy = html.unescape(_quick_report(network, epochs)["Accuracy"])
    assert re.search(
        r"The network given \(the one explained\) beats chance: balanced accuracy "
        r"0\.85 over 26 epochs, against 0\.50 by chance \(one-sided permutation "
        r"test of their labels, p = 0\.00\d+\); the classes are unequal",
        accuracy,
    )


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda e: e[e.events[:, 2] == 1], r"one class only \('left' \(code 1\)\)"),
        (lambda e: e.set_channel_types({n: "misc" for n in e.ch_names}), "no data"),
        # Two epochs of each class, so one of each per training fold: LDA's
        # own error, after the network's folds.
        (
            lambda e: e[
                np.r_[
                    np.flatnonzero(e.events[:, 2] == 1)[:2],
                    np.flatnonzero(e.events[:, 2] == 2)[:2],
                ]
            ],
            "Fold 1 of 2 trains on 2 epochs, for 2 classes",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:The unit for channel")
def test_bad_data_are_refused_before_training(spatial_epochs, change, match):
    network = _network()
    with pytest.raises(ValueError, match=match):
        make_report(network, change(spatial_epochs.copy()), methods=METHODS, cv=2)
    assert not hasattr(network, "module_")


def test_eeg_without_positions_gets_a_report_without_topomaps(spatial_epochs):
    """EEG without a montage was refused, whatever else the report could show,
    where channels topomaps cannot show (sEEG, too few) got a report without
    them: a cap with no positions known got no report at all."""
    unplaced = spatial_epochs.copy().set_montage(None)
    with pytest.warns(RuntimeWarning, match=r"32 of the 32 eeg channels have no "):
        contents = _quick_report(_network(max_epochs=1), unplaced)
    maps = contents["Attribution maps per class"]
    assert "No topomaps: 32 of the 32 eeg channels have no position" in maps
    assert "set_montage" in maps and "<img" not in maps
    time = contents["Relevance over time"]
    assert "<img" in time and "of the 8 of largest mean where there are more" in time


def test_channels_without_positions_are_named_five_at_most(spatial_epochs):
    """The warning names every channel without a position up to five, and
    marks with "..." only that it leaves some out."""
    first_five = ", ".join(spatial_epochs.ch_names[:5])
    for n_unplaced, named in [(5, f"({first_five});"), (6, f"({first_five} ...);")]:
        epochs = spatial_epochs.copy()
        for channel in epochs.info["chs"][:n_unplaced]:
            channel["loc"][:3] = np.nan
        with pytest.warns(RuntimeWarning, match="no position"):
            plan = check_data(_network(), epochs, epochs.events[:, 2], None, False)
        assert plan.topomap_type is None
        assert f"{n_unplaced} of the 32 eeg channels have no position {named}" in (
            plan.why_no_topomaps
        )


def test_misc_channels_chosen_by_picks_get_a_report_without_topomaps(
    spatial_epochs, tmp_path, capsys
):
    """Epochs of misc channels were refused with "or choose them with the
    estimator's picks"; so chosen, the report trained and explained, then failed
    in MNE's topomap ("No channels match the selection."), and with --picks on
    the command line, whose refusal named no --picks, after 25 s of training."""
    misc = spatial_epochs.copy().set_channel_types(
        dict.fromkeys(spatial_epochs.ch_names, "misc"), on_unit_change="ignore"
    )
    with pytest.raises(ValueError, match=r"estimator's picks \(--picks on the co"):
        make_report(_network(), misc, methods=METHODS, cv=2)
    # As advised. The folds trained on the misc channels picked, whose info
    # MNE clears of the EEG's average reference, and predicted the epochs as
    # given: "X was prepared otherwise than the training data" (reference).
    with pytest.warns(
        RuntimeWarning, match="no topomaps: the network reads misc"
    ) as record:
        contents = _quick_report(_network(max_epochs=1, picks=misc.ch_names), misc)
    assert not [w for w in record if "prepared otherwise" in str(w.message)]
    maps = contents["Attribution maps per class"]
    assert "No topomaps: the network reads misc channels" in maps
    assert "<img" not in maps and "<img" in contents["Relevance over time"]
    path = tmp_path / "misc-epo.fif"
    misc.save(path, verbose=False)
    options = ["--cv", "2", "--methods", "saliency", "--no-checks", "--max-epochs", "1"]
    code, err = _run(capsys, path, "-o", tmp_path / "out.html", *options)
    assert code == 1 and "(--picks on the command line)" in err
    code, err = _run(
        capsys, path, "-o", tmp_path / "out.html", "--picks", "misc", *options
    )
    assert code == 0, err
    assert "No topomaps: the network reads misc" in (tmp_path / "out.html").read_text()


def test_channels_of_no_brain_type_are_planned_by_the_most_numerous(spatial_epochs):
    """Without EEG or MEG, the plan reads the network's most numerous channel
    type, as it does among the brain types."""
    epochs = spatial_epochs.copy().pick(["C3", "C4", "Cz"])
    kinds = {"C3": "misc", "C4": "misc", "Cz": "eog"}
    epochs.set_channel_types(kinds, on_unit_change="ignore")
    with pytest.warns(RuntimeWarning, match="the network reads misc channels"):
        plan = check_data(_network(picks="all"), epochs, epochs.events[:, 2], 2, False)
    assert plan.topomap_type is None


def test_time_courses_of_many_channels_show_the_most_relevant():
    """Reports without topomaps (no positions, sEEG) drew a line per channel:
    32 lines in ten colours, under a legend of 32 names taller than the plot."""
    names = [f"ch{index}" for index in range(32)]
    info = mne.create_info(names, 100.0, "eeg")
    data = np.linspace(0.1, 1, 32)[:, np.newaxis] * np.ones((32, 50))
    data = data[np.random.default_rng(0).permutation(32)]
    evoked = mne.EvokedArray(data, info, verbose=False)
    figure = _plot_time_course(evoked, "saliency", "|relevance|")
    (ax,) = figure.axes
    labels = [line.get_label() for line in ax.get_lines()]
    largest = np.array(names)[np.argsort(data[:, 0])[::-1][:8]]
    # In the montage's order, as the legend of fewer channels.
    assert labels == [name for name in names if name in largest]
    assert "8 most relevant of 32 channels" in ax.get_title()
    plt.close(figure)
    # Eight channels are all drawn, under the title as given.
    few = _plot_time_course(evoked.copy().pick(names[:8]), "saliency", "|relevance|")
    assert [line.get_label() for line in few.axes[0].get_lines()] == names[:8]
    assert few.axes[0].get_title() == "saliency"
    plt.close(few)


def test_time_courses_shown_are_those_of_the_largest_mean():
    """Of many channels, those relevant throughout are shown, as the page
    says ("of largest mean"), not one whose relevance peaks once."""
    data = np.full((9, 50), 0.5)
    data[0] = 0.0
    data[0, 25] = 10.0  # mean 0.2, the lowest, and the highest peak
    names = [f"ch{index}" for index in range(9)]
    evoked = mne.EvokedArray(data, mne.create_info(names, 100.0, "eeg"), verbose=False)
    figure = _plot_time_course(evoked, "saliency", "|relevance|")
    assert [line.get_label() for line in figure.axes[0].get_lines()] == names[1:]
    plt.close(figure)


def test_mean_relevance_magnitude_is_of_each_epochs_magnitude():
    """Relevance over time is the mean over epochs of |relevance|: signed maps
    of opposite signs do not cancel out."""
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    data = np.array([[[1.0, -2.0], [3.0, 0.0]], [[-1.0, 2.0], [1.0, 0.0]]])
    epochs = mne.EpochsArray(data, info, tmin=-0.2, verbose=False)
    evoked = _mean_magnitude(epochs, "eeg")
    np.testing.assert_allclose(evoked.data, [[1.0, 2.0], [2.0, 0.0]])
    assert evoked.nave == 2
    np.testing.assert_allclose(evoked.times, epochs.times)  # the joint plot's axis


def test_relevance_per_frequency_is_the_mean_of_each_named_class():
    """One line per class, named as the class, of the mean over its epochs of
    the magnitudes summed over channels (hand-computed)."""
    relevance = np.array(
        [
            [[1.0, -1.0, 0.0], [0.0, 2.0, 0.0]],  # |.| summed: 1, 3, 0
            [[0.0, 0.0, 4.0], [-2.0, 0.0, 0.0]],  # 2, 0, 4
            [[-3.0, 1.0, 0.0], [0.0, 0.0, 2.0]],  # 3, 1, 2
        ]
    )
    info = mne.create_info(["C3", "C4"], 64.0, "eeg")
    spectrum = EpochsSpectrumArray(relevance, info, np.array([4.0, 8.0, 12.0]))
    figure = _plot_frequency_relevance(
        spectrum, np.array([1, 2, 1]), {1: "left", 2: "right"}
    )
    (ax,) = figure.axes
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "left",
        "right",
    ]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 2.0, 1.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [2.0, 0.0, 4.0])
    plt.close(figure)


def test_one_time_course_for_all_channels_is_their_mean():
    """Maps the same on every channel, and ECoG where MNE's joint plot fails,
    get one line for all channels: their mean, which the largest overstates."""
    info = mne.create_info(["a", "b", "c"], 100.0, "ecog")
    data = np.array([[1.0, 2.0], [2.0, 4.0], [6.0, 0.0]])
    every = _every_channel(mne.EvokedArray(data, info, tmin=0.5, verbose=False))
    assert every.ch_names == ["every channel"]
    np.testing.assert_allclose(every.data, [[3.0, 2.0]])
    np.testing.assert_allclose(every.times, [0.5, 0.51])


class _TimePage:
    """What the time section writes on, with topomaps of EEG: the maps given,
    and each figure added (closed) by its caption."""

    plan = SimpleNamespace(topomap_type="eeg")

    def __init__(self, attributions):
        self.attributions, self.figures = attributions, {}

    def windows_read(self):
        return None

    def paragraph(self, key, **values):
        pass

    def add_figures(self, figures, title, key, caption=None):
        self.figures.update(zip(caption, figures, strict=True))
        for figure in figures:
            plt.close(figure)


def _eeg_and_mag_maps(data):
    """Maps of three EEG channels and a magnetometer, both data channels."""
    info = mne.create_info(["C3", "Cz", "C4", "MEG 0111"], 100.0, ["eeg"] * 3 + ["mag"])
    return mne.EpochsArray(data, info, tmin=-0.1, verbose=False)


def _time_courses(monkeypatch, attributions, joint=True):
    """The time section's joint plots and single time courses, each as the
    channel names and values it draws, by method; ``joint=False`` has MNE's
    joint plot refuse the channels, as it does ECoG."""
    drawn = {}

    def plot_joint(evoked, *, title, **kwargs):
        if not joint:
            raise ValueError("no joint plot of these channels")
        drawn[title.split(":")[0]] = ("joint", evoked.ch_names, evoked.data)
        return plt.figure()

    def plot_time_course(evoked, title, units):
        drawn[title.split(":")[0]] = ("lines", evoked.ch_names, evoked.data)
        return plt.figure()

    monkeypatch.setattr(_maps, "plot_attribution_joint", plot_joint)
    monkeypatch.setattr(_maps, "_plot_time_course", plot_time_course)
    _maps._add_time(_TimePage(attributions))
    return drawn


def test_relevance_over_time_is_the_mean_magnitude_of_the_topomaps_channels(
    monkeypatch,
):
    """The joint plot draws the mean |relevance| over epochs of the channels
    the topomaps show (not the magnetometer), and maps the same on every channel one
    line, their mean over the channels read (hand-computed with NumPy)."""
    rng = np.random.default_rng(0)
    varied = rng.standard_normal((3, 4, 5))
    same = np.repeat(rng.standard_normal((3, 1, 5)), 4, axis=1)
    drawn = _time_courses(
        monkeypatch,
        {"saliency": _eeg_and_mag_maps(varied), "grad_cam": _eeg_and_mag_maps(same)},
    )
    kind, names, values = drawn["saliency"]
    assert (kind, names) == ("joint", ["C3", "Cz", "C4"])
    np.testing.assert_allclose(values, np.abs(varied[:, :3]).mean(axis=0))
    kind, names, values = drawn["grad_cam"]
    assert (kind, names) == ("lines", ["every channel"])
    np.testing.assert_allclose(values[0], np.abs(same[:, :3]).mean(axis=(0, 1)))


def test_a_joint_plot_refused_gives_the_mean_over_the_channels(monkeypatch):
    """Where MNE's joint plot refuses the channels (ECoG), one line stands in
    for it: the mean over the channels of the mean |relevance|, not a line per
    channel, which the page says only of maps without topomaps."""
    data = np.random.default_rng(1).standard_normal((3, 4, 5))
    drawn = _time_courses(
        monkeypatch, {"saliency": _eeg_and_mag_maps(data)}, joint=False
    )
    kind, names, values = drawn["saliency"]
    assert (kind, names) == ("lines", ["every channel"])
    np.testing.assert_allclose(values[0], np.abs(data[:, :3]).mean(axis=(0, 1)))


def test_time_courses_read_the_data_channels_or_every_channel():
    """Maps without topomaps show MNE's data channels, including those marked
    bad (the network reads them), or every channel where none is a data
    channel (misc channels picked), which MNE's pick("data") refuses."""
    info = mne.create_info(["C3", "C4", "EOG"], 100.0, ["eeg", "eeg", "eog"])
    assert _data_or_all(info) == "data"
    info["bads"] = ["C3", "C4"]
    assert _data_or_all(info) == "data"
    assert _data_or_all(mne.create_info(["a", "b"], 100.0, "misc")) == "all"


def _add_patterns_of(monkeypatch, n_units, ch_types):
    """Run the patterns section on ``n_units`` units and channels ``ch_types``.

    Returns the (n_components, ch_type) of each topomap figure drawn, and the
    tables added.
    """
    drawn, tables = [], []

    class Patterns:
        layer = "spatial_conv"
        ranking = pd.DataFrame(
            {"rank": np.arange(1, n_units + 1), "contribution": 1.0 / n_units}
        )

        def plot(self, n_components, ch_type, show):
            drawn.append((n_components, ch_type))
            return plt.figure()

    class Page:
        plan = SimpleNamespace(topomap_type=next(iter(ch_types)), ch_types=ch_types)
        estimator = epochs = None

        def paragraph(self, key):
            pass

        def add_figures(self, figures, title, key):
            for figure in figures:
                plt.close(figure)

        def add_table(self, table, title, key, **to_html):
            tables.append(table)

    monkeypatch.setattr(_maps, "spatial_patterns", lambda *args, **kwargs: Patterns())
    _maps._add_patterns(Page())
    return drawn, tables


def test_patterns_show_the_four_and_list_the_eight_most_contributing(monkeypatch):
    """Of many units, the topomaps draw the four first and the table lists the
    eight first; of fewer, every unit."""
    for n_units, shown, listed in [(12, 4, 8), (3, 3, 3)]:
        drawn, tables = _add_patterns_of(monkeypatch, n_units, {"eeg": 3})
        assert drawn == [(shown, "eeg")]
        (table,) = tables
        assert table.index.tolist() == list(range(1, listed + 1))


def test_patterns_of_gradiometers_are_drawn_on_magnetometers_if_any(monkeypatch):
    """Signed patterns are drawn on the magnetometers where the network reads
    some beside gradiometers (whose topomaps are RMS of pairs, unsigned), and
    on the gradiometers where it reads only those: there is no magnetometer to
    draw them on."""
    for ch_types, drawn_on in [
        ({"grad": 24, "mag": 12}, "mag"),
        ({"grad": 24}, "grad"),
        ({"mag": 12, "grad": 24}, "mag"),
    ]:
        drawn, _ = _add_patterns_of(monkeypatch, 4, ch_types)
        assert drawn == [(4, drawn_on)]


def test_an_int_cv_gives_stratified_shuffled_folds_of_the_seed():
    """cv=5 is documented as stratified, shuffled folds seeded with random_state:
    in order, each fold would hold out a block of consecutive epochs (the end
    of a session, where the signal drifts)."""
    y = np.tile([1, 2], 20)
    expected = StratifiedKFold(5, shuffle=True, random_state=3).split(y, y)
    for (_, test), (_, same) in zip(
        splitter_of(5, 3).split(y, y), expected, strict=True
    ):
        np.testing.assert_array_equal(test, same)
    assert not np.array_equal(next(splitter_of(5, 3).split(y, y))[1], np.arange(8))


def test_training_folds_are_checked_for_any_splitter():
    """The check read StratifiedKFold's counts only: another splitter stopped in
    LDA's words after the network's folds, and one epoch of a rare class
    (which LDA takes) was refused."""
    y = np.repeat([1, 2], 2)
    repeated = RepeatedStratifiedKFold(n_splits=2, n_repeats=1, random_state=0)
    with pytest.raises(ValueError, match="trains on 2 epochs, for 2 classes"):
        check_training_folds(folds_of(repeated, y, None), y)
    rare = np.r_[[1, 1], [2] * 20]
    check_training_folds(folds_of(StratifiedKFold(2), rare, None), rare)


def test_a_cv_ignoring_groups_is_refused_naming_the_cv_given():
    """The refusal names the cv as written (an int, NumPy's too, is not the
    StratifiedKFold it makes) and advises as many folds as groups where there
    are fewer, saying so; scikit-learn's own errors of groups given pass as
    they are, not as a request to pass groups."""
    y, groups = np.tile([1, 2], 15), np.arange(30) % 3
    for cv in (5, np.int64(5)):
        with pytest.raises(ValueError, match=r"^cv=5 \(an int: ") as err:
            folds_of(splitter_of(cv, 0), y, groups, cv)
        assert grouped_folds_advice(5, 3) in str(err.value)
    with pytest.raises(ValueError, match=r"^cv=StratifiedKFold\(") as err:
        folds_of(StratifiedKFold(2), y, groups, StratifiedKFold(2))
    assert grouped_folds_advice(2, 3) in str(err.value)
    with pytest.raises(ValueError, match="fewer than 2 unique groups") as err:
        folds_of(LeaveOneGroupOut(), y, np.zeros(30), LeaveOneGroupOut())
    assert "pass groups" not in str(err.value)


def test_folds_given_as_splits_that_mix_a_group_are_refused():
    """Splits given as a list draw no warning that groups are ignored: with
    groups, splits training and testing the same subjects passed, and the page
    scored the network on subjects it had trained on."""
    y, groups = np.tile([1, 2], 15), np.arange(30) % 3
    by_group = [
        (np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in (0, 1)
    ]
    mixing = (np.arange(15), np.arange(15, 30))
    # Whichever fold mixes them, the first too.
    for fold, mixed in [(3, [*by_group, mixing]), (1, [mixing, *by_group])]:
        with pytest.raises(
            ValueError,
            match=rf"^Fold {fold} of 3 trains on and holds out epochs of 3 group\(s\) "
            r"\(0, 1, 2\)",
        ):
            folds_of(splitter_of(mixed, 0), y, groups, mixed)
    # The advice counts the groups, not the epochs: 2 groups, so 2 folds.
    two = np.arange(30) % 2
    with pytest.raises(ValueError, match=re.escape(grouped_folds_advice(3, 2))):
        folds_of(splitter_of([mixing] * 3, 0), y, two, [mixing] * 3)
    assert len(folds_of(splitter_of(by_group, 0), y, groups, by_group)) == 2


def test_grouped_folds_advice_says_when_it_lowers_the_folds_to_the_groups():
    """StratifiedGroupKFold refuses more folds than groups: of 3 groups, 3
    folds, each holding out one, and the note says why not the 5 asked."""
    same = "StratifiedGroupKFold({}, shuffle=True, random_state=0)"
    assert grouped_folds_advice(5, 3) == (
        f"{same.format(3)} (one fold per group, of 3) or LeaveOneGroupOut()"
    )
    for n_groups in (5, 8):  # as many folds as asked: nothing to explain
        assert grouped_folds_advice(5, n_groups) == (
            f"{same.format(5)} or LeaveOneGroupOut()"
        )


def test_cv_true_is_refused_as_no_number_of_folds():
    """True is an int to Python: cv=True read as 1 fold."""
    with pytest.raises(TypeError, match="cv must be an int or a cross-validation"):
        splitter_of(True, 0)


def test_cv_none_is_the_default_five_shuffled_folds():
    """As in scikit-learn, None is the default: check_cv made it 5 folds
    unshuffled, other folds than make_report's cv=5 on sorted epochs."""
    y = np.repeat([0, 1], 10)
    X = np.zeros((len(y), 1))
    folds = [
        [test.tolist() for _, test in splitter_of(cv, 0).split(X, y)]
        for cv in (None, 5)
    ]
    assert folds[0] == folds[1]
    assert folds[0][0] != [0, 1, 10, 11]  # the unshuffled first fold


def test_folds_training_on_one_class_are_refused_before_training(spatial_epochs):
    """Unshuffled KFold on epochs sorted by class trained the first fold on one
    class: the report stopped with "y holds a single class (2)", of labels that
    hold two."""
    ordered = spatial_epochs[np.argsort(spatial_epochs.events[:, 2], kind="stable")]
    network = _network()
    with pytest.raises(ValueError, match="Fold 1 of 2 trains on epochs of class 2"):
        make_report(network, ordered, methods=METHODS, cv=KFold(2))
    assert not hasattr(network, "module_")


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(methods=["nope"]), r"'methods\[0\]' parameter"),
        (dict(methods=[]), "methods is empty"),
        (
            dict(cv=30),
            r"Class '(left|right)' \(code (1|2)\) has \d+ epoch\(s\), fewer than the 30",
        ),
        (dict(cv=1), "at least 2 folds"),
        (dict(report="report.html"), "report must be an instance of"),
        # Refused by the folds' splitter, naming no argument.
        (dict(random_state="0"), "random_state must be an instance of"),
        (dict(random_state=-1), "random_state must be None or a non-negative"),
    ],
)
def test_bad_arguments_are_refused(spatial_epochs, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_report(_network(), spatial_epochs, **params)


def test_a_class_of_one_epoch_is_refused_saying_what_to_do(spatial_epochs, tmp_path):
    """A stray event of one epoch was refused with "fewer than the 5
    cross-validation folds; lower cv", and again at cv=2, the fewest folds
    (--cv 1 is refused): lowering cv never helps."""
    epochs = spatial_epochs.copy()
    epochs.events[0, 2] = 3
    epochs.event_id = dict(epochs.event_id, stray=3)
    for cv in (5, 2):
        with pytest.raises(ValueError, match="has 1 epoch") as error:
            make_report(_network(), epochs, cv=cv)
        message = str(error.value)
        assert "lower cv" not in message
        assert "epochs[['left', 'right']]" in message


def test_folds_are_counted_against_the_rarest_class(spatial_epochs):
    """A class of as many epochs as folds has one in each held-out fold; one of
    fewer is refused, by its own name."""
    y = spatial_epochs.events[:, 2]
    keep = np.r_[np.flatnonzero(y == 1)[:3], np.flatnonzero(y == 2)]
    epochs = spatial_epochs[keep]
    check_data(_network(), epochs, epochs.events[:, 2], 3, False)
    with pytest.raises(
        ValueError, match=r"^Class 'left' \(code 1\) has 3 epoch\(s\), fewer than the 4"
    ):
        check_data(_network(), epochs, epochs.events[:, 2], 4, False)
    # Labels other than the events' codes are not named by the events: label
    # 2 is here the left hand's.
    with pytest.raises(ValueError, match=r"^Class 2 has 3 epoch\(s\), fewer than"):
        check_data(_network(), epochs, 3 - epochs.events[:, 2], 4, False)


def test_what_cannot_be_reported_is_refused_before_training(spatial_epochs):
    """An unfitted SpectralClassifier trained every fold before its refusal; a
    network wrapped by as_network met scikit-learn's "is not an estimator"."""
    spectral = SpectralClassifier(_network(), LogPowerSpectrum(fmax=30.0))
    with pytest.raises(TypeError, match="explain_spectral_classifier"):
        make_report(spectral, spatial_epochs, methods=METHODS, cv=2)
    assert not hasattr(spectral, "estimator_")
    scaled = make_pipeline(FunctionTransformer(), _network())
    with pytest.raises(ValueError, match="transforms the data before the network"):
        make_report(scaled, spatial_epochs, methods=METHODS, cv=2)
    assert not hasattr(scaled[-1], "module_")  # it trained every fold first
    search = GridSearchCV(
        make_pipeline(spectral), {"spectralclassifier__hz_per_second": [8.0]}, cv=2
    )
    with pytest.raises(TypeError, match="explain_spectral_classifier"):
        make_report(search, spatial_epochs, methods=METHODS, cv=2)
    assert not hasattr(search, "best_estimator_")
    # The network is the Pipeline's last step, after steps that pass the data.
    skipping = Pipeline([("skip", "passthrough"), ("spectral", spectral)])
    with pytest.raises(TypeError, match="explain_spectral_classifier"):
        make_report(skipping, spatial_epochs, methods=METHODS, cv=2)
    assert not hasattr(spectral, "estimator_")
    X = spatial_epochs.get_data().astype(np.float32)
    net = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(X[0].size, 2)),
        max_epochs=1,
        train_split=None,
        verbose=0,
    ).fit(X, (spatial_epochs.events[:, 2] == 2).astype(np.int64))
    wrapped = as_network(net, info=spatial_epochs.info)
    with pytest.raises(TypeError, match="not the network as_network wraps"):
        make_report(wrapped, spatial_epochs)


@pytest.mark.parametrize("method", ["fit", "get_params"])
def test_an_object_without_fit_and_get_params_is_refused(spatial_epochs, method):
    """The report clones the estimator and fits it: an object with one of the
    two only is no scikit-learn estimator, refused before any work."""
    half = type("Half", (), {method: lambda self, *args, **kwargs: self})()
    with pytest.raises(TypeError, match="needs a scikit-learn classifier; got a Half"):
        make_report(half, spatial_epochs, methods=METHODS, cv=2)


def test_the_page_says_which_samples_a_cropped_network_reads(spatial_epochs):
    """It gave the epoch's times only: relevance outside the windows read as
    "no evidence there", and CSP+LDA was said to read "the same times"."""
    cropped = CroppedClassifier(
        _network(), window_length=0.5, window_step=0.25, tmin=0.0, tmax=0.75
    )
    report = make_report(
        cropped, spatial_epochs, methods=["saliency"], cv=2, checks=False
    )
    page = " ".join(_contents(report).values())
    start, stop = (
        spatial_epochs.times[cropped.window_starts_[0]],
        spatial_epochs.times[cropped.window_starts_[-1] + cropped.window_samples_ - 1],
    )
    n_windows = len(cropped.window_starts_)
    assert f"{n_windows} window(s) of 0.5 s, together {start:g} to {stop:g} s" in page
    assert "those samples are not read" in page and "same times" not in page


def test_windows_apart_are_said_to_leave_the_samples_between_them(monkeypatch):
    """Three windows of 4 samples, 7 apart, read samples 0-3, 7-10 and 14-17 of
    an epoch at 10 Hz: together 0 to 1.7 s, but for the 6 samples of the 2 gaps
    between them (4-6 and 11-13), which "together" alone would say were read."""
    module = _context.WindowAverage(torch.nn.Identity(), [0, 7, 14], 4)
    monkeypatch.setattr(
        _context, "as_network", lambda estimator: SimpleNamespace(module_=module)
    )
    epochs = mne.EpochsArray(
        np.zeros((1, 1, 20)), mne.create_info(["Cz"], 10.0, "eeg"), verbose=False
    )
    page = _context._Context(None, epochs, None, None, [], 0, None)
    assert page.windows_read() == (
        "3 window(s) of 0.4 s, together 0 to 1.7 s but for the 6 samples of 2 "
        "gap(s) between them"
    )


def test_array_data_are_refused(spatial_epochs):
    with pytest.raises(TypeError, match="epochs must be an instance of mne.Epochs"):
        make_report(_network(), spatial_epochs.get_data())


def test_report_figures_are_readable_with_long_names(made, spatial_epochs):
    """The report's own figures keep long class and method names on the page."""
    network = made[2]
    epochs = spatial_epochs.copy()
    epochs.event_id = LONG_CLASSES
    register_method(LongNamedSaliency)
    try:
        summary = trust_summary(
            network, epochs, [LongNamedSaliency.name], random_state=0, verbose=False
        )
        attribution = mne_xai_explain(network, epochs, LongNamedSaliency.name)
    finally:
        del _METHODS[LongNamedSaliency.name]
    spectrum = explain_spectrum(network, epochs, target="true", verbose=False)
    scores = pd.DataFrame(
        {
            "network": [0.8, 0.9],
            "chance": [0.5, 0.5],
            "CSP+LDA": [0.9, 1.0],
            "LR on samples": [0.6, 0.7],
        }
    )
    names = {code: name for name, code in LONG_CLASSES.items()}
    figures = [
        _plot_deletion(summary),
        _plot_accuracy(scores),
        _plot_frequency_relevance(spectrum, epochs.events[:, 2], names),
        _plot_time_course(
            _mean_magnitude(attribution, ["Oz", "Pz"]),
            f"{LongNamedSaliency.name}",
            "|relevance| (logit per volt of the input)",
        ),
    ]
    for figure in figures:
        assert_readable(figure)
        plt.close(figure)


def test_accuracy_figure_draws_each_fold_and_the_means_over_folds():
    """Each column but chance gets its folds' dots above its tick and a bar at
    their mean (not the median, 0.6 here); chance is a line at its mean over
    folds (not its highest, 0.8), and the axis shows accuracies from 0 to 1."""
    scores = pd.DataFrame(
        {
            "network": [0.1, 0.6, 1.0],
            "chance": [0.5, 0.5, 0.8],
            "LR on samples": [0.4, 0.5, 0.9],
        }
    )
    fig = _plot_accuracy(scores)
    ax = fig.axes[0]
    columns = ["network", "LR on samples"]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == columns
    dots, bars, chance = ax.lines[0:4:2], ax.lines[1:4:2], ax.lines[4]
    for position, (column, dot, bar) in enumerate(
        zip(columns, dots, bars, strict=True)
    ):
        np.testing.assert_allclose(dot.get_xdata(), position)
        np.testing.assert_allclose(dot.get_ydata(), scores[column])
        np.testing.assert_allclose(bar.get_xdata(), [position - 0.25, position + 0.25])
        np.testing.assert_allclose(bar.get_ydata(), scores[column].mean())
    np.testing.assert_allclose(chance.get_ydata(), 0.6)
    low, high = ax.get_ylim()
    assert low <= 0 and high >= 1
    left, right = ax.get_xlim()
    assert left < 0 and right > len(columns) - 1
    plt.close(fig)


def test_scores_over_folds_are_summed_up_by_their_mean_and_standard_deviation():
    """The text and the table give each column's mean over folds and its sample
    standard deviation (ddof=1), computed here with NumPy; on three folds of
    0.1, 0.6 and 1.0 the median (0.6) or ddof=0 (0.37) differ."""
    scores = pd.DataFrame(
        {"network": [0.1, 0.6, 1.0], "chance": [0.5, 0.5, 0.8]},
        index=pd.Index([1, 2, 3], name="fold"),
    )
    expected = {
        column: (np.mean(values), np.std(values, ddof=1))
        for column, values in scores.items()
    }
    assert _mean_and_spread(scores, "accuracy") == (
        "Mean accuracy over folds, ± its standard deviation: "
        + ", ".join(
            f"{c} {mean:.2f} ± {std:.2f}" for c, (mean, std) in expected.items()
        )
    )

    class Page:
        def add_table(self, table, title, section, **to_html):
            self.table = table

    page = Page()
    _add_scores_table(page, scores, "Scores")
    for column, (mean, std) in expected.items():
        assert page.table.loc["mean", column] == pytest.approx(mean)
        assert page.table.loc["standard deviation", column] == pytest.approx(std)
    assert page.table.index[:3].tolist() == [1, 2, 3]
    np.testing.assert_allclose(page.table.iloc[:3], scores)


# -- the command ------------------------------------------------------------------
@pytest.fixture(scope="module")
def epochs_file(spatial_epochs, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "sim-epo.fif"
    spatial_epochs.save(path, verbose=False)
    return path


def _run(capsys, *args):
    code = main(["report", *map(str, args), "--quiet"])
    return code, capsys.readouterr().err


def _bad_files(folder, spatial_epochs):
    corrupt = folder / "corrupt-epo.fif"
    corrupt.write_bytes(b"not a fif file")
    existing = folder / "existing.html"
    existing.write_text("keep me")
    not_a_model = folder / "model.pkl"
    not_a_model.write_bytes(b"not a pickle")
    unfitted = folder / "unfitted.pkl"
    unfitted.write_bytes(pickle.dumps(EEGNetClassifier()))
    return corrupt, existing, not_a_model, unfitted


@pytest.mark.parametrize(
    "case, match",
    [
        ("missing", "no such file"),
        ("corrupt", "cannot read 'corrupt-epo.fif' as fif epochs: it is not a FIF"),
        ("existing", "exists; pass --overwrite"),
        ("existing_model", "model.pkl' exists; pass --overwrite"),
        ("model", "cannot load 'model.pkl' as a saved model"),
        ("unfitted", "'unfitted.pkl' holds no fitted estimator."),
        # A saved network and an option of a new one, each alone refused.
        ("model_and_estimator", "--estimator, --max-epochs, --picks and"),
        ("model_and_picks", "choose a new one: give one or the other."),
        ("folder", "is a folder"),
        ("unwritable", "cannot write '/proc/out.html'"),  # after all the work
        ("no_folder", "the folder of '{tmp_path}/none/out.html' does not exist"),
    ],
)
def test_command_errors_in_one_line_and_writes_nothing(
    tmp_path, capsys, spatial_epochs, epochs_file, case, match
):
    corrupt, existing, not_a_model, unfitted = _bad_files(tmp_path, spatial_epochs)
    (tmp_path / "folder.html").mkdir()
    before = sorted(tmp_path.iterdir())
    inputs = dict(
        missing=tmp_path / "missing-epo.fif",
        corrupt=corrupt,
        existing=epochs_file,
        existing_model=epochs_file,
        model=epochs_file,
        unfitted=epochs_file,
        model_and_estimator=epochs_file,
        model_and_picks=epochs_file,
        folder=epochs_file,
        unwritable=tmp_path / "missing-epo.fif",  # found unwritable before reading
        no_folder=epochs_file,
    )
    output = {
        "existing": existing,
        "folder": tmp_path / "folder.html",
        "unwritable": Path("/proc/out.html"),  # no file can be made there
        "no_folder": tmp_path / "none" / "out.html",
    }.get(case, tmp_path / "out.html")
    extra = dict(
        # Quick to train, should the file be overwritten.
        existing_model=[
            "--save-model",
            not_a_model,
            "--max-epochs",
            "1",
            "--methods",
            "saliency",
            "--no-checks",
        ],  # fmt: skip
        model=["--model", not_a_model],
        unfitted=["--model", unfitted],
        model_and_estimator=["--model", unfitted, "--estimator", "eegnet"],
        model_and_picks=["--model", unfitted, "--picks", "eeg"],
        folder=["--overwrite"],
    )
    code, err = _run(
        capsys, inputs[case], "-o", output, "--cv", "2", *extra.get(case, [])
    )
    assert code == 1
    assert err.startswith("mne-xai report: error: ")
    assert match.format(tmp_path=tmp_path) in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == before
    assert existing.read_text() == "keep me"
    assert not_a_model.read_bytes() == b"not a pickle"


def test_command_writes_the_report_and_the_model(tmp_path, capsys, epochs_file):
    output, model = tmp_path / "out.html", tmp_path / "model.pkl"
    options = ["--cv", "2", "--methods", "saliency", "--no-checks"]
    code, err = _run(
        capsys, epochs_file, "-o", output, "--max-epochs", "2", "--save-model", model,
        *options,
    )  # fmt: skip
    # Two epochs of training leave the network at chance, and it says so in
    # one line, as errors are said; the network explained may also say that it
    # predicts one class, at fit and on the page (the folds' networks, scored
    # in the table, do not).
    lines = err.splitlines()
    assert code == 0 and 1 <= len(lines) <= 3
    assert any(
        line.startswith("mne-xai report: warning: The network does not beat chance")
        for line in lines
    )
    assert all(
        line.startswith("mne-xai report: warning: The network does not beat chance")
        or "predicts none of the" in line
        for line in lines
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pkl", "out.html"]
    assert "How far to trust the maps" in output.read_text()
    with model.open("rb") as file:
        assert pickle.load(file).classes_.tolist() == [1, 2]


def test_command_picks_the_channels_the_network_reads(
    tmp_path, capsys, spatial_epochs_with_eog
):
    """Its log advised passing names in picks, which the command had not."""
    data = tmp_path / "eog-epo.fif"
    spatial_epochs_with_eog.save(data, verbose=False)
    model = tmp_path / "model.pkl"
    options = ["--cv", "2", "--methods", "saliency", "--no-checks", "--max-epochs", "1"]
    code, err = _run(
        capsys, data, "-o", tmp_path / "out.html", "--save-model", model,
        "--picks", "eeg", "eog", "--class-weight", "balanced", *options,
    )  # fmt: skip
    assert code == 0, err
    with model.open("rb") as file:
        saved = pickle.load(file)
    read = saved.ch_names_
    assert read == spatial_epochs_with_eog.ch_names and "EOG" in " ".join(read)
    # The weighing the page advises for classes never predicted, and says.
    assert saved.class_weight == "balanced" and saved.class_weight_.tolist() == [1, 1]
    page = (tmp_path / "out.html").read_text()
    assert "class weights in training" in page
    assert "balanced: n_epochs / (n_classes * count) per class" in page
    code, err = _run(capsys, data, "-o", tmp_path / "again.html", "--model", model,
                     "--picks", "all")  # fmt: skip
    assert code == 1 and "--picks and --class-weight choose a new one" in err


@pytest.mark.parametrize("trained_on", ["renumbered labels", "other events"])
def test_command_says_how_to_fix_a_model_of_other_classes(
    tmp_path, capsys, spatial_epochs, epochs_file, trained_on
):
    """The command has no y, yet its errors said "Give them as y"."""
    if trained_on == "renumbered labels":
        X, y = spatial_epochs.get_data(), spatial_epochs.events[:, 2] - 1
    else:
        X, y = spatial_epochs.copy(), None
        X.event_id = {f"other {name}": code + 10 for name, code in X.event_id.items()}
        X.events[:, 2] += 10
    net = EEGNetClassifier(
        max_epochs=1, info=spatial_epochs.info, random_state=0, verbose=False
    )
    model = tmp_path / "model.pkl"
    with model.open("wb") as file, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch of training, at chance
        pickle.dump(net.fit(X, y), file)
    code, err = _run(capsys, epochs_file, "-o", tmp_path / "out.html", "--model", model)
    # Events named otherwise than in training are also warned of, on a line.
    errors = [line for line in err.splitlines() if "report: error" in line]
    assert code == 1 and len(errors) == 1
    assert "pass y" not in err.lower() and "as y" not in err
    assert "The command reads the classes from the events of the file" in err
    assert "give a model fitted on epochs with these events" in err
    assert "call mne_xai.report.make_report with y" in err
    if trained_on == "other events":  # as the file names them; was "names ['1', '2']"
        assert "The events of X (left (1), right (2)) are not all classes" in err
    assert not (tmp_path / "out.html").exists()


def _recorded_reports(monkeypatch):
    """Return the list to which the command's calls of make_report are added
    (its keyword arguments and the network), none of which trains."""
    calls = []

    def record(network, epochs, **kwargs):
        calls.append(dict(kwargs, network=network))
        return mne.Report()

    monkeypatch.setattr(command, "make_report", record)
    return calls


def test_command_groups_by_subject_only_where_there_are_several(spatial_epochs):
    """--groups auto keeps each subject in one fold where the metadata hold
    several, and mixes the epochs of one subject (it does not refuse them as
    a column of one group, which --groups subject does)."""
    epochs = spatial_epochs.copy()
    epochs.metadata = pd.DataFrame({"subject": np.zeros(len(epochs), int)})
    assert _fold_groups(epochs, "auto") is None
    with pytest.raises(CommandError, match="every epoch is in one group"):
        _fold_groups(epochs, "subject")
    epochs.metadata = pd.DataFrame({"subject": np.arange(len(epochs)) % 2})
    subjects = epochs.metadata["subject"].to_numpy()
    np.testing.assert_array_equal(_fold_groups(epochs, "auto"), subjects)


def test_command_keeps_each_subject_in_one_fold(
    tmp_path, capsys, monkeypatch, spatial_epochs
):
    """Folds mixed the windows of the drowsiness data's 11 subjects: 0.738
    where leave-subjects-out measured 0.679."""
    epochs = spatial_epochs.copy()
    epochs.metadata = pd.DataFrame({"subject": np.arange(len(epochs)) % 4})
    data = tmp_path / "subjects-epo.fif"
    epochs.save(data, verbose=False)
    calls = _recorded_reports(monkeypatch)
    for extra in ([], ["--groups", "none"], ["--cv", "6"], ["--groups", "session"]):
        code, err = _run(capsys, data, "-o", tmp_path / "out.html", "--overwrite",
                         "--cv", "2", *extra)  # fmt: skip
    grouped, mixed, fewer_groups_than_folds = calls
    # Four subjects for six folds: each fold holds out one (sklearn refused).
    assert fewer_groups_than_folds["cv"].get_n_splits() == 4
    assert code == 1 and "--groups session: the epochs' metadata hold no such" in err
    assert mixed["groups"] is None and mixed["cv"] == 2
    subjects = epochs.metadata["subject"].to_numpy()
    np.testing.assert_array_equal(grouped["groups"], subjects)
    y = epochs.events[:, 2]
    for train, test in grouped["cv"].split(y, y, grouped["groups"]):
        assert not set(subjects[train]) & set(subjects[test])
    # The folds make_report's warning advises (grouped_folds_advice), so that
    # make_report given them reproduces the command's page.
    advised = StratifiedGroupKFold(2, shuffle=True, random_state=0)
    for (_, test), (_, same) in zip(
        grouped["cv"].split(y, y, subjects), advised.split(y, y, subjects), strict=True
    ):
        np.testing.assert_array_equal(test, same)


def test_command_trains_the_network_its_options_name(
    tmp_path, capsys, monkeypatch, spatial_epochs
):
    """What --estimator, --max-epochs and --groups ask for reaches make_report,
    the page is titled with the file, and the file is readable as any new file."""
    epochs = spatial_epochs.copy()
    epochs.metadata = pd.DataFrame({"subject": np.zeros(len(epochs), int)})
    data = tmp_path / "one-subject-epo.fif"
    epochs.save(data, verbose=False)
    calls = _recorded_reports(monkeypatch)
    output = tmp_path / "out.html"
    # A umask other than the usual 0o022, which the mode must follow.
    umask = os.umask(0o027)
    try:
        code, err = _run(
            capsys, data, "-o", output, "--cv", "2",
            "--estimator", "interpretable_cnn", "--max-epochs", "3",
        )  # fmt: skip
    finally:
        os.umask(umask)
    assert code == 0, err
    (call,) = calls
    assert type(call["network"]) is InterpretableCNNClassifier
    assert call["network"].max_epochs == 3
    assert call["title"] == "InterpretableCNNClassifier on one-subject-epo.fif"
    # One subject: nothing to keep apart, the folds are the cv's.
    assert call["groups"] is None and call["cv"] == 2
    assert stat.S_IMODE(output.stat().st_mode) == 0o640  # 0o666 & ~0o027
    code, err = _run(capsys, data, "-o", output, "--overwrite", "--cv", "2",
                     "--groups", "subject")  # fmt: skip
    assert code == 1 and "--groups subject: every epoch is in one group" in err
    assert len(calls) == 1


def test_command_defaults_are_those_its_help_gives(
    tmp_path, capsys, monkeypatch, epochs_file
):
    """Without options the command trains EEGNet at the estimator's defaults
    ("its own schedule"), seeded so that a report can be made again, in 5 folds
    with the default methods and the trust checks; --picks all is MNE's "all",
    as a saved model refitted on arrays reads it, and --no-checks skips the
    checks."""
    calls = _recorded_reports(monkeypatch)
    output = tmp_path / "out.html"
    assert _run(capsys, epochs_file, "-o", output) == (0, "")
    (call,) = calls
    network, default = call["network"], EEGNetClassifier()
    assert type(network) is EEGNetClassifier and network.random_state == 0
    changed = {
        key
        for key, value in network.get_params(deep=False).items()
        if value != default.get_params(deep=False)[key]
    }
    assert changed <= {"random_state", "verbose"}, changed
    assert (call["cv"], call["groups"], call["checks"]) == (5, None, True)
    assert call["methods"] == list(DEFAULT_METHODS)
    code, err = _run(capsys, epochs_file, "-o", output, "--overwrite",
                     "--picks", "all", "--no-checks")  # fmt: skip
    assert code == 0, err
    assert calls[1]["network"].picks == "all" and calls[1]["checks"] is False


def test_make_report_warns_that_folds_without_groups_mix_subjects(spatial_epochs):
    """The command keeps each subject in one fold; make_report, given the same
    epochs without groups, mixed them in every fold without a word."""
    epochs = spatial_epochs.copy()
    epochs.metadata = pd.DataFrame({"subject": np.arange(len(epochs)) % 4})
    network = EEGNetClassifier(max_epochs=1, verbose=False)
    # cv=1 is refused right after the check, before any training; the folds
    # advised are two, the fewest StratifiedGroupKFold takes.
    advice = r"4 subjects .* StratifiedGroupKFold\(2, shuffle=True"
    with pytest.warns(RuntimeWarning, match=advice):
        with pytest.raises(ValueError, match="cv must be at least 2"):
            make_report(network, epochs, cv=1, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="cv must be at least 2"):
            make_report(
                network, epochs, cv=1, groups=epochs.metadata["subject"], verbose=False
            )
    # Epochs of one subject: no folds mix subjects.
    epochs.metadata = pd.DataFrame({"subject": np.zeros(len(epochs), int)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="cv must be at least 2"):
            make_report(network, epochs, cv=1, verbose=False)


def test_advice_to_split_by_subject_works_for_fewer_subjects_than_folds(
    spatial_epochs,
):
    """Of 3 subjects, the warning advised "StratifiedGroupKFold(5)", which
    scikit-learn refuses ("Cannot have number of splits n_splits=5 greater than
    the number of groups: 3"), saying "(mne-xai report does so by default)" of
    what make_report does not; groups beside cv=5 were refused naming
    "cv=StratifiedKFold(n_splits=5, random_state=0, shuffle=True)", never
    written, and advising StratifiedGroupKFold(5, ...) again."""
    epochs = spatial_epochs.copy()
    epochs.metadata = pd.DataFrame({"subject": np.arange(len(epochs)) % 3})
    advice = "StratifiedGroupKFold(3, shuffle=True, random_state=0)"
    # Warned before any work: labels of one class, refused right after, spare
    # the training.
    with pytest.warns(RuntimeWarning, match="3 subjects") as record:
        with pytest.raises(ValueError, match="one class only"):
            make_report(_network(), epochs, np.ones(len(epochs), int), cv=5)
    (warned,) = [str(w.message) for w in record if "3 subjects" in str(w.message)]
    assert advice in warned and "make_report splits as its cv says" in warned
    groups = epochs.metadata["subject"]
    with pytest.raises(ValueError, match=r"^cv=5 \(an int: .*ignores groups") as err:
        make_report(_network(), epochs, groups=groups, verbose=False)
    assert "StratifiedKFold" not in str(err.value) and advice in str(err.value)
    # As advised.
    report = make_report(
        _network(max_epochs=1),
        _two_channels(epochs),
        methods=["saliency"],
        cv=StratifiedGroupKFold(3, shuffle=True, random_state=0),
        groups=groups,
        checks=False,
        verbose=False,
    )
    assert "Each of the 3 fold(s)" in _contents(report)[SECTIONS["accuracy"]]


# -- in a browser -----------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = f"Chromium not found at {CHROMIUM} (Debian's chromium package)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def test_report_opens_in_a_browser_with_every_section(browser, page):
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(page.as_uri(), wait_until="load")
    for key, title in SECTIONS.items():
        section = tab.locator(".accordion-item.section").filter(
            has=tab.locator(f"#accordion-header-{title.replace(' ', '_')}")
        )
        assert section.count() == 1, title
        heading = section.locator(".accordion-header span.me-auto a").first
        assert heading.inner_text().strip() == title
        widths = section.locator("img").evaluate_all(
            "images => images.map(image => image.complete ? image.naturalWidth : 0)"
        )
        assert len(widths) >= IMAGES[key], title
        assert all(width > 0 for width in widths), title
    assert errors == []
    tab.close()


def test_demo_help_says_what_it_does_and_reads(capsys):
    """``mne-xai demo --help`` listed its options only."""
    with pytest.raises(SystemExit, match="0"):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "against CSP+LDA" in text and "MNE_DATA" in text and "trust" in text


def _answers(y, held_out, n_right):
    """Predictions of two classes getting the first ``n_right`` epochs each fold
    tests right and the others wrong."""
    first, second = np.unique(y)
    return [
        np.where(np.arange(len(test)) < right, y[test], first + second - y[test])
        for test, right in zip(held_out, n_right, strict=True)
    ]


def _demo_results(y, cv, n_right):
    """The demo's results of a network getting ``n_right`` epochs of each split right."""
    predictions = _answers(y, [test for _, test in cv.split(y, y)], n_right)
    scores = np.array(
        [right / len(p) for right, p in zip(n_right, predictions, strict=True)]
    )
    return {"network": (scores, predictions, 1.0)}


def test_demo_gives_the_spread_over_folds_as_the_report_does(capsys):
    """The demo printed NumPy's std (ddof=0) and the report pandas' (ddof=1):
    0.667 ± 0.111 and 0.67 ± 0.16 for the same two folds."""
    y = np.repeat([0, 1], 10)
    cv = ShuffleSplit(2, test_size=9, random_state=0)
    _print_accuracies(_demo_results(y, cv, [5, 7]), y, cv)
    assert "0.667 ± 0.157" in capsys.readouterr().out


def test_demo_tests_chance_as_the_report_does(capsys):
    """The demo took chance from all epochs (0.5 of these equal classes); its
    shuffle splits test class 0 in 21 of 30 tests, and a network always
    answering 0 beat chance there (18 of 25 right, p = 0.02), which the
    report's verdict, taking chance from the epochs tested, refuses."""
    y = np.repeat([0, 1], 20)
    cv = ShuffleSplit(3, test_size=10, random_state=34)
    held_out = [test for _, test in cv.split(y, y)]
    assert np.mean(y[np.concatenate(held_out)] == 0) == 0.7
    always_zero = [np.zeros(len(test), int) for test in held_out]
    scores = np.array([np.mean(y[test] == 0) for test in held_out])
    _print_accuracies({"network": (scores, always_zero, 1.0)}, y, cv)
    lines = capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if line.startswith("network")]
    assert "NO: do not read its maps: balanced accuracy 0.50" in line
    (chance,) = [line for line in lines if line.startswith("chance")]
    assert chance.split()[-1] == "0.700"
    page = _VerdictPage(y)
    with pytest.warns(RuntimeWarning, match="does not beat chance"):
        _add_chance_verdict(page, [], held_out, always_zero, "It")
    # The same words, up to the report's caveat of folds.
    assert line.split(": ", 2)[2].removesuffix(")") in page.text


def test_demo_of_one_split_prints_no_spread(capsys):
    """``mne-xai demo --n-splits 1``, which the command accepts, printed
    "0.800 ± nan" after two NumPy warnings (the spread of one fold, ddof=1)."""
    y = np.repeat([0, 1], 25)
    cv = ShuffleSplit(1, test_size=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _print_accuracies(_demo_results(y, cv, [8]), y, cv)
    out = capsys.readouterr().out
    assert "nan" not in out
    (line,) = [line for line in out.splitlines() if line.startswith("network")]
    assert line.split()[1:3] == ["0.800", "1.0"]


def test_demo_averages_the_accuracies_of_its_folds(capsys):
    """The table gives the mean of the folds' accuracies: 5, 6 and 9 of 9
    right are 20 of 27 (0.741), where their median is 0.667."""
    y = np.repeat([0, 1], 10)
    cv = ShuffleSplit(3, test_size=9, random_state=0)
    _print_accuracies(_demo_results(y, cv, [5, 6, 9]), y, cv)
    lines = capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if line.startswith("network")]
    assert line.split()[1] == f"{20 / 27:.3f}"


def test_demo_says_the_same_verdict_at_every_run(capsys):
    """The permutation test of unequal classes is seeded: the same predictions
    get the same p at every run of the demo, as in the report."""
    y = np.repeat([0, 1], [26, 14])
    cv = ShuffleSplit(2, test_size=10, random_state=0)
    results = _demo_results(y, cv, [8, 8])  # p near 0.07: unseeded, it varies
    outputs = []
    for _ in range(3):
        _print_accuracies(results, y, cv)
        outputs.append(capsys.readouterr().out)
    assert "permutation test" in outputs[0]
    assert outputs[1:] == outputs[:1] * 2


def test_demo_folds_train_on_their_training_epochs_and_score_the_others(capsys):
    """Each fold's estimator is fitted on the fold's training epochs only, and
    its accuracy is the share of its held-out epochs predicted right."""
    from mne_xai.cli import _cross_validate

    y = np.repeat([1, 2], 10)
    epochs = mne.EpochsArray(
        np.zeros((20, 2, 5)), mne.create_info(2, 10.0, "eeg"), verbose=False
    )
    # Right on the first 14 epochs and wrong on the others, whatever it learns.
    answers = np.where(np.arange(20) < 14, y, 3 - y)
    fitted = []

    class Answering:
        def fit(self, epochs, y):
            fitted.append(epochs.selection)
            return self

        def predict(self, epochs):
            return answers[epochs.selection]

    cv = ShuffleSplit(3, test_size=5, random_state=0)
    scores, predictions = _cross_validate("answers", Answering, epochs, y, cv)
    for (train, test), seen, score, predicted in zip(
        cv.split(y, y), fitted, scores, predictions, strict=True
    ):
        np.testing.assert_array_equal(np.sort(seen), np.sort(train))
        np.testing.assert_array_equal(predicted, answers[test])
        assert score == np.mean(test < 14)
    assert len(set(scores)) > 1  # folds told apart
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("fold ")[1].split(":")[0] for line in lines] == [
        "1/3",
        "2/3",
        "3/3",
    ]


def test_demo_without_data_says_so_in_one_line(monkeypatch, capsys, tmp_path):
    """Without the data and the network, the demo printed requests' traceback."""

    def no_network(*args, **kwargs):
        raise OSError("Max retries exceeded with url: physionet.org")

    monkeypatch.setattr(mne_xai.datasets, "load_eegbci", no_network)
    assert main(["demo", "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mne-xai demo: error: cannot read EEGBCI subject 1")
    assert "MNE_DATA" in err and err.count("\n") == 1


def _demo_must_not_load(monkeypatch, when):
    """Make the demo's loading of EEGBCI fail the test, saying ``when`` it loaded."""

    def must_not_load(*args, **kwargs):
        raise AssertionError(f"the data were loaded {when}")

    monkeypatch.setattr(mne_xai.datasets, "load_eegbci", must_not_load)


def test_command_paths_from_the_home_folder(monkeypatch, capsys, tmp_path, epochs_file):
    """Shells leave "~" in --output=~/figs: the demo made a folder named "~"
    in the working folder, and the report found no file "~/model.pkl"."""
    _demo_must_not_load(monkeypatch, "before the output was checked")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    assert main(["demo", "--output=~/a_file"]) == 1
    err = capsys.readouterr().err
    assert f"cannot write the figures to {tmp_path / 'a_file'}" in err
    (tmp_path / "model.pkl").write_bytes(b"not a model")
    shutil.copy(epochs_file, tmp_path)
    code, err = _run(
        capsys, "~/sim-epo.fif", "--output=~/out.html", "--model=~/model.pkl"
    )
    assert code == 1 and "model.pkl" in err, err
    assert "no model file" not in err and "no such file" not in err
    _recorded_reports(monkeypatch)
    assert _run(capsys, "~/sim-epo.fif", "--output=~/out.html") == (0, "")
    assert (tmp_path / "out.html").is_file()
    assert not (tmp_path / "~").exists()


def test_demo_checks_its_output_before_training(monkeypatch, capsys, tmp_path):
    """An --output it could not write ended the demo in a traceback, after all
    the training."""
    _demo_must_not_load(monkeypatch, "before the output was checked")
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert main(["demo", "--output", str(a_file)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"mne-xai demo: error: cannot write the figures to {a_file}")
    assert err.count("\n") == 1

    # An existing folder it may not write in (tests run as root, who may).
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    assert main(["demo", "--output", str(tmp_path)]) == 1
    assert "Permission denied" in capsys.readouterr().err


def test_the_command_gives_the_caller_its_log_level_back(monkeypatch, tmp_path):
    """main, called in-process (tests, notebooks), left MNE's log level at its
    command's: a caller's ERROR (40) was INFO (20) after a report, and WARNING
    (30) after the demo or a report with --quiet."""
    levels = []

    def record(*args, **kwargs):
        levels.append(mne.utils.logger.level)
        raise OSError("no data in this test")

    monkeypatch.setattr(mne_xai.datasets, "load_eegbci", record)
    monkeypatch.setattr(mne_xai.report._command, "run_report", record)
    report = ["report", "in-epo.fif", "-o", str(tmp_path / "out.html")]
    with mne.utils.use_log_level("ERROR"):
        for argv in (["demo", "--output", str(tmp_path)], report, [*report, "--quiet"]):
            assert main(argv) == 1
            assert mne.utils.logger.level == logging.ERROR
    # Each command speaks as it did.
    assert levels == [logging.WARNING, logging.INFO, logging.WARNING]


def test_demo_trains_the_networks_with_their_defaults(
    monkeypatch, capsys, tmp_path, spatial_epochs
):
    """The demo trained with settings picked for EEGBCI (batch 8, lr 3e-3, 60
    epochs), so it showed what those settings do, not the estimators."""
    monkeypatch.setattr(
        mne_xai.datasets, "load_eegbci", lambda *a, **k: spatial_epochs.copy()
    )
    # One second of simulated data: the demo's windows are not cut.
    monkeypatch.setattr(type(spatial_epochs), "crop", lambda self, *a, **k: self)
    trained = {}

    def record(name, make_estimator, epochs, y, cv):
        trained[name] = make_estimator()
        if len(trained) == 3:
            raise KeyboardInterrupt  # no need to train
        return np.ones(cv.get_n_splits()), []

    monkeypatch.setattr(mne_xai.cli, "_cross_validate", record)
    assert main(["demo", "--output", str(tmp_path)]) == 130
    networks = [net for net in trained.values() if hasattr(net, "module")]
    for net, default in zip(
        networks, [EEGNetClassifier(), InterpretableCNNClassifier()], strict=True
    ):
        assert net.random_state == 0
        changed = {
            key
            for key, value in net.get_params(deep=False).items()
            if value != default.get_params(deep=False)[key]
        }
        assert changed <= {"random_state", "verbose"}, changed
    trained.clear()
    main(["demo", "--output", str(tmp_path), "--max-epochs", "7"])
    assert all(
        net.max_epochs == 7 for net in trained.values() if hasattr(net, "module")
    )


def _demo_loading(monkeypatch):
    """Make the demo load 10 epochs of -1 to 4 s, as load_eegbci's; return the
    list of the loader's arguments."""
    info = mne.create_info(["C3", "C4"], 10.0, "eeg")
    recording = mne.EpochsArray(np.zeros((10, 2, 51)), info, tmin=-1.0, verbose=False)
    loaded = []

    def load(*args, **kwargs):
        loaded.append(args)
        return recording.copy()

    monkeypatch.setattr(mne_xai.datasets, "load_eegbci", load)
    return loaded


def test_demo_defaults_are_those_its_help_gives(monkeypatch, tmp_path):
    """EEGBCI subject 1, hands vs feet, in 5 shuffle splits of 20% (seed 42):
    CSP+LDA on 1-2 s and the networks on the imagery period, 0-4 s, as its
    help and its table's names say; the EEGNet it explains is trained on all
    the epochs of 0-4 s."""
    loaded, seen = _demo_loading(monkeypatch), {}

    def record(name, make_estimator, epochs, y, cv):
        seen[name] = (epochs.tmin, epochs.tmax, cv)
        return np.ones(cv.get_n_splits()), []

    class Explained:
        def __init__(self, **params):
            pass

        def fit(self, epochs):
            seen["explained"] = (epochs.tmin, epochs.tmax, len(epochs))
            raise KeyboardInterrupt  # no need to train

    monkeypatch.setattr(mne_xai.cli, "_cross_validate", record)
    monkeypatch.setattr(
        mne_xai.cli, "_print_accuracies", lambda *a: {"EEGNetClassifier (0-4 s)": True}
    )
    monkeypatch.setattr(mne_xai, "EEGNetClassifier", Explained)
    assert main(["demo", "--output", str(tmp_path)]) == 130
    assert loaded == [(1, "hands_vs_feet")]
    assert seen.pop("explained") == (0.0, 4.0, 10)
    assert {name: (tmin, tmax) for name, (tmin, tmax, _) in seen.items()} == {
        "CSP+LDA (1-2 s)": (1.0, 2.0),
        "EEGNetClassifier (0-4 s)": (0.0, 4.0),
        "InterpretableCNN (0-4 s)": (0.0, 4.0),
    }
    for *_, cv in seen.values():
        assert (cv.get_n_splits(), cv.test_size, cv.random_state) == (5, 0.2, 42)


def test_demo_gives_the_seconds_of_each_candidate(monkeypatch, tmp_path):
    """The table's time of each candidate is that of its cross-validation."""
    _demo_loading(monkeypatch)
    now = [100.0]
    durations = {
        "CSP+LDA (1-2 s)": 2.0,
        "EEGNetClassifier (0-4 s)": 30.0,
        "InterpretableCNN (0-4 s)": 50.0,
    }
    timed = {}

    def take_time(name, make_estimator, epochs, y, cv):
        now[0] += durations[name]
        return np.ones(cv.get_n_splits()), []

    def record(results, y, cv):
        timed.update({name: seconds for name, (*_, seconds) in results.items()})
        raise KeyboardInterrupt  # no need to explain

    monkeypatch.setattr(
        mne_xai.cli, "time", SimpleNamespace(perf_counter=lambda: now[0])
    )
    monkeypatch.setattr(mne_xai.cli, "_cross_validate", take_time)
    monkeypatch.setattr(mne_xai.cli, "_print_accuracies", record)
    assert main(["demo", "--output", str(tmp_path)]) == 130
    assert timed == durations


@pytest.mark.parametrize("beats_chance", [False, True])
def test_demo_says_when_the_network_it_explains_is_at_chance(
    monkeypatch, capsys, tmp_path, spatial_epochs, beats_chance
):
    """EEGNet's maps are said to explain noise when it did not beat chance."""
    monkeypatch.setattr(
        mne_xai.datasets, "load_eegbci", lambda *a, **k: spatial_epochs.copy()
    )
    monkeypatch.setattr(type(spatial_epochs), "crop", lambda self, *a, **k: self)
    monkeypatch.setattr(
        mne_xai.cli, "_cross_validate", lambda *a: (np.ones(a[-1].get_n_splits()), [])
    )
    monkeypatch.setattr(
        mne_xai.cli,
        "_print_accuracies",
        lambda *a: {"EEGNetClassifier (0-4 s)": beats_chance},
    )

    class Interrupted:
        def __init__(self, **params):
            pass

        def fit(self, *args):
            raise KeyboardInterrupt  # no need to train

    monkeypatch.setattr(mne_xai, "EEGNetClassifier", Interrupted)
    assert main(["demo", "--output", str(tmp_path)]) == 130
    said = "EEGNet did not beat chance above" in capsys.readouterr().out
    assert said is not beats_chance


def test_demo_trust_checks_are_seeded(monkeypatch, capsys):
    """As the demo's splits and networks are: unseeded, trust_summary draws a
    seed of its own, and two runs of the demo printed other figures."""
    seeds = []

    def summarize(estimator, epochs, methods, *, random_state, verbose):
        seeds.append(random_state)
        return SimpleNamespace(describe=lambda: "")

    monkeypatch.setattr(mne_xai.evaluate, "trust_summary", summarize)
    _print_trust(None, None)
    (seed,) = seeds
    assert isinstance(seed, int)


def test_demo_figures_leave_the_callers_backend(tmp_path, spatial_epochs):
    """The demo switched matplotlib to Agg for good, in the caller's process."""
    network = _network(max_epochs=2).fit(spatial_epochs)
    backend = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        _save_explanations(network, spatial_epochs, tmp_path)
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(backend)
    assert len(list(tmp_path.glob("*.png"))) == 4


def test_demo_figures_of_the_true_class_explain_it(
    monkeypatch, tmp_path, spatial_epochs
):
    """The DeepLIFT figures, titled "true class", show the maps of each
    epoch's own class, not of the class the network predicted for it."""
    shown = []
    plot = mne_xai.viz.plot_class_topomaps

    def record(maps, **kwargs):
        shown.append(maps)
        return plot(maps, **kwargs)

    monkeypatch.setattr(mne_xai.viz, "plot_class_topomaps", record)
    network = _network(max_epochs=2).fit(spatial_epochs)
    _save_explanations(network, spatial_epochs, tmp_path)
    (maps,) = shown
    assert recorded_target(maps) == "true"


@pytest.mark.parametrize(
    "argument, match",
    [
        (["--subject", "0"], "--subject: 0 is not from 1 to 109"),
        (["--n-splits", "0"], "--n-splits: 0 is not 1 or more"),
        (["--max-epochs", "0"], "--max-epochs: 0 is not 1 or more"),
        # Not read as 2 splits, nor as 2 by rounding down.
        (["--n-splits", "2.5"], "--n-splits: '2.5' is not an integer"),
    ],
)
def test_demo_refuses_arguments_out_of_range_in_one_line(
    monkeypatch, tmp_path, capsys, argument, match
):
    """--subject 0 gave a traceback; --n-splits 0 trained every network, then
    failed; --max-epochs 0 printed the accuracies of untrained networks."""
    # Accepted, the argument would run the demo's training.
    _demo_must_not_load(monkeypatch, f"though {argument} is out of range")
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--output", str(tmp_path), *argument])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"mne-xai demo: error: argument {match}"


def test_command_line_bounds_are_inclusive():
    """--subject 1 and 109 (EEGBCI's first and last) and --cv 2 are accepted;
    one past either bound is refused."""
    subject, folds = _int_in(1, 109), _int_in(2)
    assert (subject("1"), subject("109"), folds("2")) == (1, 109, 2)
    for read, text in ((subject, "0"), (subject, "110"), (folds, "1")):
        with pytest.raises(argparse.ArgumentTypeError, match=f"{text} is not"):
            read(text)


@pytest.mark.parametrize(
    "argument, match",
    [
        (["--methods", "salincy"], "--methods: invalid choice: 'salincy'"),
        (["--cv", "1"], "--cv: 1 is not 2 or more"),
        (["--max-epochs", "0"], "--max-epochs: 0 is not 1 or more"),
    ],
)
def test_report_refuses_arguments_in_command_line_terms(
    tmp_path, capsys, epochs_file, argument, match
):
    """A misspelled method was refused as "the 'methods[0]' parameter", and
    --cv 1 as "cv must be at least 2 folds", after the data were read."""
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(epochs_file), "-o", str(tmp_path / "out.html"), *argument])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"mne-xai report: error: argument {match}")
    assert not (tmp_path / "out.html").exists()


def test_maps_per_class_follow_the_labels_given(spatial_epochs, monkeypatch):
    """With labels other than the events (make_report(clf, epochs, y)), the maps
    per class were grouped by the epochs' events: each column mixed classes."""
    epochs = spatial_epochs.copy()
    y = np.where(epochs.events[:, 2] == epochs.event_id["left"], "left", "right")
    rng = np.random.default_rng(0)
    epochs.events[:, 2] = rng.choice([1, 4], len(epochs))
    epochs.event_id = {"stim/A": 1, "stim/B": 4}
    drawn = {}

    def spy(attribution, **kwargs):
        drawn[kwargs["title"]] = attribution
        return plt.figure()

    monkeypatch.setattr(report_maps, "plot_class_topomaps", spy)
    with pytest.warns(RuntimeWarning, match="does not beat chance"):
        make_report(
            _network(max_epochs=1), epochs, y, methods=METHODS, cv=2, checks=False
        )
    assert len(drawn) == len(METHODS)
    for attribution in drawn.values():
        assert set(attribution.event_id) == {"left", "right"}
        names = {code: name for name, code in attribution.event_id.items()}
        assert [names[code] for code in attribution.events[:, 2]] == y.tolist()
    assert set(epochs.event_id) == {"stim/A", "stim/B"}  # the epochs are left alone


@pytest.fixture(scope="module")
def explained(trained, spatial_epochs):
    """The report's context once its methods are explained, for labels giving
    each epoch the other class than its event's: maps of the class the network
    predicts (mostly the event's) differ from them. Grad-CAM gives every
    channel the same map."""
    y = np.where(spatial_epochs.events[:, 2] == 1, 2, 1)
    plan = check_data(trained, spatial_epochs, y, None, fitted=True)
    context = _Context(
        mne.Report(verbose=False),
        spatial_epochs,
        y,
        plan,
        ["grad_cam", *METHODS],
        0,
        trained,
    )
    _explain_all(context)
    return context


def test_maps_explain_the_class_given_to_each_epoch(explained, spatial_epochs):
    """The maps are of each epoch's class in y, not of its event nor of the
    class predicted, and are grouped under that class's name."""
    names = {code: name for name, code in spatial_epochs.event_id.items()}
    for method, attribution in explained.attributions.items():
        expected = mne_xai_explain(
            explained.estimator,
            spatial_epochs,
            method,
            target=explained.y,
            random_state=0,
            verbose=False,
        )
        np.testing.assert_allclose(attribution.get_data(), expected.get_data())
        event_names = {code: name for name, code in attribution.event_id.items()}
        assert [event_names[code] for code in attribution.events[:, 2]] == [
            names[label] for label in explained.y
        ]


def _figure_title(figure):
    return figure.get_suptitle() or figure.axes[0].get_title()


def _drawn(monkeypatch, context, *plots):
    """Replace the plots named in the maps section by empty figures titled as
    asked, and record each plot's arguments and, per figure added to the
    page, its title, the titles of its figures and their captions."""
    calls = {plot: [] for plot in plots}

    def spy(plot):
        def draw(*args, title, **kwargs):
            calls[plot].append(dict(kwargs, args=args))
            figure = plt.figure()
            figure.suptitle(title)
            return figure

        return draw

    for plot in plots:
        monkeypatch.setattr(_maps, plot, spy(plot))
    added = {}

    def add_figures(figures, title, key, caption=None):
        added[title] = ([_figure_title(figure) for figure in figures], caption)
        for figure in figures:
            plt.close(figure)

    monkeypatch.setattr(context, "add_figures", add_figures)
    return calls, added


def test_each_methods_topomaps_are_captioned_with_it_in_the_order_asked(
    explained, monkeypatch
):
    """The comparison's rows and the slider of topomaps follow the methods as
    asked, each image captioned with the method it draws and labelled in
    that method's unit (logit per volt for saliency, logit for gradient x
    input); Grad-CAM, the same on every channel, has none."""
    calls, added = _drawn(
        monkeypatch, explained, "plot_method_comparison", "plot_class_topomaps"
    )
    _add_maps(explained)
    ((_, _, methods),) = [call["args"] for call in calls["plot_method_comparison"]]
    assert methods == METHODS
    titles, captions = added["Each method in its unit"]
    assert captions == METHODS
    for title, caption in zip(titles, captions, strict=True):
        assert title.startswith(f"{caption}:")
    units = [call["units"] for call in calls["plot_class_topomaps"]]
    assert units == ["relevance (logit/V)", "relevance (logit)"]


def test_each_time_course_is_captioned_with_its_method(explained, monkeypatch):
    """Each image of the slider over time is captioned with the method it
    draws; Grad-CAM's, the same on every channel, is one line for them all."""
    _, added = _drawn(monkeypatch, explained, "plot_attribution_joint")
    _add_time(explained)
    titles, captions = added["Mean relevance magnitude"]
    assert captions == explained.methods
    for title, caption in zip(titles, captions, strict=True):
        assert title == f"{caption}: mean |relevance| over epochs"


def _meg_epochs(n_positions=12, n_epochs=40):
    """Magnetometers and planar gradiometer pairs at a layout's positions."""
    layout = mne.channels.read_layout("Vectorview-all")
    names, kinds, positions = [], [], []
    for name in [name for name in layout.names if name.endswith("1")][:n_positions]:
        x, y = layout.pos[layout.names.index(name)][:2]
        for suffix, kind in (("1", "mag"), ("2", "grad"), ("3", "grad")):
            names.append(name[:-1].replace(" ", "") + suffix)
            kinds.append(kind)
            positions.append(np.array([x - 0.5, y - 0.5, 0.3]) * 0.15)
    info = mne.create_info(names, 64.0, kinds)
    for channel, position in zip(info["chs"], positions, strict=True):
        channel["loc"][:3] = position
        channel["loc"][3:12] = np.eye(3).ravel()
    rng = np.random.default_rng(0)
    labels = np.repeat([1, 2], n_epochs // 2)
    data = rng.standard_normal((n_epochs, len(names), 64))
    data[labels == 2, 0] += 3 * np.sin(2 * np.pi * 10 * np.arange(64) / 64)
    data *= np.where(np.array(kinds) == "mag", 1e-13, 1e-11)[:, np.newaxis]
    events = np.c_[np.arange(n_epochs) * 100, np.zeros(n_epochs, int), labels]
    return mne.EpochsArray(
        data, info, events=events, event_id={"a": 1, "b": 2}, verbose=False
    )


def test_report_of_magnetometers_and_gradiometers():
    """The report of MEG data failed at its last section (signed patterns on
    gradiometers) after all the work; saliency, per unit of input, set the
    shares of channel types (0.98 magnetometers) and, refused by the trust
    checks, left every other method unchecked."""
    with pytest.warns(RuntimeWarning, match="does not beat chance") as caught:
        report = make_report(
            _network(max_epochs=1), _meg_epochs(), methods=METHODS, cv=2
        )
    # The shares are of gradient x input, in logits: no warning that maps per
    # unit of input (saliency's) would compare the units.
    assert not [w for w in caught if "several types" in str(w.message)]
    contents = _contents(report)
    trust = contents["How far to trust the maps"]
    assert "saliency is not checked: saliency gives maps in logit/(input" in trust
    assert "gradient_x_input" in trust and "target randomization" in trust
    assert "gradient_x_input" in contents["Modality importance"]
    # The topomaps draw the gradiometers alone, and the page said "logit per
    # volt" of MEG without saying either.
    maps = contents["Attribution maps per class"]
    assert "show the 24 grad channels only" in maps and "(12 mag)" in maps
    assert "logit/(input unit) for gradients" in maps and "volt" not in maps
    patterns = contents["Spatial patterns"]
    assert "<img" in patterns and "No pattern topomaps" not in patterns


def test_topomap_plan_counts_sensor_positions_not_channels():
    """Two gradiometer pairs are four channels at two positions: the plan
    promised topomaps that the figure then refused."""
    epochs = _meg_epochs(n_positions=2).pick("grad")
    plan = check_data(_network(), epochs, epochs.events[:, 2], 2, fitted=False)
    assert plan.topomap_type is None
    assert "at 2 sensor position(s)" in plan.why_no_topomaps
    three = _meg_epochs(n_positions=3).pick("grad")
    assert check_data(_network(), three, three.events[:, 2], 2, False).topomap_type


def test_topomaps_show_the_brain_channels_whatever_their_number(spatial_epochs):
    """Four EOG channels beside three EEG ones made the EOG the topomaps' type:
    the report was refused, and asked for a montage, which places no EOG."""
    epochs = spatial_epochs.copy().pick(spatial_epochs.ch_names[:7])
    epochs.set_channel_types(dict.fromkeys(epochs.ch_names[3:], "eog"), verbose=False)
    network = _network(picks=["eeg", "eog"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = check_data(network, epochs, epochs.events[:, 2], 2, fitted=False)
    assert plan.topomap_type == "eeg" and plan.why_no_topomaps is None


def test_overview_names_the_network_inside_the_estimator():
    """EEGNetClassifier(module=MyNet) was shown as "EEGNetClassifier"."""

    class MyNet(torch.nn.Module):
        pass

    assert _describe(EEGNetClassifier()) == "EEGNetClassifier"
    assert _describe(EEGNetClassifier(module=MyNet)) == (
        "EEGNetClassifier (network MyNet)"
    )
    assert _describe(CroppedClassifier(EEGNetClassifier(module=MyNet))) == (
        "CroppedClassifier of EEGNetClassifier (network MyNet)"
    )


def test_overview_gives_the_classes_folds_and_weights_the_page_measured(
    spatial_epochs,
):
    """The overview's facts: each class's epochs, the folds trained, the class
    weights of a network inside a pipeline, which the pipeline ends in, and a
    pointer to why methods were refused only when some were."""

    class Page:
        epochs = spatial_epochs
        plan = SimpleNamespace(ch_types={"eeg": 32})
        y = np.repeat([1, 2], [30, 10])
        class_names = {1: "left", 2: "right"}
        estimator = make_pipeline(
            FunctionTransformer(), _network(class_weight={1: 2.0, 2: 1.0})
        )

        def __init__(self, refused):
            self.refused = refused

        def windows_read(self):
            return None

        def explained(self):
            return "saliency"

        def paragraph(self, key, **values):
            pass

        def add_table(self, table, title, key, **to_html):
            self.facts = table[""].to_dict()

        def note_warnings(self, key, caught):
            pass

    for refused in ({}, {"deeplift": "no gradients"}):
        page = Page(refused)
        _add_overview(page, False, 3)
        assert page.facts["epochs"] == "left: 30, right: 10"
        assert page.facts["network"] == "Pipeline ending in EEGNetClassifier"
        assert page.facts["class weights in training"] == "1: 2, 2: 1"
        assert page.facts["training"] == (
            "cross-validated (3 folds), then fitted on all epochs"
        )
        assert ("(why, under" in page.facts["methods explained"]) == bool(refused)


def _spy_on_fits(monkeypatch):
    """Record the channels every EEGNetClassifier fitted reads."""
    read, fit = [], EEGNetClassifier.fit

    def recording_fit(self, X, y=None, **params):
        fit(self, X, y, **params)
        read.append(list(self.ch_names_))
        return self

    monkeypatch.setattr(EEGNetClassifier, "fit", recording_fit)
    return read


@pytest.mark.filterwarnings("ignore:The network")
def test_folds_train_on_the_channels_the_network_reads(spatial_epochs, monkeypatch):
    """A network fitted on 8 of 32 channels was explained on its 8, but the
    folds' copies (picks=None) read all 32: the accuracy was another network's."""
    eight = spatial_epochs.ch_names[:8]
    fitted = _network(max_epochs=1).fit(spatial_epochs.copy().pick(eight))
    read = _spy_on_fits(monkeypatch)
    overview = _quick_report(fitted, spatial_epochs)["Overview"]
    assert "8 eeg" in overview
    assert read == [eight, eight]  # the two folds
    # Picks by index name the same channels in the folds as in the final fit.
    read.clear()
    _quick_report(_network(max_epochs=1, picks=[0, 2, 5]), spatial_epochs)
    assert read == [["Fp1", "F7", "F4"]] * 3


def _balanced(epochs, n_per_class, n_second=None):
    """The first epochs of each class (``n_second`` of the second, if given)."""
    codes = epochs.events[:, 2]
    counts = (n_per_class, n_per_class if n_second is None else n_second)
    keep = np.concatenate(
        [np.flatnonzero(codes == c)[:n] for c, n in zip((1, 2), counts, strict=True)]
    )
    return epochs[np.sort(keep)]


@pytest.mark.filterwarnings("ignore:The network")
def test_unequal_classes_are_also_scored_by_balanced_accuracy(made, spatial_epochs):
    """The page gave accuracy only, against the majority's share (0.83 on a 5:1
    oddball design, where the default EEGNet's balanced accuracy was 0.78)."""
    contents = _quick_report(
        _network(max_epochs=20), _two_channels(_balanced(spatial_epochs, 20, 8))
    )
    accuracy = html.unescape(contents["Accuracy"])
    assert "chance 0.71 ± 0.00" in accuracy  # accuracy's chance: 20 of 28
    balanced = re.search(
        r"Mean balanced accuracy over the same folds, ± its standard deviation: "
        r"network ([\d.]+) ± [\d.]+, chance 0.50 ± 0.00, CSP\+LDA [\d.]+ ± [\d.]+, "
        r"LR on samples [\d.]+ ± [\d.]+\. "
        r"The network's recall of each class, over all its held-out predictions: "
        r"\w+ ([\d.]+), \w+ ([\d.]+)\.",
        accuracy,
    )
    network, *recall = map(float, balanced.groups())
    # Both folds hold 10 and 4 epochs of the classes: the mean of the folds'
    # balanced accuracies is the mean of the pooled recalls.
    assert network == pytest.approx(np.mean(recall), abs=0.011)
    assert "Balanced accuracy per fold" in accuracy
    assert "Balanced accuracy" not in _contents(made[0])["Accuracy"]  # equal classes


@pytest.mark.filterwarnings("ignore:The network")
def test_chance_is_the_majority_class_of_all_epochs(spatial_epochs):
    """Chance as the training folds' majority was the held-out folds' minority:
    0.36 for 7 epochs of each class in 5 folds, and 9 of 14 right beat it."""
    assert chance_level([1, 1, 2]) == pytest.approx(2 / 3)
    assert chance_level(["a", "b"] * 7) == 0.5
    report = make_report(
        _network(max_epochs=1),
        _two_channels(_balanced(spatial_epochs, 7)),
        methods=["saliency"],
        cv=5,
        checks=False,
        verbose=False,
    )
    accuracy = _contents(report)["Accuracy"]
    assert "chance 0.50 ± 0.00" in accuracy
    assert "against a rate of 0.50 by chance" in accuracy


def _with_values(epochs, value, epoch_index, ch_names, samples=None):
    """``epochs`` with ``value`` in the given epochs, channels and samples (all
    samples by default)."""
    data = epochs.get_data()
    samples = np.arange(len(epochs.times)) if samples is None else samples
    picks = [epochs.ch_names.index(name) for name in ch_names]
    data[np.ix_(epoch_index, picks, samples)] = value
    return mne.EpochsArray(
        data, epochs.info, epochs.events, epochs.tmin, epochs.event_id, verbose=False
    )


def test_non_finite_values_are_refused_naming_channels_and_epochs(spatial_epochs):
    """NaN in one channel of every epoch was found in the first fold, named as
    epochs 0-4 "and 17 more" of its training set, without the channel, and the
    advice (drop the epochs) would have dropped them all."""
    network = _network()
    every = np.arange(len(spatial_epochs))
    nan_channel = _with_values(spatial_epochs, np.nan, every, ["Cz"])
    with pytest.raises(
        ValueError,
        match=r"1 channel\(s\) the network reads \(Cz\) "
        r"hold NaN or infinite values in 40 of the 40 epochs",
    ) as err:
        make_report(network, nan_channel, methods=["saliency"], cv=2)
    assert "mark Cz bad" in str(err.value) and "drop" not in str(err.value)
    assert not hasattr(network, "module_")
    two = _with_values(spatial_epochs, np.inf, [3, 37], ["Fz", "Pz"])
    with pytest.raises(ValueError, match=r"in 2 of the 40 epochs \(epoch\(s\) 3, 37"):
        make_report(network, two, methods=["saliency"], cv=2)
    # A bad channel is not read: its values do not matter.
    nan_channel.info["bads"] = ["Cz"]
    y = nan_channel.events[:, 2]
    assert "Cz" not in check_data(network, nan_channel, y, 2, False).ch_names


def test_non_finite_values_in_some_epochs_name_their_channels(spatial_epochs):
    """The channels named are those holding the values, in any epoch; marking
    them bad is advised for one channel, never for several."""
    y = spatial_epochs.events[:, 2]
    # One sample is enough: the network reads every sample.
    for samples in (None, [10]):
        one = _with_values(spatial_epochs, np.nan, [5], ["Cz"], samples)
        with pytest.raises(ValueError) as err:
            check_data(_network(), one, y, 2, False)
        assert str(err.value).startswith(
            "1 channel(s) the network reads (Cz) hold NaN or infinite values in 1 of "
            "the 40 epochs (epoch(s) 5, counted from 0); mark Cz bad (epochs.info"
            "['bads'] += ['Cz']) or drop those epochs (epochs.drop(indices))"
        )
    two = _with_values(spatial_epochs, np.inf, [3, 37], ["Fz", "Pz"])
    with pytest.raises(ValueError) as err:
        check_data(_network(), two, y, 2, False)
    named = ", ".join(name for name in spatial_epochs.ch_names if name in ("Fz", "Pz"))
    assert str(err.value).startswith(
        f"2 channel(s) the network reads ({named}) hold NaN or infinite values in 2 "
        "of the 40 epochs (epoch(s) 3, 37, counted from 0); drop those epochs"
    )
    assert "mark" not in str(err.value)


def test_non_finite_values_advise_by_the_channels_and_epochs_affected(spatial_epochs):
    """Marking bad is advised for one channel, alone where it spoils every
    epoch; dropping epochs wherever some are spared, and alone for several
    channels; five channels are named without "and 0 more"."""
    y = spatial_epochs.events[:, 2]
    all_but_one = _with_values(spatial_epochs, np.nan, np.arange(1, 40), ["Cz"])
    with pytest.raises(ValueError, match=r"in 39 of the 40 epochs") as err:
        check_data(_network(), all_but_one, y, 2, False)
    assert "mark Cz bad (epochs.info['bads'] += ['Cz']) or drop those" in str(err.value)
    five = spatial_epochs.ch_names[:5]
    one_epoch = _with_values(spatial_epochs, np.inf, [7], five)
    with pytest.raises(ValueError) as err:
        check_data(_network(), one_epoch, y, 2, False)
    assert str(err.value).startswith(
        f"5 channel(s) the network reads ({', '.join(five)}) hold NaN or infinite "
        "values in 1 of the 40 epochs (epoch(s) 7, counted from 0); drop those "
        "epochs (epochs.drop(indices)), and save"
    )


def test_labels_of_another_number_than_the_epochs_are_refused(spatial_epochs):
    """One label per epoch: a y shorter or longer is refused before training."""
    y = spatial_epochs.events[:, 2]
    for labels in (y[:-1], np.r_[y, 1]):
        with pytest.raises(ValueError, match=rf"^y has {len(labels)} labels for 40"):
            check_data(_network(), spatial_epochs, labels, 2, False)


class _TanhNet(torch.nn.Module):
    """A network calling tanh in forward, which propagation rules refuse."""

    def __init__(self, n_channels, n_classes, n_times, **kwargs):
        super().__init__()
        self.spatial = torch.nn.Conv1d(n_channels, 2, 1)
        self.classifier = torch.nn.Linear(2 * n_times, n_classes)

    def forward(self, x):
        return self.classifier(torch.tanh(self.spatial(x)).flatten(1))


@pytest.mark.filterwarnings("ignore:The network")
def test_overview_and_log_say_which_methods_were_refused(spatial_epochs):
    """A refused method was listed under "methods" and counted in the log."""
    network = _network(module=_TanhNet, max_epochs=1)
    with mne.utils.catch_logging() as log:
        report = make_report(
            network,
            _two_channels(spatial_epochs),
            methods=["saliency", "lrp_epsilon"],
            cv=2,
            checks=False,
            verbose=True,
        )
    contents = _contents(report)
    assert (
        "saliency; refused: lrp_epsilon (why, under Attribution maps"
        in (contents["Overview"])
    )
    assert "Explained with saliency; refused: lrp_epsilon (" in log.getvalue()
    # Why, where the overview says: the network's own refusal.
    with pytest.raises(ValueError) as refusal:
        mne_xai_explain(network, _two_channels(spatial_epochs), "lrp_epsilon")
    why = html.escape(f"lrp_epsilon is not shown: {refusal.value}")
    assert why in contents[SECTIONS["maps"]]
    # Refusing every method leaves nothing to report.
    with pytest.raises(ValueError, match="refuses every method asked for: lrp_eps"):
        make_report(
            clone(network), _two_channels(spatial_epochs), methods=["lrp_epsilon"], cv=2
        )


@pytest.mark.filterwarnings("ignore:The network")
def test_report_learns_the_patterns_of_pattern_methods(spatial_epochs, monkeypatch):
    """PatternNet and PatternAttribution were refused after all the training,
    with advice in Python (learn_patterns) a command-line user cannot follow."""
    learned = []

    def recording_learn(estimator, epochs, **params):
        learned.append((estimator, len(epochs)))
        return learn_patterns(estimator, epochs, **params)

    monkeypatch.setattr(_maps, "learn_patterns", recording_learn)
    network = _network(max_epochs=1)
    methods = ["saliency", "pattern_net", "pattern_attribution"]
    two = _two_channels(spatial_epochs)
    contents = _contents(make_report(network, two, methods=methods, cv=2))
    assert learned == [(network, 40)]  # once, from the epochs it was fitted on
    assert "saliency, pattern_net, pattern_attribution" in contents["Overview"]
    assert "refused" not in contents["Overview"]
    # The trust checks leave out the pattern methods, not every method.
    trust = contents["How far to trust the maps"]
    assert "pattern_net is not checked: its patterns" in trust
    assert "pattern_attribution is not checked: its patterns" in trust
    assert "The checks could not run" not in trust and "Readings" in trust
    # A network whose layers cannot have patterns is refused before training.
    tanh = _network(module=_TanhNet, max_epochs=1)
    for estimator in (tanh, clone(tanh).fit(spatial_epochs)):
        with pytest.raises(ValueError, match="pattern_net cannot explain this net"):
            make_report(estimator, spatial_epochs, methods=["saliency", "pattern_net"])
    assert not hasattr(tanh, "module_")


# -- what the command says --------------------------------------------------------
def _raw_file(folder):
    path = folder / "recording_raw.fif"
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    mne.io.RawArray(np.zeros((2, 200)), info, verbose=False).save(path, verbose=False)
    return path


def _evoked_file(folder):
    path = folder / "average-epo.fif"  # named as epochs, holding an Evoked
    info = mne.create_info(["C3", "C4"], 100.0, "eeg")
    with pytest.warns(RuntimeWarning, match="naming conventions"):
        mne.EvokedArray(np.zeros((2, 20)), info).save(path, verbose=False)
    return path


def _logistic_regression_file(folder):
    path = folder / "logreg.pkl"
    with path.open("wb") as file:
        pickle.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), file)
    return path


@pytest.mark.parametrize(
    "case, match",
    [
        ("dataset", "expected eegbci:SUBJECT[:TASK], such as eegbci:1"),
        ("raw", "it holds continuous data (a Raw file, as mne.io.read_raw"),
        ("evoked", "it holds averages (an Evoked file, as mne.read_evokeds"),
        ("folder", "'folder-epo.fif' is a folder, not an epochs file"),
        ("eeglab", "it is not an EEGLAB .set file"),
        ("model", "'logreg.pkl': Cannot read a network in a LogisticRegression"),
    ],
)
def test_command_says_what_it_expected(
    tmp_path, capsys, monkeypatch, epochs_file, case, match
):
    """The errors cut the data set's form to "expected eegbci", gave the reader's
    error for a Raw file or a FIF read as EEGLAB, and asked for the labels of a
    pickled model that is no network. An Evoked file failed with "Could not find
    event data", and a folder named as epochs as "no such file"."""
    monkeypatch.chdir(tmp_path)  # "eegbci" names no file here
    (tmp_path / "folder-epo.fif").mkdir()
    args = dict(
        dataset=["eegbci"],
        raw=[_raw_file(tmp_path)],
        evoked=[_evoked_file(tmp_path)],
        folder=["folder-epo.fif"],
        eeglab=[epochs_file, "--format", "eeglab"],
        model=[epochs_file, "--model", _logistic_regression_file(tmp_path)],
    )[case]
    code, err = _run(capsys, *args, "-o", tmp_path / "out.html", "--cv", "2")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("mne-xai report: error: ") and match in err


def test_command_reads_data_sets_and_files_as_named(
    tmp_path, monkeypatch, spatial_epochs
):
    """The specs' subjects, task and window reach the loaders; a file named as
    a data set, a gzipped FIF and the warnings of its reader are the file's."""
    loaded = []

    def load_eegbci(*args, **kwargs):
        loaded.append(args)
        data = np.zeros((2, 1, 51))
        info = mne.create_info(["C3"], 10.0, "eeg")
        return mne.EpochsArray(data, info, tmin=-1.0, verbose=False)

    def load_drowsiness(subjects=None, **kwargs):
        loaded.append(subjects)
        return spatial_epochs

    monkeypatch.setattr(inputs, "load_eegbci", load_eegbci)
    monkeypatch.setattr(inputs, "load_drowsiness", load_drowsiness)
    monkeypatch.chdir(tmp_path)
    epochs = inputs.read_input("eegbci:3:left_vs_right")
    assert (epochs.tmin, epochs.tmax) == (0.5, 2.5)  # the motor imagery period
    inputs.read_input("drowsiness:2,5")
    inputs.read_input("drowsiness")
    assert loaded == [(3, "left_vs_right"), [2, 5], None]
    for spec in ("eegbci:one", "eegbci:1:left_vs_right:2"):
        with pytest.raises(inputs.InputError, match="expected eegbci:SUBJECT"):
            inputs.read_input(spec)
    with pytest.raises(inputs.InputError, match=r"expected drowsiness\[:SUBJECTS\]"):
        inputs.read_input("drowsiness:1:2")
    spatial_epochs.save(tmp_path / "sim-epo.fif.gz", verbose=False)
    read = inputs.read_input("sim-epo.fif.gz")
    np.testing.assert_allclose(read.get_data(), spatial_epochs.get_data(), rtol=1e-6)
    # A file in the folder is read, even where its name is a data set's.
    spatial_epochs.save(tmp_path / "drowsiness:1-epo.fif", verbose=False)
    read = inputs.read_input("drowsiness:1-epo.fif")
    np.testing.assert_allclose(read.get_data(), spatial_epochs.get_data(), rtol=1e-6)
    assert len(loaded) == 3
    # The reader's warnings are passed on.
    with pytest.warns(RuntimeWarning, match="naming conventions"):
        spatial_epochs.save(tmp_path / "sim.fif", verbose=False)
    with pytest.warns(RuntimeWarning, match="naming conventions"):
        inputs.read_input("sim.fif")


def test_a_fif_file_of_no_epochs_is_said_in_the_readers_first_line(
    monkeypatch, tmp_path, spatial_epochs
):
    """A FIF file of measurement info alone, or of epochs MNE could not read,
    was said to hold averages: mne.read_evokeds finds none there without an
    error. The command says its errors in one line: of a reader's error, the
    line saying what failed, not the details after it."""
    path = tmp_path / "info-epo.fif"
    mne.io.write_info(path, spatial_epochs.info)

    def failing(path, **kwargs):
        raise ValueError("Could not read the epochs.\nDetails: tag 102 at byte 88")

    monkeypatch.setitem(inputs.FORMATS, "fif", (failing, (".fif",)))
    with pytest.raises(inputs.InputError) as err:
        inputs.read_input(path)
    assert str(err.value) == (
        "cannot read 'info-epo.fif' as fif epochs: Could not read the epochs."
    )


def test_command_names_the_data_set_it_cannot_load(tmp_path, capsys, monkeypatch):
    """Without MNE_DATA, "drowsiness" is refused naming the data set, and what
    to set."""
    monkeypatch.delenv("MNE_DATA", raising=False)
    monkeypatch.setenv("_MNE_FAKE_HOME_DIR", str(tmp_path))  # no config file
    monkeypatch.chdir(tmp_path)  # "drowsiness" names no file here
    code, err = _run(capsys, "drowsiness", "-o", tmp_path / "out.html")
    assert code == 1 and err.startswith(
        "mne-xai report: error: cannot load the data set 'drowsiness': Set MNE_DATA"
    )
    assert list(tmp_path.iterdir()) == []


def test_channels_all_marked_bad_are_said_to_be(spatial_epochs):
    """The error asked to set channel types that were right, listing every bad."""
    epochs = spatial_epochs.copy()
    epochs.info["bads"] = list(epochs.ch_names)
    network = _network()
    with pytest.raises(ValueError, match="channels the network would read") as error:
        make_report(network, epochs, methods=METHODS, cv=2)
    message = str(error.value)
    assert f"({len(epochs.ch_names)} eeg) are marked bad" in message
    assert "set_channel_types" not in message and epochs.ch_names[-1] not in message
    assert not hasattr(network, "module_")


class _TrustPage:
    """What the trust section writes on: its notes, for methods asked for."""

    beats_chance = True

    def __init__(self, methods=()):
        self.notes, self.methods = [], list(methods)

    def paragraph(self, key):
        pass

    def note(self, key, text):
        self.notes.append(text)

    def comparable_across_channels(self, purpose):
        return self.methods, {}


def test_skipped_trust_checks_are_said_in_both_terms():
    """The page named the Python parameter only, not the option that skips them."""
    page = _TrustPage()
    _add_trust(page, checks=False)
    assert page.notes == ["The trust checks were not run (checks=False, --no-checks)."]


def test_command_prints_each_warning_once(tmp_path, capsys, monkeypatch):
    """A data check run at every call of the network printed its warning 5 times."""

    def warning_twice(*args, **kwargs):
        # From two lines, as from two calls of the network.
        warnings.warn("prepared otherwise", RuntimeWarning, stacklevel=1)
        warnings.warn("prepared otherwise", RuntimeWarning, stacklevel=1)
        warnings.warn("another", RuntimeWarning, stacklevel=1)

    monkeypatch.setattr("mne_xai.report._command.run_report", warning_twice)
    code, err = _run(capsys, "in-epo.fif", "-o", tmp_path / "out.html")
    assert code == 0
    assert err.splitlines() == [
        "mne-xai report: warning: prepared otherwise",
        "mne-xai report: warning: another",
    ]


def test_command_reports_a_type_error_in_one_line(tmp_path, capsys, monkeypatch):
    """A TypeError of the arguments or data is said in one line, as a ValueError."""

    def wrong_type(*args, **kwargs):
        raise TypeError("picks must be\n a list")

    monkeypatch.setattr("mne_xai.report._command.run_report", wrong_type)
    code, err = _run(capsys, "in-epo.fif", "-o", tmp_path / "out.html")
    assert (code, err) == (1, "mne-xai report: error: picks must be a list\n")


def test_command_interrupted_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    """Ctrl-C printed a traceback of some sixty lines."""

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("mne_xai.report._command.read_input", interrupted)
    code, err = _run(capsys, "in-epo.fif", "-o", tmp_path / "out.html")
    assert (code, err) == (130, "mne-xai report: interrupted\n")
    assert list(tmp_path.iterdir()) == []


def test_command_terminated_leaves_no_file(tmp_path, monkeypatch):
    """SIGTERM left the hidden temporary output (.out.html.XXXX.html) behind."""
    before = signal.getsignal(signal.SIGTERM)

    def terminated(*args):
        # Without a handler of main's, the signal would end the test run.
        assert callable(signal.getsignal(signal.SIGTERM))
        assert len(list(tmp_path.iterdir())) == 1  # the temporary output
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr("mne_xai.report._command.read_input", terminated)
    with pytest.raises(SystemExit) as exit:
        main(["report", "in-epo.fif", "-o", str(tmp_path / "out.html"), "--quiet"])
    assert exit.value.code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == before


def test_command_terminated_in_a_cleanup_writes_nothing(
    tmp_path, monkeypatch, spatial_epochs
):
    """SIGTERM arriving while a ``__del__`` ran was dropped by Python: the
    report went on, wrote its page and exited 0."""

    class SignalledInCleanup:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)

    def make_report(*args, **kwargs):
        SignalledInCleanup()  # collected at once, its handler's exit dropped
        return mne.Report(verbose=False)

    monkeypatch.setattr(
        "mne_xai.report._command.read_input", lambda *args: spatial_epochs
    )
    monkeypatch.setattr("mne_xai.report._command.make_report", make_report)
    argv = ["report", "in-epo.fif", "-o", str(tmp_path / "out.html"), "--quiet"]
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
    # The next run in the same process (a notebook's) is not taken for one
    # signalled.
    _recorded_reports(monkeypatch)
    assert main(argv) == 0
    assert [path.name for path in tmp_path.iterdir()] == ["out.html"]


def test_relevance_over_time_labels_its_colour_bar_clear_of_the_topomaps(
    spatial_epochs,
):
    """The colour bar's label ran into the last topomap's time."""
    rng = np.random.default_rng(0)
    magnitude = mne.EvokedArray(
        np.abs(rng.standard_normal((len(spatial_epochs.ch_names), 64))),
        spatial_epochs.info,
    )
    fig = plot_attribution_joint(
        magnitude, units="|relevance| (logit/V)", title="saliency", show=False
    )
    assert_readable(fig)
    plt.close(fig)


def test_relevance_per_frequency_counts_bad_channels(made, spatial_epochs):
    """The network reads channels the epochs mark bad; MNE's get_data left
    them out of the line (4 percent of the relevance on EEGBCI), not out of
    the band maps beside it."""
    spectrum = explain_spectrum(made[2], spatial_epochs, target="true", verbose=False)
    spectrum.info["bads"] = spectrum.ch_names[:3]
    y = spatial_epochs.events[:, 2]
    figure = _plot_frequency_relevance(spectrum, y, {})
    every_channel = np.abs(spectrum.get_data(exclude=())).sum(axis=1)
    np.testing.assert_allclose(
        figure.axes[0].lines[0].get_ydata(),
        every_channel[y == np.unique(y)[0]].mean(axis=0),
        rtol=1e-6,
    )
    plt.close(figure)


def test_band_topomaps_show_the_mean_relevance_magnitude(monkeypatch, spatial_epochs):
    """The band topomaps, labelled |relevance|, average each epoch's magnitude:
    alpha relevance of +3 and -1 in alternate epochs is 2 on their scale, not
    the signed mean 1 (epochs of opposite signs would cancel out)."""
    freqs = np.arange(33.0)
    relevance = np.zeros((len(spatial_epochs), len(spatial_epochs.ch_names), 33))
    relevance[::2, 0, 10] = 3.0
    relevance[1::2, 0, 10] = -1.0
    spectrum = EpochsSpectrumArray(relevance, spatial_epochs.info, freqs)
    monkeypatch.setattr(_maps, "explain_spectrum", lambda *args, **kwargs: spectrum)
    page = SimpleNamespace(
        plan=SimpleNamespace(topomap_type="eeg"),
        estimator=None,
        epochs=spatial_epochs,
        target=None,
        random_state=0,
        y=spatial_epochs.events[:, 2],
        class_names={},
        warnings_noted=lambda key: contextlib.nullcontext(),
        paragraph=lambda key, **values: None,
        note=lambda key, text: None,
        figures={},
    )

    def add_figures(figures, title, key):
        (page.figures[title],) = figures

    page.add_figures = add_figures
    _maps._add_spectrum(page)
    figure = page.figures["Relevance per band"]
    assert figure.axes[0].images[0].get_clim() == (0.0, 2.0)
    plt.close("all")


@pytest.mark.filterwarnings("ignore:The network")
def test_relevance_per_frequency_gives_the_width_of_its_bins():
    """Epochs of 2 s (EEGBCI's motor imagery period) have bins of 0.5 Hz."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=20, sfreq=64.0, duration=2.0, random_state=0, verbose=False
    )
    spectrum = _quick_report(_network(max_epochs=1), _two_channels(epochs))[
        "Spectral relevance"
    ]
    assert "relevance is in logit per frequency bin of 0.5 Hz" in spectrum


def test_relevance_per_frequency_gives_bins_narrower_than_half_a_hertz():
    """Epochs of 4 s have bins of 0.25 Hz, and of 3 s of a third of a hertz:
    one significant digit said 0.2 and 0.3 Hz."""
    for resolution, shown in [(1 / 4, "0.25 Hz"), (1 / 3, "0.33 Hz")]:
        text = HOW_TO_READ["spectrum"].format(resolution=resolution, bands="")
        assert f"relevance is in logit per frequency bin of {shown}." in text


def test_warnings_of_a_section_are_put_on_the_page(spatial_epochs):
    """What the terminal says of a section (a RuntimeWarning) the page says
    there too, and the warning is passed on; other warnings stay off the page."""
    report = mne.Report(verbose=False)
    context = _Context(report, spatial_epochs, None, None, [], 0, None)
    with pytest.warns(RuntimeWarning, match="EOG left out"):
        with context.warnings_noted("spectrum"):
            warnings.warn(
                "EOG left out <of the spectrum>", RuntimeWarning, stacklevel=1
            )
            warnings.warn("a user warning", UserWarning, stacklevel=1)
    (page,) = _contents(report).values()
    assert page.count("<p><em>") == 1
    assert "<p><em>EOG left out &lt;of the spectrum&gt;</em></p>" in page
    assert "Spectral_relevance-Warning" in page and 'data-mne-tag="spectrum"' in page


def test_warnings_of_training_are_put_on_the_page_once(spatial_epochs):
    """Training's warning that the EEG look like microvolts, which makes the
    maps per microvolt though labelled per volt, was said in the terminal only
    (three times: two folds, then all epochs), not on the page labelling them."""
    epochs = spatial_epochs.copy().load_data()
    epochs.apply_function(lambda data: data * 1e6, channel_wise=False)
    with pytest.warns(RuntimeWarning, match="are they in microvolts"):
        contents = _quick_report(_network(max_epochs=1), _two_channels(epochs))
    overview = contents[SECTIONS["overview"]]
    assert overview.count("are they in microvolts?") == 1
    assert "Overview-Warning" in overview


def test_training_warnings_differing_in_numbers_are_said_once_as_first():
    """Of the warnings of the folds and the final fit, one differing from
    another in its numbers only is left out, the first kept; a class never
    predicted is the accuracy section's, of the network explained."""

    def caught(*texts):
        return [warnings.WarningMessage(t, RuntimeWarning, "x.py", 1) for t in texts]

    kept = _training_warnings(
        caught("Channel std 1.5e-06 V", f"{UNPREDICTED_CLASSES} of class 'left'."),
        caught("Channel std 2e-05 V", "Another"),
    )
    assert [str(warning.message) for warning in kept] == [
        "Channel std 1.5e-06 V",
        "Another",
    ]


def test_maps_equal_on_every_channel_get_no_topomaps(spatial_epochs):
    """Grad-CAM at EEGNet's default layer gives every channel the same map: the
    report drew it as a uniform scalp under "how much every channel
    contributed", and as a joint plot of 32 overlapping lines."""
    network = _network().fit(spatial_epochs)
    contents = _quick_report(network, spatial_epochs, methods=["grad_cam", "saliency"])
    maps = contents["Attribution maps per class"]
    assert "grad_cam has no topomaps: it gives every channel the same" in maps
    # One comparison figure and saliency's own maps, none for Grad-CAM.
    assert maps.count("<img") == 2
    assert contents["Relevance over time"].count("<img") == 2


def test_maps_zero_everywhere_are_said_to_give_no_relevance(spatial_epochs):
    """A network whose output does not change with its input (units that never
    activate) gives maps zero everywhere: the page said they gave every channel
    the same relevance "after the network combines the channels", and that the
    band topomaps held "nan%" of the spectrum's relevance."""
    network = _network(max_epochs=1).fit(spatial_epochs)
    last = [m for m in network.module_.modules() if hasattr(m, "weight")][-1]
    with torch.no_grad():
        last.weight.zero_()  # the output is the bias, whatever the input
    with pytest.warns(RuntimeWarning, match="does not beat chance"):
        contents = _quick_report(network, spatial_epochs)
    maps = contents["Attribution maps per class"]
    assert "saliency gives no relevance: its maps are zero on every channel" in maps
    assert "same relevance" not in maps
    spectrum = contents["Spectral relevance"]
    assert "The spectrum holds no relevance" in spectrum and "nan%" not in spectrum


def test_epochs_read_from_disk_without_preloading(epochs_file):
    """MNE's "requires epochs data to be loaded" ended the report."""
    epochs = mne.read_epochs(epochs_file, preload=False, verbose=False)
    network = _network(max_epochs=1)
    report = make_report(network, epochs, methods=["saliency"], cv=2, checks=False)
    assert list(_contents(report)) == list(SECTIONS.values())
    assert network.classes_.tolist() == [1, 2]


@pytest.mark.parametrize(
    "picks, match",
    [
        (["c3"], r"The picks \['c3'\] select none of the epochs' channels"),
        ("eog", r"The picks 'eog' select none of the epochs' channels"),
        # As NumPy strings, named as typed.
        (np.array(["nope", "C3"]), r"The picks \['nope', 'C3'\] do not select"),
    ],
)
def test_picks_selecting_no_channel_are_named(spatial_epochs, picks, match):
    """They were told to set channel types that were right."""
    with pytest.raises(ValueError, match=match):
        make_report(_network(picks=picks), spatial_epochs, methods=METHODS, cv=2)


def test_labels_a_fitted_network_was_not_trained_on_are_refused(spatial_epochs):
    """The folds trained for a minute, then every method was refused."""
    two = spatial_epochs.copy()
    fitted = _network(max_epochs=1).fit(two)
    for label in (9, 0):  # after the classes trained on, and before them
        y = two.events[:, 2].copy()
        y[:4] = label
        with pytest.raises(ValueError, match=rf"y holds label\(s\) \[{label}\] that"):
            make_report(fitted, two, y, methods=METHODS, cv=2)


@pytest.mark.filterwarnings("ignore:After training")  # one epoch of training
def test_epochs_without_a_fitted_networks_channels_are_refused(spatial_epochs):
    """The data check names the channel a fitted network was trained on and the
    epochs lack, before its copies train in the folds."""
    fitted = _network(max_epochs=1).fit(_two_channels(spatial_epochs))
    other = spatial_epochs.copy().pick(["C3", "Cz"])
    with pytest.raises(ValueError, match=r"lacks 1 channel\(s\) .* \['C4'\]"):
        check_data(fitted, other, other.events[:, 2], 2, True)


def test_the_random_anchor_is_said_not_to_be_checked():
    """With only the anchor asked for, the trust section stayed empty."""
    page = _TrustPage(["random"])
    _add_trust(page, checks=True)
    assert page.notes and page.notes[0].startswith("random is not checked")


class _VerdictPage:
    """What the chance verdict reads of the report (labels, groups, seed), and
    the last text it puts on the page."""

    def __init__(self, y, groups=None):
        self.y, self.groups, self.random_state = np.asarray(y), groups, 0

    def add_html(self, html, title, section):
        self.text = html


def test_the_chance_verdict_names_only_the_references_on_the_page():
    """On one channel, with no CSP+LDA on the page, it said to compare with it."""
    folds = [np.arange(10), np.arange(10, 20)]
    for references, compare in [
        ([], "compare with more folds"),
        (["CSP+LDA"], "compare with CSP+LDA and with more folds"),
    ]:
        page = _VerdictPage(np.repeat([1, 2], 10))
        predictions = [page.y[fold] for fold in folds]
        _add_chance_verdict(page, references, folds, predictions, "The network")
        assert ("CSP+LDA" in page.text) == bool(references)
        assert compare in page.text


def test_the_chance_verdict_is_at_the_five_percent_level():
    """15 of 20 right against 0.5 (p = 0.021) beats chance, 14 (p = 0.058) not."""
    folds = [np.arange(10), np.arange(10, 20)]
    page = _VerdictPage(np.repeat([1, 2], 10))
    for n_right, beats in [([7, 8], True), ([7, 7], False)]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _add_chance_verdict(
                page,
                [],
                folds,
                _answers(page.y, folds, n_right),
                "The network",
            )
        assert page.beats_chance is beats
        assert ("does not beat chance" in page.text) is not beats
        assert len(caught) == (0 if beats else 1)


def test_one_split_is_tested_against_chance_without_the_caveat_of_folds():
    """One split's predictions come from one network: no caveat that the folds'
    networks make p optimistic, nor advice to compare with more folds."""
    page = _VerdictPage(np.repeat([1, 2], 10))
    tested = [np.arange(20)]
    _add_chance_verdict(
        page,
        [],
        tested,
        _answers(page.y, tested, [18]),
        "The network",
    )
    assert "beats chance: 18 of 20 held-out epochs right" in page.text
    assert "optimistic" not in page.text and "more folds" not in page.text


def test_the_given_network_is_tested_on_every_epoch_not_held_out_ones():
    """The network explained is scored on all the epochs, which may have been
    its training data: the page says so, not that they were held out."""
    page = _VerdictPage(np.repeat([1, 2], 10))
    _add_given_network_verdict(page, page.y.copy())
    assert "(the one explained) beats chance: 20 of 20 epochs right" in page.text
    assert "held-out" not in page.text and "this is its training accuracy" in (
        page.text
    )


def test_the_chance_verdict_counts_each_epoch_once():
    """Splitters testing an epoch in several folds (ShuffleSplit): the balanced
    accuracy's permutation test counts each epoch once, with its first fold's
    prediction."""
    page = _VerdictPage(np.repeat([1, 2], [20, 6]))
    folds = [np.arange(0, 26, 2), np.arange(1, 26, 2)]
    right = [page.y[fold] for fold in folds]
    wrong = [3 - page.y[fold] for fold in folds]
    _add_chance_verdict(page, [], folds * 2, right + wrong, "It")
    # Against 0.5, what answers unrelated to the labels score, not the 0.77 of
    # always answering the frequent class, which balanced accuracy puts at 0.5.
    assert (
        "It beats chance: balanced accuracy 1.00 over 26 held-out epochs, "
        "against 0.50 by chance"
    ) in page.text


def test_the_chance_verdict_is_that_of_the_epochs_tested():
    """Classes equal over all epochs but not over those tested (copies left out
    of scoring, or a splitter testing some epochs only): always answering the
    class most frequent among the tested epochs beat chance, 20 of 30 against
    the 0.5 of all epochs (p = 0.049)."""
    page = _VerdictPage(np.repeat([1, 2], 20))
    tested = [np.arange(30)]  # 20 epochs of class 1, 10 of class 2
    with pytest.warns(RuntimeWarning, match="does not beat chance: balanced accuracy"):
        _add_chance_verdict(page, [], tested, [np.ones(30)], "It")
    assert page.beats_chance is False
    assert "always answering the most frequent one scores an accuracy of 0.67" in (
        page.text
    )


def test_the_chance_verdict_shuffles_labels_within_groups():
    """Predictions that follow each subject's majority class beat chance only
    when the labels are shuffled across subjects (p < 0.001 there)."""
    y, answers, groups = _subjects_majority()  # 7 of 10 predicted right
    page = _VerdictPage(y, groups=groups)
    folds = [np.arange(100), np.arange(100, 200)]
    predictions = [answers[fold] for fold in folds]
    with pytest.warns(RuntimeWarning, match="does not beat chance: accuracy 0.70"):
        _add_chance_verdict(page, [], folds, predictions, "It")
    assert "within each group (subject), p = 1;" in page.text


def test_folds_by_groups(spatial_epochs):
    """Leave-one-subject-out failed with scikit-learn's "The 'groups' parameter
    should not be None": there was no way to pass them."""
    groups = np.arange(len(spatial_epochs)) % 2  # two "subjects"
    with pytest.raises(ValueError, match="splits by groups: pass groups"):
        make_report(_network(), spatial_epochs, cv=LeaveOneGroupOut())
    network = _network()
    with pytest.raises(ValueError, match="^groups has 39 values for 40 epochs"):
        make_report(network, spatial_epochs, cv=LeaveOneGroupOut(), groups=groups[1:])
    assert not hasattr(network, "module_")
    report = make_report(
        _network(max_epochs=1),
        _two_channels(spatial_epochs),
        methods=["saliency"],
        cv=LeaveOneGroupOut(),
        groups=groups,
        checks=False,
    )
    assert "Each of the 2 fold(s)" in _contents(report)[SECTIONS["accuracy"]]


@pytest.mark.parametrize("cv", [2, "KFold", "ShuffleSplit"])
def test_groups_a_cv_ignores_are_refused_before_training(spatial_epochs, cv):
    """groups with cv=2 (stratified folds) or KFold were ignored with scikit-learn's
    warning alone: each held-out fold held epochs of both subjects its network
    had trained on, and the page said nothing of it."""
    cv = {"KFold": KFold(2, shuffle=True, random_state=0)}.get(cv, cv)
    cv = {"ShuffleSplit": ShuffleSplit(2, random_state=0)}.get(cv, cv)
    groups = np.arange(len(spatial_epochs)) % 2  # two "subjects"
    network = _network()
    with pytest.raises(ValueError, match=r"ignores groups.*StratifiedGroupKFold"):
        make_report(network, spatial_epochs, cv=cv, groups=groups, checks=False)
    assert not hasattr(network, "module_")


@pytest.mark.parametrize(
    ("bad_channel_freq", "shares"),
    [
        (2, "holds 50% of the |relevance|; 50% lies below 4 Hz"),
        # Theta's lower edge, which its topomap shows (it takes freqs >= fmin).
        (4, "holds 100% of the |relevance|; 0% lies below 4 Hz"),
        # Beta's upper edge, which its topomap shows too (freqs <= fmax).
        (30, "holds 100% of the |relevance|; 0% lies below 4 Hz and 0% above 30"),
        (31, "holds 50% of the |relevance|; 0% lies below 4 Hz and 50% above 30"),
    ],
    ids=["below", "on the lower edge", "on the upper edge", "above"],
)
def test_relevance_outside_the_bands_counts_bad_channels_and_band_edges(
    bad_channel_freq, shares
):
    """The shares below and above the band topomaps left out the channels marked
    bad, which the line and the topomaps show: relevance all below 4 Hz on a bad
    channel read "0% lies below 4 Hz". Relevance on a band's edge is the band's,
    as in its topomap."""
    freqs = np.arange(33.0)
    relevance = np.zeros((2, 3, len(freqs)))
    relevance[:, 0, bad_channel_freq] = 1.0  # the bad channel's
    relevance[:, 1:, 10] = 0.5  # the others', at 10 Hz
    spectrum = EpochsSpectrumArray(
        relevance, mne.create_info(["C3", "Cz", "C4"], 64.0, "eeg"), freqs
    )
    spectrum.info["bads"] = ["C3"]
    assert shares in _outside_the_bands(spectrum)


def test_relevance_outside_the_bands_is_a_share_of_its_magnitude():
    """Relevance below 4 Hz of opposite signs in two epochs is half of the
    |relevance|, beside as much at 10 Hz: summed with its sign it would cancel
    out, and the band topomaps be said to hold all of it."""
    relevance = np.zeros((2, 1, 33))
    relevance[:, 0, 2] = [1.0, -1.0]
    relevance[:, 0, 10] = 1.0
    spectrum = EpochsSpectrumArray(
        relevance, mne.create_info(["Cz"], 64.0, "eeg"), np.arange(33.0)
    )
    shares = "holds 50% of the |relevance|; 50% lies below 4 Hz and 0% above 30"
    assert shares in _outside_the_bands(spectrum)


def test_relevance_outside_the_bands_stops_at_the_last_frequency():
    """Data sampled at 10 Hz reach 5 Hz, within theta: the note gives the span
    the band topomap shows (4-5 Hz), not the band's 4-8 Hz of no bin above 5."""
    freqs = np.arange(0.0, 5.5, 0.5)
    relevance = np.zeros((2, 1, len(freqs)))
    relevance[:, 0, [4, 9]] = 1.0  # at 2 and 4.5 Hz
    spectrum = EpochsSpectrumArray(
        relevance, mne.create_info(["Cz"], 10.0, "eeg"), freqs
    )
    assert _outside_the_bands(spectrum) == (
        "The band topomaps show 4-5 Hz, which holds 50% of the |relevance|; 50% "
        "lies below 4 Hz and 0% above 5 Hz (see the line above)."
    )


@pytest.mark.filterwarnings("ignore:The network")
def test_one_train_test_split_is_reported_without_a_spread(spatial_epochs):
    """A single split (ShuffleSplit(1), a PredefinedSplit of two sessions) read
    "network 0.22 ± nan" and a table row of NaN standard deviations."""
    epochs = _two_channels(_balanced(spatial_epochs, 20, 8))  # balanced accuracy too
    split = StratifiedShuffleSplit(1, test_size=0.25, random_state=0)
    contents = _quick_report(_network(max_epochs=1), epochs, cv=split)
    accuracy = html.unescape(contents["Accuracy"])
    assert not re.search(r"\bnan\b", accuracy, re.IGNORECASE)
    assert "Accuracy in the single fold: network " in accuracy
    assert "Balanced accuracy in the same single fold: network " in accuracy
    assert "Each of the 1 fold(s) trains" in accuracy
    # The tables of accuracy and balanced accuracy: the fold's row, no mean of it.
    assert contents["Accuracy"].count("<th>1</th>") == 2
    assert "<th>mean</th>" not in contents["Accuracy"]


def test_held_out_epochs_with_a_copy_in_training_are_not_scored():
    """Every epoch given twice (a run loaded twice): on epochs without any
    signal, the page said the network beat chance (0.64, p = 0.009)."""
    data = np.random.default_rng(0).standard_normal((10, 2, 8))
    given_twice = np.concatenate([data, data])
    folds = list(KFold(5, shuffle=True, random_state=0).split(given_twice))
    with pytest.warns(RuntimeWarning, match="10 of the 20 epochs are exact copies"):
        unseen = held_out_unseen(folds, given_twice)
    copy_of = np.tile(np.arange(10), 2)
    for train, test in unseen:
        assert len(test) and not np.isin(copy_of[test], copy_of[train]).any()
    # Only the copies are dropped (and the folds left with nothing to test).
    expected = [
        (train, test[~np.isin(copy_of[test], copy_of[train])]) for train, test in folds
    ]
    expected = [(train, test) for train, test in expected if len(test)]
    assert len(unseen) == len(expected)
    for (_, kept), (_, test) in zip(unseen, expected, strict=True):
        np.testing.assert_array_equal(kept, test)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert held_out_unseen(folds[:2], given_twice[:10]) == folds[:2]
    each_fold_one_trial = list(KFold(10).split(given_twice))
    with pytest.raises(ValueError, match="Every held-out epoch has an exact copy"):
        held_out_unseen(each_fold_one_trial, np.concatenate([data[:1]] * 20))


def test_held_out_copies_are_counted_in_the_warning():
    """Of 10 trials, 4 given twice: 4 of the 14 epochs are copies. A fold
    testing only copies of its training epochs is dropped, and the warning
    counts the held-out epochs not scored and the folds dropped."""
    data = np.random.default_rng(0).standard_normal((10, 2, 8))
    some_twice = np.concatenate([data, data[:4]])  # epochs 10-13 copy 0-3
    only_copies = (np.arange(4, 14), np.arange(4))
    half_copies = (np.arange(7), np.arange(7, 14))  # 10-13 copy 0-3
    with pytest.warns(RuntimeWarning) as record:
        unseen = held_out_unseen([only_copies, half_copies], some_twice)
    (message,) = [str(warning.message) for warning in record]
    assert message.startswith("4 of the 14 epochs are exact copies of others")
    assert "8 held-out epoch(s) had a copy" in message
    assert "; 1 fold(s) had no other." in message
    ((train, test),) = unseen
    np.testing.assert_array_equal(train, half_copies[0])
    np.testing.assert_array_equal(test, [7, 8, 9])
    with pytest.warns(RuntimeWarning) as record:
        held_out_unseen([half_copies], some_twice)
    (message,) = [str(warning.message) for warning in record]
    assert "4 held-out epoch(s) had a copy" in message
    assert "fold(s) had no other" not in message
    # A fold left with one epoch to test is kept.
    one_unseen = (np.arange(3), np.array([3, 10]))  # 10 copies 0
    with pytest.warns(RuntimeWarning, match="1 held-out epoch"):
        ((train, test),) = held_out_unseen([one_unseen], some_twice)
    np.testing.assert_array_equal(test, [3])


def test_only_classes_never_predicted_are_warned_of():
    """A class some of whose epochs are predicted as others is predicted: the
    warning is for classes predicted for none of their epochs, even when other
    classes' epochs are predicted as them."""
    page = _VerdictPage(np.repeat([1, 2, 3], 4))
    page.class_names = {1: "left", 2: "right", 3: "feet"}
    mostly_right = page.y.copy()
    mostly_right[[0, 4, 8]] = [2, 3, 1]  # one epoch of each class wrong
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _add_unpredicted_classes(page, mostly_right)
    assert not hasattr(page, "text")
    never_feet = np.where(page.y == 3, 1, page.y)
    # Feet predicted for an epoch of another class, but none of its own.
    never_feet[0] = 3
    with pytest.warns(RuntimeWarning, match=r"class\(es\) feet \(4 epochs\) as"):
        _add_unpredicted_classes(page, never_feet)
    assert "feet" in page.text and "left" not in page.text
    # Weighing equal classes changes nothing: the advice is to train longer.
    assert "equal size" in page.text and "class_weight" not in page.text
