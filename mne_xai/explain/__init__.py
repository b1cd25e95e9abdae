"""Attribution methods in one registry, returned as MNE objects.

Every method is an :class:`AttributionMethod` registered under a name;
:func:`explain` runs any of them through one path for batching, targets,
baselines and MNE outputs.
"""

from . import (
    cam,  # noqa: F401
    deeplift,  # noqa: F401
    gradient,  # noqa: F401  (registers the methods)
    guided,  # noqa: F401
    lrp,  # noqa: F401
    perturbation,  # noqa: F401
)
from ._core import explain
from ._registry import AttributionMethod, list_methods, register_method
from .postprocess import (
    channel_importance,
    modality_importance,
    smooth_attribution,
    threshold_attribution,
    time_importance,
    zscore_attribution,
)
from .spectral import explain_spectrum

__all__ = ["AttributionMethod", "explain", "list_methods", "register_method"]
__all__ += [
    "channel_importance",
    "explain_spectrum",
    "modality_importance",
    "smooth_attribution",
    "threshold_attribution",
    "time_importance",
    "zscore_attribution",
]
