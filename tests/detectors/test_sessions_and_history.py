"""Sessions without session ids, and detection with no history before the window."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import ibis
import pandas as pd
from det_miniworld import TRUTH, WINDOW_START, new_ws

from audit_kit.cli import run as cli_main
from audit_kit.config import AuditConfig
from audit_kit.detectors import run_detectors
from audit_kit.detectors.sessions import session_table, sessions_sql
from audit_kit.models.findings import Severity

T0 = datetime(2026, 4, 14, 9, 0)


def _events(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["timestamp", "user_id", "org_id", "record_id", "action", "outcome",
                                     "source_ip", "auth_method", "session_id"])
    return df.astype({c: "string" for c in df.columns if c != "timestamp"})


def test_an_outside_password_session_is_never_folded_into_the_owners_mfa_session():
    # No session ids: the owner works from the office with MFA; minutes later the same account is
    # used from outside with a password alone; a failed sign-in belongs to no session.
    rows = [(T0 + timedelta(minutes=m), "U1", "LA1", f"C{m}", "view", "success", "10.1.0.5", "mfa", None)
            for m in range(0, 60, 5)]
    rows += [(T0 + timedelta(minutes=m), "U1", "LA1", f"C{m}", "view", "success", "198.51.100.7", "password", None)
             for m in (12, 18, 24)]
    rows += [(T0 + timedelta(minutes=3), "U1", "LA1", None, "login", "failure", "203.0.113.9", "password", None)]
    rows += [(T0 + timedelta(hours=3), "U1", "LA1", "C9", "view", "success", "10.1.0.5", "mfa", None)]  # after a gap
    s = session_table(ibis.memtable(_events(rows))).to_pandas().sort_values("s_start")
    assert len(s) == 3 and s.derived.all()
    outside = s[s.net == "198.51"].iloc[0]
    assert not outside.strong and outside.n == 3
    assert list(s[s.net == "10.1"].strong) == [True, True]  # the office session, then a new one after the gap
    # The same definition as SQL for the assessment's measures (a table named events).
    raw = duckdb.connect()
    raw.register("events", _events(rows))
    assert raw.sql(f"SELECT count(*) FILTER (WHERE NOT strong) FROM ({sessions_sql()})").fetchall()[0][0] == 1


def test_a_session_id_spanning_two_networks_is_split():
    rows = [(T0, "U1", "LA1", "C1", "view", "success", "10.1.0.5", "mfa", "S1"),
            (T0 + timedelta(minutes=1), "U1", "LA1", "C2", "view", "success", "198.51.100.7", "mfa", "S1")]
    s = session_table(ibis.memtable(_events(rows))).to_pandas()
    assert len(s) == 2 and not s.derived.any()


def test_a_sign_in_at_the_same_instant_as_a_read_opens_the_session_whichever_comes_first_in_the_log():
    # Timestamps to the second tie often. After a silence, a sign-in and a read logged in the same second:
    # the sign-in opens the session the read belongs to, in whichever order the log lists them.
    t1 = T0 + timedelta(minutes=45)
    before = [(T0, "U1", "LA1", "C1", "view", "success", "10.1.0.5", "mfa", None)]
    login = (t1, "U1", "LA1", None, "login", "success", "10.1.0.5", "mfa", None)
    read = (t1, "U1", "LA1", "C2", "view", "success", "10.1.0.5", "mfa", None)
    for rows in (before + [login, read], before + [read, login]):
        s = session_table(ibis.memtable(_events(rows))).to_pandas().sort_values("s_start")
        assert list(s.n) == [1, 2], rows


def test_concurrent_sessions_found_without_session_ids(tmp_path):
    ws = new_ws(tmp_path)
    ws.con.execute("UPDATE events SET session_id = NULL")
    run = run_detectors(ws, AuditConfig(), detectors=["concurrent_sessions"], store=False)
    ws.close()
    assert run.errors == [] and run.skipped == []
    hits = {f.user_id for f in run.findings if f.severity >= Severity.MEDIUM}
    assert hits == {TRUTH["concurrent_sessions"]}


def test_no_history_before_the_window_skips_with_a_reason_and_never_errors(tmp_path, capsys):
    ws = new_ws(tmp_path)
    start = datetime.combine(WINDOW_START - timedelta(days=60), datetime.min.time())
    run = run_detectors(ws, AuditConfig(), since=start, store=False)
    ws.close()
    assert run.errors == []
    skipped = dict(run.skipped)
    assert "no history before the window" in skipped["out_of_area"]
    assert "no history before the window" in skipped["no_relationship"]
    # the rules that need no baseline still run and find what they find
    assert "leaver_account" not in skipped and "family_lookup" not in skipped
    assert TRUTH["leaver_account"] in {f.user_id for f in run.findings if f.detector == "leaver_account"}
    code = cli_main(["detect", "-w", str(tmp_path / "ws"), "--since", "2026-01-01", "-q", "--no-store", "-f", "json"])
    assert code == 0 and "error in" not in capsys.readouterr().err
