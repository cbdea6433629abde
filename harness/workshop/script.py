"""Your own script, profiled from the folder you are in: ``workshop profile``.

    workshop profile rolling.py --window 50         # ./profiles/rolling/run1.svg, index.html
    workshop profile rolling.py --window 50         # run 2, drawn beside run 1, and the diff
    workshop profile -m mypackage.cli --fast        # a module, as `python -m` runs it
    workshop profile --python .venv/bin/python rolling.py   # under your own interpreter
    workshop profile --profiler samply rolling.py   # every thread, native frames only

The script runs as ``python rolling.py --window 50`` would: in your folder, with your
arguments as you typed them (no shell sees them), printing where you see it, under the
active virtualenv's python (``$VIRTUAL_ENV``), else the workshop's, or ``--python``'s. The
command ends with the script's exit status and its traceback; a run that failed is not
kept (one stopped with Ctrl-C is, and says so). Each run that is kept becomes ``runN`` in
``./profiles/NAME/`` (samply: ``./profiles/samply/NAME/``; ``--out`` elsewhere), beside an
``index.html`` that shows the newest run beside the one before, to one time scale, with the
differential graph between them.

The steps are the stages' (record, clean, analyse, draw, page), with what a script needs:
``workshop.launch`` runs it inside the recorder and reports its exit status; the frames are
named from their parts (``ScriptFrames``) with the file each comes from, so the page says
which time is your code's, a package's, the interpreter's or native code's.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from workshop import analyse, child_env, draw, recorders, shown
from workshop.stacks import Profile

RATE = 200
RECORDERS = ("py-spy", "samply")
LAUNCH = Path(__file__).with_name("launch.py")
INTERRUPTED = 130  # what a shell reports for a process stopped by Ctrl-C


class ScriptFrames:
    """Names each frame from its parts, as the graphs show it, and keeps where its code
    comes from (``analyse.origin``), for the page's rows and colours."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self.origins: dict[str, analyse.Origin] = {}

    def __call__(self, function: str, file: str, line: int, library: str = "") -> str:
        if function.startswith("py::") and not file:  # Python's perf trampoline, samply
            function, _, file = function[4:].partition(":")
            library = ""
        where = analyse.origin(file, library, self.roots)
        if re.fullmatch(r"0x[0-9a-f]+", function):  # an address no symbol names
            text = f"[{where.shown}]"
        elif where.shown:
            text = f"{function} ({where.shown}{f':{line}' if line else ''})"
        else:
            text = function
        text = safe_frame(text)
        self.origins.setdefault(text, where)
        return text

    def renamed(self, clean: dict[str, str]) -> None:
        self.origins = {clean.get(f, f): o for f, o in self.origins.items()}


def safe_frame(text: str) -> str:
    """A frame name the folded format can hold: ``;`` separates frames and a line is a
    stack, so a file named ``a;b.py`` is shown as ``a,b.py`` and control characters as ``?``."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", text.replace(";", ","))


# --- what runs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The script (an absolute path) or module, its arguments, and how to show it."""

    kind: str  # "path" or "module"
    target: str
    args: tuple[str, ...]
    typed: str  # as typed: rolling.py, -m mypackage.cli

    @property
    def stem(self) -> str:
        """The folder's name: the script's stem or the module's last part."""
        name = Path(self.target).stem if self.kind == "path" else self.target.rpartition(".")[2]
        return folder_name(name)

    @property
    def words(self) -> list[str]:
        """The command line after ``python``: ``rolling.py --window 50``, ``-m pkg.cli``."""
        first = ["-m", self.target] if self.kind == "module" else [self.typed]
        return [*first, *self.args]

    @property
    def command(self) -> str:
        return shlex.join(self.words)


def folder_name(name: str) -> str:
    """``name`` as one folder inside ``--out``: letters, digits, ``_.-``, not ``.`` or ``..``."""
    return re.sub(r"[^\w.-]+", "_", name).lstrip(".") or "script"


def python_script(path: Path) -> bool:
    """Is ``path`` Python source (a .py file, or a console script whose #! names python)?"""
    if path.suffix == ".py" or path.is_dir():
        return True
    try:
        with path.open("rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def target_of(words: list[str], module: str | None) -> Target:
    """What ``workshop profile`` was asked to run, resolved where the user stands. A name
    that is not a file is looked up on PATH (``pytest``, a console script)."""
    if module is not None:
        return Target("module", module, tuple(words), f"-m {module}")
    if not words:
        raise SystemExit("workshop: name a script (rolling.py) or a module (-m pkg.mod)")
    typed, *args = words
    path = Path(typed)
    if not path.exists() and os.sep not in typed and shutil.which(typed):
        path = Path(shutil.which(typed) or typed)
    if not path.exists():
        hint = ""
        if os.environ.get("MAKELEVEL"):
            hint = (
                "\n(make runs in the workshop's folder: from your own folder, run "
                f"{Path(sys.executable).parent / 'workshop'} profile {shlex.quote(typed)})"
            )
        raise SystemExit(
            f"workshop: can't open file {str(Path(typed).absolute())!r}: "
            f"[Errno 2] No such file or directory{hint}"
        )
    if not python_script(path):
        raise SystemExit(f"workshop: {typed}: not a Python script (a .py file, or -m MODULE)")
    return Target("path", os.path.abspath(path), tuple(args), typed)


def interpreter(choice: str | None) -> str:
    """The python that runs the script: ``--python`` (a path, or a name on PATH), else the
    active virtualenv's, else the workshop's."""
    if choice is None:
        venv = os.environ.get("VIRTUAL_ENV")
        found = Path(venv, "bin", "python") if venv else None
        return str(found) if found and found.exists() else sys.executable
    path = choice if os.sep in choice else shutil.which(choice)
    if not path or not os.access(path, os.X_OK):
        raise SystemExit(f"workshop: --python {choice}: no such interpreter")
    return os.path.abspath(path)


def next_run(folder: Path) -> int:
    runs = [int(p.stem[3:]) for p in folder.glob("run*.folded") if p.stem[3:].isdigit()]
    return max(runs, default=0) + 1


# --- recording ----------------------------------------------------------------------------


@dataclass
class Ended:
    """How the script ended: its exit status (None if unknown: a signal, ``os._exit``),
    its wall time and its process id, as the launcher wrote them."""

    status: int | None
    seconds: float
    pid: int = 0

    @classmethod
    def read(cls, path: Path) -> Ended:
        try:
            code, seconds, pid = path.read_text().split()
            return cls(int(code), float(seconds), int(pid))
        except (OSError, ValueError):
            return cls(None, 0.0)

    def tidy(self) -> None:
        """Remove the perf map Python's trampoline wrote for samply (/tmp/perf-PID.map)."""
        if self.pid:
            Path(f"/tmp/perf-{self.pid}.map").unlink(missing_ok=True)


def launcher(
    python: str, target: Target, status: Path, fds: tuple[int, int], recorder: str
) -> list[str]:
    """``python -c LAUNCHER ...``: see ``workshop.launch``."""
    perf = "perf" if recorder == "samply" else "-"
    words = [str(status), *map(str, fds), perf, target.kind, target.target, *target.args]
    return [python, "-c", LAUNCH.read_text(), *words]


def without_launcher(stacks: Counter[tuple[str, ...]], frames: ScriptFrames) -> Counter:
    """The stacks without the launcher's frames at their root (``python -c`` and runpy's).
    A sample of the launcher's own work (its ``import runpy``, before runpy runs the
    script) is left out: what its ``-c`` code calls directly is not the script."""
    out: Counter[tuple[str, ...]] = Counter()
    for stack, n in stacks.items():
        at = 0
        while at < len(stack) and (o := frames.origins.get(stack[at])) and o.key == analyse.LAUNCH:
            at += 1
        if at and frames.origins[stack[at - 1]].shown == "<string>" and at < len(stack):
            continue
        if stack[at:]:
            out[stack[at:]] += n
    return out


def record(
    target: Target, python: str, recorder: str, rate: int, folder: Path
) -> tuple[Ended, Profile | None]:
    """Run ``target`` under ``recorder``; the profile is written as ``runN`` in ``folder``
    when the script ended well (or by Ctrl-C). Raises ``recorders.RecordError`` when the
    recorder failed on a script that did not fail first."""
    # Your files: under the folder you stand in, or the script's.
    script_folder = [Path(target.target).parent] if target.kind == "path" else []
    roots = list(dict.fromkeys([Path.cwd(), *script_folder]))
    frames = ScriptFrames(roots)
    fds = (os.dup(1), os.dup(2))
    # Ctrl-C reaches the script and the recorder (one process group): the script stops, the
    # recorder writes what it has. Here it only waits for them (a handler, not SIG_IGN,
    # which the recorder and the script would inherit).
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            status = Path(tmp, "status")
            command = launcher(python, target, status, fds, recorder)
            record_with = {"py-spy": recorders.record_pyspy, "samply": recorders.record_samply}
            try:
                rec = record_with[recorder](
                    command,
                    rate,
                    child_env(),
                    pass_fds=fds,
                    frames=frames,
                    shown=[shown(Path(python)), *target.words],
                )
            except recorders.RecordError:
                ended = Ended.read(status)
                ended.tidy()
                if ended.status not in (None, 0):
                    return ended, None  # it failed (its traceback says why), or Ctrl-C
            ended = Ended.read(status)
            ended.tidy()
    finally:
        signal.signal(signal.SIGINT, previous)
        for fd in fds:
            os.close(fd)
    if ended.status not in (0, INTERRUPTED):
        return ended, None
    stacks = without_launcher(rec.stacks, frames)
    if not stacks:
        return ended, None
    run = next_run(folder)
    stopped = " (stopped by Ctrl-C)" if ended.status == INTERRUPTED else ""
    meta = {
        "subject": "script",
        "title": f"run {run}: {target.command}{stopped}",
        "recorder": recorder,
        "recorder_line": rec.line,
        "command": rec.command,
        "script": target.command,
        "python": python,
        "cwd": str(Path.cwd()),
        "rate": rate,
        "samples": sum(stacks.values()),
        "seconds_per_call": ended.seconds,
        "unit": "run",
        "shown": "the whole run" + stopped,
        "status": ended.status,
        "origins": {
            frame: [o.key, o.passes]
            for frame, o in frames.origins.items()
            if o.key != analyse.LAUNCH
        },
    }
    if rec.extra.get("threads"):
        meta["threads"] = rec.extra["threads"]
    prof = Profile(f"run{run}", dict(stacks), meta)
    prof.write(folder)
    return ended, prof


# --- command line ---------------------------------------------------------------------------

VALUED = {"--profiler", "--out", "--name", "--python", "--rate", "--split"}


def split_argv(argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """``workshop profile``'s own options, the module after ``-m`` (or None), and the rest:
    the script and its arguments, or the module's arguments, passed on untouched."""
    at = 0
    while at < len(argv):
        word = argv[at]
        if word == "-m" and at + 1 < len(argv):
            return argv[:at], argv[at + 1], argv[at + 2 :]
        if word == "--":
            return argv[:at], None, argv[at + 1 :]
        if not word.startswith("-") or word == "-":
            break
        at += 2 if word in VALUED else 1
    return argv[:at], None, argv[at:]


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(
        prog="workshop profile",
        usage="workshop profile [options] SCRIPT [ARGS ...]\n"
        "       workshop profile [options] -m MODULE [ARGS ...]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    out.add_argument("--profiler", choices=RECORDERS, default="py-spy", help="the recorder")
    out.add_argument(
        "--out", type=Path, default=Path("profiles"), help="where the runs go (./profiles)"
    )
    out.add_argument("--name", help="the runs' folder in --out (default: the script's name)")
    out.add_argument("--python", help="the interpreter: a path, or a name on PATH")
    out.add_argument("--rate", type=int, default=RATE, help="samples per second")
    # `make profile-script SCRIPT="..."`: the script and its arguments as one string, split
    # into words as a shell would split them (make hands it over untouched, in one word).
    out.add_argument("--split", help=argparse.SUPPRESS)
    return out


def main(argv: list[str] | None = None) -> int:
    from workshop import compare, profile

    mine, module, rest = split_argv(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(mine)
    if args.split is not None:
        try:
            words = shlex.split(args.split)
        except ValueError as err:  # an unclosed quote
            print(f"workshop: SCRIPT={args.split!r}: {err}", file=sys.stderr)
            return 2
        if words[:1] in (["python"], ["python3"]):  # SCRIPT="python -m pkg": the venv's
            words = words[1:]
        module, rest = (words[1], words[2:]) if words[:1] == ["-m"] else (None, words)
    try:
        target = target_of(rest, module)
        python = interpreter(args.python)
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    name = folder_name(args.name) if args.name else target.stem
    folder = profile.folder(args.out, args.profiler) / name
    say = f"workshop: recording {target.command} with {args.profiler} under {shown(Path(python))}"
    print(say, file=sys.stderr, flush=True)
    try:
        if args.profiler == "samply":
            recorders.check_samply()
        ended, prof = record(target, python, args.profiler, args.rate, folder)
        if prof is not None:
            draw.render(prof, folder / f"{prof.name}.svg", ended.seconds)
            index = compare.build_runs(folder)
    except (recorders.RecordError, draw.DrawError) as err:
        print(f"workshop: {err}", file=sys.stderr)
        return 2
    if ended.status is None:
        print(
            "workshop: the script ended without an exit status (killed by a signal, or "
            "os._exit): no run kept",
            file=sys.stderr,
        )
        return 1
    if prof is None:
        why = {
            0: f"ended before {args.profiler} took a sample ({ended.seconds:.2f} s)",
            INTERRUPTED: f"was stopped by Ctrl-C before {args.profiler} took a sample",
        }.get(ended.status, f"exited with status {ended.status}")
        print(f"workshop: {target.command} {why}: no run kept", file=sys.stderr)
        return ended.status
    print(
        f"workshop: {name} {prof.name}: {prof.total} samples in {ended.seconds:.2f} s "
        f"-> {shown(index)}\n          open {index.resolve().as_uri()}",
        file=sys.stderr,
    )
    return ended.status


if __name__ == "__main__":
    sys.exit(main())
