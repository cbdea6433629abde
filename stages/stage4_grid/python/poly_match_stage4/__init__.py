"""Stage 4: a better algorithm, and both cores.

``main`` is one call into Rust, as in stage 3, but finds the close polygons
through a grid of cells, with a k-d tree for crowded cells; on large inputs it
releases the GIL and uses every core. ``Polygon`` is stage 3's.
"""

from __future__ import annotations

from poly_match import generate_example_with, generate_one_polygon_with

from ._core import Polygon, main

__all__ = ["Polygon", "generate_example", "generate_one_polygon", "main"]

generate_example = generate_example_with(Polygon)
generate_one_polygon = generate_one_polygon_with(Polygon)
