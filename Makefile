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

.PHONY: demo test test-floors lint doc doc-full

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

# The oldest supported releases (requirements/floors.txt, pyproject's floors
# pinned) in a second environment, and the tests of the APIs that broke at
# older releases (pickling, check_is_fitted, spectra, log levels, pandas
# tables, reading EEGBCI). torch stays TORCH_SPEC: its 2.1 floor is a multi-GB
# download here, and tests/test_floors.py simulates torch<2.5 instead.
FLOORS_VENV ?= .venv-floors
FLOORS_BIN := $(FLOORS_VENV)/bin
FLOORS_TESTS ?= tests/test_floors.py \
	$(addprefix tests/test_estimators.py::test_, \
		pickle_and_saved_params_give_identical_predictions sklearn_contract \
		scikit_learn_tags_say_the_input_is_three_dimensional \
		verbose_shows_progress_and_is_silent_otherwise \
		rebuilding_a_part_of_a_fitted_network_follows_verbose \
		unfitted_estimator_is_refused \
		unfitted_estimator_is_refused_by_the_inspections \
		labels_that_are_the_events_are_read_from_events \
		class_weight_errors_name_the_fix) \
	tests/test_explain_core.py::test_a_boolean_class_is_a_target \
	tests/test_viz.py::test_topomaps_refuse_channels_without_positions \
	tests/test_recordings.py::test_explain_recordings_gives_evokeds_and_a_table \
	tests/test_datasets.py::test_eegbci_takes_one_run_as_an_int

$(FLOORS_VENV)/.installed: pyproject.toml requirements/floors.txt
	rm -rf $(FLOORS_VENV)
	$(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_BIN)/pip install --quiet "$(TORCH_SPEC)"
	grep -v '^torch==' requirements/floors.txt > $(FLOORS_VENV)/constraints.txt
	$(FLOORS_BIN)/pip install --quiet -c $(FLOORS_VENV)/constraints.txt -e . \
		pytest pytest-xdist filelock
	$(FLOORS_BIN)/pip check
	touch $@

test-floors: $(FLOORS_VENV)/.installed
	MNE_XAI_FLOORS=1 $(FLOORS_BIN)/python -m pytest -q \
		-p no:cacheprovider --durations=10 $(FLOORS_TESTS)

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
