# The two commands of the quick start: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CODE := bridge tests $(wildcard bench)
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean bench fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## Run Bridge on SQLite with the demo data set at http://127.0.0.1:5000
demo: $(STAMP)
	$(BIN)/bridge db upgrade
	$(BIN)/bridge seed-demo
	# Plain HTTP on loopback, so the session cookie may not be marked Secure here.
	SESSION_COOKIE_SECURE=false $(BIN)/bridge run --host 127.0.0.1 --port 5000

## Run the whole test suite against a real PostgreSQL
test: $(STAMP)
	scripts/ensure-test-services
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

clean:
	rm -rf $(VENV) instance .pytest_cache

## Benchmarks at 10,000 and 100,000 patients on PostgreSQL; writes bench/RESULTS.md
bench: $(STAMP)
	scripts/ensure-test-services
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run

## A longer property-based run of every API operation: in-process (200 examples per operation and
## role) and against a live server (all phases, 50 examples per operation and role, random seed)
fuzz: $(STAMP)
	scripts/ensure-test-services
	BRIDGE_FUZZ_EXAMPLES=200 BRIDGE_FUZZ_RANDOM=1 \
	BRIDGE_LIVE_FUZZ_EXAMPLES=50 BRIDGE_LIVE_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	BRIDGE_LIVE_FUZZ_REPORT=fuzz-report $(BIN)/python -m pytest tests/fuzz -q
