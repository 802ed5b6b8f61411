"""Which event-time window a scan judges, and how late events re-open it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from scan_helpers import add_batch

from audit_kit.errors import InputError
from audit_kit.scan.window import new_event_window, parse_duration
from audit_kit.store.scans import pending_batches


@pytest.mark.parametrize(
    ("text", "expected"),
    [("48h", timedelta(hours=48)), ("2d", timedelta(days=2)), ("1d12h", timedelta(hours=36)),
     ("90m", timedelta(minutes=90)), ("0", timedelta(0)), ("1w", timedelta(days=7)), (" 30s ", timedelta(seconds=30))],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "two days", "5y", "-1d", "1.5h"])
def test_parse_duration_rejects_with_option_name(text: str) -> None:
    with pytest.raises(InputError, match="--lateness"):
        parse_duration(text)


def test_first_window_covers_all_new_days(ws) -> None:
    add_batch(ws, "b1", ["2026-10-18 10:00:00", "2026-10-19 23:59:00"])
    w = new_event_window(ws, pending_batches(ws), None, timedelta(days=2))
    assert (w.since, w.until) == (datetime(2026, 10, 18), datetime(2026, 10, 20))
    assert (w.new_events, w.late_events, w.too_late_events) == (2, 0, 0)
    assert w.max_timestamp == datetime(2026, 10, 19, 23, 59)


def test_late_events_reopen_their_day_and_too_late_ones_are_counted(ws) -> None:
    add_batch(ws, "b2", ["2026-10-21 08:00:00", "2026-10-19 12:00:00", "2026-10-10 09:00:00"])
    watermark = datetime(2026, 10, 20, 18, 0)
    w = new_event_window(ws, ["b2"], watermark, timedelta(days=2))
    # 10-19 is within 2 days of the watermark: its day is judged again; 10-10 is too late.
    assert (w.since, w.until) == (datetime(2026, 10, 19), datetime(2026, 10, 22))
    assert (w.late_events, w.too_late_events) == (1, 1)


def test_only_too_late_events_judge_nothing(ws) -> None:
    add_batch(ws, "b3", ["2026-09-01 09:00:00"])
    w = new_event_window(ws, ["b3"], datetime(2026, 10, 20), timedelta(hours=48))
    assert w.since is None and w.too_late_events == 1


def test_min_days_widens_window_backwards(ws) -> None:
    add_batch(ws, "b4", ["2026-10-21 08:00:00"])
    w = new_event_window(ws, ["b4"], None, timedelta(0), min_days=3)
    assert (w.since, w.until) == (datetime(2026, 10, 19), datetime(2026, 10, 22))
    assert w.judged_since == datetime(2026, 10, 21)  # the extra days are context, judged before


def test_no_batches_no_window(ws) -> None:
    w = new_event_window(ws, [], None, timedelta(days=2))
    assert w.since is None and w.new_events == 0
