"""Attribution methods in one registry, returned as MNE objects.

Every method is an :class:`AttributionMethod` registered under a name;
:func:`explain` runs any of them through one path for batching, targets,
baselines and MNE outputs.
"""

from . import gradient  # noqa: F401  (registers the methods)
from ._core import explain
from ._registry import AttributionMethod, list_methods, register_method

__all__ = ["AttributionMethod", "explain", "list_methods", "register_method"]
