"""People store 4 -> 5: what the web app's first verdict and response tables held is carried into the
review's and the action plan's tables, nothing is lost, and the old tables take no new rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from audit_kit.review import get_finding as reviewed
from audit_kit.review import history, list_findings
from audit_kit.store import actions as action_store
from audit_kit.store.people import PEOPLE_FILE, PEOPLE_MIGRATIONS, PeopleStore
from audit_kit.web.review import state_of

ASSESSMENT = {"org_id": "LA001", "actions": [
    {"action_id": "LA001/access/remediate", "risk_id": "R1"}, {"action_id": "LA001/access/investigate", "risk_id": "R1"},
    {"action_id": "LA001/auth/remediate", "risk_id": "R2"}]}
EVIDENCE = json.dumps({"record": "R-0123456789abcdef", "reads": 3})


def _version_4(ws: Path) -> None:
    """A people store as release 4 left it, with a browser's verdicts and responses in the old tables."""
    ws.mkdir()
    con = sqlite3.connect(ws / PEOPLE_FILE)
    for step in PEOPLE_MIGRATIONS[:4]:
        for statement in step:
            con.execute(statement)
    con.execute("PRAGMA user_version = 4")
    con.execute("INSERT INTO rm_orgs (org_id, name, type, area, findings, assessment) VALUES "
                "('LA001', 'Council', 'local_authority', 'North', 2, ?)", [json.dumps(ASSESSMENT)])
    for fid in ("f-web", "f-both"):
        con.execute("INSERT INTO rm_findings VALUES (?, 'LA001', 'vip_snooping', 'high', 4, 0.9, 'u1', 1, "
                    "'2026-03-01T09:00:00Z', '2026-03-02T10:00:00Z', 'summary', ?)", [fid, EVIDENCE])
    # f-both was also published to the review and judged there after the browser's last action.
    con.execute("INSERT INTO review_findings (finding_id, detector, severity, severity_rank, score, summary, evidence, "
                "state, first_detected, last_detected, updated_at, updated_by) VALUES ('f-both', 'vip_snooping', "
                "'high', 4, 0.9, 's', '{}', 'confirmed', '2026-03-03T00:00:00', '2026-03-03T00:00:00', "
                "'2026-03-09T12:00:00.000000', 'cli-reviewer')")
    rows = [("f-web", "under_review", "rita", "", "rita", "2026-03-04T09:00:00Z"),
            ("f-web", "under_review", "rita", "looked at the rota", "rita", "2026-03-04T09:05:00Z"),
            ("f-web", "false_positive", "rita", "rota cover", "rita", "2026-03-04T10:00:00Z"),
            ("f-both", "explained", None, "duty worker", "ravi", "2026-03-05T10:00:00Z"),
            ("f-gone", "confirmed", None, "seen", "ravi", "2026-03-06T10:00:00Z")]
    con.executemany("INSERT INTO web_reviews (finding_id, state, assignee, note, username, at) VALUES (?,?,?,?,?,?)",
                    rows)
    con.executemany("INSERT INTO web_responses (org_id, risk_id, status, response, target_date, username, at) "
                    "VALUES (?,?,?,?,?,?,?)",
                    [("LA001", "R1", "in_progress", "vetting from May", "2026-06-30", "dora", "2026-03-07T09:00:00Z"),
                     ("LA001", "R2", "disputed", "MFA is on already", None, "dora", "2026-03-07T09:10:00Z"),
                     ("LA001", "R9", "done", "a risk no action treats", None, "dora", "2026-03-07T09:20:00Z")])
    con.commit()
    con.close()


def test_browser_verdicts_and_responses_are_carried_over(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _version_4(ws)
    with PeopleStore.open(ws) as people:
        web_only = reviewed(people, "f-web")
        assert web_only is not None and (web_only.state.value, web_only.assignee) == ("false_positive", "rita")
        assert web_only.record == "R-0123456789abcdef" and web_only.last_seen is not None
        events = history(people, "f-web")
        assert [(e.kind.value, e.from_state.value if e.from_state else None, e.to_state.value if e.to_state else None,
                 e.note) for e in events] == [("state", "open", "under_review", None),
                                              ("note", None, None, "looked at the rota"),
                                              ("verdict", "under_review", "false_positive", "rota cover")]
        assert all(e.detail["carried_from"] == "web_reviews" for e in events)
        shown = state_of(people, "f-web")
        assert [(e.what, e.state, e.assignee) for e in shown.history][-1] == ("verdict", "false_positive", "rita")
        # The review changed f-both after the browser did: its later state stands, the browser's is history.
        both = reviewed(people, "f-both")
        assert both is not None and both.state.value == "confirmed"
        assert [e.note for e in history(people, "f-both")] == ["duty worker"]
        # A finding neither read model holds keeps its history in the events and the old table.
        assert people.con.execute("SELECT count(*) FROM review_events WHERE finding_id = 'f-gone'").fetchone()[0] == 1
        assert sorted(f.finding_id for f in list_findings(people)) == ["f-both", "f-web"]
        latest = action_store.latest_responses(people, "LA001")
        assert {k: (v.status.value, v.response.value if v.response else None, v.comment, v.source)
                for k, v in latest.items()} == {
            "LA001/access/remediate": ("in progress", "agreed", "vetting from May", "web"),
            "LA001/access/investigate": ("in progress", "agreed", "vetting from May", "web"),
            "LA001/auth/remediate": ("not started", "not agreed", "MFA is on already", "web")}
        assert latest["LA001/access/remediate"].agreed_date is not None
        assert people.con.execute("SELECT count(*) FROM web_responses").fetchone()[0] == 3  # nothing deleted
        assert people.con.execute("SELECT count(*) FROM web_reviews").fetchone()[0] == 5
        with pytest.raises(sqlite3.IntegrityError, match="retired"):
            people.con.execute("INSERT INTO web_reviews (finding_id, state, assignee, note, username, at) "
                               "VALUES ('x', 'open', NULL, '', 'rita', '2026-03-08T00:00:00Z')")
        with pytest.raises(sqlite3.IntegrityError, match="retired"):
            people.con.execute("INSERT INTO web_responses (org_id, risk_id, status, response, username, at) "
                               "VALUES ('LA001', 'R1', 'done', 'x', 'dora', '2026-03-08T00:00:00Z')")


def test_a_later_response_is_not_overridden_by_a_carried_older_one(tmp_path: Path) -> None:
    """A workbook response recorded before the upgrade but dated after the browser's stays the latest."""
    ws = tmp_path / "ws"
    _version_4(ws)
    con = sqlite3.connect(ws / PEOPLE_FILE)
    con.execute("INSERT INTO action_responses (action_id, org_id, response, owner_name, status, agreed_date, evidence, "
                "comment, recorded_at, recorded_by, source) VALUES ('LA001/access/remediate', 'LA001', 'agreed', "
                "'J. Patel', 'done', NULL, 'vetting log', '', '2026-03-20T09:00:00', 'plan.xlsx', 'xlsx')")
    con.commit()
    con.close()
    with PeopleStore.open(ws) as people:
        latest = action_store.latest_responses(people, "LA001")["LA001/access/remediate"]
        assert (latest.status.value, latest.source) == ("done", "xlsx")
        assert len(action_store.response_history(people, "LA001/access/remediate")) == 2
