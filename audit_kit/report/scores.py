"""Control scores for the reports, from `audit_kit.scoring.score_workspace`, as report facts.

When an assessment is given, its corroboration verdicts are passed to the scorer so a contradicted
answer scores as 'no' here exactly as it did in the assessment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import ConfigError, InputError
from audit_kit.report.mapping import DEFAULT_CHECKLIST
from audit_kit.scoring import (
    ControlResult,
    ControlStatus,
    Corroboration,
    CorroborationStatus,
    OrgScore,
    score_workspace,
)
from audit_kit.store.workspace import Workspace


@dataclass(frozen=True)
class ControlOutcome:
    """One organisation's result on one control, as the scorer judged it."""

    org_id: str
    control_id: str
    title: str
    domain: str
    answer: str | None
    credit: float | None  # 0–1, None when not scorable (n/a, unanswered)
    status: str  # achieved / partial / not achieved / not scored / not answered
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
    raw_score: float | None = None  # before the must-pass cap


def load_scores(
    ws: Workspace, assessment: Any | None = None, catalogues: CatalogueLibrary = SHIPPED
) -> dict[str, OrgScoreData]:
    """Every organisation's latest scored questionnaire, keyed by org id ({} when none was submitted)."""
    checklist = getattr(assessment, "checklist_id", None)
    try:
        results = score_workspace(ws, checklist_id=checklist, corroboration=_corroboration(assessment),
                                  catalogues=catalogues)
    except InputError:
        return {}  # no questionnaire stored: the report says so in every section that needs one
    chosen: dict[str, OrgScore] = {}
    for s in results:  # one checklist per body: the assessment's, else the shipped default first
        if s.org_id not in chosen or s.checklist_id == DEFAULT_CHECKLIST:
            chosen[s.org_id] = s
    return {org_id: _adapt(s, catalogues) for org_id, s in chosen.items()}


def _corroboration(assessment: Any | None) -> dict[tuple[str, str], Corroboration] | None:
    if assessment is None:
        return None
    return {
        (chk.org_id, chk.control_id): Corroboration(
            status=CorroborationStatus(getattr(chk.status, "value", chk.status)), detail=chk.detail
        )
        for org in assessment.orgs
        for chk in org.checks
    }


def _status(c: ControlResult) -> str:
    if c.status in (ControlStatus.MISSING, ControlStatus.UNANSWERED):
        return "not answered"
    if c.status in (ControlStatus.NOT_APPLICABLE, ControlStatus.UNSCORED) or c.credit is None:
        return "not scored"
    if c.credit >= 0.999:
        return "achieved"
    return "partial" if c.credit > 0 else "not achieved"


def _adapt(score: OrgScore, catalogues: CatalogueLibrary) -> OrgScoreData:
    try:
        mappings = {c.id: c.mappings for c in catalogues.load(score.checklist_id).controls}
    except ConfigError:
        mappings = {}
    controls = [
        ControlOutcome(
            org_id=score.org_id,
            control_id=c.control_id,
            title=c.title,
            domain=c.domain,
            answer=c.answer,
            credit=c.credit,
            status=_status(c),
            mappings=mappings.get(c.control_id, {}),
            remediation=c.remediation,
        )
        for c in score.controls
    ]
    return OrgScoreData(
        org_id=score.org_id,
        checklist_id=score.checklist_id,
        overall=score.overall,
        outcome=getattr(score.status, "value", str(score.status)),
        domains={d.domain: d.score for d in score.domains},
        controls=controls,
        must_pass_failed=list(score.must_pass_failed),
        previous_overall=score.previous_overall,
        raw_score=score.raw_score,
        frameworks={
            fw: {r.requirement: r.outcome for r in res.requirements} for fw, res in score.frameworks.items()
        },
    )
