"""Argument checks shared across the package, beside MNE's own."""

import operator

import numpy as np
import torch
from mne.utils import _validate_type


def check_positive_int(value, name):
    """Return ``value`` as an int, or say clearly why it is not a positive integer.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the error message.

    Returns
    -------
    value : int
        The value.
    """
    _validate_type(value, "int-like", name)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}.")
    return int(value)


def check_axes(axes):
    """Refuse ``axes`` other than one matplotlib Axes or None.

    The array of axes that ``plt.subplots(1, 2)`` returns failed when drawn,
    as "'numpy.ndarray' object has no attribute 'plot'" (or 'figure').

    Parameters
    ----------
    axes : object
        The argument.
    """
    from matplotlib.axes import Axes

    _validate_type(axes, (None, Axes), "axes", "a matplotlib Axes or None")


def check_seed(random_state):
    """Return ``random_state`` as an int or None, or say why it is not a seed.

    NumPy's own error for a negative seed ("expected non-negative integer")
    names no argument. A NumPy generator (or scikit-learn's RandomState)
    gives one seed drawn from it, as scikit-learn's ``check_random_state``
    lets it stand for a seed.

    Parameters
    ----------
    random_state : object
        The argument.

    Returns
    -------
    random_state : int | None
        The seed.
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    _validate_type(
        random_state,
        (None, "int-like"),
        "random_state",
        "None, an int or a NumPy Generator or RandomState",
    )
    if random_state is None:
        return None
    if random_state < 0:
        raise ValueError(
            f"random_state must be None or a non-negative integer, got {random_state}."
        )
    return int(random_state)


def check_generator(random_state):
    """Return a NumPy Generator drawing from ``random_state``, or say why it cannot.

    A NumPy Generator is drawn from itself, a RandomState through its bit
    generator, as :func:`numpy.random.default_rng` takes them; anything else
    must be a seed (see :func:`check_seed`, whose message names
    ``random_state``, where NumPy's "SeedSequence expects int or sequence of
    ints" did not).

    Parameters
    ----------
    random_state : object
        The argument.

    Returns
    -------
    rng : numpy.random.Generator
        The generator.
    """
    if not isinstance(random_state, np.random.Generator | np.random.RandomState):
        random_state = check_seed(random_state)
    return np.random.default_rng(random_state)


def check_n_jobs(n_jobs):
    """Return ``n_jobs``, or say that it is no number of jobs.

    MNE's and joblib's own checks ("Item must be an instance of int-like or
    None") name no argument.

    Parameters
    ----------
    n_jobs : object
        The argument.

    Returns
    -------
    n_jobs : int | None
        The number of jobs, as joblib reads it (-1 for all cores; None for 1,
        or what a joblib context sets).
    """
    _validate_type(n_jobs, ("int-like", None), "n_jobs")
    return None if n_jobs is None else int(n_jobs)


def returns_probabilities(outputs):
    """Whether a network's outputs are probabilities: it ends in a softmax.

    Logits are rows of any sign and sum; a softmax gives rows that are
    non-negative and sum to one, which logits of several epochs never all do.

    Parameters
    ----------
    outputs : torch.Tensor, shape (n_epochs, n_classes)
        The network's outputs for a few epochs.

    Returns
    -------
    probabilities : bool
        True if every row is non-negative and sums to one.
    """
    sums = outputs.sum(dim=1)
    return bool(outputs.min() >= 0) and torch.allclose(sums, torch.ones_like(sums))


def check_device(device, default=None):
    """Return the torch device to compute on, or say clearly why there is none.

    torch's own failure on a CPU build asked for ``device="cuda"`` is an
    ``AssertionError`` ("Torch not compiled with CUDA enabled").

    Parameters
    ----------
    device : str | torch.device | None
        The device asked for; None means ``default``.
    default : str | torch.device | None
        The fitted network's device.

    Returns
    -------
    device : torch.device | None
        The device; None if both are None (skorch's "leave the tensors
        where they are").
    """
    device = device if device is not None else default
    if device is None:
        return None
    _validate_type(device, (str, "int-like", torch.device), "device")
    if not isinstance(device, str | torch.device):
        # torch reads an index as the current accelerator's, and fails
        # without one in its own words.
        index = operator.index(device)
        device = f"{_accelerator_type()}:{index}" if index >= 0 else index
    try:
        device = torch.device(device)
    except RuntimeError as error:  # e.g. -1: "must not be negative"
        raise ValueError(
            f"device={device!r} names no torch device ({error}); use e.g. 'cpu', "
            "'cuda' or 'cuda:1'."
        ) from None
    if device.type == "meta":
        # Moving the network there would drop its weights for good.
        raise ValueError(
            "device='meta' holds the shapes of tensors but not their values: a "
            "network moved there loses its weights. Use e.g. 'cpu' or 'cuda'."
        )
    if device.type == "mps":
        # Found where torch first moved a float64 buffer there ("Cannot convert
        # a MPS Tensor to float64 dtype"), in fit and in explain alike.
        raise ValueError(
            "device='mps' is not supported: mne_xai keeps the training statistics "
            "and sums attributions in float64, which Apple's MPS backend lacks. "
            "Use device='cpu' (or a CUDA GPU)."
        )
    available = {"cuda": torch.cuda.is_available}.get(device.type, lambda: True)
    if not available():
        cpu_build = device.type == "cuda" and torch.version.cuda is None
        build = " (this torch is a CPU build)" if cpu_build else ""
        raise ValueError(
            f"device={str(device)!r}, but torch finds no {device.type} device on "
            f"this machine{build}; use device='cpu'."
        )
    return device


def _accelerator_type():
    """Return the type of device an index names in torch: its accelerator's, or "cuda"."""
    accelerator = getattr(torch, "accelerator", None)  # torch 2.6 and later
    current = accelerator.current_accelerator() if accelerator else None
    return "cuda" if current is None else current.type


def compute_device(device, network):
    """Return the device a function computes on: ``device``, else the network's.

    skorch's ``device=None`` leaves the module where its user put it (e.g. on a
    GPU); its parameters then say where, so that the inputs join them rather
    than stay on the CPU beside a module on the GPU.

    Parameters
    ----------
    device : str | torch.device | None
        The device asked for.
    network : object
        A fitted classifier, as :func:`mne_xai.as_network` returns it.

    Returns
    -------
    device : torch.device
        The device.
    """
    chosen = check_device(device, network.device)
    if chosen is None:
        parameter = next(network.module_.parameters(), None)
        chosen = torch.device("cpu") if parameter is None else parameter.device
    return chosen
