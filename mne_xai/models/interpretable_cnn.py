"""InterpretableCNN (Cui et al. 2022) as a plain torch module."""

import torch
from torch import nn

from .._docs import fill_doc
from ._base import EEGModule, TooShortError, layer_size, scaled_length
from ._spatial_init import discriminant_spatial_filters


class InterpretableCNN(EEGModule):
    """The interpretable CNN of Cui et al. for driver drowsiness.

    The network of Cui et al. :footcite:`CuiEtAl2022`.

    A pointwise convolution mixes all channels into ``n_spatial`` maps (with
    bias), a depthwise temporal convolution gives ``depth_multiplier`` filters
    per map (kernel of half a second), then ReLU, batch norm, global average
    pooling over time and a linear layer giving one logit per class.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels.
    n_classes : int
        Number of classes.
    n_times : int
        Number of time samples per epoch (at least ``kernel_length``).
    sfreq : float
        Sampling frequency in Hz; the published kernel of 64 samples at 128 Hz
        is converted to this rate.
    n_spatial : int
        Number of pointwise (spatial) filters, N1 in the paper.
    depth_multiplier : int
        Temporal filters per spatial map, d in the paper.
    kernel_length : int | None
        Temporal kernel length in samples; ``None`` means half a second.
    input_scale : float | array-like, shape (n_channels,)
        Factor applied to the input before the first layer, or one factor per
        channel (see the estimators).

    Notes
    -----
    The authors' code normalizes with batch statistics even at test time
    (``track_running_stats=False``), so one epoch's output depends on the other
    epochs in its batch. Here batch norm keeps running statistics and uses them
    in evaluation mode, so outputs and attributions of an epoch are independent
    of its batch. The output is a logit per class rather than the original
    log-softmax.

    References
    ----------
    .. footbibliography::
    """

    def __init__(
        self,
        n_channels,
        n_classes,
        n_times,
        sfreq=128.0,
        *,
        n_spatial=16,
        depth_multiplier=2,
        kernel_length=None,
        input_scale=1.0,
    ):
        super().__init__(n_channels, n_classes, n_times, sfreq, input_scale)
        n_spatial = layer_size(n_spatial, "n_spatial")
        depth_multiplier = layer_size(depth_multiplier, "depth_multiplier")
        kernel_length = layer_size(
            kernel_length, "kernel_length", scaled_length(64, sfreq)
        )
        if n_times < kernel_length:
            raise TooShortError(
                f"InterpretableCNN needs n_times >= kernel_length ({kernel_length} "
                f"samples at {sfreq:g} Hz), got {n_times}. Give longer epochs (or a "
                "CroppedClassifier longer windows: window_length), or a shorter "
                "kernel_length (module__kernel_length of the estimators).",
                needed=kernel_length,
                shorter="kernel_length",
            )
        n_temporal = n_spatial * depth_multiplier
        self.pointwise_conv = nn.Conv2d(1, n_spatial, (n_channels, 1))
        self.depthwise_conv = nn.Conv2d(
            n_spatial, n_temporal, (1, kernel_length), groups=n_spatial
        )
        self.relu = nn.ReLU()
        self.batch_norm = nn.BatchNorm2d(n_temporal)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(n_temporal, n_classes)

    @fill_doc
    @torch.no_grad()
    def initialize_spatial_filters(self, X, y):
        """Start the spatial filters as CSP filters of the training epochs.

        The ``n_spatial`` filters of the first layer (as many as there are
        channels, if fewer) become the common spatial patterns' filters
        (:class:`mne.decoding.CSP`) of the epochs, with no offset;
        training goes on from there. Single-channel networks keep their
        initialization.

        Parameters
        ----------
        %(spatial_filter_data)s
        """
        if self.n_channels < 2:
            return
        signals = self._scale_input(X).double().cpu().numpy()
        weight, bias = self.pointwise_conv.weight, self.pointwise_conv.bias
        filters = discriminant_spatial_filters(signals, y, weight.shape[0])
        weight[: len(filters), 0, :, 0] = weight.new_tensor(filters)
        bias[: len(filters)] = 0

    @fill_doc
    def forward(self, x):
        """Map ``(batch, n_channels, n_times)`` to ``(batch, n_classes)`` logits.

        %(network_forward)s
        """
        x = self._scale_input(x).unsqueeze(1)
        x = self.relu(self.depthwise_conv(self.pointwise_conv(x)))
        x = self.global_pool(self.batch_norm(x))
        return self.classifier(self.flatten(x))
