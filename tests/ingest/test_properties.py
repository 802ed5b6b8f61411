"""Property tests: whatever a CSV or JSON-lines file holds, every record is accounted for."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit_kit.errors import InputError
from audit_kit.ingest import ingest_files
from audit_kit.store.workspace import Workspace

FIELDS = ["event_id", "timestamp", "user_id", "org_id", "record_id", "action", "outcome", "records_returned"]

good_ts = st.sampled_from(["2026-07-01T12:00:00Z", "2026-01-01T00:00:00+00:00", "2026-03-29T01:30:00.123Z"])
junk = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
value = {
    "event_id": st.one_of(st.none(), st.text(alphabet="abc123", min_size=1, max_size=4)),
    "timestamp": st.one_of(good_ts, junk),
    "user_id": st.one_of(st.just("u1"), junk),
    "org_id": st.one_of(st.just("LA001"), junk),
    "record_id": st.one_of(st.just("c1"), st.just(""), junk),
    "action": st.one_of(st.sampled_from(["view", "search", "Export", "peek", ""]), junk),
    "outcome": st.one_of(st.sampled_from(["success", "DENIED", "maybe"]), junk),
    "records_returned": st.one_of(st.just(""), st.integers(-3, 50).map(str), junk),
}
row = st.fixed_dictionaries({k: v for k, v in value.items()})


def _counts(path: Path) -> tuple[int, int, int, int, list[tuple[int, str]]]:
    with tempfile.TemporaryDirectory() as d, Workspace.open(Path(d) / "ws", create=True) as ws:
        rep = ingest_files(ws, [path])
        q = ws.con.execute("SELECT source_row, reason FROM quarantine").fetchall()
        assert ws.count("events") == rep.stored
        return rep.read, rep.stored, rep.quarantined, rep.duplicates, q


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=15), garbage=st.lists(junk, max_size=3))
def test_csv_every_record_is_stored_duplicate_or_quarantined(tmp_path_factory, rows, garbage):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    text = buf.getvalue() + "".join(g.replace("\n", " ") + "\n" for g in garbage if g.strip())
    path = tmp_path_factory.mktemp("p") / "e.csv"
    path.write_text(text, encoding="utf-8")
    try:
        read, stored, quarantined, dups, q = _counts(path)
    except InputError as exc:
        # Only a file the parser cannot read at all is refused whole, with one error naming it.
        assert str(path) in str(exc) and "\r" in text
        return
    assert read == stored + quarantined + dups
    assert read >= len(rows)  # garbage lines may also be rows (or be rejected as malformed): never lost
    assert len(q) == quarantined
    assert all(reason for _row, reason in q)
    assert all(row_no is not None and row_no >= 2 for row_no, _ in q)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(row.map(json.dumps), junk.map(lambda s: s.replace("\n", " ").replace("\r", " "))),
                          min_size=1, max_size=15))
def test_jsonl_every_line_is_stored_duplicate_or_quarantined(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("p") / "e.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    read, stored, quarantined, dups, q = _counts(path)
    non_blank = sum(1 for r in "\n".join(rows).split("\n") if r.strip(" \t\r\x0b\x0c"))
    assert read == non_blank
    assert read == stored + quarantined + dups
    assert len(q) == quarantined and all(reason for _r, reason in q)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=80).map(lambda b: bytes(b"ab\n\r,"[x % 5] for x in b)), chunk=st.integers(1, 7))
def test_empty_lines_are_found_across_chunk_boundaries(tmp_path_factory, data: bytes, chunk: int) -> None:
    """The byte scan behind CSV row numbers finds every empty line (LF or CRLF), however the reads split."""
    import audit_kit.ingest.sources as sources

    path = tmp_path_factory.mktemp("blank") / "f.csv"
    path.write_bytes(data)
    lines = data.split(b"\n")[:-1]  # the text after the last newline is not a line that ends
    want = [i for i, line in enumerate(lines, 1) if line in (b"", b"\r") and i > 1]
    old = sources.SCAN_CHUNK
    sources.SCAN_CHUNK = chunk
    try:
        assert sources.empty_lines(path) == want
    finally:
        sources.SCAN_CHUNK = old


@pytest.mark.parametrize(("lines", "as_json_refused"), [
    (["["], True), (["{", "not json"], True), (["[", '{"event_id": "e1"}'], False)])
def test_a_jsonl_file_whose_first_line_opens_nothing_valid_keeps_every_line(
    tmp_path: Path, lines: list[str], as_json_refused: bool
) -> None:
    """Found by the property test above: a .jsonl file starting with a lone "[" was read as one broken
    document and refused whole. Named as JSON lines, each bad line is quarantined and the rest read."""
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read, stored, quarantined, dups, q = _counts(path)
    assert read == len(lines) == stored + quarantined + dups
    assert quarantined >= 1 and all(reason for _r, reason in q)
    # In a .json file the same text is one broken document: refused whole, the file named.
    if as_json_refused:
        doc = tmp_path / "e.json"
        doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"e\.json: not a valid JSON document"):
            _counts(doc)
