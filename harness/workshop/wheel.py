"""The fast function as a wheel a team installs without Rust: build it, check it.

    python -m workshop.wheel build [--stage stage4]   # `make wheel`
    python -m workshop.wheel check [--stage stage4]   # `make test` runs it

``build``: ``maturin build --profile profiling --features pyo3/abi3-py310`` and ``maturin
sdist`` of the stage's crate into ``dist/``: a wheel for the stable ABI (``cp310-abi3``:
CPython 3.10, the oldest the project supports, and every later one) and its sdist. The
``profiling`` profile is ``make build``'s (release optimisations and full debug info, so
py-spy names the Rust frames wherever the wheel goes): every dependency PyO3 does not
reach is already compiled for it. Then the baseline's wheel,
``poly_match_workshop`` (``poly_match``, which every stage imports, and this harness), and
``auditwheel show`` on the stage's wheel: it must name a manylinux tag, and the wheel must
hold one extension module, need no shared library outside that policy and vendor none.

``check``: a new venv in a temporary folder outside the checkout, with no Rust toolchain
on its PATH. numpy, pytest and hypothesis come from the index at requirements.lock's
versions; the stage and the baseline only from copies of ``dist/``'s wheels (``--no-index
--only-binary``: pip picks the wheel for this platform and Python, and cannot build one).
There, with the checkout hidden where ``unshare`` may (a private mount namespace; elsewhere
it is checked that no module was loaded from it): the stage's answers on the canonical
workload against the baseline's, then tests/test_hostile.py's cases for the stage.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from workshop import REPO, child_env, shown, stages

DIST = REPO / "dist"
# The stable ABI of the oldest Python the project supports (pyproject's requires-python).
ABI3 = "pyo3/abi3-py310"
PROFILE = "profiling"  # the Makefile's CARGO_PROFILE: see Cargo.toml
BASELINE = "poly_match_workshop"  # the root project's wheel: poly_match and the harness
LOCK = REPO / "requirements.lock"
INDEX_DEPS = ("numpy", "pytest", "hypothesis")  # what the clean venv takes from the index
HOSTILE = ("test_hostile.py", "helpers.py")  # copied from tests/
RUST_TOOLS = ("cargo", "rustc", "rustup", "maturin")
EXTENSIONS = (".so", ".pyd", ".dylib", ".dll")


def crate_stage(name: str) -> stages.Stage:
    stage = stages.get(name)
    if stage.crate is None:
        rust = ", ".join(s.name for s in stages.STAGES if s.crate)
        raise SystemExit(f"{name} has no Rust crate to ship as a wheel; one of: {rust}")
    return stage


def say(message: str) -> float:
    print(f"== {message}", flush=True)
    return time.monotonic()


def done(start: float) -> None:
    print(f"   ({time.monotonic() - start:.0f} s)", flush=True)


def one(paths: list[Path], what: str) -> Path:
    if len(paths) != 1:
        found = ", ".join(p.name for p in paths) or "none"
        raise SystemExit(f"expected one {what} in {shown(DIST)}, found {found}")
    return paths[0]


# --- build ----------------------------------------------------------------------------


def build(stage: stages.Stage) -> Path:
    """The stage's abi3 wheel and sdist, and the baseline's wheel, into dist/; audited."""
    manifest = REPO / "stages" / str(stage.crate) / "Cargo.toml"
    DIST.mkdir(exist_ok=True)
    for old in [*DIST.glob(f"{stage.module}-*"), *DIST.glob(f"{BASELINE}-*")]:
        old.unlink()
    maturin = Path(sys.executable).with_name("maturin")
    start = say(
        f"maturin build --profile {PROFILE} --features {ABI3}: stages/{stage.crate} -> "
        f"{shown(DIST)}/ (the first time, PyO3 and numpy compile again: the stable ABI is "
        "another build of them)"
    )
    # Not `build --sdist`: that builds the wheel from the unpacked sdist, in a target
    # folder of its own, so every run would compile everything again.
    common = ["--out", str(DIST), "--manifest-path", str(manifest)]
    build = [str(maturin), "build", "--profile", PROFILE, "--features", ABI3, *common]
    subprocess.run(build, check=True)
    subprocess.run([str(maturin), "sdist", *common], check=True)
    done(start)
    wheel = one(sorted(DIST.glob(f"{stage.module}-*-abi3-*.whl")), f"abi3 wheel of {stage.name}")
    sdist = one(sorted(DIST.glob(f"{stage.module}-*.tar.gz")), f"sdist of {stage.name}")
    say(f"the baseline's wheel ({BASELINE}: poly_match, which the stage imports, and the harness)")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--wheel-dir", str(DIST), str(REPO)],
        check=True,
    )  # fmt: skip
    base = one(sorted(DIST.glob(f"{BASELINE}-*.whl")), "baseline wheel")
    tag = audit(wheel)
    print(f"\n{shown(wheel)}  ({wheel.stat().st_size / 1e6:.1f} MB, {tag})")
    print(f"{shown(sdist)}  (the source: pip builds it where Rust is)")
    print(f"{shown(base)}  (the baseline the stage imports)")
    print(f"install both wheels anywhere like this: pip install {shown(wheel)} {shown(base)}")
    return wheel


def audit(wheel: Path) -> str:
    """``auditwheel show``: the manylinux tag it names; fails on anything stray."""
    say(f"auditwheel show {wheel.name}")
    auditwheel = Path(sys.executable).with_name("auditwheel")
    out = subprocess.run(
        [str(auditwheel), "show", str(wheel)], check=True, capture_output=True, text=True
    ).stdout
    print(out.strip())
    problems = []
    match = re.search(r'consistent with the following platform tag: "([^"]+)"', out)
    tag = match.group(1) if match else None
    if tag is None or not tag.startswith("manylinux"):
        problems.append(f"no manylinux tag (auditwheel says {tag or 'nothing'})")
    if "external shared libraries are required" in out and not re.search(
        r"external shared libraries are required by the wheel:\s*\{\s*\}", out
    ):
        problems.append("it needs shared libraries outside the manylinux policy")
    names = zipfile.ZipFile(wheel).namelist()
    modules = [n for n in names if n.endswith(EXTENSIONS) or ".so." in n]
    if len(modules) != 1:
        problems.append(f"one extension module expected, found {modules}")
    vendored = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".libs")})
    if vendored:
        problems.append(f"it vendors shared libraries ({', '.join(vendored)})")
    if problems:
        raise SystemExit(f"{wheel.name}: " + "; ".join(problems))
    print(f"-> {tag}; one extension module ({modules[0]}), no shared library vendored or needed")
    return str(tag)


# --- check ----------------------------------------------------------------------------

# Runs in the clean venv: the stage's answers on the canonical workload (and the distinct
# one) against the baseline's, as `make bench` checks them; then where everything came from.
CANONICAL = """\
import shutil, sys
from importlib import metadata
from pathlib import Path
name, repo = sys.argv[1], Path(sys.argv[2])
on_path = [tool for tool in sys.argv[3].split(",") if shutil.which(tool)]
if on_path:
    sys.exit(f"a Rust toolchain is on PATH here: {on_path}")
from workshop import bench, stages
stage = stages.get(name)
row = bench.check(stage)
core = sys.modules[stage.module + "._core"]
dist = metadata.distribution(stage.module.replace("_", "-"))
tags = [l.split(": ", 1)[1] for l in dist.read_text("WHEEL").splitlines() if l.startswith("Tag:")]
print(f"{stage.module} {dist.version} ({', '.join(tags)}), Python {sys.version.split()[0]}")
print(f"loaded {core.__file__}")
print(f"{name} on the canonical workload: {row.status} {row.detail or ''}".rstrip())
files = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
from_repo = sorted(f for f in files if f and Path(f).resolve().is_relative_to(repo))
if from_repo:
    sys.exit(f"loaded from the checkout, not the wheels: {from_repo}")
if not Path(core.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
    sys.exit("the extension module is not the venv's")
sys.exit(0 if row.status.startswith(bench.OK) else 1)
"""


def clean_env() -> dict[str, str]:
    """This environment without a venv, a PYTHONPATH or any folder holding a Rust tool."""
    env = child_env()
    for var in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYO3_PYTHON", "CONDA_PREFIX"):
        env.pop(var, None)
    keep = [
        folder
        for folder in env.get("PATH", "").split(os.pathsep)
        if folder
        and not Path(folder).resolve().is_relative_to(REPO)
        and not any(shutil.which(tool, path=folder) for tool in RUST_TOOLS)
    ]
    env["PATH"] = os.pathsep.join(keep)
    return env


def hider() -> list[str]:
    """A prefix that runs a command with the checkout replaced by an empty folder (a private
    mount namespace), or ``[]`` where that is refused (then the check looks at the files)."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if sys.platform != "linux" or unshare is None or mount is None:
        return []
    as_root = [] if os.geteuid() == 0 else ["--map-root-user"]
    script = f'{mount} -t tmpfs -o ro tmpfs "$0" && exec "$@"'
    prefix = [unshare, "--mount", *as_root, "--", "/bin/sh", "-c", script, str(REPO)]
    probe = subprocess.run([*prefix, "/bin/true"], capture_output=True, text=True)
    return prefix if probe.returncode == 0 else []


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def check(stage: stages.Stage, keep: bool = False) -> int:
    """Install the stage's wheel into a clean venv without Rust and check it there."""
    wheels = sorted(DIST.glob(f"{stage.module}-*.whl")) + sorted(DIST.glob(f"{BASELINE}-*.whl"))
    if not any(w.name.startswith(f"{stage.module}-") for w in wheels):
        raise SystemExit(f"no wheel of {stage.name} in {shown(DIST)}: run `make wheel`")
    work = Path(tempfile.mkdtemp(prefix="poly-match-wheel-"))
    try:
        (work / "wheels").mkdir()
        (work / "tests").mkdir()
        for wheel in wheels:
            shutil.copy(wheel, work / "wheels")
        for name in HOSTILE:
            shutil.copy(REPO / "tests" / name, work / "tests")
        shutil.copy(LOCK, work / "constraints.txt")
        env = clean_env()
        run = {"env": env, "cwd": work, "check": True}

        start = say(f"a clean venv in {work} (no Rust on its PATH, no access to this checkout)")
        python = str(venv_python(work / "venv"))
        # uv where it is (`make setup` installs it): the same install in seconds, not ~20 s.
        # `--system-certs`: the machine's certificate store, as pip reads it, so an index
        # behind a proxy with its own certificate authority works for both.
        uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
        if uv:
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([uv, "venv", "--quiet", "--python", base, "venv"], **run)
            pip = [uv, "pip", "install", "--quiet", "--system-certs", "--python", python]
        else:
            subprocess.run([sys.executable, "-m", "venv", "venv"], **run)
            pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        print(f"   numpy, pytest, hypothesis from the index, pinned by {LOCK.name}", flush=True)
        binary = ["--only-binary", ":all:"]
        subprocess.run([*pip, *binary, "-c", "constraints.txt", *INDEX_DEPS], **run)
        names = ", ".join(w.name for w in wheels)
        print(f"   {stage.module} and {BASELINE} from these wheels only: {names}", flush=True)
        subprocess.run(
            [*pip, *binary, "--no-index", "--find-links", "wheels",
             stage.module.replace("_", "-"), BASELINE.replace("_", "-")],
            **run,
        )  # fmt: skip
        done(start)

        hide = hider()
        where = (
            "the checkout hidden (an empty folder mounted over it)"
            if hide
            else "the checkout not hidden here (no private mount namespace): "
            "checked instead that no module was loaded from it"
        )
        start = say(f"{stage.name} on the canonical workload against the baseline, {where}")
        subprocess.run(
            [*hide, python, "-c", CANONICAL, stage.name, str(REPO), ",".join(RUST_TOOLS)], **run
        )
        done(start)
        names = [s.name for s in stages.STAGES if s.module == stage.module]
        start = say(f"tests/test_hostile.py's cases for {', '.join(names)}, in the clean venv")
        subprocess.run(
            [*hide, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
             "tests/test_hostile.py", "-k", " or ".join(names)],
            **run,
        )  # fmt: skip
        done(start)
    except subprocess.CalledProcessError as err:
        print(f"the wheel check failed: {err}", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.wheel", description=__doc__)
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--stage", default="stage4", help="the stage to ship (default stage4)")
    parser.add_argument("--keep", action="store_true", help="check: keep the temporary venv")
    args = parser.parse_args(argv)
    stage = crate_stage(args.stage)
    if args.command == "build":
        build(stage)
        return 0
    return check(stage, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
