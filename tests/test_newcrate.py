"""`workshop new`: the crate it writes for a function of your script builds, and its tests
compare the Rust with your Python.

The first tests read annotations into Rust types, refuse what has none, and feed hostile
file names through. The last builds the crate written for docs/profile_me.py's
``close_counts_loop`` as a reader would (``maturin build``, then its pytest and its bench)
in a temporary folder: untouched, its test must fail saying where to write the Rust; with
the walkthrough's answer spliced in, it must pass. Both builds share target/ and the
Makefile's PYO3_* values (``newcrate.shared_build``), so only the small crate compiles:
the whole test took 11 s of CPU here (two builds, its pytest twice, its bench), 25-40 s
of wall time on 2 busy cores. ``make lint`` runs rustfmt and clippy on the same crate
(``newcrate.lint``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from workshop import REPO, newcrate

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before the standard library had it
    import tomli as tomllib

SOURCE = """\
from typing import Sequence

import numpy as np
import numpy.typing as npt


def zscore(values: np.ndarray, window: int) -> np.ndarray:
    return values


def stats(
    xs: Sequence[float], *, scale: float = 2.0, label: str = 'a"b\\\\c', flag: bool = False
) -> tuple[float, int]:
    return sum(xs) * scale, len(xs)


def pairs(
    rows: list[list[int]], ids: npt.NDArray[np.int64], p: tuple[float, float]
) -> list[tuple[float, float]]:
    return []


def bare(a, b: dict) -> float:
    return 0.0
"""


def lib_of(tmp: Path, function: str) -> str:
    source = tmp / "many.py"
    source.write_text(SOURCE)
    return newcrate.lib_rs(newcrate.read_function(source, function), f"{function}_rs")


def test_annotations_become_rust_types(tmp_path: Path) -> None:
    zscore = lib_of(tmp_path, "zscore")
    assert "values: &Bound<'py, PyAny>," in zscore and "window: i64," in zscore
    assert "pub fn zscore(\n    values: &[f64],\n    window: i64," in zscore
    assert "Ok(PyArray1::from_vec(py, result))" in zscore  # np.ndarray in, np.ndarray out
    stats = lib_of(tmp_path, "stats")
    label = 'label = String::from("a\\"b\\\\c")'
    assert f"#[pyo3(signature = (xs, *, scale = 2.0, {label}, flag = false))]" in stats
    assert "label: &str," in stats and "-> PyResult<(f64, i64)>" in stats
    pairs = lib_of(tmp_path, "pairs")
    assert "rows: ArrayView2<'_, i64>," in pairs and "ids: &[i64]," in pairs
    assert "p: (f64, f64)," in pairs and "-> PyResult<Vec<(f64, f64)>>" in pairs
    for lib in (zscore, stats, pairs):
        assert "py.check_signals()" in lib and "PyNotImplementedError" in lib


def test_a_parameter_without_a_known_annotation_is_refused_with_the_list(tmp_path, capsys):
    (tmp_path / "many.py").write_text(SOURCE)
    assert newcrate.main([str(tmp_path / "many.py"), "bare", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "a: no annotation" in err and "b: dict" in err and "list[float]" in err
    assert not (tmp_path / "bare_rs").exists()
    assert newcrate.main([str(tmp_path / "many.py"), "nothing", "--out", str(tmp_path)]) == 2
    assert "has no top-level function 'nothing'" in capsys.readouterr().err


def test_an_existing_folder_is_left_alone(tmp_path: Path, capsys) -> None:
    (tmp_path / "many.py").write_text(SOURCE)
    (tmp_path / "zscore_rs").mkdir()
    assert newcrate.main([str(tmp_path / "many.py"), "zscore", "--out", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert list((tmp_path / "zscore_rs").iterdir()) == []


def test_hostile_file_names_stay_text(tmp_path: Path) -> None:
    folder = tmp_path / "we<ir>d & \"q\" 'x' </script> ü"
    folder.mkdir(parents=True)
    source = folder / 'my <b>&\'"ü;x """.py'
    shutil.copy(REPO / "docs" / "profile_me.py", source)
    out = tmp_path / "out"
    assert newcrate.main([str(source), "close_counts_loop", "--out", str(out)]) == 0
    crate = out / "close_counts_loop_rs"
    for name in ("example.py", "test_close_counts_loop.py", "bench.py"):
        compile((crate / name).read_text(), name, "exec")  # every name a literal or prose
    found = subprocess.run(
        [sys.executable, "-c", "import example; print(example.python_function().__name__)"],
        cwd=crate,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout.strip() == "close_counts_loop", found.stderr
    project = tomllib.loads((crate / "pyproject.toml").read_text())["project"]
    assert project["description"] == f"close_counts_loop from {source.name}, in Rust"
    assert tomllib.loads((crate / "Cargo.toml").read_text())["dependencies"] == {
        "pyo3": "0.30.1",
        "numpy": "0.30.0",
    }


# --- the crate, built ---------------------------------------------------------------------


def build(crate: Path, env: dict[str, str], site: Path) -> None:
    """``maturin build`` (the profile pyproject.toml names), unpacked into ``site`` as
    ``pip install --target`` would, over what was there."""
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or "maturin"
    wheels = crate / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    python = env["PYO3_PYTHON"]
    done = subprocess.run(
        [maturin, "build", "--quiet", "--interpreter", python, "--out", str(wheels)],
        cwd=crate, env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"maturin build failed:\n{done.stdout}\n{done.stderr}"
    shutil.rmtree(site, ignore_errors=True)
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)


def run(crate: Path, site: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        cwd=crate, env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def test_the_crate_builds_and_compares_rust_with_python(tmp_path: Path) -> None:
    if shutil.which("cargo") is None:
        pytest.skip("no cargo on PATH")
    mine = tmp_path / "mine"  # the reader's folder, their script in it
    mine.mkdir()
    shutil.copy(newcrate.EXAMPLE, mine / "profile_me.py")
    new = [str(mine / "profile_me.py"), "close_counts_loop", "--out", str(mine)]
    assert newcrate.main(new) == 0
    crate = mine / "close_counts_loop_rs"
    cargo = (crate / "Cargo.toml").read_text()
    assert "[profile.profiling]" in cargo and "debug = true" in cargo
    assert 'profile = "profiling"' in (crate / "pyproject.toml").read_text()
    lock = (crate / "Cargo.lock").read_text()
    assert 'name = "pyo3"\nversion = "0.30.1"' in lock and "stage1_getattr" not in lock
    env = newcrate.shared_build(crate)
    site = tmp_path / "site"

    build(crate, env, site)
    untouched = run(crate, site, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert untouched.returncode == 1, untouched.stdout + untouched.stderr
    assert "NotImplementedError" in untouched.stdout and "src/lib.rs" in untouched.stdout
    assert "5 failed, 1 passed" in untouched.stdout  # the bad argument is named already

    newcrate.with_answer(crate / "src" / "lib.rs", newcrate.walkthrough_answer())
    build(crate, env, site)
    answered = run(crate, site, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "6 passed" in answered.stdout
    bench = run(crate, site, "bench.py", "--size", "60", "--rounds", "1")
    assert bench.returncode == 0, bench.stderr
    assert "python:" in bench.stdout and "rust:" in bench.stdout and "times as fast" in bench.stdout

    # a wrong argument is refused with its name, whatever numpy makes of it
    refused = run(
        crate,
        site,
        "-c",
        "import json, close_counts_loop_rs as m\n"
        "out = []\n"
        "for bad in ([1, 2, 3], [[1, 2, 3]], ['a', 'b'], None, [[1.5, 2]] * 2):\n"
        "    try:\n"
        "        out.append(repr(m.close_counts_loop(bad, 1.0)))\n"
        "    except (TypeError, ValueError) as err:\n"
        "        out.append(str(err))\n"
        "print(json.dumps(out))\n",
    )
    said = json.loads(refused.stdout)
    assert all(s.startswith("points") for s in said[:4]), said
    assert said[4] == "[1, 1]"  # two equal points: each has one neighbour


def test_both_walkthroughs_link_the_answer_and_show_none() -> None:
    body = newcrate.walkthrough_answer()
    assert "check()?" in body
    for doc in ("workshop.md", "workshop.ko.md"):
        text = (REPO / "docs" / doc).read_text()
        assert "(profile_me_answer.rs)" in text, doc
        assert "hypot(p[1] - q[1]) < radius" not in text, doc
