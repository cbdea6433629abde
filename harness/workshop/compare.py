"""The comparison page: any two flamegraphs side by side, to one time scale, with the diffs.

    python -m workshop.compare                     # profiles/runs/index.html (py-spy)
    python -m workshop.compare --profiler samply   # profiles/runs/samply/index.html
    python -m workshop.compare --changed           # redraw only what changed

The page shows your own run when the folder holds profiles, and the typical machine's
reference set (profiles/reference/MACHINE/, read only, linked from the page) otherwise; its
first line says which, and the walkthrough's claims are checked on every reference set
too. It takes ``Profile`` objects (``workshop.stacks``) and the SVGs ``workshop.draw``
made of them, and never records anything.

One page that works offline from the file system: the flamegraphs are inferno's
self-contained SVGs beside it, shown in iframes (relative links, no CDN), so each
keeps its own zoom and search. A small inline script swaps the pair shown side by side;
without it the page still shows the first pair and links every graph.
"""

from __future__ import annotations

import argparse
import datetime
import html
import itertools
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workshop import PROFILES, PROFILES_REFERENCE, analyse, draw, machines, shown
from workshop import profile as subjects
from workshop.report import fmt_time
from workshop.stacks import Profile, read_meta

# The diffs worth reading: each step of the walkthrough.
NEIGHBOURS = [
    ("stage0", "stage1"),
    ("stage1", "stage2_alloc"),
    ("stage2_alloc", "stage2"),
    ("stage1", "stage2"),
    ("stage2", "stage3"),
    ("stage3", "stage4"),
    ("stage4", "stage5"),
]
# The pairs the page steps through, the walkthrough's order; the first is shown first.
STEPS = [
    ("stage0", "stage1"),
    ("stage1", "stage2_alloc"),
    ("stage2_alloc", "stage2"),
    ("stage2", "stage3"),
    ("stage3", "stage4"),
    ("stage4", "stage4_large"),
    ("stage4", "stage5"),
    ("stage0", "vectorized"),
    ("vectorized", "numba"),
    ("numba", "scipy"),
]


@dataclass
class Graph:
    """One profile on the page: its graph and its time per call."""

    prof: Profile
    svg: Path
    seconds: float | None
    source: str

    @property
    def name(self) -> str:
        return self.prof.name

    @property
    def title(self) -> str:
        return self.prof.meta.get("title") or self.name

    @property
    def unit(self) -> str:
        return self.prof.meta.get("unit", "call")


def _e(text: object) -> str:
    return html.escape(str(text))


def script_json(data: object) -> str:
    """``data`` as JSON to put inside a ``<script>`` element: json.dumps escapes quotes but
    not ``</script>`` nor ``<!--``, which end or change the element in an HTML parser, so
    ``<``, ``>`` and ``&`` are written as JSON's ``\\u`` escapes (what Django's json_script
    does); JSON.parse reads them back as they were."""
    text = json.dumps(data)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _link(path: Path, base: Path) -> str:
    """``path`` as a link from a page in ``base``: ``stage1.svg``, ``../reference/stage1.svg``."""
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _stale(target: Path, *inputs: Path) -> bool:
    """``target`` missing or older than one of ``inputs`` that exists."""
    if not target.exists():
        return True
    made = target.stat().st_mtime
    return any(p.exists() and p.stat().st_mtime > made for p in inputs)


def profiled(folder: Path) -> list[str]:
    """The stages with a profile in ``folder``, in the registry's order."""
    return [s.name for s in subjects.stage_subjects() if (folder / f"{s.name}.folded").exists()]


# --- the page -----------------------------------------------------------------------

CSS = """
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 16px auto; max-width: 1360px;
       color: #222; padding: 0 12px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { margin-top: 32px; font-size: 20px; }
h3 { font-size: 15px; margin: 8px 0 4px; }
table { border-collapse: collapse; margin: 8px 0; }
table.wide { width: 100%; table-layout: fixed; font-size: 13px; }
table.wide th:first-child { width: 250px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: right;
         overflow-wrap: anywhere; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
td.top { font-weight: 700; background: #fff1d6; }
small { color: #555; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
.ok { color: #1a7f37; font-weight: 700; } .bad { color: #c62828; font-weight: 700; }
iframe { border: 1px solid #bbb; width: 100%; display: block; background: #f8f8f8; }
.legend span { display: inline-block; margin-right: 16px; }
.legend i { display: inline-block; width: 14px; height: 14px; vertical-align: -2px;
            margin-right: 5px; border: 1px solid #999; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; }
p.source { background: #eef4ff; padding: 6px 10px; border-left: 4px solid #1565c0; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center;
            background: #f4f4f4; padding: 8px 10px; border-radius: 4px; }
.pair { display: flex; gap: 12px; align-items: flex-start; margin-top: 8px; }
.pair > div { flex: 1 1 0; min-width: 0; }
.pair .box { display: flex; }
.grew { color: #c62828; font-weight: 700; } .shrank { color: #1565c0; font-weight: 700; }
"""

SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById('page-data').textContent);
  var left = document.getElementById('left'), right = document.getElementById('right');
  var scale = document.getElementById('scale');
  function graph(name) { return data.graphs[name]; }
  function show(side, name, width) {
    var g = graph(name), frame = document.getElementById(side + '-frame');
    if (frame.getAttribute('src') !== g.svg) frame.setAttribute('src', g.svg);
    frame.style.height = g.height + 'px';
    frame.style.width = width;
    document.getElementById(side + '-title').textContent = g.title;
    document.getElementById(side + '-time').textContent = g.time;
  }
  function update() {
    var a = graph(left.value), b = graph(right.value);
    var most = Math.max(a.seconds || 0, b.seconds || 0);
    function width(g) {
      if (!scale.checked || !most || !g.seconds) return '100%';
      return Math.max(100 * g.seconds / most, 1.5).toFixed(2) + '%';
    }
    show('left', left.value, width(a));
    show('right', right.value, width(b));
    var key = left.value + '|' + right.value, diff = data.diffs[key];
    var area = document.getElementById('diff');
    document.getElementById('diff-none').hidden = !!diff;
    area.hidden = !diff;
    if (diff) {
      ['grew', 'vanished'].forEach(function (k) {
        var f = document.getElementById('diff-' + k);
        if (f.getAttribute('src') !== diff[k]) f.setAttribute('src', diff[k]);
        f.style.height = diff[k + '_height'] + 'px';
      });
    }
    document.getElementById('diff-title').textContent = left.value + ' \\u2192 ' + right.value;
    if (history.replaceState) history.replaceState(null, '', '#' + key.replace('|', ','));
  }
  function step(by) {
    var key = left.value + '|' + right.value, i = data.steps.indexOf(key);
    i = (i < 0 ? 0 : (i + by + data.steps.length) % data.steps.length);
    var pair = data.steps[i].split('|');
    left.value = pair[0]; right.value = pair[1]; update();
  }
  left.onchange = right.onchange = scale.onchange = update;
  document.getElementById('prev').onclick = function () { step(-1); };
  document.getElementById('next').onclick = function () { step(1); };
  var wanted = decodeURIComponent(location.hash.slice(1)).split(',');
  if (wanted.length === 2 && graph(wanted[0]) && graph(wanted[1])) {
    left.value = wanted[0]; right.value = wanted[1];
  }
  document.getElementById('controls').hidden = false;
  update();
})();
"""


def time_label(g: Graph) -> str:
    if g.seconds is None:
        return "time per call unknown"
    return f"{fmt_time(g.seconds)} per {g.unit} ({g.source})"


def side_by_side(
    graphs: list[Graph],
    diffs: dict,
    steps: list[tuple[str, str]],
    base: Path,
    unit: str = "call",
    compared: str = "Frames are compared by function (lines and crate names dropped).",
):
    """The two-up view: two selects, one time scale, the pair's diffs below."""
    by_name = {g.name: g for g in graphs}
    steps = [(a, b) for a, b in steps if a in by_name and b in by_name]
    first = steps[0] if steps else (graphs[0].name, graphs[min(1, len(graphs) - 1)].name)
    options = "".join(f'<option value="{_e(g.name)}">{_e(g.name)}</option>' for g in graphs)

    def select(side: str, chosen: str) -> str:
        marked = options.replace(f'value="{_e(chosen)}"', f'value="{_e(chosen)}" selected', 1)
        return f'<label>{side} <select id="{side}">{marked}</select></label>'

    def column(side: str, name: str) -> str:
        g = by_name[name]
        return (
            f'<div><h3 id="{side}-title">{_e(g.title)}</h3>'
            f'<small id="{side}-time">{_e(time_label(g))}</small><div class="box">'
            f'<iframe id="{side}-frame" src="{_e(_link(g.svg, base))}" '
            f'style="height:{draw.svg_height(g.svg)}px" title="{side} flamegraph"></iframe>'
            "</div></div>"
        )

    data = {
        "graphs": {
            g.name: {
                "svg": _link(g.svg, base),
                "height": draw.svg_height(g.svg),
                "seconds": g.seconds,
                "title": g.title,
                "time": time_label(g),
            }
            for g in graphs
        },
        "diffs": {
            f"{a}|{b}": {
                "grew": _link(grew, base),
                "vanished": _link(vanished, base),
                "grew_height": draw.svg_height(grew),
                "vanished_height": draw.svg_height(vanished),
            }
            for (a, b), (grew, vanished) in diffs.items()
        },
        "steps": [f"{a}|{b}" for a, b in steps] or [f"{first[0]}|{first[1]}"],
    }
    first_diff = diffs.get(first)
    diff_frames = ""
    if first_diff:
        grew, vanished = first_diff
        diff_frames = (
            f'<iframe id="diff-grew" src="{_e(_link(grew, base))}" '
            f'style="height:{draw.svg_height(grew)}px" title="what grew"></iframe>'
            f'<iframe id="diff-vanished" src="{_e(_link(vanished, base))}" '
            f'style="height:{draw.svg_height(vanished)}px" title="what shrank"></iframe>'
        )
    else:
        diff_frames = (
            '<iframe id="diff-grew" title="what grew"></iframe>'
            '<iframe id="diff-vanished" title="what shrank"></iframe>'
        )
    drawn = ", ".join(f"{a} → {b}" for a, b in diffs) or "none"
    return "\n".join(
        [
            '<div class="controls" id="controls" hidden>',
            select("left", first[0]),
            select("right", first[1]),
            '<button id="prev" type="button">◀ previous step</button>',
            '<button id="next" type="button">next step ▶</button>',
            '<label><input type="checkbox" id="scale" checked> one time scale '
            f"(width = time per {unit})</label></div>",
            f'<div class="pair">{column("left", first[0])}{column("right", first[1])}</div>',
            "<p><small>With one time scale the slower of the two fills its column and the "
            "other is drawn to the same scale: a graph a tenth as wide took a tenth of the time "
            f"per {unit}. Untick it to read the faster one at full width. Click a box to zoom, "
            "Ctrl-F (or the Search box at the top right of a graph) to search.</small></p>",
            f'<h3>What changed: <span id="diff-title">{_e(" → ".join(first))}</span></h3>',
            f'<div id="diff"{"" if first_diff else " hidden"}>',
            f"<p><small>Differential flamegraphs in <b>time per {unit}</b>: each profile's "
            f"samples are spread over its time per {unit} first (widths in nanoseconds per "
            f"{unit}), and each function is coloured by how its time per {unit} changed: "
            f"<span class='grew'>red</span> costs more per {unit}, <span class='shrank'>blue"
            "</span> less, the deeper the larger the change; grey within 10%, so a function "
            f"that costs the same per {unit} in both reads as unchanged, whatever the sample "
            "counts. The first is the right-hand profile; the second the left-hand one, so "
            f"what vanished still has a box (deep blue). {compared}</small>"
            f"</p>{diff_frames}</div>",
            f'<p id="diff-none"{" hidden" if first_diff else ""}><small>No differential graph '
            f"for this pair; drawn for: {_e(drawn)}.</small></p>",
            f'<script type="application/json" id="page-data">{script_json(data)}</script>',
            f"<script>{SCRIPT}</script>",
        ]
    )


def timings_table(graphs: list[Graph]) -> str:
    base = next((g.seconds for g in graphs if g.name == "stage0"), None)
    rows = []
    for g in graphs:
        speedup = (
            f"{base / g.seconds:,.0f}\u00d7" if base and g.seconds and g.unit == "call" else ""
        )
        under = g.prof.meta.get("seconds_per_call")
        rows.append(
            f"<tr><td><code>{_e(g.name)}</code> {_e(g.title)}</td>"
            f"<td>{_e(fmt_time(g.seconds)) if g.seconds else '—'} <small>{_e(g.source)}</small>"
            f"</td><td>{speedup}</td>"
            f"<td>{_e(fmt_time(under)) if under else '—'}</td><td>{g.prof.total}</td></tr>"
        )
    return (
        '<table class="wide"><tr><th>profile</th><th>time per call</th><th>vs stage0</th>'
        "<th>while recorded</th><th>samples</th></tr>" + "".join(rows) + "</table>"
        "<p><small>'While recorded': the runner's own timing under the recorder, which "
        "pauses the process for every sample; the time scale and the diffs use the first "
        "column.</small></p>"
    )


def percent(share: float) -> str:
    return "0%" if share == 0 else "&lt;1%" if share < 0.005 else f"{100 * share:.0f}%"


def _share_cell(graph: Graph, shares: Mapping[str, int], total: int, key: str) -> str:
    """One graph's cell of a "where the time goes" row: the share, the time it comes to,
    marked when it is the graph's largest."""
    n = shares[key]
    if not n:
        return "<td>·</td>"
    share = n / total
    top = n == max(shares.values())
    est = f"<br><small>{_e(fmt_time(share * graph.seconds))}</small>" if graph.seconds else ""
    return f'<td class="{"top" if top else ""}">{percent(share)}{est}</td>'


def where_table(graphs: list[Graph]) -> str:
    shares = {g.name: analyse.where_time_goes(g.prof) for g in graphs}
    totals = {name: max(sum(s.values()), 1) for name, s in shares.items()}
    keys = [c.key for c in analyse.CATEGORIES] + list(analyse.FALLBACKS)
    head = "".join(f"<th><code>{_e(g.name)}</code></th>" for g in graphs)
    rows = []
    for key in keys:
        if not any(shares[g.name][key] for g in graphs):
            continue
        cells = [_share_cell(g, shares[g.name], totals[g.name], key) for g in graphs]
        rows.append(f"<tr><td>{_e(analyse.LABELS[key])}</td>{''.join(cells)}</tr>")
    counts = "".join(f"<td>{totals[g.name]}</td>" for g in graphs)
    return (
        f'<table class="wide"><tr><th>where the time goes</th>{head}</tr>{"".join(rows)}'
        f"<tr><td><small>samples in the timed calls</small></td>{counts}</tr></table>"
        "<p><small>Share of the samples inside the timed calls (imports and building the "
        "workload left out), with the time per call it comes to. A sample belongs to the "
        "outermost frame that matches a pattern in <code>workshop.analyse.CATEGORIES</code>; "
        "the highlighted cell is each profile's biggest item.</small></p>"
    )


def claims_list(graphs: list[Graph]) -> str:
    items = []
    for g in graphs:
        for key, check in analyse.keyed_claims_for(g.prof):
            claim = check(g.prof)
            mark = (
                '<span class="ok">✓ holds</span>' if claim.holds else '<span class="bad">✗</span>'
            )
            if key in analyse.VARIES and not claim.holds:
                mark = "<span>not on this CPU (it holds on some; the walkthrough says which)</span>"
            items.append(f"<li>{mark} {_e(claim.statement)}<br><small>{_e(claim.evidence)}</small>")
    return "<ul>" + "".join(items) + "</ul>" if items else "<p>No profile with a claim.</p>"


def claims_by_set() -> str:
    """Every claim on every reference set's stacks: the walkthrough quotes the typical
    machine, and says where a claim does not hold everywhere."""
    found = machines.sets()
    table = analyse.claims_on_sets([(s.name, s.cpu, s.profiles) for s in found])
    if not table:
        return ""
    head = "".join(f"<th>{_e(s.cpu)}<br><small>{_e(s.name)}/</small></th>" for s in found)
    rows = []
    for key, by_set in table.items():
        cells = []
        for s in found:
            claim = by_set.get(s.name)
            if claim is None:
                cells.append("<td>·</td>")
                continue
            mark = '<span class="ok">✓</span>' if claim.holds else '<span class="bad">✗</span>'
            cells.append(f'<td title="{_e(claim.evidence)}">{mark}</td>')
        statement = next(iter(by_set.values())).statement
        varies = " <small>(holds on some CPUs: the walkthrough says which)</small>"
        rows.append(
            f"<tr><td>{_e(statement)}{varies if key in analyse.VARIES else ''}</td>"
            f"{''.join(cells)}</tr>"
        )
    return (
        "<h3>On every reference set</h3>"
        f'<table class="wide"><tr><th>claim</th>{head}</tr>{"".join(rows)}</table>'
        "<p><small>The same claims on the profiles recorded on each machine "
        "(profiles/reference/MACHINE/); hover a mark for the samples it counts.</small></p>"
    )


def legend(table: dict[str, tuple[str, float]] = analyse.FAMILIES) -> str:
    spans = []
    for key, (label, _) in table.items():
        r, g, b = draw.family_rgb(key, "legend", table)
        spans.append(f'<span><i style="background:rgb({r},{g},{b})"></i>{_e(label)}</span>')
    return f'<p class="legend">{"".join(spans)}</p>'


RECORDER_NOTES = {
    "py-spy": (
        "py-spy <code>record --native</code> reads the Python threads (ptrace): every Python "
        "function by name and line, with the Rust and C frames of the same threads. It does not "
        "see threads Python did not start (rayon's workers), nor inside JIT-compiled code "
        "(<code>numba</code>'s loop is one unnamed frame <code>[?]</code>), and it sometimes "
        "loses the caller of a Rust function that was not inlined (stage 1's "
        "<code>getattr</code> then sits right under <code>run_pipeline</code>)."
    ),
    "samply": (
        "samply records every thread of the process from the kernel's perf events (Linux) or "
        "the task APIs (macOS): rayon's workers each get a root box (<code>[thread 2]</code>, "
        "...). It sees native frames only: on Python 3.11 the interpreter's "
        "<code>_PyEval_EvalFrameDefault</code>, never a Python function's name (Python 3.12's "
        "perf trampoline would add them). Rust names, files and lines come from its "
        "<code>.syms.json</code> sidecar. Only samples inside the runner's timed calls are "
        "kept (a marker the runner leaves for samply), and a thread's samples only while it ran."
    ),
}


ROOTS = {
    "py-spy": "Each graph's root box is <code>call_stage (workshop/run.py)</code>, the runner's "
    "timed call.",
    "samply": "Each graph has a root box per thread; a run of the interpreter's C frames, or of "
    "the Rust runtime's (std, core, rayon), is drawn as one box.",
}


def recorders_table(pages: dict[str, list[Graph]]) -> str:
    """What py-spy and samply saw of the same profiles, measured on their stacks."""
    names = [
        g.name
        for g in pages.get("py-spy", [])
        if g.name in {x.name for x in pages.get("samply", [])}
    ]
    if not names:
        return ""
    views = {
        rec: {g.name: analyse.recorder_view(g.prof) for g in graphs if g.name in names}
        for rec, graphs in pages.items()
    }
    rows = []
    for name in names:
        cells = []
        for rec in ("py-spy", "samply"):
            v = views[rec][name]
            cells.append(
                f"<td>{v['threads']:.0f}</td><td>{percent(v['python'])}</td>"
                f"<td>{percent(v['rust'])}</td><td>{percent(v['workers'])}</td>"
            )
        rows.append(f"<tr><td><code>{_e(name)}</code></td>{''.join(cells)}</tr>")
    head = "<th>threads</th><th>a Python name</th><th>our Rust named</th><th>other threads</th>"
    return (
        "<h2 id='recorders'>What each recorder sees, measured on these stacks</h2>"
        '<table class="wide"><tr><th rowspan="2">profile</th><th colspan="4">py-spy</th>'
        f'<th colspan="4">samply</th></tr><tr>{head}{head}</tr>{"".join(rows)}</table>'
        "<p><small>Shares of each recorder's samples in the timed calls: with a Python "
        "function named in the stack, with a frame of the stage crate's own Rust, in a "
        "thread other than the main one.</small></p>"
    )


def page(
    graphs: list[Graph],
    diffs: dict[tuple[str, str], tuple[Path, Path]],
    base: Path,
    header: str = "",
    recorder: str = "py-spy",
    links: str = "",
    extra: str = "",
    steps: list[tuple[str, str]] | None = None,
    subject: str = "poly-match: where the time goes",
    root: str = "",
    on_sets: str = "",
) -> str:
    """The page for ``graphs``, written in ``base`` (links are relative to it)."""
    metas = [g.prof.meta for g in graphs]
    rates = sorted({str(m.get("rate", "?")) for m in metas})
    seconds = sorted({f"{m['seconds']:g}" for m in metas if "seconds" in m})
    today = datetime.date.today().isoformat()
    sections = [
        ("pair", "side by side"),
        ("times", "time per call"),
        ("where", "where the time goes"),
        ("claims", "claims"),
        ("all", "every graph"),
    ]
    if extra:
        sections.insert(4, ("recorders", "what each recorder sees"))
    nav = "".join(f'<a href="#{k}">{_e(label)}</a>' for k, label in sections) + links
    every = "".join(
        f'<li><a href="{_e(_link(g.svg, base))}">{_e(g.name)}</a> — {_e(g.title)}</li>'
        for g in graphs
    )
    every += "".join(
        f'<li><a href="{_e(_link(grew, base))}">{_e(a)} → {_e(b)}</a> '
        f'(<a href="{_e(_link(vanished, base))}">drawn on {_e(a)}</a>)</li>'
        for (a, b), (grew, vanished) in diffs.items()
    )
    run = f" for {_e(', '.join(seconds))} s of calls per stage" if seconds else ""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(subject)} ({_e(recorder)})</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(subject)} ({_e(recorder)})</h1>",
        f'<p class="source"><b>{header}</b></p>' if header else "",
        f"<p>{_e(recorder)} at {_e(', '.join(rates))} samples/s{run}, drawn by inferno "
        f"with one palette. Page written {today}.</p>",
        f"<p><small>{RECORDER_NOTES.get(recorder, '')} {root or ROOTS.get(recorder, '')}"
        "</small></p>",
        f"<nav>{nav}</nav>",
        '<h2 id="pair">Side by side</h2>',
        legend(),
        "<p><small>Width is time; a box sits on the function that called it. Python frames "
        "are merged by function (one box per function, whatever line was running); the stage "
        "crates' own Rust frames keep their lines, since the hot line is the lesson of stages "
        "3 and 4.</small></p>",
        side_by_side(graphs, diffs, steps or STEPS, base),
        '<h2 id="times">Time per call</h2>',
        timings_table(graphs),
        '<h2 id="where">Where the time goes</h2>',
        where_table(graphs),
        '<h2 id="claims">The walkthrough\'s claims, checked on these stacks</h2>',
        claims_list(graphs),
        on_sets,
        extra,
        '<h2 id="all">Every graph</h2>',
        f"<ul>{every}</ul>",
        "</body></html>\n",
    ]
    return "\n".join(p for p in parts if p)


# --- building it ------------------------------------------------------------------------


def _graphs(folder: Path, names: list[str], bench: dict[str, float]) -> list[Graph]:
    out = []
    for name in names:
        prof = Profile.read(folder / f"{name}.folded")
        seconds, source = subjects.timing(prof, bench)
        out.append(Graph(prof, folder / f"{name}.svg", seconds, source))
    return out


def _date(folder: Path, names: list[str]) -> str:
    """When the profiles in ``folder`` were recorded: the newest, local time."""
    newest = max((folder / f"{n}.folded").stat().st_mtime for n in names)
    return datetime.datetime.fromtimestamp(newest).strftime("%Y-%m-%d %H:%M")


def reference_header(reference: Path, bench: Path) -> str:
    """``the reference set recorded here: profiles/reference/MACHINE/, DATE, CPU``."""
    env = read_meta(bench).get("env", {})
    said = [f"the reference set recorded here: {_e(_shown_repo(reference))}/"]
    if env.get("date"):
        said.append(env["date"][:10])
    if env.get("cpu"):
        said.append(_e(machines.cpu_label(env)))
    return ", ".join(said)


def _shown_repo(path: Path) -> str:
    from workshop import REPO

    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def draw_all(
    folder: Path, names: list[str], bench: dict[str, float], changed: bool
) -> dict[tuple[str, str], tuple[Path, Path]]:
    """(Re)draw the graphs and the neighbours' diffs in ``folder``; returns the diffs."""
    by_name = {}
    for g in _graphs(folder, names, bench):
        folded = folder / f"{g.name}.folded"
        if not changed or _stale(g.svg, folded, folded.with_suffix(".meta.json")):
            subjects.render(g.prof, folder, bench)
        by_name[g.name] = g
    diffs = {}
    for a, b in NEIGHBOURS:
        if a in by_name and b in by_name:
            grew, vanished = folder / f"diff-{a}-{b}.svg", folder / f"diff-{a}-{b}-vanished.svg"
            inputs = (folder / f"{a}.folded", folder / f"{b}.folded")
            if not changed or _stale(grew, *inputs) or _stale(vanished, *inputs):
                ga, gb = by_name[a], by_name[b]
                entry = (ga.prof.meta.get("stage") and "main") or None
                grew, vanished = draw.write_diffs(
                    (ga.prof, ga.seconds, entry), (gb.prof, gb.seconds, entry), folder
                )
            diffs[(a, b)] = (grew, vanished)
    return diffs


def existing_diffs(folder: Path, names: list[str]) -> dict[tuple[str, str], tuple[Path, Path]]:
    diffs = {}
    for a, b in NEIGHBOURS:
        grew, vanished = folder / f"diff-{a}-{b}.svg", folder / f"diff-{a}-{b}-vanished.svg"
        if a in names and b in names and grew.exists() and vanished.exists():
            diffs[(a, b)] = (grew, vanished)
    return diffs


def build(
    out: Path = PROFILES,
    reference: Path | None = None,
    changed: bool = False,
    recorder: str = "py-spy",
    bench: Path | None = None,
) -> Path:
    """Write the recorder's ``index.html`` under ``out`` and return it.

    Your run when ``out`` holds profiles: its graphs and diffs are (re)drawn there
    (with ``changed``, only those whose inputs are newer). Otherwise the reference set:
    read only, nothing is drawn, the page links to the graphs in ``reference`` (by
    default the typical machine's set).
    """
    if reference is None:
        reference = machines.typical().profiles
    here, ref = subjects.folder(out, recorder), subjects.folder(reference, recorder)
    # A reference set's own page (`make reference` draws it): any machine's, not only the
    # typical one's.
    in_sets = here.resolve().is_relative_to(PROFILES_REFERENCE.resolve())
    if in_sets and here.resolve() != ref.resolve():
        reference = out
        ref = here
    is_reference = here.resolve() == ref.resolve()
    names = profiled(here)
    own = bool(names) or is_reference
    source = here if own else ref
    if not own:
        names = profiled(ref)
    if not names:
        raise draw.DrawError(f"no {recorder} profiles in {shown(here)}/: run `make profiles` first")
    if bench is None:
        bench = subjects.default_bench(source)
    medians = subjects.bench_seconds(bench)
    diffs = draw_all(here, names, medians, changed) if own else existing_diffs(ref, names)
    if is_reference:
        header = reference_header(reference, bench)
    elif own:
        header = f"your run: {_e(_shown_repo(here))}/, {_date(here, names)}"
        missing = [n for n in profiled(ref) if n not in names]
        if missing:
            link = _e(_link(ref / "index.html", here))
            header += (
                f" (not profiled in it: {_e(', '.join(missing))}; see "
                f'<a href="{link}">the reference set</a>)'
            )
    else:
        header = reference_header(reference, bench) + (
            f" (no profiles in {_e(_shown_repo(here))}/ yet: <code>make profiles</code> "
            "records yours)"
        )
    graphs = _graphs(source, names, medians)
    other = "samply" if recorder == "py-spy" else "py-spy"
    pages = [subjects.folder(out, other), subjects.folder(reference, other)]
    other_page = next((p / "index.html" for p in pages if (p / "index.html").exists()), None)
    links = f'<a href="{_e(_link(other_page, here))}">{other}\'s page</a>' if other_page else ""
    extra = ""
    other_folder = subjects.folder(source.parent if recorder == "samply" else source, other)
    if other_folder.exists() and profiled(other_folder):
        both = {recorder: graphs, other: _graphs(other_folder, profiled(other_folder), medians)}
        extra = recorders_table(both)
    here.mkdir(parents=True, exist_ok=True)
    index = here / "index.html"
    index.write_text(
        page(graphs, diffs, here, header, recorder, links, extra, on_sets=claims_by_set())
    )
    return index


# --- a reader's script: its runs -----------------------------------------------------------

SCRIPT_NOTES = {
    "py-spy": (
        "py-spy <code>record --native</code> reads the script's Python threads: every Python "
        "function by name, file and line, with the C and Rust frames under them. It does not "
        "see threads that Python did not start, nor inside JIT-compiled code."
    ),
    "samply": (
        "samply records every thread of the process from the kernel's perf events: native "
        "frames only. Before Python 3.12 no Python function has a name there: your Python "
        "code runs as the interpreter's <code>_PyEval_EvalFrameDefault</code>, and py-spy "
        "is the recorder that names it. Your own Rust or C shows by name."
    ),
}


def vs_first(first: Graph, g: Graph) -> str:
    if g is first or not first.seconds or not g.seconds:
        return ""
    ratio = first.seconds / g.seconds
    return f"{ratio:,.1f}\u00d7 faster" if ratio >= 1 else f"{1 / ratio:,.1f}\u00d7 slower"


def runs_table(graphs: list[Graph]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(g.name)}</code>"
        f"{' <small>stopped by Ctrl-C</small>' if g.prof.meta.get('status') else ''}</td>"
        f"<td><code>{_e(g.prof.meta.get('script', ''))}</code></td>"
        f"<td>{_e(fmt_time(g.seconds)) if g.seconds else '—'}</td>"
        f"<td>{_e(vs_first(graphs[0], g))}</td><td>{g.prof.total}</td></tr>"
        for g in graphs
    )
    return (
        '<table class="wide"><tr><th>run</th><th>what ran (after <code>python</code>)</th>'
        f"<th>wall time</th><th>vs {_e(graphs[0].name)}</th><th>samples</th></tr>{rows}</table>"
        "<p><small>Wall time: from the interpreter's start to the script's end, measured in its "
        "process while the recorder sampled it (which slows it a little).</small></p>"
    )


def runs_where(graphs: list[Graph]) -> str:
    """Where the time goes, in rows read off the script's own stacks (``analyse.origin``)."""
    shares = {g.name: analyse.script_shares(g.prof) for g in graphs}
    totals = {name: max(sum(s.values()), 1) for name, s in shares.items()}
    keys = {k for s in shares.values() for k in s}

    def order(key: str) -> tuple[int, float]:
        kind = key.partition(":")[0]
        rank = analyse.SCRIPT_ORDER.index(kind) if kind in analyse.SCRIPT_ORDER else 9
        return rank, -max(shares[g.name][key] / totals[g.name] for g in graphs)

    head = "".join(f"<th><code>{_e(g.name)}</code></th>" for g in graphs)
    rows = []
    for key in sorted(keys, key=order):
        cells = [_share_cell(g, shares[g.name], totals[g.name], key) for g in graphs]
        rows.append(f"<tr><td>{_e(analyse.script_label(key))}</td>{''.join(cells)}</tr>")
    counts = "".join(f"<td>{totals[g.name]}</td>" for g in graphs)
    return (
        f'<table class="wide"><tr><th>where the time goes</th>{head}</tr>{"".join(rows)}'
        f"<tr><td><small>samples</small></td>{counts}</tr></table>"
        "<p><small>Share of every sample of the run, start-up and imports included, with the "
        "time it comes to. A sample counts for the innermost frame that is code of its own: "
        "one of your files, an installed package (its Python and its compiled code), the "
        "interpreter and its standard library, or native code outside a package. The "
        "interpreter's C functions, its import machinery, the C library and Rust's standard "
        "library count for the frame that called them: <code>math.hypot</code> called on a "
        "line of yours is that line's time, and an import is the imported package's. The "
        "highlighted cell is each run's biggest row.</small></p>"
    )


def runs_page(graphs: list[Graph], diffs: dict, folder: Path, name: str) -> str:
    """The page for a script's runs: one graph for one run; from two on, the newest beside
    the one before, to one time scale, with the diffs between neighbours."""
    newest = graphs[-1]
    recorder = newest.prof.recorder
    meta = newest.prof.meta
    when = _date(folder, [g.name for g in graphs])
    subject = f"{name}: where the time goes ({recorder})"
    if len(graphs) == 1:
        g = newest
        view = (
            f"<h3>{_e(g.title)}</h3><small>{_e(time_label(g))}</small>"
            f'<iframe src="{_e(_link(g.svg, folder))}" style="height:{draw.svg_height(g.svg)}px" '
            'title="flamegraph"></iframe>'
            "<p><small>Click a box to zoom, Ctrl-F (or the Search box at the top right of the "
            "graph) to search. Change your code and profile it again: the next run is drawn "
            "beside this one, to one time scale, with a differential graph of what changed."
            "</small></p>"
        )
    else:
        pairs = list(itertools.pairwise(g.name for g in graphs))
        view = side_by_side(
            graphs,
            diffs,
            list(reversed(pairs)),
            folder,
            unit="run",
            compared="Frames are compared by function (line numbers dropped).",
        )
    every = "".join(
        f'<li><a href="{_e(_link(g.svg, folder))}">{_e(g.name)}</a> — {_e(g.title)}</li>'
        for g in graphs
    )
    every += "".join(
        f'<li><a href="{_e(_link(grew, folder))}">{_e(a)} → {_e(b)}</a> '
        f'(<a href="{_e(_link(vanished, folder))}">drawn on {_e(a)}</a>)</li>'
        for (a, b), (grew, vanished) in diffs.items()
    )
    runs = f"{len(graphs)} run{'s' if len(graphs) > 1 else ''}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(subject)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(subject)}</h1>",
        f'<p class="source"><b>{_e(runs)} of <code>{_e(name)}</code> in '
        f"<code>{_e(meta.get('cwd', ''))}</code>, the newest {_e(when)}</b></p>",
        f"<p>{_e(meta.get('recorder_line', recorder))}, under "
        f"<code>{_e(meta.get('python', ''))}</code>; drawn by inferno.</p>",
        f"<p><small>{SCRIPT_NOTES.get(recorder, '')} Each graph is the whole run: the "
        "interpreter's start, then the script, imports included.</small></p>",
        '<nav><a href="#pair">the graphs</a><a href="#times">the runs</a>'
        '<a href="#where">where the time goes</a><a href="#all">every graph</a></nav>',
        '<h2 id="pair">The graphs</h2>',
        legend(analyse.SCRIPT_FAMILIES),
        "<p><small>Width is time; a box sits on the function that called it. Frames are "
        "merged by function (one box per function, whatever line was running).</small></p>",
        view,
        '<h2 id="times">The runs</h2>',
        runs_table(graphs),
        '<h2 id="where">Where the time goes</h2>',
        runs_where(graphs),
        '<h2 id="all">Every graph</h2>',
        f"<ul>{every}</ul>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def build_runs(folder: Path) -> Path:
    """The page of a reader's script in ``folder`` (``run1``, ``run2``, ...), written as
    ``folder/index.html``; graphs and diffs whose inputs changed are redrawn."""
    names = sorted(
        (p.stem for p in folder.glob("run*.folded") if p.stem[3:].isdigit()),
        key=lambda s: int(s[3:]),
    )
    if not names:
        raise draw.DrawError(f"no runs in {shown(folder)}/")
    graphs = _graphs(folder, names, {})
    for g in graphs:
        if _stale(g.svg, folder / f"{g.name}.folded"):
            draw.render(g.prof, g.svg, g.seconds)
    diffs = {}
    for a, b in itertools.pairwise(names):
        grew, vanished = folder / f"diff-{a}-{b}.svg", folder / f"diff-{a}-{b}-vanished.svg"
        inputs = (folder / f"{a}.folded", folder / f"{b}.folded")
        if _stale(grew, *inputs) or _stale(vanished, *inputs):
            ga, gb = graphs[names.index(a)], graphs[names.index(b)]
            grew, vanished = draw.write_diffs(
                (ga.prof, ga.seconds, None), (gb.prof, gb.seconds, None), folder, unit="run"
            )
        diffs[(a, b)] = (grew, vanished)
    index = folder / "index.html"
    index.write_text(runs_page(graphs, diffs, folder, folder.name))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.compare", description=__doc__)
    parser.add_argument("--out", type=Path, default=PROFILES, help="profiles folder")
    parser.add_argument(
        "--reference",
        type=Path,
        help="shown when --out has no profiles (default: the typical machine's set in "
        f"{_shown_repo(PROFILES_REFERENCE)}/)",
    )
    parser.add_argument("--profiler", choices=list(subjects.RECORDERS), default="py-spy")
    parser.add_argument("--bench", type=Path, help="bench.json for the time per call")
    parser.add_argument(
        "--changed", action="store_true", help="redraw only the graphs whose inputs changed"
    )
    args = parser.parse_args(argv)
    try:
        index = build(args.out, args.reference, args.changed, args.profiler, args.bench)
    except draw.DrawError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {shown(index)} (open it in a browser: file://{index.resolve()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
