"""Is your ``find_close_polygons`` the baseline's? Run by ``make check-exercise STAGE=1``.

Not part of ``make test`` (pytest collects ``tests/`` only): the untouched starter
fails here on purpose. ``tests/test_exercise_meta.py`` checks that it does, and that
the answer in docs/workshop.md passes.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

import poly_match
from workshop import checks, exercises, workloads

poly_match_exercise1 = exercises.built(1)
find_close_polygons = poly_match_exercise1.find_close_polygons

EXERCISE = exercises.stage(1)
POINT = np.array([0.0, 0.0])


def center_at(x: float, y: float) -> SimpleNamespace:
    """Any object with a ``.center`` will do: the function only reads that attribute."""
    return SimpleNamespace(center=np.array([x, y], dtype=np.float64))


call = exercises.caller(
    ". ndarray panics on `center - point` when the lengths differ: check the center "
    "(2 numbers, float64, 1-D) before the subtraction, as `common::borrowed_pair` "
    "does (TODO(3)), and never `unwrap()` what the caller controls."
)


def attempt() -> object:
    """The call that raises the starter's NotImplementedError until the TODOs are done."""
    return find_close_polygons([center_at(1.0, 1.0)], POINT, 10.0)


done = exercises.done_fixture(attempt)


def test_the_todos_are_done() -> None:
    exercises.fail_if_not_done(attempt, 1)
    result = call(find_close_polygons, [center_at(1.0, 1.0)], POINT, 10.0)
    assert isinstance(result, list), f"return a list (a Vec in Rust), not {type(result)}"


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_same_picks_as_the_baseline(workload: str) -> None:
    assert call(checks.check_stage, EXERCISE, workload=workload) > 0


@pytest.mark.usefixtures("done")
def test_same_polygon_objects_in_the_same_order() -> None:
    polygons, points = workloads.canonical()
    for point in points:
        got = call(find_close_polygons, polygons, point, 10.0)
        expected = poly_match.find_close_polygons(polygons, point, 10.0)
        assert exercises.same_objects(got, expected), (
            f"point {point}: return the caller's polygon objects, in input order, "
            f"the ones with norm(center - point) < max_dist ({len(got)} returned, "
            f"the baseline has {len(expected)})"
        )


@pytest.mark.usefixtures("done")
def test_strictly_closer_than_max_dist() -> None:
    on_the_circle = center_at(6.0, 8.0)  # exactly 10 away
    assert call(find_close_polygons, [on_the_circle], POINT, 10.0) == [], (
        "a center exactly max_dist away is not close: the baseline's test is "
        "`norm(center - point) < max_dist`, a strict `<`, not `<=` (TODO(5))"
    )
    assert call(find_close_polygons, [], POINT, 10.0) == []


class RecordsNames:
    """A polygon that keeps every name object ``.center`` is looked up with.

    ``__getattr__`` runs because ``center`` is neither in the instance nor in the class,
    and it receives the very string object the caller passed. Keeping them all alive
    means two different objects can never share an ``id``.
    """

    def __init__(self, names: list[str], x: float, y: float) -> None:
        self._names = names
        self._center = np.array([x, y], dtype=np.float64)

    def __getattr__(self, name: str) -> np.ndarray:
        if name != "center":
            raise AttributeError(name)
        self._names.append(name)
        return self._center


@pytest.mark.usefixtures("done")
def test_one_name_object_for_every_lookup() -> None:
    names: list[str] = []
    polygons = [RecordsNames(names, float(x), 0.0) for x in range(5)]
    for _ in range(2):
        call(find_close_polygons, polygons, POINT, 10.0)
    assert len(names) == 10, f"expected one lookup of .center per polygon, got {len(names)}"
    distinct = len({id(name) for name in names})
    assert distinct == 1, (
        f"10 lookups of .center (5 polygons, 2 calls) used {distinct} different name "
        "strings: a Rust string literal becomes a new Python string on every lookup. "
        'Make the name once and reuse it: `intern!(py, "center")` (TODO(2))'
    )


@pytest.mark.usefixtures("done")
def test_any_iterable_of_polygons() -> None:
    polygons = [center_at(1.0, 1.0), center_at(50.0, 50.0)]
    got = call(find_close_polygons, iter(polygons), POINT, 10.0)
    assert exercises.same_objects(got, polygons[:1]), (
        "polygons may be any iterable, as in Python: read them with `common::items` (TODO(1))"
    )


@pytest.mark.usefixtures("done")
def test_runs_the_pipeline() -> None:
    polygons, points = poly_match_exercise1.generate_example()
    pairs = poly_match_exercise1.main(polygons, points)
    checks.assert_same_objects(pairs, points, polygons)


HELPER = (
    'read the center with `common::borrowed_pair(&center, || format!("polygons[{i}].center"))`'
    ", which checks it and names the polygon (TODO(3))"
)


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(
    ("center", "error", "match"),
    [
        (np.zeros(3), ValueError, r"polygons\[1\]\.center must hold 2 numbers"),
        (np.zeros(1), ValueError, r"polygons\[1\]\.center must hold 2 numbers"),
        (np.array([1, 2]), TypeError, r"polygons\[1\]\.center must be a 1-D float64"),
        ([1.0, 2.0], TypeError, r"polygons\[1\]\.center must be a 1-D float64"),
        (None, TypeError, r"polygons\[1\]\.center must be a 1-D float64"),
    ],
    ids=["3-numbers", "1-number", "int-array", "list", "None"],
)
def test_a_bad_center_is_a_python_error_naming_the_polygon(
    center: object, error: type[Exception], match: str
) -> None:
    polygons = [center_at(1.0, 1.0), SimpleNamespace(center=center)]
    expected = f"{error.__name__} matching {match!r} for the center {center!r}"
    try:
        call(find_close_polygons, polygons, POINT, 10.0)
    except error as err:
        assert re.search(match, str(err)), f"expected a {expected}, got: {err}; {HELPER}"
    except Exception as err:
        pytest.fail(
            f"expected a {expected}, got {type(err).__name__}: {err}; {HELPER}", pytrace=False
        )
    else:
        pytest.fail(f"expected a {expected}; nothing was raised; {HELPER}", pytrace=False)


@pytest.mark.usefixtures("done")
def test_a_polygon_without_center_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="center"):
        call(find_close_polygons, [center_at(1.0, 1.0), object()], POINT, 10.0)
