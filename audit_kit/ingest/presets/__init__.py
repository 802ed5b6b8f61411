"""Format presets: read audit logs real systems emit into staged rows for ingest.

A preset converts one file into STAGED rows (`STAGED_COLUMNS`: `_row`, `_raw`, `_error` and the
canonical event fields, all strings except `_row`); ingest does the rest (timestamp parsing to UTC,
vocabularies, quarantine with reasons, dedupe, storage). Every record of the file yields exactly
one row: mapped, or with `_error` saying why not. A file that cannot be read at all raises
`InputError` naming it.

    from audit_kit.ingest.presets import PRESETS, detect_preset
    name = preset or detect_preset(path)        # "fhir", "ocsf", "cloudtrail" or None
    table = PRESETS[name].read(path)            # pyarrow.Table of STAGED_COLUMNS

The formats and their mapping tables are documented in docs/formats.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import pyarrow

from audit_kit.errors import InputError
from audit_kit.ingest.presets.base import SHIELDED_METADATA_KEY, shielded_records
from audit_kit.ingest.presets.cloudtrail import CloudTrailPreset
from audit_kit.ingest.presets.fhir import FhirAuditEventPreset
from audit_kit.ingest.presets.ocsf import OcsfPreset
from audit_kit.ingest.presets.records import MAX_DOCUMENT_BYTES, STAGED_COLUMNS, STAGED_SCHEMA, read_head

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "PRESETS",
    "SHIELDED_METADATA_KEY",
    "STAGED_COLUMNS",
    "STAGED_SCHEMA",
    "Preset",
    "detect_preset",
    "get_preset",
    "shielded_records",
]


@runtime_checkable
class Preset(Protocol):
    """A reader for one audit-log format."""

    name: ClassVar[str]  # "fhir", "ocsf", "cloudtrail"
    title: ClassVar[str]  # the format as a person names it

    def sniff(self, path: Path, head: bytes) -> bool:
        """Cheap detection from the first bytes of the (decompressed) file."""
        ...

    def read(self, path: Path) -> pyarrow.Table:
        """STAGED_COLUMNS, all strings except `_row` (int64); InputError if the file is unreadable."""
        ...


PRESETS: dict[str, Preset] = {p.name: p for p in (FhirAuditEventPreset(), OcsfPreset(), CloudTrailPreset())}


def get_preset(name: str) -> Preset:
    """The preset called `name`; an InputError listing the known ones otherwise (for --preset)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}") from None


def detect_preset(path: Path) -> str | None:
    """The preset that recognises the file from its first bytes (gzip looked through), or None.

    Only JSON and XML files are candidates: CSV and Parquet files are left to ingest's own readers
    (an OCSF Parquet file is recognised by its columns: `audit_kit.ingest.presets.ocsf.is_ocsf_parquet`).
    """
    head = read_head(Path(path))
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.lstrip()[:1] not in (b"{", b"[", b"<"):
        return None
    for name, preset in PRESETS.items():
        if preset.sniff(Path(path), head):
            return name
    return None
