# Herald: `make run` starts everything with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UI_STAMP := ui/node_modules/.installed

.PHONY: run test install install-test ui lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) $(UI_STAMP)

$(UI_STAMP): ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $(UI_STAMP)

ui/openapi.json: $(STAMP) $(shell find api -name '*.py')
	$(BIN)/herald openapi ui/openapi.json

ui: $(UI_STAMP) ui/openapi.json
	cd ui && npm run build

run: install ui
	$(BIN)/herald run

test: install ui
	bash .ci/ensure-chromium
	$(BIN)/ruff check .
	cd ui && npm test
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for script in $(wildcard bench/*.py); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) ui/node_modules ui/dist .pytest_cache .ruff_cache
