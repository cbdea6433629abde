"""make bench-setup's pieces: the clone's environment, the compile count, the report."""

from __future__ import annotations

import os
from collections import Counter

from workshop import REPO, bench, report, setup_time


def test_the_clone_gets_a_new_terminals_environment(monkeypatch) -> None:
    venv_bin = str(REPO / ".venv" / "bin")
    monkeypatch.setenv("PATH", os.pathsep.join([venv_bin, "/usr/bin"]))
    for var in ("VIRTUAL_ENV", "PYO3_PYTHON", "PYO3_BUILD_EXTENSION_MODULE", "MAKEFLAGS"):
        monkeypatch.setenv(var, "from this checkout")
    env = setup_time.clean_env()
    assert env["PATH"] == "/usr/bin"
    assert not {"VIRTUAL_ENV", "PYO3_PYTHON", "PYO3_BUILD_EXTENSION_MODULE", "MAKEFLAGS"} & set(env)


def test_compiles_are_counted_per_crate() -> None:
    log = (
        "   Compiling pyo3-ffi v0.30.1\n   Compiling pyo3 v0.30.1\n"
        "\x1b[K   Compiling numpy v0.30.0\n   Compiling pyo3 v0.30.1\n"
        "warning: Compiling pyo3 v0 is not a status line\n"
    )
    counted = Counter(setup_time.COMPILING.findall(setup_time.ANSI.sub("", log)))
    assert counted == Counter({"pyo3": 2, "pyo3-ffi": 1, "numpy": 1})


def test_the_abi3_wheels_compiles_are_counted_apart() -> None:
    """The wheel's build (between the line workshop.wheel prints and its time) compiles
    PyO3 again for the stable ABI: that is not a second compile of the main job."""
    log = (
        "   Compiling pyo3 v0.30.1\n"
        "== maturin build --profile profiling --features pyo3/abi3-py310: stages/x -> dist/\n"
        "   Compiling pyo3-ffi v0.30.1\n   Compiling pyo3 v0.30.1\n"
        "   (41 s)\n"
        "   Compiling numpy v0.30.0\n"
    )
    wheel = "".join(setup_time.WHEEL_BUILD.findall(log))
    rest = setup_time.WHEEL_BUILD.sub("", log)
    assert Counter(setup_time.COMPILING.findall(wheel)) == Counter({"pyo3": 1, "pyo3-ffi": 1})
    assert Counter(setup_time.COMPILING.findall(rest)) == Counter({"pyo3": 1, "numpy": 1})


def test_stage_1s_debug_and_release_builds_are_counted_apart() -> None:
    """`make` compiles stage 1 with the dev and release profiles for `make bench-debug`:
    other profiles on purpose, not a second compile of the main job's; its profiling
    build shares the main job's and is counted with it."""
    log = (
        "building stage1_getattr (dev) -> build/stage1-dev\n"
        "   Compiling pyo3 v0.30.1\n   Compiling numpy v0.30.0\n"
        "📦 Built wheel for CPython 3.11 to build/wheels/stage1-dev/x.whl\n"
        "building stage1_getattr (release) -> build/stage1-release\n"
        "   Compiling pyo3 v0.30.1\n"
        "📦 Built wheel for CPython 3.11 to build/wheels/stage1-release/x.whl\n"
        "building stage1_getattr (profiling) -> build/stage1-profiling\n"
        "   Compiling rayon v1.12.0\n"
        "📦 Built wheel for CPython 3.11 to build/wheels/stage1-profiling/x.whl\n"
    )
    apart = "".join(setup_time.DEBUG_BUILDS.findall(log))
    rest = setup_time.DEBUG_BUILDS.sub("", log)
    assert Counter(setup_time.COMPILING.findall(apart)) == Counter({"pyo3": 2, "numpy": 1})
    assert Counter(setup_time.COMPILING.findall(rest)) == Counter({"rayon": 1})


def test_the_report_shows_a_failed_step() -> None:
    steps = {
        "make": {"command": "make", "seconds": 312.4, "status": 0},
        "test": {"command": "make test", "seconds": 48.0, "status": 2},
    }
    result = {
        "commit": "abc1234",
        "steps": steps,
        "compiled": dict.fromkeys(setup_time.SHARED, 1),
        "load_before": [0.1, 0, 0],
        "load_after": [0.2, 0, 0],
        "env": bench.environment(),
        "command": "python -m workshop.setup_time",
    }
    text = report.setup_markdown(result)
    assert "| `make` | 5 min 12 s |" in text and "| `make test` | 48 s |" in text
    assert "**failed: exit status 2**" in text
