# Two commands: `make run` (the whole platform, with a demo) and `make test` (every test).
# The test lanes one by one, fastest first: `make unit` (no broker, no database server),
# `make integration`, `make e2e`, `make deploy-tests`, `make browser` (tests/<lane>, marker <lane>).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test unit integration e2e deploy-tests browser services bench clean cluster faults

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m stafett.dev.stack

# every test, as two shards side by side (tests/shards.py): the suite mostly waits
test: $(STAMP) services
	$(PY) -m tests.shards -q -W ignore::DeprecationWarning

unit: $(STAMP)
	$(PY) -m pytest -q -W ignore::DeprecationWarning tests/unit

integration: $(STAMP) services
	$(PY) -m pytest -q -W ignore::DeprecationWarning tests/integration

e2e: $(STAMP) services
	$(PY) -m pytest -q -W ignore::DeprecationWarning tests/e2e

deploy-tests: $(STAMP)
	$(PY) -m pytest -q -W ignore::DeprecationWarning tests/deploy

browser: $(STAMP) services
	$(PY) -m pytest -q -W ignore::DeprecationWarning tests/browser

services:
	@scripts/ensure-services.sh

# a three-node RabbitMQ cluster, two replicas of everything behind HAProxy (loopback only)
cluster: $(STAMP) services
	$(PY) -m stafett.dev.cluster

# the fault suite against its own cluster: one row per fault (docs/operations.md)
faults: $(STAMP) services
	$(PY) -m stafett.dev.faults

bench: $(STAMP) services
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
