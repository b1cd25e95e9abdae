"""Every attribution method and the evaluations on a GPU pretended by the CPU.

CI has no GPU, so the tests that run on CUDA skip there; a tensor left on the
CPU beside a network on the GPU then goes unseen until a user trains on one
(every ``fit`` on ``device="cuda"`` failed so, from the probe of the samples
a network reads until a pretended GPU found it). Under
``pretend_cuda`` the values are the CPU's, so a network moved to the
pretended GPU must give the CPU's maps exactly, without any draw from the
GPU's own generator (which gives other numbers from one seed).
"""

import copy

import mne
import numpy as np
import pytest
from pretend_cuda import on_gpu, pretend_cuda

import mne_xai
from mne_xai import CroppedClassifier, EEGNetClassifier, InterpretableCNNClassifier
from mne_xai.evaluate import (
    deletion_curve,
    parameter_randomization_check,
    perturbation_test,
)
from mne_xai.inspect import (
    SpectralClassifier,
    layer_activations,
    learn_patterns,
    spatial_patterns,
)

TRAINING = dict(max_epochs=20, batch_size=8, verbose=False, random_state=0)


def _two_classes(n_times):
    """Forty epochs of noise on 4 channels, class 1 with channel 0 three times larger."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4, n_times)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    X[y == 1, 0] *= 3
    return X, y


@pytest.fixture(scope="module")
def networks():
    """A network trained on the CPU, and its copy moved to the pretended GPU."""
    X, y = _two_classes(n_times=64)
    info = mne.create_info(4, 128.0, "eeg")
    on_cpu = EEGNetClassifier(**TRAINING, info=info).fit(X, y)
    with pretend_cuda():
        on_cuda = copy.deepcopy(on_cpu).set_params(device="cuda")
    assert all(on_gpu(parameter) for parameter in on_cuda.module_.parameters())
    return on_cpu, on_cuda, X[:4]


def _same_on_both(networks, compute):
    """Run ``compute(network)`` on the CPU and on the pretended GPU; compare."""
    on_cpu, on_cuda, _ = networks
    expected = compute(on_cpu)
    with pretend_cuda() as gpu:
        got = compute(on_cuda)
    # Parameter randomization checks that a layer's initializer draws every
    # parameter, on the layer's device; those draws are looked at for NaN
    # only, then the layer is restored.
    assert [
        name
        for name, stack in gpu.gpu_draws
        if "_check_initializer_draws_every_parameter" not in stack
    ] == []
    np.testing.assert_array_equal(got, expected)


# EEGNet has no max pooling, which deconvolution says of its maps.
@pytest.mark.filterwarnings("ignore:deconvolution.s maps do not depend")
@pytest.mark.parametrize("method", mne_xai.list_methods())
def test_every_method_gives_the_cpus_maps_on_a_gpu(networks, method):
    """No method leaves a tensor on the CPU, or draws on the GPU's generator."""
    params = dict(target=0, random_state=0, verbose=False)
    if method.startswith("pattern"):
        params["patterns"] = learn_patterns(networks[0], networks[2], verbose=False)
    _same_on_both(
        networks,
        lambda network: (
            mne_xai.explain(network, networks[2], method, **params).get_data().copy()
        ),
    )


@pytest.mark.parametrize(
    "evaluation",
    [
        lambda net, X: deletion_curve(
            net, X, "saliency", target=0, n_steps=4, verbose=False
        ).scores,
        lambda net, X: perturbation_test(
            net, X, "gradient_x_input", target=0, baseline="noise", random_state=0,
            verbose=False,
        ).score_drop,
        lambda net, X: parameter_randomization_check(
            net, X, "saliency", target=0, random_state=0, verbose=False
        ).similarity["spearman_abs"],
        lambda net, X: spatial_patterns(net, X, verbose=False).patterns.data,
        lambda net, X: layer_activations(net, X, "separable_pointwise", verbose=False).data,
        lambda net, X: net.predict_proba(X),
    ],
    ids=["deletion", "perturbation", "randomization", "spatial", "activations",
         "predict"],
)  # fmt: skip
def test_evaluations_and_inspections_give_the_cpus_results_on_a_gpu(
    networks, evaluation
):
    """The evaluations move their baselines, noise and randomized layers along."""
    _same_on_both(networks, lambda network: evaluation(network, networks[2]))


@pytest.mark.parametrize(
    "make",
    [
        lambda device: InterpretableCNNClassifier(**TRAINING, device=device),
        lambda device: CroppedClassifier(
            EEGNetClassifier(**TRAINING, device=device),
            window_length=1.0,
            window_step=1.0,
        ),
        lambda device: SpectralClassifier(EEGNetClassifier(**TRAINING, device=device)),
    ],
    ids=["interpretable_cnn", "cropped", "spectral"],
)
def test_every_estimator_trains_and_predicts_on_a_gpu(make):
    """Every fit on device="cuda" failed: its probe of the samples
    the network reads stayed on the CPU (EEGNet's fit: test_estimators.py).
    Trained on the GPU, dropout draws from its generator, so the network is
    not the CPU's; it must learn alike."""
    X, y = _two_classes(n_times=256)
    epochs = mne.EpochsArray(
        1e-5 * X,
        mne.create_info(4, 128.0, "eeg"),
        events=np.column_stack([np.arange(40), np.zeros(40, int), y + 1]),
        verbose=False,
    )
    with pretend_cuda():
        estimator = make("cuda").fit(epochs)
        probabilities = estimator.predict_proba(epochs)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert (probabilities.argmax(axis=1) == y).mean() > 0.8
