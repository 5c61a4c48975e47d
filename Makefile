# Agora: the README's two commands are `make run` and `make test`.
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Two stamps: `make run` installs what serving needs (no torch, no test tools);
# `make test` / `make install` add the dev extra (tests, linters, torch) on top.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-dev
# Command-line variables (`make run PORT=8123`); plain `=` so a stray HOST or PORT in
# the environment (tcsh exports HOST) does not move the server.
HOST = 127.0.0.1
PORT = 8000

.PHONY: install run test lint format typecheck bench docs vendor clean

$(RUN_STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# --no-compile: pip would write bytecode for every module of every package
	# (250 MB, mostly never imported); Python writes it for what the platform imports.
	$(BIN)/pip install -q --no-compile -e .
	# Semgrep (code review) in its own virtualenv: its pins would downgrade ours.
	$(PY) -m venv .tools/semgrep
	.tools/semgrep/bin/pip install -q semgrep==1.187.0
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q -e ".[dev,docs]"
	# Tests start many interpreters (and may run with PYTHONDONTWRITEBYTECODE): compile once.
	# torch ships a Python 3.12-only test module that 3.11 cannot compile (never imported).
	$(BIN)/python -m compileall -q -j 0 -x 'torch/testing/_internal/py312' $(VENV)/lib >/dev/null
	touch $(STAMP)

install: $(STAMP)

## Run the platform on embedded defaults with demo data: API on $(HOST):$(PORT)
## (`make run PORT=8123 HOST=0.0.0.0`).
run: $(RUN_STAMP)
	$(BIN)/agora demo --if-empty
	$(BIN)/agora serve --host $(HOST) --port $(PORT)

## Run the whole test suite (needs PostgreSQL and Redis running; .ci/run starts them).
# Then the docstrings' examples (an example that needs a live server is marked
# `# doctest: +SKIP`); Alembic's env.py runs only inside Alembic.
test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadgroup
	$(BIN)/pytest -q -p no:cacheprovider --doctest-modules src/agora \
		--ignore=src/agora/storage/migrations

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

## Build the documentation site into site/ (strict: a broken link or any warning fails).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Re-vendor the front-end files (web/package.json, exact versions) into the package.
vendor:
	cd web && npm ci --ignore-scripts --no-audit --no-fund && $(PY) vendor.py

clean:
	rm -rf $(VENV) .agora .pytest_cache .mypy_cache .ruff_cache site
