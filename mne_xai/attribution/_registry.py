"""The one registry of attribution methods, and the class every method derives from."""

import difflib
import inspect
from abc import ABC, abstractmethod

import torch
from mne.defaults import DEFAULTS
from mne.utils import _check_option

from .._docs import fill_doc
from .._graph import without_parametrizations

_METHODS = {}


def check_map_shape(attribution, inputs, name):
    """Refuse maps of another shape than the epochs they explain.

    Broadcast into the epochs' maps, or averaged with them, a map of another
    shape failed in NumPy's words or gave a wrong mean.
    """
    if attribution.shape != inputs.shape:
        raise ValueError(
            f"{name} returned maps of shape {tuple(attribution.shape)} for epochs "
            f"of shape {tuple(inputs.shape)}; an attribution method returns one "
            "value per input sample, shaped like its input."
        )


class AttributionMethod(ABC):
    """Base class of attribution methods, in the manner of captum's attributions.

    A method wraps a module that maps a batch ``(batch, n_channels, n_times)``
    to class logits, in evaluation mode. :meth:`attribute` explains one batch
    for one target class per epoch and returns a tensor shaped like the input.
    :func:`mne_xai.explain` does everything else (batching, targets, baselines,
    devices, MNE outputs), so a new method is a short subclass registered with
    :func:`register_method`.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.

    Attributes
    ----------
    name : str
        The name under which :func:`mne_xai.explain` finds the method.
    stochastic : bool
        Whether the result depends on random draws (noise, random baselines).
        Such a method draws through :meth:`randn_like`, :meth:`rand` and
        :meth:`randint`, from one generator per epoch that
        :func:`mne_xai.explain` seeds with its ``random_state`` and the
        epoch's data: ``random_state`` then fixes an epoch's map whatever
        ``batch_size`` and whatever other epochs are explained with it.
    layerwise : bool
        Whether the method's rules depend on how the network is divided into
        layers (LRP, class activation maps). Other methods are defined by the
        function the network computes and by its nonlinearities, and run on
        the network's ``inference_graph()`` when it has one: an equivalent,
        faster arrangement of its linear layers.
    propagation_rules : bool
        Whether the method replaces the backward pass of some layers by rules
        of its own (guided backpropagation, LRP, DeepLIFT). Such a method
        traces the network's computation (its layers and autograd's
        operations) and refuses operations its rules do not handle; the others are valid for any
        differentiable network.
    differentiates : bool
        Whether the method differentiates the network (methods with
        propagation rules always do). Such a method is refused for a network
        that computes part of its output from the input out of autograd's
        sight (found by tracing autograd's graph of one epoch back to the
        input). True
        unless the method says otherwise: one that only runs the network
        forward (occlusion, Score-CAM) sets it to False, so that a new method
        is checked unless it declares it needs no gradient.
    from_zero : bool
        Whether the values weigh the input by its distance from zero, with no
        baseline to choose (gradient × input, LRP, FullGrad's input term):
        they mean something only where an input of zero means no signal, as
        volts of EEG do and decibels of power do not. A method for which this
        follows its parameters overrides :meth:`from_zero_of`.
    from_baseline : bool
        Whether the values share out the change of the target logit from a
        ``baseline`` to the epoch (integrated gradients, DeepLIFT,
        GradientSHAP): :func:`mne_xai.explain` refuses a baseline at which
        the network's output is not a number. A method for which this follows
        its parameters overrides :meth:`from_baseline_of`.
    unit : str
        What the values measure: ``"logit"`` where they are shares of (or
        differences of) the target logit, ``"logit/{input}"`` for gradients
        (logit per unit of the input), ``"{input}"`` for a signal in the
        input's unit, ``"a.u."`` where the scale carries no unit (class
        activation maps, random maps). :func:`method_unit` fills in the input's
        unit; a method whose unit follows its parameters overrides
        :meth:`unit_of`.
    network : torch.nn.Module
        The network as given.
    module : torch.nn.Module
        What the method runs on: the network, or its inference graph.
    generators : list of torch.Generator | None
        One generator per epoch of the batch being explained, on its device,
        set by :func:`mne_xai.explain` for stochastic methods. When None (the
        method called directly), draws come from torch's global random state.
    map_transform : callable | None
        For a method that combines several maps of each epoch
        (``combines_maps``, as SmoothGrad over noisy copies): a transform of
        the maps that the caller wants (relevance folded into frequencies),
        applied to each map before they are combined. A nonlinear transform
        of a mean (or of a mean of squares) is not the mean of the transforms.
    """

    name = None
    unit = "a.u."
    stochastic = False
    layerwise = False
    propagation_rules = False
    differentiates = True
    from_zero = False
    from_baseline = False
    generators = None
    combines_maps = False
    map_transform = None

    def __init__(self, module):
        self.network = module
        inference_graph = getattr(module, "inference_graph", None)
        graph = None if self.layerwise or inference_graph is None else inference_graph()
        # A network that is its own graph is read as any other.
        if graph is None or graph is module:
            graph = without_parametrizations(module)
        self.module = graph

    @abstractmethod
    def attribute(self, inputs, target):
        """Explain a batch.

        Subclasses add their parameters as keyword-only arguments with defaults;
        :func:`mne_xai.explain` passes them through and rejects unknown ones. A
        parameter named ``baseline`` receives a tensor of shape
        ``(n_baselines, n_channels, n_times)`` on the input's device.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data, in the unit the network was trained on.
        target : torch.Tensor of int64, shape (batch,)
            Index of the class to explain for each epoch.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Relevance of each input sample for the target logit.
        """

    def randn_like(self, inputs):
        """Draw standard normal values shaped like ``inputs``, epoch by epoch.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, ...)
            The batch; each epoch's values come from its own generator.

        Returns
        -------
        draws : torch.Tensor
            Shape, type and device of ``inputs``.
        """
        return self._draw(
            inputs,
            lambda generator: torch.randn(
                inputs.shape[1:], generator=generator, dtype=inputs.dtype
            ),
        )

    def rand(self, inputs, *size):
        """Draw values uniform in [0, 1), ``size`` of them per epoch.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, ...)
            The batch; each epoch's values come from its own generator.
        *size : int
            Shape of the draws of one epoch.

        Returns
        -------
        draws : torch.Tensor
            Of shape ``(batch, *size)``, of the type and on the device of
            ``inputs``.
        """
        return self._draw(
            inputs,
            lambda generator: torch.rand(size, generator=generator, dtype=inputs.dtype),
        )

    def randint(self, inputs, high):
        """Draw one integer in [0, ``high``) per epoch.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, ...)
            The batch; each epoch's value comes from its own generator.
        high : int
            One above the largest integer drawn.

        Returns
        -------
        draws : torch.Tensor of int64, shape (batch,)
            On the device of ``inputs``.
        """
        return self._draw(
            inputs,
            lambda generator: torch.randint(high, (), generator=generator),
        )

    def _draw(self, inputs, draw):
        """Stack ``draw(generator)`` over the epochs of ``inputs``, on their device.

        Draws are made on the CPU and moved: a GPU's generator draws other
        numbers than the CPU's from the same seed, and maps of one seed must
        not depend on the device.
        """
        generators = self.generators
        if generators is None:
            generators = [None] * len(inputs)
        elif len(generators) != len(inputs):
            raise RuntimeError(
                f"{self.name} has {len(generators)} generators for a batch of "
                f"{len(inputs)} epochs."
            )
        return torch.stack([draw(generator) for generator in generators]).to(
            inputs.device
        )

    @classmethod
    @fill_doc
    def unit_of(cls, params=None):
        """Return the unit of the values computed with ``params``.

        Parameters
        ----------
        %(params_of)s

        Returns
        -------
        unit : str
            The unit, with ``"{input}"`` for the input's (see ``unit``).
        """
        return cls.unit

    @classmethod
    @fill_doc
    def from_zero_of(cls, params=None):
        """Return ``from_zero`` for the values computed with ``params``.

        Parameters
        ----------
        %(params_of)s

        Returns
        -------
        from_zero : bool
            See ``from_zero``.
        """
        return cls.from_zero

    @classmethod
    @fill_doc
    def from_baseline_of(cls, params=None):
        """Return ``from_baseline`` for the values computed with ``params``.

        Parameters
        ----------
        %(params_of)s

        Returns
        -------
        from_baseline : bool
            See ``from_baseline``.
        """
        return cls.from_baseline

    @classmethod
    def parameters(cls):
        """Return the method's keyword parameters and their defaults."""
        signature = inspect.signature(cls.attribute)
        return {
            name: parameter.default
            for name, parameter in signature.parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        }


def register_method(cls):
    """Register an :class:`~mne_xai.attribution.AttributionMethod` subclass under its ``name``.

    Parameters
    ----------
    cls : subclass of AttributionMethod
        The method to register; its ``name`` must be new.

    Returns
    -------
    cls : subclass of AttributionMethod
        The same class, so this works as a decorator.
    """
    if not (isinstance(cls, type) and issubclass(cls, AttributionMethod)):
        raise TypeError(
            f"Only AttributionMethod subclasses can be registered: {cls!r}."
        )
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name to be registered.")
    if cls.name in _METHODS and _METHODS[cls.name] is not cls:
        raise ValueError(f"An attribution method named {cls.name!r} exists already.")
    _METHODS[cls.name] = cls
    return cls


def list_methods():
    """Return the names of every attribution method.

    Returns
    -------
    names : list of str
        Sorted names accepted by ``mne_xai.explain(..., method=name)``.
    """
    return sorted(_METHODS)


def methods_without_rules():
    """Return the names of the methods without per-layer rules.

    Returns
    -------
    names : list of str
        Sorted names of the methods valid for any differentiable network.
    """
    return [name for name in list_methods() if not _METHODS[name].propagation_rules]


def other_methods_note(layerwise=True):
    """Return the sentence naming the methods left to a user whose network a rule refuses.

    Each of those methods checks the network in turn (the CAMs refuse some
    layouts), hence "may apply".

    Parameters
    ----------
    layerwise : bool
        Whether the methods without rules that follow the network layer by
        layer (the class activation maps, ``full_grad``) may apply. False
        where the refused operation runs in a layer that does not map one
        tensor to one tensor (``nn.LSTM``), which they cannot pass: naming
        them sent the user to methods that refuse the same network.

    Returns
    -------
    note : str
        The sentence (two without ``layerwise``).
    """
    names = methods_without_rules()
    if layerwise:
        return (
            "Methods without per-layer rules may apply to this network (each "
            f"checks it in turn): {', '.join(names)}."
        )
    following = [name for name in names if _METHODS[name].layerwise]
    return (
        "The methods that follow the network layer by layer "
        f"({', '.join(following)}) cannot explain it either: they cannot pass a "
        "layer that does not map one tensor to one tensor. Methods of the whole "
        "network's gradient or output may apply to this network "
        "(each checks it in turn): "
        f"{', '.join(name for name in names if name not in following)}."
    )


def method_differentiates(method):
    """Whether a registered method differentiates the network.

    Parameters
    ----------
    method : str
        The name of a registered method.

    Returns
    -------
    differentiates : bool
        True for methods built on gradients (plain or through propagation
        rules), False for those that only run the network forward.
    """
    cls = get_method(method)
    return cls.differentiates or cls.propagation_rules


def needs_patterns(method):
    """Whether a registered method passes the decision back through learned patterns.

    Such patterns (:func:`mne_xai.inspect.learn_patterns`) belong to one
    network's weights: a network with other weights needs its own.

    Parameters
    ----------
    method : str
        The name of a registered method.

    Returns
    -------
    needs : bool
        True for PatternNet and PatternAttribution.
    """
    return "patterns" in get_method(method).parameters()


def methods_without_gradient():
    """Return the names of the methods that do not differentiate the network.

    Returns
    -------
    names : list of str
        Sorted names of the methods valid for any network, differentiable or not.
    """
    return [name for name in list_methods() if not method_differentiates(name)]


def get_method(name):
    """Return the method class registered as ``name`` (clear error if unknown)."""
    try:
        _check_option("method", name, list_methods())
    except ValueError as error:
        if not isinstance(name, str):
            raise
        # Case-insensitive, so that "DeepLIFT" finds "deeplift"; among 25 names
        # the closest are what a user looks for.
        lower = {method.lower(): method for method in _METHODS}
        close = difflib.get_close_matches(name.lower(), lower, n=3)
        if not close:
            raise
        suggestions = " or ".join(repr(lower[method]) for method in close)
        raise ValueError(f"{error} Did you mean {suggestions}?") from None
    return _METHODS[name]


def method_unit(method, info=None, params=None):
    """Return the unit of a method's values, e.g. ``"logit"`` or ``"logit/V"``.

    Parameters
    ----------
    method : str
        A registered method.
    info : mne.Info | None
        The channels the network reads. When they share one SI unit (volts for
        EEG, EOG, EMG, ECG), gradients are given per that unit; otherwise per
        ``"input unit"``.
    params : dict | None
        The method's parameters, where its unit follows them (e.g. SmoothGrad's
        base method).

    Returns
    -------
    unit : str
        The unit, for axis and colorbar labels.
    """
    unit = get_method(method).unit_of(params)
    input_unit = "input unit"
    if info is not None:
        units = {DEFAULTS["si_units"].get(kind) for kind in info.get_channel_types()}
        if len(units) == 1 and None not in units:
            input_unit = units.pop()
    # "logit/T/m" reads as logit/(T m), "logit/input unit^2" as of "unit" only.
    compound = " " in input_unit or "/" in input_unit
    if compound and ("/{input}" in unit or "{input}^" in unit):
        input_unit = f"({input_unit})"
    return unit.format(input=input_unit)


def check_comparable_across_channels(method, info, purpose, params=None):
    """Refuse maps per unit of input where channels of several types meet.

    Gradients are per unit of each channel's input: per tesla on magnetometers,
    per tesla per metre on gradiometers, per volt on EEG; and per unit of what
    the network reads, which mne_xai's estimators scale type by type (each to
    unit variance). Ranking or comparing such maps across types compares the
    units or the scales (every magnetometer outranked every EEG channel; after
    every layer was randomized, saliency of EEG and EMG, both in volts, kept a
    similarity of 0.73 from the EMG's 100 times smaller factor), so functions
    that do refuse them for such networks.

    Parameters
    ----------
    method : str
        A registered method.
    info : mne.Info | None
        The channels the network reads.
    purpose : str
        What compares the channels, for the message.
    params : dict | None
        The method's parameters (see :func:`method_unit`).
    """
    if info is None or "{input}" not in get_method(method).unit_of(params):
        return
    types = list(dict.fromkeys(info.get_channel_types()))
    if len(types) > 1:
        raise ValueError(
            f"{method} gives maps in {method_unit(method, info, params)}, and the "
            f"network reads channels of several types ({', '.join(types)}), each "
            "in its unit "
            f"and scaled apart: {purpose} would compare the units and scales "
            "rather than the relevance. Use a method whose maps are in logit "
            "(gradient_x_input, integrated_gradients, deeplift), or a network of "
            "one channel type."
        )
