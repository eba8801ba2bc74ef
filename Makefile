# aiops: `make run` starts the daemon on the embedded sandbox, `make test` runs lint + tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
ARGS ?= --speed 60

.PHONY: run demo test lint bench venv debs image clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required (apt-get install python3-venv)"; exit 1; }
	@echo "==> [1/3 venv] $(VENV)"
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "==> [2/3 pip] upgrading pip"
	@$(PIP) install --quiet --upgrade pip
	@echo "==> [3/3 pip] installing aiops and its dev tools into $(VENV) (a minute or two the first time)"
	@$(PIP) install --quiet -e '.[dev]'
	@touch $(STAMP)
	@echo "==> ready: $(VENV)/bin/aiops"

venv: $(STAMP)  ## create the virtualenv and install aiops with its dev tools

# command:package pairs; `debs` installs every missing package, `demo` only the servers.
DEBS_SERVERS := prometheus:prometheus prometheus-alertmanager:prometheus-alertmanager
DEBS_ALL := $(DEBS_SERVERS) kubectl:kubernetes-client chromium:chromium \
	/usr/lib/postgresql/15/bin/initdb:postgresql
define install_debs
	@missing=""; \
	for pair in $(1); do command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> [debs] installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi; \
	else echo "==> [debs] already installed: $(foreach p,$(1),$(lastword $(subst :, ,$(p))))"; fi
endef

debs:  ## install the Debian packages the tests use (Prometheus, Alertmanager, kubectl, Chromium, PostgreSQL)
	$(call install_debs,$(DEBS_ALL))

run: $(STAMP)  ## start the daemon on the embedded sandbox (ARGS="--speed 60")
	@echo "==> [run] $(VENV)/bin/aiops run $(ARGS)"
	@$(VENV)/bin/aiops run $(ARGS)

DEMO_ARGS ?= --speed 60
demo: $(STAMP)  ## the real loop: world server, Debian Prometheus + Alertmanager, the daemon on PromQL (docs/demo.md)
	$(call install_debs,$(DEBS_SERVERS))
	@echo "==> [demo] $(VENV)/bin/aiops demo $(DEMO_ARGS)"
	@$(VENV)/bin/aiops demo $(DEMO_ARGS)

IMAGE ?= aiops:$(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
image:  ## build the container image with podman, else docker (IMAGE=aiops:VERSION)
	@engine=$$(command -v podman || command -v docker || true); \
	if [ -z "$$engine" ]; then \
	  echo "make image needs podman or docker: apt-get install podman (or docker.io)"; exit 1; fi; \
	if [ "$$(basename $$engine)" = docker ] && ! docker info >/dev/null 2>&1; then \
	  echo "make image: docker is installed but its daemon is not reachable; start dockerd or install podman"; exit 1; fi; \
	echo "==> [image] $$engine build -f deploy/container/Containerfile -t $(IMAGE) ."; \
	$$engine build -f deploy/container/Containerfile -t $(IMAGE) .

lint: $(STAMP)  ## ruff, mypy --strict on aiops/, import-linter
	$(VENV)/bin/ruff check aiops tests
	$(VENV)/bin/mypy aiops
	$(VENV)/bin/lint-imports

# Two workers, one test file each at a time (most tests wait on servers and daemons,
# so two workers fit two cores); TEST_JOBS=0 runs serially.
TEST_JOBS ?= 2
test: $(STAMP) debs lint  ## lint, then the whole test suite
	$(VENV)/bin/pytest -q $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

SHARED ?= ../shared
bench: $(STAMP) debs  ## every benchmark, figures as ratios against in-run baselines
	mkdir -p bench-out
	$(VENV)/bin/aiops bench throughput
	$(VENV)/bin/aiops bench nab --data $(SHARED)/data/nab
	$(VENV)/bin/aiops bench quiet
	$(VENV)/bin/aiops bench autoscale --trace $(SHARED)/data/traces/nyc_taxi.csv --png bench-out/autoscale-nyc_taxi.png
	$(VENV)/bin/aiops bench autoscale --trace $(SHARED)/data/traces/vic_elec_demand.csv --png bench-out/autoscale-vic_elec.png
	$(VENV)/bin/aiops bench autoscale --trace $(SHARED)/data/traces/pedestrian_southern_cross.csv --png bench-out/autoscale-pedestrian.png
	$(VENV)/bin/aiops bench prom-cycle --series 10000 --out bench-out/prom-cycle.json
	$(VENV)/bin/aiops bench webhook --alerts 10000 --out bench-out/webhook.json
	$(VENV)/bin/aiops bench attack --out bench-out/attack.json
	$(VENV)/bin/aiops bench chaos --kills 30 --fixture $(SHARED)/fixtures/alertmanager-v0.25-firing.json --out bench-out/chaos.json
	$(VENV)/bin/aiops bench journal --signals 2000 --out bench-out/journal.json

clean:  ## remove the virtualenv and local state
	rm -rf $(VENV) state .mypy_cache .pytest_cache .ruff_cache
