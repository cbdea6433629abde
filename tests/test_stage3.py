"""Stage 3: the whole selector in Rust (the plain double loop), against the baseline; bad input.

The grid, the GIL, threads and large inputs are stage 4's: tests/test_stage4.py."""

from __future__ import annotations

import itertools
import math

import helpers
import numpy as np
import poly_match_stage3
import pytest
from helpers import LATTICE_POINTS, POINTS, lattice_rectangles, same_bits, star_polygons
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from poly_match_stage3 import Polygon, main

import poly_match
from workshop import checks, stages, workloads

STAGE = stages.get("stage3")


def assert_identical_to_baseline(polygon_args, points, max_dist: float) -> None:
    helpers.assert_identical_to_baseline(poly_match_stage3, polygon_args, points, max_dist)


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
    """Huge (every polygon close) and tiny (nothing close) max_dist."""
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
    # Within 1e-9 of the terms the shoelace sums, not of the area: for n = 2 the area is
    # 0 exactly, and numpy's dot leaves a rounding residue (5.8e-11 for n = 2 here).
    scale = np.abs(x * np.roll(y, 1)).sum() + np.abs(y * np.roll(x, 1)).sum()
    expected = poly_match.polygon_area(x, y)
    assert Polygon(x, y).area() == pytest.approx(expected, rel=1e-9, abs=1e-15 * scale)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(polygon_args=star_polygons(), points=POINTS, max_dist=st.sampled_from([2.0, 10.0, 25.0]))
def test_random_workloads_with_distinct_areas_are_identical(polygon_args, points, max_dist):
    areas = sorted(poly_match.polygon_area(x, y) for x, y in polygon_args)
    # Two areas within 1e-9 may be ordered either way by different arithmetic.
    assume(all(b > a * (1 + 1e-9) for a, b in itertools.pairwise(areas)))
    assert_identical_to_baseline(polygon_args, points, max_dist)


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
    assert main(dict(enumerate(tagged)).values(), points)[0][1] is tagged[0]
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
    with pytest.raises(
        TypeError, match=r"polygons\[3\] must be a poly_match_stage3\._core\.Polygon, not int$"
    ):
        main([*polygons[:3], 7, *polygons[3:]], points)
    baseline_polygon = poly_match.Polygon(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match=r"polygons\[0\] .*, not poly_match\.Polygon$"):
        main([baseline_polygon], points)
    with pytest.raises(TypeError, match="polygons must be"):
        main(5, points)


@pytest.mark.parametrize(
    ("points", "error", "name"),
    [
        (np.array([1.0, 2.0]), ValueError, r"points\[0\] must be a point .* shape \(\)"),
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


@pytest.mark.parametrize("max_dist", [0.0, -1.0, math.nan, -math.inf])
def test_max_dist_nothing_can_be_closer_than_returns_the_baselines_empty_answer(
    small, max_dist
) -> None:
    baseline, points = workloads.distinct_areas(n_polygons=20, n_points=5)
    assert poly_match.main(baseline, points, max_dist) == []
    assert main(small[0], small[1], max_dist) == []


def test_max_dist_not_a_number_is_a_type_error(small) -> None:
    # PyO3's TypeError names the argument in a note ("while processing 'max_dist'");
    # pytest matches notes too.
    with pytest.raises(TypeError, match="max_dist"):
        main(small[0], small[1], "10")
