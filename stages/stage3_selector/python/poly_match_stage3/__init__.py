"""Stage 3: the whole selector in Rust.

``main`` is one call into Rust: it reads every Polygon's cached center and area
and runs the baseline's double loop. ``Polygon`` is immutable, with its area
computed in Rust when it is built.
"""

from __future__ import annotations

from poly_match import generate_example_with, generate_one_polygon_with

from ._core import Polygon, main

__all__ = ["Polygon", "generate_example", "generate_one_polygon", "main"]

generate_example = generate_example_with(Polygon)
generate_one_polygon = generate_one_polygon_with(Polygon)
