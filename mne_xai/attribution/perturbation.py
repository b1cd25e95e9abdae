"""Perturbation methods (occlusion) and the random-attribution baseline."""

import torch
from captum.attr import FeatureAblation as _CaptumFeatureAblation
from mne.utils import _check_option, _validate_type

from .._docs import fill_doc
from .._warnings import warn
from ._registry import AttributionMethod, register_method
from .gradient import _single_baseline


def _occlusion_groups(n_channels, n_times, mode, window):
    """Label each (channel, time) sample with the patch it is occluded with.

    Parameters
    ----------
    n_channels, n_times : int
        Shape of one epoch.
    mode : "channel" | "time" | "channel_time"
        Occlude whole channels, time windows across all channels, or time
        windows of one channel at a time.
    window : int
        Length of the time windows in samples; the last window of an epoch is
        shorter when ``window`` does not divide ``n_times``.

    Returns
    -------
    groups : torch.Tensor of int64, shape (n_channels, n_times)
        Samples with equal labels are replaced together.
    """
    channel = torch.arange(n_channels).unsqueeze(1).expand(n_channels, n_times)
    time_window = (torch.arange(n_times) // window).expand(n_channels, n_times)
    if mode == "channel":
        return channel.contiguous()
    if mode == "time":
        return time_window.contiguous()
    n_windows = -(-n_times // window)
    return channel * n_windows + time_window


@register_method
class Occlusion(AttributionMethod):
    """Occlusion: how much the logit drops when a patch of the epoch is replaced.

    Each patch (a channel, a time window, or a time window of one channel)
    is replaced by the baseline in turn, and every sample of the patch
    receives the target logit of the epoch minus that of the occluded epoch
    :footcite:`ZeilerFergus2014`. Values are in logit units: positive where
    the patch supports the class. In ``"channel"`` mode the map is constant
    over time, a topography of channel importance. Costs one forward pass per
    patch.

    References
    ----------
    .. footbibliography::
    """

    name = "occlusion"
    unit = "logit"
    differentiates = False

    @fill_doc
    def attribute(self, inputs, target, *, mode="channel", window=32, baseline="zeros"):
        """Return the drop of the target logit when each patch is occluded.

        Parameters
        ----------
        %(inputs_target)s
        mode : "channel" | "time" | "channel_time"
            Occlude whole channels, time windows of all channels together, or
            time windows of each channel separately.
        window : int
            Length of the time windows in samples (ignored with ``"channel"``);
            the last window of an epoch is shorter when ``window`` does not
            divide its length.
        baseline : "zeros" | "mean" | array, shape (n_channels, n_times)
            The values that replace an occluded patch (resolved by
            :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Logit drop of the patch each sample belongs to.
        """
        _check_option("mode", mode, ("channel", "time", "channel_time"))
        _validate_type(window, "int-like", "window")
        if window < 1:
            raise ValueError(
                f"window must be a positive number of samples, got {window}."
            )
        n_times = inputs.shape[2]
        if mode != "channel" and window >= n_times:
            warn(
                f"occlusion's window of {int(window)} samples spans the whole epoch "
                f"of {n_times}: every sample {'of a channel ' * (mode != 'time')}"
                "gets the same value, a map constant over time. Pass a shorter "
                "window to see which time windows matter."
            )
        if mode == "channel" and inputs.shape[1] == 1:
            warn(
                'occlusion in mode="channel" on data of one channel occludes the '
                "whole epoch: the map is one value per epoch, constant over time. "
                'Pass mode="time" to see which time windows matter.'
            )
        baseline = _single_baseline(baseline, self.name)
        groups = _occlusion_groups(*inputs.shape[1:], mode, int(window))
        attribution = _CaptumFeatureAblation(self.module).attribute(
            inputs,
            baselines=baseline,
            target=target,
            feature_mask=groups.to(inputs.device).unsqueeze(0),
        )
        undefined = ~torch.isfinite(attribution)
        if undefined.any():
            # A network taking the log of a channel's power is undefined at a
            # zeroed channel: every map of it was NaN, without a word. Captum
            # sums each patch's drop times its mask, so an infinite drop is
            # infinite on its own patch alone and NaN (inf * 0) on every other:
            # the first NaN named channel 0 for a drop infinite on channel 2.
            infinite = torch.isinf(attribution)
            first = infinite if infinite.any() else undefined
            _, channel, sample = first.nonzero()[0].tolist()
            raise ValueError(
                "The logit drop occlusion measures is not a finite number "
                f"({attribution[first][0]}) at channel index {channel}, sample "
                f"{sample}: the network's output is not, once that patch is "
                "replaced by the baseline (a network taking the log of a "
                "channel's power is undefined where a channel is zeroed), or for "
                "the epoch itself. Occlude with another baseline "
                '(baseline="mean", or an epoch-shaped array), or smaller patches '
                '(mode="time" or "channel_time").'
            )
        return attribution


@register_method
class RandomAttribution(AttributionMethod):
    """Random attribution: independent standard normal values, whatever the network.

    The chance level of evaluation measures (faithfulness, localization,
    sanity checks) :footcite:`CuiEtAl2023`: a method that does no better than
    this map explains nothing. Values have no unit.

    References
    ----------
    .. footbibliography::
    """

    name = "random"
    differentiates = False
    stochastic = True

    def attribute(self, inputs, target):
        """Return i.i.d. standard normal values shaped like the inputs.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data (only its shape, type and device are used).
        target : torch.Tensor of int64, shape (batch,)
            Ignored.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Random values.
        """
        return self.randn_like(inputs)
