"""Who touched one child's record, and who looked up their own or a colleague's family: the queries
behind subject access requests and the review's people-over-time views.

Record ids go in (the one child asked about) and never come back out: rows name the record only when
the caller asked for it by id; family matches return pseudonyms made with the workspace's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from audit_kit.models.findings import Finding
from audit_kit.store.findings import load_findings
from audit_kit.store.sql import fetch_all

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

RECORD_TABLES = ("subjects", "involvements", "events")


def record_known(ws: Workspace, record_id: str) -> bool:
    """Whether any reference table or event holds this record id."""
    for table in RECORD_TABLES:
        if ws.has_table(table) and fetch_all(ws.con, f'SELECT 1 FROM "{table}" WHERE record_id = ? LIMIT 1',
                                             [record_id]):
            return True
    return False


@dataclass(frozen=True)
class RecordEvent:
    """One event on the record: when, who (organisation, role, user), what, with which stated purpose."""

    timestamp: datetime  # UTC
    local_time: datetime | None  # the organisation's wall clock
    org_id: str
    user_id: str
    role: str | None
    action: str
    outcome: str
    purpose: str | None
    break_glass: bool


def record_events(ws: Workspace, record_id: str, since: datetime | None = None,
                  until: datetime | None = None) -> list[RecordEvent]:
    """Every event on one record in [since, until), oldest first, with the user's role."""
    where: list[str] = ["e.record_id = ?"]
    params: list[Any] = [record_id]
    if since is not None:
        where.append("e.timestamp >= ?")
        params.append(since)
    if until is not None:
        where.append("e.timestamp < ?")
        params.append(until)
    users = ws.has_table("users")
    role = "u.role" if users else "NULL"
    join = "LEFT JOIN users u ON u.user_id = e.user_id" if users else ""
    rows = fetch_all(
        ws.con,
        f"""SELECT e.timestamp, e.local_time, e.org_id, e.user_id, {role}, e.action, e.outcome, e.purpose,
                   coalesce(e.break_glass, false)
            FROM events e {join} WHERE {' AND '.join(where)} ORDER BY e.timestamp, e.event_id""",
        params,
    )
    return [RecordEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in rows]


@dataclass(frozen=True)
class OrgRow:
    org_id: str
    name: str
    type: str
    area: str


def organisations(ws: Workspace, org_ids: list[str]) -> dict[str, OrgRow]:
    """Name, type and area of the given organisations (those the workspace knows)."""
    if not org_ids or not ws.has_table("organisations"):
        return {}
    rows = fetch_all(ws.con, "SELECT org_id, name, type, area FROM organisations WHERE list_contains(?, org_id)",
                     [org_ids])
    return {r[0]: OrgRow(r[0], r[1], r[2], r[3]) for r in rows}


@dataclass(frozen=True)
class Involvement:
    org_id: str
    role: str | None
    start_date: date | None
    end_date: date | None


def involvements(ws: Workspace, record_id: str) -> list[Involvement]:
    """The organisations with a recorded relationship with the child."""
    if not ws.has_table("involvements"):
        return []
    rows = fetch_all(ws.con, "SELECT org_id, role, start_date, end_date FROM involvements WHERE record_id = ?"
                     " ORDER BY org_id, start_date", [record_id])
    return [Involvement(r[0], r[1], r[2], r[3]) for r in rows]


def findings_mentioning(ws: Workspace, pseudonym: str) -> list[Finding]:
    """Stored findings whose evidence or summary names the record's pseudonym."""
    if not ws.has_table("findings"):
        return []
    like = f"%{pseudonym}%"
    ids = [r[0] for r in fetch_all(ws.con, "SELECT finding_id FROM findings WHERE evidence LIKE ? OR summary LIKE ?",
                                   [like, like])]
    return load_findings(ws, finding_ids=ids) if ids else []


def known_record_ids(ws: Workspace, tokens: set[str]) -> set[str]:
    """Which of `tokens` are record ids the workspace holds (for scrubbing free text)."""
    if not tokens:
        return set()
    found: set[str] = set()
    for table in RECORD_TABLES:
        if ws.has_table(table):
            found |= {r[0] for r in fetch_all(
                ws.con, f'SELECT DISTINCT record_id FROM "{table}" WHERE list_contains(?, record_id)', [sorted(tokens)]
            )}
    return found


@dataclass(frozen=True)
class FamilyLookup:
    """A member of staff reading a child whose family key matches their own (`self`) or a colleague's at
    the same organisation (`coworker`). `record` is the keyed pseudonym; `colleague` is None for self."""

    kind: str
    org_id: str
    user_id: str
    role: str | None
    colleague: str | None
    record: str
    accesses: int
    first: datetime
    last: datetime


def family_lookups(ws: Workspace, since: datetime | None = None, until: datetime | None = None,
                   kinds: tuple[str, ...] = ("self", "coworker")) -> list[FamilyLookup]:
    """Successful record accesses where the child's `family_key` is the reader's own or a colleague's.

    Needs `family_key` in users.csv and subjects.csv (none: no rows). A colleague is another user of
    the reader's organisation. Pseudonyms use the workspace's key, computed in the engine.
    """
    if not (ws.has_table("users") and ws.has_table("subjects") and ws.has_table("events")):
        return []
    where = ["e.outcome = 'success'", "e.record_id IS NOT NULL", "s.family_key IS NOT NULL"]
    params: list[Any] = []
    if since is not None:
        where.append("e.timestamp >= ?")
        params.append(since)
    if until is not None:
        where.append("e.timestamp < ?")
        params.append(until)
    base = f"""FROM events e JOIN subjects s ON s.record_id = e.record_id
               JOIN users u ON u.user_id = e.user_id WHERE {' AND '.join(where)}"""
    parts = []
    if "self" in kinds:
        parts.append(f"""SELECT 'self' AS kind, e.org_id, e.user_id, u.role, NULL AS colleague, e.record_id,
                                count(*) AS n, min(e.timestamp) AS first, max(e.timestamp) AS last
                         {base} AND u.family_key = s.family_key GROUP BY ALL""")
    if "coworker" in kinds:
        parts.append(f"""SELECT 'coworker' AS kind, e.org_id, e.user_id, u.role, c.user_id AS colleague, e.record_id,
                                count(*) AS n, min(e.timestamp) AS first, max(e.timestamp) AS last
                         FROM events e JOIN subjects s ON s.record_id = e.record_id
                         JOIN users u ON u.user_id = e.user_id
                         JOIN users c ON c.org_id = e.org_id AND c.user_id <> e.user_id AND c.family_key = s.family_key
                         WHERE {' AND '.join(where)} AND u.family_key IS DISTINCT FROM s.family_key
                         GROUP BY ALL""")
    if not parts:
        return []
    sql = " UNION ALL ".join(f"({p})" for p in parts)
    rows = fetch_all(ws.con, f"SELECT * FROM ({sql}) ORDER BY first, kind, user_id",
                     params * len(parts))
    return [FamilyLookup(r[0], r[1], r[2], r[3], r[4], ws.pseudonymise(r[5]) or "", int(r[6]), r[7], r[8])
            for r in rows]
