"""Python threads calling stage 4 at once: what releasing the GIL buys, measured.

    python -m workshop.threads [--out results]      # what `make bench-threads` runs

Stage 4's ``main`` releases the GIL (``py.detach``) and splits the points across the
cores with rayon when polygons + points exceed ``grid::LARGE`` (20,000); below that it
holds the GIL, as stage 3 always does. This runs 1, 2 and 4 Python threads, each making
the same number of calls on one shared workload, and reports the total calls per second:

- stage 4 on the large workload (100k polygons x 10k points: the GIL released),
- stage 4 and stage 3 on the canonical workload (1000 x 100: the GIL held).

1. Check. Each stage is first checked against the baseline (``bench.check``); a wrong
   or unbuilt stage is not timed. One call on each workload, in this thread, is the
   reference: every threaded call's last answer must hold the same (point, polygon)
   objects, or the row is WRONG and the run exits with status 1.
2. Calibrate. The calls per thread are set once per row, so that one thread's sample
   lasts ``--sample-seconds``; 2 and 4 threads make as many calls each.
3. Time in rounds, as ``workshop.bench`` does: every round takes one sample of every
   (row, threads) in a shuffled order, gc off during a sample. A sample starts the
   threads behind a barrier and ends when the last one is done: total calls / wall time.
4. One call, one thread: stage 4's time per call on the large workload (the target:
   <= 10 ms, see ``TARGET_S``) with rayon's default pool and with ``RAYON_NUM_THREADS=1``,
   which rayon reads once per process. So each has a child process, both built the same
   way and asked for a sample in turn (the order reversed every other round); a sample
   is a warm-up call, then calls back to back for ``--sample-seconds``. Both are timed
   alike because a call right after other work or an idle gap is slower than back-to-back
   calls, on either pool size. The ratio of the medians: what the second core buys a call.
5. A short call beside a long one: the large workload's call, timed alone, then again and
   again from one thread while another thread's call lasts ``--long-seconds`` (one polygon
   repeated, every point at its center: every point tests every polygon). A call that
   shares its worker threads with another waits for the other's work; one that has its
   own shares the cores with it and takes about twice as long.

Writes ``threads.json`` and ``threads.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workshop import REPO, RESULTS, bench, report, run, stages
from workshop.workloads import CANONICAL

LARGE = {"n_polygons": 100_000, "n_points": 10_000}
THREADS = (1, 2, 4)
# A hundred times the canonical polygons and points in under a hundredth of a second on
# 2 cores: the bar for "the grid scales and uses both cores".
TARGET_S = 0.010
GRID_RS = REPO / "stages" / "stage4_grid" / "src" / "grid.rs"
# The long call beside the short ones: this many copies of one polygon, and as many points
# at its center as make the call last about LONG_SECONDS.
LONG_POLYGONS = 20_000
LONG_SECONDS = 2.0


def gil_threshold(path: Path = GRID_RS) -> int | None:
    """``grid::LARGE``, read from stage 4's source: above it, ``main`` releases the GIL."""
    try:
        match = re.search(r"pub const LARGE: usize = ([\d_]+);", path.read_text())
    except OSError:
        return None
    return int(match.group(1).replace("_", "")) if match else None


def minor_faults() -> int:
    """The process's minor page faults so far (memory the kernel maps on first touch)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def identities(result: Sequence[tuple[Any, Any]]) -> list[tuple[int, int]]:
    """The answer as the caller's objects: ``[(id(point), id(polygon))]`` (cheap to compare)."""
    return [(id(point), id(poly)) for point, poly in result]


class Concurrent:
    """``threads`` Python threads, each making ``number`` calls on one shared workload.

    A sample is the total calls per second. The last answer of every thread is compared
    with ``reference`` (outside the timed part); a mismatch or an exception makes the
    subject ``wrong`` and ends its sampling.
    """

    def __init__(
        self,
        name: str,
        entry: Callable[..., Any],
        workload: tuple[list, list],
        threads: int,
        reference: list[tuple[int, int]],
    ):
        self.name = name
        self.entry = entry
        self.polygons, self.points = workload
        self.threads = threads
        self.reference = reference
        self.number = 1  # calls per thread per sample
        self.samples: list[float] = []  # calls per second, all threads together
        self.faults: list[float] = []  # minor page faults per call, per sample
        self.wrong: str | None = None

    def time(self, number: int) -> float:
        """Wall seconds for every thread to make ``number`` calls; checks the answers."""
        entry, polygons, points = self.entry, self.polygons, self.points
        last: list[Any] = [None] * self.threads
        errors: list[BaseException] = []
        barrier = threading.Barrier(self.threads + 1)

        def work(k: int) -> None:
            barrier.wait()
            try:
                for _ in range(number):
                    last[k] = entry(polygons, points, bench.MAX_DIST)
            except BaseException as err:  # reported by the main thread
                errors.append(err)

        workers = [threading.Thread(target=work, args=(k,)) for k in range(self.threads)]
        with bench.gc_paused():
            for worker in workers:
                worker.start()
            barrier.wait()
            start, faults = time.perf_counter(), minor_faults()
            for worker in workers:
                worker.join()
            spent = time.perf_counter() - start
            self.faults.append((minor_faults() - faults) / (self.threads * number))
        if errors:
            err = errors[0]
            self.wrong = f"raised {type(err).__name__} in a thread: {err}"
        else:
            for k, result in enumerate(last):
                if identities(result) != self.reference:
                    self.wrong = (
                        f"thread {k + 1} of {self.threads}: not the answer of a single call "
                        f"({len(result)} pairs, the single call has {len(self.reference)})"
                    )
                    break
        return spent

    def sample(self) -> None:
        if self.wrong is None:
            spent = self.time(self.number)
            if self.wrong is None:
                self.samples.append(self.threads * self.number / spent)


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def beside_long_call(
    stage: stages.Stage,
    workload: tuple[list, list],
    reference: list[tuple[int, int]],
    long_seconds: float = LONG_SECONDS,
    alone_calls: int = 7,
) -> dict[str, Any]:
    """The time of ``workload``'s call alone, then from this thread while another thread's
    call lasts about ``long_seconds``: each short call that starts while the long one runs
    is timed. Every short call's answer is checked against ``reference``."""
    entry, module = stage.entry_point(), stage.load()
    polygon = module.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    polygons = [polygon] * LONG_POLYGONS
    n_points, spent = 16, 0.0
    while spent < long_seconds / 20:  # the long call's length grows with its points
        n_points *= 2
        start = time.perf_counter()
        entry(polygons, np.full((n_points, 2), 0.5), bench.MAX_DIST)
        spent = time.perf_counter() - start
    n_points = max(n_points, round(n_points * long_seconds / spent))
    long_points = np.full((n_points, 2), 0.5)
    wrong: list[str] = []

    def short() -> float:
        spent, result = _timed(lambda: entry(*workload, bench.MAX_DIST))
        if identities(result) != reference:
            wrong.append(f"{len(result)} pairs beside the long call, {len(reference)} alone")
        return spent

    with bench.gc_paused():
        alone = [short() for _ in range(alone_calls)]
        running, long_time = threading.Event(), []

        def long_call() -> None:
            running.set()
            long_time.append(_timed(lambda: entry(polygons, long_points, bench.MAX_DIST))[0])

        thread = threading.Thread(target=long_call)
        thread.start()
        running.wait()
        beside = []
        while thread.is_alive():
            beside.append(short())
        thread.join()
    result: dict[str, Any] = {
        "long_call": {"n_polygons": LONG_POLYGONS, "n_points": n_points, "s": long_time[0]},
        "alone_s": alone,
        "beside_s": beside,
        "alone_median_s": statistics.median(alone),
        "beside_median_s": statistics.median(beside),
        "beside_max_s": max(beside),
    }
    result["beside_vs_alone"] = result["beside_median_s"] / result["alone_median_s"]
    result["slowest_vs_alone"] = result["beside_max_s"] / result["alone_median_s"]
    if wrong:
        result["wrong"] = wrong[0]
    return result


def call_child(stage_name: str, size: dict[str, int], sample_seconds: float) -> int:
    """A child of ``one_call``: builds the workload, then answers ``sample`` with one sample
    (a warm-up call, then calls back to back for ``sample_seconds``), anything else with
    ``{}`` once the workload is built."""
    stage = stages.get(stage_name)
    reason = run.not_built(stage)
    if reason is not None:
        raise SystemExit(reason)
    entry = stage.entry_point()
    polygons, points = stage.workload(**size, seed=CANONICAL["seed"])

    def answer(request: str) -> dict[str, Any]:
        if request != "sample":
            return {}
        faults = minor_faults()
        per_call, calls = bench.loop_sample(
            lambda: entry(polygons, points, bench.MAX_DIST), sample_seconds, warm_up=True
        )
        # The warm-up call counts among the calls whose faults are counted.
        faults_per_call = (minor_faults() - faults) / (calls + 1)
        return {"per_call_s": per_call, "calls": calls, "minor_faults_per_call": faults_per_call}

    return bench.serve(answer)


def one_call(
    stage: stages.Stage,
    workload: dict[str, int],
    pools: dict[str, dict[str, str]],
    rounds: int,
    sample_seconds: float,
) -> dict[str, dict[str, Any]]:
    """The time per call on ``workload`` in one child process per entry of ``pools`` (its
    environment on top of this one's), asked for a sample in turn, the order reversed every
    other round: ``{name: summary}``, or ``{"error": ...}`` if a child failed."""
    size = f"{workload['n_polygons']}x{workload['n_points']}"
    args = ("--stage", stage.name, "--large", size, "--sample-seconds", repr(sample_seconds))
    answers: dict[str, list[dict[str, Any]]] = {name: [] for name in pools}
    with contextlib.ExitStack() as stack:
        try:
            children = {
                name: stack.enter_context(bench.Child("workshop.threads", *args, **env))
                for name, env in pools.items()
            }
            for child in children.values():  # every workload built before the first sample
                child.ask("ready")
            for k in range(rounds):
                for name in bench.in_turn(list(children), k):
                    answers[name].append(children[name].ask("sample"))
        except (OSError, RuntimeError) as err:
            return {"error": f"{type(err).__name__}: {err}"}
    summaries = {}
    for name, found in answers.items():
        per_call = [a["per_call_s"] for a in found]
        summaries[name] = {
            **bench.quartile_fields(per_call),
            "samples": len(per_call),
            "calls": [a["calls"] for a in found],
            "sample_seconds": per_call,
            "minor_faults_per_call": statistics.median(a["minor_faults_per_call"] for a in found),
        }
    return summaries


def _row(stage: stages.Stage, workload: str, size: dict[str, int], check: bench.Row) -> dict:
    threshold = gil_threshold() if stage.crate == "stage4_grid" else None
    total = size["n_polygons"] + size["n_points"]
    return {
        "stage": stage.name,
        "title": stage.title,
        "workload": workload,
        **size,
        "releases_gil": (total > threshold) if threshold is not None else False,
        "status": check.status,
        "detail": check.detail,
        "pairs": None,
        "calls_per_thread": None,
        "cells": [],
    }


def threads_bench(
    out: Path | None = RESULTS,
    stage: str = "stage4",
    versus: Sequence[str] = ("stage3",),
    large: dict[str, int] | None = None,
    canonical: dict[str, int] | None = None,
    threads: Sequence[int] = THREADS,
    rounds: int = 7,
    sample_seconds: float = 0.1,
    single_rayon_one: bool = True,
    long_seconds: float | None = LONG_SECONDS,
    quiet: bool = False,
    command: str = "python -m workshop.threads",
) -> dict[str, Any]:
    """Check, calibrate and time; write ``threads.{json,md}`` into ``out``; return the JSON."""
    large = dict(large or LARGE)
    canonical = dict(canonical or {k: CANONICAL[k] for k in ("n_polygons", "n_points")})
    main_stage = stages.get(stage)
    chosen = [main_stage, *(stages.get(n) for n in versus)]
    env = bench.environment()
    env["env"]["RAYON_NUM_THREADS"] = os.environ.get("RAYON_NUM_THREADS")
    checked = {s.name: bench.check(s) for s in chosen}
    plan = [(main_stage, "large", large), (main_stage, "canonical", canonical)]
    plan += [(s, "canonical", canonical) for s in chosen[1:]]
    rows = [_row(s, name, size, checked[s.name]) for s, name, size in plan]

    with bench.progress_bar(quiet) as progress:
        task = progress.add_task("workloads", total=len(plan))
        subjects: list[Any] = []
        by_row: list[list[Concurrent]] = []
        for (s, name, size), row in zip(plan, rows, strict=True):
            by_row.append([])
            progress.advance(task)
            if row["status"] != bench.OK:
                continue
            progress.update(task, description=f"{s.name}: {name} workload, reference call")
            workload = s.workload(**size, seed=CANONICAL["seed"])
            entry = s.entry_point()
            reference = identities(entry(*workload, bench.MAX_DIST))
            row["pairs"] = len(reference)
            calibration = bench.Subject(s.name, entry, workload)
            calibration.calibrate(sample_seconds)
            row["calls_per_thread"] = calibration.number
            for n in threads:
                subject = Concurrent(f"{s.name} {name} x{n}", entry, workload, n, reference)
                subject.number = calibration.number
                by_row[-1].append(subject)
            subjects += by_row[-1]
        task = progress.add_task(f"timing, {rounds} rounds", total=rounds * len(subjects))
        bench.interleave(
            subjects,
            rounds,
            lambda name: progress.update(task, advance=1, description=f"timing {name}"),
        )
        pools: dict[str, dict[str, str]] = {"rayon_default": {}}
        if single_rayon_one:
            pools["rayon_one"] = {"RAYON_NUM_THREADS": "1"}
        timed_one_call = rows[0]["status"] == bench.OK and not any(s.wrong for s in by_row[0])
        if timed_one_call:
            progress.update(task, description="one call: rayon's default pool vs one thread")
            one_call_times = one_call(main_stage, large, pools, rounds, sample_seconds)
        beside: dict[str, Any] = {"error": "not measured"}
        if rows[0]["status"] == bench.OK and long_seconds:
            progress.update(task, description="a short call beside a long one")
            workload = main_stage.workload(**large, seed=CANONICAL["seed"])
            reference = identities(main_stage.entry_point()(*workload, bench.MAX_DIST))
            beside = beside_long_call(main_stage, workload, reference, long_seconds)

    if beside.get("wrong"):
        rows[0]["status"], rows[0]["detail"] = bench.WRONG, f"wrong answer: {beside['wrong']}"
    for row, row_subjects in zip(rows, by_row, strict=True):
        wrong = next((s.wrong for s in row_subjects if s.wrong), None)
        if wrong:
            row["status"], row["detail"] = bench.WRONG, f"wrong answer: {wrong}"
        for subject in row_subjects:
            cell: dict[str, Any] = {"threads": subject.threads, "samples": subject.samples}
            if subject.faults:
                cell["minor_faults_per_call"] = statistics.median(subject.faults)
            if subject.samples and not wrong:
                q1, median, q3 = bench.quartiles(subject.samples)
                cell.update(calls_per_s=median, q1_calls_per_s=q1, q3_calls_per_s=q3)
            row["cells"].append(cell)
        base = row["cells"][0].get("calls_per_s") if row["cells"] else None
        for cell in row["cells"]:
            if base and cell.get("calls_per_s"):
                cell["vs_one_thread"] = cell["calls_per_s"] / base

    single_call: dict[str, Any] = {"stage": main_stage.name, **large, "target_s": TARGET_S}
    if timed_one_call and "error" in one_call_times:
        single_call["error"] = one_call_times["error"]
    elif timed_one_call:
        default_threads = os.environ.get("RAYON_NUM_THREADS") or env["cores"]
        default = {"rayon_threads": default_threads, **one_call_times["rayon_default"]}
        one = one_call_times.get("rayon_one")
        single_call["rayon_default"] = default
        single_call["rayon_one"] = {"rayon_threads": 1, **(one or {"error": "not measured"})}
        single_call["meets_target"] = default["median_s"] <= TARGET_S
        if one is not None:
            single_call["second_core_speedup"] = one["median_s"] / default["median_s"]
    env["load_average_end"] = os.getloadavg()[0]

    result = {
        "schema": 1,
        "command": command,
        "workloads": {
            "large": {**large, "max_dist": bench.MAX_DIST},
            "canonical": {**canonical, "max_dist": bench.MAX_DIST},
        },
        "threads": list(threads),
        "gil_threshold": gil_threshold(),
        "method": {
            **bench.TIMING,
            "rounds": rounds,
            "sample_target_s": sample_seconds,
            "sample": "N Python threads started behind a barrier, each making the row's "
            "calls_per_thread calls; total calls / wall time until the last one is done",
            "order": "interleaved: each round takes one sample of every (row, threads), shuffled",
            "single_call": "seconds per call from one thread, in two child processes built "
            "the same way, rayon's default pool (rayon_default) and RAYON_NUM_THREADS=1 "
            "(rayon_one), after the rounds: each round one sample of each, the order reversed "
            "every other round; a sample is one warm-up call, then calls back to back until "
            "they last >= sample_target_s; second_core_speedup is the ratio of the medians",
            "check": "each stage against the baseline first; every thread's last answer "
            "against a single call's (the same point and polygon objects)",
            "beside": "the large workload's call timed alone, then each call one thread "
            "starts while another thread's long call (one polygon repeated, every point at "
            "its center) runs; after the rounds",
        },
        "env": env,
        "stages": [checked[s.name].check_json() for s in chosen],
        "rows": rows,
        "single_call": single_call,
        "beside": beside,
    }
    if out is not None:
        report.write_report(result, Path(out), "threads", report.threads_markdown)
    return result


def failures(result: dict[str, Any]) -> list[str]:
    """What makes the run fail: wrong stages and wrong rows."""
    wrong = {s["name"] for s in result["stages"] if s["status"] == bench.WRONG}
    found = [f"{s['name']}: {s['detail']}" for s in result["stages"] if s["name"] in wrong]
    found += [
        f"{r['stage']} on the {r['workload']} workload: {r['detail']}"
        for r in result["rows"]
        if r["status"] == bench.WRONG and r["stage"] not in wrong  # wrong in threads only
    ]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = bench.cli_parser("workshop.threads", __doc__)
    parser.add_argument("--stage", default="stage4", help="the stage that releases the GIL")
    parser.add_argument(
        "--versus", nargs="*", default=["stage3"], help="compared on the canonical workload"
    )
    parser.add_argument(
        "--large", type=bench.size_arg, default=LARGE, help="POLYGONSxPOINTS (default 100000x10000)"
    )
    parser.add_argument(
        "--canonical", type=bench.size_arg, help="POLYGONSxPOINTS (default the canonical 1000x100)"
    )
    parser.add_argument("--rounds", type=int, default=7, help="samples per cell (default 7)")
    parser.add_argument(
        "--sample-seconds", type=float, default=0.1, help="one thread's sample (default 0.1)"
    )
    parser.add_argument(
        "--no-rayon-one", action="store_true", help="skip the RAYON_NUM_THREADS=1 child process"
    )
    parser.add_argument(
        "--long-seconds",
        type=float,
        default=LONG_SECONDS,
        help=f"the long call beside the short ones (default {LONG_SECONDS}; 0: skip it)",
    )
    parser.add_argument(
        "--child", action="store_true", help=argparse.SUPPRESS
    )  # a child of one_call: answers sample requests
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.sample_seconds <= 0:
        parser.error("--rounds must be >= 1 and --sample-seconds > 0")
    if args.child:
        return call_child(args.stage, args.large, args.sample_seconds)
    result = threads_bench(
        out=args.out,
        stage=args.stage,
        versus=args.versus,
        large=args.large,
        canonical=args.canonical,
        rounds=args.rounds,
        sample_seconds=args.sample_seconds,
        single_rayon_one=not args.no_rayon_one,
        long_seconds=args.long_seconds,
        quiet=args.quiet,
        command=bench.command_line("workshop.threads", argv),
    )
    print(report.threads_markdown(result))
    print(f"wrote {args.out}/threads.json, threads.md")
    return bench.exit_status(failures(result))


if __name__ == "__main__":
    sys.exit(main())
