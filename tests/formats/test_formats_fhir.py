"""FHIR AuditEvent R4 (Bundle) and R5 (NDJSON) mapped to staged canonical rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from formats_helpers import DATA, rows

from audit_kit.ingest.presets import PRESETS, STAGED_COLUMNS, detect_preset, shielded_records

FHIR = PRESETS["fhir"]


def test_r4_bundle_maps_every_entry_to_one_row() -> None:
    table = FHIR.read(DATA / "fhir" / "r4-bundle.json")
    assert table.column_names == list(STAGED_COLUMNS)
    got = rows(table)
    bundle = json.loads((DATA / "fhir" / "r4-bundle.json").read_text())
    assert [r["_row"] for r in got] == list(range(1, len(bundle["entry"]) + 1))
    # BALP PatientRead: user from the requesting agent, org from its identifier's assigner (ODS code),
    # source_ip from the client agent (the user agent has no network), purpose from purposeOfEvent.
    assert got[0] == {
        "_row": 1, "event_id": "ae-read-1", "timestamp": "2026-03-02T09:15:27+00:00", "user_id": "U1001",
        "org_id": "LA001", "record_id": "C000123", "action": "view", "outcome": "success",
        "source_ip": "10.20.30.40", "purpose": "TREAT", "break_glass": "false", "source_action": "read|R",
    }
    # BALP PatientQuery: action E with a query entity is a search; two patients came back; the
    # organisation is an Organization agent.
    assert got[1] == {
        "_row": 2, "event_id": "ae-query-1", "timestamp": "2026-03-02T09:16:02+00:00", "user_id": "U1002",
        "org_id": "GP042", "action": "search", "outcome": "success", "source_ip": "192.168.1.7",
        "records_returned": "2", "break_glass": "false", "source_action": "search-type|E",
    }


def test_r4_login_logout_export_denied_and_break_glass() -> None:
    by_id = {r.get("event_id"): r for r in rows(FHIR.read(DATA / "fhir" / "r4-bundle.json"))}
    assert by_id["ae-login-1"]["action"] == "login"
    assert by_id["ae-logout-1"]["action"] == "logout"
    assert "record_id" not in by_id["ae-login-1"]
    assert by_id["ae-export-1"]["action"] == "export"
    assert by_id["ae-export-1"]["record_id"] == "C000123"
    denied = by_id["ae-denied-1"]
    assert (denied["action"], denied["outcome"], denied["record_id"]) == ("view", "denied", "C000999")
    btg = by_id["ae-btg-1"]
    assert (btg["break_glass"], btg["purpose"]) == ("true", "ETREAT|BTG")


def test_r4_unmappable_entries_are_error_rows_with_reasons() -> None:
    errors = {r["_row"]: r["_error"] for r in rows(FHIR.read(DATA / "fhir" / "r4-bundle.json")) if "_error" in r}
    assert errors == {
        8: "AuditEvent has no agent that is a person (who.identifier, or a Practitioner, PractitionerRole, "
        "Patient, RelatedPerson or Person reference) other than the client or server software",
        10: "Bundle entry has no resource",
        11: "not an AuditEvent (resourceType 'Patient')",
    }


def test_an_execute_that_is_no_canonical_verb_is_other_with_its_codes() -> None:
    got = {r["_row"]: r for r in rows(FHIR.read(DATA / "fhir" / "r4-bundle.json"))}
    assert (got[9]["action"], got[9]["source_action"]) == ("other", "operation|E")


def test_error_rows_keep_the_source_record() -> None:
    table = FHIR.read(DATA / "fhir" / "r4-bundle.json")
    raw = {r["_row"]: r["_raw"] for r in table.to_pylist()}
    assert json.loads(raw[8])["id"] == "ae-noagent-1"
    assert json.loads(raw[10]) == {"fullUrl": "urn:uuid:7f1c2b1e-5b7d-4a53-9c0c-0c7c1f3a9e11"}


def test_restricted_security_label_is_reported_not_put_in_purpose() -> None:
    table = FHIR.read(DATA / "fhir" / "r4-bundle.json")
    assert shielded_records(table) == ["C000777"]
    assert "R" not in (rows(table)[5].get("purpose") or "").split("|")


def test_r5_ndjson_rows_are_line_numbers() -> None:
    got = rows(FHIR.read(DATA / "fhir" / "r5-events.ndjson"))
    assert [r["_row"] for r in got] == [1, 2, 4, 5, 6]  # line 3 is blank
    assert got[0] == {
        "_row": 1, "event_id": "r5-read-1", "timestamp": "2026-03-03T14:05:00+00:00", "user_id": "U2001",
        "org_id": "NHS010", "record_id": "C000321", "action": "view", "outcome": "success",
        "source_ip": "172.16.0.9", "purpose": "TREAT", "break_glass": "false", "source_action": "read|R",
    }
    # R5 outcome.code 4 with a detail saying Forbidden; IP from networkUri; org from an Organization agent.
    assert got[1] == {
        "_row": 2, "event_id": "r5-update-1", "timestamp": "2026-03-03T15:00:00+00:00", "user_id": "U2002",
        "org_id": "PF003", "record_id": "C000322", "action": "update", "outcome": "denied",
        "source_ip": "10.9.8.7", "break_glass": "false", "source_action": "update|U",
    }
    assert got[2]["_error"].startswith("invalid JSON: ")
    assert got[3]["action"] == "search" and got[3]["org_id"] == "LA004" and "record_id" not in got[3]
    assert got[4] == {"_row": 6, "_error": "not a JSON object but str"}


def test_r5_very_restricted_label_marks_the_record() -> None:
    assert shielded_records(FHIR.read(DATA / "fhir" / "r5-events.ndjson")) == ["C000321"]


def test_gzip_bundle_reads_the_same(tmp_path: Path) -> None:
    gz = tmp_path / "audit.json.gz"
    gz.write_bytes(gzip.compress((DATA / "fhir" / "r4-bundle.json").read_bytes()))
    assert detect_preset(gz) == "fhir"
    assert FHIR.read(gz).drop(["_raw"]).equals(FHIR.read(DATA / "fhir" / "r4-bundle.json").drop(["_raw"]))


def test_compact_one_line_bundle_numbers_entries(tmp_path: Path) -> None:
    bundle = json.loads((DATA / "fhir" / "r4-bundle.json").read_text())
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    got = rows(FHIR.read(path))
    assert [r["_row"] for r in got] == list(range(1, len(bundle["entry"]) + 1))
    assert got[0]["event_id"] == "ae-read-1"


def test_missing_outcome_time_and_organisation_are_reasons(tmp_path: Path) -> None:
    base = json.loads((DATA / "fhir" / "r4-bundle.json").read_text())["entry"][0]["resource"]
    no_outcome = {k: v for k, v in base.items() if k != "outcome"}
    no_time = {k: v for k, v in base.items() if k != "recorded"}
    no_org = json.loads(json.dumps(base))
    del no_org["agent"][2]["who"]["identifier"]["assigner"]
    bad_letter = dict(base, action="X", subtype=[])
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in (no_outcome, no_time, no_org, bad_letter)))
    got = rows(FHIR.read(path))
    assert got[0]["_error"] == "AuditEvent has no outcome"
    assert got[1]["_error"] == "AuditEvent has no recorded, period.start or occurred[x] time"
    # No organisation in the record: passed on without one (ingest takes it from --org or the mapping).
    assert "_error" not in got[2] and "org_id" not in got[2] and got[2]["user_id"] == "U1001"
    # An action letter FHIR does not define: stored as other, the letter kept.
    assert (got[3]["action"], got[3]["source_action"]) == ("other", "rest|X")


def test_organisation_is_the_users_not_the_custodians(tmp_path: Path) -> None:
    base = json.loads((DATA / "fhir" / "r4-bundle.json").read_text())["entry"][0]["resource"]
    custodian = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                      "code": "CST"}]},
                 "who": {"reference": "Organization/NATIONAL-HOLDER"}, "requestor": False}
    with_custodian = dict(base, agent=[custodian, *base["agent"]])  # the user's assigner says LA001
    no_assigner = json.loads(json.dumps(with_custodian))
    del no_assigner["agent"][3]["who"]["identifier"]["assigner"]  # only the custodian is left
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(with_custodian) + "\n" + json.dumps(no_assigner) + "\n")
    got = rows(FHIR.read(path))
    assert got[0]["org_id"] == "LA001"
    assert "_error" not in got[1] and "org_id" not in got[1]  # the custodian is not the user's body
