"""The outbox: alerts queued per destination in the alert's own transaction, delivered at least once.

A destination ("sink") is the alerts JSON-lines file or a webhook. Queue rows are written in the
same DuckDB transaction as the alert rows, so an alert can never exist without its deliveries
pending; a row is marked delivered only after the destination has it. Delivery that fails stays
queued for the next run (never dropped). The JSONL file is made exactly-once by deduplicating on
`alert_id` against what the file already holds; a webhook receiver may see a batch twice if a scan
is killed between its 2xx and our bookkeeping, so receivers should dedupe on `alert_id` too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from audit_kit.errors import InputError
from audit_kit.models.findings import Alert
from audit_kit.store import scans as store
from audit_kit.store.workspace import Workspace


class Sink(Protocol):
    """A destination for alerts: an opaque stable id, a printable label, and a way to deliver a batch."""

    @property
    def sink_id(self) -> str: ...

    @property
    def label(self) -> str: ...

    def deliver(self, alerts: list[Alert]) -> list[str]:
        """Deliver alerts; return the ids the destination now holds. Raise DeliveryError on failure."""
        ...


class DeliveryError(Exception):
    """A destination did not accept a batch; the alerts stay queued."""


@dataclass
class DeliveryResult:
    """What one delivery pass did for one destination."""

    label: str
    delivered: int = 0
    queued: int = 0
    error: str | None = None


def queue(ws: Workspace, alert_ids: list[str], sinks: list[Sink]) -> None:
    """Queue alerts for each destination. Caller owns the transaction (the one inserting the alerts)."""
    store.queue(ws, alert_ids, [(s.sink_id, s.label) for s in sinks])


def queued_elsewhere(ws: Workspace, sink_ids: list[str]) -> dict[str, int]:
    """Undelivered alerts for destinations not configured in this run: label -> count (reported, kept)."""
    return store.queued_elsewhere(ws, sink_ids)


def flush(
    ws: Workspace, sink: Sink, batch_size: int = 100, after_send: Callable[[], None] | None = None
) -> DeliveryResult:
    """Deliver everything queued for `sink`, in batches; stop at the first failing batch (rest stays queued).

    `after_send` runs between a batch reaching the destination and its bookkeeping (a test hook).
    """
    result = DeliveryResult(sink.label)
    ids = store.pending_ids(ws, sink.sink_id)
    for start in range(0, len(ids), batch_size):
        batch = store.load_alerts(ws, alert_ids=ids[start : start + batch_size])
        try:
            done = sink.deliver(batch)
        except DeliveryError as exc:
            result.error = str(exc)
            with ws.transaction():
                store.delivery_failed(ws, sink.sink_id, str(exc))
            break
        if after_send is not None:
            after_send()
        with ws.transaction():
            store.delivered(ws, sink.sink_id, done)
        result.delivered += len(done)
    result.queued = len(store.pending_ids(ws, sink.sink_id))
    return result


class JsonlSink:
    """The alerts file: one JSON object per line, each alert_id once, appended and fsynced.

    Appending (not rewriting) lets logrotate move the file away safely; a line cut short by a kill
    is trimmed before the next append, and ids already in the file are not written again.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.sink_id = "file:" + hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:16]
        self.label = str(self.path)

    def check(self) -> None:
        """Fail early (InputError naming the path) if the file cannot be written."""
        parent = self.path.parent
        if not parent.is_dir():
            raise InputError(f"--alerts {self.path}: directory {parent} does not exist")
        if self.path.is_dir():
            raise InputError(f"--alerts {self.path}: is a directory, expected a .jsonl file")
        if not os.access(parent, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            raise InputError(f"--alerts {self.path}: not writable")

    def deliver(self, alerts: list[Alert]) -> list[str]:
        try:
            present = self._repair_and_read_ids()
            fresh = [a for a in alerts if a.alert_id not in present]
            if fresh:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as fh:
                    for a in fresh:
                        fh.write(json.dumps(a.to_json(), sort_keys=False, default=str) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise DeliveryError(f"{self.path}: {exc.strerror or exc}") from None
        return [a.alert_id for a in alerts]

    def _repair_and_read_ids(self) -> set[str]:
        if not self.path.exists():
            return set()
        ids: set[str] = set()
        with open(self.path, "rb+") as fh:
            data = fh.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):
                # A kill mid-append left a partial line: drop it, the alert is still queued.
                fh.truncate(end)
                data = data[:end]
        for line in data.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                continue  # a line someone else wrote; not ours to judge
            if isinstance(obj, dict) and isinstance(obj.get("alert_id"), str):
                ids.add(obj["alert_id"])
        return ids
