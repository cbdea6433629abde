"""The numpy-vectorized rival: what you would try before reaching for Rust.

Same API as the baseline (``Polygon``, ``generate_one_polygon``, ``generate_example``,
``main``); same answers, because it compares the baseline's own cached centers and areas,
and chooses as the baseline's scan does: the first close polygon, replaced only by a
strictly smaller area (a NaN area first stays; a later NaN never wins).

The distances are ``sqrt(dx*dx + dy*dy)`` for every pair at once. The baseline's
``np.linalg.norm(center - point)`` is a BLAS dot, a fused multiply-add on some CPUs, so a
distance within an ulp of ``max_dist`` is computed again with numpy's own dot
(``rivals_common.numpy_close``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from poly_match import Polygon, generate_example, generate_one_polygon
from rivals_common import as_points, as_polygons, max_dist_threshold, numpy_close

__all__ = ["Polygon", "generate_example", "generate_one_polygon", "main"]


def main(
    polygons: Sequence[Polygon], points: Iterable[np.ndarray], max_dist: float = 10.0
) -> list[tuple[np.ndarray, Polygon]]:
    """``(point, polygon)`` for every point that has a polygon within ``max_dist``."""
    limit = max_dist_threshold(max_dist)
    polygons = as_polygons(polygons)
    points, pts = as_points(points)
    if len(polygons) == 0 or len(points) == 0:
        return []
    centers = np.array([poly.center for poly in polygons])  # (n_polygons, 2)
    areas = np.array([poly.area() for poly in polygons], dtype=np.float64)  # (n_polygons,)
    key = np.where(np.isnan(areas), np.inf, areas)

    # (chunk, n_polygons) distances, then the smallest area among the close ones.
    # Chunking the points bounds the temporary arrays (~8 bytes x 2**22) on big inputs.
    chunk = max(1, 2**21 // len(polygons))
    result = []
    for start in range(0, len(pts), chunk):
        block = pts[start : start + chunk]
        close = numpy_close(centers[None, :, :] - block[:, None, :], limit)
        # NaN counts as inf: argmin would pick the first NaN, the scan never does.
        masked = np.where(close, key[None, :], np.inf)
        best = np.argmin(masked, axis=1)  # the first minimum wins: the baseline's tie rule
        # The scan starts at the first close polygon and keeps it when its area is NaN,
        # or when no close area is less than inf (argmin could name a far polygon then).
        first = np.argmax(close, axis=1)
        keep_first = np.isnan(areas[first]) | (masked[np.arange(len(best)), best] == np.inf)
        best = np.where(keep_first, first, best)
        for i in np.flatnonzero(close.any(axis=1)):
            result.append((points[start + i], polygons[best[i]]))
    return result
