"""Stage 4's compiled module (src/lib.rs): grid cells and k-d trees, both cores for large inputs."""

from collections.abc import Collection, Iterable
from typing import Any, SupportsIndex

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, disjoint_base

__all__ = ["Polygon", "main"]

_F64 = npt.NDArray[np.float64]

@disjoint_base
class Polygon:
    """A polygon given by the x and y coordinates of its vertices (stored as float64).

    Immutable (a ``frozen`` pyclass); subclassable. Keeps copies of ``x`` and ``y``:
    editing the caller's arrays afterwards does not move it (the baseline's Polygon keeps
    a float64 array as it is given).
    """

    def __new__(cls, x: npt.ArrayLike, y: npt.ArrayLike) -> Self: ...
    @property
    def x(self) -> _F64:
        """The x coordinates, as a new float64 array."""
    @property
    def y(self) -> _F64:
        """The y coordinates, as a new float64 array."""
    @property
    def center(self) -> _F64:
        """The mean of the vertices, ``[cx, cy]``, as a new float64 array."""
    def area(self) -> float:
        """The polygon's area: the true shoelace area of its float64 vertices, rounded once
        (numpy's inf or NaN where numpy's shoelace overflows), computed when it was built."""
    def __getnewargs__(self) -> tuple[_F64, _F64]: ...
    def __reduce_ex__(self, protocol: SupportsIndex, /) -> str | tuple[Any, ...]: ...

def main(
    polygons: Collection[Polygon], points: Iterable[Any], max_dist: float = 10.0
) -> list[tuple[Any, Polygon]]:
    """``(point, polygon)`` for every point with a polygon closer than ``max_dist``.

    The polygon of least area among the close ones (the first on a tie). ``points``: a
    list of ``[x, y]`` (the pairs hold the same objects) or an (N, 2) array (its rows).
    ``polygons`` is read once for every point: a one-shot iterator (a generator) raises
    TypeError. Points wider than float64 (``np.longdouble``) raise TypeError, masked ones
    (``np.ma``) ValueError: distances are computed in float64.
    """
