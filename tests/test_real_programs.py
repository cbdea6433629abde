"""The stages inside real programs: worker processes, Ctrl-C, other threads, clustered data.

What can hang or crash runs in a fresh interpreter with a generous timeout, so a broken
stage fails the test instead of stopping the suite. No test here reads a clock for its
verdict: a timeout only bounds a wait for something that should take a fraction of it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import helpers
import numpy as np
import poly_match_stage3
import poly_match_stage4
import pytest

from workshop import checks, child_env

REPO = Path(__file__).resolve().parents[1]
RUST = ["stage1", "stage2", "stage3", "stage4"]


def python(code: str, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter; its stdout, or a failure with its stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=child_env(),
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


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
    """A forked child inherits the parent's thread pool but not its threads: stage 4 makes
    a pool per process, so a fork after a large call works (it used to wait forever)."""
    script = tmp_path / "pools.py"
    script.write_text(POOLS)
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=child_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["fork", "ok", "spawn", "ok", "forkserver", "ok"]


# --- Ctrl-C --------------------------------------------------------------------------

# One polygon repeated: the call visits polygons x points pairs (10^10 to 10^12 of them:
# minutes to hours on any machine), with next to no memory and no time to build.
INTERRUPT = """
import sys
import numpy as np
from workshop import stages

stage = stages.get({name!r})
module = stage.load()
polygon = module.Polygon(np.array([0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0]))
polygons = [polygon] * {polygons}
points = {points}
print("calling", flush=True)
try:
    stage.entry_point()(polygons, points, 10.0)
    print("finished")
except KeyboardInterrupt:
    print("interrupted", flush=True)
# The interpreter and the stage still work afterwards.
print(len(stage.entry_point()(polygons[:3], points[:3], 10.0)))
"""

SIZES = {
    # stages 1-2: Python loops over the points, Rust over 10^6 polygons per point.
    "stage1": (1_000_000, "[np.array([0.5, 0.5])] * 20_000"),
    "stage2": (1_000_000, "[np.array([0.5, 0.5])] * 100_000"),
    # stage 3: one Rust call over 10^12 pairs, the GIL held; stage 4: the same pile of
    # polygons in one cell, the GIL released and the points on every core.
    "stage3": (1_000_000, "np.full((1_000_000, 2), 0.5)"),
    "stage4": (1_000_000, "np.full((1_000_000, 2), 0.5)"),
}


@pytest.mark.parametrize("name", RUST)
def test_ctrl_c_interrupts_a_long_call(name: str) -> None:
    """SIGINT (what Ctrl-C sends) one second into a call that would run for minutes: the
    call raises KeyboardInterrupt and the process carries on. A stage that only looked at
    signals when the call returned would run into the 120 s limit here."""
    polygons, points = SIZES[name]
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPT.format(name=name, polygons=polygons, points=points)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=child_env(),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "calling"
        # Let the call get going (the polygons and points are read first).
        threading.Event().wait(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err[-3000:]
    assert out.split() == ["interrupted", "3"]


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
