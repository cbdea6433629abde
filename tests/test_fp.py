"""workshop.fp: numpy's dot as it rounds on this machine, and exact arithmetic.

The rule under test (numpy's x86-64 wheels, OpenBLAS DYNAMIC_ARCH): a float64 dot of
fewer than 16 values is a left-to-right sum, fused into one multiply-add per step in
OpenBLAS's AVX-512 kernels and not in the others. Checked three ways on the machine
the tests run on: the probe, the kernel threadpoolctl names, and the CPU's flags, plus
every kernel this CPU can run, forced with OPENBLAS_CORETYPE in a fresh interpreter.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import poly_match
from workshop import child_env, fp, stages

FINITE = st.floats(allow_nan=False, allow_infinity=False)
KERNEL = fp.blas_kernel()
FUSES = fp.numpy_dot_fuses()


def exact_fma(a: float, b: float, c: float) -> float:
    return float(Fraction(a) * Fraction(b) + Fraction(c))


# --- the exact fused multiply-add ---------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(a=FINITE, b=FINITE, c=FINITE)
def test_fma_is_the_exact_result_rounded_once(a: float, b: float, c: float) -> None:
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    try:
        expected = float(exact)
    except OverflowError:
        expected = math.inf if exact > 0 else -math.inf
    got = fp.fma(a, b, c)
    assert got == expected or (expected == 0 and got == 0)


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        (1e300, 1e300, -math.inf, -math.inf),  # a * b overflows; the exact product does not
        (1e308, 10.0, -1e308, math.inf),
        (math.inf, 0.0, 1.0, math.nan),
        (-0.0, 1.0, -0.0, -0.0),
        (0.0, -1.0, 0.0, 0.0),
        (2.0, 0.5, -1.0, 0.0),
        (1.5e-323, 0.5, 0.0, 1e-323),  # a subnormal halfway case: to even
        (1.0 + 2**-30, 1.0 + 2**-30, -1.0, 2**-29 + 2**-60),  # the plain form loses 2**-60
    ],
)
def test_fma_special_values(a: float, b: float, c: float, expected: float) -> None:
    got = fp.fma(a, b, c)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected and math.copysign(1, got) == math.copysign(1, expected)


# --- numpy here: the probe, the kernel and the CPU agree with the rule ------------------------


def test_the_probe_matches_the_kernel_rule() -> None:
    rule = fp.kernel_fuses(KERNEL)
    if rule is None:
        pytest.skip(f"numpy's BLAS kernel here ({KERNEL!r}) is not one the rule covers")
    assert rule == FUSES, f"kernel {KERNEL}: the rule says fused={rule}, numpy's dot {FUSES}"
    assert fp.numpy_dot_model(10) == ("fused" if rule else "unfused")


def test_the_cpu_decides_when_no_kernel_is_forced() -> None:
    if os.environ.get("OPENBLAS_CORETYPE"):
        pytest.skip("OPENBLAS_CORETYPE is set here: it, not the CPU, chooses the kernel")
    if platform.machine() not in ("x86_64", "AMD64") or fp.kernel_fuses(KERNEL) is None:
        pytest.skip(f"the rule covers numpy's OpenBLAS on x86-64 (here: {KERNEL!r})")
    flags = fp.cpu_flags()
    assert flags, "no CPU flags in /proc/cpuinfo"
    assert fp.cpu_fuses(flags) == FUSES, (
        f"avx512vl {'in' if 'avx512vl' in flags else 'not in'} the CPU flags, "
        f"kernel {KERNEL}, numpy's dot fused={FUSES}"
    )


PROBE = """
import json
from workshop import fp
out = {"kernel": fp.blas_kernel(), "dot2": fp.numpy_dot_model(2)}
try:
    out["dot10"] = fp.numpy_dot_model(10)
except RuntimeError as err:
    out["dot10"] = str(err)
print(json.dumps(out))
"""


@pytest.mark.parametrize("coretype", list(fp.CORETYPE_FLAGS))
def test_each_kernel_this_cpu_runs_follows_the_rule(coretype: str) -> None:
    """OPENBLAS_CORETYPE forces a kernel; one this CPU lacks the instructions for would
    die of SIGILL, so those are skipped (the reason names the missing flags)."""
    if platform.machine() not in ("x86_64", "AMD64") or fp.kernel_fuses(KERNEL) is None:
        pytest.skip(f"the kernels are numpy's OpenBLAS ones on x86-64 (here: {KERNEL!r})")
    why_not = fp.runnable_coretypes(fp.cpu_flags())[coretype]
    if why_not:
        pytest.skip(f"OPENBLAS_CORETYPE={coretype}: {why_not}; forcing it would crash")
    preset = os.environ.get("OPENBLAS_CORETYPE")
    if preset and fp.kernel_fuses(coretype) and not fp.kernel_fuses(preset):
        pytest.skip(f"OPENBLAS_CORETYPE={preset} is preset here to keep OpenBLAS off {coretype}")
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=child_env(OPENBLAS_CORETYPE=coretype),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.splitlines()[-1])
    rule = fp.kernel_fuses(got["kernel"])
    assert rule is not None, f"OPENBLAS_CORETYPE={coretype} ran kernel {got['kernel']!r}"
    expected = "fused" if rule else "unfused"
    assert got["dot2"] == expected, got
    if got["kernel"] in ("Katmai", "Prescott"):
        # The SSE2 assembly kernel pairs values (alignment decides how) from 3 values on.
        return
    assert got["dot10"] == expected, got


# --- the models against numpy itself -------------------------------------------------------


def test_dot_model_is_numpys_dot_below_16_values() -> None:
    if KERNEL in ("Katmai", "Prescott"):
        pytest.skip("the Prescott kernel's order for 3 or more values depends on alignment")
    rng = random.Random(5)
    for n in range(1, fp.SIMD_BLOCK):
        for _ in range(40):
            x = [rng.uniform(-50, 50) for _ in range(n)]
            y = [rng.uniform(-50, 50) for _ in range(n)]
            assert fp.dot(x, y, FUSES) == float(np.dot(np.array(x), np.array(y))), (n, x, y)
    with pytest.raises(ValueError, match="16"):
        fp.dot([1.0] * 16, [1.0] * 16, FUSES)


def test_norm_below_is_the_baselines_test() -> None:
    rng = random.Random(6)
    for _ in range(2000):
        center = np.array([rng.uniform(-30, 30), rng.uniform(-30, 30)])
        point = np.array([rng.uniform(-30, 30), rng.uniform(-30, 30)])
        max_dist = rng.uniform(0, 60)
        expected = bool(np.linalg.norm(center - point) < max_dist)
        assert fp.norm_below(center, point, max_dist, FUSES) == expected
        assert fp.norm(center, point, FUSES) == np.linalg.norm(center - point)


def test_polygon_area_model_is_the_baselines_area() -> None:
    polygons, _ = poly_match.generate_example(n_polygons=300, n_points=0)
    for poly in polygons:
        assert fp.polygon_area(poly.x, poly.y, FUSES) == poly.area()


# --- centers within an ulp of max_dist --------------------------------------------------------


@pytest.mark.parametrize(("max_dist", "count", "seed"), [(10.0, 20, 0), (0.7, 6, 1), (123.4, 6, 2)])
def test_boundary_cases_split_the_two_forms(max_dist: float, count: int, seed: int) -> None:
    cases = fp.boundary_cases(max_dist, count, seed)
    assert len(cases) == count
    assert sum(case.fused_close for case in cases) == count - count // 2
    for case in cases:
        assert fp.norm_below(case.center, case.point, max_dist, True) is case.fused_close
        assert fp.norm_below(case.center, case.point, max_dist, False) is not case.fused_close
        distance = fp.norm(case.center, case.point, False)
        assert abs(distance - max_dist) <= 2 * math.ulp(max_dist)
        numpy_says = np.linalg.norm(np.array(case.center) - np.array(case.point)) < max_dist
        assert numpy_says == case.close(FUSES)
    assert fp.boundary_cases(max_dist, count, seed) == cases  # deterministic


@pytest.mark.parametrize("max_dist", [10.0, 0.1, 1e-300, 3.0, 7e150, 1e300])
def test_the_sqrt_free_threshold_is_exact(max_dist: float) -> None:
    """``d2 < t`` is ``sqrt(d2) < max_dist`` for every d2: checked on every double within
    64 ulps of t (elsewhere both sides are plainly true or plainly false)."""
    t = fp.squared_threshold(max_dist)
    d2 = t
    for _ in range(64):
        d2 = math.nextafter(d2, 0.0)
    for _ in range(129):
        assert (d2 < t) == (math.sqrt(d2) < max_dist), (max_dist, d2, t)
        d2 = math.nextafter(d2, math.inf)
    assert math.sqrt(t) >= max_dist > math.sqrt(math.nextafter(t, 0.0))


def test_the_squared_threshold_of_nothing_is_zero() -> None:
    for max_dist in (0.0, -1.0, math.nan):
        assert fp.squared_threshold(max_dist) == 0.0
    assert fp.squared_threshold(math.inf) == math.inf


# --- exact areas -----------------------------------------------------------------------------

TRIANGLES = fp.CANCELLATION


def test_exact_area_of_simple_shapes() -> None:
    assert fp.exact_area([0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]) == 1
    assert fp.exact_area([0.0, 0.1, 0.0], [0.0, 0.0, 0.1]) == Fraction(0.1) ** 2 / 2
    assert fp.exact_area_float([0.0, 2.0, 0.0], [0.0, 0.0, 3.0]) == 3.0
    assert fp.exact_area_float([0.0, 1e200, 0.0], [0.0, 0.0, 1e200]) == math.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        fp.exact_area_float([0.0, math.nan, 1.0], [0.0, 1.0, 1.0])


def test_cancellation_triangles_exact_and_as_numpy_has_them() -> None:
    """Near (1e7, 1e7) numpy's area is mostly rounding: its two forms disagree with each
    other and with the exact areas, which put the second triangle first by a factor 2."""
    (x1, y1), (x2, y2) = TRIANGLES
    a1, a2 = fp.exact_area(x1, y1), fp.exact_area(x2, y2)
    assert round(float(a1), 4) == 0.0586 and round(float(a2), 4) == 0.0274
    for x, y, exact in ((x1, y1, a1), (x2, y2, a2)):
        for fused in (True, False):
            error = abs(Fraction(fp.polygon_area(x, y, fused)) - exact)
            assert error <= fp.area_error_bound(x, y)
            assert error > exact / 10  # far off: this is what cancellation does
        assert poly_match.Polygon(np.array(x), np.array(y)).area() == fp.polygon_area(x, y, FUSES)
    assert fp.polygon_area(x1, y1, True) > fp.polygon_area(x2, y2, True)  # numpy fused: right
    assert fp.polygon_area(x1, y1, False) < fp.polygon_area(x2, y2, False)  # unfused: wrong


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)),
        min_size=3,
        max_size=fp.SIMD_BLOCK - 1,
    )
)
# Products below the normal range round to 0: an absolute error, not a relative one.
@example([(0.0, 0.0), (0.0, 7.593641206309538e-249), (5.4238443418578404e-297, 0.0)])
def test_every_form_of_the_area_is_within_the_error_bound(vertices) -> None:
    x, y = [v[0] for v in vertices], [v[1] for v in vertices]
    exact, bound = fp.exact_area(x, y), fp.area_error_bound(x, y)
    for fused in (True, False):
        assert abs(Fraction(fp.polygon_area(x, y, fused)) - exact) <= bound
    assert abs(Fraction(poly_match.polygon_area(np.array(x), np.array(y))) - exact) <= bound
    assert Fraction(fp.exact_area_float(x, y)) - exact <= Fraction(math.ulp(float(exact))) / 2


# --- the lesson's numbers ---------------------------------------------------------------------


def test_fp_target_writes_the_lessons_numbers(tmp_path) -> None:
    assert fp.main(["--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "fp.json").read_text())
    lesson = result["lesson"]
    assert lesson["kernel"] == KERNEL and lesson["dot2"] == ("fused" if FUSES else "unfused")
    picks = lesson["article"]["picks"]
    assert picks["exact"] == picks["exact_rounded"]
    assert picks["numpy"] == picks["fused" if FUSES else "unfused"]
    candidates = lesson["article"]["candidates"]
    assert (candidates[str(picks["article"])]["x0"], candidates[str(picks["article"])]["y0"]) == (
        9.0,
        27.0,
    )
    assert len({picks["numpy"], picks["exact"], picks["article"]}) == 3  # three "smallest"
    assert (tmp_path / "fp.md").read_text().startswith("<!-- written by `make fp`")


# --- what the walkthrough's floating-point lesson says about the stages ------------------------

RUST_STAGES = ["stage1", "stage2", "stage3", "stage4"]


def built(name: str):
    stage = stages.get(name)
    if not stage.is_available():
        pytest.skip(f"{stage.module} is not built (`make build`)")
    return stage.load()


@pytest.mark.parametrize("name", RUST_STAGES)
def test_rust_stages_test_the_distance_unfused_on_every_cpu(name: str) -> None:
    """On centers within an ulp of max_dist a stage says what the plain ``a*a + b*b`` says,
    whatever numpy does here (on a fusing CPU numpy says the opposite on these)."""
    module = built(name)
    for case in fp.boundary_cases(count=12, seed=8):
        x, y = np.array([case.center[0]] * 2), np.array([case.center[1]] * 2)
        result = module.main([module.Polygon(x, y)], [np.array(case.point)], case.max_dist)
        assert bool(result) is case.close(fused=False), case


EXACT_STAGES = ["stage3", "stage4"]


@pytest.mark.parametrize("name", EXACT_STAGES)
def test_stages_3_and_4_compute_the_true_area_correctly_rounded(name: str) -> None:
    module = built(name)
    polygons, _ = poly_match.generate_example(n_polygons=60, n_points=0)
    shapes = [(p.x, p.y) for p in polygons] + [(np.array(x), np.array(y)) for x, y in TRIANGLES]
    for x, y in shapes:
        assert module.Polygon(x, y).area() == fp.exact_area_float(x, y)
    # The cancellation pair: the second triangle is the smaller, on every CPU.
    triangles = [module.Polygon(np.array(x), np.array(y)) for x, y in TRIANGLES]
    [(_, picked)] = module.main(triangles, [np.array([1e7, 1e7])])
    assert picked is triangles[1]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", EXACT_STAGES)
def test_stages_3_and_4_overflow_where_numpy_does(name: str) -> None:
    """Where numpy's area is infinite or NaN, the stage's is the same; where numpy's is
    finite, the stage's is the true area, correctly rounded (even if it is inf)."""
    module = built(name)
    rng = np.random.default_rng(3)
    for _ in range(300):
        x, y = 1.7e154 * rng.random(3), 1.7e154 * rng.random(3)
        numpy_area = poly_match.Polygon(x, y).area()
        area = module.Polygon(x, y).area()
        if math.isfinite(numpy_area):
            assert area == fp.exact_area_float(x, y)
        else:
            assert (math.isnan(area), math.isinf(area)) == (
                math.isnan(numpy_area),
                math.isinf(numpy_area),
            )
