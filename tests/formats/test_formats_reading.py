"""File layouts every preset shares: NDJSON vs documents, gzip, size cap, unreadable files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from formats_helpers import DATA, rows

from audit_kit.errors import InputError
from audit_kit.ingest.presets import PRESETS, STAGED_COLUMNS, detect_preset, get_preset
from audit_kit.ingest.presets.cloudtrail import CloudTrailPreset
from audit_kit.ingest.presets.fhir import FhirAuditEventPreset


def test_staged_columns_are_the_contract() -> None:
    table = PRESETS["ocsf"].read(DATA / "ocsf" / "events.ndjson")
    assert tuple(table.column_names) == STAGED_COLUMNS
    assert str(table.schema.field("_row").type) == "int64"
    assert all(str(table.schema.field(c).type) == "string" for c in STAGED_COLUMNS[1:])


def test_detect_each_fixture_and_leave_other_files_alone(tmp_path: Path) -> None:
    assert detect_preset(DATA / "fhir" / "r4-bundle.json") == "fhir"
    assert detect_preset(DATA / "fhir" / "r5-events.ndjson") == "fhir"
    assert detect_preset(DATA / "cloudtrail" / "records.ndjson") == "cloudtrail"
    csv = tmp_path / "events.csv"
    csv.write_text("timestamp,user_id,org_id,record_id,action,outcome\n2026-03-02T09:00:00Z,U1,LA1,C1,view,success\n")
    assert detect_preset(csv) is None
    canonical = tmp_path / "events.jsonl"
    canonical.write_text(json.dumps({"timestamp": "2026-03-02T09:00:00Z", "user_id": "U1", "action": "view"}) + "\n")
    assert detect_preset(canonical) is None


def test_unknown_preset_name_lists_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown preset 'splunk': expected one of fhir, ocsf, cloudtrail"):
        get_preset("splunk")


def test_missing_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ndjson"
    with pytest.raises(InputError, match="nope.ndjson: cannot read"):
        PRESETS["fhir"].read(missing)
    with pytest.raises(InputError, match="nope.ndjson"):
        detect_preset(missing)


def test_corrupt_gzip_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "audit.json.gz"
    bad.write_bytes(gzip.compress(b'{"Records": []}')[:12])
    with pytest.raises(InputError, match="audit.json.gz"):
        PRESETS["cloudtrail"].read(bad)


def test_broken_single_document_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "trail.json"
    path.write_text('{\n  "Records": [\n    {"eventName": "GetObject"},\n')
    with pytest.raises(InputError, match=r"trail.json: not a valid JSON document: invalid JSON"):
        PRESETS["cloudtrail"].read(path)


def test_ndjson_with_broken_first_line_keeps_every_line(tmp_path: Path) -> None:
    lines = (DATA / "cloudtrail" / "records.ndjson").read_text().splitlines()
    path = tmp_path / "trail.ndjson"
    path.write_text("\n".join([lines[0][:40]] + lines[1:]) + "\n")
    got = rows(PRESETS["cloudtrail"].read(path))
    assert [r["_row"] for r in got] == [1, 2, 3, 4]
    assert got[0]["_error"].startswith("invalid JSON")
    assert all("_error" not in r for r in got[1:])


def test_invalid_utf8_line_is_an_error_row(tmp_path: Path) -> None:
    line = (DATA / "cloudtrail" / "records.ndjson").read_bytes().splitlines()[0]
    path = tmp_path / "trail.ndjson"
    path.write_bytes(line + b"\n" + b'{"eventName": "Get\xff\xfeObject"}\n')
    got = rows(PRESETS["cloudtrail"].read(path))
    assert got[1] == {"_row": 2, "_error": "invalid UTF-8 at byte 18"}


def test_document_over_the_size_cap_is_refused_with_a_hint(tmp_path: Path) -> None:
    preset = CloudTrailPreset(max_document_bytes=4096)
    with pytest.raises(InputError) as err:
        preset.read(DATA / "cloudtrail" / "records.json")  # ~12 kB pretty-printed
    assert "records.json: the JSON document is larger than the 4096 bytes" in str(err.value)
    assert "NDJSON" in str(err.value)
    # NDJSON is streamed: only a single line over the cap is refused.
    assert preset.read(DATA / "cloudtrail" / "records.ndjson").num_rows == 4


def test_ndjson_line_over_the_cap_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "fhir.ndjson"
    small = json.dumps({"resourceType": "AuditEvent", "id": "a"})
    path.write_text(small + "\n" + json.dumps({"resourceType": "AuditEvent", "id": "b" * 5000}) + "\n")
    with pytest.raises(InputError, match="fhir.ndjson: line 2 is larger than"):
        FhirAuditEventPreset(max_document_bytes=1000).read(path)


def test_raw_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "fhir.ndjson"
    path.write_text(json.dumps({"resourceType": "Observation", "note": "x" * 10_000}) + "\n")
    (row,) = PRESETS["fhir"].read(path).to_pylist()
    assert len(row["_raw"]) == 2000
    assert row["_error"] == "not an AuditEvent (resourceType 'Observation')"


def test_empty_and_blank_files_yield_no_rows(tmp_path: Path) -> None:
    for text in ("", "\n\n  \n", '{"resourceType": "Bundle", "type": "collection"}'):
        path = tmp_path / "empty.json"
        path.write_text(text)
        table = PRESETS["fhir"].read(path)
        assert table.num_rows == 0 and tuple(table.column_names) == STAGED_COLUMNS


def test_one_element_array_with_bare_brackets_is_a_document(tmp_path: Path) -> None:
    record = json.loads((DATA / "cloudtrail" / "records.ndjson").read_text().splitlines()[2])
    path = tmp_path / "trail.json"
    path.write_text("[\n" + json.dumps(record) + "\n]\n")
    (row,) = rows(PRESETS["cloudtrail"].read(path))
    assert (row["_row"], row["event_id"], row["action"]) == (1, record["eventID"], "view")
