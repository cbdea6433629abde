"""Stage 4: the grid, the GIL released and rayon for large inputs, against the baseline
and against stage 3's plain loop. No test here reads a clock."""

from __future__ import annotations

import itertools
import math
import threading

import helpers
import numpy as np
import poly_match_stage3
import poly_match_stage4
import pytest
from helpers import LATTICE_POINTS, POINTS, lattice_rectangles, star_polygons
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from poly_match_stage4 import Polygon, main

import poly_match
from workshop import checks, stages, workloads

STAGE = stages.get("stage4")


def index_picks(result, polygons) -> list[tuple[int, int]]:
    """``[(id of the point, index of the polygon)]``: cheap enough for thousands of calls."""
    index = {id(poly): i for i, poly in enumerate(polygons)}
    return [(id(point), index[id(poly)]) for point, poly in result]


# --- the module and the answers ------------------------------------------------------


def test_the_module_exports_the_rust_functions() -> None:
    assert poly_match_stage4.main is poly_match_stage4._core.main
    assert poly_match_stage4.Polygon is poly_match_stage4._core.Polygon
    polygons, points = poly_match_stage4.generate_example(n_polygons=5, n_points=3)
    assert all(type(poly) is Polygon for poly in polygons) and len(points) == 3


def test_canonical_is_a_valid_argmin() -> None:
    assert STAGE.answers == "argmin"
    assert checks.check_stage(STAGE, workload="canonical") > 0


def test_distinct_areas_are_identical() -> None:
    assert checks.check_stage(STAGE, workload="distinct") > 0


@pytest.mark.parametrize("max_dist", [math.inf, 1e300, 35.5, 1e-9, 1e-300])
def test_other_max_dists_are_identical(max_dist: float) -> None:
    """Huge (one grid cell, every polygon close) and tiny (nothing close) max_dist."""
    checks.check_stage(STAGE, workload="distinct", max_dist=max_dist)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(polygon_args=star_polygons(), points=POINTS, max_dist=st.sampled_from([2.0, 10.0, 25.0]))
def test_random_workloads_with_distinct_areas_are_identical(polygon_args, points, max_dist):
    areas = sorted(poly_match.polygon_area(x, y) for x, y in polygon_args)
    assume(all(b > a * (1 + 1e-9) for a, b in itertools.pairwise(areas)))
    helpers.assert_identical_to_baseline(poly_match_stage4, polygon_args, points, max_dist)


@settings(max_examples=60, deadline=None)
@given(
    polygon_args=lattice_rectangles(),
    points=LATTICE_POINTS,
    max_dist=st.sampled_from([1.0, 2.5, 5.0, 10.0]),
)
def test_ties_and_boundaries_on_a_lattice_are_identical(polygon_args, points, max_dist):
    """Centers exactly max_dist away and tied areas: the grid must not change either."""
    helpers.assert_identical_to_baseline(poly_match_stage4, polygon_args, points, max_dist)


def test_empty_inputs_and_non_finite_points() -> None:
    polygons, points = workloads.distinct_areas(Polygon)
    assert main([], points) == []
    assert main(polygons, []) == []
    assert main(polygons, np.empty((0, 2))) == []
    odd = [np.array([np.nan, 1.0]), np.array([np.inf, 0.0]), np.array([-np.inf, np.nan])]
    baseline = workloads.distinct_areas()[0]
    expected = checks.picks(poly_match.main(baseline, [*odd, points[0]]), baseline)
    assert checks.picks(main(polygons, [*odd, points[0]]), polygons) == expected


# --- outliers: one far-away or NaN polygon or point changes no answer ----------------

OUTLIERS = {
    "polygon at x=1e12": lambda cls, polygons, points: (
        [*polygons, cls(np.array([1e12, 1e12 + 1.0, 1e12]), np.array([5.0, 5.0, 6.0]))],
        points,
    ),
    "polygon with a NaN vertex": lambda cls, polygons, points: (
        [
            *polygons[:7],
            cls(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, 3.0])),
            *polygons[7:],
        ],
        points,
    ),
    "point at 1e12": lambda cls, polygons, points: (
        polygons,
        [*points[:3], np.array([1e12, 50.0]), *points[3:]],
    ),
}


@pytest.mark.parametrize("outlier", OUTLIERS)
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_an_outlier_gives_the_baselines_answer(workload: str, outlier: str) -> None:
    """Answers only (the outliers' speed is the benchmark's business, not a test's)."""
    make = workloads.WORKLOADS[workload]
    baseline, points = OUTLIERS[outlier](poly_match.Polygon, *make())
    ours, our_points = OUTLIERS[outlier](Polygon, *make(Polygon))
    expected = checks.picks(poly_match.main(baseline, points), baseline)
    result = main(ours, our_points)
    checks.assert_same_objects(result, our_points, ours)
    got = checks.picks(result, ours)
    if workload == "canonical":  # areas equal up to rounding: any valid argmin (checks.py)
        checks.assert_valid_argmin(got, expected, baseline)
    else:
        checks.assert_identical_picks(got, expected)


# --- large inputs: the rayon path against stage 3's plain loop ------------------------


@pytest.fixture(scope="module")
def large():
    """20k polygons x 2k points: above grid.LARGE, so main releases the GIL and uses rayon;
    with the same data built as stage 3's Polygons (same area code) for the plain loop."""
    size = {"n_polygons": 20_000, "n_points": 2_000, "seed": 3}
    polygons, points = poly_match_stage4.generate_example(**size)
    plain, _ = poly_match_stage3.generate_example(**size)
    return polygons, points, plain


@pytest.mark.parametrize("outlier", [None, *OUTLIERS])
def test_large_workload_agrees_with_stage_3s_plain_loop(large, outlier) -> None:
    polygons, points, plain = large
    if outlier is not None:
        polygons, points = OUTLIERS[outlier](Polygon, polygons, points)
        plain, _ = OUTLIERS[outlier](poly_match_stage3.Polygon, plain, points)
    result = main(polygons, points)
    assert len(result) > len(points) // 2
    checks.assert_same_objects(result, points, polygons)
    assert checks.picks(result, polygons) == checks.picks(
        poly_match_stage3.main(plain, points), plain
    )


def test_4_threads_x_50_calls_agree_with_one_thread(large) -> None:
    polygons, points, _ = large
    expected = index_picks(main(polygons, points), polygons)
    results: list[list[tuple[int, int]]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            mine = [index_picks(main(polygons, points), polygons) for _ in range(50)]
            results.extend(mine)  # list.extend is atomic under the GIL
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 200
    assert all(r == expected for r in results)


# --- the GIL, without a clock ----------------------------------------------------------
#
# Why these cannot fail on a slow or busy machine:
#
# - sys.setswitchinterval(1000): a thread waiting for the GIL asks its holder to drop it
#   only after waiting 1000 s. So while the main thread runs Python code or holds the GIL
#   in Rust, no other Python thread runs; the only ways one can are the main thread
#   blocking (Event.wait, I/O) or main releasing the GIL itself (py.detach).
# - gc is collected, then disabled, during the calls: a finalizer run by the collector
#   (a file closed in a garbage cycle) could release the GIL inside `main` on its own.
# - The helper is parked in `go.wait()` before each call (it set `done` and went back to
#   `go.wait()` while holding the GIL, and the main thread only resumes once it blocks
#   there), so the helper runs exactly once per call: it records `state["inside"]` when
#   it gets the GIL, then sets `done`. The main thread sets `go`, sets `inside`, calls
#   main, clears `inside`, and waits for `done`: the helper records True only if it got
#   the GIL while `main` was running, i.e. only if main released the GIL.
# - Control (canonical input, 1100 polygons + points, below grid.LARGE): nothing in the
#   call releases the GIL, so the helper, though runnable the whole time, can only run
#   after the call: every record is False whatever the machine's speed or load. A call
#   would have to take over 1000 s for a forced switch.
# - Large input (100k x 10k, above grid.LARGE): main releases the GIL for the whole grid
#   work (~10 ms here, longer on a slower machine: the window grows with the work), and
#   the helper is already runnable, waiting for the GIL. It can still miss a window if
#   the OS does not schedule it before main takes the GIL back (rayon keeps both cores
#   busy meanwhile), so the test makes up to 20 calls and needs one hit. A miss leaves
#   nothing behind: the helper then runs after the call, while the main thread waits
#   for `done`. No timeout: a stuck helper would hang, not flake (pytest's own timeout,
#   if any, reports it).


@pytest.fixture(scope="module")
def huge():
    """100k polygons x 10k points, generated once."""
    return poly_match_stage4.generate_example(n_polygons=100_000, n_points=10_000, seed=4)


def helper_runs_during_main(polygons, points, calls: int, stop_at_first: bool) -> list[bool]:
    """For each call: did another thread hold the GIL while main was running?"""
    return helpers.helper_runs_during(lambda: main(polygons, points), calls, stop_at_first)


def test_the_gil_is_released_on_large_inputs(huge) -> None:
    polygons, points = huge
    records = helper_runs_during_main(polygons, points, calls=20, stop_at_first=True)
    assert any(records), f"the helper never ran inside main in {len(records)} calls"


def test_the_gil_is_kept_on_the_canonical_input() -> None:
    polygons, points = poly_match_stage4.generate_example()
    records = helper_runs_during_main(polygons, points, calls=20, stop_at_first=False)
    assert records == [False] * 20
