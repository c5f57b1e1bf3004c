# Two commands for a newcomer: `make test` and `make demo`. Both create .venv and
# install on a fresh machine, and skip the install when nothing changed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := twin_assets twin_query tests benchmarks

.PHONY: install test demo lint validate bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (the twin needs Python 3.11)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and exactly: a loose torch requirement can pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet -c requirements.lock torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# The gates first (lint, format, types; the import layers are a test), then the tests.
test: lint
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

demo: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/twin demo

validate: $(STAMP)
	$(BIN)/dagster definitions validate -w workspace.yaml

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy  # what and how strictly: [tool.mypy] in pyproject.toml

clean:
	rm -rf $(VENV) .twin .pytest_cache .mypy_cache
