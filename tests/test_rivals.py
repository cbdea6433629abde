"""The rivals without Rust (numpy-vectorized, Numba, SciPy) against the baseline.

Each must return exactly the baseline's picks: the same close test (strict ``<``
on ``np.linalg.norm``), the same scan (the first close polygon, replaced only by a
strictly smaller area, so NaN areas follow the baseline too) and the caller's own
objects. No timing here: that is `make bench`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import poly_match
import poly_match_numba
import poly_match_scipy
import poly_match_vectorized
from workshop import analyse, checks, fp, stages, workloads
from workshop.stacks import Profile

RIVALS = {
    "vectorized": poly_match_vectorized,
    "numba": poly_match_numba,
    "scipy": poly_match_scipy,
}
NAN, INF = math.nan, math.inf


def polygon_at(cx: float, cy: float, area: float) -> poly_match.Polygon:
    """A baseline Polygon whose center is exactly ``(cx, cy)``, with its area set."""
    poly = poly_match.Polygon(np.array([cx, cx]), np.array([cy, cy]))
    poly._area = area  # the baseline's cache: area() returns it
    return poly


def assert_as_baseline(module, polygons, points, max_dist=10.0) -> list:
    expected = checks.picks(poly_match.main(polygons, points, max_dist), polygons)
    result = module.main(polygons, points, max_dist)
    checks.assert_same_objects(result, points, polygons)
    checks.assert_identical_picks(checks.picks(result, polygons), expected)
    return result


# --- the registry and the API ------------------------------------------------------


@pytest.mark.parametrize("name", list(RIVALS))
def test_registered_with_the_baselines_api(name: str) -> None:
    stage = stages.get(name)
    assert stage.crate is None and stage.answers == "identical"
    module = stage.load()
    assert module is RIVALS[name]
    assert module.Polygon is poly_match.Polygon
    assert module.generate_example is poly_match.generate_example


def test_numba_compiled_at_import() -> None:
    seconds = poly_match_numba.warm_up()
    assert seconds > 0
    assert poly_match_numba._best_polygons_jit.signatures  # compiled, not lazily on a call


# --- the workloads the benchmark checks ----------------------------------------------


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("workload", ["canonical", "distinct"])
def test_identical_picks(name: str, workload: str) -> None:
    assert checks.check_stage(stages.get(name), workload=workload) > 0


@pytest.mark.parametrize("name", list(RIVALS))
def test_returns_the_callers_points_and_polygons(name: str) -> None:
    polygons, points = workloads.canonical()
    result = RIVALS[name].main(polygons, points)
    index = {id(p): i for i, p in enumerate(points)}
    assert [index[id(point)] for point, _ in result] == sorted(index[id(p)] for p, _ in result)
    for point, poly in result:
        assert point is points[index[id(point)]]
        assert any(poly is p for p in polygons)


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), max_dist=st.floats(1.0, 30.0))
def test_random_workloads_identical_picks(seed: int, max_dist: float) -> None:
    size = {"n_polygons": 60, "n_points": 40, "seed": seed, "side": 60.0}
    polygons, points = workloads.distinct_areas(**size)
    for module in RIVALS.values():
        assert_as_baseline(module, polygons, points, max_dist)


# --- empty input ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(RIVALS))
def test_empty_inputs_give_no_pairs(name: str) -> None:
    polygons, points = workloads.canonical(n_polygons=10, n_points=5)
    main = RIVALS[name].main
    assert poly_match.main([], points) == [] == main([], points)
    assert poly_match.main(polygons, []) == [] == main(polygons, [])
    assert main([], []) == []


# --- the close test: strict, exact at the boundary -------------------------------------


@pytest.mark.parametrize("name", list(RIVALS))
def test_a_center_exactly_max_dist_away_is_not_close(name: str) -> None:
    on_the_circle = [polygon_at(6.0, 8.0, 1.0), polygon_at(-10.0, 0.0, 1.0)]
    on_the_circle.append(polygon_at(0.0, 10.0, 1.0))
    inside = polygon_at(7.0, 7.0, 5.0)  # 9.899 away
    point = np.array([0.0, 0.0])
    main = RIVALS[name].main
    assert main(on_the_circle, [point], 10.0) == []
    result = assert_as_baseline(RIVALS[name], [*on_the_circle, inside], [point], 10.0)
    assert result[0][1] is inside
    assert len(main(on_the_circle, [point], 10.5)) == 1


lattice = st.integers(-12, 12).map(float)
area = st.sampled_from([0.5, 1.0, 1.0, 2.0, NAN, INF])


@settings(deadline=None, max_examples=300)
@given(
    centers=st.lists(st.tuples(lattice, lattice, area), max_size=25),
    points=st.lists(st.tuples(lattice, lattice), max_size=8),
    max_dist=st.integers(0, 20).map(float),
)
def test_integer_lattice_identical_picks(
    centers: list[tuple[float, float, float]], points: list[tuple[float, float]], max_dist: float
) -> None:
    """Integer distances hit ``max_dist`` exactly (3-4-5, 6-8-10, ...); ties and NaN abound."""
    polygons = [polygon_at(x, y, a) for x, y, a in centers]
    pts = [np.array(p) for p in points]
    for module in RIVALS.values():
        assert_as_baseline(module, polygons, pts, max_dist)


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("max_dist", [0.0, -1.0, NAN, INF, 1e-300, 1e200])
def test_odd_max_dist_as_baseline(name: str, max_dist: float) -> None:
    polygons = [polygon_at(1.0, 1.0, 2.0), polygon_at(0.0, 0.0, 1.0), polygon_at(50.0, 3.0, 0.5)]
    assert_as_baseline(RIVALS[name], polygons, [np.array([0.0, 0.0])], max_dist)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("name", list(RIVALS))
def test_non_finite_and_huge_coordinates_as_baseline(name: str) -> None:
    """NaN or inf is never close; squares that overflow are never close; 1e200 - 1e200 is."""
    polygons = [
        polygon_at(NAN, 0.0, 0.1),
        polygon_at(INF, 0.0, 0.1),
        polygon_at(1e200, 1e200, 3.0),
        polygon_at(1.0, 1.0, 2.0),
        polygon_at(1e160, 0.0, 0.1),
    ]
    points = [np.array(p) for p in ([0.0, 0.0], [NAN, 0.0], [1e200, 1e200], [-INF, 1.0])]
    result = assert_as_baseline(RIVALS[name], polygons, points)
    assert [poly for _, poly in result] == [polygons[3], polygons[2]]


# --- the scan: NaN and inf areas as the baseline has them ---------------------------------


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize(
    ("areas", "expected"),
    [
        ([NAN, 1.0, 0.5], 1),  # a NaN first stays
        ([2.0, NAN, 1.0], 3),  # a later NaN never wins
        ([2.0, NAN, 2.0], 1),  # nor does it reset a tie
        ([NAN, NAN, NAN], 1),
        ([INF, NAN, INF], 1),  # nothing strictly less than the first
        ([INF, 5.0, NAN], 2),
        ([1.0, 1.0, 1.0], 1),  # a tie: the first wins
    ],
)
def test_nan_and_inf_areas_follow_the_scan(name: str, areas: list[float], expected: int) -> None:
    # Polygon 0 is far from the point, so a rival that picks outside the close ones shows.
    polygons = [polygon_at(90.0, 90.0, 0.1)]
    polygons += [polygon_at(float(i), 0.0, a) for i, a in enumerate(areas, start=1)]
    result = assert_as_baseline(RIVALS[name], polygons, [np.array([0.0, 0.0])])
    assert result[0][1] is polygons[expected]


@pytest.mark.parametrize("name", list(RIVALS))
def test_canonical_with_nan_areas(name: str) -> None:
    """The baseline's own polygons, every seventh area overridden to NaN."""
    polygons, points = workloads.canonical()
    for poly in polygons[::7]:
        poly._area = NAN
    result = assert_as_baseline(RIVALS[name], polygons, points)
    assert any(math.isnan(poly.area()) for _, poly in result)


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), every=st.integers(1, 5))
def test_random_nan_areas_identical_picks(seed: int, every: int) -> None:
    size = {"n_polygons": 60, "n_points": 40, "seed": seed, "side": 60.0}
    polygons, points = workloads.distinct_areas(**size)
    for poly in polygons[seed % every :: every]:
        poly._area = NAN
    for module in RIVALS.values():
        assert_as_baseline(module, polygons, points)


# --- the profile claims about them, seen to fail on hand-written stacks ------------------

ENTRY = "run (workshop/run.py:41)"


def fake(name: str, stacks: dict[str, int]) -> Profile:
    return Profile(
        name, {(ENTRY, *stack.split(";")): n for stack, n in stacks.items()}, {"entry_frame": ENTRY}
    )


def test_the_numba_claim_holds_and_can_fail() -> None:
    main = "main (poly_match_numba.py:85)"
    read = f"{main};main.<locals>.<listcomp> (poly_match_numba.py:82)"
    assert analyse.claim_numba(fake("numba", {f"{main};[?]": 30, read: 70})).holds
    assert not analyse.claim_numba(fake("numba", {f"{main};[?]": 70, read: 30})).holds
    named = f"{main};_best_polygons (poly_match_numba.py:50)"
    assert not analyse.claim_numba(fake("numba", {named: 30, read: 70})).holds


def test_the_scipy_claim_holds_and_can_fail() -> None:
    main = "main (poly_match_scipy.py:70)"
    tree = f"{main};of (poly_match_scipy.py:96);_tree_pairs (poly_match_scipy.py:67)"
    tree += ";query_ball_point (scipy/spatial/_ckdtree.so)"
    read = f"{main};Polygon.area (poly_match/__init__.py:63)"
    assert analyse.claim_scipy(fake("scipy", {tree: 30, read: 70})).holds
    assert not analyse.claim_scipy(fake("scipy", {tree: 70, read: 30})).holds


# --- points as the baseline's loop reads them -----------------------------------------------


def small_workload() -> tuple[list[poly_match.Polygon], list[np.ndarray]]:
    return workloads.canonical(n_polygons=200, n_points=40)


def as_object_array(points: list[np.ndarray]) -> np.ndarray:
    out = np.empty(len(points), dtype=object)
    for i, point in enumerate(points):
        out[i] = point
    return out


def read_only(points: np.ndarray) -> np.ndarray:
    points = points.copy()
    points.setflags(write=False)
    return points


LAYOUTS = {
    "a generator": lambda pts: (p for p in pts),
    "a tuple": tuple,
    "a 1-D object array of point arrays": as_object_array,
    "column-major float32": lambda pts: np.asfortranarray(np.array(pts, dtype=np.float32)),
    "column-major int64": lambda pts: np.asfortranarray(np.array(pts).astype(np.int64)),
    "column-major big-endian": lambda pts: np.asfortranarray(np.array(pts).astype(">f8")),
    "a transposed float32 view": lambda pts: np.array(np.array(pts).T, dtype=np.float32).T,
    "a read-only float64 array": lambda pts: read_only(np.array(pts)),
    "a list of tuples": lambda pts: [tuple(p) for p in pts],
}


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_points_layout_as_baseline(name: str, layout: str) -> None:
    """The baseline iterates ``points``: whatever iterates to pairs of numbers works, and
    the pairs hold what the iteration yields (the same objects for a list or generator)."""
    polygons, points = small_workload()
    expected = checks.picks(poly_match.main(polygons, LAYOUTS[layout](points)), polygons)
    given_points = LAYOUTS[layout](points)
    result = RIVALS[name].main(polygons, given_points)
    assert checks.picks(result, polygons) == expected
    if isinstance(given_points, (list, tuple)):
        checks.assert_same_objects(result, given_points, polygons)


@pytest.mark.parametrize("name", list(RIVALS))
def test_a_generator_is_read_once_and_its_points_returned(name: str) -> None:
    polygons, points = small_workload()
    result = RIVALS[name].main(polygons, iter(points))
    checks.assert_same_objects(result, points, polygons)
    assert checks.picks(result, polygons) == checks.picks(
        poly_match.main(polygons, points), polygons
    )


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("empty", [np.empty((0,)), np.empty((0, 2)), [], (), iter([])])
def test_no_points_give_no_pairs(name: str, empty) -> None:
    polygons, _ = small_workload()
    assert RIVALS[name].main(polygons, empty) == []


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize(
    "points", [[np.array([1.0, 2.0, 3.0])], [[1.0]], [np.array([1.0, 2.0]), [3.0]], [None]]
)
def test_a_point_that_is_not_a_pair_is_named(name: str, points) -> None:
    polygons, _ = small_workload()
    with pytest.raises((TypeError, ValueError), match="points"):
        RIVALS[name].main(polygons, points)


# --- max_dist as the baseline compares it ---------------------------------------------------


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("max_dist", ["10", b"10", None, 10 + 0j, np.array([10.0, 11.0]), [10]])
def test_a_max_dist_that_is_not_a_real_number_is_named(name: str, max_dist) -> None:
    polygons, points = small_workload()
    with pytest.raises(TypeError, match="max_dist must be a real number, not "):
        RIVALS[name].main(polygons, points, max_dist)


@pytest.mark.parametrize("name", list(RIVALS))
def test_an_int_beyond_the_float_range_overflows_as_in_the_baseline(name: str) -> None:
    polygons, points = small_workload()
    with pytest.raises(OverflowError):
        poly_match.main(polygons, points, 10**400)
    with pytest.raises(OverflowError, match="max_dist"):
        RIVALS[name].main(polygons, points, 10**400)


def above(value: float) -> np.longdouble:
    return np.nextafter(np.longdouble(value), np.longdouble(2 * value))


EXACT_MAX_DIST = {
    "Decimal 5": Decimal("5"),
    "Decimal just above 5": Decimal("5.0000000000000000000000001"),
    "Fraction 5": Fraction(5),
    "Fraction just above 5": Fraction(5 * 10**17 + 1, 10**17),
    "Fraction just below 5": Fraction(5 * 10**17 - 1, 10**17),
    "longdouble 5": np.longdouble(5),
    "longdouble just above 5": above(5.0),
    "float32 5": np.float32(5),
    "int64 5": np.int64(5),
    "True": True,
    "0-d array": np.array(5.0),
    "2**70": 2**70,
    "Fraction 10**400": Fraction(10**400),
    "Decimal -1e400": Decimal("-1e400"),
}


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("max_dist", list(EXACT_MAX_DIST))
def test_max_dist_of_any_real_type_compares_exactly_as_baseline(name: str, max_dist: str) -> None:
    """The baseline compares the float64 distance with max_dist as given, exactly: a center
    exactly 5 away is close for a max_dist a hair above 5, whatever its type."""
    value = EXACT_MAX_DIST[max_dist]
    if max_dist.startswith("longdouble just") and np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("np.longdouble is float64 on this platform")
    polygons = [polygon_at(3.0, 4.0, 1.0), polygon_at(0.5, 0.5, 2.0), polygon_at(20.0, 0.0, 0.5)]
    assert_as_baseline(RIVALS[name], polygons, [np.array([0.0, 0.0])], value)


# --- within an ulp of max_dist: numpy's dot fuses on some CPUs -----------------------------------


@pytest.fixture(params=[True, False], ids=["numpy fused", "numpy unfused"])
def numpy_norm(request, monkeypatch) -> bool:
    """numpy's 2-vector norm as a fusing (AVX-512) or a plain OpenBLAS kernel computes it,
    whatever this CPU does: the baseline calls np.linalg.norm, the rivals np.vecdot."""
    fused, real_norm, real_vecdot = request.param, np.linalg.norm, np.vecdot

    def norm(x, *args, **kwargs):
        x = np.asarray(x)
        if args or kwargs or x.shape != (2,):
            return real_norm(x, *args, **kwargs)
        return np.float64(fp.norm(x, (0.0, 0.0), fused))

    def vecdot(x1, x2, /, **kwargs):
        x1, x2 = np.broadcast_arrays(np.asarray(x1), np.asarray(x2))
        if kwargs or x1.shape[-1:] != (2,) or x1.dtype != np.float64:
            return real_vecdot(x1, x2, **kwargs)
        rows = zip(x1.reshape(-1, 2).tolist(), x2.reshape(-1, 2).tolist(), strict=True)
        return np.array([fp.dot(a, b, fused) for a, b in rows]).reshape(x1.shape[:-1])

    monkeypatch.setattr(np.linalg, "norm", norm)
    monkeypatch.setattr(np, "vecdot", vecdot)
    return fused


@pytest.mark.parametrize("name", list(RIVALS))
def test_centers_within_an_ulp_of_max_dist_as_baseline(name: str, numpy_norm: bool) -> None:
    """Centers on which numpy's two forms disagree: each rival must say what the baseline
    says with either form (the plain ``sqrt(dx*dx + dy*dy)`` alone would match only one)."""
    if name == "numba" and numpy_norm != fp.numpy_dot_fuses():
        pytest.skip(
            "Numba compiles np.dot into a call to the BLAS dot itself, which no Python patch "
            "reaches: test_rivals_hostile runs it under each BLAS kernel this CPU has"
        )
    cases = fp.boundary_cases(count=12, seed=4)
    for case in cases:
        polygons = [polygon_at(*case.center, 1.0), polygon_at(case.point[0], case.point[1], 2.0)]
        point = np.array(case.point)
        result = assert_as_baseline(RIVALS[name], polygons, [point], case.max_dist)
        assert (result[0][1] is polygons[0]) == case.close(numpy_norm)


# --- SciPy: far outliers go around the tree, not through all pairs --------------------------------


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("far", [1e100, 6e99, -3e120, 1e200, 1e300, 8e307])
def test_scipy_far_outliers_add_candidates_not_all_pairs(far: float) -> None:
    """A polygon and a point next to it, far out: the candidate pairs are the plain
    workload's plus the outliers' own, never every pair (the old fallback), and the picks
    are the baseline's."""
    polygons, points = workloads.canonical(n_polygons=300, n_points=60)
    centers = np.array([p.center for p in polygons])
    plain = len(poly_match_scipy.Candidates(centers, 10.0).of(np.array(points))[0])
    outlier = poly_match.Polygon(np.array([far, far]), np.array([3.0, 3.0]))
    polygons, points = [*polygons, outlier], [*points, np.array([far, 0.0])]
    centers = np.array([p.center for p in polygons])
    polygon, point = poly_match_scipy.Candidates(centers, 10.0).of(np.array(points))
    assert plain <= len(polygon) <= plain + 1
    assert np.all(np.diff(point) >= 0)  # grouped by point
    assert len(set(zip(point.tolist(), polygon.tolist(), strict=True))) == len(point)  # once
    result = assert_as_baseline(poly_match_scipy, polygons, points)
    assert result[-1][1] is outlier


@pytest.mark.parametrize("name", ["numba", "scipy"])
@pytest.mark.parametrize("block", [1, 7, 300])
def test_blocks_of_points_as_baseline(name: str, block: int, monkeypatch) -> None:
    """Numba's loop and SciPy's ball query take the points a block at a time (about BLOCK
    pairs each): the same picks wherever the blocks end, one point alone over BLOCK too."""
    monkeypatch.setattr(RIVALS[name], "BLOCK", block)
    polygons, points = workloads.distinct_areas(n_polygons=60, n_points=40, seed=5, side=30.0)
    for poly in polygons[::9]:
        poly._area = NAN
    assert_as_baseline(RIVALS[name], polygons, points, 12.0)


@pytest.mark.parametrize("max_dist", [1e99, 1e160, INF])
def test_scipy_huge_max_dist_as_baseline(max_dist: float) -> None:
    polygons, points = workloads.canonical(n_polygons=50, n_points=10)
    polygons.append(polygon_at(1e150, -1e150, 0.01))
    assert_as_baseline(poly_match_scipy, polygons, points, max_dist)
