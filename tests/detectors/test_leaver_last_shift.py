"""A leaver's own last night shift is not use after leaving (issue 16): a ward nurse or a police officer on nights
whose last shift starts on their end date works on past midnight. Independent review worlds alerted such
ordinary leavers and shift workers as `leaver_account` (critical). The account used the next morning by someone
with no evening shift before it, or days later, is still critical.

World: the hand-made mini world (`det_miniworld`) with three leavers of LA2 added, whose last day is a Thursday
in the window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import START, WINDOW_START, _Events, add_events, findings_of, new_ws

from audit_kit.config import parse_config
from audit_kit.detectors import run_detectors
from audit_kit.models.findings import Severity

NIGHTS, NIGHTS_THEN_REUSED, DAY_WORKER = "LA2-N01", "LA2-N02", "LA2-N03"
LAST_DAY = WINDOW_START + timedelta(days=3)  # a Thursday
NEXT = LAST_DAY + timedelta(days=1)


def _events() -> _Events:
    ev = _Events()
    for u in (NIGHTS, NIGHTS_THEN_REUSED):  # the last night shift: 19:00 on the last day to 07:00 the next
        for k in range(10):
            ev.add(LAST_DAY, 19 + k * 0.5, u, "LA2", f"C{400 + k:04d}", session=f"night-{u}")
        for k in range(12):
            ev.add(NEXT, 0.2 + k * 0.55, u, "LA2", f"C{420 + k:04d}", session=f"night-{u}")
    for k in range(5):  # someone on the leaver's login four days later
        ev.add(LAST_DAY + timedelta(days=4), 10 + k * 0.2, NIGHTS_THEN_REUSED, "LA2", f"C{450 + k:04d}")
    for k in range(6):  # a day worker: their last day ends at 16:00; the next morning is not theirs
        ev.add(LAST_DAY, 10 + k, DAY_WORKER, "LA2", f"C{460 + k:04d}")
    for k in range(4):
        ev.add(NEXT, 8 + k * 0.25, DAY_WORKER, "LA2", f"C{470 + k:04d}")
    return ev


def _run(tmp_path, config: str = ""):  # type: ignore[no-untyped-def]
    with new_ws(tmp_path) as ws:
        ws.con.executemany(
            "INSERT INTO users (user_id, org_id, role, start_date, end_date) VALUES (?, 'LA2', 'caseworker', ?, ?)",
            [[u, START, LAST_DAY] for u in (NIGHTS, NIGHTS_THEN_REUSED, DAY_WORKER)])
        add_events(ws, _events(), "L")
        return run_detectors(ws, parse_config(config), detectors=["leaver_account"], store=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _run(tmp_path_factory.mktemp("leavers"))


def test_the_last_night_shift_ending_next_morning_is_not_use_after_leaving(run):
    assert not run.errors
    assert findings_of(run, "leaver_account", NIGHTS) == []


def test_use_days_later_is_still_critical_and_counts_only_itself(run):
    (f,) = findings_of(run, "leaver_account", NIGHTS_THEN_REUSED)
    assert f.severity == Severity.CRITICAL
    assert f.evidence["events_after_leaving"] == 5 and f.evidence["days_after_end_to_first_use"] == 4


def test_a_morning_with_no_evening_shift_before_it_is_use_after_leaving(run):
    (f,) = findings_of(run, "leaver_account", DAY_WORKER)
    assert f.severity == Severity.CRITICAL and f.evidence["days_after_end_to_first_use"] == 1


def test_the_grace_for_a_last_shift_can_be_switched_off(tmp_path):
    off = _run(tmp_path, "detectors: {leaver_account: {params: {morning_hour: 0}}}")
    (f,) = findings_of(off, "leaver_account", NIGHTS)
    assert f.severity == Severity.CRITICAL and f.evidence["days_after_end_to_first_use"] == 1
