"""A small slow script to profile your own way (the walkthrough's wrap-up, section 9).

    workshop profile profile_me.py            # run 1: the Python loop
    workshop profile profile_me.py --numpy    # run 2: drawn beside run 1
    workshop new profile_me.py close_counts_loop    # its crate: close_counts_loop_rs/
    workshop profile profile_me.py --rust     # run 3: the loop in Rust, once written

Counts, for each of N random points, the other points closer than a radius: as a double
loop in Python, as one numpy expression per point (``--numpy``), or with the Rust port of
the loop that ``workshop new`` starts (``--rust``, once built into the venv).
"""

from __future__ import annotations

import argparse
import math
import random

import numpy as np


def close_counts_loop(points: list[tuple[float, float]], radius: float) -> list[int]:
    counts = []
    for x, y in points:
        n = 0
        for u, v in points:
            if math.hypot(x - u, y - v) < radius:
                n += 1
        counts.append(n - 1)
    return counts


def close_counts_numpy(points: list[tuple[float, float]], radius: float) -> list[int]:
    xy = np.asarray(points)
    counts = []
    for p in xy:
        distances = np.hypot(*(xy - p).T)
        counts.append(int(np.count_nonzero(distances < radius)) - 1)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1500)
    parser.add_argument("--numpy", action="store_true", help="one numpy expression per point")
    parser.add_argument("--rust", action="store_true", help="the loop's Rust port (its crate)")
    args = parser.parse_args()
    rng = random.Random(6)
    points = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(args.points)]
    count = close_counts_numpy if args.numpy else close_counts_loop
    if args.rust:
        from close_counts_loop_rs import close_counts_loop as count
    counts = count(points, radius=10.0)
    print(f"{len(points)} points, {sum(counts) / len(counts):.1f} neighbours each on average")


if __name__ == "__main__":
    main()
