"""``workshop new``: a PyO3 + maturin crate for one function of your script, in your folder.

    workshop new rolling.py zscore              # ./zscore_rs/
    workshop new rolling.py zscore --name fast_zscore --out ../rust

The next step after ``workshop profile`` showed which function is hot. The crate has the
workshop's conventions: PyO3 0.30 and numpy 0.30 at the versions the workshop pins (its
Cargo.lock is the new one's start), a ``[profile.profiling]`` (release plus debug info, so
py-spy names your Rust), a plain ``#[pyfunction]`` whose arguments are checked with errors
that name them, the function to write as plain Rust under it with a Ctrl-C check for its
loop, a pytest that compares it with your Python function, and a bench of the two side by
side. The Rust is yours to write: until then its test fails, saying where.

The Rust types come from the function's annotations (the script is read, not run): see
``KNOWN``. A parameter without one of them is refused with that list: annotate it first.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from workshop import REPO, shown

TEMPLATES = Path(__file__).with_name("templates") / "crate"
KNOWN = """\
  annotation                                the Rust function takes
  float, int, bool, str                     f64, i64, bool, &str
  tuple[float, float] (of those)            (f64, f64)
  list[float], Sequence[int], np.ndarray,   &[f64] or &[i64], read through numpy
    NDArray[np.float64] (1-D)
  list[tuple[float, float]],                ArrayView2<f64>, rows of 2 (or any number)
    list[list[float]] (2-D)
  -> any of those, None, list[...] of them  what it returns (np.ndarray: an array)"""
SCALARS = {"float": "f64", "int": "i64", "bool": "bool", "str": "String"}
EXAMPLES = {
    "float": "rng.uniform(0.0, 10.0)",
    "int": "rng.randint(1, 10)",
    "bool": "rng.random() < 0.5",
    "str": '"abc"',
}
ITEM_EXAMPLES = {"float": "rng.uniform(0.0, 100.0)", "int": "rng.randint(0, 100)"}


class Unsupported(Exception):
    """An annotation the crate cannot turn into a Rust type."""


# --- the annotations, read -------------------------------------------------------------------


def dotted(node: ast.expr) -> str:
    """``np.ndarray`` -> ``ndarray``, ``typing.List`` -> ``list``: the last name, lower case
    for the typing aliases."""
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Constant) and node.value is None:
        return "None"
    else:
        raise Unsupported(ast.unparse(node))
    aliases = {"List": "list", "Tuple": "tuple", "Sequence": "list", "Iterable": "list"}
    aliases |= {"MutableSequence": "list", "NDArray": "ndarray", "float64": "float"}
    aliases |= {"int64": "int", "float_": "float", "int_": "int"}
    return aliases.get(name, name)


@dataclass(frozen=True)
class Kind:
    """What a Python annotation becomes: ``shape`` scalar | tuple | 1d | 2d | ndarray1d |
    none; ``item`` the scalar type (float, int, ...) or tuple of them; ``width`` the row's
    width of a 2-D array when the annotation fixes it."""

    shape: str
    item: str | tuple[str, ...]
    width: int | None = None


def kind_of(node: ast.expr | None) -> Kind:
    if node is None:
        raise Unsupported("no annotation")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return kind_of(ast.parse(node.value, mode="eval").body)  # a string annotation
    if not isinstance(node, ast.Subscript):
        name = dotted(node)
        if name in SCALARS:
            return Kind("scalar", name)
        if name == "ndarray":
            return Kind("ndarray1d", "float")
        if name == "None":
            return Kind("none", "")
        raise Unsupported(ast.unparse(node))
    base = dotted(node.value)
    args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
    if base == "tuple":
        items = tuple(kind_of(a) for a in args if not isinstance(a, ast.Constant))
        if items and all(k.shape == "scalar" for k in items) and len(items) == len(args):
            return Kind("tuple", tuple(str(k.item) for k in items))
        raise Unsupported(ast.unparse(node))
    if base == "ndarray":  # NDArray[np.float64]; np.ndarray[Any, np.dtype[np.float64]]
        inner = ast.unparse(node.slice)
        return Kind("ndarray1d", "int" if "int" in inner else "float")
    if base == "list" and len(args) == 1:
        inner = kind_of(args[0])
        if inner.shape == "scalar" and inner.item in ("float", "int"):
            return Kind("1d", inner.item)
        if inner.shape == "tuple" and len(set(inner.item)) == 1 and inner.item[0] != "str":
            return Kind("2d", inner.item[0], len(inner.item))
        if inner.shape == "1d":
            return Kind("2d", inner.item)
        if inner.shape in ("scalar", "tuple"):
            return Kind("list", inner.item)  # list[str], list[tuple[int, float]]: results
    raise Unsupported(ast.unparse(node))


def rust_scalar(item: str | tuple[str, ...], borrowed: bool = False) -> str:
    if isinstance(item, tuple):
        return f"({', '.join(rust_scalar(i) for i in item)})"
    return "&str" if borrowed and item == "str" else SCALARS[item]


# --- the function, read ------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    default: str | None  # as Rust in pyo3's signature, or None
    keyword_only: bool = False

    @property
    def is_array(self) -> bool:
        return self.kind.shape in ("1d", "2d", "ndarray1d")

    @property
    def rust_item(self) -> str:
        return SCALARS[str(self.kind.item)]

    def py_type(self) -> str:
        """The pyfunction's parameter: numbers by value, arrays as any Python object."""
        if self.is_array:
            return "&Bound<'py, PyAny>"
        return rust_scalar(self.kind.item)

    def core_type(self) -> str:
        if self.kind.shape == "2d":
            return f"ArrayView2<'_, {self.rust_item}>"
        if self.is_array:
            return f"&[{self.rust_item}]"
        return rust_scalar(self.kind.item, borrowed=True)

    def read(self) -> list[str]:
        """The pyfunction's lines that turn the argument into what the Rust takes."""
        if not self.is_array:
            return []
        dims = "Ix2" if self.kind.shape == "2d" else "Ix1"
        lines = [
            f'let {self.name} = array::<{self.rust_item}, {dims}>("{self.name}", {self.name})?;'
        ]
        if self.kind.width:
            lines.append(f'columns("{self.name}", &{self.name}, {self.kind.width})?;')
        return lines

    def core_arg(self) -> str:
        if self.kind.shape == "2d":
            return f"{self.name}.as_array()"
        if self.is_array:
            return f"{self.name}.as_slice()?"
        return f"&{self.name}" if self.kind.item == "str" else self.name

    def example(self) -> str:
        kind = self.kind
        if kind.shape == "scalar":
            return EXAMPLES[str(kind.item)]
        if kind.shape == "tuple":
            items = [EXAMPLES[i] for i in kind.item]
            return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
        item = ITEM_EXAMPLES[str(kind.item)]
        if kind.shape == "2d":
            row = (
                f"({', '.join([item] * kind.width)})"
                if kind.width
                else f"[{item} for _ in range(3)]"
            )
            return f"[{row} for _ in range(size)]"
        values = f"[{item} for _ in range(size)]"
        return f"np.array({values})" if kind.shape == "ndarray1d" else values

    def bad_value(self) -> str:
        """A value the Rust refuses, naming this parameter."""
        return "12345" if self.kind.item == "str" else '"not a number"'


@dataclass(frozen=True)
class Returns:
    kind: Kind

    def core_type(self) -> str:
        shape, item, width = self.kind.shape, self.kind.item, self.kind.width
        if shape == "none":
            return "()"
        if shape in ("scalar", "tuple"):
            return rust_scalar(item)
        if shape == "list":
            return f"Vec<{rust_scalar(item)}>"
        if shape in ("1d", "ndarray1d"):
            return f"Vec<{SCALARS[str(item)]}>"
        row = rust_scalar(tuple([str(item)] * width)) if width else f"Vec<{SCALARS[str(item)]}>"
        return f"Vec<{row}>"  # 2-D: a list of tuples (or of lists)

    def py_type(self) -> str:
        if self.kind.shape == "ndarray1d":
            return f"Bound<'py, PyArray1<{SCALARS[str(self.kind.item)]}>>"
        return self.core_type()


@dataclass(frozen=True)
class Function:
    name: str
    source: Path
    line: int
    text: str
    params: list[Param]
    returns: Returns


def rust_string(text: str) -> str:
    """``text`` as a Rust string literal."""
    escaped = "".join(
        f"\\u{{{ord(c):x}}}" if not c.isprintable() else "\\" + c if c in '"\\' else c for c in text
    )
    return f'"{escaped}"'


def constant_default(node: ast.expr, kind: Kind) -> str:
    """A default value as Rust in pyo3's ``signature``: a number, a bool, a string."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return "-" + constant_default(node.operand, kind)
    if isinstance(node, ast.Constant) and kind.shape == "scalar":
        value = node.value
        if isinstance(value, bool) and kind.item == "bool":
            return "true" if value else "false"
        if isinstance(value, int | float) and not isinstance(value, bool):
            if kind.item == "float":
                return repr(float(value))
            if kind.item == "int" and isinstance(value, int):
                return str(value)
        if isinstance(value, str) and kind.item == "str":
            return f"String::from({rust_string(value)})"
    raise Unsupported(f"the default {ast.unparse(node)}")


def read_function(source: Path, name: str) -> Function:
    """``name``'s signature and source from ``source``, which is parsed, not run."""
    text = source.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(source))
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    if not found:
        defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        raise SystemExit(
            f"workshop: {shown(source)} has no top-level function {name!r}"
            f" (it has: {', '.join(defined) or 'none'})"
        )
    fn = found[-1]
    args = fn.args
    if args.vararg or args.kwarg or args.posonlyargs:
        raise SystemExit(
            f"workshop: {name}: *args, **kwargs and positional-only parameters stay in Python"
        )
    unsupported = []
    params = []
    positional = args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    named = [(a, d, False) for a, d in zip(positional, defaults, strict=True)]
    named += [(a, d, True) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    for arg, default, keyword_only in named:
        try:
            kind = kind_of(arg.annotation)
            if kind.shape in ("none", "list"):
                raise Unsupported(ast.unparse(arg.annotation))  # type: ignore[arg-type]
            value = None if default is None else constant_default(default, kind)
            params.append(Param(arg.arg, kind, value, keyword_only))
        except Unsupported as why:
            unsupported.append(f"{arg.arg}: {why}")
    try:
        returns = Returns(kind_of(fn.returns) if fn.returns is not None else Kind("none", ""))
        returns.core_type()
    except Unsupported as why:
        unsupported.append(f"the result: {why}")
    if unsupported:
        raise SystemExit(
            f"workshop: {name} ({shown(source)}, line {fn.lineno}) needs annotations the crate "
            "can turn into Rust types; these have none it knows:\n  "
            + "\n  ".join(unsupported)
            + f"\nwhat it knows:\n{KNOWN}"
        )
    segment = ast.get_source_segment(text, fn, padded=True) or ""
    first = fn.decorator_list[0].lineno if fn.decorator_list else fn.lineno
    lines = text.splitlines()[first - 1 : fn.end_lineno]
    return Function(
        name, source, fn.lineno, "\n".join(lines) or segment, params, Returns(returns.kind)
    )


# --- the crate, written -----------------------------------------------------------------------


WIDTH = 100  # rustfmt's max_width


def rust_list(head: str, items: list[str], tail: str, indent: str = "", fill: bool = False) -> str:
    """``head item, item tail`` on one line if it fits rustfmt's width, else as rustfmt
    breaks it: one item per line (a signature, a call, a tuple) or, with ``fill``, as many
    per line as fit (a ``use`` list)."""
    line = f"{indent}{head}{', '.join(items)}{tail}"
    if len(line) <= WIDTH:
        return line
    inner = indent + "    "
    if not fill:
        body = "".join(f"{inner}{item},\n" for item in items)
        return f"{indent}{head}\n{body}{indent}{tail}"
    rows, row = [], ""
    for item in items:
        word = f"{item},"
        if row and len(inner) + len(row) + 1 + len(word) > WIDTH:
            rows.append(row)
            row = word
        else:
            row = f"{row} {word}" if row else word
    rows.append(row)
    body = "".join(f"{inner}{r}\n" for r in rows)
    return f"{indent}{head}\n{body}{indent}{tail}"


def rust_comment(python: str) -> str:
    """The Python as ``//`` comment lines, indented as a block inside the function."""
    lines = python.expandtabs(8).splitlines()
    return "\n".join(f"    //     {line}".rstrip() for line in lines)


def lib_rs(fn: Function, crate: str) -> str:
    arrays = any(p.is_array for p in fn.params)
    two_d = any(p.kind.shape == "2d" for p in fn.params)
    widths = any(p.kind.width for p in fn.params)
    array_out = fn.returns.kind.shape == "ndarray1d"
    uses = []
    if arrays:
        dims = sorted({"Ix2" if p.kind.shape == "2d" else "Ix1" for p in fn.params if p.is_array})
        view = ["ArrayView2"] if two_d else []
        uses.append(
            rust_list("use numpy::ndarray::{", [*view, "Dimension", *dims], "};", fill=True)
        )
        numpy_names = ["Element", "PyArray", *(["PyArray1"] if array_out else [])]
        numpy_names += ["PyArrayDescrMethods", "PyArrayMethods"]
        numpy_names += ["PyReadonlyArray", *(["PyReadonlyArray2"] if widths else [])]
        numpy_names += ["PyUntypedArray", "PyUntypedArrayMethods", "dtype"]
        uses.append(rust_list("use numpy::{", numpy_names, "};", fill=True))
        uses.append("use pyo3::exceptions::{PyTypeError, PyValueError};")
    elif array_out:
        uses.append("use numpy::PyArray1;")
    uses.append("use pyo3::prelude::*;")

    signature = []
    for p in fn.params:
        if p.keyword_only and "*" not in signature:
            signature.append("*")
        signature.append(p.name if p.default is None else f"{p.name} = {p.default}")
    py_params = ["py: Python<'py>", *(f"{p.name}: {p.py_type()}" for p in fn.params)]
    py_fn = rust_list(
        f"fn {fn.name}_py<'py>(", py_params, f") -> PyResult<{fn.returns.py_type()}> {{"
    )
    args = [*(p.core_arg() for p in fn.params), "|| py.check_signals()"]
    body = [f"    {line}" for p in fn.params for line in p.read()]
    if array_out:
        body.append(rust_list(f"let result = {fn.name}(", args, ")?;", indent="    "))
        body.append("    Ok(PyArray1::from_vec(py, result))")
    else:
        body.append(rust_list(f"{fn.name}(", args, ")", indent="    "))
    core_params = [f"{p.name}: {p.core_type()}" for p in fn.params]
    core_params.append("mut check: impl FnMut() -> PyResult<()>")
    core_fn = rust_list(
        f"pub fn {fn.name}(", core_params, f") -> PyResult<{fn.returns.core_type()}> {{"
    )
    unused = [p.name for p in fn.params] + ["&mut check"]
    text = Template((TEMPLATES / "lib.rs.tmpl").read_text()).substitute(
        function=fn.name,
        source=shown_name(fn.source.name),
        crate=crate,
        uses="\n".join(uses),
        signature=", ".join(signature),
        py_fn=py_fn,
        body="\n".join(body),
        core_fn=core_fn,
        python=rust_comment(fn.text),
        unused=rust_list("let _ = (", unused, ");", indent="    "),
    )
    if arrays:
        text += (TEMPLATES / "arrays.rs.tmpl").read_text()
    if widths:
        text += (TEMPLATES / "columns.rs.tmpl").read_text()
    return text


def shown_name(name: str) -> str:
    """A file name for a comment or a line of prose: control characters (a newline would end
    a comment) as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in name)


def python_literal(text: str) -> str:
    """``text`` as a Python (or TOML) string literal: JSON's escapes are both's."""
    return json.dumps(text, ensure_ascii=False)


def write_crate(fn: Function, folder: Path, crate: str) -> list[Path]:
    """Every file of the crate in ``folder`` (which must not exist yet)."""
    needs_numpy = any(p.is_array for p in fn.params) or fn.returns.kind.shape == "ndarray1d"
    numpy_example = any(p.kind.shape == "ndarray1d" for p in fn.params)
    relative = Path(os.path.relpath(fn.source.resolve(), folder.resolve())).as_posix()
    values = {
        "function": fn.name,
        "crate": crate,
        "package": crate.replace("_", "-"),
        "source": shown_name(fn.source.name),
        "description": python_literal(shown_name(f"{fn.name} from {fn.source.name}, in Rust")),
        "line": str(fn.line),
        "numpy_dependency": 'numpy = "0.30.0"\n' if needs_numpy else "",
        "python_dependencies": '"numpy>=1.26"' if needs_numpy else "",
        "numpy_import": "\nimport numpy as np\n" if numpy_example else "",
        "relative_source": python_literal(relative),
        "module_name": python_literal(fn.source.stem),
        "example_arguments": "\n".join(
            f"        {python_literal(p.name)}: {p.example()}," for p in fn.params
        ),
        "rust_arguments": ", ".join(f"{p.name}: {p.core_type()}" for p in fn.params) or "none",
        "first": fn.params[0].name if fn.params else "",
        "bad_value": fn.params[0].bad_value() if fn.params else "None",
    }
    files = {
        "Cargo.toml": "Cargo.toml.tmpl",
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        ".gitignore": "gitignore.tmpl",
        "example.py": "example.py.tmpl",
        f"test_{fn.name}.py": "test.py.tmpl",
        "bench.py": "bench.py.tmpl",
    }
    folder.mkdir(parents=True)
    written = []
    for name, template in files.items():
        if name.startswith("test_") and not fn.params:
            text = Template((TEMPLATES / template).read_text()).substitute(values)
            text = text[: text.index("\n\ndef test_a_bad_argument_is_named")] + "\n"
        else:
            text = Template((TEMPLATES / template).read_text()).substitute(values)
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    (folder / "src").mkdir()
    (folder / "src" / "lib.rs").write_text(lib_rs(fn, crate), encoding="utf-8")
    written.append(folder / "src" / "lib.rs")
    # The workshop's lock: the versions it was tested with (cargo drops what is not used).
    if (REPO / "Cargo.lock").exists():
        shutil.copy(REPO / "Cargo.lock", folder / "Cargo.lock")
    tidy(folder)
    return written


def tidy(folder: Path) -> None:
    """The lock cut down to this crate's dependencies, where cargo is installed (it is, to
    build the crate); offline: nothing is downloaded here."""
    manifest = folder / "Cargo.toml"
    command = ["cargo", "metadata", "--offline", "--format-version", "1", "--manifest-path"]
    if shutil.which("cargo"):
        subprocess.run([*command, str(manifest)], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="workshop new",
        description=f"{__doc__}\n{KNOWN}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("script", type=Path, help="the Python file that holds the function")
    parser.add_argument("function", help="the function's name (a top-level def)")
    parser.add_argument("--name", help="the crate and its Python module (default: FUNCTION_rs)")
    parser.add_argument("--out", type=Path, default=Path("."), help="where the crate's folder goes")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    crate = args.name or f"{args.function}_rs"
    if not crate.isidentifier():
        print(f"workshop: {crate!r} is not a module name (letters, digits, _)", file=sys.stderr)
        return 2
    folder = args.out / crate
    if folder.exists():
        print(f"workshop: {shown(folder)} exists; --name or --out another", file=sys.stderr)
        return 2
    try:
        if not args.script.is_file():
            raise SystemExit(f"workshop: can't open file {str(args.script.absolute())!r}")
        fn = read_function(args.script, args.function)
    except SyntaxError as err:
        print(f"workshop: {shown(args.script)}: {err}", file=sys.stderr)
        return 2
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    write_crate(fn, folder, crate)
    where = shown(folder)
    print(f"workshop: wrote {where}/ for {fn.name} ({shown(fn.source)}, line {fn.line}):")
    notes = {
        "src/lib.rs": f"the Rust to write: fn {fn.name} (your Python is in its comment)",
        "example.py": "arguments for both versions: make them like your script's",
        f"test_{fn.name}.py": "pytest: Rust's answer against your Python's",
        "bench.py": "the two timed side by side",
    }
    for name, note in notes.items():
        print(f"  {name:<{max(map(len, notes))}}  {note}")
    print(
        "next, with the venv you run your script in active (maturin and pytest in it):\n"
        f"  cd {where}\n"
        "  maturin develop      # optimised, with debug info, into that venv\n"
        "  pytest               # fails until the Rust is written, then compares\n"
        "  python bench.py"
    )
    return 0


# --- the workshop's own checks: `make lint`, tests/test_newcrate.py ----------------------

EXAMPLE = REPO / "docs" / "profile_me.py"
ANSWER = REPO / "docs" / "profile_me_answer.rs"
START, END = "    // ---- your port: start.", "    // ---- your port: end.\n"


def walkthrough_answer(path: Path = ANSWER) -> str:
    """The body of ``close_counts_loop`` the wrap-up links to: docs/profile_me_answer.rs
    without its header comment."""
    lines = path.read_text().splitlines(keepends=True)
    body = "".join(lines[next(i for i, line in enumerate(lines) if not line.startswith("//")) :])
    if not body.strip():
        raise SystemExit(f"{shown(path)}: no code after the header comment")
    return body


def with_answer(lib: Path, body: str) -> None:
    """``lib`` (a written crate's src/lib.rs) with ``body`` between the markers, them included."""
    text = lib.read_text()
    start, end = text.index(START), text.index(END) + len(END)
    lib.write_text(text[:start] + body + text[end:])


def shared_build(folder: Path) -> dict[str, str]:
    """Build a written crate against this checkout's target/: the environment for cargo and
    maturin (the Makefile's PYO3_* values, so pyo3's build script does not run again), and
    the stages' feature pins (stages/workspace-hack) added to its Cargo.toml, without which
    proc-macro2's features differ and pyo3 and numpy compile once more."""
    manifest = folder / "Cargo.toml"
    hack = (REPO / "stages" / "workspace-hack").as_posix()
    text = manifest.read_text().replace(
        "[dependencies]\n", f'[dependencies]\nworkspace-hack = {{ path = "{hack}" }}\n', 1
    )
    manifest.write_text(text)
    python = REPO / ".venv" / "bin" / "python"
    v, bits = sys.version_info, 8 * struct.calcsize("P")
    return {
        **os.environ,
        "CARGO_TARGET_DIR": str(REPO / "target"),
        "VIRTUAL_ENV": str(python.parent.parent),
        "PYO3_PYTHON": str(python),
        "PYO3_BUILD_EXTENSION_MODULE": "1",
        "PYO3_ENVIRONMENT_SIGNATURE": f"{sys.implementation.name}-{v[0]}.{v[1]}-{bits}bit",
    }


def lint(tmp: Path = REPO / "build" / "new-crate-lint") -> int:
    """`make lint`: the crate written for docs/profile_me.py's ``close_counts_loop`` passes
    rustfmt and clippy -D warnings as written, and with the walkthrough's answer in it."""
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    folder = tmp / "close_counts_loop_rs"
    write_crate(read_function(EXAMPLE, "close_counts_loop"), folder, folder.name)
    env = shared_build(folder)
    manifest = ["--manifest-path", str(folder / "Cargo.toml")]
    for state in ("as written", "with the walkthrough's answer"):
        if state != "as written":
            with_answer(folder / "src" / "lib.rs", walkthrough_answer())
        for check in (["fmt", "--check"], ["clippy", "--quiet", "--all-targets"]):
            extra = ["--", "-D", "warnings"] if check[0] == "clippy" else []
            done = subprocess.run(["cargo", *check, *manifest, *extra], env=env, check=False)
            if done.returncode != 0:
                print(f"workshop new: the crate {state} fails cargo {check[0]}", file=sys.stderr)
                return 1
    print("workshop new: its crate passes rustfmt and clippy, as written and answered")
    return 0


if __name__ == "__main__":
    sys.exit(lint() if sys.argv[1:] == ["--lint"] else main())
