"""The rivals (numpy-vectorized, Numba, SciPy) against a hostile caller, and ``max_dist`` in
every module.

Containers that iterate in their own order, inputs the baseline cannot compute with,
``max_dist`` values Python cannot compare, data on the integer lattice, Ctrl-C, and a
``max_dist`` that makes every pair close: each gives the baseline's answer, or an error
that names the argument. What could hang, crash or eat memory runs in a fresh interpreter
with a timeout and a bounded address space (RLIMIT_AS); no test reads a clock.
"""

from __future__ import annotations

import decimal
import resource
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import poly_match
import poly_match_numba
import poly_match_scipy
import poly_match_vectorized
from workshop import checks, child_env, stages, workloads

REPO = Path(__file__).resolve().parents[1]
RIVALS = {
    "vectorized": poly_match_vectorized,
    "numba": poly_match_numba,
    "scipy": poly_match_scipy,
}
# Every module but the baseline: the rivals and the built Rust stages.
MODULES = [s.name for s in stages.STAGES if s.name != "stage0" and s.is_available()]
# A child's address space: far more than any of them needs (numba's LLVM included), far
# less than the machine has.
CHILD_MEMORY = 3 * 2**30


def small_workload() -> tuple[list[poly_match.Polygon], list[np.ndarray]]:
    """Distinct areas, so every pick is one polygon, whatever the order of the scan."""
    return workloads.distinct_areas(n_polygons=80, n_points=30, seed=3, side=40.0)


def assert_as_baseline(module, polygons, points, max_dist=10.0) -> None:
    expected = checks.picks(poly_match.main(polygons, points, max_dist), polygons)
    result = module.main(polygons, points, max_dist)
    checks.assert_same_objects(result, points, polygons)
    checks.assert_identical_picks(checks.picks(result, polygons), expected)


def bounded(memory: int = CHILD_MEMORY):
    """For ``preexec_fn``: the child may map at most ``memory`` bytes."""
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def python(code: str, timeout: float = 300, **env: str) -> str:
    """Run ``code`` in a fresh interpreter of bounded memory; its stdout, or a failure."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=child_env(**env),
        preexec_fn=bounded(),
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


# --- max_dist: what Python's `<` refuses, every module refuses, by name ---------------------------

NAN_DECIMALS = [Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN")]


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("max_dist", NAN_DECIMALS, ids=str)
def test_a_decimal_nan_max_dist_raises_as_baseline(name: str, max_dist: Decimal) -> None:
    """Python refuses to order a Decimal NaN (``decimal.InvalidOperation``), so the baseline
    raises at its first comparison; every module used to return [] (or a TypeError)."""
    stage = stages.get(name)
    polygons, points = stage.workload(n_polygons=20, n_points=5)
    base_polygons, base_points = poly_match.generate_example(n_polygons=20, n_points=5)
    with pytest.raises(decimal.InvalidOperation):
        poly_match.main(base_polygons, base_points, max_dist)
    with pytest.raises(decimal.InvalidOperation, match=r"^max_dist: "):
        stage.entry_point()(polygons, points, max_dist)


NOT_REAL_MAX_DIST = {
    "timedelta64": np.timedelta64(10),
    "datetime64": np.datetime64(10, "s"),
    "a 0-d timedelta64 array": np.array(np.timedelta64(10)),
    "complex128": np.complex128(10),
}


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("max_dist", list(NOT_REAL_MAX_DIST))
def test_a_numpy_max_dist_that_is_not_real_is_named(name: str, max_dist: str) -> None:
    """numpy cannot compare a float distance with a timedelta or datetime (the baseline
    raises a TypeError); a numpy complex max_dist, like Python's, is refused everywhere
    (float() of it, as the stages did, drops its imaginary part, which numpy compares)."""
    value = NOT_REAL_MAX_DIST[max_dist]
    stage = stages.get(name)
    polygons, points = stage.workload(n_polygons=20, n_points=5)
    if max_dist != "complex128":
        with pytest.raises(TypeError):
            poly_match.main(*poly_match.generate_example(n_polygons=20, n_points=5), value)
    with pytest.raises(TypeError, match=r"^max_dist must be a real number, not numpy"):
        stage.entry_point()(polygons, points, value)
