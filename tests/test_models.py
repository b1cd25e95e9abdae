import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from mne_xai.models import (
    EEGNet,
    InterpretableCNN,
    ScaledInput,
    SpatialFirstEEGNet,
    eegnet,
)
from mne_xai.models._base import TooShortError
from mne_xai.models.eegnet import (
    _after_spatial_filters,
    _by_diagonal,
    _window_moments,
)

MODELS = [EEGNet, InterpretableCNN]


@pytest.mark.parametrize("model_class", MODELS)
@pytest.mark.parametrize(
    ("n_channels", "n_times", "n_classes", "sfreq"),
    [(1, 384, 2, 128.0), (64, 161, 3, 160.0), (8, 250, 4, 250.0)],
)
def test_any_shape_gives_logits(model_class, n_channels, n_times, n_classes, sfreq):
    torch.manual_seed(0)
    module = model_class(n_channels, n_classes, n_times, sfreq).eval()
    logits = module(torch.randn(5, n_channels, n_times))
    assert logits.shape == (5, n_classes)
    # Logits, not (log-)probabilities: neither rows of exp nor of values sum to 1.
    assert not torch.allclose(logits.exp().sum(1), torch.ones(5))
    assert not torch.allclose(logits.softmax(1), logits)


@pytest.mark.parametrize("model_class", MODELS)
def test_eval_outputs_do_not_depend_on_the_batch(model_class):
    torch.manual_seed(0)
    module = model_class(4, 2, 128)
    module.train()
    for _ in range(3):  # move batch norm's running statistics away from the init
        module(torch.randn(16, 4, 128) * 3 + 1)
    module.eval()
    batch = torch.randn(10, 4, 128)
    together = module(batch)
    alone = torch.cat([module(batch[i : i + 1]) for i in range(10)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("sfreq", "expected", "separable"),
    [
        (128.0, 65, 17),
        (160.0, 81, 21),
        # 15.6 samples of its pooled 31.25 Hz: the nearest 16, then odd.
        (250.0, 125, 17),
        (256.0, 129, 17),
        (512.0, 257, 17),
        (1000.0, 501, 17),
    ],
)
def test_eegnet_keeps_its_durations(sfreq, expected, separable):
    """Kernels and poolings last as long at any rate as at the paper's 128 Hz."""
    module = EEGNet(4, 2, int(2 * sfreq), sfreq)
    assert module.temporal_conv.kernel_size == (1, expected)
    assert module.separable_depthwise.kernel_size == (1, separable)
    pool = module.spatial_pool.kernel_size[1]
    pooled_sfreq = sfreq / pool
    assert 24 <= pooled_sfreq <= 40  # 32 Hz in the paper
    separable_seconds = module.separable_depthwise.kernel_size[1] / pooled_sfreq
    assert 0.45 <= separable_seconds <= 0.6
    # Beyond the temporal kernel, the same number of weights as at 128 Hz when
    # the rate is a multiple of it: a faster recording is not a bigger network.
    if sfreq % 128 == 0:
        reference = EEGNet(4, 2, 256, 128.0)
        for name in ("separable_depthwise", "classifier"):
            weights = getattr(module, name).weight
            assert weights.shape == getattr(reference, name).weight.shape


def test_eegnet_pools_short_epochs_less():
    """A 0.2 s epoch at 512 Hz keeps one time sample after both poolings."""
    module = EEGNet(4, 2, 102, 512.0).eval()
    assert module.spatial_pool.kernel_size == (1, 12)
    assert module(torch.randn(3, 4, 102)).shape == (3, 2)


@pytest.mark.parametrize(
    ("n_times", "sfreq", "pool_length", "pool", "separable"),
    [
        # Half a second of the 16 Hz left by a pooling of 8: 8 samples, then odd.
        (512, 128.0, 8, 8, 9),
        # 21.3 samples of the 42.7 Hz left by the pooling of a short epoch.
        (102, 512.0, None, 12, 21),
    ],
)
def test_eegnet_separable_kernel_is_half_a_second_of_the_pooled_signal(
    n_times, sfreq, pool_length, pool, separable
):
    """Whatever sets the first pooling (given, or shortened for short epochs),
    the separable kernel spans half a second of the signal it reads."""
    module = EEGNet(4, 2, n_times, sfreq, pool_length=pool_length)
    assert module.spatial_pool.kernel_size == (1, pool)
    assert module.separable_depthwise.kernel_size == (1, separable)


@pytest.mark.parametrize(("F1", "D"), [(8, 2), (4, 3), (6, 1)])
def test_eegnet_has_f1_times_d_pointwise_filters_by_default(F1, D):
    """F2 = F1 * D as in the paper, for any F1 and D, not for EEGNet-8,2 only."""
    module = EEGNet(4, 2, 128, F1=F1, D=D)
    assert module.spatial_conv.out_channels == F1 * D
    assert module.separable_pointwise.out_channels == F1 * D


def test_eegnet_batch_norms_are_torchs_defaults():
    """As its docstring says: eps 1e-5 and momentum 0.1, not Keras' values."""
    module = EEGNet(4, 2, 128)
    for batch_norm in (module.temporal_bn, module.spatial_bn, module.separable_bn):
        assert (batch_norm.eps, batch_norm.momentum) == (1e-5, 0.1)


def test_eegnet_is_eegnet_8_2():
    module = EEGNet(22, 4, 256, 128.0)
    assert module.temporal_conv.out_channels == 8
    assert module.spatial_conv.out_channels == 16
    assert module.spatial_conv.groups == 8
    assert module.spatial_conv.kernel_size == (22, 1)
    assert module.separable_pointwise.out_channels == 16
    assert isinstance(module.spatial_elu, torch.nn.ELU)
    # The paper's within-subject rate, after both poolings.
    assert module.spatial_dropout.p == module.separable_dropout.p == 0.5
    assert module.classifier.in_features == 16 * (256 // 32)
    # The temporal convolutions keep the number of samples.
    x = torch.randn(2, 1, 22, 256)
    assert module.temporal_conv(x).shape[-1] == 256


def _n_parameters(module):
    return sum(parameter.numel() for parameter in module.parameters())


@pytest.mark.parametrize(
    ("n_channels", "n_times", "n_classes"), [(22, 128, 4), (3, 256, 2)]
)
def test_eegnet_has_the_papers_number_of_parameters(n_channels, n_times, n_classes):
    """Table 2 of the paper for EEGNet-8,2, with its kernels one sample longer
    (65, 17): a bias, or a grouping that mixes filters, changes the count."""
    F1, D, F2 = 8, 2, 16
    expected = (
        F1 * 65  # temporal convolution
        + 2 * F1  # its batch norm
        + F1 * D * n_channels  # depthwise spatial convolution
        + 2 * F1 * D
        + F1 * D * 17  # separable: depthwise temporal,
        + F1 * D * F2  # then pointwise, neither with a bias
        + 2 * F2
        + F2 * (n_times // 32) * n_classes  # dense, with its bias
        + n_classes
    )
    assert _n_parameters(EEGNet(n_channels, n_classes, n_times, 128.0)) == expected


def _layer_inputs(module, names):
    """Record the input of each named layer of ``module`` at its forward passes."""
    seen = {}
    for name in names:
        module.get_submodule(name).register_forward_pre_hook(
            lambda layer, inputs, name=name: seen.__setitem__(name, inputs[0])
        )
    return seen


def test_eegnet_drops_out_whole_pooled_samples_at_its_rate():
    """Dropout follows each pooling, as in the paper: at the rate given, the
    next layer reads pooled samples zeroed (dropped before pooling, few are)."""
    torch.manual_seed(0)
    module = EEGNet(4, 2, 512, 128.0, dropout=0.3).train()
    seen = _layer_inputs(module, ["separable_depthwise", "classifier"])
    module(torch.randn(32, 4, 512))
    for name, values in seen.items():
        assert 0.27 < (values == 0).float().mean() < 0.33, name
        # Sample by sample (Keras' Dropout), not whole maps (SpatialDropout2D).
        assert not (values == 0).all(dim=-1).any(), name


def test_eegnet_applies_elu_after_each_batch_norm():
    """Batch norm, then ELU, as in the paper: the poolings read values of -1
    or more (some negative), whatever the scale of the batch."""
    torch.manual_seed(0)
    module = EEGNet(4, 2, 256, 128.0).train()
    seen = _layer_inputs(module, ["spatial_pool", "separable_pool"])
    module(torch.randn(16, 4, 256) * 5 + 3)
    for name, values in seen.items():
        assert -1 <= values.min() < -0.5, name


def _eegnet_written_out(module, x, pools):
    """EEGNet in evaluation mode as the paper's layers, with torch's functions
    on the module's weights: "same" padded convolutions, the depthwise ones
    grouped per map, batch norm then ELU, average poolings, the dense layer."""
    functional = nn.functional

    def batch_norm(x, layer):
        return functional.batch_norm(
            x,
            layer.running_mean,
            layer.running_var,
            layer.weight,
            layer.bias,
            eps=layer.eps,
        )

    def convolve(x, layer, groups=1):
        padding = (0, layer.weight.shape[-1] // 2)
        return functional.conv2d(x, layer.weight, padding=padding, groups=groups)

    F1, n_maps = module.temporal_conv.weight.shape[0], module.spatial_bn.num_features
    x = convolve((x * module.input_scale)[:, None], module.temporal_conv)
    x = convolve(batch_norm(x, module.temporal_bn), module.spatial_conv, groups=F1)
    x = functional.avg_pool2d(
        functional.elu(batch_norm(x, module.spatial_bn)), pools[0]
    )
    x = convolve(x, module.separable_depthwise, groups=n_maps)
    x = convolve(x, module.separable_pointwise)
    x = functional.elu(batch_norm(x, module.separable_bn))
    x = functional.avg_pool2d(x, pools[1])
    return functional.linear(
        x.flatten(1), module.classifier.weight, module.classifier.bias
    )


def test_eegnet_computes_the_papers_layers_in_order():
    """The separable convolution depthwise then pointwise, average poolings by
    4 and 8 at 128 Hz, ELUs after batch norms: the logits of the paper's
    layers written out (the faster form is checked against the network)."""
    module = _trained_like_eegnet(n_channels=5, n_times=128, sfreq=128.0)
    with torch.no_grad():
        module.separable_bn.bias.normal_()
        module.separable_bn.running_var.uniform_(0.5, 2)
    x = torch.randn(4, 5, 128) / module.input_scale
    with torch.no_grad():
        expected = _eegnet_written_out(module, x, pools=((1, 4), (1, 8)))
        torch.testing.assert_close(module(x), expected, rtol=1e-5, atol=1e-5)


def test_interpretable_cnn_matches_the_paper():
    module = InterpretableCNN(30, 2, 384, 128.0)
    assert module.pointwise_conv.kernel_size == (30, 1)
    assert module.pointwise_conv.out_channels == 16
    assert module.depthwise_conv.out_channels == 32
    assert module.depthwise_conv.groups == 16
    assert module.depthwise_conv.kernel_size == (1, 64)
    assert module.batch_norm.track_running_stats


def test_interpretable_cnn_has_the_papers_number_of_parameters():
    """N1 pointwise filters with a bias, d depthwise temporal kernels of each
    map's own (with a bias), batch norm and the dense layer."""
    n_channels, n_classes, N1, d = 30, 2, 16, 2
    expected = (
        (n_channels + 1) * N1
        + (64 + 1) * N1 * d
        + 2 * N1 * d
        + (N1 * d + 1) * n_classes
    )
    module = InterpretableCNN(n_channels, n_classes, 384, 128.0)
    assert _n_parameters(module) == expected


def test_interpretable_cnn_computes_the_papers_layers_in_order():
    """Pointwise and depthwise convolutions, ReLU, batch norm, the mean over
    time and the dense layer; batch norm's statistics are of every time sample."""
    torch.manual_seed(0)
    module = InterpretableCNN(4, 3, 100, 100.0, input_scale=2.0)
    batch_norm = module.batch_norm
    with torch.no_grad():
        batch_norm.bias.normal_()
        batch_norm.running_mean.normal_()
        batch_norm.running_var.uniform_(0.5, 2)
    x = torch.randn(5, 4, 100)
    with torch.no_grad():
        maps = module.depthwise_conv(module.pointwise_conv(2.0 * x[:, None])).relu()
        normalized = nn.functional.batch_norm(
            maps,
            batch_norm.running_mean,
            batch_norm.running_var,
            batch_norm.weight,
            batch_norm.bias,
            eps=batch_norm.eps,
        )
        expected = module.classifier(normalized.mean(dim=(2, 3)))
        torch.testing.assert_close(module.eval()(x), expected)
        batch_norm.reset_running_stats()
        module.train()(x)
    momentum = batch_norm.momentum
    expected_var = (1 - momentum) + momentum * maps.var(dim=(0, 2, 3))
    torch.testing.assert_close(batch_norm.running_var, expected_var)


# One factor, or one per channel (channels in several units: V, T, T/m).
CHANNEL_SCALES = [1e6, [1e6, 1e13, 1e11]]


@pytest.mark.parametrize("input_scale", CHANNEL_SCALES)
def test_input_scale_is_applied_first(input_scale):
    torch.manual_seed(0)
    module = InterpretableCNN(3, 2, 100, 100.0, input_scale=input_scale).eval()
    reference = InterpretableCNN(3, 2, 100, 100.0).eval()
    reference.load_state_dict(
        {k: v for k, v in module.state_dict().items() if k != "input_scale"},
        strict=False,
    )
    x = torch.randn(4, 3, 100)
    factors = torch.tensor(input_scale, dtype=torch.float64).reshape(-1, 1)
    torch.testing.assert_close(module((x / factors).float()), reference(x))


@pytest.mark.parametrize("input_scale", CHANNEL_SCALES)
def test_scaled_input_scales_the_data_before_the_users_network(input_scale):
    """A user's network behind the estimator's scaling must read the data in
    the scaled unit, each channel times its factor: read in volts, it trained
    on inputs near 1e-6 and its maps were not of the scaled data."""
    network = nn.Linear(5, 2)
    x = 1e-6 * torch.randn(4, 3, 5)
    factors = torch.tensor(input_scale, dtype=torch.float32).reshape(-1, 1)
    with torch.no_grad():
        torch.testing.assert_close(
            ScaledInput(network, input_scale)(x), network(x * factors)
        )


def test_input_scale_needs_one_factor_per_channel():
    with pytest.raises(ValueError, match="one factor per channel"):
        EEGNet(3, 2, 64, input_scale=[1.0, 2.0])
    # As many rows as channels, but not one factor each: the forward pass
    # failed to broadcast the six factors over three channels.
    with pytest.raises(ValueError, match=r"a 1-D array of 3\), got shape \(3, 2\)"):
        EEGNet(3, 2, 64, input_scale=np.ones((3, 2)))


@pytest.mark.parametrize(
    ("input_scale", "error", "match"),
    [
        # A network blind to its input, or of NaN logits, without a word.
        (0.0, ValueError, "input_scale must be positive and finite, got 0.0"),
        ([1.0, float("nan"), 1.0], ValueError, "input_scale must be positive"),
        # Infinite logits, or NaN ones where a weight is zero.
        (float("inf"), ValueError, "input_scale must be positive and finite"),
        # One channel's: infinite logits, the others' finite.
        ([1.0, float("inf"), 1.0], ValueError, "input_scale must be positive and"),
        (-1e6, ValueError, "input_scale must be positive"),
        # torch's "new(): invalid data type 'str'".
        ("1e6", TypeError, "input_scale must be a number or one factor per channel"),
    ],
)
@pytest.mark.parametrize("build", ["EEGNet", "ScaledInput"])
def test_input_scale_is_refused_out_of_range(input_scale, error, match, build):
    with pytest.raises(error, match=match):
        if build == "EEGNet":
            EEGNet(3, 2, 64, input_scale=input_scale)
        else:
            ScaledInput(nn.Linear(64, 2), input_scale)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        # Kept as an attribute, it failed at the first forward pass.
        (lambda: ScaledInput("EEGNet", 1.0), "module must be a torch.nn.Module"),
        # "'str' object has no attribute 'training'".
        (lambda: SpatialFirstEEGNet("EEGNet"), "network must be an EEGNet, got str"),
    ],
)
def test_wrappers_refuse_what_is_not_a_network(build, match):
    with pytest.raises(TypeError, match=match):
        build()


def test_max_norm_is_enforced():
    module = EEGNet(4, 2, 64)
    with torch.no_grad():
        module.spatial_conv.weight.mul_(100)
        module.classifier.weight.mul_(100)
    module.apply_max_norm()
    spatial = module.spatial_conv.weight.flatten(1).norm(dim=1)
    dense = module.classifier.weight.norm(dim=1)
    # Each unit's weights at its bound (all were beyond it): 1 and 0.25.
    torch.testing.assert_close(spatial, torch.ones_like(spatial))
    torch.testing.assert_close(dense, torch.full_like(dense, 0.25))


def test_max_norm_of_pruned_and_parametrized_weights():
    """Pruned or parametrized, 'spatial_conv.weight' is no parameter of that name:
    a partial_fit after pruning failed with a bare KeyError."""
    module = EEGNet(4, 2, 64)
    prune.l1_unstructured(module.spatial_conv, "weight", amount=0.5)
    with torch.no_grad():
        module.spatial_conv.weight_orig.mul_(100)
    module.apply_max_norm()
    # The trained values bound the pruned weight, which keeps its zeros.
    norms = module.spatial_conv.weight.flatten(1).norm(dim=1)
    assert norms.max() <= 1.0 + 1e-5
    assert (
        module.spatial_conv.weight == 0
    ).sum() >= module.spatial_conv.weight.numel() // 2
    parametrized = EEGNet(4, 2, 64)
    parametrize.register_parametrization(
        parametrized.classifier, "weight", torch.nn.Identity()
    )
    with pytest.raises(ValueError, match="'classifier.weight' .* computes it"):
        parametrized.apply_max_norm()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_channels=4, n_classes=2, n_times=16), "n_times >= 32"),
        (
            dict(n_channels=4, n_classes=2, n_times=100, sfreq=512.0, pool_length=16),
            "pools time by 128 at 512 Hz and needs n_times >= 128",
        ),
        (dict(n_channels=0, n_classes=2, n_times=64), "n_channels"),
        (dict(n_channels=4, n_classes=1, n_times=64), "n_classes"),
        (dict(n_channels=4, n_classes=2, n_times=64, sfreq=-1.0), "sfreq"),
        # Kernels of one sample and the pooling of 128 Hz, without a word.
        (dict(n_channels=4, n_classes=2, n_times=64, sfreq=0.0), "sfreq must be pos"),
        # "cannot convert float infinity to integer"
        (dict(n_channels=4, n_classes=2, n_times=64, sfreq=float("inf")), "finite"),
    ],
)
def test_eegnet_rejects_bad_shapes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EEGNet(**kwargs)


@pytest.mark.parametrize("model_class", [EEGNet, InterpretableCNN])
@pytest.mark.parametrize(
    ("setting", "value"),
    [("n_channels", "64"), ("n_times", "x"), ("n_classes", 2.5), ("sfreq", "160")],
)
def test_models_name_a_size_of_the_wrong_type(model_class, setting, value):
    """A size that is not a number names itself (was int()'s "invalid literal")."""
    kwargs = dict(n_channels=4, n_classes=2, n_times=128, sfreq=128.0)
    kwargs[setting] = value
    with pytest.raises(TypeError, match=f"{setting} must be an instance of"):
        model_class(**kwargs)


@pytest.mark.parametrize(
    ("model_class", "setting", "value", "error", "match"),
    [
        # "float division by zero"
        (EEGNet, "pool_length", 0, ValueError, "pool_length must be a positive"),
        # "groups must be a positive integer", naming no setting
        (EEGNet, "F1", 0, ValueError, "F1 must be a positive"),
        (EEGNet, "D", 0, ValueError, "D must be a positive"),
        (EEGNet, "F2", 0, ValueError, "F2 must be a positive"),
        # taken for the default without a word
        (EEGNet, "kernel_length", 0, ValueError, "kernel_length must be a positive"),
        # "must be odd", not saying which kernel
        (
            EEGNet,
            "separable_kernel_length",
            8,
            ValueError,
            "separable_kernel_length must be odd",
        ),
        # torch's "empty(): argument 'size' failed to unpack"
        (
            EEGNet,
            "kernel_length",
            33.0,
            TypeError,
            "kernel_length must be an instance of int",
        ),
        (InterpretableCNN, "n_spatial", 0, ValueError, "n_spatial must be a positive"),
        (InterpretableCNN, "depth_multiplier", 0, ValueError, "depth_multiplier must"),
        (InterpretableCNN, "kernel_length", 0, ValueError, "kernel_length must be a"),
    ],
)
def test_architecture_sizes_are_checked_by_name(
    model_class, setting, value, error, match
):
    with pytest.raises(error, match=match):
        model_class(4, 2, 256, 128.0, **{setting: value})


def test_short_epochs_are_told_what_to_change():
    """The refusals named no setting: a CroppedClassifier's window_length, say."""
    with pytest.raises(ValueError, match="window_length.*module__kernel_length"):
        InterpretableCNN(1, 2, 50, 128.0)
    with pytest.raises(ValueError, match="window_length.*module__pool_length"):
        EEGNet(4, 2, 26, 128.0)
    # What callers read (a spectrum's bins): the fewest samples, and the setting.
    for build, needed, shorter in (
        (lambda: InterpretableCNN(1, 2, 50, 128.0), 64, "kernel_length"),
        (lambda: EEGNet(4, 2, 26, 128.0), 32, "pool_length"),
    ):
        with pytest.raises(TooShortError) as error:
            build()
        assert (error.value.needed, error.value.shorter) == (needed, shorter)
    # An epoch as long as the kernel gives it one output sample, and one of
    # 8 times the first pooling one sample after both: enough.
    module = InterpretableCNN(1, 2, 64, 128.0).eval()
    assert module(torch.randn(2, 1, 64)).shape == (2, 2)
    module = EEGNet(4, 2, 32, 128.0).eval()
    assert module.classifier.in_features == 16
    assert module(torch.randn(2, 4, 32)).shape == (2, 2)


@pytest.mark.parametrize("model_class", MODELS)
def test_kernels_shorter_than_a_sample_last_one_sample(model_class):
    """Below 2 Hz (spectra read at few bins per second) half a second is less
    than a sample: the kernels keep one, which the network can run."""
    module = model_class(4, 2, 64, 1.0).eval()
    conv = getattr(module, "temporal_conv", None) or module.depthwise_conv
    assert conv.kernel_size == (1, 1)
    assert module(torch.randn(2, 4, 64)).shape == (2, 2)


@pytest.mark.parametrize("model_class", MODELS)
def test_wrong_input_shape_is_refused(model_class):
    module = model_class(4, 2, 128)
    # And braindecode's (batch, n_channels, n_times, 1), which failed in torch's
    # words deeper in.
    for shape in ((2, 5, 128), (2, 4, 127), (2, 4, 128, 1)):
        # InterpretableCNN's global pooling took epochs of any length.
        with pytest.raises(ValueError, match=r"input of shape \(batch, 4, 128\)"):
            module(torch.randn(*shape))
    # MNE's float64, and NumPy arrays, failed in torch's words.
    with pytest.raises(TypeError, match="computes in torch.float32, got input of"):
        module(torch.randn(2, 4, 128, dtype=torch.float64))
    with pytest.raises(TypeError, match="takes a torch.Tensor, got ndarray"):
        module(np.zeros((2, 4, 128), np.float32))
    assert module.double()(torch.randn(2, 4, 128, dtype=torch.float64)).shape == (2, 2)


def _trained_like_eegnet(n_channels=6, n_times=160, sfreq=160.0, D=2, scale=1e5):
    """An EEGNet with non-trivial batch norm statistics, scale and affine terms."""
    torch.manual_seed(0)
    module = EEGNet(n_channels, 3, n_times, sfreq, D=D, input_scale=scale)
    with torch.no_grad():
        for batch_norm in (module.temporal_bn, module.spatial_bn):
            batch_norm.weight.uniform_(0.5, 2)
            batch_norm.bias.normal_()
            batch_norm.running_mean.normal_()
            batch_norm.running_var.uniform_(0.5, 2)
    return module.eval()


@pytest.mark.parametrize(
    "D, scale", [(1, 1e5), (2, 1e5), (3, 1e5), (2, [1e5] * 3 + [1e12] * 3)]
)
def test_spatial_first_eegnet_is_the_same_function(D, scale):
    module = _trained_like_eegnet(D=D, scale=scale)
    graph = module.inference_graph()
    assert isinstance(graph, SpatialFirstEEGNet)
    x = (torch.randn(4, 6, 160) / module.input_scale).requires_grad_()
    logits = module(x)
    torch.testing.assert_close(graph(x), logits, rtol=1e-5, atol=1e-5)
    # Same input gradient, and the same values reach the nonlinearities.
    seen = []
    hook = module.spatial_elu.register_forward_hook(
        lambda layer, inputs, output: seen.append(inputs[0])
    )
    target = torch.tensor([0, 1, 2, 0])
    gradients = [
        torch.autograd.grad(net(x).gather(1, target[:, None]).sum(), x)[0]
        for net in (module, graph)
    ]
    hook.remove()
    torch.testing.assert_close(seen[1], seen[0], rtol=1e-5, atol=1e-5)
    scale = gradients[0].abs().max()
    torch.testing.assert_close(gradients[1] / scale, gradients[0] / scale)
    # Later layers are the network's own; the folded ones are not trained.
    assert graph.classifier is module.classifier
    assert not any(p.requires_grad for p in graph.temporal_filter.parameters())


def test_spatial_first_eegnet_is_for_evaluation_mode_only():
    module = _trained_like_eegnet().train()
    assert module.inference_graph() is module
    with pytest.raises(ValueError, match="evaluation mode"):
        SpatialFirstEEGNet(module)
    # It says so, as the network: wrappers take the mode of what they wrap.
    assert not SpatialFirstEEGNet(module.eval()).training
    # Building it draws no random numbers (nothing is initialized at random).
    module.eval()
    state = torch.get_rng_state()
    module.inference_graph()
    assert torch.equal(state, torch.get_rng_state())
    with pytest.raises(ValueError, match="expects input of shape"):
        module.inference_graph()(torch.randn(2, 5, 160))


def test_building_the_spatial_first_eegnet_leaves_the_networks_modes():
    """It shares the network's later layers: a dropout left in training mode
    (Monte Carlo dropout) was switched off in the network when it was built."""
    module = _trained_like_eegnet()
    module.spatial_dropout.train()
    graph = SpatialFirstEEGNet(module)
    assert module.spatial_dropout.training and graph.spatial_dropout.training
    assert not (graph.training or graph.temporal_filter.training)
    assert module.inference_graph() is module  # two draws of the dropout differ
    assert module.spatial_dropout.training


@pytest.mark.parametrize("name", ["temporal_bn", "spatial_bn"])
def test_eegnet_with_a_batch_norm_left_training_is_its_own_inference_graph(name):
    """A batch norm left in training mode normalizes by the batch, which the
    faster module, folding its running statistics, does not: the probe that
    found them apart moved those statistics, asked only for a module."""
    module = _trained_like_eegnet()
    module.get_submodule(name).train()
    state = copy.deepcopy(module.state_dict())
    assert module.inference_graph() is module
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("layer", ["", "temporal_conv", "spatial_bn"])
@pytest.mark.parametrize(
    "register",
    [
        lambda layer: layer.register_forward_hook(lambda m, i, out: out * 0.5),
        lambda layer: layer.register_forward_pre_hook(lambda m, i: (i[0] * 0.5,)),
        # An offset, which a probe not at the scale of the data missed.
        lambda layer: layer.register_forward_pre_hook(lambda m, i: (i[0] + 1.0,)),
        lambda layer: layer.register_full_backward_hook(lambda m, gi, go: None),
        # Changing nothing (recording activations), which no probe sees.
        lambda layer: layer.register_forward_hook(lambda m, i, out: None),
    ],
    ids=["forward", "forward_pre", "forward_pre_offset", "backward", "observing"],
)
def test_eegnet_running_hooks_on_its_first_block_is_its_own_inference_graph(
    layer, register
):
    """The faster module replaces the first block's layers: their hooks (an
    ablation's mask) did not run, and saliency missed the network's gradient
    by more than its scale."""
    module = _trained_like_eegnet()
    handle = register(module.get_submodule(layer))
    assert module.inference_graph() is module
    handle.remove()
    assert isinstance(module.inference_graph(), SpatialFirstEEGNet)
    # Hooks of every module run on the faster module's layers too, otherwise.
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda m, i, out: None
    )
    try:
        assert module.inference_graph() is module
    finally:
        handle.remove()
    # A later layer is the network's own in both: its hooks run either way.
    module.classifier.register_forward_hook(lambda m, i, out: out * 0.5)
    assert isinstance(module.inference_graph(), SpatialFirstEEGNet)


class _MaskedChannels(EEGNet):
    """Reads every other channel: a forward of its own."""

    def forward(self, x):  # noqa: D102
        mask = torch.arange(x.shape[1]) % 2 == 0
        return super().forward(x * mask[:, None])


class _HalfScaled(EEGNet):
    """Scales its input by half the factor: a method the forward calls."""

    def _scale_input(self, x):
        return super()._scale_input(x) / 2


def _mask_spatial_filters(module):
    conv = module.spatial_conv
    conv.forward = lambda x: type(conv).forward(conv, x) * 0.5


def _replace(name, layer):
    return lambda module: setattr(module, name, layer)


@pytest.mark.parametrize(
    "network, change",
    [
        (_MaskedChannels, None),
        (_HalfScaled, None),
        (EEGNet, _mask_spatial_filters),
        (EEGNet, _replace("temporal_conv", nn.Conv2d(1, 4, (1, 65), padding=(0, 32)))),
        (
            EEGNet,
            _replace(
                "temporal_conv",
                nn.Conv2d(1, 4, (1, 65), padding=(0, 32), padding_mode="circular"),
            ),
        ),
        (EEGNet, _replace("temporal_bn", nn.Identity())),
        (EEGNet, _replace("spatial_bn", nn.GroupNorm(4, 8))),
        (EEGNet, _replace("spatial_bn", nn.BatchNorm2d(8, track_running_stats=False))),
    ],
    ids=[
        "subclass forward",
        "subclass scaling",
        "instance forward",
        "bias",
        "circular padding",
        "identity",
        "group norm",
        "batch statistics",
    ],
)
def test_eegnet_computing_otherwise_than_its_layers_is_its_own_inference_graph(
    network, change
):
    """The faster module, built from the first block's weights, gave another
    function (saliency off by 0.3 to 1 of its scale) or crashed on a batch norm
    put out ("'Identity' object has no attribute 'running_var'")."""
    torch.manual_seed(0)
    module = network(6, 3, 160, 128.0, F1=4, D=2, input_scale=1e5)
    if change is not None:
        change(module)
    module.eval()
    graph = module.inference_graph()
    assert graph is module
    assert isinstance(
        EEGNet(6, 3, 160, 128.0).eval().inference_graph(), SpatialFirstEEGNet
    )


def test_eegnet_with_pruned_or_parametrized_weights_keeps_its_faster_form():
    """Pruning (a pre-hook masking the weight) and parametrized weights read
    as the weight: the faster module stays exact, and was given up for them
    (integrated gradients nine times slower)."""

    class Halved(nn.Module):
        def forward(self, weight):  # noqa: D102
            return weight / 2

    for change in (
        lambda module: prune.l1_unstructured(module.spatial_conv, "weight", 0.3),
        lambda module: parametrize.register_parametrization(
            module.temporal_conv, "weight", Halved()
        ),
    ):
        module = _trained_like_eegnet()
        change(module)
        graph = module.inference_graph()
        assert isinstance(graph, SpatialFirstEEGNet)
        x = torch.randn(4, 6, 160) / module.input_scale
        torch.testing.assert_close(graph(x), module(x), rtol=1e-5, atol=1e-5)


def test_interpretable_cnn_is_its_own_inference_graph():
    module = InterpretableCNN(4, 2, 128).eval()
    assert module.inference_graph() is module


def _layers_in_turn(module, x):
    """EEGNet's forward as written: every layer of the first block called."""
    x = module._scale_input(x).unsqueeze(1)
    x = module.spatial_conv(module.temporal_bn(module.temporal_conv(x)))
    return _after_spatial_filters(module, module.spatial_bn(x))


def _training_step(module, forward, x, y):
    torch.manual_seed(1)  # the same dropout masks
    logits = forward(module, x)
    loss = nn.functional.cross_entropy(logits, y)
    loss.backward()
    gradients = {name: p.grad.clone() for name, p in module.named_parameters()}
    buffers = {name: b.clone() for name, b in module.named_buffers()}
    return logits.detach(), loss.detach(), gradients, buffers


@pytest.mark.parametrize(
    "D, momentum, n_channels", [(2, 0.1, 6), (1, None, 6), (3, 0.3, 1)]
)
def test_eegnet_trains_spatial_first_as_its_layers_do(D, momentum, n_channels):
    """A training step through the spatial-first first block gives the logits,
    loss, gradients and running statistics of the layers called in turn."""
    module = _trained_like_eegnet(n_channels=n_channels, D=D).train()
    module.temporal_bn.momentum = module.spatial_bn.momentum = momentum
    module.temporal_bn.num_batches_tracked.fill_(3)  # momentum=None averages
    # An offset, so that the batch mean matters; the time shifted windows
    # make the padding matter.
    x = (torch.randn(5, n_channels, 160) + 0.3) / module.input_scale
    y = torch.tensor([0, 1, 2, 0, 1])
    assert module._trains_spatial_first(x)
    # Not on other devices (unmeasured, unchecked there): a meta tensor's.
    assert not module._trains_spatial_first(x.to("meta"))
    plain = _training_step(copy.deepcopy(module), _layers_in_turn, x, y)
    fast = _training_step(module, EEGNet.forward, x, y)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast[1], plain[1], rtol=1e-5, atol=1e-6)
    # To float32 rounding of the largest gradient: some are next to nothing
    # (temporal_bn's, which spatial_bn takes out but for its eps; the spatial
    # weight of a single channel), and equal only to that rounding.
    scale = max(gradient.abs().max() for gradient in plain[2].values())
    for name, gradient in plain[2].items():
        torch.testing.assert_close(
            fast[2][name], gradient, rtol=0, atol=1e-5 * scale, msg=name
        )
    assert plain[3]["temporal_bn.num_batches_tracked"] == 4
    for name, buffer in plain[3].items():
        torch.testing.assert_close(fast[3][name], buffer, rtol=1e-5, atol=1e-6)


def test_eegnet_trains_with_a_frozen_temporal_batch_norm_as_its_layers_do():
    """Fine-tuning with the temporal batch norm frozen (in evaluation mode): it
    normalizes by its running statistics and keeps them. The spatial-first
    path normalized by the batch and moved them, and spatial_bn's with them."""
    module = _trained_like_eegnet().train()
    module.temporal_bn.eval()
    x = (torch.randn(5, 6, 160) + 0.3) / module.input_scale
    y = torch.tensor([0, 1, 2, 0, 1])
    frozen = {
        name: buffer.clone() for name, buffer in module.temporal_bn.named_buffers()
    }
    plain = _training_step(copy.deepcopy(module), _layers_in_turn, x, y)
    fast = _training_step(module, EEGNet.forward, x, y)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-5, atol=1e-5)
    for name, buffer in plain[3].items():
        torch.testing.assert_close(fast[3][name], buffer, msg=name)
    for name, buffer in frozen.items():
        torch.testing.assert_close(fast[3][f"temporal_bn.{name}"], buffer, msg=name)


# 40 + 9 - 1 samples fit in the next power of two of 40; the other sizes do not
# (60 + 8 > 64, 30 + 4 > 32, 240 + 32 > 256): an FFT that short wraps lags around.
# 57 + 9 - 1 = 65 misses 64 by one sample: the longest lag of the last one wraps.
@pytest.mark.parametrize(
    ("n_samples", "kernel_length"), [(40, 9), (60, 9), (30, 5), (240, 33), (57, 9)]
)
def test_window_moments_are_those_of_the_convolution(n_samples, kernel_length):
    padded = torch.randn(7, n_samples, dtype=torch.float64)
    kernel = torch.randn(kernel_length, dtype=torch.float64)
    sums, products = _window_moments(padded, len(kernel))
    filtered = nn.functional.conv1d(padded[:, None], kernel[None, None])
    torch.testing.assert_close(kernel @ sums, filtered.sum())
    torch.testing.assert_close(kernel @ products @ kernel, (filtered**2).sum())
    windows = padded.unfold(1, len(kernel), 1).reshape(-1, len(kernel))
    torch.testing.assert_close(products, windows.T @ windows)


def test_by_diagonal_gives_each_diagonal_as_a_column_zero_outside():
    """Element (row, lag) is matrix[row, row + lag], and zero where that is
    outside the matrix: worked by hand on a full and a smaller matrix."""
    matrix = torch.arange(1.0, 10.0).reshape(3, 3)
    expected = torch.tensor([[1.0, 2.0, 3.0], [5.0, 6.0, 0.0], [9.0, 0.0, 0.0]])
    torch.testing.assert_close(_by_diagonal(matrix, 3), expected)
    expected = torch.tensor([[1.0, 2.0, 0.0], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(_by_diagonal(matrix[:2, :2], 3), expected)


@pytest.fixture
def spatial_first_calls(monkeypatch):
    """The batches that went through the training-mode spatial-first path."""
    calls = []
    original = eegnet._spatial_first_in_training

    def spy(net, x):
        calls.append(x)
        return original(net, x)

    monkeypatch.setattr(eegnet, "_spatial_first_in_training", spy)
    return calls


def _with_dense_sized_at_first_call(name, layer):
    """``layer`` in place of ``name``, and a dense layer sized at its first call."""

    def change(module):
        setattr(module, name, layer)
        module.classifier = nn.LazyLinear(module.classifier.out_features)

    return change


@pytest.mark.parametrize(
    "change",
    [
        lambda module: prune.l1_unstructured(module.spatial_conv, "weight", 0.3),
        lambda module: parametrize.register_parametrization(
            module.temporal_conv, "weight", nn.Identity()
        ),
        lambda module: module.temporal_bn.register_forward_pre_hook(lambda m, i: None),
        lambda module: module.spatial_conv.register_full_backward_hook(
            lambda m, gi, go: None
        ),
        lambda module: setattr(module.temporal_bn, "track_running_stats", False),
        _replace("temporal_conv", nn.Conv2d(1, 4, (1, 65), padding=(0, 32))),
        _replace(
            "temporal_conv",
            nn.Conv2d(
                1, 4, (1, 65), padding=(0, 32), padding_mode="circular", bias=False
            ),
        ),
        lambda module: setattr(
            module,
            "temporal_conv",
            nn.Conv2d(1, 4, (1, 33), padding=(0, 32), dilation=(1, 2), bias=False),
        ),
        # Spatial filters reading every temporal filter's maps (not depthwise).
        lambda module: setattr(
            module, "spatial_conv", nn.Conv2d(4, 8, (6, 1), bias=False)
        ),
        lambda module: setattr(module, "forward", lambda x: EEGNet.forward(module, x)),
        _with_dense_sized_at_first_call(
            "spatial_conv",
            nn.Conv2d(4, 8, (6, 1), stride=(1, 2), groups=4, bias=False),
        ),
        # Filters of each channel apart, not across the channels.
        _with_dense_sized_at_first_call(
            "spatial_conv", nn.Conv2d(4, 8, 1, groups=4, bias=False)
        ),
        # Padded across the channels too: spatial filters at three offsets.
        _with_dense_sized_at_first_call(
            "temporal_conv", nn.Conv2d(1, 4, (1, 65), padding=(1, 32), bias=False)
        ),
    ],
    ids=[
        "pruned",
        "parametrized",
        "pre-hook",
        "backward hook",
        "no running statistics",
        "bias",
        "circular padding",
        "dilated",
        "mixing temporal filters",
        "instance forward",
        "strided",
        "per channel",
        "padded across channels",
    ],
)
def test_eegnet_trains_with_its_layers_where_spatial_first_may_differ(
    change, spatial_first_calls
):
    """The spatial-first path calls none of the first block's layers and is
    checked on no probe: wherever they might compute otherwise, they run."""
    torch.manual_seed(0)
    x = torch.randn(4, 6, 160) / 1e5
    module = EEGNet(6, 3, 160, 128.0, F1=4, D=2, input_scale=1e5)
    module(x)
    assert len(spatial_first_calls) == 1
    # An input that needs its gradient: the batch statistics depend on it.
    module(x.clone().requires_grad_())
    module.eval()(x)
    assert len(spatial_first_calls) == 1
    change(module)
    module.train()(x)
    assert len(spatial_first_calls) == 1
