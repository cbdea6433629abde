"""Every ``make`` target and repository path the docs mention exists (run by ``make lint``).

    python -m workshop.doccheck              # README.md, docs/*.md, stages/*/README.md, reference/
    python -m workshop.doccheck FILE ...     # these files only

Checked:

- ``make TARGET ...`` at the start of inline code or of a command line in a code
  block (after an optional ``$`` prompt, ``&&``, ``;`` or ``|``): every target must
  be a rule of the Makefile. A pattern rule takes any stem, except ``profile-%``,
  whose stem must be a registered stage (``workshop.stages``, or ``stage4_large``: the
  profiler's subjects) or a placeholder in capitals (``make profile-STAGE``).
- Paths in inline code (a single word with a ``/``; relative to the document's
  folder or to the repository) and in links and ``src=``/``href=`` attributes
  (relative to the document's folder, as GitHub resolves them). ``{a,b}`` means
  both, ``*`` is a glob, a capitalised ``STAGE`` stands for any registered stage,
  and a path with a placeholder such as ``stageN`` is checked up to its folder.
  An ``#anchor`` into a Markdown file must match one of its headings.

Not checked: URLs, absolute and home paths, ``<placeholders>``, prose, and what
builds create (``target/``, ``build/``, ``.venv/``).
"""

from __future__ import annotations

import argparse
import glob
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from workshop import REPO, profile, stages

# Folders a build creates: mentioned in the docs, absent from a fresh clone.
GENERATED = ("target/", "build/", ".venv/", "results/", "profiles/runs/", "dist/")
FILE_SUFFIXES = {
    ".md", ".py", ".rs", ".toml", ".lock", ".json", ".svg", ".png", ".html",
    ".folded", ".txt", ".cfg", ".yml", ".yaml", ".sh",
}  # fmt: skip
# Pattern rules whose stem is a stage name: `make profile-stage9` would fail.
STAGE_PATTERNS = {"profile-%"}
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*")

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
ATTRIBUTE = re.compile(r"\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']")
# `make` in command position, then its words up to a shell operator.
MAKE = re.compile(r"(?:^|&&|;|\|\|?|\$\()\s*(?:\$\s+)?make((?:[ \t]+[^\s;&|)`]+)*)")
PATH_WORD = re.compile(r"[\w.\-/*{},]+")
RULE = re.compile(r"^([^\s#:=][^:=]*?)\s*::?(?!=)(.*)$")


@dataclass(frozen=True)
class Problem:
    doc: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Targets:
    names: frozenset[str]
    patterns: frozenset[str]  # with a %, as written in the Makefile

    def why_missing(self, target: str) -> str | None:
        """None when ``make target`` names a rule, else the reason it does not."""
        if target in self.names:
            return None
        for pattern in self.patterns:
            prefix, _, suffix = pattern.partition("%")
            if not (target.startswith(prefix) and target.endswith(suffix)):
                continue
            stem = target[len(prefix) : len(target) - len(suffix)]
            if len(stem) == 0:
                continue
            if pattern not in STAGE_PATTERNS or PLACEHOLDER.fullmatch(stem):
                return None
            if stem in profile.SUBJECTS:
                return None
            known = ", ".join(profile.SUBJECTS)
            return f"`make {target}`: {stem!r} is not a registered stage ({known})"
        return f"`make {target}`: no such target in the Makefile (see `make help`)"


def makefile_targets(makefile: Path) -> Targets:
    """The rule names of a Makefile (and .PHONY's), without the ones built from variables."""
    names: set[str] = set()
    for line in makefile.read_text().splitlines():
        match = RULE.match(line)
        if match is None:
            continue
        left, right = match.groups()
        words = left.split()
        if words[0] in {"export", "override", "define", "ifeq", "ifneq", "include"}:
            continue
        names.update(w for w in words if "$" not in w)
        if words == [".PHONY"]:
            names.update(w for w in right.split() if "$" not in w)
    return Targets(
        frozenset(n for n in names if "%" not in n), frozenset(n for n in names if "%" in n)
    )


def heading_slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings, plus explicit ``id=`` ones."""
    slugs: set[str] = set()
    seen: dict[str, int] = {}
    for line, in_code in _lines(markdown):
        if in_code:
            continue
        slugs.update(re.findall(r"\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", line))
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        slug = slugify(heading.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        slugs.add(slug if count == 0 else f"{slug}-{count}")
    return slugs


def slugify(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to ``-``."""
    text = re.sub(r"<[^>]+>", "", heading)  # inline HTML
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    kept = []
    for char in text.lower():
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LN" or category == "Mn":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def _lines(markdown: str) -> Iterator[tuple[str, bool]]:
    """``(line, inside a fenced code block)``; the fence lines count as code."""
    fence = None
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if match and (fence is None or match.group(1) == fence):
            fence = match.group(1) if fence is None else None
            yield line, True
            continue
        yield line, fence is not None


def make_targets(command: str) -> list[str]:
    """The targets of every ``make`` command in a line of shell."""
    targets = []
    for match in MAKE.finditer(command):
        for word in match.group(1).split():
            if word.startswith("-") or "=" in word:
                continue  # an option or VAR=value
            if word.startswith("#"):
                break
            targets.append(word)
    return targets


def expand(word: str) -> list[str]:
    """``a.{md,json}`` -> ``a.md``, ``a.json`` (one level of braces is all the docs use)."""
    match = re.search(r"\{([^{}]*)\}", word)
    if match is None:
        return [word]
    head, tail = word[: match.start()], word[match.end() :]
    return [w for part in match.group(1).split(",") for w in expand(head + part + tail)]


def _exists(candidate: Path) -> bool:
    text = str(candidate)
    if "*" in text:
        return bool(glob.glob(text))
    return candidate.exists()


def _variants(path: str) -> list[str]:
    """``STAGE`` -> every registered stage; ``stages/stageN_name/`` -> ``stages/``."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if re.search(r"[a-z][A-Z]", part):  # stageN: a placeholder, check its folder
            return ["/".join(parts[:i]) + "/"]
    if not re.search(r"(?<![a-z])STAGE(?![a-z])", path):
        return [path]
    return [re.sub(r"(?<![a-z])STAGE(?![a-z])", name, path) for name in stages.BY_NAME]


class DocChecker:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.targets = makefile_targets(self.root / "Makefile")
        self._slugs: dict[Path, set[str]] = {}

    def slugs(self, doc: Path) -> set[str]:
        if doc not in self._slugs:
            self._slugs[doc] = heading_slugs(doc.read_text())
        return self._slugs[doc]

    def check(self, doc: Path) -> list[Problem]:
        doc = doc.resolve()
        shown = doc.relative_to(self.root) if doc.is_relative_to(self.root) else doc
        problems = []
        for number, (line, in_code) in enumerate(_lines(doc.read_text()), start=1):
            for message in self._check_line(doc, line, in_code):
                problems.append(Problem(shown, number, message))
        return problems

    def _check_line(self, doc: Path, line: str, in_code: bool) -> Iterator[str]:
        if in_code:
            for target in make_targets(line):
                reason = self.targets.why_missing(target)
                if reason:
                    yield reason
            return
        prose = CODE_SPAN.sub("", line)
        links = [*LINK.findall(prose), *ATTRIBUTE.findall(prose)]
        for _, span in CODE_SPAN.findall(line):
            span = span.strip()
            for target in make_targets(span) if re.match(r"(\$\s+)?make\b", span) else []:
                reason = self.targets.why_missing(target)
                if reason:
                    yield reason
            if span in links:  # [`path`](path): checked once, as the link
                continue
            if PATH_WORD.fullmatch(span) and self._looks_like_a_path(doc, span):
                yield from self._check_path(doc, span, link=False)
        for dest in links:
            if not re.match(r"^[a-z][a-z0-9+.-]*:", dest):  # http:, mailto:, ...
                yield from self._check_path(doc, dest, link=True)

    def _looks_like_a_path(self, doc: Path, word: str) -> bool:
        if "/" not in word or word.startswith(("/", "~")):
            return False
        if word.startswith(GENERATED):
            return False
        first = word.split("/", 1)[0]
        if first and ((self.root / first).exists() or (doc.parent / first).exists()):
            return True
        return Path(word.split("#", 1)[0]).suffix in FILE_SUFFIXES

    def _check_path(self, doc: Path, dest: str, link: bool) -> Iterator[str]:
        path, _, anchor = dest.partition("#")
        path = re.sub(r":\d+(-\d+)?$", "", path)  # file.py:72
        if path.startswith(GENERATED) or (not link and path.startswith("/")):
            return
        bases = [doc.parent] if link else [doc.parent, self.root]
        found = None
        for variant in (v for word in expand(path) for v in _variants(word)):
            for base in bases:
                candidate = (base / variant) if variant else doc
                if _exists(candidate):
                    found = candidate.resolve()
                    break
            if found:
                break
        if found is None:
            where = "the document's folder" if link else "the repository or the document"
            yield f"{dest!r}: no such file or folder (relative to {where})"
            return
        if not found.is_relative_to(self.root):
            yield f"{dest!r}: points outside the repository"
        elif anchor and found.suffix == ".md" and anchor not in self.slugs(found):
            yield f"{dest!r}: no heading with the anchor #{anchor} in {found.name}"


def default_docs(root: Path) -> list[Path]:
    docs = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    docs += [*sorted((root / "stages").glob("*/README.md")), root / "reference" / "README.md"]
    return [doc for doc in docs if doc.exists()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("docs", nargs="*", type=Path, help="default: the repository's docs")
    parser.add_argument("--root", type=Path, default=REPO, help="the repository (its Makefile)")
    args = parser.parse_args(argv)
    checker = DocChecker(args.root)
    docs = args.docs or default_docs(checker.root)
    problems = [problem for doc in docs for problem in checker.check(doc)]
    for problem in problems:
        print(problem)
    print(f"doccheck: {len(docs)} documents, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
