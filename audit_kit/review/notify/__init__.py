"""Reaching people where they work: e-mail digests per DPO, Teams and Slack summaries, tickets.

Settings arrive resolved (`NotifySettings`, built by `audit_kit.app.context` from the configuration's
`notify:` section and secrets in the environment or files). What each channel delivered to each
destination is recorded in the people store, so every item goes once.
"""

from __future__ import annotations

from audit_kit.review.notify.chat import ChatResult, ChatSummary, post_summaries, slack_payload, teams_payload
from audit_kit.review.notify.digest import (
    Digest,
    DigestResult,
    OverdueAction,
    build_digests,
    overdue_actions,
    send_digests,
)
from audit_kit.review.notify.mail import Mailer, MailError
from audit_kit.review.notify.settings import NotifySettings, SmtpSettings
from audit_kit.review.notify.tickets import Ticket, build_tickets, export, post_tickets

__all__ = [
    "ChatResult", "ChatSummary", "Digest", "DigestResult", "MailError", "Mailer", "NotifySettings", "OverdueAction",
    "SmtpSettings", "Ticket", "build_digests", "build_tickets", "export", "overdue_actions", "post_summaries",
    "post_tickets", "send_digests", "slack_payload", "teams_payload",
]
