"""``workshop``: the workshop's method on your own code, from any folder.

    workshop profile rolling.py --window 50     # record it: ./profiles/rolling/index.html
    workshop new rolling.py zscore              # a Rust crate for its hot function: ./zscore_rs/

``make`` installs it into the workshop's venv (``.venv/bin/workshop``, a console script of
pyproject.toml), so it runs from anywhere by that path, with no venv to activate: paths and
arguments are read where you stand, and results are written there. ``python -m workshop``
is the same command. ``workshop profile --help`` and ``workshop new --help`` say more.
"""

from __future__ import annotations

import sys

COMMANDS = {
    "profile": "record a script or module with py-spy or samply -> ./profiles/NAME/index.html",
    "new": "write a PyO3 + maturin crate for one function of your script -> ./FUNCTION_rs/",
}


def usage() -> str:
    lines = [__doc__.strip().splitlines()[0], "", "commands:"]
    lines += [f"  {name:<8} {what}" for name, what in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "profile":
        from workshop import script

        return script.main(rest)
    if command == "new":
        from workshop import newcrate

        return newcrate.main(rest)
    print(f"workshop: no command {command!r}\n\n{usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
