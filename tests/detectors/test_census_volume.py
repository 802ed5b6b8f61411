"""A census with no purpose to allow-list it is more of the same work, not snooping (issue 16): a worker who, on one
day, opens every child their council works with - and, at their usual small share, some it does not - is judged
by the share of their records no involvement explains, which has not moved; the count of such children per day,
which a day's census multiplies along with everything else, does not carry the alert there. Someone who opens as
many unexplained children on an ordinary day of their own work keeps it.

World: the hand-made mini world (`det_miniworld`): LA1 is involved with C0000-C0299 (its area, A); its workers
open about twenty children a day from their team's sixty, and now and then a child of area B (C0500-C0599)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import TRUTH, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

CENSUS = "LA1-U01"
DETECTORS = ["no_relationship", "out_of_area"]


def _events() -> _Events:
    ev = _Events()
    # Their own small share of children no involvement explains (area B, no colleague reads them): one every
    # other working day of the history, about a seventh of the children they open.
    history = [WINDOW_START - timedelta(days=k) for k in range(1, 29)]
    for k, d in enumerate(x for x in history if x.weekday() < 5):
        if k % 2 == 0:
            ev.add(d, 14, CENSUS, "LA1", f"C{310 + k // 2:04d}")
    # The census day: every child the council works with and, at about the same share, forty it does not;
    # no purpose given, so nothing allow-lists it.
    day = WINDOW_START + timedelta(days=3)
    for k in range(300):
        ev.add(day, 9 + k * 0.02, CENSUS, "LA1", f"C{k:04d}", purpose=None)
    for k in range(40):
        ev.add(day, 9.01 + k * 0.15, CENSUS, "LA1", f"C{310 + k:04d}", purpose=None)
    return ev


def _run(tmp_path, config: str = ""):  # type: ignore[no-untyped-def]
    return detect_with(tmp_path, _events(), "V", detectors=DETECTORS, config=config)


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _run(tmp_path_factory.mktemp("census"))


def _worst(run, det: str, user: str) -> Severity:  # type: ignore[no-untyped-def]
    return max((f.severity for f in findings_of(run, det, user)), default=Severity.INFO)


def test_a_census_day_at_the_usual_mix_is_not_an_alert(run):
    assert not run.errors
    for det in DETECTORS:
        assert _worst(run, det, CENSUS) < Severity.MEDIUM, det


def test_the_snooper_keeps_the_alert(run):
    assert _worst(run, "no_relationship", TRUTH["no_relationship"]) >= Severity.MEDIUM
    assert _worst(run, "out_of_area", TRUTH["out_of_area"]) >= Severity.MEDIUM


def test_without_the_rule_the_daily_count_alerts_on_the_census(tmp_path):
    off = _run(tmp_path, "detectors: {no_relationship: {params: {volume_shift: 1000}}}")
    assert _worst(off, "no_relationship", CENSUS) >= Severity.MEDIUM
