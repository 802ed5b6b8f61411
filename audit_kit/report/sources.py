"""Read what a report shows from the workspace and the other modules, as small typed facts.

This is the only place that knows the other layers' APIs (scoring, assessment, graph), so a
change there is absorbed here. Everything is aggregated in DuckDB; pandas is never used over
events. Each source returns an empty result (never a made-up one) when its data is absent, and
the context builders word that plainly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from audit_kit.models.findings import Severity
from audit_kit.store.assessments import load_latest_assessment
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


@dataclass(frozen=True)
class ControlOutcome:
    """One organisation's result on one control, as the scorer judged it."""

    org_id: str
    control_id: str
    title: str
    domain: str
    answer: str | None
    credit: float | None  # 0–1, None when not scorable (n/a, unanswered)
    status: str  # achieved / partial / not achieved / not applicable / not answered
    mappings: dict[str, list[str]] = field(default_factory=dict)
    remediation: str = ""


@dataclass(frozen=True)
class OrgScoreData:
    org_id: str
    checklist_id: str
    overall: float | None
    outcome: str | None
    domains: dict[str, float | None]
    controls: list[ControlOutcome]
    must_pass_failed: list[str]
    previous_overall: float | None
    frameworks: dict[str, dict[str, str]] = field(default_factory=dict)  # framework → ref → outcome


def organisations(ws: Workspace) -> list[OrgRow]:
    """Every organisation with its event and user counts (one grouped query each)."""
    rows = ws.con.execute(
        """
        SELECT o.org_id, o.name, o.type, o.area, coalesce(e.n, 0), coalesce(u.n, 0)
        FROM organisations o
        LEFT JOIN (SELECT org_id, count(*) n FROM events GROUP BY org_id) e USING (org_id)
        LEFT JOIN (SELECT org_id, count(*) n FROM users GROUP BY org_id) u USING (org_id)
        ORDER BY o.org_id
        """
    ).fetchall()
    return [
        OrgRow(str(r[0]), str(r[1] or ""), str(r[2] or ""), str(r[3] or ""), int(r[4]), int(r[5]))
        for r in rows
    ]


def coverage(ws: Workspace) -> CoverageData:
    """What the review saw: period, counts, files, quarantine and silences in the logs."""
    con = ws.con
    start, end, events = con.execute(
        'SELECT min("timestamp"), max("timestamp"), count(*) FROM events'
    ).fetchall()[0]
    files = [
        FileRow(str(r[0]), str(r[1] or ""), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), int(r[5] or 0))
        for r in con.execute(
            "SELECT path, kind, read, stored, quarantined, duplicates FROM ingest_files ORDER BY path"
        ).fetchall()
    ]
    gaps = [
        GapRow(str(r[0]), r[1], r[2], int(r[3]))
        for r in con.execute(
            f"""
            WITH d AS (SELECT DISTINCT org_id, CAST("timestamp" AS DATE) AS d FROM events),
            g AS (SELECT org_id, d, lag(d) OVER (PARTITION BY org_id ORDER BY d) AS prev FROM d)
            SELECT org_id, prev + 1, d - 1, datediff('day', prev, d) - 1 AS days FROM g
            WHERE datediff('day', prev, d) - 1 >= {LOG_GAP_MIN_DAYS}
            ORDER BY days DESC, org_id LIMIT 60
            """
        ).fetchall()
    ]
    silent = [
        r[0]
        for r in con.execute(
            "SELECT org_id FROM organisations WHERE org_id NOT IN (SELECT DISTINCT org_id FROM events)"
            " ORDER BY org_id"
        ).fetchall()
    ]
    reasons = [
        (str(r[0] or ""), str(r[1] or ""), int(r[2]))
        for r in con.execute(
            "SELECT kind, reason, count(*) n FROM quarantine GROUP BY ALL ORDER BY n DESC, kind, reason LIMIT 30"
        ).fetchall()
    ]
    shielded = con.execute("SELECT count(*) FROM subjects WHERE shielded").fetchall()[0][0]
    return CoverageData(
        period_start=start,
        period_end=end,
        events=int(events),
        organisations=ws.count("organisations"),
        users=ws.count("users"),
        subjects=ws.count("subjects"),
        shielded=int(shielded),
        involvements=ws.count("involvements"),
        quarantined=ws.count("quarantine"),
        files=files,
        gaps=gaps,
        quarantine_reasons=reasons,
        silent_orgs=silent,
    )


# -- findings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FindingCounts:
    total: int
    by_severity: dict[str, int]
    by_detector: list[tuple[str, dict[str, int], int, int]]  # detector, by severity, orgs, users
    by_org: dict[str, dict[str, int]]
    by_week: dict[tuple[str, str], int]
    weeks: list[str]


EMPTY_COUNTS = FindingCounts(0, {}, [], {}, {}, [])


def finding_counts(ws: Workspace, org_id: str | None = None) -> FindingCounts:
    """Findings aggregated in the engine: by severity, detector, organisation and week."""
    if not ws.has_table("findings"):
        return EMPTY_COUNTS
    where, params = ("WHERE org_id = ?", [org_id]) if org_id else ("", [])
    rows = ws.con.execute(
        f"""SELECT detector, severity, org_id, count(*), count(DISTINCT user_id),
                   strftime(date_trunc('week', coalesce(first_seen, detected_at)), '%Y-%m-%d') AS wk
            FROM findings {where} GROUP BY ALL""",
        params,
    ).fetchall()
    if not rows:
        return EMPTY_COUNTS
    spread = {
        r[0]: (int(r[1]), int(r[2]))
        for r in ws.con.execute(
            f"SELECT detector, count(DISTINCT org_id), count(DISTINCT user_id) FROM findings {where} GROUP BY 1",
            params,
        ).fetchall()
    }
    return _counts(rows, spread)


def finding_counts_by_org(ws: Workspace) -> dict[str, FindingCounts]:
    """`finding_counts(ws, org)` for every organisation at once (two grouped queries in all).

    An organisation without findings is absent: callers use `.get(org_id, EMPTY_COUNTS)`.
    """
    if not ws.has_table("findings"):
        return {}
    rows = ws.con.execute(
        """SELECT detector, severity, org_id, count(*), count(DISTINCT user_id),
                  strftime(date_trunc('week', coalesce(first_seen, detected_at)), '%Y-%m-%d') AS wk
           FROM findings GROUP BY ALL"""
    ).fetchall()
    spread: dict[str, dict[str, tuple[int, int]]] = {}
    for org, detector, users in ws.con.execute(
        "SELECT org_id, detector, count(DISTINCT user_id) FROM findings GROUP BY ALL"
    ).fetchall():
        # Within one organisation a detector's findings span exactly that one body.
        spread.setdefault(str(org), {})[detector] = (1, int(users))
    by_org: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_org.setdefault(str(r[2]), []).append(r)
    return {org: _counts(org_rows, spread.get(org, {})) for org, org_rows in by_org.items()}


def _counts(rows: list[tuple[Any, ...]], spread: dict[str, tuple[int, int]]) -> FindingCounts:
    by_sev: dict[str, int] = {}
    det: dict[str, dict[str, int]] = {}
    by_org: dict[str, dict[str, int]] = {}
    by_week: dict[tuple[str, str], int] = {}
    for detector, sev, org, n, _users, wk in rows:
        by_sev[sev] = by_sev.get(sev, 0) + n
        det.setdefault(detector, {})[sev] = det.setdefault(detector, {}).get(sev, 0) + n
        by_org.setdefault(str(org), {})[sev] = by_org.setdefault(str(org), {}).get(sev, 0) + n
        if wk:
            by_week[(detector, wk)] = by_week.get((detector, wk), 0) + n
    by_detector = sorted(
        ((d, s, *spread.get(d, (0, 0))) for d, s in det.items()),
        key=lambda t: (-max(Severity(k).rank for k in t[1]), -sum(t[1].values()), t[0]),
    )
    weeks = sorted({wk for _, wk in by_week})
    return FindingCounts(sum(by_sev.values()), by_sev, by_detector, by_org, by_week, weeks)


@dataclass(frozen=True)
class FindingRow:
    detector: str
    severity: str
    org_id: str
    user_id: str | None
    record_count: int
    first_seen: datetime | None
    last_seen: datetime | None
    summary: str
    evidence: dict[str, Any]


_FINDING_COLUMNS = "detector, severity, org_id, user_id, record_count, first_seen, last_seen, summary, evidence"
_FINDING_ORDER = "severity_rank DESC, score DESC, record_count DESC, finding_id"


def top_findings(ws: Workspace, limit: int, org_id: str | None = None) -> list[FindingRow]:
    """The most severe findings (engine-sorted, limited), newest evidence included."""
    if not ws.has_table("findings"):
        return []
    where, params = ("WHERE org_id = ?", [org_id]) if org_id else ("", [])
    rows = ws.con.execute(
        f"SELECT {_FINDING_COLUMNS} FROM findings {where} ORDER BY {_FINDING_ORDER} LIMIT {int(limit)}",
        params,
    ).fetchall()
    return [_finding_row(r) for r in rows]


def top_findings_by_org(ws: Workspace, limit: int) -> dict[str, list[FindingRow]]:
    """`top_findings(ws, limit, org)` for every organisation at once (one windowed query)."""
    if not ws.has_table("findings"):
        return {}
    rows = ws.con.execute(
        f"""SELECT {_FINDING_COLUMNS} FROM findings
            QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY {_FINDING_ORDER}) <= {int(limit)}
            ORDER BY org_id, {_FINDING_ORDER}"""
    ).fetchall()
    out: dict[str, list[FindingRow]] = {}
    for r in rows:
        row = _finding_row(r)
        out.setdefault(row.org_id, []).append(row)
    return out


def _finding_row(r: tuple[Any, ...]) -> FindingRow:
    try:
        evidence = json.loads(r[8]) if r[8] else {}
    except json.JSONDecodeError:
        evidence = {"evidence": str(r[8])}
    return FindingRow(
        r[0],
        r[1],
        str(r[2]),
        r[3],
        int(r[4] or 0),
        r[5],
        r[6],
        r[7] or "",
        evidence if isinstance(evidence, dict) else {"evidence": evidence},
    )


def findings_since(ws: Workspace, org_id: str, since: datetime | None) -> int:
    """How many of an organisation's findings were first seen after `since` (trend)."""
    if not ws.has_table("findings") or since is None:
        return 0
    return int(
        ws.con.execute(
            "SELECT count(*) FROM findings WHERE org_id = ? AND coalesce(first_seen, detected_at) > ?",
            [org_id, since],
        ).fetchall()[0][0]
    )


# -- risk assessment (task F) ---------------------------------------------------------------------
def latest_assessment(ws: Workspace) -> Any | None:
    """The most recent stored NationalAssessment, or None when none has been run."""
    return load_latest_assessment(ws)


def previous_assessment(ws: Workspace, current: Any | None) -> Any | None:
    """The assessment before `current` (from task F's `assessments` table), or None, for trends."""
    prev_id = getattr(current, "previous_assessment_id", None)
    if not prev_id or not ws.has_table("assessments"):
        return None
    from audit_kit.models.assessment import NationalAssessment

    rows = ws.con.execute("SELECT payload FROM assessments WHERE assessment_id = ?", [prev_id]).fetchall()
    return NationalAssessment.model_validate_json(rows[0][0]) if rows else None
