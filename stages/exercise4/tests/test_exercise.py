"""Is your ``select`` the plain loop's answer, without testing every pair? Run by
``make check-exercise STAGE=4``.

The picks are checked against stage 3's plain loop (``exercises.plain_picks``, the same
rules in numpy) on layouts made to break a search: clusters, far outliers, a lattice
where distances are exactly ``max_dist`` and points sit on cell edges, NaN and infinite
centers and points, duplicates, ties, huge coordinates, huge and tiny ``max_dist``. Each
layout runs in a child process with capped memory and time, so a search that asks for
every cell between two far centers fails its check instead of the machine. The cost is
checked by counting, not timing: ``squared_distance`` counts the distance tests, and a
search that tests every pair of 20,000 polygons x 1,000 points fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from workshop import checks, exercises

poly_match_exercise4 = exercises.built(4)
Polygon = poly_match_exercise4.Polygon
main = poly_match_exercise4.main
distance_tests = poly_match_exercise4.distance_tests

EXERCISE = exercises.stage(4, answers="argmin")
ORIGIN = np.array([0.0, 0.0])
NAN, INF = float("nan"), float("inf")

call = exercises.caller(
    "index only where the index exists (`sites[b]`, a cell's list), and keep every "
    "cell index in range: `as i64` saturates at the ends, `+ 1` there overflows."
)


def attempt() -> object:
    """The call that raises the starter's NotImplementedError until the TODOs are done."""
    return main([dot(1.0, 1.0)], [ORIGIN], 10.0)


done = exercises.done_fixture(attempt)


def dot(x: float, y: float) -> Polygon:
    """A one-vertex polygon: its center is exactly ``(x, y)``, its area 0."""
    return Polygon(np.array([x]), np.array([y]))


def square(x: float, y: float, size: float) -> Polygon:
    """A square centered exactly on ``(x, y)``, of side ``2 * size``."""
    return Polygon(
        np.array([x - size, x + size, x + size, x - size]),
        np.array([y - size] * 2 + [y + size] * 2),
    )


def picked(polygons: list[Polygon], points: list[np.ndarray], max_dist: float = 10.0) -> list:
    """``[(point index, polygon index)]`` of ``main``'s pairs."""
    pairs = call(main, polygons, points, max_dist)
    point_index = {id(p): k for k, p in enumerate(points)}
    polygon_index = {id(p): i for i, p in enumerate(polygons)}
    return [(point_index[id(p)], polygon_index[id(q)]) for p, q in pairs]


# --- the layouts, each searched in a child process ------------------------------------


@dataclass(frozen=True)
class Layout:
    """``build()`` gives ``(polygons, points, max_dist)``; ``about`` says what it is and
    ``first`` what to change first when the picks differ from the plain loop's."""

    build: Callable[[], tuple[list[Any], list[Any], float]]
    about: str
    first: str

    def make(self) -> tuple[list[Any], list[Any], float]:
        """``build()``, quietly: numpy's area of a polygon at inf or 1e300 warns."""
        with np.errstate(all="ignore"):
            return self.build()


def rng() -> np.random.Generator:
    return np.random.default_rng(4)


def points_of(coords: Any) -> list[np.ndarray]:
    return [np.array(p, dtype=np.float64) for p in coords]


def clusters() -> tuple[list[Any], list[Any], float]:
    r = rng()
    tight = [
        square(x, y, 0.1 * k)
        for (x, y), k in zip(r.uniform(0, 1, (400, 2)), r.integers(1, 4, 400), strict=True)
    ]
    far = [square(1e9 + x, 5 + y, 1.0) for x, y in r.uniform(0, 50, (300, 2))]
    town = [square(-3000 + x, 700 + y, r.uniform(0.5, 2)) for x, y in r.uniform(0, 100, (200, 2))]
    angles = r.uniform(0, 2 * np.pi, 100)
    around = np.column_stack([0.5 + 11 * np.cos(angles), 0.5 + 11 * np.sin(angles)])
    points = [
        *r.uniform(0, 1, (50, 2)),
        *around,
        *(r.uniform(-10, 60, (60, 2)) + np.array([1e9, 5.0])),
        *(r.uniform(-10, 110, (60, 2)) + np.array([-3000.0, 700.0])),
    ]
    return tight + far + town, points_of(points), 10.0


def far_outliers() -> tuple[list[Any], list[Any], float]:
    polygons, points = poly_match_exercise4.generate_example()
    polygons = [*polygons, square(1e12, 50.0, 1.0), square(0.0, 1e15, 1.0), dot(-1e12, -1e12)]
    points = [*points, np.array([1e12 + 1.0, 50.0]), np.array([-1e12, 0.0]), np.array([3.0, 1e15])]
    return polygons, points, 10.0


def lattice(max_dist: float) -> Callable[[], tuple[list[Any], list[Any], float]]:
    def build() -> tuple[list[Any], list[Any], float]:
        grid = [(float(x), float(y)) for y in range(-12, 13) for x in range(-12, 13)]
        polygons = [square(x, y, 0.1 * (1 + (7 * k) % 4)) for k, (x, y) in enumerate(grid)]
        steps = np.arange(-10.0, 10.5, 2.5)
        return polygons, points_of([(x, y) for y in steps for x in steps]), max_dist

    return build


def nan_inf() -> tuple[list[Any], list[Any], float]:
    polygons = [
        Polygon(np.array([NAN, 1.0]), np.array([1.0, 1.0])),  # center (NaN, 1)
        Polygon(np.array([INF, 0.0]), np.array([0.0, 0.0])),  # center (inf, 0)
        Polygon(np.array([INF, -INF]), np.array([2.0, 2.0])),  # center (NaN, 2)
        dot(-INF, -INF),
        Polygon(np.array([0.0, 1.0]), np.array([NAN, 1.0])),  # center (0.5, NaN)
        square(30.0, 0.0, 1.0),
        square(4.0, 3.0, 2.0),
    ]
    coords = [(1.0, 1.0), (0.0, 0.0), (25.0, 0.0), (NAN, NAN), (NAN, 0.0), (INF, 0.0)]
    coords += [(-INF, -INF), (0.0, INF), (5.0, NAN), (INF, INF)]
    return polygons, points_of(coords), 10.0


def duplicates() -> tuple[list[Any], list[Any], float]:
    polygons = [square(3.0, 4.0, 1.0 + k % 2) for k in range(40)]
    polygons += [square(13.0, 4.0, 1.0) for _ in range(40)]
    coords = [(3.0, 4.0), (-7.0, 4.0), (8.0, 4.0), (3.0, -6.0), (23.0, 4.0), (13.0, 14.0)]
    coords += list(rng().uniform(-10, 25, (40, 2)))
    return polygons, points_of(coords), 10.0


def ties() -> tuple[list[Any], list[Any], float]:
    r = rng()
    polygons = [dot(x, y) for x, y in r.uniform(0, 200, (2000, 2))]
    return polygons, points_of(r.uniform(0, 200, (300, 2))), 10.0


def huge() -> tuple[list[Any], list[Any], float]:
    big = [1e300, -1e300, 1e200, 9.3e19, -9.3e19, 1e20, 1.7976931348623157e308]
    coords = [(x, y) for x in big for y in (0.0, x)] + [(-1.7976931348623157e308, 1e300)]
    polygons = [dot(x, y) for x, y in coords] + [square(1.0, 1.0, 1.0)]
    points = coords + [(x + 5.0, y) for x, y in coords] + [(0.0, 0.0), (9.3e19 - 8192, 0.0)]
    return polygons, points_of(points), 10.0


def canonical(max_dist: float) -> Callable[[], tuple[list[Any], list[Any], float]]:
    def build() -> tuple[list[Any], list[Any], float]:
        polygons, points = poly_match_exercise4.generate_example()
        return polygons, points, max_dist

    return build


def tiny(max_dist: float) -> Callable[[], tuple[list[Any], list[Any], float]]:
    def build() -> tuple[list[Any], list[Any], float]:
        offsets = [0.0, 1e-163, -1.2e-162, 1.5e-162, 1.7e-162, 1e-161, 1e-150, 1e-300]
        polygons = [dot(x, 0.0) for x in offsets[::-1]] + [dot(0.0, y) for y in offsets]
        points = [(x, y) for x in offsets for y in (0.0, 1e-163, 1e-155)]
        return polygons, points_of(points), max_dist

    return build


def large() -> tuple[list[Any], list[Any], float]:
    polygons, points = poly_match_exercise4.generate_example(n_polygons=20_000, n_points=1000)
    return polygons, points, 10.0


# What to change first when the search crashes or hangs, on any layout.
FAR = (
    "A far center or point must cost nothing: key the cells by their index (a HashMap), "
    "not a dense array of every cell between the nearest and the farthest center."
)
GENERIC = (
    "Look at every cell a close center can be in: cells at least max_dist wide and the "
    "3 x 3 around the point's, or a wider range for smaller cells."
)
LAYOUTS = {
    "clusters": Layout(clusters, "a 1 x 1 cluster of 400, a town 1e9 away, another", GENERIC),
    "far_outliers": Layout(
        far_outliers,
        "the canonical workload, a polygon at x = 1e12 and one at y = 1e15, far points",
        FAR,
    ),
    **{
        f"lattice_{m:g}": Layout(
            lattice(m),
            f"integer centers, points every 2.5 (on cell edges), max_dist {m:g}: many "
            "centers exactly max_dist away",
            "Compare with `t = squared_threshold(max_dist)`, strictly: "
            "`squared_distance(center, point) < t`; and look at every cell within max_dist "
            "of the point: here points sit on cell edges, and many centers are exactly "
            "max_dist away or an ulp off it.",
        )
        for m in (1.0, 2.5, 5.0, 10.0)
    },
    "nan_inf": Layout(
        nan_inf,
        "centers and points with NaN and infinite coordinates beside ordinary ones",
        "Call a center close only when `squared_distance(center, point) < t`, false for "
        "NaN: `as i64` puts NaN in cell 0 and +-inf in the end cells, next to real "
        "centers, so `!(d2 >= t)` or skipping the test keeps them.",
    ),
    "duplicates": Layout(
        duplicates,
        "40 polygons on one center, 40 on another, points exactly max_dist from them",
        "Keep the least (area, index) of the close ones: among identical centers and equal "
        "areas the lowest index, as the plain loop's first one.",
    ),
    "ties": Layout(
        ties,
        "2,000 one-vertex polygons (all of area 0) and 300 points",
        "On a tie of areas keep the lowest index, whatever order your cells come in: the "
        "least `(area, index)`, not the first or the last one you meet.",
    ),
    "huge": Layout(
        huge,
        "centers and points at 1e300, 9.3e19, f64::MAX ...",
        "Keep the cell index in range at the ends: `as i64` saturates at i64::MAX (and "
        "MIN) for huge coordinates, and `+ 1` there wraps to i64::MIN in a release build "
        "(use `saturating_add` / `saturating_sub`).",
    ),
    "max_dist_1e300": Layout(
        canonical(1e300),
        "the canonical workload, max_dist 1e300: every pair is close",
        "With a huge max_dist every center is close to every point: they all land in the "
        "cells around each point, and the least (area, index) wins.",
    ),
    "max_dist_inf": Layout(
        canonical(INF),
        "the canonical workload, max_dist inf: every pair is close",
        "With max_dist inf every center is close to every point: a cell inf wide puts "
        "every finite center in cell 0 (x / inf is 0).",
    ),
    "max_dist_1e-300": Layout(
        tiny(1e-300),
        "centers 1e-163 to 1e-150 apart, max_dist 1e-300",
        "Make the cells at least about 1e-150 wide: below that a squared distance rounds "
        "to 0, and `0 < t`: the plain loop calls centers up to ~1.5e-162 apart close, "
        "far more than max_dist = 1e-300.",
    ),
    "max_dist_5e-324": Layout(
        tiny(5e-324),
        "the same, max_dist 5e-324 (the smallest double)",
        "Make the cells at least about 1e-150 wide: below that a squared distance rounds "
        "to 0, and `0 < t` calls far centers close.",
    ),
    "max_dist_0": Layout(
        canonical(0.0),
        "the canonical workload, max_dist 0: nothing is close",
        "With max_dist 0 nothing is close (`t` is 0): no pairs, and no cell size of 0 to "
        "divide by.",
    ),
    "max_dist_nan": Layout(
        canonical(NAN),
        "the canonical workload, max_dist NaN: nothing is close",
        "With max_dist NaN nothing is close (`t` is 0): no pairs, and no cell size of NaN "
        "to divide by.",
    ),
    "large": Layout(large, "20,000 polygons x 1,000 points, the canonical density", GENERIC),
}


def describe(polygons: list[Any], i: int) -> str:
    if i < 0:
        return "none"
    center = ", ".join(f"{v:.17g}" for v in np.asarray(polygons[i].center))
    return f"polygon #{i} (center ({center}), area {polygons[i].area():.6g})"


def differ(
    got: list[list[int]], expected: list[tuple[int, int]], polygons: list[Any], points: list[Any]
) -> str | None:
    """None if the picks agree, else the first difference (a few lines)."""
    mine = {p: i for p, i in got}
    theirs = dict(expected)
    if [p for p, _ in got] == [p for p, _ in expected] and mine == theirs:
        return None
    if [p for p, _ in got] != sorted(p for p, _ in got) or len(mine) != len(got):
        return "Your pairs are not one per point in the points' order."
    wrong = [p for p in sorted(set(mine) | set(theirs)) if mine.get(p, -1) != theirs.get(p, -1)]
    p = wrong[0]
    where = ", ".join(f"{v:.17g}" for v in np.asarray(points[p]))
    return (
        f"{len(wrong)} of {len(points)} points differ. The first, point #{p} ({where}):\n"
        f"  yours:      {describe(polygons, mine.get(p, -1))}\n"
        f"  plain loop: {describe(polygons, theirs.get(p, -1))}"
    )


def searched(name: str) -> dict[str, Any]:
    """Layout ``name`` searched in a child process (``exercises.run_apart``)."""
    return exercises.run_apart(__file__, name)


def fail_if_it_went_wrong(name: str, result: dict[str, Any]) -> None:
    """Fail if the search raised, panicked, ran out of memory or of time on layout
    ``name``: out of memory or time, whatever the layout, the far centers' advice first."""
    if "error" in result:
        layout = LAYOUTS[name]
        first = FAR if result.get("kind") in ("killed", "hung") else layout.first
        pytest.fail(
            f"{first}\nOn the {name} layout ({layout.about}): {result['error']}", pytrace=False
        )


def test_the_todos_are_done() -> None:
    exercises.fail_if_not_done(attempt, 4)


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_same_picks_as_the_baseline(workload: str) -> None:
    exercises.same_picks(
        call,
        EXERCISE,
        workload,
        "Give each point with a close polygon one pair, in the points' order: the close "
        "polygon of least area, the first on a tie, from every cell a close center can be "
        "in (TODO(1)).",
    )


@pytest.mark.usefixtures("done")
def test_strictly_closer_than_max_dist() -> None:
    # The one-vertex polygon on the circle has area 0: if it counted as close, it would win.
    assert picked([dot(*exercises.ON_THE_CIRCLE), square(3.0, 0.0, 1.0)], [ORIGIN]) == [(0, 1)], (
        "Compare with a strict `<`, not `<=` (TODO(1)): a center exactly max_dist away, "
        "(6, 8) from (0, 0), is not close for the baseline, `norm(center - point) < max_dist`."
    )


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(
    ("center", "why"), exercises.boundary(", and `d2 <= t` keeps it too ({d2!r} is t itself)")[:1]
)
def test_the_threshold_is_exact_at_the_boundary(center: tuple[float, float], why: str) -> None:
    # The polygon on the boundary has area 0: if it counted as close, it would win.
    assert picked([dot(*center), square(3.0, 0.0, 1.0)], [ORIGIN]) == [(0, 1)], (
        exercises.kept_on_the_boundary(
            "Compare the squared distance with `t = squared_threshold(max_dist)`, strictly: "
            "`squared_distance(center, point) < t` (TODO(1)).",
            center,
            why,
        )
    )


# Each point has two close polygons of the same area, a lower index on one side and a
# higher on the other (and a larger one nearer): any order of visiting cells meets the
# higher index first for some of them. The last point's pair share one center (one cell).
TIES = [((-5.0, 0.0), (5.0, 0.0)), ((5.0, 0.0), (-5.0, 0.0)), ((0.0, -5.0), (0.0, 5.0))]
TIES += [((0.0, 5.0), (0.0, -5.0)), ((-6.0, -6.0), (6.0, 6.0)), ((6.0, 6.0), (-6.0, -6.0))]
TIES += [((1.0, 1.0), (1.0, 1.0))]


@pytest.mark.usefixtures("done")
def test_least_area_and_the_lowest_index_on_a_tie() -> None:
    polygons, points, expected = [], [], []
    for k, (low, high) in enumerate(TIES * 3):
        at = np.array([100.0 * k, 37.0 * (k % 5)])
        polygons += [square(at[0] + 2.0, at[1], 2.0), square(*(at + low), 1.0)]
        polygons.append(square(*(at + high), 1.0))
        points.append(at)
        expected.append((k, len(polygons) - 2))
    assert picked(polygons, points) == expected, (
        "Keep the least `(area, index)` of the close polygons (TODO(1)): of the close ones "
        "the least area wins, and on a tie the lowest index, as the plain loop's first one, "
        "whatever order your cells and their lists come in (not the first or the last "
        "one you meet)."
    )


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize("name", [name for name in LAYOUTS if name != "large"])
def test_same_picks_as_the_plain_loop(name: str) -> None:
    layout = LAYOUTS[name]
    result = searched(name)
    fail_if_it_went_wrong(name, result)
    polygons, points, max_dist = layout.make()
    expected = exercises.plain_picks(polygons, points, max_dist)
    wrong = differ(result["picks"], expected, polygons, points)
    assert wrong is None, (
        f"{layout.first} (TODO(1))\nOn the {name} layout ({layout.about}):\n{wrong}"
    )


@pytest.mark.usefixtures("done")
def test_not_every_pair_is_tested() -> None:
    result = searched("large")
    fail_if_it_went_wrong("large", result)
    tests, pairs = result["tests"], 20_000 * 1000
    assert tests > 0, (
        "Test each candidate with `squared_distance(center, point) < t` (TODO(2)): it "
        "counts the tests, and your search made none, so the check cannot see what it costs."
    )
    assert tests <= pairs // 20, (
        f"Test only the polygons that can be close to a point, not all of them (TODO(2)): "
        f"on 20,000 polygons x 1,000 points your search made {tests:,} distance tests, "
        f"{tests / pairs:.0%} of the {pairs:,} pairs; a grid of cells max_dist wide makes "
        "about 90,000 here (the 3 x 3 cells around each point). The budget is a twentieth "
        "of the pairs: counted, not timed."
    )


@pytest.mark.usefixtures("done")
def test_runs_the_pipeline() -> None:
    polygons, points = poly_match_exercise4.generate_example()
    pairs = call(main, polygons, points)
    checks.assert_same_objects(pairs, points, polygons)
