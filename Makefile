# One entry point for setup, lab, test, release. Every target is idempotent.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Notebook tests run side by side, one kernel each (torch uses one thread per kernel).
WORKERS ?= 3
PORT   ?= 8888

.PHONY: setup lab test test-fast release bench doctor clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Root (a container, a CI box) must say so explicitly to Jupyter.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.port=$(PORT) --ServerApp.ip=127.0.0.1 $(ALLOW_ROOT)

test: setup
	$(BIN)/ruff check edgecourse tests solutions hidden_tests
	$(BIN)/python -m edgecourse.bench.tflm_cache
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

# The inner loop: everything but the browser, the grading battery and the benchmark.
test-fast: setup
	$(BIN)/ruff check edgecourse tests solutions hidden_tests
	$(BIN)/python -m edgecourse.bench.tflm_cache
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup -m "not browser and not battery and not bench"

release: setup
	$(BIN)/edgecourse release

bench: setup
	$(BIN)/python -m edgecourse.bench.run

doctor: setup
	$(BIN)/edgecourse doctor

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts
