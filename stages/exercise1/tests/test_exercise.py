"""Is your ``find_close_polygons`` the baseline's? Run by ``make check-exercise STAGE=1``.

Not part of ``make test`` (pytest collects ``tests/`` only): the untouched starter
fails here on purpose. ``tests/test_exercise_meta.py`` checks that it does, that the
answer, ``stages/exercise1/solution.rs``, passes, and that each natural mistake fails.
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
    "check the center (2 numbers, float64, 1-D) before `center - point`, as "
    "`common::borrowed_pair` does (TODO(3)): ndarray panics when the lengths differ, "
    "and so does an `unwrap()` of what the caller controls."
)


def attempt() -> object:
    """The call that raises the starter's NotImplementedError until the TODOs are done."""
    return find_close_polygons([center_at(1.0, 1.0)], POINT, 10.0)


done = exercises.done_fixture(attempt)


def test_the_todos_are_done() -> None:
    exercises.fail_if_not_done(attempt, 1)
    result = call(find_close_polygons, [center_at(1.0, 1.0)], POINT, 10.0)
    assert isinstance(result, list), f"Return a list (a Vec in Rust), not {type(result)}."


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_same_picks_as_the_baseline(workload: str) -> None:
    exercises.same_picks(
        call,
        EXERCISE,
        workload,
        "Return the polygons whose center is strictly closer than max_dist, the "
        "caller's objects in input order (TODO(1), TODO(5)).",
    )


@pytest.mark.usefixtures("done")
def test_same_polygon_objects_in_the_same_order() -> None:
    polygons, points = workloads.canonical()
    for point in points:
        got = call(find_close_polygons, polygons, point, 10.0)
        expected = poly_match.find_close_polygons(polygons, point, 10.0)
        assert exercises.same_objects(got, expected), (
            "Return the caller's polygon objects, in input order, those with "
            f"norm(center - point) < max_dist (TODO(1)): for the point {point} your "
            f"search returned {len(got)}, the baseline {len(expected)}."
        )


@pytest.mark.usefixtures("done")
def test_strictly_closer_than_max_dist() -> None:
    on_the_circle = center_at(*exercises.ON_THE_CIRCLE)  # exactly 10 away
    assert call(find_close_polygons, [on_the_circle], POINT, 10.0) == [], (
        "Compare with a strict `<`, not `<=` (TODO(5)): a center exactly max_dist away, "
        "(6, 8) from (0, 0), is not close for the baseline, `norm(center - point) < max_dist`."
    )
    assert call(find_close_polygons, [], POINT, 10.0) == [], "no polygons, nothing close"


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(("center", "why"), exercises.boundary())
def test_the_distance_rounds_as_numpys_norm(center: tuple[float, float], why: str) -> None:
    assert call(find_close_polygons, [center_at(*center)], POINT, 10.0) == [], (
        exercises.kept_on_the_boundary(
            "Compute the distance as np.linalg.norm does, `diff.dot(&diff).sqrt()`, and compare it "
            "with a strict `<` (TODO(5)).",
            center,
            why,
        )
    )


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
    assert len(names) == 10, (
        f"Look up .center once per polygon (TODO(2)): 5 polygons, 2 calls, {len(names)} lookups."
    )
    distinct = len({id(name) for name in names})
    assert distinct == 1, (
        'Make the name once and reuse it: `intern!(py, "center")` (TODO(2)). 10 lookups '
        f"of .center (5 polygons, 2 calls) used {distinct} different name strings: a Rust "
        "string literal becomes a new Python string on every lookup."
    )


@pytest.mark.usefixtures("done")
def test_any_iterable_of_polygons() -> None:
    polygons = [center_at(1.0, 1.0), center_at(50.0, 50.0)]
    todo = "Accept any iterable of polygons, as Python does: read them with `common::items`"
    todo += " (TODO(1))"
    try:
        got = call(find_close_polygons, iter(polygons), POINT, 10.0)
    except TypeError as err:
        pytest.fail(f"{todo}. An iterator gave: TypeError: {err}", pytrace=False)
    assert exercises.same_objects(got, polygons[:1]), f"{todo}: an iterator gave {got!r}"


@pytest.mark.usefixtures("done")
def test_runs_the_pipeline() -> None:
    polygons, points = poly_match_exercise1.generate_example()
    pairs = poly_match_exercise1.main(polygons, points)
    checks.assert_same_objects(pairs, points, polygons)


HELPER = (
    'Read the center with `common::borrowed_pair(&center, || format!("polygons[{i}].center"))`'
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
        assert re.search(match, str(err)), f"{HELPER}: expected a {expected}, got: {err}"
    except Exception as err:
        pytest.fail(
            f"{HELPER}: expected a {expected}, got {type(err).__name__}: {err}", pytrace=False
        )
    else:
        pytest.fail(f"{HELPER}: expected a {expected}; nothing was raised", pytrace=False)


@pytest.mark.usefixtures("done")
def test_a_polygon_without_center_is_an_attribute_error() -> None:
    todo = "Let the AttributeError of `getattr` reach Python, with `?` (TODO(2))"
    try:
        call(find_close_polygons, [center_at(1.0, 1.0), object()], POINT, 10.0)
    except AttributeError as err:
        assert "center" in str(err), f"{todo}: it should name .center, got: {err}"
    else:
        pytest.fail(f"{todo}: a polygon without .center raised nothing", pytrace=False)
