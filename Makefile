# Every workflow is a target; each creates .venv first when it is missing. `make` lists them.
SHELL := /bin/bash
include tools/common.mk
JOBS ?= 2
NB_BUILD := build/nb
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=120 -p tools.nbval_lab -p no:cacheprovider

# Tests run two workers on two cores: one thread each, or PyTorch's threads fight over the cores.
TEST_ENV := OMP_NUM_THREADS=1

.DEFAULT_GOAL := help
.PHONY: help test sandbox browser site-check lint unit notebooks validate check grade gradescope release labs exports course lab bench clean

TIMINGS := build/timings

test: $(STAMP) sandbox  ## build .venv and the sandbox if needed, then lint, unit tests, notebooks, site check, validation (12 min)
	@mkdir -p $(TIMINGS) && rm -f $(TIMINGS)/make-test.tsv
	@for part in lint unit notebooks site-check validate; do \
		start=$$(date +%s); $(MAKE) --no-print-directory $$part || exit 1; \
		printf '%s\t%s\n' $$part $$(( $$(date +%s) - start )) >> $(TIMINGS)/make-test.tsv; \
	done; echo "make test: seconds by part"; cat $(TIMINGS)/make-test.tsv $(VENV)/install-seconds.tsv 2>/dev/null

lint: $(STAMP)  ## ruff over the package, tools, tests and notebooks; generated files must be current (10 s)
	$(PY) -m ruff check .
	$(PY) -m tools.labgen --check
	$(PY) -m tools.exports --check

unit: $(STAMP)  ## pytest: compresslab, lab generator, exports, module cross-checks, red-team and batch grading (3 min)
	$(TEST_ENV) $(PY) -m pytest tests -n $(JOBS) -q -o junit_family=xunit1 --junitxml=$(TIMINGS)/unit.xml

notebooks: $(STAMP)  ## execute every lecture and solution (kept for the site), every generated lab under nbval (2 min)
	$(TEST_ENV) $(PY) -m tools.notebooks execute --jobs $(JOBS)
	@rm -rf $(NB_BUILD)
	@$(PY) -m tools.notebooks ipynb $(NB_BUILD) > /dev/null
	$(TEST_ENV) $(PY) -m pytest $(NB_BUILD)/labs $(NBVAL_FLAGS) -n $(JOBS) --dist loadfile -q -o addopts= --rootdir=. \
		-o junit_family=xunit1 --junitxml=$(TIMINGS)/labs.xml

site-check: $(STAMP) browser  ## render both sites from `make notebooks` and check every page in headless Chromium (30 s)
	$(PY) -m tools.site build/site
	$(PY) -m tools.site build/site-student --student
	$(PY) -m tools.site_check build/site build/site-student

validate: $(STAMP)  ## autograder: solutions score 100, untouched labs 0, every mutant loses points, lecture pasted at most 33 (30 s a lab)
	$(TEST_ENV) $(PY) -m autograder validate

grade: $(STAMP)  ## LAB=01 NB=path: grade one submission with every test; results in build/grade/ (15 s)
	@test -n "$(SLUG)" -a -n "$(NB)" || (echo "usage: make grade LAB=01 NB=path/to/submission.ipynb"; exit 2)
	$(PY) -m autograder grade "$(NB)" --lab $(SLUG) --out build/grade/$(SLUG)

gradescope: $(STAMP)  ## LAB=01: build build/gradescope/<lab>.zip, a Gradescope autograder (5 s)
	@test -n "$(SLUG)" || (echo "usage: make gradescope LAB=01"; exit 2)
	$(PY) -m autograder gradescope --lab $(SLUG) -o build/gradescope/$(SLUG).zip

release: $(STAMP)  ## build/release/: the course for students, with its site (no solutions, hidden tests or mutants) (1 min)
	$(PY) -m tools.release build/release

labs: $(STAMP)  ## regenerate labs/ from solutions/ (5 s)
	$(PY) -m tools.labgen

exports: $(STAMP)  ## regenerate compresslab modules from lecture cells tagged export (5 s)
	$(PY) -m tools.exports

course: $(STAMP)  ## execute every lecture and solution (reusing current runs) and write build/site/index.html (2 min)
	$(PY) -m tools.notebooks course --jobs $(JOBS)

bench: $(STAMP)  ## time notebooks, grading (per solution, batches of 20), int8, each module's share of make test and its own speed claims (13 min)
	$(PY) -m tools.bench

clean:  ## remove build/ and caches (keeps .venv; `rm -rf .venv` for a fresh start)
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
