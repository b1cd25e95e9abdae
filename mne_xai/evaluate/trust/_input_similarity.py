"""Why a map survives randomization: its similarity with the input's magnitude."""

import numpy as np


def _partial_correlation(maps, trained_input, randomized_input):
    """Correlation of two maps once the input's magnitude is accounted for.

    The partial correlation ``(r_ab - r_ax r_bx) / sqrt((1 - r_ax²)(1 - r_bx²))``
    of the trained (a) and randomized (b) maps given the input's magnitude
    (x), per epoch; 0 where a map ranks as the input does exactly: it shares
    nothing beyond the input then. (The formula gives NaN there, which would
    read as structure "not from the input".) NaN where a correlation is
    undefined (a flat epoch, a constant map), so that means leave it out
    rather than count it as sharing nothing.
    """
    denominator = np.sqrt((1 - trained_input**2) * (1 - randomized_input**2))
    partial = np.divide(
        maps - trained_input * randomized_input,
        denominator,
        out=np.full_like(maps, np.nan, dtype=float),
        where=denominator > 0,
    )
    partial[denominator == 0] = 0.0
    return partial
