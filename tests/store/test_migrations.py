"""Schema versions: a workspace made by the previous release opens and upgrades without loss; one from a
newer release is refused; a read-only open never changes a workspace."""

from __future__ import annotations

import tarfile
from pathlib import Path

import duckdb
import pytest

from audit_kit.cli import run
from audit_kit.errors import WorkspaceError
from audit_kit.store import migrations
from audit_kit.store.assessments import load_latest_assessment
from audit_kit.store.findings import detection_runs, load_findings
from audit_kit.store.workspace import DB_FILE, Workspace

V1 = Path(__file__).parent / "data" / "workspace-v1.tar.gz"


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    with tarfile.open(V1) as tar:
        tar.extractall(ws, filter="data")
    return ws


def _table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}


def _counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return _table_counts(con)
    finally:
        con.close()


def test_a_v1_workspace_upgrades_without_losing_a_row(v1: Path) -> None:
    before = _counts(v1 / DB_FILE)
    assert before["events"] == 11936 and before["findings"] == 37 and before["scan_alerts"] == 18
    with Workspace.open(v1) as ws:
        assert ws.schema_version == migrations.SCHEMA_VERSION
        # Every row is still there, and the new columns exist (empty for the old rows).
        after = _table_counts(ws.con)
        assert {t: after[t] for t in before} == before
        assert len(load_findings(ws)) == 37
        [old_run] = detection_runs(ws)
        assert old_run.config_source is None and old_run.findings > 0
        latest = load_latest_assessment(ws)
        assert latest is not None and len(latest.orgs) == 4 and latest.config_source is None
    # Opening again changes nothing more.
    with Workspace.open(v1) as ws:
        assert _table_counts(ws.con) == after


def test_an_upgraded_workspace_is_judged_and_reported_again(v1: Path, tmp_path: Path, capsys) -> None:
    assert run(["detect", "-w", str(v1), "-q", "-f", "json", "-o", str(tmp_path / "f.json")]) in (0, 3)
    assert run(["assess", "-w", str(v1), "-q", "-f", "json", "-o", str(tmp_path / "a.json")]) == 0
    assert run(["report", "-w", str(v1), "-q", "-o", str(tmp_path / "r.html")]) == 0
    with Workspace.open(v1, read_only=True) as ws:
        newest = detection_runs(ws)[0]
        assert newest.config_source == "defaults" and newest.config_sha256
        assert load_latest_assessment(ws).config_sha256 == newest.config_sha256  # type: ignore[union-attr]


def test_a_workspace_from_a_newer_release_is_refused(v1: Path) -> None:
    con = duckdb.connect(str(v1 / DB_FILE))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    before = _counts(v1 / DB_FILE)
    for read_only in (False, True):
        with pytest.raises(WorkspaceError, match="newer audit-kit .*schema version 99"):
            Workspace.open(v1, read_only=read_only)
    assert _counts(v1 / DB_FILE) == before


def test_read_only_never_upgrades(v1: Path) -> None:
    with pytest.raises(WorkspaceError, match="needs an upgrade"):
        Workspace.open(v1, read_only=True)
    con = duckdb.connect(str(v1 / DB_FILE), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [("1",)]
    con.close()


def test_a_new_workspace_starts_at_the_current_version_with_every_table(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        assert ws.schema_version == migrations.SCHEMA_VERSION
        for repo in migrations.REPOSITORIES:
            for ddl in repo.DDL:
                name = ddl.split("EXISTS", 1)[1].split("(", 1)[0].strip().strip('"')
                assert ws.has_table(name), name


def test_a_file_where_the_workspace_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ws").write_text("not a directory")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace.open(tmp_path / "ws", create=True)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / DB_FILE).write_bytes(b"\0" * 8192)
    with pytest.raises(WorkspaceError, match="cannot"):
        Workspace.open(damaged)
