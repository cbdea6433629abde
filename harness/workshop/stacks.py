"""Stacks: what every recorder's samples become, and the one object the page reads.

A recorder (``workshop.recorders``) hands over raw stacks, frame names as the tool
wrote them. Here they are cleaned once (``clean_frames``: Rust names demangled,
addresses that change from run to run dropped) and kept as folded text beside a
``.meta.json`` (which recorder, the command, the rate, the time per call). ``Profile``
reads that pair back; ``Profile.timed`` cuts it to the timed calls and
``reading_view`` merges frames by function for the flamegraphs people read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent  # .venv/bin: py-spy, samply, inferno-*, rustfilt

Stacks = dict[tuple[str, ...], int]  # stack (root first) -> samples


# --- frames ------------------------------------------------------------------

# py-spy writes Rust's legacy symbols half-decoded, path segments joined by `::` and
# rustc's escapes left in (`_$LT$pyo3..Bound$LT$...$GT$::getattr::h0123...`); rustfilt
# decodes them once they are mangled again (`_ZN` + each segment as length and text + `E`).
# It also demangles the v0 symbols (`_RNv...`, the standard library's) as they are.
_LEGACY = re.compile(r"[\w.$]+(?:::[\w.$]+)*")
_ESCAPED = re.compile(r"\$(?:SP|BP|RF|LT|GT|LP|RP|C|u[0-9a-f]{2})\$|::h[0-9a-f]{16}$")
_ADDRESS = re.compile(r"^0x[0-9a-f]+ \((.*)\)$")
_V0 = re.compile(r"\b_R[0-9A-Za-z_]+")
_HASH = re.compile(r"::h[0-9a-f]{16}(?=$| \()")


def split_frame(frame: str) -> tuple[str, str]:
    """``name (file.rs:12)`` -> ``("name", " (file.rs:12)")``."""
    if frame.endswith(")") and " (" in frame:
        name, _, location = frame.rpartition(" (")
        return name, f" ({location}"
    return frame, ""


def _mangled(name: str) -> str | None:
    """The symbol rustfilt reads for a frame's function name, or None if it is not Rust's."""
    if _LEGACY.fullmatch(name) and _ESCAPED.search(name):
        return "_ZN" + "".join(f"{len(part)}{part}" for part in name.split("::")) + "E"
    return name if _V0.search(name) else None


def tool(name: str) -> str | None:
    """``name`` in .venv/bin or on PATH, or None."""
    return shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def clean_frames(frames: Iterable[str]) -> dict[str, str]:
    """Each raw frame, readable and identical from run to run (one rustfilt call).

    - an unresolved address ``0x7f.. (libc.so.6)`` becomes ``[libc.so.6]``: the
      address changes with every run, so a diff would never match it;
    - Rust symbols are demangled by rustfilt, without the ``::h<hash>`` suffix:
      ``<pyo3::instance::Bound<..> as ..PyAnyMethods>::getattr (any.rs:864)``.
    """
    out, todo = {}, {}
    for frame in set(frames):
        address = _ADDRESS.match(frame)
        if address:
            out[frame] = f"[{address.group(1).strip('[]')}]"
            continue
        name, location = split_frame(frame)
        mangled = _mangled(name)
        if mangled is None:
            out[frame] = _HASH.sub("", frame)
        else:
            todo[frame] = (mangled, location)
    rustfilt = tool("rustfilt")
    if todo and rustfilt is None:
        print("note: rustfilt not found; Rust frames stay mangled", file=sys.stderr)
        return out | {frame: frame for frame in todo}
    if todo:
        symbols = "".join(f"{mangled}\n" for mangled, _ in todo.values())
        done = subprocess.run([rustfilt], input=symbols, capture_output=True, text=True, check=True)
        for (frame, (mangled, location)), name in zip(
            todo.items(), done.stdout.splitlines(), strict=True
        ):
            # A name rustfilt cannot read comes back as it went in; a ';' would split the stack.
            out[frame] = frame if name == mangled else name.replace(";", ",") + location
    return out


def clean_frame(frame: str) -> str:
    """One raw frame, cleaned as ``clean_frames`` does."""
    return clean_frames([frame])[frame]


def clean_stacks(
    raw: Iterable[tuple[Iterable[str], int]], clean: dict[str, str] | None = None
) -> Counter[tuple[str, ...]]:
    """Raw stacks (frames root first, samples) -> cleaned stack -> samples.

    Leading unresolved frames (the process entry in libc, below Python's main)
    are dropped: they are the same in every sample and only split the root.
    ``clean``: what ``clean_frames`` made of each frame, if known already.
    """
    parsed = [(list(frames), n) for frames, n in raw]
    if clean is None:
        clean = clean_frames(frame for frames, _ in parsed for frame in frames)
    stacks: Counter[tuple[str, ...]] = Counter()
    for frames, count in parsed:
        cleaned = [clean[frame] for frame in frames]
        while len(cleaned) > 1 and cleaned[0].startswith("[") and not THREAD.match(cleaned[0]):
            cleaned.pop(0)
        stacks[tuple(cleaned)] += count
    return stacks


def parse_folded(lines: Iterable[str]) -> list[tuple[list[str], int]]:
    """``frame;frame;... count`` lines -> ``(frames, count)``."""
    out = []
    for line in lines:
        line = line.rstrip("\n")
        if line.strip():
            stack, _, count = line.rpartition(" ")
            out.append((stack.split(";"), int(count)))
    return out


def folded_text(stacks: Stacks) -> str:
    return "".join(f"{';'.join(stack)} {n}\n" for stack, n in sorted(stacks.items()))


def function_name(frame: str) -> str:
    """The frame without its location: ``find_close_polygons (poly_match/__init__.py:72)``
    -> ``find_close_polygons``."""
    return split_frame(frame)[0]


def is_python(frame: str) -> bool:
    return ".py:" in frame or ".py)" in frame or "(<frozen " in frame


def is_rust(frame: str) -> bool:
    return bool(re.search(r"\.rs(:\d+)?\)$", frame))


def is_stage_crate(frame: str) -> bool:
    """A frame of a stage crate's own Rust code (``stage3_selector::...``)."""
    return is_rust(frame) and bool(re.match(r"^<?stage\d\w*::", frame))


def by_function(frame: str) -> str:
    """The frame without its line number: ``norm (numpy/linalg/_linalg.py:2791)`` ->
    ``norm (numpy/linalg/_linalg.py)``."""
    return re.sub(r":\d+\)$", ")", frame)


# A thread's root box in a recording of every thread (samply): ``[thread 2]``.
THREAD = re.compile(r"^\[(main thread|thread \d+)\]$")


def count(stacks: Stacks) -> int:
    return sum(stacks.values())


def under(stacks: Stacks, pattern: str) -> Stacks:
    """The stacks with a frame matching ``pattern``, cut to start at that frame."""
    regex = re.compile(pattern)
    out: Counter[tuple[str, ...]] = Counter()
    for stack, n in stacks.items():
        for i, frame in enumerate(stack):
            if regex.search(frame):
                out[stack[i:]] += n
                break
    return dict(out)


# --- a profile -------------------------------------------------------------------


def read_meta(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class Profile:
    """One recording: its stacks (``stack, root first -> samples``) and what it was.

    ``meta`` (the ``.meta.json`` beside the folded file) says how to find the timed
    part: ``entry_frame`` (py-spy: the runner's frame around each timed call, kept
    as the graph's root box) or nothing (samply: only samples taken during the timed
    calls were kept, every thread under its own root box).
    """

    name: str
    stacks: Stacks
    meta: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, name: str | None = None) -> Profile:
        meta = read_meta(path.with_suffix(".meta.json"))
        stacks: Counter[tuple[str, ...]] = Counter()
        for frames, n in parse_folded(path.read_text().splitlines()):
            stacks[tuple(frames)] += n
        return cls(name or path.stem, dict(stacks), meta)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folded = folder / f"{self.name}.folded"
        folded.write_text(folded_text(self.stacks))
        meta = folded.with_suffix(".meta.json")
        meta.write_text(json.dumps(self.meta, indent=2) + "\n")
        return folded

    @property
    def recorder(self) -> str:
        return self.meta.get("recorder", "py-spy")

    @property
    def entry(self) -> str | None:
        return self.meta.get("entry_frame")

    @property
    def total(self) -> int:
        return count(self.stacks)

    def timed(self, keep_entry: bool = False) -> Stacks:
        """The stacks inside the timed calls.

        py-spy: cut to start under the runner's frame (``keep_entry``: at it, so the
        graph's root box is the frame the walkthrough names). samply: as recorded.
        """
        if not self.entry:
            return dict(self.stacks)
        out: Counter[tuple[str, ...]] = Counter()
        for stack, n in self.stacks.items():
            if self.entry in stack:
                at = stack.index(self.entry)
                cut = stack[at if keep_entry else at + 1 :]
                if cut:
                    out[cut] += n
        return dict(out)

    def threads(self) -> Counter[str]:
        """Samples per thread (a recording of every thread has a root box per thread)."""
        out: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            out[stack[0] if THREAD.match(stack[0]) else "[main thread]"] += n
        return out

    def per_call(self, seconds: float | None) -> Stacks:
        """The timed stacks in nanoseconds per call (each sample is ``seconds`` per call
        over the samples), so two profiles compare in time, whatever their sample counts."""
        timed = self.timed(keep_entry=True)
        total = count(timed)
        if not total or not seconds:
            return timed
        scale = seconds * 1e9 / total
        return {stack: max(1, round(n * scale)) for stack, n in timed.items()}


# samply's native stacks, read as a person would: a run of the interpreter's (or libc's) C
# frames is one box, and so is a run of the Rust runtime's (std, core, alloc, rayon's
# plumbing, mostly inlined), so our own frames and the libraries' stand out.
RUNS = {
    "[CPython interpreter, libc]": re.compile(
        r"\((?!<)[^()]*\.[chS](:\d+)?\)$|^\[[^\]]*\.so[^\]]*\]$"
    ),
    "[Rust runtime: std, core, alloc, rayon]": re.compile(
        r"^<?(?:std|core|alloc|rayon_core|rayon)::|^<[\[&*]*(?:std|core|alloc|rayon_core)::"
    ),
}


def collapse_runs(stack: tuple[str, ...]) -> tuple[str, ...]:
    """``stack`` with each run of frames that ``RUNS`` names as one box."""
    out: list[str] = []
    for frame in stack:
        name = next((label for label, rule in RUNS.items() if rule.search(frame)), None)
        if name is None:
            out.append(frame)
        elif not out or out[-1] != name:
            out.append(name)
    return tuple(out)


def reading_view(stacks: Stacks, runs: bool = False) -> Stacks:
    """The stacks as the flamegraphs show them: one box per function.

    A Python frame's line is where that function was when sampled, so ``norm`` sampled
    on ten lines would be ten sibling boxes; dropped, it is one box whose width reads
    off the graph. The stage crates' own Rust frames keep their lines: which line of
    our loop is hot is the lesson of stages 3 and 4. The import machinery's frames go;
    with ``runs`` (samply's native stacks), so do the runs ``collapse_runs`` folds.
    """
    out: Counter[tuple[str, ...]] = Counter()
    for stack, n in stacks.items():
        kept = (
            f if is_stage_crate(f) else by_function(f) for f in stack if not IMPORTLIB.search(f)
        )
        out[collapse_runs(tuple(kept)) if runs else tuple(kept)] += n
    return dict(out)


# The import machinery's own frames: between one module's `<module>` and the next, a
# dozen of them per import; without them an import reads as the modules it ran.
IMPORTLIB = re.compile(r"\(<frozen importlib\._bootstrap(_external)?>(:\d+)?\)$")
