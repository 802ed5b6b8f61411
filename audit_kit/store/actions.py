"""Action plans issued to bodies and their management responses, in the people-side store.

The typed library API the CLI (`audit-kit actions`) and the web app share:

- `record_issued(people, actions)`: remember the plan as it was issued (upsert by action and assessment);
- `issued_actions(people, org_id=None)`: the latest issue of each action;
- `record_responses(people, responses, now)`: append responses (never updates one: history is kept);
- `latest_responses(people, org_id=None)`: the current response per action;
- `action_states(people, org_id=None)`: each issued action with its latest response (for follow-up);
- `response_history(people, action_id)`: every response to one action, oldest first.

Each write is one short transaction (`PeopleStore.transaction`), so a DPO's submission never waits
for a scan. Rows are validated models in and out (`audit_kit.models.actions`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from audit_kit.models.actions import (
    ActionResponse,
    ActionState,
    ActionStatus,
    IssuedAction,
    ManagementResponse,
    Priority,
)
from audit_kit.store.people import PeopleStore


def record_issued(people: PeopleStore, actions: Sequence[IssuedAction]) -> int:
    """Remember issued actions (the same action and assessment issued again replaces the row)."""
    rows = [(a.action_id, a.org_id, a.assessment_id, a.issued.isoformat(), a.due.isoformat(), a.priority.value,
             a.title, json.dumps(a.findings), a.owner_role) for a in actions]
    with people.transaction() as con:
        con.executemany("INSERT OR REPLACE INTO issued_actions VALUES (?,?,?,?,?,?,?,?,?)", rows)
    return len(rows)


def issued_actions(people: PeopleStore, org_id: str | None = None) -> list[IssuedAction]:
    """The latest issue of each action (by issue date, then assessment), ordered by body, due date, id."""
    where, params = ("WHERE org_id = ?", [org_id]) if org_id else ("", [])
    rows = people.con.execute(
        f"""SELECT action_id, org_id, assessment_id, issued, due, priority, title, findings, owner_role
            FROM (SELECT *, row_number() OVER (PARTITION BY action_id ORDER BY issued DESC, assessment_id DESC) rn
                  FROM issued_actions {where}) WHERE rn = 1 ORDER BY org_id, due, action_id""",
        params,
    ).fetchall()
    return [IssuedAction(action_id=r[0], org_id=r[1], assessment_id=r[2], issued=date.fromisoformat(r[3]),
                         due=date.fromisoformat(r[4]), priority=Priority(r[5]), title=r[6],
                         findings=json.loads(r[7]), owner_role=r[8]) for r in rows]


def record_responses(people: PeopleStore, responses: Sequence[ActionResponse], now: datetime) -> int:
    """Append management responses, all in one transaction; returns how many were recorded."""
    rows = [(r.action_id, r.org_id, r.response.value if r.response else None, r.owner_name, r.status.value,
             r.agreed_date.isoformat() if r.agreed_date else None, r.evidence, r.comment,
             (r.recorded_at or now).isoformat(timespec="seconds"), r.recorded_by, r.source) for r in responses]
    with people.transaction() as con:
        con.executemany(
            """INSERT INTO action_responses (action_id, org_id, response, owner_name, status, agreed_date, evidence,
               comment, recorded_at, recorded_by, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)""", rows)
    return len(rows)


_RESPONSE_COLUMNS = ("action_id, org_id, response, owner_name, status, agreed_date, evidence, comment, recorded_at, "
                     "recorded_by, source")


def _response(r: tuple[object, ...]) -> ActionResponse:
    return ActionResponse(
        action_id=str(r[0]), org_id=str(r[1]), response=ManagementResponse(r[2]) if r[2] else None,
        owner_name=str(r[3]), status=ActionStatus(r[4]), agreed_date=date.fromisoformat(str(r[5])) if r[5] else None,
        evidence=str(r[6]), comment=str(r[7]), recorded_at=datetime.fromisoformat(str(r[8])),
        recorded_by=str(r[9]), source=str(r[10]),
    )


def latest_responses(people: PeopleStore, org_id: str | None = None) -> dict[str, ActionResponse]:
    """The latest response to each action (of one body, or all), keyed by action id: the last one
    recorded (by time, then by arrival), so a response carried over later from an older source does not
    override a newer one."""
    where, params = ("WHERE org_id = ?", [org_id]) if org_id else ("", [])
    rows = people.con.execute(
        f"""SELECT {_RESPONSE_COLUMNS} FROM (
                SELECT *, row_number() OVER (PARTITION BY action_id ORDER BY recorded_at DESC, response_id DESC) rn
                FROM action_responses {where}) WHERE rn = 1""",
        params,
    ).fetchall()
    return {str(r[0]): _response(r) for r in rows}


def response_history(people: PeopleStore, action_id: str) -> list[ActionResponse]:
    """Every response recorded for one action, oldest first."""
    rows = people.con.execute(
        f"SELECT {_RESPONSE_COLUMNS} FROM action_responses WHERE action_id = ? ORDER BY response_id", [action_id]
    ).fetchall()
    return [_response(r) for r in rows]


def action_states(people: PeopleStore, org_id: str | None = None) -> list[ActionState]:
    """Every issued action (latest issue) with its latest response, for follow-up in the next report."""
    responses = latest_responses(people, org_id)
    return [ActionState(issued=a, response=responses.get(a.action_id)) for a in issued_actions(people, org_id)]
