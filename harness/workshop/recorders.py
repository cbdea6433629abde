"""The recorders: py-spy and samply, each around one command, both giving cleaned stacks.

    py-spy  record --native --format raw: the Python thread(s), Python functions named with
            file:line, Rust and C frames of the same threads (ptrace; no --native on macOS).
    samply  record --save-only --unstable-presymbolicate: every thread of the process (rayon's
            workers too), native frames only, from perf events on Linux (perf_event_paranoid
            <= 1) or the task APIs on macOS. Its Gecko profile (JSON) plus the ``.syms.json``
            sidecar (per library: address -> symbol, file, line, inlined frames) become stacks
            here, one root box per thread: ``[main thread]``, ``[thread 2]``, ...

Both return a ``Recording``: stacks (frames root first, cleaned by ``workshop.stacks``), what
the command printed, and a line saying how it was recorded.

A reader's own script (``workshop.script``) is recorded with three more things: ``pass_fds``,
the terminal's stdout and stderr handed through the recorder to the script (the recorder's
own messages stay captured); ``frames``, a ``FrameNamer`` that names each frame from its
parts (function, file, line, library), so that no file name is ever parsed back out of a
text (py-spy then writes speedscope's JSON with full file names instead of folded text);
and ``shown``, the command as messages name it (the script, not its launcher).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from workshop.stacks import clean_frames, clean_stacks, parse_folded, tool

# Installed into .venv/bin on first use (see the Makefile): name -> how.
SAMPLY_INSTALL = "make samply"

PTRACE_HINT = """\
py-spy --native cannot read the Python process here (ptrace refused, or no --native).
  Linux:  run as root, e.g.  sudo env "PATH=$PATH" make profiles
          (or allow it for your user: sudo sysctl kernel.yama.ptrace_scope=0)
  Docker: start the container with  --cap-add SYS_PTRACE
  macOS:  py-spy has no --native there (no Rust frames): use samply instead,
          make profile-stage1 PROFILER=samply"""

PARANOID = Path("/proc/sys/kernel/perf_event_paranoid")
PERF_HINT = """\
samply cannot record here: the kernel refuses perf events to this user
(/proc/sys/kernel/perf_event_paranoid is {level}; samply needs 1 or less).
  Allow it until the next reboot:  sudo sysctl kernel.perf_event_paranoid=1
  (a container: set it on the host; Docker also needs --cap-add PERFMON or SYS_ADMIN)"""


class RecordError(Exception):
    """A failure to explain in one message, without a traceback."""


class Refused(RecordError):
    """The recorder may not read the process here (ptrace or perf events refused, or no
    --native on this platform). ``why`` is the one line ``make profiles`` prints."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


@dataclass
class Recording:
    stacks: Counter[tuple[str, ...]]
    output: str  # what the command printed (the runner's result line)
    line: str  # how it was recorded, for titles: "py-spy --native, 200 Hz"
    command: str  # the recorder's command line, as a reader would type it
    extra: dict = field(default_factory=dict)


class FrameNamer(Protocol):
    """Names a frame from its parts; ``renamed`` is told what cleaning made of each name."""

    def __call__(self, function: str, file: str, line: int, library: str = "") -> str: ...

    def renamed(self, clean: dict[str, str]) -> None: ...


def _run(
    command: list[str], env: dict[str, str], pass_fds: Collection[int] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a recorder, its own output captured; ``pass_fds`` reach the command it runs."""
    return subprocess.run(
        command, capture_output=True, text=True, env=env, pass_fds=tuple(pass_fds)
    )


def _said(done: subprocess.CompletedProcess[str]) -> str:
    """What a recorder printed, without the Rust backtrace of its error (``Stack backtrace:``
    and below, which anyhow adds under RUST_BACKTRACE): the message is the first lines."""
    said = (done.stdout + done.stderr).strip()
    return re.split(r"\n\s*Stack backtrace:", said)[0].strip()


def _shown(command: list[str]) -> str:
    """The command as a reader would type it: the venv's python is ``python``."""
    words = ["python" if w == sys.executable else w for w in command]
    return " ".join(w if re.fullmatch(r"[\w./=:,+-]+", w) else repr(w) for w in words)


# --- py-spy --------------------------------------------------------------------------------


def pyspy_refused(platform: str = sys.platform) -> str:
    if platform == "darwin":
        return "py-spy has no --native on macOS (no Rust frames)"
    return (
        "py-spy may not attach to Python here (ptrace refused: not root, or a container "
        "without SYS_PTRACE)"
    )


def record_pyspy(
    command: list[str],
    rate: int,
    env: dict[str, str],
    pass_fds: Collection[int] = (),
    frames: FrameNamer | None = None,
    shown: list[str] | None = None,
) -> Recording:
    """``py-spy record --native`` around ``command`` (a Python program)."""
    if sys.platform == "darwin":
        raise Refused(PTRACE_HINT, pyspy_refused("darwin"))
    pyspy = tool("py-spy")
    if pyspy is None:
        raise RecordError("py-spy not found; run `make setup`")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp, "stacks.raw")
        form = ["--format", "raw"] if frames is None else ["--format", "speedscope"]
        if frames is not None:
            form.append("--full-filenames")
        spy = [pyspy, "record", "--native", "--rate", str(rate), *form, "-o", str(raw)]
        done = _run([*spy, "--", *command], env, pass_fds)
        said = _said(done)
        if done.returncode != 0 or not raw.exists():
            refused = (
                r"permission denied|operation not permitted|ptrace|not supported on your platform"
            )
            if re.search(refused, said, re.IGNORECASE):
                raise Refused(f"{PTRACE_HINT}\n\npy-spy said:\n{said}", pyspy_refused())
            raise RecordError(f"py-spy failed on {_shown(shown or command)}:\n{said}")
        if frames is None:
            stacks = clean_stacks(parse_folded(raw.read_text().splitlines()))
        else:
            stacks = _named(speedscope_stacks(json.loads(raw.read_text()), frames), frames)
    line = ["py-spy", "record", "--native", "--rate", str(rate), "--", *(shown or command)]
    return Recording(stacks, done.stdout, f"py-spy --native, {rate} Hz", _shown(line))


def speedscope_stacks(data: dict, frames: FrameNamer) -> Counter[tuple[str, ...]]:
    """py-spy's speedscope file (a profile per thread, each sample a list of frame indexes,
    root first) as stacks of every thread together, each frame named by ``frames``."""
    names = [
        frames(f.get("name") or "?", f.get("file") or "", f.get("line") or 0)
        for f in data.get("shared", {}).get("frames", [])
    ]
    stacks: Counter[tuple[str, ...]] = Counter()
    for thread in data.get("profiles", []):
        for sample in thread.get("samples", []):
            stacks[tuple(names[i] for i in sample)] += 1
    return stacks


def _named(stacks: Counter[tuple[str, ...]], frames: FrameNamer) -> Counter[tuple[str, ...]]:
    """``clean_stacks`` for frames a ``FrameNamer`` named, which it tells the new names."""
    clean = clean_frames(f for stack in stacks for f in stack)
    frames.renamed(clean)
    return clean_stacks(list(stacks.items()), clean)


# --- samply --------------------------------------------------------------------------------


def samply_refused(paranoid: Path | None = None) -> str | None:
    """Why samply cannot record here (one line), or None."""
    if sys.platform == "linux":
        try:
            level = int((paranoid or PARANOID).read_text())
        except (OSError, ValueError):
            return None
        if level > 1:
            return (
                f"the kernel refuses perf events (kernel.perf_event_paranoid = {level}; "
                "samply needs 1 or less: sudo sysctl kernel.perf_event_paranoid=1)"
            )
    return None


# The runner marks its timed calls in a samply marker file (a text file named
# marker-PID.txt, mapped executable so perf reports it): "start end name", CLOCK_MONOTONIC ns.
MARKER_DIR = "WORKSHOP_SAMPLY_MARKERS"
TIMED = "timed calls"


def check_samply() -> None:
    """Raise ``Refused`` (with the hint) where the kernel will not let samply record."""
    why = samply_refused()
    if why:
        level = PARANOID.read_text().strip()
        raise Refused(PERF_HINT.format(level=level), f"samply: {why}")


def record_samply(
    command: list[str],
    rate: int,
    env: dict[str, str],
    pass_fds: Collection[int] = (),
    frames: FrameNamer | None = None,
    shown: list[str] | None = None,
) -> Recording:
    """``samply record --save-only --unstable-presymbolicate`` around ``command``."""
    check_samply()
    samply = tool("samply")
    if samply is None:
        raise RecordError(f"samply not found; `{SAMPLY_INSTALL}` installs it into .venv/bin")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "profile.json")
        rec = [samply, "record", "--save-only", "--unstable-presymbolicate", "--rate", str(rate)]
        done = _run([*rec, "-o", str(out), "--", *command], {**env, MARKER_DIR: tmp}, pass_fds)
        said = _said(done)
        if done.returncode != 0 or not out.exists():
            if re.search(r"perf_event_paranoid|permission denied|EACCES", said, re.IGNORECASE):
                raise Refused(f"samply could not record:\n{said}", "samply: perf events refused")
            raise RecordError(f"samply failed on {_shown(shown or command)}:\n{said}")
        gecko = read_gecko(out)
        symbols = Symbols.read(out.with_suffix(".syms.json"))
        stacks, extra = gecko_stacks(gecko, symbols, frames)
    line = ["samply", "record", "--rate", str(rate), "--", *(shown or command)]
    return Recording(
        _named(stacks, frames) if frames else clean_stacks(list(stacks.items())),
        done.stdout,
        f"samply, {rate} Hz, every thread",
        _shown(line),
        extra,
    )


def read_gecko(path: Path) -> dict:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)


def _debug_key(debug_id: str) -> str:
    """A library's id as both files spell it: the sidecar's ``e86a51a7-fc1a-...`` and the
    profile's breakpad id ``E86A51A7FC1A...0`` (the same 32 digits, then an age)."""
    return debug_id.replace("-", "").upper()[:32]


class Symbols:
    """The ``.syms.json`` sidecar: per library (by debug id), address -> frames.

    samply writes, for every address its profile holds, the symbol and, with debug
    info, the inlined frames at that address (innermost first) with file and line.
    """

    def __init__(self, data: dict) -> None:
        strings = data.get("string_table", [])
        self.libs: dict[str, tuple[list[int], list[int], list[dict]]] = {}
        for lib in data.get("data", []):
            known = sorted(lib.get("known_addresses", []))
            self.libs[_debug_key(lib["debug_id"])] = (
                [rva for rva, _ in known],
                [index for _, index in known],
                lib.get("symbol_table", []),
            )
        self.strings = strings

    @classmethod
    def read(cls, path: Path) -> Symbols:
        try:
            return cls(json.loads(path.read_text()))
        except (OSError, ValueError):
            return cls({})

    def frames(self, debug_id: str, rva: int) -> list[tuple[str, str, int]] | None:
        """The frames at ``rva`` in the library, outermost first, as (function, source file,
        line), or None."""
        lib = self.libs.get(_debug_key(debug_id))
        if lib is None:
            return None
        rvas, indexes, table = lib
        at = bisect_right(rvas, rva) - 1
        if at < 0 or rvas[at] != rva:
            return None
        entry = table[indexes[at]]
        name = self.strings[entry["symbol"]]
        out = []
        for frame in reversed(entry.get("frames") or []):
            function = (
                self.strings[frame["function"]] if frame.get("function") is not None else name
            )
            file = self.strings[frame["file"]] if frame.get("file") is not None else ""
            out.append((function, file, frame.get("line") or 0))
        return out or [(name, "", 0)]


def frame_text(function: str, file: str, line: int, library: str = "") -> str:
    """A native frame as the stage profiles name it: ``function (lib.rs:12)``."""
    if not file:
        return function
    where = Path(file).name + (f":{line}" if line else "")
    return f"{function} ({where})"


def _column(table: dict, key: str) -> list:
    value = table.get(key)
    if isinstance(value, dict):  # some versions wrap arrays
        value = value.get("_array", [])
    return value if value is not None else []


def gecko_stacks(
    profile: dict, symbols: Symbols, frames: FrameNamer | None = None
) -> tuple[Counter[tuple[str, ...]], dict]:
    """Every thread's samples as stacks (root first) under a root box per thread.

    Only samples inside the runner's "timed calls" marker are kept when the profile
    has one; a thread's samples are counted only while it ran (CPU time since the
    previous sample above zero), so a thread asleep on a lock adds nothing.
    """
    libs = profile.get("libs", [])
    shared = profile.get("shared", {})
    threads = profile.get("threads", [])
    window = _marker_window(threads, shared)
    stacks: Counter[tuple[str, ...]] = Counter()
    per_thread: dict[str, int] = {}
    workers = 0
    for thread in threads:
        strings = thread.get("stringArray") or _column(shared, "stringArray")
        unwind = _unwinder(thread, _frame_names(thread, strings, libs, symbols, frames))
        samples = thread["samples"]
        stack_col = _column(samples, "stack")
        times = _sample_times(samples)
        weights = _column(samples, "weight") or [1] * len(stack_col)
        cpu = _column(samples, "threadCPUDelta")
        mine: Counter[tuple[str, ...]] = Counter()
        for i, stack in enumerate(stack_col):
            if stack is None:
                continue
            if window and not (window[0] <= times[i] <= window[1]):
                continue
            if cpu and i > 0 and not cpu[i]:
                continue
            mine[unwind(stack)] += weights[i] if weights[i] is not None else 1
        if not mine:
            continue
        # The other threads are numbered as they appear (from 2), counting those that ran.
        if thread.get("isMainThread"):
            root = "[main thread]"
        else:
            workers += 1
            root = f"[thread {workers + 1}]"
        per_thread[root] = sum(mine.values())
        for stack, n in mine.items():
            stacks[(root, *stack)] += n
    extra = {"threads": per_thread, "window": bool(window)}
    return stacks, extra


def _unwinder(thread: dict, frames: list[list[str]]) -> Callable[[int], tuple[str, ...]]:
    """stack index -> its frames, root first (the stack table links each to its prefix)."""
    table = thread["stackTable"]
    prefix, frame_of = _column(table, "prefix"), _column(table, "frame")
    cache: dict[int, tuple[str, ...]] = {}

    def unwind(index: int) -> tuple[str, ...]:
        chain = []
        at: int | None = index
        while at is not None and at not in cache:
            chain.append(at)
            at = prefix[at]
        done: tuple[str, ...] = cache[at] if at is not None else ()
        for node in reversed(chain):
            done = done + tuple(frames[frame_of[node]])
            cache[node] = done
        return done

    return unwind


def _sample_times(samples: dict) -> list[float]:
    times = _column(samples, "time")
    if times:
        return times
    out, now = [], 0.0
    for delta in _column(samples, "timeDeltas"):
        now += delta
        out.append(now)
    return out


def _marker_window(threads: list[dict], shared: dict) -> tuple[float, float] | None:
    """The runner's "timed calls" marker (ms, the profile's clock), or None."""
    for thread in threads:
        strings = thread.get("stringArray") or _column(shared, "stringArray")
        markers = thread.get("markers", {})
        names = _column(markers, "name")
        starts, ends = _column(markers, "startTime"), _column(markers, "endTime")
        for i, name in enumerate(names):
            label = strings[name] if isinstance(name, int) and name < len(strings) else name
            data = _column(markers, "data")
            payload = data[i] if i < len(data) else None
            if isinstance(payload, dict):
                named = payload.get("name")
                if isinstance(named, int) and named < len(strings):
                    named = strings[named]
                label = named or label
            if label == TIMED and starts[i] is not None and ends[i] is not None:
                return starts[i], ends[i]
    return None


def _frame_names(
    thread: dict,
    strings: list[str],
    libs: list[dict],
    symbols: Symbols,
    frames: FrameNamer | None = None,
) -> list[list[str]]:
    """Each frame of the thread's frame table as a list of frames (inlined ones apart),
    named by ``frames`` (or as the stage profiles name them)."""
    name_of = frames or frame_text
    frame_table, func_table = thread["frameTable"], thread["funcTable"]
    resources = thread.get("resourceTable", {})
    addresses = _column(frame_table, "address")
    funcs = _column(frame_table, "func")
    func_names = _column(func_table, "name")
    func_res = _column(func_table, "resource")
    res_lib = _column(resources, "lib")
    out = []
    for i, func in enumerate(funcs):
        name = strings[func_names[func]]
        res = func_res[func] if func < len(func_res) else None
        known = res is not None and res >= 0 and res_lib[res] is not None
        lib = libs[res_lib[res]] if known else None
        path = (lib.get("path") or lib.get("name") or "") if lib else ""
        resolved = None
        if lib is not None and addresses[i] is not None and addresses[i] >= 0:
            debug_id = lib.get("breakpadId") or lib.get("debugId") or ""
            resolved = symbols.frames(debug_id, addresses[i])
        if resolved:
            out.append([name_of(f, file, line, path) for f, file, line in resolved])
        elif lib is not None and re.fullmatch(r"0x[0-9a-f]+", name):
            if frames is None:
                out.append([f"[{lib.get('debugName') or lib.get('name')}]"])
            else:
                out.append([frames(name, "", 0, path)])
        elif re.fullmatch(r"0x[0-9a-f]+", name):
            out.append(["[?]"])  # no library: JIT-compiled code (numba), as py-spy names it
        else:
            out.append([name_of(name, "", 0, path)])
    return out


def mark_timed(start_ns: int, end_ns: int) -> None:
    """Tell samply where the timed calls were (a no-op unless samply is recording)."""
    folder = os.environ.get(MARKER_DIR)
    if not folder:
        return
    import mmap

    path = Path(folder, f"marker-{os.getpid()}.txt")
    path.write_text(f"{start_ns} {end_ns} {TIMED}\n")
    try:
        with path.open("rb") as f:
            # perf reports only executable mappings: that is how samply finds the file.
            mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ | mmap.PROT_EXEC).close()
    except OSError:
        pass  # a noexec folder: the profile keeps the whole run, and its page says so
