"""Are your ``select`` and ``area`` the baseline's? Run by ``make check-exercise STAGE=3``.

Answers are checked by calling the module you built; two checks read your
``src/lib.rs`` (``POLY_MATCH_EXERCISE_SRC`` overrides the path:
``tests/test_exercise_meta.py`` points it at what it built: the answer,
``stages/exercise3/solution.rs``, and each natural mistake). No timing.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import poly_match
from workshop import checks, exercises, workloads

poly_match_exercise3 = exercises.built(3)
Polygon = poly_match_exercise3.Polygon
main = poly_match_exercise3.main

EXERCISE = exercises.stage(3, answers="argmin")
SOURCE = exercises.source(__file__)
ORIGIN = np.array([0.0, 0.0])


def at(x: float, y: float, size: float = 0.0) -> Polygon:
    """A polygon centered exactly on ``(x, y)``: one vertex, or a square of side ``2 * size``."""
    if size == 0.0:
        return Polygon(np.array([x]), np.array([y]))
    return Polygon(
        np.array([x - size, x + size, x + size, x - size]),
        np.array([y - size] * 2 + [y + size] * 2),
    )


call = exercises.caller(
    "index only where the index exists (`sites[b]` with the wrong index, `x[i - 1]` at "
    "i = 0: wrap around to the last vertex instead), and give a point with no close "
    "polygon no pair rather than `unwrap()` its `None`."
)


def attempt() -> object:
    """The call that raises the starter's NotImplementedError until the TODOs are done."""
    return main([at(1.0, 1.0)], [ORIGIN], 10.0)


done = exercises.done_fixture(attempt)


def close() -> Polygon:
    """A polygon 3 away from the origin, of area 4: the pick wherever nothing smaller is."""
    return at(3.0, 0.0, size=1.0)


def picked(polygons: list[Polygon], points: list[np.ndarray], max_dist: float = 10.0) -> list:
    """``[(point index, polygon index)]`` of ``main``'s pairs."""
    pairs = call(main, polygons, points, max_dist)
    point_index = {id(p): k for k, p in enumerate(points)}
    polygon_index = {id(p): i for i, p in enumerate(polygons)}
    return [(point_index[id(p)], polygon_index[id(q)]) for p, q in pairs]


def test_the_todos_are_done() -> None:
    exercises.fail_if_not_done(attempt, 3)


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_same_picks_as_the_baseline(workload: str) -> None:
    exercises.same_picks(
        call,
        EXERCISE,
        workload,
        "Give each point with a close polygon one pair, in the points' order: the close "
        "polygon of least area, the first on a tie (TODO(1)); the area as numpy's "
        "(TODO(3)).",
    )


@pytest.mark.usefixtures("done")
def test_strictly_closer_than_max_dist() -> None:
    # The one-vertex polygon on the circle has area 0: if it counted as close, it would win.
    assert picked([at(*exercises.ON_THE_CIRCLE), close()], [ORIGIN]) == [(0, 1)], (
        "Compare with a strict `<`, not `<=` (TODO(1), TODO(2)): a center exactly max_dist "
        "away, (6, 8) from (0, 0), is not close for the baseline, "
        "`norm(center - point) < max_dist`."
    )


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(
    ("center", "why"), exercises.boundary(", and `d2 <= t` keeps it too ({d2!r} is t itself)")
)
def test_the_sqrt_free_test_is_exact_at_the_boundary(center: tuple[float, float], why: str) -> None:
    # The polygon on the boundary has area 0: if it counted as close, it would win.
    assert picked([at(*center), close()], [ORIGIN]) == [(0, 1)], exercises.kept_on_the_boundary(
        "Compare the squared distance with `t = squared_threshold(max_dist)`, computed once "
        "per call, strictly: `dx * dx + dy * dy < t` (TODO(2)).",
        center,
        why,
    )


def select_body() -> str:
    """The text of ``fn select`` in your lib.rs, comments removed."""
    return exercises.rust_fn(SOURCE, "select")


@pytest.mark.usefixtures("done")
def test_no_square_root_in_the_loop() -> None:
    found = re.search(r"\b(sqrt|hypot)\b", select_body())
    assert found is None, (
        "Compare the squared distance with `squared_threshold(max_dist)` instead of taking "
        f"a square root (TODO(2)): `select` calls `{found.group(0) if found else ''}`, once "
        "per polygon per point, for the same answer."
    )


@pytest.mark.usefixtures("done")
def test_the_threshold_is_computed_once_per_call() -> None:
    body = select_body()
    loop = re.search(r"\bfor\b|\bwhile\b|\bloop\b|\.iter\(|\.map\(|\.for_each\(", body)
    before = body[: loop.start()] if loop else body
    assert "squared_threshold(" in before, (
        "Compute `let t = squared_threshold(max_dist);` once, before the loops (TODO(2)): "
        "in `select` it is "
        + ("computed inside a loop" if "squared_threshold(" in body else "not called")
        + ", and `max_dist * max_dist` is not the same test."
    )


@pytest.mark.usefixtures("done")
def test_least_area_and_the_first_wins_a_tie() -> None:
    big, small, small_too = at(1.0, 0.0, size=2.0), at(-1.0, 0.0, size=1.0), at(0.0, 1.0, 1.0)
    assert picked([big, small, small_too], [ORIGIN]) == [(0, 1)], (
        "Replace the best so far only by a strictly smaller area, `<`, not `<=`, as "
        "`select_best_polygon` does (TODO(1)): of the close polygons the one of least "
        "area wins, and on a tie the first one."
    )


@pytest.mark.usefixtures("done")
def test_a_point_with_no_close_polygon_is_skipped() -> None:
    points = [np.array([500.0, 500.0]), ORIGIN, np.array([-500.0, 0.0])]
    assert picked([at(1.0, 1.0)], points) == [(1, 0)], (
        "Give a point with no polygon closer than max_dist no pair at all, as the "
        "baseline skips it, and keep every other point's index (TODO(1))."
    )


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], 1.0),
        ([0.0, 4.0, 0.0], [0.0, 0.0, 3.0], 6.0),
        ([0.0, 0.0, 4.0], [0.0, 3.0, 0.0], 6.0),
        ([2.0, 3.0, 3.0, 2.0], [3.0, 3.0, 4.0, 4.0], 1.0),
        ([2.0], [3.0], 0.0),
    ],
    ids=["unit-square", "triangle", "clockwise-triangle", "shifted-square", "one-vertex"],
)
def test_the_shoelace_area(x: list[float], y: list[float], expected: float) -> None:
    got = call(Polygon, np.array(x), np.array(y)).area()
    assert got == expected, (
        "Compute the shoelace area, 0.5 * |sum x[i] * y[i-1] - sum y[i] * x[i-1]|, with "
        "i - 1 wrapping around to the last vertex (`np.roll(v, 1)`) and the absolute "
        f"value for clockwise polygons (TODO(3)): x={x}, y={y} gave {got!r}, expected "
        f"{expected!r}."
    )


@pytest.mark.usefixtures("done")
def test_the_area_is_numpys_within_rounding() -> None:
    polygons, _ = workloads.distinct_areas(Polygon)
    baseline, _ = workloads.distinct_areas()
    for k, (mine, theirs) in enumerate(zip(polygons, baseline, strict=True)):
        expected = poly_match.polygon_area(theirs.x, theirs.y)
        # Within 1e-9, as workshop.checks: a shoelace sum cancels, so its rounding shows.
        assert mine.area() == pytest.approx(expected, rel=1e-9), (
            "Compute the shoelace area as numpy's `polygon_area` does (TODO(3)): polygon "
            f"{k}'s area is {mine.area()!r}, numpy's {expected!r}."
        )


@pytest.mark.usefixtures("done")
def test_runs_the_pipeline() -> None:
    polygons, points = poly_match_exercise3.generate_example()
    pairs = call(main, polygons, points)
    checks.assert_same_objects(pairs, points, polygons)
