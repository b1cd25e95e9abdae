"""EEGNet (Lawhern et al. 2018) as a plain torch module."""

from torch import nn

from ._base import EEGModule, same_padding, scaled_length


class EEGNet(EEGModule):
    """EEGNet, a compact convolutional network for EEG :footcite:`LawhernEtAl2018`.

    The published EEGNet-F1,D architecture: a temporal convolution (``F1``
    filters of about half a second), a depthwise spatial convolution (``D``
    spatial filters per temporal filter, max-norm 1), batch norm, ELU, average
    pooling by 4 and dropout; then a separable convolution (depthwise temporal
    followed by pointwise to ``F2`` maps), batch norm, ELU, average pooling by 8
    and dropout; and a dense layer (max-norm 0.25) giving one logit per class.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels.
    n_classes : int
        Number of classes.
    n_times : int
        Number of time samples per epoch (at least 32).
    sfreq : float
        Sampling frequency in Hz. Kernel lengths given at 128 Hz in the paper
        (64 and 16 samples) are converted to this rate, keeping their duration.
    F1 : int
        Number of temporal filters.
    D : int
        Number of spatial filters per temporal filter (depth multiplier).
    F2 : int | None
        Number of pointwise filters; ``None`` means ``F1 * D`` as in the paper.
    kernel_length : int | None
        Temporal kernel length in samples (odd); ``None`` means half a second,
        rounded up to an odd number of samples so that the zero padding that
        keeps the length is symmetric (65 samples at 128 Hz).
    separable_kernel_length : int | None
        Kernel length of the separable convolution (odd); ``None`` means 1/8 s
        (17 samples at 128 Hz, i.e. 500 ms after the first pooling).
    dropout : float
        Dropout probability (0.5 within-subject, 0.25 cross-subject in the paper).
    input_scale : float
        Factor applied to the input before the first layer (see the estimators).

    Notes
    -----
    The output is a logit per class, not a (log-)softmax: the softmax belongs to
    the loss, and attribution methods explain the class score. Max-norm
    constraints are applied by :meth:`apply_max_norm` after each optimizer step,
    as Keras does; the layers themselves are plain ``nn.Conv2d`` and
    ``nn.Linear``.

    References
    ----------
    .. footbibliography::
    """

    max_norm = {"spatial_conv.weight": 1.0, "classifier.weight": 0.25}

    def __init__(
        self,
        n_channels,
        n_classes,
        n_times,
        sfreq=128.0,
        *,
        F1=8,
        D=2,
        F2=None,
        kernel_length=None,
        separable_kernel_length=None,
        dropout=0.5,
        input_scale=1.0,
    ):
        super().__init__(n_channels, n_classes, n_times, sfreq, input_scale)
        if n_times < 32:
            raise ValueError(
                f"EEGNet pools time by 32 and needs n_times >= 32, got {n_times}."
            )
        F2 = F1 * D if F2 is None else F2
        # Odd kernels make Keras' "same" padding symmetric (64 -> 65 at 128 Hz).
        kernel_length = kernel_length or scaled_length(64, sfreq) | 1
        separable_kernel_length = (
            separable_kernel_length or scaled_length(16, sfreq) | 1
        )
        self.temporal_conv = nn.Conv2d(
            1, F1, (1, kernel_length), padding=same_padding(kernel_length), bias=False
        )
        self.temporal_bn = nn.BatchNorm2d(F1)
        self.spatial_conv = nn.Conv2d(
            F1, F1 * D, (n_channels, 1), groups=F1, bias=False
        )
        self.spatial_bn = nn.BatchNorm2d(F1 * D)
        self.spatial_elu = nn.ELU()
        self.spatial_pool = nn.AvgPool2d((1, 4))
        self.spatial_dropout = nn.Dropout(dropout)
        self.separable_depthwise = nn.Conv2d(
            F1 * D,
            F1 * D,
            (1, separable_kernel_length),
            padding=same_padding(separable_kernel_length),
            groups=F1 * D,
            bias=False,
        )
        self.separable_pointwise = nn.Conv2d(F1 * D, F2, 1, bias=False)
        self.separable_bn = nn.BatchNorm2d(F2)
        self.separable_elu = nn.ELU()
        self.separable_pool = nn.AvgPool2d((1, 8))
        self.separable_dropout = nn.Dropout(dropout)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(F2 * (n_times // 4 // 8), n_classes)

    def forward(self, x):
        """Map ``(batch, n_channels, n_times)`` to ``(batch, n_classes)`` logits."""
        x = self._scale_input(x).unsqueeze(1)
        x = self.temporal_bn(self.temporal_conv(x))
        x = self.spatial_elu(self.spatial_bn(self.spatial_conv(x)))
        x = self.spatial_dropout(self.spatial_pool(x))
        x = self.separable_pointwise(self.separable_depthwise(x))
        x = self.separable_elu(self.separable_bn(x))
        x = self.separable_dropout(self.separable_pool(x))
        return self.classifier(self.flatten(x))
