import mne
import numpy as np
import pytest
import torch

from mne_xai import InterpretableCNNClassifier
from mne_xai.datasets import _builtin_montage
from mne_xai.evaluate.faithfulness import (
    _ClassScorer,
    channel_perturbation_test,
    deletion_curve,
    deletion_test,
    insertion_curve,
    perturbation_test,
)

N_CHANNELS, N_TIMES, N_EPOCHS = 32, 64, 6


class LinearScore(torch.nn.Module):
    """Logits (s, -s) with s = sum(w * x): gradient x input is exact for it."""

    def __init__(self, weights):
        super().__init__()
        self.weights = torch.nn.Parameter(torch.as_tensor(weights, dtype=torch.float32))

    def forward(self, x):
        score = (self.weights * x).sum(dim=(1, 2))
        return torch.stack([score, -score], dim=1)


@pytest.fixture(scope="module")
def montage_epochs():
    """Epochs on a real 32-channel montage whose channels are a smooth field."""
    montage = mne.channels.make_standard_montage(_builtin_montage("1020"))
    names = [
        "Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 TP9 CP5 CP1 CP2 "
        "CP6 TP10 P7 P3 Pz P4 P8 PO9 O1 Oz O2 PO10"
    ][0].split()
    info = mne.create_info(names, 128.0, "eeg")
    info.set_montage(montage)
    positions = info._get_channel_positions()
    rng = np.random.default_rng(0)
    # A field that varies slowly over the scalp: what spherical splines recover.
    sources = rng.standard_normal((N_EPOCHS, 3, N_TIMES))
    data = np.einsum("ck,ekt->ect", positions / 0.1, sources) * 1e-5
    events = np.column_stack(
        [np.arange(N_EPOCHS), np.zeros(N_EPOCHS, int), np.tile([1, 2], N_EPOCHS // 2)]
    )
    return mne.EpochsArray(data, info, events, event_id=dict(a=1, b=2), verbose=False)


@pytest.fixture(scope="module")
def linear_estimator(montage_epochs):
    """A fitted estimator whose network is replaced by a known linear score."""
    estimator = InterpretableCNNClassifier(
        max_epochs=1, batch_size=8, random_state=0, verbose=0
    ).fit(montage_epochs)
    weights = np.random.default_rng(1).standard_normal((N_CHANNELS, N_TIMES)) * 1e5
    estimator.module_ = LinearScore(weights)
    return estimator


def contributions(estimator, epochs):
    return estimator.module_.weights.detach().numpy() * epochs.get_data()


@pytest.mark.parametrize("kind", ["deletion", "insertion"])
def test_curves_of_a_linear_model_match_the_analytic_answer(
    linear_estimator, montage_epochs, kind
):
    n_steps = 32
    function = deletion_curve if kind == "deletion" else insertion_curve
    curve = function(
        linear_estimator,
        montage_epochs,
        "gradient_x_input",
        target=0,
        n_steps=n_steps,
        verbose=False,
    )
    flat = contributions(linear_estimator, montage_epochs).reshape(N_EPOCHS, -1)
    ranked = -np.sort(-flat, axis=1)
    counts = np.arange(n_steps + 1) * flat.shape[1] // n_steps
    cumulative = np.column_stack([np.zeros(N_EPOCHS), np.cumsum(ranked, axis=1)])
    removed = cumulative[:, counts]
    if kind == "deletion":
        expected = flat.sum(axis=1, keepdims=True) - removed
        expected_aopc = removed.mean(axis=1)
    else:
        expected = removed
        expected_aopc = removed.mean(axis=1)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(curve.scores, expected, atol=1e-5 * scale)
    np.testing.assert_allclose(curve.aopc, expected_aopc, atol=1e-5 * scale)
    np.testing.assert_allclose(curve.fractions, counts / flat.shape[1])
    assert curve.scores.shape == (N_EPOCHS, n_steps + 1)
    assert (curve.target == 0).all()

    random = function(
        linear_estimator,
        montage_epochs,
        "random",
        target=0,
        n_steps=n_steps,
        random_state=0,
        verbose=False,
    )
    assert (curve.aopc > random.aopc + 0.1 * scale).all()


@pytest.mark.parametrize("baseline", ["zero", "interpolate"])
def test_perturbation_tests_of_a_linear_model_correlate_perfectly(
    linear_estimator, montage_epochs, baseline
):
    """Gradient x input of a linear score is its exact decomposition."""
    kwargs = dict(target=0, random_state=0, verbose=False)
    if baseline == "zero":
        patches = perturbation_test(
            linear_estimator,
            montage_epochs,
            "gradient_x_input",
            n_patches=20,
            **kwargs,
        )
        assert patches.correlation.shape == (N_EPOCHS, 5)
        assert patches.relevance.shape == patches.score_drop.shape == (N_EPOCHS, 5, 20)
        np.testing.assert_allclose(patches.correlation, 1, atol=1e-5)
        np.testing.assert_allclose(patches.patch_length, [6, 13, 19, 26, 32])
        assert (patches.start + patches.patch_length[:, None] <= N_TIMES).all()
    channels = channel_perturbation_test(
        linear_estimator,
        montage_epochs,
        "gradient_x_input",
        baseline=baseline,
        **kwargs,
    )
    assert channels.relevance.shape == channels.score_drop.shape
    if baseline == "zero":
        np.testing.assert_allclose(channels.correlation, 1, atol=1e-5)
        np.testing.assert_allclose(
            channels.score_drop, channels.relevance, rtol=1e-4, atol=1e-6
        )


def test_interpolation_restores_a_channel_predictable_from_its_neighbours(
    linear_estimator, montage_epochs
):
    """Removing a channel that is a smooth function of the others changes
    little when it is interpolated, and much when it is zeroed."""
    channel = montage_epochs.ch_names.index("Cz")
    weights = np.zeros((N_CHANNELS, N_TIMES))
    weights[channel] = 1e5
    estimator = linear_estimator
    original = estimator.module_
    estimator.module_ = LinearScore(weights)
    try:
        drops = {
            baseline: channel_perturbation_test(
                estimator,
                montage_epochs,
                attribution=montage_epochs,
                target=0,
                baseline=baseline,
                verbose=False,
            ).score_drop[:, channel]
            for baseline in ("zero", "interpolate")
        }
    finally:
        estimator.module_ = original
    error = {key: np.linalg.norm(drop) for key, drop in drops.items()}
    assert error["interpolate"] < 0.1 * error["zero"]

    curve = deletion_curve(
        estimator,
        montage_epochs,
        attribution=montage_epochs,
        unit="channel",
        baseline="interpolate",
        n_steps=4,
        verbose=False,
    )
    # Removing every channel leaves nothing to interpolate from: zeros.
    np.testing.assert_allclose(curve.scores[:, -1], 0, atol=1e-6)


def test_outputs_are_reproducible_silent_and_independent_of_batching(
    linear_estimator, montage_epochs, capsys
):
    kwargs = dict(target=0, n_patches=5, baseline="noise", random_state=3)
    first = perturbation_test(
        linear_estimator,
        montage_epochs,
        "saliency",
        batch_size=2,
        verbose=False,
        **kwargs,
    )
    assert capsys.readouterr().err == ""
    second = perturbation_test(
        linear_estimator,
        montage_epochs,
        "saliency",
        batch_size=5,
        verbose=False,
        **kwargs,
    )
    for key in ("relevance", "score_drop", "channel", "start"):
        np.testing.assert_allclose(first[key], second[key], rtol=1e-5, atol=1e-7)
    other = perturbation_test(
        linear_estimator,
        montage_epochs,
        "saliency",
        verbose=False,
        **{**kwargs, "random_state": 4},
    )
    assert not np.allclose(first.start, other.start)
    # A stochastic method is reproducible for a given batch_size.
    random_maps = [
        deletion_curve(
            linear_estimator, montage_epochs, "random", random_state=0, verbose=False
        ).scores
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*random_maps)
    deletion_curve(
        linear_estimator, montage_epochs, "saliency", n_steps=4, verbose=True
    )
    assert "deletion curve" in capsys.readouterr().err


def test_deletion_test(linear_estimator, montage_epochs):
    result = deletion_test(
        linear_estimator,
        montage_epochs,
        "gradient_x_input",
        target=0,
        random_state=0,
        verbose=False,
    )
    for key in ("score", "score_deleted", "score_random", "fraction_deleted"):
        assert result[key].shape == (N_EPOCHS,)
    assert (result.fraction_deleted > 0).all()
    assert (result.score_deleted < result.score_random).all()
    assert (result.channel_score_deleted < result.channel_score_random).all()
    assert (result.n_channels_deleted > 0).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(), ValueError, "either method"),
        (dict(method="saliency", attribution=np.zeros(1)), ValueError, "either method"),
        (dict(method="nope"), ValueError, "method"),
        (dict(method="saliency", baseline="blur"), ValueError, "baseline"),
        (dict(method="saliency", baseline="interpolate"), ValueError, 'unit="channel"'),
        (dict(method="saliency", n_steps=10**6), ValueError, "n_steps"),
        (dict(method="saliency", order="random"), ValueError, "order"),
        (dict(attribution=np.zeros((2, 3, 4))), ValueError, "shape"),
        (
            dict(attribution=np.zeros((N_EPOCHS, N_CHANNELS, N_TIMES)), absolute=True),
            TypeError,
            "only used with method",
        ),
        (dict(method="saliency", target=7), ValueError, "target"),
        (dict(method="saliency", batch_size=0), ValueError, "batch_size"),
    ],
)
def test_clear_errors(linear_estimator, montage_epochs, kwargs, error, match):
    with pytest.raises(error, match=match):
        deletion_curve(linear_estimator, montage_epochs, verbose=False, **kwargs)


def test_patch_fractions_are_checked(linear_estimator, montage_epochs):
    with pytest.raises(ValueError, match="patch_fractions"):
        perturbation_test(
            linear_estimator, montage_epochs, "saliency", patch_fractions=(0, 0.5)
        )


def test_real_eeg_relevant_first_deletion_beats_random(fitted_eegnet, imagery_epochs):
    epochs = imagery_epochs[:16]
    module = fitted_eegnet.module_.eval()
    data = torch.from_numpy(epochs.get_data().astype(np.float32))
    with torch.inference_mode():
        scorer = _ClassScorer(module, data, 64)
        # EEGNet starts with a rank-1 spatio-temporal filter bank: the exact
        # shortcut is taken, and reproduces the network.
        assert scorer.forward is not module
        target = torch.zeros(len(data), dtype=torch.int64)
        torch.testing.assert_close(
            scorer(data, target), module(data)[:, 0], rtol=1e-3, atol=1e-3
        )
    kwargs = dict(n_steps=16, verbose=False)
    good = deletion_curve(fitted_eegnet, epochs, "gradient_x_input", **kwargs)
    random = deletion_curve(fitted_eegnet, epochs, "random", random_state=0, **kwargs)
    spread = np.abs(good.scores[:, 0]).mean()
    assert good.aopc.mean() > random.aopc.mean() + 0.2 * spread
    assert (good.aopc > random.aopc).mean() >= 0.9
