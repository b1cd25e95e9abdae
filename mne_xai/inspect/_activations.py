"""Activations of a network's layers for a set of epochs, streamed over batches."""

from dataclasses import dataclass

import mne
import numpy as np
import torch
from mne.utils import logger, verbose
from torch.nn.utils import parametrize

from .._checks import check_positive_int, compute_device
from .._convert import network_batches, start_time
from .._data_checks import check_outputs_finite
from .._docs import fill_doc
from .._graph import (
    CONVOLUTIONS,
    DENSE,
    PADDING,
    SLIDING_WINDOWS,
    layer_name,
    named_layers,
    padding_along_time,
    regular_window,
    sample_reading_outside_its_field,
    shown_layer_names,
    trace_layers,
    window_along_time,
)
from .._network import WindowAverage, as_network, sampling_rate
from .._outputs import epochs_array
from .._random import fixed_noise
from .._warnings import ignoring
from ..attribution._core import _check_outputs, private_module
from ..attribution._propagation import layers_computing_otherwise


def _check_logits(module, data, device, *, differentiates=False):
    """Check, on the first epochs, that the network returns logits of each epoch.

    Functions reading the network's output as logits (scores, decision
    gradients) would read the probabilities of a final softmax as logits;
    those that differentiate it also need autograd to see all of it.
    """
    first = next(iter(data.batches(4)))
    _check_outputs(
        module,
        torch.from_numpy(first).to(device),
        "this function",
        differentiates=differentiates,
    )


def data_rate(network, data, what):
    """Return the sampling rate of ``data``: that of Epochs, else the network's.

    A network fitted on arrays only assumes its rate (128 Hz) and reads Epochs
    at any rate, which they state: read at the assumed rate, activations of
    256 Hz epochs from 0.5 to 2.5 s ran to 4.5 s, and filters' frequencies
    were halved.

    Parameters
    ----------
    network : object
        A fitted classifier, as :func:`mne_xai.as_network` returns it.
    data : InputData | None
        The data, as ``_check_prediction_input`` returns them; None for the
        network's rate.
    what : str
        What is given in Hz, for the warning of an assumed rate.

    Returns
    -------
    sfreq : float | None
        The rate, None when unknown.
    """
    if data is not None and data.info is not None:
        return data.info["sfreq"]
    return sampling_rate(network, what)


def _not_called(layer, module):
    """Return the error for a layer that the forward pass never calls."""
    name = shown_layer_names(module)[layer]
    return ValueError(
        f"Layer {name!r} ({type(layer).__name__}) is not called in the network's "
        "forward pass: its parameters are used in a function of another module "
        "that also calls other layers (as a network whose forward convolves with "
        "a layer's weight), or not at all. Choose a layer that forward calls."
    )


def check_reads_its_weights(module, example, layer, role, changed, read):
    """Refuse ``layer``, whose weights are read, where it computes otherwise than them.

    The spatial and temporal filters of a layer are read from its stored
    weights: a forward of its own or a forward hook changing its output
    (``changed`` says how, e.g. "masks units") makes them no filters of what
    the network computes. ``role`` names the layer ("spatial filter layer"),
    ``read`` what is read of its weights ("its units' spatial filters").
    """
    differing = layers_computing_otherwise(module, example, [layer])
    if differing:
        raise ValueError(
            f"The {role} {differing[0]} computes otherwise than its weights (its "
            f"forward or a forward hook changes its output, e.g. {changed}), and "
            f"{read} are read from its weights. Store the weight it "
            "uses (e.g. with torch.nn.utils.parametrize) and apply other "
            "operations as layers of their own."
        )


def uncalled_convolutions(module, calls):
    """Return a sentence naming the convolutions of ``module`` missing from ``calls``.

    Empty when every convolution is called. Those that are not hold weights
    used in a function (the product of two layers' kernels, say) that
    :func:`~mne_xai._graph.call_combined_layers` could not run as the layers
    themselves: a refusal saying the network has no such convolution would be
    wrong.
    """
    called = {call.module for call in calls}
    names = [
        name
        for layer, name in shown_layer_names(module).items()
        if isinstance(layer, CONVOLUTIONS) and layer not in called
    ]
    if not names:
        return ""
    return (
        f" Convolutions {names} are never called: the network uses their weights "
        "in a function of a forward that also calls other layers, or that computes "
        "something else than calling them in order, so what they filter is not "
        "known. Call them as layers, or from a module of their own that only "
        "combines them (as braindecode's CombinedConv does)."
    )


def hook_output(layer, name, hook):
    """Register ``hook(inputs, output)`` to run after each call of ``layer``.

    The inspections read a layer's units on the axes of its output: a layer
    that returns something else (an ``nn.LSTM`` returns its output and its
    states) is refused, as explain's methods refuse it, and so is a layer
    called without a tensor, whose output no epoch changes.

    Parameters
    ----------
    layer : torch.nn.Module
        The layer.
    name : str
        Its name, for the error message.
    hook : callable
        Called with the layer's inputs (a tuple) and its output, a tensor; what
        it returns, if not None, replaces the output.

    Returns
    -------
    handle : torch.utils.hooks.RemovableHandle
        Removes the hook.
    """

    def checked(_layer, inputs, kwargs, output):
        if not any(
            isinstance(value, torch.Tensor) for value in (*inputs, *kwargs.values())
        ):
            # braindecode's DGCNN computes its adjacency so, a matrix per
            # network: its rows were read as epochs, or as units of them.
            raise ValueError(
                f"Layer {name!r} ({type(layer).__name__}) is called without the "
                "epochs (with no tensor): it computes its output from its own "
                "parameters, the same for every epoch, so it has no units that "
                "respond to them. Choose a layer that the epochs pass through."
            )
        if not isinstance(output, torch.Tensor):
            raise ValueError(
                f"Layer {name!r} ({type(layer).__name__}) does not map one tensor "
                f"to one tensor: it returns a {type(output).__name__}, whose units "
                "cannot be inspected. Choose a layer that returns a tensor (e.g. one "
                "after it, or a module that returns the part the network uses)."
            )
        return hook(inputs, output)

    return layer.register_forward_hook(checked, with_kwargs=True)


def _called_more_than_once(name):
    """Return the error for a layer that the forward pass calls several times."""
    return ValueError(
        f"Layer {name!r} is called more than once per forward pass; its units have "
        "no single output to inspect. Give each call its own module (e.g. one "
        "nn.ELU per place it is used)."
    )


def _parametrizations(module):
    """Return the modules computing a parametrized weight, each to its layer.

    ``torch.nn.utils.parametrize`` (new-style ``weight_norm``,
    ``spectral_norm``, ``orthogonal``) calls them on the layer's stored
    weight, not on the epochs: they are leaves of the network, but no layer of
    its data path.
    """
    return {
        parametrization: owner
        for owner in module.modules()
        if parametrize.is_parametrized(owner)
        for parametrization in owner.parametrizations.modules()
    }


def find_layer(module, layer):
    """Return the name and module of a layer given by name or as a module.

    Parameters
    ----------
    module : estimator | torch.nn.Module
        The network: a fitted classifier, as the other functions of
        :mod:`mne_xai.inspect` take it (see :func:`mne_xai.as_network`), whose
        ``module_`` is searched, or a torch module.
    layer : str | torch.nn.Module
        The layer's name in ``module.named_modules()`` (e.g. ``"block1.2"``)
        or the layer itself. A name may leave out the prefix of a wrapper
        (``"separable_pool"`` for ``"module.separable_pool"``) when only one
        layer's name ends with it.

    Returns
    -------
    name : str
        The layer's name as the user's network has it (``"conv"``, not
        ``"module.conv"`` behind the input scaling the estimators put around
        a network of one's own), which every message and result of
        :mod:`mne_xai.inspect` shows and which this function takes back (on
        the network or its private copy).
    layer : torch.nn.Module
        The layer.
    """
    if not isinstance(module, torch.nn.Module):
        # Every sibling takes the estimator; its module_ was asked for, and
        # the estimator failed with "object has no attribute 'named_modules'".
        module = as_network(module).module_
    layers = dict(named_layers(module, "leaves"))
    layers.update(
        (name, submodule) for name, submodule in module.named_modules() if name
    )
    shown = shown_layer_names(module)
    if isinstance(layer, torch.nn.Module):
        if any(layer is submodule for submodule in layers.values()):
            _check_reads_the_data(module, layer, shown)
            return shown[layer], layer
        raise ValueError(
            f"The module {type(layer).__name__} is not a layer of this network."
        )
    if isinstance(layer, str):
        layer = layer_name(
            layer, {name: shown[submodule] for name, submodule in layers.items()}
        )
    if not isinstance(layer, str) or layer not in layers:
        raise ValueError(
            f"No layer named {layer!r}; the network's layers are "
            f"{[shown[submodule] for submodule in layers.values()]}."
        )
    _check_reads_the_data(module, layers[layer], shown)
    return shown[layers[layer]], layers[layer]


def _check_reads_the_data(module, layer, shown):
    """Refuse a module that computes a layer's weight (a parametrization)."""
    owner = _parametrizations(module).get(layer)
    if owner is not None:
        raise ValueError(
            f"Layer {shown[layer]!r} is a parametrization of layer {shown[owner]!r}: "
            "it computes that layer's weight, not from the epochs, so it has no "
            f"units to inspect. Choose {shown[owner]!r} or another layer."
        )


def time_along_calls(calls, n_times):
    """Step and offset, in input samples, of the last axis as time around each call.

    The last axis is followed from the network's input, ``n_times`` samples
    long: each call must receive it at the length the calls before it
    return, each convolution or pooling multiplies the step by its stride
    along the last axis and shifts the first output to the centre of its
    first window (a "valid" convolution of 64 samples starts 31.5 samples
    in; an adaptive pooling to a length dividing the one it receives is
    followed as its windows), each padding layer shifts it by the samples it
    adds before, and any other layer must keep its length. Where this breaks
    (a function of ``forward`` that decimates, slices or reshapes, such as
    ``F.avg_pool2d``, a layer that mixes the axis, or a network whose last
    axis is not time), time is unknown from there on.

    Parameters
    ----------
    calls : list of LayerCall
        Layer calls in order, with their tensors (from ``trace_layers``).
    n_times : int
        Length of the network input's last (time) axis.

    Returns
    -------
    steps : list of (int, float, int) | None, length len(calls) + 1
        Entry ``i`` describes the input of ``calls[i]``, the last entry the
        output of the last call: the step, the offset, and the width of a
        sample's receptive field, in input samples; None where time is
        unknown.
    """
    steps = []
    length, step, offset, width = n_times, 1, 0.0, 1
    for call in calls:
        called, n_in, n_out = call.module, call.input.shape[-1], call.output.shape[-1]
        if n_in != length:
            break
        steps.append((step, offset, width))
        called = regular_window(call)
        if isinstance(called, SLIDING_WINDOWS):
            padding, span, stride, expected = window_along_time(called, n_in)
            if n_out != expected:
                break
            offset += (span / 2 - padding) * step
            width += span * step
            step *= stride
        elif isinstance(called, PADDING):
            before, after = padding_along_time(called)
            if n_out != n_in + before + after:
                break
            offset -= before * step
        elif isinstance(called, DENSE) or n_in != n_out:
            break
        length = n_out
    else:
        steps.append((step, offset, width))
    return steps + [None] * (len(calls) + 1 - len(steps))


def _time_axis(module, layer, example):
    """Step and offset, in input samples, of ``layer``'s last axis as time.

    None when the last axis is not known to be time (see
    :func:`time_along_calls`) at the end of the layer's last call.
    """
    # Parametrizations run on weights, not on the data's time (new-style
    # weight_norm's takes two tensors, which tracing refuses); the layer they
    # parametrize, their parent, is the leaf.
    weights = _parametrizations(module)
    leaves = [
        leaf
        for leaf in module.modules()
        if leaf not in weights and all(child in weights for child in leaf.children())
    ]
    try:
        calls = trace_layers(module, example, leaves)
    except ValueError:  # a layer that does not map one tensor to one tensor
        return None
    inside = set(layer.modules())
    last = max(index for index, call in enumerate(calls) if call.module in inside)
    time = time_along_calls(calls[: last + 1], example.shape[-1])[-1]
    if time is None or not _runs_forward(module, layer, example):
        return None
    if not _reads_its_fields(
        module, layer, example, time, calls[last].output.shape[-1]
    ):
        return None
    return time[:2]  # the step and offset


def _reads_its_fields(module, layer, example, time, n_samples):
    """Whether ``layer``'s samples read the input times their windows give them.

    The calls follow time's length: a delay that keeps it (padding before,
    cropping after) dated the samples after it 3 samples early (see
    :func:`~mne_xai._graph.sample_reading_outside_its_field`).
    """
    step, offset, width = time
    noise = fixed_noise(example.shape, example) * example.abs().amax().clamp(min=1e-12)
    outside = sample_reading_outside_its_field(
        module,
        layer,
        torch.cat([example, example + noise]),
        first_center=offset,
        step=step,
        width=width,
        n_samples=n_samples,
    )
    return outside is None


def _runs_forward(module, layer, example):
    """Whether the last sample of ``layer``'s output reads later input than its first.

    The layers' calls tell time's step and offset, not what the network's
    forward does between them: a function keeping the axis' length but
    reversing or rolling it (``x.flip(-1)``) left time running forward at
    the input's rate, the activations' first sample dated at the epoch's
    start while it read its end. The input samples each output sample
    depends on, weighted by the gradient, must lie later for the last sample
    than for the first. True where that cannot be measured (no gradient) or
    is moot (one sample, e.g. time pooled whole).
    """
    captured = {}

    def keep(_layer, _inputs, output):
        captured["output"] = output  # the last call's, as time is followed

    handle = layer.register_forward_hook(keep)
    inputs = example[:1].detach().clone().requires_grad_()
    try:
        with torch.enable_grad():
            module(inputs)
    finally:
        handle.remove()
    output = captured.get("output")
    if (
        not isinstance(output, torch.Tensor)
        or not output.requires_grad
        or output.shape[-1] < 2
    ):
        return True
    weights = torch.randn(output.shape[:-1], generator=torch.Generator().manual_seed(0))
    weights = weights.to(output)
    times = torch.arange(inputs.shape[-1], dtype=torch.float64, device=inputs.device)
    centres = []
    for sample in (0, -1):
        (gradient,) = torch.autograd.grad(
            (output[..., sample] * weights).sum(),
            inputs,
            retain_graph=True,
            allow_unused=True,
        )
        if gradient is None:
            return True
        spread = gradient.double().abs().flatten(0, -2).sum(dim=0)
        if not spread.sum() > 0:
            return True
        centres.append(float((spread * times).sum() / spread.sum()))
    return centres[1] > centres[0]


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class LayerActivations:
    """The output of one layer for each epoch.

    Attributes
    ----------
    data : ndarray of float32, shape (n_epochs, ...)
        The layer's output per epoch, in the layer's own shape.
    layer : str
        The layer's name in the network.
    sfreq : float | None
        The rate of the layer's last axis when it is time: the input's rate
        (that of the Epochs given; of arrays, the network's) divided by the
        strides of the convolutions and poolings before it. None when the last
        axis is not time (or not known to be), or the rate is unknown.
    tmin : float
        The time of the last axis' first sample: the input's (for arrays, the
        training epochs' start; 0 for a network trained on arrays), moved to
        the centre of the first window of those layers.
    events : ndarray of int, shape (n_epochs, 3) | None
        The epochs' events (None for arrays).
    event_id : dict | None
        The epochs' event names.
    metadata : pandas.DataFrame | None
        The epochs' metadata.
    selection : ndarray of int | None
        Where the epochs stand among the events of their Epochs (None for
        arrays and lists of Epochs).
    drop_log : tuple | None
        The Epochs' drop log (None for arrays and lists of Epochs).
    annotations : mne.Annotations | None
        The Epochs' annotations (None for arrays and lists of Epochs).
    raw_sfreq : float | None
        The rate of the events' samples, the recording's (None for arrays and
        lists of Epochs).
    """

    data: np.ndarray
    layer: str
    sfreq: float | None
    tmin: float
    events: np.ndarray | None
    event_id: dict | None
    metadata: object
    selection: np.ndarray | None = None
    drop_log: tuple | None = None
    annotations: object = None
    raw_sfreq: float | None = None

    def to_epochs(self):
        """Return the activations as :class:`mne.EpochsArray`, one channel per unit.

        Every axis but the first and last is flattened into units, named by
        their indices (``"3"``, or ``"3-0"`` for several axes), of type
        ``misc`` (not data channels: pass ``picks="misc"`` to ``average``
        and the plotting methods); the last axis is time at ``sfreq``.

        Returns
        -------
        epochs : mne.EpochsArray
            The activations with the epochs' events, event_id, metadata,
            selection, drop log and annotations, their first time ``tmin``.

        Notes
        -----
        MNE starts epochs at a whole number of samples: given ``tmin``,
        it would round it to ``1 / sfreq``, which at a pooled layer's rate
        (2.5 Hz) moves time by up to a sample (0.4 s), and could drop the
        last sample. The epochs are made at 0 s and their times then moved
        to ``tmin``. Saved to FIF, epochs keep the index of their first
        sample only: read back, their times are rounded again.
        """
        if self.sfreq is None:
            raise ValueError(
                f"The output of layer {self.layer!r} has no time axis at a known "
                f"rate (shape {self.data.shape[1:]}); use .data."
            )
        unit_shape = self.data.shape[1:-1]
        names = ["-".join(map(str, index)) for index in np.ndindex(*unit_shape)]
        data = self.data.reshape(len(self.data), len(names), -1)
        info = mne.create_info(names or ["0"], self.sfreq, "misc")
        return epochs_array(
            data.astype(np.float64),
            info,
            self.tmin,
            events=self.events,
            event_id=self.event_id,
            metadata=self.metadata,
            selection=self.selection,
            drop_log=self.drop_log,
            annotations=self.annotations,
            raw_sfreq=self.raw_sfreq,
        )

    def __repr__(self):
        rate = "" if self.sfreq is None else f", last axis at {self.sfreq:g} Hz"
        return (
            f"<LayerActivations | {self.layer!r}, {len(self.data)} epochs of shape "
            f"{tuple(self.data.shape[1:])}{rate}>"
        )


def batch_outputs(network, data, layer, *, batch_size, device):
    """Yield each batch of ``data`` with the output of ``layer`` for it.

    Parameters
    ----------
    network : object
        A fitted classifier, as :func:`mne_xai.as_network` returns it.
    data : InputData
        The data, as the network takes it.
    layer : torch.nn.Module | None
        A layer of ``network.module_`` (found again, by its name, in the copy
        that runs), or None for the network's output (the logits).
    batch_size : int
        Number of epochs per forward pass.
    device : torch.device
        Where to compute.

    Yields
    ------
    batch : torch.Tensor, shape (batch, n_channels, n_times)
        The input batch on ``device``.
    output : torch.Tensor
        The layer's output for the batch, detached.
    """
    module = private_module(network, device, next(data.batches(1)))
    # The layer's output is read, not the logits: a final softmax does not
    # concern it.
    with ignoring(*(() if layer is None else ("The network returns (log-)?prob",))):
        # A layer's output too must be each epoch's own, the same in every
        # pass: batch norm without running statistics made activations and
        # sensitivities change with batch_size.
        _check_logits(module, data, device)
    if layer is None:
        name, layer = type(module).__name__, module
    else:
        # The private copy holds its own layers, at the same names.
        name, _ = find_layer(network.module_, layer)
        _, layer = find_layer(module, name)
    captured = []
    # A copy: a layer after this one working in place (ELU(inplace=True))
    # would overwrite the output kept, which then read as that layer's.
    handle = hook_output(
        layer, name, lambda _inputs, output: captured.append(output.detach().clone())
    )
    start = 0
    try:
        with torch.no_grad():
            for batch in network_batches(network, data, batch_size, "activations"):
                inputs = torch.from_numpy(batch).to(device)
                captured.clear()
                # Epochs after the first ones checked may overflow the network.
                check_outputs_finite(module(inputs), data.name, start)
                start += len(inputs)
                if not captured:
                    raise _not_called(layer, module)
                if len(captured) > 1:
                    # Each call has its own output (and time axis): returning one
                    # of them would pass it off as the layer's.
                    raise _called_more_than_once(name)
                yield inputs, captured[0]
    finally:
        handle.remove()


@verbose
@fill_doc
def layer_activations(
    estimator, epochs, layer, *, batch_size=64, device=None, verbose=None
):
    """Return the output of one layer for each epoch, computed batch by batch.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    layer : str | torch.nn.Module
        The layer, by its name in ``estimator.module_.named_modules()`` (e.g.
        ``"block1.2"``) or as the module itself. An unknown name is refused
        with the list of the network's layers.
    %(batch_size)s
    %(device)s
    %(verbose)s

    Returns
    -------
    activations : LayerActivations
        The outputs (``.data``) with the epochs' events, event_id and
        metadata; ``.to_epochs()`` gives an :class:`mne.EpochsArray` with one
        channel per unit when the layer keeps a time axis.

    Notes
    -----
    The network runs in evaluation mode (batch norm with its running
    statistics, no dropout), so an epoch's activations do not depend on the
    other epochs of its batch; a network whose outputs still do (batch norm
    without running statistics), or change from one pass to the next, is
    refused. Only one batch of inputs is held at a time; the activations of
    every epoch are returned, written into one array as each batch is
    computed, so that memory holds the result and one batch.
    """
    network = as_network(estimator)
    batch_size = check_positive_int(batch_size, "batch_size")
    name, module_layer = find_layer(network.module_, layer)
    data = network._check_prediction_input(epochs, "epochs")
    device = compute_device(device, network)
    logger.info(
        f"Computing the activations of layer {name!r} for {data.shape[0]} epochs"
    )
    outputs, start = None, 0
    for inputs, output in batch_outputs(
        network, data, module_layer, batch_size=batch_size, device=device
    ):
        if len(output) != len(inputs):
            per_epoch = len(output) // len(inputs)
            if isinstance(network.module_, WindowAverage):
                raise ValueError(
                    f"Layer {name!r} runs {per_epoch} times per epoch (a "
                    "CroppedClassifier runs its network on each window), so its "
                    "outputs are not one per epoch. Give the window network "
                    "(cropped.estimator_) epochs cropped to one window."
                )
            # e.g. braindecode's SignalJEPA, which encodes each channel with
            # one filter on x.reshape(n_epochs * n_channels, 1, n_times).
            raise ValueError(
                f"Layer {name!r} returns {len(output)} rows for {len(inputs)} "
                "epochs: its batch axis does not hold the epochs (it may hold "
                "epochs x channels, for a filter shared by all channels), so its "
                "outputs are not one per epoch. Choose a layer after the batch "
                "axis holds the epochs again."
            )
        if outputs is None:
            # Allocated once, as the batches fill it: the batches' outputs
            # concatenated at the end were held twice (3.5 GB for 1.8 GB).
            outputs = np.empty((data.shape[0], *output.shape[1:]), np.float32)
        stop = start + len(inputs)
        outputs[start:stop] = output.float().cpu().numpy()
        start = stop
    tmin = start_time(data, network)
    sfreq = None
    # The last axis of a spectral network's layers is frequency: no times.
    reads_time = outputs.ndim >= 3 and not getattr(network, "reads_spectra_", False)
    rate = data_rate(network, data, "the activations' times") if reads_time else None
    if rate:
        example = torch.from_numpy(next(data.batches(1))).to(device)
        module = private_module(network, device, example)
        layer = find_layer(module, name)[1]
        if isinstance(module, WindowAverage):  # of one window, as checked above
            start = module.starts[0]
            tmin += start / rate
            example = example[..., start : start + module.n_samples]
            module = module.module
        time_axis = _time_axis(module, layer, example)
        if time_axis is not None:
            step, offset = time_axis
            sfreq = rate / step
            tmin += offset / rate
    return LayerActivations(
        data=outputs,
        layer=name,
        sfreq=sfreq,
        tmin=tmin,
        **data.trials,
    )


def decision_score(logits, predicted):
    """Return each epoch's predicted-class logit minus the mean of its logits.

    The softmax ignores what is added to every logit alike, so the centred
    logit of the predicted class is the part of the output that decides.
    """
    chosen = logits.gather(1, predicted[:, None])
    return (chosen - logits.mean(dim=1, keepdim=True))[:, 0]


def _logits_and_prediction(module, inputs):
    """Return a batch's logits and the index of the class the classifier predicts.

    A CroppedClassifier predicts the class of the highest mean window
    probability, which the highest mean window logit is not always (6 of 90
    epochs of a 3-class classifier): the units of another class were scored.
    """
    if isinstance(module, WindowAverage):
        windows = module.window_logits(inputs)
        return windows.mean(dim=1), module.mean_probabilities(windows).argmax(dim=1)
    logits = module(inputs)
    return logits, logits.argmax(dim=1)


def decision_gradients(network, data, layer, *, batch_size, device, mesg):
    """Yield, batch by batch, a layer's input and output and the decision's gradient.

    Parameters
    ----------
    network : object
        A fitted classifier, as :func:`mne_xai.as_network` returns it.
    data : InputData
        The data, as the network takes it.
    layer : str
        The name of a layer of ``network.module_``, called once per forward
        pass.
    batch_size : int
        Number of epochs per pass.
    device : torch.device
        Where to compute.
    mesg : str
        Label of the progress bar.

    Yields
    ------
    layer_input, layer_output : torch.Tensor
        What the layer received and returned for the batch, detached: one
        row per epoch, or per window of each epoch in turn for a
        CroppedClassifier (see :func:`sum_per_epoch`).
    gradient : torch.Tensor
        The gradient of :func:`decision_score` (summed over the batch) with
        respect to ``layer_output``.
    n_epochs : int
        The number of epochs in the batch.
    """
    module = private_module(network, device, next(data.batches(1)))
    _check_logits(module, data, device, differentiates=True)
    name, layer = find_layer(module, layer)
    captured = {}

    def capture(inputs, output):
        if "output" in captured:
            raise _called_more_than_once(name)
        captured["input"] = inputs[0].detach()
        # A leaf of its own: the gradient stops here, whether or not the
        # network's parameters require gradients.
        captured["output"] = output.detach().requires_grad_()
        # The network goes on with a copy, which a layer working in place
        # (ELU(inplace=True)) may change, as it may not change a leaf.
        return captured["output"].clone()

    handle = hook_output(layer, name, capture)
    start = 0
    try:
        with torch.enable_grad():
            for batch in network_batches(network, data, batch_size, mesg):
                inputs = torch.from_numpy(batch).to(device)
                captured.clear()
                logits, predicted = _logits_and_prediction(module, inputs)
                check_outputs_finite(logits, data.name, start)
                start += len(inputs)
                if "output" not in captured:
                    raise _not_called(layer, module)
                (gradient,) = torch.autograd.grad(
                    decision_score(logits, predicted).sum(),
                    captured["output"],
                    allow_unused=True,
                )
                if gradient is None:
                    raise ValueError(
                        f"The output of layer {name!r} does not reach the logits."
                    )
                yield (
                    captured["input"],
                    captured["output"].detach(),
                    gradient,
                    len(inputs),
                )
    finally:
        handle.remove()


def sum_per_epoch(rows, n_epochs):
    """Sum the rows of each epoch: its windows, for a CroppedClassifier.

    An epoch's decision is the mean of its windows' logits, so a unit changes
    it by the sum of its changes over the windows, which may cancel: the
    magnitude of a contribution is taken per epoch, not per window (that
    inflated units by up to 2.5 times and reordered pruning).
    """
    return rows.reshape(n_epochs, -1, *rows.shape[1:]).sum(dim=1)


def unit_output(output, name):
    """Return a layer's output as (batch, n_units, n_positions), units on axis 1."""
    if not isinstance(output, torch.Tensor) or output.ndim < 2:
        raise ValueError(
            f"Layer {name!r} returns {type(output).__name__} "
            f"{tuple(getattr(output, 'shape', ()))}; its units must be the second "
            "axis of a tensor of shape (batch, n_units, ...)."
        )
    return output.reshape(len(output), output.shape[1], -1)


def unit_contributions(
    network, data, layer, *, reference=0.0, batch_size, device, mesg
):
    """Return each unit's first-order contribution to the decision, over epochs.

    A unit's contribution in an epoch is ``sum((a - r) * g)`` over its
    positions, with ``a`` its activation, ``r`` the ``reference`` it would be
    replaced by and ``g`` the gradient of :func:`decision_score`: the
    first-order change of the decision were the unit replaced (Molchanov et
    al. 2017).

    Returns
    -------
    mean_magnitude, mean : ndarray of float64, shape (n_units,)
        The mean over epochs of the contribution's magnitude, and of the
        contribution itself.
    """
    magnitude = signed = 0
    for _, output, gradient, n_epochs in decision_gradients(
        network, data, layer, batch_size=batch_size, device=device, mesg=mesg
    ):
        changes = unit_output((output - reference) * gradient, layer)
        contribution = sum_per_epoch(changes.sum(dim=2), n_epochs).double().cpu()
        magnitude = magnitude + contribution.abs().sum(dim=0)
        signed = signed + contribution.sum(dim=0)
    n_epochs = data.shape[0]
    return (magnitude / n_epochs).numpy(), (signed / n_epochs).numpy()
