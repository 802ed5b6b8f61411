"""The single-pass event ingest: rows go straight into `events` and are numbered, quarantined and
de-duplicated afterwards. Whatever path a file takes (clean, bad rows, duplicates), each stored event
keeps its exact file row and the counts reconcile."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from _ingest_data import write_dataset

from audit_kit.ingest import events as events_module
from audit_kit.ingest import ingest_dataset, ingest_files
from audit_kit.store.workspace import Workspace

HEADER = "event_id,timestamp,user_id,org_id,record_id,action,outcome\n"


def _row(i: int, action: str = "view", event_id: str | None = None) -> str:
    eid = f"n{i}" if event_id is None else event_id
    return f"{eid},2026-07-01T{i % 24:02d}:{i % 60:02d}:00Z,u{i % 7},LA001,c{i},{action},success\n"


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows))
    return path


def _stored_rows(ws: Workspace, path: Path) -> dict[str, int]:
    return dict(ws.con.execute(
        "SELECT event_id, source_row FROM events WHERE source_file = ?", [str(path)]).fetchall())


def _quarantined(ws: Workspace, path: Path) -> dict[int, str]:
    return dict(ws.con.execute(
        "SELECT source_row, reason FROM quarantine WHERE source_file = ?", [str(path)]).fetchall())


@pytest.fixture
def ws(dataset: Path, ws_path: Path):
    with Workspace.open(ws_path, create=True) as w:
        ingest_dataset(w, dataset)
        yield w


@pytest.fixture(params=["batch-insert", "scan-numbered"])
def numbering(request, monkeypatch):
    """Both ways a CSV file's rows get numbered: from the order-preserving append (normal), and by the
    scan itself (the safety net when a plan would not keep file order)."""
    if request.param == "scan-numbered":
        monkeypatch.setattr(events_module, "keeps_file_order", lambda *a: False)
    return request.param


def test_clean_file_and_file_with_bad_rows_number_the_same_rows_the_same_way(ws, tmp_path, numbering):
    good = [_row(i) for i in range(1, 41)]
    clean = _write(tmp_path / "clean.csv", good)
    # The same rows with bad ones in between: an unknown action, a malformed line, a row with no user.
    mixed_rows = list(good)
    mixed_rows.insert(0, _row(900, action="peek"))  # file row 2
    mixed_rows.insert(10, "x,y\n")  # file row 12: too few columns, rejected by the CSV parser
    mixed_rows.insert(25, "n901,2026-07-01T00:00:00Z,,LA001,c1,view,success\n")  # file row 27
    mixed_rows.append(_row(902, action="zap"))  # last row
    mixed = _write(tmp_path / "mixed.csv", [r.replace("n", "m", 1) if r[0] == "n" else r for r in mixed_rows])
    rep = ingest_files(ws, [clean, mixed])
    by_name = {Path(f.path).name: f for f in rep.files}
    assert (by_name["clean.csv"].read, by_name["clean.csv"].stored, by_name["clean.csv"].quarantined) == (40, 40, 0)
    m = by_name["mixed.csv"]
    assert (m.read, m.stored, m.quarantined, m.duplicates) == (44, 40, 4, 0)
    assert all(f.reconciles for f in rep.files)

    # Each stored event's row is the line it sits on in its file (header = row 1).
    for path in (clean, mixed):
        lines = path.read_text().splitlines()
        expected = {ln.split(",")[0]: n for n, ln in enumerate(lines, 1) if n > 1}
        stored = _stored_rows(ws, path)
        assert stored == {eid: expected[eid] for eid in stored}
    assert len(_stored_rows(ws, mixed)) == 40
    q = _quarantined(ws, mixed)
    assert set(q) == {2, 12, 27, 45}
    assert 'action "peek"' in q[2] and q[12].startswith("malformed CSV row") and q[27] == "user_id is missing"
    assert 'action "zap"' in q[45]
    # Failed rows never stay in events, and their raw text is kept for the reviewer.
    assert ws.con.execute("SELECT count(*) FROM events WHERE event_id IS NULL").fetchone()[0] == 0
    raw = ws.con.execute("SELECT raw FROM quarantine WHERE source_file = ? AND source_row = 27", [str(mixed)]
                         ).fetchone()[0]
    assert raw == "m901,2026-07-01T00:00:00Z,,LA001,c1,view,success"


def test_duplicates_keep_the_first_row_within_a_file_across_files_and_across_runs(ws, tmp_path):
    a = _write(tmp_path / "a.csv", [_row(1), _row(2), _row(1), _row(3, action="peek"), _row(1), _row(4)])
    b = _write(tmp_path / "b.csv", [_row(4), _row(5), _row(2)])
    rep = ingest_files(ws, [a, b])
    files = {Path(f.path).name: f for f in rep.files}
    assert (files["a.csv"].read, files["a.csv"].stored, files["a.csv"].quarantined,
            files["a.csv"].duplicates) == (6, 3, 1, 2)
    assert (files["b.csv"].stored, files["b.csv"].duplicates) == (1, 2)  # n4 and n2 came in a.csv
    assert _stored_rows(ws, a) == {"n1": 2, "n2": 3, "n4": 7}  # the first n1 (row 2) is the one kept
    assert _stored_rows(ws, b) == {"n5": 3}

    # A later run with new bytes but old events: every old one is a duplicate, the new one is stored.
    c = _write(tmp_path / "c.csv", [_row(5), _row(6), _row(1)])
    rep = ingest_files(ws, [c])
    assert (rep.read, rep.stored, rep.duplicates) == (3, 1, 2)
    assert _stored_rows(ws, c) == {"n6": 3}
    assert ws.con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (8, 8)  # 3 from the dataset fixture, 5 here


def test_events_without_ids_are_deduplicated_by_content_within_and_across_files(ws, tmp_path):
    header = "timestamp,user_id,org_id,record_id,action,outcome\n"
    same = "2026-07-01T12:00:00Z,u1,LA001,c1,view,success\n"
    other = "2026-07-01T12:00:01Z,u1,LA001,c1,view,success\n"
    a = tmp_path / "a.csv"
    a.write_text(header + same + other + same)
    b = tmp_path / "b.csv"
    b.write_text(header + other + "2026-07-01T12:00:02Z,u1,LA001,c1,view,success\n")
    rep = ingest_files(ws, [a, b])
    assert [(f.stored, f.duplicates) for f in rep.files] == [(2, 1), (1, 1)]
    assert sorted(ws.con.execute("SELECT source_row FROM events WHERE event_id LIKE 'h:%'").fetchall()) == [
        (2,), (3,), (3,)]


@pytest.mark.parametrize("case_limit", [500, 0], ids=["zone-by-case", "zone-by-join"])
def test_local_time_uses_each_organisations_zone_whichever_way_it_is_looked_up(tmp_path, monkeypatch, case_limit):
    monkeypatch.setattr(events_module, "_ZONE_CASE_LIMIT", case_limit)
    orgs = ("org_id,name,type,area,timezone,working_hours\n"
            "LA001,Northshire,local_authority,N01,,\n"
            "NY1,Partner,national_partner,X,America/New_York,\n")
    events = ("event_id,timestamp,user_id,org_id,record_id,action,outcome\n"
              "a,2026-07-01T12:00:00Z,u1,LA001,c1,view,success\n"
              "b,2026-07-01T12:00:00Z,u2,NY1,c1,view,success\n"
              "c,2026-01-15T12:00:00Z,u2,NY1,c1,view,success\n"
              "d,2026-07-01T12:00:00Z,ghost,NOPE,c1,view,success\n")
    ds = write_dataset(tmp_path / "ds", events=events, orgs=orgs)
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        rep = ingest_dataset(ws, ds)
        got = dict(ws.con.execute("SELECT event_id, strftime(local_time, '%H:%M') FROM events").fetchall())
        rows = dict(ws.con.execute("SELECT event_id, source_row FROM events").fetchall())
    assert rep.stored == 4 + 2 + 2  # events, organisations, users
    assert got == {"a": "13:00", "b": "08:00", "c": "07:00", "d": "13:00"}  # unknown org: Europe/London
    assert rows == {"a": 2, "b": 3, "c": 4, "d": 5}


def test_large_file_rows_stay_numbered_in_file_order(ws, tmp_path, numbering):
    # Big enough (~30 MB) for DuckDB to read the file in parallel chunks: file order must survive that.
    n, every = 400_000, 9973
    path = tmp_path / "big.csv"
    duckdb.sql(
        f"""COPY (SELECT 'n' || i AS event_id, '2026-07-01T12:00:00Z' AS timestamp, 'u' || (i % 50) AS user_id,
                   'LA001' AS org_id, 'c' || i AS record_id, CASE WHEN i % {every} = 0 THEN 'peek' ELSE 'view' END
                   AS action, 'success' AS outcome, repeat('x', 20) AS purpose
            FROM range(1, {n + 1}) t(i)) TO '{path}' (HEADER)"""
    )
    rep = ingest_files(ws, [path])
    bad = n // every
    assert (rep.read, rep.stored, rep.quarantined) == (n, n - bad, bad)
    off = ws.con.execute(
        "SELECT count(*) FROM events WHERE source_file = ? AND source_row <> "
        "CAST(substr(event_id, 2) AS BIGINT) + 1", [str(path)]).fetchone()[0]
    assert off == 0
    assert sorted(_quarantined(ws, path)) == [i * every + 1 for i in range(1, bad + 1)]


def test_the_append_keeps_file_order_for_plain_and_mapped_csv(ws, tmp_path):
    # The fast path depends on DuckDB planning an order-preserving insert; if a change to the SQL (say,
    # an IN list DuckDB turns into a join) lost it, ingest would fall back to the slow path: catch that.
    from audit_kit.ingest.mapping import ColumnMapping
    from audit_kit.ingest.sources import csv_source
    from audit_kit.schema import EVENT_INPUT_FIELDS, EVENT_REQUIRED_INPUT

    path = _write(tmp_path / "p.csv", [_row(1)])
    mapped = ColumnMapping(values={"action": {"READ": "view", "LIST": "search", "DL": "export", "P": "print",
                                              "X": "delete", "U": "update"}}, constants={"org_id": "LA001"},
                           timezone="Europe/London")
    params = {"path": str(path), "at": "2026-01-01 00:00:00", "batch": "b"}
    for mapping in (ColumnMapping(), mapped):
        src = csv_source(ws.con, path, EVENT_INPUT_FIELDS, EVENT_REQUIRED_INPUT, mapping)
        sql = events_module._append_sql(src, mapping, events_module._zone_expr([("NY1", "America/New_York")]))
        assert events_module.keeps_file_order(ws.con, sql, params)


def test_the_same_bytes_twice_in_one_run_are_stored_once(ws, tmp_path):
    a = _write(tmp_path / "a.csv", [_row(1), _row(2, action="peek"), _row(3)])
    copy = tmp_path / "copy.csv"
    copy.write_bytes(a.read_bytes())
    rep = ingest_files(ws, [a, copy])
    first, second = rep.files
    assert (first.read, first.stored, first.quarantined) == (3, 2, 1)
    assert second.already_ingested and (second.read, second.stored, second.duplicates) == (3, 0, 3)
    assert all(f.reconciles for f in rep.files)
    assert ws.con.execute("SELECT count(*) FROM ingest_files WHERE path = ?", [str(copy)]).fetchone()[0] == 0


def test_parquet_rows_keep_their_numbers_and_bad_ones_their_raw_text(ws, tmp_path):
    pq = tmp_path / "y.parquet"
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('p1', TIMESTAMP '2026-07-04 08:00:00', 'u1', 'LA001', 'c1', 'export', 'success'),"
        " ('p2', TIMESTAMP '2026-07-04 08:00:00', 'u1', 'LA001', 'c1', 'peek', 'success'),"
        " ('p1', TIMESTAMP '2026-07-04 08:00:00', 'u1', 'LA001', 'c1', 'export', 'success'))"
        f" t(event_id, timestamp, user_id, org_id, record_id, action, outcome)) TO '{pq}' (FORMAT parquet)"
    )
    rep = ingest_files(ws, [pq])
    assert (rep.read, rep.stored, rep.quarantined, rep.duplicates) == (3, 1, 1, 1)
    assert _stored_rows(ws, pq) == {"p1": 1}
    ((row, reason, raw),) = ws.con.execute(
        "SELECT source_row, reason, raw FROM quarantine WHERE source_file = ?", [str(pq)]).fetchall()
    assert row == 2 and 'action "peek"' in reason and "'action': peek" in raw
