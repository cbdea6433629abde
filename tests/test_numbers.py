"""The docs' measured numbers come from the reference data: workshop.numbers and stagediff."""

from __future__ import annotations

import re

from workshop import REFERENCE, numbers, stagediff

VALUES = {"bench.stage2.speedup": "168x", "bench.stage0.median": "155 ms"}


def render(text: str) -> tuple[str, list[str], list[str]]:
    return numbers.render(text, VALUES, REFERENCE)


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
