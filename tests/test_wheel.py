"""The pieces of `make wheel`'s check that decide what "clean" means.

The check itself (a clean venv without Rust, the wheel's answers against the baseline) is
`python -m workshop.wheel check`, which `make test` runs after pytest.
"""

from __future__ import annotations

import os
import shutil
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
