"""Tickets for the holder's service desk: confirmed findings and overdue risk-register actions.

Three forms of the same tickets:

- a CSV for Jira's CSV importer (Summary, Issue Type, Priority, Due Date, Description, Labels…);
- a ServiceNow import-set JSON (`{"records": [...]}`, the body of `POST /api/now/import/{table}/insertMultiple`);
- a generic webhook receiving one POST per ticket, with the ticket's key as Idempotency-Key, each
  ticket posted once (recorded in `review_deliveries` after a 2xx; a rerun posts only what is new).

Every ticket has a stable `key` (AK-F-… for a finding, AK-A-… for an action) to dedupe on. Texts
carry user ids and record pseudonyms, never raw record ids: a service desk is a restricted audience.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from audit_kit.errors import InputError
from audit_kit.models.findings import Severity
from audit_kit.models.review import FindingState, ReviewedFinding
from audit_kit.review.notify.digest import OverdueAction
from audit_kit.review.notify.http import PostError, post_json, redact, validate_url
from audit_kit.safetext import spreadsheet_cell
from audit_kit.store import review as repo
from audit_kit.store.people import PeopleStore
from audit_kit.store.review import FindingFilter

JIRA_PRIORITY = {Severity.CRITICAL: "Highest", Severity.HIGH: "High", Severity.MEDIUM: "Medium",
                 Severity.LOW: "Low", Severity.INFO: "Lowest"}
LEVEL_PRIORITY = {"very_high": "Highest", "very high": "Highest", "high": "High", "moderate": "Medium",
                  "medium": "Medium", "low": "Low", "very_low": "Lowest", "very low": "Lowest"}
# ServiceNow urgency/impact: 1 high, 2 medium, 3 low.
SN_LEVEL = {"Highest": 1, "High": 1, "Medium": 2, "Low": 3, "Lowest": 3}


@dataclass(frozen=True)
class Ticket:
    """One ticket, whatever the desk."""

    key: str
    kind: str  # finding | action
    org_id: str
    summary: str
    description: str
    priority: str  # Jira's names: Highest, High, Medium, Low, Lowest
    due: date | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)
    source_id: str = ""  # the finding id or risk id

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat() if self.due else None
        data["labels"] = list(self.labels)
        return data


def finding_ticket(f: ReviewedFinding, decided_by: str | None = None) -> Ticket:
    when = f"{f.first_seen:%Y-%m-%d %H:%M}" if f.first_seen else "undated"
    until = f" to {f.last_seen:%Y-%m-%d %H:%M}" if f.last_seen else ""
    desc = "\n".join([
        f.summary, "",
        f"Finding {f.finding_id} ({f.detector}, severity {f.severity.value}, score {f.score:.2f}).",
        f"Organisation: {f.org_id or '—'}; user: {f.user_id or '—'}; activity {when}{until} UTC.",
        f"Confirmed by {decided_by or f.updated_by or 'a reviewer'} on {f.updated_at:%Y-%m-%d}.",
        "Record ids are pseudonyms; the review team resolves them. History: audit-kit findings show " + f.finding_id,
    ])
    return Ticket(
        key=f"AK-F-{f.finding_id}", kind="finding", org_id=f.org_id or "",
        summary=f"[audit-kit] Confirmed {f.detector.replace('_', ' ')}: {f.user_id or f.org_id or 'finding'} at {f.org_id or '—'}"[:250],
        description=desc, priority=JIRA_PRIORITY[f.severity], due=None,
        labels=("audit-kit", "confirmed-finding", f.detector), source_id=f.finding_id,
    )


def action_ticket(a: OverdueAction) -> Ticket:
    desc = "\n".join([
        f"Risk {a.risk_id} ({a.risk_level} risk) at {a.org_id}: {a.title}.",
        f"Owner: {a.owner}. Target date {a.target_date:%Y-%m-%d} has passed.", "",
        "Treatment actions:", *[f"- {x}" for x in a.actions],
    ])
    return Ticket(
        key="AK-A-" + hashlib.sha256(a.key.encode()).hexdigest()[:16], kind="action", org_id=a.org_id,
        summary=f"[audit-kit] Overdue action {a.risk_id}: {a.title}"[:250], description=desc,
        priority=LEVEL_PRIORITY.get(a.risk_level.lower(), "Medium"), due=a.target_date,
        labels=("audit-kit", "overdue-action", a.org_id), source_id=a.risk_id,
    )


def build_tickets(people: PeopleStore, actions: Sequence[OverdueAction] = (), org_ids: Sequence[str] = (),
                  min_severity: Severity = Severity.INFO) -> list[Ticket]:
    """Tickets for every confirmed finding (at or above `min_severity`) and every overdue action."""
    found = repo.load_findings(people, FindingFilter(states=(FindingState.CONFIRMED,), org_ids=tuple(org_ids),
                                                     min_severity=min_severity, include_absent=True))
    tickets = [finding_ticket(f) for f in found]
    tickets += [action_ticket(a) for a in actions if not org_ids or a.org_id in org_ids]
    return tickets


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return str(spreadsheet_cell(value))


def jira_csv(tickets: Sequence[Ticket]) -> str:
    """The tickets as a CSV for Jira's importer (map the columns to fields of the same names; the
    three Labels columns become one multi-value field; External ID to a text field for dedupe)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Summary", "Issue Type", "Priority", "Due Date", "Description", "Labels", "Labels", "Labels",
                "Component", "External ID"])
    for t in tickets:
        labels = list(t.labels[:3]) + [""] * (3 - len(t.labels[:3]))
        w.writerow([_cell(t.summary), "Task", t.priority, t.due.isoformat() if t.due else "", _cell(t.description),
                    *(_cell(x) for x in labels), _cell(t.org_id), t.key])
    return buf.getvalue()


def servicenow_json(tickets: Sequence[Ticket]) -> dict[str, Any]:
    """The tickets as a ServiceNow import-set payload (`insertMultiple`): one record per ticket, with
    `u_`-prefixed staging columns a transform map sends on to incident or task fields."""
    return {"records": [
        {
            "u_correlation_id": t.key,
            "u_short_description": t.summary[:160],
            "u_description": t.description,
            "u_category": "Information security",
            "u_subcategory": "audit-kit " + t.kind,
            "u_urgency": str(SN_LEVEL.get(t.priority, 2)),
            "u_impact": str(SN_LEVEL.get(t.priority, 2)),
            "u_due_date": f"{t.due.isoformat()} 17:00:00" if t.due else "",
            "u_company": t.org_id,
            "u_source_id": t.source_id,
        }
        for t in tickets
    ]}


def export(tickets: Sequence[Ticket], fmt: str, out: Path) -> Path:
    """Write tickets as `jira` (CSV) or `servicenow` (JSON) to `out`."""
    if fmt == "jira":
        text = jira_csv(tickets)
    elif fmt == "servicenow":
        text = json.dumps(servicenow_json(tickets), indent=2) + "\n"
    elif fmt == "json":
        text = json.dumps([t.to_json() for t in tickets], indent=2) + "\n"
    else:
        raise InputError(f"--format {fmt!r}: expected jira, servicenow or json")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"-o {out}: cannot write ({exc.strerror or exc})") from None
    return out


@dataclass
class PostResult:
    posted: list[str] = field(default_factory=list)
    skipped: int = 0  # already posted before
    error: str | None = None


def post_tickets(people: PeopleStore, tickets: Sequence[Ticket], url: str, now: datetime, token: str | None = None,
                 post: Callable[..., bytes] = post_json) -> PostResult:
    """POST each ticket not posted to this URL before (one request per ticket; stop at the first
    failure, the rest stay due for the next run)."""
    validate_url(url)
    destination = "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:16]
    done = repo.delivered_items(people, "tickets", destination)
    result = PostResult()
    for t in tickets:
        if t.key in done:
            result.skipped += 1
            continue
        try:
            post(url, t.to_json(), idempotency_key=t.key, token=token)
        except PostError as exc:
            result.error = f"{redact(url)}: {exc}"
            break
        with people.transaction():
            repo.record_delivered(people, "tickets", destination, [t.key], now)
        result.posted.append(t.key)
    return result
