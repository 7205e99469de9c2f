# Two commands: `make run` (the whole platform, with a demo) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test services bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m stafett.dev.stack

test: $(STAMP) services
	$(PY) -m pytest -q -W ignore::DeprecationWarning

services:
	@scripts/ensure-services.sh

bench: $(STAMP) services
	$(PY) bench/rpc_overhead.py

clean:
	rm -rf $(VENV) var
