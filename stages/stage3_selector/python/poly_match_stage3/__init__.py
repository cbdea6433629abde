"""Stage 3: the whole selector in Rust.

``main`` is one call into Rust: it reads every Polygon's cached center and area,
finds the close polygons through a grid and picks the smallest. ``Polygon`` is
immutable, with its area computed in Rust when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import poly_match

from ._core import Polygon, main

__all__ = ["Polygon", "generate_example", "main"]


def generate_example(
    n_polygons: int = poly_match.CANONICAL_POLYGONS,
    n_points: int = poly_match.CANONICAL_POINTS,
    seed: int = poly_match.CANONICAL_SEED,
    polygon_cls: Callable[[Any, Any], Any] = Polygon,
) -> tuple[list[Any], list[Any]]:
    """``poly_match.generate_example``, built with this stage's Polygon."""
    return poly_match.generate_example(n_polygons, n_points, seed, polygon_cls=polygon_cls)
