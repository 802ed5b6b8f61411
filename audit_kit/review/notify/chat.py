"""Chat summaries in Microsoft Teams and Slack incoming-webhook formats.

A chat channel is read by more people than a DPO's mailbox, so a summary says less: counts by
severity and organisation, and per finding only its short id, detector, organisation and severity —
never a user id, a record pseudonym or a summary sentence. Reviewers open the finding in audit-kit.
Each finding is posted to a channel once (recorded in `review_deliveries` after a 2xx).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit_kit.models.findings import Severity
from audit_kit.models.review import FindingState, ReviewedFinding
from audit_kit.review.notify.http import PostError, post_json, redact, validate_url
from audit_kit.store import review as repo
from audit_kit.store.people import PeopleStore
from audit_kit.store.review import FindingFilter

MAX_LISTED = 10


@dataclass(frozen=True)
class ChatSummary:
    """What one post says: the new findings (not yet posted to that channel), most severe first."""

    findings: list[ReviewedFinding]
    now: datetime

    @property
    def title(self) -> str:
        n = len(self.findings)
        return f"audit-kit: {n} new finding{'s' * (n != 1)} to review"

    def lines(self) -> list[str]:
        by_sev = Counter(f.severity for f in self.findings)
        sev = ", ".join(f"{by_sev[s]} {s.value}" for s in sorted(by_sev, key=lambda s: -s.rank))
        orgs = Counter(f.org_id or "(none)" for f in self.findings)
        top = ", ".join(f"{o} ({n})" for o, n in orgs.most_common(5))
        return [f"By severity: {sev}.", f"Organisations: {top}."]

    def items(self) -> list[str]:
        return [f"{f.severity.value.upper()} · {f.detector} · {f.org_id or '—'} · {f.finding_id[:10]}"
                for f in self.findings[:MAX_LISTED]]

    @property
    def more(self) -> int:
        return max(0, len(self.findings) - MAX_LISTED)


def teams_payload(s: ChatSummary) -> dict[str, Any]:
    """A Teams message with one Adaptive Card (what Teams workflows' incoming webhooks accept)."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": s.title, "wrap": True},
        *({"type": "TextBlock", "text": line, "wrap": True} for line in s.lines()),
        *({"type": "TextBlock", "text": f"- {item}", "wrap": True, "spacing": "None"} for item in s.items()),
    ]
    if s.more:
        body.append({"type": "TextBlock", "text": f"… and {s.more} more.", "wrap": True})
    body.append({"type": "TextBlock", "isSubtle": True, "wrap": True,
                 "text": f"Prepared {s.now:%Y-%m-%d %H:%M} UTC. Review with: audit-kit findings list --status open"})
    return {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": body},
        }],
    }


def slack_payload(s: ChatSummary) -> dict[str, Any]:
    """A Slack message: fallback `text` plus Block Kit sections in mrkdwn."""
    listing = "\n".join(f"• {item}" for item in s.items()) + (f"\n… and {s.more} more." if s.more else "")
    return {
        "text": s.title,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": s.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(s.lines())}},
            {"type": "section", "text": {"type": "mrkdwn", "text": listing or "—"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                f"Prepared {s.now:%Y-%m-%d %H:%M} UTC · `audit-kit findings list --status open`"}]},
        ],
    }


FORMATS: dict[str, Callable[[ChatSummary], dict[str, Any]]] = {"teams": teams_payload, "slack": slack_payload}


@dataclass
class ChatResult:
    posted: list[tuple[str, int]] = field(default_factory=list)  # (channel label, findings)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = ", ".join(f"{n} to {label}" for label, n in self.posted) or "nothing new to post"
        if self.failed:
            text += "; failed: " + "; ".join(f"{label} ({err})" for label, err in self.failed)
        return text


def post_summaries(people: PeopleStore, channels: Sequence[tuple[str, str]], now: datetime,
                   min_severity: Severity = Severity.HIGH, dry_run: bool = False,
                   post: Callable[..., bytes] = post_json) -> tuple[list[tuple[str, ChatSummary]], ChatResult]:
    """Post one summary to each (format, url) channel of the open findings it has not had yet; returns
    the (format, summary) of each channel that had something new, and what was posted or failed."""
    result = ChatResult()
    summaries: list[tuple[str, ChatSummary]] = []
    for fmt, url in channels:
        if fmt not in FORMATS:
            raise ValueError(f"unknown chat format {fmt!r}")
        validate_url(url)
        destination = f"{fmt}:" + hashlib.sha256(url.encode()).hexdigest()[:16]  # the URL is a secret
        channel = f"chat-{fmt}"
        sent = repo.delivered_items(people, channel, destination)
        fresh = [f for f in repo.load_findings(people, FindingFilter(
            states=(FindingState.OPEN, FindingState.UNDER_REVIEW), min_severity=min_severity))
            if f.finding_id not in sent]
        if not fresh:
            continue
        summary = ChatSummary(fresh, now)
        summaries.append((fmt, summary))
        if dry_run:
            continue
        label = f"{fmt} {redact(url)}"
        key = hashlib.sha256((destination + "".join(sorted(f.finding_id for f in fresh))).encode()).hexdigest()[:32]
        try:
            post(url, FORMATS[fmt](summary), idempotency_key=key)
        except PostError as exc:
            result.failed.append((label, str(exc)))
            continue
        with people.transaction():
            repo.record_delivered(people, channel, destination, [f.finding_id for f in fresh], now)
        result.posted.append((label, len(fresh)))
    return summaries, result
