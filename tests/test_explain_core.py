"""The shared path of every method, through ``mne_xai.explain``: MNE outputs,
targets, batching, errors, progress and memory."""

import collections
import copy
import dataclasses
import queue
import re
import threading
import tracemalloc
import warnings
import weakref

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from own_process import in_own_process  # noqa: E402
from skorch.exceptions import NotInitializedError  # noqa: E402

from mne_xai import EEGNetClassifier, _graph, explain, list_methods  # noqa: E402
from mne_xai._graph import autograd_on, call_combined_layers, copy_module, full_float32
from mne_xai.attribution import (  # noqa: E402
    AttributionMethod,
    explain_spectrum,
    method_unit,
    register_method,
)
from mne_xai.attribution._core import (  # noqa: E402
    NOT_RECORDED,
    _epoch_generators,
    recorded_target,
)
from mne_xai.attribution._propagation import fold_batch_norms
from mne_xai.attribution._registry import (  # noqa: E402
    _METHODS,
    check_comparable_across_channels,
    get_method,
)
from mne_xai.attribution.gradient import Saliency
from mne_xai.evaluate import (  # noqa: E402
    deletion_curve,
    parameter_randomization_check,
    spatial_precision,
)
from mne_xai.inspect import (  # noqa: E402
    attribution_patterns,
    layer_activations,
    learn_patterns,
    maximize_activation,
    pruning_curve,
    spatial_patterns,
    temporal_filters,
    unit_sensitivity,
)

N_EPOCHS = 8


@pytest.fixture
def few_epochs(imagery_epochs):
    """Eight imagery epochs of both classes, with metadata."""
    epochs = imagery_epochs[:N_EPOCHS]
    epochs.metadata = pd.DataFrame({"trial": np.arange(N_EPOCHS) + 100})
    return epochs


@pytest.fixture(scope="module")
def tiny_array_estimator():
    """A small EEGNet fitted on arrays (no info), for mechanics and memory."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4, 64)).astype(np.float32)
    y = np.repeat([0, 1], 16)
    X[y == 1, 0] *= 3
    return EEGNetClassifier(
        max_epochs=2, batch_size=16, random_state=0, verbose=False, module__F1=2
    ).fit(X, y)


def _logit_gradient(estimator, data, class_index):
    """Gradient of each epoch's logit of ``class_index`` (one per epoch), directly."""
    module = estimator.module_.eval()
    inputs = torch.as_tensor(data, dtype=torch.float32).requires_grad_()
    logits = module(inputs)
    selected = logits[torch.arange(len(inputs)), torch.as_tensor(class_index)]
    (gradient,) = torch.autograd.grad(selected.sum(), inputs)
    return gradient.numpy(), logits.argmax(dim=1).numpy()


# -- MNE outputs ------------------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "deeplift", "occlusion"])
def test_epochs_output_keeps_the_input_description(fitted_icnn, few_epochs, method):
    attribution = explain(fitted_icnn, few_epochs, method, verbose=False)
    assert isinstance(attribution, mne.EpochsArray)
    assert attribution.get_data().shape == few_epochs.get_data().shape
    assert attribution.ch_names == few_epochs.ch_names
    np.testing.assert_array_equal(
        attribution.get_montage().get_positions()["ch_pos"]["C3"],
        few_epochs.get_montage().get_positions()["ch_pos"]["C3"],
    )
    np.testing.assert_array_equal(attribution.events, few_epochs.events)
    assert attribution.event_id == few_epochs.event_id
    assert attribution.tmin == few_epochs.tmin
    assert attribution.info["sfreq"] == few_epochs.info["sfreq"]
    pd.testing.assert_frame_equal(
        attribution.metadata.reset_index(drop=True),
        few_epochs.metadata.reset_index(drop=True),
    )


def test_an_event_without_epochs_stays_in_the_maps_event_id(fitted_icnn, few_epochs):
    """Rejection that drops every epoch of an event leaves its name in event_id,
    on which the maps' EpochsArray failed ("No matching events found")."""
    feet = np.flatnonzero(few_epochs.events[:, 2] == few_epochs.event_id["feet"])
    epochs = few_epochs.copy().drop(np.setdiff1d(np.arange(len(few_epochs)), feet))
    assert epochs.event_id == few_epochs.event_id
    attribution = explain(fitted_icnn, epochs, "saliency", verbose=False)
    assert attribution.event_id == few_epochs.event_id
    every_epoch = explain(fitted_icnn, few_epochs, "saliency", verbose=False)
    np.testing.assert_allclose(
        attribution.get_data(), every_epoch.get_data()[feet], rtol=1e-5, atol=0
    )


def test_outputs_plot_with_mne(fitted_eegnet, few_epochs):
    attribution = explain(fitted_eegnet, few_epochs, "gradient_x_input", verbose=False)
    feet = attribution["feet"].average()
    assert feet.nave == int(
        (few_epochs.events[:, 2] == few_epochs.event_id["feet"]).sum()
    )
    # explain's recipe for MNE's image: no panel may be drawn in µV.
    figures = attribution.plot_image(
        picks=["C3"],
        scalings=dict(eeg=1),
        units=dict(eeg="logit"),
        evoked=False,
        show=False,
    )
    labels = [axes.get_ylabel() for axes in figures[0].axes]
    assert "µV" not in " ".join(labels)
    assert "logit" in " ".join(
        label.get_text() for label in figures[0].findobj(plt.Text)
    )
    figures.append(
        feet.plot_topomap(times=[1.0], scalings=1, units="logit", show=False)
    )
    figures.append(feet.plot_joint(times=[1.0], show=False))
    assert all(isinstance(figure, plt.Figure) for figure in figures)


@pytest.mark.parametrize("target", [None, "feet"])
def test_average_is_the_mean_of_the_epochs(fitted_eegnet, few_epochs, target):
    kwargs = dict(method="saliency", target=target, batch_size=3, verbose=False)
    per_epoch = explain(fitted_eegnet, few_epochs, **kwargs)
    evoked = explain(fitted_eegnet, few_epochs, average=True, **kwargs)
    assert isinstance(evoked, mne.EvokedArray)
    assert evoked.nave == N_EPOCHS
    assert evoked.ch_names == few_epochs.ch_names and evoked.tmin == few_epochs.tmin
    np.testing.assert_allclose(evoked.data, per_epoch.get_data().mean(0), rtol=1e-6)
    assert "saliency" in evoked.comment
    # Named as the user names it, not by its code (2).
    assert ("predicted class" if target is None else "class feet") in evoked.comment
    # Recorded as the maps of each epoch are: without the record, post-processing
    # warned of averaged maps in logits (DeepLIFT's of EEG and EOG) as if per volt.
    assert evoked.info["description"] == per_epoch.info["description"]


def test_maps_keep_the_trials_of_their_epochs(fitted_eegnet, few_epochs):
    """Selection, drop log and the metadata's index started afresh at 0, so maps
    were tied to the wrong trials; the spectrum shared the input's events."""
    epochs = few_epochs.copy()
    epochs.metadata = pd.DataFrame({"trial": np.arange(len(epochs))})
    subset = epochs[[1, 3, 4]]
    subset.drop([0], reason="USER", verbose=False)
    attribution = explain(fitted_eegnet, subset, "saliency", verbose=False)
    np.testing.assert_array_equal(attribution.selection, subset.selection)
    assert list(attribution.metadata.index) == list(subset.metadata.index)
    assert attribution.drop_log == subset.drop_log
    spectrum = explain_spectrum(fitted_eegnet, subset, "saliency", verbose=False)
    spectrum.events[:, 2] = 99
    assert (subset.events[:, 2] != 99).all()


def _float32_precision():
    """What torch lets float32 convolutions and products run in, by its own API."""
    if hasattr(torch.backends.cudnn, "conv"):  # torch >= 2.9
        return (
            torch.backends.cudnn.conv.fp32_precision,
            torch.backends.cuda.matmul.fp32_precision,
        )
    return (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)


def _operation_precisions():
    """torch's float32 precision setting of each operation of each backend
    (cuBLAS's products, cuDNN's and oneDNN's products, convolutions and
    recurrent layers), as torch >= 2.9 exposes them."""
    holders = (
        getattr(getattr(torch.backends, backend), operation, None)
        for backend in ("cuda", "cudnn", "mkldnn")
        for operation in ("matmul", "conv", "rnn")
    )
    return [holder for holder in holders if hasattr(holder, "fp32_precision")]


FULL_FLOAT32 = (
    ("ieee", "ieee") if hasattr(torch.backends.cudnn, "conv") else (False, False)
)


@pytest.fixture
def tf32_allowed():
    """torch set to allow TF32 everywhere, as a GPU user sets it, then restored."""
    if hasattr(torch.backends.cudnn, "conv"):
        # The API of torch >= 2.9; reading allow_tf32 after it raised. Each
        # operation's setting is read before: read after, one following
        # torch's own ("none") would be restored as "tf32".
        holders = _operation_precisions()
        before = torch.backends.fp32_precision, [h.fp32_precision for h in holders]
        torch.backends.fp32_precision = "tf32"
        yield
        torch.backends.fp32_precision = before[0]
        for holder, setting in zip(holders, before[1], strict=True):
            holder.fp32_precision = setting
    else:
        before = _float32_precision()
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
        yield
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


@pytest.mark.skipif(
    not hasattr(torch.backends.cudnn, "conv"), reason="torch < 2.9 has two settings"
)
def test_settings_that_follow_torchs_own_still_follow_it_after(tf32_allowed):
    """An operation's setting "none" follows torch.backends.fp32_precision (by
    default, all but cuDNN's). Restored as read, such settings were pinned to
    the TF32 they followed, and a caller who then asked torch for full
    precision kept TF32 in those products and convolutions."""
    holders = _operation_precisions()
    for holder in holders:
        holder.fp32_precision = "none"
    with full_float32():
        pass
    torch.backends.fp32_precision = "ieee"
    assert [holder.fp32_precision for holder in holders] == ["ieee"] * len(holders)


@pytest.mark.skipif(
    not hasattr(torch.backends.cudnn, "conv"), reason="torch < 2.9 has two settings"
)
def test_settings_pinned_apart_from_what_they_follow_stay_pinned_after(tf32_allowed):
    """A setting other than the one it follows is the caller's own: restored
    as following, TF32 asked for in each operation alone became full precision
    after one explain."""
    holders = _operation_precisions()
    torch.backends.fp32_precision = "ieee"
    for holder in holders:
        holder.fp32_precision = "tf32"
    with full_float32():
        pass
    assert [holder.fp32_precision for holder in holders] == ["tf32"] * len(holders)


@pytest.mark.skipif(
    not hasattr(torch.backends.cudnn, "conv"), reason="torch < 2.9 has two settings"
)
def test_onednns_settings_follow_onednns_own_after(tf32_allowed):
    """oneDNN's operations follow oneDNN's setting, not cuDNN's: with cuDNN
    pinned to full precision, those following TF32 were taken as pinned to it,
    and kept it when the caller then asked torch for full precision."""
    onednn = [torch.backends.mkldnn.matmul, torch.backends.mkldnn.conv]
    torch.backends.cudnn.fp32_precision = "ieee"
    try:
        for holder in onednn:
            holder.fp32_precision = "none"
        with full_float32():
            pass
        torch.backends.fp32_precision = "ieee"
        assert [holder.fp32_precision for holder in onednn] == ["ieee", "ieee"]
    finally:
        torch.backends.cudnn.fp32_precision = "none"


def test_maps_are_computed_without_tf32(
    tiny_array_estimator, monkeypatch, tf32_allowed
):
    """TF32 on recent GPUs (cuDNN's default) made DeepLIFT's sums miss by 1e-3,
    and its check refused right maps; torch's settings are restored after. With
    torch's per-operation settings (torch.backends.fp32_precision, which torch
    asks GPU users to set), every method failed in torch's "mix of the legacy
    and new APIs"."""
    seen = []

    def recording(self, inputs, target, **params):
        seen.append(_float32_precision())
        return original(self, inputs, target, **params)

    original = Saliency.attribute
    monkeypatch.setattr(Saliency, "attribute", recording)
    allowed = _float32_precision()
    assert allowed != FULL_FLOAT32
    X = np.random.default_rng(0).standard_normal((2, 4, 64)).astype(np.float32)
    explain(tiny_array_estimator, X, "saliency", target=0, verbose=False)
    assert seen == [FULL_FLOAT32]
    assert _float32_precision() == allowed


class _PrecisionRecorder(torch.nn.Module):
    """A layer that records the float32 precision of each pass through it."""

    seen = []  # on the class: copies of the network record here too

    def forward(self, x):
        self.seen.append(_float32_precision())
        return x


def test_checks_that_two_computations_agree_run_without_tf32(tf32_allowed):
    """A network with batch norm folded, or with braindecode's combined
    convolution made to call its layers, is compared with the network; in TF32
    they differed by 1.5 to 4.7 times the tolerance, so LRP and the pattern
    methods refused EEGNet, and ShallowFBCSPNet was left unrewired, on GPUs."""
    network = torch.nn.Sequential(
        torch.nn.Conv1d(4, 3, 5),
        torch.nn.BatchNorm1d(3),
        _PrecisionRecorder(),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 60, 2),
    ).eval()
    inputs = torch.randn(2, 4, 64)
    _PrecisionRecorder.seen.clear()
    fold_batch_norms(network, inputs)
    call_combined_layers(network, inputs[:1])
    assert _PrecisionRecorder.seen
    assert set(_PrecisionRecorder.seen) == {FULL_FLOAT32}


def test_full_float32_holds_until_the_last_of_overlapping_calls_ends(tf32_allowed):
    """Each call saved and restored torch's settings: the first of two
    overlapping calls on threads to end gave TF32 back to the other one, whose
    maps a GPU then computed in TF32, and the second restored full precision
    as the caller's setting."""
    allowed = _float32_precision()
    first, second = full_float32(), full_float32()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert _float32_precision() == FULL_FLOAT32
    second.__exit__(None, None, None)
    assert _float32_precision() == allowed


def test_full_float32_ends_with_a_call_that_raises(tf32_allowed):
    """A call that fails still leaves: were it counted as in, full precision
    would stay the caller's setting for the rest of the process."""
    allowed = _float32_precision()
    with pytest.raises(RuntimeError, match="the explained network failed"):
        with full_float32():
            raise RuntimeError("the explained network failed")
    assert _float32_precision() == allowed
    with full_float32():
        assert _float32_precision() == FULL_FLOAT32


@pytest.mark.skipif(
    not hasattr(torch.backends.cudnn, "conv"), reason="torch < 2.9 has two settings"
)
def test_full_float32_sets_every_operation_of_every_backend(tf32_allowed):
    """An operation left out kept its reduced precision: oneDNN's convolutions
    and recurrent layers run in TF32 or bfloat16 on CPUs that have them
    (torch.set_float32_matmul_precision sets them), cuDNN's recurrent layers in
    TF32 on GPUs."""
    holders = _operation_precisions()
    allowed = [holder.fp32_precision for holder in holders]
    assert len(holders) == 6 and "ieee" not in allowed
    with full_float32():
        assert [holder.fp32_precision for holder in holders] == ["ieee"] * 6
    assert [holder.fp32_precision for holder in holders] == allowed


# -- targets ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["predicted", "true", "label", "event", "index"])
def test_target_selects_the_class(fitted_eegnet, few_epochs, kind):
    """Each form of target explains the logit its documentation promises."""
    data = few_epochs.get_data()
    classes = list(fitted_eegnet.classes_)
    true = np.searchsorted(classes, few_epochs.events[:, 2])
    assert len(set(true)) == 2  # both classes appear in the batch
    feet = few_epochs.event_id["feet"]
    index = next(i for i in range(len(classes)) if i not in classes)
    target, class_index = {
        "predicted": (None, _logit_gradient(fitted_eegnet, data, 0)[1]),
        "true": ("true", true),
        "label": (feet, classes.index(feet)),
        "event": ("feet", classes.index(feet)),
        "index": (index, index),  # an int that is not a class label is an index
    }[kind]
    gradient = _logit_gradient(fitted_eegnet, data, class_index)[0]
    attribution = explain(
        fitted_eegnet,
        few_epochs,
        "saliency",
        target=target,
        absolute=False,
        verbose=False,
    )
    # Saliency runs on EEGNet's spatial-first inference graph: the same
    # gradient up to float32 rounding of differently ordered sums.
    np.testing.assert_allclose(
        attribution.get_data(), gradient, rtol=1e-4, atol=1e-5 * np.abs(gradient).max()
    )


@pytest.mark.filterwarnings("ignore:After training")
def test_a_label_target_is_its_index_in_classes_not_in_text_order(synthetic_arrays):
    """Labels 2 and 10 sort the other way as text ("10" < "2"): each must explain
    its own logit, at its index in classes_ [2, 10] as the network was trained,
    alone or one per epoch; in text order each explained the other class."""
    X, y = synthetic_arrays
    clf = _small_estimator().fit(X, np.array([2, 10])[y])
    assert list(clf.classes_) == [2, 10]
    data, indices = X[16:24], y[16:24]  # epochs of both classes
    for target, index in ((2, 0), (10, 1), (np.array([2, 10])[indices], indices)):
        maps = explain(
            clf, data, "saliency", target=target, absolute=False, verbose=False
        ).get_data()
        gradient = _logit_gradient(clf, data, np.broadcast_to(index, len(data)))[0]
        np.testing.assert_allclose(
            maps, gradient, rtol=1e-4, atol=1e-5 * np.abs(gradient).max()
        )


@pytest.mark.parametrize("container", [pd.Series, torch.as_tensor, np.asarray])
def test_a_target_per_epoch_may_be_any_array_like(fitted_eegnet, few_epochs, container):
    """A pandas Series (e.g. a metadata column) or a tensor of labels was refused;
    a 0-d array or tensor is one target for all epochs."""
    labels = few_epochs.events[:, 2]

    def maps(target):
        return explain(
            fitted_eegnet, few_epochs, "saliency", target=target, verbose=False
        ).get_data()

    np.testing.assert_array_equal(maps(container(labels)), maps("true"))
    # Codes of a file coded otherwise (feet 1, hands 2): 2 is a class, 1 is not,
    # and was read as index 1 (hands).
    with pytest.raises(ValueError, match=r"also \['1'\], which are not"):
        maps(container(labels - 1))
    if container is not pd.Series:
        single = container(labels)[0]
        np.testing.assert_array_equal(maps(single), maps(int(labels[0])))


def test_target_codes_of_epochs_coded_otherwise_warn(fitted_eegnet, few_epochs):
    """In a file coding hands 2 and feet 3 (training: feet 2, hands 3), its own
    codes as target explained the other class of every epoch, silently."""
    assert fitted_eegnet.event_id_ == {"feet": 2, "hands": 3}
    swapped = few_epochs.copy()
    swapped.events[:, 2] = 5 - swapped.events[:, 2]
    swapped.event_id = {"feet": 3, "hands": 2}

    def maps(epochs, target):
        return explain(
            fitted_eegnet, epochs, "saliency", target=target, verbose=False
        ).get_data()

    match = "2 is 'feet' to the estimator but 'hands' in the epochs"
    with pytest.warns(RuntimeWarning, match=match):
        codes = maps(swapped, swapped.events[:, 2])
    # Read as the estimator's classes, as documented: the other class.
    np.testing.assert_array_equal(codes, maps(few_epochs, swapped.events[:, 2]))
    with pytest.warns(RuntimeWarning, match=match):
        maps(swapped, 2)
    # The labels of pruning_curve are read alike.
    with pytest.warns(RuntimeWarning, match=match):
        pruning_curve(
            fitted_eegnet, swapped, "separable_elu", swapped.events[:, 2], n_random=1
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(maps(swapped, "true"), maps(few_epochs, "true"))
        maps(few_epochs, few_epochs.events[:, 2])
        maps(swapped, "feet")


@pytest.mark.parametrize(
    "target, match",
    [(2, None), (5, "index below 2"), (-1, "index below 2"), ("left", "neither")],
)
def test_bad_targets_raise(fitted_eegnet, few_epochs, target, match):
    if match is None:  # 2 is a class label (an event code), not an index
        explain(fitted_eegnet, few_epochs[:1], "saliency", target=target, verbose=False)
        return
    with pytest.raises(ValueError, match=match):
        explain(fitted_eegnet, few_epochs, "saliency", target=target, verbose=False)


def test_the_number_of_classes_is_no_index(tiny_array_estimator):
    """Indices run below the number of classes: with classes 0 and 1, 2 names
    neither, alone or per epoch, and must be refused as such rather than fail
    in NumPy or torch indexing past the logits."""
    X = np.random.default_rng(1).standard_normal((2, 4, 64)).astype(np.float32)
    for target in (2, [2, 2]):
        with pytest.raises(ValueError, match="nor an integer index below 2"):
            explain(tiny_array_estimator, X, "saliency", target=target, verbose=False)


def test_an_event_that_is_no_class_is_named_as_such(fitted_eegnet, few_epochs):
    """It was said to be no event name of the epochs, which it was."""
    epochs = few_epochs.copy()
    epochs.event_id = {**epochs.event_id, "tongue": 9}
    with pytest.raises(ValueError, match="is an event of the epochs, but not a class"):
        explain(fitted_eegnet, epochs, "saliency", target="tongue", verbose=False)


def _named_epochs(X, codes, event_id):
    """Epochs of the arrays X, with the events ``codes`` named by ``event_id``."""
    events = np.column_stack([np.arange(len(X)) * 100, np.zeros_like(codes), codes])
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    return mne.EpochsArray(X * 1e-5, info, events, event_id=event_id, verbose=False)


def _small_estimator():
    return EEGNetClassifier(
        max_epochs=1, batch_size=16, random_state=0, verbose=False, module__F1=2
    )


@pytest.mark.filterwarnings("ignore:After training")
def test_an_event_without_training_epochs_is_no_training_event(synthetic_arrays):
    """MNE keeps the name of an event whose epochs were all dropped: it was
    listed among the training events, though the network saw none of it."""
    X, _ = synthetic_arrays
    codes = np.arange(len(X)) % 3 + 1
    epochs = _named_epochs(X, codes, {"a": 1, "b": 2, "c": 3})
    estimator = _small_estimator().fit(epochs.copy().drop(codes == 2, verbose=False))
    match = (
        r"'b' is an event of the epochs, but not a class the estimator was trained "
        r"on \(\['a', 'c'\] of its training events.*saw no epoch of \['b'\] in "
        "training.*target=y"
    )
    with pytest.raises(ValueError, match=match):
        explain(estimator, epochs, "saliency", target="b", verbose=False)
    # Each epoch's own class: that of "b" is none, and the epochs to keep are named.
    match = (
        r"saw no epoch of the events \['b'\] in training.*Keep the epochs of the "
        r"events it was trained on \(epochs\[\['a', 'c'\]\]\)"
    )
    with pytest.raises(ValueError, match=match):
        explain(estimator, epochs, "saliency", target="true", verbose=False)


@pytest.mark.filterwarnings("ignore:After training")
def test_event_names_are_no_classes_of_an_estimator_trained_on_other_labels(
    synthetic_arrays,
):
    """Trained on Epochs with labels y that are not their events (the codes 1
    and 2 swapped), the classes 1 and 2 are not the events "a" (1) and "b"
    (2): "a" read through the events would explain class 1, the epochs of
    "b", silently."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y + 1, {"a": 1, "b": 2})
    estimator = _small_estimator().fit(epochs, 2 - y)
    match = "'a' is an event of the epochs, but not a class the estimator was"
    with pytest.raises(ValueError, match=match) as refusal:
        explain(estimator, epochs, "saliency", target="a", verbose=False)
    # It saw epochs of "a", under other labels.
    assert "saw no epoch" not in str(refusal.value)
    # Nor are the classes' codes those of the training events: epochs coding
    # the events otherwise give no reason to warn that class 2 is another event.
    swapped = _named_epochs(X, 2 - y, {"a": 2, "b": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(estimator, swapped, "saliency", target=2, verbose=False)


@pytest.mark.filterwarnings("ignore:After training")
def test_codes_of_events_that_are_no_classes_are_named_as_such(synthetic_arrays):
    """Of epochs of events the network never saw ("rest" coded 5, "task" 6),
    target=epochs.events[:, 2] was told "It is the code of event 'rest': pass
    the event name"; so passed, the names per epoch were "neither a class of the
    estimator, an event name (or tag) of the epochs", which they are."""
    X, y = synthetic_arrays
    estimator = _small_estimator().fit(_named_epochs(X, y + 1, {"a": 1, "b": 2}))
    epochs = _named_epochs(X, y + 5, {"rest": 5, "task": 6})
    names = np.array(["rest", "task"])[y].tolist()
    match = (
        r"'(rest|task)'(, but| is an event of the epochs, but) not a class the "
        r"estimator was trained on \(\['a', 'b'\] of its training events"
    )
    for target in (epochs.events[:, 2], 5, names, "rest"):
        with pytest.raises(ValueError, match=match) as error:
            explain(estimator, epochs, "saliency", target=target, verbose=False)
        assert "pass the event name" not in str(error.value)
    with pytest.raises(ValueError, match=r"^target=5 is the code of event 'rest', "):
        explain(estimator, epochs, "saliency", target=5, verbose=False)
    # As advised: a class label.
    maps = explain(estimator, epochs, "saliency", target="a", verbose=False)
    np.testing.assert_array_equal(
        maps.get_data(),
        explain(estimator, epochs, "saliency", target=0, verbose=False).get_data(),
    )


@pytest.mark.filterwarnings("ignore:After training")
def test_a_tag_of_events_that_are_no_classes_is_named_as_such(synthetic_arrays):
    """Trained on "hands" and "feet" of events tagged "hands/left", target="left"
    was said to be no event name (or tag) of the epochs, which it is."""
    X, _ = synthetic_arrays
    codes = np.arange(len(X)) % 3 + 1
    epochs = _named_epochs(X, codes, {"hands/left": 1, "hands/right": 2, "feet": 3})
    estimator = _small_estimator().fit(epochs, np.where(codes == 3, "feet", "hands"))
    match = (
        r"target='left' tags the events \['hands/left'\] of the epochs, which are "
        r"not classes.*Pass a class label.*\(e.g. target=y\)"
    )
    with pytest.raises(ValueError, match=match):
        explain(estimator, epochs, "saliency", target="left", verbose=False)


def test_a_boolean_class_is_a_target(synthetic_arrays):
    """Labels such as metadata["correct"] give classes [False, True], of which
    target=clf.classes_[1] (np.True_) was refused as no number nor string."""
    X, y = synthetic_arrays
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=16, random_state=0, verbose=False, module__F1=2
    ).fit(X, y == 1)
    by_index = explain(estimator, X[:4], target=1, **kwargs)
    for target in (True, estimator.classes_[1]):
        maps = explain(estimator, X[:4], target=target, **kwargs)
        np.testing.assert_array_equal(maps.get_data(), by_index.get_data())
    with pytest.raises(ValueError, match=r"classes \[0, 1\] are not"):
        explain(estimator.fit(X, y), X[:4], target=True, **kwargs)


def test_a_target_that_is_a_class_and_another_index_warns(synthetic_arrays):
    """With classes 1 and 2, target=1 is class 1 (index 0), said out loud."""
    X, y = synthetic_arrays
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=16, random_state=0, verbose=False, module__F1=2
    ).fit(X, y + 1)
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    with pytest.warns(RuntimeWarning, match="index of class 2; the class is"):
        class_one = explain(estimator, X[:4], target=1, **kwargs)
    # An index from NumPy (np.argmax) is warned of too, not taken for a label.
    with pytest.warns(RuntimeWarning, match="index of class 2; the class is"):
        explain(estimator, X[:4], target=np.int64(1), **kwargs)
    with warnings.catch_warnings():
        # Arrays of a network fitted on arrays also say their rate is assumed.
        warnings.filterwarnings("error", message=".*index of class")
        index_zero = explain(estimator, X[:4], target=0, **kwargs)
        class_two = explain(estimator, X[:4], target=2, **kwargs)
    np.testing.assert_array_equal(class_one.get_data(), index_zero.get_data())
    assert not np.allclose(class_one.get_data(), class_two.get_data())


def test_a_target_of_0_that_is_a_class_and_another_index_warns(synthetic_arrays):
    """With classes -1 and 0, target=0 is class 0 (index 1) and also the index
    of class -1: the first index is warned of as the others are."""
    X, y = synthetic_arrays
    estimator = _small_estimator().fit(X, y - 1)
    with pytest.warns(RuntimeWarning, match=r"also the index of class -1; the class"):
        explain(estimator, X[:4], "saliency", target=0, verbose=False)


@pytest.mark.filterwarnings("ignore:After training")
def test_an_int_target_of_events_named_by_numerals_names_their_events(
    synthetic_arrays,
):
    """Triggers "0" and "1" are events {"0": 1, "1": 2} to
    mne.events_from_annotations: target=1 is the event "0", and the warning
    spoke of indices only, not of the event named "1"."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y + 1, {"0": 1, "1": 2})
    estimator = _small_estimator().fit(epochs)
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    match = (
        r"target=1 is a class of the estimator \(event '0', index 0\) and also "
        r"the index of class 2 \(event '1'\).*The event named '1' is class 2: "
        "pass target='1'"
    )
    with pytest.warns(RuntimeWarning, match=match):
        by_int = explain(estimator, epochs[::10], target=1, **kwargs)
    # As documented, an int that is a class is read as the class.
    by_name = explain(estimator, epochs[::10], target="0", **kwargs)
    np.testing.assert_array_equal(by_int.get_data(), by_name.get_data())


@pytest.mark.parametrize("labels", ["codes", "names"])
def test_a_target_may_be_an_event_tag_as_in_epochs_selection(synthetic_arrays, labels):
    """``target="hands"`` selects events named "imagery/hands", as epochs["hands"]."""
    X, y = synthetic_arrays
    event_id = {"imagery/hands": 2, "imagery/feet": 3}
    events = np.column_stack([np.arange(len(X)) * 100, np.zeros_like(y), y + 2])
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    epochs = mne.EpochsArray(X, info, events, event_id=event_id, verbose=False)
    names = np.array(list(event_id))[y]
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=16, random_state=0, verbose=False, module__F1=2
    ).fit(epochs, None if labels == "codes" else names)
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    by_name = explain(estimator, epochs, target="imagery/hands", **kwargs)
    by_tag = explain(estimator, epochs, target="hands", **kwargs)
    np.testing.assert_array_equal(by_tag.get_data(), by_name.get_data())
    feet = explain(estimator, epochs, target="feet", **kwargs)
    assert not np.allclose(feet.get_data(), by_name.get_data())
    # Beside an event without epochs, which MNE keeps and is no class, the tag
    # names one class.
    with_rest = mne.EpochsArray(
        X,
        info,
        events,
        event_id={**event_id, "rest/hands": 4},
        on_missing="ignore",
        verbose=False,
    )
    by_tag = explain(estimator, with_rest, target="hands", **kwargs)
    np.testing.assert_array_equal(by_tag.get_data(), by_name.get_data())
    with pytest.raises(ValueError, match="of several classes"):
        explain(estimator, epochs, target="imagery", **kwargs)
    with pytest.raises(ValueError, match="an event name \\(or tag\\)"):
        explain(estimator, epochs, target="tongue", **kwargs)
    # NumPy made the codes strings, refused as no classes ("also ['2']").
    mixed = [2, *["imagery/feet"] * (len(epochs) - 1)]
    with pytest.raises(
        ValueError, match=r"target mixes strings and numbers \(int, str\)"
    ):
        explain(estimator, epochs, target=mixed, **kwargs)


def test_events_of_a_network_fitted_on_arrays_are_matched_by_name_only(
    synthetic_arrays,
):
    """Fitted on labels 0, 1, 2 (LabelEncoder's) and given Epochs coded rest=1,
    left=2 (right=3 left out): "left" was explained as class 2's logit, "true"
    explained every epoch for another class, and score read the events as
    those classes."""
    X, y = synthetic_arrays
    y = np.arange(len(X)) % 3
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    estimator = EEGNetClassifier(
        info=info, max_epochs=1, random_state=0, verbose=False, module__F1=2
    ).fit(X, y)
    codes = np.where(np.arange(len(X)) % 2, 1, 0) + 1  # rest=1, left=2
    events = np.column_stack([np.arange(len(X)) * 100, np.zeros_like(y), codes])
    epochs = mne.EpochsArray(
        X, info, events, event_id={"rest": 1, "left": 2}, verbose=False
    )
    kwargs = dict(method="saliency", verbose=False)
    for target in ("left", "true"):
        with pytest.raises(ValueError, match="matched to classes by name only"):
            explain(estimator, epochs, target=target, **kwargs)
    with pytest.raises(ValueError, match="matched to classes by name only"):
        estimator.score(epochs)
    assert estimator.score(epochs, y) == estimator.score(X, y)
    explain(estimator, epochs, target=1, **kwargs)  # a class, as given
    with pytest.raises(ValueError, match="matched to classes by name only"):
        estimator.partial_fit(epochs)  # "left" was trained as class 2
    # Classes that are event names are matched by them; a name whose epochs
    # were dropped stops nothing.
    names = np.array(["rest", "left", "right"])[y]
    by_names = EEGNetClassifier(
        info=info, max_epochs=1, random_state=0, verbose=False, module__F1=2
    ).fit(X, names)
    kept = epochs.copy().drop(codes == 2, verbose=False)  # no "left" left
    assert "left" in kept.event_id
    rest = np.full((codes == 1).sum(), "rest")
    assert by_names.score(kept) == by_names.score(X[codes == 1], rest)


def test_true_target_needs_events(tiny_array_estimator):
    X = np.zeros((2, 4, 64), np.float32)
    with pytest.raises(ValueError, match='target="true" needs Epochs'):
        explain(tiny_array_estimator, X, "saliency", target="true", verbose=False)


def test_true_target_of_a_model_trained_on_event_names(synthetic_arrays):
    """Epochs hold event codes; a model fitted on event names finds them by name."""
    X, y = synthetic_arrays
    event_id = {"hands": 2, "feet": 3}
    codes = np.array([2, 3])[y]
    events = np.column_stack([np.arange(len(X)) * 100, np.zeros_like(y), codes])
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    epochs = mne.EpochsArray(X, info, events, event_id=event_id, verbose=False)
    estimator = EEGNetClassifier(
        max_epochs=2, batch_size=16, random_state=0, verbose=False, module__F1=2
    ).fit(epochs, np.array(["hands", "feet"])[y])
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    true = explain(estimator, epochs, target="true", **kwargs)
    for name in event_id:
        by_name = explain(estimator, epochs[name], target=name, **kwargs)
        np.testing.assert_allclose(true[name].get_data(), by_name.get_data())


@pytest.mark.filterwarnings("ignore:After training")
@pytest.mark.parametrize("labels", ["codes", "names"])
def test_true_target_is_refused_where_a_class_is_named_true(synthetic_arrays, labels):
    """In a true/false task, target="true" explained each epoch's own class
    while target="false" explained the class "false", without a word."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y + 1, {"false": 1, "true": 2})
    names = np.array(["false", "true"])[y] if labels == "names" else None
    estimator = _small_estimator().fit(epochs, names)
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    advised = "2" if labels == "codes" else "['true'] * len(epochs)"
    with pytest.raises(ValueError, match=re.escape(f"Pass target={advised} to")):
        explain(estimator, epochs, target="true", **kwargs)
    # Both ways the refusal advises work: the class "true" in every epoch, or
    # each epoch's own class.
    that_class = 2 if labels == "codes" else ["true"] * len(epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        of_true = explain(estimator, epochs, target=that_class, **kwargs)
    own = epochs.events[:, 2] if labels == "codes" else names
    maps = explain(estimator, epochs, target=own, **kwargs)
    np.testing.assert_array_equal(maps["true"].get_data(), of_true["true"].get_data())
    assert not np.allclose(maps["false"].get_data(), of_true["false"].get_data())
    # The epochs' own classes, read inside pruning_curve, are no target.
    by_events = pruning_curve(estimator, epochs, "separable_elu", n_random=1)
    by_labels = pruning_curve(estimator, epochs, "separable_elu", own, n_random=1)
    for ranking, accuracy in by_events.accuracy.items():
        np.testing.assert_array_equal(accuracy, by_labels.accuracy[ranking])


@pytest.mark.filterwarnings("ignore:After training")
def test_a_class_named_by_another_numeral_is_said_with_its_label(synthetic_arrays):
    """With events {"2": 1, "1": 2}, the maps of target=2 read "class 1"."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y + 1, {"2": 1, "1": 2})
    estimator = _small_estimator().fit(epochs)
    maps = explain(estimator, epochs, "saliency", target=2, average=True, verbose=False)
    assert maps.comment == "saliency (class 2 (event '1'))"
    named = _named_epochs(X, y + 1, {"feet": 1, "hands": 2})
    estimator = _small_estimator().fit(named)
    maps = explain(estimator, named, "saliency", target=2, average=True, verbose=False)
    assert maps.comment == "saliency (class hands)"


@pytest.mark.filterwarnings("ignore:After training")
def test_events_named_by_their_own_codes_are_said_once(synthetic_arrays):
    """Events {"1": 1, "2": 2} (triggers "1" and "2") name class 2 "class 2", not
    "class 2 (event '2')"; target=1 is the event "1", so no advice to pass '1'."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, y + 1, {"1": 1, "2": 2})
    estimator = _small_estimator().fit(epochs)
    maps = explain(estimator, epochs, "saliency", target=2, average=True, verbose=False)
    assert maps.comment == "saliency (class 2)"
    match = r"target=1 is a class of the estimator \(event '1', index 0\)"
    with pytest.warns(RuntimeWarning, match=match) as record:
        explain(estimator, epochs[::10], "saliency", target=1, verbose=False)
    assert not any("The event named" in str(w.message) for w in record)


# -- batching -----------------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "deeplift", "integrated_gradients"])
@pytest.mark.filterwarnings("ignore:The events passed to the Epochs constructor")
def test_epoch_attribution_ignores_its_batch(fitted_icnn, few_epochs, method):
    params = dict(steps=8) if method == "integrated_gradients" else {}
    whole = explain(
        fitted_icnn, few_epochs, method, batch_size=N_EPOCHS, verbose=False, **params
    ).get_data()
    alone = explain(
        fitted_icnn, few_epochs, method, batch_size=1, verbose=False, **params
    ).get_data()
    order = np.random.default_rng(0).permutation(N_EPOCHS)
    shuffled = explain(
        fitted_icnn, few_epochs[order], method, batch_size=3, verbose=False, **params
    ).get_data()
    scale = np.abs(whole).max()
    np.testing.assert_allclose(alone, whole, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(shuffled, whole[order], rtol=1e-4, atol=1e-5 * scale)


def test_per_epoch_targets_follow_their_epochs_into_batches(tiny_array_estimator):
    """Each batch must read the targets of its own epochs: batches that read
    those of the first batch explained the wrong class of later epochs, and
    passed the batching test above (target=None) and those of one class."""
    X = np.random.default_rng(1).standard_normal((6, 4, 64)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 1])  # the second and third batches of 2 differ
    kwargs = dict(target=y, absolute=False, verbose=False)
    whole = explain(tiny_array_estimator, X, "saliency", batch_size=6, **kwargs)
    batched = explain(tiny_array_estimator, X, "saliency", batch_size=2, **kwargs)
    gradient = _logit_gradient(tiny_array_estimator, X, y)[0]
    scale = np.abs(gradient).max()
    np.testing.assert_allclose(whole.get_data(), gradient, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(batched.get_data(), whole.get_data(), rtol=1e-5)


def _method_drawing_from_seeds(estimator, seeds):
    """The random method of ``estimator``, one generator per seed in ``seeds``."""
    method = get_method("random")(estimator.module_)
    method.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    return method


def test_draws_need_one_generator_per_epoch(tiny_array_estimator):
    """Drawing for more epochs than it has generators (noisy copies stacked
    into the batch) would broadcast one epoch's draws to all, and for fewer
    would broadcast the batch to the draws: both refused."""
    method = _method_drawing_from_seeds(tiny_array_estimator, [0])
    with pytest.raises(RuntimeError, match="has 1 generators for a batch of 3"):
        method.randn_like(torch.zeros(3, 4, 64))
    method = _method_drawing_from_seeds(tiny_array_estimator, [0, 1, 2])
    with pytest.raises(RuntimeError, match="has 3 generators for a batch of 1"):
        method.randn_like(torch.zeros(1, 4, 64))


def test_each_epoch_draws_from_its_generator_in_the_inputs_type(tiny_array_estimator):
    """An epoch's draws are its own generator's, shaped as asked and of the
    input's type: draws of float32 for float64 inputs (or of float64 for
    float32 ones), or of a size read backwards (GradientSHAP's (1, 1) hid
    both), would pass unnoticed."""
    seeds = [3, 7]
    for dtype in (torch.float64, torch.float32):
        method = _method_drawing_from_seeds(tiny_array_estimator, seeds)
        inputs = torch.zeros(2, 4, 5, dtype=dtype)
        noise = method.randn_like(inputs)
        uniform = method.rand(inputs, 2, 3)
        for epoch, seed in enumerate(seeds):
            generator = torch.Generator().manual_seed(seed)
            expected = torch.randn(4, 5, generator=generator, dtype=dtype)
            torch.testing.assert_close(noise[epoch], expected, rtol=0, atol=0)
            expected = torch.rand(2, 3, generator=generator, dtype=dtype)
            torch.testing.assert_close(uniform[epoch], expected, rtol=0, atol=0)


def test_an_epochs_draws_follow_its_data_the_seed_and_their_purpose():
    """An epoch draws the same numbers whatever its batch, and other numbers
    for another seed or another purpose (``key``: each band of a unit
    sensitivity its own noise, not one shared by every band)."""
    batch = np.random.default_rng(0).standard_normal((3, 2, 8)).astype(np.float32)

    def first_draws(epochs, seed=0, key=()):
        generators = _epoch_generators(epochs, seed, key)
        return [torch.randn(4, generator=generator) for generator in generators]

    last = first_draws(batch)[2]
    torch.testing.assert_close(first_draws(batch[2:])[0], last)
    for other in (first_draws(batch, seed=1), first_draws(batch, key=(1,))):
        assert not torch.equal(other[2], last)
    assert not torch.equal(
        first_draws(batch, key=(1,))[2], first_draws(batch, key=(2,))[2]
    )


def test_explaining_leaves_the_module_as_it_was(tiny_array_estimator):
    module = tiny_array_estimator.module_
    module.train()
    X = np.random.default_rng(1).standard_normal((3, 4, 64)).astype(np.float32)
    try:
        in_train_mode = explain(tiny_array_estimator, X, "saliency", verbose=False)
        assert module.training
        module.eval()
        in_eval_mode = explain(tiny_array_estimator, X, "saliency", verbose=False)
    finally:
        module.eval()
    np.testing.assert_array_equal(in_train_mode.get_data(), in_eval_mode.get_data())


def _pause_each_forward_of(thread, paused, resume):
    """A forward pre-hook: a forward pass run by ``thread`` waits for ``resume``."""

    def hook(module, args):
        if threading.current_thread() is thread:
            paused.put("forward")
            resume.get(timeout=60)

    return hook


@pytest.mark.parametrize("method", ["guided_backprop", "deeplift", "lrp_epsilon"])
def test_other_threads_predict_and_explain_while_a_method_runs(
    tiny_array_estimator, method
):
    # At every forward pass of the method's thread, its hooks are in place;
    # this thread then predicts and takes saliency maps with the same estimator.
    estimator = copy.deepcopy(tiny_array_estimator)
    X = np.random.default_rng(1).standard_normal((3, 4, 64)).astype(np.float32)
    proba = estimator.predict_proba(X)
    saliency = explain(estimator, X, "saliency", verbose=False).get_data()
    alone = explain(estimator, X, method, verbose=False).get_data()
    paused, resume, outcome = queue.Queue(), queue.Queue(), {}

    def explain_in_thread():
        try:
            outcome["maps"] = explain(estimator, X, method, verbose=False).get_data()
        except Exception as error:  # reported below, in the test's thread
            outcome["error"] = error
        finally:
            paused.put("done")

    thread = threading.Thread(target=explain_in_thread, daemon=True)
    # On the last layer, which EEGNet's inference graph for propagation shares.
    estimator.module_.classifier.register_forward_pre_hook(
        _pause_each_forward_of(thread, paused, resume)
    )
    thread.start()
    probes = []
    while paused.get(timeout=60) == "forward":
        try:
            probes.append(
                (
                    estimator.predict_proba(X),
                    explain(estimator, X, "saliency", verbose=False).get_data(),
                )
            )
        except Exception as error:
            probes.append(error)
        resume.put(None)
    thread.join()
    assert probes
    for probe in probes:
        assert not isinstance(probe, Exception), probe
        np.testing.assert_array_equal(probe[0], proba)
        np.testing.assert_array_equal(probe[1], saliency)
    assert "error" not in outcome, outcome.get("error")
    np.testing.assert_array_equal(outcome["maps"], alone)


def _with_legacy_weight_norm(module):
    """The legacy weight_norm keeps a weight computed by the last forward pass,
    which copy.deepcopy refuses: the copy takes its value."""
    torch.nn.utils.weight_norm(module.classifier)


def _with_a_lock(module):
    """A module holding a lock (or an open file, a logging writer) cannot be
    deep-copied as it is: its copy shares the lock."""
    module.writer_lock = threading.Lock()


@pytest.mark.filterwarnings("ignore:.*weight_norm.* is deprecated:FutureWarning")
@pytest.mark.parametrize(
    "alter, methods, rtol",
    [
        # The weight is recomputed from its norm and direction: rounding.
        (
            _with_legacy_weight_norm,
            ("saliency", "integrated_gradients", "saliency"),
            1e-4,
        ),
        (
            _with_a_lock,
            ("saliency", "guided_backprop", "deeplift", "lrp_epsilon"),
            1e-5,
        ),
    ],
)
def test_networks_hard_to_copy_are_explained_as_their_plain_twins(
    tiny_array_estimator, alter, methods, rtol
):
    estimator = copy.deepcopy(tiny_array_estimator)
    alter(estimator.module_)
    X = np.random.default_rng(1).standard_normal((3, 4, 64)).astype(np.float32)
    for method in methods:
        np.testing.assert_allclose(
            explain(estimator, X, method, verbose=False).get_data(),
            explain(tiny_array_estimator, X, method, verbose=False).get_data(),
            rtol=rtol,
            atol=1e-10,
        )


def test_a_network_holding_a_lock_is_copied_and_left_as_it_was(tiny_array_estimator):
    """Explained in place, the network was left in evaluation mode (a user
    training it on had no dropout), and what needs a copy (LRP's folded batch
    norm, randomized weights) was refused."""
    estimator = copy.deepcopy(tiny_array_estimator)
    _with_a_lock(estimator.module_)
    estimator.module_.train()
    X = np.random.default_rng(1).standard_normal((3, 4, 64)).astype(np.float32)
    explain(estimator, X, "saliency", verbose=False)
    parameter_randomization_check(estimator, X, "saliency", verbose=False)
    assert all(layer.training for layer in estimator.module_.modules())


class _Runner:
    """Runs a layer under a lock, as a thread-safe wrapper would."""

    def __init__(self, layer, lock):
        self.layer, self.lock = layer, lock

    def __call__(self, x):
        return self.layer(x)


def _small_body(n_channels):
    """A convolution, ELU and pooling to 16 features, for the networks below."""
    return [
        torch.nn.Conv1d(n_channels, 4, 9, padding=4),
        torch.nn.ELU(),
        torch.nn.AdaptiveAvgPool1d(4),
        torch.nn.Flatten(),
    ]


class _RunsThroughAHolder(torch.nn.Module):
    """Its forward reaches its layers through an object that may hold a lock,
    and keeps its outputs in a list."""

    lock = None

    def __init__(self, n_channels, n_times, n_classes):
        super().__init__()
        self.body = torch.nn.Sequential(
            *_small_body(n_channels), torch.nn.Linear(16, n_classes)
        )
        self.runner = _Runner(self.body, self.lock)
        self.outputs = []

    def forward(self, x):
        self.outputs.append(self.runner(x))
        return self.outputs[-1]


class _HoldsALock(_RunsThroughAHolder):
    lock = threading.Lock()


def test_a_copy_shares_only_what_cannot_be_copied():
    """Sharing the whole holder of a lock made the copy compute with the
    user's layers: parameter randomization of the copy changed nothing it
    computed (similarity 1.00, "fails", where the lock-free twin passed at
    0.02); and the copy appended to the user's list of outputs."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4, 64)).astype(np.float32)
    y = np.repeat([0, 1], 8)
    results = {}
    for network in (_RunsThroughAHolder, _HoldsALock):
        estimator = EEGNetClassifier(
            network, max_epochs=2, batch_size=8, random_state=0, verbose=False
        ).fit(X, y)
        held = estimator.module_.module  # inside the input-scaling wrapper
        n_outputs = len(held.outputs)
        results[network] = (
            explain(estimator, X[:4], "saliency", verbose=False).get_data(),
            parameter_randomization_check(
                estimator, X[:4], "saliency", random_state=0, verbose=False
            ).mean,
        )
        assert len(held.outputs) == n_outputs
    (twin_map, twin_steps), (odd_map, odd_steps) = results.values()
    np.testing.assert_array_equal(odd_map, twin_map)
    pd.testing.assert_frame_equal(odd_steps, twin_steps)


_BodyHolder = collections.namedtuple("_BodyHolder", "body")


@dataclasses.dataclass
class _BodyBox:
    body: object


@dataclasses.dataclass(frozen=True)
class _FrozenBodyBox:
    body: object


class _SlottedBox:
    """An object whose one attribute is a slot (``__slots__`` as a string)."""

    __slots__ = "body"

    def __init__(self, body):
        self.body = body


class _SlottedBoxOfAnotherClass(_SlottedBox):
    """A subclass of a slotted object: its slot is its base class's."""


#: Ways a layer may hold a weak reference to the body: wrap it, and unwrap it.
WEAK_HOLDERS = {
    "list": (lambda body: [weakref.ref(body)], lambda held: held[0]()),
    "cyclic dict": (
        lambda body: (
            (held := {"body": weakref.ref(body)}) and held.update(me=held) or held
        ),
        lambda held: held["body"](),
    ),
    "namedtuple": (
        lambda body: _BodyHolder(weakref.ref(body)),
        lambda held: held.body(),
    ),
    "dataclass": (lambda body: _BodyBox(weakref.ref(body)), lambda held: held.body()),
    "frozen dataclass": (
        lambda body: _FrozenBodyBox(weakref.ref(body)),
        lambda held: held.body(),
    ),
    "slotted object": (
        lambda body: _SlottedBox(weakref.ref(body)),
        lambda held: held.body(),
    ),
    "slotted subclass": (
        lambda body: _SlottedBoxOfAnotherClass(weakref.ref(body)),
        lambda held: held.body(),
    ),
    "WeakValueDictionary": (
        lambda body: weakref.WeakValueDictionary(body=body),
        lambda held: held["body"],
    ),
}


class _Head(torch.nn.Module):
    """A head that reaches the network's body through a weak reference (a
    child's reference to what holds it, kept weak against a cycle), or, in
    the twin, through a plain one."""

    def __init__(self, body, n_classes, holder):
        super().__init__()
        self.classifier = torch.nn.Linear(16, n_classes)
        self.holder = holder
        self.held = [body] if holder is None else WEAK_HOLDERS[holder][0](body)

    def forward(self, x):
        if self.holder is None:
            return self.classifier(self.held[0](x))
        return self.classifier(WEAK_HOLDERS[self.holder][1](self.held)(x))


def _network_reaching_its_body(holder):
    class Network(torch.nn.Module):
        def __init__(self, n_channels, n_times, n_classes):
            super().__init__()
            self.body = torch.nn.Sequential(*_small_body(n_channels))
            self.head = _Head(self.body, n_classes, holder)

        def forward(self, x):
            return self.head(x)

    return Network


@pytest.mark.parametrize("holder", list(WEAK_HOLDERS))
def test_a_copy_computes_with_its_own_layers_through_weak_references(holder):
    """copy.deepcopy keeps a weak reference as it is: the copy computed with
    the user's body, so randomizing the copy's changed nothing it computed
    (parameter randomization read similarity 1.00 on the body's layers)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4, 64)).astype(np.float32)
    y = np.repeat([0, 1], 8)
    results = []
    for kind in (None, holder):
        estimator = EEGNetClassifier(
            _network_reaching_its_body(kind), max_epochs=2, batch_size=8,
            random_state=0, verbose=False,
        ).fit(X, y)  # fmt: skip
        results.append(
            parameter_randomization_check(
                estimator, X[:4], "saliency", random_state=0, verbose=False
            ).mean
        )
    pd.testing.assert_frame_equal(results[1], results[0])


def test_a_network_holding_an_object_with_an_empty_slot_is_copied():
    """A slot never set has no value to read: the copy of a network holding
    such an object failed with the slot's AttributeError."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 2))
    network.box = _SlottedBox.__new__(_SlottedBox)
    copied = copy_module(network)
    assert not hasattr(copied.box, "body") and copied[0] is not network[0]


def test_a_network_keeping_an_info_is_copied():
    """Repointing weak references wrote back into every dict, and mne.Info
    refuses writes to its locked keys: a network keeping its Info could no
    longer be copied, so not explained ("acq_pars cannot be set directly")."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 2))
    network.info = mne.create_info(["C3", "Cz", "C4", "Pz"], 128.0, "eeg")
    network.parts = {"info": network.info, "first": weakref.ref(network[0])}
    copied = copy_module(network)
    assert copied.info["ch_names"] == network.info["ch_names"]
    assert copied.parts["first"]() is copied[0]


class _SharedContext:
    """What deepcopy returns as it is (a context, a registry), holding weak
    references to the network's layers (in a holder of WEAK_HOLDERS)."""

    def __init__(self, layer, holder):
        self.layers = WEAK_HOLDERS[holder][0](layer)

    def __deepcopy__(self, memo):
        return self


@pytest.mark.parametrize("holder", list(WEAK_HOLDERS))
def test_weak_references_shared_with_the_network_are_refused_not_changed(holder):
    """Repointing changed what the copy shares with the network: the network's
    own context then pointed at the copy's layer, and a cross-validation
    fold's network computed with another fold's trained layer. A tuple
    shared by two layers was repointed for one of them only."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    pair = (weakref.ref(network[0]),)
    network[0].pair, network[1].pair = pair, pair
    copied = copy_module(network)
    assert copied[0].pair[0]() is copied[0] and copied[1].pair[0]() is copied[0]
    assert network[1].pair[0]() is network[0]
    network[1].context = _SharedContext(network[0], holder)
    with pytest.raises(TypeError, match="_SharedContext that its copies share"):
        copy_module(network)
    assert WEAK_HOLDERS[holder][1](network[1].context.layers) is network[0]


@pytest.mark.parametrize(
    "reached",
    [lambda module: module.classifier, lambda module: module.classifier.weight],
    ids=["layer", "weight"],
)
def test_what_cannot_be_copied_and_reaches_the_layers_is_refused(
    tiny_array_estimator, reached
):
    """Shared with the copy, it would run the user's layers (or weights)
    instead of the copy's."""
    estimator = copy.deepcopy(tiny_array_estimator)
    module = estimator.module_
    module.layers = (part for part in [reached(module)])  # a generator
    X = np.random.default_rng(1).standard_normal((3, 4, 64)).astype(np.float32)
    with pytest.raises(TypeError, match=r"layers cannot be copied and reach\(es\)"):
        explain(estimator, X, "saliency", verbose=False)


def test_a_network_that_cannot_be_copied_says_why(tiny_array_estimator):
    """pickle's words ("cannot pickle '_thread.lock' object") said neither
    that the methods work on a copy nor the fix."""

    estimator = copy.deepcopy(tiny_array_estimator)

    class Uncopyable(type(estimator.module_)):
        def __deepcopy__(self, memo):
            raise TypeError("cannot copy this network")

    estimator.module_.__class__ = Uncopyable
    X = np.random.default_rng(1).standard_normal((3, 4, 64)).astype(np.float32)
    with pytest.raises(TypeError, match="network cannot be copied.*__deepcopy__"):
        explain(estimator, X, "saliency", verbose=False)


def _network_referring_weakly_to_its_parts():
    """A network whose attribute refers weakly to its layer, a weight and a
    buffer, and keys a WeakKeyDictionary by its layer."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
    network.parts = {
        "first": weakref.ref(network[0]),
        "weight": weakref.ref(network[0].weight),
        "running_mean": weakref.ref(network[1].running_mean),
    }
    network.names = weakref.WeakKeyDictionary({network[0]: "first"})
    return network


@pytest.mark.parametrize("holds_a_lock", [False, True])
def test_a_copys_weak_references_to_weights_and_buffers_are_its_own(holds_a_lock):
    """Layers are not all a network refers to weakly: a reference to a weight
    or a buffer, or a layer keying a WeakKeyDictionary, left pointing at the
    network's, would let the copy compute with (or randomize around) the
    user's tensors; a network holding a lock is copied another way, and must
    be repointed alike."""
    network = _network_referring_weakly_to_its_parts()
    if holds_a_lock:
        _with_a_lock(network)
    copied = copy_module(network)
    assert copied.parts["first"]() is copied[0]
    assert copied.parts["weight"]() is copied[0].weight
    assert copied.parts["running_mean"]() is copied[1].running_mean
    assert [key is copied[0] for key in copied.names.keys()] == [True]
    assert copied.names[copied[0]] == "first"
    # The network's own references are left alone.
    assert network.parts["weight"]() is network[0].weight
    assert [key is network[0] for key in network.names.keys()] == [True]


def test_a_copy_holds_parameters_trained_as_the_networks():
    """Only tensors with a graph are copied as their values: parameters stay
    parameters, frozen where the network's are. A network given as an
    instance is trained as its copy, and LRP and parameter randomization read
    and redraw the copy's parameters. The values are the copy's own."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    network[0].requires_grad_(False)
    network.outputs = [network(torch.randn(2, 4))]  # a tensor with a graph
    network.by_name = {"last": network(torch.randn(2, 4))}
    copied = copy_module(network)
    pairs = zip(copied.parameters(), network.parameters(), strict=True)
    for parameter, original in pairs:
        assert isinstance(parameter, torch.nn.Parameter) and parameter is not original
        assert parameter.requires_grad is original.requires_grad
        torch.testing.assert_close(parameter, original)
    assert copied.outputs[0].grad_fn is None
    torch.testing.assert_close(copied.outputs[0], network.outputs[0])
    assert copied.by_name["last"].grad_fn is None
    kept = network.outputs[0].detach().clone()
    copied.outputs[0] += 1  # the copy's own values: the network's stay
    torch.testing.assert_close(network.outputs[0], kept)


@pytest.mark.parametrize("container", [list, tuple])
def test_a_container_holding_a_lock_is_copied_but_for_the_lock(container):
    """Only the locks are shared, each one: shared whole, the container would
    hand the copy the network's own layer (and be refused for reaching it)."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 2))
    locks = threading.Lock(), threading.Lock()
    network.runners = container([locks[0], network[0], locks[1]])
    copied = copy_module(network)
    assert type(copied.runners) is container
    assert copied.runners[1] is copied[0]
    assert copied.runners[0] is locks[0] and copied.runners[2] is locks[1]


class _RefusesToBeCopied:
    """An object whose copy fails otherwise than a lock's (TypeError)."""

    def __deepcopy__(self, memo):
        raise RuntimeError("this handle cannot be copied")


def test_what_fails_to_be_copied_in_any_way_is_shared():
    """Copying fails in as many ways as objects: one raising another error
    than a lock is shared alike, not left to fail the copy."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 2))
    network.handle = _RefusesToBeCopied()
    copied = copy_module(network)
    assert copied.handle is network.handle and copied[0] is not network[0]


class _Wrapper(torch.nn.Module):
    """One of our wrappers, holding the user's network at ``module``."""

    wraps_network = True

    def __init__(self, module):
        super().__init__()
        self.module = module


def test_what_cannot_be_copied_is_named_in_the_users_network():
    """Behind our wrappers, the refusal named the attribute by the wrapper's
    path ('module.block.layers'), which the user's network does not have."""
    block = torch.nn.Sequential(torch.nn.Linear(4, 2))
    block.layers = (layer for layer in [block[0]])  # a generator
    network = torch.nn.Sequential(collections.OrderedDict(block=block))
    with pytest.raises(TypeError, match=r"\(block\.layers cannot be copied"):
        copy_module(_Wrapper(network))


def test_what_cannot_be_copied_and_is_too_large_to_follow_is_refused(monkeypatch):
    """Sharing is safe only where it is known not to reach the network's
    layers: past the objects followed, what cannot be copied counts as
    reaching them, and is refused rather than shared."""
    network = torch.nn.Sequential(torch.nn.Linear(4, 2))
    network.statistics = (values for values in [[] for _ in range(50)])
    _graph.copy_module(network)  # followed to its end: shared
    monkeypatch.setattr(_graph, "_MAX_REACHED", 10)
    with pytest.raises(TypeError, match=r"statistics cannot be copied and reach"):
        _graph.copy_module(network)


# -- errors -------------------------------------------------------------------
def test_unknown_method_and_parameter_raise(fitted_icnn, few_epochs):
    with pytest.raises(ValueError, match="Invalid value for the 'method'.*saliency"):
        explain(fitted_icnn, few_epochs, "gradcam_typo", verbose=False)
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) \['step'\].*steps"):
        explain(fitted_icnn, few_epochs, "integrated_gradients", step=3, verbose=False)
    # The batch and its targets are explain's to give, not parameters.
    match = r"unknown parameter\(s\) \['inputs'\]; it accepts \['baseline', 'steps'\]\."
    with pytest.raises(TypeError, match=match):
        explain(
            fitted_icnn, few_epochs, "integrated_gradients", inputs=3, verbose=False
        )
    # A method of no parameters says so, not "it accepts []"; nor does it take a
    # baseline, as integrated gradients do.
    with pytest.raises(TypeError, match=r"\['baseline'\]; it accepts none\.$"):
        explain(fitted_icnn, few_epochs, "guided_backprop", baseline="zeros")


def test_unfitted_estimator_raises(few_epochs):
    with pytest.raises(NotInitializedError, match="not initialized"):
        explain(EEGNetClassifier(), few_epochs, "saliency", verbose=False)


def test_bad_data_raise(fitted_icnn, few_epochs):
    broken = few_epochs.copy()
    broken._data[2, 5, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        explain(fitted_icnn, broken, "saliency", verbose=False)
    renamed = few_epochs.copy().rename_channels({"C3": "C3x"})
    with pytest.raises(ValueError, match=r"lacks 1 channel\(s\).*'C3'"):
        explain(fitted_icnn, renamed, "saliency", verbose=False)
    fewer = few_epochs.copy().drop_channels(["C3"])
    with pytest.raises(ValueError, match="channels"):
        explain(fitted_icnn, fewer, "saliency", verbose=False)
    # An average is not an epoch the network decides on.
    with pytest.raises(TypeError, match=r"is an Evoked.*average=True"):
        explain(fitted_icnn, few_epochs.average(), "saliency", verbose=False)


# -- progress, arrays, memory -------------------------------------------------
def test_average_must_be_a_bool(tiny_array_estimator):
    """A string such as "False" is truthy: it is refused, not read as True."""
    X = np.zeros((2, 4, 64), np.float32)
    with pytest.raises(TypeError, match="average must be an instance of bool"):
        explain(tiny_array_estimator, X, "saliency", average="False")


def test_progress_bar_is_silent_with_verbose_false(fitted_icnn, few_epochs, capsys):
    explain(fitted_icnn, few_epochs, "saliency", batch_size=2, verbose=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    explain(fitted_icnn, few_epochs, "saliency", batch_size=2, verbose=True)
    captured = capsys.readouterr()
    assert "Explaining 8 epochs with saliency" in captured.out
    # Not a terminal: no progress bar redrawn with carriage returns.
    assert "\r" not in captured.err


def test_progress_counts_the_last_partial_batch(tiny_array_estimator, capsys):
    """21 epochs read 2 at a time are 11 batches, the last of one epoch: where
    no bar is drawn, the lines say how far the work is against that count."""
    X = np.random.default_rng(2).standard_normal((21, 4, 64)).astype(np.float32)
    explain(tiny_array_estimator, X, "saliency", target=0, batch_size=2, verbose=True)
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("saliency: 11 of 11 batches (100%)"), last


def test_arrays_without_info(tiny_array_estimator):
    X = np.random.default_rng(2).standard_normal((5, 4, 64)).astype(np.float32)
    attribution = explain(
        tiny_array_estimator, X, "gradient_x_input", target=1, verbose=False
    )
    assert isinstance(attribution, mne.EpochsArray)
    assert attribution.ch_names == ["ch000", "ch001", "ch002", "ch003"]
    assert len(attribution) == 5 and attribution.tmin == 0
    evoked = explain(
        tiny_array_estimator,
        X,
        "gradient_x_input",
        target=1,
        average=True,
        verbose=False,
    )
    np.testing.assert_allclose(
        evoked.data, attribution.get_data().mean(0), rtol=1e-5, atol=1e-7
    )
    # Made-up channels are data channels: MNE averages them, spectra take them.
    np.testing.assert_allclose(attribution.average().data, evoked.data, rtol=1e-6)
    spectrum = explain_spectrum(
        tiny_array_estimator, X, "gradient_x_input", target=1, average=True
    )
    assert spectrum.ch_names == attribution.ch_names


def test_maps_of_arrays_start_when_the_training_epochs_did(fitted_icnn, few_epochs):
    """Arrays of Epochs starting at -0.5 s gave maps starting at 0 s, with
    the training channels and montage: every peak half a second late."""
    assert fitted_icnn.tmin_ != 0
    for average in (False, True):
        of_epochs, of_array = (
            explain(fitted_icnn, data, "saliency", average=average, verbose=False)
            for data in (few_epochs, few_epochs.get_data())
        )
        np.testing.assert_array_equal(of_array.times, of_epochs.times)
        np.testing.assert_allclose(of_array.get_data(), of_epochs.get_data())
        # On the training channels and montage, not made-up ones.
        assert of_array.ch_names == of_epochs.ch_names
        np.testing.assert_array_equal(
            of_array.get_montage().get_positions()["ch_pos"]["C3"],
            of_epochs.get_montage().get_positions()["ch_pos"]["C3"],
        )
    layer = "depthwise_conv"
    activations = [
        layer_activations(fitted_icnn, data, layer, verbose=False)
        for data in (few_epochs, few_epochs.get_data())
    ]
    assert activations[1].tmin == activations[0].tmin


def test_maps_of_epochs_start_when_those_epochs_do(fitted_icnn, few_epochs):
    """Guard that Epochs, not the training, say when their results start:
    epochs starting a quarter second after the training epochs (warned of)
    give maps and activations at their own times."""
    late = few_epochs.copy().shift_time(0.25, relative=True)
    with pytest.warns(RuntimeWarning, match="starts at"):
        maps = explain(fitted_icnn, late, "saliency", verbose=False)
    np.testing.assert_allclose(maps.times, late.times)
    on_time = layer_activations(fitted_icnn, few_epochs, "depthwise_conv")
    with pytest.warns(RuntimeWarning, match="starts at"):
        activations = layer_activations(fitted_icnn, late, "depthwise_conv")
    assert activations.tmin == pytest.approx(on_time.tmin + 0.25)


def _average_peak_memory(estimator, n_epochs):
    """Peak traced memory of an averaged explanation of random Epochs, by ``n_epochs``."""
    peaks = []
    for n in n_epochs:
        rng = np.random.default_rng(0)
        data = rng.standard_normal((n, estimator.n_channels_, estimator.n_times_))
        info = mne.create_info(estimator.n_channels_, 128.0, "eeg")
        epochs = mne.EpochsArray(data, info, verbose=False)
        del data
        tracemalloc.start()
        explain(estimator, epochs, "saliency", average=True, verbose=False)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return peaks


def test_average_memory_does_not_grow_with_epochs(tiny_array_estimator):
    small, large = in_own_process(
        _average_peak_memory, tiny_array_estimator, (500, 5_000)
    )
    assert large <= 1.2 * small, (small, large)


def test_every_method_runs(tiny_array_estimator):
    X = np.random.default_rng(3).standard_normal((3, 4, 64)).astype(np.float32)
    # PatternNet and PatternAttribution need patterns learned from data.
    patterns = learn_patterns(tiny_array_estimator, X, verbose=False)
    for method in list_methods():
        params = {"patterns": patterns} if method.startswith("pattern_") else {}
        attribution = explain(tiny_array_estimator, X, method, verbose=False, **params)
        data = attribution.get_data()
        assert data.shape == X.shape and np.isfinite(data).all(), method


@pytest.mark.parametrize(
    "reshape, shape",
    [
        # A map per channel row (a class activation map of a layer whose batch
        # is epochs x channels).
        (lambda maps: maps.repeat_interleave(maps.shape[1], dim=0), "12, 4, 64"),
        # As many values as the epochs, their channels and times swapped.
        (lambda maps: maps.transpose(1, 2), "3, 64, 4"),
    ],
    ids=["per_channel_row", "transposed"],
)
def test_maps_shaped_otherwise_than_their_epochs_are_refused(
    tiny_array_estimator, reshape, shape
):
    """A method returning a map per channel row gave a wrong Evoked with
    average=True, and numpy's broadcast error otherwise. The shape is compared,
    not the number of values: maps of transposed epochs have as many."""

    class _Reshaped(AttributionMethod):
        name = "test_reshaped"

        def attribute(self, inputs, target):  # noqa: D102
            return reshape(inputs)

    register_method(_Reshaped)
    X = np.random.default_rng(3).standard_normal((3, 4, 64)).astype(np.float32)
    try:
        for average in (False, True):
            with pytest.raises(
                ValueError, match=rf"test_reshaped returned maps of shape \({shape}\)"
            ):
                explain(
                    tiny_array_estimator,
                    X,
                    _Reshaped.name,
                    average=average,
                    verbose=False,
                )
    finally:
        del _METHODS[_Reshaped.name]


def test_maps_not_finite_for_finite_data_are_refused(tiny_array_estimator):
    """SmoothGrad with an infinite noise level returned maps of NaN, which
    only a check of the network's outputs looked at. Those of a short last
    batch are named among the epochs the data hold."""

    class _NotFinite(AttributionMethod):
        name = "test_not_finite"

        def attribute(self, inputs, target):  # noqa: D102
            return inputs * (float("nan") if len(inputs) == 1 else 1.0)

    register_method(_NotFinite)
    X = np.random.default_rng(3).standard_normal((3, 4, 64)).astype(np.float32)
    try:
        with pytest.raises(
            ValueError,
            match=r"test_not_finite gave maps holding NaN.*\(epochs 2 to 2\)",
        ):
            explain(
                tiny_array_estimator, X, _NotFinite.name, batch_size=2, verbose=False
            )
    finally:
        del _METHODS[_NotFinite.name]


def test_methods_differentiate_inside_the_callers_inference_mode(tiny_array_estimator):
    """22 of 25 methods failed with torch's "does not require grad" there."""
    X = np.random.default_rng(3).standard_normal((3, 4, 64)).astype(np.float32)
    patterns = learn_patterns(tiny_array_estimator, X, verbose=False)
    for method in list_methods():
        params = {"patterns": patterns} if method.startswith("pattern_") else {}
        outside = explain(
            tiny_array_estimator, X, method, random_state=0, verbose=False, **params
        )
        with torch.inference_mode():
            inside = explain(
                tiny_array_estimator, X, method, random_state=0, verbose=False, **params
            )
        np.testing.assert_allclose(
            inside.get_data(), outside.get_data(), err_msg=method
        )


@pytest.mark.parametrize("grad_mode", [torch.no_grad, torch.inference_mode])
def test_autograd_is_on_inside_and_the_callers_mode_is_back_after(grad_mode):
    """What trains or differentiates a network runs with autograd on whatever
    the caller's mode, and hands the caller's mode back: left on, the caller's
    no_grad block went on recording graphs (and holding their memory)."""

    @autograd_on
    def modes():
        return torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    with grad_mode():
        assert modes() == (True, False)
        assert not torch.is_grad_enabled()
        assert torch.is_inference_mode_enabled() == (grad_mode is torch.inference_mode)
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def _leaves(value):
    """The numbers in ``value``, whether an array or (nested) dicts of them."""
    if isinstance(value, dict):
        return np.concatenate([_leaves(item) for item in value.values()])
    return np.ravel(value)


@pytest.mark.parametrize("grad_mode", [torch.no_grad, torch.inference_mode])
def test_inspection_differentiates_inside_the_callers_grad_mode(
    fitted_eegnet, few_epochs, grad_mode
):
    """Each of these failed in inference mode, and maximize_activation under no_grad."""
    calls = {
        "explain_spectrum": lambda: explain_spectrum(
            fitted_eegnet, few_epochs, "saliency", verbose=False
        ).get_data(),
        "learn_patterns": lambda: (
            learn_patterns(fitted_eegnet, few_epochs, verbose=False).patterns
        ),
        "maximize_activation": lambda: (
            maximize_activation(
                fitted_eegnet, target="hands", n_steps=3, random_state=0, verbose=False
            ).evoked.data
        ),
        "pruning_curve": lambda: (
            pruning_curve(
                fitted_eegnet, few_epochs, "spatial_conv", n_random=1, verbose=False
            ).accuracy
        ),
        "spatial_patterns": lambda: (
            spatial_patterns(fitted_eegnet, few_epochs, verbose=False).patterns.data
        ),
        "temporal_filters": lambda: (
            temporal_filters(fitted_eegnet, few_epochs, verbose=False).magnitude
        ),
        "parameter_randomization_check": lambda: (
            parameter_randomization_check(
                fitted_eegnet, few_epochs, random_state=0, verbose=False
            ).similarity
        ),
    }
    for name, call in calls.items():
        outside = call()
        with grad_mode():
            inside = call()
        np.testing.assert_allclose(_leaves(inside), _leaves(outside), err_msg=name)


def test_epochs_in_any_order_keep_it_without_warnings(fitted_eegnet, few_epochs):
    order = [3, 0, 2, 1]
    shuffled = few_epochs[order]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attribution = explain(fitted_eegnet, shuffled, "saliency", verbose=False)
    np.testing.assert_array_equal(attribution.events, shuffled.events)
    in_order = explain(fitted_eegnet, few_epochs, "saliency", verbose=False)
    np.testing.assert_allclose(
        attribution.get_data(), in_order.get_data()[order], rtol=1e-5
    )


def test_method_units_follow_what_the_values_measure():
    eeg = mne.create_info(["C3", "EOG"], 100.0, ["eeg", "eog"])
    mixed = mne.create_info(["C3", "MEG0111"], 100.0, ["eeg", "mag"])
    # Shares of the logit, whatever the input's unit.
    for method in ("gradient_x_input", "integrated_gradients", "deeplift", "lrp"):
        assert method_unit(method, eeg) == "logit"
    # Occlusion's drop of the logit, whatever the input's unit.
    assert method_unit("occlusion", eeg) == "logit"
    # Gradients: logit per unit of the input, volts for EEG and EOG alike.
    assert method_unit("saliency", eeg) == "logit/V"
    assert method_unit("guided_backprop", eeg) == "logit/V"
    assert method_unit("saliency", mixed) == "logit/(input unit)"
    assert method_unit("saliency") == "logit/(input unit)"
    assert method_unit("pattern_net", eeg) == "V"
    # Compound units in parentheses: logit/T/m read as logit/(T m).
    gradiometers = mne.create_info(["MEG0112", "MEG0113"], 100.0, "grad")
    assert method_unit("saliency", gradiometers) == "logit/(T/m)"
    assert method_unit("guided_grad_cam", gradiometers) == "logit^2/(T/m)"
    assert method_unit("gradient_x_input", gradiometers) == "logit"
    assert method_unit("pattern_net", gradiometers) == "T/m"
    # Maps of a layer's units.
    for method in ("grad_cam", "random"):
        assert method_unit(method, eeg) == "a.u."
    # Guided Grad-CAM: Grad-CAM (logit) times guided backprop (logit/V).
    assert method_unit("guided_grad_cam", eeg) == "logit^2/V"
    # SmoothGrad's follow its base method, squared for squares and variances.
    assert method_unit("smoothgrad", eeg) == "logit/V"
    gradient_x_input = dict(base_method="gradient_x_input")
    assert method_unit("smoothgrad", eeg, gradient_x_input) == "logit"
    assert method_unit("smoothgrad", mixed, dict(variant="vargrad")) == (
        "logit^2/(input unit)^2"
    )
    squares = dict(base_method="guided_grad_cam", variant="smoothgrad_sq")
    assert method_unit("smoothgrad", eeg, squares) == "logit^4/V^2"
    assert method_unit("smoothgrad", eeg, dict(base_method="grad_cam")) == "a.u."
    vargrad_of_grad_cam = dict(base_method="grad_cam", variant="vargrad")
    assert method_unit("smoothgrad", eeg, vargrad_of_grad_cam) == "a.u."
    with pytest.raises(ValueError, match="Invalid value for the 'method'"):
        method_unit("gradient", eeg)


def test_units_without_an_si_unit_or_squared_are_written_whole():
    """Channels of a type without an SI unit (respiration) are read per "input
    unit", not per "None"; a compound unit squared is bracketed whole, (T/m)^2
    as PatternNet's variance on gradiometers, not T/m^2."""
    respiration = mne.create_info(["Resp"], 100.0, "resp")
    assert method_unit("saliency", respiration) == "logit/(input unit)"
    assert method_unit("pattern_net", respiration) == "input unit"
    gradiometers = mne.create_info(["MEG0112", "MEG0113"], 100.0, "grad")
    variance = dict(base_method="pattern_net", variant="vargrad")
    assert method_unit("smoothgrad", gradiometers, variance) == "(T/m)^2"


def test_maps_in_the_input_unit_on_several_types_are_refused():
    """PatternNet's signal is in each channel's own unit, volts on EEG and
    teslas on magnetometers: comparing its channels compares the units, as for
    maps per unit of input. Maps in logit compare across types, SmoothGrad's
    when its base method's are (its class's own unit, a gradient's, refused
    SmoothGrad of gradient x input)."""
    mixed = mne.create_info(["C3", "MEG0111"], 100.0, ["eeg", "mag"])
    with pytest.raises(ValueError, match=r"pattern_net gives maps in input unit"):
        check_comparable_across_channels("pattern_net", mixed, "ranking channels")
    check_comparable_across_channels("gradient_x_input", mixed, "ranking channels")
    in_logit = dict(base_method="gradient_x_input")
    check_comparable_across_channels("smoothgrad", mixed, "ranking", in_logit)
    with pytest.raises(ValueError, match=r"smoothgrad gives maps in logit/\("):
        check_comparable_across_channels("smoothgrad", mixed, "ranking channels")


# -- units, lazy lists, targets and error messages ----------------------------
@pytest.fixture(scope="module")
def tiny_epochs_estimator():
    """A small EEGNet fitted on synthetic Epochs (events 1 and 2), and the Epochs."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    data = rng.standard_normal((32, 4, 64)) * 1e-5
    codes = np.repeat([1, 2], 16)
    data[codes == 2, 0] *= 3
    events = np.c_[np.arange(32) * 100, np.zeros(32, int), codes]
    epochs = mne.EpochsArray(data, info, events=events, tmin=0.0, verbose=False)
    estimator = EEGNetClassifier(
        max_epochs=1, batch_size=16, random_state=0, verbose=False, module__F1=2
    ).fit(epochs)
    return estimator, epochs


def _unit_warnings(record):
    return [w for w in record if "different units" in str(w.message)]


def test_every_batch_is_checked_for_another_unit_warning_once(tiny_epochs_estimator):
    estimator, epochs = tiny_epochs_estimator
    in_microvolts = mne.EpochsArray(
        epochs.get_data() * 1e6, epochs.info, events=epochs.events, verbose=False
    )
    # The first batches are in volts; only the later part is in microvolts.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        explain(
            estimator, [epochs, in_microvolts], "saliency", batch_size=8, verbose=False
        )
    assert len(_unit_warnings(record)) == 1
    # Every batch in another unit still gives one warning, not one per batch.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        explain(estimator, in_microvolts, "saliency", batch_size=8, verbose=False)
    assert len(_unit_warnings(record)) == 1


def test_a_list_of_lazy_epochs_is_read_batch_by_batch(
    tiny_epochs_estimator, tmp_path, epochs_reads
):
    estimator, epochs = tiny_epochs_estimator
    fname = tmp_path / "tiny-epo.fif"
    epochs.save(fname, verbose=False)
    parts = [mne.read_epochs(fname, preload=False, verbose=False) for _ in range(2)]
    # Batches of 5 span the two parts of 32 epochs.
    epochs_reads.clear()
    lazy = explain(estimator, parts, "saliency", batch_size=5, verbose=False)
    assert epochs_reads and max(epochs_reads) <= 5
    whole = explain(
        estimator, mne.concatenate_epochs([epochs, epochs]), "saliency", verbose=False
    )
    np.testing.assert_allclose(lazy.get_data(), whole.get_data(), rtol=1e-5)


def test_lazy_epochs_in_another_channel_order_are_read_in_the_networks(
    tiny_epochs_estimator, tmp_path
):
    """Guard that Epochs not preloaded hand the network its channels in its own
    order, as preloaded ones do: read in the file's order, each input row
    would hold another channel's data."""
    estimator, epochs = tiny_epochs_estimator
    fname = tmp_path / "reordered-epo.fif"
    epochs.copy().reorder_channels(["Cz", "C4", "Pz", "C3"]).save(fname, verbose=False)
    lazy = mne.read_epochs(fname, preload=False, verbose=False)
    loaded = mne.read_epochs(fname, verbose=False)
    in_network_order = loaded.copy().reorder_channels(estimator.ch_names_)
    np.testing.assert_array_equal(
        estimator.predict_proba(lazy), estimator.predict_proba(in_network_order)
    )
    kwargs = dict(method="gradient_x_input", target=2, verbose=False)
    np.testing.assert_array_equal(
        explain(estimator, lazy, **kwargs).get_data(),
        explain(estimator, loaded, **kwargs).get_data(),
    )


def test_targets_of_another_shape_or_as_floats(tiny_epochs_estimator):
    estimator, epochs = tiny_epochs_estimator
    with pytest.raises(ValueError, match=r"shape \(32, 1\).*1-D"):
        explain(estimator, epochs, target=epochs.events[:, 2:3], verbose=False)
    # One class short (e.g. the labels of other epochs) is refused, not cut short.
    with pytest.raises(ValueError, match="target holds 31 classes for 32 epochs"):
        explain(estimator, epochs, target=epochs.events[1:, 2], verbose=False)
    # Float labels (e.g. y read from a table) are classes, alone or per epoch.
    as_int = explain(estimator, epochs, target=2, verbose=False).get_data()
    for target in (2.0, np.full(len(epochs), 2.0)):
        attribution = explain(estimator, epochs, target=target, verbose=False)
        np.testing.assert_array_equal(attribution.get_data(), as_int)
    # But no float is an index (0 is one, classes are 1 and 2).
    for target in (0.0, np.full(len(epochs), 0.0)):
        with pytest.raises(ValueError, match="nor an integer index below 2"):
            explain(estimator, epochs, target=target, verbose=False)
    # "predicted", as other tools spell it, is told how to ask for it here.
    for spelled in ("predicted", "pred", "Predicted"):
        with pytest.raises(ValueError, match=r"predicted as, pass target=None"):
            explain(estimator, epochs, target=spelled, verbose=False)


def test_a_single_target_is_recorded_as_its_value(tiny_epochs_estimator):
    """A class given as a float (a label read from a table) or as a 0-d array
    must be recorded as its value, which the faithfulness measures read back to
    score the class the maps explain: recorded as "one target per epoch", or as
    "np.int64(2)", which reads back as nothing, they were scored unchecked."""
    estimator, epochs = tiny_epochs_estimator
    for target in (2.0, np.int64(2), np.array(2), torch.tensor(2)):
        maps = explain(estimator, epochs[:2], "saliency", target=target, verbose=False)
        assert recorded_target(maps) == 2, target
    per_epoch = explain(estimator, epochs[:2], "saliency", target=[2, 1], verbose=False)
    assert recorded_target(per_epoch) is NOT_RECORDED
    # The predicted class is a single target too: recorded as "one target per
    # epoch", maps of it would be scored unchecked against any other class.
    predicted = explain(estimator, epochs[:2], "saliency", verbose=False)
    assert recorded_target(predicted) is None
    assert predicted.info["description"].endswith("for target=None")


def test_maps_keep_the_users_description_under_one_record(tiny_epochs_estimator):
    """The user's lines of ``info["description"]`` describe the recording and
    are kept; a record of earlier maps (Epochs made from maps) is replaced, as
    the record read back is the last line."""
    estimator, epochs = tiny_epochs_estimator
    epochs = epochs[:2].copy()
    epochs.info["description"] = (
        "Recorded at home\nmne_xai: maps of deeplift in logits for target=1"
    )
    maps = explain(estimator, epochs, "saliency", target=2, verbose=False)
    assert maps.info["description"].splitlines() == [
        "Recorded at home",
        "mne_xai: maps of saliency in logit/input unit for target=2",
    ]


def test_not_finite_data_name_their_epochs(tiny_epochs_estimator):
    estimator, epochs = tiny_epochs_estimator
    broken = epochs.copy()
    broken._data[[5, 6], 1, 3] = np.inf
    # Named among all epochs, not in their batch.
    with pytest.raises(ValueError, match=r"infinite values in epoch\(s\) 5, 6;"):
        explain(estimator, broken, batch_size=4, verbose=False)


@pytest.mark.filterwarnings("ignore:.*different units:RuntimeWarning")
@pytest.mark.parametrize("epoch", [1, 6])
@pytest.mark.parametrize(
    "call",
    [
        lambda net, epochs: explain(net, epochs, batch_size=4),
        lambda net, epochs: explain(net, epochs, target="true", batch_size=4),
        lambda net, epochs: deletion_curve(net, epochs, "saliency", batch_size=4),
        lambda net, epochs: layer_activations(net, epochs, "spatial_bn", batch_size=4),
        lambda net, epochs: learn_patterns(net, epochs, batch_size=4),
    ],
    ids=["explain", "explain_target", "deletion", "activations", "patterns"],
)
def test_data_overflowing_the_network_name_their_epochs(
    tiny_epochs_estimator, call, epoch
):
    """A finite 1e36 made NaN outputs, read as randomness or a skip connection."""
    estimator, epochs = tiny_epochs_estimator
    overflowing = epochs[:8].copy()
    overflowing._data[epoch, 1, 3] = 1e36
    # Epoch 1 is among the first epochs checked, epoch 6 in a later batch.
    with pytest.raises(
        ValueError, match=rf"overflows the network: .* epoch\(s\) {epoch} "
    ):
        call(estimator, overflowing)


def test_a_single_overflowing_epoch_is_named_alone(tiny_epochs_estimator):
    """A single epoch is checked as two copies of itself: the message names
    that epoch, not a second one the data do not hold."""
    estimator, epochs = tiny_epochs_estimator
    overflowing = epochs[:1].copy()
    overflowing._data[0, 1, 3] = 1e36
    with pytest.raises(ValueError, match=r"outputs for epoch\(s\) 0 are NaN"):
        explain(estimator, overflowing, verbose=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda net, epochs: explain(
            net, epochs, "smoothgrad", random_state=-1, n_samples=2
        ),
        lambda net, epochs: maximize_activation(net, 1, n_steps=1, random_state=-1),
        lambda net, epochs: unit_sensitivity(
            net, epochs, "spatial_bn", random_state=-1
        ),
        lambda net, epochs: pruning_curve(net, epochs, "spatial_bn", random_state=-1),
        lambda net, epochs: deletion_curve(net, epochs, "saliency", random_state=-1),
        lambda net, epochs: parameter_randomization_check(net, epochs, random_state=-1),
    ],
    ids=["explain", "maximize", "sensitivity", "pruning", "deletion", "sanity"],
)
def test_negative_random_state_is_named(tiny_epochs_estimator, call):
    # NumPy's own error ("expected non-negative integer") names no argument.
    estimator, epochs = tiny_epochs_estimator
    with pytest.raises(ValueError, match="random_state must be None or a non-neg"):
        call(estimator, epochs)


@pytest.mark.parametrize(
    "name, suggestion",
    [
        ("DeepLIFT", "'deeplift'"),
        ("integrated-gradients", "'integrated_gradients'"),
        # A family's name suggests its members, not the one closest by a letter.
        ("LRP_alpha", "'lrp_alpha2_beta1' or 'lrp_alpha1_beta0'"),
    ],
)
def test_unknown_methods_suggest_the_closest(tiny_epochs_estimator, name, suggestion):
    estimator, epochs = tiny_epochs_estimator
    with pytest.raises(ValueError, match=f"Did you mean {suggestion}"):
        explain(estimator, epochs, name, verbose=False)
    # Nothing is suggested when nothing is close.
    with pytest.raises(ValueError, match=r"instead\.$"):
        explain(estimator, epochs, "ig", verbose=False)


@pytest.mark.parametrize("name", [3, None])
def test_a_method_not_given_by_its_name_is_refused_as_such(tiny_epochs_estimator, name):
    """A method given by anything but its name gets the list of names, as an
    unknown name does, not an error of a string method it lacks."""
    estimator, epochs = tiny_epochs_estimator
    with pytest.raises(ValueError, match=f"Allowed values are .*, but got {name}"):
        explain(estimator, epochs, name, verbose=False)


def test_another_sampling_rate_is_named_before_the_samples(tiny_epochs_estimator):
    estimator, epochs = tiny_epochs_estimator
    resampled = epochs.copy().resample(32.0, verbose=False)
    with pytest.raises(ValueError, match="sampled at 32.0 Hz.*fitted at 64.0 Hz"):
        explain(estimator, resampled, verbose=False)


def test_inspection_checks_every_batch_for_another_unit(
    tiny_epochs_estimator,
):
    """Inspect functions checked the unit of their first batch only: a later
    part in microvolts was read without a word. (Evaluations explain each
    batch, and explain checks it.)"""
    estimator, epochs = tiny_epochs_estimator
    in_microvolts = mne.EpochsArray(
        epochs.get_data() * 1e6, epochs.info, events=epochs.events, verbose=False
    )
    both = [epochs, in_microvolts]
    calls = [
        lambda: layer_activations(estimator, both, "spatial_elu", batch_size=8),
        lambda: pruning_curve(estimator, both, "spatial_elu", batch_size=8),
        lambda: attribution_patterns(estimator, both, batch_size=8),
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            call()
        assert _unit_warnings(record)  # once per pass over the data


def test_one_event_code_as_target_of_a_network_trained_on_names(synthetic_arrays):
    """A code given as one target for all epochs is read as an index, as codes
    per epoch are: where it is the code of another class's event, it warned
    per epoch but silently explained the other class for one code; a code
    beyond the indices says to name the event."""
    X, y = synthetic_arrays
    info = mne.create_info(X.shape[1], 64.0, "eeg")
    kwargs = dict(method="saliency", absolute=False, verbose=False)
    names = np.array(["hands", "feet"])[y]  # classes_ sorted: feet, hands
    for event_id, code, message in [
        ({"hands": 0, "feet": 1}, 1, r"1 -> 'hands' \(event 'feet'\)"),
        ({"hands": 1, "feet": 2}, 2, "It is the code of event 'feet': pass the"),
    ]:
        codes = np.array(list(event_id.values()))[y]
        events = np.column_stack([np.arange(len(X)) * 100, np.zeros_like(y), codes])
        epochs = mne.EpochsArray(X, info, events, event_id=event_id, verbose=False)
        estimator = EEGNetClassifier(
            max_epochs=1, batch_size=16, random_state=0, verbose=False, module__F1=2
        ).fit(epochs, names)
        if code in range(len(estimator.classes_)):
            with pytest.warns(RuntimeWarning, match=message):
                explain(estimator, epochs, target=code, **kwargs)
        else:
            with pytest.raises(ValueError, match=message):
                explain(estimator, epochs, target=code, **kwargs)


@pytest.mark.filterwarnings("ignore:After training")
def test_indices_not_all_event_codes_are_read_as_indices_silently(synthetic_arrays):
    """Of a network trained on names with events {"hands": 0, "feet": 2}, targets
    0 and 1 are indices (1 is no code): only targets that are all codes warn."""
    X, y = synthetic_arrays
    epochs = _named_epochs(X, np.array([0, 2])[y], {"hands": 0, "feet": 2})
    estimator = _small_estimator().fit(epochs, np.array(["hands", "feet"])[y])
    with pytest.warns(RuntimeWarning, match=r"0 -> 'feet' \(event 'hands'\)"):
        explain(estimator, epochs[:4], "saliency", target=[0] * 4, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain(estimator, epochs[:4], "saliency", target=[0, 1, 0, 1], verbose=False)


def test_maps_keep_the_channel_order_of_the_epochs_given(tiny_epochs_estimator):
    """Epochs holding the network's channels in another order got maps in the
    network's order: a ground truth indexed as the epochs (an array) was
    compared channel by channel with other channels (spatial precision 0.035
    where 0.086 was due), as MNE's tools keep their user's order. The order is
    a cycle, not a reversal: a reversal is its own inverse, and maps put back
    with the inverse permutation passed."""
    estimator, epochs = tiny_epochs_estimator
    order = ["Cz", "C4", "Pz", "C3"]  # epochs.ch_names[1:] + epochs.ch_names[:1]
    # A channel the network does not read, between those it reads, is left out.
    eog = mne.EpochsArray(
        epochs.get_data(picks=["Cz"]),
        mne.create_info(["EOG"], 64.0, "eog"),
        events=epochs.events,
        verbose=False,
    )
    given = epochs.copy().reorder_channels(order)
    with_eog = given.copy().add_channels([eog], force_update_info=True)
    with_eog.reorder_channels(["Cz", "C4", "EOG", "Pz", "C3"])
    kwargs = dict(method="gradient_x_input", target=2, verbose=False)
    expected = explain(estimator, epochs, **kwargs)
    for data in (given, with_eog):
        maps = explain(estimator, data, **kwargs)
        assert maps.ch_names == order
        np.testing.assert_array_equal(maps.get_data(), expected.get_data(picks=order))
        average = explain(estimator, data, average=True, **kwargs)
        assert average.ch_names == order
        np.testing.assert_allclose(
            average.data, expected.average().get_data(picks=order), rtol=1e-6
        )
        spectrum = explain_spectrum(estimator, data, **kwargs)
        assert spectrum.ch_names == order
    # A ground truth in the epochs' order, as an array, scores the maps of the
    # channels it names.
    truth = np.zeros(given.get_data().shape)
    truth[:, order.index("C3")] = 1
    in_network_order = [order.index(name) for name in epochs.ch_names]
    np.testing.assert_allclose(
        spatial_precision(explain(estimator, given, **kwargs), truth),
        spatial_precision(expected, truth[:, in_network_order]),
    )


def test_channels_the_network_does_not_read_are_named(
    fitted_eegnet, imagery_epochs, capsys
):
    """Epochs holding a channel the network was not trained on (here the
    stimulus channel) got maps without it, without a word."""
    epochs = imagery_epochs[:4].load_data()
    stim = mne.EpochsArray(
        np.zeros((len(epochs), 1, len(epochs.times))),
        mne.create_info(["STI 014"], epochs.info["sfreq"], "stim"),
        tmin=epochs.tmin,
        verbose=False,
    )
    with_stim = epochs.copy().add_channels([stim], force_update_info=True)
    maps = explain(fitted_eegnet, with_stim, "saliency", verbose=True)
    assert maps.ch_names == fitted_eegnet.info_.ch_names
    out = capsys.readouterr().out
    assert "reads 64 of the 65 channels of epochs; not STI 014" in out
    first = with_stim.copy().reorder_channels(["STI 014", *epochs.ch_names])
    explain(fitted_eegnet, first, "saliency", verbose=True)
    assert "65 channels of epochs; not STI 014" in capsys.readouterr().out
    # Each channel left out is named, also of Epochs given in a list.
    second = stim.copy().rename_channels({"STI 014": "STI 015"})
    two = with_stim.copy().add_channels([second], force_update_info=True)
    explain(fitted_eegnet, [two[:2], two[2:]], "saliency", verbose=True)
    assert (
        "66 channels of epochs; not STI 014, STI 015, left" in capsys.readouterr().out
    )
    explain(fitted_eegnet, epochs, "saliency", verbose=True)
    assert "channels of epochs" not in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:After training")
def test_the_mean_baseline_is_the_mean_training_epoch(synthetic_arrays):
    """baseline="mean" starts from data_mean_: on band-passed EEG, whose mean
    epoch is near zero, a baseline of zeros in its place passed every test."""
    X, y = synthetic_arrays
    offset = X + 3 * X.std()  # a mean epoch far from zero
    clf = _small_estimator().fit(offset, y)
    kwargs = dict(method="integrated_gradients", target=0, verbose=False)
    with pytest.warns(RuntimeWarning, match="128 Hz"):
        from_mean = explain(clf, offset[:3], baseline="mean", **kwargs).get_data()
        given = explain(clf, offset[:3], baseline=clf.data_mean_, **kwargs).get_data()
        from_zeros = explain(clf, offset[:3], **kwargs).get_data()
    np.testing.assert_array_equal(from_mean, given)
    assert not np.allclose(from_mean, from_zeros, atol=1e-3 * np.abs(from_mean).max())


def _tiny_arrays(n_epochs, seed=2):
    """Random epochs of the channels and length of ``tiny_array_estimator``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_epochs, 4, 64)).astype(np.float32)


@pytest.mark.parametrize("method", ["deeplift", "integrated_gradients"])
def test_an_epoch_explained_from_itself_has_no_relevance(tiny_array_estimator, method):
    """Maps share out f(x) - f(baseline): from the epoch itself, every sample
    has none. A baseline read at a lower precision than the data would be
    another epoch, unseen by the tests that give one baseline in two forms
    (both read alike)."""
    X = _tiny_arrays(1)
    maps = explain(tiny_array_estimator, X, method, baseline=X[0], verbose=False)
    np.testing.assert_array_equal(maps.get_data(), 0)


def test_a_baseline_on_other_channels_is_refused_by_its_shape(tiny_array_estimator):
    """A baseline of another number of channels than the network's four is
    refused by its shape: one of eight channels, read in blocks of four, would
    be two baselines of other channels."""
    for n_channels in (3, 8):
        baseline = np.zeros((n_channels, 64), np.float32)
        with pytest.raises(
            ValueError, match=rf"shape \(4, 64\).*got \({n_channels}, 64"
        ):
            explain(
                tiny_array_estimator,
                _tiny_arrays(1),
                "deeplift_shap",
                baseline=baseline,
            )


def test_a_baseline_cut_earlier_or_later_than_the_epochs_warns(synthetic_arrays):
    """An Evoked baseline is read sample by sample: one starting a sample
    before the epochs, as one starting after them, is said to be apart, and
    by how much (baseline minus epochs)."""
    X, y = synthetic_arrays
    info = mne.create_info(["C3", "Cz", "C4", "Pz"], 64.0, "eeg")
    epochs = mne.EpochsArray(X * 1e-5, info, verbose=False)
    clf = _small_estimator().fit(epochs, y)
    evoked = epochs.average()
    for shift, apart in ((-1 / 64, "-0.015625 s apart"), (0.5, "+0.5 s apart")):
        with pytest.warns(RuntimeWarning, match=re.escape(apart)):
            explain(
                clf, epochs[:1], "deeplift", baseline=evoked.copy().shift_time(shift)
            )


def test_the_average_of_signed_maps_is_their_mean_to_double_precision(
    tiny_array_estimator,
):
    """Signed maps cancel over epochs: summed in float32, their average would
    be off their mean by the rounding of the sum, many times the mean where it
    is near zero. It is the float64 mean of the maps, whatever the batches."""
    X = _tiny_arrays(8, seed=3)
    kwargs = dict(method="saliency", target=0, absolute=False, batch_size=3)
    per_epoch = explain(tiny_array_estimator, X, verbose=False, **kwargs).get_data()
    evoked = explain(tiny_array_estimator, X, average=True, verbose=False, **kwargs)
    mean = per_epoch.mean(axis=0)
    np.testing.assert_allclose(
        evoked.data, mean, rtol=1e-12, atol=1e-12 * np.abs(mean).max()
    )


def test_a_list_of_baselines_holding_an_evoked_beside_arrays_is_refused(
    tiny_array_estimator,
):
    """An Evoked among arrays is refused as a list of Evoked alone is, saying
    how to give several baselines, not in NumPy's words ("float() argument
    must be a string or a real number")."""
    X = _tiny_arrays(1)
    evoked = mne.EvokedArray(X[0], mne.create_info(4, 128.0, "eeg"), verbose=False)
    with pytest.raises(TypeError, match="baseline is a list holding Evoked"):
        explain(tiny_array_estimator, X, "deeplift_shap", baseline=[X[0], evoked])
