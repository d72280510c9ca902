# Two commands for a new machine (Debian/Ubuntu with Python 3.11+, Node.js and make):
#   make demo   installs everything and runs the demo (site + demo data, logins printed)
#   make test   installs everything and runs the whole suite (lint, SQLite, PostgreSQL, real browser)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/aftersales

.PHONY: demo test install assets system-deps redis lint test-sqlite test-postgres messages check-messages clean

demo: install
	$(BIN)/aftersales demo

test: install system-deps redis lint check-messages test-sqlite test-postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python assets
	$(BIN)/pip install --quiet -e '.[dev]'

assets:
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# Debian's chromium for the browser tests, CJK fonts for screenshots and PDFs, gettext for catalogues.
system-deps:
	@bash .ci/system-deps.sh

# A Redis on 127.0.0.1:6379 for the job worker's Redis-storage tests (Debian's, started when none answers).
redis:
	@bash .ci/ensure-redis.sh

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/aftersales makemigrations --check --dry-run > /dev/null
	$(BIN)/mypy

# PYTEST_WORKERS=2: two pytest-xdist workers (the machine has two cores), each taking whole test files
# (--dist loadfile): a module's shared seeded rows are written once, and the Redis tests, which share
# database 15, run in turn. 0 (the default until two-worker runs are proven green on both databases) runs
# in one process.
PYTEST_WORKERS ?= 0
PYTEST_ARGS ?= -n $(PYTEST_WORKERS) --dist loadfile

test-sqlite:
	AFTERSALES_DATA_DIR=$(CURDIR)/.test-data/sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	@bash .ci/ensure-postgres.sh
	AFTERSALES_DATA_DIR=$(CURDIR)/.test-data/postgres DATABASE_URL=$$(cat .test-data/pg-url 2>/dev/null || echo $(PG_URL)) $(BIN)/pytest $(PYTEST_ARGS)

# Rebuild the translation catalogues after changing user-facing strings (needs gettext).
messages:
	cd aftersales && ../$(BIN)/aftersales makemessages -l zh_Hans --no-obsolete --ignore 'static/*'
	cd aftersales && ../$(BIN)/aftersales compilemessages

check-messages:
	@bash .ci/check-messages.sh $(BIN)

clean:
	rm -rf $(VENV) .test-data frontend/node_modules aftersales/static/dist
