"""vip_snooping (issue 16, third round): a child in the news draws readers who had not opened the child
before. A GP receptionist who has read the child for weeks with no recorded involvement (involvement data
is never complete) is not one of them; the practices that open it for the first time in the same two days
are, one whose first look fell in the days before the window included. Seventh round: practices from another
area than the child's are the rarer sign, counted against their own rate. World: hand-made, below."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest
from det_miniworld import _Events, insert_world

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.models.findings import Severity
from audit_kit.store.workspace import Workspace

START = date(2026, 2, 2)  # a Monday
DAYS = 70
WINDOW_START = START + timedelta(days=DAYS - 14)
WORKERS = 8
CASES = 30

REGULAR = "GP1-R01"  # has read the child in the news all along, with no recorded involvement
NEWCOMERS = [f"GP{k}-R01" for k in range(2, 8)]
LOCAL_READER = "GP7-R01"  # in the child's area when only three newcomers come from elsewhere
CENSUS = "GP8-A01"  # opens the child in the news as one of a return's 330 records
TEAM = [f"GP8-N{k:02d}" for k in range(1, 5)]  # four staff of one practice, working the case


def _world(ws: Workspace, seed: int = 11, case_closed_days_before: int | None = None,
           newcomers: list[str] = NEWCOMERS, elsewhere: bool = False, casework_noise: bool = False,
           across_weekend: bool = False, census: bool = False, team: bool = False) -> str:
    """`newcomers` open the child in the news (on two days, or with `across_weekend` one a day on the Thursday,
    Friday and Monday); with `elsewhere`, their practices (and patients) are in another area than the child's;
    with `casework_noise`, the practices of the child's area open one of the council's children now and then
    with no involvement recorded (incomplete involvement data); with `census`, one more practice's
    administrator (CENSUS) works through a return of 330 records on one of the story's days, the child in the
    news among them; with `team`, four staff of one more practice (TEAM) open the child on the story's days,
    their practice's involvement with it missing."""
    rng = random.Random(seed)
    away = {u.split("-")[0] for u in newcomers} if elsewhere else set()
    orgs = [("LA1", "Council One", "local_authority", "A", None, None)]
    orgs += [(f"GP{k}", f"Practice {k}", "gp_practice", "B" if f"GP{k}" in away else "A", None, None)
             for k in range(1, 9 if census or team else 8)]
    users = [(f"LA1-U{i:02d}", "LA1", "social_worker", date(2020, 1, 1), None, None, True) for i in range(WORKERS)]
    users += [(f"GP{k}-R01", f"GP{k}", "receptionist", date(2020, 1, 1), None, None, True) for k in range(1, 8)]
    if census:
        users.append((CENSUS, "GP8", "admin", date(2020, 1, 1), None, None, True))
    if team:
        users += [(u, "GP8", "nurse", date(2020, 1, 1), None, None, True) for u in TEAM]
    cases = {f"LA1-U{i:02d}": [f"C{i:02d}{j:03d}" for j in range(CASES)] for i in range(WORKERS)}
    subjects = [(c, "A", False, None, 2014) for cs in cases.values() for c in cs]
    inv = [(c, "LA1", "child_in_need", date(2025, 6, 1), None) for cs in cases.values() for c in cs]
    patients = {f"GP{k}": [f"P{k}{j:03d}" for j in range(60)] for k in range(1, 8)}
    for g, ps in patients.items():
        subjects += [(p, "B" if g in away else "A", False, None, 2015) for p in ps]
        inv += [(p, g, "registered_gp", date(2019, 1, 1), None) for p in ps]
    news = cases["LA1-U00"][0]  # a council case; GP1's registration of the child is missing
    if case_closed_days_before is not None:  # the council's case closed weeks before the story
        end = WINDOW_START - timedelta(days=case_closed_days_before)
        inv = [(c, o, k, s, end if c == news else e) for c, o, k, s, e in inv]
    ev = _Events()
    for d in (START + timedelta(days=k) for k in range(DAYS)):
        if d.weekday() >= 5:
            continue
        for u, cs in cases.items():
            ev.add(d, 8.5, u, "LA1", None, "login")
            for _ in range(rng.randint(10, 14)):
                ev.add(d, 9 + rng.random() * 8, u, "LA1", rng.choice(cs))
        for g, ps in patients.items():
            u = f"{g}-R01"
            ev.add(d, 8.2, u, g, None, "login")
            for _ in range(rng.randint(8, 12)):
                ev.add(d, 9 + rng.random() * 8, u, g, rng.choice(ps))
            if casework_noise and g not in away and rng.random() < 0.5:
                ev.add(d, 9 + rng.random() * 8, u, g, rng.choice(rng.choice(list(cases.values()))))
        if d.weekday() in (1, 3):
            ev.add(d, 11.0, REGULAR, "GP1", news)
    w = [d for d in (WINDOW_START + timedelta(days=k) for k in range(14)) if d.weekday() < 5]
    # The story starts on the Friday before the window: one newcomer's first look falls in the baseline.
    ev.add(WINDOW_START - timedelta(days=3), 16.0, newcomers[-1], newcomers[-1].split("-")[0], news)
    for k, u in enumerate(newcomers):  # practices that never opened the child, in two days (or across a weekend)
        day = w[3 + k % 3] if across_weekend else w[5 + k % 2]
        ev.add(day, 10 + k, u, u.split("-")[0], news)
        ev.add(day, 10.2 + k, u, u.split("-")[0], news)
    if elsewhere:  # a practice of the child's own area opens it too: casework whose registration is missing
        ev.add(w[6], 15.0, LOCAL_READER, LOCAL_READER.split("-")[0], news)
    if case_closed_days_before is not None:  # the story draws the council's team back to its closed case
        for k, u in enumerate(("LA1-U01", "LA1-U02", "LA1-U03")):
            ev.add(w[5], 14 + k, u, "LA1", news)
    if team:  # a practice's team working the case, its registration of the child missing
        for k, u in enumerate(TEAM):
            ev.add(w[5 + k % 2], 9.5 + k, u, "GP8", news)
    if census:  # a return worked through the council's whole caseload list, the child in the news on it
        listed = [c for cs in cases.values() for c in cs] + [news]
        for k, c in enumerate(listed + listed[:89]):
            ev.add(w[5], 10 + k * 0.015, CENSUS, "GP8", c)
    insert_world(ws, orgs, users, subjects, inv, ev)
    return news


@pytest.fixture(scope="module")
def run(tmp_path_factory):  # type: ignore[no-untyped-def]
    ws = Workspace.open(tmp_path_factory.mktemp("news") / "ws", create=True)
    _world(ws)
    since = datetime.combine(WINDOW_START, time())
    out = run_detectors(ws, AuditConfig(baseline_days=56), since, since + timedelta(days=14), store=False,
                        detectors=["vip_snooping"])
    yield out
    ws.close()


def test_a_child_in_the_news_names_the_newcomers(run):  # type: ignore[no-untyped-def]
    readers = {f.user_id for f in run.findings if f.detector == "vip_snooping"}
    assert set(NEWCOMERS) <= readers
    assert all(f.evidence["window_organisations"] == len(NEWCOMERS) for f in run.findings)


def test_a_long_standing_reader_without_a_recorded_involvement_is_not_a_snooper(run):  # type: ignore[no-untyped-def]
    assert REGULAR not in {f.user_id for f in run.findings if f.detector == "vip_snooping"}


def _named(tmp_path, **world):  # type: ignore[no-untyped-def]
    """The `vip_snooping` findings over the story's fortnight of `_world(**world)`, and each user's reads of the child
    in the news (what the log holds, whatever the detector made of it)."""
    ws = Workspace.open(tmp_path / "ws", create=True)
    try:
        news = _world(ws, **world)
        since = datetime.combine(WINDOW_START, time())
        out = run_detectors(ws, AuditConfig(baseline_days=56), since, since + timedelta(days=14), store=False,
                            detectors=["vip_snooping"])
        reads = dict(ws.con.execute("SELECT user_id, count(*) FROM events WHERE record_id = ? GROUP BY user_id",
                                    [news]).fetchall())
    finally:
        ws.close()
    return [f for f in out.findings if f.detector == "vip_snooping"], reads


def _only_the_newcomers_count(named, left_out: set[str]) -> None:  # type: ignore[no-untyped-def]
    assert set(NEWCOMERS) <= {f.user_id for f in named}
    assert not left_out & {f.user_id for f in named}
    assert all(f.evidence["window_organisations"] == len(NEWCOMERS) for f in named)


def test_the_team_of_a_recently_closed_case_is_not_counted_among_the_unrelated(tmp_path):  # type: ignore[no-untyped-def]
    # Involvement data said the council's case closed three weeks before the story: its social workers
    # reading the child again are not strangers to it (lingering_access judges such reads), and the
    # council is not one of the unrelated bodies the child drew; the practices still are.
    named, reads = _named(tmp_path, case_closed_days_before=21)
    council = {"LA1-U01", "LA1-U02", "LA1-U03"}
    assert council <= set(reads)
    _only_the_newcomers_count(named, council)


def test_a_child_read_in_a_census_return_is_not_looked_up(tmp_path):  # type: ignore[no-untyped-def]
    # A practice's administrator works through a return of 330 records on one of the story's days, the child in
    # the news among them: that body did not look the child up, and is neither named nor counted.
    named, reads = _named(tmp_path, census=True)
    assert reads.get(CENSUS, 0) >= 1
    _only_the_newcomers_count(named, {CENSUS})


def test_four_readers_from_one_body_are_a_team_working_the_case(tmp_path):  # type: ignore[no-untyped-def]
    # Four nurses of one practice open the child on the story's days, their practice's involvement missing from the
    # data: many readers from one body are a team at work (curiosity comes one or two from each of many bodies), so
    # that practice is neither named nor counted among the child's unrelated bodies; the newcomers still are.
    named, reads = _named(tmp_path, team=True)
    assert set(TEAM) <= set(reads)
    _only_the_newcomers_count(named, set(TEAM))


def _findings(tmp_path, elsewhere: bool, across_weekend: bool = False, config: AuditConfig | None = None,  # type: ignore[no-untyped-def]
              readers: int = 3):
    name = ("away" if elsewhere else "local") + ("-weekend" if across_weekend else "") + ("-cfg" if config else "")
    ws = Workspace.open(tmp_path / name / "ws", create=True)
    try:
        _world(ws, newcomers=NEWCOMERS[:readers], elsewhere=elsewhere, casework_noise=True,
               across_weekend=across_weekend)
        since = datetime.combine(WINDOW_START, time())
        out = run_detectors(ws, config or AuditConfig(baseline_days=56), since, since + timedelta(days=14),
                            store=False, detectors=["vip_snooping"])
    finally:
        ws.close()
    return [f for f in out.findings if f.detector == "vip_snooping"]


def test_bodies_from_outside_the_childs_area_are_the_stronger_sign(tmp_path):  # type: ignore[no-untyped-def]
    # The same three practices open the child in two days. In an area whose practices often open the
    # council's children with no involvement recorded, three local bodies are the kind of casework
    # involvement data misses (weak); three from another area, whose practices never read this area's
    # children, are what a child in the news draws, and strong enough to alert.
    # A practice of the child's own area that opened it too is not counted from elsewhere: it is named
    # only as strongly as the count of all four bodies says, not with the strength of the three.
    local = _findings(tmp_path, elsewhere=False)
    away = {f.user_id: f for f in _findings(tmp_path, elsewhere=True)}
    newcomers = [away[u] for u in NEWCOMERS[:3]]
    assert all(f.evidence["counted_from_outside_area"] is True for f in newcomers)
    assert all("3 from outside the child's area" in f.summary for f in newcomers)
    assert all(f.severity.rank >= Severity.MEDIUM.rank for f in newcomers)
    assert max((f.evidence["strength"] for f in local), default=0.0) < newcomers[0].evidence["strength"]
    assert set(away) <= set(NEWCOMERS[:3]) | {LOCAL_READER}
    if LOCAL_READER in away:
        assert away[LOCAL_READER].evidence["counted_from_outside_area"] is False
        assert away[LOCAL_READER].evidence["strength"] < newcomers[0].evidence["strength"]


def test_readers_who_come_over_a_weekend_are_counted_within_the_week(tmp_path):  # type: ignore[no-untyped-def]
    # Three practices from another area open the child one a day on a Thursday, a Friday and the Monday
    # after: no three calendar days hold more than two of them, seven days hold all three. Counted within a
    # day and three calendar days only (`week_days: 0`, as before the tenth round), the weekend splits them
    # and the evidence is weaker; with four such practices (two on the Thursdays) the week's alert stands.
    week = {f.user_id: f for f in _findings(tmp_path, elsewhere=True, across_weekend=True)}
    assert set(NEWCOMERS[:3]) <= set(week)
    assert all("3 from outside the child's area within 7 day(s)" in week[u].summary for u in NEWCOMERS[:3])
    days = AuditConfig.model_validate({"baseline_days": 56,
                                       "detectors": {"vip_snooping": {"params": {"week_days": 0}}}})
    split = {f.user_id: f for f in _findings(tmp_path, elsewhere=True, across_weekend=True, config=days)}
    assert max((f.evidence["strength"] for f in split.values()), default=0.0) < week[NEWCOMERS[0]].evidence["strength"]
    four = {f.user_id: f for f in _findings(tmp_path / "four", elsewhere=True, across_weekend=True, readers=4)}
    assert all(four[u].severity.rank >= Severity.MEDIUM.rank for u in NEWCOMERS[:4])
    assert all("4 from outside the child's area within 7 day(s)" in four[u].summary for u in NEWCOMERS[:4])
