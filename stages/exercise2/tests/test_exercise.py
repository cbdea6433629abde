"""Is your stage 2 right, and is its loop free? Run by ``make check-exercise STAGE=2``.

Answers are checked by calling the module you built. "No borrow flag, no Python
call, no allocation in the loop" cannot be seen from Python (a Rust allocation is
invisible to tracemalloc), so those checks read your ``src/lib.rs``
(``POLY_MATCH_EXERCISE_SRC`` overrides the path: ``tests/test_exercise_meta.py``
points it at what it built: the answer, ``stages/exercise2/solution.rs``, and each natural
mistake). No timing: this machine's speed is not the lesson.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import poly_match
from workshop import checks, exercises, workloads

poly_match_exercise2 = exercises.built(2)
Polygon = poly_match_exercise2.Polygon
find_close_polygons = poly_match_exercise2.find_close_polygons

EXERCISE = exercises.stage(2)
SOURCE = exercises.source(__file__)
POINT = np.array([0.0, 0.0])


def at(x: float, y: float) -> Polygon:
    """A one-vertex polygon: its center is exactly ``(x, y)``."""
    return Polygon(np.array([x]), np.array([y]))


call = exercises.caller(
    "return a PyResult error instead of an `unwrap()` of what the caller controls."
)


def attempt() -> object:
    """The call that raises the starter's NotImplementedError until the TODOs are done."""
    return find_close_polygons([at(1.0, 1.0)], POINT, 10.0)


done = exercises.done_fixture(attempt)


def search_body() -> str:
    """The text of ``fn find_close_polygons`` in your lib.rs, comments removed."""
    body = exercises.rust_fn(SOURCE, "find_close_polygons")
    # `|| "point".to_owned()` names the argument in an error message: not the center.
    return re.sub(r'"[^"]*"\.to_owned\(\)', '""', body)


def test_the_todos_are_done() -> None:
    exercises.fail_if_not_done(attempt, 2)
    result = call(find_close_polygons, [at(1.0, 1.0)], POINT, 10.0)
    assert isinstance(result, list), f"Return a list (a Vec in Rust), not {type(result)}."


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_same_picks_as_the_baseline(workload: str) -> None:
    exercises.same_picks(
        call,
        EXERCISE,
        workload,
        "Return the polygons whose center is strictly closer than max_dist, the "
        "caller's objects in input order (TODO(3), TODO(4)).",
    )


@pytest.mark.usefixtures("done")
def test_the_center_is_numpys_mean() -> None:
    polygons, _ = workloads.distinct_areas(Polygon)
    baseline, _ = workloads.distinct_areas()
    for k, (mine, theirs) in enumerate(zip(polygons, baseline, strict=True)):
        assert np.array_equal(mine.center, theirs.center), (
            "Compute the center with `common::Vertices::center` (numpy's summation order), "
            f"once, when the polygon is built (TODO(2)): polygon {k}'s center is "
            f"{mine.center!r}, numpy's mean {theirs.center!r}."
        )


@pytest.mark.usefixtures("done")
def test_same_polygon_objects_in_the_same_order() -> None:
    polygons, points = workloads.canonical(Polygon)
    for point in points:
        got = call(find_close_polygons, polygons, point, 10.0)
        expected = poly_match.find_close_polygons(polygons, point, 10.0)
        assert exercises.same_objects(got, expected), (
            "Return the caller's polygon objects, in input order, those with "
            f"norm(center - point) < max_dist (TODO(3)): for the point {point} your "
            f"search returned {len(got)}, the baseline {len(expected)}."
        )


@pytest.mark.usefixtures("done")
def test_strictly_closer_than_max_dist() -> None:
    assert call(find_close_polygons, [at(*exercises.ON_THE_CIRCLE)], POINT, 10.0) == [], (
        "Compare with a strict `<`, not `<=` (TODO(4)): a center exactly max_dist away, "
        "(6, 8) from (0, 0), is not close for the baseline, `norm(center - point) < max_dist`."
    )
    assert call(find_close_polygons, [], POINT, 10.0) == [], "no polygons, nothing close"


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(("center", "why"), exercises.boundary())
def test_the_distance_rounds_as_numpys_norm(center: tuple[float, float], why: str) -> None:
    assert call(find_close_polygons, [at(*center)], POINT, 10.0) == [], (
        exercises.kept_on_the_boundary(
            "Compute the distance as np.linalg.norm does for 2 numbers, "
            "`(dx * dx + dy * dy).sqrt()`, and compare it with a strict `<` (TODO(4)).",
            center,
            why,
        )
    )


@pytest.mark.usefixtures("done")
def test_an_item_that_is_not_a_polygon_is_a_type_error_naming_it() -> None:
    polygons = [at(1.0, 1.0), poly_match.Polygon(np.array([1.0]), np.array([1.0]))]
    todo = "Read each item with `common::polygon::<Polygon>(i, &poly)?` (TODO(3))"
    try:
        call(find_close_polygons, polygons, POINT, 10.0)
    except TypeError as err:
        assert re.search(r"polygons\[1\] must be a", str(err)), (
            f"{todo}: its TypeError names the item, `polygons[1] must be a ...`; got: {err}"
        )
    else:
        pytest.fail(f"{todo}: a baseline Polygon in the list raised no TypeError", pytrace=False)


@pytest.mark.usefixtures("done")
def test_runs_the_pipeline() -> None:
    polygons, points = poly_match_exercise2.generate_example()
    pairs = poly_match_exercise2.main(polygons, points)
    checks.assert_same_objects(pairs, points, polygons)


# --- the lesson: what the loop does not do (read from your source) ---------------------


@pytest.mark.usefixtures("done")
def test_the_class_is_frozen() -> None:
    found = re.search(
        r"#\[pyclass\(([^\]]*)\)\][^{;]*?struct\s+Polygon\b", exercises.code(SOURCE.read_text())
    )
    assert found, f"Keep the `#[pyclass(...)] pub struct Polygon` (TODO(1)): none in {SOURCE}."
    assert re.search(r"\bfrozen\b", found.group(1)), (
        "Make the class frozen, `#[pyclass(frozen, ...)]` (TODO(1)): "
        f"`#[pyclass({found.group(1)})]` may be changed in place, so every read sets and "
        "clears a borrow flag (with atomic instructions since PyO3 0.23), stage 2's largest "
        "cost. `frozen` promises PyO3 it never changes, so `.get()` hands out a plain "
        "`&Polygon` with no check."
    )


# A field on the heap: the center would be a pointer away, and built with an allocation.
HEAP = re.compile(r"\b(Vec|Array\w*|Box|Rc|Arc|Py|Bound|String)\s*<")


@pytest.mark.usefixtures("done")
def test_the_center_is_stored_as_plain_numbers() -> None:
    source = exercises.code(SOURCE.read_text())
    struct = re.search(r"struct\s+Polygon\s*\{(.*?)\}", source, re.S)
    assert struct, f"Keep `struct Polygon {{ ... }}` (TODO(2)): none in {SOURCE}."
    fields = [f for f in re.findall(r"(\w+)\s*:\s*([^,]+)", struct.group(1)) if f[0] != "vertices"]
    assert fields, (
        "Store the center in the struct when the polygon is built (TODO(2)): struct Polygon "
        "has no field besides `vertices`, so the search would compute the mean on every read."
    )
    heap = [f"{name}: {kind.strip()}" for name, kind in fields if HEAP.search(kind)]
    assert not heap, (
        "Store the center as plain numbers inside the object, `[f64; 2]` (TODO(2)): "
        f"`{heap[0]}` lives on the heap, a pointer away, and each one costs an allocation."
    )


NO_BORROW = (
    "Read the Polygon with `.get()` on the frozen class (TODO(1), TODO(3)): `{found}` "
    "sets and clears the borrow flag for every polygon"
)
NO_PYTHON = "Read the Rust struct, not Python (TODO(3)): `{found}` asks Python inside the loop"
NO_COPY = (
    "Read the center where it lies, `&...get().center`, a reference into the struct "
    "(TODO(3)): `{found}` copies it to the heap, a malloc and a free per polygon per point"
)
NO_MEAN = (
    "Read the center stored in the struct (TODO(2), TODO(3)): `{found}` reaches the "
    "vertices, so the search computes what the constructor should have, once"
)


@pytest.mark.usefixtures("done")
@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"\btry_borrow\w*\s*\(|\.borrow(_mut)?\s*\(|\bPyRef(Mut)?\b", NO_BORROW),
        (r"\bgetattr\b|\bcall_method\w*\s*\(|\.call[01]?\s*\(", NO_PYTHON),
        (r"\.to_vec\s*\(|\.to_owned\s*\(|\bArray1?\b|Vec::from\b|\bvec!", NO_COPY),
        (r"\bvertices\b|\.center\s*\(\)", NO_MEAN),
    ],
    ids=["borrow-flag", "python-call", "allocation", "mean"],
)
def test_the_search_loop_is_free(pattern: str, why: str) -> None:
    found = re.search(pattern, search_body())
    assert found is None, why.format(found=found.group(0) if found else "") + "."
