"""Warnings passed on once, however often a block raises them."""

import warnings
from contextlib import contextmanager


@contextmanager
def warnings_once():
    """Pass on each distinct warning of the block once, when it ends.

    A check run on every batch, or by a classifier and again by the network
    it wraps, would otherwise say the same thing several times. Warnings are
    distinct by category and text (whitespace aside); the caller's filters
    still decide what is shown.

    Yields
    ------
    passed_on : list of warnings.WarningMessage
        Filled when the block ends: the distinct warnings, in order.
    """
    passed_on = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield passed_on
    said = set()
    for warning in caught:
        key = (warning.category, " ".join(str(warning.message).split()))
        if key in said:
            continue
        said.add(key)
        passed_on.append(warning)
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
