"""Speed cliffs, measured: an outlier, a clustered or crowded layout or an extreme
``max_dist`` must not cost stage 4 more than 3x the plain workload of the same size.

    python -m workshop.outliers [--out results]      # what `make bench-outliers` runs

Stage 4 on 100k polygons x 10k points, every way below, against ``plain`` (as generated).
Outliers and clusters:

- ``far_polygon``: one extra polygon (the canonical arc) at x = 1e12;
- ``nan_polygon``: one extra polygon, in the middle of the field, with a NaN vertex;
- ``far_point``: one extra point at x = 1e12;
- ``far_pair``: both a far polygon and a point close to it (the grid is cut to where
  centers and points meet, and here they meet far away too);
- ``two_clusters``: the same numbers of polygons and points as two workloads of half
  the size, 1e9 apart (real data is clustered: cities, not a uniform square);
- ``far_cluster``: 3% of the polygons and half of the points in a cluster far from the
  rest.

Crowded and extreme layouts (``LAYOUTS``), where a plain grid scans most pairs:

- ``tight_cluster``: every center in a 1 x 1 square, every point 12 to 14 from it;
- ``identical``: every center at one spot, every point 10.5 from it;
- ``inside_cluster``: the 1 x 1 square of centers, every point inside it (every pair close);
- ``huge_magnitudes``: centers at magnitudes 1e20 to 1e300, each point on a center;
- ``max_dist_1e300``, ``max_dist_inf``: the plain workload, every pair close;
- ``one_spot``: every center and point at one spot, ``max_dist`` = 1e-300;
- ``log_uniform``: centers and points at magnitudes 1e-300 to 1e300, either sign.

A grid spanning every center as one dense array of cells gets stretched by outliers:
when it did, one far polygon took 569 ms and a NaN area sent the call to brute force
(511 ms), against ~10 ms plain; two clusters at 400k x 100k took 132x the uniform call.
A grid that scans every center of the cells around a point got 20x to 145x slower on the
crowded layouts.

1. Check. The stage is checked against the baseline first (``bench.check``). Then one
   call per case: the outlier cases must pick, for the original points, what the plain
   workload picks (the extra polygon is close to no original point, the far point has
   no polygon within reach, the point of ``far_pair`` picks its far polygon); a cluster
   case must pick what each of its clusters picks alone (each a compact workload); a
   layout must pick what stage 3's plain loop picks on the same layout at
   ``CHECK_SIZE`` (the plain loop tests every pair: 10^7 pairs, not 10^9). Else the case
   is WRONG, not timed, and the run exits with status 1.
2. Calibrate and time in rounds, as ``workshop.bench`` does: each round times every
   case once, in a shuffled order, gc off during a sample; the median per call.
3. Report each case's median and its ratio to the plain case's (the limit: <= 3x).

Writes ``outliers.json`` and ``outliers.md`` into ``--out``.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workshop import RESULTS, bench, checks, report, stages, threads
from workshop.workloads import CANONICAL

LIMIT = 3.0  # an outlier or a layout costs at most 3x the plain workload of the same size
# A layout is checked against stage 3's plain loop at (at most) this size.
CHECK_SIZE = {"n_polygons": 10_000, "n_points": 1000}
REFERENCE = "stage3"
FAR = 1e12
CLUSTER_SHIFT = (1e9, 0.0)  # two_clusters: the second cluster, this far in x
FAR_CLUSTER_SHIFT = (-5e8, 7e8)  # far_cluster: where its 3% of the polygons sit

CASES = {
    "plain": "the workload as generated",
    "far_polygon": "+ one polygon at x = 1e12",
    "nan_polygon": "+ one polygon with a NaN vertex",
    "far_point": "+ one point at x = 1e12",
    "far_pair": "+ both: a polygon and, close to it, a point at x = 1e12 (two outliers)",
    "two_clusters": "the same sizes as two half workloads, 1e9 apart",
    "far_cluster": "3% of the polygons and half of the points in a far cluster",
    "tight_cluster": "every center in a 1 x 1 square, every point 12 to 14 from it",
    "identical": "every center at one spot, every point 10.5 from it",
    "inside_cluster": "every center in a 1 x 1 square, every point inside it",
    "huge_magnitudes": "centers at magnitudes 1e20 to 1e300, each point on a center",
    "max_dist_1e300": "as generated, max_dist = 1e300: every pair close",
    "max_dist_inf": "as generated, max_dist = inf: every pair close",
    "one_spot": "every center and point at one spot, max_dist = 1e-300",
    "log_uniform": "centers and points at magnitudes 1e-300 to 1e300, either sign",
}

Layout = tuple[list[Any], list[Any], float]  # polygons, points, max_dist


def arc_at(polygon_cls: Any, centers: np.ndarray, sizes: Any = 1.0) -> list[Any]:
    """The canonical arc polygon moved to each of ``centers`` and scaled by ``sizes``."""
    import poly_match

    arc = poly_match.generate_one_polygon()
    dx, dy = arc.x - arc.x.mean(), arc.y - arc.y.mean()
    scaled = zip(centers, np.broadcast_to(sizes, len(centers)), strict=True)
    # Near 1e300 a polygon's area overflows (inf or NaN, for stage 3 and 4 alike).
    with np.errstate(over="ignore", invalid="ignore"):
        return [polygon_cls(cx + s * dx, cy + s * dy) for (cx, cy), s in scaled]


def around(rng: np.random.Generator, m: int, center: Any, near: float, far: float) -> list:
    """``m`` points between ``near`` and ``far`` from ``center``, in every direction."""
    d, a = rng.uniform(near, far, m), rng.uniform(0.0, 2 * math.pi, m)
    return list(np.column_stack([center[0] + d * np.cos(a), center[1] + d * np.sin(a)]))


def magnitudes(rng: np.random.Generator, shape: Any, lo: float, hi: float) -> np.ndarray:
    """Numbers of either sign with log10(|x|) uniform in [lo, hi]."""
    return rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(lo, hi, shape)


def spread(polygon_cls: Any, n: int, m: int, lo: float, hi: float, on: bool) -> Layout:
    """Centers at magnitudes 10^lo to 10^hi, each polygon a thousandth of its distance
    from 0; the points on centers (``on``) or at such magnitudes too."""
    rng = np.random.default_rng(7)
    centers = magnitudes(rng, (n, 2), lo, hi)
    polygons = arc_at(polygon_cls, centers, 1e-3 * np.abs(centers).min(axis=1))
    if on:
        points = [np.asarray(polygons[i].center) for i in rng.integers(0, n, m)]
    else:
        points = list(magnitudes(rng, (m, 2), lo, hi))
    return polygons, points, bench.MAX_DIST


def tight(polygon_cls: Any, n: int, m: int, inside: bool) -> Layout:
    rng = np.random.default_rng(5)
    polygons = arc_at(polygon_cls, rng.uniform(0.0, 1.0, (n, 2)))
    if inside:
        return polygons, list(rng.uniform(0.0, 1.0, (m, 2))), bench.MAX_DIST
    return polygons, around(rng, m, (0.5, 0.5), 12.0, 14.0), bench.MAX_DIST


def one_spot(polygon_cls: Any, n: int, m: int, max_dist: float) -> Layout:
    rng = np.random.default_rng(6)
    polygons = arc_at(polygon_cls, np.full((n, 2), 3.0))
    if max_dist == bench.MAX_DIST:
        return polygons, around(rng, m, polygons[0].center, 10.5, 10.5), max_dist
    return polygons, [np.asarray(polygons[0].center) for _ in range(m)], max_dist


def as_generated(polygon_cls: Any, n: int, m: int, max_dist: float) -> Layout:
    import poly_match

    polygons, points = poly_match.generate_example(n, m, CANONICAL["seed"], polygon_cls)
    return polygons, points, max_dist


# name -> build(Polygon class, n_polygons, n_points): the same numbers for every class.
LAYOUTS = {
    "tight_cluster": lambda cls, n, m: tight(cls, n, m, inside=False),
    "identical": lambda cls, n, m: one_spot(cls, n, m, bench.MAX_DIST),
    "inside_cluster": lambda cls, n, m: tight(cls, n, m, inside=True),
    "huge_magnitudes": lambda cls, n, m: spread(cls, n, m, 20.0, 300.0, on=True),
    "max_dist_1e300": lambda cls, n, m: as_generated(cls, n, m, 1e300),
    "max_dist_inf": lambda cls, n, m: as_generated(cls, n, m, math.inf),
    "one_spot": lambda cls, n, m: one_spot(cls, n, m, 1e-300),
    "log_uniform": lambda cls, n, m: spread(cls, n, m, -300.0, 300.0, on=False),
}


@dataclass
class Case:
    """A workload and what it must pick.

    An outlier case must pick what the plain workload picks, then ``added``. A cluster
    case must pick what each of its ``clusters`` (workloads of their own) picks alone, in
    turn, each one's polygon indices shifted past the clusters before it. A ``layout``
    is checked apart (``layout_check``).
    """

    polygons: list[Any]
    points: list[Any]
    added: list[checks.Pick] = field(default_factory=list)
    clusters: list[tuple[list[Any], list[Any]]] | None = None
    max_dist: float = bench.MAX_DIST
    layout: str | None = None

    def expected(self, entry: Any, plain: list[checks.Pick]) -> list[checks.Pick]:
        if self.clusters is None:
            return plain + self.added
        picks: list[checks.Pick] = []
        offset = 0
        for polygons, points in self.clusters:
            got = checks.picks(entry(polygons, points, bench.MAX_DIST), polygons)
            picks += [(point, i + offset) for point, i in got]
            offset += len(polygons)
        return picks


def clustered(
    module: Any, size: dict[str, int], shares: tuple[float, float], shift: tuple[float, float]
) -> Case:
    """Two workloads of canonical density, the second moved by ``shift``, side by side.

    ``shares``: the second's share of the polygons and of the points.
    """
    import numpy as np

    n, m = size["n_polygons"], size["n_points"]
    second = (max(1, round(n * shares[0])), round(m * shares[1]))
    seed = CANONICAL["seed"]
    near = module.generate_example(n_polygons=n - second[0], n_points=m - second[1], seed=seed)
    far_polygons, far_points = module.generate_example(*second, seed=seed + 1)
    dx, dy = shift
    far = (
        [module.Polygon(poly.x + dx, poly.y + dy) for poly in far_polygons],
        [np.asarray(p) + np.array([dx, dy]) for p in far_points],
    )
    return Case(near[0] + far[0], near[1] + far[1], clusters=[near, far])


def cases(
    module: Any, polygons: list[Any], points: list[Any], size: dict[str, int]
) -> dict[str, Case]:
    """Every case. The outliers are appended, so the original indices and the order of
    the picks stay: an outlier case's picks are the plain workload's, then the added ones.
    """
    polygon_cls = module.Polygon
    import numpy as np

    import poly_match

    arc = poly_match.generate_one_polygon()
    arc_x, arc_y = arc.x, arc.y
    middle = 0.5 * max(float(np.asarray(p)[0]) for p in points)
    nan_x = arc_x + middle
    nan_x[3] = math.nan
    far_point = np.array([FAR, float(np.asarray(points[0])[1])])
    far_polygon = polygon_cls(arc_x + FAR, arc_y + middle)
    # Close to the far polygon's center (FAR + 0.45, middle + ~0.8): it picks that polygon.
    near_it = np.array([FAR + 0.5, middle + 0.5])
    return {
        "plain": Case(polygons, points),
        "far_polygon": Case([*polygons, far_polygon], points),
        "nan_polygon": Case([*polygons, polygon_cls(nan_x, arc_y + middle)], points),
        "far_point": Case(polygons, [*points, far_point]),
        "far_pair": Case(
            [*polygons, far_polygon],
            [*points, near_it],
            added=[((FAR + 0.5, middle + 0.5), len(polygons))],
        ),
        "two_clusters": clustered(module, size, (0.5, 0.5), CLUSTER_SHIFT),
        "far_cluster": clustered(module, size, (0.03, 0.5), FAR_CLUSTER_SHIFT),
        **{name: layout_case(name, polygon_cls, size) for name in LAYOUTS},
    }


def layout_case(name: str, polygon_cls: Any, size: dict[str, int]) -> Case:
    polygons, points, max_dist = LAYOUTS[name](polygon_cls, size["n_polygons"], size["n_points"])
    return Case(polygons, points, max_dist=max_dist, layout=name)


def layout_check(name: str, stage: stages.Stage, size: dict[str, int]) -> str | None:
    """None if ``stage`` picks what stage 3's plain loop picks on the layout at
    ``CHECK_SIZE`` (or ``size``, if smaller); else what differs."""
    reference = stages.get(REFERENCE)
    if not reference.is_available():
        return f"{REFERENCE} (the plain loop it is checked against) is not built"
    n, m = (min(size[k], CHECK_SIZE[k]) for k in ("n_polygons", "n_points"))
    picks = []
    for s in (stage, reference):
        polygons, points, max_dist = LAYOUTS[name](s.load().Polygon, n, m)
        with np.errstate(over="ignore", invalid="ignore"):  # a numpy stage, near 1e300
            result = s.entry_point()(polygons, points, max_dist)
        picks.append(checks.picks(result, polygons))
    got, expected = picks
    if got == expected:
        return None
    differ = sum(a != b for a, b in zip(got, expected, strict=False))
    differ += abs(len(got) - len(expected))
    return f"{differ} of {len(expected)} picks differ from {REFERENCE}'s at {n}x{m}"


def with_max_dist(entry: Any, max_dist: float) -> Any:
    """``entry`` called with ``max_dist`` whatever the timer passes."""
    if max_dist == bench.MAX_DIST:
        return entry
    return lambda polygons, points, _max_dist: entry(polygons, points, max_dist)


def outliers(
    out: Path | None = RESULTS,
    stage: str = "stage4",
    size: dict[str, int] | None = None,
    rounds: int = 7,
    sample_seconds: float = 0.1,
    quiet: bool = False,
    command: str = "python -m workshop.outliers",
) -> dict[str, Any]:
    """Check, then time the cases interleaved; write ``outliers.{json,md}``."""
    size = dict(size or threads.LARGE)
    chosen = stages.get(stage)
    env = bench.environment()
    check = bench.check(chosen)
    rows = {name: bench.Row(name, what) for name, what in CASES.items()}
    subjects = []
    if check.status != bench.OK:
        for row in rows.values():
            row.status, row.detail = check.status, f"{chosen.name}: {check.detail}"
    else:
        with bench.progress_bar(quiet) as progress:
            task = progress.add_task("workload", total=2 * len(CASES) + rounds * len(CASES))
            module = chosen.load()
            polygons, points = chosen.workload(**size, seed=CANONICAL["seed"])
            entry = chosen.entry_point()
            plain = None
            for name, case in cases(module, polygons, points, size).items():
                progress.update(task, advance=1, description=f"checking {name}")
                row = rows[name]
                workload = (case.polygons, case.points)
                try:
                    got = checks.picks(entry(*workload, case.max_dist), case.polygons)
                except AssertionError as err:
                    row.status, row.detail = bench.WRONG, f"wrong answer, not timed: {err}"
                    continue
                except Exception as err:
                    row.status = bench.WRONG
                    row.detail = f"raised {type(err).__name__}, not timed: {err}"
                    continue
                row.pairs = len(got)
                if name == "plain":
                    plain = got
                elif plain is None:
                    row.status, row.detail = bench.NOT_MEASURED, "the plain case failed"
                    continue
                elif case.layout is not None:
                    if (differ := layout_check(name, chosen, size)) is not None:
                        row.status, row.detail = bench.WRONG, f"wrong answer, not timed: {differ}"
                        continue
                elif got != (expected := case.expected(entry, plain)):
                    differ = sum(a != b for a, b in zip(got, expected, strict=False))
                    differ += abs(len(got) - len(expected))
                    reference = "the plain workload's" if case.clusters is None else "its clusters'"
                    row.status = bench.WRONG
                    row.detail = (
                        f"wrong answer, not timed: {differ} of {len(expected)} picks differ "
                        f"from {reference}"
                    )
                    continue
                if case.layout is not None:
                    n, m = (min(size[k], CHECK_SIZE[k]) for k in ("n_polygons", "n_points"))
                    row.detail = f"same picks as {REFERENCE} at {n}x{m}"
                elif case.clusters is not None:
                    row.detail = "same picks as its clusters alone"
                else:
                    row.extra["added_picks"] = len(case.added)
                    row.detail = "reference" if name == "plain" else "same picks as plain"
                    if case.added:
                        row.detail += f", + {len(case.added)} of the outliers"
                subject = bench.Subject(name, with_max_dist(entry, case.max_dist), workload)
                progress.update(task, advance=1, description=f"calibrating {name}")
                subject.per_call = subject.calibrate(sample_seconds)
                subjects.append(subject)
            progress.update(task, total=2 * len(CASES) + rounds * len(subjects))
            bench.interleave(
                subjects,
                rounds,
                lambda name: progress.update(task, advance=1, description=f"timing {name}"),
            )
    for subject in subjects:
        row = rows[subject.name]
        row.calls_per_sample = subject.number
        row.sample_seconds = subject.samples
        row.summarize()
    base = rows["plain"].median
    for row in rows.values():
        if row.median is not None and base:
            row.extra["ratio"] = row.median / base
            row.extra["within_limit"] = row.extra["ratio"] <= LIMIT
    env["load_average_end"] = os.getloadavg()[0]

    result = {
        "schema": 1,
        "command": command,
        "workload": {**size, "seed": CANONICAL["seed"], "max_dist": bench.MAX_DIST},
        "limit": LIMIT,
        "check_size": CHECK_SIZE,
        "method": {
            **bench.TIMING,
            "rounds": rounds,
            "sample_target_s": sample_seconds,
            "order": "interleaved: each round times every case once, shuffled",
            "check": "the stage against the baseline first; then each outlier case's picks "
            "for the original points against the plain workload's, each cluster case's "
            "against its clusters' alone, and each layout's against stage 3's plain loop on "
            "the same layout at check_size, before it is timed",
            "ratio": "case median / plain median, same run",
        },
        "env": env,
        "stage": check.check_json(),
        "cases": [row.to_json() for row in rows.values()],
    }
    if out is not None:
        report.write_report(result, Path(out), "outliers", report.outliers_markdown)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = bench.cli_parser("workshop.outliers", __doc__)
    parser.add_argument("--stage", default="stage4", help="the stage to time (default stage4)")
    parser.add_argument(
        "--size",
        type=bench.size_arg,
        default=threads.LARGE,
        help="POLYGONSxPOINTS (default 100000x10000)",
    )
    parser.add_argument("--rounds", type=int, default=7, help="samples per case (default 7)")
    parser.add_argument(
        "--sample-seconds", type=float, default=0.1, help="target length of one sample"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.sample_seconds <= 0:
        parser.error("--rounds must be >= 1 and --sample-seconds > 0")
    result = outliers(
        out=args.out,
        stage=args.stage,
        size=args.size,
        rounds=args.rounds,
        sample_seconds=args.sample_seconds,
        quiet=args.quiet,
        command=bench.command_line("workshop.outliers", argv),
    )
    print(report.outliers_markdown(result))
    print(f"wrote {args.out}/outliers.json, outliers.md")
    wrong = [f"{c['name']}: {c['detail']}" for c in result["cases"] if c["status"] == bench.WRONG]
    return bench.exit_status(wrong)


if __name__ == "__main__":
    sys.exit(main())
