"""What the three rivals share and none of them teaches: reading ``polygons``, ``points``
and ``max_dist`` as the baseline's loops read them, and numpy's own distance.

The baseline iterates ``polygons`` once per point and ``points`` once (any iterable: a
list, an (N, 2) array of any dtype and memory order, a generator, an object array of point
arrays), and compares numpy's float64 distance with ``max_dist`` as given: exactly, for an
int, a ``Fraction``, a ``Decimal`` or an ``np.longdouble``. The rivals read the polygons
into a list once, compute on a C-ordered float64 copy of the points, and compare with a
float64 threshold that compares the same way. What the baseline cannot compute with, or
computes with in a way float64 cannot (complex or long-double points, a masked array, a
one-shot iterator of polygons), is refused with an error that names the argument.
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

__all__ = [
    "UNSURE_ULPS",
    "as_points",
    "as_polygons",
    "max_dist_threshold",
    "numpy_close",
    "numpy_norms",
]

# Within this many ulps of max_dist, the two forms of numpy's dot (fused, plain) may give
# a distance opposite verdicts.
UNSURE_ULPS = 4


def as_polygons(polygons: Iterable[Any]) -> list[Any]:
    """The polygons in the order the baseline's loop sees them, read once into a list.

    The result is indexed by position: ``polygons[j]`` on the caller's object could name
    another polygon (a pandas Series indexes by label, a list subclass may iterate in its
    own order). A one-shot iterator is refused with a TypeError: the baseline reads
    ``polygons`` once per point, so only its first point would see them.
    """
    try:
        iterator = iter(polygons)
    except TypeError:
        raise TypeError(
            f"polygons must be a list of Polygons, not {type(polygons).__name__}"
        ) from None
    if iterator is polygons:
        raise TypeError(
            f"polygons is a one-shot iterator ({type(polygons).__name__}): the search reads "
            "the polygons once per point; pass a list: list(polygons)"
        )
    return list(iterator)


def _refused(values: Any) -> str | None:
    """What ``values`` holds that float64 cannot stand for, or None if it holds real numbers."""
    dtype = np.asarray(values).dtype
    if dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize <= 8):
        return None
    if dtype.kind == "f":
        return f"{dtype} values, wider than float64 (the baseline computes in that width)"
    if dtype.kind in "US":
        return "strings"
    if dtype.kind == "O":  # Decimal, Fraction, None, ints beyond 64 bits: not numpy numbers
        kinds = sorted({type(v).__qualname__ for v in np.ravel(values)})
        return f"Python objects ({', '.join(kinds)})"
    return f"{dtype} values"


def as_points(points: Iterable[Any]) -> tuple[Sequence[Any], np.ndarray]:
    """``(items, xy)``: the points as the baseline's loop sees them (an iterator is read
    once, into a list), and their coordinates as a C-ordered, writable float64 (N, 2) array.

    Raises TypeError naming ``points`` when an item does not hold real numbers (complex,
    datetime, ``Decimal`` and string values; float types wider than float64; masked
    arrays) and ValueError naming it when an item is not a pair of numbers.
    """
    if hasattr(points, "columns") and hasattr(points, "to_numpy"):
        raise TypeError(
            f"points is a {type(points).__name__}: iterating one gives its column names, "
            'not its rows; pass the coordinates as an array: df[["x", "y"]].to_numpy()'
        )
    if np.ma.isMaskedArray(points):
        raise TypeError(
            "points is a masked array: its mask would be dropped here, and the baseline "
            "computes with masked values its own way; pass the points to use, unmasked: "
            "points[~points.mask.any(axis=1)].data"
        )
    if isinstance(points, np.ndarray) and points.ndim == 2 and points.dtype != object:
        items: Sequence[Any] = points  # points[i] is the row the loop would yield
    elif isinstance(points, Sequence) and not isinstance(points, np.ndarray):
        items = points
    else:
        items = list(points)  # a generator, a 1-D array (of point arrays), any iterable
    if len(items) == 0:
        return items, np.empty((0, 2), dtype=np.float64)
    try:
        raw = np.asarray(items)
    except (TypeError, ValueError) as err:
        raise type(err)(f"points: every point must be 2 numbers [x, y] ({err})") from None
    # np.asarray drops a mask: one look per type of item, not per item.
    kinds = set() if isinstance(items, np.ndarray) else set(map(type, items))
    masked = any(issubclass(kind, np.ma.MaskedArray) for kind in kinds)
    if masked or _refused(raw) is not None:
        raise TypeError(_first_refused(items))
    if raw.shape != (len(items), 2):
        raise ValueError(
            f"points: every point must be 2 numbers [x, y]; got {len(items)} points "
            f"holding {raw.size} numbers (shape {raw.shape})"
        )
    return items, np.array(raw, dtype=np.float64, order="C")


def _first_refused(items: Sequence[Any]) -> str:
    """The message naming the first point that is masked or does not hold real numbers."""
    for i, item in enumerate(items):
        if isinstance(item, np.ma.MaskedArray):
            return f"points[{i}] is a masked array: pass the points to use, unmasked"
        try:
            held = _refused(item)
        except (TypeError, ValueError):
            continue  # not an array at all: the array of every item says more
        if held is not None:
            return f"points[{i}] must hold real numbers, not {held}"
    return f"points must hold real numbers, not {_refused(items)}"


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


def numpy_norms(diff: np.ndarray) -> np.ndarray:
    """``np.linalg.norm(d)`` for every row ``d`` of the (..., 2) array ``diff``, bit for bit.

    The baseline's distance is ``sqrt(d.dot(d))``, and numpy's dot is OpenBLAS's ``ddot``,
    which fuses its multiply-add on some CPUs (the AVX-512 ones) and not on others: a
    distance within an ulp of ``max_dist`` gets opposite verdicts on the two. ``np.vecdot``
    runs that same dot on each row, so this is the baseline's verdict on every CPU (the
    plain ``sqrt(dx*dx + dy*dy)``, or ``np.linalg.norm(diff, axis=-1)``, is not).
    """
    return np.sqrt(np.vecdot(diff, diff))


def numpy_close(diff: np.ndarray, max_dist: float) -> np.ndarray:
    """``np.linalg.norm(d) < max_dist`` for every row ``d`` of ``diff``: the baseline's test.

    The plain ``sqrt(dx*dx + dy*dy)`` decides every row but those within ``UNSURE_ULPS``
    of ``max_dist``, where the two forms of numpy's dot may round apart: those rows get
    numpy's own (``numpy_norms``, a BLAS call per row: slower, so only for them).
    """
    dist = np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1])
    close = dist < max_dist
    unsure = np.abs(dist - max_dist) <= UNSURE_ULPS * np.spacing(max_dist)
    close[unsure] = numpy_norms(diff[unsure]) < max_dist
    return close
