"""Argument checks shared across the package, beside MNE's own."""

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
