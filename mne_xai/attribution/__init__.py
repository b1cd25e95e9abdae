"""Attribution methods in one registry, returned as MNE objects.

Every method is an :class:`AttributionMethod` registered under a name;
:func:`explain` runs any of them through one path for batching, targets,
baselines and MNE outputs.
"""

# Importing the method modules registers their methods.
from . import cam, deeplift, gradient, guided, lrp, pattern, perturbation  # noqa: F401
from ._core import explain
from ._registry import AttributionMethod, list_methods, method_unit, register_method
from .postprocess import (
    channel_importance,
    modality_importance,
    smooth_attribution,
    threshold_attribution,
    time_importance,
    zscore_attribution,
)
from .spectral import explain_spectrum

__all__ = [
    "AttributionMethod",
    "explain",
    "list_methods",
    "method_unit",
    "register_method",
]
__all__ += [
    "channel_importance",
    "explain_spectrum",
    "modality_importance",
    "smooth_attribution",
    "threshold_attribution",
    "time_importance",
    "zscore_attribution",
]
