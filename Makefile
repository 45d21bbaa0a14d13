# Two commands do everything on a machine with Python 3.11 and make:
#   make demo   the main job on the shipped synthetic study (reports under reports/)
#   make test   install everything and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp makes setup idempotent: pip runs again only when pyproject.toml changed.
STAMP  := $(VENV)/.ipeval-installed
LAB_STAMP := $(VENV)/.ipeval-lab-installed
DEMO_OUT ?= reports/demo

.PHONY: setup test demo lab synth clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/ipeval run notebooks/study_overview.ipynb -p study data_synthetic/study.yaml --out $(DEMO_OUT)

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lab]'
	touch $(LAB_STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_FLAGS)

# Regenerate the shipped synthetic study (deterministic for the seed).
synth: setup
	$(BIN)/ipeval synth data_synthetic --seed 2026

clean:
	rm -rf $(VENV) reports .pytest_cache
