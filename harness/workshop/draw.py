"""Flamegraphs: one palette, inferno's SVGs, and differential graphs in time per call.

Every graph is drawn from a ``Profile`` (``workshop.stacks``) by inferno-flamegraph, with
a palette map so a frame has the same colour in every graph (hue by where the code
comes from, ``analyse.FAMILIES``). The SVGs are fluid (they fill the frame they are shown
in), so the page can put two side by side and draw them to one time scale.
"""

from __future__ import annotations

import colorsys
import re
import subprocess
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from workshop import analyse
from workshop.report import fmt_time
from workshop.stacks import (
    Profile,
    count,
    folded_text,
    function_name,
    is_python,
    reading_view,
)
from workshop.stacks import tool as find_tool


class DrawError(Exception):
    """inferno is missing or failed: one message, no traceback."""


def _tool(name: str) -> str:
    found = find_tool(name)
    if found is None:
        raise DrawError(f"{name} not found; run `make compare` (it installs inferno)")
    return found


def family_rgb(name: str, shade_of: str = "") -> tuple[int, int, int]:
    """The colour of a frame: hue by family, shade by its function name."""
    shade_of = function_name(shade_of)
    hue = analyse.FAMILIES[name][1]
    shade = zlib.crc32(shade_of.encode()) / 2**32
    saturation = 0.35 if name == "system" else 0.55 + 0.25 * shade
    lightness = 0.62 + 0.14 * shade
    r, g, b = colorsys.hls_to_rgb(hue + 0.04 * (shade - 0.5), lightness, saturation)
    return round(255 * r), round(255 * g), round(255 * b)


def palette(frames: Iterable[str], ours: str = analyse.OUR_PYTHON) -> str:
    """inferno's palette.map: ``frame->rgb(r,g,b)`` for each frame."""
    lines = []
    for frame in sorted(set(frames)):  # "" is inferno's root box, "all"
        if "->" in frame:
            continue  # the map's separator; inferno falls back to --hash for it
        if frame == "" or analyse.THREAD.match(frame):
            r, g, b = 200, 200, 200
        else:
            r, g, b = family_rgb(analyse.family(frame, ours), frame)
        lines.append(f"{frame}->rgb({r},{g},{b})\n")
    return "".join(lines)


def flamegraph(
    folded: str,
    svg: Path,
    title: str,
    subtitle: str = "",
    extra: Iterable[str] = (),
    palette_map: bool = True,
    countname: str = "samples",
    ours: str = analyse.OUR_PYTHON,
) -> Path:
    """Draw ``folded`` (text) to ``svg`` with inferno-flamegraph and the shared palette.

    ``palette_map=False`` for a differential graph, coloured by growth instead.
    """
    frames = {f for line in folded.splitlines() for f in line.rsplit(" ", 1)[0].split(";")} | {""}
    with tempfile.TemporaryDirectory() as tmp:
        if palette_map:
            Path(tmp, "palette.map").write_text(palette(frames, ours))
        command = [
            _tool("inferno-flamegraph"), *(["--cp"] if palette_map else []), "--hash",
            "--minwidth", "0.05", "--title", title, "--countname", countname,
            "--bgcolors", "#f8f8f8", "--fontsize", "13", *extra,
        ]  # fmt: skip
        if subtitle:
            command += ["--subtitle", subtitle]
        done = subprocess.run(command, input=folded, capture_output=True, text=True, cwd=tmp)
    if done.returncode != 0:
        raise DrawError(f"inferno-flamegraph failed for {svg}: {done.stderr.strip()}")
    svg.parent.mkdir(parents=True, exist_ok=True)
    svg.write_text(done.stdout)
    return svg


def svg_height(svg: Path) -> int:
    match = re.search(r'<svg[^>]*\sheight="(\d+)"', svg.read_text()[:3000])
    return int(match.group(1)) if match else 600


# --- one profile ------------------------------------------------------------------


def per_call_label(seconds: float | None, unit: str = "call") -> str:
    return "? per " + unit if seconds is None else f"{fmt_time(seconds)}/{unit}"


def render(prof: Profile, svg: Path, title: str, timing: tuple[float | None, str]) -> Path:
    """``svg``: the timed part of ``prof``, one box per function (``reading_view``)."""
    timed = prof.timed(keep_entry=True)
    seconds, source = timing
    unit = prof.meta.get("unit", "call")
    what = prof.meta.get("shown", "the timed calls")
    said = [
        f"{prof.meta.get('recorder_line', prof.recorder)}",
        f"time per {unit}: {source}" if source else "",
        f"{count(timed)} of {prof.total} samples: {what}",
        "Python frames merged by function (lines dropped); our Rust keeps its lines",
    ]
    return flamegraph(
        folded_text(reading_view(timed)),
        svg,
        f"{title} — {per_call_label(seconds, unit)}",
        "; ".join(s for s in said if s),
        ours=prof.meta.get("ours", analyse.OUR_PYTHON),
    )


# --- two profiles: what changed ---------------------------------------------------------


def diff_frame(frame: str) -> str:
    """A frame as the diffs compare it: by function, whatever the stage.

    Line numbers go (a function is one box, wherever the sample fell) and the
    stage crate's name becomes ``stage::``, so stage 1's and stage 2's Rust
    ``find_close_polygons`` are one function whose insides changed.
    """
    frame = re.sub(r":\d+\)$", ")", frame)
    return re.sub(r"^(<?)stage\d\w*::", r"\1stage::", frame)


def diff_view(prof: Profile, seconds: float | None, entry: str | None) -> str:
    """The timed part of ``prof`` in nanoseconds per call, by function, as folded text.

    ``entry``: the subject's entry function (``main``), whose Python frame is folded
    into one root box, since each stage's ``main`` lives in its own module.
    """
    lines: dict[str, int] = {}
    timed = prof.per_call(seconds)
    for stack, n in timed.items():
        if prof.entry and stack and stack[0] == prof.entry:
            stack = stack[1:]
        if stack and entry and is_python(stack[0]) and function_name(stack[0]) == entry:
            stack = stack[1:]
        frames = [diff_frame(f) for f in stack]
        key = ";".join([f"{entry or 'the run'} (timed calls)", *frames])
        lines[key] = lines.get(key, 0) + n
    return "".join(f"{k} {n}\n" for k, n in sorted(lines.items()))


def write_diffs(
    before: tuple[Profile, float | None, str | None],
    after: tuple[Profile, float | None, str | None],
    folder: Path,
) -> tuple[Path, Path]:
    """Two differential flamegraphs of time per call (inferno-diff-folded, not normalised).

    Each profile is first turned into nanoseconds per call (its samples times its time
    per call over its sample count), so an unchanged function keeps its width and its
    colour: only what costs more, or less, per call is red or blue.

    ``diff-A-B.svg`` is drawn on B: red costs more per call than in A, blue less.
    ``diff-A-B-vanished.svg`` is drawn on A, hues switched: blue is what shrank or
    vanished in B (a box that is gone from B cannot be drawn on B).
    """
    a, b = before[0].name, after[0].name
    views = {}
    with tempfile.TemporaryDirectory() as tmp:
        for prof, seconds, entry in (before, after):
            views[prof.name] = Path(tmp, f"{prof.name}.folded")
            views[prof.name].write_text(diff_view(prof, seconds, entry))
        grew, vanished = folder / f"diff-{a}-{b}.svg", folder / f"diff-{a}-{b}-vanished.svg"
        for first, second, svg, extra, what in (
            (a, b, grew, [], f"drawn on {b}: red costs more per call, blue less"),
            (b, a, vanished, ["--negate"], f"drawn on {a}: blue shrank or vanished in {b}"),
        ):
            done = subprocess.run(
                [_tool("inferno-diff-folded"), str(views[first]), str(views[second])],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise DrawError(f"inferno-diff-folded failed: {done.stderr.strip()}")
            flamegraph(
                done.stdout,
                svg,
                f"{a} → {b}: {what}",
                "functions in the timed calls, width and colour in nanoseconds per call "
                "(time per call spread over the samples)",
                extra=extra,
                palette_map=False,
                countname="ns per call",
            )
    return grew, vanished
