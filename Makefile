# poly-match workshop. `make help` lists every target.
# Two commands from a fresh clone: `make` (set up, build, run) and `make test`.

.DEFAULT_GOAL := all
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
# maturin installs into the active venv; pyo3 builds against the venv's Python
# (the same value for maturin and cargo, so neither rebuilds pyo3 for the other).
export VIRTUAL_ENV := $(VENV)
export PYO3_PYTHON := $(PY)
export PATH := $(VENV)/bin:$(PATH)
# One BLAS thread: the stages are single-threaded, and so is the comparison.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

# Every stages/stageN_*/ with a pyproject.toml is a stage crate.
STAGE_CRATES := $(patsubst stages/%/pyproject.toml,%,$(wildcard stages/stage*/pyproject.toml))
STAGE_STAMPS := $(STAGE_CRATES:%=$(VENV)/.built-%)
# maturin profile for the stages: release + debug info (see Cargo.toml).
CARGO_PROFILE ?= profiling

.PHONY: help
help: ## show this help
	@grep -hE '^[a-zA-Z0-9_%-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.PHONY: all
all: setup ## the main job: set up if needed, then check and time every stage
	$(PY) -m workshop.run --all

# --- setup -----------------------------------------------------------------

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

.SECONDEXPANSION:
$(VENV)/.built-%: $(VENV)/.installed Cargo.toml Cargo.lock \
		$$(shell find stages/$$* -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.py' \))
	maturin develop --quiet --profile $(CARGO_PROFILE) --manifest-path stages/$*/Cargo.toml
	touch $@

.PHONY: setup
setup: $(VENV)/.installed build ## create .venv, install the pinned Python deps, build every stage

.PHONY: build
build: $(STAGE_STAMPS) ## rebuild the stage crates whose sources changed (run after each edit)

# --- benchmarks --------------------------------------------------------------

# The Rust-only floor of stage 3: criterion times the pure-Rust core on the
# canonical workload, written out by Python so both sides see the same data.
# Result: target/criterion/stage3/floor_canonical/new/estimates.json (nanoseconds).
.PHONY: bench-rust
bench-rust: $(VENV)/.installed ## criterion: the Rust-only floor of stage 3 (no Python in the loop)
	mkdir -p build
	$(PY) -m workshop.workloads build/canonical-workload.txt
	LD_LIBRARY_PATH=$(LIBPYTHON_DIR) POLY_MATCH_WORKLOAD=$(CURDIR)/build/canonical-workload.txt \
		cargo bench -p stage3_selector --bench floor

# --- checks ------------------------------------------------------------------

# Rust test binaries link libpython (no extension module there): tell the loader where it is.
LIBPYTHON_DIR = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')

.PHONY: test
test: setup ## run every test: cargo test (the Rust cores) and pytest (answers vs the baseline)
	LD_LIBRARY_PATH=$(LIBPYTHON_DIR) cargo test --workspace --quiet
	$(PY) -m pytest

.PHONY: lint
lint: $(VENV)/.installed ## clippy -D warnings, rustfmt --check, ruff check, ruff format --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo fmt --all --check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

.PHONY: format
format: $(VENV)/.installed ## format Rust and Python in place
	cargo fmt --all
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

.PHONY: lock
lock: ## re-pin requirements.lock from pyproject.toml (needs uv: pip install uv)
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 -o requirements.lock

.PHONY: clean
clean: ## remove .venv, target/ and the built extension modules
	rm -rf $(VENV) target build .pytest_cache .ruff_cache .hypothesis
	find stages -name '*.so' -delete
