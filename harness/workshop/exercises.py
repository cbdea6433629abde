"""What the exercise check files share (``stages/exerciseN/tests/test_exercise.py``).

    python -m workshop.exercises N     # what `make check-exercise STAGE=N` runs once it built

Each file keeps its exercise's checks and messages; this module keeps the plumbing:
the built module or a pointer to ``make check-exercise``, the exercise's stage rules,
the path of your ``src/lib.rs``, a Rust panic turned into a failure, "are the TODOs
done yet?" (a starter raises NotImplementedError until they are), the centers on the
boundary that catch the natural mistakes, the plain loop's picks and a search run in a
child process with capped memory and time (exercise 4), and the report: a failing check
prints its message, what to change first, and no traceback (this module is a pytest
plugin too).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from workshop import REPO, checks, fp, stages

SKIP = "the TODOs are not done yet (see the failure above)"

# Centers that numpy's norm puts exactly MAX_DIST from ORIGIN on every CPU: whether its dot
# fuses the multiply-add (AVX-512) or not, np.linalg.norm(center) rounds to 10.0, so the
# baseline calls none of them close (tests/test_exercise_meta.py checks this with the exact
# models of workshop.fp). Each is kept by a natural mistake, so a check that uses it
# catches that mistake on every machine.
ORIGIN = (0.0, 0.0)
MAX_DIST = 10.0
# 6 * 6 + 8 * 8 = 100 exactly: `<=` keeps it.
ON_THE_CIRCLE = (6.0, 8.0)
# dx * dx + dy * dy = 99.99999999999999, below 10 * 10, yet its square root rounds to 10.0:
# `d2 < max_dist * max_dist` keeps it (and so does `d2 <= t`, `t = squared_threshold(10)`).
SQUARED_BELOW = (8.650142622167833, -5.017472731979259)
# hypot(dx, dy) = 9.999999999999998, where sqrt(dx * dx + dy * dy) = 10.0 (its true
# distance lies between the two): `dx.hypot(dy) < max_dist` keeps it.
HYPOT_BELOW = (9.971091929907367, -0.7598195347160795)

PANICKED = "Your Rust code panicked"


def boundary(squared_too: str = "") -> list[Any]:
    """``(center, why)`` parameters of the checks on SQUARED_BELOW and HYPOT_BELOW: why the
    mistake keeps the center (``squared_too``: what else keeps the first one)."""
    return [
        pytest.param(
            SQUARED_BELOW,
            "its squared distance, {d2!r}, is below 10 * 10, but its square root rounds up "
            "to 10.0: `d2 < max_dist * max_dist` is not `sqrt(d2) < max_dist`" + squared_too,
            id="squared",
        ),
        pytest.param(
            HYPOT_BELOW,
            "`hypot` gives {hypot!r} here, but numpy's sqrt(dx*dx + dy*dy) gives 10.0: "
            "hypot rounds its own way",
            id="hypot",
        ),
    ]


def kept_on_the_boundary(todo: str, center: tuple[float, float], why: str) -> str:
    """The failure when a search keeps a boundary center: ``todo`` first, then why."""
    d2, hypot = center[0] ** 2 + center[1] ** 2, math.hypot(*center)
    return (
        f"{todo} The center {center} is not close to (0, 0) for the baseline on any CPU, "
        f"yet your search keeps it: {why.format(d2=d2, hypot=hypot)}."
    )


# A failing check prints at most this many lines: its message, never a traceback.
MAX_LINES = 15
PYTEST_ARGS = ("-p", "no:cacheprovider", "-p", "workshop.exercises", "--assert=plain", "-q", "-rfE")


def built(n: int) -> ModuleType:
    """``poly_match_exerciseN``, or an ImportError that says how to build it."""
    name = f"poly_match_exercise{n}"
    try:
        return importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - depends on what was built
        raise ImportError(
            f"{name} is not built ({err}): run `make check-exercise STAGE={n}`, "
            f"which builds stages/exercise{n} and runs these tests"
        ) from err


def stage(n: int, **rules: Any) -> stages.Stage:
    """Stage ``n``'s rules, for the module you build; not in the registry: `make bench` skips it."""
    return stages.Stage(
        f"exercise{n}",
        f"poly_match_exercise{n}",
        f"Exercise {n}: stage {n}, by you",
        **rules,
        crate=f"exercise{n}",
    )


def again(n: int) -> str:
    """The line under the starter's message."""
    return f"\nThen run `make check-exercise STAGE={n}` again."


def source(test_file: str) -> Path:
    """Your ``src/lib.rs``; ``POLY_MATCH_EXERCISE_SRC`` overrides it (the meta test's answer)."""
    default = Path(test_file).parents[1] / "src/lib.rs"
    return Path(os.environ.get("POLY_MATCH_EXERCISE_SRC") or default)


def code(text: str) -> str:
    """The source without its comments (a comment may name what the code must not do)."""
    return re.sub(r"//[^\n]*", "", text)


def rust_fn(path: Path, name: str) -> str:
    """The text of ``fn name`` in the Rust file at ``path``, comments removed."""
    found = re.search(rf"fn {name}\b.*?\n\}}", code(path.read_text()), re.S)
    assert found, f"no `fn {name}` in {path}"
    return found.group(0)


def caller(hint: str) -> Callable[..., Any]:
    """``call(function, *args, **kwargs)``: a Rust panic becomes a failure that starts with
    ``hint`` (what to fix in this exercise), any other exception passes through."""

    def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)``, a Rust panic turned into a failure."""
        try:
            return function(*args, **kwargs)
        except BaseException as err:
            if type(err).__name__ != "PanicException":
                raise
            panic = str(err)
        pytest.fail(
            f"{PANICKED}, and a panic is a crash, not an answer: {hint}\nThe panic: {panic}",
            pytrace=False,
        )

    return call


def not_done(attempt: Callable[[], object]) -> str | None:
    """The starter's NotImplementedError message from ``attempt()`` while it is there, else None."""
    try:
        attempt()
    except NotImplementedError as err:
        return str(err)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a Rust panic is a BaseException: the tests report it
        return None
    return None


def done_fixture(attempt: Callable[[], object]) -> Any:
    """The ``done`` fixture: skip a test while the TODOs are not done, which
    ``test_the_todos_are_done`` (see ``fail_if_not_done``) says once."""

    @pytest.fixture
    def done() -> None:
        if not_done(attempt) is not None:
            pytest.skip(SKIP)

    return done


def fail_if_not_done(attempt: Callable[[], object], n: int) -> None:
    """Fail with the starter's message, and how to check again, while the TODOs are not done."""
    message = not_done(attempt)
    if message is not None:
        pytest.fail(message + again(n), pytrace=False)


def same_objects(got: list[Any], expected: list[Any]) -> bool:
    """The very same objects (``is``), in the same order."""
    return len(got) == len(expected) and all(g is e for g, e in zip(got, expected, strict=True))


def same_picks(call: Callable[..., Any], stage: stages.Stage, workload: str, todo: str) -> None:
    """``checks.check_stage`` on ``workload``; a wrong answer fails with what to change
    first (``todo``), then how the picks differ."""
    try:
        call(checks.check_stage, stage, workload=workload)
    except AssertionError as err:
        pytest.fail(f"{todo}\nOn the {workload} workload: {err}", pytrace=False)


# --- a search run apart: the plain loop's picks, and a child process -------------------


def plain_picks(polygons: Sequence[Any], points: Any, max_dist: float) -> list[tuple[int, int]]:
    """``[(point index, polygon index)]`` as stage 3's plain loop picks them, from the
    polygons' own centers and areas: ``dx * dx + dy * dy < squared_threshold(max_dist)``
    (numpy's elementwise products and sum round as Rust's do), then the first close
    polygon, replaced only by a strictly smaller area."""
    centers = np.array([np.asarray(p.center, dtype=np.float64) for p in polygons]).reshape(-1, 2)
    areas = np.array([p.area() for p in polygons], dtype=np.float64)
    coords = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    t = fp.squared_threshold(max_dist)
    found = []
    # A few thousand pairs at a time: memory stays small at 20,000 x 1,000.
    step = max(1, 2_000_000 // max(1, len(centers)))
    with np.errstate(all="ignore"):
        for start in range(0, len(coords), step):
            chunk = coords[start : start + step]
            dx = centers[None, :, 0] - chunk[:, None, 0]
            dy = centers[None, :, 1] - chunk[:, None, 1]
            close = dx * dx + dy * dy < t
            for k, row in enumerate(close):
                indices = np.flatnonzero(row)
                if len(indices) == 0:
                    continue
                best = int(indices[0])
                for i in indices[1:]:
                    if areas[i] < areas[best]:
                        best = int(i)
                found.append((start + k, best))
    return found


# Run apart, a search cannot take the checks down with it: a grid of every cell between
# two far centers asks for terabytes (an abort) or gigabytes (the machine's), a cell loop
# that never ends hangs. The child gets this much address space beyond what it holds
# once the layout is built, and this long: hundreds of times what a search needs here.
CHILD_MEMORY = 2 << 30
CHILD_SECONDS = 60

_CHILD = """
import importlib.util, json, sys
from workshop import exercises
spec = importlib.util.spec_from_file_location("exercise_checks", sys.argv[1])
checks = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)
print(json.dumps(exercises.child_run(checks, sys.argv[2])))
"""


def child_run(checks_module: ModuleType, name: str) -> dict[str, Any]:
    """In the child: make layout ``name`` of the check file, cap the memory, call
    ``main``: ``{"picks": [[point, polygon], ...], "tests": n}`` or ``{"error": ...}``."""
    polygons, points, max_dist = checks_module.LAYOUTS[name].make()
    _cap_memory(CHILD_MEMORY)
    try:
        pairs = checks_module.main(polygons, points, max_dist)
    except BaseException as err:  # a Rust panic is a BaseException
        return {"error": f"{type(err).__name__}: {err}", "kind": "raised"}
    point_index = {id(p): k for k, p in enumerate(points)}
    polygon_index = {id(p): i for i, p in enumerate(polygons)}
    picks = [[point_index.get(id(p), -1), polygon_index.get(id(q), -1)] for p, q in pairs]
    return {"picks": picks, "tests": int(checks_module.distance_tests())}


def _cap_memory(extra: int) -> None:
    """RLIMIT_AS: what the process maps now plus ``extra`` (Linux; elsewhere nothing)."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, mapped + extra))
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Linux
        pass


def run_apart(test_file: str, name: str) -> dict[str, Any]:
    """Layout ``name`` of ``test_file`` (its ``LAYOUTS[name].make()``: polygons, points,
    max_dist) searched in a child process with
    bounded memory and time: ``child_run``'s answer, or ``{"error": what happened, "kind":
    "raised" (an exception or a Rust panic), "killed" (a signal: an abort where memory ran
    out), "hung" (out of time) or "child" (the check's own child failed)}``."""
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    command = [sys.executable, "-c", _CHILD, test_file, name]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_SECONDS, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "kind": "hung",
            "error": f"your search did not finish in {CHILD_SECONDS} s (a correct one takes "
            "well under a second here): a loop over cells that never ends, or over every "
            "cell between two far-apart coordinates?",
        }
    if done.returncode == 0 and done.stdout.strip():
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    last = " / ".join([line for line in done.stderr.splitlines() if line.strip()][-2:])
    if done.returncode > 0:
        return {
            "kind": "child",
            "error": f"the check's child process failed (status {done.returncode}): {last}",
        }
    return {
        "kind": "killed",
        "error": f"the process running your search was killed by signal "
        f"{signal.Signals(-done.returncode).name} (its memory is capped at "
        f"{CHILD_MEMORY >> 30} GiB more than the layout needs; a grid of every cell "
        f"between far-apart centers asks for far more): {last}",
    }


# --- the report: the message of each failing check, nothing else ----------------------


def short_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """A failing check's message; for any other exception its type, message and the line
    of the check that made the call. At most MAX_LINES lines."""
    err = excinfo.value
    if isinstance(err, AssertionError) or excinfo.typename == "Failed":
        text = str(err)
    else:
        tests = [e for e in excinfo.traceback if Path(e.path).name.startswith("test_")]
        where = tests[-1] if tests else excinfo.traceback[-1]
        text = (
            f"{excinfo.typename}: {err}\n(raised in the call at "
            f"{Path(where.path).name}:{where.lineno + 1}: read that check's line)"
        )
    lines = text.splitlines() or [excinfo.typename]
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], f"... and {len(lines) - MAX_LINES + 1} lines more"]
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator:
    """The failure of a check is its message: no traceback through the test's code."""
    report = yield
    if report.failed and call.excinfo is not None:
        report.longrepr = short_failure(call.excinfo)
        if str(call.excinfo.value).startswith(PANICKED):
            # The panic hook's lines on stderr: the message above holds the panic.
            report.sections = [s for s in report.sections if "stderr" not in s[0]]
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Generator:
    """After the failures and their one-line summary: where to start."""
    result = yield
    if len(terminalreporter.stats.get("failed", [])) > 1:
        terminalreporter.write_line(
            "Fix the first failure above first: the ones after it often follow from it."
        )
    return result


def main(argv: list[str] | None = None) -> int:
    """Run exercise N's checks against the module built in .venv (or on PYTHONPATH)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m workshop.exercises N", file=sys.stderr)
        return 2
    tests = REPO / "stages" / f"exercise{args[0]}" / "tests" / "test_exercise.py"
    if not tests.exists():
        print(f"no exercise {args[0]}: {tests} does not exist", file=sys.stderr)
        return 2
    # A panic's message without a backtrace: the check says what to fix.
    os.environ["RUST_BACKTRACE"] = "0"
    os.chdir(REPO)  # paths in the report relative to the repository
    return int(pytest.main([*PYTEST_ARGS, str(tests.relative_to(REPO))]))


if __name__ == "__main__":
    sys.exit(main())
