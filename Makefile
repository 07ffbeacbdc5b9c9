# Credit Advisor. `make run` and `make test` are the two commands; everything else is optional.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: run chat test lint ingest bench eval env-example clean

# The venv is rebuilt when pyproject.toml changes. torch is pinned to the CPU build on
# this disk (torch==2.13.0) inside the `st` extra, so pip never pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev,st,llm]'
	touch $(STAMP)

## run: install, (re)index what changed, then serve the API (and /docs) on HOST:PORT
run: $(STAMP)
	$(PY) ingest.py
	$(PY) server.py

## chat: the same assistant in the terminal
chat: $(STAMP)
	$(PY) ingest.py
	$(PY) -m assistant chat

## eval: retrieval quality (with baselines), then the scripted conversations
eval: $(STAMP)
	$(PY) -m evals retrieval --compare
	$(PY) -m evals dialogue

## test: lint, type-check and the whole test suite (real Chroma, real embedders)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

ingest: $(STAMP)
	$(PY) ingest.py

bench: $(STAMP)
	$(PY) benchmarks/ingest_bench.py
	$(PY) benchmarks/retrieval_bench.py
	$(PY) benchmarks/dialogue_bench.py
	$(PY) benchmarks/api_bench.py
	$(PY) benchmarks/ui_bench.py

env-example: $(STAMP)
	$(PY) -m assistant.config > .env.example

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
