# Every workflow is a target; each creates .venv first when it is missing. `make` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2
NB_BUILD := build/nb
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=120 -p tools.nbval_lab -p no:cacheprovider

export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
# Tests run two workers on two cores: one thread each, or PyTorch's threads fight over the cores.
TEST_ENV := OMP_NUM_THREADS=1

.DEFAULT_GOAL := help
.PHONY: help test lint unit notebooks validate check grade gradescope labs exports course lab bench clean

help:  ## list the targets (instant)
	@echo "Neural Network Compression from Scratch. Targets (rough time on a 2-core laptop):"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@echo "Creating $(VENV) from requirements.txt (about 2 minutes the first time)..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --quiet -r requirements.txt >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --quiet --no-deps -e . >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@touch $(STAMP)

test: $(STAMP)  ## build .venv if needed, then lint, unit tests, every notebook under nbval, grader validation (8 min)
	@$(MAKE) --no-print-directory lint unit notebooks validate

lint: $(STAMP)  ## ruff over the package, tools, tests and notebooks; generated files must be current (10 s)
	$(PY) -m ruff check .
	$(PY) -m tools.labgen --check
	$(PY) -m tools.exports --check

unit: $(STAMP)  ## pytest: compresslab, lab generator, exports, module cross-checks against PyTorch (1 min)
	$(TEST_ENV) $(PY) -m pytest tests -n $(JOBS) -q

notebooks: $(STAMP)  ## run every lecture, solution and generated lab top to bottom under nbval (3 min)
	@rm -rf $(NB_BUILD)
	@$(PY) -m tools.notebooks ipynb $(NB_BUILD) > /dev/null
	$(TEST_ENV) $(PY) -m pytest $(NB_BUILD) $(NBVAL_FLAGS) -n $(JOBS) --dist loadfile -q -o addopts= --rootdir=.

validate: $(STAMP)  ## autograder: solutions score 100, untouched labs 0, every mutant loses points (2 min a lab)
	$(TEST_ENV) $(PY) -m autograder validate

SLUG = $(notdir $(basename $(wildcard labs/$(LAB)_*.py)))
check: $(STAMP)  ## LAB=01: your lab in labs/ against the tests the lab shows (15 s)
	@test -n "$(SLUG)" || (echo "usage: make check LAB=01 (no lab matches LAB=$(LAB))"; exit 2)
	$(PY) -m autograder grade labs/$(SLUG).py --lab $(SLUG) --public --out build/check/$(SLUG)

grade: $(STAMP)  ## LAB=01 NB=path: grade one submission with every test; results in build/grade/ (15 s)
	@test -n "$(SLUG)" -a -n "$(NB)" || (echo "usage: make grade LAB=01 NB=path/to/submission.ipynb"; exit 2)
	$(PY) -m autograder grade "$(NB)" --lab $(SLUG) --out build/grade/$(SLUG)

gradescope: $(STAMP)  ## LAB=01: build build/gradescope/<lab>.zip, a Gradescope autograder (5 s)
	@test -n "$(SLUG)" || (echo "usage: make gradescope LAB=01"; exit 2)
	$(PY) -m autograder gradescope --lab $(SLUG) -o build/gradescope/$(SLUG).zip

labs: $(STAMP)  ## regenerate labs/ from solutions/ (5 s)
	$(PY) -m tools.labgen

exports: $(STAMP)  ## regenerate compresslab modules from lecture cells tagged export (5 s)
	$(PY) -m tools.exports

course: $(STAMP)  ## execute every lecture and solution and render build/site/index.html (2 min)
	$(PY) -m tools.notebooks course --jobs $(JOBS)

LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

lab: $(STAMP)  ## open JupyterLab on labs/ (the .py files open as notebooks)
	@mkdir -p $(LAB_SETTINGS)
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' \
		> $(LAB_SETTINGS)/overrides.json
	$(VENV)/bin/jupyter lab --notebook-dir=labs

bench: $(STAMP)  ## time every lecture and solution notebook and the grading of each solution (2 min)
	$(PY) -m tools.bench

clean:  ## remove build/ and caches (keeps .venv; `rm -rf .venv` for a fresh start)
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
