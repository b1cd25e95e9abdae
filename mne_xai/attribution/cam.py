"""Class activation maps (Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM) and FullGrad.

A class activation map (CAM) weighs the feature maps of one convolution layer
by how much each matters for the target class, and sums them. The result lives
on that layer's samples; here it is placed back on the input's times by linear
interpolation between the *receptive-field centers* of the layer's time
samples, which are worked out from the kernels, strides and paddings of the
convolutions and poolings before the layer (see
:class:`~mne_xai.attribution._cam_layers.TimeGrid`).

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
InterpretableCNN); without such a nonlinearity, the last convolution. The
layers of attention gates (squeeze-and-excitation, ECA, CBAM), whose output
only scales the maps they are computed from, are passed over, as are those of
heads the logits do not depend on (an auxiliary head). A layer
whose output is not (batch, maps, height, time) with height 1 or the number
of channels (rows that are the channels: each changed by its channel alone),
whose batch axis holds more than the epochs (epochs x channels,
for a temporal filter shared by all channels), or that comes after a module
changing the time axis other than a convolution or pooling window (such as
global pooling; an adaptive pooling counts as its windows where its output
length divides its input's), is refused; so is FullGrad on a network with such
a layer among those with a bias.
"""

from abc import abstractmethod

import torch
from mne.utils import _validate_type

from .._docs import fill_doc
from .._graph import (
    ANY_BATCH_NORM,
    ANY_CONVOLUTION,
    DENSE,
    NONLINEARITIES,
    batch_norm_affine,
    record_calls,
    shown_layer_name,
)
from ._cam_layers import (
    FeatureMapMethod,
    feature_maps,
    forward_recording,
    target_logits,
)
from ._registry import register_method
from .guided import _guided_rule, _RectifiedGradient


def _min_max_scale(tensor, dims):
    """Rescale each epoch to [0, 1] over ``dims``; constant epochs become 0."""
    low = tensor.amin(dim=dims, keepdim=True)
    span = tensor.amax(dim=dims, keepdim=True) - low
    return torch.where(span > 0, (tensor - low) / span, torch.zeros_like(tensor))


def _rectify(cam, relu):
    """Keep the positive part of ``cam`` if ``relu`` (as the papers do)."""
    _validate_type(relu, bool, "relu")
    return cam.relu() if relu else cam


class _GradientCAM(FeatureMapMethod):
    """A CAM that weighs feature maps by the target logit's gradient on them.

    The methods differ only in how activations and gradients make the map
    (:meth:`_combine`); layer choice, the ReLU and the placement on the
    input's samples are the same.
    """

    @fill_doc
    def attribute(self, inputs, target, *, layer=None, relu=True):
        """Return the class activation map on the input's samples.

        Parameters
        ----------
        %(inputs_target)s
        %(cam_layer)s
        %(cam_relu)s

        Returns
        -------
        %(cam_attribution)s
        """
        cam, layer = self._layer_map(inputs, target, layer, relu)
        return self._on_inputs(cam, layer.grid, inputs)

    def _layer_map(self, inputs, target, layer, relu):
        """Return the map on the layer's samples (batch, height, time) and the layer."""
        layer = self._feature_layer(inputs, layer)
        self._check_every_path_through(inputs, layer)
        activations, gradients = self._activations_and_gradients(inputs, target, layer)
        return _rectify(self._combine(activations, gradients), relu), layer

    @abstractmethod
    def _combine(self, activations, gradients):
        """Return the map before its ReLU, shape (batch, height, n_layer_times).

        Parameters
        ----------
        activations, gradients : torch.Tensor, shape (batch, maps, height, n_layer_times)
            The layer's feature maps and the target logit's gradient on them.
        """


@register_method
class GradCAM(_GradientCAM):
    """Grad-CAM: feature maps weighed by mean gradients :footcite:`SelvarajuEtAl2017`.

    Each feature map ``A_k`` of the layer gets the weight ``alpha_k``, the
    gradient of the target logit averaged over the map's samples, and the
    map is ``ReLU(sum_k alpha_k A_k)``; without the ReLU (``relu=False``) it
    also shows where the layer speaks against the class. Values are in
    arbitrary units (``a.u.`` on figures), but for a network that averages the
    layer over time before a linear read-out (the ReLU of InterpretableCNN):
    there the map before the ReLU, summed over the layer's own samples, is
    the target logit up to a constant (the map returned is stretched to the
    input's samples, whose sum need not keep this). Sujatha
    Ravindran & Contreras-Vidal :footcite:`SujathaRavindranContrerasVidal2023`
    compare it with eleven other methods on EEG networks.

    Notes
    -----
    After the spatial convolution of EEGNet and InterpretableCNN the map has no
    channel axis: it is the same on every channel and tells *when*, not
    *where*. Its time resolution is the layer's (at EEGNet's default layer,
    after the first pooling, one layer sample per ``pool_length`` input
    samples: 4 below 192 Hz, then 4 times the rate over 128 Hz rounded to a
    whole number, so 21 to 42 ms from 100 Hz up;
    one per input sample in InterpretableCNN), interpolated linearly between
    the receptive-field centers of the layer's samples.

    A network that reads the layer through its variance or power over time
    (log-variance features) has gradients there that average to zero: the
    weights vanish, the map would be rounding noise, and the method refuses,
    advising Layer-CAM or Grad-CAM++, which weigh each sample's gradient.

    References
    ----------
    .. footbibliography::
    """

    name = "grad_cam"

    def _combine(self, activations, gradients):
        weights = gradients.mean(dim=(2, 3), keepdim=True)
        _check_weights_hold(weights, gradients)
        return (weights * activations).sum(dim=1)


#: Below this fraction of the gradient's mean magnitude, Grad-CAM's weights
#: are rounding residue: float32 means of gradients that cancel exactly come
#: out near 1e-8 of it, where weights of networks that read a layer's level
#: are of the order of the gradient itself.
_VANISHING_WEIGHTS = 1e-5


def _check_weights_hold(weights, gradients):
    """Refuse Grad-CAM weights that cancel out to rounding residue.

    A network reading the layer through its variance or power over time (the
    log-variance features of FBCSP-like networks) has gradients on it that
    average to exactly zero over time: the true Grad-CAM map is zero, and the
    float32 one is rounding noise, which figures scale up to a confident map.
    """
    magnitude = gradients.abs().mean(dim=(1, 2, 3))
    largest = weights.abs().amax(dim=(1, 2, 3))
    cancelled = (largest <= _VANISHING_WEIGHTS * magnitude) & (magnitude > 0)
    if cancelled.any():
        raise ValueError(
            "Grad-CAM's weights, the target logit's gradient averaged over the "
            "layer's samples, cancel out at the layer explained (at most "
            f"{float(largest[cancelled].max() / magnitude[cancelled].min()):.1g} "
            "of the gradient's mean magnitude): the network reads that layer "
            "through its variance or power over time, whose gradient averages to "
            "zero, and the map would be rounding noise. Use layer_cam or "
            "grad_cam_plus_plus, which weigh each sample's gradient, a gradient "
            "method, or another layer (layer=)."
        )


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
    # Not Grad-CAM's "a.u.": per unit of input, its maps of channels of
    # several types compare their scales, which the checks then refuse.
    unit = "logit^2/{input}"

    @fill_doc
    def attribute(self, inputs, target, *, layer=None):
        """Return the Guided Grad-CAM map.

        Parameters
        ----------
        %(inputs_target)s
        %(cam_layer)s

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The product of the two maps.
        """
        guided = self._rectified_gradient(inputs, target, _guided_rule)
        cam, layer = self._layer_map(inputs, target, layer, relu=True)
        return self._on_inputs(cam, layer.grid, inputs) * guided


@register_method
class GradCAMPlusPlus(_GradientCAM):
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

    def _combine(self, activations, gradients):
        squared = gradients**2
        map_sums = activations.sum(dim=(2, 3), keepdim=True)
        denominator = 2 * squared + map_sums * squared * gradients
        safe_denominator = torch.where(denominator != 0, denominator, 1.0)
        alpha = torch.where(denominator != 0, squared / safe_denominator, 0.0)
        weights = (alpha * gradients.relu()).sum(dim=(2, 3), keepdim=True)
        return (weights * activations).sum(dim=1)


@register_method
class LayerCAM(_GradientCAM):
    """LayerCAM: feature maps weighed sample by sample :footcite:`JiangEtAl2021`.

    The map is ``ReLU(sum_k ReLU(g_kt) A_kt)``: each sample of each feature map
    is weighed by its own positive gradient instead of the map's average
    gradient. Where the gradient is the same at every sample of a map and
    positive (a layer followed by global average pooling and a linear layer
    with positive weights) this equals Grad-CAM. Values are in arbitrary units
    (``a.u.`` on figures), as Grad-CAM's.

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

    def _combine(self, activations, gradients):
        return (gradients.relu() * activations).sum(dim=1)


@register_method
class ScoreCAM(FeatureMapMethod):
    """Score-CAM: feature maps weighed by masked scores :footcite:`WangEtAl2020`.

    Each feature map ``A_k`` is interpolated to the input's samples and
    rescaled to [0, 1] per epoch, giving a mask ``H_k``; the input multiplied
    by the mask (so the masked-out part is zero, with no other baseline) is
    passed through the network. The weight ``w_k`` is the target's softmax
    probability (over the classes) for that masked input, as in the authors'
    implementation, and the map is ``ReLU(sum_k w_k A_k)``. (torch-cam
    instead normalizes the target logits of the masked inputs by a softmax
    over the maps.)
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
    differentiates = False

    @fill_doc
    def attribute(self, inputs, target, *, layer=None, relu=True, softmax=True):
        """Return the Score-CAM map on the input's samples.

        Parameters
        ----------
        %(inputs_target)s
        %(cam_layer)s
        %(cam_relu)s
        softmax : bool
            Weigh each feature map by the target's softmax probability on the
            masked input, as in the authors' implementation; False uses the
            target logit.

        Returns
        -------
        %(cam_attribution)s
        """
        _validate_type(softmax, bool, "softmax")
        layer = self._feature_layer(inputs, layer)
        self._check_every_path_through(inputs, layer)
        with torch.no_grad():
            _, outputs = forward_recording(self.module, inputs, [layer.module])
            activations = feature_maps(outputs[layer.module])
            masks = _min_max_scale(
                layer.grid.upsample(activations, inputs.shape[-1]), dims=(2, 3)
            )
            scores = []
            for map_index in range(activations.shape[1]):
                logits = self.module(inputs * masks[:, map_index])
                if softmax:
                    # A binary classifier of one score gives its own (the
                    # softmax of its two logits was sigmoid(2 z)).
                    probabilities = getattr(self.module, "output_probabilities", None)
                    logits = (
                        logits.softmax(dim=1)
                        if probabilities is None
                        else probabilities(logits)
                    )
                scores.append(target_logits(logits, target))
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
    piecewise linear: for EEGNet the returned terms leave out its "implicit
    biases", so they do not sum to the logit.

    The decomposition is checked on every epoch: with the implicit bias
    ``g(z) - g'(z) z`` of each nonlinearity layer added, the terms sum to the
    logit exactly for networks of those layers, pooling and reshaping. A
    network where they do not holds an offset or an operation the terms leave
    out, and is refused.

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
            bias = batch_norm_affine(layer, shown_layer_name(name, module))[1]
        else:
            bias = None
        if bias is not None:
            biases[layer] = (name, bias.detach())
    nonlinearities = [m for m in module.modules() if isinstance(m, NONLINEARITIES)]
    with torch.enable_grad():
        inputs = inputs.detach().requires_grad_()
        # Intact: a layer working in place (ReLU(inplace=True)) after a
        # biased one would overwrite its output, and with it the gradient
        # that weighs the bias; one with ELU(inplace=True) would overwrite
        # the input at which its implicit bias is taken.
        with record_calls(module, [*biases, *nonlinearities], intact=True) as calls:
            logits = module(inputs)
        outputs = {call.module: call.output for call in calls if call.module in biases}
        nonlinear_calls = [call for call in calls if call.module not in biases]
        tensors = [inputs, *outputs.values(), *(c.output for c in nonlinear_calls)]
        gradients = torch.autograd.grad(
            target_logits(logits, target).sum(), tensors, allow_unused=True
        )
    # A layer computed in forward off the way to the logits (an auxiliary
    # head of training) has no gradient: it adds nothing to them.
    gradients = [
        torch.zeros_like(tensor) if gradient is None else gradient
        for gradient, tensor in zip(gradients, tensors, strict=True)
    ]
    bias_terms = {}
    for layer, gradient in zip(outputs, gradients[1 : 1 + len(outputs)], strict=True):
        name, bias = biases[layer]
        if not isinstance(layer, DENSE):
            # Convolutions and batch norms add their bias along axis 1 (the
            # maps); a dense layer adds it along the last axis, also when it
            # runs on each token of (batch, tokens, features).
            bias = bias.reshape(-1, *[1] * (gradient.ndim - 2))
        bias_terms[name] = gradient * bias
    input_term = gradients[0] * inputs.detach()
    implicit_terms = [
        gradient * _implicit_bias(call)
        for call, gradient in zip(
            nonlinear_calls, gradients[1 + len(outputs) :], strict=True
        )
    ]
    _check_decomposition(
        target_logits(logits, target).detach(),
        [input_term, *bias_terms.values(), *implicit_terms],
    )
    return input_term, bias_terms


def _implicit_bias(call):
    """Return ``g(z) - g'(z) z`` of a nonlinearity's call: what it adds at ``z``."""
    z = call.input.detach().clone().requires_grad_()
    with torch.enable_grad():
        output = call.module(z.clone())  # a layer may work in place
        slope = torch.autograd.grad(output.sum(), z)[0]
    return (output - slope * z).detach()


def _check_decomposition(logit, terms):
    """Refuse terms that do not sum to the target logit of each epoch.

    The tolerance is float32's, relative to the terms' and the logit's size.
    Layers that run on windows of the epochs (a cropped classifier's) give
    terms of another batch size, whose share of each epoch is unknown: the
    sums over the batch are compared.
    """
    if any(term.shape[0] != len(logit) for term in terms):
        logit = logit.sum(dim=0, keepdim=True)
        terms = [term.reshape(1, -1) for term in terms]
    sums = torch.stack([term.double().flatten(1).sum(dim=1) for term in terms])
    size = sums.abs().sum(dim=0) + logit.double().abs()
    missed = (logit.double() - sums.sum(dim=0)).abs()
    if bool((missed <= 1e-4 * size).all()):
        return
    worst = int(torch.argmax(missed / size))
    raise ValueError(
        "FullGrad's decomposition does not hold on this network: its terms (the "
        "input, the biases of convolutions, dense layers and batch norms, and "
        "what nonlinearity layers add) sum to "
        f"{float(sums[:, worst].sum()):.4g} where the logit is "
        f"{float(logit[worst]):.4g}. Something there adds to the data or "
        "combines it otherwise, and would be left out of the map: a bias under "
        "another name, a normalization other than batch norm, attention or a "
        "recurrent layer, a bias a parent layer applies through "
        "torch.nn.functional, a layer called twice, or a nonlinearity applied as "
        "a function rather than a layer (e.g. a log). Integrated gradients and "
        "saliency need no such decomposition (nor does Grad-CAM, which checks "
        "the layers it follows in turn)."
    )


@register_method
class FullGrad(FeatureMapMethod):
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
      before it (EEGNet's ``temporal_bn``, a batch norm or depthwise
      convolution of a ``(batch, channels, time)`` input) keep one row per
      channel.
    - Bias terms are interpolated along time only, linearly between the
      receptive-field centers of the layer's samples (the paper resizes
      bilinearly with aligned corners).
    - Batch norm in evaluation mode contributes its effective bias
      ``beta - gamma * running_mean / sqrt(running_var + eps)``.
    - Dense layers have no time axis and are left out of the map, as in the
      authors' code (their terms are still part of the decomposition); so are
      dense layers applied to each token of (batch, tokens, features), as in
      transformer-style networks, whose output's last axis is features, and
      layers with one sample per feature map, such as a convolution spanning
      all remaining times as classifier.
    - EEGNet's ELU is not piecewise linear; its implicit biases are left
      out of the map (as in the authors' code), so the map's terms do not
      add up to the logit exactly.
    - The decomposition is checked on every epoch: with what each
      nonlinearity layer adds (its implicit bias ``g(z) - g'(z) z``, zero for
      ReLU), the terms must sum to the logit. A network where they do not
      (an LSTM's or attention's biases, a layer norm, a learned offset, a
      bias a parent applies through ``torch.nn.functional``, a log) is
      refused, as an offset left out would change every term's share
      without a word. What only multiplies (gains, masks, a temperature) is
      kept.

    References
    ----------
    .. footbibliography::
    """

    name = "full_grad"
    from_zero = True
    _maps = "FullGrad's bias terms"

    def _advise(self, choice):
        # Every layer with a bias is drawn: there is no other layer to choose.
        return (
            "FullGrad draws the bias term of every layer with a bias, and it takes "
            "no layer: use a gradient method (e.g. integrated_gradients or "
            "saliency) for this network."
        )

    @fill_doc
    def attribute(self, inputs, target):
        """Return the FullGrad map on the input's samples.

        Parameters
        ----------
        %(inputs_target)s

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
            if (
                isinstance(self.module.get_submodule(name), DENSE)
                or bias_term[0, 0].numel() == 1
            ):
                # A dense layer mixes its input's last axis, whatever that was,
                # so its output has no time axis to draw, also when it runs on
                # each token of (batch, tokens, features); nor has a
                # convolution spanning all remaining times (braindecode's
                # conv_classifier), with one value per map.
                continue
            layer = self._feature_layer(inputs, name)
            if bias_term.ndim == 3 and self._rows_are_channels(
                inputs, layer.name, layer.module
            ):
                # (batch, channels, time) before the channels are mixed (a
                # batch norm of the input, a depthwise convolution): summed as
                # maps, a bias of one channel was spread over all of them.
                bias_term = bias_term[:, None]
            term = _min_max_scale(feature_maps(bias_term).abs(), dims=(1, 2, 3))
            term = term.sum(dim=1)
            saliency = saliency + self._on_inputs(term, layer.grid, inputs)
        return saliency
