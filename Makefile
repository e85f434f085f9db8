# bgw_pipeline: everything a fresh checkout needs goes through these targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test ui api bench reliability lint format clean browser-deps lock

# Every install comes from uv.lock (`make lock` re-resolves it), so two machines on two
# dates get the same versions. uv itself is pinned and installed from the package index.
# --compile-bytecode writes every library's .pyc at install time: without it a process
# under PYTHONDONTWRITEBYTECODE (as on CI hosts and in many shells) compiles dagster,
# pandas and the rest from source on every start, which doubled `bgw backup` at S.
UV_VERSION := 0.13.10
UV := $(BIN)/uv
SYNC := $(UV) sync --locked --inexact --quiet --compile-bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC)
	touch $@

$(TEST_STAMP): pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra test
	touch $@ $(STAMP)

## lock: re-resolve uv.lock from pyproject.toml's ranges (newest versions), then `make test`
lock: | $(UV)
	$(UV) lock --upgrade

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.local.yaml $@

## run: create the demo database if missing, then run backup_job through Dagster
run: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/bgw demo-db --if-empty
	$(BIN)/bgw backup

## browser-deps: Debian's Chromium and its driver, for the web page test
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

## test: the whole suite (SQLite, PostgreSQL on 127.0.0.1:5432, S3 server, API, browser)
test: $(TEST_STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadgroup

## ui: the Dagster UI on port 3000 (`dg dev`), daemon included, on the same DAGSTER_HOME
ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/bgw demo-db --if-empty
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev --host 127.0.0.1 --port 3000

## api: the BGW export HTTP API and web page on API_PORT (8000), same DAGSTER_HOME as ui
api: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/bgw demo-db --if-empty
	$(BIN)/bgw api

## bench: time export, backup, import dry run and apply (CLI and the sensor's path)
## against pg_dump -Fc / sqlite3 .backup + zip -6 and a naive export (S and M;
## `make bench LARGE=1` adds L, `XL=1` adds L and XL); writes docs/BENCHMARKS.md and a plot
bench: $(TEST_STAMP)
	$(SYNC) --extra test --extra bench
	$(BIN)/python bench/run_bench.py $(if $(LARGE),--large,) $(if $(XL),--xl,)

## reliability: the reliability suite at full size (more examples, fuzzing, load);
## prints the summary table and writes docs/RELIABILITY.md; SOAK=1 adds the 30-minute soak
## (SOAK_MINUTES=N to change its length)
reliability: $(TEST_STAMP)
	rm -rf .reliability
	BGW_SOAK=$(SOAK) BGW_RELIABILITY=full BGW_RELIABILITY_DIR=$(CURDIR)/.reliability \
	  $(BIN)/pytest -n 2 --dist loadgroup bgw_pipeline_tests/reliability \
	  bgw_pipeline_tests/core/archive/test_writer.py::test_a_concurrent_writer_does_not_leak_into_the_archive
	$(BIN)/python -m bgw_pipeline_tests.reliability.report .reliability docs/RELIABILITY.md

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
