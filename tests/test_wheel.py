"""The pieces of `make wheel`'s check that decide what "clean" means.

The check itself (a clean venv without Rust, the wheel's answers against the baseline) is
`python -m workshop.wheel check`, which `make test` runs after pytest.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from workshop import REPO, wheel


def test_the_clean_environment_has_no_rust_no_venv_and_no_checkout(tmp_path, monkeypatch):
    tools = tmp_path / "rust-bin"
    tools.mkdir()
    (tools / "cargo").write_text("#!/bin/sh\n")
    (tools / "cargo").chmod(0o755)
    path = os.pathsep.join([str(tools), str(REPO / ".venv" / "bin"), "/usr/bin", "/bin"])
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("VIRTUAL_ENV", str(REPO / ".venv"))
    monkeypatch.setenv("PYTHONPATH", str(REPO / "harness"))
    env = wheel.clean_env()
    assert env["PATH"].split(os.pathsep) == ["/usr/bin", "/bin"]
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
    assert shutil.which("cargo", path=env["PATH"]) is None


def test_only_stages_with_a_crate_are_shipped():
    assert wheel.crate_stage("stage4").crate == "stage4_grid"
    with pytest.raises(SystemExit, match="no Rust crate"):
        wheel.crate_stage("stage0")


def fake_wheel(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, b"")
    return path


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (["m/__init__.py"], "one extension module expected"),
        (["m/_core.abi3.so", "m.libs/libfoo-1a2b.so.1"], "vendors shared libraries"),
    ],
)
def test_the_audit_refuses_a_stray_or_missing_library(tmp_path, monkeypatch, names, problem):
    """What auditwheel says is taken as a manylinux wheel; the wheel's files still fail it."""
    said = 'consistent with the following platform tag: "manylinux_2_17_x86_64".\n'
    monkeypatch.setattr(
        wheel.subprocess, "run", lambda *a, **k: type("Done", (), {"stdout": said})()
    )
    with pytest.raises(SystemExit, match=problem):
        wheel.audit(fake_wheel(tmp_path / "m-0.1.0-cp310-abi3-manylinux_2_17_x86_64.whl", names))


def test_the_audit_refuses_a_plain_linux_tag(tmp_path, monkeypatch):
    said = 'consistent with the following platform tag: "linux_x86_64".\n'
    monkeypatch.setattr(
        wheel.subprocess, "run", lambda *a, **k: type("Done", (), {"stdout": said})()
    )
    with pytest.raises(SystemExit, match="no manylinux tag"):
        wheel.audit(fake_wheel(tmp_path / "m-0.1.0-cp310-abi3-linux_x86_64.whl", ["m/_core.so"]))


def test_the_audit_reads_a_wrapped_tag_and_keeps_its_advice_to_itself(
    tmp_path, monkeypatch, capsys
):
    # auditwheel wraps its lines: the tag can be on the line after "platform tag:". Its
    # closing advice ("you would need to recompile ...") is not printed when all is well.
    said = (
        "is consistent with the following platform tag:\n"
        '"manylinux_2_17_x86_64".\n\nThis constrains the platform tag to ... you would '
        "need to recompile a new\nwheel from source on a system with earlier versions\n"
    )
    monkeypatch.setattr(
        wheel.subprocess, "run", lambda *a, **k: type("Done", (), {"stdout": said})()
    )
    path = fake_wheel(tmp_path / "m-0.1.0-cp310-abi3-manylinux_2_17_x86_64.whl", ["m/_c.so"])
    assert wheel.audit(path) == "manylinux_2_17_x86_64"
    assert "recompile" not in capsys.readouterr().out


def test_the_other_pythons_are_cpython_310_and_later_once_each(tmp_path, monkeypatch):
    versions = tmp_path / "versions"
    for name, said in [
        ("3.9.18", "cpython 3.9.18 0"),
        ("3.12.1", "cpython 3.12.1 0"),
        ("3.13.0t", "cpython 3.13.0 1"),  # free-threaded: cannot load abi3
        ("pypy3.10", "pypy 3.10.14 0"),
        ("3.10.13", "cpython 3.10.13 0"),
    ]:
        python = versions / name / "bin" / "python3"
        python.parent.mkdir(parents=True)
        python.write_text(f"#!/bin/sh\necho {said}\n")
        python.chmod(0o755)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")
    found = wheel.other_pythons()
    this = ".".join(map(str, sys.version_info[:3]))  # the one running is checked apart
    assert [version for version, _ in found] == [v for v in ("3.10.13", "3.12.1") if v != this]
