"""The bridge to compliance scoring: corroboration in, per-organisation credits and gaps out.

Scoring itself is implemented once, in `audit_kit.scoring` (docs/scoring.md); this module only
passes the assessment's corroboration to it (contradicted answers count as no) and reduces each
`OrgScore` to what the risk model needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import InputError
from audit_kit.models.assessment import ControlCheck, ScoreSummary
from audit_kit.scoring import Corroboration, CorroborationStatus, score_workspace
from audit_kit.store.workspace import Workspace


@dataclass
class ScoreView:
    """One organisation's score as the risk model reads it."""

    summary: ScoreSummary
    weighted_gap: float | None
    credits: dict[str, float] = field(default_factory=dict)  # scored control id -> credit 0..1
    must_pass_failed: list[str] = field(default_factory=list)


def to_corroboration(checks: Mapping[tuple[str, str], ControlCheck]) -> dict[tuple[str, str], Corroboration]:
    """The scoring layer's `Corroboration` map from the assessment's checks."""
    return {
        key: Corroboration(
            status=CorroborationStatus(c.status.value), detail=c.detail,
            sources=[c.measure] + ([c.finding_id] if c.finding_id else []),
        )
        for key, c in checks.items()
    }


def score_orgs(
    ws: Workspace, checklist_id: str, checks: Mapping[tuple[str, str], ControlCheck], notes: list[str],
    catalogues: CatalogueLibrary = SHIPPED,
) -> dict[str, ScoreView]:
    """Score every organisation's latest questionnaire with the corroboration applied."""
    try:
        scores = score_workspace(ws, checklist_id=checklist_id, corroboration=to_corroboration(checks),
                                 catalogues=catalogues)
    except InputError:
        return {}  # no questionnaires stored: every organisation is rated from its logs
    out: dict[str, ScoreView] = {}
    for s in scores:
        credits = {c.control_id: float(c.credit) for c in s.controls if c.credit is not None}
        weights = {c.control_id: float(c.weight) for c in s.controls if c.credit is not None}
        total = sum(weights.values())
        gap = (sum(weights[k] * (1 - credits[k]) for k in credits) / total) if total else None
        out[s.org_id] = ScoreView(
            summary=ScoreSummary(
                checklist_id=s.checklist_id, overall=s.overall,
                controls_answered=sum(1 for c in s.controls if c.answer is not None),
                gaps=s.gaps, weighted_gap=round(gap, 4) if gap is not None else 0.0,
                must_pass_failed=list(s.must_pass_failed), outcome=s.status.value,
                previous_overall=s.previous_overall,
            ),
            weighted_gap=gap,
            credits=credits,
            must_pass_failed=list(s.must_pass_failed),
        )
    return out
