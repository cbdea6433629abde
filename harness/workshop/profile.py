"""Profile the stages with py-spy or samply, and draw the flamegraphs.

    python -m workshop.profile stage1                  # profiles/runs/stage1.{folded,svg,...}
    python -m workshop.profile --all                   # every built stage, same rate and time
    python -m workshop.profile stage4_large --profiler samply   # profiles/runs/samply/...
    python -m workshop.profile --render stage1         # redraw stage1.svg from stage1.folded
    python -m workshop.profile --all --skip-if-refused # `make profiles`: one line, exit 0,
                                                       # where the recorder may not read the process

``make profile-STAGE``, ``make profiles`` and ``make compare`` call it. Your own script is
``workshop profile`` (``workshop.script``): the same steps, from the folder you are in.

A stage's recording is the recorder around ``python -m workshop.run STAGE --seconds SECONDS``:
every stage runs the canonical workload for the same wall time at the same rate, so sample
counts compare; ``stage4_large`` is stage 4 on 100k polygons x 10k points, where rayon runs
on every core. The steps: ``workshop.recorders`` (record) -> ``workshop.stacks`` (clean,
trim, merge) -> ``workshop.analyse`` (where the time goes, the claims) -> ``workshop.draw``
(flamegraphs) -> ``workshop.compare`` (the page).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workshop import (
    PROFILES,
    PROFILES_REFERENCE,
    REFERENCE,
    RESULTS,
    analyse,
    child_env,
    draw,
    recorders,
    shown,
    stages,
)
from workshop import run as runner
from workshop.stacks import Profile, read_meta

RATE = 200  # samples per second, the same for every stage
SECONDS = 5.0  # wall time of the timed loop, the same for every stage
RECORDERS: dict[str, Callable[[list[str], int, dict[str, str]], recorders.Recording]] = {
    "py-spy": recorders.record_pyspy,
    "samply": recorders.record_samply,
}
LARGE = {"n_polygons": 100_000, "n_points": 10_000}

ProfileError = (recorders.RecordError, draw.DrawError)


def entry_frame() -> str:
    """The runner's frame while it calls the stage: ``call_stage (workshop/run.py:LINE)``.

    Samples under it are the timed calls; the rest is imports and building the
    workload. ``run.call_stage`` holds the call on its last line, read from its code.
    """
    code = runner.call_stage.__code__
    line = max(line for _, _, line in code.co_lines() if line is not None)
    return f"{code.co_name} (workshop/run.py:{line})"


@dataclass(frozen=True)
class Subject:
    """What is recorded: a stage on a workload."""

    name: str  # the files' stem: stage1, stage4_large
    title: str
    stage: stages.Stage
    workload: dict[str, int] = field(default_factory=dict)

    def argv(self, seconds: float) -> list[str]:
        sizes = [f"--{k.removeprefix('n_')}={v}" for k, v in self.workload.items()]
        run = ["-m", "workshop.run", self.stage.name, "--seconds", f"{seconds:g}", *sizes]
        return [sys.executable, *run]


def stage_subjects() -> list[Subject]:
    """Every stage on the canonical workload, then stage 4 on the large one."""
    subjects = [Subject(s.name, s.title, s) for s in stages.STAGES]
    large = stages.get("stage4")
    title = "Stage 4 on 100k polygons x 10k points: the GIL released, rayon on every core"
    return [*subjects, Subject("stage4_large", title, large, LARGE)]


SUBJECTS = {s.name: s for s in stage_subjects()}


def subject(name: str) -> Subject:
    try:
        return SUBJECTS[name]
    except KeyError:
        raise SystemExit(f"unknown stage {name!r}; known: {', '.join(SUBJECTS)}") from None


def folder(out: Path, recorder: str) -> Path:
    """Where a recorder's profiles go: py-spy's in ``out``, samply's in ``out/samply``."""
    return out if recorder == "py-spy" else out / "samply"


def runnable(subj: Subject) -> str | None:
    """Why ``subj`` cannot be profiled yet, or None."""
    return runner.not_built(subj.stage)


# --- record -------------------------------------------------------------------------


def record(
    subj: Subject,
    dest: Path = PROFILES,
    seconds: float = SECONDS,
    rate: int = RATE,
    recorder: str = "py-spy",
) -> Profile:
    """Record ``subj``; writes ``NAME.folded`` and ``NAME.meta.json`` in ``dest``."""
    why = runnable(subj)
    if why:
        raise recorders.RecordError(f"{subj.name}: {why}")
    rec = RECORDERS[recorder](subj.argv(seconds), rate, child_env())
    meta: dict = {
        "subject": subj.name,
        "title": subj.title,
        "recorder": recorder,
        "recorder_line": rec.line,
        "command": rec.command,
        "rate": rate,
        "samples": sum(rec.stacks.values()),
    }
    timing = runner.parse_result(rec.output)
    if timing is None:
        raise recorders.RecordError(f"{subj.name}: the runner printed no result line")
    meta |= {
        "stage": subj.stage.name,
        "workload": subj.workload or "canonical",
        "seconds": seconds,
        "calls": timing[0],
        "seconds_per_call": timing[1] * 1e-3,
        "shown": "the timed calls",
    }
    if recorder == "py-spy":
        meta["entry_frame"] = entry_frame()
    elif not rec.extra.get("window"):
        meta["shown"] = "the whole run (no timed-calls marker in the profile)"
    if rec.extra.get("threads"):
        meta["threads"] = rec.extra["threads"]
    prof = Profile(subj.name, dict(rec.stacks), meta)
    prof.write(dest)
    return prof


# --- draw ---------------------------------------------------------------------------


def default_bench(out: Path) -> Path:
    """The bench.json whose medians title ``out``'s graphs: the reference set's for the
    reference profiles, your run's otherwise."""
    where = out.resolve()
    if where.is_relative_to(PROFILES_REFERENCE.resolve()) and where != PROFILES_REFERENCE.resolve():
        machine = where.relative_to(PROFILES_REFERENCE.resolve()).parts[0]
        return REFERENCE / machine / "bench.json"
    return RESULTS / "bench.json"


def bench_seconds(bench: Path) -> dict[str, float]:
    """Median seconds per call per stage from ``make bench`` (bench.json)."""
    rows = read_meta(bench).get("stages", [])
    return {row["name"]: row["median_s"] for row in rows if row.get("median_s")}


def timing(prof: Profile, bench: dict[str, float]) -> tuple[float | None, str]:
    """Time per call of ``prof`` and where it came from: the bench median for a stage
    on the canonical workload, else what the runner measured under the recorder."""
    stage = prof.meta.get("stage")
    if stage in bench and prof.meta.get("workload", "canonical") == "canonical":
        return bench[stage], "median of make bench"
    if prof.meta.get("seconds_per_call"):
        unit = prof.meta.get("unit", "call")
        how = "wall time of the run" if unit == "run" else "measured while"
        if unit != "run":
            how += f" {prof.recorder} sampled it"
        return prof.meta["seconds_per_call"], how
    return None, ""


def render(prof: Profile, where: Path, bench: dict[str, float]) -> Path:
    return draw.render(prof, where / f"{prof.name}.svg", timing(prof, bench)[0])


def report(prof: Profile, svg: Path) -> str:
    """What ``make profile-STAGE`` prints: samples, the graph, the claim checked."""
    line = f"{prof.name} ({prof.recorder}): {prof.total} samples -> {shown(svg)}"
    for key, check in analyse.keyed_claims_for(prof):
        result = check(prof)
        verdict = "holds" if result.holds else "DOES NOT HOLD"
        if key in analyse.VARIES and not result.holds:
            verdict = "not on this CPU (the walkthrough says where it holds)"
        line += f"\n  {verdict}: {result.statement}"
        line += f"\n  ({result.evidence})"
    return line


# --- command line -----------------------------------------------------------------------


def refused_line(recorded: list[str], why: str) -> str:
    """The one line ``make profiles`` prints where the recorder may not read the process."""
    what = f"profiles reduced to {', '.join(recorded)}" if recorded else "profiles skipped"
    how = "`make profile-stage0` prints how to allow it"
    if why.startswith("samply"):
        how = "then run it again"
    return f"{what}: {why}; the benchmark is unaffected. {how[0].upper()}{how[1:]}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stage", nargs="*", help="stage names: " + ", ".join(SUBJECTS))
    parser.add_argument("--all", action="store_true", help="every stage that is built")
    parser.add_argument("--render", action="store_true", help="only redraw the SVGs")
    parser.add_argument("--profiler", choices=list(RECORDERS), default="py-spy")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="wall time per stage")
    parser.add_argument("--rate", type=int, default=RATE, help="samples per second")
    parser.add_argument("--out", type=Path, default=PROFILES, help="output folder")
    parser.add_argument("--bench", type=Path, help="bench.json: time per call (make bench)")
    parser.add_argument(
        "--skip-if-refused",
        action="store_true",
        help="where the recorder may not read the process: say so in one line, exit 0",
    )
    args = parser.parse_args(argv)
    done: list[str] = []
    try:
        if args.all:
            chosen = [s for s in stage_subjects() if runnable(s) is None]
            for subj in stage_subjects():
                if subj not in chosen:
                    print(f"{subj.name}: skipped, {runnable(subj)}")
        elif args.stage:
            chosen = [subject(name) for name in args.stage]
        else:
            parser.error("name a stage or pass --all (your own script: `workshop profile`)")
        where = folder(args.out, args.profiler)
        bench = bench_seconds(args.bench or default_bench(args.out))
        if args.profiler == "samply" and not args.render:
            recorders.check_samply()
        for subj in chosen:
            if args.render:
                prof = Profile.read(where / f"{subj.name}.folded")
            else:
                print(f"{subj.name}: recording with {args.profiler} ...", flush=True)
                prof = record(subj, where, args.seconds, args.rate, args.profiler)
            done.append(subj.name)
            print(report(prof, render(prof, where, bench)), flush=True)
    except recorders.Refused as err:
        if not args.skip_if_refused:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(refused_line(done, err.why))
    except ProfileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
