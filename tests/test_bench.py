"""The benchmark's plumbing: its JSON, its refusal to time a wrong stage, its reports.

No timing assertions: the numbers are whatever this machine gives; the tests check
that they are consistent (quartiles ordered, speed-ups are ratios of the medians).
"""

from __future__ import annotations

import json
import math
import textwrap

import pytest

from workshop import bench, bench_debug, report, run, scaling, stages

STATUSES = {bench.OK, bench.NOT_BUILT, bench.WRONG, bench.NOT_MEASURED}


def _register(monkeypatch, tmp_path, name, source, **stage_kwargs):
    """A stage backed by a throw-away module ``source``, added to the registry."""
    module = f"poly_match_test_{name}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    stage = stages.Stage(name, module, f"test stage {name}", **stage_kwargs)
    monkeypatch.setattr(stages, "STAGES", [*stages.STAGES, stage])
    monkeypatch.setitem(stages.BY_NAME, name, stage)
    return stage


def _check_timed_row(row, baseline_median):
    assert row["median_s"] > 0
    assert row["q1_s"] <= row["median_s"] <= row["q3_s"]
    assert math.isclose(row["iqr_s"], row["q3_s"] - row["q1_s"])
    assert row["speedup"] == pytest.approx(baseline_median / row["median_s"], rel=1e-12)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One bench run over every stage, with a tiny budget, into a temporary folder."""
    out = tmp_path_factory.mktemp("bench")
    result = bench.bench(budget=0.5, out=out, quiet=True, floor_dir=out / "no-criterion")
    return result, out


def test_bench_json_lists_every_stage_with_a_status(smoke):
    result, out = smoke
    assert json.loads((out / "bench.json").read_text()) == result
    names = [row["name"] for row in result["stages"]]
    assert names == [stage.name for stage in stages.STAGES] + [bench.FLOOR_NAME]
    for stage, row in zip(stages.STAGES, result["stages"], strict=False):
        assert row["status"] in STATUSES
        if run.not_built(stage) is not None:
            assert row["status"] == bench.NOT_BUILT
        else:
            assert row["status"] in (bench.OK, bench.WRONG), row["detail"]
    floor = result["stages"][-1]
    assert floor["status"] == bench.NOT_MEASURED and floor["median_s"] is None


def test_bench_numbers_are_consistent(smoke):
    result, _ = smoke
    rows = {row["name"]: row for row in result["stages"]}
    baseline = rows["stage0"]
    assert baseline["status"] == bench.OK
    assert baseline["speedup"] == 1.0
    rounds = result["method"]["rounds"]
    assert rounds >= 5
    for row in result["stages"]:
        if row["status"] != bench.OK:
            assert row["median_s"] is None and row["samples"] == 0, row["name"]
            continue
        _check_timed_row(row, baseline["median_s"])
        assert row["samples"] == rounds == len(row["sample_seconds"])
        assert row["calls_per_sample"] >= 1
        assert row["pairs"] == baseline["pairs"]


def test_bench_records_the_environment(smoke):
    env = smoke[0]["env"]
    for key in ("cpu", "cores", "python", "numpy", "blas", "rustc", "git", "date"):
        assert env[key], key
    # Pinned, or (numpy imported first, as under a bare `pytest`) the report says it is not.
    assert env["env"]["OPENBLAS_NUM_THREADS"] == "1" or env["warnings"]
    assert "OPENBLAS_CORETYPE" in env["env"]


def test_bench_writes_the_table_and_the_chart(smoke):
    result, out = smoke
    table = (out / "bench.md").read_text()
    for row in result["stages"]:
        assert f"| `{row['name']}` |" in table
    assert "OPENBLAS_NUM_THREADS=" in table
    assert "<svg" in (out / "bench.svg").read_text()
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


WRONG_PICK = """
    from poly_match import Polygon, generate_example, main as _main

    def main(polygons, points, max_dist=10.0):
        # The last polygon for every point: close or not, smallest or not.
        return [(point, polygons[-1]) for point, _ in _main(polygons, points, max_dist)]
"""
RAISES = """
    from poly_match import Polygon, generate_example

    def main(polygons, points, max_dist=10.0):
        raise TypeError("not implemented")
"""
SKELETON = '''
    """A stage whose crate is still an empty #[pymodule]."""
'''


def test_a_wrong_stage_is_refused_and_fails_the_run(monkeypatch, tmp_path, capsys):
    _register(monkeypatch, tmp_path, "liar", WRONG_PICK)
    argv = ["--stages", "stage0", "liar", "--budget", "0.3", "--out", str(tmp_path), "--quiet"]
    assert bench.main(argv) == 1
    assert "liar" in capsys.readouterr().err
    rows = {row["name"]: row for row in json.loads((tmp_path / "bench.json").read_text())["stages"]}
    assert rows["liar"]["status"] == bench.WRONG
    assert rows["liar"]["samples"] == 0 and rows["liar"]["median_s"] is None
    assert rows["stage0"]["status"] == bench.OK
    assert "| `liar` | test stage liar | **WRONG" in (tmp_path / "bench.md").read_text()


def test_a_stage_that_raises_is_refused(monkeypatch, tmp_path):
    row = bench.check(_register(monkeypatch, tmp_path, "raiser", RAISES))
    assert row.status == bench.WRONG
    assert "TypeError" in row.detail


def test_a_skeleton_is_not_built(monkeypatch, tmp_path):
    row = bench.check(_register(monkeypatch, tmp_path, "skeleton", SKELETON))
    assert row.status == bench.NOT_BUILT
    assert "skeleton" in row.detail


def test_the_floor_is_read_from_criterion(tmp_path):
    stage3 = bench.Row("stage3", "stage 3")
    (tmp_path / "estimates.json").write_text(json.dumps({"median": {"point_estimate": 41000.0}}))
    sample = {"iters": [1.0, 2.0, 3.0, 4.0], "times": [40e3, 82e3, 120e3, 168e3]}
    (tmp_path / "sample.json").write_text(json.dumps(sample))
    row = bench.floor_row(stage3, tmp_path)
    assert row.status == bench.OK and row.source == "criterion"
    assert row.median == pytest.approx(41e-6)
    assert row.sample_seconds == pytest.approx([40e-6, 41e-6, 40e-6, 42e-6])
    assert row.q1 <= row.median <= row.q3

    assert bench.floor_row(bench.Row("stage3", "", status=bench.WRONG), tmp_path).median is None
    assert bench.floor_row(stage3, tmp_path / "missing").status == bench.NOT_MEASURED


def test_scaling_skips_by_prediction_and_reports_it(tmp_path):
    sizes = [(100, 10), (300, 30)]
    result = scaling.scaling(
        budget=0.5, out=tmp_path, names=["stage0", "vectorized"], sizes=sizes, quiet=True
    )
    assert json.loads((tmp_path / "scaling.json").read_text()) == result
    assert [(s["n_polygons"], s["n_points"]) for s in result["sizes"]] == sizes
    for stage in result["stages"]:
        assert stage["status"] == bench.OK
        assert [(c["n_polygons"], c["n_points"]) for c in stage["cells"]] == sizes
        stopped = False
        for cell in stage["cells"]:
            assert cell["status"] in ("ok", "skipped"), cell["reason"]
            if cell["status"] == "ok":
                assert not stopped, "a stage skipped at a smaller size ran at a larger one"
                assert cell["q1_s"] <= cell["median_s"] <= cell["q3_s"]
                assert cell["samples"] == 5
            else:
                stopped = True
                assert cell["predicted_s"] > 0 and cell["reason"]
    table = (tmp_path / "scaling.md").read_text()
    assert "| `stage0` |" in table and "| `vectorized` |" in table
    assert "<svg" in (tmp_path / "scaling.svg").read_text()


def test_a_cell_costs_a_warm_up_then_calibration_and_samples():
    # A slow call: every sample is one call. A fast one: every sample lasts the target.
    assert scaling.cell_cost(2.0, rounds=5, target=0.2) == pytest.approx(2.0 + 6 * 2.0)
    assert scaling.cell_cost(0.001, rounds=5, target=0.2) == pytest.approx(0.001 + 6 * 0.2)


def test_builds_tables_give_ratios_two_decimals_and_speed_ups_their_digits():
    row = {"build": "abi3", "what": "w", "median_ms": 0.077, "samples_ms": [0.076, 0.077]}
    lines = report.debug_table(
        [{**row, "vs_specific": 1.1321, "speedup_vs_stage0": 6935.99, "so_size": "23 MB"}],
        "specific",
    )
    assert lines[-1].endswith("| 1.13x | 6,936x | 23 MB |")


# --- make bench-threads, make bench-outliers: smoke runs at tiny sizes ---------------------

from workshop import outliers, threads  # noqa: E402 (these tests only)


def _built_or_skip(*names):
    for name in names:
        reason = run.not_built(stages.get(name))
        if reason is not None:
            pytest.skip(reason)


def test_threads_json_and_table(tmp_path):
    _built_or_skip("stage4", "stage3")
    # Just above stage 4's GIL threshold, so the released-GIL path runs in threads too.
    large = {"n_polygons": 19_500, "n_points": 1000}
    canonical = {"n_polygons": 200, "n_points": 20}
    result = threads.threads_bench(
        out=tmp_path,
        large=large,
        canonical=canonical,
        rounds=2,
        sample_seconds=0.005,
        long_seconds=0.05,
        quiet=True,
    )
    assert json.loads((tmp_path / "threads.json").read_text()) == result
    assert threads.failures(result) == []
    assert [s["name"] for s in result["stages"]] == ["stage4", "stage3"]
    assert result["threads"] == list(threads.THREADS)
    rows = [(r["stage"], r["workload"]) for r in result["rows"]]
    assert rows == [("stage4", "large"), ("stage4", "canonical"), ("stage3", "canonical")]
    threshold = result["gil_threshold"]
    assert isinstance(threshold, int)
    for row in result["rows"]:
        assert row["status"] == bench.OK, row["detail"]
        assert row["releases_gil"] == (
            row["stage"] == "stage4" and row["n_polygons"] + row["n_points"] > threshold
        )
        assert row["calls_per_thread"] >= 1 and row["pairs"] > 0
        assert [c["threads"] for c in row["cells"]] == list(threads.THREADS)
        for cell in row["cells"]:
            assert len(cell["samples"]) == 2 and cell["minor_faults_per_call"] >= 0
            assert cell["q1_calls_per_s"] <= cell["calls_per_s"] <= cell["q3_calls_per_s"]
            assert cell["vs_one_thread"] == pytest.approx(
                cell["calls_per_s"] / row["cells"][0]["calls_per_s"]
            )
    assert result["rows"][0]["releases_gil"]
    single = result["single_call"]
    assert (single["n_polygons"], single["n_points"]) == (19_500, 1000)
    for key in ("rayon_default", "rayon_one"):
        assert single[key]["q1_s"] <= single[key]["median_s"] <= single[key]["q3_s"], key
        assert single[key]["samples"] == 2 and single[key]["minor_faults_per_call"] >= 0, key
    assert single["rayon_one"]["rayon_threads"] == 1
    for key in ("rayon_default", "rayon_one"):  # a sample is >= 1 call after the warm-up
        assert len(single[key]["calls"]) == 2 and min(single[key]["calls"]) >= 1, key
    assert isinstance(single["meets_target"], bool)
    assert single["second_core_speedup"] == pytest.approx(
        single["rayon_one"]["median_s"] / single["rayon_default"]["median_s"]
    )
    assert "RAYON_NUM_THREADS" in result["env"]["env"]
    beside = result["beside"]
    assert "wrong" not in beside and beside["long_call"]["n_polygons"] == threads.LONG_POLYGONS
    assert len(beside["alone_s"]) == 7 and len(beside["beside_s"]) >= 1
    assert beside["beside_max_s"] == max(beside["beside_s"])
    assert beside["slowest_vs_alone"] == pytest.approx(
        beside["beside_max_s"] / beside["alone_median_s"]
    )
    table = (tmp_path / "threads.md").read_text()
    assert table.count("| `stage4` |") == 2 and "| `stage3` |" in table
    assert "RAYON_NUM_THREADS=1" in table and "OPENBLAS_NUM_THREADS=" in table
    assert "**A short call beside a long one.**" in table


# Right in the main thread (so it passes the checks), one pair short in any other.
WRONG_IN_THREADS = """
    import threading

    from poly_match import Polygon, generate_example, main as _main

    def main(polygons, points, max_dist=10.0):
        result = _main(polygons, points, max_dist)
        if threading.current_thread() is not threading.main_thread():
            result = result[:-1]
        return result
"""
THREAD_ARGS = ["--large", "300x30", "--canonical", "200x20", "--rounds", "1", "--quiet"]
THREAD_ARGS += ["--sample-seconds", "0.002", "--no-rayon-one", "--long-seconds", "0", "--versus"]


def test_a_wrong_answer_in_threads_fails_the_threads_run(monkeypatch, tmp_path, capsys):
    _register(monkeypatch, tmp_path, "threadliar", WRONG_IN_THREADS)
    assert threads.main(["--stage", "threadliar", "--out", str(tmp_path), *THREAD_ARGS]) == 1
    assert "threadliar" in capsys.readouterr().err
    result = json.loads((tmp_path / "threads.json").read_text())
    assert result["stages"][0]["status"] == bench.OK  # right when called alone
    for row in result["rows"]:
        assert row["status"] == bench.WRONG and "thread" in row["detail"]
        assert all("calls_per_s" not in cell for cell in row["cells"])
    assert "**WRONG**" in (tmp_path / "threads.md").read_text()


def test_a_wrong_stage_is_not_timed_in_threads(monkeypatch, tmp_path):
    _register(monkeypatch, tmp_path, "liar", WRONG_PICK)
    assert threads.main(["--stage", "liar", "--out", str(tmp_path), *THREAD_ARGS]) == 1
    result = json.loads((tmp_path / "threads.json").read_text())
    assert result["stages"][0]["status"] == bench.WRONG
    assert all(row["status"] == bench.WRONG and not row["cells"] for row in result["rows"])
    assert "rayon_default" not in result["single_call"]


def test_a_child_that_ends_is_an_error_naming_its_reason_not_a_hang():
    # The timing children of bench-threads and bench-pipeline: one that cannot start
    # must raise with its own message, not leave the parent waiting for a line.
    args = ("--stage", "no_such_stage", "--large", "300x30", "--sample-seconds", "0.01")
    child = bench.Child("workshop.threads", *args, RAYON_NUM_THREADS="1")
    try:
        with pytest.raises(RuntimeError, match=r"RAYON_NUM_THREADS=1.*unknown stage"):
            child.ask("ready", timeout=120)
    finally:
        child.close()
    assert child.proc.returncode != 0


def test_outliers_json_and_table(tmp_path):
    _built_or_skip("stage4", outliers.REFERENCE)
    size = {"n_polygons": 3000, "n_points": 300}
    result = outliers.outliers(out=tmp_path, size=size, rounds=2, sample_seconds=0.005, quiet=True)
    assert json.loads((tmp_path / "outliers.json").read_text()) == result
    assert result["stage"]["name"] == "stage4" and result["stage"]["status"] == bench.OK
    assert result["workload"]["n_polygons"] == 3000 and result["limit"] == outliers.LIMIT
    cases = {c["name"]: c for c in result["cases"]}
    assert list(cases) == list(outliers.CASES)
    plain = cases["plain"]
    for case in cases.values():
        assert case["status"] == bench.OK, case["detail"]
        assert case["samples"] == 2 and case["calls_per_sample"] >= 1
        assert case["q1_s"] <= case["median_s"] <= case["q3_s"]
        assert case["ratio"] == pytest.approx(case["median_s"] / plain["median_s"])
        assert case["within_limit"] == (case["ratio"] <= outliers.LIMIT)
        if case["name"] in ("two_clusters", "far_cluster"):  # checked against its clusters
            assert case["detail"] == "same picks as its clusters alone"
            continue
        if case["name"] in outliers.LAYOUTS:  # checked against stage 3 at the run's size
            assert case["detail"] == "same picks as stage3 at 3000x300"
            continue
        # The outliers change no pick; only far_pair's point adds one (its far polygon).
        assert case["added_picks"] == (case["name"] == "far_pair")
        assert case["pairs"] == plain["pairs"] + case["added_picks"]
    table = (tmp_path / "outliers.md").read_text()
    for name in outliers.CASES:
        assert f"| `{name}`: " in table
    assert "within 3x" in table and "OPENBLAS_NUM_THREADS=" in table
    # What the layouts are for: no close pair, every pair close, one per point.
    assert cases["tight_cluster"]["pairs"] == cases["identical"]["pairs"] == 0
    for name in ("inside_cluster", "max_dist_1e300", "max_dist_inf", "one_spot"):
        assert cases[name]["pairs"] == 300, name
    assert cases["huge_magnitudes"]["pairs"] == 300


# Stage 4, except that it gives up on a max_dist too large for cells: right at 10,
# wrong where every pair is close.
GIVES_UP = """
    from poly_match_stage4 import Polygon, generate_example, main as _main

    def main(polygons, points, max_dist=10.0):
        return [] if max_dist > 1e100 else _main(polygons, points, max_dist)
"""


def test_a_wrong_pick_on_a_layout_fails_the_outliers_run(monkeypatch, tmp_path, capsys):
    _built_or_skip("stage4", outliers.REFERENCE)
    _register(monkeypatch, tmp_path, "gives_up", GIVES_UP, answers="argmin")
    argv = ["--stage", "gives_up", "--size", "3000x300", "--rounds", "1", "--quiet"]
    argv += ["--sample-seconds", "0.002", "--out", str(tmp_path)]
    assert outliers.main(argv) == 1
    cases = {c["name"]: c for c in json.loads((tmp_path / "outliers.json").read_text())["cases"]}
    for name in ("max_dist_1e300", "max_dist_inf"):
        assert cases[name]["status"] == bench.WRONG, name
        assert "differ from stage3's at 3000x300" in cases[name]["detail"]
        assert cases[name]["median_s"] is None
    assert cases["plain"]["status"] == cases["inside_cluster"]["status"] == bench.OK
    assert "max_dist_inf" in capsys.readouterr().err


# The baseline, except that a NaN area anywhere makes it pick the last polygon once.
WRONG_WITH_NAN = """
    import math

    from poly_match import Polygon, generate_example, main as _main

    def main(polygons, points, max_dist=10.0):
        result = _main(polygons, points, max_dist)
        if result and any(math.isnan(p.area()) for p in polygons):
            result[0] = (result[0][0], polygons[-1])
        return result
"""


def test_a_wrong_pick_with_an_outlier_fails_the_outliers_run(monkeypatch, tmp_path, capsys):
    _register(monkeypatch, tmp_path, "nanliar", WRONG_WITH_NAN)
    argv = ["--stage", "nanliar", "--size", "300x30", "--rounds", "1", "--quiet"]
    argv += ["--sample-seconds", "0.002", "--out", str(tmp_path)]
    assert outliers.main(argv) == 1
    assert "nan_polygon" in capsys.readouterr().err
    cases = {c["name"]: c for c in json.loads((tmp_path / "outliers.json").read_text())["cases"]}
    assert cases["nan_polygon"]["status"] == bench.WRONG
    assert cases["nan_polygon"]["median_s"] is None and cases["nan_polygon"]["samples"] == 0
    assert "1 of " in cases["nan_polygon"]["detail"]
    for name in ("plain", "far_polygon", "far_point"):
        assert cases[name]["status"] == bench.OK, cases[name]["detail"]
    table = (tmp_path / "outliers.md").read_text()
    assert "| `nan_polygon`: + one polygon with a NaN vertex | **WRONG answer" in table


# --- make bench-borrow: stage 2 patched back to the article's borrow scope ---------------


def test_the_article_patch_applies_to_todays_stage_2(tmp_path):
    manifest = bench_debug.article_source(tmp_path / "ws")
    source = (manifest.parent / "src" / "lib.rs").read_text()
    assert "frozen" not in source
    assert ".get()" not in source
    for file, _old, new in bench_debug.ARTICLE_PATCH:
        assert new in (manifest.parent / file).read_text()
    assert source.count("try_borrow()?") == 2 and source.count(".borrow()") == 1
    members = 'members = ["stages/common", "stages/workspace-hack", "stages/stage2_polygon"]'
    assert members in (tmp_path / "ws" / "Cargo.toml").read_text()


def test_a_patch_that_no_longer_applies_fails_loudly():
    with pytest.raises(SystemExit, match="exactly once, found it 0 times"):
        bench_debug.patched("fn main() {}", [("frozen, ", "")], "lib.rs")
    with pytest.raises(SystemExit, match="exactly once, found it 2 times"):
        bench_debug.patched(".get() .get()", [(".get()", ".borrow()")], "lib.rs")


def test_the_article_crate_builds_and_picks_as_the_baseline(monkeypatch, tmp_path):
    """About 5 s with target/ warm (`make build` has compiled PyO3 into it)."""
    monkeypatch.setattr(bench_debug, "BUILD", tmp_path)
    article = bench_debug.BORROW[1]
    bench_debug.build(article)
    assert article.folder.parent == tmp_path
    bench_debug.check(article)  # raises SystemExit unless the baseline's picks
    out, loaded = bench_debug.child(article, "--check", "stage2")
    assert loaded.startswith(str(tmp_path)) and f"checked {bench.OK}" in out


def test_a_miss_smaller_than_the_runs_spread_is_called_noise():
    target = 10e-3
    met = report.target_verdict({"median_s": 9.5e-3, "q1_s": 9.0e-3}, target)
    noise = report.target_verdict({"median_s": 10.4e-3, "q1_s": 9.8e-3}, target)
    missed = report.target_verdict({"median_s": 14e-3, "q1_s": 13e-3}, target)
    assert met == "met on this run"
    assert noise.startswith("missed by 400 µs (4%)") and "noise, not a verdict" in noise
    assert missed.startswith("**not met**") and "noise" not in missed
