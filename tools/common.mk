# Shared by the course Makefile and the student release's Makefile: .venv from the pinned requirements, and the
# targets students use (lab, check). Plots render headless in scripts; notebooks still show them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
SLUG = $(notdir $(basename $(wildcard labs/$(LAB)_*.py)))

export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

$(STAMP): requirements.txt pyproject.toml
	@echo "Creating $(VENV) from requirements.txt (about 2 minutes the first time)..."
	@date +%s > $(VENV).start 2>/dev/null || true
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --quiet -r requirements.txt >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --quiet --no-deps -e . >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@printf 'venv\t%s\n' $$(( $$(date +%s) - $$(cat $(VENV).start) )) > $(VENV)/install-seconds.tsv; rm -f $(VENV).start
	@touch $(STAMP)

# The grading kernel's sandbox (bubblewrap): installed when missing and possible (root with apt-get); without it the
# grader still runs and says in every report what it could not protect.
sandbox:  ## install bubblewrap for the grader's sandbox when it is missing and this is root with apt-get (30 s)
	@if command -v bwrap > /dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		echo "Installing bubblewrap for the grader's sandbox..."; \
		(apt-get update -qq && apt-get install -y -qq bubblewrap) > /dev/null 2>&1 \
			|| echo "warning: could not install bubblewrap; grading runs with less isolation and says so"; \
	else echo "note: bubblewrap (bwrap) is not installed and this is not root with apt-get; grading runs with less"\
		"isolation and every report says what it lacks (install it: sudo apt-get install bubblewrap)"; fi

help:  ## list the targets (instant)
	@echo "Neural Network Compression from Scratch. Targets (rough time on a 2-core laptop):"
	@grep -hE '^[a-z-]+:.*## ' $(filter %common.mk,$(MAKEFILE_LIST)) $(filter-out %common.mk,$(MAKEFILE_LIST)) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'

lab: $(STAMP)  ## open JupyterLab on labs/ (the .py files open as notebooks)
	@mkdir -p $(LAB_SETTINGS)
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' \
		> $(LAB_SETTINGS)/overrides.json
	@# the kernel shows plots inline only when MPLBACKEND is unset
	env -u MPLBACKEND $(VENV)/bin/jupyter lab --notebook-dir=labs

# Chromium for the site's browser check: installed when missing and possible, else the check says it was skipped.
browser:  ## install Debian's chromium for `make site-check` when it is missing and this is root with apt-get (1 min)
	@if command -v chromium > /dev/null || command -v chromium-browser > /dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		echo "Installing chromium for the site check..."; \
		(apt-get update -qq && apt-get install -y -qq chromium) > /dev/null 2>&1 \
			|| echo "warning: could not install chromium; the site check will be skipped"; \
	else echo "note: chromium is not installed and this is not root with apt-get; the site check will be skipped"; fi

check: $(STAMP) sandbox  ## LAB=01: your lab in labs/ against the tests the lab shows, as the autograder runs them (15 s)
	@test -n "$(SLUG)" || (echo "usage: make check LAB=01 (no lab matches LAB=$(LAB))"; exit 2)
	$(PY) -m autograder grade labs/$(SLUG).py --lab $(SLUG) --public --out build/check/$(SLUG)
