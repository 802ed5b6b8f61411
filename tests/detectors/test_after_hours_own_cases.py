"""after_hours weighs what the hours were spent on (issue 16): evenings spent on one's own cases are expected
work (kept low, corroborating nothing); the same evenings spent reading children one has no reason to read are
an alert, and so are one's own cases in the dead of night. World: the hand-made mini world (`det_miniworld`,
working hours 07:00-19:00 by default), where caseworkers never work evenings and LA1 is involved with every
child of area A (C0000-C0299), LA2 with area B's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import TRUTH, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

CATCHING_UP, BROWSING = "LA1-U01", "LA1-U12"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    ev = _Events()
    for day in (1, 2, 3, 7):  # four weekday evenings, 20:00-22:30 local
        d = WINDOW_START + timedelta(days=day)
        for k, hour in enumerate((20.1, 20.6, 21.2, 21.7, 22.3)):
            ev.add(d, hour, CATCHING_UP, "LA1", f"C{(day * 5 + k) % 60:04d}",  # their team's own children
                   "update" if k % 2 else "view", session=f"EVE-{CATCHING_UP}-{day}")
            ev.add(d, hour, BROWSING, "LA1", f"C{400 + day * 5 + k:04d}",  # area B's children: nothing explains them
                   session=f"EVE-{BROWSING}-{day}")
    return detect_with(tmp_path_factory.mktemp("evenings"), ev, "H")


def _after_hours(run, user):
    return findings_of(run, "after_hours", user)


def test_evenings_on_ones_own_cases_are_expected_work(run):
    assert not run.errors
    (f,) = _after_hours(run, CATCHING_UP)
    assert f.severity < Severity.MEDIUM
    assert f.evidence["unexplained_records_in_unusual_hours"] == 0
    assert f.evidence["records_opened_in_unusual_hours"] >= 10
    assert "own cases" in f.evidence["expected_work"]
    # nothing the user did makes them an alert
    assert all(g.severity < Severity.MEDIUM for g in run.findings if g.user_id == CATCHING_UP)


def test_the_same_evenings_reading_children_one_has_no_reason_to_read_are_an_alert(run):
    (f,) = _after_hours(run, BROWSING)
    assert f.severity >= Severity.MEDIUM
    assert f.evidence["unexplained_records_in_unusual_hours"] == f.evidence["records_opened_in_unusual_hours"] > 0
    assert "expected_work" not in f.evidence


def test_ones_own_cases_in_the_dead_of_night_stay_an_alert(run):
    # the mini world's injected case: a caseworker on their own team's children at 03:00 on four nights
    found = _after_hours(run, TRUTH["after_hours"])
    assert found and max(f.severity for f in found) >= Severity.MEDIUM
    f = max(found, key=lambda g: g.severity)
    assert f.evidence["unexplained_records_in_unusual_hours"] == 0
    assert f.evidence["unusual_hours_in_the_dead_of_night"] > 0
    assert "expected_work" not in f.evidence
