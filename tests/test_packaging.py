"""The wheel carries the catalogues and report templates: an installed audit-kit needs no source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_checklists_and_templates(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("audit_kit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped_yaml = sorted(p.name for p in (ROOT / "checklists").glob("*.yaml"))
    assert shipped_yaml, "no catalogues in checklists/"
    for name in shipped_yaml:
        assert f"audit_kit/_data/checklists/{name}" in names
    templates = [p.relative_to(ROOT / "reports" / "templates") for p in (ROOT / "reports" / "templates").rglob("*")
                 if p.is_file()]
    assert templates, "no report templates"
    for rel in templates:
        assert f"audit_kit/_data/templates/{rel.as_posix()}" in names
    # Unpacked away from the source tree, the package resolves its data inside itself.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("from audit_kit.resources import checklists_dir, templates_dir;"
            "print(checklists_dir()); print(templates_dir())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, check=True).stdout.split()
    assert all(Path(p).is_relative_to(site) and Path(p).is_dir() for p in out), out
