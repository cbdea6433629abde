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
# maturin sets these two for its builds; cargo test and cargo bench get the same values,
# or pyo3's build script would rerun and pyo3, numpy and the stages compile a second time.
export PYO3_BUILD_EXTENSION_MODULE := 1
export PYO3_ENVIRONMENT_SIGNATURE := $(shell $(PYTHON) -c 'import struct, sys; v = sys.version_info; \
	print("%s-%d.%d-%dbit" % (sys.implementation.name, v[0], v[1], 8 * struct.calcsize("P")))')
export PATH := $(VENV)/bin:$(PATH)
# One BLAS thread: the stages are single-threaded, and so is the comparison.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

# Every stages/stageN_*/ with a pyproject.toml is a stage crate.
STAGE_CRATES := $(patsubst stages/%/pyproject.toml,%,$(wildcard stages/stage*/pyproject.toml))
STAGE_STAMPS := $(STAGE_CRATES:%=$(VENV)/.built-%)
# The one Cargo profile of every Rust build here (maturin, cargo test, cargo bench), so the
# dependencies compile once: release + debug info (see Cargo.toml).
CARGO_PROFILE ?= profiling
# Test and bench executables embed Python and link libpython, which extension modules must
# not: harness/link-libpython.sh adds it to the workspace's executables alone.
LINK_LIBPYTHON := RUSTC_WORKSPACE_WRAPPER=$(CURDIR)/harness/link-libpython.sh
# Where runs write (ignored by git) and the committed reference sets the docs quote, one per
# CPU (reference/MACHINE/), which only `make reference` writes, on that machine. The
# harness's workshop.RESULTS and workshop.REFERENCE match.
OUT := results
REFERENCE := reference
# This machine's set: its folder name (intel-xeon-avx512, amd-epyc-avx2, ...), worked out once.
MACHINE = $(eval MACHINE := $(shell PYTHONPATH=harness $(PYTHON) -m workshop.machines slug))$(MACHINE)
# The stage names `make profile-STAGE` accepts, from the registry (harness/workshop/stages.py),
# and stage4_large: stage 4 on the large workload (workshop.profile.SUBJECTS).
STAGE_NAMES = $(shell PYTHONPATH=harness $(PYTHON) -c \
	'from workshop.stages import STAGES; print(" ".join(s.name for s in STAGES))' 2>/dev/null) \
	stage4_large

.PHONY: help
help: ## show this help
	@if [ -t 1 ] && [ -z "$${NO_COLOR:-}" ]; then on=$$'\033[36m'; off=$$'\033[0m'; else on=; off=; fi; \
	grep -hE '^[a-zA-Z0-9_%-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk -v on="$$on" -v off="$$off" -v names="$(STAGE_NAMES)" 'BEGIN {FS = ":.*?## "}; \
		{printf "  %s%-18s%s %s\n", on, $$1, off, $$2} \
		$$1 == "profile-%" && names != "" {printf "  %-18s stages: %s\n", "", names}'

.PHONY: all
all: setup wheel bench-debug-build bench profiles compare ## the main job: set up, check and time every stage, profile them
# `make` also compiles what the workshop's commands need, criterion (`make bench`, its
# Rust-only floor) and stage 1's debug and release builds (`make bench-debug`), so that no
# command in the room waits minutes for the compiler.

.PHONY: run
run: setup ## check and roughly time every built stage (quick; `make bench` is the real table)
	$(PY) -m workshop.run --all

# --- setup -----------------------------------------------------------------

$(VENV)/.installed: requirements.lock pyproject.toml
	@echo "creating .venv and installing the pinned Python packages (requirements.lock) with pip"
	$(PYTHON) -m venv $(VENV)
	@# The lock pins every platform's and Python's packages: pip's line per package it skips
	@# here ("Ignoring colorama: markers ...") or already has is not for anyone to act on.
	@$(PY) -m pip install --disable-pip-version-check --no-compile -r requirements.lock \
		| { grep -Ev '^(Ignoring |Requirement already satisfied: )' || true; }
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

.SECONDEXPANSION:
# Stage 5 reuses stage 4's search (a Rust dependency): an edit there rebuilds it too.
DEPS_stage5_columns := stages/stage4_grid
DEPS_stage5 := $(DEPS_stage5_columns)
$(VENV)/.built-%: $(VENV)/.installed Cargo.toml Cargo.lock \
		$$(shell find stages/$$* $$(DEPS_$$*) stages/common -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.py' \))
	@if compgen -G 'target/$(CARGO_PROFILE)/.fingerprint/pyo3-*' > /dev/null; then \
		echo "building stages/$* (maturin develop, cargo profile $(CARGO_PROFILE))"; \
	else echo "building stages/$* (maturin develop): the first Rust build also compiles the" \
		"dependencies (pyo3, numpy, ndarray, rayon, ...), once for every stage, test and bench"; fi
	$(PY) -m workshop.develop stages/$* --profile $(CARGO_PROFILE) --again "make build"
	touch $@

.PHONY: setup
setup: $(VENV)/.installed build ## create .venv, install the pinned Python deps, build every stage

.PHONY: build
build: $(STAGE_STAMPS) ## rebuild the stage crates whose sources changed (run after each edit)

# --- wheel -------------------------------------------------------------------

# What a team installs without Rust: the final stages, stage 4 (Polygon objects) and stage 5
# (columns), or one stage (STAGE=stage3, STAGE=3), each built by maturin with the stages'
# profile for the stable ABI (abi3: one wheel for CPython 3.10 and later), linked by zig for
# glibc 2.17 (manylinux2014, as CI's image), its sdist, and the baseline's wheel the stages
# import, in dist/; auditwheel checks the manylinux tag. `make test` installs each into a
# clean venv without Rust and checks it there, and its answers on every other CPython from
# 3.10 on the machine has (pyenv's).
WHEEL_STAGES = $(if $(filter file undefined,$(origin STAGE)),stage4 stage5,stage$(patsubst stage%,%,$(STAGE)))
WHEEL_STAMP = $(WHEEL_STAGES:%=dist/.built-%)
dist/.built-%: $(VENV)/.installed Cargo.toml Cargo.lock pyproject.toml \
		$$(shell find $$(wildcard stages/$$*_*) $$(DEPS_$$*) stages/common python_baseline harness/workshop \
			-type f \( -name '*.rs' -o -name '*.toml' -o -name '*.py' -o -name '*.pyi' \))
	$(PY) -m workshop.wheel build --stage $*
	touch $@

.PHONY: wheel
wheel: $(WHEEL_STAMP) ## stages 4 and 5 (STAGE=stage3: another) as wheels for CPython >= 3.10 on glibc >= 2.17 + sdists -> dist/, audited
	@for stage in $(WHEEL_STAGES); do echo "dist/ has $$stage's wheel and sdist (up to date):" \
		$$(cd dist && ls poly_match_$$stage-*); done

# The wheel on a CPython this machine does not have: Debian's own (sid: 3.14 today), in a
# minimal Debian that debootstrap makes in build/debian-$(DEBIAN_SUITE)/ (as root; about two
# minutes the first time, seconds after). Not in `make test`: root, and Debian's mirror.
DEBIAN_SUITE ?= sid
.PHONY: wheel-debian
wheel-debian: $(WHEEL_STAMP) ## the wheel's answers on Debian sid's CPython (3.14), in a debootstrap folder in build/ (root, ~2 min)
	@command -v debootstrap > /dev/null || { echo "installing debootstrap (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
	for stage in $(WHEEL_STAGES); do \
		$(PY) -m workshop.wheel check-debian --stage $$stage --suite $(DEBIAN_SUITE); done

# --- benchmarks --------------------------------------------------------------

# The Rust-only floor of stage 4: criterion times the pure-Rust core on the
# canonical workload, written out by Python so both sides see the same data, and its
# search at 100k x 10k on every thread, then on one (rayon reads RAYON_NUM_THREADS once
# per process, hence a second run). Results: target/criterion/stage4/*/new/estimates.json.
# Criterion compares every run with the one before and calls a difference on a busy
# machine a regression; this number stands alone, so the previous run is removed first.
FLOOR_BENCH = $(LINK_LIBPYTHON) POLY_MATCH_WORKLOAD=$(CURDIR)/build/canonical-workload.txt \
	POLY_MATCH_LARGE_WORKLOAD=$(CURDIR)/build/large-workload.txt \
	cargo bench --profile $(CARGO_PROFILE) -p floor --bench floor
.PHONY: bench-rust
bench-rust: $(VENV)/.installed ## criterion: stage 4's Rust-only floor (no Python), and its search at 100k x 10k on 1 thread vs all
	mkdir -p build
	$(PY) -m workshop.workloads build/canonical-workload.txt
	$(PY) -m workshop.workloads build/large-workload.txt --polygons 100000 --points 10000
	rm -rf target/criterion/stage4
	$(FLOOR_BENCH)
	RAYON_NUM_THREADS=1 $(FLOOR_BENCH) -- floor_100k_10k

# Every stage checked against the baseline, then the built ones timed side by side in
# one run (interleaved rounds, medians). A wrong answer fails it; a stage not built yet
# is listed as such. The stage 4 floor comes from bench-rust, run first (FLOOR=0: not).
# Writes $(OUT)/bench.{json,md,svg,png}. BENCH_BUDGET: seconds for the timed rounds,
# 20 for yours (under a minute in all on 2 cores), 60 for the reference set the docs quote.
BENCH_BUDGET ?= $(if $(filter $(REFERENCE),$(OUT)),60,20)
FLOOR ?= 1
.PHONY: bench
bench: setup ## the measured table: every stage checked, then timed -> results/bench.{md,json,svg}
	@if [ "$(FLOOR)" = 1 ]; then $(MAKE) --no-print-directory bench-rust; fi
	$(PY) -m workshop.bench --budget $(BENCH_BUDGET) --out $(OUT)

# Polygons 1k/10k/100k with points 100/1k/10k; a cell predicted to take longer than
# SCALING_BUDGET seconds is skipped (and reported). Writes $(OUT)/scaling.{json,md,svg,png}.
SCALING_BUDGET ?= 30
.PHONY: bench-scaling
bench-scaling: setup ## time per call as the problem grows 10x, 100x -> results/scaling.{md,json,svg}
	$(PY) -m workshop.scaling --budget $(SCALING_BUDGET) --out $(OUT)

# Python threads (1, 2, 4) calling stage 4's main at once, on 100k polygons x 10k points
# (the GIL released, rayon on every core) and on the canonical workload beside stage 3
# (the GIL held): total calls per second. Also stage 4's time per call at 100k x 10k
# (the target: <= 10 ms) against RAYON_NUM_THREADS=1, two child processes timed in turn; then
# that call from one thread while another thread's call lasts 2 s (each call has worker
# threads of its own, so the short one is not queued behind the long one's work).
# Writes $(OUT)/threads.{json,md}; about 35 s. Not in `all`: with bench-outliers ~47 s.
.PHONY: bench-threads
bench-threads: setup ## Python threads calling stage 4 at once: calls per second -> results/threads.{md,json}
	$(PY) -m workshop.threads --out $(OUT)

# The whole pipeline, from a pandas vertex table to pairs: stage 4 (a Polygon per polygon,
# then main) against stage 5 (the columns as they are), and stage 5 on one core
# (RAYON_NUM_THREADS=1, a child process), at the canonical size, 5k x 20k, 100k x 10k and
# 1M x 100k. Writes $(OUT)/pipeline.{json,md}; about two minutes on 2 cores.
.PHONY: bench-pipeline
bench-pipeline: setup ## a vertex table to pairs: stage 4 (Polygons) vs stage 5 (columns), 1 vs 2 cores -> results/pipeline.{md,json}
	$(PY) -m workshop.pipeline --out $(OUT)

# Speed cliffs: stage 4 on 100k x 10k plain, with one polygon at x = 1e12, one
# with a NaN vertex, one point at x = 1e12, and a far polygon with a point next to it
# (interleaved; each checked to pick as plain). Writes $(OUT)/outliers.{json,md}; ~13 s.
.PHONY: bench-outliers
bench-outliers: setup ## stage 4 with one far or NaN outlier vs without (<= 3x) -> results/outliers.{md,json}
	$(PY) -m workshop.outliers --out $(OUT)

# Which OpenBLAS kernel numpy's dot runs here and whether it fuses its multiply-adds (probed,
# and the rule from the kernel and the CPU), next to the floating-point lesson's areas in exact
# arithmetic. Writes $(OUT)/fp.{json,md}; a few seconds.
.PHONY: fp
fp: $(VENV)/.installed ## numpy's dot here (fused or not, which kernel) and the lesson's exact areas -> results/fp.{md,json}
	$(PY) -m workshop.fp --out $(OUT)

# Stage 1 built three ways (dev, release, profiling) into build/stage1-<profile>/,
# timed side by side; the build in .venv is not touched. Writes $(OUT)/bench-debug.md.
# `make` compiles the three (bench-debug-build); then bench-debug only packs them again
# and times them: 5 samples of 0.5 s per build, the reference set 7 of 1 s.
BENCH_DEBUG_ARGS ?= $(if $(filter $(REFERENCE),$(OUT)),--samples 7 --seconds 1,--samples 5 --seconds 0.5)
.PHONY: bench-debug
bench-debug: $(VENV)/.installed ## stage 1 as a debug vs release vs profiling build, side by side
	$(PY) -m workshop.bench_debug $(BENCH_DEBUG_ARGS) --out $(OUT)

.PHONY: bench-debug-build
bench-debug-build: $(VENV)/.installed ## compile stage 1 as a debug, release and profiling build (make does it, for bench-debug)
	$(PY) -m workshop.bench_debug --build-only

# Stage 2 as it is (frozen, read with .get()) vs as the article wrote it (not
# frozen, try_borrow()? in a block), both --profile profiling, into build/stage2-{profiling,
# article}/; the article's crate is stage 2 patched by workshop.bench_debug.ARTICLE_PATCH,
# built from build/stage2-article-src/. Writes $(OUT)/bench-borrow.{md,json}; about a minute.
.PHONY: bench-borrow
bench-borrow: $(VENV)/.installed ## stage 2 frozen vs the article's borrow scope, side by side
	$(PY) -m workshop.bench_debug --borrow --out $(OUT)

# Stage 4 built as `make wheel` builds it (abi3) and for this Python only (cp311, say), as
# `make build` does, into build/stage4-{abi3,profiling}/, timed side by side as bench-debug
# times its builds. Writes $(OUT)/bench-abi3.{md,json}; about a minute after `make`.
.PHONY: bench-abi3
bench-abi3: $(VENV)/.installed ## stage 4's abi3 wheel vs a wheel for this Python only, side by side
	$(PY) -m workshop.bench_debug --abi3 --out $(OUT)

# Stage 3 as it is (py.check_signals() once per point, so Ctrl-C stops a long call) vs the
# same crate patched never to ask (workshop.bench_debug.SIGNALS_PATCH), both --profile
# profiling, into build/stage3-{profiling,unchecked}/, timed side by side: what answering
# Ctrl-C costs. Writes $(OUT)/bench-signals.{md,json}.
.PHONY: bench-signals
bench-signals: $(VENV)/.installed ## stage 3 answering Ctrl-C vs never asking, side by side
	$(PY) -m workshop.bench_debug --signals --out $(OUT)

# A new attendee's first two commands, timed: the committed HEAD cloned into a temporary
# folder (commit first: uncommitted changes are not in the clone), then `make` and
# `make test` there, with their output shown and kept in build/setup-{make,test}.log.
# Also counts how often cargo compiled each shared dependency (once is right).
# Writes $(OUT)/setup.{json,md}. As long as both commands: run it on a quiet machine.
.PHONY: bench-setup
bench-setup: $(VENV)/.installed ## time a fresh clone's `make` and `make test` -> results/setup.{md,json}
	$(PY) -m workshop.setup_time --out $(OUT)

# --- profiles ----------------------------------------------------------------

# A recorder around the canonical workload, every stage at the same rate for the same wall
# time (and stage4_large: stage 4 on 100k polygons x 10k points, rayon on every core).
# PROFILER=py-spy (the default, the walkthrough's: Python functions by name, Rust frames with
# --native) or PROFILER=samply (every thread, rayon's workers too; native frames only).
# Outputs in $(PROFILE_OUT)/, samply's in $(PROFILE_OUT)/samply/: STAGE.folded (collapsed
# stacks), STAGE.meta.json, STAGE.svg, index.html (the comparison page). Where the recorder may
# not read the process (ptrace or perf events refused; py-spy on macOS), `make profiles` says so
# in one line and succeeds, so that `make` still finishes; `make profile-STAGE` fails with the hint.
PROFILER ?= py-spy
PROFILE_OUT := profiles/runs
PROFILE_REFERENCE := profiles/reference
PROFILE_SECONDS ?= 5
PROFILE_RATE ?= 200
PROFILE_ARGS = --profiler $(PROFILER) --seconds $(PROFILE_SECONDS) --rate $(PROFILE_RATE) \
	--out $(PROFILE_OUT)
# `make profiles` passes it; `make reference` empties it (the reference set needs them all).
IF_REFUSED := --skip-if-refused
# Flamegraph drawing (inferno) and Rust v0 demangling (rustfilt): pinned CLI tools from
# crates.io, installed into .venv/bin (not workspace crates: they are tools, not lessons).
# inferno is pinned, with what it needs, by harness/tools/Cargo.lock (its own published
# lock pins a yanked crate, for its tests); rustfilt publishes no lock, so its version is
# the pin (`cargo install --locked` would lock nothing and say so).
INFERNO := $(VENV)/bin/inferno-flamegraph
RUSTFILT := $(VENV)/bin/rustfilt
$(INFERNO): harness/tools/Cargo.toml harness/tools/Cargo.lock | $(VENV)/.installed
	@echo "building inferno (draws the flamegraphs) into .venv/bin: once"
	cargo build --locked --release --manifest-path harness/tools/Cargo.toml \
		--target-dir target/tools -p inferno --bin inferno-flamegraph
	cp target/tools/release/inferno-flamegraph $@
$(RUSTFILT): | $(VENV)/.installed
	@echo "installing rustfilt (reads Rust's symbol names) into .venv/bin: cargo install, once"
	cargo install rustfilt --version 0.2.1 --root $(VENV)
PROFILE_TOOLS := $(INFERNO) $(RUSTFILT)
# samply, the second recorder: installed the first time PROFILER=samply asks for it, not by
# `make` (it compiles for a few minutes). cargo shows its own progress.
SAMPLY := $(VENV)/bin/samply
$(SAMPLY): | $(VENV)/.installed
	@echo "installing samply 0.13.1 (records every thread) into .venv/bin: cargo install, once"
	cargo install --locked samply --version 0.13.1 --root $(VENV)
RECORDER := $(if $(filter samply,$(PROFILER)),$(SAMPLY))

.PHONY: samply
samply: $(SAMPLY) ## install samply, the second recorder (every thread; macOS too) into .venv/bin, once

profile-%: setup $(PROFILE_TOOLS) $(RECORDER) ## profile one stage (-> profiles/runs/STAGE.svg, PROFILER=samply: samply/) and refresh the page
	$(PY) -m workshop.profile $* $(PROFILE_ARGS)
	$(PY) -m workshop.compare --profiler $(PROFILER) --out $(PROFILE_OUT) --changed

.PHONY: profiles
profiles: setup $(PROFILE_TOOLS) $(RECORDER) ## profile every built stage -> profiles/runs/STAGE.{folded,svg} (PROFILER=samply: samply/)
	$(PY) -m workshop.profile --all $(IF_REFUSED) $(PROFILE_ARGS)

.PHONY: compare
compare: $(VENV)/.installed $(PROFILE_TOOLS) ## profiles/runs/index.html (or the reference set's): two flamegraphs side by side, timings, diffs
	$(PY) -m workshop.compare --profiler $(PROFILER) --out $(PROFILE_OUT)

# Your own code, from this folder: SCRIPT="docs/profile_me.py --numpy" is
# `.venv/bin/workshop profile docs/profile_me.py --numpy` (harness/workshop/script.py), the
# command to run from your own folder, with the runs in profiles/runs/scripts/NAME/ (samply:
# profiles/runs/scripts/samply/NAME/). SCRIPT and NAME reach it through the environment and
# Python splits SCRIPT into words as a shell would: no shell reads them, so a quote, $ or ;
# in a file name stays a character of the name.
override SCRIPT := $(value SCRIPT)
override NAME := $(value NAME)
export SCRIPT NAME
.PHONY: profile-script
profile-script: $(VENV)/.installed $(PROFILE_TOOLS) $(RECORDER) ## profile your own script: SCRIPT="my_script.py args" [PROFILER=samply] (elsewhere: .venv/bin/workshop profile)
	@if [ -z "$$SCRIPT" ]; then \
		echo 'usage: make profile-script SCRIPT="path/to/script.py its args" [PROFILER=samply] [NAME=name]'; \
		echo 'from your own folder: $(VENV)/bin/workshop profile script.py its args'; \
		exit 2; fi
	$(PY) -m workshop profile --profiler $(PROFILER) --rate $(PROFILE_RATE) \
		--out $(PROFILE_OUT)/scripts $${NAME:+--name "$$NAME"} --split "$$SCRIPT"

# The committed reference sets: what the docs quote and a reader sees without running
# anything, one per CPU (harness/README.md#reference-sets-one-per-cpu). Only this target
# writes reference/ and profiles/reference/, and only this machine's folder in them (it
# records the commit measured, so it refuses uncommitted code); every other one writes
# results/ and profiles/runs/.
.PHONY: reference
reference: setup $(PROFILE_TOOLS) $(SAMPLY) ## re-measure this machine's set into reference/MACHINE/ and profiles/reference/MACHINE/ (slow), re-render the docs' numbers
	$(PY) -m workshop.machines record $(REFERENCE)/$(MACHINE)
	$(MAKE) --no-print-directory OUT=$(REFERENCE)/$(MACHINE) \
		PROFILE_OUT=$(PROFILE_REFERENCE)/$(MACHINE) IF_REFUSED= \
		bench bench-scaling bench-debug bench-borrow bench-abi3 bench-signals bench-threads \
		bench-outliers bench-pipeline fp profiles
	$(MAKE) --no-print-directory PROFILE_OUT=$(PROFILE_REFERENCE)/$(MACHINE) IF_REFUSED= \
		PROFILER=samply profiles compare
	$(MAKE) --no-print-directory PROFILE_OUT=$(PROFILE_REFERENCE)/$(MACHINE) compare
	$(MAKE) --no-print-directory OUT=$(REFERENCE)/$(MACHINE) bench-setup
	$(MAKE) --no-print-directory docs-numbers

.PHONY: docs-numbers
docs-numbers: $(VENV)/.installed ## re-render the docs' measured numbers from reference/ (the typical machine's, the ranges)
	$(PY) -m workshop.numbers --write

# --- workshop ----------------------------------------------------------------

# The hands-on exercises (docs/workshop.md#exercise-1): one starter crate per stage,
# stages/exerciseN/ (N = 1, 2, 3, 4), written by you; its answer, stages/exerciseN/solution.rs,
# is for after. Not stages: `make build` and the benchmark leave them alone. Each fails,
# saying what to do, until its TODOs are done.
STAGE ?= 1
EXERCISE := stages/exercise$(STAGE)
# Which hint `make hint` printed last, per exercise: build/ is not tracked.
HINT_STATE := build/hints/exercise$(STAGE)
.PHONY: exercise-stage
exercise-stage:
	@if [ ! -f $(EXERCISE)/Cargo.toml ]; then \
		echo "no exercise for STAGE=$(STAGE): use STAGE=1, 2, 3 or 4 (stages/exercise1/ ...)"; \
		exit 2; fi

# The checks print each failure's message (what to change first), no traceback.
.PHONY: check-exercise
check-exercise: $(VENV)/.installed exercise-stage ## build your stages/exerciseN (STAGE=1, 2, 3 or 4; default 1), check it
	$(PY) -m workshop.develop $(EXERCISE) --again "make check-exercise STAGE=$(STAGE)"
	$(PY) -m workshop.exercises $(STAGE)

.PHONY: reset-exercise
reset-exercise: exercise-stage ## put exercise STAGE's starter back (discards your edits to its src/)
	git checkout HEAD -- $(EXERCISE)/src
	rm -f $(HINT_STATE)

# Levels are the `## Hint k` sections of stages/exerciseN/hints.md. Without LEVEL, the
# one after the last printed (the last one stays the last); LEVEL=k prints hint k.
.PHONY: hint
hint: exercise-stage ## print the next hint for exercise STAGE (LEVEL=k: hint k)
	@hints=$(EXERCISE)/hints.md; \
	total=$$(grep -c '^## Hint ' $$hints); \
	if [ -n "$(LEVEL)" ]; then level=$(LEVEL); \
	else level=$$(( $$(cat $(HINT_STATE) 2>/dev/null || echo 0) + 1 )); fi; \
	if ! [ "$$level" -ge 1 ] 2>/dev/null || [ "$$level" -gt "$$total" ]; then \
		if [ -n "$(LEVEL)" ]; then echo "LEVEL=$(LEVEL): $$hints has hints 1 to $$total"; exit 2; fi; \
		level=$$total; fi; \
	mkdir -p $(dir $(HINT_STATE)); echo $$level > $(HINT_STATE); \
	echo "== exercise $(STAGE), hint $$level of $$total ($$hints)"; \
	awk -v k=$$level '/^## Hint /{h++; next} h==k' $$hints; \
	if [ "$$level" -lt "$$total" ]; then \
		echo "== next: make hint STAGE=$(STAGE)    (any level: make hint STAGE=$(STAGE) LEVEL=k)"; \
	else echo "== that was the last hint; the whole answer, with its comments: $(EXERCISE)/solution.rs"; fi

# The lesson of stage N as a diff from stage N-1 (tests left out); the stage READMEs embed it.
diff-stage%: $(VENV)/.installed ## the diff from stage N-1 to stage N, its lesson: diff-stage1 ... diff-stage5
	@$(PY) -m workshop.stagediff stage$*

# --- checks ------------------------------------------------------------------

# Crates with no Rust tests of their own (the exercises are checked from Python). `--tests`
# also leaves out doc tests: there are none, and rustdoc would link them without libpython.
NO_RUST_TESTS := --exclude exercise1 --exclude exercise2 --exclude exercise3 --exclude exercise4 --exclude workspace-hack \
	--exclude floor
.PHONY: test
# tests/test_profiles.py records the stages with claims and draws the compare page: it needs the
# profile tools. Its samply tests run where samply is installed (`make samply`) and allowed.
# pytest runs on every core (pytest-xdist), a test file per worker: module fixtures run once.
test: setup $(PROFILE_TOOLS) $(WHEEL_STAMP) ## run every test: cargo test (the Rust cores), pytest (answers vs the baseline), the wheel in a clean venv
	$(LINK_LIBPYTHON) cargo test --profile $(CARGO_PROFILE) --workspace $(NO_RUST_TESTS) --tests -- --quiet
	$(PY) -m pytest -n auto --dist loadfile
	for stage in $(WHEEL_STAGES); do $(PY) -m workshop.wheel check --stage $$stage; done

# The compiled modules whose _core.pyi stubs stubtest checks against the built module.
STUBTEST_MODULES := poly_match_stage1._core poly_match_stage2._core poly_match_stage3._core \
	poly_match_stage4._core poly_match_stage5._columns
.PHONY: lint
lint: setup ## clippy -D warnings and rustfmt (the workspace, the crate `workshop new` writes), ruff; every path and target the docs name exists; every measured number in the docs is the reference data's, every code block the source's; the stages' .pyi stubs match the modules (stubtest); the GitHub workflows (actionlint, zizmor)
	cargo clippy --workspace --all-targets -- -D warnings
	cargo fmt --all --check
	$(PY) -m workshop.newcrate --lint
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m workshop.doccheck
	$(PY) -m workshop.numbers
	$(PY) -m workshop.excerpts
	$(PY) -m mypy.stubtest $(STUBTEST_MODULES)
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --quiet .github/workflows

.PHONY: format
format: $(VENV)/.installed ## format Rust and Python in place
	cargo fmt --all
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

.PHONY: lock
lock: ## re-pin requirements.lock from pyproject.toml (needs uv: pip install uv)
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.10 -o requirements.lock

.PHONY: clean
clean: ## remove .venv, target/, dist/ and the built extension modules
	rm -rf $(VENV) target build dist .pytest_cache .ruff_cache .hypothesis
	find stages -name '*.so' -delete
