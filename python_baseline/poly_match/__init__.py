"""Stage 0: the pure-Python + numpy baseline.

For every point, find the polygons whose center lies within ``max_dist`` of it,
then keep the one with the smallest area (the first one wins on a tie).

This module is the reference every other stage is checked against, and it is
also where the shared, not-the-lesson pieces live (``generate_example``,
``select_best_polygon``, ``run_pipeline``): the stages import them from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

__all__ = [
    "Polygon",
    "find_close_polygons",
    "generate_example",
    "generate_example_with",
    "generate_one_polygon",
    "generate_one_polygon_with",
    "main",
    "polygon_area",
    "run_pipeline",
    "select_best_polygon",
]

Point = np.ndarray


def polygon_area(x: np.ndarray, y: np.ndarray) -> float:
    """Shoelace area, with ``np.dot`` and ``np.roll`` exactly as the original.

    The order of the floating-point operations matters: in the canonical data the
    areas differ only by rounding, so the "smallest" one is decided by numpy's dot.
    Stages that keep numpy's area call this function; they must not re-derive it.
    """
    return 0.5 * np.abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


class Polygon:
    """A polygon given by the x and y coordinates of its vertices, stored as float64.

    Every stage stores float64, so the same input gives the same center and area
    in every stage (int coordinates near 1e8 or float32 ones would not otherwise).
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self._area: float | None = None

    @cached_property
    def center(self) -> np.ndarray:
        """The mean of the vertices, as a float array ``[cx, cy]`` (computed once)."""
        return np.array([self.x, self.y]).mean(axis=1)

    def area(self) -> float:
        """The polygon's area (computed once)."""
        if self._area is None:
            self._area = polygon_area(self.x, self.y)
        return self._area

    def __repr__(self) -> str:
        return f"Polygon(x={self.x!r}, y={self.y!r})"


def find_close_polygons(
    polygon_subset: Sequence[Polygon], point: np.ndarray, max_dist: float
) -> list[Polygon]:
    """The polygons whose center is closer than ``max_dist`` to ``point``."""
    close_polygons = []
    for poly in polygon_subset:
        if np.linalg.norm(poly.center - point) < max_dist:
            close_polygons.append(poly)
    return close_polygons


def select_best_polygon(
    polygon_sets: Sequence[tuple[Point, Sequence[Any]]],
) -> list[tuple[Point, Any]]:
    """For each ``(point, polygons)`` pair keep the polygon with the least area.

    Strict ``<``: on a tie the first polygon wins.
    """
    best_polygons = []
    for point, polygons in polygon_sets:
        best_polygon = polygons[0]
        for poly in polygons:
            if poly.area() < best_polygon.area():
                best_polygon = poly
        best_polygons.append((point, best_polygon))
    return best_polygons


def run_pipeline(
    find_close: Callable[[Sequence[Any], np.ndarray, float], list[Any]],
    polygons: Sequence[Any],
    points: Sequence[np.ndarray],
    max_dist: float = 10.0,
) -> list[tuple[Point, Any]]:
    """The body of ``main`` with the close-polygon search passed in.

    Stages 1 and 2 replace only ``find_close_polygons``; they call this with
    their own, so the loop around it is the same code in every stage.
    """
    polygon_sets = []
    for point in points:
        close_polygons = find_close(polygons, point, max_dist)
        if len(close_polygons) == 0:
            continue
        polygon_sets.append((point, close_polygons))
    return select_best_polygon(polygon_sets)


def main(
    polygons: Sequence[Polygon], points: Sequence[np.ndarray], max_dist: float = 10.0
) -> list[tuple[Point, Polygon]]:
    """``(point, polygon)`` for every point that has a polygon within ``max_dist``."""
    return run_pipeline(find_close_polygons, polygons, points, max_dist)


CANONICAL_POLYGONS = 1000
CANONICAL_POINTS = 100
CANONICAL_SEED = 6
CANONICAL_SIDE = 100.0


def generate_one_polygon() -> Polygon:
    """The arc polygon every canonical polygon is a translated copy of."""
    x = np.arange(0.0, 1.0, 0.1)
    y = np.sqrt(1.0 - x**2)
    return Polygon(x=x, y=y)


def generate_example(
    n_polygons: int = CANONICAL_POLYGONS,
    n_points: int = CANONICAL_POINTS,
    seed: int = CANONICAL_SEED,
    polygon_cls: Callable[[np.ndarray, np.ndarray], Any] = Polygon,
) -> tuple[list[Any], list[np.ndarray]]:
    """The workload: ``(polygons, points)``.

    With no arguments this is exactly the canonical example of the original post:
    1000 arc polygons translated by random integers in a 100 x 100 square and 100
    points. Other sizes keep the canonical density (the square's side grows with
    the square root of ``n_polygons``), so the work per point stays comparable.
    ``polygon_cls`` is called as ``polygon_cls(x, y)``: every stage gets the
    same data in its own Polygon type.
    """
    if n_polygons < 1 or n_points < 0:
        raise ValueError("n_polygons must be >= 1 and n_points >= 0")
    side = CANONICAL_SIDE * math.sqrt(n_polygons / CANONICAL_POLYGONS)
    rng = np.random.RandomState(seed)

    # Canonical: arange(0, 100, 1) shuffled. Other sizes: n_points evenly spaced
    # values over the side, shuffled independently for x and y.
    xs = np.arange(n_points) * (side / max(n_points, 1))
    rng.shuffle(xs)
    ys = np.arange(n_points) * (side / max(n_points, 1))
    rng.shuffle(ys)
    points = [np.array([x, y]) for x, y in zip(xs, ys, strict=True)]

    ex_poly = generate_one_polygon()
    high = round(side)
    polygons = [
        polygon_cls(ex_poly.x + rng.randint(0, high), ex_poly.y + rng.randint(0, high))
        for _ in range(n_polygons)
    ]
    return polygons, points


def generate_example_with(
    polygon_cls: Callable[[np.ndarray, np.ndarray], Any],
) -> Callable[..., tuple[list[Any], list[np.ndarray]]]:
    """A stage's ``generate_example``: this one, building ``polygon_cls`` by default."""

    def stage_generate_example(
        n_polygons: int = CANONICAL_POLYGONS,
        n_points: int = CANONICAL_POINTS,
        seed: int = CANONICAL_SEED,
        polygon_cls: Callable[[np.ndarray, np.ndarray], Any] = polygon_cls,
    ) -> tuple[list[Any], list[np.ndarray]]:
        return generate_example(n_polygons, n_points, seed, polygon_cls)

    stage_generate_example.__doc__ = generate_example.__doc__
    stage_generate_example.__name__ = "generate_example"
    return stage_generate_example


def generate_one_polygon_with(polygon_cls: Callable[..., Any]) -> Callable[[], Any]:
    """A stage's ``generate_one_polygon``: the arc, as ``polygon_cls(x=..., y=...)``."""

    def stage_generate_one_polygon() -> Any:
        arc = generate_one_polygon()
        return polygon_cls(x=arc.x, y=arc.y)

    stage_generate_one_polygon.__doc__ = generate_one_polygon.__doc__
    stage_generate_one_polygon.__name__ = "generate_one_polygon"
    return stage_generate_one_polygon


if __name__ == "__main__":
    polygons, points = generate_example()
    print(f"{len(main(polygons, points))} (point, polygon) pairs")
