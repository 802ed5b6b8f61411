"""after_hours judges the dead of night against the user's own nights (issue 16): a caseworker whose history holds
many late evenings is not surprised by an evening, but one night reading other people's children at 02:00 is not
an evening. A police officer whose history holds such nights is not surprised by one more. World: the hand-made
mini world (`det_miniworld`, working hours 07:00-19:00), where no one works evenings or nights; LA2 and POL1 work
in area B (children C0300-C0599), so area A's children (C0000-C0299) are unexplained for them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import START, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

EVENINGS, NIGHTS = "LA2-U12", "POL1-U01"
OFF = "detectors: {after_hours: {params: {night_history_hours: 1000000}}}"  # the night test switched off


def _events() -> _Events:
    ev = _Events()
    weekdays = [START + timedelta(days=d) for d in range(28) if (START + timedelta(days=d)).weekday() < 5]
    for k, d in enumerate(weekdays[:16]):  # the baseline: sixteen late evenings (20:00-22:45) on their own cases
        for j, hour in enumerate((20.2, 20.9, 21.4, 22.1, 22.6)):
            ev.add(d, hour, EVENINGS, "LA2", f"C{300 + (k * 5 + j) % 60:04d}", session=f"EVE-{k}")
    for k, d in enumerate(weekdays[:16]):  # the officer's baseline: sixteen nights (01:00-03:45) in their own area
        for j, hour in enumerate((1.2, 1.9, 2.4, 3.1, 3.6)):
            ev.add(d, hour, NIGHTS, "POL1", f"C{360 + (k * 5 + j) % 60:04d}", session=f"NIGHT-{k}")
    night = WINDOW_START + timedelta(days=3)  # a Thursday in the window: both read area A's children at night
    for user, org in ((EVENINGS, "LA2"), (NIGHTS, "POL1")):
        for j in range(12):
            ev.add(night, 1.1 + j * 0.22, user, org, f"C{(j * 7 + len(org)) % 300:04d}", session=f"W-{user}")
    return ev


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    ev = _events()
    return (detect_with(tmp_path_factory.mktemp("night"), ev, "N", detectors=["after_hours"]),
            detect_with(tmp_path_factory.mktemp("night-off"), ev, "N", detectors=["after_hours"], config=OFF))


def test_a_night_is_not_an_evening_for_an_evening_worker(runs):
    run, off = runs
    assert not run.errors and not off.errors
    (f,) = findings_of(run, "after_hours", EVENINGS)
    base = f.evidence["baseline"]
    assert base["user_hours_far_off"] >= 40 and base["user_hours_at_night"] == 0
    assert f.evidence["unusual_hours_in_the_dead_of_night"] >= 2
    assert f.severity >= Severity.MEDIUM
    # Judged only on their share of hours far off (as a user with too little history to judge their nights is),
    # the evenings make the night ordinary, and the one test made is not corrected for two.
    (g,) = findings_of(off, "after_hours", EVENINGS)
    assert g.severity < Severity.MEDIUM
    assert g.evidence["strength"] < f.evidence["strength"] - 2
    assert "too little history" in g.evidence["chance_model"] and "two tests" in f.evidence["chance_model"]


def test_a_night_worker_is_not_surprised_by_a_night(runs):
    run, _ = runs
    assert all(f.severity < Severity.MEDIUM for f in findings_of(run, "after_hours", NIGHTS))
