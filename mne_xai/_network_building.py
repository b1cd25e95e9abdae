"""Building the network an estimator trains, from the user's class or instance.

A network class is called with the shapes of the training data under the
names its constructor takes: those of :mod:`mne_xai.models` or braindecode's.
The statistics of the training data become buffers of the network, so that
``save_params``/``load_params`` and pickling carry them with the weights.
"""

import hashlib
import inspect
import re
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor

from ._checks import returns_probabilities
from ._graph import check_float32, check_hookable, copy_module
from ._random import fixed_noise
from ._warnings import warn
from .models import EEGModule, ScaledInput
from .models._base import input_scale_buffer

#: The name of each value in mne_xai's networks and in braindecode's (None:
#: the convention has no such argument). ``input_scale`` goes only to networks
#: that scale their input themselves; the others are wrapped in ScaledInput.
_ARGUMENT_NAMES = {
    "n_channels": ("n_channels", "n_chans"),
    "n_classes": ("n_classes", "n_outputs"),
    "n_times": ("n_times", "n_times"),
    "sfreq": ("sfreq", "sfreq"),
    "input_scale": ("input_scale", None),
    "chs_info": (None, "chs_info"),
}


def constructor_arguments(module_class, values, module_params):
    """Keyword arguments of a network class: data shapes and ``module__`` ones.

    Parameters
    ----------
    module_class : subclass of torch.nn.Module
        The network class.
    values : dict
        The value of each key of ``_ARGUMENT_NAMES``; None leaves it out.
    module_params : dict
        The estimator's ``module__<name>`` parameters, without the prefix;
        they override the shapes.

    Returns
    -------
    kwargs : dict
        Each value under the name the constructor gives it, in either
        convention. A constructor with ``**kwargs`` also gets the values it
        does not name, in its own convention: braindecode's if it names
        ``n_chans`` or ``n_outputs`` (braindecode's networks pass ``**kwargs``
        on and refuse names they do not know, such as ``input_scale``),
        mne_xai's otherwise (a subclass forwarding ``**kwargs`` to one of
        mne_xai's networks).
    """
    parameters = inspect.signature(module_class).parameters
    takes_any = any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD
        for parameter in parameters.values()
    )
    own_names, braindecode_names = map(set, zip(*_ARGUMENT_NAMES.values(), strict=True))
    # 0: mne_xai's names, 1: braindecode's (the index in _ARGUMENT_NAMES).
    convention = 1 if (braindecode_names - own_names) & set(parameters) else 0
    kwargs = {}
    for key, names in _ARGUMENT_NAMES.items():
        name = next((name for name in names if name in parameters), None)
        if name is None and takes_any:
            name = names[convention]
        if name is not None and values[key] is not None:
            kwargs[name] = values[key]
    kwargs.update(module_params)
    return kwargs


def _digest(lines):
    """Return a fixed-size digest of lines of text, as a tensor of bytes."""
    digest = hashlib.blake2b("\n".join(lines).encode(), digest_size=16).digest()
    return torch.tensor(list(digest), dtype=torch.uint8)


def channels_digest(ch_names, n_channels):
    """Return a fixed-size digest of the channels a network reads, in order.

    Kept as a buffer of the network (``training_channels``), it travels with
    ``save_params`` and pickling as the training statistics do, so that a
    network restored on data of other channels, or in another order, is
    caught rather than read channel by channel against the wrong weights.
    """
    return _digest(ch_names if ch_names is not None else [f"{n_channels} channels"])


def classes_digest(classes):
    """Return a fixed-size digest of the classes of a network's outputs, in order.

    Kept as a buffer (``training_classes``) as :func:`channels_digest` is: a
    network restored with other labels (event codes for a network trained on
    event names, which sort in another order) would read its outputs as
    other classes.
    """
    return _digest(map(str, np.asarray(classes).tolist()))


def events_digest(event_id, classes):
    """Return a fixed-size digest of the events that name a network's classes.

    Kept as a buffer (``training_events``) as :func:`channels_digest` is.
    ``target="true"`` and targets given by event name are resolved through the
    training Epochs' events, which ``initialize`` learns from its data: a
    network restored with Epochs naming fewer classes refused the events of
    the others as never trained on, and one whose events code the classes
    otherwise would explain other classes.
    """
    if event_id is None:
        return _digest(["no events"])
    named = set(map(str, np.asarray(classes).tolist()))
    return _digest(
        sorted(
            f"{name}={code}"
            for name, code in event_id.items()
            if str(code) in named or name in named
        )
    )


def _scales_of_older_checkpoints(module, state_dict, prefix, *args):
    """Let parameters saved with one scale for several channel types load as saved.

    Before each channel type got its own factor, the types sharing a unit (EEG
    and EOG, in volts) shared one factor and one training std, saved as single
    numbers; the network takes them as they are, and reads its input as it
    was trained.
    """
    for name in ("input_scale", "training_std"):
        saved = state_dict.get(f"{prefix}{name}")
        buffer = getattr(module, name, None)
        if saved is not None and saved.ndim == 0 and isinstance(buffer, Tensor):
            setattr(module, name, buffer.new_empty(()))


#: The digests of older checkpoints: buffer name, what it stands for, and what
#: goes unchecked without it.
_DIGESTS = {
    "training_channels": (
        "channels",
        "that the data given to initialize hold the training channels in the "
        "training order",
    ),
    "training_classes": (
        "classes",
        "that the labels given to initialize are the training classes",
    ),
    "training_events": (
        "events",
        "that the events of the data given to initialize name the classes as in "
        "training",
    ),
    "training_sfreq": (
        "sampling rate",
        "that the data given to initialize are sampled at the training rate",
    ),
    "training_continuation": (
        "continuation state",
        "that partial_fit continues the saved training (its seed and optimizer state)",
    ),
    "training_spatial_start": (
        "spatial start",
        "how the spatial filters were started (spatial_init_ reads None)",
    ),
    "training_class_counts": (
        "class counts",
        "that continued training follows the training data's class counts (its "
        'schedule, "balanced" class weights)',
    ),
}


def _digests_of_older_checkpoints(module, state_dict, prefix, *args):
    """Let parameters saved before their digests existed load, unchecked."""
    for name, (kind, unchecked) in _DIGESTS.items():
        key = f"{prefix}{name}"
        if key not in state_dict:
            warn(
                f"These parameters were saved without the digest of their {kind} "
                f"(by an earlier version of mne_xai): {unchecked} is not checked."
            )
            state_dict[key] = getattr(module, name).clone()


def _register_load_state_dict_pre_hook(network, hook):
    """Run ``hook(module, state_dict, prefix, ...)`` before ``network`` loads a state.

    The public ``register_load_state_dict_pre_hook`` came with torch 2.5; torch
    2.1 to 2.4 (the package supports torch>=2.1) have only the private method,
    which calls the hook the same way (module first) with ``with_module=True``,
    and which torch keeps in later versions.
    """
    if hasattr(network, "register_load_state_dict_pre_hook"):
        return network.register_load_state_dict_pre_hook(hook)
    return network._register_load_state_dict_pre_hook(hook, with_module=True)


def build_network(module, statistics, shapes, module_params, instantiate):
    """Build the network and store the training statistics in it.

    The network is built in float32, the type of the data the estimators
    give it, whatever torch's default type (``torch.set_default_dtype``).

    Parameters
    ----------
    module : subclass of torch.nn.Module | torch.nn.Module
        The network class, or an instance, of which a copy is trained (with
        the weights it has) and given the ``input_scale`` of the data if it
        has that buffer.
    statistics : dict
        The training data's ``mean`` epoch, ``std`` and ``input_scale`` (each
        a number, or per channel for channels of several types), and
        ``class_counts`` (epochs per class, in the order of the classes).
    shapes : dict
        ``n_channels``, ``n_classes``, ``n_times``, ``sfreq``, ``chs_info``
        and ``ch_names`` (None for data without info), ``classes``,
        ``event_id`` (None for data without events), and
        ``sfreq_assumed`` (whether ``sfreq`` is the default of arrays without
        info).
    module_params : dict
        The estimator's ``module__<name>`` parameters, without the prefix.
    instantiate : callable
        ``instantiate(module_class, kwargs)`` builds the class (skorch's
        ``initialized_instance``).

    Returns
    -------
    network : torch.nn.Module
        The network, with the buffers ``training_mean``, ``training_std``,
        ``training_channels``, ``training_classes`` and ``training_events``
        (see :func:`channels_digest`, :func:`classes_digest` and
        :func:`events_digest`), ``training_sfreq`` and
        ``training_class_counts``,
        in a :class:`~mne_xai.models.ScaledInput` unless it scales its input
        itself. Networks other than mne_xai's scale by one number: where the
        channels of several types need a factor each, the ScaledInput applies
        them.
    """
    with _float32_by_default():
        return _build(module, statistics, shapes, module_params, instantiate)


@contextmanager
def _float32_by_default():
    """Make torch's default floating type float32 while the context is open."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(default)


def _build(module, statistics, shapes, module_params, instantiate):
    """Build the network of :func:`build_network` (see there)."""
    input_scale = statistics["input_scale"]
    # mne_xai's networks take one factor per channel; others that scale their
    # input take one number: they get 1 and a ScaledInput applies the factors.
    takes_factors = isinstance(module, EEGModule) or (
        isinstance(module, type) and issubclass(module, EEGModule)
    )
    factors_outside = bool(np.ndim(input_scale)) and not takes_factors
    own_scale = 1.0 if factors_outside else input_scale
    if isinstance(module, torch.nn.Module):
        check_hookable(module)
        if module_params:
            names = ", ".join(f"module__{name}" for name in module_params)
            raise ValueError(
                f"{names} would build the network, but module is an instance of "
                f"{type(module).__name__}, built already, whose copy is trained "
                "as it is. Pass the class (module="
                f"{type(module).__name__}) with these parameters, or build the "
                "instance with them."
            )
        # A copy: the instance is a parameter, which fitting must leave as
        # given; trained in place, every clone (each fold of a cross-validation)
        # started from weights already trained on its test epochs.
        network = copy_module(module)
        scales_itself = isinstance(getattr(module, "input_scale", None), Tensor)
        if scales_itself and takes_factors:
            network.input_scale = input_scale_buffer(
                own_scale, shapes["n_channels"]
            ).to(network.input_scale)
        elif scales_itself:
            network.input_scale.fill_(own_scale)
    else:
        values = dict(shapes, input_scale=own_scale)
        kwargs = constructor_arguments(module, values, module_params)
        _check_required_arguments(module, kwargs)
        if shapes["sfreq_assumed"] and "sfreq" in kwargs:
            # Kernel lengths and pooling in seconds: at another rate the
            # network sees other frequencies (on 500 Hz data through a
            # pipeline: 0.65 accuracy against 0.975 on the same Epochs).
            warn(
                f"X is an array without info, so the network is built for "
                f"{shapes['sfreq']:g} Hz, the rate of its published kernels "
                "(kernel lengths and pooling follow the rate). If the data were "
                "sampled otherwise, pass info=mne.create_info(ch_names, sfreq, "
                "'eeg') (e.g. info=epochs.info in a Pipeline after an "
                "mne.decoding transformer), or fit on Epochs."
            )
        # A module__input_scale of the user's is their own scaling: kept alone.
        factors_outside &= "input_scale" not in module_params
        try:
            network = instantiate(module, kwargs)
        except (RuntimeError, IndexError) as err:
            # braindecode's networks run a forward pass in their constructor
            # (Labram's reshape to its 200-sample patches): torch's words
            # alone named none of the shapes the estimator built it with.
            # A constructor's own checks (ValueError, TypeError) say theirs.
            advice = _shape_advice(err, shapes) or (
                "Fit on data of the shapes it was made for (e.g. epochs of the "
                "length its kernels or patches need), or set its arguments with "
                "module__<name>=<value>."
            )
            raise ValueError(
                f"{module.__name__} failed to build with the arguments the "
                f"estimator gives it ({_arguments_text(kwargs)}: the training "
                f"data's shapes and the module__ parameters): "
                f"{str(err).rstrip('.')}. {advice}"
            ) from err
        check_hookable(network)  # a class may compile its layers
        # A constructor that names input_scale uses it; one that only takes
        # **kwargs may drop it, and then the data must be scaled outside.
        scales_itself = "input_scale" in kwargs and (
            "input_scale" in inspect.signature(module).parameters
            or "input_scale" in module_params
            or isinstance(getattr(network, "input_scale", None), Tensor)
        )
    if not scales_itself or factors_outside:
        network = ScaledInput(network, input_scale)
    network.register_buffer(
        "training_mean", torch.as_tensor(statistics["mean"], dtype=torch.float32)
    )
    network.register_buffer(
        "training_std", torch.tensor(statistics["std"], dtype=torch.float64)
    )
    network.register_buffer(
        "training_channels", channels_digest(shapes["ch_names"], shapes["n_channels"])
    )
    network.register_buffer("training_classes", classes_digest(shapes["classes"]))
    network.register_buffer(
        "training_events", events_digest(shapes["event_id"], shapes["classes"])
    )
    network.register_buffer(
        "training_sfreq", torch.tensor(float(shapes["sfreq"]), dtype=torch.float64)
    )
    network.register_buffer(
        "training_class_counts", torch.as_tensor(statistics["class_counts"])
    )
    for hook in (_digests_of_older_checkpoints, _scales_of_older_checkpoints):
        _register_load_state_dict_pre_hook(network, hook)
    check_float32(network)
    _check_logits(network, shapes)
    return network


def _check_required_arguments(module_class, kwargs):
    """Name the constructor arguments nothing gives, and how to give them."""
    parameters = inspect.signature(module_class).parameters.values()
    missing = [
        parameter.name
        for parameter in parameters
        if parameter.default is inspect.Parameter.empty
        and parameter.kind
        in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and parameter.name not in kwargs
    ]
    if missing:
        raise TypeError(
            f"{module_class.__name__} needs the argument(s) {', '.join(missing)}, "
            "which the estimators do not derive from the data (they give the "
            "shapes: n_channels/n_chans, n_classes/n_outputs, n_times, sfreq, "
            "chs_info); pass them as "
            + ", ".join(f"module__{name}=<value>" for name in missing)
            + "."
        )


def _arguments_text(kwargs):
    """Write a network's constructor arguments for a message, long values by length.

    ``chs_info`` (a dict per channel) and per-channel factors would bury the
    shapes the message is about.
    """

    def text(value):
        if isinstance(value, list | tuple | np.ndarray | Tensor) and len(value) > 4:
            return f"<{type(value).__name__} of {len(value)}>"
        if isinstance(value, np.generic):
            value = value.item()  # np.float64(128.0) reads as 128.0
        return repr(value)

    return ", ".join(f"{name}={text(value)}" for name, value in kwargs.items())


#: torch's words where an input is shorter than a kernel or a pooling window
#: (or a padding, an unfolding into windows) of a network.
_TOO_SHORT = re.compile(
    r"Kernel size can't be greater than actual input size|Output size is too small"
    r"|Invalid computed output size|Padding size should be less than"
    r"|maximum size for tensor at dimension"
)
#: torch's words where an input has another number of axes than a layer
#: takes (batch norm, convolutions, permutations, indexing of an axis).
_OTHER_RANK = re.compile(
    r"\d+D \(unbatched\) or \d+D \(batched\) input|expected \d+D (or \d+D )?input"
    r"|number of dimensions|Dimension out of range|values to unpack \(expected \d"
)


def _shape_advice(err, shapes, probe_shape=None):
    """Return what to do about a network that fails on the estimators' input.

    The axis a port of a Keras model lacks is advised only where torch speaks
    of the input's rank: it was advised for every failure, also where a
    kernel of 421 samples met epochs of 256 (braindecode's HybridNet at 128
    Hz), which no axis mends.

    Parameters
    ----------
    err : Exception
        The network's error.
    shapes : dict
        The shapes of :func:`build_network`.
    probe_shape : tuple of int | None
        The shape of the input that failed, if the estimators made it: a
        Conv2d reads a 3-d tensor as one unbatched epoch, and torch then
        speaks of the channels of ``input[1, 2, 22, 256]``, of the batch's
        size, where a layer taking other channels speaks of
        ``input[2, 22, 256]``.

    Returns
    -------
    advice : str
        A sentence, or empty where torch's words say nothing of the shape.
    """
    message = str(err)
    # A kernel across the channels, wider than the epochs' channels, is
    # rejected in torch's words of a kernel too long: it was said the epochs
    # were too short (a network written for 8 channels, given 7 EEG and an EOG).
    sizes = re.search(
        r"input size per channel: \((\d+) x (\d+)\)\. Kernel size: \((\d+) x (\d+)\)",
        message,
    )
    if sizes:
        rows, columns, kernel_rows, kernel_columns = map(int, sizes.groups())
        if rows == shapes["n_channels"] < kernel_rows and kernel_columns <= columns:
            return (
                f"A layer's kernel spans {kernel_rows} channels where the epochs have "
                f"{rows}: pick the channels it was written for (epochs.pick, or the "
                "estimator's picks), or build it for these."
            )
    if _TOO_SHORT.search(message):
        return (
            f"The epochs ({shapes['n_times']} samples at {shapes['sfreq']:g} Hz) "
            "are too short for the network: a kernel or window of it is longer "
            "than the time that reaches it. Fit on longer epochs, or build it "
            "with shorter kernels."
        )
    # The input a convolution read, in torch's words of channels it lacks.
    read = re.search(r"expected input\[([\d, ]+)\] to have (\d+) channels", message)
    read_shape = tuple(map(int, read.group(1).split(", "))) if read else None
    if _OTHER_RANK.search(message) or (
        probe_shape is not None and read_shape == (1, *probe_shape)
    ):
        return (
            "If it was written for (batch, 1, n_channels, n_times), as ports of "
            "Keras models are, add that axis in its forward (x.unsqueeze(1))."
        )
    if probe_shape is not None and read_shape == probe_shape:
        # No axis is missing: the layer takes other channels (braindecode's
        # AttnSleep reads one).
        return (
            f"A layer reading the input takes {read.group(2)} channel(s) where the "
            f"epochs have {shapes['n_channels']}: pick the channels it was written for "
            "(epochs.pick), or build it for these."
        )
    return ""


class NetworkInputError(ValueError):
    """A network that fails on the input the estimators give it.

    A wrapper that changes what the network's input is (windows of the epochs,
    spectra) catches it to say what that input was.
    """


def _check_logits(network, shapes):
    """Refuse a network that does not return one logit per class for each epoch.

    The loss and every method read ``(batch, n_classes)``; a time-resolved
    output (braindecode's TCN) would otherwise fail deep inside skorch. A
    network ending in a softmax is refused too: cross-entropy would apply a
    second softmax, which flattens the gradients it trains with and squeezes
    ``predict_proba`` towards uniform, silently.
    """
    n_channels, n_times = shapes["n_channels"], shapes["n_times"]
    # A zero epoch and a noise epoch of the training data's amplitude: logits
    # do not sum to one for both unless the network ends in a softmax.
    noise = fixed_noise((1, n_channels, n_times))
    noise = noise * network.training_std.float().reshape(-1, 1)
    probes = torch.cat([torch.zeros_like(noise), noise])
    # The training statistics were just stored on the CPU; skorch moves the
    # whole network to its device next.
    network.cpu()
    was_training = network.training
    network.eval()  # batch norm in training mode would mix the two probes
    try:
        with torch.no_grad():
            output = network(probes)
    # torch's errors of the input's rank come as all three: batch norm's
    # "expected 4D input (got 3D input)" and "Dimension out of range" too.
    except (RuntimeError, ValueError, IndexError) as err:
        raise NetworkInputError(
            f"The network failed on two epochs of shape {tuple(probes.shape)} "
            "(batch, n_channels, n_times), the input the estimators give it: "
            f"{err}. {_shape_advice(err, shapes, tuple(probes.shape))}".rstrip()
        ) from err
    finally:
        network.train(was_training)
    expected = (2, shapes["n_classes"])
    if not isinstance(output, torch.Tensor) or tuple(output.shape) != expected:
        found = (
            f"shape {tuple(output.shape)}"
            if isinstance(output, torch.Tensor)
            else f"a {type(output).__name__}"
        )
        raise ValueError(
            f"The network returns {found} for two epochs; the estimators need one "
            f"logit per class, shape (batch, {shapes['n_classes']}). Reduce its "
            "output to that shape (e.g. average a time-resolved output over time)."
        )
    if returns_probabilities(output):
        raise ValueError(
            "The network returns probabilities (each row is non-negative and sums "
            "to one: it ends in a softmax), but the estimators train it with "
            "cross-entropy on logits and the attribution methods explain logits. "
            "Remove the final softmax (a log-softmax may stay)."
        )
