"""Run one stage on a workload, for N calls or T seconds.

    python -m workshop.run stage1 --seconds 5     # what py-spy records
    python -m workshop.run --all                  # check every built stage, time it roughly

The workload is built once, outside the timed loop, with the stage's own Polygon.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from typing import Any

from workshop import recorders, stages
from workshop.workloads import CANONICAL


def call_stage(entry: Any, polygons: Any, points: Any, max_dist: float) -> Any:
    """One timed call. The profiler finds the timed calls by this frame (its name and its
    one line: ``workshop.profile.entry_frame``), so keep the call on this line alone."""
    return entry(polygons, points, max_dist)


def run(
    stage: stages.Stage,
    calls: int | None = None,
    seconds: float | None = None,
    max_dist: float = 10.0,
    **workload: Any,
) -> tuple[int, float]:
    """Call the stage's entry point ``calls`` times, or until ``seconds`` have passed.

    Returns ``(calls made, seconds spent in the calls)``.
    """
    polygons, points = stage.workload(**workload)
    entry = stage.entry_point()
    done, spent = 0, 0.0
    deadline = None if seconds is None else time.perf_counter() + seconds
    began = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    while True:
        if calls is not None and done >= calls:
            break
        if deadline is not None and time.perf_counter() >= deadline:
            break
        start = time.perf_counter()
        call_stage(entry, polygons, points, max_dist)
        spent += time.perf_counter() - start
        done += 1
    recorders.mark_timed(began, time.clock_gettime_ns(time.CLOCK_MONOTONIC))
    return done, spent


def not_built(stage: stages.Stage) -> str | None:
    """Why ``stage`` cannot run yet, or None when it can.

    A stage is "not built" when its module is not importable, or when it is still
    a skeleton: importable, but without ``Polygon`` (a columns stage has none),
    ``generate_example`` or its entry.
    """
    if not stage.is_available():
        return f"{stage.module} is not importable; run `make build`"
    try:
        module = stage.load()
    except ImportError as err:
        return f"import {stage.module} failed: {err}"
    needs = ("Polygon", "generate_example") if stage.form == "objects" else ("generate_example",)
    missing = [name for name in (*needs, stage.entry) if not hasattr(module, name)]
    if missing:
        return f"{stage.module} has no {', '.join(missing)} yet (a skeleton)"
    return None


RESULT_LINE = re.compile(r"(\d+) calls, ([\d.]+) ms per call")


def result_line(name: str, done: int, spent: float) -> str:
    """What the CLI prints last: ``stage1: 60 calls, 18.940 ms per call``."""
    return f"{name}: {done} calls, {spent / max(done, 1) * 1e3:.3f} ms per call"


def parse_result(output: str) -> tuple[int, float] | None:
    """``(calls, ms per call)`` from the CLI's output, or None if it has no result line."""
    match = RESULT_LINE.search(output)
    return None if match is None else (int(match.group(1)), float(match.group(2)))


def _summary(workload: dict[str, Any]) -> int:
    """Check every built stage against the baseline (as ``make bench`` does), then time a
    few calls of each."""
    from workshop import bench  # bench uses not_built() from here

    rows = []
    for stage in stages.STAGES:
        checked = bench.check(stage, **workload)
        if checked.status == bench.NOT_BUILT:
            rows.append((stage.name, "not built", "", stage.title))
            continue
        if checked.status != bench.OK:
            raise SystemExit(f"{stage.name}: {checked.detail}")
        per_call = []
        for _ in range(5):
            n, spent = run(stage, seconds=0.2, **workload)
            per_call.append(spent / n)
        rows.append(
            (stage.name, f"{statistics.median(per_call) * 1e3:9.3f} ms", checked.pairs, stage.title)
        )
    print(f"{'stage':<13} {'median/call':>12} {'pairs':>5}  what")
    for name, t, pairs, title in rows:
        print(f"{name:<13} {t:>12} {pairs!s:>5}  {title}")
    print("answers checked against the baseline (canonical and distinct-area workloads)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.run", description=__doc__)
    parser.add_argument("stage", nargs="?", help="stage name: " + ", ".join(stages.BY_NAME))
    parser.add_argument(
        "--all", action="store_true", help="check and roughly time every built stage"
    )
    parser.add_argument("--calls", type=int, help="number of calls")
    parser.add_argument("--seconds", type=float, help="run for this long (default 5)")
    parser.add_argument(
        "--polygons", type=int, default=CANONICAL["n_polygons"], help="number of polygons"
    )
    parser.add_argument(
        "--points", type=int, default=CANONICAL["n_points"], help="number of points"
    )
    parser.add_argument("--seed", type=int, default=CANONICAL["seed"], help="workload seed")
    args = parser.parse_args(argv)
    workload = {"n_polygons": args.polygons, "n_points": args.points, "seed": args.seed}
    if args.all:
        return _summary(workload)
    if args.stage is None:
        parser.error("name a stage or pass --all")
    stage = stages.get(args.stage)
    if not stage.is_available():
        print(f"{stage.name}: {stage.module} is not built; run `make build`", file=sys.stderr)
        return 1
    seconds = args.seconds if args.seconds is not None or args.calls is not None else 5.0
    done, spent = run(stage, calls=args.calls, seconds=seconds, **workload)
    print(result_line(stage.name, done, spent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
