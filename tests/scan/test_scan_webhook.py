"""Webhook delivery against a real HTTP receiver on 127.0.0.1 that fails the first attempts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from scan_helpers import make_finding

from audit_kit.errors import ConfigError
from audit_kit.scan.alerts import insert_new_alerts
from audit_kit.scan.outbox import flush, queue
from audit_kit.scan.webhook import RetryPolicy, WebhookSink, redact, validate_url
from audit_kit.store.scans import utcnow


class Receiver:
    """An HTTP server in a thread: answers `fail_with` to the first `failures` POSTs, then 200."""

    def __init__(self, failures: int = 0, fail_with: int = 503) -> None:
        self.failures = failures
        self.fail_with = fail_with
        self.posts: list[dict] = []
        self.headers: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.headers.append(dict(self.headers))
                if outer.failures > 0:
                    outer.failures -= 1
                    self.send_response(outer.fail_with)
                    self.end_headers()
                    return
                outer.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def alert_ids(self) -> list[str]:
        return [a["alert_id"] for p in self.posts for a in p["alerts"]]


def _queue(ws, sink, n=3):
    with ws.transaction():
        ids = insert_new_alerts(ws, [make_finding(i) for i in range(n)], "run-1", utcnow(), None)
        queue(ws, ids, [sink])
    return ids


def test_retries_with_backoff_until_receiver_recovers(ws) -> None:
    sleeps: list[float] = []
    with Receiver(failures=2) as rx:
        sink = WebhookSink(rx.url, RetryPolicy(attempts=4, backoff=0.5), sleep=sleeps.append, token="s3cret")
        ids = _queue(ws, sink)
        result = flush(ws, sink)
    assert (result.delivered, result.queued, result.error) == (3, 0, None)
    assert sorted(rx.alert_ids) == sorted(ids)
    assert sleeps == [0.5, 1.0]  # exponential
    assert rx.headers[-1]["Authorization"] == "Bearer s3cret"
    assert rx.headers[-1]["Content-Type"] == "application/json"
    assert rx.headers[0]["Idempotency-Key"] == rx.headers[-1]["Idempotency-Key"]


def test_undelivered_alerts_stay_queued_for_the_next_run(ws) -> None:
    with Receiver(failures=3) as rx:
        sink = WebhookSink(rx.url, RetryPolicy(attempts=2, backoff=0), sleep=lambda s: None)
        ids = _queue(ws, sink)
        first = flush(ws, sink)
        assert (first.delivered, first.queued) == (0, 3)
        assert "HTTP 503" in (first.error or "") and "2 attempt(s)" in first.error
        second = flush(ws, sink)  # the next run: one more failure, then success
    assert (second.delivered, second.queued) == (3, 0)
    assert sorted(rx.alert_ids) == sorted(ids)


def test_client_error_is_not_retried_in_the_run_but_stays_queued(ws) -> None:
    with Receiver(failures=1, fail_with=400) as rx:
        sink = WebhookSink(rx.url, RetryPolicy(attempts=4, backoff=0), sleep=lambda s: None)
        _queue(ws, sink, n=1)
        result = flush(ws, sink)
        assert len(rx.headers) == 1 and result.queued == 1 and "HTTP 400" in (result.error or "")
        assert flush(ws, sink).delivered == 1


def test_unreachable_receiver_is_an_error_not_a_crash(ws) -> None:
    with Receiver() as rx:
        url = rx.url
    sink = WebhookSink(url, RetryPolicy(attempts=2, backoff=0, timeout=2), sleep=lambda s: None)
    _queue(ws, sink, n=1)
    result = flush(ws, sink)
    assert result.queued == 1 and result.error


@pytest.mark.parametrize(
    "url", ["http://alerts.example.org/hook", "ftp://127.0.0.1/x", "not a url", "https://", "https://h:port/x"]
)
def test_unsafe_or_invalid_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="--webhook"):
        validate_url(url)


def test_urls_are_redacted_and_never_stored(ws) -> None:
    url = "https://hooks.example.org/services/T000/B000/SECRETTOKEN?x=1"
    assert redact(url) == "https://hooks.example.org/…"
    sink = WebhookSink(url)
    _queue(ws, sink, n=1)
    stored = ws.con.execute("SELECT sink, label FROM scan_outbox").fetchall()
    assert "SECRETTOKEN" not in repr(stored)
    assert validate_url("http://localhost:8080/x") and validate_url("http://[::1]:9/x")
