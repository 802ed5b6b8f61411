"""peer_outlier and the intake period (issue 16): a social worker on the duty desk for a fortnight opens
children no colleague works with and writes up about half of them; the half they only screened would make
them an outlier alone, but beside as many written up they are the desk's work, kept low. A colleague who opens
another team's children and writes on none of them stays an alert. Independent review worlds showed duty
weeks writing on about half of the children they opened, and `peer_outlier` alerting them at high.

World: hand-made here, independent of any generator: one council, two teams of six social workers, each team
on its own forty children for six weeks of baseline; then a fortnight's window."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest
from det_miniworld import _Events, insert_world

from audit_kit.config import AuditConfig, parse_config
from audit_kit.detectors import run_detectors
from audit_kit.models.findings import Severity
from audit_kit.store.workspace import Workspace

START = date(2026, 2, 2)  # a Monday
DAYS = 56
WINDOW_START = START + timedelta(days=DAYS - 14)
DESK, SNOOP = "LA1-U05", "LA1-U06"  # both of team A


def _world(ws: Workspace) -> None:
    rng = random.Random(11)
    users = [(f"LA1-U{i:02d}", "LA1", "social_worker", date(2020, 1, 1), None, None, True) for i in range(1, 13)]
    kids = [f"C{k:04d}" for k in range(300)]
    subjects = [(c, "A", False, None, 2016) for c in kids]
    inv = [(c, "LA1", "child_in_need", date(2025, 6, 1), None) for c in kids]
    pool = {"A": kids[:40], "B": kids[40:80]}
    desk = iter(kids[100:220])  # referrals nobody in the council has read: each opened once, by the desk
    ev = _Events()
    for d in (START + timedelta(days=k) for k in range(DAYS)):
        if d.weekday() >= 5:
            continue
        in_window = d >= WINDOW_START
        for i in range(1, 13):
            u = f"LA1-U{i:02d}"
            ev.add(d, 8.5, u, "LA1", None, "login")
            if u == DESK and in_window:
                for k in range(12):  # the duty desk: twelve new referrals a day, every other one written up
                    kid = next(desk)
                    ev.add(d, 9 + k * 0.6, u, "LA1", kid)
                    if k % 2 == 0:
                        ev.add(d, 9.1 + k * 0.6, u, "LA1", kid, "update")
                continue
            team = "A" if i <= 6 else "B"
            for _ in range(10):
                kid = rng.choice(pool["B" if u == SNOOP and in_window and rng.random() < 0.85 else team])
                ev.add(d, 9 + rng.random() * 8, u, "LA1", kid)
    insert_world(ws, [("LA1", "Council One", "local_authority", "A", None, None)], users, subjects, inv, ev)


def _run(tmp_path, config: str = ""):  # type: ignore[no-untyped-def]
    ws = Workspace.open(tmp_path / "ws", create=True)
    _world(ws)
    since = datetime.combine(WINDOW_START, time())
    cfg = parse_config(config) if config else AuditConfig()
    cfg = cfg.model_copy(update={"baseline_days": 42})
    try:
        return run_detectors(ws, cfg, since, since + timedelta(days=14), detectors=["peer_outlier"], store=False)
    finally:
        ws.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    return _run(tmp_path_factory.mktemp("desk"))


def _finding(run, user):  # type: ignore[no-untyped-def]
    (f,) = [f for f in run.findings if f.detector == "peer_outlier" and f.user_id == user]
    return f


def test_a_duty_desk_that_writes_up_half_its_referrals_is_an_intake_period(run):
    assert not run.errors
    f = _finding(run, DESK)
    ev = f.evidence
    assert ev["fit"] <= 0.55  # half their children are no community's: an outlier on the fit alone
    assert f.severity < Severity.MEDIUM and "intake" in ev["expected_work"]
    assert ev["other_communities_children"] == {"written_on": 60, "only_read": 60}


def test_another_teams_children_read_and_never_written_on_stay_an_alert(run):
    f = _finding(run, SNOOP)
    assert f.severity >= Severity.MEDIUM and "expected_work" not in f.evidence
    assert f.evidence["other_communities_children"]["written_on"] == 0


def test_the_rule_can_be_switched_off(tmp_path):
    f = _finding(_run(tmp_path, "detectors: {peer_outlier: {params: {intake_explains: false}}}"), DESK)
    assert f.severity >= Severity.MEDIUM and "expected_work" not in f.evidence
