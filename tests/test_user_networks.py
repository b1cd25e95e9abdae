"""Proof on other people's networks.

Three networks written with braindecode's constructor signature, not for
mne_xai (``tests/user_networks.py``: ShallowFBCSPNet, Deep4Net and an EEG
Conformer-like convolution + transformer network), are trained by
``EEGNetClassifier(module=...)`` on real EEGBCI motor imagery. Then every
attribution method either explains each network and passes its invariant, or
refuses it with a ValueError that names what it cannot handle; no method may
return a map silently for an operation it has no rule for. Finally the
faithfulness and sanity measures run on each network with a method valid for
it.

The three defects this file found (class activation maps on braindecode's
layout, DeepLIFT with a nonlinearity feeding max pooling, parameter
randomization of weights used in functions) are fixed; their tests stay.
"""

import copy
import re

import numpy as np
import pytest
import torch
from pretend_cuda import pretend_cuda
from torch import nn
from user_networks import CombinedConv, ConvTransformer, Deep4Net, ShallowFBCSPNet

import mne_xai._graph
from mne_xai import EEGNetClassifier, InterpretableCNNClassifier, explain, list_methods
from mne_xai._graph import call_combined_layers, check_float32
from mne_xai._network_building import _arguments_text
from mne_xai.attribution._registry import get_method, methods_without_rules
from mne_xai.evaluate import (
    deletion_curve,
    parameter_randomization_check,
    perturbation_test,
)
from mne_xai.inspect import layer_activations, learn_patterns, maximize_activation
from mne_xai.models import EEGNet, ScaledInput
from mne_xai.models._base import TooShortError

pytestmark = pytest.mark.filterwarnings("ignore:Setting forward, backward hooks")

NETWORKS = {
    "shallow": ShallowFBCSPNet,
    "deep4": Deep4Net,
    "transformer": ConvTransformer,
}
# Deep4's four blocks barely learn 45 trials with the paper's dropout of 0.5
# in a few epochs; less dropout and a larger step do (module__ parameters reach
# the network's constructor).
TRAINING = {"deep4": {"module__drop_prob": 0.2, "lr": 1e-2}}
MAX_EPOCHS = 20
SFREQ = 80.0

# -- what each method should do with each network ------------------------------
# RUNS: the method explains the network (and passes its invariant, below).
# A Refused: the method raises a ValueError matching ``match``.
RUNS = "runs"


class Refused:
    def __init__(self, match):
        self.match = match

    def __repr__(self):
        return f"Refused({self.match!r})"


# The CAMs need feature maps with time on the last axis. In braindecode's
# Shallow and Deep4 time is on the third axis (input (batch, channels, time,
# 1)) and the classifier is a convolution whose output is (batch, n_classes,
# 1, 1): a map there would be constant. They refuse, naming the layout: of
# the last convolution for the default layer, of the first layer for FullGrad.
CAM_LAYOUT = Refused(
    r"(whose last axis is not the input's \d+ time samples"
    r"|returns feature maps with one sample on the last axis)"
)
CAM_METHODS = ["grad_cam", "grad_cam_plus_plus", "layer_cam", "score_cam"]
PATTERN_METHODS = ["pattern_net", "pattern_attribution"]
LRP_METHODS = [
    "lrp",
    "lrp_epsilon",
    "lrp_zplus",
    "lrp_alpha1_beta0",
    "lrp_alpha2_beta1",
    "lrp_composite",
]
GRADIENT_FAMILY = [
    "saliency",
    "gradient_x_input",
    "integrated_gradients",
    "smoothgrad",
    "gradient_shap",
    "occlusion",
    "random",
]
# Shallow squares (x * x) and takes log(clamp(x, 1e-6)), as functions in
# forward. No per-layer rule handles either; walking the graph back from the
# output, the check meets the log first and names it.
SHALLOW_LOG = Refused(r"has no rule for the operation 'log' \(LogBackward0\)")
# The transformer's layer norm (and its softmax attention, GELU, products of
# queries and keys behind it). The rectifier rules and LRP check the layer
# modules first and name the LayerNorm module; DeepLIFT walks the graph and
# names the normalization of the last one (norm2, the first met from the
# output).
TRANSFORMER_LAYER_NORM = Refused(
    r"has no rule for layer 'encoder\.layers\.0\.norm1' \(LayerNorm\)"
)
TRANSFORMER_LAYER_NORM_OP = Refused(
    r"has no rule for the operation 'native_layer_norm' "
    r"\(NativeLayerNormBackward0\) in module 'encoder\.layers\.0\.norm2'"
)
# FullGrad's bias terms are class-activation-like maps on each biased layer,
# with time last: it refuses braindecode's layout like the CAMs.
FULL_GRAD_LAYOUT = CAM_LAYOUT

EXPECTED = {
    "shallow": {
        # Rule methods: all refused, for the log (and the squaring behind it).
        "guided_backprop": SHALLOW_LOG,
        "deconvolution": SHALLOW_LOG,
        "guided_grad_cam": SHALLOW_LOG,
        "lrp": SHALLOW_LOG,
        "lrp_epsilon": SHALLOW_LOG,
        "lrp_zplus": SHALLOW_LOG,
        "lrp_alpha1_beta0": SHALLOW_LOG,
        "lrp_alpha2_beta1": SHALLOW_LOG,
        "lrp_composite": SHALLOW_LOG,
        # captum's rescale rule is only attached to nonlinearity modules.
        "deeplift": SHALLOW_LOG,
        "deeplift_shap": SHALLOW_LOG,
        **dict.fromkeys(PATTERN_METHODS, SHALLOW_LOG),
        # log(clamp(x, 1e-6)) adds what no bias term counts.
        "full_grad": Refused(r"FullGrad's decomposition does not hold"),
        **dict.fromkeys(CAM_METHODS, CAM_LAYOUT),
        **dict.fromkeys(GRADIENT_FAMILY, RUNS),
    },
    "deep4": {
        # Convolutions, batch norm (folded for LRP), nn.ELU modules, max
        # pooling, dropout and reshapes: every rule has a rule for each.
        "guided_backprop": RUNS,
        "deconvolution": RUNS,
        **dict.fromkeys(LRP_METHODS, RUNS),
        # nn.ELU and nn.MaxPool2d are modules captum's DeepLift handles.
        "deeplift": RUNS,
        "deeplift_shap": RUNS,
        # Patterns of every convolution and dense layer, learned from the data.
        **dict.fromkeys(PATTERN_METHODS, RUNS),
        # The guided part is valid; the Grad-CAM factor refuses the layout.
        "guided_grad_cam": CAM_LAYOUT,
        "full_grad": FULL_GRAD_LAYOUT,
        **dict.fromkeys(CAM_METHODS, CAM_LAYOUT),
        **dict.fromkeys(GRADIENT_FAMILY, RUNS),
    },
    "transformer": {
        "guided_backprop": TRANSFORMER_LAYER_NORM,
        "deconvolution": TRANSFORMER_LAYER_NORM,
        "guided_grad_cam": TRANSFORMER_LAYER_NORM,
        **dict.fromkeys(LRP_METHODS, TRANSFORMER_LAYER_NORM),
        "deeplift": TRANSFORMER_LAYER_NORM_OP,
        "deeplift_shap": TRANSFORMER_LAYER_NORM_OP,
        **dict.fromkeys(PATTERN_METHODS, TRANSFORMER_LAYER_NORM),
        # Attention (and layer norm) have biases FullGrad does not know how to
        # count; attention's are parameters of its own (in_proj_bias).
        "full_grad": Refused(r"FullGrad's decomposition does not hold"),
        # The front end keeps EEG Conformer's (batch, filters, 1, time): the
        # default layer is the 1x1 projection to the tokens, a real feature map.
        **dict.fromkeys(CAM_METHODS, RUNS),
        **dict.fromkeys(GRADIENT_FAMILY, RUNS),
    },
}
# braindecode's Deep4Net (0.8 on) holds its temporal and spatial convolutions
# in a CombinedConv, which convolves once with the product of their kernels:
# Deep4 trained above, with its two convolutions moved into one (the same
# weights, the same function). LRP and PatternNet refused it (batch norm after
# an operation called in forward); every method now runs it as its two layers,
# so it is the split Deep4 to every method, maps included.
EXPECTED["deep4_combined"] = EXPECTED["deep4"]
# Cheap settings for the expensive methods.
PARAMS = {
    "integrated_gradients": {"steps": 16},
    "smoothgrad": {"n_samples": 4},
    "gradient_shap": {"n_samples": 4},
}


def test_every_method_has_an_expected_outcome():
    for name, expected in EXPECTED.items():
        assert sorted(expected) == list_methods(), name
    rule_methods = {m for m in list_methods() if get_method(m).propagation_rules}
    assert rule_methods == set(list_methods()) - set(methods_without_rules())


def _cases():
    for name, expected in EXPECTED.items():
        for method in list_methods():
            outcome = expected[method]
            marks = ()
            if isinstance(outcome, tuple):
                outcome, marks = outcome
            yield pytest.param(
                name, method, outcome, marks=marks, id=f"{name}-{method}"
            )


# -- data and fitted networks ----------------------------------------------------
@pytest.fixture(scope="module")
def epochs(eegbci_epochs):
    """The imagery period 0.5-4 s after the cue, resampled to 80 Hz.

    Deep4's four blocks of 3-fold pooling need about 250 samples; 80 Hz keeps
    them and the training cheap (the data are band-passed to 7-30 Hz).
    """
    return eegbci_epochs.copy().crop(0.5, 4.0).resample(SFREQ)


@pytest.fixture(scope="module")
def explained(epochs):
    """Two epochs of each class: those explained below."""
    codes = epochs.events[:, 2]
    picks = np.concatenate([np.flatnonzero(codes == code)[:2] for code in set(codes)])
    return epochs[np.sort(picks)]


def _combined_twin(split, n_times):
    """Fitted Deep4 with its convolutions in a CombinedConv, as braindecode's."""
    clf = copy.deepcopy(split)
    network = Deep4Net(64, 2, n_times, SFREQ, combined_conv=True)
    state = {
        re.sub(r"^(conv_time|conv_spat)\.", r"conv_time_spat.\1.", key): value
        for key, value in split.module_.module.state_dict().items()
    }
    network.load_state_dict(state)
    clf.module_.module = network.train(split.module_.module.training)
    return clf


@pytest.fixture(scope="module")
def fitted(epochs):
    """A function returning each network trained on ``epochs`` (trained once)."""
    cache = {}

    def fit(name):
        if name == "deep4_combined" and name not in cache:
            cache[name] = _combined_twin(fit("deep4"), len(epochs.times))
        if name not in cache:
            cache[name] = EEGNetClassifier(
                module=NETWORKS[name],
                max_epochs=MAX_EPOCHS,
                batch_size=16,
                random_state=0,
                verbose=False,
                **TRAINING.get(name, {}),
            ).fit(epochs)
        return cache[name]

    return fit


def _target(estimator, epochs):
    """Index of each epoch's true class, as ``target="true"`` explains it."""
    return np.searchsorted(estimator.classes_, epochs.events[:, 2])


def _double(estimator):
    """The fitted module in float64, evaluation mode (a copy)."""
    return copy.deepcopy(estimator.module_).double().eval()


def _logits(module, data, target):
    with torch.no_grad():
        logits = module(torch.as_tensor(data, dtype=torch.float64))
    return logits[np.arange(len(target)), target].numpy()


@pytest.mark.parametrize("name", NETWORKS)
def test_network_trains_behind_the_input_scaling(fitted, epochs, name):
    clf = fitted(name)
    # A network without input_scale is wrapped in the estimator's scaling.
    assert isinstance(clf.module_, ScaledInput)
    assert type(clf.module_.module) is NETWORKS[name]
    np.testing.assert_allclose(
        float(clf.module_.input_scale), 1 / epochs.get_data().std(), rtol=0.05
    )
    # The shapes reached the network under braindecode's names: the kernels
    # follow sfreq (0.1 s at 80 Hz is 8 samples) and the spatial filters span
    # the 64 channels.
    network = clf.module_.module
    if name != "deep4":
        assert network.conv_time.kernel_size in ((8, 1), (1, 8))
    assert 64 in network.conv_spat.kernel_size
    assert clf.predict(epochs).shape == (len(epochs),)
    proba = clf.predict_proba(epochs)
    assert proba.shape == (len(epochs), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # Training accuracy well above chance (24 of 45 trials are feet).
    assert clf.score(epochs) > 0.7


# -- every method on every network ---------------------------------------------
class PassesKwargsOn(nn.Module):
    """Named as braindecode names its networks, which take the shapes they do
    not name through ``**kwargs`` and refuse any other name (its
    EEGModuleMixin)."""

    def __init__(self, n_chans=None, n_outputs=None, n_times=None, **kwargs):
        super().__init__()
        unexpected = set(kwargs) - {"sfreq", "chs_info", "input_window_seconds"}
        if unexpected:
            raise TypeError(f"Unexpected keyword arguments: {unexpected}")
        self.sfreq, self.chs_info = kwargs.get("sfreq"), kwargs.get("chs_info")
        self.readout = nn.Linear(n_chans * n_times, n_outputs)

    def forward(self, x):  # noqa: D102
        return self.readout(x.flatten(1))


class PassesTimesOn(PassesKwargsOn):
    """Names braindecode's channels and outputs, and takes n_times, which both
    conventions name alike, through ``**kwargs``."""

    def __init__(self, n_chans=None, n_outputs=None, **kwargs):
        super().__init__(n_chans, n_outputs, **kwargs)


@pytest.mark.parametrize("module", [PassesKwargsOn, PassesTimesOn])
def test_network_passing_kwargs_on_gets_braindecode_names(epochs, module):
    """mne_xai's input_scale would reach braindecode's networks as an unknown
    name (their EEGNet failed to build); they get only their own names."""
    clf = EEGNetClassifier(module, max_epochs=1, verbose=False).fit(epochs)
    assert isinstance(clf.module_, ScaledInput)
    network = clf.module_.module
    assert network.sfreq == epochs.info["sfreq"]
    assert [ch["ch_name"] for ch in network.chs_info] == epochs.ch_names


class EEGNetOfItsOwnRate(EEGNet):
    """A user's EEGNet naming the one argument whose default it changes and
    passing the others on through ``**kwargs``."""

    def __init__(self, sfreq=250.0, **kwargs):
        super().__init__(sfreq=sfreq, **kwargs)


def test_network_naming_a_shape_both_conventions_share_gets_mne_xais_names(epochs):
    """n_times and sfreq are named alike in braindecode: naming one of them
    says nothing of the convention, and the shapes it passes on reach
    mne_xai's EEGNet under its names (as n_chans, it failed to build), with
    the input scaling, which it applies itself."""
    clf = EEGNetClassifier(EEGNetOfItsOwnRate, max_epochs=1, verbose=False)
    network = clf.fit(epochs).module_
    assert isinstance(network, EEGNetOfItsOwnRate)
    assert network.sfreq == epochs.info["sfreq"]
    np.testing.assert_allclose(
        network.input_scale.numpy().ravel(), clf.input_scale_, rtol=1e-6
    )


@pytest.mark.parametrize("name, method, outcome", list(_cases()))
def test_method_explains_or_refuses(fitted, explained, name, method, outcome):
    clf = fitted(name)
    if isinstance(outcome, Refused):
        with pytest.raises(ValueError, match=outcome.match):
            explain(
                clf,
                explained,
                method,
                target="true",
                verbose=False,
                **PARAMS.get(method, {}),
            )
        return
    attribution = _explain_runs(clf, explained, method)
    data = attribution.get_data()
    assert data.shape == explained.get_data().shape
    assert attribution.ch_names == explained.ch_names
    assert np.isfinite(data).all() and np.abs(data).max() > 0
    INVARIANTS.get(method, lambda *args: None)(clf, explained, data)
    if name == "deep4_combined":
        split = _explain_runs(fitted("deep4"), explained, method).get_data()
        np.testing.assert_allclose(data, split, atol=1e-4 * np.abs(split).max())


def _explain_runs(clf, explained, method):
    """The map of a method that explains ``clf``, patterns learned if needed."""
    params = PARAMS.get(method, {})
    if method in PATTERN_METHODS:
        params = {"patterns": learn_patterns(clf, explained, verbose=False)}
    return explain(
        clf, explained, method, target="true", random_state=0, verbose=False, **params
    )


def _listed_methods(message):
    listed = re.search(
        r"may apply to this network \(each checks it in turn\): ([^.]*)\.", message
    )
    return None if listed is None else listed.group(1).split(", ")


def _refusals_of_rule_methods():
    for name, expected in EXPECTED.items():
        for method, outcome in expected.items():
            # Refusing the layout is about the CAM factor, not a missing rule.
            if not (
                isinstance(outcome, Refused)
                and outcome is not CAM_LAYOUT
                and get_method(method).propagation_rules
            ):
                continue
            yield pytest.param(name, method, id=f"{name}-{method}")


@pytest.mark.parametrize("name, method", list(_refusals_of_rule_methods()))
def test_refusal_lists_the_valid_methods(fitted, explained, name, method):
    with pytest.raises(ValueError) as error:
        explain(fitted(name), explained, method, verbose=False)
    assert _listed_methods(str(error.value)) == methods_without_rules()


# -- the invariants --------------------------------------------------------------
def _saliency_matches_finite_differences(clf, epochs, data):
    """The gradient against central differences, on one epoch, in float64."""
    signed = explain(
        clf, epochs[0], "saliency", target="true", absolute=False, verbose=False
    ).get_data()[0]
    np.testing.assert_allclose(
        data[0], np.abs(signed), rtol=1e-5, atol=1e-6 * np.abs(signed).max()
    )
    module, x = _double(clf), epochs[0].get_data()
    target = _target(clf, epochs[0])
    rng = np.random.default_rng(0)
    # Along a random direction, and along the sample of largest gradient.
    largest = np.zeros_like(signed)
    largest[np.unravel_index(np.abs(signed).argmax(), signed.shape)] = 1
    for direction in (rng.standard_normal(signed.shape), largest):
        step = 1e-3 * x.std() / np.abs(direction).max()
        difference = (
            _logits(module, x + step * direction, target)
            - _logits(module, x - step * direction, target)
        ) / (2 * step)
        np.testing.assert_allclose((signed * direction).sum(), difference[0], rtol=5e-3)


def _gradient_x_input_is_gradient_times_input(clf, epochs, data):
    signed = explain(
        clf, epochs, "saliency", target="true", absolute=False, verbose=False
    ).get_data()
    expected = signed * epochs.get_data()
    np.testing.assert_allclose(data, expected, atol=1e-6 * np.abs(expected).max())


# Integrated gradients' baseline and tolerance per network. With a zero
# baseline Shallow's pooled power crosses the 1e-6 clamp of its log near the
# baseline, where the integrand spikes (about 4 % error at 128 steps, 0.4 % at
# 512); from another real epoch the path keeps its power and 32 steps are
# exact to 1e-6. Deep4's max pooling switches winners many times on the way
# between two real epochs (10 % error at 32 steps), far less from zeros.
IG_BASELINE = {"shallow": "epoch", "deep4": "zeros", "transformer": "epoch"}
IG_TOLERANCE = {"shallow": 1e-4, "deep4": 1e-2, "transformer": 1e-4}


def _integrated_gradients_are_complete(clf, epochs, data):
    """Sum of the map = f(x) - f(baseline), with 32 steps.

    The map checked by the caller (zero baseline, 16 steps) is only checked
    to be finite.
    """
    name = next(key for key, net in NETWORKS.items() if net is type(clf.module_.module))
    x = epochs.get_data()
    baseline = x[-1] if IG_BASELINE[name] == "epoch" else np.zeros_like(x[0])
    attribution = explain(
        clf,
        epochs,
        "integrated_gradients",
        target="true",
        steps=32,
        baseline=baseline,
        verbose=False,
    ).get_data()
    module, target = _double(clf), _target(clf, epochs)
    delta = _logits(module, x, target) - _logits(
        module, np.repeat(baseline[None], len(x), axis=0), target
    )
    np.testing.assert_allclose(
        attribution.sum(axis=(1, 2)),
        delta,
        atol=IG_TOLERANCE[name] * np.abs(delta).max(),
    )


def _deeplift_sums_to_delta(clf, epochs, data):
    """DeepLIFT with a zero baseline: sum of the map = f(x) - f(0)."""
    module, target, x = _double(clf), _target(clf, epochs), epochs.get_data()
    delta = _logits(module, x, target) - _logits(module, np.zeros_like(x), target)
    np.testing.assert_allclose(
        data.sum(axis=(1, 2)), delta, atol=1e-3 * np.abs(delta).max()
    )


def _deeplift_shap_sums_to_mean_delta(clf, epochs, data):
    """With the single zero baseline, DeepLIFT-SHAP is DeepLIFT (see below for
    a distribution of baselines)."""
    _deeplift_sums_to_delta(clf, epochs, data)


def _guided_backprop_is_not_the_gradient(clf, epochs, data):
    """The rule is applied at Deep4's nn.ELU modules (captum's hooks ReLU only)."""
    gradient = explain(
        clf, epochs, "saliency", target="true", absolute=False, verbose=False
    ).get_data()
    assert not np.allclose(data, gradient, rtol=0.1, atol=0)


def _occlusion_is_the_drop_of_each_channel(clf, epochs, data):
    """mode="channel": each channel's map is the logit drop without it."""
    module, target, x = _double(clf), _target(clf, epochs), epochs.get_data()
    np.testing.assert_array_equal(data, data[..., :1].repeat(data.shape[-1], -1))
    intact = _logits(module, x, target)
    for channel in np.abs(data[..., 0]).argmax(axis=1)[:2]:
        occluded = x.copy()
        occluded[:, channel] = 0
        drop = intact - _logits(module, occluded, target)
        np.testing.assert_allclose(
            data[:, channel, 0], drop, atol=1e-4 * np.abs(drop).max() + 1e-6
        )


def _random_is_reproducible(clf, epochs, data):
    again = explain(clf, epochs, "random", random_state=0, verbose=False).get_data()
    np.testing.assert_array_equal(data, again)


def _cam_is_the_same_on_every_channel(clf, epochs, data):
    """After the spatial convolution a CAM says when, not where; ReLU'd."""
    np.testing.assert_array_equal(data, data[:, :1].repeat(data.shape[1], axis=1))
    assert (data >= 0).all()
    # ...and it varies over time (a map on the classifier would not).
    assert (np.ptp(data, axis=2) > 0).any()


INVARIANTS = {
    "saliency": _saliency_matches_finite_differences,
    "gradient_x_input": _gradient_x_input_is_gradient_times_input,
    "integrated_gradients": _integrated_gradients_are_complete,
    "deeplift": _deeplift_sums_to_delta,
    "deeplift_shap": _deeplift_shap_sums_to_mean_delta,
    "guided_backprop": _guided_backprop_is_not_the_gradient,
    "occlusion": _occlusion_is_the_drop_of_each_channel,
    "random": _random_is_reproducible,
    **dict.fromkeys(CAM_METHODS, _cam_is_the_same_on_every_channel),
    # LRP: conservation holds without biases; Deep4 has them (its first
    # convolution, batch norm folded into the convolutions, the classifier),
    # so it is checked on a bias-free copy below. Smoothgrad, gradient SHAP and
    # deconvolution have no exact invariant: finite, non-zero maps above.
}


# Rule choices under which relevance is conserved on a bias-free Deep4. Not
# lrp_zplus, lrp_alpha1_beta0 or lrp_alpha2_beta1: they apply z+ or αβ to the
# first convolution too, whose units see 3 samples of one input (Deep4's
# temporal kernel at 80 Hz); a unit whose 3 contributions share one sign has
# no positive (or no negative) part, and passes on 0 (z+) or α times its
# relevance, as lrp.py documents: 20 % of the logit went missing here. With a
# w² or flat first layer, the later convolutions (fan-in of 24 and more)
# conserve under every rule.
CONSERVING = [
    ("lrp", {"epsilon": 1e-9}),
    ("lrp_epsilon", {"epsilon": 1e-9}),
    *(
        ("lrp_composite", {"epsilon": 1e-9, "conv_rule": conv, "first_rule": first})
        for conv in ("zplus", "alpha1_beta0", "alpha2_beta1", "epsilon")
        for first in ("wsquare", "flat")
    ),
]


@pytest.mark.parametrize("name", ["deep4", "deep4_combined"])
@pytest.mark.parametrize(
    "method, params",
    CONSERVING,
    ids=[f"{m}-{'-'.join(map(str, p.values()))}" for m, p in CONSERVING],
)
def test_lrp_conserves_relevance_without_biases(
    fitted, explained, method, params, name
):
    """On Deep4 with every bias zero, the relevance sums to the logit.

    Batch norm with zero running mean and shift folds into a pure scaling, ELU
    passes relevance through, max pooling routes it to the winning input, and
    the rules redistribute it in full when no bias absorbs any (ε made
    negligible). Deep4 trained has biases (its first convolution, batch norm
    folded into the convolutions, the classifier): the maps of the fitted
    network are only checked to be finite above. The method runs on the
    module here, which explain would first make call the layers of a
    CombinedConv.
    """
    module = _double(fitted(name))
    x = explained.get_data()
    call_combined_layers(module, torch.as_tensor(x[:1]))
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.zero_()
                layer.bias.zero_()
            elif isinstance(getattr(layer, "bias", None), torch.Tensor):
                layer.bias.zero_()
    target = _target(fitted(name), explained)
    relevance = get_method(method)(module).attribute(
        torch.as_tensor(x).requires_grad_(), torch.as_tensor(target), **params
    )
    logits = _logits(module, x, target)
    np.testing.assert_allclose(
        relevance.detach().sum(dim=(1, 2)).numpy(),
        logits,
        atol=1e-6 * np.abs(logits).max(),
    )


def test_a_combined_convolution_is_checked_with_the_cpus_noise_on_a_gpu():
    """Whether a combined convolution computes what calling its layers does was
    checked on noise from the GPU's generator, which draws other numbers than
    the CPU's from one seed (seen on a GPU pretended by the CPU)."""
    torch.manual_seed(0)
    module = nn.Sequential(CombinedConv(4, 3, 3, 5)).eval()
    with pretend_cuda() as gpu:
        example = torch.zeros(1, 1, 64, 4, device="cuda")  # (time, channel)
        call_combined_layers(module.to("cuda"), example)
    assert gpu.gpu_draws == []
    assert "forward" in vars(module[0])  # made to call its two convolutions


class RectifiedBetween(nn.Module):
    """The weights of two convolutions applied with a rectifier between them,
    in functions: not what calling the two layers in order computes, though
    alike on zeros (they have no bias)."""

    def __init__(self):
        super().__init__()
        self.conv_time = nn.Conv1d(4, 3, 5, bias=False)
        self.conv_spat = nn.Conv1d(3, 2, 1, bias=False)

    def forward(self, x):  # noqa: D102
        hidden = torch.relu(nn.functional.conv1d(x, self.conv_time.weight))
        return nn.functional.conv1d(hidden, self.conv_spat.weight)


class FromZero(nn.Module):
    """RectifiedBetween's maps, less their value on zeros if ``twice``."""

    def __init__(self, twice):
        super().__init__()
        self.twice = twice
        self.block = RectifiedBetween()

    def forward(self, x):  # noqa: D102
        maps = self.block(x)
        return (maps - self.block(0 * x) if self.twice else maps).mean(dim=-1)


class ParallelKernels(nn.Module):
    """The weights of two convolutions of the epochs, summed in functions:
    their layers, each of the epochs' 4 channels, do not chain."""

    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv1d(4, 3, 5, bias=False)
        self.conv_b = nn.Conv1d(4, 3, 5, bias=False)

    def forward(self, x):  # noqa: D102
        summed = nn.functional.conv1d(x, self.conv_a.weight + self.conv_b.weight)
        return summed.mean(dim=-1)


class SpatialMeans(RectifiedBetween):
    """RectifiedBetween's first convolution averaged over time, in functions:
    its layers called in order give maps of another shape."""

    def forward(self, x):  # noqa: D102
        return nn.functional.conv1d(x, self.conv_time.weight).mean(dim=-1)


class AboveItsLayers(RectifiedBetween):
    """Its two convolutions in functions, plus one: above what calling them in
    order computes, by one everywhere."""

    def forward(self, x):  # noqa: D102
        hidden = nn.functional.conv1d(x, self.conv_time.weight)
        return nn.functional.conv1d(hidden, self.conv_spat.weight) + 1


class RectifiedByItsLayer(RectifiedBetween):
    """RectifiedBetween holding its rectifier as a layer, between the two
    convolutions: it computes what calling its three layers in order does."""

    def __init__(self):
        super().__init__()
        conv_spat = self.conv_spat
        del self.conv_spat
        self.rectifier = nn.ReLU()
        self.conv_spat = conv_spat


class TwoRectifiedByTheirLayers(nn.Module):
    """Two RectifiedByItsLayer on the epochs, summed."""

    def __init__(self):
        super().__init__()
        self.first = RectifiedByItsLayer()
        self.second = RectifiedByItsLayer()

    def forward(self, x):  # noqa: D102
        return self.first(x) + self.second(x)


class SumOfTwo(nn.Module):
    """A module of two inputs, which no layer-by-layer trace can keep."""

    def forward(self, first, second):  # noqa: D102
        return first + second


class BesideAModuleOfTwoInputs(nn.Module):
    """RectifiedByItsLayer, its maps then summed with themselves by SumOfTwo."""

    def __init__(self):
        super().__init__()
        self.block = RectifiedByItsLayer()
        self.sum = SumOfTwo()

    def forward(self, x):  # noqa: D102
        maps = self.block(x)
        return self.sum(maps, maps)


def _example(seed):
    return torch.randn(1, 4, 32, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    "build, example",
    [
        (lambda: FromZero(twice=False), torch.zeros(1, 4, 32)),
        (lambda: FromZero(twice=True), _example(1)),
        (ParallelKernels, _example(1)),
        (SpatialMeans, _example(1)),
        (AboveItsLayers, _example(1)),
    ],
    ids=[
        "given zeros",
        "called on zeros too",
        "layers that do not chain",
        "layers of another shape",
        "above its layers",
    ],
)
def test_a_module_computing_otherwise_than_its_layers_keeps_its_forward(build, example):
    """A module holding layers it does not call is made to call them only where
    it computes what they do in order: on noise beside the epoch (which may be
    zeros), at each of its calls (one of which may read zeros), where they
    chain at all, to outputs of its shape, and by differences of either sign.
    Else the network explained would compute another function."""
    torch.manual_seed(0)
    network = build().eval()
    inputs = torch.randn(3, 4, 32)
    with torch.no_grad():
        expected = network(inputs)
        call_combined_layers(network, example)
        torch.testing.assert_close(network(inputs), expected)
    assert not any("forward" in vars(module) for module in network.modules())


@pytest.mark.parametrize(
    "build",
    [RectifiedByItsLayer, TwoRectifiedByTheirLayers, BesideAModuleOfTwoInputs],
)
def test_a_module_computing_what_its_layers_do_calls_them(build):
    """Layers without parameters among them (a rectifier) are called too: the
    module is made to call its three layers, and computes as it did. Every
    such module is, not the first found alone: the others' layers would stay
    uncalled, out of reach of rules, hooks and randomization. A module of two
    inputs elsewhere, combining nothing, is not traced and stops nothing."""
    torch.manual_seed(0)
    network = build().eval()
    inputs = torch.randn(3, 4, 32)
    with torch.no_grad():
        expected = network(inputs)
        call_combined_layers(network, _example(1))
        torch.testing.assert_close(network(inputs), expected)
    combining = [m for m in network.modules() if isinstance(m, RectifiedByItsLayer)]
    assert all("forward" in vars(module) for module in combining)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_combined_convolution_is_checked_with_the_same_noise_on_a_gpu(monkeypatch):
    """The noise of the check is the CPU's on a GPU too (see above)."""
    traced = []
    trace_layers = mne_xai._graph.trace_layers

    def recording(module, inputs, *args, **kwargs):
        traced.append(inputs.detach().cpu())
        return trace_layers(module, inputs, *args, **kwargs)

    monkeypatch.setattr(mne_xai._graph, "trace_layers", recording)
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        module = nn.Sequential(CombinedConv(4, 3, 3, 5)).eval().to(device)
        call_combined_layers(module, torch.zeros(1, 1, 64, 4, device=device))
        assert "forward" in vars(module[0])
    # Each call traces the example, then the example beside the noise.
    assert len(traced) == 4
    torch.testing.assert_close(traced[3], traced[1], rtol=0, atol=0)


@pytest.mark.parametrize("method", ["deeplift", "deeplift_shap"])
def test_deeplift_sums_to_delta_from_real_epochs(fitted, explained, method):
    """DeepLIFT from another epoch, DeepLIFT-SHAP over two reference epochs:
    the sum of the map is f(x) - mean f(reference).

    On Deep4 (nn.ELU then nn.MaxPool2d), captum alone gives the preceding
    ELU's hook the plain gradient instead of the multipliers of its max-pool
    rule, and the sums were off by the size of the delta itself; mne_xai feeds
    the pooling a copy of its input to keep the hooks apart. A zero baseline
    hides the fault: the reference is constant within each pooling window.
    """
    clf = fitted("deep4")
    x = explained.get_data()
    references = x[[-1]] if method == "deeplift" else x[[0, -1]]
    baseline = references[0] if method == "deeplift" else references
    attribution = explain(
        clf, explained, method, target="true", baseline=baseline, verbose=False
    ).get_data()
    module, target = _double(clf), _target(clf, explained)
    reference_logits = [
        _logits(module, np.repeat(reference[None], len(x), axis=0), target)
        for reference in references
    ]
    delta = _logits(module, x, target) - np.mean(reference_logits, axis=0)
    np.testing.assert_allclose(
        attribution.sum(axis=(1, 2)), delta, atol=1e-3 * np.abs(delta).max()
    )


# -- faithfulness and sanity on each network -------------------------------------
@pytest.mark.parametrize("name", NETWORKS)
def test_deletion_curve(fitted, explained, name):
    clf = fitted(name)
    n_steps = 4
    curves = [
        deletion_curve(
            clf,
            explained,
            "integrated_gradients",
            n_steps=n_steps,
            steps=16,
            shortcuts=shortcuts,
            verbose=False,
        )
        for shortcuts in (True, False)
    ]
    curve = curves[0]
    assert curve.fractions.shape == (n_steps + 1,)
    assert curve.scores.shape == (len(explained), n_steps + 1)
    assert curve.aopc.shape == (len(explained),)
    assert np.isfinite(curve.scores).all() and np.isfinite(curve.aopc).all()
    # Step 0 is the intact epoch, the last step the baseline (zeros).
    module, target = _double(clf), curve.target
    x = explained.get_data()
    for step, data in ((0, x), (n_steps, np.zeros_like(x))):
        np.testing.assert_allclose(
            curve.scores[:, step], _logits(module, data, target), rtol=1e-4, atol=1e-5
        )
    # The speed shortcuts are exact, or not used, on networks not ours.
    np.testing.assert_allclose(curves[1].scores, curve.scores, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NETWORKS)
def test_perturbation_test(fitted, explained, name):
    clf = fitted(name)
    result = perturbation_test(
        clf,
        explained[:2],
        "saliency",
        patch_fractions=(0.1, 0.2),
        n_patches=5,
        random_state=0,
        verbose=False,
    )
    assert result.correlation.shape == (2, 2)
    assert np.isclose(result.mean_correlation, np.nanmean(result.correlation))
    for key in ("relevance", "score_drop", "channel", "start"):
        assert result[key].shape == (2, 2, 5), key
    assert np.isfinite(result.relevance).all()
    assert np.isfinite(result.score_drop).all()
    # One patch's drop, rebuilt: the patch of the channel set to zero.
    module, target = _double(clf), result.target
    x = explained[:2].get_data()
    channel, start = result.channel[0, 1, 0], result.start[0, 1, 0]
    patched = x[:1].copy()
    patched[0, channel, start : start + result.patch_length[1]] = 0
    drop = _logits(module, x[:1], target[:1]) - _logits(module, patched, target[:1])
    np.testing.assert_allclose(result.score_drop[0, 1, 0], drop[0], atol=1e-4)


@pytest.mark.parametrize("name", NETWORKS)
def test_parameter_randomization(fitted, explained, name):
    clf = fitted(name)
    result = parameter_randomization_check(
        clf, explained[:2], "saliency", random_state=0, verbose=False
    )
    # Every layer with parameters is randomized, from the output down; the
    # output projection of torch's nn.MultiheadAttention, used by the
    # attention's function without being called, with the attention (which
    # torch re-draws with its _reset_parameters).
    # Named as in the user's network, not in the estimator's input scaling.
    with_parameters = {
        name
        for name, layer in clf.module_.module.named_modules()
        if next(layer.parameters(recurse=False), None) is not None
        and not name.endswith(".out_proj")
    }
    assert set(result.steps) == with_parameters
    if name != "transformer":
        assert result.steps[0] == "conv_classifier"
        assert result.steps[-1] == "conv_time"
    for values in result.similarity.values():
        assert values.shape == (len(result.steps), 2)
        assert np.isfinite(values).all()
    assert result.mean.shape == (len(result.steps), len(result.similarity))
    assert result.passes in (True, False)


def test_parameter_randomization_refuses_weights_used_in_functions(epochs):
    """braindecode's ShallowFBCSPNet (0.8 on) convolves once with the product of
    its temporal and spatial kernels, never calling the two Conv2d modules."""
    clf = EEGNetClassifier(
        module=ShallowFBCSPNet,
        module__combined_conv=True,
        max_epochs=1,
        batch_size=16,
        random_state=0,
        verbose=False,
    ).fit(epochs)
    # The two layers are never called: randomizing the called layers would
    # leave their trained weights in place, so the check refuses.
    with pytest.raises(ValueError, match=r"conv_time.*conv_spat.*without calling"):
        parameter_randomization_check(
            clf, epochs[:2], "saliency", random_state=0, verbose=False
        )


class TimeResolved(nn.Module):
    """A network scoring every time sample, as braindecode's TCN does."""

    def __init__(self, n_chans=None, n_outputs=None, n_times=None):
        super().__init__()
        self.conv = nn.Conv1d(n_chans, n_outputs, 5, padding=2)

    def forward(self, x):  # noqa: D102
        return self.conv(x)


def test_network_without_one_logit_per_class_is_refused(epochs):
    """skorch failed inside the loss: 'Expected target size [8, 280], got [8]'."""
    clf = EEGNetClassifier(TimeResolved, max_epochs=1, verbose=False)
    match = r"returns shape \(2, 2, \d+\) for two epochs; .* shape \(batch, 2\)"
    with pytest.raises(ValueError, match=match):
        clf.fit(epochs)


class EndsInSoftmax(nn.Module):
    """A network returning class probabilities, as skorch's own examples do."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.conv = nn.Conv1d(n_chans, n_outputs, 5)

    def forward(self, x):  # noqa: D102
        return torch.softmax(self.conv(x).mean(dim=-1), dim=1)


class EndsInLogSoftmax(EndsInSoftmax):
    """Log-probabilities, as braindecode's networks returned before 0.8."""

    def forward(self, x):  # noqa: D102
        return torch.log_softmax(self.conv(x).mean(dim=-1), dim=1)


class EndsInSaturatedSoftmax(EndsInSoftmax):
    """Probabilities of logits so far apart that some are exactly 0 and 1."""

    def forward(self, x):  # noqa: D102
        return torch.softmax(1e6 * self.conv(x).mean(dim=-1), dim=1)


def test_network_returning_saturated_probabilities_is_refused(epochs):
    """Probabilities of exactly 0 (a softmax saturated in float32, its logits
    over 104 apart) are probabilities too, not logits to train on."""
    clf = EEGNetClassifier(EndsInSaturatedSoftmax, max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match="returns probabilities .* final softmax"):
        clf.fit(epochs)


def test_network_returning_probabilities_is_refused(epochs):
    """Cross-entropy softmaxed them again: predict_proba stayed within 0.27-0.73."""
    clf = EEGNetClassifier(EndsInSoftmax, max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match="returns probabilities .* final softmax"):
        clf.fit(epochs)
    # Log-probabilities are logits up to a constant per row: the softmax of
    # predict_proba gives back their exponential.
    clf = EEGNetClassifier(EndsInLogSoftmax, max_epochs=1, verbose=False).fit(epochs)
    np.testing.assert_allclose(
        clf.predict_proba(epochs), np.exp(clf._logits(epochs)), rtol=1e-4
    )


class EndsInReLU(EndsInSoftmax):
    """Logits through a final ReLU: non-negative, in rows of any sum."""

    def forward(self, x):  # noqa: D102
        return torch.relu(self.conv(x).mean(dim=-1))


class RowsSummingToOne(EndsInSoftmax):
    """Logits of either sign whose rows sum to one."""

    def forward(self, x):  # noqa: D102
        logits = 100 * self.conv(x).mean(dim=-1)
        return logits - logits.mean(dim=1, keepdim=True) + 1 / logits.shape[1]


@pytest.mark.parametrize("network", [EndsInReLU, RowsSummingToOne])
def test_logits_non_negative_or_summing_to_one_are_no_probabilities(epochs, network):
    """Probabilities are rows both non-negative and summing to one: logits that
    are only one of the two are trained on, not refused as a final softmax."""
    clf = EEGNetClassifier(network, max_epochs=1, verbose=False).fit(epochs)
    assert clf.predict_proba(epochs).shape == (len(epochs), 2)


class KeepsItsFirstInput(nn.Module):
    """A linear readout keeping the first input it reads: the probe of its output."""

    def __init__(self, n_chans, n_outputs, n_times):
        super().__init__()
        self.readout = nn.Linear(n_chans * n_times, n_outputs)
        self.first_input = None

    def forward(self, x):  # noqa: D102
        if self.first_input is None:
            self.first_input = x.detach().clone()
        return self.readout(x.flatten(1))


def test_the_output_is_probed_with_epochs_of_the_training_amplitude(epochs):
    """The check of the logits reads a zero epoch and one of noise at the
    training data's amplitude: noise of one unit of the data (a volt of EEG)
    reached the network a hundred thousand training deviations large, where
    its outputs say nothing of those it gives its data."""
    clf = EEGNetClassifier(KeepsItsFirstInput, max_epochs=1, verbose=False)
    zero, noise = clf.fit(epochs).module_.module.first_input
    assert not zero.any()
    # Behind the input scaling, the training data have unit variance.
    assert 0.5 < float(noise.std()) < 2


def test_torchscript_network_is_refused_with_what_to_give(epochs, explained):
    """torch failed inside: "can't optimize a non-leaf Tensor" at fit and
    "register_forward_hook is not supported on ScriptModules" in DeepLIFT."""
    network = EndsInSoftmax(len(epochs.ch_names), 2, len(epochs.times)).conv
    scripted = torch.jit.script(
        nn.Sequential(network, nn.AdaptiveAvgPool1d(1), nn.Flatten())
    )
    match = "TorchScript .* Give the torch.nn.Module it was compiled from"
    with pytest.raises(TypeError, match=match):
        EEGNetClassifier(scripted, max_epochs=1, verbose=False).fit(epochs)
    clf = EEGNetClassifier(max_epochs=1, verbose=False).fit(epochs)
    clf.module_.spatial_conv = torch.jit.script(clf.module_.spatial_conv)
    with pytest.raises(TypeError, match="layer 'spatial_conv' is TorchScript"):
        explain(clf, explained, method="deeplift")
    with pytest.raises(TypeError, match=match):
        layer_activations(clf, explained, "spatial_conv")


def test_torch_compiled_network_is_refused_with_what_to_give(epochs, explained):
    """Dynamo failed inside the hooks ("is already tracked for mutation"), and
    fit failed in "'EEGNet' object has no attribute 'training_std'"."""
    n_channels, n_times = len(epochs.ch_names), len(epochs.times)
    match = r"compiled by torch.compile.*compiled._orig_mod"
    with pytest.raises(TypeError, match=match):
        EEGNetClassifier(
            torch.compile(EEGNet(n_channels, 2, n_times, sfreq=epochs.info["sfreq"])),
            max_epochs=1,
            verbose=False,
        ).fit(epochs)
    clf = EEGNetClassifier(max_epochs=1, verbose=False).fit(epochs)
    clf.module_ = torch.compile(clf.module_)
    with pytest.raises(TypeError, match=match):
        explain(clf, explained, method="saliency")
    with pytest.raises(TypeError, match=match):
        layer_activations(clf, explained, "spatial_conv")


def test_a_compiled_network_behind_the_input_scaling_is_the_network(epochs, explained):
    """Compiled after fit inside the estimator's input scaling, it was "the
    network's layer 'module'", told to be built uncompiled, a layer it never had."""
    clf = EEGNetClassifier(EndsInLogSoftmax, max_epochs=1, verbose=False).fit(epochs)
    assert isinstance(clf.module_, ScaledInput)
    clf.module_.module = torch.compile(clf.module_.module)
    match = r"^The network is compiled by torch.compile.*compiled._orig_mod"
    with pytest.raises(TypeError, match=match):
        explain(clf, explained, method="saliency")


@pytest.fixture
def float64_by_default():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def test_networks_compute_in_float32_whatever_torchs_default(
    epochs, explained, float64_by_default
):
    """Under torch.set_default_dtype(torch.float64), fit failed at its first
    batch, and the randomization checks and maximize_activation made float64
    inputs for float32 networks; each in torch's words."""
    clf = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0).fit(epochs)
    assert {p.dtype for p in clf.module_.parameters()} == {torch.float32}
    # Built in float32, the user's default is theirs again after.
    assert torch.get_default_dtype() == torch.float64
    explain(clf, explained, method="deeplift")
    parameter_randomization_check(clf, explained, "saliency", random_state=0)
    maximize_activation(clf, 0, n_restarts=1, n_steps=2, random_state=0)


def test_integer_parameters_beside_float32_weights_are_accepted():
    """Only floating-point weights meet the epochs' float32: a network holding
    integers as a parameter (indices, kept frozen) computes as any other, and
    module.float() would leave them integers anyway."""
    network = nn.Sequential(nn.Linear(4, 2))
    network.indices = nn.Parameter(torch.arange(4), requires_grad=False)
    check_float32(network)


def test_network_in_float64_is_refused_with_the_conversion(epochs, explained):
    """explain blamed the input's shape ("add that axis in its forward")."""
    network = EndsInLogSoftmax(len(epochs.ch_names), 2, len(epochs.times)).double()
    match = r"weights are float64, .* Convert it with module.float\(\)"
    with pytest.raises(TypeError, match=match):
        EEGNetClassifier(network, max_epochs=1, verbose=False).fit(epochs)
    clf = EEGNetClassifier(max_epochs=1, verbose=False).fit(epochs)
    clf.module_.double()
    with pytest.raises(TypeError, match=match):
        explain(clf, explained, method="saliency")
    # predict failed in torch's words, which the check was written to replace.
    with pytest.raises(TypeError, match=match):
        clf.predict(explained)


def test_a_network_without_a_faster_form_in_float64_is_refused_at_prediction(
    epochs, explained
):
    """InterpretableCNN predicts through the network itself, not a faster graph
    built (and checked) from it: in float64 it failed in torch's words."""
    clf = InterpretableCNNClassifier(max_epochs=1, verbose=False).fit(epochs)
    clf.module_.double()
    match = r"weights are float64, .* Convert it with module.float\(\)"
    with pytest.raises(TypeError, match=match):
        clf.predict(explained)


def test_a_network_in_bfloat16_keeps_its_statistics_readable(epochs, explained):
    """data_mean_ failed in NumPy's words ("Got unsupported ScalarType
    BFloat16") on a network converted with module_.to(torch.bfloat16)."""
    clf = EEGNetClassifier(max_epochs=1, verbose=False, random_state=0).fit(epochs)
    mean, std = clf.data_mean_, clf.data_std_
    clf.module_.to(torch.bfloat16)
    np.testing.assert_allclose(clf.data_mean_, mean, rtol=1e-2)
    np.testing.assert_allclose(clf.data_std_, std, rtol=1e-2)
    with pytest.raises(TypeError, match=r"weights are bfloat16, .* module.float\(\)"):
        explain(clf, explained, method="saliency")
    # A copy: writing into it leaves the network's buffer alone.
    clf.module_.float()
    clf.data_mean_[:] = 0
    assert clf.module_.training_mean.abs().max() > 0


class CompilesItsLayer(torch.nn.Module):
    """A network class compiling a layer of its own in __init__."""

    def __init__(self, n_channels, n_classes, n_times):
        super().__init__()
        self.body = torch.compile(torch.nn.Conv1d(n_channels, n_classes, n_times))

    def forward(self, x):  # noqa: D102
        return self.body(x).mean(dim=-1)


def test_a_class_compiling_its_layers_is_refused_before_training(epochs):
    """It trained, then every explain, evaluate and inspect call refused it,
    advising compiled._orig_mod, which the user never held."""
    clf = EEGNetClassifier(CompilesItsLayer, max_epochs=1, verbose=False)
    match = "layer 'body' is compiled by torch.compile.*uncompiled"
    with pytest.raises(TypeError, match=match):
        clf.fit(epochs)
    assert not hasattr(clf, "module_")


class TakesFourAxes(torch.nn.Module):
    """A port of a Keras network: it expects (batch, 1, n_channels, n_times)."""

    def __init__(self, n_channels, n_classes):
        super().__init__()
        self.temporal = torch.nn.Conv2d(1, 2, (1, 5))
        self.spatial = torch.nn.Conv2d(2, n_classes, (n_channels, 1))

    def forward(self, x):  # noqa: D102
        return self.spatial(self.temporal(x)).mean(dim=(2, 3))


class TakesFourAxesTimeFirst(TakesFourAxes):
    """A port of a Keras network laid out (batch, 1, n_times, n_channels): it
    swaps the last two axes first, where torch speaks of a dimension out of
    range."""

    def forward(self, x):  # noqa: D102
        return super().forward(x.transpose(2, 3))


@pytest.mark.parametrize("module", [TakesFourAxes, TakesFourAxesTimeFirst])
def test_network_failing_on_the_input_shape_says_what_it_was_given(epochs, module):
    """torch's error alone spoke of channels of an input the user never made."""
    clf = EEGNetClassifier(module, max_epochs=1, verbose=False)
    with pytest.raises(
        ValueError, match=r"two epochs of shape \(2, .*\(x.unsqueeze\(1\)\)"
    ):
        clf.fit(epochs)


class TemporalKernel(nn.Module):
    """A temporal convolution over ``n_inputs`` channels (all the epochs' by
    default), its kernel ``kernel`` samples long."""

    def __init__(self, n_channels, n_classes, kernel=5, n_inputs=None):
        super().__init__()
        self.conv = nn.Conv1d(n_inputs or n_channels, n_classes, kernel)

    def forward(self, x):  # noqa: D102
        return self.conv(x).mean(dim=-1)


class SpatialKernel(nn.Module):
    """A convolution across ``n_inputs`` channels (the epochs' by default) and
    ``kernel`` samples."""

    def __init__(self, n_channels, n_classes, n_inputs=None, kernel=1):
        super().__init__()
        self.conv = nn.Conv2d(1, n_classes, (n_inputs or n_channels, kernel))

    def forward(self, x):  # noqa: D102
        return self.conv(x.unsqueeze(1)).mean(dim=(2, 3))


class TimeFirstKernel(nn.Module):
    """A convolution of ``kernel`` samples over epochs laid out as (batch, 1,
    n_times, n_channels): its rows are times, not channels."""

    def __init__(self, n_channels, n_classes, kernel=400):
        super().__init__()
        self.conv = nn.Conv2d(1, n_classes, (kernel, 1))

    def forward(self, x):  # noqa: D102
        return self.conv(x.transpose(1, 2).unsqueeze(1)).mean(dim=(2, 3))


@pytest.mark.parametrize(
    ("module", "params", "advice"),
    [
        (
            TemporalKernel,
            {"kernel": 400},
            r"The epochs \(280 samples at 80 Hz\) are too short",
        ),
        (
            TemporalKernel,
            {"n_inputs": 1},
            r"takes 1 channel\(s\) where the epochs have 64",
        ),
        (
            SpatialKernel,
            {"n_inputs": 65},
            r"kernel spans 65 channels where the epochs have 64: pick the channels",
        ),
        # Picking channels would leave the kernel longer than the epochs.
        (
            SpatialKernel,
            {"n_inputs": 65, "kernel": 400},
            r"The epochs \(280 samples at 80 Hz\) are too short",
        ),
        # Rows of times: a kernel longer than them is no kernel across channels.
        (
            TimeFirstKernel,
            {},
            r"The epochs \(280 samples at 80 Hz\) are too short",
        ),
    ],
    ids=[
        "kernel_longer_than_epochs",
        "one_channel",
        "kernel_across_more_channels",
        "kernel_across_more_channels_and_longer",
        "kernel_longer_than_epochs_laid_out_time_first",
    ],
)
def test_network_failing_otherwise_than_on_the_rank_is_not_told_to_add_an_axis(
    epochs, module, params, advice
):
    """Any failure was told "add that axis in its forward (x.unsqueeze(1))": also
    braindecode's HybridNet, whose kernel of 421 samples torch said "can't be
    greater than actual input size" of 2 s at 128 Hz, and AttnSleep, which reads
    one channel ("expected input[2, 16, 3000] to have 1 channels"). A spatial
    kernel written for more channels than the epochs have (8 EEG, given 7 and an
    EOG) was said to meet epochs too short."""
    params = {f"module__{name}": value for name, value in params.items()}
    clf = EEGNetClassifier(module, **params, max_epochs=1, verbose=False)
    with pytest.raises(ValueError, match=advice) as error:
        clf.fit(epochs)
    assert "unsqueeze" not in str(error.value)


class PatchedInConstructor(nn.Module):
    """Epochs cut in patches of 200 samples, checked by a forward pass in the
    constructor, as braindecode's Labram does."""

    def __init__(
        self, n_chans, n_outputs, n_times, sfreq, chs_info=None, patch_size=200
    ):
        super().__init__()
        self.n_chans, self.patch_size = n_chans, patch_size
        self.readout = nn.Linear(patch_size, n_outputs)
        with torch.no_grad():
            self(torch.zeros(1, n_chans, n_times))

    def forward(self, x):  # noqa: D102
        patches = x.view(x.shape[0], self.n_chans, -1, self.patch_size)
        return self.readout(patches).mean(dim=(1, 2))


class ReadsChannelsInConstructor(nn.Module):
    """Reads the channels of the given indices, checked by a forward pass in
    the constructor."""

    def __init__(self, n_chans, n_outputs, n_times, channels=(0, 1)):
        super().__init__()
        self.channels = list(channels)
        self.readout = nn.Linear(len(self.channels) * n_times, n_outputs)
        with torch.no_grad():
            self(torch.zeros(1, n_chans, n_times))

    def forward(self, x):  # noqa: D102
        return self.readout(x[:, self.channels].flatten(1))


def test_network_failing_in_its_constructor_says_what_it_was_given(epochs):
    """torch's "shape '[1, 16, 1, 200]' is invalid for input of size 4096" came
    out of fit alone, from Labram's constructor, naming none of the shapes."""
    clf = EEGNetClassifier(PatchedInConstructor, max_epochs=1, verbose=False)
    match = (
        r"PatchedInConstructor failed to build with the arguments .*\(n_chans=64, "
        r"n_outputs=2, n_times=280, sfreq=80.0, chs_info=<list of 64>: .* "
        r"shape '\[1, 64, -1, 200\]' is invalid for input of size 17920"
    )
    with pytest.raises(ValueError, match=match) as error:
        clf.fit(epochs)
    assert isinstance(error.value.__cause__, RuntimeError)
    # torch's IndexError of an index out of range is told the shapes alike.
    indexing = EEGNetClassifier(
        ReadsChannelsInConstructor, module__channels=[0, 70], verbose=False
    )
    match = r"failed to build .*n_chans=64.*index 70 is out of bounds"
    with pytest.raises(ValueError, match=match) as error:
        indexing.fit(epochs)
    assert isinstance(error.value.__cause__, IndexError)
    # With patches that divide the epochs, it builds and trains.
    clf.set_params(module__patch_size=140).fit(epochs)
    # A constructor's own check is its own error, said once (callers catch
    # TooShortError to say it in their terms).
    with pytest.raises(TooShortError, match="^EEGNet pools time by") as error:
        short = epochs.copy().crop(epochs.tmin, epochs.tmin + 0.2)
        EEGNetClassifier(max_epochs=1, verbose=False).fit(short)
    assert "failed to build" not in str(error.value)


def test_arguments_of_a_failed_build_name_long_values_by_length():
    """Per-channel factors (an array, a tensor) and chs_info would bury the
    shapes the message is about; a NumPy number reads as a number, and a
    value of up to four items (a 2-d padding) reads in full."""
    arguments = {
        "n_channels": 64,
        "input_scale": np.ones(64),
        "sfreq": np.float64(80.0),
        "weights": torch.ones(8),
        "chs_info": [{}] * 64,
        "pair": (1, 2),
        "padding": (0, 0, 2, 2),
        "picks": [0, 1, 2, 3, 4],
    }
    assert _arguments_text(arguments) == (
        "n_channels=64, input_scale=<ndarray of 64>, sfreq=80.0, "
        "weights=<Tensor of 8>, chs_info=<list of 64>, pair=(1, 2), "
        "padding=(0, 0, 2, 2), picks=<list of 5>"
    )


class NeedsWidth(nn.Module):
    """A network with an argument the data cannot give."""

    def __init__(self, n_chans, n_outputs, width):
        super().__init__()
        self.conv = nn.Conv1d(n_chans, width, 5)
        self.dense = nn.Linear(width, n_outputs)

    def forward(self, x):  # noqa: D102
        return self.dense(self.conv(x).mean(dim=-1))


class NeedsWidthByKeyword(NeedsWidth):
    """NeedsWidth whose width is a keyword-only argument."""

    def __init__(self, n_chans, n_outputs, *, width):
        super().__init__(n_chans, n_outputs, width)


@pytest.mark.parametrize("network_class", [NeedsWidth, NeedsWidthByKeyword])
def test_a_constructor_argument_nothing_gives_is_named_with_its_parameter(
    epochs, network_class
):
    clf = EEGNetClassifier(network_class, max_epochs=1, verbose=False)
    name = network_class.__name__
    with pytest.raises(TypeError, match=rf"{name} needs the argument\(s\) width.*"):
        clf.fit(epochs)
    with pytest.raises(TypeError, match=r"module__width=<value>"):
        clf.fit(epochs)
    clf.set_params(module__width=3).fit(epochs)
    assert clf.module_.module.conv.out_channels == 3


class NeedsChannelPositions(nn.Module):
    """A network reading its channels' positions, which arrays without info lack."""

    def __init__(self, n_chans, n_outputs, chs_info):
        super().__init__()
        positions = np.array([channel["loc"][:3] for channel in chs_info])
        self.register_buffer("positions", torch.as_tensor(positions).float())
        self.dense = nn.Linear(n_chans, n_outputs)

    def forward(self, x):  # noqa: D102
        return self.dense(x.mean(dim=-1))


def test_channel_information_arrays_lack_is_named_as_missing(epochs):
    """Arrays without info have no chs_info: the network is not given None."""
    clf = EEGNetClassifier(NeedsChannelPositions, max_epochs=1, verbose=False)
    match = r"NeedsChannelPositions needs the argument\(s\) chs_info.*module__chs_info"
    with pytest.raises(TypeError, match=match):
        clf.fit(epochs.get_data(), epochs.events[:, 2])
    clf.fit(epochs)
    assert clf.module_.module.positions.shape == (len(epochs.ch_names), 3)


class TakesAnyKeyword(nn.Module):
    """mne_xai's names, and ``**kwargs`` to accept (and drop) anything else."""

    def __init__(self, n_channels, n_classes, n_times, **kwargs):
        super().__init__()
        self.readout = nn.Linear(n_channels * n_times, n_classes)

    def forward(self, x):  # noqa: D102
        return self.readout(x.flatten(1))


def test_network_dropping_input_scale_in_kwargs_is_scaled_outside(epochs):
    """input_scale reached such a network through **kwargs and was taken as
    its own scaling: it trained on raw volts (logits ~1e-6)."""
    clf = EEGNetClassifier(TakesAnyKeyword, max_epochs=1, verbose=False).fit(epochs)
    assert isinstance(clf.module_, ScaledInput)
    assert np.all(np.asarray(clf.input_scale_) > 1e3)  # volts to unit variance


def test_parameter_randomization_of_a_combined_convolution(fitted, explained):
    """braindecode's CombinedConv is run as its two layers, as every method runs
    it: two steps, and the same randomized networks as Deep4 calling them."""
    results = {
        name: parameter_randomization_check(
            fitted(name), explained[:2], "saliency", random_state=0, verbose=False
        )
        for name in ("deep4", "deep4_combined")
    }
    split, combined = results["deep4"], results["deep4_combined"]
    assert combined.steps[-2:] == [
        "conv_time_spat.conv_spat",
        "conv_time_spat.conv_time",
    ]
    assert [
        re.sub(r"conv_time_spat\.", "", step) for step in combined.steps
    ] == split.steps
    for key, values in split.similarity.items():
        np.testing.assert_allclose(combined.similarity[key], values, atol=1e-4)
