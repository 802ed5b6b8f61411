"""Alerts: findings the scan raises once, each with a deterministic `alert_id` (stored by `store.scans`).

A finding already alerted is raised again only when it has grown to a higher severity at medium or above
(an escalation: the evidence of later days raised it), once per severity, with its own id. A window pattern
found again under a later window's key is the same incident continuing (see CONTINUATION_SLACK).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from audit_kit.detectors.registry import REGISTRY
from audit_kit.models.findings import Alert, Finding, Severity, finding_key
from audit_kit.store import scans as store
from audit_kit.store.scans import load_alerts, naive_utc
from audit_kit.store.workspace import Workspace

__all__ = ["Alert", "alert_id_for", "escalation_id", "insert_new_alerts", "load_alerts", "naive_utc"]


def alert_id_for(finding: Finding) -> str:
    """Deterministic alert key of a finding.

    A finding's `finding_id` is already stable across runs and windows (detector, org, user and the
    detector's own subject or time bucket), so the same misuse found again by a later or replayed
    scan maps to the same alert and is not raised twice. Detector, org and user are hashed in too, so
    two detectors that happened to reuse an id could never swallow each other's alert.
    """
    return finding_key("alert", finding.detector, finding.org_id, finding.user_id, finding.finding_id)


def escalation_id(alert_id: str, severity: Severity) -> str:
    """Deterministic key of the alert raising an already alerted finding to `severity`: one per severity,
    so a rerun after a crash, or the same evidence found again, never raises it twice."""
    return finding_key("escalation", alert_id, severity.value)


# A finding of a window-pattern detector (`DetectorSpec.window_pattern`: a log gap keyed by its first silent
# day, a week's unexplained reading keyed by the week the window first saw it…) that overlaps an alert already
# raised for the same detector and entity, within CONTINUATION_SLACK (a weekend), is the same incident seen
# through a window that starts later, not a new one. It is alerted only when it is more severe than every
# alert it continues, as an escalation of the first of them.
CONTINUATION_SLACK = timedelta(days=3)


def _window_pattern(detector: str) -> bool:
    spec = REGISTRY.get(detector)
    return bool(spec and spec.window_pattern)


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
    raised = {alert_id_for(f): sev for f, sev in store.raised_severities(ws, list(by_id.values()))}
    new_ids = []
    # Oldest first, so a continuing incident is judged against the alerts inserted before it.
    for aid in sorted(by_id, key=lambda a: (_sort_ts(by_id[a]), a)):
        f = by_id[aid]
        if aid in raised:
            # Alerted before at a lower severity: later days' evidence raised it to an alert worth sending.
            if f.severity >= Severity.MEDIUM and f.severity > raised[aid]:
                eid = escalation_id(aid, f.severity)
                up = f.model_copy(update={"evidence": {**f.evidence, "escalated_from": {
                    "severity": raised[aid].value, "alert_id": aid}}})
                store.insert_alert(ws, eid, up, run_id, now, window)
                new_ids.append(eid)
            continue
        if _window_pattern(f.detector) and (earlier := store.overlapping_alert(ws, f, CONTINUATION_SLACK)):
            earlier_id, earlier_sev = earlier
            if f.severity < Severity.MEDIUM or f.severity <= earlier_sev:
                continue
            f = f.model_copy(update={"evidence": {**f.evidence, "escalated_from": {
                "severity": earlier_sev.value, "alert_id": earlier_id}}})
        store.insert_alert(ws, aid, f, run_id, now, window)
        new_ids.append(aid)
    return sorted(new_ids)


def _sort_ts(f: Finding) -> datetime:
    return naive_utc(f.first_seen) or datetime.min
