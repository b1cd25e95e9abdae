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

.PHONY: demo test lint

$(BIN)/mne-xai: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

demo: $(BIN)/mne-xai
	$(BIN)/mne-xai demo

test: $(BIN)/mne-xai
	$(BIN)/ruff check mne_xai tests benchmarks examples
	$(BIN)/python -m pytest -q --durations=15

lint: $(BIN)/mne-xai
	$(BIN)/ruff check mne_xai tests benchmarks examples
	$(BIN)/ruff format --check mne_xai tests benchmarks examples
