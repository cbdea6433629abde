"""The measured table: every built stage checked, then timed side by side in one run.

    python -m workshop.bench [--budget SECONDS] [--out results]      # what `make bench` runs

1. Check. Every stage runs once on the canonical and the distinct-area workloads and
   is compared with the baseline (``workshop.checks``). A stage whose module is missing
   or still a skeleton is listed as "not built"; a stage with a wrong answer (or one that
   raises) is listed as "WRONG", never timed, and the run exits with status 1.
2. Calibrate. One warm-up call (it fills the baseline's cached centers), then the number
   of calls per sample is raised until a sample lasts ``--sample-seconds`` (0.2 s), so
   the timer's resolution and the loop around the calls do not count.
3. Time in rounds. Every round times each stage once, in a shuffled order, so the noise
   of a shared machine lands on every stage alike. As many rounds as fit in ``--budget``,
   at least ``--min-samples`` (5). The garbage collector is off during a sample (as in
   ``timeit``) and a collection runs between samples: one stage's garbage is not charged
   to the next one.
4. Report the median and quartiles of the time per call, and the speed-up: the
   baseline's median divided by the stage's, both from this run. The Rust-only floor of
   stage 3 is criterion's median (``make bench-rust``, run just before by ``make bench``).

Writes ``bench.json``, ``bench.md`` (the table the README embeds), ``bench.svg`` and
``bench.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import random
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workshop import (
    BLAS_THREAD_VARS,
    PIN_WARNINGS,
    REPO,
    RESULTS,
    checks,
    child_env,
    report,
    run,
    shown,
    stages,
)
from workshop.machines import cpu
from workshop.workloads import CANONICAL

# Recorded, never changed: the machine may set OPENBLAS_CORETYPE to choose the kernels.
ENV_VARS = (*BLAS_THREAD_VARS, "OPENBLAS_CORETYPE")
MAX_DIST = 10.0
# How every sample of every bench (bench, scaling, threads, outliers) is timed.
TIMING = {
    "timer": "time.perf_counter",
    "gc": "disabled during each sample, collected between samples",
}

OK, NOT_BUILT, WRONG, NOT_MEASURED = "ok", "not built", "WRONG", "not measured"

FLOOR_STAGE = "stage4"
FLOOR_NAME = "stage4_floor"
FLOOR_TITLE = "Stage 4's Rust core alone (criterion, no Python in the loop)"
FLOOR_PATH = Path("stage4", "floor_canonical", "new")


# --- one stage: its answer check, its samples -----------------------------------------


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """``(first quartile, median, third quartile)``; one value is all three."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, statistics.median(values), q3


def quartile_fields(per_call: Sequence[float]) -> dict[str, float]:
    """The median and quartiles of samples (seconds per call), as the JSON holds them."""
    q1, median, q3 = quartiles(per_call)
    return {"median_s": median, "q1_s": q1, "q3_s": q3}


def in_turn(names: Sequence[str], k: int) -> list[str]:
    """Round ``k``'s order: ``names``, reversed every other round, so none always goes first."""
    return list(names) if k % 2 == 0 else list(reversed(names))


@dataclass
class Row:
    """One line of the table: a stage, whether it was timed, and its numbers (seconds)."""

    name: str
    title: str
    status: str = OK
    detail: str = ""
    source: str = "python"  # "python": timed here; "criterion": the Rust-only floor
    pairs: int | None = None
    calls_per_sample: int | None = None
    sample_seconds: list[float] = field(default_factory=list)  # per call, one per sample
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    speedup: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summarize(self) -> None:
        """Median and quartiles of ``sample_seconds``."""
        self.q1, self.median, self.q3 = quartiles(self.sample_seconds)

    def check_json(self) -> dict[str, Any]:
        """The check's outcome, as every report lists a stage it checked."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }

    def to_json(self) -> dict[str, Any]:
        iqr = None if self.q1 is None or self.q3 is None else self.q3 - self.q1
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "source": self.source,
            "median_s": self.median,
            "q1_s": self.q1,
            "q3_s": self.q3,
            "iqr_s": iqr,
            "samples": len(self.sample_seconds),
            "calls_per_sample": self.calls_per_sample,
            "speedup": self.speedup,
            "pairs": self.pairs,
            "sample_seconds": self.sample_seconds,
            **self.extra,
        }


def check(stage: stages.Stage, **workload: Any) -> Row:
    """Is ``stage`` built, and does it give the baseline's answers (on the canonical
    workload, or ``workload``, and on the distinct-area one)? Never raises."""
    row = Row(stage.name, stage.title)
    reason = run.not_built(stage)
    if reason is not None:
        row.status, row.detail = NOT_BUILT, reason
        return row
    try:
        # A stage that compiles on first use (numba) has warm_up(): it compiles, if that
        # is not done yet, and returns the seconds the compile took; never in a sample.
        warm_up = getattr(stage.load(), "warm_up", None)
        if warm_up is not None:
            row.extra["first_call_s"] = warm_up()
        row.pairs = checks.check_stage(stage, max_dist=MAX_DIST, **(workload or CANONICAL))
        checks.check_stage(stage, workload="distinct", max_dist=MAX_DIST)
    except AssertionError as err:
        row.status, row.detail = WRONG, f"wrong answer, not timed: {err}"
    except Exception as err:  # a stage that raises is as wrong as one that lies
        row.status, row.detail = WRONG, f"raised {type(err).__name__}, not timed: {err}"
    return row


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """A collection first, then no garbage collector inside (as in ``timeit``)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Subject:
    """A stage ready to time: its entry point and its own copy of the workload."""

    def __init__(self, name: str, entry: Callable[..., Any], workload: tuple[list, list]):
        self.name = name
        self.entry = entry
        self.polygons, self.points = workload
        self.number = 1  # calls per sample, set by calibrate()
        self.per_call = math.nan  # seconds, the calibration's estimate
        self.samples: list[float] = []  # seconds per call

    def time(self, number: int) -> float:
        """Seconds spent in ``number`` calls, the garbage collector paused."""
        entry, polygons, points = self.entry, self.polygons, self.points
        with gc_paused():
            start = time.perf_counter()
            for _ in range(number):
                entry(polygons, points, MAX_DIST)
            return time.perf_counter() - start

    def calibrate(self, target: float) -> float:
        """Set the calls per sample so that a sample lasts >= ``target``; return s/call."""
        number = 1
        while True:
            spent = self.time(number)
            if spent >= target:
                self.number = number
                return spent / number
            # Aim at the target from the rate seen so far: at least x2, at most x100 a step.
            aim = math.ceil(number * target * 1.1 / max(spent, 1e-9))
            number = max(2 * number, min(100 * number, aim))

    def sample(self) -> None:
        self.samples.append(self.time(self.number) / self.number)

    def summary(self) -> dict[str, Any]:
        """The samples' median and quartiles (seconds per call), as the JSON holds them."""
        return {
            **quartile_fields(self.samples),
            "samples": len(self.samples),
            "calls_per_sample": self.number,
            "sample_seconds": self.samples,
        }


def interleave(
    subjects: Sequence[Subject], rounds: int, advance: Callable[[str], None], seed: int = 0
) -> None:
    """``rounds`` rounds; each times every subject once, in a fresh shuffled order."""
    order = list(subjects)
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(order)
        for subject in order:
            subject.sample()
            advance(subject.name)


def loop_sample(
    call: Callable[[], Any], seconds: float, warm_up: bool = False
) -> tuple[float, int]:
    """One sample: ``call()`` repeated until ``seconds`` have passed, gc off; (s per call,
    calls). ``warm_up``: one untimed call first, so the sample starts as back-to-back calls
    go on (a call after an idle gap is slower: its worker threads and memory have gone cold)."""
    calls, spent = 0, 0.0
    with gc_paused():
        if warm_up:
            call()
        while spent < seconds or calls == 0:
            start = time.perf_counter()
            call()
            spent += time.perf_counter() - start
            calls += 1
    return spent / calls, calls


# --- a child process that takes samples when asked (pipeline, threads) -------------------


class Child:
    """``python -m MODULE --child ARGS`` with ``env`` added to ``child_env()``: a line in,
    a JSON line out (``serve`` is the child's side). Settings a process reads once, such as
    ``RAYON_NUM_THREADS``, need a process each; children built the same way and asked in
    turn compare them under the same conditions."""

    def __init__(self, module: str, *args: str, **env: str) -> None:
        # The stage's module may come from sys.path entries added at run time (the tests').
        path = os.pathsep.join(p for p in sys.path if p)
        self.name = " ".join(f"{k}={v}" for k, v in env.items()) or "default environment"
        # Read back when the child ends; closed by close().
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, "--child", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=child_env(PYTHONPATH=path, **env),
        )

    def ask(self, request: str, timeout: float = 600.0) -> dict[str, Any]:
        """Send ``request``, wait for the answer; RuntimeError if the child ended or gave
        none within ``timeout`` seconds (then it is killed)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(request + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it ended: the empty read below says so
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            self.proc.kill()
            raise RuntimeError(f"the child ({self.name}) gave no answer in {timeout:g} s")
        line = self.proc.stdout.readline()
        if not line:
            status = self.proc.wait()
            self.stderr.seek(0)
            tail = (self.stderr.read().strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the child ({self.name}) ended, exit status {status}: {tail}")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(answer: Callable[[str], dict[str, Any]]) -> int:
    """The child's side of ``Child``: every line of stdin answered with ``answer``'s JSON."""
    for line in sys.stdin:
        print(json.dumps(answer(line.strip())), flush=True)
    return 0


# --- the stage 4 floor, from criterion --------------------------------------------------


def criterion_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    return (Path(target) if target else REPO / "target") / "criterion"


def criterion_median_s(estimates: Path) -> float:
    """Criterion's own median (as `cargo bench` quotes it) from an ``estimates.json``, in s."""
    return json.loads(estimates.read_text())["median"]["point_estimate"] * 1e-9


def floor_row(stage: Row | None, directory: Path) -> Row:
    """Criterion's median for the pure-Rust core of stage 4, on the canonical workload."""
    row = Row(FLOOR_NAME, FLOOR_TITLE, status=NOT_MEASURED, source="criterion")
    if stage is None or stage.status == NOT_BUILT:
        row.detail = f"{FLOOR_STAGE} is not built"
        return row
    if stage.status != OK:
        row.detail = f"{FLOOR_STAGE} gives a wrong answer, so its floor is not reported"
        return row
    estimates = directory / "estimates.json"
    if not estimates.exists():
        row.detail = f"not timed here yet (no {shown(estimates)}): `make bench-rust` times it"
        return row
    sample = directory / "sample.json"
    if sample.exists():
        data = json.loads(sample.read_text())
        per_iter = [t / i for t, i in zip(data["times"], data["iters"], strict=True)]
        row.sample_seconds = [ns * 1e-9 for ns in per_iter]
        row.summarize()
    row.median = criterion_median_s(estimates)
    row.q1 = row.q1 if row.q1 is not None else row.median
    row.q3 = row.q3 if row.q3 is not None else row.median
    row.status = OK
    mtime = datetime.fromtimestamp(estimates.stat().st_mtime, timezone.utc)
    row.extra["measured_at"] = mtime.isoformat(timespec="seconds")
    # The search at 100k x 10k on one thread and on every thread (no Python in the call).
    for threads in ("one_thread", "every_thread"):
        large = directory.parent.parent / f"floor_100k_10k_{threads}" / "new" / "estimates.json"
        if large.exists():
            row.extra[f"large_{threads}_s"] = criterion_median_s(large)
    row.detail = f"criterion, {row.extra['measured_at']}; not interleaved with the others"
    return row


# --- the environment -------------------------------------------------------------------


def _command(*args: str) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=REPO)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def environment() -> dict[str, Any]:
    """What the numbers depend on: CPU, versions, thread settings, source revision."""
    import numpy as np

    model, simd = cpu()
    blas: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
    except Exception:  # older numpy has no mode="dicts"; the BLAS is then just not named
        pass
    commit = _command("git", "rev-parse", "--short", "HEAD")
    if commit and _command("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return {
        "cpu": model,
        "cpu_simd": simd,
        "cores": cores,
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "blas": " ".join(str(blas[k]) for k in ("name", "version") if k in blas) or "unknown",
        "rustc": _command("rustc", "--version") or "not found",
        "git": commit or "unknown",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "env": {var: os.environ.get(var) for var in ENV_VARS},
        "load_average_start": os.getloadavg()[0],
        "warnings": list(PIN_WARNINGS),
    }


# --- the whole run ---------------------------------------------------------------------


def progress_bar(quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )


def bench(
    budget: float = 60.0,
    out: Path | None = RESULTS,
    names: Sequence[str] | None = None,
    min_samples: int = 5,
    sample_seconds: float = 0.2,
    floor_dir: Path | None = None,
    quiet: bool = False,
    command: str = "python -m workshop.bench",
) -> dict[str, Any]:
    """Check, calibrate and time the stages; write the reports into ``out``; return the JSON.

    ``budget`` bounds the timed rounds (seconds); ``names`` restricts the stages.
    """
    chosen = [stages.get(n) for n in names] if names else list(stages.STAGES)
    env = environment()
    rows: list[Row] = []
    with progress_bar(quiet) as progress:
        task = progress.add_task("checking answers", total=len(chosen))
        for stage in chosen:
            progress.update(task, description=f"checking {stage.name}")
            rows.append(check(stage))
            progress.advance(task)
        baseline = next((r for r in rows if r.name == "stage0"), None)
        if baseline is None or baseline.status != OK:
            raise SystemExit("the baseline (stage0) must be among the stages, and it must run")

        ok = [(stage, row) for stage, row in zip(chosen, rows, strict=True) if row.status == OK]
        subjects = [Subject(s.name, s.entry_point(), s.workload(**CANONICAL)) for s, _ in ok]
        # Short samples when the budget is tiny (the smoke test), 0.2 s otherwise.
        target = max(1e-3, min(sample_seconds, budget / (min_samples * len(subjects))))
        # What is alive now (modules, every subject's workload) stays alive to the end:
        # frozen, the collection before each sample scans only what the stages made
        # (a full one took 65 ms here, before each of a hundred samples).
        gc.collect()
        gc.freeze()
        try:
            task = progress.add_task("calibrating", total=len(subjects))
            for subject in subjects:
                progress.update(task, description=f"calibrating {subject.name}")
                subject.time(1)  # warm-up: the first call fills caches (the baseline's centers)
                subject.per_call = subject.calibrate(target)
                progress.advance(task)
            round_cost = sum(s.number * s.per_call for s in subjects)
            rounds = max(min_samples, int(budget // max(round_cost, 1e-9)))
            task = progress.add_task(f"timing, {rounds} rounds", total=rounds * len(subjects))
            interleave(
                subjects,
                rounds,
                lambda name: progress.update(task, advance=1, description=f"timing {name}"),
            )
        finally:
            gc.unfreeze()

    for subject, (_, row) in zip(subjects, ok, strict=True):
        row.calls_per_sample = subject.number
        row.sample_seconds = subject.samples
        row.summarize()
    if names is None or FLOOR_STAGE in names:
        stage = next((r for r in rows if r.name == FLOOR_STAGE), None)
        rows.append(floor_row(stage, floor_dir or criterion_dir() / FLOOR_PATH))
    for row in rows:
        if row.median is not None:
            row.speedup = baseline.median / row.median
    env["load_average_end"] = os.getloadavg()[0]

    result = {
        "schema": 1,
        "workload": {"name": "canonical", **CANONICAL, "max_dist": MAX_DIST},
        "method": {
            **TIMING,
            "rounds": rounds,
            "order": "interleaved: each round times every stage once, shuffled",
            "sample_target_s": target,
            "budget_s": budget,
            "warmup": "one call, then the calibration loops (a JIT stage compiles before: "
            "its first_call_s)",
            "speedup": "stage0 median / stage median, same run",
        },
        "command": command,
        "env": env,
        "stages": [row.to_json() for row in rows],
    }
    if out is not None:
        report.write_report(result, Path(out), "bench", report.bench_markdown, report.bench_chart)
    return result


# --- the command lines of bench, scaling, threads, outliers -----------------------------


def cli_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every bench has: --out and --quiet."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc)
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def command_line(prog: str, argv: Sequence[str] | None) -> str:
    """The command as the report quotes it; warns on stderr if the threads are not pinned."""
    for warning in PIN_WARNINGS:
        print(f"warning: {warning}", file=sys.stderr)
    return " ".join([f"python -m {prog}", *(argv if argv is not None else sys.argv[1:])])


def size_arg(text: str) -> dict[str, int]:
    """``100000x10000`` -> ``{"n_polygons": 100000, "n_points": 10000}``."""
    try:
        n_polygons, n_points = (int(v) for v in text.split("x"))
    except ValueError:
        message = f"expected POLYGONSxPOINTS, e.g. 100000x10000: {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if n_polygons < 1 or n_points < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes: {text!r}")
    return {"n_polygons": n_polygons, "n_points": n_points}


def exit_status(errors: Sequence[str], summary: str = "") -> int:
    """Print the wrong answers on stderr: 1 if there are any, else 0."""
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if errors and summary:
        print(f"error: {summary.format(n=len(errors))}", file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser("workshop.bench", __doc__)
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds for the timed rounds (default 60)"
    )
    parser.add_argument("--stages", nargs="+", help="only these stages (stage0 is required)")
    parser.add_argument("--min-samples", type=int, default=5, help="at least this many rounds")
    parser.add_argument(
        "--sample-seconds", type=float, default=0.2, help="target length of one sample"
    )
    args = parser.parse_args(argv)
    if args.min_samples < 1 or args.budget <= 0:
        parser.error("--min-samples must be >= 1 and --budget > 0")
    result = bench(
        budget=args.budget,
        out=args.out,
        names=args.stages,
        min_samples=args.min_samples,
        sample_seconds=args.sample_seconds,
        quiet=args.quiet,
        command=command_line("workshop.bench", argv),
    )
    report.bench_console(result)
    print(f"wrote {shown(args.out)}/bench.json, bench.md (this table), bench.svg, bench.png")
    wrong = [f"{s['name']}: {s['detail']}" for s in result["stages"] if s["status"] == WRONG]
    return exit_status(wrong, "{n} stage(s) give a wrong answer and were not timed")


if __name__ == "__main__":
    sys.exit(main())
