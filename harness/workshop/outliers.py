"""Speed cliffs, measured: one outlier must not cost stage 4 more than 3x.

    python -m workshop.outliers [--out results]      # what `make bench-outliers` runs

Stage 4 (the grid) on 100k polygons x 10k points, five ways:

- ``plain``: as generated;
- ``far_polygon``: one extra polygon (the canonical arc) at x = 1e12;
- ``nan_polygon``: one extra polygon, in the middle of the field, with a NaN vertex;
- ``far_point``: one extra point at x = 1e12;
- ``far_pair``: both a far polygon and a point close to it (two outliers: the grid is
  cut to where centers and points meet, and here they meet far away too).

When the grid spanned every center, the far polygon stretched it (569 ms) and a NaN
area sent the whole call to brute force (511 ms), against ~10 ms plain.

1. Check. The stage is checked against the baseline first (``bench.check``). Then one
   call per case: its picks for the original points must be the plain workload's (the
   extra polygon is close to no original point, the far point has no polygon within
   reach, the point of ``far_pair`` picks its far polygon), or the case is WRONG, not
   timed, and the run exits with status 1.
2. Calibrate and time in rounds, as ``workshop.bench`` does: each round times every
   case once, in a shuffled order, gc off during a sample; the median per call.
3. Report each case's median and its ratio to the plain case's (the limit: <= 3x).

Writes ``outliers.json`` and ``outliers.md`` into ``--out``.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

from workshop import RESULTS, bench, checks, report, stages, threads
from workshop.workloads import CANONICAL

# One point or polygon the caller cannot see in their data must not turn a fast call
# into a slow one: at most 3x the work without it.
LIMIT = 3.0
FAR = 1e12

CASES = {
    "plain": "the workload as generated",
    "far_polygon": "+ one polygon at x = 1e12",
    "nan_polygon": "+ one polygon with a NaN vertex",
    "far_point": "+ one point at x = 1e12",
    "far_pair": "+ both: a polygon and, close to it, a point at x = 1e12 (two outliers)",
}


def cases(
    polygon_cls: Any, polygons: list[Any], points: list[Any]
) -> dict[str, tuple[list[Any], list[Any], list[checks.Pick]]]:
    """``(polygons, points, the picks the outliers add)`` per case.

    The outliers are appended, so the original indices and the order of the picks stay:
    a case's picks are the plain workload's followed by the added ones.
    """
    import numpy as np

    import poly_match

    arc_x, arc_y = poly_match.generate_one_polygon()
    middle = 0.5 * max(float(np.asarray(p)[0]) for p in points)
    nan_x = arc_x + middle
    nan_x[3] = math.nan
    far_point = np.array([FAR, float(np.asarray(points[0])[1])])
    far_polygon = polygon_cls(arc_x + FAR, arc_y + middle)
    # Close to the far polygon's center (FAR + 0.45, middle + ~0.8): it picks that polygon.
    near_it = np.array([FAR + 0.5, middle + 0.5])
    return {
        "plain": (polygons, points, []),
        "far_polygon": ([*polygons, far_polygon], points, []),
        "nan_polygon": ([*polygons, polygon_cls(nan_x, arc_y + middle)], points, []),
        "far_point": (polygons, [*points, far_point], []),
        "far_pair": (
            [*polygons, far_polygon],
            [*points, near_it],
            [((FAR + 0.5, middle + 0.5), len(polygons))],
        ),
    }


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
            for name, (*workload, added) in cases(module.Polygon, polygons, points).items():
                progress.update(task, advance=1, description=f"checking {name}")
                row = rows[name]
                row.extra["added_picks"] = len(added)
                try:
                    got = checks.picks(entry(*workload, bench.MAX_DIST), workload[0])
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
                elif got != plain + added:
                    expected = plain + added
                    differ = sum(a != b for a, b in zip(got, expected, strict=False))
                    differ += abs(len(got) - len(expected))
                    row.status = bench.WRONG
                    row.detail = (
                        f"wrong answer, not timed: {differ} of {len(expected)} picks differ "
                        "from the plain workload's" + (" and the outlier's own" if added else "")
                    )
                    continue
                row.detail = "reference" if name == "plain" else "same picks as plain"
                if added:
                    row.detail += f", + {len(added)} of the outliers"
                subject = bench.Subject(name, entry, workload)
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
        "method": {
            **bench.TIMING,
            "rounds": rounds,
            "sample_target_s": sample_seconds,
            "order": "interleaved: each round times every case once, shuffled",
            "check": "the stage against the baseline first; then each case's picks for the "
            "original points against the plain workload's, before it is timed",
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
