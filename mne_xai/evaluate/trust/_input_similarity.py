"""Why a map survives randomization: its similarity with the input's magnitude."""

import numpy as np


def _partial_correlation(maps, trained_input, randomized_input):
    """Correlation of two maps once the input's magnitude is accounted for.

    The partial correlation ``(r_ab - r_ax r_bx) / sqrt((1 - r_ax²)(1 - r_bx²))``
    of the trained (a) and randomized (b) maps given the input's magnitude
    (x), per epoch; NaN where a map equals the input's ranking exactly.
    """
    denominator = np.sqrt((1 - trained_input**2) * (1 - randomized_input**2))
    return np.divide(
        maps - trained_input * randomized_input,
        denominator,
        out=np.full_like(maps, np.nan),
        where=denominator > 0,
    )
