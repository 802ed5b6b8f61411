"""Alerts: findings the scan has raised once, with a deterministic `alert_id` and when they were first raised."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.store.workspace import Workspace

_COLUMNS = (
    "alert_id, finding_id, detector, severity, score, org_id, user_id, record_count, first_seen,"
    " last_seen, summary, evidence, first_alerted"
)


class Alert(Finding):
    """A finding as alerted: the findings contract plus `alert_id` and `first_alerted`."""

    alert_id: str
    first_alerted: datetime

    def to_json(self) -> dict[str, Any]:
        """The JSON line written to the alerts file and POSTed to the webhook."""
        data = super().to_json()
        data["first_alerted"] = self.first_alerted.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        return data


def alert_id_for(finding: Finding) -> str:
    """Deterministic alert key of a finding.

    A finding's `finding_id` is already stable across runs and windows (detector, org, user and the
    detector's own subject or time bucket), so the same misuse found again by a later or replayed
    scan maps to the same alert and is not raised twice. Detector, org and user are hashed in too, so
    two detectors that happened to reuse an id could never swallow each other's alert.
    """
    return finding_key("alert", finding.detector, finding.org_id, finding.user_id, finding.finding_id)


# Detectors whose finding id is the first day of a span the scan window can cut (a log gap that began
# before the window starts is re-found with a later first day). For them a finding overlapping an
# alert already raised for the same detector and entity (within CONTINUATION_SLACK, a weekend) is
# the same incident continuing, not a new alert.
CONTINUING_DETECTORS = frozenset({"log_gap"})
CONTINUATION_SLACK = timedelta(days=3)


def _continues(ws: Workspace, f: Finding) -> bool:
    if f.detector not in CONTINUING_DETECTORS or f.first_seen is None:
        return False
    last = naive_utc(f.last_seen) or naive_utc(f.first_seen)
    rows = ws.con.execute(
        """SELECT count(*) FROM scan_alerts WHERE detector = ? AND org_id IS NOT DISTINCT FROM ?
           AND user_id IS NOT DISTINCT FROM ? AND first_seen <= ? AND last_seen + ? >= ?""",
        [f.detector, f.org_id, f.user_id, last, CONTINUATION_SLACK, naive_utc(f.first_seen)],
    ).fetchall()  # fetchall, not fetchone: DuckDB 2 blocks the connection on a half-read result
    return bool(rows and rows[0][0])


def insert_new_alerts(
    ws: Workspace,
    findings: list[Finding],
    run_id: str,
    now: datetime,
    window: tuple[datetime, datetime] | None,
) -> list[str]:
    """Insert alerts for findings never alerted before; return the new alert ids. Caller owns the transaction."""
    by_id: dict[str, Finding] = {}
    for f in findings:
        by_id.setdefault(alert_id_for(f), f)
    if not by_id:
        return []
    known = {
        r[0]
        for r in ws.con.execute(
            "SELECT alert_id FROM scan_alerts WHERE list_contains(?, alert_id)", [list(by_id)]
        ).fetchall()
    }
    new_ids = []
    # Oldest first, so a continuing incident is judged against the alerts inserted before it.
    for aid in sorted((a for a in by_id if a not in known), key=lambda a: (_sort_ts(by_id[a]), a)):
        f = by_id[aid]
        if _continues(ws, f):
            continue
        _insert(ws, aid, f, run_id, now, window)
        new_ids.append(aid)
    return sorted(new_ids)


def _sort_ts(f: Finding) -> datetime:
    return naive_utc(f.first_seen) or datetime.min


def _insert(
    ws: Workspace, aid: str, f: Finding, run_id: str, now: datetime, window: tuple[datetime, datetime] | None
) -> None:
    since, until = window if window else (None, None)
    ws.con.execute(
        "INSERT INTO scan_alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            aid, f.finding_id, f.detector, f.severity.value, f.severity.rank, f.score, f.org_id, f.user_id,
            f.record_count, naive_utc(f.first_seen), naive_utc(f.last_seen), f.summary,
            json.dumps(f.evidence, sort_keys=True, default=str), now, run_id, since, until,
        ],
    )


def load_alerts(
    ws: Workspace,
    alert_ids: list[str] | None = None,
    run_ids: list[str] | None = None,
    min_severity: Severity = Severity.INFO,
) -> list[Alert]:
    """Stored alerts in the order they were raised (filter by ids, by the runs that raised them, by severity)."""
    where = ["severity_rank >= ?"]
    params: list[Any] = [min_severity.rank]
    if alert_ids is not None:
        where.append("list_contains(?, alert_id)")
        params.append(alert_ids)
    if run_ids is not None:
        where.append("list_contains(?, run_id)")
        params.append(run_ids)
    rows = ws.con.execute(
        f"SELECT {_COLUMNS} FROM scan_alerts WHERE " + " AND ".join(where)
        + " ORDER BY first_alerted, alert_id",
        params,
    ).fetchall()
    return [_row_to_alert(r) for r in rows]


def _row_to_alert(r: tuple[Any, ...]) -> Alert:
    return Alert(
        alert_id=r[0], finding_id=r[1], detector=r[2], severity=Severity(r[3]), score=r[4], org_id=r[5],
        user_id=r[6], record_count=r[7], first_seen=r[8], last_seen=r[9], summary=r[10],
        evidence=json.loads(r[11]) if r[11] else {}, first_alerted=r[12],
    )


def naive_utc(value: datetime | None) -> datetime | None:
    """A timestamp as the workspace stores it: naive UTC (aware values converted, not shifted)."""
    # DuckDB TIMESTAMP columns hold naive UTC; convert aware values rather than shift them.
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)
