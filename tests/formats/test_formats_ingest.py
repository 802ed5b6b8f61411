"""The presets through the real `audit-kit ingest`: detected, stored, quarantined with reasons."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import pytest
from formats_helpers import DATA

from audit_kit.cli import run
from audit_kit.store.workspace import Workspace


def _dataset(tmp_path: Path) -> Path:
    ds = tmp_path / "review"
    (ds / "events").mkdir(parents=True)
    (ds / "organisations.csv").write_text(
        "org_id,name,type,area\nLA001,Ashford Council,local_authority,A1\nGP042,Ashford Surgery,gp_practice,A1\n"
    )
    shutil.copy(DATA / "fhir" / "r4-bundle.json", ds / "events" / "fhir-bundle.json")
    shutil.copy(DATA / "fhir" / "r5-events.ndjson", ds / "events" / "fhir-r5.ndjson")
    shutil.copy(DATA / "ocsf" / "events.ndjson", ds / "events" / "ocsf.ndjson")
    (ds / "events" / "trail.json.gz").write_bytes(gzip.compress((DATA / "cloudtrail" / "records.json").read_bytes()))
    return ds


def _ingest(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert run(args) == 0
    return json.loads(capsys.readouterr().out)


def test_ingest_detects_every_preset_and_reconciles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds, ws = _dataset(tmp_path), tmp_path / "ws"
    report = _ingest(["ingest", str(ds), "--workspace", str(ws), "--format", "json", "--quiet"], capsys)
    files = {Path(f["path"]).name: f for f in report["files"]}
    # Every record of every file is counted: 11 bundle entries, 5 R5 lines, 12 OCSF lines, 10 CloudTrail records.
    assert {n: files[n]["read"] for n in ("fhir-bundle.json", "fhir-r5.ndjson", "ocsf.ndjson", "trail.json.gz")} == {
        "fhir-bundle.json": 11, "fhir-r5.ndjson": 5, "ocsf.ndjson": 12, "trail.json.gz": 10,
    }
    assert all(f["read"] == f["stored"] + f["quarantined"] + f["duplicates"] for f in report["files"])
    with open(report["quarantine_file"], newline="") as fh:
        reasons = {(Path(r["source_file"]).name, int(r["row"])): r["reason"] for r in csv.DictReader(fh)}
    assert reasons[("fhir-bundle.json", 10)] == "Bundle entry has no resource"
    assert reasons[("ocsf.ndjson", 11)].startswith("OCSF Network Activity event names no user")
    assert reasons[("ocsf.ndjson", 12)].startswith("org_id is missing: the record names no organisation: pass --org")
    assert ("trail.json.gz", 8) not in reasons  # AssumeRole: a login to the role
    assert reasons[("fhir-r5.ndjson", 4)].startswith("invalid JSON")
    with Workspace.open(ws, read_only=True) as w:
        row = w.con.execute(
            "SELECT timestamp, user_id, org_id, record_id, action, outcome, purpose, break_glass FROM events "
            "WHERE event_id = 'ae-btg-1'").fetchone()
    assert row[1:] == ("U1005", "NHS010", "C000777", "view", "success", "ETREAT|BTG", True)
    assert row[0].isoformat() == "2026-03-02T23:40:00"  # stored as the UTC instant


def test_explicit_preset_on_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "audit.json"  # nothing in the name says FHIR
    shutil.copy(DATA / "fhir" / "r5-events.ndjson", events)
    report = _ingest(["ingest", str(events), "--workspace", str(tmp_path / "ws"), "--preset", "fhir",
                      "--format", "json", "--quiet"], capsys)
    assert (report["read"], report["stored"], report["quarantined"]) == (5, 3, 2)


def test_unknown_preset_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "audit.ndjson"
    shutil.copy(DATA / "ocsf" / "events.ndjson", events)
    code = run(["ingest", str(events), "--workspace", str(tmp_path / "ws"), "--preset", "splunk", "--quiet"])
    assert code == 2
    assert "unknown preset 'splunk'" in capsys.readouterr().err


def test_restricted_records_from_fhir_become_shielded_subjects(tmp_path):
    """A FHIR securityLabel R/V marks the child shielded in the workspace, known to subjects.csv or not."""
    from audit_kit.ingest import ingest_files
    from audit_kit.store.workspace import Workspace

    with Workspace.open(tmp_path / "ws", create=True) as ws:
        ws.con.execute("INSERT INTO subjects (record_id, home_area, shielded) VALUES ('C000321', 'N01', false)")
        ingest_files(ws, [DATA / "fhir" / "r5-events.ndjson"])
        shielded = dict(ws.con.execute("SELECT record_id, shielded FROM subjects").fetchall())
    assert shielded["C000321"] is True
