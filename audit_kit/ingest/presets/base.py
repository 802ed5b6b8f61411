"""The shared shape of a JSON audit-log preset: sniff, unwrap containers, map one record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from audit_kit.ingest.presets.records import (
    MAX_DOCUMENT_BYTES,
    STAGED_SCHEMA,
    Mapped,
    read_staged,
)

# Schema metadata key of a staged table: JSON list of record ids the source itself labelled
# restricted (FHIR securityLabel R or V). The canonical event has no such column; ingest may use it
# to mark subjects shielded. See docs/formats.md.
SHIELDED_METADATA_KEY = b"audit_kit.shielded_records"


class JsonPreset:
    """Base class for presets that read JSON records (NDJSON, one document, or gzip of either)."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""

    def __init__(self, max_document_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.max_document_bytes = max_document_bytes

    def sniff(self, path: Path, head: bytes) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def unwrap(self, doc: Any) -> list[Any] | None:
        """The records inside a container document, or None if `doc` is a single record."""
        return doc if isinstance(doc, list) else None

    def map(self, record: Any) -> Mapped:  # pragma: no cover - overridden
        """Canonical fields of one record as strings; raises Unmappable with the reason."""
        raise NotImplementedError

    def read_batches(self, path: Path) -> Iterator[pa.RecordBatch]:
        """Staged rows in batches, streaming NDJSON (for callers that want bounded memory)."""
        return read_staged(path, self.unwrap, self.map, self.max_document_bytes)

    def read(self, path: Path) -> pa.Table:
        """All staged rows of the file (STAGED_COLUMNS; `_row` int64, the rest strings)."""
        shielded: set[str] = set()

        def note(fields: Mapped) -> None:
            if fields.get("_shielded") == "true" and fields.get("record_id"):
                shielded.add(str(fields["record_id"]))

        batches = list(read_staged(path, self.unwrap, self.map, self.max_document_bytes, on_mapped=note))
        table = pa.Table.from_batches(batches, schema=STAGED_SCHEMA)
        if shielded:
            table = table.replace_schema_metadata({SHIELDED_METADATA_KEY: json.dumps(sorted(shielded))})
        return table


def shielded_records(table: pa.Table) -> list[str]:
    """Record ids a staged table's source labelled restricted (empty when it said nothing)."""
    meta = table.schema.metadata or {}
    raw = meta.get(SHIELDED_METADATA_KEY)
    return list(json.loads(raw)) if raw else []
