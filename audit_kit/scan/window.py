"""Which event-time window a scan judges: the days touched by newly ingested events, late ones included.

A scan judges events by when they happened (`timestamp`), but finds them by when they arrived (their
ingest batch). New events may be late: an event up to `lateness` older than the latest event already
judged re-opens its day; an older one is too late to alert on automatically (it is stored, counted
in the run history, and a replay over its period will judge it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from audit_kit.errors import InputError
from audit_kit.store.scans import batch_span
from audit_kit.store.workspace import Workspace

_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)\s*([wdhms])")
DAY = timedelta(days=1)


def parse_duration(text: str, option: str = "--lateness") -> timedelta:
    """'48h', '2d', '1d12h', '90m', '0' -> timedelta; InputError naming the option otherwise."""
    s = text.strip().lower()
    if s == "0":
        return timedelta(0)
    if not s or _PART.sub("", s).strip():
        raise InputError(f"{option} {text!r}: expected a duration such as 48h, 2d, 1d12h or 90m")
    return timedelta(seconds=sum(int(n) * _UNIT[u] for n, u in _PART.findall(s)))


def floor_day(ts: datetime) -> datetime:
    return datetime.combine(ts.date(), time())


@dataclass(frozen=True)
class Window:
    """The event-time period a run judges, and what the new events looked like."""

    since: datetime | None  # None: nothing to judge; may reach back before judged_since (min_days)
    until: datetime | None
    judged_since: datetime | None  # the days with new events start here: findings must reach it
    new_events: int
    late_events: int  # older than the latest judged event, within lateness: their days re-opened
    too_late_events: int  # older than lateness allows: stored, not judged by this run
    max_timestamp: datetime | None  # latest new event (the next event watermark candidate)


def new_event_window(
    ws: Workspace,
    batches: list[str],
    watermark: datetime | None,
    lateness: timedelta,
    min_days: int = 1,
) -> Window:
    """The UTC-day-aligned window covering the new events of `batches` that are not too late.

    `min_days` widens the window backwards so the detectors see the days before the new ones as a batch
    detection would (`app.scan.context_days`); those extra days were judged before, so only findings
    reaching `judged_since` count as new.
    """
    if not batches:
        return Window(None, None, None, 0, 0, 0, None)
    cutoff = watermark - lateness if watermark is not None else None
    span = batch_span(ws, batches, watermark, cutoff)
    count, hi, at_or_before_wm, too_late, lo_ok = (
        span.count, span.latest, span.at_or_before_watermark, span.too_late, span.earliest_in_time)
    if not count or lo_ok is None or hi is None:
        return Window(None, None, None, int(count or 0), int(at_or_before_wm or 0), int(too_late or 0), hi)
    judged_since = since = floor_day(lo_ok)
    until = floor_day(hi) + DAY
    if until - since < min_days * DAY:
        since = until - min_days * DAY
    late = int(at_or_before_wm or 0) - int(too_late or 0)
    return Window(since, until, judged_since, int(count), late, int(too_late or 0), hi)
