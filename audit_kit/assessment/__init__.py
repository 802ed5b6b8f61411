"""Risk assessment: corroborate questionnaire answers against the logs, rate likelihood × impact.

Public API (see docs/risk-model.md):
- `assess_workspace(ws, config, as_of=None, progress=...) -> NationalAssessment` (stores it, dated)
- `load_latest_assessment(ws) -> NationalAssessment | None`
"""

from __future__ import annotations

from audit_kit.assessment.assess import assess_workspace
from audit_kit.models.assessment import (
    CheckStatus,
    ControlCheck,
    Factor,
    NationalAssessment,
    OrgAssessment,
    Period,
    Reach,
    RiskEntry,
    RiskLevel,
    ScoreSummary,
    Totals,
    Treatment,
)
from audit_kit.store.assessments import list_assessments, load_latest_assessment

__all__ = [
    "assess_workspace",
    "list_assessments",
    "load_latest_assessment",
    "CheckStatus",
    "ControlCheck",
    "Factor",
    "NationalAssessment",
    "OrgAssessment",
    "Period",
    "Reach",
    "RiskEntry",
    "RiskLevel",
    "ScoreSummary",
    "Totals",
    "Treatment",
]
