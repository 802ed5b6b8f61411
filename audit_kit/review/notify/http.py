"""POSTing JSON to chat and ticket webhooks: https only (http to this machine for relays and tests),
bounded retries, and an Idempotency-Key so a receiver can drop a repeat."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from audit_kit.scan.webhook import RetryPolicy, redact, validate_url

__all__ = ["PostError", "RetryPolicy", "post_json", "redact", "validate_url"]

_RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


class PostError(Exception):
    """The receiver did not accept the payload (after retries)."""


def post_json(url: str, payload: Any, *, idempotency_key: str | None = None, token: str | None = None,
              policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """POST `payload` as JSON; return the response body on a 2xx, raise PostError otherwise."""
    policy = policy or RetryPolicy()
    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "audit-kit-review"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if token:
        headers["Authorization"] = f"Bearer {token}"
    last = ""
    for attempt in range(1, policy.attempts + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as resp:  # noqa: S310 - validated URL
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.reason}"
            if exc.code not in _RETRYABLE:
                break
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            last = f"{type(reason).__name__}: {reason}"
        if attempt < policy.attempts:
            sleep(policy.delay(attempt))
    raise PostError(f"{redact(url)}: {last}")
