"""The profiles hold the walkthrough to its claims (`make profiles`, `make compare`).

Every stage with a claim is recorded once, for two seconds, with py-spy --native, through
the same code as `make profile-STAGE`, and the claim is checked on the stacks by the
functions in workshop.analyse that the compare page shows. samply records one subject,
stage 4 on the large workload, where its rayon workers must show. The first tests check
that machinery on hand-written stacks and a hand-written samply profile, so each claim
is seen to fail too.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest

import poly_match
from workshop import analyse, compare, draw, machines, numbers, profile, recorders, stacks
from workshop import run as runner
from workshop.stacks import Profile

SECONDS = 2.0
IN_CI = bool(os.environ.get("CI"))


def frame(func, text: str = "") -> str:
    """py-spy's frame for ``func`` running its first line holding ``text`` (its ``def``
    line if none is given): ``run_pipeline (poly_match/__init__.py:107)``, the line
    number read from the source, so editing the baseline does not break these tests."""
    lines, first = inspect.getsourcelines(func)
    number = next(first + i for i, line in enumerate(lines) if text in line)
    path = Path(inspect.getsourcefile(func))
    return f"{func.__name__} ({path.parent.name}/{path.name}:{number})"


ENTRY = frame(runner.call_stage, "entry(")
MAIN = frame(poly_match.main, "run_pipeline(")
RUN_PIPELINE = frame(poly_match.run_pipeline, "find_close(")
FIND = frame(poly_match.find_close_polygons, "np.linalg.norm")
SELECT = frame(poly_match.select_best_polygon, "poly.area()")


def fake(name: str, stacks_: dict[str, int], **meta) -> Profile:
    """A profile from ``"frame;frame": samples``, under the runner's timed call."""
    return Profile(
        name,
        {(ENTRY, *stack.split(";")): n for stack, n in stacks_.items()},
        {"entry_frame": ENTRY, "subject": name, **meta},
    )


def skip_or_fail(why: str) -> None:
    """CI sets up every recorder and the browser (.ci/run): there a missing one fails."""
    if IN_CI:
        pytest.fail(why)
    pytest.skip(why)


# --- the machinery, on hand-written stacks ---------------------------------------


def test_clean_frame_makes_rust_and_addresses_readable():
    legacy = (
        "_$LT$pyo3..instance..Bound$LT$pyo3..types..any..PyAny$GT$$u20$as$u20$"
        "pyo3..types..any..PyAnyMethods$GT$::getattr::hefaaa9f558128e4b (any.rs:864)"
    )
    assert stacks.clean_frame(legacy) == (
        "<pyo3::instance::Bound<pyo3::types::any::PyAny> as "
        "pyo3::types::any::PyAnyMethods>::getattr (any.rs:864)"
    )
    assert stacks.clean_frame("0x7f654904524a (libc.so.6)") == "[libc.so.6]"
    assert stacks.clean_frame(FIND) == FIND


def test_the_timed_calls_are_found_by_the_runners_marker_frame():
    assert profile.entry_frame() == ENTRY


def test_clean_stacks_merges_runs_that_differ_only_in_addresses():
    raw = stacks.parse_folded(
        [
            "0x7f01 (libc.so.6);main (x.py:1);0x7faa ([vdso]) 2",
            "0x7f02 (libc.so.6);main (x.py:1);0x7fbb ([vdso]) 3",
        ]
    )
    assert stacks.clean_stacks(raw) == Counter({("main (x.py:1)", "[vdso]"): 5})


def test_a_sample_belongs_to_its_outermost_named_frame():
    norm = [FIND, "norm (numpy/linalg/_linalg.py:1)"]
    assert analyse.classify([*norm, "array_dot (numpy/x.so)", "malloc (libc.so.6)"]) == "norm"
    getattr_ = "<pyo3::instance::Bound<T> as pyo3::types::any::PyAnyMethods>::getattr (any.rs:1)"
    assert analyse.classify([getattr_, "pyo3::types::string::PyString::new (s.rs:1)"]) == (
        "getattr"
    )
    own = "stage4_grid::grid::select (grid.rs:35)"
    assert analyse.classify([own, "<core::slice::iter::Iter<T>>::next (iter.rs:1)"]) == "rust"


def test_each_claim_can_fail():
    loop = f"{MAIN};{RUN_PIPELINE}"
    find = f"{loop};{FIND}"
    weak_norm = fake(
        "stage0", {f"{find};norm (numpy/linalg/_linalg.py:1)": 40, f"{find};array_subtract (n)": 60}
    )
    assert not analyse.claim_stage0(weak_norm).holds

    rust = "stage1_getattr::find_close_polygons (lib.rs:70)"
    getattr_ = "<pyo3::instance::Bound<T> as pyo3::types::any::PyAnyMethods>::getattr (any.rs:1)"
    math_heavy = fake(
        "stage1",
        {f"{loop};{rust};{getattr_}": 10, f"{loop};{rust};core::f64::math::sqrt (f64.rs)": 90},
    )
    assert not analyse.claim_stage1(math_heavy).holds

    with_getattr = fake(
        "stage2", {f"{loop};stage2_polygon::find_close_polygons (lib.rs:1);{getattr_}": 30}
    )
    assert not analyse.claim_stage2(with_getattr).holds
    too_few = fake("stage2", {f"{loop};stage2_polygon::find_close_polygons (lib.rs:1)": 5})
    assert not analyse.claim_stage2(too_few).holds

    for stage, crate in [("stage3", "stage3_selector"), ("stage4", "stage4_grid")]:
        python_select = fake(stage, {f"{crate}::main (lib.rs:1)": 60, f"{MAIN};{SELECT}": 40})
        assert not analyse.claim_one_call(python_select).holds
        assert not analyse.CLAIMS[stage](python_select).holds
        all_rust = fake(stage, {f"{crate}::main (lib.rs:1);{crate}::select (lib.rs:2)": 100})
        assert analyse.claim_one_call(all_rust).holds

    # Stage 4: most of the Rust in the search, the cells and the trees, not in reading.
    main4 = "stage4_grid::main (lib.rs:1)"
    cells = f"{main4};stage4_grid::grid::Grid::pick (grid.rs:2)"
    tree = f"{main4};stage4_grid::kdtree::Best<_>::walk (kdtree.rs:3)"
    reading = f"{main4};common::polygon (lib.rs:4)"
    assert analyse.claim_stage4(fake("stage4", {cells: 40, tree: 20, reading: 40})).holds
    assert not analyse.claim_stage4(fake("stage4", {cells: 20, tree: 10, reading: 70})).holds


def test_stage5_claim_counts_the_search_against_the_whole_call():
    # Stage 5: nearly all of the call is the search (centers and areas, then stage 4's
    # grid), not reading the columns or writing the index arrays.
    main5 = "stage5_columns::main (lib.rs:1)"
    sites = f"{main5};stage5_columns::Polygons::sites (lib.rs:2);common::columns::area (c.rs:3)"
    grid = f"{main5};stage4_grid::grid::select (grid.rs:4);stage4_grid::grid::Grid::pick (g.rs:5)"
    reading = f"{main5};common::columns::vertices (c.rs:6)"
    assert analyse.claim_stage5(fake("stage5", {sites: 40, grid: 45, reading: 15})).holds
    assert not analyse.claim_stage5(fake("stage5", {sites: 30, grid: 30, reading: 40})).holds
    # Python called back from inside the Rust call, or too few samples: no claim.
    called_back = f"{main5};stage5_columns::Polygons::sites (lib.rs:2);{SELECT}"
    assert not analyse.claim_stage5(fake("stage5", {grid: 90, called_back: 10})).holds
    assert not analyse.claim_stage5(fake("stage5", {sites: 5, grid: 5})).holds


def samply_fake(workers: dict[str, int]) -> Profile:
    """A samply profile of stage4_large: the main thread, and ``workers`` as stacks."""
    main = {("[main thread]", "stage4_grid::main (lib.rs:1)"): 50}
    more = {("[thread 2]", *stack.split(";")): n for stack, n in workers.items()}
    return Profile("stage4_large", main | more, {"recorder": "samply", "subject": "stage4_large"})


def test_the_workers_claim_can_fail():
    grid = "rayon::iter::plumbing::bridge (mod.rs:1);stage4_grid::grid::Grid::select (grid.rs:9)"
    assert analyse.claim_workers(samply_fake({grid: 30, "rayon_core::sleep (s.rs:1)": 10})).holds
    assert not analyse.claim_workers(
        samply_fake({grid: 10, "rayon_core::sleep (s.rs:1)": 30})
    ).holds
    assert not analyse.claim_workers(samply_fake({grid: 5})).holds  # too few to say
    assert not analyse.claim_workers(samply_fake({})).holds  # no worker seen


def test_the_reading_view_merges_python_lines_and_keeps_ours():
    timed = {
        ("main (x.py:3)", "norm (numpy/linalg/_linalg.py:2791)"): 2,
        ("main (x.py:4)", "norm (numpy/linalg/_linalg.py:2805)"): 3,
        ("stage3_selector::select (lib.rs:40)",): 4,
        ("stage3_selector::select (lib.rs:41)",): 1,
    }
    assert stacks.reading_view(timed) == {
        ("main (x.py)", "norm (numpy/linalg/_linalg.py)"): 5,
        ("stage3_selector::select (lib.rs:40)",): 4,
        ("stage3_selector::select (lib.rs:41)",): 1,
    }


def test_diffs_compare_time_per_call_not_sample_counts():
    # The same select_best_polygon time per call, with twice the samples in the faster
    # stage: normalising to equal totals would paint it red; per call it is unchanged.
    before = fake("stage2_alloc", {f"{MAIN};{SELECT}": 100, f"{MAIN};find (x.py:1)": 300})
    after = fake("stage2", {f"{MAIN};{SELECT}": 200, f"{MAIN};find (x.py:1)": 200})
    lines = {}
    for prof, seconds in ((before, 4e-3), (after, 2e-3)):
        for line in draw.diff_view(prof, seconds, "main").splitlines():
            stack, _, n = line.rpartition(" ")
            lines.setdefault(stack, []).append(int(n))
    select = next(v for k, v in lines.items() if "select_best_polygon" in k)
    find = next(v for k, v in lines.items() if k.endswith("find (x.py)"))
    assert select[0] == select[1] == 1_000_000  # 1 ms per call in both
    assert find == [3_000_000, 1_000_000]


def test_a_refused_ptrace_gives_the_hint_not_a_traceback(tmp_path, monkeypatch, capsys):
    refusing = tmp_path / "py-spy"
    refusing.write_text(
        '#!/bin/sh\necho "Permission Denied: Try running again with elevated permissions" >&2\n'
        "exit 1\n"
    )
    refusing.chmod(0o755)
    monkeypatch.setattr(recorders, "tool", lambda name: str(refusing))
    monkeypatch.setattr(recorders.sys, "platform", "linux")
    assert profile.main(["stage0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--cap-add SYS_PTRACE" in err and "sudo" in err and "macOS" in err
    assert "Traceback" not in err


def test_where_the_kernel_refuses_perf_events_samply_says_how_in_one_line(
    tmp_path, monkeypatch, capsys
):
    paranoid = tmp_path / "perf_event_paranoid"
    paranoid.write_text("2\n")
    monkeypatch.setattr(recorders, "PARANOID", paranoid)
    monkeypatch.setattr(recorders.sys, "platform", "linux")
    args = ["--profiler", "samply", "--seconds", "0.1", "--out", str(tmp_path)]
    assert profile.main(["--all", "--skip-if-refused", *args]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("profiles skipped:") and "perf_event_paranoid=1" in line
    assert profile.main(["stage0", *args]) == 2
    assert "sudo sysctl kernel.perf_event_paranoid=1" in capsys.readouterr().err
    paranoid.write_text("1\n")
    assert recorders.samply_refused(paranoid) is None


# --- samply's Gecko profile, by hand ----------------------------------------------------


def gecko() -> tuple[dict, dict]:
    """A two-thread profile as samply writes it (processed format), and its sidecar."""
    strings = ["0x10", "0x20", "0x30", "timed calls"]

    def thread(main: bool, stack_frames: list[int], times: list[float], cpu: list[int]):
        return {
            "name": "python",
            "isMainThread": main,
            "stringArray": strings,
            "frameTable": {"address": [0x10, 0x20, 0x30], "func": [0, 1, 2], "length": 3},
            "funcTable": {"name": [0, 1, 2], "resource": [0, 0, 0], "length": 3},
            "resourceTable": {"lib": [0], "length": 1},
            # stacks: 0 = [f0], 1 = [f0, f1], 2 = [f0, f2]
            "stackTable": {"frame": [0, 1, 2], "prefix": [None, 0, 0], "length": 3},
            "samples": {"stack": stack_frames, "time": times, "threadCPUDelta": cpu},
            "markers": {
                "name": [3] if main else [],
                "startTime": [10.0] if main else [],
                "endTime": [20.0] if main else [],
                "data": [None] if main else [],
            },
        }

    profile_ = {
        "libs": [{"debugName": "_core.so", "name": "_core.so", "breakpadId": "ABC0"}],
        "threads": [
            thread(True, [1, 1, 1, 0], [5.0, 12.0, 15.0, 16.0], [1, 1, 1, 1]),
            thread(False, [2, 2, 2], [11.0, 13.0, 14.0], [1, 1, 0]),
        ],
    }
    sidecar = {
        "string_table": ["UNKNOWN", "outer", "main", "select", "lib.rs", "sym"],
        "data": [
            {
                "debug_name": "_core.so",
                "debug_id": "ABC0",
                "code_id": "",
                "symbol_table": [
                    {"rva": 0x10, "symbol": 2},
                    # select inlined into sym: innermost first, as samply writes it
                    {
                        "rva": 0x20,
                        "symbol": 5,
                        "frames": [
                            {"function": 3, "file": 4, "line": 7},
                            {"function": 5, "file": 4, "line": 3},
                        ],
                    },
                ],
                "known_addresses": [[0x10, 0], [0x20, 1]],
            }
        ],
    }
    return profile_, sidecar


def test_a_samply_profile_becomes_stacks_per_thread_inside_the_timed_calls():
    profile_, sidecar = gecko()
    got, extra = recorders.gecko_stacks(profile_, recorders.Symbols(sidecar))
    assert got == Counter(
        {
            # the main thread: only the samples between 10 and 20 ms (the marker)
            ("[main thread]", "main", "sym (lib.rs:3)", "select (lib.rs:7)"): 2,
            ("[main thread]", "main"): 1,
            # the worker: its sample with no CPU time since the last one is left out;
            # an address the sidecar does not know is named by its library
            ("[thread 2]", "main", "[_core.so]"): 2,
        }
    )
    assert extra == {"threads": {"[main thread]": 3, "[thread 2]": 2}, "window": True}


# --- the real stacks ---------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Record a subject once per test session: ``recorded(name, recorder) -> Profile``."""
    out = tmp_path_factory.mktemp("profiles")
    cache: dict[tuple[str, str], Profile] = {}

    def get(name: str, recorder: str = "py-spy", again: bool = False) -> Profile:
        key = (name, recorder)
        if again:
            cache.pop(key, None)
        if key not in cache:
            if recorder == "samply" and stacks.tool("samply") is None:
                skip_or_fail("samply is not installed: `make samply` installs it")
            try:
                # On a busy machine the recorder may get few samples: record again,
                # longer, rather than judge a share on a handful of them.
                for seconds in (SECONDS, 3 * SECONDS):
                    where = profile.folder(out, recorder)
                    cache[key] = profile.record(
                        profile.subject(name), where, seconds=seconds, recorder=recorder
                    )
                    if cache[key].total > 0.5 * SECONDS * profile.RATE:
                        break
            except recorders.Refused as err:
                skip_or_fail(f"{recorder} may not record here:\n{err}")
        return cache[key]

    get.out = out  # type: ignore[attr-defined]
    return get


# A claim that holds on some CPUs only is not asked of this one: the reference sets say
# where it holds, and the walkthrough quotes that (the tests below).
@pytest.mark.parametrize("key", [k for k in analyse.CLAIMS if k not in analyse.VARIES])
def test_the_walkthrough_claim_holds(recorded, key):
    prof = recorded(analyse.subject_of(key))
    claim = analyse.CLAIMS[key](prof)
    if not claim.holds:
        # Other work on the cores shifts a share by some points: a claim near its line
        # is recorded once more before it counts as broken (a broken one fails twice).
        prof = recorded(analyse.subject_of(key), again=True)
        claim = analyse.CLAIMS[key](prof)
    assert prof.total >= analyse.MIN_SAMPLES, "py-spy lost most samples, twice"
    assert claim.holds, f"{claim.statement}\n{claim.evidence}"


# --- the reference sets: every claim on every machine's committed profiles -----------------

SETS = machines.sets()
ON_SETS = analyse.claims_on_sets([(s.name, s.cpu, s.profiles) for s in SETS])


def test_every_claim_is_checked_on_every_reference_set():
    expected = {*analyse.CLAIMS, *(f"samply.{k}" for k in analyse.SAMPLY_CLAIMS)}
    for refset in SETS:
        checked = {key for key, by_set in ON_SETS.items() if refset.name in by_set}
        # A stage added or changed since a set was measured may be missing from it.
        newer = {k for k in expected if machines.stale_for(refset, numbers.key_stages(k))}
        missing = expected - checked - newer
        assert not missing, f"{refset.name}: profiles missing for {missing}"


@pytest.mark.parametrize(
    ("machine", "key"),
    [
        (s.name, k)
        for s in SETS
        for k in ON_SETS
        if k not in analyse.VARIES and s.name in ON_SETS[k]
    ],
    ids=lambda v: v,
)
def test_the_walkthrough_claim_holds_on_each_reference_set(machine, key):
    claim = ON_SETS[key][machine]
    assert claim.holds, (
        f"on {machine}: {claim.statement}\n{claim.evidence}\n(a claim that holds on some CPUs "
        "only goes in analyse.VARIES, and the walkthrough says where: claim.KEY.on)"
    )


@pytest.mark.parametrize("key", sorted(analyse.VARIES))
def test_a_claim_that_varies_says_on_which_machines(key):
    # Among the sets measured at the stage's current code, as the docs' numbers are.
    # Where it holds on none of them, the docs do not make it at all.
    nowhere = numbers.values()[f"claim.{key}.on"] == "no machine measured"
    for doc, suffix in (("workshop.md", "on"), ("workshop.ko.md", "on_ko")):
        text = (Path(__file__).parents[1] / "docs" / doc).read_text()
        said = f"<!--n:claim.{key}.{suffix}-->" in text
        assert said != nowhere, (
            f"docs/{doc}: {key} holds on no reference set measured at today's code: drop it"
            if nowhere
            else f"docs/{doc} makes the claim {key}, which holds on some machines only: "
            f"say where with <!--n:claim.{key}.{suffix}-->"
        )


def test_rust_frames_are_named_with_file_and_line(recorded):
    frames = {f for stack in recorded("stage1").stacks for f in stack}
    named = [
        f for f in frames if re.match(r"^stage1_getattr::find_close_polygons \(lib\.rs:\d+\)$", f)
    ]
    assert named, "no readable stage1_getattr::find_close_polygons (lib.rs:N) frame"
    assert not [f for f in frames if "$LT$" in f or re.search(r"::h[0-9a-f]{16}\b", f)]


def test_samply_sees_the_rayon_workers_do_the_search(recorded):
    prof = recorded("stage4_large", "samply")
    assert prof.meta["shown"] == "the timed calls", "the runner's marker was not found"
    claim = analyse.claim_workers(prof)
    assert claim.holds, f"{claim.statement}\n{claim.evidence}"
    frames = {f for stack in prof.stacks for f in stack}
    assert [f for f in frames if re.match(r"^stage4_grid::grid::\S.* \(grid\.rs:\d+\)$", f)]
    assert not [f for f in frames if re.search(r"::h[0-9a-f]{16}\b|^_ZN|^_R", f)]


def test_the_compare_page_works_offline(recorded):
    out: Path = recorded.out
    for name in ("stage0", "stage1"):
        recorded(name)
    if stacks.tool("inferno-flamegraph") is None:
        pytest.fail("inferno-flamegraph is not in .venv/bin: run `make compare` to install it")
    index = compare.build(out, out / "no-reference", bench=out / "no-bench.json")
    page = index.read_text()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page), "the page loads from the web"
    # The claims on every reference set, one column per machine.
    assert "On every reference set" in page
    assert all(f"<small>{s.name}/</small>" in page for s in SETS)
    for svg in ("stage0.svg", "stage1.svg", "diff-stage0-stage1.svg"):
        assert f'src="{svg}"' in page
        assert (out / svg).read_text().startswith("<?xml")
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', page).group(1))
    assert data["steps"][0] == "stage0|stage1" and "stage0|stage1" in data["diffs"]
    assert data["graphs"]["stage0"]["seconds"] > data["graphs"]["stage1"]["seconds"] > 0
    stage0 = (out / "stage0.svg").read_text()
    assert "/call" in stage0
    # The root box is the frame the walkthrough names; norm is one box per caller, not
    # one per line it was sampled on.
    assert "call_stage (workshop/run.py)" in stage0
    drawn = len(re.findall(r"<title>norm \(numpy/linalg/_linalg\.py\) \(", stage0))
    by_line = {s[: s.index(f) + 1] for s in recorded("stage0").stacks for f in s if "norm (" in f}
    assert 1 <= drawn < len(by_line)

    # One palette: a frame both stages share has the same colour in both graphs.
    shared = stacks.by_function(RUN_PIPELINE)

    def fill(svg: str) -> str:
        match = re.search(re.escape(shared) + r"[^<]*</title><rect[^>]*fill=\"(rgb\([^)]*\))", svg)
        assert match, f"{shared} not drawn"
        return match.group(1)

    assert fill(stage0) == fill((out / "stage1.svg").read_text())
