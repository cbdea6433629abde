"""Every code block the docs quote is the source's, checked (run by ``make lint``).

    python -m workshop.excerpts              # the docs workshop.numbers renders
    python -m workshop.excerpts FILE ...     # these files only

A block of code (```rust, ```python, ```toml, ```diff) names what it quotes on the line
before it::

    <!--code:stages/stage3_selector/src/lib.rs-->      a file of the repository
    <!--code:diff-stage3-->                           the lesson's diff (`make diff-stage3`)
    <!--code:article-stage2-->     stage 2 as the article wrote it (`make bench-borrow`)

and its lines must be that source's, in order: each run of lines between two elision lines
(``...``, ``// ...``, ``# ...``) appears there as consecutive lines (comment lines the
excerpt leaves out apart), the runs in order. Indentation is not compared (an excerpt may be
dedented); a diff's ``+``/``-`` column is. So a line edited in the source and not in the doc
fails, and so does a block that names no source. Not checked here: an exercise's answer (the
block after ``<!-- exerciseN-answer -->``), which tests/test_exercise_meta.py builds and
tests; the generated diffs (``<!--table:diff.stageN-->``), which workshop.numbers renders;
shell sessions and output (```console, ```text, ```sh).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workshop import REPO, stagediff

CODE = {"rust", "python", "py", "toml", "diff"}
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
SOURCE = re.compile(r"^<!--code:([\w./\-]+)-->\s*$")
ANSWER = re.compile(r"^<!-- exercise\d-answer -->\s*$")
TABLE_START = re.compile(r"^<!--table:[\w.\-]+-->$")
# A comment line of the source (a diff's too), which an excerpt may leave out.
COMMENT = re.compile(r"^[+\- ]?(//|#)")
ELISION = {"...", "…", "// ...", "# ...", "+...", "+    ...", "-..."}


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    lines: list[str]
    source: str | None  # what the marker names, "answer" for an exercise's answer


def blocks(text: str) -> Iterator[Block]:
    """The code blocks of a Markdown text, with the marker on the line before each."""
    lines = text.splitlines()
    i, in_table = 0, False
    while i < len(lines):
        line = lines[i]
        if TABLE_START.match(line):
            in_table = True
        elif line == "<!--/table-->":
            in_table = False
        fence = FENCE.match(line)
        if fence is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), len(lines))
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = SOURCE.match(before.strip())
        source = marker.group(1) if marker else ("answer" if ANSWER.match(before.strip()) else None)
        if fence.group(2) in CODE and not in_table:
            yield Block(i + 1, fence.group(2), lines[i + 1 : end], source)
        i = end + 1


def source_text(name: str) -> str | None:
    """What a marker names: a file's text, or a stage diff; None if there is no such thing."""
    diff = re.fullmatch(r"diff-stage(\d)", name)
    if diff:
        return stagediff.diff(f"stage{diff.group(1)}")
    if name == "article-stage2":
        from workshop import bench_debug

        lib = REPO / "stages" / "stage2_polygon" / "src" / "lib.rs"
        edits = [(old, new) for file, old, new in bench_debug.ARTICLE_PATCH if file == "src/lib.rs"]
        return bench_debug.patched(lib.read_text(), edits, "ARTICLE_PATCH")
    path = REPO / name
    return path.read_text() if path.is_file() and path.resolve().is_relative_to(REPO) else None


def _norm(line: str, diff: bool) -> str:
    if diff and line[:1] in "+- ":
        return line[:1] + line[1:].strip()
    return line.strip()


def runs(lines: list[str]) -> list[list[tuple[int, str]]]:
    """The block's lines split at elisions: ``[[(index, line), ...], ...]``."""
    out: list[list[tuple[int, str]]] = [[]]
    for k, line in enumerate(lines):
        if line.strip() in ELISION:
            out.append([])
        else:
            out[-1].append((k, line))
    return [run for run in out if run]


def stale_line(block: Block, text: str) -> tuple[int, str] | None:
    """The first line of ``block`` that is not where the source would have it, or None."""
    diff = block.language == "diff"
    source = [_norm(line, diff) for line in text.splitlines()]
    start = 0
    for run in runs(block.lines):
        want = [_norm(line, diff) for _, line in run]
        best, best_end = -1, start  # the longest prefix of the run found, and its end
        for at in range(start, len(source)):
            n, j = 0, at
            while n < len(want) and j < len(source):
                if source[j] == want[n]:
                    n, j = n + 1, j + 1
                elif n > 0 and COMMENT.match(source[j]):
                    j += 1  # a comment the excerpt leaves out
                else:
                    break
            if n > best:
                best, best_end = n, j
            if n == len(want):
                break
        if best < len(want):
            return run[max(best, 0)]
        start = best_end
    return None


def check(doc: Path) -> list[str]:
    problems = []
    shown = doc.relative_to(REPO) if doc.is_relative_to(REPO) else doc
    for block in blocks(doc.read_text(encoding="utf-8")):
        where = f"{shown}:{block.line}"
        if block.source == "answer":
            continue
        if block.source is None:
            problems.append(
                f"{where}: a ```{block.language} block that names no source: put "
                "<!--code:PATH--> (a file) or <!--code:diff-stageN--> on the line before it"
            )
            continue
        text = source_text(block.source)
        if text is None:
            problems.append(f"{where}: <!--code:{block.source}-->: no such file or stage diff")
            continue
        stale = stale_line(block, text)
        if stale is not None:
            k, line = stale
            problems.append(
                f"{where}: line {k + 1} of the block is not in {block.source} (or not there, "
                f"in this order): {line.strip()!r}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    from workshop import numbers

    parser = argparse.ArgumentParser(prog="python -m workshop.excerpts", description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="docs (default: all)")
    args = parser.parse_args(argv)
    docs = [p.resolve() for p in args.files] or list(numbers.doc_files())
    problems = [problem for doc in docs for problem in check(doc)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"excerpts: {len(docs)} documents, {len(problems)} stale or unnamed code blocks")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
