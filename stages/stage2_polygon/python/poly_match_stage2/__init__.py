"""Stage 2: the Polygon lives in Rust, ``area()`` stays in Python.

``_core.Polygon`` (Rust) stores x and y as float64 and computes the center once;
``find_close_polygons`` (Rust) reads that center straight from the struct.
``Polygon`` below subclasses it and keeps ``area()`` in Python: the code people
still edit stays Python, and the area stays numpy's, so the picks equal stage 0's.

``main_allocating`` is the same search with one array copied per polygon per
call, kept to measure what that costs (``python -m workshop.run stage2_alloc``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from poly_match import (
    generate_example_with,
    generate_one_polygon_with,
    polygon_area,
    run_pipeline,
)
from poly_match_stage2 import _core
from poly_match_stage2._core import find_close_polygons, find_close_polygons_allocating

__all__ = [
    "Polygon",
    "find_close_polygons",
    "find_close_polygons_allocating",
    "generate_example",
    "generate_one_polygon",
    "main",
    "main_allocating",
]


class Polygon(_core.Polygon):
    """A polygon given by the x and y coordinates of its vertices (stored as float64).

    ``x``, ``y`` and ``center`` live in Rust (each read returns a new float64
    array); ``area()`` is Python, cached in the instance's ``__dict__``. Keeps
    copies: editing the caller's ``x`` afterwards does not move the polygon.
    """

    _area: float | None = None

    def area(self) -> float:
        """The polygon's area, numpy's exactly (computed once)."""
        if self._area is None:
            self._area = polygon_area(self.x, self.y)
        return self._area


generate_example = generate_example_with(Polygon)
generate_one_polygon = generate_one_polygon_with(Polygon)


def main(
    polygons: Sequence[Polygon], points: Sequence[np.ndarray], max_dist: float = 10.0
) -> list[tuple[np.ndarray, Polygon]]:
    """``(point, polygon)`` for every point that has a polygon within ``max_dist``."""
    return run_pipeline(find_close_polygons, polygons, points, max_dist)


def main_allocating(
    polygons: Sequence[Polygon], points: Sequence[np.ndarray], max_dist: float = 10.0
) -> list[tuple[np.ndarray, Polygon]]:
    """``main`` with ``find_close_polygons_allocating``: same answer, one copy per polygon."""
    return run_pipeline(find_close_polygons_allocating, polygons, points, max_dist)
