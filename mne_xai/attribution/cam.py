"""Class activation maps (Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM) and FullGrad.

A class activation map (CAM) weighs the feature maps of one convolution layer
by how much each matters for the target class, and sums them. The result lives
on that layer's samples; here it is placed back on the input's times by linear
interpolation between the *receptive-field centers* of the layer's time
samples, which are worked out from the kernels, strides and paddings of the
convolutions and poolings before the layer (see :class:`_TimeGrid`).

In EEGNet and InterpretableCNN a spatial convolution spans all electrodes before
the last convolution, so the feature maps there have a time axis but no
electrode axis: a CAM is the same on every channel. It says *when* the network
found evidence for the class, not *where*. For *where*, use Guided Grad-CAM (the
CAM times guided backpropagation, which varies across channels), FullGrad (its
input-gradient term varies across channels), or a layer before the spatial
convolution (e.g. ``layer="temporal_bn"`` in EEGNet), whose maps keep the
electrode axis.

The CAM methods take ``layer``, the name of a module such as
``"separable_elu"``. The default is found by walking the modules in the order
the forward pass calls them: the first nonlinearity (ReLU, ELU, ...) called
after the last convolution and before the maps are flattened, i.e. the output
of the last convolution block (``"separable_elu"`` in EEGNet, ``"relu"`` in
InterpretableCNN); without such a nonlinearity, the last convolution. A layer
whose output is not (batch, maps, height, time) with height 1 or the number
of channels, or that comes after a module changing the time axis other than a
convolution or pooling window (such as global pooling), is refused.
"""

from dataclasses import dataclass

import torch
from mne.utils import _check_option, _validate_type
from torch import nn

from .._graph import (
    ANY_BATCH_NORM,
    ANY_CONVOLUTION,
    DENSE,
    NONLINEARITIES,
    SLIDING_WINDOWS,
    batch_norm_affine,
    record_calls,
    trace_layers,
)
from ._registry import AttributionMethod, register_method
from .guided import _guided_rule, _RectifiedGradient


def _time_entry(size):
    """Return the time (last) entry of a kernel size, stride or padding."""
    return size[-1] if isinstance(size, tuple | list) else size


@dataclass(frozen=True)
class _TimeGrid:
    """Where a layer's time samples sit on the input's time axis.

    Layer sample ``j`` is computed from input samples centered on
    ``first_center + j * step`` (the center of its receptive field). Linear
    interpolation between these centers puts a layer map back on the input's
    samples without shifting it in time. For "same"-padded convolutions
    followed by pooling (EEGNet) this equals
    ``torch.nn.functional.interpolate(mode="linear", align_corners=False)``
    when the pooling divides the number of samples;
    after unpadded convolutions (InterpretableCNN's temporal kernel of half a
    second) the first layer sample sits a quarter of a second into the epoch,
    which resampling the whole axis would ignore. Input samples before the
    first center or after the last take the value of the nearest layer sample.
    """

    first_center: float
    step: float

    def upsample(self, maps, n_times):
        """Interpolate ``maps`` (..., n_layer_times) to (..., n_times)."""
        n_layer_times = maps.shape[-1]
        times = torch.arange(n_times, dtype=maps.dtype, device=maps.device)
        position = ((times - self.first_center) / self.step).clamp(0, n_layer_times - 1)
        left = position.floor().long()
        right = (left + 1).clamp(max=n_layer_times - 1)
        weight = position - left
        return maps[..., left] * (1 - weight) + maps[..., right] * weight


def _time_grid(calls, layer):
    """Compose the sliding windows called up to ``layer`` into its time grid."""
    first_center, step = 0.0, 1.0
    n_layer_times = calls[0].input.shape[-1]
    for call in calls:
        if call.input.shape[-1] != n_layer_times:
            raise _unaligned(layer, call)
        if isinstance(call.module, SLIDING_WINDOWS):
            module = call.module
            kernel = _time_entry(module.kernel_size)
            stride = _time_entry(module.stride)
            span = _time_entry(getattr(module, "dilation", 1)) * (kernel - 1)
            if module.padding == "same":
                left_padding, total_padding = span // 2, span
            elif module.padding == "valid":
                left_padding = total_padding = 0
            else:
                left_padding = _time_entry(module.padding)
                total_padding = 2 * left_padding
            first_center += (span / 2 - left_padding) * step
            step *= stride
            n_layer_times = (n_layer_times + total_padding - span - 1) // stride + 1
        if call.output.shape[-1] != n_layer_times:
            raise _unaligned(layer, call)
        if call.name == layer:
            return _TimeGrid(first_center, step)


def _unaligned(layer, call):
    return ValueError(
        f"Cannot place the samples of layer {layer!r} on the input's times: "
        f"{call.name!r} ({type(call.module).__name__}) changes the time axis "
        "(the last one) in a way other than a convolution or pooling window. "
        "Choose a layer before it."
    )


def _default_layer(calls):
    """Name the first nonlinearity after the last convolution, else that convolution."""
    # A convolution that leaves one time sample is a classifier, not a feature map.
    convolutions = [
        index
        for index, call in enumerate(calls)
        if isinstance(call.module, ANY_CONVOLUTION) and call.output.shape[-1] > 1
    ]
    if not convolutions:
        raise ValueError(
            "The network has no convolution layer, so there are no feature maps "
            "for a class activation map; pass layer=<name of a module>."
        )
    last_convolution = calls[convolutions[-1]]
    for call in calls[convolutions[-1] + 1 :]:
        if call.output.ndim != last_convolution.output.ndim:
            break  # flattened: the block is over
        if isinstance(call.module, NONLINEARITIES):
            return call.name
    return last_convolution.name


def _feature_maps(tensor):
    """Feature maps as (batch, maps, height, time); Conv1d maps get height 1."""
    return tensor.unsqueeze(2) if tensor.ndim == 3 else tensor


@dataclass(frozen=True)
class _FeatureLayer:
    """A layer whose outputs are feature maps (batch, maps, height, time)."""

    name: str
    module: nn.Module
    grid: _TimeGrid


def _forward_recording(module, inputs, layers):
    """Return the logits of ``inputs`` and the output of ``layers`` in that pass."""
    with record_calls(module, layers) as calls:
        logits = module(inputs)
    return logits, {call.module: call.output for call in calls}


def _target_logits(logits, target):
    """Select the logit of each epoch's target class, shape (batch,)."""
    return logits.gather(1, target.reshape(-1, 1)).squeeze(1)


def _min_max_scale(tensor, dims):
    """Rescale each epoch to [0, 1] over ``dims``; constant epochs become 0."""
    low = tensor.amin(dim=dims, keepdim=True)
    span = tensor.amax(dim=dims, keepdim=True) - low
    return torch.where(span > 0, (tensor - low) / span, torch.zeros_like(tensor))


def _rectify(cam, relu):
    """Keep the positive part of ``cam`` if ``relu`` (as the papers do)."""
    _validate_type(relu, bool, "relu")
    return cam.relu() if relu else cam


class _FeatureMapMethod(AttributionMethod):
    """Layer choice, activations, gradients and upsampling shared by the CAMs."""

    layerwise = True

    _calls = None

    def _layer_calls(self, inputs):
        """List the leaf-module calls of a forward pass (traced once per explainer)."""
        if self._calls is None:
            self._calls = trace_layers(self.module, inputs[:1])
        return self._calls

    def _feature_layer(self, inputs, layer):
        """Resolve ``layer`` (None for the default) to a :class:`_FeatureLayer`."""
        _validate_type(layer, (str, None), "layer")
        calls = self._layer_calls(inputs)
        if layer is None:
            layer = _default_layer(calls)
        _check_option("layer", layer, [call.name for call in calls])
        call = next(call for call in calls if call.name == layer)
        n_channels, n_times = inputs.shape[1:]
        first = calls[0]
        if first.input.shape[-1] != n_times:
            # e.g. braindecode's (batch, channels, time, 1) layout: the maps'
            # last axis would not be time, and the map would not say when.
            raise ValueError(
                f"The network's first layer {first.name!r} receives shape "
                f"{tuple(first.input.shape)}, whose last axis is not the input's "
                f"{n_times} time samples; class activation maps need time on the "
                "last axis of the feature maps. Use a gradient method (e.g. "
                "integrated_gradients or saliency) for this network."
            )
        if call.output.shape[-1] < 2:
            raise ValueError(
                f"Layer {layer!r} returns shape {tuple(call.output.shape)}: a "
                "single time sample, so its map cannot say when. Choose a layer "
                "before time is pooled away."
            )
        one_dimensional = call.output.ndim == 3  # Conv1d maps: (batch, maps, time)
        if not one_dimensional and (
            call.output.ndim != 4 or call.output.shape[2] not in (1, n_channels)
        ):
            raise ValueError(
                f"Layer {layer!r} returns shape {tuple(call.output.shape)}; class "
                "activation maps need feature maps (batch, maps, time) or (batch, "
                f"maps, height, time) with height 1 (after the spatial convolution) "
                f"or {n_channels} (one row per channel). Choose a convolution "
                "block's layer."
            )
        return _FeatureLayer(layer, call.module, _time_grid(calls, layer))

    def _activations_and_gradients(self, inputs, target, layer):
        """Return the layer's feature maps and the target logit's gradient on them."""
        with torch.enable_grad():
            logits, outputs = _forward_recording(
                self.module, inputs.detach().requires_grad_(), [layer.module]
            )
            activations = outputs[layer.module]
            (gradients,) = torch.autograd.grad(
                _target_logits(logits, target).sum(), activations
            )
        return _feature_maps(activations.detach()), _feature_maps(gradients)

    @staticmethod
    def _on_inputs(layer_map, grid, inputs):
        """Put a (batch, height, n_layer_times) map on the input's samples."""
        upsampled = grid.upsample(layer_map, inputs.shape[-1])
        return upsampled.expand(-1, inputs.shape[1], -1)


@register_method
class GradCAM(_FeatureMapMethod):
    """Grad-CAM: feature maps weighed by mean gradients :footcite:`SelvarajuEtAl2017`.

    Each feature map ``A_k`` of the layer gets the weight ``alpha_k``, the
    gradient of the target logit averaged over the map's samples, and the
    map is ``ReLU(sum_k alpha_k A_k)``. Values are in logit units: for a
    network that averages the layer over time before a linear read-out (the
    ReLU of InterpretableCNN), the map before the ReLU, summed over the layer's
    samples, is the target logit up to a constant. Sujatha Ravindran &
    Contreras-Vidal :footcite:`SujathaRavindranContrerasVidal2023` compare it
    with eleven other methods on EEG networks.

    Notes
    -----
    After the spatial convolution of EEGNet and InterpretableCNN the map has no
    channel axis: it is the same on every channel and tells *when*, not
    *where*. Its time resolution is the layer's, interpolated linearly between
    receptive-field centers: one layer sample per 4 input samples at EEGNet's
    default layer (after the first pooling), one per input sample in
    InterpretableCNN.

    References
    ----------
    .. footbibliography::
    """

    name = "grad_cam"

    def attribute(self, inputs, target, *, layer=None, relu=True):
        """Return the Grad-CAM map on the input's samples.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        layer : str | None
            Name of the module whose feature maps are weighed, e.g.
            ``"separable_elu"``; None picks the default layer (the output of
            the last convolution block, see :mod:`mne_xai.attribution.cam`).
        relu : bool
            Keep only positive evidence for the class, as in the paper; False
            also shows where the layer speaks against it.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The map on the input's samples (the same on every channel when
            the layer has no channel axis).
        """
        cam, layer = self._layer_map(inputs, target, layer, relu)
        return self._on_inputs(cam, layer.grid, inputs)

    def _layer_map(self, inputs, target, layer, relu):
        """Return the map on the layer's samples (batch, height, time) and the layer."""
        layer = self._feature_layer(inputs, layer)
        activations, gradients = self._activations_and_gradients(inputs, target, layer)
        weights = gradients.mean(dim=(2, 3), keepdim=True)
        cam = (weights * activations).sum(dim=1)
        return _rectify(cam, relu), layer


@register_method
class GuidedGradCAM(GradCAM, _RectifiedGradient):
    """Guided Grad-CAM: Grad-CAM times guided backprop :footcite:`SelvarajuEtAl2017`.

    The Grad-CAM map (with its ReLU), interpolated to the input's samples, is
    multiplied by the guided-backpropagation gradient
    (:class:`~mne_xai.attribution.guided.GuidedBackprop`, whose rule is applied at
    EEGNet's ELUs as well as at ReLUs, and which refuses the networks it has
    no rule for). Grad-CAM says *when* the class is supported, guided
    backpropagation adds *where*: the product differs across channels although
    the Grad-CAM factor does not. Values are logit (Grad-CAM) times logit per
    unit of input (per volt for MNE data).

    References
    ----------
    .. footbibliography::
    """

    name = "guided_grad_cam"

    def attribute(self, inputs, target, *, layer=None):
        """Return the Guided Grad-CAM map.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        layer : str | None
            Name of the module whose feature maps are weighed, e.g.
            ``"separable_elu"``; None picks the default layer (the output of
            the last convolution block, see :mod:`mne_xai.attribution.cam`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The product of the two maps.
        """
        guided = self._rectified_gradient(inputs, target, _guided_rule)
        cam, layer = self._layer_map(inputs, target, layer, relu=True)
        return self._on_inputs(cam, layer.grid, inputs) * guided


@register_method
class GradCAMPlusPlus(_FeatureMapMethod):
    """Grad-CAM++: weights from positive gradients :footcite:`ChattopadhayEtAl2018`.

    Each feature map gets the weight ``w_k = sum_t a_kt ReLU(g_kt)``, with
    ``g_kt`` the gradient of the target logit at sample ``t`` of map ``k`` and
    ``a_kt = g_kt^2 / (2 g_kt^2 + sum_s A_ks g_kt^3)`` (the closed form the
    paper derives for the exponential of the logit, whose higher derivatives
    are powers of the gradient; ``a_kt = 0`` where the denominator vanishes).
    The map is ``ReLU(sum_k w_k A_k)``. Unlike Grad-CAM's averaged gradients,
    negative gradients do not cancel positive ones, so a class whose evidence
    sits in a few short moments is not diluted. Values are activations times
    logit per activation, but on another scale than Grad-CAM's (the weights
    sum over the layer's samples where Grad-CAM's average): compare them
    within the method.

    Notes
    -----
    After the spatial convolution the map is the same on every channel: it
    tells *when*, not *where*. The paper's weights carry a factor
    ``exp(logit)`` common to all maps of an epoch, dropped here as in the
    usual implementations.

    References
    ----------
    .. footbibliography::
    """

    name = "grad_cam_plus_plus"

    def attribute(self, inputs, target, *, layer=None, relu=True):
        """Return the Grad-CAM++ map on the input's samples.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        layer : str | None
            Name of the module whose feature maps are weighed, e.g.
            ``"separable_elu"``; None picks the default layer (the output of
            the last convolution block, see :mod:`mne_xai.attribution.cam`).
        relu : bool
            Keep only the positive part of the map, as in the paper.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The map on the input's samples (the same on every channel when
            the layer has no channel axis).
        """
        layer = self._feature_layer(inputs, layer)
        activations, gradients = self._activations_and_gradients(inputs, target, layer)
        squared = gradients**2
        map_sums = activations.sum(dim=(2, 3), keepdim=True)
        denominator = 2 * squared + map_sums * squared * gradients
        safe_denominator = torch.where(denominator != 0, denominator, 1.0)
        alpha = torch.where(denominator != 0, squared / safe_denominator, 0.0)
        weights = (alpha * gradients.relu()).sum(dim=(2, 3), keepdim=True)
        cam = (weights * activations).sum(dim=1)
        return self._on_inputs(_rectify(cam, relu), layer.grid, inputs)


@register_method
class LayerCAM(_FeatureMapMethod):
    """LayerCAM: feature maps weighed sample by sample :footcite:`JiangEtAl2021`.

    The map is ``ReLU(sum_k ReLU(g_kt) A_kt)``: each sample of each feature map
    is weighed by its own positive gradient instead of the map's average
    gradient. Where the gradient is the same at every sample of a map and
    positive (a layer followed by global average pooling and a linear layer
    with positive weights) this equals Grad-CAM. Values are in logit units.

    Notes
    -----
    After the spatial convolution the map is the same on every channel: it
    tells *when*, not *where*. Because it needs no averaging over the layer,
    LayerCAM also suits early layers that keep the electrode axis
    (``layer="temporal_bn"`` in EEGNet), where the map differs between
    channels.

    References
    ----------
    .. footbibliography::
    """

    name = "layer_cam"

    def attribute(self, inputs, target, *, layer=None, relu=True):
        """Return the LayerCAM map on the input's samples.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        layer : str | None
            Name of the module whose feature maps are weighed, e.g.
            ``"separable_elu"``; None picks the default layer (the output of
            the last convolution block, see :mod:`mne_xai.attribution.cam`).
        relu : bool
            Keep only the positive part of the map, as in the paper.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The map on the input's samples (the same on every channel when
            the layer has no channel axis).
        """
        layer = self._feature_layer(inputs, layer)
        activations, gradients = self._activations_and_gradients(inputs, target, layer)
        cam = (gradients.relu() * activations).sum(dim=1)
        return self._on_inputs(_rectify(cam, relu), layer.grid, inputs)


@register_method
class ScoreCAM(_FeatureMapMethod):
    """Score-CAM: feature maps weighed by masked scores :footcite:`WangEtAl2020`.

    Each feature map ``A_k`` is interpolated to the input's samples and
    rescaled to [0, 1] per epoch, giving a mask ``H_k``; the input multiplied
    by the mask (so the masked-out part is zero, with no other baseline) is
    passed through the network. The weight ``w_k`` is the target's softmax
    probability for that masked input, and the map is ``ReLU(sum_k w_k A_k)``.
    No gradient is used. Values are activations weighed by probabilities; a
    feature map that is constant within an epoch gives no mask to test and
    gets weight 0, as in the authors' implementation.

    Notes
    -----
    The paper's weight is the increase of the score over a baseline input,
    ``f(X * H_k) - f(X_b)``; the baseline term is the same for every map and
    is left out, as in the authors' implementation. One forward pass is made
    per feature map for the whole batch (16 for EEGNet, 32 for
    InterpretableCNN). After the spatial convolution the masks, and the map,
    are the same on every channel: it tells *when*, not *where*.

    References
    ----------
    .. footbibliography::
    """

    name = "score_cam"

    def attribute(self, inputs, target, *, layer=None, relu=True, softmax=True):
        """Return the Score-CAM map on the input's samples.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        layer : str | None
            Name of the module whose feature maps are weighed, e.g.
            ``"separable_elu"``; None picks the default layer (the output of
            the last convolution block, see :mod:`mne_xai.attribution.cam`).
        relu : bool
            Keep only the positive part of the map, as in the paper.
        softmax : bool
            Weigh each feature map by the target's softmax probability on the
            masked input, as in the paper; False uses the target logit.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The map on the input's samples (the same on every channel when
            the layer has no channel axis).
        """
        _validate_type(softmax, bool, "softmax")
        layer = self._feature_layer(inputs, layer)
        with torch.no_grad():
            _, outputs = _forward_recording(self.module, inputs, [layer.module])
            activations = _feature_maps(outputs[layer.module])
            masks = _min_max_scale(
                layer.grid.upsample(activations, inputs.shape[-1]), dims=(2, 3)
            )
            scores = []
            for map_index in range(activations.shape[1]):
                logits = self.module(inputs * masks[:, map_index])
                if softmax:
                    logits = logits.softmax(dim=1)
                scores.append(_target_logits(logits, target))
            # A constant feature map scales to an all-zero mask: it tests nothing.
            informative = masks.amax(dim=(2, 3)) > 0
            weights = torch.stack(scores, dim=1) * informative
            cam = (weights[..., None, None] * activations).sum(dim=1)
        return self._on_inputs(_rectify(cam, relu), layer.grid, inputs)


def _full_gradient_decomposition(module, inputs, target):
    """Split the target logit into input-gradient and bias-gradient terms.

    For a network made of convolutions, dense layers, batch norm (in evaluation
    mode) and piecewise-linear nonlinearities such as ReLU, the target logit is
    ``sum(input_term) + sum of sum(bias_term)`` over the returned terms
    (Srinivas & Fleuret's full-gradient representation). ELU is not
    piecewise linear, so for EEGNet the sum differs from the logit (the
    "implicit biases" of the nonlinearities are not included).

    Returns
    -------
    input_term : torch.Tensor, shape of inputs
        Gradient of the target logit times the input.
    bias_terms : dict of str -> torch.Tensor
        For each layer with a bias, the gradient on its output times its bias
        (for batch norm, the effective bias ``beta - gamma * mean / std``);
        shaped like the layer's output.
    """
    biases = {}
    for name, layer in module.named_modules():
        if isinstance(layer, ANY_CONVOLUTION + DENSE):
            bias = layer.bias
        elif isinstance(layer, ANY_BATCH_NORM):
            bias = batch_norm_affine(layer, name)[1]
        elif isinstance(getattr(layer, "bias", None), torch.Tensor):
            raise ValueError(
                f"FullGrad cannot tell the bias of layer {name!r} "
                f"({type(layer).__name__}); it handles convolutions, dense layers "
                "and batch norm."
            )
        else:
            bias = None
        if bias is not None:
            biases[layer] = (name, bias.detach())
    with torch.enable_grad():
        inputs = inputs.detach().requires_grad_()
        logits, outputs = _forward_recording(module, inputs, list(biases))
        called = list(outputs)
        gradients = torch.autograd.grad(
            _target_logits(logits, target).sum(),
            [inputs, *(outputs[layer] for layer in called)],
        )
    bias_terms = {}
    for layer, gradient in zip(called, gradients[1:], strict=True):
        name, bias = biases[layer]
        bias_terms[name] = gradient * bias.reshape(-1, *[1] * (gradient.ndim - 2))
    return gradients[0] * inputs.detach(), bias_terms


@register_method
class FullGrad(_FeatureMapMethod):
    """FullGrad: input- and bias-gradients :footcite:`SrinivasFleuret2019`.

    The target logit of a ReLU network is exactly the sum of the input times
    its gradient and, for every layer with a bias, the bias times the gradient
    on that layer's output (the full-gradient representation). FullGrad
    shows each term after the paper's post-processing ``psi``: absolute
    value, then rescaling to [0, 1] per epoch and term; bias terms are summed
    over their feature maps and interpolated to the input's samples. The map
    is the sum of all terms: values are unitless (the input term and each
    feature map of a bias term contribute at most 1) and large where many
    terms agree.

    Notes
    -----
    Deviations for EEG time series:

    - The input term keeps the channel axis (EEG channels are the spatial
      axis, where the paper sums over an image's colour channels), so the
      map differs across channels. Bias terms of layers after the spatial
      convolution are the same on every channel and say *when*; those
      before it (EEGNet's ``temporal_bn``) keep one row per channel.
    - Bias terms are interpolated along time only, linearly between the
      receptive-field centers of the layer's samples (the paper resizes
      bilinearly with aligned corners).
    - Batch norm in evaluation mode contributes its effective bias
      ``beta - gamma * running_mean / sqrt(running_var + eps)``.
    - Dense layers have no time axis and are left out of the map, as in the
      authors' code (their terms are still part of the decomposition).
    - EEGNet's ELU is not piecewise linear; its implicit biases are not
      included, so the terms do not add up to the logit exactly.

    References
    ----------
    .. footbibliography::
    """

    name = "full_grad"

    def attribute(self, inputs, target):
        """Return the FullGrad map on the input's samples.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The sum of the post-processed terms.
        """
        input_term, bias_terms = _full_gradient_decomposition(
            self.module, inputs, target
        )
        saliency = _min_max_scale(input_term.abs(), dims=(1, 2))
        for name, bias_term in bias_terms.items():
            if bias_term.ndim == 2:
                continue  # a dense layer: no time axis to draw
            layer = self._feature_layer(inputs, name)
            term = _min_max_scale(_feature_maps(bias_term).abs(), dims=(1, 2, 3))
            term = term.sum(dim=1)
            saliency = saliency + self._on_inputs(term, layer.grid, inputs)
        return saliency
