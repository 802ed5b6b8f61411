"""Report facts: everything a report states, gathered once from the store's repositories, immutable.

The section builders (`audit_kit.report.sections`) are pure functions of these facts: they never
see a workspace, so each section can be golden-tested on hand-built facts, and what a report says is
traceable to one typed read. The limitations section takes optional inputs other parts of the
product provide (active suppressions from the review workflow, who used audit-kit in the period from
the web app's access log): `None` means "not provided to this report", and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from audit_kit.models.actions import ActionState
from audit_kit.models.assessment import NationalAssessment
from audit_kit.models.findings import Finding
from audit_kit.report.models import Audience, Figure, Table
from audit_kit.report.scores import OrgScoreData
from audit_kit.store import actions as action_store
from audit_kit.store.assessments import list_assessments, load_assessment, load_latest_assessment
from audit_kit.store.coverage import CoverageData, OrgRow, coverage, organisations_with_activity
from audit_kit.store.findings import (
    EMPTY_COUNTS,
    DetectionRunRecord,
    FindingCounts,
    detection_runs,
    finding_counts,
    top_findings,
)
from audit_kit.store.people import PEOPLE_FILE, PeopleStore
from audit_kit.store.workspace import Workspace

CONTRADICTION = "contradiction"  # contradicted answers are counted apart from access findings
MAX_FINDINGS_NATIONAL = 20
MAX_FINDINGS_PACK = 25
PER_DETECTOR = 3  # the most serious list takes at most this many of one kind before filling up


@dataclass(frozen=True)
class SuppressionFact:
    """An active suppression (from the review workflow): what is not alerted, why, until when."""

    scope: str
    reason: str
    until: date | None = None
    by: str = ""


@dataclass(frozen=True)
class ToolAccessFact:
    """Who used audit-kit in the period (from the web app's access log)."""

    who: str
    role: str
    actions: int
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class LimitationInputs:
    """Optional inputs of the limitations section; None = not provided to this report."""

    suppressions: tuple[SuppressionFact, ...] | None = None
    tool_access: tuple[ToolAccessFact, ...] | None = None


@dataclass(frozen=True)
class ReportFacts:
    """What the national report (and the public summary) states."""

    issued: date
    audience: Audience
    reviewer: str | None
    assessment: NationalAssessment | None
    previous: NationalAssessment | None
    history: tuple[tuple[str, str, str, int], ...]  # stored assessments: id, assessed at, as of, orgs
    orgs: tuple[OrgRow, ...]
    coverage: CoverageData
    counts: FindingCounts  # access findings only
    contradictions: int
    top: tuple[Finding, ...]
    scores: dict[str, OrgScoreData]
    runs: tuple[DetectionRunRecord, ...]
    actions: tuple[ActionState, ...]
    limits: LimitationInputs = field(default_factory=LimitationInputs)
    figures: tuple[Figure, ...] = ()
    mapping: Table | None = None

    @property
    def restricted(self) -> bool:
        return self.audience is Audience.RESTRICTED


@dataclass(frozen=True)
class PackFacts:
    """What one organisation's DPO pack states."""

    issued: date
    audience: Audience
    org: OrgRow
    assessment: NationalAssessment | None
    previous: NationalAssessment | None
    score: OrgScoreData | None
    counts: FindingCounts
    contradictions: int
    top: tuple[Finding, ...]
    runs: tuple[DetectionRunRecord, ...]
    actions: tuple[ActionState, ...]
    figures: tuple[Figure, ...] = ()
    reviewer: str | None = None
    limits: LimitationInputs = field(default_factory=LimitationInputs)

    @property
    def restricted(self) -> bool:
        return self.audience is Audience.RESTRICTED


def latest(ws: Workspace) -> NationalAssessment | None:
    return load_latest_assessment(ws) if ws.has_table("assessments") else None


def previous_of(ws: Workspace, current: NationalAssessment | None) -> NationalAssessment | None:
    if current is None or not current.previous_assessment_id:
        return None
    return load_assessment(ws, current.previous_assessment_id)


def action_states(ws: Workspace, org_id: str | None = None) -> tuple[ActionState, ...]:
    """Issued actions and their latest responses from the people store (none when it does not exist)."""
    if not (ws.path / PEOPLE_FILE).exists():
        return ()
    with PeopleStore.open(ws.path, read_only=True) as people:
        try:
            return tuple(action_store.action_states(people, org_id))
        except Exception:  # noqa: BLE001 - an older people store without the action tables: nothing issued
            return ()


def contradiction_count(ws: Workspace, org_id: str | None = None) -> int:
    counts = finding_counts(ws, org_id)
    return sum(sum(sev.values()) for d, sev, _o, _u in counts.by_detector if d == CONTRADICTION)


def gather_national(
    ws: Workspace, audience: Audience, issued: date, reviewer: str | None,
    assessment: NationalAssessment | None, scores: dict[str, OrgScoreData], figures: list[Figure], mapping: Table,
    limits: LimitationInputs | None = None,
) -> ReportFacts:
    """Every fact of the national report, read once."""
    restricted = audience is Audience.RESTRICTED
    history = tuple(reversed(list_assessments(ws))) if ws.has_table("assessments") else ()
    return ReportFacts(
        issued=issued, audience=audience, reviewer=reviewer, assessment=assessment,
        previous=previous_of(ws, assessment), history=history, orgs=tuple(organisations_with_activity(ws)),
        coverage=coverage(ws), counts=finding_counts(ws, exclude_detectors=[CONTRADICTION]),
        contradictions=contradiction_count(ws),
        top=tuple(top_findings(ws, MAX_FINDINGS_NATIONAL, exclude_detectors=[CONTRADICTION],
                                per_detector=PER_DETECTOR)) if restricted else (),
        scores=scores, runs=tuple(detection_runs(ws)) if ws.has_table("detection_runs") else (),
        actions=action_states(ws), limits=limits or LimitationInputs(), figures=tuple(figures), mapping=mapping,
    )


__all__ = [
    "EMPTY_COUNTS", "LimitationInputs", "PackFacts", "ReportFacts", "SuppressionFact", "ToolAccessFact",
    "gather_national",
]
