"""An intake week is work, not snooping (issue 16): a social worker on the duty desk opens dozens of children their
body has no involvement with and writes up about half of them (referrals taken on); the relationship detectors
keep those reads low. Someone who opens as many and writes on a handful keeps the alert, as does the mini world's
own snooper, who writes on none. Independent review worlds showed duty weeks writing on 45-52% of the unrelated
children they opened, every medium-or-high misuse case on 0-19%.

World: the hand-made mini world (`det_miniworld`): LA1 is involved with C0000-C0299 (its area), LA2 with
C0300-C0599 (area B)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import TRUTH, WINDOW_START, _Events, detect_with, findings_of

from audit_kit.models.findings import Severity

DUTY, HANDFUL = "LA1-U07", "LA2-U07"
DETECTORS = ["no_relationship", "out_of_area"]


def _events() -> _Events:
    ev = _Events()
    days = [WINDOW_START + timedelta(days=k) for k in (0, 1, 2, 3, 4)]
    for j in range(60):  # the duty week: sixty unrelated children, half of them written up
        d, rec = days[j % 5], f"C{400 + j:04d}"
        ev.add(d, 9 + (j // 5) * 0.6, DUTY, "LA1", rec)
        if j % 2 == 0:
            ev.add(d, 9.1 + (j // 5) * 0.6, DUTY, "LA1", rec, "update")
    for j in range(40):  # as many unrelated children, four of them written on
        d, rec = days[j % 4], f"C{100 + j:04d}"
        ev.add(d, 9 + (j // 4) * 0.6, HANDFUL, "LA2", rec, ip="10.2.0.5")
        if j < 4:
            ev.add(d, 9.1 + (j // 4) * 0.6, HANDFUL, "LA2", rec, "update", ip="10.2.0.5")
    return ev


def _run(tmp_path, config: str = ""):  # type: ignore[no-untyped-def]
    return detect_with(tmp_path, _events(), "I", detectors=DETECTORS, config=config)


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _run(tmp_path_factory.mktemp("intake"))


def test_a_duty_week_written_up_as_it_goes_is_kept_low(run):
    assert not run.errors
    for det in DETECTORS:
        found = findings_of(run, det, DUTY)
        assert found, f"{det}: the duty week is still listed"
        f = max(found, key=lambda f: f.severity)
        assert f.severity < Severity.MEDIUM, det
        assert "intake" in f.evidence["expected_work"]
        assert f.evidence["written_on"]["window"] == 30 and f.evidence["records"] <= 30


def test_a_handful_written_on_does_not_excuse_forty_opened(run):
    f = max(findings_of(run, "no_relationship", HANDFUL), key=lambda f: f.severity)
    assert f.severity >= Severity.MEDIUM and "expected_work" not in f.evidence
    assert f.evidence["written_on"]["window"] == 4 and f.evidence["records"] >= 36  # and the odd background read


def test_the_snooper_who_writes_nothing_keeps_the_alert(run):
    f = max(findings_of(run, "no_relationship", TRUTH["no_relationship"]), key=lambda f: f.severity)
    assert f.severity >= Severity.MEDIUM and f.evidence["written_on"]["window"] == 0


def test_the_rule_can_be_switched_off(tmp_path):
    off = _run(tmp_path, "detectors: {no_relationship: {params: {intake_explains: false}}}")
    f = max(findings_of(off, "no_relationship", DUTY), key=lambda f: f.severity)
    assert f.severity >= Severity.MEDIUM and "expected_work" not in f.evidence
