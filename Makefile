# Set-up and entry points. `make demo` and `make test` create the virtual
# environment and install everything they need on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
# torch is installed first and pinned, so that installing the package does not
# pull a newer multi-GB CUDA build; the development machines hold this version's
# CPU wheel. The package itself accepts torch>=2.1: override, e.g. TORCH_SPEC=torch.
TORCH_SPEC ?= torch==2.13.0
# Where the real recordings live (MNE's convention): when MNE_DATA is unset, the
# shared data folder beside the project if there is one, else MNE's own default.
ifeq ($(origin MNE_DATA), undefined)
  ifneq ($(wildcard ../shared/data),)
    export MNE_DATA := $(abspath ../shared/data)
  endif
endif
export MPLBACKEND ?= Agg

BIN := $(VENV)/bin

.PHONY: demo test lint doc doc-full

$(BIN)/mne-xai: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

demo: $(BIN)/mne-xai
	$(BIN)/mne-xai demo

# One pytest worker per core (pytest-xdist); tests/conftest.py gives each
# worker its share of torch's threads.
test: $(BIN)/mne-xai
	$(BIN)/ruff check mne_xai tests benchmarks examples
	$(BIN)/python -m pytest -q -n auto --durations=15

lint: $(BIN)/mne-xai
	$(BIN)/ruff check mne_xai tests benchmarks examples
	$(BIN)/ruff format --check mne_xai tests benchmarks examples

# The documentation, offline, warnings as errors. `make doc` runs the examples
# that take under a minute (the others show their code; doc/conf.py lists
# them), as CI does; `make doc-full` runs every example. Links to MNE,
# scikit-learn, torch... need the internet: MNE_XAI_DOC_INTERSPHINX=1 make doc.
$(VENV)/.doc-installed: pyproject.toml | $(BIN)/mne-xai
	$(BIN)/pip install --quiet -e ".[doc]"
	touch $@

# One torch thread per example: on a loaded 2-core machine the default (one per
# core) made the fast gallery take 6.8 minutes instead of 2.6.
DOC_THREADS ?= 1
SPHINXBUILD = OMP_NUM_THREADS=$(DOC_THREADS) $(BIN)/sphinx-build -W --keep-going \
	-j auto -b html doc doc/_build/html

doc: $(VENV)/.doc-installed
	MNE_XAI_DOC_GALLERY=fast $(SPHINXBUILD)

doc-full: $(VENV)/.doc-installed
	MNE_XAI_DOC_GALLERY=full $(SPHINXBUILD)
