"""Webhook delivery: POST alerts as JSON with retries and exponential backoff (stdlib urllib only).

Plain http is refused except to this machine: alerts name users and organisations and carry
pseudonymised record ids about children, so they cross a network only encrypted. A bearer token is
read from the environment (AUDIT_KIT_WEBHOOK_TOKEN), never from the command line where `ps` shows it.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from audit_kit.errors import ConfigError
from audit_kit.scan.alerts import Alert
from audit_kit.scan.outbox import DeliveryError

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
# Statuses worth retrying in the same run; anything else 4xx means the receiver rejects the payload
# (retrying now would fail the same way) but the alerts still stay queued for the next run.
_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one run tries a webhook: attempts per batch and exponential backoff between them."""

    attempts: int = 4
    backoff: float = 1.0  # seconds before the 2nd attempt; doubles each time
    max_backoff: float = 30.0
    timeout: float = 10.0  # per request

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))


class WebhookSink:
    """POSTs `{"alerts": [...]}` batches to a URL; a 2xx means the receiver holds them all."""

    def __init__(
        self,
        url: str,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        token: str | None = None,
    ) -> None:
        self.url = validate_url(url)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._token = token
        # The id is a hash so a URL that embeds a secret is never written to the workspace.
        self.sink_id = "webhook:" + hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self.label = redact(self.url)
        self.attempts_made = 0

    def deliver(self, alerts: list[Alert]) -> list[str]:
        body = json.dumps({"alerts": [a.to_json() for a in alerts]}, default=str).encode()
        ids = [a.alert_id for a in alerts]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "audit-kit-scan",
            # Same batch, same key: lets a receiver drop a batch it already took before a kill.
            "Idempotency-Key": hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32],
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        last = ""
        for attempt in range(1, self.policy.attempts + 1):
            self.attempts_made += 1
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.policy.timeout) as resp:  # noqa: S310
                    resp.read()
                    return ids
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} {exc.reason}"
                if exc.code not in _RETRYABLE:
                    break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"{type(reason).__name__}: {reason}"
            if attempt < self.policy.attempts:
                self._sleep(self.policy.delay(attempt))
        raise DeliveryError(f"{self.label}: {last} after {attempt} attempt(s)")


def validate_url(url: str) -> str:
    """The URL if it is https, or http to this machine; ConfigError naming it otherwise."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        host = ""
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"--webhook {redact(url)}: expected an http(s) URL such as https://alerts.example/hook")
    if parts.scheme == "http" and host not in _LOOPBACK:
        raise ConfigError(
            f"--webhook {redact(url)}: plain http to another machine would send alerts unencrypted",
            hint="use https://, or http://127.0.0.1:PORT for a local relay",
        )
    return url


def redact(url: str) -> str:
    """scheme://host[:port]/… — enough to recognise a destination without leaking a token in its path."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not parts.netloc:
        return "<invalid URL>"
    netloc = parts.hostname or ""
    if port:
        netloc += f":{port}"
    tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{netloc}{tail}"
