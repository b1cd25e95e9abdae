"""Deprecated name of :mod:`mne_xai.attribution`.

The package of attribution methods used to be ``mne_xai.explain``, a name the
function :func:`mne_xai.explain` hid (``mne_xai.explain.register_method``
raised AttributeError). ``from mne_xai.explain import name`` keeps working
with a FutureWarning until the alias is removed.
"""

import sys
import warnings

from . import attribution as _attribution

# Importing a moved module (``from mne_xai.explain.gradient import Saliency``)
# reads no name of this one, so __getattr__ below never warned of it. Here and
# there, Python passes over the frames of its import machinery: stacklevel=2 is
# the line of the user's import (mne_xai's warn stopped in importlib, and
# ``from mne_xai.explain import name``, which reads the name twice, warned
# twice).
warnings.warn(
    "The module mne_xai.explain is deprecated and will be removed in mne_xai 0.3; "
    "import from mne_xai.attribution (the function mne_xai.explain is unchanged).",
    FutureWarning,
    stacklevel=2,
)

# ``from mne_xai.explain.gradient import Saliency`` finds the moved modules.
__path__ = []
for _name in ("cam", "deeplift", "gradient", "guided", "lrp", "perturbation"):
    sys.modules[f"{__name__}.{_name}"] = getattr(_attribution, _name)
for _name in ("postprocess", "spectral"):
    sys.modules[f"{__name__}.{_name}"] = sys.modules[f"{_attribution.__name__}.{_name}"]


def __getattr__(name):
    value = getattr(_attribution, name)
    warnings.warn(
        f"mne_xai.explain.{name} is deprecated and will be removed in mne_xai 0.3; "
        f"use mne_xai.attribution.{name} (the function mne_xai.explain is unchanged).",
        FutureWarning,
        stacklevel=2,
    )
    return value
