# make demo  : set up what is missing, then distil a small model on generated data
# make shell : a bash with mmkd's environment for this clone (tools, mim, pytest)
# make test  : set up what is missing, then run the test suite
# make docs  : the documentation site, into build/docs/html (or $MMKD_DOCS_OUT)
# The environment lives outside the clone (tools/env/setup_env.sh), so the
# mmcv build happens once per machine; tools/env/activate points a shell at
# this clone without installing anything into it.
SHELL := /bin/bash
VENV = $(shell bash tools/env/setup_env.sh)
RUN = PYTHONPATH=$(CURDIR) $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: env shell demo test env-report lint format docs

env:
	@bash tools/env/setup_env.sh >/dev/null

shell:
	@bash --rcfile tools/env/bashrc -i

env-report: env
	@$(RUN) -m mmkd.env

demo: env
	@$(RUN) tools/demo.py

test: env
	$(RUN) -m pytest tests $(PYTEST_ARGS)

# The Sphinx site (requirements/docs.txt, synced into the environment like
# the other light requirements). Strict: warnings are errors, every
# cross-reference must resolve (-n), and a fresh read of every page (-E) so
# that an unchanged page's warning is not skipped.
MMKD_DOCS_OUT ?= build/docs/html
docs: env
	$(RUN) -m sphinx -E -W --keep-going -n -b html \
		-d $(dir $(abspath $(MMKD_DOCS_OUT)))doctrees docs $(MMKD_DOCS_OUT)
	@echo "docs: $(MMKD_DOCS_OUT)/index.html"

LINT_PATHS = mmkd tools tests configs setup.py

# The OpenMMLab set (versions in requirements/lint.txt, settings in .flake8,
# .isort.cfg, .style.yapf, .codespellrc); `make format` applies isort + yapf.
lint: env
	$(VENV)/bin/flake8 $(LINT_PATHS)
	$(VENV)/bin/isort --check-only --diff $(LINT_PATHS)
	$(VENV)/bin/yapf -r -d $(LINT_PATHS)
	$(VENV)/bin/codespell $(LINT_PATHS) docs README.md

format: env
	$(VENV)/bin/isort $(LINT_PATHS)
	$(VENV)/bin/yapf -r -i $(LINT_PATHS)
