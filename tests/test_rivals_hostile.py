"""The rivals (numpy-vectorized, Numba, SciPy) against a hostile caller, and ``max_dist`` in
every module.

Containers that iterate in their own order, inputs the baseline cannot compute with,
``max_dist`` values Python cannot compare, data on the integer lattice, Ctrl-C, and a
``max_dist`` that makes every pair close: each gives the baseline's answer, or an error
that names the argument. What could hang, crash or eat memory runs in a fresh interpreter
with a timeout and a bounded address space (RLIMIT_AS); no test reads a clock.
"""

from __future__ import annotations

import decimal
import json
import platform
import resource
import select
import signal
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import poly_match
import poly_match_numba
import poly_match_scipy
import poly_match_vectorized
from workshop import checks, child_env, fp, stages, workloads

REPO = Path(__file__).resolve().parents[1]
RIVALS = {
    "vectorized": poly_match_vectorized,
    "numba": poly_match_numba,
    "scipy": poly_match_scipy,
}
# Every module but the baseline: the rivals and the built Rust stages.
MODULES = [s.name for s in stages.STAGES if s.name != "stage0" and s.is_available()]
# A child's address space: far more than any of them needs (numba's LLVM included), far
# less than the machine has.
CHILD_MEMORY = 3 * 2**30


def small_workload() -> tuple[list[poly_match.Polygon], list[np.ndarray]]:
    """Distinct areas, so every pick is one polygon, whatever the order of the scan."""
    return workloads.distinct_areas(n_polygons=80, n_points=30, seed=3, side=40.0)


def assert_as_baseline(module, polygons, points, max_dist=10.0) -> None:
    expected = checks.picks(poly_match.main(polygons, points, max_dist), polygons)
    result = module.main(polygons, points, max_dist)
    checks.assert_same_objects(result, points, polygons)
    checks.assert_identical_picks(checks.picks(result, polygons), expected)


def bounded(memory: int = CHILD_MEMORY):
    """For ``preexec_fn``: the child may map at most ``memory`` bytes."""
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def python(code: str, timeout: float = 300, **env: str) -> str:
    """Run ``code`` in a fresh interpreter of bounded memory; its stdout, or a failure."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=child_env(**env),
        preexec_fn=bounded(),
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


# --- polygons: read once, in the order the baseline's loop sees them ---------------------------


class ReversedList(list):
    """A list subclass whose ``for`` loop runs backwards: ``self[j]`` is not the j-th it yields."""

    def __iter__(self):
        return list.__iter__(self[::-1])


class SortedSeries:
    """What a pandas Series does after ``sort_values``: iterating follows the sorted order,
    ``series[j]`` looks up the label j (the position it had before sorting)."""

    def __init__(self, values: list, order: list[int]) -> None:
        self.values, self.order = values, order

    def __iter__(self):
        return (self.values[label] for label in self.order)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, label: int):
        return self.values[label]


def by_area(polygons: list) -> SortedSeries:
    return SortedSeries(polygons, sorted(range(len(polygons)), key=lambda j: polygons[j].area()))


CONTAINERS = {
    "a list subclass iterating backwards": ReversedList,
    "a Series after sort_values": by_area,
    "dict values": lambda polygons: dict(enumerate(polygons)).values(),
    "a tuple": tuple,
}


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("container", list(CONTAINERS))
def test_polygons_in_any_container_as_baseline(name: str, container: str) -> None:
    """The returned polygon is the one the loop saw, never ``polygons[j]`` looked up after
    (it used to be another polygon, outside max_dist, for the first two)."""
    polygons, points = small_workload()
    assert_as_baseline(RIVALS[name], CONTAINERS[container](polygons), points)


ONE_SHOT = {
    "a generator": lambda polygons: (p for p in polygons),
    "a list iterator": iter,
    "a map": lambda polygons: map(lambda p: p, polygons),
}


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("one_shot", list(ONE_SHOT))
def test_one_shot_polygons_are_refused_by_name(name: str, one_shot: str) -> None:
    """The baseline reads ``polygons`` once per point, so a one-shot iterator serves its
    first point only; the rivals refuse it, as stages 3-4 do."""
    polygons, points = small_workload()
    baseline = poly_match.main(ONE_SHOT[one_shot](polygons), points, 1e9)
    assert [id(p) for p, _ in baseline] == [id(points[0])]
    with pytest.raises(TypeError, match=r"^polygons is a one-shot iterator .*list\(polygons\)"):
        RIVALS[name].main(ONE_SHOT[one_shot](polygons), points)


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("polygons", [None, 5, 2.5])
def test_polygons_that_are_not_iterable_are_named(name: str, polygons) -> None:
    _, points = small_workload()
    with pytest.raises(TypeError, match=r"^polygons must be a list of Polygons, not "):
        RIVALS[name].main(polygons, points)


# --- points the baseline cannot compute with, or computes with in another way ------------------


def masked_items(points: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ma.masked_array(p, mask=[False, i == 3]) for i, p in enumerate(points)]


class FakeDataFrame:
    """What a pandas DataFrame does here: iterating it yields its column labels."""

    columns = ("x", "y")

    def __init__(self, points: list[np.ndarray]) -> None:
        self.xy = np.array(points)

    def __iter__(self):
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.xy)

    def to_numpy(self) -> np.ndarray:
        return self.xy


# Each: how to make the points, the message, and whether the baseline raises too.
REFUSED_POINTS = {
    "complex, imaginary part 0": (lambda pts: [p + 0j for p in pts], r"^points\[0\].*complex"),
    "complex, imaginary part 3": (lambda pts: np.array(pts) + 3j, r"^points\[0\].*complex"),
    "datetime64": (lambda pts: [p.astype("datetime64[s]") for p in pts], r"^points\[0\].*date"),
    "Decimal": (lambda pts: [[Decimal(v) for v in p] for p in pts], r"^points\[0\].*Decimal"),
    "strings": (lambda pts: [[str(v) for v in p] for p in pts], r"^points\[0\].*strings"),
    "long double": (
        lambda pts: np.array(pts, dtype=np.longdouble),
        r"^points\[0\].*wider than float64",
    ),
    "a masked array": (lambda pts: np.ma.masked_array(pts), "^points is a masked array"),
    "masked arrays in a list": (masked_items, r"^points\[0\] is a masked array"),
    "a DataFrame": (FakeDataFrame, r'^points is a FakeDataFrame: .*df\[\["x", "y"\]\]\.to_numpy'),
}
BASELINE_RAISES = ("datetime64", "Decimal", "strings", "a DataFrame")


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("points", list(REFUSED_POINTS))
def test_points_that_are_not_real_float64_are_refused_by_name(name: str, points: str) -> None:
    """A TypeError naming ``points``: complex points (the stages refuse them too; the
    baseline computes in complex), values the baseline cannot subtract from a float, float
    types wider than float64 (the baseline computes in them), masks (float64 has none)."""
    if points == "long double" and np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("np.longdouble is float64 on this platform")
    make, message = REFUSED_POINTS[points]
    polygons, pts = small_workload()
    if points in BASELINE_RAISES:
        with pytest.raises(TypeError):
            poly_match.main(polygons, make(pts))
    with pytest.raises(TypeError, match=message):
        RIVALS[name].main(polygons, make(pts))


# --- max_dist: what Python's `<` refuses, every module refuses, by name ---------------------------

NAN_DECIMALS = [Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN")]


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("max_dist", NAN_DECIMALS, ids=str)
def test_a_decimal_nan_max_dist_raises_as_baseline(name: str, max_dist: Decimal) -> None:
    """Python refuses to order a Decimal NaN (``decimal.InvalidOperation``), so the baseline
    raises at its first comparison; every module used to return [] (or a TypeError)."""
    stage = stages.get(name)
    polygons, points = stage.workload(n_polygons=20, n_points=5)
    base_polygons, base_points = poly_match.generate_example(n_polygons=20, n_points=5)
    with pytest.raises(decimal.InvalidOperation):
        poly_match.main(base_polygons, base_points, max_dist)
    with pytest.raises(decimal.InvalidOperation, match=r"^max_dist: "):
        stage.entry_point()(polygons, points, max_dist)


NOT_REAL_MAX_DIST = {
    "timedelta64": np.timedelta64(10),
    "datetime64": np.datetime64(10, "s"),
    "a 0-d timedelta64 array": np.array(np.timedelta64(10)),
    "complex128": np.complex128(10),
}


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("max_dist", list(NOT_REAL_MAX_DIST))
def test_a_numpy_max_dist_that_is_not_real_is_named(name: str, max_dist: str) -> None:
    """numpy cannot compare a float distance with a timedelta or datetime (the baseline
    raises a TypeError); a numpy complex max_dist, like Python's, is refused everywhere
    (float() of it, as the stages did, drops its imaginary part, which numpy compares)."""
    value = NOT_REAL_MAX_DIST[max_dist]
    stage = stages.get(name)
    polygons, points = stage.workload(n_polygons=20, n_points=5)
    if max_dist != "complex128":
        with pytest.raises(TypeError):
            poly_match.main(*poly_match.generate_example(n_polygons=20, n_points=5), value)
    with pytest.raises(TypeError, match=r"^max_dist must be a real number, not numpy"):
        stage.entry_point()(polygons, points, value)


# --- the lattice: borderline pairs decided without a Python call each -----------------------------


def lattice() -> tuple[list[poly_match.Polygon], list[np.ndarray]]:
    """Centers on every integer point of a square, points on integer points inside it: each
    point has 12 centers exactly 10 away (6-8-10, 0-10-10), all within an ulp of max_dist."""
    rng = np.random.default_rng(7)
    polygons = []
    for x in range(-16, 17):
        for y in range(-16, 17):
            poly = poly_match.Polygon(np.array([x, x], float), np.array([y, y], float))
            poly._area = float(rng.integers(1, 50))
            polygons.append(poly)
    points = [np.array(p, float) for p in rng.integers(-6, 7, size=(40, 2))]
    return polygons, points


@pytest.mark.parametrize("name", list(RIVALS))
def test_lattice_borderline_pairs_decided_without_python_per_pair(name: str, monkeypatch) -> None:
    """Numba used to hand every point with a center within ulps of max_dist to the baseline
    (a Python loop over every polygon), the others every such pair to np.linalg.norm."""
    polygons, points = lattice()
    expected = checks.picks(poly_match.main(polygons, points), polygons)
    calls = []
    real_norm = np.linalg.norm
    monkeypatch.setattr(np.linalg, "norm", lambda *a, **k: calls.append(1) or real_norm(*a, **k))
    result = RIVALS[name].main(polygons, points)
    assert calls == []
    checks.assert_identical_picks(checks.picks(result, polygons), expected)


# --- within an ulp of max_dist, under each BLAS kernel this CPU can run --------------------------

BOUNDARY = """
import json
import numpy as np
import poly_match, poly_match_numba, poly_match_scipy, poly_match_vectorized
from workshop import checks, fp

def polygon_at(cx, cy, area):
    poly = poly_match.Polygon(np.array([cx, cx]), np.array([cy, cy]))
    poly._area = area
    return poly

wrong, close = [], 0
for case in fp.boundary_cases(count=24, seed=11):
    polygons = [polygon_at(*case.center, 1.0), polygon_at(*case.point, 2.0)]
    points = [np.array(case.point)]
    expected = checks.picks(poly_match.main(polygons, points, case.max_dist), polygons)
    close += expected[0][1] == 0
    for module in (poly_match_vectorized, poly_match_numba, poly_match_scipy):
        got = checks.picks(module.main(polygons, points, case.max_dist), polygons)
        if got != expected:
            wrong.append((module.__name__, case.center, case.point, case.max_dist))
print(json.dumps({"dot": fp.numpy_dot_model(), "close": close, "wrong": wrong}))
"""


@pytest.mark.parametrize("coretype", ["SkylakeX", "Haswell"])
def test_boundary_cases_as_baseline_under_each_blas_kernel(coretype: str) -> None:
    """numpy's dot fuses under OpenBLAS's AVX-512 kernel (SkylakeX) and not under the AVX2
    one (Haswell): forced with OPENBLAS_CORETYPE, each rival gives the baseline's verdict on
    centers where the two disagree. Numba's compiled np.dot calls SciPy's OpenBLAS, which
    the same variable steers: no Python patch could stand in for it."""
    if platform.machine() not in ("x86_64", "AMD64") or fp.kernel_fuses(fp.blas_kernel()) is None:
        pytest.skip(f"the kernels are numpy's OpenBLAS ones on x86-64 ({fp.blas_kernel()!r})")
    why_not = fp.runnable_coretypes(fp.cpu_flags())[coretype]
    if why_not:
        pytest.skip(f"OPENBLAS_CORETYPE={coretype}: {why_not}; forcing it would crash")
    got = json.loads(python(BOUNDARY, OPENBLAS_CORETYPE=coretype).splitlines()[-1])
    assert got["dot"] == ("fused" if fp.kernel_fuses(coretype) else "unfused")
    assert 0 < got["close"] < 24, "the cases must include both verdicts"
    assert got["wrong"] == []


# --- Ctrl-C: Numba's compiled loop runs a block of points at a time -------------------------------

INTERRUPT = """
import signal
# The default handler, even where the test runs with SIGINT ignored (a background job).
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import poly_match_numba

polygon = poly_match_numba.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
polygons = [polygon] * 1_000_000
points = np.full((1_000_000, 2), 0.5)  # 10^12 pairs: hours in one compiled call
loop = poly_match_numba._best_polygons_jit

def announced(*args):
    poly_match_numba._best_polygons_jit = loop
    print("in the compiled loop", flush=True)
    return loop(*args)

poly_match_numba._best_polygons_jit = announced
try:
    poly_match_numba.main(polygons, points)
    print("finished")
except KeyboardInterrupt:
    print("interrupted")
print(len(poly_match_numba.main(polygons[:3], points[:3])))
"""


def test_numba_answers_ctrl_c_inside_its_compiled_loop() -> None:
    """SIGINT while the compiled loop runs. Python handles it only between bytecodes, so a
    single call over every point kept it waiting for hours; between two blocks of points
    it raises KeyboardInterrupt, and the module still works after."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=child_env(),
        preexec_fn=bounded(),
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "the child did not reach the compiled loop in 120 s"
        assert proc.stdout.readline().strip() == "in the compiled loop", proc.stderr.read()
        threading.Event().wait(0.5)  # well inside the loop's first block of points
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err[-3000:]
    assert out.split() == ["interrupted", "3"]


# --- every pair close: the memory stays bounded ------------------------------------------------

EVERY_PAIR = """
import resource
import numpy as np
import poly_match
from workshop import checks, stages

module = stages.get({name!r}).load()
polygons, points = poly_match.generate_example(n_polygons=3000, n_points=3000)
# Every center lies within max_dist of every point: the baseline keeps the same polygon
# for all of them (asked here for a few).
few = points[::750]
expected = {{p for _, p in checks.picks(poly_match.main(polygons, few, {max_dist!r}), polygons)}}
# From here, at most {margin} MB more address space: 9 million candidate pairs held at
# once, as Python lists or int64 arrays, would take more.
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
hard = resource.getrlimit(resource.RLIMIT_AS)[1]
resource.setrlimit(resource.RLIMIT_AS, (size + {margin} * 2**20, hard))
result = module.main(polygons, points, {max_dist!r})
picks = checks.picks(result, polygons)
assert len(picks) == len(points) and len(expected) == 1, (len(picks), expected)
assert {{p for _, p in picks}} == expected, ({{p for _, p in picks}}, expected)
print("ok")
"""


@pytest.mark.parametrize("name", list(RIVALS))
@pytest.mark.parametrize("max_dist", [1e6, 1e300])
def test_every_pair_close_in_bounded_memory(name: str, max_dist: float) -> None:
    """3000 x 3000 pairs, all close. SciPy's ball query lists them all, and used to hold
    them all at once; it takes them a block of points at a time now. The others hold one
    block of distances at a time. In SciPy, 1e6 goes through the k-d tree, 1e300 through
    the sweep."""
    code = EVERY_PAIR.format(name=name, max_dist=max_dist, margin=400)
    assert python(code, timeout=600).split() == ["ok"]
