"""Property tests: malformed documents never crash a reader, and no record is dropped.

Every input record yields exactly one staged row (mapped or with an `_error` reason), or the whole
file is refused with an InputError that names it.
"""

from __future__ import annotations

import copy
import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from formats_helpers import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from audit_kit.errors import InputError
from audit_kit.ingest.presets import PRESETS, STAGED_COLUMNS
from audit_kit.ingest.presets.records import Unmappable
from audit_kit.schema import ACTIONS, OUTCOMES

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)

SAMPLES: dict[str, list[Any]] = {
    "fhir": [e.get("resource", e) for e in json.loads((DATA / "fhir" / "r4-bundle.json").read_text())["entry"]]
    + [json.loads(line) for line in (DATA / "fhir" / "r5-events.ndjson").read_text().splitlines()
       if line.strip().startswith('{"resourceType": "AuditEvent", "id": "r5')],
    "ocsf": [json.loads(line) for line in (DATA / "ocsf" / "events.ndjson").read_text().splitlines()],
    "cloudtrail": json.loads((DATA / "cloudtrail" / "records.json").read_text())["Records"],
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, preset: str) -> Any:
    """A published-example record with a few fields deleted or replaced by arbitrary JSON."""
    record = copy.deepcopy(draw(st.sampled_from(SAMPLES[preset])))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(record)
        path = draw(st.sampled_from(paths))
        if not path:
            record = draw(json_values) if draw(st.booleans()) else record
            continue
        parent = record
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return record


def _check_row(row: dict[str, Any]) -> None:
    assert isinstance(row["_row"], int) and row["_raw"]
    if row["_error"] is None:
        assert row["action"] in ACTIONS and row["outcome"] in OUTCOMES
        # the organisation may be left to the mapping file or --org (ingest says so if none comes)
        assert row["user_id"] and row["timestamp"]
    else:
        assert all(row[c] is None for c in STAGED_COLUMNS[3:])


@settings(max_examples=150, deadline=None)
@given(data=st.data(), preset=st.sampled_from(sorted(SAMPLES)))
def test_mapper_only_ever_raises_unmappable(data: st.DataObject, preset: str) -> None:
    record = data.draw(mutated(preset))
    try:
        fields = PRESETS[preset].map(record)  # type: ignore[attr-defined]
    except Unmappable as exc:
        assert str(exc)
    else:
        assert fields["action"] in ACTIONS and fields["outcome"] in OUTCOMES


@settings(max_examples=60, deadline=None)
@given(data=st.data(), preset=st.sampled_from(sorted(SAMPLES)), compress=st.booleans())
def test_container_documents_yield_one_row_per_entry(data: st.DataObject, preset: str, compress: bool) -> None:
    records = data.draw(st.lists(mutated(preset) | json_values, max_size=8))
    doc: Any = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in records]}
    if preset == "cloudtrail":
        doc = {"Records": records}
    elif preset == "ocsf":
        doc = records
    body = json.dumps(doc, indent=data.draw(st.sampled_from([None, 2]))).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.json"
        path.write_bytes(gzip.compress(body) if compress else body)
        table = PRESETS[preset].read(path)
    got = table.to_pylist()
    assert [r["_row"] for r in got] == list(range(1, len(records) + 1))
    for row in got:
        _check_row(row)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), preset=st.sampled_from(sorted(SAMPLES)))
def test_ndjson_yields_one_row_per_line_or_refuses_the_file(data: st.DataObject, preset: str) -> None:
    line = (
        mutated(preset).map(lambda r: json.dumps(r))
        | st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=40)
        | st.binary(max_size=30).filter(lambda b: b"\n" not in b and b"\r" not in b)
        .map(lambda b: b.decode("latin-1"))
    )
    lines = data.draw(st.lists(line, min_size=1, max_size=8))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.ndjson"
        path.write_bytes(b"\n".join(s.encode("utf-8", "surrogatepass") for s in lines) + b"\n")
        try:
            table = PRESETS[preset].read(path)
        except InputError as exc:
            assert "audit.ndjson" in str(exc)
            return
    unwrap = PRESETS[preset].unwrap  # type: ignore[attr-defined]
    expected = 0
    for s in lines:
        if not s.encode("utf-8", "surrogatepass").strip():  # the reader skips blank lines (bytes)
            continue
        try:
            inner = unwrap(json.loads(s))
        except ValueError:
            inner = None
        expected += 1 if inner is None else len(inner)
    got = table.to_pylist()
    assert len(got) == expected
    for row in got:
        _check_row(row)


@settings(max_examples=80, deadline=None)
@given(body=st.binary(max_size=200), compress=st.booleans())
def test_detection_never_crashes_on_arbitrary_bytes(body: bytes, compress: bool) -> None:
    from audit_kit.ingest.presets import detect_preset

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.json"
        path.write_bytes(gzip.compress(body) if compress else body)
        try:
            name = detect_preset(path)
        except InputError as exc:  # only a broken gzip stream may be refused, and it names the file
            assert body.startswith(b"\x1f\x8b") and "events.json" in str(exc)
            return
    assert name is None or name in PRESETS
