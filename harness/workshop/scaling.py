"""How each stage grows with the problem: 1k, 10k, 100k polygons with 100, 1k, 10k points.

    python -m workshop.scaling [--budget SECONDS] [--out results]   # `make bench-scaling`

The density stays the canonical one (``generate_example`` grows the square with the
polygons), so a point has about as many close polygons at every size, and a brute-force
stage does 100x the work at each step: 10x the polygons times 10x the points.

Before a cell (stage, size) is run, its time per call is predicted: the stage's median
at the previous size times the ratio of polygons x points. That is exact for a brute
force and an upper bound for a stage with a spatial index. When the predicted cost of
the cell (a warm-up call, the calibration and the samples) exceeds ``--budget`` seconds
the cell is skipped, and so are the larger sizes for that stage; the report says why.

Every stage is first checked on the canonical workload as in ``workshop.bench``; at each
size the warm-up call's answer must match the other stages' (the same picks for stages
that keep numpy's area, the same points for the others). At each size the stages are
interleaved round by round, and the workload is built once per Polygon class.
Writes ``scaling.json``, ``scaling.md``, ``scaling.svg`` and ``scaling.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workshop import RESULTS, bench, checks, report, shown, stages

SIZES: tuple[tuple[int, int], ...] = ((1000, 100), (10_000, 1000), (100_000, 10_000))
PREDICTION = (
    "the median at the previous size x the ratio of polygons x points "
    "(exact for brute force, an upper bound with a spatial index)"
)


def cell_cost(per_call: float, rounds: int, target: float) -> float:
    """Seconds a cell takes: a warm-up call, then calibration and samples of >= ``target``."""
    return per_call + (rounds + 1) * max(per_call, target)


def _new_cell(n_polygons: int, n_points: int) -> dict[str, Any]:
    return {
        "n_polygons": n_polygons,
        "n_points": n_points,
        "status": "ok",
        "median_s": None,
        "q1_s": None,
        "q3_s": None,
        "samples": 0,
        "calls_per_sample": None,
        "predicted_s": None,
        "reason": "",
        "pairs": None,
    }


def _label(n_polygons: int, n_points: int) -> str:
    return f"{n_polygons} polygons x {n_points} points"


def scaling(
    budget: float = 30.0,
    out: Path | None = RESULTS,
    names: Sequence[str] | None = None,
    sizes: Sequence[tuple[int, int]] = SIZES,
    rounds: int = 5,
    sample_seconds: float = 0.2,
    quiet: bool = False,
    command: str = "python -m workshop.scaling",
) -> dict[str, Any]:
    """Check the stages, then time them at each size within the budget; return the JSON."""
    chosen = [stages.get(n) for n in names] if names else list(stages.STAGES)
    env = bench.environment()
    target = max(1e-3, min(sample_seconds, budget / (rounds + 2)))
    rows = {}
    with bench.progress_bar(quiet) as progress:
        task = progress.add_task("checking answers", total=len(chosen))
        for stage in chosen:
            progress.update(task, description=f"checking {stage.name}")
            rows[stage.name] = bench.check(stage)
            progress.advance(task)
        ok = [stage for stage in chosen if rows[stage.name].status == bench.OK]
        cells: dict[str, list[dict[str, Any]]] = {stage.name: [] for stage in chosen}
        last: dict[str, tuple[int, float]] = {}  # name -> (work, seconds per call) at last size
        stopped: set[str] = set()

        for n_polygons, n_points in sizes:
            size = _label(n_polygons, n_points)
            work = n_polygons * n_points
            runnable = []
            for stage in ok:
                cell = _new_cell(n_polygons, n_points)
                cells[stage.name].append(cell)
                if stage.name in last:
                    prev_work, prev = last[stage.name]
                    cell["predicted_s"] = prev * work / prev_work
                    last[stage.name] = (work, cell["predicted_s"])
                if stage.name in stopped:
                    cell["status"] = "skipped"
                    cell["reason"] = "stopped at a smaller size"
                    continue
                if cell["predicted_s"] is not None:
                    cost = cell_cost(cell["predicted_s"], rounds, target)
                    if cost > budget:
                        cell["status"] = "skipped"
                        cell["reason"] = (
                            f"predicted {report.fmt_time(cell['predicted_s'])} per call "
                            f"({work / prev_work:,.0f}x the work of the previous size), "
                            f"so ~{cost:,.0f} s for the cell > budget {budget:g} s"
                        )
                        stopped.add(stage.name)
                        continue
                runnable.append(stage)

            # One workload per Polygon class: stage0 and vectorized share one, so do
            # stage2 and stage2_alloc. Building 100k polygons takes seconds itself.
            # One progress line per size: workloads, warm-ups, calibrations, then rounds.
            task = progress.add_task(size, total=(3 + rounds) * len(runnable))
            built: dict[Any, tuple[list[Any], list[Any]]] = {}
            subjects = []
            for stage in runnable:
                # A columns stage's arrays: its generate_example, keyed by the module.
                kind = getattr(stage.load(), "Polygon", stage.module)
                if kind not in built:
                    built[kind] = stage.workload(n_polygons=n_polygons, n_points=n_points)
                entry = stage.entry_point()
                subjects.append((stage, bench.Subject(stage.name, entry, built[kind])))
                progress.update(task, advance=1, description=f"{size}: workload {stage.name}")

            # The warm-up call: its answer is checked against the other stages', and at
            # the first size its time is the prediction.
            reference_points = reference_picks = None
            timed = []
            for stage, subject in subjects:
                cell = cells[stage.name][-1]
                start = time.perf_counter()
                result = subject.entry(subject.polygons, subject.points, bench.MAX_DIST)
                first = time.perf_counter() - start
                progress.update(task, advance=1, description=f"{size}: warm-up {stage.name}")
                try:
                    got = checks.result_picks(result, subject.polygons, subject.points)
                except AssertionError as err:
                    cell["status"], cell["reason"] = "WRONG", f"wrong answer, not timed: {err}"
                    stopped.add(stage.name)
                    continue
                del result
                cell["pairs"] = len(got)
                points = [p for p, _ in got]
                if reference_points is None:
                    reference_points = (stage.name, points)
                if stage.answers == "identical" and reference_picks is None:
                    reference_picks = (stage.name, got)
                if points != reference_points[1]:
                    cell["status"] = "WRONG"
                    cell["reason"] = f"not the same points as {reference_points[0]}; not timed"
                    stopped.add(stage.name)
                    continue
                if stage.answers == "identical" and got != reference_picks[1]:
                    cell["status"] = "WRONG"
                    cell["reason"] = f"not the same picks as {reference_picks[0]}; not timed"
                    stopped.add(stage.name)
                    continue
                if cell["predicted_s"] is None and cell_cost(first, rounds, target) > budget:
                    cost = cell_cost(first, rounds, target)
                    cell["status"] = "skipped"
                    cell["reason"] = (
                        f"one call took {report.fmt_time(first)}, "
                        f"so ~{cost:,.0f} s for the cell > budget {budget:g} s"
                    )
                    cell["predicted_s"] = first
                    last[stage.name] = (work, first)
                    stopped.add(stage.name)
                    continue
                timed.append((stage, subject))

            done = 2 * len(runnable)
            progress.update(task, completed=done, total=done + (1 + rounds) * len(timed))
            for _, subject in timed:
                progress.update(task, description=f"{size}: calibrating {subject.name}")
                subject.per_call = subject.calibrate(target)
                progress.advance(task)
            bench.interleave(
                [subject for _, subject in timed],
                rounds,
                lambda name, task=task, size=size: progress.update(
                    task, advance=1, description=f"{size}: timing {name}"
                ),
            )
            progress.update(task, description=f"{size}: done")
            for stage, subject in timed:
                cell = cells[stage.name][-1]
                cell.update(subject.summary())
                last[stage.name] = (work, cell["median_s"])
            del built, subjects, timed
    env["load_average_end"] = os.getloadavg()[0]

    result = {
        "schema": 1,
        "sizes": [{"n_polygons": p, "n_points": q} for p, q in sizes],
        "budget_s": budget,
        "method": {
            **bench.TIMING,
            "rounds": rounds,
            "sample_target_s": target,
            "order": "at each size, interleaved: each round times every stage once, shuffled",
            "prediction": PREDICTION,
            "cost": f"a warm-up call, the calibration and {rounds} samples",
        },
        "command": command,
        "env": env,
        "stages": [
            {**rows[stage.name].check_json(), "cells": cells[stage.name]} for stage in chosen
        ],
    }
    if out is not None:
        report.write_report(
            result, Path(out), "scaling", report.scaling_markdown, report.scaling_chart
        )
    return result


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        sizes = [bench.size_arg(item) for item in text.split(",")]
        return [(size["n_polygons"], size["n_points"]) for size in sizes]
    except argparse.ArgumentTypeError:
        message = f"--sizes: expected e.g. 1000x100,10000x1000: {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def main(argv: list[str] | None = None) -> int:
    parser = bench.cli_parser("workshop.scaling", __doc__)
    parser.add_argument(
        "--budget", type=float, default=30.0, help="seconds allowed per cell (default 30)"
    )
    parser.add_argument("--stages", nargs="+", help="only these stages")
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(SIZES),
        help="POLYGONSxPOINTS,... (default 1000x100,10000x1000,100000x10000)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="samples per cell (default 5)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.budget <= 0:
        parser.error("--rounds must be >= 1 and --budget > 0")
    result = scaling(
        budget=args.budget,
        out=args.out,
        names=args.stages,
        sizes=args.sizes,
        rounds=args.rounds,
        quiet=args.quiet,
        command=bench.command_line("workshop.scaling", argv),
    )
    print(report.scaling_markdown(result))
    print(f"wrote {shown(args.out)}/scaling.json, scaling.md, scaling.svg, scaling.png")
    wrong = [
        f"{s['name']}: {s['detail']}" for s in result["stages"] if s["status"] == bench.WRONG
    ] + [
        f"{s['name']} at {_label(c['n_polygons'], c['n_points'])}: {c['reason']}"
        for s in result["stages"]
        for c in s["cells"]
        if c["status"] == "WRONG"
    ]
    return bench.exit_status(wrong)


if __name__ == "__main__":
    sys.exit(main())
