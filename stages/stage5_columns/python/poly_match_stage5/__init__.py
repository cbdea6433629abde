"""Stage 5: arrays in, arrays out, every core.

``main(x, y, offsets, points, max_dist)`` takes the polygons as columns (every
vertex's ``x`` and ``y``, and ``offsets``: where each polygon's vertices start,
then the end) and the points as an (N, 2) array, and returns two index arrays,
``(point_index, polygon_index)``. Stage 4's search, with no Python object per
polygon, point or pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from poly_match import CANONICAL_POINTS, CANONICAL_POLYGONS, CANONICAL_SEED
from poly_match import generate_example as generate_objects

from ._columns import main

__all__ = ["generate_example", "main", "vertex_columns"]


def vertex_columns(polygons: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, offsets)`` of polygons that have ``x`` and ``y`` (any stage's Polygon)."""
    x = np.concatenate([np.asarray(p.x, dtype=np.float64) for p in polygons])
    y = np.concatenate([np.asarray(p.y, dtype=np.float64) for p in polygons])
    offsets = np.zeros(len(polygons) + 1, dtype=np.int64)
    np.cumsum([len(p.x) for p in polygons], out=offsets[1:])
    return x, y, offsets


def generate_example(
    n_polygons: int = CANONICAL_POLYGONS,
    n_points: int = CANONICAL_POINTS,
    seed: int = CANONICAL_SEED,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The workload of every stage as arrays: ``((x, y, offsets), points)``, the
    points an (N, 2) array. Call ``main(*polygons, points)``."""
    polygons, points = generate_objects(n_polygons, n_points, seed)
    return vertex_columns(polygons), np.array(points, dtype=np.float64).reshape(-1, 2)
