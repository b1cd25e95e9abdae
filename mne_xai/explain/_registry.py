"""The one registry of attribution methods, and the class every method derives from."""

import inspect
from abc import ABC, abstractmethod

from mne.utils import _check_option

_METHODS = {}


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
        :func:`mne_xai.explain` then seeds torch with its ``random_state``.
    layerwise : bool
        Whether the method's rules depend on how the network is divided into
        layers (LRP, class activation maps). Other methods are defined by the
        function the network computes and by its nonlinearities, and run on
        the network's ``inference_graph()`` when it has one: an equivalent,
        faster arrangement of its linear layers.
    network : torch.nn.Module
        The network as given.
    module : torch.nn.Module
        What the method runs on: the network, or its inference graph.
    """

    name = None
    stochastic = False
    layerwise = False

    def __init__(self, module):
        self.network = module
        inference_graph = getattr(module, "inference_graph", None)
        if self.layerwise or inference_graph is None:
            self.module = module
        else:
            self.module = inference_graph()

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
    """Register an :class:`AttributionMethod` subclass under its ``name``.

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


def get_method(name):
    """Return the method class registered as ``name`` (clear error if unknown)."""
    _check_option("method", name, list_methods())
    return _METHODS[name]
