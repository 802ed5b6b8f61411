"""Resolved notification settings: what the run context hands the digest, chat and ticket jobs.

`audit_kit.app.context` builds these from the configuration's `notify:` section, the environment and
the files they name (SMTP credentials, webhook URLs, the DPO list); nothing below it reads either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from audit_kit.models.findings import Severity


@dataclass(frozen=True)
class SmtpSettings:
    """An SMTP server and how to talk to it. `password` is never printed (see `__repr__`)."""

    host: str
    port: int = 587
    starttls: bool = True
    sender: str = "audit-kit@localhost"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class NotifySettings:
    """Everything notifications need: the SMTP server, each organisation's DPO addresses, digest and chat
    options, and chat webhook URLs (secrets: never printed or stored, only hashed)."""

    smtp: SmtpSettings | None = None
    dpos: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    digest_min_severity: Severity = Severity.MEDIUM
    digest_max_items: int = 50
    overdue_actions: bool = True
    digest_every_hours: float = 0.0
    teams_url: str | None = field(default=None, repr=False)
    slack_url: str | None = field(default=None, repr=False)
    chat_min_severity: Severity = Severity.HIGH

    @property
    def email_enabled(self) -> bool:
        return self.smtp is not None and bool(self.dpos)

    @property
    def chat_enabled(self) -> bool:
        return bool(self.teams_url or self.slack_url)
