# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# test processes: 0 runs the suite in this process (what CI runs); `make test PYTEST_WORKERS=auto` spreads it over
# the cores with pytest-xdist, where a few CLI table tests still fail (not yet understood)
PYTEST_WORKERS ?= 0

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
