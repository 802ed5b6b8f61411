"""The risk model: likelihood and impact on 1–5 scales, combined by the NIST SP 800-30 matrix.

Pure functions over already-measured numbers, so the model can be golden-tested on hand-built
cases and documented line by line in docs/risk-model.md. Change `METHOD_VERSION` whenever a band,
weight or rule changes: stored assessments record which model rated them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from audit_kit.models.actions import Priority
from audit_kit.models.assessment import Factor, Reach, RiskLevel
from audit_kit.models.findings import Severity

METHOD_VERSION = "2.0"  # 2.0: a body is rated at its worst register entry; urgency from severity

# NIST SP 800-30 Rev. 1, Appendix I, Table I-2: level of risk by likelihood (rows, Very Low first)
# and impact (columns, Very Low first).
_VL, _L, _M, _H, _VH = list(RiskLevel)
RISK_MATRIX: tuple[tuple[RiskLevel, ...], ...] = (
    (_VL, _VL, _VL, _L, _L),  # likelihood Very Low
    (_VL, _L, _L, _L, _M),  # Low
    (_VL, _L, _M, _M, _H),  # Moderate
    (_VL, _L, _M, _H, _VH),  # High
    (_VL, _L, _M, _H, _VH),  # Very High
)

# Tier: how soon the holder of the database must act on a body. Target dates follow the tier.
TIER_BY_LEVEL = {_VH: 1, _H: 2, _M: 3, _L: 4, _VL: 4}
TIER_DAYS = {1: 30, 2: 90, 3: 180, 4: 365}
TIER_LABELS = {
    1: "Tier 1 — act now: escalate, consider restricting access",
    2: "Tier 2 — remediation plan within 90 days",
    3: "Tier 3 — remediate within 6 months, monitor",
    4: "Tier 4 — routine annual review",
}

# Urgency. Findings set the date by their severity: a critical finding shows harm may be happening now
# (contain and investigate within days), a high one within a month. A theme's level sets the date only
# for its control gaps, contradicted answers and medium findings. Days count from the report's issue date.
SEVERITY_URGENCY: dict[Severity, tuple[Priority, int]] = {
    Severity.CRITICAL: (Priority.URGENT, 7),
    Severity.HIGH: (Priority.HIGH, 30),
}
GAP_URGENCY: dict[RiskLevel, tuple[Priority, int]] = {
    _VH: (Priority.HIGH, 30),
    _H: (Priority.MEDIUM, 90),
    _M: (Priority.LOW, 180),
    _L: (Priority.LOW, 365),
    _VL: (Priority.LOW, 365),
}

# Bands: a value below bands[0] is level 1, below bands[1] level 2, … at or above bands[3] level 5.
GAP_BANDS = (0.05, 0.15, 0.30, 0.50)  # weighted share of control weight not achieved
FINDING_RATE_BANDS = (0.5, 5.0, 20.0, 50.0)  # access findings (medium+) per 1,000 users
CONTRADICTION_LEVELS = (1, 3, 4, 5)  # 0, 1, 2, 3+ contradicted answers
CHILDREN_BANDS = (50, 500, 5_000, 50_000)  # children the body can reach
USER_BANDS = (10, 50, 250, 1_000)  # enabled accounts

# Likelihood weights: questionnaire-based, and logs-only (no answers, so no contradictions).
W_GAP, W_CONTRA, W_FIND = 0.40, 0.30, 0.30
W_GAP_LOGS, W_FIND_LOGS = 0.50, 0.50
LOGS_ONLY_FLOOR = 3  # no questionnaire = no assurance: never rated below Moderate likelihood
MUST_PASS_FLOOR = 3  # a failed must-pass control (MFA, vetting): misuse at least moderately likely
CRITICAL_FLOOR = 4  # a critical access finding shows misuse is happening
# Impact weights and uplifts.
W_CHILDREN, W_USERS = 0.75, 0.25
EXPORT_UPLIFT = 0.5  # bulk disclosure is possible
SHIELDED_UPLIFT = 1  # any shielded child: disclosure can put a child in danger (ICO "severe")


def round_half_up(x: float) -> int:
    """Round .5 up (Python's round() goes to even, which would make 2.5 → 2)."""
    return int(Decimal(str(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def band(value: float, bands: Sequence[float]) -> int:
    """The 1–5 level of `value` against four ascending thresholds."""
    return 1 + sum(1 for b in bands if value >= b)


def contradiction_level(n: int) -> int:
    return CONTRADICTION_LEVELS[min(n, len(CONTRADICTION_LEVELS) - 1)]


def risk_level(likelihood: int, impact: int) -> RiskLevel:
    """The NIST 800-30 level of a likelihood × impact pair (each 1–5)."""
    return RISK_MATRIX[_clamp(likelihood) - 1][_clamp(impact) - 1]


def tier(level: RiskLevel) -> int:
    return TIER_BY_LEVEL[level]


@dataclass(frozen=True)
class LikelihoodInputs:
    """What likelihood is judged from (for an organisation, or one theme of its register)."""

    weighted_gap: float | None  # 0–1; None: no questionnaire and no log-testable evidence
    contradictions: int
    findings_per_1000_users: float
    critical_findings: int = 0
    must_pass_failed: int = 0
    logs_only: bool = False


def likelihood(inputs: LikelihoodInputs) -> tuple[int, list[Factor]]:
    """Likelihood 1–5 and the factors behind it (documented in docs/risk-model.md)."""
    find_level = band(inputs.findings_per_1000_users, FINDING_RATE_BANDS)
    factors = [Factor(name="access findings per 1,000 users", value=round(inputs.findings_per_1000_users, 2),
                      level=find_level)]
    if inputs.logs_only:
        if inputs.weighted_gap is None:
            raw = float(find_level)
            factors[0].weight = 1.0
        else:
            gap_level = band(inputs.weighted_gap, GAP_BANDS)
            factors.insert(0, Factor(name="control gaps seen in logs (weighted share)",
                                     value=round(inputs.weighted_gap, 3), level=gap_level, weight=W_GAP_LOGS))
            factors[1].weight = W_FIND_LOGS
            raw = W_GAP_LOGS * gap_level + W_FIND_LOGS * find_level
    else:
        gap = inputs.weighted_gap or 0.0
        gap_level = band(gap, GAP_BANDS)
        contra = contradiction_level(inputs.contradictions)
        factors = [
            Factor(name="control gaps (weighted share, contradicted answers as no)", value=round(gap, 3),
                   level=gap_level, weight=W_GAP),
            Factor(name="answers contradicted by the logs", value=inputs.contradictions, level=contra,
                   weight=W_CONTRA),
            Factor(name="access findings per 1,000 users", value=round(inputs.findings_per_1000_users, 2),
                   level=find_level, weight=W_FIND),
        ]
        raw = W_GAP * gap_level + W_CONTRA * contra + W_FIND * find_level
    value = round_half_up(raw)
    floors = []
    if inputs.logs_only:
        floors.append((LOGS_ONLY_FLOOR, "no questionnaire returned (no assurance)"))
    if inputs.must_pass_failed:
        floors.append((MUST_PASS_FLOOR, f"{inputs.must_pass_failed} must-pass control(s) failed"))
    if inputs.critical_findings:
        floors.append((CRITICAL_FLOOR, f"{inputs.critical_findings} critical access finding(s)"))
    for floor, why in floors:
        factors.append(Factor(name="floor", value=floor, level=floor, note=why))
        value = max(value, floor)
    return _clamp(value), factors


def impact(reach: Reach) -> tuple[int, list[Factor]]:
    """Impact 1–5 from the children (and shielded children) a body can reach, its users, exports."""
    c = band(reach.children, CHILDREN_BANDS)
    u = band(reach.users, USER_BANDS)
    raw = W_CHILDREN * c + W_USERS * u + (EXPORT_UPLIFT if reach.export_capable else 0.0)
    value = round_half_up(raw) + (SHIELDED_UPLIFT if reach.shielded_children > 0 else 0)
    factors = [
        Factor(name="children the body can reach", value=reach.children, level=c, weight=W_CHILDREN),
        Factor(name="enabled user accounts", value=reach.users, level=u, weight=W_USERS),
        Factor(name="export capability (exports or prints seen)", value=int(reach.export_capable),
               weight=EXPORT_UPLIFT, note="adds 0.5 before rounding"),
        Factor(name="shielded children among them", value=reach.shielded_children,
               weight=SHIELDED_UPLIFT, note="adds 1 level when any"),
    ]
    return _clamp(value), factors


def _clamp(x: int) -> int:
    return max(1, min(5, int(x)))
