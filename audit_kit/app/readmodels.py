"""Read models: what the web app shows, published from DuckDB into the people store.

The web app never holds DuckDB (`docs/web.md`, "Many people at once" in `docs/design.md`). The jobs
that change what it shows — `assess` (and the one-shot pipeline), `detect` and `scan` — publish before
they close the workspace they already hold for writing (`publish_after_write`): the latest assessment,
scores, findings and organisations go into `rm_*` tables of `WS/people.sqlite` in one short
transaction. `audit-kit serve` publishes once at start-up when the workspace changed since (a short
read-only open; skipped when a writer holds it). Pages then read SQLite only, so a scan running for an
hour neither blocks a page nor is blocked by one.

Every text that crosses (finding summaries and evidence) passes the reports' record-id guard first,
so a raw record id that a detector let slip reaches the web app only as its keyed pseudonym.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import WorkspaceError
from audit_kit.models.assessment import NationalAssessment
from audit_kit.models.findings import Severity
from audit_kit.report.safety import guard_record_ids
from audit_kit.report.scores import OrgScoreData, load_scores
from audit_kit.review.workflow import publish as publish_review
from audit_kit.store import web
from audit_kit.store.assessments import list_assessments, load_latest_assessment, risk_levels_by_assessment
from audit_kit.store.findings import load_findings
from audit_kit.store.ingest import organisations
from audit_kit.store.people import PeopleStore
from audit_kit.store.workspace import DB_FILE, MemoryLimits, Workspace


def fingerprint(workspace: Path) -> str:
    """What the DuckDB files look like now (size and modification time of the database and its WAL):
    a change means something was written since the last publication."""
    parts = []
    for name in (DB_FILE, DB_FILE + ".wal"):
        try:
            st = os.stat(Path(workspace) / name)
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{name}:-")
    return "|".join(parts)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    return str(value.isoformat())


def publish_read_models(ws: Workspace, people: PeopleStore, now: datetime | None = None,
                        catalogues: CatalogueLibrary = SHIPPED) -> web.Publication:
    """Copy what the web app shows from the open workspace into the people store (one transaction).

    Findings are copied every time. The ratings, scores and trend change only with what they are derived
    from (`scores_basis`: the latest assessment, the stored questionnaires, the catalogue files): when that
    is what was published last (a scan or detect publishing), they are kept as published — parsing a
    national assessment and scoring every body take seconds at a few hundred bodies, the rest a second or
    two.
    """
    now = now or datetime.now(UTC)
    print_ = fingerprint(ws.path)
    stored = list_assessments(ws) if ws.has_table("assessments") else []
    basis = scores_basis(ws, stored[0][0] if stored else None, catalogues)
    previous = web.publication(people)
    if previous is not None and web.scores_basis(people) == basis:
        return _publish(ws, people, now, print_, None, {}, previous, basis)
    assessment: NationalAssessment | None = load_latest_assessment(ws) if stored else None
    scores = load_scores(ws, assessment, catalogues) if ws.has_table("questionnaire_answers") else {}
    return _publish(ws, people, now, print_, assessment, scores, None, basis)


def scores_basis(ws: Workspace, assessment_id: str | None, catalogues: CatalogueLibrary = SHIPPED) -> str:
    """What the bodies' published ratings and scores are derived from: the latest assessment's id, every
    stored questionnaire submission (with the hash of its answers) and the catalogue files. Cheap: a
    scan compares it instead of scoring every body again."""
    submissions = ""
    if ws.has_table("questionnaire_submissions"):
        rows = ws.con.execute("SELECT submission_id, content_sha256, imported_at FROM questionnaire_submissions "
                              "ORDER BY 1").fetchall()
        submissions = hashlib.sha256("|".join(f"{a}:{b}:{c}" for a, b, c in rows).encode()).hexdigest()
    stamp = hashlib.sha256(catalogues.stamp().encode()).hexdigest()
    return f"assessment={assessment_id or '-'};submissions={submissions or '-'};catalogues={stamp}"


def _publish(ws: Workspace, people: PeopleStore, now: datetime, print_: str, assessment: NationalAssessment | None,
             scores: dict[str, OrgScoreData], keep: web.Publication | None, basis: str) -> web.Publication:
    findings = load_findings(ws) if ws.has_table("findings") else []
    # Scrub raw record ids from everything that crosses (one engine query for all the texts).
    texts = [f.summary for f in findings] + [json.dumps(f.evidence, sort_keys=True, default=str) for f in findings]
    if texts:
        texts, _ = guard_record_ids(ws, texts, restricted=True)
    n = len(findings)
    finding_rows = [
        web.FindingReadModel(
            finding_id=f.finding_id, org_id=f.org_id, detector=f.detector, severity=f.severity.value,
            severity_rank=f.severity.rank, score=float(f.score), user_id=f.user_id, record_count=int(f.record_count),
            first_seen=_iso(f.first_seen), last_seen=_iso(f.last_seen), summary=texts[i], evidence=texts[n + i])
        for i, f in enumerate(findings)
    ]
    per_org: dict[str, int] = {}
    for f in findings:
        if f.org_id and f.detector != "contradiction":
            per_org[f.org_id] = per_org.get(f.org_id, 0) + 1
    kept = {o.org_id: o for o in web.list_orgs_full(people)} if keep is not None else {}
    rated = {o.org_id: o for o in assessment.orgs} if assessment else {}
    org_rows = []
    for rec in organisations(ws) if ws.has_table("organisations") else []:
        if rec.org_id in kept:
            org_rows.append(replace(kept[rec.org_id], findings=per_org.get(rec.org_id, 0)))
            continue
        o = rated.get(rec.org_id)
        s = scores.get(rec.org_id)
        score_json = None
        if s is not None:
            score_json = json.dumps({
                "checklist_id": s.checklist_id, "overall": s.overall, "outcome": s.outcome, "domains": s.domains,
                "previous_overall": s.previous_overall, "must_pass_failed": s.must_pass_failed,
                "controls": [{"control_id": c.control_id, "title": c.title, "domain": c.domain, "answer": c.answer,
                              "status": c.status, "remediation": c.remediation} for c in s.controls]})
        org_rows.append(web.OrgReadModel(
            org_id=rec.org_id, name=rec.name, type=rec.type, area=rec.area,
            risk_level=o.risk_level.value if o else None, risk_rank=o.risk_level.rank if o else None,
            likelihood=o.likelihood if o else None, impact=o.impact if o else None, tier=o.tier if o else None,
            previous_risk_level=o.previous_risk_level.value if o and o.previous_risk_level else None,
            score=(o.score.overall if o and o.score else (s.overall if s else None)),
            findings=per_org.get(rec.org_id, 0),
            assessment=o.model_dump_json() if o else None, scores=score_json))
    if keep is not None:
        trend = web.trend(people)
        totals = dict(keep.totals)
    else:
        trend = [web.TrendPoint(a, _iso(at) or "", _iso(as_of), level, count)
                 for a, at, as_of, level, count in (risk_levels_by_assessment(ws) if assessment else [])]
        totals = json.loads(assessment.totals.model_dump_json()) if assessment else {}
    totals["findings_by_severity"] = {s.value: sum(1 for f in findings if f.severity is s and
                                                   f.detector != "contradiction") for s in Severity}
    if keep is not None:
        pub = replace(keep, published_at=now, fingerprint=print_, organisations=len(org_rows),
                      findings=len(finding_rows), totals=totals)
    else:
        pub = web.Publication(
            published_at=now, fingerprint=print_,
            assessment_id=assessment.assessment_id if assessment else None,
            as_of=_iso(assessment.as_of) if assessment else None,
            assessed_at=_iso(assessment.assessed_at) if assessment else None,
            period_start=_iso(assessment.period.start) if assessment else None,
            period_end=_iso(assessment.period.end) if assessment else None,
            organisations=len(org_rows), findings=len(finding_rows), totals=totals,
            notes=list(assessment.notes) if assessment else ["no assessment yet: run `audit-kit assess`"])
    web.publish(people, pub, org_rows, finding_rows, trend, basis)
    # The review's own copy (state, history, rules) must hold every finding the pages list, so a
    # verdict given in the browser finds it; usually detect or scan published them already and this
    # only confirms they are unchanged.
    publish_review(people, findings, now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now,
                   present_ids=[f.finding_id for f in findings], actor="publication")
    return pub


@dataclass(frozen=True)
class RefreshOutcome:
    """What one refresh attempt did: published, nothing new, or skipped because the store was busy."""

    status: str  # published | unchanged | busy
    publication: web.Publication | None = None
    detail: str = ""


def refresh_read_models(workspace: Path, limits: MemoryLimits | None = None, force: bool = False,
                        catalogues: CatalogueLibrary = SHIPPED) -> RefreshOutcome:
    """Publish from a read-only open if the DuckDB files changed since the last publication (or `force`).

    For `serve` at start-up and `users add`: it never waits — when another process holds the workspace
    it returns "busy" at once and the last publication stays. Like any reader (`audit-kit report`) it
    holds DuckDB while it copies (about a second for the demo review), and a writer that starts in
    that second finds the workspace in use; pages and the API never call it.
    """
    workspace = Path(workspace)
    with PeopleStore.open(workspace) as people:
        current = web.publication(people)
        if not force and current is not None and current.fingerprint == fingerprint(workspace):
            return RefreshOutcome("unchanged", current)
        try:
            ws = Workspace.open(workspace, read_only=True, limits=limits)
        except WorkspaceError as exc:
            if "in use" in exc.message:
                return RefreshOutcome("busy", current, "another audit-kit process is writing the workspace")
            raise
        try:
            pub = publish_read_models(ws, people, catalogues=catalogues)
        finally:
            ws.close()
        return RefreshOutcome("published", pub)


def publish_after_write(ws: Workspace, catalogues: CatalogueLibrary = SHIPPED) -> str | None:
    """Publish the read models from a workspace a writer job holds, just before it closes it.

    A people store that cannot be opened or written must not fail the job that judged the data: the
    problem is returned as one line for the caller to show (None when published).
    """
    try:
        with PeopleStore.open(ws.path) as people:
            publish_read_models(ws, people, catalogues=catalogues)
    except (WorkspaceError, sqlite3.Error) as exc:
        return f"the web app's read models were not updated: {exc}"
    return None
