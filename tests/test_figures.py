"""Every figure of the package is readable: no text runs off the figure, no
title or label lies on another, however long the names it shows."""

import dataclasses
from itertools import combinations
from unittest import mock

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from mne_xai import EEGNetClassifier, explain  # noqa: E402
from mne_xai._figure_text import _text_height, _text_width, _wrap_text  # noqa: E402
from mne_xai.attribution import explain_spectrum, register_method  # noqa: E402
from mne_xai.attribution._registry import _METHODS  # noqa: E402
from mne_xai.attribution.gradient import Saliency  # noqa: E402
from mne_xai.evaluate import (  # noqa: E402
    SanityCheckResult,
    deletion_curve,
    parameter_randomization_check,
    plot_sanity_check,
)
from mne_xai.inspect import (  # noqa: E402
    plot_temporal_filters,
    pruning_curve,
    spatial_patterns,
    temporal_filters,
    unit_sensitivity,
)
from mne_xai.simulation import simulate_epochs  # noqa: E402
from mne_xai.viz import (  # noqa: E402
    plot_attribution_joint,
    plot_band_topomaps,
    plot_class_topomaps,
    plot_method_comparison,
)

LONG_METHOD = "user_registered_attribution_method_with_a_really_long_name"
LONG_LAYER = "encoder.blocks.3.depthwise_temporal_convolution_with_a_long_name"
LONG_CLASSES = {
    "imagined movement of the left hand": 1,
    "imagined movement of the right hand": 2,
}


class LongNamedSaliency(Saliency):
    """Saliency under a very long name, as a user's own method might be called."""

    name = LONG_METHOD


@pytest.fixture(scope="module")
def epochs():
    """Small simulated epochs: 32 EEG channels, 1 s at 64 Hz, two classes."""
    epochs, _ = simulate_epochs(
        "spatial", n_epochs=16, sfreq=64.0, duration=1.0, random_state=0, verbose=False
    )
    return epochs


@pytest.fixture(scope="module")
def clf(epochs):
    """An EEGNet trained for one pass: figures need a network, not a good one."""
    return EEGNetClassifier(
        max_epochs=1, batch_size=8, random_state=0, verbose=False
    ).fit(epochs)


@pytest.fixture(scope="module")
def long_named_method():
    register_method(LongNamedSaliency)
    yield LONG_METHOD
    del _METHODS[LONG_METHOD]


def _drawn_texts(fig):
    """Draw ``fig`` and return the texts that were drawn, with something to read."""
    drawn = []
    draw = Text.draw

    def recording_draw(text, renderer):
        if text.get_visible() and text.get_text().strip():
            drawn.append(text)
        return draw(text, renderer)

    with mock.patch.object(Text, "draw", recording_draw):
        fig.canvas.draw()
    return drawn


def _titles_and_labels(fig):
    """Figure and axes titles, axis and colorbar labels, row labels, legends."""
    texts = list(fig.texts)
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title]
        texts += [ax.xaxis.label, ax.yaxis.label]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    return texts


def assert_readable(fig):
    """Assert that every drawn text lies inside ``fig`` and labels do not overlap."""
    drawn = _drawn_texts(fig)
    assert drawn, "nothing was drawn"
    renderer = fig.canvas.get_renderer()
    extents = {text: text.get_window_extent(renderer) for text in drawn}
    width, height = fig.bbox.width, fig.bbox.height
    # Half a pixel of rounding either side.
    outside = [
        f"{text.get_text()!r} at {np.round(extent.extents, 1)}"
        for text, extent in extents.items()
        if extent.x0 < -0.5
        or extent.y0 < -0.5
        or extent.x1 > width + 0.5
        or extent.y1 > height + 0.5
    ]
    assert not outside, (
        f"text outside the {width:g} x {height:g} px figure: " + "; ".join(outside)
    )
    labels = [text for text in _titles_and_labels(fig) if text in extents]
    overlapping = [
        f"{first.get_text()!r} and {second.get_text()!r}"
        for first, second in combinations(labels, 2)
        if extents[first].overlaps(extents[second])
    ]
    assert not overlapping, "overlapping labels: " + "; ".join(overlapping)


def test_assert_readable_catches_clipped_and_overlapping_text():
    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
    ax.set_ylabel("inside")
    assert_readable(fig)
    ax.text(-0.5, 0.5, "runs off the left edge", transform=ax.transAxes)
    with pytest.raises(AssertionError, match="runs off the left edge"):
        assert_readable(fig)
    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
    ax.set_title("a title")
    fig.text(
        *ax.title.get_position(), "on the title", transform=ax.title.get_transform()
    )
    with pytest.raises(AssertionError, match="overlapping labels"):
        assert_readable(fig)


def test_labels_break_between_words_into_balanced_lines():
    """A label wider than its room breaks after underscores, slashes, hyphens
    and spaces, in as few lines as fit, balanced: "alpha/mu (8-13 Hz)" breaks
    before the bracket rather than leave "Hz)" alone. A word wider than the
    room on its own is cut at its edge, and no character is lost."""
    room = _text_width("alpha/mu (8-13") + 0.01
    assert _wrap_text("alpha/mu (8-13 Hz)", room) == "alpha/mu\n(8-13 Hz)"
    room = _text_width("user_registered_") + 0.01
    assert _wrap_text("user_registered_attribution_method", room) == (
        "user_registered_\nattribution_\nmethod"
    )
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    room = _text_width("abcdefgh") + 0.01
    lines = _wrap_text(alphabet, room).split("\n")
    assert "".join(lines) == alphabet and len(lines) == 4
    assert all(_text_width(line) <= room for line in lines)
    # A word one character too wide is cut before its last character.
    assert _wrap_text(alphabet[:9], room) == "abcdefgh\ni"
    # A room narrower than one character holds one character a line.
    assert _wrap_text("abc", 0.01) == "a\nb\nc"
    # Two spaces where a line breaks leave no empty line, and the next line
    # starts at its word.
    room = _text_width("alpha") + 0.001
    assert "" not in _wrap_text("alpha  betagamma", room).split("\n")
    assert _wrap_text("alpha  beta", room) == "alpha\nbeta"
    # Words that fit, with the space between them, share a line: the space
    # after the last of a line takes no room.
    room = _text_width("alpha beta") + 0.01
    assert _wrap_text("alpha beta gamma", room).count("\n") == 1
    # Balanced at the narrowest width that keeps as few lines, not near it.
    name = "imagined movement of the left hand"
    assert _wrap_text(name, _text_width(name) - 0.01) == (
        "imagined movement\nof the left hand"
    )


def test_text_width_is_that_of_the_widest_line():
    """A label of several lines is as wide as its widest line, not their sum."""
    assert _text_width("alpha\nbeta band") == max(
        _text_width("alpha"), _text_width("beta band")
    )


@pytest.mark.parametrize("fontsize", ["small", "medium", "large"])
def test_text_height_holds_the_text_as_drawn(fontsize):
    """Figures make room for wrapped labels by their height: that matplotlib
    draws them at, for several lines (within hinting's few percent), and no
    less for one line (drawn without the space between lines)."""
    fig = plt.figure(dpi=200)

    def drawn_height(text):
        return _drawn_size(fig, text, fontsize)[1]

    for text in ("Tg one\nTg two", "Tg one\nTg two\nTg three"):
        assert _text_height(text, fontsize) == pytest.approx(
            drawn_height(text), rel=0.05
        )
    assert _text_height("Tg one", fontsize) >= drawn_height("Tg one")
    plt.close(fig)


def _drawn_size(fig, text, fontsize):
    """Return the width and height, in inches, that ``fig`` draws ``text`` at."""
    drawn = fig.text(0.5, 0.5, text, fontsize=fontsize)
    fig.canvas.draw()
    extent = drawn.get_window_extent()
    drawn.remove()
    return extent.width / fig.dpi, extent.height / fig.dpi


@pytest.mark.parametrize("fontsize", ["small", "medium", "large"])
def test_wrapped_labels_as_drawn_fit_their_room_and_keep_every_character(fontsize):
    """Each line of a wrapped label, as Agg draws it at 100 dpi (where hinting
    draws text up to 5% wider than its outline), is no wider than the room it
    was wrapped to, holds no space at its ends (drawn, they widen and shift
    it), and the lines together hold every character but the spaces broken at."""
    fig = plt.figure(dpi=100)
    for text in (LONG_METHOD, LONG_LAYER, *LONG_CLASSES, "alpha/mu (8-13 Hz) beta"):
        for room in (0.8, 1.1, 1.5, 2.0, 2.7):
            lines = _wrap_text(text, room, fontsize).split("\n")
            assert "".join(lines).replace(" ", "") == text.replace(" ", "")
            for line in lines:
                assert line == line.strip()
                assert _drawn_size(fig, line, fontsize)[0] <= room, (line, room)
    plt.close(fig)


def test_labels_wrapped_after_a_change_of_font_size_fit_their_room_as_drawn():
    """Widths were cached by the text and its relative size ("large") alone:
    a label wrapped once at the default rcParams was wrapped again, after
    rcParams["font.size"] = 20, to the widths of 12 points, and ran off its
    room."""
    text, room = next(iter(LONG_CLASSES)), 2.0
    _wrap_text(text, room, "large")
    fig = plt.figure(dpi=100)
    with matplotlib.rc_context({"font.size": 20}):
        lines = _wrap_text(text, room, "large").split("\n")
        widths = [_drawn_size(fig, line, "large")[0] for line in lines]
    plt.close(fig)
    assert max(widths) <= room, (lines, widths)


@pytest.mark.parametrize("long_names", [False, True])
def test_class_topomaps(clf, epochs, long_names):
    epochs = epochs.copy()
    if long_names:
        epochs.event_id = LONG_CLASSES
    attribution = explain(clf, epochs, "saliency", target="true", verbose=False)
    units = "relevance in logit per volt of the input" if long_names else "logit/V"
    assert_readable(plot_class_topomaps(attribution, units=units, show=False))
    evoked = attribution.average()
    assert_readable(plot_class_topomaps(evoked, absolute=False, show=False))


@pytest.mark.parametrize(
    "methods, windows, normalize",
    [
        (["saliency", "gradient_x_input", "integrated_gradients"], None, True),
        ([LONG_METHOD, "grad_cam_plus_plus"], [(0.0, 0.25), (0.25, 0.5)], True),
        ([LONG_METHOD, "gradient_x_input"], None, False),
    ],
)
def test_method_comparison(clf, epochs, long_named_method, methods, windows, normalize):
    fig = plot_method_comparison(
        clf,
        epochs,
        methods,
        windows=windows,
        normalize=normalize,
        show=False,
        verbose=False,
    )
    assert_readable(fig)


@pytest.mark.parametrize("long_names", [False, True])
def test_attribution_joint(clf, epochs, long_names, long_named_method):
    method = LONG_METHOD if long_names else "saliency"
    evoked = explain(clf, epochs, method, average=True, verbose=False)
    units = "relevance in logit per volt of the input" if long_names else "logit/V"
    assert_readable(plot_attribution_joint(evoked, units=units, show=False))


def test_attribution_joint_of_magnitudes(clf, epochs):
    """Magnitudes get a scale from zero, and a unit longer than the bar fits."""
    attribution = explain(clf, epochs, "saliency", verbose=False)
    evoked = mne.EvokedArray(
        np.abs(attribution.get_data()).mean(axis=0), attribution.info
    )
    fig = plot_attribution_joint(evoked, units="|relevance|", show=False)
    assert_readable(fig)
    (image, *_) = (image for ax in fig.axes for image in ax.images)
    assert image.colorbar.vmin == 0 == image.get_clim()[0]
    assert image.get_cmap().name == "Reds"


@pytest.mark.parametrize("long_names", [False, True])
def test_band_topomaps(clf, epochs, long_names):
    spectrum = explain_spectrum(clf, epochs, "saliency")
    bands = {"theta": (4, 8), "alpha": (8, 13), "beta": (13, 30)}
    if long_names:
        bands = {
            f"{name} band, as a user names it ({low}-{high} Hz)": (low, high)
            for name, (low, high) in bands.items()
        }
    assert_readable(plot_band_topomaps(spectrum, bands, show=False))


@pytest.mark.parametrize("long_names", [False, True])
def test_sanity_check(clf, epochs, long_names):
    result = parameter_randomization_check(
        clf, epochs[:4], "saliency", random_state=0, verbose=False
    )
    results = [result]
    if long_names:
        steps = [f"{LONG_LAYER}.{step}" for step in result.steps]
        results = [
            SanityCheckResult(
                result.check,
                method,
                steps,
                result.similarity,
                metric=result.metric,
                threshold=result.threshold,
            )
            for method in (LONG_METHOD, "saliency")
        ]
    assert_readable(plot_sanity_check(results, show=False))


@pytest.fixture(scope="module")
def inspected(clf, epochs):
    """The inspections of the network, computed once."""
    return dict(
        sensitivity=unit_sensitivity(
            clf, epochs, "separable_pool", n_draws=1, random_state=0, verbose=False
        ),
        pruning=pruning_curve(
            clf, epochs, "separable_pool", n_random=2, random_state=0, verbose=False
        ),
        spatial=spatial_patterns(clf, epochs, verbose=False),
        temporal=temporal_filters(clf, epochs, verbose=False),
    )


@pytest.mark.parametrize(
    "draw",
    [
        lambda inspected, axes: inspected["sensitivity"].plot(axes=axes, show=False),
        lambda inspected, axes: inspected["pruning"].plot(axes=axes, show=False),
        lambda inspected, axes: deletion_curve(
            inspected["clf"], inspected["epochs"][:2], "saliency", n_steps=4
        ).plot(axes=axes, show=False),
    ],
    ids=["unit_sensitivity", "pruning_curve", "deletion_curve"],
)
def test_plots_refuse_an_array_of_axes(inspected, clf, epochs, draw):
    """plt.subplots(1, 2)'s array of axes failed when drawn, as "'numpy.ndarray'
    object has no attribute 'plot'" (or 'imshow'). plot_temporal_filters and
    plot_sanity_check are checked with their other arguments."""
    _, two_axes = plt.subplots(1, 2)
    with pytest.raises(TypeError, match="axes must be an instance of a matplotlib"):
        draw({**inspected, "clf": clf, "epochs": epochs}, two_axes)


@pytest.mark.parametrize("long_names", [False, True])
def test_unit_sensitivity(inspected, long_names):
    sensitivity = inspected["sensitivity"]
    if long_names:
        bands = {
            f"{name} band as a user names it": band
            for name, band in sensitivity.bands.items()
        }
        sensitivity = dataclasses.replace(sensitivity, layer=LONG_LAYER, bands=bands)
    assert_readable(sensitivity.plot(show=False))


@pytest.mark.parametrize("long_names", [False, True])
def test_pruning_curve(inspected, long_names):
    curve = inspected["pruning"]
    if long_names:
        accuracy = {f"{LONG_METHOD} {order}": a for order, a in curve.accuracy.items()}
        curve = dataclasses.replace(curve, layer=LONG_LAYER, accuracy=accuracy)
    assert_readable(curve.plot(show=False))


@pytest.mark.parametrize("kind, long_names", [("patterns", False), ("filters", True)])
def test_spatial_patterns(inspected, kind, long_names):
    spatial = inspected["spatial"]
    if long_names:
        spatial = dataclasses.replace(spatial, layer=LONG_LAYER)
    assert_readable(spatial.plot(4, kind=kind, show=False))


@pytest.mark.parametrize("long_names", [False, True])
def test_temporal_filters(inspected, long_names):
    filters = inspected["temporal"]
    if long_names:
        filters = dataclasses.replace(filters, layer=LONG_LAYER)
    assert_readable(plot_temporal_filters(filters, show=False))
