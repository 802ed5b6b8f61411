"""The DuckDB memory limits commands run under (Workspace.open and Workspace.memory_cap)."""

from __future__ import annotations

import pytest

from audit_kit.errors import ConfigError, ExitCode
from audit_kit.workspace import Workspace

JOB = "AUDIT_KIT_TEST_MEMORY"


def _limit(ws: Workspace) -> str:
    return str(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("AUDIT_KIT_MEMORY", raising=False)
    monkeypatch.delenv(JOB, raising=False)


def test_every_workspace_opens_capped_at_1gb(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    assert _limit(ws) == "953.6 MiB"  # DuckDB reports 1 GB in MiB
    ws.close()
    ro = Workspace.open(tmp_path / "ws", read_only=True)
    assert _limit(ro) == "953.6 MiB"


def test_job_cap_applies_inside_and_the_workspace_cap_after(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "2GB")
    ws = Workspace.open(tmp_path / "ws", create=True)
    assert _limit(ws) == "1.8 GiB"
    monkeypatch.setenv(JOB, "700MB")
    with ws.memory_cap(JOB):
        assert _limit(ws) == "667.5 MiB"
    assert _limit(ws) == "1.8 GiB"


def test_general_setting_overrides_a_jobs_default_and_none_lifts_the_cap(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with ws.memory_cap(JOB, default="700MB"):
        assert _limit(ws) == "667.5 MiB"
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "2GB")
    with ws.memory_cap(JOB, default="700MB"):
        assert _limit(ws) == "1.8 GiB"
    monkeypatch.setenv(JOB, "none")
    with ws.memory_cap(JOB):
        assert _limit(ws) not in ("953.6 MiB", "1.8 GiB", "667.5 MiB")  # DuckDB's own: 80% of RAM
    assert _limit(ws) == "953.6 MiB"


def test_bad_value_names_the_variable(tmp_path, monkeypatch):
    ws = Workspace.open(tmp_path / "ws", create=True)
    monkeypatch.setenv(JOB, "lots")
    with pytest.raises(ConfigError, match=r"\$AUDIT_KIT_TEST_MEMORY='lots': expected a size") as err:
        with ws.memory_cap(JOB):
            pass
    assert err.value.exit_code == ExitCode.USAGE
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "1 bucket")
    with pytest.raises(ConfigError, match=r"\$AUDIT_KIT_MEMORY='1 bucket'"):
        Workspace.open(tmp_path / "ws")


def test_bad_value_is_a_clear_cli_error(tmp_path, monkeypatch, capsys):
    from audit_kit.cli import run

    Workspace.open(tmp_path / "ws", create=True).close()
    monkeypatch.setenv("AUDIT_KIT_MEMORY", "plenty")
    assert run(["detect", "-w", str(tmp_path / "ws"), "-q"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "AUDIT_KIT_MEMORY='plenty'" in err and "Traceback" not in err
