"""The corroboration measures speak the detectors' vocabulary: tuning a detector moves its measure, and the
measures read from the kept aggregates equal the same measures computed from the events."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

from assess_world import DAYS, START, World

from audit_kit.assessment.measures import dormant_threshold, log_window, measure_orgs
from audit_kit.config import AuditConfig
from audit_kit.engine.duckdb import DuckDBEngine
from audit_kit.vocab import DORMANT_DAYS, READ_ACTIONS


def _world() -> World:
    w = World()
    w.org("LA1")
    for i in range(4):
        w.child(f"c{i}")
        w.involve(f"c{i}", "LA1")
    w.child("s1", shielded=True)
    w.child("gone")
    # An involvement that ended on the 10th: views on the 15th are 5 days after it.
    w.involvements.append(("gone", "LA1", "case", date(2024, 1, 1), date(2026, 9, 10)))
    for u in ("u1", "u2"):
        w.user(u, "LA1")
        w.daily(u, "LA1", ["c0", "c1"])
    w.user("idle", "LA1")  # used on the first and the last day only: 28 idle days between
    w.event(START, "idle", "LA1", "view", "c2")
    w.event(START + timedelta(days=29), "idle", "LA1", "view", "c2")
    for k in range(3):
        w.event(START + timedelta(days=14, minutes=k), "u1", "LA1", "view", "gone")
    # Shielded child: one update (a read: it discloses the record) and one create (not a read).
    w.event(START + timedelta(days=3), "u2", "LA1", "update", "s1")
    w.event(START + timedelta(days=3, minutes=5), "u2", "LA1", "create", "s1")
    return w


def test_dormancy_and_grace_follow_the_detectors_settings(tmp_path: Path) -> None:
    ws = _world().build(tmp_path / "ws")
    try:
        window = log_window(ws)
        assert window is not None
        default = measure_orgs(ws, window, config=AuditConfig())["LA1"]
        tuned_cfg = AuditConfig.model_validate({"detectors": {
            "dormant_account": {"params": {"dormant_days": 20}},
            "lingering_access": {"params": {"grace_days": 3}},
        }})
        tuned = measure_orgs(ws, window, config=tuned_cfg)["LA1"]
    finally:
        ws.close()
    # Dormancy: the detector's 90 days, or what a 30-day log can show; tuned to 20, the idle account counts.
    assert default.dormant_threshold_days == dormant_threshold(window) == max(7, min(DORMANT_DAYS, window.days - 14))
    assert tuned.dormant_threshold_days == min(20, window.days - 14)
    assert (default.dormant_accounts, tuned.dormant_accounts) == (1, 1)
    assert default.max_idle_days == tuned.max_idle_days == 29
    # Grace: with the default 14 days, views 5 days after the involvement ended are still explained
    # (as every detector treats them); with 3 days they are not.
    assert tuned.reads == default.reads
    assert default.involved_reads - tuned.involved_reads == 3


def test_reads_of_shielded_records_are_the_shared_read_actions(tmp_path: Path) -> None:
    ws = _world().build(tmp_path / "ws")
    try:
        window = log_window(ws)
        assert window is not None
        la = measure_orgs(ws, window, config=AuditConfig())["LA1"]
    finally:
        ws.close()
    assert "update" in READ_ACTIONS and "create" not in READ_ACTIONS
    assert (la.shielded_reads, la.shielded_children_read, la.shielded_users) == (1, 1, 1)


def test_measures_from_kept_aggregates_equal_measures_from_events(tmp_path: Path) -> None:
    ws = _world().build(tmp_path / "ws")
    try:
        window = log_window(ws)
        assert window is not None
        declared = {"LA1": ["10.1.0.0/24"]}
        kept = measure_orgs(ws, window, declared=declared, config=AuditConfig())
        scratch = measure_orgs(ws, window, declared=declared, config=AuditConfig(),
                               engine=DuckDBEngine(ws, use_kept=False))
        assert ws.con.execute("SELECT count(*) FROM agg_activity").fetchone() != (0,)  # really kept
    finally:
        ws.close()
    assert {k: asdict(v) for k, v in kept.items()} == {k: asdict(v) for k, v in scratch.items()}


def test_sessions_are_the_detectors_sessions_when_the_log_has_no_session_ids(tmp_path: Path) -> None:
    """Issue 16 item 4: the same account used minutes apart from two networks, one outside and
    password-only, is two sessions for the MFA and concurrency measures, as for the detectors; it is
    not folded into the owner's MFA session of the day."""
    from audit_kit.detectors.sessions import session_table

    w = World()
    w.org("LA1")
    w.child("c0")
    w.involve("c0", "LA1")
    w.user("u1", "LA1")
    w.daily("u1", "LA1", ["c0", "c0"], sessionless=True)  # office, MFA, one session a weekday
    day = START + timedelta(days=2)
    w.event(day + timedelta(minutes=5), "u1", "LA1", "view", "c0", ip="203.0.113.7", auth="password",
            sessionless=True)
    ws = w.build(tmp_path / "ws")
    try:
        window = log_window(ws)
        assert window is not None
        la = measure_orgs(ws, window, config=AuditConfig())["LA1"]
        e = DuckDBEngine(ws).table("events")
        detectors_view = session_table(e).to_pandas()
    finally:
        ws.close()
    weekdays = sum(1 for d in range(DAYS) if (START + timedelta(days=d)).weekday() < 5)
    assert (la.sessions, la.single_factor_sessions) == (weekdays + 1, 1)
    assert (la.sessions, la.single_factor_sessions) == (len(detectors_view), int((detectors_view.strong == False).sum()))  # noqa: E712
    assert (la.users_concurrent, la.concurrent_overlaps) == (1, 1)
