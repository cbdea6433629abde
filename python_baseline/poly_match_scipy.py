"""The SciPy rival: a k-d tree over the centers, no Rust.

Same API as the baseline (``Polygon``, ``generate_one_polygon``, ``generate_example``,
``main``) and the same answers. Every call reads the baseline's own centers and areas from
the caller's Polygons, builds a ``scipy.spatial.cKDTree`` over the centers and asks it, for
all points at once, which centers lie within ``max_dist`` (``query_ball_point``). The tree
only proposes candidates; the baseline's tests decide:

- the tree's ball is closed (distance ``<= r``) and rounds its own way, so it is
  queried a hair wider (``r * (1 + 1e-9)``) and every candidate is tested as the
  baseline does, ``np.linalg.norm(center - point) < max_dist``, with numpy's own dot
  (``rivals_common.numpy_norms``: a fused multiply-add on some CPUs, not on others);
- the selection is the baseline's scan: the first close polygon, replaced only
  by a strictly smaller area. A NaN area first stays; a later NaN never wins.

A NaN or infinite center or point is never close in the baseline (its distance
is NaN or inf), and the tree refuses them, so they are left out of it. The tree squares
differences, so it refuses coordinates whose squares could overflow: rows with a
coordinate of ``TAME`` or more are matched by a sweep over x instead (sorted centers, a
binary search per point), which only compares; a close pair is always found by one of the
two, because its two rows are both below ``TAME`` or both above ``TAME / 2``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.spatial import cKDTree

from poly_match import Polygon, generate_example, generate_one_polygon
from rivals_common import as_points, as_polygons, max_dist_threshold, numpy_norms

__all__ = ["Polygon", "generate_example", "generate_one_polygon", "main"]

WIDEN = 1e-9  # relative: the tree's radius, a little wider than max_dist
TAME = 1e100  # the tree takes rows below this: their squared differences cannot overflow


def _rows(xy: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``xy`` where ``keep`` holds (all of them, cheaply, if it does)."""
    return np.arange(len(xy)) if keep.all() else np.flatnonzero(keep)


def _tree_pairs(
    centers: np.ndarray, pts: np.ndarray, max_dist: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(polygon, point)`` indices within a hair more than ``max_dist``, from the k-d tree."""
    tree = cKDTree(centers)
    found = tree.query_ball_point(pts, r=max_dist * (1.0 + WIDEN), return_sorted=True)
    counts = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
    polygon = np.fromiter(
        itertools.chain.from_iterable(found), dtype=np.intp, count=int(counts.sum())
    )
    return polygon, np.repeat(np.arange(len(pts)), counts)


def _sweep_pairs(
    centers: np.ndarray, pts: np.ndarray, max_dist: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(polygon, point)`` indices whose x and y both differ by at most ``max_dist``.

    Only comparisons: ``px - r`` rounds to a double at most the x of any center that is
    within ``r``, so none is lost, however large the coordinates.
    """
    order = np.argsort(centers[:, 0], kind="stable")
    xs = centers[order, 0]
    lo = np.searchsorted(xs, pts[:, 0] - max_dist, side="left")
    hi = np.searchsorted(xs, pts[:, 0] + max_dist, side="right")
    counts = hi - lo
    point = np.repeat(np.arange(len(pts)), counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    polygon = order[np.repeat(lo, counts) + offset]
    near_y = np.abs(centers[polygon, 1] - pts[point, 1]) <= max_dist
    return polygon[near_y], point[near_y]


def _candidates(
    centers: np.ndarray, pts: np.ndarray, max_dist: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(polygon index, point index)`` pairs that may be close, by point, then polygon."""
    center_size = np.abs(centers).max(axis=1, initial=0.0)  # NaN for a row holding one
    point_size = np.abs(pts).max(axis=1, initial=0.0)
    # A NaN or infinite row is never close: neither search sees it.
    good_centers, good_points = np.isfinite(center_size), np.isfinite(point_size)
    pairs = []
    if max_dist < TAME / 2:
        tame_c = _rows(centers, good_centers & (center_size < TAME))
        tame_p = _rows(pts, good_points & (point_size < TAME))
        far_c = np.flatnonzero(good_centers & (center_size >= TAME / 2))
        far_p = np.flatnonzero(good_points & (point_size >= TAME / 2))
        if len(tame_c) and len(tame_p):
            polygon, point = _tree_pairs(centers[tame_c], pts[tame_p], max_dist)
            pairs.append((tame_c[polygon], tame_p[point]))
    else:  # a radius this large: every finite row goes to the sweep
        far_c, far_p = np.flatnonzero(good_centers), np.flatnonzero(good_points)
    swept = len(far_c) > 0 and len(far_p) > 0
    if swept:
        polygon, point = _sweep_pairs(centers[far_c], pts[far_p], max_dist)
        pairs.append((far_c[polygon], far_p[point]))
    if not pairs:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
    if not swept:
        return pairs[0]  # the tree's own: already by point, then polygon
    # Both searches (rows between TAME / 2 and TAME are in both): one of each pair, sorted.
    key = np.unique(np.concatenate([point * len(centers) + polygon for polygon, point in pairs]))
    return key % len(centers), key // len(centers)


def main(
    polygons: Sequence[Polygon], points: Iterable[np.ndarray], max_dist: float = 10.0
) -> list[tuple[np.ndarray, Polygon]]:
    """``(point, polygon)`` for every point that has a polygon within ``max_dist``."""
    limit = max_dist_threshold(max_dist)
    polygons = as_polygons(polygons)
    points, pts = as_points(points)
    if len(polygons) == 0 or len(points) == 0 or not limit > 0:
        return []  # nothing is closer than 0 (nor than NaN)
    centers = np.array([poly.center for poly in polygons], dtype=np.float64)  # (n, 2)
    areas = np.array([poly.area() for poly in polygons], dtype=np.float64)  # (n,)

    polygon, point = _candidates(centers, pts, limit)
    close = numpy_norms(centers[polygon] - pts[point]) < limit
    polygon, point = polygon[close], point[close]
    if len(point) == 0:
        return []

    # One group of close polygons per point, in polygon order. The scan keeps the
    # first one unless a later area is strictly smaller: the first least area, NaN
    # never less (counted as inf here).
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    counts = np.diff(np.r_[starts, len(point)])
    area = areas[polygon]
    key = np.where(np.isnan(area), np.inf, area)
    least = np.minimum.reduceat(key, starts)
    at_least = np.flatnonzero(key == np.repeat(least, counts))
    first_least = polygon[at_least[np.searchsorted(at_least, starts)]]
    # A NaN first stays; all areas inf or NaN: nothing is less than the first either.
    first = polygon[starts]
    keep_first = np.isnan(areas[first]) | (least == np.inf)
    best = np.where(keep_first, first, first_least)
    return [
        (points[i], polygons[j]) for i, j in zip(point[starts].tolist(), best.tolist(), strict=True)
    ]
