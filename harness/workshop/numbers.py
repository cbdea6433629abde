"""Every measured number in the docs, rendered from the reference data (one source of truth).

    python -m workshop.numbers            # check: exit 1 if a doc disagrees (`make lint`)
    python -m workshop.numbers --write    # rewrite the docs' numbers (`make docs-numbers`)

A number in a doc is written between markers that name it::

    stage 2 is <!--n:bench.stage2.speedup-->142x<!--/n--> faster

The plain keys are the typical machine's values (``reference/sets.json``; see
``workshop.machines``); every reference set's own are ``KEY@MACHINE``
(``bench.stage1.speedup@intel-xeon-avx512``), and where the sets disagree
``KEY.range`` spans them (``9.2–16.3x``; ``KEY.range_ko`` writes ``9.2~16.3``, as Korean
prose does) over the sets measured at the stage's current code.

and a whole generated table between ``<!--table:NAME-->`` and ``<!--/table-->`` lines.
The markers are HTML comments: GitHub shows only the number. ``--write`` puts in the
value computed from the reference JSON (``reference/MACHINE/``); the check fails when a
doc holds anything else, names an unknown key, or states a measured-looking time or ratio
outside markers and code blocks: ``12 ms``, ``3.4x``, ``138배``, and in words, ``a
microsecond or two``, ``twice as fast``, ``몇 나노초``: the way typed numbers creep back
in. A line that must hold such a number anyway (a target, a setting) ends with
``<!--not-measured-->``. Links into a reference set (``reference/MACHINE/bench.md``)
point at the typical one's; ``--write`` rewrites them when the typical machine changes.

``python -m workshop.numbers --keys`` lists every key with its current value.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workshop import REFERENCE, REPO, analyse, machines, report, stagediff, stages
from workshop.machines import RefSet, cpu_label
from workshop.report import fmt_rate, fmt_speedup, fmt_time
from workshop.stacks import Profile

DOCS = (
    "README.md",
    "docs/*.md",
    "stages/*/README.md",
    "harness/README.md",
    "reference/README.md",
)

MARK = re.compile(r"<!--n:([\w.\-@]+)-->(.*?)<!--/n-->")
TABLE = re.compile(r"^<!--table:([\w.\-]+)-->\n(.*?)^<!--/table-->$", re.M | re.S)
# What a typed measurement looks like: a time, a ratio, a Korean ratio; and in words, a
# time (``a microsecond or two``, ``a few nanoseconds``, ``1~2마이크로초``, ``몇 나노초``)
# or a ratio (``twice as fast``, ``ten times slower``, ``두 배``).
MEASURED = re.compile(r"(?<![\w.])\d[\d,]*(\.\d+)?\s?(ms|µs|us|ns|x|배)(?![\w])")
COUNT = (
    r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several|some|"
    r"hundreds of|tens of|a hundred|a thousand|\d[\d,.]*)"
)
IN_WORDS = re.compile(
    rf"\b{COUNT}(?:\s+or\s+{COUNT})?[\s-]+(?:nano|micro|milli)seconds?\b"
    rf"(?:\s+or\s+(?:{COUNT}))?"
    rf"|\b(?:twice|thrice|half|{COUNT}\s+times)\s+(?:as\s+(?:fast|slow|long)|faster|"
    r"slower|quicker|the\s+(?:time|speed))\b"
    r"|(?:\d[\d,.]*\s?[~–-]\s?)?\d[\d,.]*\s?(?:나노초|마이크로초|밀리초)"
    r"|(?:몇|수|수십|수백|한두|두세|[두세네]|다섯|열)\s?(?:나노초|마이크로초|밀리초|배)",
    re.I,
)
ALLOW = "<!--not-measured-->"


def ratio(value: float) -> str:
    """A speed-up without its unit, for prose in any language: ``11.8``, ``1,562``."""
    return fmt_speedup(value).removesuffix("x")


def _load(name: str, ref: Path) -> Any:
    path = ref / name
    return json.loads(path.read_text()) if path.exists() else None


def bench_values(result: dict[str, Any]) -> dict[str, str]:
    values = {
        "bench.cpu": cpu_label(result["env"]),
        "bench.date": result["env"]["date"][:10],
        "bench.rounds": str(result["method"]["rounds"]),
    }
    pairs = result["workload"]["n_polygons"] * result["workload"]["n_points"]
    for s in result["stages"]:
        if s.get("median_s") is None:
            continue
        key = f"bench.{s['name']}"
        values[f"{key}.median"] = fmt_time(s["median_s"])
        # One call tests every point against every polygon (or would, brute force):
        # the time per polygon-point pair, the walkthrough's first division.
        values[f"{key}.per_pair"] = fmt_time(s["median_s"] / pairs)
        values[f"{key}.speedup"] = fmt_speedup(s["speedup"])
        values[f"{key}.ratio"] = ratio(s["speedup"])
        # The whole pipeline's speed-up if this function were 20% of it (Amdahl).
        values[f"{key}.whole20"] = f"{1 / (0.8 + 0.2 / s['speedup']):.2f}"
        if s.get("first_call_s") is not None:
            values[f"{key}.first_call"] = fmt_time(s["first_call_s"])
        if s.get("large_one_thread_s") and s.get("large_every_thread_s"):
            one, every = s["large_one_thread_s"], s["large_every_thread_s"]
            values[f"{key}.large_one_thread"] = fmt_time(one)
            values[f"{key}.large_every_thread"] = fmt_time(every)
            values[f"{key}.large_second_core"] = f"{one / every:.2f}x"
    return values


def scaling_values(result: dict[str, Any]) -> dict[str, str]:
    values = {"scaling.cpu": cpu_label(result["env"])}
    for s in result["stages"]:
        for cell in s["cells"]:
            if cell.get("median_s") is not None:
                size = f"{cell['n_polygons']}x{cell['n_points']}"
                values[f"scaling.{s['name']}.{size}"] = fmt_time(cell["median_s"])
    return values


def build_values(result: dict[str, Any], prefix: str) -> dict[str, str]:
    """One crate built several ways (bench-debug, bench-borrow): each build's row."""
    values = {}
    for row in result["rows"]:
        values[f"{prefix}.{row['build']}.median"] = fmt_time(row["median_ms"] * 1e-3)
        values[f"{prefix}.{row['build']}.vs_stage0"] = f"{row['speedup_vs_stage0']:.2f}"
    return values


def setup_values(result: dict[str, Any]) -> dict[str, str]:
    """A fresh clone's `make` and `make test`, timed (``make bench-setup``)."""
    values = {"setup.cpu": cpu_label(result["env"])}
    for name, step in result["steps"].items():
        values[f"setup.{name}"] = report.fmt_duration(step["seconds"])
    return values


def debug_values(result: dict[str, Any]) -> dict[str, str]:
    values = {"debug.dev_over_release": f"{result['dev_over_release']:.1f}"}
    return values | build_values(result, "debug")


def borrow_values(result: dict[str, Any]) -> dict[str, str]:
    slower = result["article_over_frozen"]
    values = {"borrow.article_over_frozen": f"{slower:.2f}x", "borrow.ratio": f"{slower:.2f}"}
    return values | build_values(result, "borrow")


def abi3_values(result: dict[str, Any]) -> dict[str, str]:
    slower = result["abi3_over_specific"]
    values = {"abi3.abi3_over_specific": f"{slower:.2f}x", "abi3.ratio": f"{slower:.2f}"}
    return values | build_values(result, "abi3")


def signals_values(result: dict[str, Any]) -> dict[str, str]:
    slower = result["checked_over_unchecked"]
    values = {"signals.checked_over_unchecked": f"{slower:.2f}x", "signals.ratio": f"{slower:.2f}"}
    return values | build_values(result, "signals")


def profile_values(ref: Path) -> dict[str, str]:
    """``profile.STAGE.CATEGORY``: the share of the timed samples, as the compare page shows
    (py-spy's; samply's are ``profile.samply.STAGE.CATEGORY``), and what each recorder saw:
    ``profile.view.RECORDER.STAGE.{threads,python,rust,workers}``."""
    values = {}
    for recorder, folder in (("pyspy", ref), ("samply", ref / "samply")):
        prefix = "profile." if recorder == "pyspy" else "profile.samply."
        for folded in sorted(folder.glob("*.folded")):
            prof = Profile.read(folded)
            shares = analyse.where_time_goes(prof)
            total = max(sum(shares.values()), 1)
            values[f"{prefix}{prof.name}.samples"] = str(total)
            for key, n in shares.items():
                values[f"{prefix}{prof.name}.{key}"] = f"{100 * n / total:.0f}%"
            for key, share in analyse.recorder_view(prof).items():
                shown = f"{share:.0f}" if key in ("samples", "threads") else f"{100 * share:.0f}%"
                values[f"profile.view.{recorder}.{prof.name}.{key}"] = shown
            for key, check in analyse.keyed_claims_for(prof):
                claim = check(prof)
                if claim.share is not None:
                    values[f"claim.{key}.share"] = f"{100 * claim.share:.0f}%"
            if prof.recorder == "samply" and prof.name in analyse.SAMPLY_CLAIMS:
                _, grid = analyse.worker_shares(prof)
                values[f"profile.samply.{prof.name}.workers_grid"] = f"{100 * grid:.0f}%"
    return values


def threads_values(result: dict[str, Any]) -> dict[str, str]:
    values = {"threads.cpu": cpu_label(result["env"])}
    for row in result["rows"]:
        for cell in row.get("cells", []):
            key = f"threads.{row['stage']}.{row['workload']}.{cell['threads']}"
            values[key] = fmt_rate(cell["calls_per_s"])
            values[f"{key}.vs"] = f"{cell['vs_one_thread']:.2f}x"
    single = result["single_call"]
    values["threads.single.median"] = fmt_time(single["rayon_default"]["median_s"])
    if single.get("rayon_one"):
        values["threads.single.rayon_one"] = fmt_time(single["rayon_one"]["median_s"])
        values["threads.single.second_core"] = f"{single['second_core_speedup']:.2f}x"
    return values


def outliers_values(result: dict[str, Any]) -> dict[str, str]:
    values = {"outliers.cpu": cpu_label(result["env"])}
    ratios = []
    for case in result["cases"]:
        if case.get("median_s") is None:
            continue
        values[f"outliers.{case['name']}.median"] = fmt_time(case["median_s"])
        if case.get("ratio") is not None:
            values[f"outliers.{case['name']}.ratio"] = f"{case['ratio']:.2f}x"
            # The same without its unit, for prose that writes its own (Korean: 배).
            values[f"outliers.{case['name']}.times"] = f"{case['ratio']:.2f}"
            ratios.append(case["ratio"])
    if ratios:
        values["outliers.worst"] = f"{max(ratios):.2f}x"
    return values


def pipeline_values(result: dict[str, Any]) -> dict[str, str]:
    """``pipeline.SIZE.{stage4,stage5,stage5_one_core,vs_stage4,two_cores,two_cores_call}``."""
    values = {"pipeline.cpu": cpu_label(result["env"])}
    for row in result["rows"]:
        key = f"pipeline.{row['size']}"
        for name in ("stage4", "stage5", "stage5_one_core"):
            values[f"{key}.{name}"] = fmt_time(row[name]["median_s"])
        values[f"{key}.vs_stage4"] = fmt_speedup(row["stage5_over_stage4"])
        values[f"{key}.two_cores"] = f"{row['two_cores_over_one']:.2f}x"
        if "call_two_cores_over_one" in row:
            values[f"{key}.two_cores_call"] = f"{row['call_two_cores_over_one']:.2f}x"
    return values


def fp_values(result: dict[str, Any]) -> dict[str, str]:
    """``fp.*``: numpy's dot here, the floating-point lesson's areas (workshop.fp)."""
    lesson, art = result["lesson"], result["lesson"]["article"]
    values = {
        "fp.cpu": cpu_label(result["env"]),
        "fp.kernel": str(lesson["kernel"]),
        "fp.dot": lesson["dot2"],
        "fp.dot_ko": "FMA로 묶는 쪽" if lesson["dot2"] == "fused" else "곱셈과 덧셈을 따로 하는 쪽",
        "fp.dot2.differ": f"{lesson['dot2_differ']['differ']:,}",
        "fp.dot2.trials": f"{lesson['dot2_differ']['trials']:,}",
        "fp.article.close": str(art["close"]),
        "fp.article.tied": str(art["tied"]),
        "fp.article.forms_differ": str(
            sum(row["fused"] != row["unfused"] for row in art["candidates"].values())
        ),
    }
    for role, index in art["picks"].items():
        row = art["candidates"][str(index)]
        values[f"fp.article.{role}.vertex"] = f"({row['x0']:g}, {row['y0']:g})"
        for column in ("numpy", "fused", "unfused", "exact_float"):
            values[f"fp.article.{role}.{column.removesuffix('_float')}"] = repr(row[column])
    for column in ("numpy", "exact_float"):
        areas = [row[column] for row in art["candidates"].values()]
        values[f"fp.article.spread.{column.removesuffix('_float')}"] = (
            f"{max(areas) - min(areas):.1e}"
        )
    for k, row in enumerate(lesson["cancellation"], 1):
        for column in ("numpy", "fused", "unfused"):
            values[f"fp.cancel.{k}.{column}"] = repr(row[column])
        values[f"fp.cancel.{k}.exact"] = f"{row['exact_float']:.3g}"
    case = lesson["boundary"]
    values["fp.boundary.center"] = "({!r}, {!r})".format(*case["center"])
    values["fp.boundary.point"] = "({:g}, {:g})".format(*case["point"])
    values["fp.boundary.max_dist"] = f"{case['max_dist']:g}"
    values["fp.boundary.fused"] = "close" if case["fused_close"] else "not close"
    values["fp.boundary.unfused"] = "not close" if case["fused_close"] else "close"
    values["fp.boundary.fused_ko"] = "가깝다고" if case["fused_close"] else "가깝지 않다고"
    values["fp.boundary.unfused_ko"] = "가깝지 않다고" if case["fused_close"] else "가깝다고"
    return values


# The original post's figures ("Making Python 100x faster with less than 100 lines of
# Rust"): quoted, not measured here, so they are the one place numbers are typed.
ARTICLE = {
    "article.stage1.speedup": "12.5x",
    "article.stage2.speedup": "101x",
    "article.stage3.speedup": "362x",
}
# ``.ratio``: the speed-up without its unit, as for the bench keys (Korean prose: 12.5배).
ARTICLE |= {k.replace(".speedup", ".ratio"): v.removesuffix("x") for k, v in ARTICLE.items()}

# Sources of values: (file in the reference set, reader). A missing file gives no keys.
SOURCES: list[tuple[str, Callable[[Any], dict[str, str]]]] = [
    ("bench.json", bench_values),
    ("scaling.json", scaling_values),
    ("bench-debug.json", debug_values),
    ("bench-borrow.json", borrow_values),
    ("bench-abi3.json", abi3_values),
    ("bench-signals.json", signals_values),
    ("threads.json", threads_values),
    ("outliers.json", outliers_values),
    ("pipeline.json", pipeline_values),
    ("fp.json", fp_values),
    ("setup.json", setup_values),
]


def set_values(ref: Path, profiles: Path) -> dict[str, str]:
    """Every key of one reference set (its reports in ``ref``, its profiles in ``profiles``)."""
    out: dict[str, str] = {}
    for name, reader in SOURCES:
        data = _load(name, ref)
        if data is not None:
            out.update(reader(data))
    out.update(profile_values(profiles))
    return out


# --- several machines: KEY@MACHINE, KEY.range --------------------------------------------

# Keys that name no stage, and the stages their numbers measure (every key also depends
# on the baseline: see workshop.machines.code_paths).
MEASURES = {
    "debug": ["stage1"],
    "borrow": ["stage2"],
    "signals": ["stage3"],
    "abi3": ["stage4"],
    "threads": ["stage4"],
    "outliers": ["stage4"],
    "pipeline": ["stage4", "stage5"],
    "fp": ["stage0"],
}
ALIASES = {"stage4_floor": "stage4", "stage4_large": "stage4"}


def key_stages(key: str) -> list[str]:
    """The stages whose code a key's number measures: a stage named in it, else by prefix."""
    parts = key.split("@")[0].split(".")
    for part in parts:
        name = ALIASES.get(part, part)
        if name in stages.BY_NAME:
            return [name]
    return MEASURES.get(parts[0], [s.name for s in stages.STAGES])


NUMBER = re.compile(r"^(\d[\d,]*(?:\.\d+)?)(\s?(?:x|%|s|ms|µs|ns|/s))?$")
SCALE = {" s": 1.0, " ms": 1e-3, " µs": 1e-6, " ns": 1e-9}


def magnitude(text: str) -> tuple[float, str] | None:
    """``"514 ms"`` -> ``(0.514, " ms")``, ``"16.3x"`` -> ``(16.3, "x")``; else None."""
    m = NUMBER.match(text)
    if m is None:
        return None
    unit = m.group(2) or ""
    return float(m.group(1).replace(",", "")) * SCALE.get(unit, 1.0), unit


def span(texts: list[str], dash: str = "–") -> str | None:
    """The range of rendered values, in their own format: ``9.2–16.3x``, ``112–514 ms``,
    ``857 µs–2.10 ms``; the one value where they agree; None if one is not a number."""
    parsed = [(magnitude(t), t) for t in texts]
    if not parsed or any(m is None for m, _ in parsed):
        return None
    low = min(parsed, key=lambda p: p[0][0])  # type: ignore[index]
    high = max(parsed, key=lambda p: p[0][0])  # type: ignore[index]
    if low[1] == high[1]:
        return low[1]
    low_unit, high_unit = low[0][1], high[0][1]  # type: ignore[index]
    if low_unit == high_unit:
        return f"{low[1].removesuffix(low_unit)}{dash}{high[1]}"
    return f"{low[1]}{dash}{high[1]}"


def range_values(
    per_set: dict[str, dict[str, str]], counted: Callable[[str, str], bool]
) -> dict[str, str]:
    """``KEY.range`` (and ``KEY.range_ko``) over the sets that count for each key; over
    every set that has it where none counts yet (the plain keys are then as old)."""
    out = {}
    for key in sorted({k for values in per_set.values() for k in values}):
        having = {name: values[key] for name, values in per_set.items() if key in values}
        chosen = [v for name, v in having.items() if counted(name, key)] or list(having.values())
        for suffix, dash in ((".range", "–"), (".range_ko", "~")):
            text = span(chosen, dash)
            if text is not None:
                out[key + suffix] = text
    return out


def machine_values(found: list[RefSet]) -> dict[str, str]:
    labels = [refset.cpu for refset in found]
    return {
        "machines.typical": labels[0],
        "machines.count": str(len(found)),
        "machines.list": "; ".join(labels),
    }


def values(root: Path = REFERENCE, profiles: Path | None = None) -> dict[str, str]:
    """Every key: the article's figures, the typical set's values, each set's ``@MACHINE``
    values, the ranges and the machines."""
    found = machines.sets(root, profiles or machines.PROFILES_REFERENCE)
    if not found:
        raise SystemExit(f"no reference set in {root}/ (a folder with a {machines.RECORD})")
    per_set = {refset.name: set_values(refset.reports, refset.profiles) for refset in found}
    by_name = {refset.name: refset for refset in found}

    def counted(name: str, key: str) -> bool:
        return not machines.stale_for(by_name[name], key_stages(key))

    out: dict[str, str] = dict(ARTICLE) | per_set[found[0].name]
    for name, vals in per_set.items():
        out |= {f"{key}@{name}": value for key, value in vals.items()}
    out |= range_values(per_set, counted) | machine_values(found)
    sets_ = [(refset.name, refset.cpu, refset.profiles) for refset in found]
    out |= analyse.claim_values(sets_, lambda name, key: counted(name, f"claim.{key}"))
    return out


def left_out(root: Path = REFERENCE) -> list[str]:
    """Which sets the stages' ranges leave out, and why: a line per set and change."""
    lines = []
    for refset in machines.sets(root):
        by_change: dict[tuple[str, ...], list[str]] = {}
        for stage in stages.STAGES:
            changed = machines.stale_for(refset, [stage.name])
            if changed:
                by_change.setdefault(changed, []).append(stage.name)
        for changed, names in by_change.items():
            lines.append(
                f"{refset.name} (measured at {refset.commit[:7]}) is left out of the ranges of "
                f"{', '.join(names)}: {', '.join(changed)} changed since"
            )
    return lines


def bench_table(ref: Path) -> str | None:
    """The short results table README and walkthrough embed."""
    result = _load("bench.json", ref)
    if result is None:
        return None
    lines = ["| stage | what | median per call | speed-up |", "|:--|:--|--:|--:|"]
    for s in result["stages"]:
        if s.get("median_s") is not None:
            lines.append(
                f"| `{s['name']}` | {s['title']} | {fmt_time(s['median_s'])} | "
                f"{fmt_speedup(s['speedup'])} |"
            )
    return "\n".join(lines) + "\n"


def markdown_table(
    name: str, writer: Callable[[dict[str, Any]], str]
) -> Callable[[Path], str | None]:
    """The table (its ``|`` lines) of the report ``writer`` makes from ``name``."""

    def table(ref: Path) -> str | None:
        result = _load(name, ref)
        if result is None:
            return None
        return "".join(f"{line}\n" for line in writer(result).splitlines() if line.startswith("|"))

    return table


def make_help(_ref: Path) -> str:
    """What `make help` prints (not measured, but a copy that must not drift either)."""
    env = {**os.environ, "TERM": "dumb", "NO_COLOR": "1"}
    text = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return f"```text\n{text}```\n"


def machines_table(ref: Path) -> str | None:
    """The reference sets (``reference/README.md``): each machine, its commit, its baseline."""
    lines = [
        "| set | CPU | measured at | baseline (stage 0) | the docs quote |",
        "|:--|:--|:--|--:|:--|",
    ]
    for k, refset in enumerate(machines.sets(ref.parent)):
        bench = _load("bench.json", refset.reports) or {"stages": []}
        base = next((s for s in bench["stages"] if s["name"] == "stage0"), None)
        lines.append(
            f"| [`{refset.name}/`]({refset.name}/bench.md) | {refset.cpu} | "
            f"{refset.commit[:7]}, {str(refset.record.get('date', ''))[:10]} | "
            f"{fmt_time(base['median_s']) if base else ''} | "
            f"{'its numbers (typical)' if k == 0 else 'in ranges'} |"
        )
    return "\n".join(lines) + "\n"


def bench_machines_table(ref: Path) -> str | None:
    """Each stage's speed-up on each machine, side by side; a set measured before the
    stage's code changed is marked (it is left out of the stage's ranges)."""
    found = machines.sets(ref.parent)
    results = {refset.name: _load("bench.json", refset.reports) for refset in found}
    head = " | ".join(refset.cpu for refset in found)
    lines = [f"| stage | {head} |", "|:--|" + "--:|" * len(found)]
    for stage in stages.STAGES:
        cells = []
        for refset in found:
            rows = (results[refset.name] or {"stages": []})["stages"]
            row = next((r for r in rows if r["name"] == stage.name and r.get("speedup")), None)
            cell = fmt_speedup(row["speedup"]) if row else ""
            if row and machines.stale_for(refset, [stage.name]):
                cell += " (older code)"
            cells.append(cell)
        lines.append(f"| `{stage.name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


TABLES: dict[str, Callable[[Path], str | None]] = {
    "bench": bench_table,
    "machines": machines_table,
    "bench-machines": bench_machines_table,
    "make-help": make_help,
    "threads": markdown_table("threads.json", report.threads_markdown),
    "outliers": markdown_table("outliers.json", report.outliers_markdown),
    "pipeline": markdown_table("pipeline.json", report.pipeline_markdown),
    **{f"diff.stage{n}": (lambda _ref, n=n: stagediff.fenced(f"stage{n}")) for n in range(1, 6)},
}


def doc_files() -> Iterator[Path]:
    for pattern in DOCS:
        yield from sorted(REPO.glob(pattern))


def render(text: str, vals: dict[str, str], ref: Path) -> tuple[str, list[str], list[str]]:
    """``text`` with every marker's value put in; what was stale; what is wrong."""
    stale: list[str] = []
    wrong: list[str] = []

    def number(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in vals:
            wrong.append(f"unknown number {key!r} (see `python -m workshop.numbers --keys`)")
            return m.group(0)
        if m.group(2) != vals[key]:
            stale.append(f"{key} is {m.group(2)!r}, the reference data says {vals[key]!r}")
        return f"<!--n:{key}-->{vals[key]}<!--/n-->"

    def table(m: re.Match[str]) -> str:
        name = m.group(1)
        make = TABLES.get(name)
        body = make(ref) if make else None
        if body is None:
            wrong.append(f"unknown table {name!r} or no reference data for it")
            return m.group(0)
        if m.group(2) != body:
            stale.append(f"table {name} differs from what it is generated from")
        return f"<!--table:{name}-->\n{body}<!--/table-->"

    text = TABLE.sub(table, MARK.sub(number, text))
    return text, stale, wrong + typed_numbers(TABLE.sub("", text))


def typed_numbers(text: str) -> list[str]:
    """Measured-looking numbers outside markers, tables and code blocks (in words, also
    across a line break: ``a few`` / ``nanoseconds``)."""
    found, fenced = [], False
    prose: list[tuple[int, str]] = []  # (line number, its text), the lines checked
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or ALLOW in line:
            prose.append((lineno, ""))
            continue
        # A marker's value is not typed: a placeholder no pattern takes for a number.
        bare = re.sub(r"`[^`]*`", "", MARK.sub("\u27e8n\u27e9", line))
        prose.append((lineno, bare))
        for m in MEASURED.finditer(bare):
            found.append(f"line {lineno}: {m.group(0)!r} typed by hand (use a marker)")
    joined = " ".join(bare for _, bare in prose)
    starts = list(itertools.accumulate([0] + [len(bare) + 1 for _, bare in prose]))
    for m in IN_WORDS.finditer(joined):
        lineno = prose[bisect.bisect_right(starts, m.start()) - 1][0]
        words = " ".join(m.group(0).split())
        found.append(f"line {lineno}: {words!r} typed by hand (use a marker)")
    return found


# A path into a reference set, as the docs write it: reference/bench.md, ../profiles/reference/X.
SET_PATH = re.compile(r"(?<![\w\-/])((?:\.\./)*(?:profiles/)?reference/)([\w.\-]+)")


def set_links(text: str, found: list[RefSet]) -> tuple[str, list[str]]:
    """Paths into a reference set pointed at the typical set's folder: a path straight into
    ``reference/`` (a file of a set) or into another set. ``reference/README.md`` links them all."""
    typical, names = found[0], {refset.name for refset in found}
    stale: list[str] = []

    def point(m: re.Match[str]) -> str:
        prefix, first = m.groups()
        root = typical.profiles if prefix.endswith("profiles/reference/") else typical.reports
        if first in names and first != typical.name:
            stale.append(f"{m.group(0)!r} is into {first}/; the typical set is {typical.name}/")
        elif first not in names and (root / first).exists():
            stale.append(f"{m.group(0)!r} is into no set; the typical set is {typical.name}/")
        else:
            return m.group(0)
        return f"{prefix}{typical.name}" + ("" if first in names else f"/{first}")

    return SET_PATH.sub(point, text), stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.numbers", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the docs' numbers")
    parser.add_argument("--keys", action="store_true", help="list every key and its value")
    parser.add_argument(
        "--reference", type=Path, default=REFERENCE, help="the reference sets' folder"
    )
    parser.add_argument("files", nargs="*", type=Path, help="docs (default: all)")
    args = parser.parse_args(argv)
    vals = values(args.reference)
    if args.keys:
        for key, value in sorted(vals.items()):
            print(f"{key:40s} {value}")
        return 0
    found = machines.sets(args.reference)
    if args.write:
        for line in left_out(args.reference):
            print(f"note: {line}")
    failed = 0
    for path in [p.resolve() for p in args.files] or list(doc_files()):
        text = path.read_text(encoding="utf-8")
        new, stale, wrong = render(text, vals, found[0].reports)
        if path.name != "README.md" or path.parent.name != args.reference.name:
            new, moved = set_links(new, found)
            stale += moved
        name = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        if args.write and new != text:
            path.write_text(new, encoding="utf-8")
            print(f"{name}: numbers rewritten from the reference data")
        problems = wrong if args.write else stale + wrong
        for problem in problems:
            print(f"{name}: {problem}", file=sys.stderr)
        if stale and not args.write:
            print(f"{name}: `make docs-numbers` rewrites the stale ones", file=sys.stderr)
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
