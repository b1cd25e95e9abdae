"""Feature layers of class activation maps: which layer, its maps, its time grid.

A CAM is computed on the feature maps of one layer (see
:mod:`mne_xai.attribution.cam` for how the default layer is chosen) and
placed back on the input's times through :class:`TimeGrid`, the receptive-field
centers of the layer's samples.
"""

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import torch
from mne.utils import _check_option, _validate_type
from torch import nn

from .._graph import (
    ADAPTIVE_POOLING,
    ANY_CONVOLUTION,
    DENSE,
    NONLINEARITIES,
    PADDING,
    SLIDING_WINDOWS,
    foreign_parameter_free,
    input_gradient,
    layer_name,
    named_layers,
    outputs_held,
    padding_along_time,
    record_calls,
    regular_window,
    sample_reading_outside_its_field,
    trace_layers,
    window_along_time,
)
from .._network import WindowAverage
from .._random import fixed_noise
from ._propagation import _consumers, _forward_with_layer_nodes, node_kind
from ._registry import AttributionMethod


@dataclass(frozen=True)
class TimeGrid:
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
    #: Width of a layer sample's receptive field, in input samples.
    span: float = 1.0

    def upsample(self, maps, n_times):
        """Interpolate ``maps`` (..., n_layer_times) to (..., n_times)."""
        n_layer_times = maps.shape[-1]
        times = torch.arange(n_times, dtype=maps.dtype, device=maps.device)
        position = ((times - self.first_center) / self.step).clamp(0, n_layer_times - 1)
        left = position.floor().long()
        right = (left + 1).clamp(max=n_layer_times - 1)
        weight = position - left
        return maps[..., left] * (1 - weight) + maps[..., right] * weight


def choose_layer_or_gradient(choice):
    """Advise ``choice`` (another layer) or a gradient method for a refused layer."""
    return (
        f"Choose {choice}, or a gradient method (e.g. integrated_gradients or "
        "saliency)."
    )


def time_grid(calls, layer, *, advise=choose_layer_or_gradient, is_gating=None):
    """Compose the sliding windows called up to ``layer`` into its time grid.

    Time must stay on the last axis of every layer's input and output, except
    in parameter-free modules of other libraries (braindecode's ``Ensure4d``,
    einops' ``Rearrange``), which may move it away as long as the next layer
    finds it back on the last axis with its length: braindecode's EEGNet goes
    from (batch, channels, time) through (batch, channels, time, 1) to
    (batch, 1, channels, time). ``advise`` words the way out of a refusal
    from the layer to choose instead (see :meth:`FeatureMapMethod._advise`).
    The layers of attention gates (``is_gating``, see :func:`gating_layers`)
    are passed over: a gate's global pooling left one time sample on the
    grid, and every layer after a squeeze-and-excitation gate was refused.
    A padding layer shifts the grid by the samples it adds before time.
    """
    first_center, step, receptive = 0.0, 1.0, 1.0
    # Named in messages as in the user's network.
    shown = next((call.shown_name for call in calls if call.name == layer), layer)
    n_layer_times = calls[0].input.shape[-1]
    passed_over = None
    for call in calls:
        if call.name != layer and is_gating is not None and is_gating(call.module):
            continue  # it scales the maps on the grid, off the grid's path
        module = regular_window(call)
        moves_time = not isinstance(module, SLIDING_WINDOWS)
        if moves_time and foreign_parameter_free(call.module) and call.name != layer:
            passed_over = call
            continue
        if call.input.shape[-1] != n_layer_times:
            # Blamed only if the call reads what it returned: the next of
            # parallel branches reads their input (MSVTNet's branches each end
            # with a Rearrange), which no module before it cropped.
            if passed_over is not None and passed_over.output.shape != call.input.shape:
                passed_over = None
            raise _unaligned(
                shown, call, "receives", call.input, n_layer_times, advise, passed_over
            )
        passed_over = None
        if isinstance(module, SLIDING_WINDOWS):
            left_padding, span, stride, n_layer_times = window_along_time(
                module, n_layer_times
            )
            first_center += (span / 2 - left_padding) * step
            receptive += span * step
            step *= stride
        elif isinstance(module, PADDING):
            before, after = padding_along_time(module)
            first_center -= before * step
            n_layer_times += before + after
        if call.output.shape[-1] != n_layer_times:
            raise _unaligned(shown, call, "returns", call.output, n_layer_times, advise)
        if call.name == layer:
            return TimeGrid(first_center, step, receptive)


def _unaligned(layer, call, verb, tensor, n_layer_times, advise, passed_over=None):
    """Return the error for a call whose time axis leaves the grid of ``layer``.

    The module of another library ``passed_over`` before ``call``
    (braindecode's ``Chomp1d`` crops time) is named, where the error named
    only the layer after it.
    """
    start = (
        f"Cannot place the samples of layer {layer!r} on the input's times: "
        f"{call.shown_name!r} ({type(call.module).__name__}) {verb} shape "
        f"{tuple(tensor.shape)}"
    )
    advice = advise("a layer before it")
    n_received = call.input.shape[-1]
    if verb == "receives":
        expected = f"where the layers before it leave {n_layer_times} time samples"
    elif isinstance(call.module, ADAPTIVE_POOLING):
        expected = (
            f"from the {n_received} time samples it receives: an adaptive pooling "
            "is placed on the grid where its output length divides its input's "
            "(windows of one size, each starting where the last ended), which "
            "this one does not"
        )
    elif isinstance(call.module, SLIDING_WINDOWS):
        expected = (
            f"where its window over the {n_received} time samples it receives "
            f"gives {n_layer_times}"
        )
    else:
        expected = (
            f"from the {n_received} time samples it receives, which a layer other "
            "than a window is taken to keep"
        )
    if passed_over is not None:
        return ValueError(
            f"{start} {expected}, on the last axis: {passed_over.shown_name!r} "
            f"({type(passed_over.module).__name__}) before it, a module of another "
            "library, changed their number. The time grid passes over such "
            "modules as ones that move time to another axis and back at most; it "
            f"does not follow a crop or padding inside them. {advice}"
        )
    return ValueError(
        f"{start} {expected}, on the last axis. Time moved to "
        "another axis, changed in a way other than a convolution or pooling "
        "window, or runs through parallel branches (as in inception modules), "
        f"which the time grid does not follow. {advice}"
    )


def gating_layers(module, inputs):
    """Return a test of whether a layer of ``module`` only gates maps it is computed from.

    An attention block (squeeze-and-excitation, ECA, CBAM) computes a gate
    from the maps it receives, through pooled descriptors and layers of its
    own, and returns those maps times the gate. The gate's layers are no
    block of the network's data path: a gate's convolution reads channel
    descriptors (ECA: the channels' means on the last axis, where time is
    expected) or maps pooled over the channels (CBAM), and its output reaches
    the logits only as a factor that scales the maps. Such a layer is
    *gating*: every path from its output to the logits passes an elementwise
    product whose other factor is a tensor the layer was computed from.
    Products of two branches that do not read each other (a bilinear layer)
    and sums of branches (inception modules, skip connections) gate nothing.
    A layer whose output the logits do not depend on (an auxiliary head
    computed in forward and not returned) carries nothing to them either,
    and counts as gating: taken for the last block, it was refused for the
    paths that bypass it.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    inputs : torch.Tensor
        A batch it accepts (its first epoch is run, with gradient).

    Returns
    -------
    is_gating : callable
        Maps a leaf layer of ``module`` to whether each of its calls is gating
        (True for a layer whose output the logits do not depend on).
    """
    example = inputs[:1].detach().requires_grad_()
    leaves = [layer for _, layer in named_layers(module)]
    logits, calls, _, _ = _forward_with_layer_nodes(module, example, leaves)
    consumers = {} if logits.grad_fn is None else _consumers(logits.grad_fn)
    output_nodes = defaultdict(list)
    for node, (layer, _) in calls.items():
        if node in consumers:
            output_nodes[layer].append(node)

    def gated_at(product, factor, sources):
        # ``factor`` reached ``product``; the other factor, if it is one of
        # the tensors the layer read, is what the layer's output scales.
        other = [child for child, _ in product.next_functions if child is not factor]
        return node_kind(product) == "Mul" and len(other) == 1 and other[0] in sources

    def gating(output_node):
        sources = _consumers(output_node)  # the nodes it is computed from
        stack, reached = [output_node], {output_node}
        while stack:
            node = stack.pop()
            for consumer in consumers[node]:
                if consumer in reached or gated_at(consumer, node, sources):
                    continue
                reached.add(consumer)
                stack.append(consumer)
        return logits.grad_fn not in reached

    @cache
    def is_gating(layer):
        # True, as all() of nothing, where no call of the layer reaches the logits.
        return all(gating(node) for node in output_nodes.get(layer, []))

    return is_gating


def default_layer(calls, is_gating):
    """Name the first nonlinearity after the last convolution, else that convolution.

    The nonlinearity must be in the convolution's block: before the maps are
    flattened or their time is pooled away (a ReLU after global pooling has no
    time to map).

    A convolution whose output has one sample on every axis after the maps
    is no feature map where its input has one too (a squeeze-and-excitation
    block, a 1x1 head on pooled maps) or no weighted layer follows it (a
    classifier). The
    last convolution with feature maps must have time last: where it does
    not, an earlier block was taken in silence, and explained in place of the
    last (also where the last block's convolution spans the whole epoch, as
    InterpretableCNN's on epochs one kernel long).

    Layers of attention blocks' gates (``is_gating``, see
    :func:`gating_layers`) are passed over: ECA's convolution of the
    channels' means, CBAM's of the maps pooled over channels, were taken as
    the last convolution and refused (their last axis is not time, or their
    input was not on the time grid), where the maps they scale are the last
    block's. So are the layers of a head the logits do not depend on.
    """

    def one_sample(tensor):
        return all(size == 1 for size in tensor.shape[2:])

    def feature_map(index):
        call = calls[index]
        if not one_sample(call.output):
            return True
        return not one_sample(call.input) and any(
            isinstance(later.module, ANY_CONVOLUTION + DENSE)
            for later in calls[index + 1 :]
        )

    last = next(
        (
            index
            for index in reversed(range(len(calls)))
            if isinstance(calls[index].module, ANY_CONVOLUTION)
            and feature_map(index)
            and not is_gating(calls[index].module)
        ),
        None,
    )
    if last is None:
        raise ValueError(
            "The network has no convolution layer with feature maps, so there are "
            "none for a class activation map; pass layer=<name of a module>."
        )
    last_convolution = calls[last]
    if last_convolution.output.shape[-1] <= 1:
        # e.g. braindecode's Deep4Net: (batch, maps, time, 1) after its
        # spatial convolution, the classifier a convolution to (.., 1, 1).
        raise ValueError(
            f"The network's last convolution returns feature maps with one sample "
            f"on the last axis ({last_convolution.shown_name!r}: "
            f"{tuple(last_convolution.output.shape)}); class activation maps need "
            "time on the last axis. Use a gradient method (e.g. "
            "integrated_gradients or saliency) for this network."
        )
    for call in calls[last + 1 :]:
        if is_gating(call.module):
            continue
        if (
            call.output.ndim != last_convolution.output.ndim
            or call.output.shape[-1] <= 1
        ):
            break  # flattened or pooled over time: the block is over
        if isinstance(call.module, NONLINEARITIES):
            return call.name
    return last_convolution.name


def feature_maps(tensor):
    """Feature maps as (batch, maps, height, time); Conv1d maps get height 1."""
    return tensor.unsqueeze(2) if tensor.ndim == 3 else tensor


@dataclass(frozen=True)
class FeatureLayer:
    """A layer whose outputs are feature maps (batch, maps, height, time).

    ``name`` as ``get_submodule`` takes it, ``shown_name`` as the user's
    network has it, for messages (see :class:`~mne_xai._graph.LayerCall`).
    """

    name: str
    module: nn.Module
    grid: TimeGrid
    shown_name: str


def forward_recording(module, inputs, layers):
    """Return the logits of ``inputs`` and the output of ``layers`` in that pass.

    Each output is the layer's own, also where the next layer works in place
    (a batch norm before ``nn.ELU(inplace=True)``): the maps and the gradient
    on them were the activation's.
    """
    with record_calls(module, layers, intact=True) as calls:
        logits = module(inputs)
    return logits, {call.module: call.output for call in calls}


def target_logits(logits, target):
    """Select the logit of each epoch's target class, shape (batch,)."""
    return logits.gather(1, target.reshape(-1, 1)).squeeze(1)


class FeatureMapMethod(AttributionMethod):
    """Layer choice, activations, gradients and upsampling shared by the CAMs."""

    layerwise = True
    # Maps of a layer's units, not of the input: guided Grad-CAM's gradient
    # factor does not make them logit per volt.
    unit = "a.u."
    #: What the refusals of a layer call the maps drawn from it.
    _maps = "class activation maps"

    _calls = None
    _default_layer = None
    _is_gating = None

    def __init__(self, module):
        super().__init__(module)
        self._layers_checked = set()

    def _advise(self, choice):
        """Word the way out of a refusal of a layer: ``choice``, or a gradient method."""
        return choose_layer_or_gradient(choice)

    def _layer_calls(self, inputs):
        """List the leaf-module calls of a forward pass (traced once per explainer)."""
        if self._calls is None:
            self._calls = trace_layers(self.module, inputs[:1])
        return self._calls

    def _feature_layer(self, inputs, layer):
        """Resolve ``layer`` (None for the default) to a :class:`FeatureLayer`."""
        _validate_type(layer, (str, None), "layer")
        calls = self._layer_calls(inputs)
        names = [call.name for call in calls]
        if self._is_gating is None:  # once per explainer, as the trace
            self._is_gating = gating_layers(self.module, inputs)
        if layer is None:
            if self._default_layer is None:
                self._default_layer = default_layer(calls, self._is_gating)
            layer = self._default_layer
        else:
            layer = layer_name(layer, {call.name: call.shown_name for call in calls})
        if layer not in names:
            # Listed as the user's network names them (both forms are taken);
            # then refused whatever it is, not being a layer's path.
            shown_names = list(dict.fromkeys(call.shown_name for call in calls))
            _check_option("layer", layer, shown_names)
            _check_option("layer", layer, names)
        call = next(call for call in calls if call.name == layer)
        shown = call.shown_name  # for messages
        if names.count(layer) > 1:
            # One module, several feature maps (e.g. one nn.ReLU used twice): the
            # maps would come from one call and their times from another.
            raise ValueError(
                f"Layer {shown!r} is called {names.count(layer)} times in a forward "
                "pass, so it has no single feature map; give each call its own "
                "module. " + self._advise("another layer with layer=")
            )
        n_channels, n_times = inputs.shape[1:]
        if isinstance(self.module, WindowAverage):
            raise ValueError(
                "A CroppedClassifier's feature maps are those of each window it "
                "averages, on the window's times, not the epoch's; class "
                "activation maps have no single time grid for them. Use a "
                "gradient method (e.g. integrated_gradients or saliency), or "
                "explain the window network (cropped.estimator_) on epochs cropped "
                "to one window."
            )
        if len(call.output) != 1:  # traced on one epoch
            # e.g. a temporal filter shared by all channels, run on
            # x.reshape(n_epochs * n_channels, 1, n_times): maps of every
            # channel summed as maps of one epoch, or a map per channel.
            raise ValueError(
                f"Layer {shown!r} returns a batch of {len(call.output)} for one "
                f"epoch (shape {tuple(call.output.shape)}): its batch axis holds "
                "more than the epochs (such as epochs x channels, for a filter "
                "shared by all channels), and its maps cannot be placed on them. "
                "Class activation maps need a layer with one map per epoch "
                "(layer=, after the batch axis holds the epochs again), and "
                "FullGrad needs it of every layer with a bias; gradient methods "
                "(e.g. integrated_gradients or saliency) need neither."
            )
        first = calls[0]
        if first.input.shape[-1] != n_times:
            # e.g. braindecode's (batch, channels, time, 1) layout: the maps'
            # last axis would not be time, and the map would not say when.
            raise ValueError(
                f"The network's first layer {first.shown_name!r} receives shape "
                f"{tuple(first.input.shape)}, whose last axis is not the input's "
                f"{n_times} time samples; {self._maps} need time on the "
                "last axis of the feature maps. Use a gradient method (e.g. "
                "integrated_gradients or saliency) for this network."
            )
        if call.output.shape[-1] < 2:
            raise ValueError(
                f"Layer {shown!r} returns shape {tuple(call.output.shape)}, with "
                f"one sample on the last axis, where {self._maps} need "
                "time: time is pooled away there, or on another axis (as in "
                "braindecode's (batch, maps, time, 1) layout). "
                f"{self._advise('a layer with time on the last axis')}"
            )
        one_dimensional = call.output.ndim == 3  # Conv1d maps: (batch, maps, time)
        if not one_dimensional and (
            call.output.ndim != 4 or call.output.shape[2] not in (1, n_channels)
        ):
            raise ValueError(
                f"Layer {shown!r} returns shape {tuple(call.output.shape)}; "
                f"{self._maps} need feature maps (batch, maps, time) or (batch, "
                f"maps, height, time) with height 1 (after the spatial convolution) "
                f"or {n_channels} (one row per channel). "
                + self._advise("a convolution block's layer")
            )
        if (
            not one_dimensional
            and call.output.shape[2] > 1
            and not self._rows_are_channels(inputs, layer, call.module)
        ):
            # e.g. a spatial filter to as many virtual channels as electrodes
            # before a temporal convolution: each row mixes every electrode.
            raise ValueError(
                f"Layer {shown!r} returns shape {tuple(call.output.shape)}, "
                f"{n_channels} rows as the input has channels, but its rows are "
                "not the channels: a channel of the input changes other rows too "
                "(a layer before it mixes the channels, such as a spatial "
                "filter), so its maps cannot be placed on the channels. "
                + self._advise(
                    "a layer after the channels are mixed into one row (height 1)"
                )
            )
        grid = time_grid(calls, layer, advise=self._advise, is_gating=self._is_gating)
        feature_layer = FeatureLayer(layer, call.module, grid, shown)
        self._check_times_on_grid(inputs, feature_layer)
        return feature_layer

    @torch.no_grad()
    def _check_times_on_grid(self, inputs, layer):
        """Refuse a layer whose samples do not answer to the input's times the grid says.

        The grid follows the lengths the sliding windows leave, so a network
        that reorders time and keeps its length (``torch.flip``, ``roll``, a
        dense layer over time) passed, and the maps were placed on mirrored or
        shifted times. Seeded noise at a few input times (a quarter, half and
        three quarters into the epoch) must change the layer most within the
        receptive field the grid puts around them, give or take one of the
        layer's steps: the map is placed between its samples' centers, so it
        cannot place time finer than a step. Probed once per layer.
        """
        checked = self.__dict__.setdefault("_grids_checked", set())
        if layer.name in checked:
            return
        grid = layer.grid
        n_channels, n_times = inputs.shape[1:]
        probe_times = [n_times // 4, n_times // 2, (3 * n_times) // 4]
        noise = fixed_noise(n_channels, inputs)
        noise = noise * inputs[:1].abs().amax().clamp(min=1e-12)
        probes = inputs[:1].detach().repeat(1 + len(probe_times), 1, 1)
        for row, time in enumerate(probe_times, 1):
            probes[row, :, time] += noise
        output = forward_recording(self.module, probes, [layer.module])[1][layer.module]
        change = (output[1:] - output[:1]).abs().flatten(1, -2).sum(dim=1)
        centers = grid.first_center + grid.step * torch.arange(
            change.shape[-1], dtype=torch.float64
        )
        for time, changed in zip(probe_times, change, strict=True):
            if not bool(changed.max() > 0):
                continue  # nothing reached the layer (dead units): no evidence
            answered = float(centers[int(changed.argmax())])
            if abs(answered - time) > grid.span / 2 + grid.step:
                raise ValueError(
                    f"Cannot place the samples of layer {layer.shown_name!r} on the "
                    f"input's times: a change of the input at sample {time} changes "
                    f"the layer most at its sample {int(changed.argmax())}, centered "
                    f"on input sample {answered:g}, outside the receptive field "
                    f"its convolutions and poolings give ({grid.span:g} samples "
                    f"around {time}, give or take the layer's step of "
                    f"{grid.step:g}). The network reorders or mixes time (e.g. "
                    "torch.flip or roll, a dense layer over time, a Fourier "
                    "transform) before it. "
                    f"{self._advise('a layer before that')}"
                )
        self._check_reads_within_fields(probes, layer, n_layer_times=change.shape[-1])
        checked.add(layer.name)

    def _check_reads_within_fields(self, inputs, layer, n_layer_times):
        """Refuse a layer whose samples read input times outside their receptive fields.

        The noise probe above allows half a field and a step: a delay of 3
        samples or a roll of 4 before a kernel of 9 put the maps 3 or 4
        samples off without a word (see
        :func:`~mne_xai._graph.sample_reading_outside_its_field`). The layers
        of attention gates are held constant: they read the whole epoch to
        scale the maps.
        """
        grid = layer.grid
        gates = [
            call.module
            for call in self._layer_calls(inputs)
            if call.module is not layer.module
            # A layer returning its input (dropout in evaluation mode) is no
            # gate, though it adds no node for the logits to reach: held, it
            # cut the layer after it from the input, and nothing was read.
            and call.output is not call.input
            and self._is_gating(call.module)
        ]
        outside = sample_reading_outside_its_field(
            self.module,
            layer.module,
            inputs,
            first_center=grid.first_center,
            step=grid.step,
            width=grid.span,
            n_samples=n_layer_times,
            held=gates,
        )
        if outside is None:
            return
        sample, center, (first, last) = outside
        half = (grid.span - 1) / 2
        raise ValueError(
            f"Cannot place the samples of layer {layer.shown_name!r} on the "
            f"input's times: its sample {sample}, placed at input sample "
            f"{center:g} with a receptive field of {grid.span:g} samples "
            f"({center - half:g} to {center + half:g}) from its convolutions "
            f"and poolings, reads input samples {first} to {last}. The "
            "network shifts or mixes time before it in a way other than a "
            "convolution or pooling window (e.g. a delay, torch.roll, a crop "
            "and padding in forward, attention or a dense layer over time). "
            f"{self._advise('a layer before that')}"
        )

    @torch.no_grad()
    def _rows_are_channels(self, inputs, name, module):
        """Whether the rows of a layer's output are the input's channels.

        The rows are the second-last axis: of (batch, rows, time), or of
        (batch, maps, rows, time). So they are when each input channel alone
        changes its own row and no other, as before any layer that mixes the
        channels. Probed once per layer, with seeded noise on one channel at
        a time: probed with the first epoch explained, a flat channel of that
        epoch (a reference recorded as zeros) changed no row, and the
        decision flipped for every epoch explained after it.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            A batch the network accepts (for its shape, type and device).
        name : str
            The layer's name, under which the answer is kept.
        module : torch.nn.Module
            The layer.
        """
        known = self.__dict__.setdefault("_channel_rows", {})
        if name not in known:
            n_channels, n_times = inputs.shape[1:]
            noise = fixed_noise((n_channels, n_times), inputs)
            eye = torch.eye(n_channels, dtype=inputs.dtype, device=inputs.device)
            probes = torch.cat([torch.zeros_like(noise[None]), noise * eye[:, :, None]])
            output = forward_recording(self.module, probes, [module])[1][module]
            rows = output.movedim(-2, 1).flatten(2)  # (1 + n_channels, rows, ...)
            changed = (rows[1:] - rows[0]).abs().amax(dim=-1)  # (channel, row)
            known[name] = (
                rows.shape[1] == n_channels
                and bool(changed.any())
                and torch.equal(changed > 1e-6 * changed.max(), eye.bool())
            )
        return known[name]

    def _check_every_path_through(self, inputs, layer):
        """Refuse a layer that some of the input's paths to the logits bypass.

        A class activation map explains the logits through one layer's feature
        maps. Parallel branches joined after it, or a skip connection around
        it, carry evidence the map leaves out: on two same-padded branches, the
        default layer (in the branch called last) showed a bump every epoch
        holds and nothing of the other branch's class evidence. With the
        layer's output held constant (detached), no logit may still change
        with the input.
        """
        if layer.name in self._layers_checked:
            return
        example = inputs[:2].detach().requires_grad_()
        with outputs_held([layer.module]), torch.enable_grad():
            logits = self.module(example)
            gradients = [input_gradient(logit, example) for logit in logits.T]
        bypassing = any(
            gradient is not None and bool(gradient.abs().max() > 0)
            for gradient in gradients
        )
        if bypassing:
            raise ValueError(
                f"The logits depend on the input through other paths than layer "
                f"{layer.shown_name!r} (parallel branches joined after it, or a skip "
                "connection around it), whose evidence its class activation map "
                "would leave out. Choose a layer every path goes through, after "
                "the branches join (layer=), or a gradient method (e.g. "
                "integrated_gradients or saliency)."
            )
        self._layers_checked.add(layer.name)

    def _activations_and_gradients(self, inputs, target, layer):
        """Return the layer's feature maps and the target logit's gradient on them."""
        with torch.enable_grad():
            logits, outputs = forward_recording(
                self.module, inputs.detach().requires_grad_(), [layer.module]
            )
            activations = outputs[layer.module]
            (gradients,) = torch.autograd.grad(
                target_logits(logits, target).sum(), activations
            )
        return feature_maps(activations.detach()), feature_maps(gradients)

    @staticmethod
    def _on_inputs(layer_map, grid, inputs):
        """Put a (batch, height, n_layer_times) map on the input's samples."""
        upsampled = grid.upsample(layer_map, inputs.shape[-1])
        return upsampled.expand(-1, inputs.shape[1], -1)
