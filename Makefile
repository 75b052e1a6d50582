# Blindread: `make run` (laptop demo) and `make test` (the whole suite). See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU wheel goes in first, so that resolving the project's own torch range installs nothing more.
TORCH ?= torch==2.13.0

.PHONY: install dev run test smoke lint format bench screenshots study-no-shared-disk clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install "$(TORCH)"
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

run: install
	./scripts/run_dev.sh

test: dev
	$(BIN)/pytest

# The laptop path: SQLite and the file-based queue, no PostgreSQL or Redis.
smoke: dev
	BLINDREAD_TEST_EMBEDDED=1 $(BIN)/pytest -m smoke

lint: dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The documented screenshots (docs/screenshots/): the browser tests that take them, told to write there.
screenshots: dev
	BLINDREAD_DOCS_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/test_reader_layout.py tests/e2e/test_stack_reading.py \
		tests/e2e/test_study_designs.py tests/e2e/test_report_figures.py

# A whole study with no shared disk: web node, CPU worker and "gpu" worker as separate processes, each with its own
# folder, sharing only PostgreSQL, Redis and a real object store (SeaweedFS); then two web nodes behind nginx.
study-no-shared-disk: dev
	$(BIN)/pytest tests/multinode

bench: dev
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf var/ .pytest_cache
