# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# test processes: auto spreads the suite over the cores with pytest-xdist (what CI runs; each process gets its own
# PostgreSQL database); `make test PYTEST_WORKERS=0` runs it in this one process, which is easier to debug
PYTEST_WORKERS ?= auto

.PHONY: run test install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

run: install
	$(BIN)/voxpop db upgrade
	$(BIN)/voxpop demo --if-empty
	@echo "voxpop: open http://$(HOST):$(PORT)/ and log in as admin@northwind.example with password voxpop-demo"
	$(BIN)/voxpop serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .voxpop .pytest_cache
