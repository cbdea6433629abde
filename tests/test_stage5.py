"""Stage 5: polygons as columns, points as an (N, 2) array, index arrays back. Its answers
against the baseline's (the harness's check) and against stages 3 and 4 on the same
polygons; every layout and dtype read right or refused naming the argument; and, in
bounded child interpreters, Ctrl-C, worker processes and memory limits. No test here
reads a clock for its verdict."""

from __future__ import annotations

import doctest
import math
import signal
import threading

import helpers
import numpy as np
import pandas as pd
import poly_match_stage3
import poly_match_stage4
import poly_match_stage5
import pytest
from helpers import LATTICE_POINTS, POINTS, lattice_rectangles, star_polygons
from hypothesis import given, settings
from hypothesis import strategies as st
from poly_match_stage5 import main, vertex_columns

from workshop import checks, stages

STAGE = stages.get("stage5")


def columns(polygon_args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, y, offsets)`` of ``[(x, y), ...]``."""
    offsets = np.cumsum([0, *(len(x) for x, _ in polygon_args)])
    if not polygon_args:
        return np.empty(0), np.empty(0), offsets
    x = np.concatenate([np.asarray(x, dtype=np.float64) for x, _ in polygon_args])
    y = np.concatenate([np.asarray(y, dtype=np.float64) for _, y in polygon_args])
    return x, y, offsets


def pairs(result) -> list[tuple[int, int]]:
    point_index, polygon_index = result
    assert point_index.dtype == polygon_index.dtype == np.intp
    assert point_index.ndim == polygon_index.ndim == 1
    return list(zip(point_index.tolist(), polygon_index.tolist(), strict=True))


def object_pairs(module, polygon_args, points, max_dist: float) -> list[tuple[int, int]]:
    """What ``module``'s ``main`` picks on the same polygons, as indices."""
    polygons = [module.Polygon(x, y) for x, y in polygon_args]
    rows = list(np.array(points, dtype=np.float64).reshape(-1, 2))
    index = {id(poly): i for i, poly in enumerate(polygons)}
    row = {id(p): k for k, p in enumerate(rows)}
    result = module.main(polygons, rows, max_dist)
    return [(row[id(p)], index[id(poly)]) for p, poly in result]


# --- the module and the answers ----------------------------------------------------------


def test_the_module_exports_the_rust_function() -> None:
    assert main is poly_match_stage5._columns.main
    (x, y, offsets), points = poly_match_stage5.generate_example(n_polygons=5, n_points=3)
    assert x.dtype == y.dtype == np.float64 and len(offsets) == 6 and points.shape == (3, 2)
    assert offsets[0] == 0 and offsets[-1] == len(x) == len(y)


def test_canonical_is_a_valid_argmin() -> None:
    assert STAGE.answers == "argmin" and STAGE.form == "columns"
    assert checks.check_stage(STAGE, workload="canonical") > 0


def test_distinct_areas_are_identical() -> None:
    assert checks.check_stage(STAGE, workload="distinct") > 0


@pytest.mark.parametrize("max_dist", [math.inf, 1e300, 35.5, 1e-9, 1e-300])
def test_other_max_dists_are_identical(max_dist: float) -> None:
    checks.check_stage(STAGE, workload="distinct", max_dist=max_dist)


def test_the_docstring_example_runs() -> None:
    """The DataFrame example in ``main``'s docstring gives what it shows."""
    finder = doctest.DocTestFinder()
    [test] = finder.find(main.__doc__, "main", globs={"main": main})
    assert test.examples
    assert doctest.DocTestRunner().run(test).failed == 0


def test_the_dataframe_example_prints_its_pairs() -> None:
    """docs/stage5_from_a_table.py, which the docs quote: stop 0 in zone 7, stop 2 in 9."""
    out = helpers.python((helpers.REPO / "docs" / "stage5_from_a_table.py").read_text())
    assert [line.split() for line in out.splitlines()] == [["stop", "zone"], ["0", "7"], ["2", "9"]]


@settings(max_examples=80, deadline=None)
@given(
    polygon_args=star_polygons(),
    points=POINTS,
    max_dist=st.sampled_from([2.0, 10.0, 25.0, math.inf]),
)
def test_random_workloads_pick_as_stages_3_and_4(polygon_args, points, max_dist) -> None:
    """The same exact areas and centers as the Polygon of stages 3 and 4: the same picks
    as stage 3's plain loop and stage 4's search, to the index."""
    rows = np.array(points, dtype=np.float64).reshape(-1, 2)
    got = pairs(main(*columns(polygon_args), rows, max_dist))
    assert got == object_pairs(poly_match_stage3, polygon_args, points, max_dist)
    assert got == object_pairs(poly_match_stage4, polygon_args, points, max_dist)


@settings(max_examples=60, deadline=None)
@given(
    polygon_args=lattice_rectangles(),
    points=LATTICE_POINTS,
    max_dist=st.sampled_from([1.0, 2.5, 5.0, 10.0]),
)
def test_ties_and_boundaries_on_a_lattice_are_the_baselines(polygon_args, points, max_dist):
    """Exact centers and tied areas, points exactly max_dist away: the baseline's pairs."""
    import poly_match

    baseline = [poly_match.Polygon(x, y) for x, y in polygon_args]
    result = poly_match.main(baseline, points, max_dist)
    index = {id(poly): i for i, poly in enumerate(baseline)}
    row = {id(p): k for k, p in enumerate(points)}
    expected = [(row[id(p)], index[id(poly)]) for p, poly in result]
    rows = np.array(points, dtype=np.float64).reshape(-1, 2)
    assert pairs(main(*columns(polygon_args), rows, max_dist)) == expected


COORDINATE = st.one_of(
    st.floats(-50, 50),
    st.sampled_from([0.0, 10.0, -10.0, 1e300, -1e300, 1e-300, math.nan, math.inf, -math.inf]),
)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
@settings(max_examples=80, deadline=None)
@given(
    polygon_args=st.lists(
        st.integers(1, 6).flatmap(
            lambda k: st.tuples(
                st.lists(COORDINATE, min_size=k, max_size=k),
                st.lists(COORDINATE, min_size=k, max_size=k),
            )
        ),
        max_size=12,
    ).map(lambda ps: ps + ps[: len(ps) // 2]),  # duplicates
    points=st.lists(st.tuples(COORDINATE, COORDINATE), max_size=10),
    max_dist=st.sampled_from([10.0, 1e-300, 1e300, math.inf, math.nan, 0.0]),
)
def test_hostile_values_pick_as_stage_3s_plain_loop(polygon_args, points, max_dist) -> None:
    """NaN, inf, huge and tiny coordinates, duplicate polygons, one-vertex polygons,
    boundary distances: stage 3's plain loop is the reference."""
    polygon_args = [(np.array(x), np.array(y)) for x, y in polygon_args]
    rows = np.array(points, dtype=np.float64).reshape(-1, 2)
    got = pairs(main(*columns(polygon_args), rows, max_dist))
    assert got == object_pairs(poly_match_stage3, polygon_args, points, max_dist)


def test_empty_inputs() -> None:
    (x, y, offsets), points = poly_match_stage5.generate_example(n_polygons=20, n_points=10)
    for result in (
        main(np.empty(0), np.empty(0), [0], points),
        main(x, y, offsets, np.empty((0, 2))),
        main(np.empty((0, 4)), np.empty((0, 4)), None, points),
    ):
        assert pairs(result) == []


# --- every layout and dtype: the plain float64 answer, or an error naming the argument ----


@pytest.fixture(scope="module")
def plain():
    (x, y, offsets), points = poly_match_stage5.generate_example(n_polygons=300, n_points=200)
    return x, y, offsets, points, pairs(main(x, y, offsets, points, 10.0))


def reversed_copy(a: np.ndarray) -> np.ndarray:
    """``a``'s values in a view with negative strides."""
    return np.ascontiguousarray(a[::-1])[::-1]


def strided(a: np.ndarray) -> np.ndarray:
    """``a``'s values in a view that skips every other item of a larger array."""
    wide = np.zeros((len(a), 2, *a.shape[1:]), a.dtype)
    wide[:, 0] = a
    return wide[:, 0]


VERTEX_FORMS = {
    "float32 exact": lambda v: v.astype(np.float32).astype(np.float64),
    "list": lambda v: v.tolist(),
    "Series": pd.Series,
    "reversed view": reversed_copy,
    "strided view": strided,
    "byte-swapped": lambda v: v.astype(">f8"),
    "unaligned": helpers.packed,
    "longdouble": lambda v: v.astype(np.longdouble),
    "read-only": lambda v: np.frombuffer(v.tobytes()),
    "masked, none masked": np.ma.masked_array,
}


@pytest.mark.parametrize("form", VERTEX_FORMS)
def test_vertex_layouts_and_dtypes_read_right(plain, form: str) -> None:
    x, y, offsets, points, expected = plain
    change = VERTEX_FORMS[form]
    if form == "float32 exact":  # the float32 values themselves, as float64 and as float32
        x, y = change(x), change(y)
        expected = pairs(main(x, y, offsets, points))
        assert pairs(main(x.astype(np.float32), y.astype(np.float32), offsets, points)) == (
            expected
        )
        return
    assert pairs(main(change(x), change(y), offsets, points)) == expected


def test_integer_vertices_are_their_float_values() -> None:
    x = np.array([0, 4, 0, 20, 21, 21, 20], dtype=np.int16)
    y = np.array([0, 0, 3, 0, 0, 1, 1], dtype=np.uint8)
    points = np.array([[1.0, 1.0], [19.0, 0.0]])
    got = pairs(main(x, y, [0, 3, 7], points))
    assert got == pairs(main(x.astype(float), y.astype(float), [0, 3, 7], points))
    assert got == [(0, 0), (1, 1)]


POINT_FORMS = {
    "Fortran order": np.asfortranarray,
    "DataFrame": lambda p: pd.DataFrame(p, columns=["x", "y"]),
    "DataFrame to_numpy": lambda p: pd.DataFrame({"x": p[:, 0], "y": p[:, 1]}).to_numpy(),
    "list of lists": lambda p: p.tolist(),
    "transposed view": lambda p: np.ascontiguousarray(p.T).T,
    "reversed rows": lambda p: np.ascontiguousarray(p[::-1])[::-1],
    "strided rows": lambda p: np.repeat(p, 2, axis=0)[::2],
    "byte-swapped": lambda p: p.astype(">f8"),
    "unaligned": helpers.packed,
    "float32 exact": lambda p: p.astype(np.float32),
}


@pytest.mark.parametrize("form", POINT_FORMS)
def test_point_layouts_and_dtypes_read_right(plain, form: str) -> None:
    x, y, offsets, points, expected = plain
    if form == "float32 exact":
        points = points.astype(np.float32).astype(np.float64)
        expected = pairs(main(x, y, offsets, points))
    assert pairs(main(x, y, offsets, POINT_FORMS[form](points))) == expected


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64]
)
def test_offsets_of_every_integer_dtype(dtype) -> None:
    x = np.array([0.0, 4, 0, 20, 21, 21, 20])
    y = np.array([0.0, 0, 3, 0, 0, 1, 1])
    points = np.array([[1.0, 1.0], [19.0, 0.0]])
    for offsets in (np.array([0, 3, 7], dtype=dtype), np.array([0, 9, 3, 9, 7], dtype)[::2]):
        assert pairs(main(x, y, offsets, points)) == [(0, 0), (1, 1)]
    assert pairs(main(x, y, pd.Series([0, 3, 7], dtype=dtype), points)) == [(0, 0), (1, 1)]


@pytest.mark.parametrize("order", ["C", "F"])
def test_equal_length_polygons_as_rows(plain, order: str) -> None:
    """``offsets=None``: x and y of shape (P, V), one row per polygon, any layout."""
    (x, y, offsets), points = poly_match_stage5.generate_example(n_polygons=300, n_points=200)
    assert set(np.diff(offsets)) == {10}
    rows_x = np.array(x.reshape(-1, 10), order=order)
    rows_y = np.array(y.reshape(-1, 10), order=order)
    expected = pairs(main(x, y, offsets, points))
    assert pairs(main(rows_x, rows_y, None, points)) == expected
    assert pairs(main(rows_x[::-1][::-1], rows_y.T.T, None, points)) == expected


def test_columns_of_stage_4_polygons(plain) -> None:
    """vertex_columns: the columns of any stage's polygons, polygon i is the list's i."""
    polygons, points = poly_match_stage4.generate_example(n_polygons=300, n_points=200)
    x, y, offsets = vertex_columns(polygons)
    assert pairs(main(x, y, offsets, np.array(points))) == plain[4]


X, Y = np.array([0.0, 4, 0, 20, 21, 21, 20]), np.array([0.0, 0, 3, 0, 0, 1, 1])
P = np.array([[1.0, 1.0]])

REFUSED = {
    # offsets
    "offsets not from 0": (ValueError, "offsets[0] is 1", (X, Y, [1, 3, 7], P)),
    "offsets decreasing": (ValueError, "offsets[2] is 2", (X, Y, [0, 3, 2, 7], P)),
    "an empty polygon": (ValueError, "offsets[2] is 3", (X, Y, [0, 3, 3, 7], P)),
    "offsets beyond len(x)": (ValueError, "offsets[2] is 8", (X, Y, [0, 3, 8], P)),
    "offsets short of len(x)": (ValueError, "offsets end at 6", (X, Y, [0, 3, 6], P)),
    "negative offsets": (ValueError, "offsets[1] is -1", (X, Y, [0, -1, 7], P)),
    "float offsets": (TypeError, "offsets must be integers", (X, Y, [0.0, 3.0, 7.0], P)),
    "bool offsets": (TypeError, "offsets must be integers", (X, Y, [False, True], P)),
    "2-D offsets": (ValueError, "offsets must be 1-D", (X, Y, [[0, 3, 7]], P)),
    "no offsets": (ValueError, "offsets must be 1-D", (X, Y, [], P)),
    "masked offsets": (
        ValueError,
        "offsets has masked values",
        (X, Y, np.ma.masked_array([0, 3, 7], [0, 1, 0]), P),
    ),
    "ragged offsets": (ValueError, "offsets: ", (X, Y, [[0], [3, 7]], P)),
    "huge offsets": (TypeError, "offsets must be integers", (X, Y, [0, 3, 2**70], P)),
    # the vertices
    "x and y of different lengths": (
        ValueError,
        "x and y must have the same",
        (X, Y[:-1], [0, 3, 7], P),
    ),
    "x of strings": (TypeError, "x must be real numbers", (["a"] * 7, Y, [0, 3, 7], P)),
    "y None": (TypeError, "y must be real numbers, not None", (X, None, [0, 3, 7], P)),
    "complex y": (TypeError, "y must be real numbers", (X, Y + 1j, [0, 3, 7], P)),
    "bool x": (TypeError, "x must be real numbers", (X > 1, Y, [0, 3, 7], P)),
    "masked x": (
        ValueError,
        "x has masked values",
        (np.ma.masked_array(X, X > 20), Y, [0, 3, 7], P),
    ),
    "2-D x with offsets": (ValueError, "x must be 1-D", (X.reshape(1, 7), Y, [0, 7], P)),
    "1-D x without offsets": (ValueError, "x must be 2-D with offsets=None", (X, Y, None, P)),
    "rows of no vertices": (
        ValueError,
        "no columns",
        (np.empty((2, 0)), np.empty((2, 0)), None, P),
    ),
    "rows of different shapes": (
        ValueError,
        "x and y must have the same shape",
        (np.zeros((2, 3)), np.zeros((3, 2)), None, P),
    ),
    # the points
    "points of 3 columns": (
        ValueError,
        "points must be an (N, 2) array",
        (X, Y, [0, 7], np.zeros((2, 3))),
    ),
    "1-D points": (ValueError, "points must be an (N, 2) array", (X, Y, [0, 7], np.zeros(2))),
    "points wider than float64": (
        TypeError,
        "wider than float64",
        (X, Y, [0, 7], P.astype(np.longdouble)),
    ),
    "masked points": (
        ValueError,
        "points has masked values",
        (X, Y, [0, 7], np.ma.masked_array(P, [[0, 1]])),
    ),
    "points of strings": (TypeError, "points must be real numbers", (X, Y, [0, 7], [["a", "b"]])),
    "max_dist a string": (TypeError, "max_dist must be a real number", (X, Y, [0, 7], P, "10")),
}
if np.finfo(np.longdouble).bits <= 64:  # no wider float on this platform
    del REFUSED["points wider than float64"]


@pytest.mark.parametrize("case", REFUSED)
def test_bad_input_is_refused_naming_the_argument(case: str) -> None:
    kind, text, args = REFUSED[case]
    with pytest.raises(kind) as err:
        main(*args)
    assert text in helpers.message(err)


# --- without the GIL, and in real programs ----------------------------------------------


def test_a_large_call_lets_other_threads_run() -> None:
    """Above the size where stage 4 hands the GIL over, so does stage 5: after reading
    the arrays, the centers, areas and search run with the GIL released."""
    (x, y, offsets), points = poly_match_stage5.generate_example(n_polygons=30_000, n_points=6_000)
    expected = pairs(main(x, y, offsets, points))
    results = []
    hits = helpers.helper_runs_during(
        lambda: results.append(main(x, y, offsets, points)), calls=20, stop_at_first=True
    )
    assert any(hits)
    assert all(pairs(r) == expected for r in results)


def test_calls_from_several_threads_at_once_agree() -> None:
    (x, y, offsets), points = poly_match_stage5.generate_example(n_polygons=30_000, n_points=3_000)
    expected = pairs(main(x, y, offsets, points))
    got: list[list[tuple[int, int]]] = []

    def call() -> None:
        got.append(pairs(main(x, y, offsets, points)))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [expected] * 4


# 10^6 polygons and 2 x 10^7 points: minutes of search, far longer than the one second
# before Ctrl-C, in under a gigabyte.
INTERRUPT = """
import numpy as np
import poly_match_stage5 as stage

rng = np.random.default_rng(0)
n = 1_000_000
corner = rng.random((n, 2))
x = (corner[:, :1] + [0.0, 1e-3, 1e-3]).ravel()
y = (corner[:, 1:] + [0.0, 0.0, 1e-3]).ravel()
offsets = np.arange(0, 3 * n + 1, 3)
points = np.tile(rng.random((100_000, 2)), (200, 1))
print("calling", flush=True)
try:
    stage.main(x, y, offsets, points, 0.3)
    print("finished")
except KeyboardInterrupt:
    print("interrupted", flush=True)
# The interpreter and the stage still work afterwards.
print(len(stage.main(x[:9], y[:9], offsets[:4], points[:5], 10.0)[0]))
"""


def test_ctrl_c_interrupts_a_long_call() -> None:
    with helpers.Child(INTERRUPT, 300) as child:
        assert child.line() == "calling"
        threading.Event().wait(1.0)
        child.proc.send_signal(signal.SIGINT)
        status, out, err = child.finish()
    assert status == 0, err[-3000:]
    assert out.split() == ["interrupted", "5"]


POOLS = """
import multiprocessing
import poly_match_stage5

def large(seed):
    (x, y, offsets), points = poly_match_stage5.generate_example(20_000, 3_000, seed)
    return poly_match_stage5.main(x, y, offsets, points)[1].tolist()

if __name__ == "__main__":
    in_parent = [large(1), large(2)]
    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            assert pool.map(large, [1, 2]) == in_parent, method
        print(method, "ok")
"""


def test_worker_processes_of_every_start_method(tmp_path) -> None:
    """Forked after a large call in the parent (its worker threads exist there, not in
    the child), spawned, forkserver: the same answers."""
    (tmp_path / "pools.py").write_text(POOLS)
    code = f"import runpy; runpy.run_path({str(tmp_path / 'pools.py')!r}, run_name='__main__')"
    out = helpers.python(code, timeout=600)
    assert out.split() == ["fork", "ok", "spawn", "ok", "forkserver", "ok"]


LIMITS = """
import numpy as np
import poly_match_stage5 as stage
from memory_limits import sweep, under

triangle = (np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]), [0, 3])
rows = np.random.RandomState(0).rand(300_000, 2)  # all within max_dist of the triangle
(x, y, offsets), points = stage.generate_example(n_polygons=30_000, n_points=3_000)
calls = {
    "rows": lambda: stage.main(*triangle, rows)[0],
    "many": lambda: stage.main(x, y, offsets, points)[0],
}
# Reading 3 x 10^5 points takes 4.8 MB: with 2 MB left, MemoryError, every time.
print(under(2 * 2**20, calls["rows"]))
print(sweep(calls, {}))
"""


def test_a_memory_limit_raises_memory_error() -> None:
    """Memory whose size the caller decides is asked for fallibly: MemoryError under a
    limit, never an abort, from 1 MB to 160 MB above what the process holds."""
    out = helpers.python(LIMITS, timeout=900, memory=3 * 2**30)
    assert out.split("\n", 1) == ["MemoryError", "[False, True]\n"], out
