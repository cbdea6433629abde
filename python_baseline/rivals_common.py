"""What the three rivals share and none of them teaches: reading ``points`` and ``max_dist``
as the baseline's loop reads them, and the baseline's own verdict next to ``max_dist``.

The baseline iterates ``points`` once (any iterable: a list, an (N, 2) array of any dtype
and memory order, a generator, an object array of point arrays) and compares numpy's
float64 distance with ``max_dist`` as given: exactly, for an int, a ``Fraction``, a
``Decimal`` or an ``np.longdouble``. The rivals compute on a C-ordered float64 copy of the
points and a float64 threshold that compares the same way.
"""

from __future__ import annotations

import decimal
import math
import numbers
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["as_points", "baseline_close", "max_dist_threshold", "unsure", "unsure_margin"]

# Within this many ulps of max_dist, only numpy's own norm knows its verdict: numpy's dot
# of 2 values is a fused multiply-add on some CPUs (OpenBLAS's AVX-512 kernel) and not on
# others, which moves a distance by up to an ulp. Candidates that close are re-tested with
# the baseline's own expression.
UNSURE_ULPS = 4


def as_points(points: Iterable[Any]) -> tuple[Sequence[Any], np.ndarray]:
    """``(items, xy)``: the points as the baseline's loop sees them (an iterator is read
    once, into a list), and their coordinates as a C-ordered, writable float64 (N, 2) array.

    Raises ValueError naming ``points`` when an item is not a pair of numbers.
    """
    if isinstance(points, np.ndarray) and points.ndim == 2 and points.dtype != object:
        items: Sequence[Any] = points  # points[i] is the row the loop would yield
    elif isinstance(points, Sequence) and not isinstance(points, np.ndarray):
        items = points
    else:
        items = list(points)  # a generator, a 1-D array (of point arrays), any iterable
    if len(items) == 0:
        return items, np.empty((0, 2), dtype=np.float64)
    try:
        xy = np.array(items, dtype=np.float64, order="C")
    except (TypeError, ValueError) as err:
        raise type(err)(f"points: every point must be 2 numbers [x, y] ({err})") from None
    if xy.shape != (len(items), 2):
        raise ValueError(
            f"points: every point must be 2 numbers [x, y]; got {len(items)} points "
            f"holding {xy.size} numbers (shape {xy.shape})"
        )
    return items, xy


def max_dist_threshold(max_dist: Any) -> float:
    """A float64 ``m`` such that ``d < m`` exactly when ``d < max_dist``, for every float64 ``d``.

    ``max_dist`` rounded up to a double: a float stays itself; an int, ``Fraction``,
    ``Decimal`` or ``np.longdouble`` that is not a double becomes the next double above it,
    so the comparison stays the baseline's exact one. Raises TypeError naming ``max_dist``
    for anything else (a string, None, a complex number, a datetime or timedelta, an array
    of several values), OverflowError for an int beyond the float range, which numpy cannot
    compare either, and ``decimal.InvalidOperation`` for a ``Decimal`` NaN, which Python
    refuses to compare with anything.
    """
    value = max_dist
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, float):  # float and np.float64
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind not in "biuf":
        # np.timedelta64 is an np.integer to Python's number classes; numpy won't compare it.
        raise TypeError(f"max_dist must be a real number, not numpy.{type(value).__name__}")
    if isinstance(value, (bool, np.bool_)):
        exact = Fraction(int(value))
    elif isinstance(value, numbers.Integral):  # int, np.integer
        if abs(int(value)) > sys.float_info.max:
            # numpy turns an int into a float to compare it, and cannot: nor do we.
            digits = len(str(abs(int(value))))
            raise OverflowError(f"max_dist: an int of {digits} digits is beyond the float range")
        exact = Fraction(int(value))
    elif isinstance(value, Fraction):
        exact = value
    elif isinstance(value, Decimal):
        if value.is_nan():
            raise decimal.InvalidOperation(f"max_dist: {value!r} cannot be compared with a number")
        if value.is_infinite():
            return float(value)
        exact = Fraction(value)
    elif isinstance(value, np.floating):  # float16, float32, longdouble
        if not np.isfinite(value):
            return float(value)
        exact = Fraction(*value.as_integer_ratio())
    else:
        raise TypeError(f"max_dist must be a real number, not {type(max_dist).__name__}")
    try:
        rounded = float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf  # no distance is below either
    if Fraction(rounded) < exact:
        rounded = math.nextafter(rounded, math.inf)
    return rounded


def unsure_margin(max_dist: float) -> float:
    """How far from ``max_dist`` a distance must be for the plain ``sqrt(dx*dx + dy*dy)``
    to give numpy's verdict on every CPU."""
    if not (math.isfinite(max_dist) and max_dist > 0):
        return math.nan  # no distance is near an infinite, NaN or negative max_dist
    return UNSURE_ULPS * float(np.spacing(max_dist))


def unsure(dist: np.ndarray, max_dist: float) -> np.ndarray:
    """Where a plainly computed distance is too close to ``max_dist`` to trust its verdict."""
    return np.abs(dist - max_dist) <= unsure_margin(max_dist)


def baseline_close(center: np.ndarray, point: np.ndarray, max_dist: float) -> bool:
    """The baseline's own test, ``np.linalg.norm(center - point) < max_dist``."""
    return bool(np.linalg.norm(center - point) < max_dist)
