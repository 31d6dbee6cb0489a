# Patron: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# uv from PATH, or the module installed by `make install` (pyenv shims may lag behind pip).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST := $(UV) run --frozen pytest
SRC_DIRS := shared/src cli/src services/profile/src services/identity-merge/src \
	services/segmentation/src services/loyalty/src services/notifications/src
UNIT_TESTS := shared/tests/unit $(wildcard services/*/tests/unit) cli/tests
INTEGRATION_TESTS := $(wildcard services/*/tests/integration)

.PHONY: help install run restart stop status test lint unit integration e2e stack-for-tests bench contracts

help:
	@echo "make run    install, start the whole stack with demo data, print where to look"
	@echo "make test   install, start what the tests need, run lint + unit + integration + e2e"
	@echo "make stop   stop everything 'make run' started"
	@echo "make restart  restart services after a code change (PostgreSQL and Kafka stay up)"
	@echo "make bench  run the benchmarks (JSON under bench/results/)"

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen

run: install
	$(UV) run --frozen patron stack up --seed

restart: install
	$(UV) run --frozen patron stack restart

stop:
	@if [ -x .venv/bin/patron ]; then .venv/bin/patron stack down; else echo "nothing to stop"; fi

status:
	$(UV) run --frozen patron stack status

# The test stack is the same stack (real PostgreSQL, Kafka, services, gateway); fsync off.
stack-for-tests: install
	PATRON_PG_FAST=1 $(UV) run --frozen patron stack up

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy $(SRC_DIRS)
	$(UV) run --frozen python -m patron_shared.contracts_doc --check

unit: install
	$(PYTEST) -q $(UNIT_TESTS)

integration: install
	$(PYTEST) -q $(INTEGRATION_TESTS)

e2e: install
	$(PYTEST) -q tests-e2e

test: install lint stack-for-tests unit integration e2e

# Infrastructure only: the other services would take CPU from the one being measured.
bench: install
	$(UV) run --frozen patron stack up --infra
	$(UV) run --frozen python bench/pipeline.py
	$(UV) run --frozen python bench/profile_api.py
	$(UV) run --frozen --group bench python bench/identity_quality.py
	$(UV) run --frozen python bench/identity_resolve.py
	$(UV) run --frozen python bench/identity_dedupe.py
	$(UV) run --frozen python bench/segmentation.py
	$(UV) run --frozen python bench/segmentation_latency.py
	$(UV) run --frozen python bench/loyalty.py

contracts: install
	$(UV) run --frozen python -m patron_shared.contracts_doc
