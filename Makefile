# Go/No-Go — the three commands of CONTRACT §1, and a few helpers.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools
UV := $(TOOLS)/bin/uv
STAMP := $(VENV)/.installed

# pyenv machines: make every installed CPython >= 3.12 visible to uv by its versioned name.
PYENV_312 := $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)?$$' | sort -rV | paste -sd: -)
ifneq ($(PYENV_312),)
export PYENV_VERSION := $(PYENV_312)
endif

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install run manage test lint typecheck pytest messages vendor bench clean cli

help:
	@echo "make install   create .venv (Python >= 3.12) from requirements.lock"
	@echo "make run       migrate, load demo data, serve web + worker + poller + beat on http://$(HOST):$(PORT)/"
	@echo "make manage    manage.py as make run runs it (DEBUG on unless set, the .venv): make manage ARGS=\"help\""
	@echo "make test      lint, type check and the whole test suite (browser tests included)"
	@echo "make cli       build var/gonogo-cli.pyz, the gonogo command as one file for a pipeline's repository"

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

$(STAMP): requirements.lock pyproject.toml | $(UV)
	test -x $(PY) || $(UV) venv --python '>=3.12' $(VENV)
	$(UV) pip sync --python $(PY) --require-hashes requirements.lock
	$(UV) pip install --python $(PY) --no-deps --editable .
	touch $(STAMP)

install: $(STAMP)

run: install
	@scripts/run.sh

# manage.py on your machine, in make run's environment: make manage ARGS='issue_token "ci" --product ios-app'
manage: install
	@scripts/manage.sh $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache  # the layers of docs/development.md (pyproject.toml)

# Tests run with DEBUG off, as in production; this key exists only for them.
# Tests hold one connection per thread (and threads of their own): no pool there.
TEST_ENV := SECRET_KEY="$${SECRET_KEY:-insecure-test-key-used-only-by-make-test}" DJANGO_ALLOW_ASYNC_UNSAFE=true DB_POOL=0

typecheck: install
	$(TEST_ENV) $(VENV)/bin/mypy .

pytest: install
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Refresh the lock after editing pyproject.toml (hashes, no index URLs).
lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.12 \
		--generate-hashes --no-header --quiet -o requirements.lock

# Re-extract and compile the translation catalogues.
messages: install
	$(PY) scripts/extract_policy_strings.py
	DEBUG=1 $(PY) manage.py makemessages -l ko -e html,txt,py,md --no-obsolete --ignore '.venv/*' --ignore '.tools/*' --ignore 'tests/*' --ignore 'bench/*'
	DEBUG=1 $(PY) manage.py compilemessages --ignore '.venv/*' --ignore '.tools/*'

bench: install
	bench/run.sh

# The `gonogo` command as one file (standard library only, Python 3.9+) for pipelines.
cli:
	python3 scripts/build_cli.py

clean:
	rm -rf $(VENV) $(TOOLS) var/
