"""Is a stage's answer the baseline's answer? Shared by the tests and the benchmark.

Two checks, because of a trap in the canonical data: every polygon there is the
same arc translated by integers, so the 1000 areas agree to ~2e-11 and the
baseline's "smallest" is decided by rounding inside numpy's dot.

- ``assert_identical_picks``: for stages that keep numpy's area (stages 1-2),
  and for every stage on workloads with clearly distinct areas.
- ``assert_valid_argmin``: for a stage that computes the area itself (stages 3-5):
  the same points in the same order, each pick within ``max_dist`` and with the
  least area up to a relative ``rel`` (1e-9).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import poly_match

Pick = tuple[tuple[float, ...], int]


def _point_key(point: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(point, dtype=np.float64).ravel())


def picks(result: Sequence[tuple[Any, Any]], polygons: Sequence[Any]) -> list[Pick]:
    """``[(point as a tuple, index of the picked polygon in polygons)]``.

    The polygon is looked up by identity: a stage must return the caller's objects.
    """
    index = {id(poly): i for i, poly in enumerate(polygons)}
    out = []
    for k, pair in enumerate(result):
        assert len(pair) == 2, f"result[{k}] is not a (point, polygon) pair: {pair!r}"
        point, poly = pair
        assert id(poly) in index, (
            f"result[{k}] holds a polygon that is not one of the input objects: {poly!r}"
        )
        out.append((_point_key(point), index[id(poly)]))
    return out


def index_picks(result: Any, points: Any) -> list[Pick]:
    """``picks`` of a columns stage's ``(point_index, polygon_index)``: two 1-D integer
    arrays of one length, the points' indices into ``points`` (their rows), rising."""
    assert isinstance(result, tuple) and len(result) == 2, (
        f"expected (point_index, polygon_index), got {type(result).__name__}"
    )
    point_index, polygon_index = (np.asarray(a) for a in result)
    for name, a in (("point_index", point_index), ("polygon_index", polygon_index)):
        assert a.ndim == 1 and a.dtype.kind in "iu", f"{name} is {a.dtype} {a.shape}"
    assert len(point_index) == len(polygon_index), "point_index and polygon_index differ in length"
    assert bool(np.all(np.diff(point_index) > 0)), "point_index is not rising"
    return [
        (_point_key(points[p]), int(i))
        for p, i in zip(point_index.tolist(), polygon_index.tolist(), strict=True)
    ]


def result_picks(result: Any, polygons: Any, points: Any) -> list[Pick]:
    """``picks`` of either form of stage: pairs of the caller's objects, or index arrays."""
    if isinstance(result, tuple):
        return index_picks(result, points)
    return picks(result, polygons)


def baseline_picks(
    workload: Callable[..., tuple[list[Any], list[Any]]], max_dist: float = 10.0, **kwargs: Any
) -> tuple[list[Pick], list[poly_match.Polygon], list[np.ndarray]]:
    """The baseline's picks on ``workload(poly_match.Polygon, **kwargs)`` (new lists each
    call; the baseline runs once per workload and process: a second of every bench)."""
    found, polygons, points = _baseline(workload, max_dist, tuple(sorted(kwargs.items())))
    return list(found), list(polygons), list(points)


@functools.cache
def _baseline(
    workload: Callable[..., tuple[list[Any], list[Any]]],
    max_dist: float,
    kwargs: tuple[tuple[str, Any], ...],
) -> tuple[list[Pick], list[poly_match.Polygon], list[np.ndarray]]:
    polygons, points = workload(poly_match.Polygon, **dict(kwargs))
    return picks(poly_match.main(polygons, points, max_dist), polygons), polygons, points


def assert_same_objects(
    result: Sequence[tuple[Any, Any]], points: Sequence[Any], polygons: Sequence[Any]
) -> None:
    """Every returned point and polygon is one of the caller's objects, not a copy."""
    point_ids = {id(p) for p in points}
    polygon_ids = {id(p) for p in polygons}
    for k, (point, poly) in enumerate(result):
        assert id(point) in point_ids, f"result[{k}][0] is a copy, not the caller's point"
        assert id(poly) in polygon_ids, f"result[{k}][1] is a copy, not the caller's polygon"


def assert_identical_picks(got: list[Pick], expected: list[Pick]) -> None:
    assert len(got) == len(expected), (
        f"{len(got)} (point, polygon) pairs, the baseline has {len(expected)}"
    )
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g[0] == e[0], f"pair {k}: point {g[0]}, the baseline has {e[0]}"
        assert g[1] == e[1], f"pair {k} (point {e[0]}): polygon #{g[1]}, the baseline picks #{e[1]}"


def assert_valid_argmin(
    got: list[Pick],
    expected: list[Pick],
    baseline_polygons: Sequence[poly_match.Polygon],
    max_dist: float = 10.0,
    rel: float = 1e-9,
) -> None:
    """Same points in the same order; each pick close and of least area within ``rel``.

    Distances and areas are the baseline's own, computed on ``baseline_polygons``
    (the same workload built with ``poly_match.Polygon``).
    """
    assert [g[0] for g in got] == [e[0] for e in expected], (
        "the points (or their order) differ from the baseline's"
    )
    centers = np.array([poly.center for poly in baseline_polygons])
    areas = np.array([poly.area() for poly in baseline_polygons])
    for k, (point, idx) in enumerate(got):
        dist = np.linalg.norm(centers - np.asarray(point), axis=1)
        close = dist < max_dist
        assert close[idx], f"pair {k}: polygon #{idx} is {dist[idx]:.6g} away (max {max_dist})"
        least = areas[close].min()
        assert areas[idx] <= least * (1.0 + rel), (
            f"pair {k}: polygon #{idx} has area {areas[idx]!r}, the least close one {least!r}"
        )


def check_stage(
    stage: Any, workload: str = "canonical", max_dist: float = 10.0, **kwargs: Any
) -> int:
    """Run ``stage`` (a ``workshop.stages.Stage``) once and check it against the baseline.

    On the canonical workload the stage's own rule applies (``stage.answers``); on
    any other workload the picks must be identical. Returns the number of pairs.
    Raises AssertionError on a wrong answer.
    """
    from workshop.workloads import WORKLOADS

    make = WORKLOADS[workload]
    expected, baseline_polygons, baseline_points = baseline_picks(make, max_dist, **kwargs)
    module = stage.load()
    if stage.form == "columns":
        # The baseline's polygons and points as arrays: polygon i is the baseline's i.
        polygons = module.vertex_columns(baseline_polygons)
        points = np.array(baseline_points, dtype=np.float64).reshape(-1, 2)
        got = index_picks(stage.entry_point()(polygons, points, max_dist), points)
    else:
        polygons, points = make(module.Polygon, **kwargs)
        result = stage.entry_point()(polygons, points, max_dist)
        assert_same_objects(result, points, polygons)
        got = picks(result, polygons)
    if stage.answers == "argmin" and workload == "canonical":
        assert_valid_argmin(got, expected, baseline_polygons, max_dist)
    else:
        assert_identical_picks(got, expected)
    return len(got)
