"""Stage 2's compiled module (src/lib.rs): the Polygon in Rust, the search reads its center."""

from collections.abc import Iterable
from typing import Any, SupportsIndex, TypeVar

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, disjoint_base

__all__ = ["Polygon", "find_close_polygons", "find_close_polygons_allocating"]

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
    def __getnewargs__(self) -> tuple[_F64, _F64]: ...
    def __reduce_ex__(self, protocol: SupportsIndex, /) -> str | tuple[Any, ...]: ...

_P = TypeVar("_P", bound=Polygon)

def find_close_polygons(polygons: Iterable[_P], point: npt.ArrayLike, max_dist: float) -> list[_P]:
    """The polygons whose center is closer than ``max_dist`` to ``point`` (same objects)."""

def find_close_polygons_allocating(
    polygons: Iterable[_P], point: npt.ArrayLike, max_dist: float
) -> list[_P]:
    """``find_close_polygons``, copying each center into a new array first (as stage 1)."""
