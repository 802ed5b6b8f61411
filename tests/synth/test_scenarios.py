"""Injected scenarios are real in the events (and labelled); legitimate odd traffic is not labelled."""

from __future__ import annotations

import csv

import pytest

from audit_kit.synth import SCAN_DAYS


def _truth_users(con, category):
    return [r[0] for r in con.execute("SELECT user_id FROM truth WHERE category = ?", [category]).fetchall()]


def test_scenarios_happen_mostly_in_the_scan_window(world_db, small_world):
    _, summary = small_world
    scan_start = str(summary.params.scan_start)
    late = world_db.execute(
        "SELECT count(*) FILTER (WHERE last_seen >= ?::TIMESTAMPTZ - INTERVAL 1 DAY), count(*) FROM truth",
        [scan_start],
    ).fetchone()
    assert late[0] == late[1]
    assert SCAN_DAYS == 14


def test_leavers_act_after_their_end_date(world_db):
    rows = world_db.execute(
        """SELECT t.user_id, u.end_date, max(e.timestamp)::DATE AS last_day,
                  count(*) FILTER (WHERE e.timestamp::DATE <= u.end_date) AS before_end
           FROM truth t JOIN users u USING (user_id) JOIN events e USING (user_id)
           WHERE t.category = 'leaver_account' GROUP BY ALL"""
    ).fetchall()
    assert rows
    for _user, end_date, last_day, before_end in rows:
        assert end_date is not None and last_day > end_date and before_end > 0
    # the org's practice says how long leavers stayed active
    days = dict(
        world_db.execute(
            """SELECT o.org_id, o.leavers_disabled_days FROM truth_orgs o
               WHERE o.org_id IN (SELECT org_id FROM truth WHERE category = 'leaver_account')"""
        ).fetchall()
    )
    assert days and all(v > 0 for v in days.values())


def test_dormant_accounts_are_silent_then_active(world_db, small_world):
    _, summary = small_world
    rows = world_db.execute(
        """SELECT t.user_id, u.start_date, min(e.timestamp)::DATE FROM truth t
           JOIN users u USING (user_id) JOIN events e USING (user_id)
           WHERE t.category = 'dormant_account' GROUP BY ALL"""
    ).fetchall()
    assert rows
    for _user, start, first in rows:
        assert first >= summary.params.scan_start
        assert (first - start).days > 90


def test_log_gap_org_is_silent_for_days_but_sends_daily_otherwise(world_db):
    org, first, last = world_db.execute(
        "SELECT org_id, first_seen, last_seen FROM truth WHERE category = 'log_gap' LIMIT 1"
    ).fetchone()
    inside = world_db.execute(
        "SELECT count(*) FROM events WHERE org_id = ? AND timestamp BETWEEN ? AND ?", [org, first, last]
    ).fetchone()[0]
    assert inside == 0
    assert (last - first).days >= 2
    silent_days = world_db.execute(
        """SELECT count(*) FROM (SELECT DISTINCT timestamp::DATE AS d FROM events) days
           WHERE d NOT IN (SELECT DISTINCT timestamp::DATE FROM events WHERE org_id = ?)""",
        [org],
    ).fetchone()[0]
    assert 2 <= silent_days <= 6


def test_shielded_overrides_use_break_glass_without_a_relationship(world_db):
    rows = world_db.execute(
        """SELECT e.user_id, e.record_id, e.purpose, i.org_id IS NOT NULL AS involved
           FROM events e JOIN subjects s USING (record_id)
           LEFT JOIN involvements i ON i.record_id = e.record_id AND i.org_id = e.org_id
           WHERE e.break_glass"""
    ).fetchall()
    labelled = set(_truth_users(world_db, "shielded_access"))
    assert rows and {r[0] for r in rows} == labelled
    assert all(r[2] == "emergency" and not r[3] for r in rows)


def test_weak_auth_users_switch_from_mfa_to_password(world_db, small_world):
    _, summary = small_world
    for user in _truth_users(world_db, "weak_auth"):
        before, after = world_db.execute(
            """SELECT list(DISTINCT auth_method) FILTER (WHERE timestamp::DATE < ?),
                      list(DISTINCT auth_method) FILTER (WHERE timestamp::DATE >= ?)
               FROM events WHERE user_id = ? AND action = 'login' AND outcome = 'success'""",
            [summary.params.scan_start, summary.params.scan_start, user],
        ).fetchone()
        assert "password" not in before and after == ["password"]


def test_family_lookups_read_the_users_own_household(world_db):
    rows = world_db.execute(
        """SELECT DISTINCT t.user_id FROM truth t JOIN users u USING (user_id)
           JOIN events e ON e.user_id = t.user_id JOIN subjects s ON s.record_id = e.record_id
           WHERE t.category = 'family_lookup' AND s.family_key = u.family_key"""
    ).fetchall()
    assert {r[0] for r in rows} == set(_truth_users(world_db, "family_lookup"))
    # nobody else reads a child of their own household
    others = world_db.execute(
        """SELECT count(*) FROM events e JOIN users u USING (user_id) JOIN subjects s USING (record_id)
           WHERE s.family_key = u.family_key
             AND e.user_id NOT IN (SELECT user_id FROM truth WHERE category = 'family_lookup')"""
    ).fetchone()[0]
    assert others == 0


def test_vip_children_are_read_by_many_unrelated_organisations(world_db):
    rows = world_db.execute(
        """SELECT e.record_id, count(DISTINCT e.user_id), count(DISTINCT e.org_id) FROM events e
           WHERE e.user_id IN (SELECT user_id FROM truth WHERE category = 'vip_snooping')
             AND e.record_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM involvements i WHERE i.record_id = e.record_id AND i.org_id = e.org_id)
           GROUP BY 1 ORDER BY 2 DESC LIMIT 2"""
    ).fetchall()
    n_vip_users = len(_truth_users(world_db, "vip_snooping"))
    assert sum(users for _, users, _ in rows) >= n_vip_users  # every labelled user read one of the two
    assert all(users >= 4 and orgs >= 2 for _, users, orgs in rows)


def test_concurrent_sessions_overlap_from_far_networks(world_db):
    users = _truth_users(world_db, "concurrent_sessions")
    overlapping = world_db.execute(
        """WITH s AS (SELECT user_id, session_id, any_value(source_ip) AS ip, min(timestamp) AS a,
                             max(timestamp) AS b FROM events WHERE session_id IS NOT NULL GROUP BY ALL)
           SELECT DISTINCT x.user_id FROM s x JOIN s y ON x.user_id = y.user_id AND x.session_id < y.session_id
           WHERE x.a < y.b AND y.a < x.b AND x.ip <> y.ip"""
    ).fetchall()
    assert {r[0] for r in overlapping} == set(users)


def test_lingering_reads_come_after_the_involvement_ended(world_db):
    n = world_db.execute(
        """SELECT count(DISTINCT e.user_id) FROM events e JOIN involvements i
             ON i.record_id = e.record_id AND i.org_id = e.org_id
           WHERE i.end_date IS NOT NULL AND e.timestamp::DATE > i.end_date
             AND e.user_id IN (SELECT user_id FROM truth WHERE category = 'lingering_access')"""
    ).fetchone()[0]
    assert n == len(_truth_users(world_db, "lingering_access")) > 0
    # and nobody else does: the baseline is clean
    others = world_db.execute(
        """SELECT count(*) FROM events e JOIN involvements i ON i.record_id = e.record_id AND i.org_id = e.org_id
           WHERE i.end_date IS NOT NULL AND e.timestamp::DATE > i.end_date
             AND e.user_id NOT IN (SELECT user_id FROM truth WHERE category = 'lingering_access')"""
    ).fetchone()[0]
    assert others == 0


@pytest.mark.parametrize(
    "category, measure",
    [
        ("search_fishing", "count(*) FILTER (WHERE action = 'search')"),
        ("export_spike", "count(*) FILTER (WHERE action IN ('export', 'print'))"),
        ("denied_spike", "count(*) FILTER (WHERE outcome = 'denied')"),
        ("failed_login_burst", "count(*) FILTER (WHERE action = 'login' AND outcome = 'failure')"),
        ("volume_spike", "count(*) FILTER (WHERE record_id IS NOT NULL)"),
        (
            "after_hours",
            "count(*) FILTER (WHERE hour(timezone('Europe/London', timestamp)) NOT BETWEEN 7 AND 19)",
        ),
    ],
)
def test_spikes_stand_far_above_the_users_own_baseline(world_db, small_world, category, measure):
    """Busiest scan-window day of each labelled user vs their busiest baseline day."""
    scan = small_world[1].params.scan_start
    rows = world_db.execute(
        f"""WITH daily AS (SELECT user_id, timestamp::DATE AS d, {measure} AS n FROM events
                           WHERE user_id IN (SELECT user_id FROM truth WHERE category = ?) GROUP BY ALL)
            SELECT user_id, max(n) FILTER (WHERE d < ?), max(n) FILTER (WHERE d >= ?) FROM daily GROUP BY 1""",
        [category, scan, scan],
    ).fetchall()
    assert rows
    for _user, base, scan_max in rows:
        assert scan_max >= 3 * max(base or 0, 3)


def test_legitimate_odd_traffic_is_present_and_not_labelled(world_db):
    con = world_db
    labelled = {r[0] for r in con.execute("SELECT user_id FROM truth WHERE user_id IS NOT NULL").fetchall()}
    night_duty = {
        r[0]
        for r in con.execute(
            """SELECT DISTINCT e.user_id FROM events e JOIN users u USING (user_id)
               WHERE u.role = 'duty' AND hour(timezone('Europe/London', e.timestamp)) IN (23, 0, 1, 2)"""
        ).fetchall()
    }
    statutory = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT user_id FROM events WHERE action = 'export' AND purpose = 'statutory_return'"
        ).fetchall()
    }
    cross_area = {
        r[0]
        for r in con.execute(
            """SELECT DISTINCT e.user_id FROM events e JOIN users u USING (user_id)
               JOIN organisations o ON o.org_id = e.org_id JOIN subjects s USING (record_id)
               WHERE u.role IN ('mash', 'analyst') AND s.home_area <> o.area"""
        ).fetchall()
    }
    assert night_duty and statutory and cross_area
    assert not (night_duty | statutory | cross_area) & labelled


def test_truth_orgs_practice_has_good_and_bad_orgs(small_world):
    out, _ = small_world
    with (out / "truth_orgs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    good_bad = {
        "mfa_share": lambda v: float(v) >= 0.95,
        "leavers_disabled_days": lambda v: int(v) == 0,
        "dormant_accounts": lambda v: int(v) == 0,
        "shared_accounts": lambda v: v == "false",
        "shielded_overrides": lambda v: int(v) == 0,
        "exports_controlled": lambda v: v == "true",
        "undeclared_ip_share": lambda v: float(v) < 0.01,
        "log_gap_days": lambda v: int(v) == 0,
        "explained_share": lambda v: float(v) >= 0.95,
    }
    for column, good in good_bad.items():
        verdicts = {good(r[column]) for r in rows if r[column] != ""}
        assert verdicts == {True, False}, column
