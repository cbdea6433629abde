"""The Numba rival: the baseline's double loop, compiled by ``@njit``, no Rust.

Same API as the baseline (``Polygon``, ``generate_one_polygon``,
``generate_example``, ``main``) and the same answers: every call reads the
baseline's own centers and areas from the caller's Polygons (``poly.center``,
``poly.area()``) into two float64 arrays, and one compiled loop does the rest.
Reading 1000 Python objects per call is most of the time left; the loop itself
is a few microseconds.

The same picks, bit for bit:

- close means ``sqrt(dx*dx + dy*dy) < max_dist``, with ``dx = cx - px``: what
  ``np.linalg.norm(center - point)`` computes for a 2-vector (a dot product, then
  a correctly rounded square root). Numba leaves ``fastmath`` off, so LLVM
  neither reorders nor fuses these operations. numpy's dot, though, is a fused
  multiply-add on CPUs where OpenBLAS runs its AVX-512 kernel, which moves a
  distance by up to an ulp: for a center within a few ulps of ``max_dist`` the
  loop asks ``np.dot``, which Numba compiles into a call to the same BLAS dot.
- the selection is the baseline's scan: the first close polygon, replaced only
  by a strictly smaller area. A NaN area first stays; a later NaN never wins.

``main`` hands the loop a block of points at a time, so Ctrl-C (which Python
handles between bytecodes, never inside compiled code) is answered within one
block, a few milliseconds.

The compile happens at import (an explicit signature compiles eagerly), so it
never lands in a timed call; ``warm_up()`` returns how long it took, and the
benchmark reports it. ``cache=True`` would keep the machine code in
``__pycache__`` for the next process; it is left off, so the number reported is
the compile a fresh process pays.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
from numba import njit

from poly_match import Polygon, generate_example, generate_one_polygon
from rivals_common import UNSURE_ULPS, as_points, as_polygons, max_dist_threshold

__all__ = ["Polygon", "generate_example", "generate_one_polygon", "main", "warm_up"]

_SIGNATURE = "int64[::1](float64[:, ::1], float64[::1], float64[:, ::1], float64)"
# Polygon-point pairs per call of the compiled loop: a few milliseconds between two
# chances for Python to see Ctrl-C.
BLOCK = 2**22


def _best_polygons(
    centers: np.ndarray, areas: np.ndarray, points: np.ndarray, max_dist: float
) -> np.ndarray:
    """For each point, the index of the polygon the baseline picks, or -1 if none is close."""
    best = np.empty(points.shape[0], dtype=np.int64)
    # Most centers are far: a squared distance beyond a hair more than max_dist**2
    # cannot pass the exact test below, so it skips the square root.
    reach = (max_dist * (1.0 + 1e-9)) ** 2
    margin = UNSURE_ULPS * np.spacing(max_dist)
    diff = np.empty(2)
    for i in range(points.shape[0]):
        px, py = points[i, 0], points[i, 1]
        pick = -1
        for j in range(centers.shape[0]):
            dx = centers[j, 0] - px
            dy = centers[j, 1] - py
            d2 = dx * dx + dy * dy
            if d2 <= reach:
                dist = np.sqrt(d2)
                if abs(dist - max_dist) <= margin:  # numpy's own dot decides
                    diff[0] = dx
                    diff[1] = dy
                    dist = np.sqrt(np.dot(diff, diff))
                if dist < max_dist and (pick < 0 or areas[j] < areas[pick]):
                    pick = j  # close, and the scan's strictly less
        best[i] = pick
    return best


_start = time.perf_counter()
_best_polygons_jit = njit(_SIGNATURE, nogil=True)(_best_polygons)
_COMPILE_SECONDS = time.perf_counter() - _start


def warm_up() -> float:
    """Seconds the JIT compile took. It already ran, at import, outside any timed call."""
    return _COMPILE_SECONDS


def main(
    polygons: Sequence[Polygon], points: Iterable[np.ndarray], max_dist: float = 10.0
) -> list[tuple[np.ndarray, Polygon]]:
    """``(point, polygon)`` for every point that has a polygon within ``max_dist``."""
    limit = max_dist_threshold(max_dist)
    polygons = as_polygons(polygons)
    points, pts = as_points(points)  # C-ordered, writable float64: what the signature takes
    if len(polygons) == 0 or len(points) == 0:
        return []
    centers = np.array([poly.center for poly in polygons], dtype=np.float64)  # (n, 2)
    areas = np.array([poly.area() for poly in polygons], dtype=np.float64)  # (n,)
    step = max(1, BLOCK // len(polygons))
    result = []
    for start in range(0, len(pts), step):
        best = _best_polygons_jit(centers, areas, pts[start : start + step], limit)
        for i, j in enumerate(best.tolist(), start):
            if j >= 0:
                result.append((points[i], polygons[j]))
    return result
