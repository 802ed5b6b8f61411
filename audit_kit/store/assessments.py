"""Dated assessments in the workspace: each run is kept, so the next one can show trends.

`assessments` holds one row per run with the whole `NationalAssessment` as JSON (the source of
truth); `assessment_orgs` and `corroborations` are flat copies for SQL, reports and trend queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from audit_kit.models.assessment import NationalAssessment
from audit_kit.store.sql import fetch_all, fetch_one

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS assessments (
        assessment_id VARCHAR PRIMARY KEY, assessed_at TIMESTAMP, as_of DATE, period_start TIMESTAMP,
        period_end TIMESTAMP, checklist_id VARCHAR, method_version VARCHAR, organisations INTEGER,
        payload VARCHAR, config_source VARCHAR, config_sha256 VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS assessment_orgs (
        assessment_id VARCHAR, org_id VARCHAR, as_of DATE, likelihood INTEGER, impact INTEGER,
        risk_level VARCHAR, tier INTEGER, questionnaire_received BOOLEAN, logs_only BOOLEAN,
        score DOUBLE, contradictions INTEGER, findings INTEGER, PRIMARY KEY (assessment_id, org_id))""",
    """CREATE TABLE IF NOT EXISTS corroborations (
        assessment_id VARCHAR, org_id VARCHAR, control_id VARCHAR, measure VARCHAR, claimed VARCHAR,
        observed VARCHAR, status VARCHAR, detail VARCHAR, PRIMARY KEY (assessment_id, org_id, control_id))""",
)


def store_assessment(ws: Workspace, assessment: NationalAssessment) -> None:
    """Write one assessment (and its flat rows). Caller owns the transaction."""
    a = assessment
    ws.con.execute(
        "INSERT OR REPLACE INTO assessments VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [a.assessment_id, a.assessed_at, a.as_of, a.period.start, a.period.end, a.checklist_id,
         a.method_version, len(a.orgs), a.model_dump_json(), a.config_source, a.config_sha256],
    )
    org_rows = [
        (a.assessment_id, o.org_id, a.as_of, o.likelihood, o.impact, o.risk_level.value, o.tier,
         o.questionnaire_received, o.logs_only, None if o.score is None else o.score.overall,
         len(o.contradictions), sum(o.finding_counts.values()))
        for o in a.orgs
    ]
    _bulk_insert(ws, "assessment_orgs", org_rows)
    check_rows = [
        (a.assessment_id, c.org_id, c.control_id, c.measure, c.claimed, c.observed, c.status.value, c.detail)
        for o in a.orgs for c in o.checks
    ]
    _bulk_insert(ws, "corroborations", check_rows)


def _bulk_insert(ws: Workspace, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    # One INSERT … SELECT from an Arrow table: executemany costs milliseconds a row in DuckDB, which
    # would dominate an assessment of hundreds of organisations.
    if not rows:
        return
    import pyarrow as pa

    names = [r[0] for r in fetch_all(ws.con, f'DESCRIBE "{table}"')]
    arrow = pa.table({n: [row[i] for row in rows] for i, n in enumerate(names)})
    ws.con.register("_assessment_rows", arrow)
    try:
        ws.con.execute(f'INSERT OR REPLACE INTO "{table}" SELECT * FROM _assessment_rows')
    finally:
        ws.con.unregister("_assessment_rows")


def load_latest_assessment(ws: Workspace) -> NationalAssessment | None:
    """The most recent stored assessment (by assessment time), or None if there is none."""
    row = fetch_one(ws.con,
        "SELECT payload FROM assessments ORDER BY assessed_at DESC, assessment_id DESC LIMIT 1"
    )
    return None if row is None else NationalAssessment.model_validate_json(row[0])


def list_assessments(ws: Workspace) -> list[tuple[str, str, str, int]]:
    """(assessment_id, assessed_at ISO, as_of ISO, organisations) of every stored assessment, newest first."""
    rows = fetch_all(
        ws.con, "SELECT assessment_id, assessed_at, as_of, organisations FROM assessments ORDER BY assessed_at DESC"
    )
    return [(r[0], r[1].isoformat(), r[2].isoformat(), r[3]) for r in rows]


def load_assessment(ws: Workspace, assessment_id: str) -> NationalAssessment | None:
    """One stored assessment by id (e.g. the previous one, for trends), or None."""
    if not ws.has_table("assessments"):
        return None
    row = fetch_one(ws.con, "SELECT payload FROM assessments WHERE assessment_id = ?", [assessment_id])
    return None if row is None else NationalAssessment.model_validate_json(row[0])
def risk_levels_by_assessment(ws: Workspace) -> list[tuple[str, datetime, date | None, str, int]]:
    """(assessment_id, assessed_at, as_of, risk_level, organisations) for every stored assessment: the
    national trend the web dashboard draws."""
    rows = fetch_all(ws.con, """
        SELECT a.assessment_id, a.assessed_at, a.as_of, o.risk_level, count(*)
        FROM assessments a JOIN assessment_orgs o USING (assessment_id)
        GROUP BY ALL ORDER BY a.assessed_at, o.risk_level""")
    return [(str(r[0]), r[1], r[2], str(r[3]), int(r[4])) for r in rows]
