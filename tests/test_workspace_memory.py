"""The DuckDB memory limits commands run under: resolved once from the environment by the run context,
applied by the workspace (Workspace.open and Workspace.memory_cap)."""

from __future__ import annotations

import pytest

from audit_kit.app.context import resolve_limits
from audit_kit.errors import ConfigError, ExitCode
from audit_kit.store.workspace import MemoryLimits, Workspace


def _limit(ws: Workspace) -> str:
    return str(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_every_workspace_opens_capped_at_1gb(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    assert _limit(ws) == "953.6 MiB"  # DuckDB reports 1 GB in MiB
    ws.close()
    ro = Workspace.open(tmp_path / "ws", read_only=True)
    assert _limit(ro) == "953.6 MiB"


def test_job_cap_applies_inside_and_the_base_after(tmp_path):
    limits = resolve_limits({"AUDIT_KIT_MEMORY": "2GB", "AUDIT_KIT_DETECT_MEMORY": "700MB"})
    ws = Workspace.open(tmp_path / "ws", create=True, limits=limits)
    assert _limit(ws) == "1.8 GiB"
    with ws.memory_cap("detect"):
        assert _limit(ws) == "667.5 MiB"
    assert _limit(ws) == "1.8 GiB"
    with ws.memory_cap("ingest"):  # no cap of its own: the base
        assert _limit(ws) == "1.8 GiB"


def test_none_lifts_a_cap_to_duckdbs_own():
    limits = resolve_limits({"AUDIT_KIT_INGEST_MEMORY": "none"})
    assert limits.base == "1GB" and limits.for_job("ingest") is None and limits.for_job("detect") == "1GB"


def test_the_library_never_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "2GB")
    ws = Workspace.open(tmp_path / "ws", create=True, limits=MemoryLimits())
    assert _limit(ws) == "953.6 MiB"


def test_bad_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"\$AUDIT_KIT_DETECT_MEMORY='lots': expected a size") as err:
        resolve_limits({"AUDIT_KIT_DETECT_MEMORY": "lots"})
    assert err.value.exit_code == ExitCode.USAGE
    with pytest.raises(ConfigError, match=r"\$AUDIT_KIT_MEMORY='1 bucket'"):
        resolve_limits({"AUDIT_KIT_MEMORY": "1 bucket"})


def test_bad_value_is_a_clear_cli_error(tmp_path, monkeypatch, capsys):
    from audit_kit.cli import run

    Workspace.open(tmp_path / "ws", create=True).close()
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "plenty")
    assert run(["detect", "-w", str(tmp_path / "ws"), "-q"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "AUDIT_KIT_MEMORY='plenty'" in err and "Traceback" not in err
