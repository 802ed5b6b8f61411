"""A council world for two quiet kinds of misuse that the evidence calibration used to hold at low (issue 16).

A council whose social workers share much of their work with other teams (front-door children every
team reads), so a worker's fit to their own community is only about one half, not near one; and whose
cases open and close during the period, so closed cases exist to be reopened. Hand-made, independent of
any world generator:

- a social worker who, in the window, reads forty children of the other teams (fit near 0): a peer
  outlier, however moderate their colleagues' own fits are;
- a social worker who reopens two of their own former cases five and more weeks after they closed,
  where no colleague ever opens a closed case: lingering access;
- a GP receptionist who opens two closed children they never read before, where receptionists do that
  now and then (a former patient's letter): not an alert;
- a social worker with a few other-team children among their own: a weak signal, not an alert;
- a social worker on a first duty week, taking referrals on any team's children and writing each up:
  work, not an outlier.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from det_miniworld import _Events, insert_world

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.store.workspace import Workspace

START = date(2026, 2, 2)  # a Monday
DAYS = 70
WINDOW_START = START + timedelta(days=DAYS - 14)
TEAMS = 6
PER_TEAM = 7
POOL = 25
SHARED = 60

PEER_SNOOPER = "LA1-T0-U06"
LINGERER = "LA1-T1-U05"
WEAK = "LA1-T4-U04"
DUTY = "LA2-T1-U03"
RECEPTIONIST = "GP1-R03"


def _world(ws: Workspace, seed: int = 7) -> None:
    rng = random.Random(seed)
    orgs = [("LA1", "Council One", "local_authority", "A", None, None),
            ("LA2", "Council Two", "local_authority", "B", None, None),
            ("GP1", "Practice One", "gp_practice", "A", None, None)]
    users = [(f"{la}-T{t}-U{i:02d}", la, "social_worker", date(2020, 1, 1), None, None, True)
             for la in ("LA1", "LA2") for t in range(TEAMS) for i in range(PER_TEAM)]
    users += [(f"GP1-R{i:02d}", "GP1", "receptionist", date(2020, 1, 1), None, None, True) for i in range(1, 9)]
    subjects: list[tuple] = []
    inv: list[tuple] = []
    n = 0

    def kids(k: int, area: str) -> list[str]:
        nonlocal n
        out = [f"C{n + j:05d}" for j in range(k)]
        subjects.extend((c, area, False, None, 2015) for c in out)
        n += k
        return out

    # Each team has its own cases, and shares front-door children with the two teams of its group of three.
    pools = {(la, t): kids(POOL, area) for la, area in (("LA1", "A"), ("LA2", "B")) for t in range(TEAMS)}
    shared = {(la, g): kids(SHARED, area) for la, area in (("LA1", "A"), ("LA2", "B")) for g in range(2)}
    for (la, _), cs in [*pools.items(), *shared.items()]:
        inv.extend((c, la, "child_in_need", date(2025, 6, 1), None) for c in cs)
    # The lingerer's own cases, closed early in the baseline after they worked them.
    own_closed = kids(6, "A")
    closed_on = START + timedelta(days=10)
    inv.extend((c, "LA1", "child_in_need", date(2025, 9, 1), closed_on) for c in own_closed)
    # The practice's registered children; one in ten registrations ended before the period (moved away).
    gp_kids = kids(380, "A")
    for k, c in enumerate(gp_kids):
        inv.append((c, "GP1", "registered_gp", date(2019, 1, 1), START - timedelta(days=30) if k % 10 == 0 else None))
    gp_current = [c for k, c in enumerate(gp_kids) if k % 10]
    gp_ended = [c for k, c in enumerate(gp_kids) if k % 10 == 0]

    ev = _Events()
    for d in (START + timedelta(days=k) for k in range(DAYS)):
        if d.weekday() >= 5:
            continue
        in_window = d >= WINDOW_START
        for la in ("LA1", "LA2"):
            for t in range(TEAMS):
                for i in range(PER_TEAM):
                    u = f"{la}-T{t}-U{i:02d}"
                    ev.add(d, 8.5, u, la, None, "login")
                    for _ in range(rng.randint(8, 14)):
                        # about a third of the work is the team's own cases, the rest front-door children
                        kid = rng.choice(pools[la, t]) if rng.random() < 0.35 else rng.choice(shared[la, t // 3])
                        if u == PEER_SNOOPER and in_window and rng.random() < 0.85:
                            kid = rng.choice(pools[la, 3 + rng.randint(0, 2)])  # the other group's own cases
                        ev.add(d, 9 + rng.random() * 8, u, la, kid)
                        if u == DUTY and in_window and rng.random() < 0.85:
                            # a first duty week: referrals on any team's children, each written up
                            kid = rng.choice(pools[la, 3 + rng.randint(0, 2)])
                            ev.add(d, 9 + rng.random() * 8, u, la, kid)
                            ev.add(d, 9 + rng.random() * 8, u, la, kid, "update")
                    if u == LINGERER and d < closed_on:
                        for c in own_closed:
                            ev.add(d, 9 + rng.random() * 8, u, la, c)
        for i in range(1, 9):
            u = f"GP1-R{i:02d}"
            ev.add(d, 8.2, u, "GP1", None, "login", ip="10.3.0.5")
            for _ in range(rng.randint(12, 20)):
                ev.add(d, 9 + rng.random() * 8, u, "GP1", rng.choice(gp_current), ip="10.3.0.5")
            # a former patient's letter now and then, for every receptionist, all period
            if rng.random() < 0.04:
                ev.add(d, 9 + rng.random() * 8, u, "GP1", rng.choice(gp_ended), ip="10.3.0.5")
    w = [d for d in (WINDOW_START + timedelta(days=k) for k in range(14)) if d.weekday() < 5]
    # lingering: two of their own former cases, five and six weeks after closing
    ev.add(w[3], 10.2, LINGERER, "LA1", own_closed[0])
    ev.add(w[6], 14.5, LINGERER, "LA1", own_closed[1])
    ev.add(w[6], 14.6, LINGERER, "LA1", own_closed[1])
    # the receptionist: two more closed registrations than usual, never read before
    ev.add(w[2], 11.0, RECEPTIONIST, "GP1", gp_ended[1], ip="10.3.0.5")
    ev.add(w[5], 15.0, RECEPTIONIST, "GP1", gp_ended[2], ip="10.3.0.5")
    # a weak signal: a few other-team children among ordinary work on one day
    for k in range(3):
        ev.add(w[4], 10 + k / 4, WEAK, "LA1", pools["LA1", 0][k])

    insert_world(ws, orgs, users, subjects, inv, ev)




def run_world(tmp_path_factory, detector: str):  # type: ignore[no-untyped-def]
    """Build the world in a fresh workspace and run `detector` over the last 14 days (56 days' baseline)."""
    ws = Workspace.open(tmp_path_factory.mktemp("teams") / "ws", create=True)
    _world(ws)
    since = datetime.combine(WINDOW_START, time())
    run = run_detectors(ws, AuditConfig(baseline_days=56), since, since + timedelta(days=14), detectors=[detector],
                        store=False)
    return ws, run


def findings_by(run, detector: str, user: str) -> list:  # type: ignore[no-untyped-def]
    """The run's findings of one detector about one user."""
    return [f for f in run.findings if f.detector == detector and f.user_id == user]
