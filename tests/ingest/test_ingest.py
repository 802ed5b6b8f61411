"""Ingest keeps every row: stored, duplicate, or quarantined with file, row and reason."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import duckdb
import pytest
from _ingest_data import EVENTS, write_dataset

from audit_kit.cli import run
from audit_kit.errors import ConfigError, InputError
from audit_kit.ingest import ingest_dataset, ingest_files, load_mapping
from audit_kit.store.workspace import Workspace


def _ingest(ds: Path, ws_path: Path, **kw):
    with Workspace.open(ws_path, create=True) as ws:
        return ingest_dataset(ws, ds, **kw)


def _quarantine(ws_path: Path) -> list[tuple]:
    with Workspace.open(ws_path) as ws:
        return ws.con.execute(
            "SELECT source_file, source_row, kind, reason FROM quarantine ORDER BY source_file, source_row"
        ).fetchall()


def test_clean_dataset_is_stored_whole(dataset, ws_path):
    rep = _ingest(dataset, ws_path)
    assert (rep.read, rep.stored, rep.quarantined, rep.duplicates) == (7, 7, 0, 0)
    assert rep.missing_reference == ["subjects.csv", "involvements.csv"]
    with Workspace.open(ws_path) as ws:
        rows = dict(ws.con.execute("SELECT event_id, action FROM events").fetchall())
        org_type = ws.con.execute("SELECT type FROM organisations WHERE org_id='LA001'").fetchone()[0]
    assert rows == {"e1": "view", "e2": "search", "e3": "print"}
    assert org_type == "local_authority"  # 'Local Authority' normalised to the vocabulary


def test_bad_rows_are_quarantined_with_file_row_and_reason(tmp_path, ws_path):
    events = EVENTS + (
        "e4,2026-07-01 12:00:00,u1,LA001,c1,view,success,,\n"  # row 5: naive timestamp
        "e5,yesterday,u1,LA001,c1,peek,success,x,maybe\n"  # row 6: four problems
        "e6,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,,extra\n"  # row 7: too many columns
        "e7,2026-07-01T12:00:00Z,u1,LA001,,view,success,,\n"  # row 8: view without a record
        ",2026-07-01T12:00:00Z,,LA001,c1,view,,,\n"  # row 9: no user, no outcome
    )
    ds = write_dataset(tmp_path / "ds", events=events)
    rep = _ingest(ds, ws_path)
    ev = [f for f in rep.files if f.kind == "events"][0]
    assert (ev.read, ev.stored, ev.quarantined, ev.duplicates) == (8, 3, 5, 0)
    q = {row: reason for (_f, row, kind, reason) in _quarantine(ws_path) if kind == "events"}
    assert set(q) == {5, 6, 7, 8, 9}
    assert "has no UTC offset" in q[5]
    assert 'timestamp "yesterday" is not a valid ISO 8601 date-time' in q[6]
    assert 'action "peek" is not one of' in q[6]
    assert 'records_returned "x"' in q[6] and 'break_glass "maybe"' in q[6]
    assert q[7].startswith("malformed CSV row")
    assert q[8] == "record_id is missing for a view"
    assert "user_id is missing" in q[9] and "outcome is missing" in q[9]
    # The quarantine CSV mirrors the table and names the source file.
    qfile = Path(rep.quarantine_file)
    with qfile.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and all(r["source_file"].endswith("a.csv") for r in rows)
    assert {int(r["row"]) for r in rows} == {5, 6, 7, 8, 9}


def test_reingest_adds_nothing_and_reconciles(dataset, ws_path):
    first = _ingest(dataset, ws_path)
    again = _ingest(dataset, ws_path)
    assert again.read == first.read
    assert again.stored == 0 and again.quarantined == 0 and again.duplicates == first.read
    with Workspace.open(ws_path) as ws:
        assert ws.count("events") == 3


def test_overlapping_export_is_deduplicated_by_event_id(dataset, ws_path, tmp_path):
    _ingest(dataset, ws_path)
    overlap = tmp_path / "more.csv"
    overlap.write_text(EVENTS + "e9,2026-07-02T12:00:00Z,u1,LA001,c9,view,success,,\n")
    with Workspace.open(ws_path) as ws:
        rep = ingest_files(ws, [overlap])
        assert (rep.read, rep.stored, rep.duplicates) == (4, 1, 3)
        assert ws.count("events") == 4


def test_a_late_redelivery_is_a_duplicate_and_a_reused_id_a_collision_whenever_they_happened(dataset, ws_path,
                                                                                            tmp_path):
    # A later file: e1 again (the same instant written with another offset, among events months later), and
    # e2's id on a different event months after e2. Duplicates are looked for among stored events of the
    # file's time span only; id collisions among all stored ids.
    _ingest(dataset, ws_path)
    later = tmp_path / "later.csv"
    later.write_text(
        "event_id,timestamp,user_id,org_id,record_id,action,outcome,records_returned,break_glass\n"
        "e1,2026-07-01T13:00:00+01:00,u1,LA001,c1,view,success,,\n"
        "e2,2026-11-30T10:00:00Z,u2,GP002,c7,view,success,,\n"
        "e8,2026-12-01T10:00:00Z,u2,GP002,c8,view,success,,\n")
    with Workspace.open(ws_path) as ws:
        rep = ingest_files(ws, [later])
        f = rep.files[0]
        assert (f.read, f.stored, f.duplicates, f.id_collisions) == (3, 2, 1, 1)
        assert ws.count("events") == 5


def test_events_without_ids_are_deduplicated_by_content(tmp_path, ws_path):
    events = (
        "timestamp,user_id,org_id,record_id,action,outcome\n"
        "2026-07-01T12:00:00Z,u1,LA001,c1,view,success\n"
        "2026-07-01T12:00:00Z,u1,LA001,c1,view,success\n"
        "2026-07-01T12:00:01Z,u1,LA001,c1,view,success\n"
    )
    ds = write_dataset(tmp_path / "ds", events=events)
    rep = _ingest(ds, ws_path)
    ev = [f for f in rep.files if f.kind == "events"][0]
    assert (ev.read, ev.stored, ev.duplicates) == (3, 2, 1)
    with Workspace.open(ws_path) as ws:
        ids = [r[0] for r in ws.con.execute("SELECT event_id FROM events").fetchall()]
    assert all(i.startswith("h:") for i in ids)


def test_local_time_follows_the_organisation_zone_across_summer_time(dataset, ws_path):
    _ingest(dataset, ws_path)
    with Workspace.open(ws_path) as ws:
        got = dict(ws.con.execute("SELECT event_id, strftime(local_time, '%H:%M') FROM events").fetchall())
    assert got["e1"] == "13:00"  # BST in July
    assert got["e2"] == "09:30"  # GMT in January
    assert got["e3"] == "02:30"  # 01:30Z on the night the clocks go forward


def test_jsonl_gzip_and_parquet_are_read(tmp_path, ws_path, dataset):
    _ingest(dataset, ws_path)
    lines = [
        {"event_id": "j1", "timestamp": "2026-07-03T08:00:00Z", "user_id": "u1", "org_id": "LA001",
         "record_id": "c1", "action": "view", "outcome": "success", "records_returned": 1},
    ]
    jl = tmp_path / "x.jsonl.gz"
    with gzip.open(jl, "wt") as fh:
        fh.write(json.dumps(lines[0]) + "\n[1,2]\n\n")
    pq = tmp_path / "y.parquet"
    duckdb.sql(
        "COPY (SELECT 'p1' AS event_id, TIMESTAMP '2026-07-04 08:00:00' AS timestamp, 'u1' AS user_id, "
        "'LA001' AS org_id, 'c1' AS record_id, 'export' AS action, 'success' AS outcome) "
        f"TO '{pq}' (FORMAT parquet)"
    )
    with Workspace.open(ws_path) as ws:
        rep = ingest_files(ws, [jl, pq])
        files = {Path(f.path).name: f for f in rep.files}
        assert (files["x.jsonl.gz"].read, files["x.jsonl.gz"].stored, files["x.jsonl.gz"].quarantined) == (2, 1, 1)
        assert files["y.parquet"].stored == 1
        ts = ws.con.execute("SELECT strftime(timestamp, '%H:%M') FROM events WHERE event_id='p1'").fetchone()[0]
        reason = ws.con.execute("SELECT reason FROM quarantine WHERE source_row = 2").fetchone()[0]
    assert ts == "08:00"  # Parquet timestamps are taken as UTC
    assert reason == "not a JSON object"


def test_mapping_file_reads_a_foreign_log(tmp_path, ws_path, dataset):
    _ingest(dataset, ws_path)
    log = tmp_path / "vendor.csv"
    log.write_text(
        "When;Who;ChildRef;Verb;Result\n"
        "01/07/2026 13:00:00;u1;c1;READ;OK\n"
        "01/07/2026 13:05:00;u1;c1;ZAP;OK\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "columns: {timestamp: When, user_id: Who, record_id: ChildRef, action: Verb, outcome: Result}\n"
        "delimiter: ';'\n"
        "timestamp_format: '%d/%m/%Y %H:%M:%S'\n"
        "timezone: Europe/London\n"
        "values: {action: {READ: view}, outcome: {OK: success}}\n"
        "constants: {org_id: LA001}\n"
    )
    with Workspace.open(ws_path) as ws:
        rep = ingest_files(ws, [log], load_mapping(mapping))
        assert (rep.read, rep.stored, rep.quarantined) == (2, 1, 1)
        ts = ws.con.execute("SELECT strftime(timestamp, '%H:%M') FROM events WHERE user_id='u1' AND org_id='LA001' "
                            "AND action='view' AND timestamp > '2026-07-01 11:00'").fetchone()[0]
        reason = ws.con.execute("SELECT reason FROM quarantine").fetchone()[0]
    assert ts == "12:00"  # 13:00 London summer time is 12:00 UTC
    assert 'action "ZAP" is not one of' in reason  # quoted as written in the file


def test_mapping_file_errors_name_the_key(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("columns: {when: When}\n")
    with pytest.raises(ConfigError, match=r"m.yaml: key columns: .*unknown canonical field\(s\) when"):
        load_mapping(bad)
    bad.write_text("colums: {}\n")
    with pytest.raises(ConfigError, match="key colums"):
        load_mapping(bad)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x]\nb: [*a, *a]\n")
    with pytest.raises(InputError, match="not allowed"):
        load_mapping(bomb)


def test_missing_required_column_is_one_clear_error(tmp_path, ws_path):
    ds = write_dataset(tmp_path / "ds", events="timestamp,user,org_id,action,outcome\n")
    with pytest.raises(InputError, match=r"a.csv: missing required column\(s\) user_id"):
        _ingest(ds, ws_path)


def test_reference_rows_are_validated(tmp_path, ws_path):
    orgs = (
        "org_id,name,type,area,timezone,working_hours\n"
        "LA001,Northshire,local_authority,N01,,\n"
        "X1,Bad,spaceship,N02,Mars/Olympus,9-5\n"
        "LA001,Northshire again,school,N01,,\n"
    )
    users = "user_id,org_id,role,start_date,end_date\nu1,LA001,caseworker,2024-13-01,\nu2,LA001,admin,2025-01-01,2024-01-01\n"
    ds = write_dataset(tmp_path / "ds", orgs=orgs, users=users)
    rep = _ingest(ds, ws_path)
    org = [f for f in rep.files if f.kind == "organisations"][0]
    assert (org.read, org.stored, org.quarantined) == (3, 1, 2)
    q = {(kind, row): reason for (_f, row, kind, reason) in _quarantine(ws_path)}
    # An unknown type word is no reason to drop a body (it is stored and warned about, below); the
    # zone and hours are.
    assert "Mars/Olympus" in q[("organisations", 3)] and "spaceship" not in q[("organisations", 3)]
    assert "repeats the key (org_id) of row 2" in q[("organisations", 4)]
    assert 'start_date "2024-13-01" is not a date' in q[("users", 2)]
    assert q[("users", 3)] == "end_date is before start_date"


def test_unknown_users_are_stored_and_counted(tmp_path, ws_path):
    events = EVENTS + "e4,2026-07-01T12:00:00Z,ghost,LA001,c1,view,success,,\n"
    rep = _ingest(write_dataset(tmp_path / "ds", events=events), ws_path)
    assert rep.unknown_users == 1
    with Workspace.open(ws_path) as ws:
        assert ws.con.execute("SELECT count(*) FROM events WHERE user_id='ghost'").fetchone()[0] == 1


def test_unreadable_files_are_reported_not_skipped_silently(dataset, ws_path):
    (dataset / "events" / "notes.docx").write_text("x")
    rep = _ingest(dataset, ws_path)
    assert [Path(p).name for p, _ in rep.skipped_files] == ["notes.docx"]


def test_cli_json_keys_and_exit_codes(dataset, ws_path, capsys):
    assert run(["ingest", str(dataset), "--workspace", str(ws_path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {k: doc[k] for k in ("read", "stored", "quarantined", "duplicates")} == {
        "read": 7, "stored": 7, "quarantined": 0, "duplicates": 0}
    assert run(["ingest", str(dataset / "missing"), "--workspace", str(ws_path)]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    (dataset / "organisations.csv").unlink()
    assert run(["ingest", str(dataset), "--workspace", str(ws_path.parent / "fresh")]) == 2
    assert "organisations.csv is missing" in capsys.readouterr().err
    assert run(["ingest", "--help"]) == 0
    assert "Example:" in capsys.readouterr().out


def test_workspace_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "file.txt").write_text("x")
    assert run(["ingest", str(tmp_path / "stuff"), "--workspace", str(tmp_path / "stuff")]) == 2


def test_quarantine_csv_is_formula_safe_for_spreadsheets(tmp_path, ws_path):
    events = EVENTS + '=HYPERLINK("http://x"),2026-07-01T12:00:00Z,u1,LA001,c1,peek,success,,\n'
    rep = _ingest(write_dataset(tmp_path / "ds", events=events), ws_path)
    with Path(rep.quarantine_file).open() as fh:
        raw = next(csv.DictReader(fh))["raw"]
    assert raw.startswith("'=HYPERLINK")
    with Workspace.open(ws_path) as ws:  # the table keeps the row exactly as read
        assert ws.con.execute("SELECT raw FROM quarantine").fetchone()[0].startswith("=HYPERLINK")


def test_jsonl_line_with_a_raw_control_character_is_quarantined_not_lost(tmp_path, ws_path, dataset):
    _ingest(dataset, ws_path)
    ok = json.dumps({"event_id": "j9", "timestamp": "2026-07-03T08:00:00Z", "user_id": "u1", "org_id": "LA001",
                     "record_id": "c1", "action": "view", "outcome": "success"})
    path = tmp_path / "ctl.jsonl"
    path.write_text(f"{ok}\n\x01\n\n{{\"a\": \"x\x01y\"}}\n{ok.replace('j9', 'j10')}\n")
    with Workspace.open(ws_path) as ws:
        rep = ingest_files(ws, [path])
        assert (rep.read, rep.stored, rep.quarantined) == (4, 2, 2)
        rows = dict(ws.con.execute("SELECT source_row, reason FROM quarantine").fetchall())
        srow = dict(ws.con.execute("SELECT event_id, source_row FROM events WHERE event_id LIKE 'j%'").fetchall())
    assert set(rows) == {2, 4} and all(r.startswith("not a JSON object") for r in rows.values())
    assert srow == {"j9": 1, "j10": 5}  # line numbers stay exact past rejected and blank lines


def test_a_folder_of_event_files_is_a_later_delivery(dataset, ws_path, tmp_path, capsys):
    _ingest(dataset, ws_path)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "d1.csv").write_text(EVENTS.replace("e1,", "x1,").replace("e2,", "x2,").replace("e3,", "x3,"))
    (drop / "readme.txt").write_text("not events")
    assert run(["ingest", str(drop), "-w", str(ws_path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["read"], doc["stored"]) == (3, 3)
    assert [Path(f["path"]).name for f in doc["skipped_files"]] == ["readme.txt"]  # reported, not silent
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(["ingest", str(empty), "-w", str(ws_path)]) == 2
    assert "neither a review directory" in capsys.readouterr().err


def test_mapping_constants_fill_missing_values_the_same_way_in_every_format(tmp_path, ws_path, dataset):
    _ingest(dataset, ws_path)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("constants: {org_id: LA001}\n")
    csv_log = tmp_path / "c.csv"
    csv_log.write_text("event_id,timestamp,user_id,org_id,record_id,action,outcome\n"
                       "k1,2026-07-01T12:00:00Z,u1,,c1,view,success\n"
                       "k2,2026-07-01T12:00:00Z,u2,GP002,c1,view,success\n")
    jl = tmp_path / "j.jsonl"
    jl.write_text(json.dumps({"event_id": "k3", "timestamp": "2026-07-01T12:00:00Z", "user_id": "u1",
                              "record_id": "c1", "action": "view", "outcome": "success"}) + "\n")
    with Workspace.open(ws_path) as ws:
        rep = ingest_files(ws, [csv_log, jl], load_mapping(mapping))
        orgs = dict(ws.con.execute("SELECT event_id, org_id FROM events WHERE event_id LIKE 'k%'").fetchall())
    assert rep.stored == 3
    assert orgs == {"k1": "LA001", "k2": "GP002", "k3": "LA001"}  # a value in the log wins over the constant


def test_id_collisions_are_all_found_when_only_the_new_ids_range_is_read(tmp_path, ws_path):
    # Ingest reads stored ids only within the new file's range of ids (zone maps skip the rest): a reused id
    # at either end of that range, or in its middle, is still a collision, and a fresh id is not.
    head = "event_id,timestamp,user_id,org_id,record_id,action,outcome\n"
    first = tmp_path / "first.csv"
    first.write_text(head + "".join(f"id{k:04d},2026-07-01T{k // 60:02d}:{k % 60:02d}:00Z,u1,LA001,c{k},view,success\n"
                                    for k in range(600)))
    reused = [17, 18, 250, 599]
    later = tmp_path / "later.csv"
    later.write_text(head + "".join(f"id{k:04d},2026-09-01T10:00:{i:02d}Z,u2,GP002,c9,view,success\n"
                                    for i, k in enumerate(reused))
                     + "id9999,2026-09-01T11:00:00Z,u2,GP002,c9,view,success\n")
    with Workspace.open(ws_path, create=True) as ws:
        ingest_files(ws, [first])
        f = ingest_files(ws, [later]).files[0]
        assert (f.read, f.stored, f.duplicates, f.id_collisions) == (5, 5, 0, len(reused))
        assert ws.count("events") == 605
