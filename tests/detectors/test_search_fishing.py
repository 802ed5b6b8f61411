"""search_fishing sees fishing spread over days (issue 16): fifteen searches on each of two days that lead to
little, from someone who searches twice a day, is an alert; an inspection's searches (an allow-listed purpose)
are expected work, however many. World: the hand-made mini world (`det_miniworld`), where ordinary users
search one to three times a day and open fourteen to twenty-two records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import TRUTH, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

FISHER, INSPECTING = "LA1-U02", "LA2-U02"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    ev = _Events()
    for day in (3, 6):  # fifteen searches on each of two days, between ordinary work
        for k in range(15):
            ev.add(WINDOW_START + timedelta(days=day), 10 + k * 0.3, FISHER, "LA1", None, "search", returned=k % 4)
    for day in (3, 4):  # an inspection's sample: twenty searches a day, for the inspection
        for k in range(20):
            ev.add(WINDOW_START + timedelta(days=day), 10 + k * 0.3, INSPECTING, "LA2", None, "search",
                   purpose="inspection", returned=2)
    return detect_with(tmp_path_factory.mktemp("fishing"), ev, "F")


def _fishing(run, user):
    return findings_of(run, "search_fishing", user)


def test_fishing_spread_over_two_days_is_an_alert(run):
    assert not run.errors
    found = _fishing(run, FISHER)
    assert {f.evidence["bucket"] for f in found} == {str(WINDOW_START + timedelta(days=d)) for d in (3, 6)}
    assert max(f.severity for f in found) >= Severity.MEDIUM


def test_an_inspections_searches_are_expected_work_and_the_injected_case_still_found(run):
    assert not _fishing(run, INSPECTING)
    assert max(f.severity for f in _fishing(run, TRUTH["search_fishing"])) >= Severity.MEDIUM
