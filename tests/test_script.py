"""`workshop profile`: a reader's own script, profiled from the folder they stand in.

The command runs as a reader runs it (``python -m workshop profile ...`` in a subprocess,
in their folder), with py-spy, and with samply where it is installed and allowed. The
names it is fed hold what HTML, SVG, JSON and a shell read as syntax: ``< > & ' "``, a
folder named ``</script>`` and non-ASCII text, in the script's path and its arguments;
what comes out must hold them as text. The first tests check the parts on their own:
where a frame's code comes from, which row a sample counts for, the JSON for the page.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workshop import REPO, analyse, compare, draw, script, stacks
from workshop.stacks import Profile

IN_CI = bool(os.environ.get("CI"))
SVG = "{http://www.w3.org/2000/svg}"
# A folder and a file name that are markup, quotes, a shell's syntax and non-ASCII at once.
HOSTILE_DIR = "we<ir>d & \"q\" 'x' </script> ü"
HOSTILE_FILE = "my <b>&'\"ü;x.py"
HOSTILE_ARGS = ["</script><b>", "&amp;", "'\"", "ü $(touch pwned) ;"]
LOOP = """\
import sys


def busy_loop(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


print("args:", sys.argv[1:])
busy_loop(int(sys.argv[1]) if sys.argv[1:2] and sys.argv[1].isdigit() else 1_500_000)
"""


def skip_or_fail(why: str) -> None:
    if IN_CI:
        pytest.fail(why)
    pytest.skip(why)


def workshop(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``workshop ARGS`` in ``cwd``, as a reader runs it; skipped where py-spy may not."""
    done = subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode == 2 and ("SYS_PTRACE" in done.stderr or "perf_event" in done.stderr):
        skip_or_fail(done.stderr)
    return done


def page_data(index: Path) -> dict:
    text = index.read_text()
    return json.loads(re.search(r'id="page-data">(.*?)</script>', text, re.S).group(1))


class Text(html.parser.HTMLParser):
    """The text a browser shows, and the elements it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data) -> None:
        self.text.append(data)


# --- the parts ----------------------------------------------------------------------------


def test_where_a_frames_code_comes_from() -> None:
    roots = [Path("/home/me/project")]
    site = "/home/me/project/.venv/lib/python3.11/site-packages"
    cases = {
        ("/home/me/project/rolling.py", ""): "own:rolling.py",
        ("/home/me/project/lib/stats.py", ""): "own:lib/stats.py",
        (f"{site}/numpy/linalg/_linalg.py", ""): "library:numpy",
        (f"{site}/numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so", ""): (
            "library:numpy"
        ),
        (f"{site}/numpy.libs/libscipy_openblas64_-fdd0.so", ""): "library:numpy",
        (f"{site}/six.py", ""): "library:six",
        ("/usr/lib/python3.11/random.py", ""): "python",
        ("<frozen importlib._bootstrap>", ""): "python",
        ("<frozen codecs>", ""): "python",
        ("[vdso]", ""): "native:[vdso]",
        ("/tmp/python-build/Python-3.11.7/Modules/mathmodule.c", ""): "python",
        ("/usr/lib/x86_64-linux-gnu/libc.so.6", ""): "native:libc.so.6",
        ("/home/me/.cargo/registry/src/index.crates.io-x/pyo3-0.30.1/src/instance.rs", ""): (
            "native:pyo3 (Rust)"
        ),
        ("/rustc/0123abcd/library/core/src/iter/range.rs", ""): "native:Rust std",
        # your crate, installed in site-packages, with debug info: its source is yours
        ("/home/me/project/fast_rs/src/lib.rs", f"{site}/fast_rs/fast_rs.so"): (
            "own:fast_rs/src/lib.rs"
        ),
        ("", "/usr/bin/python3.11"): "python",
        ("?", ""): "native:unknown",
        ("<string>", ""): analyse.LAUNCH,
        ("<frozen runpy>", ""): analyse.LAUNCH,
    }
    for (file, library), key in cases.items():
        assert analyse.origin(file, library, roots).key == key, (file, library)
    # the interpreter's C, the C library and Rust's std count for their caller
    passes = [("/usr/lib/x86_64-linux-gnu/libc.so.6", ""), ("", "/usr/bin/python3.11")]
    passes += [("<frozen importlib._bootstrap_external>", ""), ("[vdso]", "")]
    assert all(analyse.origin(f, lib, roots).passes for f, lib in passes)
    assert not analyse.origin("/home/me/project/rolling.py", "", roots).passes
    assert not analyse.origin("<frozen codecs>", "", roots).passes


def test_a_sample_counts_for_its_innermost_own_frame() -> None:
    origins = {
        "main (rolling.py:3)": ["own:rolling.py", False],
        "zscore (rolling.py:9)": ["own:rolling.py", False],
        "math_hypot (mathmodule.c:10)": ["python", True],
        "mean (numpy/_core/_methods.py:1)": ["library:numpy", False],
        "umath_add (_multiarray_umath.so)": ["library:numpy", False],
        "malloc (libc.so.6)": ["native:libc.so.6", True],
        "gc_collect_main (libpython3.11.so)": ["python", True],
    }
    count = analyse.script_category
    # math.hypot on your line is your line's time; numpy's C under your line is numpy's
    assert count(["main (rolling.py:3)", "math_hypot (mathmodule.c:10)"], origins) == (
        "own:rolling.py"
    )
    assert count(["zscore (rolling.py:9)", "umath_add (_multiarray_umath.so)"], origins) == (
        "library:numpy"
    )
    assert count(["umath_add (_multiarray_umath.so)", "malloc (libc.so.6)"], origins) == (
        "library:numpy"
    )
    # machinery alone: the interpreter when it is there, else the innermost frame's row
    assert count(["gc_collect_main (libpython3.11.so)", "malloc (libc.so.6)"], origins) == (
        "python"
    )
    assert count(["malloc (libc.so.6)"], origins) == "native:libc.so.6"
    # an import is the imported package's time, finding it on disk the importing line's
    origins |= {
        "_find_and_load (<frozen importlib._bootstrap>:1)": ["python", True],
        "<module> (numpy/__init__.py:1)": ["library:numpy", False],
    }
    importing = ["main (rolling.py:3)", "_find_and_load (<frozen importlib._bootstrap>:1)"]
    assert count([*importing, "<module> (numpy/__init__.py:1)"], origins) == "library:numpy"
    assert count(importing, origins) == "own:rolling.py"


def test_the_page_data_cannot_end_its_script_element() -> None:
    data = {"title": "</script><script>alert(1)</script> <!-- & ü", "x": "'\""}
    text = compare.script_json(data)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data


def test_a_frame_name_keeps_to_one_folded_line() -> None:
    assert script.safe_frame("f (a;b\nc.py:1)") == "f (a,b?c.py:1)"
    assert stacks.parse_folded([f"{script.safe_frame('x;y')};z 3"]) == [(["x,y", "z"], 3)]


def test_the_options_are_ours_and_the_rest_is_the_scripts() -> None:
    split = script.split_argv
    assert split(["--out", "o", "run.py", "--out", "x", "-m", "y"]) == (
        ["--out", "o"],
        None,
        ["run.py", "--out", "x", "-m", "y"],
    )
    assert split(["--profiler", "samply", "-m", "pkg.cli", "--fast"]) == (
        ["--profiler", "samply"],
        "pkg.cli",
        ["--fast"],
    )
    assert split(["--", "-odd-name.py", "a"]) == ([], None, ["-odd-name.py", "a"])


# --- the command, end to end --------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, list[subprocess.CompletedProcess[str]]]:
    """Two runs of a script whose folder, file name and arguments are hostile, from its folder."""
    folder = tmp_path_factory.mktemp("reader") / HOSTILE_DIR
    folder.mkdir(parents=True)  # "</script>" is two folders: "...<" and "script> ü"
    (folder / HOSTILE_FILE).write_text(LOOP)
    runs = [workshop("profile", HOSTILE_FILE, *HOSTILE_ARGS, cwd=folder) for _ in range(2)]
    return folder, runs


def test_a_script_runs_where_you_stand_and_prints_there(hostile) -> None:
    folder, runs = hostile
    for done in runs:
        assert done.returncode == 0, done.stderr
        # the script's own output, its arguments as typed (no shell read them)
        assert f"args: {HOSTILE_ARGS}" in done.stdout
        assert "py-spy>" not in done.stdout + done.stderr  # the recorder's chatter stays in
    assert not (folder / "pwned").exists()
    results = folder / "profiles" / script.folder_name(Path(HOSTILE_FILE).stem)
    assert sorted(p.name for p in results.glob("run*.folded")) == ["run1.folded", "run2.folded"]
    assert "-> profiles/" in runs[1].stderr and "index.html" in runs[1].stderr


def test_hostile_names_are_text_in_the_page_the_graphs_and_the_data(hostile) -> None:
    folder, _ = hostile
    results = folder / "profiles" / script.folder_name(Path(HOSTILE_FILE).stem)
    index = results / "index.html"
    page = index.read_text()
    # the page's own two script elements are the only ones
    assert page.count("</script>") == 2 and page.count("<script") == 2
    parsed = Text()
    parsed.feed(page)
    assert parsed.tags.count("script") == 2
    shown = "".join(parsed.text)  # a name shown as text was escaped: no tag took it
    assert HOSTILE_FILE in shown and HOSTILE_DIR in shown
    data = page_data(index)
    for run in ("run1", "run2"):  # the command, quoted as a shell would need it
        title = data["graphs"][run]["title"]
        assert shlex.split(title.partition(": ")[2]) == [HOSTILE_FILE, *HOSTILE_ARGS]
    for svg in results.glob("*.svg"):
        tree = ET.parse(svg)  # well-formed XML: every name escaped
        titles = "".join(t.text or "" for t in tree.iter(f"{SVG}title"))
        if svg.name.startswith("run"):
            assert f"busy_loop ({script.safe_frame(HOSTILE_FILE)})" in titles, svg.name
    meta = json.loads((results / "run1.meta.json").read_text())
    assert meta["script"].startswith("'my <b>&") and HOSTILE_ARGS[3] in meta["script"]


def test_the_page_speaks_of_the_script(hostile) -> None:
    folder, _ = hostile
    results = folder / "profiles" / script.folder_name(Path(HOSTILE_FILE).stem)
    page = (results / "index.html").read_text()
    for stage_words in ("vs stage0", "stage crate", "run_pipeline", "claims", "timed calls"):
        assert stage_words not in page
    assert "Each graph is the whole run" in page and "imports included" in page
    assert "vs run1" in page and "diff-run1-run2.svg" in page
    assert page_data(results / "index.html")["steps"] == ["run1|run2"]
    # your function is drawn in your code's colour
    svg = ET.parse(results / "run2.svg")
    box = f"busy_loop ({script.safe_frame(HOSTILE_FILE)}) ("
    fills = [
        g.find(f"{SVG}rect").get("fill")
        for g in svg.iter(f"{SVG}g")
        if (g.findtext(f"{SVG}title") or "").startswith(box)
    ]
    own = draw.family_rgb("own", box[:-2], analyse.SCRIPT_FAMILIES)
    assert fills and set(fills) == {"rgb({},{},{})".format(*own)}, fills
    # your loop is your code's row, by far: a share of samples with a wide margin
    prof = Profile.read(results / "run2.folded")
    shares = analyse.script_shares(prof)
    assert shares[f"own:{HOSTILE_FILE}"] > 0.5 * sum(shares.values()), shares


def test_one_run_is_one_graph(tmp_path: Path) -> None:
    (tmp_path / "once.py").write_text(LOOP)
    done = workshop("profile", "once.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "profiles" / "once" / "index.html").read_text()
    assert page.count("<iframe") == 1 and 'id="controls"' not in page
    assert "the next run is drawn beside this one" in page


def test_a_failing_script_exits_with_its_status_and_its_own_traceback(tmp_path: Path) -> None:
    (tmp_path / "bug.py").write_text(
        'print("before the bug")\nsum(i for i in range(300_000))\nraise ValueError("my bug")\n'
    )
    (tmp_path / "three.py").write_text("import sys\nsys.exit(3)\n")
    done = workshop("profile", "bug.py", cwd=tmp_path)
    assert done.returncode == 1
    assert "before the bug" in done.stdout
    assert 'File "' in done.stderr and 'bug.py", line 3' in done.stderr
    assert "ValueError: my bug" in done.stderr
    for launcher in ("<string>", "runpy", "py-spy>", "backtrace"):
        assert launcher not in done.stderr
    assert not re.search(r"(?m)^Error:", done.stderr)  # a recorder's error line
    assert "no run kept" in done.stderr
    assert not list((tmp_path / "profiles").glob("*/run*.folded"))
    assert workshop("profile", "three.py", cwd=tmp_path).returncode == 3
    missing = workshop("profile", "missing.py", cwd=tmp_path)
    assert missing.returncode == 2 and "missing.py" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_module_and_your_own_interpreter(tmp_path: Path) -> None:
    venv = tmp_path / "own-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text(
        "import sys\nprint('under', sys.executable, sys.argv[1:])\n" + LOOP.split("\n\n\n", 1)[1]
    )
    python = str(venv / "bin" / "python")
    done = workshop(
        "profile", "--python", python, "--out", "elsewhere", "-m", "pkg.cli", "900000",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"under {python} ['900000']" in done.stdout
    meta = json.loads((tmp_path / "elsewhere" / "cli" / "run1.meta.json").read_text())
    assert meta["python"] == python


def test_the_make_target_reads_script_without_a_shell(tmp_path: Path) -> None:
    (tmp_path / "it's.py").write_text(LOOP)
    pwned = tmp_path / "pwned"
    words = f"{tmp_path / 'it'}\\'s.py \"a b\" '$(touch {pwned})' ';touch {pwned}2'"
    done = subprocess.run(
        ["make", "-s", "-C", str(REPO), "profile-script", f"SCRIPT={words}",
         f"PROFILE_OUT={tmp_path / 'out'}"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode == 2 and "SYS_PTRACE" in done.stderr:
        skip_or_fail(done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"args: ['a b', '$(touch {pwned})', ';touch {pwned}2']" in done.stdout
    assert not list(tmp_path.glob("pwned*"))
    assert list((tmp_path / "out" / "scripts" / "it_s").glob("run1.svg"))


def test_ctrl_c_stops_the_script_and_keeps_what_was_recorded(tmp_path: Path) -> None:
    (tmp_path / "forever.py").write_text(
        "import time\nprint('started', flush=True)\nwhile True:\n    sum(range(10_000))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "workshop", "profile", "forever.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        time.sleep(3.0)  # py-spy answers Ctrl-C once it samples: long after the script starts
        os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C sends: every process of the job
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    if child.returncode == 2 and "SYS_PTRACE" in err:
        skip_or_fail(err)
    assert child.returncode == 130, err
    assert "KeyboardInterrupt" in err
    meta = json.loads((tmp_path / "profiles" / "forever" / "run1.meta.json").read_text())
    assert meta["status"] == 130 and "Ctrl-C" in meta["title"]


def test_samply_records_your_script_too(tmp_path: Path) -> None:
    if stacks.tool("samply") is None:
        skip_or_fail("samply is not installed: `make samply` installs it")
    folder = tmp_path / HOSTILE_DIR
    folder.mkdir(parents=True)  # "</script>" is two folders: "...<" and "script> ü"
    (folder / HOSTILE_FILE).write_text(LOOP)
    done = workshop("profile", "--profiler", "samply", HOSTILE_FILE, *HOSTILE_ARGS, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert f"args: {HOSTILE_ARGS}" in done.stdout
    results = folder / "profiles" / "samply" / script.folder_name(Path(HOSTILE_FILE).stem)
    prof = Profile.read(results / "run1.folded")
    assert prof.recorder == "samply" and prof.total > 0
    parsed = Text()
    parsed.feed((results / "index.html").read_text())
    assert HOSTILE_DIR in "".join(parsed.text) and parsed.tags.count("script") == 0
    (folder / "bug.py").write_text('raise ValueError("my bug")\n')
    failed = workshop("profile", "--profiler", "samply", "bug.py", cwd=folder)
    assert failed.returncode == 1 and "ValueError: my bug" in failed.stderr
    assert "<string>" not in failed.stderr


def python_312_or_later() -> str | None:
    """A CPython 3.12+ on this machine (its real executable, not a shim), or None."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"), "versions")
    names = ("python3.14", "python3.13", "python3.12")
    candidates = [shutil.which(name) for name in names]
    candidates += sorted(str(p) for name in names for p in pyenv.glob(f"*/bin/{name}"))
    for found in candidates:
        if found:
            said = subprocess.run(
                [found, "-c", "import sys; print(sys.executable)"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if said.returncode == 0 and said.stdout.strip():
                return said.stdout.strip()
    return None


def test_samply_names_your_python_functions_on_python_312(tmp_path: Path) -> None:
    if stacks.tool("samply") is None:
        skip_or_fail("samply is not installed: `make samply` installs it")
    python = python_312_or_later()
    if python is None:
        pytest.skip("no CPython 3.12 or later here (its perf trampoline names Python frames)")
    (tmp_path / "loop.py").write_text(LOOP)
    done = workshop("profile", "--profiler", "samply", "--python", python, "loop.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    prof = Profile.read(tmp_path / "profiles" / "samply" / "loop" / "run1.folded")
    assert any(f.startswith("busy_loop (loop.py") for s in prof.stacks for f in s)
    shares = analyse.script_shares(prof)
    assert shares["own:loop.py"] > 0.5 * sum(shares.values()), shares
    meta = json.loads((tmp_path / "profiles" / "samply" / "loop" / "run1.meta.json").read_text())
    assert meta["python"] == python


def test_the_script_page_works_offline_in_chromium(hostile, tmp_path: Path) -> None:
    """The two runs' page, hostile names and all, in a browser: both graphs and the diff
    load, nothing scrolls sideways, one time scale draws each as wide as its time."""
    import test_page_in_a_browser as browser

    folder, _ = hostile
    page = folder / "profiles" / script.folder_name(Path(HOSTILE_FILE).stem) / "index.html"
    result = browser.run_check(page, tmp_path)
    assert result["controls"], "the side-by-side controls stayed hidden: the script did not run"
    assert result["graphs"] == {"run1": True, "run2": True}, result["graphs"]
    assert result["diffs"] == {"run1|run2": True}, result["diffs"]
    for scroll in (result["scroll"], result["scroll_after"]):
        assert scroll["scrollWidth"] <= scroll["clientWidth"], f"scrolls sideways: {scroll}"
    (a, b), (sa, sb) = result["widths"], result["seconds"]
    assert min(a, b) / max(a, b) == pytest.approx(min(sa, sb) / max(sa, sb), abs=0.02)
