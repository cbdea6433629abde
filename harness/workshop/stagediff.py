"""The diff from stage N-1 to stage N: the lesson of stage N, and nothing else.

    python -m workshop.stagediff stage3      # what `make diff-stage3` prints

Compares the stage crates' Rust sources (``src/``) and their Python packages, file by
file, with unit tests (``#[cfg(test)]`` modules) left out: they are not what a reader
meets first. Stage 1 is compared with the Python function it translates. The stage
READMEs embed this output (``<!--table:diff.stageN-->``), and ``make lint`` checks that
it is still what this prints.

On a terminal the diff is coloured and paged as ``git diff`` does it (``$PAGER``, else
``less`` with ``LESS=FRX``: quits if it fits on one screen, keeps the colours, leaves
the text on screen); piped or redirected, it is the plain text the READMEs embed. The
colours are git's defaults, four ANSI codes, so no library is needed for them.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys

from workshop import REPO, stages


def without_tests(source: str) -> str:
    """``source`` without its ``#[cfg(test)] mod ... { ... }`` blocks."""
    out, depth, skipping, pending = [], 0, None, False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("#[cfg(test)]"):
            pending = True
            continue
        if pending and re.match(r"(pub(\([\w: ]+\))?\s+)?mod\s+\w+", stripped):
            skipping, pending = depth, False
        depth += line.count("{") - line.count("}")
        if skipping is not None:
            if depth <= skipping:
                skipping = None
            continue
        out.append(line)
    return "".join(out).rstrip("\n") + "\n"


def sources(stage: stages.Stage) -> dict[str, tuple[str, str]]:
    """``{role: (path shown, text)}``: role is the path with the stage's names taken out."""
    crate = REPO / "stages" / str(stage.crate)
    files = sorted((crate / "src").rglob("*.rs")) + sorted((crate / "python").rglob("*.py"))
    out = {}
    for path in files:
        role = str(path.relative_to(crate)).replace(stage.module, "PACKAGE")
        out[role] = (str(path.relative_to(REPO)), without_tests(path.read_text()))
    return out


def baseline_search() -> dict[str, tuple[str, str]]:
    import poly_match

    text = inspect.getsource(poly_match.find_close_polygons)
    return {"src/lib.rs": ("python_baseline/poly_match/__init__.py", text)}


def previous(name: str) -> stages.Stage | None:
    """The stage before ``name`` in the walkthrough (stage 0 for stage 1)."""
    number = int(name.removeprefix("stage"))
    return None if number == 1 else stages.get(f"stage{number - 1}")


def reuses(stage: stages.Stage, before: stages.Stage | None) -> bool:
    """Whether ``stage``'s crate takes ``before``'s as a library (stage 5 takes stage 4's
    search): then ``before``'s files it has no copy of are reused, not removed."""
    if before is None or before.crate is None:
        return False
    manifest = (REPO / "stages" / str(stage.crate) / "Cargo.toml").read_text()
    return f'path = "../{before.crate}"' in manifest


def diff(name: str) -> str:
    stage = stages.get(name)
    before_stage = previous(name)
    before = baseline_search() if before_stage is None else sources(before_stage)
    after = sources(stage)
    chunks = []
    order = sorted(
        set(before) | set(after), key=lambda r: (not r.endswith(".rs"), r != "src/lib.rs", r)
    )
    for role in order:
        old_path, old = before.get(role, ("/dev/null", ""))
        new_path, new = after.get(role, ("/dev/null", ""))
        if old == new or (not new and reuses(stage, before_stage)):
            continue
        chunks += difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{old_path}" if old else old_path,
            f"b/{new_path}" if new else new_path,
            n=2,
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def fenced(name: str) -> str:
    return f"```diff\n{diff(name)}```\n"


# git's default diff colours: file headers bold, hunk headers cyan, removed red, added green.
COLOURS = (
    ("--- ", "\033[1m"),
    ("+++ ", "\033[1m"),
    ("@@", "\033[36m"),
    ("-", "\033[31m"),
    ("+", "\033[32m"),
)


def coloured(text: str) -> str:
    """``text`` (a unified diff) with git's colours."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        code = next((c for prefix, c in COLOURS if body.startswith(prefix)), None)
        out.append(f"{code}{body}\033[0m{line[len(body) :]}" if code and body else line)
    return "".join(out)


def show(text: str) -> None:
    """Print ``text``; on a terminal coloured (unless NO_COLOR is set) and through a pager."""
    if not sys.stdout.isatty():
        sys.stdout.write(text)
        return
    if "NO_COLOR" not in os.environ:
        text = coloured(text)
    pager = os.environ.get("PAGER") or ("less" if shutil.which("less") else "")
    if not pager or pager == "cat":
        sys.stdout.write(text)
        return
    env = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
    try:
        subprocess.run(shlex.split(pager), input=text, text=True, env=env, check=False)
    except OSError:  # no such pager: print it all
        sys.stdout.write(text)
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.stagediff", description=__doc__)
    parser.add_argument("stage", help="stage1 ... stage5")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"stage[1-9]", args.stage):
        parser.error("name a numbered stage: stage1, stage2, stage3, stage4, stage5")
    show(diff(args.stage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
