"""The reviewer's workflow as data: finding states, verdicts, history, learned rules, people over time.

A finding moves `open → under_review → confirmed | explained | false_positive` (docs/review.md has the
diagram). Every change is a `ReviewEvent` (who, when, why), kept for ever. A verdict of `explained`
or `false_positive` leaves a `ReviewRule`: a pattern (detector × organisation × user × record) that
later findings are judged against until the rule expires or is revoked. These models are stored by
`audit_kit.store.review` in the people store and are what the review API and the web app exchange.

Times are naive UTC throughout, like the workspace's. Record ids appear only as keyed pseudonyms.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from audit_kit.models.findings import Severity

# The shape of `Workspace.pseudonymise` output: how a record appears in findings and rules.
PSEUDONYM_RE = re.compile(r"R-[0-9a-f]{16}")


class FindingState(str, Enum):
    """Where a finding is in review. The last three are verdicts (a reviewer decided)."""

    OPEN = "open"
    UNDER_REVIEW = "under_review"
    CONFIRMED = "confirmed"
    EXPLAINED = "explained"
    FALSE_POSITIVE = "false_positive"

    @property
    def is_verdict(self) -> bool:
        return self in (FindingState.CONFIRMED, FindingState.EXPLAINED, FindingState.FALSE_POSITIVE)

    @property
    def is_closed_as_benign(self) -> bool:
        """Explained or a false positive: never alerted and never counted toward --fail-on."""
        return self in (FindingState.EXPLAINED, FindingState.FALSE_POSITIVE)


class Verdict(str, Enum):
    """What a reviewer can decide about a finding."""

    CONFIRMED = "confirmed"
    EXPLAINED = "explained"
    FALSE_POSITIVE = "false_positive"

    @property
    def state(self) -> FindingState:
        return FindingState(self.value)


class ExplainedBy(str, Enum):
    """Why an `explained` finding is legitimate, which decides what the explained-access model learns.

    - `involvement`: the organisation has a relationship with the child the involvements file lacks;
      every user of the organisation reading that child is explained (like a new involvement row).
    - `entitlement`: the user's role entitles them to this kind of access; all their record accesses
      at that organisation are explained.
    - `other`: this user reading this record (or, for a finding about no single record, this user's
      pattern in this detector) is explained.
    """

    INVOLVEMENT = "involvement"
    ENTITLEMENT = "entitlement"
    OTHER = "other"


class RuleKind(str, Enum):
    """A suppression (false positive: never alerted until it expires) or an explanation (explained:
    also taught to the explained-access model)."""

    SUPPRESSION = "suppression"
    EXPLANATION = "explanation"


class EventKind(str, Enum):
    """What one history entry records."""

    DETECTED = "detected"  # first published from the analytical store
    REDETECTED = "redetected"  # found again with later activity
    ASSIGNED = "assigned"
    STATE = "state"  # a state change without a verdict (start review, reopen)
    VERDICT = "verdict"
    NOTE = "note"
    AUTO_VERDICT = "auto_verdict"  # a rule judged it (suppressed or explained on arrival)
    REOPENED = "reopened"  # the rule that closed it expired or was revoked and the pattern recurred
    RULE_REVOKED = "rule_revoked"


class Pattern(BaseModel):
    """What recurs: detector × organisation × user × record (record = a pseudonym, or None for a
    finding about no single record, which then matches any record)."""

    model_config = ConfigDict(frozen=True)

    detector: str
    org_id: str | None
    user_id: str | None
    record: str | None = None

    @property
    def key(self) -> str:
        return "|".join(p or "*" for p in (self.detector, self.org_id, self.user_id, self.record))


class ReviewEvent(BaseModel):
    """One entry of a finding's history (append-only)."""

    event_id: int
    finding_id: str
    at: datetime
    actor: str
    kind: EventKind
    from_state: FindingState | None = None
    to_state: FindingState | None = None
    note: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ReviewedFinding(BaseModel):
    """A finding as the review sees it: the findings contract, its pattern, and its review state.

    `present` is False once the analytical store no longer holds the finding (a rerun under another
    configuration superseded it); its state and history are kept all the same.
    """

    finding_id: str
    detector: str
    severity: Severity
    score: float
    org_id: str | None
    user_id: str | None
    record: str | None  # the record pseudonym when the finding is about one record
    record_count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    state: FindingState = FindingState.OPEN
    assignee: str | None = None
    rule_id: str | None = None  # the rule that judged it, when a rule (not a person) did
    first_detected: datetime
    last_detected: datetime
    updated_at: datetime
    updated_by: str | None = None
    present: bool = True

    @property
    def pattern(self) -> Pattern:
        return Pattern(detector=self.detector, org_id=self.org_id, user_id=self.user_id, record=self.record)

    def to_json(self) -> dict[str, Any]:
        """The findings contract's fields plus `state`, `assignee`, `rule_id` and the review dates."""
        data = self.model_dump(mode="json")
        for k in ("first_seen", "last_seen", "first_detected", "last_detected", "updated_at"):
            v = getattr(self, k)
            data[k] = None if v is None else v.isoformat(timespec="seconds") + "Z"
        return data


class ReviewRule(BaseModel):
    """A suppression or explanation a verdict left behind, and how long it holds.

    Matching is on the pattern: a rule's None fields match anything. A suppression always has an
    expiry; an explanation may (docs/review.md). `explained_by` says what the explained-access model
    learns from an explanation.
    """

    rule_id: str
    kind: RuleKind
    detector: str | None
    org_id: str | None
    user_id: str | None
    record: str | None
    explained_by: ExplainedBy | None = None
    note: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    source_finding: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_note: str | None = None

    def active(self, now: datetime) -> bool:
        """In force at `now`: not revoked (by then) and not expired."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.created_at <= now and (self.expires_at is None or now < self.expires_at)

    def ended_at(self) -> datetime | None:
        """When the rule stopped holding (revoked or expired), or None while open-ended."""
        ends = [t for t in (self.revoked_at, self.expires_at) if t is not None]
        return min(ends) if ends else None

    def matches(self, p: Pattern) -> bool:
        """Whether the rule covers a finding's pattern (None fields are wildcards)."""
        return (
            (self.detector is None or self.detector == p.detector)
            and (self.org_id is None or self.org_id == p.org_id)
            and (self.user_id is None or self.user_id == p.user_id)
            and (self.record is None or self.record == p.record)
        )

    def model_scope(self) -> ExplanationScope | None:
        """What this rule teaches the explained-access model (None: nothing — a suppression, or an
        explanation of a pattern that is about no single record and no entitlement)."""
        if self.kind is not RuleKind.EXPLANATION or self.org_id is None:
            return None
        until = self.ended_at()
        if self.explained_by is ExplainedBy.INVOLVEMENT and self.record:
            return ExplanationScope(org_id=self.org_id, user_id=None, record=self.record, until=until)
        if self.explained_by is ExplainedBy.ENTITLEMENT and self.user_id:
            return ExplanationScope(org_id=self.org_id, user_id=self.user_id, record=None, until=until)
        if self.user_id and self.record:
            return ExplanationScope(org_id=self.org_id, user_id=self.user_id, record=self.record, until=until)
        return None

    def describe(self) -> str:
        """One line for lists and the assessment's limitations (pseudonyms only)."""
        scope = ", ".join(
            f"{k} {v}" for k, v in (("detector", self.detector), ("organisation", self.org_id),
                                    ("user", self.user_id), ("record", self.record)) if v
        ) or "everything"
        until = f"until {self.expires_at:%Y-%m-%d %H:%M} UTC" if self.expires_at else "with no expiry"
        return f"{self.kind.value} of {scope} {until}, by {self.created_by}: {self.note}"

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for k in ("created_at", "expires_at", "revoked_at"):
            v = getattr(self, k)
            data[k] = None if v is None else v.isoformat(timespec="seconds") + "Z"
        return data


class ExplanationScope(BaseModel):
    """What one explanation teaches the explained-access model: accesses by `org_id` (and `user_id`
    when set) to `record` (any record when None) before `until` (for ever when None) are explained."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    user_id: str | None
    record: str | None
    until: datetime | None


class UserSnapshot(BaseModel):
    """One user's standing after one detection run or scan: their findings by state and risk score."""

    user_id: str
    org_id: str | None
    run_id: str
    at: datetime
    findings: int
    open: int
    confirmed: int
    explained: int
    false_positive: int
    risk_score: float = Field(ge=0.0, le=1.0)
    worst_severity: Severity | None = None


class RepeatOffender(BaseModel):
    """A user with confirmed findings on more than one occasion (distinct days of activity)."""

    user_id: str
    org_id: str | None
    confirmed: int
    occasions: int  # distinct days on which confirmed activity began
    open: int
    detectors: list[str]
    first_confirmed_activity: datetime | None
    last_confirmed_activity: datetime | None
    risk_score: float


# How much a finding weighs toward its user's risk, by state: confirmed doubles it, a benign verdict
# removes it. Severity weights map the five levels onto 0–1.
STATE_WEIGHT: dict[FindingState, float] = {
    FindingState.OPEN: 1.0,
    FindingState.UNDER_REVIEW: 1.0,
    FindingState.CONFIRMED: 2.0,
    FindingState.EXPLAINED: 0.0,
    FindingState.FALSE_POSITIVE: 0.0,
}
SEVERITY_WEIGHT: dict[Severity, float] = {
    Severity.INFO: 0.1, Severity.LOW: 0.25, Severity.MEDIUM: 0.5, Severity.HIGH: 0.75, Severity.CRITICAL: 1.0,
}


def user_risk(findings: list[tuple[FindingState, Severity, float]]) -> float:
    """A user's risk score (0–1) from their findings' (state, severity, score).

    Each finding contributes `min(0.95, score × severity weight × state weight)`, and contributions
    combine like independent chances (1 − Π(1 − c)): more findings, or a confirmed one, raise it;
    an explained or false-positive finding adds nothing.
    """
    keep = 1.0
    for state, severity, score in findings:
        c = min(0.95, max(0.0, score) * SEVERITY_WEIGHT[severity] * STATE_WEIGHT[state])
        keep *= 1.0 - c
    return round(1.0 - keep, 4)


def record_of(evidence: dict[str, Any]) -> str | None:
    """The single record a finding is about (its evidence's `record` pseudonym), else None."""
    value = evidence.get("record")
    return value if isinstance(value, str) and PSEUDONYM_RE.fullmatch(value) else None
