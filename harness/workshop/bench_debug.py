"""The seed post's first lesson, measured: stage 1 built as debug, release and profiling.

    python -m workshop.bench_debug [--samples 7] [--seconds 1.0] [--no-build | --build-only]
    python -m workshop.bench_debug --borrow     # stage 2 frozen vs the article's borrow scope
    python -m workshop.bench_debug --abi3       # stage 4: the abi3 wheel vs this Python's

1. Build. The stage 1 crate, unchanged, with three Cargo profiles (see Cargo.toml):
   ``dev`` (what plain ``maturin develop`` gives: no optimisation), ``release``
   (``maturin develop -r``) and ``profiling`` (release + debug info, what
   ``make build`` installs). Each wheel is unpacked into its own folder,
   ``build/stage1-<profile>``; the build installed in .venv is not touched. ``make``
   runs the builds alone (``--build-only``), so that ``make bench-debug`` finds every
   dependency compiled and only packs the wheels again.
2. Time. Each sample is a fresh ``python -m workshop.run stage1 --seconds S`` with
   ``PYTHONPATH=build/stage1-<profile>`` in front, so that build shadows the one in
   .venv; the child prints the file it loaded, and the run stops if it is not the
   intended one. The baseline (stage 0) runs in the same rounds, for scale. Rounds
   alternate the builds, so a noisy neighbour slows all of them alike.
3. Report the median time per call of each build and the ratios, in a table
   printed here and written to ``results/bench-debug.md`` and ``.json``.

``--borrow`` does the same for stage 2: the crate as it is (``frozen``, read
with ``.get()``) against stage 2 as the article wrote it in 2023 (not frozen, read with
``try_borrow()?`` in a block that ends the borrow), both with ``--profile profiling``.
The article's crate is today's source with ``ARTICLE_PATCH`` applied (exact string
replacements, each asserted to apply once), built from a copy of the workspace in
``build/stage2-article-src/`` into the shared ``target/``. Every build's answers are
checked against the baseline (``workshop.checks``), in a child that loads it, before
any timing. Writes ``results/bench-borrow.md`` and ``.json``.

``--abi3`` does the same for stage 4, both ``--profile profiling``: as ``make wheel``
builds it, for the stable ABI (``--features pyo3/abi3-py310``, one wheel for CPython 3.10
and later), against a wheel for this Python only (``cp311``, say), as ``make build``
builds it. Writes ``results/bench-abi3.md`` and ``.json``.

``--signals`` times stage 3 as it is, asking Python for Ctrl-C once per point
(``py.check_signals()``), against the same crate patched by ``SIGNALS_PATCH`` to never
ask: what answering Ctrl-C costs. Writes ``results/bench-signals.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from workshop import REPO, RESULTS, bench, child_env, machines, report, run, shown

STAGES_DIR = REPO / "stages"
BUILD = REPO / "build"
PROFILES = ("dev", "release", "profiling")
WHAT = {
    "stage0": "the Python baseline, for scale",
    "dev": "`maturin develop` (no -r): opt-level 0",
    "release": "`maturin develop -r`: opt-level 3",
    "profiling": "release + debug info (`make build`)",
    "stage2": "`#[pyclass(frozen)]`, read with `.get()` (this repo's stage 2)",
    "article": "not frozen, read with `try_borrow()?` in a block (the article, 2023)",
    "specific": "for this Python version only (as `make build` builds it)",
    "abi3": "`--features pyo3/abi3-py310`: the stable ABI, Python >= 3.10 (`make wheel`)",
    "stage3": "`py.check_signals()` once per point: Ctrl-C stops the loop (this repo's stage 3)",
    "unchecked": "the same loop never asking for signals: Ctrl-C waits for the call to return",
}

# Stage 2 as the article wrote it: (file in the crate, old, new), each applied exactly once.
ARTICLE_PATCH: tuple[tuple[str, str, str], ...] = (
    (
        "src/lib.rs",
        "// `frozen`: no `&mut self` method can exist, so reading needs no borrow flag.\n"
        "#[pyclass(frozen, subclass,",
        "// As the article wrote it (2023): every read sets and clears a borrow flag.\n"
        "#[pyclass(subclass,",
    ),
    (
        "src/lib.rs",
        "        // `.get()` on a frozen class: a plain `&Polygon`, no borrow flag to set\n"
        "        // and clear, and the center is read where it lies, not copied.\n"
        "        if is_close(&poly.get().center, &point, max_dist.0) {\n",
        "        // The article's borrow scope: the borrow ends with the block, before\n"
        "        // `poly` moves into the list.\n"
        "        let close = {\n"
        "            let center = &poly.try_borrow()?.center;\n"
        "            is_close(center, &point, max_dist.0)\n"
        "        };\n"
        "        if close {\n",
    ),
    (
        "src/lib.rs",
        "Array1::from(poly.get().center.to_vec())",
        "Array1::from(poly.try_borrow()?.center.to_vec())",
    ),
    ("src/lib.rs", "slf.get().vertices.repr(", "slf.borrow().vertices.repr("),
    # Its own package name, so its library never overwrites stage 2's in the shared target/.
    ("Cargo.toml", 'name = "stage2_polygon"\n', 'name = "stage2_article"\n'),
)

# Stage 3 that never asks Python whether Ctrl-C was pressed.
SIGNALS_PATCH: tuple[tuple[str, str, str], ...] = (
    (
        "src/lib.rs",
        "let picks = select(&sites, &coords, max_dist.0, picks, || py.check_signals())?;",
        "let picks = select(&sites, &coords, max_dist.0, picks, || Ok::<(), PyErr>(()))?;",
    ),
    ("Cargo.toml", 'name = "stage3_selector"\n', 'name = "stage3_unchecked"\n'),
)


@dataclass(frozen=True)
class Build:
    """One build of a stage crate: its row in the table, its folder, how it is made."""

    name: str  # the row: a Cargo profile, or "stage2" / "article", ...
    stage: str  # the workshop.run stage it runs as
    crate: str  # under stages/
    profile: str
    patch: tuple[tuple[str, str, str], ...] = ()  # a patched build's label is its name
    features: tuple[str, ...] = ()  # cargo features maturin builds with

    @property
    def folder(self) -> Path:
        label = self.name if self.patch else "abi3" if self.features else self.profile
        return BUILD / f"{self.stage}-{label}"

    @property
    def module(self) -> str:
        return f"poly_match_{self.stage}"


DEBUG = [Build(p, "stage1", "stage1_getattr", p) for p in PROFILES]
BORROW = [
    Build("stage2", "stage2", "stage2_polygon", "profiling"),
    Build("article", "stage2", "stage2_polygon", "profiling", ARTICLE_PATCH),
]
ABI3 = [
    Build("specific", "stage4", "stage4_grid", "profiling"),
    Build("abi3", "stage4", "stage4_grid", "profiling", features=("pyo3/abi3-py310",)),
]
SIGNALS = [
    Build("stage3", "stage3", "stage3_selector", "profiling"),
    Build("unchecked", "stage3", "stage3_selector", "profiling", SIGNALS_PATCH),
]

# Runs in the child: report which extension module was imported, then check or time it.
CHILD = """\
import sys
import {module}._core as core
print("loaded", core.__file__)
if sys.argv[1] == "--check":
    from workshop import bench, stages
    row = bench.check(stages.BY_NAME[sys.argv[2]])
    print("checked", row.status, row.detail or "")
    sys.exit(0)
from workshop.run import main
sys.exit(main(sys.argv[1:]))
"""


def patched(text: str, replacements: list[tuple[str, str]], where: str) -> str:
    """``text`` with each ``(old, new)`` applied; each ``old`` must occur exactly once."""
    for old, new in replacements:
        if text.count(old) != 1:
            raise SystemExit(
                f"{where}: the patch expects this text exactly once, found it "
                f"{text.count(old)} times (did the stage change?):\n{old}"
            )
        text = text.replace(old, new)
    return text


def article_source(dest: Path) -> Path:
    """The article's stage 2 (``ARTICLE_PATCH``) in a workspace of its own, in ``dest``."""
    return patched_source(BORROW[1], dest)


def patched_source(b: Build, dest: Path) -> Path:
    """A workspace in ``dest``: the root Cargo.toml and Cargo.lock, stages/common (with the
    feature pins it depends on) and ``b``'s crate, patched. Returns the crate's Cargo.toml."""
    shutil.rmtree(dest, ignore_errors=True)
    for name in ("common", "workspace-hack", b.crate):
        shutil.copytree(STAGES_DIR / name, dest / "stages" / name,
                        ignore=shutil.ignore_patterns("*.so", "__pycache__", "target"))  # fmt: skip
    shutil.copy(REPO / "Cargo.lock", dest / "Cargo.lock")
    root = (REPO / "Cargo.toml").read_text()
    members = re.search(r"^members = \[.*\]$", root, re.MULTILINE)
    if members is None:
        raise SystemExit("Cargo.toml: no `members = [...]` line to rewrite")
    members_line = f'members = ["stages/common", "stages/workspace-hack", "stages/{b.crate}"]'
    (dest / "Cargo.toml").write_text(root.replace(members.group(0), members_line))
    crate = dest / "stages" / b.crate
    for name in sorted({file for file, _, _ in b.patch}):
        edits = [(old, new) for file, old, new in b.patch if file == name]
        path = crate / name
        path.write_text(patched(path.read_text(), edits, f"stages/{b.crate}/{name}"))
    return crate / "Cargo.toml"


def build(b: Build) -> None:
    """``maturin build --profile <profile>``, then unpack the wheel into its own folder."""
    wheels = BUILD / "wheels" / b.folder.name
    shutil.rmtree(wheels, ignore_errors=True)
    env = {**os.environ, "PYO3_PYTHON": os.environ.get("PYO3_PYTHON", sys.executable)}
    manifest = STAGES_DIR / b.crate / "Cargo.toml"
    if b.patch:
        manifest = patched_source(b, BUILD / f"{b.folder.name}-src")
        env["CARGO_TARGET_DIR"] = str(REPO / "target")  # shared: pyo3 and friends built once
    maturin = Path(sys.executable).with_name("maturin")
    features = ["--features", ",".join(b.features)] if b.features else []
    # Not --quiet: cargo's progress shows what a first build compiles, and for how long.
    subprocess.run(
        [str(maturin), "build", "--profile", b.profile, "--interpreter",
         sys.executable, "--out", str(wheels), "--manifest-path", str(manifest), *features],
        check=True, env=env,
    )  # fmt: skip
    (wheel,) = wheels.glob("*.whl")
    shutil.rmtree(b.folder, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--target", str(b.folder), str(wheel)],
        check=True,
    )  # fmt: skip


def child(b: Build | None, *args: str) -> tuple[str, str]:
    """Run the child for build ``b`` (None: the baseline): ``(stdout, file it loaded)``."""
    env = child_env()  # one BLAS thread, as everywhere (the baseline's norm calls BLAS)
    if b is None:
        cmd = [sys.executable, "-m", "workshop.run", *args]
    else:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(b.folder), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        cmd = [sys.executable, "-c", CHILD.format(module=b.module), *args]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    if b is None:
        return out, "poly_match (Python)"
    loaded = grab(r"^loaded (.*)$", out)
    if not Path(loaded).resolve().is_relative_to(b.folder.resolve()):
        raise SystemExit(f"{b.name}: PYTHONPATH did not win, the child loaded {loaded}")
    return out, loaded


def check(b: Build) -> None:
    """The build's answers against the baseline's, in a child that loads that build."""
    status = grab(r"^checked (.*)$", child(b, "--check", b.stage)[0])
    if not status.startswith(bench.OK):
        raise SystemExit(f"{b.name} ({b.folder}): not timed: {status}")


def sample(b: Build | None, seconds: float) -> tuple[float, str]:
    """One fresh process: ``(ms per call, file of the module it loaded)``."""
    stage = "stage0" if b is None else b.stage
    out, loaded = child(b, stage, "--seconds", str(seconds))
    timing = run.parse_result(out)
    if timing is None:
        raise SystemExit(f"unexpected output from the child (no result line):\n{out}")
    return timing[1], loaded


def grab(pattern: str, out: str) -> str:
    match = re.search(pattern, out, re.MULTILINE)
    if match is None:
        raise SystemExit(f"unexpected output from the child (no {pattern!r}):\n{out}")
    return match.group(1)


def size_mb(b: Build | None) -> str:
    if b is None:
        return ""
    (so,) = b.folder.glob(f"{b.module}/_core*.so")
    return f"{so.stat().st_size / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.bench_debug", description=__doc__)
    parser.add_argument("--samples", type=int, default=7, help="samples per build (default 7)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one sample")
    parser.add_argument("--no-build", action="store_true", help="reuse the builds in build/")
    parser.add_argument(
        "--build-only", action="store_true", help="build, then stop (what `make` runs)"
    )
    parser.add_argument(
        "--borrow", action="store_true", help="stage 2 frozen vs the article's (bench-borrow)"
    )
    parser.add_argument(
        "--abi3", action="store_true", help="stage 4 abi3 vs version-specific (bench-abi3)"
    )
    parser.add_argument(
        "--signals", action="store_true", help="stage 3 asking for Ctrl-C vs not (bench-signals)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    args = parser.parse_args(argv)
    # The builds, the one the others are divided by (and the ratio's name), the report.
    builds, ref, versus, name = (
        (BORROW, "stage2", "frozen", "bench-borrow")
        if args.borrow
        else (ABI3, "specific", "specific", "bench-abi3")
        if args.abi3
        else (SIGNALS, "stage3", "checked", "bench-signals")
        if args.signals
        else (DEBUG, "release", "release", "bench-debug")
    )

    if not args.no_build:
        for b in builds:
            how = f" patched: {WHAT[b.name]}" if b.patch else ""
            how += f" with {', '.join(b.features)}" if b.features else ""
            print(f"building {b.crate}{how} ({b.profile}) -> {shown(b.folder)}", flush=True)
            build(b)
    if args.build_only:
        return 0
    for b in builds:
        print(f"checking {b.name}'s answers against the baseline", flush=True)
        check(b)
    print("answers checked against the baseline: " + ", ".join(b.name for b in builds))

    by_name: dict[str, Build | None] = {"stage0": None, **{b.name: b for b in builds}}
    names = list(by_name)
    times: dict[str, list[float]] = {n: [] for n in names}
    loaded: dict[str, str] = {}
    for k in range(args.samples):
        for n in bench.in_turn(names, k):
            ms, loaded[n] = sample(by_name[n], args.seconds)
            times[n].append(ms)
        print(f"round {k + 1}/{args.samples}: " + ", ".join(
            f"{n} {report.fmt_time(times[n][-1] * 1e-3)}" for n in names), flush=True)  # fmt: skip

    median = {n: statistics.median(times[n]) for n in names}
    rows = [
        {
            "build": n,
            "what": WHAT[n],
            "median_ms": median[n],
            "samples_ms": times[n],
            f"vs_{versus}": median[n] / median[ref],
            "speedup_vs_stage0": median["stage0"] / median[n],
            "so_size": size_mb(by_name[n]),
            "loaded": loaded[n],
        }
        for n in names
    ]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{machines.cpu()[0]}, Python {platform.python_version()}"
    conditions = (
        f"{args.samples} samples per build, each a fresh `python -m workshop.run "
        f"{builds[0].stage} --seconds {args.seconds}` on the canonical workload, rounds "
        f"interleaved; {when}, {os.cpu_count()} cores, {machine}."
    )
    result: dict[str, object] = {"conditions": conditions}
    if args.borrow:
        result["article_over_frozen"] = median["article"] / median["stage2"]
        markdown, verdict = report.borrow_markdown, report.borrow_verdict
    elif args.abi3:
        result["abi3_over_specific"] = median["abi3"] / median["specific"]
        markdown, verdict = report.abi3_markdown, report.abi3_verdict
    elif args.signals:
        result["checked_over_unchecked"] = median["stage3"] / median["unchecked"]
        markdown, verdict = report.signals_markdown, report.signals_verdict
    else:
        result["dev_over_release"] = median["dev"] / median["release"]
        markdown, verdict = report.debug_markdown, report.debug_verdict
    result["rows"] = rows
    print("\n".join(["", *report.debug_table(rows, versus), "", verdict(result)]))
    print("\n".join(["modules loaded:", *report.debug_loaded(result)]))
    report.write_report(result, args.out, name, markdown)
    print(f"wrote {shown(args.out / f'{name}.md')} and {name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
