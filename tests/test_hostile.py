"""Input a hostile user would try, in every stage it applies to.

Each case gives the baseline's answer or a clear TypeError/ValueError naming the
argument; none aborts or panics (the cases that could run in a fresh interpreter).
"""

from __future__ import annotations

import copy
import json
import math
import multiprocessing
import pickle
from collections.abc import Callable
from typing import Any

import helpers
import numpy as np
import pytest
from helpers import message, packed, same_bits

import poly_match
from workshop import checks, stages, workloads

ALL = ["stage0", "stage1", "stage2", "stage2_alloc", "stage3", "stage4"]
RUST_POLYGON = ["stage2", "stage3", "stage4"]  # stages with their own Polygon class
SIZE = {"n_polygons": 120, "n_points": 60, "seed": 12, "side": 60.0}


def run(name: str, polygons: Any, points: Any, max_dist: float = 10.0) -> list:
    return stages.get(name).entry_point()(polygons, points, max_dist)


def polygon_cls(name: str) -> Callable[..., Any]:
    return stages.get(name).load().Polygon


def assert_baselines_answer(name: str, polygon_args, points, baseline_points=None, **kw) -> None:
    """Stage ``name`` on ``Polygon(x, y)`` for ``polygon_args`` and ``points``: the baseline's
    picks on the same data as plain float64 (``baseline_points``, default ``points``)."""
    base_polys = [
        poly_match.Polygon(np.asarray(x, float), np.asarray(y, float)) for x, y in polygon_args
    ]
    base_points = points if baseline_points is None else baseline_points
    expected = checks.picks(poly_match.main(base_polys, base_points, **kw), base_polys)
    cls = polygon_cls(name)
    ours = [cls(x, y) for x, y in polygon_args]
    result = run(name, ours, points, **kw)
    if isinstance(points, np.ndarray) and points.dtype != object:  # its rows, new views
        assert all(np.shares_memory(point, points) for point, _ in result)
        checks.assert_same_objects(result, [point for point, _ in result], ours)
    else:
        checks.assert_same_objects(result, list(points), ours)
    checks.assert_identical_picks(checks.picks(result, ours), expected)


@pytest.fixture(scope="module")
def distinct():
    """A workload with clearly distinct areas: every stage must pick what the baseline picks."""
    polygons, points = workloads.distinct_areas(**SIZE)
    return [(p.x, p.y) for p in polygons], points


# --- points of every form -------------------------------------------------------------

POINT_FORMS: dict[str, Callable[[list[np.ndarray]], Any]] = {
    "float64": lambda pts: pts,
    "packed (9,) strides": lambda pts: [packed(p) for p in pts],
    "(N, 2) field, strides (17, 8)": lambda pts: packed(np.array(pts)),
    "rows of an (N, 2) field": lambda pts: list(packed(np.array(pts))),
    "float32": lambda pts: [p.astype(np.float32) for p in pts],
    "big-endian >f8": lambda pts: [p.astype(">f8") for p in pts],
    "lists": lambda pts: [p.tolist() for p in pts],
    "tuples": lambda pts: [tuple(p.tolist()) for p in pts],
}
# Where the shared input code trips over an unaligned contiguous row (see above).


def cases(forms: dict, names: list[str]) -> list:
    return [pytest.param(form, name) for form in forms for name in names]


@pytest.mark.parametrize(("form", "name"), cases(POINT_FORMS, ALL))
def test_points_of_any_form_give_the_baselines_answer(distinct, form: str, name: str) -> None:
    polygon_args, points = distinct
    if form == "float32":  # the baseline computes center - point in float64: same values
        baseline_points = [p.astype(np.float32).astype(np.float64) for p in points]
    else:
        baseline_points = points
    assert_baselines_answer(name, polygon_args, POINT_FORMS[form](points), baseline_points)


# --- Polygon coordinates of every form ------------------------------------------------

COORDINATE_FORMS: dict[str, Callable[[np.ndarray], Any]] = {
    "packed (9,) strides": packed,
    "column of an (N, 2) field, strides (17,)": lambda v: packed(np.stack([v, v], 1))[:, 1],
    "float32": lambda v: v.astype(np.float32),
    "big-endian >f8": lambda v: v.astype(">f8"),
    "list": lambda v: v.tolist(),
    "tuple": lambda v: tuple(v.tolist()),
}


@pytest.mark.parametrize(("form", "name"), cases(COORDINATE_FORMS, ALL))
def test_coordinates_of_any_form_give_the_baselines_answer(distinct, form: str, name: str) -> None:
    polygon_args, points = distinct
    to = COORDINATE_FORMS[form]
    if form == "float32":
        polygon_args = [(x.astype(np.float32), y.astype(np.float32)) for x, y in polygon_args]
        assert_baselines_answer(name, polygon_args, points)
    else:
        assert_baselines_answer(name, [(to(x), to(y)) for x, y in polygon_args], points)


@pytest.mark.parametrize("name", RUST_POLYGON)
def test_an_unaligned_contiguous_row_as_coordinates(name: str) -> None:
    """``x`` a row of an (N, 2) field (strides (17, 8)): contiguous but unaligned."""
    x = packed(np.array([[0.0, 4.0], [0.0, 4.0]]))[1]
    assert not x.flags.aligned and x.flags.c_contiguous
    try:
        poly = polygon_cls(name)(x, [0.0, 3.0])
    except (TypeError, ValueError) as err:
        assert str(err).startswith(("x ", "x:")), err
    else:
        assert same_bits(poly.x, np.array([0.0, 4.0]))


@pytest.mark.parametrize("main", ["find_close_polygons", "main"])
@pytest.mark.parametrize("where", ["packed (9,)", "row of (N, 2) field"])
def test_stage_1_reads_an_odd_strided_center_right_or_refuses_it(where: str, main: str) -> None:
    """A center set on a baseline Polygon: the right answer, or a ValueError naming it."""
    import poly_match_stage1

    polygons, points = workloads.distinct_areas(**SIZE)
    expected = checks.picks(poly_match.main(polygons, points), polygons)
    i = 5
    center = polygons[i].center
    odd = packed(center) if where == "packed (9,)" else packed(np.array([center, center]))[1]
    assert np.array_equal(odd, center)
    polygons[i].center = odd
    try:
        if main == "main":
            got = checks.picks(poly_match_stage1.main(polygons, points), polygons)
            assert got == expected
        else:
            for point in points:
                got = poly_match_stage1.find_close_polygons(polygons, point, 10.0)
                assert got == poly_match.find_close_polygons(polygons, point, 10.0)
    except ValueError as err:
        assert f"polygons[{i}].center" in str(err)


# --- the dtype rule: every stage stores float64, so areas are the baseline's -----------


def int64_near_1e8(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        100_000_000 + rng.integers(0, 3, 4),
        100_000_000 + rng.integers(0, 3, 4),
    )


def float32_arc(shift: float) -> tuple[np.ndarray, np.ndarray]:
    arc = poly_match.generate_one_polygon()
    return (arc.x + shift).astype(np.float32), (arc.y + 2 * shift).astype(np.float32)


AREA_INPUTS = {
    **{f"int64 near 1e8 #{k}": (lambda k=k: int64_near_1e8(k)) for k in range(4)},
    **{f"float32 arc +{s}": (lambda s=s: float32_arc(s)) for s in (0.0, 37.0, 91.0)},
}


@pytest.mark.parametrize("name", ["stage0", *RUST_POLYGON])
@pytest.mark.parametrize("given_xy", AREA_INPUTS)
def test_areas_and_centers_equal_the_baselines(given_xy: str, name: str) -> None:
    x, y = AREA_INPUTS[given_xy]()
    cls = polygon_cls(name)
    theirs = poly_match.Polygon(x, y)
    ours = cls(x, y)
    as_float = cls(x.astype(np.float64), y.astype(np.float64))
    # One dtype rule everywhere: the stage computes on the float64 values it stores.
    assert same_bits(ours.area(), as_float.area())
    assert same_bits(ours.center, theirs.center)
    assert same_bits(ours.x, theirs.x) and same_bits(ours.y, theirs.y)
    if stages.get(name).answers == "identical":  # numpy's area: to the bit
        assert same_bits(ours.area(), theirs.area())
    else:  # the area in Rust: the same float64 sum up to rounding (see stage 3's README)
        xf, yf = x.astype(np.float64), y.astype(np.float64)
        scale = np.abs(xf * np.roll(yf, 1)).sum() + np.abs(yf * np.roll(xf, 1)).sum()
        assert ours.area() == pytest.approx(theirs.area(), rel=1e-9, abs=4e-16 * scale)


@pytest.mark.parametrize("name", ALL)
def test_int64_coordinates_and_points_near_1e8_give_the_baselines_answer(name: str) -> None:
    """Rectangles and points with x near 1e8 (as int64) and small y: every product in the
    shoelace is exact in float64, so every stage must pick exactly what the baseline picks."""
    rng = np.random.default_rng(8)
    polygon_args = []
    for _ in range(60):
        x0, y0, w, h = (
            100_000_000 + rng.integers(0, 40),
            rng.integers(0, 40),
            *rng.integers(1, 6, 2),
        )
        polygon_args.append(
            (np.array([x0, x0 + w, x0 + w, x0]), np.array([y0, y0, y0 + h, y0 + h]))
        )
    points = [
        np.array([100_000_000 + rng.integers(-5, 45), rng.integers(-5, 45)]) for _ in range(40)
    ]
    assert all(p.dtype == np.int64 for p in points)
    assert_baselines_answer(name, polygon_args, points)


# --- max_dist ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("max_dist", [0.0, -1.0, math.nan, math.inf])
def test_max_dist_edge_values_give_the_baselines_answer(distinct, max_dist, name) -> None:
    polygon_args, points = distinct
    assert_baselines_answer(name, polygon_args, points, max_dist=max_dist)


# --- error messages name the argument, the same way in every stage -------------------


@pytest.mark.parametrize("name", ALL[1:])
@pytest.mark.parametrize(
    ("bad", "error"),
    [([1.0, "a"], TypeError), ([1.0, 2.0, 3.0], ValueError), ([None, None], TypeError)],
    ids=["str inside", "3 numbers", "None inside"],
)
def test_a_bad_point_given_as_a_list_names_point_or_points_k(name, bad, error) -> None:
    polygons, points = stages.get(name).workload(n_polygons=20, n_points=3)
    with pytest.raises(error) as err:
        run(name, polygons, [*points[:2], bad])
    text = message(err)
    if stages.get(name).answers == "argmin":  # main reads all the points: it names the index
        assert text.startswith("points[2] ")
    else:  # stages 1-2: run_pipeline passes one point at a time to find_close_polygons
        assert text.startswith("point ")


# --- a __len__ that lies: a fresh interpreter per case, as an abort kills it -----------

LIAR = """
import sys
import poly_match
from workshop import stages

class Liar:
    def __init__(self, items): self.items = list(items)
    def __len__(self): return {length}
    def __iter__(self): return iter(self.items)
    def __getitem__(self, i): return self.items[i]

stage = stages.get({name!r})
polygons, points = stage.workload(n_polygons=50, n_points=8)
expected = len(poly_match.main(*poly_match.generate_example(n_polygons=50, n_points=8), 30.0))
try:
    if {direct}:
        got = stage.load().find_close_polygons(Liar(polygons), points[0], 30.0)
        want = len(poly_match.find_close_polygons(poly_match.generate_example(
            n_polygons=50, n_points=8)[0], points[0], 30.0))
        assert len(got) == want, (len(got), want)
    else:
        got = stage.entry_point()(Liar(polygons), points, 30.0)
        assert len(got) == expected, (len(got), expected)
    print("ANSWER")
except (TypeError, ValueError) as err:
    print("REFUSED", type(err).__name__, err, *getattr(err, "__notes__", []))
"""


@pytest.mark.parametrize("length", ["2**40", "sys.maxsize"])
@pytest.mark.parametrize(
    ("name", "direct"),
    [*((n, False) for n in ALL), ("stage1", True)],
    ids=[*ALL, "stage1-find_close"],
)
def test_a_lying_len_neither_aborts_nor_panics(name: str, direct: bool, length: str) -> None:
    out = helpers.python(LIAR.format(length=length, name=name, direct=direct)).strip()
    assert "PanicException" not in out
    assert out == "ANSWER" or (out.startswith("REFUSED") and "polygons" in out), out


# --- pickle, copy, multiprocessing ------------------------------------------------------


def sample_polygon(name: str) -> Any:
    poly = polygon_cls(name)(np.array([0.0, 4.0, 4.0, 0.5]), np.array([0.0, 0.0, 3.0, 3.5]))
    poly.area()  # stage 2 caches it in the instance dict: that must travel too
    return poly


def assert_same_polygon(copied: Any, original: Any) -> None:
    assert type(copied) is type(original) and copied is not original
    for attr in ("x", "y", "center"):
        assert same_bits(getattr(copied, attr), getattr(original, attr)), attr
    assert same_bits(copied.area(), original.area())


COPIES = {
    "pickle": lambda p: pickle.loads(pickle.dumps(p)),
    "pickle protocol 0": lambda p: pickle.loads(pickle.dumps(p, protocol=0)),
    "copy.copy": copy.copy,
    "copy.deepcopy": copy.deepcopy,
}


@pytest.mark.parametrize("name", ["stage0", *RUST_POLYGON])
@pytest.mark.parametrize("how", COPIES)
def test_polygons_pickle_and_copy(name: str, how: str) -> None:
    poly = sample_polygon(name)
    assert_same_polygon(COPIES[how](poly), poly)


def test_a_copied_polygon_is_found_like_the_original() -> None:
    for name in RUST_POLYGON:
        polygons, points = stages.get(name).workload(n_polygons=100, n_points=20)
        copies = copy.deepcopy(polygons)
        expected = checks.picks(run(name, polygons, points), polygons)
        assert checks.picks(run(name, copies, points), copies) == expected


@pytest.fixture(scope="module")
def pool():
    """One worker in a fresh interpreter (spawn: no state inherited from this process)."""
    with multiprocessing.get_context("spawn").Pool(1) as workers:
        yield workers


@pytest.mark.parametrize("name", ["stage0", *RUST_POLYGON])
def test_polygons_travel_through_multiprocessing(pool, name: str) -> None:
    polygons = [sample_polygon(name), polygon_cls(name)([1.0, 2.0, 2.0], [0.0, 0.0, 5.0])]
    areas = pool.map(helpers.area_of, polygons)
    assert [same_bits(a, p.area()) for a, p in zip(areas, polygons, strict=True)] == [True] * 2
    for back, poly in zip(pool.map(helpers.identity, polygons), polygons, strict=True):
        assert_same_polygon(back, poly)


# --- points as real programs hand them over ------------------------------------------


def integer_points(points: list[np.ndarray]) -> list[np.ndarray]:
    """The points rounded to integers: exact as float32, int64 or big-endian float64."""
    return [np.round(p) for p in points]


COLUMN_MAJOR = {
    # pandas' DataFrame.to_numpy() and `.T` views hand over column-major arrays, and a
    # dtype cast keeps that layout.
    "float64 .T view": lambda xs, ys: np.array([xs, ys]).T,
    "float32 .T view": lambda xs, ys: np.array([xs, ys], np.float32).T,
    "int64, column-major": lambda xs, ys: np.asfortranarray(np.array([xs, ys]).T, np.int64),
    "big-endian >f8, column-major": lambda xs, ys: np.array([xs, ys], ">f8").T,
    "every other row of a float32 array": lambda xs, ys: np.repeat(
        np.array([xs, ys], np.float32).T, 2, axis=0
    )[::2],
}


@pytest.mark.parametrize(("form", "name"), cases(COLUMN_MAJOR, ALL))
def test_column_major_and_cast_point_arrays_give_the_baselines_answer(distinct, form, name):
    polygon_args, points = distinct
    points = integer_points(points)
    xs, ys = np.array(points).T
    array = COLUMN_MAJOR[form](xs, ys)
    assert array.shape == (len(points), 2)
    assert_baselines_answer(name, polygon_args, array, baseline_points=list(array.astype(float)))


@pytest.mark.parametrize("name", ALL)
def test_points_of_shape_0_an_object_array_and_a_list_subclass(distinct, name) -> None:
    polygon_args, points = distinct
    assert_baselines_answer(name, polygon_args, np.zeros((0,)))
    assert_baselines_answer(name, polygon_args, np.zeros((0, 2)))
    objects = np.empty(len(points), dtype=object)
    objects[:] = points
    assert_baselines_answer(name, polygon_args, objects, baseline_points=points)


class FirstHalf(list):
    """A list whose iteration yields only its first half: ``for x in it`` must see that."""

    def __iter__(self):
        return iter(list(super().__iter__())[: len(self) // 2])


@pytest.mark.parametrize("name", ALL)
def test_a_list_subclass_is_iterated_not_read_from_its_storage(distinct, name) -> None:
    polygon_args, points = distinct
    base = [poly_match.Polygon(x, y) for x, y in polygon_args]
    expected = checks.picks(poly_match.main(FirstHalf(base), FirstHalf(points)), base)
    cls = polygon_cls(name)
    ours = [cls(x, y) for x, y in polygon_args]
    got = checks.picks(run(name, FirstHalf(ours), FirstHalf(points)), ours)
    assert got == expected
    assert len(expected) < len(checks.picks(poly_match.main(base, points), base))


# --- max_dist of any numeric type: compared as the baseline compares ---------------------


def boundary_workload() -> tuple[list, list, float]:
    """Centers at exactly representable distances d from their points, so that a
    max_dist just above d (closer than a float can say) decides the answer."""
    polygon_args = [
        (np.array([0.0, 6.0, 0.0]) + k * 100, np.array([0.0, 0.0, 6.0])) for k in range(4)
    ]
    centers = [(2.0 + k * 100, 2.0) for k in range(4)]
    points = [np.array([cx + 3.0, cy + 4.0]) for cx, cy in centers]  # exactly 5 away
    return polygon_args, points, 5.0


MAX_DISTS = {
    "Decimal just above": lambda d: (
        __import__("decimal").Decimal(d) + __import__("decimal").Decimal("1e-20")
    ),
    "Fraction just above": lambda d: (
        __import__("fractions").Fraction(d) + __import__("fractions").Fraction(1, 10**30)
    ),
    "longdouble just above": lambda d: np.nextafter(np.longdouble(d), np.longdouble(np.inf)),
    "int equal": lambda d: int(d),
    "Fraction beyond the float range": lambda d: __import__("fractions").Fraction(10**400),
    "Decimal equal": lambda d: __import__("decimal").Decimal(d),
}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("kind", MAX_DISTS)
def test_a_max_dist_between_two_floats_is_compared_exactly(name: str, kind: str) -> None:
    """The baseline compares numpy's float64 distance with max_dist itself, and Python
    compares a float with an int, Decimal, Fraction or longdouble exactly: a distance of
    exactly 5 is below Decimal('5') + 1e-30, though float(that) == 5.0."""
    polygon_args, points, d = boundary_workload()
    max_dist = MAX_DISTS[kind](d)
    assert_baselines_answer(name, polygon_args, points, max_dist=max_dist)
    base = [poly_match.Polygon(x, y) for x, y in polygon_args]
    closer = len(poly_match.main(base, points, max_dist))
    assert closer == (0 if "equal" in kind else len(points))


@pytest.mark.parametrize("name", ALL[1:])
def test_a_max_dist_that_is_not_a_float_names_max_dist(name: str) -> None:
    polygons, points = stages.get(name).workload(n_polygons=20, n_points=3)
    with pytest.raises(TypeError, match="max_dist must be a real number, not str"):
        run(name, polygons, points, "10")
    # numpy cannot compare a float with an int beyond the float range, nor can we.
    with pytest.raises(OverflowError, match="max_dist"):
        run(name, polygons, points, 10**400)
    with pytest.raises(OverflowError):
        run("stage0", *stages.get("stage0").workload(n_polygons=20, n_points=3), 10**400)


def test_stage_1_names_the_polygon_without_a_center() -> None:
    import poly_match_stage1

    polygons, points = poly_match.generate_example(n_polygons=5, n_points=2)
    with pytest.raises(AttributeError, match=r"^polygons\[3\]: .*'center'"):
        poly_match_stage1.find_close_polygons([*polygons[:3], object()], points[0], 10.0)


# --- subclasses of a Rust Polygon -------------------------------------------------------


@pytest.mark.parametrize("name", RUST_POLYGON)
def test_polygons_can_be_weakly_referenced(name: str) -> None:
    import weakref

    poly = sample_polygon(name)
    ref = weakref.ref(poly)
    assert ref() is poly
    del poly
    assert ref() is None


def _subclasses(name: str) -> tuple[type, type]:
    """Two subclasses of stage ``name``'s Polygon, defined at module level (pickle finds
    a class by its module and name): one with ``__slots__``, one holding a lock that its
    ``__getstate__`` leaves out."""
    import threading

    class Tagged(polygon_cls(name)):
        __slots__ = ("tag",)

    class Locked(polygon_cls(name)):
        def __getstate__(self):
            state = self.__dict__.copy()
            del state["lock"]
            return state

        def __setstate__(self, state):
            self.__dict__.update(state)
            self.lock = threading.Lock()

    for cls in (Tagged, Locked):
        cls.__qualname__ = cls.__name__ = f"{cls.__name__}_{name}"
        globals()[cls.__name__] = cls
    return Tagged, Locked


# Only the stages installed here: `make test` also runs this file in a clean venv that holds
# one stage's wheel (workshop.wheel), selecting that stage's cases.
SUBCLASSES = {
    name: _subclasses(name) for name in ["stage0", *RUST_POLYGON] if stages.get(name).is_available()
}


@pytest.mark.parametrize("name", ["stage0", *RUST_POLYGON])
@pytest.mark.parametrize("how", COPIES)
def test_subclasses_pickle_and_copy_as_python_classes_do(name: str, how: str) -> None:
    """Python's own protocol: a subclass's __slots__ travel, its __getstate__ is used."""
    tagged_cls, locked_cls = SUBCLASSES[name]
    if how != "pickle protocol 0":  # Python refuses __slots__ below protocol 2
        tagged = tagged_cls(np.array([0.0, 4.0, 0.0]), np.array([0.0, 0.0, 3.0]))
        tagged.tag = "kept"
        copied = COPIES[how](tagged)
        assert_same_polygon(copied, tagged)
        assert copied.tag == "kept"
    locked = locked_cls(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    locked.note, locked.lock = "n", __import__("threading").Lock()
    back = COPIES[how](locked)
    assert_same_polygon(back, locked)
    assert back.note == "n" and back.lock is not locked.lock


OVERRIDES = {
    "stage2": ["x", "y", "center"],
    "stage3": ["x", "y", "center", "area"],
    "stage4": ["x", "y", "center", "area"],
}


@pytest.mark.parametrize(
    ("name", "attribute"), [(n, a) for n, attrs in OVERRIDES.items() for a in attrs]
)
def test_replacing_what_rust_reads_is_refused_when_the_subclass_is_defined(name, attribute):
    """The search reads the center (and in stages 3-4 the area) Rust computed when the
    polygon was built: a subclass replacing it would be silently ignored, so it is refused."""
    namespace = {attribute: property(lambda self: 0.0)}
    with pytest.raises(TypeError, match=f"overrides {attribute}, but the search reads"):
        type("Moved", (polygon_cls(name),), namespace)
    # Adding is fine, and so is a subclass of a subclass that adds.
    added = type("Named", (polygon_cls(name),), {"name": "added"})
    type("Deeper", (added,), {"more": 1})


@pytest.mark.parametrize("name", RUST_POLYGON)
def test_a_rust_polygon_keeps_copies_as_its_docstring_says(name: str) -> None:
    """The baseline's Polygon keeps a float64 array it is given, so editing the array moves
    it; a Rust Polygon keeps copies, and says so."""
    x, y = np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0])
    baseline, ours = poly_match.Polygon(x, y), polygon_cls(name)(x, y)
    center = ours.center
    x[:] = 100.0
    assert baseline.x.tolist() == [100.0] * 3
    assert ours.x.tolist() == [0.0, 1.0, 1.0] and same_bits(ours.center, center)
    assert "Keeps copies" in " ".join((polygon_cls(name).__doc__ or "").split())


def test_stage_2_honours_an_area_override_as_the_baseline_does(distinct) -> None:
    """Stage 2 keeps area() and the selection in Python: an override there counts."""
    polygon_args, points = distinct

    def smallest_is_largest(cls):
        return type("Inverted", (cls,), {"area": lambda self: -cls.area(self)})

    base_cls, ours_cls = (
        smallest_is_largest(poly_match.Polygon),
        smallest_is_largest(polygon_cls("stage2")),
    )
    base = [base_cls(x, y) for x, y in polygon_args]
    ours = [ours_cls(x, y) for x, y in polygon_args]
    expected = checks.picks(poly_match.main(base, points), base)
    assert checks.picks(run("stage2", ours, points), ours) == expected


# --- input the stages compute in float64, read once, or take from the Rust struct ---------
# Masked arrays, long doubles, a one-shot iterator, classes changed after their statement:
# each stage gives the baseline's answer or an error naming the argument. The cases run in
# a bounded child interpreter per stage (some change classes), the baseline in another.

WIDE_CASES: dict[str, Callable[..., list]] = {}


def wide_case(function: Callable[..., list]) -> Callable[..., list]:
    WIDE_CASES[function.__name__.replace("_", " ")] = function
    return function


def _polygons(cls: Any, polygon_args) -> list:
    return [cls(x, y) for x, y in polygon_args]


def _picks(main: Callable[..., Any], polygons: list, points: Any) -> list:
    return checks.picks(main(polygons, points), polygons)


def _far(self: Any) -> np.ndarray:
    return np.array([1e9, 1e9])


@wide_case
def a_masked_point(module, main, polygon_args, points) -> list:
    masked = np.ma.array(points[0], mask=[True, False])
    return _picks(main, _polygons(module.Polygon, polygon_args), [masked, *points[1:]])


@wide_case
def points_in_a_masked_array(module, main, polygon_args, points) -> list:
    rows = np.ma.array(np.array(points), mask=False)
    rows[3, 1] = np.ma.masked
    return _picks(main, _polygons(module.Polygon, polygon_args), rows)


@wide_case
def a_masked_array_with_nothing_masked(module, main, polygon_args, points) -> list:
    return _picks(main, _polygons(module.Polygon, polygon_args), [np.ma.array(p) for p in points])


@wide_case
def masked_coordinates(module, main, polygon_args, points) -> list:
    """numpy's ``asarray(x, dtype=float64)`` in the baseline's Polygon drops the mask."""
    masked = [(np.ma.array(x, mask=np.arange(len(x)) == 1), y) for x, y in polygon_args]
    return _picks(main, _polygons(module.Polygon, masked), points)


@wide_case
def long_double_points(module, main, polygon_args, points) -> list:
    return _picks(
        main, _polygons(module.Polygon, polygon_args), [p.astype(np.longdouble) for p in points]
    )


@wide_case
def complex_long_double_points(module, main, polygon_args, points) -> list:
    wide = [p.astype(np.clongdouble) for p in points]
    return _picks(main, _polygons(module.Polygon, polygon_args), wide)


@wide_case
def long_double_coordinates(module, main, polygon_args, points) -> list:
    """Stored as float64 by the baseline's Polygon too."""
    wide = [(x.astype(np.longdouble), y.astype(np.longdouble)) for x, y in polygon_args]
    return _picks(main, _polygons(module.Polygon, wide), points)


@wide_case
def polygons_from_a_generator(module, main, polygon_args, points) -> list:
    """The baseline's loop over the points uses the generator up on the first point."""
    polygons = _polygons(module.Polygon, polygon_args)
    return checks.picks(main((p for p in polygons), points), polygons)


@wide_case
def column_names_from_iterating_a_data_frame(module, main, polygon_args, points) -> list:
    return _picks(main, _polygons(module.Polygon, polygon_args), ["x", "y"])


@wide_case
def area_replaced_after_the_class_statement(module, main, polygon_args, points) -> list:
    sub = type("Sub", (module.Polygon,), {})
    polygons = _polygons(sub, polygon_args)
    sub.area = lambda self: -module.Polygon.area(self)
    return _picks(main, polygons, points)


@wide_case
def center_replaced_after_the_class_statement(module, main, polygon_args, points) -> list:
    sub = type("Sub", (module.Polygon,), {})
    polygons = _polygons(sub, polygon_args)
    sub.center = property(_far)
    return _picks(main, polygons, points)


@wide_case
def the_polygon_class_s_own_center_replaced(module, main, polygon_args, points) -> list:
    polygons = _polygons(module.Polygon, polygon_args)
    saved = vars(module.Polygon).get("center")
    module.Polygon.center = property(_far)
    try:
        return _picks(main, polygons, points)
    finally:
        if saved is None:
            del module.Polygon.center
        else:
            module.Polygon.center = saved


def wide_outcomes(name: str) -> dict[str, list]:
    """Every case on stage ``name``: ``["answer", picks]`` or ``[exception type, message]``."""
    stage = stages.get(name)
    polygons, points = workloads.distinct_areas(**SIZE)
    polygon_args = [(p.x, p.y) for p in polygons]
    module, main = stage.load(), stage.entry_point()
    out = {}
    for case, function in WIDE_CASES.items():
        try:
            out[case] = ["answer", function(module, main, polygon_args, points)]
        except (TypeError, ValueError, MemoryError) as err:
            out[case] = [type(err).__name__, message_of(err)]
    return out


def message_of(err: BaseException) -> str:
    return " ".join([str(err), *getattr(err, "__notes__", [])])


# What each stage refuses, the exception and words its message must hold; every other case
# gives the baseline's answer.
POINT_NAME = {"stage1": "point ", "stage2": "point ", "stage3": "points", "stage4": "points"}
WIDE_REFUSED: dict[str, dict[str, tuple[str, list[str]]]] = {
    name: {
        "a masked point": ("ValueError", [POINT_NAME[name], "masked"]),
        "points in a masked array": ("ValueError", [POINT_NAME[name], "masked"]),
        "long double points": ("TypeError", [POINT_NAME[name], "wider than float64"]),
        "complex long double points": ("TypeError", [POINT_NAME[name], "real numbers"]),
        "column names from iterating a data frame": ("TypeError", ["DataFrame", "to_numpy()"]),
        **(
            {"polygons from a generator": ("TypeError", ["polygons", "one-shot", "list("])}
            if name in ("stage3", "stage4")
            else {}
        ),
        **(
            {"area replaced after the class statement": ("TypeError", ["overrides area"])}
            if name in ("stage3", "stage4")
            else {}
        ),
        **(
            {
                "center replaced after the class statement": ("TypeError", ["overrides center"]),
                "the polygon class s own center replaced": ("TypeError", ["overrides center"]),
            }
            if name != "stage1"
            else {}
        ),
    }
    for name in ["stage1", "stage2", "stage3", "stage4"]
}


WIDE_CHILD = "import json, test_hostile as t; print(json.dumps(t.wide_outcomes({name!r})))"


@pytest.fixture(scope="module")
def wide_baseline() -> dict[str, list]:
    return json.loads(helpers.python(WIDE_CHILD.format(name="stage0")))


@pytest.mark.parametrize("name", list(WIDE_REFUSED))
def test_masked_wide_one_shot_and_changed_input(wide_baseline, name: str) -> None:
    """Masked points (the baseline counts a masked coordinate as no distance at all), points
    wider than float64 (the baseline computes in long double), a generator of polygons in
    stages 3-4 (the baseline uses it up on the first point), a Polygon class whose center
    or area is replaced after its statement (stages 2-4 read Rust's): refused, naming the
    argument. Masked or long double coordinates: the baseline's answer (its Polygon stores
    float64, the mask dropped). The column names a DataFrame yields: a hint."""
    got = json.loads(helpers.python(WIDE_CHILD.format(name=name), timeout=300))
    assert set(got) == set(wide_baseline) == set(WIDE_CASES)
    for case, (kind, value) in got.items():
        if case in WIDE_REFUSED[name]:
            error, words = WIDE_REFUSED[name][case]
            assert kind == error and all(w in value for w in words), (case, kind, value)
        else:
            assert wide_baseline[case][0] == "answer", (case, wide_baseline[case])
            assert [kind, value] == wide_baseline[case], case
