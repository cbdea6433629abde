"""The fast function as a wheel a team installs without Rust: build it, check it.

    python -m workshop.wheel build [--stage stage4]   # `make wheel`
    python -m workshop.wheel check [--stage stage4]   # `make test` runs it
    python -m workshop.wheel check-debian [--suite sid]   # `make wheel-debian`

``build``: ``maturin build --profile profiling --features pyo3/abi3-py310 --zig
--compatibility manylinux2014`` and ``maturin sdist`` of the stage's crate into ``dist/``: a
wheel for the stable ABI (``cp310-abi3``: CPython 3.10, the oldest the project supports, and
every later one) and its sdist. zig (the ``ziglang`` package) links it against glibc 2.17's
symbols, as CI's manylinux2014 image does, so it installs on any x86-64 Linux from 2014 on
(where zig is missing, the wheel needs this machine's glibc or later, and says so). The
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
workload against the baseline's, then tests/test_hostile.py's cases for the stage. Then the
answers again on every other CPython from 3.10 on that the machine has (pyenv's, and
``python3.N`` on PATH), each in a clean venv of its own.

``check-debian``: the same answers on Debian's own CPython (sid's: 3.14 today), in a
minimal Debian made by ``debootstrap`` under ``build/`` (root; about two minutes the first
time): the wheel on a Python this machine does not have. ``make wheel-debian``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from workshop import REPO, child_env, shown, stages

DIST = REPO / "dist"
# The stable ABI of the oldest Python the project supports (pyproject's requires-python).
ABI3 = "pyo3/abi3-py310"
PROFILE = "profiling"  # the Makefile's CARGO_PROFILE: see Cargo.toml
# What CI's images build for (.github/workflows/wheels.yml: manylinux 2_17), and so `make wheel`.
MANYLINUX = "manylinux2014"
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
    linker = ["--zig", "--compatibility", MANYLINUX] if has_zig() else []
    start = say(
        f"maturin build --profile {PROFILE} --features {ABI3} {' '.join(linker)}: "
        f"stages/{stage.crate} -> {shown(DIST)}/ (the first time, its dependencies compile "
        "again: the stable ABI, linked by zig for glibc 2.17, is another build of them)"
    )
    # Not `build --sdist`: that builds the wheel from the unpacked sdist, in a target
    # folder of its own, so every run would compile everything again.
    common = ["--out", str(DIST), "--manifest-path", str(manifest)]
    build = [str(maturin), "build", "--profile", PROFILE, "--features", ABI3, *linker, *common]
    # maturin runs zig as `python -m ziglang`: this venv's Python first on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(build, check=True, env={**os.environ, "PATH": path})
    # cargo's advice on a crate to publish (no description, no homepage...) is not for
    # this wheel: the sdist's output is shown only if it fails.
    made = subprocess.run([str(maturin), "sdist", *common], capture_output=True, text=True)
    if made.returncode != 0:
        print(made.stdout + made.stderr, file=sys.stderr)
        raise SystemExit(f"maturin sdist failed (exit status {made.returncode})")
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
    glibc = ".".join(tag.split("_")[1:3])
    print(f"\n{shown(wheel)}  ({wheel.stat().st_size / 1e6:.1f} MB, {tag})")
    print(f"   installs on Linux x86-64 with glibc {glibc} or later, any CPython from 3.10")
    if not linker:
        print("   (zig was not found: `pip install ziglang` links the wheel for glibc 2.17)")
    print(f"{shown(sdist)}  (the source: pip builds it where Rust is)")
    print(f"{shown(base)}  (the baseline the stage imports)")
    print(f"install both wheels anywhere like this: pip install {shown(wheel)} {shown(base)}")
    return wheel


def has_zig() -> bool:
    """zig, as maturin runs it (``python -m ziglang``), is installed here."""
    return importlib.util.find_spec("ziglang") is not None


def audit(wheel: Path) -> str:
    """``auditwheel show``: the manylinux tag it names; fails on anything stray. Its report
    is printed only then: the advice it always ends with ("you would need to recompile ...
    for a more compatible tag") reads as a failure where there is none."""
    say(f"auditwheel show {wheel.name}")
    auditwheel = Path(sys.executable).with_name("auditwheel")
    out = subprocess.run(
        [str(auditwheel), "show", str(wheel)], check=True, capture_output=True, text=True
    ).stdout
    problems = []
    match = re.search(r'consistent with the following platform tag:\s*"([^"]+)"', out)
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
        print(out.strip())
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
core = sys.modules[getattr(stage.load(), stage.entry).__module__]
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


def clean_venv(
    work: Path,
    folder: str,
    interpreter: str,
    deps: tuple[str, ...],
    stage: stages.Stage,
    run: dict[str, Any],
) -> str:
    """A venv in ``work/folder`` for ``interpreter``: ``deps`` from the index at the lock's
    versions, the stage and the baseline from ``work/wheels`` only. Its Python's path."""
    python = str(venv_python(work / folder))
    # uv where it is (`make setup` installs it): the same install in seconds, not ~20 s.
    # `--system-certs`: the machine's certificate store, as pip reads it, so an index
    # behind a proxy with its own certificate authority works for both.
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "--quiet", "--python", interpreter, folder], **run)
        pip = [uv, "pip", "install", "--quiet", "--system-certs", "--python", python]
    else:
        subprocess.run([interpreter, "-m", "venv", folder], **run)
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    binary = ["--only-binary", ":all:"]
    subprocess.run([*pip, *binary, "-c", "constraints.txt", *deps], **run)
    subprocess.run(
        [*pip, *binary, "--no-index", "--find-links", "wheels",
         stage.module.replace("_", "-"), BASELINE.replace("_", "-")],
        **run,
    )  # fmt: skip
    return python


PROBE = (
    "import sys, sysconfig; print(sys.implementation.name, "
    "'.'.join(map(str, sys.version_info[:3])), sysconfig.get_config_var('Py_GIL_DISABLED') or 0)"
)


def other_pythons() -> list[tuple[str, str]]:
    """``(version, path)`` of every other CPython from 3.10 on here: pyenv's, and
    ``python3.N`` on PATH; free-threaded builds left out (they cannot load abi3)."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = [str(p) for p in sorted(root.glob("*/bin/python3"))]
    found += [p for minor in range(10, 20) if (p := shutil.which(f"python3.{minor}"))]
    seen = {".".join(map(str, sys.version_info[:3]))}
    out = []
    for path in found:
        try:
            probe = subprocess.run(
                [path, "-c", PROBE], capture_output=True, text=True, timeout=30, check=True
            )
        except (OSError, subprocess.SubprocessError):
            continue
        name, version, free_threaded = probe.stdout.split()
        major_minor = tuple(int(v) for v in version.split(".")[:2])
        if name != "cpython" or major_minor < (3, 10) or free_threaded != "0" or version in seen:
            continue
        seen.add(version)
        out.append((version, path))
    return sorted(out, key=lambda v: tuple(int(x) for x in v[0].split(".")))


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
        print(f"   numpy, pytest, hypothesis from the index, pinned by {LOCK.name}", flush=True)
        names = ", ".join(w.name for w in wheels)
        print(f"   {stage.module} and {BASELINE} from these wheels only: {names}", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        python = clean_venv(work, "venv", base, INDEX_DEPS, stage, run)
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
        if stage.form == "objects":  # the hostile cases are Polygon objects' (stages 1-4)
            start = say(f"tests/test_hostile.py's cases for {', '.join(names)}, in the clean venv")
            subprocess.run(
                [*hide, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
                 "tests/test_hostile.py", "-k", " or ".join(names)],
                **run,
            )  # fmt: skip
            done(start)

        others = other_pythons()
        if others:
            listed = ", ".join(version for version, _ in others)
            start = say(f"{stage.name}'s answers on the other CPythons here ({listed}), each alone")
            for version, interpreter in others:
                folder = f"venv-{version}"
                other = clean_venv(work, folder, interpreter, ("numpy",), stage, run)
                answer = subprocess.run(
                    [*hide, other, "-c", CANONICAL, stage.name, str(REPO), ",".join(RUST_TOOLS)],
                    **{**run, "check": False}, capture_output=True, text=True,
                )  # fmt: skip
                lines = (answer.stdout + answer.stderr).strip().splitlines() or ["no output"]
                print(f"   CPython {version} ({shown(Path(interpreter))}): {lines[-1]}", flush=True)
                if answer.returncode != 0:
                    print(answer.stdout + answer.stderr, file=sys.stderr)
                    raise subprocess.CalledProcessError(answer.returncode, answer.args)
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


# --- check-debian: a CPython this machine does not have, from Debian's packages -----------

DEBIAN_PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
IN_CHROOT = """\
set -eu
cd /tmp/poly-match-wheel
python3 -m venv venv
venv/bin/pip install --quiet --disable-pip-version-check --only-binary :all: \\
    -c constraints.txt numpy
venv/bin/pip install --quiet --disable-pip-version-check --only-binary :all: --no-index \\
    --find-links wheels "$1" "$2"
exec venv/bin/python -c "$3" "$4" /nonexistent "$5"
"""


def check_debian(stage: stages.Stage, suite: str = "sid") -> int:
    """The wheel on Debian ``suite``'s own CPython, in a debootstrap folder under build/."""
    wheels = sorted(DIST.glob(f"{stage.module}-*-abi3-*.whl")) + sorted(
        DIST.glob(f"{BASELINE}-*.whl")
    )
    if not any(w.name.startswith(f"{stage.module}-") for w in wheels):
        raise SystemExit(f"no abi3 wheel of {stage.name} in {shown(DIST)}: run `make wheel`")
    if sys.platform != "linux" or os.geteuid() != 0:
        raise SystemExit("check-debian runs debootstrap and chroot: Linux, as root")
    debootstrap, chroot = shutil.which("debootstrap"), shutil.which("chroot")
    if debootstrap is None or chroot is None:
        raise SystemExit("debootstrap is not installed: apt-get install debootstrap")
    root = REPO / "build" / f"debian-{suite}"
    if not (root / "usr" / "bin" / "python3").exists():
        start = say(f"debootstrap --variant=minbase {suite} {shown(root)} (a few minutes, once)")
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={DEBIAN_PACKAGES}", suite, str(root)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        done(start)
    work = root / "tmp" / "poly-match-wheel"
    shutil.rmtree(work, ignore_errors=True)
    (work / "wheels").mkdir(parents=True)
    for wheel in wheels:
        shutil.copy(wheel, work / "wheels")
    shutil.copy(LOCK, work / "constraints.txt")
    # pip in the folder reaches the index through this machine's certificate authorities
    # (a proxy's own among them), not only Debian's.
    cafile = ssl.get_default_verify_paths().cafile
    if cafile and Path(cafile).exists():
        shutil.copy(cafile, work / "host-ca.crt")
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    version = subprocess.run(
        [chroot, str(root), "python3", "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    start = say(f"{stage.name} on Debian {suite}'s CPython {version}: numpy from the index")
    # This machine's pip settings that name its own folders mean nothing in Debian's.
    outside = {
        var
        for var, value in os.environ.items()
        if var.startswith("PIP_") and value.startswith("/") and not (root / value[1:]).exists()
    }
    env = {
        **{var: value for var, value in clean_env().items() if var not in outside},
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "SSL_CERT_FILE": "/tmp/poly-match-wheel/host-ca.crt",
        "PIP_CERT": "/tmp/poly-match-wheel/host-ca.crt",
    }
    args = [stage.module.replace("_", "-"), BASELINE.replace("_", "-"), CANONICAL, stage.name]
    done_ = subprocess.run(
        [chroot, str(root), "/bin/sh", "-c", IN_CHROOT, "sh", *args, ",".join(RUST_TOOLS)],
        env=env,
    )
    if done_.returncode != 0:
        print(f"the wheel check on Debian {suite} failed", file=sys.stderr)
        return 1
    done(start)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.wheel", description=__doc__)
    parser.add_argument("command", choices=["build", "check", "check-debian"])
    parser.add_argument("--stage", default="stage4", help="the stage to ship (default stage4)")
    parser.add_argument("--keep", action="store_true", help="check: keep the temporary venv")
    parser.add_argument("--suite", default="sid", help="check-debian: Debian's suite (sid)")
    args = parser.parse_args(argv)
    stage = crate_stage(args.stage)
    if args.command == "build":
        build(stage)
        return 0
    if args.command == "check-debian":
        return check_debian(stage, args.suite)
    return check(stage, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
