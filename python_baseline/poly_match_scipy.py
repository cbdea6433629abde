"""The SciPy rival: a k-d tree over the centers, no Rust.

Same API as the baseline (``Polygon``, ``generate_one_polygon``, ``generate_example``,
``main``) and the same answers. Every call reads the baseline's own centers and areas from
the caller's Polygons, builds a ``scipy.spatial.cKDTree`` over the centers and asks it, a
block of points at a time, which centers lie within ``max_dist`` (``query_ball_point``).
The tree only proposes candidates; the baseline's tests decide:

- the tree's ball is closed (distance ``<= r``) and rounds its own way, so it is
  queried a hair wider (``r * (1 + 1e-9)``) and every candidate is tested as the
  baseline does, ``np.linalg.norm(center - point) < max_dist`` (``rivals_common.numpy_close``:
  numpy's own dot where it matters, a fused multiply-add on some CPUs, not on others);
- the selection is the baseline's scan: the first close polygon, replaced only
  by a strictly smaller area. A NaN area first stays; a later NaN never wins.

A ball query lists every center within its radius: its time grows with the number of
close pairs (with a large ``max_dist``, every pair), as the baseline's does. Its memory
need not: when the points could have more than ``BLOCK`` candidates in all, each point's
are counted first (the tree counts without listing), and the points are asked a block
of about ``BLOCK`` candidates at a time. Ctrl-C is answered between two blocks.

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
from rivals_common import as_points, as_polygons, max_dist_threshold, numpy_close

__all__ = ["Polygon", "generate_example", "generate_one_polygon", "main"]

WIDEN = 1e-9  # relative: the tree's radius, a little wider than max_dist
TAME = 1e100  # the tree takes rows below this: their squared differences cannot overflow
# Candidate pairs per block of points, about. A ball query lists every center within its
# radius (with a large max_dist, every pair): asked a block of points at a time, it never
# holds many more than this.
BLOCK = 2**20


def _rows(keep: np.ndarray) -> np.ndarray:
    """Indices of the rows where ``keep`` holds (all of them, cheaply, if it does)."""
    return np.arange(len(keep)) if keep.all() else np.flatnonzero(keep)


def _split(xy: np.ndarray, max_dist: float) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``xy`` for the tree and for the sweep.

    A NaN or infinite row is never close (its distance is NaN or inf): in neither. The
    tree squares differences, so it takes rows below ``TAME``; the sweep takes rows of
    ``TAME / 2`` or more, so a close pair's two rows always meet in one of them. With a
    radius that large, every finite row goes to the sweep.
    """
    size = np.abs(xy).max(axis=1, initial=0.0)  # NaN for a row holding one
    good = np.isfinite(size)
    if max_dist >= TAME / 2:
        return np.empty(0, dtype=np.intp), np.flatnonzero(good)
    return _rows(good & (size < TAME)), np.flatnonzero(good & (size >= TAME / 2))


class Candidates:
    """The centers, indexed once per call (a k-d tree, and the sweep's order by x), then
    asked which of them may be close to a block of points at a time."""

    def __init__(self, centers: np.ndarray, max_dist: float) -> None:
        self.n_centers, self.max_dist = len(centers), max_dist
        self.radius = max_dist * (1.0 + WIDEN)  # the tree's closed ball, rounded its own way
        tame, far = _split(centers, max_dist)
        self.tree = cKDTree(centers[tame]) if len(tame) else None
        self.tame = tame
        self.by_x = far[np.argsort(centers[far, 0], kind="stable")]
        self.xy_by_x = centers[self.by_x]

    def _x_range(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point, the sweep's centers ``by_x[lo:hi]`` whose x is within ``max_dist``.

        Only comparisons: ``px - r`` rounds to a double at most the x of any center that
        is within ``r``, so none is lost, however large the coordinates.
        """
        xs, r = self.xy_by_x[:, 0], self.max_dist
        lo = np.searchsorted(xs, pts[:, 0] - r, side="left")
        hi = np.searchsorted(xs, pts[:, 0] + r, side="right")
        return lo, hi

    def _tree_pairs(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(polygon, point)`` indices within a hair more than ``max_dist``, from the tree."""
        found = self.tree.query_ball_point(pts, r=self.radius, return_sorted=False)
        counts = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
        polygon = np.fromiter(
            itertools.chain.from_iterable(found), dtype=np.intp, count=int(counts.sum())
        )
        return self.tame[polygon], np.repeat(np.arange(len(pts)), counts)

    def _sweep_pairs(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(polygon, point)`` indices whose x and y both differ by at most ``max_dist``."""
        lo, hi = self._x_range(pts)
        counts = hi - lo
        point = np.repeat(np.arange(len(pts)), counts)
        offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        row = np.repeat(lo, counts) + offset
        near_y = np.abs(self.xy_by_x[row, 1] - pts[point, 1]) <= self.max_dist
        return self.by_x[row[near_y]], point[near_y]

    def counts(self, pts: np.ndarray) -> np.ndarray:
        """How many candidates each point has, or a few more (the sweep's before its y
        test): the tree counts them without listing them."""
        tame, far = _split(pts, self.max_dist)
        counts = np.zeros(len(pts), dtype=np.intp)
        if self.tree is not None and len(tame):
            counts[tame] += self.tree.query_ball_point(pts[tame], r=self.radius, return_length=True)
        if len(self.by_x) and len(far):
            lo, hi = self._x_range(pts[far])
            counts[far] += hi - lo
        return counts

    def of(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(polygon index, point index)`` pairs that may be close, grouped by point."""
        tame, far = _split(pts, self.max_dist)
        pairs = []
        if self.tree is not None and len(tame):
            polygon, point = self._tree_pairs(pts[tame])
            pairs.append((polygon, tame[point]))
        swept = len(self.by_x) > 0 and len(far) > 0
        if swept:
            polygon, point = self._sweep_pairs(pts[far])
            pairs.append((polygon, far[point]))
        if not pairs:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        if len(pairs) == 1:
            return pairs[0]  # one search's: grouped by point already
        # Both searches: grouped by sorting, a pair both found (its rows are between
        # TAME / 2 and TAME) kept once. (np.unique would do it, hashing: far slower here.)
        n = self.n_centers
        key = np.sort(np.concatenate([point * n + polygon for polygon, point in pairs]))
        key = key[np.r_[True, key[1:] != key[:-1]]]
        return key % n, key // n


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
    candidates = Candidates(centers, limit)
    if len(pts) * len(centers) <= BLOCK:
        cuts = [0, len(pts)]  # even every pair fits
    else:  # where the running count of candidates passes each multiple of BLOCK
        total = np.cumsum(candidates.counts(pts))
        cuts = np.searchsorted(total, np.arange(BLOCK, total[-1], BLOCK), side="right")
        cuts = [0, *np.unique(cuts).tolist(), len(pts)]
    result = []
    for start, stop in itertools.pairwise(cuts):
        block = pts[start:stop]
        polygon, point = candidates.of(block)
        close = numpy_close(centers[polygon] - block[point], limit)
        for i, j in _least_areas(polygon[close], point[close], areas):
            result.append((points[start + i], polygons[j]))
    return result


def _least_areas(
    polygon: np.ndarray, point: np.ndarray, areas: np.ndarray
) -> list[tuple[int, int]]:
    """``(point, polygon)`` for each point among the close pairs (grouped by point), the
    polygon the baseline's scan keeps: the first close one (the lowest index), unless
    another has a strictly smaller area (then the first of the least, NaN never less:
    counted as inf here)."""
    if len(point) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    counts = np.diff(np.r_[starts, len(point)])
    area = areas[polygon]
    key = np.where(np.isnan(area), np.inf, area)
    least = np.minimum.reduceat(key, starts)
    at_least = np.where(key == np.repeat(least, counts), polygon, len(areas))
    first_least = np.minimum.reduceat(at_least, starts)
    # A NaN first stays; all areas inf or NaN: nothing is less than the first either.
    first = np.minimum.reduceat(polygon, starts)
    keep_first = np.isnan(areas[first]) | (least == np.inf)
    best = np.where(keep_first, first, first_least)
    return list(zip(point[starts].tolist(), best.tolist(), strict=True))
