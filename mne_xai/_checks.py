"""Argument checks shared across the package, beside MNE's own."""

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
