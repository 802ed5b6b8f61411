"""Risk assessment: corroborate questionnaire answers against the logs, rate likelihood × impact.

Public API (see docs/risk-model.md):
- `assess_workspace(ws, as_of=None, progress=...) -> NationalAssessment` (stores it, dated)
- `load_latest_assessment(ws) -> NationalAssessment | None`
- `run_pipeline(dataset_dir, ws_path, out_pdf, ...) -> PipelineResult` (the one-shot main job)
"""

from __future__ import annotations

from audit_kit.assessment.assess import assess_workspace  # noqa: E402 - after the models it uses
from audit_kit.assessment.models import (
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
from audit_kit.assessment.pipeline import PipelineResult, run_pipeline
from audit_kit.assessment.store import list_assessments, load_latest_assessment

__all__ = [
    "PipelineResult",
    "assess_workspace",
    "list_assessments",
    "load_latest_assessment",
    "run_pipeline",
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
