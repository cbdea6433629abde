"""The whole pipeline, from a vertex table to pairs: stage 4 against stage 5.

    python -m workshop.pipeline [--out results]      # what `make bench-pipeline` runs

Real polygons arrive as a table, one row per vertex (a pandas DataFrame with the columns
``polygon``, ``x``, ``y``, each polygon's rows together), and the points as a table of
``x``, ``y``. Both stages start from the same two DataFrames and end at the pairs:

- stage 4: the offsets where each polygon's rows start, a ``Polygon`` per polygon from its
  slice of the ``x`` and ``y`` columns, then ``main(polygons, points)``;
- stage 5: the same offsets, then ``main(x, y, offsets, points)`` on the columns;
- stage 5 again, in two child processes built alike: rayon's default pool (every core)
  and ``RAYON_NUM_THREADS=1`` (one core). A process that has just done other work runs a
  call slower than one that only repeats it, so the cores are compared between the two
  children, not against this process. Each child also times stage 5's call alone, the
  offsets computed before: the pipeline's numpy step runs on one core whatever the pool,
  and the call alone shows what the second core gives stage 5 itself.

At the canonical size and at 5k x 20k, 100k x 10k and 1M x 100k (the canonical density).
The tables are built before the timing. Each size's picks are checked first: stage 5's
polygon for every point must be stage 4's (both rank the same exact areas). Then the four
are timed in interleaved rounds (the children's samples between the parent's), each sample
one pipeline (several at the small sizes; the children's, several at every size), gc off,
and the medians compared: stage 4 over stage 5 (this process), and stage 5's one core over
every core (the children). About three minutes on 2 cores.

Writes ``pipeline.json`` and ``pipeline.md`` into ``--out``.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from workshop import bench, report, stages
from workshop.workloads import CANONICAL

# (label, polygons, points): the label is the key the docs' numbers use.
SIZES: tuple[tuple[str, int, int], ...] = (
    ("canonical", CANONICAL["n_polygons"], CANONICAL["n_points"]),
    ("5k_20k", 5_000, 20_000),
    ("100k_10k", 100_000, 10_000),
    ("1m_100k", 1_000_000, 100_000),
)
ROUNDS = 5  # samples per pipeline and size; fewer at the largest (stage 4 takes seconds)
SAMPLE_SECONDS = 0.05  # a sample loops until it lasts this long (at the small sizes)
# The children's samples, for the cores' ratio: several calls even at 1M x 100k, where one
# call alone can be a fifth slower or faster than the next.
CORES_SAMPLE_SECONDS = 0.5


def tables(n_polygons: int, n_points: int) -> tuple[Any, Any]:
    """The workload of ``generate_example`` as a vertex table and a points table."""
    import pandas as pd

    import poly_match

    polygons, points = poly_match.generate_example(
        n_polygons, n_points, CANONICAL["seed"], polygon_cls=lambda x, y: (x, y)
    )
    sizes = np.array([len(x) for x, _ in polygons])
    vertices = pd.DataFrame(
        {
            "polygon": np.repeat(np.arange(len(polygons)), sizes),
            "x": np.concatenate([x for x, _ in polygons]),
            "y": np.concatenate([y for _, y in polygons]),
        }
    )
    return vertices, pd.DataFrame(np.array(points).reshape(-1, 2), columns=["x", "y"])


def offsets(ids: np.ndarray) -> np.ndarray:
    """Where each polygon's rows start, then the end: the rows of one polygon together."""
    return np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True])


def stage4_polygons(vertices: Any) -> list[Any]:
    """A stage-4 ``Polygon`` per polygon of the vertex table, from its slices."""
    from poly_match_stage4 import Polygon

    x, y = vertices["x"].to_numpy(), vertices["y"].to_numpy()
    starts = offsets(vertices["polygon"].to_numpy()).tolist()
    return [Polygon(x[a:b], y[a:b]) for a, b in itertools.pairwise(starts)]


def stage4_pipeline(vertices: Any, points: Any) -> list[tuple[Any, Any]]:
    from poly_match_stage4 import main

    return main(stage4_polygons(vertices), points[["x", "y"]].to_numpy())


def call_arguments(vertices: Any, points: Any) -> tuple[Any, ...]:
    """Stage 5's arguments from the tables: the columns, and the offsets (a numpy step that
    runs on one core whatever the pool)."""
    starts = offsets(vertices["polygon"].to_numpy())
    return vertices["x"], vertices["y"], starts, points[["x", "y"]].to_numpy()


def stage5_pipeline(vertices: Any, points: Any) -> tuple[np.ndarray, np.ndarray]:
    from poly_match_stage5 import main

    return main(*call_arguments(vertices, points))


# --- a child: builds the tables once, times a sample when asked ----------------


def child() -> int:
    """A child (one core or every core): answers each ``label`` line with a sample of stage
    5's pipeline and one of its call alone."""
    from poly_match_stage5 import main

    built: dict[str, tuple[tuple[Any, Any], tuple[Any, ...]]] = {}
    sizes = {label: (n, m) for label, n, m in SIZES}

    def answer(label: str) -> dict[str, Any]:
        if label not in built:
            built.clear()
            vertices, points = tables(*sizes[label])
            built[label] = (vertices, points), call_arguments(vertices, points)
        table, arguments = built[label]
        # An untimed call first: each child sits idle while the others take their samples.
        run = lambda: stage5_pipeline(*table)  # noqa: E731
        per_call, calls = bench.loop_sample(run, CORES_SAMPLE_SECONDS, warm_up=True)
        call_alone = bench.loop_sample(lambda: main(*arguments), CORES_SAMPLE_SECONDS, warm_up=True)
        return {"per_call_s": per_call, "calls": calls, "call_alone_s": call_alone[0]}

    return bench.serve(answer)


# --- the run ---------------------------------------------------------------------------


def measure(
    sizes: tuple[tuple[str, int, int], ...] = SIZES,
    rounds: int = ROUNDS,
    quiet: bool = False,
    command: str = "python -m workshop.pipeline",
) -> dict[str, Any]:
    chosen = [stages.get("stage4"), stages.get("stage5")]
    env = bench.environment()
    for stage in chosen:
        if not stage.is_available():
            raise SystemExit(f"{stage.name} is not built: run `make build`")
    rows = []
    # Two cores against one: both in a child process built the same way, so the ratio
    # compares the pools alone (the parent has stage 4's objects and state besides).
    with (
        bench.Child("workshop.pipeline") as every_core,
        bench.Child("workshop.pipeline", RAYON_NUM_THREADS="1") as one_core,
        bench.progress_bar(quiet) as progress,
    ):
        task = progress.add_task("pipeline", total=len(sizes) * (rounds + 1))
        for label, n_polygons, n_points in sizes:
            progress.update(task, description=f"{label}: tables")
            vertices, points = tables(n_polygons, n_points)
            row: dict[str, Any] = {
                "size": label,
                "n_polygons": n_polygons,
                "n_points": n_points,
                "vertices": len(vertices),
            }
            progress.update(task, advance=1, description=f"{label}: checking picks")
            row.update(check(vertices, points))
            runs = {
                "stage4": lambda v=vertices, p=points: stage4_pipeline(v, p),
                "stage5": lambda v=vertices, p=points: stage5_pipeline(v, p),
            }
            samples: dict[str, list[float]] = {
                "stage4": [],
                "stage5": [],
                "stage5_every_core": [],
                "stage5_one_core": [],
            }
            children = {"stage5_every_core": every_core, "stage5_one_core": one_core}
            # Each child's answer also times the call alone.
            call_alone = {name: name.replace("stage5_", "stage5_call_") for name in children}
            samples.update({call: [] for call in call_alone.values()})
            n = rounds if n_polygons < 1_000_000 else max(3, rounds - 2)
            for k in range(n):
                for name in bench.in_turn(["stage4", "stage5", *children], k):
                    progress.update(task, description=f"{label}: {name}")
                    if name in children:
                        answer = children[name].ask(label)
                        samples[name].append(answer["per_call_s"])
                        samples[call_alone[name]].append(answer["call_alone_s"])
                    else:
                        per_call = bench.loop_sample(runs[name], SAMPLE_SECONDS)[0]
                        samples[name].append(per_call)
                progress.update(task, advance=rounds / n)
            for name, values in samples.items():
                row[name] = {**bench.quartile_fields(values), "samples": values}
            row["stage5_over_stage4"] = row["stage4"]["median_s"] / row["stage5"]["median_s"]
            row["two_cores_over_one"] = (
                row["stage5_one_core"]["median_s"] / row["stage5_every_core"]["median_s"]
            )
            row["call_two_cores_over_one"] = (
                row["stage5_call_one_core"]["median_s"] / row["stage5_call_every_core"]["median_s"]
            )
            rows.append(row)
            del vertices, points, runs
    env["load_average_end"] = os.getloadavg()[0]
    return {
        "schema": 1,
        "command": command,
        "method": {
            **bench.TIMING,
            "rounds": rounds,
            "sample_target_s": SAMPLE_SECONDS,
            "cores_sample_target_s": CORES_SAMPLE_SECONDS,
            "order": "interleaved: each round times stage 4 and stage 5 (this process), then "
            "stage 5 in two child processes built alike, one with rayon's default pool and one "
            "with RAYON_NUM_THREADS=1, the order reversed every other round; each child times "
            "the pipeline, then the call alone (the offsets computed before)",
            "pipeline": "from the vertex and points DataFrames to the pairs; the tables are "
            "built before the timing",
        },
        "env": env,
        "rows": rows,
    }


def check(vertices: Any, points: Any) -> dict[str, Any]:
    """Stage 5 pairs the points stage 4 pairs, each with the polygon stage 4 picks (the
    same exact areas, the same search)."""
    from poly_match_stage4 import main

    rows = points[["x", "y"]].to_numpy()
    polygons = stage4_polygons(vertices)
    index = {id(poly): i for i, poly in enumerate(polygons)}
    pairs = main(polygons, rows)
    expected_points = np.array([np.asarray(p) for p, _ in pairs]).reshape(-1, 2)
    expected = [index[id(poly)] for _, poly in pairs]
    point_index, polygon_index = stage5_pipeline(vertices, points)
    same = np.array_equal(rows[point_index], expected_points) and (
        polygon_index.tolist() == expected
    )
    return {"pairs": len(pairs), "same_picks": bool(same)}


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--child"]:
        return child()
    parser = bench.cli_parser("workshop.pipeline", __doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="samples per pipeline")
    parser.add_argument(
        "--sizes", nargs="+", help="only these sizes: " + ", ".join(s[0] for s in SIZES)
    )
    args = parser.parse_args(argv)
    sizes = tuple(s for s in SIZES if not args.sizes or s[0] in args.sizes)
    result = measure(sizes, args.rounds, args.quiet, bench.command_line("workshop.pipeline", argv))
    paths = report.write_report(result, Path(args.out), "pipeline", report.pipeline_markdown)
    print(paths[1].read_text())
    wrong = [
        f"{r['size']}: stage 5's picks differ from stage 4's"
        for r in result["rows"]
        if not r["same_picks"]
    ]
    return bench.exit_status(wrong)


if __name__ == "__main__":
    sys.exit(main())
