"""AWS CloudTrail records (Records files, NDJSON, gzip) mapped to staged rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from formats_helpers import DATA, rows

from audit_kit.ingest.presets import PRESETS, detect_preset

CT = PRESETS["cloudtrail"]


def test_records_file_one_row_per_record() -> None:
    got = rows(CT.read(DATA / "cloudtrail" / "records.json"))
    records = json.loads((DATA / "cloudtrail" / "records.json").read_text())["Records"]
    assert [r["_row"] for r in got] == list(range(1, len(records) + 1))
    assert got[0] == {
        "_row": 1, "event_id": "3f1a0000-0000-4000-8000-000000000001", "timestamp": "2026-03-04T08:00:00Z",
        "user_id": "u4001", "org_id": "111122223333", "action": "login", "outcome": "success",
        "source_ip": "198.51.100.10", "auth_method": "mfa", "source_action": "signin:ConsoleLogin",
    }
    assert (got[1]["action"], got[1]["outcome"], got[1]["auth_method"]) == ("login", "failure", "password")


def test_assumed_role_object_read_and_dynamodb_key() -> None:
    got = rows(CT.read(DATA / "cloudtrail" / "records.json"))
    assert got[2] == {
        "_row": 3, "event_id": "3f1a0000-0000-4000-8000-000000000003", "timestamp": "2026-03-04T08:10:00Z",
        "user_id": "u4002@la003.example", "org_id": "444455556666", "record_id": "records/C000600.json",
        "action": "view", "outcome": "success", "source_ip": "198.51.100.10", "auth_method": "mfa",
        "session_id": "ASIAEXAMPLEKEY01", "source_action": "s3:GetObject",
    }
    assert got[3]["action"] == "search" and "record_id" not in got[3]
    assert (got[4]["action"], got[4]["record_id"]) == ("update", "C000601")
    assert (got[5]["action"], got[5]["outcome"]) == ("delete", "denied")
    assert "source_ip" not in got[6]  # glue.amazonaws.com is a service, not an address
    assert got[9]["action"] == "export"


def test_unmappable_records_are_reasons() -> None:
    errors = {r["_row"]: r["_error"] for r in rows(CT.read(DATA / "cloudtrail" / "records.json")) if "_error" in r}
    assert errors == {9: "CloudTrail record has no userIdentity"}


def test_role_assumption_is_a_login_to_the_role() -> None:
    got = rows(CT.read(DATA / "cloudtrail" / "records.json"))[7]
    assert (got["action"], got["source_action"]) == ("login", "sts:AssumeRole")
    assert "record_id" not in got and got["target"]


def test_ndjson_and_gzip_match_the_records_file(tmp_path: Path) -> None:
    whole = CT.read(DATA / "cloudtrail" / "records.json").drop(["_raw"]).slice(0, 4)
    ndjson = CT.read(DATA / "cloudtrail" / "records.ndjson").drop(["_raw"])
    assert ndjson.equals(whole)
    # CloudTrail delivers one compact JSON document per gzip file.
    gz = tmp_path / "111122223333_CloudTrail_eu-west-2_20260304T0805Z_abc.json.gz"
    gz.write_bytes(gzip.compress(json.dumps(json.loads((DATA / "cloudtrail" / "records.json").read_text())).encode()))
    assert detect_preset(gz) == "cloudtrail"
    assert CT.read(gz).drop(["_raw"]).equals(CT.read(DATA / "cloudtrail" / "records.json").drop(["_raw"]))
