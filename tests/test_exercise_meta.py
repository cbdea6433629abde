"""The exercises work both ways: each untouched starter fails ``make check-exercise
STAGE=N`` with a message naming its TODOs and its file, and each answer printed in
docs/workshop.md passes.

Both directions build the crate for real, as ``make check-exercise`` does, but into a
temporary folder: ``.venv`` and ``stages/exerciseN`` are not touched, so an attendee's
work in progress is safe. Each answer is kept in one place, the walkthrough (the
```rust block after ``<!-- exerciseN-answer -->``), and spliced between the starter's
markers: the answer people read is the one that is tested. Each build reuses target/
(a few seconds).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from workshop import doccheck, stages

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = [1, 2, 3]
DOCS = {"en": ROOT / "docs" / "workshop.md", "ko": ROOT / "docs" / "workshop.ko.md"}
START = "// ---- exercise: start."
END = "// ---- exercise: end."
NOT_IMPLEMENTED = "PyNotImplementedError::new_err("
NOT_DONE = re.compile(r"exercise (\d) not done yet: .*?TODO\(1\) to TODO\((\d+)\)", re.S)


def crate(n: int) -> Path:
    return ROOT / "stages" / f"exercise{n}"


def lib_rs(n: int) -> Path:
    return crate(n) / "src" / "lib.rs"


def region(source: str) -> tuple[int, int]:
    """Line indices of the START and END markers."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(START)]
    ends = [i for i, line in enumerate(lines) if line.strip().startswith(END)]
    assert len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0], (
        f"the starter needs one {START!r} line and one {END!r} line after it"
    )
    return starts[0], ends[0]


def inside(source: str) -> str:
    start, end = region(source)
    return "\n".join(source.splitlines()[start:end])


def todo_count(source: str) -> int:
    """k of "TODO(1) to TODO(k)" in the starter's NotImplementedError message."""
    found = NOT_DONE.search(re.sub(r"\\\n\s*", " ", source))
    assert found, "the NotImplementedError message should say `exercise N not done yet: ...`"
    return int(found.group(2))


def is_starter(source: str) -> bool:
    try:
        body = inside(source)
        todos = todo_count(body)
    except AssertionError:
        return False
    return NOT_IMPLEMENTED in body and all(f"TODO({k})" in body for k in range(1, todos + 1))


def starter(n: int) -> str:
    """The starter's lib.rs: the working tree's, or git HEAD's once an attendee edited it."""
    path = lib_rs(n)
    source = path.read_text()
    if is_starter(source):
        return source
    committed = subprocess.run(
        ["git", "show", f"HEAD:{path.relative_to(ROOT).as_posix()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if committed.returncode == 0 and is_starter(committed.stdout):
        return committed.stdout
    pytest.skip(f"{path} is being worked on and git HEAD has no starter to test")


def answer(doc: Path, n: int) -> str | None:
    """The first ```rust block after ``<!-- exerciseN-answer -->``, None without the mark."""
    text = doc.read_text()
    mark = f"<!-- exercise{n}-answer -->"
    if mark not in text:
        return None
    block = re.search(r"```rust\n(.*?)```", text.split(mark, 1)[1], re.S)
    assert block, f"no ```rust block after {mark} in {doc}"
    return block.group(1)


def splice(source: str, code: str) -> str:
    start, end = region(source)
    lines = source.splitlines(keepends=True)
    return "".join([*lines[: start + 1], code, *lines[end:]])


def build(tmp: Path, n: int, source: str) -> Path:
    """Build exercise ``n`` with ``source`` as its lib.rs into a wheel and unpack it.

    A copy of the workspace with the crate as its only member (``common`` by its
    absolute path), sharing target/ so nothing is recompiled but the crate; the
    package is renamed so its library does not overwrite the real exercise's in
    target/profiling/. Returns the folder the wheel was unpacked into.
    """
    workspace = tmp / "workspace"
    copy = workspace / crate(n).name
    shutil.copytree(crate(n), copy, ignore=shutil.ignore_patterns("*.so", "__pycache__", "tests"))
    (copy / "src" / "lib.rs").write_text(source)
    manifest = copy / "Cargo.toml"
    name = f'name = "exercise{n}"'
    assert name in manifest.read_text(), f"{crate(n)}/Cargo.toml: no `{name}`"
    manifest.write_text(manifest.read_text().replace(name, f'name = "exercise{n}_meta_check"', 1))
    root_manifest = (ROOT / "Cargo.toml").read_text()
    root_manifest, members = re.subn(
        r"(?m)^members = .*$", f'members = ["{copy.name}"]', root_manifest
    )
    common = (ROOT / "stages" / "common").as_posix()
    root_manifest, paths = re.subn(
        r'(?m)^common = \{ path = "[^"]*" \}', f'common = {{ path = "{common}" }}', root_manifest
    )
    assert members == 1 and paths == 1, "the root Cargo.toml: one `members` and one `common`"
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
    (site / "lib.rs").write_text(source)  # what the source-reading checks read
    return site


def exercise_tests(n: int, site: Path) -> subprocess.CompletedProcess[str]:
    """``make check-exercise STAGE=n``'s pytest run, against the module unpacked in ``site``."""
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "RUST_BACKTRACE": "0",
        "POLY_MATCH_EXERCISE_SRC": str(site / "lib.rs"),
    }
    module = f"poly_match_exercise{n}"
    where = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(m.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    tests = crate(n) / "tests" / "test_exercise.py"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


# --- cheap checks on the sources -------------------------------------------------------


@pytest.mark.parametrize("n", EXERCISES)
def test_the_starter_has_its_todos_in_order_and_says_where_to_look(n: int) -> None:
    source = starter(n)
    body = inside(source)
    numbers = [int(k) for k in re.findall(r"// TODO\((\d+)\):", body)]
    assert numbers == list(range(1, todo_count(body) + 1)), f"TODO(k): lines: {numbers}"
    assert "todo!(" not in source and "unimplemented!(" not in source, "no panics"
    assert f"stages/exercise{n}/src/lib.rs" in re.sub(r"\\\n\s*", " ", body), "name the file"
    assert f"make hint STAGE={n}" in body, "say how to get a hint"
    link = re.search(r"(docs/workshop\.md)#([\w-]+)", body)
    assert link, "the NotImplementedError message should point to docs/workshop.md#..."
    assert link.group(2) in doccheck.heading_slugs((ROOT / link.group(1)).read_text())
    assert (crate(n) / "hints.md").read_text().count("\n## Hint ") >= 2, "hints.md: ## Hint k"


@pytest.mark.parametrize("n", EXERCISES)
def test_one_answer_each_and_the_translation_has_the_same(n: int) -> None:
    english = answer(DOCS["en"], n)
    assert english, f"docs/workshop.md has no <!-- exercise{n}-answer --> block"
    korean = answer(DOCS["ko"], n)
    assert korean in (None, english), f"workshop.ko.md's exercise {n} answer differs"


def section_4_search() -> str:
    """The body of stage 1's search as section 4 of the walkthrough prints it."""
    text = DOCS["en"].read_text()
    section = text.split("\n## 4. ", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```diff\n(.*?)```", section, re.S)
    assert block, "section 4 has no ```diff block"
    added = [line[1:] for line in block.group(1).splitlines() if line.startswith("+")]
    start = added.index("    let point = ndarray::aview1(&point);") + 1
    assert added[-1] == "}", "section 4's diff ends with the function's closing brace"
    return "\n".join(added[start:-1]) + "\n"


def test_exercise_1_is_section_4s_code() -> None:
    # An attendee types what section 4 shows: the starter's imports must take it as
    # written, and the answer (built and checked below) is exactly those lines.
    assert answer(DOCS["en"], 1) == section_4_search()
    hints = (crate(1) / "hints.md").read_text().split("\n## Hint ")[1:]
    leading, last = hints[:-1], hints[-1]
    assert all("```" not in hint for hint in leading), "only the last hint shows code"
    shown = re.search(r"```rust\n(.*?)```", last, re.S)
    assert shown, "the last hint shows the loop"
    assert textwrap.indent(shown.group(1), "    ") == section_4_search()


def test_the_exercises_are_not_stages() -> None:
    # Not benchmarked or profiled, and not built by `make build` (stages/stage*/ only).
    for n in EXERCISES:
        assert all(stage.crate != crate(n).name for stage in stages.STAGES)
        assert not crate(n).name.startswith("stage")
        assert f"poly_match_exercise{n}" not in {stage.module for stage in stages.STAGES}


# --- the two directions, built for real ---------------------------------------------------


@pytest.mark.parametrize("n", EXERCISES)
def test_the_untouched_starter_fails_naming_its_todos_and_file(n: int, tmp_path: Path) -> None:
    source = starter(n)
    result = exercise_tests(n, build(tmp_path, n, source))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    todos = f"TODO(1) to TODO({todo_count(inside(source))})"
    assert f"exercise {n} not done yet" in out and todos in out, out
    assert f"stages/exercise{n}/src/lib.rs" in out and "docs/workshop.md" in out, out
    assert re.search(r"\b1 failed, \d+ skipped\b", out), out


@pytest.mark.parametrize("n", EXERCISES)
def test_the_answer_in_the_walkthrough_passes(n: int, tmp_path: Path) -> None:
    code = answer(DOCS["en"], n)
    assert code, f"docs/workshop.md has no <!-- exercise{n}-answer --> block"
    solved = splice(starter(n), code)
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
    result = exercise_tests(n, build(tmp_path, n, solved))
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed in\b", result.stdout), result.stdout
    assert "skipped" not in result.stdout and "failed" not in result.stdout


def test_a_name_made_per_lookup_fails_exercise_1(tmp_path: Path) -> None:
    # The check on the interned name can fail: the answer with a plain string literal,
    # which PyO3 turns into a new Python string on every lookup, does.
    code = answer(DOCS["en"], 1)
    interned = 'intern!(py, "center")'
    assert code and code.count(interned) == 1
    plain = splice(starter(1), code.replace(interned, '"center"'))
    result = exercise_tests(1, build(tmp_path, 1, plain))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"\b1 failed, \d+ passed\b", out), out
    assert "test_one_name_object_for_every_lookup" in out and "different name strings" in out, out
