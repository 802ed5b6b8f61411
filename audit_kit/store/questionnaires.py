"""Questionnaire tables in the workspace: submissions (one row per version), answers, problems."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from audit_kit.models.questionnaire import Answer, Problem, StoredSubmission, Submission
from audit_kit.store.sql import fetch_one

if TYPE_CHECKING:
    from audit_kit.store.workspace import Workspace

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS questionnaire_submissions (
        submission_id VARCHAR PRIMARY KEY, org_id VARCHAR NOT NULL, checklist_id VARCHAR NOT NULL,
        checklist_version VARCHAR, version INTEGER NOT NULL, submitted DATE,
        respondent_name VARCHAR, respondent_role VARCHAR, respondent_email VARCHAR,
        source_file VARCHAR, source_format VARCHAR, content_sha256 VARCHAR,
        answers INTEGER, problems INTEGER, imported_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS questionnaire_answers (
        submission_id VARCHAR NOT NULL, org_id VARCHAR NOT NULL, checklist_id VARCHAR NOT NULL,
        version INTEGER NOT NULL, control_id VARCHAR NOT NULL, answer VARCHAR, value DOUBLE,
        evidence VARCHAR, comment VARCHAR, source_sheet VARCHAR, source_row INTEGER)""",
    """CREATE TABLE IF NOT EXISTS questionnaire_problems (
        submission_id VARCHAR, source_file VARCHAR, sheet VARCHAR, "row" INTEGER, "key" VARCHAR,
        org_id VARCHAR, control_id VARCHAR, message VARCHAR, imported_at TIMESTAMP)""",
)


def content_hash(sub: Submission) -> str:
    """Hash of what was answered (not of the file), so the same answers in any format count once."""
    body = {
        "org": sub.org_id,
        "checklist": sub.checklist_id,
        "submitted": sub.submitted.isoformat() if sub.submitted else None,
        "respondent": sub.respondent,
        "answers": sorted((a.control_id, a.answer, a.evidence, a.comment) for a in sub.answers),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def is_duplicate(ws: Workspace, sub: Submission, digest: str) -> bool:
    row = fetch_one(ws.con,
        "SELECT count(*) FROM questionnaire_submissions WHERE org_id = ? AND checklist_id = ? AND content_sha256 = ?",
        [sub.org_id, sub.checklist_id, digest],
    )
    return bool(row and row[0])


def store_submission(ws: Workspace, sub: Submission, digest: str, now: datetime) -> StoredSubmission:
    """Store one submission as the next version for its organisation and checklist. Caller owns the transaction."""
    row = fetch_one(ws.con,
        "SELECT coalesce(max(version), 0) FROM questionnaire_submissions WHERE org_id = ? AND checklist_id = ?",
        [sub.org_id, sub.checklist_id],
    )
    version = int(row[0] if row else 0) + 1
    sid = f"{sub.org_id}:{sub.checklist_id}:v{version}:{uuid.uuid4().hex[:8]}"
    r = sub.respondent
    ws.con.execute(
        "INSERT INTO questionnaire_submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            sid,
            sub.org_id,
            sub.checklist_id,
            sub.checklist_version,
            version,
            sub.submitted,
            r.get("name"),
            r.get("role"),
            r.get("email"),
            sub.source_file,
            sub.source_format,
            digest,
            len(sub.answers),
            len(sub.problems),
            now,
        ],
    )
    if sub.answers:
        ws.con.executemany(
            "INSERT INTO questionnaire_answers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    sid,
                    sub.org_id,
                    sub.checklist_id,
                    version,
                    a.control_id,
                    a.answer,
                    a.value,
                    a.evidence,
                    a.comment,
                    a.sheet,
                    a.row,
                )
                for a in sub.answers
            ],
        )
    store_problems(ws, sub.problems, now, sid)
    return StoredSubmission(
        sid, sub.org_id, sub.checklist_id, version, sub.source_file, len(sub.answers), len(sub.problems)
    )


def store_problems(
    ws: Workspace, problems: list[Problem], now: datetime, submission_id: str | None = None
) -> None:
    if problems:
        ws.con.executemany(
            "INSERT INTO questionnaire_problems VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    submission_id,
                    p.location.file,
                    p.location.sheet,
                    p.location.row,
                    p.location.key,
                    p.org_id,
                    p.control_id,
                    p.message,
                    now,
                )
                for p in problems
            ],
        )


@dataclass(frozen=True)
class SubmissionRecord:
    """A stored submission with its answers, as scoring reads it."""

    submission_id: str
    org_id: str
    checklist_id: str
    version: int
    submitted: date | None
    imported_at: datetime
    answers: list[Answer]


def load_submissions(
    ws: Workspace, checklist_id: str | None = None, org_id: str | None = None
) -> list[SubmissionRecord]:
    """Every stored submission (all versions), oldest version first, with answers."""
    where, params = ["1=1"], []
    if checklist_id:
        where.append("checklist_id = ?")
        params.append(checklist_id)
    if org_id:
        where.append("org_id = ?")
        params.append(org_id)
    cond = " AND ".join(where)
    subs = ws.con.execute(
        f"SELECT submission_id, org_id, checklist_id, version, submitted, imported_at FROM questionnaire_submissions"
        f" WHERE {cond} ORDER BY org_id, checklist_id, version",
        params,
    ).fetchall()
    answers: dict[str, list[Answer]] = {}
    for r in ws.con.execute(
        f"SELECT submission_id, control_id, answer, value, evidence, comment, source_sheet, source_row"
        f" FROM questionnaire_answers WHERE {cond}",
        params,
    ).fetchall():
        answers.setdefault(r[0], []).append(Answer(r[1], r[2], r[3], r[4] or "", r[5] or "", r[6], r[7]))
    return [SubmissionRecord(s[0], s[1], s[2], s[3], s[4], s[5], answers.get(s[0], [])) for s in subs]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def respondents(ws: Workspace) -> dict[str, dict[str, str]]:
    """Each submission's respondent (name and role, where given), by submission id."""
    rows = ws.con.execute(
        "SELECT submission_id, respondent_name, respondent_role FROM questionnaire_submissions"
    ).fetchall()
    return {sid: {k: v for k, v in (("name", name), ("role", role)) if v} for sid, name, role in rows}


def most_answered_checklist(ws: Workspace, prefer: str) -> str | None:
    """The checklist most organisations answered (ties go to `prefer`, then by id); None when none did."""
    row = fetch_one(
        ws.con,
        "SELECT checklist_id, count(DISTINCT org_id) n FROM questionnaire_submissions GROUP BY 1 "
        "ORDER BY n DESC, checklist_id = ? DESC, checklist_id LIMIT 1", [prefer],
    )
    return None if row is None else str(row[0])
