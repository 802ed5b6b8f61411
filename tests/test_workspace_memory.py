"""The DuckDB memory cap heavy jobs run under (Workspace.memory_cap)."""

from __future__ import annotations

import pytest

from audit_kit.errors import ConfigError, ExitCode
from audit_kit.workspace import Workspace


def _limit(ws: Workspace) -> str:
    return str(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_cap_applies_inside_and_restores_after(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws", create=True)
    before = _limit(ws)
    monkeypatch.setenv("AUDIT_KIT_TEST_MEMORY", "700MB")
    with ws.memory_cap("AUDIT_KIT_TEST_MEMORY"):
        assert _limit(ws) == "667.5 MiB"  # DuckDB reports 700 MB in MiB
    assert _limit(ws) == before


def test_default_and_none(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws", create=True)
    before = _limit(ws)
    monkeypatch.delenv("AUDIT_KIT_TEST_MEMORY", raising=False)
    with ws.memory_cap("AUDIT_KIT_TEST_MEMORY", default="1GB"):
        assert _limit(ws) == "953.6 MiB"
    monkeypatch.setenv("AUDIT_KIT_TEST_MEMORY", "none")
    with ws.memory_cap("AUDIT_KIT_TEST_MEMORY"):
        assert _limit(ws) == before


def test_bad_value_names_the_variable(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws", create=True)
    monkeypatch.setenv("AUDIT_KIT_TEST_MEMORY", "lots")
    with pytest.raises(ConfigError, match=r"\$AUDIT_KIT_TEST_MEMORY='lots': expected a size") as err:
        with ws.memory_cap("AUDIT_KIT_TEST_MEMORY"):
            pass
    assert err.value.exit_code == ExitCode.USAGE
