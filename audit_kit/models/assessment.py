"""Typed results of a risk assessment: what other layers (report, OSCAL, scan) read.

`NationalAssessment` holds one `OrgAssessment` per organisation; each carries its corroborated
control checks, likelihood × impact rating and `RiskEntry` register. All are pydantic models so an
assessment round-trips through JSON (it is stored dated in the workspace for trends).
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from audit_kit.models.actions import Recommendation
from audit_kit.models.findings import Severity


class CheckStatus(str, Enum):
    """What the logs say about a questionnaire answer."""

    CORROBORATED = "corroborated"
    CONTRADICTED = "contradicted"
    NO_EVIDENCE = "no_evidence"


class RiskLevel(str, Enum):
    """The five qualitative levels of NIST SP 800-30 (Appendix I), lowest first."""

    VERY_LOW = "Very Low"
    LOW = "Low"
    MODERATE = "Moderate"
    HIGH = "High"
    VERY_HIGH = "Very High"

    @property
    def rank(self) -> int:
        """1 (Very Low) … 5 (Very High)."""
        return list(RiskLevel).index(self) + 1

    @classmethod
    def from_rank(cls, rank: int) -> RiskLevel:
        return list(RiskLevel)[max(1, min(5, rank)) - 1]


class Treatment(str, Enum):
    """ISO 27005 risk treatment options (the ones a reviewer recommends to an accessing body)."""

    REDUCE = "reduce"  # apply the controls' remediation
    ACCEPT = "accept"  # risk within appetite: monitor
    AVOID = "avoid"  # suspend access until the body can show control


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ControlCheck(_Model):
    """One questionnaire answer measured against the organisation's logs.

    `observed` is the answer the logs support (yes / partial / no, or the measured number), or
    None when the logs hold no evidence either way. `measures` are the numbers behind it.
    """

    org_id: str
    control_id: str
    control_title: str = ""
    measure: str  # the log measure used (audit_kit.catalogue.log_checks.LOG_MEASURES key)
    claimed: str | None  # the answer as given ("yes", "partial", "95", …); None = no answer
    observed: str | None
    status: CheckStatus
    detail: str  # one sentence a DPO understands, with the numbers
    measures: dict[str, Any] = Field(default_factory=dict)
    finding_id: str | None = None  # the `contradiction` finding raised, when contradicted


class ScoreSummary(_Model):
    """The compliance score behind the likelihood (from audit_kit.scoring, contradictions as no)."""

    checklist_id: str
    overall: float | None  # 0–100, None when nothing scorable was answered
    controls_answered: int = 0
    gaps: int = 0  # controls scored below full credit (no / partial / contradicted)
    weighted_gap: float = 0.0  # 0–1: share of scorable weight not achieved
    must_pass_failed: list[str] = Field(default_factory=list)
    outcome: str | None = None  # overall outcome as the scorer words it (e.g. DSPT-style status)
    previous_overall: float | None = None


class Reach(_Model):
    """What the body can reach: the impact side of the rating."""

    children: int = 0  # distinct children with an involvement or accessed in the period
    shielded_children: int = 0
    users: int = 0  # accounts enabled at the assessment date
    active_users: int = 0  # accounts with activity in the period
    exported_records: int = 0  # records exported or printed in the period
    export_capable: bool = False


class Factor(_Model):
    """One input to likelihood or impact: its raw value, its 1–5 level and its weight."""

    name: str
    value: float | int | None
    level: int | None = Field(default=None, ge=1, le=5)
    weight: float = 0.0
    note: str = ""


class RiskEntry(_Model):
    """One line of an organisation's risk register."""

    risk_id: str  # e.g. "LA-01/R2"
    theme: str  # stable theme key, e.g. "credential_misuse"
    title: str
    statement: str  # "There is a risk that … because … resulting in …"
    controls: list[str] = Field(default_factory=list)  # control ids with gaps or contradictions
    findings: list[str] = Field(default_factory=list)  # finding ids (access and contradiction)
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    risk_level: RiskLevel
    treatment: Treatment
    treatment_actions: list[str] = Field(default_factory=list)  # from the controls' remediation
    owner: str
    target_date: date
    residual_likelihood: int = Field(ge=1, le=5)
    residual_impact: int = Field(ge=1, le=5)
    residual_risk_level: RiskLevel
    # Added with the severity-driven action plan (older stored assessments load with the defaults).
    owner_role: str = ""  # who in the body should own it (SIRO, IT lead, …)
    due_days: int | None = None  # days after the report's issue date its first action is due
    likelihood_factors: list[Factor] = Field(default_factory=list)  # the evidence behind its likelihood
    impact_factors: list[Factor] = Field(default_factory=list)  # and behind its impact
    finding_severity: dict[Severity, int] = Field(default_factory=dict)  # of the findings it covers


# `register` is the field name the other layers code against; it shadows ABCMeta.register (class
# method for virtual subclasses, never used on these models), which pydantic warns about.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class OrgAssessment(_Model):
    """The rating of one accessing organisation."""

    org_id: str
    name: str
    type: str
    area: str
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    risk_level: RiskLevel
    tier: int = Field(ge=1, le=4)  # 1 = act now … 4 = routine monitoring
    questionnaire_received: bool
    logs_only: bool  # rated from logs alone (no questionnaire): marked so in every output
    score: ScoreSummary | None = None
    checks: list[ControlCheck] = Field(default_factory=list)  # every log-testable answer
    contradictions: list[ControlCheck] = Field(default_factory=list)
    finding_counts: dict[Severity, int] = Field(default_factory=dict)  # access findings only
    findings_per_1000_users: float = 0.0
    reach: Reach = Field(default_factory=Reach)
    likelihood_factors: list[Factor] = Field(default_factory=list)
    impact_factors: list[Factor] = Field(default_factory=list)
    register: list[RiskEntry] = Field(default_factory=list)
    previous_risk_level: RiskLevel | None = None  # from the last stored assessment (trend)
    # The action plan (audit_kit.assessment.plan): one row per recommendation, most urgent first.
    actions: list[Recommendation] = Field(default_factory=list)

    @property
    def risk_score(self) -> int:
        """likelihood × impact (1–25), for sorting."""
        return self.likelihood * self.impact


class Period(_Model):
    """The span of log evidence the assessment judged (UTC)."""

    start: datetime | None
    end: datetime | None
    days: int = 0


class Totals(_Model):
    """National roll-up."""

    organisations: int = 0
    questionnaires_received: int = 0
    logs_only: int = 0
    by_risk_level: dict[RiskLevel, int] = Field(default_factory=dict)
    by_tier: dict[int, int] = Field(default_factory=dict)
    checks: dict[CheckStatus, int] = Field(default_factory=dict)
    contradictions: int = 0
    findings_by_severity: dict[Severity, int] = Field(default_factory=dict)
    children_reachable: int = 0  # distinct children in the workspace any body can reach
    shielded_children: int = 0
    users: int = 0


class NationalAssessment(_Model):
    """One dated assessment of every organisation in a workspace."""

    assessment_id: str
    assessed_at: datetime  # when it was computed (UTC)
    as_of: date  # the date it judges (end of the log period unless given)
    period: Period
    checklist_id: str | None
    method_version: str
    orgs: list[OrgAssessment] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)
    previous_assessment_id: str | None = None
    notes: list[str] = Field(default_factory=list)  # what was missing (no findings table, …)
    # The configuration the assessment was judged under (file path or "defaults", and its fingerprint).
    config_source: str | None = None
    config_sha256: str | None = None

    def org(self, org_id: str) -> OrgAssessment | None:
        """The organisation's rating, or None."""
        return next((o for o in self.orgs if o.org_id == org_id), None)
