# The student release's Makefile (written by `make release`). Each target creates .venv first when it is missing.
SHELL := /bin/bash
include tools/common.mk
JOBS ?= 2

.DEFAULT_GOAL := help
.PHONY: help lab check sandbox course clean

course: $(STAMP)  ## execute every lecture and write the site, build/site/index.html (1 min)
	$(PY) -m tools.notebooks course --jobs $(JOBS)

clean:  ## remove build/ and caches (keeps .venv; `rm -rf .venv` for a fresh start)
	rm -rf build .pytest_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
