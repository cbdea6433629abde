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
from collections.abc import Callable, Iterable
from pathlib import Path

from workshop import analyse
from workshop.report import fmt_time
from workshop.stacks import (
    IMPORTLIB,
    Profile,
    by_function,
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


Families = tuple[Callable[[str], str], dict[str, tuple[str, float]]]
STAGE_FAMILIES: Families = (analyse.family, analyse.FAMILIES)


def families(prof: Profile) -> Families:
    """How ``prof``'s frames are coloured: a frame -> its family, and the families' hues.
    A script's profile names each frame's origin (``analyse.Origin``); a stage's frames
    are read by ``analyse.family``."""
    origins = prof.meta.get("origins")
    if origins is None:
        return STAGE_FAMILIES
    # The graphs merge a function's lines into one box (stacks.reading_view).
    origins = {by_function(frame): known for frame, known in origins.items()} | origins

    def family_of(frame: str) -> str:
        known = origins.get(frame)
        return known[0].partition(":")[0] if known else "python"

    return family_of, analyse.SCRIPT_FAMILIES


def family_rgb(
    name: str, shade_of: str = "", table: dict[str, tuple[str, float]] = analyse.FAMILIES
) -> tuple[int, int, int]:
    """The colour of a frame: hue by family, shade by its function name."""
    shade_of = function_name(shade_of)
    hue = table[name][1]
    shade = zlib.crc32(shade_of.encode()) / 2**32
    # The interpreter's family is muted, so the code a reader can change stands out.
    saturation = 0.55 + 0.25 * shade
    if name == "system":
        saturation = 0.35
    elif name == "python" and table is analyse.SCRIPT_FAMILIES:
        saturation = 0.12
    lightness = 0.62 + 0.14 * shade
    r, g, b = colorsys.hls_to_rgb(hue + 0.04 * (shade - 0.5), lightness, saturation)
    return round(255 * r), round(255 * g), round(255 * b)


def palette(frames: Iterable[str], by: Families = STAGE_FAMILIES) -> str:
    """inferno's palette.map: ``frame->rgb(r,g,b)`` for each frame."""
    family_of, table = by
    lines = []
    for frame in sorted(set(frames)):  # "" is inferno's root box, "all"
        if "->" in frame:
            continue  # the map's separator; inferno falls back to --hash for it
        if frame == "" or analyse.THREAD.match(frame):
            r, g, b = 200, 200, 200
        else:
            r, g, b = family_rgb(family_of(frame), frame, table)
        lines.append(f"{frame}->rgb({r},{g},{b})\n")
    return "".join(lines)


def flamegraph(
    folded: str,
    svg: Path,
    title: str,
    subtitle: str = "",
    extra: Iterable[str] = (),
    countname: str = "samples",
    by: Families = STAGE_FAMILIES,
    colours: dict[str, tuple[int, int, int]] | None = None,
) -> Path:
    """Draw ``folded`` (text) to ``svg`` with inferno-flamegraph and the shared palette
    (or ``colours``: frame -> rgb, for a differential graph)."""
    frames = {f for line in folded.splitlines() for f in line.rsplit(" ", 1)[0].split(";")} | {""}
    with tempfile.TemporaryDirectory() as tmp:
        if colours is None:
            text = palette(frames, by)
        else:
            colours = {"": (200, 200, 200), **colours}  # "" is inferno's root box, "all"
            text = "".join(
                f"{f}->rgb({r},{g},{b})\n"
                for f, (r, g, b) in sorted(colours.items())
                if "->" not in f
            )
        Path(tmp, "palette.map").write_text(text)
        command = [
            _tool("inferno-flamegraph"), "--cp", "--hash",
            "--minwidth", "0.05", "--title", title, "--countname", countname,
            "--bgcolors", "#f8f8f8", "--fontsize", "13", "--truncate-text-right", *extra,
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
    """The height of the frame to show ``svg`` in: its own, and the frame's border."""
    match = re.search(r'<svg[^>]*\sheight="(\d+)"', svg.read_text()[:3000])
    return (int(match.group(1)) if match else 600) + 4


# --- one profile ------------------------------------------------------------------


def per_call_label(seconds: float | None, unit: str = "call") -> str:
    return "? per " + unit if seconds is None else f"{fmt_time(seconds)}/{unit}"


def render(prof: Profile, svg: Path, seconds: float | None) -> Path:
    """``svg``: the timed part of ``prof``, one box per function (``reading_view``), titled
    short (the page around it says the rest): ``stage1 — 15.1 ms/call``."""
    timed = prof.timed(keep_entry=True)
    what = prof.meta.get("shown", "the timed calls")
    subtitle = f"{prof.meta.get('recorder_line', prof.recorder)}; "
    subtitle += f"{count(timed)} of {prof.total} samples ({what})"
    if prof.recorder == "samply":
        subtitle += "; runs of interpreter and Rust runtime frames: one box each"
    return flamegraph(
        folded_text(reading_view(timed, runs=prof.recorder == "samply")),
        svg,
        f"{prof.name} — {per_call_label(seconds, prof.meta.get('unit', 'call'))}",
        subtitle,
        by=families(prof),
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
        frames = [diff_frame(f) for f in stack if not IMPORTLIB.search(f)]
        key = ";".join([f"{entry} (timed calls)" if entry else "the whole run", *frames])
        lines[key] = lines.get(key, 0) + n
    return "".join(f"{k} {n}\n" for k, n in sorted(lines.items()))


def change_colours(
    before: dict[str, int], after: dict[str, int]
) -> dict[str, tuple[int, int, int]]:
    """A colour per function from the change of its time per call (``before`` and ``after``:
    function -> inclusive nanoseconds per call): red grew, blue shrank, by how much of the
    larger of the two; pale grey within 10%, so an unchanged function reads as unchanged."""
    colours = {}
    for frame in before.keys() | after.keys():
        a, b = before.get(frame, 0), after.get(frame, 0)
        change = (b - a) / max(a, b, 1)
        strength = min(abs(change), 1.0)
        if strength < 0.1:
            colours[frame] = (226, 226, 226)
            continue
        hue = 0.0 if change > 0 else 0.62
        light = 0.90 - 0.28 * (strength - 0.1) / 0.9
        r, g, b_ = colorsys.hls_to_rgb(hue, light, 0.95)
        colours[frame] = (round(255 * r), round(255 * g), round(255 * b_))
    return colours


def inclusive(folded: dict[tuple[str, ...], int]) -> dict[str, int]:
    """Function -> nanoseconds per call of the stacks it is in (once per stack)."""
    out: dict[str, int] = {}
    for stack, n in folded.items():
        for frame in set(stack):
            out[frame] = out.get(frame, 0) + n
    return out


def write_diffs(
    before: tuple[Profile, float | None, str | None],
    after: tuple[Profile, float | None, str | None],
    folder: Path,
    unit: str = "call",
) -> tuple[Path, Path]:
    """Two differential flamegraphs of time per call.

    Each profile is first turned into nanoseconds per call (its samples times its time
    per call over its sample count), so an unchanged function keeps its width and stays
    pale whatever the sample counts; a function is coloured by how its time per call
    changed (``change_colours``).

    ``diff-A-B.svg`` is B's graph: red costs more per call than in A, blue less.
    ``diff-A-B-vanished.svg`` is A's graph, coloured the same way: what vanished from B
    (a box that is gone from B cannot be drawn on B) is deep blue.
    """
    a, b = before[0].name, after[0].name
    views = {}
    for prof, seconds, entry in (before, after):
        views[prof.name] = {
            tuple(stack.split(";")): int(n)
            for stack, _, n in (
                line.rpartition(" ") for line in diff_view(prof, seconds, entry).splitlines()
            )
        }
    colours = change_colours(inclusive(views[a]), inclusive(views[b]))
    grew, vanished = folder / f"diff-{a}-{b}.svg", folder / f"diff-{a}-{b}-vanished.svg"
    for name, svg, what in (
        (b, grew, f"{b}, coloured by the change from {a}"),
        (a, vanished, f"{a}: what shrank or vanished in {b} is blue"),
    ):
        flamegraph(
            folded_text(views[name]),
            svg,
            f"{a} → {b}: {what}",
            f"ns per {unit}; red costs more per {unit}, blue less, grey within 10%",
            countname=f"ns per {unit}",
            colours=colours,
        )
    return grew, vanished
