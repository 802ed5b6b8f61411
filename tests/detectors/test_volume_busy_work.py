"""volume_spike tells a busy day of one's own work from a trawl (issue 16): a social worker on a duty week opens
three times their usual records and writes on them as they always do, which is work; a colleague who opens as
many and writes on none of them keeps the alert. Independent review worlds showed the first as the largest share
of volume_spike's false alerts (duty rotas), while every misuse spike wrote on under a fifth of what it opened.

World: the hand-made mini world (`det_miniworld`), where two caseworkers are given a writing habit (about half
their record accesses fall on records they update the same day), then a spike day in the window each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from det_miniworld import DAYS, START, TRUTH, WINDOW_START, _Events, add_events, findings_of, new_ws

from audit_kit.config import parse_config
from audit_kit.detectors import run_detectors
from audit_kit.models.findings import Severity

DUTY_WEEK, TRAWLER = "LA1-U05", "LA1-U06"
SPIKE_DAY = WINDOW_START + timedelta(days=9)  # a Wednesday in the window


def _events() -> _Events:
    ev = _Events()
    for k in range(DAYS):
        d = START + timedelta(days=k)
        if d.weekday() >= 5:
            continue
        for u in (DUTY_WEEK, TRAWLER):  # the writing habit: eight records read and updated a day
            for j in range(8):
                rec = f"C{(k * 8 + j) % 60:04d}"
                ev.add(d, 10 + j * 0.5, u, "LA1", rec)
                ev.add(d, 10.1 + j * 0.5, u, "LA1", rec, "update")
    for j in range(180):  # the duty day: new referrals across the area, half of them written on
        rec = f"C{(j * 7) % 300:04d}"
        ev.add(SPIKE_DAY, 9 + j / 25, DUTY_WEEK, "LA1", rec)
        if j % 2 == 0:
            ev.add(SPIKE_DAY, 9.01 + j / 25, DUTY_WEEK, "LA1", rec, "update")
    for j in range(240):  # the trawl: as many records opened, none written on
        ev.add(SPIKE_DAY, 9 + j / 30, TRAWLER, "LA1", f"C{(j * 11) % 300:04d}")
    return ev


def _run(tmp_path, config: str = ""):  # type: ignore[no-untyped-def]
    with new_ws(tmp_path) as ws:
        add_events(ws, _events(), "W")
        return run_detectors(ws, parse_config(config), detectors=["volume_spike"], store=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _run(tmp_path_factory.mktemp("busy"))


def _spike(run, user):  # type: ignore[no-untyped-def]
    found = [f for f in findings_of(run, "volume_spike", user) if f.evidence["bucket"] == SPIKE_DAY.isoformat()]
    assert len(found) == 1, f"one spike finding for {user} on {SPIKE_DAY}: {found}"
    return found[0]


def test_a_day_written_on_as_usual_is_busy_work_kept_low(run):
    assert not run.errors
    f = _spike(run, DUTY_WEEK)
    assert f.severity < Severity.MEDIUM
    ev = f.evidence
    assert "written on" in ev["expected_work"]
    assert ev["usual_worked_on_share"] >= 0.4 and ev["worked_on_share"] >= 0.5 * ev["usual_worked_on_share"]


def test_as_many_records_opened_and_none_written_on_keeps_the_alert(run):
    f = _spike(run, TRAWLER)
    assert f.severity >= Severity.MEDIUM
    assert "expected_work" not in f.evidence
    assert f.evidence["worked_on_share"] < 0.2 <= f.evidence["usual_worked_on_share"]


def test_the_rule_can_be_switched_off(tmp_path):
    off = _run(tmp_path, "detectors: {volume_spike: {params: {work_explains: false}}}")
    f = _spike(off, DUTY_WEEK)
    assert f.severity >= Severity.MEDIUM and "expected_work" not in f.evidence


def test_a_user_who_never_writes_is_judged_on_volume_alone(run):
    """The mini world's own spike user (LA1-U04) writes on nothing, ever: no usual share, so no excuse."""
    f = findings_of(run, "volume_spike", TRUTH["volume_spike"])
    assert f and max(x.severity for x in f) >= Severity.MEDIUM
    assert all("expected_work" not in x.evidence and x.evidence["usual_worked_on_share"] == 0 for x in f)
