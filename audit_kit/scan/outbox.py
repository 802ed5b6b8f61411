"""The outbox: alerts queued per destination in the alert's own transaction, delivered at least once.

A destination ("sink") is the alerts JSON-lines file or a webhook. Queue rows are written in the
same DuckDB transaction as the alert rows, so an alert can never exist without its deliveries
pending; a row is marked delivered only after the destination has it. Delivery that fails stays
queued for the next run (never dropped). The JSONL file is made exactly-once by deduplicating on
`alert_id` against what the file already holds; a webhook receiver may see a batch twice if a scan
is killed between its 2xx and our bookkeeping, so receivers should dedupe on `alert_id` too.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

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

    Appending (not rewriting) lets logrotate move the file away safely. Appends hold an advisory lock
    (flock) on the file; a line of ours cut short by a kill is trimmed before the next append, another
    writer's unfinished last line is left alone, and ids already in the file are not written again. The
    file is read a line at a time, never whole.
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
        lines = {a.alert_id: (json.dumps(a.to_json(), sort_keys=False, default=str) + "\n").encode("utf-8")
                 for a in alerts}
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "rb+") as fh:
                # Writers that cooperate (scans of other workspaces sharing this file) take turns.
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                present, newline_first = self._present_and_tail(fh, lines)
                fresh = [line for aid, line in lines.items() if aid not in present]
                if fresh:
                    fh.write((b"\n" if newline_first else b"") + b"".join(fresh))
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise DeliveryError(f"{self.path}: {exc.strerror or exc}") from None
        return [a.alert_id for a in alerts]

    @staticmethod
    def _present_and_tail(fh: BinaryIO, lines: dict[str, bytes]) -> tuple[set[str], bool]:
        """Which of the alerts in `lines` the file already holds, read a line at a time (the file can be
        large; only the ids asked about are kept), and whether the next write must start a new line.

        A last line without its newline is either ours — an append of one of these very alerts cut short
        by a kill (its bytes are a prefix of the line we are about to write): trimmed — or another
        writer's line in progress: kept as it is, and our lines start after a newline."""
        fh.seek(0)
        present: set[str] = set()
        offset = 0
        tail = b""
        for line in fh:
            if not line.endswith(b"\n"):
                tail = line
                break
            offset += len(line)
            if b'"alert_id"' not in line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue  # a line someone else wrote; not ours to judge
            if isinstance(obj, dict) and obj.get("alert_id") in lines:
                present.add(obj["alert_id"])
        if not tail:
            return present, False
        if any(line.startswith(tail) for line in lines.values()):
            fh.truncate(offset)
            return present, False
        return present, True
