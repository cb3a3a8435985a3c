# `make run` starts the back-office with development defaults; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-dev run test lint migrate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed. `make run` needs the product's requirements
# only; the tests add their tools (Playwright, Schemathesis, ruff...) on top.
$(INSTALLED): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(INSTALLED_DEV): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED) $@

install: $(INSTALLED)

install-dev: $(INSTALLED_DEV)

migrate: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

# Migrates, loads the demo data once (DEMO=0: none), then runs the web server, a worker, beat
# and the sandbox provider in the foreground until Ctrl-C (see backoffice/devstack.py).
run: install
	DEBUG=$${DEBUG:-1} HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m backoffice.devstack

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
