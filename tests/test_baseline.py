"""Stage 0, the reference every other stage is checked against."""

from __future__ import annotations

import numpy as np
import pytest

import poly_match
from workshop import checks, stages, workloads


def test_unit_square_area_and_center():
    square = poly_match.Polygon(np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0]))
    assert square.area() == pytest.approx(1.0)
    np.testing.assert_allclose(square.center, [0.5, 0.5])


def test_arc_polygon_area_and_center():
    arc = poly_match.generate_one_polygon()
    assert type(arc) is poly_match.Polygon
    assert arc.area() == pytest.approx(0.1082, abs=5e-5)
    np.testing.assert_allclose(arc.center, [0.45, 0.826], atol=5e-4)


def test_canonical_example_is_deterministic_and_has_100_pairs():
    polygons_a, points_a = poly_match.generate_example()
    polygons_b, points_b = poly_match.generate_example()
    assert len(polygons_a) == 1000 and len(points_a) == 100
    for p, q in zip(polygons_a, polygons_b, strict=True):
        np.testing.assert_array_equal(p.x, q.x)
        np.testing.assert_array_equal(p.y, q.y)
    np.testing.assert_array_equal(points_a, points_b)
    result = poly_match.main(polygons_a, points_a)
    assert len(result) == 100
    assert checks.picks(result, polygons_a) == checks.picks(
        poly_match.main(polygons_b, points_b), polygons_b
    )


def test_canonical_points_are_a_permutation_of_the_grid_diagonal():
    _, points = poly_match.generate_example()
    xs, ys = np.array(points).T
    np.testing.assert_array_equal(np.sort(xs), np.arange(100.0))
    np.testing.assert_array_equal(np.sort(ys), np.arange(100.0))


def test_canonical_areas_differ_only_by_rounding():
    # The trap documented in workshop.checks: one shape, translated, so "smallest" is rounding.
    polygons, _ = poly_match.generate_example()
    areas = np.array([p.area() for p in polygons])
    assert np.ptp(areas) < 1e-9 * areas.min()
    assert len(set(areas.tolist())) > 1


@pytest.mark.parametrize("n_polygons", [100, 10_000])
def test_other_sizes_keep_the_canonical_density(n_polygons):
    polygons, points = poly_match.generate_example(n_polygons=n_polygons, n_points=n_polygons // 10)
    centers = np.array([p.center for p in polygons])
    side = 100.0 * np.sqrt(n_polygons / 1000)
    density = n_polygons / side**2
    assert density == pytest.approx(0.1)
    assert centers.max() < side + 1.0 and centers.min() >= 0.0
    assert np.array(points).max() < side


def test_main_skips_points_without_a_close_polygon_and_keeps_point_order():
    square = [poly_match.Polygon(np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0]))]
    points = [np.array([0.0, 0.0]), np.array([50.0, 50.0]), np.array([3.0, 4.0])]
    result = poly_match.main(square, points)
    assert [p for p, _ in result] == [points[0], points[2]]
    assert all(poly is square[0] for _, poly in result)


def test_tie_goes_to_the_first_polygon():
    arc = poly_match.generate_one_polygon()
    twins = [poly_match.Polygon(arc.x.copy(), arc.y.copy()) for _ in range(3)]
    [(_, best)] = poly_match.main(twins, [np.array([0.0, 0.0])])
    assert best is twins[0]


def test_max_dist_is_a_strict_bound():
    square = [poly_match.Polygon(np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0]))]
    # The center (0.5, 0.5) is exactly 10 away from (6.5, 8.5): not close.
    assert poly_match.main(square, [np.array([6.5, 8.5])]) == []
    assert len(poly_match.main(square, [np.array([6.5, 8.5])], max_dist=10.000001)) == 1


@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_vectorized_rival_picks_are_identical(workload):
    assert checks.check_stage(stages.get("vectorized"), workload=workload) > 0


def test_distinct_workload_skips_some_points_and_has_distinct_areas():
    polygons, points = workloads.distinct_areas()
    areas = np.sort([p.area() for p in polygons])
    assert np.min(np.diff(areas) / areas[1:]) > 1e-9
    assert 0 < len(poly_match.main(polygons, points)) < len(points)
