"""Floating point as numpy computes it on this machine, and as exact arithmetic has it.

    python -m workshop.fp [--out results]      # what `make fp` runs: writes fp.json, fp.md

The baseline's two numeric tests both go through numpy's float64 dot, which is OpenBLAS's
``ddot``: ``np.linalg.norm(center - point)`` is ``sqrt(d.dot(d))`` for a 2-vector, and the
shoelace area is two dots of 10 values. OpenBLAS sums fewer than 16 values (its SIMD block)
left to right from 0.0 in a plain C loop, ``dot += y[i] * x[i]``, and picks the kernel that
runs it per CPU at run time. numpy's wheels build that loop with GCC, which contracts it
into one fused multiply-add per step (``dot = fma(y[i], x[i], dot)``, rounded once) only
in the kernels compiled for AVX-512 (``SkylakeX``, chosen on every CPU with AVX-512VL,
Intel or AMD); every other kernel (``Haswell`` for AVX2 CPUs, AMD Zen 1-3 included, and
the older ones) multiplies and adds, rounding twice. So the same program gives a center
within an ulp of ``max_dist`` the opposite verdict on the two kinds of CPU, and ranks
areas that differ only by rounding differently.

This module models both forms exactly in Python floats (an exact ``fma`` through
``fractions.Fraction``: Python 3.10 and 3.11 have no ``math.fma``), probes which one numpy
uses here, and computes the shoelace area exactly, so that tests and docs can say what
holds on every CPU. ``main`` writes the numbers the walkthrough's floating-point lesson
quotes.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

# ddot's vector loop takes ``n & -16`` values; fewer go through the scalar loop modelled here.
SIMD_BLOCK = 16
# The kernels whose scalar loop is fused: compiled with -march=skylake-avx512 (or later).
# numpy's x86-64 wheels ship Prescott, Nehalem, SandyBridge, Haswell and SkylakeX; a CPU
# OpenBLAS calls Cooperlake or SapphireRapids runs SkylakeX there, others build them.
FUSING_KERNELS = frozenset({"SkylakeX", "Cooperlake", "SapphireRapids"})
NOT_FUSING_KERNELS = frozenset(
    {"Katmai", "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge"}
    | {"Haswell", "Zen", "Bulldozer", "Piledriver", "Steamroller", "Excavator", "Barcelona"}
)
# OPENBLAS_CORETYPE values and the /proc/cpuinfo flags the kernel they select needs: a
# kernel forced on a CPU without them dies of an illegal instruction. ("pni" is SSE3.)
CORETYPE_FLAGS = {
    "Prescott": frozenset({"sse2", "pni"}),
    "Nehalem": frozenset({"ssse3", "sse4_1", "sse4_2", "popcnt"}),
    "SandyBridge": frozenset({"avx"}),
    "Haswell": frozenset({"avx2", "fma"}),
    "Zen": frozenset({"avx2", "fma"}),
    "SkylakeX": frozenset({"avx512f", "avx512vl", "avx512cd", "avx512bw", "avx512dq"}),
    "Cooperlake": frozenset({"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512_bf16"}),
}


# --- the two forms of numpy's dot, exactly ------------------------------------------------


def fma(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once (IEEE 754 fusedMultiplyAdd, round to nearest even).

    Exact in Python ints: every finite double is an int over a power of two, and int
    true division rounds correctly (it is what ``float(Fraction)`` does, without the gcd
    that makes ``Fraction`` far slower). Infinities, NaN and signed zeros follow IEEE 754.
    """
    a, b, c = float(a), float(b), float(c)
    if not (math.isfinite(a) and math.isfinite(b)):
        return a * b + c  # an infinite or NaN product is what the exact product is
    if not math.isfinite(c):
        return c  # the exact product of finite a and b is finite, whatever a * b rounds to
    (na, da), (nb, db), (nc, dc) = a.as_integer_ratio(), b.as_integer_ratio(), c.as_integer_ratio()
    num, den = na * nb, da * db  # denominators are powers of two: one divides the other
    if den >= dc:
        num += nc * (den // dc)
    else:
        num, den = num * (dc // den) + nc, dc
    if num == 0:
        # An exact zero is -0.0 only when both addends are zeros of that sign.
        product_sign = math.copysign(1, a) * math.copysign(1, b)
        return -0.0 if na * nb == 0 and product_sign < 0 and math.copysign(1, c) < 0 else 0.0
    try:
        return num / den
    except OverflowError:
        return math.inf if num > 0 else -math.inf


def dot(x: Sequence[float], y: Sequence[float], fused: bool) -> float:
    """numpy's float64 ``np.dot(x, y)`` of fewer than 16 values, as OpenBLAS computes it.

    Left to right from 0.0, each step ``fma(y[i], x[i], dot)`` (``fused``) or
    ``dot + y[i] * x[i]``; numpy then adds the result to 0.0 (so -0.0 becomes 0.0).
    """
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} and {len(y)}")
    if len(x) >= SIMD_BLOCK:
        raise ValueError(
            f"{len(x)} values: OpenBLAS sums {SIMD_BLOCK} or more in SIMD blocks, not modelled"
        )
    total = 0.0
    for a, b in zip(x, y, strict=True):
        total = fma(b, a, total) if fused else total + float(b) * float(a)
    return 0.0 + total


def norm(center: Sequence[float], point: Sequence[float], fused: bool) -> float:
    """``np.linalg.norm(center - point)`` for 2-vectors: ``sqrt(d . d)``, ``d = center - point``."""
    d = [float(center[0]) - float(point[0]), float(center[1]) - float(point[1])]
    d2 = dot(d, d, fused)
    return math.sqrt(d2) if d2 >= 0 else math.nan  # d2 is NaN or >= 0


def norm_below(
    center: Sequence[float], point: Sequence[float], max_dist: float, fused: bool
) -> bool:
    """The baseline's close test ``np.linalg.norm(center - point) < max_dist``, exactly."""
    return norm(center, point, fused) < max_dist


def polygon_area(x: Sequence[float], y: Sequence[float], fused: bool) -> float:
    """The baseline's ``0.5 * |dot(x, roll(y, 1)) - dot(y, roll(x, 1))|``, as numpy computes it."""
    x, y = [float(v) for v in x], [float(v) for v in y]
    rolled_y, rolled_x = y[-1:] + y[:-1], x[-1:] + x[:-1]
    return 0.5 * abs(dot(x, rolled_y, fused) - dot(y, rolled_x, fused))


# --- what numpy does here ------------------------------------------------------------------


def _differing_pairs(n: int, count: int, seed: int) -> list[tuple[list[float], list[float]]]:
    """``count`` random n-vector pairs whose fused and unfused dots differ."""
    rng = random.Random(seed)
    found = []
    while len(found) < count:
        x = [rng.uniform(-20, 20) for _ in range(n)]
        y = x if n == 2 else [rng.uniform(-20, 20) for _ in range(n)]
        if dot(x, y, True) != dot(x, y, False):
            found.append((x, y))
    return found


def numpy_dot_model(n: int = 2, count: int = 64, seed: int = 2024) -> str:
    """``"fused"`` or ``"unfused"``: which form numpy's float64 dot of n values takes here.

    Probed on ``count`` vectors where the two forms differ (for n = 2, ``d . d`` as
    ``np.linalg.norm`` computes it). Raises RuntimeError if numpy matches neither form
    on every one of them: then the models here do not describe this numpy.
    """
    import numpy as np

    fused = unfused = 0
    pairs = _differing_pairs(n, count, seed)
    for x, y in pairs:
        got = float(np.dot(np.array(x), np.array(y)))
        fused += got == dot(x, y, True)
        unfused += got == dot(x, y, False)
    if fused == len(pairs):
        return "fused"
    if unfused == len(pairs):
        return "unfused"
    raise RuntimeError(
        f"numpy's dot of {n} float64 values matches neither model: on {len(pairs)} vectors "
        f"where they differ it equals the fused form {fused} times, the unfused {unfused} "
        f"(kernel {blas_kernel()!r})"
    )


def numpy_dot_fuses() -> bool:
    """Whether numpy's dot of a float64 2-vector here is ``fma(b, b, a*a)`` (else ``a*a + b*b``)."""
    return numpy_dot_model(2) == "fused"


def blas_kernel() -> str | None:
    """The OpenBLAS kernel numpy runs (threadpoolctl's ``architecture``), or None.

    None when numpy's BLAS is not OpenBLAS. Names are OpenBLAS's: ``Haswell``,
    ``SkylakeX``, ...; a build without a core's own kernel reports the one it runs instead
    (numpy's wheels run ``Haswell`` on AMD Zen and report the Prescott kernel as ``Katmai``).
    """
    import numpy  # noqa: F401  (loads numpy's OpenBLAS, so threadpoolctl sees it)
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas" and "numpy" in lib.get("filepath", ""):
            return lib.get("architecture")
    return None


def kernel_fuses(kernel: str | None) -> bool | None:
    """What the rule says a kernel does with fewer than 16 values: True fused, False not,
    None for a kernel (or BLAS) the rule does not cover."""
    if kernel in FUSING_KERNELS:
        return True
    if kernel in NOT_FUSING_KERNELS:
        return False
    return None


def cpu_flags() -> frozenset[str]:
    """The first CPU's flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def cpu_fuses(flags: Iterable[str]) -> bool:
    """The rule from the CPU alone (OPENBLAS_CORETYPE unset): OpenBLAS picks its AVX-512
    kernel, the fusing one, exactly when the CPU (and the OS) supports AVX-512VL."""
    return "avx512vl" in set(flags)


def runnable_coretypes(flags: Iterable[str]) -> dict[str, str | None]:
    """``{OPENBLAS_CORETYPE: None if this CPU runs it, else why not}``."""
    have = set(flags)
    out: dict[str, str | None] = {}
    for core, needs in CORETYPE_FLAGS.items():
        missing = sorted(needs - have)
        out[core] = f"this CPU lacks {', '.join(missing)}" if missing else None
    return out


# --- centers within an ulp of max_dist ------------------------------------------------------


class BoundaryCase(NamedTuple):
    """A center and a point on which numpy's fused and unfused norms give opposite verdicts."""

    center: tuple[float, float]
    point: tuple[float, float]
    max_dist: float
    fused_close: bool  # what a fusing numpy says; an unfused one says the opposite

    def close(self, fused: bool) -> bool:
        return self.fused_close if fused else not self.fused_close


def squared_threshold(max_dist: float) -> float:
    """The smallest double ``t`` with ``sqrt(t) >= max_dist`` (0.0 for NaN or ``max_dist <= 0``):
    for every ``d2 >= 0``, ``d2 < t`` exactly when ``sqrt(d2) < max_dist``."""
    if math.isnan(max_dist) or max_dist <= 0:
        return 0.0
    t = min(max_dist * max_dist, sys.float_info.max)
    while t > 0 and math.sqrt(math.nextafter(t, 0.0)) >= max_dist:
        t = math.nextafter(t, 0.0)
    while math.sqrt(t) < max_dist:
        t = math.nextafter(t, math.inf)
    return t


def boundary_cases(max_dist: float = 10.0, count: int = 20, seed: int = 0) -> list[BoundaryCase]:
    """``count`` (center, point) pairs within an ulp or two of ``max_dist``, half of them
    close only for a fusing numpy, half close only for an unfused one. Deterministic."""
    rng = random.Random(seed)
    threshold = squared_threshold(max_dist)
    near = 4 * math.ulp(threshold)
    want = {True: count - count // 2, False: count // 2}
    found: list[BoundaryCase] = []
    while want[True] or want[False]:
        point = (float(rng.randint(-50, 50)), float(rng.randint(-50, 50)))
        angle = rng.uniform(0, 2 * math.pi)
        cx = point[0] + max_dist * math.cos(angle)
        cy = point[1] + max_dist * math.sin(angle)
        for _ in range(12):  # walk cy across the circle, an ulp at a time
            dx, dy = cx - point[0], cy - point[1]
            unfused_d2 = dx * dx + dy * dy
            # Only a d2 within a few ulps of the threshold can get two verdicts: the exact
            # (and slow) fused form is computed for those alone.
            if abs(unfused_d2 - threshold) <= near:
                fused = norm_below((cx, cy), point, max_dist, True)
                if fused != (unfused_d2 < threshold) and want[fused]:
                    want[fused] -= 1
                    found.append(BoundaryCase((cx, cy), point, max_dist, fused))
                    break
            away = (cy >= point[1]) == (unfused_d2 < threshold)  # inside: step away
            cy = math.nextafter(cy, math.inf if away else -math.inf)
    return found


# --- exact areas ---------------------------------------------------------------------------


def exact_area(x: Sequence[float], y: Sequence[float]) -> Fraction:
    """The shoelace area of the float coordinates, in exact rational arithmetic."""
    xs, ys = [Fraction(float(v)) for v in x], [Fraction(float(v)) for v in y]
    if len(xs) != len(ys):
        raise ValueError(f"x and y differ in length: {len(xs)} and {len(ys)}")
    n = len(xs)
    twice = sum((xs[i] * ys[i - 1] - ys[i] * xs[i - 1] for i in range(n)), Fraction(0))
    return abs(twice) / 2


def exact_area_float(x: Sequence[float], y: Sequence[float]) -> float:
    """The true area of the float coordinates, correctly rounded (inf if it overflows).

    Raises ValueError for a NaN or infinite coordinate: then there is no true area, and
    numpy's own (inf or NaN) is the answer.
    """
    if not all(math.isfinite(float(v)) for v in (*x, *y)):
        raise ValueError("a coordinate is NaN or infinite: the area has no exact value")
    area = exact_area(x, y)
    try:
        return float(area)
    except OverflowError:
        return math.inf


def area_error_bound(x: Sequence[float], y: Sequence[float]) -> Fraction:
    """How far from the exact area a float64 shoelace area can be, whatever the summation
    order and fused or not: each dot of n products is within ``n u / (1 - n u)`` of the
    sum of their absolute values (u = 2**-53), plus one rounding of the difference. A
    product below the normal range (subnormal, or 0) is off by up to half the smallest
    subnormal instead, whatever its size: n of them per dot, and the halving's."""
    xs, ys = [Fraction(float(v)) for v in x], [Fraction(float(v)) for v in y]
    n = len(xs)
    u, tiny = Fraction(1, 2**53), Fraction(1, 2**1074)
    gamma = n * u / (1 - n * u)
    magnitude = sum(
        (abs(xs[i] * ys[i - 1]) + abs(ys[i] * xs[i - 1]) for i in range(n)), Fraction(0)
    )
    underflow = (n + 1) * tiny
    return (gamma * magnitude * (1 + u)) / 2 + u * exact_area(x, y) + underflow


def _exactly_close(center: Any, point: Any, max_dist: float) -> bool:
    cx, cy = (Fraction(float(v)) for v in center)
    px, py = (Fraction(float(v)) for v in point)
    if not math.isfinite(float(max_dist)) or max_dist <= 0:
        return max_dist == math.inf
    return (cx - px) ** 2 + (cy - py) ** 2 < Fraction(float(max_dist)) ** 2


def _finite(poly: Any) -> bool:
    return all(math.isfinite(float(v)) for v in (*poly.x, *poly.y, *poly.center))


def exactly_close(polygons: Sequence[Any], point: Any, max_dist: float) -> list[int]:
    """Indices of the polygons whose (float) center is closer than ``max_dist`` to
    ``point`` in exact arithmetic. Polygons need ``.x``, ``.y`` and ``.center``."""
    return [
        i
        for i, poly in enumerate(polygons)
        if _finite(poly) and _exactly_close(poly.center, point, max_dist)
    ]


def exact_winner(
    polygons: Sequence[Any], point: Any, max_dist: float = 10.0, rounded: bool = False
) -> int | None:
    """The polygon the problem asks for, in exact arithmetic: among the exactly close
    ones, the least exact area, the first on a tie. ``rounded``: compare the correctly
    rounded areas instead (what a stage promising the true area correctly rounded picks)."""
    close = exactly_close(polygons, point, max_dist)
    if not close:
        return None
    areas = {i: exact_area(polygons[i].x, polygons[i].y) for i in close}
    key = (lambda i: float(areas[i])) if rounded else (lambda i: areas[i])
    return min(close, key=key)  # min keeps the first of equal keys


def tied_within_rounding(polygons: Sequence[Any], point: Any, max_dist: float = 10.0) -> list[int]:
    """The close polygons some float64 evaluation of the shoelace area (any order, fused or
    not) could make the least: exact area minus its error bound at most the least exact
    area plus its bound. Every correct pick is one of these."""
    close = exactly_close(polygons, point, max_dist)
    if not close:
        return []
    areas = {i: exact_area(polygons[i].x, polygons[i].y) for i in close}
    bounds = {i: area_error_bound(polygons[i].x, polygons[i].y) for i in close}
    ceiling = min(areas[i] + bounds[i] for i in close)
    return [i for i in close if areas[i] - bounds[i] <= ceiling]


# --- the walkthrough's numbers -------------------------------------------------------------

# Two triangles near (1e7, 1e7): their exact areas differ by 2x, numpy's by far more.
CANCELLATION = (
    ([10000000.27, 10000000.7, 10000000.07], [10000000.21, 10000000.56, 10000000.32]),
    ([10000000.98, 10000000.45, 10000000.32], [10000000.05, 10000000.39, 10000000.37]),
)
ARTICLE_PICK = (9.0, 27.0)  # the original test_main's polygon: its first vertex


def _area_row(x: Sequence[float], y: Sequence[float]) -> dict[str, Any]:
    import poly_match

    exact = exact_area(x, y)
    return {
        "x0": float(x[0]),
        "y0": float(y[0]),
        "numpy": float(poly_match.Polygon(x, y).area()),
        "fused": polygon_area(x, y, True),
        "unfused": polygon_area(x, y, False),
        "exact": f"{exact.numerator}/{exact.denominator}",
        "exact_float": float(exact),
    }


def _winner(rows: dict[int, dict[str, Any]], column: str) -> int:
    return min(rows, key=lambda i: rows[i][column])  # the first of equal areas, as the scan


def lesson() -> dict[str, Any]:
    """What numpy does here, next to the models and the exact answers: the lesson's facts."""
    import numpy as np

    import poly_match

    kernel = blas_kernel()
    result: dict[str, Any] = {
        "kernel": kernel,
        "coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "dot2": numpy_dot_model(2),
        "dot10": numpy_dot_model(10),
        "rule": {"kernel_fuses": kernel_fuses(kernel), "cpu_fuses": cpu_fuses(cpu_flags())},
    }
    # How often the two forms of d . d differ, on random 2-vectors.
    rng = random.Random(7)
    trials, differ = 20_000, 0
    for _ in range(trials):
        d = [rng.uniform(-20, 20), rng.uniform(-20, 20)]
        differ += dot(d, d, True) != dot(d, d, False)
    result["dot2_differ"] = {"trials": trials, "differ": differ}
    case = boundary_cases(count=1)[0]
    result["boundary"] = {
        "center": list(case.center),
        "point": list(case.point),
        "max_dist": case.max_dist,
        "fused_close": case.fused_close,
    }

    # The original test_main: the first pair, sorted by point.
    polygons, points = poly_match.generate_example()
    pairs = sorted(poly_match.main(polygons, points), key=lambda pair: tuple(pair[0]))
    point, picked = pairs[0]
    close = [i for i, p in enumerate(polygons) if np.linalg.norm(p.center - point) < 10.0]
    rows = {i: _area_row(polygons[i].x, polygons[i].y) for i in close}
    by_vertex = {(row["x0"], row["y0"]): i for i, row in rows.items()}
    result["article"] = {
        "point": [float(v) for v in point],
        "close": len(close),
        "tied": len(tied_within_rounding(polygons, point)),
        "picks": {
            "numpy": next(i for i in close if polygons[i] is picked),
            "fused": _winner(rows, "fused"),
            "unfused": _winner(rows, "unfused"),
            "exact": exact_winner(polygons, point),
            "exact_rounded": exact_winner(polygons, point, rounded=True),
            "article": by_vertex.get(ARTICLE_PICK),
        },
        "candidates": {str(i): row for i, row in rows.items()},
    }
    result["cancellation"] = [_area_row(x, y) for x, y in CANCELLATION]
    return result


def fp_markdown(result: dict[str, Any]) -> str:
    lesson = result["lesson"]
    art = lesson["article"]
    lines = [
        "<!-- written by `make fp` (python -m workshop.fp): edits are overwritten -->",
        f"# numpy's float64 dot here: {lesson['dot2']} "
        f"(OpenBLAS kernel {lesson['kernel']}, {result['env']['cpu']})",
        "",
        f"- 2 values (`np.linalg.norm`): {lesson['dot2']}; 10 values (the area): "
        f"{lesson['dot10']}. The rule (AVX-512 kernels fuse) says: from the kernel "
        f"{lesson['rule']['kernel_fuses']}, from the CPU {lesson['rule']['cpu_fuses']}.",
        f"- random 2-vectors where `fma(b, b, a*a)` differs from `a*a + b*b`: "
        f"{lesson['dot2_differ']['differ']:,} of {lesson['dot2_differ']['trials']:,}",
        "",
        f"## The original test_main: point {art['point']}, {art['close']} close polygons, "
        f"{art['tied']} tied within rounding",
        "",
        "| polygon | first vertex | numpy here | fused | unfused | exact | the pick of |",
        "|--:|:--|--:|--:|--:|--:|:--|",
    ]
    for i, row in art["candidates"].items():
        who = ", ".join(k for k, v in art["picks"].items() if v == int(i))
        lines.append(
            f"| {i} | ({row['x0']:g}, {row['y0']:g}) | {row['numpy']!r} | {row['fused']!r} | "
            f"{row['unfused']!r} | {row['exact_float']!r} | {who} |"
        )
    lines += ["", "## Cancellation near (1e7, 1e7)", ""]
    lines += ["| triangle | numpy here | fused | unfused | exact |", "|--:|--:|--:|--:|--:|"]
    for k, row in enumerate(lesson["cancellation"], 1):
        lines.append(
            f"| {k} | {row['numpy']!r} | {row['fused']!r} | {row['unfused']!r} | "
            f"{row['exact_float']!r} |"
        )
    lines += ["", f"Written by `{result['command']}` on {result['env']['date'][:10]}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from workshop import RESULTS, bench, report

    parser = argparse.ArgumentParser(prog="python -m workshop.fp", description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where fp.json goes")
    args = parser.parse_args(argv)
    print("probing numpy's dot and computing the exact areas (a few seconds)", flush=True)
    result = {
        "schema": 1,
        "command": bench.command_line("workshop.fp", argv),
        "env": bench.environment(),
        "lesson": lesson(),
    }
    report.write_report(result, args.out, "fp", fp_markdown)
    print(fp_markdown(result))
    print(f"wrote {args.out}/fp.json, fp.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
