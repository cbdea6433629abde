"""The stages inside real programs: worker processes, Ctrl-C, other threads, interpreter
exit, memory limits, clustered data.

What can hang or crash runs in a fresh interpreter with a generous timeout and a capped
address space (``helpers.bounded``), so a broken stage fails the test instead of stopping
the suite or eating the machine, and Ctrl-C reaches it even where this run ignores SIGINT
(in the background). No test here reads a clock for its verdict: a timeout only bounds a
wait for something that should take a fraction of it.
"""

from __future__ import annotations

import signal
import threading

import helpers
import numpy as np
import poly_match_stage3
import poly_match_stage4
import pytest

from workshop import checks

RUST = ["stage1", "stage2", "stage3", "stage4"]


# --- worker processes: fork, spawn, forkserver ------------------------------------------

POOLS = """
import multiprocessing, sys
import poly_match_stage4

def large(seed):
    # Above grid.LARGE: the GIL released, the points split across a thread pool.
    size = {"n_polygons": 20_000, "n_points": 3_000, "seed": seed}
    return len(poly_match_stage4.main(*poly_match_stage4.generate_example(**size)))

def small(seed):
    return len(poly_match_stage4.main(*poly_match_stage4.generate_example(seed=seed)))

if __name__ == "__main__":
    before = {method: None for method in ("fork", "spawn", "forkserver")}
    for method in before:
        with multiprocessing.get_context(method).Pool(2) as pool:
            before[method] = pool.map(large, [1, 2])
    in_parent = [large(1), large(2)]
    for method, got in before.items():
        with multiprocessing.get_context(method).Pool(2) as pool:
            after = pool.map(large, [1, 2]) + pool.map(small, [1])
        assert got == in_parent == after[:2], (method, got, in_parent, after)
        print(method, "ok")
"""


def test_worker_pools_of_every_start_method_work_before_and_after_a_large_call(tmp_path):
    """A forked child inherits the parent's thread pools but not their threads: stage 4
    makes its pools per process, so a fork after a large call works (it used to wait
    forever). The script is a file, so spawned workers can import its functions."""
    (tmp_path / "pools.py").write_text(POOLS)
    code = f"import runpy; runpy.run_path({str(tmp_path / 'pools.py')!r}, run_name='__main__')"
    out = helpers.python(code, timeout=600)
    assert out.split() == ["fork", "ok", "spawn", "ok", "forkserver", "ok"]


# --- Ctrl-C --------------------------------------------------------------------------

# Calls that run for minutes to hours on any machine, with little memory and little time
# to build. Stages 1-3: one polygon repeated, so the call visits polygons x points pairs
# (10^10 to 10^12). Stage 4 settles a pile of identical centers in one step, so it gets a
# ring instead: 10^5 polygons alternately just inside and just outside every point's
# circle, the outer ones smaller, so that every node of its tree must be opened.
RING = """[
    module.Polygon(cx + k * np.array([-1.0, 1.0, 0.0]), cy + k * np.array([-1.0, -1.0, 2.0]))
    for cx, cy, k in zip(
        np.where(np.arange(100_000) % 2, 10.01, 9.99) * np.cos(np.linspace(0, 6.28, 100_000)),
        np.where(np.arange(100_000) % 2, 10.01, 9.99) * np.sin(np.linspace(0, 6.28, 100_000)),
        np.where(np.arange(100_000) % 2, 1.0, 2.0),
    )
]"""
INTERRUPT = """
import sys
import numpy as np
from workshop import stages

stage = stages.get({name!r})
module = stage.load()
polygon = module.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
polygons = {polygons}
points = {points}
print("calling", flush=True)
try:
    stage.entry_point()(polygons, points, 10.0)
    print("finished")
except KeyboardInterrupt:
    print("interrupted", flush=True)
# The interpreter and the stage still work afterwards.
print(len(stage.entry_point()([polygon] * 3, [np.array([0.5, 0.5])] * 3, 10.0)))
"""

SIZES = {
    # stages 1-2: Python loops over the points, Rust over 10^6 polygons per point, all far
    # from the points (so no list of close polygons grows per point).
    "stage1": ("[polygon] * 1_000_000", "[np.array([1e6, 1e6])] * 20_000"),
    "stage2": ("[polygon] * 1_000_000", "[np.array([1e6, 1e6])] * 100_000"),
    # stage 3: one Rust call over 10^12 pairs, the GIL held; stage 4: 10^5 polygon tests
    # for each of 2 x 10^6 points, the GIL released and the points on every core.
    "stage3": ("[polygon] * 1_000_000", "np.full((1_000_000, 2), 0.5)"),
    "stage4": (RING, "np.zeros((2_000_000, 2))"),
}


@pytest.mark.parametrize("name", RUST)
def test_ctrl_c_interrupts_a_long_call(name: str) -> None:
    """SIGINT (what Ctrl-C sends) one second into a call that would run for minutes: the
    call raises KeyboardInterrupt and the process carries on. A stage that only looked at
    signals when the call returned would run into the 120 s limit here."""
    polygons, points = SIZES[name]
    with helpers.Child(INTERRUPT.format(name=name, polygons=polygons, points=points), 120) as child:
        assert child.line() == "calling"
        # Let the call get going (the polygons and points are read first).
        threading.Event().wait(1.0)
        child.proc.send_signal(signal.SIGINT)
        status, out, err = child.finish()
    assert status == 0, err[-3000:]
    assert out.split() == ["interrupted", "3"]


# Stages 3 and 4 read the points and build the pairs holding the GIL: Ctrl-C is answered
# there too. One polygon, so the search takes next to no time, and a phase that lasts:
# - reading points from an iterator that does not end: where that loop did not let Python
#   handle signals, the call ran on into the memory cap (MemoryError);
# - building 2 x 10^7 pairs, each holding a new row of an (N, 2) array: the SIGINT
#   handler counts the Python objects made so far. Where that loop did not let Python
#   handle signals, the handler ran once the call had returned, every pair made.
PHASES = """
import itertools, signal, sys, time
import numpy as np
import poly_match_{name} as stage

def interrupt(signum, frame):
    global made
    made = sys.getallocatedblocks() - before
    raise KeyboardInterrupt

polygons = [stage.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))]
points = {points}
signal.signal(signal.SIGINT, interrupt)
before = sys.getallocatedblocks()
print("calling", flush=True)
start = time.monotonic()
try:
    stage.main(polygons, points)
    print("finished", time.monotonic() - start)
except KeyboardInterrupt:
    print("interrupted", made, flush=True)
except MemoryError:
    print("memory", time.monotonic() - start)
print(len(stage.main(polygons, [np.array([0.5, 0.5])] * 3)))
"""

PHASE_POINTS = {
    "reading": "itertools.repeat(np.array([0.5, 0.5]))",
    "building": "np.full((20_000_000, 2), 0.5)",
}


@pytest.mark.parametrize("phase", PHASE_POINTS)
@pytest.mark.parametrize("name", ["stage3", "stage4"])
def test_ctrl_c_interrupts_reading_and_building(name: str, phase: str) -> None:
    """SIGINT half a second into a call spent reading the points or building the pairs is
    answered there. A machine that gets through the whole phase in that half second
    cannot tell: the test is skipped there."""
    code = PHASES.format(name=name, points=PHASE_POINTS[phase])
    with helpers.Child(code, 300, memory=4 * 2**30) as child:
        assert child.line() == "calling"
        threading.Event().wait(0.5)
        child.proc.send_signal(signal.SIGINT)
        status, out, err = child.finish()
    assert status == 0, err[-3000:]
    outcome, value, after = out.split()
    if outcome in ("finished", "memory") and float(value) < 0.5:
        pytest.skip(f"the call ended in {float(value):.2f} s here, before the signal")
    assert (outcome, after) == ("interrupted", "3"), out
    # Building, every pair is a new tuple and a new row: 4 x 10^7 objects in all.
    assert int(value) < 20_000_000, f"{value} objects made: the pairs were all built"


# A stage-4 call from a signal handler while another stage-4 call waits for its worker
# threads (the handler runs in the waiting thread, when it looks for Ctrl-C). Each call has
# threads of its own: the inner one does not wait for the outer one's work, and Ctrl-C
# during it stops both.
NESTED = """
import signal
import numpy as np
import poly_match_stage4 as stage

polygon = stage.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
endless = ([polygon] * 1_000_000, np.full((1_000_000, 2), 0.5))  # 10^12 pairs, one cell
large = stage.generate_example(n_polygons=30_000, n_points=3_000)  # the parallel path
expected = [(id(p), id(q)) for p, q in stage.main(*large)]

def on_alarm(signum, frame):
    print("inner", flush=True)
    if {inner_endless}:
        stage.main(*endless)
    got = [(id(p), id(q)) for p, q in stage.main(*large)]
    print("inner done", got == expected, flush=True)

signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.2)
print("calling", flush=True)
try:
    stage.main(*endless)
except KeyboardInterrupt:
    print("interrupted", flush=True)
print(len(stage.main(*large)) == len(expected))
"""


@pytest.mark.parametrize("inner", ["short", "endless"])
def test_a_call_from_a_signal_handler_during_another_call(inner: str) -> None:
    """A large call from a signal handler while another call runs: a short one returns its
    answer (it used to wait for the outer call's work, forever here); Ctrl-C during an
    endless one raises KeyboardInterrupt out of both. Ctrl-C is sent once the inner
    call has begun."""
    with helpers.Child(NESTED.format(inner_endless=inner == "endless"), 180) as child:
        assert child.line() == "calling"
        assert child.line() == "inner"
        if inner == "short":
            assert child.line() == "inner done True"
        else:
            threading.Event().wait(0.5)
        child.proc.send_signal(signal.SIGINT)
        status, out, err = child.finish()
    assert status == 0, err[-3000:]
    assert out.split() == ["interrupted", "True"]


# A daemon thread in an endless stage-4 call while the main thread makes large calls of
# its own, then exits with status 3 (the call is still running, its threads at work).
DAEMON = """
import sys, threading, time
import numpy as np
import poly_match_stage4 as stage

polygon = stage.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
endless = ([polygon] * 1_000_000, np.full((1_000_000, 2), 0.5))
threading.Thread(target=stage.main, args=endless, daemon=True).start()
time.sleep({delay})
large = stage.generate_example(n_polygons=30_000, n_points=3_000)
for _ in range({calls}):
    print(len(stage.main(*large)), flush=True)
sys.exit(3)
"""


@pytest.mark.parametrize(("delay", "calls"), [(0.05, 0), (0.5, 0), (0.2, 3)])
def test_exit_while_a_daemon_thread_is_in_a_call(delay: float, calls: int) -> None:
    """The program exits while a daemon thread is in a stage-4 call: quietly, with its own
    exit status (the call's waiting thread used to take the GIL back after the interpreter
    had gone: a Rust panic). Before that, the main thread's own large calls return:
    they have worker threads of their own, not the daemon call's."""
    with helpers.Child(DAEMON.format(delay=delay, calls=calls), 180) as child:
        status, out, err = child.finish()
    assert (status, err) == (3, ""), err[-3000:]
    assert len(out.split()) == calls and len(set(out.split())) <= 1


# Under a memory limit (ulimit -v), a call that needs more memory than is left raises
# MemoryError, as numpy does; none aborts the process (tests/memory_limits.py sets the
# limits). For stage 4 the first large call also starts its worker threads under the limit.
LIMITS = """
import numpy as np
import poly_match_{name} as stage
from memory_limits import sweep, under

polygon = stage.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
rows = np.random.RandomState(0).rand(300_000, 2)  # all within max_dist of the polygon
many = stage.generate_example(n_polygons=30_000, n_points=3_000)  # stage 4: in parallel
calls = {{"rows": lambda: stage.main([polygon], rows), "many": lambda: stage.main(*many)}}
# Reading 3 x 10^5 points takes 4.8 MB: with 2 MB left, MemoryError, every time.
print(under(2 * 2**20, calls["rows"]))
print(sweep(calls, {{key: len(call()) for key, call in calls.items()}} if {warm} else {{}}))
"""


@pytest.mark.parametrize(
    ("name", "warm"),
    [("stage3", False), ("stage4", False), ("stage4", True)],
    ids=["stage3", "stage4-first-call", "stage4-later-call"],
)
def test_a_memory_limit_raises_memory_error(name: str, warm: bool) -> None:
    """Stages 3 and 4 ask fallibly for the memory whose size the caller decides: under a
    limit they raise MemoryError where they used to abort (SIGABRT), from 1 MB to 160 MB
    above what the process holds (both answers and MemoryErrors seen). ``later-call``:
    the limit comes after a first call without one (for stage 4: its worker threads
    exist)."""
    out = helpers.python(LIMITS.format(name=name, warm=warm), timeout=900, memory=3 * 2**30)
    assert out.split("\n", 1) == ["MemoryError", "[False, True]\n"], out


# --- another thread at work meanwhile ----------------------------------------------------


def test_points_reshaped_by_another_thread_while_the_gil_is_released() -> None:
    """Stage 4 reads an (N, 2) array, releases the GIL, and builds the pairs after: the rows
    it hands back are the ones it read, even when another thread reshaped the array in
    between (it used to index the reshaped array: IndexError, the result lost).

    As in test_stage4's GIL tests, no clock (``helpers.helper_runs_during``): each call
    sees the reshape inside (a hit) or after it (a miss, run again); one hit is needed.
    """
    polygons, points = poly_match_stage4.generate_example(n_polygons=30_000, n_points=6_000)
    array = np.array(points)
    n = len(array)
    expected = checks.picks(poly_match_stage4.main(polygons, array.copy()), polygons)
    results = []

    def call() -> None:
        array.shape = (n, 2)
        results.append(poly_match_stage4.main(polygons, array))

    def reshape() -> None:
        array.shape = (n // 2, 4)

    records = helpers.helper_runs_during(call, calls=20, stop_at_first=True, action=reshape)
    array.shape = (n, 2)
    for result in results:
        assert checks.picks(result, polygons) == expected
    assert any(records), "the other thread never ran while main had the GIL released"


# --- clustered data --------------------------------------------------------------------


def clusters(module, far: list[tuple[float, float]], shares: list[float], size: int = 24_000):
    """Canonical-density workloads of ``size`` polygons in all (a tenth as many points),
    one per shift in ``far``, with ``shares`` of the polygons."""
    polygons, points = [], []
    for k, ((dx, dy), share) in enumerate(zip(far, shares, strict=True)):
        p, q = module.generate_example(
            n_polygons=max(1, int(size * share)), n_points=int(size * share / 10), seed=k
        )
        polygons += [module.Polygon(poly.x + dx, poly.y + dy) for poly in p]
        points += [point + np.array([dx, dy]) for point in q]
    return polygons, points


LAYOUTS = {
    "two clusters 1e9 apart": ([(0.0, 0.0), (1e9, 0.0)], [0.5, 0.5]),
    "3% far away": ([(0.0, 0.0), (-5e8, 7e8)], [0.97, 0.03]),
    "four corners of a 1e7 square": (
        [(0.0, 0.0), (1e7, 0.0), (0.0, 1e7), (1e7, 1e7)],
        [0.25, 0.25, 0.25, 0.25],
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_clustered_layouts_agree_with_stage_3s_plain_loop(layout: str) -> None:
    """Above grid.LARGE (the parallel path), clusters far apart: the grid keeps only the
    occupied cells there, and must still pick what the plain loop picks."""
    far, shares = LAYOUTS[layout]
    polygons, points = clusters(poly_match_stage4, far, shares)
    plain, _ = clusters(poly_match_stage3, far, shares)
    result = poly_match_stage4.main(polygons, points)
    checks.assert_same_objects(result, points, polygons)
    assert checks.picks(result, polygons) == checks.picks(
        poly_match_stage3.main(plain, points), plain
    )
