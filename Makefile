# GTM Intelligence. `make help` lists the targets. Every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DO_NOT_TRACK := 1
export RUNTIME__DLTHUB_TELEMETRY := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

CUSTOMERS ?= 10000
API_CUSTOMERS ?= 100000
RUNS ?= 20
SCALE_CUSTOMERS ?= 1000000
DOCS_PORT ?= 8080
PYTEST_ARGS ?=
# test files run in parallel, each whole in one worker so its module fixtures (a synced, built warehouse) are
# made once
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install demo test sync build run alerts lint format docs grants bench bench-api serve chaos clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@test -f profiles.yml || cp profiles.example.yml profiles.yml
	@mkdir -p data
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project (runs only when pyproject.toml changed)

demo: $(STAMP) ## Run the whole pipeline on the sandbox into DuckDB and show the results
	$(BIN)/gtm demo

test: $(STAMP) ## Run every test (DuckDB and PostgreSQL)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

sync: $(STAMP) ## Load the configured sources (incremental)
	$(BIN)/gtm sync

build: $(STAMP) ## dbt build on the configured warehouse
	$(BIN)/gtm build

run: $(STAMP) ## sync, build, alerts: what cron calls
	$(BIN)/gtm run

alerts: $(STAMP) ## Post new alerts to Slack (prints them when no Slack credentials are set)
	$(BIN)/gtm alerts

lint: $(STAMP) ## ruff, sqlfluff (dbt templater) and dbt parse
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dbt parse --profiles-dir . --quiet
	$(BIN)/sqlfluff lint dbt_project/models

format: $(STAMP) ## Format Python with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(STAMP) ## Build the dbt docs site (lineage API -> marts -> dashboards), serve it on :$(DOCS_PORT)
	$(BIN)/dbt docs generate --profiles-dir . --static
	@echo "dbt docs on http://127.0.0.1:$(DOCS_PORT)/ (DOCS_PORT=... to change; Ctrl-C stops)"
	@$(BIN)/python -m http.server --bind 127.0.0.1 --directory target $(DOCS_PORT) || test $$? -eq 130

grants: $(STAMP) ## PostgreSQL: read-only role for BI (GTM_READONLY_ROLE, GTM_READONLY_PASSWORD) on marts
	@verifier="$$($(BIN)/python -m gtm.grants)" && \
	GTM_READONLY_PASSWORD= GTM_READONLY_PASSWORD_VERIFIER="$$verifier" \
	$(BIN)/dbt run-operation grant_read_only --profiles-dir .

bench: $(STAMP) ## Benchmarks (docs/benchmarks.md): CUSTOMERS=10000 synced, SCALE_CUSTOMERS=1000000 built, product database load per backend
	$(BIN)/python benchmarks/bench.py --customers $(CUSTOMERS)
	$(BIN)/python benchmarks/bench_sql_database.py --customers $(CUSTOMERS)
	$(BIN)/python benchmarks/scale.py --customers $(SCALE_CUSTOMERS) --memory-limit 2GB --dbt-threads 1

chaos: $(STAMP) ## RUNS randomized fault schedules (kills, faults, overlaps, bad records) on DuckDB and PostgreSQL
	$(BIN)/python benchmarks/chaos.py --runs $(RUNS)

bench-api: $(STAMP) ## Benchmark gtm serve: p50/p99 latency, 50 concurrent clients (API_CUSTOMERS=100000; PostgreSQL too with DATABASE_URL)
	$(BIN)/python benchmarks/bench_api.py --customers $(API_CUSTOMERS)
	@if [ -n "$$DATABASE_URL" ]; then $(BIN)/python benchmarks/bench_api.py --customers $(API_CUSTOMERS) --warehouse postgres; fi

serve: $(STAMP) ## The HTTP API and dashboard on http://127.0.0.1:8000 (needs GTM_API_KEYS)
	$(BIN)/gtm serve

clean: ## Remove the local warehouse, dbt target and logs (keeps .venv)
	rm -rf data target logs
