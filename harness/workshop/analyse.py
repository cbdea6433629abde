"""Where the time goes, and the walkthrough's claims, read off the stacks.

``CATEGORIES`` name where a sample's time goes (the page's "where the time goes" table
and the docs' shares); ``FAMILIES`` say where a frame's code comes from (the palette);
``CLAIMS`` are the walkthrough's statements about each stage's profile, checked on the
stacks by the page and by tests/test_profiles.py alike, on a fresh recording and on every
reference set (``claims_on_sets``). Recorder-specific: py-spy's claims read Python frames;
samply's (``SAMPLY_CLAIMS``) read threads and Rust frames. A claim is keyed ``SUBJECT`` or
``SUBJECT.what``; the ones in ``VARIES`` hold on some CPUs only, and the docs say on which
(``claim.KEY.on``, rendered by workshop.numbers).

A reader's own script has no stage to name its frames: ``origin`` says where each frame's
code comes from, read off its file (the reader's files, a package in site-packages, the
interpreter and its standard library, native code), and ``script_shares`` counts a sample
for the innermost frame that is not the interpreter's or the C library's machinery.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

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


def family(frame: str) -> str:
    """Where a stage profile's ``frame`` comes from (a key of ``FAMILIES``); a script's
    frames have their ``origin`` instead."""
    if is_rust(frame) or frame.startswith("[Rust runtime"):  # stacks.RUNS' box
        return "rust" if re.match(r"^<?stage\d\w*::", frame) else "rust_lib"
    if "numpy" in frame or "_multiarray" in frame or "openblas" in frame:
        return "numpy"
    if is_python(frame) and re.search(OUR_PYTHON, frame):
        return "python"
    return "system"


# --- a reader's script: where each frame's code comes from -----------------------------

# The palette's families on a script's page, keyed as ``Origin.family``.
SCRIPT_FAMILIES: dict[str, tuple[str, float]] = {
    "own": ("your code", 0.06),  # orange
    "library": ("installed packages (site-packages)", 0.58),  # blue
    "python": ("the Python interpreter and standard library", 0.13),  # yellow-grey
    "native": ("native code (C, Rust) outside a package", 0.78),  # purple
}


@dataclass(frozen=True)
class Origin:
    """Where a frame's code comes from. ``key``: its "where the time goes" row
    (``own:rolling.py``, ``library:numpy``, ``python``, ``native:libc.so.6``, or ``launch``
    for the launcher's frames); ``passes``: machinery whose time is its caller's work
    (the interpreter's C, the C library, Rust's standard library inlined into a loop);
    ``shown``: the file as the graphs show it."""

    key: str
    passes: bool
    shown: str

    @property
    def family(self) -> str:
        return self.key.partition(":")[0]


_SITE = re.compile(r"[/\\](?:site|dist)-packages[/\\]([^/\\]+)[/\\]?(.*)$")
_STDLIB = re.compile(r"[/\\]lib[/\\]python\d+\.\d+t?[/\\](.+)$|[/\\]Lib[/\\](.+)$")
_CPYTHON_SOURCE = re.compile(r"[/\\]Python-\d+\.\d+[^/\\]*[/\\](.+\.[ch])$")
_INTERPRETER = re.compile(r"^(?:lib)?python\d(?:\.\d+)?[a-z]*(?:\.so[\d.]*|\.dylib|\.dll|\.exe)?$")
_CRATE = re.compile(r"[/\\]registry[/\\]src[/\\][^/\\]+[/\\]([\w-]+?)-\d+\.\d+\.\d+[^/\\]*[/\\]")
_RUST_STD = re.compile(r"^/rustc/[0-9a-f]+/|[/\\]rustlib[/\\]src[/\\]")
_SYSTEM = re.compile(
    r"^(?:libc|libm|libpthread|libdl|librt|ld-linux[\w.-]*|ld64|libgcc_s|libstdc\+\+|"
    r"linux-vdso|\[vdso\]|libsystem_\w+|libdyld)\b"
)
_NATIVE = re.compile(r"\.(?:c|h|cc|cpp|cxx|hh|hpp|rs|S|s|f|f90|so[\d.]*|dylib|dll|pyd)$")
LAUNCH = "launch"


def _package(name: str) -> str:
    """A site-packages entry as its package: ``numpy``, ``numpy.libs`` -> numpy,
    ``six.py`` -> six, ``_cffi_backend.cpython-311-x86_64-linux-gnu.so`` -> _cffi_backend."""
    return re.split(r"[.-]", name, maxsplit=1)[0] or name


def _inside(file: str, roots: Iterable[Path]) -> str | None:
    """``file`` relative to the first root it lies in (as a posix path), or None."""
    path = PurePath(os.path.normpath(file))
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return None


def origin(file: str, library: str = "", roots: Iterable[Path] = ()) -> Origin:
    """Where a frame's code comes from, from its file (a Python file, a C or Rust source,
    a shared library) and, for a native frame, the library it was found in. ``roots``:
    the reader's folders (where they stand, where the script is)."""
    roots = list(roots)
    name = PurePath(file).name if file else PurePath(library).name
    if file in ("<string>", "<frozen runpy>") or name == "runpy.py":
        return Origin(LAUNCH, False, file)
    if file.startswith("<frozen importlib"):  # an import's machinery: the module's own time
        return Origin("python", True, file)
    if file.startswith("<"):  # the standard library's frozen modules: os, codecs, ...
        return Origin("python", False, file)
    if file.startswith("["):  # a mapping with no file: [vdso], [anon]
        return Origin(f"native:{file}", True, file)
    if file in ("", "?") and not library:  # no symbol, no library: JIT-compiled code, say
        return Origin("native:unknown", False, "?")
    native = bool(library) or bool(_NATIVE.search(file)) or bool(_INTERPRETER.match(name))
    site = _SITE.search(file)
    if not native:
        if site:
            return Origin(f"library:{_package(site.group(1))}", False, f"{site[1]}/{site[2]}")
        stdlib = _STDLIB.search(file)
        if stdlib:
            return Origin("python", False, stdlib.group(1) or stdlib.group(2))
        mine = _inside(file, roots)
        return Origin(f"own:{mine or file}", False, mine or file)
    mine = _inside(file, roots) if file else None
    if mine and not site:
        return Origin(f"own:{mine}", False, mine)  # your C or Rust, with debug info
    if _RUST_STD.search(file):
        return Origin("native:Rust std", True, name)
    crate = _CRATE.search(file)
    if crate:
        return Origin(f"native:{crate.group(1)} (Rust)", False, name)
    if _CPYTHON_SOURCE.search(file):
        return Origin("python", True, name)
    where = library or file
    site = _SITE.search(where)
    lib = PurePath(where).name
    if site:
        return Origin(f"library:{_package(site.group(1))}", False, name)
    if _INTERPRETER.match(lib):
        return Origin("python", True, name)
    if _SYSTEM.match(lib):
        return Origin(f"native:{lib}", True, name)
    return Origin(f"native:{lib}", False, name)


def script_label(key: str) -> str:
    """A "where the time goes" row of a script's page."""
    kind, _, name = key.partition(":")
    if kind == "own":
        return f"your code: {name}"
    if kind == "library":
        return f"{name} (installed package)"
    if kind == "native":
        return f"native code: {name}"
    return "the Python interpreter and its standard library"


def script_category(stack: Iterable[str], origins: dict[str, list]) -> str:
    """The row a sample of a script belongs to: its innermost frame that is not machinery
    (``Origin.passes``); if every frame is, the interpreter if it is in the stack, else the
    innermost frame's row. ``origins``: frame -> [key, passes], as the profile stores them."""
    fallback = None
    for frame in reversed(list(stack)):
        known = origins.get(frame)
        if known is None:
            continue
        key, passes = known
        if not passes:
            return key
        if fallback is None or key == "python":
            fallback = key
    return fallback or "python"


SCRIPT_ORDER = ("own", "library", "python", "native")


def script_shares(profile: Profile) -> Counter[str]:
    """Samples per row of a script's "where the time goes" (``script_category``)."""
    origins = profile.meta.get("origins", {})
    shares: Counter[str] = Counter()
    for stack, n in profile.stacks.items():
        shares[script_category((f for f in stack if not THREAD.match(f)), origins)] += n
    return shares


# --- the walkthrough's claims ---------------------------------------------------

MIN_SAMPLES = 20  # fewer than this in the region a claim is about proves nothing


@dataclass(frozen=True)
class Claim:
    stage: str
    statement: str
    holds: bool
    evidence: str
    share: float | None = None  # the measured share the statement is about, if one


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


# Once per call (not per polygon), stages 2-4 check that the Polygon classes met replace
# nothing Rust computed: a few attribute lookups on the class, the only ones left.
CLASS_CHECK = re.compile(r"^common::refuse_overrides\b")


def claim_stage2(profile: Profile) -> Claim:
    statement = (
        f"{profile.name}: no getattr under the Rust find_close_polygons "
        "(the class check's, once per call, aside)"
    )
    region = rust_called_from(profile.timed(), RUN_PIPELINE)
    total = count(region)
    getattr_ = LABELS["getattr"]
    pattern = next(c for c in CATEGORIES if c.key == "getattr")
    hits = sum(
        n
        for stack, n in region.items()
        if any(pattern.matches(f) for f in stack) and not any(CLASS_CHECK.match(f) for f in stack)
    )
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


# Stage 5's search: every polygon's center and area from its slice of the columns
# (stage5_columns::Polygons, whose frame the compiler often inlines: then the center's
# and the area's own functions), then stage 4's grid and k-d tree.
SEARCH5 = (
    r"^<?(stage5_columns::Polygons|stage4_grid::(grid|kdtree)"
    r"|common::columns::(area|integer_area|numpy_shoelace)"
    r"|common::(numpy_mean|pairwise_sum|exact_area|largest_abs|ExactSum))\b"
)
NEARLY_ALL = 0.7  # "nearly all", with a wide margin under what the profiles show


def claim_stage5(profile: Profile) -> Claim:
    statement = (
        "stage5: nearly all samples of the call are in the search (every polygon's center "
        "and area, then stage 4's grid and k-d tree): reading the arrays and writing the "
        "two index arrays are a sliver"
    )
    one = claim_one_call(profile)
    timed = profile.timed()
    total = count(timed)
    search = sum(n for s, n in timed.items() if any(re.search(SEARCH5, f) for f in s))
    share = search / max(total, 1)
    evidence = f"{one.evidence}; in the search: {_pct(search, total)} of the timed call"
    return Claim(profile.name, statement, one.holds and share >= NEARLY_ALL, evidence, share)


def _biggest(profile: Profile, key: str, statement: str) -> Claim:
    """``key`` is the biggest item of "where the time goes" in ``profile``'s timed calls."""
    cats = where_time_goes(profile)
    total = sum(cats.values())
    rest = [(k, n) for k, n in cats.most_common() if k != key]
    runner_up = rest[0] if rest else ("nothing", 0)
    evidence = (
        f"{LABELS[key]}: {_pct(cats[key], total)}; the next: "
        f"{LABELS.get(runner_up[0], runner_up[0])} {_pct(runner_up[1], total)}"
    )
    holds = total >= MIN_SAMPLES and cats[key] > runner_up[1]
    return Claim(profile.name, statement, holds, evidence, cats[key] / max(total, 1))


def claim_stage0_select(profile: Profile) -> Claim:
    statement = (
        "stage0: select_best_polygon is under 10% of the call: optimising it is wasted effort"
    )
    cats = where_time_goes(profile)
    total = sum(cats.values())
    evidence = f"{LABELS['select']}: {_pct(cats['select'], total)}"
    holds = total >= MIN_SAMPLES and cats["select"] < 0.10 * total
    return Claim(profile.name, statement, holds, evidence, cats["select"] / max(total, 1))


NUMPY_BORROW = r"^numpy::borrow::|^<?hashbrown::|^std::collections::hash::|_mm_movemask_epi8"


def claim_stage1_biggest(profile: Profile) -> Claim:
    statement = (
        "stage1: extract / cast is the biggest item, and most of it is numpy's registry of "
        "borrowed arrays (numpy::borrow and its hashbrown map)"
    )
    claim = _biggest(profile, "extract", statement)
    extract = {
        s: n
        for s, n in profile.timed().items()
        if classify([f for f in s if not THREAD.match(f)]) == "extract"
    }
    borrow = sum(n for s, n in extract.items() if any(re.search(NUMPY_BORROW, f) for f in s))
    evidence = f"{claim.evidence}; numpy's borrow registry: {_pct(borrow, count(extract))} of it"
    holds = claim.holds and 2 * borrow > count(extract)
    return Claim(profile.name, statement, holds, evidence, claim.share)


def claim_stage1_lost_caller(profile: Profile) -> Claim:
    """py-spy loses the caller of a Rust function that was not inlined (see
    ``rust_called_from``): the frames it calls then sit right under run_pipeline."""
    statement = (
        "stage1: most of the Rust frames sit right under run_pipeline, not under the "
        "stage's find_close_polygons (py-spy lost their caller)"
    )
    region = rust_called_from(profile.timed(), RUN_PIPELINE)
    total = count(region)
    lost = sum(n for s, n in region.items() if not re.match(r"^<?stage\d\w*::", s[0]))
    evidence = f"Rust right under run_pipeline, the stage's function not first: {_pct(lost, total)}"
    holds = total >= MIN_SAMPLES and 2 * lost > total
    return Claim(profile.name, statement, holds, evidence, lost / max(total, 1))


def claim_stage2_biggest(profile: Profile) -> Claim:
    statement = "stage2: the biggest item left is select_best_polygon, still Python"
    return _biggest(profile, "select", statement)


CLAIMS: dict[str, Callable[[Profile], Claim]] = {
    "stage0": claim_stage0,
    "stage0.select": claim_stage0_select,
    "numba": claim_numba,
    "scipy": claim_scipy,
    "stage1": claim_stage1,
    "stage1.biggest": claim_stage1_biggest,
    "stage1.lost_caller": claim_stage1_lost_caller,
    "stage2_alloc": claim_stage2,
    "stage2": claim_stage2,
    "stage2.biggest": claim_stage2_biggest,
    "stage3": claim_one_call,
    "stage4": claim_stage4,
    "stage5": claim_stage5,
}
# Claims that hold on some CPUs only: the walkthrough quotes them with the machines they
# hold on (``claim.KEY.on``). Stage 2's biggest item: select_best_polygon on the AVX2
# EPYC; on an AVX-512 Xeon the Rust library code of the search is as big.
VARIES = {"stage2.biggest"}


def subject_of(key: str) -> str:
    """The profile a claim reads: ``stage2.biggest`` -> ``stage2``."""
    return key.split(".")[0]


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


def keyed_claims_for(profile: Profile) -> list[tuple[str, Callable[[Profile], Claim]]]:
    """The claims that read ``profile``'s stacks (its recorder sees what they need), by key."""
    subject = profile.meta.get("subject", profile.name)
    if profile.recorder == "samply":
        return [(f"samply.{subject}", SAMPLY_CLAIMS[subject])] if subject in SAMPLY_CLAIMS else []
    return [(key, check) for key, check in CLAIMS.items() if subject_of(key) == subject]


# --- every reference set ------------------------------------------------------------------


def set_claims(folder: Path) -> dict[str, Claim]:
    """Every claim checked on one set of profiles (py-spy's in ``folder``, samply's in
    ``folder/samply``): ``{key: Claim}``, the keys as in ``CLAIMS`` (samply's ``samply.X``)."""
    out = {}
    for where in (folder, folder / "samply"):
        for folded in sorted(where.glob("*.folded")):
            prof = Profile.read(folded)
            for key, check in keyed_claims_for(prof):
                out[key] = check(prof)
    return out


def claims_on_sets(found: list[tuple[str, str, Path]]) -> dict[str, dict[str, Claim]]:
    """``{claim key: {set name: Claim}}`` over ``(name, CPU, profiles folder)`` sets."""
    table: dict[str, dict[str, Claim]] = {}
    for name, _, folder in found:
        for key, claim in set_claims(folder).items():
            table.setdefault(key, {})[name] = claim
    return table


def claim_values(
    found: list[tuple[str, str, Path]], counts: Callable[[str, str], bool] = lambda *_: True
) -> dict[str, str]:
    """``claim.KEY.on`` (``.on_ko``): the machines a claim holds on, as the docs say it,
    among the sets that ``counts(set name, claim key)`` (all of them where none does)."""
    cpus = {name: cpu for name, cpu, _ in found}
    out = {}
    for key, by_set in claims_on_sets(found).items():
        counted = {name: c for name, c in by_set.items() if counts(name, key)} or by_set
        holding = [cpus[name] for name, claim in counted.items() if claim.holds]
        if len(holding) == len(counted):
            on, on_ko = "every machine measured", "측정한 모든 머신"
        elif holding:
            on = on_ko = "; ".join(holding)
        else:
            on, on_ko = "no machine measured", "측정한 머신 중 없음"
        out[f"claim.{key}.on"], out[f"claim.{key}.on_ko"] = on, on_ko
    return out


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
