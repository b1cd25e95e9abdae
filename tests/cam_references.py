"""Class activation maps and FullGrad computed from their papers, for the tests.

Plain torch only, nothing of :mod:`mne_xai.attribution`: forward hooks give a
layer's output, autograd the gradients on it, and a layer map is placed on the
input's samples by linear interpolation between the centers of its samples'
receptive fields, measured from input gradients (the nearest value beyond
them). Each function follows its paper where mne_xai's documentation does, and
the documentation where it says it departs from the paper. This is a helper
module for the tests: it holds no tests.
"""

import numpy as np
import torch
from torch import nn

#: Layers FullGrad counts the bias of.
BIASED = (nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.Linear)


def layer_output(network, layer, inputs):
    """Logits of ``inputs`` and the output of ``layer`` (a module of ``network``)."""
    captured = {}
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.update(out=out))
    try:
        logits = network(inputs)
    finally:
        handle.remove()
    return logits, captured["out"]


def measured_centers(network, layer, shape, samples=None, n_epochs=6):
    """The center of each layer sample's receptive field, from its input gradient.

    The extent of the input samples a sample's gradient reaches on a few noise
    epochs of ``shape`` (n_channels, n_times), in float64 (the winners of max
    pooling vary); samples whose field the edges clip (narrower than the
    widest, or touching an edge of the epoch or of the times read) are None.
    ``samples`` selects the layer samples measured (all by default).
    """
    n_times = shape[-1]
    inputs = torch.randn(n_epochs, *shape, dtype=torch.float64, requires_grad=True)
    _, output = layer_output(network, layer, inputs)
    weights = torch.rand(output.shape[:-1], dtype=torch.float64) + 0.5
    if samples is None:
        samples = range(output.shape[-1])
    extents = []
    for sample in samples:
        (gradient,) = torch.autograd.grad(
            (output[..., sample] * weights).sum(), inputs, retain_graph=True
        )
        read = torch.nonzero(gradient.abs().sum(dim=(0, 1)) > 0).ravel()
        extents.append((int(read[0]), int(read[-1])) if len(read) else None)
    widest = max(last - first for first, last in filter(None, extents))
    # Not only the epoch's edges clip: also those of the times the network
    # reads at all (a pooling that drops the last samples), which padding
    # may reach from every sample.
    lowest = min(first for first, _ in filter(None, extents))
    highest = max(last for _, last in filter(None, extents))
    return [
        None
        if extent is None
        or extent[1] - extent[0] < widest
        or extent[0] in (0, lowest)
        or extent[1] in (n_times - 1, highest)
        else (extent[0] + extent[1]) / 2
        for extent in extents
    ]


def measured_line(network, layer, shape, n_samples=12, n_epochs=6):
    """``(first, step)`` of the line through ``layer``'s measured field centers.

    Measured at ``n_samples`` of the layer's samples spread over its time axis,
    on ``n_epochs`` noise epochs (see :func:`measured_centers`); None where
    fewer than two fields are unclipped. The centers must lie on the line.
    """
    with torch.no_grad():
        n_layer_times = layer_output(
            network, layer, torch.zeros(1, *shape, dtype=torch.float64)
        )[1].shape[-1]
    samples = np.unique(np.linspace(0, n_layer_times - 1, n_samples).round())
    centers = measured_centers(
        network, layer, shape, samples.astype(int).tolist(), n_epochs
    )
    inner = [(s, c) for s, c in zip(samples, centers, strict=True) if c is not None]
    if len(inner) < 2:
        return None
    samples, measured = np.array(inner).T
    step, first = np.polyfit(samples, measured, 1)
    np.testing.assert_allclose(first + step * samples, measured, atol=0.5)
    return first, step


def placed(layer_map, line, n_times):
    """Interpolate ``layer_map`` (..., n_layer_times) to (..., n_times) on ``line``."""
    layer_map = np.asarray(layer_map, dtype=np.float64)
    first, step = line
    centers = first + step * np.arange(layer_map.shape[-1])
    flat = layer_map.reshape(-1, layer_map.shape[-1])
    rows = [np.interp(np.arange(n_times), centers, row) for row in flat]
    return np.stack(rows).reshape(*layer_map.shape[:-1], n_times)


def _as_maps(tensor):
    """(batch, maps, time) as (batch, maps, 1, time); 4-D tensors unchanged."""
    return tensor[:, :, None] if tensor.ndim == 3 else tensor


def _target_logit(logits, target):
    return logits[torch.arange(len(target)), target]


def gradient_cam(network, layer, inputs, target, method, relu=True):
    """Grad-CAM, Grad-CAM++ or LayerCAM on ``layer``'s samples, (batch, height, time).

    Grad-CAM (Selvaraju et al. 2017): ``ReLU(sum_k mean(g_k) A_k)``. Grad-CAM++
    (Chattopadhay et al. 2018, eq. 19 with ``exp`` of the logit, its common
    factor dropped): ``w_k = sum_ij alpha_ij ReLU(g_ij)`` with ``alpha_ij =
    g_ij^2 / (2 g_ij^2 + sum_ab A_ab g_ij^3)`` (0 where that vanishes). LayerCAM
    (Jiang et al. 2021): ``ReLU(sum_k ReLU(g_k) * A_k)``. ``relu=False`` leaves
    out the outer ReLU.
    """
    inputs = inputs.detach().requires_grad_()
    logits, maps = layer_output(network, layer, inputs)
    (gradients,) = torch.autograd.grad(_target_logit(logits, target).sum(), maps)
    maps, gradients = _as_maps(maps.detach()), _as_maps(gradients)
    if method == "grad_cam":
        weighed = gradients.mean(dim=(2, 3), keepdim=True) * maps
    elif method == "grad_cam_plus_plus":
        total = maps.sum(dim=(2, 3), keepdim=True)
        numerator = gradients**2
        denominator = 2 * gradients**2 + total * gradients**3
        alpha = torch.zeros_like(gradients)
        nonzero = denominator != 0
        alpha[nonzero] = numerator[nonzero] / denominator[nonzero]
        weights = (alpha * gradients.clamp(min=0)).sum(dim=(2, 3), keepdim=True)
        weighed = weights * maps
    else:
        assert method == "layer_cam"
        weighed = gradients.clamp(min=0) * maps
    cam = weighed.sum(dim=1)
    return cam.clamp(min=0) if relu else cam


def score_cam(network, layer, inputs, target, line, softmax=True, relu=True):
    """Score-CAM (Wang et al. 2020) on ``layer``'s samples, (batch, height, time).

    Each map, placed on the input's samples and rescaled to [0, 1] over the
    epoch (height and time), masks the input; its weight is the target's
    softmax probability (``softmax``, as the authors' code) or logit on the
    masked input, 0 for a map constant over the epoch. The map is
    ``ReLU(sum_k w_k A_k)`` (without the ReLU if not ``relu``).
    """
    n_times = inputs.shape[-1]
    with torch.no_grad():
        maps = _as_maps(layer_output(network, layer, inputs)[1])
        up = torch.as_tensor(placed(maps.numpy(), line, n_times), dtype=inputs.dtype)
        weights = torch.zeros(maps.shape[:2], dtype=inputs.dtype)
        for k in range(maps.shape[1]):
            low = up[:, k].amin(dim=(1, 2), keepdim=True)
            span = up[:, k].amax(dim=(1, 2), keepdim=True) - low
            varies = span.flatten() > 0
            mask = (up[:, k] - low) / torch.where(span > 0, span, 1.0)
            scores = network(inputs * mask)
            if softmax:
                scores = scores.softmax(dim=1)
            weights[:, k] = torch.where(varies, _target_logit(scores, target), 0.0)
        cam = (weights[..., None, None] * maps).sum(dim=1)
    return cam.clamp(min=0) if relu else cam


def guided_backprop(network, inputs, target):
    """Guided backpropagation: at each ReLU or ELU, the positive part of the
    gradient where the unit's output is positive (mne_xai's documented rule at
    ELUs)."""

    def rule(module, grad_input, grad_output):
        return (grad_output[0].clamp(min=0) * (module.output > 0),)

    def keep(module, _inputs, output):
        module.output = output.detach()

    rectifiers = [m for m in network.modules() if isinstance(m, nn.ReLU | nn.ELU)]
    handles = [m.register_forward_hook(keep) for m in rectifiers]
    handles += [m.register_full_backward_hook(rule) for m in rectifiers]
    try:
        inputs = inputs.detach().requires_grad_()
        logits = network(inputs)
        (gradient,) = torch.autograd.grad(_target_logit(logits, target).sum(), inputs)
    finally:
        for handle in handles:
            handle.remove()
        for module in rectifiers:
            del module.output
    return gradient


def _effective_bias(layer):
    """A layer's bias; batch norm's ``beta - gamma * mean / sqrt(var + eps)``."""
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
        scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
        return (layer.bias - scale * layer.running_mean).detach()
    return layer.bias.detach()


def _rescaled(tensor):
    """Absolute value rescaled to [0, 1] per epoch (Srinivas & Fleuret's psi)."""
    tensor = tensor.abs()
    flat = tensor.flatten(1)
    low = flat.amin(dim=1)
    span = flat.amax(dim=1) - low
    shape = (-1,) + (1,) * (tensor.ndim - 1)
    scaled = (tensor - low.reshape(shape)) / torch.where(span > 0, span, 1.0).reshape(
        shape
    )
    return torch.where(span.reshape(shape) > 0, scaled, 0.0)


def full_grad(network, inputs, target, lines, channel_rows=()):
    """FullGrad (Srinivas & Fleuret 2019) on the input's samples.

    ``psi(input gradient x input)``, over channels and times of each epoch, plus,
    for every convolution and batch norm with a bias (dense layers and outputs
    with one time sample left out), ``psi(bias gradient x bias)`` summed over
    its maps and placed on ``lines[name]``. Layers named in ``channel_rows``
    return (batch, channels, time) with one row per input channel, kept as rows.
    """
    inputs = inputs.detach().requires_grad_()
    biased = {
        name: module
        for name, module in network.named_modules()
        if isinstance(module, BIASED) and module.bias is not None
    }
    outputs = {}
    handles = [
        module.register_forward_hook(
            lambda _m, _i, out, name=name: outputs.update({name: out})
        )
        for name, module in biased.items()
    ]
    try:
        logits = network(inputs)
    finally:
        for handle in handles:
            handle.remove()
    names = list(outputs)
    gradients = torch.autograd.grad(
        _target_logit(logits, target).sum(),
        [inputs, *(outputs[name] for name in names)],
        allow_unused=True,
    )
    n_channels, n_times = inputs.shape[1:]
    saliency = _rescaled(gradients[0] * inputs.detach()).numpy()
    for name, gradient in zip(names, gradients[1:], strict=True):
        module = biased[name]
        if isinstance(module, nn.Linear) or outputs[name].shape[-1] == 1:
            continue
        if gradient is None:
            gradient = torch.zeros_like(outputs[name])
        bias = _effective_bias(module)
        term = gradient * bias.reshape(-1, *[1] * (gradient.ndim - 2))
        if name in channel_rows:
            term = term[:, None]
        term = _rescaled(_as_maps(term)).sum(dim=1)
        term = placed(term.numpy(), lines[name], n_times)
        saliency = saliency + np.broadcast_to(term, saliency.shape)
    return saliency
