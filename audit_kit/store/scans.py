"""The scan's own tables in the workspace: run history, inbox files, scanned batches, state, alerts, outbox.

Everything a scan must remember lives in the workspace's DuckDB store, so that the alert rows, the
outbox rows and the watermark move together in one transaction and a killed scan leaves nothing
half-written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, overload

from audit_kit.models.findings import Alert, Finding, Severity
from audit_kit.store.sql import fetch_all, fetch_one

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


@overload
def naive_utc(value: datetime) -> datetime: ...
@overload
def naive_utc(value: None) -> None: ...
def naive_utc(value: datetime | None) -> datetime | None:
    """A timestamp as the workspace stores it: naive UTC (aware values converted, not shifted)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def get_state(ws: Workspace, key: str) -> str | None:
    row = fetch_one(ws.con, "SELECT value FROM scan_state WHERE key = ?", [key])
    return row[0] if row else None


def set_state(ws: Workspace, key: str, value: str) -> None:
    ws.con.execute("INSERT OR REPLACE INTO scan_state VALUES (?, ?)", [key, value])


def event_watermark(ws: Workspace) -> datetime | None:
    """Latest event time already judged by a scan (None before the first scan)."""
    value = get_state(ws, EVENT_WATERMARK)
    return datetime.fromisoformat(value) if value else None


def pending_batches(ws: Workspace) -> list[str]:
    """Ingest batches whose events no scan has judged yet (whoever ingested them)."""
    rows = fetch_all(
        ws.con,
        "SELECT DISTINCT batch_id FROM ingest_files WHERE batch_id IS NOT NULL"
        " AND batch_id NOT IN (SELECT batch_id FROM scan_batches) ORDER BY batch_id",
    )
    return [r[0] for r in rows]


def mark_killed_runs(ws: Workspace) -> list[str]:
    """Runs still 'running' while we hold the lock died mid-way: mark them killed and return their ids."""
    ids = [r[0] for r in fetch_all(ws.con, "SELECT run_id FROM scan_runs WHERE status = 'running'")]
    if ids:
        ws.con.execute(
            "UPDATE scan_runs SET status = 'killed' WHERE status = 'running'"
        )
    return ids


def unreported_alert_runs(ws: Workspace) -> list[str]:
    """Runs that committed alerts but were killed before they could report them (exit code, summary)."""
    rows = fetch_all(
        ws.con,
        "SELECT DISTINCT a.run_id FROM scan_alerts a JOIN scan_runs r USING (run_id)"
        " WHERE r.status IN ('killed', 'failed')",
    )
    return [r[0] for r in rows]


# -- runs -----------------------------------------------------------------------------------------
def start_run(ws: Workspace, run_id: str) -> None:
    """Record a scan as running (a later scan that finds it still running marks it killed)."""
    ws.con.execute("INSERT INTO scan_runs (run_id, started_at, status) VALUES (?, ?, 'running')", [run_id, utcnow()])


@dataclass(frozen=True)
class RunOutcome:
    """What a finished (or failed) scan run did, as its history row keeps it."""

    status: str
    files_new: int
    files_known: int
    files_rejected: int
    events_stored: int
    rows_quarantined: int
    window_since: datetime | None
    window_until: datetime | None
    new_events: int
    late_events: int
    too_late_events: int
    findings: int
    new_alerts: int
    delivered: int
    queued: int
    message: str


def finish_run(ws: Workspace, run_id: str, o: RunOutcome, recovered: Sequence[str] = ()) -> None:
    """Close a run's history row; runs whose alerts it reported after they were killed become recovered."""
    ws.con.execute(
        """UPDATE scan_runs SET finished_at = ?, status = ?, files_new = ?, files_known = ?,
           files_rejected = ?, events_stored = ?, rows_quarantined = ?, window_since = ?, window_until = ?,
           new_events = ?, late_events = ?, too_late_events = ?, findings = ?, new_alerts = ?,
           delivered = ?, queued = ?, message = ? WHERE run_id = ?""",
        [utcnow(), o.status, o.files_new, o.files_known, o.files_rejected, o.events_stored, o.rows_quarantined,
         o.window_since, o.window_until, o.new_events, o.late_events, o.too_late_events, o.findings,
         o.new_alerts, o.delivered, o.queued, o.message, run_id],
    )
    if o.status == "done" and recovered:
        ws.con.execute("UPDATE scan_runs SET status = 'recovered' WHERE list_contains(?, run_id)", [list(recovered)])


# -- inbox files and batches ----------------------------------------------------------------------
@dataclass(frozen=True)
class SeenFile:
    """An inbox file as a scan recorded it (by content)."""

    sha256: str
    name: str
    size: int
    mtime_ns: int
    status: str  # ingested | known | rejected | skipped_rejected
    error: str | None
    moved_to: str | None


def cached_hashes(ws: Workspace) -> dict[tuple[str, int, int], str]:
    """(name, size, mtime_ns) -> sha256 of every inbox file seen, so unchanged files are not re-hashed."""
    return {(r[0], r[1], r[2]): r[3] for r in fetch_all(ws.con, "SELECT name, size, mtime_ns, sha256 FROM scan_files")}


def rejected_hashes(ws: Workspace) -> set[str]:
    """Content hashes of inbox files a scan rejected (set aside until their content changes)."""
    return {r[0] for r in fetch_all(ws.con, "SELECT sha256 FROM scan_files WHERE status = 'rejected'")}


def record_file(ws: Workspace, f: SeenFile, run_id: str) -> None:
    """Remember an inbox file's outcome. A copy of a known file (another name, same bytes) must not
    overwrite the record of the original."""
    verb = "INSERT OR IGNORE" if f.status == "known" else "INSERT OR REPLACE"
    ws.con.execute(
        f"{verb} INTO scan_files VALUES (?,?,?,?,?,?,?,?,?)",
        [f.sha256, f.name, f.size, f.mtime_ns, f.status, f.error, run_id, utcnow(), f.moved_to],
    )


def scanned_any(ws: Workspace) -> bool:
    """Whether any scan has judged (or marked as history) a batch in this workspace."""
    row = fetch_one(ws.con, "SELECT count(*) FROM (SELECT 1 FROM scan_batches LIMIT 1)")
    return bool(row and row[0])


def mark_batches(ws: Workspace, batches: Sequence[str], run_id: str) -> None:
    """Mark ingest batches as judged (or as baseline history)."""
    if batches:
        now = utcnow()
        ws.con.executemany("INSERT OR IGNORE INTO scan_batches VALUES (?, ?, ?)", [(b, run_id, now) for b in batches])


@dataclass(frozen=True)
class BatchSpan:
    """The events of some ingest batches against the watermark: how many, and how late."""

    count: int
    latest: datetime | None
    at_or_before_watermark: int
    too_late: int
    earliest_in_time: datetime | None  # the earliest event not too late to judge


def batch_span(ws: Workspace, batches: Sequence[str], watermark: datetime | None,
               cutoff: datetime | None) -> BatchSpan:
    """Count the batches' events, those at or before `watermark`, and those before `cutoff` (too late)."""
    row = fetch_one(
        ws.con,
        """SELECT count(*), max(timestamp),
                  count(*) FILTER (WHERE ? IS NOT NULL AND timestamp <= ?),
                  count(*) FILTER (WHERE ? IS NOT NULL AND timestamp < ?),
                  min(timestamp) FILTER (WHERE ? IS NULL OR timestamp >= ?)
           FROM events WHERE list_contains(?, batch_id)""",
        [watermark, watermark, cutoff, cutoff, cutoff, cutoff, list(batches)],
    )
    assert row is not None  # an aggregate always returns a row
    return BatchSpan(int(row[0] or 0), row[1], int(row[2] or 0), int(row[3] or 0), row[4])


def batch_first(ws: Workspace, batches: Sequence[str]) -> datetime | None:
    """The earliest event of these batches."""
    row = fetch_one(ws.con, "SELECT min(timestamp) FROM events WHERE list_contains(?, batch_id)", [list(batches)])
    return row[0] if row else None


# -- alerts ---------------------------------------------------------------------------------------
_ALERT_COLUMNS = (
    "alert_id, finding_id, detector, severity, score, org_id, user_id, record_count, first_seen,"
    " last_seen, summary, evidence, first_alerted"
)


def known_alert_ids(ws: Workspace, alert_ids: Sequence[str]) -> set[str]:
    """Which of these alert ids were raised before."""
    return {r[0] for r in fetch_all(ws.con, "SELECT alert_id FROM scan_alerts WHERE list_contains(?, alert_id)",
                                    [list(alert_ids)])}


def raised_severities(ws: Workspace, findings: Sequence[Finding]) -> list[tuple[Finding, Severity]]:
    """For each finding alerted before (same detector, organisation, user and finding id): the highest severity
    raised for it so far, its first alert and any escalations."""
    if not findings:
        return []
    rows = fetch_all(
        ws.con,
        """SELECT detector, org_id, user_id, finding_id, arg_max(severity, severity_rank) FROM scan_alerts
           WHERE list_contains(?, finding_id) GROUP BY ALL""",
        [sorted({f.finding_id for f in findings})],
    )
    best = {(r[0], r[1], r[2], r[3]): Severity(r[4]) for r in rows}
    return [(f, best[k]) for f in findings if (k := (f.detector, f.org_id, f.user_id, f.finding_id)) in best]


def alerted_users(ws: Workspace, since: datetime, min_severity: Severity) -> set[str]:
    """Users with an alert at or above `min_severity` for behaviour seen since `since` (its last_seen)."""
    rows = fetch_all(ws.con, "SELECT DISTINCT user_id FROM scan_alerts WHERE user_id IS NOT NULL"
                     " AND severity_rank >= ? AND last_seen >= ?", [min_severity.rank, since])
    return {r[0] for r in rows}


def overlapping_alert(ws: Workspace, f: Finding, slack: timedelta) -> tuple[str, Severity] | None:
    """Alerts of the same detector and entity whose spans overlap the finding's (within `slack`): the first
    of them raised and the highest severity any of them raised; None when there is none."""
    if f.first_seen is None:
        return None
    last = naive_utc(f.last_seen) or naive_utc(f.first_seen)
    row = fetch_one(
        ws.con,
        """SELECT arg_min(alert_id, (first_alerted, alert_id)), arg_max(severity, severity_rank) FROM scan_alerts
           WHERE detector = ? AND org_id IS NOT DISTINCT FROM ? AND user_id IS NOT DISTINCT FROM ?
           AND first_seen <= ? AND last_seen + ? >= ?""",
        [f.detector, f.org_id, f.user_id, last, slack, naive_utc(f.first_seen)],
    )
    return (str(row[0]), Severity(row[1])) if row and row[0] is not None else None


def insert_alert(ws: Workspace, alert_id: str, f: Finding, run_id: str, now: datetime,
                 window: tuple[datetime, datetime] | None) -> None:
    """Insert one alert (caller owns the transaction)."""
    since, until = window if window else (None, None)
    ws.con.execute(
        "INSERT INTO scan_alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            alert_id, f.finding_id, f.detector, f.severity.value, f.severity.rank, f.score, f.org_id, f.user_id,
            f.record_count, naive_utc(f.first_seen), naive_utc(f.last_seen), f.summary,
            json.dumps(f.evidence, sort_keys=True, default=str), now, run_id, since, until,
        ],
    )


def load_alerts(
    ws: Workspace,
    alert_ids: Sequence[str] | None = None,
    run_ids: Sequence[str] | None = None,
    min_severity: Severity = Severity.INFO,
) -> list[Alert]:
    """Stored alerts in the order they were raised (filter by ids, by the runs that raised them, by severity)."""
    where = ["severity_rank >= ?"]
    params: list[Any] = [min_severity.rank]
    if alert_ids is not None:
        where.append("list_contains(?, alert_id)")
        params.append(list(alert_ids))
    if run_ids is not None:
        where.append("list_contains(?, run_id)")
        params.append(list(run_ids))
    rows = fetch_all(
        ws.con,
        f"SELECT {_ALERT_COLUMNS} FROM scan_alerts WHERE " + " AND ".join(where) + " ORDER BY first_alerted, alert_id",
        params,
    )
    return [
        Alert(
            alert_id=r[0], finding_id=r[1], detector=r[2], severity=Severity(r[3]), score=r[4], org_id=r[5],
            user_id=r[6], record_count=r[7], first_seen=r[8], last_seen=r[9], summary=r[10],
            evidence=json.loads(r[11]) if r[11] else {}, first_alerted=r[12],
        )
        for r in rows
    ]


# -- outbox ---------------------------------------------------------------------------------------
def queue(ws: Workspace, alert_ids: Sequence[str], sinks: Sequence[tuple[str, str]]) -> None:
    """Queue alerts for each destination (sink id, label). Caller owns the transaction (the one
    inserting the alerts)."""
    now = utcnow()
    rows = [(aid, sink_id, label, now, 0, None, None) for sink_id, label in sinks for aid in alert_ids]
    if rows:
        ws.con.executemany("INSERT OR IGNORE INTO scan_outbox VALUES (?,?,?,?,?,?,?)", rows)


def pending_ids(ws: Workspace, sink_id: str) -> list[str]:
    """Alert ids queued for a destination and not yet delivered, oldest first."""
    rows = fetch_all(
        ws.con,
        "SELECT o.alert_id FROM scan_outbox o JOIN scan_alerts a USING (alert_id)"
        " WHERE o.sink = ? AND o.delivered_at IS NULL ORDER BY a.first_alerted, o.alert_id",
        [sink_id],
    )
    return [r[0] for r in rows]


def queued_elsewhere(ws: Workspace, sink_ids: Sequence[str]) -> dict[str, int]:
    """Undelivered alerts for destinations not configured in this run: label -> count (reported, kept)."""
    rows = fetch_all(
        ws.con,
        "SELECT label, count(*) FROM scan_outbox WHERE delivered_at IS NULL AND NOT list_contains(?, sink)"
        " GROUP BY label ORDER BY label",
        [list(sink_ids)],
    )
    return {r[0]: int(r[1]) for r in rows}


def delivery_failed(ws: Workspace, sink_id: str, error: str) -> None:
    """Count a failed attempt on everything still queued for the destination."""
    ws.con.execute(
        "UPDATE scan_outbox SET attempts = attempts + 1, last_error = ? WHERE sink = ? AND delivered_at IS NULL",
        [error[:500], sink_id],
    )


def delivered(ws: Workspace, sink_id: str, alert_ids: Sequence[str]) -> None:
    """Mark alerts delivered to the destination."""
    ws.con.execute(
        "UPDATE scan_outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL"
        " WHERE sink = ? AND list_contains(?, alert_id)",
        [utcnow(), sink_id, list(alert_ids)],
    )
