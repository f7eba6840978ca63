# adamtune: two commands on a fresh machine (Python 3.11): `make run` and `make test`.
# `make run PORT=8080` serves elsewhere; `make test PYTHON=/path/to/python3.11` for another Python.
PYTHON ?= python3.11
PORT ?= 8000
VENV ?= .venv
BIN := $(VENV)/bin
# Elsewhere: make TORCH_CPU=torch TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_CPU ?= torch==2.13.0
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed
# The dashboard's JavaScript (frontend/js, no build step): ESLint comes from package.json's
# devDependencies, put in node_modules/ by `npm ci` (package-lock.json) on first use; the unit
# tests (tests/js/*.test.js) run on Node's own node:test, which needs nothing installed.
NODE ?= node
NPM ?= npm
NODE_STAMP := node_modules/.installed
JS_TESTS := tests/js/*.test.js

.PHONY: run test test-fast test-slow test-optuna-range test-js lint lint-js bench screenshots docker-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The CPU build of torch goes in first, so `torch>=2.3` in pyproject.toml is already satisfied
# and pip never pulls a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH_CPU)" $(TORCH_PIP_ARGS)
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(BIN)/adamtune serve --host 127.0.0.1 --port $(PORT) --database-url sqlite:///./data/adamtune.db

# Three pytest processes (pytest-xdist) on two cores: most tests wait on a server, a worker or a
# browser (summed over the suite, the tests' durations were 2.8x its wall time with three
# processes), so a third keeps the cores busy. A file runs in one process; the load-making files
# run one after another in one process (tests/conftest.py's HEAVY_FILES). Files are handed out in
# collection order, the longest first (LONGEST_FIRST), not by their number of tests (xdist's
# default); the slowest tests are listed at the end. `make test PYTEST_WORKERS=0`: one process.
PYTEST_WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	--durations=20

test: $(STAMP)
	$(PYTEST)
	$(NODE) --test $(JS_TESTS)

test-fast: $(STAMP)
	$(PYTEST) -m "not slow and not e2e"
	$(NODE) --test $(JS_TESTS)

test-js:
	$(NODE) --test $(JS_TESTS)

test-slow: $(STAMP)
	$(PYTEST) -m "slow or e2e"

# optim/optuna_internals.py knows Optuna's internals: its contract tests run against the oldest
# and the newest Optuna that pyproject.toml admits, each put in front of the venv's own.
OPTUNA_OLDEST ?= 5.0.0
OPTUNA_TESTS := tests/optim/test_optuna_internals.py tests/optim/test_storage.py \
	tests/optim/test_runner.py
test-optuna-range: $(STAMP)
	newest=$$($(BIN)/python -m pip index versions optuna 2>/dev/null | \
		$(BIN)/python -c "import re, sys; m = re.search(r'versions: (.*)', sys.stdin.read()); \
		print(next((v for v in (m.group(1).split(', ') if m else []) if v.startswith('5.')), ''))"); \
	for version in $$(echo $(OPTUNA_OLDEST) $$newest | tr ' ' '\n' | sort -u); do \
		echo "== Optuna $$version"; \
		$(BIN)/pip install -q --no-deps --target .optuna-range/$$version "optuna==$$version" || exit 1; \
		PYTHONPATH=.optuna-range/$$version $(BIN)/python -c \
			"import optuna, sys; sys.exit(optuna.__version__ != '$$version')" || exit 1; \
		PYTHONPATH=.optuna-range/$$version $(BIN)/python -m pytest -q $(OPTUNA_TESTS) || exit 1; \
	done

# Every benchmark of docs/BENCHMARKS.md (about 80 minutes on 2 cores, 25 of them overload's and
# up to 20 runners': run it on a quiet machine); Markdown tables go to docs/bench/NAME.md, raw
# numbers to docs/bench/NAME.json. runners needs PostgreSQL: ADAMTUNE_BENCH_PG_ADMIN_URL (default
# postgresql://postgres@127.0.0.1:5432/test), with max_connections above 2 x 200 for its
# Optuna-native side (docs/BENCHMARKS.md, section 10).
BENCH_OUT ?= docs/bench
BENCHES := adam_step storage_writes service_overhead epoch_overhead worker_scaling dashboard_reads \
	live_latency curves_build first_view memory tuning_quality recipes overload runners gpu
bench: $(STAMP)
	$(BIN)/pip install -q -e ".[bench]"
	mkdir -p $(BENCH_OUT)
	for b in $(BENCHES); do \
		$(BIN)/python bench/$$b.py --json $(BENCH_OUT)/$$b.json > $(BENCH_OUT)/$$b.md || exit 1; \
		cat $(BENCH_OUT)/$$b.md; \
	done

# The README's screenshots (docs/screenshots/): a real server tunes a 120-trial study, headless
# Chromium photographs the pages, light and dark (about two minutes on 2 cores).
screenshots: $(STAMP)
	$(BIN)/python -m tests.e2e.screenshots

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	touch $(NODE_STAMP)

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app optim adamtune
	node_modules/.bin/eslint

lint-js: $(NODE_STAMP)
	node_modules/.bin/eslint

# Build the image and run the three Compose modes (SQLite; PostgreSQL; two API processes behind
# HAProxy), checked over REST on 127.0.0.1 (docker/docker-test.sh; it first runs
# ../shared/docker/make-base-image.sh where that exists: CI has no registry).
docker-test: $(STAMP)
	PYTHON=$(abspath $(BIN)/python) bash docker/docker-test.sh

clean:
	rm -rf $(VENV) build *.egg-info
