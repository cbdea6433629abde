"""The one registry of stages. Adding a stage means adding one line here."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal


@dataclass(frozen=True)
class Stage:
    name: str  # what you type: `make profile-stage1`, `python -m workshop.run stage1`
    module: str  # the importable module with Polygon, generate_example, main
    title: str  # one line for tables and flamegraph titles
    entry: str = "main"  # the function timed and profiled
    # "identical": the stage keeps numpy's area, so its picks must equal the baseline's.
    # "argmin": the stage computes the true area itself (rounded once), where numpy's rounds
    # after every step; on ties within rounding it may pick another polygon of least area
    # (see workshop.checks). Either way the distance test: the Rust stages compute
    # dx*dx + dy*dy with two roundings, as numpy does except with OpenBLAS's AVX-512
    # kernel, which fuses it; there a center within an ulp or two of max_dist can get
    # the other verdict (workshop.fp: the rule, and the cases, tested in test_fp.py).
    answers: Literal["identical", "argmin"] = "identical"
    crate: str | None = None  # stages/<crate>/ for the Rust stages
    # "objects": the polygons are Polygon objects, the entry returns (point, polygon) pairs.
    # "columns": generate_example gives ((x, y, offsets), points), arrays; the entry takes
    # (x, y, offsets, points, max_dist) and returns (point_index, polygon_index) arrays.
    form: Literal["objects", "columns"] = "objects"

    def is_available(self) -> bool:
        """Importable here (a Rust stage is available once `make build` built it)."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:
            return False

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def entry_point(self) -> Callable[..., Any]:
        """The entry as the harness calls it: ``entry(polygons, points, max_dist)``."""
        entry = getattr(self.load(), self.entry)
        if self.form == "objects":
            return entry

        def columns_entry(polygons: tuple[Any, Any, Any], points: Any, max_dist: float) -> Any:
            x, y, offsets = polygons
            return entry(x, y, offsets, points, max_dist)

        return columns_entry

    def workload(self, **kwargs: Any) -> tuple[Any, Any]:
        """``generate_example(**kwargs)``: built with this stage's Polygon, or as arrays."""
        return self.load().generate_example(**kwargs)


STAGES: list[Stage] = [
    Stage("stage0", "poly_match", "Stage 0: pure Python + numpy (baseline)"),
    Stage("vectorized", "poly_match_vectorized", "numpy-vectorized rewrite (no Rust)"),
    Stage("numba", "poly_match_numba", "Numba @njit double loop (no Rust)"),
    Stage("scipy", "poly_match_scipy", "SciPy cKDTree ball query (no Rust)"),
    Stage(
        "stage1",
        "poly_match_stage1",
        "Stage 1: find_close_polygons in Rust (getattr)",
        crate="stage1_getattr",
    ),
    Stage(
        "stage2_alloc",
        "poly_match_stage2",
        "Stage 2a: Rust Polygon, center copied per call",
        entry="main_allocating",
        crate="stage2_polygon",
    ),
    Stage(
        "stage2",
        "poly_match_stage2",
        "Stage 2: Rust Polygon, no allocation in the loop",
        crate="stage2_polygon",
    ),
    Stage(
        "stage3",
        "poly_match_stage3",
        "Stage 3: the whole selector in Rust (plain loop)",
        answers="argmin",
        crate="stage3_selector",
    ),
    Stage(
        "stage4",
        "poly_match_stage4",
        "Stage 4: grid cells and k-d trees, both cores for large inputs",
        answers="argmin",
        crate="stage4_grid",
    ),
    Stage(
        "stage5",
        "poly_match_stage5",
        "Stage 5: arrays in, arrays out, every core",
        answers="argmin",
        crate="stage5_columns",
        form="columns",
    ),
]

BY_NAME = {stage.name: stage for stage in STAGES}


def get(name: str) -> Stage:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(BY_NAME)
        raise SystemExit(f"unknown stage {name!r}; known stages: {known}") from None


def available() -> list[Stage]:
    return [stage for stage in STAGES if stage.is_available()]
