# The two quick-start commands, `make serve` and `make test`, each install what they
# need into .venv from the lock files first, so they work on a fresh clone.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: serve test test-browser install install-test lint lock clean

serve: install
	$(BIN)/gpserver serve $(ARGS)

test: install-test
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy src
	$(BIN)/pytest $(ARGS)
# The end-to-end suite again, each server a distributed site (docs/scaling-out.md).
	$(BIN)/pytest --gp-mode=distributed tests/e2e $(ARGS)

# Only the headless-Chromium tests of the HTML pages (they also run in `make test`).
test-browser: install-test
	$(BIN)/pytest tests/browser $(ARGS)

install: $(VENV)/.runtime-installed
install-test: $(VENV)/.test-installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.runtime-installed requirements-test.lock \
		tests/clients/node/package-lock.json
	$(BIN)/pip install --quiet -r requirements-test.lock
	cd tests/clients/node && npm ci --no-audit --no-fund --silent
	touch $@

# Regenerate the lock files after changing dependencies in pyproject.toml.
lock: $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 \
		-o requirements-test.lock

clean:
	rm -rf $(VENV) tests/clients/node/node_modules
