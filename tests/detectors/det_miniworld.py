"""A small hand-made world written straight into a Workspace: normal work plus one labelled case per detector.

Independent of the synthetic-world generator, so each detector has a "should fire" and a "must not
fire" fixture compared by identity (which user / org), not by count. Deterministic per seed.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from audit_kit.store.workspace import Workspace

LONDON = ZoneInfo("Europe/London")
START = date(2026, 3, 2)  # a Monday; the clocks change on 29 March, inside the baseline
DAYS = 42
WINDOW_START = START + timedelta(days=DAYS - 14)

# Who is injected for which detector (the "should fire" labels).
TRUTH = {
    "after_hours": "LA1-U03",
    "volume_spike": "LA1-U04",
    "bulk_access": "LA1-U05",
    "export_spike": "LA1-U06",
    "out_of_area": "LA1-U07",
    "no_relationship": "LA1-U08",
    "shielded_access": "LA1-U09",
    "leaver_account": "LA1-U10",
    "dormant_account": "LA1-U11",
    "concurrent_sessions": "LA2-U03",
    "family_lookup": "LA2-U04",
    "vip_snooping": "LA2-U05",
    "failed_login_burst": "LA2-U06",
    "denied_spike": "LA2-U07",
    "search_fishing": "LA2-U08",
    "lingering_access": "LA2-U09",
    "weak_auth": "LA2-U10",
    "peer_outlier": "LA2-U11",
    "log_gap": "GP1",  # an organisation
}
ORG_IP = {"LA1": "10.1.0.5", "LA2": "10.2.0.5", "GP1": "10.3.0.5", "POL1": "10.4.0.5", "NP1": "10.9.0.5"}
# Legitimate-but-odd users that must never be flagged at medium or above.
LEGIT = {"LA1-DUTY", "LA1-MASH", "LA1-ADMIN", "NP1-U01"}


def _utc(d: date, hour: float) -> tuple[datetime, datetime]:
    """(UTC naive, local naive) for a local wall-clock hour on day d."""
    secs = int(hour * 3600)
    local = datetime(d.year, d.month, d.day, secs // 3600, secs % 3600 // 60, secs % 60, tzinfo=LONDON)
    utc = local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return utc, local.replace(tzinfo=None)


class _Events:
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, d: date, hour: float, user: str, org: str, record: str | None, action: str = "view",
            outcome: str = "success", ip: str | None = None, auth: str = "mfa", purpose: str | None = "case_review",
            session: str | None = None, returned: int | None = None, bg: bool = False) -> None:
        utc, local = _utc(d, hour)
        ip = ip or ORG_IP.get(org, "10.1.0.5")  # each organisation's own network unless said otherwise
        eid = f"E{len(self.rows):07d}"
        sess = session or f"S-{user}-{d.isoformat()}"
        self.rows.append((eid, utc, local, user, org, record, action, outcome, ip, auth, purpose, sess,
                          returned, bg, "mini.csv", len(self.rows) + 2, utc, "b1"))


def build(ws: Workspace, seed: int = 1, gap_org: bool = True) -> dict[str, str]:
    """Fill `ws` with the mini world; returns TRUTH (detector id -> user or org id)."""
    rng = random.Random(seed)
    orgs = [("LA1", "Council One", "local_authority", "A", None, None),
            ("LA2", "Council Two", "local_authority", "B", None, None),
            ("GP1", "Practice One", "gp_practice", "A", None, "08:00-18:30"),
            ("NP1", "National One", "national_partner", "national", None, None),
            ("POL1", "Police One", "police_force", "B", None, None)]
    users: list[tuple] = []
    for org in ("LA1", "LA2"):
        for i in range(1, 13):
            users.append((f"{org}-U{i:02d}", org, "caseworker", date(2024, 1, 1), None, f"F-{org}-{i}", True))
    users += [("LA1-DUTY", "LA1", "duty", date(2024, 1, 1), None, None, True),
              ("LA1-MASH", "LA1", "mash", date(2024, 1, 1), None, None, True),
              ("LA1-ADMIN", "LA1", "admin", date(2024, 1, 1), None, None, True),
              ("NP1-U01", "NP1", "analyst", date(2024, 1, 1), None, None, True)]
    users += [(f"GP1-U{i:02d}", "GP1", "gp", date(2024, 1, 1), None, None, True) for i in range(1, 5)]
    users += [(f"POL1-U{i:02d}", "POL1", "officer", date(2024, 1, 1), None, None, True) for i in range(1, 4)]
    users = [u if u[0] != TRUTH["leaver_account"] else (*u[:4], WINDOW_START + timedelta(days=2), *u[5:])
             for u in users]
    # children: 300 in area A, 300 in area B; 2% shielded; family keys shared with two users
    subjects = []
    for i in range(600):
        area = "A" if i < 300 else "B"
        fam = f"K{i}"
        subjects.append((f"C{i:04d}", area, i % 50 == 7, fam, 2012 + i % 10))
    subjects[250] = ("C0250", "A", False, "F-LA2-4", 2015)  # LA2-U04's own family (area A: LA2 not involved)
    inv = []
    for i in range(300):
        inv.append((f"C{i:04d}", "LA1", "social_care", date(2025, 1, 1), None))
        if i < 100:
            inv.append((f"C{i:04d}", "GP1", "registered_gp", date(2025, 1, 1), None))
    for i in range(300, 350):
        inv.append((f"C{i:04d}", "POL1", "police", date(2025, 1, 1), None))
    for i in range(300, 600):
        end = date(2026, 1, 31) if 580 <= i < 590 else None  # ended involvements
        inv.append((f"C{i:04d}", "LA2", "social_care", date(2025, 1, 1), end))
    # teams: users 1-6 team a, 7-12 team b, each with a pool of 60 children in their org's area
    def pool(org: str, uidx: int) -> list[str]:
        base = 0 if org == "LA1" else 300
        team = 0 if uidx <= 6 else 1
        return [f"C{base + team * 60 + k:04d}" for k in range(60)]

    ev = _Events()
    days = [START + timedelta(days=k) for k in range(DAYS)]
    for d in days:
        weekday = d.weekday() < 5
        in_window = d >= WINDOW_START
        for org in ("LA1", "LA2"):
            for i in range(1, 13):
                u = f"{org}-U{i:02d}"
                if u == TRUTH["dormant_account"] and not in_window:
                    continue
                if u == TRUTH["leaver_account"] and d > WINDOW_START + timedelta(days=8):
                    continue
                if not weekday:
                    continue
                ip = "10.1.0.5" if org == "LA1" else "10.2.0.5"
                auth = "password" if (u == TRUTH["weak_auth"] and in_window) else "mfa"
                ev.add(d, 8.5, u, org, None, "login", ip=ip, auth=auth)
                p = pool(org, i)
                if u == TRUTH["dormant_account"] and in_window:  # someone else on a forgotten account
                    p = [f"C{k:04d}" for k in range(530, 580)]
                if u == TRUTH["peer_outlier"] and in_window:
                    p = [f"C{k:04d}" for k in range(430, 480)] + [f"C{k:04d}" for k in range(480, 500)]
                for _k in range(rng.randint(14, 22)):
                    ev.add(d, 9 + rng.random() * 8, u, org, rng.choice(p), ip=ip, auth=auth)
                for _k in range(rng.randint(1, 3)):
                    ev.add(d, 9 + rng.random() * 8, u, org, None, "search", ip=ip, auth=auth, returned=rng.randint(1, 5))
                if rng.random() < 0.3:
                    ev.add(d, 9 + rng.random() * 8, u, org, rng.choice(p), "print", ip=ip, auth=auth)
                if rng.random() < 0.05:
                    ev.add(d, 8.4, u, org, None, "login", "failure", ip=ip, auth=auth)
                if rng.random() < 0.1:
                    ev.add(d, 9 + rng.random() * 8, u, org, rng.choice(p), "update", "denied", ip=ip, auth=auth)
                # a little unexplained background (out-of-area reads) for everyone
                if rng.random() < 0.15:
                    other = 300 if org == "LA1" else 0
                    ev.add(d, 9 + rng.random() * 8, u, org, f"C{other + 200 + rng.randint(0, 99):04d}", ip=ip, auth=auth)
        # duty: nights and weekends, anywhere in the area (legitimate)
        for _k in range(12):
            ev.add(d, rng.choice([0.5, 1.5, 2.5, 20.5, 22.5, 23.5]), "LA1-DUTY", "LA1",
                   f"C{rng.randint(0, 299):04d}", purpose="emergency")
        # MASH: across both areas (legitimate)
        if weekday:
            for _k in range(20):
                ev.add(d, 9 + rng.random() * 8, "LA1-MASH", "LA1", f"C{rng.randint(0, 599):04d}", purpose="safeguarding")
            # national analyst reads everywhere
            for _k in range(25):
                ev.add(d, 9 + rng.random() * 8, "NP1-U01", "NP1", f"C{rng.randint(0, 599):04d}", ip="10.9.0.5",
                       purpose="investigation")
        # admin: statutory return exports on the first working day of the month and window Monday
        if weekday and (d.day <= 3 or d == WINDOW_START):
            for _k in range(40):
                ev.add(d, 10, "LA1-ADMIN", "LA1", f"C{rng.randint(0, 299):04d}", "export", purpose="statutory_return",
                       returned=200)
        if weekday:
            for _k in range(5):
                ev.add(d, 11, "LA1-ADMIN", "LA1", f"C{rng.randint(0, 299):04d}")
        # police: a few officers on their own cases
        if weekday:
            for g in range(1, 4):
                for _k in range(6):
                    ev.add(d, 9 + rng.random() * 8, f"POL1-U{g:02d}", "POL1", f"C{rng.randint(300, 349):04d}",
                           ip="10.4.0.5")
        # GP practice: daily logs, silent for 6 working days in the window
        gap = gap_org and WINDOW_START + timedelta(days=2) <= d <= WINDOW_START + timedelta(days=9)
        if weekday and not gap:
            for g in range(1, 5):
                for _k in range(10):
                    ev.add(d, 9 + rng.random() * 8, f"GP1-U{g:02d}", "GP1", f"C{rng.randint(0, 99):04d}",
                           ip="10.3.0.5")
    # ---- injections, all in the window ----
    w = [d for d in days if d >= WINDOW_START and d.weekday() < 5]
    T = TRUTH
    for d in w[:4]:  # after hours: 03:00 on four nights
        for _k in range(6):
            ev.add(d, 3 + rng.random(), T["after_hours"], "LA1", rng.choice(pool("LA1", 3)), session=f"N-{d}")
    for _k in range(260):  # volume spike: one day
        ev.add(w[3], 9 + rng.random() * 8, T["volume_spike"], "LA1", f"C{rng.randint(0, 299):04d}")
    for k in range(250):  # bulk: 250 distinct records in one hour
        ev.add(w[5], 14 + k / 300, T["bulk_access"], "LA1", f"C{k:04d}")
    for _k in range(45):  # export spike
        ev.add(w[6], 15, T["export_spike"], "LA1", f"C{rng.randint(0, 299):04d}", "export", returned=1)
    for k in range(20):  # out of area: LA1 user reading area-B children LA1 is not involved with
        ev.add(w[2 + k % 3], 10 + k / 20, T["out_of_area"], "LA1", f"C{400 + k:04d}")
    for k in range(30):  # no relationship: area-B children only LA2 serves, on three days
        ev.add(w[4 + k % 3], 10 + k / 30, T["no_relationship"], "LA1", f"C{500 + k:04d}")
    for k, kid in enumerate(("C0357", "C0407", "C0457")):  # shielded, area B, not involved: overrides on 3 days
        ev.add(w[3 + k], 11, T["shielded_access"], "LA1", kid, bg=True)
    for d in w[3:6]:  # leaver: active after end date (end = WINDOW_START + 2)
        for _k in range(5):
            ev.add(d, 10 + rng.random(), T["leaver_account"], "LA1", rng.choice(pool("LA1", 10)))
    # dormant: LA1-U11 has no baseline activity and, in the window, reads children nobody there works with
    for d in w[2:6]:  # concurrent: second session from a far network each day
        for _k in range(4):
            ev.add(d, 10 + rng.random(), T["concurrent_sessions"], "LA2", rng.choice(pool("LA2", 3)),
                   ip="198.51.100.7", session=f"X-{d}")
    ev.add(w[1], 12, T["family_lookup"], "LA2", "C0250")
    ev.add(w[1], 12.1, T["family_lookup"], "LA2", "C0250")
    vip = "C0100"  # a GP child in area A: LA2 users have no relationship
    for i, u in enumerate(["LA2-U05", "LA2-U01", "LA2-U02", "NP1-U01", "GP1-U01", "POL1-U01", "POL1-U02"]):
        ev.add(w[2 + i % 3], 13, u, u.split("-")[0], vip)
    for _k in range(25):  # failed login burst
        ev.add(w[7], 7.5 + rng.random() * 0.5, T["failed_login_burst"], "LA2", None, "login", "failure")
    for _k in range(40):  # denied spike
        ev.add(w[8], 10 + rng.random() * 6, T["denied_spike"], "LA2", f"C{rng.randint(300, 599):04d}", "view",
               "denied")
    for _k in range(60):  # search fishing
        ev.add(w[6], 10 + rng.random() * 6, T["search_fishing"], "LA2", None, "search", returned=rng.randint(0, 3))
    for k in range(5):  # lingering: involvement ended 31 Jan
        ev.add(w[4], 10 + k / 10, T["lingering_access"], "LA2", f"C{580 + k:04d}")
    insert_world(ws, orgs, users, subjects, inv, ev)
    return dict(TRUTH)


EVENT_COLUMNS = ["event_id", "timestamp", "local_time", "user_id", "org_id", "record_id", "action", "outcome",
                 "source_ip", "auth_method", "purpose", "session_id", "records_returned", "break_glass",
                 "source_file", "source_row", "ingested_at", "batch_id"]


def insert_world(ws: Workspace, orgs: list, users: list, subjects: list, inv: list, ev: _Events) -> None:
    """Write a hand-made world's reference rows and events straight into the workspace tables."""
    con = ws.con
    con.executemany("INSERT INTO organisations VALUES (?,?,?,?,?,?)", orgs)
    con.executemany("INSERT INTO users (user_id, org_id, role, start_date, end_date, family_key, mfa_enrolled)"
                    " VALUES (?,?,?,?,?,?,?)", users)
    con.executemany("INSERT INTO subjects VALUES (?,?,?,?,?)", subjects)
    con.executemany("INSERT INTO involvements VALUES (?,?,?,?,?)", inv)
    con.register("_world_events", pd.DataFrame(ev.rows, columns=EVENT_COLUMNS))
    con.execute("INSERT INTO events BY NAME SELECT * FROM _world_events")
    con.unregister("_world_events")


def new_ws(tmp_path, **kw):  # type: ignore[no-untyped-def]
    """A fresh mini-world workspace under tmp_path (for tests that change data or config)."""
    ws = Workspace.open(tmp_path / "ws", create=True)
    build(ws, **kw)
    return ws


def add_events(ws: Workspace, ev: _Events, prefix: str) -> None:
    """Append a test's own events to a built world (event ids prefixed so they never collide with the world's)."""
    frame = pd.DataFrame(ev.rows, columns=EVENT_COLUMNS).assign(event_id=lambda f: prefix + f.event_id)
    ws.con.register("_extra", frame)
    ws.con.execute("INSERT INTO events BY NAME SELECT * FROM _extra")
    ws.con.unregister("_extra")


def detect_with(tmp_path, ev: _Events, prefix: str, setup=None, detectors=None,  # type: ignore[no-untyped-def]
                config: str = ""):
    """The mini world under tmp_path with a test's own events added (and `setup(ws)` applied first, e.g. to give
    a user a family key), detected with the configuration `config` (YAML text; default: the defaults) and not
    stored: the run."""
    from audit_kit.config import parse_config
    from audit_kit.detectors import run_detectors

    with new_ws(tmp_path) as ws:
        if setup is not None:
            setup(ws)
        add_events(ws, ev, prefix)
        return run_detectors(ws, parse_config(config), detectors=detectors, store=False)


def findings_of(run, detector: str, user: str) -> list:  # type: ignore[no-untyped-def]
    """A run's findings of one detector about one user."""
    return [f for f in run.findings if f.detector == detector and f.user_id == user]
