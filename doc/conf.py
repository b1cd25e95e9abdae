"""Sphinx configuration: `sphinx-build doc doc/_build` after `pip install -e .[doc]`."""

import mne_xai

project = "mne_xai"
release = mne_xai.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinxcontrib.bibtex",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
bibtex_bibfiles = ["references.bib"]
bibtex_footbibliography_header = ""
intersphinx_mapping = {
    "mne": ("https://mne.tools/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "plot_",
}
exclude_patterns = ["_build"]
