"""Stage 1: ``find_close_polygons`` in Rust, translated line by line.

Only the search moved (``poly_match_stage1._core``, built from ``src/lib.rs``);
``Polygon``, ``generate_example``, ``generate_one_polygon`` and the loop around the
search are the baseline's own, imported from ``poly_match``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from poly_match import Polygon, generate_example, generate_one_polygon, run_pipeline
from poly_match_stage1._core import find_close_polygons

__all__ = ["Polygon", "find_close_polygons", "generate_example", "generate_one_polygon", "main"]


def main(
    polygons: Sequence[Any], points: Sequence[np.ndarray], max_dist: float = 10.0
) -> list[tuple[np.ndarray, Any]]:
    """``(point, polygon)`` for every point that has a polygon within ``max_dist``."""
    return run_pipeline(find_close_polygons, polygons, points, max_dist)
