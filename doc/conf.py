"""Sphinx configuration of the mne_xai documentation.

Build with ``make doc`` (fast examples only, as CI does) or ``make doc-full``
(every example); both run ``sphinx-build -W --keep-going`` offline, after
``pip install -e .[doc]``. Environment variables read here:

``MNE_XAI_DOC_GALLERY``
    ``"fast"`` (the default) runs every example except those in
    ``SLOW_EXAMPLES`` (their pages show code without output); ``"full"`` runs
    them all.
``MNE_XAI_DOC_INTERSPHINX``
    ``1`` links MNE, scikit-learn, skorch, torch, NumPy and Python names to
    their documentation, which needs the internet; off by default, so an
    offline build has nothing to fetch and nothing to warn about.
"""

import os
import re
import sys
from pathlib import Path

import mne_xai

sys.path.insert(0, str(Path(__file__).parent / "sphinxext"))

project = "mne_xai"
author = "mne_xai developers"
copyright = "mne_xai developers"
release = mne_xai.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinxcontrib.bibtex",
    "sphinx_gallery.gen_gallery",
    "method_pages",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "sphinxext"]
root_doc = "index"

# API reference: one page per object listed in api.rst.
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's "Parameters" give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

bibtex_bibfiles = ["references.bib"]
bibtex_footbibliography_header = ""
bibtex_default_style = "unsrt"

html_theme = "pydata_sphinx_theme"
html_title = f"mne_xai {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_show_sourcelink = False
html_context = {"default_mode": "light"}

if os.environ.get("MNE_XAI_DOC_INTERSPHINX", "0") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "mne": ("https://mne.tools/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
    }
else:
    intersphinx_mapping = {}

# Every cross-reference must resolve (sphinx-build -W makes a miss an error):
# mne_xai's own always, other projects' when their inventories are loaded.
nitpicky = True
if not intersphinx_mapping:
    _OTHER_PROJECTS = (
        "mne|sklearn|skorch|torch|numpy|scipy|joblib|dask|pandas|matplotlib"
        "|warnings|dict|list|tuple|str|int|float|bool|object"
    )
    nitpick_ignore_regex = [(r"py:.*", rf"({_OTHER_PROJECTS})(\..+)?")]

# Examples that take several minutes (seconds measured by sphinx-gallery,
# sg_execution_times.rst, in ``make doc-full`` on 2 CPU cores with
# OMP_NUM_THREADS=1): ``make doc`` shows their code without running them. The
# others took 2 to 23 s each in that run.
SLOW_EXAMPLES = {
    "plot_train_on_epochs.py": 432,
    "plot_class_prototypes.py": 174,
}
gallery = os.environ.get("MNE_XAI_DOC_GALLERY", "fast")
if gallery not in ("fast", "full"):
    raise ValueError(f"MNE_XAI_DOC_GALLERY must be 'fast' or 'full', got {gallery!r}.")
if gallery == "full" or not SLOW_EXAMPLES:
    filename_pattern = r"[/\\]plot_[^/\\]+\.py$"
else:
    slow = "|".join(re.escape(name) for name in SLOW_EXAMPLES)
    filename_pattern = rf"[/\\](?!(?:{slow})$)plot_[^/\\]+\.py$"

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": filename_pattern,
    "doc_module": ("mne_xai",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"mne_xai": None},
    "remove_config_comments": True,
    "within_subsection_order": "gallery_order.ExampleOrder",
    "min_reported_time": 1,
    # As MNE's gallery: rich reprs (tables, estimators) are shown, while the
    # reprs of figures, axes and labels that plotting calls return are not.
    "capture_repr": ("_repr_html_",),
    # Examples run side by side, as many as sphinx-build's -j (the Makefile's
    # "auto": one per core), each on DOC_THREADS torch threads.
    "parallel": True,
}


#: skorch's extension points that the estimators override: skorch calls them
#: inside fit and predict, a user does not, and their docstrings say how the
#: override differs from skorch's.
_SKORCH_HOOKS = {
    "check_data",
    "fit_loop",
    "forward_iter",
    "get_dataset",
    "get_default_callbacks",
    "get_iterator",
    "get_split_datasets",
    "initialize_criterion",
    "initialize_module",
    "train_step_single",
}


def _skip_framework_members(app, what, name, obj, skip, options):
    """Leave out members that are the frameworks' rather than the user's.

    scikit-learn adds ``set_*_request`` methods to every estimator for
    metadata routing (their docstrings are scikit-learn's and link into its
    glossary); skorch's hooks are listed in ``_SKORCH_HOOKS``.
    """
    if re.fullmatch(r"set_\w+_request", name) or name in _SKORCH_HOOKS:
        return True
    return None


def setup(app):
    """Connect the handler above."""
    app.connect("autodoc-skip-member", _skip_framework_members)
