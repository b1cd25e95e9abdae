"""Pieces shared by the networks: input scaling, kernel lengths, max-norm."""

import torch
from mne.utils import _validate_type
from torch import nn

from .._checks import check_positive_int
from .._docs import fill_doc

# The published kernel lengths of EEGNet and InterpretableCNN are for 128 Hz data.
REFERENCE_SFREQ = 128.0


def scaled_length(samples_at_128hz, sfreq):
    """Convert a kernel length given at 128 Hz to ``sfreq``, keeping its duration."""
    return max(1, int(round(samples_at_128hz * sfreq / REFERENCE_SFREQ)))


class TooShortError(ValueError):
    """Epochs shorter than a network's kernels or pooling span.

    ``needed`` is the fewest samples the network reads and ``shorter`` the
    module parameter that shortens its span, so that a caller whose "time"
    axis is another (spectra) can say what to change there.
    """

    def __init__(self, message, needed, shorter):
        super().__init__(message)
        self.needed, self.shorter = needed, shorter


def same_padding(kernel_length, name="kernel_length"):
    """Zero padding that keeps the length of a time series, for an odd kernel."""
    if kernel_length % 2 == 0:
        raise ValueError(
            f"{name} must be odd (a kernel padded to keep the length), got "
            f"{kernel_length}."
        )
    return (0, kernel_length // 2)


def layer_size(value, name, default=None):
    """Return a size of the architecture (``default`` for None) as a positive int.

    torch's own errors for 0, negative or float sizes named no setting
    ("groups must be a positive integer", "float division by zero"), and
    ``value or default`` took 0 for the default without a word.
    """
    if value is None:
        return default
    return check_positive_int(value, name)


def input_scale_buffer(input_scale, n_channels=None):
    """Return the input scaling as a buffer multiplying ``(batch, n_channels, n_times)``.

    One factor gives a scalar; one factor per channel (channels of several
    types) gives shape ``(n_channels, 1)``.
    """
    try:
        scale = torch.as_tensor(input_scale, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):  # torch's "new(): invalid data type"
        raise TypeError(
            "input_scale must be a number or one factor per channel, got "
            f"{input_scale!r}."
        ) from None
    # Unchecked, 0 gave a network blind to its input and NaN one of NaN logits.
    if not (torch.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError(
            f"input_scale must be positive and finite, got {input_scale!r}."
        )
    if scale.ndim == 0:
        return scale
    if scale.ndim != 1 or n_channels not in (None, len(scale)):
        expected = "" if n_channels is None else f" of {n_channels}"
        raise ValueError(
            f"input_scale must be a number or one factor per channel (a 1-D "
            f"array{expected}), got shape {tuple(scale.shape)}."
        )
    return scale.reshape(-1, 1)


class EEGModule(nn.Module):
    """Base of the networks: takes ``(batch, n_channels, n_times)``, returns logits.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels.
    n_classes : int
        Number of classes (outputs).
    n_times : int
        Number of time samples per epoch.
    sfreq : float
        Sampling frequency in Hz; kernel lengths scale with it.
    input_scale : float | array-like, shape (n_channels,)
        Factor applied to the input before the first layer, or one factor per
        channel. The estimators set it so that data in volts reach the first
        layer with unit variance (the channels of each type their own, when
        they are of several types), which keeps every attribution on the scale
        of the data the user passed.
    """

    #: Parameter name -> maximum L2 norm of each output unit's weights, enforced
    #: after every optimizer step by :meth:`apply_max_norm` (Keras' ``max_norm``).
    max_norm: dict = {}

    def __init__(self, n_channels, n_classes, n_times, sfreq, input_scale):
        super().__init__()
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.n_classes = check_positive_int(n_classes, "n_classes")
        self.n_times = check_positive_int(n_times, "n_times")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}.")
        _validate_type(sfreq, "numeric", "sfreq")
        if not 0 < sfreq < float("inf"):
            raise ValueError(f"sfreq must be positive and finite, got {sfreq!r}.")
        self.sfreq = float(sfreq)
        self.register_buffer("input_scale", input_scale_buffer(input_scale, n_channels))

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"{type(self).__name__} takes a torch.Tensor, got "
                f"{type(x).__name__}: torch.from_numpy(data).float(), or use the "
                "estimators, which convert MNE data themselves."
            )
        if x.dtype != self.input_scale.dtype:
            # torch's words: "expected scalar type Double but found Float".
            raise TypeError(
                f"{type(self).__name__} computes in {self.input_scale.dtype}, got "
                f"input of {x.dtype} (MNE's get_data() gives float64): convert it "
                "with .to(torch.float32), or the network with .double()."
            )
        if x.ndim != 3 or x.shape[1] != self.n_channels or x.shape[2] != self.n_times:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (batch, "
                f"{self.n_channels}, {self.n_times}), got {tuple(x.shape)}."
            )

    def _scale_input(self, x):
        self._check_input(x)
        return x * self.input_scale

    def inference_graph(self):
        """Return a module computing the same logits in evaluation mode, faster.

        Subclasses whose evaluation-mode computation can be rearranged (e.g.
        linear layers that commute) return an equivalent module that keeps
        every nonlinearity as the same module with the same inputs, so its
        gradients with respect to the input, and any rule applied at the
        nonlinearities, are those of the network itself. In training mode, and
        for networks without a faster form, this is the network itself.

        Returns
        -------
        module : torch.nn.Module
            The network, or an equivalent module sharing its later layers.
        """
        return self

    @torch.no_grad()
    def apply_max_norm(self):
        """Rescale constrained weights so no output unit exceeds its maximum norm.

        A weight pruned with :mod:`torch.nn.utils.prune` is its trained values
        (``weight_orig``) times a mask of zeros and ones, and their norm
        bounds the pruned weight's: those are rescaled. A weight computed by a
        parametrization may have any norm whatever its parameters', and is
        refused.
        """
        parameters = dict(self.named_parameters())
        for name, max_norm in self.max_norm.items():
            weight = parameters.get(name, parameters.get(f"{name}_orig"))
            if weight is None:
                layer = name.rpartition(".")[0]
                raise ValueError(
                    f"{type(self).__name__}'s max-norm constraint of {name!r} (at "
                    f"most {max_norm} per unit) needs that weight as a parameter, "
                    f"but layer "
                    f"{layer!r} computes it (a parametrization), whose norm its "
                    "parameters do not bound. Remove the parametrization "
                    "(torch.nn.utils.parametrize.remove_parametrizations) before "
                    "training on."
                )
            weight.copy_(torch.renorm(weight, p=2, dim=0, maxnorm=max_norm))


class ScaledInput(nn.Module):
    """A user's network behind the estimator's input scaling.

    The estimators scale the data (volts) to unit variance before the first
    layer. Their own networks apply ``input_scale`` themselves; any other
    network is wrapped in this module, so that it sees well-conditioned input
    and the fitted module still takes data in the unit it was given.

    Parameters
    ----------
    module : torch.nn.Module
        The network, mapping scaled input to logits.
    input_scale : float | array-like, shape (n_channels,)
        Factor applied to the input before ``module``, or one factor per channel.
    """

    #: It holds the user's network at ``module``: messages name its layers
    #: without that prefix (see mne_xai._graph.shown_layer_name).
    wraps_network = True

    def __init__(self, module, input_scale):
        super().__init__()
        # Else kept as an attribute, to fail at the first forward pass.
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"module must be a torch.nn.Module, got {type(module).__name__}."
            )
        self.module = module
        self.register_buffer("input_scale", input_scale_buffer(input_scale))

    @fill_doc
    def forward(self, x):
        """Scale ``x`` by ``input_scale`` and pass it through ``module``.

        %(network_forward)s
        """
        return self.module(x * self.input_scale)
