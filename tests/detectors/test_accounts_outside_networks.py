"""Shared accounts and bypassed second factors show from outside an organisation's own networks.

A council of 120 staff: most sign in with MFA from the office (10.1/16), several work over the
VPN (10.7/16) too, and a few not yet enrolled use a password, from the office only (so a tenth of
the council's sign-ins are password-only). Ordinary work also leaves an office session open while
its holder carries on over the VPN: conflicts between the council's own networks, every week.
Against that background:

- an enrolled social worker works one day from home with a password alone (two sessions): a second
  factor bypassed from outside, which the council's office password share must not excuse; nor must a
  colleague's own history of a password at the office now and then excuse three such sessions from home
  (their past says how often they used a password, not from where);
- another social worker's account is used from a home line while they work at the office, on three
  days: an outside network in the middle of the owner's sessions, rarer than any VPN overlap; a third's
  on two days is an alert too (the user's chance, as every per-user detector judges it), while one such
  overlap on one day stays low;
- a returner from long leave (no history before the window) whose users.csv row says they are not enrolled for
  MFA signs in with a password from home: an enrolment gap the organisation holds on record, kept low (and
  not counted among the others' bypasses from outside); an enrolled returner doing the same on three days is a
  second factor bypassed, an alert.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.detectors.sessions import own_networks, session_table
from audit_kit.models.findings import Severity
from audit_kit.store.workspace import Workspace

START = date(2026, 3, 2)  # a Monday
DAYS = 28
WINDOW_START = START + timedelta(days=14)
N_USERS = 120
UNENROLLED = {f"U{i:03d}" for i in range(100, 112)}  # password at the office, always
VPN_USERS = {f"U{i:03d}" for i in range(20, 40)}  # some days over the VPN
VPN_OVERLAP = {f"U{i:03d}" for i in range(40, 48)}  # an office session left open while on the VPN
BYPASS = "U005"  # weak_auth: a day from home with a password alone
OFFICE_PASSWORD = "U009"  # a password at the office one day in five before; then a day from home with one
SHARED = "U006"  # concurrent_sessions: someone else from a home line while the owner works
SHARED_TWICE = "U007"  # the same on two days
ONCE = "U008"  # one overlap with a home line, once
RETURNER_UNENROLLED = "U115"  # back in the window, not enrolled (users.csv): a password from home every day
RETURNER_BYPASS = "U116"  # back in the window, enrolled: MFA at the office, three days from home with a password
OFFICE, VPN = "10.1.{}.{}", "10.7.0.{}"


def _ts(d: date, hour: float) -> datetime:
    return datetime(d.year, d.month, d.day) + timedelta(hours=hour)  # UTC, like most NHS/police logs


class _Log:
    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(self, d: date, hour: float, user: str, record: str | None, action: str, ip: str, auth: str,
            session: str) -> None:
        t = _ts(d, hour)
        self.rows.append((f"E{len(self.rows):07d}", t, t, user, "LA1", record, action, "success", ip, auth,
                          "case_review", session, None, False, "log.csv", len(self.rows) + 2, t, "b1"))

    def session(self, d: date, start: float, end: float, user: str, ip: str, auth: str, sid: str,
                reads: int) -> None:
        self.add(d, start, user, None, "login", ip, auth, sid)
        for k in range(reads):
            rec = f"C{zlib.crc32(f'{user}{d}{k}'.encode()) % 400:04d}"
            self.add(d, start + (end - start) * (k + 1) / (reads + 1), user, rec, "view", ip, auth, sid)
        self.add(d, end, user, None, "logout", ip, auth, sid)


def _build(ws: Workspace, returners: bool = False) -> None:
    log = _Log()
    # The returners are a world of their own: their sessions from home would change the others' rates.
    users = [f"U{i:03d}" for i in range(N_USERS) if returners or f"U{i:03d}" not in (RETURNER_UNENROLLED,
                                                                                  RETURNER_BYPASS)]
    for n in range(DAYS):
        d = START + timedelta(days=n)
        if d.weekday() >= 5:
            continue
        for i, u in enumerate(users):
            auth = "password" if u in UNENROLLED else "mfa"
            office = OFFICE.format(i // 50, 10 + i % 50)
            sid = f"S-{u}-{d}"
            if u in (RETURNER_UNENROLLED, RETURNER_BYPASS) and d < WINDOW_START + timedelta(days=7):
                continue  # on long leave: silent in the history, back in the window's second week
            if u == RETURNER_UNENROLLED:
                log.session(d, 8.5, 16.0, u, "185.44.7.12", "password", sid, 15)
                continue
            if u == RETURNER_BYPASS and d >= WINDOW_START + timedelta(days=9):
                log.session(d, 8.5, 16.0, u, "176.9.20.31", "password", sid, 15)
                continue
            if u == BYPASS and d == WINDOW_START + timedelta(days=3):
                # from home, password only, morning and afternoon (a lunch logout between)
                log.session(d, 8.0, 12.0, u, "203.0.113.44", "password", sid + "a", 10)
                log.session(d, 13.0, 16.5, u, "203.0.113.44", "password", sid + "b", 8)
                continue
            if u == OFFICE_PASSWORD and d == WINDOW_START + timedelta(days=4):
                for k, (a, b) in enumerate(((8.0, 10.5), (11.0, 13.0), (14.0, 16.5))):
                    log.session(d, a, b, u, "81.2.69.160", "password", f"{sid}{k}", 6)
                continue
            if u == OFFICE_PASSWORD and d < WINDOW_START and n % 5 == 0:
                auth = "password"
            if u in VPN_USERS and (n + i) % 5 == 0:
                log.session(d, 8.0, 16.5, u, VPN.format(10 + i), auth, sid, 18)
                continue
            if u in VPN_OVERLAP and (n + i) % 7 == 0:
                # the office session stays open; the afternoon goes on over the VPN
                log.session(d, 8.0, 12.5, u, office, auth, sid, 10)
                log.add(d, 15.0, u, None, "logout", office, auth, sid)
                log.session(d, 12.75, 16.5, u, VPN.format(10 + i), auth, sid + "v", 8)
                continue
            log.session(d, 8.0, 16.5, u, office, auth, sid, 18)
            if u == SHARED and WINDOW_START <= d < WINDOW_START + timedelta(days=7) and d.weekday() in (1, 2, 3):
                log.session(d, 10.0, 11.5, u, "198.51.100.23", "mfa", sid + "x", 6)
            if u == SHARED_TWICE and WINDOW_START <= d < WINDOW_START + timedelta(days=7) and d.weekday() in (1, 3):
                log.session(d, 10.0, 11.5, u, "192.0.2.77", "mfa", sid + "x", 6)
            if u == ONCE and d == WINDOW_START + timedelta(days=2):
                log.session(d, 14.0, 15.0, u, "100.70.1.91", "mfa", sid + "x", 3)
    cols = ["event_id", "timestamp", "local_time", "user_id", "org_id", "record_id", "action", "outcome",
            "source_ip", "auth_method", "purpose", "session_id", "records_returned", "break_glass", "source_file",
            "source_row", "ingested_at", "batch_id"]
    con = ws.con
    con.execute("INSERT INTO organisations VALUES ('LA1', 'Council One', 'local_authority', 'A', NULL, NULL)")
    con.executemany("INSERT INTO users (user_id, org_id, role, start_date, end_date, family_key, mfa_enrolled)"
                    " VALUES (?,?,?,?,?,?,?)",
                    [(u, "LA1", "social_worker", date(2024, 1, 1), None, None,
                      u not in UNENROLLED and u != RETURNER_UNENROLLED) for u in users])
    con.executemany("INSERT INTO subjects VALUES (?,?,?,?,?)",
                    [(f"C{k:04d}", "A", False, None, 2015) for k in range(400)])
    con.executemany("INSERT INTO involvements VALUES (?,?,?,?,?)",
                    [(f"C{k:04d}", "LA1", "social_care", date(2025, 1, 1), None) for k in range(400)])
    con.register("_ev", pd.DataFrame(log.rows, columns=cols))
    con.execute("INSERT INTO events BY NAME SELECT * FROM _ev")
    con.unregister("_ev")


def _run(tmp_path_factory, returners: bool = False):
    ws = Workspace.open(tmp_path_factory.mktemp("outside") / "ws", create=True)
    _build(ws, returners)
    since = datetime.combine(WINDOW_START, datetime.min.time())
    r = run_detectors(ws, AuditConfig(), detectors=["concurrent_sessions", "weak_auth"], since=since,
                      until=since + timedelta(days=14), store=False)
    ws.close()
    assert r.errors == [] and r.skipped == []
    return r


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _run(tmp_path_factory)


@pytest.fixture(scope="module")
def run_returners(tmp_path_factory):
    return _run(tmp_path_factory, returners=True)


def _sev(run, detector: str) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in run.findings:
        if f.detector == detector and f.user_id:
            out[f.user_id] = max(out.get(f.user_id, Severity.INFO), f.severity)
    return out


def test_own_networks_are_the_ones_colleagues_share():
    import ibis

    rows = [(_ts(WINDOW_START, 9), u, "LA1", None, "login", "success", ip, "mfa", f"s{u}{ip}")
            for u, ip in [("A", "10.1.0.5"), ("B", "10.1.0.6"), ("A", "203.0.113.9"), ("C", "10.7.0.2"),
                          ("D", "10.7.0.3")]]
    ev = pd.DataFrame(rows, columns=["timestamp", "user_id", "org_id", "record_id", "action", "outcome", "source_ip",
                                     "auth_method", "session_id"])
    own = own_networks(session_table(ibis.memtable(ev))).to_pandas()
    assert set(own.o_net) == {"10.1", "10.7"}  # the home line is one person's


def test_a_password_only_day_from_home_by_an_enrolled_user_is_an_alert(run):
    sev = _sev(run, "weak_auth")
    assert sev.get(BYPASS, Severity.INFO) >= Severity.MEDIUM
    f = next(f for f in run.findings if f.detector == "weak_auth" and f.user_id == BYPASS)
    assert f.evidence["password_only_sessions_from_outside"] == 2
    # staff not yet enrolled, at the office with a password as always: an enrolment gap, kept low
    assert all(sev.get(u, Severity.INFO) <= Severity.LOW for u in UNENROLLED)


def test_a_returner_not_enrolled_for_mfa_is_an_enrolment_gap_an_enrolled_one_an_alert(run_returners):
    run = run_returners
    sev = _sev(run, "weak_auth")
    gap = next(f for f in run.findings if f.detector == "weak_auth" and f.user_id == RETURNER_UNENROLLED)
    assert gap.evidence["baseline_user_password_share"] is None  # no history to compare with
    assert gap.evidence["mfa_enrolled"] is False
    assert gap.severity <= Severity.LOW and "not enrolled" in gap.summary
    assert sev.get(RETURNER_BYPASS, Severity.INFO) >= Severity.MEDIUM


def test_a_password_at_the_office_now_and_then_does_not_excuse_one_from_home(run):
    f = next(f for f in run.findings if f.detector == "weak_auth" and f.user_id == OFFICE_PASSWORD)
    assert f.evidence["baseline_user_password_share"] > 0.05  # their own history holds passwords
    assert f.evidence["password_only_sessions_from_outside"] == 3
    assert f.severity >= Severity.MEDIUM


def test_an_outside_network_inside_the_owners_sessions_is_a_shared_account(run):
    sev = _sev(run, "concurrent_sessions")
    assert sev.get(SHARED, Severity.INFO) >= Severity.MEDIUM
    f = next(f for f in run.findings if f.detector == "concurrent_sessions" and f.user_id == SHARED)
    assert f.evidence["outside_network_pairs"] == 3
    # office sessions left open while their holders carry on over the VPN: ordinary, never an alert
    assert all(sev.get(u, Severity.INFO) <= Severity.LOW for u in VPN_OVERLAP)


def test_two_days_of_an_outside_network_inside_the_owners_sessions_are_an_alert_one_is_not(run):
    sev = _sev(run, "concurrent_sessions")
    assert sev.get(SHARED_TWICE, Severity.INFO) >= Severity.MEDIUM
    assert sev.get(ONCE, Severity.INFO) <= Severity.LOW
