"""Every command has --help with an example, is documented, and the exit-code contract holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from audit_kit.cli import COMMANDS, app, run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _leaf_paths() -> list[list[str]]:
    group = typer.main.get_command(app)
    paths = []
    for name in COMMANDS:
        cmd = group.get_command(None, name)
        subs = getattr(cmd, "commands", None)
        if subs:
            paths.extend([name, sub] for sub in subs)
        else:
            paths.append([name])
    return paths


@pytest.mark.parametrize("path", _leaf_paths(), ids=lambda p: " ".join(p))
def test_every_command_has_help_with_an_example(path, capsys):
    assert run([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out, f"audit-kit {' '.join(path)} --help shows no example"


@pytest.mark.parametrize("path", _leaf_paths(), ids=lambda p: " ".join(p))
def test_every_command_is_documented(path):
    text = DOCS.read_text()
    assert f"audit-kit {' '.join(path)}" in text, f"docs/cli.md does not mention audit-kit {' '.join(path)}"


def test_root_help_lists_every_command_quickly(capsys):
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_and_bad_option_are_usage_errors(capsys):
    assert run(["frobnicate"]) == 2
    assert run(["ingest", "--no-such-option"]) == 2


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "audit_kit", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("audit-kit ")


def test_internal_errors_exit_3_without_traceback(tmp_path, monkeypatch, capsys):
    import audit_kit.cli.ingest as ingest_cli

    def boom(*_a, **_k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(ingest_cli, "ingest_path", boom)
    (tmp_path / "ds").mkdir()
    assert run(["ingest", str(tmp_path / "ds"), "-w", str(tmp_path / "ws")]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: simulated bug" in err and "Traceback" not in err
