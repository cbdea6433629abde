"""A new attendee's first two commands, timed: a fresh clone's ``make`` and ``make test``.

    python -m workshop.setup_time [--out results]      # what `make bench-setup` runs

1. Clone this repository's committed HEAD (``git clone``; uncommitted changes are not
   in it) into a temporary folder, so nothing is built yet: no .venv, no target/.
2. Run ``make``, then ``make test`` there, each timed by the wall clock, in an
   environment without this checkout's .venv, PYO3_* or make variables. Their output
   is shown as it comes and kept in ``build/setup-make.log`` and ``build/setup-test.log``.
3. Count cargo's "Compiling CRATE" lines in both logs for the crates every stage
   shares: each should compile once (one Cargo profile, one environment, one feature
   set for maturin, ``cargo bench`` and ``cargo test``). The abi3 wheel's build is
   counted apart: the stable ABI is another build of PyO3 and numpy, on purpose. So are
   stage 1's debug and release builds (``make bench-debug``'s, which ``make`` compiles):
   other Cargo profiles, on purpose.

What it mostly does not measure: downloads. The crates (cargo's registry) and the Python
wheels (pip's cache or find-links) this machine already has are used as they are; on a
new machine, add the time to download them. Run it on a quiet machine: the report
records the load average before and after.

Writes ``setup.json`` and ``setup.md`` into ``--out`` and removes the clone (``--keep``
leaves it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from workshop import REPO, bench, report

LOGS = REPO / "build"  # not tracked: the logs are evidence, not reference data
# The dependencies the stages share, whose one compile this checks.
SHARED = ("pyo3", "pyo3-ffi", "pyo3-macros", "pyo3-macros-backend", "numpy", "ndarray", "rayon")
COMPILING = re.compile(r"^\s*Compiling (\S+) v\d", re.M)
# The wheel's build in the log, from the line workshop.wheel prints before it to its time.
WHEEL_BUILD = re.compile(r"^== maturin build .*?^   \(\d+ s\)$", re.M | re.S)
# Stage 1 built with the dev or release profile, from the line workshop.bench_debug prints
# before it to maturin's line about the wheel.
DEBUG_BUILDS = re.compile(
    r"^building \S+ \((?:dev|release)\) -> .*?^\S* ?Built wheel[^\n]*$", re.M | re.S
)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours, if CARGO_TERM_COLOR=always is set
# What the clone must not inherit from a `make` run here.
DROP = ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "PYTHONPATH",
        "CARGO_TARGET_DIR", "RUSTC_WORKSPACE_WRAPPER")  # fmt: skip


def clean_env() -> dict[str, str]:
    """This environment without what a `make` here exported: a new terminal's."""
    env = {k: v for k, v in os.environ.items() if k not in DROP and not k.startswith("PYO3_")}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, int]:
    """Run ``command``, its output shown and written to ``log``: (seconds, exit status)."""
    print(f"\n== {' '.join(command)} (in {cwd}), output also in {log}", flush=True)
    start = time.monotonic()
    with log.open("wb") as out:
        child = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert child.stdout is not None
        while chunk := os.read(child.stdout.fileno(), 65536):
            out.write(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        status = child.wait()
    seconds = time.monotonic() - start
    print(f"== {' '.join(command)}: exit status {status} after {report.fmt_duration(seconds)}")
    return seconds, status


def measure(out: Path, keep: bool) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    git = ["git", "rev-parse", "--short", "HEAD"]
    head = subprocess.run(git, cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    env = {**bench.environment(), "git": head}  # what was cloned, whatever is uncommitted here
    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="poly-match-setup-"))
    clone = folder / "poly-match"
    try:
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        steps = {}
        for name, command in (("make", ["make"]), ("test", ["make", "test"])):
            seconds, status = timed(command, clone, clean_env(), LOGS / f"setup-{name}.log")
            steps[name] = {"command": " ".join(command), "seconds": seconds, "status": status}
            if status != 0:
                break
    finally:
        if keep:
            print(f"the clone is kept in {clone}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    logs = "".join((LOGS / f"setup-{name}.log").read_text(errors="replace") for name in steps)
    logs = ANSI.sub("", logs)
    compiled = Counter(COMPILING.findall(DEBUG_BUILDS.sub("", WHEEL_BUILD.sub("", logs))))
    for_wheel = Counter(COMPILING.findall("".join(WHEEL_BUILD.findall(logs))))
    for_debug = Counter(COMPILING.findall("".join(DEBUG_BUILDS.findall(logs))))
    return {
        "commit": head,
        "steps": steps,
        "compiled": {crate: compiled.get(crate, 0) for crate in SHARED},
        "compiled_abi3_wheel": {crate: for_wheel.get(crate, 0) for crate in SHARED},
        "compiled_debug_builds": {crate: for_debug.get(crate, 0) for crate in SHARED},
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "env": env,
        "command": "python -m workshop.setup_time " + " ".join(sys.argv[1:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench.cli_parser("workshop.setup_time", __doc__)
    parser.add_argument("--keep", action="store_true", help="keep the clone (prints where)")
    args = parser.parse_args(argv)
    result = measure(args.out, args.keep)
    paths = report.write_report(result, args.out, "setup", report.setup_markdown)
    print(report.setup_markdown(result))
    print("wrote " + ", ".join(str(p) for p in paths))
    failed = [s["command"] for s in result["steps"].values() if s["status"] != 0]
    twice = [crate for crate, n in result["compiled"].items() if n > 1]
    errors = [f"`{c}` failed" for c in failed]
    errors += [f"{crate} compiled more than once (see the logs)" for crate in twice]
    return bench.exit_status(errors)


if __name__ == "__main__":
    sys.exit(main())
