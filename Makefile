# Two commands from a fresh clone: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`; tests must stay safe side by side (docs/development.md).
PYTEST_WORKERS ?= 2

.PHONY: run test lint typecheck unit install dev clean bench demo sandbox-tools test-tools api-docs security-tools

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Orchestrate needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

## make sandbox-tools: bubblewrap (the sandbox) and slirp4netns (its opt-in network)
sandbox-tools:
	@bash scripts/install-sandbox-tools.sh

## make test-tools: the test runners whose real output the CI-report parsing tests read
## (go, cargo, Maven/Surefire, and Jest and mocha with npm into ~/.cache/orchestrate-test-tools)
test-tools:
	@bash scripts/install-ci-test-tools.sh

## make security-tools: Semgrep, the second SAST engine of `security scan`, into its own venv
## under ~/.cache/orchestrate-security-tools (its pins conflict with ours; docs/security-sast.md)
security-tools:
	@bash scripts/install-security-tools.sh

dev: $(VENV)/.installed-dev

## make run: install, migrate, and start `orchestrate serve` (API + worker) on 127.0.0.1:8080
run: install sandbox-tools
	$(BIN)/orchestrate db upgrade
	$(BIN)/orchestrate serve

## make demo: an agent fixes a failing test in a sample project, offline (a replayed session)
demo: install sandbox-tools
	$(BIN)/orchestrate db upgrade
	bash examples/demo.sh

## make test: lint, type-check, architecture contracts, then the whole test suite on
## $(PYTEST_WORKERS) pytest-xdist workers (PYTEST_WORKERS=0 runs it in one process)
test: lint typecheck sandbox-tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports

typecheck: dev
	$(BIN)/mypy

bench: dev
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/hostile_yaml.py

## make api-docs: rewrite docs/api.md's route reference from the OpenAPI document
api-docs: install
	$(BIN)/python scripts/gen_api_docs.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
