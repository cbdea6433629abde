"""Turn the JSON of ``workshop.bench`` and ``workshop.scaling`` into tables and charts.

Markdown for the README, SVG (and PNG) charts drawn with matplotlib's Agg backend,
so nothing needs a display. The SVGs are written without a date and with a fixed
hash salt: the same numbers give the same file, and a diff shows what changed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workshop import REPO, stages

# Python in cool colours, the Rust stages warm, the Rust-only floor apart.
COLORS = {
    "stage0": "#7f7f7f",
    "vectorized": "#4c72b0",
    "numba": "#55a868",
    "scipy": "#64b5cd",
    "stage1": "#e3a33b",
    "stage2_alloc": "#dd8452",
    "stage2": "#c44e52",
    "stage3": "#8c2d3a",
    "stage4": "#5a1f6e",
    "stage4_floor": "#8172b3",
    "stage5": "#2d1b4e",
}
MARKERS = {
    "stage0": "o",
    "vectorized": "s",
    "numba": "P",
    "scipy": "X",
    "stage1": "^",
    "stage2_alloc": "v",
    "stage2": "D",
}


def fmt_time(seconds: float) -> str:
    """Three significant digits in a readable unit: ``106 ms``, ``4.02 ms``, ``40.1 µs``."""
    units = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6))
    unit, scale = next(((u, f) for u, f in units if seconds >= f), ("ns", 1e-9))
    value = seconds / scale
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def fmt_duration(seconds: float) -> str:
    """A wall time in minutes and seconds: ``48 s``, ``5 min 12 s``."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def fmt_speedup(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.1f}x"


def fmt_ratio(ratio: float) -> str:
    """Two decimals where a few percent matter (``1.13x``); a speed-up's digits above 100x."""
    return fmt_speedup(ratio) if ratio >= 100 else f"{ratio:.2f}x"


def _size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _color(name: str) -> str:
    if name in COLORS:
        return COLORS[name]
    stage = stages.BY_NAME.get(name)  # a stage added later: warm if it is Rust
    return "#dd8452" if stage is not None and stage.crate else "#4c72b0"


def env_block(env: dict[str, Any]) -> str:
    threads = " ".join(f"{k}={v if v is not None else '(unset)'}" for k, v in env["env"].items())
    load = f"load average {env['load_average_start']:.2f} at start"
    if "load_average_end" in env:
        load += f", {env['load_average_end']:.2f} at end"
    lines = [
        f"CPU      {env['cpu']}, {env['cores']} cores ({' '.join(env['cpu_simd'])}); {load}",
        f"OS       {env['os']}",
        f"Python   {env['python']} ({env['python_implementation']}), numpy {env['numpy']}, "
        f"BLAS {env['blas']}",
        f"Rust     {env['rustc']}",
        f"Threads  {threads}",
        f"Source   git {env['git']}, {env['date']}",
        *(f"Warning  {w}" for w in env.get("warnings", [])),
    ]
    return "\n".join(lines)


def _written_by(target: str, module: str) -> str:
    return (
        f"<!-- written by `make {target}` (python -m workshop.{module}): edits are overwritten -->"
    )


def _measured_with(target: str, result: dict[str, Any]) -> list[str]:
    """The closing lines of every report: the command and the machine."""
    return [
        "",
        f"Measured with `make {target}` (`{result['command']}`):",
        "",
        "```text",
        env_block(result["env"]),
        "```",
        "",
    ]


def _not_timed(status: str) -> str:
    return "**WRONG answer: not timed**" if status == "WRONG" else status


def _spread(median: float, q1: float | None, q3: float | None) -> str:
    """The interquartile range, and as a share of the median."""
    iqr = (q3 or median) - (q1 or median)
    return f"{fmt_time(iqr)} ({100 * iqr / median:.1f}%)"


def _savefig(fig: Any, base: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = [base.with_suffix(".svg"), base.with_suffix(".png")]
    with plt.rc_context({"svg.hashsalt": "poly-match", "svg.fonttype": "none"}):
        fig.savefig(paths[0], metadata={"Date": None}, bbox_inches="tight")
    fig.savefig(paths[1], dpi=144, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return paths


def _time_ticks() -> Any:
    """Axis labels in time units ("10 ms") rather than powers of ten of seconds."""
    from matplotlib.ticker import FuncFormatter

    def label(seconds: float, _pos: int) -> str:
        text = fmt_time(seconds)
        number, unit = text.split()
        return f"{float(number):g} {unit}"

    return FuncFormatter(label)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --- make bench ------------------------------------------------------------------------


def bench_markdown(result: dict[str, Any]) -> str:
    w = result["workload"]
    rounds = result["method"]["rounds"]
    lines = [
        _written_by("bench", "bench"),
        f"Canonical workload: {w['n_polygons']} polygons x {w['n_points']} points, "
        f"max_dist {w['max_dist']:g}. Every stage was checked against the baseline "
        "before it was timed (`workshop.checks`: the same picks, on this workload and on "
        "one with distinct areas; a stage computing the area itself may pick any polygon "
        "whose area is the least within 1e-9 here).",
        "",
        "| stage | what | median per call | IQR | speed-up | samples |",
        "|:--|:--|--:|--:|--:|--:|",
    ]
    notes = []
    for s in result["stages"]:
        name = f"`{s['name']}`"
        if s["median_s"] is None:
            lines.append(f"| {name} | {s['title']} | {_not_timed(s['status'])} | | | |")
            notes.append(f"- {name}: {s['detail']}")
            continue
        spread = _spread(s["median_s"], s["q1_s"], s["q3_s"])
        if s["source"] == "criterion":
            samples = f"{s['samples']} (criterion)"
            notes.append(f"- {name}: {s['detail']}")
        else:
            calls = s["calls_per_sample"]
            samples = f"{s['samples']} x {calls} call{'s' if calls > 1 else ''}"
        if s.get("first_call_s") is not None:
            notes.append(
                f"- {name}: its first-call cost, the JIT compile, took "
                f"{fmt_time(s['first_call_s'])} (once per process, before the checks; "
                "not in the samples)"
            )
        lines.append(
            f"| {name} | {s['title']} | {fmt_time(s['median_s'])} | {spread} | "
            f"{fmt_speedup(s['speedup'])} | {samples} |"
        )
    lines += [
        "",
        f"Median of {rounds} samples per stage; a sample is a loop of calls lasting "
        f"at least {result['method']['sample_target_s']:.2g} s, timed with "
        "`time.perf_counter`, gc off. The stages are interleaved round by round in one run, "
        "so the machine's noise hits them alike. IQR: third minus first quartile. "
        "Speed-up: the baseline's median divided by the stage's.",
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines + _measured_with("bench", result))


def bench_console(result: dict[str, Any]) -> None:
    """What `make bench` prints: the timed stages as a table for the terminal, then one
    line per stage not in it (not built, wrong, the floor not measured in this run)."""
    from rich.console import Console
    from rich.table import Table

    w = result["workload"]
    table = Table(
        title=f"{w['n_polygons']} polygons x {w['n_points']} points, medians of "
        f"{result['method']['rounds']} interleaved samples",
        title_justify="left",
    )
    table.add_column("stage")
    table.add_column("per call", justify="right")
    table.add_column("spread (IQR)", justify="right")
    table.add_column("speed-up", justify="right")
    table.add_column("what")
    missing = []
    for s in result["stages"]:
        if s["median_s"] is None:
            missing.append(f"{s['name']}: {s['detail'] or s['status']}")
            continue
        table.add_row(
            s["name"],
            fmt_time(s["median_s"]),
            _spread(s["median_s"], s["q1_s"], s["q3_s"]),
            fmt_speedup(s["speedup"]),
            s["title"],
        )
    # A terminal's own width; piped into a log, wide enough not to wrap the titles.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    console.print(table)
    for line in missing:
        console.print(f"  not in the table: {line}", markup=False, soft_wrap=True)


def bench_chart(result: dict[str, Any], base: Path) -> list[Path]:
    """Horizontal bars, median time per call on a log axis, the speed-up on each bar."""
    plt = _pyplot()
    rows = [s for s in result["stages"] if s["median_s"] is not None]
    medians = [s["median_s"] for s in rows]
    low, high = min(medians) / 4, max(medians) * 15
    fig, ax = plt.subplots(figsize=(9, 1.6 + 0.55 * len(rows)))
    y = range(len(rows))
    ax.barh(
        y,
        [m - low for m in medians],
        left=low,
        color=[_color(s["name"]) for s in rows],
        xerr=[
            [m - s["q1_s"] for m, s in zip(medians, rows, strict=True)],
            [s["q3_s"] - m for m, s in zip(medians, rows, strict=True)],
        ],
        error_kw={"elinewidth": 1, "capsize": 3, "ecolor": "#333333"},
    )
    for i, s in enumerate(rows):
        label = f"{fmt_time(s['median_s'])}   {fmt_speedup(s['speedup'])}"
        if s["name"] == "stage0":
            label += " (baseline)"
        ax.text(s["q3_s"] * 1.15, i, label, va="center", fontsize=10)
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.xaxis.set_major_formatter(_time_ticks())
    ax.set_yticks(list(y), [s["name"] for s in rows])
    ax.invert_yaxis()
    ax.set_xlabel("median time per call (log scale; whiskers: first to third quartile)")
    w = result["workload"]
    ax.set_title(
        f"poly-match, canonical workload: {w['n_polygons']} polygons x {w['n_points']} points\n"
        "time per call and speed-up over stage 0 (pure Python + numpy)"
    )
    missing = [f"{s['name']} ({s['status']})" for s in result["stages"] if s["median_s"] is None]
    env = result["env"]
    footer = f"{env['cpu']}, {env['cores']} cores; Python {env['python']}, numpy {env['numpy']}"
    footer += f"; {env['date'][:10]}; `make bench`"
    if missing:
        footer += "\nnot timed: " + ", ".join(missing)
    fig.text(0.01, -0.02, footer, fontsize=8, color="#555555", va="top")
    ax.grid(axis="x", which="major", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return _savefig(fig, base)


# --- make bench-scaling ----------------------------------------------------------------


def scaling_markdown(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    header = [f"{_size(s['n_polygons'])} x {_size(s['n_points'])}" for s in sizes]
    lines = [
        _written_by("bench-scaling", "scaling"),
        "Time per call (median) as the problem grows at constant density: polygons x points. "
        "In brackets: the growth over the previous size (brute force: 100x per step).",
        "",
        "| stage | " + " | ".join(header) + " |",
        "|:--|" + "--:|" * len(sizes),
    ]
    notes = []
    for s in result["stages"]:
        if s["status"] != "ok":
            lines.append(f"| `{s['name']}` | " + " | ".join([s["status"]] * len(sizes)) + " |")
            notes.append(f"- `{s['name']}`: {s['detail']}")
            continue
        cells, previous = [], None
        for c in s["cells"]:
            where = f"`{s['name']}` at {_size(c['n_polygons'])} x {_size(c['n_points'])}"
            if c["status"] == "ok":
                text = fmt_time(c["median_s"])
                if previous is not None:
                    text += f" ({c['median_s'] / previous:,.0f}x)"
                previous = c["median_s"]
            elif c["status"] == "skipped":
                text = "skipped"
                if c["predicted_s"] is not None:
                    text += f" (~{fmt_time(c['predicted_s'])})"
                notes.append(f"- {where}: skipped, {c['reason']}")
                previous = None
            else:
                text = "**WRONG**"
                notes.append(f"- {where}: {c['reason']}")
                previous = None
            cells.append(text)
        lines.append(f"| `{s['name']}` | " + " | ".join(cells) + " |")
    m = result["method"]
    lines += [
        "",
        f"Median of {m['rounds']} samples per cell, stages interleaved at each size. "
        f"A cell is skipped when its predicted cost ({m['cost']}) exceeds the budget of "
        f"{result['budget_s']:g} s; the prediction: {m['prediction']}.",
        "",
        *notes,
    ]
    return "\n".join(lines + _measured_with("bench-scaling", result))


def scaling_chart(result: dict[str, Any], base: Path) -> list[Path]:
    """Log-log time per call against polygons; skipped cells drawn hollow at their prediction."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    predicted_label = "predicted, skipped (over budget)"
    for s in result["stages"]:
        if s["status"] != "ok":
            continue
        color = _color(s["name"])
        done = [(c["n_polygons"], c["median_s"]) for c in s["cells"] if c["status"] == "ok"]
        if done:
            marker = MARKERS.get(s["name"], "o")
            ax.plot(*zip(*done, strict=True), marker=marker, color=color, label=s["name"])
        guess = [
            (c["n_polygons"], c["predicted_s"])
            for c in s["cells"]
            if c["status"] == "skipped" and c["predicted_s"] is not None
        ]
        if guess:
            line = done[-1:] + guess
            ax.plot(*zip(*line, strict=True), linestyle=":", color=color)
            ax.plot(
                *zip(*guess, strict=True),
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                color=color,
                label=predicted_label,
            )
            predicted_label = "_nolegend_"
    sizes = result["sizes"]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_time_ticks())
    ax.set_xticks(
        [s["n_polygons"] for s in sizes],
        [f"{_size(s['n_polygons'])} polygons\n{_size(s['n_points'])} points" for s in sizes],
    )
    ax.minorticks_off()
    ax.set_ylabel("median time per call (log scale)")
    ax.set_title("poly-match: time per call as the problem grows (constant density)")
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    env = result["env"]
    fig.text(
        0.01,
        -0.02,
        f"{env['cpu']}, {env['cores']} cores; Python {env['python']}, numpy {env['numpy']}; "
        f"{env['date'][:10]}; `make bench-scaling`, budget {result['budget_s']:g} s per cell",
        fontsize=8,
        color="#555555",
        va="top",
    )
    ax.spines[["top", "right"]].set_visible(False)
    return _savefig(fig, base)


def write_report(
    result: dict[str, Any],
    out: Path,
    name: str,
    markdown: Callable[[dict[str, Any]], str],
    chart: Callable[[dict[str, Any], Path], list[Path]] | None = None,
) -> list[Path]:
    """``out/NAME.json`` (``result``), ``NAME.md`` (``markdown(result)``) and the chart."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.json", out / f"{name}.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(markdown(result))
    return paths + (chart(result, out / name) if chart else [])


def fmt_rate(calls_per_s: float) -> str:
    """Calls per second: ``74.1/s``, ``24,310/s``."""
    return f"{calls_per_s:,.0f}/s" if calls_per_s >= 100 else f"{calls_per_s:.1f}/s"


def threads_markdown(result: dict[str, Any]) -> str:
    m, limit, threads = result["method"], result.get("gil_threshold"), result["threads"]
    above = f"above {limit:,} polygons + points" if limit else "on large inputs"
    below = f"at or below {limit:,} polygons + points" if limit else "on small inputs"
    lines = [
        _written_by("bench-threads", "threads"),
        "Python threads calling a stage's `main` at the same time, each making the row's "
        "number of calls on one shared workload: the total calls per second of all "
        f"threads (median of {m['rounds']} samples), in brackets the ratio to one thread. "
        f"Stage 4 releases the GIL {above} (and splits the points across the cores with "
        "rayon); stage 3 never releases it. Every thread's answer was checked against a "
        "single call's.",
        "",
        "| stage | workload | GIL during the call | calls per thread | "
        + " | ".join(f"{n} thread{'s' if n > 1 else ''}" for n in threads)
        + " |",
        "|:--|:--|:--|--:|" + "--:|" * len(threads),
    ]
    notes = []
    ratios: dict[tuple[str, str], dict[int, float]] = {}
    for r in result["rows"]:
        size = f"{_size(r['n_polygons'])} x {_size(r['n_points'])}"
        row = f"| `{r['stage']}` | {size} | {'released' if r['releases_gil'] else 'held'} |"
        if r["status"] != "ok":
            label = "**WRONG**" if r["status"] == "WRONG" else r["status"]
            lines.append(f"{row} | " + " | ".join([label] * len(threads)) + " |")
            notes.append(f"- `{r['stage']}` at {size}: {r['detail']}")
            continue
        cells = []
        for c in r["cells"]:
            more = f" ({c['vs_one_thread']:.2f}x)" if c["threads"] > 1 else ""
            cells.append(fmt_rate(c["calls_per_s"]) + more)
            ratios.setdefault((r["stage"], r["workload"]), {})[c["threads"]] = c["vs_one_thread"]
        lines.append(f"{row} {r['calls_per_thread']} | " + " | ".join(cells) + " |")
    lines += ["", *notes] if notes else []

    cores, single = result["env"]["cores"], result["single_call"]
    size = f"{_size(single['n_polygons'])} polygons x {_size(single['n_points'])} points"
    default, one = single.get("rayon_default"), single.get("rayon_one") or {}
    if single.get("error"):
        stage, error = single["stage"], single["error"]
        lines += ["", f"**Time per call** of `{stage}`: not measured ({error})."]
    if default is not None:
        verdict = target_verdict(default, single["target_s"])
        pools = f"rayon's default pool ({default['rayon_threads']} threads on {cores} cores)"
        if one.get("median_s"):
            pools += f", and {fmt_time(one['median_s'])} with `RAYON_NUM_THREADS=1`"
        lines += [
            "",
            f"**Time per call** of `{single['stage']}` on {size}, one thread: "
            f"**{fmt_time(default['median_s'])}** (IQR "
            f"{_spread(default['median_s'], default['q1_s'], default['q3_s'])}) with {pools}. "
            f"Taken side by side: a child process per pool, built the same way and asked in "
            f"turn for {default['samples']} samples each (the order reversed every other "
            f"round); a sample is a warm-up call, then calls back to back for "
            f">= {fmt_time(result['method']['sample_target_s'])}, and the figures are the "
            f"medians. The target, <= {fmt_time(single['target_s'])} on these cores (a hundred "
            f"times the canonical polygons and points in under a hundredth of a second): "
            f"{verdict}.",
        ]
        if one.get("median_s"):
            ratio = single["second_core_speedup"]
            if limit is not None and single["n_polygons"] + single["n_points"] <= limit:
                why = "At this size stage 4 does not use rayon: the pool size cannot matter."
            elif ratio >= 1.05:
                why = (
                    f"The second core makes a call {ratio:.2f}x faster, not 2x: only the grid "
                    "work is split, reading the polygons and building the pairs hold the GIL "
                    "on one core."
                )
            else:
                why = f"The second core does not make a call faster here ({ratio:.2f}x)."
            lines += ["", why]
        else:
            lines += ["", f"With `RAYON_NUM_THREADS=1`: not measured ({one.get('error')})."]
        worker = next(
            (
                r["cells"][0]
                for r in result["rows"]
                if r["stage"] == single["stage"] and r["workload"] == "large" and r["cells"]
            ),
            None,
        )
        if worker and worker.get("calls_per_s") and worker.get("minor_faults_per_call") is not None:
            lines += [
                "",
                f"Minor page faults per call: {default['minor_faults_per_call']:,.0f} in the "
                f"child with rayon's default pool, {worker['minor_faults_per_call']:,.0f} from "
                f"the worker thread of the 1-thread column ({fmt_time(1 / worker['calls_per_s'])} "
                "per call there, between the other rows' samples).",
            ]

    large = ratios.get((single["stage"], "large"), {})
    released = any(r["releases_gil"] and r["workload"] == "large" for r in result["rows"])
    if large.get(2) is not None and not released:
        lines += [
            "",
            f"At {size} stage 4 keeps the GIL ({below}): this run says nothing about releasing it.",
        ]
    elif large.get(2) is not None:
        r2, r4 = large[2], large.get(4)
        four = ""
        if r4 is not None:
            four = (
                f"; 4 threads add little ({r4:.2f}x)"
                if r4 <= 1.1 * r2
                else f"; 4 threads {r4:.2f}x, more such overlap"
            )
        lines += [
            "",
            f"**What releasing the GIL buys.** On {size}, 2 Python threads make {r2:.2f}x the "
            f"calls per second of one{four}: one call's grid work, GIL released, overlaps "
            "another's part that needs the GIL (reading the polygons, building the pairs). "
            f"rayon already spreads the grid work over the {cores} cores, so that overlap is "
            "all there is to gain; what releasing the GIL buys more surely is that the rest "
            "of a program keeps running during a long call.",
        ]
    canonical = [
        f"`{stage}` {r[2]:.2f}x"
        for (stage, w), r in ratios.items()
        if w == "canonical" and r.get(2) is not None
    ]
    if canonical:
        lines += [
            "",
            f"On the canonical workload no stage releases the GIL (stage 4 keeps it {below}, "
            "where handing it over costs more than the work): the threads take turns. "
            f"2 threads against one: {', '.join(canonical)}.",
        ]
    beside = result.get("beside", {})
    if beside.get("beside_median_s"):
        long = beside["long_call"]
        lines += [
            "",
            f"**A short call beside a long one.** `{single['stage']}` on {size} from one "
            f"thread: {fmt_time(beside['alone_median_s'])} alone (median of "
            f"{len(beside['alone_s'])} calls); {fmt_time(beside['beside_median_s'])} "
            f"(median of {len(beside['beside_s'])} calls, the slowest "
            f"{fmt_time(beside['beside_max_s'])}) while another thread's call of "
            f"{fmt_time(long['s'])} ran ({_size(long['n_polygons'])} copies of one polygon x "
            f"{long['n_points']:,} points at its center): the median "
            f"{beside['beside_vs_alone']:.2f}x its time alone, the slowest "
            f"**{beside['slowest_vs_alone']:.2f}x**. A call with worker "
            f"threads of its own shares the {cores} cores with the other and takes about "
            "twice as long; one that queued behind the other's work would wait for all of it.",
        ]
    lines += [
        "",
        f"A sample: the threads start behind a barrier, each makes its calls; calls / wall "
        f"time until the last is done, gc off. One thread's sample lasts at least "
        f"{m['sample_target_s']:.2g} s. The rows and thread counts are interleaved round "
        "by round in one run, so the machine's noise hits them alike.",
    ]
    return "\n".join(lines + _measured_with("bench-threads", result))


def target_verdict(timed: dict[str, Any], target: float) -> str:
    """Met, missed, or missed by less than the run's own spread (its first quartile meets
    the target): on a busy machine that is noise, and the report says so."""
    median, q1 = timed["median_s"], timed.get("q1_s") or timed["median_s"]
    if median <= target:
        return "met on this run"
    over = f"{fmt_time(median - target)} ({100 * (median / target - 1):.0f}%)"
    if q1 <= target:
        return (
            f"missed by {over} on this run, less than its own spread (a quarter of the samples "
            f"took {fmt_time(q1)} or less): noise, not a verdict; a quiet machine decides it"
        )
    return (
        f"**not met** on this run: {over} over, and three quarters of the samples took "
        f"{fmt_time(q1)} or more"
    )


def pipeline_markdown(result: dict[str, Any]) -> str:
    m = result["method"]
    lines = [
        _written_by("bench-pipeline", "pipeline"),
        "From a vertex table to pairs: the polygons as a pandas DataFrame, one row per vertex "
        "(`polygon`, `x`, `y`), the points as a DataFrame of `x`, `y`. Stage 4 builds a "
        "`Polygon` per polygon from its slices of the columns, then calls `main`; stage 5 "
        "passes the columns and the offsets where each polygon starts. Two cores against one: "
        "stage 5 in two child processes built alike, one with rayon's default pool and one "
        "with `RAYON_NUM_THREADS=1`. Before the timing, stage 5's pairs were checked equal "
        "to stage 4's at every size.",
        "",
        "| polygons x points | vertices | stage 4 | stage 5 | stage 5 (child), every core "
        "| stage 5 (child), one core | stage 5 vs stage 4 | two cores vs one "
        "| two cores vs one, the call alone | pairs |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in result["rows"]:
        size = f"{_size(r['n_polygons'])} x {_size(r['n_points'])}"
        if r["size"] == "canonical":
            size += " (canonical)"
        same = "" if r["same_picks"] else " **WRONG**"
        lines.append(
            f"| {size} | {r['vertices']:,} | {fmt_time(r['stage4']['median_s'])} | "
            f"{fmt_time(r['stage5']['median_s'])} | "
            f"{_child_time(r, 'stage5_every_core')} | "
            f"{fmt_time(r['stage5_one_core']['median_s'])} | "
            f"{r['stage5_over_stage4']:,.0f}x | {r['two_cores_over_one']:.2f}x | "
            f"{_call_ratio(r)} | {r['pairs']:,}{same} |"
        )
    lines += [
        "",
        f"Median of {m['rounds']} samples (fewer at 1M polygons) per pipeline and size; a "
        f"sample repeats the pipeline until it lasts {m['sample_target_s']:.2g} s "
        f"({m.get('cores_sample_target_s', m['sample_target_s']):.2g} s in the children), "
        "gc off. The four are interleaved round by round. stage 5 vs stage 4: stage 4's median "
        "divided by stage 5's; two cores vs one: the one-core child's median divided by the "
        "every-core child's, for the pipeline and for stage 5's call alone (the offsets "
        "computed before: numpy's step runs on one core whatever the pool).",
    ]
    return "\n".join(lines + _measured_with("bench-pipeline", result))


def _call_ratio(row: dict[str, Any]) -> str:
    """Two cores over one for stage 5's call alone, or a dash in a set measured before it was."""
    ratio = row.get("call_two_cores_over_one")
    return "–" if ratio is None else f"{ratio:.2f}x"


def _child_time(row: dict[str, Any], name: str) -> str:
    """A child's median, or a dash in a set measured before that child was timed."""
    return fmt_time(row[name]["median_s"]) if name in row else "–"


def outliers_markdown(result: dict[str, Any]) -> str:
    w, s, m = result["workload"], result["stage"], result["method"]
    limit = result["limit"]
    lines = [
        _written_by("bench-outliers", "outliers"),
        f"`{s['name']}` on {_size(w['n_polygons'])} polygons x {_size(w['n_points'])} points "
        f"(max_dist {w['max_dist']:g}): plain, with outliers added, and laid out in "
        f"clusters. No layout should cost more than {limit:g}x the plain case: real data "
        "has outliers and clusters, and a speed-up that holds only on a uniform square "
        "does not hold. Before it was timed, each outlier case's picks for the original "
        "points were checked equal to the plain workload's (and an added point's pick to "
        "the polygon it was put next to), and each cluster case's equal to its clusters' "
        "picks when each is searched alone.",
        "",
        f"| case | median per call | IQR | vs plain | within {limit:g}x | picks |",
        "|:--|--:|--:|--:|:-:|:--|",
    ]
    notes = []
    for c in result["cases"]:
        name = f"`{c['name']}`: {c['title']}"
        if c["median_s"] is None:
            lines.append(f"| {name} | {_not_timed(c['status'])} | | | | |")
            notes.append(f"- `{c['name']}`: {c['detail']}")
            continue
        within = "" if c["name"] == "plain" else "yes" if c["within_limit"] else "**no**"
        lines.append(
            f"| {name} | {fmt_time(c['median_s'])} | "
            f"{_spread(c['median_s'], c['q1_s'], c['q3_s'])} | {c['ratio']:.2f}x | "
            f"{within} | {c['detail']} |"
        )
    lines += [
        "",
        f"Median of {m['rounds']} samples per case; a sample is a loop of calls lasting at "
        f"least {m['sample_target_s']:.2g} s, gc off. The cases are interleaved round by "
        "round in one run. vs plain: the case's median divided by the plain one's.",
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines + _measured_with("bench-outliers", result))


# --- make bench-debug (a table, no environment block: a line of conditions) ---------------


def debug_table(rows: list[dict[str, Any]], versus: str = "release") -> list[str]:
    """``versus``: the build the ``/`` column divides by (its rows' ``vs_<versus>``)."""
    lines = [
        f"| build | what | median per call | fastest | / {versus} | vs stage 0 | _core .so |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        median, fastest = fmt_time(r["median_ms"] * 1e-3), fmt_time(min(r["samples_ms"]) * 1e-3)
        lines.append(
            f"| {r['build']} | {r['what']} | {median} | {fastest} "
            f"| {fmt_ratio(r[f'vs_{versus}'])} "
            f"| {fmt_ratio(r['speedup_vs_stage0'])} | {r['so_size']} |"
        )
    return lines


def debug_verdict(result: dict[str, Any]) -> str:
    ratio = result["dev_over_release"]
    return f"The debug build is {ratio:.1f}x slower than the release build of the same code."


def borrow_verdict(result: dict[str, Any]) -> str:
    ratio = result["article_over_frozen"]
    return (
        f"The article's borrow scope (not frozen, `try_borrow()?` per read) takes {ratio:.2f}x "
        "the time of the frozen class read with `.get()`."
    )


def abi3_verdict(result: dict[str, Any]) -> str:
    ratio = result["abi3_over_specific"]
    return (
        f"The abi3 wheel (one for every CPython from 3.10) takes {ratio:.2f}x the time of the "
        "wheel built for this Python only, on the same machine in the same rounds."
    )


def signals_verdict(result: dict[str, Any]) -> str:
    """The cost of answering Ctrl-C, and whether it exceeds the rounds' own spread."""
    ratio = result["checked_over_unchecked"]
    spread = max(
        (q3 - q1) / statistics.median(r["samples_ms"])
        for r in result["rows"]
        if r["build"] in ("stage3", "unchecked")
        for q1, _, q3 in [statistics.quantiles(r["samples_ms"], n=4)]
    )
    within = "within" if abs(ratio - 1.0) <= spread else "beyond"
    return (
        f"Asking Python for Ctrl-C once per point takes {ratio:.2f}x the time of never "
        f"asking, on the same machine in the same rounds: {within} the rounds' own spread "
        f"(interquartile range up to {spread:.1%} of the median). Never asking leaves Ctrl-C "
        "waiting for the call to return."
    )


def debug_loaded(result: dict[str, Any]) -> list[str]:
    return [f"- {r['build']}: {os.path.relpath(r['loaded'], REPO)}" for r in result["rows"][1:]]


def builds_markdown(result: dict[str, Any], title: str, per: str, verdict: str) -> str:
    """One crate built several ways, timed side by side (bench-debug, bench-borrow)."""
    return "\n".join(
        [
            f"# {title}",
            "",
            *debug_table(result["rows"], per),
            "",
            verdict,
            "",
            result["conditions"],
            "",
            "Modules loaded (PYTHONPATH put each build in front of the one in .venv):",
            "",
            *debug_loaded(result),
            "",
        ]
    )


def debug_markdown(result: dict[str, Any]) -> str:
    title = "Stage 1: debug vs release (`make bench-debug`)"
    return builds_markdown(result, title, "release", debug_verdict(result))


def borrow_markdown(result: dict[str, Any]) -> str:
    title = "Stage 2: frozen vs the article's borrow scope (`make bench-borrow`)"
    return builds_markdown(result, title, "frozen", borrow_verdict(result))


def abi3_markdown(result: dict[str, Any]) -> str:
    title = "Stage 4: the stable ABI (abi3) vs this Python's own (`make bench-abi3`)"
    return builds_markdown(result, title, "specific", abi3_verdict(result))


def signals_markdown(result: dict[str, Any]) -> str:
    title = "Stage 3: answering Ctrl-C vs not (`make bench-signals`)"
    return builds_markdown(result, title, "checked", signals_verdict(result))


SETUP_STEPS = {
    "make": "set up .venv, build every stage, check and time them, profile them",
    "test": "cargo test and pytest",
}


def setup_markdown(result: dict[str, Any]) -> str:
    """``make bench-setup``: a fresh clone's two commands, timed."""
    rows = [
        f"| `{step['command']}` | {fmt_duration(step['seconds'])} | {SETUP_STEPS[name]} |"
        + ("" if step["status"] == 0 else f" **failed: exit status {step['status']}**")
        for name, step in result["steps"].items()
    ]
    compiled = ", ".join(f"{crate} {n}" for crate, n in result["compiled"].items())
    wheel = ", ".join(
        f"{crate} {n}" for crate, n in result.get("compiled_abi3_wheel", {}).items() if n
    )
    debug = ", ".join(
        f"{crate} {n}" for crate, n in result.get("compiled_debug_builds", {}).items() if n
    )
    before, after = (f"{v[0]:.2f}" for v in (result["load_before"], result["load_after"]))
    return "\n".join(
        [
            _written_by("bench-setup", "setup_time"),
            f"A fresh clone of this repository (commit {result['commit']}), then the README's "
            "two commands, each timed by the wall clock:",
            "",
            "| command | wall time | what it does |",
            "|:--|--:|:--|",
            *rows,
            "",
            f'How many times cargo compiled each shared dependency (its "Compiling" lines in '
            f"both logs) for the stages, the tests and the benches: {compiled}."
            + (
                f" Apart from those, for the abi3 wheel (the stable ABI is another build of "
                f"PyO3 and numpy): {wheel}."
                if wheel
                else ""
            )
            + (
                f" For stage 1's debug and release builds (`make bench-debug`'s, other "
                f"Cargo profiles): {debug}."
                if debug
                else ""
            ),
            "",
            "Downloads are mostly not in these times: cargo's registry and pip's cache on this "
            "machine already held most crates and wheels. Load average (1 min) before: "
            f"{before}, after: {after}.",
            *_measured_with("bench-setup", result),
        ]
    )
