# Data Platform. Quick start: `make demo`, then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DISTRIBUTIONS := shared $(wildcard products/*)
INSTALL_INPUTS := constraints.txt requirements-dev.txt $(foreach d,$(DISTRIBUTIONS),$(d)/pyproject.toml)
# The dev install takes every optional part of `dataplatform`: the tests run them all.
SHARED_EXTRAS := kafka,redis,postgres,spark

.PHONY: install services demo run test lint bench reliability clean

# The console's front-end libraries come from npm (pinned by their lockfile) on every install.
install: $(VENV)/.installed
	infrastructure/local/console_assets.sh

# Reinstalled whenever a pyproject, the dev requirements or the pins change.
$(VENV)/.installed: $(INSTALL_INPUTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt \
		--requirement requirements-dev.txt --editable './shared[$(SHARED_EXTRAS)]' \
		$(foreach d,$(filter-out shared,$(DISTRIBUTIONS)),--editable ./$(d))
	touch $@

# PostgreSQL and Redis on loopback, installed from Debian's packages when missing (tests use them).
services:
	infrastructure/local/services.sh

demo: install
	$(BIN)/python -m dataplatform.demo

# The whole platform on http://127.0.0.1:8000 until Ctrl-C; `dataplatform status` shows it.
run: install
	$(BIN)/dataplatform up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy --strict shared/src products/*/src

# One worker per core, a test file per worker at a time (module fixtures are built once); the
# slowest twenty tests are listed so that a slow one is seen. Tests marked `serial` (schemathesis'
# subtests, which xdist's workers never run) follow in a pytest of their own. browser.sh first
# installs Chromium and the browser SDKs' npm packages when missing (the browser tests need them);
# linters.sh the npm linters (dockerfile-utils); jvm.sh brings the JVM parts the tests start
# themselves (the Kafka broker's jars, by Maven).
test: lint
	infrastructure/local/browser.sh
	infrastructure/local/linters.sh
	infrastructure/local/jvm.sh
	$(BIN)/pytest -n auto --dist loadfile --durations=20 -m "not serial"
	$(BIN)/pytest -m serial

# Needs Redis at 127.0.0.1:6379 (db 14 is used and emptied of the bench stream), Java 17 for
# Spark, wrk (Debian's package) as the gateway's load generator, and the Kafka broker's jars (jvm.sh).
bench: install
	command -v wrk >/dev/null || apt-get install -y -q wrk
	infrastructure/local/jvm.sh
	$(BIN)/python benchmarks/ingestion.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/processing.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/gateway.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/products.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/history_ticks.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/insights.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/engines.py --write docs/BENCHMARKS.md
	$(BIN)/python benchmarks/backups.py --write docs/BENCHMARKS.md
	infrastructure/local/browser.sh
	$(BIN)/python benchmarks/console_pages.py --write docs/BENCHMARKS.md

# Not part of `make test` (which runs the same parts small): 5,000 fuzzed collector requests,
# 200 kill -9 trials, 8 processes x 100 commits to one table, the audit tamper cases, then the
# soak (benchmarks/soak.py, when present). Needs PostgreSQL and Redis (db 8 is emptied); writes
# docs/RELIABILITY.md.
reliability: install
	DATAPLATFORM_TEST_REDIS_URL=redis://127.0.0.1:6379/8 $(BIN)/pytest -p no:cacheprovider --timeout 7200 \
		reliability --fuzz-requests 5000 --kill-trials 200 --commit-processes 8 --commits 100 \
		--write docs/RELIABILITY.md
	if [ -f benchmarks/soak.py ]; then \
		$(BIN)/python benchmarks/soak.py --minutes 30 --label "make reliability, 30 minutes" \
		--write docs/RELIABILITY.md; fi

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache .import_linter_cache
