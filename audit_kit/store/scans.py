"""The scan's own tables in the workspace: run history, inbox files, scanned batches, state, alerts, outbox.

Everything a scan must remember lives in the workspace's DuckDB store, so that the alert rows, the
outbox rows and the watermark move together in one transaction and a killed scan leaves nothing
half-written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

DDL: tuple[str, ...] = (
    # One row per scan run. status: running | done | failed | killed (found running by the next run).
    """CREATE TABLE IF NOT EXISTS scan_runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
        files_new INTEGER, files_known INTEGER, files_rejected INTEGER, events_stored BIGINT,
        rows_quarantined BIGINT, window_since TIMESTAMP, window_until TIMESTAMP, new_events BIGINT,
        late_events BIGINT, too_late_events BIGINT, findings INTEGER, new_alerts INTEGER,
        delivered INTEGER, queued INTEGER, message VARCHAR)""",
    # Every inbox file the scan has seen, by content. status: ingested | known | rejected.
    """CREATE TABLE IF NOT EXISTS scan_files (
        sha256 VARCHAR PRIMARY KEY, name VARCHAR, size BIGINT, mtime_ns BIGINT, status VARCHAR,
        error VARCHAR, run_id VARCHAR, seen_at TIMESTAMP, moved_to VARCHAR)""",
    # Ingest batches whose events have been judged (or marked as baseline history).
    "CREATE TABLE IF NOT EXISTS scan_batches (batch_id VARCHAR PRIMARY KEY, run_id VARCHAR, scanned_at TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS scan_state (key VARCHAR PRIMARY KEY, value VARCHAR)",
    # Alerts: the findings contract plus alert_id and first_alerted. Insert-only, keyed by alert_id.
    """CREATE TABLE IF NOT EXISTS scan_alerts (
        alert_id VARCHAR PRIMARY KEY, finding_id VARCHAR, detector VARCHAR, severity VARCHAR,
        severity_rank INTEGER, score DOUBLE, org_id VARCHAR, user_id VARCHAR, record_count BIGINT,
        first_seen TIMESTAMP, last_seen TIMESTAMP, summary VARCHAR, evidence VARCHAR,
        first_alerted TIMESTAMP, run_id VARCHAR, window_since TIMESTAMP, window_until TIMESTAMP)""",
    # One row per (alert, destination) until delivered; queued in the same transaction as the alert.
    # `sink` is an opaque id (a hash for webhooks, so a URL carrying a token is never stored).
    """CREATE TABLE IF NOT EXISTS scan_outbox (
        alert_id VARCHAR, sink VARCHAR, label VARCHAR, queued_at TIMESTAMP, attempts INTEGER,
        last_error VARCHAR, delivered_at TIMESTAMP, PRIMARY KEY (alert_id, sink))""",
)

EVENT_WATERMARK = "event_watermark"


def utcnow() -> datetime:
    """Naive UTC now, the workspace's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def get_state(ws: Workspace, key: str) -> str | None:
    rows = ws.con.execute("SELECT value FROM scan_state WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def set_state(ws: Workspace, key: str, value: str) -> None:
    ws.con.execute("INSERT OR REPLACE INTO scan_state VALUES (?, ?)", [key, value])


def event_watermark(ws: Workspace) -> datetime | None:
    """Latest event time already judged by a scan (None before the first scan)."""
    value = get_state(ws, EVENT_WATERMARK)
    return datetime.fromisoformat(value) if value else None


def pending_batches(ws: Workspace) -> list[str]:
    """Ingest batches whose events no scan has judged yet (whoever ingested them)."""
    rows = ws.con.execute(
        "SELECT DISTINCT batch_id FROM ingest_files WHERE batch_id IS NOT NULL"
        " AND batch_id NOT IN (SELECT batch_id FROM scan_batches) ORDER BY batch_id"
    ).fetchall()
    return [r[0] for r in rows]


def mark_killed_runs(ws: Workspace) -> list[str]:
    """Runs still 'running' while we hold the lock died mid-way: mark them killed and return their ids."""
    rows = ws.con.execute("SELECT run_id FROM scan_runs WHERE status = 'running'").fetchall()
    ids = [r[0] for r in rows]
    if ids:
        ws.con.execute(
            "UPDATE scan_runs SET status = 'killed' WHERE status = 'running'"
        )
    return ids


def unreported_alert_runs(ws: Workspace) -> list[str]:
    """Runs that committed alerts but were killed before they could report them (exit code, summary)."""
    rows = ws.con.execute(
        "SELECT DISTINCT a.run_id FROM scan_alerts a JOIN scan_runs r USING (run_id)"
        " WHERE r.status IN ('killed', 'failed')"
    ).fetchall()
    return [r[0] for r in rows]
