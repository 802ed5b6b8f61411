"""E-mail digests: one message per DPO address, holding only their organisations' items, each item once.

Items are findings about the DPO's organisations that are open, under review or confirmed (at or above
the digest's severity; suppressed and explained ones never), and the risk register's actions whose
target date has passed. A finding is sent once when it arrives and once more if a reviewer confirms
it. What each address has received is recorded in the people store (`review_deliveries`) only after
the server accepted the message, so a rerun sends nothing twice; a message lost between the server's
acceptance and that record would be sent again (its Message-ID is the same, so mail clients fold it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from audit_kit.models.review import FindingState, ReviewedFinding
from audit_kit.review.notify.mail import Mailer, MailError
from audit_kit.review.notify.settings import NotifySettings, SmtpSettings
from audit_kit.store import review as repo
from audit_kit.store.people import PeopleStore
from audit_kit.store.review import FindingFilter

CHANNEL = "email"
_OPEN = (FindingState.OPEN, FindingState.UNDER_REVIEW)


@dataclass(frozen=True)
class OverdueAction:
    """A risk-register entry whose target date has passed (from the latest stored assessment)."""

    org_id: str
    risk_id: str
    title: str
    risk_level: str
    owner: str
    target_date: date
    actions: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"action:{self.risk_id}:{self.target_date.isoformat()}"


def overdue_actions(assessment: Any | None, today: date, org_ids: Sequence[str] = ()) -> list[OverdueAction]:
    """Overdue risk-register actions of a `NationalAssessment` (None: none), oldest target first."""
    if assessment is None:
        return []
    out = []
    for org in assessment.orgs:
        if org_ids and org.org_id not in org_ids:
            continue
        for e in org.register:
            if e.target_date < today:
                out.append(OverdueAction(org.org_id, e.risk_id, e.title, str(getattr(e.risk_level, "value", e.risk_level)),
                                         e.owner, e.target_date, tuple(e.treatment_actions)))
    out.sort(key=lambda a: (a.target_date, a.org_id, a.risk_id))
    return out


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest: a finding (new or confirmed) or an overdue action."""

    key: str
    org_id: str
    kind: str  # new | confirmed | action
    rank: int  # for ordering: most serious first
    title: str
    lines: tuple[str, ...]


def finding_item(f: ReviewedFinding) -> DigestItem:
    kind = "confirmed" if f.state is FindingState.CONFIRMED else "new"
    when = f"{f.first_seen:%Y-%m-%d}" if f.first_seen else "undated"
    if f.last_seen and f.first_seen and f.last_seen.date() != f.first_seen.date():
        when += f" to {f.last_seen:%Y-%m-%d}"
    head = f"[{f.severity.value.upper()}] {f.detector} · {when} · finding {f.finding_id}"
    lines = [f.summary, f"state: {f.state.value}" + (f", assigned to {f.assignee}" if f.assignee else "")]
    return DigestItem(f"finding:{f.finding_id}:{kind}", f.org_id or "", kind, 10 + f.severity.rank + (5 if kind == "confirmed" else 0),
                      head, tuple(lines))


def action_item(a: OverdueAction, today: date) -> DigestItem:
    late = (today - a.target_date).days
    lines = [f"owner: {a.owner}; target date {a.target_date:%Y-%m-%d} ({late} day{'s' * (late != 1)} overdue)"]
    lines += [f"- {x}" for x in a.actions[:5]]
    return DigestItem(a.key, a.org_id, "action", 12, f"[{a.risk_level.upper()} RISK] {a.risk_id} {a.title}", tuple(lines))


@dataclass
class Digest:
    """One message: its address, the organisations it covers and the items in it."""

    address: str
    org_ids: tuple[str, ...]
    items: list[DigestItem]
    more: int = 0  # items held back for the next digest (over max_items)

    def message(self, smtp: SmtpSettings, now: datetime, org_names: Mapping[str, str]) -> EmailMessage:
        counts = {k: sum(1 for i in self.items if i.kind == k) for k in ("new", "confirmed", "action")}
        parts = [f"{counts['new']} new finding{'s' * (counts['new'] != 1)}"]
        if counts["confirmed"]:
            parts.append(f"{counts['confirmed']} confirmed")
        if counts["action"]:
            parts.append(f"{counts['action']} overdue action{'s' * (counts['action'] != 1)}")
        bodies = ", ".join(f"{o} {org_names.get(o, '')}".strip() for o in self.org_ids)
        msg = EmailMessage()
        msg["Subject"] = f"audit-kit digest for {bodies}: " + ", ".join(parts)
        msg["From"] = smtp.sender
        msg["To"] = self.address
        msg["Date"] = format_datetime(now.replace(tzinfo=None), usegmt=False)
        keys = "\n".join(sorted(i.key for i in self.items))
        digest = hashlib.sha256(f"{self.address}\n{keys}".encode()).hexdigest()[:24]
        msg["Message-ID"] = f"<digest-{digest}@audit-kit>"
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Audit-Kit-Items"] = str(len(self.items))
        msg.set_content(self.text(now, org_names))
        return msg

    def text(self, now: datetime, org_names: Mapping[str, str]) -> str:
        out = [
            "This digest lists what audit-kit found about access to children's records by your organisation"
            f"{'s' if len(self.org_ids) > 1 else ''} since the last one (prepared {now:%Y-%m-%d %H:%M} UTC).",
            "Record ids appear only as pseudonyms; your reviewer can resolve them. Please do not forward it.",
            "",
        ]
        headings = {"confirmed": "Confirmed by a reviewer — please act", "new": "New findings",
                    "action": "Overdue actions from the risk register"}
        for org in self.org_ids:
            mine = [i for i in self.items if i.org_id == org]
            if not mine:
                continue
            out += [f"== {org} {org_names.get(org, '')}".rstrip(), ""]
            for kind in ("confirmed", "new", "action"):
                group = [i for i in mine if i.kind == kind]
                if not group:
                    continue
                out += [headings[kind], ""]
                for i in group:
                    out.append(i.title)
                    out += [f"    {line}" for line in i.lines]
                    out.append("")
        if self.more:
            out.append(f"{self.more} more item{'s' * (self.more != 1)} will follow in the next digest.")
        return "\n".join(out).rstrip() + "\n"


def build_digests(people: PeopleStore, settings: NotifySettings, now: datetime,
                  actions: Sequence[OverdueAction] = ()) -> list[Digest]:
    """The digests due now: one per DPO address with anything it has not received (none: no digest),
    and, with `digest_every_hours`, no digest in that many hours."""
    by_address: dict[str, list[str]] = {}
    for org, addresses in sorted(settings.dpos.items()):
        for a in addresses:
            by_address.setdefault(a.strip().lower(), []).append(org)
    min_sev = settings.digest_min_severity
    out = []
    every = timedelta(hours=settings.digest_every_hours)
    for address, orgs in sorted(by_address.items()):
        last = repo.last_delivery(people, CHANNEL, address)
        if every and last is not None and now - last < every:
            continue  # this DPO had a digest recently: the items wait for the next one
        sent = repo.delivered_items(people, CHANNEL, address)
        findings = repo.load_findings(people, FindingFilter(
            states=(*_OPEN, FindingState.CONFIRMED), org_ids=tuple(orgs), min_severity=min_sev))
        items = [finding_item(f) for f in findings]
        if settings.overdue_actions:
            items += [action_item(a, now.date()) for a in actions if a.org_id in orgs]
        items = [i for i in items if i.key not in sent]
        if not items:
            continue
        items.sort(key=lambda i: (-i.rank, i.org_id, i.key))
        cap = settings.digest_max_items
        out.append(Digest(address, tuple(sorted(orgs)), items[:cap], max(0, len(items) - cap)))
    return out


@dataclass
class DigestResult:
    """What one digest pass did: messages sent (address, items) and addresses that failed (address, error)."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.sent)} digest{'s' * (len(self.sent) != 1)} sent"
        if self.failed:
            text += f", {len(self.failed)} failed ({self.failed[0][1]})"
        return text


def send_digests(
    people: PeopleStore,
    settings: NotifySettings,
    now: datetime,
    actions: Sequence[OverdueAction] = (),
    org_names: Mapping[str, str] | None = None,
    mailer: Callable[[SmtpSettings], Mailer] = Mailer,
    dry_run: bool = False,
) -> tuple[list[Digest], DigestResult]:
    """Build and send the digests due now, recording each address's items once the server took them.
    A failing address is reported and its items stay due. `dry_run` builds without sending."""
    result = DigestResult()
    if settings.smtp is None:
        return [], result
    digests = build_digests(people, settings, now, actions)
    if dry_run or not digests:
        return digests, result
    names = dict(org_names or {})
    try:
        with mailer(settings.smtp) as session:
            for d in digests:
                try:
                    session.send(d.message(settings.smtp, now, names), [d.address])
                except MailError as exc:
                    result.failed.append((d.address, str(exc)))
                    continue
                with people.transaction():
                    repo.record_delivered(people, CHANNEL, d.address, [i.key for i in d.items], now,
                                          reference=f"{len(d.items)} items")
                result.sent.append((d.address, len(d.items)))
    except MailError as exc:  # could not connect or log in: every digest stays due
        result.failed += [(d.address, str(exc)) for d in digests if (d.address, len(d.items)) not in result.sent]
    return digests, result
