"""Stage 3: the whole selector in Rust, against the baseline; bad input; threads; scale."""

from __future__ import annotations

import itertools
import math
import sys
import threading
import time

import numpy as np
import poly_match_stage3
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from poly_match_stage3 import Polygon, main

import poly_match
from workshop import checks, stages, workloads

STAGE = stages.get("stage3")


def same_bits(a: object, b: object) -> bool:
    """Equal to the last bit (``==`` would call -0.0 and 0.0 equal)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def baseline_and_ours(polygon_args: list[tuple[np.ndarray, np.ndarray]]):
    """The same polygons built twice: with the baseline's class and with ours."""
    baseline = [poly_match.Polygon(x, y) for x, y in polygon_args]
    ours = [Polygon(x, y) for x, y in polygon_args]
    return baseline, ours


def assert_identical_to_baseline(polygon_args, points, max_dist: float) -> None:
    baseline, ours = baseline_and_ours(polygon_args)
    expected = checks.picks(poly_match.main(baseline, points, max_dist), baseline)
    result = main(ours, points, max_dist)
    checks.assert_same_objects(result, points, ours)
    checks.assert_identical_picks(checks.picks(result, ours), expected)


# --- the module ------------------------------------------------------------------------


def test_the_module_exports_the_rust_functions() -> None:
    assert poly_match_stage3.main is poly_match_stage3._core.main
    assert poly_match_stage3.Polygon is poly_match_stage3._core.Polygon
    polygons, points = poly_match_stage3.generate_example(n_polygons=5, n_points=3)
    assert all(type(poly) is Polygon for poly in polygons) and len(points) == 3


# --- the answers -----------------------------------------------------------------------


def test_canonical_is_a_valid_argmin() -> None:
    assert STAGE.answers == "argmin"
    assert checks.check_stage(STAGE, workload="canonical") > 0


def test_distinct_areas_are_identical() -> None:
    assert checks.check_stage(STAGE, workload="distinct") > 0


@pytest.mark.parametrize("max_dist", [math.inf, 1e300, 35.5, 1e-9])
def test_other_max_dists_are_identical(max_dist: float) -> None:
    """Huge (one grid cell, every polygon close) and tiny (nothing close) max_dist."""
    checks.check_stage(STAGE, workload="distinct", max_dist=max_dist)


def test_canonical_centers_to_the_bit_and_areas_within_1e_9() -> None:
    """Centers are numpy's exactly (the `< max_dist` test depends on the last bit);
    areas may round differently from this machine's BLAS, within a relative 1e-9."""
    baseline, _ = workloads.canonical()
    polygons, _ = workloads.canonical(Polygon)
    for ours, theirs in zip(polygons, baseline, strict=True):
        assert same_bits(ours.center, theirs.center)
        assert ours.area() == pytest.approx(theirs.area(), rel=1e-9, abs=0.0)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 16, 17, 127, 128, 129, 257, 1000])
def test_centers_of_any_length_are_the_baselines_to_the_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * 100 + rng.uniform(-1e4, 1e4)
    y = rng.normal(size=n) * 100
    assert same_bits(Polygon(x, y).center, poly_match.Polygon(x, y).center)
    assert Polygon(x, y).area() == pytest.approx(poly_match.polygon_area(x, y), rel=1e-9)


@st.composite
def star_polygons(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random star-shaped polygons with continuous sizes, around a 60 x 60 square."""
    polygons = []
    for _ in range(draw(st.integers(1, 25))):
        k = draw(st.integers(3, 9))
        angles = np.sort(draw(st.lists(st.floats(0, 2 * np.pi), min_size=k, max_size=k)))
        radius = draw(st.floats(0.05, 4.0)) * np.array(
            draw(st.lists(st.floats(0.5, 1.0), min_size=k, max_size=k))
        )
        cx, cy = draw(st.floats(0, 60)), draw(st.floats(0, 60))
        polygons.append((cx + radius * np.cos(angles), cy + radius * np.sin(angles)))
    return polygons


POINTS = st.lists(
    st.tuples(st.floats(-10, 70), st.floats(-10, 70)).map(np.array), min_size=0, max_size=20
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(polygon_args=star_polygons(), points=POINTS, max_dist=st.sampled_from([2.0, 10.0, 25.0]))
def test_random_workloads_with_distinct_areas_are_identical(polygon_args, points, max_dist):
    areas = sorted(poly_match.polygon_area(x, y) for x, y in polygon_args)
    # Two areas within 1e-9 may be ordered either way by different arithmetic.
    assume(all(b > a * (1 + 1e-9) for a, b in itertools.pairwise(areas)))
    assert_identical_to_baseline(polygon_args, points, max_dist)


@st.composite
def lattice_rectangles(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    """Integer rectangles: exact centers (halves), exact areas (ties), and many
    points exactly max_dist away, so the strict `<` and "first wins" both matter."""
    polygons = []
    for _ in range(draw(st.integers(1, 30))):
        x0, y0 = draw(st.integers(0, 30)), draw(st.integers(0, 30))
        w, h = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        polygons.append((np.array([x0, x0 + w, x0 + w, x0]), np.array([y0, y0, y0 + h, y0 + h])))
    return polygons


LATTICE_POINTS = st.lists(
    st.tuples(st.integers(-5, 35), st.integers(-5, 35)).map(lambda p: np.array(p, dtype=float)),
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(
    polygon_args=lattice_rectangles(),
    points=LATTICE_POINTS,
    max_dist=st.sampled_from([1.0, 2.5, 5.0, 10.0]),
)
def test_ties_and_boundaries_on_a_lattice_are_identical(polygon_args, points, max_dist):
    assert_identical_to_baseline(polygon_args, points, max_dist)


def test_points_as_an_n_by_2_array() -> None:
    """Same picks as the list; each pair holds the row `points[i]` (a view)."""
    polygons, point_list = workloads.distinct_areas(Polygon)
    array = np.array(point_list)
    from_list = checks.picks(main(polygons, point_list), polygons)
    result = main(polygons, array)
    assert checks.picks(result, polygons) == from_list
    for point, _ in result:
        assert point.base is array and point.shape == (2,)
    # Other real dtypes and a strided view are converted, not refused.
    ints = np.arange(40).reshape(20, 2) * 3
    assert checks.picks(main(polygons, ints), polygons) == checks.picks(
        main(polygons, ints.astype(float)), polygons
    )
    wide = np.zeros((len(point_list), 4))
    wide[:, ::2] = array
    assert checks.picks(main(polygons, wide[:, ::2]), polygons) == from_list


def test_points_may_be_tuples_lists_or_int_arrays() -> None:
    polygons, point_list = workloads.distinct_areas(Polygon)
    expected = checks.picks(main(polygons, point_list), polygons)
    as_tuples = [tuple(p) for p in point_list]
    result = main(polygons, as_tuples)
    assert checks.picks(result, polygons) == expected
    checks.assert_same_objects(result, as_tuples, polygons)


def test_polygons_may_be_any_iterable_and_subclasses() -> None:
    class Tagged(Polygon):
        pass

    args = [(np.array([0.0, 2.0, 2.0]), np.array([0.0, 0.0, 2.0 + i])) for i in range(5)]
    tagged = [Tagged(x, y) for x, y in args]
    points = [np.array([1.0, 1.0])]
    result = main(tuple(tagged), points)
    assert result[0][1] is tagged[0]
    assert main(iter(tagged), points)[0][1] is tagged[0]
    assert_identical_to_baseline(args, points, 10.0)


def test_empty_inputs_and_nan_points() -> None:
    polygons, points = workloads.distinct_areas(Polygon)
    assert main([], points) == []
    assert main(polygons, []) == []
    assert main(polygons, np.empty((0, 2))) == []
    nan_points = [np.array([np.nan, 1.0]), np.array([np.inf, 0.0]), points[0]]
    expected = poly_match.main(workloads.distinct_areas()[0], nan_points)
    assert len(main(polygons, nan_points)) == len(expected)


# --- the Polygon -------------------------------------------------------------------------


def test_polygon_getters_area_and_repr() -> None:
    poly = Polygon(np.array([0.0, 1.0, 1.0, 0.0]), [0, 0, 1, 1])
    assert poly.area() == 1.0
    assert same_bits(poly.center, np.array([0.5, 0.5]))
    assert same_bits(poly.y, np.array([0.0, 0.0, 1.0, 1.0]))
    poly.x[0] = 99.0  # a copy: the polygon does not move
    assert poly.x[0] == 0.0
    assert repr(poly).startswith("Polygon(x=array([0., 1., 1., 0.]), y=array(")


@pytest.mark.parametrize(
    "x",
    [
        np.array([0, 4, 0]),
        np.array([0, 4, 0], dtype=np.float32),
        [0, 4, 0],
        (0.0, 4.0, 0.0),
        np.array([0.0, 9.0, 4.0, 9.0, 0.0])[::2],
    ],
)
def test_polygon_converts_real_sequences(x) -> None:
    poly = Polygon(x, np.array([0.0, 0.0, 3.0]))
    assert poly.area() == 6.0 and poly.x.dtype == np.float64


def test_polygon_is_frozen() -> None:
    poly = Polygon([0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    with pytest.raises(AttributeError):
        poly.x = np.array([5.0, 6.0, 7.0])


@pytest.mark.parametrize(
    ("x", "y", "error", "name"),
    [
        ([0.0, 1.0], [0.0, 1.0, 2.0], ValueError, "same length"),
        ([], [], ValueError, "x is empty"),
        (np.zeros((2, 3)), [0.0, 1.0, 2.0], ValueError, "x must be 1-D"),
        ([0.0, 1.0], ["a", "b"], TypeError, "y must be"),
        (None, [0.0], TypeError, "x must be .* not None"),
        ([1j, 2j], [0.0, 1.0], TypeError, "x must be"),
    ],
)
def test_bad_polygon_input_names_the_argument(x, y, error, name) -> None:
    with pytest.raises(error, match=name):
        Polygon(x, y)


# --- bad input to main -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    return workloads.distinct_areas(Polygon, n_polygons=20, n_points=5)


def test_a_non_polygon_is_a_type_error_naming_its_index(small) -> None:
    polygons, points = small
    with pytest.raises(TypeError, match=r"polygons\[3\] .* got int"):
        main([*polygons[:3], 7, *polygons[3:]], points)
    baseline_polygon = poly_match.Polygon(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match=r"polygons\[0\] .* got poly_match.Polygon"):
        main([baseline_polygon], points)
    with pytest.raises(TypeError, match="polygons must be"):
        main(5, points)


@pytest.mark.parametrize(
    ("points", "error", "name"),
    [
        (np.array([1.0, 2.0]), ValueError, r"points must be .* shape \(2,\)"),
        (np.zeros((4, 3)), ValueError, r"points must be .* shape \(4, 3\)"),
        (np.zeros((2, 2, 2)), ValueError, "points must be"),
        (np.array([["a", "b"]]), TypeError, "points must be"),
        ([np.array([1.0, 2.0, 3.0])], ValueError, r"points\[0\] must be a point"),
        ([np.array([1.0, 2.0]), 5.0], ValueError, r"points\[1\] must be a point"),
        ([np.array([1.0, 2.0]), ("a", "b")], TypeError, r"points\[1\]"),
        ([None], TypeError, r"points\[0\]"),
        (7, TypeError, "points must be"),
    ],
)
def test_bad_points_name_the_argument(small, points, error, name) -> None:
    with pytest.raises(error, match=name):
        main(small[0], points)


@pytest.mark.parametrize(
    ("max_dist", "error"),
    [(0.0, ValueError), (-1.0, ValueError), (math.nan, ValueError), ("10", TypeError)],
)
def test_bad_max_dist(small, max_dist, error) -> None:
    # A non-number is PyO3's TypeError, which names the argument in a note
    # ("while processing 'max_dist'"); pytest matches notes too.
    with pytest.raises(error, match="max_dist"):
        main(small[0], small[1], max_dist)


# --- threads and scale ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def large():
    """20k polygons x 2k points: above the size where main releases the GIL."""
    return poly_match_stage3.generate_example(n_polygons=20_000, n_points=2_000, seed=3)


def brute_force_picks(polygons, points, max_dist: float = 10.0) -> list[checks.Pick]:
    """The baseline's rule, vectorised with numpy over the stage's own centers and areas:
    `sqrt(dx*dx + dy*dy) < max_dist`, then the first least area."""
    centers = np.array([p.center for p in polygons])
    areas = np.array([p.area() for p in polygons])
    out = []
    for start in range(0, len(points), 200):
        chunk = np.array(points[start : start + 200])
        d = centers[None, :, :] - chunk[:, None, :]
        close = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) < max_dist
        masked = np.where(close, areas[None, :], np.inf)
        best = masked.argmin(axis=1)
        for point, row, idx in zip(chunk, close, best, strict=True):
            if row.any():
                out.append((tuple(float(v) for v in point), int(idx)))
    return out


def test_large_workload_agrees_with_a_brute_force_reference(large) -> None:
    polygons, points = large
    result = main(polygons, points)
    assert len(result) > len(points) // 2
    checks.assert_same_objects(result, points, polygons)
    assert checks.picks(result, polygons) == brute_force_picks(polygons, points)


@pytest.mark.parametrize("size", ["canonical", "large"])
def test_threads_agree_with_one_thread(size, large) -> None:
    polygons, points = large if size == "large" else poly_match_stage3.generate_example()
    expected = checks.picks(main(polygons, points), polygons)
    results: list[object] = [None] * 8
    barrier = threading.Barrier(4)

    def work(slot: int) -> None:
        barrier.wait()
        for k in range(slot, len(results), 4):
            results[k] = checks.picks(main(polygons, points), polygons)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)


def test_the_gil_is_released_on_large_inputs(large) -> None:
    """Another thread gets the GIL while main runs on a large input.

    With a 1 s switch interval the main thread would keep the GIL through these
    calls (well under 1 s) unless main hands it over itself.
    """
    polygons, points = large
    wakeups = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal wakeups
        while not done.is_set():
            wakeups += 1
            time.sleep(0.0002)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    ticker = threading.Thread(target=tick)
    try:
        ticker.start()
        before = wakeups
        for _ in range(3):
            main(polygons, points)
        during = wakeups - before
    finally:
        done.set()
        ticker.join()
        sys.setswitchinterval(interval)
    assert during > 0
