# The front door: `make run` serves porthook on SQLite, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck check bench-api bench-delivery migration clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "porthook needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/porthook serve

test: install
	$(BIN)/pytest -n 2 --dist loadgroup -q -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check porthook tests bench

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench-api: install
	$(BIN)/python bench/api.py

bench-delivery: install
	$(BIN)/python -m bench.delivery

# Regenerate a migration from the models: make migration MESSAGE="add x"
migration: install
	rm -f /tmp/porthook-migration.db
	PORTHOOK_DATABASE_URL=sqlite:////tmp/porthook-migration.db $(BIN)/porthook db upgrade
	$(BIN)/python -c 'from porthook import migrate; migrate.revision("sqlite:////tmp/porthook-migration.db", "$(MESSAGE)")'

clean:
	rm -rf $(VENV) porthook.db porthook.db-* mail
