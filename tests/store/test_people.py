"""The people-side store: SQLite in WAL mode beside the DuckDB store, versioned, writable while DuckDB is held."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit_kit.errors import WorkspaceError
from audit_kit.store.people import PEOPLE_VERSION, PeopleStore
from audit_kit.store.workspace import Workspace


def test_people_store_is_writable_while_a_job_holds_the_analytical_store(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws", create=True)  # a scan or ingest holding DuckDB for writing
    try:
        with PeopleStore.open(tmp_path / "ws") as people, people.transaction() as con:
            con.execute("INSERT INTO people_meta VALUES ('k', 'v')")
        with PeopleStore.open(tmp_path / "ws", read_only=True) as reader:
            assert reader.con.execute("SELECT value FROM people_meta").fetchall() == [("v",)]
            assert reader.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        ws.close()


def test_a_reader_sees_committed_rows_while_a_writer_is_mid_transaction(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    writer = PeopleStore.open(tmp_path / "ws")
    reader = PeopleStore.open(tmp_path / "ws", read_only=True)
    with writer.transaction() as con:
        con.execute("INSERT INTO people_meta VALUES ('a', '1')")
    writer.con.execute("BEGIN IMMEDIATE")
    writer.con.execute("INSERT INTO people_meta VALUES ('b', '2')")
    assert reader.con.execute("SELECT key FROM people_meta").fetchall() == [("a",)]  # not blocked
    writer.con.execute("COMMIT")
    assert sorted(reader.con.execute("SELECT key FROM people_meta").fetchall()) == [("a",), ("b",)]
    writer.close()
    reader.close()


def test_a_newer_people_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    PeopleStore.open(tmp_path / "ws").close()
    con = sqlite3.connect(tmp_path / "ws" / "people.sqlite")
    con.execute(f"PRAGMA user_version = {PEOPLE_VERSION + 5}")
    con.close()
    with pytest.raises(WorkspaceError, match="newer audit-kit"):
        PeopleStore.open(tmp_path / "ws")
