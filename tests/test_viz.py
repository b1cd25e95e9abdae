import io
import warnings

import matplotlib.pyplot as plt
import mne
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from mne.channels.layout import _merge_ch_data
from mne.viz import ui_events

from mne_xai import explain, list_methods
from mne_xai.attribution import channel_importance, explain_spectrum
from mne_xai.datasets import _builtin_montage
from mne_xai.report._maps import _outside_the_bands
from mne_xai.viz import (
    _class_maps,
    plot_attribution_joint,
    plot_band_topomaps,
    plot_class_topomaps,
    plot_method_comparison,
)


@pytest.fixture
def drawn(monkeypatch):
    """The data of every topomap drawn, as mne.viz.plot_topomap receives it."""
    data_drawn = []
    plot_topomap = mne.viz.plot_topomap

    def recording(data, *args, **kwargs):
        data_drawn.append(np.asarray(data))
        return plot_topomap(data, *args, **kwargs)

    monkeypatch.setattr(mne.viz, "plot_topomap", recording)
    return data_drawn


@pytest.fixture
def few_epochs(imagery_epochs):
    return imagery_epochs[:8]


@pytest.fixture
def attribution(fitted_eegnet, few_epochs):
    return explain(fitted_eegnet, few_epochs, "saliency", target="true")


def _colorbar_limits(fig, n_maps):
    """(min, max) of each colorbar, which come after the topomap axes."""
    return [ax.get_ylim() for ax in fig.axes[n_maps:]]


def test_class_topomaps_one_map_per_class(attribution):
    fig = plot_class_topomaps(attribution, units="logit/V", show=False)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes[:2]] == list(attribution.event_id)
    assert len(fig.axes) == 3
    colorbar = fig.axes[2]
    assert colorbar.get_ylabel() == "logit/V"
    # Both classes share one scale, which reaches the larger class's maximum.
    importance = np.abs(attribution.get_data()).sum(-1)
    codes = attribution.events[:, 2]
    largest = max(importance[codes == code].mean(0).max() for code in (2, 3))
    assert colorbar.get_ylim() == pytest.approx((0, largest), rel=1e-5)
    # The columns are the epochs' events, not the classes the maps explain.
    assert fig.get_suptitle() == "Channel importance per class of epochs"
    assert "the class each epoch was explained for" in " ".join(
        fig.get_supxlabel().split()
    )
    assert "|relevance| summed over 0.5-2.5 s" in fig.get_supxlabel()


def test_names_with_dollars_are_drawn_as_written(attribution):
    """An event "pay $5 or $10" was drawn as mathtext ("pay 5*or*10", in
    italics), and one "$\\textbf{go}$" raised inside matplotlib once drawn;
    MNE's own label of the number of epochs averaged is still mathtext (it was
    drawn as its source, "N$_{\\mathrm{ave}}$=4")."""
    names = ["pay $5 or $10", r"$\textbf{go}$"]
    maps = attribution.copy()
    maps.event_id = dict(zip(names, maps.event_id.values(), strict=True))
    evoked = maps[names[1]].average()
    parse_math = plt.rcParams["text.parse_math"]
    figures = [
        plot_class_topomaps(maps, show=False),
        plot_attribution_joint(evoked, show=False),
    ]
    assert [ax.get_title() for ax in figures[0].axes[:2]] == names
    mathtext_drawn = []
    for fig in figures:
        fig.savefig(io.BytesIO())
        mathtext_drawn.append(
            [text.get_text() for text in fig.findobj(Text) if text.get_parse_math()]
        )
    assert mathtext_drawn == [[], [rf"N$_{{\mathrm{{ave}}}}$={evoked.nave}"]]
    assert plt.rcParams["text.parse_math"] == parse_math


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_maps_with_nan_are_refused_not_drawn_blank(value):
    """One NaN sample made the colour scale NaN and blanked every map; an
    infinite one made it infinite."""
    maps = _synthetic_maps()
    maps._data[0, 3, 10] = value
    with pytest.raises(ValueError, match="hold NaN or infinite values"):
        plot_class_topomaps(maps, show=False)


def test_class_maps_select_classes_by_code_not_by_tag(attribution):
    """MNE's tags gave "move" the epochs of "move/fast" too."""
    tagged = attribution.copy()
    tagged.event_id = {"move": 2, "move/fast": 3}
    importance = channel_importance(tagged)
    names, maps = _class_maps(importance)
    assert names == ["move", "move/fast"]
    codes, data = tagged.events[:, 2], importance.get_data()[..., 0]
    for code, class_map in zip((2, 3), maps, strict=True):
        np.testing.assert_allclose(class_map, data[codes == code].mean(axis=0))


def _planar_gradiometer_maps(n_pairs=8):
    """Signed maps on pairs of planar gradiometers placed around a spiral."""
    names = [f"MEG {pair:03d}{end}" for pair in range(n_pairs) for end in (2, 3)]
    info = mne.create_info(names, 100.0, "grad")
    for index, channel in enumerate(info["chs"]):
        pair = index // 2
        angle, radius = 2 * np.pi * pair / n_pairs, 0.03 + 0.005 * pair
        channel["loc"][:3] = [radius * np.cos(angle), radius * np.sin(angle), 0.04]
        channel["loc"][3:12] = np.eye(3)[[index % 2, 1 - index % 2, 2]].ravel()
    data = np.random.default_rng(0).standard_normal((4, len(names), 10))
    events = np.c_[np.arange(4), np.zeros(4, int), [1, 2, 1, 2]]
    return mne.EpochsArray(data, info, events=events, verbose=False)


def test_signed_maps_are_not_drawn_on_gradiometer_pairs():
    """MNE merges a pair by its root mean square: two negative channels drew red."""
    maps = _planar_gradiometer_maps()
    with pytest.raises(ValueError, match="planar gradiometers"):
        plot_class_topomaps(maps, absolute=False, ch_type="grad", show=False)
    fig = plot_class_topomaps(maps, ch_type="grad", show=False)
    assert len(fig.axes) == 3


def test_maps_without_gradiometers_draw_without_a_warning():
    """EEG maps have no gradiometer pairs to sum: asking MNE for them warned
    "No 'grad' channel pairs found." on every figure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_class_topomaps(_synthetic_maps(), show=False)


def test_normalized_comparison_of_gradiometers_ends_at_one():
    """Rows were divided by their largest channel, then pairs summed: the colour
    scale labelled "fraction of the method's maximum" reached 1.19."""
    maps = _planar_gradiometer_maps()
    maps.apply_function(np.abs)
    fig = plot_method_comparison(
        None, maps, ["saliency"], attributions={"saliency": maps}, show=False
    )
    assert fig.axes[-1].get_ylim() == pytest.approx((0.0, 1.0))


def test_method_comparison_refuses_signed_maps_of_any_row_on_gradiometers():
    """Signed maps of a second method were drawn on gradiometer pairs as their
    positive root mean square when the first method's maps were magnitudes."""
    magnitudes = _planar_gradiometer_maps()
    magnitudes.apply_function(np.abs)
    with pytest.raises(ValueError, match="Signed maps cannot be drawn on planar"):
        plot_method_comparison(
            None,
            magnitudes,
            ["saliency", "gradient_x_input"],
            attributions={
                "saliency": magnitudes,
                "gradient_x_input": _planar_gradiometer_maps(),
            },
            absolute=False,
            show=False,
        )


@pytest.mark.parametrize("ch_type", ["seeg", "ecog", "dbs"])
@pytest.mark.parametrize("placed", [True, False])
def test_intracranial_contacts_get_no_scalp_topomap(placed, ch_type):
    """sEEG maps were drawn on a scalp disc, interpolated across depth contacts
    as if on the scalp (the report refuses them), and without positions the
    advice was a scalp montage, epochs.set_montage('colin27_1020'). ECoG and
    DBS contacts lie inside the head too."""
    names = [f"LA{index}" for index in range(8)]
    info = mne.create_info(names, 100.0, ch_type)
    if placed:
        positions = {name: [0.005 * i, 0.02, 0.03] for i, name in enumerate(names)}
        info.set_montage(
            mne.channels.make_dig_montage(ch_pos=positions, coord_frame="head")
        )
    data = np.abs(np.random.default_rng(0).standard_normal((4, len(names), 10)))
    events = np.c_[np.arange(4), np.zeros(4, int), [1, 2, 1, 2]]
    maps = mne.EpochsArray(data, info, events=events, verbose=False)
    match = rf"^(?!.*set_montage).*{ch_type} contacts, inside the head"
    with pytest.raises(ValueError, match=match):
        plot_class_topomaps(maps, show=False)
    with pytest.raises(ValueError, match=match):
        plot_attribution_joint(maps.average(), show=False)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("ch_type", ["misc", "eog"])
@pytest.mark.parametrize("placed", [True, False])
def test_maps_of_misc_channels_get_no_topomap(placed, ch_type):
    """Maps of misc channels (a network given them by its picks) were told to
    set a montage, which MNE does not apply to misc channels; typed misc after
    their montage was set, they failed inside MNE with "No channels match the
    selection.". EOG channels are no data channels either."""
    info = mne.create_info(["C3", "Cz", "C4", "Pz", "O1", "O2", "Fz"], 100.0, "eeg")
    if placed:
        info.set_montage(_builtin_montage("1020"))
    data = np.abs(np.random.default_rng(0).standard_normal((4, 7, 10)))
    events = np.c_[np.arange(4), np.zeros(4, int), [1, 2, 1, 2]]
    maps = mne.EpochsArray(data, info, events=events, verbose=False)
    maps.set_channel_types(dict.fromkeys(maps.ch_names, ch_type), verbose=False)
    match = rf"^(?!.*set_montage).*MNE draws no topomaps of {ch_type} channels"
    with pytest.raises(ValueError, match=match):
        plot_class_topomaps(maps, show=False)
    assert plt.get_fignums() == []


def test_topomaps_of_maps_without_eeg_take_their_type_or_say_to_choose():
    """ch_type defaulted to "eeg": on MEG, MNE's "picks ('eeg') could not be
    interpreted as channel names" came from inside."""
    gradiometers = _planar_gradiometer_maps()
    gradiometers.apply_function(np.abs)
    spectrum = mne.time_frequency.SpectrumArray(
        gradiometers.get_data().mean(axis=0), gradiometers.info, np.arange(10.0)
    )
    plot_class_topomaps(gradiometers, show=False)  # their only type
    plot_band_topomaps(spectrum, {"alpha": (2, 4)}, show=False)
    magnetometers = gradiometers.copy().pick([0]).rename_channels({"MEG 0002": "M"})
    magnetometers.set_channel_types({"M": "mag"})
    both = gradiometers.copy().add_channels([magnetometers], force_update_info=True)
    with pytest.raises(ValueError, match=r"types \['grad', 'mag'\].*pass ch_type"):
        plot_class_topomaps(both, show=False)


def test_class_topomaps_of_an_evoked(fitted_eegnet, few_epochs):
    evoked = explain(fitted_eegnet, few_epochs, "saliency", absolute=False).average()
    fig = plot_class_topomaps(evoked, absolute=False, show=False)
    assert len(fig.axes) == 2
    low, high = fig.axes[1].get_ylim()
    assert low == pytest.approx(-high)  # signed maps get a symmetric scale
    title = fig.get_suptitle().replace("\n", " ")  # wrapped to the figure
    assert title == f"Channel importance of {evoked.comment}"


def test_class_topomaps_draw_the_window_they_name(drawn):
    """The maps sum |relevance| over tmin-tmax only, as the caption says."""
    maps = _synthetic_maps()  # 50 samples at 100 Hz from 0 s
    plot_class_topomaps(maps, tmin=0.1, tmax=0.2, show=False)
    summed = maps.get_data()[..., 10:21].sum(axis=-1)  # samples 0.10 to 0.20 s
    codes = maps.events[:, 2]
    expected = [summed[codes == code].mean(axis=0) for code in (1, 2)]
    np.testing.assert_allclose(drawn, expected, rtol=1e-6)


def test_class_topomaps_skip_events_without_epochs(drawn):
    """An event of event_id that no epoch holds gets no map (not one of NaN)."""
    maps = _synthetic_maps()
    maps.event_id = dict(maps.event_id, rest=3)
    fig = plot_class_topomaps(maps, show=False)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["left", "right"]
    assert len(drawn) == 2 and len(fig.axes) == 3


def test_class_topomaps_draw_the_channel_type_asked_for(drawn):
    """Among EEG and gradiometers, ch_type="grad" draws the gradiometers."""
    gradiometers = _planar_gradiometer_maps()
    gradiometers.apply_function(np.abs)
    eeg = _synthetic_maps()[:4].crop(0, 0.09)  # 4 epochs of 10 samples
    eeg.events[:, 2] = gradiometers.events[:, 2]
    eeg.event_id = gradiometers.event_id
    both = gradiometers.copy().add_channels([eeg], force_update_info=True)
    plot_class_topomaps(both, ch_type="grad", show=False)
    assert [len(data) for data in drawn] == [16, 16]
    plot_class_topomaps(both, show=False)  # EEG among several types
    assert [len(data) for data in drawn[2:]] == [6, 6]


def test_class_topomaps_of_an_evoked_name_it_in_the_title_only():
    evoked = _synthetic_maps().average()
    evoked.comment = "saliency"
    fig = plot_class_topomaps(evoked, show=False)
    assert fig.axes[0].get_title() == ""
    title = fig.get_suptitle().replace("\n", " ")  # wrapped to the figure
    assert title == "Channel importance of saliency"
    fig = plot_class_topomaps(evoked, title="Saliency of feet", show=False)
    assert fig.get_suptitle() == "Saliency of feet"


def _image_values(ax):
    """The values a topomap axes draws inside the head (its masked image)."""
    return np.ma.compressed(ax.images[0].get_array())


def test_class_topomaps_draw_each_class_under_its_own_title():
    """Each column's image is its own class's map, not its neighbour's: maps
    constant per class draw images of that constant under the class's name."""
    maps = _synthetic_maps()
    codes = maps.events[:, 2]
    maps._data[codes == 1], maps._data[codes == 2] = 0.01, 0.03  # 0.5 and 1.5 summed
    fig = plot_class_topomaps(maps, show=False)
    for ax, expected in zip(fig.axes[:2], (0.5, 1.5), strict=True):
        assert ax.get_title() == ("left" if expected == 0.5 else "right")
        np.testing.assert_allclose(_image_values(ax), expected, rtol=1e-6)


def test_signed_maps_get_a_diverging_scale_symmetric_about_zero():
    """Signed maps get red for positive and blue for negative on a scale centred
    on zero that reaches their largest magnitude, negative or positive."""
    maps = _synthetic_maps()
    maps.apply_function(np.negative)  # every value negative
    fig = plot_class_topomaps(maps, absolute=False, show=False)
    summed = maps.get_data().sum(axis=-1)
    codes = maps.events[:, 2]
    limit = max(np.abs(summed[codes == code].mean(axis=0)).max() for code in (1, 2))
    image = fig.axes[0].images[0]
    assert image.get_clim() == pytest.approx((-limit, limit), rel=1e-6)
    assert image.get_cmap().name == "RdBu_r"  # red is positive, blue negative
    assert " ".join(fig.get_supxlabel().split()).startswith(
        "relevance summed over 0-0.49 s per epoch"
    )


def test_magnitudes_with_a_zero_get_a_scale_from_zero():
    """Magnitudes are no signed maps for holding a zero (a channel the network
    ignores): reds from 0 to their largest value, as in the joint plot."""
    maps = _synthetic_maps()
    maps._data[:, 0] = 0.0
    fig = plot_class_topomaps(maps, show=False)
    summed, codes = maps.get_data().sum(axis=-1), maps.events[:, 2]
    largest = max(summed[codes == code].mean(axis=0).max() for code in (1, 2))
    image = fig.axes[0].images[0]
    assert image.get_clim() == pytest.approx((0.0, largest), rel=1e-6)
    assert image.get_cmap().name == "Reds"


def test_maps_of_no_relevance_get_a_colour_scale(drawn):
    """Maps of zero everywhere (a method blind to this network) get a colour
    scale of some width, not one from 0 to 0; normalized among other methods,
    their row is drawn as zeros, not as NaN (0 divided by 0)."""
    zeros = _synthetic_maps().apply_function(lambda data: 0 * data)
    fig = plot_class_topomaps(zeros, show=False)
    low, high = fig.axes[0].images[0].get_clim()
    assert low == 0 and high > 0
    drawn.clear()
    plot_method_comparison(
        None,
        zeros,
        ["saliency", "gradient_x_input"],
        attributions={"saliency": _synthetic_maps(), "gradient_x_input": zeros},
        show=False,
    )
    np.testing.assert_array_equal(drawn[2:], 0.0)


def _methods():
    return [m for m in ("saliency", "gradient_x_input") if m in list_methods()]


@pytest.mark.parametrize("windows", [None, [(0.5, 1.5), (1.5, 2.5)]])
def test_method_comparison_grid(fitted_eegnet, few_epochs, windows):
    methods = _methods()
    if windows is None:
        column_titles = list(few_epochs.event_id)
    else:
        column_titles = ["0.5-1.5 s", "1.5-2.5 s"]
    fig = plot_method_comparison(
        fitted_eegnet, few_epochs, methods, windows=windows, show=False, verbose=False
    )
    n_maps = len(methods) * len(column_titles)
    assert len(fig.axes) == n_maps + 1  # one colorbar for the whole figure
    assert [ax.get_title() for ax in fig.axes[: len(column_titles)]] == column_titles
    row_labels = [fig.axes[row * len(column_titles)].get_ylabel() for row in range(2)]
    assert row_labels[: len(methods)] == methods
    # Normalized rows share one colour scale, which ends at 1, and say so.
    assert _colorbar_limits(fig, n_maps) == [pytest.approx((0, 1))]
    assert {ax.images[0].get_clim() for ax in fig.axes[:n_maps]} == {(0, 1)}
    assert "share one colour scale" in fig.get_supxlabel().replace("\n", " ")
    assert "true class" in fig.get_suptitle()


def test_warnings_of_a_figure_point_at_the_callers_line(fitted_eegnet, few_epochs):
    """Run through a context manager used as a decorator, a figure's warnings
    pointed at contextlib.py, not at the user's call."""
    methods = ["deconvolution"]  # whose maps here do not depend on the epoch
    with pytest.warns(RuntimeWarning, match="do not depend on the epoch") as record:
        plot_method_comparison(fitted_eegnet, few_epochs, methods, show=False)
    line = test_warnings_of_a_figure_point_at_the_callers_line.__code__.co_firstlineno
    assert {(w.filename, w.lineno) for w in record} == {(__file__, line + 5)}


def test_method_comparison_true_units(fitted_eegnet, few_epochs):
    fig = plot_method_comparison(
        fitted_eegnet,
        few_epochs,
        ["saliency", "gradient_x_input"],
        normalize=False,
        show=False,
        verbose=False,
    )
    # Methods in different units keep their own scale and colorbar, per row.
    saliency, gradient_x_input = _colorbar_limits(fig, 4)
    assert saliency[1] > 1  # logit per volt: large numbers
    assert saliency != gradient_x_input
    assert "own scale" in fig.get_supxlabel()


def test_method_comparison_reuses_given_maps(fitted_eegnet, few_epochs, monkeypatch):
    methods = _methods()
    explained = plot_method_comparison(
        fitted_eegnet, few_epochs, methods, show=False, verbose=False
    )
    attributions = {
        method: explain(fitted_eegnet, few_epochs, method, target="true", verbose=False)
        for method in methods
    }

    def no_explain(*args, **kwargs):
        raise AssertionError("explained again")

    monkeypatch.setattr("mne_xai.viz.explain", no_explain)
    given = plot_method_comparison(
        fitted_eegnet, few_epochs, methods, attributions=attributions, show=False
    )
    for ax_explained, ax_given in zip(explained.axes, given.axes, strict=True):
        for image_explained, image_given in zip(
            ax_explained.images, ax_given.images, strict=True
        ):
            np.testing.assert_allclose(
                image_given.get_array(), image_explained.get_array()
            )
    with pytest.raises(ValueError, match="holds 2 epochs"):
        plot_method_comparison(
            fitted_eegnet,
            few_epochs,
            methods,
            attributions={methods[0]: attributions[methods[0]][:2]},
            show=False,
        )
    # Maps given in another channel and class order are drawn as the first
    # row's: they were drawn on other sensors, under the other class.
    names = list(few_epochs.event_id)
    reordered = mne.concatenate_epochs(
        [attributions[methods[1]][name] for name in names[::-1]], verbose=False
    ).reorder_channels(few_epochs.ch_names[::-1])
    again = plot_method_comparison(
        fitted_eegnet,
        few_epochs,
        methods,
        attributions={**attributions, methods[1]: reordered},
        show=False,
    )
    for ax_given, ax_again in zip(given.axes, again.axes, strict=True):
        for image_given, image_again in zip(
            ax_given.images, ax_again.images, strict=True
        ):
            np.testing.assert_allclose(
                image_again.get_array(), image_given.get_array(), rtol=1e-6
            )
    with pytest.raises(ValueError, match=r"lack channels \['Fz'\]"):
        plot_method_comparison(
            fitted_eegnet,
            few_epochs,
            methods,
            attributions={
                **attributions,
                methods[1]: attributions[methods[1]].copy().drop_channels("Fz"),
            },
            show=False,
        )


@pytest.mark.parametrize(
    "methods, windows, match",
    [
        ([], None, "methods is empty"),
        (["nonsense"], None, "method"),
        # NumPy's "zero-size array to reduction operation maximum".
        (["saliency"], [], "windows is empty"),
        # Python's "cannot unpack non-iterable float object".
        (["saliency"], (0.5, 1.0), r"list of \(tmin, tmax\) pairs"),
    ],
)
def test_method_comparison_errors(fitted_eegnet, few_epochs, methods, windows, match):
    with pytest.raises(ValueError, match=match):
        plot_method_comparison(
            fitted_eegnet, few_epochs, methods, windows=windows, show=False
        )


def test_method_comparison_refuses_a_normalize_other_than_a_bool(
    fitted_eegnet, few_epochs
):
    """normalize="False", a string, is true: the rows were normalized."""
    with pytest.raises(TypeError, match="normalize must be an instance of bool"):
        plot_method_comparison(
            fitted_eegnet, few_epochs, ["saliency"], normalize="False", show=False
        )


def test_method_comparison_refuses_maps_of_a_method_it_does_not_compare(
    fitted_eegnet, few_epochs
):
    """Maps of a method not in methods were left out of the figure without a word."""
    deeplift = explain(fitted_eegnet, few_epochs, "deeplift", verbose=False)
    with pytest.raises(
        ValueError, match=r"attributions holds maps of \['deeplift'\], which methods"
    ):
        plot_method_comparison(
            fitted_eegnet,
            few_epochs,
            ["saliency"],
            attributions={"deeplift": deeplift},
            show=False,
        )


@pytest.mark.parametrize("negated_row", [0, 1])
def test_normalized_comparison_divides_each_row_by_its_own_largest_magnitude(
    drawn, negated_row
):
    """Each method's row is divided by its own largest magnitude, a negative one
    too: a method whose relevance is minus three times another's is drawn as the
    other's fractions negated, on a diverging scale from -1 to 1 whichever row
    holds the negative values."""
    maps = _synthetic_maps()
    negated = maps.copy().apply_function(lambda data: -3 * data)
    methods = ["saliency", "gradient_x_input"]
    fig = plot_method_comparison(
        None,
        maps,
        methods,
        attributions={
            methods[negated_row]: negated,
            methods[1 - negated_row]: maps,
        },
        absolute=False,
        show=False,
    )
    summed, codes = maps.get_data().sum(axis=-1), maps.events[:, 2]
    class_maps = np.array([summed[codes == code].mean(axis=0) for code in (1, 2)])
    fractions = class_maps / np.abs(class_maps).max()
    rows = [fractions, fractions]
    rows[negated_row] = -fractions
    np.testing.assert_allclose(drawn, np.concatenate(rows), rtol=1e-6)
    assert {ax.images[0].get_clim() for ax in fig.axes[:4]} == {(-1.0, 1.0)}
    assert " ".join(fig.axes[-1].get_ylabel().split()) == (
        "fraction of the method's maximum"
    )
    caption = " ".join(fig.get_supxlabel().split())
    assert caption.startswith("Each map: relevance summed over time")


@pytest.mark.parametrize("absolute", [True, False])
def test_method_comparison_draws_the_mean_importance_in_each_window(drawn, absolute):
    """Each window's column holds |relevance| (relevance, with absolute=False)
    summed over that window's samples and averaged over the epochs, in the
    method's unit with normalize=False."""
    maps = _synthetic_maps()  # 50 samples at 100 Hz from 0 s
    maps._data -= 0.8  # of both signs
    fig = plot_method_comparison(
        None,
        maps,
        ["saliency"],
        attributions={"saliency": maps},
        windows=[(0.0, 0.2), (0.3, 0.49)],
        absolute=absolute,
        normalize=False,
        show=False,
    )
    data = np.abs(maps.get_data()) if absolute else maps.get_data()
    expected = [data[..., :21].sum(-1).mean(0), data[..., 30:].sum(-1).mean(0)]
    np.testing.assert_allclose(drawn, expected, rtol=1e-6)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["0-0.2 s", "0.3-0.49 s"]
    assert " ".join(fig.axes[-1].get_ylabel().split()) == "relevance (method's unit)"
    summed = "|relevance|" if absolute else "relevance"
    assert " ".join(fig.get_supxlabel().split()).startswith(
        f"Each map: {summed} summed over the window, averaged over the epochs."
    )


def _renamed_events(maps):
    renamed = maps.copy()
    renamed.event_id = {"up": 1, "down": 2}
    return renamed


@pytest.mark.parametrize(
    "rename, message",
    [
        # Other classes than the first method's cannot share its columns.
        (
            _renamed_events,
            r"gradient_x_input hold the classes \['up', 'down'\], those of "
            r"saliency \['left', 'right'\]",
        ),
        # As many channels, one of them another, are refused with both
        # differences named, as maps of fewer channels are.
        (
            lambda maps: maps.copy().rename_channels({"Fz": "Fpz"}),
            r"gradient_x_input lack channels \['Fz'\] and hold the other "
            r"channels \['Fpz'\]",
        ),
    ],
    ids=["classes", "channels"],
)
def test_method_comparison_refuses_maps_that_do_not_match_the_first(rename, message):
    """The error names what differs from the first method's maps."""
    maps = _synthetic_maps()
    with pytest.raises(ValueError, match=message):
        plot_method_comparison(
            None,
            maps,
            ["saliency", "gradient_x_input"],
            attributions={"saliency": maps, "gradient_x_input": rename(maps)},
            show=False,
        )


def test_method_comparison_draws_maps_given_in_another_order_as_the_first(drawn):
    """Maps given with their channels, and their classes in event_id, in another
    order than the first method's are drawn on its sensors and under its
    columns: the same maps draw the same row twice."""
    maps = _synthetic_maps()
    reordered = maps.copy().reorder_channels(maps.ch_names[::-1])
    reordered.event_id = {"right": 2, "left": 1}
    fig = plot_method_comparison(
        None,
        maps,
        ["saliency", "gradient_x_input"],
        attributions={"saliency": maps, "gradient_x_input": reordered},
        normalize=False,
        show=False,
    )
    assert [ax.get_title() for ax in fig.axes[:2]] == ["left", "right"]
    np.testing.assert_allclose(drawn[2:], drawn[:2])


def test_method_comparison_leaves_the_maps_given_as_they_were():
    """The maps given are drawn from a copy: picking their EEG channels and
    putting them in the first row's order changed the caller's maps."""
    maps = _synthetic_maps()
    maps.set_channel_types({"C4": "eog"})
    reordered = maps.copy().reorder_channels(maps.ch_names[::-1])
    given = {"saliency": maps, "gradient_x_input": reordered}
    names = {method: given[method].ch_names for method in given}
    plot_method_comparison(None, maps, list(given), attributions=given, show=False)
    assert {method: given[method].ch_names for method in given} == names


def test_joint_plot_in_true_units(attribution):
    fig = plot_attribution_joint(
        attribution["feet"].average(), units="logit/V", show=False
    )
    (colorbar,) = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    (butterfly,) = [
        ax for ax in fig.axes if ax is not colorbar and ax.get_ylabel() == "logit/V"
    ]
    # scalings=1: the axis shows the values themselves, not microvolts.
    data = attribution["feet"].average().data
    assert butterfly.get_ylim()[1] == pytest.approx(data.max(), rel=0.2)
    assert colorbar.get_ylabel() == "logit/V"


def test_joint_plot_of_epochs_says_to_average_them(attribution):
    """explain's default output, given as is, met "evoked must be an instance
    of Evoked" with no word of how to get one."""
    with pytest.raises(TypeError, match=r"give attribution.average\(\)"):
        plot_attribution_joint(attribution, show=False)


def test_joint_plot_of_maps_with_eog(attribution):
    """Maps of a network reading EOG beside EEG failed in MNE's joint plot
    ("Number of axes (1) must match number of channel types (2)")."""
    evoked = attribution["feet"].average()
    eog = mne.EvokedArray(
        evoked.data[:1], mne.create_info(["EOG"], evoked.info["sfreq"], "eog")
    )
    both = evoked.copy().add_channels([eog], force_update_info=True)
    fig = plot_attribution_joint(both, units="logit/V", show=False)
    # The EEG channels are drawn from a copy: the maps keep their EOG.
    assert both.ch_names == [*evoked.ch_names, "EOG"]
    # The EEG channels, as for the maps without EOG.
    alone = plot_attribution_joint(evoked, units="logit/V", show=False)
    assert len(fig.axes) == len(alone.axes)
    no_eeg = mne.EvokedArray(
        evoked.data[:2], mne.create_info(["EOG", "EMG"], 100.0, ["eog", "emg"])
    )
    with pytest.raises(ValueError, match="a scalp map shows one"):
        plot_attribution_joint(no_eeg, show=False)


def test_band_topomaps(fitted_eegnet, few_epochs):
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, "saliency")
    bands = {"mu": (8, 13), "beta": (13, 30)}
    fig = plot_band_topomaps(spectrum, bands, units="logit/V", show=False)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["mu", "beta"]
    assert len(fig.axes) == 3
    relevance = spectrum.average().get_data()
    freqs = spectrum.freqs
    largest = max(
        relevance[:, (freqs >= low) & (freqs <= high)].sum(1).max()
        for low, high in bands.values()
    )
    assert fig.axes[2].get_ylim()[1] == pytest.approx(largest, rel=1e-5)
    with pytest.raises(ValueError, match="holds no frequency"):
        plot_band_topomaps(spectrum, {"ultra": (100, 200)}, show=False)


def test_band_maps_add_up_and_keep_bad_channels(fitted_eegnet, few_epochs, drawn):
    """Bands sharing an edge counted its bin twice (8 and 13 Hz), so the bands'
    relevance did not add up; a bad channel made the plot fail."""
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, "saliency").average()
    spectrum.info["bads"] = [spectrum.ch_names[0]]
    bands = {"theta": (4, 8), "alpha": (8, 13), "beta": (13, 30)}
    plot_band_topomaps(spectrum, bands, show=False)
    relevance, freqs = spectrum.get_data(exclude=(), return_freqs=True)
    in_4_to_30 = relevance[:, (freqs >= 4) & (freqs <= 30)].sum(axis=1)
    assert len(drawn) == 3 and drawn[0].shape == (len(spectrum.ch_names),)
    np.testing.assert_allclose(np.sum(drawn, axis=0), in_4_to_30, rtol=1e-6)


def _random_spectrum(freqs):
    """Signed relevance of the six channels of _synthetic_maps at ``freqs``."""
    relevance = np.random.default_rng(0).standard_normal((6, len(freqs)))
    return mne.time_frequency.SpectrumArray(relevance, _synthetic_maps().info, freqs)


def test_bands_past_the_spectrum_say_what_they_sum(drawn):
    """On a 1-40 Hz spectrum (a SpectralClassifier's), delta 0.5-4 Hz and gamma
    30-100 Hz were summed over 1-4 and 30-40 Hz under their own names, and a
    band of no bin was said to miss a spectrum "from 0"."""
    freqs = np.arange(1.0, 40.5, 0.5)
    spectrum = _random_spectrum(freqs)
    relevance = spectrum.get_data()
    bands = {"delta": (0.5, 4), "alpha": (8, 13), "gamma": (30, 100)}
    fig = plot_band_topomaps(spectrum, bands, show=False)
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == ["delta (1-4 Hz)", "alpha", "gamma (30-40 Hz)"]
    np.testing.assert_allclose(drawn[0], relevance[:, freqs <= 4].sum(axis=1))
    with pytest.raises(ValueError, match="every 0.5 Hz from 1 to 40 Hz"):
        plot_band_topomaps(spectrum, {"slow": (0.1, 0.5)}, show=False)


def test_default_bands_are_those_the_spectrum_reaches(drawn):
    """At 10 Hz (fNIRS), alpha and beta held no frequency: the report failed
    after training, on bands the user never asked for."""
    freqs = np.arange(0.0, 5.1, 0.1)  # 10 Hz data: up to 5 Hz
    spectrum = _random_spectrum(freqs)
    fig = plot_band_topomaps(spectrum, show=False)
    assert fig.axes[0].get_title().replace("\n", " ") == "theta (4-8 Hz) (4-5 Hz)"
    assert len(drawn) == 1
    with pytest.raises(ValueError, match="holds no frequency"):
        plot_band_topomaps(spectrum, {"beta": (13, 30)}, show=False)


def test_a_spectrum_below_every_default_band_is_drawn_whole(drawn):
    """At 8 Hz or less no default band held a frequency, and all three came back,
    to be refused: the report failed after all its training (fNIRS at 7.8 Hz)."""
    freqs = np.arange(0.0, 3.95, 0.1)
    spectrum = _random_spectrum(freqs)
    relevance = spectrum.get_data()
    fig = plot_band_topomaps(spectrum, show=False)
    assert fig.axes[0].get_title().startswith("all frequencies")
    assert len(drawn) == 1
    np.testing.assert_allclose(drawn[0], relevance.sum(axis=1))
    # The report's note says the maps hold all of it (it said "4-3.9 Hz").
    assert _outside_the_bands(spectrum).startswith(
        "The band topomaps show 0-3.9 Hz, which holds 100% of the |relevance|"
    )


@pytest.mark.parametrize(
    "freqs", [np.arange(0.0, 4.5, 0.5), np.arange(30.0, 40.5, 0.5)]
)
def test_a_band_meeting_the_spectrum_at_an_edge_only_is_not_reached(freqs):
    """Data sampled at 8 Hz reach 4 Hz, theta's lower edge, and a spectrum from
    30 Hz meets beta's upper one: a bin on the edge would stand for the whole
    band, so the spectrum is drawn whole, as one reaching no band."""
    fig = plot_band_topomaps(_random_spectrum(freqs), show=False)
    assert [ax.get_title() for ax in fig.axes[:-1]] == ["all frequencies"]


def test_bands_of_one_bin_and_default_bands_below_the_spectrum(drawn):
    """A band (10, 10) held no frequency, its own lower edge dropping its upper
    one; on a spectrum from 10 Hz the default bands kept theta, then refused it."""
    maps = _synthetic_maps()
    freqs = np.arange(0.0, 41.0)
    spectrum = _random_spectrum(freqs)
    relevance = spectrum.get_data()
    plot_band_topomaps(spectrum, {"alpha": (8, 13), "13 Hz": (13, 13)}, show=False)
    np.testing.assert_allclose(drawn[0], relevance[:, 8:13].sum(axis=1))
    np.testing.assert_allclose(drawn[1], relevance[:, 13])
    drawn.clear()
    above_10 = mne.time_frequency.SpectrumArray(
        relevance[:, 10:], maps.info, freqs[10:]
    )
    fig = plot_band_topomaps(above_10, show=False)
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes[:2]]
    # 13 Hz counts in beta, the higher of the two bands sharing it.
    assert titles == ["alpha/mu (8-13 Hz) (10-12 Hz)", "beta (13-30 Hz)"]
    assert len(drawn) == 2


def test_default_bands_tile_theta_to_beta(drawn):
    """The default bands meet edge to edge: together they hold all the relevance
    from 4 to 30 Hz, each bin once (a 12.5 Hz bin between alpha and beta is
    alpha's)."""
    freqs = np.arange(0.0, 40.5, 0.5)
    spectrum = _random_spectrum(freqs)
    relevance = spectrum.get_data()
    fig = plot_band_topomaps(spectrum, show=False)
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes[:3]]
    assert titles == ["theta (4-8 Hz)", "alpha/mu (8-13 Hz)", "beta (13-30 Hz)"]
    in_4_to_30 = relevance[:, (freqs >= 4) & (freqs <= 30)].sum(axis=1)
    np.testing.assert_allclose(np.sum(drawn, axis=0), in_4_to_30, rtol=1e-6)


def _times_of_topomaps(fig):
    """The times of the topomaps of a joint plot, from their titles, left to right."""
    topomaps = [ax for ax in fig.axes if ax.images and ax.get_title()]
    topomaps.sort(key=lambda ax: ax.get_position().x0)
    return [float(ax.get_title().split()[0]) for ax in topomaps]


def test_joint_plot_of_magnitudes_maps_distinct_peaks():
    """Noise on a broad hump made every wobble a peak: two of the three maps sat
    20 ms apart on one hump (and on EEGBCI saliency, all three within 31 ms)."""
    evoked = _synthetic_maps().average()
    times = evoked.times
    course = np.exp(-(((times - 0.1) / 0.06) ** 2)) + 0.8 * np.exp(
        -(((times - 0.35) / 0.04) ** 2)
    )
    noise = 0.2 * np.random.default_rng(0).random(evoked.data.shape)
    evoked.data[:] = np.outer(np.linspace(0.5, 1.5, len(evoked.ch_names)), course)
    evoked.data += noise
    drawn = _times_of_topomaps(
        plot_attribution_joint(evoked, units="logit", show=False)
    )
    assert len(drawn) == 2  # one map per hump
    np.testing.assert_allclose(drawn, [0.1, 0.35], atol=0.03)


def test_joint_plot_maps_the_highest_of_more_humps_than_maps():
    """Of four humps, the three maps go to the three highest: the lowest three
    would show where the network found the least relevance."""
    evoked = _synthetic_maps().average()
    heights = {0.05: 1.0, 0.17: 4.0, 0.29: 2.0, 0.41: 3.0}
    course = sum(
        height * np.exp(-(((evoked.times - time) / 0.02) ** 2) / 2)
        for time, height in heights.items()
    )
    evoked.data[:] = course
    drawn = _times_of_topomaps(
        plot_attribution_joint(evoked, units="logit", show=False)
    )
    np.testing.assert_allclose(drawn, [0.17, 0.29, 0.41])


@pytest.mark.parametrize("gap", [9, 10])
def test_joint_plot_maps_one_of_two_peaks_closer_than_mne_spacing(gap):
    """Two prominent peaks closer than a thirtieth of the epoch (MNE's spacing
    of peaks) get one map, at the higher: 9 samples apart in 300 (a thirtieth
    is 10), where the maps would show nearly one moment twice. Peaks that far
    apart, 10 samples, are two moments, each mapped."""
    evoked = mne.EvokedArray(np.full((6, 300), 0.01), _synthetic_maps().info)
    evoked.data[:, 100], evoked.data[:, 100 + gap] = 3.0, 2.5
    evoked.data[:, 195:206] += np.hanning(11)
    drawn = _times_of_topomaps(
        plot_attribution_joint(evoked, units="logit", show=False)
    )
    mapped = [100, 200] if gap < 10 else [100, 100 + gap, 200]
    np.testing.assert_allclose(drawn, evoked.times[mapped])


def test_joint_plot_peaks_rise_against_the_range_of_relevance():
    """A hump's prominence is a share of the range of the summed relevance, not
    of its largest value: on a floor of relevance (every sample holds some), a
    hump a third as high as the other is mapped too."""
    evoked = _synthetic_maps().average()
    evoked.data[:] = 10.0
    evoked.data[:, 8:13] += np.hanning(5)  # up by 1 at sample 10
    evoked.data[:, 33:38] += 3 * np.hanning(5)  # up by 3 at sample 35
    drawn = _times_of_topomaps(plot_attribution_joint(evoked, show=False))
    np.testing.assert_allclose(drawn, evoked.times[[10, 35]])


def test_joint_plot_maps_humps_rising_a_tenth_of_the_range():
    """A hump is mapped if it rises a tenth of the range of the summed relevance
    above the dips around it: on a range of 5, a hump rising 1 (a fifth) is
    mapped, one rising 0.4 (under a tenth) is a wobble and gets no map."""
    evoked = _synthetic_maps().average()
    evoked.data[:] = 10.0
    for sample, height in ((10, 5.0), (25, 1.0), (40, 0.4)):
        evoked.data[:, sample - 2 : sample + 3] += height * np.hanning(5)
    drawn = _times_of_topomaps(plot_attribution_joint(evoked, show=False))
    np.testing.assert_allclose(drawn, evoked.times[[10, 25]])


def test_joint_plot_maps_where_the_sum_over_channels_peaks():
    """One channel's spike, higher than any single channel elsewhere but small
    summed over channels, gets no map among three humps of every channel."""
    evoked = _synthetic_maps().average()
    evoked.data[:] = 0.01
    for sample in (15, 25, 35):
        evoked.data[:, sample - 2 : sample + 3] += np.hanning(5)
    evoked.data[0, 5] = 3.0
    drawn = _times_of_topomaps(plot_attribution_joint(evoked, show=False))
    np.testing.assert_allclose(drawn, evoked.times[[15, 25, 35]])


def test_joint_plot_of_relevance_rising_throughout_maps_its_end():
    """Magnitudes rising through the epoch have no peak: the one map is where
    they are largest, the last sample."""
    evoked = _synthetic_maps().average()
    evoked.data[:] = np.linspace(0.1, 1.0, len(evoked.times))
    drawn = _times_of_topomaps(plot_attribution_joint(evoked, show=False))
    np.testing.assert_allclose(drawn, [evoked.times[-1]])


def test_times_and_bands_the_maps_do_not_have_are_named():
    """A time past the maps got MNE's "tmin (2.0) must be less than or equal to
    tmax (None)"; a band given as one number, "cannot unpack non-iterable int"."""
    maps = _synthetic_maps()
    with pytest.raises(ValueError, match=r"times \[2.0\] lie outside the maps"):
        plot_attribution_joint(maps.average(), times=[0.1, 2.0], show=False)
    edges = [maps.tmin, maps.tmax]  # the first and last samples are inside
    fig = plot_attribution_joint(maps.average(), times=edges, show=False)
    np.testing.assert_allclose(_times_of_topomaps(fig), edges)
    freqs = np.arange(0.0, 41.0)
    spectrum = mne.time_frequency.SpectrumArray(
        np.ones((6, len(freqs))), maps.info, freqs
    )
    for edges in (10, ("8", "13")):
        with pytest.raises(
            TypeError, match=r"bands\['alpha'\] must be \(fmin, fmax\) in Hz"
        ):
            plot_band_topomaps(spectrum, {"alpha": edges}, show=False)


def _synthetic_maps(ch_names=("Fz", "Cz", "Pz", "Oz", "C3", "C4"), montage=True):
    """Magnitude maps of two classes of three epochs, without any network."""
    info = mne.create_info(list(ch_names), 100.0, "eeg")
    if montage:
        info.set_montage(_builtin_montage("1020"), on_missing="ignore")
    data = np.abs(np.random.default_rng(0).standard_normal((6, len(ch_names), 50)))
    events = np.c_[np.arange(6), np.zeros(6, int), [1, 2] * 3]
    return mne.EpochsArray(
        data, info, events=events, event_id=dict(left=1, right=2), verbose=False
    )


#: Every function of mne_xai.viz that draws topomaps, given synthetic maps (and
#: keyword arguments).
_TOPOMAP_PLOTS = {
    "class_topomaps": lambda maps, **kwargs: plot_class_topomaps(
        maps, show=False, **kwargs
    ),
    "joint": lambda maps, **kwargs: plot_attribution_joint(
        maps.average(), show=False, **kwargs
    ),
    "band_topomaps": lambda maps, **kwargs: plot_band_topomaps(
        mne.time_frequency.SpectrumArray(
            maps.get_data().mean(axis=0), maps.info, np.arange(50.0)
        ),
        **{"bands": {"alpha": (8, 13)}, **kwargs},
        show=False,
    ),
    "method_comparison": lambda maps, **kwargs: plot_method_comparison(
        None, maps, ["saliency"], attributions={"saliency": maps}, show=False, **kwargs
    ),
}


@pytest.mark.parametrize("plot", list(_TOPOMAP_PLOTS))
def test_a_plot_that_fails_leaves_no_figure_open(plot):
    """T3 and T7 share a position in the 10-20 montage: MNE refuses the topomap,
    after the figure was made, which stayed open. The caller's own figures
    stay open."""
    maps = _synthetic_maps(("Fz", "Cz", "Pz", "Oz", "T3", "T7"))
    callers = plt.figure()
    before, held = plt.get_fignums(), set(ui_events._event_channels)
    with pytest.raises(ValueError, match="overlapping positions"):
        _TOPOMAP_PLOTS[plot](maps)
    assert plt.get_fignums() == before
    assert plt.fignum_exists(callers.number)
    # Nor alive in MNE's linked-time events, which plt.close left it to under Agg.
    assert not set(ui_events._event_channels) - held


def test_a_plot_interrupted_leaves_no_figure_open(monkeypatch):
    """Ctrl-C while the maps are drawn (a KeyboardInterrupt, no Exception)
    closes the half-drawn figure too, which a notebook would show later."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mne.viz, "plot_topomap", interrupted)
    before = plt.get_fignums()
    with pytest.raises(KeyboardInterrupt):
        plot_class_topomaps(_synthetic_maps(), show=False)
    assert plt.get_fignums() == before


@pytest.mark.parametrize(
    ("plot", "argument"),
    [
        *((plot, "title") for plot in _TOPOMAP_PLOTS),
        # plot_method_comparison takes no units: it gives the maps' own.
        *((plot, "units") for plot in _TOPOMAP_PLOTS if plot != "method_comparison"),
    ],
)
def test_topomaps_refuse_labels_that_are_not_text(plot, argument):
    """A title or units of another type failed when drawn, as "'int' object has
    no attribute 'split'" (after every method was explained, in
    plot_method_comparison)."""
    with pytest.raises(TypeError, match=f"{argument} must be an instance of"):
        _TOPOMAP_PLOTS[plot](_synthetic_maps(), **{argument: 3})


@pytest.mark.parametrize(
    ("plot", "params", "match"),
    [
        # matplotlib's "Number of columns must be a positive integer, not 0".
        ("joint", dict(times=[]), "times is empty"),
        # Python's "max() arg is an empty sequence".
        ("band_topomaps", dict(bands={}), "bands is empty"),
    ],
)
def test_topomaps_refuse_empty_selections(plot, params, match):
    with pytest.raises(ValueError, match=match):
        _TOPOMAP_PLOTS[plot](_synthetic_maps(), **params)


def test_band_topomaps_refuse_an_absolute_other_than_a_bool():
    """absolute="False", a string, is true: magnitudes were drawn."""
    with pytest.raises(TypeError, match="absolute must be an instance of bool"):
        _TOPOMAP_PLOTS["band_topomaps"](_synthetic_maps(), absolute="False")


@pytest.mark.parametrize("plot", list(_TOPOMAP_PLOTS))
def test_topomaps_refuse_too_few_positions(plot):
    """One channel (a drowsiness Oz recording) failed inside MNE with IndexError."""
    _TOPOMAP_PLOTS[plot](_synthetic_maps())  # six channels draw
    _TOPOMAP_PLOTS[plot](_synthetic_maps(["Fz", "C3", "C4"]))  # three, the fewest
    with pytest.raises(ValueError, match=r"3 or more sensor positions.*have 1 \(Oz\)"):
        _TOPOMAP_PLOTS[plot](_synthetic_maps(["Oz"]))


def test_topomaps_count_a_gradiometer_pair_once():
    pairs = _planar_gradiometer_maps(n_pairs=2)
    pairs.apply_function(np.abs)
    with pytest.raises(ValueError, match="have 2 "):
        plot_class_topomaps(pairs, ch_type="grad", show=False)


@pytest.mark.parametrize("plot", list(_TOPOMAP_PLOTS))
def test_topomaps_refuse_channels_without_positions(plot):
    """Maps without a montage failed with "No digitization points found"."""
    # MNE 1.13 renamed standard_1020 to colin27_1020.
    montage = _builtin_montage("1020")
    with pytest.raises(
        ValueError,
        match=rf"6 of the 6 .*\(Fz, Cz, Pz, Oz, C3 \.\.\.\).*set_montage\('{montage}'",
    ):
        _TOPOMAP_PLOTS[plot](_synthetic_maps(montage=False))
    # Five are all named, with nothing left to elide.
    five_unknown = ["Fz", "X1", "X2", "X3", "X4", "X5"]
    with pytest.raises(ValueError, match=r"5 of the 6 .*\(X1, X2, X3, X4, X5\), "):
        _TOPOMAP_PLOTS[plot](_synthetic_maps(five_unknown))
    # A channel the montage does not know would be drawn at a made-up place.
    unknown = ["Fz", "Cz", "Pz", "Oz", "C3", "XYZ"]
    with pytest.raises(ValueError, match=r"1 of the 6 eeg channels .*\(XYZ\)"):
        _TOPOMAP_PLOTS[plot](_synthetic_maps(unknown))
    # A position at the origin, as readers write when a file holds none.
    at_origin = _synthetic_maps()
    at_origin.info["chs"][5]["loc"][:3] = 0.0
    with pytest.raises(ValueError, match=r"1 of the 6 eeg channels .*\(C4\)"):
        _TOPOMAP_PLOTS[plot](at_origin)
    # A position missing one coordinate is no position either.
    half_placed = _synthetic_maps()
    half_placed.info["chs"][5]["loc"][1] = np.nan
    with pytest.raises(ValueError, match=r"1 of the 6 eeg channels .*\(C4\)"):
        _TOPOMAP_PLOTS[plot](half_placed)


def test_joint_plot_refuses_signed_maps_on_gradiometer_pairs():
    """The joint plot drew signed gradiometer maps as positive magnitudes (the
    pairs' root mean square) on a 0..max scale; the topomaps refused them."""
    evoked = _planar_gradiometer_maps().average()
    # MNE places the pairs of a joint plot by name, from its Neuromag layout.
    layout = mne.channels.read_layout("Vectorview-grad").names
    evoked.rename_channels(dict(zip(evoked.ch_names, layout, strict=False)))
    assert evoked.data.min() < 0
    with pytest.raises(ValueError, match="planar gradiometers"):
        plot_attribution_joint(evoked, times=[0.05], show=False)
    magnitudes = evoked.copy().apply_function(np.abs)
    fig = plot_attribution_joint(magnitudes, times=[0.05], show=False)
    (topomap,) = [ax for ax in fig.axes if ax.images]
    assert topomap.images[0].get_clim() == (0, magnitudes.data.max())


def test_joint_plot_shows_bad_channels():
    """A bad channel, left out of MNE's joint plot, set its colour scale: the
    scale reached 5 while the largest value drawn was 2."""
    evoked = _synthetic_maps().average()
    evoked.data[:] = 0.1
    evoked.data[1, 10], evoked.data[2, 30] = 2.0, 5.0
    evoked.info["bads"] = ["Pz"]
    fig = plot_attribution_joint(
        evoked, times=[evoked.times[30]], units="logit", show=False
    )
    (colorbar,) = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    (butterfly,) = [
        ax for ax in fig.axes if ax is not colorbar and ax.get_ylabel() == "logit"
    ]
    (topomap,) = [ax for ax in fig.axes if ax.images]
    traces = [
        line.get_ydata() for line in butterfly.lines if len(line.get_ydata()) == 50
    ]
    assert len(traces) == len(evoked.ch_names)
    assert np.max(traces) == colorbar.get_ylim()[1] == 5.0
    assert colorbar.get_ylim()[0] == 0  # the bar starts where the scale does
    assert topomap.images[0].get_clim() == (0, 5.0)
    # Every channel is marked on the map, the bad one too.
    assert max(len(c.get_offsets()) for c in topomap.collections) == 6
    assert evoked.info["bads"] == ["Pz"]  # the caller's Evoked is left as it was


def test_joint_plot_of_magnitudes_maps_where_relevance_peaks():
    """MNE's peaks of the spread across channels put two of three topomaps at
    the baseline, where the maps held 5 and 7 percent of their peak."""
    evoked = _synthetic_maps().average()
    evoked.data[:] = 0.01
    for sample, height in ((10, 1.0), (25, 3.0), (40, 2.0)):
        evoked.data[:, sample - 2 : sample + 3] += height * np.hanning(5)
    evoked.data[0, 3] = 0.5  # one channel apart from the others, nothing more
    fig = plot_attribution_joint(evoked, units="logit", show=False)
    drawn = sorted(
        float(ax.get_title().split()[0])
        for ax in fig.axes
        if ax.images and ax.get_title()
    )
    np.testing.assert_allclose(drawn, evoked.times[[10, 25, 40]])


@pytest.mark.parametrize("kind", ["signed", "magnitudes with a zero"])
def test_joint_plot_topomaps_draw_the_values_unscaled(kind):
    """The topomaps of a joint plot draw the values themselves, not MNE's
    microvolts (EEG times 1e6): signed maps on a scale symmetric about 0 up to
    their largest magnitude at that time, magnitudes (a channel at exactly 0
    is no sign) from 0 to their largest value, in reds."""
    evoked = _synthetic_maps().average()
    if kind == "signed":
        evoked.data -= evoked.data.mean()
    else:
        evoked.data[0] = 0.0  # a channel the network ignores
    fig = plot_attribution_joint(evoked, times=[evoked.times[20]], show=False)
    (topomap,) = [ax for ax in fig.axes if ax.images]
    image = topomap.images[0]
    if kind == "signed":
        largest = np.abs(evoked.data[:, 20]).max()
        assert image.get_clim() == pytest.approx((-largest, largest), rel=1e-6)
        assert image.get_cmap().name == "RdBu_r"
    else:
        assert image.get_clim() == (0, evoked.data.max())
        assert image.get_cmap().name == "Reds"
    assert np.abs(_image_values(topomap)).max() < 2 * np.abs(evoked.data).max()


def test_joint_plot_of_signed_maps_maps_where_their_spread_peaks():
    """Signed relevance cancelling over channels (positive on some, negative on
    the others) gets MNE's peaks of its spread across channels: its sum over
    channels, whose peaks are those of magnitudes, is 0 throughout."""
    evoked = _synthetic_maps().average()
    hump = np.exp(-(((evoked.times - 0.1) / 0.03) ** 2))
    evoked.data[:] = np.outer([1, 1, 1, -1, -1, -1], hump)
    drawn = _times_of_topomaps(plot_attribution_joint(evoked, show=False))
    np.testing.assert_allclose(drawn, [0.1], atol=0.011)


def test_joint_plot_title_is_the_one_given():
    """A title given replaces the Evoked's comment, which is the default."""
    evoked = _synthetic_maps().average()
    evoked.comment = "saliency"
    assert plot_attribution_joint(evoked, show=False).get_suptitle() == "saliency"
    fig = plot_attribution_joint(evoked, title="Saliency of feet", show=False)
    assert fig.get_suptitle() == "Saliency of feet"


def test_band_magnitude_is_that_of_each_epochs_band_relevance(
    fitted_eegnet, few_epochs, drawn
):
    """absolute=True took the magnitude of each frequency bin before summing the
    band (2.5 times the channel means of the band's relevance described)."""
    spectrum = explain_spectrum(fitted_eegnet, few_epochs, "gradient_x_input")
    fig = plot_band_topomaps(spectrum, {"alpha": (8, 13)}, absolute=True, show=False)
    relevance, freqs = spectrum.get_data(return_freqs=True)
    band = relevance[..., (freqs >= 8) & (freqs <= 13)].sum(axis=-1)
    np.testing.assert_allclose(drawn[0], np.abs(band).mean(axis=0), rtol=1e-6)
    assert "magnitude, averaged over epochs" in " ".join(fig.get_supxlabel().split())


def test_band_magnitude_of_an_average_is_that_of_its_band_relevance(drawn):
    """Of an averaged Spectrum, absolute=True draws the magnitude of each band's
    relevance, and the caption says it is that of the average given."""
    spectrum = _random_spectrum(np.arange(0.0, 41.0))  # signed, a bin per Hz
    fig = plot_band_topomaps(spectrum, {"alpha": (8, 13)}, absolute=True, show=False)
    band = spectrum.get_data()[:, 8:14].sum(axis=1)  # 8 to 13 Hz
    np.testing.assert_allclose(drawn[0], np.abs(band), rtol=1e-6)
    caption = " ".join(fig.get_supxlabel().split())
    assert "magnitude of the average given" in caption


def test_band_topomaps_leave_the_spectrum_given_as_it_was():
    """The spectrum given is drawn from a copy: picking its EEG channels dropped
    the caller's other channels (here a contact of sEEG)."""
    maps = _synthetic_maps()
    maps.set_channel_types({"C4": "seeg"})
    freqs = np.arange(0.0, 41.0)
    spectrum = mne.time_frequency.SpectrumArray(np.ones((6, 41)), maps.info, freqs)
    plot_band_topomaps(spectrum, show=False)
    assert spectrum.ch_names == maps.ch_names


def test_windows_are_named_by_the_samples_summed(attribution):
    """A window asked for beyond the epochs (0-1 s on epochs from 0.5 s) was
    captioned 0-1 s, though 0.5-1 s was summed: half as long as 1-2 s."""
    fig = plot_class_topomaps(attribution, tmin=0.0, tmax=1.0, show=False)
    text = " ".join(t.get_text() for t in fig.texts)
    assert "0.5-1 s" in text and "0-1 s" not in text


def test_windows_from_a_negative_time_are_named_to_the_millisecond(attribution):
    """Epochs from -0.203125 s were captioned "-0.203125-0.790625 s"."""
    early = attribution.copy().shift_time(-0.203125, relative=False)
    fig = plot_class_topomaps(early, tmin=None, tmax=0.79, show=False)
    text = " ".join(t.get_text() for t in fig.texts)
    assert "-0.203 to 0.791 s" in text


def test_comparison_title_names_the_class_explained(
    fitted_eegnet, few_epochs, attribution
):
    """target=0 (the index of "feet", code 2) was titled "class 0"; maps given
    were titled with the target argument, which they ignore."""
    kwargs = dict(windows=[(0.0, 1.0), (1.0, 2.0)], show=False)
    fig = plot_method_comparison(
        fitted_eegnet, few_epochs, ["saliency"], target=0, **kwargs
    )
    assert fig._suptitle.get_text().endswith("(class feet)")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["0.5-1 s", "1-2 s"]
    fig = plot_method_comparison(
        fitted_eegnet,
        few_epochs,
        ["saliency"],
        attributions={"saliency": attribution},
        **kwargs,
    )
    assert fig._suptitle.get_text().endswith("(maps given)")
    fig = plot_method_comparison(
        fitted_eegnet,
        few_epochs,
        ["saliency", "gradient_x_input"],
        attributions={"saliency": attribution},
        **kwargs,
    )
    title = fig.get_suptitle().replace("\n", " ")
    assert title.endswith("(true class; saliency as given)")


def test_method_comparison_explains_the_class_asked_for(
    fitted_eegnet, few_epochs, drawn
):
    """target=1 explains every epoch for "hands" (index 1) and says so: maps of
    the predicted class, or a title naming class 0, show another class."""
    fig = plot_method_comparison(
        fitted_eegnet,
        few_epochs,
        ["saliency"],
        target=1,
        windows=[(0.5, 2.5)],
        normalize=False,
        show=False,
    )
    assert fig.get_suptitle().replace("\n", " ").endswith("(class hands)")
    hands = explain(fitted_eegnet, few_epochs, "saliency", target=1, verbose=False)
    expected = np.abs(hands.get_data()).sum(axis=-1).mean(axis=0)
    np.testing.assert_allclose(drawn[0], expected, rtol=1e-5)


def test_method_comparison_seeds_stochastic_methods(fitted_eegnet, few_epochs, drawn):
    """random_state seeds the methods that draw noise: the maps drawn are those
    explain gives with that seed."""
    kwargs = dict(target="true", random_state=0, verbose=False)
    plot_method_comparison(
        fitted_eegnet,
        few_epochs,
        ["gradient_shap"],
        windows=[(0.5, 2.5)],
        normalize=False,
        show=False,
        **kwargs,
    )
    shap = explain(fitted_eegnet, few_epochs, "gradient_shap", **kwargs)
    expected = np.abs(shap.get_data()).sum(axis=-1).mean(axis=0)
    np.testing.assert_allclose(drawn[0], expected, rtol=1e-5)


def test_gradiometer_pairs_are_drawn_as_their_sum(drawn):
    """MNE draws a pair as the root mean square of its channels: two pairs of
    relevance 1 in total, split (1, 0) and (0.5, 0.5), were drawn at 0.71 and
    0.5 on a colour scale up to 1."""
    n_pairs = 8
    names = [f"MEG {p:03d}{e}" for p in range(n_pairs) for e in (2, 3)]
    info = mne.create_info(names, 100.0, "grad")
    for index, channel in enumerate(info["chs"]):
        angle, radius = 2 * np.pi * (index // 2) / n_pairs, 0.03 + 0.0025 * index
        channel["loc"][:3] = [radius * np.cos(angle), radius * np.sin(angle), 0.04]
        channel["loc"][3:12] = np.eye(3)[[index % 2, 1 - index % 2, 2]].ravel()
    data = np.zeros((2, len(names), 10))
    data[:, 0] = 0.1  # pair 0: (1, 0) summed over time
    data[:, 2:4] = 0.05  # pair 1: (0.5, 0.5)
    events = np.c_[np.arange(2), np.zeros(2, int), [1, 1]]
    maps = mne.EpochsArray(data, info, events=events, event_id={"a": 1})
    fig = plot_class_topomaps(maps, ch_type="grad", units="logit", show=False)
    # MNE merges each pair into one value, as it draws it.
    merged = _merge_ch_data(drawn[0], "grad", [])[0]
    np.testing.assert_allclose(merged[:2], [1.0, 1.0])
    assert fig.axes[0].images[0].get_clim() == pytest.approx((0.0, 1.0))
