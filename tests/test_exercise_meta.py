"""The exercises work every way round: each untouched starter fails ``make check-exercise
STAGE=N`` with a message naming its TODOs and its file, each answer
(``stages/exerciseN/solution.rs``) passes, and each natural mistake fails the check that
is there to catch it, with a message of at most ``exercises.MAX_LINES`` lines that says
what to change.

A mistake is the answer with one edit (``Mistake.edits``), the way an attendee would
get it wrong. All of them are built for real, as ``make check-exercise`` builds the
exercise, but into a temporary workspace that shares target/ (only the exercise crates
compile, in one cargo run on every core): ``.venv`` and ``stages/exerciseN`` are not
touched, so an attendee's work in progress is safe. A mistake that changes only what the
source-reading checks see (a borrow flag, a copy, a Python call: the speed, not the
answers) is checked against the answer's module with its own source.

The boundary centers the checks use (``exercises.SQUARED_BELOW`` ...) are verified here
with the exact models of numpy's two dots (``workshop.fp``): the baseline calls none of
them close on any CPU, and each mistake does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from workshop import doccheck, exercises, fp, stages

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = [1, 2, 3, 4]
DOCS = {"en": ROOT / "docs" / "workshop.md", "ko": ROOT / "docs" / "workshop.ko.md"}
START = "// ---- exercise: start"
END = "// ---- exercise: end"
NOT_IMPLEMENTED = "PyNotImplementedError::new_err("
NOT_DONE = re.compile(r"exercise (\d) not done yet: .*?TODO\(1\) to TODO\((\d+)\)", re.S)
TEST_FILE = "stages/exercise{n}/tests/test_exercise.py"


@dataclass(frozen=True)
class Mistake:
    """The answer with ``edits`` applied: ``check`` (a test of the exercise, ``name[id]``
    for one case) fails, saying ``says``."""

    n: int
    name: str
    edits: tuple[tuple[str, str], ...]
    check: str
    says: str
    source_only: bool = False  # only the source-reading checks can see it

    @property
    def id(self) -> str:
        return f"{self.n}-{self.name}"


MISTAKES = [
    # --- exercise 1 ------------------------------------------------------------------
    Mistake(
        1,
        "squared",
        (("diff.dot(&diff).sqrt() < max_dist.0", "diff.dot(&diff) < max_dist.0 * max_dist.0"),),
        "test_the_distance_rounds_as_numpys_norm[squared]",
        "is not `sqrt(d2) < max_dist`",
    ),
    Mistake(
        1,
        "hypot",
        (("diff.dot(&diff).sqrt() < max_dist.0", "diff[0].hypot(diff[1]) < max_dist.0"),),
        "test_the_distance_rounds_as_numpys_norm[hypot]",
        "hypot rounds its own way",
    ),
    Mistake(
        1,
        "less-or-equal",
        (("diff.dot(&diff).sqrt() < max_dist.0", "diff.dot(&diff).sqrt() <= max_dist.0"),),
        "test_strictly_closer_than_max_dist",
        "Compare with a strict `<`, not `<=`",
    ),
    Mistake(
        1,
        "name-per-lookup",
        (('intern!(py, "center")', '"center"'),),
        "test_one_name_object_for_every_lookup",
        "different name strings",
    ),
    Mistake(
        1,
        "no-length-check",
        (
            (
                'common::borrowed_pair(&center, || format!("polygons[{i}].center"))?',
                "center.extract()?",
            ),
        ),
        "test_a_bad_center_is_a_python_error_naming_the_polygon",
        "Read the center with `common::borrowed_pair",
    ),
    Mistake(
        1,
        "list-only",
        (
            (
                'common::items("polygons", polygons)?.into_iter()',
                "polygons.cast::<pyo3::types::PyList>()?.iter()",
            ),
        ),
        "test_any_iterable_of_polygons",
        "Accept any iterable of polygons",
    ),
    # --- exercise 2 ------------------------------------------------------------------
    Mistake(
        2,
        "squared",
        (("(dx * dx + dy * dy).sqrt() < max_dist", "dx * dx + dy * dy < max_dist * max_dist"),),
        "test_the_distance_rounds_as_numpys_norm[squared]",
        "is not `sqrt(d2) < max_dist`",
    ),
    Mistake(
        2,
        "hypot",
        (("(dx * dx + dy * dy).sqrt() < max_dist", "dx.hypot(dy) < max_dist"),),
        "test_the_distance_rounds_as_numpys_norm[hypot]",
        "hypot rounds its own way",
    ),
    Mistake(
        2,
        "less-or-equal",
        (("(dx * dx + dy * dy).sqrt() < max_dist", "(dx * dx + dy * dy).sqrt() <= max_dist"),),
        "test_strictly_closer_than_max_dist",
        "Compare with a strict `<`, not `<=`",
    ),
    Mistake(
        2,
        "naive-mean",
        (
            (
                "let center = vertices.center();",
                "let n = vertices.x.len() as f64;\n"
                "        let center = [vertices.x.iter().sum::<f64>() / n, "
                "vertices.y.iter().sum::<f64>() / n];",
            ),
        ),
        "test_the_center_is_numpys_mean",
        "`common::Vertices::center`",
    ),
    Mistake(
        2,
        "not-frozen",
        (
            ("#[pyclass(frozen, subclass,", "#[pyclass(subclass,"),
            ("(i, &poly)?.get().center", "(i, &poly)?.try_borrow()?.center"),
        ),
        "test_the_class_is_frozen",
        "Make the class frozen",
        source_only=True,
    ),
    Mistake(
        2,
        "getattr",
        (
            (
                "let center = &common::polygon::<Polygon>(i, &poly)?.get().center;",
                'let center: [f64; 2] = poly.getattr("center")?.extract()?;',
            ),
        ),
        "test_the_search_loop_is_free[python-call]",
        "asks Python inside the loop",
        source_only=True,
    ),
    Mistake(
        2,
        "copied-center",
        (
            (
                "let center = &common::polygon::<Polygon>(i, &poly)?.get().center;",
                "let center = common::polygon::<Polygon>(i, &poly)?.get().center.to_vec();",
            ),
        ),
        "test_the_search_loop_is_free[allocation]",
        "copies it to the heap",
        source_only=True,
    ),
    Mistake(
        2,
        "mean-per-read",
        (("(i, &poly)?.get().center;", "(i, &poly)?.get().vertices.center();"),),
        "test_the_search_loop_is_free[mean]",
        "reaches the vertices",
        source_only=True,
    ),
    Mistake(
        2,
        "center-on-the-heap",
        (
            ("    center: [f64; 2],", "    center: Vec<f64>,"),
            ("let center = vertices.center();", "let center = vertices.center().to_vec();"),
            ("        self.center\n", "        [self.center[0], self.center[1]]\n"),
        ),
        "test_the_center_is_stored_as_plain_numbers",
        "lives on the heap",
        source_only=True,
    ),
    # --- exercise 3 ------------------------------------------------------------------
    Mistake(
        3,
        "squared",
        (("let t = squared_threshold(max_dist);", "let t = max_dist * max_dist;"),),
        "test_the_sqrt_free_test_is_exact_at_the_boundary[squared]",
        "is not `sqrt(d2) < max_dist`",
    ),
    Mistake(
        3,
        "less-or-equal-t",
        (("dx * dx + dy * dy < t", "dx * dx + dy * dy <= t"),),
        "test_the_sqrt_free_test_is_exact_at_the_boundary[squared]",
        "`d2 <= t` keeps it too",
    ),
    Mistake(
        3,
        "hypot",
        (("dx * dx + dy * dy < t", "dx.hypot(dy) < max_dist"),),
        "test_the_sqrt_free_test_is_exact_at_the_boundary[hypot]",
        "hypot rounds its own way",
    ),
    Mistake(
        3,
        "sqrt",
        (("dx * dx + dy * dy < t", "(dx * dx + dy * dy).sqrt() < max_dist"),),
        "test_no_square_root_in_the_loop",
        "instead of taking a square root",
        source_only=True,
    ),
    Mistake(
        3,
        "threshold-per-polygon",
        (
            ("    let t = squared_threshold(max_dist);\n", ""),
            (
                "let (dx, dy) = (site.center[0] - px, site.center[1] - py);",
                "let (dx, dy) = (site.center[0] - px, site.center[1] - py);\n"
                "            let t = squared_threshold(max_dist);",
            ),
        ),
        "test_the_threshold_is_computed_once_per_call",
        "once, before the loops",
        source_only=True,
    ),
    Mistake(
        3,
        "less-or-equal-squared",
        (
            ("let t = squared_threshold(max_dist);", "let t = max_dist * max_dist;"),
            ("dx * dx + dy * dy < t", "dx * dx + dy * dy <= t"),
        ),
        "test_strictly_closer_than_max_dist",
        "Compare with a strict `<`, not `<=`",
    ),
    Mistake(
        3,
        "last-wins-a-tie",
        (("site.area < sites[b].area", "site.area <= sites[b].area"),),
        "test_least_area_and_the_first_wins_a_tie",
        "only by a strictly smaller area",
    ),
    Mistake(
        3,
        "no-skip",
        (
            (
                "if let Some(i) = best {\n            picks.push((p, i));\n        }",
                "picks.push((p, best.unwrap_or(0)));",
            ),
        ),
        "test_a_point_with_no_close_polygon_is_skipped",
        "no pair at all",
    ),
    Mistake(
        3,
        "unwrap",
        (
            (
                "if let Some(i) = best {\n            picks.push((p, i));\n        }",
                "picks.push((p, best.unwrap()));",
            ),
        ),
        "test_a_point_with_no_close_polygon_is_skipped",
        "rather than `unwrap()` its `None`",
    ),
    Mistake(
        3,
        "unsorted",
        (
            (
                "let mut picks = Vec::new();",
                "let mut picks = std::collections::HashMap::new();",
            ),
            ("picks.push((p, i));", "picks.insert(p, i);"),
            ("    Ok(picks)\n}", "    Ok(picks.into_iter().collect())\n}"),
        ),
        "test_same_picks_as_the_baseline[distinct]",
        "in the points' order",
    ),
    Mistake(
        3,
        "no-abs",
        (("(x_dot_rolled_y - y_dot_rolled_x).abs()", "(x_dot_rolled_y - y_dot_rolled_x)"),),
        "test_the_shoelace_area[triangle]",
        "the absolute value",
    ),
    Mistake(
        3,
        "no-wrap",
        (
            ("for i in 0..n {", "for i in 1..n {"),
            ("let prev = if i == 0 { n - 1 } else { i - 1 };", "let prev = i - 1;"),
        ),
        "test_the_shoelace_area[shifted-square]",
        "wrapping around to the last vertex",
    ),
    Mistake(
        3,
        "index-minus-one",
        (("let prev = if i == 0 { n - 1 } else { i - 1 };", "let prev = i - 1;"),),
        "test_the_shoelace_area[unit-square]",
        "Your Rust code panicked",
    ),
]


# --- exercise 4 --------------------------------------------------------------------
_ROWS = "row.saturating_sub(1)..=row.saturating_add(1)"
_COLS = "col.saturating_sub(1)..=col.saturating_add(1)"
_CLOSE = "squared_distance(site.center, point) < t"
_LEAST = "(site.area, i) < (sites[b].area, b)"
_CELL = "let cell = max_dist.max(1e-150);"
MISTAKES += [
    Mistake(
        4,
        "own-cell-only",
        ((_ROWS, "row..=row"), (_COLS, "col..=col")),
        "test_same_picks_as_the_baseline[distinct]",
        "from every cell a close center can be in",
    ),
    Mistake(
        4,
        "half-cells-one-around",
        ((_CELL, "let cell = (max_dist / 2.0).max(1e-150);"),),
        "test_same_picks_as_the_plain_loop[clusters]",
        "Look at every cell a close center can be in",
    ),
    Mistake(
        4,
        "exclusive-range",
        (
            (_ROWS, "row.saturating_sub(1)..row.saturating_add(1)"),
            (_COLS, "col.saturating_sub(1)..col.saturating_add(1)"),
        ),
        "test_same_picks_as_the_plain_loop[lattice_5]",
        "look at every cell within max_dist",
    ),
    Mistake(
        4,
        "less-or-equal-t",
        ((_CLOSE, "squared_distance(site.center, point) <= t"),),
        "test_the_threshold_is_exact_at_the_boundary[squared]",
        "`d2 <= t` keeps it too",
    ),
    Mistake(
        4,
        "squared",
        (("let t = squared_threshold(max_dist);", "let t = max_dist * max_dist;"),),
        "test_the_threshold_is_exact_at_the_boundary[squared]",
        "is not `sqrt(d2) < max_dist`",
    ),
    Mistake(
        4,
        "less-or-equal-squared",
        (
            ("let t = squared_threshold(max_dist);", "let t = max_dist * max_dist;"),
            (_CLOSE, "squared_distance(site.center, point) <= t"),
        ),
        "test_strictly_closer_than_max_dist",
        "Compare with a strict `<`, not `<=`",
    ),
    Mistake(
        4,
        "last-wins-a-tie",
        ((_LEAST, "site.area <= sites[b].area"),),
        "test_least_area_and_the_lowest_index_on_a_tie",
        "the lowest index",
    ),
    Mistake(
        4,
        "first-seen-wins-a-tie",
        ((_LEAST, "site.area < sites[b].area"),),
        "test_least_area_and_the_lowest_index_on_a_tie",
        "whatever order your cells and their lists come in",
    ),
    Mistake(
        4,
        "nan-counted-close",
        ((_CLOSE, "!(squared_distance(site.center, point) >= t)"),),
        "test_same_picks_as_the_plain_loop[nan_inf]",
        "`!(d2 >= t)`",
    ),
    Mistake(
        4,
        "cell-overflow",
        ((_ROWS, "row - 1..=row + 1"), (_COLS, "col - 1..=col + 1")),
        "test_same_picks_as_the_plain_loop[huge]",
        "`saturating_add`",
    ),
    Mistake(
        4,
        "cells-below-1e-150",
        ((_CELL, "let cell = max_dist;"),),
        "test_same_picks_as_the_plain_loop[max_dist_1e-300]",
        "at least about 1e-150 wide",
    ),
    Mistake(
        4,
        "dense-grid",
        (
            (
                "    let mut cells: HashMap<(i64, i64), Vec<usize>> = HashMap::new();\n"
                "    for (i, site) in sites.iter().enumerate() {\n"
                "        let [x, y] = site.center;\n"
                "        cells.entry((cell_of(x), cell_of(y))).or_default().push(i);\n"
                "    }\n",
                "    let (mut x0, mut y0) = (i64::MAX, i64::MAX);\n"
                "    let (mut x1, mut y1) = (i64::MIN, i64::MIN);\n"
                "    for site in sites {\n"
                "        let [x, y] = site.center;\n"
                "        (x0, y0) = (x0.min(cell_of(x)), y0.min(cell_of(y)));\n"
                "        (x1, y1) = (x1.max(cell_of(x)), y1.max(cell_of(y)));\n"
                "    }\n"
                "    let width = (x1 - x0 + 1) as usize;\n"
                "    let height = (y1 - y0 + 1) as usize;\n"
                "    let mut cells: Vec<Vec<usize>> = vec![Vec::new(); width * height];\n"
                "    for (i, site) in sites.iter().enumerate() {\n"
                "        let [x, y] = site.center;\n"
                "        let (col, row) = (cell_of(x) - x0, cell_of(y) - y0);\n"
                "        cells[row as usize * width + col as usize].push(i);\n"
                "    }\n",
            ),
            (
                "cells.get(&(x, y)).into_iter().flatten()",
                "cells\n"
                "                    .get((y - y0) as usize * width + (x - x0) as usize)\n"
                "                    .filter(|_| x0 <= x && x <= x1 && y0 <= y && y <= y1)\n"
                "                    .into_iter()\n"
                "                    .flatten()",
            ),
        ),
        "test_same_picks_as_the_plain_loop[far_outliers]",
        "not a dense array of every cell",
    ),
    Mistake(
        4,
        "brute-force-left-in",
        (
            (
                "    Ok(picks)\n}",
                "    let _ = picks;\n    Ok(plain_select(sites, points, max_dist))\n}",
            ),
        ),
        "test_not_every_pair_is_tested",
        "Test only the polygons that can be close to a point",
    ),
    Mistake(
        4,
        "every-cell",
        (("cells.get(&(x, y)).into_iter().flatten()", "cells.values().flatten()"),),
        "test_not_every_pair_is_tested",
        "Test only the polygons that can be close to a point",
    ),
    Mistake(
        4,
        "uncounted-test",
        (
            (
                _CLOSE,
                "(site.center[0] - point[0]).powi(2) + (site.center[1] - point[1]).powi(2) < t",
            ),
        ),
        "test_not_every_pair_is_tested",
        "your search made none",
    ),
]


def crate(n: int) -> Path:
    return ROOT / "stages" / f"exercise{n}"


def lib_rs(n: int) -> Path:
    return crate(n) / "src" / "lib.rs"


def answer(n: int) -> str:
    """The answer's lines (``stages/exerciseN/solution.rs`` without its header comment)."""
    header, blank, lines = (crate(n) / "solution.rs").read_text().partition("\n\n")
    assert blank and all(line.startswith("//") for line in header.splitlines()), (
        f"stages/exercise{n}/solution.rs: a header of // lines, a blank line, the answer"
    )
    return lines


def splice(source: str, code: str) -> str:
    """``source`` with ``code`` between its markers, in place of what was there."""
    start, end = region(source)
    lines = source.splitlines(keepends=True)
    return "".join([*lines[: start + 1], code, *lines[end:]])


def solution(n: int) -> str:
    """The starter with the answer between its markers: the lib.rs the answer makes."""
    return splice(starter(n), answer(n))


def region(source: str) -> tuple[int, int]:
    """Line indices of the START and END markers."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith(START)]
    ends = [i for i, line in enumerate(lines) if line.strip().startswith(END)]
    assert len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0], (
        f"the starter needs one {START!r} line and one {END!r} line after it"
    )
    return starts[0], ends[0]


def inside(source: str) -> str:
    start, end = region(source)
    return "\n".join(source.splitlines()[start + 1 : end])


def code_lines(text: str) -> list[str]:
    """The code of a Rust text, one stripped line each: no comments, no blank lines."""
    return [line.strip() for line in exercises.code(text).splitlines() if line.strip()]


def todo_count(source: str) -> int:
    """k of "TODO(1) to TODO(k)" in the starter's NotImplementedError message."""
    found = NOT_DONE.search(re.sub(r"\\\n\s*", " ", source))
    assert found, "the NotImplementedError message should say `exercise N not done yet: ...`"
    return int(found.group(2))


def is_starter(source: str) -> bool:
    try:
        body = inside(source)
        todos = todo_count(body)
    except AssertionError:
        return False
    return NOT_IMPLEMENTED in body and all(f"TODO({k})" in body for k in range(1, todos + 1))


def starter(n: int) -> str:
    """The starter's lib.rs: the working tree's, or git HEAD's once an attendee edited it."""
    path = lib_rs(n)
    source = path.read_text()
    if is_starter(source):
        return source
    committed = subprocess.run(
        ["git", "show", f"HEAD:{path.relative_to(ROOT).as_posix()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if committed.returncode == 0 and is_starter(committed.stdout):
        return committed.stdout
    pytest.skip(f"{path} is being worked on and git HEAD has no starter to test")


def mistaken(m: Mistake) -> str:
    """The starter with the answer, ``m.edits`` applied, between its markers."""
    code = answer(m.n)
    for old, new in m.edits:
        assert code.count(old) == 1, f"{m.id}: expected once in the answer: {old!r}"
        code = code.replace(old, new)
    return splice(starter(m.n), code)


# --- building many variants of the exercises at once -------------------------------------


def cargo_env() -> dict[str, str]:
    """The environment of the Makefile's and maturin's builds, so that pyo3 and the
    other dependencies in target/ are reused, not rebuilt."""
    python = ROOT / ".venv" / "bin" / "python"
    python = python if python.exists() else Path(sys.executable)
    v = sys.version_info
    signature = f"{sys.implementation.name}-{v[0]}.{v[1]}-{8 * ctypes.sizeof(ctypes.c_void_p)}bit"
    return {
        **os.environ,
        "CARGO_TARGET_DIR": str(ROOT / "target"),
        "PYO3_PYTHON": str(python),
        "PYO3_BUILD_EXTENSION_MODULE": "1",
        "PYO3_ENVIRONMENT_SIGNATURE": signature,
    }


def build_all(tmp: Path, variants: dict[str, tuple[int, str]]) -> dict[str, Path]:
    """Build every ``{name: (n, lib.rs)}`` as exercise ``n`` with that source, in one cargo
    run, and lay each out as the package ``poly_match_exerciseN`` in a folder of its own.

    A temporary workspace whose members are copies of the exercise crates, each renamed
    (``exerciseN_<name>``) so that its library does not overwrite the real exercise's in
    target/profiling/; ``common`` by its absolute path. Returns ``{name: folder}``: put the
    folder on PYTHONPATH to import that build (its ``lib.rs`` is there too).
    """
    workspace = tmp / "workspace"
    packages = {}
    for name, (n, source) in variants.items():
        package = f"exercise{n}_{re.sub(r'[^a-z0-9]', '_', name)}"
        copy = workspace / package
        shutil.copytree(
            crate(n),
            copy,
            ignore=shutil.ignore_patterns("*.so", "__pycache__", "tests", "solution.rs"),
        )
        (copy / "src" / "lib.rs").write_text(source)
        manifest = copy / "Cargo.toml"
        old = f'name = "exercise{n}"'
        assert old in manifest.read_text(), f"{crate(n)}/Cargo.toml: no `{old}`"
        manifest.write_text(manifest.read_text().replace(old, f'name = "{package}"', 1))
        packages[name] = package
    root_manifest = (ROOT / "Cargo.toml").read_text()
    members = ", ".join(f'"{p}"' for p in packages.values())
    root_manifest, count = re.subn(r"(?m)^members = .*$", f"members = [{members}]", root_manifest)
    common = (ROOT / "stages" / "common").as_posix()
    root_manifest, paths = re.subn(
        r'(?m)^common = \{ path = "[^"]*" \}', f'common = {{ path = "{common}" }}', root_manifest
    )
    assert count == 1 and paths == 1, "the root Cargo.toml: one `members` and one `common`"
    # The exercise crates alone unoptimised, without debug info: a third of the compile
    # time, the same floating-point results (Rust never reorders or fuses them), and the
    # dependencies in target/ as `make build` compiled them (they are not overridden).
    for package in packages.values():
        root_manifest += f"\n[profile.profiling.package.{package}]\nopt-level = 0\ndebug = false\n"
    (workspace / "Cargo.toml").write_text(root_manifest)
    shutil.copy(ROOT / "Cargo.lock", workspace / "Cargo.lock")
    built = subprocess.run(
        ["cargo", "build", "--profile", "profiling", "--lib", "--workspace", "--quiet"],
        cwd=workspace,
        env=cargo_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, f"cargo build failed:\n{built.stdout}\n{built.stderr}"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    folders = {}
    for name, (n, source) in variants.items():
        site = tmp / "site" / packages[name]
        shutil.copytree(
            crate(n) / "python", site, ignore=shutil.ignore_patterns("*.so", "__pycache__")
        )
        library = ROOT / "target" / "profiling" / f"lib{packages[name]}.so"
        shutil.copy(library, site / f"poly_match_exercise{n}" / f"_core{suffix}")
        (site / "lib.rs").write_text(source)  # what the source-reading checks read
        folders[name] = site
    return folders


def run_checks(
    n: int, site: Path, source: Path | None = None, only: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``make check-exercise STAGE=n``'s checks (or the one named ``only``) against the
    module in ``site``, reading ``source`` (default: the lib.rs built into it)."""
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    env = {
        **os.environ,
        "PYTHONPATH": path,
        "POLY_MATCH_EXERCISE_SRC": str(source or site / "lib.rs"),
    }
    command = [sys.executable, "-m", "workshop.exercises", str(n)]
    if only is not None:
        # The same plugin and options, one test: `python -m pytest ... FILE::TEST`.
        test = TEST_FILE.format(n=n) + "::" + only
        command = [sys.executable, "-m", "pytest", *exercises.PYTEST_ARGS, test]
        env["RUST_BACKTRACE"] = "0"
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def loaded(n: int, site: Path) -> Path:
    """The file ``import poly_match_exerciseN`` loads with ``site`` on PYTHONPATH."""
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    where = subprocess.run(
        [sys.executable, "-c", f"import poly_match_exercise{n} as m; print(m.__file__)"],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(where.stdout.strip())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every starter, answer and mistake built in one cargo run, then checked, a few at a
    time: each starter and answer by every check, each mistake by the check that should
    catch it. A mistake that passed would be caught whatever it loaded; the starters and
    answers are checked to load their own build."""
    tmp = tmp_path_factory.mktemp("exercises")
    variants: dict[str, tuple[int, str]] = {}
    for n in EXERCISES:
        variants[f"starter{n}"] = (n, starter(n))
        variants[f"solution{n}"] = (n, solution(n))
    for m in MISTAKES:
        if not m.source_only:
            variants[m.id] = (m.n, mistaken(m))
    sites = build_all(tmp, variants)

    def run(name: str) -> subprocess.CompletedProcess[str]:
        if name in variants and name.startswith(("starter", "solution")):
            n = variants[name][0]
            assert loaded(n, sites[name]).is_relative_to(sites[name])
            return run_checks(n, sites[name])
        m = next(m for m in MISTAKES if m.id == name)
        if m.source_only:
            source = tmp / f"{m.id}.rs"
            source.write_text(mistaken(m))
            return run_checks(m.n, sites[f"solution{m.n}"], source, only=m.check)
        return run_checks(m.n, sites[m.id], only=m.check)

    names = [name for name in variants if not name[0].isdigit()] + [m.id for m in MISTAKES]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        return dict(zip(names, pool.map(run, names), strict=True))


def failures(out: str) -> Iterator[tuple[str, list[str]]]:
    """``(test id, its report's lines)`` for each failure in a ``-q`` pytest output."""
    if " FAILURES " not in out:
        return
    section = out.split(" FAILURES ", 1)[1].split(" short test summary info ", 1)[0]
    parts = re.split(r"(?m)^_{3,} (.+?) _{3,}$", section)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        yield name, [line for line in body.splitlines() if line.strip(" =")]


# --- the boundary centers, exactly -------------------------------------------------------


def libm_hypot(x: float, y: float) -> float:
    """The C library's ``hypot``: what Rust's ``f64::hypot`` calls."""
    name = ctypes.util.find_library("m")
    if name is None:  # pragma: no cover - no C math library to ask
        return math.hypot(x, y)
    hypot = ctypes.CDLL(name).hypot
    hypot.restype, hypot.argtypes = ctypes.c_double, [ctypes.c_double, ctypes.c_double]
    return hypot(x, y)


@pytest.mark.parametrize(
    "center", [exercises.ON_THE_CIRCLE, exercises.SQUARED_BELOW, exercises.HYPOT_BELOW]
)
def test_the_baseline_calls_no_boundary_center_close_on_any_cpu(
    center: tuple[float, float],
) -> None:
    for fused in (True, False):
        assert fp.norm(center, exercises.ORIGIN, fused) == exercises.MAX_DIST, (center, fused)
        assert not fp.norm_below(center, exercises.ORIGIN, exercises.MAX_DIST, fused)
    dx, dy = center
    assert math.sqrt(dx * dx + dy * dy) == exercises.MAX_DIST  # the answers' plain form


def test_each_boundary_center_is_kept_by_its_mistake() -> None:
    m = exercises.MAX_DIST
    x, y = exercises.ON_THE_CIRCLE
    assert math.sqrt(x * x + y * y) <= m and x * x + y * y == m * m
    x, y = exercises.SQUARED_BELOW
    assert x * x + y * y < m * m and x * x + y * y == fp.squared_threshold(m)  # so `<= t` too
    assert libm_hypot(x, y) == m  # hypot does not keep it: the check names the square
    x, y = exercises.HYPOT_BELOW
    assert libm_hypot(x, y) < m and math.hypot(x, y) < m
    # Not a rounding accident of one hypot: the true distance is below 10 by more than
    # half of the gap to the next double down, so every correctly rounded hypot is < 10.
    from fractions import Fraction

    gap = Fraction(m) - Fraction(math.nextafter(m, 0))
    assert (Fraction(m) - gap * Fraction(3, 4)) ** 2 > Fraction(x) ** 2 + Fraction(y) ** 2


# --- cheap checks on the sources -------------------------------------------------------


@pytest.mark.parametrize("n", EXERCISES)
def test_the_starter_has_its_todos_in_order_and_says_where_to_look(n: int) -> None:
    source = starter(n)
    body = inside(source)
    numbers = [int(k) for k in re.findall(r"// TODO\((\d+)\):", body)]
    assert numbers == list(range(1, todo_count(body) + 1)), f"TODO(k): lines: {numbers}"
    assert "todo!(" not in source and "unimplemented!(" not in source, "no panics"
    assert f"stages/exercise{n}/src/lib.rs" in re.sub(r"\\\n\s*", " ", body), "name the file"
    assert f"make hint STAGE={n}" in body, "say how to get a hint"
    link = re.search(r"(docs/workshop\.md)#([\w-]+)", body)
    assert link, "the NotImplementedError message should point to docs/workshop.md#..."
    assert link.group(2) in doccheck.heading_slugs((ROOT / link.group(1)).read_text())
    assert f"stages/exercise{n}/solution.rs" in source, "the header names the answer's file"
    assert (crate(n) / "hints.md").read_text().count("\n## Hint ") >= 2, "hints.md: ## Hint k"


@pytest.mark.parametrize("n", EXERCISES)
def test_the_answer_between_the_markers_is_rustfmt_clean(n: int, tmp_path: Path) -> None:
    assert NOT_IMPLEMENTED not in answer(n) and "TODO(" not in answer(n)
    copy = tmp_path / "lib.rs"
    copy.write_text(solution(n))
    rustfmt = subprocess.run(  # (rustfmt --check passes anything read from stdin)
        ["rustfmt", "--check", "--edition", "2024", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rustfmt.returncode == 0, f"the answer is not rustfmt-clean:\n{rustfmt.stdout}"


def test_exercise_1_is_stage_1s_code() -> None:
    # The answer is stage 1's loop, and the walkthrough compares with stage 1 after the
    # exercise: the same code, comments aside.
    stage1 = ROOT / "stages" / "stage1_getattr" / "src" / "lib.rs"
    body = exercises.rust_fn(stage1, "find_close_polygons")
    point = "let point = ndarray::aview1(&point);"
    loop = body.split(point, 1)[1].rsplit("}", 1)[0]
    assert code_lines(loop) == code_lines(inside(solution(1)))
    for doc in DOCS.values():
        after = doc.read_text().split('<a id="exercise-1"></a>', 1)[1]
        shown = re.search(r"```diff\n(.*?)```", after, re.S)
        assert shown, f"{doc.name}: no ```diff block after exercise 1"
        added = [line[1:] for line in shown.group(1).splitlines() if line.startswith("+")]
        assert added[0] == "#[pyfunction]", f"{doc.name}: the diff starts with the function"
        assert code_lines("\n".join(added[1:])) == code_lines(body), (
            f"{doc.name}: the diff after exercise 1 is not stage 1's find_close_polygons"
        )


@pytest.mark.parametrize("n", EXERCISES)
def test_only_the_last_hint_shows_code_and_it_is_the_answer(n: int) -> None:
    hints = (crate(n) / "hints.md").read_text().split("\n## Hint ")[1:]
    leading, last = hints[:-1], hints[-1]
    for k, hint in enumerate(leading, 1):
        assert "```" not in hint, f"hint {k} of exercise {n} shows a code block: only the last may"
    shown = re.findall(r"```rust\n(.*?)```", last, re.S)
    assert shown, "the last hint shows the code"
    shown_code = [line for block in shown for line in code_lines(block)]
    answer = code_lines(inside(solution(n)))
    # The last hint shows the answer's code, in its order; it may leave out docs and glue.
    it = iter(answer)
    assert all(line in it for line in shown_code), f"hint {len(hints)}: not the answer's code"


def answer_lines(n: int) -> list[str]:
    """The lines of the answer that only the answer has: long enough to be telling, and
    neither in the starter nor in an earlier exercise's answer (shown before, rightly)."""
    starter_code = set(code_lines(inside(starter(n))))
    for earlier in range(1, n):
        starter_code |= set(code_lines(inside(solution(earlier))))
    return [
        line
        for line in code_lines(inside(solution(n)))
        if len(line) >= 24
        and line not in starter_code
        and not line.startswith(("///", "#[pyfunction]"))
    ]


def pages() -> Iterator[tuple[str, str, int]]:
    """``(page, text, n)``: each walkthrough up to exercise n's anchor, and each page of
    exercise n an attendee reads before the answer (README, all hints but the last)."""
    for doc in DOCS.values():
        text = doc.read_text()
        for n in EXERCISES:
            anchor = f'<a id="exercise-{n}"></a>'
            assert text.count(anchor) == 1, f"{doc.name}: one {anchor}"
            yield f"{doc.name} before exercise {n}", text.split(anchor)[0], n
    for n in EXERCISES:
        yield f"stages/exercise{n}/README.md", (crate(n) / "README.md").read_text(), n
        hints = (crate(n) / "hints.md").read_text().split("\n## Hint ")
        yield f"stages/exercise{n}/hints.md but its last hint", "\n## Hint ".join(hints[:-1]), n


@pytest.mark.parametrize(
    ("page", "text", "n"), [pytest.param(*p, id=f"{p[0]}, exercise {p[2]}") for p in pages()]
)
def test_no_page_shows_an_answer_before_its_exercise(page: str, text: str, n: int) -> None:
    lines = {line.strip() for line in text.splitlines()}
    lines |= {line[1:].strip() for line in lines if line.startswith(("+", "-"))}  # diffs
    shown = [line for line in answer_lines(n) if line in lines]
    assert not shown, f"{page} shows exercise {n}'s answer before the exercise: {shown}"


def test_the_exercises_are_not_stages() -> None:
    # Not benchmarked or profiled, and not built by `make build` (stages/stage*/ only).
    for n in EXERCISES:
        assert all(stage.crate != crate(n).name for stage in stages.STAGES)
        assert not crate(n).name.startswith("stage")
        assert f"poly_match_exercise{n}" not in {stage.module for stage in stages.STAGES}


# --- built for real ------------------------------------------------------------------------


@pytest.mark.parametrize("n", EXERCISES)
def test_the_untouched_starter_fails_naming_its_todos_and_file(
    n: int, runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = runs[f"starter{n}"]
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    todos = f"TODO(1) to TODO({todo_count(inside(starter(n)))})"
    assert f"exercise {n} not done yet" in out and todos in out, out
    assert f"stages/exercise{n}/src/lib.rs" in out and "docs/workshop.md" in out, out
    summary = re.search(r"\b1 failed, \d+ skipped\b", out)
    assert summary, out
    if n == 1:  # the walkthroughs print this run's output: the same report, the same count
        report = [line for line in out.splitlines() if line.startswith("exercise 1 not done")]
        for doc in DOCS.values():
            text = doc.read_text()
            assert f"{summary.group(0)} in ...s" in text, f"{doc.name}: not {summary.group(0)}"
            assert report and report[0] in text.splitlines(), f"{doc.name}: not {report}"


@pytest.mark.parametrize("n", EXERCISES)
def test_the_solution_passes(n: int, runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = runs[f"solution{n}"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b\d+ passed in\b", result.stdout), result.stdout
    assert "skipped" not in result.stdout and "failed" not in result.stdout


def test_every_check_is_tried_by_a_mistake() -> None:
    # A check no mistake fails is not known to be able to fail.
    for n in EXERCISES:
        tests = re.findall(r"(?m)^def (test_\w+)", (ROOT / TEST_FILE.format(n=n)).read_text())
        tried = {m.check.split("[")[0] for m in MISTAKES if m.n == n}
        # The first check fails on the starter; the pipeline and objects checks fail
        # with the picks whenever the search is wrong (a mistake of exercise n fails them).
        untried = set(tests) - tried - {"test_the_todos_are_done"}
        assert untried <= UNTRIED_ON_PURPOSE[n], f"exercise {n}: no mistake tries {untried}"


# Checks whose mistakes are the ones above seen from another side, or that guard what a
# working build cannot get wrong without failing an earlier check too.
UNTRIED_ON_PURPOSE = {
    1: {
        "test_same_picks_as_the_baseline",
        "test_same_polygon_objects_in_the_same_order",
        "test_runs_the_pipeline",
        "test_a_polygon_without_center_is_an_attribute_error",
    },
    2: {
        "test_same_picks_as_the_baseline",
        "test_same_polygon_objects_in_the_same_order",
        "test_runs_the_pipeline",
        "test_an_item_that_is_not_a_polygon_is_a_type_error_naming_it",
    },
    3: {
        "test_the_area_is_numpys_within_rounding",
        "test_runs_the_pipeline",
    },
    4: {"test_runs_the_pipeline"},
}


@pytest.mark.parametrize("m", MISTAKES, ids=lambda m: m.id)
def test_each_natural_mistake_fails_its_check_saying_what_to_change(
    m: Mistake, runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = runs[m.id]
    out = result.stdout
    assert result.returncode == 1, f"{m.id} passed {m.check}:\n{out}{result.stderr}"
    reports = dict(failures(out))
    assert reports, out
    for name, lines in reports.items():
        assert len(lines) <= exercises.MAX_LINES, f"{name}: {len(lines)} lines\n{out}"
    assert any(m.says in " ".join(lines) for lines in reports.values()), out


def test_a_failing_check_prints_a_few_lines_per_case(
    runs: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    # Five cases fail at once here (a center of 3 numbers panics, the others raise the
    # wrong error): each prints its message and no traceback.
    out = runs["1-no-length-check"].stdout
    reports = dict(failures(out))
    assert len(reports) == 5, out
    assert max(len(lines) for lines in reports.values()) <= 4, out
    assert "Traceback" not in out and "Fix the first failure above first" in out, out
