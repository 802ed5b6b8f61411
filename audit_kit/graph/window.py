"""Time windows for graphs: the scan window and the baseline period it is compared with.

Windows are half-open [since, until) in UTC, like the `events.timestamp` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from audit_kit.errors import InputError
from audit_kit.store.ingest import event_span
from audit_kit.store.workspace import Workspace


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval [since, until)."""

    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    def preceding(self) -> Window:
        """The baseline: the period of the same length just before this one."""
        return Window(self.since - (self.until - self.since), self.since)

    def label(self) -> str:
        return f"{self.since:%Y-%m-%d} to {self.until - timedelta(microseconds=1):%Y-%m-%d}"


def as_datetime(value: date | datetime | str | None, name: str = "date") -> datetime | None:
    """A naive UTC datetime from a date, datetime or ISO string (a date means its midnight)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"--{name} {value!r}: not a date", hint="use ISO 8601, e.g. 2026-03-01 or 2026-03-01T08:00Z"
            ) from None
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            from datetime import UTC

            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return datetime.combine(value, time())


def resolve_window(
    ws: Workspace,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
    days: int = 14,
) -> Window:
    """The window to draw: given bounds, else the same default window `detect` uses.

    That is: until just after the last event, since `days` before it (pass the run configuration's
    `window_days`, as `detect` uses), never before the first event. Raises InputError when the
    workspace holds no events or the bounds are reversed.
    """
    start, end = as_datetime(since, "since"), as_datetime(until, "until")
    if start is None or end is None:
        first, last = event_span(ws)
        if first is None or last is None:
            raise InputError(
                f"{ws.path}: the workspace holds no events",
                hint="ingest a dataset first: audit-kit ingest DATASET_DIR --workspace " + str(ws.path),
            )
        if end is None:
            end = last + timedelta(microseconds=1)
        if start is None:
            start = max(first, end - timedelta(days=days))
    if start >= end:
        raise InputError(f"--since {start:%Y-%m-%d %H:%M} is not before --until {end:%Y-%m-%d %H:%M}")
    return Window(start, end)
