"""The ingested data: canonical events and reference tables, the files they came from, the quarantine.

This repository owns the tables' DDL and the bookkeeping around a load (which files were read, what
was quarantined and why). The bulk load itself — parsing, validating and appending rows in file
order — is ingest's (`audit_kit/ingest/events.py`), which writes straight into these tables inside the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from audit_kit.schema import EVENTS, REFERENCE_TABLES
from audit_kit.store.sql import fetch_all, fetch_one

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # One row per file ever ingested: the content hash makes re-ingest a no-op.
    """CREATE TABLE IF NOT EXISTS ingest_files (
        sha256 VARCHAR, path VARCHAR, kind VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP,
        read BIGINT, stored BIGINT, quarantined BIGINT, duplicates BIGINT)""",
    # Every rejected row, with where it came from and why. WS/quarantine/*.csv mirrors this.
    """CREATE TABLE IF NOT EXISTS quarantine (
        batch_id VARCHAR, source_file VARCHAR, source_row BIGINT, kind VARCHAR,
        reason VARCHAR, raw VARCHAR, quarantined_at TIMESTAMP)""",
    *(t.ddl() for t in REFERENCE_TABLES),
    EVENTS.ddl(),
)


@dataclass(frozen=True)
class FileRecord:
    """One file as ingest recorded it."""

    sha256: str
    path: str
    kind: str
    batch_id: str
    ingested_at: datetime
    read: int
    stored: int
    quarantined: int
    duplicates: int


def previous_file(ws: Workspace, sha256: str, kind: str) -> FileRecord | None:
    """The first ingest of a file with these exact bytes as this kind, if any."""
    row = fetch_one(ws.con, "SELECT * FROM ingest_files WHERE sha256 = ? AND kind = ? ORDER BY ingested_at LIMIT 1",
                    [sha256, kind])
    return None if row is None else FileRecord(*row)


def record_file(ws: Workspace, rec: FileRecord) -> None:
    """Remember one file's counts (caller owns the transaction)."""
    ws.con.execute("INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [rec.sha256, rec.path, rec.kind, rec.batch_id, rec.ingested_at, rec.read, rec.stored,
                    rec.quarantined, rec.duplicates])


def files(ws: Workspace) -> list[FileRecord]:
    """Every file ingested, by path."""
    return [FileRecord(*r) for r in fetch_all(ws.con, "SELECT * FROM ingest_files ORDER BY path, ingested_at")]


def ingested_event_hashes(ws: Workspace) -> set[str]:
    """Content hashes of every events file stored so far (by any command)."""
    return {r[0] for r in fetch_all(ws.con, "SELECT sha256 FROM ingest_files WHERE kind = 'events'")}


def batch_ids(ws: Workspace) -> list[str]:
    """Every ingest batch, oldest first."""
    return [r[0] for r in fetch_all(
        ws.con, "SELECT DISTINCT batch_id FROM ingest_files WHERE batch_id IS NOT NULL ORDER BY batch_id")]


def unknown_ids(ws: Workspace, batch_id: str) -> tuple[int, int]:
    """(users, organisations) that events of this batch name but the reference tables do not."""
    row = fetch_one(
        ws.con,
        # Distinct pairs first: joining a few thousand pairs, not every event, to the reference tables.
        """WITH e AS (SELECT DISTINCT user_id, org_id FROM events WHERE batch_id = ?)
           SELECT count(DISTINCT e.user_id) FILTER (WHERE u.user_id IS NULL),
                  count(DISTINCT e.org_id) FILTER (WHERE o.org_id IS NULL)
           FROM e LEFT JOIN users u USING (user_id) LEFT JOIN organisations o ON o.org_id = e.org_id""",
        [batch_id],
    )
    return (int(row[0]), int(row[1])) if row else (0, 0)


def mark_shielded(ws: Workspace, record_ids: Sequence[str]) -> None:
    """Record that a log labelled these children's records restricted (e.g. FHIR securityLabel R/V):
    a known subject becomes shielded; an unknown one is added as shielded with no home area."""
    ws.con.execute(
        """INSERT INTO subjects (record_id, shielded)
           SELECT DISTINCT r, true FROM (SELECT unnest(?::VARCHAR[]) AS r)
           WHERE r NOT IN (SELECT record_id FROM subjects)""",
        [list(record_ids)],
    )
    ws.con.execute(
        "UPDATE subjects SET shielded = true WHERE list_contains(?::VARCHAR[], record_id)", [list(record_ids)]
    )


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_quarantine(ws: Workspace, batch_id: str) -> Path:
    """Write one batch's quarantined rows to WS/quarantine/<batch_id>.csv (written whole, then renamed)."""
    final = ws.quarantine_dir / f"{batch_id}.csv"
    tmp = final.with_suffix(".csv.tmp")
    ws.con.execute(
        # Raw rows are untrusted: a leading = + - @ would run as a formula when a reviewer opens the
        # CSV in a spreadsheet, so the file gets an apostrophe (the quarantine table keeps the exact text).
        "COPY (SELECT source_file, source_row AS row, kind, reason, "
        "CASE WHEN left(raw, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN chr(39) || raw ELSE raw END AS raw "
        "FROM quarantine WHERE batch_id = ? "
        f"ORDER BY source_file, source_row) TO {_lit(str(tmp))} (HEADER, DELIMITER ',')",
        [batch_id],
    )
    tmp.replace(final)
    return final


def repair_quarantine_files(ws: Workspace) -> None:
    """Re-export quarantine CSVs a killed process committed but did not write (the table is the truth)."""
    for stale in ws.quarantine_dir.glob("*.csv.tmp"):
        stale.unlink()
    for (batch_id,) in fetch_all(ws.con, "SELECT DISTINCT batch_id FROM quarantine"):
        if not (ws.quarantine_dir / f"{batch_id}.csv").exists():
            export_quarantine(ws, batch_id)


def quarantine_reasons(ws: Workspace, limit: int = 30) -> list[tuple[str, str, int]]:
    """The most common (kind, reason, rows) of the quarantine."""
    return [(r[0], r[1], int(r[2])) for r in fetch_all(
        ws.con, f"SELECT kind, reason, count(*) n FROM quarantine GROUP BY ALL ORDER BY n DESC, kind, reason "
                f"LIMIT {int(limit)}")]


def event_span(ws: Workspace) -> tuple[datetime | None, datetime | None]:
    """The first and last event instants (UTC, naive), or (None, None) with no events."""
    row = fetch_one(ws.con, "SELECT min(timestamp), max(timestamp) FROM events")
    return (row[0], row[1]) if row else (None, None)


def org_ids(ws: Workspace) -> list[str]:
    """Every organisation's id, sorted."""
    return [r[0] for r in fetch_all(ws.con, "SELECT org_id FROM organisations ORDER BY org_id")]


@dataclass(frozen=True)
class OrgRecord:
    """One organisation as organisations.csv gave it."""

    org_id: str
    name: str
    type: str
    area: str


def organisations(ws: Workspace) -> list[OrgRecord]:
    """Every organisation, by id. A row another tool or an older release left without a name, type or area
    reads as its id and empty text, so every reader gets the types it was promised."""
    rows = fetch_all(ws.con, "SELECT org_id, coalesce(name, org_id), coalesce(type, ''), coalesce(area, '') "
                             "FROM organisations ORDER BY org_id")
    return [OrgRecord(*r) for r in rows]


UNREGISTERED_TYPE = "unregistered"  # the type shown for a body with events or answers but no organisations.csv row


def unregistered_orgs(ws: Workspace) -> list[str]:
    """Organisations that events or questionnaires name but organisations.csv does not (sorted): they
    are assessed all the same, as bodies of type `unregistered`."""
    tables = {r[0] for r in fetch_all(ws.con, "SELECT table_name FROM information_schema.tables")}
    sources = ["SELECT DISTINCT org_id FROM events"]
    if "questionnaire_submissions" in tables:
        sources.append("SELECT DISTINCT org_id FROM questionnaire_submissions")
    union = " UNION ".join(sources)
    return [r[0] for r in fetch_all(
        ws.con, f"SELECT org_id FROM ({union}) WHERE org_id IS NOT NULL "
                "AND org_id NOT IN (SELECT org_id FROM organisations) ORDER BY org_id")]


def active_users(ws: Workspace, on: object) -> int:
    """Accounts not ended before `on` (a date)."""
    row = fetch_one(ws.con, "SELECT count(*) FROM users WHERE end_date IS NULL OR end_date >= ?", [on])
    return int(row[0]) if row else 0
