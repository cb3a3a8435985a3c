# `make run` starts the back-office with development defaults; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run test lint lock migrate

# A virtualenv from Python 3.11 or newer, with the pip it comes with (the locks need nothing newer).
# One left half-made (Debian's python3 without python3-venv makes it without pip) is removed, so
# that the next try starts over.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "make: '$(PYTHON)' is not Python 3.11 or newer: install one, or name it: make run PYTHON=python3.11" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "make: could not create $(VENV); on Debian or Ubuntu: sudo apt install python3-venv" >&2; exit 1; }

# Reinstall only when a lock changed. `make run` installs the product's lock alone; the tests'
# lock holds the same versions plus their tools (Playwright, Schemathesis, ruff, pip-tools...).
# Both pin every package with its hashes, so pip installs exactly what was locked, or nothing.
$(INSTALLED): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/pip check
	touch $@

$(INSTALLED_DEV): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip check
	touch $(INSTALLED) $@

install: $(INSTALLED)

install-dev: $(INSTALLED_DEV)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Migrates, loads the demo data once (DEMO=0: none), then runs the web server, a worker, beat
# and the sandbox provider in the foreground until Ctrl-C (see backoffice/devstack.py).
# OIDC=mock also starts a local OpenID provider (docs/sso.md), which the tests' lock holds.
run: $(if $(filter mock,$(OIDC)),$(INSTALLED_DEV),$(INSTALLED))
	DEBUG=$${DEBUG:-1} HOST=$(HOST) PORT=$(PORT) OIDC=$(OIDC) $(BIN)/python -m backoffice.devstack

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

# Compiles the locks from requirements.in and requirements-dev.in, keeping the pins that still
# satisfy them; `make lock LOCK_ARGS=--upgrade` (or `--upgrade-package celery`) moves them on.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock: install-dev
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
