"""Typed scoring results and the corroboration hook (filled in by the assessment step)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CorroborationStatus(str, Enum):
    CORROBORATED = "corroborated"  # the logs support the answer
    CONTRADICTED = "contradicted"  # the logs show the answer is not true: it counts as no
    NO_EVIDENCE = "no_evidence"  # the logs can say nothing either way


class Corroboration(BaseModel):
    """What the logs say about one organisation's answer to one control (made by assessment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: CorroborationStatus
    detail: str = ""
    sources: list[str] = Field(default_factory=list)  # log check ids or finding ids behind it


CorroborationMap = dict[tuple[str, str], Corroboration]  # (org_id, control_id) -> Corroboration


class Confidence(str, Enum):
    """How far an answer can be trusted: claimed < evidenced < corroborated; contradicted is worst."""

    CONTRADICTED = "contradicted"
    CLAIMED = "claimed"
    EVIDENCED = "evidenced"
    CORROBORATED = "corroborated"


class ControlStatus(str, Enum):
    ANSWERED = "answered"  # scored
    NOT_APPLICABLE = "not_applicable"  # excluded, with a comment
    MISSING = "missing"  # mandatory and unanswered: scores 0
    UNANSWERED = "unanswered"  # optional and unanswered: excluded
    UNSCORED = "unscored"  # text or a number without a scoring rule: excluded


class Outcome(str, Enum):
    """CAF-style outcome of a contributing outcome (also used for other frameworks' requirements)."""

    ACHIEVED = "Achieved"
    PARTIALLY_ACHIEVED = "Partially achieved"
    NOT_ACHIEVED = "Not achieved"
    NOT_APPLICABLE = "Not applicable"


class DsptStatus(str, Enum):
    """DSPT-style overall status."""

    EXCEEDED = "Standards Exceeded"
    MET = "Standards Met"
    APPROACHING = "Approaching Standards"
    NOT_MET = "Standards Not Met"


class ControlResult(BaseModel):
    """One control's result for one organisation."""

    control_id: str
    title: str
    domain: str
    status: ControlStatus
    answer: str | None
    credit: float | None  # 0..1 after corroboration; None when excluded
    weight: float
    must_pass: bool
    must_pass_failed: bool
    confidence: Confidence | None
    corroboration: Corroboration | None = None
    evidence: str = ""
    comment: str = ""
    gap: bool  # scored below full credit, or missing
    severity: str
    remediation: str = ""


class DomainScore(BaseModel):
    domain: str
    score: float | None  # 0..100, None when nothing in the domain is scored
    controls: int
    scored: int
    gaps: int


class RequirementResult(BaseModel):
    """A framework requirement (CAF contributing outcome, DSPT standard, ISO control…) and its result."""

    requirement: str
    score: float | None
    outcome: str
    controls: list[str]


class FrameworkResult(BaseModel):
    framework: str
    name: str
    requirements: list[RequirementResult]
    summary: dict[str, int]  # outcome -> count


class OrgScore(BaseModel):
    """One organisation's score against one checklist (its latest submission)."""

    org_id: str
    checklist_id: str
    checklist_version: str
    submission_id: str | None
    version: int | None
    submitted: date | None
    overall: float | None  # 0..100 after the must-pass cap
    raw_score: float | None  # 0..100 before the cap
    assured_score: float | None  # 0..100 weighted by evidence confidence (same must-pass cap)
    status: DsptStatus
    must_pass_failed: list[str]
    gaps: int
    confidence: dict[str, int]  # confidence level -> number of scored answers
    domains: list[DomainScore]
    controls: list[ControlResult]
    frameworks: dict[str, FrameworkResult]
    previous_version: int | None = None
    previous_overall: float | None = None
    delta: float | None = None
    rank: int | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
