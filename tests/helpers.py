"""Helpers shared by the test files (imported as ``helpers``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

import poly_match
from workshop import checks, child_env

REPO = Path(__file__).resolve().parents[1]


def same_bits(a: object, b: object) -> bool:
    """Equal to the last bit (``==`` would call -0.0 and 0.0 equal)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def message(err: pytest.ExceptionInfo[BaseException]) -> str:
    """The message plus PyO3's note ("while processing 'point'") for a rejected argument."""
    return " ".join([str(err.value), *getattr(err.value, "__notes__", [])])


def center_at(x: float, y: float) -> SimpleNamespace:
    """Any object with a ``.center`` will do for stage 1: it only reads that attribute."""
    return SimpleNamespace(center=np.array([x, y], dtype=np.float64))


def packed(values: Any) -> np.ndarray:
    """``values`` as float64 in a field of a packed structured array: byte strides of 9
    (1-D) or (17, 8) (2-D), not multiples of 8, and unaligned: what rust-numpy 0.30's
    views read wrong."""
    values = np.asarray(values, dtype=np.float64)
    dtype = [("v", "f8", values.shape[1:]), ("pad", "i1")]
    record = np.zeros(values.shape[:1], dtype)
    record["v"] = values
    return record["v"]


# --- for multiprocessing: top-level, so a spawned interpreter can import them -------


def area_of(poly: Any) -> float:
    return poly.area()


def identity(obj: Any) -> Any:
    return obj


# --- the answers of a stage with the whole selector in Rust (stages 3 and 4) --------


def assert_identical_to_baseline(module: Any, polygon_args, points, max_dist: float) -> None:
    """``module.main`` on ``module.Polygon(x, y)`` picks what the baseline picks."""
    baseline = [poly_match.Polygon(x, y) for x, y in polygon_args]
    ours = [module.Polygon(x, y) for x, y in polygon_args]
    expected = checks.picks(poly_match.main(baseline, points, max_dist), baseline)
    result = module.main(ours, points, max_dist)
    checks.assert_same_objects(result, points, ours)
    checks.assert_identical_picks(checks.picks(result, ours), expected)


@st.composite
def star_polygons(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random star-shaped polygons with continuous sizes, around a 60 x 60 square."""
    polygons = []
    for _ in range(draw(st.integers(1, 25))):
        k = draw(st.integers(3, 9))
        angles = np.sort(draw(st.lists(st.floats(0, 2 * np.pi), min_size=k, max_size=k)))
        radius = draw(st.floats(0.05, 4.0)) * np.array(
            draw(st.lists(st.floats(0.5, 1.0), min_size=k, max_size=k))
        )
        cx, cy = draw(st.floats(0, 60)), draw(st.floats(0, 60))
        polygons.append((cx + radius * np.cos(angles), cy + radius * np.sin(angles)))
    return polygons


POINTS = st.lists(
    st.tuples(st.floats(-10, 70), st.floats(-10, 70)).map(np.array), min_size=0, max_size=20
)


@st.composite
def lattice_rectangles(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    """Integer rectangles: exact centers (halves), exact areas (ties), and many
    points exactly max_dist away, so the strict `<` and "first wins" both matter."""
    polygons = []
    for _ in range(draw(st.integers(1, 30))):
        x0, y0 = draw(st.integers(0, 30)), draw(st.integers(0, 30))
        w, h = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        polygons.append((np.array([x0, x0 + w, x0 + w, x0]), np.array([y0, y0, y0 + h, y0 + h])))
    return polygons


LATTICE_POINTS = st.lists(
    st.tuples(st.integers(-5, 35), st.integers(-5, 35)).map(lambda p: np.array(p, dtype=float)),
    max_size=20,
)


# --- did another thread run while a call had the GIL released? No clock needed ----------


def helper_runs_during(
    call: Callable[[], object],
    calls: int,
    stop_at_first: bool,
    action: Callable[[], object] = lambda: None,
) -> list[bool]:
    """For each of up to ``calls`` calls of ``call``: did a helper thread, runnable the
    whole time, get the GIL while ``call`` was running? The helper runs ``action`` then.

    With a switch interval of 1000 s and gc off, the main thread gives the GIL up only
    where the code it calls releases it, so the helper runs either inside ``call`` (a
    hit: the GIL was released) or after it (a miss), whatever the machine's speed or
    load. ``stop_at_first``: stop after the first hit.
    """
    state = {"inside": False, "stop": False}
    go, done = threading.Event(), threading.Event()
    records: list[bool] = []

    def helper() -> None:
        while True:
            go.wait()
            go.clear()
            if state["stop"]:
                return
            action()
            records.append(state["inside"])
            done.set()

    interval = sys.getswitchinterval()
    was_enabled = gc.isenabled()
    thread = threading.Thread(target=helper)
    gc.collect()
    gc.disable()
    sys.setswitchinterval(1000)
    try:
        thread.start()
        for _ in range(calls):
            go.set()
            state["inside"] = True
            call()
            state["inside"] = False
            done.wait()
            done.clear()
            if stop_at_first and records[-1]:
                break
    finally:
        sys.setswitchinterval(interval)
        if was_enabled:
            gc.enable()
        state["stop"] = True
        go.set()
        thread.join()
    return records


# --- a child interpreter that cannot eat the machine ----------------------------------------

# A test's child interpreter gets this much address space (RLIMIT_AS): a call that grows
# without end fails with MemoryError there instead of taking the machine's memory.
CHILD_MEMORY = 2 * 2**30


def bounded(code: str, memory: int = CHILD_MEMORY) -> str:
    """``code`` behind a prologue that caps its address space at ``memory`` bytes and lets
    Ctrl-C raise KeyboardInterrupt. A child inherits an ignored SIGINT (a test run in the
    background, under nohup, from some IDEs), and Python then installs no handler for it:
    without the prologue a Ctrl-C test would wait out its timeout there."""
    prologue = f"""\
        import resource as _resource, signal as _signal
        _resource.setrlimit(_resource.RLIMIT_AS, ({memory}, {memory}))
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    """
    return textwrap.dedent(prologue) + textwrap.dedent(code)


def popen(code: str, memory: int = CHILD_MEMORY, **env: str) -> subprocess.Popen[str]:
    """``code`` in a fresh, bounded interpreter (:func:`bounded`), its output piped; tests/
    on its ``sys.path`` (for ``import helpers``)."""
    return subprocess.Popen(
        [sys.executable, "-c", bounded(code, memory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=child_env(PYTHONPATH=str(REPO / "tests"), **env),
    )


def python(code: str, timeout: float = 300, memory: int = CHILD_MEMORY) -> str:
    """Run ``code`` in a fresh, bounded interpreter; its stdout, or a failure with its stderr."""
    proc = popen(code, memory)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err[-3000:]}"
    return out


class Child:
    """A bounded child interpreter (:func:`popen`) killed ``timeout`` seconds after its
    start, whatever it is doing: reading its output can wait no longer than that. A killed
    child ends its output, so the test then fails on what it read."""

    def __init__(self, code: str, timeout: float, memory: int = CHILD_MEMORY) -> None:
        self.proc = popen(code, memory)
        self.watchdog = threading.Timer(timeout, self.proc.kill)
        self.watchdog.start()

    def line(self) -> str:
        """Its next line of output, stripped ("" once it ended)."""
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def finish(self) -> tuple[int, str, str]:
        """Wait for it to end: its exit status, the rest of its output, its stderr."""
        out, err = self.proc.communicate()
        return self.proc.returncode, out, err

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.watchdog.cancel()
        self.proc.kill()
        self.proc.communicate()
