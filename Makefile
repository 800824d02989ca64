# Everything a newcomer needs: `make up` runs rehab, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install up test test-fast test-unit lint format bench screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

up: install
	$(BIN)/rehab up --examples

# On every core (pytest-xdist); a test file stays on one worker, so the fixtures its tests
# share (a Prefect server, a population of cases) are made once. No test collected fails.
XDIST := -n auto --dist loadfile

# The end-to-end tier also runs a file a worker, one worker a core: its tests mostly wait on
# compressed clocks (seconds for days), so two stacks side by side keep their timings. Its files
# are handed out longest first (tests/e2e/conftest.py), so the workers end together.
E2E := $(XDIST) --no-loadscope-reorder

test: install
	$(BIN)/python -m pytest $(XDIST) tests/unit tests/integration
	$(BIN)/python -m pytest $(E2E) tests/e2e

# The quick loop: the unit and integration tiers on the embedded default, SQLite. `make test`
# runs the integration tier on PostgreSQL as well (about a third of its time).
test-fast: install
	$(BIN)/python -m pytest $(XDIST) -m "not postgresql" tests/unit tests/integration

test-unit: install
	$(BIN)/python -m pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python bench/clock_tick.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/scale.py --database sqlite
	$(BIN)/python bench/scale.py --database postgresql
	$(BIN)/python bench/scale.py --database sqlite --inprocess --due 30
	$(BIN)/python bench/scale.py --database postgresql --inprocess --due 40
	$(BIN)/python bench/forms_under_load.py
	$(BIN)/python bench/door_latency.py --database sqlite
	$(BIN)/python bench/door_latency.py --database postgresql
	$(BIN)/python bench/artifact_growth.py
	$(BIN)/python bench/import_cases.py
	$(BIN)/python bench/bulk_launch.py --database sqlite
	$(BIN)/python bench/bulk_launch.py --database postgresql
	$(BIN)/python bench/server_workers.py
	$(BIN)/python bench/report_cases.py --database sqlite
	$(BIN)/python bench/report_cases.py --database postgresql

screenshots: install
	$(BIN)/python -m pip install --quiet -e ".[dev,screenshots]"
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
