"""For child interpreters (tests/ is on their ``sys.path``): a call under a memory limit.

The limit (the soft RLIMIT_AS) is set just above what the process holds, then raised again
for the next case, so one child tries many limits.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Sized


def held() -> int:
    """The address space this process holds, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def under(extra: int, call: Callable[[], Sized]) -> int | str:
    """``len(call())`` with ``extra`` bytes left to ask for, or "MemoryError"."""
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (held() + extra, hard))
    try:
        return len(call())
    except MemoryError:
        return "MemoryError"
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def sweep(calls: dict[str, Callable[[], Sized]], expected: dict[str, int]) -> list[bool]:
    """Each call under limits from 1 MB to 160 MB above what is held: each answer is a
    MemoryError or the call's one answer (``expected``, filled as they come); returns
    which of the two were seen."""
    seen = set()
    for extra in range(1 * 2**20, 160 * 2**20, 9 * 2**20):
        for key, call in calls.items():
            got = under(extra, call)
            assert got == "MemoryError" or got == expected.setdefault(key, got), (key, extra, got)
            seen.add(got == "MemoryError")
    return sorted(seen)
