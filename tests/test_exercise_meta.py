"""The exercise works both ways: the untouched starter fails ``make check-exercise``
with a message saying what to do, and the answer printed in docs/workshop.md passes.

Both directions build the crate for real, as ``make check-exercise`` does, but into a
temporary folder: ``.venv`` and ``stages/exercise`` are not touched, so an attendee's
work in progress is safe. The answer is kept in one place, the walkthrough (after
``<!-- exercise-answer -->``), and spliced between the starter's markers: the answer
people read is the one that is tested. Each build reuses target/ (a few seconds).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from workshop import doccheck, stages

ROOT = Path(__file__).resolve().parents[1]
CRATE = ROOT / "stages" / "exercise"
LIB_RS = CRATE / "src" / "lib.rs"
EXERCISE_TESTS = CRATE / "tests" / "test_exercise.py"
DOCS = {"en": ROOT / "docs" / "workshop.md", "ko": ROOT / "docs" / "workshop.ko.md"}
START = "// ---- exercise: start."
END = "// ---- exercise: end."
ANSWER_MARK = "<!-- exercise-answer -->"
TODOS = [f"TODO({n})" for n in range(1, 10)]
NOT_IMPLEMENTED = "PyNotImplementedError::new_err("


def region(source: str) -> tuple[int, int]:
    """Line indices of the START and END markers."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(START)]
    ends = [i for i, line in enumerate(lines) if line.strip().startswith(END)]
    assert len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0], (
        f"the starter needs one {START!r} line and one {END!r} line after it"
    )
    return starts[0], ends[0]


def is_starter(source: str) -> bool:
    try:
        start, end = region(source)
    except AssertionError:
        return False
    inside = "\n".join(source.splitlines()[start:end])
    return NOT_IMPLEMENTED in inside and all(todo in inside for todo in TODOS)


def starter() -> str:
    """The starter's lib.rs: the working tree's, or git HEAD's once an attendee edited it."""
    source = LIB_RS.read_text()
    if is_starter(source):
        return source
    committed = subprocess.run(
        ["git", "show", f"HEAD:{LIB_RS.relative_to(ROOT).as_posix()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if committed.returncode == 0 and is_starter(committed.stdout):
        return committed.stdout
    pytest.skip(f"{LIB_RS} is being worked on and git HEAD has no starter to test")


def answer(doc: Path) -> str:
    """The first ```rust block after the answer marker."""
    text = doc.read_text()
    assert ANSWER_MARK in text, f"{doc} has no {ANSWER_MARK} before the exercise's answer"
    block = re.search(r"```rust\n(.*?)```", text.split(ANSWER_MARK, 1)[1], re.S)
    assert block, f"no ```rust block after {ANSWER_MARK} in {doc}"
    return block.group(1)


def splice(source: str, code: str) -> str:
    start, end = region(source)
    lines = source.splitlines(keepends=True)
    return "".join([*lines[: start + 1], code, *lines[end:]])


def build(tmp: Path, lib_rs: str) -> Path:
    """Build the crate with ``lib_rs`` into a wheel and unpack it; returns the folder.

    A copy of the workspace with the crate as its only member, sharing target/ (so
    nothing is recompiled but the crate); the package is renamed so its library
    does not overwrite the real exercise's in target/profiling/.
    """
    workspace = tmp / "workspace"
    crate = workspace / "exercise"
    shutil.copytree(CRATE, crate, ignore=shutil.ignore_patterns("*.so", "__pycache__", "tests"))
    (crate / "src" / "lib.rs").write_text(lib_rs)
    manifest = crate / "Cargo.toml"
    manifest.write_text(
        manifest.read_text().replace('name = "exercise"', 'name = "exercise_meta_check"', 1)
    )
    root_manifest = (ROOT / "Cargo.toml").read_text()
    root_manifest, n = re.subn(r"(?m)^members = .*$", 'members = ["exercise"]', root_manifest)
    assert n == 1, "the root Cargo.toml has no `members = ...` line"
    (workspace / "Cargo.toml").write_text(root_manifest)
    shutil.copy(ROOT / "Cargo.lock", workspace / "Cargo.lock")

    python = ROOT / ".venv" / "bin" / "python"
    python = python if python.exists() else Path(sys.executable)
    # The same PYO3_PYTHON as the Makefile's, or pyo3 would be rebuilt for both.
    env = {**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target"), "PYO3_PYTHON": str(python)}
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or "maturin"
    wheels = tmp / "wheels"
    options = ["--quiet", "--profile", "profiling", "--interpreter", str(python)]
    built = subprocess.run(
        [maturin, "build", *options, "--manifest-path", str(manifest), "--out", str(wheels)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, f"maturin build failed:\n{built.stdout}\n{built.stderr}"
    (wheel,) = wheels.glob("*.whl")
    site = tmp / "site"
    with zipfile.ZipFile(wheel) as archive:  # what `pip install --target` does with it
        archive.extractall(site)
    return site


def exercise_tests(site: Path) -> subprocess.CompletedProcess[str]:
    """``make check-exercise``'s pytest run, against the module unpacked in ``site``."""
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "RUST_BACKTRACE": "0"}
    where = subprocess.run(
        [sys.executable, "-c", "import poly_match_exercise as m; print(m.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", EXERCISE_TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


# --- cheap checks on the sources -------------------------------------------------------


def test_the_starter_has_its_todos_in_order_and_says_where_the_answer_is() -> None:
    source = starter()
    start, end = region(source)
    inside = "\n".join(source.splitlines()[start:end])
    numbers = [int(n) for n in re.findall(r"// TODO\((\d+)\):", inside)]
    assert numbers == list(range(1, len(TODOS) + 1)), f"TODO(n): lines out of order: {numbers}"
    assert "todo!(" not in source and "unimplemented!(" not in source, "no panics"
    link = re.search(r"(docs/workshop\.md)#([\w-]+)", inside)
    assert link, "the NotImplementedError message should point to docs/workshop.md#..."
    assert link.group(2) in doccheck.heading_slugs((ROOT / link.group(1)).read_text())


def test_the_answer_is_the_same_in_both_languages() -> None:
    assert answer(DOCS["ko"]) == answer(DOCS["en"])


def test_the_exercise_is_not_a_stage() -> None:
    # Not benchmarked or profiled, and not built by `make build` (stages/stage*/ only).
    assert all(stage.crate != CRATE.name for stage in stages.STAGES)
    assert not CRATE.name.startswith("stage")
    assert "poly_match_exercise" not in {stage.module for stage in stages.STAGES}


# --- the two directions, built for real ---------------------------------------------------


def test_the_untouched_starter_fails_with_a_helpful_message(tmp_path: Path) -> None:
    result = exercise_tests(build(tmp_path, starter()))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "exercise not done yet: write the loop, TODO(1) to TODO(9)" in result.stdout
    assert "docs/workshop.md" in result.stdout
    assert re.search(r"\b1 failed, \d+ skipped\b", result.stdout), result.stdout


def test_the_answer_in_the_walkthrough_passes(tmp_path: Path) -> None:
    solved = splice(starter(), answer(DOCS["en"]))
    assert NOT_IMPLEMENTED not in solved
    spliced = tmp_path / "lib.rs"
    spliced.write_text(solved)
    rustfmt = subprocess.run(  # (rustfmt --check passes anything read from stdin)
        ["rustfmt", "--check", "--edition", "2024", str(spliced)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rustfmt.returncode == 0, f"the answer is not rustfmt-clean:\n{rustfmt.stdout}"
    result = exercise_tests(build(tmp_path, solved))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed in\b", result.stdout), result.stdout
    assert "skipped" not in result.stdout and "failed" not in result.stdout
