"""Deprecated name of :mod:`mne_xai.attribution`.

The package of attribution methods used to be ``mne_xai.explain``, a name the
function :func:`mne_xai.explain` hid (``mne_xai.explain.register_method``
raised AttributeError). ``from mne_xai.explain import name`` keeps working
with a FutureWarning until the alias is removed.
"""

import sys

from . import attribution as _attribution
from ._warnings import warn

# ``import mne_xai.explain.gradient`` finds the moved modules under the old name.
__path__ = []
for _name in ("cam", "deeplift", "gradient", "guided", "lrp", "perturbation"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_attribution, _name)
for _name in ("postprocess", "spectral"):
    sys.modules[f"{__name__}.{_name}"] = sys.modules[f"{_attribution.__name__}.{_name}"]


def __getattr__(name):
    value = getattr(_attribution, name)
    warn(
        f"mne_xai.explain.{name} is deprecated and will be removed in mne_xai 0.3; "
        f"use mne_xai.attribution.{name} (the function mne_xai.explain is unchanged).",
        FutureWarning,
    )
    return value
