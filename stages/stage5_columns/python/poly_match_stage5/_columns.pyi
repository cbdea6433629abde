"""Stage 5's compiled module (src/lib.rs): arrays in, arrays out, every core."""

import numpy as np
import numpy.typing as npt

__all__ = ["main"]

_Index = npt.NDArray[np.intp]

def main(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    offsets: npt.ArrayLike | None,
    points: npt.ArrayLike,
    max_dist: float = 10.0,
) -> tuple[_Index, _Index]:
    """``(point_index, polygon_index)`` for every point with a polygon closer than
    ``max_dist``: the polygon of least area among the close ones (the first on a tie).

    Polygon ``i`` is ``x[offsets[i]:offsets[i + 1]]``, ``y[...]``: ``offsets`` starts at
    0, rises, ends at ``len(x)``; or ``offsets=None`` and ``x``, ``y`` of shape (P, V), one
    row per polygon. ``points``: an (N, 2) array. Float64 columns are read
    in place; other dtypes and layouts are cast by numpy first. Masked values, points
    wider than float64 and offsets that are not integers raise, naming the argument.
    """
