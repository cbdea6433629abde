"""The workshop harness: one registry of stages, one runner, the answer checks.

The benchmark, the profiler targets and the tests all go through this package,
so a stage is added in one place: ``workshop.stages.STAGES``. See harness/README.md.
"""

import os
import sys
from pathlib import Path

# One BLAS thread: the stages are single-threaded, and so is the comparison. OpenBLAS
# reads these once, when numpy is imported, so they are pinned here, when the package is
# imported (before any module of it imports numpy); child processes get ``child_env()``.
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
ONE_BLAS_THREAD = dict.fromkeys(BLAS_THREAD_VARS, "1")


def pin_threads() -> list[str]:
    """Set the thread variables to 1, or warn when numpy has already read other values."""
    unpinned = [var for var in BLAS_THREAD_VARS if os.environ.get(var) != "1"]
    if unpinned and "numpy" in sys.modules:
        # Too late to change them: leave them as they are, so the report tells the truth.
        found = ", ".join(f"{var}={os.environ.get(var, 'unset')}" for var in unpinned)
        return [
            f"numpy was imported before the BLAS threads were pinned ({found}): it may use "
            "several threads; `make bench` exports them"
        ]
    for var in unpinned:
        os.environ[var] = "1"
    return []


PIN_WARNINGS = pin_threads()


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, one BLAS thread, and ``extra``."""
    return {**os.environ, **ONE_BLAS_THREAD, **extra}


# Where the harness writes. Every run (`make bench`, `make profiles`, ...) goes to RESULTS,
# ignored by git; REFERENCE holds the committed sets the docs quote and a reader sees without
# running anything, one per CPU (REFERENCE/MACHINE/, workshop.machines): only `make
# reference` writes them. The Makefile's OUT and REFERENCE match.
REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"
REFERENCE = REPO / "reference"
# The flamegraphs and the comparison page live in profiles/: your runs in profiles/runs/
# (ignored by git), each machine's set in profiles/reference/MACHINE/ (only `make reference`).
PROFILES = REPO / "profiles" / "runs"
PROFILES_REFERENCE = REPO / "profiles" / "reference"


def shown(path: Path) -> str:
    """``path`` as a message shows it: relative to the current folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
