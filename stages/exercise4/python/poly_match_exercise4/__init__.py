"""Exercise 4: stage 4's search, written by you in ``src/lib.rs``.

Built by ``make check-exercise STAGE=4`` (never by ``make build``), which then checks
it against the plain loop. ``main`` is one call into Rust, as in stage 3;
``distance_tests()`` says how many distance tests the last ``main`` call made.
"""

from __future__ import annotations

from poly_match import generate_example_with

from ._core import Polygon, distance_tests, main

__all__ = ["Polygon", "distance_tests", "generate_example", "main"]

generate_example = generate_example_with(Polygon)
