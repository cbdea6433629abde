"""Runs a reader's script inside a recorder as ``python SCRIPT ARGS`` would, and says how it ended.

``workshop profile`` hands this file's source to the reader's interpreter with ``python -c``
(so nothing of the workshop lands on the script's ``sys.path``), inside py-spy or samply::

    python -c SOURCE STATUS OUT ERR PERF path|module TARGET ARGS...

- ``OUT``, ``ERR``: the terminal's stdout and stderr as file descriptors, passed through the
  recorder: the script prints where the reader sees it, the recorder's own messages stay
  captured by ``workshop profile``.
- ``STATUS``: a file that gets the exit status, the wall time (from the process's start,
  as the recorder sees it, to the script's end) and the process id, since neither recorder
  returns the status of the process it ran.
- ``PERF``: ``perf`` under samply: on Python 3.12 and later, Python's perf trampoline, so
  a recorder of native frames sees each Python function as ``py::name:file`` (the
  interpreter writes ``/tmp/perf-PID.map``, which ``workshop profile`` removes).
- ``TARGET`` runs as ``__main__`` with ``sys.argv = [TARGET, *ARGS]``, and a traceback leaves
  out the frames of this file and of runpy, as ``python`` shows it.

The reader's interpreter may be older than the workshop's: standard library only, and
Python 3.8 syntax.
"""

import contextlib
import os
import sys
import time


def _launcher_frame(filename):
    return filename in ("<string>", "<frozen runpy>") or os.path.basename(filename) == "runpy.py"


def _without_launcher(hook):
    def excepthook(kind, value, tb):
        while tb is not None and _launcher_frame(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next
        if isinstance(value, BaseException):  # Python prints the exception's own traceback
            value = value.with_traceback(tb)
        hook(kind, value, tb)

    return excepthook


def _running_for():
    """Seconds since this process started (Linux: /proc, to 10 ms), or 0.0 elsewhere."""
    try:
        with open("/proc/self/stat") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - started / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0


def _pass_through(out, err):
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    for fd, standard in ((out, 1), (err, 2)):
        os.dup2(fd, standard)
        os.close(fd)
    # Python picked stdout's buffering for the recorder's pipe; pick it again for the
    # terminal (line by line there, in blocks into a file), as it does at start-up.
    if sys.stdout is not None and not sys.stdout.write_through:  # not under python -u
        sys.stdout.reconfigure(line_buffering=os.isatty(1))


def main():
    status, out, err, perf, kind, target = sys.argv[1:7]
    _pass_through(int(out), int(err))
    if perf == "perf" and hasattr(sys, "activate_stack_trampoline"):
        with contextlib.suppress(ValueError):  # a platform without it
            sys.activate_stack_trampoline("perf")
    import runpy

    pid = os.getpid()
    started = time.perf_counter() - _running_for()

    def finish(code):
        if os.getpid() == pid:  # not in a forked child that unwinds through here
            with open(status, "w") as f:
                f.write(f"{code} {time.perf_counter() - started!r} {pid}\n")

    sys.argv = [target, *sys.argv[7:]]
    sys.excepthook = _without_launcher(sys.excepthook)
    try:
        if kind == "module":
            import importlib.util

            sys.path[0] = os.getcwd()
            try:
                found = importlib.util.find_spec(target) is not None
            except ImportError:
                found = False
            if not found:
                sys.exit(f"{sys.executable}: No module named {target}")
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path[0] = os.path.dirname(os.path.realpath(target))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as stop:
        code = stop.code
        finish(0 if code is None else code if isinstance(code, int) else 1)
        raise
    except KeyboardInterrupt:
        finish(130)
        raise
    except BaseException:
        finish(1)
        raise
    finish(0)


if __name__ == "__main__":
    main()
