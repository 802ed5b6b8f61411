"""Hostile and awkward inputs at the ingest doors: each is stored, quarantined with a reason naming the
row, or refused with exit 2 naming the file or key — never a traceback, a lost file or a moved window."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from _ingest_data import EVENTS, write_dataset

from audit_kit.cli import run
from audit_kit.errors import ConfigError, InputError
from audit_kit.ingest import EventLimits, ingest_dataset, ingest_files, ingest_path, load_mapping
from audit_kit.store.workspace import Workspace

HEADER = "event_id,timestamp,user_id,org_id,record_id,action,outcome,records_returned,break_glass\n"


def _quarantine(ws_path: Path) -> dict[int, str]:
    with Workspace.open(ws_path, read_only=True) as ws:
        return dict(ws.con.execute("SELECT source_row, reason FROM quarantine WHERE kind = 'events'").fetchall())


def _one_file(tmp_path: Path, body: str, name: str = "e.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_timestamps_need_a_time_and_a_real_offset(tmp_path: Path) -> None:
    rows = [
        "a,2026-09-02,u1,LA001,c1,view,success,,",  # a date: "-02" is not an offset
        "b,2026-09-02T10:00:00+25:00,u1,LA001,c1,view,success,,",
        "c,2026-09-02T10:00:00-99,u1,LA001,c1,view,success,,",
        "d,2026-09-02T10:00:00+05:30,u1,LA001,c1,view,success,,",  # fine
        "e,2026-09-02 10:00:00.5-0800,u1,LA001,c1,view,success,,",  # fine (space, fraction, ±HHMM)
    ]
    ws_path = tmp_path / "ws"
    with Workspace.open(ws_path, create=True) as ws:
        rep = ingest_files(ws, [_one_file(tmp_path, HEADER + "\n".join(rows) + "\n")])
        stored = dict(ws.con.execute("SELECT event_id, timestamp FROM events").fetchall())
    assert (rep.stored, rep.quarantined) == (2, 3)
    assert stored["d"].isoformat() == "2026-09-02T04:30:00"
    assert stored["e"].isoformat() == "2026-09-02T18:00:00.500000"
    q = _quarantine(ws_path)
    assert "is a date with no time of day" in q[2]
    assert "offset out of range" in q[3] and "offset out of range" in q[4]


def test_implausible_dates_are_quarantined_and_move_no_window(tmp_path: Path) -> None:
    rows = [
        "a,9999-12-31T00:00:00Z,u1,LA001,c1,view,success,,",
        "b,294247-01-10T04:00:54Z,u1,LA001,c1,view,success,,",
        "c,-2026-03-01T00:00:00Z,u1,LA001,c1,view,success,,",
        "d,2027 BC,u1,LA001,c1,view,success,,",
        "e,1970-01-01T00:00:00Z,u1,LA001,c1,view,success,,",  # before the default floor (1990)
        "f,2026-03-01T09:00:00Z,u1,LA001,c1,view,success,,",
        "g,2026-02-27T09:00:00Z,u1,LA001,c1,view,success,,",  # before the declared period below
    ]
    ws_path = tmp_path / "ws"
    limits = EventLimits(not_before=datetime(2026, 3, 1))
    with Workspace.open(ws_path, create=True) as ws:
        rep = ingest_files(ws, [_one_file(tmp_path, HEADER + "\n".join(rows) + "\n")], limits=limits)
        span = ws.con.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchone()
    assert (rep.stored, rep.quarantined) == (1, 6)
    assert span[0] == span[1] and span[0].isoformat() == "2026-03-01T09:00:00"
    q = _quarantine(ws_path)
    assert "in the future beyond the tolerance" in q[2]
    assert all("before 2026-03-01" in q[r] for r in (6, 8))
    assert all("not a valid ISO 8601 date-time" in q[r] for r in (3, 4, 5))


def test_numbers_are_read_strictly(tmp_path: Path) -> None:
    bad = ["3.7", "1e3", "0x10", "1_000", "-1", "١٢"]  # the last: Arabic-Indic digits
    rows = [f"r{i},2026-07-01T12:00:00Z,u1,LA001,,search,success,{v}," for i, v in enumerate(bad)]
    rows.append("ok,2026-07-01T12:00:00Z,u1,LA001,,search,success, 12 ,")
    ws_path = tmp_path / "ws"
    with Workspace.open(ws_path, create=True) as ws:
        rep = ingest_files(ws, [_one_file(tmp_path, HEADER + "\n".join(rows) + "\n")])
        got = ws.con.execute("SELECT records_returned FROM events").fetchall()
    assert (rep.stored, rep.quarantined) == (1, len(bad))
    assert got == [(12,)]
    assert all("is not a whole number" in r for r in _quarantine(ws_path).values())


def test_the_same_instant_written_two_ways_is_one_event(tmp_path: Path) -> None:
    body = ("timestamp,user_id,org_id,record_id,action,outcome\n"
            "2026-07-01T12:00:00Z,u1,LA001,c1,view,success\n"
            "2026-07-01T12:00:00+00:00,u1,LA001,c1,view,success\n"
            "2026-07-01T13:00:00+01:00,u1,LA001,c1,view,success\n")
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        rep = ingest_files(ws, [_one_file(tmp_path, body)])
    assert (rep.read, rep.stored, rep.duplicates) == (3, 1, 2)


def test_a_stray_quote_costs_one_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    rows = [f"e{i},2026-07-01T12:{i % 60:02d}:00Z,u1,LA001,c{i},view,success,," for i in range(2, 2600)]
    rows[5] = 'e7,2026-07-01T12:00:00Z,u1,"LA001,c7,view,success,,'  # file row 7: a quote that never closes
    rows[100] = 'e102,2026-07-01T12:00:00Z,u1,LA001,"a field\nover two lines",view,success,,'  # legitimate
    ws_path = tmp_path / "ws"
    with Workspace.open(ws_path, create=True) as ws:
        rep = ingest_files(ws, [_one_file(tmp_path, HEADER + "\n".join(rows) + "\n")])
        row_of = dict(ws.con.execute("SELECT event_id, source_row FROM events").fetchall())
        multi = ws.con.execute("SELECT record_id FROM events WHERE event_id = 'e102'").fetchone()
    assert (rep.read, rep.stored, rep.quarantined) == (2598, 2597, 1)
    assert list(_quarantine(ws_path)) == [7]
    assert "quote" in _quarantine(ws_path)[7]
    assert row_of["e8"] == 8 and row_of["e101"] == 101 and row_of["e102"] == 102
    assert row_of["e103"] == 104  # after the record that spans two lines
    assert multi == ("a field\nover two lines",)


def test_blank_lines_keep_the_row_numbers_true(tmp_path: Path) -> None:
    body = (HEADER + "a,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,\n\n\n"
            "b,2026-07-01T12:00:00Z,u1,LA001,,view,success,,\n"  # line 5: no record
            "   \n"
            "c,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,,extra\n"  # line 7: too many columns
            "d,2026-07-01T12:00:00Z,u1,LA001,,view,success,,\n")  # line 8
    ws_path = tmp_path / "ws"
    with Workspace.open(ws_path, create=True) as ws:
        rep = ingest_files(ws, [_one_file(tmp_path, body)])
    assert (rep.read, rep.stored, rep.quarantined) == (4, 1, 3)  # blank lines are not records
    assert sorted(_quarantine(ws_path)) == [5, 7, 8]


def test_deeply_nested_json_is_a_row_error(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    good = json.dumps({"timestamp": "2026-07-01T12:00:00Z", "user_id": "u1", "org_id": "LA001",
                       "action": "login", "outcome": "success"})
    path = _one_file(tmp_path, good + "\n" + deep + "\n" + '{"a":' * 50_000 + "1" + "}" * 50_000 + "\n", "e.jsonl")
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        rep = ingest_files(ws, [path])
    assert (rep.read, rep.stored, rep.quarantined) == (3, 1, 2)
    for preset in ("fhir", "ocsf", "cloudtrail"):
        with Workspace.open(tmp_path / f"ws-{preset}", create=True) as ws:
            rep = ingest_files(ws, [path], preset=preset)
        assert rep.read == 3 and rep.read == rep.stored + rep.quarantined


def test_hidden_files_and_folders_follow_one_reported_rule(tmp_path: Path) -> None:
    ds = write_dataset(tmp_path / "ds")
    (ds / "events" / ".hidden.csv").write_text(HEADER + "h1,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,\n")
    (ds / "events" / ".git").mkdir()
    (ds / "events" / ".git" / "old.csv").write_text(HEADER + "h2,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,\n")
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        rep = ingest_dataset(ws, ds)
        ids = {r[0] for r in ws.con.execute("SELECT event_id FROM events").fetchall()}
    assert ids == {"e1", "e2", "e3"}
    skipped = dict(rep.skipped_files)
    assert set(skipped) == {str(ds / "events" / ".hidden.csv"), str(ds / "events" / ".git") + "/"}
    assert len(set(skipped.values())) == 1 and "hidden" in next(iter(skipped.values()))


def test_links_out_of_the_dataset_are_refused_without_echoing_them(tmp_path: Path, capsys) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(HEADER + "s1,2026-07-01T12:00:00Z,TOPSECRET,LA001,c1,view,success,,\n")
    ds = write_dataset(tmp_path / "ds")
    os.symlink(secret, ds / "events" / "link.csv")
    os.symlink(ds / "events" / "a.csv", ds / "events" / "inside.csv")  # inside the dataset: read
    assert run(["ingest", str(ds), "--workspace", str(tmp_path / "ws"), "--format", "json", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "TOPSECRET" not in out
    report = json.loads(out)
    reasons = {s["path"]: s["reason"] for s in report["skipped_files"]}
    assert "leads out of the dataset" in reasons[str(ds / "events" / "link.csv")]
    with Workspace.open(tmp_path / "ws", read_only=True) as ws:
        assert ws.con.execute("SELECT count(*) FROM events WHERE user_id = 'TOPSECRET'").fetchone() == (0,)


def test_a_file_name_that_is_not_utf8_is_read(tmp_path: Path, capsys) -> None:
    ds = write_dataset(tmp_path / "ds")
    name = os.fsencode(ds / "events") + b"/caf\xe9-\xff.csv"
    with open(name, "wb") as fh:
        fh.write((HEADER + "n1,2026-07-01T12:00:00Z,u1,LA001,c1,view,success,,\n"
                  "n2,2026-07-01,u1,LA001,c1,view,success,,\n").encode())
    assert run(["ingest", str(ds), "--workspace", str(tmp_path / "ws"), "--format", "json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    named = [f for f in report["files"] if "caf" in f["path"]]
    assert named and named[0]["path"].endswith("caf\\xe9-\\xff.csv")
    assert (named[0]["stored"], named[0]["quarantined"]) == (1, 1)


@pytest.mark.parametrize(("body", "key"), [
    ("delimiter: ';;'\n", "delimiter"),
    ("timezone: Mars/Olympus_Mons\n", "timezone"),
])
def test_a_bad_mapping_key_is_exit_2_naming_it(tmp_path: Path, capsys, body: str, key: str) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(body)
    with pytest.raises(ConfigError, match=f"key {key}"):
        load_mapping(mapping)
    code = run(["ingest", str(write_dataset(tmp_path / "ds")), "--workspace", str(tmp_path / "ws"),
                "--mapping", str(mapping), "--quiet"])
    assert code == 2 and f"key {key}" in capsys.readouterr().err


def test_fhir_xml_with_a_doctype_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "audit.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                    '<AuditEvent xmlns="http://hl7.org/fhir"><id value="&b;"/></AuditEvent>')
    with Workspace.open(tmp_path / "ws", create=True) as ws, pytest.raises(InputError, match="DOCTYPE"):
        ingest_files(ws, [bomb])


def test_unknown_organisation_types_are_stored_warned_and_mappable(tmp_path: Path) -> None:
    orgs = ("org_id,name,type,area\nLA001,Northshire,local_authority,N01\nPF9,Northshire Police,police,N01\n"
            "AC1,Oak Academy,Academy Trust,N01\n")
    ds = write_dataset(tmp_path / "ds", orgs=orgs, events=EVENTS.replace("GP002", "PF9"))
    with Workspace.open(tmp_path / "ws", create=True) as ws:
        rep = ingest_dataset(ws, ds)
        types = dict(ws.con.execute("SELECT org_id, type FROM organisations").fetchall())
    assert types == {"LA001": "local_authority", "PF9": "police", "AC1": "Academy Trust"}
    assert any("'police' (1)" in w and "types:" in w for w in rep.warnings)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("types: {police: police_force, academy trust: school}\nroles: {GP: general_practitioner}\n")
    with Workspace.open(tmp_path / "ws2", create=True) as ws:
        rep = ingest_path(ws, ds, load_mapping(mapping))
        types = dict(ws.con.execute("SELECT org_id, type FROM organisations").fetchall())
        roles = dict(ws.con.execute("SELECT user_id, role FROM users").fetchall())
    assert types == {"LA001": "local_authority", "PF9": "police_force", "AC1": "school"}
    assert not rep.warnings
    assert roles["u2"] == "general_practitioner"
