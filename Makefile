# Two commands do everything on a machine with Python 3.11 and make:
#   make demo   the main job on the shipped synthetic study (reports under reports/)
#   make test   install everything and run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp makes setup idempotent: pip runs again only when pyproject.toml changed.
STAMP  := $(VENV)/.ipeval-installed
LAB_STAMP := $(VENV)/.ipeval-lab-installed
DEMO_FLAGS ?=

.PHONY: setup test demo lab synth clean debs

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: setup debs
	$(BIN)/python -m pytest

# The default batch: the headline notebook by institution and outcome on the shipped study.
demo: setup debs
	$(BIN)/ipeval batch notebooks/default_batch.yaml $(DEMO_FLAGS)
	@echo "Open reports/batch/index.html in a browser (every run, its report and the comparison)."

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lab]'
	touch $(LAB_STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
# apt-get needs root: through sudo unless make already runs as root.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_FLAGS)

# Regenerate the shipped synthetic study (deterministic for the seed).
synth: setup
	$(BIN)/ipeval synth data_synthetic --seed 2026

# Debian's packages: Chromium prints reports as PDF and runs the browser tests (Playwright drives
# it; it downloads no browser of its own), pandoc writes Word, poppler's pdftoppm reads PDF pages.
DEBS := chromium pandoc poppler-utils
debs:
	@command -v chromium >/dev/null 2>&1 && command -v pandoc >/dev/null 2>&1 \
	  && command -v pdftoppm >/dev/null 2>&1 \
	  || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(DEBS); }

clean:
	rm -rf $(VENV) reports .pytest_cache
