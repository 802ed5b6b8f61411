"""The action plan: recommendations a body is asked to carry out, and the body's management responses.

A `Recommendation` is made by the assessment (`audit_kit.assessment.plan`) from the body's register:
one per thing to do, with its priority, the findings it covers, who should own it and how many days
after the report's issue date it is due. Its `action_id` is stable from one assessment to the next
(`ORG/theme/kind`), so a body's response to an action can be followed up in the next report.

An `ActionResponse` is what the body (or its DPO through the web app) says back: agreed or not, who
owns it, its status and the evidence of closure. Responses are kept append-only in the people-side
store (`audit_kit.store.actions`); the latest one per action is the current state.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Priority(str, Enum):
    """How soon an action must be done, most urgent first."""

    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """4 (urgent) … 1 (low)."""
        return {Priority.URGENT: 4, Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}[self]


class ActionKind(str, Enum):
    """What an action asks for."""

    CONTAIN = "contain"  # critical findings: contain and investigate within days
    INVESTIGATE = "investigate"  # high findings: investigate within a month
    REMEDIATE = "remediate"  # control gaps, contradicted answers and medium findings: by the theme's tier
    ASSURE = "assure"  # no questionnaire returned: give the holder assurance


class OwnerRole(str, Enum):
    """Who in the body should own an action (not always the DPO)."""

    SIRO = "Senior Information Risk Owner (SIRO)"
    DPO = "Data Protection Officer"
    IAO = "Information asset owner"
    IT_LEAD = "IT lead"


class Recommendation(BaseModel):
    """One row of a body's action plan."""

    model_config = ConfigDict(extra="forbid")

    action_id: str  # "ORG/theme/kind", stable across assessments
    org_id: str
    priority: Priority
    kind: ActionKind
    due_days: int = Field(ge=1)  # days after the report's issue date
    title: str
    steps: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list)  # finding ids covered
    worst_severity: str | None = None  # of the findings covered
    risk_id: str  # the register entry it treats
    risk_title: str
    owner_role: OwnerRole
    breach_prompt: bool = False  # the findings may be a personal-data breach: assess it (72-hour rule)


class ManagementResponse(str, Enum):
    AGREED = "agreed"
    PARTLY = "partly agreed"
    NOT_AGREED = "not agreed"


class ActionStatus(str, Enum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    DONE = "done"  # the body says it is done; closure evidence expected
    CLOSED = "closed"  # the database holder accepts the evidence
    NOT_DOING = "will not do"

    @property
    def open(self) -> bool:
        return self not in (ActionStatus.DONE, ActionStatus.CLOSED, ActionStatus.NOT_DOING)


class IssuedAction(BaseModel):
    """A recommendation as it was issued to a body on a date (what a response answers)."""

    model_config = ConfigDict(extra="forbid")

    action_id: str
    org_id: str
    assessment_id: str
    issued: date
    due: date
    priority: Priority
    title: str
    findings: list[str] = Field(default_factory=list)
    owner_role: str


class ActionResponse(BaseModel):
    """A body's management response to one action (one row of the returned action plan)."""

    model_config = ConfigDict(extra="forbid")

    action_id: str
    org_id: str
    response: ManagementResponse | None = None
    owner_name: str = ""
    status: ActionStatus = ActionStatus.NOT_STARTED
    agreed_date: date | None = None  # the body's own target date, when it differs
    evidence: str = ""  # evidence of closure
    comment: str = ""
    recorded_at: datetime | None = None  # set by the store
    recorded_by: str = ""  # who submitted it (file name, web user)
    source: str = ""  # "xlsx", "web", …


class ActionState(BaseModel):
    """An issued action with its latest response: what a follow-up report shows."""

    model_config = ConfigDict(extra="forbid")

    issued: IssuedAction
    response: ActionResponse | None = None

    def overdue(self, on: date) -> bool:
        """Past its due date (the body's agreed date when it gave one) and not done."""
        status = self.response.status if self.response else ActionStatus.NOT_STARTED
        due = (self.response.agreed_date if self.response and self.response.agreed_date else None) or self.issued.due
        return status.open and due < on
