"""Build one crate into .venv with ``maturin develop``, the way a person wants to watch it.

    python -m workshop.develop stages/stage1_getattr     # what `make build` runs per stage
    python -m workshop.develop stages/exercise1          # what `make check-exercise` runs

- On a terminal, cargo's own progress bar and colours (maturin's ``--quiet`` would hide
  the bar, and a pipe would turn both off, so they are asked for explicitly).
- pip's report on the dependencies maturin installs ("Requirement already satisfied")
  left out; its errors are shown.
- After a compile error, rustc's messages and nothing more: maturin's closing
  ``💥 maturin failed ... Caused by: Cargo build finished with "exit status: 101": env -u
  CARGO ...`` repeats the whole cargo command line, which tells a reader nothing. Other
  maturin failures (no interpreter, a bad pyproject.toml) are printed whole.

Every stage and exercise is built with the same Cargo profile (``--profile``, default
``profiling``) and the same environment as ``cargo test`` and ``cargo bench`` in the
Makefile, so the dependencies compile once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from workshop import REPO

FAILED = "💥 maturin failed".encode()
COMPILE_ERROR = b"error: could not compile"


def held_back(data: bytes, mark: bytes) -> int:
    """How many bytes at the end of ``data`` could be the start of ``mark``."""
    for k in range(min(len(mark) - 1, len(data)), 0, -1):
        if data.endswith(mark[:k]):
            return k
    return 0


def relay(stream, out) -> bool:
    """Copy ``stream`` to ``out`` as it arrives, up to maturin's failure trailer after a
    compile error. True when that trailer was left out."""
    pending, seen_error, cut = b"", False, False
    seen = b""  # the end of what came before: cargo's line may be split across reads too
    while chunk := os.read(stream.fileno(), 65536):
        if cut:
            continue
        data = pending + chunk
        at = data.find(FAILED)
        seen_error = seen_error or COMPILE_ERROR in seen + data
        seen = (seen + data)[-len(COMPILE_ERROR) :]
        if at >= 0 and seen_error:
            out.write(data[:at])
            out.flush()
            pending, cut = b"", True
            continue
        keep = held_back(data, FAILED)
        out.write(data[: len(data) - keep])
        out.flush()
        pending = data[len(data) - keep :]
    out.write(pending)
    out.flush()
    return cut


def terminal_env(env: dict[str, str]) -> dict[str, str]:
    """Cargo's progress bar and colours, as on a terminal, though its output is piped."""
    out = {
        **env,
        "CARGO_TERM_PROGRESS_WHEN": "always",
        "CARGO_TERM_PROGRESS_WIDTH": str(shutil.get_terminal_size().columns),
    }
    if "NO_COLOR" not in env:
        out.setdefault("CARGO_TERM_COLOR", "always")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.develop", description=__doc__)
    parser.add_argument("crate", type=Path, help="the crate's folder, e.g. stages/stage1_getattr")
    parser.add_argument("--profile", default="profiling", help="Cargo profile")
    parser.add_argument("--again", help="the command to run after a fix (default: this one)")
    args = parser.parse_args(argv)
    manifest = args.crate / "Cargo.toml"
    maturin = Path(sys.executable).with_name("maturin")
    command = [
        str(maturin if maturin.exists() else "maturin"),
        "develop",
        "--profile",
        args.profile,
        "--manifest-path",
        str(manifest),
    ]
    env = terminal_env(dict(os.environ)) if sys.stdout.isatty() else dict(os.environ)
    # maturin asks pip for the crate's Python dependencies at every build: its
    # "Requirement already satisfied" lines are for no one (pip's errors still show).
    env.setdefault("PIP_QUIET", "1")
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as child:
        assert child.stdout is not None
        try:
            cut = relay(child.stdout, sys.stdout.buffer)
        except KeyboardInterrupt:  # Ctrl-C reached maturin and cargo too: they stop
            child.wait()
            return 130
        status = child.wait()
    if cut:
        print(
            f"\nThe build of {args.crate} failed: rustc's first `error[...]` above is the one "
            f"to fix (the ones after it often follow from it). Then run "
            f"{f'`{args.again}`' if args.again else 'the same command'} again.",
            file=sys.stderr,
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
