"""Runs write to results/ and profiles/runs/ (ignored by git); reference/MACHINE/ and
profiles/reference/MACHINE/ change only through `make reference` on that machine.

No timings are asserted here: the runs use tiny budgets and only their files are checked.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from workshop import (
    PROFILES,
    PROFILES_REFERENCE,
    REFERENCE,
    REPO,
    RESULTS,
    bench,
    bench_debug,
    compare,
    machines,
    numbers,
    profile,
    recorders,
    scaling,
    stages,
)

BUILT = [s.name for s in stages.available()]
TYPICAL = machines.typical().profiles  # the reference profiles a page shows by default


def tracked_status() -> str:
    """``git status`` of the tracked files, and whatever is new in the reference sets."""
    git = ["git", "-C", str(REPO), "status", "--porcelain"]
    tracked = subprocess.run([*git, "--untracked-files=no"], capture_output=True, text=True)
    sets = ["reference", "profiles/reference"]
    new = subprocess.run([*git, "--untracked-files=all", "--", *sets], capture_output=True)
    return tracked.stdout + new.stdout.decode()


def reference_mtimes() -> dict[str, float]:
    files = [*REFERENCE.rglob("*"), *PROFILES_REFERENCE.rglob("*")]
    return {str(p): p.stat().st_mtime for p in files}


@pytest.fixture
def unchanged():
    """Fails the test if it changed a tracked file or anything in reference/."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    before, mtimes = tracked_status(), reference_mtimes()
    yield
    assert tracked_status() == before, "a run changed tracked files"
    assert reference_mtimes() == mtimes, "a run wrote into reference/"


class Parsed(Exception):
    """Raised instead of parsing: carries the CLI's parser, to read its defaults."""


def parser_of(main, monkeypatch) -> argparse.ArgumentParser:
    def grab(self, *args, **kwargs):
        raise Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", grab)
    with pytest.raises(Parsed) as caught:
        main([])
    return caught.value.args[0]


def test_the_two_folders():
    assert RESULTS == REPO / "results" and REFERENCE == REPO / "reference"
    assert REFERENCE.is_dir(), "reference/ holds the committed sets the docs quote"
    assert machines.sets(), "reference/MACHINE/set.json: at least one measured set"
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "-q", "results/bench.json"], capture_output=True
    )
    assert ignored.returncode == 0, "results/ must be ignored by git (.gitignore)"
    assert PROFILES == REPO / "profiles" / "runs"
    assert PROFILES_REFERENCE == REPO / "profiles" / "reference" and PROFILES_REFERENCE.is_dir()
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "-q", "profiles/runs/stage1.svg"],
        capture_output=True,
    )
    assert ignored.returncode == 0, "profiles/runs/ must be ignored by git (.gitignore)"


@pytest.mark.parametrize("module", [bench, scaling, bench_debug], ids=lambda m: m.__name__)
def test_every_cli_writes_to_results_by_default(module, monkeypatch):
    assert Path(parser_of(module.main, monkeypatch).get_default("out")) == RESULTS


@pytest.mark.parametrize("module", [profile, compare], ids=lambda m: m.__name__)
def test_the_profilers_write_to_profiles_runs_by_default(module, monkeypatch):
    assert Path(parser_of(module.main, monkeypatch).get_default("out")) == PROFILES


@pytest.mark.parametrize("name", ["threads", "outliers"])
def test_the_thread_and_outlier_benches_write_to_results(name, monkeypatch):
    module = pytest.importorskip(f"workshop.{name}")
    assert Path(parser_of(module.main, monkeypatch).get_default("out")) == RESULTS


def test_the_docs_numbers_come_from_reference(monkeypatch):
    assert numbers.REFERENCE == REFERENCE
    assert Path(parser_of(numbers.main, monkeypatch).get_default("reference")) == REFERENCE
    # The page shows the typical machine's set when you have no run of your own.
    assert parser_of(compare.main, monkeypatch).get_default("reference") is None
    assert TYPICAL.is_relative_to(PROFILES_REFERENCE) and TYPICAL.is_dir()


def test_a_bench_run_leaves_the_checkout_clean(tmp_path, unchanged):
    chosen = [n for n in ("stage0", "stage2") if n in BUILT]
    done = subprocess.run(
        [sys.executable, "-m", "workshop.bench", "--budget", "1", "--min-samples", "1",
         "--quiet", "--out", str(tmp_path), "--stages", *chosen],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "bench.json").exists()


def test_the_page_shows_the_reference_when_you_have_no_run(tmp_path, unchanged):
    if not compare.profiled(TYPICAL):
        pytest.skip("no reference profiles")
    index = compare.build(tmp_path / "runs")
    page = index.read_text()
    assert f"the reference set recorded here: profiles/reference/{TYPICAL.name}/" in page
    # Links work from where the page is: ../../profiles/reference/... from tmp/runs/.
    first = compare.profiled(TYPICAL)[0]
    link = os.path.relpath(TYPICAL / f"{first}.svg", tmp_path / "runs")
    assert f'src="{Path(link).as_posix()}"' in page
    assert (index.parent / link).resolve() == (TYPICAL / f"{first}.svg").resolve()


def test_the_page_shows_your_run_when_you_have_one(tmp_path, unchanged):
    if recorders.tool("inferno-flamegraph") is None:
        pytest.skip("inferno-flamegraph not installed (make compare installs it)")
    names = compare.profiled(TYPICAL)
    if not names:
        pytest.skip("no reference profiles")
    out = tmp_path / "runs"
    out.mkdir()
    for suffix in (".folded", ".meta.json"):
        shutil.copy(TYPICAL / f"{names[0]}{suffix}", out / f"{names[0]}{suffix}")
    page = compare.build(out, changed=True).read_text()
    assert "your run: " in page
    assert f'src="{names[0]}.svg"' in page and (out / f"{names[0]}.svg").exists()
    # --changed: nothing newer than the graph, so nothing is redrawn.
    made = (out / f"{names[0]}.svg").stat().st_mtime_ns
    compare.build(out, changed=True)
    assert (out / f"{names[0]}.svg").stat().st_mtime_ns == made


# --- where py-spy cannot record ----------------------------------------------------


def fake_pyspy(tmp_path: Path, said: str) -> str:
    """A py-spy that fails as the real one does when ptrace is refused."""
    path = tmp_path / "py-spy"
    path.write_text(f"#!/bin/sh\necho '{said}' >&2\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.fixture
def refused(tmp_path, monkeypatch):
    """py-spy as in a container without SYS_PTRACE."""
    if not BUILT:
        pytest.skip("no stage importable")
    fake = fake_pyspy(tmp_path, "Error: Operation not permitted (os error 1)")
    real = recorders.tool
    monkeypatch.setattr(recorders, "tool", lambda name: fake if name == "py-spy" else real(name))
    monkeypatch.setattr(recorders.sys, "platform", "linux")


def test_make_profiles_skips_in_one_line_where_ptrace_is_refused(
    refused, tmp_path, capsys, unchanged
):
    code = profile.main(["--all", "--skip-if-refused", "--seconds", "0.1", "--out", str(tmp_path)])
    said = capsys.readouterr()
    assert code == 0
    (line,) = said.out.strip().splitlines()[-1:]
    assert line.startswith("profiles skipped:") and "SYS_PTRACE" in line
    assert "Traceback" not in said.err
    assert not list(tmp_path.glob("*.folded"))


def test_make_profile_stage_still_fails_loudly(refused, tmp_path, capsys):
    code = profile.main([BUILT[0], "--seconds", "0.1", "--out", str(tmp_path)])
    assert code == 2
    assert "--cap-add SYS_PTRACE" in capsys.readouterr().err


def test_on_macos_the_line_says_why():
    line = profile.refused_line([], recorders.pyspy_refused("darwin"))
    assert line.startswith("profiles skipped:") and "macOS" in line and "\n" not in line
    why = recorders.pyspy_refused("linux")
    assert profile.refused_line(["stage0"], why).startswith("profiles reduced to stage0:")
