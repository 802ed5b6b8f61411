"""The world's files follow the dataset contract of DESIGN.md / audit_kit.schema exactly."""

from __future__ import annotations

import csv
from datetime import datetime
from zoneinfo import ZoneInfo

from audit_kit.schema import (
    CONTRACT_ACTIONS,
    CONTRACT_EVENT_FIELDS,
    INVOLVEMENTS,
    ORG_TYPES,
    ORGANISATIONS,
    OUTCOMES,
    RECORD_ACTIONS,
    SUBJECTS,
    USERS,
)
from audit_kit.synth import CATEGORIES
from audit_kit.synth.output import TRUTH_COLUMNS
from audit_kit.synth.practice import TRUTH_ORG_COLUMNS


def _header(path):
    with path.open() as fh:
        return next(csv.reader(fh))


def test_reference_files_have_the_contract_columns(small_world):
    out, summary = small_world
    assert _header(out / "organisations.csv") == ORGANISATIONS.names
    assert _header(out / "users.csv") == USERS.names
    assert _header(out / "subjects.csv") == SUBJECTS.names
    assert _header(out / "involvements.csv") == INVOLVEMENTS.names
    assert _header(out / "truth.csv") == list(TRUTH_COLUMNS)
    assert _header(out / "truth_orgs.csv") == list(TRUTH_ORG_COLUMNS)
    event_files = sorted((out / "events").glob("*.csv"))
    assert len(event_files) >= 2  # split per month
    for f in event_files:
        assert _header(f) == list(CONTRACT_EVENT_FIELDS)  # the synthetic world writes the contract's fields
    assert summary.files and all(p.exists() for p in summary.files)


def test_counts_match_summary_and_values_are_in_vocabulary(small_world, world_db):
    _, summary = small_world
    con = world_db
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == summary.events
    assert con.execute("SELECT count(*) FROM users").fetchone()[0] == summary.users
    assert con.execute("SELECT count(*) FROM subjects").fetchone()[0] == summary.subjects
    assert con.execute("SELECT count(*) FROM involvements").fetchone()[0] == summary.involvements
    actions = {r[0] for r in con.execute("SELECT DISTINCT action FROM events").fetchall()}
    assert actions == set(CONTRACT_ACTIONS)  # and the contract's nine actions
    outcomes = {r[0] for r in con.execute("SELECT DISTINCT outcome FROM events").fetchall()}
    assert outcomes == set(OUTCOMES)
    types = {r[0] for r in con.execute("SELECT DISTINCT type FROM organisations").fetchall()}
    assert types <= set(ORG_TYPES) and len(types) >= 4
    auth = {r[0] for r in con.execute("SELECT DISTINCT auth_method FROM events").fetchall()}
    assert auth == {"mfa", "smartcard", "password", "api_key"}


def test_events_are_consistent_with_reference_tables(world_db):
    con = world_db
    one = con.execute(
        """SELECT
             count(*) - count(DISTINCT event_id),
             count(*) FILTER (WHERE user_id NOT IN (SELECT user_id FROM users)),
             count(*) FILTER (WHERE e.org_id NOT IN (SELECT org_id FROM organisations)),
             count(*) FILTER (WHERE record_id IS NOT NULL AND record_id NOT IN (SELECT record_id FROM subjects)),
             count(*) FILTER (WHERE action IN (SELECT unnest(?::VARCHAR[]))),
             count(*) FILTER (WHERE action IN (SELECT unnest(?::VARCHAR[])) AND record_id IS NULL),
             count(*) FILTER (WHERE action = 'search' AND records_returned IS NULL),
             count(*) FILTER (WHERE e.org_id <> u.org_id)
           FROM events e JOIN users u USING (user_id)""",
        [list(RECORD_ACTIONS), list(RECORD_ACTIONS)],
    ).fetchone()
    dup, bad_user, bad_org, bad_rec, record_actions, missing_rec, search_no_count, wrong_org = one
    assert (dup, bad_user, bad_org, bad_rec, missing_rec, search_no_count, wrong_org) == (0, 0, 0, 0, 0, 0, 0)
    assert record_actions > 0
    # optional columns are used where realistic
    filled = con.execute(
        "SELECT count(source_ip), count(auth_method), count(purpose), count(session_id), "
        "count(records_returned), count(*) FILTER (WHERE break_glass) FROM events"
    ).fetchone()
    assert all(v > 0 for v in filled)


def test_timestamps_are_iso_utc_and_sorted(small_world):
    out, summary = small_world
    first = sorted((out / "events").glob("*.csv"))[0]
    with first.open() as fh:
        rows = list(csv.DictReader(fh))[:2000]
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert all(r["timestamp"].endswith("Z") for r in rows)
    assert all(s.utcoffset() is not None and s.utcoffset().total_seconds() == 0 for s in stamps)
    assert stamps == sorted(stamps)
    p = summary.params
    london = ZoneInfo("Europe/London")
    period_start = datetime(p.start_date.year, p.start_date.month, p.start_date.day, tzinfo=london)
    assert stamps[0] >= period_start


def test_truth_has_every_category_with_known_users(world_db):
    con = world_db
    cats = {r[0] for r in con.execute("SELECT DISTINCT category FROM truth").fetchall()}
    assert cats == set(CATEGORIES)
    bad = con.execute(
        """SELECT count(*) FROM truth t LEFT JOIN users u USING (user_id)
           WHERE (t.category <> 'log_gap' AND (u.user_id IS NULL OR u.org_id <> t.org_id))
              OR (t.category = 'log_gap' AND t.user_id IS NOT NULL)
              OR t.first_seen > t.last_seen"""
    ).fetchone()[0]
    assert bad == 0
    # every labelled user really has events in the labelled span (log_gap: the org has none)
    missing = con.execute(
        """SELECT t.user_id, t.category FROM truth t
           WHERE t.category <> 'log_gap' AND NOT EXISTS (
             SELECT 1 FROM events e WHERE e.user_id = t.user_id
               AND e.timestamp BETWEEN t.first_seen AND t.last_seen)"""
    ).fetchall()
    assert missing == []
