"""Sending e-mail: SMTP with STARTTLS (certificate verified), standard library only.

Plain SMTP is refused except to this machine (a local relay): a digest names users and organisations
and carries record pseudonyms, so it crosses a network only encrypted.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from audit_kit.errors import ConfigError
from audit_kit.review.notify.settings import SmtpSettings

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class MailError(Exception):
    """The server did not take a message (nothing is recorded as delivered)."""


def check_settings(s: SmtpSettings) -> None:
    """ConfigError when the settings would send a digest unencrypted across a network."""
    if not s.starttls and s.host.lower() not in LOOPBACK:
        raise ConfigError(f"notify.email: starttls is off for {s.host}: digests would cross the network unencrypted",
                          hint="set starttls: true, or relay through an SMTP server on 127.0.0.1")


class Mailer:
    """One SMTP session for a batch of messages (use as a context manager)."""

    def __init__(self, settings: SmtpSettings) -> None:
        check_settings(settings)
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.starttls:
                context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise MailError(f"smtp://{s.host}:{s.port}: {type(exc).__name__}: {exc}") from None
        self._smtp = smtp
        return self

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> None:
        """Send one message; MailError when the server refuses it."""
        assert self._smtp is not None, "use Mailer as a context manager"
        try:
            refused = self._smtp.send_message(message, to_addrs=list(recipients))
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{', '.join(recipients)}: {type(exc).__name__}: {exc}") from None
        if refused:
            raise MailError(f"refused by the server: {', '.join(refused)}")

    def __exit__(self, *exc: object) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None
