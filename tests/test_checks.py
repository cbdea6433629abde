"""The answer checks must catch wrong answers, or every stage test is worthless."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import poly_match
from workshop import checks, workloads


@pytest.fixture(scope="module")
def canonical():
    polygons, points = poly_match.generate_example()
    result = poly_match.main(polygons, points)
    return polygons, points, result


def test_baseline_passes_both_checks(canonical):
    polygons, points, result = canonical
    got = checks.picks(result, polygons)
    checks.assert_identical_picks(got, got)
    checks.assert_valid_argmin(got, got, polygons)
    checks.assert_same_objects(result, points, polygons)


def test_a_copied_polygon_is_caught(canonical):
    polygons, _, result = canonical
    forged = [(point, copy.copy(poly)) for point, poly in result]
    with pytest.raises(AssertionError, match="not one of the input objects"):
        checks.picks(forged, polygons)


def test_a_copied_point_is_caught(canonical):
    polygons, points, result = canonical
    forged = [(point.copy(), poly) for point, poly in result]
    with pytest.raises(AssertionError, match="copy"):
        checks.assert_same_objects(forged, points, polygons)


def test_a_far_polygon_is_caught(canonical):
    polygons, _, result = canonical
    got = checks.picks(result, polygons)
    centers = np.array([p.center for p in polygons])
    point = np.array(got[0][0])
    far = int(np.argmax(np.linalg.norm(centers - point, axis=1)))
    wrong = [(got[0][0], far), *got[1:]]
    with pytest.raises(AssertionError, match="away"):
        checks.assert_valid_argmin(wrong, got, polygons)
    with pytest.raises(AssertionError, match="baseline picks"):
        checks.assert_identical_picks(wrong, got)


def test_a_larger_area_is_caught():
    polygons, points = workloads.distinct_areas()
    got = checks.picks(poly_match.main(polygons, points), polygons)
    centers = np.array([p.center for p in polygons])
    areas = np.array([p.area() for p in polygons])
    for k, (point, best) in enumerate(got):
        close = np.flatnonzero(np.linalg.norm(centers - np.array(point), axis=1) < 10.0)
        others = [i for i in close if areas[i] > areas[best] * (1 + 1e-6)]
        if others:
            wrong = [*got[:k], (point, others[0]), *got[k + 1 :]]
            with pytest.raises(AssertionError, match="least close one"):
                checks.assert_valid_argmin(wrong, got, polygons)
            return
    pytest.fail("the distinct workload should have a point with two close polygons")


def test_a_missing_or_reordered_point_is_caught(canonical):
    polygons, _, result = canonical
    got = checks.picks(result, polygons)
    with pytest.raises(AssertionError, match="pairs"):
        checks.assert_identical_picks(got[1:], got)
    with pytest.raises(AssertionError, match="order"):
        checks.assert_valid_argmin(got[::-1], got, polygons)
