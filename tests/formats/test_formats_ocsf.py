"""OCSF Datastore Activity (6005), API Activity (6003) and Authentication (3002) mapped to staged rows."""

from __future__ import annotations

import json
from pathlib import Path

from formats_helpers import DATA, rows

from audit_kit.ingest.presets import PRESETS, detect_preset

OCSF = PRESETS["ocsf"]


def test_every_line_is_one_row_in_order() -> None:
    got = rows(OCSF.read(DATA / "ocsf" / "events.ndjson"))
    lines = (DATA / "ocsf" / "events.ndjson").read_text().splitlines()
    assert [r["_row"] for r in got] == list(range(1, len(lines) + 1))


def test_datastore_read_uses_epoch_time_resources_and_session() -> None:
    got = rows(OCSF.read(DATA / "ocsf" / "events.ndjson"))
    assert got[0] == {
        "_row": 1, "event_id": "ocsf-1", "timestamp": "2026-03-02T09:20:00.000Z", "user_id": "U3001",
        "org_id": "LA002", "record_id": "C000500", "action": "view", "outcome": "success",
        "source_ip": "10.1.2.3", "session_id": "sess-77", "source_action": "Datastore Activity: Read",
        "target": "children",
    }
    # Query (activity 4) is a search; time_dt wins over time; the count comes from unmapped.
    assert got[1]["action"] == "search"
    assert got[1]["timestamp"] == "2026-03-02T09:21:00Z"
    assert got[1]["records_returned"] == "37"


def test_api_activity_read_other_and_denied_delete() -> None:
    by_id = {r.get("event_id"): r for r in rows(OCSF.read(DATA / "ocsf" / "events.ndjson"))}
    assert by_id["ocsf-4"] == {
        "_row": 4, "event_id": "ocsf-4", "timestamp": "2026-03-02T10:00:00+01:00", "user_id": "U3002",
        "org_id": "GP010", "record_id": "C000501", "action": "view", "outcome": "success",
        "source_ip": "2001:db8::10", "source_action": "API Activity: Read",
    }
    assert by_id["ocsf-5"]["action"] == "export"  # Other (99) with operation ExportRecords
    assert (by_id["ocsf-6"]["action"], by_id["ocsf-6"]["outcome"]) == ("delete", "denied")  # HTTP 403


def test_authentication_logon_logoff_and_failures() -> None:
    by_id = {r.get("event_id"): r for r in rows(OCSF.read(DATA / "ocsf" / "events.ndjson"))}
    assert by_id["ocsf-7"] == {
        "_row": 7, "event_id": "ocsf-7", "timestamp": "2026-03-02T07:58:00Z", "user_id": "U3003",
        "org_id": "SCH011", "action": "login", "outcome": "success", "source_ip": "203.0.113.5",
        "auth_method": "mfa", "session_id": "s-991", "source_action": "Authentication: Logon",
    }
    assert (by_id["ocsf-8"]["outcome"], by_id["ocsf-8"]["auth_method"]) == ("failure", "basic")
    assert by_id["ocsf-9"]["action"] == "logout"


def test_unsupported_classes_and_activities_are_reasons() -> None:
    errors = {r["_row"]: r["_error"] for r in rows(OCSF.read(DATA / "ocsf" / "events.ndjson")) if "_error" in r}
    assert errors == {11: "OCSF Network Activity event names no user (actor.user.uid or name; a NULL SID is not one)"}
    got = {r["_row"]: r for r in rows(OCSF.read(DATA / "ocsf" / "events.ndjson"))}
    assert (got[3]["action"], got[3]["source_action"]) == ("key_use", "Datastore Activity: Encrypt")
    assert got[10]["action"] == "login"  # a Kerberos ticket-granting request is a logon's first step
    assert "org_id" not in got[12]  # left to --org or the mapping file


def test_activity_from_type_uid_and_status_words(tmp_path: Path) -> None:
    base = json.loads((DATA / "ocsf" / "events.ndjson").read_text().splitlines()[3])
    no_activity = {k: v for k, v in base.items() if k != "activity_id"}  # type_uid 600302 -> Read
    failed = dict(base, status_id=2, status_detail="Permission denied by policy")
    no_status = {k: v for k, v in base.items() if k not in ("status_id", "status")}
    no_time = {k: v for k, v in base.items() if k not in ("time", "time_dt")}
    path = tmp_path / "ocsf.json"
    path.write_text(json.dumps([no_activity, failed, no_status, no_time], indent=1))
    got = rows(OCSF.read(path))
    assert got[0]["action"] == "view"
    assert got[1]["outcome"] == "denied"
    assert got[2]["_error"] == "OCSF status_id None is not 1 (Success) or 2 (Failure)"
    assert got[3]["_error"] == "OCSF event has no time or time_dt"


def test_detected_from_the_head() -> None:
    assert detect_preset(DATA / "ocsf" / "events.ndjson") == "ocsf"
