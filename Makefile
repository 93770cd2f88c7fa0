# make demo : set up what is missing, then distil a small model on generated data
# make test : set up what is missing, then run the test suite
# The environment lives outside the clone (tools/env/setup_env.sh), so the
# mmcv build happens once per machine.
SHELL := /bin/bash
VENV = $(shell bash tools/env/setup_env.sh)
RUN = PYTHONPATH=$(CURDIR) $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: env demo test env-report

env:
	@bash tools/env/setup_env.sh

env-report: env
	@$(RUN) -m mmkd.env

demo: env
	$(RUN) tools/demo.py

test: env
	$(RUN) -m pytest tests $(PYTEST_ARGS)
