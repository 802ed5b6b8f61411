"""What a scheduled scan asks the review: which findings not to alert, which to alert once more, and
what to publish, digest and post once it has committed.

`audit_kit.app.scan` calls these around its one transaction:

1. `triage_for_scan` before alerting: suppressed findings are stored but never alerted (a reviewer's
   benign verdict, or a rule in force covering an open finding);
2. `reopened_alerts` inside the transaction: a finding closed by a rule that has since ended, and
   active again after it, is alerted once more under a new alert id if its first alert was raised;
3. `publish_scan` after the commit: the findings go to the people store (review state, history,
   each user's standing for this run);
4. `notify_after_scan` after deliveries: e-mail digests per DPO and chat summaries, each item once.

The review must never stop a scan from alerting: if the people store cannot be read, nothing is
suppressed and the scan says so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from audit_kit.errors import AuditKitError
from audit_kit.models.findings import Finding, finding_key
from audit_kit.review.notify.chat import post_summaries
from audit_kit.review.notify.digest import overdue_actions, send_digests
from audit_kit.review.notify.settings import NotifySettings
from audit_kit.review.people import snapshot_users
from audit_kit.review.workflow import SyncResult, Triage, publish, triage
from audit_kit.scan.alerts import alert_id_for
from audit_kit.store import scans as scan_store
from audit_kit.store.assessments import load_latest_assessment
from audit_kit.store.people import PeopleStore
from audit_kit.store.record_access import organisations
from audit_kit.store.workspace import Workspace


def triage_for_scan(ws: Workspace, findings: Sequence[Finding], now: datetime) -> tuple[Triage, str | None]:
    """`workflow.triage` for a scan: (triage, None), or (nothing suppressed, why) when the people store
    cannot be read."""
    return triage_for_scan_path(ws.path, findings, now)


def triage_for_scan_path(workspace: Path, findings: Sequence[Finding], now: datetime
                         ) -> tuple[Triage, str | None]:
    try:
        return triage(workspace, findings, now), None
    except (AuditKitError, sqlite3.Error) as exc:
        return Triage(), f"review state unreadable, nothing suppressed: {exc}"


def reopened_alerts(ws: Workspace, t: Triage, run_id: str, now: datetime,
                    window: tuple[datetime, datetime] | None) -> list[str]:
    """Alert reopened findings whose first alert was already raised, under an alert id of their own
    (one per rule that ended: alerted once more, never twice). Caller owns the transaction."""
    firsts = {alert_id_for(f): f for f in t.reopened}
    known = scan_store.known_alert_ids(ws, list(firsts)) if firsts else set()
    again = {finding_key("alert", "reopened", aid, t.reopened_by.get(f.finding_id)): f
             for aid, f in firsts.items() if aid in known}
    if not again:
        return []
    done = scan_store.known_alert_ids(ws, list(again))
    new = []
    for aid, f in sorted(again.items()):
        if aid not in done:
            scan_store.insert_alert(ws, aid, f, run_id, now, window)
            new.append(aid)
    return new


def publish_scan(ws: Workspace, findings: Sequence[Finding], run_id: str, now: datetime
                 ) -> tuple[SyncResult | None, str | None]:
    """Publish a scan's findings to the people store and record users' standings for the run.
    Returns (result, None) or (None, why it failed) — the scan's alerts are committed either way."""
    try:
        with PeopleStore.open(ws.path) as people:
            result = publish(people, findings, now, actor=f"scan {run_id}")
            snapshot_users(people, run_id, now)
            return result, None
    except (AuditKitError, sqlite3.Error) as exc:
        return None, f"review state not updated ({exc}); `audit-kit findings list` will catch up"


def notify_after_scan(ws: Workspace, settings: NotifySettings, now: datetime) -> list[str]:
    """Send due e-mail digests and chat summaries; one line per channel for the scan's summary."""
    lines: list[str] = []
    if not (settings.email_enabled or settings.chat_enabled):
        return lines
    try:
        with PeopleStore.open(ws.path) as people:
            if settings.email_enabled:
                actions = overdue_actions(load_latest_assessment(ws), now.date()) if settings.overdue_actions else []
                names = {k: v.name for k, v in organisations(ws, sorted(settings.dpos)).items()}
                _, result = send_digests(people, settings, now, actions, names)
                lines.append("e-mail: " + result.summary())
            if settings.chat_enabled:
                channels = [(fmt, url) for fmt, url in (("teams", settings.teams_url), ("slack", settings.slack_url))
                            if url]
                _, chat = post_summaries(people, channels, now, settings.chat_min_severity)
                lines.append("chat: " + chat.summary())
    except (AuditKitError, sqlite3.Error) as exc:
        lines.append(f"notifications not sent: {exc}")
    return lines


def after_detect(workspace: Path, findings: Sequence[Finding], now: datetime, stored: bool
                 ) -> tuple[list[Finding], str | None]:
    """For `detect`: the findings --fail-on may count (not suppressed by the review), after publishing
    them to the people store when they were stored; and a line for the terminal, or None."""
    t, problem = triage_for_scan_path(workspace, findings, now)
    notes = [problem] if problem else []
    if stored and findings:
        try:
            with PeopleStore.open(workspace) as people:
                publish(people, findings, now)
                snapshot_users(people, f"day-{now:%Y-%m-%d}", now)
        except (AuditKitError, sqlite3.Error) as exc:
            notes.append(f"review state not updated ({exc})")
    if t.suppressed:
        notes.append(f"{len(t.suppressed)} finding(s) suppressed by review: shown, not counted by --fail-on "
                     "(audit-kit findings suppressions)")
    return t.alertable(findings), "; ".join(notes) or None
