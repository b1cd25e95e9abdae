"""Guided backprop and deconvolution: the rule at every ReLU and ELU, captum on ReLU."""

import warnings

import mne
import numpy as np
import pytest
import torch
from captum.attr import Deconvolution as CaptumDeconvolution
from captum.attr import GuidedBackprop as CaptumGuidedBackprop
from pretend_cuda import pretend_cuda
from torch import nn

import mne_xai
from mne_xai import explain
from mne_xai.attribution._registry import get_method
from mne_xai.attribution.guided import Deconvolution
from mne_xai.models import EEGNet

N_CHANNELS, N_TIMES = 3, 16
TARGET = torch.tensor([0, 1, 1, 0, 1])
CAPTUM = {"guided_backprop": CaptumGuidedBackprop, "deconvolution": CaptumDeconvolution}
pytestmark = pytest.mark.filterwarnings("ignore:Setting backward hooks on ReLU")


def _data(n_epochs=5):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(n_epochs, N_CHANNELS, N_TIMES, generator=generator).double()


def _two_layer(activation):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(N_CHANNELS * N_TIMES, 10),
        activation,
        nn.Linear(10, 2),
    ).double()


def _relu_convnet():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Unflatten(1, (1, N_CHANNELS)),
        nn.Conv2d(1, 4, (1, 5), padding=(0, 2)),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d((1, 2)),
        nn.Conv2d(4, 6, (N_CHANNELS, 1)),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * N_TIMES // 2, 2),
    ).double()


class _Volumes(nn.Module):
    """A ReLU network of 3-D layers on (channel pair, channel, time), as
    braindecode's EEGSym builds them, picking its hemisphere with index_select,
    upsampling in time as USleep does, and pooling maxima adaptively."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(1, 4, (1, 1, 5), padding=(0, 0, 2))
        self.batch_norm = nn.BatchNorm3d(4)
        self.relu = nn.ReLU()
        self.max_pool = nn.MaxPool3d((1, 1, 2))
        self.transposed = nn.ConvTranspose3d(4, 4, (1, 1, 2), stride=(1, 1, 2))
        self.average = nn.AvgPool3d((1, 1, 2))
        self.upsample = nn.Upsample(scale_factor=(1, 1, 2), mode="trilinear")
        self.last_relu = nn.ReLU()
        self.adaptive = nn.AdaptiveMaxPool3d((2, 2, N_TIMES // 2))
        self.classifier = nn.Linear(4 * 2 * 2 * (N_TIMES // 2), 2)
        self.register_buffer("left", torch.tensor([0, 1]))
        self.double()

    def forward(self, x):  # noqa: D102
        x = x.index_select(1, self.left)[:, None, None]  # (batch, 1, 1, 2, time)
        x = self.max_pool(
            self.relu(self.batch_norm(self.conv(x.expand(-1, -1, 2, -1, -1))))
        )
        x = self.last_relu(self.upsample(self.average(self.transposed(x))))
        x = self.adaptive(x)
        return self.classifier(x.flatten(1))


def _attribute(method, module, data, target=TARGET):
    return get_method(method)(module.eval()).attribute(data, target)


def _gradient(module, data, target=TARGET):
    inputs = data.clone().requires_grad_()
    logits = module.eval()(inputs).gather(1, target[:, None]).sum()
    return torch.autograd.grad(logits, inputs)[0]


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
@pytest.mark.parametrize(
    "network",
    [lambda: _two_layer(nn.ReLU()), _relu_convnet, _Volumes],
    ids=["mlp", "convnet", "volumes"],
)
def test_agrees_with_captum_on_relu_networks(method, network):
    """On the linear layers of three dimensions too (EEGSym's Conv3d),
    upsampling (USleep's) and index_select, which both methods refused by
    name; their rule is the gradient, as of any linear layer."""
    module, data = network().eval(), _data()
    ours = _attribute(method, module, data)
    theirs = CAPTUM[method](module).attribute(
        data.clone().requires_grad_(), target=TARGET
    )
    np.testing.assert_allclose(ours, theirs.detach(), rtol=1e-10, atol=1e-12)
    assert not torch.allclose(ours, _gradient(module, data))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_rule_at_elu(method):
    """At an ELU, guided backprop keeps the positive signal of active units and
    deconvolution the positive signal of every unit; ELU's slope plays no part."""
    module, data = _two_layer(nn.ELU()).eval(), _data()
    first, top = module[1], module[3]
    signal = top.weight[TARGET].clamp(min=0)
    if method == "guided_backprop":
        signal = signal * (first(data.flatten(1)) > 0)
    expected = (signal @ first.weight).reshape(data.shape)
    np.testing.assert_allclose(
        _attribute(method, module, data), expected.detach(), rtol=1e-10
    )


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_in_place_rectifiers_get_the_rule(method):
    """An in-place ReLU's input is its output: the deconvnet became guided backprop."""
    module = _relu_convnet()
    expected = _attribute(method, module, _data())
    for layer in module.modules():
        if isinstance(layer, nn.ReLU):
            layer.inplace = True
    torch.testing.assert_close(_attribute(method, module, _data()), expected)
    # The rule's run leaves the network as it was given.
    assert all(layer.inplace for layer in module if isinstance(layer, nn.ReLU))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_in_place_rectifiers_on_logits_of_zero(method):
    """Epochs of zeros through layers without biases give logits of exactly
    zero, in place and out of place alike: the check that the in-place layers
    change nothing read again takes equal logits as agreeing, zeros too."""
    module = _two_layer(nn.ReLU())
    with torch.no_grad():
        for layer in module[1::2]:
            layer.bias.zero_()
    zeros = torch.zeros_like(_data())
    expected = _attribute(method, module, zeros)
    module[2].inplace = True
    torch.testing.assert_close(_attribute(method, module, zeros), expected)


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_eegnet_maps_differ_from_gradient_where_captum_does_not(method):
    """captum hooks only ReLU and returns EEGNet's plain gradient; we do not."""
    torch.manual_seed(0)
    module = EEGNet(4, 2, 64, 64.0, F1=4, D=2).double().eval()
    data = torch.randn(3, 4, 64, dtype=torch.float64)
    target = TARGET[:3]
    gradient = _gradient(module, data, target)
    captum = CAPTUM[method](module).attribute(
        data.clone().requires_grad_(), target=target
    )
    np.testing.assert_allclose(captum.detach(), gradient, rtol=1e-10)
    ours = _attribute(method, module, data, target)
    assert not torch.allclose(ours, gradient, rtol=0.1)


class _Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(N_TIMES, 4, batch_first=True)
        self.classifier = nn.Linear(4, 2)

    def forward(self, x):
        return self.classifier(self.lstm(x)[0][:, -1])


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
@pytest.mark.parametrize(
    "module, match",
    [
        (_two_layer(nn.Sigmoid()), "no rule for layer '2' .Sigmoid"),
        (_two_layer(nn.Tanh()), "no rule for layer '2' .Tanh"),
        (nn.Sequential(*_two_layer(nn.ReLU()), nn.LogSoftmax(dim=1)), "LogSoftmax"),
        (_Recurrent().double(), "'lstm' .LSTM"),
    ],
    ids=["sigmoid", "tanh", "log_softmax", "lstm"],
)
def test_unsupported_nonlinearity_is_refused(method, module, match):
    with pytest.raises(ValueError, match=match):
        _attribute(method, module, _data())


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_logits_of_one_axis_are_refused_with_the_shape_expected(method):
    """Logits flattened to one axis have no column of classes to take the
    target's from: the method says which shape it needs, not torch's "Dimension
    out of range"."""
    module = nn.Sequential(*_two_layer(nn.ReLU()), nn.Flatten(0))
    with pytest.raises(
        ValueError, match=r"logits of shape \(batch, n_classes\), got \(10,\)"
    ):
        _attribute(method, module, _data())


def test_a_refusal_names_each_family_of_layers_once():
    """The layers a method handles are named by family: Conv1d and Conv2d are
    "any convolution", not listed beside it."""
    with pytest.raises(ValueError, match="no rule for layer") as refusal:
        _attribute("guided_backprop", _two_layer(nn.Tanh()), _data())
    handled = str(refusal.value).split("it handles ")[1].split(". ")[0]
    assert "any convolution" in handled and "any batch norm" in handled
    assert "Conv1d" not in handled and "BatchNorm1d" not in handled


@pytest.mark.parametrize(
    "activation", [nn.LeakyReLU(-1.0), nn.ELU(alpha=-0.5)], ids=["abs", "elu"]
)
def test_guided_backprop_refuses_rectifiers_positive_on_both_branches(activation):
    """Its forward mask reads a unit's output; LeakyReLU(-1) is |x|, whose output is
    positive where the input is negative, and the map let through 98% of the
    signal the rule stops there. Deconvolution ignores the forward pass."""
    module, data = _two_layer(activation), _data()
    with pytest.raises(ValueError, match="layer '2' .* is positive for negative"):
        _attribute("guided_backprop", module, data)
    # The deconvnet's rule rectifies the backward signal only: as for ReLU.
    expected = _attribute("deconvolution", _two_layer(nn.ReLU()), data)
    inactive = _attribute("deconvolution", _two_layer(nn.LeakyReLU(0.0)), data)
    torch.testing.assert_close(inactive, expected)
    _attribute("deconvolution", module, data)


# -- through mne_xai.explain on the fitted EEGNet --------------------------------
@pytest.fixture
def some_imagery_epochs(imagery_epochs):
    return imagery_epochs[:6]


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution"])
def test_explain_eegnet(fitted_eegnet, some_imagery_epochs, method):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        attribution = explain(
            fitted_eegnet,
            some_imagery_epochs,
            method,
            target=0,
            batch_size=2,
            verbose=False,
        )
    # Every epoch got one map, and was told so once, not once per batch.
    said = ["do not depend on the epoch" in str(w.message) for w in record]
    assert said == ([True] if method == "deconvolution" else [])
    # Once per check, not once for each of the maps it explains (it was 9).
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        mne_xai.evaluate.parameter_randomization_check(
            fitted_eegnet, some_imagery_epochs[:2], method, verbose=False
        )
    said = ["do not depend on the epoch" in str(w.message) for w in record]
    assert said == ([True] if method == "deconvolution" else [])
    assert isinstance(attribution, mne.EpochsArray)
    data = attribution.get_data()
    gradient = explain(
        fitted_eegnet,
        some_imagery_epochs,
        "saliency",
        target=0,
        absolute=False,
        verbose=False,
    ).get_data()
    assert np.isfinite(data).all() and np.abs(data).max() > 0
    assert not np.allclose(data, gradient, rtol=0.1)
    # Without max pooling the deconvnet never looks at the input: one map per
    # class. Guided backprop's forward mask makes it depend on the epoch.
    same_for_all = np.allclose(
        data, data[:1], rtol=1e-4, atol=1e-6 * np.abs(data).max()
    )
    assert same_for_all == (method == "deconvolution")


def test_deconvolution_through_max_pooling_reads_a_flat_first_epoch():
    """Compared with the first epoch reversed in time, a flat one (routed
    alike either way) was said to meet a network without max pooling."""
    data = _data()
    data[0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _attribute("deconvolution", _MaxOverTime("module").double(), data)


def test_deconvolution_through_max_pooling_reads_a_single_epoch():
    """A batch of one epoch (explain with batch_size=1) has no other epoch of
    its class to compare maps with: compared with white noise, its map is
    told apart, and the network, which reads the epoch, is not warned of."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _attribute(
            "deconvolution", _MaxOverTime("module").double(), _data(1), TARGET[:1]
        )


class _PooledRamp(nn.Module):
    """Max pooling of the epoch plus a ramp in time: on data much smaller than
    the ramp's steps, the ramp picks every window's winner."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer("ramp", torch.arange(N_TIMES, dtype=torch.float64))
        self.pool = nn.MaxPool1d(4)
        self.classifier = nn.Linear(N_CHANNELS * N_TIMES // 4, 2)

    def forward(self, x):  # noqa: D102
        return self.classifier(self.pool(x + self.ramp).flatten(1))


def test_deconvolution_warns_where_max_pooling_ignores_epochs_at_their_scale():
    """The white noise the maps are compared with is at the data's scale:
    noise of unit variance would move the winners the epochs never move."""
    with pytest.warns(RuntimeWarning, match="do not depend on the epoch"):
        _attribute("deconvolution", _PooledRamp().double(), 1e-3 * _data())


def test_deconvolution_does_not_warn_where_an_epoch_moves_the_pooling():
    """White noise at the batch's scale may route max pooling as the first
    epoch does; an epoch of the same class that routes it otherwise has a map
    of its own, and the maps are not said to be one per class."""
    data = 1e-3 * _data()
    # Dips below the ramp's step at the last sample of each window move the
    # winners of the fourth epoch (explained for the first epoch's class).
    data[3, :, 3::4] = -1.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        maps = _attribute("deconvolution", _PooledRamp().double(), data)
    assert not torch.allclose(maps[3], maps[0])


def test_deconvolution_checks_a_network_on_a_gpu_with_the_cpus_noise():
    """Its check that the maps depend on the epoch drew the noise from the
    GPU's generator, which draws other numbers than the CPU's from one seed:
    on a GPU it compared other noise, and could warn where the CPU did not
    (seen on a GPU pretended by the CPU)."""
    module = _PooledRamp().double()
    with pretend_cuda() as gpu:
        with pytest.warns(RuntimeWarning, match="do not depend on the epoch"):
            _attribute(
                "deconvolution",
                module.to("cuda"),
                (1e-3 * _data()).to("cuda"),
                TARGET.to("cuda"),
            )
    assert gpu.gpu_draws == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_deconvolution_checks_with_the_same_noise_on_a_gpu(monkeypatch):
    """The noise of its check is the CPU's on a GPU too (see above)."""
    compared = []
    rectified_gradient = Deconvolution._rectified_gradient

    def recording(self, inputs, target, rule):
        compared.append(inputs.detach().cpu())
        return rectified_gradient(self, inputs, target, rule)

    monkeypatch.setattr(Deconvolution, "_rectified_gradient", recording)
    for device in ("cpu", "cuda"):
        module, data = _PooledRamp().double().to(device), 1e-3 * _data().to(device)
        with pytest.warns(RuntimeWarning, match="do not depend on the epoch"):
            _attribute("deconvolution", module, data, TARGET.to(device))
    # Each call explains the epochs, then the noise.
    assert len(compared) == 4
    torch.testing.assert_close(compared[3], compared[1], rtol=0, atol=0)


class _MaxOverTime(nn.Module):
    """Convolution, ReLU, maximum over time (``pool``), ReLU network head."""

    def __init__(self, pool):
        super().__init__()
        torch.manual_seed(0)
        self.pool = pool
        self.conv = nn.Conv1d(N_CHANNELS, 4, 5, padding=2)
        self.relu = nn.ReLU()
        self.adaptive = nn.AdaptiveMaxPool1d(1)
        self.classifier = nn.Linear(4, 2)

    def forward(self, x):
        x = self.relu(self.conv(x))
        if self.pool == "module":
            x = self.adaptive(x)
        elif self.pool == "function":
            x = nn.functional.adaptive_max_pool1d(x, 1)
        elif self.pool == "max":
            x = x.max(-1).values
        else:
            x = x.amax(-1)
        return self.classifier(x.flatten(1))


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution", "lrp_epsilon"])
@pytest.mark.parametrize("pool", ["module", "max", "amax"])
def test_max_over_time_is_max_pooling(method, pool):
    """nn.AdaptiveMaxPool1d and x.max(-1) / x.amax(-1) were refused although
    F.adaptive_max_pool1d, which routes the gradient the same way, ran: the
    maps are the same (LRP, whose layer rules do not list adaptive max
    pooling, judges the module as the function it calls)."""
    expected = _attribute(method, _MaxOverTime("function").double(), _data())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # max pooling reads the epoch
        maps = _attribute(method, _MaxOverTime(pool).double(), _data())
    torch.testing.assert_close(maps, expected)
