"""Where the time goes, and the walkthrough's claims, read off the stacks.

``CATEGORIES`` name where a sample's time goes (the page's "where the time goes" table
and the docs' shares); ``FAMILIES`` say where a frame's code comes from (the palette);
``CLAIMS`` are the walkthrough's statements about each stage's profile, checked on the
stacks by the page and by tests/test_profiles.py alike. Recorder-specific: py-spy's
claims read Python frames; samply's (``SAMPLY_CLAIMS``) read threads and Rust frames.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from workshop.stacks import (
    THREAD,
    Profile,
    Stacks,
    count,
    is_python,
    is_rust,
    under,
)


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    pattern: re.Pattern[str]

    def matches(self, frame: str) -> bool:
        return bool(self.pattern.search(frame))


def _category(key: str, label: str, pattern: str) -> Category:
    return Category(key, label, re.compile(pattern))


# Where a sample's time goes: the OUTERMOST frame (nearest the root) that matches
# one of these patterns names it, so `norm` keeps the numpy internals it calls,
# and `getattr` keeps the string it allocates. A frame matching two patterns
# takes the first in this list. Samples no pattern claims fall to the fallbacks
# below. The patterns were read off the real stacks of every stage (py-spy 0.4.3,
# PyO3 0.30, numpy 0.30, ndarray 0.17, CPython 3.11).
CATEGORIES: list[Category] = [
    _category("select", "select_best_polygon (Python)", r"^select_best_polygon \("),
    _category("norm", "np.linalg.norm", r"^(_norm_dispatcher|norm) \(numpy/linalg/"),
    _category("numpy_sub", "numpy: center - point", r"^array_subtract \("),
    _category(
        "argument",
        "argument extraction (PyO3)",
        r"^pyo3::impl_::extract_argument::|FunctionDescription>?::extract_arguments|"
        r"^pyo3::conversions::std::vec::extract_sequence",
    ),
    _category(
        "iterate",
        "iterating Python lists",
        r"^pyo3::types::iterator::|PyIter_Next|BoundListIterator|^pyo3::types::list::.*[Ii]ter",
    ),
    _category(
        "getattr",
        "getattr (attribute lookup)",
        # getattr("center") first builds the Python string "center" (PyString::new).
        r"as pyo3::types::any::PyAnyMethods>::getattr \(|^PyObject_GetAttr|GenericGetAttr|"
        r"^pyo3::types::string::PyString::new",
    ),
    _category(
        "pyref",
        "pyclass borrow (PyRef: borrow flag, refcount)",
        r"^pyo3::pycell::|PyRef<|BorrowChecker|BorrowFlag",
    ),
    _category(
        "extract",
        "extract / cast (type checks, numpy borrow)",
        r"^<numpy::borrow::PyReadonlyArray<.*>::extract|^numpy::borrow::|^numpy::npyffi::|"
        r"^numpy::dtype::|as numpy::dtype::PyArrayDescrMethods>|"
        r"drop_in_place<numpy::borrow::|^numpy::array::|PyArrayMethods>::as_array|"
        r"PyAnyMethods>::(cast|extract)|^pyo3::instance::Bound<.*>::cast|"
        r"FromPyObject>::extract|PyTypeInfo>::is_type_of|PyObject_IsInstance|"
        r"^numpy::untyped_array::|PyUntypedArrayMethods>|"
        # as_array() turns numpy's shape into ndarray's through dynamic dimensions.
        r"^ndarray::dimension::|"
        # numpy's borrow tracking is the only HashMap in the stages; py-spy often
        # loses its numpy::borrow caller, so its hashbrown frames are named here.
        r"^<?hashbrown::|^std::collections::hash::|_mm_movemask_epi8",
    ),
    _category(
        "alloc",
        "to_owned / heap allocation",
        # Only what allocates: `alloc::vec::Vec::extend` and friends are the loops
        # that fill a Vec, and the work inlined into them is not allocation.
        r"::to_owned \(|^alloc::(alloc|raw_vec)::|^alloc::vec::from_elem|"
        r"^alloc::slice::.*to_vec|^<alloc::alloc::Global as|__rust_(de)?alloc|"
        r"^(malloc|free|cfree|realloc|calloc) \(|drop_in_place<ndarray::|"
        r"drop_in_place<alloc::vec::Vec<f64>|RawVec|^__rustc::__rdl_",
    ),
    _category(
        "math",
        "distance arithmetic (center - point, sqrt)",
        r"^ndarray::linalg::|^<.*ndarray::.* as core::ops::arith::Sub|::dot \(|"
        r"::sqrt \(|^core::f64::|^ndarray::impl_ops::|^ndarray::numeric_util::",
    ),
    _category(
        "to_python",
        "building Python results (list, tuple)",
        r"IntoPyObject|^pyo3::types::(list|tuple)::(Py(List|Tuple)::new|try_new_from_iter)|"
        r"^PyList_New|^PyTuple_New|^list_append|^_PyList_Append",
    ),
    _category(
        "refcount",
        "reference counting",
        r"Py_DECREF|Py_INCREF|Py_IncRef|Py_DecRef|^_Py_Dealloc|register_decref|"
        r"drop_in_place<pyo3::instance::Bound",
    ),
    _category(
        "polygon_new",
        "Polygon construction",
        r"^Polygon\.__init__ \(|Polygon::new|^pyo3::pyclass_init::",
    ),
    _category("gc", "Python's garbage collector", r"^gc_collect|^_PyObject_GC_"),
]
FALLBACKS: dict[str, str] = {
    "rust": "the stage's own Rust code (and what it inlines)",
    "rust_lib": "other Rust library code (ndarray, std)",
    "numpy": "numpy internals (dispatch, new arrays)",
    "python": "our Python code (loops, calls)",
    "other": "other (interpreter, libraries, libc)",
}
LABELS: dict[str, str] = {c.key: c.label for c in CATEGORIES} | FALLBACKS


def classify(frames: list[str]) -> str:
    """The key of the category a sample belongs to (see ``CATEGORIES``)."""
    for frame in frames:
        for category in CATEGORIES:
            if category.matches(frame):
                return category.key
    # Nothing named it. Inside the stage crate's own code it is that code's work
    # (std's iterators and slices are inlined there); else the innermost frame's family.
    if any(family(frame) == "rust" for frame in frames):
        return "rust"
    for frame in reversed(frames):
        kind = family(frame)
        if kind in FALLBACKS:
            return kind
    return "other"


def by_category(stacks: Stacks) -> Counter[str]:
    shares: Counter[str] = Counter()
    for stack, n in stacks.items():
        shares[classify([f for f in stack if not THREAD.match(f)])] += n
    return shares


def where_time_goes(profile: Profile) -> Counter[str]:
    """Samples per category, inside the timed calls."""
    return by_category(profile.timed())


# --- where the code comes from (the palette's families) ----------------------------

# One palette for every flamegraph, by where the code comes from, so a frame has the
# same colour in every stage: hue by family, shade by a hash of the function name.
FAMILIES: dict[str, tuple[str, float]] = {
    "python": ("our Python code", 0.06),  # orange
    "numpy": ("numpy (Python and C)", 0.58),  # blue
    "rust": ("our Rust code (the stage crate)", 0.33),  # green
    "rust_lib": ("Rust libraries: PyO3, numpy, ndarray, std", 0.78),  # purple
    "system": ("CPython interpreter, stdlib, libc", 0.13),  # yellow-grey
}


OUR_PYTHON = r"\((poly_match|workshop)"


def family(frame: str, ours: str = OUR_PYTHON) -> str:
    """Where ``frame``'s code comes from (a key of ``FAMILIES``). ``ours``: the files that
    count as our Python code (a reader's own script when it is the subject)."""
    if is_rust(frame) or frame.startswith("[Rust runtime"):  # stacks.RUNS' box
        return "rust" if re.match(r"^<?stage\d\w*::", frame) else "rust_lib"
    if "numpy" in frame or "_multiarray" in frame or "openblas" in frame:
        return "numpy"
    if is_python(frame) and re.search(ours, frame):
        return "python"
    return "system"


# --- the walkthrough's claims ---------------------------------------------------

MIN_SAMPLES = 20  # fewer than this in the region a claim is about proves nothing


@dataclass(frozen=True)
class Claim:
    stage: str
    statement: str
    holds: bool
    evidence: str


def rust_called_from(stacks: Stacks, caller: str) -> Stacks:
    """The stacks where a frame matching ``caller`` calls Rust, cut to start at the Rust frame.

    Why not look for the stage's own function? py-spy 0.4 often loses the caller of
    a PyO3 function that was not inlined: ``getattr`` then hangs straight off
    ``run_pipeline`` with ``find_close_polygons`` missing. In stages 1 and 2 the
    only Rust that ``run_pipeline`` calls is the stage's find_close_polygons, so
    "Rust right under run_pipeline" is that function, lost frames or not.
    """
    regex = re.compile(caller)
    out: Counter[tuple[str, ...]] = Counter()
    for stack, n in stacks.items():
        for i, frame in enumerate(stack[:-1]):
            if regex.search(frame) and is_rust(stack[i + 1]):
                out[stack[i + 1 :]] += n
                break
    return dict(out)


RUN_PIPELINE = r"^run_pipeline \(poly_match/"


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} samples ({100 * part / max(whole, 1):.0f}%)"


def claim_stage0(profile: Profile) -> Claim:
    statement = "stage0: np.linalg.norm dominates find_close_polygons"
    region = under(profile.timed(), r"^find_close_polygons \(poly_match/")
    total = count(region)
    cats = by_category(region)
    # numpy's __array_function__ dispatch (dispatcher_vectorcall) runs in front of
    # norm; when a sample stops in it, the stack does not say for which function.
    # In find_close_polygons norm is the only numpy function called (the
    # subtraction is an operator), so its dispatch counts with it.
    dispatch = sum(
        n
        for stack, n in region.items()
        if classify(list(stack)) == "numpy" and stack[1:2] and "dispatcher" in stack[1]
    )
    norm = cats["norm"] + dispatch
    rest = [(k, n) for k, n in cats.most_common() if k != "norm"]
    runner_up = rest[0] if rest else ("nothing", 0)
    evidence = (
        f"in find_close_polygons: norm {_pct(cats['norm'], total)} + its dispatch "
        f"{dispatch} = {_pct(norm, total)}; next: "
        f"{LABELS.get(runner_up[0], runner_up[0])} {_pct(runner_up[1], total)}"
    )
    return Claim(profile.name, statement, total >= MIN_SAMPLES and norm > total - norm, evidence)


def claim_stage1(profile: Profile) -> Claim:
    statement = (
        "stage1: in the Rust find_close_polygons, getattr + extract + to_owned "
        "outweigh the distance arithmetic"
    )
    region = rust_called_from(profile.timed(), RUN_PIPELINE)
    total = count(region)
    cats = by_category(region)
    overhead = cats["getattr"] + cats["extract"] + cats["alloc"]
    math = cats["math"] + cats["rust"]
    evidence = (
        f"in the Rust function: getattr {cats['getattr']}, extract {cats['extract']}, "
        f"to_owned/alloc {cats['alloc']} = {_pct(overhead, total)}; "
        f"arithmetic and own code {_pct(math, total)}"
    )
    return Claim(profile.name, statement, total >= MIN_SAMPLES and overhead > math, evidence)


def claim_stage2(profile: Profile) -> Claim:
    statement = f"{profile.name}: no getattr under the Rust find_close_polygons"
    region = rust_called_from(profile.timed(), RUN_PIPELINE)
    total = count(region)
    getattr_ = LABELS["getattr"]
    pattern = next(c for c in CATEGORIES if c.key == "getattr")
    hits = sum(n for stack, n in region.items() if any(pattern.matches(f) for f in stack))
    evidence = f"{getattr_}: {_pct(hits, total)} of the Rust find_close_polygons"
    return Claim(profile.name, statement, total >= MIN_SAMPLES and hits == 0, evidence)


def claim_one_call(profile: Profile) -> Claim:
    statement = f"{profile.name}: the selection runs inside one Rust call (no Python in the loop)"
    timed = profile.timed()
    total = count(timed)
    rust = {s: n for s, n in timed.items() if any(is_rust(f) for f in s)}
    in_rust = count(rust)
    python_steps = sum(
        n
        for stack, n in timed.items()
        if any(
            re.match(r"^(select_best_polygon|find_close_polygons|run_pipeline) \(", f)
            for f in stack
        )
    )
    called_back = sum(
        n
        for stack, n in rust.items()
        if any(is_python(f) for f in stack[next(i for i, f in enumerate(stack) if is_rust(f)) :])
    )
    evidence = (
        f"in Rust: {_pct(in_rust, total)} of the timed call; "
        f"Python select/find/loop frames: {python_steps}; Python called back from Rust: "
        f"{called_back}"
    )
    holds = total >= MIN_SAMPLES and 2 * in_rust > total and python_steps == 0 and called_back == 0
    return Claim(profile.name, statement, holds, evidence)


def claim_numba(profile: Profile) -> Claim:
    statement = (
        "numba: py-spy sees the compiled loop as one unnamed native frame with no Python "
        "line inside, and it is under half of the call: reading the Polygons is the rest"
    )
    timed = profile.timed()
    total = count(timed)
    # JIT-compiled code has no symbol py-spy can resolve: a bare address, "[?]", right
    # under the Python line that calls it.
    jit = {s: n for s, n in timed.items() if len(s) > 1 and s[1].startswith("[")}
    in_jit = count(jit)
    lines_inside = sum(n for s, n in jit.items() if any(is_python(f) for f in s[1:]))
    named = sum(n for s, n in timed.items() if any("_best_polygons" in f for f in s))
    evidence = (
        f"unnamed native frame under main: {_pct(in_jit, total)}; Python lines below it: "
        f"{lines_inside}; frames naming the jitted function: {named}"
    )
    holds = total >= MIN_SAMPLES and 0 < 2 * in_jit < total and lines_inside == named == 0
    return Claim(profile.name, statement, holds, evidence)


def claim_scipy(profile: Profile) -> Claim:
    statement = (
        "scipy: the k-d tree (building it, the ball query) is under half of the call: "
        "reading the Polygons and the numpy around the query are the rest"
    )
    timed = profile.timed()
    total = count(timed)
    tree = count(under(timed, r"\(scipy/spatial/_ckdtree"))
    evidence = f"in scipy.spatial's cKDTree: {_pct(tree, total)}"
    return Claim(profile.name, statement, total >= MIN_SAMPLES and 0 < 2 * tree < total, evidence)


# Stage 4's search: the grid's cells, and the k-d trees of the crowded ones.
SEARCH = r"^<?stage4_grid::(grid|kdtree)::"


def claim_stage4(profile: Profile) -> Claim:
    statement = (
        "stage4: the selection runs inside one Rust call, and most of its Rust samples are "
        "the search (stage4_grid::grid, ::kdtree): the few cells around each point, where a "
        "crowded cell's k-d tree takes or skips whole boxes of centers"
    )
    one = claim_one_call(profile)
    rust = {s: n for s, n in profile.timed().items() if any(is_rust(f) for f in s)}
    search = sum(n for s, n in rust.items() if any(re.search(SEARCH, f) for f in s))
    evidence = f"{one.evidence}; in the search: {_pct(search, count(rust))} of the Rust samples"
    return Claim(profile.name, statement, one.holds and 2 * search > count(rust), evidence)


CLAIMS: dict[str, Callable[[Profile], Claim]] = {
    "stage0": claim_stage0,
    "numba": claim_numba,
    "scipy": claim_scipy,
    "stage1": claim_stage1,
    "stage2_alloc": claim_stage2,
    "stage2": claim_stage2,
    "stage3": claim_one_call,
    "stage4": claim_stage4,
}


# --- recording ---------------------------------------------------------------------


# --- samply: every thread, no Python names ---------------------------------------------


def worker_shares(profile: Profile) -> tuple[float, float]:
    """The workers' share of every thread's samples, and the search's share of theirs."""
    workers = {s: n for s, n in profile.timed().items() if s[0] != "[main thread]"}
    total = count(workers)
    grid = sum(n for s, n in workers.items() if any(re.search(SEARCH, f) for f in s))
    return total / max(profile.total, 1), grid / max(total, 1)


def claim_workers(profile: Profile) -> Claim:
    statement = (
        f"{profile.name} (samply): rayon's worker threads do part of the work, and most of "
        "the workers' samples are in the search (stage4_grid::grid, ::kdtree)"
    )
    workers = {s: n for s, n in profile.timed().items() if s[0] != "[main thread]"}
    total = count(workers)
    grid = sum(n for s, n in workers.items() if any(re.search(SEARCH, f) for f in s))
    evidence = (
        f"worker threads: {_pct(total, profile.total)} of every thread's samples; "
        f"in the search: {_pct(grid, total)} of the workers' samples"
    )
    return Claim(profile.name, statement, total >= MIN_SAMPLES and 2 * grid > total, evidence)


SAMPLY_CLAIMS: dict[str, Callable[[Profile], Claim]] = {"stage4_large": claim_workers}


def claims_for(profile: Profile) -> list[Callable[[Profile], Claim]]:
    """The claims that read ``profile``'s stacks (its recorder sees what they need)."""
    subject = profile.meta.get("subject", profile.name)
    table = SAMPLY_CLAIMS if profile.recorder == "samply" else CLAIMS
    return [table[subject]] if subject in table else []


def recorder_view(profile: Profile) -> dict[str, float]:
    """What a recorder saw of the timed calls, as shares of its samples: threads with
    samples, samples with a Python function named, with our Rust named, in other threads."""
    timed = profile.timed()
    total = max(count(timed), 1)

    def share(test: Callable[[tuple[str, ...]], bool]) -> float:
        return sum(n for s, n in timed.items() if test(s)) / total

    return {
        "samples": float(count(timed)),
        "threads": float(len({s[0] for s in timed if THREAD.match(s[0])} or {"main"})),
        "python": share(lambda s: any(is_python(f) for f in s)),
        "rust": share(lambda s: any(family(f) == "rust" for f in s)),
        "workers": share(lambda s: bool(THREAD.match(s[0])) and s[0] != "[main thread]"),
    }
