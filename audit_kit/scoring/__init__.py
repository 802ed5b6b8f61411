"""Compliance scoring of questionnaires against control catalogues (method: docs/scoring.md)."""

from __future__ import annotations

from audit_kit.scoring.engine import MUST_PASS_CAP, credit_for, score_answers
from audit_kit.scoring.models import (
    Confidence,
    ControlResult,
    ControlStatus,
    Corroboration,
    CorroborationMap,
    CorroborationStatus,
    DomainScore,
    DsptStatus,
    FrameworkResult,
    OrgScore,
    Outcome,
    RequirementResult,
)
from audit_kit.scoring.workspace import score_workspace

__all__ = [
    "MUST_PASS_CAP",
    "Confidence",
    "ControlResult",
    "ControlStatus",
    "Corroboration",
    "CorroborationMap",
    "CorroborationStatus",
    "DomainScore",
    "DsptStatus",
    "FrameworkResult",
    "OrgScore",
    "Outcome",
    "RequirementResult",
    "credit_for",
    "score_answers",
    "score_workspace",
]
