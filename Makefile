# aiops: `make run` starts the daemon on the embedded sandbox, `make test` runs lint + tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEBS := prometheus prometheus-alertmanager postgresql
ARGS ?= --speed 60

.PHONY: run test lint bench venv debs clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)  ## create the virtualenv and install aiops with its dev tools

debs:  ## install the Debian packages the tests use (Prometheus, Alertmanager, PostgreSQL)
	@missing=""; for b in prometheus prometheus-alertmanager; do command -v $$b >/dev/null || missing="yes"; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="yes"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS); \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS); fi; \
	fi

run: $(STAMP)  ## start the daemon on the embedded sandbox (ARGS="--speed 60")
	$(VENV)/bin/aiops run $(ARGS)

lint: $(STAMP)  ## ruff, mypy --strict on aiops/, import-linter
	$(VENV)/bin/ruff check aiops tests
	$(VENV)/bin/mypy aiops
	$(VENV)/bin/lint-imports

test: $(STAMP) debs lint  ## lint, then the whole test suite
	$(VENV)/bin/pytest -q

SHARED ?= ../shared
bench: $(STAMP) debs  ## every benchmark, figures as ratios against in-run baselines
	mkdir -p bench-out
	$(VENV)/bin/aiops bench throughput
	$(VENV)/bin/aiops bench nab --data $(SHARED)/data/nab
	$(VENV)/bin/aiops bench autoscale --trace $(SHARED)/data/traces/nyc_taxi.csv --png bench-out/autoscale-nyc_taxi.png
	$(VENV)/bin/aiops bench autoscale --trace $(SHARED)/data/traces/vic_elec_demand.csv --png bench-out/autoscale-vic_elec.png
	$(VENV)/bin/aiops bench prom-cycle --series 10000 --out bench-out/prom-cycle.json
	$(VENV)/bin/aiops bench webhook --alerts 10000 --out bench-out/webhook.json
	$(VENV)/bin/aiops bench journal --signals 2000 --out bench-out/journal.json

clean:  ## remove the virtualenv and local state
	rm -rf $(VENV) state .mypy_cache .pytest_cache .ruff_cache
