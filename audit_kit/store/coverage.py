"""What a review saw, for the reports' scope section: organisations with their activity, the log
period, files read, quarantine, and silences in each body's logs. Read-only queries, typed rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from audit_kit.store.sql import fetch_all, fetch_one

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

LOG_GAP_MIN_DAYS = 3  # a silence this long (whole days without one event) is reported as a gap


@dataclass(frozen=True)
class OrgRow:
    org_id: str
    name: str
    type: str
    area: str
    events: int = 0
    users: int = 0


@dataclass(frozen=True)
class FileRow:
    path: str
    kind: str
    read: int
    stored: int
    quarantined: int
    duplicates: int


@dataclass(frozen=True)
class GapRow:
    org_id: str
    start: date | None
    end: date | None
    days: int


@dataclass(frozen=True)
class CoverageData:
    period_start: datetime | None
    period_end: datetime | None
    events: int
    organisations: int
    users: int
    subjects: int
    shielded: int
    involvements: int
    quarantined: int
    files: list[FileRow]
    gaps: list[GapRow]
    quarantine_reasons: list[tuple[str, str, int]]  # (kind, reason, rows)
    silent_orgs: list[str]  # organisations with no events at all


def organisations_with_activity(ws: Workspace) -> list[OrgRow]:
    """Every organisation with its event and user counts (one grouped query)."""
    rows = fetch_all(
        ws.con,
        """
        SELECT o.org_id, o.name, o.type, o.area, coalesce(e.n, 0), coalesce(u.n, 0)
        FROM organisations o
        LEFT JOIN (SELECT org_id, count(*) n FROM events GROUP BY org_id) e USING (org_id)
        LEFT JOIN (SELECT org_id, count(*) n FROM users GROUP BY org_id) u USING (org_id)
        ORDER BY o.org_id
        """,
    )
    return [OrgRow(str(r[0]), str(r[1] or ""), str(r[2] or ""), str(r[3] or ""), int(r[4]), int(r[5])) for r in rows]


def coverage(ws: Workspace) -> CoverageData:
    """What the review saw: period, counts, files, quarantine and silences in the logs."""
    con = ws.con
    start, end, events = fetch_one(con, 'SELECT min("timestamp"), max("timestamp"), count(*) FROM events') or (
        None, None, 0)
    files = [
        FileRow(str(r[0]), str(r[1] or ""), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), int(r[5] or 0))
        for r in fetch_all(con, "SELECT path, kind, read, stored, quarantined, duplicates FROM ingest_files ORDER BY path")
    ]
    gaps = [
        GapRow(str(r[0]), r[1], r[2], int(r[3]))
        for r in fetch_all(
            con,
            f"""
            WITH d AS (SELECT DISTINCT org_id, CAST("timestamp" AS DATE) AS d FROM events),
            g AS (SELECT org_id, d, lag(d) OVER (PARTITION BY org_id ORDER BY d) AS prev FROM d)
            SELECT org_id, prev + 1, d - 1, datediff('day', prev, d) - 1 AS days FROM g
            WHERE datediff('day', prev, d) - 1 >= {LOG_GAP_MIN_DAYS}
            ORDER BY days DESC, org_id LIMIT 60
            """,
        )
    ]
    silent = [str(r[0]) for r in fetch_all(
        con, "SELECT org_id FROM organisations WHERE org_id NOT IN (SELECT DISTINCT org_id FROM events) ORDER BY org_id")]
    reasons = [
        (str(r[0] or ""), str(r[1] or ""), int(r[2]))
        for r in fetch_all(
            con, "SELECT kind, reason, count(*) n FROM quarantine GROUP BY ALL ORDER BY n DESC, kind, reason LIMIT 30")
    ]
    shielded = (fetch_one(con, "SELECT count(*) FROM subjects WHERE shielded") or (0,))[0]
    return CoverageData(
        period_start=start, period_end=end, events=int(events), organisations=ws.count("organisations"),
        users=ws.count("users"), subjects=ws.count("subjects"), shielded=int(shielded),
        involvements=ws.count("involvements"), quarantined=ws.count("quarantine"), files=files, gaps=gaps,
        quarantine_reasons=reasons, silent_orgs=silent,
    )
