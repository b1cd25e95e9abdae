import re
import warnings

import mne
import numpy as np
import pandas as pd
import pytest

from mne_xai import EEGNetClassifier
from mne_xai.attribution import (
    channel_importance,
    explain,
    modality_importance,
    smooth_attribution,
    threshold_attribution,
    time_importance,
    zscore_attribution,
)
from mne_xai.attribution._core import describe_maps
from mne_xai.datasets import _builtin_montage

SFREQ = 100.0


def _attribution_epochs(data, ch_types="eeg", event_codes=None):
    """EpochsArray of attribution-like data with two named classes and metadata."""
    n_epochs, n_channels, _ = data.shape
    if isinstance(ch_types, str):
        ch_types = [ch_types] * n_channels
    info = mne.create_info([f"ch{i}" for i in range(n_channels)], SFREQ, ch_types)
    codes = np.tile([1, 2], n_epochs)[:n_epochs] if event_codes is None else event_codes
    events = np.column_stack([np.arange(n_epochs) * 1000, np.zeros(n_epochs), codes])
    return mne.EpochsArray(
        data,
        info,
        events=events.astype(int),
        tmin=-0.2,
        event_id={"hands": 1, "feet": 2},
        metadata=pd.DataFrame({"trial": np.arange(n_epochs)}),
        verbose=False,
    )


@pytest.fixture
def attribution():
    rng = np.random.default_rng(0)
    return _attribution_epochs(rng.standard_normal((6, 5, 50)))


PROCESSORS = {
    "zscore": zscore_attribution,
    "threshold_fraction": lambda a: threshold_attribution(a, fraction=0.1),
    "threshold_z": lambda a: threshold_attribution(a, z=1.5),
    "smooth": lambda a: smooth_attribution(a, window=0.05),
    "channel_importance": channel_importance,
    "time_importance": time_importance,
}


@pytest.mark.parametrize("name", PROCESSORS)
@pytest.mark.parametrize("averaged", [False, True])
def test_same_kind_out_metadata_kept_input_untouched(attribution, name, averaged):
    inst = attribution.average() if averaged else attribution
    before = inst.get_data().copy()
    out = PROCESSORS[name](inst)
    assert isinstance(out, mne.Evoked if averaged else mne.BaseEpochs)
    np.testing.assert_array_equal(inst.get_data(), before)
    assert not np.array_equal(out.get_data(), before)
    if averaged:
        assert out.nave == inst.nave
    else:
        np.testing.assert_array_equal(out.events, inst.events)
        assert out.event_id == inst.event_id
        pd.testing.assert_frame_equal(out.metadata, inst.metadata)
        assert len(out["feet"]) == 3


@pytest.mark.parametrize("name", PROCESSORS)
def test_a_projector_the_maps_hold_stays_unapplied(attribution, name):
    """Maps holding a projector not applied (an average reference added with
    projection=True) are processed as the values they hold: MNE's EpochsArray
    applies projectors unless told not to."""
    with_projector = attribution.copy().set_eeg_reference(
        projection=True, verbose=False
    )
    assert not with_projector.info["projs"][0]["active"]
    np.testing.assert_array_equal(
        PROCESSORS[name](with_projector).get_data(),
        PROCESSORS[name](attribution).get_data(),
    )


def test_zscore_per_epoch(attribution):
    # Epochs on very different scales end up on the same one.
    scaled = attribution.copy()
    scaled._data *= np.array([1e-9, 1.0, 1e6, 1.0, 1.0, 1.0])[:, None, None]
    data = zscore_attribution(scaled).get_data()
    np.testing.assert_allclose(data.mean(axis=(1, 2)), 0, atol=1e-9)
    np.testing.assert_allclose(data.std(axis=(1, 2)), 1, rtol=1e-9)
    np.testing.assert_allclose(data, zscore_attribution(attribution).get_data())


def test_zscore_keeps_the_channels_relative_scale(attribution):
    """Z-scoring is one affine map per epoch (channels x times). Per channel, a
    channel without relevance came out as large as the most relevant one; its
    maps also have mean 0 and std 1 over channels x times, and so passed the
    test above."""
    attribution._data *= np.array([1.0, 2.0, 5.0, 0.1, 10.0])[:, None]
    data = attribution.get_data()
    mean = data.mean(axis=(1, 2), keepdims=True)
    std = data.std(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(
        zscore_attribution(attribution).get_data(), (data - mean) / std, atol=1e-12
    )


# A map of 0.3 over 5 x 50 samples has a standard deviation of 6e-17 in
# floating point, not 0.
@pytest.mark.parametrize("value", [3.0, 0.3])
def test_zscore_constant_map_warns_and_gives_zeros(attribution, value):
    attribution._data[2] = value
    with pytest.warns(RuntimeWarning, match="constant"):
        data = zscore_attribution(attribution).get_data()
    assert np.all(data[2] == 0)
    assert np.isfinite(data).all()


def test_zscore_of_a_map_with_a_constant_channel_is_the_maps(attribution):
    """A map is constant only when all of it is: a dead channel (zeros) in a
    map that varies is z-scored with the rest, not zeroed with a warning."""
    attribution._data[:, 1] = 0.0
    data = attribution.get_data()
    mean = data.mean(axis=(1, 2), keepdims=True)
    std = data.std(axis=(1, 2), keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zscored = zscore_attribution(attribution).get_data()
    np.testing.assert_allclose(zscored, (data - mean) / std, atol=1e-12)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 1.0])
def test_threshold_fraction_keeps_largest_magnitudes(attribution, fraction):
    original = attribution.get_data()
    # Ties must not let more samples through than asked for.
    original[:, :, :10] = 0.0
    attribution._data[:] = original
    kept = threshold_attribution(attribution, fraction=fraction).get_data()
    n_keep = int(np.ceil(fraction * original[0].size))
    for epoch, mask in zip(original, kept != 0, strict=True):
        assert mask.sum() <= n_keep
        if mask.any() and not mask.all():
            assert np.abs(epoch[mask]).min() >= np.abs(epoch[~mask]).max()
    np.testing.assert_array_equal(kept[kept != 0], original[kept != 0])


@pytest.mark.parametrize("fraction, n_keep", [(0.01, 3), (0.1, 25), (0.5, 125)])
def test_threshold_fraction_keeps_the_fraction_rounded_up(
    attribution, fraction, n_keep
):
    """0.01 of a map of 250 samples keeps 3 (ceil(2.5)), as documented: the
    largest magnitudes, none fewer."""
    original = attribution.get_data()
    kept = threshold_attribution(attribution, fraction=fraction).get_data()
    assert (np.count_nonzero(kept, axis=(1, 2)) == n_keep).all()
    for epoch, mask in zip(original, kept != 0, strict=True):
        largest = np.sort(np.abs(epoch), axis=None)[-n_keep:]
        np.testing.assert_array_equal(np.sort(np.abs(epoch[mask])), largest)


def test_threshold_fraction_keeps_the_first_of_the_samples_tied_at_the_cut(
    attribution,
):
    """As documented: of equal magnitudes at the cut, the first samples in
    channel then time order, so the kept samples do not depend on how NumPy's
    default sort orders ties (which may differ between machines)."""
    values = np.random.default_rng(3).integers(-2, 3, size=(6, 5, 50)).astype(float)
    attribution._data[:] = values
    kept = threshold_attribution(attribution, fraction=0.1).get_data()
    for epoch, kept_epoch in zip(values, kept, strict=True):
        flat = epoch.ravel()
        first = sorted(range(flat.size), key=lambda index: -abs(flat[index]))[:25]
        expected = np.zeros_like(flat)
        expected[first] = flat[first]
        np.testing.assert_array_equal(kept_epoch.ravel(), expected)


def test_threshold_z_keeps_outliers(attribution):
    attribution._data[:, 1, 7] = 50.0
    attribution._data[:, 3, 20] = -50.0
    kept = threshold_attribution(attribution, z=4.0).get_data()
    assert np.all(kept[:, 1, 7] == 50.0)
    assert np.all(kept[:, 3, 20] == -50.0)
    assert np.count_nonzero(kept) == 2 * len(kept)


@pytest.mark.parametrize("z", [0.0, 1.0])
def test_threshold_z_keeps_the_samples_at_the_threshold(attribution, z):
    """Samples whose |z-score| is ``z`` are kept ("at least z"): in a map of
    +1 and -1 halves every |z-score| is exactly 1; z=0 keeps every sample."""
    attribution._data[:] = np.where(np.arange(50) % 2, 1.0, -1.0)
    kept = threshold_attribution(attribution, z=z).get_data()
    np.testing.assert_array_equal(kept, attribution.get_data())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one"),
        ({"fraction": 0.1, "z": 2.0}, "exactly one"),
        ({"fraction": 0.0}, "fraction must be"),
        ({"fraction": 1.5}, "fraction must be"),
        ({"z": -1.0}, "z must be"),
    ],
)
def test_threshold_errors(attribution, kwargs, match):
    with pytest.raises(ValueError, match=match):
        threshold_attribution(attribution, **kwargs)


@pytest.mark.parametrize("criterion", ["fraction", "z"])
def test_threshold_criteria_must_be_numbers(attribution, criterion):
    """A string compared with 0 would fail with Python's message, naming no
    parameter."""
    with pytest.raises(TypeError, match=f"{criterion} must be an instance of"):
        threshold_attribution(attribution, **{criterion: "0.1"})


def test_smooth_spreads_an_impulse_over_the_window(attribution):
    attribution._data[:] = 0.0
    attribution._data[:, 2, 25] = 1.0
    # 0.05 s at 100 Hz is 5 samples, centred on the impulse.
    smoothed = smooth_attribution(attribution, window=0.05).get_data()
    np.testing.assert_allclose(smoothed[:, 2, 23:28], 0.2)
    assert np.all(smoothed[:, 2, :23] == 0) and np.all(smoothed[:, 2, 28:] == 0)
    np.testing.assert_allclose(smoothed.sum(axis=-1), attribution.get_data().sum(-1))


def test_smooth_pads_the_edges_with_the_edge_value():
    """As documented. Zero padding shrank the relevance of the first and last
    half-window by up to half: a false rise and fall at the epoch's edges."""
    constant_per_channel = np.broadcast_to(np.arange(1.0, 6.0)[:, None], (2, 5, 50))
    constant = _attribution_epochs(constant_per_channel.copy())
    smoothed = smooth_attribution(constant, window=0.05).get_data()
    np.testing.assert_allclose(smoothed, constant_per_channel)
    # 5 samples centred on the first of a ramp: 2 copies of it padded before.
    ramp = _attribution_epochs(np.broadcast_to(np.arange(50.0), (2, 5, 50)).copy())
    first = smooth_attribution(ramp, window=0.05).get_data()[..., 0]
    np.testing.assert_allclose(first, (0 + 0 + 0 + 1 + 2) / 5)


@pytest.mark.parametrize(
    "n_samples, window", [(3, 0.03), (7, 0.07), (11, 0.11), (59, 0.58)]
)
def test_smooth_keeps_an_odd_window_as_given(n_samples, window):
    """Python's round() took 1.5 to 2: 3, 7 and 11 samples became 5, 9 and 13;
    0.58 s at 100 Hz, 57.99... samples in floats, became 57."""
    attribution = _attribution_epochs(np.zeros((2, 5, 100)))
    assert attribution.info["sfreq"] == 100
    attribution._data[:, 2, 50] = 1.0
    smoothed = smooth_attribution(attribution, window=window).get_data()
    assert np.count_nonzero(smoothed[0, 2]) == n_samples


@pytest.mark.parametrize("window", [0.0, -0.1, 10.0])
def test_smooth_rejects_bad_windows(attribution, window):
    with pytest.raises(ValueError, match="window must be"):
        smooth_attribution(attribution, window=window)


def test_smooth_window_must_be_a_number(attribution):
    """A string compared with 0 would fail with Python's message, naming no
    parameter."""
    with pytest.raises(TypeError, match="window must be an instance of"):
        smooth_attribution(attribution, window="0.05")


def test_smooth_takes_a_window_of_the_whole_epoch(attribution):
    """A window of the epoch's duration is the longest allowed (the bound is
    inclusive): 0.5 s is 51 samples, whose average of an impulse is 1 / 51 at
    each of the 50 samples, each window reaching the middle one."""
    attribution._data[:] = 0.0
    attribution._data[:, 2, 25] = 1.0
    duration = len(attribution.times) / attribution.info["sfreq"]
    smoothed = smooth_attribution(attribution, window=duration).get_data()
    np.testing.assert_allclose(smoothed[:, 2], 1 / 51)
    assert np.all(smoothed[:, [0, 1, 3, 4]] == 0)


def test_maps_of_channels_that_are_not_data_are_processed_as_any(attribution):
    """A network may read channels MNE does not count as data (``misc``, as
    the output of time_importance): their maps are processed as those of EEG
    (MNE's default picks left them as they were)."""
    misc = _attribution_epochs(attribution.get_data(), ch_types="misc")
    for process in (
        zscore_attribution,
        lambda maps: threshold_attribution(maps, fraction=0.1),
        lambda maps: smooth_attribution(maps, window=0.05),
    ):
        np.testing.assert_array_equal(
            process(misc).get_data(), process(attribution).get_data()
        )


@pytest.mark.parametrize("absolute", [True, False])
@pytest.mark.parametrize("tmin, tmax", [(None, None), (0.0, 0.1), (0.104, 0.196)])
def test_channel_importance_sums_over_the_window(attribution, absolute, tmin, tmax):
    importance = channel_importance(
        attribution, absolute=absolute, tmin=tmin, tmax=tmax
    )
    window = attribution.copy().crop(tmin, tmax)  # both edges included
    data = window.get_data()
    expected = (np.abs(data) if absolute else data).sum(axis=-1)
    assert importance.get_data().shape == (6, 5, 1)
    np.testing.assert_allclose(importance.get_data()[..., 0], expected)
    assert importance.times[0] == pytest.approx(window.times[len(window.times) // 2])


def test_channel_importance_plots_as_topomap():
    epochs = _attribution_epochs(np.random.default_rng(1).random((4, 3, 20)))
    epochs.rename_channels(dict(zip(epochs.ch_names, ["C3", "Cz", "C4"], strict=True)))
    epochs.set_montage(_builtin_montage("1020"))
    evoked = channel_importance(epochs).average()
    fig = evoked.plot_topomap(times=evoked.times, scalings=1, units="a.u.", show=False)
    assert len(fig.axes) == 2  # the map and its colorbar


def test_channel_importance_empty_window(attribution):
    with pytest.raises(ValueError, match="No samples between"):
        channel_importance(attribution, tmin=5.0, tmax=6.0)


@pytest.mark.parametrize("absolute", [True, False])
@pytest.mark.parametrize("picks", [None, ["ch0", "ch2"]])
def test_time_importance_sums_over_channels(attribution, picks, absolute):
    importance = time_importance(attribution, picks=picks, absolute=absolute)
    data = attribution.get_data(picks=picks or "all")
    assert importance.ch_names == ["importance"]
    assert importance.get_channel_types() == ["misc"]
    np.testing.assert_allclose(importance.times, attribution.times)
    expected = (np.abs(data) if absolute else data).sum(axis=1)
    np.testing.assert_allclose(importance.get_data()[:, 0], expected)


def test_signed_time_importance_cancels_opposite_evidence(attribution):
    """absolute=False is the net evidence: relevance for and against the class
    at one time cancels, where magnitudes would add up."""
    attribution._data[:] = 0.0
    attribution._data[:, 1] = 1.0
    attribution._data[:, 3] = -1.0
    signed = time_importance(attribution, absolute=False).get_data()
    np.testing.assert_array_equal(signed, 0.0)
    np.testing.assert_array_equal(time_importance(attribution).get_data(), 2.0)


@pytest.mark.parametrize("picks", [None, "eeg", [0, 1, 2]])
def test_time_importance_counts_bad_channels(attribution, picks):
    """With picks by type, MNE's default left the bad channels out."""
    marked = attribution.copy()
    marked.info["bads"] = [marked.ch_names[0]]
    np.testing.assert_allclose(
        time_importance(marked, picks=picks).get_data(),
        time_importance(attribution, picks=picks).get_data(),
    )


def test_epochs_not_preloaded_are_refused(attribution):
    """Their data are read from disk on each call: the maps must be loaded first."""
    raw = mne.io.RawArray(np.zeros((5, 1000)), attribution.info, verbose=False)
    events = np.array([[100, 0, 1], [400, 0, 2]])
    lazy = mne.Epochs(
        raw, events, tmin=0, tmax=0.2, baseline=None, preload=False, verbose=False
    )
    for process in PROCESSORS.values():
        with pytest.raises(ValueError, match="preloaded; call attribution.load_data"):
            process(lazy)


@pytest.mark.parametrize(
    "process", [channel_importance, time_importance, modality_importance]
)
def test_absolute_must_be_a_bool(attribution, process):
    """A string such as "no" is true: it would sum magnitudes silently."""
    with pytest.raises(TypeError, match="absolute must be an instance of bool"):
        process(attribution, absolute="no")


@pytest.fixture
def multimodal():
    """Relevance carried by EOG in "hands" epochs and by EMG in "feet" epochs."""
    rng = np.random.default_rng(2)
    ch_types = ["eeg"] * 4 + ["eog"] * 2 + ["emg"]
    data = 0.1 * rng.standard_normal((8, len(ch_types), 30))
    codes = np.repeat([1, 2], 4)
    data[codes == 1, 4:6] *= 20
    data[codes == 2, 6] *= 40
    return _attribution_epochs(data, ch_types, event_codes=codes)


def test_modality_importance_local(multimodal):
    table = modality_importance(multimodal)
    assert list(table.columns) == [
        "epoch",
        "class",
        "channel_type",
        "n_channels",
        "relevance",
        "share",
    ]
    assert len(table) == 8 * 3
    np.testing.assert_allclose(table.groupby("epoch")["share"].sum(), 1.0)
    data = np.abs(multimodal.get_data())
    first = table[table["epoch"] == 0].set_index("channel_type")
    assert first.loc["eog", "relevance"] == pytest.approx(data[0, 4:6].sum())
    assert first.loc["eeg", "n_channels"] == 4
    winners = table.loc[table.groupby("epoch")["share"].idxmax()]
    assert winners["channel_type"].tolist() == ["eog"] * 4 + ["emg"] * 4
    assert winners["class"].tolist() == ["hands"] * 4 + ["feet"] * 4


def test_modality_importance_numbers_epochs_as_mne(multimodal):
    """Epochs were numbered by position (0, 1, 2) where the maps' to_data_frame
    and the tables of mne_xai.evaluate number them by selection, so a join of
    the tables on ``epoch`` paired the shares with other epochs' scores."""
    some = multimodal[[1, 4, 6]]
    table = modality_importance(some)
    assert table["epoch"].tolist() == np.repeat([1, 4, 6], 3).tolist()
    assert set(table["epoch"]) == set(some.to_data_frame()["epoch"])


def test_modality_importance_of_an_epoch_taken_twice_shares_each_copy(multimodal):
    """An epoch picked twice (``epochs[[0, 0]]``, as a bootstrap draws them)
    keeps its selection number in both copies: each copy's shares were of the
    two copies' joint relevance, halved, and summed to one over both."""
    twice = multimodal[[0, 0, 5]]
    table = modality_importance(twice)
    assert table["epoch"].tolist() == np.repeat([0, 0, 5], 3).tolist()
    data = np.abs(twice.get_data())
    per_type = np.stack(
        [
            data[:, :4].sum(axis=(1, 2)),
            data[:, 4:6].sum(axis=(1, 2)),
            data[:, 6].sum(1),
        ],
        axis=1,
    )
    expected = per_type / per_type.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(table["share"], expected.ravel())


def test_modality_importance_names_unnamed_codes_by_their_digits(multimodal):
    """Epochs whose codes the event_id does not name (emptied by hand) are of
    the classes named by the codes' digits, as MNE names unnamed events: the
    ``class`` column holds names, not codes."""
    multimodal.event_id = {}
    table = modality_importance(multimodal, kind="global")
    assert table["class"].tolist() == ["1"] * 3 + ["2"] * 3


def test_modality_importance_global(multimodal):
    table = modality_importance(multimodal, kind="global").set_index(
        ["class", "channel_type"]
    )
    assert len(table) == 2 * 3
    np.testing.assert_allclose(table.groupby("class")["share"].sum(), 1.0)
    data = np.abs(multimodal.get_data())
    assert table.loc[("feet", "emg"), "relevance"] == pytest.approx(data[4:, 6].sum())
    assert table.loc[("hands", "eog"), "share"] > 0.5
    assert table.loc[("feet", "emg"), "share"] > 0.5


def test_modality_importance_counts_bad_channels(multimodal):
    """Bad channels were fed to the network: their relevance counts like the rest."""
    expected = modality_importance(multimodal)
    multimodal.info["bads"] = ["ch0", "ch4"]  # one EEG and one EOG channel
    pd.testing.assert_frame_equal(modality_importance(multimodal), expected)


def test_modality_importance_of_zero_maps_warns(multimodal):
    """All-zero maps gave NaN shares without a word (the shares sum to one)."""
    multimodal._data[1] = 0.0
    with pytest.warns(RuntimeWarning, match="1 epoch.*sums to zero"):
        shares = modality_importance(multimodal)
    by_epoch = shares.groupby("epoch")["share"]
    assert by_epoch.apply(lambda share: share.isna().all()).tolist()[1]
    np.testing.assert_allclose(by_epoch.sum().drop(1), 1)


def test_signed_shares_of_relevance_that_cancels_are_undefined(multimodal):
    """Signed relevance can sum to zero over the types of an epoch whose maps
    are not zero: its shares are undefined (NaN), as the warning says, not
    infinite."""
    multimodal._data[0] = 0.0
    multimodal._data[0, 0, 0] = 1.0  # EEG: +1
    multimodal._data[0, 4, 0] = -1.0  # EOG: -1
    with pytest.warns(RuntimeWarning, match="1 epoch.*sums to zero"):
        shares = modality_importance(multimodal, absolute=False)
    assert shares.loc[shares["epoch"] == 0, "share"].isna().all()


def test_modality_importance_warns_across_units():
    """Maps per volt and per tesla/metre do not add up; maps in logits do."""
    rng = np.random.default_rng(0)
    ch_types = ["eeg"] * 3 + ["grad"] * 2
    attribution = _attribution_epochs(rng.standard_normal((4, 5, 10)), ch_types)
    with pytest.warns(RuntimeWarning, match=r"several units \(T/m, V\).*saliency"):
        modality_importance(attribution)


def test_the_warning_names_the_methods_of_maps_per_unit_of_input():
    """It lists the methods whose maps are per unit of input, as it says:
    saliency and PatternNet, not the random control's maps (a.u.)."""
    rng = np.random.default_rng(0)
    attribution = _attribution_epochs(
        rng.standard_normal((4, 5, 10)), ["eeg"] * 3 + ["grad"] * 2
    )
    with pytest.warns(RuntimeWarning, match="per unit of input") as caught:
        modality_importance(attribution)
    (listed,) = re.findall(
        r"maps per unit of input \(([^)]*)\)", str(caught[0].message)
    )
    methods = listed.split(", ")
    assert "saliency" in methods and "pattern_net" in methods
    assert "random" not in methods and "integrated_gradients" not in methods


def test_modality_importance_of_types_in_one_unit_warns(multimodal):
    """EEG, EOG and EMG are all in volts, but the estimators scale each type
    apart: saliency's shares compared the scales (EEG 0.99 where integrated
    gradients gave 0.51), without a word."""
    assert set(multimodal.get_channel_types()) == {"eeg", "eog", "emg"}
    match = r"several types \(eeg, eog, emg\), all in V, .*scaled apart.*saliency"
    with pytest.warns(RuntimeWarning, match=match):
        modality_importance(multimodal)
    with pytest.warns(RuntimeWarning, match=match):
        time_importance(multimodal)
    with warnings.catch_warnings():  # one type: nothing to warn about
        warnings.simplefilter("error")
        time_importance(multimodal, picks="eeg")


def _warned_of_types(maps):
    """Whether modality_importance of ``maps`` warns that channel types compare."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        modality_importance(maps)
    return any("several types" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "method, unit, warned",
    [
        ("deeplift", "logit", False),
        ("saliency", "logit/{input}", True),
        ("random", "a.u.", False),
        ("pattern_net", "{input}", True),
    ],
)
def test_maps_recorded_in_logits_compare_across_types(multimodal, method, unit, warned):
    """The maps record their unit: DeepLIFT's, in logits, were warned of as
    if they were per unit of input (the gallery's modality example showed the
    warning), where saliency's alone compare the scales."""
    maps = multimodal.copy()
    maps.info["description"] = describe_maps("a recording", method, "true", unit)
    assert _warned_of_types(maps) == warned
    maps.info["description"] = "not made by explain"
    assert _warned_of_types(maps)


@pytest.mark.parametrize(
    "base_method, warned", [("gradient_x_input", False), ("saliency", True)]
)
def test_smoothgrad_maps_compare_across_types_as_their_base(
    spatial_epochs_with_eog, base_method, warned
):
    """SmoothGrad's maps are in the unit of its base method: of gradient x input,
    in logits, they were warned of as per unit of input (the unit of SmoothGrad's
    default base, saliency)."""
    epochs = spatial_epochs_with_eog
    network = EEGNetClassifier(
        picks=["eeg", "eog"], max_epochs=1, random_state=0, verbose=False
    ).fit(epochs)
    maps = explain(
        network,
        epochs[:2],
        "smoothgrad",
        base_method=base_method,
        n_samples=2,
        random_state=0,
        verbose=False,
    )
    assert _warned_of_types(maps) == warned


def test_modality_importance_needs_epochs(multimodal):
    with pytest.raises(TypeError, match="attribution must be an instance of Epochs"):
        modality_importance(multimodal.average())
    with pytest.raises(ValueError, match="Invalid value for the 'kind'"):
        modality_importance(multimodal, kind="per class")


def test_postprocess_real_attribution(fitted_eegnet, imagery_epochs):
    # End to end on what explain returns: the most relevant tenth of each
    # saliency map, smoothed, then summarized per channel for one class.
    attribution = explain(fitted_eegnet, imagery_epochs[:6], "saliency", verbose=False)
    processed = smooth_attribution(
        threshold_attribution(zscore_attribution(attribution), fraction=0.1), 0.1
    )
    importance = channel_importance(processed)["feet"].average()
    assert importance.data.shape == (64, 1)
    assert np.all(importance.data >= 0) and importance.data.max() > 0


@pytest.mark.parametrize(
    "name", ["zscore", "threshold_fraction", "threshold_z", "time_importance"]
)
@pytest.mark.parametrize("averaged", [False, True])
def test_pooling_channels_of_several_units_warns(name, averaged):
    """Maps per volt and per tesla were z-scored, ranked and summed together silently.

    A saliency map on magnetometers (logit per tesla) is some 1e8 times that on
    EEG (logit per volt): the top tenth of the map held every magnetometer sample.
    """
    rng = np.random.default_rng(0)
    ch_types = ["eeg"] * 3 + ["mag"] * 2
    data = rng.standard_normal((4, 5, 10))
    data[:, 3:] *= 1e8
    attribution = _attribution_epochs(data, ch_types)
    attribution = attribution.average() if averaged else attribution
    with pytest.warns(RuntimeWarning, match=r"several units \(T, V\).*saliency"):
        PROCESSORS[name](attribution)
    with warnings.catch_warnings():  # one unit: nothing to warn about
        warnings.simplefilter("error")
        PROCESSORS[name](attribution.copy().pick("eeg"))
        time_importance(attribution, picks="eeg")
