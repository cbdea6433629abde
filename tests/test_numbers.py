"""The docs' measured numbers come from the reference data (workshop.numbers, machines); their
code from the source (workshop.stagediff, excerpts)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from workshop import REPO, machines, numbers, stagediff, stages
from workshop import excerpts as workshop_excerpts

VALUES = {"bench.stage2.speedup": "168x", "bench.stage0.median": "155 ms"}


def render(text: str) -> tuple[str, list[str], list[str]]:
    return numbers.render(text, VALUES, machines.typical().reports)


def test_a_marker_gets_the_reference_value() -> None:
    text, stale, wrong = render("stage 2: <!--n:bench.stage2.speedup-->?<!--/n--> faster\n")
    assert text == "stage 2: <!--n:bench.stage2.speedup-->168x<!--/n--> faster\n"
    assert stale and not wrong


def test_a_number_changed_by_hand_is_stale() -> None:
    _, stale, wrong = render("<!--n:bench.stage2.speedup-->200x<!--/n-->\n")
    assert stale == ["bench.stage2.speedup is '200x', the reference data says '168x'"]
    assert not wrong


def test_an_unknown_key_and_a_typed_number_are_wrong() -> None:
    _, _, wrong = render("<!--n:bench.stage9.speedup-->1x<!--/n-->\nit took 12 ms, 3.4x faster\n")
    assert any("unknown number 'bench.stage9.speedup'" in w for w in wrong)
    assert any("'12 ms'" in w for w in wrong) and any("'3.4x'" in w for w in wrong)


def test_typed_numbers_are_allowed_in_code_and_marked_lines() -> None:
    text = "```text\n12 ms\n```\n`3x` in code\na target of 10 ms <!--not-measured-->\n"
    assert numbers.typed_numbers(text) == []


def test_the_repositorys_docs_agree_with_the_reference_data() -> None:
    """What `make lint` runs: every doc's numbers, tables and diffs are current."""
    assert numbers.main([]) == 0


def test_changing_a_number_in_the_readme_fails_the_check(tmp_path) -> None:
    readme = tmp_path / "README.md"
    text = (numbers.REPO / "README.md").read_text()
    marker = re.search(r"<!--n:bench\.stage0\.median-->(.*?)<!--/n-->", text)
    assert marker, "README.md quotes the baseline's median"
    readme.write_text(text)
    assert numbers.main([str(readme)]) == 0
    readme.write_text(text.replace(marker.group(0), "<!--n:bench.stage0.median-->1 ns<!--/n-->"))
    assert numbers.main([str(readme)]) == 1
    # A cell of a generated table, too.
    row = re.search(r"^\| `stage4` \|.*$", text, re.M)
    assert row, "README.md's results table has a stage4 row"
    readme.write_text(text.replace(row.group(0), row.group(0).replace("x |", "0x |")))
    assert numbers.main([str(readme)]) == 1


def test_a_stage_diff_leaves_out_tests_and_names_both_files() -> None:
    diff = stagediff.diff("stage3")
    assert "--- a/stages/stage2_polygon/src/lib.rs" in diff
    assert "+++ b/stages/stage3_selector/src/lib.rs" in diff
    assert "#[cfg(test)]" not in diff and "fn threshold_matches_sqrt_at_the_boundary" not in diff
    assert "+pub fn squared_threshold" in diff


def test_without_tests_drops_only_the_test_module() -> None:
    source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn t() { if x { } }\n}\nfn b() {}\n"
    assert stagediff.without_tests(source) == "fn a() {}\nfn b() {}\n"
    restricted = source.replace("mod tests", "pub(crate) mod tests")
    assert stagediff.without_tests(restricted) == "fn a() {}\nfn b() {}\n"


def test_stage_diff_is_plain_when_piped_and_coloured_for_a_terminal(capsys) -> None:
    # The READMEs embed the piped output, so it must stay plain text.
    assert stagediff.main(["stage2"]) == 0
    plain = capsys.readouterr().out
    assert plain == stagediff.diff("stage2") and "\033[" not in plain
    coloured = stagediff.coloured(plain)
    assert re.sub(r"\033\[\d*m", "", coloured) == plain
    added = next(line for line in coloured.splitlines() if line.startswith("\033[32m+"))
    assert added.endswith("\033[0m")


# --- typed numbers in words, in both languages --------------------------------------


def test_a_timing_or_ratio_in_words_is_typed() -> None:
    for text in (
        "divide by 100,000, a microsecond or two per polygon and point",
        "the arithmetic takes a few\nnanoseconds",  # across a line break too
        "stage 2 is twice as fast",
        "ten times faster than the baseline",
        "한 쌍에 1~2마이크로초입니다",
        "몇 나노초면 끝납니다",
        "두 배 빠릅니다",
    ):
        assert numbers.typed_numbers(text), text
    for text in (
        "it is <!--n:debug.dev_over_release-->45.9<!--/n--> times slower",
        "run it three times, then compare",
        "a few minutes: Rust compiles",
        "`a few nanoseconds` in code",
    ):
        assert numbers.typed_numbers(text) == [], text


def test_the_baseline_has_a_cost_per_polygon_point_pair() -> None:
    vals = numbers.values()
    assert vals["bench.stage0.per_pair"].endswith("µs")
    seconds, _ = numbers.magnitude(vals["bench.stage0.per_pair"])
    median, _ = numbers.magnitude(vals["bench.stage0.median"])
    assert seconds == pytest.approx(median / 100_000, rel=0.01)


# --- several machines: ranges, per-machine keys, the sets that count ----------------------


def test_a_range_keeps_the_formats_of_its_ends() -> None:
    assert numbers.span(["16.3x", "9.2x"]) == "9.2–16.3x"
    assert numbers.span(["2,409x", "1,213x"]) == "1,213–2,409x"
    assert numbers.span(["514 ms", "112 ms"]) == "112–514 ms"
    assert numbers.span(["24.3 µs", "1.20 ms"]) == "24.3 µs–1.20 ms"
    assert numbers.span(["16.3", "9.2"], "~") == "9.2~16.3"
    assert numbers.span(["35%", "22%"]) == "22–35%"
    assert numbers.span(["16.3x", "16.3x"]) == "16.3x"
    assert numbers.span(["AMD EPYC", "16.3x"]) is None


def test_a_key_measures_the_stage_it_names() -> None:
    assert numbers.key_stages("bench.stage1.speedup") == ["stage1"]
    assert numbers.key_stages("bench.stage4_floor.median") == ["stage4"]
    assert numbers.key_stages("profile.view.pyspy.stage2_alloc.rust") == ["stage2_alloc"]
    assert numbers.key_stages("debug.dev_over_release") == ["stage1"]
    assert numbers.key_stages("outliers.worst") == ["stage4"]
    assert numbers.key_stages("claim.stage2.biggest.share") == ["stage2"]
    assert len(numbers.key_stages("setup.make")) == len(stages.STAGES)


def fake_set(root: Path, name: str, cpu: str, speedup: float, commit: str) -> None:
    """A reference set with a bench.json of two stages and its set.json."""
    folder = root / name
    folder.mkdir(parents=True)
    bench = json.loads((machines.typical().reports / "bench.json").read_text())
    bench["env"]["cpu"] = cpu
    rows = [r for r in bench["stages"] if r["name"] in ("stage0", "stage1")]
    rows[1]["speedup"], rows[1]["median_s"] = speedup, rows[0]["median_s"] / speedup
    bench["stages"] = rows
    (folder / "bench.json").write_text(json.dumps(bench))
    (folder / "set.json").write_text(json.dumps({"machine": name, "cpu": cpu, "commit": commit}))


def test_ranges_span_the_sets_measured_at_the_stages_current_code(tmp_path) -> None:
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if not head or machines.stale_for(
        machines.RefSet("head", tmp_path, tmp_path, {"commit": head}), ["stage1"]
    ):
        pytest.skip("stage 1's code has uncommitted changes here")
    fake_set(tmp_path, "epyc-avx2", "AMD EPYC, 2 cores, AVX2", 16.3, head)
    fake_set(tmp_path, "xeon-avx512", "Intel Xeon, 2 cores, AVX-512", 9.2, head)
    (tmp_path / "sets.json").write_text(json.dumps({"typical": "xeon-avx512"}))
    vals = numbers.values(tmp_path, tmp_path / "no-profiles")
    assert vals["bench.stage1.speedup"] == "9.2x"  # the typical machine's
    assert vals["bench.stage1.speedup@epyc-avx2"] == "16.3x"
    assert vals["bench.stage1.speedup.range"] == "9.2–16.3x"
    assert vals["bench.stage1.ratio.range_ko"] == "9.2~16.3"
    assert vals["machines.typical"] == "Intel Xeon, 2 cores, AVX-512"
    assert vals["machines.count"] == "2"

    # A set measured before stage 1's code changed is left out of stage 1's ranges
    # (the baseline's too: every speed-up divides by it), not out of the others'.
    first = subprocess.run(
        ["git", "-C", str(REPO), "rev-list", "--max-parents=0", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.split()[0]
    record = json.loads((tmp_path / "epyc-avx2" / "set.json").read_text())
    (tmp_path / "epyc-avx2" / "set.json").write_text(json.dumps(record | {"commit": first}))
    machines.changed_since.cache_clear()
    vals = numbers.values(tmp_path, tmp_path / "no-profiles")
    assert vals["bench.stage1.speedup.range"] == "9.2x"
    assert vals["bench.stage1.speedup@epyc-avx2"] == "16.3x"  # still quotable by name
    table = numbers.bench_machines_table(tmp_path / "xeon-avx512")
    assert "| `stage1` | 9.2x | 16.3x (older code) |" in table


def test_unit_tests_and_docs_are_not_a_stages_code() -> None:
    source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn t() {}\n}\n"
    assert stagediff.without_tests(source) == stagediff.without_tests(
        source.replace("fn t() {}", "fn t() { assert!(true) }")
    )
    paths = machines.code_paths(stages.get("stage1"))
    assert "stages/stage1_getattr" in paths and "stages/common" in paths
    assert "python_baseline/poly_match" in paths and "requirements.lock" in paths
    # Stage 5 links stage 4's search: a change there changes stage 5's numbers.
    assert "stages/stage4_grid" in machines.code_paths(stages.get("stage5"))
    assert "stages/stage4_grid" not in machines.code_paths(stages.get("stage3"))
    assert ":(exclude)*.md" in machines.NOT_CODE
    lock = "numpy==2.4.6 ; python_full_version >= '3.11'\n    # via x\nruff==0.15.0\n"
    assert machines._code("requirements.lock", lock) == machines._code(
        "requirements.lock", lock.replace("ruff==0.15.0", "ruff==0.16.0\nziglang==0.17.1")
    )
    assert machines._code("requirements.lock", lock) != machines._code(
        "requirements.lock", lock.replace("2.4.6", "2.5.0")
    )


def test_links_into_a_set_point_at_the_typical_one(tmp_path) -> None:
    for name in ("a-avx2", "b-avx512"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "bench.md").write_text("")
    found = [
        machines.RefSet(n, tmp_path / n, tmp_path / n, {"commit": ""})
        for n in ("b-avx512", "a-avx2")
    ]
    text = (
        "[t](../reference/bench.md), `reference/a-avx2/bench.md`, `reference/` and "
        "`reference/b-avx512/`"
    )
    new, stale = numbers.set_links(text, found)
    assert new == (
        "[t](../reference/b-avx512/bench.md), `reference/b-avx512/bench.md`, `reference/` "
        "and `reference/b-avx512/`"
    )
    assert len(stale) == 2


# --- code excerpts: checked against their source ----------------------------------------


def test_an_excerpt_must_name_its_source_and_match_it() -> None:
    source = (
        "fn main() {\n    // why\n    let picks = select(a, b, c) || py.check_signals();\n"
        "    done(picks)\n}\n"
    )
    good = workshop_excerpts.Block(
        1, "rust", ["let picks = select(a, b, c) || py.check_signals();", "done(picks)"], "x"
    )
    assert workshop_excerpts.stale_line(good, source) is None
    elided = workshop_excerpts.Block(1, "rust", ["fn main() {", "...", "done(picks)"], "x")
    assert workshop_excerpts.stale_line(elided, source) is None
    # A comment left out is fine; a code line changed in the source is not.
    skipped = workshop_excerpts.Block(
        1, "rust", ["fn main() {", "let picks = select(a, b, c) || py.check_signals();"], "x"
    )
    assert workshop_excerpts.stale_line(skipped, source) is None
    stale = workshop_excerpts.Block(1, "rust", ["let picks = select(a, b, c);", "done(picks)"], "x")
    assert workshop_excerpts.stale_line(stale, source) == (0, "let picks = select(a, b, c);")
    backwards = workshop_excerpts.Block(1, "rust", ["done(picks)", "...", "fn main() {"], "x")
    assert workshop_excerpts.stale_line(backwards, source) is not None


def test_the_walkthroughs_stale_select_excerpt_is_caught(tmp_path) -> None:
    doc = tmp_path / "doc.md"
    block = (
        "```diff\n+    let (points, coords) = common::Points::read(points)?;\n"
        "+    let picks = common::vec_for(coords.len())?;\n"
        "+    let picks = select(&sites, &coords, max_dist);\n```\n"
    )
    doc.write_text("<!--code:diff-stage3-->\n" + block)
    (problem,) = workshop_excerpts.check(doc)
    assert "select(&sites, &coords, max_dist);" in problem
    doc.write_text(block)
    (problem,) = workshop_excerpts.check(doc)
    assert "names no source" in problem
    # The current line, read from stage 3's source, so the test follows the code.
    source = (REPO / "stages/stage3_selector/src/lib.rs").read_text()
    (current,) = [ln for ln in source.splitlines() if "let picks = select(&sites" in ln]
    fixed = block.replace("+    let picks = select(&sites, &coords, max_dist);", "...\n+" + current)
    doc.write_text("<!--code:diff-stage3-->\n" + fixed)
    assert workshop_excerpts.check(doc) == []


def test_the_repositorys_excerpts_are_current() -> None:
    assert workshop_excerpts.main([]) == 0


def test_a_sets_folder_is_named_by_its_cpu_and_simd_level() -> None:
    assert machines.slug("Intel(R) Xeon(R) Processor", ["avx2", "avx512f"]) == "intel-xeon-avx512"
    assert machines.slug("AMD EPYC", ["avx", "avx2", "fma"]) == "amd-epyc-avx2"
    assert (
        machines.slug("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", ["sse4_2"])
        == "intel-xeon-platinum-8481c-sse"
    )


def test_a_set_is_recorded_only_from_committed_code(tmp_path, monkeypatch) -> None:
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        dirty = " M stages/common/src/lib.rs\n" if args[0] == "status" else "abc123\n"
        return subprocess.CompletedProcess(args, 0, dirty, "")

    monkeypatch.setattr(machines, "_git", git)
    with pytest.raises(SystemExit, match="commit these first"):
        machines.record(tmp_path / "some-machine")
    assert not (tmp_path / "some-machine" / "set.json").exists()
