"""The reference sets: one measured set per CPU the project has run on.

    python -m workshop.machines                # every set: its CPU, its commit, what it counts for
    python -m workshop.machines slug           # this machine's folder name (`make reference`)
    python -m workshop.machines record DIR     # DIR/set.json: this machine, the commit measured

``reference/<machine>/`` holds a set's reports (bench.json, ...) and ``set.json``, the
CPU and the commit it was measured at; ``profiles/reference/<machine>/`` its profiles.
``reference/sets.json`` names the typical machine: the docs' plain numbers are its
values. The ratios move with the CPU (the baseline is numpy-call-bound), so where the
sets disagree the docs quote the range, ``KEY.range`` (``workshop.numbers``).

A set counts for a stage while the stage's code is what was measured: its files
(``code_paths``), with unit tests and docs left out, the same as at the set's commit. A
set measured before the stage's code changed is left out of that stage's ranges (its
own numbers stay quotable as ``KEY@machine``) until ``make reference`` measures it again.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from workshop import PROFILES_REFERENCE, REFERENCE, REPO, stages

SETS = REFERENCE / "sets.json"
RECORD = "set.json"


def simd_level(simd: list[str]) -> str:
    if any(f.startswith("avx512") for f in simd):
        return "AVX-512"
    return "AVX2" if "avx2" in simd else "SSE"


def cpu_label(env: dict[str, Any]) -> str:
    """``AMD EPYC, 2 cores, AVX2``: what every quoted number is measured on."""
    return f"{env['cpu']}, {env['cores']} cores, {simd_level(env.get('cpu_simd', []))}"


def slug(cpu: str, simd: list[str]) -> str:
    """A set's folder: ``intel-xeon-avx512`` for "Intel(R) Xeon(R) Processor" with AVX-512."""
    name = re.sub(r"\((R|TM|C)\)|\bCPU\b|\bProcessor\b|@.*$", " ", cpu, flags=re.I)
    words = re.findall(r"[a-z0-9]+", name.lower())
    level = simd_level(simd).lower().replace("-", "")
    return "-".join([*words, level])


def cpu() -> tuple[str, list[str]]:
    """The CPU model and the SIMD extensions that matter here, from /proc/cpuinfo."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())  # the first CPU's lines
    except OSError:
        pass
    model = info.get("model name") or platform.processor() or "unknown"
    flags = info.get("flags", "").split()
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags]
    return model, simd


def this_machine() -> str:
    return slug(*cpu())


# --- the sets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RefSet:
    """One machine's measured set."""

    name: str  # the folder: reference/<name>/, profiles/reference/<name>/
    reports: Path
    profiles: Path
    record: dict[str, Any]

    @property
    def cpu(self) -> str:
        return str(self.record.get("cpu", self.name))

    @property
    def commit(self) -> str:
        return str(self.record["commit"])


def sets(root: Path = REFERENCE, profiles: Path = PROFILES_REFERENCE) -> list[RefSet]:
    """Every set under ``root`` (a folder with a set.json), the typical one first."""
    found = [
        RefSet(p.parent.name, p.parent, profiles / p.parent.name, json.loads(p.read_text()))
        for p in sorted(root.glob(f"*/{RECORD}"))
    ]
    first = typical_name(root)
    return sorted(found, key=lambda s: (s.name != first, s.name))


def typical_name(root: Path = REFERENCE) -> str | None:
    path = root / SETS.name
    return json.loads(path.read_text()).get("typical") if path.exists() else None


def typical(root: Path = REFERENCE, profiles: Path = PROFILES_REFERENCE) -> RefSet:
    found = sets(root, profiles)
    name = typical_name(root)
    chosen = next((s for s in found if s.name == name), None)
    if chosen is None:
        have = ", ".join(s.name for s in found) or "none"
        raise SystemExit(f"{root}/{SETS.name} names {name!r} as typical; the sets are: {have}")
    return chosen


# --- which code a set measured ------------------------------------------------------------

# What every number depends on besides its stage: the baseline (every speed-up divides by
# it) and the Python packages it runs on (numpy's per-call cost is the baseline's speed).
BASELINE = ["python_baseline/poly_match", "requirements.lock"]
# Compiled into every Rust stage: the shared crate, the workspace's profiles and pins.
RUST = ["stages/common", "stages/workspace-hack", "Cargo.toml", "Cargo.lock"]
NOT_CODE = [":(exclude)*.md", ":(exclude,glob)**/tests/**"]
# `stage4_grid = { path = "../stage4_grid" }` in a stage crate's Cargo.toml.
STAGE_PATH_DEPENDENCY = re.compile(r'path\s*=\s*"\.\./(stage\d[^"/]*)"')
# Of requirements.lock, the pins of what the timed code imports: a tool added to the lock
# (a linter, a linker) changes no number.
RUNTIME = re.compile(r"^(numpy|scipy|numba|llvmlite)==.*$", re.M)


def _code(name: str, text: str) -> str:
    """What of a file's text is code that runs timed: .rs without its unit tests, the
    lock's run-time pins; else all of it."""
    from workshop.stagediff import without_tests

    if name.endswith(".rs"):
        return without_tests(text)
    if name == "requirements.lock":
        return "\n".join(m.group(0) for m in RUNTIME.finditer(text))
    return text


def python_file(module: str) -> str:
    folder = REPO / "python_baseline"
    return f"python_baseline/{module}" + ("" if (folder / module).is_dir() else ".py")


def code_paths(stage: stages.Stage) -> list[str]:
    """The files whose change changes ``stage``'s numbers (git pathspecs)."""
    if stage.crate:
        own = [f"stages/{stage.crate}", *stage_dependencies(stage.crate), *RUST]
    elif python_file(stage.module) == BASELINE[0]:
        own = []  # the baseline imports none of the rivals' shared files
    else:
        modules = {python_file(s.module) for s in stages.STAGES if not s.crate}
        shared = [
            str(p.relative_to(REPO))
            for p in sorted((REPO / "python_baseline").glob("*.py"))
            if str(p.relative_to(REPO)) not in modules
        ]
        own = [python_file(stage.module), *shared]
    return sorted(set(own + BASELINE))


def stage_dependencies(crate: str) -> list[str]:
    """The other stage crates ``crate`` links (stage 5 reuses stage 4's search), from the
    path dependencies in its Cargo.toml."""
    manifest = (REPO / "stages" / crate / "Cargo.toml").read_text()
    return sorted(f"stages/{name}" for name in STAGE_PATH_DEPENDENCY.findall(manifest))


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)


@functools.cache
def changed_since(commit: str, paths: tuple[str, ...]) -> tuple[str, ...]:
    """The files among ``paths`` whose code differs between ``commit`` and the working
    tree: unit tests (``#[cfg(test)]`` modules, ``tests/``) and docs are not code here."""
    if _git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise SystemExit(
            f"a reference set was measured at commit {commit}, which this clone does not "
            "have (a shallow clone? `git fetch --unshallow`)"
        )
    listed = _git("diff", "--name-only", commit, "--", *paths, *NOT_CODE)
    changed = []
    for name in listed.stdout.split():
        old, path = _git("show", f"{commit}:{name}"), REPO / name
        same = (
            old.returncode == 0
            and path.exists()
            and _code(name, old.stdout) == _code(name, path.read_text())
        )
        if not same:
            changed.append(name)
    return tuple(changed)


def stale_for(refset: RefSet, stage_names: list[str]) -> tuple[str, ...]:
    """Why ``refset`` does not count for these stages: the files changed since (or ())."""
    paths = sorted({p for name in stage_names for p in code_paths(stages.get(name))})
    return changed_since(refset.commit, tuple(paths))


# --- recording a set ----------------------------------------------------------------------


def code_everywhere() -> list[str]:
    return sorted({p for s in stages.STAGES for p in code_paths(s)} | {"harness/workshop"})


def record(out: Path) -> dict[str, Any]:
    """``out/set.json``: this machine and the commit measured; refuses uncommitted code."""
    dirty = _git("status", "--porcelain", "--untracked-files=no", "--", *code_everywhere())
    if dirty.stdout.strip():
        raise SystemExit(
            "make reference measures committed code only (a set records the commit it was "
            "measured at); commit these first:\n" + dirty.stdout.rstrip()
        )
    model, simd = cpu()
    env = {"cpu": model, "cpu_simd": simd, "cores": len(os.sched_getaffinity(0))}
    data = {
        "machine": slug(model, simd),
        "cpu": cpu_label(env),
        "commit": _git("rev-parse", "HEAD").stdout.strip(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORD).write_text(json.dumps(data, indent=2) + "\n")
    if typical_name(out.parent) is None:
        (out.parent / SETS.name).write_text(json.dumps({"typical": data["machine"]}, indent=2))
    return data


def describe(root: Path = REFERENCE) -> str:
    lines = []
    for refset in sets(root):
        mark = " (typical)" if refset.name == typical_name(root) else ""
        lines.append(f"{refset.name}{mark}: {refset.cpu}, measured at {refset.commit[:7]}")
        for stage in stages.STAGES:
            changed = stale_for(refset, [stage.name])
            if changed:
                lines.append(f"  {stage.name}: left out of ranges ({', '.join(changed)} changed)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.machines", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["list", "slug", "record"], default="list")
    parser.add_argument("out", nargs="?", type=Path, help="record: the set's folder")
    args = parser.parse_args(argv)
    if args.command == "slug":
        print(this_machine())
    elif args.command == "record":
        if args.out is None:
            parser.error("record needs the set's folder")
        data = record(args.out)
        print(f"{args.out}: {data['cpu']}, commit {data['commit'][:7]}")
    else:
        print(describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
